"""Connector types. Each module in this package that defines ``CONNECTOR`` is one type."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from desktop.core.contract import ConnectorType


@cache
def registry() -> dict[str, ConnectorType]:
    import importlib
    import pkgutil

    from desktop.core.contract import ConnectorType  # the window shows before any connector loads

    types: dict[str, ConnectorType] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name.startswith("_") or info.name == "base":
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        ctype = getattr(module, "CONNECTOR", None)
        if isinstance(ctype, ConnectorType):
            types[ctype.type_name] = ctype
    return types
