#!/usr/bin/env python3
"""Session replays: Headroom on real Claude Code sessions in other projects, one summary row each.

Runs the shared session-replay harness (../shared/session_replay: run.py, analyse.py, report.py,
cachesim.py, mock_model.py; read its README) on each scenario in scripts/replay_scenarios/ and, with
--shared, on the harness's own Jinja2 session. Each session runs twice with the real Claude Code and a
scripted model: A without Headroom, B under `headroom wrap claude`. The harness is copied into the
scenario's work directory with the scenario beside it as scenario.py, so nothing in ../shared changes.

    scripts/session_replays.py --fetch           # once, with network: each scenario's sdist and wheels
                                                 # into .cache/replays/ (nothing else downloads)
    scripts/session_replays.py                   # every scenario of ours, A and B, then the table
    scripts/session_replays.py --shared          # and the shared Jinja2 session as a last row
    scripts/session_replays.py --only click_choice --json
    scripts/session_replays.py --analyse-only    # re-read the last runs, nothing re-run

Columns: the share of A's input tokens that is the conversation (the rest is Claude Code's tools and
system prompt, which Headroom leaves alone: it bounds what B/A can reach); net input $ after caching
for A and B and B/A; needles (the facts the agent uses next)
verbatim / behind a marker / lost in B; requests of B that break the cached prefix; markers redeemed
exactly / markers; tokens wrap adds to every request. Each scenario's full report (every table) is
written to <work>/<name>/report.md. Exit 0 when every scenario measured (whatever it found), 2 when one
could not be measured (see the harness's README), 1 on a usage error.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = REPO / "scripts" / "replay_scenarios"
HARNESS = REPO.parent / "shared" / "session_replay"
HARNESS_FILES = ("run.py", "analyse.py", "report.py", "cachesim.py", "mock_model.py")
SHARED = "jinja2"  # the harness's own scenario, run as it is with --shared

# The harness loads `scenario` by file; this stand-in loads ours from where it lives, so its own
# paths (the download cache) resolve from the checkout, not from the work directory.
SHIM = '''"""Stand-in written by scripts/session_replays.py: the scenario is {path}."""
import importlib.util as _u
_spec = _u.spec_from_file_location("replay_scenario_{name}", {path!r})
_mod = _u.module_from_spec(_spec)
_spec.loader.exec_module(_mod)
globals().update({{k: v for k, v in vars(_mod).items() if not k.startswith("__")}})
'''


def ours() -> list[str]:
    return sorted(p.stem for p in SCENARIOS.glob("*.py") if not p.name.startswith("_"))


def load(name: str):
    spec = importlib.util.spec_from_file_location(f"replay_scenario_{name}", SCENARIOS / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def harness_dir(work: Path, name: str) -> Path:
    """The harness as of now, with this scenario as its scenario.py, in <work>/<name>/harness."""
    d = work / name / "harness"
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    for f in HARNESS_FILES:
        shutil.copy(HARNESS / f, d / f)
    if name == SHARED:
        shutil.copy(HARNESS / "scenario.py", d / "scenario.py")
        (d / "vendor").symlink_to(HARNESS / "vendor")
    else:
        (d / "scenario.py").write_text(SHIM.format(path=str(SCENARIOS / f"{name}.py"), name=name))
    return d


def run_harness(name: str, work: Path, args: argparse.Namespace) -> dict:
    """One scenario through run.py --json; the parsed summary, or {"error": ...}."""
    d = harness_dir(work, name)
    argv = [str(REPO / ".venv" / "bin" / "python"), str(d / "run.py"), "--json", "--headroom-repo", str(REPO),
            "--work", str(work / name / "session")]
    if args.analyse_only:
        argv.append("--analyse-only")
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("SESSION_REPLAY_IN_VENV", None)
    cp = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=1800)
    if cp.returncode != 0:
        return {"error": (cp.stderr.strip().splitlines() or [f"exit {cp.returncode}"])[-1]}
    return json.loads(cp.stdout)


def row(name: str, s: dict) -> dict:
    """The summary row of one scenario's --json output."""
    if "error" in s:
        return {"scenario": name, "error": s["error"]}
    ta = s["totals"]["A"]
    a, b = ta["usd_in"], s["totals"]["B"]["usd_in"]
    nd, mk = s["needles"], s["markers"]
    return {"scenario": name, "description": s["scenario"]["name"], "steps": s["scenario"]["steps"],
            # What Headroom may touch at all: the conversation, not Claude Code's tools and system prompt.
            "A_messages_share": round(ta["messages_tok"] / ta["tokens"], 3) if ta["tokens"] else None,
            "A_usd_in": round(a, 4), "B_usd_in": round(b, 4), "B_over_A": round(b / a, 3) if a else None,
            "needles": nd["in_A"], "verbatim": nd["verbatim_in_B"], "behind_marker": nd["behind_marker"],
            "lost": nd["lost"], "cache_breaks": s["cache_stability"]["B_requests_not_extending_bytes"],
            "unstable_results": s["cache_stability"]["B_unstable_results"],
            "markers": mk["markers"], "markers_exact": mk["exact"], "B_completed": s["B_completed"],
            "wrap_overhead_tokens": s["extra_in_B"]["tools_tokens"] + s["extra_in_B"]["first_message_tokens"],
            "not_verbatim": [f"{n['k']}: {n['needle']} ({n['status']})" for n in nd["each"]
                             if n["in_A_sent"] and n["status"] != "verbatim"],
            "warnings": s["harness_warnings"], "report": s["report_file"]}


def table(rows: list[dict]) -> str:
    out = ["| scenario | A: messages' share of tokens | net $ A | net $ B | B/A | needles verbatim / marker / lost "
           "| cache breaks | markers exact | wrap tokens/req |", "|---|---:|---:|---:|---:|---|---:|---:|---:|"]
    notes = []
    for r in rows:
        if "error" in r:
            out.append(f"| {r['scenario']} | not measured: {r['error']} | | | | | | | |")
            continue
        out.append(f"| {r['scenario']} | {r['A_messages_share']:.0%} | {r['A_usd_in']:.4f} | {r['B_usd_in']:.4f} | {r['B_over_A']:.2f} "
                   f"| {r['verbatim']}/{r['needles']} / {r['behind_marker']} / {r['lost']} | {r['cache_breaks']} "
                   f"| {r['markers_exact']} of {r['markers']} | {r['wrap_overhead_tokens']} |")
        if not r["B_completed"]:
            notes.append(f"- {r['scenario']}: B did not complete the session as scripted")
        notes += [f"- {r['scenario']}, not verbatim in B: step {n}" for n in r["not_verbatim"]]
        notes += [f"- {r['scenario']}, harness warning: {w}" for w in r["warnings"]]
        notes.append(f"- {r['scenario']}: {r['description']}; every table in {r['report']}")
    return "\n".join(out + ([""] + notes if notes else []))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fetch", action="store_true", help="download what the scenarios need into .cache/replays "
                                                         "(the only network use), then stop")
    ap.add_argument("--only", action="append", metavar="NAME", help=f"run this scenario (repeatable): "
                                                                    f"{', '.join(ours() + [SHARED])}")
    ap.add_argument("--shared", action="store_true", help=f"also run the harness's own {SHARED} session")
    ap.add_argument("--work", default=str(Path(tempfile.gettempdir()) / "headroom-session-replays"),
                    help="work directory, one folder per scenario (default: %(default)s)")
    ap.add_argument("--analyse-only", action="store_true", help="no new runs: re-analyse the last ones")
    ap.add_argument("--json", action="store_true", help="print the rows as JSON instead of a table")
    a = ap.parse_args()
    names = a.only or ours() + ([SHARED] if a.shared else [])
    unknown = [n for n in names if n not in ours() + [SHARED]]
    if unknown:
        print(f"session_replays: no scenario {', '.join(unknown)} (have: {', '.join(ours() + [SHARED])})",
              file=sys.stderr)
        return 1
    if a.fetch:
        for n in names:
            if n != SHARED:
                load(n).fetch()
                print(f"{n}: fetched into {load(n).CACHE}")
        return 0
    if not HARNESS.is_dir():
        print(f"session_replays: no harness at {HARNESS}", file=sys.stderr)
        return 2
    missing = [n for n in names if n != SHARED and not load(n).fetched()]
    if missing:
        print(f"session_replays: {', '.join(missing)} not fetched: run scripts/session_replays.py --fetch",
              file=sys.stderr)
        return 2
    work = Path(a.work).resolve()
    rows = [row(n, run_harness(n, work, a)) for n in names]
    print(json.dumps(rows, indent=1) if a.json else table(rows))
    return 2 if any("error" in r for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
