"""The proxy's event loop counts a request itself when the recorder is idle and the count needs no I/O
and little new text (Recorder.record(..., wait_s)): the same counts and rows as the worker's, the
listeners still on the worker, and everything else left to the worker as before."""

from __future__ import annotations

import threading
import time

from headroom_cli.cache_aligner import VolatileFinding
from headroom_cli.ledger import Ledger
from headroom_cli.proxy.recorder import HERE_MAX_NEW_CHARS, Exchange, Recorder
from headroom_cli.shaping import CacheNote

from samples import app_log_with_fatal

LOG = app_log_with_fatal(60)  # ≈ 5 KB: a turn's new tool output


def _exchange(i: int, session: str = "s1", log: str = LOG) -> Exchange:
    # A conversation: each turn re-sends the ones before and adds one output.
    turns = [f'{{"role": "user", "content": [{{"type": "tool_result", "tool_use_id": "t{n}", '
             f'"content": "run {n}\\n{log.replace(chr(10), " " + str(n) + chr(92) + "n")}"}}]}}' for n in range(i + 1)]
    body = '{"model": "claude-sonnet-4-5", "max_tokens": 16, "messages": [' + ", ".join(turns) + "]}"
    return Exchange(ts=1_000_000.0 + i, session=session, provider="anthropic", path="/v1/messages", body_text=body,
                    model="claude-sonnet-4-5", status=200)


def _counted_where(recorder: Recorder) -> list[str]:
    """The names of the threads that counted each request to the end (a wrapper around the recorder's own
    count: one given up on the caller's thread is not in it)."""
    where: list[str] = []
    real = recorder._record

    def record(ex):
        counted = real(ex)
        where.append(threading.current_thread().name)
        return counted

    recorder._record = record
    return where


def _rows(ledger: Ledger, session: str = "s1") -> list[tuple]:
    return [(r.ts, r.tokens_before, r.tokens_after, r.dollars_saved) for r in reversed(ledger.recent(100, session))]


def test_an_idle_recorder_is_counted_for_on_the_callers_thread_with_the_workers_counts(tmp_path):
    """A session's first request is the worker's (its earlier totals are read from the ledger first);
    the next ones are counted by the caller, with the rows and totals the worker alone gives, and the
    listeners are still called on the worker, in order."""
    here, there = Recorder(Ledger(tmp_path / "here.sqlite3")), Recorder(Ledger(tmp_path / "there.sqlite3"))
    where = _counted_where(here)
    heard: list[tuple[float, str]] = []
    here.listeners.append(lambda record: heard.append((record.ts, threading.current_thread().name)))
    for i in range(6):
        here.record(_exchange(i), wait_s=5.0)
        there.record(_exchange(i))
    assert here.flush(10) and there.flush(10)
    me = threading.current_thread().name
    assert where == ["headroom-recorder"] + [me] * 5
    assert _rows(here.ledger) == _rows(there.ledger) and len(_rows(here.ledger)) == 6
    assert here.totals.snapshot("s1")[:2] == there.totals.snapshot("s1")[:2]
    assert heard == [(1_000_000.0 + i, "headroom-recorder") for i in range(6)]
    here.close()
    there.close()


def test_much_new_text_a_volatile_prefix_or_a_busy_worker_leave_the_count_to_the_worker(tmp_path):
    recorder = Recorder(Ledger(tmp_path / "ledger.sqlite3"))
    there = Recorder(Ledger(tmp_path / "there.sqlite3"))
    where = _counted_where(recorder)
    me = threading.current_thread().name
    big = app_log_with_fatal(1200)  # ≈ 95 KB never counted before
    assert len(big) > HERE_MAX_NEW_CHARS
    for ex in (_exchange(0), _exchange(1, log=big)):  # the session's first; then too much new text
        recorder.record(ex, wait_s=5.0)
    for ex in (_exchange(0), _exchange(1, log=big)):
        there.record(ex)
    assert recorder.flush(10) and there.flush(10)
    assert where == ["headroom-recorder"] * 2
    assert _rows(recorder.ledger) == _rows(there.ledger)  # the count given up on was started again whole

    noted = _exchange(2)
    noted.cache = CacheNote(findings=[VolatileFinding("system[0]", 10, "timestamp", 1, 8, 8)])
    recorder.record(noted, wait_s=5.0)  # a finding is written to the ledger: I/O, so the worker's
    assert recorder.flush(10) and where[-1] == "headroom-recorder"
    assert [v["location"] for v in recorder.ledger.volatile("s1")] == ["system[0]"]

    recorder.listeners.append(lambda record: time.sleep(0.3))  # the worker is busy with the next one
    recorder.record(_exchange(3), wait_s=5.0)  # counted here; its line is the worker's
    recorder.record(_exchange(4))  # queued
    recorder.record(_exchange(5), wait_s=0.01)  # the worker is not idle: queued behind them
    assert recorder.flush(10)
    assert where[-3:] == [me, "headroom-recorder", "headroom-recorder"]
    assert [r[0] for r in _rows(recorder.ledger)] == [1_000_000.0 + i for i in range(6)]
    recorder.close()
    there.close()


def test_a_row_counted_on_the_callers_thread_reaches_the_ledger_unasked(tmp_path):
    """The worker sleeps until the oldest unwritten row is due, and a row counted elsewhere may be due
    sooner than it was when the worker began to sleep: it is written within LEDGER_WAIT_S, no flush."""
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    recorder = Recorder(ledger)
    recorder.record(_exchange(0), wait_s=5.0)
    deadline = time.monotonic() + 5
    while ledger.totals("s1").requests < 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    recorder.record(_exchange(1), wait_s=5.0)  # counted here, with nothing else waiting
    assert recorder.totals.snapshot("s1")[0].requests == 2 and ledger.totals("s1").requests == 1
    while ledger.totals("s1").requests < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert ledger.totals("s1").requests == 2
    recorder.close()
