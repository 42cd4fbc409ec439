"""The MCP stdio server: `headroom_retrieve`, `headroom_compress` and `headroom_stats`.

The tool functions are plain functions (tested directly); `build_server` registers them with the
official `mcp` SDK. Each call opens the store or ledger under HEADROOM_HOME and closes it again, so
the server holds no lock between calls and sees what the proxy wrote a moment ago.

The server ends when its stdin closes (the SDK), and also when whoever started it is gone: its parent
(the client) or the `headroom wrap` named in HEADROOM_WRAP_PID, so a killed session leaves no server.
"""

from __future__ import annotations

import functools
import json
import os
import threading
import time
from typing import Annotated, Optional, Union

from pydantic import Field

from headroom_cli.mcp import SERVER_NAME
from headroom_cli.retrieve import ARGUMENTS_SCHEMA, RETRIEVE_DESCRIPTION

_ARGS = ARGUMENTS_SCHEMA["properties"]

COMPRESS_DESCRIPTION = (
    "Compress a long text (test run, log, JSON, diff, search results, listing, table, HTML, code) with "
    "Headroom. Omitted lines are replaced by [headroom: …] markers and can be read back with headroom_retrieve. "
    "`kind` names what it is instead of letting Headroom guess: tests, logs, json, diff, search, listing, "
    "table, html, code or text."
)
STATS_DESCRIPTION = "Headroom's savings: tokens saved in this session and all time, and how many retrievals were made."


def _session() -> Optional[str]:
    return os.environ.get("HEADROOM_SESSION") or None


def headroom_retrieve(
    id: Annotated[str, Field(description=_ARGS["id"]["description"])],  # noqa: A002
    lines: Annotated[Optional[str], Field(description=_ARGS["lines"]["description"])] = None,
    pattern: Annotated[Optional[str], Field(description=_ARGS["pattern"]["description"])] = None,
) -> Union[str, list]:
    """The lines asked for; for an image's ID, the original image itself (a line saying what it is, then
    MCP image content: what the proxy's own retrieval hands back too)."""
    from headroom_cli.db import DataError
    from headroom_cli.ledger import Ledger
    from headroom_cli.proxy.retrieval import image_answer
    from headroom_cli.retrieve import ToolFailure, redeem
    from headroom_cli.store import Store

    from headroom_cli.config import database_target

    part_id = (id or "").strip()
    store = Store.for_reading(database_target("store"))  # also a store it may not write (a read-only home)
    try:
        image = image_answer(store, part_id) if part_id.startswith("hr_") else None
        text = redeem(store, id, lines, pattern) if image is None else image.text
    finally:
        store.close()
    if image is not None and image.is_error:
        raise ToolFailure(image.text)
    answer, size = (text, len(text.encode("utf-8", "surrogatepass"))) if image is None else \
        (_image_content(text, *image.image), len(image.image[1]))
    try:  # counting it is bookkeeping: a ledger that cannot be written never costs the answer
        ledger = Ledger(database_target("ledger"))
    except DataError:
        return answer
    try:
        ledger.record_retrieval(_session(), part_id, None if image else lines or None, size)
    finally:
        ledger.close()
    return answer


def _image_content(text: str, media_type: str, data: str) -> list:
    from mcp.types import ImageContent, TextContent

    # by the wire name: mcp 2.x spells the field mime_type, aliased to the protocol's mimeType
    return [TextContent(type="text", text=text),
            ImageContent.model_validate({"type": "image", "data": data, "mimeType": media_type})]


def headroom_compress(
    text: Annotated[str, Field(description="The text to compress.")],
    kind: Annotated[Optional[str], Field(description="tests, logs, json, diff, search, listing, table, html, code or text.")] = None,
) -> str:
    from headroom_cli.engines import Part
    from headroom_cli.pipeline import Pipeline
    from headroom_cli.store import Store

    outcome = Pipeline().run(Part(text=text, kind_hint=kind or None))
    if outcome.part_id:
        from headroom_cli.config import database_target

        store = Store(database_target("store"))
        try:
            store.put(outcome.part_id, outcome.kind or "text", outcome.stored or outcome.original)
        finally:
            store.close()
    return outcome.text


def headroom_stats() -> str:
    from headroom_cli.ledger import Ledger

    from headroom_cli.config import database_target

    ledger = Ledger(database_target("ledger"))
    try:
        session = _session() or ledger.latest_session()
        return json.dumps({
            "session": session,
            "this_session": ledger.totals(session).to_json() if session else None,
            "all_time": ledger.totals().to_json(),
            "retrievals": {"this_session": ledger.retrieval_count(session) if session else 0,
                           "all_time": ledger.retrieval_count()},
        }, indent=1)
    finally:
        ledger.close()


def _server_classes():
    """The server and its anticipated-failure error, in mcp 2.x (MCPServer) or 1.x (FastMCP)."""
    try:
        from mcp.server.mcpserver import MCPServer
        from mcp.server.mcpserver.exceptions import ToolError
    except ImportError:
        from mcp.server.fastmcp import FastMCP as MCPServer
        from mcp.server.fastmcp.exceptions import ToolError
    return MCPServer, ToolError


def _saying_why(fn, tool_error):
    """mcp 2.x shows the model only "Error executing tool" for an exception other than its ToolError
    (1.x showed any message): the failures we mean the model to read are handed over as ToolError."""
    from headroom_cli.db import DataError
    from headroom_cli.retrieve import ToolFailure

    @functools.wraps(fn)
    def tool(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (ToolFailure, DataError, ValueError) as exc:
            raise tool_error(str(exc)) from exc

    return tool


def build_server():
    server_class, tool_error = _server_classes()
    server = server_class(SERVER_NAME, instructions=(
        "Headroom compresses long tool outputs and marks each omission with "
        "[headroom: … · retrieve hr_… --lines A-B]. Use headroom_retrieve with that ID and range to read "
        "what a marker hides."), log_level="WARNING")
    for fn, description in ((headroom_retrieve, RETRIEVE_DESCRIPTION), (headroom_compress, COMPRESS_DESCRIPTION),
                            (headroom_stats, STATS_DESCRIPTION)):
        server.tool(name=fn.__name__, description=description, structured_output=False)(_saying_why(fn, tool_error))
    return server


def watch_starters(interval_s: float = 1.0) -> threading.Thread:
    """Exit when the parent changes (it died: we were handed to init or a subreaper) or the wrap
    process that started the session is gone. A poll, not a signal: portable, and a killed client
    cannot tell us anything."""
    from headroom_cli.wrap.lifeline import WRAP_PID_ENV, process_gone

    parent = os.getppid()
    wrap = os.environ.get(WRAP_PID_ENV, "")
    wrap_pid = int(wrap) if wrap.isdigit() and int(wrap) > 1 else None

    def watch() -> None:
        while True:
            time.sleep(interval_s)
            if os.getppid() != parent or (wrap_pid is not None and process_gone(wrap_pid)):
                os._exit(0)  # the main thread is blocked reading stdin; SQLite's WAL survives this

    thread = threading.Thread(target=watch, name="headroom-mcp-watchdog", daemon=True)
    thread.start()
    return thread


def serve() -> None:
    watch_starters()
    build_server().run("stdio")
