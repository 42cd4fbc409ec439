"""File lists (``rg -l``, a Grep tool's files mode) and ``path:count`` lines (``rg -c``, ``grep -c``, its
count mode): one item per path, grouped by folder; and ``path:text`` lines (``grep -r`` without ``-n``)."""

from __future__ import annotations

import re

from headroom_cli.engines.search.parsed import B, C, M, may_be_numbered, O, Parsed, path_colon, path_ok, S

COUNT_LINE = re.compile(r"((?:[A-Za-z]:[\\/])?[^:\n]+?):(\d+)$")
PATH_LIKE = re.compile(r"(?:[A-Za-z]:[\\/]|[./~]|[\w@+\-])[^\s:\"'<>|*?]*(?:/[^\s\"'<>|*?]+|\.[A-Za-z]\w{0,7})$")
# "path:text": the path has an extension or a folder
PATH_TEXT = re.compile(r"((?:[A-Za-z]:[\\/])?[^\s:]*?(?:[\w\-]\.[A-Za-z]\w{0,7}|/[^\s:/]+)):(?!:)")


def is_count(ln: str) -> bool:
    return may_be_numbered(ln) and COUNT_LINE.match(ln) is not None and path_ok(ln[: ln.rfind(":")])


def may_be_path(ln: str) -> bool:
    """Whether PATH_LIKE can match: it takes no white space anywhere."""
    return " " not in ln and "\t" not in ln


def may_be_path_text(ln: str) -> bool:
    """Whether PATH_TEXT can match: a path without white space up to its colon, which no colon follows."""
    at = path_colon(ln)
    return at > 0 and ln[at + 1:at + 2] != ":" and " " not in ln[:at] and "\t" not in ln[:at]


def parse_paths(lines: list[str], mode: str) -> Parsed:
    """``mode``: "files" (one path a line) or "count" (``path:count``)."""
    p = Parsed(lines, mode)
    kind, fid = p.kind, p.fid
    for i, ln in enumerate(lines):
        if not ln:
            kind[i] = B
            continue
        path = None
        if mode == "count":
            m = COUNT_LINE.match(ln)
            if m and path_ok(m.group(1)):
                path = m.group(1)
        elif PATH_LIKE.match(ln):
            path = ln
        if path is None:
            kind[i] = O
            continue
        cut = max(path.rfind("/"), path.rfind("\\"))
        kind[i] = M
        fid[i] = p.file(path[:cut] if cut > 0 else ".")
    return p.done()


def parse_path_text(lines: list[str]) -> Parsed:
    """``path:text`` matches, ``path-text`` context lines of the current file."""
    p = Parsed(lines, "pathtext")
    kind, fid, tstart = p.kind, p.fid, p.tstart
    cur = ""
    for i, ln in enumerate(lines):
        if not ln:
            kind[i] = B
        elif ln == "--":
            kind[i] = S
        elif m := PATH_TEXT.match(ln):
            kind[i] = M
            cur = m.group(1)
            fid[i] = p.file(cur)
            tstart[i] = m.end()
        elif cur and ln.startswith(cur + "-"):
            kind[i] = C
            fid[i] = p.file(cur)
            tstart[i] = len(cur) + 1
        else:
            kind[i] = O
    return p.done()
