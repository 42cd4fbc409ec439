"""Serve omitted content back: a whole original, a line range of it, or the lines matching a pattern."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass

from headroom_cli.grep import matching
from headroom_cli.markers import ID_PREFIX, original_lines
from headroom_cli.store import Store

_ID_RE = re.compile(rf"{ID_PREFIX}[0-9a-f]{{16}}")

# A tool answer carries at most this much (Claude Code's own cap on a Bash output sent inline, about
# 7,500 tokens); the rest is paged with `lines`. A 16.7 MB original must not become a 17 MB request.
MAX_ANSWER_CHARS = 30_000

# What the model reads about the retrieve tool, wherever it is offered (MCP server or proxy). It rides
# on every request of a session, so every word is paid for again and again: kept to what the model
# needs to use it right (what it is for, what to pass, when not to call it).
RETRIEVE_DESCRIPTION = (
    "Read lines Headroom left out of a tool output. Call it when a [headroom: … · retrieve hr_… --lines A-B] "
    "marker hides lines you need (to quote or edit them, or an error's details), not when its summary is "
    "enough. Pass its id and lines; or a pattern for just the matching lines; neither: the whole original. "
    f"Answers stop at {MAX_ANSWER_CHARS:,} characters and say which lines to ask for next."
)
ARGUMENTS_SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "string", "description": "hr_… from the marker"},
        "lines": {"type": "string", "description": "A-B from the marker, or N"},
        "pattern": {"type": "string", "description": "text or regex; matches come numbered N:"},
    },
    "required": ["id"],
}


class NotFound(KeyError):
    pass


class OutOfRange(ValueError):
    """--lines names lines past the end of the original."""


class ToolFailure(Exception):
    """A clear, final error for the model: the message says what happened and not to retry."""


def parse_range(spec: str) -> tuple[int, int]:
    """'A-B' (1-based, inclusive) or a single 'N'."""
    match = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+))?\s*", spec)
    if not match:
        raise ValueError(f"--lines takes A-B or N (1-based line numbers), not {spec!r}")
    first = int(match.group(1))
    last = int(match.group(2) or first)
    if first < 1 or last < first:
        raise ValueError(f"--lines {spec}: need 1 <= A <= B")
    return first, last


@dataclass
class Selection:
    """What a retrieval asked for: the lines with their numbers, and where it looked."""

    numbered: list[tuple[int, str]]
    first: int  # the range searched or shown, 1-based, inclusive
    last: int
    total: int  # lines in the whole original
    grep: bool

    def render(self) -> str:
        if not self.grep:
            return "".join(line for _, line in self.numbered)
        # Each match keeps its line number, so a reader can ask for the lines around it.
        return "".join(_numbered(n, line) for n, line in self.numbered)


def _numbered(n: int, line: str) -> str:
    return f"{n}:{line}" if line.endswith("\n") else f"{n}:{line}\n"


class IsImage(ValueError):
    """The original is an image: it is written as bytes (``--out``), not read as lines."""


IMAGE_KIND = "image"  # images/wire.py stores an image's base64 text under this kind


def original_bytes(store: Store, part_id: str) -> bytes:
    """The original as bytes: an image's own bytes, a text's UTF-8 (``headroom retrieve ID --out FILE``)."""
    original = store.fetch_for_retrieval(part_id)
    if original is None:
        raise NotFound(part_id)
    if store.kind_of(part_id) == IMAGE_KIND:
        return base64.b64decode(original)
    return original.encode("utf-8", "surrogatepass")


def select(store: Store, part_id: str, lines: str | None = None, grep: str | None = None) -> Selection:
    if store.kind_of(part_id) == IMAGE_KIND:
        raise IsImage(f"{part_id} is an image ({_image_size(store.get(part_id) or '')}), not lines of text: "
                      f"`headroom retrieve {part_id} --out FILE` writes its original bytes")
    original = store.fetch_for_retrieval(part_id)
    if original is None:
        raise NotFound(part_id)
    all_lines = original_lines(original)
    numbered = list(enumerate(all_lines, start=1))
    first, last = 1, len(all_lines)
    if lines is not None:
        first, last = parse_range(lines)
        if first > len(numbered):  # an empty answer would read as "those lines were empty"
            raise OutOfRange(f"{part_id} has {len(numbered):,} lines; asked for {lines.strip()}: "
                             f"ask for lines within 1-{len(numbered)}")
        numbered = numbered[first - 1 : last]
        last = min(last, len(all_lines))
    if grep is not None:
        found = matching([line for _, line in numbered], grep)
        numbered = [numbered[i] for i in found]
    return Selection(numbered, first, last, len(all_lines), grep is not None)


def _image_size(data: str) -> str:
    return f"{len(base64.b64decode(data)):,} bytes"


def retrieve(store: Store, part_id: str, lines: str | None = None, grep: str | None = None) -> str:
    """Everything asked for, uncut (for a person's terminal)."""
    return select(store, part_id, lines, grep).render()


def capped(selection: Selection, part_id: str, cap: int = MAX_ANSWER_CHARS) -> str:
    """The selection's text, cut at whole lines to ``cap`` characters, with a note on how to page on."""
    pieces, size = [], 0
    for k, (n, line) in enumerate(selection.numbered):
        piece = _numbered(n, line) if selection.grep else line
        if size + len(piece) > cap:
            if k == 0:  # one line longer than the cap: its start, and where the whole of it is
                return piece[:cap] + (f"\n[headroom: line {n} is {len(line):,} characters; the first {cap:,} are "
                                      f"shown. Lines cannot be split further: `headroom retrieve {part_id} --lines "
                                      f"{n}` prints the whole line in a terminal.]\n")
            return "".join(pieces) + _page_note(selection, part_id, k, cap)
        pieces.append(piece)
        size += len(piece)
    return "".join(pieces)


def _page_note(selection: Selection, part_id: str, shown: int, cap: int) -> str:
    last_shown = selection.numbered[shown - 1][0]
    rest = f"{last_shown + 1}-{selection.last}"
    if selection.grep:
        return (f"[headroom: answer cut at {cap:,} characters: {shown:,} of {len(selection.numbered):,} matching "
                f"lines shown, up to line {last_shown:,}. For the matches after it, call headroom_retrieve with "
                f"id {part_id}, the same pattern and lines \"{rest}\"; or narrow the pattern.]\n")
    return (f"[headroom: answer cut at {cap:,} characters: lines {selection.first:,}-{last_shown:,} of "
            f"{selection.first:,}-{selection.last:,} shown (the original has {selection.total:,} lines). For the "
            f"rest, call headroom_retrieve with id {part_id} and lines \"{rest}\".]\n")


def redeem(store: Store, part_id: str, lines: str | None = None, pattern: str | None = None,
           cap: int = MAX_ANSWER_CHARS) -> str:
    """What the model gets back for a retrieve call: the text (at most ``cap`` characters and a paging
    note), or ToolFailure with a message for it."""
    part_id = (part_id or "").strip()
    if not _ID_RE.fullmatch(part_id):
        raise ToolFailure(f"{part_id!r} is not a Headroom ID: IDs look like hr_ followed by 16 hex digits, "
                          "as in the [headroom: … retrieve hr_… --lines A-B] marker. Do not retry with a guess.")
    try:
        selection = select(store, part_id, lines or None, pattern or None)
    except NotFound:
        raise ToolFailure(
            f"No stored original for {part_id} on this machine: it was never compressed here (or under another "
            "HEADROOM_HOME or machine), so it cannot be retrieved. Do not retry; work with what the marker "
            "shows, or re-run the command that produced the output.") from None
    except ValueError as exc:  # a bad range, or PatternError
        raise ToolFailure(str(exc)) from None
    text = capped(selection, part_id, cap)
    if not text:
        return "(no lines matched)" if pattern else "(nothing in that range: the original is shorter)"
    return text

