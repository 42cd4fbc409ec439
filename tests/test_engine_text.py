"""The plain-text fallback: terminal noise goes, repeats fold, markers expand back, nothing else is touched."""

from __future__ import annotations

import random
import re

import pytest

from headroom_cli import engines
from headroom_cli.engines.base import Context, deadline_after, Part, Result
from headroom_cli.engines.text import SCORE, TextEngine, render
from headroom_cli.markers import MARKER_RE, ccr_id, original_lines
from headroom_cli.tokens import count_tokens

from marker_checks import markers_in

ENGINE = TextEngine()
ESC = "\x1b"


# --------------------------------------------------------------------------- helpers


def compress(text: str, **part_kw) -> tuple[Result | None, str]:
    part_id = ccr_id(text)
    result = ENGINE.compress(Part(text, **part_kw), Context(part_id=part_id, deadline=deadline_after(60)))
    return result, part_id


def reconstruct(original: str, compressed: str, part_id: str) -> str:
    """Each marker line replaced by what `headroom retrieve ID --lines A-B` returns (lines split at \\n)."""
    pieces = original_lines(original)
    rebuilt = []
    for line in compressed.split("\n"):
        m = MARKER_RE.fullmatch(line)
        if m and m["id"] == part_id:
            a, b = int(m["a"]), int(m["b"])
            assert 1 <= a <= b <= len(pieces), line
            chunk = "".join(pieces[a - 1 : b])
            rebuilt.append(chunk[:-2] if chunk.endswith("\r\n") else chunk[:-1] if chunk.endswith("\n") else chunk)
        else:
            rebuilt.append(line)
    return "\n".join(rebuilt)


def normalise(text: str) -> str:
    """What a reader sees: rendered, trailing spaces and extra blank lines gone."""
    lines = [line.rstrip() for line in render(text).split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")


def check(text: str, needles: list[str] = (), absent: list[str] = (), min_saving: float | None = None,
          **part_kw) -> Result:
    """The properties every compression must have; returns the result for further checks."""
    result, part_id = compress(text, **part_kw)
    assert result is not None, "expected the engine to compress this"
    out = result.text
    assert result.kind == "text"
    assert len(out) < len(text)
    missing = [n for n in needles if n not in out]
    assert not missing, f"needles lost: {missing}\n---\n{out}"
    still = [a for a in absent if a in out]
    assert not still, f"should be gone: {still}\n---\n{out}"
    assert ESC not in out and "\r" not in out and "\x08" not in out, out
    marks = markers_in(out, part_id)
    assert result.omitted == sum(int(m["b"]) - int(m["a"]) + 1 for m in marks)
    assert normalise(reconstruct(text, out, part_id)) == normalise(text), "markers do not expand back"
    again, _ = compress(text, **part_kw)
    assert again is not None and again.text == out and again.omitted == result.omitted, "not deterministic"
    if min_saving is not None:
        before, after = count_tokens(text), count_tokens(out)
        assert after <= (1 - min_saving) * before, f"tokens {before} -> {after} ({1 - after / before:.1%} saved)\n{out}"
    return result


def c(code: str, s: str) -> str:
    return f"{ESC}[{code}m{s}{ESC}[0m"


# --------------------------------------------------------------------------- synthetic terminal output


def gen_pip_install(seed: int = 1) -> str:
    """pip 24 on a TTY: rich progress bars redrawn with \\r and an erase-line code, in colour."""
    rnd = random.Random(seed)
    out = []
    pkgs = [("numpy", "1.26.4", 18.2), ("pandas", "2.2.1", 12.7), ("pytz", "2024.1", 0.5), ("tzdata", "2024.1", 0.3)]
    for name, ver, size in pkgs:
        out.append(f"Collecting {name}=={ver}\n")
        out.append(f"  Downloading {name}-{ver}-cp311-cp311-manylinux_2_17_x86_64.whl.metadata ({rnd.randint(20, 90)} kB)\n")
        out.append(f"  Downloading {name}-{ver}-cp311-cp311-manylinux_2_17_x86_64.whl ({size} MB)\n")
        frames, done = [], 0.0
        while done < size:
            done = min(size, done + rnd.uniform(0.05, 0.9))
            filled = int(40 * done / size)
            bar = c("38;2;249;38;114", "\u2501" * filled)
            if filled < 40:
                bar += c("38;5;237", "\u2578" + "\u2501" * (39 - filled))
            frames.append(f"\r{ESC}[2K   {bar} {c('32', f'{done:.1f}/{size:.1f} MB')} "
                          f"{c('31', f'{rnd.uniform(5, 40):.1f} MB/s')} eta {c('36', f'0:00:0{rnd.randint(0, 9)}')}")
        out.append("".join(frames) + "\n")
    out.append("Installing collected packages: " + ", ".join(p[0] for p in pkgs) + "\n")
    out.append("Successfully installed " + " ".join(f"{p[0]}-{p[1]}" for p in pkgs) + "\n")
    return "".join(out)


def gen_npm_install(seed: int = 2) -> str:
    """npm on a TTY: a braille spinner and its stage, redrawn hundreds of times, cleared at the end."""
    rnd = random.Random(seed)
    spin = "\u280b\u2819\u2839\u2838\u283c\u2834\u2826\u2827\u2807\u280f"
    frames = []
    for i in range(300):
        stage = ["idealTree:lodash", "reify:chalk", "reify:typescript", "reify:esbuild"][i * 4 // 300]
        frames.append(f"\r{ESC}[K{c('90', spin[i % 10])} {c('2', stage)}: {c('35', 'timing')} "
                      f"reifyNode:node_modules/{stage.split(':')[1]} Completed in {rnd.randint(1, 900)}ms")
    return (f"{ESC}[?25l" + "".join(frames) + f"\r{ESC}[K{ESC}[?25h\n"
            f"\nadded 412 packages, and audited 413 packages in {rnd.randint(3, 30)}s\n\n"
            "58 packages are looking for funding\n  run `npm fund` for details\n\n"
            f"found {c('32;1', '0')} vulnerabilities\n")


def gen_cargo_build(seed: int = 3) -> str:
    """cargo on a TTY: a progress bar printed under each Compiling line, then erased by the next."""
    rnd = random.Random(seed)
    crates = ["libc v0.2.153", "proc-macro2 v1.0.79", "unicode-ident v1.0.12", "quote v1.0.35", "syn v2.0.55",
              "serde v1.0.197", "serde_derive v1.0.197", "memchr v2.7.1", "regex-syntax v0.8.2", "aho-corasick v1.1.2",
              "regex-automata v0.4.6", "regex v1.10.4", "itoa v1.0.10", "ryu v1.0.17", "serde_json v1.0.114"]
    out, total = [], len(crates) + 1
    for i, crate in enumerate(crates):
        out.append(f"{ESC}[0m{ESC}[0m{ESC}[1m{ESC}[32m   Compiling{ESC}[0m {crate}\n")
        n = int(25 * (i + 1) / total)
        out.append(f"{ESC}[1m{ESC}[36m    Building{ESC}[0m [{'=' * n}>{' ' * (24 - n)}] {i + 1}/{total}: "
                   f"{crate.split()[0]}\r{ESC}[K")
    out.append(f"{ESC}[0m{ESC}[0m{ESC}[1m{ESC}[32m   Compiling{ESC}[0m demo v0.1.0 (/home/u/demo)\n")
    out.append(f"{ESC}[0m{ESC}[1m{ESC}[33mwarning{ESC}[0m{ESC}[1m: unused variable: `retries`{ESC}[0m\n")
    out.append(f"{ESC}[0m {ESC}[0m{ESC}[1m{ESC}[38;5;12m--> {ESC}[0m{ESC}[0msrc/main.rs:14:9{ESC}[0m\n")
    out.append(f"{ESC}[1m{ESC}[32m    Finished{ESC}[0m `dev` profile [unoptimized + debuginfo] target(s) in "
               f"{rnd.uniform(5, 40):.2f}s\n")
    return "".join(out)


def gen_docker_pull(seed: int = 4) -> str:
    """docker pull on a TTY: one status row per layer, rewritten in place with cursor up/down codes."""
    rnd = random.Random(seed)
    layers = [f"{rnd.getrandbits(48):012x}" for _ in range(5)]
    sizes = [rnd.uniform(2, 60) for _ in layers]
    out = ["latest: Pulling from library/python\n"] + [f"{layer}: Pulling fs layer \n" for layer in layers]
    n, done = len(layers), [0.0] * len(layers)
    for step in range(60):
        i = step % n
        done[i] = min(sizes[i], done[i] + rnd.uniform(0.5, 6))
        pct = int(50 * done[i] / sizes[i])
        status = (f"Downloading [{'=' * pct}>{' ' * (49 - pct)}]  {done[i]:.1f}MB/{sizes[i]:.1f}MB"
                  if done[i] < sizes[i] else "Download complete")
        out.append(f"{ESC}[{n - i}A{ESC}[2K\r{layers[i]}: {status} \r{ESC}[{n - i}B")
    for i in range(n):
        out.append(f"{ESC}[{n - i}A{ESC}[2K\r{layers[i]}: Pull complete \r{ESC}[{n - i}B")
    out.append("Digest: sha256:%064x\n" % rnd.getrandbits(256))
    out.append("Status: Downloaded newer image for python:3.12-slim\ndocker.io/library/python:3.12-slim\n")
    return "".join(out)


def gen_git_clone() -> str:
    """git clone: each phase a counter redrawn with \\r, ending in ", done."."""
    out = ["Cloning into 'linux'...\n", "remote: Enumerating objects: 8421, done.\n"]
    for what, total, remote in (("Counting objects", 4213, True), ("Compressing objects", 1877, True),
                                ("Receiving objects", 8421, False), ("Resolving deltas", 5120, False)):
        speed = ", 3.21 MiB | 6.42 MiB/s" if what == "Receiving objects" else ""
        frames = [f"{'remote: ' if remote else ''}{what}: {p:3d}% ({p * total // 100}/{total}){speed}" for p in range(101)]
        out.append("\r".join(frames) + ", done.\n")
    return "".join(out)


def gen_wget_dots() -> str:
    """wget's dot progress, as in a CI log: one line per 50 KB, the percentage growing."""
    out = ["--2024-06-20 08:00:00--  https://example.org/big.iso\n",
           "Length: 52428800 (50M) [application/octet-stream]\n", "Saving to: 'big.iso'\n\n"]
    for k in range(0, 51200, 50):
        pct = min(100, (k + 50) * 100 // 51200)
        out.append(f"{k:6d}K .......... .......... .......... .......... .......... {pct:3d}% 12.3M 4s\n")
    out.append("\n2024-06-20 08:00:05 (11.9 MB/s) - 'big.iso' saved [52428800/52428800]\n")
    return "".join(out)


def gen_yes(n: int = 3000) -> str:
    return "y\n" * n


def gen_retry_loop(attempts: int = 40) -> str:
    """A dev server that cannot reach its database: the same three lines, over and over."""
    out = ["Starting dev server on :8080\n"]
    for _ in range(attempts):
        out += ["Error: connect ECONNREFUSED 127.0.0.1:5432\n",
                "    at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1595:16)\n",
                "Retrying database connection in 2 seconds...\n"]
    out.append(f"Connected to postgres at 127.0.0.1:5432 after {attempts + 1} attempts\n")
    return "".join(out)


def gen_keras_fit(epochs: int = 6) -> str:
    """Keras fit(): a \\r progress bar inside each epoch, one finished summary line per epoch."""
    rnd = random.Random(5)
    out = []
    for e in range(1, epochs + 1):
        out.append(f"Epoch {e}/{epochs}\n")
        frames = []
        for step in range(1, 1876, 25):
            n = int(30 * step / 1875)
            bar = "=" * n + (">" if n < 30 else "") + "." * max(0, 29 - n)
            frames.append(f"{step:4d}/1875 [{bar}] - ETA: {rnd.randint(1, 9)}s - loss: {rnd.uniform(0.2, 0.9):.4f}")
        loss = 0.5 / e
        frames.append(f"1875/1875 [{'=' * 30}] - 3s 2ms/step - loss: {loss:.4f} - accuracy: {1 - loss / 3:.4f}")
        out.append("\r".join(frames) + "\n")
    return "".join(out)


def gen_coloured_compiler(seed: int = 6) -> str:
    """A type checker's coloured report: every path, code and caret wrapped in SGR codes."""
    rnd = random.Random(seed)
    out = []
    for i in range(60):
        path = f"src/{rnd.choice(['api', 'ui', 'store', 'utils'])}/{rnd.choice(['index', 'view', 'model'])}{i}.ts"
        line, col = rnd.randint(1, 400), rnd.randint(1, 60)
        out.append(f"{c('96', path)}:{c('93', str(line))}:{c('93', str(col))} - {c('91', 'error')}"
                   f"{c('90', f' TS{rnd.randint(2000, 2999)}: ')}Property 'id{i}' does not exist on type 'User'.\n\n")
        out.append(f"{c('7', str(line))} const v = user.id{i};\n{c('7', ' ' * len(str(line)))} {c('91', '~' * 8)}\n\n")
    out.append("\nFound 60 errors in 60 files.\n")
    return "".join(out)


def gen_blank_heavy() -> str:
    return "".join(f"Section {i}: processed batch B-{1000 + i}\n" + "\n" * 6 for i in range(30))


NOISY = {  # generator -> (needles, what must be gone, least token saving)
    "pip_install": (gen_pip_install, ["Successfully installed numpy-1.26.4 pandas-2.2.1 pytz-2024.1 tzdata-2024.1",
                                      "18.2/18.2 MB", "Collecting pandas==2.2.1"], [], 0.85),
    "npm_install": (gen_npm_install, ["added 412 packages", "found 0 vulnerabilities", "run `npm fund` for details"],
                    ["reifyNode", "\u280b"], 0.95),
    "cargo_build": (gen_cargo_build, ["Compiling serde_json v1.0.114", "warning: unused variable: `retries`",
                                      "--> src/main.rs:14:9", "Finished `dev` profile"], ["Building ["], 0.6),
    "docker_pull": (gen_docker_pull, ["Pull complete", "Status: Downloaded newer image for python:3.12-slim"],
                    ["Downloading [", "Pulling fs layer"], 0.9),
    "git_clone": (gen_git_clone, ["Receiving objects: 100% (8421/8421), 3.21 MiB | 6.42 MiB/s, done.",
                                  "Resolving deltas: 100% (5120/5120), done."], [" 99% ("], 0.95),
    "wget_dots": (gen_wget_dots, ["51150K .......... .......... .......... .......... .......... 100%",
                                  "'big.iso' saved [52428800/52428800]"], ["  50K ....."], 0.95),
    "yes": (gen_yes, ["y\n"], [], 0.95),
    "retry_loop": (gen_retry_loop, ["Error: connect ECONNREFUSED 127.0.0.1:5432",
                                    "Connected to postgres at 127.0.0.1:5432 after 41 attempts"], [], 0.9),
    "keras_fit": (gen_keras_fit, ["Epoch 6/6", "loss: 0.5000 - accuracy: 0.8333", "loss: 0.0833 - accuracy: 0.9722"],
                  ["ETA:"], 0.9),
    "coloured_compiler": (gen_coloured_compiler, ["Found 60 errors in 60 files.", "does not exist on type 'User'"],
                          [], 0.3),
}


# --------------------------------------------------------------------------- registration and detection


def test_registered():
    assert engines.get("text") is not None
    assert engines.get("text").name == "text"


def test_kind_hints():
    assert ENGINE.detect(Part("just a few words\n", kind_hint="text")) == 1.0
    for other in ("json", "tests", "logs", "diff", "html", "code", "table"):
        assert ENGINE.detect(Part("y\n" * 500, kind_hint=other)) == 0.0


@pytest.mark.parametrize("name", sorted(NOISY))
def test_noisy_output_is_claimed_as_a_fallback(name):
    text = NOISY[name][0]()
    score = ENGINE.detect(Part(text))
    assert score == SCORE
    assert 0.5 <= score < 0.6  # wins only where no specialised engine (0.6 and up) claims the part


def test_nothing_to_gain_scores_zero_and_is_left_alone():
    rnd = random.Random(3)
    prose = "".join(f"Paragraph {i}: the {rnd.choice(['quick', 'slow', 'red'])} fox jumps over dog {i * 7}.\n\n"
                    for i in range(300))
    for text in (prose, "".join(f"{i}\n" for i in range(20000)), "one line without a newline"):
        assert ENGINE.detect(Part(text)) == 0.0
        assert compress(text)[0] is None


# --------------------------------------------------------------------------- the corpus


def test_corpus_is_never_claimed_above_a_fallback(corpus_dir, needles):
    for entry in needles:
        text = (corpus_dir / entry["file"]).read_text()
        assert ENGINE.detect(Part(text)) <= 0.6, entry["file"]
        assert ENGINE.detect(Part(text, tool_name="Bash", tool_input="make")) <= 0.6, entry["file"]


def test_corpus_needles_survive_when_forced(corpus_dir, needles):
    """Told that any corpus sample is text, the engine keeps every needle verbatim and expands back."""
    touched = []
    for entry in needles:
        text = (corpus_dir / entry["file"]).read_text()
        for query in (entry["query"], None):
            result, part_id = compress(text, kind_hint="text", query=query)
            if result is None:
                continue
            touched.append(entry["file"])
            missing = [n for n in entry["needles"] if n not in result.text]
            assert not missing, (entry["file"], missing)
            assert len(result.text) < len(text)
            assert normalise(reconstruct(text, result.text, part_id)) == normalise(text), entry["file"]
            assert result.omitted == sum(int(m["b"]) - int(m["a"]) + 1 for m in markers_in(result.text, part_id))
    assert len(set(touched)) <= len(needles) // 4, f"the fallback rewrote too much of the corpus: {set(touched)}"


# --------------------------------------------------------------------------- synthetic terminal output


@pytest.mark.parametrize("name", sorted(NOISY))
def test_noisy_output(name):
    gen, keep, gone, saving = NOISY[name]
    text = gen()
    check(text, keep, gone, saving)
    check(text, keep, gone, saving, query="what failed?")


def test_noisy_output_in_aggregate():
    before = after = 0
    for gen, *_ in NOISY.values():
        text = gen()
        result, _ = compress(text)
        before += count_tokens(text)
        after += count_tokens(result.text)
    assert after <= 0.1 * before, f"{before} -> {after} tokens"


def test_progress_bar_keeps_only_the_final_frame_losslessly():
    frames = "".join(f"\r{p:3d}%|{'█' * (p // 10)}{' ' * (10 - p // 10)}| {p}/100 [00:0{p // 50}<00:01, 45.0it/s]"
                     for p in range(0, 101, 5))
    text = "Training\n" + frames + "\nDone training\n" + "epoch summary: loss 0.12\n" * 2
    result = check(text, ["100%|██████████| 100/100", "Done training"], [" 45%|"])
    assert result.omitted == 0  # only overwritten frames went: nothing to store
    assert result.text.count("\n") == text.count("\n")


def test_docker_pull_screen_is_replayed():
    result = check(gen_docker_pull(), ["latest: Pulling from library/python"])
    rows = result.text.split("\n")
    layer_rows = [r for r in rows if r.endswith(": Pull complete")]
    assert len(layer_rows) == 5 and rows[1:6] == layer_rows  # each layer on its own row, in order
    assert result.omitted == 0


def test_yes_folds_into_one_marker_with_the_count():
    text = gen_yes(5000)
    result, part_id = compress(text)
    marks = markers_in(result.text, part_id)
    assert result.text.startswith("y\n[headroom: 4,999 lines omitted (4,999 repeats of the line above)")
    assert len(marks) == 1 and (marks[0]["a"], marks[0]["b"]) == ("2", "5000")
    assert result.omitted == 4999


def test_repeated_block_keeps_first_copy_and_says_how_often():
    result, part_id = compress(gen_retry_loop(40))
    assert "(39 repeats of the 3 lines above)" in result.text
    assert result.text.count("ECONNREFUSED") == 1


def test_progress_lines_keep_the_last_state():
    text = "".join(f"Downloading model.bin {p}% ({p * 20}/2000 MB)\n" for p in range(101)) + "saved model.bin\n"
    result, part_id = compress(text)
    assert "Downloading model.bin 100% (2000/2000 MB)" in result.text
    assert "earlier states of the line below" in result.text
    assert "Downloading model.bin 50%" not in result.text


def test_spinner_frames_on_lines_of_their_own():
    spin = "\u280b\u2819\u2839\u2838\u283c\u2834"
    text = "".join(f"{spin[i % 6]} Resolving dependencies\n" for i in range(60)) + "Resolved 42 packages in 1.2s\n"
    result = check(text, ["Resolved 42 packages in 1.2s"])
    assert result.text.count("Resolving dependencies") == 1


def test_finished_lines_are_not_progress():
    """One finished summary per epoch, and log records with ratios that go up and down, all stay."""
    epochs = "".join(f"Epoch {e}/20\n1875/1875 [==============================] - 3s 2ms/step - loss: {1 / e:.4f}\n"
                     for e in range(1, 21))
    result, _ = compress(epochs)
    assert result is None or all(f"loss: {1 / e:.4f}" in result.text for e in range(1, 21))
    rnd = random.Random(9)
    records = "".join(f"2024-06-20T08:00:{i % 60:02d}Z DEBUG pool checkout conn=#{rnd.randint(1, 20)} "
                      f"active={rnd.randint(1, 20)}/20 cpu={rnd.randint(1, 99)}%\n" for i in range(400))
    assert compress(records)[0] is None
    tests = "".join(f"tests/test_chunks.py::test_{i} PASSED [{40 + i // 10:3d}%]\n" for i in range(60))
    assert compress(tests)[0] is None


def test_query_keeps_a_progress_state_it_names():
    text = "".join(f"Uploading backup.tar {p}% ({p * 1237}/123700 kB)\n" for p in range(0, 101, 2)) + "upload done\n"
    blind, _ = compress(text)
    assert "(49480/123700 kB)" not in blind.text and "earlier states of the line below" in blind.text
    asked = check(text, ["Uploading backup.tar 40% (49480/123700 kB)", "100% (123700/123700 kB)"],
                  query="why did the upload stall at 49480 kB?")
    assert asked.text.count("earlier states of the line below") == 2


def test_far_repeats_fold_with_a_quote_but_not_in_a_file_read():
    block = ["WARNING: the 'legacy_resolver' option is deprecated and will be removed in 3.0;",
             "         set resolver = 'backtracking' in setup.cfg [options] to silence this warning.",
             "         See https://example.org/docs/migrating-from-the-legacy-resolver for details."]
    lines = []
    for i in range(8):
        lines.append(f"building wheel for package-{i} ({i * 13 % 7 + 1}.{i} MB) in /tmp/build-{i:03d}")
        lines.extend(block)
    text = "\n".join(lines) + "\n"
    result = check(text, block + [f"building wheel for package-{i}" for i in range(8)])
    assert result.text.count(block[0]) == 1
    assert "(3 lines repeated from above, starting \"WARNING: the 'legacy_resolver' option" in result.text
    read, _ = compress(text, tool_name="Read")
    assert read is None


def test_blank_runs_collapse_losslessly():
    text = gen_blank_heavy()
    result = check(text, [f"Section {i}: processed batch B-{1000 + i}" for i in range(30)])
    assert result.omitted == 0
    assert "\n\n\n" not in result.text


def test_carriage_returns_between_unrelated_text_are_line_breaks():
    """A \\r that is not a redraw (old Mac line ends, a status then a result) overwrites nothing."""
    text = "alpha bravo charlie\rdelta echo foxtrot\rgolf hotel india\n" * 3 + "\x1b[1mtrailer\x1b[0m\n" * 2
    out = render(text)
    for word in ("alpha bravo charlie", "delta echo foxtrot", "golf hotel india", "trailer"):
        assert out.count(word) == 3 if word != "trailer" else out.count(word) == 2
    assert "Fetching 100%\nDone" in render("Fetching 45%\rFetching 100%\rDone\n")


def test_markers_count_lines_as_retrieve_does():
    """A line that holds \\r frames is one line in `headroom retrieve --lines`, as in every engine."""
    text = "header\n" + "Downloading 10%\rDownloading 100%\n" * 60 + "footer\n"
    result, part_id = compress(text)
    (mark,) = markers_in(result.text, part_id)
    pieces = original_lines(text)
    assert (int(mark["a"]), int(mark["b"])) == (3, len(pieces) - 1)
    assert "".join(pieces[int(mark["a"]) - 1: int(mark["b"])]) == "Downloading 10%\rDownloading 100%\n" * 59
    check(text, ["header", "Downloading 100%", "footer"])


def test_backspace_spinner_and_osc_codes():
    spin = "".join(f"{ch}\b" for ch in "|/-\\" * 50)
    link = f"{ESC}]8;;https://example.org/build/42{ESC}\\build 42{ESC}]8;;{ESC}\\"
    text = f"{ESC}]0;my terminal title\x07Installing toolchain... {spin}done\nsee {link} for details\n" * 3
    result = check(text, ["Installing toolchain... done", "see build 42 for details"])
    assert result.text.count("Installing toolchain... done") == 3


def test_crlf_output():
    text = ("\x1b[32mPASS\x1b[0m suite one\r\n" + "\x1b[31mFAIL\x1b[0m suite two\r\n") * 10
    result = check(text, ["PASS suite one", "FAIL suite two"])
    assert "\r" not in result.text


# --------------------------------------------------------------------------- odd input


@pytest.mark.parametrize("text", [
    "", " ", "\n", "\n\n\n\n\n", "x", "\x1b", "\x1b[", "\x1b[31", "\r", "\r\r\r", "\b\b\b", "\x00\x01\x02",
    "\x1b]8;;no terminator", "a\rb", "\ud800 lone surrogate \udfff\n" * 3, "\u2028\u2029\x85\x0c\x0b" * 10,
    "\x1b[999999999999999999999A\x1b[99999999999B" * 5, "\x1b7\x1b8\x1b[s\x1b[u\x1b[J\x1b[2J" * 10,
])
def test_odd_input_never_raises(text):
    result, part_id = compress(text)
    assert result is None or (len(result.text) < len(text) and result.kind == "text")
    assert 0.0 <= ENGINE.detect(Part(text)) <= 1.0
    render(text)


def test_random_terminal_soup_never_raises_and_expands_back():
    rnd = random.Random(1234)
    alphabet = ["a", "b", " ", "\n", "\r", "\b", "\t", "%", "5", "0", "/", "[", "=", ">", "]", "\u2588", "\u280b",
                f"{ESC}[31m", f"{ESC}[0m", f"{ESC}[K", f"{ESC}[2K", f"{ESC}[1A", f"{ESC}[2B", f"{ESC}[3G", "\r\n",
                f"{ESC}]0;t\x07", "progress ", "same line\n", "Downloading 45%\n", "x 12/40 [==>  ]\n"]
    folded = 0
    for _ in range(400):
        text = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 400)))
        text += "same line\n" * rnd.randint(0, 30)
        result, part_id = compress(text, kind_hint="text")
        if result is not None:
            assert len(result.text) < len(text)
            assert result.omitted == sum(int(m["b"]) - int(m["a"]) + 1 for m in markers_in(result.text, part_id))
            assert normalise(reconstruct(text, result.text, part_id)) == normalise(text), repr(text)
            folded += result.omitted > 0
    assert folded >= 100


def test_deadline_is_honoured():
    from headroom_cli.engines.base import EngineTimeout

    text = gen_yes(50000)
    with pytest.raises(EngineTimeout):
        ENGINE.compress(Part(text), Context(part_id=ccr_id(text), deadline=deadline_after(-1)))


# --------------------------------------------------------------------------- big parts
# (speed on big parts is measured by scripts/bench_engine_latency.py, not timed here)


def _grow(text: str, size: int = 200_000) -> str:
    return (text * (size // len(text) + 1))[:size].rsplit("\n", 1)[0] + "\n"


@pytest.mark.parametrize("name", ["yes", "pip_install", "docker_pull", "wget_dots", "git_clone"])
def test_200kb_compresses_the_same_every_run(name):
    text = _grow(NOISY[name][0]())
    result, _ = compress(text)
    assert result is not None and result.text == compress(text)[0].text
