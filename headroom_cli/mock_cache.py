"""A faithful simulation of Anthropic's prompt cache (and OpenAI's automatic one), for the mock upstream.

Anthropic, as documented: the prompt is rendered tools → system → messages, block by block. A
``cache_control`` marker on a block is a breakpoint: the prefix up to and including it is written to
the cache (for 5 minutes, refreshed on use) when it has at least the model's minimum of tokens. On
a request, the longest prefix already in the cache is read, found at a breakpoint or at any of the
20 block boundaries before one. Usage: ``cache_read_input_tokens`` (the prefix read),
``cache_creation_input_tokens`` (from there to the last breakpoint) and ``input_tokens`` (the rest).
A top-level ``cache_control`` puts the breakpoint on the last block. ``cache_control`` itself is not
content: moving it does not change a prefix. A prompt over the model's context window is refused.

OpenAI: no markers; a prompt of 1,024 tokens or more has its longest prefix seen in an earlier
request cached, in steps of 128 tokens.

Token counts come from ``count`` (default: characters / 4); the session benchmark passes cl100k.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from headroom_cli.prompt import Block, anthropic_blocks, openai_blocks

LOOKBACK_BLOCKS = 20
TTL_S = 300.0
DEFAULT_WINDOW = 200_000
# Smallest prefix Anthropic caches, by model family (longest matching prefix wins).
MIN_CACHEABLE: dict[str, int] = {
    "claude-3-haiku": 2048, "claude-3-5-haiku": 2048, "claude-haiku-4": 4096, "claude-opus-4-5": 4096, "claude": 1024,
}
OPENAI_MIN, OPENAI_STEP = 1024, 128


def _by_prefix(table: dict[str, int], model: str, default: int) -> int:
    name = model.lower().rsplit("/", 1)[-1]
    for prefix in sorted(table, key=len, reverse=True):
        if name.startswith(prefix):
            return table[prefix]
    return default


@dataclass
class Charge:
    """What one request was billed for, or why it was refused."""

    model: str
    input: int = 0  # fresh input tokens (Anthropic: outside the cache; OpenAI: all prompt tokens)
    cache_read: int = 0
    cache_write: int = 0
    total: int = 0
    error: str | None = None

    def anthropic_usage(self) -> dict[str, int]:
        return {"input_tokens": self.input, "cache_creation_input_tokens": self.cache_write,
                "cache_read_input_tokens": self.cache_read}


@dataclass
class PromptCache:
    count: Callable[[str], int] = lambda text: max(1, len(text) // 4)
    windows: Callable[[str], int | None] | None = None  # model -> input context window; None: no limit
    ttl_s: float = TTL_S
    clock: Callable[[], float] = time.monotonic
    charges: list[Charge] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._entries: dict[tuple[str, str], float] = {}  # (model, prefix hash) -> expiry
        self._openai: dict[tuple[str, str], int] = {}  # (model, prefix hash) -> tokens up to there
        self._tokens: dict[str, int] = {}
        self._lock = threading.Lock()

    def _count(self, block: Block) -> int:
        key = hashlib.sha1(block.text.encode("utf-8", "surrogatepass")).hexdigest()
        if key not in self._tokens:
            self._tokens[key] = self.count(block.text)
        return self._tokens[key] + block.image_tokens

    def _prefixes(self, model: str, blocks: list[Block]) -> tuple[list[str], list[int]]:
        hashes, tokens = [], []
        digest = hashlib.sha256(model.encode())
        running = 0
        for block in blocks:
            digest.update(hashlib.sha256(block.canon.encode("utf-8", "surrogatepass")).digest())
            hashes.append(digest.copy().hexdigest())
            running += self._count(block)
            tokens.append(running)
        return hashes, tokens

    def _too_long(self, model: str, total: int) -> str | None:
        window = self.windows(model) if self.windows else None
        if window and total > window:
            return f"prompt is too long: {total} tokens > {window} maximum"
        return None

    def anthropic(self, body: dict[str, Any]) -> Charge:
        model = str(body.get("model") or "")
        blocks = anthropic_blocks(body)
        with self._lock:
            hashes, tokens = self._prefixes(model, blocks)
            total = tokens[-1] if tokens else 0
            charge = Charge(model, total=total)
            charge.error = self._too_long(model, total)
            if charge.error:
                self.charges.append(charge)
                return charge
            now = self.clock()
            breakpoints = [i for i, b in enumerate(blocks) if b.breakpoint]
            hit = -1
            for b in breakpoints:
                for i in range(b, max(-1, b - LOOKBACK_BLOCKS), -1):
                    if i > hit and self._entries.get((model, hashes[i]), 0) > now:
                        hit = i
                        break
            read = tokens[hit] if hit >= 0 else 0
            if hit >= 0:
                self._entries[(model, hashes[hit])] = now + self.ttl_s
            minimum = _by_prefix(MIN_CACHEABLE, model, 1024)
            written_to = hit
            for b in breakpoints:
                if b > hit and tokens[b] >= minimum:
                    self._entries[(model, hashes[b])] = now + self.ttl_s
                    written_to = b
            write = tokens[written_to] - read if written_to > hit else 0
            charge.cache_read, charge.cache_write, charge.input = read, write, total - read - write
            self.charges.append(charge)
            return charge

    def openai(self, body: dict[str, Any]) -> Charge:
        model = str(body.get("model") or "")
        blocks = openai_blocks(body)
        with self._lock:
            hashes, tokens = self._prefixes(model, blocks)
            total = tokens[-1] if tokens else 0
            charge = Charge(model, input=total, total=total)
            charge.error = self._too_long(model, total)
            if charge.error:
                self.charges.append(charge)
                return charge
            cached = max((self._openai.get((model, h), 0) for h in hashes), default=0)
            if total >= OPENAI_MIN and cached >= OPENAI_MIN:
                charge.cache_read = OPENAI_MIN + (min(cached, total) - OPENAI_MIN) // OPENAI_STEP * OPENAI_STEP
            if total >= OPENAI_MIN:
                for h, n in zip(hashes, tokens):
                    self._openai[(model, h)] = n
            self.charges.append(charge)
            return charge
