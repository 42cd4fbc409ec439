"""trafilatura's main-content tree as compact markdown blocks, the words verbatim.

trafilatura's own markdown escapes ``*``, ``_`` and ``[`` so that a renderer reads them as text; a
model reads the words, and a signature such as ``(func, *dicts, **kwargs)`` must stay greppable, so
the text is written as it is. Headings are ``#``, list items ``- ``/``1. `` (nested ones indented),
table rows cells joined by `` | ``, code fenced. Links are their text; in list items and table cells
an absolute target the text does not already say is kept as ``[text](url)``. Inline emphasis is
dropped: it costs tokens and says little to a model.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from lxml import etree

_WS = re.compile(r"[ \t\r\f]*\n[ \t\r\n\f]*|[ \t\r\f]{2,}|[\r\f]")  # a run with a line break, or 2+ blanks
_ODD_BLANKS = re.compile(r"[\t\v\x1c-\x1f]")  # ASCII blanks that str.split() treats unlike _WS
_ABSOLUTE = re.compile(r"(?i)(?:https?|ftp)://\S+$|mailto:\S+$")
PERMALINK = "\u00b6#\u00a7\U0001f517\u2693 "  # heading permalinks Sphinx and others append
_BLANKS = re.compile(r"\n{3,}")
_LB = "\x00"  # a <br> inside running text, a line break once whitespace is collapsed


@dataclass
class Block:
    kind: str  # heading, para, item, term (a definition list's: an API signature, an option), row, code, quote
    text: str
    line: int | None  # the original's line the block starts on, where lxml knew it
    level: int = 0  # a heading's level
    chapter: int = 0  # the index of the section under the page's highest repeated heading level
    unit: int = 0  # the index of the section under any heading
    keep: bool = True
    cut: int | None = None  # kept only up to this character


def line_of(node: etree._Element) -> int | None:
    for sub in node.iter():
        if sub.sourceline:
            return sub.sourceline
    return None


def inline(node: etree._Element, links: Counter[str], verbatim: bool = False, skip: tuple[str, ...] = (),
           targets: bool = False) -> str:
    """The element's text with its inline children (those tagged ``skip`` left out, their tails kept);
    with ``targets``, links written as markdown where the absolute target says more than the text
    (in list items and table cells, where a link is often the item; in prose it costs more than it
    tells, and the marker counts it). ``links`` counts targets kept and dropped."""
    parts = [node.text or ""]
    for kid in node:
        if kid.tag in skip:
            pass
        elif kid.tag == "lb":
            parts.append("\n" if verbatim else _LB)
        elif kid.tag == "ref":
            parts.append(_link(kid, links, verbatim, targets))
        elif kid.tag not in ("graphic",):
            parts.append(inline(kid, links, verbatim, targets=targets))
        parts.append(kid.tail or "")
    return "".join(parts)


def _link(node: etree._Element, links: Counter[str], verbatim: bool, targets: bool) -> str:
    text = inline(node, links, verbatim)
    target = (node.get("target") or "").strip()
    label = text.strip()
    if target.startswith("#") and label.strip(PERMALINK) == "":  # a heading's permalink
        return ""
    if not target or target in label:
        return text
    if not targets or verbatim or not label or not _ABSOLUTE.match(target):
        links["link targets"] += 1
        return text
    return text.replace(label, f"[{label}]({target})", 1)


def flow(text: str) -> str:
    """Running text: whitespace runs as one space, <br> as a line break. (str.split() where it does
    the same as the regular expression, and neither where nothing would change: a page has thousands
    of runs.)"""
    if not text or text.isspace():
        return ""
    if text.isascii() and not _ODD_BLANKS.search(text):  # blanks are " \n\r\f" only: split() does the same
        text = " ".join(text.split())
    elif "\n" in text or "  " in text or "\t" in text or "\r" in text or "\f" in text:
        text = _WS.sub(" ", text)
    text = text.replace(_LB, "\n").strip()
    if "\n" in text:
        text = text.replace(" \n", "\n").replace("\n ", "\n")
    if "\u00a0" in text:  # pydoc indents with &nbsp;: kept as spaces, which a code sample needs
        text = "\n".join(line.rstrip() for line in text.replace("\u00a0", " ").split("\n"))
    return _BLANKS.sub("\n\n", text) if "\n\n\n" in text else text


class Links(Counter[str]):
    """The link targets left out (a Counter, for the final marker), and whether list items and table
    cells may keep theirs: on a page that is all content (an index, a report) a list of links is
    content; in an article cut out of its page it is further reading (related stories), whose
    addresses would cost more than the words around them."""

    def __init__(self, keep_targets: bool) -> None:
        super().__init__()
        self.keep_targets = keep_targets


def render(body: etree._Element, keep_targets: bool = True) -> tuple[list[Block], Counter[str]]:
    """The blocks of the main content, and how many link targets were left out."""
    blocks: list[Block] = []
    links = Links(keep_targets)
    _mixed(body, blocks, links, 0, "para")  # loose text between blocks is a whole page's, too
    return [b for b in blocks if b.text.strip()], links


_BLOCKS = ("list", "table", "head", "quote", "p",
           # containers, found only in a whole page (trafilatura's extraction has none)
           "div", "section", "article", "main", "body", "center", "blockquote", "figure", "details", "header")


def _is_block(node: etree._Element) -> bool:
    """A child that is a block of its own: a list, table, heading, quote, paragraph, or code of several lines."""
    return node.tag in _BLOCKS or (node.tag == "code" and "\n" in "".join(node.itertext()).strip())


def _block(node: etree._Element, out: list[Block], links: Links, depth: int) -> None:
    tag, line = node.tag, line_of(node)
    if tag == "head":
        rend = node.get("rend") or ""
        level = int(rend[1]) if len(rend) == 2 and rend[0] == "h" and rend[1] in "123456" else 2
        text = flow(inline(node, links)).rstrip(PERMALINK)
        out.append(Block("heading", "#" * level + " " + text, line, level))
    elif tag == "list":
        _list(node, out, links, depth)
    elif tag == "table":
        _table(node, out, links)
    elif tag == "code" or (tag == "quote" and "\n" in "".join(node.itertext()).strip()):
        code = inline(node, links, verbatim=True).strip("\n")
        out.append(Block("code", f"```\n{code}\n```", line))
    elif tag == "quote":
        out.append(Block("quote", "> " + flow(inline(node, links)), line))
    else:  # p, cells of layout tables, and whatever else trafilatura may put at the top
        _mixed(node, out, links, depth, "para")


def _mixed(node: etree._Element, out: list[Block], links: Links, depth: int, kind: str) -> None:
    """An element whose text may be broken by blocks (a layout table's cell, a paragraph holding a
    list, a whole page's body): the runs of text between them as paragraphs, the blocks as blocks."""
    run = [node.text or ""]
    for kid in node:
        if _is_block(kid):
            _flush(run, node, out, kind)
            _block(kid, out, links, depth)
            run = []
        elif kid.tag == "lb":
            run.append(_LB)
        else:
            run.append(inline(kid, links))
        run.append(kid.tail or "")
    _flush(run, node, out, kind)


def _flush(run: list[str], node: etree._Element, out: list[Block], kind: str) -> None:
    text = flow("".join(run))
    if text:
        out.append(Block(kind, text, line_of(node)))


def _table(node: etree._Element, out: list[Block], links: Links) -> None:
    """Data rows as cells joined by `` | ``; a layout table (cells that hold blocks) as its blocks."""
    for row in node.iter("row", "tr"):
        if next(row.iterancestors("table"), None) is not node:  # a nested table's: rendered with its cell
            continue
        cells = [cell for cell in row if cell.tag in ("cell", "td", "th")]
        if any(_is_block(kid) for cell in cells for kid in cell):
            for cell in cells:
                _mixed(cell, out, links, 0, "para")
            continue
        texts = [flow(inline(cell, links, targets=links.keep_targets)).replace("\n", " ") for cell in cells]
        while texts and not texts[-1]:
            texts.pop()
        if any(texts):
            out.append(Block("row", " | ".join(texts), line_of(row)))


def _list(node: etree._Element, out: list[Block], links: Links, depth: int) -> None:
    ordered = (node.get("rend") or "").lower() == "ol"
    start = node.get("start") or "1"
    number = int(start) - 1 if start.isdigit() else 0
    for item in node:
        if item.tag != "item":
            continue
        number += 1
        rend = item.get("rend") or ""
        bullet = "" if rend.startswith(("dt", "dd")) else f"{number}. " if ordered else "- "
        sublists = [kid for kid in item if kid.tag == "list"]  # rendered after the item's own words
        own = flow(inline(item, links, skip=("list",), targets=links.keep_targets))
        if own:
            kind = "para" if rend.startswith("dd") else "term" if rend.startswith("dt") else "item"
            out.append(Block(kind, "  " * depth + bullet + own, line_of(item)))
        for sub in sublists:
            _list(sub, out, links, depth + 1)


def restore_headings(blocks: list[Block], headings: list[tuple[int, int, str]]) -> list[Block]:
    """The page's headings put back between the blocks they stood between, when trafilatura kept
    none (it drops numbered headings such as SQLite's ``<h1><span>1. </span>Overview</h1>``): a
    documentation page's outline is what a reader navigates by. Only headings inside the extracted
    run are restored, so a sidebar's or a footer's headings stay out."""
    if any(b.kind == "heading" for b in blocks):
        return blocks
    known = [b.line for b in blocks if b.line]
    if not known:
        return blocks
    first, last = min(known), max(known)
    inner = [(line, level, text) for line, level, text in headings if first < line < last]
    if not inner:
        return blocks
    out: list[Block] = []
    pending = iter(sorted(inner))
    head = next(pending, None)
    for block in blocks:
        while head is not None and block.line and block.line > head[0]:
            out.append(Block("heading", "#" * head[1] + " " + head[2], head[0], head[1]))
            head = next(pending, None)
        out.append(block)
    return out
