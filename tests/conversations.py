"""One tool round in each API's own request shape, for the library's and the integrations' tests."""

from __future__ import annotations

import json

from headroom_cli.library import ANTHROPIC_MESSAGES, OPENAI_CHAT


def conversation(api: str, question: str, command: str, output: str) -> list[dict]:
    """A user question, the model's tool call, and the tool's output, in the API's own shape."""
    if api == ANTHROPIC_MESSAGES:
        return [{"role": "user", "content": question},
                {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "Bash",
                                                   "input": {"command": command}}]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": output}]}]
    if api == OPENAI_CHAT:
        return [{"role": "user", "content": question},
                {"role": "assistant", "content": None, "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": "Bash",
                                                                      "arguments": json.dumps({"command": command})}}]},
                {"role": "tool", "tool_call_id": "call_1", "content": output}]
    return [{"role": "user", "content": question},
            {"type": "function_call", "call_id": "call_1", "name": "Bash", "arguments": json.dumps({"command": command})},
            {"type": "function_call_output", "call_id": "call_1", "output": output}]
