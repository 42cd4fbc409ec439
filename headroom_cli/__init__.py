"""Headroom: context compression for LLM coding agents."""

__version__ = "0.1.0"

# The library's names, imported on first use so the CLI starts without loading them.
_LAZY = {
    "compress": "headroom_cli.library",
    "Compressed": "headroom_cli.library",
    "CompressStats": "headroom_cli.library",
    "Headroom": "headroom_cli.library",
    "with_headroom": "headroom_cli.integrations.sdk",
    "withHeadroom": "headroom_cli.integrations.sdk",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'headroom_cli' has no attribute {name!r}")
