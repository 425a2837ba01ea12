"""Live-bytes estimates of the native sampler against tracemalloc's exact figures, per site.

usage: PYTHONPATH=agent python bench/sampler-accuracy.py [--runs N] [--slices S] [--startup 0|1] [--scale X] [interval ...]
Runs test/fixtures/sampler/checks.py's heap (six sites from 1 to 5 MB at scale 1) N times per
sampling interval, tracemalloc wrapping the sampler in the same process. With --slices S the sites
grow a slice at a time, 50 ms apart, polled as the agent polls (how leaks grow; retained memory is
then sampled at the fine interval); without, the heap is built at full speed, after a 0.5 s start-up
with --startup 1 (the sampler is coarse during its first 0.5 s, as in a program's imports). Prints, per site above
1 MB, the exact size, the RMS and largest relative error over the runs, and the standard error that
one interval m implies, sqrt(B*m)/B, for m the interval and for the finest level (m/64 from 16 KiB).
"""
import argparse
import json
import math
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CHECKS = os.path.join(HERE, "..", "test", "fixtures", "sampler", "checks.py")
NAMES = ["small_bytes", "dicts", "records", "medium", "large", "huge"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--slices", type=int, default=1)
    ap.add_argument("--scale", default="1")
    ap.add_argument("--startup", default=None)
    ap.add_argument("intervals", nargs="*", type=int)
    args = ap.parse_args()
    intervals = args.intervals or [32768]
    print("python %s, scale %s, %d runs, %s" % (sys.version.split()[0], args.scale, args.runs,
                                               "grown in %d slices" % args.slices if args.slices > 1 else "built at once"))
    print("%-9s %-12s %10s %8s %8s %9s %9s %6s" % ("interval", "site", "exact", "rms err", "max err", "σ(m)", "σ(fine)",
                                                 "floor"))
    for m in intervals:
        errors = {}
        exacts = {}
        floors = []
        fine = float(m)
        for _ in range(args.runs):
            cmd = [sys.executable, CHECKS, "accuracy", str(m), args.scale, str(args.slices)]
            if args.startup is not None:
                cmd.append(args.startup)
            out = subprocess.run(cmd, stdout=subprocess.PIPE, check=True, env=dict(os.environ)).stdout
            r = json.loads(out.decode().strip().splitlines()[-1])
            floors.append(r.get("floor", 0))
            fine = r.get("fine_bytes", fine)
            for name in NAMES:
                line = str(r["lines"][name])
                exact = r["exact"].get(line, 0)
                if exact < 1000000:
                    continue
                exacts[name] = exact
                errors.setdefault(name, []).append(r["est"].get(line, 0) / exact - 1)
        for name in NAMES:
            if name not in errors:
                continue
            e, exact = errors[name], exacts[name]
            rms = math.sqrt(sum(x * x for x in e) / len(e))
            print("%-9d %-12s %10d %7.1f%% %7.1f%% %8.1f%% %8.1f%% %6s" % (
                m, name, exact, 100 * rms, 100 * max(abs(x) for x in e), 100 * math.sqrt(exact * m) / exact,
                100 * math.sqrt(exact * fine) / exact, max(floors)))


if __name__ == "__main__":
    main()
