"""Decide what of a parsed source file to elide: the cuts.

A cut is a run of whole lines replaced by one marker line. What is kept is everything a reader needs to
navigate and call the code: imports, declarations of types, every signature with its decorators or
annotations, constants, doc comments. What is cut, where it is long enough to be worth a marker:

- a function's or method's body (the lines between its opening and closing line), unless the question
  names the function; a huge body made of many functions (an IIFE module, a ``describe`` block) is
  outlined instead of cut whole, its functions' bodies and long runs of other statements cut one by one;
- the middle of a module's or class's docstring (its first line stays), the rest of a long doc
  comment after its summary line, and comments that document nothing (a licence header, a
  commented-out block);
- the inside of a long data literal (a table, a big dict) and of a long ``#define``, their first
  lines kept; likewise a table written as statements, a long run of calls of one function or macro
  outside any function (``mat!(…);`` × 300 in a generated test, ``FMT_TYPE_CONSTANT(…);``,
  ``register(…)``): its first calls show the pattern, the rest go.

C and C++ are often read with the preprocessor's conditional lines and bare macros blanked out
(``parsing.mask_conditionals``); cuts never split an ``#if`` block.

Cuts are whole lines, so the marker's line range gives back exactly what was cut, and they never cut
through a statement, so the output parses wherever the input did (the engine checks it by re-parsing).
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass

from headroom_cli.engines.base import EngineTimeout, past
from headroom_cli.engines.code.languages import Language
from headroom_cli.engines.code.parsing import BARE_MACRO
from headroom_cli.engines.code.wanted import is_wanted

BODY_MIN_ROWS = 3  # a shorter body is kept: reading it costs less than a marker and a retrieval
LITERAL_MIN_ROWS = 12  # a shorter data literal is kept whole
MACRO_MIN_ROWS = 4  # a shorter #define is kept whole
COMMENT_MIN_ROWS = 5  # a shorter comment is kept
DOC_MAX_ROWS = 2  # a longer doc comment may be cut down to its opening lines (when the rest outweighs a marker) ...
DOC_SUMMARY_ROWS = 1  # ... this many lines with words at most, up to its first blank line
STATEMENTS_MIN_ROWS = 6  # a shorter run of statements inside an outlined body is kept
CALL_RUN_MIN = 8  # this many calls of one function or macro in a row, outside any function, are a table ...
CALL_RUN_KEEP = 2  # ... of which the first few stay, to show the pattern
CALL_MAX_ROWS = 4  # (a longer call is code, not a table's row)
OUTLINE_MIN_ROWS = 80  # a body this long that holds ...
OUTLINE_MIN_FUNCTIONS = 3  # ... this many functions (not counting those inside them) ...
OUTLINE_MIN_SHARE = 0.5  # ... making up this share of its lines is a module in disguise: outlined, not cut whole
OUTLINE_FUNCTION_ROWS = 5  # (functions shorter than this do not count)
MARKER_BASE_TOKENS = 27  # what a marker line costs (cl100k) besides the words saying what it stands for
WORTH = 1.25  # a cut must hold this many times its marker's tokens
KEEP_WHOLE_MAX_ROWS = 400  # a class or namespace the question names is kept whole up to this size
NAME_CHARS = 60  # longest symbol name a marker repeats
CHECK_EVERY = 256  # nodes between deadline checks
EDGE_ROWS = 10  # a window's first and last rows this many, where a wrong frame would show as syntax errors
MAX_DEPTH = 120  # nesting below this is kept as it is (a long chain of `a + b + …` nests deep)

_COMMENT_SYNTAX = re.compile(rb"^\s*(?:/\*\*?!?|///?!?|#+:?|\*+/?)|\*/\s*$")
_LICENCE = re.compile(rb"copyright|licen[cs]e|spdx|all rights reserved|permission is hereby granted", re.I)
_CONTAINER_NAMED = frozenset({
    "class_definition", "class_declaration", "class_specifier", "struct_specifier", "namespace_definition",
    "impl_item", "trait_item", "mod_item", "interface_declaration", "enum_declaration", "module", "class",
    "abstract_class_declaration", "internal_module", "record_declaration", "struct_item", "enum_item",
    "namespace_declaration", "trait_declaration",
})
# Declarations of types: kept wherever they are, even among the statements of an outlined body.
_TYPE_DECLARATIONS = frozenset({
    "struct_specifier", "union_specifier", "enum_specifier", "class_specifier", "type_definition",
    "class_declaration", "interface_declaration", "enum_declaration", "type_alias_declaration",
    "abstract_class_declaration", "struct_item", "enum_item", "union_item", "trait_item", "impl_item",
    "type_item", "class_definition", "type_declaration", "record_declaration", "class",
})
# Calls that declare or import (Ruby's attr_accessor, require): never a table, whatever their number.
_DECLARING_CALLS = frozenset({
    "require", "require_relative", "load", "autoload", "include", "extend", "prepend", "using", "attr_reader",
    "attr_writer", "attr_accessor", "attr", "private", "protected", "public", "module_function", "alias_method",
    "private_constant", "public_constant", "delegate", "def_delegator", "def_delegators", "import", "importScripts",
})
_ATTRIBUTES = frozenset({"attribute_item", "attribute", "decorator", "annotation", "marker_annotation", "attribute_list"})
_STRINGS = frozenset({"string", "string_literal", "raw_string_literal", "template_string", "interpreted_string_literal",
                      "concatenated_string", "heredoc_body", "encapsed_string"})


@dataclass(frozen=True)
class Cut:
    first: int  # 0-based row, inclusive
    last: int  # 0-based row, inclusive
    what: str  # what the marker says the lines held, e.g. "body of parse_args"
    style: str  # "statement": Python's `...` plus a comment; "comment": a line comment; "text": inside a string or comment
    indent: str


class Outliner:
    def __init__(self, lang: Language, data: bytes, wanted: frozenset[str], deadline: float, function_query=None,
                 source: bytes | None = None, window: tuple[int, int] | None = None):
        self.lang = lang
        # A framed window's rows (window.py): cuts stay inside them, and a scope that reaches outside
        # them (a made-up frame, a function the window shows only part of) is never cut whole.
        self.window = window
        self.data = data
        self.rows = data.split(b"\n")
        # The file as it is, when data is the file with its preprocessor lines blanked out.
        self.source_rows = source.split(b"\n") if source is not None and source is not data else self.rows
        self.wanted = wanted
        self.deadline = deadline
        self.function_query = function_query  # a tree-sitter query that finds lang.functions under a node
        self.cuts: list[Cut] = []
        self._visited = 0
        self._depth = 0
        self._function_starts: list[int] = []  # start bytes of every function, sorted
        self._function_spans: list[tuple[int, int, int]] = []  # (start byte, end byte, rows) of each, by start
        self._doc_prefixes = tuple(prefix.encode() for prefix in lang.doc_prefixes)

    # ------------------------------------------------------------------------------------------ walking

    def run(self, root) -> list[Cut]:
        if self.function_query is not None:
            self._function_spans = sorted({(node.start_byte, node.end_byte, node.end_point[0] - node.start_point[0])
                                           for node, _ in self.function_query.captures(root)})
            self._function_starts = [span[0] for span in self._function_spans]
        children = root.children
        at_top = self.window is None or self.window[0] == 0  # a window from line 1 starts as its file does
        if self.lang.name == "python" and children and at_top:
            self._docstring(children[0], "module docstring")
        self._level(children, top=at_top)
        kept: list[Cut] = []
        # A window's last line may stop a comment or a statement short: what runs into it stays.
        first_row, last_row = (self.window[0], self.window[1] - 1) if self.window else (0, len(self.rows))
        for cut in sorted(self.cuts, key=lambda cut: (cut.first, -cut.last)):
            if (not kept or cut.first > kept[-1].last) and first_row <= cut.first and cut.last <= last_row:
                kept.append(cut)  # never two markers for one line
        return kept

    def _tick(self) -> None:
        self._visited += 1
        if self._visited % CHECK_EVERY == 0 and past(self.deadline):
            raise EngineTimeout()

    def _level(self, children, top: bool = False, statements_of: str | None = None) -> None:
        """A sequence of siblings: declarations in a module, class or namespace, or the statements of an
        outlined body (``statements_of`` names it: then runs of plain statements are cut too)."""
        comments: list = []  # consecutive comments, each alone on its lines
        plain: list = []  # consecutive statements with no function inside (outlined bodies only)
        calls: list = []  # consecutive calls of one function or macro, with the comments among them
        callee = None  # ... the one they call
        seen_code = not top  # a licence header comes before any code
        for node in children:
            self._tick()
            if is_comment(node):
                if not self._owns_rows(node):
                    continue  # trails code on its line: goes with that code
                if comments and node.start_point[0] > comments[-1].end_point[0] + 1:
                    self._comment_run(comments, None, not seen_code)
                    comments = []
                comments.append(node)
                continue
            licence_position, seen_code = not seen_code, True
            if statements_of is not None and not self._has_function(node) and not _declares_type(node):
                plain.extend(comments)  # comments among statements go with them
                comments = []
                plain.append(node)
                continue
            if plain:
                self._statements(plain, statements_of)
                plain = []
            calling = self._callee(node) if statements_of is None else None
            if calls and calling == callee:
                calls.extend(comments)
                comments = []
                calls.append(node)
                continue
            if calls:
                self._call_run(calls, callee)
                calls = []
            if comments:
                self._comment_run(comments, node, licence_position)
                comments = []
            if calling is not None:
                calls, callee = [node], calling
                continue
            self._visit(node)
        if calls:
            self._call_run(calls, callee)
        if plain:
            self._statements(plain + comments, statements_of)
        elif comments:
            self._comment_run(comments, None, not seen_code)

    def _visit(self, node) -> None:
        kind = node.type
        if self.window is not None and kind != "ERROR" and (
                node.start_point[0] < self.window[0] or _end_row(node) > self.window[1]
                or (kind in self.lang.functions and self._broken_at_edge(node))):
            self._visit_children(node)  # only part of it is in the window, or its body is broken there: its parts may go
            return
        if kind in self.lang.functions:
            self._function(node)
            return
        if node.start_point[0] == node.end_point[0] or kind == "ERROR" or kind in _STRINGS:
            return
        if kind in ("preproc_function_def", "preproc_def"):
            self._macro(node)
            return
        if self._depth > MAX_DEPTH or (node.end_point[0] - node.start_point[0] < LITERAL_MIN_ROWS
                                       and not self._has_function(node)):
            return  # nothing in it worth a cut
        name = node.child_by_field_name("name")
        if name is not None and kind in _CONTAINER_NAMED and is_wanted(self._text(name), self.wanted) \
                and node.end_point[0] - node.start_point[0] <= KEEP_WHOLE_MAX_ROWS:
            return  # the question names this class: kept whole
        if kind in self.lang.literals and not self._has_function(node):
            self._literal(node)
            return
        if kind == "class_definition" and self.lang.name == "python":
            body = node.child_by_field_name("body")
            if body is not None and body.named_child_count:
                self._docstring(body.named_children[0], f"docstring of {symbol_name(node, self.data)}")
        self._visit_children(node)

    def _visit_children(self, node) -> None:
        self._depth += 1
        self._level(node.children)
        self._depth -= 1

    # ----------------------------------------------------------------------------------------- functions

    def _function(self, node) -> None:
        kind = node.child_by_field_name("type")
        if kind is not None and kind.type in ("class_specifier", "struct_specifier", "union_specifier"):
            self._visit_children(node)  # `class EXPORT_MACRO Name {…}` misread as a function: it is a class
            return
        name = symbol_name(node, self.data)
        if is_wanted(name, self.wanted):
            return  # the question names it: its body stays
        body = self._body(node)
        if body is None:
            return
        rows = body.end_point[0] - body.start_point[0]
        if rows >= OUTLINE_MIN_ROWS and self._module_like(body, rows):
            inner = body.children
            if self.lang.name != "python" and not self.lang.body_end_keyword:
                inner = inner[1:-1]  # the braces
            self._level(inner, statements_of=name)
            return
        cut = self._body_cut(node, body, name)
        if cut is not None:
            self.cuts.append(cut)

    def _body(self, node):
        body = node.child_by_field_name("body")
        if body is None and node.type == "macro_definition":
            return node
        if body is None and node.type in ("static_initializer",):
            body = next((c for c in node.children if c.type == "block"), None)
        return body

    def _body_cut(self, node, body, name: str) -> Cut | None:
        if self.lang.name == "python":
            return self._python_body(node, body, name)
        if self.lang.body_end_keyword:
            return self._keyword_body(node, body, name)
        children = body.children
        if node.type == "macro_definition":  # macro_rules! name { … }: the rules between the braces
            children = children[next((i for i, c in enumerate(children) if c.type in ("{", "(", "[")), 0):]
        return self._braced(children, f"body of {name}", ("{", "}"))

    def _braced(self, children, what: str, delimiters=("{[(", "}])")) -> Cut | None:
        """The lines strictly between an opening and a closing delimiter's lines, when the opening line
        ends with the delimiter and the closing line starts with its partner."""
        if len(children) < 2:
            return None
        open_, close = children[0], children[-1]
        if open_.is_missing or close.is_missing or open_.type not in delimiters[0] \
                or close.type not in delimiters[1]:
            return None
        r0, r1 = open_.end_point[0], close.start_point[0]
        if r1 - r0 - 1 < 1:
            return None
        after = self.rows[r0][open_.end_point[1]:].strip()
        if after and not (after.startswith(b"//") or (after.startswith(b"/*") and after.endswith(b"*/"))):
            return None
        if self.rows[r1][:close.start_point[1]].strip():
            return None
        for child in children[1:-1]:
            start, end = child.start_point[0], _end_row(child)
            if start <= r0 < end or start < r1 <= end:
                return None  # a statement shares the opening or closing line: cutting would split it
        return self._cut(r0 + 1, r1 - 1, what, "comment", BODY_MIN_ROWS)

    def _python_body(self, node, block, name: str) -> Cut | None:
        colon = block.prev_sibling
        header_row = colon.end_point[0] if colon is not None else node.start_point[0]
        first = block.start_point[0]
        if first <= header_row:
            return None  # def f(): return 1
        last = block.end_point[0]
        if block.end_point[1] == 0 and last > first:
            last -= 1
        statements = block.named_children
        if statements and statements[0].type == "expression_statement" and statements[0].named_child_count == 1 \
                and statements[0].named_children[0].type in _STRINGS \
                and statements[0].start_point[0] == statements[0].end_point[0] == first:
            first += 1  # a one-line docstring stays: it says what the function does
        return self._cut(first, last, f"body of {name}", "statement", BODY_MIN_ROWS)

    def _keyword_body(self, node, body, name: str) -> Cut | None:
        end = node.children[-1]
        params = node.child_by_field_name("parameters") or node.child_by_field_name("name")
        header_row = params.end_point[0] if params is not None else node.start_point[0]
        if end.type != "end" or body.start_point[0] <= header_row or body.end_point[0] >= end.start_point[0]:
            return None
        return self._cut(header_row + 1, end.start_point[0] - 1, f"body of {name}", "comment", BODY_MIN_ROWS)

    # ------------------------------------------------------------------------------------ other elisions

    def _literal(self, node) -> None:
        cut = self._braced(node.children, f"value of {context_name(node, self.data)}")
        if cut is not None and cut.last - cut.first + 1 >= LITERAL_MIN_ROWS:
            self.cuts.append(cut)

    def _macro(self, node) -> None:
        """A multi-line #define keeps its first line (name and parameters, ending in a backslash); the
        marker line that replaces the rest ends the macro there, as a comment the preprocessor drops."""
        params = node.child_by_field_name("parameters")
        first = params.end_point[0] if params is not None else node.start_point[0]
        last = _end_row(node)
        if not self.rows[first].rstrip().endswith(b"\\") or last - first < MACRO_MIN_ROWS - 1:
            return
        name = node.child_by_field_name("name")
        label = self._text(name) if name is not None else "macro"
        cut = self._cut(first + 1, last, f"body of macro {_clean(label.encode())}", "comment", MACRO_MIN_ROWS - 1)
        if cut is not None:
            self.cuts.append(cut)

    def _docstring(self, first, what: str) -> None:
        """A module's or class's docstring: its first line stays, and its last, which closes the
        string; the lines between go."""
        if first.type != "expression_statement" or first.named_child_count != 1 \
                or first.named_children[0].type not in _STRINGS:
            return
        r0, r1 = first.start_point[0], first.end_point[0]
        cut = self._cut(r0 + 1, r1 - 1, what, "text", COMMENT_MIN_ROWS - 2, indent=_indent(self.rows[r0]))
        if cut is not None:
            self.cuts.append(cut)

    def _comment_run(self, run: list, following, licence_position: bool) -> None:
        """Comments that document nothing go (a licence header, a commented-out block); a long doc
        comment keeps its opening lines, up to its first paragraph's end, and its closing line."""
        if not run:
            return
        first, last = run[0].start_point[0], _end_row(run[-1])
        if last == run[-1].end_point[0] and self.rows[last][run[-1].end_point[1]:].strip():
            return  # code follows the comment on its last line
        texts = [self.data[c.start_byte:c.end_byte] for c in run]
        if licence_position and any(_LICENCE.search(t) for t in texts):
            cut = self._cut(first, last, "licence comment", "comment", COMMENT_MIN_ROWS)
        elif any(t.startswith(self._doc_prefixes) for t in texts) \
                or (following is not None and following.start_point[0] == last + 1):
            cut = self._doc_comment(run, texts, first, last, following)
        else:
            cut = self._cut(first, last, "comment", "comment", COMMENT_MIN_ROWS)
        if cut is not None:
            self.cuts.append(cut)

    def _doc_comment(self, run: list, texts: list[bytes], first: int, last: int, following) -> Cut | None:
        if last - first + 1 <= DOC_MAX_ROWS:
            return None
        keep_to, seen = first, 0  # the opening line and the summary: up to a blank line, DOC_SUMMARY_ROWS at most
        for row in range(first, last):
            words = _COMMENT_SYNTAX.sub(b"", self.rows[row]).strip()
            if not words and seen:
                break
            seen += bool(words)
            keep_to = row
            if seen >= DOC_SUMMARY_ROWS:
                break
        block = len(run) == 1 and texts[0].startswith(b"/*")
        end = last - 1 if block else last  # a block comment's closing line stays
        while following is not None and following.type in _ATTRIBUTES:  # #[cfg(…)], @Override: what follows them
            following = following.next_named_sibling
        owner = declared_name(following, self.data) if following is not None else None
        what = f"doc comment of {owner}" if owner else "doc comment"
        if not block:
            if any(c.start_point[0] <= keep_to < _end_row(c) for c in run):
                return None  # the cut would begin inside a block comment of the run
            return self._cut(keep_to + 1, end, what, "comment", 2)
        if keep_to + 1 > end:
            return None
        row = self.rows[keep_to + 1]
        indent = _indent(row) + ("* " if row.lstrip().startswith(b"*") else "")
        return self._cut(keep_to + 1, end, what, "text", 2, indent=indent)

    def _statements(self, nodes: list, owner: str | None) -> None:
        first, last = nodes[0].start_point[0], nodes[-1].end_point[0]
        if self.rows[first][:nodes[0].start_point[1]].strip() or self.rows[last][nodes[-1].end_point[1]:].strip():
            return  # shares a line with something kept
        style = "statement" if self.lang.name == "python" else "comment"
        cut = self._cut(first, last, f"statements in {owner}", style, STATEMENTS_MIN_ROWS)
        if cut is not None:
            self.cuts.append(cut)

    def _callee(self, node) -> str | None:
        """What a statement that is one short call calls (``register``, ``mat!``), else None."""
        if node.end_point[0] - node.start_point[0] >= CALL_MAX_ROWS:
            return None
        call = node
        if node.type == "expression_statement" and node.named_child_count == 1:
            call = node.named_children[0]
        if call.type in ("call", "call_expression"):
            function = call.child_by_field_name("function") or call.child_by_field_name("method")
            if function is None or call.child_by_field_name("block") is not None:
                return None
            suffix = ""
        elif call.type == "macro_invocation":
            function, suffix = call.child_by_field_name("macro"), "!"
        else:
            return None
        if function is None or function.start_point[0] != function.end_point[0] or self._has_function(node):
            return None
        name = _clean(self.data[function.start_byte:function.end_byte])
        return None if name in _DECLARING_CALLS else name + suffix

    def _call_run(self, run: list, callee: str) -> None:
        """A long run of calls of one function or macro (a table written as code): the first
        CALL_RUN_KEEP calls stay, the rest, with the comments among them, go."""
        calls = [node for node in run if not is_comment(node)]
        if len(calls) < CALL_RUN_MIN:
            return
        kept = calls[CALL_RUN_KEEP - 1]
        following = run[run.index(kept) + 1]  # a comment or the next call: where the cut starts
        first, last = following.start_point[0], _end_row(run[-1])
        if first <= kept.end_point[0] or self.rows[last][run[-1].end_point[1]:].strip():
            return  # shares a line with what stays
        if self.lang.preprocessor and any(BARE_MACRO.match(row) for row in self.source_rows[first:last + 1]):
            return  # a line such as FMT_END_NAMESPACE, blanked out for the grammar, may close a scope
        style = "statement" if self.lang.name == "python" else "comment"
        count = len(calls) - CALL_RUN_KEEP
        cut = self._cut(first, last, f"{count:,} more calls of {callee}", style, 2)
        if cut is not None:
            self.cuts.append(cut)

    # ------------------------------------------------------------------------------------------- helpers

    def _cut(self, first: int, last: int, what: str, style: str, min_rows: int, indent: str | None = None) -> Cut | None:
        if last - first + 1 < min_rows:
            return None
        rows = self.rows[first:last + 1]
        if _tokens(rows) < WORTH * marker_tokens(what):
            return None
        if indent is None:
            indent = next((_indent(row) for row in rows if row.strip()), "")
        return Cut(first, last, what, style, indent)

    def _broken_at_edge(self, node) -> bool:
        """A function of a window whose body holds a syntax error within EDGE_ROWS of the window's
        first or last line: there the frame may have been guessed wrong, and the body's extent with it.
        (An error deeper inside, one the file itself has, is the re-parse check's business, as in a file.)"""
        body = self._body(node)
        if body is None or not body.has_error:
            return False
        first, last = self.window
        stack = [body]
        while stack:
            child = stack.pop()
            if child.type == "ERROR" or child.is_missing:
                if child.start_point[0] < first + EDGE_ROWS or child.end_point[0] > last - EDGE_ROWS:
                    return True
            elif child.has_error:
                stack.extend(child.children)
        return False

    def _owns_rows(self, comment) -> bool:
        """A comment alone on its lines (not trailing code)."""
        row, col = comment.start_point
        return not self.rows[row][:col].strip()

    def _has_function(self, node) -> bool:
        """Whether the node is or holds a function (a one-line getter in an object literal counts: its
        signature must not vanish inside a cut literal)."""
        starts = self._function_starts
        i = bisect_left(starts, node.start_byte)
        return i < len(starts) and starts[i] < node.end_byte

    def _module_like(self, body, rows: int) -> bool:
        """A body made mostly of functions (an IIFE around a module, a ``describe`` block, a factory)."""
        starts = self._function_starts
        i, end = bisect_left(starts, body.start_byte + 1), bisect_left(starts, body.end_byte)
        count = covered = 0
        reach = -1
        for start, stop, span_rows in self._function_spans[i:end]:
            if start >= reach:  # not inside the previous direct one
                if span_rows >= OUTLINE_FUNCTION_ROWS:  # a callback of a few lines is not a part of a module
                    count += 1
                    covered += span_rows
                reach = stop
        return count >= OUTLINE_MIN_FUNCTIONS and covered >= OUTLINE_MIN_SHARE * rows

    def _text(self, node) -> str:
        return self.data[node.start_byte:node.end_byte].decode("utf-8", "replace")


def _tokens(rows: list[bytes]) -> float:
    """About how many cl100k tokens the rows hold: code runs near 3.3 characters a token, and each
    line's indentation and break take about one more (counting exactly would cost more than parsing)."""
    return sum(len(row.strip()) / 3.3 + 1 for row in rows if row.strip())


def marker_tokens(what: str) -> float:
    """About how many tokens the marker line for a cut costs: its ID, line range and syntax are
    about the same for all; the words naming what it stands for run near 4 characters a token."""
    return MARKER_BASE_TOKENS + len(what) / 4


def is_comment(node) -> bool:
    return node.type == "comment" or node.type.endswith("_comment")


def _declares_type(node) -> bool:
    if node.type in _TYPE_DECLARATIONS:
        return True
    return any(child.type in _TYPE_DECLARATIONS and child.child_by_field_name("body") is not None
               for child in node.named_children)


def _end_row(node) -> int:
    """The last row a node has text on (a node that ends with a line break ends at column 0 of the next)."""
    row, column = node.end_point
    return row - 1 if column == 0 and row > node.start_point[0] else row


def _indent(row: bytes) -> str:
    return row[:len(row) - len(row.lstrip())].decode("utf-8", "replace")


# ------------------------------------------------------------------------------------------------ naming

_DECLARATOR_NAMES = frozenset({"identifier", "field_identifier", "qualified_identifier", "destructor_name",
                               "operator_name", "type_identifier", "scoped_identifier", "template_function",
                               "operator_cast"})


def symbol_name(node, data: bytes) -> str:
    """The name a function goes by: its own, its declarator's (C, C++), or the one its context gives an
    anonymous function (the variable, property or key it is assigned to, the call it is passed to)."""
    name = node.child_by_field_name("name")
    if name is not None:
        return _clean(data[name.start_byte:name.end_byte])
    declarator = node.child_by_field_name("declarator")
    while declarator is not None:
        if declarator.type in _DECLARATOR_NAMES:
            return _clean(data[declarator.start_byte:declarator.end_byte])
        inner = declarator.child_by_field_name("declarator")
        if inner is None:  # a reference or pointer declarator: `& name(…)`
            return _clean(data[declarator.start_byte:declarator.end_byte].split(b"(")[0].lstrip(b"&* \t"))
        declarator = inner
    if node.type == "static_initializer":
        return "static initializer"
    return context_name(node, data)


def declared_name(node, data: bytes) -> str | None:
    """The name a declaration gives, looking through wrappers (export, template, decorators), or None."""
    for candidate in (node, *node.named_children[:3]):
        name = candidate.child_by_field_name("name")
        if name is not None and name.end_point[0] == name.start_point[0]:
            return _clean(data[name.start_byte:name.end_byte])
        if candidate.type == "function_definition" and candidate.child_by_field_name("declarator") is not None:
            return symbol_name(candidate, data)
    return None


def context_name(node, data: bytes) -> str:
    """What an anonymous value is called by where it sits: ``x = …``, ``{key: …}``, ``f("name", …)``."""
    parent = node.parent
    for _ in range(3):
        if parent is None:
            break
        for field in ("name", "left", "key", "property", "pattern", "declarator"):
            target = parent.child_by_field_name(field)
            if target is not None and target.start_byte < node.start_byte:
                return _clean(data[target.start_byte:target.end_byte])
        if parent.type in ("arguments", "argument_list"):
            call = parent.parent
            callee = call.child_by_field_name("function") if call is not None else None
            if callee is not None:
                label = data[callee.start_byte:callee.end_byte]
                first = parent.named_children[0] if parent.named_child_count else None
                if first is not None and first.type in _STRINGS and first.start_point[0] == first.end_point[0]:
                    label += b"(" + data[first.start_byte:first.end_byte] + b")"
                return _clean(label)
        if parent.type in ("expression_statement", "program", "module", "source_file", "translation_unit"):
            break
        parent = parent.parent
    return "anonymous function" if node.type not in ("array", "object", "list", "dictionary") else "a literal"


def _clean(raw: bytes) -> str:
    """One line, no bracket that would end a marker early, not too long."""
    text = " ".join(raw.decode("utf-8", "replace").split())
    text = text.replace("]", ")").replace("[", "(").replace("·", ".")
    return text if len(text) <= NAME_CHARS else text[:NAME_CHARS - 1] + "…"
