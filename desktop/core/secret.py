"""A secret value that does not print itself.

``repr()``, ``str()``, f-strings and tracebacks show ``********``; only :meth:`reveal` gives the
value, and only the code that sends it to a server calls it.
"""

from __future__ import annotations

MASK = "********"


class Secret:
    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if isinstance(value, Secret):
            value = value.reveal()
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __len__(self) -> int:
        return len(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __repr__(self) -> str:
        return f"Secret({MASK})"

    def __str__(self) -> str:
        return MASK

    def __format__(self, spec: str) -> str:
        return MASK

    def __reduce__(self) -> str | tuple[object, ...]:
        raise TypeError("a Secret cannot be pickled")


# Where a workspace keeps its secrets, as every page says it (Desk.secrets_place() picks one).
KEYCHAIN_PLACE = "your system keychain"
PASSPHRASE_PLACE = "the passphrase vault on this computer"
