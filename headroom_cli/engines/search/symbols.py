"""What a match line is: a definition (of which name), a comment, a test file's line; and the words of
the searched pattern, from the command or the Grep tool's input, else from what nearly every match holds."""

from __future__ import annotations

import re
import shlex
from collections import Counter

from headroom_cli.engines.base import Part

PATTERN_SHARE = 0.7  # a word in at least this share of the matches is taken as the searched pattern
_PATTERN_SAMPLE = 300  # matches read for the words they share

TEST_PATH = re.compile(
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
COMMENT = re.compile(r"(?:#(?:\s|$|!)|//|/\*|\*(?:\s|/|$)|<!--|>>>|\.\.\.(?:\s|$)|-- |;;|%\s)")
_WORD = re.compile(r"[A-Za-z_][\w$]{2,}")
_KEYWORDS = frozenset(
    "def class func function fn return self this import from const let var public private static void int "
    "the and for not".split()
)
_SEARCH_PROGRAMS = frozenset(("grep", "egrep", "fgrep", "rg", "ag", "ack", "ripgrep", "git-grep", "zgrep"))
# Words of _SEARCH_PROGRAMS (and "git grep") one of which a command's text holds, its quotes and
# backslashes taken out, when shlex.split finds one: split only takes those out of a word.
_NAMED = re.compile("grep|rg|ag|ack")
_VALUE_OPTS = frozenset(
    "-A -B -C -m -g -t -T -f --glob --type --type-not --max-count --context --after-context --before-context "
    "--include --exclude --exclude-dir -d -D --color --colour --sort --sortr -M --max-columns -j --threads".split()
)


def indent(s: str) -> int:
    """Columns of leading white space, a tab counting 4."""
    lead = s[:len(s) - len(s.lstrip(" \t"))]
    return len(lead) + 3 * lead.count("\t")


def definition(s: str) -> str | None:
    """The name a line defines (s has no indentation), or None when it is not a definition."""
    m = _DEF.match(s)
    if m:
        return m.group("name") or m.group("name2")
    if s.endswith("{") and "(" in s:
        m = _METHOD.match(s)
        if m and m.group("name") not in _CONTROL:
            return m.group("name")
    m = _FIELD_FUNC.match(s) if "func(" in s or ":" in s else None  # what either form needs
    if m:
        name = m.group("name") or m.group("name2")
        if name not in _CONTROL:
            return name
    return None


def pattern_words(part: Part, texts: list[str]) -> tuple[str, ...]:
    """The literal words of the searched pattern: from the command or Grep input, else the words that
    nearly every match holds (lower-cased)."""
    src = part.tool_input or ""
    pattern = None
    if src:
        pattern = src if (part.tool_name or "").lower() == "grep" else pattern_from_command(src)
    if pattern:
        words = [w.lower() for w in _WORD.findall(pattern) if w.lower() not in _KEYWORDS]
        if words:
            return tuple(dict.fromkeys(words))
    if not texts:
        return ()
    sample = texts[::max(1, len(texts) // _PATTERN_SAMPLE)]
    counts: Counter[str] = Counter()
    for t in sample:
        counts.update({w.lower() for w in _WORD.findall(t)})
    need = max(3, PATTERN_SHARE * len(sample))
    return tuple(sorted(w for w, c in counts.items() if c >= need and w not in _KEYWORDS))


def _pattern_after(argv: list[str], i: int) -> str | None:
    """The pattern among the arguments from ``i`` on: ``-e``'s value, else the first non-option."""
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


def pattern_from_command(command: str) -> str | None:
    """The pattern argument of a grep/rg/ag/ack/git grep command, if one can be found."""
    if not _NAMED.search(command.replace("'", "").replace('"', "").replace("\\", "")):
        return None  # no program of those named: not worth splitting (the router asks every Bash part)
    try:
        argv = shlex.split(command)
    except ValueError:
        return None
    for i, arg in enumerate(argv):
        word = arg.rsplit("/", 1)[-1]
        if word in _SEARCH_PROGRAMS:
            return _pattern_after(argv, i + 1)
        if word == "git" and i + 1 < len(argv) and argv[i + 1] == "grep":
            return _pattern_after(argv, i + 2)
    return None
