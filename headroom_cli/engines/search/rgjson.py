"""ripgrep's ``--json`` event stream: begin, match, context, end, summary. Matches and context events
get a compact rendering (``N:text``, ``N-text``) that the output shows instead of the event."""

from __future__ import annotations

import json

from headroom_cli.engines.base import EngineTimeout, past
from headroom_cli.engines.search.parsed import B, C, CHECK_EVERY, E, H, M, O, Parsed

_EVENTS = ("begin", "match", "context", "end", "summary")


def _event(ln: str) -> tuple[str, dict] | None:
    """(type, data) of an rg event line, None for any other line."""
    if not ln.startswith("{"):
        return None
    try:
        ev = json.loads(ln)
    except ValueError:
        return None
    if not isinstance(ev, dict):
        return None
    typ, data = ev.get("type"), ev.get("data")
    if not isinstance(data, dict) or typ not in _EVENTS:
        return None
    return typ, data


def _line_event(p: Parsed, i: int, typ: str, data: dict, f: int) -> None:
    """A match or context event: rendered as ``N:text`` / ``N-text`` where its text is one line of UTF-8."""
    body = data.get("lines")
    body = body.get("text") if isinstance(body, dict) else None
    num = data.get("line_number")
    if not isinstance(body, str) or "\n" in body.rstrip("\r\n"):
        return  # bytes, or a multiline match: keep the event as it is
    body = body.rstrip("\r\n")
    head = "" if num is None else f"{num}:" if typ == "match" else f"{num}-"
    p.kind[i] = M if typ == "match" else C
    p.fid[i] = f
    p.lnum[i] = num if isinstance(num, int) else 0
    p.render[i] = head + body
    p.tstart[i] = len(head)


def parse(lines: list[str], deadline: float | None) -> Parsed | None:
    """None when fewer than two lines are rg events."""
    p = Parsed(lines, "json")
    kind, fid = p.kind, p.fid
    events = 0
    for i, ln in enumerate(lines):
        if deadline is not None and not i % CHECK_EVERY and past(deadline):
            raise EngineTimeout()
        if not ln.strip():
            kind[i] = B
            continue
        kind[i] = O
        found = _event(ln)
        if found is None:
            continue
        typ, data = found
        events += 1
        if typ == "summary":
            p.summary = i
            continue
        path = data.get("path")
        path = path.get("text") if isinstance(path, dict) else None
        if not isinstance(path, str):
            continue  # a non-UTF-8 path ({"bytes": ...}) stays as it is
        f = p.file(path)
        if typ in ("begin", "end"):
            kind[i] = H if typ == "begin" else E
            fid[i] = f
        else:
            _line_event(p, i, typ, data, f)
    return p.done() if events >= 2 else None
