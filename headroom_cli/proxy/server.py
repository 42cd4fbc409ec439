"""Run mitmproxy in reverse mode with our addon, in a background thread of this process."""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from headroom_cli.config import Settings
from headroom_cli.db import private_tree
from headroom_cli.ledger import Ledger
from headroom_cli.proxy import errors
from headroom_cli.proxy.addon import HeadroomAddon, Upstream
from headroom_cli.proxy.boundary import bind_problem
from headroom_cli.proxy import heap
from headroom_cli.proxy.memory import Trimmer
from headroom_cli.proxy.recorder import CLOSE_DEADLINE_S, Recorder
from headroom_cli.proxy.relay import Relay
from headroom_cli.runtime import build_pipeline, new_session_id, open_store

log = logging.getLogger("headroom.proxy")


class ProxyStartError(RuntimeError):
    """The proxy could not listen (port taken, bad upstream URL); the message says which."""


def _bind_error(host: str, port: int) -> str:
    """Why host:port cannot be listened on, in the system's words plus what to do (mitmproxy only
    logs it): found by trying to bind it ourselves."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as exc:
        return f"{host!r} is not an address of this machine ({getattr(exc, 'strerror', None) or exc}); use --host 127.0.0.1"
    for family, kind, proto, _, addr in infos:
        try:
            with socket.socket(family, kind, proto) as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                probe.bind(addr)
        except OSError as exc:
            advice = {errno.EADDRINUSE: "another program listens there: pick another --port, or 0 for any free one",
                      errno.EADDRNOTAVAIL: "not an address of this machine: use --host 127.0.0.1",
                      errno.EACCES: "ports below 1024 need privileges: pick a higher --port"}.get(exc.errno)
            return f"{exc.strerror or exc}" + (f"; {advice}" if advice else "")
    return "the address may be in use: pick another --port, or 0 for any free one"


class _Ready:
    """Tells the starting thread which address mitmproxy actually bound (port 0 → a free one)."""

    def __init__(self, server: "ProxyServer"):
        self.server = server

    def running(self) -> None:
        addrs = self.server._master.addons.get("proxyserver").listen_addrs()
        self.server._bound = addrs[0][1] if addrs else None
        self.server.addon.boundary.port = self.server._bound
        self.server._ready.set()


class ProxyServer:
    """One per process: mitmproxy hands every new connection to the process-wide ``ctx.master``,
    so a second running master would silently serve the first one's port with its own addon."""

    _running: "ProxyServer | None" = None
    _running_lock = threading.Lock()

    def __init__(self, settings: Settings, session: str | None = None):
        self.settings = settings
        self.session = session or new_session_id()
        self.store = open_store(settings)
        pipeline = build_pipeline(settings, self.store)
        self.ledger = Ledger.for_recording(settings.ledger_target)
        self.recorder = Recorder(self.ledger)
        try:
            self.addon = HeadroomAddon(settings, pipeline, self.recorder, self.ledger, self.store, self.session)
        except ValueError as exc:
            raise ProxyStartError(f"bad upstream URL: {exc}") from None
        self._master = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._bound: int | None = None
        self._failure: BaseException | None = None
        self.trimmer = Trimmer()  # free memory back to the system while serving (proxy/memory.py)

    @property
    def port(self) -> int:
        assert self._bound is not None, "the proxy is not running"
        return self._bound

    @property
    def url(self) -> str:
        return f"http://{self.settings.host}:{self.port}"

    def start(self, timeout: float = 15.0) -> "ProxyServer":
        problem = bind_problem(self.settings.host, self.settings.token or self.settings.require_token)
        if problem is not None:
            raise ProxyStartError(problem)
        with ProxyServer._running_lock:
            if ProxyServer._running is not None:
                other = ProxyServer._running
                raise ProxyStartError(f"a proxy is already running in this process (port {other._bound or '?'}); "
                                      "stop it first")
            ProxyServer._running = self
        try:
            return self._start(timeout)
        except BaseException:
            self._release()
            raise

    def _start(self, timeout: float) -> "ProxyServer":
        errors.install()
        for name in ("mitmproxy", "asyncio"):
            logging.getLogger(name).setLevel(logging.WARNING if not self.settings.debug else logging.INFO)
        self._thread = threading.Thread(target=self._run, name="headroom-proxy", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise ProxyStartError("the proxy did not start within %.0f s" % timeout)
        if self._failure is not None or self._bound is None:
            self._shutdown()
            reason = f"{self._failure}" if self._failure else _bind_error(self.settings.host, self.settings.port)
            raise ProxyStartError(f"could not listen on {self.settings.host}:{self.settings.port} ({reason})")
        private_tree(self.settings.home / "mitmproxy")  # mitmproxy writes its CA files 0644
        self.trimmer.start()
        heap.settle()  # start-up done: its objects out of the collector's sight (heap.py)
        log.debug("proxy listening on %s (session %s)", self.url, self.session)
        return self

    def stop(self) -> None:
        self._shutdown()
        self._release()

    def _release(self) -> None:
        with ProxyServer._running_lock:
            if ProxyServer._running is self:
                ProxyServer._running = None

    def _shutdown(self) -> None:
        began = time.monotonic()
        self.trimmer.stop()
        if self._master is not None and self._loop is not None and not self._loop.is_closed():
            try:
                self._master.shutdown()
            except RuntimeError:
                pass  # the loop already ended
        if self._thread is not None:
            self._thread.join(timeout=10)
        # The recorder kept writing meanwhile; what is left gets the rest of one deadline for both.
        self.recorder.close(deadline=max(0.1, CLOSE_DEADLINE_S - (time.monotonic() - began)))

    def __enter__(self) -> "ProxyServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # surfaced to start() / logged, never raised in a thread
            self._failure = exc
            self._ready.set()

    async def _main(self) -> None:
        from mitmproxy import options
        from mitmproxy.master import Master

        self._loop = asyncio.get_running_loop()
        self._loop.set_exception_handler(_quiet_cancellations)
        # Compression runs in this pool (offload.run_waiting: the loop waits for it a while; the rest through
        # asyncio.to_thread). At shutdown, requests still waiting for it are dropped with their connections
        # rather than compressed first: asyncio.run would wait for them all.
        executor = ThreadPoolExecutor(thread_name_prefix="headroom-compress")
        self._loop.set_default_executor(executor)
        self.addon.pool = executor
        anthropic = Upstream.parse(self.settings.anthropic_upstream)
        confdir = self.settings.home / "mitmproxy"
        opts = options.Options(
            mode=[f"reverse:{anthropic.origin}"],
            listen_host=self.settings.host,
            listen_port=self.settings.port,
            confdir=str(confdir),
        )
        master = Master(opts, with_termlog=False)  # Master() needs the running loop
        master.addons.add(*serving_addons())
        master.addons.add(self.addon, _Ready(self))
        # Connect per request, not per client: a down upstream then yields a 502 (eager would drop
        # the client), and requests can be routed to the OpenAI upstream in the request hook.
        # keep_host_header: the client's Host is checked (boundary.py); _route sets the upstream's after.
        master.options.update(connection_strategy="lazy", keep_host_header=True)
        relay = None
        if self.store is not None and self.settings.compress and self.settings.retrieval_tool:
            relay = self.addon.relay = await Relay(self.store, self.ledger, self.session).start()
        self._master = master
        try:
            await master.run()
        finally:
            if relay is not None:
                await relay.stop()
            executor.shutdown(wait=False, cancel_futures=True)


# The mitmproxy addons a reverse proxy to HTTP(S) upstreams needs, of mitmproxy's ~30 defaults: every
# addon is asked on every hook of every flow, and the others (replay, save, map, sticky cookies,
# onboarding at mitm.it, scripts ...) are off or unused here. The listener (proxyserver) and its layers
# (next_layer), TLS to an https upstream (tlsconfig) and option checks (core) are needed; refusing
# clients from public addresses (block), no h2c upgrades (disable_h2c) and Alt-Svc pointing at us, not
# past us (update_alt_svc) are kept where the installed mitmproxy has them.
NEEDED_ADDONS = {"Core", "Proxyserver", "NextLayer", "TlsConfig"}
KEPT_ADDONS = NEEDED_ADDONS | {"Block", "DisableH2C", "UpdateAltSvc"}


def serving_addons() -> list:
    """The kept ones of mitmproxy's default addons (chosen by name: the list differs between versions)."""
    from mitmproxy.addons import default_addons

    kept = [addon for addon in default_addons() if type(addon).__name__ in KEPT_ADDONS]
    missing = NEEDED_ADDONS - {type(addon).__name__ for addon in kept}
    if missing:
        raise ProxyStartError(f"this mitmproxy version lacks the addons {', '.join(sorted(missing))}")
    return kept


def _quiet_cancellations(loop: asyncio.AbstractEventLoop, context: dict) -> None:
    # Client connections still open at shutdown end in CancelledError; that is not news.
    if isinstance(context.get("exception"), asyncio.CancelledError):
        return
    loop.default_exception_handler(context)
