"""Settings resolved once: command-line flag > environment variable > default."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from headroom_cli.db import private_dir

DEFAULT_ANTHROPIC_UPSTREAM = "https://api.anthropic.com"
DEFAULT_OPENAI_UPSTREAM = "https://api.openai.com"
DEFAULT_PORT = 8787
DEFAULT_HOST = "127.0.0.1"


def _env(name: str) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else None


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


class HomeError(ValueError):
    """Headroom's folder cannot be made or is not a folder; the message says what to do."""


def headroom_home() -> Path:
    """Where all state lives: HEADROOM_HOME, else the platform's user data dir."""
    home = _env("HEADROOM_HOME")
    path = Path(home).expanduser() if home else Path(platformdirs.user_data_dir("headroom", appauthor=False))
    try:
        private_dir(path)
    except OSError as exc:
        what = f"HEADROOM_HOME={path}" if home else f"Headroom's folder {path}"
        why = "it is a file, not a folder" if path.exists() and not path.is_dir() else (exc.strerror or str(exc))
        raise HomeError(f"{what} cannot be used ({why}); set HEADROOM_HOME to a folder you can write") from None
    return path


def database_target(name: str, flag: str | None = None) -> "Path | str":
    """Where the ``name`` ("store" or "ledger") database is: --database / HEADROOM_DATABASE (one
    PostgreSQL database for both), else its SQLite file in Headroom's folder."""
    from headroom_cli.backends import database_url

    return database_url(flag) or headroom_home() / f"{name}.sqlite3"


DEFAULT_STORE_MAX_MB = 512
DEFAULT_STORE_MAX_DAYS = 30


def _env_number(name: str, default: float) -> float:
    value = _env(name)
    if value is None:
        return default
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise ValueError(f"{name} must be a number, not {value!r}")
    if number <= 0:
        raise ValueError(f"{name} must be more than 0, not {value!r}")
    return number


def store_budget() -> tuple[int, float]:
    """(max bytes, max days unused) for the CCR store: HEADROOM_STORE_MAX_MB, HEADROOM_STORE_MAX_DAYS."""
    megabytes = _env_number("HEADROOM_STORE_MAX_MB", DEFAULT_STORE_MAX_MB)
    days = _env_number("HEADROOM_STORE_MAX_DAYS", DEFAULT_STORE_MAX_DAYS)
    return int(megabytes * 1024 * 1024), days


def _env_budget() -> int | None:
    """HEADROOM_BUDGET: a token budget per request (whole number of tokens, more than 0)."""
    value = _env("HEADROOM_BUDGET")
    if value is None:
        return None
    if not value.strip().isdigit() or int(value) <= 0:
        raise ValueError(f"HEADROOM_BUDGET must be a whole number of tokens, not {value!r}")
    return int(value)


def port_setting(flag: int | None = None) -> int:
    """--port, else HEADROOM_PORT, else the default; 0 asks for any free port."""
    if flag is not None:
        if not 0 <= flag <= 65535:
            raise ValueError(f"--port must be 0-65535 (0: any free port), not {flag}")
        return flag
    value = _env("HEADROOM_PORT")
    if value is None:
        return DEFAULT_PORT
    if not value.strip().isdigit() or int(value) > 65535:
        raise ValueError(f"HEADROOM_PORT must be a port number 0-65535 (0: any free port), not {value!r}")
    return int(value)


# Source files shorter than this many lines stay verbatim (see the README's "Source code" section).
DEFAULT_CODE_MIN_LINES = 200


def code_min_lines_setting(flag: int | None = None) -> int:
    """Source files with fewer lines are left as they are: a flag, else HEADROOM_CODE_MIN_LINES, else
    the default (0 compresses files of any size)."""
    if flag is not None:
        return max(0, flag)
    value = _env("HEADROOM_CODE_MIN_LINES")
    if value is None:
        return DEFAULT_CODE_MIN_LINES
    try:
        return max(0, int(value))
    except ValueError:
        raise ValueError(f"HEADROOM_CODE_MIN_LINES must be a whole number, not {value!r}") from None


# Engine CPU time one part may take; past it the part is sent as it was (HEADROOM_PART_BUDGET_MS).
# A guard against pathological input, never a routine cut: it is counted in the compressing thread's own
# CPU time (not wall time, which a busy machine or other requests stretch), and it is generous, since a
# decision is frozen for the session: the largest parts seen take well under 0.5 s, so 5 s cuts only
# input that would otherwise stall the request, and a part compresses the same on any machine load.
DEFAULT_PART_BUDGET_MS = 5000


def part_budget_ms_setting() -> int:
    value = _env("HEADROOM_PART_BUDGET_MS")
    if value is None:
        return DEFAULT_PART_BUDGET_MS
    if not value.strip().isdigit() or int(value) <= 0:
        raise ValueError(f"HEADROOM_PART_BUDGET_MS must be a whole number of milliseconds (of CPU time), not {value!r}")
    return int(value)


def _token(flag: str | None) -> str | None:
    """The proxy's token: --token, else HEADROOM_TOKEN; None when neither is set."""
    value = flag if flag is not None else _env("HEADROOM_TOKEN")
    if value is None:
        return None
    value = value.strip()
    if not value or any(ord(c) < 33 or ord(c) > 126 for c in value):
        raise ValueError("the token (--token / HEADROOM_TOKEN) must be printable ASCII without spaces, e.g. "
                         "the output of `python -c 'import secrets; print(secrets.token_urlsafe())'`")
    return value


def _require_token(flag: bool, token: str | None) -> bool:
    required = flag or _truthy(_env("HEADROOM_REQUIRE_TOKEN"))
    if required and _token(token) is not None:
        raise ValueError("use either --require-token (personal tokens, `headroom tokens create`) or one shared "
                         "--token / HEADROOM_TOKEN, not both: both are sent in the x-headroom-token header")
    return required


@dataclass(frozen=True)
class Settings:
    host: str
    port: int
    anthropic_upstream: str
    openai_upstream: str
    compress: bool
    home: Path
    debug: bool = False
    # Where a wrapped client keeps whole tool outputs it sends only a preview of (set by `wrap`).
    saved_outputs_root: Path | None = None
    # Offer the model a headroom_retrieve tool that the proxy answers (clients without the MCP server).
    retrieval_tool: bool = True
    # Source files shorter than this many lines stay verbatim (HEADROOM_CODE_MIN_LINES).
    code_min_lines: int = DEFAULT_CODE_MIN_LINES
    # Add Anthropic cache_control breakpoints to requests that carry none (plain SDK apps).
    cache_breakpoints: bool = True
    # Most input tokens (cl100k) a request may carry; over it (or the model's window) it is fitted.
    budget: int | None = None
    # Engine CPU time per part (HEADROOM_PART_BUDGET_MS): a guard against pathological input.
    part_budget_ms: int = DEFAULT_PART_BUDGET_MS
    # Clients must send it as x-headroom-token (HEADROOM_TOKEN); required for a non-loopback host.
    token: str | None = None
    # A postgresql:// URL shared by every proxy (--database / HEADROOM_DATABASE); None: SQLite files in home.
    database: str | None = None
    # Refuse requests without a valid personal token (`headroom tokens create`); see tokens_auth.py.
    require_token: bool = False

    @property
    def store_path(self) -> Path:
        return self.home / "store.sqlite3"

    @property
    def ledger_path(self) -> Path:
        return self.home / "ledger.sqlite3"

    @property
    def store_target(self) -> "Path | str":
        """Where originals, frozen decisions, fit memory and tokens live: the shared database or the file."""
        return self.database or self.store_path

    @property
    def ledger_target(self) -> "Path | str":
        return self.database or self.ledger_path

    @classmethod
    def resolve(
        cls,
        *,
        host: str | None = None,
        port: int | None = None,
        anthropic_upstream: str | None = None,
        openai_upstream: str | None = None,
        no_compress: bool = False,
        no_retrieval_tool: bool = False,
        no_cache_breakpoints: bool = False,
        budget: int | None = None,
        code_min_lines: int | None = None,
        debug: bool = False,
        token: str | None = None,
        database: str | None = None,
        require_token: bool = False,
    ) -> "Settings":
        from headroom_cli.backends import database_url

        return cls(
            host=host or DEFAULT_HOST,
            port=port_setting(port),
            anthropic_upstream=(anthropic_upstream or _env("HEADROOM_ANTHROPIC_UPSTREAM") or DEFAULT_ANTHROPIC_UPSTREAM).rstrip("/"),
            openai_upstream=(openai_upstream or _env("HEADROOM_OPENAI_UPSTREAM") or DEFAULT_OPENAI_UPSTREAM).rstrip("/"),
            compress=not (no_compress or _truthy(_env("HEADROOM_NO_COMPRESS"))),
            retrieval_tool=not (no_retrieval_tool or _truthy(_env("HEADROOM_NO_RETRIEVAL_TOOL"))),
            cache_breakpoints=not (no_cache_breakpoints or _truthy(_env("HEADROOM_NO_CACHE_BREAKPOINTS"))),
            budget=budget if budget is not None else _env_budget(),
            home=headroom_home(),
            debug=debug,
            code_min_lines=code_min_lines_setting(code_min_lines),
            part_budget_ms=part_budget_ms_setting(),
            token=_token(token),
            database=database_url(database),
            require_token=_require_token(require_token, token),
        )
