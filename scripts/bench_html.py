#!/usr/bin/env python3
"""Main-content extraction quality of the HTML engine, with the article-extraction benchmark's metric.

Each page's output is compared with the page's ground-truth main text: both are cut into tokens
(runs of word characters), then into shingles of 4 tokens in a row; precision is the share of the
output's shingles found in the truth, recall the share of the truth's shingles found in the output
(counted with multiplicity), F1 their harmonic mean. A set's figure is the benchmark's own: the
F1 of the mean precision and the mean recall over its pages ("bench F1"); the median of the pages'
F1 is printed beside it. Two F1 columns:
- "extracted": the engine's main content before condensing (extraction quality alone);
- "as sent": the engine's output as the model gets it (title, markers and, on a long page,
  condensing included).

Pages (tests/data/html/README.md names their sources and licences):
- news pages with their expected article text, from newspaper4k's test fixtures; the ones in
  HOLD_OUT were not looked at while the engine was tuned and are reported apart;
- blog pages rendered here with Pelican's two bundled themes (menus, post info, tags, blogroll,
  footer around the post), the post's own text as the truth: all held out ("blog");
- Sphinx documentation pages rendered here (project READMEs and autodoc API pages of standard-library
  modules, with the alabaster and classic themes: sidebars, navigation bars, search box, footer),
  against Sphinx's text builder's rendering of the same page: all held out ("sphinx");
- documentation pages rendered here: ``pydoc`` HTML of standard-library modules against pydoc's
  plain-text rendering of the same module (its words are the truth, less the banner and disclaimer
  that only the text rendering has, and with its section titles written as the page writes them:
  "Classes", not "CLASSES"). A documentation page that is mostly text is condensed by design,
  so its "as sent" recall is what the condensing keeps; its "extracted" F1 is the extraction's.

    PYTHONPATH=. python scripts/bench_html.py [--json]
"""

from __future__ import annotations

import argparse
import gzip
import json
import pydoc
import re
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

from headroom_cli.engines.base import Context, deadline_after, Part
from headroom_cli.engines.html import convert, HtmlEngine
from headroom_cli.markers import ccr_id

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "html"
HOLD_OUT = frozenset(("fox13now_001", "latvian_article", "time_001", "video_article_02", "yna_co_kr"))
PYDOC_MODULES = ("json", "textwrap", "shlex", "fnmatch")
TARGET_F1 = 0.93
_TOKEN = re.compile(r"\w+")
# what pydoc's text rendering adds that its HTML page does not have: the banner and the disclaimer
_PYDOC_SECTION = re.compile(r"^[A-Z][A-Z ]+$", re.M)  # a section title, upper-case in the text rendering only
_PYDOC_TEXT_ONLY = re.compile(r"\APython Library Documentation: [^\n]*\n|The following documentation is "
                              r"automatically generated.*?location listed above\.", re.S)


def shingles(text: str, n: int = 4) -> Counter[str]:
    tokens = _TOKEN.findall(text or "")
    return Counter(" ".join(tokens[i:i + n]) for i in range(max(1, len(tokens) - n + 1)))


def prf(truth: str, output: str) -> tuple[float, float, float]:
    want, got = shingles(truth), shingles(output)
    hit = sum(min(want[k], got[k]) for k in want.keys() & got.keys())
    precision = hit / max(1, sum(got.values()))
    recall = hit / max(1, sum(want.values()))
    return precision, recall, (2 * precision * recall / (precision + recall) if hit else 0.0)


def pages() -> list[tuple[str, str, str, str]]:
    """(name, set, html, truth) for every page: news (tune / hold-out) and docs."""
    found = []
    for folder in ("news", "blog", "sphinx"):
        for page in sorted((DATA / folder).glob("*.html.gz")):
            name = page.name[: -len(".html.gz")]
            html = gzip.decompress(page.read_bytes()).decode("utf-8", "replace")
            truth = (DATA / folder / f"{name}.txt").read_text(encoding="utf-8")
            found.append((name, "hold-out" if name in HOLD_OUT else folder, html, truth))
    for module in PYDOC_MODULES:
        obj = pydoc.importlib.import_module(module)
        html = pydoc.html.page(pydoc.describe(obj), pydoc.html.document(obj, module))
        truth = _PYDOC_TEXT_ONLY.sub("", pydoc.plain(pydoc.render_doc(obj, renderer=pydoc.plaintext)))
        truth = _PYDOC_SECTION.sub(lambda m: m.group(0).title(), truth)  # "CLASSES": the page says "Classes"
        found.append((f"pydoc {module}", "docs", html, truth))
    return found


def measure(name: str, group: str, html: str, truth: str) -> dict:
    _, _, blocks, _, _ = convert(html)
    extracted = "\n".join(block.text for block in blocks)
    engine = HtmlEngine()
    started = time.perf_counter()
    result = engine.compress(Part(html), Context(part_id=ccr_id(html), deadline=deadline_after(60)))
    ms = (time.perf_counter() - started) * 1000
    sent = result.text if result else html
    p, r, f = prf(truth, extracted)
    sp, sr, sf = prf(truth, sent)
    return {"page": name, "set": group, "chars": len(html), "precision": round(p, 3), "recall": round(r, 3),
            "f1": round(f, 3), "sent_precision": round(sp, 3), "sent_recall": round(sr, 3), "sent_f1": round(sf, 3),
            "ms": round(ms, 1)}


def summary(rows: list[dict]) -> dict:
    groups = {}
    for group in ("news", "hold-out", "blog", "docs", "sphinx"):
        chosen = [r for r in rows if r["set"] == group]
        if chosen:
            groups[group] = {"pages": len(chosen), "bench_f1": bench_f1(chosen, ""),
                             "median_f1": round(statistics.median(r["f1"] for r in chosen), 3),
                             "bench_sent_f1": bench_f1(chosen, "sent_"),
                             "median_sent_f1": round(statistics.median(r["sent_f1"] for r in chosen), 3)}
    return groups


def bench_f1(rows: list[dict], prefix: str) -> float:
    """The article-extraction benchmark's figure for a set: F1 of the mean precision and mean recall."""
    p = statistics.mean(r[prefix + "precision"] for r in rows)
    r = statistics.mean(r[prefix + "recall"] for r in rows)
    return round(2 * p * r / (p + r) if p + r else 0.0, 3)


def print_table(rows: list[dict], groups: dict) -> None:
    print(f"{'Page':30s} {'Set':9s} {'KB':>5s} {'P':>6s} {'R':>6s} {'F1':>6s} {'P sent':>7s} {'R sent':>7s} "
          f"{'F1 sent':>7s} {'ms':>6s}")
    for r in rows:
        print(f"{r['page'][:30]:30s} {r['set']:9s} {r['chars'] / 1000:5.0f} {r['precision']:6.3f} {r['recall']:6.3f} "
              f"{r['f1']:6.3f} {r['sent_precision']:7.3f} {r['sent_recall']:7.3f} {r['sent_f1']:7.3f} {r['ms']:6.1f}")
    print()
    print(f"{'Set':9s} {'Pages':>5s} {'bench F1':>9s} {'median F1':>10s} {'bench sent':>11s} {'median sent':>12s} "
          "target")
    for group, g in groups.items():
        verdict = "PASS" if g["bench_f1"] >= TARGET_F1 else "FAIL"
        print(f"{group:9s} {g['pages']:5d} {g['bench_f1']:9.3f} {g['median_f1']:10.3f} {g['bench_sent_f1']:11.3f} "
              f"{g['median_sent_f1']:12.3f} bench F1 >= {TARGET_F1} {verdict}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the tables")
    args = parser.parse_args(argv)
    rows = [measure(*page) for page in pages()]
    groups = summary(rows)
    if args.json:
        print(json.dumps({"pages": rows, "summary": groups, "target_f1": TARGET_F1}, indent=1))
    else:
        print_table(rows, groups)
    return 0


if __name__ == "__main__":
    sys.exit(main())
