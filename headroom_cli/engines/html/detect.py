"""Whether a part is an HTML page or fragment: cheap checks on its first 20,000 characters."""

from __future__ import annotations

import re

from headroom_cli.engines.base import hint_score, Part

# an HTML document's opening, and tags
_DOC_START = re.compile(r"\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<!doctype\s+html|\s*(?:<\?xml[^>]*>\s*)?<html[\s>]",
                        re.I | re.S)
_TAG = re.compile(r"</?(?:html|head|body|title|meta|link|div|span|p|a|h[1-6]|table|tr|td|th|ul|ol|li|dl|dt|dd|br"
                  r"|pre|code|em|strong|b|i|img|section|article|nav|header|footer|script|style|form|input)\b[^<>]*>",
                  re.I)
_NOT_HTML_START = re.compile(r"diff --git |--- \S|\+\+\+ \S|@@ -\d|\S+:\d+[:\-]|\{|\[")
_COMPONENT = re.compile(r"<(?:template|script|style)\b")  # a Vue or Svelte component: code, not a page
_HTML_PATH = re.compile(r"(?i)\.(?:x?html?|xht)\b")
_HINTS_MINE = frozenset(("html", "htm", "xhtml"))


def http_head_end(text: str) -> int:
    """Where the page starts after ``curl -i``'s response headers (0 when there are none)."""
    if not text.startswith("HTTP/"):
        return 0
    for blank in ("\r\n\r\n", "\n\n"):
        end = text.find(blank, 0, 20_000)
        if end > 0:
            return end + len(blank)
    return 0


def detect(part: Part) -> float:
    hinted = hint_score(part, _HINTS_MINE)
    if hinted is not None:
        return hinted
    head = part.text[:20_000].lstrip("\ufeff")
    head = head[http_head_end(head):]
    path = part.tool_input or ""
    by_path = bool(path and _HTML_PATH.search(path))
    if _DOC_START.match(head):
        return 0.95
    stripped = head.lstrip()
    if not stripped.startswith("<") or _NOT_HTML_START.match(stripped) or _COMPONENT.match(stripped):
        return 0.6 if by_path and stripped.startswith("<") else 0.05 if by_path else 0.0
    tags = _TAG.findall(head)
    if len(tags) < 8:
        return 0.0
    markup = sum(len(t) for t in tags)
    closing = sum(1 for t in tags if t.startswith("</"))
    if closing < 3 or markup < len(head) * 0.08:
        return 0.0
    return 0.9 if by_path else 0.8
