"""README.md and docs/: the README stays short, its links lead somewhere, and every code block either
runs here (shell blocks below, Python blocks in test_readme_library.py, TypeScript in npm/test) or says
why not. How blocks are read: tests/doc_snippets.py."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from doc_snippets import REPO, RUNNABLE, blocks, name, pages, pages_with, script

LINK = re.compile(r"\]\((?P<target>[^)#\s]+)(?:#[^)]*)?\)")


def test_the_readme_reads_in_five_minutes():
    lines = (REPO / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 300, len(lines)


def test_the_readme_links_every_docs_page_and_every_link_exists():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    linked = {m["target"] for m in LINK.finditer(readme)}
    docs = {name(p) for p in pages() if p.parent != REPO}
    assert docs <= linked, docs - linked  # no page of the manual is out of reach
    for page in pages():
        for m in LINK.finditer(page.read_text(encoding="utf-8")):
            target = m["target"]
            if re.match(r"[a-z]+:", target):
                continue  # a web address
            assert (page.parent / target).exists(), f"{name(page)}: {target}"


def test_every_runnable_block_runs_or_says_why_not():
    # Shell is written ```sh and Python ```python, so no snippet escapes the runs by its spelling;
    # output, TOML and TypeScript are the only other kinds (TypeScript runs in npm/test).
    for page in pages():
        for block in blocks(page):
            assert block.lang in (*RUNNABLE, "ts", "toml", "text"), f"{name(page)}:{block.line}: ```{block.lang}"
            assert block.not_run is None or block.lang in RUNNABLE, f"{name(page)}:{block.line}"
    marked = [b for p in pages() for b in blocks(p) if b.not_run is not None]
    assert marked and all(len(b.not_run) > 10 for b in marked)  # a reason, not a word
    assert pages_with("sh") and pages_with("python")


def _headroom_on_path(tmp_path: Path) -> dict[str, str]:
    """The environment a reader has after set-up: `headroom` on PATH (this checkout's), a home of its own."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "headroom"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m headroom_cli "$@"\n')
    shim.chmod(0o755)
    python_path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "PYTHONPATH": python_path,
            "HEADROOM_HOME": str(tmp_path / "home")}


@pytest.mark.parametrize("page", [name(p) for p in pages_with("sh")])
def test_the_shell_snippets_run_as_the_page_says(page, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    run = subprocess.run(["bash", "-euo", "pipefail", "-c", script(REPO / page, "sh")], cwd=work,
                         env=_headroom_on_path(tmp_path), capture_output=True, text=True, timeout=240)
    assert run.returncode == 0, (run.stdout[-2000:], run.stderr[-3000:])
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    # The markers the page quotes from the output are the ones the output has.
    quoted = re.findall(r"\[headroom: [^·\]`]+ · ", (REPO / page).read_text(encoding="utf-8"))
    for marker in quoted:
        assert marker in run.stdout, marker


def test_the_readme_compress_snippet_prints_what_it_says(tmp_path):
    """Its comments name the lines it prints and the ID it retrieves: both must stay true."""
    work = tmp_path / "work"
    work.mkdir()
    run = subprocess.run(["bash", "-euo", "pipefail", "-c", script(REPO / "README.md", "sh")], cwd=work,
                         env=_headroom_on_path(tmp_path), capture_output=True, text=True, timeout=240)
    out = run.stdout.splitlines()
    assert run.returncode == 0, run.stderr
    assert out[5] == "[headroom: 1,993 lines omitted (1,993 PASSED) · retrieve hr_7e561da7d62bfda3 --lines 6-1998]"
    assert len(out) == 11 + 1_993 and out[11] == "tests/test_api.py::test_case_5 PASSED"


def _tested_typescript() -> list[str]:
    """The TypeScript blocks npm/test/readme.test.ts runs: npm/README.md's, and the one under the
    README's `### TypeScript` heading (the section it cuts out, up to the next `## `)."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("### TypeScript")[1].split("\n## ")[0]
    main = re.findall(r"```ts\n(.*?)```", section, re.S)
    assert len(main) == 1  # what readme.test.ts asserts
    return main + [b.code for b in blocks(REPO / "npm" / "README.md") if b.lang == "ts"]


def test_every_typescript_block_in_the_docs_is_one_the_npm_tests_run():
    tested = _tested_typescript()
    for page in pages():
        for block in blocks(page):
            if block.lang == "ts":
                assert block.code in tested, f"{name(page)}:{block.line}"
