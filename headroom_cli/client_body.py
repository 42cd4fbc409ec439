"""The request body as the client sent it, kept alongside the one the engines edit in place.

``rewrite_body`` reads a body once (``read``); its slots then write compressed outputs into that parsed
body. Later steps also need what the client sent (shaping's cache observation compares both, the
recorder counts both): rather than read the 100 KB JSON again, each item (message) is copied just
before the first write into it, and the client's body is the edited one with those few copies put
back. Items never written are the same objects in both, which also tells which items changed (by
identity). Where each item's JSON stands in the raw bytes is kept too: a splice is then proven by
reading only the items it changed (``splice_proven``), and an item's raw bytes name it for memos.
"""

from __future__ import annotations

import hashlib
import json
from bisect import bisect_right
from typing import Any

from headroom_cli import jsonspan
from headroom_cli.bounded import Bounded

# An edited item's JSON bytes (by their SHA-1) -> what they read as: a conversation re-sends its history,
# so the items a splice changed were read the same way a request ago (the same JSON reads the same).
# The values are read here and never handed out, so nobody changes them.
_READ: Bounded[bytes, Any] = Bounded(2048, lru=True)  # a conversation touches ~20 a turn


class ClientBody:
    def __init__(self, body: dict[str, Any], key: str, raw: bytes = b"", text: str = "",
                 root: jsonspan.Node | None = None):
        self._body, self._key = body, key
        items = body.get(key)
        self._items: list[Any] = items if isinstance(items, list) else []
        self._kept: dict[int, Any] = {}  # item index -> the item as sent, copied before its first write
        self._owner: dict[int, int] | None = None  # id of every dict inside an item -> the item's index
        self.known = True  # False once the body was changed some other way (then read it again)
        self._raw, self._text, self._root = raw, text, root  # where each item stands (see spans)
        node = root.members.get(key) if root is not None else None
        self._nodes = node.items if node is not None and node.kind == "array" else None
        self._spans: list[tuple[int, int]] | None = None
        self._inside = False  # a splice was proven with every change inside the items
        self._changed: list[bytes | None] | None = None  # then each item's new JSON, None where unchanged

    def before_write(self, holder: dict[str, Any]) -> None:
        """Called before a slot writes into ``holder`` (a dict inside one of the items)."""
        if not self.known:
            return
        try:
            if self._owner is None:
                from headroom_cli.context_fit import _dicts

                self._owner = {id(d): i for i, item in enumerate(self._items) for d in _dicts(item)}
            i = self._owner.get(id(holder))
            if i is None:
                self.known = False
            elif i not in self._kept:
                self._kept[i] = _copy(self._items[i])
        except RecursionError:  # nested deeper than Python recurses: read the body again instead
            self.known = False

    def parsed(self) -> dict[str, Any] | None:
        """The client's body as ``json.loads`` reads it; None where not known (read it again)."""
        if not self.known:
            return None
        if not self._kept:
            return self._body
        return {**self._body, self._key: [self._kept.get(i, item) for i, item in enumerate(self._items)]}

    def spans(self) -> list[tuple[int, int]] | None:
        """Each item's byte span in the raw body, where known."""
        if self._spans is None and self._nodes is not None and len(self._nodes) == len(self._items):
            self._spans = _byte_spans(self._raw, self._text, self._nodes)
        return self._spans

    def item_bytes(self) -> list[bytes] | None:
        """Each item's JSON as the client sent it, where known."""
        spans = self.spans() if self.known else None
        return None if spans is None else [self._raw[a:b] for a, b in spans]

    def splice_proven(self, spliced: bytes, done: list[tuple[int, int, int]]) -> bool | None:
        """Whether ``spliced`` (the raw body with each ``(start, end, growth)`` byte span in ``done``
        replaced, in order) reads as the edited body; None where that cannot be told from the items alone.

        The items not replaced into keep their bytes, and outside the items nothing changed (slots write
        only inside items), so it reads right if and only if every item written was replaced into and
        each item replaced into now reads as the edited item: only those are read again."""
        spans = self.spans() if self.known else None
        if spans is None:
            return None
        starts = [a for a, _ in spans]
        touched: dict[int, tuple[int, int]] = {}  # item -> its byte span in ``spliced``
        shift = 0
        for at, stop, growth in done:
            i = bisect_right(starts, at) - 1
            if i < 0 or stop > spans[i][1]:
                return None  # outside every item (or across two)
            start, end = touched.get(i, (spans[i][0] + shift, spans[i][1] + shift))
            touched[i] = (start, end + growth)
            shift += growth
        if not set(self._kept) <= set(touched):
            return None
        try:
            self._inside = all(_reads_as(spliced[a:b]) == self._items[i] for i, (a, b) in touched.items())
        except ValueError:
            return False
        if self._inside:
            self._changed = [spliced[touched[i][0]:touched[i][1]] if i in touched else None for i in range(len(spans))]
        return self._inside

    def changed_item_bytes(self) -> list[bytes | None] | None:
        """After a proven splice: the JSON of each item it changed, as sent (None for the items left
        alone, which are the very objects the client sent)."""
        return self._changed

    def root_after(self, text: str) -> jsonspan.Node | None:
        """The root object's members (their spans, not their insides) in ``text``: the raw body after a
        splice proven inside the items, so only the items member grew and what follows it moved; or the
        raw body itself. None where not known so (then index the text)."""
        if self._root is None or json.detect_encoding(self._raw) != "utf-8":  # (offsets read after a BOM)
            return None
        grown = len(text) - len(self._text)
        if not self._inside:
            return self._root if grown == 0 and text == self._text else None
        items = self._root.members[self._key]

        def moved(node: jsonspan.Node) -> jsonspan.Node:
            return jsonspan.Node(node.start + grown * (node.start > items.start), node.end + grown * (node.end > items.start),
                                 node.kind)

        return jsonspan.Node(self._root.start, self._root.end + grown, "object",
                             {k: moved(n) for k, n in self._root.members.items()})


def read(raw: bytes, key: str) -> tuple[Any, ClientBody | None]:
    """What ``json.loads(raw)`` gives for a UTF-8 body, and (for an object) the ClientBody that
    remembers where its ``key`` items stand. Raises what ``json.loads`` would (ValueError, ...)."""
    text = raw.decode(json.detect_encoding(raw), "surrogatepass")
    body, root = jsonspan.read(text, 2)
    if not isinstance(body, dict):
        return body, None
    return body, ClientBody(body, key, raw, text, root)


def _byte_spans(raw: bytes, text: str, nodes: list[jsonspan.Node]) -> list[tuple[int, int]]:
    """Character spans in ``text`` as byte spans in ``raw`` (its UTF-8 bytes, a BOM perhaps before)."""
    if len(raw) == len(text):  # ASCII: the same
        return [(n.start, n.end) for n in nodes]
    spans, pos = [], 0
    at = len(raw) - len(text.encode("utf-8", "surrogatepass"))
    for n in nodes:
        at += len(text[pos:n.start].encode("utf-8", "surrogatepass"))
        start = at
        at += len(text[n.start:n.end].encode("utf-8", "surrogatepass"))
        spans.append((start, at))
        pos = n.end
    return spans


def _reads_as(text: bytes) -> Any:
    """``json.loads(text)``, remembered by the bytes' digest (raises what it raises, remembering nothing)."""
    return _READ.remembered(hashlib.sha1(text).digest(), lambda: json.loads(text))


def _copy(value: Any) -> Any:
    """A JSON value copied down to its strings (immutable, so shared)."""
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value
