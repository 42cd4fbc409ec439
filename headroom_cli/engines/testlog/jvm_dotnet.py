"""Maven and Gradle (Surefire's ``Tests run: 5, Failures: 0`` per class, ``BUILD SUCCESS``) and
``dotnet test`` (``Passed Name [3 ms]``)."""

from __future__ import annotations

from headroom_cli.engines.testlog.format import Format

FORMAT = Format(
    name="maven, gradle, dotnet test",
    passing=(("dotnet", r"(?:Passed|Skipped) +\S", "passing tests"),),
    passing_starts="PS",
    summary=(r"Tests run:\s", r"BUILD (?:SUCCESS|SUCCESSFUL|FAILED|FAILURE)\b", r"Total time:"),
    summary_starts="TB",
)
