"""aider's own framing: the tool outputs it pastes into user messages.

aider makes no tool calls. It runs commands (`/run`, `/test`, `--auto-test`, shell commands the model
suggested) and reads files, and pastes what it got into a user-role message between words of its own.
Only those pasted blocks are compressible; the words around them, and every message the person
typed, stay as sent. The texts below are aider's prompt strings (aider-chat 0.86).

For some models (Claude among them) aider appends its system reminder to the newest user message, after
a blank line: the reminder is where the system prompt ends too, so that tail is told apart by matching
it against the system prompt, and stays outside every span.

A request is taken for aider's only when it carries aider's message about the files in the chat (every
aider request has one, even with no files), so a person who types "I ran this command:" into another
client is never rewritten.

Files the person added for editing are left whole: aider edits them with SEARCH/REPLACE blocks that
must match the file's text exactly, which an omission would break. Read-only files (`/read-only`,
`--read`) are compressed like any tool output.
"""

from __future__ import annotations

from typing import Any

from headroom_cli.providers.base import SharedString, Slot, ToolCall, user_text

# aider's message about the chat's files, in its coders' variants: the sign that a request is aider's.
SIGNATURES = (
    "I have *added these files to the chat*",  # edit, ask and architect coders
    "These files have been *added these files to the chat*",  # context coder
    "I am not sharing any files that you can edit yet.",
    "Don't try and edit any existing code without asking me to add the files to the chat!",
)
RUN_HEAD = "I ran this command:\n\n"  # /run, /test, --auto-test
RUN_OUTPUT = "\n\nAnd got this output:\n\n"
SHELL_HEAD = "Output from "  # shell commands the model suggested and aider ran
READ_ONLY_HEAD = "Here are some READ ONLY files, provided for your reference.\nDo not edit these files!\n"
WEB_HEAD = "Here is the content of "  # /web URL
EXAMPLES_END = "I switched to a new code base."  # closes aider's example conversation: older user text is not the person's
_MIN_REMINDER = 20
FRAMES = (RUN_HEAD, SHELL_HEAD, READ_ONLY_HEAD, WEB_HEAD)
# aider picks, per request, the first fence no line of any file starts with.
FENCES = (("```", "```"), ("````", "````"), ("<source>", "</source>"), ("<code>", "</code>"),
          ("<pre>", "</pre>"), ("<codeblock>", "</codeblock>"), ("<sourcecode>", "</sourcecode>"))
SHELL = "shell"  # the tool name pasted command output is routed with
READ = "Read"  # and pasted files: the router then treats them as file reads (code stays whole)

Block = tuple[int, int, ToolCall]  # start, end of the pasted text inside the message, and what made it


def is_aider_request(messages: Any) -> bool:
    return any(holder[key].startswith(SIGNATURES) for message in _user_messages(messages)
               for holder, key in _text_places(message))


def message_slots(message: dict[str, Any], systems: list[str] = ()) -> list[Slot]:
    """The pasted blocks of one user message of an aider request (string content or text blocks)."""
    return [slot for holder, key in _text_places(message) for slot in span_slots(holder, key, systems)]


def system_texts(body: dict[str, Any]) -> list[str]:
    """The request's system prompts (top-level ``system``, or ``role: system`` messages)."""
    found = [body["system"]] if isinstance(body.get("system"), str) else []
    if isinstance(body.get("system"), list):
        found.append("".join(b["text"] for b in body["system"] if isinstance(b, dict) and isinstance(b.get("text"), str)))
    for message in body.get("messages") if isinstance(body.get("messages"), list) else []:
        if isinstance(message, dict) and message.get("role") == "system":
            found.append("".join(holder[key] for holder, key in _text_places(message)))
    return [text for text in found if text]


def latest_typed(messages: Any) -> str | None:
    """The person's newest own words in an aider request: not aider's pasted messages, and nothing from
    the example conversation aider puts before the real one."""
    for message in reversed(_user_messages(messages)):
        words = user_text(message.get("content"))
        if not words or is_pasted(words):
            continue
        return None if words.startswith(EXAMPLES_END) else words
    return None


def is_pasted(text: str) -> bool:
    """A user-role message of an aider request that aider wrote itself (pasted output, files), not the
    person's own words (so not the question query-aware engines keep in mind)."""
    return text.startswith(SIGNATURES + FRAMES)


def span_slots(holder: dict[str, Any], key: str, systems: list[str] = ()) -> list[Slot]:
    """One slot per pasted block in ``holder[key]``, each rewriting only its own span."""
    found = blocks(holder[key], systems)
    if not found:
        return []
    shared = SharedString(holder, key)
    return [shared.span(start, end, call) for start, end, call in found]


def blocks(text: str, systems: list[str] = ()) -> list[Block]:
    """The pasted blocks of one user message, in order; none when the message is not in aider's framing.
    ``systems``: the request's system prompts, to tell a system reminder appended to the message."""
    if not text.startswith(FRAMES):
        return []
    text = text[:_reminder_start(text, systems)]  # offsets stay valid: only the tail is cut
    if text.startswith(RUN_HEAD):
        return _run_output(text)
    if text.startswith(SHELL_HEAD):
        return _shell_outputs(text)
    if text.startswith(READ_ONLY_HEAD):
        return _files(text, len(READ_ONLY_HEAD))
    return _web_page(text)


def _reminder_start(text: str, systems: list[str]) -> int:
    """Where aider's system reminder, appended as ``"\n\n" + reminder``, begins; len(text) if none is."""
    start = len(text)
    for system in systems:
        shared = _common_suffix(text, system)
        at = text.find("\n\n", max(0, len(text) - shared - 2))  # the reminder lies in the shared tail
        while 0 <= at and len(text) - at - 2 >= _MIN_REMINDER:
            if not text[at + 2].isspace():
                start = min(start, at)
                break
            at = text.find("\n\n", at + 1)
    return start


def _common_suffix(a: str, b: str) -> int:
    """How many characters ``a`` and ``b`` end with in common (binary search: endswith runs in C)."""
    low, high = 0, min(len(a), len(b))
    while low < high:
        mid = (low + high + 1) // 2
        if b.endswith(a[len(a) - mid:]):
            low = mid
        else:
            high = mid - 1
    return low


def _run_output(text: str) -> list[Block]:
    """``I ran this command:\\n\\n{command}\\n\\nAnd got this output:\\n\\n{output}\\n``"""
    at = text.find(RUN_OUTPUT, len(RUN_HEAD))
    if at < 0 or not text.endswith("\n"):
        return []
    command = text[len(RUN_HEAD):at]
    start, end = at + len(RUN_OUTPUT), len(text) - 1
    return [(start, end, ToolCall(SHELL, command.strip()[:500] or None))] if end > start else []


def _shell_outputs(text: str) -> list[Block]:
    """``Output from {command}\\n{output}\\n`` per command, one after another, then blank lines."""
    heads = [0] + [i + 1 for i in _find_all(text, "\n" + SHELL_HEAD)]
    found = []
    for n, head in enumerate(heads):
        line_end = text.find("\n", head)
        if line_end < 0:
            break
        command = text[head + len(SHELL_HEAD):line_end]
        start = line_end + 1
        end = heads[n + 1] if n + 1 < len(heads) else len(text)
        while end > start and text[end - 1] == "\n":  # aider's own separators stay outside the span
            end -= 1
        if end > start:
            found.append((start, end, ToolCall(SHELL, command.strip()[:500] or None)))
    return found


def _files(text: str, pos: int) -> list[Block]:
    """``\\n{path}\\n{fence}\\n{content}{fence close}\\n`` per file. A block whose end cannot be told for
    sure (a file not ending in a newline glues the closing fence to its last line) ends the search."""
    found = []
    while pos < len(text):
        if text[pos] != "\n":
            break
        path_end = text.find("\n", pos + 1)
        fence_end = text.find("\n", path_end + 1) if path_end >= 0 else -1
        if fence_end < 0:
            break
        path, opening = text[pos + 1:path_end], text[path_end + 1:fence_end]
        closing = next((c for o, c in FENCES if o == opening), None)
        if not path.strip() or closing is None:
            break
        start = fence_end + 1
        end = _closing_line(text, start, closing)
        if end is None:
            break
        after = end + len(closing) + 1
        if after < len(text) and text[after] != "\n":
            break
        found.append((start, end, ToolCall(READ, path.strip())))
        pos = after
    return found


def _web_page(text: str) -> list[Block]:
    """``Here is the content of {url}:\\n\\n{page}``"""
    line_end = text.find(":\n\n")
    if line_end < 0 or "\n" in text[:line_end]:
        return []
    start = line_end + 3
    return [(start, len(text), ToolCall("web", text[len(WEB_HEAD):line_end][:500]))] if len(text) > start else []


def _closing_line(text: str, start: int, closing: str) -> int | None:
    """Where the first line equal to ``closing`` begins, at or after ``start``."""
    if text.startswith(closing + "\n", start):
        return start
    at = text.find("\n" + closing + "\n", start)
    return at + 1 if at >= 0 else None


def _find_all(text: str, needle: str) -> list[int]:
    found, at = [], text.find(needle)
    while at >= 0:
        found.append(at)
        at = text.find(needle, at + 1)
    return found


def _user_messages(messages: Any) -> list[dict[str, Any]]:
    return [m for m in (messages if isinstance(messages, list) else []) if isinstance(m, dict) and m.get("role") == "user"]


def _text_places(message: dict[str, Any]) -> list[tuple[dict[str, Any], str]]:
    """Where a message keeps its text: its string content, or its text blocks (both APIs spell them
    ``{"type": "text", "text": …}``)."""
    content = message.get("content")
    if isinstance(content, str):
        return [(message, "content")]
    if isinstance(content, list):
        return [(part, "text") for part in content
                if isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str)]
    return []
