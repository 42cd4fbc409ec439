"""The pipeline: route each part to one engine, and fall back to the original on any trouble.

The one place that decides what runs. Engines are pure; a decision that could differ the next time
(a query-aware choice, a timeout on a busy machine) is made once, on first sight of the part, and
frozen: in memory, and in the store when the pipeline is given one, so re-sent history stays
byte-identical turn after turn and across restarts.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from typing import Callable, Protocol

from headroom_cli import engines, readformat, sections
from headroom_cli.engines import Context, Engine, EngineTimeout, Part, Result
from headroom_cli.config import DEFAULT_PART_BUDGET_MS
from headroom_cli.markers import ccr_id

log = logging.getLogger("headroom.pipeline")

MIN_CHARS = 1_000  # smaller parts pass through: a marker would save next to nothing
MIN_SCORE = 0.5  # an engine must be at least this sure the part is its kind
PART_BUDGET_S = DEFAULT_PART_BUDGET_MS / 1000  # per part; past it the engine gives up and the original is kept


@dataclass(frozen=True)
class Outcome:
    original: str
    text: str
    engine: str | None = None
    kind: str | None = None
    part_id: str | None = None  # the CCR ID when something was omitted; the original must be stored under it
    stored: str | None = None  # what part_id redeems, when not the original (a whole output behind a note)

    @property
    def changed(self) -> bool:
        return self.text != self.original


@dataclass
class Explanation:
    """Why a part came out as it did: every engine's score, the choice, and what happened."""

    scores: dict[str, float] = field(default_factory=dict)
    chosen: str | None = None
    decision: str = ""
    read_format: bool = False
    elapsed_ms: float = 0.0


class FrozenDecisions(Protocol):
    def recall(self, part_hash: str, original: str) -> Outcome | None: ...

    def freeze(self, part_hash: str, outcome: Outcome) -> None: ...


def part_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


class Pipeline:
    def __init__(self, *, min_chars: int = MIN_CHARS, part_budget_s: float = PART_BUDGET_S, memo_size: int = 256,
                 frozen: FrozenDecisions | None = None, lossy: bool = True, code_min_lines: int | None = None):
        """``lossy=False``: only lossless results are used (no markers), for when omitted content
        could not be stored, so a marker could never be redeemed. ``code_min_lines``: source files
        shorter than this stay verbatim (None: HEADROOM_CODE_MIN_LINES or its default)."""
        self.min_chars = min_chars
        self.code_min_lines = code_min_lines
        self.lossy = lossy
        self.part_budget_s = part_budget_s
        self.frozen = frozen
        self._memo: OrderedDict[tuple[str, str | None], Outcome] = OrderedDict()
        self._memo_size = memo_size

    def scores(self, part: Part) -> dict[str, float]:
        return {engine.name: engine.detect(part) for engine in engines.registered()}

    def candidates(self, part: Part) -> list[Engine]:
        """Engines sure enough the part is theirs: the specialised ones surest first (ties by name, so
        always the same way), then the fallbacks (plain text)."""
        return self._sure(part, fallback=False) + self._sure(part, fallback=True)

    def _sure(self, part: Part, fallback: bool) -> list[Engine]:
        scored = [(engine.detect(part), engine.name, engine) for engine in engines.registered()
                  if getattr(engine, "fallback", False) is fallback]
        return [engine for score, _, engine in sorted(scored, key=lambda s: (-s[0], s[1])) if score >= MIN_SCORE]

    def route(self, part: Part) -> Engine | None:
        found = self.candidates(part)
        return found[0] if found else None

    def run(self, part: Part) -> Outcome:
        if len(part.text) < self.min_chars:
            return Outcome(part.text, part.text)
        key = (part.text, part.kind_hint)
        if key in self._memo:
            self._memo.move_to_end(key)
            return self._memo[key]
        digest = part_hash(part.text) if self.frozen is not None else None
        outcome = self.frozen.recall(digest, part.text) if digest else None
        if outcome is None:
            outcome = self._compress(part)
            if digest:
                self.frozen.freeze(digest, outcome)
        self._memo[key] = outcome
        if len(self._memo) > self._memo_size:
            self._memo.popitem(last=False)
        return outcome

    def run_whole(self, part: Part, whole: str, render: Callable[[str], str], max_chars: int) -> Outcome:
        """A part that stands for a larger whole (a client's preview of a saved output): the whole is
        compressed and rendered in the part's place, if that fits in max_chars. Frozen like any part."""
        key = (part.text, "whole")
        if key in self._memo:
            return self._memo[key]
        digest = part_hash(part.text) if self.frozen is not None else None
        outcome = self.frozen.recall(digest, part.text) if digest else None
        if outcome is None:
            inner = self._compress(replace(part, text=whole))
            text = render(inner.text)
            outcome = Outcome(part.text, part.text)
            if len(text) <= max_chars and (self.lossy or not inner.part_id):
                outcome = Outcome(part.text, text, inner.engine or "whole", inner.kind, inner.part_id, stored=whole)
            if digest:
                self.frozen.freeze(digest, outcome)
        self._memo[key] = outcome
        return outcome

    def explain(self, part: Part) -> tuple[Outcome, Explanation]:
        """Run without memo or frozen decisions, and say what each step decided."""
        started = time.perf_counter()
        why = Explanation()
        if len(part.text) < self.min_chars:
            why.decision = f"passed through: under {self.min_chars:,} characters"
            return Outcome(part.text, part.text), why
        unwrapped = readformat.unwrap(part.text)
        why.read_format = unwrapped is not None
        plain = replace(part, text=unwrapped[0]) if unwrapped else part
        why.scores = self.scores(plain)
        tried = [engine.name for engine in self.candidates(plain)]
        outcome = self._compress(part)
        why.chosen = outcome.engine if outcome.changed else (tried[0] if tried else None)
        why.elapsed_ms = (time.perf_counter() - started) * 1000
        if not tried:
            why.decision = f"passed through: no engine scored {MIN_SCORE} or more"
        elif not outcome.changed:
            why.decision = f"passed through: {', '.join(tried)} found nothing worth removing (or failed; see the log)"
        else:
            why.decision = f"compressed by {outcome.engine}" + (" (lossy: original stored)" if outcome.part_id else " (lossless)")
        return outcome, why

    def _compress(self, part: Part) -> Outcome:
        unchanged = Outcome(part.text, part.text)
        unwrapped = readformat.unwrap(part.text)
        plain = replace(part, text=unwrapped[0], first_line=readformat.first_number(unwrapped[1])) if unwrapped else part
        if not self.lossy:
            plain = replace(plain, query=None)  # a query only steers what to omit
        part_id = ccr_id(part.text)  # always the part as the client sent it: that is what gets stored
        deadline = time.perf_counter() + self.part_budget_s
        pieces = sections.split(plain.text)
        if pieces is None or (not any(p.protected for p in pieces) and self._is_code(plain)):
            pieces = [sections.Section(0, plain.text, False)]  # a data literal inside code stays code
        texts, omitted, chosen = [], 0, None
        for piece in pieces:
            if piece.protected or len(piece.text) < self.min_chars:
                texts.append(piece.text)
                continue
            result, engine = self._compress_section(
                replace(plain, text=piece.text, first_line=plain.first_line + piece.first_line), part_id, deadline)
            if result is None:
                texts.append(piece.text)
                continue
            texts.append(sections.shift_markers(result.text, part_id, piece.first_line))
            omitted += result.omitted
            chosen = chosen or (engine, result.kind)
        if chosen is None:
            return unchanged
        text = "".join(texts)
        if unwrapped:
            text = readformat.rewrap(text, plain.text, unwrapped[1])
        if len(text) >= len(part.text) or (omitted and not self.lossy):
            return unchanged
        return Outcome(part.text, text, chosen[0].name, chosen[1], part_id if omitted else None)

    def _is_code(self, part: Part) -> bool:
        surest = self.route(part)
        return surest is not None and surest.name == "code"

    def _compress_section(self, section: Part, part_id: str, deadline: float) -> tuple[Result | None, Engine | None]:
        """The surest specialised engine's result; when it finds nothing to do, the next one's, and
        last a fallback engine's (which may still clean up what the specialised ones passed over).
        Fallbacks are only asked once no specialised engine has anything to offer."""
        engine = None
        try:
            for fallback in (False, True):  # a fallback's detect() is only paid for when needed
                for engine in self._sure(section, fallback):
                    result = engine.compress(section, Context(part_id=part_id, deadline=deadline,
                                                              code_min_lines=self.code_min_lines))
                    if result is not None and (self.lossy or not result.omitted):
                        return result, engine
        except EngineTimeout:
            log.warning("engine %s ran past its %.0f ms budget; part kept as it was", engine.name, self.part_budget_s * 1000)
        except Exception as exc:  # an engine bug must never cost the user a request
            log.warning("engine %s failed (%s: %s); part kept as it was", getattr(engine, "name", "router"),
                        type(exc).__name__, exc)
        return None, None
