"""The README's Python snippets for the library and its integrations, run as the README says (one script, top
to bottom), with the API base URLs pointed at the local mock upstream instead of the real APIs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from headroom_cli.markers import MARKER_RE
from headroom_cli.mock_upstream import MockUpstream, ToolStep

README = Path(__file__).resolve().parents[1] / "README.md"
SECTION = "## In your own Python code"


def readme_snippets() -> list[str]:
    text = README.read_text(encoding="utf-8")
    start = text.index(SECTION)
    end = text.index("\n## ", start + len(SECTION))
    return re.findall(r"```python\n(.*?)```", text[start:end], re.S)


def test_the_readme_snippets_run_and_every_model_call_reads_compressed_output(tmp_path, headroom_home):
    snippets = readme_snippets()
    assert len(snippets) == 5  # compress, with_headroom, LangChain, LiteLLM, Agno
    script = tmp_path / "readme.py"
    script.write_text("\n".join(snippets), encoding="utf-8")
    # The Agno agent's model asks for its tool once; every other call already carries the tool output.
    with MockUpstream([ToolStep("run_tests", {})]) as upstream:
        env = {**os.environ, "HEADROOM_HOME": str(headroom_home),
               "ANTHROPIC_BASE_URL": upstream.url, "ANTHROPIC_API_KEY": "sk-ant-test",
               "OPENAI_BASE_URL": upstream.url + "/v1", "OPENAI_API_KEY": "sk-test",
               "LITELLM_LOCAL_MODEL_COST_MAP": "True", "AGNO_TELEMETRY": "false"}
        run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=240,
                             cwd=tmp_path)
        requests = list(upstream.requests)
    assert run.returncode == 0, run.stderr[-4000:]

    lines = run.stdout.splitlines()
    assert re.fullmatch(r"[\d,]+ -> [\d,]+ tokens \{'testlog': 1\} \('hr_[0-9a-f]{16}',\)", lines[0]), lines[0]
    answers = [line for line in lines if "MOCK-FINAL" in line]
    # Messages create and stream, chat create and stream, LangChain, LiteLLM, the Agno agent.
    assert len(answers) == 7, run.stdout
    assert all("headroom marker: yes" in a and "tests/test_api.py::test_refund FAILED" in a for a in answers)
    carried = [upstream.tool_results(r)[-1]["text"] for r in requests if upstream.tool_results(r)]
    assert len(carried) == 7 and all(MARKER_RE.search(t) and len(t) < 2_000 for t in carried)
