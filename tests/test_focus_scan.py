"""focus.py reads a big test log by scanning only the lines that can matter; what it finds must be
exactly what a scan of every line finds (the focus steers which lines a lossy engine keeps)."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from headroom_cli import focus
from samples import pytest_verbose_log

DATA = Path(__file__).resolve().parent / "data"


# _PYTEST_ID as it was written first, with a lazy test name: focus.py's greedy one must match the same.
_LAZY_ID = re.compile(r"(?:^|\s)((?:[\w.\-]+/)*[\w.\-]+\.py)::([\w:]+?)(?:\[[^\]\s]*\])?(?=\s|$|\s-)", re.M)


def _failed_near(text: str, match: re.Match) -> bool:
    """A test id on a line that says it failed or errored: the line the match starts on (the one before,
    when it starts with a newline) up to the end of the line it ends on."""
    start = text.rfind("\n", 0, match.start()) + 1
    end = text.find("\n", match.end())
    line = text[start:end if end >= 0 else len(text)]
    return any(word in line for word in focus._FAIL_WORDS)


def _every_line(text: str) -> list[tuple[int, int, tuple]]:
    """The reference: every _PYTEST_ID match, filtered by _failed_near."""
    return [(m.start(), m.end(), m.groups()) for m in _LAZY_ID.finditer(text) if _failed_near(text, m)]


def _texts() -> list[str]:
    rng = random.Random(7)
    pieces = ["tests/test_a.py::test_one", "pkg/mod.py::Cls::test_two[x-1]", " PASSED", " FAILED", " ERROR",
              " Error", " failed", "FAIL", "\n", "\n\n", "  ", "\t", " - AssertionError", "src/x.c:12: error: boom",
              "lib.rs:3:4: warning: w", "a.py:9: in f", "::", "[", "]", "-", "x", "\r\n",
              ">", "> ", ">   assert f(x) == 2", "at ", "    at run (src/app.js:12:5)", " at async A.b (x/y.ts:3)",
              "a.js:4", "src/m.py:7: ValueError", "b.py:1: KeyError: 'k'", "Exception", ": in ", "\u2028", "é"]
    texts = [pytest_verbose_log(300, seed) for seed in range(3)]
    for _ in range(300):
        texts.append("".join(rng.choice(pieces) for _ in range(rng.randint(1, 80))))
    texts += [p.read_text("utf-8", "replace") for p in sorted(DATA.rglob("*.txt"))[:30] + sorted(DATA.rglob("*.log"))[:30]]
    return texts


@pytest.mark.parametrize("text", _texts())
def test_the_narrow_scans_find_what_a_scan_of_every_line_finds(text):
    assert [(m.start(), m.end(), m.groups()) for m in focus.failed_test_ids(text)] == _every_line(text)
    assert (focus._COMPILER.findall(focus._lines_with(text, ("error", "warning")))
            == focus._COMPILER.findall(text))
    assert focus._pytest_locations(text) == focus._PYTEST_LOC.findall(text)
    assert focus._js_frames(text) == focus._JS_FRAME.findall(text)
    assert focus._fail_lines(text) == focus._FAIL_LINE.findall(text)
