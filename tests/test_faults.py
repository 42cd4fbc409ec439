"""Faults degrade, never stop (issue 13, findings 7 and 8, store and ledger side): a read-only home, a
full disk, a store deleted while in use, a damaged ledger or store; the store budget while running;
user-only files under HEADROOM_HOME. Real processes, a real read-only file system where the test runs as
root (whom permissions do not stop), a real file-size limit for the full disk."""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import socket
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from headroom_cli.context_fit import FitMemory
from headroom_cli.markers import ccr_id, find_markers
from headroom_cli.mock_upstream import MockUpstream
from headroom_cli.store import Store
from samples import pytest_verbose_log
from test_proxy import ANTHROPIC_HEADERS, _anthropic_body

REPO = Path(__file__).resolve().parents[1]
PY = sys.executable
KB = 1024


def _env(home: Path, **extra: str) -> dict:
    # COLUMNS: the warnings are read back whole, not wrapped at 80 columns.
    return {**os.environ, "PYTHONPATH": str(REPO), "HEADROOM_HOME": str(home), "COLUMNS": "400", **extra}


def _read_only(home: Path, request) -> list[str]:
    """A command prefix under which HEADROOM_HOME is read-only: by its modes for a user; for root, a
    read-only bind mount in a private mount namespace."""
    if os.geteuid() != 0:
        paths = [home, *home.rglob("*")]
        for p in paths:
            os.chmod(p, 0o500 if p.is_dir() else 0o400)
        request.addfinalizer(lambda: [os.chmod(p, 0o700 if p.is_dir() else 0o600) for p in paths])
        return []
    if shutil.which("unshare") is None:
        pytest.skip("running as root without unshare: no way to make a read-only folder")
    prefix = ["unshare", "-m", "sh", "-c", 'mount --bind "$0" "$0" && mount -o remount,ro,bind "$0" "$0" && exec "$@"',
              str(home)]
    probe = subprocess.run([*prefix, "touch", str(home / "probe")], capture_output=True, text=True)
    if probe.returncode == 0 or "Read-only" not in probe.stderr:
        pytest.skip(f"no read-only bind mount here: {probe.stderr.strip()}")
    return prefix


def _file_limit(limit: int) -> list[str]:
    """A command prefix under which no file can grow past ``limit`` bytes (a disk that is full)."""
    return [PY, "-c", "import os, resource, sys; n = int(sys.argv[1]); resource.setrlimit(resource.RLIMIT_FSIZE, "
            "(n, n)); os.execv(sys.argv[2], sys.argv[2:])", str(limit), PY]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _post(port: int, body: bytes) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("POST", "/v1/messages", body=body, headers=ANTHROPIC_HEADERS)
    response = conn.getresponse()
    response.read()
    return response.status


class _Proxy:
    """`headroom proxy` as its own process; ``stop()`` ends it with SIGTERM and returns its stderr."""

    def __init__(self, home: Path, upstream: str, prefix: list[str] = (), *args: str, **env: str):
        self.port = _free_port()
        command = [*prefix, *([] if prefix and prefix[0] == PY else [PY]), "-m", "headroom_cli", "proxy",
                   "--port", str(self.port), "--anthropic-upstream", upstream, "--openai-upstream", upstream, *args]
        self.proc = subprocess.Popen(command, env=_env(home, **env), stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", "/headroom/health")
                if conn.getresponse().status == 200:
                    return
            except OSError:
                time.sleep(0.1)
        raise AssertionError(f"the proxy did not start: {self.stop()}")

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        _, err = self.proc.communicate(timeout=60)
        return err


def _headroom(home: Path, *args: str, prefix: list[str] = (), stdin: str | None = None, **env: str):
    return subprocess.run([*prefix, PY, "-m", "headroom_cli", *args], input=stdin, capture_output=True, text=True,
                          env=_env(home, **env), timeout=120)


def _one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


# -- a read-only home, a full disk ---------------------------------------------------------------------

@pytest.mark.parametrize("used", [False, True], ids=["new-home", "used-home"])
def test_a_read_only_home_leaves_the_proxy_forwarding_with_one_warning_each(headroom_home, request, used):
    headroom_home.mkdir(parents=True)
    log = pytest_verbose_log(400, seed=7)
    with MockUpstream() as upstream:
        if used:  # a store and a ledger from earlier runs, then the home turns read-only
            _Proxy(headroom_home, upstream.url).stop()
        proxy = _Proxy(headroom_home, upstream.url, _read_only(headroom_home, request))
        statuses = [_post(proxy.port, _anthropic_body(log)) for _ in range(3)]
        err = proxy.stop()
        got = [upstream.tool_results(r)[0]["text"] for r in upstream.requests]
    assert statuses == [200, 200, 200] and len(got) == 3
    assert got == [log] * 3  # lossless: nothing omitted that could not be stored
    assert "Traceback" not in err, err
    assert err.count("compressing only losslessly") == 1 and err.count("savings are kept in memory only") == 1, err
    assert "ledger" in err and "store" in err


def test_a_full_disk_at_start_leaves_the_proxy_forwarding(headroom_home):
    headroom_home.mkdir(parents=True)
    log = pytest_verbose_log(400, seed=8)
    with MockUpstream() as upstream:
        # Room for mitmproxy's small files, none for the databases' WAL index (32 KB).
        proxy = _Proxy(headroom_home, upstream.url, _file_limit(16 * KB))
        statuses = [_post(proxy.port, _anthropic_body(log)) for _ in range(3)]
        err = proxy.stop()
        got = [upstream.tool_results(r)[0]["text"] for r in upstream.requests]
    assert statuses == [200, 200, 200] and got == [log] * 3
    assert "Traceback" not in err, err
    assert err.count("compressing only losslessly") == 1 and err.count("savings are kept in memory only") == 1, err


def test_a_disk_that_fills_while_running_costs_the_ledger_one_warning_not_the_requests(headroom_home):
    REQUESTS = 200
    headroom_home.mkdir(parents=True)
    with MockUpstream() as upstream:
        # The ledger's WAL grows a few pages per transaction (its rows share one for up to 0.2 s): it hits
        # the limit after some dozens of them.
        proxy = _Proxy(headroom_home, upstream.url, _file_limit(96 * KB), "--no-compress")
        statuses = [_post(proxy.port, _anthropic_body(f"output {i}\n" * 50)) for i in range(REQUESTS)]
        err = proxy.stop()
        forwarded = len(upstream.requests)
    assert statuses == [200] * REQUESTS and forwarded == REQUESTS
    assert "Traceback" not in err and "could not record" not in err, err
    assert err.count("savings not recorded") == 1, err


def test_a_disk_that_fills_while_running_leaves_the_proxy_compressing_losslessly_and_every_marker_redeemable(
        headroom_home):
    headroom_home.mkdir(parents=True)
    logs = [pytest_verbose_log(300, seed=100 + i) for i in range(12)]
    with MockUpstream() as upstream:
        # Room for a few originals (about 20 KB each) in the store's WAL, not for twelve.
        proxy = _Proxy(headroom_home, upstream.url, _file_limit(256 * KB), "--no-retrieval-tool",
                       HEADROOM_PART_BUDGET_MS="20000")
        statuses = [_post(proxy.port, _anthropic_body(log)) for log in logs]
        err = proxy.stop()
        sent = [upstream.tool_results(r)[0]["text"] for r in upstream.requests]
    assert statuses == [200] * 12 and len(sent) == 12
    assert "Traceback" not in err and "internal error" not in err, err
    assert err.count("compressing only losslessly") == 1, err
    ids = [m.group("id") for text in sent for m in find_markers(text)]
    assert ids and not find_markers(sent[-1]), err
    for part_id in ids:  # what was sent before the disk filled up is redeemable
        back = _headroom(headroom_home, "retrieve", part_id)
        assert back.returncode == 0 and back.stdout in logs, back.stderr


def test_retrieve_and_store_stats_read_a_read_only_store(headroom_home, request):
    original = pytest_verbose_log(400, seed=9)
    made = _headroom(headroom_home, "compress", "--kind", "tests", stdin=original)
    part_id = find_markers(made.stdout)[0].group("id")
    prefix = _read_only(headroom_home, request)
    back = _headroom(headroom_home, "retrieve", part_id, prefix=prefix)
    assert back.returncode == 0 and back.stdout == original, back.stderr
    lines = _headroom(headroom_home, "retrieve", part_id, "--lines", "2-3", prefix=prefix)
    assert lines.returncode == 0 and lines.stdout == "".join(original.splitlines(keepends=True)[1:3])
    stats = _headroom(headroom_home, "store", "stats", prefix=prefix)
    assert stats.returncode == 0 and "1 originals" in stats.stdout, stats.stderr
    mcp = subprocess.run([*prefix, PY, "-c", "import sys; from headroom_cli.mcp.server import headroom_retrieve; "
                          "sys.stdout.write(headroom_retrieve(sys.argv[1], lines='2-3'))", part_id], capture_output=True,
                         text=True, env=_env(headroom_home), timeout=120)
    assert mcp.returncode == 0 and mcp.stdout == lines.stdout, mcp.stderr  # the MCP tool caps whole answers: a range


# -- a store deleted while in use ------------------------------------------------------------------------

READ = ("import sys; from pathlib import Path; from headroom_cli.store import Store; "
        "print(Store(Path(sys.argv[1])).get(sys.argv[2]) is not None)")


def test_a_store_deleted_while_in_use_is_noticed_and_made_anew(headroom_home):
    headroom_home.mkdir(parents=True)
    path = headroom_home / "store.sqlite3"
    store, memory = Store(path), FitMemory(path)
    try:
        store.put(ccr_id("before\n" * 100), "text", "before\n" * 100)
        for suffix in ("", "-wal", "-shm"):
            path.with_name(path.name + suffix).unlink(missing_ok=True)
        time.sleep(1.2)  # the file's identity is checked at most once a second
        after = "stored after the file was deleted\n" * 100
        store.put(ccr_id(after), "text", after)
        assert path.exists() and stat.S_IMODE(path.stat().st_mode) == 0o600
        seen = subprocess.run([PY, "-c", READ, str(path), ccr_id(after)], capture_output=True, text=True,
                              env=_env(headroom_home), timeout=60)
        assert seen.stdout.strip() == "True", seen.stderr or "a new original went into the deleted file"
        assert store.stats().items == 1  # the new file, with its tables
    finally:
        memory.close()
        store.close()


# -- the store budget while running; the file shrinks -------------------------------------------------

def _on_disk(path: Path) -> int:
    return sum(p.stat().st_size for p in (path, path.with_name(path.name + "-wal")) if p.exists())


def test_the_budget_is_kept_while_running_off_the_request_path(headroom_home):
    headroom_home.mkdir(parents=True)
    store = Store(headroom_home / "store.sqlite3")
    budget = 256 * KB
    store.keep_within(budget, None)
    try:
        for i in range(120):  # 3 MB written, 12 times the budget
            text = f"item {i}\n" + "x" * (25 * KB)
            store.put(ccr_id(text), "text", text)
            time.sleep(0.005)
        thread = store._pruner._thread
        assert thread is not None, "never pruned while running"
        thread.join(timeout=60)
        held = store.stats().bytes
        assert held <= budget + 64 * KB + 26 * KB, held  # the budget, plus at most one step written since
        assert _on_disk(store.path) < 1024 * KB
    finally:
        store.close()


def test_open_store_keeps_the_budget_from_the_environment_while_running(headroom_home, monkeypatch):
    from headroom_cli.config import Settings
    from headroom_cli.runtime import open_store

    monkeypatch.setenv("HEADROOM_STORE_MAX_MB", "0.5")
    monkeypatch.setenv("HEADROOM_STORE_MAX_DAYS", "3")
    store = open_store(Settings.resolve())
    try:
        assert store._pruner.budget == (512 * KB, 3.0)
    finally:
        store.close()


@pytest.mark.parametrize("old_file", [False, True], ids=["new-file", "file-without-auto-vacuum"])
def test_the_file_shrinks_after_pruning(headroom_home, old_file):
    headroom_home.mkdir(parents=True)
    path = headroom_home / "store.sqlite3"
    if old_file:  # made by an earlier release: no auto_vacuum
        conn = sqlite3.connect(path)
        conn.execute("CREATE TABLE originals (id TEXT PRIMARY KEY, kind TEXT NOT NULL, text TEXT NOT NULL, "
                     "created REAL NOT NULL)")
        conn.close()
    store = Store(path)
    try:
        for i in range(200):
            text = f"item {i}\n" + "y" * (20 * KB)
            store.put(ccr_id(text), "text", text, now=1000.0 + i)
        with store._db.use() as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        full = _on_disk(path)
        assert full > 4000 * KB
        removed, _ = store.prune(max_bytes=200 * KB)
        assert removed >= 190
        assert _on_disk(path) < full / 5, (full, _on_disk(path))
        assert store.stats().items == 200 - removed
    finally:
        store.close()
    assert Store(path).stats().items == 200 - removed


# -- user-only files --------------------------------------------------------------------------------------

def test_every_file_under_the_home_is_user_only(headroom_home):
    headroom_home.mkdir(parents=True, mode=0o700)
    with MockUpstream() as upstream:
        proxy = _Proxy(headroom_home, upstream.url, umask="0")
        assert _post(proxy.port, _anthropic_body(pytest_verbose_log(400, seed=3))) == 200
        proxy.stop()
    wrapped = subprocess.run([PY, "-c", "import os, sys; os.umask(0); os.execv(sys.argv[1], sys.argv[1:])", PY, "-m",
                              "headroom_cli", "wrap", "--quiet", "--", PY, "-c", "pass"], capture_output=True,
                             text=True, env=_env(headroom_home), timeout=120)
    assert wrapped.returncode == 0, wrapped.stderr
    found = {p.relative_to(headroom_home).as_posix(): stat.S_IMODE(p.lstat().st_mode) for p in headroom_home.rglob("*")}
    assert {"headroom.log", "store.sqlite3", "ledger.sqlite3", "mitmproxy"} <= set(found), found
    assert any(name.startswith("mitmproxy/") for name in found)
    loose = {name: oct(mode) for name, mode in found.items()
             if mode != (0o700 if (headroom_home / name).is_dir() else 0o600)}
    assert not loose, loose


# -- a damaged ledger or store: one line, and what can go on goes on ------------------------------------------

GARBAGE = b"this is not a database \x00\xff" * 512


def test_a_damaged_ledger_is_one_clear_line_for_stats_and_dashboard(headroom_home):
    headroom_home.mkdir(parents=True)
    (headroom_home / "ledger.sqlite3").write_bytes(GARBAGE)
    for args in (["stats"], ["stats", "--json"], ["dashboard", "--once"]):
        run = _headroom(headroom_home, *args)
        line = _one_line(run.stderr)
        assert run.returncode == 1 and run.stdout == ""
        assert "ledger" in line and str(headroom_home / "ledger.sqlite3") in line and "damaged" in line
        assert "delete it" in line


def test_a_damaged_store_compress_still_answers_losslessly(headroom_home):
    headroom_home.mkdir(parents=True)
    (headroom_home / "store.sqlite3").write_bytes(GARBAGE)
    original = pytest_verbose_log(400, seed=4)
    run = _headroom(headroom_home, "compress", "--kind", "tests", stdin=original)
    line = _one_line(run.stderr)
    assert run.returncode == 0 and "store" in line and "damaged" in line and "losslessly" in line
    assert not find_markers(run.stdout) and run.stdout.strip()


def test_a_damaged_ledger_and_store_leave_proxy_and_wrap_working(headroom_home):
    headroom_home.mkdir(parents=True)
    for name in ("ledger.sqlite3", "store.sqlite3"):
        (headroom_home / name).write_bytes(GARBAGE)
    log = pytest_verbose_log(400, seed=5)
    with MockUpstream() as upstream:
        proxy = _Proxy(headroom_home, upstream.url)
        assert _post(proxy.port, _anthropic_body(log)) == 200
        err = proxy.stop()
        assert upstream.tool_results(upstream.requests[0])[0]["text"] == log
    assert "Traceback" not in err and err.count("is damaged") == 2, err
    wrapped = _headroom(headroom_home, "wrap", "--", PY, "-c", "raise SystemExit(3)")
    assert wrapped.returncode == 3 and "Traceback" not in wrapped.stderr, wrapped.stderr
    assert "damaged" in wrapped.stderr


def test_a_replayed_decision_stores_its_original_again_after_the_store_was_deleted(headroom_home, monkeypatch):
    from headroom_cli import Headroom, db
    from headroom_cli.config import Settings

    monkeypatch.setenv("HEADROOM_PART_BUDGET_MS", "20000")  # compressed however loaded the machine is
    headroom = Headroom(Settings.resolve())
    log = pytest_verbose_log(600, seed=11)
    messages = [{"role": "user", "content": "run the tests"},
                {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "Bash", "input": {}}]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": log}]}]
    try:
        first = headroom.compress(messages, model="claude-sonnet-4-5")
        ids = [m.group("id") for m in find_markers(str(first.messages))]
        assert ids, "the log was not compressed"
        path = headroom.settings.store_path
        for suffix in ("", "-wal", "-shm"):
            path.with_name(path.name + suffix).unlink(missing_ok=True)
        time.sleep(db.RECHECK_S + 0.2)
        again = headroom.compress(messages, model="claude-sonnet-4-5")  # the same decision, from memory
        assert [m.group("id") for m in find_markers(str(again.messages))] == ids
        for part_id in ids:
            seen = subprocess.run([PY, "-c", READ, str(path), part_id], capture_output=True, text=True,
                                  env=_env(headroom.settings.home), timeout=60)
            assert seen.stdout.strip() == "True", seen.stderr or f"{part_id} points at nothing"
    finally:
        headroom.close()
