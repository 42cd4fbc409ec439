"""Proxy-answered retrieval of an image: through `headroom proxy`, against the mock upstream whose model
calls headroom_retrieve on the image's ID, the continuation hands the original image back to the model
as an image (Anthropic: inside the tool_result; OpenAI chat: tool messages hold text only, so in a user
message after them), byte for byte the client's original."""

from __future__ import annotations

import base64

import anthropic
import openai

from headroom_cli.markers import ccr_id
from headroom_cli.mock_upstream import FINAL_PREFIX, ToolStep
from headroom_cli.proxy.retrieval import TOOL_NAME

from image_samples import terminal_png
from test_image_requests import anthropic_body, chat_body
from test_proxy_retrieval import run  # noqa: F401  (the fixture: a mock upstream and the proxy before it)

SCREEN = base64.b64encode(terminal_png()).decode()
SCREEN_ID = ccr_id(SCREEN)
RETRIEVE = ToolStep(TOOL_NAME, {"id": SCREEN_ID})
SCREENSHOT_TOOL = [{"name": "screenshot", "description": "Take a screenshot.",
                    "input_schema": {"type": "object", "properties": {}}}]


def _images(content) -> list[dict]:
    return [b for b in content if isinstance(b, dict) and b.get("type") in ("image", "image_url")] \
        if isinstance(content, list) else []


def test_anthropic_retrieval_hands_the_original_image_back_inside_the_tool_result(run):
    upstream, proxy = run(ToolStep("screenshot", {}), RETRIEVE)
    client = anthropic.Anthropic(base_url=proxy.url, api_key="sk-ant-test", max_retries=0)
    body = anthropic_body(SCREEN, in_tool_result=True)
    message = client.messages.create(model=body["model"], max_tokens=256, tools=SCREENSHOT_TOOL,
                                      messages=body["messages"])
    assert message.content[-1].text.startswith(FINAL_PREFIX)
    assert len(upstream.requests) == 2
    first, second = (r.json()["messages"] for r in upstream.requests)
    [sent] = _images(first[-1]["content"][0]["content"])
    assert sent["source"]["data"] != SCREEN  # the first request carried the compressed screenshot
    result = second[-1]["content"][0]
    assert result["type"] == "tool_result" and not result.get("is_error")
    [image] = _images(result["content"])
    assert image["source"] == {"type": "base64", "media_type": "image/png", "data": SCREEN}
    assert SCREEN_ID in result["content"][0]["text"]


def test_openai_retrieval_hands_the_original_image_back_after_the_tool_message(run):
    upstream, proxy = run(RETRIEVE)
    client = openai.OpenAI(base_url=proxy.url + "/v1", api_key="sk-test", max_retries=0)
    body = chat_body(SCREEN)
    reply = client.chat.completions.create(model=body["model"], messages=body["messages"])
    assert FINAL_PREFIX in reply.choices[0].message.content
    assert len(upstream.requests) == 2
    second = upstream.requests[1].json()["messages"]
    assert [m["role"] for m in second[-3:]] == ["assistant", "tool", "user"]
    assert SCREEN_ID in second[-2]["content"]
    [image] = _images(second[-1]["content"])
    assert image["image_url"]["url"] == f"data:image/png;base64,{SCREEN}"


def test_a_text_retrieval_still_answers_text(run):
    """An ID that is no image keeps the text answer (a tool error here: it was never stored)."""
    upstream, proxy = run(ToolStep(TOOL_NAME, {"id": "hr_0123456789abcdef"}))
    client = openai.OpenAI(base_url=proxy.url + "/v1", api_key="sk-test", max_retries=0)
    body = chat_body(SCREEN)
    client.chat.completions.create(model=body["model"], messages=body["messages"])
    second = upstream.requests[1].json()["messages"]
    assert second[-1]["role"] == "tool" and "No stored original" in second[-1]["content"]


def test_an_image_the_provider_would_refuse_is_answered_with_the_way_to_get_it(tmp_path):
    from headroom_cli.proxy.retrieval import image_answer
    from headroom_cli.store import Store

    store = Store(tmp_path / "store.sqlite3")
    try:
        store.put("hr_00000000000000aa", "image", base64.b64encode(b"not an image at all").decode())
        store.put("hr_00000000000000bb", "text", "a line\n")
        refused = image_answer(store, "hr_00000000000000aa")
        assert refused.is_error and refused.image is None and "--out FILE" in refused.text
        assert image_answer(store, "hr_00000000000000bb") is None  # text: answered as lines
    finally:
        store.close()
