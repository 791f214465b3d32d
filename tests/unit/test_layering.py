"""desktop/core and desktop/connectors never import Qt (DESIGN.md §1)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def qt_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        elif isinstance(node, ast.Call) and getattr(node.func, "id", "") == "__import__":
            names = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
        found += [n for n in names if n.split(".")[0] in ("PySide6", "PyQt5", "PyQt6", "shiboken6", "desktop")
                  and (n.split(".")[0] != "desktop" or n.startswith("desktop.gui"))]
    return found


def test_core_and_connectors_have_no_qt():
    offenders = {}
    for folder in ("desktop/core", "desktop/connectors"):
        for path in (ROOT / folder).rglob("*.py"):
            bad = qt_imports(path)
            if bad:
                offenders[str(path.relative_to(ROOT))] = bad
    assert offenders == {}


def test_the_check_itself_catches_qt(tmp_path):
    f = tmp_path / "x.py"
    f.write_text("from PySide6.QtCore import QObject\nimport desktop.gui.worker\n")
    assert qt_imports(f) == ["PySide6.QtCore", "desktop.gui.worker"]


def test_importing_core_loads_no_qt():
    import subprocess
    import sys
    code = ("import sys, desktop.cli, desktop.core.service, desktop.connectors;"
            "desktop.connectors.registry();"
            "bad=[m for m in sys.modules if m.startswith(('PySide6','shiboken6'))]; print(bad); sys.exit(bool(bad))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stdout + r.stderr


def upward_imports(path: Path) -> list[str]:
    """Imports from desktop/core that reach a layer above it (connectors, gui), even under TYPE_CHECKING."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        found += [n for n in names if n.startswith(("desktop.connectors", "desktop.gui", "desktop.cli"))]
    return found


def test_core_never_imports_the_layers_above_it():
    offenders = {}
    for path in (ROOT / "desktop/core").rglob("*.py"):
        bad = upward_imports(path)
        if bad:
            offenders[str(path.relative_to(ROOT))] = bad
    assert offenders == {}


def test_the_upward_check_catches_a_type_checking_import(tmp_path):
    f = tmp_path / "x.py"
    f.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                 "    from desktop.connectors.base import ConnectorType\n")
    assert upward_imports(f) == ["desktop.connectors.base"]
