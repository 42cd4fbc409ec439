from __future__ import annotations

import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus"


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    assert (CORPUS / "needles.json").is_file(), f"the shared corpus must sit beside the checkout at {CORPUS}"
    return CORPUS


@pytest.fixture(scope="session")
def needles(corpus_dir: Path) -> list[dict]:
    return json.loads((corpus_dir / "needles.json").read_text())


@pytest.fixture(autouse=True)
def headroom_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own state folder; nothing touches the real user data dir."""
    home = tmp_path / "headroom-home"
    monkeypatch.setenv("HEADROOM_HOME", str(home))
    for name in ("HEADROOM_PORT", "HEADROOM_ANTHROPIC_UPSTREAM", "HEADROOM_OPENAI_UPSTREAM", "HEADROOM_NO_COMPRESS"):
        monkeypatch.delenv(name, raising=False)
    return home
