#!/usr/bin/env python3
"""Do two checkouts' engines give the same bytes? For refactors that must not change behaviour.

Runs every sample of the corpus folders (every text file under them, whatever its kind, so that a
detection score that moves on a part of another kind shows too), in a few variants (with and without
the corpus's question, under several tool hints, the first lines only), through the named engines'
``detect`` and ``compress`` (a fixed part ID, no deadline to speak of) and through the whole pipeline,
once with ``--before``'s code and once with this checkout's, and prints each difference. ``--fuzz``
adds texts made of the corpus's lines, shuffled, mixed and sprinkled with odd characters. Parts
recorded elsewhere (a pickled ``{key: Part}`` dict, e.g. from a pytest run) can be added with --parts.

    .venv/bin/python scripts/engine_equivalence.py --before /tmp/old-checkout --engines listing,search \\
        ../shared/corpus ../shared/corpus-rtk tests/data

Exit status 1 when anything differs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pickle
import random
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PART_ID = "hr_0123456789abcdef"
# (tool_name, tool_input): the hints an engine reads besides the text
HINTS = [(None, None), ("Bash", "ls -laR"), ("Bash", "tree src"), ("Bash", "git log --oneline"),
         ("Bash", "find . -type f"), ("Bash", "du -ah ."), ("Bash", "git status"), ("Bash", "rg -n parse src"),
         ("Bash", "grep -rn 'def ' ."), ("Grep", "parse"), ("Glob", "**/*.py"), ("Read", "/tmp/x.txt"), ("LS", "/")]
HEADS = (None, 40, 300)  # the whole text, or its first lines


def corpus_parts(dirs: list[Path]) -> list[tuple[str, dict]]:
    """(name, Part fields) for every text file under the folders, in variants."""
    queries: dict[Path, str | None] = {}
    for d in dirs:
        if (d / "needles.json").is_file():
            for entry in json.loads((d / "needles.json").read_text(encoding="utf-8")):
                queries[(d / entry["file"]).resolve()] = entry.get("query")
    out = []
    for d in dirs:
        for path in sorted(p for p in d.rglob("*") if p.is_file() and p.suffix not in (".json", ".py", ".md")):
            try:
                text = path.read_text(encoding="utf-8")
            except (UnicodeDecodeError, OSError):
                continue
            query = queries.get(path.resolve())
            for head in HEADS:
                body = text if head is None else "".join(text.splitlines(keepends=True)[:head])
                if head is not None and body == text:
                    continue
                for q in dict.fromkeys((query, None)):
                    for tool, tool_input in HINTS:
                        name = f"{path} head={head} query={q is not None} tool={tool}:{tool_input}"
                        out.append((name, {"text": body, "query": q, "tool_name": tool, "tool_input": tool_input}))
    return out


def fuzz_parts(dirs: list[Path], count: int) -> list[tuple[str, dict]]:
    """Texts made of the corpus's lines, shuffled, cut, mixed across samples and sprinkled with
    characters that change case oddly ("İ", "ſ", "Σ"), tabs, CRs and colours (seeded: the same each run)."""
    rng = random.Random(15)
    pool = [p.read_text(encoding="utf-8", errors="replace").splitlines()
            for d in dirs for p in sorted(d.rglob("*.txt")) if p.is_file()]
    pool = [lines for lines in pool if len(lines) >= 12]
    odd = ["İ", "ſ", "Σ", "\t", "\r", "\x1b[31m", "\x1b[0m", "é", " -> ", ":12:", "-12-", "--"]
    out = []
    for k in range(count if pool else 0):
        lines = list(rng.choice(pool))
        if rng.random() < 0.3:
            lines += rng.choice(pool)
        start = rng.randrange(len(lines))
        lines = lines[start:start + rng.randint(12, 600)]
        if rng.random() < 0.5:
            rng.shuffle(lines)
        for _ in range(rng.randint(0, 8)):
            i = rng.randrange(len(lines))
            at = rng.randint(0, len(lines[i]))
            lines[i] = lines[i][:at] + rng.choice(odd) + lines[i][at:]
        query = " ".join(rng.choice(" ".join(lines).split() or ["x"]) for _ in range(3)) if rng.random() < 0.5 else None
        tool, tool_input = rng.choice(HINTS)
        out.append((f"fuzz #{k}", {"text": "\n".join(lines) + "\n", "query": query, "tool_name": tool,
                                   "tool_input": tool_input}))
    return out


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def dump(engine_names: list[str], dirs: list[Path], parts_file: str | None, fuzz: int) -> None:
    """(run under the checkout being measured) one JSON line per part: scores, outputs, the pipeline's."""
    from headroom_cli import engines
    from headroom_cli.engines import Context, Part
    from headroom_cli.engines.base import deadline_after
    from headroom_cli.pipeline import Pipeline

    chosen = [engines.get(n) for n in engine_names]
    items = [(name, Part(**fields)) for name, fields in corpus_parts(dirs) + fuzz_parts(dirs, fuzz)]
    if parts_file:
        with open(parts_file, "rb") as f:
            recorded = pickle.load(f)
        items += [(f"recorded #{k}", part) for k, part in enumerate(recorded.values())]
    for name, part in items:
        row: dict = {"name": name}
        for engine in chosen:
            row[f"{engine.name}.detect"] = engine.detect(part)
            try:
                r = engine.compress(part, Context(PART_ID, deadline_after(120.0)))
                row[f"{engine.name}.out"] = None if r is None else [digest(r.text), r.kind, r.omitted, list(r.notes)]
            except Exception as exc:  # a crash must be the same crash
                row[f"{engine.name}.out"] = f"raised {type(exc).__name__}: {exc}"
        if name.startswith("recorded") or "tool=None:None" in name:
            outcome = Pipeline(part_budget_s=120.0).run(part)
            row["pipeline"] = [outcome.engine, outcome.kind, digest(outcome.text)]
        print(json.dumps(row), flush=True)


def run_side(checkout: Path, args: argparse.Namespace) -> list[dict]:
    env = dict(os.environ, PYTHONPATH=str(checkout))
    cmd = [sys.executable, str(Path(__file__).resolve()), "--dump", "--engines", args.engines, "--fuzz", str(args.fuzz)]
    if args.parts:
        cmd += ["--parts", args.parts]
    cmd += [str(d) for d in args.dirs]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True, cwd=checkout)
    return [json.loads(line) for line in done.stdout.splitlines()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dirs", nargs="*", type=Path)
    parser.add_argument("--before", type=Path, help="the other checkout (e.g. `git archive` of the base commit)")
    parser.add_argument("--engines", default="listing,search")
    parser.add_argument("--parts", help="a pickled {key: Part} dict of recorded parts")
    parser.add_argument("--fuzz", type=int, default=500, help="mixed and perturbed texts made of the corpus's lines")
    parser.add_argument("--dump", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.dirs = [d.resolve() for d in (args.dirs or [REPO.parent / "shared" / "corpus"])]
    if args.dump:
        dump(args.engines.split(","), args.dirs, args.parts, args.fuzz)
        return 0
    if args.before is None:
        parser.error("--before is required")
    before, after = run_side(args.before.resolve(), args), run_side(REPO, args)
    differ = 0
    for a, b in zip(before, after, strict=True):
        for key in a:
            if a[key] != b.get(key):
                differ += 1
                print(f"DIFF {a['name']} {key}: {a[key]} -> {b.get(key)}")
    print(f"{len(before)} parts x {len(before[0]) - 1} results compared: {differ} differences")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
