"""The dialogs, one module each: folder_dialog, roundtrip_dialog, rotate_dialog, about_dialog
(check_dialog: the base of the two that run a check). Re-exported here."""

from __future__ import annotations

from desktop.gui.about_dialog import AboutDialog
from desktop.gui.folder_dialog import FolderDialog
from desktop.gui.rotate_dialog import RotateDialog
from desktop.gui.roundtrip_dialog import RoundTripDialog

__all__ = ["AboutDialog", "FolderDialog", "RotateDialog", "RoundTripDialog"]
