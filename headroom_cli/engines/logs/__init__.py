"""The logs engine: any line-oriented log, folded by its templates.

Lines are masked (shapes.py) and mined into templates (mine.py, Drain's method); what stays verbatim
is chosen in select.py (head and tail, each template's first line, rare templates, error and warning
records with their traces, lines naming what the agent asks about: mentions.py), and every other run of lines becomes one marker naming its exact line
range, its templates and the spread of their variables (render.py). Deterministic: the miner is built
fresh for each part and fed in line order. Lossy: the pipeline stores the original for the markers.
"""

from __future__ import annotations

from headroom_cli.engines import register
from headroom_cli.engines.base import Context, EngineTimeout, Part, part_terms, past, Result, split_lines
from headroom_cli.engines.logs import detect
from headroom_cli.engines.logs.mentions import mentioned
from headroom_cli.engines.logs.mine import mine
from headroom_cli.engines.logs.render import render
from headroom_cli.engines.logs.select import keep_flags, RARE
from headroom_cli.engines.logs.shapes import mask

KIND = "logs"
MIN_LINES = 20  # a shorter part is left alone


class LogsEngine:
    name = "logs"
    ceiling = detect.CEILING

    def detect(self, part: Part) -> float:
        return detect.score(part)

    def compress(self, part: Part, ctx: Context) -> Result | None:
        lines, ended = split_lines(part.text)
        if len(lines) < MIN_LINES:
            return None
        shapes = mask(part.text).split("\n")[: len(lines)]
        line_template, templates = mine(shapes)
        _check(ctx)
        keep = keep_flags(lines, line_template, templates, mentioned(part.text, lines, part_terms(part)), shapes,
                          detect.rarity_is_news(lines, templates, RARE))
        if all(keep):
            return None
        out, omitted = render(lines, keep, line_template, templates, ctx.part_id)
        _check(ctx)
        text = "\n".join(out) + ("\n" if ended else "")
        if len(text) >= len(part.text):
            return None
        return Result(text, KIND, omitted=omitted)


def _check(ctx: Context) -> None:
    if past(ctx.deadline):
        raise EngineTimeout()


register(LogsEngine())

__all__ = ["KIND", "LogsEngine"]
