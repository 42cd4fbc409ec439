"""Access tokens, one per person: who may use a shared proxy, and whose savings and originals are whose.

``headroom tokens create NAME`` prints a new token once; only its SHA-256 is kept (a token is 32
random bytes, so a plain hash cannot be reversed by guessing). Clients send it in the
``x-headroom-token`` header; ``headroom proxy --require-token`` refuses a request without a valid one
(401 in the provider's error shape), strips the header before forwarding, and records the token's
owner with the request. A user may then redeem only the originals sent in their own requests.
(Token *counting* is headroom_cli/tokens.py; these are credentials.)
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import threading
import time
from dataclasses import dataclass

from headroom_cli.backends import Target, open_database, release, where
from headroom_cli.backends.postgres import DatabaseUnavailable
from headroom_cli.providers import error_json
from headroom_cli.proxy.boundary import TOKEN_HEADER  # the one header for both kinds of token

log = logging.getLogger("headroom.tokens")
PREFIX = "hrt_"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}")
CACHE_S = 5.0  # a revoked token stops working within this many seconds on every proxy


def token_hash(secret: str) -> str:
    return hashlib.sha256(secret.strip().encode("utf-8", "replace")).hexdigest()


@dataclass(frozen=True)
class AccessToken:
    id: int
    name: str
    created: float
    revoked: float | None


class TokenBook:
    """The tokens in the store's database (the shared PostgreSQL one, or store.sqlite3)."""

    def __init__(self, target: Target):
        self.where = where(target)
        self._db = open_database(target, "tokens")

    def create(self, name: str) -> str:
        """A new token for ``name`` (a person may hold several); returned once, never stored."""
        if not _NAME.fullmatch(name or ""):
            raise ValueError(f"{name!r} is not a token name: letters, digits and . _ @ + - (up to 64), "
                             "e.g. alice or alice@laptop")
        secret = PREFIX + secrets.token_urlsafe(32)
        with self._db.use() as conn, conn:
            conn.execute("INSERT INTO access_tokens (name, hash, created) VALUES (?, ?, ?)",
                         (name, token_hash(secret), time.time()))
        return secret

    def list(self) -> list[AccessToken]:
        with self._db.use() as conn:
            rows = conn.execute("SELECT id, name, created, revoked FROM access_tokens ORDER BY name, id").fetchall()
        return [AccessToken(*row) for row in rows]

    def revoke(self, name_or_id: str) -> int:
        """Revoke a token by its ID, or every token of a name; returns how many were revoked."""
        column, value = ("id", int(name_or_id)) if name_or_id.isdigit() else ("name", name_or_id)
        with self._db.use() as conn, conn:
            cursor = conn.execute(f"UPDATE access_tokens SET revoked = ? WHERE {column} = ? AND revoked IS NULL",
                                  (time.time(), value))
            return cursor.rowcount

    def owner_of(self, secret: str) -> str | None:
        """The name a valid (unrevoked) token belongs to; None for an unknown or revoked one."""
        with self._db.use() as conn:
            row = conn.execute("SELECT name FROM access_tokens WHERE hash = ? AND revoked IS NULL",
                               (token_hash(secret),)).fetchone()
        return row[0] if row else None

    def close(self) -> None:
        db, self._db = self._db, None
        if db is not None:
            release(db)


@dataclass(frozen=True)
class Refusal:
    status: int
    body: bytes


def refusal(provider: str, status: int, message: str) -> Refusal:
    """An error in the shape the client's SDK reads (Anthropic's, or OpenAI's)."""
    code = "invalid_api_key" if status == 401 else "service_unavailable"  # read by OpenAI's SDKs only
    return Refusal(status, error_json(provider, status, f"headroom: {message}", code))


class TokenGate:
    """The proxy's check (``--require-token``): a valid token's owner, or the refusal to answer with.
    Checks are remembered for CACHE_S; while the database is unreachable a token seen valid before
    still passes (requests keep flowing), an unknown one gets 503: refused, never let through unchecked
    (a gateway started while the database is down answers every request 503 until it is back)."""

    def __init__(self, book: TokenBook):
        self.book = book
        self._seen: dict[str, tuple[str | None, float]] = {}  # hash -> (owner, when checked)
        self._lock = threading.Lock()
        self._refusing = False  # 503s are being given for this outage (said once)

    def check(self, sent: str | None, provider: str) -> tuple[str | None, Refusal | None]:
        sent = (sent or "").strip()
        if not sent:
            return None, refusal(provider, 401, f"no {TOKEN_HEADER} header: this proxy needs your personal token "
                                 "(`headroom tokens create NAME` on the proxy's host makes one)")
        key = token_hash(sent)
        with self._lock:
            cached = self._seen.get(key)
        if cached is None or time.monotonic() - cached[1] > CACHE_S:
            try:
                owner = self.book.owner_of(sent)
            except DatabaseUnavailable:
                if cached is None or cached[0] is None:
                    self._say_refusing()
                    return None, refusal(provider, 503, "the token cannot be checked now (the database is "
                                         "unreachable); retry in a moment")
                owner = cached[0]
            else:
                self._refusing = False
                with self._lock:
                    self._seen[key] = (owner, time.monotonic())
                    if len(self._seen) > 10_000:
                        self._seen.pop(next(iter(self._seen)))
        else:
            owner = cached[0]
        if owner is None:
            return None, refusal(provider, 401, f"the {TOKEN_HEADER} header holds no valid token (unknown or revoked)")
        return owner, None

    def _say_refusing(self) -> None:
        if not self._refusing:
            self._refusing = True
            log.warning("--require-token: tokens cannot be checked while the database is unreachable; a request "
                        "whose token this proxy has not seen valid gets 503 until it is back")


class OwnedStore:
    """The store as one user sees it when redeeming markers: only the originals sent on their behalf."""

    def __init__(self, store, owner: str):
        self._store, self._owner = store, owner

    def _mine(self, part_id: str) -> bool:
        return self._store.owned_by(part_id, self._owner)

    def get(self, part_id: str):
        return self._store.get(part_id) if self._mine(part_id) else None

    def kind_of(self, part_id: str):
        return self._store.kind_of(part_id) if self._mine(part_id) else None

    def has(self, part_id: str) -> bool:
        return self._mine(part_id) and self._store.has(part_id)

    def fetch_for_retrieval(self, part_id: str, now: float | None = None):
        return self._store.fetch_for_retrieval(part_id, now) if self._mine(part_id) else None


def scoped(store, owner: str | None):
    """``store`` for retrievals made for ``owner`` (all of it when tokens are not in use)."""
    return store if owner is None or store is None else OwnedStore(store, owner)


def grant_outcomes(store, owner: str | None, outcomes) -> None:
    """Let ``owner`` redeem every original this request's markers name (what the pipeline and the fit
    produced from their own request: never IDs taken from the body, which anyone could write)."""
    if owner is None or store is None:
        return
    try:
        store.grant(owner, [o.part_id for o in outcomes if getattr(o, "part_id", None)])
    except DatabaseUnavailable:
        # Said once by the database. The request goes on; every request grants all its markers again
        # (replayed ones included), so the user's next request once it is back grants these.
        pass
