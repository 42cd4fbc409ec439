"""The request body as the client sent it, kept alongside the one the engines edit in place.

``rewrite_body`` reads a body once; its slots then write compressed outputs into that parsed body.
Later steps also need what the client sent (shaping's cache observation compares both, the recorder
counts both): rather than read the 100 KB JSON again, each item (message) is copied just before the
first write into it, and the client's body is the edited one with those few copies put back. Items
never written are the same objects in both, which also tells which items changed (by identity).
"""

from __future__ import annotations

from typing import Any


class ClientBody:
    def __init__(self, body: dict[str, Any], key: str):
        self._body, self._key = body, key
        items = body.get(key)
        self._items: list[Any] = items if isinstance(items, list) else []
        self._kept: dict[int, Any] = {}  # item index -> the item as sent, copied before its first write
        self._owner: dict[int, int] | None = None  # id of every dict inside an item -> the item's index
        self.known = True  # False once the body was changed some other way (then read it again)

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


def _copy(value: Any) -> Any:
    """A JSON value copied down to its strings (immutable, so shared)."""
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value
