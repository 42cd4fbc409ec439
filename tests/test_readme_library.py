"""The Python snippets of README.md and docs/ (the library and its integrations), run as the pages say:
each page's blocks as one script, top to bottom, with the API base URLs pointed at the local mock
upstream instead of the real APIs. Blocks marked `<!-- not run: … -->` are left out (tests/doc_snippets.py)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from doc_snippets import REPO, name, pages_with, script
from headroom_cli.markers import MARKER_RE
from headroom_cli.mock_upstream import MockUpstream, ToolStep

COMPRESS_LINE = r"[\d,]+ -> [\d,]+ tokens"
# What each page's script must print and send: (its first line, how many model answers).
EXPECTED = {
    "README.md": (COMPRESS_LINE, 1),  # compress(), then one with_headroom() call
    "docs/library.md": (COMPRESS_LINE + r" \{'testlog': 1\} \('hr_[0-9a-f]{16}',\)", 0),
    # Messages create and stream, chat create and stream, LangChain, LiteLLM, the Agno agent.
    "docs/integrations.md": (None, 7),
}


def test_the_pages_with_python_snippets_are_the_ones_checked_here():
    assert sorted(name(p) for p in pages_with("python")) == sorted(EXPECTED)


def run_page(page: str, tmp_path, headroom_home) -> tuple[subprocess.CompletedProcess, list]:
    path = tmp_path / "snippets.py"
    path.write_text(script(REPO / page, "python"), encoding="utf-8")
    # The Agno agent's model asks for its tool once; every other call already carries the tool output.
    with MockUpstream([ToolStep("run_tests", {})]) as upstream:
        env = {**os.environ, "HEADROOM_HOME": str(headroom_home),
               "ANTHROPIC_BASE_URL": upstream.url, "ANTHROPIC_API_KEY": "sk-ant-test",
               "OPENAI_BASE_URL": upstream.url + "/v1", "OPENAI_API_KEY": "sk-test",
               "LITELLM_LOCAL_MODEL_COST_MAP": "True", "AGNO_TELEMETRY": "false"}
        run = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, env=env, timeout=240,
                             cwd=tmp_path)
        carried = [upstream.tool_results(r)[-1]["text"] for r in upstream.requests if upstream.tool_results(r)]
    return run, carried


@pytest.mark.parametrize("page", sorted(EXPECTED))
def test_the_snippets_run_and_every_model_call_reads_compressed_output(page, tmp_path, headroom_home):
    first, answers_expected = EXPECTED[page]
    run, carried = run_page(page, tmp_path, headroom_home)
    assert run.returncode == 0, run.stderr[-4000:]

    lines = run.stdout.splitlines()
    if first:
        assert re.match(first, lines[0]), lines[0]
    answers = [line for line in lines if "MOCK-FINAL" in line]
    assert len(answers) == answers_expected, run.stdout
    assert all("headroom marker: yes" in a and "tests/test_api.py::test_refund FAILED" in a for a in answers)
    assert len(carried) == answers_expected and all(MARKER_RE.search(t) and len(t) < 2_000 for t in carried)
