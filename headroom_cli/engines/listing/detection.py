"""Which listing format a part is in: the share of a sample's lines each format's pattern explains,
with the command that produced it (the last of a Bash chain) and the tool's name as hints."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Iterator

from headroom_cli.engines.base import hint_score, Part
from headroom_cli.engines.listing import du, gitlog, ls, paths, status, tree
from headroom_cli.engines.listing.selection import clean

LS, TREE, LOG, STATUS, DU, PATHS = "ls", "tree", "log", "status", "du", "paths"
_HINTS_MINE = frozenset(("listing", "listings", "ls", "tree", "find", "files", "gitlog", "git-log", "du"))
# what a command's output is expected to be
COMMAND_FORMATS = {"ls": LS, "ll": LS, "la": LS, "exa": LS, "eza": LS, "lsd": LS, "dir": LS,
                   "find": PATHS, "fd": PATHS, "fdfind": PATHS, "locate": PATHS, "tree": TREE, "du": DU,
                   "git log": LOG, "git reflog": LOG, "git ls-files": PATHS, "git ls-tree": PATHS,
                   "git status": STATUS}
_SEARCH_COMMANDS = frozenset(("grep", "egrep", "fgrep", "rg", "ag", "ack", "git grep"))
_SHELL_TOOLS = ("bash", "shell", "exec", "run", "terminal", "")
_LINE_CAP = 1000  # characters of a line the patterns look at


def command(part: Part) -> str:
    """The program a Bash tool input ran (``git log`` counts as two words), or ''."""
    cmd = (part.tool_input or "").strip()
    if not cmd:
        return ""
    for piece in re.split(r"&&|\|\||;", cmd)[::-1]:  # the last command of a chain produced the output
        words = piece.split()
        while words and ("=" in words[0] or words[0] in ("sudo", "time", "command", "env", "cd")):
            words = words[2:] if words[0] == "cd" else words[1:]
        if not words:
            continue
        if words[0] == "git" and len(words) > 1:
            return "git " + words[1]
        return words[0].rsplit("/", 1)[-1]
    return ""


@dataclass
class Tally:
    """How many of a sample's non-blank lines each format explains: its entries, and its structural
    lines (``aux``: headers, totals, roots, summaries)."""

    nonblank: int = 0
    ls: int = 0
    ls_aux: int = 0
    tree: int = 0
    tree_aux: int = 0
    log: int = 0
    log_conv: int = 0  # commits with a conventional subject ("fix(x): ...")
    status: int = 0
    status_aux: int = 0
    status_heads: int = 0
    status_long: int = 0  # the long form's tab-indented entries
    du: int = 0
    paths: int = 0
    slashed: int = 0  # paths holding a slash

    def count(self, s: str, prev_blank: bool) -> None:
        """One non-blank line (right-stripped)."""
        self.nonblank += 1
        if len(s) > _LINE_CAP:
            s = s[:_LINE_CAP]
        # A pattern runs only on a line whose first character it can start with (\s and \d are what
        # str.isspace and str.isdecimal say): most lines of other outputs are turned away without it.
        c0 = s[0]
        spaced = c0.isspace() or c0.isdecimal()
        self._count_ls(s, prev_blank, _may_start_ls_line(c0))
        self._count_tree(s, _may_start_tree_line(c0))
        self._count_log(s, c0 in gitlog.LINE_STARTS)
        self._count_status(s, c0)
        if (("\t" in s[:20] and du.LINE.match(s)) or (s[0].isdigit() and s.count(" ") <= 8 and du.LINE.match(s))
                or (spaced and du.SIZED.match(s))):
            self.du += 1
        if paths.is_path(s.strip()):
            self.paths += 1
            if "/" in s or "\\" in s:
                self.slashed += 1

    def _count_ls(self, s: str, prev_blank: bool, may_be_entry: bool) -> None:
        if (may_be_entry and ls.LINE.match(s)) or (s[0].isdigit() and ls.WINDIR.match(s)):
            self.ls += 1
        elif (ls.TOTAL.match(s) or (prev_blank and s.endswith(":") and not s.startswith(" "))
              or s.startswith(ls.WINDIR_HEAD)):
            self.ls_aux += 1

    def _count_tree(self, s: str, may_be_entry: bool) -> None:
        if may_be_entry and tree.LINE.match(s):
            self.tree += 1
        elif ((s[0].isdecimal() and tree.SUMMARY.match(s))
              or (not s[0].isspace() and not s.endswith(":") and len(s) < 300)):
            self.tree_aux += 1  # a root line, the summary

    def _count_log(self, s: str, may_be_commit: bool) -> None:
        m = gitlog.LINE.match(s) if may_be_commit else None
        if m and not m.group(2).isdigit():
            self.log += 1  # a --graph line too
            if not m.group(1).strip(" ") and gitlog.CONVENTIONAL.match(gitlog.DECORATION.sub("", m.group(3), 1)):
                self.log_conv += 1

    def _count_status(self, s: str, c0: str) -> None:
        if s[2:3] == " " and status.SHORT.match(s) and (s[0] != " " or s[1] != " "):  # "XY path": a space third
            self.status += 1
        elif c0 in status.HEAD_STARTS and status.HEAD.match(s):
            self.status_aux += 1
            self.status_heads += 1
        elif s[0] == "\t" and status.LONG.match(s):
            self.status_long += 1


def _best(t: Tally) -> tuple[str | None, float, int]:
    best: tuple[str | None, float, int] = (None, 0.0, 0)
    for fmt, hits, aux in ((LS, t.ls, t.ls_aux), (TREE, t.tree, t.tree_aux), (LOG, t.log, 0), (DU, t.du, 0)):
        if hits >= 3:
            share = (hits + min(aux, hits)) / t.nonblank
            if fmt == TREE and aux > hits:
                share = hits / t.nonblank  # box drawing inside prose or a table
            if share > best[1]:
                best = (fmt, share, hits)
    entries = t.status + (t.status_long if t.status_heads and t.status_long >= 3 else 0)
    if entries >= 3 and entries >= 0.5 * t.nonblank:
        share = (entries + t.status_aux) / t.nonblank
        if share > best[1]:
            best = (STATUS, share, entries)
    if t.paths >= 5 and t.slashed >= 0.5 * t.paths:
        share = t.paths / t.nonblank
        if share > best[1] + 0.05:  # a path list only when nothing richer explains the lines as well
            best = (PATHS, share, t.paths)
    fmt, share, hits = best
    if fmt == LOG and t.log_conv >= 0.5 * t.log:
        share = min(1.0, share + 0.05)
    return fmt, share, hits


def _may_start_ls_line(c0: str) -> bool:
    """Whether ls.LINE can match a line starting with c0 (its white space and digits: str.isspace, str.isdecimal)."""
    return c0.isspace() or c0.isdecimal() or c0 in ls.LINE_STARTS


def _may_start_tree_line(c0: str) -> bool:
    """Whether tree.LINE can match a line starting with c0."""
    return c0.isspace() or c0 in tree.LINE_STARTS


def _nonblank(lines: list[str]) -> Iterator[tuple[str, bool]]:
    """Each non-blank line right-stripped, and whether a blank line (or the start) came before it."""
    prev_blank = True
    for raw in lines:
        s = raw.rstrip()
        if not s.strip():
            prev_blank = True
            continue
        yield s, prev_blank
        prev_blank = False


def sniff(lines: list[str]) -> tuple[str | None, float, int]:
    """The format a sample of lines has, the share of non-blank lines it explains, and how many entries."""
    t = Tally()
    for s, prev_blank in _nonblank(lines):
        t.count(s, prev_blank)
    if not t.nonblank:
        return None, 0.0, 0
    return _best(t)


def _sample(text: str) -> list[str]:
    """The head and the tail of a part, as parsed."""
    if len(text) > 40_000:
        sample = text[:20_000].split("\n")[:200] + text[-8_000:].split("\n")[1:][-50:]
    else:
        lines = text.split("\n")
        sample = lines[:200] + lines[200:][-50:]
    return clean(sample, text[:20_000])


def _paths_score(share: float, tool: str, cmd: str, expected: str | None) -> float:
    if tool == "grep" or cmd in _SEARCH_COMMANDS or tool == "read":
        return 0.05  # a search's file list belongs to the search engine; a Read shows a file
    score = 0.85 if share >= 0.9 else 0.7 if share >= 0.8 else 0.05
    if score > 0.5 and (expected == PATHS or tool == "glob"):
        score = 0.92
    return score


CEILING = 0.95  # the highest score() gives without a kind hint: a listing the command says to expect
PLAIN_CEILING = 0.92  # without one, and without an ls or tree listing: a path list (a git log, du or status: 0.9)
READ_CEILING = 0.6  # what a Read shows is a file


def ceiling(part: Part) -> float:
    """The highest score() can give the part without a kind hint, cheaply. CEILING needs a listing the command
    (or the LS tool) asks for, or an ls or tree listing explaining 80% of the sample's lines: twice its
    entries at most, so entries on 40% of them, and an entry starts with what its pattern can start with."""
    tool = (part.tool_name or "").lower()
    if tool == "read":
        return READ_CEILING
    if tool == "ls" or (tool in _SHELL_TOOLS and command(part) in COMMAND_FORMATS):
        return CEILING
    return CEILING if _may_hold_ls_or_tree(_sample(part.text)) else PLAIN_CEILING


def _may_hold_ls_or_tree(lines: list[str]) -> bool:
    """Whether enough of the lines sniff() counts start as an ls or a tree entry can (Tally's first-character
    guards: ls.LINE's, or a digit for ls.WINDIR) for either to explain 80% of them."""
    # counted by first character (a non-blank line starts as it does right-stripped): a few distinct ones
    starts = Counter(line[0] for line in lines if line and not line.isspace())
    nonblank = sum(starts.values())
    ls_like = sum(n for c0, n in starts.items() if _may_start_ls_line(c0) or c0.isdigit())
    tree_like = sum(n for c0, n in starts.items() if _may_start_tree_line(c0))
    need = max(3, 0.4 * nonblank)
    return ls_like >= need or tree_like >= need


def score(part: Part) -> float:
    hinted = hint_score(part, _HINTS_MINE)
    if hinted is not None:
        return hinted
    fmt, share, hits = sniff(_sample(part.text))
    tool = (part.tool_name or "").lower()
    cmd = command(part) if tool in _SHELL_TOOLS else ""
    expected = COMMAND_FORMATS.get(cmd)
    if fmt is None or hits < 3:
        return 0.05
    if fmt == PATHS:
        return _paths_score(share, tool, cmd, expected)
    if share >= 0.8:
        result = 0.95 if fmt in (LS, TREE) else 0.9
    elif share >= 0.6:
        result = 0.8
    elif share >= 0.4 and expected:
        result = 0.7
    else:
        return 0.05
    if expected == fmt or (expected == LS and fmt == DU) or (tool == "ls" and fmt == TREE):
        result = max(result, 0.95)
    if tool == "read":
        result = min(result, 0.6)
    return result
