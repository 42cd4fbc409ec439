"""``path:N:text`` matches (``grep -rn``, ``git grep -n``, ``rg`` plain; ``path:N:col:text`` too) with
``path-N-text`` context lines, ``path=N=text`` function lines (``git grep -p``) and ``--`` separators."""

from __future__ import annotations

import re

from headroom_cli.engines.search.parsed import B, C, M, O, Parsed, S

# the path holds no colon (a drive letter aside)
LINE = re.compile(r"((?:[A-Za-z]:[\\/])?[^:\n]+?):(\d+):(?:(\d+):)?")
_CONTEXT_SEP = re.compile(r"([-=])(\d+)\1")


def parse(lines: list[str], pre: list[re.Match[str] | None]) -> Parsed:
    """``pre``: each line's match of ``LINE`` where its path is a path, else None."""
    p = Parsed(lines, "prefixed")
    kind, fid, tstart, lnum, index = p.kind, p.fid, p.tstart, p.lnum, p.index
    for i, m in enumerate(pre):
        if m is not None:
            kind[i] = M
            path = m.group(1)
            f = index.get(path)
            fid[i] = f if f is not None else p.file(path)
            lnum[i] = int(m.group(2))
            tstart[i] = m.end()
    cur = ""
    for i, ln in enumerate(lines):
        if kind[i] == M:
            cur = p.paths[fid[i]]
        elif not ln:
            kind[i] = B
        elif ln == "--":
            kind[i] = S
        else:
            cur = _context(p, i, ln, cur)
    return p.done()


def _context(p: Parsed, i: int, ln: str, cur: str) -> str:
    """Mark a context line of the current file, or of any file that has a match (else the line is
    other); returns the file now current."""
    p.kind[i] = O
    if cur and ln.startswith(cur) and (m := _CONTEXT_SEP.match(ln, len(cur))):
        f = p.known(cur)
    else:
        for m in _CONTEXT_SEP.finditer(ln):
            f = p.known(ln[: m.start()])
            if f is not None:
                cur = p.paths[f]
                break
        else:
            return cur
    p.kind[i] = C
    p.fid[i] = f
    p.lnum[i] = int(m.group(2))
    p.tstart[i] = m.end()
    if m.group(1) == "=":
        p.headers.add(i)
    return cur
