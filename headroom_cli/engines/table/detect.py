"""Is a part a table? From the request's hints (``--kind table``, a Read of a ``.csv``, a ``ps`` or
``kubectl get`` command) and from the share of its first lines the tables found there cover."""

from __future__ import annotations

import re

from headroom_cli.engines.base import hint_score, Part
from headroom_cli.engines.table import prefix
from headroom_cli.engines.table.columns import shouting
from headroom_cli.engines.table.find import find_tables
from headroom_cli.engines.table.model import Doc, Table

DETECT_LINES = 200
DETECT_CHARS = 20_000
_TABLE_COMMAND = re.compile(
    r"(?:^|[;&|(]\s*|\bsudo\s+|\bwatch\s+(?:-\S+\s+)*)(?:ps|df|free|top|netstat|ss|lsof|lsblk|iostat|vmstat|pip3? list"
    r"|docker(?:-compose| compose)? (?:ps|images|image ls|container ls|stats|network ls|volume ls)"
    r"|kubectl (?:get|top)|oc get|helm list|sqlite3|psql|mysql|duckdb|column|csvlook|mlr|qsv|xsv|jobs"
    r"|systemctl list|dpkg -l|dpkg --list|findmnt|ip -br)\b"
)
_TABLE_FILE = re.compile(r"\.(?:csv|tsv|tab|psv)$", re.I)
_CODE_FILE = re.compile(
    r"\.(?:py|js|mjs|cjs|ts|tsx|jsx|go|rs|c|h|cc|cpp|hpp|java|kt|rb|php|cs|swift|scala|sh|json|ya?ml|toml|html?|xml)$",
    re.I,
)
_HINTS_MINE = frozenset(("table", "tables", "csv", "tsv"))


CEILING = 0.95  # the highest score() gives without a kind hint: a drawn table, a Read of a .csv
PLAIN_CEILING = 0.92  # ... and for any other part


def ceiling(part: Part) -> float:
    """The highest score() can give the part without a kind hint, cheaply: CEILING needs a Read, or a box or
    pipe table, which needs a bar or a "+" (or box drawing: not ASCII) in the lines read."""
    head = part.text[:DETECT_CHARS]
    drawn = not head.isascii() or "|" in head or "+" in head
    return CEILING if drawn or (part.tool_name or "").lower() == "read" else PLAIN_CEILING


def score(part: Part) -> float:
    hinted = hint_score(part, _HINTS_MINE)
    if hinted is not None:
        return hinted
    contents = _head(part.text)
    nonblank = sum(1 for ln in contents if ln.strip())
    if nonblank < 3:
        return 0.0
    try:
        tables = find_tables(Doc(contents), None)
    except Exception:  # detect must never raise
        return 0.0
    if not tables:
        return 0.0
    tool = (part.tool_name or "").lower()
    tool_input = (part.tool_input or "").strip()
    read = _read_file_score(tool, tool_input, tables)
    if read is not None:
        return read
    if sum(len(t.cells) for t in tables) < 3:
        return 0.05
    if sum(1 for ln in contents if ln.startswith(("@@ -", "diff --git ", "+++ "))) >= 2:
        return 0.02  # a diff that touches a table
    frac = sum(t.end - t.start for t in tables) / nonblank
    value = _by_coverage(tables, frac)
    if tool_input and tool != "read" and _TABLE_COMMAND.search(tool_input) and frac >= 0.3:
        value = max(value, 0.9)
    return value


def _read_file_score(tool: str, tool_input: str, tables: list[Table]) -> float | None:
    """A Read of a .csv that holds delimited records is one; a Read of source code is not."""
    if tool != "read" or not tool_input:
        return None
    if _TABLE_FILE.search(tool_input) and any(t.style == "csv" for t in tables):
        return 0.95
    return 0.05 if _CODE_FILE.search(tool_input) else None


def _head(text: str) -> list[str]:
    """The first lines of text, as the table reader sees them (a cut last line dropped)."""
    head = text[:DETECT_CHARS]
    lines = head.split("\n")
    if len(text) > DETECT_CHARS and len(lines) > 1:
        lines.pop()
    return prefix.contents(lines[:DETECT_LINES])


def _by_coverage(tables: list[Table], frac: float) -> float:
    """How sure, from the share of the non-blank lines the tables cover and what kind of tables they are."""
    if frac >= 0.6:
        styles = {t.style for t in tables}
        if styles & {"box", "pipe"}:
            return 0.95
        if "csv" in styles:
            return 0.9
        if frac >= 0.8 and any(shouting(t.header) for t in tables if t.style == "fixed"):
            return 0.92  # "PID  PPID STAT", "NAME  READY  STATUS": a program's column header
        return 0.85
    if frac >= 0.45:
        return 0.8
    if frac >= 0.3:
        return 0.55
    return 0.1
