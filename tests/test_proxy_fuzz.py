"""Fuzz: thousands of generated request bodies through one real proxy (mitmproxy) to the mock upstream.

For the Anthropic Messages, OpenAI Chat and OpenAI Responses endpoints: valid bodies, wrong types
(content as a number, messages as an object, tool_result content as nested lists, …), deep nesting,
invalid UTF-8, truncations, odd number literals, UTF-16, every content-encoding mitmproxy knows (gzip,
deflate, br, zstd, identity) and unknown ones, chunked uploads. Asserted for each:

- no proxy-made 5xx (every 5xx must carry the mock's request id), and the request reached the upstream;
- a body the proxy cannot read as a JSON object (or any encoded body) arrives byte for byte;
- a JSON object arrives equal to what was sent, token for token (number literals as written), once tool
  outputs are masked out and Headroom's own additions (its retrieve tool, cache_control breakpoints)
  are set aside;
- no error logged by the proxy or by mitmproxy (an exception inside a hook is a crash the client
  does not see), and the proxy still answers at the end.

Seeded (stdlib random): a failure names its seed and request number; rerun with HEADROOM_FUZZ_SEED.
Bounded: stops at FUZZ_COUNT requests or FUZZ_SECONDS, whichever comes first.
"""

from __future__ import annotations

import gzip
import http.client
import json
import logging
import os
import random
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor

import brotli
import zstandard

from headroom_cli.config import Settings
from headroom_cli.mock_upstream import MockUpstream
from headroom_cli.proxy.server import ProxyServer

from samples import app_log_with_fatal, pytest_verbose_log

SEED = int(os.environ.get("HEADROOM_FUZZ_SEED", "1313"))
FUZZ_COUNT = int(os.environ.get("HEADROOM_FUZZ_COUNT", "3000"))
FUZZ_SECONDS = float(os.environ.get("HEADROOM_FUZZ_SECONDS", "40"))
WORKERS = 4
MASK = "<tool output>"
ANTHROPIC, CHAT, RESPONSES = "/v1/messages", "/v1/chat/completions", "/v1/responses"
LOGS = [pytest_verbose_log(300), app_log_with_fatal(400)]  # compressible: the proxy really rewrites these

# -- generation ------------------------------------------------------------------------------------

WEIRD_STRINGS = ["", "é", "\u2028", "\x00nul", "\ud800 lone surrogate", "😀" * 3, "\\", '"', "</script>",
                 "[headroom: 3 lines omitted · retrieve hr_0123456789abcdef]", "a" * 3000]


def _weird(rng: random.Random, depth: int = 0):
    roll = rng.randrange(12)
    if roll == 0:
        return rng.choice([0, -1, 2 ** 64, 1.5, -0.0, 1e308])
    if roll == 1:
        return rng.choice([None, True, False])
    if roll == 2:
        return rng.choice(WEIRD_STRINGS)
    if roll == 3:
        return {} if rng.random() < 0.5 else []
    if roll == 4:  # nested lists (tool_result content as lists of lists …)
        value: object = rng.choice(["x", 1, None])
        for _ in range(rng.choice([2, 5, 50, 400, 800])):  # below json's limit of 1,000, in any thread
            value = [value]
        return value
    if roll == 5:
        value = "deep"
        for _ in range(rng.choice([10, 200, 800])):
            value = {"content": value}
        return value
    if roll == 6 and depth < 2:
        return [_weird(rng, depth + 1) for _ in range(rng.randrange(4))]
    if roll == 7 and depth < 2:
        return {rng.choice(["type", "text", "content", "role", "id"]): _weird(rng, depth + 1) for _ in range(3)}
    if roll == 8:
        return {"type": rng.choice(["text", "tool_result", "image", "input_text"]), "text": rng.choice(WEIRD_STRINGS)}
    if roll == 9:
        return rng.choice(LOGS)[: rng.choice([100, 5000, 40000])]
    return rng.choice(["hello", 42, None, [], {}])


def _tool_output(rng: random.Random):
    roll = rng.random()
    if roll < 0.08:
        return rng.choice(LOGS)
    if roll < 0.5:
        return rng.choice(["ok", "3 passed in 0.01s", "line\n" * rng.randrange(1, 30)])
    if roll < 0.7:
        return [{"type": "text", "text": rng.choice(LOGS) if rng.random() < 0.1 else "part"}, _weird(rng)]
    return _weird(rng)


def _anthropic(rng: random.Random) -> dict:
    messages = [{"role": "user", "content": [{"type": "text", "text": "run the tests"}]}]
    for i in range(rng.randrange(1, 4)):
        messages.append({"role": "assistant", "content": [
            {"type": "tool_use", "id": f"toolu_{i}", "name": rng.choice(["Bash", "Read", "Grep"]), "input": {"command": "x"}}]})
        block = {"type": "tool_result", "tool_use_id": f"toolu_{i}", "content": _tool_output(rng)}
        if rng.random() < 0.3:
            block["cache_control"] = {"type": "ephemeral"}
        messages.append({"role": "user", "content": [block]})
    body = {"model": rng.choice(["claude-sonnet-4-5", "claude-haiku-4-5", 7, None]), "max_tokens": 64,
            "messages": messages, "stream": rng.random() < 0.3}
    if rng.random() < 0.5:
        body["system"] = rng.choice(["You are a coding agent.", [{"type": "text", "text": "sys"}], _weird(rng)])
    if rng.random() < 0.5:
        body["tools"] = [{"name": "Bash", "description": "run", "input_schema": {"type": "object"}}]
    return body


def _chat(rng: random.Random) -> dict:
    messages: list = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "run it"}]
    for i in range(rng.randrange(1, 4)):
        messages.append({"role": "assistant", "content": None, "tool_calls": [
            {"id": f"call_{i}", "type": "function", "function": {"name": "shell", "arguments": rng.choice(["{}", "{bad", 5])}}]})
        messages.append({"role": "tool", "tool_call_id": f"call_{i}", "content": _tool_output(rng)})
    return {"model": rng.choice(["gpt-4o", "gpt-5", None]), "messages": messages, "stream": rng.random() < 0.3}


def _responses(rng: random.Random) -> dict:
    items: list = [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "why?"}]}]
    for i in range(rng.randrange(1, 4)):
        items.append({"type": "function_call", "call_id": f"c{i}", "name": "exec_command", "arguments": "{}"})
        items.append({"type": "function_call_output", "call_id": f"c{i}", "output": _tool_output(rng)})
    return {"model": rng.choice(["gpt-5", "o3"]), "input": items, "stream": rng.random() < 0.3}


def _nodes(value) -> list:
    """Every (container, key) in a JSON tree, for mutations (a loop: the trees run hundreds deep)."""
    found, todo = [], [value]
    while todo:
        node = todo.pop()
        keys = list(node) if isinstance(node, dict) else range(len(node)) if isinstance(node, list) else ()
        for key in keys:
            found.append((node, key))
            todo.append(node[key])
    return found


def _depth(value) -> int:
    deepest, todo = 0, [(value, 1)]
    while todo:
        node, level = todo.pop()
        deepest = max(deepest, level)
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        todo.extend((child, level + 1) for child in children)
    return deepest


def _mutate(rng: random.Random, body: dict) -> dict:
    body = json.loads(json.dumps(body))  # a copy; deepcopy would recurse past the limit
    for _ in range(rng.choice([0, 0, 1, 1, 2, 3])):
        roll = rng.random()
        if roll < 0.15:  # the top-level shape itself
            key = rng.choice(["messages", "input", "tools", "model", "system"])
            body[key] = rng.choice([{"role": "user", "content": "as an object"}, 5, "text", None, _weird(rng)])
        else:
            nodes = _nodes(body)
            if nodes:
                container, key = rng.choice(nodes)
                container[key] = _weird(rng)
    return body


def _serialize(rng: random.Random, body: dict) -> bytes:
    style, ascii_only = rng.randrange(4), rng.random() < 0.5
    indent = 2 if style == 1 and _depth(body) < 300 else None  # indent= takes json's Python encoder, which recurses
    text = json.dumps(body, ensure_ascii=ascii_only, separators=(",", ":") if style == 0 else None, indent=indent)
    if rng.random() < 0.1:  # number literals a re-serialization would change
        text = "{" + rng.choice(['"n":1E5,', '"n":1.0e-7,', '"n":100000000000000000000000,', '"n":-0,', '"n":1e999,']) + text[1:]
    if rng.random() < 0.05:  # a duplicate key
        text = '{"model":"first",' + text[1:]
    data = text.encode("utf-8", "surrogatepass")
    if rng.random() < 0.03:
        data = text.encode("utf-16", "surrogatepass")  # json.loads reads it too
    return data


def _corrupt(rng: random.Random, data: bytes) -> bytes:
    roll = rng.randrange(9)
    at = rng.randrange(len(data) + 1)
    if roll == 0:
        return data[:at]
    if roll == 1:
        return data[:at] + rng.choice([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\x80", b"\xf4\x90\x80\x80"]) + data[at:]
    if roll == 2:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 400)))
    if roll == 3:
        return b""
    if roll == 4:
        return b"[" * rng.choice([1000, 100_000]) + b"]" * rng.choice([0, 1000])
    if roll == 5:
        return b'{"messages":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    if roll == 6:
        return b"\xef\xbb\xbf" + data  # a BOM
    if roll == 7:
        return data + b" trailing"
    return data.replace(b'"', b"'", 1)


ENCODERS = {
    "gzip": gzip.compress, "deflate": zlib.compress, "br": brotli.compress,
    "zstd": lambda b: zstandard.ZstdCompressor().compress(b), "identity": lambda b: b,
    "x-unknown": lambda b: b, "gzip, br": lambda b: brotli.compress(gzip.compress(b)),
}


def generate(rng: random.Random) -> tuple[str, bytes, str | None, bool]:
    """(path, body bytes, content-encoding or None, chunked upload)."""
    path = rng.choice([ANTHROPIC, CHAT, RESPONSES])
    while True:  # nested values can stack past json's depth limit: those are drawn again (raw deep bodies below)
        body = _mutate(rng, {ANTHROPIC: _anthropic, CHAT: _chat, RESPONSES: _responses}[path](rng))
        if _depth(body) < 900:
            break
    data = _serialize(rng, body)
    if rng.random() < 0.25:
        data = _corrupt(rng, data)
    encoding = rng.choice(list(ENCODERS)) if rng.random() < 0.15 else None
    if encoding:
        data = ENCODERS[encoding](data)
    return path, data, encoding, rng.random() < 0.2


# -- checking --------------------------------------------------------------------------------------

def _literal(data: bytes):
    """The JSON as written: numbers and constants kept as their text (a re-serialization shows), and
    cache_control set aside (Headroom adds breakpoints). Hooks, not a walk: the trees run deep."""
    keep = lambda s: ("#literal", s)  # noqa: E731
    return json.loads(data, parse_float=keep, parse_int=keep, parse_constant=keep,
                      object_pairs_hook=lambda pairs: {k: v for k, v in pairs if k != "cache_control"})


def _one_text(value):
    """A breakpoint turns an Anthropic string into one text block (with cache_control, set aside)."""
    if isinstance(value, list) and len(value) == 1 and isinstance(value[0], dict) \
            and set(value[0]) == {"type", "text"} and value[0]["type"] == "text" and isinstance(value[0]["text"], str):
        return value[0]["text"]
    return value


def _mask(body, path: str, sent_tools: bool = True):
    """Tool outputs replaced by MASK, Headroom's additions (its retrieve tool, cache breakpoints) undone."""
    if path == ANTHROPIC:
        if "system" in body:
            body["system"] = _one_text(body["system"])
        for message in body.get("messages") if isinstance(body.get("messages"), list) else []:
            if isinstance(message, dict) and "content" in message:
                message["content"] = _one_text(message["content"])
    items = body.get("messages") if path != RESPONSES else None
    if path == CHAT and not isinstance(items, list):
        path, items = RESPONSES, None  # the chat path reads Responses-shaped bodies too
    if path == RESPONSES:
        items = body.get("input")
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        if path == ANTHROPIC and item.get("role") == "user" and isinstance(item.get("content"), list):
            for block in item["content"]:
                if isinstance(block, dict) and block.get("type") == "tool_result" and "content" in block:
                    block["content"] = MASK
        elif path == CHAT and item.get("role") == "tool" and "content" in item:
            item["content"] = MASK
        elif path == RESPONSES and item.get("type") == "function_call_output" and "output" in item:
            item["output"] = MASK
    tools = body.get("tools")
    if isinstance(tools, list):
        body["tools"] = [t for t in tools if not (isinstance(t, dict) and "headroom_retrieve" in (
            t.get("name"), (t.get("function") or {}).get("name") if isinstance(t.get("function"), dict) else None))]
        if not body["tools"] and len(tools) and not sent_tools:
            del body["tools"]  # the proxy gave a body without tools its own
    return body


def _readable_object(data: bytes) -> bool:
    """What the proxy rewrites: a JSON object, as json.loads reads the bytes."""
    try:
        return isinstance(json.loads(data), dict)
    except (ValueError, RecursionError):
        return False


def check(n: int, path: str, sent: bytes, encoding: str | None, status: int, headers: dict, received) -> str | None:
    if status >= 500 and not (headers.get("request-id") or headers.get("x-request-id") or "").startswith("req_mock_"):
        return f"proxy-made {status}"
    if received is None:
        return f"never reached the upstream (status {status})"
    if encoding not in (None, "identity"):  # identity is no encoding: the body is read like any other
        if received.headers.get("content-encoding") != encoding:
            return f"content-encoding {encoding!r} became {received.headers.get('content-encoding')!r}"
        return None if received.body == sent else "an encoded body was changed"
    if not _readable_object(sent):
        return None if received.body == sent else "an unreadable body was changed"
    try:
        before = _literal(sent)
        before, after = _mask(before, path), _mask(_literal(received.body), path, "tools" in before)
    except (ValueError, RecursionError) as exc:
        return f"a readable body arrived unreadable ({type(exc).__name__})"
    a, b = json.dumps(before), json.dumps(after)
    if a != b:
        at = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
        return f"bytes outside tool outputs changed at {at}: sent …{a[max(0, at - 60):at + 60]!r}… got …{b[max(0, at - 60):at + 60]!r}…"
    return None


# -- the run ---------------------------------------------------------------------------------------

def _send(conn_holder: threading.local, port: int, n: int, path: str, data: bytes, encoding, chunked: bool):
    headers = {"content-type": "application/json", "x-fuzz-id": str(n)}
    if path == ANTHROPIC:
        headers.update({"x-api-key": "sk-ant-fuzz", "anthropic-version": "2023-06-01"})
    else:
        headers["authorization"] = "Bearer sk-fuzz"
    if encoding:
        headers["content-encoding"] = encoding
    for attempt in range(2):
        conn = getattr(conn_holder, "conn", None) or http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn_holder.conn = conn
        try:
            if chunked:
                pieces = [data[i:i + 977] for i in range(0, len(data), 977)] or [b""]
                conn.request("POST", path, body=iter(pieces), headers=headers, encode_chunked=True)
            else:
                conn.request("POST", path, body=data, headers=headers)
            response = conn.getresponse()
            response.read()
            if response.getheader("connection", "").lower() == "close":
                conn.close()
                conn_holder.conn = None
            return response.status, {k.lower(): v for k, v in response.getheaders()}
        except (http.client.HTTPException, OSError):
            conn.close()
            conn_holder.conn = None
            if attempt:
                raise
    raise AssertionError("unreachable")


def test_fuzzed_bodies_pass_through_the_proxy_unharmed(headroom_home, caplog):
    caplog.set_level(logging.WARNING)
    rng = random.Random(SEED)
    cases = [generate(rng) for _ in range(FUZZ_COUNT)]
    with MockUpstream() as upstream:
        settings = Settings(host="127.0.0.1", port=0, anthropic_upstream=upstream.url, openai_upstream=upstream.url,
                            compress=True, home=headroom_home, debug=bool(os.environ.get("FUZZ_DEBUG")))
        server = ProxyServer(settings).start()
        results: dict[int, tuple[int, dict]] = {}
        local = threading.local()
        stop_at = time.monotonic() + FUZZ_SECONDS
        try:
            def one(n: int) -> None:
                if time.monotonic() < stop_at:
                    results[n] = _send(local, server.port, n, *cases[n])

            with ThreadPoolExecutor(WORKERS) as pool:
                list(pool.map(one, range(len(cases))))
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
            conn.request("GET", "/headroom/health")
            assert conn.getresponse().status == 200, "the proxy stopped answering"
        finally:
            server.stop()
        received = {rec.headers.get("x-fuzz-id"): rec for rec in upstream.requests}
    assert len(results) >= min(FUZZ_COUNT, 1000), f"only {len(results)} requests in {FUZZ_SECONDS:.0f} s"
    failures = []
    for n, (status, headers) in sorted(results.items()):
        path, data, encoding, chunked = cases[n]
        problem = check(n, path, data, encoding, status, headers, received.get(str(n)))
        if problem:
            failures.append(f"seed {SEED} #{n} {path} encoding={encoding} chunked={chunked}: {problem}; "
                            f"body {data[:120]!r}…")
    if os.environ.get("FUZZ_DEBUG"):  # the tracebacks of logged errors (with the proxy in --debug)
        for r in caplog.records:
            if r.levelno >= logging.ERROR and r.exc_text:
                print(r.exc_text[-3000:])
    errors = [f"{r.name}: {r.getMessage()[:300]}" for r in caplog.records
              if r.levelno >= logging.ERROR and r.name.startswith(("headroom", "mitmproxy"))]
    assert not failures, f"{len(failures)} of {len(results)} failed:\n" + "\n".join(failures[:15])
    assert not errors, f"{len(errors)} errors logged:\n" + "\n".join(sorted(set(errors))[:15])
