"""The router's lazy ranking: an engine's declared ceiling (the highest score its detect() gives a part
without a kind hint) lets the router leave unscored an engine that cannot come first. That only holds if
every ceiling is true and the order of the engines tried stays that of a full sort: both checked here on
every sample of the corpus under many tool hints, on texts mixed from its lines, and with kind hints."""

from __future__ import annotations

import gzip
import importlib.util
from pathlib import Path

from headroom_cli import engines
from headroom_cli.engines import Part
from headroom_cli.pipeline import _ceiling, MIN_SCORE, Pipeline

from samples import app_log_with_fatal, pytest_verbose_log

REPO = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("engine_equivalence", REPO / "scripts" / "engine_equivalence.py")
equivalence = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(equivalence)

# besides engine_equivalence's hints, those that lift a score to an engine's ceiling (a Read of a .csv, a
# command whose output format the engine expects)
HINTS = equivalence.HINTS + [("Read", "/data/orders.csv"), ("Read", "/src/app.py"), ("Bash", "cat src/app.py"),
                             ("Bash", "kubectl get pods"), ("Bash", "pytest -v"), ("Bash", "git log"),
                             ("Bash", "rg --json parse"), ("Bash", "ls"), ("Bash", "journalctl -u app")]
FOLDERS = [REPO / "tests" / "data", REPO.parent / "shared" / "corpus", REPO.parent / "shared" / "corpus-rtk"]


def _texts() -> list[str]:
    """The corpus's samples and the tests' own (whole: detect() reads a sample of the head and the tail)."""
    # and a Glob's absolute paths: a path list no ls or tree pattern can start (listing's plain ceiling)
    texts = [pytest_verbose_log(300), app_log_with_fatal(400),
             "".join(f"/home/dev/shop/{area}/module_{n:03d}.py\n" for area in ("api", "orders", "tests") for n in range(20))]
    for folder in FOLDERS:
        for path in sorted(folder.rglob("*")) if folder.is_dir() else []:
            if not path.is_file() or path.suffix in (".json", ".py", ".md"):
                continue
            raw = path.read_bytes()
            texts.append((gzip.decompress(raw) if path.suffix == ".gz" else raw).decode("utf-8", "replace"))
    return texts


def _parts() -> list[Part]:
    """Every sample under every hint, and texts mixed from the corpus's lines (each under one hint)."""
    fuzzed = equivalence.fuzz_parts([folder for folder in FOLDERS if folder.is_dir()], 400)
    return [Part(text, tool_name=tool, tool_input=tool_input) for text in _texts() for tool, tool_input in HINTS] + \
        [Part(fields["text"], tool_name=fields["tool_name"], tool_input=fields["tool_input"]) for _, fields in fuzzed]


PARTS = _parts()


def test_every_ceiling_holds_and_is_reached():
    ceiled = [engine for engine in engines.registered() if hasattr(engine, "ceiling")]
    assert {engine.name for engine in ceiled} >= {"testlog", "logs", "listing", "search", "table", "code"}
    for engine in ceiled:
        highest: dict[float, float] = {}  # by ceiling: the highest score of the parts under it
        for part in PARTS:
            top, score = _ceiling(engine, part), engine.detect(part)
            assert score <= top, (engine.name, part.tool_name, part.tool_input, part.text[:300])
            highest[top] = max(highest.get(top, 0.0), score)
        if engine.name in ("testlog", "logs", "listing", "table", "search"):
            assert all(highest[top] == top for top in highest), (engine.name, highest)  # not a guess: reached


def _eager(part: Part, fallback: bool) -> list[str]:
    """Every engine scored and sorted: what the router gave before it read lazily."""
    scored = [(engine.detect(part), engine.name) for engine in engines.registered()
              if getattr(engine, "fallback", False) is fallback]
    return [name for score, name in sorted(scored, key=lambda s: (-s[0], s[1])) if score >= MIN_SCORE]


def test_lazy_ranking_is_the_full_sort():
    pipeline = Pipeline()
    hinted = [Part(text, kind_hint=kind) for text in _texts()[:40] for kind in ("tests", "logs", "table", "code")]
    for part in PARTS[::8] + hinted:
        for fallback in (False, True):
            assert [engine.name for engine in pipeline._surest_first(part, fallback)] == _eager(part, fallback)
        eager = _eager(part, False) + _eager(part, True)
        assert (pipeline.route(part).name if eager else pipeline.route(part)) == (eager[0] if eager else None)


def test_an_engine_that_cannot_come_first_is_not_scored(monkeypatch):
    """A service log: the logs engine's 0.96 is over the test-and-log engine's ceiling, which is not asked
    to route it; asked for every candidate (the first found nothing to do), the router scores it after all."""
    log = app_log_with_fatal(400)
    testlog = engines.get("testlog")
    asked = []
    monkeypatch.setattr(testlog, "detect", lambda part: asked.append(part.text) or type(testlog).detect(testlog, part))
    seen: dict[tuple[str, str], float] = {}
    assert Pipeline().route(Part(log), seen).name == "logs" and asked == []
    assert [engine.name for engine in Pipeline()._surest_first(Part(log), False, seen)] == ["logs", "testlog"]
    assert asked == [log]
    assert Pipeline().route(Part(log, kind_hint="tests")).name == "testlog"  # a hint: every engine is asked
