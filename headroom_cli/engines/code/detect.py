"""Is a part source code? From the request's hints (a Read's file path, a `cat`/`sed -n`/`head` of a
file) and, without them, from the shape of its lines. Cheap: the router asks every part."""

from __future__ import annotations

import re

from headroom_cli.engines.base import hint_score, Part, share_at_least
from headroom_cli.engines.code.languages import is_code_path, path_in

READ_TOOLS = frozenset({"Read", "read_file", "view", "read", "open_file", "View"})
# Lines that only source code tends to have: declarations, imports, braces, statements ending in ';'.
_CODE_LINE = re.compile(
    r"^\s*(?:(?:export\s+)?(?:async\s+)?(?:def|class|function|func|fn|impl|struct|enum|interface|trait|"
    r"package|import|from\s+\S+\s+import|#include|#define|using|namespace|template|pub|static|const|let|var|"
    r"return|if|for|while|switch|case|else|try|catch|except|raise|throw|yield|public|private|protected)\b"
    r"|.*[{};]\s*$|\s*[})\]];?,?\s*$|\s*(?://|/\*|\*|#)\s"
    r"|\s*#\s*(?:if|ifdef|ifndef|endif|else|elif|define|undef|include|pragma)\b|\s*//.*|\s*[\w.]+,\s*$"
    r"|\s*@\w|\s*[\w.\[\]]+\s*[-+*/|&]?=\s*\S|\s*[\w.]+\(.*\)\s*$|\s*(?:\"\"\"|\'\'\'))"
)
# Lines that say it is data or markup, not code: JSON records, tags.
_NOT_CODE_LINE = re.compile(r"^\s*(?:[{\[]\s*\"|\"[^\"]*\"\s*:|<[A-Za-z!/?])")
_SAMPLE_LINES = 200


def source_path(part: Part) -> str | None:
    """The file the part shows, when the tool's input names one: a Read's path, a `cat` of a file."""
    if part.tool_name in READ_TOOLS or part.tool_name is None or part.tool_name in ("Bash", "shell", "exec_command"):
        return path_in(part.tool_input)
    return None


CEILING = 0.9  # the highest score() gives without a kind hint: a part the tool's input names a source file for


def score(part: Part) -> float:
    hinted = hint_score(part, frozenset(("code", "source")))
    if hinted is not None:
        return hinted
    if is_code_path(source_path(part)):
        return 0.9
    text = part.text
    head = text[:2000].lower()
    if "<html" in head or "<!doctype" in head:
        return 0.0
    all_lines = text.splitlines()
    step = max(1, len(all_lines) // _SAMPLE_LINES)  # spread the sample: a file's head is all imports
    lines = [line for line in all_lines[::step][:_SAMPLE_LINES] if line.strip()]
    if len(lines) < 10:
        return 0.0
    return 0.75 if share_at_least(lines, _is_code_line, 0.6) else 0.0


def _is_code_line(line: str) -> bool:
    return not _NOT_CODE_LINE.match(line) and _CODE_LINE.match(line) is not None  # the cheap test first
