"""The CCR store: schema migration, user-only files, the size and age budget, two writers at once,
an unusable store file, and `headroom retrieve` / `headroom store` over the shared corpus."""

from __future__ import annotations

import json
import logging
import os
import re
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

from typer.testing import CliRunner

from headroom_cli.cli import app
from headroom_cli.config import Settings, headroom_home as resolve_home
from headroom_cli.engines import Part
from headroom_cli.markers import ccr_id, find_markers, original_lines
from headroom_cli.pipeline import Pipeline, part_hash
from headroom_cli.retrieve import retrieve
from headroom_cli.store import DAY, Store

from samples import pytest_verbose_log

REPO = Path(__file__).resolve().parents[1]
MB = 1024 * 1024


def _put(store: Store, text: str, at: float, kind: str = "logs") -> str:
    part_id = ccr_id(text)
    store.put(part_id, kind, text, now=at)
    return part_id


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# -- schema, permissions ---------------------------------------------------------------------------

def test_a_store_from_the_first_schema_is_migrated(tmp_path):
    path = tmp_path / "store.sqlite3"
    old = sqlite3.connect(path)
    old.executescript("""
        CREATE TABLE originals (id TEXT PRIMARY KEY, kind TEXT NOT NULL, text TEXT NOT NULL, created REAL NOT NULL);
        CREATE TABLE decisions (hash TEXT PRIMARY KEY, engine TEXT, kind TEXT, part_id TEXT, text TEXT, created REAL NOT NULL);
    """)
    text = "héllo wörld\n" * 100
    old.execute("INSERT INTO originals VALUES (?, 'logs', ?, 1000.0)", (ccr_id(text), text))
    old.commit()
    old.close()

    store = Store(path)
    with store._db.use() as conn:
        columns = {row[1] for row in conn.execute("PRAGMA table_info(originals)")}
        assert {"size", "last_used", "retrievals"} <= columns
        assert conn.execute("SELECT size, last_used, retrievals FROM originals").fetchone() == (
            len(text.encode()), 1000.0, 0)
    # The old row's age counts from when it was created.
    assert store.prune(max_age_days=30, now=1000.0 + 29 * DAY) == (0, 0)
    assert store.fetch_for_retrieval(ccr_id(text), now=1000.0 + 29 * DAY) == text
    assert store.stats().retrievals == 1
    assert store.prune(max_age_days=30, now=1000.0 + 58 * DAY) == (0, 0)  # used on day 29: kept
    assert store.prune(max_age_days=30, now=1000.0 + 60 * DAY) == (1, len(text.encode()))
    store.close()
    Store(path).close()  # opening a migrated file again changes nothing and does not fail


def test_home_and_store_files_are_user_only(tmp_path, monkeypatch):
    home = tmp_path / "fresh" / "home"
    monkeypatch.setenv("HEADROOM_HOME", str(home))
    previous = os.umask(0)  # the files must not depend on a careful umask
    try:
        resolved = resolve_home()
        store = Store(resolved / "store.sqlite3")
        store.put("hr_0000000000000001", "text", "x" * 5000)
        files = [resolved / name for name in ("store.sqlite3", "store.sqlite3-wal", "store.sqlite3-shm")]
        assert all(f.exists() for f in files)
        assert _mode(resolved) == 0o700
        assert {f.name: _mode(f) for f in files} == {f.name: 0o600 for f in files}
        store.close()
    finally:
        os.umask(previous)


def test_get_is_side_effect_free_and_retrieval_is_counted(tmp_path):
    store = Store(tmp_path / "store.sqlite3")
    part_id = _put(store, "a\nb\nc\n" * 500, at=100.0)
    assert store.get(part_id) is not None and store.get(part_id) is not None
    assert store.stats().retrievals == 0
    assert store.fetch_for_retrieval(part_id, now=200.0) == "a\nb\nc\n" * 500
    retrieve(store, part_id, lines="2-3")
    stats = store.stats()
    assert stats.retrievals == 2 and stats.most_retrieved[0][0] == part_id and stats.most_retrieved[0][3] == 2
    assert stats.least_recently_used > 200.0  # marked used by the retrievals
    assert store.fetch_for_retrieval("hr_ffffffffffffffff") is None


# -- budget ------------------------------------------------------------------------------------------

def test_prune_by_age_keeps_what_was_used_recently(tmp_path):
    store = Store(tmp_path / "store.sqlite3")
    now = 1_000_000_000.0
    stale = _put(store, "stale\n" * 1000, at=now - 40 * DAY)
    fresh = _put(store, "fresh\n" * 1000, at=now - 5 * DAY)
    revived = _put(store, "revived\n" * 1000, at=now - 40 * DAY)
    store.fetch_for_retrieval(revived, now=now - 1 * DAY)  # a retrieval counts as use
    store.put(stale, "logs", "stale\n" * 1000, now=now - 35 * DAY)  # seen again, still too long ago
    assert store.prune(max_age_days=30, now=now) == (1, len("stale\n") * 1000)
    assert store.get(stale) is None
    assert store.get(fresh) is not None and store.get(revived) is not None
    assert store.prune(max_age_days=30, now=now) == (0, 0)  # nothing more to do


def test_prune_by_size_drops_least_recently_used_first(tmp_path):
    store = Store(tmp_path / "store.sqlite3")
    ids = [_put(store, f"{i}\n" * (MB // 2), at=1000.0 + i) for i in range(6)]  # 6 x 1 MiB
    store.put(ids[0], "logs", "0\n" * (MB // 2), now=2000.0)  # the oldest is used again: kept longest
    removed, freed = store.prune(max_bytes=3 * MB, max_age_days=None, now=3000.0)
    assert (removed, freed) == (3, 3 * MB)
    assert [store.get(i) is not None for i in ids] == [True, False, False, False, True, True]
    assert store.stats().bytes == 3 * MB


def test_frozen_decisions_of_pruned_originals_are_gone(tmp_path):
    store = Store(tmp_path / "store.sqlite3")
    log = pytest_verbose_log(1999)
    first = Pipeline(frozen=store).run(Part(log))
    assert first.part_id and find_markers(first.text)
    assert store.recall(part_hash(log), log) is not None
    small = "lossless " * 200
    Pipeline(frozen=store).run(Part(small))  # a decision with no original behind it stays
    assert store.prune(max_age_days=30, now=time.time() + 31 * DAY)[0] == 1
    assert store.recall(part_hash(log), log) is None  # a marker that points at nothing is never replayed
    assert store.recall(part_hash(small), small) is not None
    again = Pipeline(frozen=store).run(Part(log))  # seen afresh: compressed and stored again
    assert again.text == first.text and retrieve(store, again.part_id) == log


# -- two writers ---------------------------------------------------------------------------------------

WRITER = """
import sys, time
from pathlib import Path
from headroom_cli.store import Store
path, who, go = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
store = Store(path)
while not go.exists():
    time.sleep(0.005)
for i in range(200):
    text = f"writer {who} item {i}\\n" * 50
    store.put(f"hr_{who}{i:015x}", "text", text)
store.close()
"""


def test_two_processes_writing_at_once_lose_nothing(tmp_path):
    path, go = tmp_path / "store.sqlite3", tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), who, str(go)], env=env,
                                stderr=subprocess.PIPE, text=True) for who in ("a", "b")]
    time.sleep(0.5)  # both open the store, then write at the same moment
    go.touch()
    for writer in writers:
        _, stderr = writer.communicate(timeout=120)
        assert writer.returncode == 0, stderr
    store = Store(path)
    assert store.stats().items == 400
    assert all(store.get(f"hr_{who}{i:015x}") == f"writer {who} item {i}\n" * 50 for who in "ab" for i in range(200))


# -- an unusable store -----------------------------------------------------------------------------------

def test_a_corrupted_store_file_the_proxy_forwards_losslessly_and_says_so_once(headroom_home, corpus_dir, caplog):
    from headroom_cli.mock_upstream import MockUpstream
    from headroom_cli.proxy.server import ProxyServer
    from test_proxy import ANTHROPIC_HEADERS, _anthropic_body, _send

    caplog.set_level(logging.INFO, logger="headroom")
    headroom_home.mkdir(parents=True, exist_ok=True)
    (headroom_home / "store.sqlite3").write_bytes(b"this is not a database \x00\xff" * 512)
    log = pytest_verbose_log(1999)
    # what a terminal shows of a coloured log is lossless; JSON re-rendered is not (no line stays verbatim,
    # so it needs its original stored): without a store it goes as it was
    lossless = "".join(f"\x1b[32mok\x1b[0m step {i} compiled module m{i}.rs in {i % 9}ms\n" for i in range(200))
    rewrite = (corpus_dir / "json" / "npm_view_express.txt").read_text()
    with MockUpstream() as upstream:
        settings = Settings(host="127.0.0.1", port=0, anthropic_upstream=upstream.url, openai_upstream=upstream.url,
                            compress=True, home=headroom_home)
        server = ProxyServer(settings).start()
        try:
            assert server.store is None
            for tool_output in (log, lossless, log, rewrite):
                status, _, _ = _send(server.port, "POST", "/v1/messages", _anthropic_body(tool_output), ANTHROPIC_HEADERS)
                assert status == 200
            got = [upstream.tool_results(r)[0]["text"] for r in upstream.requests]
        finally:
            server.stop()
    assert got[0] == log and got[2] == log  # the lossy result was refused: the original went upstream
    assert not any(find_markers(text) for text in got)
    assert len(got[1]) < len(lossless)  # lossless compression still happens
    assert got[1] == lossless.replace("\x1b[32m", "").replace("\x1b[0m", "")
    assert got[3] == rewrite
    warnings = [r.getMessage() for r in caplog.records if r.name.startswith("headroom") and r.levelno >= logging.WARNING]
    assert len(warnings) == 1, warnings
    assert "store" in warnings[0] and "losslessly" in warnings[0]


def headroom(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "headroom_cli", *args], input=stdin, capture_output=True,
                          text=True, env={**os.environ}, timeout=120)


def test_retrieve_and_store_commands_on_a_corrupted_store(headroom_home):
    headroom_home.mkdir(parents=True, exist_ok=True)
    (headroom_home / "store.sqlite3").write_bytes(b"garbage" * 1000)
    back = headroom("retrieve", "hr_0123456789abcdef")
    assert back.returncode == 1 and len(back.stderr.strip().splitlines()) == 1
    assert "cannot be read" in back.stderr and "store clear --yes" in back.stderr
    assert "Traceback" not in back.stderr
    cleared = headroom("store", "clear", "--yes")
    assert cleared.returncode == 0, cleared.stderr
    assert headroom("store", "stats", "--json").returncode == 0  # a new, empty store


def test_retrieve_unknown_or_pruned_id_is_one_clear_line(headroom_home):
    store = Store(resolve_home() / "store.sqlite3")
    part_id = _put(store, "old\n" * 1000, at=time.time() - 60 * DAY)
    assert retrieve(store, part_id) == "old\n" * 1000
    store.prune(max_age_days=30, now=time.time() + 31 * DAY)
    store.close()
    for missing in (part_id, "hr_0123456789abcdef"):
        run = headroom("retrieve", missing, "--lines", "1-2")
        assert run.returncode == 1 and run.stdout == ""
        assert len(run.stderr.strip().splitlines()) == 1
        assert f"no stored original for {missing}" in run.stderr and "pruned or never stored" in run.stderr
    bad = headroom("retrieve", "not-an-id")
    assert bad.returncode == 2 and "not a Headroom ID" in bad.stderr


# -- `headroom store` -------------------------------------------------------------------------------------

def test_store_stats_prune_and_clear(headroom_home):
    store = Store(resolve_home() / "store.sqlite3")
    now = time.time()
    old = _put(store, "old line\n" * 2000, at=now - 45 * DAY)
    new = _put(store, "new line\n" * 1000, at=now)
    retrieve(store, new)
    retrieve(store, new, grep="line")
    store.close()

    stats = json.loads(headroom("store", "stats", "--json").stdout)
    assert (stats["items"], stats["bytes"], stats["retrievals"]) == (2, 27000, 2)
    assert stats["most_retrieved"] == [{"id": new, "kind": "logs", "bytes": 9000, "retrievals": 2}]
    assert stats["oldest"] < stats["newest"] and stats["budget"]["max_days"] == 30
    human = headroom("store", "stats")
    assert human.returncode == 0 and "2 originals" in human.stdout and new in human.stdout

    pruned = headroom("store", "prune")  # the default budget: 30 days
    assert pruned.returncode == 0 and "removed 1 originals" in pruned.stdout and "1 left" in pruned.stdout
    assert json.loads(headroom("store", "stats", "--json").stdout)["items"] == 1
    assert headroom("retrieve", old).returncode == 1

    by_env = subprocess.run([sys.executable, "-m", "headroom_cli", "store", "stats", "--json"], capture_output=True,
                            text=True, env={**os.environ, "HEADROOM_STORE_MAX_MB": "2", "HEADROOM_STORE_MAX_DAYS": "7"})
    assert json.loads(by_env.stdout)["budget"] == {"max_bytes": 2 * MB, "max_days": 7}
    assert headroom("store", "prune", "--max-mb", "0").stdout.startswith("removed 1 originals")

    store = Store(resolve_home() / "store.sqlite3")
    _put(store, "again\n" * 100, at=now)
    store.close()
    refused = headroom("store", "clear", stdin="")  # no terminal: never deletes without --yes
    assert refused.returncode == 2 and "--yes" in refused.stderr
    assert json.loads(headroom("store", "stats", "--json").stdout)["items"] == 1
    cleared = headroom("store", "clear", "--yes")
    assert cleared.returncode == 0 and "removed 1 originals" in cleared.stdout
    assert json.loads(headroom("store", "stats", "--json").stdout)["items"] == 0


def test_proxy_start_prunes_to_the_budget(headroom_home, monkeypatch):
    from headroom_cli.proxy.server import ProxyServer

    store = Store(resolve_home() / "store.sqlite3")
    stale = _put(store, "stale\n" * 1000, at=time.time() - 10 * DAY)
    fresh = _put(store, "fresh\n" * 1000, at=time.time())
    store.close()
    monkeypatch.setenv("HEADROOM_STORE_MAX_DAYS", "7")
    settings = Settings(host="127.0.0.1", port=0, anthropic_upstream="http://127.0.0.1:9",
                        openai_upstream="http://127.0.0.1:9", compress=True, home=resolve_home())
    server = ProxyServer(settings)  # pruned on construction; no need to listen
    try:
        assert server.store.get(stale) is None and server.store.get(fresh) is not None
    finally:
        server.recorder.close()
        server.store.close()


# -- every marker on the shared corpus, through `headroom retrieve` --------------------------------------------

def test_retrieve_gives_back_every_marker_on_the_shared_corpus(headroom_home, corpus_dir, needles):
    runner = CliRunner()
    store = Store(resolve_home() / "store.sqlite3")
    pipeline = Pipeline(frozen=store)
    checked_markers = checked_greps = 0
    for entry in needles:
        original = (corpus_dir / entry["file"]).read_text(encoding="utf-8")
        outcome = pipeline.run(Part(text=original, query=entry.get("query")))
        markers = find_markers(outcome.text)
        if not outcome.part_id:
            assert not markers, entry["file"]
            continue
        assert markers, entry["file"]
        lines = original_lines(original)
        whole = runner.invoke(app, ["retrieve", outcome.part_id])
        assert whole.exit_code == 0, whole.output
        assert whole.stdout_bytes == original.encode("utf-8"), entry["file"]
        spans = []
        for marker in markers:
            assert marker["id"] == outcome.part_id, (entry["file"], marker[0])
            if marker["a"] is None:
                continue  # a marker for records, rows or matches: the whole original, checked above
            a, b = int(marker["a"]), int(marker["b"])
            assert 1 <= a <= b <= len(lines), (entry["file"], marker[0])
            got = runner.invoke(app, ["retrieve", marker["id"], "--lines", f"{a}-{b}"])
            assert got.exit_code == 0, got.output
            assert got.stdout_bytes == "".join(lines[a - 1:b]).encode("utf-8"), (entry["file"], marker[0])
            spans.append(got.stdout)
            checked_markers += 1
        # --grep finds an omitted line where the marker said it was, with its line number.
        line_markers = [m for m in markers if m["a"] is not None and any(l.strip() for l in lines[int(m["a"]) - 1:int(m["b"])])]
        if line_markers:
            a, b = int(line_markers[0]["a"]), int(line_markers[0]["b"])
            at = next(n for n in range(a, b + 1) if lines[n - 1].strip())
            target = lines[at - 1].rstrip("\n")
            found = runner.invoke(app, ["retrieve", outcome.part_id, "--grep", re.escape(target)])
            assert found.exit_code == 0, found.output
            hits = found.stdout.splitlines(keepends=True)
            assert f"{at}:{lines[at - 1]}".rstrip("\n") + "\n" in hits, (entry["file"], target)
            for hit in hits:
                number, _, line = hit.partition(":")
                assert line.rstrip("\n") == lines[int(number) - 1].rstrip("\n") and target in line
            checked_greps += 1
    assert checked_markers >= 100 and checked_greps >= 10, (checked_markers, checked_greps)
    store.close()


def test_a_pipeline_without_a_store_never_omits(corpus_dir, needles):
    pipeline, lossy = Pipeline(lossy=False), Pipeline()
    changed = 0
    for entry in needles:
        text = (corpus_dir / entry["file"]).read_text(encoding="utf-8")
        outcome = pipeline.run(Part(text=text, query=entry.get("query")))
        assert outcome.part_id is None and not find_markers(outcome.text), entry["file"]
        changed += outcome.changed
    # Lossless results are still used: what a terminal shows of coloured output (every corpus result
    # omits lines or rewrites them, and a rewrite needs its original stored too).
    coloured = "".join(f"\x1b[31mFAIL\x1b[0m case {i} in suite s{i % 7}: expected {i} got {i + 1}\n" for i in range(120))
    assert pipeline.run(Part(coloured)).changed
    assert any(lossy.run(Part(text=(corpus_dir / e["file"]).read_text())).part_id for e in needles[:3])
