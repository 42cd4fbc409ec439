"""The diff engine: keep headers, hunk headers and every changed line; fold unchanged context and noise.

Unified diffs (``git diff`` with any ``-U``, ``diff -u`` / ``diff -ru``, ``svn diff``, ``hg diff``),
``git show``, ``git log -p`` and ``format-patch`` mail (commit header and message, then the diffs),
``--stat`` summaries, combined diffs of merges and ``--word-diff`` / ``--color-words`` output share one
grammar: file sections (``diff ...``, ``index``/mode/rename lines, ``---``/``+++``), hunks
(``@@ -a,b +c,d @@`` and lines prefixed `` ``, ``-``, ``+``, ``\\``), and free text around them (commit
headers, messages, stat blocks), which is always kept whole. The engine works in one pass:

1. parse the lines into sections and hunks, following each hunk's line counts (so that a removed line
   ``-- x`` or an indented commit message after a hunk is never mistaken for something else), and
   falling back to line shapes where a hunk header carries no counts;
2. collapse the sections nobody reads line by line to their first header line and one marker with
   their counts: lockfiles, vendored trees, generated files (by name, or by a ``DO NOT EDIT`` /
   ``@generated`` banner on a big change), minified files (by name, or by mostly very long changed
   lines) and binary files; a run of ``GROUP_MIN`` adjacent sections of one class shares one marker;
3. in every other hunk keep every changed line and ``CONTEXT`` unchanged lines on each side of each
   change, and fold the rest of each run of unchanged lines (``git diff -U20``, whole-file diffs); a
   hunk whose changed lines repeat those of a hunk shown above (one edit made in many files) keeps
   only its header;
4. when the changed lines alone are huge (``BIG_CHANGED`` lines), fold the middle of long runs of
   added or removed lines too, keeping each run's first and last lines, every line that declares
   something (``def``, ``class``, ``func``, ``fn``, ``function``, ``struct``, ...) with the comment
   above it and the line after it, and every line holding a rare word of the question; test files
   are cut down to their outline (first change, outermost declarations), changelogs are kept whole,
   and the content of a deleted file is folded this way whatever the size of the diff.

Every fold is one marker naming the 1-based line range of the original and what it held, so that
expanding the markers gives back the original exactly. A fold whose marker would cost about as much
as its lines is not made. Hunk headers keep their original numbers, so they still say where a change
sits in the file. Input with ANSI colours (``--color``) is parsed on the text without them.
"""

from __future__ import annotations

import re
from collections import Counter

from headroom_cli.engines import register
from headroom_cli.engines.base import (ANSI, Context, cpu_clock, EngineTimeout, hint_score,
                                       Part, part_terms, Result, split_lines)
from headroom_cli.markers import line_marker

CONTEXT = 3  # unchanged lines kept on each side of a change
MIN_FOLD = 3  # a shorter run of lines is never folded
FOLD_SLACK = 80  # a fold must save at least this many characters beyond its marker's length
BIG_SLACK = 200  # ... and a fold of context closer than CONTEXT lines to a change, this many
BIG_CHANGED = 600  # changed lines in the part from which long runs of changed lines are folded too
BIG_CHANGED_CHARS = 40_000  # ... or characters on changed lines
RUN_FOLD = 12  # a run of added (or removed) lines longer than this may be folded, once the part is big
RUN_HEAD = 3  # first non-blank lines of such a run, always kept
RUN_TAIL = 1  # last non-blank lines of such a run, always kept
DECL_NEXT = 1  # non-blank lines kept after a declaration inside a folded run
DELETED_HEAD = 3  # first non-blank lines of a deleted file's content, kept (its declarations too)
COMMON_TERM_LINES = 30  # a query word found more often than this (or in 5% of the lines) does not pick lines
GROUP_MIN = 4  # this many adjacent sections of one class share one marker, after the first one's header
MIN_LINES = 6  # a shorter part is left alone
CHECK_EVERY = 2048  # lines between deadline checks

# line types
OTHER, FHEAD, HHEAD, CTX, ADD, DEL, NONL = 0, 1, 2, 3, 4, 5, 6

# what markers call the lines they fold
_LABELS = {CTX: "unchanged", ADD: "added", DEL: "removed", NONL: "unchanged"}
REPEAT_LABEL = "lines: same change as above"
_NOUNS = {"binary": "binary patch", "lockfile": "lockfile", "vendored": "vendored", "generated": "generated",
          "minified": "minified"}  # "(1,200 added lockfile lines, 40 removed lockfile lines)"
_FILES = {"binary": "binary files", "lockfile": "lock files", "vendored": "vendored files",
          "generated": "generated files", "minified": "minified files"}  # a group: "(24 binary files)"

_HUNK = re.compile(r"@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
_COMBINED_HUNK = re.compile(r"(@{3,}) (?:-\d+(?:,\d+)? )+\+\d+(?:,\d+)? @{3,}")
# a line that starts a file section
_DIFF_LINE = re.compile(r"diff (?:--git|--cc|--combined|-[\w\-]+(?: [^\s]+)*|[^\s\-]\S*) \S")
_INDEX_SVN = re.compile(r"Index: \S")
# header lines that may follow a section's first line, before its first hunk
_SECTION_HEADER = re.compile(
    r"(?:index [0-9a-fA-F]+[.,]|(?:old|new|deleted|new file|deleted file) mode |(?:dis)?similarity index "
    r"|rename (?:from|to) |copy (?:from|to) |--- |\+\+\+ |Binary files |GIT binary patch|={20,}$"
    r"|Only in |Files .* differ$|Common subdirectories: |new file mode|deleted file mode|mode change )"
)
_WORD_CHANGE = re.compile(r"\[-.{0,300}?-\]|\{\+.{0,300}?\+\}|\x1b\[3[12]m")  # --word-diff, --color-words
_BINARY = re.compile(r"Binary files .* differ\s*$|GIT binary patch\s*$")
_COMMIT = re.compile(r"commit [0-9a-f]{7,64}\b")
_STAT_LINE = re.compile(r" (?:\.\.\.)?\S.*? +\| +(?:\d+ ?[+\-]*|Bin(?: \d+ -> \d+ bytes)?)\s*$")
_STAT_SUMMARY = re.compile(r" ?\d+ files? changed(?:, \d+ insertions?\(\+\))?(?:, \d+ deletions?\(-\))?\s*$")

# sections collapsed to one line and a marker
_LOCKFILES = frozenset((
    "package-lock.json", "npm-shrinkwrap.json", "yarn.lock", "pnpm-lock.yaml", "bun.lock", "bun.lockb",
    "poetry.lock", "pipfile.lock", "pdm.lock", "uv.lock", "cargo.lock", "go.sum", "go.work.sum",
    "gemfile.lock", "composer.lock", "podfile.lock", "pubspec.lock", "mix.lock", "flake.lock",
    "packages.lock.json", "project.assets.json", "gradle.lockfile", "deno.lock", "package.resolved",
    "cartfile.resolved", "conan.lock", "paket.lock", "shard.lock", "stack.yaml.lock", "cabal.project.freeze",
    "renv.lock", "conda-lock.yml", ".terraform.lock.hcl", "requirements.lock",
))
_LOCK_SUFFIX = (".lock", "-lock.json", "-lock.yaml", "-lock.yml", ".lockfile", ".lock.json", ".lock.yaml")
_GENERATED_SUFFIX = (
    ".min.js", ".min.mjs", ".min.css", "-min.js", "-min.css", ".js.map", ".css.map", ".mjs.map", ".cjs.map",
    ".ts.map", "_pb2.py", "_pb2.pyi", "_pb2_grpc.py", ".pb.go", ".pb.gw.go", ".pb.cc", ".pb.h", ".pb.swift",
    ".pb.dart", ".pbjson.dart", ".pb.ts", "_pb.js", "_pb.d.ts", ".g.dart", ".freezed.dart", ".designer.cs",
    ".g.cs", ".g.i.cs", ".generated.go", "_generated.go", ".generated.ts", ".generated.js",
    ".pyc", ".pyo", ".class", ".o", ".so", ".dll", ".dylib", ".exe", ".wasm",
)
_GENERATED_NAMES = frozenset(("pkg-info",))  # packaging metadata written by setuptools
_GENERATED_DIRS = (".egg-info/", ".dist-info/", "/__pycache__/", "/zz_generated")
_BUILD_DIRS = ("/dist/", "/build/", "/out/", "/.next/", "/public/build/")
_BUILD_SUFFIX = (".js", ".mjs", ".cjs", ".css", ".map", ".d.ts")
_VENDOR_DIRS = ("/vendor/", "/vendored/", "/_vendor/", "/node_modules/", "/third_party/", "/third-party/",
                "/thirdparty/", "/bower_components/", "/pods/", "/.yarn/")
_GENERATED_BANNER = re.compile(
    r"(?i)do not edit|@generated\b|auto-?generated (?:file|code|by)|(?:file|code) (?:is |was )?(?:automatically )?"
    r"generated by|generated by .{0,40}do not"
)
BANNER_MIN_LINES = 40  # a file with a generated-file banner is collapsed from this many changed lines ...
BANNER_MIN_CHARS = 4000  # ... or characters on changed lines
LONG_LINE = 1000  # a file whose changed lines are mostly this long is minified (or data) ...
LONG_MEAN = 200  # ... when they are this long on average too

# a line that declares something: kept inside a folded run of added or removed lines
_DECLARATION = re.compile(
    r"\s*(?:@\w[\w.]*(?:\(|$)"  # a decorator or annotation
    r"|(?:(?:export|public|private|protected|internal|static|abstract|final|async|override|virtual|inline"
    r"|extern|unsafe|pub(?:\([\w:]+\))?|const|default|sealed|open|suspend|partial|declare)\s+)*"
    r"(?:(?:def|class|function\*?|fn|func)\s+[\w<(*&$]"
    # words that also start sentences: only with a name and what follows a name in code
    r"|(?:interface|struct|enum|trait|impl|module|namespace|type|union|object|record|protocol|extension|template"
    r"|package|macro_rules!)(?:\s*<[^>]*>)?\s+[\w.:]+(?:<[^>]*>)?\s*(?:[{=(<:;]|extends\b|implements\b|where\b"
    r"|for\b|struct\b|interface\b|\w+\s*\{|$))"
    r"|(?:const|let|var)\s+\w+\s*=\s*(?:async\s*)?(?:function\b|\([^)]*\)\s*=>|\w+\s*=>)"
    r"|(?!(?:return|yield|await|throw|raise|else|new|delete|case|goto|print|assert|echo|not|and|or|in|is|if"
    r"|while|for|switch|from|import|using|do|with|elif|except|lambda)\b)"
    r"[A-Za-z_][\w:<>,*& ]*\s[*&]?[A-Za-z_][\w:]*\([^;=]*\)\s*(?:const\s*)?(?:->\s*[^{;]+)?\{?\s*$)"
)
_COMMENT = re.compile(r"\s*(?:#|//|/\*|\*|--|;;)")  # matched after a line's +/- prefix
_DECL_INDENT = 8  # a declaration indented further than this is not part of the outline
_DECL_LENGTH = 300  # longer lines are not looked at (and would make the regex slow)
_CHANGELOG_PATH = re.compile(r"(?i)(?:^|/)(?:change[-_ ]?log|changes|news|history|release[-_ ]?notes|versions|whatsnew)"
                             r"(?:\.(?:md|markdown|rst|txt|adoc|org))?$")
_TEST_PATH = re.compile(
    r"(?:^|[/\\])(?:tests?|spec|specs|__tests__|testing|testdata|fixtures?)[/\\]"
    r"|(?:^|[/\\])test_[^/\\]*$|_(?:test|spec)\.\w+$|\.(?:test|spec)\.\w+$|Tests?\.\w+$"
)

_HINTS_MINE = frozenset(("diff", "diffs", "patch", "git diff"))
_TOOL_DIFF = re.compile(r"\b(?:git\s+(?:-C\s+\S+\s+)?(?:diff|show|log\s[^|]*(?:-p\b|--patch|--stat|-u\b)|stash show"
                        r"|format-patch|range-diff)|diff\s+-\w*[uU]|svn\s+diff|hg\s+diff)\b")
_PATCH_PATH = re.compile(r"\.(?:diff|patch|rej)$")


def _strip_cr(s: str) -> str:
    return s[:-1] if s.endswith("\r") else s


def _hunk_counts(s: str) -> tuple[int, int] | None:
    m = _HUNK.match(s)
    if not m:
        return None
    old = 1 if m.group(2) is None else int(m.group(2))
    new = 1 if m.group(4) is None else int(m.group(4))
    return old, new


def _path_of(s: str) -> str:
    """The path in a ``---``/``+++`` line (without its date) or the last one on a ``diff`` line."""
    if s.startswith(("--- ", "+++ ")):
        s = s[4:].split("\t", 1)[0].strip()
        if s.startswith('"') and s.endswith('"'):
            s = s[1:-1]
        return s
    parts = s.split()
    return parts[-1].strip('"') if parts else ""


def _path_class(path: str) -> str | None:
    """'lockfile', 'generated', 'minified' or 'vendored' for a path whose changes nobody reads; None otherwise."""
    if not path or path == "/dev/null":
        return None
    p = "/" + path.replace("\\", "/").lower()
    base = p.rsplit("/", 1)[-1]
    if base in _LOCKFILES or base.endswith(_LOCK_SUFFIX):
        return "lockfile"
    if any(d in p for d in _VENDOR_DIRS):
        return "vendored"
    if base.endswith((".min.js", ".min.mjs", ".min.css", "-min.js", "-min.css")):
        return "minified"
    if base.endswith(_GENERATED_SUFFIX) or base in _GENERATED_NAMES or any(d in p for d in _GENERATED_DIRS):
        return "generated"
    if base.endswith(_BUILD_SUFFIX) and any(d in p for d in _BUILD_DIRS):
        return "generated"
    return None


# What detect() must find in its sample to score above 0: a hunk header's "@@", a "diff " or "+++ " line,
# a --stat line's "|"; or colour codes, which could hide them (detect() reads the sample without them).
_MARKS = ("@@", "diff ", "+++ ", "|", "\x1b[")


class DiffEngine:
    name = "diff"

    # ------------------------------------------------------------------ detect

    def ceiling(self, part: Part) -> float:
        """The highest score detect() can give the part without a kind hint, cheaply: 0.0 for a part whose
        sample holds none of _MARKS (every score over 0 needs a hunk, a file head or a --stat line),
        so that the router need not read its lines. (1.0 otherwise: a diff the command asked for.)"""
        sample = part.text[:20000]
        # a mark's first character first: looking for one character is many times quicker (memchr)
        return 1.0 if any(mark[0] in sample and mark in sample for mark in _MARKS) else 0.0

    def detect(self, part: Part) -> float:
        hinted = hint_score(part, _HINTS_MINE)
        if hinted is not None:
            return hinted
        sample = part.text[:20000]
        if "\x1b[" in sample:
            sample = ANSI.sub("", sample)
        lines = sample.split("\n", 200)[:200]
        n = 0
        hunks = heads = commits = stats = summary = shaped = diff_lines = 0
        prev = ""
        for raw in lines:
            s = _strip_cr(raw)
            if not s.strip():
                prev = s
                continue
            n += 1
            c = s[0]
            if c == "@" and (_HUNK.match(s) or _COMBINED_HUNK.match(s)):
                hunks += 1
                shaped += 1
            elif c == "d" and s.startswith("diff ") and _DIFF_LINE.match(s):
                diff_lines += 1
                heads += 1
                shaped += 1
            elif c == "+" and s.startswith("+++ ") and prev.startswith("--- "):
                heads += 1
                shaped += 1
            elif c in " +-\\":
                if c == " " and "|" in s and len(s) < 400 and _STAT_LINE.match(s):
                    stats += 1
                elif _STAT_SUMMARY.match(s):
                    summary += 1
                shaped += 1
            elif c == "c" and _COMMIT.match(s):
                commits += 1
            elif c in "inIGBrsOdcm" and _SECTION_HEADER.match(s):
                shaped += 1
            prev = s
        if n == 0:
            return 0.0
        share = shaped / n
        score = 0.0
        if hunks and (heads or diff_lines):
            score = 0.95 if share >= 0.5 else 0.75
        elif hunks >= 2 and share >= 0.7:
            score = 0.85
        elif hunks == 1 and share >= 0.8:
            score = 0.6
        elif summary and stats:
            score = 0.9
        elif stats >= 3 and stats >= n // 3:
            score = 0.7
        elif diff_lines and share >= 0.5:
            score = 0.7  # diff -r, diff -q: section lines without hunks
        elif commits and stats:
            score = 0.85
        tool = part.tool_input or ""
        if tool and _TOOL_DIFF.search(tool) or (part.tool_name == "Read" and _PATCH_PATH.search(tool.strip())):
            if score >= 0.5:
                score = min(1.0, score + 0.05)
            elif hunks or heads or stats:
                score = 0.7
        return score

    # ------------------------------------------------------------------ compress

    def compress(self, part: Part, ctx: Context) -> Result | None:
        try:
            return self._compress(part, ctx)
        except EngineTimeout:
            raise
        except (ValueError, IndexError):  # odd input: leave it alone
            return None

    def _compress(self, part: Part, ctx: Context) -> Result | None:
        text = part.text
        if not text:
            return None
        lines, ends_nl = split_lines(text)
        n = len(lines)
        if n < MIN_LINES:
            return None
        contents = [ANSI.sub("", s) for s in lines] if "\x1b[" in text else lines
        perf = cpu_clock
        deadline = ctx.deadline

        kind, sections, hunks = self._parse(contents, lines, perf, deadline, False)
        if ("{+" in text or "[-" in text or "\x1b[3" in text) and _word_diff(lines, kind, hunks):
            kind, sections, hunks = self._parse(contents, lines, perf, deadline, True)
        if not hunks and not any(s[3] for s in sections):
            return None

        folds: list[tuple[int, int, Counter[str], int]] = []  # [start, end), what the lines are, least saving
        collapsed: set[int] = set()
        noise = [("binary" if binary else self._section_class(contents, start, end, kind))
                 for start, _, end, binary in sections]
        si = 0
        while si < len(sections):
            if noise[si] is None:
                si += 1
                continue
            sj = si + 1  # a run of adjacent sections of the same class: one marker for all of them
            while sj < len(sections) and noise[sj] == noise[si] and sections[sj][0] == sections[sj - 1][2]:
                sj += 1
            keep_to, end = sections[si][1], sections[sj - 1][2]
            if sj - si >= GROUP_MIN:
                counts = Counter(_FILES[noise[x]] for x in range(si, sj))
            else:
                sj = si + 1
                end = sections[si][2]
                noun = _NOUNS[noise[si]]
                counts = Counter(f"{_label(kind[x])} {noun} lines" for x in range(keep_to, end)
                                 if kind[x] == ADD or kind[x] == DEL)
                if not counts:
                    counts = Counter({f"{noun} lines": end - keep_to})
            folds.append((keep_to, end, counts, FOLD_SLACK))
            collapsed.update(range(si, sj))
            si = sj

        terms = _discriminative(part_terms(part), text, n)
        changed = [x for x in range(n) if kind[x] == ADD or kind[x] == DEL]
        big = len(changed) >= BIG_CHANGED or sum(len(lines[x]) for x in changed) >= BIG_CHANGED_CHARS
        deleted = self._deleted_hunks(contents, hunks)
        section_of = self._section_index(sections, hunks)
        roles = {si: self._role(contents, sections[si]) for si in sorted(set(section_of)) if si >= 0} if big else {}
        checked = 0
        shown: set[tuple[str, ...]] = set()  # the changed lines of every hunk shown so far
        for hi, (hs, he) in enumerate(hunks):
            si = section_of[hi]
            if si in collapsed:
                continue
            checked += he - hs
            if checked > CHECK_EVERY:
                checked = 0
                if perf() > deadline:
                    raise EngineTimeout()
            key = tuple(_strip_cr(contents[x]) for x in range(hs, he) if kind[x] == ADD or kind[x] == DEL)
            if key:
                if key in shown:
                    # the very same change as a hunk above (a rename or an edit repeated over many files)
                    folds.append((hs, he, Counter({REPEAT_LABEL: he - hs}), FOLD_SLACK))
                    continue
                shown.add(key)
            role = roles.get(si)
            if role == "test" and hi not in deleted:
                self._fold_outline(contents, kind, hs, he, folds, terms)
                continue
            self._fold_context(kind, hs, he, folds, big)
            if (big and role != "changelog") or hi in deleted:
                self._fold_changes(contents, kind, hs, he, folds, terms, hi in deleted)

        if not folds:
            return None
        folds.sort(key=lambda f: f[0])
        out: list[str] = []
        omitted = 0
        part_id = ctx.part_id
        i = 0
        for a, b, counts, slack in folds:
            if a < i or b <= a:
                continue
            marker = line_marker(part_id, a + 1, b, counts)
            size = sum(map(len, lines[a:b])) + (b - a - 1)
            if size < len(marker) + slack:
                continue
            out.extend(lines[i:a])
            out.append(marker)
            omitted += b - a
            i = b
        out.extend(lines[i:])
        if not omitted:
            return None
        result = "\n".join(out) + ("\n" if ends_nl else "")
        if len(result) >= len(text):
            return None
        return Result(text=result, kind="diffs", omitted=omitted)

    # ------------------------------------------------------------------ parsing

    @staticmethod
    def _parse(contents: list[str], raw: list[str], perf, deadline: float, words: bool) -> tuple[
            bytearray, list[tuple[int, int, int, bool]], list[tuple[int, int]]]:
        """Line types, sections (start, first line a collapse may fold, end, binary) and hunk bodies [start, end)."""
        n = len(contents)
        kind = bytearray(n)
        sections: list[tuple[int, int, int, bool]] = []
        hunks: list[tuple[int, int]] = []
        sec_start = -1  # the open section, if any
        sec_keep = -1
        sec_binary = False
        in_header = False  # before the open section's first hunk

        def close(end: int) -> None:
            nonlocal sec_start
            if sec_start >= 0:
                sections.append((sec_start, max(sec_keep, sec_start + 1), end, sec_binary))
            sec_start = -1

        i = 0
        next_check = CHECK_EVERY
        while i < n:
            if i >= next_check:
                next_check += CHECK_EVERY
                if perf() > deadline:
                    raise EngineTimeout()
            s = _strip_cr(contents[i])
            c = s[:1]
            # a hunk
            if c == "@" and s.startswith("@@"):
                counts = _hunk_counts(s)
                ncols = 1
                if counts is None:
                    m = _COMBINED_HUNK.match(s)
                    ncols = len(m.group(1)) - 1 if m else 1
                if sec_start < 0:
                    sec_start, sec_keep, sec_binary = i, i, False
                in_header = False
                kind[i] = HHEAD
                if words:
                    j = DiffEngine._word_hunk_body(contents, raw, i + 1, kind)
                else:
                    j = DiffEngine._hunk_body(contents, i + 1, counts, ncols, kind)
                if j > i + 1:
                    hunks.append((i + 1, j))
                i = j
                continue
            # the start of a file section
            starts = False
            keep_to = i + 1
            if c == "d" and s.startswith("diff ") and _DIFF_LINE.match(s):
                starts = True
            elif c == "-" and s.startswith("--- ") and i + 1 < n and contents[i + 1].startswith("+++ "):
                if not (in_header and sec_start >= 0):
                    starts = True
                    keep_to = i + 2
            elif c == "I" and _INDEX_SVN.match(s) and i + 1 < n and contents[i + 1].startswith("===="):
                starts = True
            if starts:
                close(i)
                sec_start, sec_keep, sec_binary = i, keep_to, False
                in_header = True
                kind[i] = FHEAD
                if keep_to == i + 2:
                    kind[i + 1] = FHEAD
                i = keep_to
                continue
            if sec_start >= 0 and in_header and _SECTION_HEADER.match(s):
                kind[i] = FHEAD
                if _BINARY.match(s):
                    sec_binary = True
                    if s.startswith("GIT"):
                        # the patch data runs to the next section or commit
                        j = i + 1
                        while j < n:
                            t = contents[j]
                            if t.startswith(("diff ", "commit ")) or (t.startswith("--- ") and j + 1 < n
                                                                      and contents[j + 1].startswith("+++ ")):
                                break
                            j += 1
                        i = j
                        continue
                i += 1
                continue
            # anything else: free text (commit header, message, stat block); it ends the open section
            close(i)
            in_header = False
            i += 1
        close(n)
        return kind, sections, hunks

    @staticmethod
    def _word_hunk_body(contents: list[str], raw: list[str], i: int, kind: bytearray) -> int:
        """A hunk of ``--word-diff`` (``[-old-]{+new+}`` inline) or ``--color-words`` output: a line is a
        change when it holds a marked word; the hunk runs to the next header."""
        n = len(contents)
        while i < n:
            s = contents[i]
            if s.startswith(("diff ", "@@", "commit ", "Index: ")) or (
                    s.startswith("--- ") and i + 1 < n and contents[i + 1].startswith("+++ ")):
                break
            kind[i] = ADD if _WORD_CHANGE.search(raw[i]) else CTX
            i += 1
        return i

    @staticmethod
    def _hunk_body(contents: list[str], i: int, counts: tuple[int, int] | None, ncols: int, kind: bytearray) -> int:
        """Mark the lines of a hunk body starting at i; return the index after it."""
        n = len(contents)
        if counts is not None:
            old, new = counts
            while i < n and (old > 0 or new > 0):
                s = contents[i]
                c = s[:1]
                if c == " " or s == "" or s == "\r":
                    old -= 1
                    new -= 1
                    kind[i] = CTX
                elif c == "-" and old > 0:
                    old -= 1
                    kind[i] = DEL
                elif c == "+" and new > 0:
                    new -= 1
                    kind[i] = ADD
                elif c == "\\":
                    kind[i] = NONL
                else:
                    break  # the counts were wrong: end the hunk here
                i += 1
            if i < n and contents[i][:1] == "\\":
                kind[i] = NONL
                i += 1
            return i
        # no counts (a combined diff, or a header without numbers): follow the prefixes
        while i < n:
            s = contents[i]
            if s.startswith(("diff ", "@@")) or (
                    s.startswith("--- ") and i + 1 < n and contents[i + 1].startswith("+++ ")):
                break
            if s[:1] == "\\":
                kind[i] = NONL
                i += 1
                continue
            prefix = s[:ncols]
            if len(prefix) < ncols or prefix.strip(" +-"):
                if s.strip():
                    break
                kind[i] = CTX
                i += 1
                continue
            kind[i] = DEL if "-" in prefix else ADD if "+" in prefix else CTX
            i += 1
        return i

    # ------------------------------------------------------------------ decisions

    @staticmethod
    def _section_class(contents: list[str], start: int, end: int, kind: bytearray) -> str | None:
        """Why a section may be collapsed ('lockfile', 'vendored', 'generated', 'minified'), or None."""
        paths = []
        for x in range(start, min(end, start + 12)):
            if kind[x] != FHEAD:
                if kind[x] == HHEAD:
                    break
                continue
            s = _strip_cr(contents[x])
            if s.startswith(("diff ", "+++ ", "--- ", "Index: ")):
                paths.append(_path_of(s[7:] if s.startswith("Index: ") else s))
        for p in paths:
            why = _path_class(p)
            if why:
                return why
        # by content: a generated-file banner at the top of a big change, or minified lines
        longest = total = count = long_lines = 0
        banner = False
        x = start
        while x < end:
            k = kind[x]
            if k == HHEAD:
                m = None if banner else _HUNK.match(contents[x])
                if m and (m.group(1) in ("0", "1") or m.group(3) in ("0", "1")):
                    banner = any(_GENERATED_BANNER.search(contents[y]) for y in range(x + 1, min(end, x + 6)))
            elif k == ADD or k == DEL:
                ln = len(contents[x])
                total += ln
                count += 1
                long_lines += ln >= LONG_LINE
                if ln > longest:
                    longest = ln
            x += 1
        if banner and (count >= BANNER_MIN_LINES or total >= BANNER_MIN_CHARS):
            return "generated"  # a small generated file (a version stamp) is read like any other
        if longest >= LONG_LINE and total >= LONG_MEAN * count and long_lines * 2 >= count:
            return "minified"
        return None

    @staticmethod
    def _section_index(sections: list[tuple[int, int, int, bool]], hunks: list[tuple[int, int]]) -> list[int]:
        out = []
        si = 0
        for hs, _ in hunks:
            while si < len(sections) and sections[si][2] <= hs:
                si += 1
            out.append(si if si < len(sections) and sections[si][0] <= hs else -1)
        return out

    @staticmethod
    def _deleted_hunks(contents: list[str], hunks: list[tuple[int, int]]) -> set[int]:
        """Hunks that remove a whole file (``@@ -1,N +0,0 @@``)."""
        out = set()
        for hi, (hs, _) in enumerate(hunks):
            m = _HUNK.match(contents[hs - 1])
            if m and m.group(3) == "0" and m.group(4) == "0":
                out.add(hi)
        return out

    @staticmethod
    def _fold_context(kind: bytearray, hs: int, he: int, folds: list, big: bool) -> None:
        """Fold each run of unchanged lines beyond CONTEXT lines from a change.

        In a huge diff a run is also cut down to one line on each side where what that saves is worth
        well over a marker (long lines: tables, data, minified code)."""
        x = hs
        while x < he:
            if kind[x] != CTX:
                x += 1
                continue
            y = x
            while y < he and kind[y] == CTX:
                y += 1
            a = x if x == hs else x + CONTEXT  # after a change, keep CONTEXT lines
            b = y if y == he else y - CONTEXT  # before a change, keep CONTEXT lines
            if b - a >= MIN_FOLD:
                folds.append((a, b, Counter({"unchanged": b - a}), FOLD_SLACK))
            elif big:
                a = x if x == hs else x + 1
                b = y if y == he else y - 1
                if b - a >= 1:
                    folds.append((a, b, Counter({"unchanged": b - a}), BIG_SLACK))
            x = y

    @staticmethod
    def _role(contents: list[str], section: tuple[int, int, int, bool]) -> str | None:
        """'test' for a test file, 'changelog' for a changelog (the best summary of a big change), else None."""
        start, keep_to, end, _ = section
        for x in range(start, min(end, start + 12)):
            s = contents[x]
            if s.startswith(("diff ", "+++ ", "Index: ")):
                path = _path_of(s).replace("\\", "/")
                if _TEST_PATH.search(path):
                    return "test"
                if _CHANGELOG_PATH.search(path):
                    return "changelog"
                return None
        return None

    @staticmethod
    def _fold_outline(contents: list[str], kind: bytearray, hs: int, he: int, folds: list,
                      terms: tuple[str, ...]) -> None:
        """A test file's hunk in a huge diff: keep its first change, the outermost declarations among
        the changed lines (which test classes or tests were added, removed or touched) and the query
        hits; fold the rest."""
        decls: list[tuple[int, int]] = []  # (line, indentation) of changed declarations
        first = -1
        hits: list[int] = []
        for z in range(hs, he):
            k = kind[z]
            if k != ADD and k != DEL:
                continue
            if first < 0:
                first = z
                continue
            s = contents[z][1:]
            if _is_declaration(s):
                decls.append((z, len(s) - len(s.lstrip())))
            elif terms and _has_term(s, terms):
                hits.append(z)
        outer = min((d for _, d in decls), default=0)
        kept = sorted([first] * (first >= 0) + hits + [z for z, d in decls if d == outer])
        a = hs
        for z in kept + [he]:
            if z - a >= MIN_FOLD:
                folds.append((a, z, Counter(_LABELS[kind[x]] for x in range(a, z)), FOLD_SLACK))
            a = z + 1

    @staticmethod
    def _fold_changes(contents: list[str], kind: bytearray, hs: int, he: int, folds: list, terms: tuple[str, ...],
                      deleted: bool) -> None:
        """Fold the middle of long runs of added or removed lines, keeping the outline and query hits."""
        x = hs
        while x < he:
            k = kind[x]
            if k != ADD and k != DEL:
                x += 1
                continue
            y = x
            while y < he and kind[y] == k:
                y += 1
            if deleted:
                limit, head, tail = RUN_FOLD, DELETED_HEAD, 0
            else:
                limit, head, tail = RUN_FOLD, RUN_HEAD, RUN_TAIL
            if y - x > limit:
                label = "removed" if k == DEL else "added"
                a = _skip_filled(contents, x, y, head, 1)  # the first `head` lines with something on them
                end = _skip_filled(contents, y - 1, a - 1, tail, -1) + 1 if tail else y
                z = a
                while z < end:
                    line = contents[z][1:]
                    if _is_declaration(line):
                        # the declaration with the comment above it and its next line (the rest of its
                        # signature, or its summary)
                        stop = min(_skip_filled(contents, z + 1, end, DECL_NEXT, 1), end)
                        if z - 1 >= a and _COMMENT.match(contents[z - 1], 1):
                            z -= 1
                    elif terms and _has_term(line, terms):
                        stop = z + 1
                    else:
                        z += 1
                        continue
                    if z - a >= MIN_FOLD:
                        folds.append((a, z, Counter({label: z - a}), FOLD_SLACK))
                    a = z = stop
                if end - a >= MIN_FOLD:
                    folds.append((a, end, Counter({label: end - a}), FOLD_SLACK))
            x = y


def _skip_filled(contents: list[str], x: int, stop: int, count: int, step: int) -> int:
    """From x towards stop, the index after (before, stepping back) the first `count` non-blank lines."""
    while x != stop and count > 0:
        if contents[x][1:].strip():
            count -= 1
        x += step
    return x


def _word_diff(lines: list[str], kind: bytearray, hunks: list[tuple[int, int]]) -> bool:
    """Whether the hunks are word diffs: more lines with marked words than lines marked + or -."""
    prefixed = marked = 0
    for hs, he in hunks:
        for x in range(hs, min(he + 1, len(lines))):
            if kind[x] == ADD or kind[x] == DEL:
                prefixed += 1
            elif _WORD_CHANGE.search(lines[x]):
                marked += 1
    return marked > prefixed


def _discriminative(terms: tuple[str, ...], text: str, n: int) -> tuple[str, ...]:
    """The query words that pick out a few lines, not a good share of the diff."""
    if not terms:
        return ()
    low = text.lower()
    most = max(COMMON_TERM_LINES, n // 20)
    return tuple(t for t in terms if low.count(t) <= most)


def _is_declaration(s: str) -> bool:
    stripped = s.lstrip()
    return (bool(stripped) and len(s) - len(stripped) <= _DECL_INDENT and len(stripped) <= _DECL_LENGTH
            and _DECLARATION.match(stripped) is not None)


def _has_term(s: str, terms: tuple[str, ...]) -> bool:
    low = s.lower()
    return any(t in low for t in terms)


def _label(k: int) -> str:
    return "added" if k == ADD else "removed"


register(DiffEngine())
