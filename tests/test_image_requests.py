"""Images in requests: every wire shape compressed, URL images and small ones untouched, the marker
beside the image, the decision frozen (same bytes every turn, also from a fresh proxy), originals stored."""

from __future__ import annotations

import base64
import copy
import io
import json

import pytest
from PIL import Image

from headroom_cli.images import tokens
from headroom_cli.images.wire import tokens_of
from headroom_cli.markers import ccr_id, find_markers
from headroom_cli.pipeline import Pipeline
from headroom_cli.providers import adapter_for
from headroom_cli.rewrite import rewrite_body
from headroom_cli.store import Store

from image_samples import photo_jpeg, small_png, terminal_png

SCREEN = base64.b64encode(terminal_png()).decode()
SCREEN_HD_READY = base64.b64encode(terminal_png(1280, 800)).decode()  # one OpenAI bills 40% less for
PHOTO = base64.b64encode(photo_jpeg()).decode()
SMALL = base64.b64encode(small_png()).decode()


def anthropic_body(data: str, media: str = "image/png", in_tool_result: bool = False) -> dict:
    image = {"type": "image", "source": {"type": "base64", "media_type": media, "data": data}}
    if in_tool_result:
        return {"model": "claude-sonnet-4-5", "messages": [
            {"role": "user", "content": [{"type": "text", "text": "take a screenshot"}]},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "screenshot", "input": {}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1",
                                          "content": [{"type": "text", "text": "done"}, image]}]}]}
    return {"model": "claude-sonnet-4-5", "messages": [
        {"role": "user", "content": [image, {"type": "text", "text": "what is wrong here?"}]}]}


def chat_body(data: str, media: str = "image/png", detail: str | None = "auto") -> dict:
    image_url = {"url": f"data:{media};base64,{data}"}
    if detail:
        image_url["detail"] = detail
    return {"model": "gpt-4o", "messages": [{"role": "user", "content": [
        {"type": "text", "text": "what is wrong here?"}, {"type": "image_url", "image_url": image_url}]}]}


def responses_body(data: str, media: str = "image/png", as_tool_output: bool = False) -> dict:
    image = {"type": "input_image", "image_url": f"data:{media};base64,{data}", "detail": "auto"}
    if as_tool_output:
        return {"model": "gpt-5", "input": [
            {"type": "function_call", "call_id": "c1", "name": "screenshot", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "c1", "output": [image]}]}
    return {"model": "gpt-5", "input": [{"role": "user", "content": [
        {"type": "input_text", "text": "what is wrong here?"}, image]}]}


SHAPES = [
    ("/v1/messages", lambda d, m="image/png": anthropic_body(d, m)),
    ("/v1/messages", lambda d, m="image/png": anthropic_body(d, m, in_tool_result=True)),
    ("/v1/chat/completions", lambda d, m="image/png": chat_body(d, m)),
    ("/v1/responses", lambda d, m="image/png": responses_body(d, m)),
    ("/v1/responses", lambda d, m="image/png": responses_body(d, m, as_tool_output=True)),
]
IDS = ["anthropic-user", "anthropic-tool-result", "openai-chat", "responses-user", "responses-tool-output"]


def _images(body: dict) -> list[tuple[bytes, list]]:
    """Every data image in the body with the content list holding it (anthropic and openai shapes)."""
    found = []

    def walk(value, holder):
        if isinstance(value, dict):
            if value.get("type") == "image" and value["source"].get("type") == "base64":
                found.append((base64.b64decode(value["source"]["data"]), holder))
            url = value.get("image_url")
            url = url.get("url") if isinstance(url, dict) else url
            if isinstance(url, str) and url.startswith("data:"):
                found.append((base64.b64decode(url.split(",", 1)[1]), holder))
            for v in value.values():
                walk(v, value)
        elif isinstance(value, list):
            for v in value:
                walk(v, value)
    walk(body, None)
    return found


def _rewrite(path: str, body: dict, store: Store):
    return rewrite_body(json.dumps(body).encode(), adapter_for(path), Pipeline(frozen=store), store.put)


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "store.sqlite3")
    yield s
    s.close()


@pytest.mark.parametrize("path,make", SHAPES, ids=IDS)
def test_every_shape_is_compressed_with_a_marker_beside_the_image(path, make, store):
    screen = SCREEN if path == "/v1/messages" else SCREEN_HD_READY
    result = _rewrite(path, make(screen), store)
    sent = json.loads(result.body)
    [(data, holder)] = _images(sent)
    assert Image.open(io.BytesIO(data)).format == "WEBP" and len(data) < len(base64.b64decode(screen))
    markers = [m for b in holder if isinstance(b, dict) and isinstance(b.get("text"), str) for m in find_markers(b["text"])]
    assert [m["id"] for m in markers] == [ccr_id(screen)]
    assert store.get(ccr_id(screen)) == screen  # the original, redeemable
    provider = "anthropic" if path == "/v1/messages" else "openai"
    before, after = tokens_of(next(o for o in result.outcomes if o.engine == "image"))
    assert before == tokens.billed(provider, *Image.open(io.BytesIO(base64.b64decode(screen))).size)
    assert after <= 0.6 * before
    if path == "/v1/messages":
        assert '"media_type": "image/webp"' in json.dumps(sent)


@pytest.mark.parametrize("path,make", SHAPES, ids=IDS)
def test_resent_history_is_byte_identical_even_from_a_fresh_pipeline(path, make, store):
    first = _rewrite(path, make(PHOTO, "image/jpeg"), store)
    again = _rewrite(path, make(PHOTO, "image/jpeg"), store)  # a new Pipeline: replayed from the store
    assert first.changed and first.body == again.body


def test_openai_photo_is_sent_with_low_detail(store):
    sent = json.loads(_rewrite("/v1/chat/completions", chat_body(PHOTO, "image/jpeg"), store).body)
    image_url = sent["messages"][0]["content"][1]["image_url"]
    assert image_url["detail"] == "low"


@pytest.mark.parametrize("path,make", SHAPES, ids=IDS)
def test_small_images_pass_through_byte_for_byte(path, make, store):
    raw = json.dumps(make(SMALL)).encode()
    assert rewrite_body(raw, adapter_for(path), Pipeline(frozen=store), store.put).body == raw


def test_url_images_pass_through(store):
    bodies = [
        ("/v1/messages", {"model": "m", "messages": [{"role": "user", "content": [
            {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}}]}]}),
        ("/v1/chat/completions", {"model": "m", "messages": [{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}]}]}),
        ("/v1/responses", {"model": "m", "input": [{"role": "user", "content": [
            {"type": "input_image", "image_url": "https://example.com/a.png"}]}]}),
    ]
    for path, body in bodies:
        raw = json.dumps(body).encode()
        assert rewrite_body(raw, adapter_for(path), Pipeline(frozen=store), store.put).body == raw


def test_without_a_store_images_stay(store):
    raw = json.dumps(anthropic_body(SCREEN)).encode()
    assert rewrite_body(raw, adapter_for("/v1/messages"), Pipeline(lossy=False)).body == raw


def test_two_images_in_one_message_each_get_their_marker(store):
    body = anthropic_body(SCREEN)
    body["messages"][0]["content"].insert(1, copy.deepcopy(anthropic_body(PHOTO, "image/jpeg")["messages"][0]["content"][0]))
    sent = json.loads(_rewrite("/v1/messages", body, store).body)
    kinds = [b["type"] for b in sent["messages"][0]["content"]]
    assert kinds == ["image", "text", "image", "text", "text"]
    ids = [find_markers(b["text"])[0]["id"] for b in sent["messages"][0]["content"][1:4:2]]
    assert ids == [ccr_id(SCREEN), ccr_id(PHOTO)]


def test_system_and_assistant_content_is_never_touched(store):
    body = anthropic_body(SCREEN)
    body["messages"][0]["role"] = "assistant"
    raw = json.dumps(body).encode()
    assert rewrite_body(raw, adapter_for("/v1/messages"), Pipeline(frozen=store), store.put).body == raw


@pytest.mark.parametrize("path,make,tool", [
    ("/v1/messages", lambda d: anthropic_body(d, in_tool_result=True),
     {"type": "computer_20250124", "name": "computer", "display_width_px": 1920, "display_height_px": 1080}),
    ("/v1/responses", lambda d: responses_body(d, as_tool_output=True),
     {"type": "computer_use_preview", "display_width": 1920, "display_height": 1080, "environment": "linux"}),
], ids=["anthropic-computer", "responses-computer-use"])
def test_computer_use_screenshots_pass_as_they_are(path, make, tool, store):
    """The model clicks in the screenshot's own pixels: a resized or re-laid-out one would misplace it."""
    body = make(SCREEN)
    assert _rewrite(path, body, store).changed  # compressed without the tool ...
    raw = json.dumps({**body, "tools": [tool]}).encode()
    assert rewrite_body(raw, adapter_for(path), Pipeline(frozen=store), store.put).body == raw  # ... not with it
