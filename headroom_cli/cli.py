"""The `headroom` command: one small function per subcommand, each delegating to a module."""

from __future__ import annotations

import json
import logging
import re
import sys
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console

from headroom_cli import __version__
from headroom_cli.config import HomeError, Settings, headroom_home
from headroom_cli.mcp.cli import mcp_app
from headroom_cli.store_cli import store_app
from headroom_cli.tokens_cli import tokens_app
from headroom_cli.wrap.generic import WrapCommand

app = typer.Typer(
    name="headroom",
    help="Context compression for LLM coding agents: a local proxy that shrinks tool outputs "
    "(test runs, logs, …) before the model reads them, keeping every omission retrievable.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="markdown",
)
out = Console()
err = Console(stderr=True)
_state = {"debug": False}

UPSTREAM_HELP = "Upstream base URL (env {env}; default {default})."


def _fail(message: str, code: int = 1) -> None:
    """One clear line on stderr, and the exit code; with --debug, first the traceback of the exception
    being handled, if there is one (a bare `raise` outside an except would be an error of its own)."""
    if _state["debug"] and sys.exc_info()[1] is not None:
        import traceback

        traceback.print_exc()
    err.print(f"[bold red]headroom:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def _need_proxy(what: str) -> None:
    from headroom_cli.extras import missing

    from rich.markup import escape

    problem = missing("mitmproxy", "cli", what)
    if problem:
        _fail(escape(problem))  # the extra's [brackets] are no markup


def _setup_logging(to_file: Path | None = None) -> None:
    level = logging.DEBUG if _state["debug"] else logging.INFO
    root = logging.getLogger("headroom")
    root.setLevel(level)
    root.handlers.clear()
    if to_file is not None:
        # A wrapped tool owns the terminal: never draw over it; log to a file instead.
        from headroom_cli.db import private_log_file

        try:
            handler: logging.Handler = logging.FileHandler(private_log_file(to_file))
        except OSError as exc:
            err.print(f"[yellow]headroom:[/] cannot write the log {to_file} ({exc.strerror}); not logging",
                      highlight=False, soft_wrap=True)
            handler = logging.NullHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    else:
        from rich.logging import RichHandler

        handler = RichHandler(console=err, show_path=False, markup=False, rich_tracebacks=_state["debug"])
    root.addHandler(handler)
    root.propagate = False


def _version(value: bool) -> None:
    if value:
        out.print(f"headroom {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks and debug logs."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    _state["debug"] = debug


def _settings(host=None, port=None, anthropic_upstream=None, openai_upstream=None, no_compress=False,
              no_retrieval_tool=False, budget=None, no_cache_breakpoints=False, token=None, database=None,
              require_token=False) -> Settings:
    try:
        return Settings.resolve(host=host, port=port, anthropic_upstream=anthropic_upstream,
                                openai_upstream=openai_upstream, no_compress=no_compress,
                                no_retrieval_tool=no_retrieval_tool, budget=budget,
                                no_cache_breakpoints=no_cache_breakpoints, debug=_state["debug"], token=token,
                                database=database, require_token=require_token)
    except ValueError as exc:
        _fail(str(exc), 2)


BUDGET_HELP = ("Most input tokens (cl100k) a request may carry (env HEADROOM_BUDGET); a request over it, or over "
               "the model's context window, is fitted: older tool outputs compressed harder, then middle turns moved "
               "to the store behind one marker.")
TOKEN_HELP = ("Clients must send this in an x-headroom-token header, on every request (env HEADROOM_TOKEN); "
              "required when --host is not a loopback address.")
MCP_HELP = ("Hand the tool Headroom's MCP server (headroom_retrieve, headroom_compress, headroom_stats) for this "
            "session. Default: codex yes; claude no, as the proxy offers the model its own compact "
            "headroom_retrieve tool instead (the MCP server adds about 1,000 tokens to every request).")
DATABASE_HELP = ("A postgresql:// URL: originals, frozen decisions, fit memory, tokens and the ledger in one database "
                 "that every proxy shares (env HEADROOM_DATABASE; default: SQLite files in Headroom's folder). "
                 "While it is unreachable (at start too) the proxy serves, compressing only losslessly, and "
                 "attaches it once it is back. See docs/deployment.md.")
REQUIRE_TOKEN_HELP = ("Refuse requests without a valid personal token in an x-headroom-token header: 401 in the "
                      "provider's error shape; 503 while the database that holds the tokens is unreachable "
                      "(env HEADROOM_REQUIRE_TOKEN=1). Make tokens with `headroom tokens create NAME` against the "
                      "same database. Savings and retrievals are then per person.")
NO_BREAKPOINTS_HELP = ("Don't add Anthropic cache_control breakpoints to requests that carry none "
                       "(env HEADROOM_NO_CACHE_BREAKPOINTS=1).")


WORKERS_HELP = ("Proxy processes serving the port (one listening socket, each taking connections while it is "
                "free), each with its own engines, on one store and ledger (or --database); one that dies is restarted. About one per CPU core for a team gateway; "
                "more hosts: the same command on each, sharing --database, behind a load balancer.")


def _request_line(record) -> None:
    """The one line the proxy prints per LLM request."""
    from headroom_cli.ui.format import percent, tokens

    saved = record.tokens_before - record.tokens_after
    pct = percent(100 * abs(saved) / record.tokens_before) if record.tokens_before else "0%"
    rounds = f" · {record.retrieval_rounds} retrieval round(s) answered" if record.retrieval_rounds else ""
    # A plain write: no styling to render, and rich's layout cost ~2% of a busy proxy's CPU. It also
    # prints a path or model holding [brackets] as they are, where rich would read them as markup.
    err.file.write(f"{record.provider:9} {record.path} {record.model or '?'} → {record.status or 'error'} · "
                   f"{tokens(record.tokens_before)} → {tokens(record.tokens_after)} tokens "
                   f"({'−' if saved >= 0 else '+'}{pct}){rounds}\n")


def _proxy_workers(settings, count: int) -> None:
    """`headroom proxy --workers N`: start N worker processes on one port, restart any that dies, stop
    them all on Ctrl-C or SIGTERM (see proxy/workers.py)."""
    import signal

    from headroom_cli.proxy.boundary import bind_problem
    from headroom_cli.proxy.workers import Supervisor, WorkersError
    from headroom_cli.runtime import new_session_id
    from headroom_cli.ui.banner import banner

    problem = bind_problem(settings.host, settings.token or settings.require_token)
    if problem is not None:
        _fail(problem)
    session = new_session_id()
    supervisor = Supervisor(settings, count, session)
    try:
        supervisor.start()
    except WorkersError as exc:
        _fail(str(exc))
    url = f"http://{settings.host}:{supervisor.port}"
    err.print(banner("proxy", url, settings, session,
                     [("health", f"{url}/headroom/health"), ("stats", f"{url}/headroom/stats")]))
    err.print(f"{count} workers on {settings.host}:{supervisor.port} (pids {', '.join(map(str, supervisor.pids))})",
              highlight=False)
    err.print(f"Point a client at it: [bold]ANTHROPIC_BASE_URL={url}[/] or [bold]OPENAI_BASE_URL={url}/v1[/] · Ctrl-C to stop")

    def stop_on_signal(*_) -> None:
        supervisor.request_stop()

    signal.signal(signal.SIGTERM, stop_on_signal)
    signal.signal(signal.SIGINT, stop_on_signal)
    try:
        serving = supervisor.watch()
    finally:
        supervisor.stop()
        _summary(settings, session, "headroom · this session")
    if not serving:
        _fail("every worker kept ending: see the errors above")


@app.command()
def proxy(
    host: str = typer.Option("127.0.0.1", help="Address to bind. Keep 127.0.0.1 unless you mean to share it; "
                             "any other address needs --token."),
    port: Optional[int] = typer.Option(None, help="Port to listen on (env HEADROOM_PORT; default 8787; 0 = any free port)."),
    anthropic_upstream: Optional[str] = typer.Option(None, help=UPSTREAM_HELP.format(env="HEADROOM_ANTHROPIC_UPSTREAM", default="https://api.anthropic.com")),
    openai_upstream: Optional[str] = typer.Option(None, help=UPSTREAM_HELP.format(env="HEADROOM_OPENAI_UPSTREAM", default="https://api.openai.com")),
    no_compress: bool = typer.Option(False, "--no-compress", help="Pass everything through unchanged (env HEADROOM_NO_COMPRESS=1); still measures."),
    no_retrieval_tool: bool = typer.Option(False, "--no-retrieval-tool", help="Don't offer the model the headroom_retrieve tool that the proxy answers itself (env HEADROOM_NO_RETRIEVAL_TOOL=1)."),
    budget: Optional[int] = typer.Option(None, "--budget", min=1, metavar="TOKENS", help=BUDGET_HELP),
    no_cache_breakpoints: bool = typer.Option(False, "--no-cache-breakpoints", help=NO_BREAKPOINTS_HELP),
    token: Optional[str] = typer.Option(None, "--token", metavar="T", help=TOKEN_HELP),
    database: Optional[str] = typer.Option(None, "--database", metavar="URL", help=DATABASE_HELP),
    require_token: bool = typer.Option(False, "--require-token", help=REQUIRE_TOKEN_HELP),
    workers: int = typer.Option(1, "--workers", min=1, max=64, metavar="N", help=WORKERS_HELP),
) -> None:
    """Run the compressing proxy alone, for any Anthropic or OpenAI API client.

    Point the client at it: ANTHROPIC_BASE_URL=http://127.0.0.1:8787 or OPENAI_BASE_URL=http://127.0.0.1:8787/v1.
    Prints one line per LLM request with the tokens saved. Ctrl-C stops it.

    The model can read back what a marker left out by itself: the proxy adds a `headroom_retrieve` tool to
    Anthropic Messages and OpenAI Chat requests (unless the client has Headroom's MCP server) and answers
    its calls without the client seeing them.
    """
    import signal
    import threading

    _need_proxy("headroom proxy")
    from headroom_cli.proxy.server import ProxyServer, ProxyStartError
    from headroom_cli.ui.banner import banner

    _setup_logging()
    settings = _settings(host, port, anthropic_upstream, openai_upstream, no_compress, no_retrieval_tool, budget,
                         no_cache_breakpoints, token, database, require_token)
    if workers > 1:
        _proxy_workers(settings, workers)
        return
    try:
        server = ProxyServer(settings).start()
    except ProxyStartError as exc:
        _fail(str(exc))

    server.recorder.listeners.append(_request_line)
    err.print(banner("proxy", server.url, settings, server.session,
                     [("health", f"{server.url}/headroom/health"), ("stats", f"{server.url}/headroom/stats")]))
    err.print(f"Point a client at it: [bold]ANTHROPIC_BASE_URL={server.url}[/] or [bold]OPENAI_BASE_URL={server.url}/v1[/] · Ctrl-C to stop")
    if settings.token:
        err.print("Clients must send the token in an [bold]x-headroom-token[/] header (Claude Code: "
                  "[bold]ANTHROPIC_CUSTOM_HEADERS='x-headroom-token: …'[/])", highlight=False)
    def stop_on_term(*_) -> None:
        raise KeyboardInterrupt  # SIGTERM ends it like Ctrl-C: clean shutdown and the summary

    signal.signal(signal.SIGTERM, stop_on_term)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        _summary(settings, server.session, "headroom · this session", server.ledger)


@app.command(cls=WrapCommand, context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def wrap(
    tool: str = typer.Argument(..., help="The tool to wrap: claude, aider, codex, cursor (see wrappers/); "
                                         "or `-- CMD …` for any command that reads ANTHROPIC_BASE_URL/OPENAI_BASE_URL."),
    args: Optional[List[str]] = typer.Argument(None, help="Arguments for the tool, after `--`."),
    port: int = typer.Option(0, help="Proxy port; 0 picks a free one."),
    anthropic_upstream: Optional[str] = typer.Option(None, help=UPSTREAM_HELP.format(env="HEADROOM_ANTHROPIC_UPSTREAM", default="https://api.anthropic.com")),
    openai_upstream: Optional[str] = typer.Option(None, help=UPSTREAM_HELP.format(env="HEADROOM_OPENAI_UPSTREAM", default="https://api.openai.com")),
    no_compress: bool = typer.Option(False, "--no-compress", help="Pass everything through unchanged; still measures."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No banner and no exit summary."),
    budget: Optional[int] = typer.Option(None, "--budget", min=1, metavar="TOKENS", help=BUDGET_HELP),
    no_cache_breakpoints: bool = typer.Option(False, "--no-cache-breakpoints", help=NO_BREAKPOINTS_HELP),
    mcp: Optional[bool] = typer.Option(None, "--mcp/--no-mcp", help=MCP_HELP),
    database: Optional[str] = typer.Option(None, "--database", metavar="URL", help=DATABASE_HELP),
) -> None:
    """Run a coding agent with its API traffic compressed: `headroom wrap claude|aider|codex [-- ARGS…]`,
    `headroom wrap -- CMD …`, or `headroom wrap cursor`.

    Starts the proxy on a free port, runs the tool with its API base URL pointed at it, shows live
    savings where the tool allows (Claude Code's status line; `headroom dashboard` in another terminal),
    prints a summary when the tool exits, and exits with the tool's exit code. Nothing is written into
    the tool's own settings files. `cursor` (a desktop app) prints what to set in Cursor instead and
    runs the proxy in the foreground with the live dashboard until Ctrl-C.
    """
    _need_proxy("headroom wrap")
    from headroom_cli.proxy.server import ProxyStartError
    from headroom_cli.ui.banner import banner
    from headroom_cli.wrap import loader, runner

    settings = _settings(None, port, anthropic_upstream, openai_upstream, no_compress, budget=budget,
                         no_cache_breakpoints=no_cache_breakpoints, database=database)
    _setup_logging(to_file=settings.home / "headroom.log")
    try:
        wrapper = loader.load(tool)
    except loader.WrapperError as exc:
        _fail(str(exc), 2)

    if mcp and not wrapper.mcp_args:
        _fail(f"`headroom wrap {wrapper.name}` cannot hand the tool Headroom's MCP server: drop --mcp "
              "(`headroom mcp install` adds it to Claude Code's configuration)", 2)
    if wrapper.mode == loader.FOREGROUND:
        if args:
            _fail(f"`headroom wrap {wrapper.name}` takes no arguments for the tool: it is set up by hand", 2)
        _serve_foreground(wrapper, settings)
        return
    live = ("in the tool's status line; or `headroom dashboard` in another terminal"
            if wrapper.savings_display == "statusline" else
            "`headroom dashboard` in another terminal; a summary when it exits (nothing is drawn over the tool)")

    def started(server, plan) -> None:
        for note in plan.notes:
            err.print(f"[yellow]headroom:[/] {note}", highlight=False, soft_wrap=True)
        if not quiet:
            err.print(banner(f"wrap {wrapper.name}", server.url, plan.settings, server.session,
                             [("log", str(settings.home / "headroom.log")), ("live savings", live)]))

    try:
        result = runner.run(wrapper, settings, list(args or []), on_started=started, mcp=mcp)
    except runner.ToolNotInstalled as exc:
        _fail(str(exc), 127)
    except ProxyStartError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"could not start {exc.filename or wrapper.binary}: {exc.strerror or exc}; check that it is a "
              "program you can run", 126)
    if not quiet:
        _summary(settings, result.proxy.session, f"headroom · wrap {wrapper.name} · this session")
    raise typer.Exit(result.exit_code)


def _summary(settings: Settings, session: str, title: str, ledger=None) -> None:
    """The exit summary (from ``ledger``, else the settings' one); a ledger that cannot be read (an
    unreachable database included) costs it one line, never the tool's exit code."""
    from headroom_cli.db import DataError
    from headroom_cli.ledger import Ledger
    from headroom_cli.ui.summary import session_summary

    try:
        err.print(session_summary(ledger or Ledger(settings.ledger_target), session, title))
    except DataError as exc:
        err.print(f"[yellow]headroom:[/] no summary: {exc}", highlight=False, soft_wrap=True)


def _serve_foreground(wrapper, settings: Settings) -> None:
    """An app Headroom cannot start (Cursor): what to set in it, then the proxy with the live dashboard."""
    import signal

    from headroom_cli.ledger import Ledger
    from headroom_cli.proxy.server import ProxyStartError
    from headroom_cli.ui import dashboard
    from headroom_cli.ui.banner import banner
    from headroom_cli.ui.instructions import instructions
    from headroom_cli.wrap import runner

    def show(server, text: str) -> None:
        err.print(banner(f"wrap {wrapper.name}", server.url, settings, server.session,
                         [("log", str(settings.home / "headroom.log"))]))
        err.print(instructions(wrapper.description, text), soft_wrap=True)
        dashboard.run(Ledger(settings.ledger_target), server.session, console=err)  # until Ctrl-C
        err.print()

    def stop_on_term(*_) -> None:
        raise KeyboardInterrupt  # SIGTERM ends it like Ctrl-C: clean shutdown and the summary

    previous = signal.signal(signal.SIGTERM, stop_on_term)
    try:
        result = runner.serve(wrapper, settings, show)
    except ProxyStartError as exc:
        _fail(str(exc))
    finally:
        signal.signal(signal.SIGTERM, previous)
    _summary(settings, result.proxy.session, f"headroom · wrap {wrapper.name} · this session")


KINDS = ("tests", "logs", "json", "diff", "search", "listing", "table", "html", "code", "text")


def _check_kind(kind: str) -> None:
    """--kind must name something an engine answers to (its own spellings too: log, csv, patch, …);
    an unknown one would silently route nowhere and print the input back."""
    from headroom_cli import engines
    from headroom_cli.engines import Part
    from headroom_cli.pipeline import MIN_SCORE

    hinted = Part(text="", kind_hint=kind)
    if not any(engine.detect(hinted) >= MIN_SCORE for engine in engines.registered()):
        _fail(f"--kind {kind!r} is not a kind Headroom knows; use one of: {', '.join(KINDS)}", 2)


def _check_engine(name: str) -> None:
    """--engine must name a registered engine; Kompress without its extra says how to get it."""
    from rich.markup import escape

    from headroom_cli import engines
    from headroom_cli.kompress import missing

    if engines.get(name) is not None:
        return
    if name == "kompress":
        _fail(escape(missing() or "Kompress is off"), 2)  # the extra's [brackets] are no markup
    _fail(f"--engine {name!r} is not an engine Headroom has; use one of: "
          + ", ".join(engine.name for engine in engines.registered()), 2)


@app.command()
def compress(
    path: str = typer.Argument("-", help="A file to compress, or - for standard input."),
    kind: Optional[str] = typer.Option(None, help="Say what it is instead of letting the router guess: " + ", ".join(KINDS[:-1]) + f" or {KINDS[-1]}."),
    query: Optional[str] = typer.Option(None, help="What you are looking for (used by query-aware engines)."),
    as_json: bool = typer.Option(False, "--json", help='Print {"kind","engine","tokens_before","tokens_after","ccr_ids","text"}.'),
    explain: bool = typer.Option(False, "--explain", help="Also print (to stderr) each engine's score, the route taken and why."),
    code_min_lines: Optional[int] = typer.Option(None, "--code-min-lines", min=0, help="Source files with fewer lines stay verbatim (env HEADROOM_CODE_MIN_LINES; default 200; 0: compress any size)."),
    engine: Optional[str] = typer.Option(None, "--engine", help="Run this engine only, whatever the router would choose (e.g. kompress, text, logs)."),
    provider: str = typer.Option("anthropic", help="For an image: whose token arithmetic sizes it (anthropic or openai); --json shows both."),
) -> None:
    """Run the compression pipeline on one input and print the result.

    Omitted lines are kept in the local store; each marker says how to get them back with `headroom retrieve`.
    """
    from headroom_cli.config import code_min_lines_setting, part_budget_ms_setting
    from headroom_cli.engines import Part
    from headroom_cli.pipeline import Pipeline
    from headroom_cli.tokens import count_tokens

    if kind is not None:
        _check_kind(kind)
    if engine is not None:
        _check_engine(engine)
    try:
        code_min_lines = code_min_lines_setting(code_min_lines)
        budget_s = part_budget_ms_setting() / 1000  # the same guard as the proxy's
    except ValueError as exc:
        _fail(str(exc), 2)
    try:
        raw = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except OSError as exc:
        _fail(f"cannot read {path}: {exc.strerror}")
    from headroom_cli.images.decide import media_type_of

    if media_type_of(raw) is not None:
        return _compress_image(raw, as_json, provider)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        if as_json:
            _fail(f"{path} is not UTF-8 text; nothing was compressed")
        err.print("[yellow]headroom:[/] input is not UTF-8 text; passed through unchanged", highlight=False, soft_wrap=True)
        sys.stdout.buffer.write(raw)
        return
    part = Part(text=text, kind_hint=kind, query=query)
    if explain:
        from headroom_cli.ui.explain import explanation

        outcome, why = Pipeline(code_min_lines=code_min_lines, part_budget_s=budget_s, engine=engine).explain(part)
        err.print(explanation(why, outcome))
    else:
        outcome = Pipeline(code_min_lines=code_min_lines, part_budget_s=budget_s, engine=engine).run(part)
    if outcome.part_id:
        outcome = _keep_original(outcome, part, code_min_lines, budget_s)
    if as_json:
        out.print_json(json.dumps({
            "kind": outcome.kind, "engine": outcome.engine,
            "tokens_before": count_tokens(outcome.original), "tokens_after": count_tokens(outcome.text),
            "ccr_ids": [outcome.part_id] if outcome.part_id else [], "text": outcome.text,
        }))
    else:
        sys.stdout.write(outcome.text)
        sys.stdout.flush()


def _compress_image(raw: bytes, as_json: bool, provider: str) -> None:
    """An image: sized and re-encoded for a provider, its original stored; --json shows both providers'
    billed image tokens (their own arithmetic, not cl100k), stdout otherwise gets the new image's bytes."""
    import base64

    from headroom_cli.images import tokens as image_tokens
    from headroom_cli.images.wire import KIND, compressed
    from headroom_cli.store import Store

    if provider not in image_tokens.PROVIDERS:
        _fail(f"--provider {provider!r}: use one of {', '.join(image_tokens.PROVIDERS)}", 2)
    data = base64.b64encode(raw).decode("ascii")
    results = {name: compressed(data, name, None) for name in image_tokens.PROVIDERS}
    chosen = results[provider]
    if chosen is not None:
        store = Store(headroom_home() / "store.sqlite3")
        try:
            store.put(chosen["id"], KIND, data)
        finally:
            store.close()
    if not as_json:
        sys.stdout.buffer.write(base64.b64decode(chosen["data"]) if chosen else raw)
        sys.stdout.flush()
        return
    from PIL import Image
    import io

    size = Image.open(io.BytesIO(raw)).size
    providers = {name: {"tokens_before": r["tokens_before"] if r else image_tokens.billed(name, *size),
                        "tokens_after": r["tokens_after"] if r else image_tokens.billed(name, *size),
                        "media_type": r["media_type"] if r else None, "detail": r["detail"] if r else None,
                        "bytes_before": len(raw), "bytes_after": len(base64.b64decode(r["data"])) if r else len(raw)}
                 for name, r in results.items()}
    out.print_json(json.dumps({
        "kind": "image", "engine": "image" if chosen else None,
        "tokens_before": providers[provider]["tokens_before"], "tokens_after": providers[provider]["tokens_after"],
        "tokens": "provider-billed image tokens", "providers": providers,
        "ccr_ids": [chosen["id"]] if chosen else [], "text": chosen["marker"] if chosen else "",
    }))


def _keep_original(outcome, part, code_min_lines, budget_s):
    """Store what the marker omits; a store that cannot be written: lossless compression instead."""
    from headroom_cli.db import DataError
    from headroom_cli.pipeline import Pipeline
    from headroom_cli.store import Store

    try:
        store = Store(headroom_home() / "store.sqlite3")
        try:
            store.put(outcome.part_id, outcome.kind or "text", outcome.original)
        finally:
            store.close()
    except DataError as exc:
        err.print(f"[yellow]headroom:[/] {exc}; compressed losslessly only (no omissions)", highlight=False,
                  soft_wrap=True)
        return Pipeline(lossy=False, code_min_lines=code_min_lines, part_budget_s=budget_s).run(part)
    return outcome


@app.command()
def retrieve(
    ccr_id: str = typer.Argument(..., metavar="ID", help="The hr_… ID from a marker."),
    lines: Optional[str] = typer.Option(None, help="Only lines A-B (1-based, inclusive), as the marker says."),
    grep: Optional[str] = typer.Option(None, help="Only lines matching this regular expression, prefixed N:."),
    out_file: Optional[Path] = typer.Option(None, "--out", help="Write the original's bytes to this file (an image's own bytes) instead of printing."),
    database: Optional[str] = typer.Option(None, "--database", metavar="URL", help=DATABASE_HELP),
) -> None:
    """Print what a marker left out: the whole original, or the lines it names."""
    import sqlite3

    from headroom_cli.markers import ID_PREFIX
    from headroom_cli.retrieve import NotFound, original_bytes
    from headroom_cli.retrieve import retrieve as fetch
    from headroom_cli.store import Store

    from headroom_cli.backends import where
    from headroom_cli.config import database_target

    try:
        path = database_target("store", database)
    except ValueError as exc:
        _fail(str(exc), 2)
    shown = f"HEADROOM_HOME={headroom_home()}" if isinstance(path, Path) else where(path)
    unknown = (f"no stored original for {ccr_id}: it was pruned or never stored here ({shown}); "
               "re-run the command that produced it to see its full output")
    try:
        if not re.fullmatch(re.escape(ID_PREFIX) + r"[0-9a-f]{16}", ccr_id):
            raise ValueError(f"{ccr_id!r} is not a Headroom ID: markers name them as hr_ and 16 hex digits")
        if isinstance(path, Path) and not path.exists():
            raise NotFound(ccr_id)
    except ValueError as exc:
        _fail(str(exc), 2)
    except NotFound:
        _fail(unknown)
    try:
        store = Store.for_reading(path)  # also a store this user may not write (a read-only home)
    except (sqlite3.Error, OSError) as exc:  # a DataError says its reason without the file's name
        _fail(f"the store {where(path)} cannot be read ({getattr(exc, 'reason', exc)}); "
              "`headroom store clear --yes` starts a new one")
    try:
        if out_file is not None and lines is None and grep is None:
            data = original_bytes(store, ccr_id)
        else:
            data = fetch(store, ccr_id, lines, grep).encode("utf-8", "surrogatepass")
    except NotFound:
        _fail(unknown)
    except (ValueError, re.error) as exc:
        _fail(str(exc), 2)
    finally:
        store.close()
    if out_file is not None:
        try:
            out_file.write_bytes(data)
        except OSError as exc:
            _fail(f"cannot write {out_file}: {exc.strerror}")
        err.print(f"headroom: wrote {len(data):,} bytes to {out_file}", highlight=False, soft_wrap=True)
        return
    sys.stdout.buffer.write(data)
    sys.stdout.flush()


@app.command()
def stats(
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
    by: Optional[str] = typer.Option(None, "--by", metavar="user", help="All-time savings per person (token owner)."),
    database: Optional[str] = typer.Option(None, "--database", metavar="URL", help=DATABASE_HELP),
) -> None:
    """Savings so far: the latest session and all time, by engine, with the upstream's reported usage."""
    from headroom_cli.config import database_target
    from headroom_cli.db import DataError
    from headroom_cli.ledger import Ledger
    from headroom_cli.ui.summary import session_summary, totals_table

    if by not in (None, "user"):
        _fail(f"--by takes `user`, not {by!r}", 2)
    try:
        ledger = Ledger(database_target("ledger", database))
    except ValueError as exc:
        _fail(str(exc), 2)
    except DataError as exc:
        _fail(str(exc))
    if by == "user":
        from headroom_cli.ui.per_user import print_per_user

        print_per_user(ledger, out, as_json)
        return
    session = ledger.latest_session()
    if as_json:
        out.print_json(json.dumps({
            "tokenizer": "cl100k_base",
            "latest_session": session,
            "session": ledger.totals(session).to_json() if session else None,
            "all_time": ledger.totals().to_json(),
            "engines": ledger.engines_json(),
            "retrievals": {"session": ledger.retrieval_count(session) if session else 0,
                           "all_time": ledger.retrieval_count(),
                           "session_detail": ledger.retrieval_summary(session) if session else None,
                           "all_time_detail": ledger.retrieval_summary()},
            "volatile_prefixes": ledger.volatile(session) if session else [],
            "cache_warnings": ledger.cache_warnings(session) if session else [],
        }))
        return
    if session is None:
        out.print("No requests recorded yet. Run `headroom demo`, `headroom wrap claude` or `headroom proxy`.")
        return
    out.print(session_summary(ledger, session, f"latest session ({session})"))
    out.print(totals_table(ledger.totals(), "all time"))


@app.command()
def dashboard(
    session: Optional[str] = typer.Option(None, help="Follow this session (default: the latest)."),
    once: bool = typer.Option(False, "--once", help="Print one frame and exit."),
) -> None:
    """A live dashboard of savings for another terminal: requests, tokens, $ saved, engines, latest requests."""
    from headroom_cli.ledger import Ledger
    from headroom_cli.ui import dashboard as board

    board.run(Ledger(headroom_home() / "ledger.sqlite3"), session, console=out, once=once)


@app.command()
def statusline() -> None:
    """One line of this session's savings, for a tool's status bar (Claude Code runs it during `wrap`)."""
    from headroom_cli.ui import statusline as line

    raise typer.Exit(line.main())


@app.command()
def demo(
    fast: bool = typer.Option(False, "--fast", help="No pauses between requests."),
) -> None:
    """See it work with no API key: a mock upstream, the proxy, and a scripted agent session through it."""
    _need_proxy("headroom demo")
    from headroom_cli.demo import run_demo

    raise typer.Exit(run_demo(out, pause=0.0 if fast else 0.6))


app.add_typer(mcp_app, name="mcp")
app.add_typer(store_app, name="store")
app.add_typer(tokens_app, name="tokens")


def main() -> None:
    """The console script: whatever a command did not turn into one clear line becomes one here
    (what failed, and to run again with --debug); the traceback only with --debug."""
    from headroom_cli.db import DataError

    try:
        app()
    except Exception as exc:  # noqa: BLE001 - the last line of defence, by design
        if _state["debug"]:
            raise
        if isinstance(exc, (HomeError, DataError)):  # what is wrong and what to do, one line
            err.print(f"[bold red]headroom:[/] {exc}", highlight=False, soft_wrap=True)
            sys.exit(2 if isinstance(exc, HomeError) else 1)
        err.print(f"[bold red]headroom:[/] unexpected error: {type(exc).__name__}: {exc}; run it again with "
                  "--debug to see where, and report it", highlight=False, soft_wrap=True)
        sys.exit(1)
