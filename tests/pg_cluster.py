"""A throwaway PostgreSQL cluster for the tests, in the checkout's git-ignored .cache/pg.

`python tests/pg_cluster.py start` initialises it (once), starts it on a free loopback port and prints
its URL; `stop` stops it. scripts/test runs both (the tests read the URL from HEADROOM_TEST_DATABASE);
the `pg_url` fixture (conftest.py) starts one itself when that variable is unset, so one test file
runs alone. initdb and postgres refuse to run as root: as root they run as the `postgres` user
(Debian's package makes it), through runuser. Trust authentication, loopback only: test data.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

# HEADROOM_TEST_PG_ROOT: another folder, for a run that must not stop a cluster other runs share.
ROOT = Path(os.environ.get("HEADROOM_TEST_PG_ROOT") or Path(__file__).resolve().parent.parent / ".cache" / "pg")
USER = "headroom"


def bin_dir() -> Path | None:
    """The newest installed server's programs (Debian keeps them out of PATH)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _as_server_user(cmd: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return cmd
    return ["runuser", "-u", "postgres", "--", *cmd]


def _run(cmd: list[str]) -> None:
    subprocess.run(_as_server_user(cmd), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                   timeout=120)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _owner_ready(data: Path) -> None:
    data.parent.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        account = pwd.getpwnam("postgres")
        data.mkdir(mode=0o700, exist_ok=True)
        os.chown(data, account.pw_uid, account.pw_gid)
        os.chown(data.parent, account.pw_uid, account.pw_gid)


def url(port: int, database: str = "postgres") -> str:
    return f"postgresql://{USER}@127.0.0.1:{port}/{database}"


def start(root: Path = ROOT) -> str:
    """Start the cluster (made on first use) and return the URL of its ``postgres`` database."""
    programs = bin_dir()
    if programs is None:
        raise RuntimeError("PostgreSQL is not installed: apt-get install postgresql (scripts/test does)")
    data = root / "data"
    if not (data / "PG_VERSION").exists():
        _owner_ready(data)
        _run([str(programs / "initdb"), "-D", str(data), "-U", USER, "--auth=trust", "-E", "UTF8", "--no-sync"])
    running = _port_file(root)
    if running is not None and _accepts(running):
        return url(running)
    port = _free_port()
    options = f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={root} -c fsync=off"
    _run([str(programs / "pg_ctl"), "-D", str(data), "-l", str(root / "server.log"), "-o", options, "-w",
          "-t", "60", "start"])
    (root / "port").write_text(str(port))
    return url(port)


def running(root: Path = ROOT) -> bool:
    """Whether this checkout's cluster is up already (another test run's, or scripts/test's)."""
    port = _port_file(root)
    return port is not None and (root / "data" / "postmaster.pid").exists() and _accepts(port)


def stop(root: Path = ROOT, mode: str = "fast") -> None:
    programs = bin_dir()
    if programs is None or not (root / "data" / "postmaster.pid").exists():
        return
    _run([str(programs / "pg_ctl"), "-D", str(root / "data"), "-m", mode, "-w", "stop"])


def restart_server(root: Path = ROOT) -> None:
    """Stop and start it again on the same port (the tests of a database restarted under load)."""
    port = _port_file(root)
    stop(root)
    programs = bin_dir()
    options = f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={root} -c fsync=off"
    _run([str(programs / "pg_ctl"), "-D", str(root / "data"), "-l", str(root / "server.log"), "-o", options,
          "-w", "-t", "60", "start"])


def _port_file(root: Path) -> int | None:
    try:
        return int((root / "port").read_text())
    except (OSError, ValueError):
        return None


def _accepts(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def wait_until_up(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not _accepts(port):
        if time.monotonic() > deadline:
            raise RuntimeError(f"PostgreSQL did not come back on port {port}")
        time.sleep(0.1)


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "start":
        print(start())
    elif command == "stop":
        stop()
    else:
        sys.exit("usage: pg_cluster.py start|stop")
