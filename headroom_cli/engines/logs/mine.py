"""Template mining: lines of one shape, and shapes alike enough, become one template.

The method is Drain's (He et al., ICWS 2017; the LogPAI project's Drain3 implements it): shapes are
bucketed by token count, severity and their first constant words, and a shape joins the bucket's
most similar template when at least ``SIMILARITY`` of its tokens match, the differing tokens becoming
wildcards. Two changes make it fit here (README, "Logs" has the measurements): lines are first grouped
by their exact masked shape in one pass (a log of 3,000 lines has a few dozen shapes), so the
Python-level work grows with the number of shapes, not lines; and state lives in one Miner per part,
fed shapes in order of first appearance, so the same text always gives the same templates.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from headroom_cli.engines.logs.shapes import severity, WILD

SIMILARITY = 0.6  # share of tokens a shape must have in common with a template to join it
PREFIX_WORDS = 1  # constant words that pick a shape's bucket (Drain's tree depth less two)
BUCKET_LIMIT = 64  # templates compared per bucket; past that a new shape starts its own template


@dataclass
class Template:
    tokens: list[str]
    level: int
    count: int = 0
    first: int = -1  # the first line (0-based) of the part it matches

    @property
    def text(self) -> str:
        return " ".join(self.tokens)


@dataclass
class Miner:
    templates: list[Template] = field(default_factory=list)
    _buckets: dict[tuple, list[int]] = field(default_factory=dict)

    def add(self, shape: str) -> int:
        """The index of the template the shape joins (made when none is alike enough)."""
        tokens = shape.split()
        level = severity(shape)
        key = (len(tokens), level, *_prefix(tokens))
        bucket = self._buckets.setdefault(key, [])
        best, best_sim = -1, SIMILARITY
        for index in bucket[:BUCKET_LIMIT]:
            sim = _similarity(self.templates[index].tokens, tokens)
            if sim >= best_sim and (best < 0 or sim > best_sim):
                best, best_sim = index, sim
        if best >= 0:
            template = self.templates[best]
            template.tokens = [t if t == u else WILD for t, u in zip(template.tokens, tokens)]
            return best
        self.templates.append(Template(tokens, level))
        bucket.append(len(self.templates) - 1)
        return len(self.templates) - 1


def _prefix(tokens: list[str]) -> tuple[str, ...]:
    """The first PREFIX_WORDS tokens that hold letters and no variable: what Drain's tree branches on."""
    words: list[str] = []
    for t in tokens[:8]:  # read until found (the first words mostly settle it), letters-only words first
        if WILD not in t and (t.isalpha() or any(c.isalpha() for c in t)):
            words.append(t)
            if len(words) == PREFIX_WORDS:
                break
    return tuple(words)


def _similarity(template: list[str], tokens: list[str]) -> float:
    """The share of alike tokens among those that are words on either side. Where both hold a
    variable the position counts neither way (a timestamp says nothing about what a line is); a word
    against a variable or a wildcard is a mismatch, as in Drain3."""
    alike = words = 0
    for t, u in zip(template, tokens):
        if WILD in u and WILD in t:
            continue
        words += 1
        alike += t == u
    return alike / words if words else 1.0


def mine(shapes: list[str]) -> tuple[list[int], list[Template]]:
    """Each line's template index and the templates (in order of first appearance, with counts)."""
    miner = Miner()
    of_shape: dict[str, int] = {}
    line_template = []
    for number, shape in enumerate(shapes):
        index = of_shape.get(shape)
        if index is None:
            index = of_shape[shape] = miner.add(shape)
            template = miner.templates[index]
            if template.first < 0:
                template.first = number
        line_template.append(index)
    for index in line_template:
        miner.templates[index].count += 1
    return line_template, miner.templates
