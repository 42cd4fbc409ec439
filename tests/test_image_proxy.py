"""Images through the proxy, against the mock upstream: what the upstream receives bills at least 40%
fewer image tokens for a full-HD screenshot and 60% fewer for a photo, the marker rides beside it,
a re-sent request goes upstream byte-identical, and the ledger counts billed image tokens."""

from __future__ import annotations

import base64
import io
import json

import pytest
from PIL import Image

from headroom_cli.images import tokens
from headroom_cli.markers import ccr_id, find_markers
from headroom_cli.mock_upstream import MockUpstream

from image_samples import photo_jpeg, terminal_png
from test_image_requests import anthropic_body, chat_body, responses_body
from test_proxy import ANTHROPIC_HEADERS, OPENAI_HEADERS, _proxy, _send

SCREEN = base64.b64encode(terminal_png()).decode()
SCREEN_1280 = base64.b64encode(terminal_png(1280, 800)).decode()
PHOTO = base64.b64encode(photo_jpeg()).decode()


@pytest.fixture
def upstream():
    with MockUpstream() as mock:
        yield mock


@pytest.fixture
def proxy(upstream, headroom_home):
    server = _proxy(upstream.url, headroom_home)
    yield server
    server.stop()


def _received_sizes(body: dict) -> list[tuple[int, int]]:
    text = json.dumps(body)
    sizes = []
    for chunk in text.split('"data": "')[1:] + text.split("base64,")[1:]:
        data = chunk.split('"', 1)[0]
        sizes.append(Image.open(io.BytesIO(base64.b64decode(data))).size)
    return sizes


@pytest.mark.parametrize("path,original,body,headers,provider,share", [
    ("/v1/messages", SCREEN, anthropic_body(SCREEN, in_tool_result=True), ANTHROPIC_HEADERS, "anthropic", 0.6),
    ("/v1/messages", PHOTO, anthropic_body(PHOTO, "image/jpeg"), ANTHROPIC_HEADERS, "anthropic", 0.4),
    ("/v1/chat/completions", SCREEN, chat_body(SCREEN), OPENAI_HEADERS, "openai", 0.6),
    ("/v1/chat/completions", SCREEN_1280, chat_body(SCREEN_1280), OPENAI_HEADERS, "openai", 0.6),
    ("/v1/responses", PHOTO, responses_body(PHOTO, "image/jpeg"), OPENAI_HEADERS, "openai", 0.4),
], ids=["anthropic-screen", "anthropic-photo", "chat-full-hd-screen", "chat-screen", "responses-photo"])
def test_billed_image_tokens_fall_and_history_stays_byte_identical(proxy, upstream, path, original, body, headers,
                                                                   provider, share):
    before = tokens.billed(provider, *Image.open(io.BytesIO(base64.b64decode(original))).size)
    for _ in range(2):
        status, _, _ = _send(proxy.port, "POST", path, json.dumps({**body, "max_tokens": 64}).encode(), headers)
        assert status == 200
    first, second = upstream.requests[-2], upstream.requests[-1]
    assert first.body == second.body
    got = first.json()
    [size] = _received_sizes(got)
    detail = "low" if '"detail": "low"' in json.dumps(got) else None
    assert tokens.billed(provider, *size, detail) <= share * before
    assert [m["id"] for m in find_markers(json.dumps(got, ensure_ascii=False))] == [ccr_id(original)]
    proxy.recorder.flush()
    row = proxy.ledger.recent(1, proxy.session)[0]
    # The ledger counts billed image tokens, not the base64 text (which would be ~100,000 cl100k tokens).
    assert row.engines["image"] == [1, before, tokens.billed(provider, *size, detail)]
    assert before <= row.tokens_before < before + 200
