"""``with_headroom(client)``: the official anthropic and openai clients, compressing in-process.

A thin proxy over the real client: every attribute passes through, except the calls that send
messages (``messages.create``/``stream``/``parse``, ``chat.completions.…``, ``responses.…``, their
``beta`` and ``with_raw_response`` forms), whose keyword arguments are compressed first, exactly as
``headroom proxy`` would compress the request. Replies come back untouched; the upstream's usage is
read from them (streams included) for the ledger.
"""

from __future__ import annotations

import inspect
import logging
import weakref
from typing import Any, Callable

from headroom_cli.ledger import Usage
from headroom_cli.library import (ANTHROPIC_MESSAGES, OPENAI_CHAT, OPENAI_RESPONSES, Headroom, Pending,
                                  default_headroom, jsonable, omitted)
from headroom_cli.proxy.usage import absorb

log = logging.getLogger("headroom.library")

_ROUTES: dict[str, dict[tuple[str, ...], str]] = {
    "anthropic": {("messages",): ANTHROPIC_MESSAGES, ("beta", "messages"): ANTHROPIC_MESSAGES},
    "openai": {("chat", "completions"): OPENAI_CHAT, ("beta", "chat", "completions"): OPENAI_CHAT,
               ("responses",): OPENAI_RESPONSES},
}
_METHODS = ("create", "stream", "parse")
_RAW = ("with_raw_response", "with_streaming_response")
_CLIENT_COPIES = ("with_options", "copy")
_OPTIONS = ("extra_headers", "extra_query", "extra_body", "timeout", "betas")  # call options, not body
_REWRITABLE = ("messages", "input", "system", "tools")  # what compression and cache breakpoints change
_FINALS = ("get_final_message", "get_final_completion", "get_final_response", "until_done")
_SNAPSHOTS = ("current_message_snapshot", "current_completion_snapshot")


def with_headroom(client: Any, headroom: Headroom | None = None) -> Any:
    """``client`` (anthropic.Anthropic / AsyncAnthropic, openai.OpenAI / AsyncOpenAI; their Azure, Bedrock
    and Vertex variants have the same methods) with its requests compressed before they are sent."""
    if isinstance(client, _Proxy):
        return client
    module = type(client).__module__.split(".")[0]
    if module not in _ROUTES:
        raise TypeError(f"with_headroom wraps an anthropic or openai client, not {type(client).__name__}")
    return _Proxy(client, (), _Wrapper(module, headroom))


withHeadroom = with_headroom  # the name the TypeScript SDKs' users know


class _Wrapper:
    def __init__(self, provider: str, headroom: Headroom | None):
        self.provider = provider
        self.routes = _ROUTES[provider]
        self._headroom = headroom

    @property
    def headroom(self) -> Headroom:
        return self._headroom or default_headroom()

    def wrap(self, target: Any, path: tuple[str, ...]) -> Any:
        if len(path) == 1 and path[0] in _CLIENT_COPIES and callable(target):
            return lambda *args, **kwargs: _Proxy(target(*args, **kwargs), (), self)
        core = tuple(p for p in path if p not in _RAW)
        raw = len(core) != len(path)
        api = self.routes.get(core[:-1])
        if api is not None and core[-1] in _METHODS and callable(target):
            return self._method(target, api, raw)
        if any(route[:len(core)] == core for route in self.routes) or (api is not None and path[-1] in _RAW):
            return _Proxy(target, path, self)
        return target

    def _method(self, fn: Callable[..., Any], api: str, raw: bool) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            kwargs, pending = self._compress(api, kwargs)
            try:
                result = fn(*args, **kwargs)
            except Exception as exc:
                pending.fail(exc)
                raise
            if inspect.isawaitable(result):
                return self._awaited(result, pending, raw)
            return _watch(result, pending, raw)

        call.__name__ = getattr(fn, "__name__", "create")
        call.__doc__ = getattr(fn, "__doc__", None)
        return call

    async def _awaited(self, awaitable: Any, pending: Pending, raw: bool) -> Any:
        try:
            result = await awaitable
        except Exception as exc:
            pending.fail(exc)
            raise
        return _watch(result, pending, raw)

    def _compress(self, api: str, kwargs: dict[str, Any]) -> tuple[dict[str, Any], Pending | _Unrecorded]:
        """The keyword arguments with their messages compressed, and the request to finish later."""
        body: dict[str, Any] = {}
        given = dict(kwargs)
        for key, value in kwargs.items():
            if key in _OPTIONS or omitted(value):
                continue
            try:
                body[key] = jsonable(value)
            except TypeError:
                if key in _REWRITABLE:
                    log.debug("left unchanged: %s holds a value that is not JSON (%s)", key, type(value).__name__)
                    return kwargs, _Unrecorded()
                continue  # e.g. a response_format class: not part of what is compressed
            if key in _REWRITABLE and not isinstance(value, (list, tuple, dict, str)):
                given[key] = body[key]  # a one-shot iterable was read: send what was read
        extra = kwargs.get("extra_body")
        if isinstance(extra, dict):  # the SDK merges it into the body: part of what the shaper sees
            if any(key in extra for key in _REWRITABLE):
                return kwargs, _Unrecorded()  # the SDK would overwrite what we wrote back
            try:
                body.update(jsonable(extra))
            except TypeError:
                pass
        beta = ",".join([*(kwargs.get("betas") or ()), (kwargs.get("extra_headers") or {}).get("anthropic-beta", "")])
        pending = self.headroom.prepare(body, api, beta.strip(","))
        sent = pending.compressed.request
        for key in _REWRITABLE:
            if key in sent and sent[key] != body.get(key):
                given[key] = _keep_unchanged(given.get(key), body.get(key), sent[key])
        return given, pending


class _Proxy:
    """Attribute passthrough to ``target``, with the compressing calls swapped in."""

    __slots__ = ("_hr_target", "_hr_path", "_hr_wrapper")

    def __init__(self, target: Any, path: tuple[str, ...], wrapper: _Wrapper):
        object.__setattr__(self, "_hr_target", target)
        object.__setattr__(self, "_hr_path", path)
        object.__setattr__(self, "_hr_wrapper", wrapper)

    def __getattr__(self, name: str) -> Any:
        return self._hr_wrapper.wrap(getattr(self._hr_target, name), self._hr_path + (name,))

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._hr_target, name, value)

    def __dir__(self) -> list[str]:
        return dir(self._hr_target)

    def __repr__(self) -> str:
        return f"with_headroom({self._hr_target!r})"

    # Clients are context managers (they close their HTTP pool on exit).
    def __enter__(self) -> "_Proxy":
        self._hr_target.__enter__()
        return self

    def __exit__(self, *exc: Any) -> Any:
        return self._hr_target.__exit__(*exc)

    async def __aenter__(self) -> "_Proxy":
        await self._hr_target.__aenter__()
        return self

    async def __aexit__(self, *exc: Any) -> Any:
        return await self._hr_target.__aexit__(*exc)


class _Unrecorded:
    """For a request left as it was before anything was counted."""

    def finish(self, usage: Usage | None = None, status: int | None = 200) -> None:
        pass

    def fail(self, exc: BaseException) -> None:
        pass


def _watch(result: Any, pending: Pending | _Unrecorded, raw: bool) -> Any:
    if raw:  # a raw HTTP response: its body is the caller's to read
        pending.finish()
        return result
    if hasattr(result, "__next__") or hasattr(result, "__anext__"):
        return _WatchedStream(result, pending)
    if hasattr(result, "__enter__") or hasattr(result, "__aenter__"):
        return _WatchedManager(result, pending)
    usage = Usage()
    _absorb(usage, result)
    pending.finish(usage)
    return result


class _WatchedStream:
    """A stream of events passed through as they come; the usage events are read on the way, and the
    request is recorded when the stream ends, is closed, or is dropped."""

    def __init__(self, inner: Any, pending: Pending | _Unrecorded):
        self._inner = inner
        self._pending = pending
        self._usage = Usage()
        self._final = weakref.finalize(self, _finish_quietly, pending, self._usage)

    def _see(self, event: Any) -> Any:
        _absorb(self._usage, event)
        return event

    def _end(self) -> None:
        if self._usage.input is None:
            for name in _SNAPSHOTS:  # helpers that accumulate a snapshot of the whole reply
                try:
                    _absorb(self._usage, getattr(self._inner, name))
                except Exception:  # noqa: BLE001 - no snapshot yet
                    continue
        self._final()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if name in _FINALS and callable(attr):
            return lambda *a, **k: _then(attr(*a, **k), lambda value: (self._see(value), self._end()))
        if name == "close" and callable(attr):
            return lambda *a, **k: _then(attr(*a, **k), lambda _: self._end())
        return attr

    def __iter__(self):
        for event in self._inner:
            yield self._see(event)
        self._end()

    def __next__(self) -> Any:
        try:
            return self._see(next(self._inner))
        except StopIteration:
            self._end()
            raise

    async def __aiter__(self):
        async for event in self._inner:
            yield self._see(event)
        self._end()

    async def __anext__(self) -> Any:
        try:
            return self._see(await self._inner.__anext__())
        except StopAsyncIteration:
            self._end()
            raise

    def __enter__(self) -> "_WatchedStream":
        self._inner.__enter__()
        return self

    def __exit__(self, *exc: Any) -> Any:
        try:
            return self._inner.__exit__(*exc)
        finally:
            self._end()

    async def __aenter__(self) -> "_WatchedStream":
        await self._inner.__aenter__()
        return self

    async def __aexit__(self, *exc: Any) -> Any:
        try:
            return await self._inner.__aexit__(*exc)
        finally:
            self._end()


class _WatchedManager:
    """The SDKs' ``.stream(...)`` helpers: a context manager that opens the stream on entry."""

    def __init__(self, inner: Any, pending: Pending | _Unrecorded):
        self._inner = inner
        self._pending = pending
        self._stream: _WatchedStream | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def __enter__(self) -> _WatchedStream:
        self._stream = _WatchedStream(self._inner.__enter__(), self._pending)
        return self._stream

    def __exit__(self, *exc: Any) -> Any:
        try:
            return self._inner.__exit__(*exc)
        finally:
            self._ended()

    async def __aenter__(self) -> _WatchedStream:
        self._stream = _WatchedStream(await self._inner.__aenter__(), self._pending)
        return self._stream

    async def __aexit__(self, *exc: Any) -> Any:
        try:
            return await self._inner.__aexit__(*exc)
        finally:
            self._ended()

    def _ended(self) -> None:
        if self._stream is not None:
            self._stream._end()
        else:
            self._pending.finish()


def _then(result: Any, after: Callable[[Any], Any]) -> Any:
    """``after(value)`` once ``result`` is known: now, or when the caller awaits it."""
    if inspect.isawaitable(result):
        async def waited() -> Any:
            value = await result
            after(value)
            return value

        return waited()
    after(result)
    return result


def _finish_quietly(pending: Pending | _Unrecorded, usage: Usage) -> None:
    try:
        pending.finish(usage)
    except Exception:  # noqa: BLE001 - at interpreter exit the ledger's worker may be gone
        pass


def _absorb(usage: Usage, obj: Any) -> None:
    """Fold the usage an SDK object carries (itself, its message or its response) into ``usage``."""
    for holder in (obj, getattr(obj, "message", None), getattr(obj, "response", None)):
        found = getattr(holder, "usage", None) if holder is not None else None
        if found is None:
            continue
        if not isinstance(found, dict):
            dump = getattr(found, "model_dump", None)
            found = dump() if callable(dump) else None
        if isinstance(found, dict):
            absorb(usage, {"usage": found})
            return


def _keep_unchanged(given: Any, before: Any, after: Any) -> Any:
    """``after``, keeping the caller's own objects wherever an item did not change."""
    if isinstance(given, (list, tuple)) and isinstance(before, list) and isinstance(after, list) \
            and len(before) == len(after) == len(given):
        return [g if b == a else a for g, b, a in zip(given, before, after)]
    return after
