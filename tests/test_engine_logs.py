"""The logs engine: rare events and error records survive verbatim, markers give back exactly what
they stand for, the output is the same for the same input and never larger, and the router sends
system logs here while test runs, JSON, diffs and tables keep their own engines."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from headroom_cli.engines import get
from headroom_cli.engines.base import Context, deadline_after, Part, Result
from headroom_cli.engines.logs import LogsEngine
from headroom_cli.engines.logs.mine import mine
from headroom_cli.engines.logs.shapes import ERROR, mask, PLAIN, severity, WARN
from headroom_cli.markers import ccr_id, MARKER_RE
from headroom_cli.pipeline import Pipeline
from headroom_cli.tokens import count_tokens

from marker_checks import expand_markers, inexact_markers, markers_in
from samples import app_log_with_fatal, FATAL_LINE, FATAL_STACK, pytest_verbose_log

DATA = Path(__file__).parent / "data" / "logs"
ENGINE = LogsEngine()
SAMPLES = sorted(DATA.glob("*/*.log"))

# Lines of each real sample an agent looking for trouble must see: the events that occur once or
# twice in it (found by reading the samples, not by the engine) and its error/warning records.
RARE = {
    "HDFS": ["081109 205931 13 INFO dfs.DataBlockScanner: Verification succeeded for blk_-4980916519894289629",
             "081109 213436 13 INFO dfs.DataBlockScanner: Verification succeeded for blk_-2827716238972737794",
             "081109 213837 19 INFO dfs.FSDataset: Deleting block blk_1781953582842324563 file "
             "/mnt/hadoop/dfs/data/current/subdir5/blk_1781953582842324563",
             "081109 214043 2561 WARN dfs.DataNode$DataXceiver: 10.251.30.85:50010:Got exception while serving "
             "blk_-2918118818249673980 to /10.251.90.64:"],
    "BGL": ["- 1117984246 2005.06.05 R30-M1-N3-C:J02-U01 2005-06-05-08.10.46.344235 R30-M1-N3-C:J02-U01 RAS KERNEL "
            "FATAL force load/store alignment...............0",
            "- 1118271740 2005.06.08 R03-M1-N9-C:J09-U11 2005-06-08-16.02.20.600478 R03-M1-N9-C:J09-U11 RAS KERNEL "
            "INFO 1 ddr errors(s) detected and corrected on rank 0, symbol 25, bit 1"],
    "OpenSSH": ["Dec 10 07:08:28 LabSZ sshd[24208]: reverse mapping checking getaddrinfo for ns.marryaldkfaczcz.com "
                "[173.234.31.186] failed - POSSIBLE BREAK-IN ATTEMPT!",
                "Dec 10 07:13:56 LabSZ sshd[24227]: message repeated 5 times: [ Failed password for root from "
                "5.36.59.76 port 42393 ssh2]",
                "Dec 10 07:13:56 LabSZ sshd[24227]: PAM service(sshd) ignoring max retries; 6 > 3"],
    "Linux": ["Jun 15 04:06:20 combo logrotate: ALERT exited abnormally with [1]",
              "Jun 18 02:23:10 combo ftpd[31277]: User unknown timed out after 900 seconds at Sat Jun 18 02:23:10 2005 "],
    "Apache": ["[Sun Dec 04 05:15:09 2005] [error] [client 222.166.160.184] Directory index forbidden by rule: "
               "/var/www/html/"],
    "HPC": ["147394 Interconnect-0N00 switch_module temphigh 1129812510 1 Temperature (41C) exceeds warning threshold",
            "147494 Interconnect-0N00 switch_module temphigh 1129813980 1 Temperature (41C) exceeds warning threshold"],
    "Thunderbird": ["- 1131566470 2005.11.09 tbird-sm1 Nov 9 12:01:10 src@tbird-sm1 ib_sm.x[24904]: "
                    "[ib_sm_sweep.c:1831]: ********************** NEW SWEEP ********************"],
    "Android": ["03-17 16:13:45.466  1702 17632 W ActivityManager: java.lang.ClassCastException: "
                "android.os.BinderProxy cannot be cast to com.android.server.am.ActivityRecord$Token"],
    "Zookeeper": ["2015-07-29 17:41:44,747 - INFO  [QuorumPeer[myid=1]/0:0:0:0:0:0:0:0:2181:FastLeaderElection@774] - "
                  "Notification time out: 3200"],
    "http_server_access": ["127.0.0.1 - - [06/Dec/2026 14:27:02] \"POST / HTTP/1.1\" 501 -",
                           "127.0.0.1 - - [06/Dec/2026 14:27:02] \"GET /etc/passwd HTTP/1.1\" 404 -"],
}


def compress(text: str, **part_kw) -> tuple[Result | None, str]:
    part_id = ccr_id(text)
    return ENGINE.compress(Part(text, **part_kw), Context(part_id=part_id, deadline=deadline_after(60))), part_id


def level_lines(text: str) -> list[str]:
    """Every line whose shape names an error or warning level."""
    return [line for line in text.split("\n") if severity(mask(line)) >= WARN]


def first_records(text: str) -> list[str]:
    """The error and warning records an agent must see whatever repeats: the first record of each
    shape (its words; only variables differ), and every record of a shape seen at most twice."""
    shapes = Counter(mask(line) for line in level_lines(text))
    seen: set[str] = set()
    wanted = []
    for line in level_lines(text):
        shape = mask(line)
        if shape not in seen or shapes[shape] <= 2:
            wanted.append(line)
        seen.add(shape)
    return wanted


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.stem)
def test_rare_events_and_error_records_stay_verbatim(path):
    text = path.read_text(encoding="utf-8")
    result, part_id = compress(text)
    out = text if result is None else result.text
    kept = set(out.split("\n"))
    wanted = RARE.get(path.stem, []) + first_records(text)
    assert [line for line in wanted if line not in kept] == []
    assert expand_markers(text, out, part_id) == text
    assert inexact_markers(text, out, part_id) == []
    if result is not None:
        assert len(out) < len(text)
        assert result.omitted == sum(int(m["b"]) - int(m["a"]) + 1 for m in markers_in(out, part_id))


def test_a_long_system_log_folds_to_a_few_percent_with_counted_markers():
    text = (DATA / "local" / "dpkg.log").read_text(encoding="utf-8")
    result, part_id = compress(text)
    assert result is not None and result.kind == "logs"
    assert count_tokens(result.text) < 0.1 * count_tokens(text)
    marks = markers_in(result.text, part_id)
    assert marks and all("log lines omitted" in m["what"] for m in marks)
    # The biggest fold names its template and the spread of its times.
    biggest = max(marks, key=lambda m: int(m["b"]) - int(m["a"]))
    assert re.search(r'\d[\d,]*× "status \w', biggest["what"]), biggest["what"]
    assert re.search(r"times \d\d:\d\d:\d\d–\d\d:\d\d:\d\d", biggest["what"]), biggest["what"]


def test_first_line_of_every_template_stays():
    text = (DATA / "local" / "http_server_access.log").read_text(encoding="utf-8")
    lines = text.rstrip("\n").split("\n")
    result, _ = compress(text)
    kept = set(result.text.split("\n"))
    line_template, templates = mine(mask(text).split("\n")[: len(lines)])
    assert all(lines[t.first] in kept for t in templates)
    # A 404 is a template of its own, not folded into the 200s: its first line stays.
    assert '127.0.0.1 - - [06/Dec/2026 14:26:53] "GET /nope1.html HTTP/1.1" 404 -' in kept


def test_an_error_keeps_its_stack_trace_and_a_burst_of_one_error_folds_to_its_first_and_last():
    text = app_log_with_fatal(3000)
    result, part_id = compress(text)
    assert FATAL_LINE in result.text and "\n".join(FATAL_STACK) in result.text
    # Twelve records of one error, only the time and the attempt differing: the first five and the last
    # stay, the six between are counted in a marker that names the error first.
    burst = [f"2026-03-02T12:00:{i:02d}.000Z ERROR [db] app.db - connection reset by peer (attempt {i})"
             for i in range(12)]
    noisy = text + "\n".join(burst) + "\n" + text
    result, part_id = compress(noisy)
    out = result.text.split("\n")
    assert [line in out for line in burst] == [True] * 5 + [False] * 6 + [True]
    sixth = text.count("\n") + 6  # the burst's sixth line, 1-based
    folded = next(m for m in markers_in(result.text, part_id) if int(m["a"]) <= sixth <= int(m["b"]))
    assert re.search(r'^[\d,]+ log lines omitted: 6× "ERROR \(db\) app.db - connect', folded["what"])
    assert expand_markers(noisy, result.text, part_id) == noisy


def test_repeated_warnings_fold_while_distinct_errors_all_stay():
    lines = []
    errors = [f"ERROR [pay] app.payments - charge failed for order ORD-{i}: {reason}"
              for i, reason in enumerate(["card declined", "gateway timeout", "fraud check rejected",
                                          "currency not supported", "account closed", "insufficient funds"])]
    for i in range(600):
        stamp = f"2026-03-02T11:{i // 60:02d}:{i % 60:02d}.000Z"
        lines.append(f"{stamp} INFO  [web] app.http - GET /api/items/{i} 200 {i % 40 + 1}ms")
        if i % 15 == 7:
            lines.append(f"{stamp} WARN  [db] app.db - slow query {900 + i}ms on orders (rows={i % 30})")
        if i % 100 == 50:
            lines.append(f"{stamp} {errors[i // 100]}")
    text = "\n".join(lines) + "\n"
    result, part_id = compress(text)
    out = result.text.split("\n")
    warnings = [line for line in lines if " WARN " in line]
    assert len(warnings) == 40 and sum(line in out for line in warnings) == 3  # the first two and the last
    assert all(any(line.endswith(e) for line in out) for e in errors)  # each error distinct: all stay
    named = [m for m in markers_in(result.text, part_id) if '× "WARN (db) app.db - slow query' in m["what"]]
    assert sum(int(re.search(r'([\d,]+)× "WARN', m["what"])[1]) for m in named) == 37
    assert expand_markers(text, result.text, part_id) == text
    assert count_tokens(result.text) < 0.1 * count_tokens(text)
    # A folded warning that names what the conversation is about stays all the same.
    from headroom_cli.focus import Focus

    focused, _ = compress(text, focus=Focus(terms=("1207ms",)))
    assert [line for line in warnings if "1207ms" in line][0] in focused.text.split("\n")
    assert [line for line in warnings if "1207ms" in line][0] not in out


def test_in_a_tools_output_lines_printed_once_fold_and_its_warnings_stay():
    """A build's chatter has no times or levels: each asset's lines are printed once, so rarity is not
    news there. Its warnings and the first line of each repeated shape stay; the rest folds."""
    lines = ["yarn run v1.22.22"]
    for i, name in enumerate(["Status", "Quota", "Refund", "Payload", "Merge", "Notify", "Receipts", "Reset",
                              "Prompt", "Image", "Submit", "Collect", "Poll", "Send"]):
        lines += [f"Bundling asset Backend/{name}Lambda/Code/Stage...",
                  f"$ esbuild --bundle lib/{name.lower()}/handler.ts --platform=node --outfile=out/{name}/index.js",
                  "", f"  out/{name}/index.js  {i + 1}.5mb", ""]
        if name == "Merge":
            lines += ["[WARNING] aws-cdk-lib.aws_iam.GrantOnPrincipalOptions#scope is deprecated.",
                      "  The scope argument is currently unused."]
    lines += ["Done in 5.62s.", "", "Stack Backend", "Resources"]
    lines += [f"[~] AWS::Lambda::Function {name}Lambda {name}Lambda" for name in ("Status", "Quota", "Refund")]
    lines += ["", "Number of stacks with differences: 1", "", "NOTICES", "", "If you don't want to see a notice anymore."]
    text = "\n".join(lines) + "\n"
    result, part_id = compress(text)
    out = result.text.split("\n")
    assert lines[1] in out and lines[2] in out  # the first of each repeated shape
    assert "[WARNING] aws-cdk-lib.aws_iam.GrantOnPrincipalOptions#scope is deprecated." in out
    assert "  The scope argument is currently unused." in out  # the explanation under the warning
    assert "Bundling asset Backend/RefundLambda/Code/Stage..." not in out
    assert expand_markers(text, result.text, part_id) == text
    # An installer's transcript: hundreds of routine lines, a few printed once. Those few stand out
    # against the routine ones and stay, though no line has a time or a level.
    install = [line for i in range(150) for line in (f"Unpacking libfoo{i} (1.{i}-1) ...",
                                                      f"Setting up libfoo{i} (1.{i}-1) ...")]
    one_offs = ["Regenerating fonts cache... done.", "running python post-rtupdate hooks for python3.11...",
                "Initializing machine ID from random generator."]
    install[100:100] = one_offs[:1]
    install[200:200] = one_offs[1:]
    result, _ = compress("\n".join(install) + "\n")
    assert all(line in result.text.split("\n") for line in one_offs)
    # The same lines as records of a log (a time on each): the ones printed once are its rare events.
    stamped = "\n".join(f"2026-03-02 10:00:{i % 60:02d} {line}" for i, line in enumerate(lines)) + "\n"
    result, _ = compress(stamped)
    assert all(f"{line}" in result.text for line in lines if line.startswith("[~] AWS::Lambda"))


def test_same_bytes_in_same_bytes_out_whatever_ran_before():
    text = (DATA / "loghub" / "HDFS.log").read_text(encoding="utf-8")
    first, _ = compress(text)
    compress((DATA / "loghub" / "BGL.log").read_text(encoding="utf-8"))  # a miner left over would change templates
    again, _ = compress(text)
    assert first is not None and again is not None and first.text == again.text


def test_output_never_grows_and_nothing_to_fold_is_left_alone():
    words = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho".split()
    distinct = "".join(f"2026-03-02T10:00:{i:02d}Z INFO svc - {' '.join(words[:i + 1])}\n" for i in range(len(words)))
    assert compress(distinct)[0] is None  # every line is its own template: all stay, nothing to return
    for path in SAMPLES:
        text = path.read_text(encoding="utf-8")
        outcome = Pipeline().run(Part(text))
        assert len(outcome.text) <= len(text)


def test_levels_are_read_from_the_level_field_not_from_the_words():
    assert severity(mask("- 1117838570 2005.06.03 R02 RAS KERNEL INFO instruction cache parity error corrected")) == PLAIN
    assert severity(mask("- 1117984246 2005.06.05 R30 RAS KERNEL FATAL data TLB error interrupt")) == ERROR
    assert severity(mask("03-17 16:13:45.466  1702 17632 W ActivityManager: Bad activity token")) == WARN
    assert severity(mask("[Sun Dec 04 04:47:44 2005] [error] mod_jk child workerEnv in error state 6")) == ERROR
    assert severity(mask('10.0.0.1 - - [06/Dec/2026 14:27:02] "GET / HTTP/1.1" 503 -')) == ERROR
    assert severity(mask('10.0.0.1 - - [06/Dec/2026 14:27:02] "GET / HTTP/1.1" 404 -')) < WARN


# ------------------------------------------------------------------------------------------- routing


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.stem)
def test_system_logs_go_to_the_logs_engine(path):
    text = path.read_text(encoding="utf-8")
    assert Pipeline().route(Part(text)).name == "logs"


def test_other_outputs_keep_their_engines():
    pipeline = Pipeline()
    assert pipeline.route(Part(pytest_verbose_log(500))).name == "testlog"
    records = [{"id": i, "time": f"2026-03-02T10:00:{i % 60:02d}Z", "level": "info", "msg": "ok"} for i in range(200)]
    assert pipeline.route(Part(json.dumps(records, indent=2))).name == "json"
    diff = "diff --git a/app.log b/app.log\n--- a/app.log\n+++ b/app.log\n@@ -1,40 +1,40 @@\n" + "".join(
        f"-2026-03-02T10:00:{i:02d}Z INFO old line {i}\n+2026-03-02T10:00:{i:02d}Z INFO new line {i}\n"
        for i in range(40))
    assert pipeline.route(Part(diff)).name == "diff"
    csv = "date,precipitation,temp_max,temp_min,wind,weather\n" + "".join(
        f"2012-01-{i % 28 + 1:02d},0.{i % 9},12.{i % 7},5.{i % 5},4.{i % 3},rain\n" for i in range(300))
    assert pipeline.route(Part(csv)).name == "table"
    yes = "waiting for the lock on /var/lib/dpkg/lock-frontend...\n" * 300
    assert pipeline.route(Part(yes)).name == "text"


def test_a_caller_hint_decides():
    text = (DATA / "loghub" / "Linux.log").read_text(encoding="utf-8")
    assert get("logs").detect(Part(text, kind_hint="logs")) == 1.0
    assert get("logs").detect(Part(text, kind_hint="json")) == 0.0
    # A test run called a log still goes to the test-and-log engine first (its 1.0 beats our 0.9).
    assert get("logs").detect(Part(pytest_verbose_log(500), kind_hint="logs")) < 1.0


def test_a_system_log_through_the_pipeline_is_stored_and_redeemable(tmp_path):
    from headroom_cli.retrieve import retrieve
    from headroom_cli.store import Store

    text = (DATA / "local" / "dpkg.log").read_text(encoding="utf-8")
    store = Store(tmp_path / "s.sqlite3")
    outcome = Pipeline(frozen=store).run(Part(text))
    assert outcome.engine == "logs" and outcome.part_id
    store.put(outcome.part_id, "logs", text)
    for marker in MARKER_RE.finditer(outcome.text):
        a, b = int(marker["a"]), int(marker["b"])
        assert retrieve(store, marker["id"], lines=f"{a}-{b}") == "".join(text.splitlines(True)[a - 1:b])


def test_lines_that_name_the_question_stay_and_common_words_choose_nothing():
    text = (DATA / "local" / "dpkg.log").read_text(encoding="utf-8")
    plain, _ = compress(text)
    asked, part_id = compress(text, query="what happened to libssl3?")
    libssl = [line for line in text.split("\n") if "libssl3" in line]
    assert libssl and not all(line in plain.text.split("\n") for line in libssl)
    assert all(line in asked.text.split("\n") for line in libssl)
    assert expand_markers(text, asked.text, part_id) == text
    common, _ = compress(text, query="what is the status?")  # on most lines: no help in choosing
    assert common.text == plain.text


def test_bench_logs_judges_a_sample_and_sizes_a_part():
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location("bench_logs", Path(__file__).parents[1] / "scripts" / "bench_logs.py")
    bench = importlib.util.module_from_spec(spec)
    sys.modules["bench_logs"] = bench
    spec.loader.exec_module(bench)
    row = bench.judge_sample(DATA / "loghub" / "HDFS.log")
    assert row["judge"] == "drain3"  # the independent judge, installed with the test extra (`bench`)
    assert row["routed"] == "logs" and row["set"] == "tuned" and 0 < row["after"] < row["tokens"]
    assert row["rare"] > 0 and row["rare_kept"] == row["rare"]
    part = bench.sized_part((DATA / "loghub" / "Linux.log").read_text(encoding="utf-8"), 5_000)
    assert 4_000 < count_tokens(part) < 6_000


def test_listings_and_tables_with_dates_are_not_logs():
    ls = "".join(f"-rw-r--r-- 1 root root {1000 + i * 37:>6} 2026-09-22 04:45:{i % 60:02d}.000000000 +0000 file_{i}.py\n"
                 for i in range(80))
    git = "".join(f"{(0xabc1234 + i * 7919):07x} 2026-12-0{i % 9 + 1} 14:{i % 60:02d}:07 +0000 Dev One fix the thing number {i}\n"
                  for i in range(80))
    git_log = "".join(f"commit {(0xabc1234 + i):040x}\nAuthor: Dev One <dev@example.org>\n"
                      f"Date:   Sun Dec 6 14:{i % 60:02d}:07 2026 +0000\n\n    Fix the thing number {i}\n\n" for i in range(40))
    ps = "  PID                  STARTED CMD\n" + "".join(
        f"{100 + i:>5} Sun Dec  6 11:58:{i % 60:02d} 2026 /usr/bin/worker --id {i}\n" for i in range(80))
    dpkg = (DATA / "local" / "dpkg.log").read_text(encoding="utf-8").split("\n")[:200]
    grep_n = "".join(f"/var/log/dpkg.log:{n + 1}:{line}\n" for n, line in enumerate(dpkg))
    grep_files = "".join(f"{'dpkg.log' if n % 2 else 'dpkg.log.1'}:{line}\n" for n, line in enumerate(dpkg))
    markdown = "| date | time | host | status |\n| --- | --- | --- | --- |\n" + "".join(
        f"| 2026-12-0{i % 9 + 1} | 14:{i % 60:02d}:07 | web-{i % 4} | ok |\n" for i in range(80))
    for text in (ls, git, git_log, ps, grep_n, grep_files, markdown):
        assert get("logs").detect(Part(text)) < 0.5, text[:80]


LONG = DATA / "local-long"  # long real logs made by scripts/make_local_logs.py


def test_every_server_error_of_a_long_access_log_stays_while_the_hits_fold():
    """nginx's access log of 2,722 requests (made here): each 5xx that differs from those kept in
    more than its numbers (another path, another client) stays verbatim, and a 502 from a client seen
    nowhere else among the errors stays among thousands of hits; the 2xx/4xx hits fold."""
    lines = (LONG / "nginx_access.log").read_text().splitlines()[:3000]
    errors = [line for line in lines if re.search(r'HTTP/1\.1" 5\d\d ', line)]
    odd = errors[-1].replace('"python-requests/2.31.0"', '"Wget/1.21.3"').replace('"curl/7.88.1"', '"Wget/1.21.3"')
    lines[-40] = odd if odd != errors[-1] else errors[-1].rsplit('"', 2)[0] + '"Wget/1.21.3"'
    text = "\n".join(lines) + "\n"
    result, part_id = compress(text)
    out = result.text
    assert count_tokens(out) < 0.1 * count_tokens(text)
    kept = set(out.split("\n"))
    assert lines[-40] in kept
    seen: set[str] = set()
    for line in errors:
        shape = re.sub(r"[0-9A-Fa-f]*\d[0-9A-Fa-f]*", "0", line)
        assert shape in seen or line in kept, line
        seen.add(shape)
    assert expand_markers(text, out, part_id) == text


def test_a_repeated_warnings_trace_folds_with_it_and_a_kept_ones_trace_stays_under_it():
    """ZooKeeper (log4j, made here): a warning's exception line and frames belong to its record. The
    exception line does not stay as an error of its own when its warning folds, and a repeat of a
    warning kept before keeps its exception line (its values) but not the frames shown already."""
    text = (LONG / "zookeeper_quorum.log").read_text()
    result, part_id = compress(text)
    out = result.text
    rows = out.split("\n")
    exception = "java.net.ConnectException: Connection refused"
    assert 0 < rows.count(exception) < text.count(exception + "\n")
    for at, row in enumerate(rows):
        if row == exception:
            assert " WARN " in rows[at - 1], rows[at - 1]  # right under its record, never after a marker
    frames = [rows[at + 1] for at, row in enumerate(rows[:-1]) if row == exception]
    assert any(frame.startswith("\tat ") for frame in frames)  # the first one's trace
    assert any(not frame.startswith("\tat ") for frame in frames)  # a repeat's frames fold
    assert expand_markers(text, out, part_id) == text


def test_a_fold_of_an_access_logs_hits_names_their_statuses_server_errors_first():
    """Hits of many clients mine into many templates; the marker of a long fold of them says what a
    reader acts on instead: how many of each status (5xx first, whatever their number) and paths."""
    lines = (LONG / "nginx_access.log").read_text().splitlines()
    text = "\n".join(lines) + "\n"
    result, part_id = compress(text)
    folds = [m for m in MARKER_RE.finditer(result.text) if "requests, " in m.group()]
    assert any("requests, status 50" in m.group() for m in folds)  # a repeated 502 folded, named first
    for m in folds:
        a, b = int(m["a"]), int(m["b"])
        statuses = Counter(re.search(r'HTTP/1\.1" (\d{3}) ', line)[1] for line in lines[a - 1:b])
        said = dict(re.findall(r"(\d{3}) ×(\d+)", m.group()))
        for status, count in statuses.items():
            assert said.get(status, str(count)) == str(count)
        assert list(said)[0][0] == "5" or not any(s[0] == "5" for s in statuses)
        assert f"{len({l.split()[6] for l in lines[a - 1:b]})} path" in m.group()
    assert expand_markers(text, out := result.text, part_id) == text and len(out) < len(text)


def _package_manager_log(packages: int = 120) -> tuple[str, list[str]]:
    """An apt/dpkg terminal log (term.log's shape): steps per package, a progress line redrawn with
    carriage returns now and then, and a few lines printed once (the ones worth reading)."""
    rng_names = [f"lib{w}{i}" for i, w in enumerate(["ssl", "xml", "curl", "z", "ffi", "gdbm", "perl"] * 40)]
    rare = ["dpkg: warning: unable to delete old directory '/etc/cron.hourly': Directory not empty",
            "update-alternatives: using /usr/bin/perl5 to provide /usr/bin/perl (perl) in auto mode",
            "W: Possible missing firmware /lib/firmware/i915/tgl_dmc_ver2_12.bin for module i915"]
    out = ["Log started: 2025-06-24  14:36:29"]
    for i in range(packages):
        name = rng_names[i]
        if i % 10 == 0:
            out.append("(Reading database ... " + "".join(f"\r(Reading database ... {p}%" for p in range(5, 101, 5))
                       + f"\r(Reading database ... {6000 + i} files and directories currently installed.)")
        out += [f"Selecting previously unselected package {name}:amd64.",
                f"Preparing to unpack .../{i}-{name}_1.{i}-3_amd64.deb ...",
                f"Unpacking {name}:amd64 (1.{i}-3) ...", f"Setting up {name}:amd64 (1.{i}-3) ..."]
        if i in (30, 70, 100):
            out.append(rare[(i // 40) % 3])
    out += ["Processing triggers for libc-bin (2.36-9+deb12u10) ...", "Log ended: 2025-06-24  14:36:41", ""]
    return "\n".join(out), rare


def test_a_package_managers_log_is_a_log_and_its_lines_printed_once_stay():
    """apt's steps are not a test run nor a build with diagnostics: the logs engine folds them by
    template and keeps what was printed once, progress redraws here and there notwithstanding."""
    text, rare = _package_manager_log()
    assert Pipeline().route(Part(text)).name == "logs"
    outcome = Pipeline().run(Part(text))
    assert outcome.engine == "logs" and len(outcome.text) < len(text) // 3
    kept = outcome.text.split("\n")
    assert all(line in kept for line in rare)


def test_output_redrawn_on_most_lines_is_left_to_the_text_engine():
    frames = "".join(f"\rDownloading layer @: {p}%" for p in range(0, 101, 10))
    pulls = "\n".join(f"layer {i}: Pulling fs layer" + frames.replace("@", str(i)) for i in range(200)) + "\n"
    assert get("logs").detect(Part(pulls)) == 0.0
