"""The code engine: source files compressed by their syntax tree (tree-sitter).

What stays is what a reader needs to navigate and call the code (imports, type declarations, every
signature with its decorators, constants, doc comments); function bodies and other long stretches
become one marker line each that names the symbol and its line range (``outline.py`` says exactly what
is cut). Bodies of the symbols the question names stay. The output is re-parsed: a cut that would
leave a syntax error the input did not have is undone, and the input comes back unchanged when that
does not settle it.

Left alone (returned as they are, claimed so that no other engine rewrites them): files shorter than
``HEADROOM_CODE_MIN_LINES`` (an agent about to edit a small file needs its exact text, and a marker
there saves little), broken files (mostly syntax errors: a fragment, a grammar the parser cannot
follow), huge, minified and binary-looking files.
"""

from __future__ import annotations

import re

from headroom_cli.engines import register
from headroom_cli.engines.base import Context, EngineTimeout, Part, past, Result
from headroom_cli.engines.code import detect, focused, fold, languages, parsing, window
from headroom_cli.engines.code.languages import Language
from headroom_cli.engines.code.outline import Cut, Outliner
from headroom_cli.engines.code.reading import Reading, function_query, language_of, read
from headroom_cli.engines.code.render import apply
from headroom_cli.engines.code.wanted import wanted_symbols

KIND = "code"
MAX_CHARS = 1_500_000  # a bigger file is left alone: parsing it twice would not fit the time budget
MINIFIED_LINE_CHARS = 400  # a file whose lines average more than this is generated, not read
REPAIRS = 3  # rounds of undoing the cuts near a new syntax error


class CodeEngine:
    name = "code"
    ceiling = detect.CEILING
    reads_first_line = True  # its output depends on where the text starts in the file (pipeline.py)

    def detect(self, part: Part) -> float:
        return detect.score(part) if parsing.available() else 0.0

    def compress(self, part: Part, ctx: Context) -> Result | None:
        text = part.text
        unchanged = Result(text, KIND)
        path = detect.source_path(part)
        if _binary(text) or len(text) > MAX_CHARS or _minified(text):
            return unchanged
        data = text.encode("utf-8", "surrogatepass")
        reading = read(text, data, path, ctx.deadline)
        if reading is None:  # no grammar of ours reads it
            return unchanged if languages.is_code_path(path) else None
        rows = text.count("\n") + (0 if text.endswith("\n") else 1)
        # A window of a bigger file (a Read from line 251) counts as the file it shows part of: as long
        # as its last line's number, the least the file can have.
        if rows + part.first_line - 1 < _min_lines(ctx):
            return unchanged
        framed = _frame(reading, text, path, ctx) if reading.tree.root_node.has_error else None
        if framed is not None:  # a window cut out of a file mid-scope: read inside a made-up frame
            text, reading, data = framed.wrap(text), framed.reading, framed.source
            rows = text.count("\n") + (0 if text.endswith("\n") else 1)
        if parsing.broken(reading.tree, rows):
            return unchanged
        _check(ctx)
        wanted = wanted_symbols(part.query, part.tool_input)
        if part.focus is not None:
            wanted |= frozenset(part.focus.symbols)
        # Unframed, it may still be a window: one from line 251, one read with syntax errors, one whose
        # last line is not the blank one after a file's final line break (Python's last function may
        # go on past it). Then it is cut as a window is: whole bodies only, its edges as they are.
        maybe_window = part.first_line > 1 or reading.tree.root_node.has_error or bool(text.rsplit("\n", 1)[-1].strip())
        edges = framed.rows if framed is not None else (0, rows - 1) if maybe_window else None
        outliner = Outliner(reading.lang, reading.data, wanted, ctx.deadline, function_query(reading.lang), data, edges)
        cuts = outliner.run(reading.tree.root_node)
        folds: list[Cut] = []
        if part.focus:
            rows_of_text = text.split("\n")
            row_to_line = part.first_line - (framed.rows[0] if framed is not None else 0)
            cuts = focused.uncut(cuts, rows_of_text, part.focus, path, row_to_line)
            if framed is None and part.first_line == 1:  # a whole-file Read: fold what the focus does not touch
                aim = focused.aim(part.focus, rows_of_text, path, row_to_line, wanted)
                folds = fold.fold(reading.tree.root_node, reading.data, reading.lang, aim, row_to_line,
                                  function_query(reading.lang))
        if reading.lang.preprocessor:
            original_rows = data.split(b"\n")
            cuts, folds = ([cut for cut in some if parsing.conditionals_balance(original_rows[cut.first:cut.last + 1])]
                           for some in (cuts, folds))
        cuts = fold.merge(cuts, folds)
        result = self._settle(text, reading, cuts, ctx, framed.rows[0] if framed is not None else 0)
        if result is None:
            return unchanged
        if framed is not None:
            result = Result(framed.unwrap(result.text), KIND, omitted=result.omitted)
        return result

    def _settle(self, text: str, reading: Reading, cuts: list[Cut], ctx: Context, shift: int = 0) -> Result | None:
        """Apply the cuts and re-parse; undo cuts next to any syntax error the input did not have.
        ``shift``: rows of a made-up frame before the text proper, which marker line numbers skip."""
        lang, tree = reading.lang, reading.tree
        before = parsing.error_spans(tree)
        for attempt in range(REPAIRS + 1):
            if not cuts:
                return None
            _check(ctx)
            out, omitted, markers = apply(text, cuts, lang, ctx.part_id, shift)
            origin = _origin(cuts, text.count("\n") + 1)
            replacements = [(cut.first, cut.last, line.encode("utf-8", "surrogatepass"))
                            for cut, line in zip(cuts, markers)]
            out_data = reading.prepare(out.encode("utf-8", "surrogatepass"), replacements)
            new = self._new_errors(lang, before, tree if attempt == 0 else None, reading.data, replacements,
                                   out_data, origin, ctx)
            if not new:
                return Result(out, KIND, omitted=omitted)
            cuts = _without_cuts_near(cuts, new)
        return None

    @staticmethod
    def _new_errors(lang: Language, before: list, tree, data: bytes, replacements: list, out_data: bytes,
                    origin: list[range], ctx: Context) -> list[tuple[int, int]]:
        """The output's syntax errors that the input did not have. With the input's tree at hand (the
        first try), it is edited and re-parsed, reusing all but the changed parts; a fresh parse of
        the output has the last word when that finds anything, since error recovery may differ."""
        if tree is not None:
            after = parsing.error_spans(parsing.reparse(lang, tree, data, replacements, out_data, ctx.deadline))
            if not after or not parsing.new_errors(before, after, origin):
                return []
        after = parsing.error_spans(parsing.parse(lang, out_data, deadline=ctx.deadline))
        return parsing.new_errors(before, after, origin)


def _frame(reading: Reading, text: str, path: str | None, ctx: Context) -> window.Frame | None:
    """The window framed in the grammar that read it best, else in the one its file name says: a
    window cut mid-class reads as one big error in either, and the better-reading one (TSX for a
    .js) may pair its brackets differently from the file's own."""
    framed = window.frame(reading, text, ctx.deadline)
    named = languages.by_path(path)
    named = languages.refine(named, text) if named is not None else None  # a .h of C++ is C++
    if framed is None and named is not None and named is not reading.lang:
        _check(ctx)
        framed = window.frame(Reading(named, parsing.parse(named, reading.data, deadline=ctx.deadline), reading.data),
                              text, ctx.deadline)
    return framed


def _origin(cuts: list[Cut], rows: int) -> list[range]:
    """For each output row, the input rows it shows: one, or for a marker line those it stands for."""
    origin: list[range] = []
    at = 0
    for cut in cuts:
        origin.extend(range(row, row + 1) for row in range(at, cut.first))
        origin.append(range(cut.first, cut.last + 1))
        at = cut.last + 1
    origin.extend(range(row, row + 1) for row in range(at, rows))
    return origin


def _without_cuts_near(cuts: list[Cut], error_spans: list[tuple[int, int]]) -> list[Cut]:
    """The cuts minus those whose marker line sits next to an error (output rows), or, failing that,
    the nearest cut before each error."""
    marker_rows, shift = [], 0
    for cut in cuts:
        marker_rows.append(cut.first - shift)
        shift += cut.last - cut.first
    doomed = set()
    for first, last in error_spans:
        near = [i for i, row in enumerate(marker_rows) if first - 2 <= row <= last + 2]
        if not near:
            before = [i for i, row in enumerate(marker_rows) if row <= last]
            near = before[-1:] or [0]
        doomed.update(near)
    return [cut for i, cut in enumerate(cuts) if i not in doomed]


def _min_lines(ctx: Context) -> int:
    if ctx.code_min_lines is not None:
        return ctx.code_min_lines
    from headroom_cli.config import code_min_lines_setting

    return code_min_lines_setting()


def _check(ctx: Context) -> None:
    if past(ctx.deadline):
        raise EngineTimeout()


_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1a\x1c-\x1f]")


def _binary(text: str) -> bool:
    """NUL bytes or many control characters: not text anyone reads as source."""
    sample = text[:8192]
    return "\x00" in sample or len(_CONTROL.findall(sample)) > len(sample) // 100


def _minified(text: str) -> bool:
    lines = text.count("\n") + 1
    return len(text) / lines > MINIFIED_LINE_CHARS


register(CodeEngine())

__all__ = ["CodeEngine", "MAX_CHARS", "language_of"]
