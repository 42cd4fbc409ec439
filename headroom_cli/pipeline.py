"""The pipeline: route each part to one engine, and fall back to the original on any trouble.

The one place that decides what runs. Engines are pure, so the same part always gives the same
output; a small memo spares re-sent history from being compressed again on every turn.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from dataclasses import dataclass

from headroom_cli import engines
from headroom_cli.engines import Context, Engine, EngineTimeout, Part
from headroom_cli.markers import ccr_id

log = logging.getLogger("headroom.pipeline")

MIN_CHARS = 1_000  # smaller parts pass through: a marker would save next to nothing
MIN_SCORE = 0.5  # an engine must be at least this sure the part is its kind
PART_BUDGET_S = 0.25  # per part; past it the engine gives up and the original is kept


@dataclass(frozen=True)
class Outcome:
    original: str
    text: str
    engine: str | None = None
    kind: str | None = None
    part_id: str | None = None  # the CCR ID when lines were omitted; the original must be stored under it

    @property
    def changed(self) -> bool:
        return self.text != self.original


class Pipeline:
    def __init__(self, *, min_chars: int = MIN_CHARS, part_budget_s: float = PART_BUDGET_S, memo_size: int = 256):
        self.min_chars = min_chars
        self.part_budget_s = part_budget_s
        self._memo: OrderedDict[tuple[str, str | None], Outcome] = OrderedDict()
        self._memo_size = memo_size

    def route(self, part: Part) -> Engine | None:
        best, best_score = None, 0.0
        for engine in engines.registered():  # sorted by name, so ties always go the same way
            score = engine.detect(part)
            if score >= MIN_SCORE and score > best_score:
                best, best_score = engine, score
        return best

    def run(self, part: Part) -> Outcome:
        if len(part.text) < self.min_chars:
            return Outcome(part.text, part.text)
        key = (part.text, part.kind_hint)
        if key in self._memo:
            self._memo.move_to_end(key)
            return self._memo[key]
        outcome = self._compress(part)
        self._memo[key] = outcome
        if len(self._memo) > self._memo_size:
            self._memo.popitem(last=False)
        return outcome

    def _compress(self, part: Part) -> Outcome:
        unchanged = Outcome(part.text, part.text)
        engine = None
        try:
            engine = self.route(part)
            if engine is None:
                return unchanged
            part_id = ccr_id(part.text)
            result = engine.compress(part, Context(part_id=part_id, deadline=time.perf_counter() + self.part_budget_s))
        except EngineTimeout:
            log.warning("engine ran past its %.0f ms budget; part kept as it was", self.part_budget_s * 1000)
            return unchanged
        except Exception as exc:  # an engine bug must never cost the user a request
            log.warning("engine %s failed (%s: %s); part kept as it was", getattr(engine, "name", "router"), type(exc).__name__, exc)
            return unchanged
        if result is None or len(result.text) >= len(part.text):
            return unchanged
        return Outcome(part.text, result.text, engine.name, result.kind, part_id if result.omitted else None)
