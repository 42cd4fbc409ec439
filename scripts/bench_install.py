"""How long each documented install line takes on a fresh virtual environment, as a new user runs it.

For each install line, a new venv of the given Python (with the pip it ships, unless --upgrade-pip),
then ``pip install --no-cache-dir "<checkout>[EXTRA]"``, timed: the resolve (``--dry-run``, which
downloads what it must read) and the whole install, each in a venv of its own. This machine's pip
configuration (extra indexes, local wheels, constraints) is ignored so that PyPI alone answers, as on a
fresh machine. The load average is printed with the table: the times stretch with it.

    python scripts/bench_install.py [--python python3.11] [--extras ,cli,all] [--upgrade-pip] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LIMIT_S = 900  # a resolve that backtracks for longer is reported as not finished


@dataclass
class Row:
    line: str
    pip: str
    upgrade_s: float | None
    resolve_s: float | None
    install_s: float | None
    ok: bool


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_") or k == "PIP_CERT"}
    return {**env, "PIP_CONFIG_FILE": os.devnull, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}


def _timed(argv: list[str]) -> float | None:
    start = time.monotonic()
    try:
        done = subprocess.run(argv, env=_env(), capture_output=True, text=True, timeout=LIMIT_S)
    except subprocess.TimeoutExpired:
        return None
    if done.returncode != 0:
        sys.stderr.write(done.stderr[-2000:])
        return None
    return round(time.monotonic() - start, 1)


def _venv(python: str, where: Path, upgrade: bool) -> tuple[Path, float | None]:
    subprocess.run([python, "-m", "venv", str(where)], check=True)
    pip = where / "bin" / "python"
    spent = _timed([str(pip), "-m", "pip", "install", "--no-cache-dir", "-q", "--upgrade", "pip"]) if upgrade else None
    return pip, spent


def measure(python: str, extra: str, upgrade: bool) -> Row:
    target = f"{REPO}[{extra}]" if extra else str(REPO)
    with tempfile.TemporaryDirectory(prefix="headroom-install-") as tmp:
        pip, upgrade_s = _venv(python, Path(tmp) / "resolve", upgrade)
        version = subprocess.run([str(pip), "-m", "pip", "--version"], capture_output=True, text=True).stdout.split()[1]
        resolve_s = _timed([str(pip), "-m", "pip", "install", "--no-cache-dir", "--dry-run", "-q", target])
        pip, _ = _venv(python, Path(tmp) / "install", upgrade)
        install_s = _timed([str(pip), "-m", "pip", "install", "--no-cache-dir", "-q", target])
    line = f'pip install "<checkout>[{extra}]"' if extra else 'pip install "<checkout>"'
    return Row(line, version, upgrade_s, resolve_s, install_s, resolve_s is not None and install_s is not None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--python", default="python3.11")
    parser.add_argument("--extras", default=",cli,all", help="comma-separated; an empty name is the base install")
    parser.add_argument("--upgrade-pip", action="store_true", help="upgrade pip in each venv first (timed apart)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = [measure(args.python, extra.strip(), args.upgrade_pip) for extra in args.extras.split(",")]
    load = os.getloadavg()[0]
    if args.json:
        print(json.dumps({"python": args.python, "load_average_1m": load, "rows": [asdict(r) for r in rows]}, indent=1))
        return
    print(f"{args.python}, load average {load:.1f} on {os.cpu_count()} cores; seconds (— = failed or over {LIMIT_S} s)")
    print(f"{'install line':<36} {'pip':>7} {'upgrade':>8} {'resolve':>8} {'install':>8}")
    for r in rows:
        cells = [f"{v:>8.1f}" if v is not None else f"{'—':>8}" for v in (r.upgrade_s, r.resolve_s, r.install_s)]
        print(f"{r.line:<36} {r.pip:>7} {' '.join(cells)}")


if __name__ == "__main__":
    main()
