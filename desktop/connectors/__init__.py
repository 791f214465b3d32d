"""Connector types. Each module in this package that defines ``CONNECTOR`` is one type; so is
each module named in ``CONNECTOR_DESK_CONNECTORS`` (comma-separated module paths: a type shipped
outside this package, e.g. the test-only one in tests/plugins)."""

from __future__ import annotations

import os
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from desktop.core.contract import ConnectorType


@cache
def registry() -> dict[str, ConnectorType]:
    import importlib
    import pkgutil

    from desktop.core.contract import ConnectorType  # the window shows before any connector loads

    names = [f"{__name__}.{info.name}" for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name)
             if not info.name.startswith("_") and info.name != "base"]
    names += [n.strip() for n in os.environ.get("CONNECTOR_DESK_CONNECTORS", "").split(",") if n.strip()]
    types: dict[str, ConnectorType] = {}
    for name in names:
        module = importlib.import_module(name)
        ctype = getattr(module, "CONNECTOR", None)
        if isinstance(ctype, ConnectorType):
            types[ctype.type_name] = ctype
    return types
