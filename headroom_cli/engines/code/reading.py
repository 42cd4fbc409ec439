"""Which grammar reads a source file, and how: the file name's language first, else the likeliest by
the text's telling lines; for C and C++ also the text with the preprocessor's conditionals and bare
macros blanked out, when that reads better."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

from headroom_cli.engines.code import languages, parsing
from headroom_cli.engines.code.languages import Language

CANDIDATES = 3  # grammars tried on a file without a telling name
# A file named .c may be C++, .ts may hold JSX, .js may be TSX: the grammar tried next.
_ALTERNATIVES = {
    "c": (languages.CPP,), "cpp": (languages.C,), "typescript": (languages.TSX,), "tsx": (languages.TYPESCRIPT,),
    "javascript": (languages.TSX,),
}


@dataclass
class Reading:
    """How the engine read a file: the grammar, the tree, and the bytes it parsed."""

    lang: Language
    tree: object
    data: bytes  # what was parsed: the file, or for C/C++ maybe the file with its preprocessor lines masked
    masked: bool = False

    def prepare(self, data: bytes, replacements: list[tuple[int, int, bytes]]) -> bytes:
        """An output (``data``: the input with rows first..last of each replacement replaced by its
        line), as it must be parsed to compare it with this reading of the input."""
        if not self.masked:
            return data
        rows = self.data.split(b"\n")
        if any(rows[first - 1].rstrip().endswith(b"\\") or rows[last].rstrip().endswith(b"\\")
               for first, last, _ in replacements if first > 0):
            return parsing.mask_conditionals(data)  # a cut next to a continued line: masking may differ there
        # Masking works line by line and leaves a marker line (a comment) as it is, so the masked output
        # is the masked input with the same rows replaced: no need to mask the whole output again.
        out, at = [], 0
        for first, last, line in replacements:
            out.extend(rows[at:first])
            out.append(line)
            at = last + 1
        out.extend(rows[at:])
        return b"\n".join(out)


def read(text: str, data: bytes, path: str | None, deadline: float | None = None) -> Reading | None:
    """The best reading of the text, or None when, without a file name to go by, no grammar reads it
    well (then it is not taken for code)."""
    named = languages.by_path(path)
    if named is not None:
        first = languages.refine(named, text)
        candidates = [first] + [alt for alt in _ALTERNATIVES.get(first.name, ()) if alt is not first]
    else:
        candidates = []
        for lang in languages.ranked(text)[:CANDIDATES]:
            lang = languages.refine(lang, text)  # C with C++ in it is C++
            if lang not in candidates:
                candidates.append(lang)
    rows = text.count("\n") + 1
    best: tuple[int, Reading] | None = None
    for lang in candidates:
        tree = parsing.parse(lang, data, deadline=deadline)
        if not tree.root_node.has_error:
            return Reading(lang, tree, data)
        bad = len(parsing.error_rows(tree))
        if best is None or bad < best[0]:
            best = (bad, Reading(lang, tree, data))
        if lang.preprocessor:  # #if branches and bare macros may be what the grammar trips over
            masked = parsing.mask_conditionals(data)
            masked_tree = parsing.parse(lang, masked, deadline=deadline)
            masked_bad = len(parsing.error_rows(masked_tree))
            if masked_bad < best[0]:
                # Read so, the output is checked so too: the cuts keep #if blocks whole and cut only
                # whole lines, so what the preprocessor makes of it is unchanged. (As it is, the
                # grammar's error recovery over #if branches shifts with any edit far away: a check
                # there would undo good cuts and cost two more parses.)
                best = (masked_bad, Reading(lang, masked_tree, masked, True))
        # Another grammar is worth its time (error recovery is slow) only when this one reads badly.
        if not parsing.broken(best[1].tree, rows, best[0]):
            break
    if best is None or (named is None and parsing.broken(best[1].tree, rows, best[0])):
        return None
    return best[1]


def language_of(text: str, path: str | None = None) -> str | None:
    """The name of the language the engine reads the text as (for reports and tests)."""
    reading = read(text, text.encode("utf-8", "surrogatepass"), path)
    return reading.lang.name if reading else None


_QUERIES: dict[str, object] = {}


def function_query(lang: Language):
    """A tree-sitter query for the language's function nodes (those its grammar version has)."""
    if lang.name not in _QUERIES:
        from tree_sitter_languages import get_language

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            grammar = get_language(lang.grammar)
        patterns = []
        for kind in sorted(lang.functions):
            try:
                grammar.query(f"({kind}) @f")
            except Exception:  # not a node of this grammar's version
                continue
            patterns.append(f"({kind}) @f")
        _QUERIES[lang.name] = grammar.query(" ".join(patterns)) if patterns else None
    return _QUERIES[lang.name]
