"""From line scores to output: kept lines verbatim, each dropped run one marker naming its lines."""

from __future__ import annotations

from collections import Counter

from headroom_cli.markers import line_marker

# A shorter run of low-scored lines stays. A dropped line the agent needed costs it a retrieval round
# (a whole turn), so a marker must take out enough to pay for that risk: about 250 tokens. Measured
# (scripts/bench_kompress.py, corpora's unclaimed outputs, needles verbatim / tokens saved): 200
# chars 87.1% / 32.4%, 600 93.5% / 25.3%, 1000 100% / 15.9%, 1500 100% / 9.4%.
MIN_RUN_CHARS = 1000
HEAD, TAIL = 1, 1  # the first and last line always stay (what the output is, how it ended)


def keep_mask(lines: list[str], probs: list[float], threshold: float, floor: list[bool] | None = None) -> list[bool]:
    """The model's verdict (score over the threshold) or the rules' keep-floor (rules.protected)."""
    keep = [p >= threshold or bool(floor and floor[i]) for i, p in enumerate(probs)]
    for i in list(range(min(HEAD, len(lines)))) + list(range(max(0, len(lines) - TAIL), len(lines))):
        keep[i] = True
    i = 0
    while i < len(lines):  # give short dropped runs back: a marker must pay for itself
        if keep[i]:
            i += 1
            continue
        j = i
        while j < len(lines) and not keep[j]:
            j += 1
        if sum(len(line) + 1 for line in lines[i:j]) < MIN_RUN_CHARS:
            keep[i:j] = [True] * (j - i)
        i = j
    return keep


def render(lines: list[str], keep: list[bool], part_id: str, ended: bool) -> tuple[str, int]:
    """The output text and how many lines it leaves out."""
    out, omitted, i = [], 0, 0
    while i < len(lines):
        if keep[i]:
            out.append(lines[i])
            i += 1
            continue
        j = i
        while j < len(lines) and not keep[j]:
            j += 1
        blank = sum(1 for line in lines[i:j] if not line.strip())
        out.append(line_marker(part_id, i + 1, j, Counter({"low-scored": j - i - blank, "blank lines": blank})))
        omitted += j - i
        i = j
    return "\n".join(out) + ("\n" if ended else ""), omitted
