from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest_plugins = ["pg_fixtures"]  # pg_server, pg_url: a real PostgreSQL (tests/pg_cluster.py)

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus"


@pytest.fixture(scope="session")
def proxy_server_class():
    """The proxy's ProxyServer, for tests that compare the library with it. The library's own venv
    (scripts/test's Python 3.13 run against today's SDKs) installs no proxy: there they skip."""
    pytest.importorskip("mitmproxy", reason="the proxy extra is not installed (a library-only run)")
    from headroom_cli.proxy.server import ProxyServer
    return ProxyServer


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    assert (CORPUS / "needles.json").is_file(), f"the shared corpus must sit beside the checkout at {CORPUS}"
    return CORPUS


@pytest.fixture(scope="session")
def needles(corpus_dir: Path) -> list[dict]:
    return json.loads((corpus_dir / "needles.json").read_text())


@pytest.fixture(scope="session")
def log(corpus_dir: Path) -> str:
    """A real 2,000-line pytest run with one failure (samples.FAILED_IN_LOG): what the integration tests send."""
    return (corpus_dir / "tests" / "pytest_verbose_more_itertools.txt").read_text()


@pytest.fixture
def headroom(headroom_home: Path):
    """The library's state object (store, ledger, settings) on this test's HEADROOM_HOME."""
    from headroom_cli import Headroom
    from headroom_cli.config import Settings
    instance = Headroom(Settings.resolve())
    yield instance
    instance.close()


@pytest.fixture(autouse=True)
def headroom_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own state folder; nothing touches the real user data dir."""
    home = tmp_path / "headroom-home"
    monkeypatch.setenv("HEADROOM_HOME", str(home))
    for name in ("HEADROOM_PORT", "HEADROOM_ANTHROPIC_UPSTREAM", "HEADROOM_OPENAI_UPSTREAM", "HEADROOM_NO_COMPRESS"):
        monkeypatch.delenv(name, raising=False)
    return home
