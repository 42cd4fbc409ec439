"""Registers the Kompress engine (headroom_cli/kompress/) when torch and transformers are installed.

Without them nothing is registered and nothing else changes; this says so once, at info level.
"""

from __future__ import annotations

import logging

from headroom_cli.engines import register
from headroom_cli.kompress import missing

_why_off = missing()
if _why_off is None:
    from headroom_cli.kompress.engine import KompressEngine

    register(KompressEngine())
else:
    logging.getLogger("headroom.kompress").info(_why_off)
