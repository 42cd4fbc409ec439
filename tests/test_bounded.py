"""bounded.Bounded: at most ``kept`` entries, the oldest put dropped first, or (lru) the least recently read."""

from __future__ import annotations

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
