"""Benchmark: the retainer search on a heap of about two million objects, under tracemalloc.

The heap is a mix a web service might hold: a table of user records (small
class instances with dict and list attributes), an index dict keyed by
strings, a cache of tuples, a few big lists of ints and floats, module-level
configuration, plus the leak hidden in it: an order history list in a
service object that only grows. The search is asked for the leak's two
allocation stacks and for one stack of the bystanders.

Reports wall time, objects visited, and the walk's extra memory: the peak
resident set size during the search minus the RSS before it (tracemalloc is
on, so its own bookkeeping of the walk's allocations is included).

Run (from the repository root; one JSON line per run):

    PYTHONPATH=agent python3 bench/retainers_2m.py [--objects 2000000] [--timeout 60] [--stand-in]

Measured 2026-11-21 on the 2-core build machine (other jobs running, load ~2.5),
with the agent's own TracemallocCollector, tracemalloc at 16 frames, ~2.0 M
objects visited (340-440 k of them tracked by gc), max_objects=200 for
3 stacks; best of two runs:

    Python   wall s   CPU s   peak extra RSS   (RSS before)
    3.8.18    3.8      3.7       +114 MB         342 MB
    3.9.18    4.5      4.3       +136 MB         417 MB
    3.10.13   4.2      4.1       +136 MB         416 MB
    3.11.7    5.7      5.6       +124 MB         400 MB
    3.12.1    5.6      5.6       +124 MB         393 MB
    3.13.0    5.3      5.3       +124 MB         386 MB

Where the time goes (3.13): walk 2.1 s (modules 1.9, threads, unreached
objects), matching objects to stacks 1.7 s (one stack_key_of call per
object; 0.6 s less with --stand-in, a builtin stack_key_of), paths and names
for 600 sampled objects 1.2 s. The extra memory is mostly the visited set:
one int per gc-tracked object plus tracemalloc's record of each.
"""

import argparse
import gc
import json
import os
import resource
import sys
import threading
import time
import tracemalloc

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "agent"))


class StandIn(object):
    """Maps objects to raw tracebacks the way the agent's tracemalloc collector does."""

    name = "tracemalloc"
    stack_key_of = staticmethod(tracemalloc._get_object_traceback)


def collector():
    """The agent's own tracemalloc collector when it can be built here, else the stand-in."""
    try:
        from leakhound_agent.collectors.tracemalloc_collector import TracemallocCollector
        from leakhound_agent.config import Config

        return TracemallocCollector(Config(None, collector="tracemalloc", nframes=16))
    except Exception as error:
        sys.stderr.write("retainers_2m: using the stand-in collector (%s: %s)\n" % (type(error).__name__, error))
        return StandIn()


class User(object):
    def __init__(self, uid):
        self.uid = uid
        self.name = "user-%d" % uid
        self.tags = ["t%d" % (uid % 7), "t%d" % (uid % 11)]
        self.prefs = {"lang": "en", "tz": uid % 24}


class Order(object):
    __slots__ = ("oid", "lines", "note")

    def __init__(self, oid):
        self.oid = oid
        self.lines = [(oid, k) for k in range(3)]  # LEAK: tuples and the list
        self.note = "order %d" % oid  # LEAK: a string


class Shop(object):
    def __init__(self):
        self.history = []

    def checkout(self, oid):
        self.history.append(Order(oid))


SHOP = Shop()
USERS = []
INDEX = {}
CACHE = {}
NUMBERS = []


def build(target):
    """Allocate about `target` objects; returns counts by part."""
    per_user = 9  # instance, __dict__ (pre-3.11), name, tags list, 2 tag strings, prefs dict, int, ...
    users = target * 45 // 100 // per_user
    for uid in range(users):
        user = User(uid)
        USERS.append(user)
        INDEX[user.name] = user
    for k in range(target * 15 // 100 // 3):
        CACHE[("k", k)] = ("v%d" % k,)
    NUMBERS.extend(float(i) for i in range(target * 10 // 100))
    NUMBERS.extend(range(10 ** 6, 10 ** 6 + target * 5 // 100))
    orders = target * 20 // 100 // 6
    for oid in range(orders):
        SHOP.checkout(oid)
    return {"users": users, "orders": orders}


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class PeakRss(threading.Thread):
    """Polls RSS every 10 ms (ru_maxrss cannot be reset between phases)."""

    def __init__(self):
        threading.Thread.__init__(self, daemon=True)
        self.peak = rss_bytes()
        self.stop = threading.Event()

    def run(self):
        while not self.stop.wait(0.01):
            self.peak = max(self.peak, rss_bytes())


def timed_search(retainers, chosen, keys, timeout):
    """find_retainers with its wall time, CPU time, peak RSS (a PeakRss poller), RSS before and after."""
    before = rss_bytes()
    peak = PeakRss()
    peak.start()
    cpu0 = time.process_time()
    t0 = time.monotonic()
    result = retainers.find_retainers(chosen, keys, max_objects=200, timeout_sec=timeout)
    seconds = time.monotonic() - t0
    cpu = time.process_time() - cpu0
    peak.stop.set()
    peak.join()
    return result, seconds, cpu, peak, before, rss_bytes()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--objects", type=int, default=2000000)
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--stand-in", action="store_true", help="use a builtin stack_key_of instead of the agent's collector")
    parser.add_argument("--collector", choices=["tracemalloc", "sampling"], default="tracemalloc",
                        help="sampling: the default native sampler (64 KiB unless --sample-bytes), no tracemalloc")
    parser.add_argument("--sample-bytes", type=int, default=65536)
    args = parser.parse_args()

    if args.collector == "sampling":
        return main_sampling(args)
    tracemalloc.start(args.frames)
    started = time.monotonic()
    counts = build(args.objects)
    built = time.monotonic() - started
    gc.collect()
    heap_objects = len(gc.get_objects())

    from leakhound_agent import retainers

    retainers.prepare()
    order = SHOP.history[-1]
    keys = [
        tracemalloc._get_object_traceback(order.note),
        tracemalloc._get_object_traceback(order.lines[0]),
        tracemalloc._get_object_traceback(USERS[-1].tags),
    ]
    del order

    chosen = StandIn() if args.stand_in else collector()
    result, seconds, cpu, peak, before, after = timed_search(retainers, chosen, keys, args.timeout)

    summary = {
        "python": "%d.%d.%d" % sys.version_info[:3],
        "targetObjects": args.objects,
        "gcTracked": heap_objects,
        "visited": result["visited"],
        "collector": type(chosen).__name__,
        "seconds": round(seconds, 2),
        "cpuSec": round(cpu, 2),
        "elapsedSec": result["elapsedSec"],
        "truncated": result["truncated"],
        "timings": result.get("timings"),
        "extraPeakMB": round((peak.peak - before) / 1e6, 1),
        "extraAfterMB": round((after - before) / 1e6, 1),
        "rssBeforeMB": round(before / 1e6, 1),
        "maxRssMB": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3, 1),
        "buildSec": round(built, 1),
        "orders": counts["orders"],
        "results": [
            {
                "found": r["found"],
                "top": r["paths"][0]["root"] + " | " + " → ".join(r["paths"][0]["steps"]) if r["paths"] else None,
            }
            for r in result["results"]
        ],
    }
    sys.stdout.write(json.dumps(summary) + "\n")


def main_sampling(args):
    """The same heap and search with the native sampling collector and no tracemalloc:
    the leak's stacks are the sampled stacks whose innermost frame is Order.__init__."""
    from leakhound_agent.collectors.sampling_collector import SamplingCollector
    from leakhound_agent.config import Config

    chosen = SamplingCollector(Config(None, collector="sampling", nframes=args.frames, sample_bytes=args.sample_bytes))
    chosen.start()
    started = time.monotonic()
    counts = build(args.objects)
    built = time.monotonic() - started
    gc.collect()
    heap_objects = len(gc.get_objects())

    from leakhound_agent import retainers

    retainers.prepare()
    snap = chosen.snapshot()
    first = Order.__init__.__code__.co_firstlineno
    keys = [k for k in snap.sites if chosen.frames_of(k) and chosen.frames_of(k)[0][2].endswith("__init__")
            and first < chosen.frames_of(k)[0][1] <= first + 4 and "retainers_2m" in chosen.frames_of(k)[0][0]]
    result, seconds, cpu, peak, before, _ = timed_search(retainers, chosen, keys, args.timeout)
    summary = {
        "python": "%d.%d.%d" % sys.version_info[:3],
        "collector": "sampling@%d" % args.sample_bytes,
        "targetObjects": args.objects,
        "gcTracked": heap_objects,
        "visited": result["visited"],
        "seconds": round(seconds, 2),
        "cpuSec": round(cpu, 2),
        "truncated": result["truncated"],
        "extraPeakMB": round((peak.peak - before) / 1e6, 1),
        "rssBeforeMB": round(before / 1e6, 1),
        "extraPeakPct": round(100.0 * (peak.peak - before) / before, 1),
        "buildSec": round(built, 1),
        "orders": counts["orders"],
        "leakStacks": len(keys),
        "results": [
            {"found": r["found"], "top": r["paths"][0]["root"] + " | " + " → ".join(r["paths"][0]["steps"]) if r["paths"] else None}
            for r in result["results"]
        ],
    }
    sys.stdout.write(json.dumps(summary) + "\n")


if __name__ == "__main__":
    main()
