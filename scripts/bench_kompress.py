#!/usr/bin/env python3
"""Kompress against the text fallback and against head+tail, on outputs training never saw.

    python scripts/bench_kompress.py [--json] [--card models/kompress/README.md] [CORPUS_DIR ...]

Two held-out sets:
- "corpora": every sample of ../shared/corpus and ../shared/corpus-rtk (evaluation sets, never read
  by training) with its needles and query, each forced through each method;
- "unseen programs": the held-out families of scripts/kompress_data.py (man, openssl, doctest,
  readelf, strace, git blame: programs and formats no training sample comes from); the needles are
  the lines holding a rare identifier used as the query (the agent asks about one thing), and the
  first line of each distinct problem message (gcc's diagnostics, a doctest's traceback).
Methods: ``kompress`` and ``text`` forced (Pipeline(engine=...)), ``head+tail`` (the first and last
lines, as many tokens as Kompress kept: position alone at the same budget), and the whole pipeline
with Kompress (the default: the fallback for unclaimed text) and without it (HEADROOM_KOMPRESS=off).
Per method: tokens saved, needles verbatim, needles recoverable (in the output or inside a marker's --lines range of the original). Latency:
p50 of Kompress's time per 10K input tokens on parts of 2K+ tokens, model loaded (no process start).
``--card`` rewrites the table between the model card's BENCH markers.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "scripts")]

import kompress_data  # noqa: E402
from headroom_cli.engines import Part  # noqa: E402
from headroom_cli.markers import ccr_id, find_markers, line_marker  # noqa: E402
from headroom_cli.pipeline import Pipeline  # noqa: E402
from headroom_cli.tokens import count_tokens  # noqa: E402

CORPORA = [REPO.parent / "shared" / "corpus", REPO.parent / "shared" / "corpus-rtk"]
METHODS = ("kompress", "text", "head+tail", "pipeline", "pipeline-no-kompress")


def corpus_samples(dirs: list[Path]) -> list[dict]:
    out = []
    for d in dirs:
        index = d / "needles.json"
        if not index.is_file():
            continue
        for item in json.loads(index.read_text()):
            text = (d / item["file"]).read_text(encoding="utf-8", errors="replace")
            out.append({"name": f"{d.name}/{item['file']}", "text": text, "query": item.get("query"),
                        "needles": item["needles"]})
    return out


def unseen_samples() -> list[dict]:
    rng = random.Random(17)
    out = []
    for s in kompress_data.collect():
        if not s.family.startswith("heldout:"):
            continue
        query = kompress_data.derive_query(s.text, rng)
        needles = [line.strip() for line in s.text.split("\n") if query and query in line and line.strip()]
        needles += [line for line in problem_lines(s.text) if line not in needles]
        if needles:
            out.append({"name": f"{s.family}: {s.command[-60:]}", "text": s.text, "query": query, "needles": needles})
    return out


PROBLEM = re.compile(r"\b(error|ERROR|FAILED|panicked)\b:?\s*(?P<msg>.*)")


def problem_lines(text: str) -> list[str]:
    """The first line of each distinct problem message (error:, FAILED, panicked: as corpus-rtk's needle
    rule), numbers masked: what an agent must see whatever it asked."""
    seen, out = set(), []
    for line in text.split("\n"):
        m = PROBLEM.search(line)
        key = m and re.sub(r"\d+", "0", m.group("msg"))[:80]
        if m and key not in seen:
            seen.add(key)
            out.append(line.strip())
    return out


def head_tail(text: str, budget: int) -> str:
    """The first and last lines (alternately) up to ``budget`` tokens, one marker for the middle."""
    lines = text.split("\n")
    head, tail, used = 0, 0, 0
    while head + tail < len(lines):
        i = head if (head + tail) % 2 == 0 else len(lines) - 1 - tail
        cost = count_tokens(lines[i]) + 1
        if used + cost > budget:
            break
        used += cost
        head, tail = (head + 1, tail) if i == head else (head, tail + 1)
    if head + tail >= len(lines):
        return text
    gap = line_marker(ccr_id(text), head + 1, len(lines) - tail, {})
    return "\n".join(lines[:head] + [gap] + lines[len(lines) - tail:])


def run(method: str, sample: dict, budget: int) -> str:
    if method == "head+tail":
        return head_tail(sample["text"], budget)
    engine = method if method in ("kompress", "text") else None
    os.environ["HEADROOM_KOMPRESS"] = "off" if method == "pipeline-no-kompress" else "on"
    try:
        return Pipeline(engine=engine).run(Part(text=sample["text"], query=sample["query"])).text
    finally:
        os.environ.pop("HEADROOM_KOMPRESS", None)


def judge(sample: dict, out: str) -> tuple[int, int]:
    """(needles verbatim, needles recoverable) in one output."""
    lines = sample["text"].split("\n")
    spans = ["\n".join(lines[int(m.group("a")) - 1:int(m.group("b"))]) if m.group("a") else sample["text"]
             for m in find_markers(out)]
    verbatim = sum(1 for n in sample["needles"] if n in out)
    recoverable = sum(1 for n in sample["needles"] if n in out or any(n in span for span in spans))
    return verbatim, recoverable


def measure(samples: list[dict]) -> dict:
    totals = {m: {"before": 0, "after": 0, "verbatim": 0, "recoverable": 0} for m in METHODS}
    needles = 0
    for sample in samples:
        before = count_tokens(sample["text"])
        kompress_out = run("kompress", sample, 0)
        budget = count_tokens(kompress_out)
        needles += len(sample["needles"])
        for method in METHODS:
            out = kompress_out if method == "kompress" else run(method, sample, budget)
            verbatim, recoverable = judge(sample, out)
            t = totals[method]
            t["before"] += before
            t["after"] += count_tokens(out)
            t["verbatim"] += verbatim
            t["recoverable"] += recoverable
    return {m: {"saved_pct": round(100 * (1 - t["after"] / max(1, t["before"])), 1),
                "verbatim_pct": round(100 * t["verbatim"] / max(1, needles), 1),
                "recoverable_pct": round(100 * t["recoverable"] / max(1, needles), 1),
                "needles": needles, "samples": len(samples)} for m, t in totals.items()}


def latency(samples: list[dict], repeat: int = 3) -> dict:
    """p50 ms per 10K input tokens of Kompress on parts of 2K+ tokens (model loaded beforehand)."""
    big = [s for s in samples if count_tokens(s["text"]) >= 2000]
    if big:
        run("kompress", big[0], 0)  # loads the model: process start and loading are not measured
    per10k = []
    for s in big:
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            run("kompress", s, 0)
            times.append(time.perf_counter() - started)
        per10k.append(1000 * min(times) * 10_000 / count_tokens(s["text"]))
    return {"parts": len(per10k), "p50_ms_per_10k_tokens": round(statistics.median(per10k), 1) if per10k else None,
            "max_ms_per_10k_tokens": round(max(per10k), 1) if per10k else None}


def table(results: dict) -> str:
    rows = ["| set | method | tokens saved | needles verbatim | needles recoverable |",
            "|---|---|---:|---:|---:|"]
    for name, methods in results["sets"].items():
        for method, r in methods.items():
            rows.append(f"| {name} ({r['samples']} outputs, {r['needles']} needles) | {method} | {r['saved_pct']}% | "
                        f"{r['verbatim_pct']}% | {r['recoverable_pct']}% |")
    lat = results["latency"]
    rows.append("")
    rows.append(f"Latency (Kompress forced, model loaded, 1 thread): p50 {lat['p50_ms_per_10k_tokens']} ms per 10K "
                f"input tokens, max {lat['max_ms_per_10k_tokens']} ms, over {lat['parts']} parts of 2K+ tokens.")
    return "\n".join(rows)


def _claimed(sample: dict) -> bool:
    """Whether a specialised engine claims the sample (where Kompress does not run by default)."""
    from headroom_cli.kompress.engine import _claimed as claimed

    return claimed(Part(text=sample["text"], query=sample["query"]))


def write_card(card: Path, text: str) -> None:
    body = card.read_text()
    start, end = "<!-- BENCH -->", "<!-- /BENCH -->"
    head, _, rest = body.partition(start)
    _, _, tail = rest.partition(end)
    card.write_text(f"{head}{start}\n{text}\n{end}{tail}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("corpora", nargs="*", type=Path, default=CORPORA)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--card", type=Path, help="rewrite the table in this model card")
    args = ap.parse_args()
    os.environ.setdefault("HEADROOM_HOME", str(REPO / "build" / "kompress-bench-home"))
    corpora, unseen = corpus_samples(args.corpora), unseen_samples()
    unclaimed = [s for s in corpora if not _claimed(s)]
    results = {"sets": {"corpora, unclaimed parts": measure(unclaimed), "unseen programs": measure(unseen),
                        "unseen formats (both above)": measure(unclaimed + unseen),
                        "corpora, every part": measure(corpora)},
               "latency": latency(corpora + unseen)}
    if args.card:
        write_card(args.card, table(results))
    print(json.dumps(results, indent=1) if args.json else table(results))


if __name__ == "__main__":
    main()
