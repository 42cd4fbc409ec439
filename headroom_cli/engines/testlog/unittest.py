"""Python's unittest (``test_x (mod.Case) ... ok``), and the ``... ok`` / ``... ignored`` lines that
Rust's libtest prints the same way (cargo.py has the rest of cargo test)."""

from __future__ import annotations

from headroom_cli.engines.testlog.format import Format


def _dots_label(word: str) -> str:
    if word == "ok":
        return "passing tests"
    if word == "ignored":
        return "ignored tests"
    return "expected failures" if word.startswith("expected") else "skipped"


FORMAT = Format(
    name="unittest",
    passing_end=(("dots", r"\.\.\.\s*(?P<dots>ok|ignored|skipped\b.*|expected failure)", _dots_label),),
    passing_end_tokens=(" ok", " ignored"),  # and " ... skipped" anywhere (a reason may follow)
    summary=(r"Ran \d+ tests?\b", r"OK(?: \(.*\))?$", r"FAILED \(.*\)$"),
    summary_starts="ROF",
    runner=(r"Ran \d+ tests? in",),
    failure_header=(r"FAIL:", r"ERROR:"),  # "FAIL: test_x (mod.Case)", then its traceback
)
