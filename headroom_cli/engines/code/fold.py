"""Fold a whole-file Read down to the code the conversation is about.

When the focus points into a file (a traceback's frame, the function the agent grepped for or is about
to edit, a failing test), the agent reads that file for that code. An outline of the hundred other
functions costs it more than it tells: each signature and marker line is paid again on every later
request. So each run of definitions the focus does not touch becomes one marker line that names them
with their line numbers (a ranged Read or ``retrieve --lines`` gives any of them back exactly). What
stays: the imports and the file's head, the focused code whole, the classes around it, and in outline
the code that calls what the focus names (the callers of the function to fix) and what the focused code
calls.

A file the focus does not point into keeps its outline: then the agent reads it to find its way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from headroom_cli.engines.code.languages import Language
from headroom_cli.engines.code.outline import (Cut, declared_name, is_comment, marker_tokens, symbol_name, WORTH,
                                               _clean, _end_row, _indent, _tokens)
from headroom_cli.engines.code.wanted import is_wanted

FOLD_MIN_ROWS = 12  # a shorter run of untouched code stays as the outline shows it
AMBIGUOUS_DEFINITIONS = 2  # a name the focus gives that is defined more often here points at none of them
NAMES_SHOWN = 60  # a fold names at most this many definitions, in file order; the rest are counted
_HEAD = frozenset({
    "import_statement", "import_from_statement", "future_import_statement", "preproc_include", "use_declaration",
    "import_declaration", "package_declaration", "package_clause", "using_directive", "extern_crate_declaration",
    "namespace_use_declaration", "php_tag", "module_declaration",
})
_CONTAINERS = frozenset({
    "class_definition", "class_declaration", "class_specifier", "struct_specifier", "impl_item", "trait_item",
    "mod_item", "interface_declaration", "namespace_definition", "namespace_declaration", "class", "module",
    "abstract_class_declaration", "internal_module", "record_declaration", "trait_declaration", "decorated_definition",
    "export_statement", "template_declaration",
})
_REQUIRE = re.compile(rb"\brequire(?:_relative)?\s*\(|\bimport\s*\(")
_BODIES = frozenset({"block", "class_body", "declaration_list", "field_declaration_list", "body_statement",
                     "interface_body", "enum_body", "statement_block", "compound_statement"})


@dataclass
class Unit:
    """One declaration or statement at the level being folded, with the comments just above it."""

    first: int  # 0-based rows, inclusive
    last: int
    node: object
    name: str | None
    role: str = "other"  # "focus": holds what the focus names; "near": uses it; "head": imports; "other"
    inner: list["Unit"] = field(default_factory=list)  # a container's members, when the focus is inside


@dataclass(frozen=True)
class Aim:
    """What the focus points at in this file: rows (0-based) and the names of wanted definitions."""

    rows: frozenset[int]
    wanted: frozenset[str]


def fold(root, data: bytes, lang: Language, aim: Aim, row_to_line: int, functions=None) -> list[Cut]:
    """The folds of a whole file: none when the focus touches nothing here (it keeps its outline).
    ``functions``: the tree-sitter query that finds the language's functions (a wanted one is a hit)."""
    rows = data.split(b"\n")
    if functions is not None and aim.wanted:
        aim = Aim(aim.rows | _named_rows(root, data, aim.wanted, functions), aim.wanted)
    units = _units(root.children, data, aim)
    if not any(unit.role == "focus" for unit in units):
        return []
    _mark_near(units, data)
    return _folds(units, rows, lang, row_to_line)


def _named_rows(root, data: bytes, wanted: frozenset[str], functions) -> set[int]:
    """The first rows of the functions the focus names, except a name defined in many places here
    (twelve `convert` methods): that alone says none of them is the one."""
    rows: dict[str, list[int]] = {}
    for node, _ in functions.captures(root):
        name = symbol_name(node, data)
        if is_wanted(name, wanted):
            rows.setdefault(name, []).append(node.start_point[0])
    return {row for found in rows.values() if len(found) <= AMBIGUOUS_DEFINITIONS for row in found}


def merge(cuts: list[Cut], folds: list[Cut]) -> list[Cut]:
    """The outline's cuts with the folds in place of those they overlap; the outline's cuts alone when
    the folds would hide fewer lines (where #if blocks forbid most of them)."""
    kept = [cut for cut in cuts if not any(f.first <= cut.last and cut.first <= f.last for f in folds)]
    merged = sorted(kept + folds, key=lambda cut: cut.first)
    hidden = sum(cut.last - cut.first + 1 for cut in merged)
    return merged if folds and hidden > sum(cut.last - cut.first + 1 for cut in cuts) else cuts


# ------------------------------------------------------------------------------------------------ units

def _units(children, data: bytes, aim: Aim) -> list[Unit]:
    units: list[Unit] = []
    pending: list = []  # comments waiting for what they sit above
    for node in children:
        if not node.is_named:
            continue
        if is_comment(node):
            pending.append(node)
            continue
        doc = not units and node.type == "expression_statement" and node.named_child_count == 1 \
            and node.named_children[0].type in ("string", "concatenated_string")
        first = node.start_point[0]
        if pending and pending[-1].end_point[0] >= first - 1:  # a comment right above: its doc
            first = _attached(pending, first)
        for comment in pending:
            if comment.start_point[0] < first:
                units.append(_unit(comment, comment.start_point[0], data, aim))
        pending = []
        unit = _unit(node, first, data, aim)
        if doc:
            unit.role = "head"  # a module's or class's docstring: what it is for
        units.append(unit)
    units.extend(_unit(comment, comment.start_point[0], data, aim) for comment in pending)
    return units


def _attached(comments: list, first: int) -> int:
    """The first row of the block of comments that runs without a gap up to row ``first``."""
    for comment in reversed(comments):
        if _end_row(comment) < first - 1:
            break
        first = comment.start_point[0]
    return first


def _unit(node, first: int, data: bytes, aim: Aim) -> Unit:
    unit = Unit(first, _end_row(node), node, declared_name(node, data) or _assigned_name(node, data))
    if node.type in _HEAD or (unit.first == unit.last and _REQUIRE.search(data, node.start_byte, node.end_byte)):
        unit.role = "head"  # imports, and CommonJS's `const x = require('x')`
        return unit
    if not any(unit.first <= row <= unit.last for row in aim.rows) and not _names_wanted(node, data, aim.wanted):
        return unit
    body = _members(node)
    if body is not None:
        inner = _units(body, data, aim)
        if any(member.role == "focus" for member in inner):
            unit.inner = inner
    unit.role = "focus"
    return unit


def _assigned_name(node, data: bytes) -> str | None:
    """What a top-level assignment defines: ``proto.route = function route(…)``, ``MAX = 3``."""
    if node.type != "expression_statement" or node.named_child_count != 1:
        return None
    assignment = node.named_children[0]
    target = assignment.child_by_field_name("left") if "assignment" in assignment.type else None
    if target is None or target.start_point[0] != target.end_point[0] or target.end_byte - target.start_byte > 60:
        return None
    return _clean(data[target.start_byte:target.end_byte])


def _names_wanted(node, data: bytes, wanted: frozenset[str]) -> bool:
    """Whether the focus names this declaration itself (a class; functions come as rows, see fold)."""
    name = declared_name(node, data)
    return name is not None and is_wanted(name, wanted)


def _members(node):
    """A container's members (a class's methods, a namespace's declarations), or None."""
    if node.type not in _CONTAINERS:
        return None
    body = node.child_by_field_name("body") or node.child_by_field_name("definition") \
        or node.child_by_field_name("declaration")
    if body is None:
        body = next((child for child in node.named_children if child.type in _BODIES), None)
    if body is None or body.type not in _BODIES and body.type not in _CONTAINERS:
        return None
    return [body] if body.type in _CONTAINERS else body.children


def _focused(units: list[Unit]) -> list[Unit]:
    """The innermost focused units: a focused method, not the class around it."""
    found = []
    for unit in units:
        if unit.role == "focus":
            inner = _focused(unit.inner)
            found.extend(inner or [unit])
    return found


_NOT_A_DEFINITION = rb"(?<!def )(?<!fn )(?<!func )(?<!function )"  # `def convert(` declares, it does not call
_CALL = re.compile(_NOT_A_DEFINITION + rb"(?<![\w$])([A-Za-z_$][\w$]*)\s*\(")


def _mark_near(units: list[Unit], data: bytes) -> None:
    """Code that calls a focused definition (a caller of the function to fix) and the definitions a
    focused body calls (what it uses) keep their outline: the signatures the agent is likely to need."""
    focused = _focused(units)
    names = frozenset(n for n in (unit.name.rsplit(".", 1)[-1] for unit in focused if unit.name) if len(n) >= 3)
    called = frozenset(m.group(1).decode("utf-8", "replace") for unit in focused
                       for m in _CALL.finditer(data, unit.node.start_byte, unit.node.end_byte))
    # A call, not any use of the word: `route` names a function here and a variable in the next one.
    calls = re.compile(_NOT_A_DEFINITION + rb"(?<![\w$])(?:" + b"|".join(re.escape(n.encode()) for n in sorted(names))
                       + rb")\s*\(") if names else None
    _near(units, data, calls, called)


def _near(units: list[Unit], data: bytes, calls: re.Pattern | None, called: frozenset[str]) -> None:
    for unit in units:
        if unit.role == "other" and not is_comment(unit.node) and (
                (unit.name is not None and unit.name.rsplit(".", 1)[-1] in called)
                or (calls is not None and calls.search(data, unit.node.start_byte, unit.node.end_byte))):
            unit.role = "near"
        _near(unit.inner, data, calls, called)


# ------------------------------------------------------------------------------------------------ folds

def _folds(units: list[Unit], rows: list[bytes], lang: Language, row_to_line: int) -> list[Cut]:
    folds: list[Cut] = []
    run: list[Unit] = []
    for unit in units + [None]:
        if unit is not None and unit.role == "other":
            run.append(unit)
            continue
        if run:
            cut = _fold(run, rows, lang, row_to_line)
            if cut is not None:
                folds.append(cut)
            run = []
        if unit is not None and unit.inner:
            folds.extend(_folds(unit.inner, rows, lang, row_to_line))
    return folds


def _fold(run: list[Unit], rows: list[bytes], lang: Language, row_to_line: int) -> Cut | None:
    first, last = run[0].first, run[-1].last
    if last - first + 1 < FOLD_MIN_ROWS:
        return None
    if rows[first][:run[0].node.start_point[1]].strip() and run[0].first == run[0].node.start_point[0]:
        return None  # shares its first line with something kept
    what = _describe(run, row_to_line)
    if _tokens(rows[first:last + 1]) < WORTH * marker_tokens(what):
        return None
    return Cut(first, last, what, "comment", _indent(rows[first]))


def _describe(run: list[Unit], row_to_line: int) -> str:
    """``12 definitions: ignore_case 49, make_attrgetter 58, … (3 more)``: names with their first line."""
    named = [unit for unit in run if unit.name]
    code = [unit for unit in run if not is_comment(unit.node)]
    if not code:
        return "comments"
    shown = [f"{unit.name} {unit.node.start_point[0] + row_to_line}" for unit in named[:NAMES_SHOWN]]
    more = len(named) - len(shown)
    others = len(code) - len(named)
    what = f"{len(named):,} definition{'s' if len(named) != 1 else ''}"
    if shown:
        what += ": " + ", ".join(shown) + (f", … ({more:,} more)" if more else "")
    if others:
        what += f"; {others:,} other statement{'s' if others != 1 else ''}"
    return what
