"""What a request costs with each provider's prompt-cache prices, and what Headroom saved net of caching.

Anthropic bills cache writes (5-minute cache) at 1.25× the input price and cache reads at 0.1×;
OpenAI has no write premium and bills cached input at a per-model fraction (0.5× for gpt-4o, less
for newer models). A token Headroom removed was worth what the region it sat in was billed at: in
the part of the prompt read from the cache it would have cost 0.1×, in the part written 1.25×.
"""

from __future__ import annotations

from dataclasses import dataclass

from headroom_cli.ledger import Usage
from headroom_cli.tokens import input_price_per_mtok

ANTHROPIC_WRITE = 1.25
ANTHROPIC_READ = 0.10
# Cached input as a fraction of the input price, by model family (longest matching prefix wins).
OPENAI_CACHED: dict[str, float] = {
    "gpt-5": 0.10, "gpt-4.1": 0.25, "o3": 0.25, "o4-mini": 0.25, "gpt-4o": 0.50, "o1": 0.50, "gpt": 0.50,
}
OPENAI_CACHED_DEFAULT = 0.50
# US dollars per million output tokens at list price.
OUTPUT_PRICE_PER_MTOK: dict[str, float] = {
    "claude-opus-4-5": 25.0, "claude-opus-4": 75.0, "claude-3-opus": 75.0, "claude-sonnet-4": 15.0,
    "claude-3-7-sonnet": 15.0, "claude-3-5-sonnet": 15.0, "claude-haiku-4": 5.0, "claude-3-5-haiku": 4.0,
    "claude-3-haiku": 1.25, "claude": 15.0, "gpt-5": 10.0, "gpt-4.1": 8.0, "gpt-4o-mini": 0.6, "gpt-4o": 10.0,
    "o3": 8.0, "o4-mini": 4.4, "gpt": 10.0,
}
DEFAULT_OUTPUT_PRICE = 15.0


def _by_prefix(table: dict[str, float], model: str | None, default: float) -> float:
    name = (model or "").lower().rsplit("/", 1)[-1]
    for prefix in sorted(table, key=len, reverse=True):
        if name.startswith(prefix):
            return table[prefix]
    return default


@dataclass(frozen=True)
class Regions:
    """The prompt's tokens in render order: first ``read`` from the cache, then ``written`` to it,
    then ``fresh``; each at its multiple of the input price."""

    read: int
    written: int
    fresh: int
    read_rate: float
    write_rate: float

    @property
    def total(self) -> int:
        return self.read + self.written + self.fresh

    def rate_at(self, fraction: float | None) -> float:
        """The price multiple of the token at ``fraction`` of the prompt (None: the average)."""
        if self.total == 0:
            return 1.0
        if fraction is None:
            return (self.read * self.read_rate + self.written * self.write_rate + self.fresh) / self.total
        at = fraction * self.total
        if at < self.read:
            return self.read_rate
        if at < self.read + self.written:
            return self.write_rate
        return 1.0


def regions(provider: str, model: str | None, usage: Usage) -> Regions | None:
    """How the upstream billed the prompt; None when it reported no input usage."""
    if usage.input is None:
        return None
    read = usage.cache_read or 0
    if provider == "openai":  # prompt_tokens includes the cached ones; no write premium
        cached = _by_prefix(OPENAI_CACHED, model, OPENAI_CACHED_DEFAULT)
        return Regions(min(read, usage.input), 0, max(0, usage.input - read), cached, 1.0)
    return Regions(read, usage.cache_write or 0, usage.input, ANTHROPIC_READ, ANTHROPIC_WRITE)


def input_cost(provider: str, model: str | None, usage: Usage) -> float | None:
    """Dollars the upstream's reported input costs at list price after prompt caching (reads at the
    cache-read rate, writes at the write rate); None when it reported no input usage."""
    billed = regions(provider, model, usage)
    if billed is None:
        return None
    inputs = billed.read * billed.read_rate + billed.written * billed.write_rate + billed.fresh
    return inputs * input_price_per_mtok(model) / 1_000_000


def cost(provider: str, model: str | None, usage: Usage) -> float | None:
    """Dollars the upstream's reported usage costs at list price, input (with cache) and output."""
    inputs = input_cost(provider, model, usage)
    if inputs is None:
        return None
    return inputs + (usage.output or 0) * _by_prefix(OUTPUT_PRICE_PER_MTOK, model, DEFAULT_OUTPUT_PRICE) / 1e6


def net_saved(provider: str, model: str | None, usage: Usage, savings: list[tuple[float | None, int]],
              broken_tokens: int = 0) -> float:
    """Dollars Headroom saved on one request, net of caching.

    ``savings``: (where in the prompt, 0..1, or None; tokens removed there). ``broken_tokens``: tokens
    the provider had to write again because Headroom changed history the client had not (each
    would otherwise have been read)."""
    price = input_price_per_mtok(model) / 1_000_000
    billed = regions(provider, model, usage)
    if billed is None:  # no usage reported: priced as plain input
        return sum(tokens for _, tokens in savings) * price
    saved = sum(tokens * billed.rate_at(fraction) for fraction, tokens in savings)
    if provider == "openai":  # what is not cached is billed whole: no write premium
        saved -= min(broken_tokens, billed.fresh) * (1.0 - billed.read_rate)
    else:
        saved -= min(broken_tokens, billed.written) * (billed.write_rate - billed.read_rate)
    return saved * price
