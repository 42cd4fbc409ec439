"""The code blocks of README.md and docs/: which run in the tests, and how they are read.

A ```python or ```sh block runs unless the line right before its fence is
``<!-- not run: REASON -->`` (a real client, a key, the network, a command that never exits).
A page's Python blocks run as one script, top to bottom, as a reader would paste them; so do its
shell blocks. Other blocks (toml, text, ts: the TypeScript ones run in npm/test) are not run here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RUNNABLE = ("python", "sh")
NOT_RUN = re.compile(r"<!-- not run: (?P<reason>[^>]*\S[^>]*) -->")
FENCE = re.compile(r"^```(?P<lang>[\w-]*)\n(?P<code>.*?)^```$", re.M | re.S)


@dataclass(frozen=True)
class Block:
    page: Path
    lang: str
    code: str
    line: int  # of the opening fence, 1-based
    not_run: str | None  # the reason, when marked not run


def pages() -> list[Path]:
    """README.md and every page under docs/."""
    return [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]


def blocks(page: Path) -> list[Block]:
    text = page.read_text(encoding="utf-8")
    found = []
    for m in FENCE.finditer(text):
        line = text.count("\n", 0, m.start()) + 1
        before = text[:m.start()].rstrip("\n").rsplit("\n", 1)[-1]
        reason = NOT_RUN.fullmatch(before.strip())
        found.append(Block(page, m["lang"], m["code"], line, reason["reason"] if reason else None))
    return found


def script(page: Path, lang: str) -> str:
    """The page's runnable blocks of one language, joined in order: what the test runs."""
    return "\n".join(b.code for b in blocks(page) if b.lang == lang and b.not_run is None)


def pages_with(lang: str) -> list[Path]:
    return [p for p in pages() if script(p, lang).strip()]


def name(page: Path) -> str:
    return page.relative_to(REPO).as_posix()
