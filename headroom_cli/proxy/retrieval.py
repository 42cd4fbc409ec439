"""Proxy-answered retrieval: offer the model a `headroom_retrieve` tool, and answer its calls.

For clients without Headroom's MCP server (SDK apps, anything behind `headroom proxy`). The tool is
added to the request's tools with one byte splice, the same definition every time, so the tools
array (and the provider's prompt cache over it) stays stable turn after turn. It is offered to a
conversation that has tools of its own from its first request on, and to one without tools from
the first request that carries a marker; never when the client already has the tool (the MCP
server) or forces a tool choice (the model could then only call ours, round after round). Every
request it is offered on goes through the relay (proxy/relay.py), which answers its calls: a tool
offered where nobody answers it would reach the client as an unknown tool.
"""

from __future__ import annotations

import base64
import functools
import json
import logging
from dataclasses import dataclass
from typing import Any, Callable

from headroom_cli import jsonspan
from headroom_cli.ledger import Ledger
from headroom_cli.mcp import is_retrieval
from headroom_cli.providers import API_PATHS, by_api
from headroom_cli.retrieve import ARGUMENTS_SCHEMA, IMAGE_KIND, RETRIEVE_DESCRIPTION, ToolFailure, redeem
from headroom_cli.store import Store

log = logging.getLogger("headroom.retrieval")

TOOL_NAME = "headroom_retrieve"
ANTHROPIC_API = "anthropic-messages"
OPENAI_CHAT_API = "openai-chat"
APIS = tuple(api for api in API_PATHS if by_api(api).answers_retrieval)  # Messages and Chat Completions
_MARKER_HINT = b"retrieve hr_"


def definition(api: str) -> dict[str, Any]:
    return by_api(api).tool_definition(TOOL_NAME, RETRIEVE_DESCRIPTION, ARGUMENTS_SCHEMA)


@functools.lru_cache(maxsize=None)
def definition_text(api: str) -> str:
    """The definition exactly as it is spliced into a request (and as its tokens are counted): made,
    and proven to read back as the definition, once per API."""
    text = json.dumps(definition(api), ensure_ascii=False, separators=(",", ":"))
    if json.loads(text) != definition(api):
        raise ValueError(f"the {api} retrieve tool does not read back as itself")
    return text


def has_markers(raw: bytes) -> bool:
    """Whether the conversation holds a marker: only then has the model an ID to ask for."""
    return _MARKER_HINT in raw


def should_offer(raw: bytes, body: dict[str, Any], api: str) -> bool:
    if api not in APIS:
        return False
    tools = body.get("tools")
    if tools is not None and not isinstance(tools, list):
        return False
    wire = by_api(api)
    if any(is_retrieval(name) for name in wire.defined_tool_names(tools or [])):
        return False  # the client has the MCP tool: it answers the calls itself
    if wire.forces_a_tool(body.get("tool_choice")):
        return False
    return bool(tools) or has_markers(raw)


def offer(raw: bytes, body: dict[str, Any], api: str,
          spans: Callable[[str], jsonspan.Node | None] | None = None) -> bytes | None:
    """The body with our tool appended to its tools (or a tools array added), every other byte as it
    was; None when the tool is not to be offered or the splice cannot be proven right. ``body``: what
    ``raw`` reads as; ``spans``: where its root's members stand in its text, where the caller knows
    (Rewrite.root_in: from the one reading of the request), else the text is indexed here."""
    if not should_offer(raw, body, api):
        return None
    tool = definition_text(api)  # proven to read back as definition(api)
    try:
        text = raw.decode("utf-8")
        root = spans(text) if spans is not None else None
        root = jsonspan.index(text, depth=1) if root is None else root  # indexing proves the text is JSON
    except (UnicodeDecodeError, jsonspan.SpanError):
        return None
    if root.kind != "object" or text[root.start] != "{" or text[root.end - 1] != "}":
        return None
    # The proof is by where the splice goes: the tool's JSON is put right after the last item of the
    # object's "tools" array (the member a reader keeps where the key repeats, as the index does), or
    # as that array in a new last member. The body then reads as ``body`` with our tool appended to
    # its tools, without reading 100 KB again to check.
    tools = root.get("tools")
    if tools is not None:
        if tools.kind != "array" or text[tools.start] != "[" or text[tools.end - 1] != "]":
            return None
        at = jsonspan.before_space(text, tools.end - 1)  # right after the client's last tool, if any
        edit = (at, at, ("," if at > tools.start + 1 else "") + tool)
    else:
        edit = jsonspan.insert_member(text, root, f'"tools":[{tool}]')
    return jsonspan.splice(text, [edit]).encode("utf-8")


def offered_body(body: dict[str, Any], api: str) -> dict[str, Any]:
    """What the body ``offer`` made reads as (for counting its tokens without reading it again)."""
    return dict(body, tools=[*(body.get("tools") or []), definition(api)])


# Anthropic refuses an image over 5 MB of base64 (OpenAI allows 20 MB; the smaller limit serves both).
MAX_IMAGE_BASE64 = 5 * 1024 * 1024


@dataclass(frozen=True)
class Answer:
    text: str
    is_error: bool
    part_id: str
    image: tuple[str, str] | None = None  # (media type, base64) of an original image, handed back as an image


def image_answer(store: Store, part_id: str) -> Answer | None:
    """An image original as an image the model can look at (None when ``part_id`` is no stored image)."""
    if store.kind_of(part_id) != IMAGE_KIND:
        return None
    from headroom_cli.images.decide import image_size, media_type_of  # pillow only when an image is asked for

    data = store.fetch_for_retrieval(part_id) or ""
    raw = base64.b64decode(data)
    media, size = media_type_of(raw), image_size(raw)
    if media is None or size is None or len(data) > MAX_IMAGE_BASE64:
        return Answer(f"{part_id} is an image the provider would not take back as one ({len(raw):,} bytes); "
                      f"`headroom retrieve {part_id} --out FILE` writes its original bytes.", True, part_id)
    return Answer(f"[headroom: the original image {part_id}, {size[0]}x{size[1]}, follows]", False, part_id,
                  (media, data))


def answer(store: Store, ledger: Ledger | None, session: str, arguments: Any, owner: str | None = None) -> Answer:
    """The model's retrieve call, answered from the store (``store`` scoped to ``owner`` already: see
    tokens_auth.scoped); a bad call gets a clear tool error. Recorded as ``owner``'s retrieval."""
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments or "{}")
        except ValueError:
            arguments = None
    if not isinstance(arguments, dict):
        return Answer("headroom_retrieve takes a JSON object with `id` (and optionally `lines`, `pattern`). "
                      "Do not retry with a guess.", True, "")
    part_id = str(arguments.get("id") or "").strip()
    lines, pattern = arguments.get("lines"), arguments.get("pattern")
    image = image_answer(store, part_id) if part_id.startswith("hr_") else None
    if image is not None:
        _record(ledger, session, part_id, None, len(image.image[1]) if image.image else 0, owner)
        return image
    try:
        text = redeem(store, part_id, str(lines) if lines else None, str(pattern) if pattern else None)
    except ToolFailure as exc:
        return Answer(str(exc), True, part_id)
    _record(ledger, session, part_id, str(lines) if lines else None, len(text.encode("utf-8", "surrogatepass")), owner)
    return Answer(text, False, part_id)


def _record(ledger: Ledger | None, session: str, part_id: str, lines: str | None, size: int, owner: str | None) -> None:
    if ledger is not None:
        try:
            ledger.record_retrieval(session, part_id, lines, size, owner)
        except Exception as exc:  # bookkeeping must not cost the model its answer
            log.warning("could not record a retrieval: %s", exc)
