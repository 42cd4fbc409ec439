"""LiteLLM: ``litellm.callbacks = [HeadroomCallback()]`` compresses every completion's tool outputs.

LiteLLM hands its callbacks the request body it is about to send, already in the provider's own wire
format (``log_pre_api_call``: ``additional_args["complete_input_dict"]``), for ``completion`` and
``acompletion``, streamed or not. The callback compresses that body as ``headroom proxy`` would
(Anthropic ``tool_result`` blocks, OpenAI ``role: "tool"`` messages, Responses
``function_call_output`` items) and puts the compressed values back into it: new lists, so the
caller's own messages are never modified. The reply's usage goes into the ledger on success.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

try:
    from litellm.integrations.custom_logger import CustomLogger
except ImportError as exc:  # pragma: no cover - the optional extra is missing
    from headroom_cli.extras import install_line

    raise ImportError(f"HeadroomCallback needs litellm: {install_line('litellm')}") from exc

from headroom_cli.integrations.sdk import _absorb
from headroom_cli.ledger import Usage
from headroom_cli.providers import by_api
from headroom_cli.library import ANTHROPIC_MESSAGES, OPENAI_CHAT, OPENAI_RESPONSES, Headroom, Pending, default_headroom

log = logging.getLogger("headroom.library")

_REWRITABLE = ("messages", "input", "system", "tools")


class HeadroomCallback(CustomLogger):
    def __init__(self, headroom: Headroom | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self._headroom = headroom
        # By litellm_call_id until the reply is logged, with whether the upstream reports usage.
        self._pending: dict[str, tuple[Pending, bool]] = {}
        self._lock = threading.Lock()

    def log_pre_api_call(self, model: str, messages: Any, kwargs: dict[str, Any]) -> None:
        try:
            body = (kwargs.get("additional_args") or {}).get("complete_input_dict")
            named = _named_provider(kwargs)
            api = _api_of(body, named)
            if api is None:
                return
            provider = named or by_api(api).provider
            pending = (self._headroom or default_headroom()).prepare(body, api, provider=provider)
            sent = pending.compressed.request
            for key in _REWRITABLE:
                if key in sent and sent[key] != body.get(key):
                    body[key] = sent[key]  # litellm sends this dict next
            call_id = kwargs.get("litellm_call_id")
            if isinstance(call_id, str):
                with self._lock:
                    self._pending[call_id] = (pending, _usage_reported(body, api))
            else:
                pending.finish()
        except Exception as exc:  # noqa: BLE001 - the request goes as it was
            log.error("left unchanged: internal error %s: %s", type(exc).__name__, exc)

    def log_success_event(self, kwargs: dict[str, Any], response_obj: Any, start_time: Any, end_time: Any) -> None:
        self._finish(kwargs, response_obj, 200)

    async def async_log_success_event(self, kwargs: dict[str, Any], response_obj: Any, start_time: Any,
                                      end_time: Any) -> None:
        self._finish(kwargs, response_obj, 200)

    def log_failure_event(self, kwargs: dict[str, Any], response_obj: Any, start_time: Any, end_time: Any) -> None:
        self._finish(kwargs, None, None)

    async def async_log_failure_event(self, kwargs: dict[str, Any], response_obj: Any, start_time: Any,
                                      end_time: Any) -> None:
        self._finish(kwargs, None, None)

    def _finish(self, kwargs: dict[str, Any], response: Any, status: int | None) -> None:
        with self._lock:
            pending, reported = self._pending.pop(kwargs.get("litellm_call_id"), (None, False))
        if pending is not None:
            usage = Usage()
            if reported:
                _absorb(usage, response)
            pending.finish(usage, status)


def _api_of(body: Any, provider: Any) -> str | None:
    """Which wire format LiteLLM is about to send, by provider and shape (Anthropic's format under any
    provider name); None for formats Headroom does not read."""
    if not isinstance(body, dict):
        return None
    messages = body.get("messages")
    if isinstance(messages, list):
        for message in messages:
            content = message.get("content") if isinstance(message, dict) else None
            if isinstance(content, list) and any(isinstance(b, dict) and b.get("type") == "tool_result" for b in content):
                return ANTHROPIC_MESSAGES
        if provider == "anthropic":
            return ANTHROPIC_MESSAGES
        if provider == "openai" or any(isinstance(m, dict) and m.get("role") == "tool" for m in messages):
            return OPENAI_CHAT
        return None
    if isinstance(body.get("input"), list):
        return OPENAI_RESPONSES
    return None


def _usage_reported(body: dict[str, Any], api: str) -> bool:
    """An OpenAI chat stream reports usage only when asked to; otherwise LiteLLM estimates it from
    the messages the caller gave (before compression), which the ledger must not take for usage."""
    if not by_api(api).usage_only_when_asked or body.get("stream") is not True:
        return True
    options = body.get("stream_options")
    return isinstance(options, dict) and options.get("include_usage") is True


def _named_provider(kwargs: dict[str, Any]) -> str | None:
    named = kwargs.get("custom_llm_provider") or (kwargs.get("litellm_params") or {}).get("custom_llm_provider")
    return named if isinstance(named, str) and named else None
