"""A whole-file Read the conversation points into is folded: the focused code whole, the code that uses it
in outline, and each run of untouched definitions one marker naming them with their first lines."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from headroom_cli.engines import Part
from headroom_cli.engines.base import Context, deadline_after
from headroom_cli.engines.code import CodeEngine
from headroom_cli.focus import Focus
from headroom_cli.markers import ccr_id, find_markers
from headroom_cli.tokens import count_tokens

DATA = Path(__file__).parent / "data" / "code"
FOLD = re.compile(r"\[headroom: (\d+) definitions?: ")


def _compress(name: str, focus: Focus | None, first_line: int = 1, text: str | None = None) -> tuple[str, str]:
    text = text if text is not None else (DATA / name).read_text()
    part = Part(text=text, tool_name="Read", tool_input=f"/proj/{name}", first_line=first_line, focus=focus)
    ctx = Context(part_id=ccr_id(text), deadline=deadline_after(5.0), code_min_lines=40)
    result = CodeEngine().compress(part, ctx)
    return (result.text if result is not None else text), text


def expand_markers(original: str, out: str, part_id: str) -> str:
    """``out`` with each line that holds a marker (after ``#``, ``//`` or ``...``) replaced by the lines it names."""
    rows = original.split("\n")
    rebuilt = []
    for line in out.split("\n"):
        found = [m for m in find_markers(line) if m["id"] == part_id]
        if found:
            rebuilt.extend(rows[int(found[0]["a"]) - 1:int(found[0]["b"])])
        else:
            rebuilt.append(line)
    return "\n".join(rebuilt)


def _lines(text: str, first: str, following: str) -> str:
    """The lines from the one starting with ``first`` up to the next starting with ``following``."""
    rows = text.split("\n")
    start = next(i for i, row in enumerate(rows) if row.startswith(first))
    end = next(i for i in range(start + 1, len(rows)) if rows[i].startswith(following))
    return "\n".join(rows[start:end]).rstrip("\n")


# (file, the focused symbol, its definition's first line, the next definition's, a definition that folds)
CASES = [
    ("click_parser.py", "_match_short_opt", "    def _match_short_opt(", "    def _get_value_from_state(", "_split_opt"),
    ("mux_route.go", "GetHandler", "func (r *Route) GetHandler()", "// Name -----", "BuildOnly"),
    ("express_router_index.js", "route", "proto.route = function route(path) {", "// create Router#VERB", "proto.param"),
]


@pytest.mark.parametrize("name,symbol,first,following,elsewhere", CASES)
def test_the_focused_definition_stays_whole_and_the_rest_folds(name, symbol, first, following, elsewhere):
    out, text = _compress(name, Focus(symbols=(symbol,)))
    outline, _ = _compress(name, None)
    assert _lines(text, first, following) in out  # every line of it, byte for byte, in order
    assert FOLD.search(out), out[:2000]
    assert f"{elsewhere} " in out and f"{elsewhere}(" not in out  # named in a fold, its signature gone
    assert count_tokens(out) < 0.6 * count_tokens(outline)
    assert expand_markers(text, out, ccr_id(text)) == text  # every marker gives back exactly its lines


def test_a_fold_names_each_definition_with_its_first_line():
    out, text = _compress("click_parser.py", Focus(symbols=("_match_short_opt",)))
    rows = text.split("\n")
    for marker in find_markers(out):
        for name, line in re.findall(r"(\w+) (\d+)(?=[,;]| ·)", marker["what"]):
            assert re.search(rf"\b{name}\b", rows[int(line) - 1]), (name, line)


def test_a_method_keeps_its_class_header_and_folds_its_siblings():
    out, text = _compress("click_parser.py", Focus(symbols=("_match_short_opt",)))
    assert "class _OptionParser:" in out
    assert "def _match_long_opt(" not in out and "_match_long_opt 363" in out
    assert "class _Argument:" not in out  # a class the focus does not enter folds whole


def test_code_that_calls_the_focused_function_stays_in_outline():
    out, _ = _compress("click_parser.py", Focus(symbols=("_get_value_from_state",)))
    # _match_long_opt and _match_short_opt call it: their signatures stay, their bodies are markers
    assert "    def _match_long_opt(" in out and "    def _match_short_opt(self, arg: str, state: _ParsingState) -> None:" in out
    assert "def _process_args_for_args(" not in out


def test_a_line_found_in_many_places_points_nowhere():
    """A failing assertion such as ``assert out == (`` appears in many tests: it keeps none of them."""
    tests = "import pytest\n\n\n" + "".join(
        f"def test_case_{i}(runner):\n" + "".join(f"    out = runner.invoke(cli, ['-{k}'])\n"
                                                   "    assert out == (\n        1\n    )\n" for k in range(4)) + "\n\n"
        for i in range(30))
    out, _ = _compress("test_cases.py", Focus(symbols=("test_case_7",), lines=("assert out == (",)), text=tests)
    assert "def test_case_7(" in out and "def test_case_8(" not in out and "def test_case_20(" not in out


def test_a_file_the_focus_does_not_touch_keeps_its_outline():
    out, _ = _compress("click_parser.py", Focus(symbols=("no_such_function_here",)))
    assert not FOLD.search(out)
    assert "    def _match_long_opt(" in out  # the outline: every signature


def test_a_ranged_read_is_not_folded():
    text = (DATA / "click_parser.py").read_text()
    window = "\n".join(text.split("\n")[300:])  # a Read from line 301
    out, _ = _compress("click_parser.py", Focus(symbols=("_match_short_opt",)), first_line=301, text=window)
    assert not FOLD.search(out)


def test_a_traceback_location_alone_keeps_its_function_and_folds_the_rest():
    focus = Focus(locations=(("src/click/parser.py", 405),))
    text = (DATA / "click_parser.py").read_text()
    part = Part(text=text, tool_name="Read", tool_input="/proj/src/click/parser.py", focus=focus)
    result = CodeEngine().compress(part, Context(part_id=ccr_id(text), deadline=deadline_after(5.0), code_min_lines=40))
    assert _lines(text, "    def _match_short_opt(", "    def _get_value_from_state(") in result.text
    assert FOLD.search(result.text)


def test_folding_is_deterministic():
    focus = Focus(symbols=("_match_short_opt",), lines=("raise NoSuchOption(opt, ctx=self.ctx)",))
    assert len({_compress("click_parser.py", focus)[0] for _ in range(3)}) == 1


@pytest.mark.parametrize("name,symbol", [("zlib_gun.c", "gunpipe"), ("jpype_jp_exception.cpp", "tb_create")])
def test_a_fold_never_splits_an_if_block(name, symbol):
    from headroom_cli.engines.code.parsing import conditionals_balance

    out, text = _compress(name, Focus(symbols=(symbol,)))
    rows = text.encode().split(b"\n")
    folds = [m for m in find_markers(out) if FOLD.match(m.group(0))]
    assert folds
    for marker in folds:
        assert conditionals_balance(rows[int(marker["a"]) - 1:int(marker["b"])])
    assert expand_markers(text, out, ccr_id(text)) == text


def test_what_the_focused_function_calls_keeps_its_signature():
    """The agent about to change _match_short_opt will call or read what it calls: those signatures stay."""
    out, text = _compress("click_parser.py", Focus(symbols=("_match_short_opt",)))
    assert "    def _get_value_from_state(" in out  # called by _match_short_opt
    assert _lines(text, "    def _get_value_from_state(", "    def _process_opts(") not in out  # its body is not
    assert "def _process_args_for_args(" not in out  # not called: folded


def test_a_name_defined_in_many_places_is_not_a_focus_where_a_location_is():
    """`convert` is a method of twelve classes: the name alone points at none of them; the traceback's
    line says which one to keep."""
    classes = "".join(
        f"class Type{i}:\n    name = 'type{i}'\n\n    def convert(self, value):\n"
        + "".join(f"        step_{k} = value + {k}  # type {i}\n" for k in range(6)) + "        return value\n\n\n"
        for i in range(12))
    text = "import os\n\n\n" + classes
    line = text.split("\n").index("        step_3 = value + 3  # type 7") + 1
    out, _ = _compress("src/types.py", Focus(symbols=("convert",), locations=(("types.py", line),)), text=text)
    assert "        step_3 = value + 3  # type 7" in out
    assert "        step_3 = value + 3  # type 2" not in out and "        step_3 = value + 3  # type 11" not in out
