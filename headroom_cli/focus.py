"""What the agent is working on, read from the whole conversation: the focus every engine keeps.

The user's latest words say little once an agent is at work; the conversation says much more. A
failing test's id, the frames of a traceback (file, line, function) and the line it stopped at, a
compiler error's location, the pattern the agent just grepped for, the file it Reads or Edits and the
``old_string`` it is about to replace, the identifiers and paths the user and the assistant wrote:
those name what the next tool output must show verbatim.

The focus is a pure function of the request body (the same body gives the same focus), bounded in
size, newest first. The pipeline freezes each decision on a part's first sight, so the focus a part
was first compressed under is the one that counts for it (re-sent history stays byte-identical).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Iterable

from headroom_cli.focus_memo import ReadMemo

MAX_SYMBOLS = 48  # function/class names whose bodies stay whole
MAX_TERMS = 64  # words and paths the engines keep lines with
MAX_LINES = 48  # exact source lines (a traceback's failing line, an Edit's old_string)
MAX_LOCATIONS = 48  # (file, line) pairs from tracebacks and compiler errors
SCAN_CHARS = 100_000  # of each tool output, only the head and the tail are read
TOTAL_SCAN_CHARS = 400_000  # and of a whole conversation, its newest steps up to this much
PER_STEP = 8  # the most symbols, lines or locations one step adds: a long traceback does not take every place
LINE_MIN_CHARS = 8  # a shorter source line ("return", "}") names nothing


@dataclass(frozen=True)
class Focus:
    symbols: tuple[str, ...] = ()  # names of functions, methods and tests: their bodies stay whole
    terms: tuple[str, ...] = ()  # lower-cased words and paths: lines holding one are kept
    lines: tuple[str, ...] = ()  # stripped source lines: the code around them stays
    locations: tuple[tuple[str, int], ...] = ()  # (path as printed, 1-based line) of frames and errors

    def __bool__(self) -> bool:
        return bool(self.symbols or self.terms or self.lines or self.locations)


@dataclass(frozen=True)
class Event:
    """One step of a conversation, provider-neutral: words someone wrote, a tool call, or its output."""

    kind: str  # "user" | "assistant" | "call" | "output"
    text: str = ""
    tool: str = ""
    arguments: Any = None  # a call's input: a dict, or a string


# ------------------------------------------------------------------------------------------ patterns
# The test's name is greedy: what may follow it ("[", a space, a line's end) is no [\w:], so a lazy
# name could only stop where the greedy one does (the same matches; 3x faster on a FAILED line).
_PYTEST_ID = re.compile(r"(?:^|\s)((?:[\w.\-]+/)*[\w.\-]+\.py)::([\w:]+)(?:\[[^\]\s]*\])?(?=\s|$|\s-)", re.M)
_GO_FAIL = re.compile(r"--- FAIL: (\w+)")
_CARGO_FAIL = re.compile(r"^test ([\w:]+) \.\.\. FAILED", re.M)
_JEST_FAIL = re.compile(r"^\s*\u25cf (.+?) \u203a (.+)$", re.M)
_PY_FRAME = re.compile(r'^\s*File "([^"]+)", line (\d+), in ([\w<>.]+)\n(?:\s+(\S.*))?', re.M)
_PYTEST_LOC = re.compile(r"^((?:[\w.\-]+/)*[\w.\-]+\.\w{1,4}):(\d+): (?:in (\w+)|\w*(?:Error|Exception)\b)", re.M)
_LOC_HINT = re.compile(r":\d+: ")  # in each _PYTEST_LOC match
_FAIL_LINE = re.compile(r"^>\s+(\S.*)$", re.M)  # pytest's failing statement
_COMPILER = re.compile(r"^((?:[\w.\-]+/)*[\w.\-]+\.\w{1,5})[:(](\d+)(?:[:,]\d+)?\)?:? *(?:fatal )?(?:error|warning)\b", re.M)
_RUST_LOC = re.compile(r"^\s*--> ((?:[\w.\-]+/)*[\w.\-]+\.\w{1,5}):(\d+)", re.M)
_JS_FRAME = re.compile(r"^\s*at (?:(?:async )?([\w$.<>]+) )?\(?((?:[\w.\-]+/)*[\w.\-]+\.\w{1,4}):(\d+)(?::\d+)?\)?$", re.M)

_TAGGED = re.compile(r"<([\w-]+)>.*?</\1>", re.S)
_BACKTICKED = re.compile(r"`([^`\n]{2,120})`")
_QUOTED = re.compile(r"""'([^'\n]{2,120})'|"([^"\n]{2,120})\"""")
_PATH = re.compile(r"(?<![\w/.])(?:\.{0,2}/)?(?:[\w.\-]+/)+[\w.\-]+|\b[\w\-]+\.(?:py|pyi|js|jsx|ts|tsx|go|rs|c|h|cc|cpp|hpp|java|kt|rb|php|cs|swift|scala|sh|md|rst|toml|yaml|yml|json|cfg|ini|txt|html|css|sql)\b")
_IDENT = re.compile(r"[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*")
# An identifier worth keeping from prose: it has an underscore, an inner capital, a dot or a digit
# (sync_do_slice, parseAsync, Table.padding); plain English words are not.
_CODEISH = re.compile(r"[A-Za-z_$]*(?:_[\w$]|[a-z][A-Z]|[A-Za-z]\.[A-Za-z_]|[A-Za-z]\d)[\w$.]*")
_PATTERN_WORDS = re.compile(r"[A-Za-z_$][\w$]{2,}")
_COMMON = frozenset(
    "self cls this none null true false def class return import from pass else elif args kwargs len str int "
    "list dict set tuple print async await function const let var new the and for not with while".split())
_SKIP_FRAMES = ("site-packages", "dist-packages", "/lib/python", "<frozen", "node_modules", "/usr/lib")
_INSTALLED = re.compile(r".*(?:site-packages|dist-packages|node_modules)/")
_EDIT_TOOLS = frozenset(("edit", "multiedit", "write", "str_replace_editor", "apply_patch", "notebookedit"))
_SEARCH_PROGRAMS = frozenset(("grep", "egrep", "fgrep", "rg", "ag", "ack", "sed", "awk", "find", "fd"))
_GREPS = frozenset(("grep", "egrep", "fgrep", "rg", "ag", "ack"))
_SHELL_SPLIT = re.compile(r"""'[^']*'|"(?:[^"\\]|\\.)*"|\S+""")


class _Collector:
    """Items in order of first sight, each list capped (newest events are fed first)."""

    def __init__(self) -> None:
        self.room = {"symbols": PER_STEP, "lines": PER_STEP, "locations": PER_STEP}
        self.stepped = False  # a new step began: the room is given again at the step's first _take
        self.symbols: dict[str, None] = {}
        self.terms: dict[str, None] = {}
        self.lines: dict[str, None] = {}
        self.locations: dict[tuple[str, int], None] = {}

    def symbol(self, name: str | None) -> None:
        if name and len(name) >= 3 and name.lower() not in _COMMON and len(self.symbols) < MAX_SYMBOLS \
                and self._take("symbols", name, self.symbols):
            self.term(name)

    def term(self, word: str | None) -> None:
        word = (word or "").strip(" .,:;()[]{}'\"`").lower()
        if 3 <= len(word) <= 200 and word not in _COMMON and len(self.terms) < MAX_TERMS:
            self.terms.setdefault(word)

    def path(self, path: str | None) -> None:
        path = (path or "").strip(" '\"`,:;()")
        if not path:
            return
        self.term(path.lstrip("./"))
        base = path.rstrip("/").rsplit("/", 1)[-1]
        if "." in base and base != path:
            self.term(base)

    def line(self, text: str | None) -> None:
        text = (text or "").strip()
        if len(text) >= LINE_MIN_CHARS and len(self.lines) < MAX_LINES:
            self._take("lines", text[:300], self.lines)

    def location(self, path: str, line: str | int, installed: bool = False) -> None:
        """``installed``: a frame of an installed package, its path from the package on (``click/types.py``):
        it points into a Read of that package's own source, the project an agent may be working on."""
        if (not installed and any(skip in path for skip in _SKIP_FRAMES)) or len(self.locations) >= MAX_LOCATIONS:
            return
        if self._take("locations", (path, int(line)), self.locations) and not installed:
            self.path(path)

    def step(self) -> None:
        """A new step of the conversation: each kind gets its room again, at the step's first new item
        (most steps take none: a re-sent output replays items the collector holds already)."""
        self.stepped = True

    def _take(self, kind: str, item, into: dict) -> bool:
        if item in into:
            return True
        if self.stepped:
            self.stepped = False
            self.room = dict.fromkeys(self.room, PER_STEP)
        if self.room[kind] <= 0:
            return False
        self.room[kind] -= 1
        into[item] = None
        return True

    def focus(self) -> Focus:
        return Focus(tuple(self.symbols), tuple(self.terms), tuple(self.lines), tuple(self.locations))


_READ = ReadMemo()  # a re-sent output is read once (focus_memo.py)


def focus_of(events: Iterable[Event]) -> Focus:
    """The focus of a conversation given oldest first (read newest first, so the latest steps win a
    place when the caps are reached)."""
    found = _Collector()
    budget = TOTAL_SCAN_CHARS
    for event in reversed(list(events)):
        budget -= min(len(event.text), SCAN_CHARS)
        if budget < 0:
            break  # the oldest steps of a very long conversation: the newest already fill the focus
        found.step()
        if event.kind == "output":
            _READ.read(_from_output, event.text, found)
        elif event.kind == "call":
            _from_call(event.tool, event.arguments, found)
        elif event.kind in ("user", "assistant"):
            if event.kind == "user":  # a pasted traceback, or aider's pasted test output
                _READ.read(_from_output, event.text, found)
            _READ.read(_from_words, event.text, found)
    return found.focus()


# ------------------------------------------------------------------------------------ tool outputs
def _from_output(text: str, found: _Collector) -> None:
    if len(text) > SCAN_CHARS:
        text = text[:SCAN_CHARS // 2] + "\n" + text[-SCAN_CHARS // 2:]
    if "::" in text:
        # Each failing test once: pytest names it on its line and again in the summary, and a call the
        # collector had in this step changes nothing the second time (what it holds only grows, its
        # room only shrinks), so the memo need not keep nor replay it.
        failed = dict.fromkeys((m.group(1), m.group(2).rsplit("::", 1)[-1]) for m in failed_test_ids(text))
        for path, name in failed:
            found.path(path)
            found.symbol(name)
    for match in _GO_FAIL.finditer(text):
        found.symbol(match.group(1))
    for match in _CARGO_FAIL.finditer(text) if " ... FAILED" in text else ():
        found.symbol(match.group(1).rsplit("::", 1)[-1])
    for match in _JEST_FAIL.finditer(text) if "\u25cf" in text else ():
        found.term(match.group(2).strip())
    if 'File "' in text:
        installed = []
        for path, line, function, source in _PY_FRAME.findall(text):
            if not any(skip in path for skip in _SKIP_FRAMES):
                found.location(path, line)
                if not function.startswith("<"):
                    found.symbol(function.rsplit(".", 1)[-1])
                found.line(source)
            elif (package := _INSTALLED.search(path)) is not None:
                installed.append((path[package.end():], line))
        for path, line in installed:  # last, with the room the project's own frames left
            found.location(path, line, installed=True)
    for path, line, function in _pytest_locations(text):
        found.location(path, line)
        found.symbol(function)
    for source in _fail_lines(text):
        found.line(source)
    # Both patterns match within one line, and only a line with these words: scanning only such lines
    # gives the same matches (a pytest -v log's every line made _COMPILER backtrack: ms per output).
    for path, line in (_COMPILER.findall(_lines_with(text, ("error", "warning")))
                       + (_RUST_LOC.findall(text) if "--> " in text else [])):
        found.location(path, line)
    for function, path, line in _js_frames(text):
        found.location(path, line)
        found.symbol(function.rsplit(".", 1)[-1] if function else None)


# Each narrow scan below finds what its pattern's findall over the whole text finds (test_focus_scan.py):
# a ^ under re.M is tried at every character, 20-35 µs per 4 KB of output for each of these patterns.
def _pytest_locations(text: str) -> list[tuple[str, str, str]]:
    """_PYTEST_LOC.findall(text): a match lies within one line, which holds ": in ", "Error" or
    "Exception", and holds ":<digits>: " (one search that rules out most outputs)."""
    if _LOC_HINT.search(text) is None:
        return []
    return _PYTEST_LOC.findall(_lines_with(text, (": in ", "Error", "Exception")))


def _js_frames(text: str) -> list[tuple[str, str, str]]:
    """_JS_FRAME.findall(text): a match ends within the line that holds its "at "; its leading spaces may
    start it on a blank line above, but with the same groups a scan of that line alone finds."""
    return _JS_FRAME.findall(_lines_with(text, ("at ",)))


def _fail_lines(text: str) -> list[str]:
    """_FAIL_LINE.findall(text), tried only where a line starts with ">" (where any match starts; the
    spaces after the ">" may run on into the lines below, so each is matched in the whole text)."""
    found: list[str] = []
    end = 0  # findall goes on from the end of the last match
    for start in _starting(text, ">") if ">" in text else ():
        if start >= end and (match := _FAIL_LINE.match(text, start)) is not None:
            found.append(match.group(1))
            end = match.end()
    return found


def _starting(text: str, prefix: str):
    """Where the lines that start with prefix start, in order."""
    if text.startswith(prefix):
        yield 0
    at = text.find("\n" + prefix)
    while at >= 0:
        yield at + 1
        at = text.find("\n" + prefix, at + 1)


def _line_starts(text: str, words: tuple[str, ...]) -> list[int]:
    """Where each line that holds one of the words starts, in order."""
    starts = set()
    for word in words:
        at = text.find(word)
        while at >= 0:
            starts.add(text.rfind("\n", 0, at) + 1)
            end = text.find("\n", at)
            at = text.find(word, end) if end >= 0 else -1
    return sorted(starts)


def _lines_with(text: str, words: tuple[str, ...]) -> str:
    """The lines of text that hold one of the words, in order, each with its newline."""
    pieces = []
    for start in _line_starts(text, words):
        end = text.find("\n", start)
        pieces.append(text[start:] if end < 0 else text[start:end + 1])
    return "".join(pieces)


def failed_test_ids(text: str) -> list[re.Match]:
    """The _PYTEST_ID matches on a line that says it failed or errored (one of _FAIL_WORDS; not each
    PASSED line of a -v run), in order, scanning only those lines and the line after each. A match lies
    within one line holding "::", bar a leading newline, and a scan from that newline is fresh (no match
    covers a newline it does not start with). A match that starts with its newline is read with the line
    before it: so all of a line that says FAIL counts, and of the line after it only the match that
    starts with the newline between them (test_focus_scan.py checks this against filtering every match)."""
    failing = set(_line_starts(text, _FAIL_WORDS))
    after = {end + 1 for end in (text.find("\n", start) for start in failing) if end >= 0}
    found = []
    for start in sorted(failing | after):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end
        if text.find("::", start, end) < 0:
            continue
        if start in failing:
            found.extend(_PYTEST_ID.finditer(text, max(0, start - 1), end))
        elif (match := _PYTEST_ID.match(text, start - 1, end)) is not None:
            found.append(match)
    return found


_FAIL_WORDS = ("FAIL", "ERROR", "Error", "failed")


# -------------------------------------------------------------------------------------- tool calls
def _from_call(tool: str, arguments: Any, found: _Collector) -> None:
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except ValueError:
            arguments = {"command": arguments}
    if not isinstance(arguments, dict):
        return
    name = tool.lower().rsplit("__", 1)[-1]
    for key in ("file_path", "path", "notebook_path", "filename"):
        if isinstance(arguments.get(key), str):
            found.path(arguments[key])
    if name in _EDIT_TOOLS:
        edits = arguments.get("edits") if isinstance(arguments.get("edits"), list) else [arguments]
        for edit in edits:
            old = edit.get("old_string") or edit.get("old_str") if isinstance(edit, dict) else None
            if isinstance(old, str):
                for row in old.splitlines()[:MAX_LINES]:
                    found.line(row)
                _identifiers(old, found)
    for key in ("pattern", "query", "regex", "glob"):
        if isinstance(arguments.get(key), str):
            _pattern(arguments[key], found)
    command = arguments.get("command") or arguments.get("cmd")
    if isinstance(command, list):
        command = " ".join(str(c) for c in command)
    if isinstance(command, str):
        _READ.read(_command, command, found)


def _command(command: str, found: _Collector) -> None:
    """A shell command's search patterns and the paths it names (grep -n 'def f' src/, sed -n 10,20p a.py).
    Quoted text of other programs (a ``python -c`` script) only gives its code-like identifiers."""
    program, searching, bare = "", False, 0
    for token in _tokens(command[:2000]):
        if token in ("|", "||", "&&", ";") or not program:
            program = "" if token in ("|", "||", "&&", ";") else token.rsplit("/", 1)[-1]
            searching, bare = program in _SEARCH_PROGRAMS, 0
            continue
        if token[:1] in "'\"" and len(token) > 2:
            (_pattern if searching else _identifiers)(token[1:-1], found)
        elif "::" in token:
            found.path(token.split("::", 1)[0])
            found.symbol(token.rsplit("::", 1)[-1].split("[", 1)[0])
        elif token.startswith("-"):
            continue
        elif ("/" in token or _PATH.fullmatch(token)) and "*" not in token:
            found.path(token)
        elif program in _GREPS and not bare:
            bare = 1
            _pattern(token, found)


_SHELL_OPERATORS = re.compile(r"(\|\||&&|[|;])")
_ALTERNATION = re.compile(r"\\?\|")  # grep's \| and an ERE's |
_DECLARING = frozenset(("def", "class", "function", "func", "async", "const", "let", "var", "pub", "impl"))
_ABBREVIATION = re.compile(r"[A-Za-z]\.[A-Za-z]\.?")


def _tokens(command: str):
    """Shell words, quotes kept, with ``;`` ``|`` ``&&`` as words of their own even when glued on."""
    for token in _SHELL_SPLIT.findall(command):
        if token[:1] in "'\"":
            yield token
            continue
        for piece in _SHELL_OPERATORS.split(token):
            if piece:
                yield piece


def _pattern(pattern: str, found: _Collector) -> None:
    """The identifiers of a search pattern: ``def sync_do_slice\\|def do_slice`` names both functions."""
    for alternative in _ALTERNATION.split(pattern):
        words = _PATTERN_WORDS.findall(alternative)
        for word in words:
            if word.lower() not in _DECLARING:
                found.symbol(word)


# ------------------------------------------------------------------------------ the people's words
def _from_words(text: str, found: _Collector) -> None:
    text = _TAGGED.sub(" ", text[:SCAN_CHARS])  # <environment_context>…: what a client injected, not words
    for match in _BACKTICKED.finditer(text):
        _identifiers(match.group(1), found)
    for path in _PATH.findall(text):
        found.path(path)
    for word in _CODEISH.findall(_PATH.sub(" ", text)):
        if not word.endswith(".") and not _ABBREVIATION.fullmatch(word):  # e.g., i.e.
            found.symbol(word.rsplit(".", 1)[-1])
            found.term(word)
    for groups in _QUOTED.findall(text):
        quoted = groups[0] or groups[1]
        if _IDENT.fullmatch(quoted) and len(quoted) >= 3:
            found.symbol(quoted)


def _identifiers(text: str, found: _Collector) -> None:
    for word in _IDENT.findall(text):
        last = word.rsplit(".", 1)[-1]
        if _CODEISH.fullmatch(word) or _CODEISH.fullmatch(last):
            found.symbol(last)

