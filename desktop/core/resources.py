"""Packaged data (presets, style sheets, icons), found through importlib.resources."""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import Any


def resource(*parts: str) -> Traversable:
    node = files("desktop.resources")
    for p in parts:
        node = node.joinpath(p)
    return node


@cache
def load_json(*parts: str) -> Any:
    return json.loads(resource(*parts).read_text(encoding="utf-8"))
