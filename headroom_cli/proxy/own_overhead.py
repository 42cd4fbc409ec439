"""What a request carries only because Headroom is there: `wrap`'s MCP server adds its tool definitions,
the MCP-resource tools Claude Code offers for any MCP server, and the server's instructions. Without
Headroom the client would not send them, so "before" leaves them out and the net saving pays for them.

Read on the recorder's worker, never on the request path.
"""

from __future__ import annotations

import json

OWN_TOOL_PREFIX = "mcp__headroom__"
# Claude Code adds these for any MCP server: Headroom's cost only when it is the only server.
MCP_RESOURCE_TOOLS = ("ListMcpResourcesTool", "ReadMcpResourceTool", "ReadMcpResourceDirTool")
INSTRUCTIONS_HEADING = "# MCP Server Instructions"
OWN_SECTION = "\n## headroom\n"


def _compact(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _tools(tools: list) -> list[str]:
    named = [t for t in tools if isinstance(t, dict) and isinstance(t.get("name"), str)]
    ours = [t for t in named if t["name"].startswith(OWN_TOOL_PREFIX)]
    if not ours:
        return []
    only_server = all(t["name"].startswith(OWN_TOOL_PREFIX) for t in named if t["name"].startswith("mcp__"))
    resources = [t for t in named if t["name"] in MCP_RESOURCE_TOOLS] if only_server else []
    return [_compact(t) for t in ours + resources]


def _instructions(text: str) -> str | None:
    """Headroom's part of an MCP-instructions block: the whole block when it is the only server's."""
    if INSTRUCTIONS_HEADING not in text or OWN_SECTION not in text:
        return None
    start = text.index(OWN_SECTION)
    rest = text.find("\n## ", start + len(OWN_SECTION))
    if rest < 0 and text[:start].count("\n## ") == 0:
        return text  # the only server: the block exists because of Headroom
    return text[start:rest if rest >= 0 else len(text)]


def _first_texts(body: dict) -> list[str]:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages or not isinstance(messages[0], dict):
        return []
    content = messages[0].get("content")
    blocks = content if isinstance(content, list) else [content]
    return [b["text"] if isinstance(b, dict) else b for b in blocks
            if isinstance(b, str) or (isinstance(b, dict) and isinstance(b.get("text"), str))]


def own_overhead(body_text: str) -> list[str]:
    """The texts (tool definitions as JSON, instruction text) in this request only because of Headroom."""
    if OWN_TOOL_PREFIX not in body_text and OWN_SECTION.strip() not in body_text:
        return []
    try:
        body = json.loads(body_text)
    except ValueError:
        return []
    if not isinstance(body, dict):
        return []
    found = _tools(body["tools"]) if isinstance(body.get("tools"), list) else []
    for text in _first_texts(body):
        part = _instructions(text)
        if part:
            found.append(part)
    return found
