"""The code engine over real source files in every language it reads: signatures kept verbatim,
bodies elided behind markers that name them and give back their exact lines, outputs that parse,
Claude Code's Read format with its line numbers, bodies the question names kept, and the files it
leaves alone (small, broken, huge, binary, minified)."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from headroom_cli import readformat
from headroom_cli.cli import app
from headroom_cli.config import Settings, code_min_lines_setting
from headroom_cli.engines import EngineTimeout, Part, get
from headroom_cli.engines.base import Context, deadline_after
from headroom_cli.engines.code import MAX_CHARS, language_of
from headroom_cli.engines.code.outline import Cut
from headroom_cli.engines.code.wanted import wanted_symbols
from headroom_cli.markers import ccr_id, find_markers, original_lines
from headroom_cli.pipeline import Pipeline
from headroom_cli.store import Store
from headroom_cli.tokens import count_tokens

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data" / "code"
ENGINE = get("code")
SMALL_REAL_FILE = REPO / "headroom_cli" / "engines" / "code" / "render.py"  # real Python, under 200 lines


def _load_bench_code():
    """The bench's own checks (signatures, parsing, retrieval), written apart from the engine's tables."""
    spec = importlib.util.spec_from_file_location("headroom_bench_code", REPO / "scripts" / "bench_code.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


checks = _load_bench_code()

# (file, language, least share of tokens saved): fixtures under tests/data/code, corpus samples by name.
FIXTURES = [
    ("click_parser.py", "python", 0.55), ("express_router_index.js", "javascript", 0.55),
    ("rxjs_timeout.ts", "typescript", 0.55), ("rtk_queryLifecycle.test.tsx", "tsx", 0.65),
    ("mux_route.go", "go", 0.35), ("anyhow_error.rs", "rust", 0.40), ("regex_tests_crazy.rs", "rust", 0.60),
    ("JPypeContext.java", "java", 0.45),
    ("zlib_gun.c", "c", 0.65), ("jpype_jp_exception.cpp", "cpp", 0.70), ("rack_request.rb", "ruby", 0.12),
    ("appengine_LogService.php", "php", 0.50),
]
CORPUS = [
    ("python_rich_table", "python", 0.55), ("js_commander_command", "javascript", 0.50),
    ("ts_rxjs_observable", "typescript", 0.45), ("go_cobra_command", "go", 0.30),
    ("rust_semver_parse", "rust", 0.55), ("c_psutil_posix", "c", 0.65), ("cpp_fmt_core_h", "cpp", 0.12),
]


def compress(text: str, *, min_lines: int | None = 0, deadline_s: float = 10.0, **part_kw):
    part_id = ccr_id(text)
    ctx = Context(part_id=part_id, deadline=deadline_after(deadline_s), code_min_lines=min_lines)
    return ENGINE.compress(Part(text, **part_kw), ctx), part_id


def expand(original: str, output: str, part_id: str) -> str:
    """Every line that carries a marker replaced by the original lines it names."""
    lines = original_lines(original)
    rebuilt = []
    for line in original_lines(output):
        marks = [m for m in find_markers(line) if m["id"] == part_id]
        if marks:
            a, b = int(marks[0]["a"]), int(marks[0]["b"])
            rebuilt.extend(lines[a - 1:b])
        else:
            rebuilt.append(line)
    return "".join(rebuilt)


def check_compression(text: str, language: str, least_saved: float, **part_kw):
    result, part_id = compress(text, **part_kw)
    assert result is not None and result.kind == "code"
    out = result.text
    assert out != text and len(out) < len(text)
    saved = 1 - count_tokens(out) / count_tokens(text)
    assert saved >= least_saved, f"{saved:.1%} saved, expected at least {least_saved:.0%}"
    # Top-level and class-level signatures verbatim, as the bench counts them.
    shown = {line.strip() for line in out.split("\n")}
    lost = [s for s in checks.signature_lines(language, text) if s not in shown]
    assert not lost, lost[:5]
    assert checks.parses(language, text, out), "the output has a syntax error the input did not have"
    # Each marker stands for whole lines: expanding them gives the input back, byte for byte.
    markers = find_markers(out)
    assert markers and all(m["id"] == part_id and m["a"] for m in markers)
    assert expand(text, out, part_id) == text
    assert result.omitted == sum(int(m["b"]) - int(m["a"]) + 1 for m in markers)
    again, _ = compress(text, **part_kw)
    assert again.text == out, "not deterministic"
    return result, part_id


@pytest.mark.parametrize("name,language,least", FIXTURES, ids=[f[0] for f in FIXTURES])
def test_real_files_in_each_language(name, language, least):
    path = DATA / name
    text = path.read_text(encoding="utf-8")
    assert language_of(text, str(path)) == language
    check_compression(text, language, least, tool_name="Read", tool_input=str(path))


@pytest.mark.parametrize("name,language,least", CORPUS, ids=[c[0] for c in CORPUS])
def test_corpus_code_without_a_file_name(corpus_dir, needles, name, language, least):
    """No hint at all: the language comes from the text, and the corpus's needles (first, middle
    and last signature lines) stay verbatim, with or without the question."""
    entry = next(e for e in needles if e["file"] == f"code/{name}.txt")
    text = (corpus_dir / entry["file"]).read_text(encoding="utf-8")
    assert language_of(text) == language
    for query in (None, entry["query"]):
        result, _ = check_compression(text, language, least, query=query)
        assert all(needle in result.text for needle in entry["needles"])


def test_every_body_marker_names_its_symbol_and_lines():
    text = (DATA / "express_router_index.js").read_text()
    result, part_id = compress(text)
    lines = original_lines(text)
    bodies = [m for m in find_markers(result.text) if m["what"].startswith("body of ")]
    assert len(bodies) >= 10
    for marker in bodies:
        symbol = marker["what"].removeprefix("body of ")
        a, b = int(marker["a"]), int(marker["b"])
        assert 1 <= a <= b <= len(lines)
        header = "".join(lines[max(0, a - 4):a - 1])  # the signature is just above the body
        assert symbol.split(".")[-1].split("(")[0] in header, (symbol, header)
    assert "proto.handle = function handle(req, res, out) {\n  // [headroom: " in result.text
    assert "[headroom: body of handle · retrieve" in result.text


def test_python_bodies_stay_statements_and_docstrings_keep_their_first_line(corpus_dir):
    text = (corpus_dir / "code" / "python_rich_table.txt").read_text()
    result, _ = compress(text)
    assert '    """A console renderable to draw a table.' in result.text  # a class docstring's first line
    assert re.search(r"^        \.\.\.  # \[headroom: body of add_row · retrieve hr_\w+ --lines \d+-\d+\]$", result.text, re.M)
    assert '        """Get the current row style."""\n        ...  # [headroom:' in result.text  # one-line docstrings stay


# -- the question and the tool call ------------------------------------------------------------------

def test_a_body_the_question_names_is_kept(corpus_dir):
    text = (corpus_dir / "code" / "go_cobra_command.txt").read_text()
    blind, _ = compress(text)
    asked, _ = compress(text, query="Where is `ValidateRequiredFlags` defined in command.go, and what is its signature?")
    start = text.index("func (c *Command) ValidateRequiredFlags() error {")
    body = text[start:text.index("\n}\n", start) + 3]
    assert body in asked.text and body not in blind.text
    assert len(asked.text) > len(blind.text)


def test_a_method_the_question_names_is_kept():
    text = (DATA / "JPypeContext.java").read_text()
    blind, _ = compress(text, tool_input="JPypeContext.java", tool_name="Read")
    asked, _ = compress(text, tool_input="JPypeContext.java", tool_name="Read", query="why does shutdown() hang?")
    start = text.index("  private void shutdown()")
    body = text[start:text.index("\n  }\n", start) + 5]
    assert body in asked.text and body not in blind.text


def test_a_class_the_question_names_is_kept_whole():
    text = (DATA / "click_parser.py").read_text()
    whole = text[text.index("class _Option:"):text.index("class _Argument:")]
    blind, _ = compress(text)
    asked, _ = compress(text, query="How does _Option.process handle the append action?")
    assert whole in asked.text and whole not in blind.text
    assert "    def _process_opts(self, arg: str, state: _ParsingState) -> None:\n        ...  # [headroom:" in asked.text


def test_symbols_from_the_question_and_the_tool_input():
    assert wanted_symbols("Where is `parseAsync` defined in lib/command.js, and what is its signature?") == {"parseAsync"}
    assert wanted_symbols("why does Table.padding ignore collapse_padding?") >= {"Table", "padding", "collapse_padding"}
    assert "command" not in wanted_symbols("what is in src/command.go?")  # parts of a path are not symbols
    assert "parse_args" in wanted_symbols(None, "sed -n '/def parse_args/,/^def /p' cli.py")
    assert "handle_request" in wanted_symbols(None, 'grep -n "handle_request" server.py')


# -- Claude Code's Read format -----------------------------------------------------------------------

READ_FORMS = {
    "tab": lambda n, line: f"{n}\t{line}",  # Claude Code now
    "arrow": lambda n, line: f"{n:>6}\u2192{line}",  # older Claude Code
    "cat -n": lambda n, line: f"{n:>6}\t{line}",
}


@pytest.mark.parametrize("form", list(READ_FORMS))
def test_read_format_keeps_the_numbers_of_kept_lines(headroom_home, form):
    path = DATA / "mux_route.go"
    source = path.read_text()
    source_lines = original_lines(source)
    read = "".join(READ_FORMS[form](n, line) for n, line in enumerate(source_lines, 1))
    store = Store(headroom_home / "store.sqlite3")
    outcome = Pipeline(frozen=store).run(Part(read, tool_name="Read", tool_input=str(path)))
    assert outcome.engine == "code" and outcome.part_id == ccr_id(read)
    numbered = re.compile(r"^ *(\d+)(?:\t|\u2192)(.*)$", re.S)
    kept = 0
    for line in original_lines(outcome.text):
        match = numbered.match(line)
        if match:  # a kept line keeps the number it has in the file
            assert source_lines[int(match.group(1)) - 1] == match.group(2), line
            kept += 1
        elif line.strip():
            assert find_markers(line), f"an unnumbered line that is not a marker: {line!r}"
    assert kept > 200
    # The markers' ranges are lines of the Read output as sent: retrieval gives them back exactly.
    _assert_markers_give_back_their_lines(outcome.text, read)
    store.close()


def _assert_markers_give_back_their_lines(out: str, read: str) -> None:
    """`headroom retrieve ID --lines A-B` gives back exactly those lines of the Read output as sent."""
    read_lines = original_lines(read)
    for marker in find_markers(out):
        a, b = int(marker["a"]), int(marker["b"])
        got = CliRunner().invoke(app, ["retrieve", marker["id"], "--lines", f"{a}-{b}"])
        assert got.exit_code == 0 and got.stdout_bytes == "".join(read_lines[a - 1:b]).encode(), marker[0]


REMINDER = ("<system-reminder>\nThe task tools haven't been used recently. Consider TaskCreate.\n"
            "</system-reminder>\n")


def test_a_read_with_a_reminder_the_client_appended_is_compressed_and_keeps_it(headroom_home):
    """Claude Code appends a blank line and a <system-reminder> to some tool results, trimming the last
    numbered line's tab on the way (``1078`` for ``1078\t``): the file is still read as a file."""
    path = DATA / "mux_route.go"
    source_lines = original_lines(path.read_text())
    read = "".join(f"{n}\t{line}" for n, line in enumerate(source_lines, 1)) + f"{len(source_lines) + 1}\n\n" + REMINDER
    store = Store(headroom_home / "store.sqlite3")
    outcome = Pipeline(frozen=store).run(Part(read, tool_name="Read", tool_input=str(path)))
    assert outcome.engine == "code" and len(outcome.text) < len(read) / 2
    assert outcome.text.endswith("\n\n" + REMINDER)  # the reminder, as the client wrote it
    _assert_markers_give_back_their_lines(outcome.text, read)
    store.close()
    # Anything else after the numbered lines still makes it text that is not a Read.
    assert readformat.unwrap(read.replace("<system-reminder>\n", "<note>\n", 1)) is None
    assert readformat.unwrap(read.replace(f"{len(source_lines) + 1}\n\n", "9999\n\n")) is None


# -- retrieval through the store, byte for byte --------------------------------------------------------

def test_headroom_compress_then_retrieve_gives_each_body_back(headroom_home):
    runner = CliRunner()
    for name in ("zlib_gun.c", "click_parser.py", "JPypeContext.java"):
        original = (DATA / name).read_text()
        done = runner.invoke(app, ["compress", str(DATA / name), "--json"])
        assert done.exit_code == 0, done.output
        result = json.loads(done.stdout)
        assert result["engine"] == "code" and result["ccr_ids"] == [ccr_id(original)]
        assert result["tokens_after"] < result["tokens_before"] / 2
        lines = original_lines(original)
        for marker in find_markers(result["text"]):
            a, b = int(marker["a"]), int(marker["b"])
            got = runner.invoke(app, ["retrieve", marker["id"], "--lines", f"{a}-{b}"])
            assert got.stdout_bytes == "".join(lines[a - 1:b]).encode("utf-8"), (name, marker[0])


def test_crlf_files_keep_their_line_endings():
    text = (DATA / "rxjs_timeout.ts").read_text().replace("\n", "\r\n")
    result, part_id = compress(text)
    assert result.text != text and expand(text, result.text, part_id) == text
    assert all(line.endswith("\r") for line in result.text.split("\n")[:-1] if find_markers(line))


# -- left alone ----------------------------------------------------------------------------------------

def test_small_files_are_left_alone_by_default(monkeypatch):
    text = SMALL_REAL_FILE.read_text()
    assert 30 < text.count("\n") < 200
    left, _ = compress(text, min_lines=None)
    assert left is not None and left.text == text and left.omitted == 0  # claimed, so no other engine rewrites it
    assert not Pipeline().run(Part(text)).changed
    smaller, _ = compress(text, min_lines=0)
    assert smaller.text != text
    monkeypatch.setenv("HEADROOM_CODE_MIN_LINES", "0")
    assert compress(text, min_lines=None)[0].text == smaller.text
    assert code_min_lines_setting() == 0 and code_min_lines_setting(500) == 500  # a flag wins over the environment
    assert Settings.resolve().code_min_lines == 0 and Settings.resolve(code_min_lines=80).code_min_lines == 80
    monkeypatch.setenv("HEADROOM_CODE_MIN_LINES", "many")
    with pytest.raises(ValueError, match="HEADROOM_CODE_MIN_LINES"):
        code_min_lines_setting()


def test_compress_flag_sets_the_size_left_alone(headroom_home):
    runner = CliRunner()
    path = DATA / "rxjs_timeout.ts"  # 405 lines
    left = json.loads(runner.invoke(app, ["compress", str(path), "--json", "--code-min-lines", "1000"]).stdout)
    done = json.loads(runner.invoke(app, ["compress", str(path), "--json"]).stdout)
    assert left["tokens_after"] == left["tokens_before"] and done["tokens_after"] < done["tokens_before"]


def test_broken_huge_binary_and_minified_files_come_back_unchanged():
    source = (DATA / "express_router_index.js").read_text()
    broken = source.replace("{", "").replace("}", "")  # the tree is mostly syntax errors
    huge = source * (MAX_CHARS // len(source) + 1)
    binary = source[:5000] + "\x00\x01\x02" + source[5000:]
    minified = ";".join(line.strip() for line in source.splitlines() if line.strip() and not line.strip().startswith("//"))
    for label, text in (("broken", broken), ("huge", huge), ("binary", binary), ("minified", minified)):
        result, _ = compress(text, tool_name="Read", tool_input="lib/router/index.js")
        assert result is not None and result.text == text and result.omitted == 0, label
        assert not Pipeline().run(Part(text, tool_name="Read", tool_input="lib/router/index.js")).changed, label


def test_text_that_is_not_code_is_not_claimed():
    log = "".join(f"2024-05-01 12:00:{i % 60:02d} INFO worker-{i % 7} handled request {i} in {i % 13} ms\n"
                  for i in range(400))
    result, _ = compress(log, kind_hint="code")
    assert result is None  # no grammar reads it: another engine may


def test_a_cut_that_would_break_the_syntax_is_undone():
    text = (DATA / "click_parser.py").read_text()
    lines = text.split("\n")
    row = next(i for i, line in enumerate(lines) if line.startswith("class _OptionParser"))
    # A cut from inside one class into the next leaves a body that cannot parse: it must not survive.
    bad = Cut(row - 3, row + 1, "body of nothing", "comment", "    ")
    from headroom_cli.engines.code import parsing
    from headroom_cli.engines.code.reading import read

    data = text.encode()
    reading = read(text, data, "parser.py")
    assert not reading.tree.root_node.has_error
    ctx = Context(part_id=ccr_id(text), deadline=deadline_after(10))
    assert ENGINE._settle(text, reading, [bad], ctx) is None
    body = next(i for i, line in enumerate(lines) if line.startswith("    def add_argument(")) + 1
    good = Cut(body, body + 5, "body of add_argument", "statement", "        ")  # a whole body: fine
    settled = ENGINE._settle(text, read(text, data, "parser.py"), [good], ctx)
    assert settled is not None and f"        ...  # [headroom: body of add_argument · retrieve {ctx.part_id} --lines {body + 1}-{body + 6}]" in settled.text
    assert not parsing.parse(reading.lang, settled.text.encode()).root_node.has_error


def test_a_passed_deadline_stops_the_engine():
    text = (DATA / "anyhow_error.rs").read_text()
    with pytest.raises(EngineTimeout):
        compress(text, deadline_s=-1)
    assert not Pipeline(part_budget_s=0).run(Part(text)).changed


# -- outlines, macros, other languages -----------------------------------------------------------------

def test_a_test_file_keeps_its_outline():
    """describe(...) blocks are outlined, not cut whole: every test's name line stays."""
    text = (DATA / "rtk_queryLifecycle.test.tsx").read_text()
    result, _ = compress(text)
    names = re.findall(r"^\s*(?:test|it)\(.*$", text, re.M)
    assert len(names) >= 10 and all(name in result.text for name in names)


def test_a_table_written_as_calls_keeps_its_first_calls():
    """regex's tests/crazy.rs: runs of one-line mat!(…) / matiter!(…) calls, a table in code form."""
    text = (DATA / "regex_tests_crazy.rs").read_text()
    result, part_id = compress(text)
    runs = [m for m in find_markers(result.text) if " more calls of " in m["what"]]
    assert {m["what"].split(" more calls of ")[1] for m in runs} == {"mat!", "matiter!"}
    lines = original_lines(text)
    for marker in runs:
        a, b = int(marker["a"]), int(marker["b"])
        count = int(marker["what"].split()[0].replace(",", ""))
        macro = marker["what"].rsplit(" ", 1)[1]
        assert sum(line.startswith(macro + "(") for line in lines[a - 1:b]) == count  # says how many it holds
        assert sum(line.startswith(macro + "(") for line in lines[a - 3:a - 1]) == 2  # the first two stay
    assert expand(text, result.text, part_id) == text


def test_calls_that_declare_are_never_a_table():
    """Ruby's attr_accessor and require lines declare and import: kept, however many in a row."""
    accessors = [f"  attr_accessor :option_{i}" for i in range(30)]
    prints = [f'    puts "option {i}: " + option_{i}.inspect + " (as the user set it)"' for i in range(12)]
    text = "\n".join(["require 'set'", "", "class Config", *accessors, "", "  def describe", *prints, "  end", "end", ""])
    result, _ = compress(text, tool_name="Read", tool_input="config.rb")
    assert all(line in result.text for line in accessors)
    assert "more calls of" not in result.text and "body of describe" in result.text


def test_c_macros_and_preprocessor_blocks(corpus_dir):
    text = (corpus_dir / "code" / "cpp_fmt_core_h.txt").read_text()
    result, part_id = compress(text)
    assert "#define FMT_CORE_H_" in result.text and "template <typename Char> class basic_string_view {" in result.text
    kept_conditionals = [line for line in result.text.split("\n") if re.match(r"\s*#\s*(if|ifdef|ifndef|else|elif|endif)\b", line)]
    assert sum(l.lstrip("# ").startswith("if") for l in kept_conditionals) == sum(l.lstrip("# ").startswith("endif") for l in kept_conditionals)
    assert expand(text, result.text, part_id) == text


def test_csharp_is_read_too():
    text = "\n".join(
        ["using System;", "using System.Collections.Generic;", "", "namespace Shop.Billing", "{"]
        + [line for i in range(12) for line in (
            f"    public class Invoice{i}",
            "    {",
            f"        public decimal Total{i}(IEnumerable<decimal> amounts)",
            "        {",
            "            decimal total = 0m;",
            "            foreach (var amount in amounts)",
            "            {",
            "                total += Math.Round(amount * 1.2m, 2, MidpointRounding.AwayFromZero);",
            "            }",
            f"            Console.WriteLine($\"invoice {i}: {{total}}\");",
            "            return total;",
            "        }",
            "    }",
        )] + ["}", ""])
    assert language_of(text, "Invoice.cs") == "csharp"
    result, part_id = compress(text, tool_name="Read", tool_input="Billing/Invoice.cs")
    assert "        public decimal Total3(IEnumerable<decimal> amounts)" in result.text
    assert "body of Total3" in result.text and expand(text, result.text, part_id) == text
    assert checks.parses("csharp", text, result.text)


def test_compressing_on_many_threads_at_once_gives_the_same_bytes():
    """The proxy compresses on worker threads: each thread has its own parsers."""
    from concurrent.futures import ThreadPoolExecutor

    texts = [(DATA / name).read_text() for name in ("click_parser.py", "mux_route.go", "zlib_gun.c", "anyhow_error.rs")]
    alone = [compress(text)[0].text for text in texts]
    with ThreadPoolExecutor(max_workers=6) as pool:
        together = list(pool.map(lambda i: compress(texts[i % 4])[0].text, range(24)))
    assert together == [alone[i % 4] for i in range(24)]


# -- windows: Read with offset/limit -------------------------------------------------------------------

def _read_window(path: Path, offset: int, limit: int) -> tuple[str, list[str]]:
    """Claude Code's Read of lines offset..offset+limit-1, and those lines as they are in the file."""
    shown = path.read_text(encoding="utf-8").split("\n")[offset - 1:offset - 1 + limit]
    return "\n".join(f"{offset + i:>6}\t{line}" for i, line in enumerate(shown)), shown


def _check_window(headroom_home, path: Path, offset: int, limit: int, language: str):
    """A window through the whole pipeline, checked as the bench checks windows: smaller, the
    signatures of definitions wholly inside it verbatim, no new syntax error, every kept line with
    its file's line number, every marker giving back its lines byte for byte, deterministic."""
    read, shown = _read_window(path, offset, limit)
    store = Store(headroom_home / "store.sqlite3")
    outcome = Pipeline(frozen=store).run(Part(read, tool_name="Read", tool_input=str(path)))
    assert outcome.engine == "code" and outcome.part_id and len(outcome.text) < len(read)
    last = offset + len(shown) - 2  # 0-based row in the file
    inside = [line for first, end, line in checks.signatures(language, path.read_text(encoding="utf-8"))
              if offset - 1 <= first and end <= last]
    plain_out = "\n".join(checks._READ_PREFIX.sub("", line) for line in outcome.text.split("\n"))
    kept = {line.strip() for line in plain_out.split("\n")}
    assert [s for s in inside if s not in kept] == []
    file_lines = path.read_text(encoding="utf-8").split("\n")
    assert checks.window_parses(language, file_lines, offset, len(shown), plain_out, outcome.part_id)
    for line in original_lines(outcome.text):
        match = re.match(r"^ *(\d+)\t(.*)$", line, re.S)
        if match:
            assert shown[int(match.group(1)) - offset] == match.group(2).rstrip("\n"), line
    spans = checks.marker_spans(outcome.text, store)
    assert spans and checks._window_retrievable(read, outcome.text, spans)
    assert Pipeline().run(Part(read, tool_name="Read", tool_input=str(path))).text == outcome.text
    store.close()
    return outcome


def test_a_window_that_starts_inside_a_class_and_a_method(headroom_home, corpus_dir):
    """rxjs's Observable from line 251: the window opens with the `}` of a method, inside the class,
    and ends with the class's `}`. Read in a frame (a class around a method), the methods wholly inside
    lose their bodies; the edges stay as they are."""
    source = corpus_dir / "code" / "ts_rxjs_observable.txt"
    path = headroom_home / "observable.ts"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    outcome = _check_window(headroom_home, path, 251, 250, "typescript")
    lines = outcome.text.split("\n")
    assert lines[0] == "   251\t  }"  # the cut edge, verbatim
    assert any("body of forEach" in line for line in lines)
    assert count_tokens(outcome.text) < 0.75 * count_tokens(_read_window(path, 251, 250)[0])


def test_a_window_that_ends_inside_a_function(headroom_home, corpus_dir):
    """The same file's first 250 lines end inside the class, in the middle of a method: the bodies
    before it go, the unfinished method stays verbatim."""
    source = corpus_dir / "code" / "ts_rxjs_observable.txt"
    path = headroom_home / "observable.ts"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    outcome = _check_window(headroom_home, path, 1, 250, "typescript")
    assert outcome.text.endswith(_read_window(path, 1, 250)[0].split("\n")[-1])
    assert "\n".join(outcome.text.split("\n")[-5:]) == "\n".join(_read_window(path, 246, 5)[0].split("\n"))


def test_claude_codes_first_2000_lines_of_a_big_javascript_file(headroom_home, corpus_dir):
    """What Claude Code's Read returns for a file over 2,000 lines: its first 2,000, here ending deep
    inside commander's Command class. The JS grammar and the TSX one both read that as one big error;
    the brackets pair up only as the JS grammar tokenises them (`${…}` in template strings), so the
    window is framed in the grammar its file name says."""
    source = corpus_dir / "code" / "js_commander_command.txt"
    path = headroom_home / "command.js"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    outcome = _check_window(headroom_home, path, 1, 2000, "javascript")
    assert count_tokens(outcome.text) < 0.5 * count_tokens(_read_window(path, 1, 2000)[0])


@pytest.mark.parametrize("offset,limit,why", [
    (251, 250, "starts in the middle of a JSDoc comment: read with the comment opened first"),
    (1001, 1000, "lies wholly inside the Command class, whose first and last lines are both outside it"),
])
def test_windows_in_the_middle_of_a_long_class(headroom_home, corpus_dir, offset, limit, why):
    """Windows of commander's command.js that no bracket count alone frames: every line is indented (a
    scope encloses it all) or the first lines are a comment's words, braces included."""
    source = corpus_dir / "code" / "js_commander_command.txt"
    path = headroom_home / "command.js"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    outcome = _check_window(headroom_home, path, offset, limit, "javascript")
    assert count_tokens(outcome.text) < 0.6 * count_tokens(_read_window(path, offset, limit)[0]), why


@pytest.mark.parametrize("name,language,offset", [
    ("click_parser.py", "python", 251), ("anyhow_error.rs", "rust", 251), ("JPypeContext.java", "java", 251),
    ("zlib_gun.c", "c", 501), ("mux_route.go", "go", 251), ("rack_request.rb", "ruby", 251),
    ("express_router_index.js", "javascript", 251),
])
def test_windows_in_other_languages(headroom_home, name, language, offset):
    _check_window(headroom_home, DATA / name, offset, 250, language)


def test_a_window_counts_as_the_file_it_shows_part_of(headroom_home, corpus_dir):
    """HEADROOM_CODE_MIN_LINES is about the file: 150 lines read from line 251 are part of a file of
    at least 400 lines, so they are compressed under the default of 200; the same 150 lines from line
    1 could be the whole file, and stay."""
    path = DATA / "click_parser.py"
    from_251, _ = _read_window(path, 251, 150)
    assert Pipeline().run(Part(from_251, tool_name="Read", tool_input=str(path))).engine == "code"
    whole = "\n".join(path.read_text(encoding="utf-8").split("\n")[250:400])
    result, _ = compress(whole, min_lines=None, tool_name="Read", tool_input=str(path))
    assert result is not None and result.text == whole


def test_a_window_no_frame_fits_stays_as_it_is():
    """A window that starts inside a call's arguments: no frame of ours opens that, so it is
    left alone rather than guessed at."""
    text = (DATA / "click_parser.py").read_text(encoding="utf-8").split("\n")
    start = next(i for i, line in enumerate(text) if line.rstrip().endswith("(") and i > 100) + 1
    window = "\n".join(text[start:start + 250])
    from headroom_cli.engines.code import window as windows
    from headroom_cli.engines.code.reading import read

    reading = read(window, window.encode(), "click_parser.py")
    assert reading.tree.root_node.has_error and windows.frame(reading, window) is None
