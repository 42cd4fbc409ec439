"""The focus: what the whole conversation says the agent works on, and every engine keeping it verbatim."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from headroom_cli.engines import Part
from headroom_cli.focus import MAX_LINES, MAX_SYMBOLS, MAX_TERMS, Event, focus_of
from headroom_cli.pipeline import LOSSY_MIN_TOKENS, Pipeline
from headroom_cli.providers import adapter_for
from headroom_cli.rewrite import rewrite_body
from headroom_cli.tokens import count_tokens

DATA = Path(__file__).parent / "data" / "code"
CAPTURES = Path(__file__).resolve().parents[2] / "shared" / "clients" / "captures"
PARSER = (DATA / "click_parser.py").read_text()

PYTEST_FAILURE = """\
============================= test session starts ==============================
collected 120 items

tests/test_options.py ......F...                                         [100%]

=================================== FAILURES ===================================
_____________________________ test_short_opt_value _____________________________
tests/test_options.py:41: in test_short_opt_value
    result = runner.invoke(cli, ["-x3"])
E   AssertionError: assert 2 == 0
=========================== short test summary info ============================
FAILED tests/test_options.py::test_short_opt_value - AssertionError: assert 2 == 0
========================= 1 failed, 119 passed in 0.52s =========================
"""
TRACEBACK = """\
Traceback (most recent call last):
  File "/proj/src/click/core.py", line 1363, in main
    rv = self.invoke(ctx)
  File "/proj/src/click/parser.py", line 405, in _match_short_opt
    raise NoSuchOption(opt, ctx=self.ctx)
  File "/usr/lib/python3.11/site-packages/other/lib.py", line 12, in helper
    do_something_else()
click.exceptions.NoSuchOption: No such option: -x
"""


def read_format(text: str, first: int = 1) -> str:
    return "".join(f"{n:>6}\t{line}\n" for n, line in enumerate(text.splitlines(), first))


def anthropic_body(steps: list[tuple[str, dict, str]], prompt: str = "fix the failing test") -> dict:
    """A Claude Code shaped conversation: each step is a tool call and the output it got."""
    messages = [{"role": "user", "content": [
        {"type": "text", "text": "<system-reminder>\nmentions unrelated_symbol_name\n</system-reminder>"},
        {"type": "text", "text": prompt}]}]
    for i, (tool, arguments, output) in enumerate(steps):
        messages.append({"role": "assistant", "content": [
            {"type": "tool_use", "id": f"toolu_{i}", "name": tool, "input": arguments}]})
        messages.append({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": f"toolu_{i}", "content": output}]})
    return {"model": "claude-sonnet-4-5", "messages": messages}


def openai_chat_body(steps, prompt: str = "fix the failing test") -> dict:
    messages = [{"role": "user", "content": prompt}]
    for i, (tool, arguments, output) in enumerate(steps):
        messages.append({"role": "assistant", "content": None, "tool_calls": [
            {"id": f"call_{i}", "type": "function", "function": {"name": tool, "arguments": json.dumps(arguments)}}]})
        messages.append({"role": "tool", "tool_call_id": f"call_{i}", "content": output})
    return {"model": "gpt-5", "messages": messages}


def responses_body(steps, prompt: str = "fix the failing test") -> dict:
    items = [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": prompt}]}]
    for i, (tool, arguments, output) in enumerate(steps):
        items.append({"type": "function_call", "call_id": f"c{i}", "name": tool, "arguments": json.dumps(arguments)})
        items.append({"type": "function_call_output", "call_id": f"c{i}", "output": output})
    return {"model": "gpt-5", "input": items}


STEPS = [
    ("Bash", {"command": "python -m pytest -q"}, PYTEST_FAILURE),
    ("Bash", {"command": "python -m click_app -x3"}, TRACEBACK),
    ("Grep", {"pattern": "def _get_value_from_state", "path": "src/click"}, "src/click/parser.py:430"),
    ("Edit", {"file_path": "/proj/src/click/parser.py", "old_string": "            option.process(value, state)\n",
              "new_string": "            option.process(value, state)  # fixed\n"}, "The file was edited."),
]


def test_the_focus_names_failures_frames_patterns_and_edits_in_every_wire_format():
    focuses = [adapter_for("/v1/messages").focus(anthropic_body(STEPS)),
               adapter_for("/v1/chat/completions").focus(openai_chat_body(STEPS)),
               adapter_for("/v1/responses").focus(responses_body(STEPS))]
    assert focuses[0] == focuses[1] == focuses[2]
    focus = focuses[0]
    for symbol in ("test_short_opt_value", "_match_short_opt", "_get_value_from_state", "main"):
        assert symbol in focus.symbols
    assert ("/proj/src/click/parser.py", 405) in focus.locations
    assert ("tests/test_options.py", 41) in focus.locations
    assert not any("site-packages" in path for path, _ in focus.locations)  # a library's frame is not the work
    assert "raise NoSuchOption(opt, ctx=self.ctx)" in focus.lines  # the traceback's source line
    assert "option.process(value, state)" in focus.lines  # the Edit's old_string
    assert "parser.py" in focus.terms and "tests/test_options.py" in focus.terms
    assert "unrelated_symbol_name" not in focus.symbols  # client-injected reminders are not the work
    assert "helper" not in focus.symbols


def test_focus_from_real_client_captures():
    claude = json.loads((CAPTURES / "claude-code_3_bash-error-truncated_and_read-result.json").read_text())["body"]
    focus = adapter_for("/v1/messages").focus(claude)
    assert "big_module.py" in focus.terms  # the file the agent Read
    # A `python3 -c` script's words are not search patterns: only code-like identifiers count.
    assert not {"test", "session", "starts", "passed", "failed"} & set(focus.terms)
    codex = json.loads((CAPTURES / "codex_1_function-call-output.json").read_text())["body"]
    assert "current_date" not in adapter_for("/v1/responses").focus(codex).symbols  # <environment_context>


def test_shell_commands_give_their_search_patterns_and_paths():
    focus = focus_of([Event("call", tool="Bash", arguments={
        "command": "grep -n 'def sync_do_slice\\|def do_slice' src/jinja2/filters.py && find src -name '*.py' | sort;"
                   "rg parse_args lib; python -c 'import x; print(x.foo_bar(3))'; pytest tests/t.py::TestA::test_b"})])
    assert set(focus.symbols) >= {"sync_do_slice", "do_slice", "parse_args", "foo_bar", "test_b"}
    assert "TestA" not in focus.symbols  # a test's class would keep every test of it
    assert "src/jinja2/filters.py" in focus.terms and "filters.py" in focus.terms
    assert not {"def", "src", "sort", "python"} & set(focus.symbols)


def test_the_focus_is_deterministic_and_bounded():
    body = anthropic_body(STEPS)
    adapter = adapter_for("/v1/messages")
    assert adapter.focus(body) == adapter.focus(copy.deepcopy(body)) == adapter.focus(json.loads(json.dumps(body)))
    noisy = [("Bash", {"command": f"grep -n 'name_{i}_x' src/mod_{i}/file_{i}.py"},
              "\n".join(f'  File "src/m{i}_{j}.py", line {j}, in func_{i}_{j}\n    statement_number_{i}_{j}()'
                        for j in range(50))) for i in range(100)]
    focus = adapter.focus(anthropic_body(noisy))
    assert len(focus.symbols) <= MAX_SYMBOLS and len(focus.terms) <= MAX_TERMS and len(focus.lines) <= MAX_LINES
    assert "name_99_x" in focus.symbols and "func_99_0" in focus.symbols  # the newest steps win a place
    assert "name_95_x" in focus.symbols  # and one long output does not take every place


def _rewritten(steps, pipeline=None) -> str:
    """The newest tool output as the pipeline sends it, compressed under the conversation's focus."""
    body = anthropic_body(steps)
    result = rewrite_body(json.dumps(body).encode(), adapter_for("/v1/messages"), pipeline or Pipeline())
    return result.parsed["messages"][-1]["content"][0]["content"]


READ = ("Read", {"file_path": "/proj/src/click/parser.py"}, read_format(PARSER))


def shown(numbered: str, out: str) -> bool:
    """Every non-blank numbered line is in the output, with its number (a blank line's number may go)."""
    return all(f"{line}\n" in out for line in numbered.splitlines() if line.split("\t", 1)[1].strip())


def _body_of(name: str, text: str, following: str) -> str:
    start = text.index(f"    def {name}(")
    return text[start:text.index(f"    def {following}(", start)]


def test_a_whole_file_read_keeps_the_function_the_traceback_names():
    blind = _rewritten([("Bash", {"command": "python -m click_app -x3"}, "exit 2"), READ])
    focused = _rewritten([("Bash", {"command": "python -m click_app -x3"}, TRACEBACK), READ])
    body = read_format(_body_of("_match_short_opt", PARSER, "_get_value_from_state"), 390)
    assert "retrieve hr_" in focused  # still an outline of the rest
    assert shown(body, focused) and not shown(body, blind)
    assert len(focused) < len(READ[2]) * 0.8


def test_a_frame_by_line_number_alone_keeps_its_function():
    """A compiler error or a frame with no function name: the code around its line stays."""
    error = "src/click/parser.py:405:17: error: name 'NoSuchOption' is not defined"
    focused = _rewritten([("Bash", {"command": "mypy src"}, error), READ])
    assert "   405\t                raise NoSuchOption(opt, ctx=self.ctx)\n" in focused


def test_a_failing_tests_body_stays_whole_in_a_read_of_its_file():
    tests = "import pytest\n\n\n" + "".join(
        f"def test_case_{i}(runner):\n" + "".join(f"    value_{k} = runner.invoke(cli, ['-{k}'])\n"
                                                   f"    assert value_{k}.exit_code == {i}\n" for k in range(8)) + "\n\n"
        for i in range(40))
    read = ("Read", {"file_path": "/proj/tests/test_cases.py"}, read_format(tests))
    failed = ("Bash", {"command": "pytest -q"}, "FAILED tests/test_cases.py::test_case_17 - assert 1 == 17\n"
                                                "1 failed, 39 passed in 0.1s\n")
    focused = _rewritten([failed, read])
    blind = _rewritten([("Bash", {"command": "pytest -q"}, "40 passed in 0.1s\n"), read])
    start = tests.index("def test_case_17(")
    body = read_format(tests[start:tests.index("def test_case_18(")], tests[:start].count("\n") + 1)
    assert shown(body, focused) and not shown(body, blind)


def test_a_small_listing_stays_whole():
    paths = "".join(f"./src/pkg/module_{i:02d}/component_{i:02d}.py\n" for i in range(46))
    assert count_tokens(paths) < LOSSY_MIN_TOKENS
    pipeline = Pipeline()
    assert pipeline.run(Part(text=paths, tool_name="Bash", tool_input="find . -name '*.py'")).text == paths
    big = "".join(f"./src/pkg/module_{i:03d}/component_{i:03d}.py\n" for i in range(400))
    assert "retrieve hr_" in pipeline.run(Part(text=big, tool_name="Bash", tool_input="find . -name '*.py'")).text


def test_a_listing_keeps_the_entries_the_focus_names():
    big = "".join(f"./src/pkg/module_{i:03d}/component_{i:03d}.py\n" for i in range(400))
    listing = ("Bash", {"command": "find . -name '*.py'"}, big)
    focused = _rewritten([("Edit", {"file_path": "/proj/src/pkg/module_217/component_217.py", "old_string": "x = 1",
                                    "new_string": "x = 2"}, "ok"), listing])
    assert "./src/pkg/module_217/component_217.py\n" in focused and "retrieve hr_" in focused


def test_pytest_says_how_many_tests_it_collected():
    run = "============================= test session starts ==============================\n" \
          "platform linux -- Python 3.11.9, pytest-8.3.4, pluggy-1.5.0 -- /usr/bin/python\n" \
          "cachedir: .pytest_cache\nrootdir: /proj\nconfigfile: pyproject.toml\n" \
          "collecting ... collected 909 items\n\n" + \
          "".join(f"tests/test_mod.py::test_case_{i} PASSED{' ' * 30}[{i * 100 // 909:3d}%]\n" for i in range(909)) + \
          "\n============================= 909 passed in 3.21s ==============================\n"
    out = Pipeline().run(Part(text=run, tool_name="Bash", tool_input="pytest -v")).text
    assert "collecting ... collected 909 items\n" in out and "retrieve hr_" in out


def test_the_focus_at_first_sight_is_what_counts():
    """A part first compressed without a focus keeps that output when a later request names its code."""
    pipeline = Pipeline()
    first = _rewritten([("Bash", {"command": "python -m click_app -x3"}, "exit 2"), READ], pipeline)
    later_body = anthropic_body([("Bash", {"command": "python -m click_app -x3"}, "exit 2"), READ,
                                 ("Bash", {"command": "python -m click_app -x3"}, TRACEBACK)])
    later = rewrite_body(json.dumps(later_body).encode(), adapter_for("/v1/messages"), pipeline)
    assert later.parsed["messages"][4]["content"][0]["content"] == first


def test_a_traceback_the_user_pasted_counts():
    focus = adapter_for("/v1/chat/completions").focus(openai_chat_body([], prompt="I get this:\n" + TRACEBACK))
    assert "_match_short_opt" in focus.symbols and ("/proj/src/click/parser.py", 405) in focus.locations


def test_the_focus_is_read_only_when_a_part_is_decided_now():
    """Reading a long conversation costs milliseconds: a request whose parts all replay earlier
    decisions (every request after the first, mostly) does not read it at all."""
    class Counting:
        def __init__(self, adapter):
            self.adapter, self.calls = adapter, 0

        def __getattr__(self, name):
            return getattr(self.adapter, name)

        def focus(self, body):
            self.calls += 1
            return self.adapter.focus(body)

    raw = json.dumps(anthropic_body(STEPS + [READ])).encode()
    pipeline, adapter = Pipeline(), Counting(adapter_for("/v1/messages"))
    first = rewrite_body(raw, adapter, pipeline)
    assert adapter.calls == 1 and first.changed
    again = rewrite_body(raw, adapter, pipeline)
    assert adapter.calls == 1 and again.body == first.body


def test_a_frame_in_an_installed_package_points_into_a_read_of_its_source():
    """A user pastes a traceback from the installed click while the agent works on click's checkout: the
    frame's line still says which function to keep whole, after the project's own frames."""
    installed = TRACEBACK.replace("/proj/src/click/parser.py", "/venv/lib/python3.11/site-packages/click/parser.py")
    focus = focus_of([Event("user", installed)])
    assert ("click/parser.py", 405) in focus.locations
    assert focus.locations.index(("click/parser.py", 405)) > focus.locations.index(("/proj/src/click/core.py", 1363))
    assert "click/parser.py" not in focus.terms  # an installed path names no file of the project's
    focused = _rewritten([("Bash", {"command": "python -m click_app -x3"}, installed), READ])
    body = read_format(_body_of("_match_short_opt", PARSER, "_get_value_from_state"), 390)
    assert shown(body, focused)
