"""Warm the engines once per process, before the first real tool output reaches them.

The first part a process compresses would otherwise pay the engines' one-time start-up: importing
every engine module, loading tree-sitter's grammars, compiling its queries and the engines' patterns
(80-250 ms, against a few ms warm). The proxy calls ``warm_up`` before it listens and the library on
its first use, so that cost is paid once, at start-up, and not by a user's first request.

Each engine runs on a small sample of its kind, through the pipeline as a real part would (routing,
sections, Claude Code's Read format), and every grammar the code engine knows is loaded, and Kompress's model when it is installed. Engines are
pure functions, so nothing a warm-up does can change a later output.
"""

from __future__ import annotations

import logging
import threading
import time
import warnings

log = logging.getLogger("headroom.engines")

_lock = threading.Lock()
_done = False


def warm_up() -> float:
    """Warm every engine once in this process (thread-safe; later calls return at once).
    The seconds this call spent warming, 0.0 when it was already done."""
    global _done
    if _done:
        return 0.0
    with _lock:
        if _done:
            return 0.0
        started = time.perf_counter()
        try:
            _run_samples()
            _load_grammars()
            _load_kompress()
        except Exception as exc:  # a warm-up is an optimisation: it must never stop a start-up
            log.warning("engine warm-up failed (%s: %s); the first parts will be slower", type(exc).__name__, exc)
        _done = True
        spent = time.perf_counter() - started
        log.debug("engines warmed up in %.0f ms", spent * 1000)
        return spent


def _run_samples() -> None:
    from headroom_cli.engines import Part
    from headroom_cli.pipeline import Pipeline

    pipeline = Pipeline(memo_size=0, code_min_lines=0)
    for hint, text, tool_name, tool_input in _samples():
        # explain(): every engine's detect() on the sample, then the route a real part takes.
        pipeline.explain(Part(text, kind_hint=None, tool_name=tool_name, tool_input=tool_input))
        if hint:
            pipeline.explain(Part(text, kind_hint=hint, tool_name=tool_name, tool_input=tool_input))


def _load_grammars() -> None:
    from headroom_cli.engines.code import parsing, reading
    from headroom_cli.engines.code.languages import LANGUAGES

    if not parsing.available():  # no grammars to load (Python 3.13): the code engine stands aside
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        for lang in LANGUAGES.values():
            parsing.parse(lang, b"x\n")
            reading.function_query(lang)


def _load_kompress() -> None:
    """Kompress's torch import and weights (about 3 s of CPU), when it is installed and on."""
    from headroom_cli import kompress

    if kompress.enabled() and kompress.missing() is None:
        kompress.load(kompress.model_dir())


def _samples() -> list[tuple[str | None, str, str | None, str | None]]:
    """(kind hint, text, tool name, tool input): a small output of each kind the engines read."""
    tests = "\n".join(f"tests/test_mod.py::test_case_{i:03d} PASSED{' ' * 20}[{i * 100 // 80:3d}%]" for i in range(80))
    tests += ("\n=================================== FAILURES ===================================\n"
              "____________________________ test_total ____________________________\n"
              ">       assert total == 12\nE       AssertionError: expected 12, got 10\n"
              "tests/test_mod.py:9: AssertionError\n=========== 1 failed, 79 passed in 0.42s ===========\n")
    logs = "\n".join(f"2026-01-01T10:00:{i % 60:02d}.{i:03d}Z INFO  [worker-{i % 4}] http - GET /v1/items/{i} 200 {i % 90}ms"
                     for i in range(80))
    logs += ("\n2026-01-01T10:01:20.000Z ERROR [worker-1] queue - consumer died\nTraceback (most recent call last):\n"
             '  File "/srv/queue.py", line 21, in consume\nConnectionResetError: [Errno 104] Connection reset by peer\n')
    records = ",".join(f'{{"id":{i},"name":"item-{i}","status":"{"ok" if i % 7 else "failed"}","tags":["a","b"]}}'
                       for i in range(60))
    diff = "diff --git a/app.py b/app.py\n--- a/app.py\n+++ b/app.py\n" + "".join(
        f"@@ -{i * 20 + 1},7 +{i * 20 + 1},7 @@ def f{i}():\n     a = {i}\n     b = a + 1\n-    return a\n+    return b\n"
        f"     # end\n     pass\n     pass\n" for i in range(20))
    search = "\n".join(f"src/module_{i % 9}.py:{i * 7 + 1}:    value = compute_total(order_{i}, tax=True)" for i in range(60))
    listing = "\n".join(f"-rw-r--r--  1 dev dev {1000 + i * 37:6d} Jan  1 10:{i % 60:02d} file_{i:03d}.txt" for i in range(60))
    table = "id,name,amount,status\n" + "\n".join(f"{i},customer {i},{i * 13.5:.2f},{'paid' if i % 5 else 'late'}"
                                                 for i in range(80))
    html = ("<html><head><title>Guide</title><script>var x = 1;</script></head><body><nav>menu</nav>"
            + "".join(f"<h2>Section {i}</h2><p>Paragraph {i} explains how the feature works in detail.</p>"
                      for i in range(40)) + "</body></html>")
    code = "\n".join(f"def function_{i}(value):\n    \"\"\"Doc {i}.\"\"\"\n    total = value * {i}\n    for x in range(3):\n"
                     f"        total += x\n    return total\n" for i in range(40))
    read = "\n".join(f"{n:6d}\t{line}" for n, line in enumerate(code.splitlines(), 1))
    text = "".join(f"Downloading {i}%\r" for i in range(100)) + "\n" + "building...\n" * 80 + "done\n"
    return [("tests", tests, "Bash", "pytest -v"), ("logs", logs, "Bash", "cat app.log"),
            ("json", "[" + records + "]", None, None), ("diff", diff, "Bash", "git diff"),
            ("search", search, "Grep", "compute_total"), ("listing", listing, "Bash", "ls -l"),
            ("table", table, None, None), ("html", html, "WebFetch", None),
            ("code", code, None, None), (None, read, "Read", "/src/app.py"), ("text", text, "Bash", "make")]
