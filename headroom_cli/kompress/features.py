"""What the model reads of each line: hashed n-gram ids and a few measured features.

No tokenizer file: a line's lower-cased bytes give byte trigrams and its words, each hashed (a fixed
arithmetic hash and CRC-32, never Python's per-process salted hash) into ``buckets`` rows of the
embedding table. The features are what a line's words cannot say: where it stands, how often its
shape repeats in this output, whether it holds a word of the agent's question.
"""

from __future__ import annotations

import math
import re
import zlib
from collections import Counter

import numpy as np

N_FEATURES = 17
ALERT = re.compile(r"\b(error|errors|fail|failed|failure|failures|fatal|panic|exception|traceback|warning|"
                   r"denied|abort|aborted|assert\w*|critical)\b", re.I)
HEADING = re.compile(r"^(#{1,6} \S|[A-Z][A-Z0-9 _-]{2,40}$|[A-Za-z][\w .-]{0,40}:$|[=\-~]{4,}$)")
PATH_LINE = re.compile(r"[\w./-]+\.\w+[:(]\d+|line \d+")
_NUM = re.compile(r"0x[0-9a-f]+|\d+", re.I)
_WORDS = re.compile(rb"[a-z_][a-z0-9_]+")


def template(line: str) -> str:
    """The line's shape: numbers masked, so log records of one kind share a template."""
    return _NUM.sub("0", line.strip())[:60]


def hashed_ids(line: str, buckets: int, max_bytes: int) -> np.ndarray:
    data = line.lower().encode("utf-8", "replace")[:max_bytes]
    b = np.frombuffer(data, dtype=np.uint8).astype(np.int64)
    grams = (b[:-2] * 1_000_003 + b[1:-1] * 8_191 + b[2:] * 131) % buckets if len(b) >= 3 else b % buckets
    words = [zlib.crc32(w, 0x5EED) % buckets for w in _WORDS.findall(data)]
    ids = np.concatenate([grams, np.asarray(words, dtype=np.int64)])
    return ids if len(ids) else np.zeros(1, dtype=np.int64)


def encode(lines: list[str], terms: tuple[str, ...], buckets: int, max_bytes: int):
    """(ids, offsets, features) for the lines, as numpy arrays."""
    temps = [template(line) for line in lines]
    counts = Counter(temps)
    n = len(lines)
    shared = sum(1 for t in temps if counts[t] >= 3) / max(1, n)
    feats = np.zeros((n, N_FEATURES), dtype=np.float32)
    chunks, offsets, pos = [], [], 0
    for i, line in enumerate(lines):
        ids = hashed_ids(line, buckets, max_bytes)
        chunks.append(ids)
        offsets.append(pos)
        pos += len(ids)
        feats[i] = _line_features(line, i, n, temps, counts, shared, terms)
    return np.concatenate(chunks), np.asarray(offsets, dtype=np.int64), feats


def _line_features(line: str, i: int, n: int, temps: list[str], counts: Counter, shared: float,
                   terms: tuple[str, ...]) -> list[float]:
    size = max(1, len(line))
    stripped = line.lstrip()
    lower = line.lower()
    return [
        math.log1p(len(line)) / 6,
        float(not stripped),
        sum(c.isdigit() for c in line) / size,
        sum(c.isupper() for c in line) / size,
        sum(c.isalpha() for c in line) / size,
        min(1.0, (len(line) - len(stripped)) / 16),
        i / max(1, n - 1),
        float(i < 3),
        float(i >= n - 3),
        float(bool(ALERT.search(line))),
        float(any(t in lower for t in terms)),
        math.log1p(counts[temps[i]]) / 5,
        float(counts[temps[i]] == 1),
        float(bool(HEADING.match(line))),
        shared,
        float(i > 0 and temps[i] == temps[i - 1]),
        float(bool(PATH_LINE.search(line))),
    ]
