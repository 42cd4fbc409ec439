"""The recorder remembers a whole message's tokens by the bytes it was read from: a history re-sent in
the next turn is looked up, not walked block by block again; a message whose bytes changed is walked
again; and every count is the one walking the whole body gives."""

from __future__ import annotations

import json
import time

from headroom_cli import prompt
from headroom_cli.config import Settings
from headroom_cli.ledger import Ledger
from headroom_cli.pipeline import Pipeline
from headroom_cli.prompt import prompt_tokens
from headroom_cli.providers import adapter_for
from headroom_cli.proxy.addon import HeadroomAddon
from headroom_cli.proxy.recorder import Exchange, Recorder
from headroom_cli.tokens import count_tokens

from samples import pytest_verbose_log

ANTHROPIC = adapter_for("/v1/messages")


def _conversation(turns: int, first: str = "fix the failing test") -> dict:
    messages = [{"role": "user", "content": first}]
    for n in range(turns):
        messages.append({"role": "assistant", "content": [
            {"type": "text", "text": f"run {n}"},
            {"type": "tool_use", "id": f"t{n}", "name": "Bash", "input": {"command": f"pytest -k case{n}"}}]})
        messages.append({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": f"t{n}", "content": pytest_verbose_log(600 + n) if n % 2 else "ok"},
            {"type": "text", "text": "go on", "cache_control": {"type": "ephemeral"}}]})
    return {"model": "claude-opus-4-8", "system": "be brief", "messages": messages, "max_tokens": 10}


def _turn(addon: HeadroomAddon, recorder: Recorder, body: dict) -> tuple:
    """One request through the proxy's preparation and the recorder: (the row, the messages walked)."""
    raw = json.dumps(body).encode()
    rewrite, _ = addon._prepare(raw, ANTHROPIC)
    ex = Exchange(ts=time.time(), session="s", provider="anthropic", path="/v1/messages", body_text=raw.decode(),
                  model=rewrite.model, outcomes=rewrite.outcomes, cache=rewrite.note, status=200)
    sent = rewrite.body.decode()
    ex.sent_text = sent if sent != ex.body_text else None
    rows: list = []
    recorder.listeners[:] = [rows.append]
    recorder._write([ex])
    assert rewrite.note.message_keys == {}  # taken: a finished flow's note does not hold the messages
    walked = len(_WALKED)
    _WALKED.clear()
    return rows[0], walked, raw.decode(), sent


_WALKED: list = []


def _walks(monkeypatch) -> None:
    real = prompt._message_blocks
    monkeypatch.setattr(prompt, "_message_blocks", lambda message: _WALKED.append(message) or real(message))


def test_a_resent_message_is_looked_up_and_a_changed_one_walked_again_with_the_same_counts(tmp_path, monkeypatch):
    monkeypatch.setenv("HEADROOM_HOME", str(tmp_path))
    addon = HeadroomAddon(Settings.resolve(), Pipeline(), None, None, None, "test")
    recorder = Recorder(Ledger(tmp_path / "ledger.sqlite3"))
    _walks(monkeypatch)
    try:
        turns = [_conversation(5), _conversation(6), _conversation(6, first="fix the flaky test")]
        walked = []
        for body in turns:
            row, n, raw, sent = _turn(addon, recorder, body)
            walked.append(n)
            _WALKED.clear()
            assert row.tokens_before == prompt_tokens(raw, count_tokens, "anthropic")  # as walking it all gives
            assert row.tokens_after == prompt_tokens(sent, count_tokens, "anthropic")
            _WALKED.clear()
    finally:
        recorder.close()
    assert walked[0] >= len(turns[0]["messages"])  # all new: every message walked (some in both bodies)
    # The next turn: only its two new messages; the one with a log is compressed, so walked in each body
    # (the earlier compressed ones are looked up by the bytes sent for them).
    assert walked[1] == 3
    assert walked[2] == 1  # the first message edited: walked again, the rest looked up


def test_estimated_counts_neither_use_nor_fill_the_memo(tmp_path, monkeypatch):
    monkeypatch.setenv("HEADROOM_HOME", str(tmp_path))
    addon = HeadroomAddon(Settings.resolve(), Pipeline(), None, None, None, "test")
    recorder = Recorder(Ledger(tmp_path / "ledger.sqlite3"), estimate_beyond=0)  # every request estimated
    try:
        row, _, raw, _ = _turn(addon, recorder, _conversation(3))
    finally:
        recorder.close()
    assert len(recorder._messages) == 0
    assert row.tokens_before == prompt_tokens(raw, lambda t: (len(t) + 3) // 4, "anthropic")



def test_a_replayed_parts_counts_are_found_by_its_decision_without_hashing_its_texts_again(tmp_path, monkeypatch):
    """Each compressed part's tokens before and after (the engines' figures) are those of its texts;
    a decision replayed in the next turn is found by the compressed text the pipeline's memo hands
    over again, not by hashing the original and the output once more."""
    from headroom_cli.engines import Part
    from headroom_cli.proxy import recorder as recorder_module

    monkeypatch.setenv("HEADROOM_HOME", str(tmp_path))
    addon = HeadroomAddon(Settings.resolve(), Pipeline(), None, None, None, "test")
    recorder = Recorder(Ledger(tmp_path / "ledger.sqlite3"))
    hashed: list[int] = []
    real = recorder_module._digest
    monkeypatch.setattr(recorder_module, "_digest", lambda text: hashed.append(len(text)) or real(text))
    try:
        first, _, _, _ = _turn(addon, recorder, _conversation(5))
        hashed_first, hashed[:] = sum(hashed), []
        again, _, _, _ = _turn(addon, recorder, _conversation(5))
    finally:
        recorder.close()
    expected: dict[str, list[int]] = {}
    for log in (pytest_verbose_log(601), pytest_verbose_log(603)):  # the conversation's two long outputs
        outcome = addon.pipeline.run(Part(text=log))  # the decision the turns used (memoised)
        entry = expected.setdefault(outcome.engine, [0, 0, 0])
        entry[0] += 1
        entry[1] += count_tokens(log)
        entry[2] += count_tokens(outcome.text)
    assert first.engines == expected and again.engines == expected
    # The same body again: no part's text hashed (only the few words of the system prompt, outside the
    # messages, are looked up anew).
    assert hashed_first > 10_000 and sum(hashed) < 100
