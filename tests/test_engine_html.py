"""The HTML engine: main content survives verbatim as markdown, boilerplate goes, the original stays retrievable."""

from __future__ import annotations

import gzip
import importlib
import pydoc
import random
import re
import shlex
import sys
from collections import Counter
from pathlib import Path

import pytest

from headroom_cli import engines
from headroom_cli.engines import html as html_engine
from headroom_cli.engines.base import Context, deadline_after, EngineTimeout, Part, Result
from headroom_cli.engines.html import HtmlEngine
from headroom_cli.markers import MARKER_RE, ccr_id
from headroom_cli.pipeline import Pipeline
from headroom_cli.tokens import count_tokens

ENGINE = HtmlEngine()
TARGET_SAVING = 0.80  # aggregate over the corpus's html samples, cl100k
NEWS = Path(__file__).parent / "data" / "html" / "news"


# --------------------------------------------------------------------------- helpers


def compress(text: str, **part_kw) -> tuple[Result | None, str]:
    part_id = ccr_id(text)
    result = ENGINE.compress(Part(text, **part_kw), Context(part_id=part_id, deadline=deadline_after(60)))
    return result, part_id


def anchor_sentence(html: str, start: int, min_len: int = 50) -> str | None:
    """The first plain line of text after a position: one source line, no entity, no double space
    (how needles are taken from HTML)."""
    for match in re.finditer(r">([^<>]+)<", html[start:]):
        for line in match.group(1).splitlines():
            line = line.strip()
            if len(line) >= min_len and "&" not in line and "  " not in line:
                return line
    return None


def heading_sentences(html: str) -> list[str]:
    """The anchor sentence of every heading with an id: what a reader of each section sees first."""
    found = []
    for match in re.finditer(r"<(?:h[1-6]|section)[^>]*\bid=\"[^\"]+\"", html):
        sentence = anchor_sentence(html, match.start())
        if sentence and sentence not in found:
            found.append(sentence)
    return found


def marker_ranges(text: str, part_id: str) -> list[tuple[int, int]]:
    ranges = []
    for match in MARKER_RE.finditer(text):
        assert match["id"] == part_id, match.group(0)
        if match["a"]:
            ranges.append((int(match["a"]), int(match["b"])))
    return ranges


def recoverable(needle: str, original: str, output: str, part_id: str) -> bool:
    """In the original lines a marker names (headroom retrieve ID --lines A-B gives them back)."""
    lines = original.split("\n")
    for a, b in marker_ranges(output, part_id):
        if needle in " ".join(line.strip() for line in lines[a - 1 : b]):
            return True
    return False


def check(text: str, needles: list[str] = (), **part_kw) -> Result:
    """What every compression must be: shorter, deterministic, lossy with one final marker naming the
    part, every marker well formed and inside the original, every needle verbatim."""
    result, part_id = compress(text, **part_kw)
    assert result is not None, "expected the engine to compress this"
    out = result.text
    assert len(out) < len(text)
    assert result.kind == "html"
    assert result.omitted > 0, "converting HTML drops markup: the original must be stored"
    last = out.rstrip("\n").split("\n")[-1]
    final = MARKER_RE.fullmatch(last)
    assert final and final["id"] == part_id and not final["a"], f"no final marker: {last!r}"
    n_lines = text.count("\n") + 1
    for a, b in marker_ranges(out, part_id):
        assert 1 <= a <= b <= n_lines
    for line in out.split("\n"):  # a marker is a line of its own
        if "[headroom:" in line:
            assert MARKER_RE.fullmatch(line), line
    missing = [n for n in needles if n not in out]
    assert not missing, f"needles lost: {missing}\n---\n{out}"
    again, _ = compress(text, **part_kw)
    assert again is not None and again.text == out and again.omitted == result.omitted, "not deterministic"
    return result


# --------------------------------------------------------------------------- the corpus


def _html_entries(needles: list[dict]) -> list[dict]:
    entries = [e for e in needles if e["kind"] == "html"]
    assert len(entries) >= 4
    return entries


def test_registered():
    engine = engines.get("html")
    assert engine is not None and engine.name == "html"


@pytest.mark.parametrize("with_query", [True, False])
def test_corpus_samples_keep_needles_and_save_tokens(corpus_dir, needles, with_query):
    before = after = 0
    report = []
    for entry in _html_entries(needles):
        text = (corpus_dir / entry["file"]).read_text()
        assert ENGINE.detect(Part(text)) >= 0.8, entry["file"]
        query = entry["query"] if with_query else None
        result = check(text, entry["needles"], query=query)
        b, a = count_tokens(text), count_tokens(result.text)
        before, after = before + b, after + a
        report.append(f"{entry['file']:40s} {b:6d} -> {a:5d} ({1 - a / b:.1%})")
    saved = 1 - after / before
    assert saved >= TARGET_SAVING, "\n".join(report) + f"\naggregate {saved:.1%}"


def test_corpus_other_kinds_are_not_mine(corpus_dir, needles):
    for entry in needles:
        if entry["kind"] == "html":
            continue
        text = (corpus_dir / entry["file"]).read_text()
        assert ENGINE.detect(Part(text)) <= 0.1, entry["file"]


def test_corpus_left_out_blocks_lie_in_marked_lines(corpus_dir, needles):
    """Every block of the main content that a condensed page leaves out lies in the lines a marker
    names, so ``headroom retrieve ID --lines A-B`` gives it back."""
    for entry in _html_entries(needles):
        text = (corpus_dir / entry["file"]).read_text()
        result, part_id = compress(text)
        ranges = marker_ranges(result.text, part_id)
        _, _, blocks, _, _ = html_engine.convert(text)
        for block, line in zip(blocks, placed_lines(blocks)):
            if block.text not in result.text:
                assert any(a <= line <= b for a, b in ranges), (entry["file"], block.text[:60])


def placed_lines(blocks) -> list[int]:
    """Each block's line, or where lxml did not know it, the line of the nearest block before it."""
    lines, last = [], 1
    for block in blocks:
        last = block.line or last
        lines.append(last)
    return lines


def test_corpus_pipeline_routes_html_here(corpus_dir, needles):
    pipeline = Pipeline()
    for entry in _html_entries(needles):
        text = (corpus_dir / entry["file"]).read_text()
        outcome = pipeline.run(Part(text))
        assert outcome.engine == "html" and outcome.kind == "html", entry["file"]
        assert outcome.part_id == ccr_id(text), "lossy output: the original must be stored"
        assert all(n in outcome.text for n in entry["needles"])


# --------------------------------------------------------------------------- synthetic pages

_WORDS = ("the buffer keeps each record until the writer flushes it to disk and a reader may see older "
          "pages while a checkpoint copies frames back into the main file so that later readers start "
          "from a consistent snapshot of every table index and journal segment").split()


_TOPICS = ("checkpointing", "compaction", "replication", "snapshots", "vacuuming", "locking", "recovery",
           "encryption", "compression", "indexing", "partitioning", "statistics", "tracing", "quotas", "backups",
           "migrations", "sharding", "caching", "prefetching", "throttling", "auditing", "retention", "mirroring",
           "failover", "sampling", "batching", "journaling", "hashing", "paging", "scheduling")


def _sentence(rng: random.Random, n: int = 14) -> str:
    words = [rng.choice(_WORDS) for _ in range(n)]
    return words[0].capitalize() + " " + " ".join(words[1:]) + "."


def _paragraph(rng: random.Random, sentences: int = 4) -> str:
    """A paragraph as generators write it: wrapped across source lines."""
    text = " ".join(_sentence(rng) for _ in range(sentences))
    lines, line = [], ""
    for word in text.split():
        if len(line) + len(word) > 72:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    lines.append(line)
    return "\n".join(lines)


def sphinx_page(sections: int = 12, seed: int = 1) -> str:
    rng = random.Random(seed)
    body = []
    for i in range(sections):
        body.append(f'<section id="part-{i}">\n<h2>Part {i}: {_TOPICS[i % len(_TOPICS)]}<a class="headerlink" '
                    f'href="#part-{i}" title="Link to this heading">\u00b6</a></h2>')
        for _ in range(rng.randint(3, 6)):
            body.append(f"<p>{_paragraph(rng)}</p>")
        body.append('<div class="highlight-python notranslate"><div class="highlight"><pre><span></span>'
                    f'<span class="n">result</span> <span class="o">=</span> <span class="n">merge</span>'
                    f'<span class="p">(</span><span class="n">a{i}</span><span class="p">,</span> '
                    f'<span class="n">b</span><span class="p">)</span>\n<span class="k">assert</span> '
                    f'<span class="n">result</span> <span class="o">==</span> <span class="mi">{i}</span>\n</pre>'
                    "</div></div>")
        body.append(f'<dl class="py function">\n<dt class="sig sig-object py" id="mod.func{i}">\n'
                    f'<span class="sig-prename descclassname"><span class="pre">mod.</span></span>'
                    f'<span class="sig-name descname"><span class="pre">func{i}</span></span>'
                    f'<span class="sig-paren">(</span><em class="sig-param"><span class="n">key</span></em>, '
                    f'<em class="sig-param"><span class="o">*</span><span class="n">rest</span></em>'
                    f'<span class="sig-paren">)</span><a class="headerlink" href="#mod.func{i}">\u00b6</a></dt>\n'
                    f"<dd><p>{_paragraph(rng, 2)}</p>\n<p>{_paragraph(rng, 3)}</p></dd></dl>")
        body.append("</section>")
    return f"""<!DOCTYPE html>
<html lang="en" data-content_root="./">
  <head>
    <meta charset="utf-8" /><meta name="viewport" content="width=device-width, initial-scale=1.0" />
    <title>Storage engine guide &#8212; Example 2.1 documentation</title>
    <link rel="stylesheet" type="text/css" href="_static/pygments.css?v=d1102ebc" />
    <script src="_static/documentation_options.js?v=2709fde1"></script>
    <script>window.MathJax = {{"options": {{"processHtmlClass": "tex2jax_process"}}}}</script>
  </head><body>
    <div class="related" role="navigation" aria-label="Related">
      <h3>Navigation</h3>
      <ul><li class="right"><a href="genindex.html" title="General Index" accesskey="I">index</a></li>
        <li class="nav-item nav-item-0"><a href="index.html">Example 2.1 documentation</a> &#187;</li></ul>
    </div>
    <div class="document"><div class="documentwrapper"><div class="bodywrapper">
    <div class="body" role="main">
<h1 id="storage-engine-guide">Storage engine guide<a class="headerlink" href="#storage-engine-guide">\u00b6</a></h1>
<p>This guide explains how the storage engine keeps pages consistent while readers and writers run.</p>
{chr(10).join(body)}
    </div></div></div></div>
    <div class="sphinxsidebar" role="navigation" aria-label="Main">
      <h3><a href="index.html">Table of Contents</a></h3>
      <div id="searchbox" style="display: none" role="search">
        <form class="search" action="search.html" method="get"><input type="text" name="q" />
        <input type="submit" value="Go" /></form>
      </div>
      <script>document.getElementById('searchbox').style.display = "block"</script>
    </div>
    <div class="footer">&#169;Copyright 2024, Example Authors. Created using Sphinx 7.2.6.</div>
  </body>
</html>
"""


def mkdocs_page(seed: int = 2) -> str:
    rng = random.Random(seed)
    rows = "\n".join(f"<tr><td><code>opt_{i}</code></td><td>{i * 7}</td><td>{_sentence(rng, 6)}</td></tr>"
                     for i in range(12))
    return f"""<!doctype html>
<html lang="en" class="no-js">
<head><meta charset="utf-8"><title>Configuration - Widget Server</title>
<style>:root{{--md-text-font:"Roboto"}} .md-header{{position:sticky}}</style></head>
<body dir="ltr">
<header class="md-header" data-md-component="header">
  <nav class="md-header__inner md-grid" aria-label="Header"><a href="." title="Widget Server">Widget Server</a>
  <label class="md-header__button md-icon" for="__search"></label></nav>
</header>
<div class="md-container"><main class="md-main"><div class="md-main__inner md-grid">
<div class="md-sidebar md-sidebar--primary" data-md-component="sidebar"><nav class="md-nav md-nav--primary">
<ul class="md-nav__list"><li class="md-nav__item"><a href="../" class="md-nav__link">Home</a></li>
<li class="md-nav__item"><a href="../install/" class="md-nav__link">Installation guide page</a></li></ul></nav></div>
<div class="md-content" data-md-component="content"><article class="md-content__inner md-typeset">
<h1 id="configuration">Configuration</h1>
<p>The server reads its settings from <code>widget.toml</code> in the working directory at startup.</p>
<div class="admonition warning"><p class="admonition-title">Warning</p>
<p>Settings marked as restart-only take effect after the next restart of every worker process.</p></div>
<h2 id="options">Options</h2>
<p>Every option below can also be given in the environment with a WIDGET_ prefix and upper case.</p>
<table><thead><tr><th>Name</th><th>Default</th><th>Meaning</th></tr></thead><tbody>
{rows}
</tbody></table>
<h2 id="example">Example</h2>
<p>A minimal file that enables compression and sets the listening port looks like this one:</p>
<pre><code>[server]
port = 8080   # the listening port
compress = true
</code></pre>
<p>See the <a href="https://example.org/widget/reference/">full reference</a> and the
<a href="../faq/">FAQ page</a> for more, or jump <a href="#options">back to the options</a>.</p>
</article></div></div></main>
<footer class="md-footer"><div class="md-copyright">Made with Material for MkDocs</div></footer></div>
<script id="__config" type="application/json">{{"base": "..", "features": []}}</script>
<script src="../assets/javascripts/bundle.js"></script>
</body></html>
"""


def man2html_page() -> str:
    """Old-style uppercase HTML with optional end tags left out, as man2html writes it."""
    return """<HTML><HEAD><TITLE>Manpage of FROB</TITLE>
</HEAD><BODY>
<H1>FROB</H1>
Section: User Commands (1)<BR>Updated: 2024-01-01<BR><A HREF="#index">Index</A>
<A HREF="/cgi-bin/man/man2html">Return to Main Contents</A><HR>
<A NAME="lbAB">&nbsp;</A>
<H2>NAME</H2>
frob - adjust the frobnication level of a running daemon
<A NAME="lbAC">&nbsp;</A>
<H2>SYNOPSIS</H2>
<B>frob</B> [<B>-v</B>] [<B>--level</B> <I>n</I>] <I>pid</I>
<A NAME="lbAD">&nbsp;</A>
<H2>DESCRIPTION</H2>
<P>
<B>frob</B> changes how often the daemon with the given process id re-reads its configuration file.
<DL COMPACT>
<DT><B>-v</B><DD>
Print each step of the adjustment on standard error as it happens.
<DT><B>--level</B> <I>n</I><DD>
Set the level to <I>n</I>; levels above nine are treated as nine.
</DL>
<A NAME="index">&nbsp;</A><H2>Index</H2>
<DL>
<DT><A HREF="#lbAB">NAME</A><DD>
<DT><A HREF="#lbAC">SYNOPSIS</A><DD>
</DL>
<HR>
This document was created by man2html, using the manual pages.<BR>
Time: 12:00:00 GMT, January 01, 2024
</BODY>
</HTML>
"""


def report_page(rows: int = 300, seed: int = 3) -> str:
    """A generated report: a big data table with a totals row, little prose."""
    rng = random.Random(seed)
    body, worst = [], ("", 101)
    for i in range(rows):
        covered = rng.randint(60, 100) if i != rows // 3 else 12
        name = f"pkg/module_{i:03d}.py"
        worst = min(worst, (name, covered), key=lambda item: item[1])
        body.append(f'<tr class="file"><td class="name left"><a href="d_{i:03d}.html">{name}</a></td>'
                    f'<td>{rng.randint(10, 500)}</td><td class="right" data-ratio="{covered} 100">{covered}%</td></tr>')
    return ("<!DOCTYPE html>\n<html><head><title>Test report</title>\n<script src='report.js'></script></head>\n"
            "<body><h1>Test report</h1>\n<table class=\"index\"><thead><tr><th>File</th><th>statements</th>"
            "<th>coverage</th></tr></thead>\n<tbody>\n" + "\n".join(body) + "\n</tbody>\n<tfoot><tr class=\"total\">"
            "<td>Total</td><td>41234</td><td class=\"right\">87%</td></tr></tfoot></table>\n</body></html>\n")


def readme_fragment() -> str:
    """A rendered README as an API returns it: no document, just the article's HTML."""
    return """<div class="markdown-body"><h1 id="user-content-quickcache">QuickCache</h1>
<p>QuickCache is a small in-process cache with per-key expiry and an optional disk tier for larger values.</p>
<h2 id="user-content-install">Install</h2>
<div class="highlight highlight-source-shell"><pre>pip install quickcache
quickcache --version</pre></div>
<h2 id="user-content-usage">Usage</h2>
<ul>
<li>Create a cache with <code>Cache(ttl=60)</code> and call <code>get</code> and <code>set</code> on it.</li>
<li>Values larger than the memory limit go to the disk tier when one is configured.
<ul><li>The disk tier lives under <code>~/.cache/quickcache</code> by default.</li></ul></li>
</ul>
<ol start="3"><li>Third step, numbered as the author asked.</li><li>Fourth step follows it.</li></ol>
<ul class="contains-task-list"><li class="task-list-item"><input type="checkbox" disabled checked> expiry</li>
<li class="task-list-item"><input type="checkbox" disabled> eviction statistics</li></ul>
<p>Released under the <a href="https://opensource.org/licenses/MIT" rel="nofollow">MIT license</a>.</p>
<!-- generated by the renderer -->
</div>
"""


@pytest.mark.parametrize("with_query", [True, False])
def test_sphinx_page(with_query):
    page = sphinx_page()
    assert ENGINE.detect(Part(page)) >= 0.9
    sentences = heading_sentences(page)
    assert len(sentences) >= 10
    query = "what does func7 return when locking?" if with_query else None
    result = check(page, sentences + ["Storage engine guide", "mod.func3(key, *rest)", "## Part 4: vacuuming"],
                   query=query)
    out = result.text
    for junk in ("Navigation", "General Index", "Table of Contents", "MathJax", "searchbox", "Copyright",
                 "\u00b6", "documentation_options"):
        assert junk not in out, junk
    assert "# Storage engine guide &#8212; Example 2.1 documentation\n" in out  # the title as the page has it
    assert re.search(r"```\nresult = merge\(a\d+, b\)\nassert result == \d+\n```", out)  # code fenced, verbatim
    assert count_tokens(out) < 0.4 * count_tokens(page)


def test_sphinx_page_query_keeps_the_section_asked_about():
    page = sphinx_page(sections=30, seed=5)
    wanted = sphinx_page_section_text(page, 21)
    plain, _ = compress(page)
    asked, _ = compress(page, query="How does retention work, and what are its frames?")
    assert not all(p in plain.text for p in wanted), "expected the section to be condensed without a query"
    assert all(p in asked.text for p in wanted), "the section the question names should be kept whole"


def sphinx_page_section_text(page: str, index: int) -> list[str]:
    section = page[page.index(f'<section id="part-{index}">') : page.index(f'<section id="part-{index + 1}">')]
    return [" ".join(p.split()) for p in re.findall(r"<p>(.*?)</p>", section, re.S)][:4]


def test_mkdocs_page():
    page = mkdocs_page()
    result = check(page, [
        "Configuration - Widget Server",
        "# Options",
        "The server reads its settings from widget.toml in the working directory at startup.",
        "Settings marked as restart-only take effect after the next restart of every worker process.",
        "Name | Default | Meaning",
        "opt_11 | 77 |",
        "port = 8080   # the listening port",
        "See the full reference and the FAQ page for more, or jump back to the options.",
    ])
    out = result.text
    for junk in ("Installation guide page", "Made with Material", "Roboto", "bundle.js", '"features"', "../faq/"):
        assert junk not in out, junk
    assert "example.org" not in out  # a link in running text is its words: the target costs more than it tells
    assert "```\n[server]" in out


def test_man2html_page_with_optional_end_tags():
    page = man2html_page()
    result = check(page, [
        "Manpage of FROB", "## NAME", "frob - adjust the frobnication level of a running daemon",
        "frob [-v] [--level n] pid", "Print each step of the adjustment on standard error as it happens.",
        "Set the level to n; levels above nine are treated as nine.",
    ])
    lines = result.text.split("\n")
    assert "-v" in lines and "--level n" in lines  # definition terms on their own lines


def test_report_table_keeps_every_row_and_the_total():
    page = report_page()
    result = check(page, ["pkg/module_100.py | ", "| 12%", "Total | 41234 | 87%", "File | statements | coverage"])
    rows = [line for line in result.text.split("\n") if line.startswith("pkg/module_")]
    assert len(rows) == 300
    assert count_tokens(result.text) < 0.3 * count_tokens(page)


def test_readme_fragment_without_a_document():
    page = readme_fragment()
    assert ENGINE.detect(Part(page)) >= 0.8
    result = check(page, [
        "# QuickCache", "## Install", "pip install quickcache\nquickcache --version",
        "- Create a cache with Cache(ttl=60) and call get and set on it.",
        "  - The disk tier lives under ~/.cache/quickcache by default.",
        "3. Third step, numbered as the author asked.", "4. Fourth step follows it.",
        "- expiry", "- eviction statistics", "Released under the MIT license.",
    ])
    assert "generated by the renderer" not in result.text


def test_pydoc_style_nbsp_keeps_indentation_and_signatures():
    doc = ('<dl><dt><a name="-merge_with"><strong>merge_with</strong></a>(func, *dicts, **kwargs)</dt>'
           '<dd><span class="code">Merge&nbsp;dictionaries<br>\n&nbsp;<br>\n'
           '&gt;&gt;&gt;&nbsp;d&nbsp;=&nbsp;{1:&nbsp;2,<br>\n'
           '...&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;3:&nbsp;4}</span></dd></dl>\n')
    page = f"<!DOCTYPE html>\n<html><head><title>Python: module m</title></head><body>{doc * 4}</body></html>"
    out = check(page, ["merge_with(func, *dicts, **kwargs)", "Python: module m"]).text
    assert "Merge dictionaries\n\n>>> d = {1: 2,\n...     3: 4}" in out


def test_whitespace_entities_and_inline_markup():
    page = ("<html><body><p>One   <b>bold</b>\n   word,\tthen <i>it</i>alics &amp; &lt;tags&gt; &#x27;quoted&#39;"
            " &mdash; done.</p><p>Line one<br>Line two</p><script>var hidden = 1;</script>"
            "<div hidden>secret one</div><div style='display: none'>secret two</div>"
            "<span aria-hidden='true'>secret three</span><p>Tail paragraph that carries the rest of it.</p>"
            "</body></html>")
    out = check(page * 3).text
    assert "One bold word,\tthen italics & <tags> 'quoted' \u2014 done.\nLine one\nLine two\n" in out
    assert "secret" not in out and "hidden = 1" not in out


def test_condensed_sections_name_the_lines_they_left_out():
    page = sphinx_page(sections=25, seed=9)
    result, part_id = compress(page)
    ranges = marker_ranges(result.text, part_id)
    assert len(ranges) >= 10, "a page this long is condensed section by section"
    assert "\u2026" in result.text
    _, _, blocks, _, _ = html_engine.convert(page)
    lost = [block for block in blocks if block.text not in result.text]
    assert lost
    lines = page.split("\n")
    where = dict(zip(map(id, blocks), placed_lines(blocks)))
    for block in lost:  # every left-out block comes from lines that a marker names
        span = next(((a, b) for a, b in ranges if a <= where[id(block)] <= b), None)
        assert span, block.text[:60]
        first_word = re.findall(r"\w+", block.text)[0]
        assert first_word in " ".join(lines[span[0] - 1 : span[1]]), block.text[:60]


def test_link_lists_are_navigation_unless_they_are_the_page():
    rng = random.Random(4)
    links = "".join(f'<li><a href="page{i}.html">Chapter number {i}</a></li>' for i in range(12))
    text = "".join(f"<p>{_paragraph(rng, 2)}</p>" for _ in range(6))
    page = f"<!DOCTYPE html><html><body><div id='gtoc'><ul>{links}</ul></div><h1 id='x'>Guide</h1>{text}</body></html>"
    out = check(page, [" ".join(_paragraph(random.Random(4), 2).split())[:60]]).text
    assert "Chapter number" not in out
    index = f"<!DOCTYPE html><html><body><h1>All chapters</h1><ul>{links}</ul><p>Pick one.</p></body></html>"
    out = check(index, ["- Chapter number 0", "- Chapter number 11"]).text


def news_page(seed: int = 12) -> str:
    """An article as news sites serve it: JSON-LD, a cookie banner, navigation, share bar, related
    links, newsletter form and footer around a few paragraphs and a subheading."""
    rng = random.Random(seed)
    article = "".join(f"<p>{_paragraph(rng, 3)}</p>" for _ in range(4))
    more = "".join(f"<p>{_paragraph(rng, 3)}</p>" for _ in range(3))
    related = "".join(f'<li><a href="/news/{i}">Related story number {i} about something else</a></li>' for i in range(10))
    nav = "".join(f'<li><a href="/section/{i}">Section {i}</a></li>' for i in range(15))
    return f"""<!DOCTYPE html><html><head><title>Storage vendors agree on a journal format | Example News</title>
<script type="application/ld+json">{{"@context": "https://schema.org", "@type": "NewsArticle",
"headline": "Storage vendors agree on a journal format", "articleBody": "SECRET-JSONLD"}}</script>
<script>window.dataLayer = [{{"page": "SECRET-SCRIPT"}}];</script></head><body>
<div id="cookie-banner" class="cookie-consent"><p>We use cookies to improve your experience. Accept all cookies?</p>
<button>Accept</button></div>
<header class="site-header"><nav><ul>{nav}</ul></nav></header>
<main><article><h1>Storage vendors agree on a journal format</h1>
<div class="share-bar"><a href="https://twitter.com/share">Share on Twitter</a> <a href="https://facebook.com/share">Share on Facebook</a></div>
{article}<h2>What changes for readers</h2>{more}</article>
<aside class="related"><h3>Related stories</h3><ul>{related}</ul></aside></main>
<form class="newsletter"><p>Sign up for our daily newsletter</p><input type="email"></form>
<footer><p>Copyright 2024 Example News. All rights reserved. Privacy policy. Terms of use.</p></footer>
</body></html>"""


def test_news_page_keeps_the_article_and_drops_the_furniture():
    page = news_page()
    rng = random.Random(12)
    paragraphs = [" ".join(_paragraph(rng, 3).split()) for _ in range(7)]
    out = check(page, ["# Storage vendors agree on a journal format | Example News", "What changes for readers"]
                + paragraphs).text
    for junk in ("SECRET-JSONLD", "SECRET-SCRIPT", "cookies", "Section 3", "Share on Twitter", "Related story",
                 "newsletter", "Copyright", "schema.org"):
        assert junk not in out, junk


def test_a_long_article_is_kept_whole():
    """An article is what was asked for: not condensed, even where the page has so little furniture
    that its text is nearly all of it (a documentation page that long would be: sphinx tests)."""
    rng = random.Random(13)
    paragraphs = [" ".join(_paragraph(rng, 4).split()) for _ in range(45)]
    page = news_page().replace("<h2>What changes for readers</h2>",
                               "".join(f"<p>{p}</p>" for p in paragraphs) + "<h2>What changes for readers</h2>")
    out = check(page, paragraphs).text
    assert "\u2026" not in out and "blocks of this section" not in out


def test_a_reference_page_is_condensed_to_its_terms():
    """A page that defines terms (API signatures) is looked up, not read through: condensed even
    when shorter than an article may be, every signature kept, what it leaves out marked by lines."""
    rng = random.Random(14)
    entries = "".join(f"<dt><code>store.op_{i}(key, *values, timeout=None)</code></dt>\n<dd>{_paragraph(rng, 5)}<br>"
                      f"\n{_paragraph(rng, 4)}</dd>\n" for i in range(20))
    page = f"<!DOCTYPE html>\n<html><head><title>store API</title></head><body>\n<h1>store API</h1>\n<dl>\n{entries}</dl>\n</body></html>\n"
    result, part_id = compress(page)
    assert result is not None
    for i in range(20):
        assert f"store.op_{i}(key, *values, timeout=None)" in result.text
    assert marker_ranges(result.text, part_id), "the definitions were not condensed"
    assert count_tokens(result.text) < 0.6 * count_tokens(page)


@pytest.mark.parametrize("name", ["cnn_article", "wired_001", "cleveland.com1"])
def test_real_news_pages_match_their_article_text(name):
    """Real pages with their expected article text (tests/data/html/README.md): the benchmark's
    metric, 4-token shingles, on the engine's main content."""
    sys.path.insert(0, str(Path(__file__).parent.parent / "scripts"))
    from bench_html import prf

    html = gzip.decompress((NEWS / f"{name}.html.gz").read_bytes()).decode("utf-8", "replace")
    truth = (NEWS / f"{name}.txt").read_text(encoding="utf-8")
    result = check(html)
    precision, recall, f1 = prf(truth, result.text)
    assert f1 >= 0.85 and recall >= 0.9, (precision, recall, f1)


def test_documentation_pages_are_told_from_pages_with_furniture():
    """Only a page with nothing for trafilatura to judge (no article metadata, no landmarks, few links)
    is taken whole without asking it: generated documentation, a man page."""
    extract = importlib.import_module("headroom_cli.engines.html.extract")

    def judged(page: str) -> bool:
        tree = extract.parse(extract.blank_never_text(page, Counter()))
        return extract.is_document(tree, len(" ".join(tree.text_content().split())))

    assert judged(pydoc.html.page("shlex", pydoc.html.document(shlex, "shlex")))
    assert judged(man2html_page())
    real_news = gzip.decompress((NEWS / "cnn_article.html.gz").read_bytes()).decode("utf-8", "replace")
    for page in (sphinx_page(), mkdocs_page(), news_page(), real_news):  # landmarks, <article>, Open Graph
        assert not judged(page)
    links = "".join(f'<li><a href="p{i}.html">Chapter number {i}</a></li>' for i in range(12))
    assert not judged(f"<html><body><ul>{links}</ul><p>{_paragraph(random.Random(1), 2)}</p></body></html>")


def test_a_documentation_page_needs_no_extractor(monkeypatch):
    """A documentation page is converted whole without trafilatura's extraction (its slowest step on
    a long page), hidden elements left out; and nested layout tables (pydoc's) give each block once."""
    import trafilatura

    def unused(*args, **kwargs):
        raise AssertionError("trafilatura's extraction was asked about a documentation page")

    monkeypatch.setattr(trafilatura, "bare_extraction", unused)
    page = pydoc.html.page("shlex", pydoc.html.document(shlex, "shlex")).replace(
        "</body>", "<div hidden>secret panel</div></body>")
    out = check(page, ["push_source(self, newstream, newfile=None)",
                       "Split the string *s* using shell-like syntax."]).text
    assert out.count("push_source(self, newstream, newfile=None)") == 1
    assert "secret panel" not in out


def test_link_targets_stay_in_an_index_and_go_in_an_article():
    """A list of links on a page that is all content (an index) keeps its addresses; in an article
    the same list is further reading, its addresses left out (counted by the marker)."""
    rng = random.Random(7)
    items = "".join(f'<li>Guide: <a href="https://docs.example.org/guide/{i}">Chapter number {i}</a> in depth</li>'
                    for i in range(6))
    prose = "".join(f"<p>{_paragraph(rng, 3)}</p>" for _ in range(5))
    index = (f"<!DOCTYPE html><html><head><title>Guides</title></head><body><h1>Guides</h1>{prose}<ul>{items}</ul>"
             "</body></html>")
    out = check(index).text
    menu = "".join(f'<a href="/section/{i}">Section {i}</a> ' for i in range(12))
    assert "- Guide: [Chapter number 3](https://docs.example.org/guide/3) in depth" in out
    article = (f'<!DOCTYPE html><html><head><title>Story</title><meta property="og:type" content="article"></head>'
               f"<body><nav>{menu}</nav><article><h1>Story</h1>{prose}<ul>{items}</ul></article>"
               f"<aside><p>{_paragraph(rng, 4)}</p></aside><footer>Copyright and terms of use</footer></body></html>")
    out = check(article).text
    assert "Chapter number 3" in out and "https://docs.example.org" not in out


def test_balanced_extraction_when_precision_finds_nothing(monkeypatch):
    """Where the precision mode finds nothing (a page too short or too odd for it), the balanced mode
    is asked before the page is taken whole: the furniture still goes."""
    import trafilatura

    real = trafilatura.bare_extraction
    asked = []

    def precise_finds_nothing(*args, **kwargs):
        asked.append("precision" if kwargs.get("favor_precision") else "other")
        return None if kwargs.get("favor_precision") else real(*args, **kwargs)

    monkeypatch.setattr(trafilatura, "bare_extraction", precise_finds_nothing)
    out = check(news_page(), ["## What changes for readers"]).text
    assert asked[:2] == ["precision", "other"]
    for junk in ("Accept all cookies", "newsletter", "Related story number"):
        assert junk not in out, junk


def test_library_failure_leaves_the_page_alone(monkeypatch):
    """trafilatura raising (a bug, a page it cannot take) must cost nothing: the engine gives None
    and the pipeline sends the page as it was."""
    import trafilatura

    def broken(*args, **kwargs):
        raise RuntimeError("extractor bug")

    monkeypatch.setattr(trafilatura, "bare_extraction", broken)
    page = news_page()
    result, _ = compress(page)
    assert result is None
    outcome = Pipeline().run(Part(page))
    assert outcome.text == page and not outcome.changed


def test_original_is_retrievable_by_the_final_marker(corpus_dir, needles):
    """Converting HTML rewrites every line: the output ends with one marker naming the whole part,
    and the pipeline stores the original under that ID."""
    page = news_page()
    outcome = Pipeline().run(Part(page))
    assert outcome.engine == "html" and outcome.part_id == ccr_id(page)
    last = MARKER_RE.fullmatch(outcome.text.rstrip("\n").split("\n")[-1])
    assert last and last["id"] == ccr_id(page) and last["a"] is None


def test_cuts_end_at_sentences():
    rng = random.Random(8)
    paragraphs = [" ".join(_paragraph(rng, 9).split()) for _ in range(40)]
    sections = "".join(f'<h2 id="s{i}">Section {i}</h2>\n<p>{p}</p>\n<p>{_paragraph(rng, 6)}</p>\n'
                       for i, p in enumerate(paragraphs))
    page = f"<!DOCTYPE html>\n<html><body>\n{sections}</body></html>\n"
    result, _ = compress(page)
    cut = [line[:-2] for line in result.text.split("\n") if line.endswith(" \u2026")]
    assert cut, "expected long first paragraphs to be cut"
    for kept in cut:
        source = next(p for p in paragraphs if p.startswith(kept))
        assert kept.endswith(".") and len(kept) < len(source), kept


def test_short_text_is_not_condensed():
    page = mkdocs_page()
    result, part_id = compress(page)
    assert not marker_ranges(result.text, part_id)
    assert "\u2026" not in result.text


# --------------------------------------------------------------------------- detection


def test_detect_http_response_with_headers():
    page = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nServer: x\r\n\r\n" + mkdocs_page()
    assert ENGINE.detect(Part(page, tool_name="Bash", tool_input="curl -i https://example.org/")) >= 0.9
    out = check(page, ["HTTP/1.1 200 OK", "The server reads its settings from widget.toml"]).text
    assert "Roboto" not in out


def test_xhtml_with_an_xml_declaration():
    """lxml refuses a str that declares its encoding: the page is parsed as bytes, lines kept."""
    page = ('<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" '
            '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">\n'
            + mkdocs_page().split("\n", 1)[1].replace('<html lang="en" class="no-js">',
                                                      '<html xmlns="http://www.w3.org/1999/xhtml">'))
    assert ENGINE.detect(Part(page)) >= 0.9
    check(page, ["The server reads its settings from widget.toml in the working directory at startup.",
                 "opt_11 | 77 |"])


def test_detect_hints_and_tools():
    page = readme_fragment()
    assert ENGINE.detect(Part(page, kind_hint="html")) == 1.0
    assert ENGINE.detect(Part(page, kind_hint="json")) == 0.0
    assert ENGINE.detect(Part(page, tool_name="Read", tool_input="/docs/readme.html")) >= 0.9
    assert ENGINE.detect(Part("plain words " * 50, tool_name="Read", tool_input="a.html")) <= 0.1


@pytest.mark.parametrize("text", [
    "diff --git a/index.html b/index.html\n--- a/index.html\n+++ b/index.html\n@@ -1,3 +1,3 @@\n"
    "-<p>a</p>\n+<p>b</p>\n" * 5,
    "site/index.html:12:<div class=\"nav\"><a href=\"/\">home</a></div>\n" * 30,
    '{"body": "<html><body><p>hi</p></body></html>", "status": 200}\n' * 20,
    '<?xml version="1.0"?>\n<project><modelVersion>4.0.0</modelVersion><dependencies><dependency>'
    "<groupId>x</groupId></dependency></dependencies></project>\n" * 10,
    "import React from 'react';\nexport const A = () => <div className=\"a\"><p>hi</p></div>;\n" * 20,
    "# Title\n\nSome markdown with <br> and <b>bold</b> inline.\n\n- item\n" * 20,
    "<template>\n  <div class=\"card\"><h1>{{ title }}</h1><p>{{ body }}</p><ul><li>a</li></ul></div>\n</template>\n"
    "<script>\nexport default { props: ['title', 'body'] }\n</script>\n" * 5,
])
def test_detect_other_content_is_not_mine(text):
    assert ENGINE.detect(Part(text)) <= 0.1


# --------------------------------------------------------------------------- edge cases


@pytest.mark.parametrize("text", [
    "", "<p>hi</p>", "no markup at all " * 40, "<" * 500, "<html>" + "&amp;" * 300,
    "<!-- only a comment " + "x" * 400, "<script>" + "var a = 1;\n" * 100,
])
def test_nothing_worth_doing_gives_none(text):
    result, _ = compress(text)
    assert result is None or len(result.text) < len(text)


@pytest.mark.parametrize("text", [
    "<div>" * 5000 + "deep text that keeps going " * 40 + "</div>" * 10,
    "<table><tr><td><p>cell</td></p></tr><tr><td>two</td></table></table></div>" * 40,
    "<html><body><p>unclosed <b>bold <i>italic " * 80,
    "<ul><li>one<li>two<ol><li>a<li>b</ul></ul>" * 60,
    "<pre>" + "line with < and > and & signs\n" * 100,
    "<html><body>\x00\x01\ufffd<p>binary \udcff junk</p>" * 60,
    "<html><body><svg><path d='M0 0'/><p>lost?</svg><p>after the drawing, the text goes on</p>" * 40,
    "<script>never closed " + "code();\n" * 300,
    "<html><body><p>a &unknown; b &#99999999; c &#xZZ; d</p></body></html>" * 40,
])
def test_malformed_html_never_raises(text):
    result, part_id = compress(text)
    if result is not None:
        assert len(result.text) < len(text)
        assert result.omitted > 0
        for a, b in marker_ranges(result.text, part_id):
            assert 1 <= a <= b <= text.count("\n") + 1


@pytest.mark.parametrize("depth", [100, 5000])
def test_deep_nesting_keeps_its_text_or_the_page(depth):
    """Nesting lxml and trafilatura can take keeps its text; deeper (5,000 divs) leaves the page alone."""
    text = "<div>" * depth + "deep text that keeps going " * 40 + "</div>" * 10
    result, _ = compress(text)
    if depth <= 100:
        assert result is not None and "deep text that keeps going" in result.text
    else:
        assert result is None or "deep text that keeps going" in result.text


def test_deadline_passed_raises_timeout():
    page = sphinx_page(sections=40)
    with pytest.raises(EngineTimeout):
        ENGINE.compress(Part(page), Context(part_id=ccr_id(page), deadline=deadline_after(-1)))


def test_a_200kb_page_is_condensed_deterministically():
    """Speed is measured by scripts/bench.py and scripts/bench_html.py; here the big page's output."""
    page = sphinx_page(sections=60, seed=11)
    assert 150_000 < len(page) < 260_000
    result = check(page, ["Storage engine guide"])
    assert count_tokens(result.text) < 0.3 * count_tokens(page)


def test_same_bytes_from_threads_at_once():
    """The proxy compresses parts on several threads: trafilatura and lxml must give each page the
    same output whatever runs beside it."""
    from concurrent.futures import ThreadPoolExecutor

    pages = [news_page(), mkdocs_page(), sphinx_page(sections=8), readme_fragment()]
    alone = [compress(page)[0].text for page in pages]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda page: compress(page)[0].text, pages * 3))
    assert together == alone * 3


def test_bench_metric_counts_shingles_with_multiplicity():
    sys.path.insert(0, str(Path(__file__).parent.parent / "scripts"))
    from bench_html import prf

    assert prf("a b c d e", "a b c d e") == (1.0, 1.0, 1.0)
    precision, recall, f1 = prf("one two three four five six", "one two three four")  # 1 of 3 shingles
    assert (precision, round(recall, 3)) == (1.0, 0.333) and round(f1, 3) == 0.5
    assert prf("alpha beta gamma delta", "nothing in common here")[2] == 0.0


def test_bench_html_meets_its_target_on_news_pages(capsys):
    """scripts/bench_html.py --json: every page measured, every set (news, held-out news, blog and
    Sphinx pages, pydoc pages) at target."""
    sys.path.insert(0, str(Path(__file__).parent.parent / "scripts"))
    import json

    import bench_html

    assert bench_html.main(["--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {row["set"] for row in report["pages"]} == {"news", "hold-out", "blog", "docs", "sphinx"}
    for figures in report["summary"].values():  # the benchmark's figure: F1 of the mean P and mean R
        assert figures["bench_f1"] >= report["target_f1"], report["summary"]
