"""The listing engine: keep the entries worth reading in a file listing or a one-line-per-item log.

Listings are long because they name everything: ``ls -l``/``ls -laR`` (``dir:`` headers, ``total N``;
also ``eza -l``, ``tar -tv`` and Windows ``dir``), ``tree`` (box drawing or ASCII, ``N directories,
M files``; also ``npm ls``), ``find``/``fd``/``git ls-files`` (one path a line), ``du`` and ``unzip
-l`` (a size first), ``git status`` (short or long form) and ``git log --oneline`` (one commit a
line, ``--graph`` too). An agent looks for a few entries: the biggest files, what a directory
holds, a named file, the revert or the security fix in a history. The engine works on shapes,
never on a particular program:

1. sniff the format from a sample of lines (the share of lines each format's regex explains) and
   parse each line into an entry (mode, owner, size, name, directory, status, commit subject) or a
   structural line (header, ``total``, summary, root, anything unrecognised: always kept);
2. choose the entries to keep by general rules: the largest files (the whole listing's and each
   directory's), the first and last entries of a directory or of a run of paths, entries whose
   mode, owner or status is rare (a setuid binary, a merge conflict), symlinks; for commit lists
   the newest commits and the notable ones (reverts, merges, tickets such as ``ABC-123``, security
   words and CVEs, releases and tags, breaking changes, hotfixes; a rule that fires on too many
   commits is routine there and stops counting). Vendored or generated trees (``node_modules``,
   ``.git``, ``__pycache__``, ``.venv``, ``dist``, ``build``, ``target``, ...) collapse to their own
   line and a count. Entries holding a selective word of the question (one that few lines hold)
   are kept too, and a ``dir:`` header or tree directory that holds one keeps its whole section;
3. every dropped run of original lines becomes one marker naming its 1-based line range and what the
   entries were (counts by extension, by commit type, by status), so expanding the markers gives
   back the original exactly. A run whose marker would cost more than its lines is kept;
4. ``tree`` output is re-rendered as well: consecutive leaf siblings that are kept share one line
   (``│   ├── a.ts, b.ts, c.ts``, with the connector of the group's last line), which keeps every
   name and drops the box-drawing prefixes that cost more tokens than the names. This is lossless
   (each name but the last gets back the ``├──`` connector), so a tree whose runs all fit reports
   nothing omitted; long runs of leaves keep their head and tail, the cap shrinking until the
   compacted tree fits a budget. Coloured trees (``tree -C``) are only folded, not compacted.

Kept lines of every other format are copied verbatim, so a line an agent quotes or greps for stays
whole. Words are found with str.find over the whole text and each line meets a regex or two, so a
200 KB listing takes about 10-15 ms on a slow machine.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections import Counter
from itertools import accumulate

from headroom_cli.engines import register
from headroom_cli.engines.base import (ANSI, Context, EngineTimeout, hint_score, Part,
                                       past, part_terms, Result, split_lines)
from headroom_cli.markers import line_marker

MIN_LINES = 12  # a shorter part is left alone
CHECK_EVERY = 2048  # lines between deadline checks
TOP_LARGEST = 3  # the largest files of a whole listing, always kept
LOG_HEAD = 5  # newest commits, always kept
LOG_TAIL = 1  # oldest commits, always kept
RULE_SHARE = 0.12  # a "notable" rule that fires on more than this share of commits is routine
RULE_FLOOR = 8  # ... unless it fires on at most this many
RARE_SHARE = 0.02  # a permission/owner/status value this rare (and in a listing of RARE_MIN+) is kept
RARE_MIN = 20
QUERY_SHARE = 0.05  # a query word in more than this share of the lines is not selective
QUERY_FLOOR = 3  # ... but one in this few lines always is
SECTION_CAP = 60  # the most entries a query-named directory keeps whole
TREE_RUNS = (64, 32, 16, 8)  # tree: the longest run of leaves kept whole, shrinking with size
TREE_BUDGET = 8_000  # ... until the compacted tree is at most this many characters (or the last step)
PATH_RUN_KEEP = (2, 1)  # path lists: first and last entries of a directory run
MARKER_COST = 96  # about the length of a marker line, in characters
MIN_RUN = 3  # a shorter dropped run is kept: its marker would save next to nothing

# --------------------------------------------------------------------------- regexes

# ls -l: optional inode / blocks columns, the mode, then the rest
_LS = re.compile(r"\s*(?:\d+\s+){0,2}([-bcdlpsDnw?.][-rwxsStTlL]{9})[.+@]?\s+(\S.*)$")
_LS_DATE = re.compile(
    r"\s(?:[A-Z][a-z]{2}\.?\s+\d{1,2}\s+(?:\d{4}|\d{1,2}:\d\d)"
    r"|\d{1,2}\.?\s+[A-Za-z][a-z]{2}\.?\s+(?:\d{4}|\d{1,2}:\d\d)"
    r"|\d{4}-\d\d-\d\d(?:[ T]\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?: ?[+-]\d{4})?)?)\s+(?=\S)"
)
# Windows dir: date, time, <DIR> or a size, the name; " Directory of C:\\x" heads a section
_WINDIR = re.compile(r"(\d{1,4}[/.\-]\d\d[/.\-]\d{2,4})\s+(\d\d?:\d\d(?::\d\d)?(?:\s?[AaPp][Mm])?)\s+"
                     r"(<DIR>|<JUNCTION>|<SYMLINKD?>|[\d,.\u00a0\u202f]+)\s+(\S.*)$")
_WINDIR_HEAD = " Directory of "
_SIZE = re.compile(r"(\d+(?:[.,]\d+)?)([KMGTPEkmgtpe]?)(?:i?[Bb])?$")
_LS_TOTAL = re.compile(r"total \d+(?:[.,]\d+)?[KMGTPkmgtp]?$")
# tree: ancestors' bars and blanks, a connector, the entry (ASCII forms from tree --charset=ascii)
_TREE = re.compile(r"([│┃|\s]*)([├└┣┗][─━]{1,2}[─━┬┳]?\s|[|`+]--\s)(?=\S)(.*)$")
_TREE_SUMMARY = re.compile(r"\d+ director(?:y|ies)(?:, \d+ files?)?$|\d+ files?$")
_TREE_SIZE = re.compile(r"\[[^\]]*\]\s+")  # tree -s / -h / -p: "[ 4096]  name"
# git log --oneline (optionally --graph): graph characters, an abbreviated or full hash, the subject
_LOG = re.compile(r"([*|\\/ _.-]*?)\b([0-9a-f]{7,12}|[0-9a-f]{40})\b\s+(\S.*)$")
_DECOR = re.compile(r"\((?:HEAD\b|tag: |[\w.\-]+/[\w.\-/]+(?:,|\)))[^)]*\)\s*")
_CONV = re.compile(r"([A-Za-z]+)(?:\([^)]*\))?(!)?: ")
_NOTABLE_RULES = (  # (name, regex on the subject); each rule is dropped when it fires too often
    ("revert", re.compile(r"(?i)\brevert")),
    ("security", re.compile(r"(?i)\b(?:security|vulnerab\w*|cve-\d{4}-\d+|ghsa-[\w-]+|xss|csrf|ssrf|injection"
                            r"|exploit\w*|rce|privilege escalation|sanitiz\w*|(?:auth\w* )?bypass\w*"
                            r"|unauthori[sz]ed|path traversal|open redirect|leak(?:s|ed|ing)? (?:of )?(?:secrets?"
                            r"|credentials?|tokens?|keys?|passwords?))\b")),
    ("ticket", re.compile(r"\b(?!(?:UTF|SHA|ISO|RFC|MD|ES|X|ECMA|PEP|HTTP)-)[A-Z][A-Z0-9]{1,9}-\d+\b")),
    ("release", re.compile(r"(?i)\brelease[ds]?\b|\bbump(?:ed|s)? (?:the )?version\b|\bversion bump\b"
                           r"|^v?\d+\.\d+(?:\.\d+)*(?:[-+][\w.]+)?$")),
    ("breaking", re.compile(r"^[A-Za-z]+(?:\([^)]*\))?!: |BREAKING")),
    ("hotfix", re.compile(r"(?i)\b(?:hotfix|rollback|roll back|data loss|regression)\b")),
    ("merge", re.compile(r"^Merge (?:pull request|branch|remote-tracking|tag|commit)\b|^Merge .* into ")),
)
# words (lower case) and shapes that point at a line worth running the rules on: a superset of the rules
_NOTABLE_WORDS = ("revert", "secur", "vulnerab", "cve-", "ghsa-", "xss", "csrf", "ssrf", "inject", "exploit", "rce",
                  "privilege", "sanitiz", "bypass", "unauthori", "traversal", "redirect", "leak", "releas",
                  "version", "hotfix", "rollback", "roll back", "data loss", "regression", "merge", "breaking", "!: ")
_NOTABLE_SHAPES = (re.compile(r"-\d"), re.compile(r"\.\d"))  # tickets ("SEC-1042"), versions ("2.8.0")
# git status --short ("XY path", "## branch") and the long form's tab-indented entries
_STATUS = re.compile(r"([ MTADRCU?!]{2}) (\S.*)$")
_STATUS_LONG = re.compile(r"\t(?:(new file|modified|deleted|renamed|copied|typechange|both modified"
                          r"|both added|both deleted|added by us|added by them|deleted by us|deleted by them"
                          r"|unmerged):\s+)?(\S.*)$")
_STATUS_HEAD = re.compile(r"## \S|On branch |HEAD detached|Your branch |Changes |Untracked files:|Unmerged paths:"
                          r"|nothing to commit|no changes added|  \(use \"git ")
_STATUS_NAMES = {"??": "untracked", "!!": "ignored", "M": "modified", "T": "type changes", "A": "added",
                 "D": "deleted", "R": "renamed", "C": "copied", "U": "unmerged"}
# du: a size (plain or human) then a tab or spaces then a path
_DU = re.compile(r"(\d+(?:[.,]\d+)?[KMGTPEkmgtpe]?i?[Bb]?)\s+(\S.*)$")
# unzip -l, jar tvf and the like: a size, a date and a time, then the path
_SIZED = re.compile(r"\s*(\d+)\s+(?:\d{4}-\d\d-\d\d|\d\d-\d\d-\d{2,4})\s+\d\d:\d\d(?::\d\d)?\s+(\S.*)$")
# one path a line (find, fd, git ls-files, Glob): no quotes, colons or shell punctuation
_PATH = re.compile(r"(?:[A-Za-z]:[\\/])?[^\s\"'<>|*?:;,=(){}\[\]#]+(?: [^\s\"'<>|*?:;,=(){}\[\]#]+){0,3}/?$")
_PATH_MAX = 4096
_PATH_PLAIN = frozenset(" \t\"'<>|*?:;,=(){}[]#")  # a line without these is a path (the common case, checked fast)


def _is_path(s: str) -> bool:
    """One path on the line: no shell punctuation, and a path with spaces must hold a slash."""
    return len(s) < _PATH_MAX and _PATH.match(s) is not None and (" " not in s or "/" in s or "\\" in s)


_ERRLINE = re.compile(r"[\w.\-]+: .*(?:Permission denied|No such file|Operation not permitted|cannot )")

_VENDORED = frozenset((
    "node_modules", ".git", "__pycache__", ".venv", "venv", "dist", "build", "target", ".tox", ".nox",
    ".mypy_cache", ".pytest_cache", ".ruff_cache", ".next", ".nuxt", ".cache", "vendor", "bower_components",
    "site-packages", ".gradle", ".terraform", ".eggs", "htmlcov", ".svn", ".hg", ".idea", ".parcel-cache",
    ".turbo", ".yarn", ".pnpm-store", "coverage",
))
_EXT_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+-")

_HINTS_MINE = frozenset(("listing", "listings", "ls", "tree", "find", "files", "gitlog", "git-log", "du"))
# formats
LS, TREE, LOG, STATUS, DU, PATHS = "ls", "tree", "log", "status", "du", "paths"
# what a command's output is expected to be (the last command of a Bash chain)
_COMMAND_FORMATS = {"ls": LS, "ll": LS, "la": LS, "exa": LS, "eza": LS, "lsd": LS, "dir": LS,
                    "find": PATHS, "fd": PATHS, "fdfind": PATHS, "locate": PATHS, "tree": TREE, "du": DU,
                    "git log": LOG, "git reflog": LOG, "git ls-files": PATHS, "git ls-tree": PATHS,
                    "git status": STATUS}
_SEARCH_COMMANDS = frozenset(("grep", "egrep", "fgrep", "rg", "ag", "ack", "git grep"))


# --------------------------------------------------------------------------- small helpers


def _clean(lines: list[str], text: str) -> list[str]:
    """Lines as parsed: without ANSI colours (ls --color, tree -C) or a trailing CR."""
    out = lines
    if "\x1b[" in text:
        out = [ANSI.sub("", ln) if "\x1b[" in ln else ln for ln in out]
    if "\r" in text:
        out = [ln.rstrip("\r") for ln in out]
    return out


def _size(token: str) -> float | None:
    if token.isdigit():
        return float(token)
    m = _SIZE.match(token)
    if not m:
        return None
    num = float(m.group(1).replace(",", "."))
    unit = m.group(2).upper()
    return num * 1024 ** ("KMGTPE".find(unit) + 1) if unit else num


def _ext_label(name: str) -> str:
    """'.py files' for a name with an extension (a leading dot is a hidden file, not one), else 'files'."""
    dot = name.rfind(".")
    if dot <= 0 or name[dot - 1] == "/" or len(name) - dot > 11:
        return "files"
    ext = name[dot + 1:]
    if not ext or not _EXT_CHARS.issuperset(ext):
        return "files"
    return f".{ext.lower()} files"


def _vendored_at(path: str) -> int:
    """Index of the first vendored component of a path (``-1`` if none)."""
    parts = path.replace("\\", "/").strip("/").split("/")
    for k, comp in enumerate(parts):
        if comp in _VENDORED or comp.endswith(".egg-info"):
            return k
    return -1


def _command(part: Part) -> str:
    """The program a Bash tool input ran (``git log`` counts as two words), or ''."""
    cmd = (part.tool_input or "").strip()
    if not cmd:
        return ""
    for piece in re.split(r"&&|\|\||;", cmd)[::-1]:  # the last command of a chain produced the output
        words = piece.split()
        while words and ("=" in words[0] or words[0] in ("sudo", "time", "command", "env", "cd")):
            words = words[2:] if words[0] == "cd" else words[1:]
        if not words:
            continue
        if words[0] == "git" and len(words) > 1:
            return "git " + words[1]
        return words[0].rsplit("/", 1)[-1]
    return ""


# --------------------------------------------------------------------------- sniffing


def _sniff(lines: list[str]) -> tuple[str | None, float, int]:
    """The format a sample of lines has, the share of non-blank lines it explains, and how many entries."""
    nonblank = 0
    ls = ls_aux = tree = tree_aux = log = log_conv = status = status_aux = du = paths = slashed = 0
    status_heads = status_long = 0
    prev_blank = True
    for raw in lines:
        s = raw.rstrip()
        if not s.strip():
            prev_blank = True
            continue
        nonblank += 1
        if len(s) > 1000:
            s = s[:1000]
        if _LS.match(s) or (s[0].isdigit() and _WINDIR.match(s)):
            ls += 1
        elif (_LS_TOTAL.match(s) or (prev_blank and s.endswith(":") and not s.startswith(" "))
              or s.startswith(_WINDIR_HEAD)):
            ls_aux += 1
        if _TREE.match(s):
            tree += 1
        elif _TREE_SUMMARY.match(s) or (not s[0].isspace() and not s.endswith(":") and len(s) < 300):
            tree_aux += 1  # a root line, the summary
        m = _LOG.match(s)
        if m and not m.group(2).isdigit() and not m.group(1).strip(" "):
            log += 1
            if _CONV.match(_DECOR.sub("", m.group(3), 1)):
                log_conv += 1
        elif m and not m.group(2).isdigit() and m.group(1).strip(" "):
            log += 1  # a --graph line
        if _STATUS.match(s) and (s[0] != " " or s[1] != " "):
            status += 1
        elif _STATUS_HEAD.match(s):
            status_aux += 1
            status_heads += 1
        elif s[0] == "\t" and _STATUS_LONG.match(s):
            status_long += 1
        if (("\t" in s[:20] and _DU.match(s)) or (s[0].isdigit() and s.count(" ") <= 8 and _DU.match(s))
                or _SIZED.match(s)):
            du += 1
        if _is_path(s.strip()):
            paths += 1
            if "/" in s or "\\" in s:
                slashed += 1
        prev_blank = False
    if not nonblank:
        return None, 0.0, 0
    best: tuple[str | None, float, int] = (None, 0.0, 0)
    for fmt, hits, aux in ((LS, ls, ls_aux), (TREE, tree, tree_aux), (LOG, log, 0), (DU, du, 0)):
        if hits >= 3:
            share = (hits + min(aux, hits)) / nonblank
            if fmt == TREE and aux > hits:
                share = hits / nonblank  # box drawing inside prose or a table
            if share > best[1]:
                best = (fmt, share, hits)
    if status_heads and status_long >= 3:  # git status's long form: headings, then tab-indented entries
        status += status_long
    if status >= 3 and status >= 0.5 * nonblank:
        share = (status + status_aux) / nonblank
        if share > best[1]:
            best = (STATUS, share, status)
    if paths >= 5 and slashed >= 0.5 * paths:
        share = paths / nonblank
        if share > best[1] + 0.05:  # a path list only when nothing richer explains the lines as well
            best = (PATHS, share, paths)
    fmt, share, hits = best
    if fmt == LOG and log_conv >= 0.5 * log:
        share = min(1.0, share + 0.05)
    return fmt, share, hits


# --------------------------------------------------------------------------- finding words


def _line_starts(lines: list[str]) -> list[int]:
    return list(accumulate(map((1).__add__, map(len, lines)), initial=0))


def _lines_with(low: str, starts: list[int], word: str, limit: int = -1, boundary: bool = False,
                whole: bool = False) -> list[int]:
    """Indices of the lines of ``low`` (lines joined by newlines) that hold ``word``, each once.

    str.find over the whole text, far cheaper than a regex on every line. ``boundary``: the word
    must not follow a letter or digit, nor (with ``whole``) run on into a letter. Stops after
    ``limit + 1`` lines when a limit is given.
    """
    n = len(starts) - 1
    found: list[int] = []
    short = boundary and whole
    size = len(low)
    p = low.find(word)
    while p != -1:
        if boundary:
            end = p + len(word)
            if (p and low[p - 1].isalnum()) or (short and end < size and low[end].isalpha()):
                p = low.find(word, p + 1)
                continue
        li = bisect_right(starts, p) - 1
        found.append(li)
        if len(found) == limit + 1 or li + 1 >= n:
            break
        p = low.find(word, starts[li + 1])
    return found


# --------------------------------------------------------------------------- query


def _stem(term: str) -> str:
    if len(term) >= 6 and term.endswith("ed") and "/" not in term:
        return term[:-2]
    if len(term) >= 6 and term.endswith("ing"):
        return term[:-3]
    if len(term) >= 5 and term.endswith("s") and not term.endswith("ss"):
        return term[:-1]
    return term


def _query_hits(lines: list[str], terms: tuple[str, ...]) -> bytearray:
    """Lines holding a selective question word: one found in few lines (str.find over the whole text)."""
    n = len(lines)
    hits = bytearray(n)
    if not terms or not n:
        return hits
    low = "\n".join(lines).lower()
    if len(low) != sum(map(len, lines)) + n - 1:  # a character whose lower case is longer
        return hits
    starts = _line_starts(lines)
    limit = max(QUERY_FLOOR, int(n * QUERY_SHARE))
    for term in terms:
        stem = _stem(term)
        if len(stem) < 3:
            continue
        # a short word that is not a stem must stand alone: "one" is not in "timezone"
        found = _lines_with(low, starts, stem, limit, boundary=True, whole=stem == term and len(stem) < 5)
        if len(found) <= limit:
            for li in found:
                hits[li] = 1
    return hits


# --------------------------------------------------------------------------- the engine


class ListingEngine:
    """Keeps headers, summaries, the largest/first/last/rare/notable entries; folds the rest into markers."""

    name = "listing"

    # ------------------------------------------------------------------ detect
    def detect(self, part: Part) -> float:
        hinted = hint_score(part, _HINTS_MINE)
        if hinted is not None:
            return hinted
        text = part.text
        if len(text) > 40_000:
            sample = text[:20_000].split("\n")[:200] + text[-8_000:].split("\n")[1:][-50:]
        else:
            lines = text.split("\n")
            sample = lines[:200] + lines[200:][-50:]
        sample = _clean(sample, text[:20_000])
        fmt, share, hits = _sniff(sample)
        tool = (part.tool_name or "").lower()
        cmd = _command(part) if tool in ("bash", "shell", "exec", "run", "terminal", "") else ""
        expected = _COMMAND_FORMATS.get(cmd)
        if fmt is None or hits < 3:
            return 0.05
        if fmt == PATHS:
            if tool == "grep" or cmd in _SEARCH_COMMANDS:
                return 0.05  # a search's file list belongs to the search engine
            if tool == "read":
                return 0.05
            score = 0.85 if share >= 0.9 else 0.7 if share >= 0.8 else 0.05
            if score > 0.5 and (expected == PATHS or tool == "glob"):
                score = 0.92
            return score
        if share >= 0.8:
            score = 0.95 if fmt in (LS, TREE) else 0.9
        elif share >= 0.6:
            score = 0.8
        elif share >= 0.4 and expected:
            score = 0.7
        else:
            return 0.05
        if expected == fmt or (expected == LS and fmt == DU) or (tool == "ls" and fmt == TREE):
            score = max(score, 0.95)
        if tool == "read":
            score = min(score, 0.6)
        return score

    # ---------------------------------------------------------------- compress
    def compress(self, part: Part, ctx: Context) -> Result | None:
        text = part.text
        if not text or not text.strip():
            return None
        lines, ends_nl = split_lines(text)
        n = len(lines)
        if n < MIN_LINES:
            return None
        clean = _clean(lines, text)
        fmt, share, hits = _sniff(clean[:200] + clean[200:][-50:])
        if fmt is None or hits < 3:
            return None
        if past(ctx.deadline):
            raise EngineTimeout()
        query = _query_hits(clean, part_terms(part))
        keep = bytearray(n)
        label = ["lines"] * n
        tree: _Tree | None = None
        if fmt == LS:
            self._select_ls(clean, keep, label, query, ctx.deadline)
        elif fmt == TREE:
            tree = self._select_tree(clean, keep, label, query, ctx.deadline)
        elif fmt == LOG:
            self._select_log(clean, keep, label, query, ctx.deadline)
        elif fmt == STATUS:
            self._select_status(clean, keep, label, query, ctx.deadline)
        elif fmt == DU:
            self._select_du(clean, keep, label, query, ctx.deadline)
        else:
            self._select_paths(clean, keep, label, query, ctx.deadline)
        if past(ctx.deadline):
            raise EngineTimeout()
        if tree is not None and clean is not lines:
            tree.compact = False  # colours or CRs: offsets differ from the raw lines, so only fold
        out, omitted = _assemble(lines, keep, label, ctx.part_id, tree)
        result = "\n".join(out) + ("\n" if ends_nl else "")
        if len(result) >= len(text):
            return None
        return Result(text=result, kind="listing", omitted=omitted)

    # ---------------------------------------------------------------- ls -l
    @staticmethod
    def _select_ls(lines: list[str], keep: bytearray, label: list[str], query: bytearray, deadline: float) -> None:
        n = len(lines)
        # sections: (header index or -1, [entry indices]); entries: index -> (mode, owner/group, size, name)
        sections: list[tuple[int, list[int]]] = [(-1, [])]
        info: dict[int, tuple[str, str, float | None, str]] = {}
        headers: dict[int, str] = {}
        prev_blank = True
        for i, s in enumerate(lines):
            if not i % CHECK_EVERY and past(deadline):
                raise EngineTimeout()
            if not s.strip():
                label[i] = "blank lines"
                prev_blank = True
                continue
            m = _LS.match(s)
            w = None if m or not s[0].isdigit() else _WINDIR.match(s)
            if m or w:
                if m:
                    mode, rest = m.group(1), m.group(2)
                    d = _LS_DATE.search(rest)
                    if d:
                        before, name = rest[:d.start()].split(), rest[d.end():]
                    else:
                        before, name = rest.split()[:-1], rest.split()[-1]
                    size = None
                    owners = ""
                    for k in range(len(before) - 1, -1, -1):
                        size = _size(before[k])
                        if size is not None:
                            # "1 root root 284758": the last number; owner and group are what sits between
                            owners = " ".join(before[1:k]) if k >= 2 else ""
                            break
                else:
                    kind, name = w.group(3), w.group(4)
                    mode = ("d---------" if kind in ("<DIR>", "<JUNCTION>")
                            else "l---------" if kind[0] == "<" else "----------")
                    digits = re.sub(r"\D", "", kind)
                    size = float(digits) if digits else None
                    owners = ""
                info[i] = (mode, owners, size, name)
                sections[-1][1].append(i)
                if name in (".", ".."):
                    label[i] = "./.. entries"
                elif mode[0] == "d":
                    label[i] = "directories"
                elif mode[0] == "l":
                    label[i] = "symlinks"
                else:
                    label[i] = _ext_label(name)
                prev_blank = False
                continue
            keep[i] = 1  # headers, totals, errors: structure
            if prev_blank and s.endswith(":") and not s.startswith(" "):
                sections.append((i, []))
                headers[i] = s[:-1]
            elif s.startswith(_WINDIR_HEAD):
                sections.append((i, []))
                headers[i] = s[len(_WINDIR_HEAD):].replace("\\", "/")
            prev_blank = False
        entries = [i for i in info if info[i][3] not in (".", "..")]
        if not entries:
            return
        recursive = len(headers) >= 2
        # vendored sections fold whole, but for the first header of a run of them (unless the
        # question names one)
        vendored_sections: set[int] = set()
        for h, members in sections:
            if h >= 0 and not query[h] and (v := _vendored_at(headers[h])) >= 0:
                vendored_sections.add(h)
                name = headers[h].replace("\\", "/").strip("/").split("/")[v]
                for i in members:
                    label[i] = f"{name} entries"
        last_vendored = False
        for h, members in sections:
            if h in vendored_sections:
                # keep the header of the first vendored section in a run; fold the rest and the entries
                if last_vendored:
                    keep[h] = 0
                    label[h] = label[members[0]] if members else "headers"
                    if h + 1 < n and _LS_TOTAL.match(lines[h + 1]):
                        keep[h + 1] = 0
                        label[h + 1] = label[h]
                last_vendored = True
                continue
            if h >= 0:
                last_vendored = False
        # rare values over the whole listing
        modes = Counter(info[i][0] for i in entries)
        owners = Counter(info[i][1] for i in entries)
        rare_limit = max(1, int(len(entries) * RARE_SHARE))
        check_rare = len(entries) >= RARE_MIN
        symlinks = sum(1 for i in entries if info[i][0][0] == "l")
        sized = [i for i in entries if info[i][2] is not None and info[i][0][0] not in "dl"
                 and not label[i].endswith(" entries")]
        for i in sorted(sized, key=lambda j: (-info[j][2], j))[:TOP_LARGEST]:
            keep[i] = 1
        for h, members in sections:
            if h in vendored_sections:
                continue
            real = [i for i in members if info[i][3] not in (".", "..")]
            if not real:
                continue
            named = h >= 0 and query[h]
            if named and len(real) <= SECTION_CAP:
                for i in real:
                    keep[i] = 1
                continue
            if not recursive:
                keep[real[0]] = keep[real[-1]] = 1  # one directory: where its names start and end
            files = [i for i in real if info[i][2] is not None and info[i][0][0] not in "dl"]
            if files:
                keep[max(files, key=lambda j: (info[j][2], -j))] = 1
            for i in real:
                mode, own, _, name = info[i]
                if query[i]:
                    keep[i] = 1
                elif check_rare and (modes[mode] <= rare_limit or owners[own] <= rare_limit):
                    keep[i] = 1
                elif mode[0] == "l" and symlinks <= rare_limit * 5:
                    keep[i] = 1
                elif mode[0] == "d" and not recursive and len(real) <= 40:
                    keep[i] = 1  # what a single directory holds: its subdirectories are the map
        for h in headers:
            if h and keep[h] and not lines[h - 1].strip():
                keep[h - 1] = 1  # the blank line that sets a kept section off

    # ---------------------------------------------------------------- tree
    @staticmethod
    def _select_tree(lines: list[str], keep: bytearray, label: list[str], query: bytearray,
                     deadline: float) -> _Tree:
        n = len(lines)
        t = _Tree(n)
        entry, pre, head, names, bares, is_dir = t.entry, t.pre, t.head, t.name, t.bare, t.is_dir
        matches = list(map(_TREE.match, lines))
        if past(deadline):
            raise EngineTimeout()
        for i, m in enumerate(matches):
            if m is None:
                keep[i] = 1  # roots, the summary, error messages
                if not lines[i].strip():
                    label[i] = "blank lines"
                continue
            entry[i] = 1
            pre[i] = m.end(1)
            head[i] = m.end(2)
            name = names[i] = m.group(3)
            if name[0] == "[":
                name = _TREE_SIZE.sub("", name, 1)
            if " -> " in name:
                name = name.split(" -> ", 1)[0]
            bares[i] = name.rstrip("/*=@|")
        # directories: entries followed by a deeper entry
        for i in range(n):
            if entry[i]:
                if i + 1 < n and entry[i + 1] and pre[i + 1] > pre[i]:
                    is_dir[i] = 1
                    label[i] = "directories"
                else:
                    label[i] = _ext_label(bares[i])
        # vendored directories keep their own line and fold their subtree; a query-named directory
        # keeps its children whole (up to a cap); other directories are the map and always kept
        i = 0
        while i < n:
            if entry[i] and t.is_dir[i]:
                keep[i] = 1
                bare = t.bare[i]
                if bare in _VENDORED or bare.endswith(".egg-info"):
                    j = i + 1
                    while j < n and entry[j] and pre[j] > pre[i]:
                        label[j] = f"{bare} entries"
                        t.vendored[j] = 1
                        if query[j]:
                            keep[j] = 1  # what the question names, even in there
                        j += 1
                    i = j
                    continue
                if query[i]:
                    j = i + 1
                    while j < n and entry[j] and pre[j] > pre[i] and j - i <= SECTION_CAP:
                        if pre[j] == pre[i + 1]:
                            keep[j] = 1
                        j += 1
            elif entry[i] and query[i]:
                keep[i] = 1
            i += 1
        # runs of leaf siblings: consecutive entries with one prefix and no children
        runs: list[tuple[int, int]] = []
        i = 0
        while i < n:
            if entry[i] and not t.is_dir[i] and not t.vendored[i]:
                j = i + 1
                while (j < n and entry[j] and not t.is_dir[j] and pre[j] == pre[i]
                       and lines[j][:pre[j]] == lines[i][:pre[i]]):
                    j += 1
                runs.append((i, j))
                i = j
            else:
                i += 1
        # the longest run kept whole shrinks until the rendering fits the budget (sizes estimated
        # from the names' lengths: what a compacted line costs)
        cost = list(accumulate((len(t.bare[x]) + 2 if entry[x] else 0 for x in range(n)), initial=0))
        fixed = sum(cost[x + 1] - cost[x] for x in range(n) if keep[x] and entry[x])
        chosen = TREE_RUNS[-1]
        for cap in TREE_RUNS:
            head = (cap * 2 + 2) // 3
            tail = cap - head
            size = fixed
            for a, b in runs:
                if b - a <= cap:
                    size += cost[b] - cost[a]
                else:
                    size += cost[a + head] - cost[a] + cost[b] - cost[b - tail] + MARKER_COST
            if size <= TREE_BUDGET:
                chosen = cap
                break
        head = (chosen * 2 + 2) // 3
        tail = chosen - head
        for a, b in runs:
            if b - a <= chosen:
                keep[a:b] = b"\x01" * (b - a)
                continue
            keep[a:a + head] = b"\x01" * head
            keep[b - tail:b] = b"\x01" * tail
            exts = Counter(label[a:b])
            for x in range(a, b):
                if exts[label[x]] == 1:
                    keep[x] = 1  # the one .json among the .ts files
        leaves = [x for a, b in runs for x in range(a, b)]
        if leaves:
            keep[max(leaves, key=lambda x: (len(bares[x]), -x))] = 1  # the longest name stands out
        return t

    # ---------------------------------------------------------------- git log --oneline
    @staticmethod
    def _select_log(lines: list[str], keep: bytearray, label: list[str], query: bytearray, deadline: float) -> None:
        n = len(lines)
        commits: list[int] = []
        tagged: list[int] = []
        subjects: dict[int, str] = {}  # without the decoration
        for i, s in enumerate(lines):
            if not i % CHECK_EVERY and past(deadline):
                raise EngineTimeout()
            m = _LOG.match(s)
            if not m:
                if not s.strip() or s.strip(" *|\\/_.-") == "":
                    label[i] = "graph lines" if s.strip() else "blank lines"
                else:
                    keep[i] = 1
                continue
            subject = m.group(3)
            if subject[0] == "(" and (d := _DECOR.match(subject)):
                if "tag: " in d.group(0):
                    tagged.append(i)  # git log --decorate: a release
                subject = subject[d.end():]
            commits.append(i)
            subjects[i] = subject
            c = _CONV.match(subject)
            if subject.startswith("Merge "):
                label[i] = "merge commits"
            elif c:
                label[i] = f"{c.group(1).lower()} commits"
            else:
                label[i] = "commits"
        if not commits:
            return
        # the rules run only on the lines that a cheap search over the whole text points at
        text = "\n".join(lines)
        starts = _line_starts(lines)
        low = text.lower()
        found: set[int] = set()
        if len(low) == len(text):
            for word in _NOTABLE_WORDS:
                found.update(_lines_with(low, starts, word))
        else:  # a character whose lower case is longer: every line is a candidate
            found.update(range(n))
        for rx in _NOTABLE_SHAPES:
            p = -1
            for m in rx.finditer(text):
                if m.start() > p:  # once per line
                    li = bisect_right(starts, m.start()) - 1
                    found.add(li)
                    p = starts[li + 1] if li + 1 < n else len(text)
        candidates = sorted(found)
        fired: dict[str, list[int]] = {"release": list(tagged)} if tagged else {}
        for i in candidates:
            subject = subjects.get(i)
            if subject is None:
                continue
            for name, rx in _NOTABLE_RULES:
                if rx.search(subject) and not (name == "release" and i in tagged):
                    fired.setdefault(name, []).append(i)
        limit = max(RULE_FLOOR, int(len(commits) * RULE_SHARE))
        for name, _ in _NOTABLE_RULES:
            hits = fired.get(name, [])
            if len(hits) <= limit:
                for i in hits:
                    keep[i] = 1
        for i in commits[:LOG_HEAD] + commits[-LOG_TAIL:]:
            keep[i] = 1
        for i in commits:
            if query[i]:
                keep[i] = 1

    # ---------------------------------------------------------------- git status
    @staticmethod
    def _select_status(lines: list[str], keep: bytearray, label: list[str], query: bytearray,
                       deadline: float) -> None:
        entries: list[tuple[int, str, str]] = []  # (line, status, directory)
        for i, s in enumerate(lines):
            if not i % CHECK_EVERY and past(deadline):
                raise EngineTimeout()
            if not s.strip():
                label[i] = "blank lines"
                continue
            m = _STATUS.match(s) if not s.startswith("\t") else None
            if m and not s.startswith("##"):
                code, path = m.group(1), m.group(2)
                st = "??" if code == "??" else "!!" if code == "!!" else (code.strip()[:1] or "M")
            elif s.startswith("\t") and (m := _STATUS_LONG.match(s)):
                word, path = m.group(1), m.group(2)
                st = word or "untracked"
            else:
                keep[i] = 1
                continue
            path = path.split(" -> ")[-1].strip('"')
            entries.append((i, st, path.rstrip("/").rsplit("/", 1)[0] if "/" in path.rstrip("/") else ""))
            label[i] = _STATUS_NAMES.get(st, st)
        _keep_runs([(i, (st, d)) for i, st, d in entries], keep, query)
        counts = Counter(st for _, st, _ in entries)
        for i, st, _ in entries:
            if counts[st] <= 3 or st in ("U", "both modified", "both added", "both deleted", "unmerged"):
                keep[i] = 1  # a rare status (a conflict, the one deletion) matters

    # ---------------------------------------------------------------- du
    @staticmethod
    def _select_du(lines: list[str], keep: bytearray, label: list[str], query: bytearray, deadline: float) -> None:
        """du, unzip -l and other size-first lists: the largest entries, the first, the total (last)."""
        sized: list[tuple[float, int]] = []
        first = -1
        for i, s in enumerate(lines):
            if not i % CHECK_EVERY and past(deadline):
                raise EngineTimeout()
            m = _SIZED.match(s) or _DU.match(s)
            size = _size(m.group(1)) if m else None
            if size is None:
                if s.strip():
                    keep[i] = 1
                else:
                    label[i] = "blank lines"
                continue
            path = m.group(2).replace("\\", "/").strip("/")
            v = _vendored_at(path)
            if v >= 0 and path.count("/") > v:
                label[i] = f"{path.split('/')[v]} entries"  # inside a vendored tree: its root line tells the size
                if query[i]:
                    keep[i] = 1
                continue
            if first < 0:
                first = i
            sized.append((size, i))
            label[i] = "entries"
            if query[i]:
                keep[i] = 1
        if not sized:
            return
        top = max(TOP_LARGEST * 3, len(sized) // 20)
        for _, i in sorted(sized, key=lambda x: (-x[0], x[1]))[:top]:
            keep[i] = 1
        keep[first] = keep[sized[-1][1]] = 1  # du's total comes last

    # ---------------------------------------------------------------- find / git ls-files / fd
    @staticmethod
    def _select_paths(lines: list[str], keep: bytearray, label: list[str], query: bytearray,
                      deadline: float) -> None:
        n = len(lines)
        text = "\n".join(lines)
        norms = [s.strip() for s in lines]
        if "\\" in text:
            norms = [p.replace("\\", "/") for p in norms]
        norms = [p.rstrip("/") if p.endswith("/") and len(p) > 1 else p for p in norms]
        entries: list[int] = []
        parents: list[str] = []
        comps: dict[str, list[str]] = {}  # each distinct directory, split once
        vendored_dirs: dict[str, int] = {}  # directory -> index of its vendored component, -1 if none
        errors = 0
        for i, p in enumerate(norms):
            if not i % CHECK_EVERY and past(deadline):
                raise EngineTimeout()
            if not p:
                label[i] = "blank lines"
                continue
            if not (_PATH_PLAIN.isdisjoint(p) and len(p) < _PATH_MAX) and not _is_path(p):
                if _ERRLINE.match(p):
                    errors += 1
                    label[i] = "permission errors" if "ermi" in p else "errors"
                    if errors <= 2:
                        keep[i] = 1
                    continue
                keep[i] = 1
                continue
            cut = p.rfind("/")
            parent = p[:cut] if cut > 0 else ""
            v = vendored_dirs.get(parent)
            if v is None:
                parts = comps[parent] = parent.split("/") if parent else []
                v = -1
                if not _VENDORED.isdisjoint(parts) or ".egg-info" in parent:
                    v = next(k for k, c in enumerate(parts) if c in _VENDORED or c.endswith(".egg-info"))
                vendored_dirs[parent] = v
            if v >= 0:
                label[i] = f"{comps[parent][v]} entries"
                if query[i]:
                    keep[i] = 1  # what the question names, even in there
                continue
            base = p[cut + 1:]
            if (base in _VENDORED or base.endswith(".egg-info")) and i + 1 < n and norms[i + 1].startswith(p + "/"):
                keep[i] = 1  # the vendored directory itself, before what it holds (folded)
                label[i] = "directories"
                continue
            parents.append(parent)
            entries.append(i)
            if i + 1 < n and norms[i + 1].startswith(p) and norms[i + 1][len(p):len(p) + 1] == "/":
                keep[i] = 1  # a directory line: find prints it before its contents
                label[i] = "directories"
            else:
                label[i] = _ext_label(base)
        if not entries:
            return
        # group runs of entries by directory; where that makes too many small groups (paths spread
        # over many directories), by a shallower ancestor
        limit = max(24, int(2 * len(entries) ** 0.5))
        # a new group starts where the first `split[e]` components of the directory change: the
        # common leading components plus one (never, for the same directory)
        count = len(entries)
        big = 1 << 30
        split = [0] * count
        depth = 0
        for e in range(1, count):
            if parents[e] == parents[e - 1]:
                split[e] = big
                continue
            a, b = comps[parents[e - 1]], comps[parents[e]]
            k = 0
            m = min(len(a), len(b))
            while k < m and a[k] == b[k]:
                k += 1
            split[e] = k + 1
            depth = max(depth, len(a), len(b))
        hist = Counter(split[1:])
        groups, chosen = 1 + hist.get(0, 0), 0
        for k in range(1, depth + 1):  # groups when keyed by the first k components
            if groups + hist.get(k, 0) > limit:
                break
            groups += hist.get(k, 0)
            chosen = k
        starts_at = [e for e in range(count) if e == 0 or split[e] <= chosen]
        first, last = PATH_RUN_KEEP
        bounds = starts_at + [len(entries)]
        for g in range(len(bounds) - 1):
            a, b = bounds[g], bounds[g + 1]
            for e in range(a, min(b, a + first)):
                keep[entries[e]] = 1
            for e in range(max(a + first, b - last), b):
                keep[entries[e]] = 1
        for i in entries:
            if query[i]:
                keep[i] = 1
        if len(entries) >= RARE_MIN:
            exts = Counter(label[i] for i in entries)
            for i in entries:
                if exts[label[i]] == 1 and label[i] != "files":
                    keep[i] = 1  # the only .json among the .ts files


def _keep_runs(entries: list[tuple[int, tuple]], keep: bytearray, query: bytearray) -> None:
    """Keep the first and last entries of each run of consecutive entries with the same key, and query hits."""
    first, last = PATH_RUN_KEEP
    k = 0
    while k < len(entries):
        key = entries[k][1]
        j = k + 1
        while j < len(entries) and entries[j][1] == key and entries[j][0] == entries[j - 1][0] + 1:
            j += 1
        for x in entries[k:k + first] + entries[max(k + first, j - last):j]:
            keep[x[0]] = 1
        k = j
    for i, _ in entries:
        if query[i]:
            keep[i] = 1


def _counts(labels: list[str]) -> Counter[str]:
    """Labels counted, a label seen once in its singular ("1 directory", "1 node_modules entry")."""
    counts = Counter(labels)
    out: Counter[str] = Counter()
    for key, num in counts.items():
        if num == 1:
            if key.endswith("ies"):
                key = key[:-3] + "y"
            elif key.endswith("s") and " " not in key:
                key = key[:-1]
        out[key] += num
    return out


class _Tree:
    """Per line of a tree: whether it is an entry, where its connector and its name start, the name."""

    __slots__ = ("entry", "pre", "head", "name", "bare", "is_dir", "vendored", "compact")

    def __init__(self, n: int):
        self.compact = True
        self.entry = bytearray(n)
        self.pre = [0] * n  # the column of the connector: the depth
        self.head = [0] * n  # the column of the name
        self.name = [""] * n
        self.bare = [""] * n  # the name without tree -s/-p brackets, symlink target or -F suffix
        self.is_dir = bytearray(n)
        self.vendored = bytearray(n)


_LAST_CONNECTOR = frozenset("└┗`")


def _assemble(lines: list[str], keep: bytearray, label: list[str], part_id: str,
              tree: _Tree | None) -> tuple[list[str], int]:
    """Kept lines verbatim (tree leaves compacted), each dropped run as one marker when that is shorter."""
    n = len(lines)
    # first decide which dropped runs become markers; a run not worth its marker is kept
    markers: dict[int, tuple[int, str]] = {}
    i = keep.find(0)
    while 0 <= i < n:
        j = keep.find(1, i)
        if j < 0:
            j = n
        if tree is None:
            cost = sum(map(len, lines[i:j])) + (j - i)
        else:
            cost = sum(len(tree.bare[x]) + 2 if tree.entry[x] else len(lines[x]) + 1 for x in range(i, j))
        marker = line_marker(part_id, i + 1, j, _counts(label[i:j]))
        if j - i >= MIN_RUN and cost > len(marker):
            markers[i] = (j, marker)
        else:
            keep[i:j] = b"\x01" * (j - i)
        i = keep.find(0, j)
    out: list[str] = []
    omitted = 0
    i = 0
    while i < n:
        if i in markers:
            j, marker = markers[i]
            out.append(marker)
            omitted += j - i
            i = j
            continue
        j = keep.find(0, i)
        if j < 0:
            j = n
        if tree is None or not tree.compact:
            out.extend(lines[i:j])
        else:
            _compact(lines, i, j, tree, out)
        i = j
    return out, omitted


def _compact(lines: list[str], a: int, b: int, tree: _Tree, out: list[str]) -> None:
    """Kept tree lines a..b, consecutive leaf siblings joined on one line after the last one's connector.

    A group joins lines with one ancestor prefix and one connector, the last line's connector may
    differ (``└──`` after ``├──``), and no name holds ", ", so the line decodes back unambiguously.
    """
    entry, pre, head, name, is_dir = tree.entry, tree.pre, tree.head, tree.name, tree.is_dir
    i = a
    while i < b:
        j = i + 1
        if entry[i] and not is_dir[i] and ", " not in name[i] and lines[i][pre[i]] not in _LAST_CONNECTOR:
            first = lines[i]
            conn = first[pre[i]:head[i]]
            while j < b and entry[j] and not is_dir[j] and pre[j] == pre[i] and ", " not in name[j]:
                line = lines[j]
                if line[:pre[j]] != first[:pre[i]]:
                    break
                if line[pre[j]:head[j]] != conn:
                    if line[pre[j]] in _LAST_CONNECTOR and len(line[pre[j]:head[j]]) == len(conn):
                        j += 1  # the last sibling closes the group
                    break
                j += 1
        if j - i == 1:
            out.append(lines[i])
        else:
            last = lines[j - 1]
            out.append(last[:head[j - 1]] + ", ".join(name[i:j]))
        i = j


register(ListingEngine())
