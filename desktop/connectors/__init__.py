"""Connector types. Each module in this package that defines ``CONNECTOR`` is one type; so is
each module named in ``CONNECTOR_DESK_CONNECTORS`` (comma-separated module paths: a type shipped
outside this package, e.g. the test-only one in tests/plugins)."""

from __future__ import annotations

import os
from functools import cache

TYPE_CHECKING = False
if TYPE_CHECKING:
    from desktop.core.contract import ConnectorType


def _module_names(folders: list[str]) -> list[str]:
    """The modules and packages in ``folders``, sorted, as ``pkgutil.iter_modules`` names them
    (a file with an import suffix, a folder without "." holding an ``__init__`` file) without its
    import of ``inspect`` (~6 ms of a command)."""
    from importlib.machinery import all_suffixes

    suffixes = sorted(all_suffixes(), key=len, reverse=True)

    def module_name(file: str) -> str | None:
        return next((file[:-len(s)] for s in suffixes if file.endswith(s)), None)

    found: set[str] = set()
    for folder in folders:
        try:
            files = os.listdir(folder)
        except OSError:
            continue
        for file in files:
            name = module_name(file)
            if name is None and "." not in file:
                try:
                    inside = os.listdir(os.path.join(folder, file))
                except OSError:  # not a folder, or one that cannot be read
                    continue
                name = file if any(module_name(f) == "__init__" for f in inside) else None
            if name is not None and name != "__init__":
                found.add(name)
    return sorted(found)


@cache
def registry() -> dict[str, ConnectorType]:
    import importlib
    import sys

    from desktop.core.contract import ConnectorType  # the window shows before any connector loads

    if getattr(sys, "frozen", False):  # the frozen build: its modules are in an archive, not files;
        import pkgutil  # its importer lists them for pkgutil
        found = sorted(m.name for m in pkgutil.iter_modules(__path__))
    else:
        found = _module_names(list(__path__))
    names = [f"{__name__}.{name}" for name in found if not name.startswith("_") and name != "base"]
    names += [n.strip() for n in os.environ.get("CONNECTOR_DESK_CONNECTORS", "").split(",") if n.strip()]
    types: dict[str, ConnectorType] = {}
    for name in names:
        module = importlib.import_module(name)
        ctype = getattr(module, "CONNECTOR", None)
        if isinstance(ctype, ConnectorType):
            types[ctype.type_name] = ctype
    return types
