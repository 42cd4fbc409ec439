"""Registers the Kompress engine (headroom_cli/kompress/) when torch and transformers are installed.

Without them nothing is registered and the text fallback does what Kompress would. That is said once:
at info level when HEADROOM_KOMPRESS=on asked for it, else at debug level (``--debug`` shows it; the
CLI's and the proxy's terminals show info records, and an install without the extra must look exactly
as it did before Kompress existed).
"""

from __future__ import annotations

import logging
import os

from headroom_cli.engines import register
from headroom_cli.kompress import missing

_why_off = missing()
if _why_off is None:
    from headroom_cli.kompress.engine import KompressEngine

    register(KompressEngine())
else:
    asked = os.environ.get("HEADROOM_KOMPRESS", "").strip().lower() in ("1", "on", "yes", "true")
    logging.getLogger("headroom.kompress").log(logging.INFO if asked else logging.DEBUG, _why_off)
