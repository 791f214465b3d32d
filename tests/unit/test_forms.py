"""The Designer forms in ui/ and the Python compiled from them (desktop/gui/forms/ui_*.py, `make ui`)
agree: a form edited in Designer but not recompiled, or compiled code edited by hand, fails here."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORMS = sorted((ROOT / "ui").glob("*.ui"))
UIC = shutil.which("pyside6-uic", path=str(Path(sys.executable).parent))


def test_every_form_is_compiled_and_every_compiled_form_has_its_form():
    compiled = {p.name for p in (ROOT / "desktop/gui/forms").glob("ui_*.py")}
    assert compiled == {f"ui_{f.stem}.py" for f in FORMS}
    assert {f.stem for f in FORMS} >= {"about"}


@pytest.mark.skipif(UIC is None, reason="pyside6-uic is not installed beside this Python")
@pytest.mark.parametrize("form", FORMS, ids=lambda f: f.stem)
def test_the_compiled_form_is_what_uic_makes_of_it_today(form, tmp_path):
    out = tmp_path / "out.py"
    subprocess.run([str(UIC), str(form), "-o", str(out)], check=True, timeout=60)
    assert out.read_text(encoding="utf-8") == (ROOT / "desktop/gui/forms" / f"ui_{form.stem}.py").read_text(
        encoding="utf-8")
