"""The HTML engine: a page's main text as compact markdown-like text, the markup and boilerplate gone.

HTML that an agent reads (documentation pages, man pages rendered by AsciiDoc, pydoc output,
coverage reports, README renders) is mostly markup: tags, attributes, inline CSS and JavaScript,
site navigation. The words a reader needs are a fraction of it. The engine:

1. parses the page with the standard library's ``html.parser`` into a light tree, closing the
   elements HTML lets authors leave open (``<li>``, ``<p>``, ``<td>``, ``<dt>`` ...). While parsing
   it drops, with their content, what is not main text: scripts, styles, comments, ``<nav>``,
   ``<footer>``, forms and their controls, images, frames, hidden elements (``hidden``,
   ``aria-hidden``, ``display:none``) and containers whose role, class or id names navigation
   (``menu``, ``toc``, ``sidebar``, ``breadcrumb`` ...). The ``<title>`` is kept;
2. renders the tree to blocks of text: headings as ``#``, paragraphs as one line each (runs of
   whitespace collapsed, so a sentence keeps its words and single spaces), ``<br>`` as a line
   break, list items as ``- `` / ``1. ``, definition terms on their own line, ``<pre>`` verbatim in
   a fence, data tables as rows of cells joined by `` | `` (layout tables, whose cells hold blocks,
   as the blocks), links as their text, with the target only when it is an absolute URL that the
   text does not already say. Entities are decoded; ``&nbsp;`` becomes a space that is not
   collapsed, so pydoc's indented docstrings keep their shape;
3. when the text is still long (more than ``RATIO`` of the page's characters, and more than
   ``MIN_BUDGET``), condenses it chapter by chapter (a chapter: the highest heading level used twice).
   The outline (title, headings, definition terms) stays; each section keeps its lead, its first
   blocks up to ``LEAD`` characters (so the first sentences under every heading survive verbatim),
   and each definition its first sentence; with a question, the sections whose headings hold its
   rarer words come next, then other blocks that hold them; what budget is left goes to every
   chapter in proportion to what it still lacks, block by block in order. A gap is shown as ``…``
   where it is, and a chapter that lost blocks ends with one marker naming the original lines
   (1-based) that they came from, so ``headroom retrieve ID --lines A-B`` gives that HTML back;
4. ends with one marker saying what markup was dropped (scripts, styles, navigation, link
   targets ...), so the raw page is always retrievable by its ID.

The title is shown as the page writes it when it holds an entity (``&#8212;`` in Sphinx titles),
since text quoted from the page's head keeps it. Parsing dominates the cost: ``html.parser`` takes
about 10 ms per 100 KB of tag-dense HTML here, and building the tree and rendering about as much
again; condensing is linear in the blocks.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from html.parser import HTMLParser
from urllib.parse import unquote

from headroom_cli.engines import register
from headroom_cli.engines.base import Context, EngineTimeout, hint_score, Part, past, part_terms, Result
from headroom_cli.markers import omission_marker

MIN_CHARS = 200  # a shorter part is left alone
RATIO = 0.28  # the text kept, as a share of the page's characters, when the text is longer than that
MIN_BUDGET = 4_000  # characters of text always allowed before condensing
LEAD = 320  # characters of each section's first blocks always kept
QUERY_SHARE = 0.75  # the most of the budget left after the leads that the question's words may take
RARE_SHARE = 1 / 6  # a question word in more of the blocks than this says nothing about where to look
TERM_LEADS = (160, 100, 60)  # characters of each definition's first block always kept (about a sentence),
# the next one tried while the leads alone would overrun the budget
SMALL_GAP = 160  # a section whose omitted blocks add up to fewer characters keeps them: a marker costs as much
MAX_DEPTH = 150  # deeper nesting is flattened (malformed pages), which bounds the renderer's recursion
NAV_ITEMS = 8  # a list of at least this many items that are nothing but links is navigation ...
NAV_SHARE = 0.3  # ... when such lists are at most this share of the page's text
CHECK_EVERY = 2048  # parser events between deadline checks

_VOID = frozenset("area base br col embed hr img input keygen link meta param source track wbr".split())
# elements dropped with their content, and what the final marker calls them (<math> stays: it is text)
_DROP = {
    "script": "script elements", "noscript": "script elements", "template": "script elements",
    "style": "style elements", "nav": "navigation blocks", "footer": "page footers", "dialog": "dialog boxes",
    "form": "form controls", "button": "form controls", "select": "form controls", "textarea": "form controls",
    "datalist": "form controls", "svg": "image elements", "canvas": "image elements", "picture": "image elements",
    "video": "media elements", "audio": "media elements", "iframe": "embedded frames", "frameset": "embedded frames",
    "object": "embedded frames",
}
_DROP_VOID = {"img": "image elements", "input": "form controls", "embed": "embedded frames", "area": "image elements"}
_DROP_ROLES = frozenset(("navigation", "search", "menu", "menubar", "toolbar", "contentinfo", "tablist"))
# class or id words that mark a container as navigation or page furniture
_BOILER_WORDS = frozenset((
    "nav", "navbar", "navigation", "sidenav", "topnav", "menu", "mainmenu", "submenu", "menubar", "toc",
    "sidebar", "breadcrumb", "breadcrumbs", "footer", "skip", "skiplink", "cookie", "cookies", "consent",
    "search", "searchbox", "searchmenu", "share", "social", "toolbar", "pagination", "pager", "related",
    "masthead", "topbar", "sphinxsidebar", "popup", "modal", "overlay",
))
_BOILER_CONTAINERS = frozenset(("div", "ul", "ol", "aside", "header", "table", "span", "p", "details"))
_CONTENT_WORDS = frozenset(("section", "document", "admonition", "note", "footnote", "footnotes"))
_NOTE_WORDS = ("note", "admonition", "callout", "warning", "tip", "doc-")  # an <aside> that is content
_NO_ATTRS: dict[str, str | None] = {}
_NO_TEXT = frozenset(("#root", "head", "table", "thead", "tbody", "tfoot", "tr", "ul", "ol", "dl",
                      "menu", "dir", "colgroup", "select"))
_WORD_SPLIT = re.compile(r"[^a-z0-9]+")
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden")

_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_LISTS = frozenset(("ul", "ol", "menu", "dir"))
# elements that end the paragraph before them (and after them)
_BLOCK = frozenset((
    "address", "article", "aside", "blockquote", "body", "caption", "center", "dd", "details", "div", "dl",
    "dt", "fieldset", "figcaption", "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hgroup",
    "hr", "html", "legend", "li", "main", "menu", "dir", "ol", "p", "pre", "section", "summary", "table",
    "tbody", "td", "tfoot", "th", "thead", "tr", "ul", "listing", "xmp", "plaintext",
))
_TABLE_BLOCKS = frozenset(("table", "ul", "ol", "dl", "pre", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6",
                           "section", "article", "menu", "dir", "hr", "li", "dt", "dd", "listing", "xmp"))
# which open elements a start tag closes (HTML's optional end tags), and where the search stops
_CLOSES = {
    "li": (frozenset(("li",)), frozenset(("ul", "ol", "menu", "dir", "table"))),
    "dt": (frozenset(("dt", "dd")), frozenset(("dl", "table"))),
    "dd": (frozenset(("dt", "dd")), frozenset(("dl", "table"))),
    "tr": (frozenset(("tr", "td", "th")), frozenset(("table", "thead", "tbody", "tfoot"))),
    "td": (frozenset(("td", "th")), frozenset(("tr", "table"))),
    "th": (frozenset(("td", "th")), frozenset(("tr", "table"))),
    "thead": (frozenset(("thead", "tbody", "tfoot", "tr", "td", "th")), frozenset(("table",))),
    "tbody": (frozenset(("thead", "tbody", "tfoot", "tr", "td", "th")), frozenset(("table",))),
    "tfoot": (frozenset(("thead", "tbody", "tfoot", "tr", "td", "th")), frozenset(("table",))),
    "option": (frozenset(("option",)), frozenset(("select", "datalist"))),
}
_P_CLOSERS = frozenset((
    "address", "article", "aside", "blockquote", "center", "details", "dialog", "dir", "div", "dl", "fieldset",
    "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hgroup", "hr",
    "main", "menu", "nav", "ol", "p", "pre", "section", "table", "ul", "li", "dd", "dt", "listing", "xmp",
))
_P_SCOPE = frozenset(("table", "td", "th", "caption", "button", "object", "template", "html"))
_NOT_RENDERED = frozenset(("head", "title", "meta", "link", "base"))
_LINK_LIST_PUNCT = " \t\n\r\u00a0|\u00b7\u2022\u00bb\u203a,;:-\u2013\u2014()[]/"
_PERMALINK_TEXT = frozenset(("", "\u00b6", "#", "\u00a7", "\U0001f517", "\u2693", "link"))
_ABSOLUTE = re.compile(r"(?i)(?:https?|ftp)://\S+$|mailto:\S+$")

# whitespace inside running text: a run with a line break, or of two or more blanks, is one space
_WS = re.compile(r"[ \t\r\f]*\n[ \t\r\n\f]*|[ \t\r\f]{2,}|[\r\f]")
_WS_NL = re.compile(r"[ \t\r\f]*\n[ \t\r\n\f]*")  # the same in two steps, the first marking line breaks
_WS_SP = re.compile(r"[ \t\r\f]{2,}|[\r\f]")
_NL = "\x01"  # a line break of the source inside a paragraph (shown as a space)
_NL_RE = re.compile(_NL)
_STRIP = " \t\n" + _NL
_BR = "\x00"  # a <br> inside the paragraph being collected
_BLANKS = re.compile(r"\n{3,}")
_SENTENCE_END = re.compile(r"[.!?:;][)\"']?( )(?=\S)")

# detect(): an HTML document's opening, and tags
_DOC_START = re.compile(r"\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<!doctype\s+html|\s*(?:<\?xml[^>]*>\s*)?<html[\s>]",
                        re.I | re.S)
_TAG = re.compile(r"</?(?:html|head|body|title|meta|link|div|span|p|a|h[1-6]|table|tr|td|th|ul|ol|li|dl|dt|dd|br"
                  r"|pre|code|em|strong|b|i|img|section|article|nav|header|footer|script|style|form|input)\b[^<>]*>",
                  re.I)
_NOT_HTML_START = re.compile(r"diff --git |--- \S|\+\+\+ \S|@@ -\d|\S+:\d+[:\-]|\{|\[")
_COMPONENT = re.compile(r"<(?:template|script|style)\b")  # a Vue or Svelte component: code, not a page
_RAW_TITLE = re.compile(r"<title[^>]*>([^<]*)</title", re.I)
_HTML_PATH = re.compile(r"(?i)\.(?:x?html?|xht)\b")
_HINTS_MINE = frozenset(("html", "htm", "xhtml"))


def _is_furniture(names: str) -> bool:
    """Whether a container's "class#id" names page furniture: a class word such as ``menu`` or
    ``sidebar``, or an id that is one or starts with one (``toc``, ``toc_sub``). Ids made from
    headings (``<div class="section" id="search">``) are content: the class says so."""
    classes, _, ident = names.partition("#")
    words = _WORD_SPLIT.split(classes)
    if any(word in _CONTENT_WORDS for word in words):
        return False
    if any(word in _BOILER_WORDS for word in words):
        return True
    return bool(ident) and _WORD_SPLIT.split(ident)[0] in _BOILER_WORDS


class _Node:
    __slots__ = ("tag", "attrs", "kids", "line")

    def __init__(self, tag: str, attrs: dict[str, str | None], line: int):
        self.tag = tag
        self.attrs = attrs
        self.kids: list[_Node | tuple[str, int]] = []
        self.line = line


class _Builder(HTMLParser):
    """Builds the tree of what may be main text; counts what it drops."""

    def __init__(self, deadline: float):
        super().__init__(convert_charrefs=True)
        self.root = _Node("#root", {}, 1)
        self.stack = [self.root]
        self.dropped: Counter[str] = Counter()
        self.title: list[str] = []
        self.in_title = False
        self.skip_tag: str | None = None
        self.skip_depth = 0
        self.deadline = deadline
        self._names: dict[str, bool] = {}  # class and id strings seen, and whether they name page furniture
        self.tags = 0

    # --- what to drop

    def _drop_reason(self, tag: str, attrs: dict[str, str | None]) -> str | None:
        if tag in _DROP:
            return _DROP[tag]
        if "hidden" in attrs:
            return "hidden elements"
        flag = attrs.get("aria-hidden")
        if flag and flag.lower() == "true":
            return "hidden elements"
        style = attrs.get("style")
        if style and _HIDDEN_STYLE.search(style.lower()):
            return "hidden elements"
        role = (attrs.get("role") or "").lower()
        if role in _DROP_ROLES:
            return "navigation blocks"
        if tag in _BOILER_CONTAINERS:
            names = f"{attrs.get('class') or ''}#{attrs.get('id') or ''}".lower()
            boiler = self._names.get(names)
            if boiler is None:
                boiler = self._names[names] = _is_furniture(names)
            if boiler:
                return "navigation blocks"
            if tag == "aside" and not any(w in names or w in role for w in _NOTE_WORDS):
                return "navigation blocks"
        return None

    # --- parser callbacks

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags += 1
        if self.tags % CHECK_EVERY == 0 and past(self.deadline):
            raise EngineTimeout()
        if self.skip_tag is not None:
            if tag == self.skip_tag:
                self.skip_depth += 1
            return
        if tag in _VOID:
            if tag == "br" or tag == "hr":
                self.stack[-1].kids.append(_Node(tag, _NO_ATTRS, self.lineno))
            elif tag == "input" and attrs and ("type", "checkbox") in attrs:  # a task list's box
                self.stack[-1].kids.append(("[x] " if any(k == "checked" for k, _ in attrs) else "[ ] ",
                                            self.lineno))
            elif tag in _DROP_VOID:
                self.dropped[_DROP_VOID[tag]] += 1
            return
        amap = dict(attrs) if attrs else _NO_ATTRS
        if tag in _DROP or amap:
            reason = self._drop_reason(tag, amap)
            if reason:
                self.dropped[reason] += 1
                self.skip_tag, self.skip_depth = tag, 1
                return
        elif tag == "aside":
            self.dropped["navigation blocks"] += 1
            self.skip_tag, self.skip_depth = tag, 1
            return
        if tag == "title":
            self.in_title = True
        if tag in _CLOSES or tag in _P_CLOSERS:
            self._close_implied(tag)
        node = _Node(tag, amap, self.lineno)
        self.stack[-1].kids.append(node)
        if len(self.stack) < MAX_DEPTH:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _VOID or self.skip_tag is not None:
            self.handle_starttag(tag, attrs)
        else:  # <div/>, <a/>: an empty element
            self.tags += 1

    def _close_implied(self, tag: str) -> None:
        stack = self.stack
        rule = _CLOSES.get(tag)
        if rule:
            closes, stops = rule
            for i in range(len(stack) - 1, 0, -1):
                name = stack[i].tag
                if name in closes:
                    del stack[i:]
                    break
                if name in stops:
                    break
        if tag in _P_CLOSERS:
            for i in range(len(stack) - 1, 0, -1):
                name = stack[i].tag
                if name == "p":
                    del stack[i:]
                    break
                if name in _P_SCOPE or name in _LISTS or name == "dl":
                    break

    def handle_endtag(self, tag: str) -> None:
        if self.skip_tag is not None:
            if tag == self.skip_tag:
                self.skip_depth -= 1
                if self.skip_depth == 0:
                    self.skip_tag = None
            elif tag in ("body", "html"):  # a dropped element left open: it ends with the page
                self.skip_tag = None
            return
        if tag == "title":
            self.in_title = False
        if tag == "br":  # </br> is read as <br>
            self.stack[-1].kids.append(_Node("br", {}, self.lineno))
            return
        stack = self.stack
        for i in range(len(stack) - 1, 0, -1):
            if stack[i].tag == tag:
                del stack[i:]
                return

    def handle_data(self, data: str) -> None:
        if self.skip_tag is not None:
            return
        if self.in_title:
            self.title.append(data)
            return
        top = self.stack[-1]
        if top.tag in _NO_TEXT and data.isspace():
            return  # the blanks between a table's rows or a list's items
        top.kids.append((data, self.lineno))

    def handle_comment(self, data: str) -> None:
        if self.skip_tag is None:
            self.dropped["HTML comments"] += 1


class _Block:
    __slots__ = ("kind", "text", "a", "b", "chapter", "unit", "pos", "keep", "term", "cut", "nav", "breaks")

    def __init__(self, kind: str, text: str, a: int, b: int, chapter: int, unit: int, pos: int):
        self.kind = kind  # title heading term row para item pre
        self.text = text
        self.a, self.b = a, b  # the original lines it came from
        self.chapter, self.unit, self.pos = chapter, unit, pos
        self.keep = False
        self.term = False  # in a definition (dd after a dt) rather than under a heading
        self.cut: int | None = None  # when only the first characters are kept
        self.breaks: list[int] | None = None  # where the source broke its lines, in text
        self.nav = False  # in a long list of nothing but links: navigation, unless the page is mostly that


_STRUCTURE = frozenset(("title", "heading", "term"))
_KIND_LABEL = {"para": "text paragraphs", "item": "list items", "pre": "code blocks", "row": "table rows",
               "term": "definition terms", "heading": "section headings"}


class _Renderer:
    """Walks the tree into blocks of text, each with the original lines it came from."""

    def __init__(self, deadline: float):
        self.blocks: list[_Block] = []
        self.buf: list[str] = []
        self.lines: list[int] = []  # original lines of the text in buf
        self.kind = "para"
        self.indent = ""
        self.bullet: str | None = None  # the prefix of a list item's first line, until it is written
        self.in_item = 0
        self.chapter_level = 2
        self.in_term = False
        self.in_nav = 0
        self.nav_lists = 0
        self.chapter = 0
        self.unit = self.units = 0  # the current section or definition; how many there have been
        self.pos = 0
        self.deadline = deadline
        self.count = 0
        self.links = 0

    # --- output

    def flush(self) -> None:
        if not self.buf:
            return
        raw = "".join(self.buf)
        lines = self.lines or [0]
        a, b = min(lines), max(lines)
        self.buf, self.lines = [], []
        text = _WS_SP.sub(" ", _WS_NL.sub(_NL, raw))  # the source's line breaks stay marked, for cuts
        out = []
        for line in text.split(_BR):
            line = line.strip(_STRIP).replace("\u00a0", " ").rstrip()
            if line or (out and out[-1]):
                out.append(line)
        while out and not out[-1]:
            out.pop()
        if not out:
            return
        kind = self.kind
        if kind == "heading" or kind == "term":
            out = [" ".join(part.strip() for part in out if part.strip()).replace(_NL, " ")]
        self._emit(kind, out, a, b)

    def _emit(self, kind: str, out: list[str], a: int, b: int, verbatim: bool = False) -> None:
        if self.bullet is not None:
            first, rest = self.bullet, self.indent
            self.bullet = None
        else:
            first = rest = self.indent
        if first or rest:
            if verbatim:
                out = [first + out[0]] + out[1:]
            else:
                out = [first + out[0]] + [(rest + line) if line else line for line in out[1:]]
        if kind == "para" and self.in_item:
            kind = "item"
        text = "\n".join(out)
        breaks = None
        if _NL in text:
            breaks = [match.start() for match in _NL_RE.finditer(text)]
            text = text.replace(_NL, " ")
        block = _Block(kind, text, a, b, self.chapter, self.unit, self.pos)
        block.breaks = breaks
        block.term = self.in_term
        block.nav = self.in_nav > 0
        self.blocks.append(block)
        self.pos += 1

    def _new_unit(self, term: bool = False) -> None:
        self.units += 1
        self.unit = self.units
        self.pos = 0
        self.in_term = term

    # --- walking

    def walk(self, node: _Node) -> None:
        for kid in node.kids:
            if type(kid) is tuple:
                data = kid[0]
                if not self.buf and data.isspace():
                    continue  # blanks before any text: nothing to keep
                self.buf.append(data)
                self.lines.append(kid[1])
                nl = data.count("\n")
                if nl:
                    self.lines.append(kid[1] + nl)
            else:
                self.element(kid)

    def element(self, node: _Node) -> None:
        self.count += 1
        if self.count % CHECK_EVERY == 0 and past(self.deadline):
            raise EngineTimeout()
        tag = node.tag
        if tag in _NOT_RENDERED:
            return
        if tag == "br":
            self.buf.append(_BR)
            self.lines.append(node.line)
            return
        if tag == "a":
            self.link(node)
            return
        if tag not in _BLOCK:
            self.walk(node)
            return
        self.flush()
        if tag in _HEADINGS:
            level = _HEADINGS[tag]
            if level <= self.chapter_level:
                self.chapter += 1
            self._new_unit()
            saved = self.kind, self.indent, self.bullet
            self.kind, self.indent, self.bullet = "heading", "", "#" * level + " "
            self.walk(node)
            self.flush()
            self.kind, self.indent, self.bullet = saved
            return
        if tag == "pre" or tag in ("listing", "xmp", "plaintext"):
            self.pre(node)
            return
        if tag == "table":
            self.table(node)
            return
        if tag in _LISTS:
            nav = not self.in_nav and _link_list(node) >= NAV_ITEMS
            self.in_nav += nav
            self.nav_lists += nav
            saved = self.indent
            if self.in_item:
                self.indent += "  "
            number = 0
            start = node.attrs.get("start") or ""
            if tag == "ol" and start.isdigit():
                number = int(start) - 1
            for kid in node.kids:
                if type(kid) is not tuple and kid.tag == "li":
                    number += 1
                    self.item(kid, f"{number}. " if tag == "ol" else "- ")
                elif type(kid) is tuple:
                    if kid[0].strip():
                        self.buf.append(kid[0])
                        self.lines.append(kid[1])
                else:
                    self.element(kid)
            self.flush()
            self.indent = saved
            self.in_nav -= nav
            return
        if tag == "dl":  # what follows the list belongs to the section again
            saved_unit = self.unit, self.pos, self.in_term
            self.walk(node)
            self.flush()
            self.unit, self.pos, self.in_term = saved_unit
            return
        if tag == "li":  # outside a list
            self.item(node, "- ")
            return
        if tag == "dt":
            self._new_unit(term=True)
            saved = self.kind
            self.kind = "term"
            self.walk(node)
            self.flush()
            self.kind = saved
            return
        self.walk(node)
        self.flush()

    def item(self, node: _Node, bullet: str) -> None:
        self.flush()
        saved = self.indent, self.bullet
        self.bullet = self.indent + bullet
        self.indent = self.indent + " " * len(bullet)
        self.in_item += 1
        self.walk(node)
        self.flush()
        self.in_item -= 1
        self.indent, self.bullet = saved

    def _inline_text(self, node: _Node) -> tuple[str, list[int]]:
        """The text of an element as it would sit in a line, with its original lines."""
        saved, saved_lines = self.buf, self.lines
        self.buf, self.lines = [], []
        self.walk(node)
        text, lines = "".join(self.buf), self.lines
        self.buf, self.lines = saved, saved_lines
        return text, lines

    def link(self, node: _Node) -> None:
        href = (node.attrs.get("href") or "").strip()
        text, lines = self._inline_text(node)
        plain = _WS.sub(" ", text).replace(_BR, " ").strip()
        if href.startswith("#") and (plain in _PERMALINK_TEXT or plain.lower().startswith("skip to")):
            return  # a permalink or anchor icon, a "skip to content" link
        self.buf.append(text)
        self.lines.extend(lines)
        if href and _ABSOLUTE.match(href) and plain:
            bare = unquote(href.split(":", 1)[1]).lstrip("/").rstrip("/")
            if bare not in plain and href not in plain:
                self.buf[-1] = f"[{text}]({href})"
        elif href and not href.startswith("#") and plain:
            self.links += 1

    def pre(self, node: _Node) -> None:
        parts: list[str] = []
        lines: list[int] = [node.line]
        self._raw(node, parts, lines)
        text = "".join(parts).replace("\u00a0", " ").replace("\r\n", "\n")
        if text.startswith("\n"):
            text = text[1:]
        body = [line.rstrip() for line in text.split("\n")]
        while body and not body[-1]:
            body.pop()
        while body and not body[0]:
            body.pop(0)
        if not body:
            return
        self._emit("pre", ["```"] + body + ["```"], min(lines), max(lines), verbatim=True)

    def _raw(self, node: _Node, parts: list[str], lines: list[int]) -> None:
        for kid in node.kids:
            if type(kid) is tuple:
                parts.append(kid[0])
                lines.append(kid[1] + kid[0].count("\n"))
            elif kid.tag == "br":
                parts.append("\n")
            elif kid.tag not in _NOT_RENDERED:
                self._raw(kid, parts, lines)

    def table(self, node: _Node) -> None:
        if _has_blocks(node):  # a layout table: its cells hold lists, code, other tables: blocks of their own
            self.walk(node)
            self.flush()
            return
        for row in _rows(node):
            if row.tag == "caption":
                self.walk(row)
                self.flush()
                continue
            cells: list[str] = []
            lines: list[int] = [row.line]
            for cell in row.kids:
                if type(cell) is tuple or cell.tag not in ("td", "th"):
                    continue
                parts: list[str] = []
                _cell_text(cell, parts, lines)
                cells.append(_WS.sub(" ", "".join(parts)).replace("\u00a0", " ").strip(" \t\n"))
            while cells and not cells[-1]:
                cells.pop()
            if any(cells):
                self._emit("row", [" | ".join(cells)], min(lines), max(lines))


def _cell_text(node: _Node, parts: list[str], lines: list[int]) -> None:
    """A table cell's text on one line: its paragraphs and line breaks become spaces."""
    for kid in node.kids:
        if type(kid) is tuple:
            parts.append(kid[0])
            lines.append(kid[1] + kid[0].count("\n"))
        elif kid.tag == "br":
            parts.append(" ")
        elif kid.tag in _BLOCK:
            parts.append(" ")
            _cell_text(kid, parts, lines)
            parts.append(" ")
        elif kid.tag not in _NOT_RENDERED:
            _cell_text(kid, parts, lines)


def _link_list(node: _Node) -> int:
    """How many items a list has when each is nothing but links (nested lists counted in); 0 when
    some item has text of its own."""
    items = 0
    for kid in node.kids:
        if type(kid) is tuple:
            if kid[0].strip():
                return 0
            continue
        if kid.tag != "li":
            return 0
        items += 1
        links = 0
        stack = [kid]
        while stack:
            for sub in stack.pop().kids:
                if type(sub) is tuple:
                    if sub[0].strip(_LINK_LIST_PUNCT):
                        return 0
                elif sub.tag == "a":
                    links += 1
                elif sub.tag in _LISTS:
                    nested = _link_list(sub)
                    if not nested:
                        return 0
                    items += nested
                    links += 1
                else:
                    stack.append(sub)
        if not links:
            return 0
    return items


def _has_blocks(node: _Node) -> bool:
    for kid in node.kids:
        if type(kid) is tuple:
            continue
        if kid.tag in _TABLE_BLOCKS or _has_blocks(kid):
            return True
    return False


def _rows(table: _Node) -> list[_Node]:
    rows = []
    for kid in table.kids:
        if type(kid) is tuple:
            continue
        if kid.tag in ("tr", "caption"):
            rows.append(kid)
        elif kid.tag in ("thead", "tbody", "tfoot"):
            rows.extend(k for k in kid.kids if type(k) is not tuple and k.tag == "tr")
    return rows


def _chapter_level(root: _Node) -> int:
    """The heading level that divides the page into chapters: the highest one used twice or more."""
    counts: Counter[int] = Counter()
    stack = [root]
    seen = 0
    while stack and seen < 20_000:
        node = stack.pop()
        seen += 1
        for kid in node.kids:
            if type(kid) is not tuple:
                if kid.tag in _HEADINGS:
                    counts[_HEADINGS[kid.tag]] += 1
                else:
                    stack.append(kid)
    for level in range(1, 7):
        if counts[level] >= 2:
            return level
    return 2


def convert(text: str, deadline: float) -> tuple[str, list[_Block], Counter[str], int]:
    """The page's title, its blocks, what was dropped (by kind) and how many tags it had."""
    builder = _Builder(deadline)
    if "&nbsp;" in text:  # the commonest entity, decoded up front: the parser's own decoding is slow
        text = text.replace("&nbsp;", "\u00a0")
    builder.feed(text)
    builder.close()
    renderer = _Renderer(deadline)
    renderer.chapter_level = _chapter_level(builder.root)
    renderer.walk(builder.root)
    renderer.flush()
    title = _WS.sub(" ", "".join(builder.title)).replace("\u00a0", " ").strip()
    dropped = builder.dropped
    blocks = renderer.blocks
    if renderer.nav_lists:  # long lists of links are navigation, on a page that has text besides them
        nav = sum(len(block.text) for block in blocks if block.nav)
        if nav <= NAV_SHARE * sum(len(block.text) for block in blocks):
            blocks = [block for block in blocks if not block.nav]
            dropped["navigation blocks"] += renderer.nav_lists
    if renderer.links:
        dropped["link targets"] += renderer.links
    return title, blocks, dropped, builder.tags


def _cut_point(text: str, limit: int, breaks: list[int] | None = None) -> int | None:
    """Where to cut a long block so that about ``limit`` characters stay: a paragraph or line break,
    else the end of the source line that reaches ``limit`` (so the lines kept are whole), else a
    sentence end, else a word boundary. None when the block is short enough to keep whole."""
    if len(text) <= limit + limit // 2:
        return None
    if breaks:
        for position in breaks:
            if position >= limit:
                if position <= 2 * limit and position < len(text) - 20:
                    return position
                break
    if "\n" in text:  # a block of lines (a docstring, code): whole lines
        cut = text.rfind("\n", 0, limit + 1)
        if cut <= 0:
            cut = text.find("\n")
        para = text.find("\n\n", 0, cut)
        return para if para >= 30 else cut
    best = None
    for match in _SENTENCE_END.finditer(text, min(40, limit // 2), limit + limit // 2):
        best = match.end(1)
        if best >= limit:
            break
    if best is None:
        best = text.rfind(" ", 0, limit)
        if best <= 0:
            return None
    return best


def _condense(blocks: list[_Block], budget: int, terms: tuple[str, ...]) -> None:
    """Mark what to keep: outline, leads, the question's rarer words, then an even share."""
    for term_lead in TERM_LEADS:  # definitions' leads shrink when there are too many of them
        used = _leads(blocks, term_lead)
        if used <= budget:
            break
    if terms:  # blocks with the question's words that are not everywhere: up to QUERY_SHARE of what is left
        used = _query_fill(blocks, terms, used, used + int(QUERY_SHARE * max(budget - used, 0)))
    # an even share: each chapter keeps the same part of what it has left, its sections' and
    # definitions' next blocks in turn (a definition's count double, so sections go deeper)
    left: dict[int, int] = {}
    for block in blocks:
        if not block.keep or block.cut is not None:
            left[block.chapter] = left.get(block.chapter, 0) + _cost(block)
    total_left = sum(left.values())
    if total_left and used < budget:
        share = (budget - used) / total_left
        allowance = {chapter: int(size * share) for chapter, size in left.items()}
        order = sorted((block.chapter, block.pos * (2 if block.term else 1), i) for i, block in enumerate(blocks)
                       if not block.keep or block.cut is not None)
        for chapter, _, i in order:
            cost = _cost(blocks[i])
            if cost <= allowance[chapter] and used + cost <= budget:
                allowance[chapter] -= cost
                used = _take(blocks[i], used, budget)
    omitted: dict[int, int] = {}
    for block in blocks:
        if not block.keep or block.cut is not None:
            lost = len(block.text) - (block.cut or 0) if block.keep else len(block.text)
            omitted[block.chapter] = omitted.get(block.chapter, 0) + lost
    for block in blocks:  # a small gap costs less than its marker would
        if omitted.get(block.chapter, SMALL_GAP) < SMALL_GAP:
            block.keep, block.cut = True, None


def _leads(blocks: list[_Block], term_lead: int) -> int:
    """Keep the outline, each section's lead and each definition's first sentence; what that costs."""
    used = 0
    lead: dict[int, int] = {}
    for block in blocks:
        block.keep, block.cut = False, None
        if block.kind in _STRUCTURE:
            block.keep = True
            used += len(block.text)
            continue
        have = lead.get(block.unit, -1)
        if block.term:
            if have >= 0:
                continue
            limit = term_lead
        elif have >= LEAD:
            continue
        else:
            limit = max(LEAD - max(have, 0), LEAD // 2)
        block.keep = True
        cut = _cut_point(block.text, limit, block.breaks) if block.kind != "row" else None
        if cut is not None:
            block.cut = cut
        kept = block.cut if block.cut is not None else len(block.text)
        lead[block.unit] = max(have, 0) + kept
        used += kept
    return used


def _query_fill(blocks: list[_Block], terms: tuple[str, ...], used: int, budget: int) -> int:
    """Keep what the question asks about while the budget lasts: first the sections whose heading
    has its rarer words (in order, most relevant first), then other blocks that have them."""
    lowered = [block.text.lower() for block in blocks]
    n = len(blocks)
    weights = {}
    for term in terms:
        df = sum(1 for low in lowered if term in low)
        if 0 < df <= n * RARE_SHARE:
            weights[term] = math.log(n / df)
    if not weights:
        return used
    unit_score: dict[int, float] = {}
    chapter_score: dict[int, float] = {}
    for i, block in enumerate(blocks):
        if block.kind in _STRUCTURE and block.unit not in unit_score:
            score = sum(w for t, w in weights.items() if t in lowered[i])
            unit_score[block.unit] = score
            if block.kind == "heading" and block.chapter not in chapter_score:
                chapter_score[block.chapter] = score
    sections, others = [], []
    for i, block in enumerate(blocks):
        if block.keep and block.cut is None:
            continue
        section = unit_score.get(block.unit, 0.0) + chapter_score.get(block.chapter, 0.0) / 2
        if section:
            sections.append((-section, i))
        else:
            own = sum(w for t, w in weights.items() if t in lowered[i])
            if own:
                others.append((-own, i))
    for _, i in sorted(sections) + sorted(others):
        used = _take(blocks[i], used, budget)
    return used


def _cost(block: _Block) -> int:
    """Characters that keeping the whole block adds."""
    return len(block.text) - (block.cut if block.keep and block.cut is not None else 0)


def _take(block: _Block, used: int, budget: int) -> int:
    """Keep the whole block if the budget allows; the new amount used."""
    cost = _cost(block)
    if used + cost <= budget:
        block.keep, block.cut = True, None
        return used + cost
    return used


def _section_marker(part_id: str, count: int, first: int, last: int, lost: Counter[str]) -> str:
    """An omission marker for a section's blocks, naming the original lines they came from."""
    return omission_marker(part_id, count, "block of this section" if count == 1 else "blocks of this section",
                           lost, (first, last))


def _cut_text(block: _Block) -> str:
    text = block.text[: block.cut].rstrip()
    if block.kind == "pre":
        return f"{text}\n\u2026\n```"
    return f"{text} \u2026"


def _render(title: str, shown_title: str, blocks: list[_Block], part_id: str) -> tuple[list[str], int]:
    out: list[str] = []
    if title and not (blocks and blocks[0].kind == "heading" and title in blocks[0].text):
        out.append(f"# {shown_title}")
    omitted = 0
    i, n = 0, len(blocks)
    while i < n:
        chapter = blocks[i].chapter
        j = i
        while j < n and blocks[j].chapter == chapter:
            j += 1
        gap = False
        lost: Counter[str] = Counter()
        a = b = 0
        for block in blocks[i:j]:
            if not block.keep or block.cut is not None:
                label = _KIND_LABEL.get(block.kind, "blocks")
                lost[label if not block.keep else f"{label[:-1]} ends"] += 1
                a = min(a, block.a) if a else block.a
                b = max(b, block.b)
            if not block.keep:
                if not gap:
                    out.append("\u2026")
                    gap = True
                continue
            gap = False
            text = block.text if block.cut is None else _cut_text(block)
            if block.kind == "pre" and out and out[-1] == "```":  # code blocks one after another: one fence
                out.pop()
                text = text[4:]
            out.append(text)
        if lost:
            count = sum(lost.values())
            omitted += count
            out.append(_section_marker(part_id, count, a, b, lost))
        i = j
    return out, omitted


class HtmlEngine:
    name = "html"

    def detect(self, part: Part) -> float:
        hinted = hint_score(part, _HINTS_MINE)
        if hinted is not None:
            return hinted
        head = part.text[:20_000].lstrip("\ufeff")
        if head.startswith("HTTP/"):  # curl -i: the response's headers, then the page
            end = head.find("\n\n") if "\r\n\r\n" not in head else head.find("\r\n\r\n")
            head = head[end:] if end > 0 else head
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

    def compress(self, part: Part, ctx: Context) -> Result | None:
        text = part.text
        if len(text) < MIN_CHARS or "<" not in text:
            return None
        if past(ctx.deadline):
            raise EngineTimeout()
        try:
            title, blocks, dropped, tags = convert(text, ctx.deadline)
        except EngineTimeout:
            raise
        except Exception:  # malformed beyond what the parser recovers: leave the part alone
            return None
        if not blocks and not title:
            return None
        size = sum(len(block.text) for block in blocks)
        budget = max(MIN_BUDGET, int(RATIO * len(text)))
        condensed = size > budget
        if condensed:
            _condense(blocks, budget, part_terms(part))
        else:
            for block in blocks:
                block.keep = True
        raw = _RAW_TITLE.search(text, 0, 100_000)
        shown_title = title
        if raw and "&" in raw.group(1) and "\n" not in raw.group(1).strip():
            shown_title = raw.group(1).strip()  # as the page has it: text quoted from the page may carry the entity
        out, omitted_blocks = _render(title, shown_title, blocks, ctx.part_id)
        dropped_total = sum(dropped.values())
        if dropped_total:
            out.append(omission_marker(ctx.part_id, dropped_total, "markup items", dropped))
        else:
            out.append(omission_marker(ctx.part_id, tags, "markup items", {"HTML tags": tags}))
            dropped_total = tags
        result = _BLANKS.sub("\n\n", "\n".join(out)).strip("\n") + "\n"
        if len(result) >= len(text):
            return None
        return Result(result, self.name, omitted=dropped_total + omitted_blocks)


register(HtmlEngine())
