"""The request path's memos (a team gateway's re-sent histories): same bytes as without them, bounded,
and the database and the focus patterns spared on a re-sent part."""

from __future__ import annotations

from headroom_cli import focus as focus_module
from headroom_cli.decision_memo import Memo
from headroom_cli.engines import Part
from headroom_cli.focus import Event, focus_of
from headroom_cli.focus_memo import ReadMemo
from headroom_cli.pipeline import Outcome, Pipeline, part_hash
from headroom_cli.store import Store

from samples import pytest_verbose_log


class CountingStore:
    """The real store, counting the frozen-decision lookups that reach it."""

    def __init__(self, store: Store):
        self.store, self.recalls = store, 0

    def recall(self, digest, original):
        self.recalls += 1
        return self.store.recall(digest, original)

    def freeze(self, digest, outcome):
        self.store.freeze(digest, outcome)


def test_a_resent_part_is_answered_by_the_memo_with_the_same_outcome(tmp_path):
    frozen = CountingStore(Store(tmp_path / "s.sqlite3"))
    pipeline = Pipeline(frozen=frozen)
    log, short = pytest_verbose_log(600), pytest_verbose_log(3)  # one compressed, one kept as it was
    first = [pipeline.run(Part(log)), pipeline.run(Part(short * 4))]
    assert first[0].changed and first[0].part_id and not first[1].changed
    lookups = frozen.recalls
    again = [pipeline.run(Part(log)), pipeline.run(Part(short * 4))]
    assert frozen.recalls == lookups  # no database round trip for a part decided in this process
    assert again == first  # every field: original, text, engine, kind, part id
    # a fresh process (empty memo) replays the same decision from the store
    assert Pipeline(frozen=frozen).run(Part(log)) == first[0] and frozen.recalls == lookups + 1


def test_the_memo_keeps_no_originals_and_stays_within_its_bounds():
    memo = Memo(size=3, chars=10_000)
    originals = [f"line {i}\n" * 400 for i in range(5)]
    for i, original in enumerate(originals):
        memo.put((part_hash(original), None), Outcome(original, f"short {i}", "logs", "logs", f"hr_{i:016x}"))
    assert len(memo) == 3  # the oldest two went
    assert memo.get((part_hash(originals[0]), None), originals[0]) is None
    back = memo.get((part_hash(originals[4]), None), originals[4])
    assert back == Outcome(originals[4], "short 4", "logs", "logs", f"hr_{4:016x}")
    assert all(kept.original is None for kept, *_ in memo._entries.values())
    unchanged = Outcome(originals[1], originals[1])
    memo.put(("u", None), unchanged)
    assert all(kept.text is None for key, (kept, *_) in memo._entries.items() if key == ("u", None))
    assert memo.get(("u", None), originals[1]) == unchanged
    small = Memo(size=100, chars=300)  # bounded by the characters it holds, whatever the entries
    for i in range(20):
        small.put((str(i), None), Outcome("x" * 1000, "y" * 100))
    assert 1 <= len(small) <= 2 and small._held <= 300


def test_focus_read_from_memory_is_the_same_focus(monkeypatch):
    events = [Event("user", "Why does test_refund_restores_stock fail in `shop/orders.py`?"),
              Event("call", tool="Bash", arguments={"command": "pytest -v"}),
              Event("output", pytest_verbose_log(40) + 'File "shop/orders.py", line 12, in refund\n    x = 1\n'),
              Event("assistant", "Looking at `restore_stock` next.")]
    monkeypatch.setattr(focus_module, "_READ", ReadMemo())
    fresh = focus_of(events)
    reads = []
    real = focus_module._from_output

    def _from_output(text, found):  # the same name: the memo knows a reading by its function's name
        reads.append(text)
        real(text, found)

    monkeypatch.setattr(focus_module, "_from_output", _from_output)
    again = focus_of(events)
    assert again == fresh and fresh.symbols and fresh.locations
    assert reads == []  # read once, replayed since
    monkeypatch.setattr(focus_module, "_READ", ReadMemo(kept=0))  # nothing kept: read every time, same focus
    assert focus_of(events) == fresh and reads


def test_store_missing_names_what_is_not_stored(tmp_path):
    store = Store(tmp_path / "s.sqlite3")
    store.put("hr_0000000000000001", "text", "kept")
    assert store.missing(["hr_0000000000000001", "hr_0000000000000002", "hr_0000000000000002"]) == \
        {"hr_0000000000000002"}
    assert store.missing([]) == set()
