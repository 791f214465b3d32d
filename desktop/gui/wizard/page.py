"""The wizard's page base: a QWizardPage attached to the WizardFlow, its page ids and helpers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import (
    QLabel,
    QWizardPage,
)

from desktop.core import wizard as flowmod

if TYPE_CHECKING:
    from desktop.gui.wizard.window import ConnectorWizard


PAGE_IDS = {name: i for i, name in enumerate(flowmod.ALL_PAGES)}


def wrap(label: QLabel) -> QLabel:
    label.setWordWrap(True)
    return label


class Page(QWizardPage):
    name = ""

    def __init__(self, wiz: ConnectorWizard) -> None:
        super().__init__()
        self.wiz = wiz
        self.flow = wiz.flow

    def nextId(self) -> int:
        nxt = self.flow.next_page(self.name)
        return PAGE_IDS[nxt] if nxt else -1
