"""KeptFor: values worked out once per owner (by identity) and key, bounded, oldest out first."""

from __future__ import annotations

from coverage.pricing.kept import KeptFor


class Owner:
    """Equal to every other Owner: the cache must still tell them apart by identity."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Owner)

    def __hash__(self) -> int:
        return 0


def test_a_value_is_built_once_per_owner_and_key() -> None:
    kept: KeptFor[Owner, list[int]] = KeptFor(most=8)
    builds: list[str] = []
    first, second = Owner(), Owner()

    def build(label: str) -> list[int]:
        builds.append(label)
        return [len(builds)]

    a = kept.get(first, "k", lambda: build("first k"))
    assert kept.get(first, "k", lambda: build("again")) is a  # reused: no second build
    b = kept.get(second, "k", lambda: build("second k"))  # an equal owner is another owner
    c = kept.get(first, "other", lambda: build("first other"))
    assert (a, b, c) == ([1], [2], [3])
    assert builds == ["first k", "second k", "first other"]


def test_the_oldest_entry_leaves_first_when_full() -> None:
    kept: KeptFor[Owner, int] = KeptFor(most=2)
    owner = Owner()
    builds: list[int] = []

    def build(value: int) -> int:
        builds.append(value)
        return value

    kept.get(owner, 1, lambda: build(1))
    kept.get(owner, 2, lambda: build(2))
    kept.get(owner, 3, lambda: build(3))  # full (2 entries): key 1, the oldest, leaves
    kept.get(owner, 2, lambda: build(-2))  # still kept: not rebuilt
    kept.get(owner, 1, lambda: build(10))  # left when key 3 came: built again
    assert builds == [1, 2, 3, 10]
