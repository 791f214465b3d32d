"""Reusable widgets of the wizard, one module each: field_form (FieldForm), step_list (StepList,
TranscriptPanel). (The result banner is in banner.py: the main window needs it at start-up.)"""

from __future__ import annotations

from desktop.gui.field_form import FieldForm
from desktop.gui.step_list import StepList, TranscriptPanel

__all__ = ["FieldForm", "StepList", "TranscriptPanel"]
