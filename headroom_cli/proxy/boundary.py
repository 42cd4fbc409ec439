"""Who may talk to the proxy: checked on every request, /headroom/* included.

- A token, when one is set (required for a non-loopback address): the ``x-headroom-token`` header.
- No browser page: a request whose ``Origin`` is not the proxy's own, or that the browser marks
  cross-site, is refused (CSRF: a page POSTing text/plain must not reach the upstream or the store).
- No foreign name: the ``Host`` header must name this proxy (DNS rebinding would otherwise let a page
  read /headroom/stats through a name of its own that resolves to 127.0.0.1).
"""

from __future__ import annotations

import hmac
import ipaddress
import socket
from dataclasses import dataclass

from headroom_cli.providers import ANTHROPIC, error_json

TOKEN_HEADER = "x-headroom-token"
_LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")
_WILDCARDS = ("0.0.0.0", "::", "")


def is_loopback(host: str) -> bool:
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False  # a name that could resolve anywhere


def bind_problem(host: str, token: str | None) -> str | None:
    """Why the proxy must not listen on ``host`` (None if it may)."""
    if token or is_loopback(host):
        return None
    return (f"--host {host} would let other machines use the proxy: set a token with --token T or HEADROOM_TOKEN "
            f"(clients send it as the {TOKEN_HEADER} header), or keep --host 127.0.0.1")


@dataclass(frozen=True)
class Refusal:
    status: int
    kind: str  # Anthropic's error type names; OpenAI clients read error.message the same way
    message: str

    def body(self) -> bytes:
        """In Anthropic's shape whatever the client (it is refused before its API matters)."""
        return error_json(ANTHROPIC, self.status, f"headroom: {self.message}", kind=self.kind)


def _split_host(value: str) -> tuple[str, int | None]:
    value = value.strip().lower()
    if value.startswith("["):
        name, _, rest = value.partition("]")
        name += "]"
        port = rest[1:] if rest.startswith(":") else ""
    else:
        name, _, port = value.rpartition(":") if value.count(":") == 1 else (value, "", "")
    try:
        return name, int(port) if port else None
    except ValueError:
        return name, -1


def _is_ip_literal(name: str) -> bool:
    try:
        ipaddress.ip_address(name.strip("[]"))
        return True
    except ValueError:
        return False


class Boundary:
    def __init__(self, host: str, token: str | None, port: int | None = None):
        self.token = token or None
        # mitmproxy accepts connections a moment before it tells its addons it runs: a --port given is
        # known from the start, so a request in that moment is not refused; port 0 is set once bound.
        self.port: int | None = port or None
        bound = host.strip().lower()
        self.names = set(_LOOPBACK_NAMES)
        # Off loopback, clients name this machine as they know it: its address or its host name.
        # An IP literal cannot be rebound, so any is fine there; names are only this machine's own.
        self.any_ip = not is_loopback(bound)
        if bound not in _WILDCARDS:
            self.names.add(f"[{bound}]" if ":" in bound and not bound.startswith("[") else bound)
        if self.any_ip:
            self.names.update(n.lower() for n in {socket.gethostname(), socket.getfqdn()} if n)

    def refusal(self, headers) -> Refusal | None:
        """Why this request is refused (None if it may pass). ``headers``: mitmproxy's (case-insensitive)."""
        host = headers.get("host", "")
        if not self._own_host(host):
            return Refusal(403, "permission_error", f"Host {host[:100]!r} is not this proxy; "
                           f"use http://127.0.0.1:{self.port}")
        origin = headers.get("origin")
        if origin is not None and origin.strip().lower() != f"http://{host.strip().lower()}":
            return Refusal(403, "permission_error", "requests from web pages (another Origin) are refused")
        if headers.get("sec-fetch-site", "").lower() in ("cross-site", "same-site"):
            return Refusal(403, "permission_error", "requests from web pages (cross-site) are refused")
        if self.token is not None:
            sent = headers.get(TOKEN_HEADER, "")
            if not hmac.compare_digest(sent.encode("utf-8", "replace"), self.token.encode("utf-8")):
                why = "a wrong" if sent else "no"
                return Refusal(401, "authentication_error", f"{why} {TOKEN_HEADER} header: send the proxy's token "
                               "(HEADROOM_TOKEN) in it")
        return None

    def _own_host(self, value: str) -> bool:
        if not value:
            return False
        name, port = _split_host(value)
        # Off loopback a client may reach it through a forwarded port (a container's -p 9000:8787).
        if port != self.port and not (port is None and self.port == 80) and not self.any_ip:
            return False
        return name in self.names or (self.any_ip and _is_ip_literal(name))
