"""The storage seam (headroom_cli/backends/): the store, the ledger and the fit memory behave the
same on SQLite and on a real PostgreSQL, and both backends' schemas migrate from empty and from the
previous version."""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

import pytest

from headroom_cli.backends import migrate, open_database, release
from headroom_cli.backends.schema import COMPONENTS
from headroom_cli.context_fit import FitMemory, FitState, Move
from headroom_cli.ledger import Ledger, RequestRecord, Usage
from headroom_cli.pipeline import Outcome
from headroom_cli.store import Store


@pytest.fixture(params=["sqlite", "postgres"])
def target(request, tmp_path: Path):
    if request.param == "sqlite":
        return tmp_path / "store.sqlite3"
    return request.getfixturevalue("pg_url")


def test_store_round_trip_on_each_backend(target) -> None:
    store = Store(target)
    try:
        text = "line é\n" * 1000
        store.put("hr_0000000000000001", "log", text, now=100.0)
        store.put("hr_0000000000000001", "log", text, now=50.0)  # older: last_used stays
        assert store.get("hr_0000000000000001") == text and store.has("hr_0000000000000001")
        assert store.kind_of("hr_0000000000000001") == "log"
        assert store.fetch_for_retrieval("hr_0000000000000001") == text
        outcome = Outcome("original", "short [headroom: x · retrieve hr_0000000000000002 --lines 1-2]", "logs",
                          "log", "hr_0000000000000002")
        store.freeze("h1", outcome)
        store.freeze("h1", Outcome("original", "something else", "logs", "log", None))  # the first stays
        again = store.recall("h1", "original")
        assert (again.text, again.part_id) == (outcome.text, "hr_0000000000000002")
        assert store.get("hr_0000000000000002") == "original"
        stats = store.stats()
        assert (stats.items, stats.decisions, stats.retrievals) == (2, 1, 1)
        assert isinstance(stats.bytes, int) and stats.bytes == len(text.encode()) + len("original")
        store.grant("alice", ["hr_0000000000000002", "hr_0000000000000002"])
        assert store.owned_by("hr_0000000000000002", "alice") and not store.owned_by("hr_0000000000000002", "bob")
        removed, _ = store.prune(max_bytes=1)
        assert removed == 2 and store.stats().items == 0 and store.recall("h1", "original") is None
        assert not store.owned_by("hr_0000000000000002", "alice")
    finally:
        store.close()


def test_a_store_batch_is_one_transaction_seen_by_other_connections_once_it_ends_on_each_backend(target) -> None:
    store = Store(target)
    try:
        outcome = Outcome("original " * 300, "short", "logs", "log", "hr_00000000000000a1")
        seen_inside: list[bool] = []
        with store.batch():
            store.freeze("hb", outcome)
            store.put("hr_00000000000000a2", "text", "kept")
            # another thread (another connection on PostgreSQL) does not see it before the batch ends
            reader = threading.Thread(target=lambda: seen_inside.append(store.has("hr_00000000000000a1")))
            reader.start()
            reader.join(30)
        assert seen_inside == [False]
        found = []
        reader = threading.Thread(target=lambda: found.append((store.recall("hb", outcome.original),
                                                               store.get("hr_00000000000000a2"))))
        reader.start()
        reader.join(30)
        assert found == [(outcome, "kept")]
    finally:
        store.close()


def test_ledger_on_each_backend(target) -> None:
    ledger = Ledger(target)
    try:
        for owner, before in (("alice", 1000), ("bob", 500), (None, 10)):
            ledger.record(RequestRecord(ts=1.5, session="s1", provider="anthropic", model="claude-sonnet-4-5",
                                        path="/v1/messages", tokens_before=before, tokens_after=before // 2,
                                        engines={"logs": [1, before, before // 2]}, usage=Usage(100, 10, 5, 1),
                                        status=200, owner=owner))
        ledger.record_volatile("s1", "system[0]", 3, "date", "a", "b")
        ledger.record_volatile("s1", "system[0]", 3, "date", "a", "c")  # once per place
        ledger.record_retrieval("s1", "hr_0000000000000001", "1-2", 40, owner="alice")
        totals = ledger.totals()
        assert (totals.requests, totals.tokens_before, totals.tokens_after) == (3, 1510, 755)
        assert all(type(v) in (int, float) for v in json.loads(json.dumps(totals.to_json()))["upstream_usage"].values())
        by_user = ledger.totals_by_owner()
        assert list(by_user) == ["alice", "bob", None]
        assert by_user["alice"].tokens_before == 1000 and by_user[None].tokens_before == 10
        assert ledger.retrieval_count(owner="alice") == 1 and ledger.retrieval_count(owner="bob") == 0
        assert ledger.per_engine(owner="bob") == {"logs": [1, 500, 250]}
        assert ledger.volatile("s1") == [{"location": "system[0]", "offset": 3, "kind": "date", "before": "a",
                                          "after": "b"}]
        assert ledger.latest_session() == "s1" and len(ledger.recent(10, "s1")) == 3
    finally:
        ledger.close()


def test_fit_memory_on_each_backend_reads_what_another_process_decided(target) -> None:
    one, two = FitMemory(target), FitMemory(target)
    try:
        assert two.get("conv").empty  # read (and cached) before the other decides
        state = FitState({"abc": "def"}, [Move("d", [1, 2], "moved", "hr_0000000000000003", 10)])
        one.put("conv", state)
        assert two.get("conv").to_json() == state.to_json()
    finally:
        one.close()
        two.close()


def test_postgres_migrates_from_empty_and_from_the_previous_version(pg_url) -> None:
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as conn:
        assert migrate.migrate_postgres(conn, "store", upto=1) == 1  # what the previous release made
        conn.execute("INSERT INTO originals (id, kind, text, created) VALUES ('hr_00000000000000aa', 'log', 'x', 1)")
    store = Store(pg_url)  # opens it: migrates the rest
    try:
        assert store.get("hr_00000000000000aa") == "x"
        store.grant("alice", ["hr_00000000000000aa"])
        assert store.owned_by("hr_00000000000000aa", "alice")
    finally:
        store.close()
    ledger = Ledger(pg_url)  # from empty
    ledger.close()
    with psycopg.connect(pg_url) as conn:
        versions = dict(conn.execute("SELECT component, version FROM schema_version").fetchall())
    assert versions == {"store": migrate.latest("store"), "ledger": migrate.latest("ledger")}


def test_postgres_migrations_run_once_when_processes_open_it_together(pg_url) -> None:
    """Several proxies starting at once: the advisory lock makes one of them migrate, the rest wait."""
    import psycopg

    failures: list[BaseException] = []

    def open_one() -> None:
        try:
            with psycopg.connect(pg_url, autocommit=True) as conn:
                for component in COMPONENTS:
                    migrate.migrate_postgres(conn, component)
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not failures
    with psycopg.connect(pg_url) as conn:
        versions = dict(conn.execute("SELECT component, version FROM schema_version").fetchall())
    assert versions == {name: steps[-1].number for name, steps in COMPONENTS.items()}


OLD_STORE = """
CREATE TABLE originals (id TEXT PRIMARY KEY, kind TEXT NOT NULL, text TEXT NOT NULL, created REAL NOT NULL);
CREATE TABLE decisions (hash TEXT PRIMARY KEY, engine TEXT, kind TEXT, part_id TEXT, text TEXT, created REAL NOT NULL);
INSERT INTO originals VALUES ('hr_00000000000000bb', 'log', 'héllo', 7);
"""
OLD_LEDGER = """
CREATE TABLE requests (id INTEGER PRIMARY KEY AUTOINCREMENT, ts REAL NOT NULL, session TEXT NOT NULL,
  provider TEXT NOT NULL, model TEXT, path TEXT NOT NULL, status INTEGER, tokens_before INTEGER NOT NULL,
  tokens_after INTEGER NOT NULL, engines TEXT NOT NULL DEFAULT '{}', usage_input INTEGER, usage_output INTEGER,
  usage_cache_read INTEGER, usage_cache_write INTEGER, dollars_saved REAL NOT NULL DEFAULT 0, duration_ms REAL);
INSERT INTO requests (ts, session, provider, path, tokens_before, tokens_after) VALUES (1, 's', 'openai', '/v1', 9, 3);
"""


def test_sqlite_files_of_earlier_releases_are_migrated_in_place(tmp_path: Path) -> None:
    for name, script in (("store.sqlite3", OLD_STORE), ("ledger.sqlite3", OLD_LEDGER)):
        with sqlite3.connect(tmp_path / name) as conn:
            conn.executescript(script)
    store = Store(tmp_path / "store.sqlite3")
    try:
        assert store.get("hr_00000000000000bb") == "héllo"
        assert store.stats().bytes == len("héllo".encode())  # the size column filled in
        store.grant("alice", ["hr_00000000000000bb"])
    finally:
        store.close()
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    try:
        assert ledger.totals().tokens_before == 9 and ledger.totals_by_owner()[None].requests == 1
    finally:
        ledger.close()
    for name, component in (("store.sqlite3", "store"), ("ledger.sqlite3", "ledger")):
        with sqlite3.connect(tmp_path / name) as conn:
            (version,) = conn.execute("SELECT version FROM schema_version WHERE component = ?", (component,)).fetchone()
        assert version == migrate.latest(component)


def test_a_new_sqlite_file_gets_every_migration(tmp_path: Path) -> None:
    database = open_database(tmp_path / "x.sqlite3", "tokens")
    release(database)
    with sqlite3.connect(tmp_path / "x.sqlite3") as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(migrate.latest("tokens"),)]


def test_the_status_line_reads_the_shared_database(pg_url, monkeypatch) -> None:
    """`wrap --database` hands HEADROOM_DATABASE to the tool; its status line reads the savings there."""
    from headroom_cli.ui.statusline import render

    ledger = Ledger(pg_url)
    try:
        ledger.record(RequestRecord(ts=1.0, session="s9", provider="anthropic", model=None, path="/v1/messages",
                                    tokens_before=10_000, tokens_after=1_000))
    finally:
        ledger.close()
    assert render("s9") == "headroom: no requests yet"  # the SQLite file in this test's home
    monkeypatch.setenv("HEADROOM_DATABASE", pg_url)
    assert render("s9").startswith("headroom ▼ 9.0k tokens")


def test_any_text_round_trips_on_each_backend(target) -> None:
    """NUL (which PostgreSQL's text refuses) and the escape character the PostgreSQL backend uses come
    back exactly as they were stored."""
    from headroom_cli.backends.postgres import ESC

    text = f"a\x00b {ESC}0 {ESC}{ESC} \x00{ESC}\x00 é 😀\n" * 3
    store = Store(target)
    try:
        store.put("hr_00000000000000cc", "log", text)
        store.freeze("h-nul", Outcome(text, text + "[x]", "logs", "log", "hr_00000000000000cc", stored=text))
        assert store.get("hr_00000000000000cc") == text
        assert store.recall("h-nul", text).text == text + "[x]"
        assert store.stats().bytes == len(text.encode())
    finally:
        store.close()
