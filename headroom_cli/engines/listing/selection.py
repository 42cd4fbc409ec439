"""What every format's selection works on: the lines, what is kept, what each line would be counted as
in a marker, the question's hits, the deadline; and the small helpers the formats share."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from headroom_cli.engines.base import ANSI, EngineTimeout, has_ansi, past

CHECK_EVERY = 2048  # lines between deadline checks
TOP_LARGEST = 3  # the largest files of a whole listing, always kept
RARE_SHARE = 0.02  # a permission/owner/status value this rare (and in a listing of RARE_MIN+) is kept
RARE_MIN = 20
SECTION_CAP = 60  # the most entries a query-named directory keeps whole
PATH_RUN_KEEP = (2, 1)  # path lists: first and last entries of a directory run

VENDORED = frozenset((
    "node_modules", ".git", "__pycache__", ".venv", "venv", "dist", "build", "target", ".tox", ".nox",
    ".mypy_cache", ".pytest_cache", ".ruff_cache", ".next", ".nuxt", ".cache", "vendor", "bower_components",
    "site-packages", ".gradle", ".terraform", ".eggs", "htmlcov", ".svn", ".hg", ".idea", ".parcel-cache",
    ".turbo", ".yarn", ".pnpm-store", "coverage",
))
_EXT_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+-")
_SIZE = re.compile(r"(\d+(?:[.,]\d+)?)([KMGTPEkmgtpe]?)(?:i?[Bb])?$")


@dataclass
class Selection:
    """One listing being selected: its lines as parsed, and per line whether it is kept, what a marker
    counts it as ("directories", ".py files", "merge commits") and whether it holds a question word."""

    lines: list[str]
    query: bytearray
    deadline: float
    keep: bytearray = field(init=False)
    label: list[str] = field(init=False)
    _ext_labels: dict[str, str] = field(default_factory=dict)  # extension -> its label, found once

    def __post_init__(self) -> None:
        self.keep = bytearray(len(self.lines))
        self.label = ["lines"] * len(self.lines)

    def check(self) -> None:
        if past(self.deadline):
            raise EngineTimeout()

    def ext_label(self, name: str) -> str:
        """'.py files' for a name with an extension (a leading dot is a hidden file, not one), else 'files'."""
        dot = name.rfind(".")
        if dot <= 0 or name[dot - 1] == "/" or len(name) - dot > 11:
            return "files"
        ext = name[dot + 1:]
        label = self._ext_labels.get(ext)
        if label is None:
            label = self._ext_labels[ext] = f".{ext.lower()} files" if ext and _EXT_CHARS.issuperset(ext) else "files"
        return label


def clean(lines: list[str], text: str) -> list[str]:
    """Lines as parsed: without ANSI colours (ls --color, tree -C) or a trailing CR."""
    out = lines
    if has_ansi(text):
        out = [ANSI.sub("", ln) if "\x1b[" in ln else ln for ln in out]
    if "\r" in text:
        out = [ln.rstrip("\r") for ln in out]
    return out


def size_of(token: str) -> float | None:
    """Bytes a size column says ("4096", "1.5K", "12MiB"), None when it is no size."""
    if token.isdigit():
        return float(token)
    m = _SIZE.match(token)
    if not m:
        return None
    num = float(m.group(1).replace(",", "."))
    unit = m.group(2).upper()
    return num * 1024 ** ("KMGTPE".find(unit) + 1) if unit else num


def is_vendored(component: str) -> bool:
    return component in VENDORED or component.endswith(".egg-info")


def vendored_at(path: str) -> int:
    """Index of the first vendored component of a path (``-1`` if none)."""
    parts = path.replace("\\", "/").strip("/").split("/")
    for k, comp in enumerate(parts):
        if is_vendored(comp):
            return k
    return -1


def keep_runs(sel: Selection, entries: list[tuple[int, tuple]]) -> None:
    """Keep the first and last entries of each run of consecutive entries with the same key, and query hits."""
    keep, query = sel.keep, sel.query
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
