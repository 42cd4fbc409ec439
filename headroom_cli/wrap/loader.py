"""Wrapper files: one declarative TOML file per wrapped tool (wrappers/*.toml)."""

from __future__ import annotations

import fnmatch
import json
import os
import shlex
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping

from headroom_cli.mcp import SERVER_NAME

_PACKAGE = Path(__file__).resolve().parents[1]
# Installed wheels carry the files inside the package; a source checkout keeps them at the top.
WRAPPER_DIRS = (_PACKAGE / "wrappers", _PACKAGE.parent / "wrappers")


class WrapperError(Exception):
    """A wrapper that does not exist or does not parse; the message says what to do."""


RUN = "run"  # the tool runs as a child process behind the proxy
FOREGROUND = "foreground"  # a desktop app: print what to set, serve in the foreground with the live dashboard
PROVIDERS = ("anthropic", "openai")


@dataclass(frozen=True)
class Provider:
    """What the tool needs to send one provider's requests through the proxy."""

    env: dict[str, str] = field(default_factory=dict)
    models: tuple[str, ...] = ()  # glob patterns of the model names this provider serves
    # Variables the tool prefers to ``env``'s, pointed at the proxy only when the person already set
    # them (a value set anywhere else then still wins, and goes where it says, uncompressed).
    env_if_set: dict[str, str] = field(default_factory=dict)

    def base_url_vars(self) -> dict[str, str]:
        """Every variable it reads its base URL from, the tool's preferred first."""
        return {**self.env_if_set, **self.env}

    def serves(self, model: str) -> bool:
        return any(fnmatch.fnmatchcase(model.lower(), pattern) for pattern in self.models)


@dataclass(frozen=True)
class Wrapper:
    name: str
    description: str
    binary: str
    install_hint: str
    binary_env: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    args: tuple[str, ...] = ()
    savings_display: str = "none"  # "statusline": inside the tool's own status line; "exit": a summary at exit
    savings_args: tuple[str, ...] = ()
    saved_outputs_dir: str | None = None  # where the tool keeps whole outputs it sends a preview of
    mcp_args: tuple[str, ...] = ()  # hand the tool Headroom's MCP server for this session ({mcp_config}, {mcp_toml})
    # Whether it gets them without `--mcp`: not where the proxy offers its own retrieve tool (Claude
    # Code), since an MCP server costs every request its tool definitions, used or not.
    mcp_default: bool = True
    providers: dict[str, Provider] = field(default_factory=dict)  # per-provider environment, chosen by model
    model_flags: tuple[str, ...] = ()  # the tool's flags that name a model (--model X or --model=X)
    model_env: tuple[str, ...] = ()  # environment variables that name one
    mode: str = RUN
    instructions: str = ""  # FOREGROUND: what the person must set in the app
    command_from_args: bool = False  # the binary is the first argument after `--` (`headroom wrap -- CMD …`)

    def models_named(self, args: Iterable[str], environ: Mapping[str, str]) -> list[str]:
        """The models the tool was told to use, by its flags or its environment."""
        found, args = [], list(args)
        for i, arg in enumerate(args):
            for flag in self.model_flags:
                if arg == flag and i + 1 < len(args):
                    found.append(args[i + 1])
                elif arg.startswith(flag + "="):
                    found.append(arg[len(flag) + 1:])
        found += [environ[name] for name in self.model_env if environ.get(name)]
        return found

    def providers_for(self, args: Iterable[str], environ: Mapping[str, str]) -> tuple[list[str], list[str]]:
        """(the providers to point at the proxy, the named models none of them serves). With no model
        named, the tool picks one itself, so every provider is pointed at the proxy."""
        models = self.models_named(args, environ)
        if not models:
            return list(self.providers), []
        chosen = [name for name, p in self.providers.items() if any(p.serves(m) for m in models)]
        unserved = [m for m in models if not any(p.serves(m) for p in self.providers.values())]
        return chosen, unserved

    def saved_outputs_root(self) -> Path | None:
        return Path(os.path.expandvars(self.saved_outputs_dir)).expanduser() if self.saved_outputs_dir else None

    def render(self, proxy_url: str, session: str = "", home: str = "", providers: Iterable[str] | None = None,
               environ: Mapping[str, str] | None = None, mcp: bool | None = None) -> tuple[dict[str, str], list[str]]:
        """The child's extra environment and leading arguments, with placeholders filled in;
        ``providers``: whose environment to add (default: every provider's); ``environ``: the person's;
        ``mcp``: hand it Headroom's MCP server (default: the wrapper file's choice)."""
        values = self.values(proxy_url, session, home)
        env = {key: value.format(**values) for key, value in self.env.items()}
        for name in self.providers if providers is None else providers:
            provider = self.providers[name]
            env.update({key: value.format(**values) for key, value in provider.env.items()})
            env.update({key: value.format(**values) for key, value in provider.env_if_set.items()
                        if (environ or {}).get(key)})
        args = [a.format(**values) for a in self.args]
        if self.savings_display == "statusline":
            args += [a.format(**values) for a in self.savings_args]
        if self.mcp_default if mcp is None else mcp:
            args += [a.format(**values) for a in self.mcp_args]
        return env, args

    def values(self, proxy_url: str, session: str = "", home: str = "", **more: str) -> dict[str, str]:
        """What placeholders in a wrapper file stand for."""
        server = {"command": sys.executable, "args": ["-m", "headroom_cli", "mcp", "serve"],
                  "env": {"HEADROOM_HOME": home, "HEADROOM_SESSION": session}}
        return {
            **more,
            "proxy_url": proxy_url,
            "port": proxy_url.rsplit(":", 1)[-1],
            "python": sys.executable,
            # Its own light module: the tool runs it often, so it must start fast (no typer, no mitmproxy).
            # JSON-escaped, as it lands inside a JSON string in the settings argument.
            "statusline_command": json.dumps(shlex.join([sys.executable, "-m", "headroom_cli.ui.statusline"]))[1:-1],
            # The MCP server as an `{"mcpServers": …}` JSON document, bound to this session's store and ledger.
            "mcp_config": json.dumps({"mcpServers": {SERVER_NAME: {"type": "stdio", **server}}}, separators=(",", ":")),
            # The same server as one TOML inline table, for tools configured in TOML (Codex's -c).
            "mcp_toml": _toml_inline(server),
        }


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
        model = data.get("model", {})
        unknown = set(data.get("providers", {})) - set(PROVIDERS)
        if unknown or data.get("mode", RUN) not in (RUN, FOREGROUND):
            raise ValueError(f"unknown provider {sorted(unknown)}" if unknown else f"unknown mode {data['mode']!r}")
        command_from_args = bool(data.get("command_from_args", False))
        binary = data.get("binary", "") if command_from_args or data.get("mode") == FOREGROUND else data["binary"]
        return Wrapper(
            name=data["name"],
            description=data.get("description", data["name"]),
            binary=binary,
            install_hint=data.get("install_hint", f"{binary or 'the command'} is not installed or not on PATH."),
            binary_env=data.get("binary_env"),
            env=dict(data.get("env", {})),
            args=tuple(data.get("args", ())),
            savings_display=savings.get("display", "none"),
            savings_args=tuple(savings.get("args", ())),
            saved_outputs_dir=data.get("proxy", {}).get("saved_outputs_dir"),
            mcp_args=tuple(data.get("mcp", {}).get("args", ())),
            mcp_default=_boolean(data.get("mcp", {}).get("default", True), "[mcp] default"),
            providers={name: Provider(dict(p.get("env", {})), tuple(m.lower() for m in p.get("models", ())),
                                      dict(p.get("env_if_set", {})))
                       for name, p in data.get("providers", {}).items()},
            model_flags=tuple(model.get("flags", ())),
            model_env=tuple(model.get("env", ())),
            mode=data.get("mode", RUN),
            instructions=data.get("instructions", ""),
            command_from_args=command_from_args,
        )
    except (tomllib.TOMLDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise WrapperError(f"wrapper file {path} is invalid: {exc}") from None


def _boolean(value: object, what: str) -> bool:
    if not isinstance(value, bool):  # "false" as a string would read as true
        raise ValueError(f"{what} must be true or false, not {value!r}")
    return value


def _toml_inline(value: object) -> str:
    """A TOML inline value (strings quoted as JSON strings, which TOML reads the same)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key} = {_toml_inline(v)}" for key, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_toml_inline(v) for v in value) + "]"
    return json.dumps(str(value))
