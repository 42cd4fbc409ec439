"""The JSON engine ("SmartCrusher"): re-render JSON compactly, and above a size fold the bulk.

JSON that tools print (``npm view --json``, ``python -m json.tool``, ``sqlite3 -json``, API
responses, JSON Lines) is mostly repetition: indentation, the same keys on every record, long runs
of look-alike entries. The engine works on the source's own tokens, so every key and value it keeps
is spelled exactly as the source spelled it (escapes, number digits, ``": "`` or ``":"``):

1. tokenise once with one regex (strings, punctuation, literals, newlines) and build a light tree
   whose leaves are the raw token text; each item of a container remembers its source lines, so
   that a run of omitted items can name the original lines it held;
2. LOSSLESS rendering: objects and arrays on one line when short, one record per line in arrays
   of records, arrays of scalars wrapped; fields constant across a record array stated once; when
   a question is known, big record arrays become a compact table (the keys once, one row per
   record) with the records the question or the anomaly rules single out kept as full JSON;
3. LOSSY rendering, only when the lossless one is still big (bigger when no question is known,
   since then nothing says which records matter): every collection with many items
   keeps its first and last items, every anomaly (rare values of categorical fields, a status or
   error field that differs from the majority, values where the others have null and the reverse,
   numeric outliers), items matching the question's terms, and entries whose key is a value named
   elsewhere (``"version": "5.7.2"`` keeps ``time["5.7.2"]``); each gap becomes one marker line
   with the count by value of what it held (a line marker naming the original lines where the
   gap is a run of whole lines, an omission marker otherwise), and long strings are cut with a
   marker inside the string.

Input that is not JSON (or JSON Lines, or a stream of JSON values) falls through: None.
"""

from __future__ import annotations

import heapq
import json
import re
from bisect import bisect_right
from collections import Counter
from itertools import accumulate, compress

from headroom_cli.engines import register
from headroom_cli.engines.base import (Context, cpu_clock, EngineTimeout, hint_score,
                                       Part, past, part_terms, Result)
from headroom_cli.markers import line_marker, omission_marker

MIN_CHARS = 200  # a shorter part is left alone
LOSSY_MIN_CHARS = 12_000  # a lossless rendering longer than this is folded (lossy) when the question is known,
BLIND_LOSSY_MIN_CHARS = 40_000  # and past this without one (nothing then says which records matter)
INLINE = 120  # a container whose one-line form is at most this long stays on one line
RECORD_INLINE = 400  # ... and a record in a list of records up to this
WRAP = 110  # width of wrapped lines of scalars
TABLE_MIN = 8  # records before a record list becomes a table
HOIST_MIN = 5  # records before constant fields are stated once
SAMPLE_ITEMS = 24  # a collection with more items than this, and
SAMPLE_CHARS = 3_000  # longer than this, is sampled in lossy mode;
HUGE_CHARS = 24_000  # so is one with more than HEAD+TAIL items longer than this
HEAD = 3  # first items of a sampled collection, always kept
TAIL = 2  # last items, always kept
QUERY_CAP = 8  # items kept for matching the question, per collection
QUERY_MIN_ITEMS = 6  # fewer items than this are not searched for the question's terms
ANCHOR_CAP = 16  # items kept for being named elsewhere, per collection
ANOMALY_CAP = 24  # items kept as anomalies, per collection
LONG_STR = 300  # in lossy mode a longer string is cut ...
STR_KEEP = 120  # ... to about this many characters
FULL_STR = 2_000  # strings of singled-out items are cut only past this
MID_STR = 400  # ... and of items that match the question in running text only
FIELDS_CAP = 80  # fields looked at for anomalies
CHECK_EVERY = 2048  # commas between deadline checks

_TOKEN = re.compile(r'"[^"\\\n]*(?:\\.[^"\\\n]*)*"|[{}\[\],\n]|[^\s{}\[\],:"]+')  # colons are skipped
_WS = re.compile(r"\s*")
_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?")
_COLON_STYLE = re.compile(r'(?<!\\)"([ \t]*):([ \t]*)(?=\S)')
_STATUSY = re.compile(
    r"(?i)(?:^|[._\-])(?:status|state|level|severity|result|outcome|conclusion|health|phase|error|errors|err"
    r"|exit_?code|return_?code|rc|ok|success|passed|failed|failure|valid)$"
)
_STATUS_WORD = re.compile(  # the field that best says what a record is, for a gap's counts
    r"(?i)(?:^\"?|[._\-])(?:status|state|level|severity|result|outcome|conclusion|phase|health)\"?$"
)
_CUT_ESCAPE = re.compile(r"\\u[dD][89abAB][0-9a-fA-F]{2}$|\\u[0-9a-fA-F]{0,3}$|\\$")  # a cut escape, or half a pair
_READ_PREFIX = re.compile(r" *\d+(?:\t|\u2192)")
_JSONISH_LINE = re.compile(
    r'\s*(?:[\[\]{}],?|"(?:[^"\\]|\\.)*"\s*:.*|"(?:[^"\\]|\\.)*",?|-?\d[\d.eE+\-]*,?|true,?|false,?|null,?'
    r'|[\[{].*[\]}],?)\s*$'
)
_RG_JSON = re.compile(r'\{"type":"(?:begin|match|context|end|summary)","data":')
_LOG_KEYS = re.compile(r'"(?:level|severity|lvl|levelname|log\.level)"\s*:')
_JSON_TOOLS = re.compile(r"(?i)(?:--json\b|\bjq\b|-o\s*json\b|--output[= ]json\b|--format[= ]json\b|\bjson\b|\bcurl\b)")
_HINTS_MINE = frozenset(("json", "jsonl", "ndjson"))
_MISSING = "\x00missing"  # a field absent from a record
_COMPLEX = "\x00complex"  # a field whose value is an object or array


class _Node:
    """An object (keys is a list of raw key tokens) or an array (keys is None), with item positions."""

    __slots__ = ("keys", "vals", "stok", "etok", "size", "tsize")

    def __init__(self, keys: list[str] | None) -> None:
        self.keys = keys
        self.vals: list = []
        self.stok: list[int] = []  # index of each item's first token (its key, for objects)
        self.etok: list[int] = []  # index of each item's last token (its comma, if any)
        self.size = -1  # one-line length, filled in by _sizes
        self.tsize = -1  # the same with long strings cut


# --------------------------------------------------------------------------- parsing


def _one_per_line(top: _Node, tokens: list[str]) -> bool:
    """Whether a stream of values is JSON Lines: value k alone on line k, no blank line anywhere."""
    expect = 0  # the token index value k must start at
    for first, last in zip(top.stok, top.etok):
        if first != expect or "\n" in tokens[first:last + 1]:
            return False
        expect = last + 2  # past the value and the newline after it
    return expect >= len(tokens)


def _valid(text: str) -> bool:
    """Whether text is one JSON value, JSON Lines, or a stream of JSON values (json's own parser)."""
    try:
        json.loads(text)
        return True
    except (ValueError, RecursionError):
        pass
    lines = [ln for ln in text.split("\n") if ln.strip()]
    if len(lines) > 1 and all(ln.lstrip()[:1] in ("{", "[") for ln in lines):
        try:
            json.loads("[" + ",".join(lines) + "]")
            return True
        except (ValueError, RecursionError):
            pass
    decoder = json.JSONDecoder()
    pos, n, count = 0, len(text), 0
    ws = _WS
    try:
        while True:
            pos = ws.match(text, pos).end()
            if pos >= n:
                return count > 1
            _, pos = decoder.raw_decode(text, pos)
            count += 1
            if count > 5000:
                return False
    except (ValueError, RecursionError):
        return False


def _strip_read(text: str) -> str | None:
    """The file's text when text is a Read tool's numbered listing ("     1\\t{"), else None."""
    out = []
    match = _READ_PREFIX.match
    for ln in text.split("\n"):
        m = match(ln)
        if m is None:
            if ln.strip():
                return None
            out.append("")
        else:
            out.append(ln[m.end():])
    return "\n".join(out)


def _build(tokens: list[str], deadline: float) -> _Node:
    """The tree of the token stream, under a virtual array holding the top-level value(s).

    Only token indices are noted here (lines are counted later, for the few items that need
    them), and the lists of the container being filled are held in locals: this loop sees every
    token. The text is valid JSON (json checked it), so the tokens need no checking.
    """
    top = _Node(None)
    cur = top
    vals, keys, stok, etok = top.vals, top.keys, top.stok, top.etok
    stack: list[_Node] = []
    want_key = False
    commas = 0
    perf = cpu_clock
    for i, tok in enumerate(tokens):
        c = tok[0]
        if c == '"':
            if want_key:
                keys.append(tok)  # type: ignore[union-attr]
                stok.append(i)
                want_key = False
                continue
            if keys is None:
                stok.append(i)
            vals.append(tok)
            if cur is top:
                etok.append(i)
        elif c == "\n":
            continue
        elif c == ",":
            etok.append(i)
            want_key = keys is not None
            commas += 1
            if not commas % CHECK_EVERY and perf() > deadline:
                raise EngineTimeout()
        elif c == "}" or c == "]":
            if len(etok) < len(vals):  # the last item ends at the last token before the bracket
                j = i - 1
                while tokens[j] == "\n":
                    j -= 1
                etok.append(j)
            cur = stack.pop()
            vals, keys, stok, etok = cur.vals, cur.keys, cur.stok, cur.etok
            want_key = False
            if cur is top:
                etok.append(i)
        else:
            if keys is None:
                stok.append(i)
            if c == "{" or c == "[":
                node = _Node([] if c == "{" else None)
                vals.append(node)
                stack.append(cur)
                cur = node
                vals, keys, stok, etok = cur.vals, cur.keys, cur.stok, cur.etok
                want_key = c == "{"
            else:
                vals.append(tok)
                if cur is top:
                    etok.append(i)
    if stack or cur is not top or len(top.etok) != len(top.vals):
        raise ValueError("unbalanced")
    return top


def _style(text: str) -> tuple[str, str]:
    """The source's key separator (``": "``, ``":"``, ...) and the item separator to use on one line."""
    votes = Counter(_COLON_STYLE.findall(text[:20_000]))
    if not votes:
        return ": ", ", "
    (pre, post), _ = max(votes.items(), key=lambda kv: (kv[1], kv[0] == ("", " ")))
    colon = pre + ":" + post
    return colon, (", " if post else ",")


def _sizes(node: _Node, colon: int, sep: int) -> None:
    """Fill in the one-line length of node and of every container under it (iteratively)."""
    todo = [node]
    order = []
    while todo:
        n = todo.pop()
        order.append(n)
        for v in n.vals:
            if v.__class__ is _Node:
                todo.append(v)
    cap = STR_KEEP + 60
    for n in reversed(order):
        size = tsize = 2 + sep * max(0, len(n.vals) - 1)
        if n.keys is not None:
            extra = sum(map(len, n.keys)) + colon * len(n.keys)
            size += extra
            tsize += extra
        for v in n.vals:
            if v.__class__ is _Node:
                size += v.size
                tsize += v.tsize
            else:
                k = len(v)
                size += k
                tsize += k if k <= LONG_STR else cap
        n.size = size
        n.tsize = tsize


def _strings(v, out: list[str], limit: int = 1 << 30) -> None:
    """The scalar tokens under v, in order (no keys of nested objects), up to about limit characters."""
    if v.__class__ is not _Node:
        out.append(v)
        return
    todo = [v]
    total = 0
    while todo:
        n = todo.pop()
        for x in reversed(n.vals):
            if x.__class__ is _Node:
                todo.append(x)
            else:
                out.append(x)
                total += len(x)
        if total > limit:
            return


def _nested(node: _Node) -> bool:
    return any(x.__class__ is _Node for x in node.vals)


def _label(raw: str) -> str:
    """A value as a marker names it: unquoted, short, and without the marker's closing bracket."""
    if raw == _MISSING:
        return "absent"
    if raw == _COMPLEX:
        return "{…}"
    if raw[:1] == '"':
        raw = raw[1:-1]
    raw = raw.replace("]", ")").replace("\u00b7", ".")
    return raw if len(raw) <= 40 else raw[:37] + "..."


def _cut(raw: str, keep: int) -> tuple[str, int]:
    """raw string token cut to about keep characters at a word break, without splitting an escape."""
    body = raw[1:-1]
    cut = body[:keep]
    space = cut.rfind(" ", keep * 2 // 3)
    if space > 0:
        cut = cut[:space]
    m = _CUT_ESCAPE.search(cut)
    if m:
        cut = cut[: m.start()]
    while cut.endswith("\\") and (len(cut) - len(cut.rstrip("\\"))) % 2:
        cut = cut[:-1]
    return cut, len(body) - len(cut)


# --------------------------------------------------------------------------- analysis


def _is_collection(node: _Node) -> bool:
    """An array, or an object whose values are of one kind (a map, not a struct of assorted fields)."""
    if node.keys is None:
        return True
    n = len(node.vals)
    if n < 2:
        return False
    kinds = Counter(
        ("o" if v.keys is not None else "a") if v.__class__ is _Node else ("s" if v[0] == '"' else "n")
        for v in node.vals
    )
    return max(kinds.values()) * 10 >= n * 9


class _Stats:
    """What the anomaly rules found in one collection."""

    __slots__ = ("anomalies", "label_field", "records", "fields")

    def __init__(self) -> None:
        self.anomalies: list[int] = []
        self.label_field: str | None = None  # the field whose values describe an omitted run
        self.records = False
        self.fields: dict[str, list[str]] = {}


def _columns(node: _Node) -> tuple[dict[str, list[str]], bool]:
    """Per field, the value of every item (raw token, _MISSING or _COMPLEX); records flattened one level."""
    items = node.vals
    n = len(items)
    objs = sum(1 for v in items if v.__class__ is _Node and v.keys is not None)
    if objs * 10 < n * 8:  # not a collection of records: its items are the one field
        return {"": [v if v.__class__ is not _Node else _COMPLEX for v in items]}, False
    fields: dict[str, list[str]] = {}
    for idx, rec in enumerate(items):
        if rec.__class__ is not _Node or rec.keys is None:
            continue
        for key, val in zip(rec.keys, rec.vals):
            col = fields.get(key)
            if col is None:
                if len(fields) >= FIELDS_CAP:
                    continue
                col = fields[key] = [_MISSING] * n
            if val.__class__ is _Node:
                col[idx] = _COMPLEX
                if val.keys is not None and len(val.keys) <= 20:
                    for sub, sv in zip(val.keys, val.vals):
                        if sv.__class__ is _Node:
                            continue
                        name = key[:-1] + "." + sub[1:]
                        scol = fields.get(name)
                        if scol is None:
                            if len(fields) >= FIELDS_CAP:
                                continue
                            scol = fields[name] = [_MISSING] * n
                        scol[idx] = sv
            else:
                col[idx] = val
    return fields, True


def _analyze(node: _Node) -> _Stats:
    st = _Stats()
    n = len(node.vals)
    fields, st.records = _columns(node)
    st.fields = fields
    rare_cap = max(1, min(10, n // 100))
    found: dict[int, int] = {}  # item -> priority (lower first)
    labels: list[tuple[int, int, int, str]] = []

    def mark(indices, prio: int) -> None:
        for i in indices:
            if i not in found or found[i] > prio:
                found[i] = prio

    for fi, (name, col) in enumerate(fields.items()):
        cnt = Counter(col)
        if len(cnt) < 2:
            continue
        statusy = bool(_STATUSY.search(name.strip('"')))
        nullish = cnt.get(_MISSING, 0) + cnt.get("null", 0)
        present = n - nullish
        if 0 < nullish <= rare_cap:
            mark((i for i, v in enumerate(col) if v == _MISSING or v == "null"), 2)
        elif 0 < present <= rare_cap or (statusy and 0 < present <= max(rare_cap, n // 20)):
            mark((i for i, v in enumerate(col) if v != _MISSING and v != "null"), 1 if statusy else 2)
        values = {v: c for v, c in cnt.items() if v != _MISSING and v != _COMPLEX and v != "null"}
        distinct = len(values)
        if distinct >= 2 and distinct <= max(3, min(30, n // 8)):
            mode_count = max(values.values())
            mode = min(v for v, c in values.items() if c == mode_count)
            rare = {v for v, c in values.items() if c <= rare_cap and c * 10 <= mode_count}
            if rare:
                mark((i for i, v in enumerate(col) if v in rare), 1 if statusy else 3)
            if statusy and distinct <= 8:
                firsts: dict[str, int] = {}
                for i, v in enumerate(col):
                    if v in values and v != mode and v not in firsts:
                        firsts[v] = i
                mark(firsts.values(), 4)
            if nullish * 10 <= n:  # a field most records have, with few values: names what a gap held
                tier = 0 if _STATUS_WORD.search(name) else (1 if statusy else 2)
                labels.append((tier, distinct, fi, name))
        elif distinct > 10 and all(_NUMBER.fullmatch(v) for v in values):
            nums = [(float(v), i) for i, v in enumerate(col) if v in values]
            xs = sorted(x for x, _ in nums)
            med = xs[len(xs) // 2]
            mad = sorted(abs(x - med) for x in xs)[len(xs) // 2]
            if mad > 0:  # robust z-score: how many median deviations from the median
                far = heapq.nlargest(2, ((abs(x - med) / (1.4826 * mad), -i) for x, i in nums))
                mark((-i for z, i in far if z > 8), 5)
    st.anomalies = sorted(found, key=lambda i: (found[i], i))[:ANOMALY_CAP]
    if labels:
        st.label_field = min(labels)[3]
    return st


# --------------------------------------------------------------------------- rendering


class _Renderer:
    def __init__(self, tokens: list[str], colon: str, sep: str, part_id: str, terms: tuple[str, ...],
                 lossy: bool, tables: bool, multiline: bool, deadline: float) -> None:
        self.tokens = tokens
        self.colon = colon
        self.sep = sep
        self.part_id = part_id
        self.terms = terms
        alternatives = "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True))
        self.term_re = re.compile(r"(?<![a-z0-9])(?:" + alternatives + r")(?![a-z0-9])") if terms else None
        self.lossy = lossy
        self.tables = tables and bool(terms)
        self.multiline = multiline
        self.deadline = deadline
        self.out: list[str] = []
        self.omitted = 0
        self.stats: dict[int, _Stats] = {}
        self.matches: dict[int, list[int]] = {}
        self.strong: dict[int, list[int]] = {}
        self.anchors: set[str] = set()
        self.blank_cells = False  # whether the table being rendered has a record without some key
        self.plain = 0  # inside a singled-out item: plain JSON, no tables
        self.newlines: list[int] | None = None  # indices of the newline tokens

    # ---------------------------------------------------------------- helpers
    def _stats(self, node: _Node) -> _Stats:
        st = self.stats.get(id(node))
        if st is None:
            st = self.stats[id(node)] = _analyze(node)
        return st

    def _big(self, node: _Node) -> bool:
        """Whether node is a collection worth sampling: many items (or huge ones), and for an object,
        values of one kind (a map); an object of assorted fields is a struct, kept whole."""
        n = len(node.vals)
        size = node.tsize
        if not ((n > SAMPLE_ITEMS and size > SAMPLE_CHARS) or (n > HEAD + TAIL + 1 and size > HUGE_CHARS)):
            return False
        return n > 200 or _is_collection(node)

    def _query_matches(self, node: _Node) -> list[int]:
        """Items of node that match the question best.

        A term weighs 1/(items it matches), three times that where it matches an identifier (the
        entry's key or a short value) rather than running text; an item matched in running text
        only needs two different terms. Terms that match most items say nothing and are ignored.
        """
        got = self.matches.get(id(node))
        if got is not None:
            return got
        got = []
        n = len(node.vals)
        if self.term_re is not None and n >= QUERY_MIN_ITEMS and _is_collection(node):
            hay: list[str] = []
            split: list[int] = []  # where running text starts in each item's hay
            keys = node.keys
            for i, v in enumerate(node.vals):
                if v.__class__ is not _Node and len(v) <= 62:
                    h = v if keys is None else keys[i] + " " + v
                    hay.append(h)
                    split.append(len(h))
                    continue
                parts: list[str] = [keys[i]] if keys is not None else []
                _strings(v, parts, 4000)
                short = " ".join(x for x in parts if len(x) <= 62)
                hay.append(short + " \x01" + " ".join(x for x in parts if len(x) > 62))
                split.append(len(short))
            starts = [0, *accumulate(len(h) + 1 for h in hay)]
            big = "\n".join(hay).lower()
            hits: dict[str, dict[int, bool]] = {}
            for m in self.term_re.finditer(big):
                pos = m.start()
                i = bisect_right(starts, pos) - 1
                ident = pos - starts[i] < split[i]
                seen = hits.setdefault(m.group(0), {})
                seen[i] = seen.get(i, False) or ident
            score: dict[int, float] = {}
            ident_hit: set[int] = set()
            terms_hit: Counter[int] = Counter()
            for term in sorted(hits):
                items = hits[term]
                if len(items) * 4 > n and len(items) > 2:
                    continue  # not a discriminating word here
                w = 1.0 / len(items)
                for i, ident in items.items():
                    score[i] = score.get(i, 0.0) + (3 * w if ident else w)
                    terms_hit[i] += 1
                    if ident:
                        ident_hit.add(i)
            need = 2 if len(self.terms) > 1 else 1
            score = {i: sc for i, sc in score.items() if i in ident_hit or terms_hit[i] >= need}
            if score:
                best = max(score.values())
                ranked = sorted((i for i, sc in score.items() if sc >= best * 0.5), key=lambda i: (-score[i], i))
                got = sorted(ranked[:QUERY_CAP])
        self.matches[id(node)] = got
        self.strong[id(node)] = [i for i in got if i in ident_hit] if got else []
        return got

    def prepare(self, root: _Node, top_object: bool) -> None:
        """Find the question's matches in every collection, and the values that anchor entries."""
        if top_object:
            for v in root.vals:
                if v.__class__ is not _Node:
                    self._anchor(v)
                elif len(v.vals) <= 4 and v.size <= 400:  # e.g. "dist-tags": {"latest": "5.3.0"}
                    vals: list[str] = []
                    _strings(v, vals)
                    for s in vals:
                        self._anchor(s)
        if self.term_re is None:
            return
        todo = [root]
        while todo:
            node = todo.pop()
            if len(node.vals) >= QUERY_MIN_ITEMS:
                self._query_matches(node)
                for i in self.strong[id(node)]:  # matched by name: what it names is wanted too
                    vals = []
                    _strings(node.vals[i], vals, 20_000)
                    for s in vals:
                        self._anchor(s)
            todo.extend(v for v in node.vals if v.__class__ is _Node)

    def _anchor(self, raw: str) -> None:
        if raw[:1] == '"' and 5 <= len(raw) <= 82:
            self.anchors.add(raw)

    def _plan(self, node: _Node) -> tuple[bytearray, dict[int, int]]:
        """Which items of a big collection to keep, and which of those are singled out (rendered in
        full, with the string length each may keep)."""
        if past(self.deadline):
            raise EngineTimeout()
        n = len(node.vals)
        keep = bytearray(n)
        avg = node.tsize / max(1, n)
        head, tail = (1, 1) if avg > 2000 else (2, 1) if avg > 600 else (HEAD, TAIL)
        keep[:head] = b"\x01" * min(head, n)
        keep[max(0, n - tail):] = b"\x01" * min(tail, n)
        special = self._singled(node, self._stats(node).anomalies)  # rendered in full
        for i in special:
            keep[i] = 1
        if self.anchors:  # kept, but not in full
            found = 0
            anchors = self.anchors
            if node.keys is not None:
                cands = node.keys
            else:
                cands = [  # an item itself, or a record's first field ("name", "id")
                    v if v.__class__ is not _Node
                    else (v.vals[0] if v.keys and v.vals and v.vals[0].__class__ is not _Node else "")
                    for v in node.vals
                ]
            for i, c in enumerate(cands):
                if c in anchors:
                    keep[i] = 1
                    found += 1
                    if found >= ANCHOR_CAP:
                        break
        # a gap of one or two small items is not worth a marker
        i = 0
        vals = node.vals
        while i < n:
            if keep[i]:
                i += 1
                continue
            j = i
            while j + 1 < n and not keep[j + 1]:
                j += 1
            if j - i < 2 and sum(len(v) if v.__class__ is not _Node else v.tsize for v in vals[i:j + 1]) < 160:
                keep[i:j + 1] = b"\x01" * (j - i + 1)
            i = j + 1
        return keep, special

    def _marker(self, node: _Node, i: int, j: int) -> str:
        """The marker line for items i..j of node, which are left out."""
        k = j - i + 1
        self.omitted += k
        st = self._stats(node)
        if node.keys is not None:
            unit = "entries" if k > 1 else "entry"
        else:
            unit = ("records" if st.records else "items") if k > 1 else ("record" if st.records else "item")
        counts: Counter[str] = Counter()
        field = st.label_field
        if field is not None:
            col = st.fields[field][i:j + 1]
            raw = Counter(col)
            if len(raw) <= 8:
                name = field.strip('"')
                counts = Counter()
                for v, c in raw.items():
                    counts[f"{name}={_label(v)}" if name else _label(v)] += c
        if not counts:  # name the run by its first and last key (or item), where they are short
            ends = (node.keys[i], node.keys[j]) if node.keys is not None else (node.vals[i], node.vals[j])
            if k > 1 and all(e.__class__ is str and len(e) <= 42 and "]" not in e and "\u00b7" not in e for e in ends):
                counts = Counter({f"{unit}: {ends[0]} \u2026 {ends[1]}": k})
        first, last = node.stok[i], node.etok[j]
        if self.multiline and self._whole_lines(first, last):
            return line_marker(self.part_id, self._line(first), self._line(last), counts or {unit: k})
        return omission_marker(self.part_id, k, unit, counts)

    def _whole_lines(self, first: int, last: int) -> bool:
        """Whether tokens first..last fill whole lines: nothing before first on its line, nothing after last."""
        tokens = self.tokens
        return (first == 0 or tokens[first - 1] == "\n") and (last + 1 >= len(tokens) or tokens[last + 1] == "\n")

    def _line(self, tok: int) -> int:
        """The 1-based line of a token (the newline tokens are indexed once, on first need)."""
        if self.newlines is None:
            tokens = self.tokens
            self.newlines = list(compress(range(len(tokens)), map("\n".__eq__, tokens)))
        return bisect_right(self.newlines, tok) + 1

    def _scalar(self, raw: str, limit: int) -> str:
        if not self.lossy or len(raw) <= limit or raw[:1] != '"':
            return raw
        keep, dropped = _cut(raw, STR_KEEP if limit == LONG_STR else limit)
        self.omitted += 1
        return '"' + keep + "\u2026" + omission_marker(self.part_id, dropped, "characters") + '"'

    def inline(self, v, limit: int, skip: frozenset[str] = frozenset()) -> str:
        """v on one line in the source's style (long strings cut in lossy mode)."""
        if v.__class__ is not _Node:
            return self._scalar(v, limit)
        if v.keys is not None:
            colon = self.colon
            body = self.sep.join(
                k + colon + (self.inline(x, limit) if x.__class__ is _Node else self._scalar(x, limit))
                for k, x in zip(v.keys, v.vals) if k not in skip
            )
            return "{" + body + "}"
        return "[" + self.sep.join(
            self.inline(x, limit) if x.__class__ is _Node else self._scalar(x, limit) for x in v.vals
        ) + "]"

    # ---------------------------------------------------------------- layout
    def container(self, prefix: str, v: _Node, depth: int, suffix: str, limit: int, plan, top: bool = False,
                  drop: frozenset[str] = frozenset()) -> None:
        out = self.out
        ind = " " * (depth + 1) if not top else ""
        is_obj = v.keys is not None
        n = len(v.vals)
        keep, special = plan if plan is not None else (None, {})
        if plan is None and self.lossy and self.term_re is not None:
            special = self._singled(v, ())
        objs = sum(1 for x in v.vals if x.__class__ is _Node and x.keys is not None)
        records = n >= 2 and objs * 10 >= n * 8 and (not is_obj or n >= HOIST_MIN)
        hoist: dict[str, str] = {}
        table_cols: list[str] | None = None
        if records and n >= HOIST_MIN:
            hoist = self._constants(v)
            if self.tables and not self.lossy and n >= TABLE_MIN and not self.plain:
                special = self._singled(v, self._stats(v).anomalies)
                table_cols = self._table_columns(v, hoist)
        note = ""
        rows: list[str | None] = []
        if table_cols is not None:
            self.blank_cells = False
            rows = [self._row(x, table_cols, hoist) if i not in special else None for i, x in enumerate(v.vals)]
            what = "entries" if is_obj else "records"
            note = f" // {n:,} {what}; a row holds the values of {self.sep.join(table_cols)}"
            if self.blank_cells:
                note += " (a blank or missing cell: the record has no such key)"
            if hoist:
                note += "; every row also has " + self.sep.join(k + self.colon + x for k, x in hoist.items())
        elif hoist:
            what = "entry" if is_obj else "record"
            note = f" // every {what} below also has " + self.sep.join(k + self.colon + x for k, x in hoist.items())
        opener, closer = ("{", "}") if is_obj else ("[", "]")
        if not top:
            out.append(prefix + opener + note)
        elif note:
            out.append("//" + note[3:])
        skip = frozenset(hoist)
        # scalars, and records too small to be worth a line each, are wrapped several to a line
        wrap = not is_obj and table_cols is None and all(
            x.__class__ is not _Node or (x.size <= 48 and not _nested(x)) for x in v.vals
        )
        line = ""
        i = 0
        sep_item = "" if top or table_cols is not None else ","
        while i < n:
            if keep is not None and not keep[i]:
                j = i
                while j + 1 < n and not keep[j + 1]:
                    j += 1
                if line:
                    out.append(ind + line)
                    line = ""
                out.append(ind + self._marker(v, i, j))
                i = j + 1
                continue
            if drop and is_obj and v.keys[i] in drop:  # stated once above, for every record
                i += 1
                continue
            x = v.vals[i]
            comma = sep_item if i < n - 1 else ""
            lim = special.get(i, limit)
            if wrap and not top:
                piece = self.inline(x, lim, skip if i not in special else frozenset()) + comma
                if line and len(line) + len(piece) + 1 > WRAP:
                    out.append(ind + line)
                    line = piece
                else:
                    line = line + (" " if self.sep == ", " else "") + piece if line else piece
                i += 1
                continue
            key = (v.keys[i] + self.colon) if is_obj else ""
            if x.__class__ is not _Node:
                out.append(ind + key + self._scalar(x, lim) + comma)
                i += 1
                continue
            if rows:
                row = rows[i]
                if row is not None:
                    out.append(ind + key + row + comma)
                    i += 1
                    continue
            size = x.tsize if self.lossy and lim == LONG_STR else x.size
            sub_plan = self._plan(x) if self.lossy and self._big(x) else None
            if sub_plan is None and size <= (RECORD_INLINE if records else INLINE):
                out.append(ind + key + self.inline(x, lim, skip if i not in special else frozenset()) + comma)
            else:
                if past(self.deadline):
                    raise EngineTimeout()
                plain = i in special
                self.plain += plain
                self.container(ind + key, x, depth + 1, comma, lim, sub_plan, drop=frozenset() if plain else skip)
                self.plain -= plain
            i += 1
        if line:
            out.append(ind + line)
        if not top:
            out.append(" " * depth + closer + suffix)

    def _singled(self, v: _Node, anomalies) -> dict[int, int]:
        """Items rendered in full, with the string length each may keep: the question's matches
        (by name in full, in running text up to MID_STR) and the anomalies."""
        got: dict[int, int] = {}
        if self.term_re is not None:
            matches = self._query_matches(v)
            strong = set(self.strong.get(id(v), ()))
            for i in matches:
                got[i] = FULL_STR if i in strong else MID_STR
        for i in anomalies:
            got[i] = FULL_STR
        return got

    def _constants(self, v: _Node) -> dict[str, str]:
        """Fields with the same value in every record (stated once): scalars, and small objects or
        arrays that repeat whole, keyed to their one-line form."""
        first: dict[str, str] | None = None
        for x in v.vals:
            if x.__class__ is not _Node or x.keys is None:
                return {}
            if first is None:
                first = {}
                for k, y in zip(x.keys, x.vals):
                    if y.__class__ is not _Node:
                        first[k] = y
                    elif y.size <= 200:
                        first[k] = self.inline(y, FULL_STR)
            else:
                here = dict(zip(x.keys, x.vals))
                same = {}
                for k, y in first.items():
                    z = here.get(k)
                    if z is None:
                        continue
                    if z.__class__ is _Node:
                        if z.size == len(y) and self.inline(z, FULL_STR) == y:
                            same[k] = y
                    elif z == y:
                        same[k] = y
                first = same
            if not first:
                return {}
        if first is not None and len(first) == len(v.vals[0].keys):
            return {}  # all records alike: keep them as they are
        return first or {}

    def _table_columns(self, v: _Node, hoist: dict[str, str]) -> list[str] | None:
        """The columns of a table of v's records: every key, each new one placed after the key it
        follows in the record where it first appears (so records with optional keys still fit)."""
        cols: list[str] = []
        for x in v.vals:
            if x.__class__ is not _Node or x.keys is None:
                continue
            at = 0
            for k in x.keys:
                if k in hoist:
                    continue
                if k in cols:
                    at = cols.index(k) + 1
                else:
                    cols.insert(at, k)
                    at += 1
                    if len(cols) > 40:
                        return None
        if len(cols) < 2:
            return None  # one column: the records are as short as a row
        present = sum(len(x.keys) for x in v.vals if x.__class__ is _Node and x.keys is not None)
        if present < 0.6 * len(cols) * len(v.vals):
            return None  # records of assorted shapes: a table would be mostly blanks
        return cols

    def _row(self, x, cols: list[str], hoist: dict[str, str]) -> str | None:
        """x as a row of the table's columns, or None where it does not fit (then it is rendered in full)."""
        if x.__class__ is not _Node or x.keys is None:
            return None
        pos = {}
        order = []
        for k, y in zip(x.keys, x.vals):
            if k in hoist:
                if hoist[k] != y:
                    return None
                continue
            pos[k] = y
            order.append(k)
        if len(pos) + sum(1 for k in hoist) != len(x.keys) or order != [k for k in cols if k in pos]:
            return None  # a repeated key, a constant missing, or keys in another order: only full JSON keeps that
        cells: list[str] = []
        for k in cols:
            y = pos.get(k)
            if y is None:
                cells.append("")
                self.blank_cells = True
            elif y.__class__ is _Node:
                if y.size > 80:
                    return None
                cells.append(self.inline(y, FULL_STR))
            else:
                cells.append(y)
        while cells and cells[-1] == "":
            cells.pop()
        return self.sep.join(cells)


# --------------------------------------------------------------------------- the engine


class JsonEngine:
    """Re-renders JSON in the source's own spelling, compactly; folds the bulk of big collections."""

    __test__ = False
    name = "json"

    def __init__(self, lossy_min_chars: int = LOSSY_MIN_CHARS,
                 blind_lossy_min_chars: int = BLIND_LOSSY_MIN_CHARS) -> None:
        self.lossy_min_chars = lossy_min_chars
        self.blind_lossy_min_chars = max(lossy_min_chars, blind_lossy_min_chars)

    # ------------------------------------------------------------------ detect
    def detect(self, part: Part) -> float:
        hinted = hint_score(part, _HINTS_MINE)
        if hinted is not None:
            return hinted
        text = part.text
        if _READ_PREFIX.match(text):  # a Read tool's numbered listing of a file
            if len(text) <= 50_000:
                body = _strip_read(text)
            else:
                cut = text.rfind("\n", 0, 20_000)
                first, last = _strip_read(text[:cut]), _strip_read(text[text.find("\n", len(text) - 2_000) + 1:])
                body = None if first is None or last is None else first + "\n" + last
            if body is None:
                return 0.0
            text = body
        head = text[:20_000].lstrip()
        if not head or head[0] not in "{[":
            return 0.0
        tail = text[-2_000:].rstrip()
        if not tail or tail[-1] not in "}]":
            return 0.05
        if _RG_JSON.match(head):
            return 0.05  # ripgrep's --json stream: search results
        bonus = 0.0
        tool_input = part.tool_input or ""
        if tool_input:
            low = tool_input.lower()
            if low.endswith((".json", ".jsonl", ".ndjson", ".geojson", ".ipynb")) or _JSON_TOOLS.search(tool_input):
                bonus = 0.05
        if len(text) <= 50_000:
            if not _valid(text):
                return 0.05
            score = 0.95
        else:
            lines = head.split("\n")[:200]
            good = sum(1 for ln in lines if _JSONISH_LINE.match(ln))
            if good < 0.9 * len(lines):
                return 0.05
            score = 0.9
        first_lines = head.split("\n", 3)
        if len(first_lines) > 2 and all(ln.lstrip()[:1] == "{" and ln.rstrip()[-1:] == "}" for ln in first_lines[:3]):
            if _LOG_KEYS.search(head[:4000]):
                return 0.6  # JSON log records: the log engine knows levels better
            score = 0.85
        return min(1.0, score + bonus)

    # ---------------------------------------------------------------- compress
    def compress(self, part: Part, ctx: Context) -> Result | None:
        original = text = part.text
        if len(text) < MIN_CHARS:
            return None
        if _READ_PREFIX.match(text):
            text = _strip_read(text) or ""  # same lines, so line markers still name the part's lines
        stripped = text.strip()
        if not stripped or stripped[0] not in "{[":
            return None
        if not _valid(text):
            return None
        if past(ctx.deadline):
            raise EngineTimeout()
        tokens = _TOKEN.findall(text)
        try:
            top = _build(tokens, ctx.deadline)
        except (ValueError, IndexError, AttributeError):
            return None
        if not top.vals:
            return None
        colon, sep = _style(text)
        _sizes(top, len(colon), len(sep))
        terms = part_terms(part)
        multiline = text.count("\n", 0, len(text.rstrip())) > 0
        caches: tuple[dict, dict, dict] = ({}, {}, {})
        args = (top, tokens, colon, sep, ctx, terms, multiline, caches)
        threshold = self.lossy_min_chars if terms else self.blind_lossy_min_chars
        if len(top.vals) > 1 and _one_per_line(top, tokens):
            return self._json_lines(text, original, *args, threshold)
        try:
            # the lossless rendering is at least about a third of the one-line size (a table saves the rest)
            lossless = self._render(*args, lossy=False)[0] if top.size <= 3 * threshold else None
            out, omitted = lossless or "", 0
            if lossless is None or len(lossless) > threshold:
                lossy, omitted = self._render(*args, lossy=True)
                if lossless is None or (omitted and len(lossy) < len(lossless) * 0.9):
                    out = lossy
                else:
                    omitted = 0
        except RecursionError:  # nesting deeper than the renderer recurses
            return None
        if text.endswith("\n"):
            out += "\n"
        if len(out) >= len(original) * 0.98:
            return None
        return Result(out, self.name, omitted=omitted)

    def _json_lines(self, text: str, original: str, top: _Node, tokens: list[str], colon: str, sep: str,
                    ctx: Context, terms: tuple[str, ...], multiline: bool, caches: tuple[dict, dict, dict],
                    threshold: int) -> Result | None:
        """JSON Lines: every record is already a line the model can quote and grep, so none is redrawn.
        Past the lossy threshold the records the rules single out stay as their own lines, byte for byte,
        and each run of the others becomes a line marker."""
        if len(text) <= threshold:
            return None
        r = _Renderer(tokens, colon, sep, ctx.part_id, terms, True, False, multiline, ctx.deadline)
        r.stats, r.matches, r.strong = caches
        r.prepare(top, False)
        if not r._big(top):
            return None
        keep = r._plan(top)[0]
        lines = original.split("\n")  # a Read prefix stays with its line
        out: list[str] = []
        i, n = 0, len(top.vals)
        while i < n:
            j = i
            while not keep[i] and j + 1 < n and not keep[j + 1]:
                j += 1
            out.append(lines[i] if keep[i] else r._marker(top, i, j))
            i = j + 1
        result = "\n".join(out) + ("\n" if text.endswith("\n") else "")
        if len(result) >= len(original) * 0.98:
            return None
        return Result(result, self.name, omitted=r.omitted)

    def _render(self, top: _Node, tokens: list[str], colon: str, sep: str, ctx: Context, terms: tuple[str, ...],
                multiline: bool, caches: tuple[dict, dict, dict], lossy: bool) -> tuple[str, int]:
        r = _Renderer(tokens, colon, sep, ctx.part_id, terms, lossy, not lossy, multiline, ctx.deadline)
        r.stats, r.matches, r.strong = caches
        if len(top.vals) == 1:
            root = top.vals[0]
            if root.__class__ is not _Node:
                return root, 0
            r.prepare(root, root.keys is not None)
            plan = r._plan(root) if lossy and r._big(root) else None
            r.container("", root, 0, "", LONG_STR, plan)
        else:  # JSON Lines, or a stream of values: one per line, no brackets
            r.prepare(top, False)
            plan = r._plan(top) if lossy and r._big(top) else None
            r.container("", top, -1, "", LONG_STR, plan, top=True)
        return "\n".join(r.out), r.omitted


register(JsonEngine())
