from __future__ import annotations

import base64

from desktop.core.secret import MASK, Secret
from desktop.core.transcript import Transcript


def test_structural_redaction_hides_the_credential_part():
    t = Transcript()
    t.client("AUTH PLAIN AGFsaWNlAHNlY3JldA==", secret_from=len("AUTH PLAIN "))
    t.client_secret()
    assert t.lines == [f"C: AUTH PLAIN {MASK}", f"C: {MASK}"]


def test_registered_secrets_are_scrubbed_in_every_encoding_from_server_lines():
    t = Transcript()
    t.register(Secret("hunter2-very-secret"))
    t.server("535 you sent hunter2-very-secret")
    t.server("334 " + base64.b64encode(b"hunter2-very-secret").decode())
    t.server("hex " + b"hunter2-very-secret".hex())
    text = "\n".join(t.lines)
    assert "hunter2" not in text and "aHVudGVy" not in text and b"hunter2".hex() not in text
    assert text.count(MASK) == 3


def test_control_characters_and_long_lines_are_made_safe():
    t = Transcript()
    t.server("\x1b[31mred\x00" + "x" * 1000)
    line = t.lines[0]
    assert "\x1b" not in line and "\\x1b" in line and "more characters" in line


def test_secret_never_prints_itself():
    s = Secret("p@ss")
    assert str(s) == MASK and repr(s) == f"Secret({MASK})" and f"{s}" == MASK
    assert "p@ss" not in str([s]) and "p@ss" not in str({"k": s})
    assert s.reveal() == "p@ss"


SECRET = "hunter2 très/se+cret&=\"\\x"  # characters every encoding changes differently


def test_every_encoding_a_leak_check_knows_is_scrubbed_from_a_servers_echo():
    from tests.leaks import encodings_of, leaked
    t = Transcript()
    t.register(Secret(SECRET))
    red = t.redactor
    for form in encodings_of(SECRET, user="u@example.test"):
        echoed = red.scrub("535 you sent " + form.decode("utf-8", "replace") + " which is wrong")
        assert leaked(echoed.encode(), SECRET, "u@example.test") == [], form
        assert MASK in echoed


def test_base64_inside_a_longer_blob_is_scrubbed_at_every_alignment():
    from tests.leaks import leaked
    t = Transcript()
    t.register(Secret(SECRET))
    for prefix in (b"", b"a", b"ab", b"abc"):
        for suffix in (b"", b"z", b"zz"):
            blob = base64.b64encode(prefix + SECRET.encode() + suffix).decode()
            echoed = t.redactor.scrub(f"334 {blob}")
            assert leaked(echoed.encode(), SECRET) == [], (prefix, suffix)
