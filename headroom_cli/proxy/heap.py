"""Python's cyclic garbage collector, set for a proxy that has started.

A started proxy holds a large heap that lives as long as the process (engines and their compiled
patterns, tree-sitter's grammars, mitmproxy, the event loop: ~110,000 objects), and every request
allocates big JSON trees (a ~100 KB body read, edited and written) while dozens of others are in
flight. With CPython's defaults a young collection ran every 700 net allocations, several times per
request, moved the live trees of the requests in flight into the older generations, and so caused
full collections that walked the whole start-up heap (about 75 ms each, a pause for every request in
flight). In a worker under scripts/bench_gateway.py (50 clients) that was ~0.55 ms of CPU per request.

So, once, when the proxy listens: a collection, then ``gc.freeze()`` puts every object alive then out
of the collector's sight (start-up objects; one that later becomes garbage is still freed by reference
counting, only a cycle among them would stay), and a young threshold a few times CPython's, so that
more of a request's tree is gone before a collection runs. Cycles made while serving are still
collected, only a little later; nothing a request produces depends on when that happens. Measured
there: ~0.25-0.35 ms per request, the longest pause ~16 ms. It suits
``headroom wrap`` too: the same proxy, in the process that waits for the agent.
"""

from __future__ import annotations

import gc
import threading

# Net container allocations between two young collections (CPython's default: 700); young collections
# per middle one and middle ones per full one stay at CPython's 10 and 10. Measured under the gateway
# bench: 10,000 cost ~0.18 ms per request but in pauses of ~30 ms (a middle collection); 50,000, in
# pauses of 60-80 ms.
THRESHOLDS = (3_000, 10, 10)

_lock = threading.Lock()
_settled = False


def settle() -> bool:
    """Freeze what is alive now and set THRESHOLDS, once per process (a second proxy started in the
    same process, as tests do, changes nothing). True when this call did it."""
    global _settled
    with _lock:
        if _settled:
            return False
        _settled = True
    gc.collect()
    gc.freeze()
    # Again, over nothing now: CPython sizes the next full collection by the objects the last one
    # kept (a quarter more must pile up), which would still count the frozen heap and put off
    # collecting the garbage cycles of requests (mitmproxy's flows, holding their bodies) for long.
    gc.collect()
    gc.set_threshold(*THRESHOLDS)
    return True
