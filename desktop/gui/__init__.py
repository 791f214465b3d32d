"""Qt front end: thin widgets over desktop.core; all slow work goes through gui.worker.

Importing it makes one of PySide's start-up costs smaller (see ``_read_sources_directly``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import ModuleType

import PySide6.QtCore  # noqa: F401  (installs PySide's import hook, made quicker below)

_pyside_scan: Callable[[ModuleType], bool] | None = None  # PySide's own look-up, where it was replaced


def _read_sources_directly() -> None:
    """PySide's import hook asks of every module imported after PySide whether its source mentions
    "PySide6" (may it use PySide's ``from __feature__ import …`` switches?), and reads that source
    with ``inspect.getsource`` — linecache, encoding detection, the text split into lines: ~10 ms
    over the ~90 modules the window and its list import, on the way to the list on screen. The same
    question is answered here from the bytes of the module's ``.py`` file (the same answer for UTF-8
    source, Python's default and every module here), ~3 ms; anything else — no such file, a module
    from a zip — still goes to PySide's own look-up. A PySide without that look-up is left as it is.
    (Connector Desk uses no ``__feature__``; the answers matter only to code that does.)"""
    global _pyside_scan
    feature = sys.modules.get("shibokensupport.feature")
    scan = getattr(feature, "_mod_uses_pyside", None)
    if feature is None or not callable(scan) or _pyside_scan is not None:
        return
    _pyside_scan = scan

    def uses_pyside(module: ModuleType) -> bool:
        path = getattr(module, "__file__", None)
        if isinstance(path, str) and path.endswith(".py"):
            try:
                with open(path, "rb") as source:
                    return b"PySide6" in source.read()
            except OSError:
                pass
        return bool(scan(module))

    vars(feature)["_mod_uses_pyside"] = uses_pyside  # the global its import hook calls


_read_sources_directly()
