"""The diff engine: headers, hunk headers and changed lines survive, context and noise fold, markers expand back."""

from __future__ import annotations

import random
import re

import pytest

from headroom_cli import engines
from headroom_cli.engines.base import Context, deadline_after, Part, Result
from headroom_cli.engines.diff import BIG_CHANGED, DiffEngine
from headroom_cli.markers import MARKER_RE, ccr_id
from headroom_cli.pipeline import Pipeline
from headroom_cli.tokens import count_tokens

from marker_checks import assert_line_compression, expand_markers, markers_in

ENGINE = DiffEngine()
KIND = "diffs"
TARGET = 0.25  # least aggregate token saving over the corpus diffs
SAMPLE_FLOORS = {  # sample name -> least token reduction (with or without the query)
    "git_diff_U20_six_1.15.0_1.16.0": 0.50,
    "git_diff_more_itertools_10.2.0_10.5.0": 0.24,
    "gnu_diff_ru_toolz_0.12.1_1.0.0": 0.20,
}


# --------------------------------------------------------------------------- helpers


def compress(text: str, **part_kw) -> tuple[Result | None, str]:
    part_id = ccr_id(text)
    result = ENGINE.compress(Part(text, **part_kw), Context(part_id=part_id, deadline=deadline_after(10)))
    return result, part_id


def _lines(text: str) -> list[str]:
    lines = text.split("\n")
    if text.endswith("\n"):
        lines.pop()
    return lines


def recoverable(needle: str, original: str, out: str, part_id: str) -> bool:
    orig_lines = _lines(original)
    for m in markers_in(out, part_id):
        if needle in "\n".join(orig_lines[int(m["a"]) - 1 : int(m["b"])]):
            return True
    return False


def check(text: str, needles: list[str] = (), min_reduction: float | None = None, **part_kw) -> Result:
    """The properties every compression must have; returns the result for further checks."""
    result = assert_line_compression(text, compress, needles, min_reduction, **part_kw)
    assert result.kind == KIND
    return result


def changed_lines(text: str) -> list[str]:
    """Every +/- line inside the hunks of a (well-formed) unified diff, by the hunk counts."""
    out = []
    lines = _lines(text)
    i = 0
    while i < len(lines):
        m = re.match(r"@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@", lines[i])
        i += 1
        if not m:
            continue
        old = int(m.group(1) or 1)
        new = int(m.group(2) or 1)
        while i < len(lines) and (old > 0 or new > 0):
            c = lines[i][:1]
            if c == "-":
                old -= 1
                out.append(lines[i])
            elif c == "+":
                new -= 1
                out.append(lines[i])
            elif c != "\\":
                old -= 1
                new -= 1
            i += 1
    return out


# --------------------------------------------------------------------------- the corpus


def test_registered():
    assert engines.get("diff") is not None
    assert engines.get("diff").name == "diff"


def _corpus_entries(needles: list[dict]) -> list[dict]:
    entries = [e for e in needles if e["kind"] == KIND]
    assert len(entries) >= 4
    return entries


def test_corpus_samples_keep_needles_and_expand_back(corpus_dir, needles):
    rows = []
    totals = {True: [0, 0], False: [0, 0]}
    for entry in _corpus_entries(needles):
        text = (corpus_dir / entry["file"]).read_text()
        name = entry["file"].split("/")[-1].removesuffix(".txt")
        assert ENGINE.detect(Part(text)) >= 0.8, name
        for with_query in (True, False):
            query = entry["query"] if with_query else None
            result, part_id = compress(text, query=query)
            out = text if result is None else result.text
            if result is not None:
                assert result.kind == KIND
                assert len(out) < len(text)
                assert expand_markers(text, out, part_id) == text, name
                marks = markers_in(out, part_id)
                assert result.omitted == sum(int(m["b"]) - int(m["a"]) + 1 for m in marks)
                again, _ = compress(text, query=query)
                assert again is not None and again.text == out, f"{name}: not deterministic"
            verbatim = [n for n in entry["needles"] if n in out]
            lost = [n for n in entry["needles"] if n not in out and not recoverable(n, text, out, part_id)]
            assert not lost, f"{name}: needles neither kept nor recoverable: {lost}"
            assert len(verbatim) == len(entry["needles"]), f"{name}: needles not verbatim: " + str(
                [n for n in entry["needles"] if n not in out])
            before, after = count_tokens(text), count_tokens(out)
            totals[with_query][0] += before
            totals[with_query][1] += after
            rows.append((name, with_query, before, after))
    table = "\n".join(f"{n:45s} q={q!s:5s} {b:6d} -> {a:6d} ({1 - a / b:6.1%})" for n, q, b, a in rows)
    for with_query, (before, after) in totals.items():
        assert after <= (1 - TARGET) * before, f"aggregate saving below {TARGET:.0%}:\n{table}"
    for name, _, before, after in rows:
        if name in SAMPLE_FLOORS:
            assert after <= (1 - SAMPLE_FLOORS[name]) * before, f"{name} not compressed enough:\n{table}"
    assert {name for name, *_ in rows} >= set(SAMPLE_FLOORS), table


def test_corpus_context_diff_keeps_every_changed_line(corpus_dir):
    text = (corpus_dir / "diffs" / "git_diff_U20_six_1.15.0_1.16.0.txt").read_text()
    result, part_id = compress(text)
    assert result is not None
    out = set(_lines(result.text))
    changed = changed_lines(text)
    assert changed and all(line in out for line in changed)
    assert all("unchanged" in m["what"] for m in markers_in(result.text, part_id))


def test_corpus_stat_block_kept_whole(corpus_dir):
    text = (corpus_dir / "diffs" / "git_show_stat_rich_upgrade.txt").read_text()
    result, part_id = compress(text)
    out = text if result is None else result.text
    for line in text.splitlines():
        if "|" in line or "files changed" in line or line.startswith(("commit ", "Author:", "Date:", "    ")):
            assert line in out.splitlines()


def test_corpus_other_kinds_are_not_mine(corpus_dir, needles):
    for entry in needles:
        if entry["kind"] == KIND:
            continue
        text = (corpus_dir / entry["file"]).read_text()
        assert ENGINE.detect(Part(text)) <= 0.1, entry["file"]


def test_corpus_routes_to_this_engine(corpus_dir, needles):
    pipeline = Pipeline()
    for entry in _corpus_entries(needles):
        text = (corpus_dir / entry["file"]).read_text()
        assert pipeline.route(Part(text)).name == "diff", entry["file"]


def test_every_corpus_sample_expands_back_when_forced(corpus_dir, needles):
    """Whatever the content, told it is a diff the engine may fold lines, but never lose or alter one."""
    for entry in needles:
        text = (corpus_dir / entry["file"]).read_text()
        for variant in (text, text.replace("\n", "\r\n")):
            result, part_id = compress(variant, kind_hint="diffs")
            if result is not None:
                assert expand_markers(variant, result.text, part_id) == variant, entry["file"]
                assert len(result.text) < len(variant)


def test_kind_hint():
    assert ENGINE.detect(Part("just a few words\n", kind_hint="diffs")) == 1.0
    assert ENGINE.detect(Part("just a few words\n", kind_hint="diff")) == 1.0
    assert ENGINE.detect(Part("@@ -1 +1 @@\n-a\n+b\n", kind_hint="tests")) == 0.0


# --------------------------------------------------------------------------- synthetic generators

WORDS = ("ledger", "account", "balance", "refund", "invoice", "payment", "cursor", "window", "buffer", "token")


def _code_lines(rng: random.Random, n: int, indent: str = "    ") -> list[str]:
    out = []
    for i in range(n):
        a, b = rng.choice(WORDS), rng.choice(WORDS)
        out.append(rng.choice([
            f"{indent}{a}_{i} = compute_{b}({a}, {rng.randint(0, 99)})",
            f"{indent}if {a}.{b} is None:",
            f"{indent}    return {a}_{b}(ctx, limit={rng.randint(1, 500)})",
            f"{indent}# keep the {a} in step with the {b}",
            "",
            f"{indent}log.debug('{a} %s -> %s', {b}, {a})",
        ]))
    return out


def gen_git_diff_u_big_context(ctx: int = 20) -> tuple[str, list[str]]:
    """`git diff -U20` over two files: long context runs around a few changes."""
    rng = random.Random(3)
    out: list[str] = []
    needles = []
    for f in ("src/ledger/core.py", "src/ledger/report.py"):
        body = _code_lines(rng, 400)
        out += [f"diff --git a/{f} b/{f}", "index 1a2b3c4..5d6e7f8 100644", f"--- a/{f}", f"+++ b/{f}"]
        for at in (60, 200, 330):
            old = body[at - ctx: at + ctx]
            new_line = f"    balance_{at} = settle(ledger, pending_refunds=True)  # {f}"
            hunk = [" " + s for s in old[:ctx]] + [f"-{old[ctx]}", f"+{new_line}"] + [" " + s for s in old[ctx + 1:]]
            out.append(f"@@ -{at - ctx + 1},{2 * ctx} +{at - ctx + 1},{2 * ctx} @@ def settle_{at}(ledger):")
            out += hunk
            needles.append(f"+{new_line}")
            needles.append(f"@@ -{at - ctx + 1},{2 * ctx} +{at - ctx + 1},{2 * ctx} @@ def settle_{at}(ledger):")
        needles.append(f"diff --git a/{f} b/{f}")
    return "\n".join(out) + "\n", needles


def gen_git_log_p(commits: int = 6) -> tuple[str, list[str]]:
    """`git log -p --stat -U12`: commit headers, indented messages, stat blocks, then the diffs."""
    rng = random.Random(5)
    out: list[str] = []
    needles = []
    for c in range(commits):
        sha = "".join(rng.choice("0123456789abcdef") for _ in range(40))
        subject = f"Fix {rng.choice(WORDS)} rounding in the {rng.choice(WORDS)} path (#{100 + c})"
        out += [f"commit {sha}", f"Author: Dev {c} <dev{c}@example.org>",
                f"Date:   Tue Mar {c + 3} 10:0{c}:00 2025 +0100",
                "", f"    {subject}", "", "    The long explanation of the change goes here and", "    wraps once.", ""]
        out += [f" src/mod{c}.py | 2 +-", " 1 file changed, 1 insertion(+), 1 deletion(-)", ""]
        body = _code_lines(rng, 60)
        out += [f"diff --git a/src/mod{c}.py b/src/mod{c}.py", "index 0123456..789abcd 100644",
                f"--- a/src/mod{c}.py", f"+++ b/src/mod{c}.py", f"@@ -10,25 +10,25 @@ class Mod{c}:"]
        old = body[:25]
        out += [" " + s for s in old[:12]] + [f"-    rate = {c}.5", f"+    rate = Decimal('{c}.50')"]
        out += [" " + s for s in old[13:]]
        if c < commits - 1:
            out.append("")
        needles += [f"commit {sha}", f"    {subject}", f"+    rate = Decimal('{c}.50')", f"-    rate = {c}.5",
                    " 1 file changed, 1 insertion(+), 1 deletion(-)", f" src/mod{c}.py | 2 +-"]
    return "\n".join(out) + "\n", needles


def gen_plain_diff_u() -> tuple[str, list[str]]:
    """`diff -u old new` (no `diff` line), then `svn diff` and `hg diff` sections, all with wide context."""
    rng = random.Random(9)
    body = _code_lines(rng, 120)
    out = ["--- config/old.ini\t2024-01-01 10:00:00.000000000 +0000",
           "+++ config/new.ini\t2024-02-01 10:00:00.000000000 +0000",
           "@@ -1,40 +1,40 @@"]
    out += [" " + s for s in body[:19]] + ["-timeout = 30", "+timeout = 45"] + [" " + s for s in body[20:40]]
    out += ["Index: trunk/app/main.c", "=" * 67, "--- trunk/app/main.c\t(revision 1201)",
            "+++ trunk/app/main.c\t(working copy)", "@@ -100,30 +100,31 @@"]
    out += [" " + s for s in body[40:55]] + ["+    free(buffer);"] + [" " + s for s in body[55:70]]
    out += ["diff -r 1a2b3c4d5e6f -r 6f5e4d3c2b1a lib/util.js", "--- a/lib/util.js\tThu Jan 01 00:00:00 1970 +0000",
            "+++ b/lib/util.js\tThu Jan 01 00:00:00 1970 +0000", "@@ -7,30 +7,30 @@"]
    out += [" " + s for s in body[70:85]] + ["-export const LIMIT = 10;", "+export const LIMIT = 20;"]
    out += [" " + s for s in body[86:100]]
    needles = ["--- config/old.ini\t2024-01-01 10:00:00.000000000 +0000", "-timeout = 30", "+timeout = 45",
               "Index: trunk/app/main.c", "+    free(buffer);", "diff -r 1a2b3c4d5e6f -r 6f5e4d3c2b1a lib/util.js",
               "-export const LIMIT = 10;", "+export const LIMIT = 20;"]
    return "\n".join(out) + "\n", needles


def gen_noise_sections() -> tuple[str, list[str], list[str]]:
    """A diff with a lockfile, a vendored tree, a minified bundle, a generated file and a binary patch
    around one real change. Returns (text, needles, lines that must be folded away)."""
    rng = random.Random(13)
    out: list[str] = []
    gone: list[str] = []
    # a real change
    out += ["diff --git a/src/app.ts b/src/app.ts", "index 1111111..2222222 100644", "--- a/src/app.ts",
            "+++ b/src/app.ts",
            "@@ -3,7 +3,7 @@ import { api } from './api';", " const a = 1;", " const b = 2;", " const c = 3;",
            "-export const RETRIES = 3;", "+export const RETRIES = 5;", " const d = 4;", " const e = 5;",
            " const f = 6;"]
    # lockfile
    lock = []
    for i in range(300):
        name = f"pkg-{rng.choice(WORDS)}-{i}"
        lock += [f'+    "node_modules/{name}": {{', f'+      "version": "1.{i}.0",',
                 f'+      "integrity": "sha512-{rng.getrandbits(128):032x}"', "+    },"]
    lock_removed = [f'-      "version": "0.{i}.9",' for i in range(40)]
    out += ["diff --git a/package-lock.json b/package-lock.json", "index 3333333..4444444 100644",
            "--- a/package-lock.json", "+++ b/package-lock.json",
            f"@@ -10,{40 + 3} +10,{len(lock) + 3} @@", '   "packages": {', '     "": {', '       "name": "app"']
    out += lock_removed + lock
    gone += lock[:5] + lock_removed[:3]
    # vendored
    vend = ["+" + s for s in _code_lines(rng, 120, "\t")]
    out += ["diff --git a/vendor/github.com/acme/lib/x.go b/vendor/github.com/acme/lib/x.go", "new file mode 100644",
            "index 0000000..5555555", "--- /dev/null", "+++ b/vendor/github.com/acme/lib/x.go",
            f"@@ -0,0 +1,{len(vend)} @@"] + vend
    gone += [v for v in vend if len(v) > 20][:3]
    # minified, by its name and by its lines
    mini = "+!function(e){" + ";".join(f"var a{i}=e.{rng.choice(WORDS)}({i})" for i in range(400)) + "}(window);"
    out += ["diff --git a/public/app.min.js b/public/app.min.js", "index 6666666..7777777 100644",
            "--- a/public/app.min.js", "+++ b/public/app.min.js", "@@ -1 +1 @@", "-!function(e){var a=1}(window);",
            mini]
    gone.append(mini)
    blob = "+" + ",".join(f"{rng.random():.6f}" for _ in range(600))
    out += ["diff --git a/data/weights.txt b/data/weights.txt", "index 8888888..9999999 100644",
            "--- a/data/weights.txt", "+++ b/data/weights.txt", "@@ -1,2 +1,2 @@", "-0.5,0.25", blob, " # end"]
    gone.append(blob)
    # generated by banner
    gen = ["+// Code generated by protoc-gen-go. DO NOT EDIT.", "+// source: api/v1/service.proto", "+"]
    gen += ["+" + s for s in _code_lines(rng, 80, "\t")]
    out += ["diff --git a/api/v1/service.go b/api/v1/service.go", "index aaaaaaa..bbbbbbb 100644",
            "--- a/api/v1/service.go", "+++ b/api/v1/service.go", f"@@ -1,2 +1,{len(gen)} @@", "-// old", "-package v1"]
    out += gen
    gone += [g for g in gen[3:] if len(g) > 20][:3]
    # a binary patch
    data = ["zcmV-D0mc8p2mk;mFd+b@NkJDS" + "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef0123456789")
                                               for _ in range(60)) for _ in range(40)]
    out += ["diff --git a/assets/logo.png b/assets/logo.png", "index ccccccc..ddddddd 100644", "GIT binary patch",
            "literal 4123"] + data + ["", "literal 3981"] + data[:20] + [""]
    gone += data[:3]
    # a plain binary line and a small real change at the end
    out += ["diff --git a/assets/icon.ico b/assets/icon.ico", "index eeeeeee..fffffff 100644",
            "Binary files a/assets/icon.ico and b/assets/icon.ico differ",
            "diff --git a/README.md b/README.md", "index 1212121..3434343 100644", "--- a/README.md", "+++ b/README.md",
            "@@ -1,3 +1,3 @@", " # App", "-Version 1.4", "+Version 1.5", " More text."]
    needles = ["diff --git a/src/app.ts b/src/app.ts", "-export const RETRIES = 3;", "+export const RETRIES = 5;",
               "diff --git a/package-lock.json b/package-lock.json",
               "diff --git a/vendor/github.com/acme/lib/x.go b/vendor/github.com/acme/lib/x.go",
               "diff --git a/public/app.min.js b/public/app.min.js", "diff --git a/data/weights.txt b/data/weights.txt",
               "diff --git a/api/v1/service.go b/api/v1/service.go", "diff --git a/assets/logo.png b/assets/logo.png",
               "Binary files a/assets/icon.ico and b/assets/icon.ico differ", "-Version 1.4", "+Version 1.5"]
    return "\n".join(out) + "\n", needles, gone


def _py_function(rng: random.Random, name: str, body: int) -> list[str]:
    lines = [f"def {name}(iterable, *, key=None, strict=False):", f'    """Return the {name} of *iterable*.', "",
             "    >>> list(" + name + "([1, 2, 3]))", "    [1, 2, 3]", '    """']
    return lines + _code_lines(rng, body) + ["    return result", "", ""]


def gen_big_feature_diff(functions: int = 40) -> tuple[str, list[str], list[str]]:
    """A huge diff: new functions in a module and their tests; changed lines alone past BIG_CHANGED."""
    rng = random.Random(21)
    out: list[str] = []
    signatures = []
    new = []
    for f in range(functions):
        name = f"{rng.choice(WORDS)}_{rng.choice(WORDS)}_{f}"
        fn = _py_function(rng, name, rng.randint(10, 30))
        signatures.append("+" + fn[0])
        new += fn
    out += ["diff --git a/pkg/core.py b/pkg/core.py", "index 1234567..89abcde 100644", "--- a/pkg/core.py",
            "+++ b/pkg/core.py", "@@ -1,6 +1,7 @@", " import os", " import sys", "-__version__ = '2.3.0'",
            "+__version__ = '2.4.0'", "+import math", " ", " ", f"@@ -400,3 +401,{3 + len(new)} @@ def last():",
            "     pass", " ", " "]
    out += ["+" + s for s in new]
    tests = []
    for t in range(functions):
        tests += [f"class Test{t}(TestCase):", f"    def test_basic_{t}(self):"] + _code_lines(rng, 6, "        ") + [
            f"    def test_edge_{t}(self):"] + _code_lines(rng, 5, "        ") + [""]
    out += ["diff --git a/tests/test_core.py b/tests/test_core.py", "index 2345678..9abcdef 100644",
            "--- a/tests/test_core.py", "+++ b/tests/test_core.py", f"@@ -50,3 +50,{3 + len(tests)} @@",
            " ", " ", " "] + ["+" + s for s in tests]
    needles = ["diff --git a/pkg/core.py b/pkg/core.py", "+__version__ = '2.4.0'", "-__version__ = '2.3.0'",
               "diff --git a/tests/test_core.py b/tests/test_core.py", *signatures, "+class Test7(TestCase):"]
    assert len(new) + len(tests) > BIG_CHANGED
    return "\n".join(out) + "\n", needles, signatures


# --------------------------------------------------------------------------- synthetic tests


def test_wide_context_is_trimmed_to_three_lines():
    text, needles = gen_git_diff_u_big_context()
    assert ENGINE.detect(Part(text)) >= 0.9
    result = check(text, needles, min_reduction=0.5)
    out = _lines(result.text)
    for i, line in enumerate(out):
        if line.startswith("+    balance_"):
            # the three lines on each side of the change are kept as they were
            assert out[i - 1].startswith("-") and not MARKER_RE.fullmatch(out[i - 2])
            assert all(not MARKER_RE.fullmatch(out[j]) for j in range(i - 4, i - 1))
            assert all(not MARKER_RE.fullmatch(out[j]) for j in range(i + 1, i + 4))
            assert MARKER_RE.fullmatch(out[i - 5]) and MARKER_RE.fullmatch(out[i + 4])
    assert "unchanged" in result.text
    for line in changed_lines(text):
        assert line in out


def test_git_log_p_keeps_commits_messages_and_stats():
    text, needles = gen_git_log_p()
    assert ENGINE.detect(Part(text)) >= 0.9
    assert ENGINE.detect(Part(text, tool_name="Bash", tool_input="git log -p --stat -U12")) >= 0.9
    result = check(text, needles, min_reduction=0.25)
    out = result.text.splitlines()
    for line in text.splitlines():
        if line.startswith(("commit ", "Author:", "Date:", "diff --git", "@@")) or re.match(r"    \S| \S.* \| ", line):
            assert line in out, line


def test_plain_svn_and_hg_diffs():
    text, needles = gen_plain_diff_u()
    assert ENGINE.detect(Part(text)) >= 0.9
    check(text, needles, min_reduction=0.3)


def test_lockfile_vendored_minified_generated_binary_collapse():
    text, needles, gone = gen_noise_sections()
    assert ENGINE.detect(Part(text)) >= 0.9
    result = check(text, needles, min_reduction=0.85)
    out = _lines(result.text)
    for line in gone:
        assert line not in out, line[:80]
    # each collapsed section is its header line and one marker with its counts
    for header, label in (("diff --git a/package-lock.json", "added lockfile lines"),
                          ("diff --git a/vendor/", "added vendored lines"),
                          ("diff --git a/public/app.min.js", "1 added minified line,"),
                          ("diff --git a/data/weights.txt", "1 removed minified line"),
                          ("diff --git a/api/v1/service.go", "added generated lines"),
                          ("diff --git a/assets/logo.png", "binary patch lines")):
        i = next(k for k, line in enumerate(out) if line.startswith(header))
        m = MARKER_RE.fullmatch(out[i + 1])
        assert m and label in m["what"], (header, out[i + 1])
        assert out[i + 2].startswith("diff --git ")
    lock = re.search(r"\(([\d,]+) added lockfile lines, ([\d,]+) removed lockfile lines\)", result.text)
    assert lock and lock.group(1) == "1,200" and lock.group(2) == "40"
    # the small sections stay whole
    assert "@@ -3,7 +3,7 @@ import { api } from './api';" in out
    assert " const c = 3;" in out and " const d = 4;" in out


def test_big_diff_folds_long_runs_but_keeps_signatures():
    text, needles, signatures = gen_big_feature_diff()
    assert ENGINE.detect(Part(text)) >= 0.9
    result = check(text, needles, min_reduction=0.4)
    out = _lines(result.text)
    kinds = " ".join(m["what"] for m in markers_in(result.text, ccr_id(text)))
    assert "added" in kinds
    # the first line of each run and the last one are kept
    assert "+import math" in out
    assert "+    return result" in out
    # a test file in a huge diff keeps its outermost declarations: the test classes
    assert sum(1 for line in out if line.startswith("+class Test")) == 40


def test_big_diff_keeps_lines_with_query_words():
    text, needles, _ = gen_big_feature_diff()
    plain, _ = compress(text)
    assert plain is not None
    plain_lines = set(_lines(plain.text))
    # a line folded without a query, holding a token found on no other line
    counts: dict[str, int] = {}
    for line in _lines(text):
        for token in set(re.findall(r"\b[a-z]+_\d+\b", line)):
            counts[token] = counts.get(token, 0) + 1
    folded = next(line for line in _lines(text) if line.startswith("+    ") and line not in plain_lines
                  and any(counts.get(t) == 1 for t in re.findall(r"\b[a-z]+_\d+\b", line)))
    token = next(t for t in re.findall(r"\b[a-z]+_\d+\b", folded) if counts[t] == 1)
    result = check(text, [*needles, folded], query=f"where is {token} computed?")
    assert len(result.text) < len(plain.text) + 400
    # a word found all over the diff does not keep every line holding it
    common = check(text, needles, query="what about the ledger and the balance?")
    assert len(common.text) < len(plain.text) * 1.1


def test_deleted_file_is_folded_keeping_its_declarations():
    rng = random.Random(4)
    body = []
    for f in range(6):
        body += [f"def helper_{f}(x):"] + _code_lines(rng, 12) + [""]
    text = "\n".join(["diff --git a/pkg/legacy.py b/pkg/legacy.py", "deleted file mode 100644",
                      "index 1234567..0000000", "--- a/pkg/legacy.py", "+++ /dev/null",
                      f"@@ -1,{len(body)} +0,0 @@"] + ["-" + s for s in body]) + "\n"
    needles = ["diff --git a/pkg/legacy.py b/pkg/legacy.py", "deleted file mode 100644"]
    needles += [f"-def helper_{f}(x):" for f in range(6)]
    result = check(text, needles, min_reduction=0.5)
    assert "removed" in result.text


def test_the_same_change_over_many_files_is_shown_once():
    out = []
    for i in range(30):
        out += [f"diff --git a/src/pkg/mod_{i:02d}.py b/src/pkg/mod_{i:02d}.py", f"index {i:07x}..{i + 1:07x} 100644",
                f"--- a/src/pkg/mod_{i:02d}.py", f"+++ b/src/pkg/mod_{i:02d}.py", f"@@ -{i + 1},7 +{i + 1},7 @@",
                f" # module {i} of the package, with its own docstring line", f" import os  # {i}",
                " import sys", "-from legacy.helpers import parse_config, load_settings",
                "+from core.config import parse_config, load_settings", f" import json  # {i}",
                f" LOG = logging.getLogger('pkg.mod_{i:02d}')", f" VERSION = '{i}.0'"]
    text = "\n".join(out) + "\n"
    needles = ["-from legacy.helpers import parse_config, load_settings",
               "+from core.config import parse_config, load_settings"]
    needles += [f"diff --git a/src/pkg/mod_{i:02d}.py b/src/pkg/mod_{i:02d}.py" for i in range(30)]
    result = check(text, needles, min_reduction=0.2)
    assert result.text.count("+from core.config import parse_config, load_settings") == 1
    assert result.text.count("same change as above") == 29
    # every hunk header stays, so the reader still sees where the change was made
    assert result.text.count("@@ -") == 30


def test_changelog_is_kept_whole_in_a_big_diff():
    text, needles, _ = gen_big_feature_diff()
    entries = [f"+* Added ``{w}_{i}`` to the toolkit (thanks to contributor {i})" for i, w in
               enumerate(WORDS * 4)]
    log = ["diff --git a/CHANGELOG.md b/CHANGELOG.md", "index 1111111..2222222 100644", "--- a/CHANGELOG.md",
           "+++ b/CHANGELOG.md", f"@@ -1,3 +1,{3 + len(entries)} @@", " # Changelog", " ", " ## 2.3.0"]
    text = "\n".join(log[:5] + ["+## 2.4.0"] + entries[:-1] + log[5:]) + "\n" + text
    result = check(text, [*needles, *entries[:-1], "+## 2.4.0"])
    assert "## 2.3.0" in result.text


def gen_big_polyglot() -> tuple[str, list[str]]:
    """New Go, TypeScript and Rust files in one huge diff: their declarations survive the folding."""
    rng = random.Random(8)
    files = []
    sigs = []

    def body(n: int, indent: str) -> list[str]:
        return [f"{indent}{rng.choice(WORDS)}{i} := {rng.choice(WORDS)}(ctx, {i})" for i in range(n)]

    go = ["package billing", "", "import (", '\t"context"', '\t"fmt"', ")", ""]
    for i in range(25):
        sig = f"func (s *Service) Settle{i}(ctx context.Context, id string) (*Receipt, error) {{"
        sigs.append("+" + sig)
        go += [f"// Settle{i} settles one account.", sig] + body(rng.randint(12, 20), "\t")
        go += ["\treturn nil, nil", "}", ""]
    files.append(("internal/billing/settle.go", go))
    ts = ["import { api } from './api';", ""]
    for i in range(25):
        sig = f"export async function fetchInvoice{i}(id: string, opts?: Options): Promise<Invoice> {{"
        sigs.append("+" + sig)
        ts += [sig] + [f"  const v{j} = await api.get(`/invoices/${{id}}/{j}`);" for j in range(rng.randint(12, 20))]
        ts += ["  return v0;", "}", ""]
    files.append(("web/src/invoices.ts", ts))
    rs = ["use std::collections::HashMap;", ""]
    for i in range(25):
        sig = f"pub fn balance_{i}(ledger: &Ledger, account: &str) -> Result<i64, LedgerError> {{"
        sigs.append("+" + sig)
        rs += [sig] + [f"    let x{j} = ledger.entry(account, {j})?;" for j in range(rng.randint(12, 20))]
        rs += ["    Ok(x0)", "}", ""]
    files.append(("src/ledger.rs", rs))
    out = []
    for path, lines in files:
        out += [f"diff --git a/{path} b/{path}", "new file mode 100644", "index 0000000..1234567", "--- /dev/null",
                f"+++ b/{path}", f"@@ -0,0 +1,{len(lines)} @@"] + ["+" + s for s in lines]
    return "\n".join(out) + "\n", sigs


def test_big_polyglot_diff_keeps_declarations():
    text, sigs = gen_big_polyglot()
    assert ENGINE.detect(Part(text)) >= 0.9
    check(text, [*sigs, "+// Settle5 settles one account."], min_reduction=0.4)


def test_one_long_line_does_not_make_a_file_minified():
    ctx = [f" row {i} of the fixture file" for i in range(6)]
    long_line = "+" + "x" * 3000
    body = ["diff --git a/tests/data/fixture.txt b/tests/data/fixture.txt", "index 1..2 100644",
            "--- a/tests/data/fixture.txt", "+++ b/tests/data/fixture.txt", "@@ -1,30 +1,33 @@"] + ctx[:3] + [
        long_line, "+short one", "+short two", "-short three"] + ctx[3:] + [f" tail {i}" for i in range(24)]
    text = "\n".join(body) + "\n"
    result = check(text, ["+short one", "+short two", "-short three", long_line])
    assert "minified" not in result.text


def test_many_adjacent_vendored_or_binary_files_share_one_marker():
    rng = random.Random(17)
    out = ["diff --git a/go.mod b/go.mod", "index 1..2 100644", "--- a/go.mod", "+++ b/go.mod", "@@ -3,3 +3,3 @@",
           " go 1.22", "-require github.com/acme/lib v1.2.0", "+require github.com/acme/lib v1.3.0", " "]
    for i in range(12):
        body = ["+" + s for s in _code_lines(rng, 15, "\t")]
        path = f"vendor/github.com/acme/lib/file_{i:02d}.go"
        out += [f"diff --git a/{path} b/{path}", "index 3..4 100644", f"--- a/{path}", f"+++ b/{path}",
                f"@@ -1,0 +1,{len(body)} @@"] + body
    for i in range(6):
        out += [f"diff --git a/img/icon_{i}.png b/img/icon_{i}.png", "index 5..6 100644",
                f"Binary files a/img/icon_{i}.png and b/img/icon_{i}.png differ"]
    out += ["diff --git a/main.go b/main.go", "index 7..8 100644", "--- a/main.go", "+++ b/main.go", "@@ -1,3 +1,3 @@",
            " package main", "-// v1", "+// v2", " func main() {}"]
    text = "\n".join(out) + "\n"
    result = check(text, ["+require github.com/acme/lib v1.3.0", "diff --git a/main.go b/main.go", "+// v2",
                          "diff --git a/vendor/github.com/acme/lib/file_00.go b/vendor/github.com/acme/lib/file_00.go",
                          "diff --git a/img/icon_0.png b/img/icon_0.png"], min_reduction=0.7)
    assert "(12 vendored files)" in result.text and "(6 binary files)" in result.text
    assert "file_01.go" not in result.text


def test_small_generated_version_file_is_read_like_any_other():
    ctx = [f" # line {i} of the version module, kept as context" for i in range(20)]
    body = ["diff --git a/pkg/_version.py b/pkg/_version.py", "index 1..2 100644", "--- a/pkg/_version.py",
            "+++ b/pkg/_version.py", "@@ -1,24 +1,24 @@",
            " # This file was generated by 'versioneer.py' from revision-control system data.", " ", " import json",
            "-version = '0.12.1'", "+version = '1.0.0'"] + ctx
    text = "\n".join(body) + "\n"
    result = check(text, ["-version = '0.12.1'", "+version = '1.0.0'"])
    assert "generated lines" not in result.text and "+version = '1.0.0'" in result.text


def test_small_diff_with_three_lines_of_context_is_left_alone():
    text = "\n".join(["diff --git a/a.py b/a.py", "index 1..2 100644", "--- a/a.py", "+++ b/a.py",
                      "@@ -1,7 +1,7 @@", " one", " two", " three", "-four", "+FOUR", " five", " six", " seven"]) + "\n"
    assert ENGINE.detect(Part(text)) >= 0.9
    result, _ = compress(text)
    assert result is None


def test_lines_that_look_like_headers_inside_hunks():
    """A removed `-- x` line shows as `--- x`; an added `++ y` as `+++ y`: the hunk counts keep them lines."""
    ctx = [f" context line {i} of the sql file with some words" for i in range(30)]
    text = "\n".join(["diff --git a/db/schema.sql b/db/schema.sql", "index 1..2 100644", "--- a/db/schema.sql",
                      "+++ b/db/schema.sql", "@@ -1,32 +1,32 @@"] + ctx[:15] + ["--- old comment", "+++ new comment"]
                     + ctx[15:] + ["diff --git a/b.txt b/b.txt", "index 3..4 100644", "--- a/b.txt", "+++ b/b.txt",
                                   "@@ -1,20 +1,20 @@"] + ctx[:10] + ["-x", "+y"] + ctx[10:19]) + "\n"
    result = check(text, ["--- old comment", "+++ new comment", "-x", "+y", "diff --git a/b.txt b/b.txt"])
    out = _lines(result.text)
    i = out.index("--- old comment")
    assert out[i - 3:i] == ctx[12:15] and out[i + 2:i + 5] == ctx[15:18]
    assert MARKER_RE.fullmatch(out[i - 4]) and MARKER_RE.fullmatch(out[i + 5])


def test_no_newline_markers_and_crlf():
    ctx = [f" line {i} of a windows file" for i in range(40)]
    body = ["diff --git a/w.txt b/w.txt", "index 1..2 100644", "--- a/w.txt", "+++ b/w.txt", "@@ -1,41 +1,41 @@"]
    body += ctx + ["-last", "\\ No newline at end of file", "+LAST", "\\ No newline at end of file"]
    for sep in ("\n", "\r\n"):
        text = sep.join(body) + sep
        result = check(text, ["-last", "+LAST", "\\ No newline at end of file", "@@ -1,41 +1,41 @@"])
        assert result.text.count("\\ No newline at end of file") == 2


def test_colour_diff():
    ctx = [f" \x1b[0mline {i} of the colour diff\x1b[m" for i in range(30)]
    body = ["\x1b[1mdiff --git a/c.txt b/c.txt\x1b[m", "\x1b[1mindex 1..2 100644\x1b[m", "\x1b[1m--- a/c.txt\x1b[m",
            "\x1b[1m+++ b/c.txt\x1b[m", "\x1b[36m@@ -1,31 +1,31 @@\x1b[m"] + ctx[:15] + [
        "\x1b[31m-old value\x1b[m", "\x1b[32m+new value\x1b[m"] + ctx[15:]
    text = "\n".join(body) + "\n"
    assert ENGINE.detect(Part(text)) >= 0.9
    check(text, ["\x1b[31m-old value\x1b[m", "\x1b[32m+new value\x1b[m"], min_reduction=0.3)


def test_word_diff():
    ctx = [f"        value_{i} = compute(value_{i - 1})" for i in range(1, 40)]
    body = ["diff --git a/w.py b/w.py", "index 1..2 100644", "--- a/w.py", "+++ b/w.py", "@@ -1,40 +1,40 @@"]
    body += ctx[:20] + ["        total = [-sum(values)-]{+fsum(values)+}", "{+import math+}"] + ctx[20:]
    text = "\n".join(body) + "\n"
    result = check(text, ["        total = [-sum(values)-]{+fsum(values)+}", "{+import math+}"], min_reduction=0.4)
    out = _lines(result.text)
    i = out.index("        total = [-sum(values)-]{+fsum(values)+}")
    assert out[i - 3:i] == ctx[17:20]


def test_combined_diff_of_a_merge():
    ctx = [f"  line {i} of the merged file" for i in range(30)]
    body = ["diff --cc src/merge.c", "index 1111111,2222222..3333333", "--- a/src/merge.c", "+++ b/src/merge.c",
            "@@@ -1,30 -1,30 +1,31 @@@"] + ctx[:15] + ["- int a = 1;", " -int a = 2;", "++int a = 3;"] + ctx[15:]
    text = "\n".join(body) + "\n"
    assert ENGINE.detect(Part(text)) >= 0.8
    check(text, ["- int a = 1;", " -int a = 2;", "++int a = 3;", "@@@ -1,30 -1,30 +1,31 @@@"])


def test_format_patch_mail():
    ctx = [f" row {i} in the table" for i in range(30)]
    body = ["From 1234567890abcdef1234567890abcdef12345678 Mon Sep 17 00:00:00 2001", "From: Dev <dev@example.org>",
            "Date: Tue, 4 Mar 2025 10:00:00 +0100", "Subject: [PATCH 1/2] Raise the limit", "", "Because.", "---",
            " t.txt | 2 +-", " 1 file changed, 1 insertion(+), 1 deletion(-)", "",
            "diff --git a/t.txt b/t.txt", "index 1..2 100644", "--- a/t.txt", "+++ b/t.txt",
            "@@ -1,31 +1,31 @@"] + ctx[:15] + ["-limit 1", "+limit 2"] + ctx[15:29] + ["-- ", "2.43.0", ""]
    text = "\n".join(body) + "\n"
    check(text, ["Subject: [PATCH 1/2] Raise the limit", " 1 file changed, 1 insertion(+), 1 deletion(-)",
                 "-limit 1", "+limit 2", "-- ", "2.43.0"])


def test_hunk_counts_wrong_or_missing():
    ctx = [f" text {i} that goes on for a while" for i in range(30)]
    wrong = ["--- a/x", "+++ b/x", "@@ -1,99 +1,99 @@"] + ctx[:12] + ["-a", "+b"] + ctx[12:] + ["trailing words"]
    bare = ["--- a/y", "+++ b/y", "@@ @@"] + ctx[:12] + ["-a", "+b"] + ctx[12:]
    for body in (wrong, bare):
        text = "\n".join(body) + "\n"
        result, part_id = compress(text)
        if result is not None:
            assert expand_markers(text, result.text, part_id) == text
            assert "-a" in result.text and "+b" in result.text


def test_stat_only_output_is_detected_and_left_alone():
    text = "\n".join([f" src/module_{i}.py | {i + 3} ++{'-' * (i % 4)}" for i in range(20)]
                     + [" 20 files changed, 120 insertions(+), 30 deletions(-)"]) + "\n"
    assert ENGINE.detect(Part(text)) >= 0.8
    assert compress(text)[0] is None


def test_read_of_a_patch_file_through_the_pipeline():
    text, needles = gen_git_diff_u_big_context()
    numbered = "".join(f"{i:>6}\t{line}\n" for i, line in enumerate(text.splitlines(), 1))
    outcome = Pipeline().run(Part(numbered, tool_name="Read", tool_input="/tmp/fix.patch"))
    assert outcome.engine == "diff" and outcome.kind == KIND and outcome.part_id == ccr_id(numbered)
    assert len(outcome.text) < len(numbered) * 0.5
    for needle in needles:
        assert needle in outcome.text


@pytest.mark.parametrize("text", [
    "", "\n", "x", "@@", "@@ -1 +1 @@", "diff --git a/x b/x\n", "--- a\n+++ b\n@@ -1,3 +1,3 @@\n",
    "+" * 5000, "-\n" * 50, "@@ -1,5 +1,5 @@\n" * 40, "diff --git\n@@ -x,y +z @@\n \n \n \n \n \n \n",
    "\x00\x01\x02\n" * 30, "@@ -1,100 +1,100 @@\n" + " \n" * 10,
])
def test_edge_cases_do_not_raise(text):
    result, part_id = compress(text)
    if result is not None:
        assert expand_markers(text, result.text, part_id) == text
        assert len(result.text) < len(text)
    ENGINE.detect(Part(text))


def test_other_shapes_are_not_mine():
    prose = "\n".join(["# Notes", "", "- first point about the design", "- second point", "+ a plus bullet",
                       "  continued text", "Some paragraph that mentions diff and patch words."] * 10)
    code = "\n".join(["def f(x):", "    return x - 1", "", "x = f(3) + f(4)"] * 20)
    pytest_diff = "\n".join(["E       AssertionError: assert [1, 2] == [1, 3]", "E         At index 1 diff: 2 != 3",
                             "E         - [1, 3]", "E         + [1, 2]"] * 5)
    for text in (prose, code, pytest_diff):
        assert ENGINE.detect(Part(text)) <= 0.1


def test_200kb_same_bytes_every_run():
    # speed on big parts is measured by scripts/bench_engine_latency.py, not timed here
    text, _, _ = gen_big_feature_diff(functions=230)
    ctx_text, _ = gen_git_diff_u_big_context()
    text = text + ctx_text * 3
    assert len(text) >= 150_000
    first = ENGINE.compress(Part(text), Context(part_id=ccr_id(text), deadline=deadline_after(60)))
    assert first is not None and first.omitted > 0
    again = ENGINE.compress(Part(text), Context(part_id=ccr_id(text), deadline=deadline_after(60)))
    assert again.text == first.text


def test_deadline_raises_timeout():
    from headroom_cli.engines.base import EngineTimeout

    text, _, _ = gen_big_feature_diff(functions=200)
    with pytest.raises(EngineTimeout):
        ENGINE.compress(Part(text), Context(part_id=ccr_id(text), deadline=deadline_after(-1)))
