"""Detections that settle a score before reading everything give the score reading everything gives: on
every sample of the corpus, on texts mixed from its lines, and on the tests' own samples."""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path

from headroom_cli.engines import Part
from headroom_cli.engines.search import detection as search_detection
from headroom_cli.engines.testlog import detect as testlog_detect

from samples import app_log_with_fatal, pytest_verbose_log

search_parse = importlib.import_module("headroom_cli.engines.search.parse")  # the package's `parse` is its function
REPO = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("engine_equivalence", REPO / "scripts" / "engine_equivalence.py")
equivalence = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(equivalence)
FOLDERS = [folder for folder in (REPO / "tests" / "data", REPO.parent / "shared" / "corpus",
                                 REPO.parent / "shared" / "corpus-rtk") if folder.is_dir()]


def _texts() -> list[str]:
    texts = [pytest_verbose_log(300), app_log_with_fatal(400), pytest_verbose_log(3) + "@@ -1,2 +1,2 @@\ndiff -u a b\n"]
    texts += [fields["text"] for _, fields in equivalence.corpus_parts(FOLDERS)
              if fields["tool_name"] is None and fields["query"] is None]
    return texts + [fields["text"] for _, fields in equivalence.fuzz_parts(FOLDERS, 400)]


TEXTS = _texts()


def _testlog_reading_everything(text: str) -> float:
    tally = testlog_detect.Tally()
    for line in testlog_detect._sample(text):
        if s := tally.add_shape(line.strip()):
            tally.classify(s)
    return tally.score()


def test_testlog_runner_lines_settle_the_score_as_reading_every_line_does():
    settled = 0
    for text in TEXTS:
        score = testlog_detect.score(Part(text))
        assert score == _testlog_reading_everything(text), text[:200]
        tally = testlog_detect.Tally()
        for line in testlog_detect._sample(text):
            tally.add_shape(line.strip())
        settled += tally.strong >= 2
    assert settled >= 10  # the early answer was given, not only the long way round


def _search_others_reading_everything(lines, pre, deadline, t):
    """search.parse's tally of the other formats as it was before it stopped early: every line read."""
    for ln, m in zip(lines, pre):
        if not ln or ln == "--" or m is not None:
            continue
        search_parse.count_format(ln, t)


def test_search_stops_counting_formats_when_none_can_win_and_scores_as_reading_every_line(monkeypatch):
    hints = [(None, None), ("Grep", "parse"), ("Bash", "rg -n parse src")]
    parts = [Part(text, tool_name=tool, tool_input=tool_input) for text in TEXTS for tool, tool_input in hints]
    early = [search_detection.score(part) for part in parts]
    stopped = []
    real = search_parse._tally_others

    def spy(lines, pre, deadline, t):
        real(lines, pre, deadline, t)
        full = search_parse.Tally(**vars(t) | {"bare": 0, "count": 0, "path": 0, "path_text": 0})
        _search_others_reading_everything(lines, pre, deadline, full)
        stopped.append(full != t)
        t.bare, t.count, t.path, t.path_text = full.bare, full.count, full.path, full.path_text

    monkeypatch.setattr(search_parse, "_tally_others", spy)
    assert [search_detection.score(part) for part in parts] == early
    assert sum(stopped) >= 30  # lines were left unread on many texts
