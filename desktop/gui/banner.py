"""The result banner: the one place a ConnectorError is rendered (title, message, what to do)."""

from __future__ import annotations

from collections.abc import Mapping

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QLabel, QSizePolicy, QVBoxLayout, QWidget

from desktop.core.errors import ConnectorError, FieldError, InputErrors, field_sentence
from desktop.core.fields import field_label as core_field_label

OK_COLOR, FAIL_COLOR, WARN_COLOR = "#1b7f3b", "#b3261e", "#8a5a00"

def field_label(path: str, labels: Mapping[str, str] | None = None) -> str:
    """:func:`desktop.core.fields.field_label`, falling back on every connector type's labels."""
    from desktop.connectors import registry
    every: dict[str, str] = {}
    for ctype in registry().values():
        for name, label in ctype.labels().items():
            every.setdefault(name, label)
    return core_field_label(path, labels, every)


def describe_input(exc: ConnectorError, labels: Mapping[str, str] | None = None) -> tuple[str, str] | None:
    """Message and hint of bad input, naming each field by its label; None for other errors."""
    if isinstance(exc, InputErrors):
        problems = [(field_label(e.field, labels), e.problem) for e in exc.errors]
    elif isinstance(exc, FieldError):
        problems = [(field_label(exc.field, labels), exc.problem)]
    else:
        return None
    message = "; ".join(field_sentence(label, problem) for label, problem in problems)
    named = ", ".join(f"“{label}”" for label, _p in problems)
    if isinstance(exc, FieldError) and exc.own_hint:
        return message, exc.hint
    return message, f"Correct {named} and try again."


class ResultBanner(QFrame):
    """The one place an outcome is rendered: a title, the message, and what to do."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("resultBanner")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        v = QVBoxLayout(self)
        self.title = QLabel()
        f = self.title.font()
        f.setBold(True)
        self.title.setFont(f)
        self.message = QLabel()
        self.hint = QLabel()
        for lab in (self.title, self.message, self.hint):
            lab.setWordWrap(True)
            lab.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            v.addWidget(lab)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self.labels: Mapping[str, str] | None = None  # the connector type's field labels, when known
        self.hide()

    def _show(self, state: str, title: str, message: str = "", hint: str = "") -> None:
        self.setProperty("state", state)
        self.style().unpolish(self)
        self.style().polish(self)
        self.title.setText(title)
        self.message.setText(message)
        self.message.setVisible(bool(message))
        self.hint.setText(self.tr("What to do: ") + hint if hint else "")
        self.hint.setVisible(bool(hint))
        self.show()

    def busy(self, title: str) -> None:
        self._show("busy", title)

    def success(self, title: str, message: str = "") -> None:
        self._show("ok", "✓ " + title, message)

    def info(self, title: str, message: str = "") -> None:
        self._show("info", title, message)

    def partial(self, title: str, message: str = "", hint: str = "") -> None:
        """Done, but not all of it: what was and was not done, and what to do (amber, no ✓)."""
        self._show("partial", "⚠ " + title, message, hint)

    def error(self, exc: BaseException, title: str | None = None, labels: Mapping[str, str] | None = None) -> None:
        """``labels``: field name → label of the connector type at hand (bad input names fields by them)."""
        if isinstance(exc, ConnectorError):
            step = exc.step_label or exc.step
            where = self.tr(" at “{0}”").format(step) if step else ""
            message, hint = describe_input(exc, labels or self.labels) or (exc.message, exc.hint)
            self._show("failed", "✗ " + (title or self.tr("Failed")) + where,
                       f"{message}  [{exc.code}]", hint)
        else:
            self._show("failed", "✗ " + self.tr("Unexpected error (a bug)"),
                       f"{exc.__class__.__name__}", self.tr("Please report it with the log file."))
