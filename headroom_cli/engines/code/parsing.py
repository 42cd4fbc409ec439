"""tree-sitter parsing for the code engine: one parser per grammar, and the syntax errors of a tree,
so that an output can be checked to have no error its input did not have."""

from __future__ import annotations

import functools
import importlib.util
import re
import threading
import warnings

from headroom_cli.engines.base import cpu_clock, EngineTimeout, past
from headroom_cli.engines.code.languages import Language

MAX_ERROR_ROWS_SHARE = 0.2  # a file with more of its lines inside syntax errors counts as broken
# tree-sitter's own timeout counts wall time, which a loaded machine stretches: it gets this multiple of
# the CPU time left, only as a backstop for a parse that would never end. The budget itself is the CPU
# clock, checked once the parse returns, so a parse the idle machine finishes also finishes under load.
PARSE_WALL_SLACK = 10


@functools.cache
def available() -> bool:
    """tree-sitter-languages has wheels up to Python 3.12 only: without it the code engine stands aside."""
    return importlib.util.find_spec("tree_sitter_languages") is not None


_local = threading.local()  # a parser is not safe to share: the proxy compresses on worker threads


def _parser(grammar: str):
    parsers = _local.__dict__.setdefault("parsers", {})
    if grammar not in parsers:
        from tree_sitter_languages import get_parser

        with warnings.catch_warnings():  # tree-sitter-languages calls a Language() form tree-sitter 0.21 deprecates
            warnings.simplefilter("ignore", FutureWarning)
            parsers[grammar] = get_parser(grammar)
    return parsers[grammar]


def parse(lang: Language, data: bytes, old_tree=None, deadline: float | None = None):
    """The tree of data; EngineTimeout if parsing ran past the deadline (a cpu_clock value): error
    recovery on a file the grammar reads badly can take many times a clean parse."""
    parser = _parser(lang.grammar)
    wall_s = None if deadline is None else (deadline - cpu_clock()) * PARSE_WALL_SLACK
    parser.set_timeout_micros(0 if wall_s is None else max(1, int(wall_s * 1e6)))
    try:
        tree = parser.parse(data, old_tree) if old_tree is not None else parser.parse(data)
    except ValueError:  # "Parsing failed": the timeout
        parser.reset()
        raise EngineTimeout() from None
    if deadline is not None and past(deadline):
        raise EngineTimeout()
    return tree


def reparse(lang: Language, tree, data: bytes, replacements: list[tuple[int, int, bytes]], new_data: bytes,
            deadline: float | None = None):
    """The tree of ``new_data``: ``data`` with rows first..last of each replacement (sorted, 0-based,
    inclusive) replaced by one line. Incremental: the tree of ``data`` is edited (and so spent) and its
    untouched subtrees reused, which costs a fraction of a fresh parse."""
    rows = data.split(b"\n")
    offsets = [0]
    for row in rows:
        offsets.append(offsets[-1] + len(row) + 1)
    for first, last, line in reversed(replacements):  # from the end, so earlier offsets stay right
        start = offsets[first]
        if last + 1 < len(rows):
            tree.edit(start_byte=start, old_end_byte=offsets[last + 1], new_end_byte=start + len(line) + 1,
                      start_point=(first, 0), old_end_point=(last + 1, 0), new_end_point=(first + 1, 0))
        else:  # the last row, with no line break after it
            tree.edit(start_byte=start, old_end_byte=len(data), new_end_byte=start + len(line),
                      start_point=(first, 0), old_end_point=(last, len(rows[last])), new_end_point=(first, len(line)))
    return parse(lang, new_data, tree, deadline)


def _error_nodes(tree):
    """Every ERROR node and MISSING token of the tree, outermost only (an ERROR's inside is not walked)."""
    root = tree.root_node
    if not root.has_error:
        return
    stack = [root]
    while stack:
        node = stack.pop()
        if node.is_missing or node.type == "ERROR":
            yield node
        elif node.has_error:
            stack.extend(node.children)


def error_spans(tree) -> list[tuple[int, int]]:
    """(first row, last row) of every ERROR node and every MISSING token of the tree."""
    return [(node.start_point[0], node.end_point[0]) for node in _error_nodes(tree)]


_CONDITIONAL = re.compile(rb"^[ \t]*#[ \t]*(?:if|ifdef|ifndef|elif|elifdef|elifndef|else|endif)\b")
# A line that is one upper-case macro and nothing else: FMT_BEGIN_NAMESPACE, G_BEGIN_DECLS, Q_OBJECT.
BARE_MACRO = re.compile(rb"^[ \t]*[A-Z_][A-Z0-9_]{2,}(?:[ \t]*\([^;{}]*\))?[ \t]*(?://.*)?\r?$")
# Upper-case macros in front of a declaration, where the grammar expects a type: FMT_CONSTEXPR void f(),
# SQLITE_API int sqlite3_open(…), FMT_MSC_WARNING(suppress : 26495) constexpr …
_LEADING_MACROS = re.compile(rb"^([ \t]*(?:template[ \t]*<[^<>]*>[ \t]+)?(?:(?:static|inline|constexpr|explicit|friend|virtual|extern)[ \t]+)*)"
                             rb"((?:[A-Z_][A-Z0-9_]*[A-Z0-9](?:\([^()]*\))?[ \t]+)+)(?=[A-Za-z_])")


def mask_conditionals(data: bytes) -> bytes:
    """The C preprocessor's conditional lines (#if … #else … #endif, with their continuation lines)
    and lines that are one bare macro (FMT_BEGIN_NAMESPACE) blanked out, every byte where it was.
    tree-sitter reads a declaration split across #if branches, an include guard around a whole header
    or a macro that expands to `namespace fmt {` as syntax errors; with those lines blanked out the
    grammar sees the code around them, and a file it could not read becomes readable."""
    rows = data.split(b"\n")
    blanking = False
    for i, row in enumerate(rows):
        head = row.lstrip()[:1]
        if blanking or (head == b"#" and _CONDITIONAL.match(row)) or (_UPPER_START(head) and BARE_MACRO.match(row)):
            blanking = row.rstrip(b"\r").endswith(b"\\")
            rows[i] = b" " * len(row)
            continue
        if _UPPER_START(head) or row.lstrip().startswith(_DECLARATION_WORDS):
            row = _LEADING_MACROS.sub(_blank_macros, row)
        if b"class " in row or b"struct " in row or b"union " in row:
            row = _CLASS_MACROS.sub(_blank_macros, row)
        rows[i] = row
    return b"\n".join(rows)


_DECLARATION_WORDS = (b"template", b"static", b"inline", b"constexpr", b"explicit", b"friend", b"virtual", b"extern")


def _UPPER_START(head: bytes) -> bool:
    return head.isupper() or head == b"_"


# ... and between `class` and the class's name: class GTEST_API_ Test {
_CLASS_MACROS = re.compile(rb"(\b(?:class|struct|union)[ \t]+)((?:[A-Z_][A-Z0-9_]*[A-Z0-9_](?:\([^()]*\))?[ \t]+)+)(?=[A-Za-z_])")


def _blank_macros(match: re.Match[bytes]) -> bytes:
    macros = match.group(2)
    if len(macros.strip()) < 3 or macros.strip() in (b"FILE", b"NULL"):
        return match.group(0)
    return match.group(1) + b" " * len(macros)


def conditionals_balance(rows: list[bytes]) -> bool:
    """Whether the rows open and close as many #if blocks as they hold, never closing one opened
    before them: cutting them out leaves the conditionals around them as they were."""
    depth = 0
    for row in rows:
        match = _CONDITIONAL.match(row)
        if not match:
            continue
        word = match.group(0).replace(b" ", b"").replace(b"\t", b"")[1:]
        if word.startswith(b"if"):
            depth += 1
        elif word == b"endif":
            depth -= 1
        elif depth == 0:  # #else or #elif of a block opened before the rows
            return False
        if depth < 0:
            return False
    return depth == 0


def error_rows(tree) -> set[int]:
    """The rows that hold an ERROR node (a MISSING token holds none)."""
    return {row for node in _error_nodes(tree) if node.type == "ERROR"
            for row in range(node.start_point[0], node.end_point[0] + 1)}


def broken(tree, row_count: int, bad_rows: int | None = None) -> bool:
    """Too much of the file is syntax errors to trust its tree (not this language, a fragment, a
    preprocessor-heavy file the grammar cannot follow). ``bad_rows``: len(error_rows(tree)), if known."""
    root = tree.root_node
    if not root.has_error:
        return False
    if root.type == "ERROR":
        return True
    bad_rows = len(error_rows(tree)) if bad_rows is None else bad_rows
    return bad_rows > MAX_ERROR_ROWS_SHARE * max(1, row_count)


def new_errors(before: list[tuple[int, int]], after: list[tuple[int, int]], origin: list[range]) -> list[tuple[int, int]]:
    """The (first, last) output rows of the output's errors that the input did not have. ``origin``
    maps each output row to the input rows it shows (a marker line: the rows it stands for). An error
    counts as the input's when every row it maps to held an error in the input (give or take a line):
    error recovery may read one fault a little differently once distant bodies are gone."""
    bad_rows = set()
    for first, last in before:
        bad_rows.update(range(first - 1, last + 2))
    found = []
    for first, last in after:
        rows = [row for out_row in range(first, last + 1)
                for row in (origin[out_row] if out_row < len(origin) else (-1,))]
        if not all(row in bad_rows for row in rows):
            found.append((first, last))
    return found
