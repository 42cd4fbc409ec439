"""What to set in an app Headroom cannot start itself (`headroom wrap cursor`), from its wrapper file."""

from __future__ import annotations

from rich.text import Text


def instructions(tool: str, text: str) -> Text:
    """A heading and the wrapper's text as written. Print it with ``soft_wrap=True``: its line breaks
    are its own, and the commands and URLs in it must stay whole to be copied."""
    return Text.assemble((f"Set up {tool}\n", "bold yellow"), text, "\n")
