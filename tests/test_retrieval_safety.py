"""Retrieval that cannot hurt the proxy: a catastrophic pattern from the model is bounded and runs
off the proxy's threads (issue 13, finding 3); answers are size-capped with a paging note; the tool
is offered only where the proxy answers it (finding 7). Through the proxy, the MCP tool and the CLI."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import threading
import time

import anthropic
import pytest

from headroom_cli import grep
from headroom_cli.config import Settings
from headroom_cli.markers import ccr_id
from headroom_cli.mcp.server import headroom_retrieve
from headroom_cli.mock_upstream import FINAL_PREFIX, MockUpstream, ToolStep
from headroom_cli.proxy.retrieval import TOOL_NAME
from headroom_cli.proxy.server import ProxyServer
from headroom_cli.retrieve import MAX_ANSWER_CHARS, ToolFailure
from headroom_cli.store import Store

from proxy_process import proxy_process

# Python's re needs about 2**30 steps for this on a line of 30 a's and a "!": minutes, holding the GIL.
CATASTROPHIC = "(a+)+$"
EVIL_LINE = "a" * 30 + "!\n"
BASH = [{"name": "Bash", "description": "Run a shell command.",
         "input_schema": {"type": "object", "properties": {"command": {"type": "string"}}}}]


def _stored(home, text: str) -> str:
    """Keep an original in the store under HEADROOM_HOME, as a compression would; its ID."""
    home.mkdir(parents=True, exist_ok=True)
    store = Store(home / "store.sqlite3")
    try:
        part_id = ccr_id(text)
        store.put(part_id, "text", text)
    finally:
        store.close()
    return part_id


def _proxy(upstream: MockUpstream, home) -> ProxyServer:
    return ProxyServer(Settings(host="127.0.0.1", port=0, anthropic_upstream=upstream.url,
                                openai_upstream=upstream.url, compress=True, home=home)).start()


def _plain_request(port: int) -> float:
    """Seconds for a request with no tools (nothing of ours in it) to come back through the proxy."""
    body = json.dumps({"model": "claude-sonnet-4-5", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]})
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("POST", "/v1/messages", body=body, headers={"content-type": "application/json", "x-api-key": "k",
                                                             "anthropic-version": "2023-06-01"})
    response = conn.getresponse()
    response.read()
    conn.close()
    assert response.status == 200
    return time.monotonic() - started


def _last_tool_result(upstream: MockUpstream) -> dict:
    return upstream.requests[-1].json()["messages"][-1]["content"][0]


# -- finding 3: a catastrophic pattern ---------------------------------------------------------------

def test_a_catastrophic_pattern_through_the_proxy_does_not_stall_another_client(headroom_home):
    """The proxy runs as its own process, so a GIL it holds cannot stop the clients timing it here."""
    part_id = _stored(headroom_home, "header\n" + EVIL_LINE * 3 + "footer\n")
    with MockUpstream([ToolStep(TOOL_NAME, {"id": part_id, "pattern": CATASTROPHIC})]) as upstream, \
            proxy_process(upstream.url, headroom_home) as proxy:
        client = anthropic.Anthropic(base_url=proxy.url, api_key="sk-ant-test", max_retries=0, timeout=120)
        marked = f"look at it: [headroom: 3 lines omitted · retrieve {part_id} --lines 2-4]"
        outcome: dict = {}

        def retrieving_client() -> None:
            started = time.monotonic()
            outcome["message"] = client.messages.create(model="claude-sonnet-4-5", max_tokens=100, tools=BASH,
                                                        messages=[{"role": "user", "content": marked}])
            outcome["seconds"] = time.monotonic() - started

        worker = threading.Thread(target=retrieving_client, daemon=True)
        worker.start()
        deadline = time.monotonic() + 30
        while not upstream.requests and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.3)  # the proxy is now running the pattern
        plain = _plain_request(proxy.port)
        worker.join(60)
    assert plain < 3.0, f"a plain request took {plain:.1f} s while a pattern ran"
    assert not worker.is_alive() and outcome["seconds"] < 30
    assert outcome["message"].content[-1].text.startswith(FINAL_PREFIX)
    result = _last_tool_result(upstream)
    assert result["is_error"] is True and "took over" in result["content"] and "simpler pattern" in result["content"]


def test_the_pattern_search_leaves_the_callers_other_threads_running():
    lines = [EVIL_LINE] * 5
    gaps: list[float] = []
    done = threading.Event()

    def ticker() -> None:
        last = time.monotonic()
        while not done.is_set():
            time.sleep(0.01)
            now = time.monotonic()
            gaps.append(now - last)
            last = now

    thread = threading.Thread(target=ticker)
    thread.start()
    started = time.monotonic()
    try:
        with pytest.raises(grep.PatternError, match="took over 1 s"):
            grep.matching(lines, CATASTROPHIC, timeout_s=1.0)
    finally:
        done.set()
        thread.join()
    assert time.monotonic() - started < 10
    assert max(gaps) < 0.5  # the GIL was free the whole time


def test_patterns_still_work_as_plain_text_and_regular_expressions():
    lines = ["ok one\n", "FAILED two\n", "error: three\n", "a.b\n", "axb"]
    assert grep.matching(lines, "FAILED") == [1]
    assert grep.matching(lines, "FAILED|error") == [1, 2]
    assert grep.matching(lines, r"^a\.b$") == [3]
    assert grep.matching(lines, "b$") == [3, 4]  # the last line, without its newline, too
    with pytest.raises(grep.PatternError, match="not a valid regular expression"):
        grep.matching(lines, "(")
    with pytest.raises(grep.PatternError, match="at most 1,000"):
        grep.matching(lines, "x" * 1001)


def test_a_catastrophic_pattern_through_the_mcp_tool_is_a_quick_clear_error(headroom_home):
    part_id = _stored(headroom_home, EVIL_LINE * 4)
    started = time.monotonic()
    with pytest.raises(ToolFailure, match="took over .* simpler pattern"):
        headroom_retrieve(part_id, pattern=CATASTROPHIC)
    assert time.monotonic() - started < 15


def test_a_catastrophic_pattern_through_the_cli_is_one_clear_line(headroom_home):
    part_id = _stored(headroom_home, EVIL_LINE * 4)
    run = subprocess.run([sys.executable, "-m", "headroom_cli", "retrieve", part_id, "--grep", CATASTROPHIC],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and "took over" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1 and "Traceback" not in run.stderr
    ok = subprocess.run([sys.executable, "-m", "headroom_cli", "retrieve", part_id, "--grep", "a!|zzz"],
                        capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0 and ok.stdout == "".join(f"{n}:{EVIL_LINE}" for n in range(1, 5))


# -- finding 7: answers size-capped, with a paging note -------------------------------------------------

BIG = "".join(f"line {n:06d} " + "x" * 40 + "\n" for n in range(1, 40_001))  # 2.2 MB, 40,000 lines


def test_a_big_original_comes_back_in_pages_through_the_mcp_tool(headroom_home):
    part_id = _stored(headroom_home, BIG)
    first = headroom_retrieve(part_id)
    assert len(first) < MAX_ANSWER_CHARS + 500
    body, note = first.rsplit("[headroom: ", 1)
    assert BIG.startswith(body) and body.endswith("\n")
    shown = body.count("\n")
    assert f'lines "{shown + 1}-40000"' in note and part_id in note and "40,000 lines" in note
    second = headroom_retrieve(part_id, f"{shown + 1}-40000")
    assert second.startswith(f"line {shown + 1:06d} ") and len(second) < MAX_ANSWER_CHARS + 500
    # The CLI is the user's own terminal: everything, uncut.
    run = subprocess.run([sys.executable, "-m", "headroom_cli", "retrieve", part_id], capture_output=True,
                         timeout=60)
    assert run.returncode == 0 and run.stdout == BIG.encode()


def test_matches_and_a_single_long_line_are_capped_too(headroom_home):
    part_id = _stored(headroom_home, BIG)
    found = headroom_retrieve(part_id, pattern="line 0")
    assert found.startswith("1:line 000001 ") and len(found) < MAX_ANSWER_CHARS + 500
    last = int(found.rsplit("[headroom: ", 1)[0].splitlines()[-1].split(":")[0])
    assert "matching lines shown" in found and f'lines "{last + 1}-40000"' in found
    one_line = _stored(headroom_home, "z" * 100_000)
    cut = headroom_retrieve(one_line)
    assert cut.startswith("z" * MAX_ANSWER_CHARS) and "z" * (MAX_ANSWER_CHARS + 1) not in cut
    assert f"headroom retrieve {one_line} --lines 1" in cut


def test_a_big_retrieval_through_the_proxy_sends_a_capped_continuation(headroom_home):
    part_id = _stored(headroom_home, BIG)
    upstream = MockUpstream([ToolStep(TOOL_NAME, {"id": part_id})]).start()
    proxy = _proxy(upstream, headroom_home)
    try:
        client = anthropic.Anthropic(base_url=proxy.url, api_key="sk-ant-test", max_retries=0, timeout=120)
        message = client.messages.create(model="claude-sonnet-4-5", max_tokens=100, tools=BASH,
                                         messages=[{"role": "user", "content": "read it"}])
    finally:
        proxy.stop()
        upstream.stop()
    assert message.content[-1].text.startswith(FINAL_PREFIX)
    first, second = (len(r.body) for r in upstream.requests)
    assert second - first < MAX_ANSWER_CHARS + 2_000  # not the 2.2 MB original
    result = _last_tool_result(upstream)
    assert "is_error" not in result and 'call headroom_retrieve with id' in result["content"]


# -- finding 7: offered only where answered -------------------------------------------------------------

@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_a_call_before_any_marker_is_answered_by_the_proxy_not_passed_to_the_client(headroom_home, stream):
    """A conversation with tools is offered the tool from its first request; a call to it then must be
    answered by the proxy even though the request carried no marker yet."""
    upstream = MockUpstream([ToolStep(TOOL_NAME, {"id": "hr_0123456789abcdef"})]).start()
    proxy = _proxy(upstream, headroom_home)
    try:
        client = anthropic.Anthropic(base_url=proxy.url, api_key="sk-ant-test", max_retries=0, timeout=60)
        kwargs = dict(model="claude-sonnet-4-5", max_tokens=100, tools=BASH,
                      messages=[{"role": "user", "content": "hello"}])
        if stream:
            with client.messages.stream(**kwargs) as events:
                message = events.get_final_message()
        else:
            message = client.messages.create(**kwargs)
    finally:
        proxy.stop()
        upstream.stop()
    assert TOOL_NAME in [t["name"] for t in upstream.requests[0].json()["tools"]]
    assert message.stop_reason == "end_turn" and all(b.type == "text" for b in message.content)
    assert message.content[-1].text.startswith(FINAL_PREFIX)
    result = _last_tool_result(upstream)
    assert result["is_error"] is True and "No stored original" in result["content"]
