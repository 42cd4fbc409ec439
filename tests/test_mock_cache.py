"""The simulated prompt caches the session benchmark bills by: Anthropic's rules, and OpenAI's."""

from __future__ import annotations

import http.client
import json

from headroom_cli.mock_cache import LOOKBACK_BLOCKS, PromptCache
from headroom_cli.mock_upstream import MockUpstream

WORDS = "alpha beta gamma delta " * 300  # 1,200 words: over the 1,024-token minimum on its own



def cache(**kw) -> PromptCache:
    return PromptCache(count=lambda text: len(text.split()), **kw)


def body(turns: int, mark: str = "last", system: str = WORDS, **extra) -> dict:
    messages = [{"role": "user", "content": "start here"}]
    for i in range(turns):
        messages.append({"role": "assistant", "content": [{"type": "tool_use", "id": f"t{i}", "name": "Bash", "input": {}}]})
        messages.append({"role": "user", "content": [{"type": "tool_result", "tool_use_id": f"t{i}", "content": f"out {i} " * 50}]})
    if mark == "last":
        messages[-1]["content"][-1]["cache_control"] = {"type": "ephemeral"}
    return {"model": "claude-sonnet-4-5", "system": [{"type": "text", "text": system, "cache_control": {"type": "ephemeral"}}],
            "messages": messages, **extra}


def test_a_request_writes_its_prefix_and_the_next_reads_it_although_the_marker_moved():
    sim = cache()
    one = sim.anthropic(body(1))
    assert (one.cache_read, one.input) == (0, 0) and one.cache_write == one.total
    two = sim.anthropic(body(2))
    assert two.cache_read == one.total and two.cache_write == two.total - one.total and two.input == 0


def test_a_changed_block_in_the_middle_is_read_only_up_to_the_last_entry_before_it():
    sim = cache()
    first = sim.anthropic(body(3))
    changed = body(4)
    changed["messages"][2]["content"][0]["content"] = "different now"  # the first tool result
    again = sim.anthropic(changed)
    system_only = len(WORDS.split())
    assert again.cache_read == system_only  # the system breakpoint's entry; the rest is written again
    assert again.cache_write == again.total - system_only and first.total > system_only


def test_entries_further_back_than_the_lookback_are_missed():
    sim = cache()
    sim.anthropic(body(1))
    far = body(LOOKBACK_BLOCKS)  # the previous breakpoint is now more than 20 blocks before this one
    far["system"][0].pop("cache_control")
    missed = sim.anthropic(far)
    assert missed.cache_read == 0
    near = body(2)
    near["system"][0].pop("cache_control")
    assert cache().anthropic(near).cache_read == 0 and sim.anthropic(near).cache_read > 0


def test_short_prefixes_and_unmarked_requests_are_not_cached_and_entries_expire():
    sim = cache()
    short = body(1, system="tiny")
    short["messages"][-1]["content"][-1].pop("cache_control")
    assert sim.anthropic(short).cache_write == 0
    unmarked = body(1, mark=None)
    unmarked["system"][0].pop("cache_control")
    assert sim.anthropic(unmarked).cache_write == 0 and sim.anthropic(unmarked).cache_read == 0
    now = [0.0]
    timed = cache(clock=lambda: now[0])
    timed.anthropic(body(1))
    now[0] = 299.0
    assert timed.anthropic(body(1)).cache_read > 0  # and the read refreshes the entry
    now[0] = 299.0 + 301.0
    assert timed.anthropic(body(1)).cache_read == 0


def test_top_level_cache_control_marks_the_last_block():
    sim = cache()
    auto = body(2, mark=None, cache_control={"type": "ephemeral"})
    assert sim.anthropic(auto).cache_write == sim.charges[-1].total
    assert sim.anthropic(auto).cache_read == sim.charges[-1].total


def test_the_mock_refuses_a_prompt_over_the_window_and_bills_by_the_simulation():
    with MockUpstream() as mock:
        mock.prompt_cache = cache(windows=lambda model: 2000)
        for request, status in ((body(1), 200), (body(30), 400)):
            conn = http.client.HTTPConnection("127.0.0.1", mock.port, timeout=30)
            conn.request("POST", "/v1/messages", json.dumps(request), {"content-type": "application/json"})
            response = conn.getresponse()
            reply = json.loads(response.read())
            assert response.status == status
        assert reply["error"]["type"] == "invalid_request_error" and "prompt is too long" in reply["error"]["message"]
        assert mock.prompt_cache.charges[0].cache_write > 0


def test_openai_caches_the_longest_seen_prefix_in_steps_of_128():
    sim = cache()
    chat = {"model": "gpt-4o", "messages": [{"role": "system", "content": WORDS},
                                            {"role": "user", "content": "x " * 300}]}
    assert sim.openai(chat).cache_read == 0
    longer = {**chat, "messages": chat["messages"] + [{"role": "user", "content": "y " * 10}]}
    seen = len(WORDS.split()) + 300
    assert sim.openai(longer).cache_read == 1024 + (seen - 1024) // 128 * 128
