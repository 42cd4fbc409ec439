"""Headroom as an MCP server: the model redeems markers itself (`headroom mcp serve`)."""

import re as _re

SERVER_NAME = "headroom"  # Claude Code shows its tools to the model as mcp__headroom__<tool>
RETRIEVE_TOOL = "headroom_retrieve"
_RETRIEVE_COMMAND = _re.compile(r"\s*(?:\S*/)?headroom\s+retrieve\s")


def is_retrieval(tool_name: str | None, tool_input: str | None = None) -> bool:
    """A tool output that is Headroom's own retrieval (the MCP tool, or `headroom retrieve` run as a
    command): it is what the model asked to see whole, so the proxy must pass it through uncompressed."""
    if tool_name and (tool_name == RETRIEVE_TOOL or tool_name.endswith("__" + RETRIEVE_TOOL)):
        return True
    return bool(tool_input) and bool(_RETRIEVE_COMMAND.match(tool_input + " "))
