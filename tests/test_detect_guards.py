"""The cheap checks that turn a line away before a detection pattern runs never turn away a line the
pattern matches: on every line of the corpus, and on lines made to sit at the checks' edges."""

from __future__ import annotations

from pathlib import Path

from headroom_cli.engines import Part
from headroom_cli.engines.listing import du, gitlog, ls, paths, status, tree
from headroom_cli.engines.search import filelist, prefixed
from headroom_cli.engines.search.parsed import may_be_numbered

SHARED = Path(__file__).resolve().parents[2] / "shared"
EDGES = [
    "C:\\src\\app.py:12:def main():", "C:/src/app.py:12:3:x", "C:/a:3", "C:x:4", "a:1", ":1:", "a:b:1", "x::1",
    "C:\\dir\\file.txt:hello", "src/a.py:hello", "src/a.py::hello", "src a.py:hello", "src/a.py\t:x",
    "\u0663 -rw-r--r-- 1 user group 0 Jan  1 12:00 file", "\u2003-rw-r--r-- 1 u g 1 Jan 1 12:00 x",
    "12 -rw-r--r-- 1 u g 1 Jan 1 12:00 x", "\u0661\u0662 directories, 3 files", "3 files", "\u00b2 files",
    "abc1234 fix: a thing", "_ abc1234 x", "* | abc1234 x", "\tabc1234 x", "ABC1234 x", "deadbeef (HEAD -> main) x",
    "\u0663\u0663  2024-01-01 12:00  file", " 4096 2024-01-01 12:00 dir/", "src/app.py", "./a b/c.txt", "~/x.y",
    "C:\\Users\\me\\file.md", "src/app.py: No such file", "2024-03-01 12:00:01 INFO x", "\u0663:\u0663:x",
    "\u2003\u251c\u2500\u2500 src", "\u2514\u2500\u2500 a.py", "`-- a.py", "+-- a.py", "?? new.txt", " M src/a.py", "MM a",
    "## main...origin/main", "  (use \"git add <file>...\")", "\u00a0M a", "\tmodified:   a.py",
]


def _lines() -> list[str]:
    found: dict[str, None] = dict.fromkeys(EDGES)
    for folder in ("corpus", "corpus-rtk"):
        for path in sorted((SHARED / folder).rglob("*")):
            if path.is_file() and path.suffix not in (".json", ".py", ".md"):
                for line in path.read_text(encoding="utf-8", errors="replace").split("\n"):
                    found.setdefault(line.rstrip("\r")[:1000])
    return [line for line in found if line.strip()]


def _old_is_path(s: str) -> bool:
    return len(s) < 4096 and paths.LINE.match(s) is not None and (" " not in s or "/" in s or "\\" in s)


def test_listing_guards_never_turn_away_a_match():
    checked = 0
    for line in _lines():
        s = line.rstrip()
        c0 = s[0]
        spaced = c0.isspace() or c0.isdecimal()
        if not (spaced or c0 in ls.LINE_STARTS):
            assert ls.LINE.match(s) is None, s
        if c0 not in gitlog.LINE_STARTS:
            assert gitlog.LINE.match(s) is None, s
        if not spaced:
            assert du.SIZED.match(s) is None, s
        if not c0.isdecimal():
            assert tree.SUMMARY.match(s) is None, s
        if not (c0.isspace() or c0 in tree.LINE_STARTS):
            assert tree.LINE.match(s) is None, s
        if s[2:3] != " ":
            assert status.SHORT.match(s) is None, s
        if c0 not in status.HEAD_STARTS:
            assert status.HEAD.match(s) is None, s
        assert paths.is_path(s.strip()) == _old_is_path(s.strip()), s
        checked += 1
    assert checked > 10_000


def test_search_guards_never_turn_away_a_match():
    matched = {"prefixed": 0, "count": 0, "path": 0, "path_text": 0}
    for line in _lines():
        for name, pattern, guard in (("prefixed", prefixed.LINE, may_be_numbered),
                                     ("count", filelist.COUNT_LINE, may_be_numbered),
                                     ("path", filelist.PATH_LIKE, filelist.may_be_path),
                                     ("path_text", filelist.PATH_TEXT, filelist.may_be_path_text)):
            hit = pattern.match(line) is not None
            assert guard(line) or not hit, (name, line)
            matched[name] += hit
    assert all(count >= 5 for count in matched.values()), matched  # the lines did exercise every pattern


def test_the_edges_hold_matches_the_guards_must_let_through():
    """Lines the checks must not get wrong: they match, through a character that is not ASCII or a drive."""
    edge = set(EDGES)
    for line, pattern in (("\u0663 -rw-r--r-- 1 user group 0 Jan  1 12:00 file", ls.LINE),  # \d: not ASCII
                          ("\u2003-rw-r--r-- 1 u g 1 Jan 1 12:00 x", ls.LINE),  # \s: not ASCII
                          ("\u0661\u0662 directories, 3 files", tree.SUMMARY),
                          ("C:\\src\\app.py:12:def main():", prefixed.LINE),
                          ("\u0663:\u0663:x", prefixed.LINE),
                          ("C:\\dir\\file.txt:hello", filelist.PATH_TEXT),
                          ("_ abc1234 x", gitlog.LINE),
                          ("\u2003\u251c\u2500\u2500 src", tree.LINE),  # \s: not ASCII
                          ("`-- a.py", tree.LINE), ("?? new.txt", status.SHORT), (" M src/a.py", status.SHORT),
                          ("## main...origin/main", status.HEAD), ("  (use \"git add <file>...\")", status.HEAD)):
        assert line in edge and pattern.match(line), line
    assert not tree.SUMMARY.match("\u00b2 files")  # a superscript is a digit but not decimal: \d refuses it



def test_code_detection_stopping_once_settled_gives_the_full_counts_answer():
    import random

    from headroom_cli.engines.base import share_at_least
    from headroom_cli.engines.code.detect import _CODE_LINE, _is_code_line, _NOT_CODE_LINE

    pool = [line for line in _lines() if line.strip()]
    code_lines = [line for line in pool if not _NOT_CODE_LINE.match(line) and _CODE_LINE.match(line)]
    other = [line for line in pool if line not in set(code_lines[:1])][:5000]
    rng = random.Random(19)
    answers = set()
    for n in list(range(1, 40)) + [199, 200]:
        for _ in range(12):
            share = rng.random()
            lines = [rng.choice(code_lines) if rng.random() < share else rng.choice(other) for _ in range(n)]
            whole = sum(1 for ln in lines if not _NOT_CODE_LINE.match(ln) and _CODE_LINE.match(ln)) / n >= 0.6
            assert share_at_least(lines, _is_code_line, 0.6) == whole, lines
            answers.add(whole)
    assert answers == {True, False}
    assert share_at_least(["x = 1"] * 3 + ["plain words"] * 2, _is_code_line, 0.6)  # exactly 0.6
    assert not share_at_least(["x = 1"] * 2 + ["plain words"] * 2 + ["plain"], _is_code_line, 0.6)



def test_testlog_prefixes_found_by_counting_until_settled_are_those_counting_every_line_finds(monkeypatch):
    import random

    from headroom_cli.engines.testlog import prepare

    def every_line(lines, hit, share):  # the count as it was: every line, then the comparison
        return sum(1 for ln in lines if hit(ln)) >= share * len(lines)

    texts = [p.read_text(encoding="utf-8", errors="replace") for folder in ("corpus", "corpus-rtk")
             for p in sorted((SHARED / folder).rglob("*.txt"))]
    rng = random.Random(7)
    made = []
    for text in texts[:40]:
        lines = text.split("\n")[:120]
        for wrap in (lambda n, ln: f"{n:6d}\t{ln}", lambda n, ln: f"web-1  | {ln}", lambda n, ln: f"[pod/api-7f] {ln}",
                     lambda n, ln: f"build\tstep\t2024-05-01T10:00:{n % 60:02d}.1Z {ln}",
                     lambda n, ln: f"2024-05-01T10:00:{n % 60:02d}Z {ln}"):
            share = rng.choice((0.6, 0.69, 0.7, 0.71, 0.89, 0.9, 0.91, 1.0))  # around both thresholds
            made.append("\n".join(wrap(n, ln) if rng.random() < share else ln for n, ln in enumerate(lines, 1)))
    settled = [prepare.contents(text.split("\n"), text) for text in texts + made]
    monkeypatch.setattr(prepare, "share_at_least", every_line)
    assert settled == [prepare.contents(text.split("\n"), text) for text in texts + made]
    assert sum(stripped for _, stripped in settled) >= 20  # the made texts did reach the thresholds


def _texts_and_variants() -> list[str]:
    """The corpus's texts, and the same as Read output, with a client's reminder, a client's cut, JSON inside."""
    texts = [p.read_text(encoding="utf-8", errors="replace") for folder in ("corpus", "corpus-rtk")
             for p in sorted((SHARED / folder).rglob("*")) if p.is_file() and p.suffix != ".py"]
    out = []
    for text in texts[:60]:
        lines = text.split("\n")[:80]
        numbered = "".join(f"{n:6d}\t{line}\n" for n, line in enumerate(lines, 5))
        out += [text, numbered, "".join(f"{n}\u2192{line}\n" for n, line in enumerate(lines, 1)), numbered + "\n<system-reminder>\nx\n</system-reminder>\n", "\t".join(lines[:3]),
                "\n".join(lines[:40] + ["... [12,345 characters truncated] ..."] + lines[40:]),
                "\n".join(lines[:20] + ['  {"a": [', *[f'    {n},' for n in range(20)], '    1]}'] + lines[20:]),
                "\n".join(['{"a": [', *[f'    {n},' for n in range(20)], '    1]}'] + lines[:20]),
                "12\u2192" + text[:500], "\n<system-reminder>x</system-reminder>", " 7\tonly\n 8"]
    return out


def test_the_read_format_and_section_checks_up_front_give_what_reading_every_line_gives():
    from headroom_cli import readformat, sections

    unwrapped = split = 0
    for text in _texts_and_variants():
        assert readformat.unwrap(text) == readformat._numbered(text)
        cut = sections._may_cut(text) and sections.CLIENT_CUT.search(text) is not None
        assert sections.split(text) == sections._sections(text, cut)
        unwrapped += readformat.unwrap(text) is not None
        split += sections.split(text) is not None
    assert unwrapped >= 50 and split >= 50  # the variants did take the long way


def test_naming_file_lines_checked_up_front_gives_what_looking_at_every_marker_gives():
    from headroom_cli import readformat
    from headroom_cli.pipeline import Pipeline

    pipeline, named = Pipeline(), 0
    for text in _texts_and_variants():
        outcome = pipeline.run(Part(text))
        if outcome.part_id:
            for original in (text, outcome.original):
                assert readformat.name_file_lines(outcome.text, original, outcome.part_id) == \
                    readformat._name_lines(outcome.text, original, outcome.part_id)
            named += ", file lines " in outcome.text
    assert named >= 3  # some markers did name file lines


def test_logs_guards_never_turn_away_a_match():
    from headroom_cli.engines.logs import detect as logs_detect

    matched = {"listing": 0, "git log": 0, "diff": 0}
    for line in _lines() + ["commit 0123abc", "Author: A <a@b>", "Date:   Mon", "--- a/x", "+++ b/x", "@@ -1 +1 @@",
                            "diff --git a/x b/x", "drwxr-xr-x  2 u g 4096 x", "0123abcd fix"]:
        for name, pattern, starts in (("listing", logs_detect._LISTING, logs_detect._LISTING_STARTS),
                                      ("git log", logs_detect._GIT_LOG, "cAD"), ("diff", logs_detect._DIFF, "d@+-")):
            hit = pattern.match(line) is not None
            assert line[0] in starts or not hit, (name, line)
            matched[name] += hit
    assert all(count >= 5 for count in matched.values()), matched


def test_testlog_prefixes_skipped_for_a_text_without_their_mark_are_those_trying_every_line_finds(monkeypatch):
    from headroom_cli.engines.testlog import prepare

    texts = [p.read_text(encoding="utf-8", errors="replace") for folder in ("corpus", "corpus-rtk")
             for p in sorted((SHARED / folder).rglob("*.txt"))]
    made = []
    for text in texts[:40]:
        lines = text.split("\n")[:120]
        for wrap in (lambda n, ln: f"web-1  | {ln}", lambda n, ln: f"[pod/api-7f] {ln}",
                     lambda n, ln: f"build\tstep\t2024-05-01T10:00:{n % 60:02d}.1Z {ln}",
                     lambda n, ln: f"2024-05-01T10:00:{n % 60:02d}Z {ln}",
                     lambda n, ln: f"\x1b[2mweb-1  |\x1b[0m {ln}"):  # colour codes: "| " only once they are out
            made.append("\n".join(wrap(n, ln) for n, ln in enumerate(lines, 1)))
    for rx, mark in zip(prepare.LINE_PREFIXES, prepare._PREFIX_MARKS):  # every match holds its mark
        assert all(mark in m.group() for text in texts + made for ln in text.split("\n") if (m := rx.match(ln)))
    skipped = [prepare.contents(text.split("\n"), text) for text in texts + made]
    monkeypatch.setattr(prepare, "_PREFIX_MARKS", ("",) * len(prepare.LINE_PREFIXES))  # every text tried
    assert skipped == [prepare.contents(text.split("\n"), text) for text in texts + made]
    assert sum(stripped for _, stripped in skipped) >= 100  # the made texts were stripped


def test_a_command_without_a_search_program_named_is_split_to_no_pattern(monkeypatch):
    import re

    from headroom_cli.engines.search import symbols

    commands = ["python -m pytest -v tests/", "tail -n 40 logs/app.log", "rg -n parse src", "grep -rn 'def ' .",
                "git grep -n foo", "r''g -n x", "'rg' x", '"g"rep x', "g\\rep -e y", "/usr/bin/rg z", "ls | zgrep q",
                "a'ck' y", "git 'grep' w", "echo 'unterminated", "ag", "cd src && ripgrep x", "git-grep -e v",
                "r\\\ng x", "tar -xzf pkg.tgz", "egrep -A 2 x y", "fgrep", "ack --type=py x"]
    quick = [symbols.pattern_from_command(command) for command in commands]
    monkeypatch.setattr(symbols, "_NAMED", re.compile(""))  # every command split
    assert quick == [symbols.pattern_from_command(command) for command in commands]
    assert sum(pattern is not None for pattern in quick) >= 10


def test_the_diff_ceiling_is_zero_only_where_detect_cannot_score():
    from headroom_cli import engines

    diff = engines.get("diff")
    for text, top in (("tests/a.py::t PASSED\n" * 30, 0.0), ("2026-03-14T04:53:33Z INFO x\n" * 30, 0.0),
                      ("@@ -1 +1 @@\n-a\n+b\n", 1.0), (" a.py | 2 +-\n 1 file changed\n", 1.0),
                      ("\x1b[1mdiff --git a/x b/x\x1b[m\n", 1.0), ("\x1b[36m@\x1b[m@ -1 +1 @@\n", 1.0)):
        part = Part(text, tool_name="Bash", tool_input="git diff")
        assert diff.ceiling(part) == top and diff.detect(part) <= top, text


def test_listing_ceiling_counted_by_first_characters_is_the_count_line_by_line():
    from headroom_cli.engines.listing import detection

    def line_by_line(lines):  # as it was: every non-blank line's first character tried
        nonblank = ls_like = tree_like = 0
        for s, _ in detection._nonblank(lines):
            nonblank += 1
            ls_like += detection._may_start_ls_line(s[0]) or s[0].isdigit()
            tree_like += detection._may_start_tree_line(s[0])
        return ls_like >= max(3, 0.4 * nonblank) or tree_like >= max(3, 0.4 * nonblank)

    answers = set()
    for text in _texts_and_variants() + ["\n".join(EDGES), " \n\t\n\u2003\n\u00b2 x\n\u00b2 y\n\u00b2 z"]:
        sample = detection._sample(text)
        assert detection._may_hold_ls_or_tree(sample) == line_by_line(sample), text[:200]
        answers.add(line_by_line(sample))
    assert answers == {True, False}
