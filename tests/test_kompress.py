"""Kompress: optional (torch, transformers), trained by scripts/train_kompress.py, shipped in models/kompress/.

Without torch (the main .venv): the engine is not registered, ``--engine kompress`` says in one line
how to get it, and everything else is as before. With torch (``scripts/setup ml``, .cache/venv-ml,
which scripts/test runs this file in): the tiny training run writes a loadable folder, and the
shipped model's outputs on fixed inputs are stable, lossless through their markers, never longer.
"""

from __future__ import annotations

import importlib.util
import json
import os
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest

from headroom_cli import engines
from headroom_cli.engines import Context, Part
from headroom_cli.engines.base import deadline_after
from headroom_cli.markers import ccr_id, find_markers, original_lines
from headroom_cli.pipeline import Pipeline

REPO = Path(__file__).resolve().parents[1]
MODEL = REPO / "models" / "kompress"
HAVE_ML = all(importlib.util.find_spec(m) is not None for m in ("torch", "transformers", "numpy", "safetensors"))
needs_ml = pytest.mark.skipif(not HAVE_ML, reason="Kompress needs torch and transformers (the [ml] extra): "
                              "scripts/setup ml installs them into .cache/venv-ml, where scripts/test runs this file")
GOLDEN = REPO / "tests" / "data" / "kompress" / "golden.json"


def _cli(*args: str, stdin: str | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "headroom_cli", *args], input=stdin, capture_output=True,
                          text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})})


def fixed_input() -> str:
    """A build log with prose around it: routine lines, one error, one rare line, a summary."""
    lines = ["Build started for project inventory-service (profile: release)", ""]
    for i in range(120):
        lines.append(f"  compiling module pkg/mod{i:03d}.go ({i * 37 % 900 + 100} lines) ... done in {i % 9 + 1}.{i % 7}s")
        if i == 77:
            lines.append("ERROR: pkg/mod077.go:41: undefined: ledgerBalance (did you mean LedgerBalance?)")
        if i == 40:
            lines.append("note: cache directory /var/cache/build-7731 was rotated before this step")
    lines += ["", "Summary: 120 modules, 1 error, 0 warnings; build FAILED after 412.8s", ""]
    return "\n".join(lines)


def expand(text: str, original: str) -> str:
    """The output with every marker replaced by the original lines it names."""
    lines = original_lines(original)
    out = []
    for line in text.split("\n"):
        found = find_markers(line)
        if found and found[0].group(0) == line:
            a, b = int(found[0].group("a")), int(found[0].group("b"))
            out.append("".join(lines[a - 1:b]).removesuffix("\n"))
        else:
            out.append(line)
    return "\n".join(out)


# --- without torch: the product as before ------------------------------------------------------------

@pytest.mark.skipif(HAVE_ML, reason="checks the install without the [ml] extra")
def test_without_torch_kompress_is_not_registered_and_says_so_in_one_line(tmp_path):
    assert engines.get("kompress") is None
    assert "kompress" not in {e.name for e in engines.registered()}
    src = tmp_path / "in.txt"
    src.write_text(fixed_input())
    done = _cli("compress", str(src), "--engine", "kompress", env={"HEADROOM_HOME": str(tmp_path)})
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0, done.stderr
    assert "Kompress is off" in done.stderr and "headroom-compress[ml]" in done.stderr
    assert "torch" not in sys.modules  # nothing imported torch on the way
    plain = _cli("compress", str(src), env={"HEADROOM_HOME": str(tmp_path)})  # as before Kompress: no word of it
    assert plain.returncode == 0 and plain.stderr == "" and "kompress" not in plain.stdout.lower()


def test_the_proxy_banner_says_once_whether_kompress_runs_and_why_not(monkeypatch):
    from headroom_cli.config import Settings
    from headroom_cli.ui.banner import banner
    from rich.console import Console

    def shown(**env) -> str:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        console = Console(width=300, record=True)
        settings = Settings(host="127.0.0.1", port=1, anthropic_upstream="u", openai_upstream="u", home=Path("h"),
                            compress=True)
        console.print(banner("proxy", "http://127.0.0.1:1", settings, "s"))
        return next(line for line in console.export_text().splitlines() if "kompress" in line)

    if HAVE_ML:
        assert re.search(r"kompress\s+on\b", shown(HEADROOM_KOMPRESS="on"))
    else:
        assert "off: it needs" in shown() and "headroom-compress[ml]" in shown()
    assert "off (HEADROOM_KOMPRESS=off)" in shown(HEADROOM_KOMPRESS="off")


def test_engine_option_forces_one_engine_and_rejects_unknown_names(tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("\n".join(f"waiting for lock ({i % 3})" for i in range(400)) + "\n")
    env = {"HEADROOM_HOME": str(tmp_path)}
    done = _cli("compress", str(src), "--engine", "text", "--json", env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["engine"] == "text"
    # the json engine cannot read this text: forced, it is asked anyway, finds nothing, the text passes through
    done = _cli("compress", str(src), "--engine", "json", "--json", env=env)
    assert json.loads(done.stdout)["text"] == src.read_text()
    done = _cli("compress", str(src), "--engine", "nosuch", env=env)
    assert done.returncode == 2 and "not an engine" in done.stderr


# --- with torch ----------------------------------------------------------------------------------

@needs_ml
def test_tiny_training_writes_a_folder_transformers_loads(tmp_path):
    out = tmp_path / "kompress"
    done = subprocess.run([sys.executable, str(REPO / "scripts" / "train_kompress.py"), "--tiny", "--out", str(out)],
                          capture_output=True, text=True, timeout=240, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.returncode == 0, done.stderr[-2000:]
    assert {"config.json", "model.safetensors", "metrics.json"} <= {p.name for p in out.iterdir()}
    from transformers import AutoConfig, AutoModel

    import headroom_cli.kompress.modeling as modeling

    assert isinstance(AutoModel.from_pretrained(str(out)), modeling.KompressModel)
    assert AutoConfig.from_pretrained(str(out)).model_type == "kompress"


def _kompress(text: str, query: str | None = None):
    engine = engines.get("kompress")
    assert engine is not None, "torch is installed, so Kompress must be registered"
    return engine.compress(Part(text=text, query=query), Context(part_id=ccr_id(text), deadline=deadline_after(30)))


@needs_ml
def test_shipped_model_is_in_huggingface_form_and_small():
    names = {p.name for p in MODEL.iterdir()}
    assert {"config.json", "model.safetensors", "README.md"} <= names
    assert sum(p.stat().st_size for p in MODEL.iterdir()) < 50 * 2**20
    assert json.loads((MODEL / "config.json").read_text())["model_type"] == "kompress"


@needs_ml
def test_shipped_model_output_on_a_fixed_input_is_stable_and_lossless():
    text = fixed_input()
    first, second = _kompress(text), _kompress(text)
    assert first is not None and first.omitted > 0
    assert first.text == second.text  # deterministic
    assert len(first.text) < len(text)  # never grows
    assert expand(first.text, text) == text  # every marker redeems exactly the lines it names
    assert "ERROR: pkg/mod077.go:41: undefined: ledgerBalance (did you mean LedgerBalance?)" in first.text
    golden = json.loads(GOLDEN.read_text())
    assert first.text == golden["fixed_input"], "the shipped model's output changed: retrain? update tests/data/kompress"


@needs_ml
def test_query_keeps_the_lines_that_mention_it():
    text = fixed_input()
    out = _kompress(text, query="what happened to build-7731?")
    assert "note: cache directory /var/cache/build-7731 was rotated before this step" in out.text
    assert expand(out.text, text) == text


@needs_ml
def test_forced_through_the_pipeline_on_prose_the_output_never_grows():
    paragraphs = [f"Paragraph {i}: the scheduler retries a job {i} times before it gives up, and each retry "
                  f"waits twice as long as the one before." for i in range(60)]
    for text in ("\n".join(paragraphs), "\n\n".join(paragraphs[:30]), "short\n" * 30):
        outcome = Pipeline(engine="kompress").run(Part(text=text))
        assert len(outcome.text) <= len(text)
        if outcome.part_id:
            assert expand(outcome.text, text) == text


def test_keep_floor_protects_alerts_results_summaries_focus_and_the_ends():
    from headroom_cli.kompress.rules import protected

    lines = ["$ runner --all"] + [f"step {i}: copied 12 files" for i in range(30)]
    lines[10] = "fatal: remote end hung up unexpectedly"
    lines[11] = "  while fetching refs/heads/main"
    lines[20] = "cache key 7f3a for orbital-lander reused"
    lines += ["", " SUMMARY ", "", "pass SyncProject(core) (2ms)", "pass SyncProject(db) (1ms)", "",
              "routine tail line", "Finished: 31 steps, 1 failed"]
    keep = protected(lines, ("orbital-lander",))
    kept = {line for line, k in zip(lines, keep) if k}
    assert {"$ runner --all", lines[10], lines[11], lines[12], lines[20], " SUMMARY ", "pass SyncProject(core) (2ms)",
            "pass SyncProject(db) (1ms)", "Finished: 31 steps, 1 failed"} <= kept
    assert lines[13] not in kept and lines[5] not in kept and "routine tail line" not in kept
    assert not protected(lines)[20]  # the focus line only with its query


def test_keep_mask_keeps_the_floor_and_gives_back_runs_too_short_to_pay_for_a_marker():
    from headroom_cli.kompress.select import MIN_RUN_CHARS, keep_mask

    lines = [f"routine line {i:04d} " + "x" * 40 for i in range(200)]
    probs = [0.0] * 200
    floor = [i == 100 for i in range(200)]
    keep = keep_mask(lines, probs, 0.5, floor)
    assert keep[0] and keep[-1] and keep[100]  # the ends, and the floor whatever the model says
    assert not any(keep[1:100]) and not any(keep[101:199])  # long low-scored runs go
    short = MIN_RUN_CHARS // 60  # a run of this many lines is shorter than MIN_RUN_CHARS: it stays
    probs = [0.0 if 50 <= i < 50 + short else 1.0 for i in range(200)]
    assert all(keep_mask(lines, probs, 0.5))


@needs_ml
def test_kompress_is_the_default_fallback_for_unclaimed_text_and_off_turns_it_off(monkeypatch):
    rng = random.Random(5)  # an outline of symbols per file: no specialised engine's format
    syllables = "ka lo mi ren tu vas pol ex dri nom sel ut ar".split()
    name = lambda: "".join(rng.choice(syllables) for _ in range(3))  # noqa: E731
    lines = []
    for _ in range(90):
        lines.append(f"src/{name()}/{name()}.rs")
        for kind in rng.sample(["struct", "enum", "function", "constant", "module"], rng.randint(1, 3)):
            lines.append(f"{kind}: " + ", ".join(name() for _ in range(rng.randint(1, 6))))
        lines.append("")
    text = "\n".join(lines) + "\n"
    monkeypatch.delenv("HEADROOM_KOMPRESS", raising=False)
    on = Pipeline().run(Part(text=text))
    assert on.engine == "kompress" and expand(on.text, text) == text and len(on.text) < len(text)
    monkeypatch.setenv("HEADROOM_KOMPRESS", "off")
    assert Pipeline().run(Part(text=text)).engine != "kompress"


@needs_ml
def test_warm_up_loads_the_model_so_a_first_request_does_not_pay_for_it():
    code = ("import sys; from headroom_cli import kompress, warmup; warmup._load_kompress(); "
            "print(kompress.model_dir() in kompress._models, 'torch' in sys.modules)")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert done.stdout.split() == ["True", "True"], done.stderr[-2000:]
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**env, "HEADROOM_KOMPRESS": "off"})
    assert done.stdout.split() == ["False", "False"], done.stderr[-2000:]


def test_line_scores_rank_the_error_first_or_say_kompress_is_off():
    from headroom_cli.kompress import line_scores

    lines = fixed_input().split("\n")
    scores = line_scores(lines)
    if not HAVE_ML:
        assert scores is None
        return
    assert len(scores) == len(lines) and all(0.0 <= p <= 1.0 for p in scores)
    error = next(i for i, line in enumerate(lines) if line.startswith("ERROR:"))
    routine = [p for line, p in zip(lines, scores) if "compiling module" in line]
    assert scores[error] > max(routine)


if __name__ == "__main__":  # after retraining: python tests/test_kompress.py writes the golden output
    GOLDEN.parent.mkdir(parents=True, exist_ok=True)
    GOLDEN.write_text(json.dumps({"fixed_input": _kompress(fixed_input()).text}, indent=1) + "\n")
    print(GOLDEN.read_text())
