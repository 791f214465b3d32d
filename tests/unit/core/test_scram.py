"""SCRAM client against the RFC 7677 test vector, and the server answers that must fail it."""

from __future__ import annotations

import pytest

from desktop.core.errors import ConnectorError
from desktop.core.scram import ScramClient

SERVER_FIRST = b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"


def rfc7677() -> ScramClient:
    return ScramClient("SCRAM-SHA-256", "user", "pencil", nonce="rOprNGfwEbeRWgbNEkqO")


def test_rfc7677_vector():
    c = rfc7677()
    assert c.first() == b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
    assert c.final(SERVER_FIRST) == (b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
                                     b"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
    c.verify(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")


def test_a_server_that_does_not_know_the_password_is_caught():
    c = rfc7677()
    c.first()
    c.final(SERVER_FIRST)
    with pytest.raises(ConnectorError) as err:
        c.verify(b"v=AAAATRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
    assert err.value.code == "auth_failed" and "server signature" in err.value.message


@pytest.mark.parametrize(("final", "said"), [(b"e=invalid-proof", "the password is wrong"),
                                             (b"e=unknown-user", "no such user")])
def test_server_errors_are_auth_failures_in_plain_words(final, said):
    c = rfc7677()
    c.first()
    c.final(SERVER_FIRST)
    with pytest.raises(ConnectorError) as err:
        c.verify(final)
    assert err.value.code == "auth_failed" and said in err.value.message


@pytest.mark.parametrize("first", [b"r=someoneelse,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",  # nonce not ours
                                   b"r=rOprNGfwEbeRWgbNEkqO,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",  # not extended
                                   b"r=rOprNGfwEbeRWgbNEkqOxyz,s=***,i=4096",
                                   b"r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=99999999999",
                                   b"garbage"])
def test_malformed_server_first_is_a_protocol_error(first):
    c = rfc7677()
    c.first()
    with pytest.raises(ConnectorError) as err:
        c.final(first)
    assert err.value.code == "protocol_error"


def test_user_names_are_escaped():
    assert ScramClient("SCRAM-SHA-512", "a=b,c", "pw", nonce="n").first() == b"n,,n=a=3Db=2Cc,r=n"


def test_the_password_is_not_in_the_repr():
    assert "pencil" not in repr(rfc7677())
