"""After the engines: fit the request to the context window and align it with the prompt cache.

One step of the proxy's request path, between compression (``rewrite.py``) and sending:

1. IntelligentContext (``context_fit.py``): replay this conversation's frozen fit decisions, and
   fit the request when it is over the model's window or the user's budget;
2. CacheAligner (``cache_aligner.py``): automatic cache breakpoints for Anthropic requests that
   carry none; then, per conversation, volatile values in the prefix and history Headroom sent
   differently from last time are noticed for the ledger.

Each stage that fails leaves the request as the stage before it made it: never a lost request.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field, replace
from typing import Any

from headroom_cli import cache_aligner
from headroom_cli.cache_aligner import ConversationTracker, VolatileFinding
from headroom_cli.client_body import ClientBody
from headroom_cli.config import Settings
from headroom_cli.context_fit import FitMemory, Fitter, limit_for
from headroom_cli.providers import Adapter
from headroom_cli.rewrite import Rewrite

log = logging.getLogger("headroom.cache")


@dataclass
class CacheNote:
    """What this step did and saw, for the ledger."""

    conversation: str = ""
    breakpoints: int = 0  # automatic cache_control markers added
    findings: list[VolatileFinding] = field(default_factory=list)  # volatile prefix values, first seen now
    broken_chars: int = 0  # characters of history sent differently from last time though the client's were not
    fit_decided: bool = False  # a new fit decision changed the history this request
    fit_moved: int = 0
    fit_hardened: int = 0
    sent: str = ""  # the body as shaped, for where each saving sits in the provider's cache regions
    # Bodies read already, with their texts (the client's, the one sent): the proxy's recorder counts
    # their tokens from these rather than read 100 KB of JSON again. Only objects nobody changes later
    # belong here (the library hands its bodies to the caller, so it leaves this empty).
    bodies: list[tuple[str, Any]] = field(default_factory=list, repr=False)
    sent_root: Any = None  # the spans of ``sent``'s root members (jsonspan.Node), where the proxy knew them
    # id(message) -> (the message, SHA-1 of the JSON bytes it was read from), for the messages of both
    # bodies whose bytes were known: the recorder remembers a re-sent message's tokens by these keys.
    message_keys: dict[int, tuple[Any, bytes]] = field(default_factory=dict, repr=False)

    def read_as(self, text: str | bytes, body: Any) -> None:
        """Remember that ``text`` reads as ``body`` (neither is changed afterwards); bytes as the text
        they decode to, where that text reads the same (UTF-8, no BOM). Nothing for an unknown body."""
        if body is None or not text:
            return
        if isinstance(text, bytes):
            if json.detect_encoding(text) != "utf-8":
                return
            try:
                text = text.decode("utf-8")
            except UnicodeDecodeError:  # an encoded lone surrogate: the recorder's text reads otherwise
                return
        self.bodies.append((text, body))

    def parsed(self, text: str) -> Any:
        """What ``text`` reads as, if it is one of the bodies remembered; None otherwise. Handed out
        once: a finished flow keeps its note until the cycle collector runs, not 100 KB of objects."""
        for i, (known, body) in enumerate(self.bodies):
            if known is text or known == text:
                del self.bodies[i]
                return body
        return None


class RequestShaper:
    def __init__(self, settings: Settings, store=None):
        self.settings = settings
        self.tracker = ConversationTracker()
        memory = FitMemory(settings.store_target if store is not None else None)
        self.fitter = Fitter(memory, store.put if store is not None else None, store.has if store is not None else None)
        self._logged: set[tuple[str, str]] = set()

    def shape(self, raw: bytes, rewrite: Rewrite, adapter: Adapter, provider: str, beta: str = "") -> Rewrite:
        """The request fitted and cache-aligned, with a CacheNote as its ``note``."""
        note = CacheNote()
        body = rewrite.parsed
        if body is None:
            return replace(rewrite, note=note)
        text = rewrite.body.decode("utf-8", "surrogatepass")
        api = adapter.api
        try:
            prefix = cache_aligner.prefix_texts(body, api)
            note.conversation = cache_aligner.conversation_key(body, api, prefix)
        except Exception as exc:  # noqa: BLE001 - never cost the request
            log.warning("cache alignment skipped: %s: %s", type(exc).__name__, exc)
            return replace(rewrite, note=note)
        outcomes = list(rewrite.outcomes)
        try:
            fit = self.fitter.fit(text, body, adapter, rewrite.outcomes, note.conversation,
                                  limit_for(body, self.settings.budget, beta))
            if fit.text != text:
                text, body = fit.text, json.loads(fit.text)
                outcomes += fit.outcomes
            note.fit_decided, note.fit_moved, note.fit_hardened = fit.decided, fit.moved, fit.hardened
        except Exception as exc:  # noqa: BLE001
            log.warning("context fit skipped: %s: %s", type(exc).__name__, exc, exc_info=self.settings.debug)
        if provider == "anthropic" and adapter.cache_breakpoints and self.settings.cache_breakpoints:
            try:
                marked, note.breakpoints = cache_aligner.add_breakpoints(text, body)
                if note.breakpoints:
                    text, body = marked, json.loads(marked)
            except Exception as exc:  # noqa: BLE001
                log.warning("cache breakpoints skipped: %s: %s", type(exc).__name__, exc)
        try:
            unchanged = not any(o.changed for o in outcomes)  # only breakpoints, if anything, were added
            self._observe(raw, prefix, body, api, note, unchanged, rewrite.client, body is rewrite.parsed)
        except Exception as exc:  # noqa: BLE001
            log.debug("cache observation skipped: %s: %s", type(exc).__name__, exc)
        note.sent = text
        if text == rewrite.body.decode("utf-8", "surrogatepass"):
            return replace(rewrite, note=note)
        return replace(rewrite, body=text.encode("utf-8", "surrogatepass"), outcomes=outcomes, parsed=body, note=note,
                       reshaped=True)

    def _observe(self, raw: bytes, prefix: dict[str, str], body: dict, api: str, note: CacheNote, same: bool,
                 client_body: ClientBody | None = None, spliced: bool = False) -> None:
        """``prefix``: the system prompt and tools as the client wrote them; ``same``: what is sent
        carries the client's messages unchanged (cache_control aside); ``client_body``: the client's body
        as rewrite_body kept it (read from ``raw`` again where it could not); ``spliced``: ``body`` is
        the one rewrite_body spliced (not changed by a later step)."""
        parsed = client_body.parsed() if client_body is not None else None
        parsed = json.loads(raw) if parsed is None else parsed
        texts = client_body.item_bytes() if client_body is not None else None
        client, client_sizes = cache_aligner.message_digests(parsed, api, texts=texts, keys=note.message_keys)
        changed = client_body.changed_item_bytes() if client_body is not None and spliced else None
        sent, sizes = (client, client_sizes) if same else \
            cache_aligner.message_digests(body, api, (parsed, client, client_sizes), changed, note.message_keys)
        seen = self.tracker.observe(note.conversation, prefix, client, sent, sizes)
        note.findings = seen.findings
        note.broken_chars = seen.broken_chars
        for finding in seen.findings:
            if (finding.location, finding.kind) not in self._logged:
                self._logged.add((finding.location, finding.kind))
                log.warning("volatile prompt prefix: %s", finding.describe())
