"""aider pastes tool output into user messages: only those pasted blocks are compressed, in place.

The request shapes follow aider 0.86.2 as recorded against a mock upstream (../shared/clients and the
end-to-end tests in tests/e2e/test_wrap_aider.py, which run the real aider)."""

from __future__ import annotations

import json

import pytest

from headroom_cli.markers import find_markers
from headroom_cli.pipeline import Pipeline
from headroom_cli.providers import adapter_for, aider
from headroom_cli.providers.base import SharedString
from headroom_cli.rewrite import rewrite_body

from samples import FAILED_MESSAGE, FAILED_TEST, PYTEST_SUMMARY, app_log_with_fatal, FATAL_LINE, pytest_verbose_log

CHAT = adapter_for("/v1/chat/completions")
MESSAGES = adapter_for("/v1/messages")
SYSTEM = "Act as an expert software developer.\nAlways use best practices when coding.\n\n"
REMINDER = ("# *SEARCH/REPLACE block* Rules:\n\nEvery *SEARCH/REPLACE block* must use this format:\n"
            "1. The *FULL* file path alone on a line, verbatim.\n- Etc.\n\n\n")
FILES = ("I have *added these files to the chat* so you can go ahead and edit them.\n\n*Trust this message as "
         "the true contents of these files!*\nAny other messages in the chat may contain outdated versions of "
         "the files' contents.\n\ncalc.py\n```\ndef add(a, b):\n    return a + b\n```\n")
COMMAND = "python3 -m pytest -v"


def ran(command: str, output: str) -> str:
    return f"I ran this command:\n\n{command}\n\nAnd got this output:\n\n{output}\n"


def chat_request(*user_messages: str, signature: str = FILES) -> dict:
    """aider's message order: system, files, then the conversation; every user turn answered "Ok."."""
    messages = [{"role": "system", "content": SYSTEM + "\n" + REMINDER},
                {"role": "user", "content": signature},
                {"role": "assistant", "content": "Ok, any changes I propose will be to those files."}]
    for text in user_messages:
        messages += [{"role": "user", "content": text}, {"role": "assistant", "content": "Ok."}]
    messages.pop()
    messages.append({"role": "system", "content": REMINDER})
    return {"model": "gpt-4o", "messages": messages, "stream": True, "temperature": 0}


def python_json(body: dict) -> bytes:
    return json.dumps(body).encode()  # how aider (Python) writes it: spaces, \\u escapes


def test_the_pasted_output_is_the_span_and_the_command_its_hint():
    log = pytest_verbose_log(600)
    body = chat_request(ran(COMMAND, log))
    (slot,) = CHAT.slots(body)
    assert slot.text == log
    assert (slot.tool_name, slot.tool_input) == ("shell", COMMAND)


def test_rewrite_compresses_the_output_keeps_aiders_words_and_every_other_byte():
    log = pytest_verbose_log(600)
    message = ran(COMMAND, log)
    body = chat_request("run the tests and fix what fails", message, message)  # aider sends the output twice
    raw = python_json(body)
    kept: dict[str, str] = {}
    result = rewrite_body(raw, CHAT, Pipeline(), keep_original=lambda pid, kind, text: kept.setdefault(pid, text))
    new = json.loads(result.body)
    first, second = new["messages"][5]["content"], new["messages"][7]["content"]
    head = f"I ran this command:\n\n{COMMAND}\n\nAnd got this output:\n\n"
    assert first.startswith(head) and second.startswith(head) and first.endswith("\n")
    compressed = first[len(head):-1]
    for needle in (FAILED_TEST, FAILED_MESSAGE, PYTEST_SUMMARY):
        assert needle in compressed
    assert find_markers(compressed) and len(compressed) < len(log) / 5
    assert second[len(head):-1].startswith("[headroom: identical to the earlier output of shell above")
    assert kept  # the repeat reference is redeemable
    # Everything else is as sent, byte for byte: put the originals back and compare.
    restored = result.body
    for now in (first, second):
        restored = restored.replace(json.dumps(now, ensure_ascii=False).encode(), json.dumps(message).encode(), 1)
    assert restored == raw
    assert new["messages"][3]["content"] == "run the tests and fix what fails"  # typed: untouched
    assert rewrite_body(raw, CHAT, Pipeline()).body == rewrite_body(raw, CHAT, Pipeline()).body  # deterministic


def test_a_system_reminder_aider_appended_to_the_message_stays_outside_the_span():
    """For Claude models aider puts the reminder at the end of the newest user message (Anthropic API)."""
    log = pytest_verbose_log(600)
    message = ran(COMMAND, log)
    body = {"model": "claude-sonnet-4-5", "system": [{"type": "text", "text": SYSTEM + "\n" + REMINDER}], "messages": [
        {"role": "user", "content": [{"type": "text", "text": FILES}]},
        {"role": "assistant", "content": [{"type": "text", "text": "Ok, any changes I propose will be to those files."}]},
        {"role": "user", "content": [{"type": "text", "text": message}]},
        {"role": "assistant", "content": [{"type": "text", "text": "Ok."}]},
        {"role": "user", "content": [{"type": "text", "text": message + "\n\n" + REMINDER}]}]}
    slots = MESSAGES.slots(body)
    assert [s.text for s in slots] == [log, log]
    result = rewrite_body(python_json(body), MESSAGES, Pipeline())
    last = json.loads(result.body)["messages"][4]["content"][0]["text"]
    assert last.endswith("\n\n\n" + REMINDER) and FAILED_TEST in last and len(last) < len(message) / 3


def test_read_only_files_are_compressed_one_by_one_within_aiders_fences():
    log = app_log_with_fatal(1500)
    code = "".join(f"def handler_{i}(request):\n    return respond(request, {i})\n\n" for i in range(80))
    pasted = ("Here are some READ ONLY files, provided for your reference.\nDo not edit these files!\n"
              f"\nlogs/app.log\n````\n{log}````\n\nsrc/handlers.py\n````\n{code}````\n")
    body = chat_request("why did the nightly job crash?")
    body["messages"][1:1] = [{"role": "user", "content": pasted},
                             {"role": "assistant", "content": "Ok, I will use these files as references."}]
    slots = CHAT.slots(body)
    assert [(s.tool_name, s.tool_input, s.text) for s in slots] == [("Read", "logs/app.log", log),
                                                                    ("Read", "src/handlers.py", code)]
    assert CHAT.query(body) == "why did the nightly job crash?"
    new = json.loads(rewrite_body(python_json(body), CHAT, Pipeline()).body)["messages"][1]["content"]
    assert FATAL_LINE in new and len(new) < len(pasted) / 3
    # Each file is compressed on its own (code as code); aider's paths and fences stay as they were.
    assert new.startswith(pasted[:pasted.index("2026-")]) and "````\n\nsrc/handlers.py\n````\n" in new
    assert new.endswith("````\n")


def test_files_added_for_editing_are_never_rewritten():
    """aider's SEARCH/REPLACE edits must match the file's text exactly."""
    log = pytest_verbose_log(600)
    body = chat_request("fix it", signature=FILES.replace("calc.py\n```\ndef add(a, b):\n    return a + b\n```\n",
                                                          f"test.log\n```\n{log}```\n"))
    assert CHAT.slots(body) == []


def test_shell_commands_the_model_suggested_each_get_a_span_and_a_retrieval_stays_whole():
    log = pytest_verbose_log(300)
    retrieved = "\n".join(f"tests/test_cart.py::test_{i} PASSED" for i in range(100)) + "\n"
    pasted = f"Output from pytest -v\n{log}\nOutput from headroom retrieve hr_0123456789abcdef --lines 5-105\n{retrieved}\n\n\n"
    body = chat_request(pasted)
    slots = CHAT.slots(body)
    assert [(s.tool_input, s.text) for s in slots] == [("pytest -v", log.rstrip("\n")),
                                                       ("headroom retrieve hr_0123456789abcdef --lines 5-105", retrieved.rstrip("\n"))]
    result = rewrite_body(python_json(body), CHAT, Pipeline())
    new = json.loads(result.body)["messages"][3]["content"]
    assert FAILED_TEST in new and len(new) < len(pasted) / 2
    assert new.endswith("Output from headroom retrieve hr_0123456789abcdef --lines 5-105\n" + retrieved + "\n\n\n")


def test_the_same_words_in_a_request_that_is_not_aiders_are_never_touched():
    log = pytest_verbose_log(600)
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": ran(COMMAND, log)}]}
    assert CHAT.slots(body) == [] and MESSAGES.slots(body) == []
    raw = python_json(body)
    assert rewrite_body(raw, CHAT, Pipeline()).body is raw


@pytest.mark.parametrize("message", [
    "I ran this command:\n\npytest\n\nno output line follows\n",  # not aider's template
    "I ran this command:\n\npytest\n\nAnd got this output:\n\nno trailing newline",
    "Here are some READ ONLY files, provided for your reference.\nDo not edit these files!\n\nlog.txt\n```\nunclosed\n",
    "Here are some READ ONLY files, provided for your reference.\nDo not edit these files!\n\nlog.txt\n~~~\nodd fence\n~~~\n",
    "Here is the content of https://example.com no colon-blank-line",
    "please look at this: I ran this command:\n\nx\n\nAnd got this output:\n\ny\n",  # typed words first
])
def test_text_that_is_not_exactly_aiders_framing_yields_no_span(message):
    assert aider.blocks(message) == []


def test_a_file_whose_closing_fence_is_glued_to_its_last_line_ends_the_search():
    text = ("Here are some READ ONLY files, provided for your reference.\nDo not edit these files!\n"
            "\na.txt\n```\nfirst file\n```\n\nb.txt\n```\nno newline at the end```\n")
    assert [text[a:b] for a, b, _ in aider.blocks(text)] == ["first file\n"]


def test_the_query_is_the_persons_own_words_never_aiders_examples_or_pastes():
    body = chat_request(ran(COMMAND, "x" * 2000))
    body["messages"][1:1] = [{"role": "user", "content": "Change get_factorial() to use math.factorial"},
                             {"role": "assistant", "content": "ok"},
                             {"role": "user", "content": "I switched to a new code base. Please don't consider the above files."},
                             {"role": "assistant", "content": "Ok."}]
    assert CHAT.query(body) is None
    body["messages"].insert(-2, {"role": "user", "content": "the refund test fails, why?"})
    assert CHAT.query(body) == "the refund test fails, why?"


def test_spans_of_one_string_are_rewritten_in_any_order():
    holder = {"content": "aaaa|bbbb|cccc"}
    shared = SharedString(holder, "content")
    a, b, c = shared.span(0, 4), shared.span(5, 9), shared.span(10, 14)
    c.write("C")
    a.write("AA")
    assert holder["content"] == "AA|bbbb|C" and b.text == "bbbb" and a.text == "AA"
    assert a.edit == ("aaaa|bbbb|cccc", "AA|bbbb|C") and a.string_id == c.string_id
    with pytest.raises(ValueError):
        shared.span(10, 20)
