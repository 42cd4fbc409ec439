"""The Python library: ``compress()`` sends what ``headroom proxy`` sends, byte for byte, over the whole
shared corpus and all three APIs; its markers redeem through ``headroom retrieve``; its savings are
rows of the same ledger ``headroom stats`` reads."""

from __future__ import annotations

import http.client
import os
import json
import subprocess
import sys
from pathlib import Path

import pytest

import headroom_cli
from headroom_cli.config import Settings
from headroom_cli.library import (ANTHROPIC_MESSAGES, OPENAI_CHAT, OPENAI_RESPONSES, PATHS, Headroom, compress,
                                  default_headroom)
from headroom_cli.markers import MARKER_RE
from headroom_cli.mock_upstream import MockUpstream
from headroom_cli.prompt import anthropic_blocks
from headroom_cli.tokens import count_tokens

from conversations import conversation

HEADERS = {
    ANTHROPIC_MESSAGES: {"content-type": "application/json", "x-api-key": "sk-ant-test", "anthropic-version": "2023-06-01"},
    OPENAI_CHAT: {"content-type": "application/json", "authorization": "Bearer sk-test"},
    OPENAI_RESPONSES: {"content-type": "application/json", "authorization": "Bearer sk-test"},
}
MODELS = {ANTHROPIC_MESSAGES: "claude-sonnet-4-5", OPENAI_CHAT: "gpt-4o", OPENAI_RESPONSES: "gpt-4o"}


def _settings(home: Path, upstream: str = "http://127.0.0.1:9", **extra) -> Settings:
    # A generous engine budget: on a loaded machine a part past the default 250 ms would be sent as it
    # was on one side only, and the test compares the two sides' bytes.
    return Settings(host="127.0.0.1", port=0, anthropic_upstream=upstream, openai_upstream=upstream, compress=True,
                    home=home, part_budget_ms=10_000, **extra)


def _post(port: int, path: str, body: bytes, headers: dict) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("POST", path, body=body, headers=headers)
    status = conn.getresponse().status
    conn.close()
    return status


@pytest.fixture(scope="module")
def corpus_samples(corpus_dir: Path) -> list[dict]:
    return [{**entry, "text": (corpus_dir / entry["file"]).read_text(encoding="utf-8")}
            for entry in json.loads((corpus_dir / "needles.json").read_text())]


@pytest.mark.parametrize("api", [ANTHROPIC_MESSAGES, OPENAI_CHAT, OPENAI_RESPONSES])
def test_compress_sends_the_proxys_bytes_over_the_whole_corpus(api, corpus_samples, tmp_path, proxy_server_class):
    # Independent state: the proxy decides in its HEADROOM_HOME, the library in its own, so equal bytes
    # mean the same request path, not a replayed decision. (The proxy's own retrieve tool is off: only
    # a proxy can answer its calls, so the library never offers it.)
    library = Headroom(_settings(tmp_path / "library"))
    with MockUpstream() as upstream:
        proxy = proxy_server_class(_settings(tmp_path / "proxy", upstream.url, retrieval_tool=False)).start()
        try:
            compressed = 0
            for sample in corpus_samples:
                messages = conversation(api, sample["query"], f"cat {sample['file']}", sample["text"])
                result = compress(messages, api=api, provider="anthropic" if api == ANTHROPIC_MESSAGES else "openai",
                                  model=MODELS[api], max_tokens=4096, headroom=library)
                assert _post(proxy.port, PATHS[api], result.original_body, HEADERS[api]) == 200
                sent = upstream.requests[-1]
                assert sent.body == result.body, f"{sample['file']}: the proxy sent other bytes than compress()"
                assert json.loads(sent.body) == result.request
                assert result.messages == result.request["input" if api == OPENAI_RESPONSES else "messages"]
                compressed += result.stats.tokens_after < result.stats.tokens_before
                _assert_needles_kept(sample, upstream.tool_results(sent)[-1]["text"], library)
            assert compressed >= len(corpus_samples) - 2, "nearly every sample compresses"
        finally:
            proxy.stop()
            library.close()


def _assert_needles_kept(sample: dict, text: str, library: Headroom) -> None:
    """Every needle reaches the model, or sits in an original a marker in the text redeems."""
    originals = [library.store.get(m.group("id")) or "" for m in MARKER_RE.finditer(text)]
    for needle in sample["needles"]:
        assert needle in text or any(needle in o for o in originals), f"{sample['file']}: lost {needle!r}"


def test_compress_returns_messages_and_stats_and_leaves_the_callers_messages_alone(corpus_dir):
    log = (corpus_dir / "tests" / "pytest_verbose_more_itertools.txt").read_text()
    messages = conversation(ANTHROPIC_MESSAGES, "Which test failed?", "pytest -v", log)
    before = json.dumps(messages)
    new, stats = compress(messages, model="claude-sonnet-4-5")
    assert json.dumps(messages) == before  # the caller's list and dicts are untouched
    assert new[1] == messages[1]
    # As the proxy does for a request without any: an automatic prompt-cache breakpoint.
    assert new[0]["content"] == [{"type": "text", "text": "Which test failed?", "cache_control": {"type": "ephemeral"}}]
    text = new[2]["content"][0]["content"]
    assert "tests/test_more.py::ChunkedRegressionTests::test_chunked_total_length_matches_input FAILED" in text
    assert stats.engines == {"testlog": 1} and stats.tool_outputs == 1
    # The prompt's tokens as the model reads it (its words, not the JSON around them), as the ledger counts.
    assert stats.tokens_before == sum(count_tokens(block.text) for block in anthropic_blocks({"messages": messages}))
    assert stats.tokens_after < stats.tokens_before / 10 and stats.percent_saved > 90
    assert list(stats.marker_ids) == sorted({m.group("id") for m in MARKER_RE.finditer(text)})


def test_compress_takes_the_sdks_own_reply_objects_in_the_history(corpus_dir):
    # The usual loop appends the model's reply as is: `{"role": "assistant", "content": reply.content}`.
    import anthropic.types as types

    log = (corpus_dir / "tests" / "pytest_verbose_more_itertools.txt").read_text()
    as_dicts = conversation(ANTHROPIC_MESSAGES, "Which test failed?", "pytest -v", log)
    as_objects = [as_dicts[0], {"role": "assistant", "content": [
        types.ToolUseBlock(type="tool_use", id="toolu_1", name="Bash", input={"command": "pytest -v"})]}, as_dicts[2]]
    from_objects, from_dicts = (compress(m, model="claude-sonnet-4-5") for m in (as_objects, as_dicts))
    assert from_objects.request == from_dicts.request  # the same request (the SDK's key order aside)
    assert from_objects.stats.engines == {"testlog": 1}


def test_compress_openai_keeps_a_system_prompt_given_apart_out_of_the_messages(corpus_dir):
    log = (corpus_dir / "logs" / "app_orderservice.txt").read_text()
    messages = conversation(OPENAI_CHAT, "Why did the order service crash?", "cat app.log", log)
    result = compress(messages, provider="openai", model="gpt-4o", system="You are terse.")
    assert result.request["messages"][0] == {"role": "system", "content": "You are terse."}
    assert len(result.messages) == 3 and result.messages[0] == messages[0]
    assert len(result.messages[2]["content"]) < len(log) / 10


def test_library_markers_redeem_through_headroom_retrieve_and_savings_reach_headroom_stats(corpus_dir, headroom_home):
    log = (corpus_dir / "tests" / "pytest_verbose_more_itertools.txt").read_text()
    result = compress(conversation(OPENAI_CHAT, "Which test failed?", "pytest -v", log), provider="openai",
                      model="gpt-4o")
    default_headroom().flush()
    marker = MARKER_RE.search(result.messages[2]["content"])
    assert marker is not None and marker.group("a")
    first, last = int(marker.group("a")), int(marker.group("b"))
    env = {"HEADROOM_HOME": str(headroom_home), "PATH": "/usr/bin:/bin"}
    back = subprocess.run([sys.executable, "-m", "headroom_cli", "retrieve", marker.group("id"), "--lines",
                           f"{first}-{last}"], capture_output=True, text=True, env=env, timeout=60)
    assert back.returncode == 0, back.stderr
    assert back.stdout.splitlines() == log.splitlines()[first - 1:last]
    stats = subprocess.run([sys.executable, "-m", "headroom_cli", "stats", "--json"], capture_output=True, text=True,
                           env=env, timeout=60)
    totals = json.loads(stats.stdout)["all_time"]
    assert totals["requests"] == 1
    assert totals["tokens_before"] == result.stats.tokens_before
    assert totals["tokens_saved"] > 0.9 * totals["tokens_before"]


def test_no_compress_setting_passes_the_request_through_unchanged(corpus_dir, monkeypatch):
    monkeypatch.setenv("HEADROOM_NO_COMPRESS", "1")
    log = (corpus_dir / "tests" / "pytest_verbose_more_itertools.txt").read_text()
    messages = conversation(ANTHROPIC_MESSAGES, "Which test failed?", "pytest -v", log)
    result = compress(messages, model="claude-sonnet-4-5")
    assert result.messages == messages and result.body == result.original_body
    assert result.stats.tokens_after == result.stats.tokens_before and not result.stats.marker_ids


def test_bad_arguments_say_what_is_allowed():
    with pytest.raises(ValueError, match="provider must be 'anthropic' or 'openai'"):
        compress([], provider="gemini")
    with pytest.raises(ValueError, match="api must be one of"):
        compress([], api="openai-completions")


def test_the_library_loads_only_when_asked():
    # `import headroom_cli` (the CLI's first import) must not pull in the library or any integration.
    code = ("import sys, headroom_cli; assert 'headroom_cli.library' not in sys.modules; "
            "from headroom_cli import compress, with_headroom, withHeadroom, Headroom; "
            "assert with_headroom is withHeadroom; "
            "assert not any(m in sys.modules for m in ('langchain_core', 'litellm', 'agno'))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert set(headroom_cli.__all__) >= {"compress", "with_headroom", "withHeadroom", "Headroom"}


def test_a_script_that_compresses_and_exits_finds_its_request_in_stats(corpus_dir, headroom_home):
    """The recorder writes on a daemon thread: what still waits when a script ends is written at exit."""
    script = ("import sys\n"
              "from headroom_cli.library import compress\n"
              "sys.path.insert(0, sys.argv[1])\n"
              "from conversations import conversation, ANTHROPIC_MESSAGES\n"
              "log = open(sys.argv[2]).read()\n"
              "compress(conversation(ANTHROPIC_MESSAGES, 'Which test failed?', 'pytest -v', log), model='claude-sonnet-4-5')\n")
    env = {**os.environ, "HEADROOM_HOME": str(headroom_home)}
    ran = subprocess.run([sys.executable, "-c", script, str(Path(__file__).parent),
                          str(corpus_dir / "tests" / "pytest_verbose_more_itertools.txt")],
                         capture_output=True, text=True, env=env, timeout=120)
    assert ran.returncode == 0, ran.stderr
    stats = subprocess.run([sys.executable, "-m", "headroom_cli", "stats", "--json"], capture_output=True, text=True,
                           env=env, timeout=60)
    assert json.loads(stats.stdout)["all_time"]["requests"] == 1
