"""The listing engine: needles survive, markers (and compacted tree lines) expand back to the original."""

from __future__ import annotations

import random
import re

import pytest

from headroom_cli import engines
from headroom_cli.engines.base import Context, deadline_after, EngineTimeout, Part, Result
from headroom_cli.engines.listing import ListingEngine
from headroom_cli.markers import MARKER_RE, ccr_id
from headroom_cli.pipeline import Pipeline
from headroom_cli.tokens import count_tokens

from marker_checks import markers_in

ENGINE = ListingEngine()
TARGET = 0.50  # least token saving over the corpus's listing samples, in aggregate
VERBATIM = 0.95  # least share of the corpus's listing needles kept verbatim

# a compacted tree line: ancestors' bars, a connector, names joined by ", "
_TREE_LINE = re.compile(r"([│┃|\s]*)([├└┣┗][─━]{1,2}[─━┬┳]?\s|[|`+]--\s)(\S.*)$")
_NOT_LAST = str.maketrans({"└": "├", "┗": "┣", "`": "|"})


# --------------------------------------------------------------------------- helpers


def compress(text: str, **part_kw) -> tuple[Result | None, str]:
    part_id = ccr_id(text)
    result = ENGINE.compress(Part(text, **part_kw), Context(part_id=part_id, deadline=deadline_after(60)))
    return result, part_id


def split_lines(text: str) -> list[str]:
    lines = text.split("\n")
    if text.endswith("\n"):
        lines.pop()
    return lines


def reconstruct(original: str, compressed: str, part_id: str) -> str:
    """Replace each marker by the original lines it names (what `headroom retrieve --lines` gives back),
    and expand each compacted tree line (``├── a, b, c``) back into one line per name."""
    orig = split_lines(original)
    rebuilt: list[str] = []
    for line in split_lines(compressed):
        m = MARKER_RE.fullmatch(line)
        if m and m["id"] == part_id:
            a, b = int(m["a"]), int(m["b"])
            assert 1 <= a <= b <= len(orig), line
            assert a == len(rebuilt) + 1, f"marker out of order: {line}"
            rebuilt.extend(orig[a - 1 : b])
        elif len(rebuilt) < len(orig) and line == orig[len(rebuilt)]:
            rebuilt.append(line)
        else:
            t = _TREE_LINE.match(line)
            assert t, f"a line that is neither original, a marker nor a compacted tree line: {line!r}"
            prefix, conn, names = t.group(1), t.group(2), t.group(3).split(", ")
            rebuilt.extend(prefix + conn.translate(_NOT_LAST) + name for name in names[:-1])
            rebuilt.append(prefix + conn + names[-1])
    return "\n".join(rebuilt) + ("\n" if compressed.endswith("\n") else "")


def recoverable(needle: str, original: str, compressed: str, part_id: str) -> bool:
    orig = split_lines(original)
    for m in markers_in(compressed, part_id):
        if needle in "\n".join(orig[int(m["a"]) - 1 : int(m["b"])]):
            return True
    return False


def check(text: str, keep: list[str] = (), min_saving: float | None = None, lossless: bool = False,
          **part_kw) -> Result:
    """The properties every compression must have; returns the result for further checks."""
    result, part_id = compress(text, **part_kw)
    assert result is not None, "expected the engine to compress this"
    assert result.kind == "listing"
    out = result.text
    missing = [n for n in keep if n not in out]
    assert not missing, f"lost: {missing}\n---\n{out}"
    assert reconstruct(text, out, part_id) == text, "markers and compacted lines do not expand back to the original"
    assert len(out) < len(text)
    marks = markers_in(out, part_id)
    assert result.omitted == sum(int(m["b"]) - int(m["a"]) + 1 for m in marks)
    if lossless:
        assert not marks and result.omitted == 0
    again, _ = compress(text, **part_kw)
    assert again is not None and again.text == out, "not deterministic"
    if min_saving is not None:
        before, after = count_tokens(text), count_tokens(out)
        assert after <= (1 - min_saving) * before, f"tokens {before} -> {after} ({1 - after / before:.1%} saved)\n{out}"
    return result


def listing_entries(needles: list[dict]) -> list[dict]:
    entries = [e for e in needles if e["kind"] == "listing"]
    assert entries, "the corpus has listing samples"
    return entries


# --------------------------------------------------------------------------- the corpus


def test_registered():
    assert isinstance(engines.get("listing"), ListingEngine)
    assert ENGINE.name == "listing"


@pytest.mark.parametrize("with_query", [True, False], ids=["query", "no-query"])
def test_corpus_samples_keep_needles_and_expand_back(corpus_dir, needles, with_query):
    before = after = verbatim = total = 0
    for entry in listing_entries(needles):
        text = (corpus_dir / entry["file"]).read_text()
        query = entry["query"] if with_query else None
        result = check(text, query=query)
        part_id = ccr_id(text)
        for needle in entry["needles"]:
            total += 1
            if needle in result.text:
                verbatim += 1
            else:
                assert recoverable(needle, text, result.text, part_id), f"{entry['file']}: {needle!r} is gone"
        before += count_tokens(text)
        after += count_tokens(result.text)
    assert verbatim >= VERBATIM * total, f"{verbatim}/{total} needles verbatim"
    assert after <= (1 - TARGET) * before, f"tokens {before} -> {after} ({1 - after / before:.1%} saved)"


def test_corpus_needles_all_verbatim(corpus_dir, needles):
    """Stricter than the target: every listing needle of the corpus is kept verbatim, with or without a query."""
    for entry in listing_entries(needles):
        text = (corpus_dir / entry["file"]).read_text()
        for query in (entry["query"], None):
            result, _ = compress(text, query=query)
            assert result is not None
            missing = [n for n in entry["needles"] if n not in result.text]
            assert not missing, f"{entry['file']} (query={query!r}): {missing}"


def test_corpus_detect(corpus_dir, needles):
    for entry in needles:
        text = (corpus_dir / entry["file"]).read_text()
        score = ENGINE.detect(Part(text))
        if entry["kind"] == "listing":
            assert score >= 0.8, f"{entry['file']}: {score}"
        else:
            assert score <= 0.1, f"{entry['file']} is {entry['kind']}, scored {score}"


def test_corpus_samples_route_to_listing(corpus_dir, needles):
    pipeline = Pipeline()
    for entry in listing_entries(needles):
        text = (corpus_dir / entry["file"]).read_text()
        outcome = pipeline.run(Part(text))
        assert outcome.engine == "listing", f"{entry['file']} went to {outcome.engine}"
        assert outcome.kind == "listing"


def test_query_keeps_what_it_names(corpus_dir, needles):
    """A directory the question names keeps its whole section; a commit it names is kept."""
    for entry in listing_entries(needles):
        text = (corpus_dir / entry["file"]).read_text()
        with_q, _ = compress(text, query=entry["query"])
        without, _ = compress(text)
        assert with_q is not None and without is not None
        assert with_q.text != without.text or "tree" in entry["file"]


# --------------------------------------------------------------------------- detect and hints


def test_kind_hint():
    assert ENGINE.detect(Part("anything at all", kind_hint="listing")) == 1.0
    assert ENGINE.detect(Part(ls_la()[0], kind_hint="json")) == 0.0


def test_search_file_lists_are_not_mine():
    text = "\n".join(f"src/pkg{i // 7}/mod_{i}.py" for i in range(80)) + "\n"
    assert ENGINE.detect(Part(text)) >= 0.8
    assert ENGINE.detect(Part(text, tool_name="Bash", tool_input="rg -l 'def main' src")) <= 0.1
    assert ENGINE.detect(Part(text, tool_name="Grep", tool_input="def main")) <= 0.1
    assert ENGINE.detect(Part(text, tool_name="Glob", tool_input="src/**/*.py")) >= 0.9
    assert ENGINE.detect(Part(text, tool_name="Bash", tool_input="cd repo && git ls-files")) >= 0.9


def test_not_mine():
    prose = "\n".join(f"This paragraph number {i} talks about a topic, with commas and a (parenthesis)." for i in range(40))
    code = "\n".join(["def f(x):", "    return x + 1", "", "class A:", "    pass"] * 10)
    table = "\n".join(["PID  PPID STAT %CPU COMMAND"] + [f"{100 + i:>5} {1:>5} S     0.{i % 9}  python3 worker.py --id {i}" for i in range(40)])
    csv = "\n".join(["date,precipitation,temp_max,temp_min,wind,weather"] + [f"2012-01-{i % 28 + 1:02d},0.{i},12.8,5.0,4.7,drizzle" for i in range(60)])
    jsonish = "\n".join(["{"] + [f'  "key_{i}": "value/{i}",' for i in range(40)] + ["}"])
    for text in (prose, code, table, csv, jsonish, ""):
        assert ENGINE.detect(Part(text)) <= 0.1, text[:200]


# --------------------------------------------------------------------------- synthetic inputs of other formats


def ls_la(n: int = 300, seed: int = 1) -> tuple[str, list[str]]:
    """``ls -la`` of one directory, macOS style (``@`` after the mode, clock times), with oddities."""
    r = random.Random(seed)
    exts = ["py", "py", "py", "md", "json", "txt", "js", "ts", "yml", "cfg"]
    names = sorted({f"module_{r.randint(0, 99999):05d}.{r.choice(exts)}" for _ in range(n)})
    lines = [f"total {n * 8}", "drwxr-xr-x@ 42 alice  staff      1344 Mar  3 09:12 .",
             "drwxr-xr-x  17 alice  staff       544 Feb 28 17:40 .."]
    big = len(names) // 2
    for k, name in enumerate(names):
        size = 987654321 if k == big else r.randint(100, 90000)
        lines.append(f"-rw-r--r--{'@' if k % 2 else ' '} 1 alice  staff  {size:>9} Mar {r.randint(1, 28):>2} "
                     f"{r.randint(0, 23):02d}:{r.randint(0, 59):02d} {name}")
    largest = lines[3 + big]
    link = "lrwxr-xr-x   1 alice  staff        24 Mar  3 09:12 latest -> build/output/latest.bin"
    setuid = "-rwsr-xr-x   1 root   wheel     51200 Jan  9  2023 setuid_helper"
    lines.insert(40, link)
    lines.insert(120, setuid)
    return "\n".join(lines) + "\n", [largest, link, setuid, lines[0]]


def test_ls_la_single_directory():
    text, keep = ls_la()
    check(text, keep, min_saving=0.8)


def test_ls_lh_human_sizes_and_full_time():
    r = random.Random(2)
    lines = ["total 1.2G"]
    for k in range(150):
        size = "1.1G" if k == 77 else f"{r.randint(1, 900)}K"
        lines.append(f"-rw-rw-r-- 1 bob devs {size:>5} 2024-05-{k % 28 + 1:02d} 10:{k % 60:02d}:00.000000000 +0200 "
                     f"data_{k:03d}.parquet")
    text = "\n".join(lines) + "\n"
    check(text, [lines[78], lines[0]], min_saving=0.7)


def ls_recursive(seed: int = 3) -> tuple[str, list[str]]:
    r = random.Random(seed)
    out: list[str] = []
    keep: list[str] = []
    dirs = ["./app", "./app/models", "./app/views", "./node_modules", "./node_modules/left-pad",
            "./node_modules/left-pad/lib", "./tests"]
    for d in dirs:
        out += ["", f"{d}:", f"total {r.randint(10, 90)}", "drwxr-xr-x 3 dev dev 4096 Jan  5 12:00 .",
                "drwxr-xr-x 9 dev dev 4096 Jan  5 12:00 .."]
        files = [f"-rw-r--r-- 1 dev dev {r.randint(100, 9000):>6} Jan {r.randint(1, 28):>2} 12:00 f{k:02d}.rb"
                 for k in range(r.randint(12, 25))]
        if d == "./app/views":
            files[5] = "-rw-r--r-- 1 dev dev 777777 Jan  3 12:00 giant_template.erb"
            keep.append(files[5])
        out += files
        if not d.startswith("./node_modules/"):
            keep.append(f"{d}:")
    return "\n".join(out[1:]) + "\n", keep


def test_ls_recursive_sections_and_vendored():
    text, keep = ls_recursive()
    result = check(text, keep, min_saving=0.6)
    assert "node_modules entries" in result.text  # the vendored tree folds to a count
    assert "./node_modules/left-pad/lib:" not in result.text


def test_ls_recursive_query_names_a_section():
    text, _ = ls_recursive()
    section = [ln for ln in text.split("\n\n") if ln.startswith("./tests:")][0].split("\n")
    result = check(text, section, query="what is in ./tests ?")
    assert all(line in result.text for line in section)


def find_output(seed: int = 4) -> str:
    r = random.Random(seed)
    lines = ["."]
    for d in ["src", "src/core", "src/util", "tests", "docs", "node_modules", "node_modules/lodash",
              "node_modules/react/cjs"]:
        lines.append("./" + d)
        for k in range(r.randint(30, 60) if "node_modules" in d else r.randint(12, 40)):
            lines.append(f"./{d}/file_{k:03d}.{r.choice(['ts', 'ts', 'js'])}")
    lines.insert(30, "./src/core/SecretsVaultAdapter.go")
    return "\n".join(lines) + "\n"


def test_find_output():
    text = find_output()
    result = check(text, ["./src/core", "./tests", "./node_modules", "./src/core/SecretsVaultAdapter.go"],
                   min_saving=0.6)
    assert "node_modules entries" in result.text
    assert "./node_modules/lodash/file_000.ts" not in result.text


def test_find_query_keeps_a_named_file():
    text = find_output()
    name = "./tests/file_007.js" if "./tests/file_007.js" in text else "./tests/file_007.ts"
    plain, _ = compress(text)
    assert plain is not None and name not in plain.text
    check(text, [name], query="where is file_007 in tests?")


def test_query_reaches_into_a_vendored_tree():
    text = find_output()
    name = "./node_modules/lodash/file_003.ts" if "./node_modules/lodash/file_003.ts" in text else \
        "./node_modules/lodash/file_003.js"
    plain, _ = compress(text)
    assert plain is not None and name not in plain.text
    check(text, [name], query="which lodash file_003 is installed?")


def test_git_ls_files_and_permission_errors():
    r = random.Random(5)
    words = ["core", "util", "api", "models", "views", "handlers", "internal"]
    paths = sorted({f"pkg/{r.choice(words)}/{r.choice(words)}/{r.choice(words)}_{k}.go" for k in range(600)})
    text = "\n".join(paths) + "\n"
    check(text, [paths[0], paths[-1]], min_saving=0.7)
    errors = [f"find: '/proc/{k}/fd': Permission denied" for k in range(40)]
    text2 = "\n".join(paths[:100] + errors + paths[100:]) + "\n"
    result = check(text2, [errors[0]])
    assert "permission errors" in result.text


def test_egg_info_inside_a_longer_directory_name_is_not_vendored():
    # "pkg.egg-info-old" holds ".egg-info" but is no egg-info directory: its files are listed like any
    # others (this once raised StopIteration looking for the vendored component)
    paths = [f"./pkg.egg-info-old/notes/entry_{k:03d}.txt" for k in range(40)]
    paths += [f"./build/pkg.egg-info/file_{k:02d}.txt" for k in range(20)]
    text = "\n".join(["./pkg.egg-info-old", "./pkg.egg-info-old/notes"] + paths) + "\n"
    result = check(text, [paths[0], paths[39]])
    assert "build entries" in result.text  # a real vendored tree still folds


def tree_ascii(seed: int = 6) -> tuple[str, list[str]]:
    r = random.Random(seed)
    out = ["."]
    dirs = ["app", "lib", "node_modules", "spec"]
    for di, d in enumerate(dirs):
        last_dir = di == len(dirs) - 1
        out.append(("`-- " if last_dir else "|-- ") + d)
        pre = "    " if last_dir else "|   "
        count = 90 if d == "lib" else r.randint(10, 40)
        for j in range(count):
            out.append(pre + ("`-- " if j == count - 1 else "|-- ") + f"item_{j:03d}.rb")
    files = len(out) - len(dirs) - 1
    out += ["", f"{len(dirs)} directories, {files} files"]
    return "\n".join(out) + "\n", [out[-1], "|-- lib", "|-- node_modules", "`-- spec"]


def test_tree_ascii_with_vendored_and_a_long_run():
    text, keep = tree_ascii()
    result = check(text, keep, min_saving=0.4)  # ASCII bars cost fewer tokens than box drawing
    assert "node_modules entries" in result.text
    assert "item_000.rb, item_001.rb" in result.text  # leaves share a line


def test_tree_long_run_keeps_ends_outliers_and_fits_a_budget():
    lines = ["pkg"]
    names = [f"op_{k:03d}.ts" for k in range(400)]
    names[150] = "op_with_a_remarkably_long_descriptive_name.ts"
    names[260] = "op_260.json"
    for k, name in enumerate(names):
        lines.append(f"{'└' if k == 399 else '├'}── {name}")
    lines += ["", "0 directories, 400 files"]
    text = "\n".join(lines) + "\n"
    result = check(text, ["op_000.ts", "op_399.ts", names[150], names[260], lines[-1]], min_saving=0.7)
    assert result.omitted > 300
    assert "lines omitted (" in result.text and ".ts files" in result.text


def test_tree_small_is_lossless():
    lines = ["proj"]
    for d in ("docs", "src"):
        lines.append(f"├── {d}")
        for k in range(6):
            lines.append(f"│   {'└' if k == 5 else '├'}── {d}_page_{k}.md")
    lines.append("└── README.md")
    lines += ["", "2 directories, 13 files"]
    text = "\n".join(lines) + "\n"
    result = check(text, ["2 directories, 13 files", "docs_page_3.md", "├── src"], lossless=True)
    assert "│   └── docs_page_0.md, docs_page_1.md" in result.text


def test_tree_with_sizes_symlinks_and_commas():
    lines = ["."]
    for k in range(40):
        lines.append(f"├── [{k * 1000:>8}]  chunk_{k:02d}.bin")
    lines.append("├── [      42]  link -> chunk_00.bin")
    lines.append("├── [     100]  odd, name.txt")
    lines.append("└── [     100]  last.txt")
    lines += ["", "0 directories, 43 files"]
    text = "\n".join(lines) + "\n"
    result = check(text, ["├── [     100]  odd, name.txt", "0 directories, 43 files"])
    assert "chunk_00.bin, " in result.text


def test_tree_ansi_colours_fold_without_compacting():
    lines = ["\x1b[01;34m.\x1b[0m"]
    for d in range(3):
        lines.append(f"├── \x1b[01;34mdir{d}\x1b[0m")
        for k in range(90):
            lines.append(f"│   {'└' if k == 89 else '├'}── file_{d}_{k:02d}.txt")
    lines += ["", "3 directories, 270 files"]
    text = "\n".join(lines) + "\n"
    check(text, ["3 directories, 270 files", lines[1]])


def test_npm_ls_tree():
    lines = ["myapp@1.0.0 /srv/myapp"]
    for k in range(40):
        last = k == 39
        lines.append(("└─┬ " if last else "├─┬ ") + f"pkg{k}@1.{k}.0")
        pre = "  " if last else "│ "
        for j in range(8):
            lines.append(pre + ("└── " if j == 7 else "├── ") + f"dep{k}-{j}@0.{j}.1")
    text = "\n".join(lines) + "\n"
    result = check(text, ["├─┬ pkg17@1.17.0", "dep17-3@0.3.1"], min_saving=0.1)  # 2-column bars: little to drop
    assert result.omitted == 0


def git_log_graph(seed: int = 7) -> tuple[str, list[str]]:
    r = random.Random(seed)
    out: list[str] = []
    notable = []
    for k in range(300):
        h = "%07x" % r.getrandbits(28)
        if k == 0:
            out.append(f"* {h} (HEAD -> main, origin/main) Update README wording")
        elif k % 60 == 0:
            out.append(f"*   {h} Merge pull request #{k} from team/feature-{k}")
            out.append("|\\  ")
            notable.append(out[-2])
        elif k == 150:
            out.append(f"* {h} Fix SQL injection in search endpoint (CVE-2024-3094)")
            notable.append(out[-1])
        elif k == 200:
            out.append(f"* {h} (tag: v3.2.0) Release 3.2.0")
            notable.append(out[-1])
        elif k == 250:
            out.append(f'* {h} Revert "Use the new cache backend"')
            notable.append(out[-1])
        else:
            out.append(f"* {h} {r.choice(['Tweak', 'Refactor', 'Update', 'Improve', 'Clean up'])} "
                       f"{r.choice(['parser', 'logging', 'cache', 'tests', 'docs'])} {r.choice(['handling', 'layout'])}")
    return "\n".join(out) + "\n", notable + [out[0]]


def test_git_log_graph_keeps_notable_commits():
    text, keep = git_log_graph()
    result = check(text, keep, min_saving=0.75)
    assert "commits" in result.text


def test_git_log_plain_subjects_and_tickets():
    r = random.Random(8)
    lines = [f"{r.getrandbits(40):010x} {r.choice(['net', 'mm', 'fs'])}: {r.choice(['fix', 'tidy', 'rework'])} "
             f"{r.choice(['locking', 'refcount', 'error path'])}" for _ in range(400)]
    lines[123] = f"{r.getrandbits(40):010x} fs: fix use-after-free in inode eviction (PROJ-8812)"
    lines[321] = f"{r.getrandbits(40):010x} Bump version to 6.2.0"
    lines[200] = f"{r.getrandbits(40):010x} (tag: v6.1.0) fs: tidy locking"  # git log --decorate
    text = "\n".join(lines) + "\n"
    check(text, [lines[0], lines[123], lines[200], lines[321], lines[-1]], min_saving=0.8)


def test_git_log_security_words():
    r = random.Random(16)
    lines = [f"{r.getrandbits(28):07x} fix(ui): adjust {r.choice(['spacing', 'colours', 'icons'])}" for _ in range(200)]
    lines[50] = f"{r.getrandbits(28):07x} fix(api): sanitize redirect targets to stop an open redirect"
    lines[90] = f"{r.getrandbits(28):07x} fix(auth): prevent auth bypass with empty tokens"
    text = "\n".join(lines) + "\n"
    check(text, [lines[50], lines[90]], min_saving=0.8)


def test_git_log_common_rule_is_not_notable():
    """When every commit names a ticket, a ticket is routine: the log still folds."""
    r = random.Random(9)
    lines = [f"{r.getrandbits(28):07x} ABC-{1000 + k}: {r.choice(['add', 'fix', 'tidy'])} widget" for k in range(300)]
    result = check("\n".join(lines) + "\n", [lines[0]], min_saving=0.8)
    assert result.omitted > 250


def test_git_log_query():
    text, _ = git_log_graph()
    line = [ln for ln in text.splitlines() if "Clean up docs layout" in ln][3]
    sha = line.split()[1]
    plain, _ = compress(text)
    assert plain is not None and line not in plain.text
    check(text, [line], query=f"what did {sha} change?")


def test_git_status_short():
    lines = ["## feature/login...origin/feature/login [ahead 2]"]
    lines += [f" M src/app/mod_{k}.py" for k in range(12)]
    lines += ["UU src/app/conflicted.py", "D  docs/old.md", "R  lib/a.py -> lib/b.py"]
    lines += [f"?? build/tmp/cache_{k}.o" for k in range(200)]
    lines += [f"?? scratch/notes_{k}.txt" for k in range(40)]
    text = "\n".join(lines) + "\n"
    result = check(text, lines[:2] + ["UU src/app/conflicted.py", "D  docs/old.md", "R  lib/a.py -> lib/b.py"],
                   min_saving=0.7)
    assert "untracked" in result.text


def test_git_status_long():
    lines = ["On branch main", "Changes not staged for commit:",
             '  (use "git add <file>..." to update what will be committed)', ""]
    lines += [f"\tmodified:   src/mod_{k}.py" for k in range(30)]
    lines += ["\tdeleted:    src/gone.py", "", "Untracked files:",
              '  (use "git add <file>..." to include in what will be committed)']
    lines += [f"\tscratch/tmp_{k}.txt" for k in range(60)]
    lines += ["", 'no changes added to commit (use "git add" and/or "git commit -a")']
    text = "\n".join(lines) + "\n"
    assert ENGINE.detect(Part(text)) >= 0.8
    check(text, ["On branch main", "\tdeleted:    src/gone.py", "Untracked files:", lines[-1]], min_saving=0.5)


def test_du():
    r = random.Random(10)
    lines = [f"{r.randint(4, 900)}K\t./pkg/mod_{k}" for k in range(200)]
    lines.insert(57, "3.4G\t./pkg/huge_dataset")
    lines.insert(90, "1.1G\t./node_modules")
    lines.append("4.6G\t.")
    text = "\n".join(lines) + "\n"
    assert ENGINE.detect(Part(text)) >= 0.8
    check(text, ["3.4G\t./pkg/huge_dataset", "1.1G\t./node_modules", "4.6G\t."], min_saving=0.6)


def test_windows_dir():
    r = random.Random(20)
    out = [" Volume in drive C has no label.", " Volume Serial Number is 1A2B-3C4D", ""]
    for d in ["C:\\proj", "C:\\proj\\src", "C:\\proj\\docs"]:
        out += [f" Directory of {d}", "", "10/17/2024  02:04 PM    <DIR>          .",
                "10/17/2024  02:04 PM    <DIR>          .."]
        for k in range(r.randint(15, 30)):
            size = 9_284_758 if (d.endswith("src") and k == 7) else r.randint(100, 99999)
            out.append(f"10/{r.randint(10, 28)}/2024  {r.randint(1, 12):02d}:{r.randint(0, 59):02d} "
                       f"{'AM' if k % 2 else 'PM'} {size:>17,} file_{k:02d}.cs")
        out += [f"              {k + 1} File(s)        {r.randint(10**5, 10**6):,} bytes", ""]
    out += ["     Total Files Listed:", "              70 File(s)     12,345,678 bytes",
            "               9 Dir(s)  100,000,000,000 bytes free"]
    text = "\n".join(out) + "\n"
    assert ENGINE.detect(Part(text)) >= 0.8
    largest = [ln for ln in out if "9,284,758" in ln][0]
    check(text, [largest, " Directory of C:\\proj\\src", out[-1]], min_saving=0.6)


def test_archive_listings():
    r = random.Random(21)
    unzip = ["Archive:  dist/app-1.0.0-py3-none-any.whl", "  Length      Date    Time    Name",
             "---------  ---------- -----   ----"]
    for k in range(150):
        size = 2_500_000 if k == 99 else r.randint(100, 40000)
        unzip.append(f"{size:>9}  2024-10-{r.randint(10, 28)} 14:{r.randint(10, 59)}   app/pkg{k // 20}/mod_{k}.py")
    unzip += ["---------                     -------", "  3456789                     150 files"]
    text = "\n".join(unzip) + "\n"
    assert ENGINE.detect(Part(text)) >= 0.8
    check(text, [unzip[102], unzip[-1], unzip[0]], min_saving=0.6)
    tar = [f"-rw-r--r-- build/staff {7_777_777 if k == 133 else r.randint(100, 40000):>8} 2024-10-{r.randint(10, 28)} "
           f"14:{r.randint(10, 59)} pkg-1.0/src/m{k // 25}/f_{k}.c" for k in range(200)]
    text = "\n".join(tar) + "\n"
    assert ENGINE.detect(Part(text)) >= 0.8
    check(text, [tar[133], tar[0], tar[-1]], min_saving=0.8)


def test_eza_long_listing():
    r = random.Random(23)
    lines = [f".rw-r--r-- {'2.1G' if k == 44 else str(r.randint(1, 999)) + 'k':>5} dev {r.randint(1, 28):>2} Oct "
             f"14:{r.randint(10, 59)} item_{k:03d}.log" for k in range(120)]
    text = "\n".join(lines) + "\n"
    assert ENGINE.detect(Part(text)) >= 0.8
    check(text, [lines[44]], min_saving=0.8)


def test_crlf_and_read_of_a_listing():
    text, keep = ls_la(120, seed=11)
    crlf = text.replace("\n", "\r\n")
    result, part_id = compress(crlf)
    assert result is not None
    assert reconstruct(crlf, result.text, part_id) == crlf
    assert keep[0] + "\r" in result.text
    assert ENGINE.detect(Part(text, tool_name="Read", tool_input="/tmp/listing.txt")) <= 0.6


# --------------------------------------------------------------------------- edges, time, speed


@pytest.mark.parametrize("text", ["", "\n", "   \n\n", "total 0\n", "a\nb\nc\n", "\x00\x01\x02" * 500,
                                  "├── \n" * 30, "-rw-r--r--\n" * 40, ("abcdef1 x\n" * 5)])
def test_edges_return_none_or_shorter(text):
    result, part_id = compress(text)
    if result is not None:
        assert len(result.text) < len(text)
        assert reconstruct(text, result.text, part_id) == text


def test_nothing_worth_folding_returns_none():
    text = "\n".join(f"-rw-r--r-- 1 a a {k} Jan  1  2024 f{k}" for k in range(8)) + "\n"
    assert compress(text)[0] is None  # under the size worth working on
    lines = [f"./src/only_{k}.py" for k in range(14)]
    result, _ = compress("\n".join(lines) + "\n")
    assert result is None or len(result.text) < len("\n".join(lines) + "\n")


def test_random_lines_never_raise():
    r = random.Random(12)
    alphabet = "abc/._- \t|`├└│─0123456789:()[]*\\"
    for _ in range(200):
        text = "\n".join("".join(r.choice(alphabet) for _ in range(r.randint(0, 40))) for _ in range(r.randint(0, 60)))
        result, part_id = compress(text)
        if result is not None:
            assert len(result.text) < len(text)
            assert reconstruct(text, result.text, part_id) == text


def test_deadline_passed_raises_timeout():
    text = big_ls_recursive()
    with pytest.raises(EngineTimeout):
        ENGINE.compress(Part(text), Context(part_id=ccr_id(text), deadline=deadline_after(-1)))


def big_ls_recursive(target: int = 200_000, seed: int = 13) -> str:
    r = random.Random(seed)
    out: list[str] = []
    while sum(map(len, out)) < target:
        path = "./" + "/".join(f"dir{r.randint(0, 30)}" for _ in range(r.randint(1, 4)))
        out += ["", f"{path}:", f"total {r.randint(10, 500)}", "drwxr-xr-x  2 dev dev 4096 Oct 17  2024 .",
                "drwxr-xr-x  9 dev dev 4096 Oct 17  2024 .."]
        for k in range(r.randint(3, 40)):
            out.append(f"-rw-r--r--  1 dev dev {r.randint(10, 99999):>6} Oct {r.randint(1, 28):>2}  2024 "
                       f"file_{k}.{r.choice(['c', 'h', 'py', 'txt'])}")
    return "\n".join(out[1:]) + "\n"


def big_tree(target: int = 200_000, seed: int = 14) -> str:
    r = random.Random(seed)
    out = ["."]

    def walk(pre: str, depth: int) -> None:
        count = r.randint(2, 30)
        for j in range(count):
            if sum(map(len, out[-50:])) and len(out) * 28 > target:
                return
            last = j == count - 1
            is_dir = depth < 4 and r.random() < 0.15
            out.append(pre + ("└── " if last else "├── ") + (f"dir_{depth}_{j}" if is_dir else f"file_{j}.ts"))
            if is_dir:
                walk(pre + ("    " if last else "│   "), depth + 1)

    while len(out) * 28 < target:
        walk("", 0)
    out += ["", "999 directories, 9999 files"]
    return "\n".join(out) + "\n"


def big_log(target: int = 200_000, seed: int = 15) -> str:
    r = random.Random(seed)
    out: list[str] = []
    size = 0
    while size < target:
        out.append("%07x %s(%s): %s %s" % (r.getrandbits(28), r.choice(["feat", "fix", "chore", "docs"]),
                                          r.choice(["api", "db", "ui"]), r.choice(["add", "fix", "tidy"]),
                                          r.choice(["cache", "parser", "login flow", "exports"])))
        size += len(out[-1]) + 1
    return "\n".join(out) + "\n"


@pytest.mark.parametrize("make", [big_ls_recursive, big_tree, big_log], ids=["ls-laR", "tree", "git-log"])
def test_200kb_recoverable_and_smaller(make):
    # speed on big parts is measured by scripts/bench_engine_latency.py, not timed here
    text = make()
    assert len(text) >= 180_000
    result = ENGINE.compress(Part(text), Context(part_id=ccr_id(text), deadline=deadline_after(60)))
    assert result is not None
    assert reconstruct(text, result.text, ccr_id(text)) == text
    assert count_tokens(result.text) <= 0.6 * count_tokens(text)
