"""What reading one text told the focus, remembered: a re-sent conversation is not read again.

The focus of a conversation is read whenever one of its parts is decided, which in a coding agent's
conversation is every turn (its newest tool output), and reading dozens of earlier outputs with the
focus patterns cost about as much as compressing the new one. What a text contributes is a pure
function of the text (the collector's answers are never read back), so it is recorded once as the
calls it made and replayed in the same order: the same focus, to the byte.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import Any, Callable

KEPT = 4096  # texts remembered (a few calls each, ~1 KB)

_Call = tuple[str, tuple[Any, ...], dict[str, Any] | None]  # keywords None when there are none


class _Recorder:
    """Stands in for the collector while a text is read: keeps the calls instead of making them."""

    def __init__(self) -> None:
        self.calls: list[_Call] = []

    def __getattr__(self, name: str) -> Callable[..., None]:
        def call(*args: Any, **kwargs: Any) -> None:
            self.calls.append((name, args, kwargs or None))
        return call


class ReadMemo:
    def __init__(self, kept: int = KEPT):
        self.kept = kept
        self._calls: OrderedDict[tuple[str, bytes], tuple[_Call, ...]] = OrderedDict()
        self._lock = threading.Lock()

    def read(self, how: Callable[[str, Any], None], text: str, found: Any) -> None:
        """``how(text, found)``, from memory when this text was read the same way before."""
        key = (how.__name__, hashlib.sha1(text.encode("utf-8", "surrogatepass")).digest())
        with self._lock:
            calls = self._calls.get(key)
            if calls is not None:
                self._calls.move_to_end(key)
        if calls is None:
            recorder = _Recorder()
            how(text, recorder)
            calls = tuple(recorder.calls)
            with self._lock:
                self._calls[key] = calls
                while len(self._calls) > self.kept:
                    self._calls.popitem(last=False)
        for name, args, kwargs in calls:  # most texts made none, most calls take no keywords
            if kwargs is None:
                getattr(found, name)(*args)
            else:
                getattr(found, name)(*args, **kwargs)  # ** copies: the kept dict is never changed
