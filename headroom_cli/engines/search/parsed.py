"""A search output as parsed: per line its kind, its file, its line number and where its text starts."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from headroom_cli.engines.base import ANSI, has_ansi

CHECK_EVERY = 2048  # lines between deadline checks
# line kinds: match, context, file heading, separator ("--"), blank, other, rg --json "end" event
M, C, H, S, B, O, E = 1, 2, 3, 4, 5, 6, 7
_TIME_PATH = re.compile(r"(?:.*[T\s])?[\d\-/.]*\d")  # "2024-01-01T12", "12": a timestamp cut at a colon
_BAD_PATH_CHARS = frozenset("\"<>|*?")
_ASCII_LETTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


@dataclass
class Parsed:
    """Per line: its kind, file (or group) index, line number, where its text starts; plus the paths.

    Modes: "prefixed" (``path:N:text``), "heading" (``N:text`` under path headings or from one file),
    "files" (a list of paths, grouped by folder), "count" (``path:count``), "pathtext" (``path:text``)
    and "json" (``rg --json`` events)."""

    lines: list[str]
    mode: str
    kind: bytearray = field(init=False)
    fid: list[int] = field(init=False)
    lnum: list[int] = field(init=False)  # the line number a match or context line gives, 0 when none
    tstart: list[int] = field(init=False)
    paths: list[str] = field(default_factory=list)
    render: dict[int, str] = field(default_factory=dict)  # json mode: compact text of match/context events
    nmatch: int = 0
    summary: int = -1  # json mode: the line of the summary event
    headers: set[int] = field(default_factory=set)  # context lines that head the next match (git grep -p "path=N=")
    pattern: tuple[str, ...] = ()  # the searched pattern's words, lower-cased
    index: dict[str, int] = field(default_factory=dict, repr=False)  # path -> its index in paths
    _texts: list[str] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        n = len(self.lines)
        self.kind = bytearray(n)
        self.fid = [-1] * n
        self.lnum = [0] * n
        self.tstart = [0] * n

    def file(self, path: str) -> int:
        """The index of a path (or a group's name), given in order of first sight."""
        f = self.index.get(path)
        if f is None:
            f = self.index[path] = len(self.paths)
            self.paths.append(path)
        return f

    def known(self, path: str) -> int | None:
        return self.index.get(path)

    def texts(self) -> list[str]:
        """Each match or context line's text, without its path and number ('' for other lines); found once."""
        if self._texts is None:
            kind, tstart, render, lines = self.kind, self.tstart, self.render, self.lines
            self._texts = [(render[i] if i in render else lines[i])[tstart[i]:] if kind[i] == M or kind[i] == C
                           else "" for i in range(len(kind))]
        return self._texts

    def done(self) -> Parsed:
        self.nmatch = self.kind.count(M)
        return self


def clean(lines: list[str], text: str) -> list[str]:
    """Lines as parsed: ANSI colour codes and a trailing CR taken off (the originals are what is copied)."""
    if has_ansi(text):
        lines = [ANSI.sub("", ln) if "\x1b[" in ln else ln for ln in lines]
    if "\r" in text:
        lines = [ln[:-1] if ln.endswith("\r") else ln for ln in lines]
    return lines


def path_colon(ln: str) -> int:
    """Where a ``path:`` a line starts with must end: its first colon, past a drive's ("C:\\", "C:/"); -1
    when it has none. The patterns of ``path:N:`` and ``path:text`` lines allow no colon in the path, so
    a line whose colon is not followed as they need is turned away before they run (the same answers,
    without their backtracking over each line of a log or a test run)."""
    at = ln.find(":")
    if at == 1 and ln[0] in _ASCII_LETTERS and ln[2:3] in ("\\", "/"):
        at = ln.find(":", 3)
    return at


def may_be_numbered(ln: str) -> bool:
    """Whether a ``path:N`` pattern (prefixed.LINE, filelist.COUNT_LINE) can match: a digit after the colon."""
    at = path_colon(ln)
    return at > 0 and ln[at + 1:at + 2].isdecimal()  # \d is what str.isdecimal says


def path_ok(path: str) -> bool:
    """Whether the text before a ``:12:`` can be a file path (not a clock, a sentence or a key)."""
    if not path or path[0].isspace() or path[-1].isspace():
        return False
    if not _BAD_PATH_CHARS.isdisjoint(path):
        return False
    if (" " in path or "\t" in path) and "/" not in path and "\\" not in path:
        return False
    return _TIME_PATH.fullmatch(path) is None
