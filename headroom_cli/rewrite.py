"""Rewrite one request body: compress its tool outputs and change nothing else.

The new body is the old bytes with only the rewritten JSON strings spliced in, so key order,
spacing and escapes elsewhere stay byte-identical (prompt caches hash those bytes). If splicing
cannot be proven right, the body is re-serialised compactly instead.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass, field
from json.encoder import encode_basestring, encode_basestring_ascii
from pathlib import Path
from typing import Any, Callable, Iterator

from headroom_cli import client_body, jsonspan, persisted
from headroom_cli.bounded import Bounded
from headroom_cli.client_body import ClientBody
from headroom_cli.engines import Part
from headroom_cli.images.wire import rewrite_images
from headroom_cli.markers import ccr_id, marker
from headroom_cli.mcp import is_retrieval
from headroom_cli.pipeline import Outcome, Pipeline
from headroom_cli.providers import Adapter, Slot


RETRIEVED = "retrieved"  # the kind of an outcome that is a retrieval's result


class NotRewritable(Exception):
    """The body is not a JSON object we understand; it goes upstream unchanged."""


@dataclass
class Rewrite:
    body: bytes
    outcomes: list[Outcome] = field(default_factory=list)
    model: str | None = None
    parsed: dict[str, Any] | None = None  # the new body, parsed
    note: Any = None  # what later steps noticed about it, for the ledger (shaping.CacheNote)
    reshaped: bool = False  # changed by a later step (context fit, cache breakpoints)
    client: ClientBody | None = None  # the body as the client sent it, without reading it again

    @property
    def changed(self) -> bool:
        return self.reshaped or any(o.changed for o in self.outcomes)

    def root_in(self, text: str) -> jsonspan.Node | None:
        """The spans of the root's members in ``text`` (``body`` decoded), where known without indexing it."""
        return None if self.reshaped or self.client is None else self.client.root_after(text)


def rewrite_body(raw: bytes, adapter: Adapter, pipeline: Pipeline,
                 keep_original: Callable[[str, str, str], None] | None = None,
                 saved_outputs_root: Path | None = None) -> Rewrite:
    """``keep_original(part_id, kind, text)`` stores what a repeat reference points at;
    ``saved_outputs_root`` is where the client keeps whole outputs it sent only a preview of (only this
    request's session's Bash outputs are read there: see persisted.py)."""
    if json.detect_encoding(raw) not in ("utf-8", "utf-8-sig"):  # edits are spliced into UTF-8 bytes
        raise NotRewritable("body is not JSON in UTF-8")
    try:
        body, client = client_body.read(raw, adapter.items_key)
    except (ValueError, UnicodeDecodeError) as exc:
        raise NotRewritable(f"body is not JSON ({exc.__class__.__name__})") from None
    except RecursionError:
        raise NotRewritable("body is nested too deep to read") from None
    if client is None:
        raise NotRewritable("body is not a JSON object")
    model = body.get("model") if isinstance(body.get("model"), str) else None
    outcomes: list[Outcome] = []
    query = adapter.query(body)
    # The focus only steers what to omit, and is frozen with each decision: read from the conversation
    # once, and only if some part is decided in this request.
    focus = functools.cache(lambda: adapter.focus(body)) if pipeline.lossy else None
    earlier: dict[str, Slot] = {}  # tool outputs already seen in this request, by their text
    session = persisted.client_session(body) if saved_outputs_root else None  # whose saved outputs may be read
    slots = adapter.slots(body)
    for slot in slots:
        if is_retrieval(slot.tool_name, slot.tool_input):
            # Asked for whole: never compressed again. Marked, as it is in the request only because of us.
            outcomes.append(Outcome(slot.text, slot.text, kind=RETRIEVED))
            continue
        if not _utf8(slot.text):  # a lone surrogate (an escaped \ud800) cannot be stored: sent as it is
            outcomes.append(Outcome(slot.text, slot.text))
            continue
        first = earlier.setdefault(slot.text, slot) if len(slot.text) >= pipeline.min_chars else slot
        whole = persisted.saved_output(slot.text, saved_outputs_root, session, slot.call) if session else None
        if first is not slot and keep_original is not None:
            outcome = _repeat(slot.text, first)
            keep_original(outcome.part_id, outcome.kind, outcome.original)
        elif whole is not None:
            note = slot.text
            outcome = pipeline.run_whole(Part(text=note, tool_name=slot.tool_name, tool_input=slot.tool_input, query=query),
                                         whole, lambda body: persisted.render(note, body, whole),
                                         persisted.MAX_RENDERED_CHARS, focus)
        else:
            outcome = pipeline.run(Part(text=slot.text, tool_name=slot.tool_name, tool_input=slot.tool_input, query=query),
                                   focus)
        outcomes.append(outcome)
        if outcome.changed:
            client.before_write(slot.holder)
            slot.write(outcome.text)
    # Images after the text slots: their edits add blocks, so such a body is re-serialised (below).
    images = rewrite_images(body, adapter.api, adapter.provider, pipeline)
    if any(o.changed for o in images):
        client.known = False  # edited elsewhere than in slots: the client's body is read again where needed
    outcomes += images
    changed = [o for o in outcomes if o.changed]
    if not changed:
        return Rewrite(raw, outcomes, model, body, client=client)
    new = _splice(raw, _edits(slots, outcomes), body, client)
    if new is None:
        try:
            new = _dumps(body)
        except ValueError:  # 1e999 reads as inf, which JSON cannot write: send the body as it came
            same = json.loads(raw)
            return Rewrite(raw, [Outcome(o.original, o.original) for o in outcomes], model, same,
                           client=ClientBody(same, adapter.items_key))
    return Rewrite(new, outcomes, model, body, client=client)


def _edits(slots: list[Slot], outcomes: list[Outcome]) -> list[tuple[str, str]]:
    """Each tool-output JSON string once, as sent and as it reads now, in document order (a string may
    hold several span slots, e.g. aider's pasted outputs inside one user message). Unchanged ones are
    listed too, as landmarks: a changed output identical to an earlier unchanged one is then found in
    its own place, not in the earlier one's."""
    edits: dict[tuple[int, str], tuple[str, str]] = {}
    for slot, outcome in zip(slots, outcomes):
        if outcome.changed or slot.string_id not in edits:
            edits[slot.string_id] = slot.edit
    return list(edits.values())


def _utf8(text: str) -> bool:
    if text.isascii():  # most outputs: known without encoding them
        return True
    try:
        text.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def _repeat(text: str, first: Slot) -> Outcome:
    """A tool output identical to an earlier one in the same request becomes a reference to it.

    Depends only on what came before it in the request, so re-sent history keeps the same bytes."""
    part_id = ccr_id(text)
    who = " ".join(x for x in (first.tool_name, f"({first.call.id})" if first.call and first.call.id else "") if x)
    lines = text.count("\n") + (not text.endswith("\n"))
    what = f"identical to the earlier output of {who or 'a tool'} above ({lines:,} lines)"
    return Outcome(text, marker(part_id, what), "repeat", "repeat", part_id)


def _encodings(text: str) -> Iterator[tuple[bytes, bool]]:
    """How a client may have written this string: raw UTF-8 (JavaScript) or \\u-escaped (Python);
    the second made only when the first is not found."""
    for ascii_only in (False, True):
        try:
            yield _as_sent(text) if not ascii_only else _string(text, True).encode("utf-8"), ascii_only
        except UnicodeEncodeError:  # lone surrogates only survive as escapes
            continue


# A tool output's JSON bytes as a JavaScript client writes them, by the SHA-1 of its text: re-sent
# history is looked for in every request's body, and escaping 4 KB costs three times its digest.
_SENT: Bounded[bytes, bytes] = Bounded(2048, lru=True)  # ~20 outputs a conversation, ~4 KB each


def _as_sent(text: str) -> bytes:
    """``_string(text, False).encode("utf-8")``, remembered (raises what it raises, remembering nothing)."""
    key = hashlib.sha1(text.encode("utf-8", "surrogatepass")).digest()
    return _SENT.remembered(key, lambda: _string(text, False).encode("utf-8"))


def _string(text: str, ascii_only: bool) -> str:
    """``json.dumps(text, ensure_ascii=ascii_only)``, without building an encoder for each string."""
    return encode_basestring_ascii(text) if ascii_only else encode_basestring(text)


def _splice(raw: bytes, replacements: list[tuple[str, str]], expected: dict[str, Any],
            client: ClientBody | None = None) -> bytes | None:
    """``raw`` with each (old, new) JSON string replaced in order; None unless it is proven to read
    as ``expected`` (by the items changed where ``client`` can tell, else by reading it all again)."""
    pieces: list[bytes] = []
    done: list[tuple[int, int, int]] = []  # (start, end, growth) of each string changed
    pos = 0
    for old, new in replacements:
        for encoded, ascii_only in _encodings(old):
            at = jsonspan.find(raw, encoded, pos)
            if at >= 0:
                break
        else:
            if old == new:
                continue  # a landmark written some other way: not needed
            return None
        # a landmark is written as it was found (encoded strictly, so surrogatepass gives the same bytes)
        written = encoded if new == old else _string(new, ascii_only).encode("utf-8", "surrogatepass")
        pieces.append(raw[pos:at])
        pieces.append(written)
        pos = at + len(encoded)
        if old != new:  # a landmark's bytes stay as they were
            done.append((at, pos, len(written) - len(encoded)))
    pieces.append(raw[pos:])
    spliced = b"".join(pieces)
    # The same text could also stand earlier in a field we must not touch: prove the result.
    proven = client.splice_proven(spliced, done) if client is not None else None
    if proven is not None:
        return spliced if proven else None
    try:
        return spliced if json.loads(spliced) == expected else None
    except ValueError:
        return None


def _dumps(body: dict[str, Any]) -> bytes:
    try:
        return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(body, ensure_ascii=True, separators=(",", ":"), allow_nan=False).encode("ascii")
