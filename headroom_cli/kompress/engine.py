"""The Kompress engine: score each line with the model, keep the likely-needed ones verbatim."""

from __future__ import annotations

from headroom_cli.engines.base import (Context, cpu_clock, EngineTimeout, Part, Result, part_terms, past,
                                       split_lines)
from headroom_cli.kompress import enabled, load, log, model_dir
from headroom_cli.kompress.rules import protected
from headroom_cli.kompress.select import keep_mask, render

SCORE = 0.5  # below the text fallback's 0.55: terminal noise is folded first, Kompress when that finds nothing
MIN_LINES = 20  # fewer lines: nothing worth a model
MAX_LINES = 50_000  # beyond this the part is left to the others (the budget would not hold)


class KompressEngine:
    """Learned keep/drop per line, for line-oriented text that no specialised engine claims."""

    __test__ = False
    name = "kompress"
    fallback = True
    slow = True  # a model's inference: never run on the proxy's event loop (proxy/offload.py)

    def detect(self, part: Part) -> float:
        if not enabled():  # HEADROOM_KOMPRESS=off
            return 0.0
        lines = part.text.count("\n")
        if not MIN_LINES <= lines <= MAX_LINES or _claimed(part):
            return 0.0
        return SCORE

    def compress(self, part: Part, ctx: Context) -> Result | None:
        lines, ended = split_lines(part.text)
        path = model_dir()
        if len(lines) < MIN_LINES or path is None:
            return None
        started = cpu_clock()
        load(path)  # once per process: torch's import and the weights are not this part's cost
        loading = cpu_clock() - started
        terms = part_terms(part)
        probs, threshold = scores(lines, terms, path)
        if past(ctx.deadline + loading):
            raise EngineTimeout
        keep = keep_mask(lines, probs, threshold, protected(lines, terms))
        if all(keep):
            return None
        text, omitted = render(lines, keep, ctx.part_id, ended)
        return Result(text, "text", omitted=omitted) if len(text) < len(part.text) else None


def _claimed(part: Part) -> bool:
    """Whether a specialised engine says the part is its kind: then its verdict stands, even when it
    found nothing to remove (code under the size limit, a small JSON), and Kompress stays out."""
    from headroom_cli import engines
    from headroom_cli.pipeline import MIN_SCORE

    return any(engine.detect(part) >= MIN_SCORE for engine in engines.registered()
               if not getattr(engine, "fallback", False))


def scores(lines: list[str], terms: tuple[str, ...], path) -> tuple[list[float], float]:
    """Each line's keep probability, and the model's threshold."""
    import torch

    from headroom_cli.kompress.features import encode

    model = load(path)
    config = model.config
    ids, offsets, feats = encode(lines, terms, config.buckets, config.max_line_bytes)
    with torch.inference_mode():
        logits = model(torch.from_numpy(feats), torch.from_numpy(ids), torch.from_numpy(offsets))
    probs = torch.sigmoid(logits).tolist()
    log.debug("kompress scored %d lines", len(lines))
    return probs, float(config.threshold)
