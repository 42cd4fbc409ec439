"""Off the request path: count tokens and write ledger rows.

One worker thread does it in order, so the proxy's event loop never waits on tiktoken or SQLite.
(Originals are stored with the frozen decision, before the request goes upstream.)
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable

from headroom_cli.ledger import Ledger, RequestRecord, Usage
from headroom_cli.pipeline import Outcome
from headroom_cli.proxy.cache_account import account
from headroom_cli.proxy.relay import Ticket
from headroom_cli.proxy.retrieval import definition
from headroom_cli.rewrite import RETRIEVED
from headroom_cli.tokens import count_tokens, dollars_for_input_tokens

log = logging.getLogger("headroom.recorder")


@dataclass
class Exchange:
    """What the proxy learned about one request and its reply."""

    ts: float
    session: str
    provider: str
    path: str
    body_text: str  # the request as the client sent it, for the before count
    model: str | None = None
    outcomes: list[Outcome] = field(default_factory=list)
    status: int | None = None
    usage: Usage = field(default_factory=Usage)
    duration_ms: float | None = None
    ticket: Ticket | None = None  # set when the proxy offered its retrieve tool (the relay's report)
    cache: Any = None  # shaping.CacheNote: breakpoints added, fit, volatile prefix, cache breaks


class Recorder:
    def __init__(self, ledger: Ledger):
        self.ledger = ledger
        self.listeners: list[Callable[[RequestRecord], None]] = []  # called on the worker after each write
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="headroom-recorder")
        self._counts: OrderedDict[str, int] = OrderedDict()  # re-sent parts are counted once

    def record(self, exchange: Exchange) -> None:
        self._worker.submit(self._guard, self._record, exchange)

    def flush(self) -> None:
        self._worker.submit(lambda: None).result()

    def close(self) -> None:
        self._worker.shutdown(wait=True)

    def _guard(self, fn, arg) -> None:
        try:
            fn(arg)
        except Exception as exc:  # bookkeeping must never take the proxy down
            log.warning("could not record savings: %s: %s", type(exc).__name__, exc)

    def _count(self, text: str) -> int:
        if text in self._counts:
            self._counts.move_to_end(text)
            return self._counts[text]
        n = self._counts[text] = count_tokens(text)
        if len(self._counts) > 512:
            self._counts.popitem(last=False)
        return n

    def _account(self, ex: Exchange, record: RequestRecord, savings: list[tuple[Outcome, int]], overhead: int) -> None:
        """Net dollars after the provider's cache prices, cache-write warnings, volatile prefixes."""
        note = ex.cache
        record.net_dollars_saved = record.dollars_saved
        if note is None:
            return
        record.cache_breakpoints = note.breakpoints
        for finding in note.findings:
            self.ledger.record_volatile(ex.session, finding.location, finding.offset, finding.kind, finding.before,
                                        finding.after)
        if ex.status is not None and ex.status >= 400:
            return
        sent = note.sent or ex.body_text
        counted = account(ex.provider, ex.model, ex.usage, sent, savings, overhead, note.broken_chars,
                          note.fit_decided, record.tokens_after)
        record.net_dollars_saved, record.cache_warning = counted.net_dollars_saved, counted.warning
        if counted.warning:
            log.warning("%s", counted.warning)

    def _record(self, ex: Exchange) -> None:
        # Counted honestly: a retrieval's result is in the request only because of Headroom, so it is
        # not part of "before"; the retrieval rounds the proxy answered cost their whole requests.
        sent = count_tokens(ex.body_text)
        retrieved = 0
        engines: dict[str, list[int]] = {}
        saved = 0
        savings: list[tuple[Outcome, int]] = []  # for what they were worth net of caching
        for o in ex.outcomes:
            if o.kind == RETRIEVED:
                retrieved += self._count(o.original)
            if not o.changed or not o.engine:
                continue
            part_before, part_after = self._count(o.original), self._count(o.text)
            entry = engines.setdefault(o.engine, [0, 0, 0])
            entry[0] += 1
            entry[1] += part_before
            entry[2] += part_after
            saved += part_before - part_after
            savings.append((o, part_before - part_after))
        hidden = 0
        if ex.ticket is not None:  # our tool's definition, and whole requests for the rounds we answered
            hidden = self._count(json.dumps(definition(ex.ticket.api))) + sum(map(count_tokens, ex.ticket.continuations))
        record = RequestRecord(
            ts=ex.ts, session=ex.session, provider=ex.provider, model=ex.model, path=ex.path,
            tokens_before=sent - retrieved, tokens_after=sent - saved + hidden, engines=engines, usage=ex.usage,
            status=ex.status, dollars_saved=dollars_for_input_tokens(ex.model, saved - retrieved - hidden),
            duration_ms=ex.duration_ms, retrieval_rounds=ex.ticket.rounds if ex.ticket else 0,
            stream_rebuilt=bool(ex.ticket and ex.ticket.rebuilt),
        )
        self._account(ex, record, savings, retrieved + hidden)
        self.ledger.record(record)
        for listener in self.listeners:
            listener(record)
