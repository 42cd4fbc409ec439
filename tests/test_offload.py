"""offload.run_waiting: the event loop waits for a quick compression (no other task runs meanwhile), and
serves its other tasks while a slow one finishes; results and exceptions come back either way.
offload.run_here_first: the loop compresses a request itself, or where the pipeline says NotHere, the pool."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from headroom_cli import here
from headroom_cli.here import NotHere
from headroom_cli.proxy import offload


def _run_beside_ticker(pool, func):
    """run_waiting(pool, func) beside a task that ticks whenever the loop runs it: (result or exception,
    ticks before, ticks while it ran, when the first tick during it came, when func's result came)."""

    async def main():
        ticks: list[float] = []

        async def ticker():
            while True:
                ticks.append(time.perf_counter())
                await asyncio.sleep(0)

        task = asyncio.create_task(ticker())
        await asyncio.sleep(0)
        before = len(ticks)
        try:
            outcome = await offload.run_waiting(pool, func)
        except Exception as exc:  # returned, to be compared
            outcome = exc
        came = time.perf_counter()
        during = ticks[before:]
        task.cancel()
        return outcome, before, during, came

    return asyncio.run(main())


@pytest.fixture
def pool():
    with ThreadPoolExecutor(2) as executor:
        yield executor


def test_a_quick_compression_is_waited_for(pool):
    outcome, before, during, _ = _run_beside_ticker(pool, lambda: 42)
    assert outcome == 42 and before >= 1
    assert during == []  # the loop ran nothing else meanwhile: it slept on the result


def test_a_slow_one_lets_the_loop_serve_others_after_the_wait(pool):
    began = time.perf_counter()
    outcome, _, during, came = _run_beside_ticker(pool, lambda: time.sleep(offload.WAIT_S + 0.4) or "done")
    assert outcome == "done"
    assert during, "the loop served nothing while the slow one ran"
    assert during[0] < came - 0.2  # it served others well before the result came
    assert during[0] - began >= offload.WAIT_S * 0.9  # after waiting that long first


@pytest.mark.parametrize("delay", [0.0, offload.WAIT_S + 0.2])
@pytest.mark.parametrize("error", [ValueError("bad body"), TimeoutError("the database did not answer")])
def test_exceptions_come_back_quick_or_slow(pool, delay, error):
    def fails():
        time.sleep(delay)
        raise error

    outcome, _, _, _ = _run_beside_ticker(pool, fails)
    # asyncio hands a TimeoutError over as a new one of the same type and words, as with to_thread
    assert type(outcome) is type(error) and outcome.args == error.args


def test_without_a_pool_it_is_asyncio_to_thread():
    outcome, _, during, _ = _run_beside_ticker(None, lambda: time.sleep(0.05) or 7)
    assert outcome == 7 and during  # awaited: the loop went on meanwhile


def _where(pool, quick, func):
    """run_here_first(pool, quick, func): (its result, the thread it ran on)."""

    def run():
        return func(), threading.get_ident()

    return asyncio.run(offload.run_here_first(pool, quick, run))


def test_run_here_first_runs_on_the_loop_inside_a_block(pool):
    assert _where(pool, True, lambda: (here.active(), 5)) == ((True, 5), threading.get_ident())
    assert not here.active()  # the block ended with it


def test_what_may_not_go_on_here_goes_to_the_pool(pool):
    attempts: list[int] = []

    def func():
        attempts.append(threading.get_ident())
        if len(attempts) == 1:
            raise NotHere
        return 6

    result, ran_on = _where(pool, True, func)
    assert result == 6 and ran_on != threading.get_ident()
    assert attempts == [threading.get_ident(), ran_on]
    assert _where(pool, False, lambda: 7)[1] != threading.get_ident()  # not quick: the pool, as run_waiting


def test_errors_here_come_back_as_they_are(pool):
    def fails():
        raise ValueError("bad body")

    with pytest.raises(ValueError, match="bad body"):
        _where(pool, True, fails)


def test_the_loop_compresses_itself_only_with_a_local_database_and_no_slow_engine(tmp_path, pg_url, monkeypatch):
    from headroom_cli import engines
    from headroom_cli.store import Store

    assert offload.may_compress_here(None)
    assert offload.may_compress_here(Store(tmp_path / "store.sqlite3"))
    assert not offload.may_compress_here(Store(pg_url))  # a round trip to another host, or an outage

    class Model:
        name, slow = "model", True

    monkeypatch.setattr(engines, "registered", lambda: [Model()])
    assert not offload.may_compress_here(None)
