"""`pip install .` must carry everything the commands need at run time."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_wheel_carries_wrappers_demo_data_and_the_console_script(tmp_path):
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path), str(REPO)],
                           capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr
    (wheel,) = tmp_path.glob("headroom_cli-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    wrappers = [f"headroom_cli/wrappers/{f.name}" for f in (REPO / "wrappers").glob("*.toml")]
    assert len(wrappers) >= 5  # claude, aider, codex, cursor, command
    for needed in (*wrappers, "headroom_cli/demo_data/pytest_run.txt.gz",
                   "headroom_cli/demo_data/billing_api.log.gz", "headroom_cli/engines/testlog/__init__.py",
                   "headroom_cli/mock_upstream.py"):
        assert needed in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "headroom = headroom_cli.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
    assert not any(n.startswith(("tests/", "scripts/")) for n in names)
