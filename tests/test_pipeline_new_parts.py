"""New parts: the focus read only for an engine that uses it (as an eager read gives); remembered parts lock-free."""

from __future__ import annotations

from pathlib import Path

import pytest

from headroom_cli import engines
from headroom_cli.engines import Context, Part
from headroom_cli.engines.base import deadline_after
from headroom_cli.focus import Focus
from headroom_cli.pipeline import Pipeline

from samples import app_log_with_fatal, pytest_verbose_log

CORPUS = Path(__file__).resolve().parents[2] / "shared"
# A focus naming words the samples hold, so that an engine that reads it would keep other lines.
FOCUS = Focus(symbols=("test_orders_case_000007", "handle_request"),
              terms=("orders", "payment", "warn", "test_orders", "cache", "error", "timeout"),
              lines=("assert response.status == 200",), locations=(("tests/test_orders.py", 12),))


class _Counted:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> Focus:
        self.calls += 1
        return FOCUS


def _samples() -> list[str]:
    texts = [pytest_verbose_log(300), app_log_with_fatal(400)]
    for folder in ("corpus/logs", "corpus-rtk/tests", "corpus-rtk/logs"):
        texts += [p.read_text(encoding="utf-8") for p in sorted((CORPUS / folder).glob("*.txt"))]
    return texts


def test_a_test_log_is_decided_without_reading_the_focus():
    focus = _Counted()
    outcome = Pipeline().run(Part(pytest_verbose_log(300)), focus=focus)
    assert outcome.engine == "testlog" and outcome.changed
    assert focus.calls == 0


def test_the_focus_is_read_once_for_an_engine_that_uses_it_and_gives_the_eager_outcome():
    text = (CORPUS / "corpus/logs/app_orderservice.txt").read_text(encoding="utf-8")
    focus = _Counted()
    lazy = Pipeline().run(Part(text), focus=focus)
    eager = Pipeline().run(Part(text, focus=FOCUS))
    assert lazy.engine == "logs" and lazy.changed
    assert focus.calls == 1
    assert lazy == eager
    assert eager != Pipeline().run(Part(text))  # the focus was used: it kept lines


@pytest.mark.parametrize("index", range(len(_samples())))
def test_lazy_and_eager_focus_give_the_same_bytes(index):
    text = _samples()[index]
    lazy = Pipeline().run(Part(text, tool_name="Bash"), focus=_Counted())
    eager = Pipeline().run(Part(text, tool_name="Bash", focus=FOCUS))
    assert lazy == eager


def test_an_engine_that_says_it_does_not_read_the_focus_gives_the_same_output_with_one():
    quiet = [e for e in engines.registered() if getattr(e, "reads_focus", True) is False]
    assert [e.name for e in quiet] == ["testlog"]
    for text in _samples():
        for engine in quiet:
            bare = engine.compress(Part(text), Context("hr_0123456789abcdef", deadline_after(60.0)))
            focused = engine.compress(Part(text, focus=FOCUS), Context("hr_0123456789abcdef", deadline_after(60.0)))
            assert bare == focused


def test_a_remembered_part_is_answered_without_waiting_for_its_flight():
    """Re-sent history is answered from the memo: no lock per part, even while a thread holds the part's flight."""
    import threading

    from headroom_cli.pipeline import part_hash

    pipeline = Pipeline()
    part = Part(pytest_verbose_log(300))
    first = pipeline.run(part)
    answers = []
    with pipeline._single_flight(part_hash(part.text)):  # as a thread deciding it would hold it
        thread = threading.Thread(target=lambda: answers.append(pipeline.run(part)))
        thread.start()
        thread.join(timeout=30)
        assert not thread.is_alive()
    assert answers == [first]
