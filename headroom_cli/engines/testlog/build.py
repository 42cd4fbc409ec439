"""Build and package-manager output: make, gcc/clang, setuptools/pip, npm, cmake, ninja, apt.

Compiler invocations and tool chatter fold (one ``build output`` count); what stays is the
diagnostics with their source excerpts, the compile command above an error, a repeated compile
once, and the compile of an extension module's own sources (``building 'pkg._mod' extension``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from headroom_cli.engines.testlog.format import Format
from headroom_cli.engines.testlog.lines import Lines, S

FORMAT = Format(
    name="build tools",
    summary=(
        r"Successfully (?:built|installed|tagged|compiled|uninstalled)\b", r"Created wheel\b",
        r"Build (?:succeeded|failed|complete|completed|finished)\b", r"Finished\b", r"Done\b", "\u2728 +Done",
        r"Compiled (?:successfully|with)", r"(?:added|removed|changed|audited) \d+ packages?", r"found \d+ vulnerabilit",
        r"\d+ (?:warnings?|errors?) generated", r"make(?:\[\d+\])?: \*\*\*", r"ninja: build stopped",
    ),
    summary_starts="SCBFD\u2728arcf0123456789mn",
)

# a compiler's or linter's diagnostic: a source location, then the message
DIAG_LOCATION = re.compile(r"(?:\.{1,2}/)?[\w.@+\-/]*\w\.[A-Za-z]\w{0,5}:\d+(?::\d+)?(?::| -) \S")
# diagnostics snippets that belong to the error/warning above them (gcc, clang, rustc)
SNIPPET = re.compile(
    r"\s*(?:> *)?\d+ *\|(?: |$)|\s*\|(?: *[\^~_|+\-]|$)|\s*[~^][~^ ]*$|\s*= (?:note|help)|\s*--> "
)
SNIPPET_CHARS = frozenset("0123456789|~^=->")
# compiler and linker invocations
COMPILE = re.compile(
    r"(?:[^\s/]*/)*(?:[\w.+]+-)*(?:gcc|g\+\+|cc|c\+\+|clang|clang\+\+|nvcc|gfortran|icc|icx)(?:-\d+(?:\.\d+)*)? "
)
_COMPILE_SRC = re.compile(r"(?:^| )-c +(\S+)")
_EXTENSION = re.compile(r"building '([\w.]+)' extension")
# chatter of build tools and package managers (the look-ahead holds the words' first letters: a line
# starting otherwise skips the case-blind words, each of which the regex would try in turn)
CHATTER = re.compile(
    r"(?:(?i:(?=[abcdefgilmoprsuw])(?:copying|creating|adding|writing|reading|running|removing|installing"
    r"|compiling|building|linking|downloading|collecting|processing|checking|generating|scanning|preparing|using"
    r"|requirement|byte-compiling|obtaining|fetching|resolving|unpacking|extracting|configuring|updating|packaging"
    r"|bundling|emitting|stored|saved|looking|attempting|getting|skipping|mkdir|cp|mv|rm|install|ar|ranlib|strip"
    r"|cmake))\b"
    r"|make(?:\[\d+\])?: (?:Entering|Leaving|Nothing)|\[ *\d+%\]|\[\d+/\d+\]|-- |> Task |#\d+ "
    r"|(?:Get|Hit|Ign):\d+ |Setting up |Selecting previously|Preparing to unpack|Fetched "
    r"|(?:CC|CXX|LD|AR|AS|GEN|CCLD|CXXLD|INSTALL) |npm (?:verb|info|http|timing|sill|notice)\b)"
)


@dataclass
class Build:
    """The compile commands seen, and the extension modules being built (their source stems)."""

    compiled: set[str] = field(default_factory=set)
    ext_stems: set[str] = field(default_factory=set)

    def line(self, i: int, s: str, lines: Lines) -> bool:
        """Classify line i if it is a compile command or build chatter; False if it is neither."""
        if is_compile(s):
            lines.compile_line[i] = 1
            lines.fold(i, "build output")
            if s not in self.compiled:
                self.compiled.add(s)
                if self.ext_stems and (src := _COMPILE_SRC.search(s)) and (
                        src.group(1).rsplit("/", 1)[-1].rsplit(".", 1)[0] in self.ext_stems):
                    lines.cls[i] = S  # the compile of an extension module's own source
            return True
        if CHATTER.match(s):
            if "extension" in s and (ext := _EXTENSION.search(s)):
                self.ext_stems.add(ext.group(1).rsplit(".", 1)[-1])
                lines.cls[i] = S  # setuptools: "building 'pkg._mod' extension"
            else:
                lines.fold(i, "build output")
            return True
        return False


def is_compile(s: str) -> bool:
    """A compiler invocation. COMPILE matches no whitespace before the space after the compiler's name,
    so a line whose first word names no compiler is passed over without running it."""
    space = s.find(" ")
    if space <= 0:
        return False
    head = s[:space]  # one of these is in every name COMPILE knows
    return ("cc" in head or "++" in head or "clang" in head or "gfortran" in head or "icx" in head) and (
        COMPILE.match(s) is not None)


def is_diagnostic(s: str) -> bool:
    """A line that starts with a source location (``src/a.c:12:5: ...``). DIAG_LOCATION matches no colon
    or whitespace before the location's first colon, which rules most lines out before it runs."""
    colon = s.find(":")
    return colon > 0 and " " not in s[:colon] and DIAG_LOCATION.match(s) is not None
