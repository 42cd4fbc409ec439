"""A started proxy puts its start-up objects out of the garbage collector's sight and collects young
objects less often (proxy/heap.py): checked in a fresh process, where nothing else has done it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from headroom_cli.proxy.heap import THRESHOLDS

_SCRIPT = r"""
import gc, json, sys
from pathlib import Path
from headroom_cli.config import Settings
from headroom_cli.proxy.server import ProxyServer

before = gc.get_threshold()
settings = Settings(host="127.0.0.1", port=0, anthropic_upstream="http://127.0.0.1:9",
                    openai_upstream="http://127.0.0.1:9", compress=True, home=Path(sys.argv[1]))
server = ProxyServer(settings).start()
tracked = gc.get_objects()  # the generations the collector walks (the frozen ones are not listed)
seen = lambda obj: any(o is obj for o in tracked)
after = {"before": before, "threshold": gc.get_threshold(), "frozen": gc.get_freeze_count(),
         "addon_seen": seen(server.addon), "pipeline_seen": seen(server.addon.pipeline)}
del tracked
fresh = [object.__new__(type("Made", (), {}))]  # made while serving: still the collector's
after["fresh_seen"] = any(o is fresh[0] for o in gc.get_objects())
server.stop()
print(json.dumps(after))
"""


def test_a_started_proxy_froze_its_start_up_objects_and_set_the_thresholds(tmp_path):
    env = {**os.environ, "HEADROOM_HOME": str(tmp_path / "home")}
    done = subprocess.run([sys.executable, "-c", _SCRIPT, str(tmp_path / "home")], capture_output=True, text=True,
                          env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert tuple(found["before"]) != THRESHOLDS
    assert tuple(found["threshold"]) == THRESHOLDS
    assert found["frozen"] > 10_000
    assert not found["addon_seen"] and not found["pipeline_seen"]
    assert found["fresh_seen"]
