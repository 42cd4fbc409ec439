"""Where each value sits in a JSON text: character spans of objects, arrays and their members.

Lets a request body be changed by splicing (insert a key, drop array items, replace one value)
while every other byte stays as the client wrote it: prompt caches hash those bytes. Only the top
few levels are indexed (``depth``); deeper values are stepped over by the C JSON scanner.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from json.decoder import scanstring
from typing import Any, AnyStr

_DECODER = json.JSONDecoder()
_SCAN = _DECODER.scan_once  # what raw_decode calls, without its Python frame (a body has ~50 items)
_WS = re.compile(r"[ \t\n\r]*")
_SPACE = " \t\n\r"
_KINDS = {"{": "object", "[": "array", '"': "string"}


class SpanError(ValueError):
    """The text is not the JSON the index expected."""


@dataclass
class Node:
    start: int  # index of the first character of the value
    end: int  # one past its last character
    kind: str  # "object" | "array" | "string" | "scalar"
    members: dict[str, "Node"] = field(default_factory=dict)  # objects, within depth
    items: list["Node"] = field(default_factory=list)  # arrays, within depth

    def get(self, *path: str | int) -> "Node | None":
        node: Node | None = self
        for step in path:
            if node is None:
                return None
            if isinstance(step, int):
                node = node.items[step] if node.kind == "array" and -len(node.items) <= step < len(node.items) else None
            else:
                node = node.members.get(step) if node.kind == "object" else None
        return node


def index(text: str, depth: int = 4) -> Node:
    """The span tree of a JSON text, members and items recorded ``depth`` levels deep. Values below
    that depth, strings and scalars are stepped over by the C JSON scanner."""
    return read(text, depth)[1]


def _whole(text: str, pos: int) -> tuple[Any, Node]:
    """The value at ``pos``, read whole by the C scanner, and its span."""
    ch = text[pos]
    if ch in "}],:":
        raise SpanError(f"unexpected {ch!r} at {pos}")
    try:
        value, end = _SCAN(text, pos)
    except StopIteration as err:  # as raw_decode says it
        raise SpanError(str(json.JSONDecodeError("Expecting value", text, err.value))) from None
    except ValueError as exc:
        raise SpanError(str(exc)) from None
    return value, Node(pos, end, _KINDS.get(ch, "scalar"))


def read(text: str, depth: int = 2) -> tuple[Any, Node]:
    """What ``json.loads(text)`` gives, and the span tree of its top ``depth`` levels: containers there
    are walked, every value below read whole by the C scanner (one reading gives both)."""
    try:
        value, node = _read(text, _WS.match(text, 0).end(), depth)
    except IndexError:
        raise SpanError("unexpected end of JSON") from None
    if _WS.match(text, node.end).end() != len(text):
        raise SpanError("text after the JSON value")
    return value, node


def _read(text: str, pos: int, depth: int) -> tuple[Any, Node]:
    ch = text[pos]
    if depth <= 0 or ch not in "{[":
        return _whole(text, pos)
    is_object = ch == "{"
    node, value = Node(pos, -1, "object" if is_object else "array"), {} if is_object else []
    close = "}" if is_object else "]"
    pos = _WS.match(text, pos + 1).end()
    if text[pos] == close:
        node.end = pos + 1
        return value, node
    while True:
        if is_object:
            key, pos = _key(text, pos)
        child, node_of = _read(text, pos, depth - 1) if depth > 1 else _whole(text, pos)
        if is_object:
            value[key] = child  # a repeated key: the last value, in the first one's place, as json.loads
            node.members[key] = node_of
        else:
            value.append(child)
            node.items.append(node_of)
        # compact JSON has no space to skip (past the end, text[pos] below raises as this does)
        pos = node_of.end if text[node_of.end] not in _SPACE else _WS.match(text, node_of.end).end()
        if text[pos] == close:
            break
        if text[pos] != ",":
            raise SpanError(f"expected ',' or {close!r} at {pos}")
        pos = _WS.match(text, pos + 1).end()
    node.end = pos + 1
    return value, node


def _key(text: str, pos: int) -> tuple[str, int]:
    """An object's key at ``pos`` and where its value starts."""
    if text[pos] != '"':
        raise SpanError(f"expected a key at {pos}")
    try:
        key, pos = scanstring(text, pos + 1)
    except ValueError as exc:
        raise SpanError(str(exc)) from None
    pos = _WS.match(text, pos).end()
    if text[pos] != ":":
        raise SpanError(f"expected ':' after a key at {pos}")
    return key, _WS.match(text, pos + 1).end()


def splice(text: str, edits: list[tuple[int, int, str]]) -> str:
    """Replace text[a:b] by each new string; edits must not overlap (any order)."""
    out, pos = [], 0
    for a, b, new in sorted(edits, key=lambda e: (e[0], e[1])):
        if a < pos:
            raise SpanError("overlapping edits")
        out.append(text[pos:a])
        out.append(new)
        pos = b
    out.append(text[pos:])
    return "".join(out)


def find(text: AnyStr, string: AnyStr, start: int = 0, end: int | None = None) -> int:
    """``text.find(string, start, end)``, cheaper for a long string (a tool output's JSON): its head is
    searched for and each place it is found compared whole. Preparing the search for a 4 KB needle
    costs about as much as encoding it, and such a string is looked for in every request's body."""
    head = string[:_HEAD]
    at = text.find(head, start, end)
    while at >= 0 and not text.startswith(string, at, end):
        at = text.find(head, at + 1, end)
    return at


_HEAD = 48  # characters of a string searched for before it is compared whole


def before_space(text: str, pos: int) -> int:
    """``pos`` moved back over the JSON whitespace before it."""
    while pos > 0 and text[pos - 1] in " \t\n\r":
        pos -= 1
    return pos


def insert_member(text: str, obj: Node, member: str) -> tuple[int, int, str]:
    """The edit that adds ``member`` (``"key":value``) as the last member of object ``obj``."""
    close = obj.end - 1
    inner = text[obj.start + 1:close]
    sep = "," if inner.strip() else ""
    return (close, close, sep + member)


def same(a: Any, b: Any) -> bool:
    """Structural equality that tells 1 from 1.0 and True from 1, as a JSON reader would.
    A loop, not recursion: a body nested hundreds deep is still valid JSON."""
    todo = [(a, b)]
    while todo:
        a, b = todo.pop()
        if type(a) is not type(b):
            return False
        if isinstance(a, dict):
            if a.keys() != b.keys():
                return False
            todo.extend((a[k], b[k]) for k in a)
        elif isinstance(a, list):
            if len(a) != len(b):
                return False
            todo.extend(zip(a, b))
        elif a != b:
            return False
    return True
