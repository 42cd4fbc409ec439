"""The search engine: keep the matches that answer the question, one file at a time, and fold the rest.

Search output (``grep -rn``, ``git grep -n``, ``rg`` plain, with ``--heading`` or ``-C N`` context,
``rg --json``, ``rg -l`` / ``rg -c``, Claude Code's Grep tool in its content, files and count modes)
is a list of matches grouped by file. An agent needs a few of them: the definition it looks for, the
matches whose text holds the question's words, and enough of every file to know where the pattern
occurs and how often. The engine works on shapes, never on a particular program:

1. parse each line into a match (``path:N:text``, ``N:text`` under a ``--heading`` path), a context
   line (``path-N-text``, ``N-text``), a separator (``--``), a file heading, or anything else (which
   is kept); ``rg --json`` events are parsed as JSON. File lists and ``path:count`` lines become one
   "match" per path, grouped by directory;
2. rank the matches of each file: lines holding a discriminative query word (one that is not in
   nearly every match, as the searched pattern is) first, then the definition of the searched symbol
   (``def``/``class``/``func``/``fn``/``function``/... followed by a word that nearly every match
   holds), then definitions at outline depth in non-test files, then plain uses; comments, doctest
   lines and test files rank last;
3. keep the query hits and the first and last match of every file, then fill a line budget that
   grows more slowly than the output, round-robin over the files, with at most ``CAP`` plain
   matches per file (outline definitions are bounded by the budget only, so an API's outline
   survives a ``grep 'def '``); context lines follow the match they surround, and a small context
   group (the lines between two ``--``) is kept or dropped whole;
4. every dropped run of original lines becomes one marker naming its 1-based line range and what it
   held ("91 matches"), so expanding the markers gives back the original exactly. A run whose
   marker would cost more than its lines is kept as it is.

Kept lines are copied verbatim, path and all, so a line an agent quotes or greps for stays whole.
Very long kept lines (minified code) are cut to a window around the match or the question's word,
with a marker naming the line. ``rg --json`` is rendered compactly instead: each file's ``begin``
event and the ``summary`` event verbatim, each kept match as ``N:text`` (context as ``N-text``),
and one marker for the offsets, submatches and per-file ``end`` statistics left out.
"""

from __future__ import annotations

import json
import re
import shlex
from collections import Counter

from headroom_cli.engines import register
from headroom_cli.engines.base import (ANSI, Context, EngineTimeout, hint_score, Part,
                                       past, part_terms, Result, split_lines)
from headroom_cli.markers import line_marker, marker, omission_marker

MIN_MATCHES = 24  # fewer matches are left alone: a marker would save next to nothing
CAP = 5  # plain matches kept per file (first and last included)
CAP_TEST = 3  # ... per test file
CAP_PATH_HIT = 16  # ... per file whose path holds a query word
QUERY_CAP = 40  # query hits kept per file
GROUP_MAX = 12  # a context group of at most this many lines is kept or dropped whole
LONG_LINE = 400  # a kept line longer than this is cut to a window
WINDOW = 240  # characters of a long line kept around its match
COMMON = 0.4  # a query word in more than this share of the matches is the pattern, not a clue
PATTERN_SHARE = 0.7  # a word in at least this share of the matches is taken as the searched pattern
OUTLINE_INDENT = 4  # a definition indented at most this far (tabs count 4) is part of the outline
CHECK_EVERY = 2048  # lines between deadline checks

# line kinds
M, C, H, S, B, O, E = 1, 2, 3, 4, 5, 6, 7  # match, context, heading, separator, blank, other, json end

# "path:12:text" or "path:12:5:text" (a column); the path holds no colon (a drive letter aside)
_PREFIXED = re.compile(r"((?:[A-Za-z]:[\\/])?[^:\n]+?):(\d+):(?:(\d+):)?")
# context lines: "path-12-text" (grep, rg), "path=12=text" (git grep -p / -W function lines)
_CONTEXT_SEP = re.compile(r"([-=])(\d+)\1")
# under a heading, or from a search of one file: "12:text" and "12-text"
_BARE = re.compile(r"(\d+)([:-])")
_CLOCK = re.compile(r"\d{1,2}:\d\d(?::\d\d)?\b|\d{4}-\d\d-\d\d")  # a log's clock or date, not a line number
_COUNT_LINE = re.compile(r"((?:[A-Za-z]:[\\/])?[^:\n]+?):(\d+)$")  # rg -c / grep -c / Grep count mode
# "path:text": grep -r without -n (the path has an extension or a folder)
_PATH_TEXT = re.compile(r"((?:[A-Za-z]:[\\/])?[^\s:]*?(?:[\w\-]\.[A-Za-z]\w{0,7}|/[^\s:/]+)):(?!:)")
_PATH_LIKE = re.compile(r"(?:[A-Za-z]:[\\/]|[./~]|[\w@+\-])[^\s:\"'<>|*?]*(?:/[^\s\"'<>|*?]+|\.[A-Za-z]\w{0,7})$")
_TIME_PATH = re.compile(r"(?:.*[T\s])?[\d\-/.]*\d")  # "2024-01-01T12", "12": a timestamp cut at a colon
_BAD_PATH_CHARS = frozenset("\"<>|*?")
_FOUND = re.compile(r"(?:Found [\d,]+ (?:files?|total occurrences?|matches?)\b|No (?:matches|files) found)")
_DIAG_TEXT = re.compile(r" (?:fatal error|error|warning|note|remark|in \w|[A-Z]\w*(?:Error|Exception)\b)")

_TEST_PATH = re.compile(
    r"(?:^|[/\\])(?:tests?|spec|specs|__tests__|testing|testdata|fixtures?)[/\\]"
    r"|(?:^|[/\\])test_[^/\\]*$|_(?:test|spec)\.\w+$|\.(?:test|spec)\.\w+$|Tests?\.\w+$"
)
# definitions, matched at the start of the text with its indentation removed
_DEF = re.compile(
    r"(?:(?:export|default|pub(?:\([\w:]+\))?|public|private|protected|internal|static|final|abstract|async|override"
    r"|virtual|inline|extern|unsafe|open|sealed|data|suspend|declare|partial|synchronized)\s+)*"
    r"(?:(?:def|defp|defmacro|defmodule|class|func|fn|fun|function\*?|interface|struct|enum|trait|impl|type"
    r"|module|mod|union|namespace|protocol|extension|object|record|sub|proc)(?:<[^>]*>)?\s+(?:\([^)]*\)\s*)?(?:<[^>]*>\s*)?"
    r"(?P<name>[A-Za-z_$][\w$]*)"
    r"|(?:const|let|var)\s+(?P<name2>[A-Za-z_$][\w$]*)\s*(?::[^=]+)?=\s*(?:async\s+)?"
    r"(?:function\b|\([^)]*\)\s*(?::[^=]+)?=>|[A-Za-z_$][\w$]*\s*=>))"
)
# a method or function that opens its body on the line: "name(args) {", "int main(void) {"
_METHOD = re.compile(
    r"(?:(?:async|static|get|set|public|private|protected|override|virtual|final)\s+)*"
    r"(?:[\w<>\[\],.?*&:]+\s+)*?[*&]*(?:\w+::)*(?P<name>[A-Za-z_$~][\w$]*)\s*\([^()]*(?:\([^()]*\)[^()]*)*\)"
    r"\s*(?:const\s*)?(?:(?:->|:)\s*[^{;=]+)?(?:throws [\w., ]+)?\{\s*$"
)
# a field or member whose type is a function: Go "Name func(...)", TypeScript "name?: (a) => b"
_FIELD_FUNC = re.compile(r"(?P<name>[A-Za-z_]\w*)\s+func\(|(?:readonly\s+)?(?P<name2>[A-Za-z_$][\w$]*)\??\s*:\s*\(")
_CONTROL = frozenset(
    "if for while switch catch return else do sizeof function typeof with elif until unless foreach match new "
    "await yield throw super this".split()
)
_COMMENT = re.compile(r"(?:#(?:\s|$|!)|//|/\*|\*(?:\s|/|$)|<!--|>>>|\.\.\.(?:\s|$)|-- |;;|%\s)")
_WORD = re.compile(r"[A-Za-z_][\w$]{2,}")
_KEYWORDS = frozenset(
    "def class func function fn return self this import from const let var public private static void int "
    "the and for not".split()
)
_SEARCH_PROGRAMS = frozenset(("grep", "egrep", "fgrep", "rg", "ag", "ack", "ripgrep", "git-grep", "zgrep"))
_VALUE_OPTS = frozenset(
    "-A -B -C -m -g -t -T -f --glob --type --type-not --max-count --context --after-context --before-context "
    "--include --exclude --exclude-dir -d -D --color --colour --sort --sortr -M --max-columns -j --threads".split()
)
_HINTS_MINE = frozenset(("search", "grep", "rg"))


def _path_ok(path: str) -> bool:
    """Whether the text before a ``:12:`` can be a file path (not a clock, a sentence or a key)."""
    if not path or path[0].isspace() or path[-1].isspace():
        return False
    if not _BAD_PATH_CHARS.isdisjoint(path):
        return False
    if (" " in path or "\t" in path) and "/" not in path and "\\" not in path:
        return False
    return _TIME_PATH.fullmatch(path) is None


class _Parsed:
    """Per line: its kind, file (or group) index, line number, where its text starts, plus the paths."""

    __slots__ = ("mode", "kind", "fid", "lnum", "tstart", "paths", "render", "nmatch", "lines", "summary", "headers",
                 "pattern")

    def __init__(self, lines: list[str], mode: str) -> None:
        n = len(lines)
        self.lines = lines
        self.mode = mode
        self.kind = bytearray(n)
        self.fid = [-1] * n
        self.lnum = [0] * n  # the line number a match or context line gives, 0 when none
        self.tstart = [0] * n
        self.paths: list[str] = []
        self.render: dict[int, str] = {}  # json mode: compact text of match/context events
        self.nmatch = 0
        self.summary = -1  # json mode: the line of the summary event
        self.headers: set[int] = set()  # context lines that head the next match (git grep -p "path=N=")
        self.pattern: tuple[str, ...] = ()  # the searched pattern's words, lower-cased


def _clean(lines: list[str], text: str) -> list[str]:
    """Lines as parsed: ANSI colour codes and a trailing CR taken off (the originals are what is copied)."""
    if "\x1b[" in text:
        lines = [ANSI.sub("", ln) if "\x1b[" in ln else ln for ln in lines]
    if "\r" in text:
        lines = [ln[:-1] if ln.endswith("\r") else ln for ln in lines]
    return lines


def _parse(lines: list[str], deadline: float | None = None) -> _Parsed | None:
    """Work out which search format the lines are in and parse them; None when they are none."""
    first = next((ln for ln in lines[:20] if ln.strip()), "")
    if first.startswith(('{"type":', '{"data":')):
        return _parse_json(lines, deadline)
    n = len(lines)
    pre: list[re.Match[str] | None] = [None] * n
    n_pre = n_bare = n_count = n_path = n_ptext = nonblank = 0
    path_ok: dict[str, bool] = {}  # paths repeat: judge each once
    for i, ln in enumerate(lines):
        if deadline is not None and not i % CHECK_EVERY and past(deadline):
            raise EngineTimeout()
        if not ln or ln == "--":
            continue
        nonblank += 1
        m = _PREFIXED.match(ln)
        if m:
            path = m.group(1)
            ok = path_ok.get(path)
            if ok is None:
                ok = path_ok[path] = _path_ok(path)
            if ok:
                pre[i] = m
                n_pre += 1
                continue
        c0 = ln[0]
        if "0" <= c0 <= "9" and _BARE.match(ln) and not _CLOCK.match(ln):
            n_bare += 1
        elif _COUNT_LINE.match(ln) and _path_ok(ln[: ln.rfind(":")]):
            n_count += 1
        elif _PATH_LIKE.match(ln):
            n_path += 1
        elif _PATH_TEXT.match(ln):
            n_ptext += 1
    if not nonblank:
        return None
    if n_pre >= 3:
        p = _parse_prefixed(lines, pre)
        kind = p.kind
        if n_pre >= 0.3 * nonblank or n_pre + kind.count(C) + kind.count(S) >= 0.6 * nonblank:
            return p
    if n_bare >= 3 and n_bare >= 0.5 * nonblank:
        return _parse_bare(lines)
    if n_count >= 3 and n_count >= 0.6 * nonblank:
        return _parse_paths(lines, "count")
    if n_path >= 3 and n_path >= 0.6 * nonblank:
        return _parse_paths(lines, "files")
    if n_ptext >= 3 and n_ptext >= 0.6 * nonblank:
        return _parse_path_text(lines)
    return None


def _file_index(p: _Parsed, index: dict[str, int], path: str) -> int:
    f = index.get(path)
    if f is None:
        f = index[path] = len(p.paths)
        p.paths.append(path)
    return f


def _parse_prefixed(lines: list[str], pre: list[re.Match[str] | None]) -> _Parsed:
    """``path:N:text`` matches with ``path-N-text`` context lines and ``--`` separators."""
    p = _Parsed(lines, "prefixed")
    index: dict[str, int] = {}
    kind, fid, tstart, lnum = p.kind, p.fid, p.tstart, p.lnum
    for i, m in enumerate(pre):
        if m is not None:
            kind[i] = M
            fid[i] = _file_index(p, index, m.group(1))
            lnum[i] = int(m.group(2))
            tstart[i] = m.end()
    cur = ""
    for i, ln in enumerate(lines):
        if kind[i] == M:
            cur = p.paths[fid[i]]
            continue
        if not ln:
            kind[i] = B
            continue
        if ln == "--":
            kind[i] = S
            continue
        kind[i] = O
        # a context line of the current file, or of any file that has a match
        if cur and ln.startswith(cur) and (m := _CONTEXT_SEP.match(ln, len(cur))):
            f = index[cur]
        else:
            for m in _CONTEXT_SEP.finditer(ln):
                f = index.get(ln[: m.start()])
                if f is not None:
                    cur = p.paths[f]
                    break
            else:
                continue
        kind[i] = C
        fid[i] = f
        lnum[i] = int(m.group(2))
        tstart[i] = m.end()
        if m.group(1) == "=":
            p.headers.add(i)
    p.nmatch = kind.count(M)
    return p


def _parse_bare(lines: list[str]) -> _Parsed:
    """``N:text`` lines, under path headings (rg --heading, ag --group) or from a search of one file."""
    p = _Parsed(lines, "heading")
    index: dict[str, int] = {}
    kind, fid, tstart = p.kind, p.fid, p.tstart
    cur = -1
    n = len(lines)
    for i, ln in enumerate(lines):
        if not ln:
            kind[i] = B
            continue
        if ln == "--":
            kind[i] = S
            continue
        m = _BARE.match(ln) if "0" <= ln[0] <= "9" else None
        if m and not _CLOCK.match(ln):
            kind[i] = M if m.group(2) == ":" else C
            if cur < 0:
                cur = _file_index(p, index, "")
            fid[i] = cur
            p.lnum[i] = int(m.group(1))
            tstart[i] = m.end()
            continue
        nxt = lines[i + 1] if i + 1 < n else ""
        if nxt and "0" <= nxt[0] <= "9" and _BARE.match(nxt) and not ln[0].isspace():
            kind[i] = H
            cur = fid[i] = _file_index(p, index, ln)
            continue
        kind[i] = O
    p.nmatch = kind.count(M)
    return p


def _parse_paths(lines: list[str], mode: str) -> _Parsed:
    """A list of paths (rg -l, Grep files mode) or of ``path:count``: one item per path, grouped by folder."""
    p = _Parsed(lines, mode)
    index: dict[str, int] = {}
    kind, fid = p.kind, p.fid
    for i, ln in enumerate(lines):
        if not ln:
            kind[i] = B
            continue
        path = None
        if mode == "count":
            m = _COUNT_LINE.match(ln)
            if m and _path_ok(m.group(1)):
                path = m.group(1)
        elif _PATH_LIKE.match(ln):
            path = ln
        if path is None:
            kind[i] = O
            continue
        cut = max(path.rfind("/"), path.rfind("\\"))
        kind[i] = M
        fid[i] = _file_index(p, index, path[:cut] if cut > 0 else ".")
    p.nmatch = kind.count(M)
    return p


def _parse_path_text(lines: list[str]) -> _Parsed:
    """``path:text`` lines (grep -r without -n, Grep content mode without line numbers)."""
    p = _Parsed(lines, "pathtext")
    index: dict[str, int] = {}
    kind, fid, tstart = p.kind, p.fid, p.tstart
    cur = ""
    for i, ln in enumerate(lines):
        if not ln:
            kind[i] = B
            continue
        if ln == "--":
            kind[i] = S
            continue
        m = _PATH_TEXT.match(ln)
        if m:
            kind[i] = M
            cur = m.group(1)
            fid[i] = _file_index(p, index, cur)
            tstart[i] = m.end()
        elif cur and ln.startswith(cur + "-"):
            kind[i] = C
            fid[i] = index[cur]
            tstart[i] = len(cur) + 1
        else:
            kind[i] = O
    p.nmatch = kind.count(M)
    return p


def _parse_json(lines: list[str], deadline: float | None) -> _Parsed | None:
    """ripgrep's --json event stream: begin, match, context, end, summary."""
    p = _Parsed(lines, "json")
    index: dict[str, int] = {}
    kind, fid = p.kind, p.fid
    events = 0
    loads = json.loads
    for i, ln in enumerate(lines):
        if deadline is not None and not i % CHECK_EVERY and past(deadline):
            raise EngineTimeout()
        if not ln.strip():
            kind[i] = B
            continue
        kind[i] = O
        if not ln.startswith("{"):
            continue
        try:
            ev = loads(ln)
        except ValueError:
            continue
        if not isinstance(ev, dict):
            continue
        typ, data = ev.get("type"), ev.get("data")
        if not isinstance(data, dict) or typ not in ("begin", "match", "context", "end", "summary"):
            continue
        events += 1
        if typ == "summary":
            p.summary = i
            continue
        path = data.get("path")
        path = path.get("text") if isinstance(path, dict) else None
        if not isinstance(path, str):
            continue  # a non-UTF-8 path ({"bytes": ...}) stays as it is
        f = _file_index(p, index, path)
        if typ == "begin":
            kind[i] = H
            fid[i] = f
        elif typ == "end":
            kind[i] = E
            fid[i] = f
        else:
            body = data.get("lines")
            body = body.get("text") if isinstance(body, dict) else None
            num = data.get("line_number")
            if not isinstance(body, str) or "\n" in body.rstrip("\r\n"):
                continue  # bytes, or a multiline match: keep the event as it is
            body = body.rstrip("\r\n")
            head = f"{num}:" if typ == "match" else f"{num}-"
            if num is None:
                head = ""
            kind[i] = M if typ == "match" else C
            fid[i] = f
            p.lnum[i] = num if isinstance(num, int) else 0
            p.render[i] = head + body
            p.tstart[i] = len(head)
    if events < 2:
        return None
    p.nmatch = kind.count(M)
    return p


def _indent(s: str) -> int:
    n = 0
    for ch in s:
        if ch == " ":
            n += 1
        elif ch == "\t":
            n += 4
        else:
            break
    return n


def _definition(s: str) -> str | None:
    """The name a line defines (s has no indentation), or None when it is not a definition."""
    m = _DEF.match(s)
    if m:
        return m.group("name") or m.group("name2")
    if s.endswith("{") and "(" in s:
        m = _METHOD.match(s)
        if m and m.group("name") not in _CONTROL:
            return m.group("name")
    m = _FIELD_FUNC.match(s)
    if m:
        name = m.group("name") or m.group("name2")
        if name not in _CONTROL:
            return name
    return None


def _pattern_words(part: Part, texts: list[str]) -> tuple[str, ...]:
    """The literal words of the searched pattern: from the command or Grep input, else the words that
    nearly every match holds (lower-cased)."""
    words: list[str] = []
    pattern = None
    src = part.tool_input or ""
    if src:
        if (part.tool_name or "").lower() == "grep":
            pattern = src
        else:
            pattern = _pattern_from_command(src)
    if pattern:
        words = [w.lower() for w in _WORD.findall(pattern) if w.lower() not in _KEYWORDS]
        if words:
            return tuple(dict.fromkeys(words))
    if not texts:
        return ()
    step = max(1, len(texts) // 300)
    sample = texts[::step]
    counts: Counter[str] = Counter()
    for t in sample:
        counts.update({w.lower() for w in _WORD.findall(t)})
    need = max(3, PATTERN_SHARE * len(sample))
    return tuple(sorted(w for w, c in counts.items() if c >= need and w not in _KEYWORDS))


def _pattern_from_command(command: str) -> str | None:
    """The pattern argument of a grep/rg/ag/ack/git grep command, if one can be found."""
    try:
        argv = shlex.split(command)
    except ValueError:
        return None
    i = 0
    while i < len(argv):
        word = argv[i].rsplit("/", 1)[-1]
        if word in _SEARCH_PROGRAMS or (word == "git" and i + 1 < len(argv) and argv[i + 1] == "grep"):
            i += 2 if word == "git" else 1
            while i < len(argv):
                arg = argv[i]
                if arg in ("-e", "--regexp") and i + 1 < len(argv):
                    return argv[i + 1]
                if arg.startswith("--regexp="):
                    return arg.split("=", 1)[1]
                if arg in _VALUE_OPTS:
                    i += 2
                    continue
                if arg.startswith("-") and arg != "-":
                    i += 1
                    continue
                return arg
            return None
        i += 1
    return None


class SearchEngine:
    """Keeps the matches that answer the question and a few per file; folds the rest by line range."""

    name = "search"

    # ------------------------------------------------------------------ detect
    def detect(self, part: Part) -> float:
        hinted = hint_score(part, _HINTS_MINE)
        if hinted is not None:
            return hinted
        text = part.text[:20_000]
        lines = text.split("\n")
        if len(lines) > 1 and len(part.text) > 20_000 and len(lines) <= 200:
            lines.pop()  # cut mid-line
        lines = _clean(lines[:200], text)
        tool = (part.tool_name or "").lower()
        command = (part.tool_input or "").strip()
        searched = tool == "grep" or (tool == "bash" and _pattern_from_command(command) is not None)
        p = _parse(lines)
        if p is None:
            return 0.6 if tool == "grep" and _FOUND.search(text) else 0.0
        score = self._shape_score(p)
        if p.mode == "files" and searched:
            return 0.92 if tool == "grep" else 0.85
        if searched:
            score = min(0.97, score + 0.15) if score >= 0.3 else score
        elif tool == "read":
            score = min(score, 0.1)
        return score

    @staticmethod
    def _shape_score(p: _Parsed) -> float:
        kind = p.kind
        n_m, n_c, n_h, n_o = kind.count(M), kind.count(C), kind.count(H), kind.count(O)
        nonblank = len(kind) - kind.count(B) - kind.count(S)
        if not nonblank or not n_m:
            return 0.0
        share = (n_m + n_c + n_h + kind.count(E)) / nonblank
        if p.mode == "json":
            return 0.97 if (n_h or n_m) and share >= 0.5 else 0.2
        if p.mode == "prefixed":
            diag = sum(1 for i in range(len(kind)) if kind[i] == M and _DIAG_TEXT.match(p.lines[i], p.tstart[i]))
            if diag >= 0.2 * n_m or n_m < 3:
                return 0.05
            if share >= 0.9:
                return 0.92
            return 0.85 if share >= 0.75 else 0.5 if share >= 0.6 else 0.05
        if p.mode == "heading":
            if n_h and share >= 0.85:
                return 0.9
            # one file's matches (grep -n FILE): only when the line numbers keep rising
            nums = [p.lnum[i] for i in range(len(kind)) if kind[i] in (M, C)]
            rising = sum(1 for a, b in zip(nums, nums[1:]) if b > a)
            return 0.55 if share >= 0.9 and n_m >= 5 and rising >= 0.9 * (len(nums) - 1) else 0.05
        if p.mode == "files":
            found = any(_FOUND.match(p.lines[i]) for i in range(len(kind)) if kind[i] == O)
            return 0.9 if found and n_o <= 3 else 0.1
        if p.mode == "count":
            found = any(_FOUND.match(p.lines[i]) for i in range(len(kind)) if kind[i] == O)
            return 0.9 if found else 0.6 if share >= 0.9 else 0.05
        return 0.6 if share >= 0.9 and len(p.paths) * 2 <= n_m else 0.05  # path:text

    # ---------------------------------------------------------------- compress
    def compress(self, part: Part, ctx: Context) -> Result | None:
        text = part.text
        if not text or not text.strip():
            return None
        raw, ends_nl = split_lines(text)
        lines = _clean(raw, text)
        p = _parse(lines, ctx.deadline)
        if p is None or not p.nmatch:
            return None
        json_mode = p.mode == "json"
        if p.nmatch + p.kind.count(C) < MIN_MATCHES and not json_mode and max(map(len, raw)) <= LONG_LINE:
            return None  # too few matches to fold, and no long line to cut
        if past(ctx.deadline):
            raise EngineTimeout()
        terms = part_terms(part)
        keep = self._select(p, part, terms, ctx.deadline)
        out, omitted = self._render(p, raw, keep, terms, ctx.part_id)
        if not omitted:
            return None
        result = "\n".join(out) + ("\n" if ends_nl else "")
        if len(result) >= len(text):
            return None
        return Result(result, self.name, omitted=omitted)

    # ------------------------------------------------------------------ select
    def _select(self, p: _Parsed, part: Part, terms: tuple[str, ...], deadline: float) -> bytearray:
        lines, kind, fid, tstart = p.lines, p.kind, p.fid, p.tstart
        n = len(lines)
        render = p.render
        nf = len(p.paths)
        total = p.nmatch
        keep = bytearray(n)

        def body(i: int) -> str:
            return render[i][tstart[i]:] if i in render else lines[i][tstart[i]:]

        # context lines belong to the nearest match of their group
        anchor = self._anchors(p)
        # the units kept or dropped whole: one match, or all the matches of a small context group
        units = self._units(p)
        unit_of = {i: u for u, members in enumerate(units) for i in members}
        ufile = [fid[members[0]] for members in units]
        matches: list[list[int]] = [[] for _ in range(nf)]
        for u, f in enumerate(ufile):
            matches[f].append(u)

        # --- query words: those that are not in nearly every match
        qscore: dict[int, float] = {}
        path_hit = bytearray(nf)
        if terms:
            low = [(i, body(i).lower()) for i in range(n) if kind[i] in (M, C)]
            for t in terms:
                hits = [i for i, s in low if t in s]
                m_hits = sum(1 for i in hits if kind[i] == M)
                if hits and m_hits <= max(2, COMMON * total):
                    w = 1.0 / len(hits)
                    for i in hits:
                        a = i if kind[i] == M else anchor[i]
                        if a >= 0:
                            u = unit_of[a]
                            qscore[u] = qscore.get(u, 0.0) + w
                if nf > 1 and p.mode != "files" and p.mode != "count":
                    pf = [f for f in range(nf) if t in p.paths[f].lower()]
                    if pf and len(pf) <= max(1, nf // 2):
                        for f in pf:
                            path_hit[f] = 1
        if past(deadline):
            raise EngineTimeout()

        # --- tiers: 0 definition of the searched symbol, 1 outline definition (non-test file),
        #     2 other definition, 3 plain match, 4 comment, doctest, or a plain match in a test file
        is_test = [bool(_TEST_PATH.search(path)) for path in p.paths]
        pattern = p.pattern = _pattern_words(part, [body(i) for i in range(n) if kind[i] == M])
        tier = [4] * len(units)
        for u, members in enumerate(units):
            test = is_test[ufile[u]]
            best = 4
            for i in members:
                if p.mode in ("files", "count"):
                    best = 4 if p.mode == "count" and lines[i].endswith(":0") else 3
                    break
                s = body(i)
                st = s.lstrip()
                if not st or _COMMENT.match(st):
                    continue
                name = _definition(st) if len(st) <= LONG_LINE else None
                if name is None:
                    t = 4 if test else 3
                else:
                    lname = name.lower()
                    if lname in pattern:
                        t = 0
                    elif _indent(s) <= OUTLINE_INDENT:
                        t = 1 if not test or any(len(w) >= 6 and w in lname for w in pattern) else 2
                    else:
                        t = 4 if test else 2
                best = min(best, t)
            tier[u] = best

        n_ctx = kind.count(C)
        budget = self._budget(total + n_ctx) * total // (total + n_ctx)
        kept = [0] * nf
        used = 0

        def take(u: int) -> None:
            nonlocal used
            members = units[u]
            if not keep[members[0]]:
                for i in members:
                    keep[i] = 1
                kept[ufile[u]] += len(members)
                used += len(members)

        # 1. the matches that hold the question's words, rarest words first
        per_file_q = [0] * nf
        q_limit = max(budget, 60)
        for u in sorted(qscore, key=lambda u: (-qscore[u], u)):
            f = ufile[u]
            if per_file_q[f] < QUERY_CAP and used < q_limit:
                per_file_q[f] += len(units[u])
                take(u)
        # 2. the definitions of the searched symbol
        for u in range(len(units)):
            if tier[u] == 0 and used < budget and kept[ufile[u]] < QUERY_CAP:
                take(u)
        # 3. the first, then the last match of every file; files with a clue first, test files last
        order = sorted(range(nf), key=lambda f: (not (path_hit[f] or kept[f]), is_test[f], f))
        for pick in (0, -1):
            for f in order:
                if used >= budget:
                    break
                if matches[f]:
                    take(matches[f][pick])
        # 4. round-robin over the files by tier
        cands = []
        for f in range(nf):
            rank = [0] * 5
            for u in matches[f]:
                if not keep[units[u][0]]:
                    t = tier[u]
                    cands.append((t, rank[t], f, u))
                    rank[t] += 1
        cands.sort()
        for t, _, f, u in cands:
            if used >= budget:
                break
            cap = CAP_PATH_HIT if path_hit[f] else CAP_TEST if is_test[f] else CAP
            if t == 1 or kept[f] < cap:
                take(u)

        # context lines follow their match; headings their file; anything else is kept
        shown = bytearray(nf)
        for i in range(n):
            if keep[i]:
                shown[fid[i]] = 1
        for i in range(n):
            k = kind[i]
            if k == C:
                a = anchor[i]
                keep[i] = 1 if a >= 0 and keep[a] else 0
            elif k == H:
                keep[i] = shown[fid[i]]
            elif k == O:
                keep[i] = 1
        # separators and blank lines stay between two kept lines
        for i in range(n):
            if kind[i] in (S, B):
                keep[i] = 1 if (i > 0 and keep[i - 1]) and (i + 1 < n and self._next_kept(keep, kind, i)) else 0
        return keep

    @staticmethod
    def _next_kept(keep: bytearray, kind: bytearray, i: int) -> bool:
        j = i + 1
        while j < len(kind) and kind[j] in (S, B):
            j += 1
        return j < len(kind) and bool(keep[j])

    @staticmethod
    def _units(p: _Parsed) -> list[list[int]]:
        """Match lines grouped into the units kept or dropped whole, in order.

        A match is a unit of its own, except in a context group (the lines between two ``--``) of at
        most ``GROUP_MAX`` lines: its matches go together, so a group is shown whole or not at all.
        """
        kind, fid = p.kind, p.fid
        units: list[list[int]] = []
        group: list[int] = []
        size = 0
        has_ctx = False

        def flush() -> None:
            if has_ctx and size <= GROUP_MAX:
                if group:
                    units.append(group)
            else:
                units.extend([i] for i in group)

        prev_f = -2
        for i in range(len(kind)):
            k = kind[i]
            if k not in (M, C) or fid[i] != prev_f:
                flush()
                group, size, has_ctx = [], 0, False
                prev_f = fid[i] if k in (M, C) else -2
                if k not in (M, C):
                    continue
            size += 1
            if k == M:
                group.append(i)
            else:
                has_ctx = True
        flush()
        return units

    @staticmethod
    def _anchors(p: _Parsed) -> list[int]:
        """For each context line, the nearest match line of its group (-1 when it has none).

        Nearness is by line number where both lines give one (rg --json has no ``--`` between
        groups), else by position; a tie goes to the match above, a git grep function line
        (``path=N=``) always belongs to the match below it.
        """
        kind, fid, lnum = p.kind, p.fid, p.lnum
        n = len(kind)
        anchor = [-1] * n
        prev = -1
        for i in range(n):
            k = kind[i]
            if k == M:
                prev = i
            elif k == C:
                anchor[i] = prev if prev >= 0 and fid[prev] == fid[i] else -1
            elif k in (S, H, B, E):
                prev = -1
        nxt = -1
        for i in range(n - 1, -1, -1):
            k = kind[i]
            if k == M:
                nxt = i
            elif k == C:
                if nxt < 0 or fid[nxt] != fid[i]:
                    continue
                a = anchor[i]
                if a < 0 or i in p.headers:
                    anchor[i] = nxt
                elif lnum[i] and lnum[a] and lnum[nxt]:
                    if lnum[nxt] - lnum[i] < lnum[i] - lnum[a]:
                        anchor[i] = nxt
                elif nxt - i < i - a:
                    anchor[i] = nxt
            elif k in (S, H, B, E):
                nxt = -1
        return anchor

    @staticmethod
    def _budget(total: int) -> int:
        """How many matches to keep out of total: all of a few, then a share that shrinks."""
        if total <= MIN_MATCHES:
            return total
        if total <= 600:
            return int(MIN_MATCHES + 0.4 * (total - MIN_MATCHES))
        return int(MIN_MATCHES + 0.4 * 576 + 8 * (total - 600) ** 0.5)

    # ------------------------------------------------------------------ render
    def _gap_counts(self, p: _Parsed, a: int, b: int) -> dict[str, int]:
        kind, fid = p.kind, p.fid
        matches = context = headers = other = ends = 0
        files = set()
        for i in range(a, b + 1):
            k = kind[i]
            if k == M:
                matches += 1
                files.add(fid[i])
            elif k == C:
                context += 1
            elif k == H:
                headers += 1
            elif k == O:
                other += 1
            elif k == E:
                ends += 1
        unit = {"files": "paths", "count": "per-file counts"}.get(p.mode, "matches")
        if matches == 1:
            unit = unit[:-2] if unit.endswith("ches") else unit[:-1]
        if len(files) > 1 and p.mode not in ("files", "count"):
            unit = f"matches in {len(files):,} files"
        counts = {unit: matches, "context lines": context, "other lines": other}
        if p.mode == "json":
            counts["end events"] = ends
        elif headers and p.mode == "heading":
            counts["file headings"] = headers
        return counts

    def _runs(self, p: _Parsed, raw: list[str], keep: bytearray, part_id: str) -> None:
        """Keep a dropped run whose marker would be longer than its lines."""
        render = p.render
        n = len(keep)
        i = 0
        while i < n:
            if keep[i]:
                i += 1
                continue
            j = i
            size = 0
            while j < n and not keep[j]:
                size += len(render[j] if j in render else raw[j]) + 1
                j += 1
            # a marker (~90 characters) costs more tokens per character than code does
            if size <= 100 or (
                size <= 220 and size <= 1.4 * len(line_marker(part_id, i + 1, j, self._gap_counts(p, i, j - 1)))
            ):
                for x in range(i, j):
                    keep[x] = 1
            i = j

    def _render(self, p: _Parsed, raw: list[str], keep: bytearray, terms: tuple[str, ...],
                part_id: str) -> tuple[list[str], int]:
        """Kept lines verbatim (long ones cut to a window), each dropped run as one line marker.

        In json mode a kept match or context event is written as ``N:text`` / ``N-text``, end events
        are dropped, and one marker before the summary says what the compact form left out.
        """
        kind, render = p.kind, p.render
        json_mode = p.mode == "json"
        if json_mode:
            for i in range(len(kind)):
                if kind[i] == E:
                    keep[i] = 1  # dropped below, covered by the one marker
        self._runs(p, raw, keep, part_id)
        out: list[str] = []
        omitted = 0
        compact = None
        if json_mode:
            rendered = sum(1 for i in render if keep[i])
            ends = kind.count(E)
            if rendered or ends:
                counts = {"rendered as N:text lines": rendered, "per-file end events": ends}
                compact = omission_marker(part_id, rendered + ends, "JSON event lines", counts)
                omitted += rendered + ends
        n = len(raw)
        i = 0
        while i < n:
            if not keep[i]:
                j = i
                while j < n and not keep[j]:
                    j += 1
                out.append(line_marker(part_id, i + 1, j, self._gap_counts(p, i, j - 1)))
                omitted += j - i
                i = j
                continue
            k = kind[i]
            if json_mode:
                if k == E:
                    i += 1
                    continue
                if i == p.summary and compact:
                    out.append(compact)
                    compact = None
            line = render.get(i, raw[i])
            if len(line) > LONG_LINE and k in (M, C):
                short = self._shorten(line, p.tstart[i], terms + p.pattern, part_id, i + 1)
                if short is not line and i not in render:
                    omitted += 1
                line = short
            out.append(line)
            i += 1
        if compact:
            out.append(compact)
        return out, omitted

    @staticmethod
    def _shorten(line: str, start: int, terms: tuple[str, ...], part_id: str, number: int) -> str:
        """A window of a long line around the first query or pattern word (else its start), with a marker."""
        low = line.lower()
        at = -1
        for t in terms:
            k = low.find(t, start)
            if k >= 0 and (at < 0 or k < at):
                at = k
        lo = start if at < 0 else max(start, at - WINDOW // 3)
        hi = min(len(line), lo + WINDOW)
        if hi - lo >= len(line) - start - 20:
            return line
        cut = len(line) - start - (hi - lo)
        note = marker(part_id, f"line shortened, {cut:,} of {len(line) - start:,} characters left out", (number, number))
        head = line[:start] + ("…" if lo > start else "")
        return head + line[lo:hi] + ("…" if hi < len(line) else "") + " " + note


register(SearchEngine())
