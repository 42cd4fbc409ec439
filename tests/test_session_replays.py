"""The session-replay scenarios of scripts/replay_scenarios: well-formed, and every needle really in the
output of the step it is tied to.

Without Claude Code: the project is built with the scenario's own prepare() from the download cache,
each Bash step runs in it with the scenario's test environment first on PATH (as the harness runs them),
each Read is rendered the way Claude Code numbers lines, and each Edit is applied as an exact string
replacement that must match once. The real A/B replay is scripts/session_replays.py.
"""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "session_replays.py"
NAMES = sorted(p.stem for p in (REPO / "scripts" / "replay_scenarios").glob("*.py") if not p.name.startswith("_"))
FETCH = "run `scripts/session_replays.py --fetch` (scripts/setup test does) to download it"
ATTRS = ("NAME", "DESCRIPTION", "SDIST", "PROMPT", "TITLE", "FINAL", "FIXED_DIFF_LINE", "NEEDLES", "steps",
         "prepare", "fetch", "fetched")
# Each scenario's four commits, the same every run (fixed dates, fixed author): its steps name them.
COMMITS = {
    "click_choice": ["35a12ea changes: start 8.1.8", "db5796a types: say how Choice reports a bad value",
                     "9cff496 types: build the Choice message in one call", "eb7bd25 Import click 8.1.7"],
    "mi_sieve": ["a48eb72 docs: start 10.5.1", "dbd432c recipes: show sieve's empty case",
                 "7ecd217 recipes: stop the sieve's outer loop at isqrt(n)", "d13286b Import more-itertools 10.5.0"],
}


def load(name: str):
    spec = importlib.util.spec_from_file_location(f"replay_scenario_{name}",
                                                  REPO / "scripts" / "replay_scenarios" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_every_scenario_has_its_commits_pinned_here():
    assert NAMES and sorted(COMMITS) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_scenario_is_well_formed(name):
    sc = load(name)
    assert all(hasattr(sc, a) for a in ATTRS), [a for a in ATTRS if not hasattr(sc, a)]
    steps = sc.steps("/work/project")
    assert 20 <= len(steps) <= 30
    for st in steps:
        assert st["tool"] in {"Bash", "Read", "Edit"} and st["say"]
        if st["tool"] in {"Read", "Edit"}:
            assert st["input"]["file_path"].startswith("/work/project/")
    edits = [st for st in steps if st["tool"] == "Edit"]
    assert edits and sc.FIXED_DIFF_LINE.startswith("+")
    assert sc.FIXED_DIFF_LINE[1:] in "".join(st["input"]["new_string"] for st in edits)
    for label, k, text in sc.NEEDLES:
        assert 0 <= k < len(steps) and steps[k]["tool"] != "Edit", label
        assert text.strip() and "\n" not in text, label
    assert len({label for label, _, _ in sc.NEEDLES}) == len(sc.NEEDLES)
    assert len(sc.NEEDLES) >= 20


def render_read(path: Path, offset: int | None, limit: int | None) -> str:
    """A Read's text as Claude Code numbers it (line number, tab, the line)."""
    lines = path.read_text().splitlines()
    start = (offset or 1) - 1
    stop = start + (limit or 2000)
    return "\n".join(f"{n}\t{line}" for n, line in enumerate(lines[start:stop], start + 1))


def run_step(st: dict, root: Path, env: dict) -> str:
    inp = st["input"]
    if st["tool"] == "Read":
        return render_read(Path(inp["file_path"]), inp.get("offset"), inp.get("limit"))
    if st["tool"] == "Edit":
        p = Path(inp["file_path"])
        text = p.read_text()
        assert text.count(inp["old_string"]) == 1, f"Edit's old_string not once in {p}"
        p.write_text(text.replace(inp["old_string"], inp["new_string"]))
        return ""
    cp = subprocess.run(["bash", "-c", inp["command"]], cwd=root, env=env, capture_output=True, text=True,
                        timeout=300)
    return cp.stdout + cp.stderr


@pytest.mark.parametrize("name", NAMES)
def test_needles_are_in_their_steps_outputs(name, tmp_path):
    sc = load(name)
    if not sc.fetched():
        pytest.skip(f"{name}: {sc.SDIST.name} is not in {sc.SDIST.parent}: {FETCH}")
    root = sc.prepare(tmp_path)
    assert root == tmp_path / sc.NAME
    log = subprocess.run(["git", "log", "--format=%h %s"], cwd=root, capture_output=True, text=True,
                         check=True).stdout.splitlines()
    assert log == COMMITS[name]
    env = {"PATH": f"{tmp_path / 'pyenv' / 'bin'}:/usr/local/bin:/usr/bin:/bin", "HOME": str(tmp_path),
           "LANG": "C.UTF-8", "GIT_CONFIG_GLOBAL": os.devnull, "PIP_NO_INDEX": "1"}
    steps = sc.steps(str(root))
    outputs = [run_step(st, root, env) for st in steps]
    missing = [(k, label) for label, k, text in sc.NEEDLES if text not in outputs[k]]
    assert not missing
    diff = subprocess.run(["git", "diff"], cwd=root, capture_output=True, text=True, check=True).stdout
    assert sc.FIXED_DIFF_LINE in diff.splitlines()


def test_fetch_is_the_only_download_and_a_missing_cache_says_so(tmp_path):
    """Without the cache the runner measures nothing and names the fetch step."""
    env = {**os.environ, "HEADROOM_REPLAYS_CACHE": str(tmp_path / "empty")}
    cp = subprocess.run([sys.executable, str(SCRIPT), "--work", str(tmp_path / "w")], env=env,
                        capture_output=True, text=True, timeout=60)
    assert cp.returncode == 2
    assert "--fetch" in cp.stderr and not (tmp_path / "w").exists()


def test_unknown_scenario_is_one_line(tmp_path):
    cp = subprocess.run([sys.executable, str(SCRIPT), "--only", "nope", "--work", str(tmp_path)],
                        capture_output=True, text=True, timeout=60)
    assert cp.returncode == 1 and cp.stderr.count("\n") == 1 and "click_choice" in cp.stderr


def test_harness_loads_our_scenario_through_the_stand_in(tmp_path):
    """The copied harness's mock model replays our steps, and our scenario keeps its own cache path."""
    spec = importlib.util.spec_from_file_location("session_replays_script", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    if not mod.HARNESS.is_dir():
        pytest.skip(f"no shared harness at {mod.HARNESS}")
    d = mod.harness_dir(tmp_path, "click_choice")
    assert sorted(p.name for p in d.iterdir()) == sorted([*mod.HARNESS_FILES, "scenario.py"])
    sys.path.insert(0, str(d))
    try:
        spec2 = importlib.util.spec_from_file_location("mock_model_copy", d / "mock_model.py")
        mock = importlib.util.module_from_spec(spec2)
        spec2.loader.exec_module(mock)
        sc = mock.load_scenario(str(d / "scenario.py"))
    finally:
        sys.path.remove(str(d))
    ours = load("click_choice")
    assert sc.SDIST == ours.SDIST and sc.NEEDLES == ours.NEEDLES
    steps = sc.steps("/p")
    body = {"tools": [{"name": "Bash"}], "messages": [{"role": "user", "content": "go"}]}
    content, stop = mock.reply(steps, sc.FINAL, sc.TITLE, body)
    assert stop == "tool_use" and content[1]["input"] == steps[0]["input"] and content[1]["id"] == "toolu_s000"
