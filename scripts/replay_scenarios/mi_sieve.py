"""Session-replay scenario: more-itertools 10.5.0's sieve() yields squares of primes, fixed from an issue.

The format is ../shared/session_replay/scenario.py's. This session differs from the other two: it starts
from an issue the user pastes (no traceback, a wrong value), and the project runs its tests with unittest
(as its tox.ini says) and doctests, not pytest. The agent reads the config, reproduces, searches a name
with many hits, reads a long module and a long test module whole, runs the test module quietly and
verbosely, digs in git, compares the sibling code, edits, re-runs.

fetch() downloads once, with pip, into .cache/replays/more-itertools (git-ignored): the PyPI sdist (its
sha256 checked); the tests need nothing else. prepare(work) never touches the network and lays out:
- work/pyenv: a virtual environment with the project on its path;
- work/more-itertools: the sdist as a git repository with four commits at fixed dates:
    1. "Import more-itertools 10.5.0"               the sdist as released, plus a .gitignore
    2. "recipes: stop the sieve's outer loop at isqrt(n)"   THE BUG: the outer loop of sieve() stops one
       prime early, so when isqrt(n) is prime its square stays in (sieve(30) yields 25). Fails
       tests.test_recipes.SieveTests.test_prime_counts (n=1000) and sieve's doctest (2 of 817 tests)
    3. "recipes: show sieve's empty case"            a doctest line in sieve (moves its body down)
    4. "docs: start 10.5.1"                          unrelated
"""
from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))
import _common as c  # noqa: E402

CACHE = c.CACHE / "more-itertools"
NAME = "more-itertools"  # the project's folder under the work directory
SDIST_SPEC, SDIST_DIR = "more-itertools==10.5.0", "more-itertools-10.5.0"
SDIST = CACHE / "more-itertools-10.5.0.tar.gz"
SDIST_SHA256 = "5482bfef7849c25dc3c6dd53a6173ae4795da2a41a80faea6700d9f5846c5da6"
REQUIREMENTS: list[str] = []  # unittest and doctest: the standard library
DESCRIPTION = "more-itertools 10.5.0, sieve() keeps a prime's square (2 of 817 unittest tests fail)"
TITLE = "Fix sieve yielding squares of primes"

T0 = 1725494400  # 2024-09-05 00:00 UTC, the day 10.5.0 was released
DAY = 86400
AUTHOR = ("Mira Castell", "mira@example.com")

GOOD = "    limit = math.isqrt(n) + 1\n"
BAD = "    limit = math.isqrt(n)\n"
DOC_OLD = """    >>> list(sieve(30))
    [2, 3, 5, 7, 11, 13, 17, 19, 23, 29]
    \"\"\""""
DOC_NEW = """    >>> list(sieve(30))
    [2, 3, 5, 7, 11, 13, 17, 19, 23, 29]
    >>> list(sieve(2))
    []
    \"\"\""""
VERSIONS_OLD = "10.5.0\n------\n"
VERSIONS_NEW = "10.5.1 (unreleased)\n-------------------\n\n10.5.0\n------\n"

PROMPT = """can you fix this issue from our tracker?

> **sieve() yields squares of primes**
>
> Since the last update, `sieve` sometimes returns a composite number:
>
> ```
> >>> from more_itertools import sieve
> >>> list(sieve(30))
> [2, 3, 5, 7, 11, 13, 17, 19, 23, 25, 29]
> >>> list(sieve(50))[-3:]
> [43, 47, 49]
> ```
>
> 25 and 49 are not prime. `list(sieve(100))` looks right. `factor()` still seems fine."""


def fetch() -> None:
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
    git("commit", "-q", "-m", "Import more-itertools 10.5.0", date=T0)
    recipes = root / "more_itertools" / "recipes.py"
    c.replace_once(recipes, GOOD, BAD)
    git("commit", "-q", "-am", "recipes: stop the sieve's outer loop at isqrt(n)", date=T0 + 3 * DAY + 16 * 3600)
    c.replace_once(recipes, DOC_OLD, DOC_NEW)
    git("commit", "-q", "-am", "recipes: show sieve's empty case", date=T0 + 3 * DAY + 17 * 3600)
    c.replace_once(root / "docs" / "versions.rst", VERSIONS_OLD, VERSIONS_NEW)
    git("commit", "-q", "-am", "docs: start 10.5.1", date=T0 + 6 * DAY + 11 * 3600)
    c.fix_mtimes(root, T0, {"more_itertools/recipes.py": T0 + 3 * DAY + 17 * 3600,
                            "docs/versions.rst": T0 + 6 * DAY + 11 * 3600})
    git("update-index", "--refresh")
    return root


def prepare(work: Path) -> Path:
    if not fetched():
        raise RuntimeError(f"no {SDIST}: run `scripts/session_replays.py --fetch` first")
    work.mkdir(parents=True, exist_ok=True)
    c.make_pyenv(work, CACHE / "wheels", REQUIREMENTS, work / NAME)
    return make_project(work)


# ---------------------------------------------------------------------------------------------
# The session.

EDIT_OLD = "    data = bytearray((0, 1)) * (n // 2)\n" + BAD + "    for p in iter_index(data, 1, start, limit):\n"
EDIT_NEW = "    data = bytearray((0, 1)) * (n // 2)\n" + GOOD + "    for p in iter_index(data, 1, start, limit):\n"
FIXED_DIFF_LINE = "+" + GOOD.rstrip("\n")
REPRO = "python -c \"from more_itertools import sieve; print(list(sieve(30))); print(list(sieve(50))[-3:])\""
CHECK = ("python -c \"import math, more_itertools as mi; "
         "print([n for n in range(2, 200) if any(x > 3 and math.isqrt(x) ** 2 == x for x in mi.sieve(n))])\"")

FINAL = (
    "Fixed. `sieve()` (more_itertools/recipes.py) stopped its outer loop at `limit = math.isqrt(n)`, and "
    "`iter_index(data, 1, start, limit)` excludes `limit`, so when `isqrt(n)` is itself prime (5 for n=30, 7 "
    "for n=50) its multiples were never struck out and its square was yielded as a prime. Commit "
    "\"recipes: stop the sieve's outer loop at isqrt(n)\" dropped the `+ 1`; I put it back, as `factor()` "
    "has it (`sieve(math.isqrt(n) + 1)`). `list(sieve(30))` is `[2, 3, 5, 7, 11, 13, 17, 19, 23, 29]` again; "
    "`SieveTests.test_prime_counts` and the doctest pass, and so does the whole suite (817 tests)."
)


def steps(root: str) -> list[dict]:
    r = root.rstrip("/")
    bash = c.bash

    def read(path: str, say: str, offset: int | None = None, limit: int | None = None) -> dict:
        return c.read(r, path, say, offset, limit)

    return [
        bash("git log --oneline -8 && git status --short", "Show recent commits and the working tree",
             "Let me look at the repository first."),
        bash("cat tox.ini && ls", "Show how the tests run", "How does this project run its tests?"),
        bash(REPRO, "Reproduce the issue", "Reproducing the issue's example."),
        bash("grep -rn 'sieve' --include='*.py' --include='*.rst' .", "Find every use of sieve",
             "Reproduced: 25 and 49. Where is sieve defined and used?"),
        read("more_itertools/recipes.py", "Reading recipes.py, where sieve is defined."),
        bash("python -m unittest tests.test_recipes", "Run the recipe tests",
             "The loop bound looks suspicious. Running the recipe tests."),
        read("tests/test_recipes.py", "Reading the recipe tests."),
        bash("python -m unittest -v tests.test_recipes", "Run the recipe tests verbosely",
             "Which sieve tests pass and which fail?"),
        read("more_itertools/recipes.py", "How does iter_index treat its stop argument?", offset=879, limit=45),
        bash("git log --stat -5 -- more_itertools/recipes.py", "Recent commits that touched recipes.py",
             "Did a recent commit touch recipes.py?"),
        bash("git log -p -2 -- more_itertools/recipes.py", "Show the last two changes to recipes.py",
             "Two recent commits changed it. Let me see their diffs."),
        bash("git blame -L 924,941 more_itertools/recipes.py", "Blame the body of sieve",
             "Which commit wrote each line of sieve?"),
        bash("grep -n 'isqrt' more_itertools/*.py", "Find the other square-root bounds",
             "How do the other recipes bound their loops by the square root?"),
        bash(CHECK, "Find every n below 200 for which sieve yields a square",
             "Which n are affected? The issue says sieve(100) looks right."),
        bash("find . -path ./.git -prune -o -type f -print | sort", "List the project's files",
             "Let me see the whole layout."),
        bash("wc -l more_itertools/*.py tests/*.py", "Count lines per module", "Getting a sense of module sizes."),
        bash("sed -n 1,40p docs/versions.rst", "Show the top of the changelog",
             "How does the project record fixes?"),
        bash("python -m pip list --format=json", "List installed packages as JSON",
             "Which packages does this environment have?"),
        c.edit(r, "more_itertools/recipes.py", EDIT_OLD, EDIT_NEW,
               "iter_index stops before limit, so limit must be isqrt(n) + 1, as in factor. Putting it back."),
        bash(REPRO, "Reproduce again", "The issue's example again."),
        bash(CHECK, "Check every n below 200 again", "And every n below 200."),
        bash("python -m unittest tests.test_recipes", "Run the recipe tests again", "Re-running the recipe tests."),
        bash("python -m unittest", "Run the whole test suite", "Now the whole suite."),
        bash("git diff", "Show the change", "Let me review the diff."),
        bash("git status --short && git diff --stat", "Summarise working tree changes",
             "Final check of the working tree."),
    ]


# What the model needs: (name, step whose output carries it, fixed string). Each is a fact the agent
# uses in a later step (named after "->"), as that output showed it; none is chosen for where Headroom
# happens to keep text. Each one is in what Claude Code sends without Headroom (run A).
NEEDLES: list[tuple[str, int, str]] = [
    ("git log: the suspect commit -> git log -p", 0, "7ecd217 recipes: stop the sieve's outer loop at isqrt(n)"),
    ("tox.ini: how tests run -> python -m unittest", 1, "commands = {envpython} -m unittest -v {posargs}"),
    ("repro: the wrong result -> compared after the fix", 2, "[2, 3, 5, 7, 11, 13, 17, 19, 23, 25, 29]"),
    ("grep: the definition -> Read recipes.py", 3, "more_itertools/recipes.py:922:def sieve(n):"),
    ("grep: factor's bound -> final answer", 3, "more_itertools/recipes.py:1016:    for prime in sieve(math.isqrt(n) + 1):"),
    ("Read recipes.py (whole): line 933 of the Edit's old_string", 4, "933\t    data = bytearray((0, 1)) * (n // 2)"),
    ("Read recipes.py (whole): line 934, changed by the Edit", 4, "934\t    limit = math.isqrt(n)"),
    ("Read recipes.py (whole): line 935 of the Edit's old_string", 4,
     "935\t    for p in iter_index(data, 1, start, limit):"),
    ("Read recipes.py (whole): iter_index's line -> Read 879", 4,
     "879\tdef iter_index(iterable, value, start=0, stop=None):"),
    ("unittest: the failing test -> Read test_recipes.py", 5,
     "FAIL: test_prime_counts (tests.test_recipes.SieveTests.test_prime_counts) (n=1000)"),
    ("unittest: the count it got", 5, "AssertionError: 169 != 168"),
    ("unittest: the failing doctest", 5, "FAIL: sieve (more_itertools.recipes)"),
    ("unittest: the doctest's wrong output", 5, "    [2, 3, 5, 7, 11, 13, 17, 19, 23, 25, 29]"),
    ("unittest: summary -> compared after the fix", 5, "FAILED (failures=2, skipped=1)"),
    ("Read test_recipes.py (whole): the failing case", 6, "1011\t            (1_000, 168),"),
    ("Read test_recipes.py (whole): the failing assertion", 6,
     "1017\t                self.assertEqual(mi.ilen(mi.sieve(n)), expected)"),
    ("unittest -v: the failing test", 7,
     "FAIL: test_prime_counts (tests.test_recipes.SieveTests.test_prime_counts) (n=1000)"),
    ("Read recipes.py 879-923: stop is exclusive -> the Edit", 8,
     "888\t    >>> list(iter_index('AABCADEAF', 'A', 1, 7))  # stop index is not inclusive"),
    ("git log --stat: the suspect commit", 9, "commit 7ecd2175fe795b1084d5106c45209d545c26c89d"),
    ("git log -p: the removed line -> the Edit's new_string", 10, "-    limit = math.isqrt(n) + 1"),
    ("git blame: the line's commit", 11,
     "7ecd2175 (Mira Castell 2024-09-08 16:00:00 +0000 934)     limit = math.isqrt(n)"),
    ("grep isqrt: factor's bound -> the Edit", 12, "more_itertools/recipes.py:1016:    for prime in sieve(math.isqrt(n) + 1):"),
    ("check: the affected n -> compared after the fix", 13, "[10, 11, 12, 13, 14, 15, 26, 27,"),
    ("find: the module at hand", 14, "./more_itertools/recipes.py"),
    ("find: its tests", 14, "./tests/test_recipes.py"),
    ("wc: recipes.py line count", 15, "1077 more_itertools/recipes.py"),
    ("repro after the fix -> final answer", 19, "[2, 3, 5, 7, 11, 13, 17, 19, 23, 29]"),
    ("recipe tests re-run: summary", 21, "Ran 176 tests"),
    ("whole suite: summary -> final answer", 22, "Ran 817 tests"),
    ("git diff: the added line", 23, "+    limit = math.isqrt(n) + 1"),
]
