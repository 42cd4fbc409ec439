"""The symbols a question or a tool call names: their bodies are kept, not elided.

``Where is `parseAsync` defined?`` names parseAsync; ``why does Table.padding ignore …`` names Table
and padding; a tool input such as ``sed -n '/def parse_args/,/^def /p' cli.py`` names parse_args.
Words of plain English are not symbols, and neither are the parts of a file path."""

from __future__ import annotations

import re

_PATHISH = re.compile(r"\S*[/\\]\S*|\b[\w-]+\.(?:[a-z]{1,4}|[a-z]\+\+)\b")  # src/cli.py, table.py
_IDENTIFIER = re.compile(r"[A-Za-z_$][\w$]*")
_QUOTED = re.compile(r"""'([^'\n]*)'|"([^"\n]*)"|/([^/\n]+)/""")
# Words that often appear in a question about code without naming anything in it.
_NOT_SYMBOLS = frozenset(
    "a an and any are as at be but by can did do does for from has have how in into is it its of on or that the "
    "their then there these this to was were what when where which who why will with between about after before "
    "each other than them they those while defined define definition signature function functions method methods class classes file files where "
    "code line lines show find look please explain work works working called call calls used use uses should "
    "could would need fix bug error errors issue problem change changes make why not all also just like "
    "return returns value values type types variable variables module package implement implemented".split())


def wanted_symbols(query: str | None, tool_input: str | None = None) -> frozenset[str]:
    names: set[str] = set()
    if query:
        names.update(_identifiers(_PATHISH.sub(" ", query)))
    if tool_input:  # a pattern the tool was given: grep 'parse_args', sed -n '/def parse_args/,/^def /p'
        for groups in _QUOTED.findall(tool_input):
            names.update(_identifiers(" ".join(groups).replace("/", " ")))
    return frozenset(names)


def _identifiers(text: str) -> set[str]:
    found = set()
    for word in _IDENTIFIER.findall(text):
        if len(word) >= 3 and word.lower() not in _NOT_SYMBOLS and not word.isdigit():
            found.add(word)
    return found


def is_wanted(name: str, wanted: frozenset[str]) -> bool:
    """A function called ``Foo::bar`` or ``Foo.bar`` is wanted when ``bar`` or the whole name is."""
    if not wanted:
        return False
    if name in wanted:
        return True
    for separator in ("::", ".", "->"):
        if separator in name and name.rsplit(separator, 1)[1] in wanted:
            return True
    return False
