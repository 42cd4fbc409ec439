#!/usr/bin/env python3
"""Compression benchmark: run the pipeline over a needle corpus and judge it against the product's targets.

For every corpus folder that has a ``needles.json`` (default: the shared corpus beside the checkout),
each sample goes through ``Pipeline().run(Part(text, query=...))``. Lossy outcomes have their original
put in a fresh temporary store, as the proxy would. Then, per sample:

- kind (the corpus's), the engine chosen and the kind it judged, tokens before/after (cl100k), % saved;
- needles kept verbatim, needles recoverable through the store (the needle lies inside the span of one
  of the output's markers: ``--lines A-B`` when the marker names lines, else the whole original; a
  marker whose ID is not in the store recovers nothing), and needles lost;
- the median latency of ``--repeat`` runs, each on a new Pipeline (the pipeline memoises results);
- whether the output is larger than the input (characters or tokens) and whether every run gave the
  same bytes.

Per kind and overall it sums tokens and needles and compares them with the targets, and it times the
largest samples and a ~50K-token part built by repeating the corpus's largest log sample.

Source code is also judged per language (``bench_code.py``): the corpus's code samples and the real
files under ``tests/data/code`` (or ``--code-dir``): tokens saved on files over 300 lines, signatures
kept verbatim, outputs that parse, markers that give back their lines byte for byte, time per 2,000
lines; and the "left alone" policy's numbers per file size.

    .venv/bin/python scripts/bench.py                      # tables for ../shared/corpus
    .venv/bin/python scripts/bench.py --json               # one JSON object instead
    .venv/bin/python scripts/bench.py --no-query           # query-blind: every part with query=None
    .venv/bin/python scripts/bench.py CORPUS_DIR ... --repeat 9
    .venv/bin/python scripts/bench.py --code-dir ~/src/some-project   # code tables over your own sources
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a plain file from a checkout
    sys.path.insert(0, str(REPO))

from headroom_cli import engines  # noqa: E402
from headroom_cli.engines import Part  # noqa: E402
from headroom_cli.markers import find_markers  # noqa: E402
from headroom_cli.pipeline import Outcome, Pipeline  # noqa: E402
from headroom_cli.retrieve import retrieve  # noqa: E402
from headroom_cli.store import Store  # noqa: E402
from headroom_cli.tokens import count_tokens  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_code  # noqa: E402  (the code part: per language)

DEFAULT_CORPUS = REPO.parent / "shared" / "corpus"
DEFAULT_CODE_DIRS = [REPO / "tests" / "data" / "code"]  # real source files for the per-language code bench

# The product's targets: % of cl100k tokens saved per kind (None: no target yet).
TARGET_SAVED = {"tests": 85.0, "logs": 85.0, "json": 75.0, "html": 70.0, "listing": 50.0, "search": 40.0,
                "table": 40.0, "diffs": 25.0, "code": None}
KIND_ORDER = list(TARGET_SAVED)
TARGET_SAVED_OVERALL = 60.0
TARGET_VERBATIM = 95.0  # % of needles kept verbatim; and 100% kept or recoverable
TARGET_BIG_PART_MS = 30.0
BIG_PART_TOKENS = 50_000
LARGEST_SHOWN = 3  # how many of the largest samples the latency line names


# ------------------------------------------------------------------------------------------------ corpus

@dataclass
class Sample:
    name: str  # the needles.json file path, prefixed with the corpus folder when there are several
    kind: str
    query: str | None
    needles: list[str]
    text: str


def load_corpora(dirs: list[Path]) -> tuple[list[Sample], list[str]]:
    """The samples of every folder with a needles.json, and the folders skipped for lacking one."""
    with_needles = [d for d in dirs if (d / "needles.json").is_file()]
    skipped = [str(d) for d in dirs if d not in with_needles]
    samples = []
    for corpus in with_needles:
        prefix = f"{corpus.name}/" if len(with_needles) > 1 else ""
        for entry in json.loads((corpus / "needles.json").read_text(encoding="utf-8")):
            text = (corpus / entry["file"]).read_text(encoding="utf-8")
            samples.append(Sample(prefix + entry["file"], entry["kind"], entry.get("query"),
                                  list(entry["needles"]), text))
    return samples, skipped


# ----------------------------------------------------------------------------------------------- running

def timed_runs(part: Part, repeat: int) -> tuple[list[Outcome], list[float]]:
    """One untimed warm-up run, then ``repeat`` timed ones; each on a new Pipeline, so none is memoised."""
    outcomes = [Pipeline().run(part)]
    times_ms = []
    for _ in range(repeat):
        pipeline = Pipeline()
        start = time.perf_counter()
        outcomes.append(pipeline.run(part))
        times_ms.append((time.perf_counter() - start) * 1000)
    return outcomes, times_ms


def marker_spans(text: str, store: Store) -> list[str]:
    """What each marker in ``text`` gives back through the retrieve path; unknown IDs give nothing."""
    spans = []
    for marker in find_markers(text):
        if store.get(marker["id"]) is None:
            continue
        lines = f"{marker['a']}-{marker['b']}" if marker["a"] else None
        spans.append(retrieve(store, marker["id"], lines=lines))
    return spans


def judge_needles(text: str, needles: list[str], store: Store) -> tuple[list[str], list[str], list[str]]:
    """(kept verbatim, recoverable through the store, lost)."""
    verbatim = [n for n in needles if n in text]
    missing = [n for n in needles if n not in text]
    spans = marker_spans(text, store) if missing else []
    recoverable = [n for n in missing if any(n in span for span in spans)]
    lost = [n for n in missing if n not in recoverable]
    return verbatim, recoverable, lost


@dataclass
class SampleResult:
    name: str
    kind: str
    engine: str | None
    detected_kind: str | None
    ccr_id: str | None
    tokens_before: int
    tokens_after: int
    percent_saved: float
    needles: int
    verbatim: int
    recoverable: int
    lost: int
    lost_needles: list[str]
    median_ms: float
    larger: bool  # the output has more characters or more tokens than the input
    deterministic: bool  # every run gave the same bytes


def bench_sample(sample: Sample, store: Store, repeat: int, use_query: bool) -> SampleResult:
    part = Part(text=sample.text, query=sample.query if use_query else None)
    outcomes, times_ms = timed_runs(part, repeat)
    outcome = outcomes[0]
    if outcome.part_id:  # as the proxy does: the original goes in the store under the marker's ID
        store.put(outcome.part_id, outcome.kind or "text", outcome.original)
    before, after = count_tokens(outcome.original), count_tokens(outcome.text)
    verbatim, recoverable, lost = judge_needles(outcome.text, sample.needles, store)
    return SampleResult(
        name=sample.name, kind=sample.kind, engine=outcome.engine, detected_kind=outcome.kind,
        ccr_id=outcome.part_id, tokens_before=before, tokens_after=after, percent_saved=saved(before, after),
        needles=len(sample.needles), verbatim=len(verbatim), recoverable=len(recoverable), lost=len(lost),
        lost_needles=lost, median_ms=round(statistics.median(times_ms), 3),
        larger=len(outcome.text) > len(outcome.original) or after > before,
        deterministic=len({o.text for o in outcomes}) == 1,
    )


# ------------------------------------------------------------------------------------------------ totals

def saved(before: int, after: int) -> float:
    return round(100 * (before - after) / before, 2) if before else 0.0


def percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 2) if whole else None


@dataclass
class Totals:
    kind: str  # a corpus kind, or "all"
    samples: int
    tokens_before: int
    tokens_after: int
    percent_saved: float
    target_saved: float | None
    saved_ok: bool | None  # None: no target
    needles: int
    verbatim: int
    recoverable: int
    lost: int
    verbatim_percent: float | None  # None: no needles
    recoverable_percent: float | None  # needles not in the output but given back by the retrieve path
    kept_percent: float | None  # verbatim + recoverable
    needles_ok: bool
    passed: bool


def totals(kind: str, rows: list[SampleResult], target: float | None) -> Totals:
    before, after = sum(r.tokens_before for r in rows), sum(r.tokens_after for r in rows)
    needles, verbatim = sum(r.needles for r in rows), sum(r.verbatim for r in rows)
    recoverable, lost = sum(r.recoverable for r in rows), sum(r.lost for r in rows)
    pct_saved, verbatim_pct = saved(before, after), percent(verbatim, needles)
    saved_ok = None if target is None else pct_saved >= target
    needles_ok = lost == 0 and (verbatim_pct is None or verbatim_pct >= TARGET_VERBATIM)
    return Totals(
        kind=kind, samples=len(rows), tokens_before=before, tokens_after=after, percent_saved=pct_saved,
        target_saved=target, saved_ok=saved_ok, needles=needles, verbatim=verbatim, recoverable=recoverable,
        lost=lost, verbatim_percent=verbatim_pct, recoverable_percent=percent(recoverable, needles),
        kept_percent=percent(verbatim + recoverable, needles), needles_ok=needles_ok,
        passed=needles_ok and saved_ok is not False,
    )


def per_kind(rows: list[SampleResult]) -> list[Totals]:
    kinds = sorted({r.kind for r in rows}, key=lambda k: (KIND_ORDER.index(k) if k in KIND_ORDER else 99, k))
    return [totals(kind, [r for r in rows if r.kind == kind], TARGET_SAVED.get(kind)) for kind in kinds]


# ----------------------------------------------------------------------------------------------- latency

def big_part_source(samples: list[Sample]) -> Sample | None:
    """The largest log sample (else the largest test output, else the largest sample)."""
    for kinds in (("logs",), ("tests",), None):
        pool = [s for s in samples if kinds is None or s.kind in kinds]
        if pool:
            return max(pool, key=lambda s: len(s.text))
    return None


def repeat_to_tokens(text: str, target_tokens: int) -> str:
    """The text's lines, repeated from the top as often as needed, cut to about ``target_tokens``."""
    lines = text.splitlines(keepends=True) or [text]
    line_tokens = [max(1, count_tokens(line)) for line in lines]
    out, total, i = [], 0, 0
    while total < target_tokens:
        out.append(lines[i % len(lines)])
        total += line_tokens[i % len(lines)]
        i += 1
    return "".join(out)


def bench_big_part(samples: list[Sample], repeat: int, use_query: bool, target_tokens: int) -> dict | None:
    source = big_part_source(samples)
    if source is None:
        return None
    text = repeat_to_tokens(source.text, target_tokens)
    outcomes, times_ms = timed_runs(Part(text=text, query=source.query if use_query else None), repeat)
    median_ms = round(statistics.median(times_ms), 3)
    tokens, after = count_tokens(text), count_tokens(outcomes[0].text)
    return {"source": source.name, "tokens": tokens, "tokens_after": after, "percent_saved": saved(tokens, after),
            "engine": outcomes[0].engine, "median_ms": median_ms, "target_ms": TARGET_BIG_PART_MS,
            "passed": median_ms <= TARGET_BIG_PART_MS, "deterministic": len({o.text for o in outcomes}) == 1}


def bench_kind_parts(samples: list[Sample], repeat: int, use_query: bool, target_tokens: int) -> list[dict]:
    """Per kind, a part of about ``target_tokens``: the smallest sample that big, used as it is (a
    repeated JSON document would not parse), else the kind's largest sample with its lines repeated.
    Source code is timed as its target says instead: a real file of 2,000 lines (repeated lines would
    not be code), within ``bench_code.TARGET_MS_PER_2K``; its languages one by one are in the code tables."""
    rows = []
    for kind in sorted({s.kind for s in samples}, key=lambda k: KIND_ORDER.index(k) if k in KIND_ORDER else 99):
        pool = [s for s in samples if s.kind == kind]
        target_ms, text, shape = TARGET_BIG_PART_MS, None, None
        if kind == "code":
            for source in sorted(pool, key=lambda s: -len(s.text)):
                language = bench_code.language_of(source.text)
                text = bench_code.first_lines(language, source.text) if language else None
                if text is not None:
                    target_ms, shape = bench_code.TARGET_MS_PER_2K, f"first {text.count(chr(10)):,} lines"
                    break
        if text is None:
            big_enough = [s for s in pool if count_tokens(s.text) >= target_tokens]
            source = min(big_enough, key=lambda s: len(s.text)) if big_enough else max(pool, key=lambda s: len(s.text))
            text = source.text if big_enough else repeat_to_tokens(source.text, target_tokens)
            shape = None if big_enough else "lines repeated"
        outcomes, times_ms = timed_runs(Part(text=text, query=source.query if use_query else None), repeat)
        median_ms = round(statistics.median(times_ms), 3)
        tokens = count_tokens(text)
        rows.append({"kind": kind, "source": source.name, "shape": shape, "repeated": shape == "lines repeated",
                     "tokens": tokens, "percent_saved": saved(tokens, count_tokens(outcomes[0].text)),
                     "engine": outcomes[0].engine, "median_ms": median_ms, "target_ms": target_ms,
                     "passed": median_ms <= target_ms})
    return rows


def kind_parts_table(rows: list[dict]):
    table = _table([("Kind", "left"), ("Part", "left"), ("Tokens", "right"), ("Engine", "left"), ("Saved", "right"),
                    ("Median ms", "right"), ("Target", "right"), ("Result", "left")])
    table.title = ("Latency of one large part per kind (the whole pipeline: routing and compression; code: a real "
                   "file's first 2,000 lines, as its target says)")
    for r in rows:
        part = Path(r["source"]).stem + (f" ({r['shape']})" if r["shape"] else "")
        table.add_row(r["kind"], part, f"{r['tokens']:,}", r["engine"] or "—", f"{r['percent_saved']:.1f}%",
                      f"{r['median_ms']:.2f}", f"≤ {r['target_ms']:g}",
                      "[green]PASS[/green]" if r["passed"] else "[red]FAIL[/red]")
    return table


def largest(rows: list[SampleResult], n: int = LARGEST_SHOWN) -> list[dict]:
    top = sorted(rows, key=lambda r: r.tokens_before, reverse=True)[:n]
    return [{"name": r.name, "tokens": r.tokens_before, "median_ms": r.median_ms} for r in top]


# -------------------------------------------------------------------------------------------------- run

class WarningCollector(logging.Handler):
    """Keeps the pipeline's warnings (an engine past its budget or failing, one failing to load)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.counts: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        self.counts[f"{record.name}: {record.getMessage()}"[:300]] += 1


def problems_of(rows: list[SampleResult], big: dict | None) -> list[str]:
    """What makes the exit code 1: a lost needle, a larger output, a nondeterministic output."""
    found = []
    for r in rows:
        found += [f"{r.name}: needle lost: {n!r}" for n in r.lost_needles]
        if r.larger:
            found.append(f"{r.name}: output larger than input ({r.tokens_before:,} → {r.tokens_after:,} tokens)")
        if not r.deterministic:
            found.append(f"{r.name}: two runs gave different output")
    if big is not None and not big["deterministic"]:
        found.append(f"{big['tokens']:,}-token part from {big['source']}: two runs gave different output")
    return found


def run(dirs: list[Path], repeat: int, use_query: bool, part_tokens: int, code_dirs: list[Path] | None = None) -> dict:
    samples, skipped = load_corpora(dirs)
    code_dirs = [d for d in (DEFAULT_CODE_DIRS if code_dirs is None else code_dirs) if d.is_dir()]
    collector = WarningCollector()
    logging.getLogger().addHandler(collector)  # also keeps them off stderr
    try:
        with tempfile.TemporaryDirectory(prefix="headroom-bench-") as tmp:
            store = Store(Path(tmp) / "store.sqlite3")
            try:
                rows = [bench_sample(sample, store, repeat, use_query) for sample in samples]
            finally:
                store.close()
            previews = bench_persisted(samples, Path(tmp))
            code = bench_code.run(samples, code_dirs, repeat, Path(tmp))
        big = bench_big_part(samples, repeat, use_query, part_tokens)
        kind_parts = bench_kind_parts(samples, repeat, use_query, part_tokens)
    finally:
        logging.getLogger().removeHandler(collector)
    problems = problems_of(rows, big) + code["problems"]
    return {
        "corpora": [str(d) for d in dirs if str(d) not in skipped],
        "skipped": skipped,
        "engines": [engine.name for engine in engines.registered()],
        "query": use_query,
        "repeat": repeat,
        "samples": [asdict(r) for r in rows],
        "kinds": [asdict(t) for t in per_kind(rows)],
        "overall": asdict(totals("all", rows, TARGET_SAVED_OVERALL)),
        "latency": {"largest": largest(rows), "big_part": big, "by_kind": kind_parts},
        "persisted_previews": previews,
        "zero_saved": zero_saved(samples, rows, use_query),
        "code": code,
        "warnings": dict(collector.counts.most_common(10)),
        "problems": problems,
        "ok": not problems,
    }


# ------------------------------------------------------------------------- samples at 0% saved, and why

def zero_saved(samples: list[Sample], rows: list[SampleResult], use_query: bool) -> list[dict]:
    """Every sample that comes out at 0% saved, with the reason `compress --explain` gives for it."""
    by_name = {sample.name: sample for sample in samples}
    found = []
    for r in rows:
        if r.tokens_after < r.tokens_before:
            continue
        sample = by_name[r.name]
        _, why = Pipeline().explain(Part(text=sample.text, query=sample.query if use_query else None))
        found.append({"name": r.name, "kind": r.kind, "tokens": r.tokens_before, "reason": why.decision})
    return found


def zero_saved_table(rows: list[dict]):
    table = _table([("Sample", "left"), ("Kind", "left"), ("Tokens", "right"), ("Why 0% saved", "left")])
    table.title = "Samples at 0% saved, and why (compress --explain)"
    for r in sorted(rows, key=lambda r: -r["tokens"]):
        table.add_row(Path(r["name"]).stem, r["kind"], f"{r['tokens']:,}", r["reason"])
    table.columns[-1].no_wrap = False
    return table


# ----------------------------------------------------------------------------- persisted-output previews

CLIENT_PREVIEW_OVER = 30_000  # Claude Code sends a Bash output longer than this as a 2 KB preview
READ_LINES_PER_CALL = 2_000  # Claude Code's Read tool returns at most this many lines per call


def bench_persisted(samples: list[Sample], tmp: Path) -> list[dict]:
    """For every sample Claude Code would only preview: what the model gets without Headroom (the 2 KB
    preview, then Read turns to see the rest) and with it under `wrap claude` (the compressed whole)."""
    from headroom_cli import persisted
    from headroom_cli.providers.base import ToolCall

    root = tmp / ".claude" / "projects"
    store = Store(tmp / "persisted.sqlite3")
    rows = []
    try:
        for n, sample in enumerate(s for s in samples if len(s.text) > CLIENT_PREVIEW_OVER):
            saved = root / "-project" / "session" / "tool-results" / f"toolu_{n:04d}.txt"
            saved.parent.mkdir(parents=True, exist_ok=True)
            saved.write_text(sample.text)
            (root / "-project" / "session.jsonl").touch()  # the session's transcript, as Claude Code keeps it
            note = (f"<persisted-output>\nOutput too large ({len(sample.text) // 1024}KB). Full output saved to: "
                    f"{saved}\n\nPreview (first 2KB):\n{sample.text[:2048]}\n...\n</persisted-output>")
            whole = persisted.saved_output(note, root, "session", ToolCall("Bash", "", saved.stem))
            outcome = Pipeline(frozen=store).run_whole(
                Part(note, tool_name="Bash", query=sample.query), whole,
                lambda body, note=note, whole=whole: persisted.render(note, body, whole), persisted.MAX_RENDERED_CHARS)
            lines = sample.text.count("\n") + 1
            turns = -(-lines // READ_LINES_PER_CALL)
            rows.append({
                "sample": sample.name, "kind": sample.kind, "chars": len(sample.text),
                "preview_tokens": count_tokens(note),
                "preview_needles": sum(needle in note for needle in sample.needles),
                "headroom_tokens": count_tokens(outcome.text) if outcome.changed else None,
                "headroom_needles": sum(needle in outcome.text for needle in sample.needles) if outcome.changed else None,
                "needles": len(sample.needles),
                "read_turns_avoided": turns if outcome.changed else 0,
                "read_tokens_avoided": (count_tokens(sample.text) - count_tokens(outcome.text)) if outcome.changed else 0,
            })
    finally:
        store.close()
    return rows


def persisted_table(rows: list[dict]):
    table = _table([("Sample", "left"), ("Kind", "left"), ("Chars", "right"), ("Preview tok", "right"),
                    ("Needles in preview", "right"), ("Headroom tok", "right"), ("Needles", "right"),
                    ("Read turns saved", "right"), ("Tokens saved vs Read", "right")])
    table.title = "Claude Code previews (Bash output > 30,000 chars) under `wrap claude`: the compressed whole instead"
    for r in rows:
        table.add_row(Path(r["sample"]).stem, r["kind"], f"{r['chars']:,}", f"{r['preview_tokens']:,}",
                      f"{r['preview_needles']}/{r['needles']}",
                      "kept as preview" if r["headroom_tokens"] is None else f"{r['headroom_tokens']:,}",
                      "—" if r["headroom_needles"] is None else f"{r['headroom_needles']}/{r['needles']}",
                      str(r["read_turns_avoided"]), f"{r['read_tokens_avoided']:,}")
    return table


# ------------------------------------------------------------------------------------------------ report

def print_report(result: dict) -> None:
    from rich.console import Console

    console = Console()
    if not console.is_terminal:
        console = Console(width=150)  # a file or a pipe: no need to wrap at 80 columns
    mode = "with each sample's query" if result["query"] else "query-blind (--no-query)"
    console.print(f"[bold]Headroom compression bench[/bold]: {len(result['samples'])} samples from "
                  f"{', '.join(result['corpora'])}, {mode}; engines: {', '.join(result['engines']) or 'none'}; "
                  f"median of {result['repeat']} runs", soft_wrap=True)
    for folder in result["skipped"]:
        console.print(f"[yellow]skipped {folder}: no needles.json[/yellow]")
    console.print(sample_table(result["samples"]))
    console.print(kind_table(result["kinds"], result["overall"]))
    console.print(summary_line(result["overall"]), soft_wrap=True)
    console.print(latency_line(result["latency"]), soft_wrap=True)
    if result["latency"]["by_kind"]:
        console.print(kind_parts_table(result["latency"]["by_kind"]))
    if result["zero_saved"]:
        console.print(zero_saved_table(result["zero_saved"]))
    if result["persisted_previews"]:
        console.print(persisted_table(result["persisted_previews"]))
    if result["code"]["languages"]:
        console.print(bench_code.language_table(result["code"]["languages"], _table))
        console.print(bench_code.policy_table(result["code"]["policy"], _table))
        if result["code"].get("windows"):
            console.print(bench_code.windows_table(result["code"]["windows"], _table))
    for message, count in result["warnings"].items():
        console.print(f"[yellow]warning ×{count}[/yellow]: {message}", highlight=False)
    for problem in result["problems"]:
        console.print(f"[red]{problem}[/red]", highlight=False)


def _table(columns: list[tuple[str, str]]):
    from rich import box
    from rich.table import Table

    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for name, justify in columns:
        table.add_column(name, justify=justify, no_wrap=True)
    return table


def sample_table(rows: list[dict]):
    table = _table([("Sample", "left"), ("Kind", "left"), ("Engine → kind", "left"), ("Tokens", "right"),
                    ("After", "right"), ("Saved", "right"), ("Needles", "right"), ("Verbatim", "right"),
                    ("Retrieve", "right"), ("Lost", "right"), ("ms", "right"), ("Flags", "left")])
    for r in rows:
        engine = "—" if r["engine"] is None else f"{r['engine']} → {r['detected_kind']}"
        flags = [f for f, bad in (("LARGER", r["larger"]), ("NONDETERMINISTIC", not r["deterministic"])) if bad]
        table.add_row(Path(r["name"]).stem, r["kind"], engine, f"{r['tokens_before']:,}", f"{r['tokens_after']:,}",
                      f"{r['percent_saved']:.1f}%", str(r["needles"]), str(r["verbatim"]), str(r["recoverable"]),
                      _red_if(r["lost"], str(r["lost"])), f"{r['median_ms']:.2f}", f"[red]{' '.join(flags)}[/red]")
    return table


def kind_table(kinds: list[dict], overall: dict):
    table = _table([("Kind", "left"), ("Samples", "right"), ("Tokens", "right"), ("After", "right"),
                    ("Saved", "right"), ("Target", "right"), ("Verbatim", "right"), ("Retrieve", "right"),
                    ("Lost", "right"), ("Result", "left")])
    for t in [*kinds, overall]:
        target = "—" if t["target_saved"] is None else f"≥ {t['target_saved']:g}%"
        table.add_row(t["kind"], str(t["samples"]), f"{t['tokens_before']:,}", f"{t['tokens_after']:,}",
                      f"{t['percent_saved']:.1f}%", target, _pct(t["verbatim_percent"]), _pct(t["recoverable_percent"]),
                      _red_if(t["lost"], str(t["lost"])), _verdict(t), end_section=t is kinds[-1])
    return table


def _verdict(t: dict) -> str:
    if t["passed"]:
        return "[green]PASS[/green]"
    why = [w for w, bad in (("saved", t["saved_ok"] is False), ("needles", not t["needles_ok"])) if bad]
    return f"[red]FAIL[/red] ({', '.join(why)})"


def summary_line(o: dict) -> str:
    return (f"Overall: {o['tokens_before']:,} → {o['tokens_after']:,} tokens, {o['percent_saved']:.1f}% saved "
            f"(target ≥ {TARGET_SAVED_OVERALL:g}%); needles {o['verbatim']}/{o['needles']} verbatim "
            f"({_pct(o['verbatim_percent'])}, target ≥ {TARGET_VERBATIM:g}%), {o['recoverable']} recoverable, "
            f"{o['lost']} lost; {_verdict(o)}")


def latency_line(latency: dict) -> str:
    shown = ", ".join(f"{Path(x['name']).stem} {x['median_ms']:.2f} ms ({x['tokens'] / 1000:.0f}K tok)"
                      for x in latency["largest"])
    line = f"Latency (median), largest samples: {shown or 'none'}"
    big = latency["big_part"]
    if big is not None:
        verdict = "[green]PASS[/green]" if big["passed"] else "[red]FAIL[/red]"
        line += (f"\nLatency (median): {big['tokens']:,}-token part (repeated {Path(big['source']).stem}, "
                 f"{big['engine'] or 'passed through'}, {big['percent_saved']:.1f}% saved) "
                 f"{big['median_ms']:.2f} ms (target ≤ {big['target_ms']:g} ms) {verdict}")
    return line


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}%"


def _red_if(bad: int, text: str) -> str:
    return f"[red]{text}[/red]" if bad else text


# -------------------------------------------------------------------------------------------------- main

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Run the compression pipeline over needle corpora and compare with the targets.",
        epilog="Exit status: 1 if any needle is neither kept nor recoverable, any output is larger than its "
               "input, any output differs between runs, or (source code) a signature is not kept verbatim, an "
               "output has a new syntax error or a marker does not give back its lines; 0 otherwise. "
               "A missed %-saved or latency target "
               "shows as FAIL in the tables but does not change the exit status.")
    parser.add_argument("corpora", nargs="*", type=Path, metavar="CORPUS_DIR",
                        help=f"folders with a needles.json (default: {DEFAULT_CORPUS})")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the tables")
    parser.add_argument("--no-query", action="store_true", help="compress every sample with query=None")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per sample, median reported (5)")
    parser.add_argument("--code-dir", type=Path, action="append", metavar="DIR",
                        help="source files under DIR for the per-language code tables (repeatable; default: "
                             "tests/data/code); the corpus's code samples are always included")
    parser.add_argument("--part-tokens", type=int, default=BIG_PART_TOKENS,
                        help=f"size of the synthetic part timed for latency ({BIG_PART_TOKENS})")
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.part_tokens < 1:
        parser.error("--repeat and --part-tokens must be ≥ 1")
    dirs = args.corpora or [DEFAULT_CORPUS]
    if not any((d / "needles.json").is_file() for d in dirs):
        parser.error(f"no needles.json in {', '.join(map(str, dirs))}")

    result = run(dirs, args.repeat, not args.no_query, args.part_tokens, args.code_dir)
    if args.json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
    else:
        print_report(result)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
