"""bounded.Bounded: at most ``kept`` entries, the oldest put dropped first, or (lru) the least recently read."""

from __future__ import annotations

import pytest

from headroom_cli.bounded import Bounded


def test_the_oldest_put_goes_first_and_reading_does_not_keep_it():
    memo: Bounded[str, int] = Bounded(2)
    memo.put("a", 1)
    memo.put("b", 2)
    assert memo.get("a") == 1
    memo.put("c", 3)
    assert (memo.get("a"), memo.get("b"), memo.get("c"), len(memo)) == (None, 2, 3, 2)


def test_with_lru_a_read_entry_stays():
    memo: Bounded[str, int] = Bounded(2, lru=True)
    memo.put("a", 1)
    memo.put("b", 2)
    assert memo.get("a") == 1
    memo.put("c", 3)
    assert (memo.get("a"), memo.get("b"), memo.get("c"), len(memo)) == (1, None, 3, 2)


def test_remembered_makes_a_value_once_and_keeps_nothing_when_making_fails():
    memo: Bounded[str, int] = Bounded(2)
    made: list[str] = []

    def make(key: str, value: int):
        def run() -> int:
            made.append(key)
            return value
        return run

    assert memo.remembered("a", make("a", 1)) == 1
    assert memo.remembered("a", make("a", 2)) == 1  # kept: not made again
    assert made == ["a"]

    def fail() -> int:
        raise ValueError("bad")

    with pytest.raises(ValueError):
        memo.remembered("b", fail)
    assert memo.get("b") is None and len(memo) == 1
    assert memo.remembered("b", make("b", 3)) == 3 and made == ["a", "b"]
