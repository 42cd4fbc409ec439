"""Retrieval rounds: read a model reply, whole or streamed, for calls to Headroom's own tool.

A reply that calls only `headroom_retrieve` is answered by the proxy and continued upstream; the
client sees one reply. A streamed reply goes to the client event by event until our tool call
starts; from there the events are held, and either dropped (the proxy continues the turn, whose
events follow in the same stream, block indices shifted to follow on) or released (the turn ends
here). A reply that calls client tools as well is returned without our call: the client could not
run it, and the model can ask again on the next turn.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

from headroom_cli.ledger import Usage
from headroom_cli.providers import by_api
from headroom_cli.proxy.retrieval import TOOL_NAME, Answer
from headroom_cli.proxy.usage import absorb


@dataclass(frozen=True)
class Call:
    id: str
    arguments: Any  # a dict (Anthropic) or a JSON string (OpenAI)


# -- whole replies ----------------------------------------------------------------------------

def calls_in(api: str, reply: dict[str, Any]) -> tuple[list[Call], bool]:
    """Our tool's calls in a whole reply, and whether it calls any of the client's tools too."""
    ours, theirs = by_api(api).reply_calls(reply, TOOL_NAME)
    return [Call(call_id, arguments) for call_id, arguments in ours], theirs


def without_ours(api: str, reply: dict[str, Any]) -> dict[str, Any]:
    reply = copy.deepcopy(reply)
    by_api(api).drop_calls(reply, TOOL_NAME)
    return reply


def with_earlier(api: str, reply: dict[str, Any], earlier: list[dict[str, Any]]) -> dict[str, Any]:
    """The final reply, led by what the model said in the rounds the proxy answered (as a stream shows it)."""
    if not earlier:
        return reply
    reply = copy.deepcopy(reply)
    by_api(api).lead_with(reply, earlier, TOOL_NAME)
    return reply


def assistant_message(api: str, reply: dict[str, Any]) -> dict[str, Any]:
    return by_api(api).reply_message(reply)


def continuation(api: str, body: dict[str, Any], assistant: dict[str, Any],
                 answers: list[tuple[Call, Answer]]) -> dict[str, Any]:
    """The request that carries on the turn: the model's message, then our answers to its calls."""
    body = dict(body)
    by_api(api).with_answers(body, assistant, answers)
    return body


def add_usage(total: Usage, more: Usage) -> None:
    for name in ("input", "output", "cache_read", "cache_write"):
        value = getattr(more, name)
        if value is not None:
            setattr(total, name, (getattr(total, name) or 0) + value)


def usage_of_reply(reply: dict[str, Any]) -> Usage:
    usage = Usage()
    absorb(usage, reply)
    return usage


def error_event(api: str, message: str) -> bytes:
    """An error inside an already started stream, in the provider's shape."""
    return by_api(api).error_event(message)


# -- streamed replies -------------------------------------------------------------------------

@dataclass
class Event:
    raw: bytes  # as received, blank line included
    name: str | None
    data: str


class SseParser:
    """Splits a byte stream into server-sent events, keeping each event's bytes as they came."""

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, chunk: bytes) -> list[Event]:
        self._buffer += chunk
        events = []
        while True:
            cut = _event_end(self._buffer)
            if cut is None:
                return events
            raw, self._buffer = self._buffer[:cut], self._buffer[cut:]
            events.append(_parse_event(raw))

    def rest(self) -> bytes:
        rest, self._buffer = self._buffer, b""
        return rest


def _event_end(buffer: bytes) -> int | None:
    ends = [(buffer.find(sep), len(sep)) for sep in (b"\n\n", b"\r\n\r\n")]
    ends = [(at, size) for at, size in ends if at >= 0]
    if not ends:
        return None
    at, size = min(ends)
    return at + size


def _parse_event(raw: bytes) -> Event:
    name, data = None, []
    for line in raw.decode("utf-8", "replace").splitlines():
        field_name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if field_name == "event":
            name = value
        elif field_name == "data":
            data.append(value)
    return Event(raw, name, "\n".join(data))


def _sse(name: str | None, data: dict[str, Any]) -> bytes:
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return (f"event: {name}\n" if name else "").encode() + f"data: {text}\n\n".encode()


@dataclass
class _Held:
    raw: bytes
    ends_turn: bool  # message_delta/message_stop, finish_reason, usage, [DONE]: dropped if the turn goes on


class StreamRound:
    """One upstream round of a streamed turn. ``feed`` returns what the client gets now."""

    def __init__(self, api: str, first: bool, offset: int):
        self.api = api
        self.first = first  # later rounds' message_start is not shown: the client has one already
        self.offset = offset  # client-visible blocks (Anthropic) / tool calls (OpenAI) sent before this round
        self.usage = Usage()
        self.visible = 0
        self.ours: dict[int, dict[str, Any]] = {}
        self.theirs = False
        self.ended_in_error = False
        self._holding = False
        self._held: list[_Held] = []
        self._index: dict[int, int] = {}  # upstream index -> client index
        self._blocks: dict[int, dict[str, Any]] = {}  # Anthropic: the message's content, rebuilt
        self._partial: dict[int, str] = {}
        self._text: list[str] = []  # OpenAI: the message's content, rebuilt
        self._calls: dict[int, dict[str, Any]] = {}
        self._wire = by_api(api)
        # The two stream dialects the relay reads (it serves no other API); which one an API streams in
        # is the adapter's to say.
        self._read = {"message-events": self._anthropic, "chunks": self._openai}[self._wire.stream_dialect]

    # what the round came to
    def calls(self) -> list[Call]:
        return [Call(*self._wire.streamed_call(block)) for _, block in sorted(self.ours.items())]

    def held(self, ending: bool) -> list[bytes]:
        """The held events: all of them if the turn ends here, else only the content among them."""
        return [h.raw for h in self._held if ending or not h.ends_turn]

    def assistant_message(self) -> dict[str, Any]:
        return self._wire.streamed_message([b for _, b in sorted(self._blocks.items())], "".join(self._text),
                                           [c for _, c in sorted(self._calls.items())])

    # events
    def feed(self, event: Event) -> list[bytes]:
        return self._read(event)

    def _out(self, raw: bytes, ends_turn: bool = False) -> list[bytes]:
        if self._holding:
            self._held.append(_Held(raw, ends_turn))
            return []
        return [raw]

    def _anthropic(self, event: Event) -> list[bytes]:
        try:
            data = json.loads(event.data) if event.data else {}
        except ValueError:
            return self._out(event.raw)
        kind = data.get("type") if isinstance(data, dict) else None
        if kind == "message_start":
            absorb(self.usage, data)
            return [event.raw] if self.first else []
        if kind == "message_delta":
            absorb(self.usage, data)
            return self._out(event.raw, ends_turn=True)
        if kind == "message_stop":
            return self._out(event.raw, ends_turn=True)
        if kind == "error":
            self.ended_in_error = True
            return [event.raw]
        if kind not in ("content_block_start", "content_block_delta", "content_block_stop"):
            return [event.raw] if kind == "ping" else self._out(event.raw)
        index = data.get("index")
        if not isinstance(index, int):
            return self._out(event.raw)
        if kind == "content_block_start":
            block = copy.deepcopy(data.get("content_block") or {})
            self._blocks[index] = block
            if block.get("type") == "tool_use" and block.get("name") == TOOL_NAME:
                self.ours[index] = block
                self._holding = True
            else:
                self.theirs = self.theirs or block.get("type") == "tool_use"
                self._index[index] = self.offset + self.visible
                self.visible += 1
        else:
            self._accumulate(index, kind, data)
        if index in self.ours:
            return []
        moved = self._index.get(index, index)
        raw = event.raw if moved == index else _sse(event.name, dict(data, index=moved))
        return self._out(raw)

    def _accumulate(self, index: int, kind: str, data: dict[str, Any]) -> None:
        block = self._blocks.get(index)
        if block is None:
            return
        if kind == "content_block_stop":
            if index in self._partial:
                try:
                    block["input"] = json.loads(self._partial.pop(index) or "{}")
                except ValueError:
                    block["input"] = {}
            return
        delta = data.get("delta") or {}
        kind = delta.get("type")
        if kind == "text_delta":
            block["text"] = block.get("text", "") + delta.get("text", "")
        elif kind == "input_json_delta":
            self._partial[index] = self._partial.get(index, "") + delta.get("partial_json", "")
        elif kind == "thinking_delta":
            block["thinking"] = block.get("thinking", "") + delta.get("thinking", "")
        elif kind == "signature_delta":
            block["signature"] = delta.get("signature", "")
        elif kind == "citations_delta":
            block.setdefault("citations", []).append(delta.get("citation"))

    def _openai(self, event: Event) -> list[bytes]:
        if event.data.strip() == "[DONE]":
            return self._out(event.raw, ends_turn=True)
        try:
            chunk = json.loads(event.data)
        except ValueError:
            return self._out(event.raw)
        if not isinstance(chunk, dict):
            return self._out(event.raw)
        if "error" in chunk:
            self.ended_in_error = True
            return [event.raw]
        absorb(self.usage, chunk)
        choices = chunk.get("choices")
        if not choices:  # the usage chunk
            return self._out(event.raw, ends_turn=True)
        if len(choices) != 1 or not isinstance(choices[0], dict):
            return self._out(event.raw)
        choice = choices[0]
        delta = choice.get("delta") or {}
        if isinstance(delta.get("content"), str):
            self._text.append(delta["content"])
        calls = delta.get("tool_calls")
        changed = False
        if isinstance(calls, list):
            kept = []
            for call in calls:
                index = call.get("index") if isinstance(call, dict) else None
                if not isinstance(index, int):
                    kept.append(call)
                    continue
                self._gather_call(index, call)
                if index in self.ours:
                    changed = True
                    continue
                moved = self._index[index]
                if moved != index:
                    call = dict(call, index=moved)
                    changed = True
                kept.append(call)
            if changed:
                delta = dict(delta, tool_calls=kept) if kept else {k: v for k, v in delta.items() if k != "tool_calls"}
                if not delta and not choice.get("finish_reason"):
                    return []  # only our call was in it
                chunk = dict(chunk, choices=[dict(choice, delta=delta)])
        raw = _sse(None, chunk) if changed else event.raw
        return self._out(raw, ends_turn=bool(choice.get("finish_reason")))

    def _gather_call(self, index: int, call: dict[str, Any]) -> None:
        function = call.get("function") or {}
        known = self._calls.get(index)
        if known is None:
            known = self._calls[index] = {"id": call.get("id"), "type": "function",
                                          "function": {"name": function.get("name") or "", "arguments": ""}}
            if known["function"]["name"] == TOOL_NAME:
                self.ours[index] = known
                self._holding = True
            else:
                self.theirs = True
                self._index[index] = self.offset + self.visible
                self.visible += 1
        known["function"]["arguments"] += function.get("arguments") or ""
