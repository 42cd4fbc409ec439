"""`<persisted-output>` expansion reads only this session's own saved Bash output (issue 13, finding 4):
never another project's or session's, another tool's or another call's, nothing through a symlink, and
nothing but a regular file. Whatever it reads is sent upstream, so every escape is tried here."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

from headroom_cli import persisted
from headroom_cli.pipeline import Pipeline
from headroom_cli.providers import adapter_for
from headroom_cli.rewrite import rewrite_body
from headroom_cli.store import Store

from samples import FAILED_TEST, pytest_verbose_log

SESSION = "15111c2b-5e07-47fa-8cee-baadd3ddad7a"
OTHER_SESSION = "816cd8b0-cd0d-4f93-8896-5bbccfdd66ec"
WHOLE = pytest_verbose_log(1999)  # its failure sits far past the 2 KB preview
EXPANDED = "compressed by headroom"  # what only an expanded note says


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """Claude Code's projects folder: this project with this session's transcript and saved output, and
    another project and another session with theirs."""
    root = tmp_path / "home" / ".claude" / "projects"
    for project, session in (("-work-proj", SESSION), ("-work-proj", OTHER_SESSION), ("-other-proj", "abc-123")):
        folder = root / project / session / "tool-results"
        folder.mkdir(parents=True)
        (root / project / f"{session}.jsonl").write_text("{}\n")
        (folder / "toolu_1.txt").write_text(WHOLE)
    return root


def _note(path: Path | str) -> str:
    return (f"<persisted-output>\nOutput too large (92KB). Full output saved to: {path}\n\n"
            f"Preview (first 2KB):\n{WHOLE[:2000]}\n...\n</persisted-output>")


def _body(note: str, tool: str = "Bash", call_id: str = "toolu_1", session: str | None = SESSION) -> bytes:
    body = {"model": "claude-sonnet-4-5", "messages": [
        {"role": "user", "content": "run the tests"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": call_id, "name": tool, "input": {"command": "pytest"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call_id, "content": note}]}]}
    if session is not None:
        user_id = json.dumps({"device_id": "d", "account_uuid": "", "session_id": session})
        body["metadata"] = {"user_id": user_id}
    return json.dumps(body).encode()


def _sent(tmp_path: Path, raw: bytes, root: Path) -> str:
    """The tool_result as the proxy would send it upstream."""
    store = Store(tmp_path / f"store-{os.urandom(4).hex()}.sqlite3")
    try:
        result = rewrite_body(raw, adapter_for("/v1/messages"), Pipeline(frozen=store), store.put, root)
    finally:
        store.close()
    return json.loads(result.body)["messages"][2]["content"][0]["content"]


def _own(root: Path) -> Path:
    return root / "-work-proj" / SESSION / "tool-results" / "toolu_1.txt"


def test_the_sessions_own_bash_output_is_expanded(tmp_path, root):
    text = _sent(tmp_path, _body(_note(_own(root))), root)
    assert EXPANDED in text and FAILED_TEST in text
    assert persisted.client_session(json.loads(_body("x"))) == SESSION
    old_style = {"metadata": {"user_id": f"user_abc_account__session_{SESSION}"}}
    assert persisted.client_session(old_style) == SESSION


@pytest.mark.parametrize("case", ["other project", "other session", "other project, same session id",
                                  "dot-dot", "not a tool-results folder"])
def test_a_note_naming_another_folder_is_not_expanded(tmp_path, root, case):
    path = {
        "other project": root / "-other-proj" / "abc-123" / "tool-results" / "toolu_1.txt",
        "other session": root / "-work-proj" / OTHER_SESSION / "tool-results" / "toolu_1.txt",
        "dot-dot": f"{root}/-work-proj/{SESSION}/tool-results/../../{OTHER_SESSION}/tool-results/toolu_1.txt",
        "not a tool-results folder": root / "-work-proj" / SESSION / "toolu_1.txt",
    }.get(case)
    if case == "other project, same session id":  # a folder named like the session, with no transcript of it
        path = root / "-other-proj" / SESSION / "tool-results" / "toolu_1.txt"
        path.parent.mkdir(parents=True)
        path.write_text(WHOLE)
    if case == "not a tool-results folder":
        path.write_text(WHOLE)
    assert EXPANDED not in _sent(tmp_path, _body(_note(path)), root)


def test_another_tools_or_another_calls_output_or_no_session_is_not_expanded(tmp_path, root):
    note = _note(_own(root))
    assert EXPANDED not in _sent(tmp_path, _body(note, tool="Read"), root)
    assert EXPANDED not in _sent(tmp_path, _body(note, tool="mcp__x__shell"), root)
    assert EXPANDED not in _sent(tmp_path, _body(note, session=None), root)
    assert EXPANDED not in _sent(tmp_path, _body(note, session="../x"), root)
    assert EXPANDED not in _sent(tmp_path, _body(note), root.parent / "elsewhere")  # not under the client's root


def test_the_file_must_begin_with_the_notes_preview_whatever_its_name(tmp_path, root):
    # Claude Code names the file after the call, or randomly when it streamed the output to disk.
    streamed = _own(root).with_name("bpqr2arif.txt")
    streamed.write_text(WHOLE)
    assert EXPANDED in _sent(tmp_path, _body(_note(streamed), call_id="toolu_9"), root)
    # Another output of the same session: its start is not what this note previews.
    other = _own(root).with_name("toolu_0.txt")
    other.write_text("something else entirely\n" + WHOLE)
    assert EXPANDED not in _sent(tmp_path, _body(_note(other), call_id="toolu_0"), root)
    dotted = _own(root).with_name("a.b.txt")  # not one plain name
    dotted.write_text(WHOLE)
    assert EXPANDED not in _sent(tmp_path, _body(_note(dotted)), root)


@pytest.mark.parametrize("link", ["file", "session folder", "tool-results folder", "project folder"])
def test_no_symlink_is_followed_even_one_that_stays_inside_the_root(tmp_path, root, link):
    own = _own(root)
    other_session = root / "-work-proj" / OTHER_SESSION
    if link == "file":
        own.unlink()
        own.symlink_to(other_session / "tool-results" / "toolu_1.txt")
    elif link == "session folder":
        (root / "-work-proj" / SESSION / "tool-results" / "toolu_1.txt").unlink()
        (root / "-work-proj" / SESSION / "tool-results").rmdir()
        (root / "-work-proj" / SESSION).rmdir()
        (root / "-work-proj" / SESSION).symlink_to(other_session)
    elif link == "tool-results folder":
        own.unlink()
        own.parent.rmdir()
        own.parent.symlink_to(other_session / "tool-results")
    else:
        (root / "-linked-proj").symlink_to(root / "-work-proj")
        own = root / "-linked-proj" / SESSION / "tool-results" / "toolu_1.txt"
    assert own.read_text() == WHOLE  # the link works: only the expansion refuses it
    assert EXPANDED not in _sent(tmp_path, _body(_note(own)), root)


def test_a_transcript_that_is_a_symlink_does_not_vouch_for_the_folder(tmp_path, root):
    transcript = root / "-work-proj" / f"{SESSION}.jsonl"
    transcript.unlink()
    transcript.symlink_to(root / "-work-proj" / f"{OTHER_SESSION}.jsonl")
    assert EXPANDED not in _sent(tmp_path, _body(_note(_own(root))), root)


@pytest.mark.parametrize("kind", ["fifo", "directory"])
def test_only_a_regular_file_is_read_and_a_fifo_does_not_hang(tmp_path, root, kind):
    own = _own(root)
    own.unlink()
    if kind == "fifo":
        os.mkfifo(own)
    else:
        own.mkdir()
    sent: list[str] = []
    worker = threading.Thread(target=lambda: sent.append(_sent(tmp_path, _body(_note(own)), root)), daemon=True)
    worker.start()
    worker.join(30)
    assert not worker.is_alive(), "reading the note's path hung"
    assert EXPANDED not in sent[0]
