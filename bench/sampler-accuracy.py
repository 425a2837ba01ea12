"""Live-bytes estimates of the native sampler against tracemalloc's exact figures, per site.

usage: PYTHONPATH=agent python bench/sampler-accuracy.py [scale] [sample_bytes ...]
Runs test/fixtures/sampler/checks.py's heap (six sites from 1 to 5 MB at scale 1) once per
sampling interval, tracemalloc wrapping the sampler in the same process, and prints, per site
above 1 MB, the exact size, the estimate, its error and the model's standard error sqrt(B*m).
"""
import json
import math
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CHECKS = os.path.join(HERE, "..", "test", "fixtures", "sampler", "checks.py")


def main():
    scale = sys.argv[1] if len(sys.argv) > 1 else "1"
    intervals = [int(a) for a in sys.argv[2:]] or [512, 4096, 65536, 524288]
    names = ["small_bytes", "dicts", "records", "medium", "large", "huge"]
    print("python %s, scale %s" % (sys.version.split()[0], scale))
    print("%-9s %-12s %12s %12s %8s %8s" % ("interval", "site", "exact", "estimate", "error", "model σ"))
    for m in intervals:
        out = subprocess.run([sys.executable, CHECKS, "accuracy", str(m), scale], stdout=subprocess.PIPE,
                             check=True, env=dict(os.environ)).stdout.decode().strip().splitlines()[-1]
        r = json.loads(out)
        for name in names:
            line = str(r["lines"][name])
            exact = r["exact"].get(line, 0)
            if exact < 1000000:
                continue
            est = r["est"].get(line, 0)
            print("%-9d %-12s %12d %12d %+7.1f%% %7.1f%%" % (m, name, exact, est, 100.0 * (est / exact - 1),
                                                          100.0 * math.sqrt(exact * m) / exact))


if __name__ == "__main__":
    main()
