"""The validation pipeline: named steps with timings, one overall deadline, a cancel token and
a redacted transcript. Connectors write their checks as a sequence of ``with run.step(...)``
blocks; the pipeline turns any failure into one classified :class:`ConnectorError`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager

from desktop.core import errors
from desktop.core.deadline import CancelToken, Deadline
from desktop.core.errors import ConnectorError
from desktop.core.logsetup import lazy_logger
from desktop.core.record import FrozenRecord, Record
from desktop.core.secret import Secret
from desktop.core.transcript import Transcript

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

log = lazy_logger(__name__)  # logging is imported when a check logs (a bug), not by every run


class StepResult(Record):
    _fields = ("name", "label", "ok", "ms", "detail")

    def __init__(self, name: str, label: str, ok: bool, ms: float, detail: str = "") -> None:
        self.name = name
        self.label = label
        self.ok = ok
        self.ms = ms
        self.detail = detail

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "label": self.label, "ok": self.ok, "ms": round(self.ms, 1),
                "detail": self.detail}


class RunResult(Record):
    """The outcome of one validation or test action. ``info``, ``renewed``, ``learned`` not given:
    new empty ones."""

    _fields = ("ok", "connector", "type", "action", "steps", "error", "transcript", "info", "ms", "renewed",
               "learned")
    _hidden = ("renewed",)

    def __init__(self, ok: bool, connector: str, type: str, action: str, steps: list[StepResult],
                 error: ConnectorError | None, transcript: list[str], info: dict[str, Any] | None = None,
                 ms: float = 0.0, renewed: dict[str, Secret] | None = None,
                 learned: list[tuple[str, str]] | None = None) -> None:
        self.ok = ok
        self.connector = connector
        self.type = type
        self.action = action
        self.steps = steps
        self.error = error
        self.transcript = transcript
        self.info: dict[str, Any] = {} if info is None else info
        self.ms = ms
        # Secrets a provider replaced during the run (a rotated OAuth refresh token): never printed; the
        # caller that owns the connector keeps them (Desk.validate_saved, Desk.rotate).
        self.renewed: dict[str, Secret] = {} if renewed is None else renewed
        self.learned: list[tuple[str, str]] = [] if learned is None else learned  # the type's own facts

    def facts(self) -> list[tuple[str, str]]:
        """What the check learned, as (label, text) for people: the certificate (any type), what the
        connector type itself reports (``learned``, given by the type), the delivery time."""
        out: list[tuple[str, str]] = []
        cert = self.info.get("tls")
        if isinstance(cert, dict):
            out.append(("Certificate", f"{cert.get('subject', '?')}, issued by {cert.get('issuer', '?')}, expires "
                                       f"{cert.get('expires', '?')} ({cert.get('version', '?')})"))
            if cert.get("sha256"):
                out.append(("SHA-256 fingerprint", str(cert["sha256"])))
        out += self.learned
        if self.info.get("delivery_ms") is not None:
            out.append(("Delivery", f"{self.info['delivery_ms']:.0f} ms"))
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "connector": self.connector,
            "type": self.type,
            "action": self.action,
            "ms": round(self.ms, 1),
            "steps": [s.to_dict() for s in self.steps],
            "error": self.error.to_dict() if self.error else None,
            "info": self.info,
            "transcript": self.transcript,
        }


class StepStarted(FrozenRecord):
    """A step began (live progress)."""

    _fields = ("name", "label")
    name: str
    label: str

    def __init__(self, name: str, label: str) -> None:
        self.__dict__.update(name=name, label=label)


class StepFinished(FrozenRecord):
    """A step ended, passed or failed."""

    _fields = ("result",)
    result: StepResult

    def __init__(self, result: StepResult) -> None:
        self.__dict__.update(result=result)


# Events for live progress.
Event = StepStarted | StepFinished


class StepHandle:
    def __init__(self) -> None:
        self.detail = ""


class Run:
    """What a connector's check gets: the deadline, the cancel token, the transcript, and
    ``step()`` to report progress. ``info`` collects facts to show (TLS certificate, counts)."""

    def __init__(self, timeout_s: float, cancel: CancelToken | None = None,
                 on_event: Callable[[Event], None] | None = None,
                 secrets: Mapping[str, Secret] | None = None) -> None:
        self.deadline = Deadline(timeout_s)
        self.cancel = cancel or CancelToken()
        self.transcript = Transcript()
        self.steps: list[StepResult] = []
        self.info: dict[str, Any] = {}
        self.renewed: dict[str, Secret] = {}  # see RunResult.renewed
        # A run that spans two connectors (the round trip) names its phases: ("send", "Send: ").
        self.phase: tuple[str, str] = ("", "")
        self._on_event = on_event
        for s in (secrets or {}).values():
            self.transcript.register(s)

    def _emit(self, event: Event) -> None:
        if self._on_event is not None:
            try:
                self._on_event(event)
            except Exception:  # noqa: BLE001 - a progress listener must not break the check
                log.exception("progress listener failed")

    @contextmanager
    def step(self, name: str, label: str) -> Iterator[StepHandle]:
        if self.phase[0]:
            name, label = f"{self.phase[0]}.{name}", self.phase[1] + label
        self.cancel.raise_if_cancelled()
        handle = StepHandle()
        self._emit(StepStarted(name, label))
        t0 = time.perf_counter()
        try:
            yield handle
        except BaseException as exc:
            ms = (time.perf_counter() - t0) * 1000
            err = self.classify(exc)
            if err.step is None:
                err.step = name
            if err.step == name:
                err.step_label = label
            result = StepResult(name, label, False, ms, self.transcript.redactor.scrub(err.message))
            self.steps.append(result)
            self._emit(StepFinished(result))
            raise err from None
        ms = (time.perf_counter() - t0) * 1000
        result = StepResult(name, label, True, ms, self.transcript.redactor.scrub(handle.detail))
        self.steps.append(result)
        self._emit(StepFinished(result))

    def classify(self, exc: BaseException) -> ConnectorError:
        if self.cancel.cancelled:
            return ConnectorError(errors.CANCELLED, "Cancelled.", "Nothing was changed.")
        if isinstance(exc, ConnectorError):
            # Scrub in case a server echoed a credential into a message.
            exc.message = self.transcript.redactor.scrub(exc.message)
            return exc
        if isinstance(exc, TimeoutError) or self.deadline.expired:
            return self.deadline.error("waiting for the server")
        log.error("unexpected %s during a check", exc.__class__.__name__, exc_info=exc)
        return ConnectorError(
            errors.INTERNAL_ERROR,
            f"Connector Desk hit an unexpected error ({exc.__class__.__name__}). This is a bug.",
            "Please report it with the log file; the check itself may be fine.",
        )


def execute(connector_name: str, type_name: str, action: str, run: Run,
            body: Callable[[Run], None],
            describe: Callable[[Mapping[str, Any]], Sequence[tuple[str, str]]] | None = None) -> RunResult:
    """Run ``body`` and package whatever happens as a :class:`RunResult`. Never raises.
    ``describe`` turns ``run.info`` into the facts the connector type reports (its own words)."""
    t0 = time.perf_counter()
    error: ConnectorError | None = None
    try:
        body(run)
    except BaseException as exc:  # noqa: BLE001 - everything becomes a result
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        error = run.classify(exc)
    learned: list[tuple[str, str]] = []
    if describe is not None:
        try:
            learned = [(str(label), str(text)) for label, text in describe(run.info)]
        except Exception:  # noqa: BLE001 - a fact that cannot be worded must not lose the result
            log.exception("facts of %s could not be described", type_name)
    return RunResult(
        learned=learned,
        ok=error is None,
        connector=connector_name,
        type=type_name,
        action=action,
        steps=list(run.steps),
        error=error,
        transcript=run.transcript.lines,
        info=run.info,
        ms=(time.perf_counter() - t0) * 1000,
        renewed=dict(run.renewed),
    )
