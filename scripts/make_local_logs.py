#!/usr/bin/env python3
"""Make long real logs for the logs bench by running real servers on 127.0.0.1 (nothing else is reached).

Each server is started in a scratch directory, driven by a scripted mix of requests, stopped, and its
log cut to its first lines (at most ``MAX_LINES`` and ``MAX_BYTES``) into ``tests/data/logs/local-long/``:

- nginx: access and error logs of a request mix (pages, 404 probes by a "bot", a proxied API whose
  upstream answers 500 now and then, a proxied path whose upstream is down: 502 and connect errors).
- PostgreSQL: the server log under pgbench with connections, slow statements and real errors
  (unique violation, syntax error, division by zero, a deadlock between two sessions).
- redis-server (loglevel verbose): client connections under redis-benchmark, saves, restarts.
- ZooKeeper (log4j): a standalone server with clients connecting and dropping, restarted; and a quorum
  of three (elections while peers are down, the leader stopped and restarted).
- sshd (VERBOSE, ``-E`` file): password guesses, key logins, scanners.
- a Flask app (Python logging): requests, warnings, tracebacks of its bugs.

    .venv/bin/python scripts/make_local_logs.py nginx postgres redis zookeeper zk_quorum sshd flask
    HEADROOM_LOGS_OUT=/tmp/logs .venv/bin/python scripts/make_local_logs.py   # all, elsewhere

Needs the Debian packages nginx-light, postgresql, redis-server, zookeeper, openssh-server, sshpass
(and Flask, in the venv). Seeded: the request mix is the same on every run; times, ports and pids
are the run's own.
"""

from __future__ import annotations

import http.client
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "logs" / "local-long"
MAX_LINES = 4_000
MAX_BYTES = 400_000  # small enough for git


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cut(src: Path, dest: Path, max_lines: int = MAX_LINES, max_bytes: int = MAX_BYTES) -> None:
    """The log's first lines, at most ``max_lines`` of them and ``max_bytes`` in all."""
    lines = src.read_text(errors="replace").splitlines(keepends=True)[:max_lines]
    size = 0
    for count, line in enumerate(lines):
        size += len(line.encode())
        if size > max_bytes:
            lines = lines[:count]
            break
    dest.write_text("".join(lines))
    print(f"{dest.name}: {len(lines)} lines")


# ---- nginx ---------------------------------------------------------------------------------------

class Upstream(BaseHTTPRequestHandler):
    """The API behind nginx: answers JSON, and 500 for one request in about forty."""
    rng = random.Random(7)

    def do_GET(self) -> None:  # noqa: N802
        if self.path.startswith("/api/orders") and self.rng.random() < 0.025:
            self.send_error(500, "database timeout")
            return
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET  # noqa: N815

    def log_message(self, *args) -> None:
        pass


NGINX_CONF = """
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log info;
events {{ worker_connections 64; }}
http {{
  access_log {d}/access.log combined;
  client_body_temp_path {d}/tmp; proxy_temp_path {d}/tmp; fastcgi_temp_path {d}/tmp;
  uwsgi_temp_path {d}/tmp; scgi_temp_path {d}/tmp;
  server {{
    listen 127.0.0.1:{port};
    root {d}/www;
    location /api/ {{ proxy_pass http://127.0.0.1:{up}; }}
    location /legacy/ {{ proxy_pass http://127.0.0.1:{dead}; }}
    location = /admin {{ deny all; }}
  }}
}}
"""

PAGES = ["/", "/index.html", "/about.html", "/blog/", "/blog/post-1.html", "/blog/post-2.html", "/static/app.css",
         "/static/app.js", "/static/logo.png", "/favicon.ico", "/robots.txt", "/docs/install.html"]
PROBES = ["/wp-login.php", "/.env", "/.git/config", "/phpmyadmin/", "/admin.php", "/xmlrpc.php", "/cgi-bin/test.cgi",
          "/backup.zip", "/config.json", "/server-status", "/wp-content/plugins/", "/vendor/phpunit/"]
AGENTS = ["Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0",
          "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0 Safari/537.36",
          "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
          "curl/7.88.1", "python-requests/2.31.0",
          "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"]


def nginx_site(d: Path) -> None:
    for page in PAGES:
        path = d / "www" / page.lstrip("/")
        if page.endswith("/"):
            path = path / "index.html"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"<html><body>{page}</body></html>\n" * random.Random(page).randint(1, 40))


def request_mix(port: int, n: int) -> None:
    rng = random.Random(15)
    for i in range(n):
        roll = rng.random()
        method, body = "GET", None
        if roll < 0.62:
            path = rng.choice(PAGES)
        elif roll < 0.82:
            path = f"/api/orders/{rng.randint(1000, 9999)}"
        elif roll < 0.86:
            method, path, body = "POST", "/api/orders", b'{"item": 3}'
        elif roll < 0.93:
            path = f"/blog/post-{rng.randint(3, 400)}.html"  # dead links: 404
        elif roll < 0.985:
            path = rng.choice(PROBES)
        elif roll < 0.995:
            path = "/legacy/report"  # its upstream is down: 502
        else:
            path = "/admin"
        agent = AGENTS[-1] if path in PROBES and rng.random() < 0.3 else rng.choice(AGENTS[:5])
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request(method, path, body=body, headers={"User-Agent": agent, "Referer": "-"})
        conn.getresponse().read()
        conn.close()


def nginx(n: int = 4_000) -> None:
    d = Path(tempfile.mkdtemp(prefix="hr-nginx-"))
    d.chmod(0o755)  # nginx's worker runs as another user
    (d / "tmp").mkdir()
    nginx_site(d)
    port, up, dead = free_port(), free_port(), free_port()
    server = ThreadingHTTPServer(("127.0.0.1", up), Upstream)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    (d / "nginx.conf").write_text(NGINX_CONF.format(d=d, port=port, up=up, dead=dead))
    subprocess.run(["nginx", "-c", str(d / "nginx.conf"), "-p", str(d)], check=True)
    time.sleep(0.5)
    try:
        request_mix(port, n)
    finally:
        subprocess.run(["nginx", "-c", str(d / "nginx.conf"), "-p", str(d), "-s", "quit"], check=False)
        time.sleep(0.5)
        server.shutdown()
    cut(d / "access.log", OUT / "nginx_access.log")
    cut(d / "error.log", OUT / "nginx_error.log")
    shutil.rmtree(d, ignore_errors=True)


# ---- PostgreSQL ----------------------------------------------------------------------------------

PG_BIN = Path("/usr/lib/postgresql/15/bin")
PG_CONF = """
listen_addresses = ''
port = {port}
unix_socket_directories = '{d}'
logging_collector = off
log_line_prefix = '%m [%p] %q%u@%d '
log_connections = on
log_disconnections = on
log_min_duration_statement = 4
log_lock_waits = on
deadlock_timeout = 200ms
log_checkpoints = on
log_autovacuum_min_duration = 0
checkpoint_timeout = 30s
"""
# Statements an application gets wrong now and then: each is a real error the server logs.
PG_ERRORS = [
    "INSERT INTO pgbench_branches (bid, bbalance) VALUES (1, 0)",  # unique violation
    "SELEC abalance FROM pgbench_accounts WHERE aid = 3",  # syntax error
    "SELECT abalance / (bid - bid) FROM pgbench_accounts WHERE aid = 7",  # division by zero
    "SELECT * FROM pgbench_acounts WHERE aid = 11",  # no such relation
    "SELECT pg_sleep(0.1), aid FROM pgbench_accounts WHERE aid = 12",  # slow
]


def as_postgres(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(["runuser", "-u", "postgres", "--", *args], **kw)


def pg_psql(d: Path, port: int, sql: str) -> None:
    as_postgres("psql", "-h", str(d), "-p", str(port), "-d", "bench", "-c", sql, capture_output=True)


def pg_deadlock(d: Path, port: int) -> None:
    """Two sessions lock two rows in opposite orders: the server detects the deadlock and logs it."""
    def session(first: int, second: int) -> None:
        pg_psql(d, port, f"BEGIN; UPDATE pgbench_accounts SET abalance = 1 WHERE aid = {first}; "
                         f"SELECT pg_sleep(0.5); UPDATE pgbench_accounts SET abalance = 2 WHERE aid = {second}; COMMIT;")
    threads = [threading.Thread(target=session, args=pair) for pair in ((101, 202), (202, 101))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def postgres(rounds: int = 10) -> None:
    d = Path(tempfile.mkdtemp(prefix="hr-pg-"))
    shutil.chown(d, "postgres")
    data, log, port = d / "data", d / "server.log", free_port()
    as_postgres(str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust", capture_output=True, check=True)
    with open(data / "postgresql.conf", "a") as conf:
        conf.write(PG_CONF.format(d=d, port=port))
    as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "start", capture_output=True, check=True)
    try:
        as_postgres("createdb", "-h", str(d), "-p", str(port), "bench", check=True)
        as_postgres("pgbench", "-h", str(d), "-p", str(port), "-i", "-s", "2", "bench", capture_output=True, check=True)
        for r in range(rounds):
            reconnect = ["-C"] if r == 1 else []  # one round opens a connection per transaction
            as_postgres("pgbench", "-h", str(d), "-p", str(port), "-c", "4", "-T", "3", *reconnect, "bench",
                        capture_output=True)
            pg_psql(d, port, PG_ERRORS[r % len(PG_ERRORS)])
            if r == 2:
                pg_deadlock(d, port)
    finally:
        as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop", capture_output=True)
    cut(log, OUT / "postgresql.log")
    shutil.rmtree(d, ignore_errors=True)


# ---- redis ---------------------------------------------------------------------------------------

def redis_cli(port: int, *args: str) -> None:
    subprocess.run(["redis-cli", "-p", str(port), *args], capture_output=True, timeout=30)


def redis(rounds: int = 5) -> None:
    """A verbose server: benchmark clients connect and leave, saves, a full memory limit, restarts."""
    d = Path(tempfile.mkdtemp(prefix="hr-redis-"))
    port, log = free_port(), d / "redis.log"
    conf = d / "redis.conf"
    conf.write_text(f"port {port}\nbind 127.0.0.1\ndir {d}\nlogfile {log}\nloglevel verbose\n"
                    f"save 5 100\ndaemonize no\n")
    for r in range(rounds):
        proc = subprocess.Popen(["redis-server", str(conf)])
        time.sleep(1.0)
        subprocess.run(["redis-benchmark", "-p", str(port), "-n", "3000", "-c", str(20 + 10 * r), "-q",
                        "-t", "set,get,lpush"], capture_output=True, timeout=120)
        redis_cli(port, "BGSAVE")
        if r == 2:
            redis_cli(port, "CONFIG", "SET", "maxmemory", "1mb")
            subprocess.run(["redis-benchmark", "-p", str(port), "-n", "500", "-c", "5", "-q", "-t", "set"],
                           capture_output=True, timeout=60)  # writes refused: OOM
            redis_cli(port, "CONFIG", "SET", "maxmemory", "0")
        time.sleep(1.0)
        if r == rounds - 1:
            proc.send_signal(signal.SIGTERM)
        else:
            redis_cli(port, "SHUTDOWN", "SAVE")
        proc.wait(timeout=30)
    cut(log, OUT / "redis.log")
    shutil.rmtree(d, ignore_errors=True)


# ---- ZooKeeper -----------------------------------------------------------------------------------

ZK_CLASSPATH = "/etc/zookeeper/conf:/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-log4j12.jar:/usr/share/java/log4j-1.2.jar"


def zk_session(port: int, close: bool) -> None:
    """A client session in ZooKeeper's wire format (jute): connect, ping once, then close it or drop
    the socket (the server logs the lost connection and, later, the session's expiry)."""
    import struct
    connect = struct.pack(">iqiqi16s?", 0, 0, 4000, 0, 16, b"\0" * 16, False)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(struct.pack(">i", len(connect)) + connect)
        sock.recv(64)
        ping = struct.pack(">ii", -2, 11)
        sock.sendall(struct.pack(">i", len(ping)) + ping)
        sock.recv(64)
        if close:
            request = struct.pack(">ii", 1, -11)
            sock.sendall(struct.pack(">i", len(request)) + request)
            sock.recv(64)


def zk_word(port: int, word: bytes) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(word)
        while sock.recv(4096):
            pass


def zookeeper(rounds: int = 3, sessions: int = 60) -> None:
    d = Path(tempfile.mkdtemp(prefix="hr-zk-"))
    port = free_port()
    (d / "zoo.cfg").write_text(f"tickTime=2000\ndataDir={d}/data\nclientPort={port}\nclientPortAddress=127.0.0.1\n"
                               f"admin.enableServer=false\n4lw.commands.whitelist=stat,ruok,srvr,mntr\n")
    command = ["java", "-cp", ZK_CLASSPATH, f"-Dzookeeper.log.dir={d}", "-Dzookeeper.root.logger=INFO,ROLLINGFILE",
               "org.apache.zookeeper.server.quorum.QuorumPeerMain", str(d / "zoo.cfg")]
    rng = random.Random(15)
    for _ in range(rounds):
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):  # wait for the port
            try:
                zk_word(port, b"ruok")
                break
            except OSError:
                time.sleep(0.3)
        for i in range(sessions):
            try:
                zk_session(port, close=rng.random() < 0.8)
            except OSError:
                pass  # the server may close first
            if i % 15 == 0:
                zk_word(port, rng.choice([b"stat", b"srvr", b"mntr", b"dump"]))  # dump is not whitelisted
        time.sleep(7)  # dropped sessions expire
        proc.terminate()
        proc.wait(timeout=30)
    cut(d / "zookeeper.log", OUT / "zookeeper.log")
    shutil.rmtree(d, ignore_errors=True)



def zk_quorum(sessions: int = 40) -> None:
    """Three servers on 127.0.0.1: the first starts alone (its peers refuse connections), the others
    join, clients come and go, the leader is stopped (a new election) and restarted. Server 1's log."""
    d = Path(tempfile.mkdtemp(prefix="hr-zkq-"))
    client = [free_port() for _ in range(3)]
    peers = "".join(f"server.{i + 1}=127.0.0.1:{free_port()}:{free_port()}\n" for i in range(3))
    procs: dict[int, subprocess.Popen] = {}

    def start(i: int) -> None:
        home = d / f"s{i + 1}"
        (home / "data").mkdir(parents=True, exist_ok=True)
        (home / "data" / "myid").write_text(f"{i + 1}\n")
        (home / "zoo.cfg").write_text(f"tickTime=500\ninitLimit=10\nsyncLimit=5\ndataDir={home}/data\n"
                                      f"clientPort={client[i]}\nclientPortAddress=127.0.0.1\n"
                                      f"admin.enableServer=false\n4lw.commands.whitelist=stat,ruok,srvr\n{peers}")
        procs[i] = subprocess.Popen(
            ["java", "-cp", ZK_CLASSPATH, f"-Dzookeeper.log.dir={home}", "-Dzookeeper.root.logger=INFO,ROLLINGFILE",
             "org.apache.zookeeper.server.quorum.QuorumPeerMain", str(home / "zoo.cfg")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def clients(n: int) -> None:
        rng = random.Random(n)
        for _ in range(n):
            try:
                zk_session(client[rng.randrange(3)], close=rng.random() < 0.8)
            except OSError:
                pass  # a server still electing refuses sessions

    start(0)
    time.sleep(6)
    start(1)
    start(2)
    time.sleep(10)
    clients(sessions)
    procs[2].terminate()  # the highest id leads: stop it
    procs[2].wait(timeout=30)
    time.sleep(8)
    clients(sessions)
    start(2)
    time.sleep(8)
    clients(sessions // 2)
    for proc in procs.values():
        proc.terminate()
        proc.wait(timeout=30)
    cut(d / "s1" / "zookeeper.log", OUT / "zookeeper_quorum.log")
    shutil.rmtree(d, ignore_errors=True)


# ---- OpenSSH -------------------------------------------------------------------------------------

SSHD_CONF = """Port {port}
ListenAddress 127.0.0.1
HostKey {d}/host_ed25519
PidFile {d}/sshd.pid
LogLevel VERBOSE
PasswordAuthentication yes
KbdInteractiveAuthentication no
UsePAM no
PermitRootLogin prohibit-password
StrictModes no
AuthorizedKeysFile {d}/authorized_keys
MaxAuthTries 3
"""
USERS = ["admin", "test", "oracle", "ubuntu", "git", "user", "pi", "guest", "ftp", "deploy", "support", "mysql"]


def ssh_attempt(port: int, d: Path, kind: str, user: str) -> None:
    base = ["-p", str(port), "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
            "-o", "ConnectTimeout=5", "-o", "LogLevel=ERROR"]
    if kind == "key":
        command = ["ssh", *base, "-i", str(d / "client"), "-o", "BatchMode=yes", "root@127.0.0.1", "true"]
    elif kind == "drop":  # a scanner: connects, sends nothing or garbage, leaves
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\n\r\n" if user == "web" else b"")
        return
    else:
        command = ["sshpass", "-p", "hunter2", "ssh", *base, "-o", "PreferredAuthentications=password",
                   "-o", "PubkeyAuthentication=no", f"{user}@127.0.0.1", "true"]
    subprocess.run(command, capture_output=True, timeout=30)


def sshd(attempts: int = 400) -> None:
    """sshd (LogLevel VERBOSE, its log to a file) under a scripted mix: password guesses for users that
    do not exist and for root, key logins that succeed, scanners that connect and leave."""
    d = Path(tempfile.mkdtemp(prefix="hr-sshd-"))
    port = free_port()
    for key in ("host_ed25519", "client"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / key)], check=True)
    shutil.copy(d / "client.pub", d / "authorized_keys")
    (d / "sshd_config").write_text(SSHD_CONF.format(d=d, port=port))
    proc = subprocess.Popen(["/usr/sbin/sshd", "-D", "-f", str(d / "sshd_config"), "-E", str(d / "sshd.log")])
    time.sleep(1.0)
    rng = random.Random(15)
    plan = []
    for _ in range(attempts):
        roll = rng.random()
        kind = "guess" if roll < 0.75 else "key" if roll < 0.9 else "drop"
        user = rng.choice(USERS) if rng.random() < 0.8 else "root"
        plan.append((kind, "web" if kind == "drop" and rng.random() < 0.5 else user))
    try:
        for kind, user in plan:
            ssh_attempt(port, d, kind, user)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    cut(d / "sshd.log", OUT / "sshd.log")
    shutil.rmtree(d, ignore_errors=True)


# ---- a Flask app (Python logging, tracebacks) ----------------------------------------------------

FLASK_APP = """
import logging, random, time
from flask import Flask, abort, jsonify, request
logging.basicConfig(filename={log!r}, level=logging.INFO,
                    format="%(asctime)s %(levelname)s [%(name)s] %(message)s")
log = logging.getLogger("shop")
app = Flask("shop")
STOCK = {{"apple": 3, "pear": 0, "plum": 12}}

@app.get("/items/<name>")
def item(name):
    log.info("lookup item=%s", name)
    return jsonify(item=name, stock=STOCK[name])  # KeyError for an unknown item: a 500 with its traceback

@app.post("/orders")
def order():
    qty = int(request.args.get("qty", "1"))  # ValueError for a bad quantity
    name = request.args.get("item", "apple")
    if STOCK.get(name, 0) < qty:
        log.warning("out of stock item=%s wanted=%d have=%d", name, qty, STOCK.get(name, 0))
        abort(409)
    log.info("order placed item=%s qty=%d", name, qty)
    return jsonify(ok=True)

@app.get("/report")
def report():
    done = sum(STOCK.values())
    return jsonify(ratio=done / (STOCK["pear"]))  # ZeroDivisionError
"""


def flask_app(n: int = 1_500) -> None:
    """A small Flask app (werkzeug's server) logging through Python's logging to a file: requests,
    warnings, and the tracebacks of its bugs (unknown item, bad quantity, a division by zero)."""
    d = Path(tempfile.mkdtemp(prefix="hr-flask-"))
    port, log = free_port(), d / "app.log"
    (d / "shop.py").write_text(FLASK_APP.format(log=str(log)))
    proc = subprocess.Popen([sys.executable, "-m", "flask", "--app", "shop", "run", "--port", str(port)], cwd=d,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(2.0)
    rng = random.Random(15)
    try:
        for _ in range(n):
            roll = rng.random()
            if roll < 0.6:
                method, path = "GET", f"/items/{rng.choice(['apple', 'plum', 'pear', 'apple', 'kiwi' if rng.random() < 0.05 else 'plum'])}"
            elif roll < 0.95:
                qty = rng.choice(["1", "2", "5", "20", "x" if rng.random() < 0.03 else "1"])
                method, path = "POST", f"/orders?item={rng.choice(['apple', 'plum', 'pear'])}&qty={qty}"
            else:
                method, path = "GET", "/report" if rng.random() < 0.2 else "/items/plum"
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request(method, path)
            conn.getresponse().read()
            conn.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    cut(log, OUT / "flask_app.log")
    shutil.rmtree(d, ignore_errors=True)


MAKERS = {"flask": flask_app, "sshd": sshd, "zk_quorum": zk_quorum, "zookeeper": zookeeper, "redis": redis, "nginx": nginx, "postgres": postgres}

if __name__ == "__main__":
    OUT = Path(os.environ.get("HEADROOM_LOGS_OUT", OUT))  # elsewhere, to try it without touching the data
    OUT.mkdir(parents=True, exist_ok=True)
    for name in sys.argv[1:] or list(MAKERS):
        MAKERS[name]()
