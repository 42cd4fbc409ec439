"""Wrapper files: one declarative TOML file per wrapped tool (wrappers/*.toml)."""

from __future__ import annotations

import json
import os
import shlex
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from headroom_cli.mcp import SERVER_NAME

_PACKAGE = Path(__file__).resolve().parents[1]
# Installed wheels carry the files inside the package; a source checkout keeps them at the top.
WRAPPER_DIRS = (_PACKAGE / "wrappers", _PACKAGE.parent / "wrappers")


class WrapperError(Exception):
    """A wrapper that does not exist or does not parse; the message says what to do."""


@dataclass(frozen=True)
class Wrapper:
    name: str
    description: str
    binary: str
    install_hint: str
    binary_env: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    args: tuple[str, ...] = ()
    savings_display: str = "none"  # "statusline": inside the tool's own status line
    savings_args: tuple[str, ...] = ()
    saved_outputs_dir: str | None = None  # where the tool keeps whole outputs it sends a preview of
    mcp_args: tuple[str, ...] = ()  # hand the tool Headroom's MCP server for this session ({mcp_config})

    def saved_outputs_root(self) -> Path | None:
        return Path(os.path.expandvars(self.saved_outputs_dir)).expanduser() if self.saved_outputs_dir else None

    def render(self, proxy_url: str, session: str = "", home: str = "") -> tuple[dict[str, str], list[str]]:
        """The child's extra environment and leading arguments, with placeholders filled in."""
        values = {
            "proxy_url": proxy_url,
            "python": sys.executable,
            # Its own light module: the tool runs it often, so it must start fast (no typer, no mitmproxy).
            # JSON-escaped, as it lands inside a JSON string in the settings argument.
            "statusline_command": json.dumps(shlex.join([sys.executable, "-m", "headroom_cli.ui.statusline"]))[1:-1],
            # The MCP server as an `{"mcpServers": …}` JSON document, bound to this session's store and ledger.
            "mcp_config": json.dumps({"mcpServers": {SERVER_NAME: {
                "type": "stdio", "command": sys.executable, "args": ["-m", "headroom_cli", "mcp", "serve"],
                "env": {"HEADROOM_HOME": home, "HEADROOM_SESSION": session}}}}, separators=(",", ":")),
        }
        env = {key: value.format(**values) for key, value in self.env.items()}
        args = [a.format(**values) for a in self.args]
        if self.savings_display == "statusline":
            args += [a.format(**values) for a in self.savings_args]
        args += [a.format(**values) for a in self.mcp_args]
        return env, args


def available() -> list[str]:
    names = {p.stem for d in WRAPPER_DIRS if d.is_dir() for p in d.glob("*.toml")}
    return sorted(names)


def load(name: str) -> Wrapper:
    for directory in WRAPPER_DIRS:
        path = directory / f"{name}.toml"
        if path.is_file():
            break
    else:
        known = ", ".join(available()) or "none"
        raise WrapperError(f"no wrapper for {name!r} (known: {known})")
    try:
        data = tomllib.loads(path.read_text())
        savings = data.get("savings", {})
        return Wrapper(
            name=data["name"],
            description=data.get("description", data["name"]),
            binary=data["binary"],
            install_hint=data.get("install_hint", f"{data['binary']} is not installed or not on PATH."),
            binary_env=data.get("binary_env"),
            env=dict(data.get("env", {})),
            args=tuple(data.get("args", ())),
            savings_display=savings.get("display", "none"),
            savings_args=tuple(savings.get("args", ())),
            saved_outputs_dir=data.get("proxy", {}).get("saved_outputs_dir"),
            mcp_args=tuple(data.get("mcp", {}).get("args", ())),
        )
    except (tomllib.TOMLDecodeError, KeyError, TypeError) as exc:
        raise WrapperError(f"wrapper file {path} is invalid: {exc}") from None
