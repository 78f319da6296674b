"""Values worked out once per immutable object and key, then reused (bounded, oldest out first).

A loaded catalog and the cost terms built from it never change while the process runs, so what
depends only on them (and on a hashable key such as a pathway and a start date) is computed
once: sourcing a plan's values, cutting a pathway at its date events.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

Owner = TypeVar("Owner")
Value = TypeVar("Value")


class KeptFor(Generic[Owner, Value]):
    """A bounded map from (owner by identity, key) to a value. Each entry keeps its owner alive,
    so an id is never reused while its entry lives; the owner must not change."""

    __slots__ = ("_kept", "_most")

    def __init__(self, most: int) -> None:
        self._kept: dict[tuple[int, Hashable], tuple[Owner, Value]] = {}
        self._most = most

    def get(self, owner: Owner, key: Hashable, build: Callable[[], Value]) -> Value:
        full_key = (id(owner), key)
        found = self._kept.get(full_key)
        if found is not None and found[0] is owner:
            return found[1]
        if len(self._kept) >= self._most:
            self._kept.pop(next(iter(self._kept), None), None)  # type: ignore[arg-type]
        value = build()
        self._kept[full_key] = (owner, value)
        return value
