"""A window of a file (Claude Code's Read with offset/limit, ``sed -n 'A,Bp'``): it may start inside a
class or a function and end inside one, which the grammar reads as syntax errors at both edges. Such
a window is *framed*: made-up lines before it open the scopes it starts in (a class body, a function
body, …, tried in turn, the reading with the fewest errors kept), made-up lines after it close those
it leaves open, and the framed text parses as the file around it would. The engine then cuts only
inside the window, only bodies that begin and end there (``Outliner(window=…)``), checks the framed
output as it checks a file, and takes the frame off again."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

from headroom_cli.engines.code import parsing
from headroom_cli.engines.code.languages import Language
from headroom_cli.engines.code.reading import Reading

MAX_TRIES = 4  # framings parsed at most (each is one parse of the window)
MAX_LEVELS = 6  # a window that starts deeper than this is left alone

_WRAPPER = "headroom_window"  # the made-up scopes' name; no cut that names it survives (cuts stay inside the window)
# Per language, the scopes a window may start inside, likeliest first: the line that opens each.
_OPENERS: dict[str, tuple[str, ...]] = {
    "javascript": ("class HeadroomWindow {", "function headroom_window() {", "headroom_window = {"),
    "typescript": ("class HeadroomWindow {", "function headroom_window() {", "headroom_window = {"),
    "tsx": ("class HeadroomWindow {", "function headroom_window() {", "headroom_window = {"),
    "java": ("class HeadroomWindow {", "void headroom_window() {"),
    "csharp": ("class HeadroomWindow {", "void headroom_window() {"),
    "php": ("class HeadroomWindow {", "function headroom_window() {"),
    "go": ("func headroom_window() {", "type headroom_window struct {", "type headroom_window interface {"),
    "rust": ("impl HeadroomWindow {", "fn headroom_window() {", "mod headroom_window {"),
    "c": ("void headroom_window(void) {", "struct headroom_window {", "int headroom_window[] = {"),
    "cpp": ("struct headroom_window {", "void headroom_window() {", "namespace headroom_window {"),
    "ruby": ("class HeadroomWindow", "def headroom_window"),
}
# A function directly inside a class is written as a method there (JavaScript has no `function` in a class body).
_AS_METHOD = {"function headroom_window() {": "headroom_window() {"}
_PAIRS = {"{": "}", "(": ")", "[": "]"}
_CLOSERS = {"}": "{", ")": "(", "]": "["}
# A string's interpolation (JS `${x}`, Ruby `#{x}`) opens with its own token and closes with `}`.
_INTERPOLATIONS = ("${", "#{")
# Ruby's scopes open with a keyword and close with `end` (a modifier `x if y` opens none).
_RUBY_OPENERS = frozenset({"class", "module", "def", "do", "begin", "case", "if", "unless", "while", "until", "for"})
_QUERIES: dict[str, object] = {}


@dataclass
class Frame:
    head: str  # the lines before the window, each with its line break
    tail: str  # what follows the window: a line break if it ends without one, then the closing lines
    reading: Reading  # of head + window + tail
    source: bytes  # head + window + tail as they are (reading.data may be masked)
    rows: tuple[int, int]  # the window's first and last row in the framed text (0-based, inclusive)

    def wrap(self, text: str) -> str:
        return self.head + text + self.tail

    def unwrap(self, framed: str) -> str:
        return framed[len(self.head):len(framed) - len(self.tail)]


def frame(reading: Reading, text: str, deadline: float | None = None) -> Frame | None:
    """The window framed so that it reads with fewer syntax errors, or None (no frame helps, or the
    window starts somewhere no frame of ours fits: inside a call's arguments, a string)."""
    lang = reading.lang
    raw_bad = len(parsing.error_rows(reading.tree)) + len(parsing.error_spans(reading.tree))
    # A window that starts inside a block comment (a doc comment's middle) is read with the comment
    # opened first; otherwise its words would be taken for code, braces and all.
    comment = "/*\n" if _starts_in_comment(lang, text) else ""
    if comment:
        source = (comment + text).encode("utf-8", "surrogatepass")
        data = parsing.mask_conditionals(source) if reading.masked else source
        reading = Reading(lang, parsing.parse(lang, data, deadline=deadline), data, reading.masked)
    depths = _unbalanced(lang, reading)
    if depths is None:
        return None
    before, after = depths
    tail_lines = [_PAIRS.get(opener, "}" if opener in _INTERPOLATIONS else "end") for opener in reversed(after)]
    sep = "" if text.endswith("\n") else "\n"
    framings: list[tuple[str, list[str]]] = []  # (head, closing lines), likeliest first
    if _enclosed(reading, comment + text):
        # Every line indented: a scope around the whole window (the class a window in the middle of a
        # long class sits in) whose opening and closing lines both lie outside it.
        closer = "end" if lang.name == "ruby" else "}"
        framings += [(head + comment, tail_lines + [closer])
                     for head in _heads(lang, text, before + [closer])[:MAX_TRIES]]
    framings += [(head + comment, tail_lines) for head in _heads(lang, text, before)[:MAX_TRIES]
                 if head or comment or tail_lines]
    if not framings:  # no frame of ours fits, or none is needed
        return None
    window_rows = text.count("\n") + 1
    best: tuple[int, Frame] | None = None
    for head, closing in framings[:MAX_TRIES + 1]:
        tail = sep + "".join(line + "\n" for line in closing) if closing else ""
        source = (head + text + tail).encode("utf-8", "surrogatepass")
        data = source
        if reading.masked:
            data = parsing.mask_conditionals(source)
        tree = parsing.parse(lang, data, deadline=deadline)
        bad = len(parsing.error_rows(tree)) + len(parsing.error_spans(tree))
        first = head.count("\n")
        candidate = Frame(head, tail, Reading(lang, tree, data, reading.masked), source,
                          (first, first + window_rows - 1))
        if best is None or bad < best[0]:
            best = (bad, candidate)
        if bad == 0:
            break
    return best[1] if best is not None and best[0] < raw_bad else None


def _starts_in_comment(lang: Language, text: str) -> bool:
    """A `*/` before any `/*`: the window begins inside a block comment (languages that have them)."""
    if lang.name in ("python", "ruby"):
        return False
    close = text.find("*/")
    return close >= 0 and not 0 <= text.find("/*") < close


def _enclosed(reading: Reading, text: str) -> bool:
    """Whether every non-blank line of the window is indented, but for lines inside a string or a
    comment (a multi-line template string's): then a scope encloses it all. Python frames itself by
    indentation."""
    if reading.lang.name == "python":
        return False
    root = reading.tree.root_node
    lines = text.split("\n")
    if not any(line.strip() for line in lines):
        return False
    for row, line in enumerate(lines):
        if line[:1].isspace() or not line.strip():
            continue
        node = root.descendant_for_point_range((row, 0), (row, 0))
        while node is not None and not ("string" in node.type or "comment" in node.type or "heredoc" in node.type):
            node = node.parent
        if node is None:
            return False
    return True


def _unbalanced(lang: Language, reading: Reading) -> tuple[list[str], list[str]] | None:
    """(the closers the window meets with no opener, innermost first; the openers it leaves open, in
    order), from the tokens of its own reading; None when they do not pair up (a `(` closed by `}`)."""
    query = _query(lang)
    if query is None:
        return None
    tokens = sorted(((node.start_byte, node.type, node) for node, _ in query.captures(reading.tree.root_node)
                     if not node.is_missing), key=lambda token: token[0])
    before: list[str] = []
    stack: list[str] = []
    for _, kind, node in tokens:
        if lang.name == "ruby" and kind in _RUBY_OPENERS:
            parent = node.parent
            if parent is not None and parent.type.endswith("_modifier"):
                continue
            if kind == "do" and parent is not None and parent.type not in ("do_block", "ERROR"):
                continue  # `while x do`: the loop opened the scope already
            stack.append(kind)
        elif kind in _PAIRS or kind in _INTERPOLATIONS:
            stack.append(kind)
        elif kind == "end" or kind in _CLOSERS:
            opener = _CLOSERS.get(kind)
            if stack:
                top = stack.pop()
                if top in _INTERPOLATIONS:
                    if kind != "}":
                        return None
                elif (opener is None) != (top not in _PAIRS) or (opener is not None and top != opener):
                    return None
            else:
                before.append(kind)
    return before, stack


def _heads(lang: Language, text: str, before: list[str]) -> list[str]:
    """The made-up lines to put before the window, likeliest first ([""]: none needed)."""
    if lang.name == "python":
        return [] if before else [_python_head(text)]
    prefix = "<?php\n" if lang.name == "php" and not text.lstrip().startswith("<?") else ""
    if not before:
        return [prefix]
    openers = _OPENERS.get(lang.name)
    if openers is None or len(before) > MAX_LEVELS or any(kind not in ("}", "end") for kind in before):
        return []  # starts inside a call's arguments or a list: no frame of ours fits
    heads = []
    # The innermost scope one kind, those around it another. A window that starts two scopes deep is
    # most likely inside a function (inside a class, a namespace, a function): that first.
    kinds = range(len(openers))
    if len(before) > 1:
        function = next((k for k in kinds if "(" in openers[k]), 0)
        inner_order = [function] + [k for k in kinds if k != function]
        combos = [(inner, outer) for outer in kinds for inner in inner_order]
    else:
        combos = [(k, k) for k in kinds]
    for inner, outer in combos:
        levels = [openers[k] for k in [outer] * (len(before) - 1) + [inner]]  # outermost first
        for i in range(1, len(levels)):
            if levels[i - 1].startswith("class "):
                levels[i] = _AS_METHOD.get(levels[i], levels[i])
        heads.append(prefix + "".join(line + "\n" for line in levels))
        if len(heads) == MAX_TRIES:
            break
    return heads


def _python_head(text: str) -> str:
    """Blocks (``if True:``) at every indentation the window dedents to before it reaches column 0,
    so that the tokenizer's indentation stack holds each of them."""
    levels: list[int] = []
    unit = " "
    lowest = None
    for line in text.split("\n"):
        stripped = line.lstrip()
        if not stripped or stripped.startswith("#"):
            continue
        indent = len(line) - len(stripped)
        if indent and unit == " " and line[0] == "\t":
            unit = "\t"
        if lowest is None or indent < lowest:
            lowest = indent
            if indent == 0:
                break
            levels.append(indent)
    head = []
    at = 0
    for level in sorted(levels):
        head.append(unit * at + "if True:\n")
        at = level
    return "".join(head)


def _query(lang: Language):
    if lang.name not in _QUERIES:
        from tree_sitter_languages import get_language

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            grammar = get_language(lang.grammar)
        tokens = ["{", "}", "(", ")", "[", "]", *_INTERPOLATIONS] + (sorted(_RUBY_OPENERS) + ["end"] if lang.name == "ruby" else [])
        patterns = []
        for token in tokens:
            try:
                grammar.query(f'"{token}" @t')
            except Exception:  # not a token of this grammar
                continue
            patterns.append(f'"{token}" @t')
        _QUERIES[lang.name] = grammar.query(" ".join(patterns)) if patterns else None
    return _QUERIES[lang.name]
