"""File logging for the CLI and the GUI. Nothing logged here carries a secret: secrets are
:class:`Secret` objects that print as ********, and protocol lines go only to transcripts.
The log files are the user's alone (0600, in a 0700 folder).

Set-up costs a command nothing it does not use. ``logging`` (~5 ms) is not imported here: when
nothing has imported it yet, a one-shot import hook hangs the log file's handler
(:mod:`desktop.core.logfile`) on the root logger as soon as something does — a module that logs,
ours or a library's — before that module runs on. So a command whose modules never log
(``validate --spec``) has no log file, no data folder (platformdirs) and no ``logging``. The
handler creates the file (0600) when it is hung, and makes the rotating handler
(``logging.handlers``: socket, pickle, queue… ~7 ms) on the first record."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from types import ModuleType

from desktop.core import paths

TYPE_CHECKING = False
if TYPE_CHECKING:
    import logging
    from typing import Any

INFO = 20  # logging.INFO


class _LazyLogger:
    """``logging.getLogger(name)`` once something is logged: ``logging`` is imported then."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        import logging
        return getattr(logging.getLogger(self._name), attr)


def lazy_logger(name: str) -> logging.Logger:
    """A module's logger for a module whose usual run logs nothing (the validation pipeline, the
    service layer): ``logging`` is not imported until a record is made."""
    return _LazyLogger(name)  # type: ignore[return-value]  # stands in for one


def _install(level: int) -> None:
    import logging

    from desktop.core.logfile import LOG_NAME, LogFile
    root = logging.getLogger()
    if any(getattr(h, "_connector_desk", False) for h in root.handlers):
        return
    try:
        handler = LogFile(paths.log_dir() / LOG_NAME)
    except OSError as exc:  # e.g. a data folder that cannot be written: the command goes on
        print(f"note: no log file: {exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else ""),
              file=sys.stderr)
        return
    root.addHandler(handler)
    root.setLevel(level)


class _ThenInstall:
    """The loader of ``logging`` with the handler installed once the module has run."""

    def __init__(self, loader: Any, then: Callable[[], None]) -> None:
        self._loader, self._then = loader, then

    def create_module(self, spec: Any) -> ModuleType | None:
        create: Callable[[Any], ModuleType | None] | None = getattr(self._loader, "create_module", None)
        return create(spec) if create is not None else None

    def exec_module(self, module: ModuleType) -> None:
        self._loader.exec_module(module)
        self._then()

    def __getattr__(self, name: str) -> Any:  # get_source, is_package… as the real loader answers
        return getattr(self._loader, name)


class _WhenImported:
    """Asked first for each import until ``logging``'s: finds it as the other finders would, with a
    loader that installs the log file's handler right after the module has run."""

    def __init__(self, level: int) -> None:
        self.level = level

    def find_spec(self, name: str, path: Sequence[str] | None = None, target: ModuleType | None = None) -> Any:
        if name != "logging" or "logging" in sys.modules:
            return None
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None) if finder is not self else None
            spec = find(name, path, target) if find is not None else None
            if spec is not None and spec.loader is not None:
                spec.loader = _ThenInstall(spec.loader, self._installed)
                return spec
        return None

    def _installed(self) -> None:
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        _install(self.level)


def setup_logging(level: int = INFO) -> None:
    """Log to the file from now on (once per process)."""
    if "logging" in sys.modules:
        _install(level)
    elif not any(isinstance(f, _WhenImported) for f in sys.meta_path):
        sys.meta_path.insert(0, _WhenImported(level))
