"""Net of caching: what Headroom's savings on one request were worth, and when it cost a cache write.

Off the request path (the recorder's worker). Each saving is priced at the rate of the region of the
prompt it sat in, as the upstream billed it (read from the cache, written to it, or fresh): tokens
removed from re-sent, cached history were worth a tenth of tokens removed from the newest turn.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from headroom_cli import jsonspan
from headroom_cli.pipeline import Outcome
from headroom_cli.prices import net_saved, regions
from headroom_cli.tokens import input_price_per_mtok

# Keys whose values the provider renders before the conversation, in its order.
_PREFIX_KEYS = ("tools", "system", "instructions")
_CONVERSATION_KEYS = ("messages", "input")
# A string as json.dumps writes it (ensure_ascii off, then on): the very functions it calls for a str,
# without building an encoder for every text.
_ESCAPES = (json.encoder.encode_basestring, json.encoder.encode_basestring_ascii)


@dataclass
class CacheAccount:
    net_dollars_saved: float
    warning: str | None = None


def fractions(sent: str, texts: list[str], root: jsonspan.Node | None = None) -> list[float | None]:
    """Where each text sits in the prompt as the provider renders it (tools, system, then the
    conversation), as a fraction of the whole; None where it cannot be found. ``root``: the spans of
    ``sent``'s members where the caller knows them (else ``sent`` is indexed here)."""
    try:
        root = jsonspan.index(sent, depth=1) if root is None else root
    except jsonspan.SpanError:
        return [None] * len(texts)
    prefix = sum(root.members[k].end - root.members[k].start for k in _PREFIX_KEYS if k in root.members)
    conversation = next((root.members[k] for k in _CONVERSATION_KEYS if k in root.members), None)
    if conversation is None:
        return [None] * len(texts)
    whole = prefix + conversation.end - conversation.start
    found: list[float | None] = []
    for text in texts:
        at = -1
        for escape in _ESCAPES:
            try:
                encoded = escape(text)[1:-1]
            except UnicodeEncodeError:
                continue
            at = jsonspan.find(sent, encoded, conversation.start, conversation.end) if encoded else -1
            if at >= 0:
                break
        found.append((prefix + at - conversation.start) / whole if at >= 0 and whole else None)
    return found


def account(provider: str, model: str | None, usage, sent: str, savings: list[tuple[Outcome, int]],
            overhead_tokens: int, broken_chars: int, fit_decided: bool, tokens_sent: int,
            root: jsonspan.Node | None = None) -> CacheAccount:
    """``savings``: each changed outcome with the tokens it removed; ``overhead_tokens``: tokens in
    the request only because of Headroom (priced at the request's average rate); ``broken_chars``:
    history Headroom sent differently from last time though the client re-sent it unchanged;
    ``root``: the spans of ``sent``'s members, where known (see fractions)."""
    where = fractions(sent, [o.text for o, _ in savings], root) if savings else []
    priced = [(f, n) for f, (_, n) in zip(where, savings)]
    if overhead_tokens:
        priced.append((None, -overhead_tokens))
    broken = round(broken_chars * tokens_sent / len(sent)) if broken_chars and sent else 0
    net = net_saved(provider, model, usage, priced, broken)
    warning = None
    billed = regions(provider, model, usage)
    rewritten = billed.rebilled if billed is not None else 0
    if broken and rewritten:
        why = ("a context fit changed it to make the request fit" if fit_decided
               else "an earlier compression decision was not replayed (store pruned or cleared?)")
        extra = min(broken, rewritten) * billed.rebill_rate * input_price_per_mtok(model) / 1e6
        warning = (f"cache write caused by Headroom: about {broken:,} tokens of history the client re-sent "
                   f"unchanged were sent differently ({why}), so the provider wrote what it could have read "
                   f"(about ${extra:.4f} more)")
    return CacheAccount(net, warning)
