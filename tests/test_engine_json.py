"""The JSON engine: the source's spelling survives, markers name what they hide, the bulk is folded."""

from __future__ import annotations

import json
import random
import re

import pytest

from headroom_cli import engines
from headroom_cli.engines.base import Context, deadline_after, Part, Result
from headroom_cli.engines.json_crusher import JsonEngine
from headroom_cli.markers import MARKER_RE, ccr_id
from headroom_cli.tokens import count_tokens

ENGINE = JsonEngine()
LOSSLESS = JsonEngine(lossy_min_chars=10**12)  # never folds: the lossless rendering alone
FOLDING = JsonEngine(blind_lossy_min_chars=0)  # folds past the same size with or without a question
# the samples big enough to fold without a query
BLIND_FOLDED = {"botocore_sqs_service2", "npm_view_typescript", "sqlite_ci_jobs_500"}


# --------------------------------------------------------------------------- helpers


def compress(text: str, engine: JsonEngine = ENGINE, **part_kw) -> tuple[Result | None, str]:
    part_id = ccr_id(text)
    result = engine.compress(Part(text, **part_kw), Context(part_id=part_id, deadline=deadline_after(60)))
    return result, part_id


def original_lines(text: str) -> list[str]:
    lines = text.split("\n")
    if text.endswith("\n"):
        lines.pop()
    return lines


def line_items(original: str, a: int, b: int) -> list:
    """The JSON items held by original lines a..b (a run of whole items of one container)."""
    lines = original_lines(original)[a - 1 : b]
    body = "\n".join(lines).strip().rstrip(",")
    for attempt in ("[" + body + "]", "{" + body + "}", "[" + ",".join(lines) + "]"):  # array, map, JSON Lines
        try:
            got = json.loads(attempt)
        except ValueError:
            continue
        return list(got.items()) if isinstance(got, dict) else got
    raise AssertionError(f"lines {a}-{b} are not whole items")


def needle_status(text: str, out: str, needle: str, part_id: str) -> str:
    """'verbatim', 'recoverable' (a marker of this part points at it) or 'lost'."""
    if needle in out:
        return "verbatim"
    lines = original_lines(text)
    for m in MARKER_RE.finditer(out):
        if m["id"] != part_id:
            continue
        if m["a"] is None:
            if needle in text:
                return "recoverable"
        elif needle in "\n".join(lines[int(m["a"]) - 1 : int(m["b"])]):
            return "recoverable"
    return "lost"


def check_markers(text: str, result: Result, part_id: str) -> None:
    """Every marker redeems: line markers name whole items of the original; the count adds up."""
    out = result.text
    marks = list(MARKER_RE.finditer(out))
    assert all(m["id"] == part_id for m in marks)
    if not result.omitted:
        assert not marks, "a lossless rendering must not point at a store it did not ask for"
        return
    assert marks, "a lossy rendering needs markers"
    counted = 0
    for m in marks:
        if m["a"] is not None:
            a, b = int(m["a"]), int(m["b"])
            assert 1 <= a <= b <= len(original_lines(text))
            items = line_items(text, a, b)
            said = re.search(r"\(([\d,]+) ", m["what"])
            assert said, m.group(0)
            detail = m["what"].split("(", 1)[1]
            total = sum(int(x.replace(",", "")) for x in re.findall(r"(?:^|, |\()([\d,]+) ", detail))
            assert total == len(items), (m.group(0), len(items))
            counted += len(items)
        else:
            said = 1 if "characters omitted" in m["what"] else int(re.match(r"[\d,]+", m["what"])[0].replace(",", ""))
            counted += said
    assert counted == result.omitted


def reconstruct(original: str, out: str, part_id: str) -> str:
    """out with each line marker replaced by the original lines it names (what retrieve gives back)."""
    lines = original_lines(original)
    rebuilt: list[str] = []
    for line in out.split("\n"):
        m = MARKER_RE.fullmatch(line.strip())
        if m and m["id"] == part_id and m["a"] is not None:
            rebuilt.extend(lines[int(m["a"]) - 1 : int(m["b"])])
        else:
            rebuilt.append(line)
    return "\n".join(rebuilt)


def assert_reversible(original: str, result: Result, part_id: str) -> bool:
    """Where every gap is a line marker (no notes, no cut strings), expanding the markers gives back
    the original document; returns whether the check applied."""
    out = result.text
    if "//" in out.replace("://", "") or any(m["a"] is None for m in MARKER_RE.finditer(out)):
        return False
    rebuilt = reconstruct(original, out, part_id)
    try:
        whole = json.loads(original)
    except ValueError:
        whole = None
    if whole is not None:
        assert json.loads(rebuilt) == whole
    else:  # JSON Lines
        assert [json.loads(x) for x in rebuilt.split("\n") if x.strip()] == \
            [json.loads(x) for x in original.split("\n") if x.strip()]
    return True


def json_entries(needles_list: list[dict]) -> list[dict]:
    return [e for e in needles_list if e["kind"] == "json"]


# --------------------------------------------------------------------------- the corpus


@pytest.fixture(scope="module")
def corpus_results(corpus_dir, needles):
    """Each json sample compressed with its query and without, folded and lossless."""
    got = {}
    for entry in json_entries(needles):
        text = (corpus_dir / entry["file"]).read_text()
        for query in (entry["query"], None):
            for name, engine in (("final", ENGINE), ("lossless", LOSSLESS)):
                result, part_id = compress(text, engine, query=query)
                got[entry["file"], query is not None, name] = (text, result, part_id)
    return got


def test_corpus_has_json_samples(needles):
    assert len(json_entries(needles)) >= 5


@pytest.mark.parametrize("with_query", [True, False])
def test_corpus_needles(corpus_results, needles, with_query):
    verbatim = total = 0
    for entry in json_entries(needles):
        text, result, part_id = corpus_results[entry["file"], with_query, "final"]
        assert result is not None, entry["file"]
        assert len(result.text) < len(text)
        for needle in entry["needles"]:
            status = needle_status(text, result.text, needle, part_id)
            assert status != "lost", (entry["file"], needle)
            verbatim += status == "verbatim"
            total += 1
    assert verbatim == total, "every needle stays verbatim"


def test_corpus_needles_survive_lossless_with_query(corpus_results, needles):
    for entry in json_entries(needles):
        text, result, _ = corpus_results[entry["file"], True, "lossless"]
        assert result is not None and result.omitted == 0
        missing = [n for n in entry["needles"] if n not in result.text]
        assert not missing, (entry["file"], missing)


@pytest.mark.parametrize("with_query", [True, False])
def test_corpus_token_savings(corpus_results, needles, with_query):
    before = after = 0
    for entry in json_entries(needles):
        text, result, _ = corpus_results[entry["file"], with_query, "final"]
        before += count_tokens(text)
        after += count_tokens(result.text)
    # without a question medium outputs stay lossless, so the saving is smaller there
    limit = 0.1 if with_query else 0.2
    assert after <= limit * before, f"{before} -> {after} tokens ({1 - after / before:.1%} saved)"


def test_corpus_lossless_tables_save_on_record_lists(corpus_results, needles):
    """The records samples: a table (keys once) is at least a third shorter, losslessly."""
    saved = {}
    for entry in json_entries(needles):
        text, result, _ = corpus_results[entry["file"], True, "lossless"]
        saved[entry["file"]] = 1 - count_tokens(result.text) / count_tokens(text)
    records = [f for f in saved if "pycountry" in f or "sqlite" in f]
    assert records
    for f in records:
        assert saved[f] >= 0.3, saved
    assert all(s > 0 for s in saved.values()), saved


def test_corpus_markers_redeem(corpus_results):
    for (file, with_query, name), (text, result, part_id) in corpus_results.items():
        if result is None:  # the lossless rendering of an already compact source, without a question
            assert name == "lossless" and "sqlite" in file and not with_query
            continue
        check_markers(text, result, part_id)
        if name == "final":
            folds = with_query or file.split("/")[1][:-4] in BLIND_FOLDED
            assert (result.omitted > 0) == folds, file


def test_corpus_line_markers_expand_back_to_the_original(corpus_results):
    checked = 0
    for (file, _, name), (text, result, part_id) in corpus_results.items():
        if result is not None and result.omitted:
            checked += assert_reversible(text, result, part_id)
    assert checked >= 3  # typescript, sqlite, pycountry: line markers only


def test_corpus_deterministic(corpus_dir, needles):
    for entry in json_entries(needles):
        text = (corpus_dir / entry["file"]).read_text()
        a, _ = compress(text, query=entry["query"])
        b, _ = compress(text, query=entry["query"])
        assert a is not None and b is not None and a.text == b.text and a.omitted == b.omitted


def test_detect_corpus(corpus_dir, needles):
    for entry in needles:
        text = (corpus_dir / entry["file"]).read_text()
        score = ENGINE.detect(Part(text))
        if entry["kind"] == "json":
            assert score >= 0.8, entry["file"]
        else:
            assert score <= 0.1, (entry["file"], score)


def test_router_picks_json_for_the_corpus(corpus_dir, needles):
    from headroom_cli.pipeline import Pipeline

    pipeline = Pipeline()
    for entry in json_entries(needles):
        text = (corpus_dir / entry["file"]).read_text()
        assert pipeline.route(Part(text)).name == "json", entry["file"]


def test_kind_hint():
    assert ENGINE.detect(Part("[1, 2]", kind_hint="json")) == 1.0
    assert ENGINE.detect(Part('{"a": 1}', kind_hint="logs")) == 0.0


# --------------------------------------------------------------------------- the rules, on other outputs


def kubectl_pods(n: int = 40, bad: int = 23) -> str:
    rng = random.Random(5)
    items = []
    for i in range(n):
        items.append({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": f"web-{i:03d}-{rng.randrange(16**5):05x}", "namespace": "prod",
                         "uid": f"{rng.randrange(16**12):012x}"},
            "spec": {"containers": [{"name": "web", "image": "registry.local/web:1.4.2"}], "nodeName": f"node-{i % 5}"},
            "status": {"phase": "CrashLoopBackOff" if i == bad else "Running", "restartCount": 17 if i == bad else 0},
        })
    return json.dumps({"apiVersion": "v1", "items": items, "kind": "List"}, indent=4) + "\n"


def test_nested_records_keep_the_anomaly_by_its_nested_status():
    text = kubectl_pods(120, 83)
    result, part_id = compress(text, FOLDING)
    assert result is not None and result.omitted > 0
    assert '"phase": "CrashLoopBackOff"' in result.text
    assert '"restartCount": 17' in result.text
    assert "web-119-" in result.text  # the last record
    assert "status.phase=Running" in result.text  # the gap says what it held
    check_markers(text, result, part_id)


def test_json_lines_fold_by_line_and_keep_failures():
    rng = random.Random(1)
    lines = [json.dumps({"ts": f"2024-06-01T00:{i // 60:02d}:{i % 60:02d}Z", "job_id": 1000 + i,
                         "result": "failed" if i in (77, 211) else "ok", "duration_ms": rng.randrange(100, 900)})
             for i in range(300)]
    text = "\n".join(lines) + "\n"
    assert ENGINE.detect(Part(text)) >= 0.8
    result, part_id = compress(text, FOLDING)
    assert result is not None and result.omitted > 0
    assert all(lines[i] in result.text for i in (0, 77, 211, -1))
    assert "result=ok" in result.text
    check_markers(text, result, part_id)
    assert assert_reversible(text, result, part_id)


def test_minified_one_line_json_uses_omission_markers():
    rows = [{"id": i, "status": "error" if i == 333 else "ok", "host": f"h{i % 7}"} for i in range(600)]
    text = json.dumps({"rows": rows}, separators=(",", ":"))
    assert "\n" not in text
    result, part_id = compress(text, FOLDING)
    assert result is not None and result.omitted > 0
    assert '{"id":333,"status":"error","host":"h4"}' in result.text
    marks = list(MARKER_RE.finditer(result.text))
    assert marks and all(m["a"] is None for m in marks)  # no line to point at
    assert "records omitted" in result.text and "status=ok" in result.text
    check_markers(text, result, part_id)


@pytest.mark.parametrize("n", [200, 3000])
def test_query_picks_the_record_and_keeps_its_spelling(n):
    rows = [{"name": f"pkg-{i}", "version": f"{i % 5}.{i % 30}.{i % 10}"} for i in range(n)]
    rows.insert(n * 2 // 3, {"name": "requests", "version": "2.31.0"})
    text = json.dumps(rows, indent=2)
    record = '{"name": "requests", "version": "2.31.0"}'
    result, part_id = compress(text, query="Which version of requests is installed?")
    assert result is not None and record in result.text
    check_markers(text, result, part_id)
    blind, _ = compress(text)
    assert blind is not None
    if n == 200:  # small: lossless; a table with the matching record in full, or plain records without a question
        assert result.omitted == 0 and blind.omitted == 0
        assert result.text.startswith("[ // 201 records; a row holds the values of")
        assert '\n "pkg-0", "0.0.0"\n' in result.text
        assert record in blind.text
        assert count_tokens(result.text) < 0.7 * count_tokens(blind.text)  # the table
    else:  # big: the bulk is folded; without a question the record is only recoverable
        assert result.omitted > 0 and blind.omitted > 0
        assert needle_status(text, blind.text, '"name": "requests"', part_id) == "recoverable"


def test_without_a_question_only_big_outputs_fold():
    medium = kubectl_pods(60, 30)  # ~10K tokens
    result, _ = compress(medium)
    assert result is not None and result.omitted == 0 and '"phase": "CrashLoopBackOff"' in result.text
    asked, _ = compress(medium, query="why is the web pod crash looping?")
    assert asked is not None and asked.omitted > 0 and '"phase": "CrashLoopBackOff"' in asked.text
    big = kubectl_pods(300, 30)
    result, _ = compress(big)
    assert result is not None and result.omitted > 0 and '"phase": "CrashLoopBackOff"' in result.text


def test_references_keep_the_entries_they_name():
    text = json.dumps({"name": "pkg", "version": "3.2.1", "dist-tags": {"latest": "4.0.0"},
                       "time": {f"{a}.{b}.{c}": f"2024-01-{1 + (a * 9 + b * 3 + c) % 28:02d}T00:00:00Z"
                                for a in range(5) for b in range(10) for c in range(30)}}, indent=2)
    result, _ = compress(text)
    assert result is not None and result.omitted > 0
    assert '"3.2.1": "2024-01-' in result.text and '"4.0.0": "2024-01-' in result.text
    assert '"0.0.0": ' in result.text and '"4.9.29": ' in result.text  # first and last


def test_source_separator_style_is_kept():
    spaced = json.dumps({"results": [{"id": i, "tag": "a" if i % 2 else "b", "score": i / 7} for i in range(40)]},
                        indent=2).replace('": ', '" : ')
    result, _ = compress(spaced, LOSSLESS)
    assert result is not None and '"id" : 7' in result.text and '"id": 7' not in result.text
    compact = json.dumps([{"id": i, "name": f"n{i}", "tags": ["x", "y"]} for i in range(60)],
                         indent=1, separators=(",", ":"))
    result, _ = compress(compact, LOSSLESS)
    assert result is not None and '"id":7,"name":"n7"' in result.text


def test_string_escapes_and_number_spellings_are_kept():
    rows = [{"url": f"https:\\/\\/example.com\\/p\\/{i}", "name": "\\u00c5land" if i == 3 else f"n{i}",
             "ratio": "0.10000000000000000555" if i == 3 else f"{i}.5", "big": "1E+400" if i == 3 else str(i)}
            for i in range(50)]
    body = ",\n".join('  {\n    "url": "%s",\n    "name": "%s",\n    "ratio": %s,\n    "big": %s\n  }'
                      % (r["url"], r["name"], r["ratio"], r["big"]) for r in rows)
    text = "[\n" + body + "\n]\n"
    json.loads(text)
    result, _ = compress(text, LOSSLESS)
    assert result is not None
    for needle in ('"url": "https:\\/\\/example.com\\/p\\/3"', '"name": "\\u00c5land"',
                   '"ratio": 0.10000000000000000555', '"big": 1E+400'):
        assert needle in result.text


def test_long_strings_are_cut_with_a_marker_inside_the_string():
    doc = '<p>Does a thing with "quotes" and \u00e9\U0001f600 ' * 40
    docs = {f"Op{i}": {"name": f"Op{i}", "documentation": doc + f"{i}</p>"} for i in range(60)}
    text = json.dumps(docs, indent=4)  # escapes: \" \u00e9 \ud83d\ude00
    result, part_id = compress(text)
    assert result is not None and result.omitted > 0
    assert "characters omitted" in result.text
    cut = re.findall(r'"documentation": ("(?:[^"\\]|\\.)*")', result.text)
    assert cut and any("characters omitted" in c for c in cut)
    for value in cut:
        assert isinstance(json.loads(value), str)  # still one valid JSON string
    check_markers(text, result, part_id)


def test_stream_of_pretty_values_and_constants_stated_once():
    values = [{"name": f"svc-{i}", "replicas": 3, "ready": 0 if i == 9 else 3} for i in range(40)]
    text = "\n".join(json.dumps(v, indent=2) for v in values)
    result, _ = compress(text)
    assert result is not None and result.omitted == 0
    assert result.text.startswith('// every record below also has "replicas": 3')
    assert '{"name": "svc-9", "ready": 0}' in result.text
    rebuilt = [dict(json.loads(line), replicas=3) for line in result.text.split("\n")[1:]]
    assert rebuilt == [json.loads(v) for v in text.replace("}\n{", "}\x00{").split("\x00")]


def test_lossless_rendering_parses_back_to_the_original():
    rng = random.Random(9)
    doc = {"meta": {"count": 30, "source": "api"}, "data": [
        {"id": i, "user": {"login": f"u{i}", "site_admin": False}, "labels": [f"l{j}" for j in range(i % 4)],
         "score": rng.random(), "note": None if i % 3 else "x" * (i + 1)} for i in range(30)]}
    text = json.dumps(doc, indent=2)
    result, _ = compress(text, LOSSLESS)
    assert result is not None and result.omitted == 0
    assert json.loads(result.text) == doc  # no constant fields here: plain JSON


def test_read_tool_listing_of_a_json_file():
    body = json.dumps({"items": [{"id": i, "state": "ok" if i != 700 else "broken"} for i in range(1000)]}, indent=2)
    text = "\n".join(f"{n:6d}\t{line}" for n, line in enumerate(body.split("\n"), 1))
    assert ENGINE.detect(Part(text, tool_name="Read", tool_input="/x/data.json")) >= 0.8
    result, part_id = compress(text, FOLDING)
    assert result is not None and result.omitted > 0
    assert '{"id": 700, "state": "broken"}' in result.text
    for m in MARKER_RE.finditer(result.text):  # the lines are the part's own, numbers and all
        named = original_lines(text)[int(m["a"]) - 1 : int(m["b"])]
        assert named and all(re.match(r" *\d+\t", ln) for ln in named)


def test_detect_leaves_other_json_shaped_things_alone():
    rg = "\n".join(['{"type":"begin","data":{"path":{"text":"a.py"}}}',
                    '{"type":"match","data":{"path":{"text":"a.py"},"lines":{"text":"x\\n"},"line_number":1}}',
                    '{"type":"end","data":{"path":{"text":"a.py"}}}'] * 20)
    assert ENGINE.detect(Part(rg)) <= 0.1
    logs = "\n".join(json.dumps({"time": f"t{i}", "level": "info", "msg": f"request {i}"}) for i in range(50))
    assert ENGINE.detect(Part(logs)) < 0.9  # a levelled log: the log engine's
    assert ENGINE.detect(Part("def f():\n    return {'a': 1}\n" * 30)) <= 0.1
    assert ENGINE.detect(Part("{'a': 1, 'b': [1, 2]}\n" * 30)) <= 0.1  # Python's repr is not JSON


@pytest.mark.parametrize("seed", range(6))
def test_random_documents(seed):
    """Any JSON: no exception; lossless output parses back to the same value; markers redeem."""
    rng = random.Random(seed)

    def value(depth: int):
        k = rng.random()
        if depth > 3 or k < 0.5:
            odd = "".join(rng.choice('ab"\\/\n\t\u00e9\u20ac\U0001f600 ]') for _ in range(rng.randrange(12)))
            return rng.choice([None, True, False, rng.randrange(-5, 1000), rng.random() * 1e6, 1e300,
                               "x" * rng.randrange(250, 700), odd, rng.choice(["ok", "error", "skipped"])])
        if k < 0.75:
            return [value(depth + 1) for _ in range(rng.randrange(60 if depth < 2 else 6))]
        return {f"k{rng.randrange(30)}": value(depth + 1) for _ in range(rng.randrange(40 if depth < 2 else 6))}

    for _ in range(25):
        if rng.random() < 0.5:
            doc = value(0)
        else:
            doc = [{"id": i, "v": value(2), "s": rng.choice("ab")} for i in range(rng.randrange(1, 300))]
        style = rng.choice([{"indent": 2}, {"indent": 4}, {"separators": (",", ":")}, {},
                            {"indent": 1, "ensure_ascii": False}])
        text = json.dumps(doc, **style)
        for engine in (ENGINE, FOLDING):
            result, part_id = compress(text, engine, query=rng.choice([None, "which error value"]))
            if result is None:
                continue
            assert len(result.text) < len(text)
            check_markers(text, result, part_id)
            if result.omitted == 0 and "//" not in result.text:
                assert json.loads(result.text) == doc
            elif result.omitted:
                assert_reversible(text, result, part_id)


@pytest.mark.parametrize("text", [
    "",
    "{}",
    "[1, 2, 3]",
    "not json at all\n" * 50,
    '{"a": [1, 2, 3' + ", 4" * 300,  # cut off
    "{'a': 1}" + " " * 300,
    '"just a string"' + " " * 300,
    "[" * 5000 + "]" * 5000,
    '{"a": 1}\n{"b": \n' * 40,
    "\ufeff" + json.dumps({"k": list(range(300))}),
    json.dumps({"x": "y" * 5000}),
])
def test_edge_cases_return_none_or_a_shorter_text(text):
    result, part_id = compress(text)
    if result is not None:
        assert len(result.text) < len(text)
        check_markers(text, result, part_id)
    assert ENGINE.detect(Part(text)) <= 1.0


def test_malformed_and_small_inputs_are_left_alone():
    assert compress('{"a": 1, "b": 2}')[0] is None
    assert compress('{"a": [1, 2, 3' + ", 4" * 300)[0] is None
    assert compress("Response:\n" + json.dumps(list(range(400)), indent=2))[0] is None


def test_deadline_is_honoured():
    text = kubectl_pods(400)
    with pytest.raises(engines.EngineTimeout):
        ENGINE.compress(Part(text), Context(part_id=ccr_id(text), deadline=deadline_after(-1)))


def test_200kb_keeps_the_failed_request():
    # speed on big parts is measured by scripts/bench_engine_latency.py, not timed here
    rng = random.Random(2)
    rows = [{"id": i, "service": rng.choice(["api", "web", "db", "cache"]), "status": "error" if i == 1234 else "ok",
             "latency_ms": round(rng.lognormvariate(3, 0.5), 3),
             "at": f"2024-06-01T{i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}Z"}
            for i in range(1700)]
    text = json.dumps(rows, indent=2)
    assert 180_000 < len(text) < 260_000
    result, _ = compress(text, query="which request failed?")
    assert result is not None and '"status": "error"' in result.text
    assert compress(text, query="which request failed?")[0].text == result.text


def test_registered():
    assert engines.get("json") is not None
    assert engines.get("json").name == "json"
