"""Off the request path: count tokens and write ledger rows.

One worker thread does it in order, so the proxy's event loop never waits on SQLite. When that worker is
idle, the loop counts a request itself, if counting it needs no I/O and little new text (re-sent history
is counted once, so that is most requests): waking the worker and waiting for it cost the loop more than
the count, on a busy machine (Recorder.record). The listeners and the ledger's rows stay on the worker.
(Originals are stored with the frozen decision, before the request goes upstream.)

Rows are written in batches of one transaction each (a row waits up to LEDGER_WAIT_S for others, even
when requests come one at a time); past ESTIMATE_BEYOND waiting requests
their token counts are estimated (4 characters a token: counting a 95 KB body exactly takes ~25 ms,
so a busy proxy outruns the worker), warned about once; the queue is bounded all the same (the oldest
waiting request is dropped, counted, warned about once). /headroom/stats reads running totals kept
here (never the queue), and close() finishes within a deadline: what is still waiting then is recorded
with estimated counts rather than lost.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any, Callable

from headroom_cli import here
from headroom_cli.backends.postgres import DatabaseUnavailable
from headroom_cli.bounded import Bounded
from headroom_cli.ledger import Ledger, RequestRecord, Totals, Usage
from headroom_cli.pipeline import Outcome
from headroom_cli.prompt import prompt_tokens
from headroom_cli.proxy.cache_account import account
from headroom_cli.proxy.own_overhead import own_overhead
from headroom_cli.proxy.retrieval import definition_text
from headroom_cli.rewrite import RETRIEVED
from headroom_cli.images.wire import tokens_of as image_tokens
from headroom_cli.tokens import CHUNKS, KNOWN, chunk_tokens, count_tokens, dollars_for_input_tokens, piece_chunks, text_key

if TYPE_CHECKING:  # the relay needs the proxy's packages (h11, httpx); the library records without it
    from headroom_cli.proxy.relay import Ticket

log = logging.getLogger("headroom.recorder")

MAX_PENDING = 256  # requests waiting to be counted; each holds its body (≈ 100 KB for a coding agent)
ESTIMATE_BEYOND = 32  # waiting requests past which counts are estimated, so rows trail by seconds at most
BATCH = 32  # requests counted at a time
# A counted request's row waits for others to share its ledger transaction (one per row was ~15% of the
# recorder's CPU under load), up to LEDGER_ROWS of them or LEDGER_WAIT_S; /headroom/stats's running totals
# and the per-request line do not wait, and flush() and close() write at once.
LEDGER_ROWS = 32
LEDGER_WAIT_S = 0.2
COUNTS_KEPT = 16384  # token counts of parts and prompt blocks remembered: re-sent histories (≈ 150 B each;
# a team gateway serves dozens of conversations at once, each with a hundred blocks and parts)
MESSAGES_KEPT = 8192  # token counts of whole messages by their bytes' SHA-1 (≈ 150 B each)
PARTS_KEPT = 4096  # token counts of compressed parts by their output's object (the decision memo's size)
CLOSE_DEADLINE_S = 0.8  # from the start of shutdown; then the rest is estimated (4 characters a token)
# Counted on the caller's thread (record(..., wait_s)) only while the texts not counted before come to at
# most this many characters (~1 ms of tokenizing with toktok): more, and the request goes to the worker as before.
HERE_MAX_NEW_CHARS = 65536


@dataclass
class Exchange:
    """What the proxy learned about one request and its reply."""

    ts: float
    session: str
    provider: str
    path: str
    body_text: str  # the request as the client sent it, for the before count
    sent_text: str | None = None  # the request as forwarded upstream, for the after count (None: unchanged)
    model: str | None = None
    outcomes: list[Outcome] = field(default_factory=list)
    status: int | None = None
    usage: Usage = field(default_factory=Usage)
    duration_ms: float | None = None
    ticket: Ticket | None = None  # set when the proxy offered its retrieve tool (the relay's report)
    cache: Any = None  # shaping.CacheNote: breakpoints added, fit, volatile prefix, cache breaks
    owner: str | None = None  # whose personal token the request carried (tokens_auth.py)


def release(ex: Exchange) -> None:
    """Let go of what an exchange holds once it is counted (or dropped): the bodies as sent and as
    received, the parts, the shaped text. The proxy's finished flows keep their exchange, and they
    wait for Python's cycle collector (mitmproxy's flows and connections refer to each other), so
    under load a worker held a few hundred of them: about 4 copies of a 100 KB body each, 50 MB
    rising and falling with the collector. The counts are taken; nothing reads these again."""
    ex.body_text, ex.sent_text, ex.outcomes, ex.cache, ex.ticket = "", None, [], None, None


class RunningTotals:
    """What /headroom/stats shows, kept in memory as rows are written: all time (the ledger's totals when
    the recorder started, plus what it wrote since) and per session. Reading it never touches SQLite.
    A shared database unreachable when they are first needed (a proxy started while PostgreSQL is down)
    leaves them at what this process recorded; the ledger's rows from before this recorder started are
    added once it is back (only those: the rows held meanwhile, counted here already, may be in by then)."""

    def __init__(self, ledger: Ledger):
        self._lock = threading.Lock()
        self._ledger = ledger
        self._started = time.time()  # every row this process records is from a request after it
        self._all = Totals()
        self._all_loaded = False
        self._sessions: dict[str, tuple[Totals, dict[str, list[int]]]] = {}
        self._unloaded: set[str] = set()  # sessions whose earlier rows could not be read yet
        self._load_all(None)

    def _load_all(self, until: float | None) -> None:
        try:
            base = self._ledger.totals(until=until)
        except DatabaseUnavailable:
            return
        with self._lock:
            self._all, self._all_loaded = _plus(base, self._all), True

    def prepare(self, sessions: set[str]) -> None:
        """Load what the ledger already holds for sessions not seen yet (before their new rows go in)."""
        if not self._all_loaded:
            self._load_all(self._started)
        for session in (sessions - self._sessions.keys()) | (sessions & self._unloaded):
            until = self._started if session in self._unloaded else None
            try:
                base = (self._ledger.totals(session, until=until), self._ledger.per_engine(session, until=until))
            except DatabaseUnavailable:
                with self._lock:
                    self._sessions.setdefault(session, (Totals(), {}))
                    self._unloaded.add(session)
                continue
            with self._lock:
                if session in self._unloaded:
                    self._unloaded.discard(session)
                    mine, engines = self._sessions[session]
                    base = (_plus(base[0], mine), _plus_engines(base[1], engines))
                    self._sessions[session] = base
                else:
                    self._sessions.setdefault(session, base)

    def loaded(self, session: str) -> bool:
        """Whether adding a row of ``session`` needs no prepare() (nothing to read from the ledger first)."""
        with self._lock:
            return self._all_loaded and session in self._sessions and session not in self._unloaded

    def add(self, r: RequestRecord) -> None:
        with self._lock:
            session, engines = self._sessions.setdefault(r.session, (Totals(), {}))
            for totals in (self._all, session):
                _fold(totals, r)
            for name, (parts, before, after) in r.engines.items():
                acc = engines.setdefault(name, [0, 0, 0])
                acc[0] += parts
                acc[1] += before
                acc[2] += after

    def snapshot(self, session: str) -> tuple[Totals, Totals, dict]:
        """(this session, all time, this session's engines as /headroom/stats shows them)."""
        with self._lock:
            mine, engines = self._sessions.get(session, (Totals(), {}))
            return replace(mine), replace(self._all), {
                name: {"parts": p, "tokens_before": b, "tokens_after": a} for name, (p, b, a) in sorted(engines.items())}


_digest = text_key  # the same key as tokens.KNOWN's, so one hash looks up both


def _plus(a: Totals, b: Totals) -> Totals:
    return Totals(**{f.name: getattr(a, f.name) + getattr(b, f.name) for f in fields(Totals)})


def _plus_engines(a: dict[str, list[int]], b: dict[str, list[int]]) -> dict[str, list[int]]:
    out = {name: list(counts) for name, counts in a.items()}
    for name, counts in b.items():
        out[name] = [x + y for x, y in zip(out.get(name, [0, 0, 0]), counts)]
    return out


def _fold(t: Totals, r: RequestRecord) -> None:
    """Ledger.totals' sums, one row at a time."""
    t.requests += 1
    t.tokens_before += r.tokens_before
    t.tokens_after += r.tokens_after
    t.dollars_saved += r.dollars_saved
    t.usage_input += r.usage.input or 0
    t.usage_output += r.usage.output or 0
    t.usage_cache_read += r.usage.cache_read or 0
    t.usage_cache_write += r.usage.cache_write or 0
    t.net_dollars_saved += r.dollars_saved if r.net_dollars_saved is None else r.net_dollars_saved
    t.cache_warnings += r.cache_warning is not None
    if r.usage.input is not None:
        t.add_priced(r.provider, r.model, r.usage, r.dollars_saved if r.net_dollars_saved is None else r.net_dollars_saved)


class Recorder:
    def __init__(self, ledger: Ledger, max_pending: int = MAX_PENDING, estimate_beyond: int = ESTIMATE_BEYOND):
        self.ledger = ledger
        self.estimate_beyond = estimate_beyond
        self.listeners: list[Callable[[RequestRecord], None]] = []  # called on the worker after each write
        self.totals = RunningTotals(ledger)
        self.max_pending = max_pending
        self.dropped = 0  # requests never recorded: the queue was full
        self.estimated = 0  # requests recorded with estimated token counts (under load, at shutdown)
        self._counts: Bounded[bytes, int] = Bounded(COUNTS_KEPT, lru=True)  # re-sent parts and blocks: counted once
        # This request's texts by value: the forwarded body and the outcomes repeat most of the client's
        # blocks, and an equal string is found by its hash without encoding and SHA-1-ing it again.
        self._this: dict[str, int] = {}
        # A message's tokens by the SHA-1 of the JSON bytes it was read from (CacheNote.message_keys):
        # a conversation re-sends its history every turn, and one lookup spares walking its blocks.
        self._messages: Bounded[bytes, int] = Bounded(MESSAGES_KEPT, lru=True)
        # A part's tokens before and after by its compressed text's id(), that text kept with them: see _part.
        self._parts: Bounded[int, tuple[str, int, int, int]] = Bounded(PARTS_KEPT, lru=True)
        self._pending: deque[Exchange] = deque()
        self._unwritten: list[RequestRecord] = []  # counted, in the running totals, not yet in the ledger
        self._unwritten_since = 0.0  # monotonic time the oldest of them was counted
        self._flushing = 0  # callers waiting in flush(): rows are written at once
        self._busy = 0  # taken by the worker, not written yet
        self._cond = threading.Condition()
        self._hurry = False  # past the close deadline
        self._estimating = False  # this request's counts are estimated
        self._stop = False
        self._here = False  # a request is being counted on the caller's thread (record())
        self._announce: list[RequestRecord] = []  # counted here, for the worker to hand to the listeners
        self._worker = threading.Thread(target=self._loop, name="headroom-recorder", daemon=True)
        self._worker.start()

    @property
    def backlog(self) -> int:
        """Requests not yet in the ledger (nor in the running totals)."""
        return len(self._pending) + self._busy + self._here

    def record(self, exchange: Exchange, wait_s: float = 0.0) -> None:
        """Queue the exchange for the worker. ``wait_s`` (the proxy's event loop): when the worker is idle,
        count it here instead, if that needs no I/O and little new text (see _count_here), else wait that
        long at most for the worker to count it. Either way the loop then runs alone instead of taking
        turns with the worker for the GIL (proxy/offload.py), and here it also wakes no thread to wait on."""
        with self._cond:
            if self._stop:
                return
            idle = not self._pending and not self._busy and not self._here
            mine = wait_s > 0 and idle and self._countable_here(exchange)
            self._here = mine  # the worker leaves the counting memos alone meanwhile
        if mine and self._count_here(exchange):
            return
        with self._cond:
            dropped = self._queue(exchange)
            if wait_s > 0 and idle:
                self._cond.wait_for(lambda: not self._pending and not self._busy, wait_s)
        if dropped and self.dropped == 1:
            log.warning("the savings ledger is falling behind: requests beyond %d waiting are not recorded "
                        "(/headroom/stats counts them as unrecorded)", self.max_pending)

    def _queue(self, exchange: Exchange) -> bool:
        """For the worker (called holding _cond); whether the oldest waiting request was dropped for it."""
        self._pending.append(exchange)
        dropped = len(self._pending) > self.max_pending
        if dropped:
            release(self._pending.popleft())
            self.dropped += 1
        self._cond.notify_all()
        return dropped

    def _countable_here(self, ex: Exchange) -> bool:
        """Whether counting ``ex`` needs no I/O: its session's totals are loaded, and it has no volatile
        prefix to note in the ledger (the listeners and the ledger's rows are left to the worker)."""
        return not self._hurry and not (ex.cache is not None and ex.cache.findings) and self.totals.loaded(ex.session)

    def _count_here(self, ex: Exchange) -> bool:
        """Count ``ex`` on this thread (holding _here), in a here.block that _tokens spends new text from;
        False, with nothing changed but the memos of counts, when its new text is more than
        HERE_MAX_NEW_CHARS: it is then the worker's."""
        keys = ex.cache.message_keys if ex.cache is not None else None
        self._estimating = False
        record = None
        try:
            with here.block(HERE_MAX_NEW_CHARS):
                record = self._record(ex)
        except here.NotHere:
            if keys is not None:
                ex.cache.message_keys = keys  # taken by _known_messages: the worker's count uses them too
            return False
        except Exception as exc:  # bookkeeping must never take the proxy down
            log.warning("could not record savings: %s: %s", type(exc).__name__, exc)
        finally:
            with self._cond:
                self._here = False
                if record is not None:
                    self._add_rows([record])
                    if self.listeners:
                        self._announce.append(record)
                self._cond.notify_all()
        release(ex)
        return True

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every request recorded so far is in the ledger; False if ``timeout`` ran out first."""
        with self._cond:
            self._flushing += 1
            self._cond.notify_all()
            try:
                return self._cond.wait_for(lambda: not self._pending and not self._busy and not self._here
                                           and not self._unwritten and not self._announce, timeout)
            finally:
                self._flushing -= 1

    def close(self, deadline: float = CLOSE_DEADLINE_S) -> None:
        """Write what is waiting (estimated past ``deadline`` seconds) and stop the worker."""
        if not self._worker.is_alive():
            return
        if not self.flush(deadline):
            with self._cond:
                self._hurry = True
            self.flush(5.0)
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        self._worker.join(timeout=5.0)
        held = self.ledger.write_held()
        if held:
            log.warning("%d savings row(s) are not recorded: the database is still unreachable", held)
        if self._hurry and self.estimated:
            log.warning("%d request(s) were recorded with estimated token counts (at shutdown or under load)",
                        self.estimated)

    def _loop(self) -> None:
        while True:
            with self._cond:
                # The timeout is taken again at each wake: rows counted on another thread may be due sooner.
                while not ((self._pending and not self._here) or self._stop or self._announce or self._rows_due()):
                    self._cond.wait(self._rows_wait())
                batch = [] if self._here else [self._pending.popleft() for _ in range(min(BATCH, len(self._pending)))]
                announce, self._announce = self._announce, []
                self._busy = len(batch)
                last = self._stop and not batch and not self._here
            try:
                self._tell(announce)
                if batch:
                    self._write(batch)
                if last or self._rows_due():
                    self._write_rows()
            finally:
                with self._cond:
                    self._busy = 0
                    self._cond.notify_all()
            if last:
                return

    def _rows_due(self) -> bool:
        return bool(self._unwritten) and (len(self._unwritten) >= LEDGER_ROWS or self._flushing > 0 or self._stop
                                          or time.monotonic() - self._unwritten_since >= LEDGER_WAIT_S)

    def _rows_wait(self) -> float | None:
        """How long the worker may sleep: until the oldest unwritten row is due (for ever when none is)."""
        return max(0.0, self._unwritten_since + LEDGER_WAIT_S - time.monotonic()) if self._unwritten else None

    def _write_rows(self) -> None:
        with self._cond:
            rows, self._unwritten = self._unwritten, []
        try:
            self.ledger.record_many(rows)
        except Exception as exc:  # bookkeeping must never take the proxy down
            log.warning("could not record savings: %s: %s", type(exc).__name__, exc)

    def _write(self, batch: list[Exchange]) -> None:
        records = []
        for exchange in batch:
            self._estimating = self._hurry or len(self._pending) >= self.estimate_beyond
            if self._estimating and not self._hurry and not self.estimated:
                log.warning("the savings ledger is behind: token counts are estimated (4 characters a token) while "
                            "more than %d requests wait", self.estimate_beyond)
            try:
                records.append(self._record(exchange))
            except Exception as exc:  # bookkeeping must never take the proxy down
                log.warning("could not record savings: %s: %s", type(exc).__name__, exc)
            finally:
                release(exchange)
        try:
            self.totals.prepare({r.session for r in records})  # before any of their rows is in the ledger
        except Exception as exc:
            log.warning("could not record savings: %s: %s", type(exc).__name__, exc)
            return
        with self._cond:
            self._add_rows(records)
        self._tell(records)

    def _add_rows(self, records: list[RequestRecord]) -> None:
        """Counted: into the running totals, and waiting for the ledger (called holding _cond)."""
        if records and not self._unwritten:
            self._unwritten_since = time.monotonic()
        self._unwritten += records
        for record in records:
            self.totals.add(record)

    def _tell(self, records: list[RequestRecord]) -> None:
        for record in records:
            for listener in self.listeners:
                try:
                    listener(record)
                except Exception as exc:
                    log.warning("a savings listener failed: %s: %s", type(exc).__name__, exc)

    def _tokens(self, text: str) -> int:
        if self._estimating:
            return (len(text) + 3) // 4
        here.spend(len(text), len(text))  # counting on the caller's thread (_count_here): a little new text only
        return count_tokens(text)  # a lone surrogate (escaped in the request's JSON) included

    def _count(self, text: str) -> int:
        if self._estimating:
            return self._tokens(text)
        n = self._this.get(text)
        if n is None:
            n = self._this[text] = self._remembered(text)
        return n

    def _remembered(self, text: str) -> int:
        """text's count from the memos (this recorder's, then KNOWN and CHUNKS), else counted and remembered."""
        key = _digest(text)
        n = self._counts.get(key)
        if n is not None:
            return n
        n = KNOWN.get(key)  # counted whole on the request path already (a part's compressed output)
        if n is None:  # or counted as one chunk there (a part under CHUNK_MIN, by the pays-for-itself check)
            n = CHUNKS.get(key)
        if n is not None:
            self._counts.put(key, n)
            return n
        # A new text: counted chunk by chunk (exactly the same sum), through the process's memo of chunk
        # counts (tokens.CHUNKS): the chunks the pipeline counted deciding whether a part pays for itself,
        # and the runs of lines it shares with texts counted before (a suite run again, a file read again
        # after an edit), are not counted again. A text of one chunk is kept in this memo only.
        chunks = piece_chunks(text)
        n = self._tokens(text) if len(chunks) == 1 else sum(chunk_tokens(chunk, self._tokens) for chunk in chunks)
        self._counts.put(key, n)
        return n

    def _part(self, outcome: Outcome) -> tuple[int, int]:
        """A changed part's tokens before and after. A decision replayed from the pipeline's memo hands
        over the very text object the memo keeps, one per decision and so per original: its counts are
        found by that object (kept here, so its id is not reused) rather than by hashing both texts
        again, which was ~95 KB a request for a re-sent conversation's compressed history."""
        found = self._parts.get(id(outcome.text))
        if found is not None and found[0] is outcome.text and found[1] == len(outcome.original):
            return found[2], found[3]
        before, after = self._count(outcome.original), self._count(outcome.text)
        if not self._estimating:
            self._parts.put(id(outcome.text), (outcome.text, len(outcome.original), before, after))
        return before, after

    def _prompt(self, body_text: str, provider: str, note: Any = None, seen: dict | None = None) -> int:
        """A request's tokens as the model reads them (block by block, each re-sent block counted once);
        ``note``: the request's CacheNote, which may hold the body read already; ``seen``: see prompt_tokens."""
        return prompt_tokens(body_text, self._count, provider, note.parsed(body_text) if note is not None else None,
                             seen)

    def _known_messages(self, note: Any) -> tuple[dict, dict[int, tuple[Any, bytes]]]:
        """prompt_tokens' ``seen`` filled with the messages of this request counted in an earlier one
        (same bytes, same message, same tokens), and the keys of the request's messages (taken from
        the note: they hold the messages, which a finished flow's note must not keep) of those not."""
        keys = note.message_keys if note is not None else {}
        if note is not None:
            note.message_keys = {}
        seen: dict = {}
        if self._estimating:  # estimated counts are neither taken from nor put in the memo
            return seen, {}
        new = {}
        for ident, (item, key) in keys.items():
            n = self._messages.get(key)
            if n is None:
                new[ident] = (item, key)
            else:
                seen[ident] = (item, n)
        return seen, new

    def _remember_messages(self, seen: dict, keys: dict[int, tuple[Any, bytes]]) -> None:
        for ident, (item, key) in keys.items():
            counted = seen.get(ident)
            if counted is not None and counted[0] is item:
                self._messages.put(key, counted[1])

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
        if (ex.status is not None and ex.status >= 400) or self._estimating:
            return
        sent = note.sent or ex.body_text
        counted = account(ex.provider, ex.model, ex.usage, sent, savings, overhead, note.broken_chars,
                          note.fit_decided, record.tokens_after, note.sent_root if sent is note.sent else None)
        record.net_dollars_saved, record.cache_warning = counted.net_dollars_saved, counted.warning
        if counted.warning:
            log.warning("%s", counted.warning)

    def _record(self, ex: Exchange) -> RequestRecord:
        try:
            return self._counted(ex)
        finally:
            self._this.clear()  # holds this request's texts: never kept past it

    def _counted(self, ex: Exchange) -> RequestRecord:
        # Counted honestly: "before" is the client's request, less what is in it only because of
        # Headroom (a retrieval's result, wrap's MCP tools); "after" is what went upstream, counted
        # whole, plus the whole requests of the retrieval rounds the proxy answered. Per-part counts
        # feed the engines and the net dollars.
        if self._estimating:
            self.estimated += 1
        seen, keys = self._known_messages(ex.cache)  # messages counted before (this request or earlier)
        client = self._prompt(ex.body_text, ex.provider, ex.cache, seen)
        forwarded = client if ex.sent_text is None or ex.sent_text == ex.body_text else \
            self._prompt(ex.sent_text, ex.provider, ex.cache, seen)
        self._remember_messages(seen, keys)
        retrieved = 0
        engines: dict[str, list[int]] = {}
        savings: list[tuple[Outcome, int]] = []  # for what they were worth net of caching
        for o in ex.outcomes:
            if o.kind == RETRIEVED:
                retrieved += self._count(o.original)
            if not o.changed or not o.engine:
                continue
            billed = image_tokens(o)  # an image: the provider's own tokens, not cl100k of its base64
            part_before, part_after = billed or self._part(o)
            entry = engines.setdefault(o.engine, [0, 0, 0])
            entry[0] += 1
            entry[1] += part_before
            entry[2] += part_after
            savings.append((o, part_before - part_after))
        hidden = rounds = 0
        if ex.ticket is not None:  # our tool's definition (in what was forwarded), and the rounds we answered
            hidden = self._count(definition_text(ex.ticket.api))
            rounds = sum(self._prompt(body, ex.provider) for body in ex.ticket.continuations)
        # wrap's MCP tools and instructions: sent by the client, but only because Headroom is there.
        wrapped = 0 if self._hurry else sum(map(self._count, own_overhead(ex.body_text)))
        before, after = client - retrieved - wrapped, forwarded + rounds
        record = RequestRecord(
            ts=ex.ts, session=ex.session, provider=ex.provider, model=ex.model, path=ex.path,
            tokens_before=before, tokens_after=after, engines=engines, usage=ex.usage,
            status=ex.status, dollars_saved=dollars_for_input_tokens(ex.model, before - after),
            duration_ms=ex.duration_ms, retrieval_rounds=ex.ticket.rounds if ex.ticket else 0,
            stream_rebuilt=bool(ex.ticket and ex.ticket.rebuilt), owner=ex.owner,
        )
        self._account(ex, record, savings, retrieved + hidden + rounds + wrapped)
        return record
