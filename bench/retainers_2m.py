"""Benchmark: the retainer search on a heap of about two million objects.

The heap is a mix a web service might hold: a table of user records (small
class instances with dict and list attributes), an index dict keyed by
strings, a cache of tuples, a few big lists of ints and floats, module-level
configuration, plus the leak hidden in it: an order history list in a
service object that only grows. The search is asked for the leak's
allocation stacks (and, under tracemalloc, one stack of the bystanders).

Two collectors:
  --collector sampling     the agent's default, the native sampling collector
                           at its default interval (32 KiB); no tracemalloc
  (default) tracemalloc    the agent's TracemallocCollector, tracemalloc at 16
                           frames; its own records of the search's allocations
                           count in the memory

Reports wall and CPU time, objects visited, and the search's extra memory:
the peak resident set size during the search (polled every 10 ms) minus the
RSS before it, in MB and as a share of it (extraPeakPct). Issue 3 asks, with
the default collector, for <= 5 s and <= 25%.

Run (from the repository root; one JSON line per run):

    PYTHONPATH=agent python3 bench/retainers_2m.py --collector sampling [--sample-bytes N]
    PYTHONPATH=agent python3 bench/retainers_2m.py [--objects 2000000] [--timeout 30] [--stand-in]
    for v in 3.8 3.9 3.10 3.11 3.12 3.13; do for c in sampling tracemalloc; do
        PYTHONPATH=agent $(pyenv root)/versions/$v*/bin/python3 bench/retainers_2m.py --collector $c; done; done

The figures below are the walk from Python (now the fallback, --python-walk); the C walk of the
sampler extension (native/lh_walk.h) is measured in BENCHMARKS.md, "The native reference walk".

Measured 2026-11-21 on the 2-core build machine (other jobs running, load
0-3: times vary by +-30% from run to run), ~2.0 M objects visited (340-440 k
of them tracked by gc), max_objects=200; best of two runs. "before" is the
search as of 6dd1a95 (a set of ids, one list per depth) with the collectors
of 19a7c5f, "after" this one:

  sampling collector (default)
    Python    wall s           extra peak RSS, share of the RSS before      RSS before
              before  after    before             after
    3.8.18     1.5    2.0       +60 MB (36.5%)     +20 MB (12.0%)             164 MB
    3.9.18     1.7    1.7       +57 MB (34.6%)     +20 MB (11.9%)             164 MB
    3.10.13    1.7    1.9       +57 MB (34.8%)     +20 MB (12.3%)             164 MB
    3.11.7     1.3    1.7       +54 MB (34.6%)     +19 MB (12.3%)             156 MB
    3.12.1     1.1    1.6       +55 MB (37.0%)     +20 MB (13.2%)             148 MB
    3.13.0     1.6    1.8       +54 MB (36.6%)     +19 MB (13.0%)             149 MB

  tracemalloc collector
    3.8.18    13.4    5.2      +113 MB (33.1%)    +106 MB (31.1%)             342 MB
    3.9.18    14.6    6.1      +136 MB (32.7%)    +129 MB (31.0%)             417 MB
    3.10.13   15.7    5.5      +136 MB (32.7%)    +126 MB (30.4%)             416 MB
    3.11.7    28.4   11.1      +109 MB (27.2%)    +116 MB (29.0%)             401 MB
    3.12.1    14.4    8.2      +124 MB (31.7%)    +115 MB (29.4%)             393 MB
    3.13.0    14.3    7.4      +124 MB (32.2%)    +116 MB (30.1%)             386 MB

(3.11 under tracemalloc varies most: 108-124 MB before, 116-118 MB after,
over four runs each. Before c73760e made the TracemallocCollector replace
its stack_key_of on first use, "before" under tracemalloc was 3.8-5.7 s; the
old search kept calling the replaced method, which rebuilt the lookup on
every call. The search now reads stack_key_of again after its first calls.)

Where the memory goes with the sampling collector (3.11, +19 MB): the
levels, 8 bytes per visited object (16 MB, in segments allocated at full
size); the visited bit map, one bit per 32 bytes of address space in 64 KiB
regions (0.5 MB); gc.get_objects() while looking for unreached objects
(2.8 MB for an instant); per-step scratch space, bounded by 16 k references.
Before (+54 MB): the set of 340 k ids (28 MB: the ints and a table kept
under 60% full), the levels grown by reallocation (17 MB, plus 15 MB of holes
they left in the C heap), and a 20 MB dict deduplicating the 300 k
references of one list (NUMBERS) in one step. Under tracemalloc the search
keeps the set of ids, which is faster there (the bit map's short-lived ints
per reference cost 0.8 s more on 3.9), and tracemalloc's own tables are most
of the rest.

Where the time goes (tracemalloc, 3.13, after): walk 2.7 s, matching objects
to stacks 2.5 s (one stack_key_of call per object; 3.11: 5.0 s, its lookup is
a Python function there), paths and names for 600 sampled objects 2.0 s.
With the sampling collector (3.11): walk 1.4 s, matching 0.25 s, paths 0.05 s.
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


from leakhound_agent.collectors.base import Collector  # noqa: E402


class StandIn(Collector):
    """Maps objects to raw tracebacks the way the agent's tracemalloc collector does."""

    name = "tracemalloc"
    traces_every_block = True
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


def leak_in_c(n, kind):
    """n objects that a reference leaked in C keeps (ctypes' Py_IncRef stands in for the bug)."""
    import ctypes

    incref = ctypes.pythonapi.Py_IncRef
    incref.argtypes = [ctypes.py_object]
    for i in range(n):
        incref(("c%d-" % i) * 2 if kind == "str" else [i + 1000])


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


class Ticker(threading.Thread):
    """Another thread of the program (--live): sleeps 1 ms in a loop and keeps the
    gaps between its wake-ups, i.e. how long the search kept it from running."""

    def __init__(self):
        threading.Thread.__init__(self, daemon=True)
        self.stop = threading.Event()
        self.gaps = []
        self.t0 = time.monotonic()

    def run(self):
        last = time.perf_counter()
        while not self.stop.is_set():
            time.sleep(0.001)
            now = time.perf_counter()
            if now - last > 0.005:
                self.gaps.append((round(time.monotonic() - self.t0, 3), round((now - last) * 1000, 1)))
            last = now


def timed_search(retainers, chosen, keys, timeout, live=False):
    """find_retainers with its wall time, CPU time, peak RSS (a PeakRss poller), RSS before and after,
    and with --live the longest pauses another thread saw."""
    before = rss_bytes()
    peak = PeakRss()
    peak.start()
    ticker = Ticker() if live else None
    if ticker:
        ticker.start()
        time.sleep(0.05)
    cpu0 = time.process_time()
    t0 = time.monotonic()
    result = retainers.find_retainers(chosen, keys, max_objects=200, timeout_sec=timeout, live=live)
    seconds = time.monotonic() - t0
    cpu = time.process_time() - cpu0
    peak.stop.set()
    peak.join()
    if ticker:
        ticker.stop.set()
        ticker.join()
        offset = t0 - ticker.t0
        result["pauses"] = sorted(((round(t - offset, 3), ms) for t, ms in ticker.gaps), key=lambda g: -g[1])[:8]
    return result, seconds, cpu, peak, before, rss_bytes()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--objects", type=int, default=2000000)
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--stand-in", action="store_true", help="use a builtin stack_key_of instead of the agent's collector")
    parser.add_argument("--collector", choices=["tracemalloc", "sampling"], default="tracemalloc",
                        help="sampling: the default native sampler at its default interval, no tracemalloc")
    parser.add_argument("--sample-bytes", type=int, default=None, help="the sampler's interval (default: the agent's)")
    parser.add_argument("--c-leak", choices=["str", "list"], default=None,
                        help="(with --collector sampling) the leak is references leaked in C: 3/4 of --objects are "
                             "leaked with Py_IncRef and nothing refers to them (str: untracked strings; list: "
                             "one-item lists, tracked by gc, and their ints); the search is asked for that line")
    parser.add_argument("--python-walk", action="store_true",
                        help="the walk's inner loop from Python (as without the C walk of the sampler extension)")
    parser.add_argument("--live", action="store_true",
                        help="a live search (the program runs on): report the longest pauses another thread sees")
    args = parser.parse_args()
    if args.python_walk:
        from leakhound_agent import retainers as _retainers

        _retainers.NATIVE_WALK = False

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
    result, seconds, cpu, peak, before, after = timed_search(retainers, chosen, keys, args.timeout, args.live)

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
        "pauses": result.get("pauses"),
        "extraPeakMB": round((peak.peak - before) / 1e6, 1),
        "extraAfterMB": round((after - before) / 1e6, 1),
        "rssBeforeMB": round(before / 1e6, 1),
        "extraPeakPct": round(100.0 * (peak.peak - before) / before, 1),
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
    from leakhound_agent.config import DEFAULT_SAMPLE_BYTES, Config

    if args.sample_bytes is None:
        args.sample_bytes = DEFAULT_SAMPLE_BYTES
    chosen = SamplingCollector(Config(None, collector="sampling", nframes=args.frames, sample_bytes=args.sample_bytes))
    chosen.start()
    started = time.monotonic()
    counts = build(args.objects if args.c_leak is None else args.objects // 4)
    if args.c_leak is not None:
        leak_in_c(args.objects * 3 // 4 if args.c_leak == "str" else args.objects * 3 // 8, args.c_leak)
    built = time.monotonic() - started
    gc.collect()
    heap_objects = len(gc.get_objects())

    from leakhound_agent import retainers

    retainers.prepare()
    snap = chosen.snapshot()
    first = Order.__init__.__code__.co_firstlineno
    keys = [k for k in snap.sites if chosen.frames_of(k) and chosen.frames_of(k)[0][2].endswith("__init__")
            and first < chosen.frames_of(k)[0][1] <= first + 4 and "retainers_2m" in chosen.frames_of(k)[0][0]]
    if args.c_leak is not None:
        keys = [k for k in snap.sites if chosen.frames_of(k) and chosen.frames_of(k)[0][2] == "leak_in_c"]
    result, seconds, cpu, peak, before, _ = timed_search(retainers, chosen, keys, args.timeout, args.live)
    summary = {
        "python": "%d.%d.%d" % sys.version_info[:3],
        "collector": "sampling@%d" % args.sample_bytes,
        "targetObjects": args.objects,
        "gcTracked": heap_objects,
        "visited": result["visited"],
        "seconds": round(seconds, 2),
        "cpuSec": round(cpu, 2),
        "truncated": result["truncated"],
        "timings": result.get("timings"),
        "pauses": result.get("pauses"),
        "extraPeakMB": round((peak.peak - before) / 1e6, 1),
        "rssBeforeMB": round(before / 1e6, 1),
        "extraPeakPct": round(100.0 * (peak.peak - before) / before, 1),
        "buildSec": round(built, 1),
        "orders": counts["orders"],
        "leakStacks": len(keys),
        "results": [
            {"found": r["found"], "note": r.get("note"),
             "top": r["paths"][0]["root"] + " | " + " → ".join(r["paths"][0]["steps"]) if r["paths"] else None}
            for r in result["results"]
        ],
    }
    sys.stdout.write(json.dumps(summary) + "\n")


if __name__ == "__main__":
    main()
