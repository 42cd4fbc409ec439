"""scripts/bench_gateway.py runs end to end with tiny settings (two workers) and prints the JSON it promises."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "bench_gateway.py"
KEYS = {"clients", "direct_rps", "proxy_rps", "added_p50_ms", "added_p99_ms", "errors"}


@pytest.mark.parametrize("workload, clients", [("conversation", [2, 3]), ("unique", [2])])
def test_bench_gateway_json_shape(workload, clients):
    done = subprocess.run([sys.executable, str(SCRIPT), "--json", "--clients", ",".join(map(str, clients)),
                           "--seconds", "1.5", "--workers", "2", "--workload", workload, "--rate", "0"],
                          capture_output=True, text=True, timeout=300, cwd=REPO)
    assert done.returncode == 0, done.stderr
    levels = json.loads(done.stdout)
    assert [level["clients"] for level in levels] == clients
    for level in levels:
        assert KEYS <= set(level) and level["workload"] == workload
        assert level["host_reference_ms"] > 0  # the host's speed, to compare runs on different machines
        assert level["errors"] == 0 and level["direct_errors"] == 0
        assert level["proxy_rps"] > 0 and level["direct_rps"] > 0
        assert level["proxy_requests"] > 0 and level["cpu_ms_per_request"] > 0
        assert level["rss_start_mb"] > 50  # two workers' engines, at least
        assert level["rss_start_mb"] <= level["rss_max_mb"] and level["rss_10s_mb"] <= level["rss_max_mb"]
        assert level["offered_rps"] is None  # closed loops: as fast as the replies come


def test_bench_gateway_rate_level_holds_its_pace():
    """``--rate R``: an open-loop level after the closed ones, its clients together sending about R a second
    (not as fast as they can: the upstream answers thousands a second)."""
    done = subprocess.run([sys.executable, str(SCRIPT), "--json", "--clients", "2", "--seconds", "3", "--workers", "2",
                           "--rate", "20", "--rate-clients", "4", "--warmup", "2"],
                          capture_output=True, text=True, timeout=300, cwd=REPO)
    assert done.returncode == 0, done.stderr
    closed, paced = json.loads(done.stdout)
    assert closed["offered_rps"] is None and paced["offered_rps"] == 20 and paced["clients"] == 4
    assert paced["errors"] == 0 and paced["direct_errors"] == 0
    assert 10 <= paced["direct_rps"] <= 25, paced  # the pace held direct, where nothing is slow
    assert closed["direct_rps"] > 3 * paced["direct_rps"]
    # the paced level is measured after its warm-up, whose memory is shown; the closed ones have none
    assert paced["warmup_s"] == 2 and paced["rss_warmup_start_mb"] > 50
    assert closed["warmup_s"] == 0 and closed["rss_warmup_start_mb"] is None


def test_conversation_workload_resends_history_and_adds_one_new_output():
    """Each client's requests re-send its conversation's history byte for byte and add one new turn;
    two clients' conversations share no tool output; bodies are about 95 KB and streamed."""
    sys.path.insert(0, str(REPO / "scripts"))
    from gateway_workloads import NEW_TURNS, Conversations

    workload = Conversations()
    one, two = workload.client(0), workload.client(1)
    bodies = [json.loads(one.next_body(n)) for n in range(NEW_TURNS + 1)]
    for earlier, later in zip(bodies, bodies[1:NEW_TURNS]):
        assert later["messages"][:len(earlier["messages"]) - 1] == earlier["messages"][:-1]
        assert len(later["messages"]) == len(earlier["messages"]) + 2 and later["stream"] is True
    assert bodies[NEW_TURNS]["metadata"] != bodies[0]["metadata"]  # then a new conversation

    def outputs(body):
        return {block["content"] for message in body["messages"] if isinstance(message["content"], list)
                for block in message["content"] if block.get("type") == "tool_result"}

    other = json.loads(two.next_body(0))
    assert not outputs(bodies[0]) & outputs(other)
    # and Headroom tells them apart, as it does real agents' conversations (their tasks differ in words)
    from headroom_cli.cache_aligner import conversation_key
    keys = {conversation_key(body, "anthropic-messages") for body in (bodies[0], other, bodies[NEW_TURNS])}
    assert len(keys) == 3
    assert conversation_key(bodies[1], "anthropic-messages") == conversation_key(bodies[0], "anthropic-messages")
    sizes = [len(json.dumps(body)) for body in bodies[:NEW_TURNS]]
    assert 70_000 < min(sizes) and max(sizes) < 130_000


def test_conversation_clients_start_new_conversations_out_of_step():
    """Agents are not in step: clients 0..NEW_TURNS-1 each start their second conversation at a different
    request, so a paced run does not land every client's all-new request in the same instant."""
    sys.path.insert(0, str(REPO / "scripts"))
    from gateway_workloads import NEW_TURNS, Conversations

    workload = Conversations()
    starts = set()
    for number in range(NEW_TURNS):
        client = workload.client(number)
        users = [json.loads(client.next_body(n))["metadata"]["user_id"] for n in range(NEW_TURNS + 1)]
        starts.add(next(n for n in range(1, len(users)) if users[n] != users[n - 1]))
    assert len(starts) == NEW_TURNS


def test_bodies_made_ahead_are_the_bodies_made_as_sent():
    """A paced load makes its clients' bodies before its clock starts (Load.prepare): byte for byte what
    the client would have made request by request, however far ahead, and as many as its schedule sends."""
    sys.path.insert(0, str(REPO / "scripts"))
    from bench_gateway import Load
    from gateway_workloads import NEW_TURNS, Conversations

    for number in (0, 3):
        made_then, made_ahead = Conversations().client(number), Conversations().client(number)
        made_ahead.prepare(3 * NEW_TURNS)
        assert made_ahead.conversation.messages[:-1] == []  # only the bytes are kept
        assert [made_ahead.next_body(n) for n in range(4 * NEW_TURNS)] == \
               [made_then.next_body(n) for n in range(4 * NEW_TURNS)]
    load = Load(1, clients=4, workload=Conversations(), seconds=2.0, first=0, rate=10.0)
    for number in range(4):
        schedule = load._schedule(number, time.monotonic() + 2.0)
        assert load.requests(number) == sum(1 for _ in schedule) == 5


@pytest.mark.parametrize("rate", [0, 12])
def test_bench_gateway_ab_measures_both_sides_in_turns(rate):
    """scripts/bench_gateway_ab.py: two proxies from one checkout, one with the retrieval tool off, in turns;
    every round has both sides, alternating which went first, and the median ratios are of the rounds'.
    Paced (--rate), each turn sends about that many requests a second, however fast the replies come."""
    done = subprocess.run([sys.executable, str(REPO / "scripts" / "bench_gateway_ab.py"), "--json", "--a", str(REPO),
                           "--b", str(REPO), "--b-env", "HEADROOM_NO_RETRIEVAL_TOOL=1", "--rounds", "2",
                           "--seconds", "2", "--clients", "3", "--rate", str(rate)],
                          capture_output=True, text=True, timeout=300, cwd=REPO)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert [row["round"] for row in result["rounds"]] == [1, 2]
    for row in result["rounds"]:
        for side in ("A", "B"):
            assert row[side]["errors"] == 0 and row[side]["rps"] > 0 and row[side]["cpu_ms_per_request"] > 0
            assert row[side]["p50_ms"] > 0
            if rate:  # 24 requests due in 2 s: a turn cannot send more, and a 2-core machine keeps up with 12/s
                assert 0.5 * rate <= row[side]["rps"] <= 1.2 * rate
        assert row["cpu_ratio"] == round(row["B"]["cpu_ms_per_request"] / row["A"]["cpu_ms_per_request"], 3)
        assert row["p50_ratio"] == round(row["B"]["p50_ms"] / row["A"]["p50_ms"], 3)
    for ratio in ("cpu_ratio", "p50_ratio"):
        ratios = sorted(row[ratio] for row in result["rounds"])
        assert result["median"][ratio] == sum(ratios) / 2
