"""The HTML engine: a page's main content as compact markdown, boilerplate and markup gone.

HTML that an agent reads (documentation pages, pydoc and AsciiDoc output, coverage reports, news
and blog pages fetched with curl) is mostly markup, scripts and page furniture. The engine:

1. blanks what is never text (scripts and JSON-LD, styles, SVG, comments) and parses the page with
   lxml (extract.py);
2. asks trafilatura for the main content: it tells the article from navigation, cookie banners,
   share bars and related links (extract.py; README says why trafilatura); a documentation page,
   with nothing for it to judge (no article metadata, no marked-up furniture, few links), is taken
   whole without asking it;
3. writes that content as markdown blocks, words verbatim (render.py), the page's title first;
4. when the text is still long (a documentation page is mostly text), condenses it chapter by
   chapter, keeping the outline, each section's lead and what the question asks about, and names
   the original lines every left-out chapter part came from (condense.py, output.py);
5. ends with one marker saying what markup was dropped, so the raw page is retrievable by its ID.

Any failure of the library leaves the part alone; the output is never longer than the page.
"""

from __future__ import annotations

from collections import Counter

from headroom_cli.engines import register
from headroom_cli.engines.base import Context, EngineTimeout, part_terms, past, Part, Result
from headroom_cli.engines.html import condense, lines, output, render
from headroom_cli.engines.html.detect import detect, http_head_end
from headroom_cli.engines.html.extract import extract
from headroom_cli.markers import omission_marker, original_lines

MIN_CHARS = 200  # a shorter part is left alone


def convert(html: str) -> tuple[str, str, list[render.Block], Counter[str], bool]:
    """The page's title (plain, and as shown), its main-content blocks in order, the markup dropped
    (by kind), and whether the page is all content (documentation) rather than an article."""
    page = extract(html)
    if page.body is None:
        return page.title, page.shown_title, [], page.dropped, page.all_content
    blocks, links = render.render(page.body, keep_targets=page.all_content)
    lines.place(blocks, html)
    if page.all_content:  # in an article cut out of its page, headings trafilatura dropped stay dropped
        blocks = render.restore_headings(blocks, page.headings)
    return page.title, page.shown_title, blocks, page.dropped + links, page.all_content


class HtmlEngine:
    name = "html"

    def detect(self, part: Part) -> float:
        return detect(part)

    def compress(self, part: Part, ctx: Context) -> Result | None:
        text = part.text
        if len(text) < MIN_CHARS or "<" not in text:
            return None
        if past(ctx.deadline):
            raise EngineTimeout()
        head = http_head_end(text)
        try:
            title, shown, blocks, dropped, all_content = convert(text[head:] if head else text)
        except Exception:  # the library or the parser failed on this page: leave the part alone
            return None
        if past(ctx.deadline):
            raise EngineTimeout()
        if not blocks:
            return None
        render_sections(blocks, len(text), all_content, part_terms(part))
        return self._result(part, ctx, head, title, shown, blocks, dropped)

    def _result(self, part: Part, ctx: Context, head: int, title: str, shown: str, blocks: list[render.Block],
                dropped: Counter[str]) -> Result | None:
        text = part.text
        n_lines = len(original_lines(text))
        shift = text.count("\n", 0, head)  # lxml counted lines from the page's start, after curl's headers
        for block in blocks:
            block.line = block.line + shift if block.line else None
        lines = [text[: text.find("\n")].rstrip("\r")] if head else []
        lines += output.title_lines(title, shown, blocks)
        body, omitted = output.body_lines(blocks, ctx.part_id, n_lines)
        total = sum(dropped.values()) or 1
        # no breakdown: on a short article the marker's words would outweigh the saving they describe
        marker = omission_marker(ctx.part_id, total, "markup items")
        result = "\n".join(lines + body + [marker]) + "\n"
        if len(result) >= len(text):
            return None
        return Result(result, self.name, omitted=total + omitted)


def render_sections(blocks: list[render.Block], page_chars: int, all_content: bool, terms: tuple[str, ...]) -> None:
    """Number the sections and, when the text is long for the page, choose what stays."""
    condense.sections(blocks)
    budget = condense.budget_for(blocks, page_chars, all_content)
    if budget is not None:
        condense.condense(blocks, budget, terms)


register(HtmlEngine())
