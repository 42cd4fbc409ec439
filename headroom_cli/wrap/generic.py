"""`headroom wrap -- CMD …`: a `--` before any tool name means "run this command", through the generic
wrapper (wrappers/command.toml), which points both ANTHROPIC_BASE_URL and OPENAI_BASE_URL at the proxy."""

from __future__ import annotations

from typing import Any

from typer.core import TyperCommand

GENERIC = "command"  # the wrapper file that runs the command given after `--`


class WrapCommand(TyperCommand):
    """Click drops the `--` it parses, so `wrap -- CMD` would read as wrapping a tool named CMD: the
    generic wrapper's name is put in front of it first."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        return super().parse_args(ctx, with_generic_tool(args, self.params))


def with_generic_tool(args: list[str], params: list[Any]) -> list[str]:
    takes_value = {opt for p in params if p.param_type_name == "option" and not p.is_flag for opt in p.opts}
    i = 0
    while i < len(args) and args[i] != "--" and args[i].startswith("-"):
        i += 2 if args[i] in takes_value else 1  # headroom's own options, and the value of those that take one
    if i < len(args) and args[i] == "--":
        return [*args[:i], GENERIC, *args[i:]]
    return args
