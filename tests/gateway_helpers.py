"""Requests for the gateway tests: one Anthropic conversation whose tool outputs compress with omissions."""

from __future__ import annotations

import http.client
import json

from headroom_cli.markers import find_markers


def conversation(log: str, turns: int, question: str = "Why does the build fail?") -> dict:
    """``turns`` tool rounds, each a Bash call whose output is ``log`` with the turn's number on top
    (a new part every turn, the earlier ones re-sent as history)."""
    messages: list[dict] = [{"role": "user", "content": question}]
    for turn in range(turns):
        tool_id = f"toolu_{turn:04d}"
        messages.append({"role": "assistant", "content": [
            {"type": "tool_use", "id": tool_id, "name": "Bash", "input": {"command": f"pytest # run {turn}"}}]})
        messages.append({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": tool_id, "content": f"run {turn}\n{log}"}]})
    return {"model": "claude-sonnet-4-5", "max_tokens": 100, "messages": messages}


def post(port: int, body: dict, headers: dict | None = None, path: str = "/v1/messages",
         timeout: float = 120) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("POST", path, json.dumps(body).encode(), {
            "content-type": "application/json", "x-api-key": "k", "anthropic-version": "2023-06-01",
            **(headers or {})})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def health(port: int) -> dict:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", "/headroom/health")
        return json.loads(conn.getresponse().read())
    finally:
        conn.close()


def tool_texts(body: dict) -> list[str]:
    """The tool results' texts, in order, as the upstream received them."""
    texts = []
    for message in body["messages"]:
        if isinstance(message["content"], list):
            for block in message["content"]:
                if block.get("type") == "tool_result":
                    content = block["content"]
                    texts.append(content if isinstance(content, str) else json.dumps(content))
    return texts


def marker_ids(text: str) -> set[str]:
    return {m.group("id") for m in find_markers(text)}
