"""Session-replay scenario: a crash in click 8.1.7's Choice type, fixed from a user's traceback.

The format is ../shared/session_replay/scenario.py's (run.py, analyse.py and mock_model.py read NAME,
DESCRIPTION, SDIST, PROMPT, TITLE, FINAL, FIXED_DIFF_LINE, NEEDLES, steps(root) and prepare(work)).
Unlike that session (whole test suite first, then reading), this one starts from a traceback the user
pastes, as most bug reports do: the agent greps for the message, reads the whole module, reproduces,
runs the tests around the symbol, reads the tests, digs in git, checks its sibling code, edits, re-runs.

fetch() downloads once, with pip, into .cache/replays/click (git-ignored): click 8.1.7's PyPI sdist (its
sha256 checked) and the wheels of pytest 8.3.4 and its dependencies. prepare(work) never touches the
network and lays out:
- work/pyenv: a virtual environment with pytest, and the project's src/ on its path;
- work/click: the sdist as a git repository with four commits at fixed dates (same hashes every run):
    1. "Import click 8.1.7"                          the sdist as released, plus a .gitignore
    2. "types: build the Choice message in one call" THE BUG: Choice.convert formats its plural
       message without the `choices` key, so any invalid choice among several raises KeyError
       instead of a usage error. Fails tests/test_basic.py::test_choice_option,
       tests/test_basic.py::test_choice_argument and tests/test_options.py::test_case_insensitive_choice
    3. "types: say how Choice reports a bad value"   a docstring change in Choice (moves convert down)
    4. "changes: start 8.1.8"                         unrelated
"""
from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))
import _common as c  # noqa: E402

CACHE = c.CACHE / "click"
NAME = "click"  # the project's folder under the work directory
SDIST_SPEC, SDIST_DIR = "click==8.1.7", "click-8.1.7"
SDIST = CACHE / "click-8.1.7.tar.gz"
SDIST_SHA256 = "ca9853ad459e787e2192211578cc907e7594e294c7ccc834310722b41b9ca6de"
REQUIREMENTS = ["pytest==8.3.4", "iniconfig==2.0.0", "packaging==24.2", "pluggy==1.5.0"]
DESCRIPTION = "click 8.1.7, Choice crashes with KeyError on a bad value (3 of 611 tests fail)"
TITLE = "Fix Choice KeyError on invalid value"

T0 = 1692230400  # 2023-08-17 00:00 UTC, the day click 8.1.7 was released
DAY = 86400
AUTHOR = ("Sam Okafor", "sam@example.com")

GOOD = "            ).format(value=value, choice=choices_str, choices=choices_str),\n"
BAD = "            ).format(value=value, choice=choices_str),\n"
DOC_OLD = """    :param case_sensitive: Set to false to make choices case
        insensitive. Defaults to true.
    \"\"\""""
DOC_NEW = """    :param case_sensitive: Set to false to make choices case
        insensitive. Defaults to true.

    An invalid value fails with a usage error that lists every
    choice, so keep the list short enough to read.
    \"\"\""""
CHANGES_OLD = ".. currentmodule:: click\n\n"
CHANGES_NEW = ".. currentmodule:: click\n\nVersion 8.1.8\n-------------\n\nUnreleased\n\n\n"

# The user's report: what their installed click printed (same line numbers as the buggy checkout).
PROMPT = """my CLI crashes instead of printing a usage error when I pass a wrong --color:

$ palette --color purple
Traceback (most recent call last):
  File "/home/dana/palette/.venv/bin/palette", line 8, in <module>
    sys.exit(main())
             ^^^^^^
  File "/home/dana/palette/.venv/lib/python3.12/site-packages/click/core.py", line 1157, in __call__
    return self.main(*args, **kwargs)
           ^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "/home/dana/palette/.venv/lib/python3.12/site-packages/click/core.py", line 1077, in main
    with self.make_context(prog_name, args, **extra) as ctx:
         ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "/home/dana/palette/.venv/lib/python3.12/site-packages/click/core.py", line 943, in make_context
    self.parse_args(ctx, args)
  File "/home/dana/palette/.venv/lib/python3.12/site-packages/click/core.py", line 1408, in parse_args
    value, args = param.handle_parse_result(ctx, opts, args)
                  ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "/home/dana/palette/.venv/lib/python3.12/site-packages/click/core.py", line 2400, in handle_parse_result
    value = self.process_value(ctx, value)
            ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "/home/dana/palette/.venv/lib/python3.12/site-packages/click/core.py", line 2356, in process_value
    value = self.type_cast_value(ctx, value)
            ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "/home/dana/palette/.venv/lib/python3.12/site-packages/click/core.py", line 2344, in type_cast_value
    return convert(value)
           ^^^^^^^^^^^^^^
  File "/home/dana/palette/.venv/lib/python3.12/site-packages/click/core.py", line 2316, in convert
    return self.type(value, param=self, ctx=ctx)
           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "/home/dana/palette/.venv/lib/python3.12/site-packages/click/types.py", line 83, in __call__
    return self.convert(value, param, ctx)
           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "/home/dana/palette/.venv/lib/python3.12/site-packages/click/types.py", line 304, in convert
    ).format(value=value, choice=choices_str),
      ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
KeyError: 'choices'

the option is `@click.option("--color", type=click.Choice(["red", "green", "blue"]))`. this checkout is the \
click we install from; please fix it here."""


def fetch() -> None:
    """Download the sdist and the test wheels once (the only step that uses the network)."""
    c.fetch(CACHE, SDIST_SPEC, SDIST.name, SDIST_SHA256, REQUIREMENTS)


def fetched() -> bool:
    return c.fetched(CACHE, SDIST.name, REQUIREMENTS)


def make_project(work: Path) -> Path:
    root = work / NAME
    c.unpack(SDIST, SDIST_DIR, root)
    (root / ".gitignore").write_text(c.GITIGNORE)

    def git(*args: str, date: int | None = None) -> str:
        return c.git(root, AUTHOR, *args, date=date)

    git("init", "-q", "-b", "main")
    git("add", "-A")
    git("commit", "-q", "-m", "Import click 8.1.7", date=T0)
    types_py = root / "src" / "click" / "types.py"
    c.replace_once(types_py, GOOD, BAD)
    git("commit", "-q", "-am", "types: build the Choice message in one call", date=T0 + 5 * DAY + 10 * 3600)
    c.replace_once(types_py, DOC_OLD, DOC_NEW)
    git("commit", "-q", "-am", "types: say how Choice reports a bad value", date=T0 + 5 * DAY + 14 * 3600)
    c.replace_once(root / "CHANGES.rst", CHANGES_OLD, CHANGES_NEW)
    git("commit", "-q", "-am", "changes: start 8.1.8", date=T0 + 7 * DAY + 9 * 3600)
    c.fix_mtimes(root, T0, {"src/click/types.py": T0 + 5 * DAY + 14 * 3600, "CHANGES.rst": T0 + 7 * DAY + 9 * 3600})
    git("update-index", "--refresh")
    return root


def prepare(work: Path) -> Path:
    if not fetched():
        raise RuntimeError(f"no {SDIST} or its wheels: run `scripts/session_replays.py --fetch` first")
    work.mkdir(parents=True, exist_ok=True)
    c.make_pyenv(work, CACHE / "wheels", REQUIREMENTS, work / NAME / "src")
    return make_project(work)


# ---------------------------------------------------------------------------------------------
# The session.

EDIT_OLD = "                len(self.choices),\n" + BAD + "            param,\n"
EDIT_NEW = "                len(self.choices),\n" + GOOD + "            param,\n"
CHANGES_EDIT_OLD = "Version 8.1.8\n-------------\n\nUnreleased\n"
CHANGES_EDIT_NEW = CHANGES_EDIT_OLD + ("\n-   ``Choice`` reports an invalid value among several choices as a usage "
                                       "error again\n    instead of raising ``KeyError``.\n")
FIXED_DIFF_LINE = "+" + GOOD.rstrip("\n")  # in `git diff` once fixed
BAD_LINE = 304  # the line of BAD in the checkout (and in the user's traceback)
REPRO = "python -c \"import click; click.Choice(['red', 'green', 'blue']).convert('purple', None, None)\""

FINAL = (
    "Fixed. `Choice.convert` (src/click/types.py, line 304) formatted its plural message "
    "`\"{value!r} is not one of {choices}.\"` with only `value` and `choice`, so any bad value among several "
    "choices raised `KeyError: 'choices'` instead of the usage error. Commit \"types: build the Choice message "
    "in one call\" dropped the `choices=choices_str` argument; I put it back and noted it in CHANGES.rst. The three failing tests "
    "(`tests/test_basic.py::test_choice_option`, `tests/test_basic.py::test_choice_argument`, "
    "`tests/test_options.py::test_case_insensitive_choice`) pass, and so does the whole suite. Your CLI now "
    "prints `Error: Invalid value for '--color': 'purple' is not one of 'red', 'green', 'blue'.`"
)


def steps(root: str) -> list[dict]:
    r = root.rstrip("/")
    bash = c.bash

    def read(path: str, say: str, offset: int | None = None, limit: int | None = None) -> dict:
        return c.read(r, path, say, offset, limit)

    return [
        bash("git status --short && git log --oneline -6", "Show repository state and recent commits",
             "The traceback ends in Choice.convert in types.py. Let me look at the repository first."),
        bash("grep -rn 'is not one of' src/click", "Find where the Choice message is built",
             "Where is the message with the `choices` placeholder built?"),
        read("src/click/types.py", "Reading types.py, where Choice is defined."),
        bash(REPRO, "Reproduce the KeyError directly", "Let me reproduce it without a command around it."),
        bash("python -m pytest tests -q -k choice", "Run the tests about choices",
             "Reproduced. Which tests about choices fail?"),
        read("tests/test_basic.py", "Reading test_basic.py, where two of the failing tests are."),
        bash("python -m pytest tests/test_options.py -v", "Run the option tests verbosely",
             "And the case-insensitive one, with the rest of the option tests."),
        read("tests/test_options.py", "Looking at test_case_insensitive_choice.", offset=530, limit=30),
        bash("git log --oneline -5 -- src/click/types.py", "Recent commits that touched types.py",
             "Did a recent commit touch types.py?"),
        bash("git show 9cff496 -- src/click/types.py", "Show the commit that changed the Choice message",
             "The Choice message commit is the suspect. Let me see its diff."),
        bash("git blame -L 296,308 src/click/types.py", "Blame the message in Choice.convert",
             "Which commit wrote each line of the message?"),
        bash("grep -n -A4 'ngettext(' src/click/*.py", "Find the other plural messages",
             "Do the other plural messages pass every placeholder they use?"),
        read("src/click/types.py", "Checking Tuple.convert's message, the other one in this module.",
             offset=984, limit=18),
        bash("grep -rn 'is not one of' tests/", "Find the tests that check the message",
             "Which tests check the exact wording?"),
        bash("find src tests -type f -name '*.py' | sort", "List the Python files",
             "Let me see the layout of the sources and tests."),
        bash("wc -l src/click/*.py tests/*.py", "Count lines per module", "Getting a sense of module sizes."),
        bash("cat tox.ini requirements/tests.txt", "Show the test configuration and pins",
             "How does the project run its tests?"),
        c.edit(r, "src/click/types.py", EDIT_OLD, EDIT_NEW,
               "The plural message uses {choices}, so format must get choices too. Putting it back."),
        read("CHANGES.rst", "The project keeps a changelog. Where does the entry go?", limit=12),
        c.edit(r, "CHANGES.rst", CHANGES_EDIT_OLD, CHANGES_EDIT_NEW,
               "Adding a changelog entry under the unreleased version."),
        bash(REPRO, "Reproduce again", "Does the direct call give the usage error now?"),
        bash("python -m pytest tests -q -k choice", "Run the tests about choices again",
             "Re-running the choice tests."),
        bash("python -m pytest -q", "Run the whole test suite", "Now the whole suite."),
        bash("git diff", "Show the change", "Let me review the diff."),
        bash("git status --short && git diff --stat", "Summarise working tree changes",
             "Final check of the working tree."),
    ]


# What the model needs: (name, step whose output carries it, fixed string). Each is a fact the agent
# uses in a later step (named after "->"), as that output showed it; none is chosen for where Headroom
# happens to keep text. Each one is in what Claude Code sends without Headroom (run A).
NEEDLES: list[tuple[str, int, str]] = [
    ("git log: the suspect commit -> git show 9cff496", 0, "9cff496 types: build the Choice message in one call"),
    ("grep src: where the message is built -> Read types.py", 1,
     'src/click/types.py:302:                "{value!r} is not one of {choices}.",'),
    ("Read types.py (whole): the plural message -> final answer", 2,
     '302\t                "{value!r} is not one of {choices}.",'),
    ("Read types.py (whole): line 303 of the Edit's old_string", 2, "303\t                len(self.choices),"),
    ("Read types.py (whole): line 304, changed by the Edit", 2,
     "304\t            ).format(value=value, choice=choices_str),"),
    ("repro: the frame -> line 304", 3, 'src/click/types.py", line 304, in convert'),
    ("repro: the exception -> final answer", 3, "KeyError: 'choices'"),
    ("-k choice: failing test id -> Read test_basic.py", 4,
     "FAILED tests/test_basic.py::test_choice_option - AssertionError: assert 1 == 2"),
    ("-k choice: failing test id -> run test_options.py", 4,
     "FAILED tests/test_options.py::test_case_insensitive_choice - AssertionError"),
    ("-k choice: what the test saw -> the exit code 1 is the KeyError", 4,
     "E        +  where 1 = <Result KeyError('choices')>.exit_code"),
    ("-k choice: summary -> compared after the fix", 4, "3 failed, 10 passed, 598 deselected"),
    ("Read test_basic.py (whole): the expected message -> final answer", 5,
     "377\t        \"Invalid value for '--method': 'meh' is not one of 'foo', 'bar', 'baz'.\""),
    ("options -v run: the FAILED line", 6, "tests/test_options.py::test_case_insensitive_choice FAILED"),
    ("options -v run: failure location -> Read test_options.py 530", 6, "tests/test_options.py:554: AssertionError"),
    ("Read test_options.py 530-559: the failing call", 7, '553\t    result = runner.invoke(cmd2, ["--foo", "apple"])'),
    ("git log types.py: the suspect commit -> git show", 8, "9cff496 types: build the Choice message in one call"),
    ("git show: the removed line -> the Edit's new_string", 9,
     "-            ).format(value=value, choice=choices_str, choices=choices_str),"),
    ("git blame: the line's commit", 10,
     "9cff4963 (Sam Okafor 2023-08-22 10:00:00 +0000 304)             ).format(value=value, choice=choices_str),"),
    ("grep ngettext: Tuple's message -> Read types.py 984", 11, "src/click/types.py:990:                ngettext("),
    ("Read types.py 984-1001: Tuple formats both keys", 12,
     "994\t                ).format(len_type=len_type, len_value=len_value),"),
    ("grep tests: the second expected message", 13,
     "tests/test_basic.py:398:        \"Invalid value for '{foo|bar|baz}': 'meh' is not one of 'foo',\""),
    ("find: the module at hand", 14, "src/click/types.py"),
    ("find: the test module of the third failure", 14, "tests/test_options.py"),
    ("wc: types.py line count", 15, "1092 src/click/types.py"),
    ("Read CHANGES.rst 1-12: the Edit's old_string", 18, "6\tUnreleased"),
    ("repro after the fix: the usage error -> final answer", 20,
     "click.exceptions.BadParameter: 'purple' is not one of 'red', 'green', 'blue'."),
    ("-k choice re-run: summary", 21, "13 passed, 598 deselected"),
    ("whole suite: summary", 22, "589 passed, 21 skipped, 1 xfailed"),
    ("git diff: the added line", 23, "+            ).format(value=value, choice=choices_str, choices=choices_str),"),
]
