"""desktop.gui answers PySide's question about each imported module (does its source mention PySide6?)
from the file's bytes: the answers must be PySide's own."""

from __future__ import annotations

import importlib
import json
import sqlite3
import sys

import pytest

import desktop.gui


def _pyside_feature_module():  # type: ignore[no-untyped-def]
    feature = sys.modules.get("shibokensupport.feature")
    if desktop.gui._pyside_scan is None or feature is None:
        pytest.skip("this PySide has no source look-up in its import hook")
    return feature


@pytest.mark.parametrize("name", ["desktop.gui.main_window", "desktop.gui.worker", "desktop.core.store",
                                  "desktop.core.service", "json", "sqlite3", "_sqlite3", "sys", "tests.gui.conftest"])
def test_the_quick_look_up_answers_as_pysides_own(name):
    feature = _pyside_feature_module()
    module = importlib.import_module(name)
    assert feature._mod_uses_pyside is not desktop.gui._pyside_scan  # the quick one is in place
    assert feature._mod_uses_pyside(module) == desktop.gui._pyside_scan(module)


def test_the_answers_are_what_the_sources_say():
    feature = _pyside_feature_module()
    from desktop.gui import main_window
    assert feature._mod_uses_pyside(main_window) is True
    assert feature._mod_uses_pyside(json) is False
    assert feature._mod_uses_pyside(sqlite3) is False
