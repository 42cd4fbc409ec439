"""The code part of scripts/bench.py: source files compressed by the code engine, judged per language.

For every source file (the corpus's ``code`` samples, ``tests/data/code/`` and any ``--code-dir``), the
whole pipeline runs with the default settings, and then, independently of the engine's own checks:

- tokens before and after (cl100k), on files over ``TARGET_MIN_LINES`` lines;
- signatures kept: every function, method, class, struct, interface, trait, impl and type declaration
  that is not inside a function body, by the line that names it, must appear verbatim in the output;
- parses: a fresh tree-sitter parse of the output has no syntax error, or (for an input that has some
  itself, a C header full of macros) none on a line where the input had none; C and C++ also count as
  parsing when that holds with the preprocessor's conditional lines and bare macros blanked out in both;
- retrievable: every marker's ``--lines A-B``, fetched from a store the way ``headroom retrieve`` does,
  gives back exactly the lines it replaced, and putting them back rebuilds the input byte for byte;
- the median time to compress a 2,000-line file (the pipeline's whole work: routing, parsing,
  re-parsing): the language's largest file cut after the last top-level declaration that ends by line
  2,000 when one is that long, else the median over its files of the time per 2,000 lines.

Windows (``window_rows``): every 250-line window at lines 1, 251, 501, … of each file over 600 lines,
as Claude Code's Read returns it with offset/limit, judged the same way (signatures: of definitions
wholly inside the window; parses: the output put back in its place in the whole file).

It also measures the "left alone" policy (``HEADROOM_CODE_MIN_LINES``): per file size, what
compressing saves against what one retrieval of an elided body costs.
"""

from __future__ import annotations

import re
import statistics
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

from headroom_cli.engines import Part
from headroom_cli.engines.code import language_of
from headroom_cli.engines.code.languages import EXTENSIONS
from headroom_cli.engines.code.parsing import mask_conditionals
from headroom_cli.markers import find_markers, original_lines
from headroom_cli.pipeline import Pipeline
from headroom_cli.retrieve import retrieve
from headroom_cli.sections import shift_markers
from headroom_cli.store import Store
from headroom_cli.tokens import count_tokens

TARGET_SAVED = 50.0  # % of tokens, per language, on files over TARGET_MIN_LINES lines
TARGET_MIN_LINES = 300
TARGET_MS_PER_2K = 50.0  # median ms to compress 2,000 lines
MIN_FILE_LINES = 50  # smaller files are not worth timing (the policy table starts here)
MAX_FILE_BYTES = 400 * 1024  # the corpus's own bound on a sample
POLICY_BUCKETS = ((50, 100), (100, 200), (200, 300), (300, 500), (500, 1000), (1000, 10**9))
RETRIEVAL_OVERHEAD_TOKENS = 60  # the tool call and its framing, on top of the lines it returns
WINDOW_LINES = 250  # Read windows of this many lines, at offsets 1, 251, 501, … (as agents page through a file)
WINDOW_MIN_FILE_LINES = 600  # ... of files longer than this
_READ_PREFIX = re.compile(r"^ *\d+\t", re.M)
LANGUAGE_ORDER = ["python", "javascript", "typescript", "tsx", "go", "rust", "java", "c", "cpp", "csharp", "ruby", "php"]

# What the bench counts as a definition (by grammar node), and what as a function body it does not
# look into: written here, apart from the engine's own tables, so that the check is a check.
_DEFINITIONS = frozenset({
    "function_definition", "class_definition", "function_declaration", "generator_function_declaration",
    "class_declaration", "abstract_class_declaration", "method_definition", "interface_declaration",
    "enum_declaration", "type_alias_declaration", "method_declaration", "constructor_declaration",
    "record_declaration", "type_spec", "function_item", "struct_item", "enum_item", "trait_item", "impl_item",
    "function_signature_item", "class_specifier", "struct_specifier", "method_signature",
    "abstract_method_signature", "function_signature", "method", "singleton_method",
})
_FUNCTIONS = frozenset({
    "function_definition", "function_declaration", "generator_function_declaration", "function",
    "function_expression", "generator_function", "arrow_function", "method_definition", "method_declaration",
    "func_literal", "function_item", "closure_expression", "constructor_declaration", "lambda",
    "lambda_expression", "method", "singleton_method", "static_initializer",
})
_GRAMMAR = {"csharp": "c_sharp"}
_EXTENSION = {"python": ".py", "javascript": ".js", "typescript": ".ts", "tsx": ".tsx", "go": ".go", "rust": ".rs",
              "java": ".java", "c": ".c", "cpp": ".cpp", "csharp": ".cs", "ruby": ".rb", "php": ".php"}


@dataclass
class CodeSample:
    name: str
    text: str
    path: str | None  # given to the pipeline as a Read's file path, when there is one
    query: str | None = None


@dataclass
class CodeRow:
    name: str
    language: str | None
    lines: int
    tokens_before: int
    tokens_after: int  # with the default settings
    tokens_after_any_size: int  # with HEADROOM_CODE_MIN_LINES=0
    percent_saved: float
    signatures: int
    signatures_kept: int
    lost_signatures: list[str]
    parses: bool
    retrievable: bool
    markers: int
    median_body_tokens: int  # of the spans the markers stand for: what one retrieval brings back
    median_ms: float
    ms_per_2k_lines: float


def collect(corpus_samples: list, code_dirs: list[Path]) -> list[CodeSample]:
    """The corpus's code samples, then every source file under the given folders (sorted, so the same
    run twice reads the same files), MIN_FILE_LINES lines or more and MAX_FILE_BYTES at most."""
    samples = [CodeSample(s.name, s.text, None, s.query) for s in corpus_samples if s.kind == "code"]
    for folder in code_dirs:
        for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in EXTENSIONS):
            if path.name.endswith((".d.ts", ".d.mts", ".d.cts", ".min.js")) or path.stat().st_size > MAX_FILE_BYTES:
                continue
            try:
                text = path.read_text(encoding="utf-8")
            except (UnicodeDecodeError, OSError):
                continue
            if text.count("\n") + 1 >= MIN_FILE_LINES:
                samples.append(CodeSample(str(path), text, str(path)))
    return samples


def bench_file(sample: CodeSample, store: Store, repeat: int) -> CodeRow:
    """Savings and time with the default settings; the checks and the policy numbers on the file
    compressed whatever its size (HEADROOM_CODE_MIN_LINES=0), so that small files are checked too."""
    part = Part(sample.text, tool_name="Read" if sample.path else None, tool_input=sample.path, query=sample.query)
    default = Pipeline().run(part)
    outcome = default if default.changed else Pipeline(code_min_lines=0).run(part)
    times = []
    for _ in range(repeat):
        pipeline = Pipeline()  # a new one each time: a pipeline memoises what it has seen
        start = time.perf_counter()
        pipeline.run(part)
        times.append((time.perf_counter() - start) * 1000)
    if outcome.part_id:
        store.put(outcome.part_id, outcome.kind or "code", outcome.original)
    language = language_of(sample.text, sample.path)
    lines = sample.text.count("\n") + 1
    wanted = signature_lines(language, sample.text) if language else []
    shown = {line.strip() for line in outcome.text.split("\n")}
    lost = [s for s in wanted if s not in shown]
    spans = marker_spans(outcome.text, store)
    before, after = count_tokens(sample.text), count_tokens(default.text)
    median_ms = statistics.median(times) if times else 0.0
    return CodeRow(
        name=sample.name, language=language, lines=lines, tokens_before=before, tokens_after=after,
        tokens_after_any_size=count_tokens(outcome.text),
        percent_saved=round(100 * (before - after) / before, 2) if before else 0.0,
        signatures=len(wanted), signatures_kept=len(wanted) - len(lost), lost_signatures=lost[:5],
        parses=language is None or parses(language, sample.text, outcome.text),
        retrievable=retrievable(sample.text, outcome.text, spans),
        markers=len(spans),
        median_body_tokens=int(statistics.median(count_tokens(text) for text in spans.values())) if spans else 0,
        median_ms=round(median_ms, 3), ms_per_2k_lines=round(median_ms * 2000 / lines, 3),
    )


# ------------------------------------------------------------------------------------------------ checks

def _parse(language: str, text: str):
    from tree_sitter_languages import get_parser

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        parser = get_parser(_GRAMMAR.get(language, language))
    return parser.parse(text.encode("utf-8", "surrogatepass"))


def signature_lines(language: str, text: str) -> list[str]:
    """The stripped line naming each definition that is not inside a function body (nor inside a
    syntax error, where the parser cannot tell what encloses it)."""
    return [line for _, _, line in signatures(language, text)]


def signatures(language: str, text: str) -> list[tuple[int, int, str]]:
    """(first row, last row, stripped line naming it) of each definition signature_lines counts."""
    tree = _parse(language, text)
    rows = text.split("\n")
    found = []
    stack = [(tree.root_node, False)]
    while stack:
        node, in_function = stack.pop()
        if node.type in _DEFINITIONS and not in_function:
            name = node.child_by_field_name("name") or node.child_by_field_name("declarator")
            has_body = node.type not in ("class_specifier", "struct_specifier") or node.child_by_field_name("body")
            if name is not None and has_body:
                found.append((node.start_point[0], node.end_point[0], rows[name.start_point[0]].strip()))
        if node.type in _FUNCTIONS or node.type == "ERROR":
            continue  # what is inside a function is not a top-level or class-level signature
        stack.extend((child, in_function) for child in node.children)
    return found


def _error_rows(tree) -> list[tuple[int, int]]:
    found, stack = [], [tree.root_node]
    while stack:
        node = stack.pop()
        if node.type == "ERROR" or node.is_missing:
            found.append((node.start_point[0], node.end_point[0]))
        elif node.has_error:
            stack.extend(node.children)
    return found


def parses(language: str, original: str, output: str) -> bool:
    """No syntax error in the output, or none on a line where the input had none (its lines mapped
    back through the markers). C and C++ may instead be read with the preprocessor's conditional
    lines and bare macros blanked out, both the input and the output, as the engine may read them:
    the grammar knows no preprocessor, and its error recovery over #if branches is not stable."""
    if _no_new_errors(language, original, output):
        return True
    if language in ("c", "cpp"):
        masked = [mask_conditionals(text.encode("utf-8", "surrogatepass")).decode("utf-8", "surrogatepass")
                  for text in (original, output)]
        return _no_new_errors(language, *masked)
    return False


def _no_new_errors(language: str, original: str, output: str) -> bool:
    out_errors = _error_rows(_parse(language, output))
    if not out_errors:
        return True
    bad = set()
    for first, last in _error_rows(_parse(language, original)):
        bad.update(range(first - 1, last + 2))
    origin: list[list[int]] = []
    at = 0
    for line in output.split("\n"):
        markers = [m for m in find_markers(line) if m["a"]]
        if markers:
            a, b = int(markers[0]["a"]), int(markers[0]["b"])
            origin.append(list(range(a - 1, b)))
            at = b
        else:
            origin.append([at])
            at += 1
    return all(row in bad for first, last in out_errors for out_row in range(first, last + 1)
               for row in (origin[out_row] if out_row < len(origin) else [-1]))


def marker_spans(output: str, store: Store) -> dict[str, str]:
    """What each marker's ``--lines`` gives back through the retrieve path, by marker text."""
    spans = {}
    for marker in find_markers(output):
        if marker["a"] and store.get(marker["id"]) is not None:
            spans[marker.group(0)] = retrieve(store, marker["id"], lines=f"{marker['a']}-{marker['b']}")
    return spans


def retrievable(original: str, output: str, spans: dict[str, str]) -> bool:
    """Every marker line, replaced by what retrieval gives for it, rebuilds the original exactly."""
    return _rebuilt(original, output, spans) == original


def _rebuilt(original: str, output: str, spans: dict[str, str]) -> str | None:
    """The output with each marker line replaced by what retrieval gave for it, or None when a marker
    gives nothing or other lines than those of the original it names."""
    lines = original_lines(original)
    rebuilt = []
    for line in original_lines(output):
        markers = [m for m in find_markers(line) if m["a"]]
        if not markers:
            rebuilt.append(line)
            continue
        marker = markers[0]
        a, b = int(marker["a"]), int(marker["b"])
        got = spans.get(marker.group(0))
        if got is None or got != "".join(lines[a - 1:b]):
            return None
        rebuilt.append(got)
    return "".join(rebuilt)


# ------------------------------------------------------------------------------------------------ totals

def two_thousand_lines(samples: list[CodeSample], rows: list[CodeRow], repeat: int) -> dict[str, dict]:
    """Per language, the median ms to compress a real 2,000-line file: the largest file of 2,000 lines or
    more that can be cut after a top-level node ending between lines 1,800 and 2,000 (so it still
    parses), cut there."""
    out = {}
    by_language: dict[str, list[tuple[CodeSample, CodeRow]]] = {}
    for sample, row in zip(samples, rows):
        if row.language and row.lines >= 2000:
            by_language.setdefault(row.language, []).append((sample, row))
    for language, pairs in by_language.items():
        for sample, _ in sorted(pairs, key=lambda pair: (-pair[1].lines, pair[1].name)):
            text = first_lines(language, sample.text)
            if text is not None:
                break
        else:
            continue
        part = Part(text, tool_name="Read" if sample.path else None, tool_input=sample.path)
        Pipeline().run(part)  # warm
        times = []
        for _ in range(max(repeat, 5)):
            pipeline = Pipeline()
            start = time.perf_counter()
            pipeline.run(part)
            times.append((time.perf_counter() - start) * 1000)
        out[language] = {"source": sample.name, "lines": text.count("\n"), "median_ms": round(statistics.median(times), 2)}
    return out


def first_lines(language: str, text: str, lines: int = 2000) -> str | None:
    """The text cut after the last top-level node that ends by line ``lines`` (so that it still
    parses), when one ends after 90% of them; else None."""
    tree = _parse(language, text)
    end = max((node.end_point[0] for node in tree.root_node.children if node.end_point[0] < lines), default=0)
    return "\n".join(text.split("\n")[:end + 1]) + "\n" if end >= lines * 0.9 else None


def per_language(rows: list[CodeRow], timed: dict[str, dict]) -> list[dict]:
    languages = sorted({r.language for r in rows if r.language},
                       key=lambda name: (LANGUAGE_ORDER.index(name) if name in LANGUAGE_ORDER else 99, name))
    out = []
    for language in languages:
        mine = [r for r in rows if r.language == language]
        big = [r for r in mine if r.lines > TARGET_MIN_LINES]
        before, after = sum(r.tokens_before for r in big), sum(r.tokens_after for r in big)
        saved = round(100 * (before - after) / before, 2) if before else None
        signatures, kept = sum(r.signatures for r in mine), sum(r.signatures_kept for r in mine)
        ms = timed[language]["median_ms"] if language in timed else (
            statistics.median(r.ms_per_2k_lines for r in big) if big else None)
        row = {
            "language": language, "files": len(mine), "files_over_min": len(big),
            "tokens_before": before, "tokens_after": after, "percent_saved": saved, "target_saved": TARGET_SAVED,
            "saved_ok": saved is not None and saved >= TARGET_SAVED,
            "signatures": signatures, "signatures_kept": kept,
            "signatures_percent": round(100 * kept / signatures, 2) if signatures else None,
            "parse_ok": sum(r.parses for r in mine), "retrievable": sum(r.retrievable for r in mine),
            "ms_per_2k_lines": round(ms, 2) if ms is not None else None, "target_ms": TARGET_MS_PER_2K,
            "ms_measured_on": timed[language] if language in timed else "scaled: median of each file's ms × 2,000 / lines",
            "ms_ok": ms is not None and ms <= TARGET_MS_PER_2K,
        }
        row["passed"] = (row["saved_ok"] and row["ms_ok"] and kept == signatures
                         and row["parse_ok"] == len(mine) and row["retrievable"] == len(mine))
        out.append(row)
    return out


def policy(rows: list[CodeRow]) -> list[dict]:
    """Per file size: what compressing saves, and how many body retrievals that pays for. A file the
    agent will edit costs at least one retrieval (the body it changes): where the savings pay for few
    retrievals, leaving the file alone costs the agent less."""
    out = []
    for low, high in POLICY_BUCKETS:
        mine = [r for r in rows if low <= r.lines < high and r.language]
        if not mine:
            continue
        saved = [r.tokens_before - r.tokens_after_any_size for r in mine]
        cost = [r.median_body_tokens + RETRIEVAL_OVERHEAD_TOKENS for r in mine if r.markers]
        mean_cost = statistics.mean(cost) if cost else None
        out.append({
            "lines": f"{low}-{high - 1}" if high < 10**9 else f"{low}+", "files": len(mine),
            "mean_tokens": round(statistics.mean(r.tokens_before for r in mine)),
            "mean_saved": round(statistics.mean(saved)),
            "percent_saved": round(100 * sum(saved) / max(1, sum(r.tokens_before for r in mine)), 1),
            "mean_retrieval_tokens": round(mean_cost) if mean_cost else None,
            "retrievals_paid": round(statistics.mean(saved) / mean_cost, 1) if mean_cost else None,
        })
    return out


def window_rows(samples: list[CodeSample], store: Store) -> list[dict]:
    """Every WINDOW_LINES-line window at lines 1, 251, 501, … of each file over WINDOW_MIN_FILE_LINES
    lines, as Claude Code's Read returns it with offset/limit (``N<TAB>line``), through the pipeline
    with the default settings: tokens, the signatures of definitions wholly inside the window kept
    verbatim (from the whole file's parse, so not the engine's own reading), no new syntax error, and
    every marker giving back exactly its lines."""
    out = []
    for sample in samples:
        lines = sample.text.split("\n")
        if len(lines) <= WINDOW_MIN_FILE_LINES:
            continue
        language = language_of(sample.text, sample.path)
        if language is None:
            continue
        path = sample.path or f"/repo/{Path(sample.name).name}{_EXTENSION.get(language, '')}"
        defined = signatures(language, sample.text)
        for offset in range(1, len(lines) + 1, WINDOW_LINES):
            shown = lines[offset - 1:offset - 1 + WINDOW_LINES]
            text = "\n".join(f"{offset + i:>6}\t{line}" for i, line in enumerate(shown))
            outcome = Pipeline().run(Part(text, tool_name="Read", tool_input=path))
            if outcome.part_id:
                store.put(outcome.part_id, outcome.kind or "code", outcome.original)
            plain_out = "\n".join(_READ_PREFIX.sub("", line) for line in outcome.text.split("\n"))
            last = offset - 1 + len(shown) - 1
            wanted = [line for first, end, line in defined if offset - 1 <= first and end <= last]
            kept = {line.strip() for line in plain_out.split("\n")}
            before, after = count_tokens(text), count_tokens(outcome.text)
            out.append({
                "name": sample.name, "language": language, "offset": offset, "lines": len(shown),
                "tokens_before": before, "tokens_after": after, "changed": outcome.changed,
                "signatures": len(wanted), "signatures_kept": sum(line in kept for line in wanted),
                "parses": window_parses(language, lines, offset, len(shown), plain_out, outcome.part_id),
                "retrievable": _window_retrievable(text, outcome.text, marker_spans(outcome.text, store)),
            })
    return out


def window_parses(language: str, lines: list[str], offset: int, rows: int, plain_out: str, part_id: str | None) -> bool:
    """parses(), for a window: its output put back in its place in the whole file (markers renumbered
    to the file's lines) has no syntax error the file does not have. The window alone is no fair
    judge: cut out of the file, it reads as errors at both edges, recovered from differently each time."""
    if part_id:
        plain_out = shift_markers(plain_out, part_id, offset - 1)
    spliced = "\n".join(lines[:offset - 1] + plain_out.split("\n") + lines[offset - 1 + rows:])
    return parses(language, "\n".join(lines), spliced)


def _window_retrievable(original: str, output: str, spans: dict[str, str]) -> bool:
    """retrievable(), for a Read listing: the pipeline gives kept lines their numbers back but not
    blank ones, so the rebuilt listing is compared with the original with numbers taken off both."""
    rebuilt = _rebuilt(original, output, spans)
    return rebuilt is not None and _READ_PREFIX.sub("", rebuilt) == _READ_PREFIX.sub("", original)


def per_language_windows(rows: list[dict]) -> list[dict]:
    out = []
    for language in LANGUAGE_ORDER + sorted({r["language"] for r in rows} - set(LANGUAGE_ORDER)):
        mine = [r for r in rows if r["language"] == language]
        if not mine:
            continue
        before, after = sum(r["tokens_before"] for r in mine), sum(r["tokens_after"] for r in mine)
        out.append({
            "language": language, "files": len({r["name"] for r in mine}), "windows": len(mine),
            "compressed": sum(r["changed"] for r in mine), "tokens_before": before, "tokens_after": after,
            "percent_saved": round(100 * (before - after) / before, 2) if before else 0.0,
            "signatures": sum(r["signatures"] for r in mine), "signatures_kept": sum(r["signatures_kept"] for r in mine),
            "parse_ok": sum(r["parses"] for r in mine), "retrievable": sum(r["retrievable"] for r in mine),
        })
    return out


def run(corpus_samples: list, code_dirs: list[Path], repeat: int, store_dir: Path) -> dict:
    samples = collect(corpus_samples, code_dirs)
    store = Store(store_dir / "code-store.sqlite3")
    try:
        rows = [bench_file(sample, store, repeat) for sample in samples]
        windows = window_rows(samples, store)
    finally:
        store.close()
    problems = []
    for r in rows:
        problems += [f"{r.name}: signature not kept verbatim: {s!r}" for s in r.lost_signatures]
        if not r.parses:
            problems.append(f"{r.name}: output has a syntax error its input did not have")
        if not r.retrievable:
            problems.append(f"{r.name}: a marker does not give back exactly the lines it replaced")
    for w in windows:
        where = f"{w['name']} (window at line {w['offset']})"
        if w["signatures_kept"] < w["signatures"]:
            problems.append(f"{where}: a signature inside the window not kept verbatim")
        if not w["parses"]:
            problems.append(f"{where}: output has a syntax error its input did not have")
        if not w["retrievable"]:
            problems.append(f"{where}: a marker does not give back exactly the lines it replaced")
    timed = two_thousand_lines(samples, rows, repeat)
    return {"dirs": [str(d) for d in code_dirs], "files": [asdict(r) for r in rows],
            "languages": per_language(rows, timed), "policy": policy(rows),
            "windows": per_language_windows(windows), "window_rows": windows, "problems": problems}


# ------------------------------------------------------------------------------------------------ tables

def language_table(languages: list[dict], make_table):
    table = make_table([("Language", "left"), ("Files", "right"), ("> 300 lines", "right"), ("Tokens", "right"),
                        ("After", "right"), ("Saved", "right"), ("Signatures kept", "right"), ("Parse OK", "right"),
                        ("Retrievable", "right"), ("ms, 2k lines", "right"), ("Result", "left")])
    table.title = (f"Source code per language (files over {TARGET_MIN_LINES} lines: saved ≥ {TARGET_SAVED:g}%; "
                   f"every file: signatures verbatim, parses, retrievable; median ≤ {TARGET_MS_PER_2K:g} ms for a 2,000-line "
                   "file; * scaled from smaller files)")
    for r in languages:
        saved = "—" if r["percent_saved"] is None else f"{r['percent_saved']:.1f}%"
        signatures = f"{r['signatures_kept']}/{r['signatures']}"
        ms = "—" if r["ms_per_2k_lines"] is None else f"{r['ms_per_2k_lines']:.1f}" + (
            "" if isinstance(r["ms_measured_on"], dict) else "*")
        why = [w for w, bad in (("saved", not r["saved_ok"]), ("ms", not r["ms_ok"]),
                                ("signatures", r["signatures_kept"] < r["signatures"]),
                                ("parse", r["parse_ok"] < r["files"]), ("retrieve", r["retrievable"] < r["files"])) if bad]
        table.add_row(r["language"], str(r["files"]), str(r["files_over_min"]), f"{r['tokens_before']:,}",
                      f"{r['tokens_after']:,}", saved, signatures, f"{r['parse_ok']}/{r['files']}",
                      f"{r['retrievable']}/{r['files']}", ms,
                      "[green]PASS[/green]" if r["passed"] else f"[red]FAIL[/red] ({', '.join(why)})")
    return table


def windows_table(rows: list[dict], make_table):
    table = make_table([("Language", "left"), ("Files", "right"), ("Windows", "right"), ("Compressed", "right"),
                        ("Tokens", "right"), ("After", "right"), ("Saved", "right"), ("Signatures kept", "right"),
                        ("Parse OK", "right"), ("Retrievable", "right")])
    table.title = (f"Windows: Read with offset/limit, every {WINDOW_LINES}-line window at lines 1, {WINDOW_LINES + 1}, "
                   f"{2 * WINDOW_LINES + 1}, … of files over {WINDOW_MIN_FILE_LINES} lines (signatures: those wholly inside a window)")
    for r in rows:
        table.add_row(r["language"], str(r["files"]), str(r["windows"]), str(r["compressed"]),
                      f"{r['tokens_before']:,}", f"{r['tokens_after']:,}", f"{r['percent_saved']:.1f}%",
                      f"{r['signatures_kept']}/{r['signatures']}", f"{r['parse_ok']}/{r['windows']}",
                      f"{r['retrievable']}/{r['windows']}")
    return table


def policy_table(rows: list[dict], make_table):
    table = make_table([("Lines", "left"), ("Files", "right"), ("Mean tokens", "right"), ("Mean saved", "right"),
                        ("Saved", "right"), ("One retrieval", "right"), ("Retrievals paid", "right")])
    table.title = ("Left-alone policy: what compressing a file saves against what one retrieval of an elided body "
                   "costs (HEADROOM_CODE_MIN_LINES=0)")
    for r in rows:
        table.add_row(r["lines"], str(r["files"]), f"{r['mean_tokens']:,}", f"{r['mean_saved']:,}",
                      f"{r['percent_saved']:.1f}%", "—" if r["mean_retrieval_tokens"] is None else f"{r['mean_retrieval_tokens']:,}",
                      "—" if r["retrievals_paid"] is None else f"{r['retrievals_paid']:.1f}")
    return table
