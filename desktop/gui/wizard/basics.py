"""The first two pages: the connector's name and type (Basics) and its provider (presets)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QFocusEvent
from PySide6.QtWidgets import (
    QButtonGroup,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QRadioButton,
    QVBoxLayout,
)

from desktop.core import wizard as flowmod
from desktop.gui.wizard.page import Page, wrap

if TYPE_CHECKING:
    from desktop.gui.wizard.window import ConnectorWizard


class BasicsPage(Page):
    name = flowmod.BASICS

    def __init__(self, wiz: ConnectorWizard) -> None:
        super().__init__(wiz)
        self.setTitle(self.tr("Name and type"))
        self.setSubTitle(self.tr("Give the connector a name your workflows will refer to, and choose what it "
                                 "connects to."))
        form = QFormLayout(self)
        self.name_edit = QLineEdit(self.flow.draft.name)
        self.name_edit.setObjectName("name")
        self.name_edit.setPlaceholderText("billing-mail")
        self.name_error = QLabel()
        self.name_error.setProperty("role", "error")
        self.name_error.hide()
        # Alt+N belongs to "Next >": the name's mnemonic is M.
        lab = QLabel(self.tr("Na&me:"))
        lab.setBuddy(self.name_edit)
        self.rename_note = wrap(QLabel())
        self.rename_note.setObjectName("renameNote")
        self.rename_note.setProperty("role", "warning")
        self.rename_note.hide()
        box = QVBoxLayout()
        box.addWidget(self.name_edit)
        box.addWidget(self.name_error)
        box.addWidget(self.rename_note)
        form.addRow(lab, box)
        self.name_edit.textChanged.connect(self._name_edited)
        self.desc_edit = QLineEdit(self.flow.draft.description)
        self.desc_edit.setObjectName("description")
        self.desc_edit.setPlaceholderText(self.tr("What it is for, e.g. outbound mail for invoices"))
        self.desc_edit.textChanged.connect(self._description_edited)
        self.desc_error = wrap(QLabel())
        self.desc_error.setObjectName("descriptionError")
        self.desc_error.setProperty("role", "error")
        self.desc_error.hide()
        dl = QLabel(self.tr("&Description:"))
        dl.setBuddy(self.desc_edit)
        dbox = QVBoxLayout()
        dbox.addWidget(self.desc_edit)
        dbox.addWidget(self.desc_error)
        form.addRow(dl, dbox)
        self.types = QButtonGroup(self)
        tbox = QVBoxLayout()
        for type_name, ctype in sorted(self.flow.types.items(), key=lambda item: (item[1].rank, item[0])):
            rb = QRadioButton(f"{ctype.label} — {ctype.summary}")
            rb.installEventFilter(self)  # Tab lands on the chosen type, so the arrow keys then choose
            rb.setObjectName(f"type_{type_name}")
            rb.setProperty("type_name", type_name)
            rb.setChecked(type_name == self.flow.draft.type)
            rb.setEnabled(not self.flow.editing)
            self.types.addButton(rb)
            tbox.addWidget(rb)
        if self.flow.editing:
            tbox.addWidget(wrap(QLabel(self.tr("The type of a saved connector cannot change; duplicate it "
                                                "to make a connector of another type."))))
        form.addRow(self.tr("Type:"), tbox)
        self._build_discovery(form)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Tab into the types focuses the chosen one (Qt's arrow keys choose only from a chosen one)."""
        if event.type() == QEvent.Type.FocusIn and isinstance(watched, QRadioButton) and not watched.isChecked():
            reason = cast(QFocusEvent, event).reason()
            checked = self.types.checkedButton()
            if checked is not None and reason in (Qt.FocusReason.TabFocusReason, Qt.FocusReason.BacktabFocusReason):
                checked.setFocus(reason)
        return super().eventFilter(watched, event)

    def _build_discovery(self, form: QFormLayout) -> None:
        """For the types discovery knows: settings found from an e-mail address fill the next pages."""
        from desktop.core.discover import DISCOVERED_TYPES
        from desktop.gui.discover_panel import DiscoverPanel
        self.discovery = QGroupBox(self.tr("Don't know the servers? Find them from the e-mail address"))
        self.discovery.setObjectName("discovery")
        box = QVBoxLayout(self.discovery)
        self.discover_panel = DiscoverPanel(self.wiz.runner)
        self.discover_panel.found.connect(self._found)
        box.addWidget(self.discover_panel)
        form.addRow(self.discovery)
        self._discoverable = DISCOVERED_TYPES
        self.types.buttonToggled.connect(lambda *_: self._show_discovery())
        self.types.buttonToggled.connect(self._type_toggled)
        self._show_discovery()

    def _show_discovery(self) -> None:
        btn = self.types.checkedButton()
        self.discovery.setVisible(not self.flow.editing and btn is not None
                                  and btn.property("type_name") in self._discoverable)

    def _type_toggled(self, _button: QRadioButton, on: bool) -> None:
        if on:
            self._to_draft()

    def _to_draft(self) -> None:
        """What is typed goes into the draft as it is typed (as on the other pages): Esc then knows
        there is something to lose."""
        btn = self.types.checkedButton()
        self.flow.set_basics(self.name_edit.text(), self.desc_edit.text(),
                             btn.property("type_name") if btn else self.flow.draft.type)

    def _found(self, found: dict[str, Any]) -> None:
        """The chosen settings go into the draft (still editable on the following pages); the name
        is suggested from the address when none was typed."""
        btn = self.types.checkedButton()
        type_name = btn.property("type_name") if btn else self.flow.draft.type
        self._to_draft()
        candidate = found.get(type_name)
        if candidate is None:
            return
        self.flow.apply_found(candidate.settings())
        if not self.name_edit.text().strip():
            self.name_edit.setText(f"{str(found.get('address', '')).split('@')[-1].split('.')[0]}-{type_name}")
        self.wiz.next()

    def _show_problems(self, problems: dict[str, str], only_shown: bool = False) -> None:
        """Each problem under its field ("⚠ Name is required"); with ``only_shown``, only the lines
        already showing follow what is typed (a problem is not raised while typing)."""
        for key, label in (("name", self.name_error), ("description", self.desc_error)):
            if only_shown and label.isHidden():
                continue
            label.setText("⚠ " + problems.get(key, ""))
            label.setVisible(key in problems)

    def _description_edited(self, _text: str) -> None:
        self._to_draft()
        self._show_problems(self.flow.problems(self.name), only_shown=True)

    def _name_edited(self, text: str) -> None:
        self._to_draft()
        self._show_problems(self.flow.problems(self.name), only_shown=True)
        renamed = self.flow.editing and text.strip() != self.flow.original_name
        self.rename_note.setText(self.tr("Workflows refer to this connector by its name “{0}”. After renaming, "
                                         "change the name in every workflow that uses it, or they stop "
                                         "working.").format(self.flow.original_name))
        self.rename_note.setVisible(renamed)

    def validatePage(self) -> bool:
        self._to_draft()
        problems = self.flow.problems(self.name)
        self._show_problems(problems)
        if "name" in problems:
            self.name_edit.setFocus()
        elif problems:
            self.desc_edit.setFocus()
        return not problems


class ProviderPage(Page):
    name = flowmod.PROVIDER

    def __init__(self, wiz: ConnectorWizard) -> None:
        super().__init__(wiz)
        self.setTitle(self.tr("Provider"))
        self.setSubTitle(self.tr("Choose the service; Connector Desk fills in its server settings and knows its "
                                 "pitfalls."))
        self.layout_ = QVBoxLayout(self)
        self.group = QButtonGroup(self)

    def initializePage(self) -> None:
        for b in self.group.buttons():
            self.group.removeButton(b)
        while self.layout_.count():
            item = self.layout_.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        presets = self.flow.ctype.presets()
        ids = [p.id for p in presets]
        # One is always chosen: the one set, else "any other server" (Kafka: self-managed, its last).
        fallback = "other" if "other" in ids or not ids else ids[-1]
        current = self.flow.preset_id if self.flow.preset_id in ids else fallback
        for p in presets:
            rb = QRadioButton(p.label)
            rb.setObjectName(f"preset_{p.id}")
            rb.setProperty("preset", p.id)
            rb.setChecked(p.id == current)
            self.group.addButton(rb)
            self.layout_.addWidget(rb)
            if p.notes:
                note = wrap(QLabel(p.notes))
                note.setProperty("role", "help")
                note.setContentsMargins(24, 0, 0, 8)
                self.layout_.addWidget(note)
        self.layout_.addStretch(1)

    def validatePage(self) -> bool:
        btn = self.group.checkedButton()
        if btn is not None and btn.property("preset") != self.flow.preset_id:
            self.flow.apply_preset(btn.property("preset"))
        return True
