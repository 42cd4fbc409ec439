"""Originals survive every Headroom process sharing one store (issue 13, finding 1).

POSIX drops all of a process's locks on a file when it closes any descriptor of that file. The proxy
used to open ``store.sqlite3`` twice (the store and the fit memory), and the second open did an
``open()``/``close()`` by hand: its locks were gone, so the next process to close the store (an MCP
retrieval, ``headroom retrieve``) deleted the proxy's live WAL and what the proxy stored after that was
seen by nobody and lost on a crash. First the mechanism, in one process; then real processes (the
proxy, the MCP server and the CLI) on one store, killed at random points.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

from headroom_cli.context_fit import FitMemory
from headroom_cli.markers import ccr_id, find_markers
from headroom_cli.store import Store
from samples import pytest_verbose_log
from test_proxy import ANTHROPIC_HEADERS, _anthropic_body

REPO = Path(__file__).resolve().parents[1]
PY = sys.executable


def _env(home: Path) -> dict:
    return {**os.environ, "PYTHONPATH": str(REPO), "HEADROOM_HOME": str(home)}


def _in_another_process(home: Path, code: str) -> str:
    run = subprocess.run([PY, "-c", code, str(home / "store.sqlite3")], capture_output=True, text=True,
                         env=_env(home), timeout=60)
    assert run.returncode == 0, run.stderr
    return run.stdout


OPEN_AND_CLOSE = "import sys; from pathlib import Path; from headroom_cli.store import Store; s = Store(Path(sys.argv[1])); s.get('hr_0'); s.close()"
READ = "import sys; from pathlib import Path; from headroom_cli.store import Store; s = Store(Path(sys.argv[1])); print(s.get(sys.argv[2]) is not None)"


def test_a_second_user_of_the_store_in_one_process_keeps_its_wal_alive_for_the_others(headroom_home):
    headroom_home.mkdir(parents=True)
    path = headroom_home / "store.sqlite3"
    store = Store(path)  # what the proxy opens first (runtime.open_store) …
    memory = FitMemory(path)  # … and then a second time (the context fit's memory, shaping.py)
    try:
        first = "first original\n" * 200
        store.put(ccr_id(first), "logs", first)
        _in_another_process(headroom_home, OPEN_AND_CLOSE)  # an MCP retrieval, `headroom retrieve`
        assert (headroom_home / "store.sqlite3-wal").exists(), "another process deleted this process's live WAL"
        later = "stored after the other process closed the store\n" * 200
        store.put(ccr_id(later), "logs", later)
        seen = subprocess.run([PY, "-c", READ, str(path), ccr_id(later)], capture_output=True, text=True,
                              env=_env(headroom_home), timeout=60)
        assert seen.stdout.strip() == "True", seen.stderr or "an original stored now is invisible to other processes"
    finally:
        memory.close()
        store.close()
    assert Store(path).get(ccr_id(later)) is not None


def test_one_connection_per_file_per_process(headroom_home):
    headroom_home.mkdir(parents=True)
    path = headroom_home / "store.sqlite3"
    a, b = Store(path), Store(path)
    memory = FitMemory(path)
    try:
        assert a._db is b._db is memory._db  # one owner: nothing else opens or closes the file here
    finally:
        a.close()
        memory.close()
    b.put("hr_00000000000000aa", "text", "still open for its last user\n" * 10)
    assert b.get("hr_00000000000000aa")
    b.close()


# -- real processes, killed at random points ---------------------------------------------------------------

DURATION_S = 20.0
RETRIEVE_ALL = """
import json, sys
from typer.testing import CliRunner
from headroom_cli.cli import app
runner = CliRunner()
answers = {}
for part_id in sys.argv[1:]:
    got = runner.invoke(app, ["retrieve", part_id])
    answers[part_id] = (got.exit_code, got.stdout, got.stderr)
print(json.dumps(answers))
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Run:
    """Shared state of the stress run: what was sent, compressed and answered."""

    def __init__(self, home: Path, seed: int):
        self.home = home
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.originals: dict[str, str] = {}  # ccr id of a whole tool output -> its text
        self.compressed_ids: set[str] = set()  # from `headroom compress` / MCP compress answers that arrived
        self.counter = 0
        self.errors: list[str] = []
        self.kills = {"proxy": 0, "mcp": 0, "cli": 0}
        self.upstream = None

    def unique_log(self) -> str:
        with self.lock:
            self.counter += 1
            n = self.counter
        text = pytest_verbose_log(120 + n % 40, seed=n)
        with self.lock:
            self.originals[ccr_id(text)] = text
        return text

    def random(self) -> float:
        with self.lock:
            return self.rng.random()

    def known_ids(self) -> list[str]:
        """IDs to retrieve: printed by `compress`, or sent upstream by the proxy."""
        sent = set()
        for request in list(self.upstream.requests) if self.upstream is not None else ():
            sent.update(m.group("id") for t in self.upstream.tool_results(request) for m in find_markers(t["text"]))
        with self.lock:
            return sorted(self.compressed_ids | sent)


def _kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)


def _wait_healthy(port: int, proc: subprocess.Popen, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/headroom/health")
            if conn.getresponse().status == 200:
                return True
        except OSError:
            time.sleep(0.1)
    return False


def _proxy_worker(run: _Run, upstream_url: str) -> None:
    while not run.stop.is_set():
        port = _free_port()
        proc = subprocess.Popen([PY, "-m", "headroom_cli", "proxy", "--port", str(port), "--no-retrieval-tool",
                                 "--anthropic-upstream", upstream_url, "--openai-upstream", upstream_url],
                                env=_env(run.home), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            if not _wait_healthy(port, proc):
                continue
            lifetime = time.monotonic() + 1.0 + 3.0 * run.random()
            while time.monotonic() < lifetime and not run.stop.is_set():
                body = _anthropic_body(run.unique_log())
                if run.random() < 0.25:  # killed while this request is on its way
                    threading.Timer(0.05 + 0.3 * run.random(), _kill, (proc,)).start()
                try:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                    conn.request("POST", "/v1/messages", body=body, headers=ANTHROPIC_HEADERS)
                    conn.getresponse().read()
                except (OSError, http.client.HTTPException):  # killed while answering
                    break
        finally:
            _kill(proc)
            run.kills["proxy"] += 1


def _mcp_call(proc: subprocess.Popen, call_id: int, method: str, params: dict) -> dict:
    proc.stdin.write(json.dumps({"jsonrpc": "2.0", "id": call_id, "method": method, "params": params}) + "\n")
    proc.stdin.flush()
    while True:
        line = proc.stdout.readline()
        if not line:
            raise EOFError("the MCP server ended")
        message = json.loads(line)
        if message.get("id") == call_id:
            return message


def _mcp_worker(run: _Run) -> None:
    while not run.stop.is_set():
        proc = subprocess.Popen([PY, "-m", "headroom_cli", "mcp", "serve"], env=_env(run.home), text=True,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        threading.Timer(1.0 + 4.0 * run.random(), _kill, (proc,)).start()  # killed at a random point
        try:
            _mcp_call(proc, 1, "initialize", {"protocolVersion": "2024-11-05", "capabilities": {},
                                              "clientInfo": {"name": "stress", "version": "1"}})
            proc.stdin.write(json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}) + "\n")
            proc.stdin.flush()
            for call_id in range(2, 10_000):
                if run.stop.is_set():
                    break
                known = run.known_ids()
                if known and run.random() < 0.6:  # a retrieval: the MCP server opens and closes the store
                    name, args = "headroom_retrieve", {"id": known[int(run.random() * len(known))]}
                else:
                    name, args = "headroom_compress", {"text": run.unique_log(), "kind": "tests"}
                answer = _mcp_call(proc, call_id, "tools/call", {"name": name, "arguments": args})
                text = answer["result"]["content"][0]["text"]
                if name == "headroom_compress":
                    with run.lock:
                        run.compressed_ids.update(m.group("id") for m in find_markers(text))
                elif answer["result"].get("isError"):
                    with run.lock:
                        run.errors.append(f"MCP retrieve {args['id']}: {text}")
        except (OSError, EOFError, ValueError, KeyError):
            pass  # killed
        finally:
            _kill(proc)
            run.kills["mcp"] += 1


def _cli_worker(run: _Run) -> None:
    while not run.stop.is_set():
        known = run.known_ids()
        choice = run.random()
        text = None
        if choice < 0.5 or not known:
            text = run.unique_log()
            args = ["compress", "-"]
        elif choice < 0.8:
            args = ["retrieve", known[int(run.random() * len(known))]]
        else:
            args = ["store", "stats"]
        proc = subprocess.Popen([PY, "-m", "headroom_cli", *args], env=_env(run.home), text=True,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        killer = None
        if run.random() < 0.3:
            killer = threading.Timer(0.1 + 0.5 * run.random(), _kill, (proc,))
            killer.start()
        out, err = proc.communicate(text, timeout=120)
        if killer is not None:
            killer.cancel()
        if proc.returncode == -signal.SIGKILL:
            run.kills["cli"] += 1
            continue
        if proc.returncode != 0:
            with run.lock:
                run.errors.append(f"headroom {' '.join(args)}: exit {proc.returncode}: {err.strip()[-500:]}")
        elif args[0] == "compress":
            with run.lock:
                run.compressed_ids.update(m.group("id") for m in find_markers(out))


def test_proxy_mcp_and_cli_on_one_store_killed_at_random_lose_no_original(headroom_home):
    from headroom_cli.mock_upstream import MockUpstream

    headroom_home.mkdir(parents=True)
    run = _Run(headroom_home, seed=1313)
    with MockUpstream() as upstream:
        run.upstream = upstream
        workers = [threading.Thread(target=_proxy_worker, args=(run, upstream.url)),
                   threading.Thread(target=_mcp_worker, args=(run,)),
                   threading.Thread(target=_cli_worker, args=(run,))]
        for worker in workers:
            worker.start()
        time.sleep(DURATION_S)
        run.stop.set()
        for worker in workers:
            worker.join(timeout=120)
        sent = [m.group("id") for r in upstream.requests for t in upstream.tool_results(r) for m in find_markers(t["text"])]
    assert not any(worker.is_alive() for worker in workers)
    assert not run.errors, run.errors[:5]
    reached = sorted(set(sent))
    print(f"stress: {len(reached)} IDs reached the upstream, {len(run.compressed_ids)} printed by compress; "
          f"SIGKILLs {run.kills}")
    assert len(reached) >= 5 and run.kills["proxy"] >= 2 and run.kills["mcp"] >= 2, (len(reached), run.kills)

    # Every marker that reached the upstream, and every one `compress` printed, resolves afterwards with
    # `headroom retrieve` (its command run once per ID, in one fresh process: bounded on a loaded machine).
    ids = reached + sorted(run.compressed_ids - set(reached))
    back = subprocess.run([PY, "-c", RETRIEVE_ALL, *ids], capture_output=True, text=True, env=_env(headroom_home),
                          timeout=120)
    assert back.returncode == 0, back.stderr
    answers = json.loads(back.stdout)
    for part_id in ids:
        code, text, err = answers[part_id]
        assert code == 0, f"{part_id}: {err}"
        if part_id in run.originals:
            assert text == run.originals[part_id]
    conn = sqlite3.connect(headroom_home / "store.sqlite3")
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        conn.close()


def test_closing_a_user_twice_leaves_the_others_their_connection(headroom_home):
    headroom_home.mkdir(parents=True)
    path = headroom_home / "store.sqlite3"
    a, b = Store(path), Store(path)
    a.close()
    a.close()
    b.put("hr_00000000000000bb", "text", "b's connection is still open\n" * 10)
    assert b.get("hr_00000000000000bb")
    b.close()
