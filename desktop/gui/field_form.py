"""FieldForm: a form rendered from declared fields and secrets (kinds, choices, pickers, `when`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from desktop.core.fields import Field, SecretField
from desktop.core.secret import KEYCHAIN_PLACE
from desktop.gui.secret_edit import SecretEdit


class FieldForm(QWidget):
    """Editors for declared fields (and secrets), each with its own error line.

    Signals:
        changed(str, object): a field's value changed (secrets: name, str).
    """

    changed = Signal(str, object)
    pick_requested = Signal(str)

    def __init__(self, fields: list[Field], secrets: list[SecretField] | None = None,
                 parent: QWidget | None = None, secrets_place: str = KEYCHAIN_PLACE) -> None:
        """``secrets_place``: where the workspace keeps secrets (Desk.secrets_place()), for their placeholder."""
        super().__init__(parent)
        self.secrets_place = secrets_place
        self.fields = {f.name: f for f in fields}
        self.secret_fields = {s.name: s for s in (secrets or [])}
        self.editors: dict[str, QWidget] = {}
        self.errors: dict[str, QLabel] = {}
        self.rows: dict[str, QWidget] = {}
        self.pick_buttons: dict[str, QPushButton] = {}
        self.layout_ = QFormLayout(self)
        self.layout_.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        self.layout_.setContentsMargins(0, 0, 0, 0)
        self._loading = False
        self.help_labels: dict[str, QLabel] = {}
        # Mnemonics: one letter per label, never N or B (Alt+N is "Next >", Alt+B "< Back").
        self._mnemonics = {"n", "b"}
        placed = {s.after for s in secrets or [] if s.after in self.fields}
        for f in fields:
            self._add(f.name, f.label, self._editor(f), f.help, is_bool=f.kind == "bool")
            if f.name in placed:
                for s in secrets or []:
                    if s.after == f.name:
                        self._add(s.name, s.label, self._secret_editor(s), s.help)
        for s in secrets or []:
            if s.after not in placed:
                self._add(s.name, s.label, self._secret_editor(s), s.help)

    # -- building --------------------------------------------------------------------------
    def _add(self, name: str, label: str, editor: QWidget, help_text: str, is_bool: bool = False) -> None:
        box = QWidget()
        box.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        v = QVBoxLayout(box)
        v.setContentsMargins(0, 0, 0, 0)
        v.setSpacing(2)
        compact = isinstance(editor, (QSpinBox, QComboBox))
        v.addWidget(editor, 0, Qt.AlignmentFlag.AlignLeft if compact else Qt.AlignmentFlag(0))
        hl = QLabel(help_text)
        hl.setWordWrap(True)
        hl.setProperty("role", "help")
        hl.setVisible(bool(help_text))
        v.addWidget(hl)
        self.help_labels[name] = hl
        err = QLabel()
        err.setProperty("role", "error")
        err.setWordWrap(True)
        err.hide()
        v.addWidget(err)
        self.errors[name] = err
        self.rows[name] = box
        if is_bool:
            self.layout_.addRow("", box)
        else:
            lab = QLabel(self._mnemonic(label) + ":")
            lab.setBuddy(editor.focusProxy() or editor)
            self.layout_.addRow(lab, box)

    def _mnemonic(self, label: str) -> str:
        """``label`` with "&" before its first letter not yet taken on this form (none if all are)."""
        if "&" in label:
            return label
        for i, ch in enumerate(label):
            if ch.isalpha() and ch.lower() not in self._mnemonics:
                self._mnemonics.add(ch.lower())
                return f"{label[:i]}&{label[i:]}"
        return label

    def set_help(self, name: str, text: str) -> None:
        hl = self.help_labels[name]
        if hl.text() != text:
            hl.setText(text)
            hl.setVisible(bool(text))

    def _editor(self, f: Field) -> QWidget:
        w: QWidget
        if f.kind == "int":
            sb = QSpinBox()
            sb.setRange(f.minimum if f.minimum is not None else 0, f.maximum if f.maximum is not None else 10**6)
            sb.valueChanged.connect(lambda v, n=f.name: self._emit(n, v))
            w = sb
        elif f.kind == "bool":
            cb = QCheckBox(f.label)
            cb.toggled.connect(lambda v, n=f.name: self._emit(n, v))
            w = cb
        elif f.kind == "choice":
            combo = QComboBox()
            for value, label in f.choices:
                combo.addItem(label, value)
            combo.currentIndexChanged.connect(lambda _i, n=f.name, c=combo: self._emit(n, c.currentData()))
            w = combo
        elif f.kind == "path":
            w = QWidget()
            h = QHBoxLayout(w)
            h.setContentsMargins(0, 0, 0, 0)
            le = QLineEdit()
            le.setPlaceholderText(f.placeholder or self.tr("none"))
            le.textChanged.connect(lambda v, n=f.name: self._emit(n, v or None))
            btn = QPushButton(self.tr("Browse…"))
            btn.clicked.connect(lambda _=False, e=le, lab=f.label: self._browse(e, lab))
            h.addWidget(le, 1)
            h.addWidget(btn)
            w.setFocusProxy(le)
            w.setProperty("line_edit", le)
        else:
            le = QLineEdit()
            le.setPlaceholderText(f.placeholder)
            le.textChanged.connect(lambda v, n=f.name: self._emit(n, v))
            w = le
            if f.picker:
                w = QWidget()
                h = QHBoxLayout(w)
                h.setContentsMargins(0, 0, 0, 0)
                choose = QPushButton(self.tr("Choose…"))
                choose.setObjectName(f"pick_{f.name}")
                choose.setToolTip(self.tr("Sign in and pick from the account's list"))
                choose.clicked.connect(lambda _=False, n=f.name: self.pick_requested.emit(n))
                h.addWidget(le, 1)
                h.addWidget(choose)
                w.setFocusProxy(le)
                w.setProperty("line_edit", le)
                self.pick_buttons[f.name] = choose
        w.setObjectName(f"field_{f.name}")
        self.editors[f.name] = w
        return w

    def _secret_editor(self, s: SecretField) -> QWidget:
        w = SecretEdit().named(f"secret_{s.name}", f"show_{s.name}")
        le = w.edit
        le.setPlaceholderText(self.tr("stored in {0}").format(self.secrets_place))
        le.textChanged.connect(lambda v, n=s.name: self._emit(n, v))
        self.editors[s.name] = le
        return w

    def _browse(self, edit: QLineEdit, label: str) -> None:
        path, _ = QFileDialog.getOpenFileName(self, label, edit.text(),
                                              self.tr("PEM files (*.pem *.crt *.cer);;All files (*)"))
        if path:
            edit.setText(path)

    def _emit(self, name: str, value: Any) -> None:
        if not self._loading:
            self.changed.emit(name, value)

    # -- values ----------------------------------------------------------------------------
    def set_values(self, settings: Mapping[str, Any], secrets: Mapping[str, str] | None = None) -> None:
        self._loading = True
        try:
            for name, f in self.fields.items():
                w = self.editors[name]
                value = settings.get(name)
                if isinstance(w, QSpinBox):
                    w.setValue(int(value) if value not in (None, "") else w.minimum())
                elif isinstance(w, QCheckBox):
                    w.setChecked(bool(value))
                elif isinstance(w, QComboBox):
                    idx = w.findData(value)
                    w.setCurrentIndex(max(idx, 0))
                elif f.kind == "path" or f.picker:
                    le = w.property("line_edit")
                    if le.text() != (value or ""):
                        le.setText(value or "")
                elif isinstance(w, QLineEdit):
                    text = ", ".join(value) if isinstance(value, list) else str(value or "")
                    if w.text() != text and not (f.kind == "list" and w.hasFocus()):
                        w.setText(text)
            for name, value in (secrets or {}).items():
                editor = self.editors.get(name)
                if isinstance(editor, QLineEdit) and editor.text() != value:
                    editor.setText(value)
        finally:
            self._loading = False

    def update_visibility(self, settings: Mapping[str, Any]) -> None:
        for name, f in self.fields.items():
            self.layout_.setRowVisible(self.rows[name], f.applies(settings))
        for name, s in self.secret_fields.items():
            self.layout_.setRowVisible(self.rows[name], s.applies(settings))

    def show_problems(self, problems: Mapping[str, str]) -> None:
        first: QWidget | None = None
        for name, label in self.errors.items():
            if name in problems:
                label.setText(f"⚠ {problems[name]}")
                label.show()
                first = first or self.editors[name]
            else:
                label.clear()  # a hidden word-wrapped label would keep its height
                label.hide()
            self._relayout(name)
        self.layout_.invalidate()
        if first is not None:
            (first.focusProxy() or first).setFocus()

    def clear_problem(self, name: str) -> None:
        """The field was edited: its complaint no longer stands beside it (Next checks it again)."""
        label = self.errors.get(name)
        if label is None or label.isHidden():
            return
        label.clear()
        label.hide()
        self._relayout(name)
        self.layout_.invalidate()

    def _relayout(self, name: str) -> None:
        row_layout = self.rows[name].layout()
        if row_layout is not None:
            row_layout.invalidate()
        self.rows[name].updateGeometry()
