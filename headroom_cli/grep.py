"""Line search for retrievals, bounded so that a pattern from a model cannot stall the proxy.

A regular expression from a model is untrusted input: Python's `re` can backtrack for minutes on
a 28-character pattern, holding the GIL (every thread of the proxy stops with it), and the
third-party `regex` engine, whose `timeout=` bounds matching, still compiles a pattern like
`a{4294967294}` for minutes and many GB. So a pattern with any regex syntax runs in a short-lived
child process (stdlib `re`, no new dependency) under a wall-clock timeout, a CPU limit and a memory
limit; the caller's thread only waits on a pipe, with the GIL released. A plain-text pattern (no
regex metacharacters: what models mostly send) is a substring search in-process, which cannot
backtrack, and costs no process start.
"""

from __future__ import annotations

import json
import subprocess
import sys

TIMEOUT_S = 2.0  # a whole search; generous for any sane pattern over a 16 MB original
MEMORY_BYTES = 2 << 30  # the child's address space, a cap for patterns that explode when compiled
MAX_PATTERN_CHARS = 1_000
_META = frozenset(".^$*+?{}[]\\|()")

# The child: the pattern as one JSON line, then the text; prints the 1-based numbers of the
# matching lines. Limits first, so even compiling the pattern runs under them.
_CHILD = r"""
import json, re, sys
try:
    import resource
    resource.setrlimit(resource.RLIMIT_AS, (%(memory)d, %(memory)d))
    resource.setrlimit(resource.RLIMIT_CPU, (%(cpu)d, %(cpu)d))
except (ImportError, ValueError, OSError):
    pass
data = sys.stdin.buffer.read()
head, _, text = data.partition(b"\n")
try:
    pattern = re.compile(json.loads(head))
except re.error as exc:
    sys.stderr.write(str(exc))
    sys.exit(2)
lines = text.decode("utf-8", "surrogatepass").split("\n")
out = []
for n, line in enumerate(lines, start=1):
    if n < len(lines):
        line += "\n"
    elif not line:
        break
    if pattern.search(line):
        out.append(str(n))
sys.stdout.write("\n".join(out))
"""


class PatternError(ValueError):
    """A pattern that is not valid, or took too long: the message says what to do instead."""


def is_literal(pattern: str) -> bool:
    return not any(c in _META for c in pattern)


def matching(lines: list[str], pattern: str, timeout_s: float = TIMEOUT_S) -> list[int]:
    """The indices (0-based) of the lines a regular expression matches (``re.search`` semantics)."""
    if len(pattern) > MAX_PATTERN_CHARS:
        raise PatternError(f"the pattern is {len(pattern):,} characters; at most {MAX_PATTERN_CHARS:,} are taken")
    if is_literal(pattern):
        return [i for i, line in enumerate(lines) if pattern in line]
    return _in_child(lines, pattern, timeout_s)


def _in_child(lines: list[str], pattern: str, timeout_s: float) -> list[int]:
    text = "".join(lines)
    payload = json.dumps(pattern).encode() + b"\n" + text.encode("utf-8", "surrogatepass")
    code = _CHILD % {"memory": MEMORY_BYTES, "cpu": max(1, int(timeout_s) + 1)}
    try:
        done = subprocess.run([sys.executable, "-I", "-S", "-c", code], input=payload, capture_output=True,
                              timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise PatternError(f"the pattern {pattern!r} took over {timeout_s:g} s and was stopped; use a simpler "
                           "pattern (plain text is searched as it is) or ask for a line range") from None
    except OSError as exc:
        raise PatternError(f"the pattern search could not run ({exc}); ask for a line range instead") from None
    if done.returncode == 2:
        message = done.stderr.decode("utf-8", "replace").strip()[:300]
        raise PatternError(f"pattern {pattern!r} is not a valid regular expression: {message}")
    if done.returncode != 0:
        raise PatternError(f"the pattern {pattern!r} was stopped (it needed too much memory or time); use a "
                           "simpler pattern (plain text is searched as it is) or ask for a line range")
    found = done.stdout.decode().split()
    # The child splits the text at "\n" as the caller did; its numbers are the lines' positions.
    return [int(n) - 1 for n in found if int(n) <= len(lines)]
