"""What compressing requests needs, opened from Settings in one place for the proxy and the library.

The store (originals and frozen decisions), the pipeline configured over it, the ledger, and the one
request path both use: compress the tool outputs, then fit and cache-align the body. The proxy and
``headroom_cli.compress`` therefore send the same bytes for the same request, and share state.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
import uuid
import weakref

from headroom_cli.backends.postgres import DatabaseUnavailable
from headroom_cli.db import DataError
from headroom_cli.config import DEFAULT_STORE_MAX_DAYS, DEFAULT_STORE_MAX_MB, Settings, store_budget
from headroom_cli.pipeline import Pipeline
from headroom_cli.providers import Adapter
from headroom_cli.rewrite import Rewrite, rewrite_body
from headroom_cli.shaping import RequestShaper
from headroom_cli.store import Store
from headroom_cli.warmup import warm_up

log = logging.getLogger("headroom.store")


def new_session_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]


def open_store(settings: Settings) -> Store | None:
    """The CCR store, pruned to its budget; None (and one warning) when it cannot be used."""
    try:
        store = Store(settings.store_target)
    except DataError as exc:
        log.warning("%s; compressing only losslessly (no omissions) until then", exc)
        return None
    except (sqlite3.Error, OSError) as exc:
        log.warning("the store %s cannot be used (%s); compressing only losslessly (no omissions) until it can. "
                    "`headroom store clear --yes` starts a new one", settings.store_path, exc)
        return None
    try:
        max_bytes, max_days = store_budget()
    except ValueError as exc:
        log.warning("%s; using the default store budget", exc)
        max_bytes, max_days = DEFAULT_STORE_MAX_MB * 1024 * 1024, DEFAULT_STORE_MAX_DAYS
    store.keep_within(max_bytes, max_days)  # and while running
    try:
        removed, freed = store.prune(max_bytes=max_bytes, max_age_days=max_days)
    except DatabaseUnavailable:
        pass  # said once by the database; kept within its budget while running, once it is back
    except sqlite3.Error as exc:
        log.warning("could not prune the store %s (%s)", settings.store_path, exc)
    else:
        if removed:
            log.info("store pruned: %d originals (%.1f MB) past the budget", removed, freed / (1024 * 1024))
    return store


def build_pipeline(settings: Settings, store: Store | None) -> Pipeline:
    """The pipeline over the store, its engines warmed up: the proxy builds it before it listens and the
    library on first use, so no request pays the engines' start-up."""
    if settings.compress:
        warm_up()
    # Without a store an omission could never be redeemed: compress only losslessly then.
    budget_s = settings.part_budget_ms / 1000
    if store is None:
        return Pipeline(lossy=False, code_min_lines=settings.code_min_lines, part_budget_s=budget_s)
    return Pipeline(frozen=store, code_min_lines=settings.code_min_lines, part_budget_s=budget_s)


def prepare_request(raw: bytes, adapter: Adapter, pipeline: Pipeline, store: Store | None, settings: Settings,
                    shaper: RequestShaper, beta: str = "") -> Rewrite:
    """One request body as Headroom sends it: tool outputs compressed (originals stored), then fitted
    to the context window and cache-aligned. Raises ``NotRewritable`` for a body that is not JSON."""
    try:
        with pipeline.batch():  # one transaction for the request's writes, committed before it goes on
            rewrite = rewrite_body(raw, adapter, pipeline, store.put if store is not None else None,
                                   settings.saved_outputs_root)
            if store is not None:
                _still_stored(store, rewrite.outcomes)
    except DataError as exc:  # the store went out while running (disk full, made read-only, damaged)
        _store_out(exc)
        rewrite = rewrite_body(raw, adapter, _lossless_twin(pipeline, settings), None, settings.saved_outputs_root)
    return shaper.shape(raw, rewrite, adapter, adapter.provider, beta)


_twins: "weakref.WeakKeyDictionary[Pipeline, Pipeline]" = weakref.WeakKeyDictionary()
_warned: set[str] = set()
_warned_lock = threading.Lock()


def _lossless_twin(pipeline: Pipeline, settings: Settings) -> Pipeline:
    with _warned_lock:
        twin = _twins.get(pipeline)
        if twin is None:
            twin = _twins[pipeline] = build_pipeline(settings, None)
        return twin


def _store_out(exc: DataError) -> None:
    """Said once per store: every request after it is compressed losslessly while the store is out."""
    with _warned_lock:
        if str(exc.path) in _warned:
            return
        _warned.add(str(exc.path))
    log.warning("%s; compressing only losslessly (no omissions) until then", exc)


def _still_stored(store: Store, outcomes) -> None:
    """A decision replayed from the pipeline's memory may name an original pruned since (the budget is
    kept while running) or kept in a store file deleted since: store it again, so that no marker sent
    upstream points at nothing. One query for all the request's omissions."""
    missing = store.missing(outcome.part_id for outcome in outcomes if outcome.part_id)
    for outcome in outcomes:
        if outcome.part_id in missing:
            missing.discard(outcome.part_id)
            store.put(outcome.part_id, outcome.kind or "text", outcome.stored or outcome.original)
