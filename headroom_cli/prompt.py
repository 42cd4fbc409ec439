"""The prompt as the model reads it, block by block: what a provider bills, and what its cache keys.

Anthropic renders tools → system → messages; each tool definition is its JSON, each other block its
words (a text, a tool result's content, a call's name and input), not the JSON escapes around them.
OpenAI's chat and responses bodies: the tools, the instructions, then one block per item. Used to count
a request's tokens (``prompt_tokens``) and by the mock upstream's cache simulation.
"""

from __future__ import annotations

import json
from typing import Any, Callable


def without_cache_control(value: Any) -> Any:
    """The value with every ``cache_control`` marker taken out: they are not content."""
    if isinstance(value, dict):
        return {k: without_cache_control(v) for k, v in value.items() if k != "cache_control"}
    if isinstance(value, list):
        return [without_cache_control(v) for v in value]
    return value


def canon(value: Any) -> str:
    """What a cache keys: the value without its cache_control markers, keys in a fixed order."""
    return json.dumps(without_cache_control(value), sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def as_sent(value: Any) -> str:
    """What the model reads of a JSON value (a tool's definition, a call's input): keys as sent."""
    return json.dumps(without_cache_control(value), ensure_ascii=False, separators=(",", ":"))


class Block:
    """One block of the prompt. ``canon`` (what the cache hashes) is made only when asked: counting a
    request's tokens reads only the words, and serialising every block of a 100 KB body again was
    most of what counting a re-sent history cost."""

    __slots__ = ("_canon", "breakpoint", "text", "image_tokens")

    def __init__(self, canon: str | Callable[[], str], breakpoint: bool, text: str = "", image_tokens: int = 0):
        self._canon = canon
        self.breakpoint = breakpoint
        self.text = text  # what is counted: the words as the model reads them, not JSON escapes
        self.image_tokens = image_tokens  # what its images bill (their own arithmetic, not cl100k)
        if not image_tokens:
            self.text = text or self.canon

    @property
    def canon(self) -> str:
        if not isinstance(self._canon, str):
            self._canon = self._canon()
        return self._canon


def _content_block(kind: str, value: Any, provider: str) -> Block:
    """A block of the conversation; the data images in it billed by ``provider``'s arithmetic."""
    key: str | Callable[[], str] = lambda: kind + ":" + canon(value)  # noqa: E731
    images = 0
    if _has_image(value):  # only a block with an image part can bill any: serialised only then, once
        key = key()
        images = billed_images(value, provider) if _IMAGE_HINT in key else 0
    return Block(key, isinstance(value, dict) and "cache_control" in value, words(value), images)


_IMAGE_TYPES = ("image", "image_url", "input_image")
_IMAGE_HINT = "base64"  # in the canon text of every block that holds a data image (cheap to look for)


def _has_image(value: Any) -> bool:
    """Whether the value holds an image part (the only places billed_images finds anything)."""
    if isinstance(value, list):
        return any(_has_image(v) for v in value)
    if not isinstance(value, dict):
        return False
    return value.get("type") in _IMAGE_TYPES or any(_has_image(v) for v in value.values() if isinstance(v, (dict, list)))


def billed_images(value: Any, provider: str) -> int:
    """What the base64 images inside a block bill, by the provider's own arithmetic (images/tokens.py)."""
    from headroom_cli.images.wire import billed_data_image

    if isinstance(value, list):
        return sum(billed_images(v, provider) for v in value)
    if not isinstance(value, dict):
        return 0
    if value.get("type") in _IMAGE_TYPES:
        return billed_data_image(value, provider)
    return sum(billed_images(v, provider) for v in value.values() if isinstance(v, (dict, list)))


def words(block: Any) -> str:
    """A block as the model reads it: its text, a tool result's content, a call's name and input (an
    image's words are none: it is billed by its pixels, see Block.image_tokens)."""
    if isinstance(block, str):
        return block
    if isinstance(block, dict) and block.get("type") in _IMAGE_TYPES:
        return ""
    if isinstance(block, dict) and isinstance(block.get("output"), list):  # a Responses tool output given as parts
        return "\n".join(words(b) for b in block["output"])
    if isinstance(block, dict):
        if isinstance(block.get("text"), str):
            return block["text"]
        if block.get("type") == "tool_result" or "content" in block:
            content = block.get("content")
            return content if isinstance(content, str) else "\n".join(words(b) for b in content or [])
        if block.get("type") == "tool_use":
            return f"{block.get('name')} {as_sent(block.get('input'))}"
    return as_sent(block)


def anthropic_blocks(body: dict[str, Any]) -> list[Block]:
    """The prompt as the cache sees it, in render order; a string is one text block."""
    head, items, render = _layout(body, "anthropic")
    blocks = head + [block for item in items for block in render(item)]
    if "cache_control" in body and blocks:  # automatic caching: the breakpoint is the last block
        blocks[-1].breakpoint = True
    return blocks


def _anthropic_head(body: dict[str, Any]) -> list[Block]:
    """The tools and the system prompt: what is rendered before the messages."""
    blocks: list[Block] = []
    for tool in body.get("tools") or []:  # canon serialised only when asked (counting reads only the words)
        blocks.append(Block(lambda tool=tool: "tool:" + canon(tool), isinstance(tool, dict) and "cache_control" in tool,
                            as_sent(tool)))
    system = body.get("system")
    if isinstance(system, str):
        blocks.append(Block(lambda: "system:" + canon({"type": "text", "text": system}), False, system))
    elif isinstance(system, list):
        for block in system:
            blocks.append(Block(lambda block=block: "system:" + canon(block),
                                isinstance(block, dict) and "cache_control" in block, words(block)))
    return blocks


def _message_blocks(message: Any) -> list[Block]:
    if not isinstance(message, dict):
        return []
    role = str(message.get("role"))
    content = message.get("content")
    if isinstance(content, str):
        content = [{"type": "text", "text": content}]
    return [_content_block(role, block, "anthropic") for block in (content if isinstance(content, list) else [])]


def openai_blocks(body: dict[str, Any]) -> list[Block]:
    head, items, render = _layout(body, "openai")
    return head + [block for item in items for block in render(item)]


def _layout(body: dict[str, Any], provider: str) -> tuple[list[Block], Any, Callable[[Any], list[Block]]]:
    """What ``provider`` renders before the conversation (tools, system), the conversation's items, and
    how an item renders as blocks."""
    if provider == "anthropic":
        return _anthropic_head(body), body.get("messages") or [], _message_blocks
    return _openai_head(body), _openai_items(body), lambda item: [_content_block("item", item, "openai")]


def _openai_head(body: dict[str, Any]) -> list[Block]:
    blocks = [Block("tool:" + canon(t), False, as_sent(t)) for t in body.get("tools") or []]
    if isinstance(body.get("instructions"), str):
        blocks.append(Block("instructions:" + body["instructions"], False))
    return blocks


def _openai_items(body: dict[str, Any]) -> list[Any]:
    items = body.get("messages") if isinstance(body.get("messages"), list) else body.get("input")
    if isinstance(items, str):
        items = [{"role": "user", "content": items}]
    return items if isinstance(items, list) else []


def blocks_of(body: Any, provider: str) -> list[Block] | None:
    """The body's blocks as ``provider`` ("anthropic" | "openai") renders them; None for what is not a prompt."""
    if not isinstance(body, dict):
        return None
    return anthropic_blocks(body) if provider == "anthropic" else openai_blocks(body)


def prompt_tokens(body_text: str, count: Callable[[str], int], provider: str, body: Any = None,
                  seen: dict[int, tuple[Any, int]] | None = None) -> int:
    """The tokens of a request body's prompt as the model reads them; a body that is not one is counted
    as it is. ``body``: ``body_text`` already read, where the caller has it (not read twice). ``seen``:
    the tokens of each message counted before, by identity (the caller's, for one request: its client
    body and the body sent share every message the engines left alone, counted then once)."""
    if body is None:
        try:
            body = json.loads(body_text)
        except (ValueError, RecursionError):
            body = None
    if not isinstance(body, dict):
        return count(body_text)
    head, items, render = _layout(body, provider)
    total = sum(count(block.text) + block.image_tokens for block in head)
    for item in items:
        known = seen.get(id(item)) if seen is not None else None
        if known is not None and known[0] is item:
            total += known[1]
            continue
        n = sum(count(block.text) + block.image_tokens for block in render(item))
        if seen is not None:
            seen[id(item)] = (item, n)  # the item held too: its id is not reused while the entry lives
        total += n
    return total
