"""`headroom compress IMAGE --json` (both providers' billed tokens), `headroom retrieve ID --out FILE`
(the original bytes), and a retrieval of an image as lines (a clear answer, not base64)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from headroom_cli.markers import find_markers
from headroom_cli.retrieve import ToolFailure, redeem
from headroom_cli.store import Store

from image_samples import photo_jpeg, small_png, terminal_png


def headroom(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "headroom_cli", *args], capture_output=True, env={**os.environ},
                          timeout=120)


def test_compress_image_json_shows_both_providers_and_stores_the_original(tmp_path, headroom_home):
    image = tmp_path / "screen.png"
    image.write_bytes(terminal_png())
    run = headroom("compress", str(image), "--json")
    assert run.returncode == 0, run.stderr
    shown = json.loads(run.stdout)
    assert shown["kind"] == "image" and shown["engine"] == "image"
    assert shown["providers"]["anthropic"]["tokens_before"] == 1638  # 1920x1080 fitted to 1.23 MP
    assert shown["providers"]["openai"]["tokens_before"] == 1105  # 1365x768: 6 tiles
    anthropic, openai = shown["providers"]["anthropic"], shown["providers"]["openai"]
    assert anthropic["tokens_after"] <= 0.6 * anthropic["tokens_before"]
    assert openai["tokens_after"] <= 0.6 * openai["tokens_before"]  # its empty right side cut (layout.py)
    for numbers in (anthropic, openai):
        assert numbers["bytes_after"] < numbers["bytes_before"]
    [found] = find_markers(shown["text"])
    assert found["id"] == shown["ccr_ids"][0]

    back = tmp_path / "back.png"
    run = headroom("retrieve", shown["ccr_ids"][0], "--out", str(back))
    assert run.returncode == 0, run.stderr
    assert back.read_bytes() == image.read_bytes()

    run = headroom("retrieve", shown["ccr_ids"][0])  # an image is not printed as base64 lines
    assert run.returncode == 2 and b"--out FILE" in run.stderr and not run.stdout


def test_compress_image_writes_the_new_image_to_stdout(tmp_path):
    image = tmp_path / "photo.jpg"
    image.write_bytes(photo_jpeg())
    run = headroom("compress", str(image), "--provider", "openai")
    assert run.returncode == 0
    assert run.stdout.startswith(b"\xff\xd8\xff") and len(run.stdout) < len(image.read_bytes())


def test_small_image_is_left_as_it_is(tmp_path):
    image = tmp_path / "small.png"
    image.write_bytes(small_png())
    shown = json.loads(headroom("compress", str(image), "--json").stdout)
    assert shown["engine"] is None and shown["ccr_ids"] == []
    assert shown["providers"]["anthropic"]["tokens_after"] == shown["providers"]["anthropic"]["tokens_before"]


def test_retrieve_out_writes_text_originals_too(tmp_path, headroom_home):
    headroom_home.mkdir(parents=True, exist_ok=True)
    store = Store(headroom_home / "store.sqlite3")
    store.put("hr_0123456789abcdef", "text", "héllo\nworld\n")
    store.close()
    out = tmp_path / "out.txt"
    assert headroom("retrieve", "hr_0123456789abcdef", "--out", str(out)).returncode == 0
    assert out.read_bytes() == "héllo\nworld\n".encode()


def test_the_model_asking_for_an_image_as_lines_gets_a_clear_answer(tmp_path):
    store = Store(tmp_path / "s.sqlite3")
    store.put("hr_0123456789abcdef", "image", "aGVsbG8=")
    with pytest.raises(ToolFailure, match="is an image"):
        redeem(store, "hr_0123456789abcdef")
    store.close()
