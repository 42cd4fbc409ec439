"""The Python library: compress a request in-process, byte for byte as ``headroom proxy`` would send it.

``compress(messages, provider=…)`` builds the request body, serialises it compactly, and runs it
through the proxy's own request path (``runtime.prepare_request``: the provider adapter, the same
pipeline over the same store, the context fit and the cache breakpoints). Originals go into the store
under ``HEADROOM_HOME``, so ``headroom retrieve`` redeems the markers, and each request is a row in
the ledger, so ``headroom stats`` counts it. The one thing the proxy adds that the library cannot is
its ``headroom_retrieve`` tool (the proxy answers those calls itself; see the README).
"""

from __future__ import annotations

import atexit
import json
import logging
import threading
import time
from dataclasses import dataclass, field, replace
from collections.abc import Iterable
from typing import Any, Iterator

from headroom_cli.config import Settings
from headroom_cli.ledger import Ledger, TokenSavings, Usage
from headroom_cli.pipeline import Outcome, Pipeline
from headroom_cli.providers import API_PATHS, adapter_for, by_api
from headroom_cli.proxy.recorder import Exchange, Recorder
from headroom_cli.rewrite import NotRewritable
from headroom_cli.runtime import build_pipeline, new_session_id, open_store, prepare_request
from headroom_cli.shaping import RequestShaper
from headroom_cli.prompt import prompt_tokens
from headroom_cli.store import Store
from headroom_cli.tokens import count_tokens
from headroom_cli.tokens_auth import grant_outcomes

log = logging.getLogger("headroom.library")

ANTHROPIC_MESSAGES = "anthropic-messages"
OPENAI_CHAT = "openai-chat"
OPENAI_RESPONSES = "openai-responses"
PATHS = {api: API_PATHS[api] for api in (ANTHROPIC_MESSAGES, OPENAI_CHAT, OPENAI_RESPONSES)}
PROVIDERS = {api: by_api(api).provider for api in PATHS}
_DEFAULT_API = {"anthropic": ANTHROPIC_MESSAGES, "openai": OPENAI_CHAT}


@dataclass(frozen=True)
class CompressStats(TokenSavings):
    """What one compression did. Tokens are cl100k_base counts of the whole request body."""

    tokens_before: int
    tokens_after: int
    engines: dict[str, int] = field(default_factory=dict)  # engine -> tool outputs it compressed
    marker_ids: tuple[str, ...] = ()  # CCR IDs of what was left out: `headroom retrieve ID`
    tool_outputs: int = 0  # tool outputs found in the request


@dataclass(frozen=True)
class Compressed:
    """``messages, stats = compress(...)`` unpacks the two that matter most."""

    messages: list[Any]  # the compressed messages (for the Responses API, the input items)
    stats: CompressStats
    request: dict[str, Any]  # the whole request body as Headroom sends it (system, tools included)
    body: bytes  # its bytes: what the proxy forwards when a client sends ``original_body``
    original_body: bytes  # the request as compress() serialised it before compressing

    def __iter__(self) -> Iterator[Any]:
        return iter((self.messages, self.stats))


def omitted(value: Any) -> bool:
    """The SDKs' markers for an argument not given (``NOT_GIVEN``, ``omit``)."""
    return type(value).__name__ in ("NotGiven", "Omit")


def jsonable(value: Any) -> Any:
    """``value`` as the SDKs would send it: their pydantic objects (a reply's content blocks) and other
    iterables as JSON; the SDKs' "not given" markers left out. TypeError for anything else."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items() if not omitted(v)}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    dump = getattr(value, "model_dump", None)
    if callable(dump) and not isinstance(value, type):
        return jsonable(dump(mode="json", exclude_unset=True, by_alias=True))
    if isinstance(value, Iterable) and not isinstance(value, (bytes, bytearray, type)):
        return [jsonable(v) for v in value]
    raise TypeError(type(value).__name__)


def encode_body(body: dict[str, Any]) -> bytes:
    """Compact JSON, UTF-8 as is: the way JavaScript clients send requests."""
    try:
        return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates only survive as escapes
        return json.dumps(body, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def request_body(messages: Any, *, api: str, model: str | None = None, system: Any = None, tools: Any = None,
                 **extra: Any) -> dict[str, Any]:
    """The request body these arguments make: model, system (Chat: a first system message; Responses:
    instructions), messages (Responses: input), tools, then the rest as given."""
    body: dict[str, Any] = {}
    if model is not None:
        body["model"] = model
    by_api(api).request_body(body, messages, system)
    if tools is not None:
        body["tools"] = tools
    body.update(extra)
    return body


def resolve_api(provider: str, api: str | None) -> str:
    if api is not None:
        if api not in PATHS:
            raise ValueError(f"api must be one of {', '.join(PATHS)}, not {api!r}")
        return api
    if provider not in _DEFAULT_API:
        raise ValueError(f"provider must be 'anthropic' or 'openai', not {provider!r}")
    return _DEFAULT_API[provider]


@dataclass
class Pending:
    """A compressed request not yet answered: ``finish`` records it in the ledger, once."""

    exchange: Exchange
    compressed: Compressed
    recorder: Recorder | None
    _done: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def finish(self, usage: Usage | None = None, status: int | None = 200) -> None:
        if not self._close() or self.recorder is None:
            return
        self.exchange.status = status
        self.exchange.usage = usage or Usage()
        self.exchange.duration_ms = (time.time() - self.exchange.ts) * 1000
        try:
            self.recorder.record(self.exchange)
        except RuntimeError as exc:  # its worker is gone: this process is exiting
            log.debug("not recorded: %s", exc)

    def fail(self, exc: BaseException) -> None:
        """The call raised: an upstream error is recorded with its status, an unreachable upstream as
        502 (as the proxy records it); the caller's own mistakes (a missing argument) reached no one."""
        status = getattr(exc, "status_code", None)
        if isinstance(status, int):
            self.finish(status=status)
        elif any(cls.__name__ in ("APIConnectionError", "ConnectError") for cls in type(exc).__mro__):
            self.finish(status=502)
        else:
            self.cancel()

    def cancel(self) -> None:
        """The request never left this process: nothing to record."""
        self._close()

    def _close(self) -> bool:
        with self._lock:
            first, self._done = not self._done, True
        return first


class Headroom:
    """Compression state for one process: the store, pipeline, shaper and ledger under HEADROOM_HOME,
    opened as the proxy opens them. ``compress`` and ``with_headroom`` use a shared default one."""

    def __init__(self, settings: Settings | None = None, *, session: str | None = None):
        self.settings = settings or Settings.resolve()
        self.session = session or new_session_id()
        self.store = open_store(self.settings)
        self.pipeline = build_pipeline(self.settings, self.store)
        self.shaper = RequestShaper(self.settings, self.store)
        self.ledger = Ledger.for_recording(self.settings.ledger_target)
        self.recorder = Recorder(self.ledger)
        # A script that compresses and exits must still find its requests in `headroom stats`: the
        # recorder writes on a daemon thread, so what waits is written at exit (within its deadline).
        atexit.register(self.recorder.close)

    @classmethod
    def sharing(cls, settings: Settings, session: str, store: Store | None, pipeline: Pipeline, shaper: RequestShaper,
                ledger: Ledger, recorder: Recorder) -> "Headroom":
        """One over parts already open (the proxy's, for POST /headroom/v1/compress): nothing opened twice."""
        self = cls.__new__(cls)
        self.settings, self.session, self.store, self.pipeline = settings, session, store, pipeline
        self.shaper, self.ledger, self.recorder = shaper, ledger, recorder
        return self

    def compress(self, messages: Any, provider: str = "anthropic", model: str | None = None, system: Any = None,
                 tools: Any = None, api: str | None = None, **extra: Any) -> Compressed:
        """Compress one request's tool outputs; recorded in the ledger (without upstream usage)."""
        api = resolve_api(provider, api)
        body = request_body(jsonable(messages), api=api, model=model, system=jsonable(system), tools=jsonable(tools),
                            **{k: jsonable(v) for k, v in extra.items() if not omitted(v)})
        pending = self.prepare(body, api)
        pending.finish(status=None)
        result = pending.compressed
        if by_api(api).system_in_messages and system is not None and result.messages:
            result = replace(result, messages=result.messages[1:])  # given apart, returned apart
        return result

    def prepare(self, body: dict[str, Any] | bytes, api: str, beta: str = "", provider: str | None = None,
                owner: str | None = None) -> Pending:
        """Compress a whole request body; ``finish`` the result once the upstream has answered.
        ``provider`` names who answers it in the ledger (default: the API's); ``owner``, whose personal
        token asked (the proxy's compress endpoint): the originals are theirs to redeem, the row theirs.
        Any failure while compressing leaves the request as it was (logged), never raised."""
        raw = body if isinstance(body, bytes) else encode_body(body)
        parsed: Any = body
        if isinstance(body, bytes):
            try:
                parsed = json.loads(raw)
            except ValueError:
                parsed = None  # not JSON: goes as it is (prepare_request says why)
        outcomes: list[Outcome] = []
        note = None
        model = parsed.get("model") if isinstance(parsed, dict) and isinstance(parsed.get("model"), str) else None
        new_raw, new_body = raw, parsed
        if self.settings.compress:
            try:
                rewrite = prepare_request(raw, adapter_for(PATHS[api]), self.pipeline, self.store, self.settings,
                                          self.shaper, beta)
                outcomes, note, model = rewrite.outcomes, rewrite.note, rewrite.model
                grant_outcomes(self.store, owner, outcomes)
                if rewrite.changed and rewrite.parsed is not None:
                    new_raw, new_body = rewrite.body, rewrite.parsed
            except NotRewritable as exc:
                log.warning("left unchanged: %s", exc)
            except Exception as exc:  # a bug of ours must never cost the caller a request
                log.error("left unchanged: internal error %s: %s", type(exc).__name__, exc, exc_info=self.settings.debug)
        stats = _stats((raw, parsed), (new_raw, new_body), outcomes, provider or PROVIDERS[api])
        key = by_api(api).items_key
        messages = new_body.get(key) if isinstance(new_body, dict) else None
        compressed = Compressed(messages if messages is not None else [], stats,
                                new_body if isinstance(new_body, dict) else {}, new_raw, raw)
        exchange = Exchange(ts=time.time(), session=self.session, provider=provider or PROVIDERS[api], path=PATHS[api],
                            body_text=raw.decode("utf-8", "replace"), model=model, outcomes=outcomes, cache=note,
                            sent_text=new_raw.decode("utf-8", "replace") if new_raw is not raw else None, owner=owner)
        return Pending(exchange, compressed, self.recorder)

    def flush(self) -> None:
        """Wait until every finished request is written to the ledger."""
        self.recorder.flush()

    def close(self) -> None:
        self.recorder.close()
        self.ledger.close()
        if self.store is not None:
            self.store.close()


def _stats(before: tuple[bytes, Any], after: tuple[bytes, Any], outcomes: list[Outcome],
           provider: str) -> CompressStats:
    """Tokens are the prompt's as the model reads it (prompt.py), as the proxy's ledger counts them.
    ``before``, ``after``: each body's bytes and what they read as (None where they are not JSON)."""
    engines: dict[str, int] = {}
    ids: list[str] = []
    for o in outcomes:
        if o.changed and o.engine:
            engines[o.engine] = engines.get(o.engine, 0) + 1
        if o.changed and o.part_id and o.part_id not in ids:
            ids.append(o.part_id)
    tokens_before = prompt_tokens(before[0].decode("utf-8", "replace"), count_tokens, provider, before[1])
    tokens_after = tokens_before if after[0] is before[0] else \
        prompt_tokens(after[0].decode("utf-8", "replace"), count_tokens, provider, after[1])
    return CompressStats(tokens_before, tokens_after, engines, tuple(ids), len(outcomes))


_default: Headroom | None = None
_default_lock = threading.Lock()


def default_headroom() -> Headroom:
    """The shared instance for the current HEADROOM_HOME (a new one when it changes)."""
    global _default
    settings = Settings.resolve()
    with _default_lock:
        if _default is None or _default.settings.home != settings.home:
            old, _default = _default, Headroom(settings)
            if old is not None:
                old.close()
        return _default


def compress(messages: Any, provider: str = "anthropic", model: str | None = None, system: Any = None,
             tools: Any = None, api: str | None = None, *, headroom: Headroom | None = None, **extra: Any) -> Compressed:
    """Compress the tool outputs in ``messages`` as ``headroom proxy`` would.

    ``provider``: "anthropic" (Messages API) or "openai" (Chat Completions); ``api`` picks
    "openai-responses" (``messages`` are then the input items). ``system``, ``tools`` and any other
    keyword (``max_tokens``, …) go into the request body as the SDKs would send them. Returns
    ``Compressed``: ``messages, stats = compress(...)``.
    """
    return (headroom or default_headroom()).compress(messages, provider, model, system, tools, api, **extra)
