"""here.block(): a request decided on the calling thread (the proxy's event loop) only while it is quick.
Parts already decided cost nothing there; new text past the block's limit, an image or a saved output
raise NotHere before any engine runs on them, and so do a database lock another thread holds and a
SQLite file another process is writing; what the attempt decided is neither kept in the memo nor written
to the store, so the request decided again elsewhere gives the same bytes."""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest

from headroom_cli.engines import Part
from headroom_cli import db, here
from headroom_cli.here import NotHere
from headroom_cli.pipeline import Pipeline
from headroom_cli.store import Store

from samples import app_log_with_fatal, pytest_verbose_log

SMALL = pytest_verbose_log(60)
BIG = app_log_with_fatal(1200)  # ≈ 95 KB


def _pipeline(tmp_path) -> tuple[Pipeline, Store]:
    store = Store(tmp_path / "store.sqlite3")
    return Pipeline(frozen=store), store


def _decisions(store: Store) -> int:
    return sqlite3.connect(store.path).execute("SELECT count(*) FROM decisions").fetchone()[0]


def test_new_text_within_the_limit_is_decided_here_as_anywhere(tmp_path):
    pipeline, _ = _pipeline(tmp_path)
    with here.block(len(SMALL)):
        decided = pipeline.run(Part(SMALL))
    assert decided.changed and decided == Pipeline().run(Part(SMALL))


def test_parts_decided_before_cost_nothing_here(tmp_path):
    pipeline, _ = _pipeline(tmp_path)
    first = pipeline.run(Part(BIG))
    with here.block(0):
        assert pipeline.run(Part(BIG)) == first  # the memo's outcome: no engine, no limit spent


def test_past_the_limit_what_was_decided_before_stands_and_is_replayed(tmp_path):
    pipeline, store = _pipeline(tmp_path)
    with pytest.raises(NotHere):
        with here.block(len(SMALL) + 100), pipeline.batch():
            small = pipeline.run(Part(SMALL))  # decided here, in the request's batch
            assert small.changed
            pipeline.run(Part(BIG))  # too much new text for the block: before any engine reads it
    assert _decisions(store) == 1  # the small part's decision committed, with its original
    assert store.get(small.part_id) == SMALL
    assert pipeline._memo.lookup(_key(small.original), small.original) == (small, True)  # known durable
    with pipeline.batch():  # the request taken over (on the pool): the same outcomes, the small one replayed
        again = [pipeline.run(Part(SMALL)), pipeline.run(Part(BIG))]
    assert again[0] == small
    assert again == [Pipeline().run(Part(SMALL)), Pipeline().run(Part(BIG))]
    assert _decisions(store) == 2


def test_at_a_lock_nothing_of_the_attempt_is_kept(tmp_path):
    pipeline, store = _pipeline(tmp_path)
    with pytest.raises(NotHere):
        with here.block(10**6), pipeline.batch():
            small = pipeline.run(Part(SMALL))
            with store._db.use():  # as a read that finds the connection taken
                raise NotHere
    assert _decisions(store) == 0  # the batch wrote nothing
    assert pipeline._memo.lookup(_key(small.original), small.original)[0] is None  # and the memo forgot it


def test_an_image_or_a_saved_output_is_never_decided_here(tmp_path):
    pipeline, _ = _pipeline(tmp_path)
    with here.block(10**9):
        with pytest.raises(NotHere):
            pipeline.run_keyed("image anthropic - AAAA", lambda: pytest.fail("decided here"))
        with pytest.raises(NotHere):
            pipeline.run_whole(Part(SMALL), BIG, lambda body: body, 10**9)


def test_not_here_is_no_exception_a_caller_could_take_for_a_failed_part():
    assert not issubclass(NotHere, Exception)  # `except Exception` around a part lets it through
    try:
        raise NotHere
    except Exception:  # noqa: BLE001 - what the engines and the shaper catch
        pytest.fail("caught as an Exception")
    except NotHere:
        pass


def test_a_database_lock_held_elsewhere_is_not_waited_for_in_a_block(tmp_path):
    pipeline, store = _pipeline(tmp_path)
    database = store._db
    held, release = threading.Event(), threading.Event()

    def hold():
        with database.use():
            held.set()
            release.wait(5)

    other = threading.Thread(target=hold)
    other.start()
    held.wait(5)
    try:
        began = time.perf_counter()
        with pytest.raises(NotHere), here.block(10**6):
            store.missing(["hr_0000000000000000"])  # another thread of this process holds the connection
        assert time.perf_counter() - began < 0.5
    finally:
        release.set()
        other.join()
    with here.block(10**6):
        assert store.missing(["hr_0000000000000000"]) == {"hr_0000000000000000"}  # free: used at once


def test_a_sqlite_file_another_process_writes_is_waited_for_briefly_in_a_block(tmp_path):
    pipeline, store = _pipeline(tmp_path)
    writer = sqlite3.connect(store.path, isolation_level=None)  # as another process: its own connection
    writer.execute("BEGIN IMMEDIATE")  # holds the file's write lock
    try:
        began = time.perf_counter()
        with pytest.raises(NotHere), here.block(10**6), pipeline.batch():
            pipeline.run(Part(SMALL))  # decided, then its commit cannot take the lock
        assert time.perf_counter() - began < 1.0  # BUSY_MS, not BUSY_TIMEOUT_MS (10 s)
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert _decisions(store) == 0
    with store._db.use() as conn:  # no transaction left open, and the usual patience back
        assert not conn.in_transaction
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == db.BUSY_TIMEOUT_MS
    with pipeline.batch():
        assert pipeline.run(Part(SMALL)).changed
    assert _decisions(store) == 1


def _key(text: str):
    from headroom_cli.pipeline import part_hash

    return (part_hash(text), None)
