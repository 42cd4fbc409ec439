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

# The rates and prices live in providers/models.py; re-exported here for the callers that import them from here.
from headroom_cli.providers.models import (ANTHROPIC_READ, ANTHROPIC_WRITE, DEFAULT_OUTPUT_PRICE,  # noqa: E402,F401
                                           OPENAI_CACHED, OPENAI_CACHED_DEFAULT, OUTPUT_PRICE_PER_MTOK,
                                           openai_cached_rate, output_price_per_mtok)


@dataclass(frozen=True)
class Regions:
    """The prompt's tokens in render order: first ``read`` from the cache, then ``written`` to it,
    then ``fresh``; each at its multiple of the input price."""

    read: int
    written: int
    fresh: int
    read_rate: float
    write_rate: float
    write_premium: bool = True  # False: what is cached was billed as fresh input (OpenAI), no write

    @property
    def total(self) -> int:
        return self.read + self.written + self.fresh

    @property
    def rebilled(self) -> int:
        """Where a prefix the cache could have served, had it not changed, is billed again: the region
        written to the cache, or without a write premium the fresh input."""
        return self.written if self.write_premium else self.fresh

    @property
    def rebill_rate(self) -> float:
        """What each such token costs beyond a cache read, as a multiple of the input price."""
        return (self.write_rate if self.write_premium else 1.0) - self.read_rate

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
        cached = openai_cached_rate(model)
        return Regions(min(read, usage.input), 0, max(0, usage.input - read), cached, 1.0, write_premium=False)
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
    return inputs + (usage.output or 0) * output_price_per_mtok(model) / 1e6


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
    saved -= min(broken_tokens, billed.rebilled) * billed.rebill_rate
    return saved * price
