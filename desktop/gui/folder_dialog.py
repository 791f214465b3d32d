"""FolderDialog: a mailbox account's folders as a tree, for the field picker. Its layout is the
Designer form ui/folders.ui (compiled by `make ui`)."""

from __future__ import annotations

from typing import Any, cast

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTreeWidget, QTreeWidgetItem, QWidget

from desktop.gui.forms.ui_folders import Ui_FolderForm

SPECIAL = {"\\sent": "Sent", "\\trash": "Trash", "\\drafts": "Drafts", "\\junk": "Junk", "\\archive": "Archive",
           "\\all": "All mail", "\\flagged": "Flagged", "\\important": "Important"}


class FolderDialog(QDialog):
    """Pick a mailbox from the account's folders (decoded names, special-use flags shown)."""

    def __init__(self, folders: list[dict[str, Any]], current: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ui: Any = cast(Any, Ui_FolderForm())  # generated, untyped: its widgets are named in ui/folders.ui
        self.ui.setupUi(self)
        self.tree: QTreeWidget = self.ui.folderTree
        self.tree.setColumnWidth(0, 280)
        self.items: dict[str, QTreeWidgetItem] = {}
        for f in sorted(folders, key=lambda f: (f["name"].upper() != "INBOX", f["name"].lower())):
            self._add(f)
        self.tree.expandAll()
        self.buttons: QDialogButtonBox = self.ui.buttons
        self.tree.currentItemChanged.connect(lambda *_: self._update())
        self.tree.itemDoubleClicked.connect(lambda item, _c: self.accept() if self._selectable(item) else None)
        if current in self.items:
            self.tree.setCurrentItem(self.items[current])
        self._update()

    def _add(self, f: dict[str, Any]) -> None:
        name, delim = f["name"], f["delimiter"]
        parent_name, _, leaf = name.rpartition(delim) if delim and delim in name else ("", "", name)
        parent = self.items.get(parent_name)
        kind = ", ".join(SPECIAL.get(s.lower(), s) for s in f["special_use"])
        item = QTreeWidgetItem([leaf, kind])
        item.setData(0, Qt.ItemDataRole.UserRole, name)
        item.setData(0, Qt.ItemDataRole.UserRole + 1, bool(f["selectable"]))
        item.setToolTip(0, name)
        if not f["selectable"]:
            item.setForeground(0, Qt.GlobalColor.gray)
            item.setToolTip(0, self.tr("{0} holds only other folders (\\Noselect)").format(name))
        if parent is not None:
            parent.addChild(item)
        else:
            self.tree.addTopLevelItem(item)
        self.items[name] = item

    @staticmethod
    def _selectable(item: QTreeWidgetItem | None) -> bool:
        return item is not None and bool(item.data(0, Qt.ItemDataRole.UserRole + 1))

    def _update(self) -> None:
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        can = self._selectable(self.tree.currentItem())
        ok.setEnabled(can)
        ok.setToolTip("" if can else self.tr("Choose a folder that holds messages"))

    def selected(self) -> str | None:
        item = self.tree.currentItem()
        return str(item.data(0, Qt.ItemDataRole.UserRole)) if item is not None and self._selectable(item) else None
