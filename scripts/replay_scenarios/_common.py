"""What every session-replay scenario here shares: the download cache, pip, git at fixed dates, the
project's test environment, and the Claude Code calls the steps are written with.

Not a scenario itself (the leading underscore keeps it out of scripts/session_replays.py's list).
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
# <checkout>/.cache/replays unless HEADROOM_REPLAYS_CACHE says otherwise (git-ignored, filled by --fetch).
CACHE = Path(os.environ.get("HEADROOM_REPLAYS_CACHE") or HERE.parents[1] / ".cache" / "replays")
GITIGNORE = "__pycache__/\n*.py[cod]\n.pytest_cache/\n.venv/\n.tox/\nbuild/\ndist/\n*.egg-info/\n"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def pip_download(dest: Path, *args: str) -> None:
    cp = subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check",
                         "-d", str(dest), *args], capture_output=True, text=True)
    if cp.returncode != 0:
        raise RuntimeError(f"pip download {' '.join(args)} failed: {cp.stderr.strip()[-500:]}")


def fetch(cache: Path, spec: str, sdist: str, sdist_sha256: str, requirements: list[str]) -> None:
    """The sdist (sha256 checked) and the test wheels, downloaded once."""
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / sdist
    if not path.exists() or sha256(path) != sdist_sha256:
        pip_download(cache, "--no-deps", "--no-binary", ":all:", spec)
        if sha256(path) != sdist_sha256:
            raise RuntimeError(f"{path}: sha256 {sha256(path)}, expected {sdist_sha256}")
    wheels = cache / "wheels"
    stamp = " ".join(requirements) + "\n"
    if not (wheels / ".complete").exists() or (wheels / ".complete").read_text() != stamp:
        if requirements:
            pip_download(wheels, "--no-deps", "--only-binary", ":all:", *requirements)
        wheels.mkdir(parents=True, exist_ok=True)
        (wheels / ".complete").write_text(stamp)


def fetched(cache: Path, sdist: str, requirements: list[str]) -> bool:
    done = cache / "wheels" / ".complete"
    return (cache / sdist).exists() and done.exists() and done.read_text() == " ".join(requirements) + "\n"


def git(root: Path, author: tuple[str, str], *args: str, date: int | None = None) -> str:
    env = dict(os.environ, GIT_AUTHOR_NAME=author[0], GIT_AUTHOR_EMAIL=author[1],
               GIT_COMMITTER_NAME=author[0], GIT_COMMITTER_EMAIL=author[1],
               GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_SYSTEM=os.devnull, GIT_CONFIG_NOSYSTEM="1")
    if date is not None:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = f"{date} +0000"
    return subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True,
                          text=True).stdout


def replace_once(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    if text.count(old) != 1:
        raise RuntimeError(f"scenario: expected one match in {path}, found {text.count(old)}")
    path.write_text(text.replace(old, new))


def make_pyenv(work: Path, wheels: Path, requirements: list[str], src: Path) -> Path:
    """The project's test environment, made once per work directory (offline, from the cache), with
    the project's sources on its path."""
    env = work / "pyenv"
    stamp = " ".join([sys.version.split()[0], *requirements]) + "\n"
    done = env / ".complete"
    if not (env / "bin" / "python").exists() or not done.exists() or done.read_text() != stamp:
        shutil.rmtree(env, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(env)], check=True, capture_output=True)
        if requirements:
            quiet = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INDEX="1")
            subprocess.run([str(env / "bin" / "python"), "-m", "pip", "install", "-q", "--no-index",
                            "--find-links", str(wheels), *requirements], env=quiet, check=True,
                           capture_output=True)
        done.write_text(stamp)
    site = next((env / "lib").glob("python3*/site-packages"))
    (site / "replay_project_src.pth").write_text(str(src) + "\n")
    return env


def unpack(sdist: Path, top: str, root: Path) -> None:
    """The sdist's top folder becomes root (afresh)."""
    shutil.rmtree(root, ignore_errors=True)
    tmp = root.parent / "_sdist"
    shutil.rmtree(tmp, ignore_errors=True)
    with tarfile.open(sdist) as tf:
        if hasattr(tarfile, "data_filter"):
            tf.extractall(tmp, filter="data")
        else:
            tf.extractall(tmp)  # noqa: S202 (a pinned sdist, sha256 checked at fetch)
    (tmp / top).rename(root)
    shutil.rmtree(tmp)


def fix_mtimes(root: Path, t0: int, later: dict[str, int]) -> None:
    """Every file at t0, the files later commits touched at their commit's time."""
    for p in root.rglob("*"):
        if ".git" not in p.relative_to(root).parts:
            os.utime(p, (t0, t0), follow_symlinks=False)
    os.utime(root, (t0, t0))
    for rel, t in later.items():
        os.utime(root / rel, (t, t))


def bash(cmd: str, desc: str, say: str) -> dict:
    return {"say": say, "tool": "Bash", "input": {"command": cmd, "description": desc}}


def read(root: str, path: str, say: str, offset: int | None = None, limit: int | None = None) -> dict:
    inp: dict = {"file_path": f"{root}/{path}"}
    if offset is not None:
        inp["offset"] = offset
    if limit is not None:
        inp["limit"] = limit
    return {"say": say, "tool": "Read", "input": inp}


def edit(root: str, path: str, old: str, new: str, say: str) -> dict:
    return {"say": say, "tool": "Edit", "input": {"file_path": f"{root}/{path}", "old_string": old, "new_string": new}}
