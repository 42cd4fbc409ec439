"""The real Claude Code CLI under `headroom wrap claude`, against a local mock Anthropic upstream.

The mock asks Claude Code to run a Bash command that prints a long pytest log (under Claude Code's
own 30,000-character cap, exit 0, so Claude Code sends it whole) and then to Read a long service log.
What the mock receives must be far smaller and still hold the facts that matter.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from headroom_cli.markers import find_markers
from headroom_cli.mock_upstream import MockUpstream, ToolStep
from headroom_cli.tokens import count_tokens

REPO = Path(__file__).resolve().parents[2]

FAILED_ID = "tests/test_billing.py::test_invoice_total_includes_tax"
ASSERTION = "AssertionError: invoice INV-2291 total must include 25% VAT: expected 12500, got 10000"
SUMMARY = "1 failed, 379 passed in 4.21s"
FATAL = "2026-11-24T09:12:44.120Z FATAL [worker-2] billing.queue - queue consumer died; 41 invoices stuck in SENDING"
CAUSE = "ConnectionResetError: [Errno 104] Connection reset by peer"

GEN_PYTEST = f'''
print("=" * 29 + " test session starts " + "=" * 30)
print("platform linux -- Python 3.11.7, pytest-8.3.4, pluggy-1.5.0")
print("collected 380 items")
print()
for i in range(380):
    name = "tests/test_%s.py::test_case_%03d" % (["cart", "billing", "users", "tax"][i % 4], i)
    if i == 190:
        print("{FAILED_ID} FAILED" + " " * 20 + "[ 50%]")
    else:
        print(name + " PASSED" + " " * (40 - len(name) % 40) + "[%3d%%]" % (i * 100 // 380))
print()
print("=" * 35 + " FAILURES " + "=" * 35)
print("_" * 30 + " test_invoice_total_includes_tax " + "_" * 30)
print()
print("    def test_invoice_total_includes_tax():")
print("        invoice = make_invoice(net=10000, vat=25)")
print(">       assert invoice.total == 12500, 'invoice INV-2291 total must include 25% VAT'")
print("E       {ASSERTION}")
print()
print("tests/test_billing.py:88: AssertionError")
print("=" * 30 + " short test summary info " + "=" * 30)
print("FAILED {FAILED_ID} - AssertionError: invoice INV-2291...")
print("=" * 30 + " {SUMMARY} " + "=" * 30)
'''


def _service_log() -> str:
    lines = []
    for i in range(1200):
        lines.append(f"2026-11-24T09:{i // 60 % 60:02d}:{i % 60:02d}.{i % 1000:03d}Z INFO  [worker-{i % 4}] "
                     f"billing.http - GET /v1/invoices/{10000 + i} 200 {i % 90 + 3}ms")
        if i == 900:
            lines += [FATAL, "Traceback (most recent call last):",
                      '  File "/srv/billing/queue.py", line 211, in consume',
                      "    batch = self.broker.fetch(max_items=50)",
                      '  File "/srv/billing/broker.py", line 74, in fetch',
                      "    raise ConnectionResetError(104, 'Connection reset by peer')",
                      CAUSE]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def claude_bin() -> str:
    path = os.environ.get("HEADROOM_CLAUDE_BIN") or str(REPO / ".cache/npm/node_modules/.bin/claude")
    assert Path(path).is_file(), f"Claude Code is not installed at {path}: run scripts/test, which installs it"
    return path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    proj = tmp_path / "project"
    proj.mkdir()
    (proj / "gen_pytest_log.py").write_text(GEN_PYTEST)
    (proj / "service.log").write_text(_service_log())
    return proj


def _wrap_claude(claude_bin: str, upstream: MockUpstream, project: Path, home: Path, *extra: str,
                 wrap_args: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    user_home = project.parent / "home"
    user_home.mkdir(exist_ok=True)
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(user_home),
        "HEADROOM_HOME": str(home),
        "HEADROOM_CLAUDE_BIN": claude_bin,
        "ANTHROPIC_API_KEY": "sk-ant-test-dummy",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "CLAUDE_CODE_MAX_RETRIES": "0",
        "IS_SANDBOX": "1",  # tests may run as root, where Claude Code refuses to skip permissions otherwise
        # the checkout under test, where one is named, rather than whatever the interpreter has installed
        **{k: os.environ[k] for k in ("PYTHONPATH",) if k in os.environ},
    }
    argv = [sys.executable, "-m", "headroom_cli", "wrap", "claude", "--anthropic-upstream", upstream.url,
            *wrap_args, "--",
            "-p", "run the tests, then read service.log, and tell me what failed",
            "--dangerously-skip-permissions", "--output-format", "json", *extra]
    return subprocess.run(argv, cwd=project, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)


def _script(project: Path) -> list[ToolStep]:
    return [ToolStep("Bash", {"command": "python3 gen_pytest_log.py", "description": "Run the test suite"}),
            ToolStep("Read", {"file_path": str(project / "service.log")})]


@pytest.mark.e2e
@pytest.mark.parametrize("streamed", [True, False], ids=["streamed", "non-streamed"])
def test_wrap_claude_compresses_tool_results(claude_bin, project, headroom_home, streamed):
    bash_output = subprocess.run([sys.executable, "gen_pytest_log.py"], cwd=project, capture_output=True, text=True).stdout
    assert 20_000 < len(bash_output) < 30_000, "the log must stay under Claude Code's own 30,000-character cap"

    with MockUpstream(_script(project)) as upstream:
        if not streamed:
            upstream.stream_fail_status = 404  # Claude Code then retries each call without streaming
        run = _wrap_claude(claude_bin, upstream, project, headroom_home)
        requests = [r for r in upstream.requests if r.path == "/v1/messages"]

    assert run.returncode == 0, run.stderr[-2000:]
    answer = json.loads(run.stdout)
    assert answer["result"].startswith("MOCK-FINAL: 2 tool_results"), answer  # the mock's answer reached Claude Code
    final = requests[-1]
    assert (final.json().get("stream") is True) is streamed

    bash_result, read_result = (r["text"] for r in upstream.tool_results(final))
    # Bash: far fewer tokens, and the failing test, its assertion and the summary survive.
    assert count_tokens(bash_result) < 0.25 * count_tokens(bash_output)
    for needle in (FAILED_ID, ASSERTION, SUMMARY):
        assert needle in bash_result
    assert find_markers(bash_result), "omissions must be marked where they were"
    # Read: line-numbered; the FATAL line and its whole stack survive.
    original_read = "".join(f"{n}\t{line}" for n, line in enumerate(_service_log().splitlines(keepends=True), 1))
    assert count_tokens(read_result) < 0.15 * count_tokens(original_read)
    for needle in (FATAL, 'File "/srv/billing/broker.py", line 74, in fetch', CAUSE):
        assert needle in read_result

    # Every marker can be redeemed from the store with `headroom retrieve`.
    marker = find_markers(bash_result)[0]
    back = subprocess.run([sys.executable, "-m", "headroom_cli", "retrieve", marker.group("id"), "--lines",
                           f"{marker.group('a')}-{marker.group('b')}"], capture_output=True, text=True,
                          env={**os.environ, "HEADROOM_HOME": str(headroom_home)})
    assert back.returncode == 0, back.stderr
    lines = bash_output.splitlines(keepends=True)
    assert back.stdout == "".join(lines[int(marker.group("a")) - 1 : int(marker.group("b"))])

    # Re-sent history is byte-identical: the first tool_result reads the same in every later request.
    firsts = [upstream.tool_results(r)[0]["text"] for r in requests if upstream.tool_results(r)]
    assert len(firsts) >= 2 and len(set(firsts)) == 1


@pytest.mark.e2e
def test_wrap_claude_returns_claudes_exit_code_and_leaves_no_settings(claude_bin, project, headroom_home):
    with MockUpstream() as upstream:
        upstream.fail_status = 500  # Claude Code gives up with exit code 1
        run = _wrap_claude(claude_bin, upstream, project, headroom_home)
    assert run.returncode == 1, (run.returncode, run.stdout[-500:])
    home = project.parent / "home"
    settings = home / ".claude" / "settings.json"
    assert not settings.exists() or "headroom" not in settings.read_text()


@pytest.mark.e2e
def test_wrap_reports_a_missing_tool_in_one_line(project, headroom_home):
    env = {**os.environ, "HEADROOM_CLAUDE_BIN": "/nonexistent/claude", "HEADROOM_HOME": str(headroom_home)}
    run = subprocess.run([sys.executable, "-m", "headroom_cli", "wrap", "claude"], cwd=project, env=env,
                         stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    assert run.returncode == 127
    assert "npm install -g @anthropic-ai/claude-code" in run.stderr
    assert len(run.stderr.strip().splitlines()) <= 2


@pytest.mark.e2e
def test_persisted_output_preview_is_replaced_by_the_compressed_whole(claude_bin, project, headroom_home):
    # Over 30,000 characters, Claude Code sends only a 2 KB preview and saves the rest to a file;
    # the failing test sits far past the preview.
    (project / "big_log.py").write_text(
        "import sys\nsys.path.insert(0, '.')\nfrom samples import pytest_verbose_log\nprint(pytest_verbose_log(1999), end='')\n")
    (project / "samples.py").write_text((REPO / "tests" / "samples.py").read_text())
    from samples import FAILED_MESSAGE, FAILED_TEST as BIG_FAILED, PYTEST_SUMMARY as BIG_SUMMARY

    script = [ToolStep("Bash", {"command": "python3 big_log.py", "description": "Run the test suite"})]
    with MockUpstream(script) as upstream:
        run = _wrap_claude(claude_bin, upstream, project, headroom_home)
        final = [r for r in upstream.requests if r.path == "/v1/messages"][-1]
    assert run.returncode == 0, run.stderr[-2000:]
    (result,) = (r["text"] for r in upstream.tool_results(final))
    assert result.startswith("<persisted-output>") and "Full output saved to: " in result
    assert "Preview (first 2KB)" not in result
    for needle in (BIG_FAILED, FAILED_MESSAGE, BIG_SUMMARY):
        assert needle in result  # beyond the 2 KB preview: only the whole output has them
    assert find_markers(result)
    assert len(result) < 30_000


def _redeem(claude_bin: str, project: Path, headroom_home: Path, tool: str, *wrap_args: str, streamed: bool = True):
    """Claude Code runs the test log; the model then calls ``tool`` on the marker it sees. The requests
    the upstream received, and the log as printed."""
    bash_output = subprocess.run([sys.executable, "gen_pytest_log.py"], cwd=project, capture_output=True, text=True).stdout
    script = [ToolStep("Bash", {"command": "python3 gen_pytest_log.py", "description": "Run the test suite"}),
              ToolStep(tool, {"id": "{marker.id}", "lines": "{marker.lines}"})]
    with MockUpstream(script) as upstream:
        if not streamed:
            upstream.stream_fail_status = 404  # Claude Code then retries each call without streaming
        run = _wrap_claude(claude_bin, upstream, project, headroom_home, wrap_args=wrap_args)
        requests = [r for r in upstream.requests if r.path == "/v1/messages"]
    assert run.returncode == 0, run.stderr[-2000:]
    assert json.loads(run.stdout)["result"].startswith("MOCK-FINAL: 2 tool_results")
    bash_result, retrieved = upstream.tool_results(requests[-1])
    marker = find_markers(bash_result["text"])[0]
    a, b = int(marker.group("a")), int(marker.group("b"))
    omitted = "".join(bash_output.splitlines(keepends=True)[a - 1 : b])
    assert b - a > 10 and omitted.strip() not in bash_result["text"]
    assert retrieved["text"].strip() == omitted.strip()  # the original lines, not compressed again
    assert not find_markers(retrieved["text"])

    from headroom_cli.ledger import Ledger

    ledger = Ledger(headroom_home / "ledger.sqlite3")
    assert ledger.retrieval_count(ledger.latest_session()) == 1
    ledger.close()
    # Nothing about Headroom was written into the user's Claude Code configuration.
    user_home = project.parent / "home"
    for config in (user_home / ".claude.json", user_home / ".claude" / "settings.json", project / ".mcp.json"):
        assert not config.exists() or "headroom" not in config.read_text()
    return requests


@pytest.mark.e2e
@pytest.mark.parametrize("streamed", [True, False], ids=["streamed", "non-streamed"])
def test_claude_redeems_a_marker_through_the_proxys_retrieve_tool(claude_bin, project, headroom_home, streamed):
    """By default wrap hands Claude Code no MCP server: the proxy offers the model its own
    headroom_retrieve tool and answers the call itself, inside Claude Code's (streamed) reply; the
    continuation it sends upstream carries the original lines."""
    requests = _redeem(claude_bin, project, headroom_home, "headroom_retrieve", streamed=streamed)
    tools = [[t["name"] for t in r.json()["tools"]] for r in requests if r.json().get("tools")]
    assert all(names[-1] == "headroom_retrieve" for names in tools)
    assert not any(n.startswith("mcp__") or "Mcp" in n for n in tools[0]), tools[0]
    # The same tools on every request of the session (Claude Code's own little requests aside).
    loop = [r.json()["tools"] for r in requests if len(r.json().get("tools") or []) == len(tools[0])]
    assert len(loop) >= 3 and all(t == loop[0] for t in loop)


@pytest.mark.e2e
def test_claude_redeems_a_marker_through_the_mcp_retrieve_tool_with_mcp(claude_bin, project, headroom_home):
    """`wrap claude --mcp`: Claude Code gets `headroom mcp serve` on its command line, runs the model's
    call to mcp__headroom__headroom_retrieve through it, and the proxy offers no tool of its own."""
    requests = _redeem(claude_bin, project, headroom_home, "mcp__headroom__headroom_retrieve", "--mcp")
    names = [t["name"] for t in requests[0].json()["tools"]]
    assert "mcp__headroom__headroom_retrieve" in names and "headroom_retrieve" not in names


# -- what wrap adds to every request ------------------------------------------------------------------

WRAP_OVERHEAD_MAX_TOKENS = 300  # issue 14: the retrieval tool, at most this much a request


def _canon(value) -> str:
    """A block or tool as content: key order kept, the moving cache_control left out."""
    def strip(v):
        if isinstance(v, dict):
            return {k: strip(x) for k, x in v.items() if k != "cache_control"}
        if isinstance(v, list):
            return [strip(x) for x in v]
        return v
    return json.dumps(strip(value), ensure_ascii=False, separators=(",", ":"))


def _loop_requests(upstream: MockUpstream) -> list[dict]:
    """The agent loop's requests (the ones with tools; Claude Code's own small requests have none)."""
    return [r.json() for r in upstream.requests if r.path == "/v1/messages" and (r.json() or {}).get("tools")]


def _claude_direct(claude_bin: str, upstream: MockUpstream, project: Path) -> subprocess.CompletedProcess:
    """The same run as `_wrap_claude`, without Headroom: Claude Code talks to the upstream itself."""
    user_home = project.parent / "home"  # the same as wrap's: the system prompt names it
    user_home.mkdir(exist_ok=True)
    env = {"PATH": os.environ["PATH"], "HOME": str(user_home), "ANTHROPIC_BASE_URL": upstream.url,
           "ANTHROPIC_API_KEY": "sk-ant-test-dummy", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
           "CLAUDE_CODE_MAX_RETRIES": "0", "IS_SANDBOX": "1"}
    argv = [claude_bin, "-p", "run the tests, then read service.log, and tell me what failed",
            "--dangerously-skip-permissions", "--output-format", "json"]
    return subprocess.run(argv, cwd=project, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)


def _added_tokens(plain: dict, wrapped: dict) -> tuple[int, list[str]]:
    """What the wrapped request carries that the plain one does not: its extra tools, extra blocks in the
    first message, and a changed system prompt, in cl100k tokens as sent (compact JSON); and the names."""
    ours = {_canon(t) for t in plain["tools"]}
    extra_tools = [t for t in wrapped["tools"] if _canon(t) not in ours]
    first = lambda body: body["messages"][0]["content"]  # noqa: E731
    blocks = {_canon(b) for b in first(plain)} if isinstance(first(plain), list) else set()
    extra_blocks = [b for b in first(wrapped) if _canon(b) not in blocks] if isinstance(first(wrapped), list) else []
    system = _canon(wrapped.get("system")) if _canon(wrapped.get("system")) != _canon(plain.get("system")) else ""
    tokens = sum(count_tokens(_canon(x)) for x in extra_tools + extra_blocks) + count_tokens(system)
    return tokens, [t.get("name", "?") for t in extra_tools] + ["<block>"] * len(extra_blocks) + ["<system>"] * bool(system)


@pytest.mark.e2e
def test_wrap_claude_adds_at_most_300_tokens_to_every_request(claude_bin, project, headroom_home):
    """The same two-step session, with Claude Code talking to the model directly and under `wrap claude`:
    each wrapped request carries only the proxy's retrieve tool on top (no MCP server, its tools or its
    instructions), the same bytes on every request, and no more than 300 tokens of it."""
    with MockUpstream(_script(project)) as upstream:
        direct = _claude_direct(claude_bin, upstream, project)
        plain = _loop_requests(upstream)
    assert direct.returncode == 0, direct.stderr[-2000:]
    with MockUpstream(_script(project)) as upstream:
        run = _wrap_claude(claude_bin, upstream, project, headroom_home)
        wrapped = _loop_requests(upstream)
    assert run.returncode == 0, run.stderr[-2000:]
    assert len(plain) == len(wrapped) == 3

    for k in range(3):
        tokens, added = _added_tokens(plain[k], wrapped[k])
        assert added == ["headroom_retrieve"], added
        assert 0 < tokens <= WRAP_OVERHEAD_MAX_TOKENS, tokens
    # Tools byte-identical on every request: the prompt cache over them holds.
    assert len({_canon(w["tools"]) for w in wrapped}) == 1
    assert len({json.dumps(w["tools"], separators=(",", ":")) for w in wrapped}) == 1
