"""A page's main content, as trafilatura finds it, with what was dropped on the way counted.

trafilatura (https://trafilatura.readthedocs.io) decides what is main content and what is boilerplate
(navigation, cookie banners, share bars, related links, footers); it is maintained against thousands
of real pages, which a rule list of our own could not be. Before it runs, a regular-expression pass
blanks what is never text (scripts, JSON-LD, styles, SVG, comments), keeping every line break so that
lxml's line numbers still name the original's lines; that pass also saves trafilatura from parsing
what it would throw away.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from dataclasses import dataclass, field
from html import unescape

import lxml.html
import trafilatura
from lxml import etree
from trafilatura.htmlprocessing import convert_tags, tree_cleaning
from trafilatura.settings import Extractor

from headroom_cli.engines.html.render import PERMALINK

# trafilatura reports pages it discards at WARNING with bits of their content: a proxy must not log that.
logging.getLogger("trafilatura").setLevel(logging.CRITICAL)
logging.getLogger("htmldate").setLevel(logging.CRITICAL)

# never text: the element with its content, and what the final marker calls it
_NEVER_TEXT = re.compile(r"<(script|style|noscript|template|svg|math-field)\b[^>]*>.*?</\1\s*>|<!--.*?-->", re.I | re.S)
_UNCLOSED = re.compile(r"<(script|style)\b[^>]*>.*\Z", re.I | re.S)  # a script never closed runs to the end
_NAMES = {"script": "script elements", "noscript": "script elements", "template": "script elements",
          "style": "style elements", "svg": "image elements", "math-field": "script elements"}
_TAGS = re.compile(r"<[a-zA-Z/!][^<>]*>")
_XML_DECLARATION = re.compile(r"\A[\s\ufeff]*<\?xml[^>]*>")  # anchored: a search would try every position
_DOCUMENT = re.compile(r"<(?:html|body)[\s>]", re.I)
_TITLE = re.compile(r"<title[^>]*>([^<]*)</title", re.I)
_SPACES = re.compile(r"\s+")
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_FURNITURE = ("nav", "header", "footer", "aside", "form", "button", "select", "iframe", "img", "picture", "video")

BASELINE_BLOCKS = 3  # a page with more blocks than this that comes back as one block lost its structure
DOCUMENT_LINK_SHARE = 0.1  # a page with more of its words in links than this has link lists to judge
_ARTICLE_META = ("og:", "twitter:", "article:")  # Open Graph, Twitter card and article metadata
# ARIA landmarks: furniture (and the main part) marked up by role instead of by element
_LANDMARKS = frozenset(("navigation", "banner", "contentinfo", "complementary", "search", "main", "article"))
_ROLES = etree.XPath("//*[@role]/@role")
_HIDDEN = etree.XPath("//*[@hidden or @aria-hidden='true' or contains(translate(@style, ' ', ''), 'display:none')]")
COVERED = 0.9  # an extraction with this share of the page's visible text needs no second look
ALL_TEXT = 0.95  # a recall extraction with this share of it kept all the page had to say


@dataclass
class Page:
    title: str  # the <title>, whitespace collapsed
    shown_title: str  # as the page writes it when it holds an entity (text quoted from the head keeps it)
    body: etree._Element | None  # trafilatura's main content: head, p, list, table, code, quote ...
    all_content: bool  # nothing on the page was furniture (documentation), not an article cut out of one
    headings: list[tuple[int, int, str]] = field(default_factory=list)  # (line, level, text) of the page's headings
    dropped: Counter[str] = field(default_factory=Counter)


def blank_never_text(html: str, dropped: Counter[str]) -> str:
    """The page with scripts, styles, SVG and comments replaced by their line breaks alone."""
    def blank(match: re.Match[str]) -> str:
        name = match.group(1)
        dropped[_NAMES[name.lower()] if name else "HTML comments"] += 1
        return "\n" * match.group(0).count("\n")

    html = _NEVER_TEXT.sub(blank, html)
    return _UNCLOSED.sub(blank, html)


def _title(tree: etree._Element, html: str) -> tuple[str, str]:
    node = tree.find(".//title")
    title = _SPACES.sub(" ", node.text_content()).strip() if node is not None else ""
    raw = _TITLE.search(html, 0, 200_000)
    shown = title
    if raw and "&" in raw.group(1) and "\n" not in raw.group(1).strip():
        shown = raw.group(1).strip()
        if _SPACES.sub(" ", unescape(shown)) != title:
            shown = title
    return title, shown


def _headings(tree: etree._Element) -> list[tuple[int, int, str]]:
    found = []
    for node in tree.iter(_HEADINGS):
        text = _SPACES.sub(" ", node.text_content()).strip().rstrip(PERMALINK)
        if text and node.sourceline:
            found.append((node.sourceline, int(node.tag[1]), text))
    return found


def parse(html: str) -> etree._Element | None:
    """The page as an lxml tree (bytes in: lxml refuses a str that declares its encoding)."""
    html = _XML_DECLARATION.sub(lambda m: "\n" * m.group(0).count("\n"), html, count=1)  # lines kept
    data = html.encode("utf-8", "replace")
    parser = lxml.html.HTMLParser(encoding="utf-8", remove_comments=True, remove_pis=True, huge_tree=True)
    return lxml.html.document_fromstring(data, parser=parser)


def _trafilatura(tree: etree._Element, focus: str) -> tuple[etree._Element | None, int]:
    """trafilatura's extraction as its XML tree and its text's length: fast mode (no second extractor
    to compare with), no comments section, tables, links and inline formatting kept, no metadata
    (dates cost time). ``focus``: "precision", "balanced" or "recall"."""
    document = trafilatura.bare_extraction(
        tree, output_format="xml", fast=True, favor_recall=focus == "recall", favor_precision=focus == "precision",
        include_comments=False, include_tables=True, include_links=True, include_formatting=True,
        include_images=False, with_metadata=False, deduplicate=False)
    body = getattr(document, "body", None)
    if body is None or not len(body):
        return None, 0
    return body, len(" ".join(body.itertext()))


def document(tree: etree._Element) -> etree._Element | None:
    """A documentation page's content: the whole page less what a browser does not show."""
    for node in _HIDDEN(tree):
        node.drop_tree()  # its tail is text of the parent's, kept
    return whole_page(tree)


def whole_page(tree: etree._Element) -> etree._Element | None:
    """All of the page's text in trafilatura's vocabulary: its cleaning (navigation, footers, asides,
    forms out) and tag conversion, without its choice of main content. trafilatura exports no
    function for this, so two of its modules' functions are used; the version range is pinned, and
    should they change, the engine leaves the page alone (compress() catches every error)."""
    options = Extractor(output_format="xml", fast=True, tables=True, links=True, formatting=True, comments=False)
    converted = convert_tags(tree_cleaning(tree, options), options)  # in place: the tree is not used after
    return converted.find(".//body")


def main_content(tree: etree._Element, fragment: bool, furnished: bool) -> tuple[etree._Element | None, bool]:
    """The page's main content, and whether the page is all content (nothing on it was furniture:
    documentation, a report, a man page) rather than an article cut out of its page:
    - a fragment (a README rendered by an API): the whole page;
    - a documentation page (is_document): the whole page, without asking trafilatura;
    - otherwise trafilatura's precision mode (its balanced mode where that finds nothing), except
      where it cannot judge: a page where it finds nothing, or falls back to one block of all the
      text (a man page, whose structure it could not score): the whole page, structure kept;
    - a page where the precision mode leaves out much of the text and that marks up no furniture
      (``furnished``: no nav, aside or footer element): the recall mode's extraction when that keeps
      nearly all of it, as such a page has no furniture to drop (a reference page whose lists of
      functions the other modes take for link lists). A furnished page (most news pages) is not
      asked twice: what the precision mode left out is its furniture."""
    visible = len(" ".join(tree.text_content().split()))  # whitespace runs as one space (split: fastest)
    if fragment:
        return whole_page(tree), True
    if is_document(tree, visible):
        return document(tree), True
    blocks = _blocks(tree)  # counted before trafilatura prunes the tree
    # precision first: on news pages it leaves out the teasers, bylines and link blocks that the
    # balanced mode keeps (news pages' F1 0.925 to 0.947); balanced where it finds nothing
    body, size = _trafilatura(tree, "precision")
    if body is None:
        body, size = _trafilatura(tree, "balanced")
    if body is None or _flattened(body, size, visible, blocks):
        return whole_page(tree), True
    if size >= COVERED * visible:
        return body, True
    if furnished:
        return body, False
    wide, wide_size = _trafilatura(tree, "recall")
    if wide is None or wide_size < ALL_TEXT * visible:
        return body, False
    return (whole_page(tree), True) if _flattened(wide, wide_size, visible, blocks) else (wide, True)


def _flattened(body: etree._Element, size: int, visible: int, blocks: int) -> bool:
    """Whether trafilatura fell back to one block of all the text of a page that has structure."""
    return len(body) == 1 and size >= COVERED * visible and blocks > BASELINE_BLOCKS


def is_document(tree: etree._Element, visible: int) -> bool:
    """A page trafilatura has nothing to judge on: no sign of an article page (Open Graph, Twitter card
    or article metadata, an <article> or <main> element: news and blog pages have them to be shared),
    no furniture marked up (nav, aside, footer elements, or ARIA landmark roles) and few of its words
    in links (no link lists to tell from content). Such a page (generated documentation, a man page,
    a report) is all content; asking trafilatura costs the most on it (it is long, with no article
    container to narrow the search) and changes nothing."""
    if next(tree.iter("article", "main", "nav", "aside", "footer"), None) is not None:
        return False
    if any(token in _LANDMARKS for role in _ROLES(tree) for token in role.lower().split()):
        return False
    for meta in tree.iter("meta"):
        if (meta.get("property") or meta.get("name") or "").lower().startswith(_ARTICLE_META):
            return False
    linked = sum(len(a.text_content().strip()) for a in tree.iter("a") if a.get("href") is not None)
    return linked <= DOCUMENT_LINK_SHARE * visible


def _blocks(tree: etree._Element) -> int:
    return sum(1 for _ in tree.iter("p", "li", "dt", "dd", "tr", "pre", *_HEADINGS))


def extract(html: str) -> Page:
    dropped: Counter[str] = Counter()
    cleaned = blank_never_text(html, dropped)
    tree = parse(cleaned)
    title, shown = _title(tree, html)
    headings = _headings(tree)
    furniture = sum(1 for _ in tree.iter(_FURNITURE))
    furnished = next(tree.iter("nav", "aside", "footer"), None) is not None
    tags = len(_TAGS.findall(cleaned))
    body, all_content = main_content(tree, not _DOCUMENT.search(html, 0, 20_000), furnished)
    if furniture:
        dropped["page furniture elements"] += furniture
    dropped["other HTML tags"] += max(tags - furniture, 0)
    return Page(title, shown, body, all_content, headings, dropped)
