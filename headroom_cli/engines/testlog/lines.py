"""The part's lines as the engine reads them, and what it decides about each one.

Every line gets a class: the first five are kept, the rest may fold into a marker, whose text
names what the folded lines were (their ``label``).
"""

from __future__ import annotations

from dataclasses import dataclass

E, W, S, F, K = 1, 2, 3, 4, 5  # error, first warning, summary/structure, stack frame, keep (section)
D, N, B, R = 6, 7, 8, 9  # droppable known, neutral, blank, repeated warning
KEEP_CLASSES = (E, W, S, F, K)


@dataclass
class Lines:
    """Per line: the text classified (prefixes, ANSI codes and CRs taken off), its class, its label,
    its indentation, and whether it is a compiler invocation (context worth keeping above an error)."""

    contents: list[str]
    prefixed: bool  # a prefix most lines share was taken off (timestamps, ``service |``)
    cls: list[int]
    label: list[str]
    ind: list[int]
    compile_line: bytearray

    @classmethod
    def of(cls, contents: list[str], prefixed: bool) -> "Lines":
        n = len(contents)
        return cls(contents, prefixed, [N] * n, ["other"] * n, [0] * n, bytearray(n))

    def __len__(self) -> int:
        return len(self.contents)

    def fold(self, i: int, label: str) -> None:
        """Mark line i droppable, to be named ``label`` in its marker."""
        self.cls[i] = D
        self.label[i] = label
