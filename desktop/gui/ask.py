"""The application's questions (Discard? Save anyway? Delete? Replay again?): a message box whose
buttons say what they do and each have their own Alt+letter. ``QMessageBox.question`` and
``.warning`` give the platform's standard texts ("Discard", "Save", "Cancel" — no mnemonic on this
platform), so Alt+D did nothing in "Discard this connector?".

``question``/``warning`` take the standard buttons as ``QMessageBox`` does, plus ``labels``: the text
of each (with its ``&``); they return the standard button chosen (the Escape button when the box is
closed). Tests answer by replacing these two functions."""

from __future__ import annotations

import re
from collections.abc import Mapping

from PySide6.QtWidgets import QMessageBox, QWidget

Button = QMessageBox.StandardButton

# The usual words, each with its letter; a caller names its verb in ``labels``.
LABELS: dict[Button, str] = {
    Button.Yes: "&Yes", Button.No: "&No", Button.Cancel: "&Cancel", Button.Save: "&Save",
    Button.Discard: "&Discard", Button.Ok: "&OK", Button.Close: "C&lose",
}


def mnemonic(text: str) -> str | None:
    """The Alt+letter of a button text ("Re&play again" → "p"), None without one."""
    m = re.search(r"&([^&])", text.replace("&&", ""))
    return m.group(1).lower() if m else None


def _ask(icon: QMessageBox.Icon, parent: QWidget | None, title: str, text: str, buttons: Button,
         default: Button, labels: Mapping[Button, str] | None) -> Button:
    box = QMessageBox(icon, title, text, buttons, parent)
    box.setDefaultButton(default)
    box.setEscapeButton(Button.Cancel if buttons & Button.Cancel else Button.No if buttons & Button.No else default)
    letters: dict[str, str] = {}
    for b in box.buttons():
        which = box.standardButton(b)
        label = (labels or {}).get(which) or LABELS.get(which)
        if label is None:
            continue
        b.setText(label)
        letter = mnemonic(label)
        if letter is not None and letter in letters:
            raise ValueError(f"{label!r} and {letters[letter]!r} share Alt+{letter.upper()} in “{title}”")
        if letter is not None:
            letters[letter] = label
    box.exec()
    clicked = box.clickedButton()
    return box.standardButton(clicked) if clicked is not None else box.standardButton(box.escapeButton())


def question(parent: QWidget | None, title: str, text: str, buttons: Button, default: Button,
             labels: Mapping[Button, str] | None = None) -> Button:
    return _ask(QMessageBox.Icon.Question, parent, title, text, buttons, default, labels)


def warning(parent: QWidget | None, title: str, text: str, buttons: Button, default: Button,
            labels: Mapping[Button, str] | None = None) -> Button:
    return _ask(QMessageBox.Icon.Warning, parent, title, text, buttons, default, labels)
