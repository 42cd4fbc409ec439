"""Claude Code's `<persisted-output>` notes: a Bash output over 30,000 characters reaches the API as
a 2 KB preview plus the path of the file that holds it all. Where the proxy runs beside the client
(`headroom wrap claude`), it reads that file, so the model gets the compressed whole output (the
failure, not the first 2 KB of passing lines) at once instead of spending Read turns on it.

What is read is sent upstream, so the note's path is trusted only as far as it names the very file
Claude Code writes for this tool call: `ROOT/<project>/<session>/tool-results/<name>.txt`, where ROOT
is the client's projects folder, <session> is the session the request says it belongs to (beside its
`<session>.jsonl` transcript), the note answers a Bash call, and the file begins with the note's own
preview. (<name> is the call's tool_use id, or a random one when Claude Code streamed the output to
disk as it ran: so the preview, not the name, ties the file to the note.)
Every component below ROOT is opened without following symlinks, and only a regular file is read:
never another project's or session's outputs, another tool's, or anything a link points at.
"""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path, PurePath
from typing import Any

from headroom_cli.providers.base import ToolCall

NOTE = re.compile(
    r"\A<persisted-output>\nOutput too large \((?P<size>[^)\n]*)\)\. Full output saved to: (?P<path>[^\n]+)\n"
    r"\nPreview \([^)\n]*\):\n(?P<preview>.*)\n</persisted-output>\s*\Z",
    re.DOTALL,
)
MAX_FILE_BYTES = 16 * 1024 * 1024
MAX_RENDERED_CHARS = 30_000  # what Claude Code itself would have sent inline, at most
TOOL = "Bash"  # the only tool whose outputs Claude Code persists with this note
_NAME = re.compile(r"[A-Za-z0-9_-]{1,128}")  # a session UUID or a tool_use ID: one plain path component
_PROJECT = re.compile(r"[A-Za-z0-9_-]{1,255}")  # Claude Code's folder for a cwd: every other character a "-"
_OLD_USER_ID = re.compile(r"_session_([A-Za-z0-9-]{1,128})\Z")  # user_<hash>_account_<uuid>_session_<uuid>


def client_session(body: dict[str, Any]) -> str | None:
    """The Claude Code session a request belongs to, from its metadata.user_id (a JSON string with
    session_id; older versions end the plain string with _session_<uuid>)."""
    metadata = body.get("metadata")
    user_id = metadata.get("user_id") if isinstance(metadata, dict) else None
    if not isinstance(user_id, str):
        return None
    try:
        session = json.loads(user_id).get("session_id")
    except (ValueError, AttributeError):
        found = _OLD_USER_ID.search(user_id)
        session = found.group(1) if found else None
    return session if isinstance(session, str) and _NAME.fullmatch(session) else None


def saved_output(note: str, root: Path, session: str | None, call: ToolCall | None) -> str | None:
    """The whole output a note stands for, if it is this session's saved output of this Bash call."""
    match = NOTE.match(note)
    if not match or session is None or call is None or call.name != TOOL or not _NAME.fullmatch(call.id):
        return None
    base = Path(os.path.abspath(root.expanduser()))
    path = PurePath(match.group("path"))
    if not path.is_absolute() or path.parts[:-4] != base.parts:
        return None
    project, folder, results, name = path.parts[-4:]
    if (folder != session or results != "tool-results" or not name.endswith(".txt")
            or not _NAME.fullmatch(name[:-4]) or not _PROJECT.fullmatch(project)):
        return None
    try:
        whole = _read_beneath(base, project, session, name)
    except (OSError, UnicodeDecodeError, ValueError, NotImplementedError):
        return None
    return whole if whole is not None and _begins_with_preview(whole, match.group("preview")) else None


def _begins_with_preview(whole: str, preview: str) -> bool:
    """Whether the file is the one the note previews: Claude Code's preview is the output's start,
    cut at a line with "..." after it when there is more."""
    shown = preview[: -len("\n...")] if preview.endswith("\n...") else preview
    return bool(shown.strip()) and whole.startswith(shown)


def _read_beneath(base: Path, project: str, session: str, name: str) -> str | None:
    """ROOT/project/session/tool-results/name, each component opened without following a link."""
    if os.open not in os.supports_dir_fd:
        return None  # no openat (Windows): no way to refuse links on the way, so nothing is read
    nofollow = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    directory = nofollow | getattr(os, "O_DIRECTORY", 0)
    opened = [os.open(base, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))]  # ROOT itself is configuration
    try:
        for part in (project, session, "tool-results"):
            opened.append(os.open(part, directory, dir_fd=opened[-1]))
            if not stat.S_ISDIR(os.fstat(opened[-1]).st_mode):
                return None
        transcript = os.stat(f"{session}.jsonl", dir_fd=opened[1], follow_symlinks=False)
        if not stat.S_ISREG(transcript.st_mode):
            return None  # not the folder of a session this project holds
        # O_NONBLOCK: a fifo planted there must not hang the proxy on open.
        opened.append(os.open(name, nofollow | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0),
                              dir_fd=opened[-1]))
        info = os.fstat(opened[-1])
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_FILE_BYTES:
            return None
        with os.fdopen(os.dup(opened[-1]), "rb") as file:
            data = file.read(MAX_FILE_BYTES + 1)
        return None if len(data) > MAX_FILE_BYTES else data.decode("utf-8")
    finally:
        for fd in reversed(opened):
            os.close(fd)


def render(note: str, compressed: str, whole: str) -> str:
    """The note with its preview replaced by the compressed whole output; the path line stays."""
    match = NOTE.match(note)
    assert match is not None
    lines = whole.count("\n") + (not whole.endswith("\n"))
    body = compressed if compressed.endswith("\n") else compressed + "\n"
    return (
        f"<persisted-output>\nOutput too large ({match.group('size')}). Full output saved to: {match.group('path')}\n"
        f"\nWhole output, {lines:,} lines, compressed by headroom:\n{body}</persisted-output>"
    )
