"""Output that does not depend on machine load: the same request bytes give the same upstream bytes,
whatever else the machine is doing and whichever of several concurrent clients sends a part first.

Fresh interpreters (subprocesses) are used where the first use in a process is what matters: the
engines' one-time start-up is what a wall-clock budget used to cut, and the registry race only shows
while the engine modules are still being imported.
"""

from __future__ import annotations

import http.client
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from headroom_cli.engines import Part
from headroom_cli.engines.base import deadline_after, past
from headroom_cli.mock_upstream import MockUpstream
from headroom_cli.pipeline import Outcome, Pipeline

from samples import FAILED_TEST, PYTEST_SUMMARY, pytest_verbose_log

REPO = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)

# Run every corpus sample through a fresh pipeline over a fresh store, in a fresh interpreter; print
# {file: outcome text}. The first sample pays the engines' start-up, as a proxy's first request did.
CORPUS_RUN = """
import json, sys, tempfile
from pathlib import Path
from headroom_cli.engines import Part
from headroom_cli.pipeline import Pipeline
from headroom_cli.store import Store

corpus = Path(sys.argv[1])
out = {}
with tempfile.TemporaryDirectory() as home:
    store = Store(Path(home) / "store.sqlite3")
    pipeline = Pipeline(frozen=store)
    for entry in json.loads((corpus / "needles.json").read_text(encoding="utf-8")):
        text = (corpus / entry["file"]).read_text(encoding="utf-8")
        out[entry["file"]] = pipeline.run(Part(text, query=entry.get("query"))).text
    store.close()
sys.stdout.write(json.dumps(out))
"""

# Ten threads released at once on a fresh interpreter: what each saw of the engine registry, or what
# each got from one shared pipeline for the same part; then what a caller sees once all is loaded.
RACE_RUN = """
import json, sys, threading
from headroom_cli import engines
from headroom_cli.engines import Part
from headroom_cli.pipeline import Pipeline

mode, text = sys.argv[1], open(sys.argv[2], encoding="utf-8").read()
pipeline = Pipeline()
start = threading.Barrier(10)
seen = [None] * 10

def first_use(i):
    start.wait()
    if mode == "registry":
        seen[i] = [engine.name for engine in engines.registered()]
    else:
        seen[i] = pipeline.run(Part(text)).text

threads = [threading.Thread(target=first_use, args=(i,)) for i in range(10)]
for t in threads: t.start()
for t in threads: t.join()
after = [engine.name for engine in engines.registered()] if mode == "registry" else Pipeline().run(Part(text)).text
print(json.dumps({"seen": seen, "after": after}))
"""


def _python(code: str, *args: str, timeout: float = 120) -> str:
    done = subprocess.run([sys.executable, "-c", code, *args], env=ENV, capture_output=True, text=True,
                          timeout=timeout)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


class _Busy:
    """CPU oversubscription: ``count`` processes spinning until stopped (killed in ``__exit__``)."""

    def __init__(self, count: int):
        self.count = count
        self.procs: list[subprocess.Popen] = []

    def __enter__(self) -> "_Busy":
        for _ in range(self.count):
            self.procs.append(subprocess.Popen([sys.executable, "-c", "while True: pass"],
                                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL))
        time.sleep(0.5)  # let them take the cores before the measured work starts
        return self

    def __exit__(self, *exc) -> None:
        for proc in self.procs:
            proc.kill()
        for proc in self.procs:
            proc.wait(timeout=30)


# -- the budget's clock --------------------------------------------------------------------------------

def test_the_budget_counts_the_threads_own_cpu_time_not_waiting():
    deadline = deadline_after(0.05)
    time.sleep(0.3)  # a thread kept waiting (a busy machine, other requests) spends none of its budget
    assert not past(deadline)
    while not past(deadline):  # its own work does
        pass


def test_compress_command_honours_the_part_budget(tmp_path):
    log = tmp_path / "pytest.log"
    log.write_text(pytest_verbose_log(1999))
    env = {**ENV, "HEADROOM_HOME": str(tmp_path / "home")}

    def compress(budget: str | None) -> subprocess.CompletedProcess:
        run_env = {k: v for k, v in env.items() if k != "HEADROOM_PART_BUDGET_MS"}
        if budget is not None:
            run_env["HEADROOM_PART_BUDGET_MS"] = budget
        return subprocess.run([sys.executable, "-m", "headroom_cli", "compress", "--json", str(log)], env=run_env,
                              capture_output=True, text=True, timeout=120)

    default, starved = compress(None), compress("1")  # 1 ms of CPU: less than the engines' start-up alone
    assert default.returncode == 0 and starved.returncode == 0, default.stderr + starved.stderr
    assert json.loads(default.stdout)["engine"] == "testlog"
    assert json.loads(starved.stdout)["engine"] is None  # the budget was honoured: the log went as it was
    bad = compress("soon")
    assert bad.returncode != 0 and "HEADROOM_PART_BUDGET_MS" in bad.stderr and "Traceback" not in bad.stderr
    assert len(bad.stderr.strip().splitlines()) <= 2


def test_the_library_and_the_mcp_server_pipeline_honour_the_part_budget(monkeypatch, caplog):
    monkeypatch.setenv("HEADROOM_PART_BUDGET_MS", "1500")
    assert Pipeline().part_budget_s == 1.5  # what `headroom mcp serve` and any library caller build
    monkeypatch.setenv("HEADROOM_PART_BUDGET_MS", "soon")
    with caplog.at_level("WARNING", logger="headroom.pipeline"):
        assert Pipeline().part_budget_s == 5.0  # a bad value is said once, and the default used
    assert "HEADROOM_PART_BUDGET_MS" in caplog.text


# A fresh interpreter: the CPU time its first part takes, after building a proxy (not started) or not.
FIRST_PART = """
import sys, tempfile, time
from pathlib import Path
from headroom_cli.engines import Part
from headroom_cli.pipeline import Pipeline

text = open(sys.argv[2], encoding="utf-8").read()
if sys.argv[1] == "proxy":
    from headroom_cli.config import Settings
    from headroom_cli.proxy.server import ProxyServer
    home = Path(tempfile.mkdtemp())
    server = ProxyServer(Settings(host="127.0.0.1", port=0, anthropic_upstream="http://127.0.0.1:9",
                                  openai_upstream="http://127.0.0.1:9", compress=True, home=home))
    server.recorder.close()
started = time.thread_time()
outcome = Pipeline().run(Part(text))
print(time.thread_time() - started, outcome.changed)
"""


def test_a_proxy_warms_the_engines_before_it_listens(tmp_path):
    sample = tmp_path / "log.txt"
    sample.write_text(pytest_verbose_log(600))
    cold_s, cold_changed = _python(FIRST_PART, "cold", str(sample)).split()
    warm_s, warm_changed = _python(FIRST_PART, "proxy", str(sample)).split()
    assert cold_changed == warm_changed == "True"
    # CPU time, so load does not blur it: the cold first part pays the engines' start-up, the warm one not.
    assert float(warm_s) < 0.5 * float(cold_s), (warm_s, cold_s)


# -- concurrency ---------------------------------------------------------------------------------------

def test_a_fresh_interpreters_concurrent_first_callers_all_see_every_engine(tmp_path):
    sample = tmp_path / "log.txt"
    sample.write_text(pytest_verbose_log(600))
    result = json.loads(_python(RACE_RUN, "registry", str(sample)))
    from headroom_cli.kompress import missing

    optional = ("kompress.py",) if missing() else ()  # registers nothing without the [ml] extra
    modules = [m for m in (REPO / "headroom_cli" / "engines").iterdir()
               if m.name not in ("__init__.py", "base.py", "__pycache__", *optional) and (m.suffix == ".py" or m.is_dir())]
    assert len(result["after"]) == len(modules)  # one engine per module, none failed to load
    assert result["seen"] == [result["after"]] * 10


def test_a_fresh_interpreters_concurrent_first_runs_of_one_part_agree_and_compress(tmp_path):
    sample = tmp_path / "log.txt"
    sample.write_text(pytest_verbose_log(600))
    result = json.loads(_python(RACE_RUN, "pipeline", str(sample)))
    assert result["seen"] == [result["after"]] * 10
    assert len(result["after"]) < 0.5 * len(sample.read_text())


class _CountingDecisions:
    """Frozen decisions in a dict (what the store does on disk), counting how many were made."""

    def __init__(self):
        self.decisions: dict[str, Outcome] = {}
        self.frozen = 0
        self._lock = threading.Lock()

    def recall(self, part_hash: str, original: str) -> Outcome | None:
        return self.decisions.get(part_hash)

    def freeze(self, part_hash: str, outcome: Outcome) -> None:
        with self._lock:
            self.frozen += 1
            self.decisions.setdefault(part_hash, outcome)


@pytest.mark.parametrize("memo_size", [256, 0])
def test_concurrent_runs_of_one_part_share_one_computation(memo_size):
    frozen = _CountingDecisions()
    pipeline = Pipeline(frozen=frozen, memo_size=memo_size)
    text = pytest_verbose_log(1999)
    start = threading.Barrier(10)
    outcomes: list[Outcome | None] = [None] * 10

    def run(i: int) -> None:
        start.wait()
        outcomes[i] = pipeline.run(Part(text))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert frozen.frozen == 1  # decided once; the nine others waited for it
    # equal, not always the same object: a thread the machine's load starts after the others are done
    # finds the decision in the memo, which hands out a copy carrying the caller's text
    assert all(o == outcomes[0] for o in outcomes) and outcomes[0].changed
    assert not pipeline._flights  # nothing left behind
    assert pipeline.run(Part(text)) == outcomes[0]


# -- the corpus under load -----------------------------------------------------------------------------

def test_the_corpus_compresses_byte_for_byte_the_same_under_cpu_oversubscription(corpus_dir):
    idle = json.loads(_python(CORPUS_RUN, str(corpus_dir)))
    with _Busy(2 * CORES):
        loaded = json.loads(_python(CORPUS_RUN, str(corpus_dir), timeout=240))
    assert loaded.keys() == idle.keys() and len(idle) >= 30
    differ = [name for name in idle if loaded[name] != idle[name]]
    assert not differ, f"outputs changed under load: {differ}"
    original = {name: (corpus_dir / name).read_text(encoding="utf-8") for name in idle}
    assert sum(idle[n] != original[n] for n in idle) >= 0.8 * len(idle)  # and they were compressed


# -- a fresh proxy, ten identical requests at once -----------------------------------------------------

def _start_proxy(upstream: MockUpstream, home: Path) -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen([sys.executable, "-m", "headroom_cli", "proxy", "--port", "0", "--anthropic-upstream",
                             upstream.url, "--openai-upstream", upstream.url],
                            env={**ENV, "HEADROOM_HOME": str(home), "COLUMNS": "200"},
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stderr], daemon=True).start()
    until = time.monotonic() + 60
    while time.monotonic() < until:
        try:
            line = lines.get(timeout=1)
        except queue.Empty:
            assert proc.poll() is None, "the proxy exited before it listened"
            continue
        found = re.search(r"listening\s+http://127\.0\.0\.1:(\d+)", line)
        if found:
            return proc, int(found.group(1))
    proc.kill()
    raise AssertionError("the proxy did not say where it listens within 60 s")


def _post(port: int, body: bytes) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    conn.request("POST", "/v1/messages", body=body, headers={"content-type": "application/json",
                                                              "x-api-key": "sk-ant-test", "anthropic-version": "2023-06-01"})
    status = conn.getresponse().status
    conn.close()
    return status


def test_a_fresh_proxy_sends_ten_concurrent_identical_requests_as_one_compressed_body(tmp_path):
    log = pytest_verbose_log(1999)
    body = json.dumps({"model": "claude-sonnet-4-5", "max_tokens": 1024, "messages": [
        {"role": "user", "content": "run the tests"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "Bash",
                                           "input": {"command": "pytest -v"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": log}]},
    ]}).encode()
    with MockUpstream() as upstream:
        proc, port = _start_proxy(upstream, tmp_path / "home")
        try:
            start = threading.Barrier(10)
            statuses: list[int | None] = [None] * 10

            def send(i: int) -> None:
                start.wait()
                statuses[i] = _post(port, body)

            threads = [threading.Thread(target=send, args=(i,)) for i in range(10)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=180)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=30)
        received = [r for r in upstream.requests if r.path == "/v1/messages"]
    assert statuses == [200] * 10
    assert len(received) == 10
    assert len({r.body for r in received}) == 1  # the same bytes, whoever came first
    (sent,) = (r["text"] for r in upstream.tool_results(received[0]))
    assert len(sent) < 0.2 * len(log)  # compressed, not passed through
    assert FAILED_TEST in sent and PYTEST_SUMMARY in sent
