"""The search engine: needles survive, markers expand back to the original, matches are folded per file."""

from __future__ import annotations

import json
import random
import re

import pytest

from headroom_cli import engines
from headroom_cli.engines.base import Context, deadline_after, EngineTimeout, Part, Result
from headroom_cli.engines.search import SearchEngine
from headroom_cli.markers import MARKER_RE, ccr_id
from headroom_cli.tokens import count_tokens

ENGINE = SearchEngine()
KIND_TARGET = 0.40  # least token reduction over the corpus's search samples, with and without a query
VERBATIM_TARGET = 0.95  # least share of needles kept verbatim

# --------------------------------------------------------------------------- helpers


def compress(text: str, deadline: float = 60, **part_kw) -> tuple[Result | None, str]:
    part_id = ccr_id(text)
    result = ENGINE.compress(Part(text, **part_kw), Context(part_id=part_id, deadline=deadline_after(deadline)))
    return result, part_id


def _split(text: str) -> tuple[list[str], bool]:
    lines = text.split("\n")
    if text.endswith("\n"):
        lines.pop()
        return lines, True
    return lines, False


def reconstruct(original: str, compressed: str, part_id: str) -> str:
    """Replace each marker line by the original lines it names, and each shortened line (one that
    ends with a marker naming it) by the original line: what `headroom retrieve` gives back."""
    orig_lines, _ = _split(original)
    out_lines, ends_nl = _split(compressed)
    rebuilt: list[str] = []
    for line in out_lines:
        found = [m for m in MARKER_RE.finditer(line) if m["id"] == part_id]
        if found:
            m = found[-1]
            assert m["a"], f"marker without a line range: {line}"
            a, b = int(m["a"]), int(m["b"])
            assert 1 <= a <= b <= len(orig_lines), line
            if m.start() > 0:
                assert a == b and line.endswith(m.group(0)), f"inline marker must name its one line: {line}"
            rebuilt.extend(orig_lines[a - 1 : b])
        else:
            rebuilt.append(line)
    return "\n".join(rebuilt) + ("\n" if ends_nl else "")


def json_covered(original: str, compressed: str, part_id: str) -> None:
    """rg --json output is rendered compactly: every original line must be in the output verbatim, be a
    match/context event shown as ``N:text`` / ``N-text``, lie in a line marker's range, or be an end
    event covered by the omission marker."""
    orig_lines, _ = _split(original)
    out = compressed.split("\n")
    out_set = set(out)
    ranges = [(int(m["a"]), int(m["b"])) for m in MARKER_RE.finditer(compressed) if m["id"] == part_id and m["a"]]
    whole = [m for m in MARKER_RE.finditer(compressed) if m["id"] == part_id and not m["a"]]
    for no, line in enumerate(orig_lines, 1):
        if line in out_set or any(a <= no <= b for a, b in ranges):
            continue
        event = json.loads(line)
        if event["type"] in ("match", "context"):
            head = f"{event['data']['line_number']}{':' if event['type'] == 'match' else '-'}"
            shown = head + event["data"]["lines"]["text"].rstrip("\n")
            assert shown in out_set or any(o.startswith(head) and MARKER_RE.search(o) for o in out), line
        else:
            assert event["type"] == "end" and whole, line


def markers_in(text: str, part_id: str) -> list[re.Match[str]]:
    return [m for m in MARKER_RE.finditer(text) if m["id"] == part_id]


def check(text: str, needles: list[str], min_reduction: float | None = None, json_mode: bool = False,
          **part_kw) -> Result:
    """The properties every compression must have; returns the result for further checks."""
    result, part_id = compress(text, **part_kw)
    assert result is not None, "expected the engine to compress this"
    assert result.kind == "search"
    out = result.text
    missing = [n for n in needles if n not in out]
    assert not missing, f"needles lost: {missing}\n---\n{out}"
    if json_mode:
        json_covered(text, out, part_id)
    else:
        assert reconstruct(text, out, part_id) == text, "markers do not expand back to the original"
    assert len(out) < len(text)
    marks = markers_in(out, part_id)
    assert marks, "no marker in the output"
    assert result.omitted > 0
    if not json_mode:
        assert result.omitted == sum(int(m["b"]) - int(m["a"]) + 1 for m in marks)
    again, _ = compress(text, **part_kw)
    assert again is not None and again.text == out, "not deterministic"
    if min_reduction is not None:
        before, after = count_tokens(text), count_tokens(out)
        assert after <= (1 - min_reduction) * before, f"tokens {before} -> {after} ({1 - after / before:.1%} saved)"
    return result


# --------------------------------------------------------------------------- the corpus


def test_registered():
    engine = engines.get("search")
    assert engine is not None and engine.name == "search"


def _entries(needles: list[dict]) -> list[dict]:
    entries = [e for e in needles if e["kind"] == "search"]
    assert len(entries) >= 4
    return entries


@pytest.mark.parametrize("with_query", [True, False], ids=["query", "no-query"])
def test_corpus_samples(corpus_dir, needles, with_query, capsys):
    before_total = after_total = kept = recoverable = count = 0
    rows = []
    for entry in _entries(needles):
        text = (corpus_dir / entry["file"]).read_text()
        assert ENGINE.detect(Part(text)) >= 0.8, entry["file"]
        query = entry["query"] if with_query else None
        result, part_id = compress(text, query=query)
        assert result is not None, entry["file"]
        out = result.text
        json_mode = text.startswith('{"type":')
        if json_mode:
            json_covered(text, out, part_id)
        else:
            assert reconstruct(text, out, part_id) == text, entry["file"]
        assert len(out) < len(text)
        again, _ = compress(text, query=query)
        assert again is not None and again.text == out, "not deterministic"
        orig_lines, _ = _split(text)
        for needle in entry["needles"]:
            count += 1
            if needle in out:
                kept += 1
                continue
            # not verbatim: it must lie in the lines a marker names
            spans = ["\n".join(orig_lines[int(m["a"]) - 1 : int(m["b"])]) for m in markers_in(out, part_id) if m["a"]]
            assert any(needle in s for s in spans), f"{entry['file']}: needle neither kept nor recoverable: {needle!r}"
            recoverable += 1
        b, a = count_tokens(text), count_tokens(out)
        before_total += b
        after_total += a
        rows.append((entry["file"].split("/")[-1], b, a))
    saved = 1 - after_total / before_total
    with capsys.disabled():
        print(f"\nsearch corpus ({'with' if with_query else 'without'} query):")
        for name, b, a in rows:
            print(f"  {name:34s} {b:6d} -> {a:5d} tokens ({1 - a / b:6.1%} saved)")
        print(f"  {'total':34s} {before_total:6d} -> {after_total:5d} tokens ({saved:6.1%} saved); "
              f"needles verbatim {kept}/{count}, recoverable {recoverable}")
    assert saved >= KIND_TARGET, f"{saved:.1%} saved"
    assert kept >= VERBATIM_TARGET * count, f"only {kept}/{count} needles verbatim"


def test_corpus_needles_with_query(corpus_dir, needles):
    for entry in _entries(needles):
        text = (corpus_dir / entry["file"]).read_text()
        json_mode = text.startswith('{"type":')
        check(text, entry["needles"], json_mode=json_mode, query=entry["query"])


def test_corpus_other_kinds_are_not_mine(corpus_dir, needles):
    for entry in needles:
        if entry["kind"] == "search":
            continue
        text = (corpus_dir / entry["file"]).read_text()
        assert ENGINE.detect(Part(text)) <= 0.1, entry["file"]


def test_every_corpus_sample_expands_back_when_forced(corpus_dir, needles):
    """Whatever the content, told it is a search result the engine may fold lines, but never lose one."""
    for entry in needles:
        text = (corpus_dir / entry["file"]).read_text()
        result, part_id = compress(text, kind_hint="search")
        if result is not None and not text.startswith('{"type":'):
            assert reconstruct(text, result.text, part_id) == text, entry["file"]
            assert len(result.text) < len(text)


def test_kind_hint():
    assert ENGINE.detect(Part("x\n", kind_hint="search")) == 1.0
    assert ENGINE.detect(Part("a.py:1:x\n" * 50, kind_hint="logs")) == 0.0


# --------------------------------------------------------------------------- synthetic generators

WORDS = ["parse", "render", "merge", "split", "encode", "decode", "resolve", "flush", "index", "cache"]


def _source_file(rng: random.Random, symbol: str, n: int, lang: str) -> list[tuple[int, str, bool]]:
    """Lines of a made-up source file that mention symbol: (line number, text, is a match)."""
    rows = []
    ln = rng.randint(1, 20)
    for _ in range(n):
        ln += rng.randint(3, 40)
        word = rng.choice(WORDS)
        if lang == "go":
            text = f"\tif err := {symbol}(ctx, {word}Opts); err != nil {{"
        elif lang == "js":
            text = f"    const {word} = await this.{symbol}({word}Args, {{ retry: {rng.randint(1, 9)} }});"
        else:
            text = f"        result = self.{symbol}({word}_value, strict={rng.choice(['True', 'False'])})"
        rows.append((ln, text, True))
    return rows


def gen_rg_plain(n_files: int = 30, seed: int = 5) -> tuple[str, str, str]:
    """rg -n over a Python tree: one definition of the symbol among many calls, and one call with a rare
    word, each in the middle of a file's matches; returns the text, the definition line, the rare line."""
    rng = random.Random(seed)
    lines = []
    def_line = rare = ""
    for f in range(n_files):
        path = f"pkg/{rng.choice(WORDS)}/{rng.choice(WORDS)}_{f}.py"
        special = f in (n_files // 2, n_files // 3)
        rows = [f"{path}:{ln}:{text}" for ln, text, _ in
                _source_file(rng, "reconcile_ledger", 20 if special else rng.randint(2, 25), "py")]
        if special:
            mid = int(rows[10].split(":")[1]) + 1
            if f == n_files // 2:
                def_line = f"{path}:{mid}:    def reconcile_ledger(self, entries, strict=False):"
                rows.insert(11, def_line)
            else:
                rare = f"{path}:{mid}:        self.reconcile_ledger(quarantine_batch, strict=True)"
                rows.insert(11, rare)
        lines += rows
    return "\n".join(lines) + "\n", def_line, rare


def test_rg_plain_definition_kept_without_query():
    text, def_line, rare = gen_rg_plain()
    result = check(text, [def_line], min_reduction=0.4)
    assert rare not in result.text  # a plain call mid-file is folded without a question
    # every file is still named in the output
    paths = {line.split(":", 1)[0] for line in text.splitlines()}
    assert all(p + ":" in result.text for p in paths)


def test_rg_plain_query_keeps_the_rare_match():
    text, def_line, rare = gen_rg_plain()
    check(text, [def_line, rare], min_reduction=0.4, query="Where is the quarantine batch reconciled?")


def test_cap_per_file_and_counts_in_marker():
    rng = random.Random(2)
    rows = _source_file(rng, "emit_event", 200, "py")
    text = "".join(f"svc/events.py:{ln}:{t}\n" for ln, t, _ in rows)
    text += "".join(f"svc/other_{k}.py:{k + 3}:    emit_event(payload)\n" for k in range(3))
    result = check(text, ["svc/other_0.py:3:", "svc/other_2.py:5:"], min_reduction=0.7)
    kept = [ln for ln in result.text.splitlines() if ln.startswith("svc/events.py:")]
    assert 2 <= len(kept) <= 12
    assert kept[0] == text.splitlines()[0] and kept[-1] == text.splitlines()[199]  # first and last match
    assert re.search(r"\(19\d matches\)", result.text)


def gen_rg_heading(seed: int = 9) -> tuple[str, list[str]]:
    """rg --heading -n with -C 1: path on its own line, then N:text / N-text, -- between groups."""
    rng = random.Random(seed)
    out = []
    needles = []
    for f in range(12):
        path = f"internal/{rng.choice(WORDS)}/{rng.choice(WORDS)}{f}.go"
        out.append(path)
        ln = 10
        for g in range(rng.randint(3, 8)):
            ln += rng.randint(20, 60)
            out.append(f"{ln - 1}-\t// {rng.choice(WORDS)} the batch")
            if f == 7 and g == 1:
                line = f"{ln}:func (s *Store) FlushWAL(ctx context.Context) error {{"
                needles.append(line)
            else:
                line = f"{ln}:\tif err := s.FlushWAL(ctx); err != nil {{"
            out.append(line)
            out.append(f"{ln + 1}-\t\treturn fmt.Errorf(\"{rng.choice(WORDS)}: %w\", err)")
            out.append("--")
        out.pop()
        out.append("")
    return "\n".join(out) + "\n", needles


def test_rg_heading_with_context():
    text, needles = gen_rg_heading()
    assert ENGINE.detect(Part(text)) >= 0.8
    result = check(text, needles, min_reduction=0.3)
    # a kept group is whole: the definition's context lines come with it
    out = result.text.splitlines()
    k = out.index(needles[0])
    assert out[k - 1].endswith("the batch") and out[k + 1].lstrip().startswith(tuple("0123456789"))
    # every file heading stays
    for line in text.splitlines():
        if line.startswith("internal/"):
            assert line in out


def test_grep_context_groups_kept_whole():
    rng = random.Random(4)
    lines = []
    target = ""
    for f in range(6):
        path = f"lib/{rng.choice(WORDS)}_{f}.rb"
        ln = 1
        for g in range(9):
            ln += rng.randint(10, 50)
            lines.append(f"{path}-{ln - 2}-  # {rng.choice(WORDS)}")
            lines.append(f"{path}-{ln - 1}-")
            text = "  def normalize_path(value)" if (f, g) == (3, 4) else "    normalize_path(value)"
            if (f, g) == (3, 4):
                target = f"{path}:{ln}:{text}"
            lines.append(f"{path}:{ln}:{text}")
            lines.append(f"{path}-{ln + 1}-    value.strip")
            lines.append("--")
    text = "\n".join(lines[:-1]) + "\n"
    result = check(text, [target], min_reduction=0.3)
    out = result.text.splitlines()
    k = out.index(target)
    assert out[k + 1].endswith("value.strip") and out[k - 1].endswith("-")


def _rg_json(files: list[tuple[str, list[tuple[int, str, bool]]]], pattern: str) -> str:
    dumps = lambda obj: json.dumps(obj, separators=(",", ":"))  # noqa: E731
    out = []
    total_matches = total_bytes = 0
    for path, rows in files:
        out.append(dumps({"type": "begin", "data": {"path": {"text": path}}}))
        offset = 0
        matched = 0
        for ln, text, is_match in rows:
            offset += 37 * ln
            data = {"path": {"text": path}, "lines": {"text": text + "\n"}, "line_number": ln,
                    "absolute_offset": offset}
            if is_match:
                start = text.find(pattern)
                data["submatches"] = [{"match": {"text": pattern}, "start": start, "end": start + len(pattern)}]
                matched += 1
            else:
                data["submatches"] = []
            out.append(dumps({"type": "match" if is_match else "context", "data": data}))
        total_matches += matched
        total_bytes += offset
        stats = {"elapsed": {"secs": 0, "nanos": 0, "human": "0.000000s"}, "searches": 1, "searches_with_match": 1,
                 "bytes_searched": offset, "bytes_printed": 999, "matched_lines": matched, "matches": matched}
        out.append(dumps({"type": "end", "data": {"path": {"text": path}, "binary_offset": None, "stats": stats}}))
    summary = {"elapsed_total": {"human": "0.000000s", "nanos": 0, "secs": 0},
               "stats": {"bytes_printed": 999, "bytes_searched": total_bytes, "matched_lines": total_matches,
                         "matches": total_matches, "searches": len(files), "searches_with_match": len(files)}}
    out.append(dumps({"data": summary, "type": "summary"}))
    return "\n".join(out) + "\n"


def gen_rg_json(seed: int = 1, with_context: bool = True) -> tuple[str, list[str]]:
    rng = random.Random(seed)
    files = []
    needles = []
    for f in range(8):
        path = f"src/{rng.choice(WORDS)}/{rng.choice(WORDS)}{f}.js"
        rows = []
        for ln, text, _ in _source_file(rng, "scheduleRetry", rng.randint(3, 30), "js"):
            if with_context:
                rows.append((ln - 1, f"    // {rng.choice(WORDS)}", False))
            rows.append((ln, text, True))
        if f == 5:
            rows.insert(2, (rows[1][0] + 1, "  scheduleRetry(job, attempt = 1) {", True))
            needles.append("scheduleRetry(job, attempt = 1) {")
        files.append((path, rows))
        needles.append(json.dumps({"path": {"text": path}}, separators=(",", ":")))
    text = _rg_json(files, "scheduleRetry")
    total = sum(1 for _, rows in files for r in rows if r[2])
    needles.append(f'"matched_lines":{total}')
    return text, needles


@pytest.mark.parametrize("with_context", [True, False])
def test_rg_json(with_context):
    text, needles = gen_rg_json(with_context=with_context)
    assert ENGINE.detect(Part(text)) >= 0.9
    result = check(text, needles, min_reduction=0.6, json_mode=True)
    out = result.text.splitlines()
    assert out[-1].startswith('{"data":') and '"type":"summary"' in out[-1]  # the summary, verbatim, last
    assert any(MARKER_RE.fullmatch(line) and "--lines" not in line for line in out)  # the compact-form marker
    assert sum(1 for line in out if line.startswith('{"type":"begin"')) == 8


def test_rg_json_small_is_rendered_compactly():
    files = [("a/b.py", [(3, "import scheduleRetry", True), (9, "x = scheduleRetry(1)", True)])]
    text = _rg_json(files, "scheduleRetry")
    result, part_id = compress(text)
    assert result is not None and "3:import scheduleRetry" in result.text and '"matched_lines":2' in result.text
    json_covered(text, result.text, part_id)


def test_git_grep_function_context():
    """git grep -n -p: "path=N=" lines name the function around the next match."""
    rng = random.Random(8)
    lines = []
    for f in range(5):
        path = f"src/{WORDS[f]}.c"
        ln = 1
        for g in range(12):
            ln += rng.randint(15, 40)
            lines.append(f"{path}={ln - 5}=static int {rng.choice(WORDS)}_{g}(struct ctx *c)")
            lines.append(f"{path}:{ln}:\tlock_acquire(&c->lock);")
    text = "\n".join(lines) + "\n"
    result = check(text, [], min_reduction=0.4)
    out = result.text.splitlines()
    for k, line in enumerate(out):
        if "=" in line.split(":", 1)[0] and not MARKER_RE.search(line):
            assert ":" in out[k + 1] and "lock_acquire" in out[k + 1], "a function line without its match"


def test_single_file_grep_n():
    rng = random.Random(6)
    lines = []
    ln = 0
    for k in range(80):
        ln += rng.randint(2, 30)
        lines.append(f"{ln}:    log.debug(\"{rng.choice(WORDS)} step %d\", {k})")
    at = int(lines[40].split(":")[0]) - 1
    target = f"{at}:def configure_logging(level=logging.INFO):"
    lines.insert(40, target)
    text = "\n".join(lines) + "\n"
    hint = {"tool_name": "Bash", "tool_input": "grep -n log app/main.py"}
    assert ENGINE.detect(Part(text, **hint)) >= 0.7
    result = check(text, [lines[0], lines[-1]], min_reduction=0.4, **hint)
    assert target in result.text  # an outline definition outranks plain uses


def test_claude_grep_files_mode():
    paths = [f"/home/u/proj/src/{WORDS[k % 10]}/{WORDS[(k * 7) % 10]}_{k}.ts" for k in range(120)]
    text = f"Found {len(paths)} files\n" + "\n".join(paths) + "\n"
    part = Part(text, tool_name="Grep", tool_input="scheduleRetry")
    assert ENGINE.detect(part) >= 0.9
    assert ENGINE.detect(Part(text)) >= 0.8  # the "Found N files" header says it
    result = check(text, [f"Found {len(paths)} files", paths[0], paths[-1]], min_reduction=0.3,
                   tool_name="Grep", tool_input="scheduleRetry")
    assert "paths" in result.text  # the marker counts paths
    # with a question naming a file, that file stays
    check(text, [paths[57]], query=f"what does {paths[57].rsplit('/', 1)[1]} do?", tool_name="Grep")


def test_claude_grep_count_mode():
    rng = random.Random(3)
    rows = [f"src/{WORDS[k % 10]}/mod_{k}.py:{rng.randint(0, 40)}" for k in range(90)]
    text = "\n".join(rows) + "\n\nFound 1,234 total occurrences across 90 files.\n"
    assert ENGINE.detect(Part(text, tool_name="Grep")) >= 0.9
    check(text, ["Found 1,234 total occurrences across 90 files.", rows[0]], min_reduction=0.2, tool_name="Grep")


def test_grep_without_line_numbers():
    rng = random.Random(12)
    lines = [f"app/{WORDS[k % 6]}.py:    return render_template('{rng.choice(WORDS)}.html', ctx={k})"
             for k in range(90)]
    lines.sort()
    text = "\n".join(lines) + "\n"
    part = Part(text, tool_name="Bash", tool_input="grep -r render_template app/")
    assert ENGINE.detect(part) >= 0.7
    check(text, [lines[0], lines[-1]], min_reduction=0.4, tool_name="Bash", tool_input="grep -r render_template app/")


def test_long_minified_line_is_shortened_around_the_match():
    rng = random.Random(1)
    filler = "".join(rng.choice("abcdefghij;(){}=+,.") for _ in range(6000))
    long_line = f"dist/app.min.js:1:{filler[:3000]}resolveWebhookSecret(cfg){filler[3000:]}"
    rows = [f"src/hooks/{WORDS[k % 10]}.js:{k + 10}:  const s = resolveWebhookSecret(cfg{k});" for k in range(40)]
    text = "\n".join([long_line] + rows) + "\n"
    result = check(text, [], min_reduction=0.5, query="where is resolveWebhookSecret used?")
    short = next(line for line in result.text.splitlines() if line.startswith("dist/app.min.js:1:"))
    assert "resolveWebhookSecret(cfg)" in short and len(short) < 600
    assert MARKER_RE.search(short)["a"] == "1"


def test_few_matches_in_minified_files_are_cut_to_the_match():
    rng = random.Random(7)
    rows = []
    for k in range(3):
        filler = "".join(rng.choice("abcdefghij;(){}=+,.") for _ in range(20_000))
        rows.append(f"static/js/chunk{k}.min.js:1:{filler[:9000]}trackCheckoutEvent(e,{k}){filler[9000:]}")
    text = "\n".join(rows) + "\n"
    hint = {"tool_name": "Bash", "tool_input": "rg -n trackCheckoutEvent static/"}
    result = check(text, [f"trackCheckoutEvent(e,{k})" for k in range(3)], min_reduction=0.9, **hint)
    assert len(result.text.splitlines()) == 3 and result.omitted == 3


def test_ansi_coloured_and_crlf_output():
    text, def_line, _ = gen_rg_plain(seed=21)
    coloured = "".join(
        f"\x1b[35m{p}\x1b[0m:\x1b[32m{n}\x1b[0m:{rest}\r\n"
        for p, n, rest in (line.split(":", 2) for line in text.splitlines())
    )
    result, part_id = compress(coloured)
    assert result is not None
    assert reconstruct(coloured, result.text, part_id) == coloured
    assert ENGINE.detect(Part(coloured)) >= 0.8


def test_windows_paths():
    rows = [f"C:\\src\\app\\{WORDS[k % 4]}.cs:{k * 3 + 1}:        var x = ParseOrder(input{k});" for k in range(60)]
    text = "\n".join(rows) + "\n"
    assert ENGINE.detect(Part(text)) >= 0.8
    check(text, [rows[0], rows[-1]], min_reduction=0.3)


# --------------------------------------------------------------------------- not mine, and odd input


def test_not_search_output():
    compiler = "\n".join(
        f"src/m{k}.c:{k + 10}:5: warning: unused variable 'x{k}' [-Wunused-variable]\n   {k + 10} |     int x{k};\n"
        f"      |         ^" for k in range(30)
    )
    logs = "\n".join(f"12:30:{k % 60:02d} INFO worker {k} started" for k in range(60))
    pytest_tb = "\n".join(f"tests/test_x.py:{k}: AssertionError" for k in range(1, 40))
    prose = "\n".join("Note: this is a sentence, with a colon: and more words." for _ in range(40))
    rng = random.Random(5)
    numbered = "\n".join(f"{rng.randint(1, 999)}:{rng.choice(WORDS)}" for _ in range(40))  # not rising
    dated = "\n".join(f"2024-05-{d:02d} 10:00:00 job {d} done" for d in range(1, 29))
    for text in (compiler, logs, pytest_tb, prose, numbered, dated):
        assert ENGINE.detect(Part(text)) <= 0.1, text[:80]
    assert ENGINE.detect(Part(gen_rg_plain()[0], tool_name="Read", tool_input="out.txt")) <= 0.1


@pytest.mark.parametrize("text", [
    "", "\n", "   \n\n", "a.py:1:x\n", "just some words\n", "{\"type\":\"begin\"\n{not json}\n",
    "\x00\x01\x02binary\xff" * 50, "--\n--\n--\n", "a.py:1:x\n" * 10,
    '{"type":"summary","data":{}}\n' * 3, '{"type":"match","data":{"path":{"bytes":"AAE="}}}\n' * 40,
])
def test_edge_cases_return_none(text):
    result, _ = compress(text)
    assert result is None
    ENGINE.detect(Part(text))  # never raises


def test_malformed_json_lines_are_kept():
    text, _ = gen_rg_json(seed=3)
    lines = text.splitlines()
    lines.insert(5, '{"type":"match","data":{broken')
    broken = "\n".join(lines) + "\n"
    result, part_id = compress(broken)
    assert result is not None and '{"type":"match","data":{broken' in result.text


def test_deadline():
    text, _, _ = gen_rg_plain(n_files=2000)
    with pytest.raises(EngineTimeout):
        compress(text, deadline=-1)


def test_200kb_same_bytes_every_run():
    # speed on big parts is measured by scripts/bench_engine_latency.py, not timed here
    text, _, _ = gen_rg_plain(n_files=1600, seed=2)
    text = text[: text.rfind("\n", 0, 200_000) + 1]
    assert 190_000 < len(text) <= 200_000
    result, _ = compress(text, query="where is the ledger reconciled strictly?")
    assert result is not None and count_tokens(result.text) < count_tokens(text)
    assert compress(text, query="where is the ledger reconciled strictly?")[0].text == result.text
