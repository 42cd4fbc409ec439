"""A rotating secret in a system prompt is reported as a volatile prefix by where and what kind it is,
never by its value: not on stderr, not in headroom.log, not in the ledger's bytes (issue 13, finding 5).
Through the real commands: `headroom proxy` (logs to stderr) and `headroom wrap -- CMD` (logs to a file)."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

from headroom_cli.mock_upstream import MockUpstream

from proxy_process import proxy_process

SYSTEM = "You are a careful assistant.\nAPI_TOKEN={token}\nAnswer briefly.\n"

# Sends three requests of one conversation, each with a freshly rotated token in the system prompt.
CLIENT = r"""
import http.client, json, os, sys, urllib.parse
url = urllib.parse.urlsplit(os.environ["ANTHROPIC_BASE_URL"])
messages = [{"role": "user", "content": "hello"}]
for token in sys.argv[1:]:
    body = {"model": "claude-sonnet-4-5", "max_tokens": 20, "messages": messages,
            "system": [{"type": "text", "text": os.environ["SYSTEM"].format(token=token)}]}
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    conn.request("POST", "/v1/messages", body=json.dumps(body),
                 headers={"content-type": "application/json", "x-api-key": "k", "anthropic-version": "2023-06-01"})
    reply = conn.getresponse()
    assert reply.status == 200, reply.status
    reply.read()
    messages = messages + [{"role": "assistant", "content": "ok"}, {"role": "user", "content": "again"}]
"""


def _tokens() -> list[str]:
    return [f"sk-live-{secrets.token_hex(16)}" for _ in range(3)]


def _home_bytes(home: Path) -> bytes:
    """Every file Headroom left under its home (ledger, its WAL, the log, the store), concatenated."""
    return b"".join(p.read_bytes() for p in sorted(home.rglob("*")) if p.is_file())


def _volatile_rows(home: Path) -> list[dict]:
    done = subprocess.run([sys.executable, "-m", "headroom_cli", "stats", "--json"], capture_output=True, text=True,
                          timeout=60, check=True, env={**os.environ, "HEADROOM_HOME": str(home)})
    return json.loads(done.stdout)["volatile_prefixes"]


def _assert_found_but_not_leaked(home: Path, tokens: list[str], *texts: str) -> None:
    on_disk = _home_bytes(home)
    for token in tokens:
        secret = token.removeprefix("sk-live-")
        assert secret.encode() not in on_disk
        for text in texts:
            assert secret not in "".join(text.split())  # even wrapped across lines by the terminal log
    [row] = _volatile_rows(home)  # found all the same: where, and what kind
    assert row["location"] == "system[0]" and row["kind"] in ("hex id", "random id") and "line 2" in row["before"]


def test_wrap_writes_no_secret_to_the_log_or_the_ledger(tmp_path, headroom_home):
    tokens = _tokens()
    env = {**os.environ, "HEADROOM_HOME": str(headroom_home), "SYSTEM": SYSTEM}
    with MockUpstream() as upstream:
        run = subprocess.run([sys.executable, "-m", "headroom_cli", "wrap", "--quiet", "--anthropic-upstream",
                              upstream.url, "--", sys.executable, "-c", CLIENT, *tokens],
                             env=env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert run.returncode == 0, run.stderr[-2000:]
    log = (headroom_home / "headroom.log").read_text()
    _assert_found_but_not_leaked(headroom_home, tokens, run.stdout, run.stderr, log)
    assert "volatile prompt prefix: " in log and " id in system[0] line 2 " in log


def test_the_proxy_writes_no_secret_to_stderr_or_the_ledger(tmp_path, headroom_home):
    tokens = _tokens()
    with MockUpstream() as upstream, proxy_process(upstream.url, headroom_home) as proxy:
        env = {**os.environ, "SYSTEM": SYSTEM, "ANTHROPIC_BASE_URL": proxy.url}
        client = subprocess.run([sys.executable, "-c", CLIENT, *tokens], env=env, capture_output=True, text=True,
                                timeout=120)
        assert client.returncode == 0, client.stderr[-2000:]
    out, errors = proxy.stdout, proxy.stderr
    _assert_found_but_not_leaked(headroom_home, tokens, out, errors)
    assert "volatile prompt prefix" in " ".join(errors.split()) and "values not recorded" in " ".join(errors.split())
