"""`headroom mcp serve|install|uninstall`: run the MCP server, or register it with Claude Code.

install/uninstall go through Claude Code's own `claude mcp add/remove` when it is installed; otherwise
they edit the file Claude Code documents for the scope (project: ./.mcp.json, user: ~/.claude.json),
touching only the `mcpServers.headroom` entry, and print exactly what changed.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from enum import Enum
from pathlib import Path

import typer
from rich.console import Console

from headroom_cli.mcp import SERVER_NAME

mcp_app = typer.Typer(name="mcp", help="Headroom as an MCP server: lets the model retrieve what markers left out.",
                      no_args_is_help=True, add_completion=False)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


class Scope(str, Enum):
    user = "user"
    project = "project"


def serve_command() -> list[str]:
    """How Claude Code starts the server: this Python, so it runs with this install's packages."""
    return [sys.executable, "-m", "headroom_cli", "mcp", "serve"]


def server_entry() -> dict:
    command, *args = serve_command()
    return {"type": "stdio", "command": command, "args": args, "env": {}}


def config_path(scope: Scope) -> Path:
    return Path.cwd() / ".mcp.json" if scope is Scope.project else Path.home() / ".claude.json"


def _is_ours(entry: object) -> bool:
    return isinstance(entry, dict) and isinstance(entry.get("args"), list) and \
        entry["args"][-3:] == ["headroom_cli", "mcp", "serve"]


def _claude_cli() -> str | None:
    return shutil.which(os.environ.get("HEADROOM_CLAUDE_BIN") or "claude")


def _fail(message: str, code: int = 1) -> None:
    err.print(f"headroom: {message}")
    raise typer.Exit(code)


def _read(path: Path) -> dict:
    try:
        if not path.exists():
            return {}
        data = json.loads(path.read_text() or "{}")
    except json.JSONDecodeError as exc:
        _fail(f"{path} is not valid JSON ({exc}); fix it or use `claude mcp add`")
    except (OSError, UnicodeDecodeError) as exc:
        _fail(f"cannot read {path} ({getattr(exc, 'strerror', None) or exc}); check its permissions")
    if not isinstance(data, dict):
        _fail(f"{path} does not hold a JSON object; fix it or use `claude mcp add`")
    return data


def _write(path: Path, data: dict) -> None:
    """Atomically (a temporary file in the same folder, then a rename), keeping the file's mode and
    owner: ~/.claude.json can hold a key and is 0600. A new file is made 0600. A symlinked config
    (dotfiles) is written where the link points, and the link stays."""
    target = path.resolve() if path.is_symlink() else path
    try:
        before = target.stat()
        mode, owner = stat.S_IMODE(before.st_mode), (before.st_uid, before.st_gid)
    except FileNotFoundError:
        mode, owner = 0o600, None
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".headroom-tmp")
    try:
        os.fchmod(fd, mode)
        if owner is not None and owner != (os.geteuid(), os.getegid()):
            try:
                os.fchown(fd, *owner)
            except PermissionError:
                pass  # not ours to give away: the mode is still kept
        with os.fdopen(fd, "w") as file:
            file.write(json.dumps(data, indent=2) + "\n")
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _save(path: Path, data: dict) -> None:
    try:
        _write(path, data)
    except OSError as exc:
        _fail(f"cannot write {path} ({exc.strerror or exc}); check the folder's permissions, or use `claude mcp add`")


def _run_claude(argv: list[str]) -> None:
    out.print("$ " + " ".join(argv))
    try:
        done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    except OSError as exc:
        _fail(f"could not run {argv[0]} ({exc.strerror or exc}); fix HEADROOM_CLAUDE_BIN or your PATH")
    for stream in (done.stdout, done.stderr):
        if stream.strip():
            out.print(stream.rstrip())
    if done.returncode != 0:
        raise typer.Exit(done.returncode)


@mcp_app.command()
def serve() -> None:
    """Run the MCP server on stdio (Claude Code starts it; you rarely run it by hand).

    Tools: headroom_retrieve (id, lines, pattern), headroom_compress (text, kind), headroom_stats.
    """
    from headroom_cli.extras import missing

    from rich.markup import escape

    problem = missing("mcp", "mcp", "headroom mcp serve")
    if problem:
        _fail(escape(problem))  # the extra's [brackets] are no markup
    from headroom_cli.mcp.server import serve as run

    run()


@mcp_app.command()
def install(
    scope: Scope = typer.Option(Scope.user, help="user: all your projects (~/.claude.json); project: this folder (.mcp.json, shareable)."),
) -> None:
    """Register the Headroom MCP server with Claude Code, and print what changed."""
    claude = _claude_cli()
    if claude:
        _run_claude([claude, "mcp", "add", "--scope", scope.value, SERVER_NAME, "--", *serve_command()])
        return
    path = config_path(scope)
    data = _read(path)
    servers = data.setdefault("mcpServers", {})
    if not isinstance(servers, dict):
        _fail(f"mcpServers in {path} is not a JSON object; fix it or use `claude mcp add`")
    if SERVER_NAME in servers:
        if _is_ours(servers[SERVER_NAME]):
            out.print(f"Already installed: mcpServers.{SERVER_NAME} in {path}; nothing changed.")
            return
        _fail(f"{path} already has an mcpServers.{SERVER_NAME} entry that is not Headroom's; left it alone.")
    servers[SERVER_NAME] = server_entry()
    _save(path, data)
    out.print(f"Added mcpServers.{SERVER_NAME} to {path}:")
    out.print(json.dumps(servers[SERVER_NAME], indent=2))
    out.print("Undo with `headroom mcp uninstall" + (" --scope project`." if scope is Scope.project else "`."))


@mcp_app.command()
def uninstall(
    scope: Scope = typer.Option(Scope.user, help="The scope it was installed with."),
) -> None:
    """Remove exactly what `headroom mcp install` added, and print what changed."""
    claude = _claude_cli()
    if claude:
        _run_claude([claude, "mcp", "remove", "--scope", scope.value, SERVER_NAME])
        return
    path = config_path(scope)
    data = _read(path)
    servers = data.get("mcpServers")
    if not isinstance(servers, dict) or SERVER_NAME not in servers:
        out.print(f"Not installed: no mcpServers.{SERVER_NAME} in {path}; nothing changed.")
        return
    if not _is_ours(servers[SERVER_NAME]):
        _fail(f"mcpServers.{SERVER_NAME} in {path} is not Headroom's; left it alone.")
    del servers[SERVER_NAME]
    if not servers:
        del data["mcpServers"]
    if not data and scope is Scope.project:
        try:
            path.unlink()  # install created it
        except OSError as exc:
            _fail(f"cannot remove {path} ({exc.strerror or exc}); check the folder's permissions")
        out.print(f"Removed mcpServers.{SERVER_NAME} and the now empty {path}.")
        return
    _save(path, data)
    out.print(f"Removed mcpServers.{SERVER_NAME} from {path}.")
