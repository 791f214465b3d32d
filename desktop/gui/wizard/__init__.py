"""The connector wizard: Qt pages attached to core.wizard.WizardFlow, one module per page
(page.py: the base; check_page.py: a page that runs a check). Validation and the test send run in
workers on the values in the form; a failure never clears the form."""

from __future__ import annotations

from desktop.gui.wizard.window import ConnectorWizard

__all__ = ["ConnectorWizard"]
