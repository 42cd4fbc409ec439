"""Off the request path: count tokens and write ledger rows.

One worker thread does it in order, so the proxy's event loop never waits on tiktoken or SQLite.
(Originals are stored with the frozen decision, before the request goes upstream.)
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable

from headroom_cli.ledger import Ledger, RequestRecord, Usage
from headroom_cli.pipeline import Outcome
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

    def _record(self, ex: Exchange) -> None:
        before = count_tokens(ex.body_text)
        engines: dict[str, list[int]] = {}
        saved = 0
        for o in ex.outcomes:
            if not o.changed or not o.engine:
                continue
            part_before, part_after = self._count(o.original), self._count(o.text)
            entry = engines.setdefault(o.engine, [0, 0, 0])
            entry[0] += 1
            entry[1] += part_before
            entry[2] += part_after
            saved += part_before - part_after
        record = RequestRecord(
            ts=ex.ts, session=ex.session, provider=ex.provider, model=ex.model, path=ex.path,
            tokens_before=before, tokens_after=before - saved, engines=engines, usage=ex.usage,
            status=ex.status, dollars_saved=dollars_for_input_tokens(ex.model, saved),
            duration_ms=ex.duration_ms,
        )
        self.ledger.record(record)
        for listener in self.listeners:
            listener(record)
