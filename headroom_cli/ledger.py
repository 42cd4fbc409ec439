"""Savings ledger: one SQLite row per proxied LLM request, and the queries the UI reads."""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from headroom_cli.backends import Target, is_shared, memory_database, open_database, release, where
from headroom_cli.backends.postgres import DatabaseUnavailable

log = logging.getLogger("headroom.ledger")
NO_TOKEN = type("NoToken", (str,), {})("(no token)")  # owner of requests made without a token, in queries
MAX_HELD = 100_000  # rows kept in memory while a shared database is down (about 100 MB at most)


@dataclass
class Usage:
    """What the upstream reported it charged for, read from its reply."""

    input: int | None = None
    output: int | None = None
    cache_read: int | None = None
    cache_write: int | None = None


@dataclass
class RequestRecord:
    ts: float
    session: str
    provider: str
    model: str | None
    path: str
    tokens_before: int
    tokens_after: int
    # engine name -> [parts compressed, tokens before, tokens after]
    engines: dict[str, list[int]] = field(default_factory=dict)
    usage: Usage = field(default_factory=Usage)
    status: int | None = None
    dollars_saved: float = 0.0
    duration_ms: float | None = None
    retrieval_rounds: int = 0
    stream_rebuilt: bool = False
    net_dollars_saved: float | None = None
    cache_breakpoints: int = 0
    cache_warning: str | None = None
    owner: str | None = None  # the user whose token the request carried (tokens per person)


class TokenSavings:
    """tokens_saved and percent_saved, for a record with tokens_before and tokens_after."""

    tokens_before: int
    tokens_after: int

    @property
    def tokens_saved(self) -> int:
        return self.tokens_before - self.tokens_after

    @property
    def percent_saved(self) -> float:
        return 100.0 * self.tokens_saved / self.tokens_before if self.tokens_before else 0.0


LIST_PRICE_BASIS = "at list price, uncached: every token removed priced as fresh input"
NET_BASIS = ("input dollars at list price after prompt caching, from the usage the upstream reported; "
             "without Headroom = paid + the net saving (each removed token at the rate its place in the prompt was billed)")


@dataclass
class Totals(TokenSavings):
    requests: int = 0
    tokens_before: int = 0
    tokens_after: int = 0  # cl100k count of the requests as forwarded upstream
    dollars_saved: float = 0.0  # at list price, uncached (LIST_PRICE_BASIS)
    usage_input: int = 0
    usage_output: int = 0
    usage_cache_read: int = 0
    usage_cache_write: int = 0
    net_dollars_saved: float = 0.0  # after the provider's cache prices
    cache_warnings: int = 0  # requests where Headroom's changes cost a cache write
    # Requests the upstream reported usage for: what their input cost after caching, and the net
    # saving on them (their cost without Headroom is the sum of the two).
    priced_requests: int = 0
    input_dollars_paid: float = 0.0
    input_dollars_saved: float = 0.0

    @property
    def input_dollars_without(self) -> float:
        return self.input_dollars_paid + self.input_dollars_saved

    @property
    def net_percent_saved(self) -> float:
        without = self.input_dollars_without
        return 100.0 * self.input_dollars_saved / without if without > 0 else 0.0

    def add_priced(self, provider: str, model: str | None, usage: Usage, net_saved: float, requests: int = 1) -> None:
        """Fold in requests with reported usage (summed usage of one provider and model)."""
        from headroom_cli.prices import input_cost  # prices imports this module

        paid = input_cost(provider, model, usage)
        if paid is None:
            return
        self.priced_requests += requests
        self.input_dollars_paid += paid
        self.input_dollars_saved += net_saved

    def to_json(self) -> dict:
        return {
            "requests": self.requests, "tokens_before": self.tokens_before, "tokens_after": self.tokens_after,
            "tokens_saved": self.tokens_saved, "percent_saved": round(self.percent_saved, 2),
            "net_input_dollars": round(self.input_dollars_paid, 6),
            "net_input_dollars_without_headroom": round(self.input_dollars_without, 6),
            "net_input_dollars_saved": round(self.input_dollars_saved, 6),
            "net_input_percent_saved": round(self.net_percent_saved, 2),
            "priced_requests": self.priced_requests, "net_basis": NET_BASIS,
            "dollars_saved": round(self.dollars_saved, 6), "dollars_saved_basis": LIST_PRICE_BASIS,
            "net_dollars_saved": round(self.net_dollars_saved, 6), "cache_warnings": self.cache_warnings,
            "upstream_usage": {"input": self.usage_input, "output": self.usage_output,
                               "cache_read": self.usage_cache_read, "cache_write": self.usage_cache_write},
        }


_INSERT_REQUEST = (
    "INSERT INTO requests (ts, session, provider, model, path, status, tokens_before, tokens_after,"
    " engines, usage_input, usage_output, usage_cache_read, usage_cache_write, dollars_saved, duration_ms,"
    " retrieval_rounds, stream_rebuilt, net_dollars_saved, cache_breakpoints, cache_warning, owner)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")


def _request_row(r: RequestRecord) -> tuple:
    return (r.ts, r.session, r.provider, r.model, r.path, r.status, r.tokens_before, r.tokens_after,
            json.dumps(r.engines, sort_keys=True), r.usage.input, r.usage.output, r.usage.cache_read,
            r.usage.cache_write, r.dollars_saved, r.duration_ms, r.retrieval_rounds, int(r.stream_rebuilt),
            r.net_dollars_saved, r.cache_breakpoints, r.cache_warning, r.owner)


class Ledger:
    def __init__(self, path: Target, *, _db=None):
        """``path``: the SQLite file, or a postgresql:// URL (backends/). Raises db.DataError (one line
        for the user) when it cannot be opened or is damaged."""
        self.path = where(path) if is_shared(path) else Path(path)  # a URL is named without its password
        self._db = _db if _db is not None else open_database(path, "ledger")
        self._warned = False
        self._held: list[tuple[str, tuple]] = []  # rows kept while a shared database is unreachable
        self._held_lock = threading.Lock()

    @classmethod
    def for_recording(cls, path: Target) -> "Ledger":
        """For the proxy and the library: a ledger that cannot be opened (read-only home, full disk,
        damaged file) never stops them. One warning, then the savings are kept in memory only."""
        try:
            return cls(path)
        except (sqlite3.Error, OSError) as exc:
            log.warning("%s; savings are kept in memory only until restart", exc)
            return cls(path, _db=memory_database("ledger"))

    def _write(self, sql: str, args: tuple) -> None:
        self._write_many(sql, [args])

    def _write_many(self, sql: str | None, rows: list[tuple]) -> None:
        """Rows written in one transaction; a failure to write (disk full, file deleted read-only, damaged)
        is said once and the rows dropped: bookkeeping must never cost a request. While a shared
        database is unreachable its rows are held (up to MAX_HELD) and written once it is back."""
        with self._held_lock:
            held, self._held = self._held, []
        try:
            with self._db.use() as conn, conn:
                for held_sql, held_row in held:
                    conn.execute(held_sql, held_row)
                if rows:
                    conn.executemany(sql, rows)
        except DatabaseUnavailable:
            with self._held_lock:
                self._held = (held + [(sql, row) for row in rows] + self._held)[-MAX_HELD:]
        except (sqlite3.Error, OSError) as exc:
            if not self._warned:
                self._warned = True
                log.warning("savings not recorded: %s", exc)

    def write_held(self) -> int:
        """Write the rows held while the shared database was unreachable, if it is back; returns how
        many are still held (the proxy says so when it stops: they are lost with it)."""
        if self._held:
            self._write_many(None, [])
        with self._held_lock:
            return len(self._held)

    def record(self, r: RequestRecord) -> None:
        self.record_many([r])

    def record_many(self, records: list[RequestRecord]) -> None:
        """Rows in one transaction (the proxy's recorder writes in batches)."""
        if records:
            self._write_many(_INSERT_REQUEST, [_request_row(r) for r in records])

    def record_retrieval(self, session: str | None, part_id: str, lines: str | None, size: int,
                         owner: str | None = None) -> None:
        """One omitted part read back (through the MCP tool): which, which lines, how many bytes."""
        self._write("INSERT INTO retrievals (ts, session, part_id, lines, bytes, owner) VALUES (?, ?, ?, ?, ?, ?)",
                    (time.time(), session, part_id, lines, size, owner))

    def retrieval_count(self, session: str | None = None, owner: str | None = None) -> int:
        where, args = self._where(session, owner)
        with self._db.use() as conn:
            return conn.execute(f"SELECT COUNT(*) FROM retrievals {where}", args).fetchone()[0]

    def retrieval_summary(self, session: str | None = None, owner: str | None = None) -> dict[str, int]:
        """Retrievals made (MCP tool, proxy-answered tool), the bytes read back, and the rounds the
        proxy answered unseen by the client (and how many of those held and continued a stream)."""
        where, args = self._where(session, owner)
        with self._db.use() as conn:
            count, size = conn.execute(
                f"SELECT COUNT(*), COALESCE(SUM(bytes),0) FROM retrievals {where}", args).fetchone()
            rounds, rebuilt = conn.execute(
                f"SELECT COALESCE(SUM(retrieval_rounds),0), COALESCE(SUM(stream_rebuilt),0) FROM requests {where}",
                args).fetchone()
        return {"retrievals": count, "bytes_read_back": size, "proxy_rounds": rounds, "streams_rebuilt": rebuilt}

    def _where(self, session: str | None, owner: str | None = None, until: float | None = None) -> tuple[str, tuple]:
        """The rows of one session, and/or of one user (tokens per person), and/or before ``until``."""
        terms = [(f"{name} = ?", value) for name, value in (("session", session), ("owner", owner)) if value]
        if owner is NO_TOKEN:
            terms[-1] = ("owner IS NULL", None)
        if until is not None:
            terms.append(("ts < ?", until))
        if not terms:
            return "", ()
        return ("WHERE " + " AND ".join(term for term, _ in terms),
                tuple(value for term, value in terms if term.endswith("?")))

    def totals(self, session: str | None = None, owner: str | None = None, until: float | None = None) -> Totals:
        where, args = self._where(session, owner, until)
        with self._db.use() as conn:
            row = conn.execute(
                "SELECT COUNT(*), COALESCE(SUM(tokens_before),0), COALESCE(SUM(tokens_after),0),"
                " COALESCE(SUM(dollars_saved),0), COALESCE(SUM(usage_input),0), COALESCE(SUM(usage_output),0),"
                " COALESCE(SUM(usage_cache_read),0), COALESCE(SUM(usage_cache_write),0),"
                f" COALESCE(SUM(COALESCE(net_dollars_saved, dollars_saved)),0), COUNT(cache_warning) FROM requests {where}",
                args,
            ).fetchone()
            priced = conn.execute(
                "SELECT provider, model, COUNT(*), SUM(usage_input), SUM(usage_cache_read), SUM(usage_cache_write),"
                f" SUM(COALESCE(net_dollars_saved, dollars_saved)) FROM requests {where}"
                f" {'AND' if where else 'WHERE'} usage_input IS NOT NULL GROUP BY provider, model", args).fetchall()
        totals = Totals(*row)
        for provider, model, n, fresh, read, write, net in priced:  # prices are linear: sums price exactly
            totals.add_priced(provider, model, Usage(fresh, None, read, write), net, n)
        return totals

    def per_engine(self, session: str | None = None, owner: str | None = None,
                   until: float | None = None) -> dict[str, list[int]]:
        """engine -> [parts, tokens before, tokens after], summed over requests."""
        where, args = self._where(session, owner, until)
        with self._db.use() as conn:
            rows = conn.execute(f"SELECT engines FROM requests {where}", args).fetchall()
        out: dict[str, list[int]] = {}
        for (blob,) in rows:
            for name, (parts, before, after) in json.loads(blob).items():
                acc = out.setdefault(name, [0, 0, 0])
                acc[0] += parts
                acc[1] += before
                acc[2] += after
        return dict(sorted(out.items()))

    def recent(self, limit: int = 10, session: str | None = None) -> list[RequestRecord]:
        where, args = self._where(session)
        with self._db.use() as conn:
            rows = conn.execute(
                "SELECT ts, session, provider, model, path, tokens_before, tokens_after, engines, usage_input,"
                " usage_output, usage_cache_read, usage_cache_write, status, dollars_saved, duration_ms,"
                " net_dollars_saved, cache_breakpoints, cache_warning, retrieval_rounds, stream_rebuilt"
                f" FROM requests {where} ORDER BY id DESC LIMIT ?",
                (*args, limit),
            ).fetchall()
        return [
            RequestRecord(
                ts=row[0], session=row[1], provider=row[2], model=row[3], path=row[4], tokens_before=row[5],
                tokens_after=row[6], engines=json.loads(row[7]), usage=Usage(row[8], row[9], row[10], row[11]),
                status=row[12], dollars_saved=row[13], duration_ms=row[14], net_dollars_saved=row[15],
                cache_breakpoints=row[16], cache_warning=row[17], retrieval_rounds=row[18],
                stream_rebuilt=bool(row[19]),
            )
            for row in rows
        ]

    def record_volatile(self, session: str, location: str, offset: int, kind: str, before: str, after: str) -> None:
        """A value in the prompt's prefix that changes between requests of one conversation (once per place)."""
        self._write("INSERT INTO volatile_prefixes (ts, session, location, \"offset\", kind, before, after)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (session, location) DO NOTHING",
                    (time.time(), session, location, offset, kind, before, after))

    def volatile(self, session: str | None = None) -> list[dict]:
        """Volatile prefix values found, newest first, one per place."""
        where, args = self._where(session)
        with self._db.use() as conn:
            rows = conn.execute(
                f"SELECT location, \"offset\", kind, before, after FROM volatile_prefixes {where}"
                " ORDER BY ts DESC, location, id DESC", args).fetchall()
        seen: dict[str, dict] = {}  # the newest row of each place (portable: no bare columns beside MAX)
        for r in rows:
            seen.setdefault(r[0], {"location": r[0], "offset": r[1], "kind": r[2], "before": r[3], "after": r[4]})
        return list(seen.values())

    def cache_warnings(self, session: str | None = None, limit: int = 5) -> list[str]:
        """The latest reasons Headroom's changes made the provider write what it could have read."""
        where, args = self._where(session)
        where = f"{where} AND cache_warning IS NOT NULL" if where else "WHERE cache_warning IS NOT NULL"
        with self._db.use() as conn:
            rows = conn.execute(f"SELECT cache_warning FROM requests {where} ORDER BY id DESC LIMIT ?",
                                      (*args, limit)).fetchall()
        return [r[0] for r in rows]

    def engines_json(self, session: str | None = None, owner: str | None = None) -> dict:
        return {name: {"parts": p, "tokens_before": b, "tokens_after": a}
                for name, (p, b, a) in self.per_engine(session, owner).items()}

    def owners(self) -> list[str | None]:
        """Every user requests were recorded for (None: requests without a token), by name."""
        with self._db.use() as conn:
            rows = conn.execute("SELECT DISTINCT owner FROM requests").fetchall()
        return sorted((r[0] for r in rows), key=lambda owner: (owner is None, owner or ""))

    def totals_by_owner(self) -> dict[str | None, "Totals"]:
        """All-time totals per user (``headroom stats --by user``); None: requests without a token."""
        return {owner: self.totals(owner=NO_TOKEN if owner is None else owner) for owner in self.owners()}

    def latest_session(self) -> str | None:
        with self._db.use() as conn:
            row = conn.execute("SELECT session FROM requests ORDER BY id DESC LIMIT 1").fetchone()
        return row[0] if row else None

    def close(self) -> None:
        db, self._db = self._db, None
        if db is not None:  # twice would take the connection from the file's other users
            release(db)
