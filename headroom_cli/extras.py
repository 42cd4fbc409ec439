"""The optional parts of the install, and the one line that says how to get a missing one.

The base install is the library; the proxy (mitmproxy, with its ~25 pinned packages) and the MCP
server come with extras, so that an application on today's SDKs can add the library.
"""

from __future__ import annotations

import importlib.util

DISTRIBUTION = "headroom-compress"


def install_line(extra: str) -> str:
    return f"pip install '{DISTRIBUTION}[{extra}]'"


def missing(module: str, extra: str, what: str) -> str | None:
    """None when ``module`` can be imported; else what to install, in one line."""
    if importlib.util.find_spec(module) is not None:
        return None
    return f"{what} needs {module}, which the library install leaves out: {install_line(extra)}"
