"""Headroom: context compression for LLM coding agents."""

__version__ = "0.1.0"
