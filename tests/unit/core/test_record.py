"""The value classes a check imports (desktop.core.record, issue #18): what @dataclass gave them."""

from __future__ import annotations

import inspect

import pytest

from desktop.connectors import registry
from desktop.connectors.imap.session import Folder
from desktop.core.contract import Fix, Preset, Wording
from desktop.core.fields import Field
from desktop.core.model import Connector, Status
from desktop.core.pipeline import RunResult, StepResult
from desktop.core.record import FrozenRecord, Record, replace
from desktop.core.secret import Secret


def subclasses(cls: type[Record]) -> list[type[Record]]:
    return [c for sub in cls.__subclasses__() for c in (sub, *subclasses(sub))]


def test_every_record_names_its_init_parameters_in_order() -> None:
    registry()  # the connector types' modules, with any records they declare
    records = [c for c in subclasses(Record) if c is not FrozenRecord and "__init__" in vars(c)]
    assert {"Connector", "Field", "RunResult", "Wording", "Folder"} <= {c.__name__ for c in records}
    for cls in records:
        params = tuple(inspect.signature(cls).parameters)
        assert params == cls._fields, cls.__qualname__
        assert set(cls._hidden) <= set(cls._fields), cls.__qualname__


def test_equal_by_fields_and_class_only() -> None:
    assert Connector("a", "imap") == Connector("a", "imap")
    assert Connector("a", "imap") != Connector("a", "smtp")
    assert Fix("port", "993") == Fix("port", "993") and Fix("port", "993") != ("port", "993")
    assert Status() != Connector("never", "x")


def test_defaults_are_new_each_time() -> None:
    a, b = Connector("a", "imap"), Connector("b", "imap")
    a.settings["host"] = "x"
    a.status.state = "valid"
    assert b.settings == {} and b.status == Status()
    assert Preset("p", "P").settings is not Preset("q", "Q").settings


def test_mutable_records_are_not_hashable_frozen_ones_are_and_refuse_changes() -> None:
    with pytest.raises(TypeError):
        hash(Connector("a", "imap"))
    assert hash(Field("host", "Host")) == hash(Field("host", "Host"))
    assert len({Fix("a", "1"), Fix("a", "1")}) == 1
    field = Field("host", "Host")
    with pytest.raises(AttributeError, match="cannot assign to field 'label'"):
        field.label = "Server"
    with pytest.raises(AttributeError):
        del field.label
    assert field.label == "Host"


def test_repr_names_the_fields_and_never_a_renewed_secret() -> None:
    assert repr(Folder("Sent", "Sent", "/", ["\\Sent"])) == \
        "Folder(name='Sent', raw='Sent', delimiter='/', flags=['\\\\Sent'])"
    step = StepResult("connect", "Connect", True, 1.5)
    result = RunResult(True, "c", "imap", "validate", [step], None, [],
                       renewed={"oauth_refresh_token": Secret("refresh-token-value-1")})
    shown = repr(result)
    assert shown.startswith("RunResult(ok=True, connector='c', type='imap', action='validate', steps=[StepResult(")
    assert "renewed" not in shown and "refresh-token-value-1" not in shown


def test_replace_changes_the_named_fields_only() -> None:
    wording = replace(Wording(), checks="Connects")
    assert wording.checks == "Connects" and wording.auth_title == Wording().auth_title
    assert isinstance(wording, Wording)
    with pytest.raises(TypeError, match="no field colour"):
        replace(Wording(), colour="red")
