"""Serve omitted content back: a whole original, a line range of it, or the lines matching a pattern."""

from __future__ import annotations

import re

from headroom_cli.markers import ID_PREFIX, original_lines
from headroom_cli.store import Store

_ID_RE = re.compile(rf"{ID_PREFIX}[0-9a-f]{{16}}")

# What the model reads about the retrieve tool, wherever it is offered (MCP server or proxy).
RETRIEVE_DESCRIPTION = (
    "Get back lines that Headroom left out of a tool output. Call this when a "
    "[headroom: … · retrieve hr_… --lines A-B] marker hides lines you need (a failing test's details, "
    "an error's context, the exact text you must quote or edit): pass the ID and the --lines range from "
    "the marker. Give `pattern` (a regular expression) instead of or with `lines` to get only matching "
    "lines, each prefixed with its line number. Without `lines` or `pattern` the whole original comes "
    "back. Do not call it when the summary in the marker already answers the question."
)
ARGUMENTS_SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "string", "description": "The hr_… ID from the marker."},
        "lines": {"type": "string", "description": "The marker's --lines range, A-B (1-based, inclusive), or one line N."},
        "pattern": {"type": "string", "description": "Only lines matching this regular expression, each prefixed N:."},
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


def retrieve(store: Store, part_id: str, lines: str | None = None, grep: str | None = None) -> str:
    original = store.fetch_for_retrieval(part_id)
    if original is None:
        raise NotFound(part_id)
    if lines is None and grep is None:
        return original
    numbered = list(enumerate(original_lines(original), start=1))
    if lines is not None:
        first, last = parse_range(lines)
        if first > len(numbered):  # an empty answer would read as "those lines were empty"
            raise OutOfRange(f"{part_id} has {len(numbered):,} lines; asked for {lines.strip()}: "
                             f"ask for lines within 1-{len(numbered)}")
        numbered = numbered[first - 1 : last]
    if grep is not None:
        pattern = re.compile(grep)
        # Each match keeps its line number, so a reader can ask for the lines around it.
        return "".join(f"{n}:{line}" if line.endswith("\n") else f"{n}:{line}\n"
                       for n, line in numbered if pattern.search(line))
    return "".join(line for _, line in numbered)


def redeem(store: Store, part_id: str, lines: str | None = None, pattern: str | None = None) -> str:
    """What the model gets back for a retrieve call: the text, or ToolFailure with a message for it."""
    part_id = (part_id or "").strip()
    if not _ID_RE.fullmatch(part_id):
        raise ToolFailure(f"{part_id!r} is not a Headroom ID: IDs look like hr_ followed by 16 hex digits, "
                          "as in the [headroom: … retrieve hr_… --lines A-B] marker. Do not retry with a guess.")
    try:
        text = retrieve(store, part_id, lines or None, pattern or None)
    except NotFound:
        raise ToolFailure(
            f"No stored original for {part_id} on this machine: it was never compressed here (or under another "
            "HEADROOM_HOME or machine), so it cannot be retrieved. Do not retry; work with what the marker "
            "shows, or re-run the command that produced the output.") from None
    except re.error as exc:
        raise ToolFailure(f"pattern {pattern!r} is not a valid regular expression: {exc}") from None
    except ValueError as exc:
        raise ToolFailure(str(exc)) from None
    if not text:
        return "(no lines matched)" if pattern else "(nothing in that range: the original is shorter)"
    return text
