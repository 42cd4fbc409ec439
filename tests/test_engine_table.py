"""The table engine: headers and telling rows survive as their original lines, markers expand back exactly."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from headroom_cli import engines
from headroom_cli.engines.base import Context, deadline_after, EngineTimeout, Part, Result
from headroom_cli.engines.table import columns, TableEngine
from headroom_cli.engines.table.find import find_tables
from headroom_cli.engines.table.model import Doc
from headroom_cli.focus import Focus
from headroom_cli.markers import MARKER_RE, ccr_id
from headroom_cli.tokens import count_tokens

from marker_checks import expand_markers, inexact_markers, markers_in

ENGINE = TableEngine()
MIN_SAVING = 0.40  # the kind's target, over all table samples together

# --------------------------------------------------------------------------- helpers


def compress(text: str, deadline_s: float = 60, **part_kw) -> tuple[Result | None, str]:
    part_id = ccr_id(text)
    result = ENGINE.compress(Part(text, **part_kw), Context(part_id=part_id, deadline=deadline_after(deadline_s)))
    return result, part_id


def assert_lines_are_original(text: str, out: str) -> None:
    """Every output line is an original line, byte for byte (padding included), or a marker."""
    original = set(text.split("\n"))
    for line in out.split("\n"):
        assert line in original or MARKER_RE.fullmatch(line), line


def check(text: str, needles: list[str], *, min_saving: float | None = None, lossless: bool = False,
          **part_kw) -> Result:
    """The properties every compression must have; returns the result for further checks."""
    result, part_id = compress(text, **part_kw)
    assert result is not None, "expected the engine to compress this"
    out = result.text
    assert result.kind == "table"
    missing = [n for n in needles if n not in out]
    assert not missing, f"needles lost: {missing}\n---\n{out}"
    assert len(out) < len(text)
    marks = markers_in(out, part_id)
    assert result.omitted == sum(int(m["b"]) - int(m["a"]) + 1 for m in marks)
    if lossless:
        assert not marks and result.omitted == 0
    assert expand_markers(text, out, part_id) == text, "markers do not expand back to the original"
    assert not inexact_markers(text, out, part_id)
    again, _ = compress(text, **part_kw)
    assert again is not None and again.text == out, "not deterministic"
    if min_saving is not None:
        before, after = count_tokens(text), count_tokens(out)
        assert after <= (1 - min_saving) * before, f"tokens {before} -> {after} ({1 - after / before:.1%} saved)"
    return result


# --------------------------------------------------------------------------- the corpus


def _table_entries(needles: list[dict]) -> list[dict]:
    entries = [e for e in needles if e["kind"] == "table"]
    assert len(entries) >= 4
    return entries


def test_registered():
    assert engines.get("table") is not None
    assert engines.get("table").name == "table"


@pytest.mark.parametrize("with_query", [True, False])
def test_corpus_samples_keep_needles_and_save_tokens(corpus_dir, needles, with_query):
    before = after = 0
    report = []
    for entry in _table_entries(needles):
        text = (corpus_dir / entry["file"]).read_text()
        assert ENGINE.detect(Part(text)) >= 0.8, entry["file"]
        query = entry["query"] if with_query else None
        result = check(text, entry["needles"], query=query)
        assert result.omitted > 0, entry["file"]
        b, a = count_tokens(text), count_tokens(result.text)
        before, after = before + b, after + a
        report.append(f"{entry['file']:40s} {b:6d} -> {a:6d} ({1 - a / b:.1%} saved)")
        assert a < b, entry["file"]
    assert after <= (1 - MIN_SAVING) * before, "\n".join(report)


def test_corpus_tables_keep_rows_as_original_lines(corpus_dir, needles):
    """Kept rows, headers and rules are the original lines, byte for byte, box tables' too (a needle may
    span padded columns)."""
    for entry in _table_entries(needles):
        text = (corpus_dir / entry["file"]).read_text()
        result, _ = compress(text)
        assert_lines_are_original(text, result.text)


def test_corpus_other_kinds_are_not_mine(corpus_dir, needles):
    for entry in needles:
        if entry["kind"] == "table":
            continue
        text = (corpus_dir / entry["file"]).read_text()
        assert ENGINE.detect(Part(text)) <= 0.1, entry["file"]


def test_every_corpus_sample_is_safe_when_forced(corpus_dir, needles):
    """Told any sample is a table, the engine never raises and its markers still expand back."""
    for entry in needles:
        text = (corpus_dir / entry["file"]).read_text()
        result, part_id = compress(text, kind_hint="table")
        if result is None:
            continue
        assert len(result.text) < len(text)
        assert expand_markers(text, result.text, part_id) == text, entry["file"]


def test_kind_hint():
    assert ENGINE.detect(Part("a few words\n", kind_hint="table")) == 1.0
    assert ENGINE.detect(Part("a,b\n1,2\n", kind_hint="logs")) == 0.0


# --------------------------------------------------------------------------- synthetic generators


def pad_table(header: list[str], rows: list[list[str]], aligns: list[str] | None = None, sep: str = "   ") -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    aligns = aligns or ["<"] * len(header)
    out = []
    for row in [header] + rows:
        out.append(sep.join(f"{str(v):{a}{w}}" for v, w, a in zip(row, widths, aligns)).rstrip())
    return "\n".join(out) + "\n"


def gen_docker_ps(n: int = 60, seed: int = 1):
    rng = random.Random(seed)
    images = ["nginx:1.25-alpine", "postgres:15", "redis:7", "myorg/api:2.3.1", "myorg/worker:2.3.1"]
    bad = rng.randrange(5, n - 5)
    rows = []
    for i in range(n):
        img = rng.choice(images)
        status = f"Up {rng.randint(2, 9)} hours" if i != bad else "Exited (137) 4 minutes ago"
        ports = f"0.0.0.0:{8000 + i}->80/tcp" if img.startswith("nginx") else ""
        rows.append([f"{rng.getrandbits(48):012x}", img, '"/docker-entrypoint…"', f"{rng.randint(2, 9)} hours ago",
                     status, ports, f"svc_{i}"])
    text = pad_table(["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"], rows)
    bad_line = text.split("\n")[bad + 1]
    return text, [bad_line, "CONTAINER ID"], "Which container exited?", []


def gen_kubectl(n: int = 80, seed: int = 2):
    rng = random.Random(seed)
    bad = rng.randrange(5, n - 5)
    rows = []
    for i in range(n):
        name = f"{rng.choice(['api', 'web', 'worker'])}-{rng.getrandbits(32):08x}-{rng.getrandbits(20):05x}"
        row = [rng.choice(["default", "payments", "search"]), name, "1/1", "Running", "0", f"{rng.randint(1, 30)}d"]
        if i == bad:
            row[2:5] = ["0/1", "CrashLoopBackOff", "47 (2m ago)"]
        rows.append(row)
    text = pad_table(["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE"], rows)
    return text, [rows[bad][1], "CrashLoopBackOff", "NAMESPACE"], "Which pod keeps restarting?", []


def gen_df(n: int = 30, seed: int = 3):
    rng = random.Random(seed)
    bad = rng.randrange(3, n - 3)
    rows = []
    for i in range(n):
        size = rng.choice([20, 50, 100, 200])
        pct = rng.randint(5, 60) if i != bad else 98
        used = size * pct / 100
        rows.append([f"/dev/sd{chr(97 + i % 26)}{i}", f"{size}G", f"{used:.1f}G", f"{size - used:.1f}G", f"{pct}%",
                     f"/mnt/vol{i}"])
    text = pad_table(["Filesystem", "Size", "Used", "Avail", "Use%", "Mounted on"], rows,
                     ["<", ">", ">", ">", ">", "<"], " ")
    return text, [text.split("\n")[bad + 1]], "Which filesystem is almost full?", []


def gen_netstat(n: int = 120, seed: int = 4):
    rng = random.Random(seed)
    bad = rng.randrange(5, n - 5)
    rows = []
    for i in range(n):
        state = "SYN_SENT" if i == bad else "ESTABLISHED" if rng.random() < 0.8 else "TIME_WAIT"
        rows.append(["tcp", "0", "0", f"10.0.0.5:{rng.randint(30000, 60000)}",
                     f"10.0.{rng.randint(0, 9)}.{rng.randint(1, 254)}:5432", state])
    title = "Active Internet connections (w/o servers)"
    text = title + "\n" + pad_table(["Proto", "Recv-Q", "Send-Q", "Local Address", "Foreign Address", "State"], rows,
                                    sep="  ")
    return text, [title, text.split("\n")[bad + 2]], "Any connection stuck?", []


def gen_ps_aux(n: int = 150, seed: int = 5):
    rng = random.Random(seed)
    bad = rng.randrange(5, n - 5)
    rows = []
    for i in range(n):
        stat, cmd, cpu = "Sl", f"/usr/bin/python3 -m celery worker -Q q{i % 5} --concurrency=4", f"{rng.uniform(0, 3):.1f}"
        if i == bad:
            stat, cmd, cpu = "Z", "[celery] <defunct>", "0.0"
        rows.append(["app", str(1000 + 7 * i), cpu, f"{rng.uniform(0, 2):.1f}", str(rng.randint(100000, 900000)),
                     str(rng.randint(20000, 90000)), "?", stat, "09:12", "0:03", cmd])
    text = pad_table(["USER", "PID", "%CPU", "%MEM", "VSZ", "RSS", "TTY", "STAT", "START", "TIME", "COMMAND"], rows,
                     ["<", ">", ">", ">", ">", ">", "<", "<", "<", ">", "<"], " ")
    return text, [text.split("\n")[bad + 1]], "Which process is a zombie?", []


def gen_pip_list(n: int = 80, seed: int = 6):
    rng = random.Random(seed)
    rows = [[f"package-{i:03d}", f"{rng.randint(0, 5)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}"] for i in range(n)]
    rows[n // 2] = ["requests", "2.31.0"]
    width = max(len(r[0]) for r in rows)
    lines = [f"{'Package':<{width}} Version", "-" * width + " " + "-" * 7] + [f"{a:<{width}} {b}" for a, b in rows]
    target = lines[n // 2 + 2]
    return "\n".join(lines) + "\n", ["Package", "-" * width], "Which version of requests is installed?", [target]


JOB_HEADER = ["job", "service", "region", "calls", "latency_ms", "error_pct"]


def _job_rows(rng: random.Random, n: int, bad: int) -> list[list[str]]:
    rows = []
    for i in range(n):
        lat, err = round(rng.gauss(120, 15), 1), round(abs(rng.gauss(0.5, 0.2)), 2)
        if i == bad:
            lat, err = 9321.5, 41.07
        rows.append([f"job-{10000 + i}", rng.choice(["auth", "billing", "search", "catalog"]), "eu-west-1",
                     str(rng.randint(100, 999)), str(lat), str(err)])
    return rows


def gen_psql(n: int = 100, seed: int = 7):
    rng = random.Random(seed)
    bad = rng.randrange(5, n - 5)
    rows = _job_rows(rng, n, bad)
    widths = [max(len(x) for x in col) for col in zip(JOB_HEADER, *rows)]
    head = " " + " | ".join(h.center(w) for h, w in zip(JOB_HEADER, widths))
    sep = "-" + "-+-".join("-" * w for w in widths) + "-"
    body = [" " + " | ".join(v.rjust(w) if v[0].isdigit() else v.ljust(w) for v, w in zip(r, widths)) for r in rows]
    text = "\n".join([head, sep] + body + [f"({n} rows)", ""])
    return text, [rows[bad][0], "9321.5", "41.07", f"({n} rows)", "latency_ms"], "Which job has a high error rate?", []


def gen_markdown(n: int = 60, seed: int = 8):
    rng = random.Random(seed)
    bad = rng.randrange(5, n - 5)
    lines = ["## Nightly results", "", "| test | status | duration |", "|------|:------:|---------:|"]
    lines += [f"| test_case_{i:03d} | {'FAILED' if i == bad else 'passed'} | {rng.uniform(0.1, 2):.2f}s |" for i in range(n)]
    lines += ["", "Generated by nightly.py"]
    return ("\n".join(lines) + "\n", [f"test_case_{bad:03d}", "FAILED", "## Nightly results", "Generated by nightly.py"],
            "Which test failed?", [])


def gen_rich(n: int = 70, seed: int = 9):
    rng = random.Random(seed)
    bad = rng.randrange(5, n - 5)
    rows = [[f"node-{i:02d}", "ready", "99.7" if i == bad else f"{rng.uniform(10, 40):.1f}",
             f"{rng.randint(2, 8)}.{rng.randint(0, 9)}Gi", "v1.29.3"] for i in range(n)]
    hdr = ["Host", "State", "CPU %", "Memory", "Kubelet"]
    w = [max(len(x) for x in col) for col in zip(hdr, *rows)]
    lines = [" " * 10 + "Cluster nodes", "┏" + "┳".join("━" * (x + 2) for x in w) + "┓",
             "┃" + "┃".join(f" {v:<{x}} " for v, x in zip(hdr, w)) + "┃",
             "┡" + "╇".join("━" * (x + 2) for x in w) + "┩"]
    lines += ["│" + "│".join(f" {v:<{x}} " for v, x in zip(r, w)) + "│" for r in rows]
    lines.append("└" + "┴".join("─" * (x + 2) for x in w) + "┘")
    return "\n".join(lines) + "\n", [f"node-{bad:02d}", "99.7", "Cluster nodes", "Kubelet"], "Which node is hot?", []


def gen_mysql(n: int = 90, seed: int = 10):
    rng = random.Random(seed)
    bad = rng.randrange(5, n - 5)
    rows = _job_rows(rng, n, bad)
    w = [max(len(x) for x in col) for col in zip(JOB_HEADER, *rows)]
    border = "+" + "+".join("-" * (x + 2) for x in w) + "+"

    def fmt(r: list[str]) -> str:
        return "|" + "|".join(f" {v:<{x}} " for v, x in zip(r, w)) + "|"

    lines = ["mysql> SELECT * FROM jobs;", border, fmt(JOB_HEADER), border] + [fmt(r) for r in rows]
    lines += [border, f"{n} rows in set (0.01 sec)"]
    return "\n".join(lines) + "\n", [rows[bad][0], "9321.5", "41.07", "eu-west-1"], "Which job is slow?", []


def gen_tsv(n: int = 300, seed: int = 11):
    rng = random.Random(seed)
    bad = rng.randrange(5, n - 5)
    lines = ["\t".join(JOB_HEADER)] + ["\t".join(r) for r in _job_rows(rng, n, bad)]
    return "\n".join(lines) + "\n", [lines[0], lines[bad + 1]], "Which job failed?", []


def gen_csv_quoted(n: int = 200, seed: int = 12):
    rng = random.Random(seed)
    bad = rng.randrange(10, n - 5)
    lines = ["id,customer,note,amount,currency"]
    for i in range(n):
        amount = f"{rng.uniform(10, 200):.2f}" if i != bad else "-3120.00"
        note = '"multi\nline note, with comma"' if i == 7 else f'"Order for {rng.choice(["Smith, J.", "Lee, K."])}"'
        lines.append(f"{1000 + i},cust-{rng.randint(1, 50)},{note},{amount},EUR")
    bad_row = lines[bad + 1]
    return "\n".join(lines) + "\n", [lines[0], bad_row], "Any refunds?", []


def gen_ps_forest(n: int = 40, seed: int = 13):
    rng = random.Random(seed)
    lines = ["  PID  PPID STAT %CPU COMMAND", " 4000     1 Ss    0.0 supervisord"]
    busy = rng.randrange(5, n - 5)
    for i in range(n):
        cpu = "97.3" if i == busy else f"{rng.uniform(0, 1):.1f}"
        lines.append(f"{4001 + i:5d}  4000 S    {cpu:>4} \\_ php-fpm: pool www{' --hot' if i == busy else ''}")
    return "\n".join(lines) + "\n", [lines[busy + 2], lines[1]], "Which php worker burns CPU?", []


GENERATORS = {
    "docker_ps": gen_docker_ps, "kubectl": gen_kubectl, "df": gen_df, "netstat": gen_netstat, "ps_aux": gen_ps_aux,
    "ps_forest": gen_ps_forest, "pip_list": gen_pip_list, "psql": gen_psql, "markdown": gen_markdown,
    "rich": gen_rich, "mysql": gen_mysql, "tsv": gen_tsv, "csv_quoted": gen_csv_quoted,
}


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_synthetic_formats(name):
    """Every shape, box-drawn ones included, keeps its rows as the original lines: nothing is redrawn."""
    text, always, query, with_query = GENERATORS[name]()
    assert ENGINE.detect(Part(text)) >= 0.8, name
    result = check(text, always, min_saving=0.3)
    assert_lines_are_original(text, result.text)
    check(text, always + with_query, query=query)


@pytest.mark.parametrize("seed", range(6))
def test_synthetic_anomaly_anywhere(seed):
    """The outlier is kept wherever the seed puts it, in each shape."""
    for gen in (gen_kubectl, gen_mysql, gen_tsv, gen_ps_aux, gen_rich):
        text, always, _, _ = gen(seed=100 + seed)
        result, _ = compress(text)
        assert result is not None
        assert all(n in result.text for n in always), (gen.__name__, seed)


def test_query_keeps_matching_rows():
    text, _, _, _ = gen_kubectl()
    name = text.split("\n")[30].split()[1]
    without, _ = compress(text)
    with_q, _ = compress(text, query=f"What is the age of {name}?")
    assert name not in without.text
    assert name in with_q.text


def test_query_names_a_column():
    rng = random.Random(3)
    rows = [[f"host{i:02d}", f"{rng.uniform(10, 20):.1f}", f"{rng.uniform(1, 2):.2f}"] for i in range(60)]
    text = pad_table(["HOST", "TEMP", "LOAD"], rows)
    top = sorted(rows, key=lambda r: -float(r[1]))[:3]
    result, _ = compress(text, query="Which hosts run hottest by temp?")
    for row in top:
        assert row[0] in result.text


def test_read_format_csv():
    text, needles, _, _ = gen_tsv()
    numbered = "".join(f"{i:>6}\t{line}\n" for i, line in enumerate(text.splitlines(), 1))
    assert ENGINE.detect(Part(numbered, tool_name="Read", tool_input="/data/jobs.tsv")) >= 0.9
    result = check(numbered, [])
    for needle in needles:
        assert any(needle in line for line in result.text.split("\n"))


def test_crlf_csv():
    text, needles, _, _ = gen_tsv()
    crlf = text.replace("\n", "\r\n")
    check(crlf, [n + "\r" for n in needles])


def test_small_box_table_left_alone():
    """A box table short enough to keep every row is not drawn again: its rows stay as they are."""
    rows = [["a1", "x", "1"], ["a2", "x", "2"], ["a3", "x", "3"], ["a4", "x", "4"], ["a5", "x", "5"]]
    w = [2, 3, 5]
    border = "+" + "+".join("-" * (x + 2) for x in w) + "+"
    lines = [border, "| id | tag | value |", border] + [f"| {a:<2} | {b:<3} | {c:<5} |" for a, b, c in rows] + [border]
    text = "\n".join(lines) + "\n"
    assert compress(text)[0] is None


def test_duplicate_rows_fold():
    w = [6, 4]
    border = "┌" + "┬".join("─" * (x + 2) for x in w) + "┐"
    sep = "├" + "┼".join("─" * (x + 2) for x in w) + "┤"
    end = "└" + "┴".join("─" * (x + 2) for x in w) + "┘"
    body = ["│ alpha  │ 1    │"] * 20 + ["│ beta   │ 2    │", "│ gamma  │ 3    │"]
    text = "\n".join([border, "│ name   │ n    │", sep] + body + [end]) + "\n"
    result = check(text, ["│ alpha  │ 1    │", "│ beta   │ 2    │", "│ name   │ n    │"])
    assert "duplicate row" in result.text and result.text.count("alpha") == 1
    # line-based tables fold duplicates into a marker that says so
    rows = [["web", "200", "GET /"]] * 3 + [["web", "200", "GET /health"]] * 30 + [["web", "500", "GET /crash"]]
    rows += [["web", "200", f"GET /p/{i}"] for i in range(20)]
    lines = ["host,status,request"] + [",".join(r) for r in rows]
    csv_text = "\n".join(lines) + "\n"
    result = check(csv_text, ["web,500,GET /crash", "host,status,request"])
    assert "duplicate row" in result.text


def test_multiple_tables_and_prose():
    a, needles_a, _, _ = gen_kubectl(40)
    b, needles_b, _, _ = gen_df(30)
    text = "$ kubectl get pods -A\n" + a + "\n$ df -h\n" + b + "\ndone.\n"
    result = check(text, needles_a + needles_b + ["$ kubectl get pods -A", "$ df -h", "done."])
    assert result.omitted > 0


def test_small_line_table_left_alone():
    text = pad_table(["NAME", "STATUS", "AGE"], [[f"pod-{i}", "Running", f"{i}d"] for i in range(8)])
    assert compress(text)[0] is None


def test_tool_input_raises_confidence():
    text = pad_table(["NAME", "STATUS", "AGE"], [[f"pod-{i}", "Running", f"{i}d"] for i in range(40)])
    assert ENGINE.detect(Part(text, tool_name="Bash", tool_input="kubectl get pods")) >= 0.9
    assert ENGINE.detect(Part(text, tool_name="Read", tool_input="src/app.py")) <= 0.1


@pytest.mark.parametrize("text", [
    "", "\n", "x", "a,b\n", "a,b\n1,2\n3,4\n", "| a |\n", "+--+\n+--+\n+--+\n+--+\n",
    "┌──┐\n│  │\n│  │\n└──┘\n" * 3, "NAME  AGE\n" + "\n" * 20, "\x00\x01\x02" * 500,
    'a,b,c\n1,"2,3\n4,5,6\n' * 30, "|||\n" * 50, "- | -\n--+--\n" * 30, "│" * 400 + "\n" + "─" * 400,
    "NAME   STATUS\n" + "x\n" * 3,
])
def test_edge_cases_do_not_raise(text):
    result, part_id = compress(text)
    if result is not None:
        assert len(result.text) < len(text)
    ENGINE.detect(Part(text))


def test_random_garbage_never_raises():
    rng = random.Random(5)
    alphabet = "ab1 ,|+-│─┌┐\t\"\n."
    for _ in range(200):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 600)))
        result, part_id = compress(text)
        if result is not None:
            assert len(result.text) < len(text)
        ENGINE.detect(Part(text))


def test_deadline_passed_raises_timeout():
    text, _, _, _ = gen_tsv(2000)
    with pytest.raises(EngineTimeout):
        compress(text, deadline_s=-1)


def _big(gen, target: int = 200_000, **kw) -> str:
    n = 200
    while True:
        text = gen(n=n, **kw)[0]
        if len(text) >= target:
            return text
        n = int(n * target / len(text)) + 10


@pytest.mark.parametrize("gen", [gen_tsv, gen_mysql, gen_ps_aux, gen_rich])
def test_200kb_same_bytes_every_run(gen):
    # speed on big parts is measured by scripts/bench_engine_latency.py, not timed here
    text = _big(gen)
    ctx = Context(part_id=ccr_id(text), deadline=deadline_after(60))
    first = ENGINE.compress(Part(text), ctx)
    assert first is not None and ENGINE.detect(Part(text)) >= 0.5
    assert ENGINE.compress(Part(text), ctx).text == first.text


def test_word_in_a_numeric_column_is_kept():
    rng = random.Random(8)
    rows = [[f"probe-{i:03d}", f"{rng.uniform(20, 40):.1f}ms"] for i in range(80)]
    rows[41][1] = "timeout"
    text = pad_table(["TARGET", "LATENCY", "ZONE"], [r + ["eu"] for r in rows])
    result = check(text, [text.split("\n")[42]])
    assert "probe-041" in result.text


def test_number_with_a_note_counts_as_its_number():
    rng = random.Random(9)
    rows = [[f"web-{i:02d}", "1/1", "Running", "0", f"{rng.randint(1, 9)}d"] for i in range(50)]
    rows[33][3] = "12 (3h ago)"
    text = pad_table(["NAME", "READY", "STATUS", "RESTARTS", "AGE"], rows)
    check(text, [text.split("\n")[34]])


def test_headerless_tsv():
    rows = [[str(4000 + i), f"Fix thing {i}", f"branch-{i}", "OPEN", f"2024-05-{1 + i % 28:02d}"] for i in range(60)]
    rows[17][3] = "CLOSED"
    text = "\n".join("\t".join(r) for r in rows) + "\n"
    assert ENGINE.detect(Part(text, tool_name="Bash", tool_input="gh pr list --state all")) >= 0.8
    check(text, ["\t".join(rows[17])])


def test_rule_under_header_and_grid_tables():
    rng = random.Random(11)
    rows = [[f"t{i}", str(rng.randint(10, 99)), "ok"] for i in range(40)]
    rows[25] = ["t25", "-7", "ok"]
    column = pad_table(["name", "score", "flag"], rows, sep="  ").split("\n")
    column.insert(1, "  ".join("-" * len(x) for x in column[0].split("  ")))  # sqlite3 -column
    text = "\n".join(column)
    assert ENGINE.detect(Part(text)) >= 0.8
    check(text, ["t25   -7"])
    w = [4, 5, 4]
    rule = "+" + "+".join("-" * (x + 2) for x in w) + "+"
    grid = [rule, "| name | score | flag |", rule.replace("-", "=")]
    for r in rows:  # tabulate "grid": a rule under every row
        grid += [f"| {r[0]:<4} | {r[1]:<5} | {r[2]:<4} |", rule]
    text = "\n".join(grid) + "\n"
    check(text, ["| t25  | -7    | ok   |", "| name | score | flag |"])


def test_csv_under_a_command_line():
    text, needles, _, _ = gen_tsv(120)
    text = "$ psql -A -F $'\\t' -c 'select * from jobs'\n" + text
    result = check(text, needles + ["$ psql -A"])
    assert result.text.startswith("$ psql")


def test_marker_labels_stay_parseable():
    rows = [[f"job{i}", "[queued]" if i % 3 else "[done]", str(i)] for i in range(60)]
    text = pad_table(["NAME", "STATE", "N"], rows)
    result, part_id = compress(text)
    marks = markers_in(result.text, part_id)
    assert marks and all("[" not in m["what"] for m in marks)
    assert result.omitted == sum(int(m["b"]) - int(m["a"]) + 1 for m in marks)
    assert expand_markers(text, result.text, part_id) == text


def test_dataframe_prints():
    rng = random.Random(12)
    n = 50
    bad = 31
    vals = [(f"s{i:02d}", rng.randint(1, 9), "x" if i != bad else "y") for i in range(n)]
    vals[bad] = (vals[bad][0], 4417, "y")
    # polars: outer bars │, inner ┆, a dtype row under the names
    w = [5, 6, 5]
    lines = [f"shape: ({n}, 3)", "┌" + "┬".join("─" * (x + 2) for x in w) + "┐",
             "│ " + " ┆ ".join(f"{h:<{x}}" for h, x in zip(["key", "value", "flag"], w)) + " │",
             "│ " + " ┆ ".join(f"{h:<{x}}" for h, x in zip(["---", "---", "---"], w)) + " │",
             "│ " + " ┆ ".join(f"{h:<{x}}" for h, x in zip(["str", "i64", "str"], w)) + " │",
             "╞" + "╪".join("═" * (x + 2) for x in w) + "╡"]
    lines += ["│ " + " ┆ ".join(f"{str(v):<{x}}" for v, x in zip(row, w)) + " │" for row in vals]
    lines.append("└" + "┴".join("─" * (x + 2) for x in w) + "┘")
    text = "\n".join(lines) + "\n"
    assert ENGINE.detect(Part(text)) >= 0.8
    check(text, [lines[6 + bad], "shape: (50, 3)"])
    # pandas: an unnamed index column, right-aligned values, a shape footer
    body = pad_table(["", "key", "value", "flag"], [[str(i), k, str(v), f] for i, (k, v, f) in enumerate(vals)],
                     [">", ">", ">", ">"], "  ")
    text = body + f"\n[{n} rows x 3 columns]\n"
    assert ENGINE.detect(Part(text)) >= 0.8
    check(text, [body.split("\n")[bad + 1], f"[{n} rows x 3 columns]"])


# --------------------------------------------------------------------------- real command outputs

DATA = Path(__file__).parent / "data" / "tables"
# Outputs of programs run on a Linux machine, and public ones (README.md there names the sources).
# Tuned on: dpkg_l, lsof, pip_list, column_t_services. Held out (never tuned on): the rest.
COMPRESSIBLE = ["column_t_services", "dpkg_l", "lsof", "pip_list", "ps_eo", "ss_tan", "top"]
SMALL = ["df_h", "findmnt", "kubectl_get_nodes_wide", "kubectl_get_pods_wide"]  # too few rows to omit any
TWO_ROWS = ["docker_ps_docs", "lsblk"]  # a shouted header over two rows: found, but too small to claim


def _data(name: str) -> str:
    return (DATA / f"{name}.txt").read_text()


@pytest.mark.parametrize("name", COMPRESSIBLE + SMALL)
def test_real_outputs_are_detected(name):
    text = _data(name)
    assert ENGINE.detect(Part(text)) >= 0.8, name
    tables = find_tables(Doc(text.split("\n")), None)
    assert len(tables) == 1 and tables[0].style == "fixed" and tables[0].header, name


@pytest.mark.parametrize("name", TWO_ROWS)
def test_two_row_outputs_are_found(name):
    text = _data(name)
    (table,) = find_tables(Doc(text.split("\n")), None)
    assert len(table.cells) == 2 and table.header[0] in ("NAME", "CONTAINER ID")


@pytest.mark.parametrize("name", COMPRESSIBLE)
def test_real_outputs_keep_rows_byte_identical(name):
    """Header (and dpkg's legend), first and last rows kept as they are, padding included; every marker
    gives back exactly the lines it stands for; the same bytes each time; never longer."""
    text = _data(name)
    lines = text.rstrip("\n").split("\n")
    (table,) = find_tables(Doc(lines), None)
    needles = lines[:table.firsts[0] + 1] + [lines[-1]]
    result = check(text, needles, min_saving=0.5)
    assert_lines_are_original(text, result.text)
    assert result.omitted > 0


def test_dpkg_marker_counts_by_state():
    """dpkg's state column (named "||/") labels its markers by value: "(2,301 ii, 49 rc)"."""
    legend = _data("dpkg_l").split("\n")[:5]
    rows = [f"{'rc' if i % 47 == 5 else 'ii'}  pkg-{i:04d}{' ' * 30}1.{i}-1{' ' * 24}amd64        package {i}"
            for i in range(2400)]
    text = "\n".join(legend + rows) + "\n"
    result = check(text, legend)
    marks = markers_in(result.text, ccr_id(text))
    states = [re.findall(r"([\d,]+) (ii|rc)\b", m["what"]) for m in marks]
    assert all(states) and any(any(state == "rc" for _, state in found) for found in states)
    for m, found in zip(marks, states):
        rows_omitted = int(re.match(r"([\d,]+) rows? omitted", m["what"])[1].replace(",", ""))
        assert rows_omitted == sum(int(k.replace(",", "")) for k, _ in found) == int(m["b"]) - int(m["a"]) + 1


def test_query_and_focus_keep_matching_rows():
    text = _data("dpkg_l")
    row = next(line for line in text.split("\n") if line.startswith("ii  libcurl4:"))
    plain, _ = compress(text)
    assert row not in plain.text
    check(text, [row], query="which libcurl4 version is installed?")
    check(text, [row], focus=Focus(terms=("libcurl4",)))


def test_kubectl_multi_word_header_names_stay_whole():
    (table,) = find_tables(Doc(_data("kubectl_get_pods_wide").split("\n")), None)
    assert table.header[-2:] == ["NOMINATED NODE", "READINESS GATES"]


def test_sparse_columns_under_a_shouted_header():
    """lsof leaves TID, TASKCMD, DEVICE... empty on most rows: still one table, cut where its columns are."""
    (table,) = find_tables(Doc(_data("lsof").split("\n")), None)
    assert table.header[:2] == ["COMMAND", "PID"] and table.header[-1] == "NAME"
    user = table.header.index("USER")  # (TID and TASKCMD, empty in every row here, may read as one column)
    assert {row[user] for row in table.cells} == {"root"}
    assert all(row[-1].startswith("/proc/") for row in table.cells)


def test_prose_and_diff_lines_are_no_header():
    assert not columns.header_like("+        # if n not specified materialize everything")
    assert not columns.header_like("// This is useful for building simple REST API documentation")
    assert columns.header_like("||/ Name                Version     Architecture Description")
    assert columns.header_like("Proto Recv-Q Send-Q Local Address           Foreign Address         State")


@pytest.mark.parametrize("seed", range(3))
def test_never_grows_on_shuffled_real_rows(seed):
    """Rows of a real table in any order: never longer, deterministic, markers exact."""
    lines = _data("pip_list").rstrip("\n").split("\n")
    body = lines[2:]
    random.Random(seed).shuffle(body)
    text = "\n".join(lines[:2] + body) + "\n"
    check(text, lines[:2])


def test_error_words_inside_names_and_options_are_not_errors():
    """"--startup-timeout" or "libgpg-error0" name things; a "<defunct>" or "timed out" row is telling."""
    rows = []
    for i in range(100):
        cmd = f"/usr/bin/agent --startup-timeout 60 --shard {i}" if i % 12 == 3 else f"/usr/bin/worker --id {i}"
        rows.append(["app", str(2000 + i), "0.1", "S", cmd])
    rows[57] = ["app", "2057", "0.0", "S", "[worker] <defunct>"]
    text = pad_table(["USER", "PID", "%CPU", "STAT", "COMMAND"], rows)
    result = check(text, [text.split("\n")[58]])
    assert "--startup-timeout 60 --shard 51" not in result.text


def test_systemctl_failed_units_kept():
    """Held out: systemctl's rows start with "●" (failed) or two spaces; the failed ones stay, the legend
    after the table is copied as it is."""
    text = _data("systemctl_list_units")
    assert ENGINE.detect(Part(text)) >= 0.8
    failed = [line for line in text.split("\n") if line.startswith("●")]
    assert len(failed) == 2
    result = check(text, failed + ["32 loaded units listed. Pass --all to see loaded but inactive units, too."])
    assert_lines_are_original(text, result.text)
    assert "ACTIVE=active" in result.text


def test_markers_count_by_the_status_column_even_with_one_value():
    """kubectl's STATUS column: the rows left out all say Running, and the marker says so (rather than
    counting them by NODE, a column of three values)."""
    text = _data("kubectl_get_pods_wide")
    result, part_id = compress(text)
    marks = markers_in(result.text, part_id)
    assert marks and all(re.fullmatch(r"[\d,]+ rows omitted \([\d,]+ STATUS=Running\)", m["what"]) for m in marks)


def test_a_block_met_again_is_found_at_its_own_place():
    """A report printed after every rebuild: each copy of a block is the same table, at its own lines
    (a block read once and its table moved must equal reading every copy)."""
    from headroom_cli.engines.table.model import Doc

    report = ["NAME        SIZE   STATUS", "main.js     193kB  ok", "styles.css  61B    ok", "chunk-a.js  419B   ok",
              "chunk-b.js  415B   stale"]
    other = ["NAME     READY   STATUS", "web-1    1/1     Running", "web-2    0/1     Pending", "web-3    1/1     Running"]
    lines: list[str] = []
    for n in range(6):
        lines += [f"build {n} done", ""] + (other if n == 3 else report) + [""]
    found = find_tables(Doc(lines), None)
    assert len(found) == 6
    for t in found:
        alone = find_tables(Doc([""] * t.start + lines[t.start:t.end] + [""]), None)
        assert len(alone) == 1
        a = alone[0]
        assert (a.start, a.end, a.header, a.header_lines, a.firsts, a.lasts, a.cells) == \
            (t.start, t.end, t.header, t.header_lines, t.firsts, t.lasts, t.cells)
    assert [t.cells[-1][-1] for t in found] == ["stale"] * 3 + ["Running"] + ["stale"] * 2
