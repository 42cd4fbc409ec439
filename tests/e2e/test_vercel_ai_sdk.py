"""The Vercel AI SDK (TypeScript; `ai`, `@ai-sdk/anthropic`, `@ai-sdk/openai`, installed by scripts/test into
.cache/npm) set up as docs/typescript.md says, `baseURL` at `headroom proxy`, against the local mock upstream.

A real agent loop in Node: the mock model asks for the script's Bash tool, the tool returns a long
pytest log, the SDK sends it back through the proxy. For Anthropic Messages, OpenAI Responses (the SDK's
default for OpenAI) and Chat Completions, generateText and streamText: the upstream gets the tool output
compressed and the SDK gets the model's answer.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from headroom_cli.config import Settings
from headroom_cli.mock_upstream import MockUpstream, ToolStep
from headroom_cli.proxy.server import ProxyServer

from samples import FAILED_TEST, pytest_verbose_log

REPO = Path(__file__).resolve().parents[2]
NPM = REPO / ".cache" / "npm"

AGENT = """
import { generateText, streamText, tool, stepCountIs } from "ai";
import { createAnthropic } from "@ai-sdk/anthropic";
import { createOpenAI } from "@ai-sdk/openai";
import { z } from "zod";
import fs from "node:fs";

const baseURL = process.env.HEADROOM_PROXY + "/v1";  // as docs/typescript.md says
const anthropic = createAnthropic({ baseURL, apiKey: "sk-ant-test" });
const openai = createOpenAI({ baseURL, apiKey: "sk-test" });
const log = fs.readFileSync(process.env.TOOL_OUTPUT, "utf8");
const tools = { Bash: tool({ description: "Run a shell command.", inputSchema: z.object({ command: z.string() }),
                             execute: async () => log }) };
const prompt = "Run the tests. Which one failed?";
for (const [name, model] of [["messages", anthropic("claude-sonnet-4-5")], ["responses", openai("gpt-4o")],
                             ["chat", openai.chat("gpt-4o")]]) {
  const { text } = await generateText({ model, tools, prompt, stopWhen: stepCountIs(3) });
  console.log(`${name} generateText: ${text}`);
  let streamed = "";
  for await (const delta of streamText({ model, tools, prompt, stopWhen: stepCountIs(3) }).textStream) streamed += delta;
  console.log(`${name} streamText: ${streamed}`);
}
"""


@pytest.mark.e2e
def test_the_ai_sdk_through_headroom_proxy(tmp_path, headroom_home):
    assert (NPM / "node_modules" / "ai" / "package.json").is_file(), \
        "the Vercel AI SDK is not installed in .cache/npm: run scripts/test, which installs it"
    log = pytest_verbose_log(1999)
    (tmp_path / "pytest.log").write_text(log)
    with MockUpstream([ToolStep("Bash", {"command": "pytest -v"})]) as upstream:
        proxy = ProxyServer(Settings(host="127.0.0.1", port=0, anthropic_upstream=upstream.url,
                                     openai_upstream=upstream.url, compress=True, home=headroom_home)).start()
        try:
            # Bare imports in `node -e` resolve from the working directory: .cache/npm's node_modules.
            run = subprocess.run(["node", "--input-type=module", "-e", AGENT], cwd=NPM, capture_output=True,
                                 text=True, timeout=120,
                                 env={**os.environ, "HEADROOM_PROXY": proxy.url, "TOOL_OUTPUT": str(tmp_path / "pytest.log")})
        finally:
            proxy.stop()
        assert run.returncode == 0, run.stderr[-3000:]
        requests = list(upstream.requests)

    answers = run.stdout.splitlines()
    assert len(answers) == 6, run.stdout
    for line in answers:
        assert "headroom marker: yes" in line and FAILED_TEST in line, line
    paths = {r.path for r in requests}
    assert paths == {"/v1/messages", "/v1/responses", "/v1/chat/completions"}
    rounds = [upstream.tool_results(r) for r in requests]
    outputs = [results[-1]["text"] for results in rounds if results]
    assert len(outputs) == 6  # each loop's second request carried the tool output
    for text in outputs:
        assert FAILED_TEST in text and len(text) < len(log) / 10
