"""past(): the CPU clock's answer, without reading that clock while the deadline is plainly far."""

from __future__ import annotations

import threading

from headroom_cli.engines import base
from headroom_cli.engines.base import deadline_after, past


def _burn_until_past(deadline: float) -> int:
    checks = 0
    while not past(deadline):
        checks += 1
        sum(range(2000))
    return checks


def test_a_far_deadline_is_not_past_and_the_thread_clock_is_not_read(monkeypatch):
    deadline = deadline_after(5.0)
    reads = []
    real = base.cpu_clock
    monkeypatch.setattr(base, "cpu_clock", lambda: reads.append(1) or real())
    assert not any(past(deadline) for _ in range(1000))
    assert not reads


def test_a_spent_budget_is_past_by_the_thread_clock():
    deadline = deadline_after(0.08)  # under the margin: every check reads the clock
    _burn_until_past(deadline)
    assert base.cpu_clock() > deadline
    assert past(deadline) and past(deadline_after(-1.0))


def test_a_budget_over_the_margin_is_past_once_the_cpu_time_is_used_not_later():
    deadline = deadline_after(0.2)
    _burn_until_past(deadline)
    used = base.cpu_clock() - deadline
    assert 0 <= used < 0.2  # noticed when spent: not held back by the wall-clock shortcut


def test_each_thread_is_judged_by_its_own_clock():
    answers = []
    deadline = deadline_after(0.15)

    def other() -> None:  # a fresh thread has used almost no CPU time: by its own clock it is far from the deadline
        mine = deadline_after(0.15)
        _burn_until_past(mine)
        answers.append(base.cpu_clock() > mine)

    thread = threading.Thread(target=other)
    thread.start()
    thread.join()
    assert answers == [True]
    _burn_until_past(deadline)
    assert base.cpu_clock() > deadline
