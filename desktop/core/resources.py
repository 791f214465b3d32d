"""Packaged data (presets, style sheets, icons): the files of the package ``desktop.resources``,
found beside its ``__init__`` — in a source tree, an installed wheel and the frozen build alike
(importlib.resources would find the same files, at ~2 ms of start-up for its import)."""

from __future__ import annotations

import importlib
import json
from functools import cache
from pathlib import Path
from typing import Any


@cache
def _folder() -> Path:
    # The top-level resources/ folder, installed as desktop.resources (pyproject's package-dir).
    return Path(str(importlib.import_module("desktop.resources").__file__)).parent


def resource(*parts: str) -> Path:
    return _folder().joinpath(*parts)


@cache
def load_json(*parts: str) -> Any:
    return json.loads(resource(*parts).read_text(encoding="utf-8"))
