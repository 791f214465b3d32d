"""The contract between the core and a connector type, typed: what a type declares (fields,
secrets, presets, warnings), what it can do (:class:`Action`), what its results look like to
people (:class:`Fact`, :class:`Listing`) and the words the GUI uses for it (:class:`Wording`),
all given as data by the type. No Qt; nothing here knows a particular type.

Connector types live in ``desktop/connectors`` and import this module; the core never imports
them (``tests/unit/test_layering.py``)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import namedtuple
from collections.abc import Mapping
from enum import StrEnum

from desktop.core import errors
from desktop.core.errors import ConnectorError
from desktop.core.fields import Field, SecretField, defaults
from desktop.core.model import Connector
from desktop.core.pipeline import Run, StepResult
from desktop.core.record import FrozenRecord
from desktop.core.secret import Secret

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, NamedTuple


class Action(StrEnum):
    """What a connector type can do besides ``validate``; each is optional per type."""

    SEND = "send"        # send one test message to a recipient (test_send)
    PEEK = "peek"        # read the newest items, changing nothing (peek)
    PRODUCE = "produce"  # write one test record and read it back (produce)
    FOLDERS = "folders"  # list the account's folders (folders)
    RECEIVE = "receive"  # wait for a tagged message: the receiving end of a round trip (wait_for)


if TYPE_CHECKING:
    class Fact(NamedTuple):
        """One thing a check learned, for people: ("Certificate", "CN=…, issued by …")."""

        label: str
        text: str
else:  # the same class as typing.NamedTuple makes, without importing typing (~3 ms of a command)
    Fact = namedtuple("Fact", ("label", "text"))
    Fact.__doc__ = """One thing a check learned, for people: ("Certificate", "CN=…, issued by …")."""


class Row(FrozenRecord):
    """One item of a listing (a message, a record): its cells, a tooltip for the last cell, and
    whether it is shown in bold (an unread message)."""

    _fields = ("cells", "tooltip", "strong")
    cells: tuple[str, ...]
    tooltip: str
    strong: bool

    def __init__(self, cells: tuple[str, ...], tooltip: str = "", strong: bool = False) -> None:
        self.__dict__.update(cells=cells, tooltip=tooltip, strong=strong)


class Listing(FrozenRecord):
    """What a peek found, ready to show: column headings, rows, a title and a note."""

    _fields = ("columns", "rows", "title", "note", "plain")
    columns: tuple[str, ...]
    rows: tuple[Row, ...]
    title: str
    note: str
    plain: tuple[str, ...]  # the rows as one line each, for the CLI

    def __init__(self, columns: tuple[str, ...], rows: tuple[Row, ...], title: str, note: str,
                 plain: tuple[str, ...] = ()) -> None:
        self.__dict__.update(columns=columns, rows=rows, title=title, note=note, plain=plain)


class Wording(FrozenRecord):
    """The words the wizard and the dialogs use for a type's pages and test action."""

    _fields = ("server_title", "server_text", "checks", "auth_title", "auth_text", "test_title", "test_text",
               "next_step", "noun", "peek_button", "peek_source", "peek_needs_source", "peek_needs_hint",
               "peek_summary")
    server_title: str
    server_text: str
    checks: str
    auth_title: str
    auth_text: str  # {secrets}: where the workspace keeps secrets (WizardFlow.auth_text)
    test_title: str
    test_text: str
    next_step: str
    noun: tuple[str, str]  # what a peek reads: singular, plural
    peek_button: str
    peek_source: str  # the setting naming what a peek reads ("mailbox")
    peek_needs_source: bool  # peek is possible only once that setting is set
    peek_needs_hint: str
    peek_summary: tuple[str, str]  # summary row: label, done

    def __init__(self, server_title: str = "Server and security",
                 server_text: str = "Where the server is and how the connection is protected.",
                 checks: str = "Connector Desk connects, negotiates encryption and signs in",
                 auth_title: str = "Sign-in",
                 auth_text: str = "How Connector Desk signs in. Secrets go to {secrets}, never to a file.",
                 test_title: str = "Admin details and test send",
                 test_text: str = ("Who looks after this connector, and where test messages go. A test send "
                                   "delivers a real message."),
                 next_step: str = "You can add admin details and send a test message next.",
                 noun: tuple[str, str] = ("message", "messages"),
                 peek_button: str = "&Peek at the newest messages",
                 peek_source: str = "",
                 peek_needs_source: bool = False,
                 peek_needs_hint: str = "",
                 peek_summary: tuple[str, str] = ("Peek", "read the newest messages")) -> None:
        self.__dict__.update(
            server_title=server_title, server_text=server_text, checks=checks, auth_title=auth_title,
            auth_text=auth_text, test_title=test_title, test_text=test_text, next_step=next_step, noun=noun,
            peek_button=peek_button, peek_source=peek_source, peek_needs_source=peek_needs_source,
            peek_needs_hint=peek_needs_hint, peek_summary=peek_summary)


class Fix(FrozenRecord):
    """A one-click correction a failure suggests: set ``field`` to ``value`` and check again."""

    _fields = ("field", "value")
    field: str
    value: str

    def __init__(self, field: str, value: str) -> None:
        self.__dict__.update(field=field, value=value)


class NoDelivery(FrozenRecord):
    """Why a message sent through a connector never arrives (a sandbox): for the round trip."""

    _fields = ("state", "why", "fix", "advice")
    state: str   # "is in sandbox mode"
    why: str     # "SendGrid accepts the message but delivers nothing"
    fix: str     # the hint of the error
    advice: str  # the longer advice the round-trip dialog shows

    def __init__(self, state: str, why: str, fix: str, advice: str) -> None:
        self.__dict__.update(state=state, why=why, fix=fix, advice=advice)


class Preset(FrozenRecord):
    """A provider: settings it fixes, hints by error code or server status, notes to show.
    ``settings`` and ``hints`` not given: new empty dicts."""

    _fields = ("id", "label", "settings", "hints", "notes")
    id: str
    label: str
    settings: dict[str, Any]
    hints: dict[str, str]
    notes: str

    def __init__(self, id: str, label: str, settings: dict[str, Any] | None = None,
                 hints: dict[str, str] | None = None, notes: str = "") -> None:
        self.__dict__.update(id=id, label=label, settings={} if settings is None else settings,
                             hints={} if hints is None else hints, notes=notes)


def plural(n: int, noun: tuple[str, str]) -> str:
    return noun[0] if n == 1 else noun[1]


def counted(n: int, noun: tuple[str, str]) -> str:
    """“1 folder”, “3 folders”."""
    return f"{n} {plural(n, noun)}"


class ConnectorType(ABC):
    type_name: str
    label: str
    summary: str
    fields: tuple[Field, ...]
    secrets: tuple[SecretField, ...]
    # What the wizard's test page offers first, and everything the type can do.
    test_action: Action = Action.SEND
    actions: frozenset[Action] = frozenset({Action.SEND})
    wording: Wording = Wording()
    rank: int = 100  # the wizard offers the lowest first (then by type name)
    # The step whose detail is the server's receipt of a test send ("250 OK queued as …").
    receipt_steps: tuple[str, ...] = ()

    def can(self, action: Action) -> bool:
        return action in self.actions

    def presets(self) -> list[Preset]:
        from desktop.core.resources import load_json
        try:
            data = load_json("presets", f"{self.type_name}.json")
        except FileNotFoundError:
            return []
        return [Preset(p["id"], p["label"], p.get("settings", {}), p.get("hints", {}), p.get("notes", ""))
                for p in data["presets"]]

    def preset(self, preset_id: str | None) -> Preset | None:
        for p in self.presets():
            if p.id == preset_id:
                return p
        return None

    def default_settings(self) -> dict[str, Any]:
        return defaults(self.fields)

    def labels(self) -> dict[str, str]:
        """Setting and secret name → the label the form shows."""
        return {**{f.name: f.label for f in self.fields}, **{s.name: s.label for s in self.secrets}}

    def field_label(self, path: str) -> str:
        """The label of ``settings.x`` / ``secrets.y`` as the form shows it (messages name fields by it)."""
        from desktop.core.fields import field_label
        return field_label(path, self.labels())

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    def secrets_needed(self, settings: Mapping[str, Any]) -> list[SecretField]:
        """The secrets that must be given for these settings (optional ones are not listed)."""
        return [s for s in self.secrets if s.applies(settings) and not s.optional]

    def secrets_kept(self, settings: Mapping[str, Any], given: Mapping[str, Any]) -> list[str]:
        """The secrets to store: the required ones, and optional ones that were given."""
        return [s.name for s in self.secrets if s.applies(settings) and (not s.optional or given.get(s.name))]

    def field_help(self, name: str, settings: Mapping[str, Any]) -> str | None:
        """The help shown under a field when it depends on other settings (the provider); None: as declared."""
        return None

    def field_problems(self, settings: Mapping[str, Any]) -> dict[str, str]:
        """Field name → problem, for checks a field's kind cannot express (Kafka's host:port list)."""
        return {}

    def warnings(self, settings: Mapping[str, Any]) -> list[str]:
        """Choices that weaken security, shown wherever the connector appears."""
        return []

    def server_label(self, settings: Mapping[str, Any]) -> str:
        host = settings.get("host") or "?"
        port = settings.get("port")
        return f"{host}:{port}" if port else str(host)

    def test_wording(self, settings: Mapping[str, Any]) -> Wording:
        """The wording for these settings (a type may change it with a setting, e.g. a sandbox)."""
        return self.wording

    def undelivered(self, settings: Mapping[str, Any]) -> NoDelivery | None:
        """Why a message sent with these settings never arrives (a sandbox), or None."""
        return None

    def fixes(self, err: ConnectorError) -> list[Fix]:
        """Corrections this failure suggests (a mailbox name the server does have), at most three."""
        return []

    def facts(self, info: Mapping[str, Any]) -> list[Fact]:
        """What a check of this type learned (its own part of ``run.info``), for people."""
        return []

    def listing(self, info: Mapping[str, Any]) -> Listing | None:
        """A peek's result (``run.info``) as a listing; None if the type has nothing to list."""
        return None

    def receipt(self, steps: list[StepResult]) -> str:
        """The server's receipt of a test send or produce: the detail of the last receipt step."""
        return next((st.detail for st in reversed(steps)
                     if st.name.rpartition(".")[2] in self.receipt_steps), "")

    def add_provider_hint(self, settings: Mapping[str, Any], err: ConnectorError,
                          keys: tuple[str, ...] = ()) -> None:
        """Replace the hint with the provider's own advice when the preset has one."""
        preset = self.preset(settings.get("provider"))
        if preset is None:
            return
        for key in (*keys, err.code):
            if key in preset.hints:
                err.hint = preset.hints[key]
                return

    @abstractmethod
    def validate(self, conn: Connector, secrets: Mapping[str, Secret], run: Run) -> None:
        """Check everything short of storing anything: raise ConnectorError on failure."""

    def test_send(self, conn: Connector, secrets: Mapping[str, Secret], run: Run, to: str,
                  tag: str | None = None) -> None:
        """Send one real test message (header X-Connector-Desk-Test: ``tag``); record it in ``run.info``."""
        raise ConnectorError(errors.BAD_INPUT, f"A {self.label} connector does not send messages.",
                             "Use the connector's own test action.")

    def peek(self, conn: Connector, secrets: Mapping[str, Secret], run: Run, count: int) -> None:
        """Read (without changing anything) the newest ``count`` items into ``run.info``."""
        raise ConnectorError(errors.BAD_INPUT, f"A {self.label} connector has no messages to peek at.",
                             "Use the connector's own test action.")

    def produce(self, conn: Connector, secrets: Mapping[str, Secret], run: Run) -> None:
        """Produce one test record and read it back; ``run.info["latency_ms"]``."""
        raise ConnectorError(errors.BAD_INPUT, f"A {self.label} connector does not produce records.",
                             "Use the connector's own test action.")

    def folders(self, conn: Connector, secrets: Mapping[str, Secret], run: Run) -> None:
        """List the account's folders into ``run.info["folders"]``."""
        raise ConnectorError(errors.BAD_INPUT, f"A {self.label} connector has no folders.", "")

    def wait_for(self, conn: Connector, secrets: Mapping[str, Secret], run: Run, tag: str,
                 sent_at: float) -> None:
        """Wait until the message tagged ``tag`` arrives (round trip); ``run.info["delivery_ms"]``."""
        raise ConnectorError(errors.BAD_INPUT, f"A {self.label} connector does not receive messages.",
                             "Choose a connector that receives mail (IMAP) for the round trip.")

    # -- failed sends (connector health; declared here so main's health work merges onto the contract) --
    def linked_connector(self, settings: Mapping[str, Any]) -> str | None:
        """The saved connector ``failures()`` also needs (SMTP: the IMAP bounce mailbox), if any."""
        return None

    def relinked(self, settings: Mapping[str, Any], old: str, new: str) -> dict[str, Any] | None:
        """These settings with a link to the saved connector ``old`` changed to its new name ``new``
        (a rename), or None when they do not name ``old``."""
        return None

    def linked_problems(self, settings: Mapping[str, Any], saved: Mapping[str, str]) -> dict[str, str]:
        """Field name → problem when the connector ``linked_connector()`` names is not a saved connector
        of the right type; ``saved`` maps saved names to their types."""
        return {}

    def has_failures(self, settings: Mapping[str, Any]) -> bool:
        """True when ``failures()`` has somewhere to read from with these settings."""
        return False

    def failures(self, conn: Connector, secrets: Mapping[str, Secret], run: Run, limit: int,
                 linked: tuple[Connector, Mapping[str, Secret]] | None = None) -> None:
        """Read the connector's failed sends into ``run.info["failures"]`` (``Failure.to_dict()``s,
        newest first, at most ``limit``), changing nothing."""
        raise ConnectorError(errors.BAD_INPUT, f"A {self.label} connector has no failed sends to show.",
                             "Failed sends are read from Kafka dead-letter topics, SMTP bounce mailboxes and "
                             "SendGrid suppression lists.")
