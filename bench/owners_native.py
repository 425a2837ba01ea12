"""Benchmark: the ownership pass of the retainer search (native stacks' Python owners, issue 15).

The heap of bench/retainers_2m.py (--objects N: user records, an index, a cache, numbers and
the Order leak), plus --arrays numpy arrays of --array-bytes each kept in a module-level list,
with the malloc shim sampling at --sample-bytes so that about --arrays of their data blocks are
sampled (4 KiB blocks at a 1 KiB interval: 98% of them). The search is run twice with the
native sampling collector: for the Order leak's Python stacks only, then for those and the
arrays' native stack (a NativeKey: retainers/owners.py), and the difference is the ownership
pass: matching every visited object against the sampled native blocks in C (lh_owners.h), then
weighing the owners found.

Needs numpy, and the LD_PRELOAD shim: the script re-runs itself with it. One JSON line:

    PYTHONPATH=agent python3 bench/owners_native.py [--objects 2000000] [--arrays 100000]
    PYTHONPATH=agent python3 bench/owners_native.py --objects 12000000 --timeout 120
"""

import argparse
import gc
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "agent"))
sys.path.insert(0, HERE)

ARRAYS = []


def make_array(n, items):
    import numpy

    return numpy.full(items, float(n))  # the native stack the search asks about


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--objects", type=int, default=2000000)
    parser.add_argument("--arrays", type=int, default=100000)
    parser.add_argument("--array-bytes", type=int, default=4096)
    parser.add_argument("--sample-bytes", type=int, default=1024)
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args()

    from leakhound_agent.native import build as native_build

    shim = native_build.build_shim()
    if shim not in os.environ.get("LD_PRELOAD", ""):
        env = dict(os.environ, LD_PRELOAD=shim)
        sys.exit(subprocess.call([sys.executable] + sys.argv, env=env))

    import retainers_2m
    from leakhound_agent.collectors.sampling_collector import SamplingCollector
    from leakhound_agent.config import Config
    from leakhound_agent.retainers.owners import NativeKey

    chosen = SamplingCollector(Config(None, collector="sampling", nframes=16, sample_bytes=args.sample_bytes))
    chosen.start()
    started = time.monotonic()
    retainers_2m.build(args.objects)
    items = max(1, args.array_bytes // 8)
    for n in range(args.arrays):
        ARRAYS.append(make_array(n, items))
    built = time.monotonic() - started
    gc.collect()

    from leakhound_agent import retainers

    retainers.prepare()
    snap = chosen.snapshot()
    first = retainers_2m.Order.__init__.__code__.co_firstlineno
    python_keys = [k for k in snap.sites if chosen.frames_of(k) and chosen.frames_of(k)[0][2].endswith("__init__")
                   and first < chosen.frames_of(k)[0][1] <= first + 4
                   and "retainers_2m" in chosen.frames_of(k)[0][0]]
    line = make_array.__code__.co_firstlineno + 3
    native_keys = [k for k in (snap.native or {})
                   if any(f[1] == line and f[0].endswith("owners_native.py") for f in chosen.frames_of(k))]
    blocks = chosen.stats()["native_live_samples"]

    runs = {}
    for name, keys in (("python", python_keys), ("python+native", python_keys + [NativeKey(k) for k in native_keys])):
        gc.collect()
        result, seconds, cpu, peak, before, _ = retainers_2m.timed_search(retainers, chosen, keys, args.timeout)
        native = [r for r in result["results"] if isinstance(r["stackKey"], NativeKey)]
        runs[name] = {
            "seconds": round(seconds, 2),
            "cpuSec": round(cpu, 2),
            "visited": result["visited"],
            "truncated": result["truncated"],
            "timings": result.get("timings"),
            "extraPeakMB": round((peak.peak - before) / 1e6, 1),
            "rssBeforeMB": round(before / 1e6, 1),
            "owners": [{"found": r["found"], "ownedBy": r.get("ownedBy"), "owners": r.get("owners"),
                        "reached": r.get("reached"),
                        "top": " → ".join([r["paths"][0]["root"]] + r["paths"][0]["steps"]) if r["paths"] else None}
                       for r in native],
        }
    ext = chosen._ext
    # The C lookup alone: owner_of over every object gc tracks (no walk, no Python per object).
    objs = gc.get_objects()
    ext.owners_begin(native_keys)
    cpu0 = time.process_time()
    owned = sum(1 for x in map(ext.owner_of, objs) if x is not None)
    lookup_cpu = time.process_time() - cpu0
    lookup_stats = ext.owners_stats()
    ext.owners_end()
    del objs
    summary = {
        "python": "%d.%d.%d" % sys.version_info[:3],
        "targetObjects": args.objects,
        "arrays": args.arrays,
        "arrayBytes": args.array_bytes,
        "sampleBytes": args.sample_bytes,
        "nativeLiveSamples": blocks,
        "buildSec": round(built, 1),
        "runs": runs,
        "ownersPassSec": round(runs["python+native"]["seconds"] - runs["python"]["seconds"], 2),
        "ownersPassCpuSec": round(runs["python+native"]["cpuSec"] - runs["python"]["cpuSec"], 2),
        "lookup": {"objects": len(gc.get_objects()), "owners": owned, "cpuSec": round(lookup_cpu, 3),
                   "nsPerObject": round(1e9 * lookup_cpu / max(1, len(gc.get_objects())), 1), "stats": lookup_stats},
    }
    sys.stdout.write(json.dumps(summary) + "\n")


if __name__ == "__main__":
    main()
