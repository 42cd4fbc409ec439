"""The test-and-log engine: keep failures, errors, warnings and summaries; fold the passing noise.

Test-runner output (pytest, unittest, jest, node --test, go test, cargo test, ...) and build and
application logs are mostly lines nobody needs to read: PASSED, ``ok``, INFO/DEBUG records,
``copying ...``. What matters is a handful of lines and the blocks under them: the failure, its
traceback or stack, the assertion message, warnings, and the runner's summary.

The engine works on shapes rather than on any particular program, in steps of one module each:

1. prepare.py: the text of each line to classify (Read-format numbers, ANSI codes and a prefix most
   lines share taken off);
2. classify.py: each line's class (blank, passing test, levelled log record, summary, error,
   warning, stack frame, build chatter, or neutral), by the patterns the format modules declare
   (pytest.py, unittest.py, jest.py, mocha.py, tap.py, gotest.py, cargo.py, jvm_dotnet.py, build.py,
   applog.py, stacks.py), joined in patterns.py;
3. the formats' own folds: a long pytest failure report cut to its frames' ends (pytest_report.py),
   the test binaries that passed once another failed (cargo.py);
4. select.py: keep every error/summary/first-warning line and the block under it, one line of
   context above an error, the head and the tail; gotest.py keeps a failing test's own output;
5. render.py: every remaining run of droppable lines becomes one marker naming the original lines,
   so that expanding the markers gives back the original text exactly.

detect.py says whether a part is such output at all.
"""

from __future__ import annotations

from headroom_cli.engines import register
from headroom_cli.engines.base import Context, EngineTimeout, Part, past, Result, split_lines
from headroom_cli.engines.testlog import cargo, detect, pytest_report, select
from headroom_cli.engines.testlog.classify import Classifier
from headroom_cli.engines.testlog.lines import Lines
from headroom_cli.engines.testlog.prepare import contents
from headroom_cli.engines.testlog.render import render

MIN_LINES = 12  # a shorter part is left alone


class TestLogEngine:
    """Folds passing tests and routine log/build lines; keeps failures, errors, warnings, summaries."""

    __test__ = False  # not a pytest test class
    name = "testlog"
    ceiling = detect.CEILING
    reads_focus = False  # what it keeps is decided by the lines' classes alone (no query, no focus)

    def detect(self, part: Part) -> float:
        return detect.score(part)

    def compress(self, part: Part, ctx: Context) -> Result | None:
        text = part.text
        raw, ends_nl = split_lines(text)
        n = len(raw)
        if n < MIN_LINES:
            return None
        classified, prefixed = contents(raw, text)
        lines = Lines.of(classified, prefixed)
        classifier = Classifier(lines, text if classified is raw else "\n".join(classified))
        _check(ctx)
        classifier.run(ctx.deadline)
        pytest_report.fold_reports(classifier.sections.close(n), lines)
        if classifier.libtest:
            cargo.fold_passing_binaries(classifier.libtest, lines)
        _check(ctx)
        select.fold_repeated_warnings(lines)
        keep = select.keep_blocks(lines)
        select.keep_context(lines, keep)
        classifier.go.keep_failing_output(lines.cls, keep)
        select.keep_ends(keep)
        out, omitted = render(raw, keep, lines.label, ctx.part_id, ends_nl)
        if not omitted or len(out) >= len(text):
            return None
        return Result(text=out, kind=_kind(part, classifier.test_hits, classifier.log_hits), omitted=omitted)


def _kind(part: Part, test_hits: int, log_hits: int) -> str:
    hint = (part.kind_hint or "").strip().lower()
    if hint in ("tests", "test"):
        return "tests"
    if hint in ("logs", "log"):
        return "logs"
    return "tests" if test_hits and test_hits >= log_hits else "logs"


def _check(ctx: Context) -> None:
    if past(ctx.deadline):
        raise EngineTimeout()


register(TestLogEngine())

__all__ = ["TestLogEngine"]
