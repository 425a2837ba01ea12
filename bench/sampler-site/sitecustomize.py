"""Bench-only bootstrap: loads just the sampling collector in-process (no host, no socket).

Used by bench/with-sampler.sh. A daemon thread takes a snapshot every
LEAKHOUND_INTERVAL seconds, as the agent would, so its cost is included.
LEAKHOUND_BENCH_COLLECTOR=tracemalloc runs the tracemalloc collector instead.
"""
import os
import sys
import threading

sys.path.insert(0, os.environ["LEAKHOUND_BENCH_AGENT"])

from leakhound_agent.config import Config  # noqa: E402

_config = Config.from_env()
if os.environ.get("LEAKHOUND_BENCH_COLLECTOR") == "tracemalloc":
    from leakhound_agent.collectors.tracemalloc_collector import TracemallocCollector as _Collector
else:
    from leakhound_agent.collectors.sampling_collector import SamplingCollector as _Collector

_collector = _Collector(_config)
_collector.start()


def _loop():
    import time

    while True:
        time.sleep(_config.interval)
        snap = _collector.snapshot()
        for key in list(snap.sites)[:50]:
            _collector.frames_of(key)


threading.Thread(target=_loop, name="leakhound-bench", daemon=True).start()
