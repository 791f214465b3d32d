"""Small value classes without the ``dataclasses`` module (issue #18).

``dataclasses`` imports ``inspect`` (with ast, dis, tokenize…: ~6 ms) and every ``@dataclass``
generates and compiles its methods when its module is imported (~0.4 ms each): ~14 ms of a
~70 ms ``validate --spec`` for the eighteen classes a check uses. The classes a check imports
derive from :class:`Record` or :class:`FrozenRecord` instead and write their ``__init__``;
these give them what ``@dataclass`` / ``@dataclass(frozen=True)`` gave: equality by fields
(same class only), ``repr`` naming the fields (minus ``_hidden``: never a secret), hashing and
no assignment when frozen, and :func:`replace`.

``_fields`` lists the ``__init__`` parameters in order (a unit test holds them equal).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, ClassVar, TypeVar

    R = TypeVar("R", bound="Record")


class Record:
    """A mutable value class: equal when of the same class with equal fields; not hashable (a class
    that defines ``__eq__`` and no ``__hash__`` gets ``__hash__ = None``, as a dataclass with eq)."""

    __slots__ = ()
    _fields: ClassVar[tuple[str, ...]] = ()
    _hidden: ClassVar[tuple[str, ...]] = ()  # left out of repr

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, f) for f in self._fields)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is self.__class__:
            assert isinstance(other, Record)
            return self._values() == other._values()
        return NotImplemented

    def __repr__(self) -> str:
        shown = ", ".join(f"{f}={getattr(self, f)!r}" for f in self._fields if f not in self._hidden)
        return f"{self.__class__.__qualname__}({shown})"


class FrozenRecord(Record):
    """An immutable value class: attributes are set once, by ``__init__`` (through ``__dict__``);
    hashable by its fields (when they are)."""

    __slots__ = ()

    def __hash__(self) -> int:
        return hash(self._values())

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r}")


def replace(record: R, **changes: Any) -> R:
    """A new record of the same class with ``changes`` (as ``dataclasses.replace``)."""
    unknown = set(changes) - set(record._fields)
    if unknown:
        raise TypeError(f"{record.__class__.__qualname__} has no field {', '.join(sorted(unknown))}")
    return record.__class__(**{f: getattr(record, f) for f in record._fields} | changes)
