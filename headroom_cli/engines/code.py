"""Source code: recognised so that no other engine mangles it, and passed through unchanged.

Until the tree-sitter code engine lands, claiming code here is what keeps, say, the plain-text
fallback from folding a file's repeated lines or the table engine from reading it as columns.
"""

from __future__ import annotations

import re

from headroom_cli.engines import register
from headroom_cli.engines.base import Context, hint_score, Part, Result

CODE_EXTENSIONS = frozenset(
    ".py .pyi .js .jsx .mjs .cjs .ts .tsx .go .rs .c .h .cc .cpp .cxx .hpp .hh .java .kt .kts .scala .swift "
    ".rb .php .cs .m .mm .lua .sh .bash .zsh .pl .r .jl .ex .exs .erl .hs .ml .dart .vue .svelte .sql".split()
)
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


class CodeEngine:
    name = "code"

    def detect(self, part: Part) -> float:
        hinted = hint_score(part, frozenset(("code", "source")))
        if hinted is not None:
            return hinted
        path = (part.tool_input or "").strip().lower()
        if part.tool_name in ("Read", "read_file", "view") and any(path.endswith(ext) for ext in CODE_EXTENSIONS):
            return 0.9
        text = part.text
        if "<html" in text[:2000].lower() or "<!doctype" in text[:2000].lower():
            return 0.0
        all_lines = text.splitlines()
        step = max(1, len(all_lines) // _SAMPLE_LINES)  # spread the sample: a file's head is all imports
        lines = [line for line in all_lines[::step][:_SAMPLE_LINES] if line.strip()]
        if len(lines) < 10:
            return 0.0
        code = sum(1 for line in lines if _CODE_LINE.match(line) and not _NOT_CODE_LINE.match(line))
        return 0.75 if code / len(lines) >= 0.6 else 0.0

    def compress(self, part: Part, ctx: Context) -> Result | None:
        return None  # passed through whole until the code engine lands


register(CodeEngine())
