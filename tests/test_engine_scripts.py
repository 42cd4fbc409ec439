"""scripts/engine_equivalence.py finds a changed output (and none where nothing changed);
scripts/bench_engine_latency.py times every sample of the chosen kinds."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = REPO / "scripts"


def tiny_corpus(root: Path) -> Path:
    """Two listing samples and one search sample with a needles.json, as the shared corpus has them."""
    corpus = root / "corpus"
    (corpus / "listing").mkdir(parents=True)
    (corpus / "search").mkdir()
    find = "\n".join(f"./src/mod_{d}/file_{k:03d}.py" for d in range(4) for k in range(60)) + "\n"
    log = "\n".join(f"c{k:06x} fix(core): change number {k}" + (" (revert)" if k == 77 else "")
                    for k in range(300)) + "\n"
    grep = "\n".join(f"src/mod_{d}/file_{k}.py:{k + 3}:    value = compute_{k}(x)" for d in range(6) for k in range(30)) + "\n"
    (corpus / "listing" / "find.txt").write_text(find)
    (corpus / "listing" / "log.txt").write_text(log)
    (corpus / "search" / "grep.txt").write_text(grep)
    needles = [{"file": "listing/find.txt", "kind": "listing", "query": "where is file_007?", "needles": ["file_007"]},
               {"file": "listing/log.txt", "kind": "listing", "query": None, "needles": ["revert"]},
               {"file": "search/grep.txt", "kind": "search", "query": "compute_12", "needles": ["compute_12"]}]
    (corpus / "needles.json").write_text(json.dumps(needles))
    return corpus


def equivalence(before: Path, corpus: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPTS / "engine_equivalence.py"), "--before", str(before),
                           "--fuzz", "6", str(corpus)], capture_output=True, text=True, timeout=240, cwd=REPO)


def test_equivalence_same_code_no_difference(tmp_path):
    done = equivalence(REPO, tiny_corpus(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 differences" in done.stdout
    compared = int(done.stdout.split(" parts")[0].split()[-1])
    assert compared > 3 * 13  # every sample in variants (hints, query or none), and the fuzzed texts


def test_equivalence_reports_a_changed_output(tmp_path):
    # the "before" checkout keeps one more line at the head of every git log: outputs differ
    before = tmp_path / "before"
    shutil.copytree(REPO / "headroom_cli", before / "headroom_cli", ignore=shutil.ignore_patterns("__pycache__"))
    gitlog = before / "headroom_cli" / "engines" / "listing" / "gitlog.py"
    source = gitlog.read_text()
    assert "LOG_HEAD = 5" in source
    gitlog.write_text(source.replace("LOG_HEAD = 5", "LOG_HEAD = 6"))
    done = equivalence(before, tiny_corpus(tmp_path))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "DIFF " in done.stdout and "log.txt" in done.stdout and "listing.out" in done.stdout
    assert "find.txt" not in done.stdout and "grep.txt" not in done.stdout  # only what the change touches


def test_latency_table_covers_every_sample_of_the_kinds(tmp_path):
    corpus = tiny_corpus(tmp_path)
    done = subprocess.run([sys.executable, str(SCRIPTS / "bench_engine_latency.py"), str(corpus), "--kinds",
                           "listing,search", "--repeat", "2", "--part-tokens", "3000", "--json"],
                          capture_output=True, text=True, timeout=240, cwd=REPO)
    assert done.returncode in (0, 1), done.stderr  # 1: a target missed on a loaded machine
    rows = json.loads(done.stdout)
    assert [(r["kind"], Path(r["sample"]).name) for r in rows] == [
        ("listing", "find.txt"), ("listing", "log.txt"), ("search", "grep.txt")]
    for r in rows:
        assert r["engine"] == r["kind"]
        assert r["tokens"] >= 3000
        assert 0 < r["median_ms"] <= r["worst_ms"]
        assert r["passed"] == (r["median_ms"] <= 30 and r["worst_ms"] <= 150)
