"""Claude Code's `<persisted-output>` notes: a Bash output over 30,000 characters reaches the API as
a 2 KB preview plus the path of the file that holds it all. Where the proxy runs beside the client
(`headroom wrap claude`), it reads that file, so the model gets the compressed whole output (the
failure, not the first 2 KB of passing lines) at once instead of spending Read turns on it.

Only files inside the client's own tool-results folders are read, never any other path a tool
output happens to name.
"""

from __future__ import annotations

import re
from pathlib import Path

NOTE = re.compile(
    r"\A<persisted-output>\nOutput too large \((?P<size>[^)\n]*)\)\. Full output saved to: (?P<path>[^\n]+)\n"
    r"\nPreview \([^)\n]*\):\n.*\n</persisted-output>\s*\Z",
    re.DOTALL,
)
MAX_FILE_BYTES = 16 * 1024 * 1024
MAX_RENDERED_CHARS = 30_000  # what Claude Code itself would have sent inline, at most


def saved_output(note: str, root: Path) -> str | None:
    """The whole output a note stands for, if it lies in a tool-results folder under root."""
    match = NOTE.match(note)
    if not match:
        return None
    try:
        path = Path(match.group("path")).resolve(strict=True)
        if path.parent.name != "tool-results" or not path.is_relative_to(root.expanduser().resolve()):
            return None
        if not path.is_file() or path.stat().st_size > MAX_FILE_BYTES:
            return None
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError, ValueError):
        return None


def render(note: str, compressed: str, whole: str) -> str:
    """The note with its preview replaced by the compressed whole output; the path line stays."""
    match = NOTE.match(note)
    assert match is not None
    lines = whole.count("\n") + (not whole.endswith("\n"))
    body = compressed if compressed.endswith("\n") else compressed + "\n"
    return (
        f"<persisted-output>\nOutput too large ({match.group('size')}). Full output saved to: {match.group('path')}\n"
        f"\nWhole output, {lines:,} lines, compressed by headroom:\n{body}</persisted-output>"
    )
