"""What each test kept: live memory by allocation stack before a test's set-up and after its
teardown (and a collection), for the pytest plugin (pytest_plugin.py).

The difference, stack by stack, is memory the test made and left alive (or, negative, older
memory it freed). Stacks whose allocation was made by pytest itself (its report objects, the
PYTEST_CURRENT_TEST variable, captured output) are summed apart as the runner's own records: a
test runner keeps a record per test, which is not the suite's leak.

Never calls user code: the figures come from the collector, the stacks from its frames.
"""

import gc
import math
import os
import sys
import time

# Sites sent per test run: the largest ones it kept; the rest are in `retained` only.
MAX_SITES = 32


def _package_dir(name):
    module = sys.modules.get(name)
    # A plain module's own dict: a lazy one would run its import, a module __getattr__ the program's code.
    filename = vars(module).get("__file__") if type(module) is type(sys) else None
    if type(filename) is not str:
        return None
    return os.path.dirname(os.path.abspath(filename)) + os.sep


def _runner_dirs():
    dirs = []
    for name in ("_pytest", "pluggy", "pytest", "py"):
        d = _package_dir(name)
        if d and not d.rstrip(os.sep).endswith(("site-packages", "dist-packages")):
            dirs.append(d)
    return tuple(dirs)


def _stdlib_dir():
    d = os.path.dirname(os.path.abspath(os.__file__))
    return d + os.sep


class TestMeter(object):
    """Marks a test's start and measures what it kept at its end."""

    def __init__(self, agent):
        self._agent = agent
        self._collector = agent.collector
        self._runner_dirs = _runner_dirs()
        self._stdlib = _stdlib_dir()
        self._interval = agent.config.sample_bytes
        self._is_runner = {}  # stack key -> the allocation was pytest's own
        self._before = None
        self._last_kept = []
        self._started = 0.0
        self.runs = {}  # test id -> runs so far

    def error(self, kept):
        """One standard error of the last run's kept bytes, 0 for an exact collector: a block of s
        bytes is sampled with p = 1 - exp(-s/m) and stands for s/p, so B bytes of such blocks vary
        by B*s*(1-p)/p (about B*m for small blocks, little for blocks larger than m)."""
        if not self._collector.sampled or kept <= 0:
            return 0
        m = float(self._interval)
        variance = 0.0
        for _, size, count in self._last_kept:
            block = size / float(count) if count > 0 else m
            p = 1.0 - math.exp(-block / m)
            variance += size * block * (1.0 - p) / p if p > 0 else size * m
        return int(variance ** 0.5)

    def start(self):
        """Before a test's set-up."""
        self._before = self._read()
        self._started = time.monotonic()

    def _read(self):
        if self._collector.sites_per_test:
            return self._collector.live_sites()
        # Only the total (tracemalloc): one pseudo-site that no stack id names.
        return {None: (self._collector.live_total(), 0)}

    def finish(self, test_id, outcome, limit=None):
        """After a test's teardown: send what it kept; returns the bytes it kept (the user's stacks),
        or None when nothing was marked."""
        before = self._before
        if before is None:
            return None
        self._before = None
        duration = time.monotonic() - self._started
        deltas = self._deltas(before, self._read())
        if any(d[1] > 0 and not self._runner(d[0]) for d in deltas):
            # Cycles the test left are garbage, not kept memory: collect, then measure again.
            gc.collect()
            deltas = self._deltas(before, self._read())
        retained = 0
        runner_bytes = 0
        runner_count = 0
        kept = []
        for key, size, count in deltas:
            if key is None:
                retained += size  # a total only: no stacks to tell the runner's from the test's
            elif self._runner(key):
                runner_bytes += size
                runner_count += count
            else:
                retained += size
                if size > 0:
                    kept.append((key, size, count))
        kept.sort(key=lambda row: row[1], reverse=True)
        self._last_kept = kept
        run = self.runs.get(test_id, 0) + 1
        self.runs[test_id] = run
        self._agent.send_test(test_id, run, outcome, retained, kept[:MAX_SITES], (runner_bytes, runner_count),
                              duration, limit, not self._collector.sites_per_test)
        return retained

    @staticmethod
    def _deltas(before, after):
        out = []
        empty = (0, 0)
        for key, (size, count) in after.items():
            b = before.get(key, empty)
            if size != b[0]:
                out.append((key, size - b[0], count - b[1]))
        for key, (size, count) in before.items():
            if key not in after and size:
                out.append((key, -size, -count))
        return out

    def _runner(self, key):
        """The stack's first frame outside the standard library is in pytest or pluggy."""
        if key is None:
            return False
        verdict = self._is_runner.get(key)
        if verdict is None:
            verdict = False
            try:
                stdlib = self._stdlib
                for filename, _, _ in self._collector.frames_of(key):
                    if filename.startswith(stdlib) and "-packages" + os.sep not in filename:
                        continue
                    verdict = filename.startswith(self._runner_dirs) if self._runner_dirs else False
                    break
            except Exception:
                verdict = False
            if len(self._is_runner) > 65536:
                self._is_runner.clear()
            self._is_runner[key] = verdict
        return verdict


_UNITS = {"": 1, "b": 1, "k": 1024, "kb": 1000, "kib": 1024, "m": 1024 ** 2, "mb": 1000 ** 2, "mib": 1024 ** 2,
          "g": 1024 ** 3, "gb": 1000 ** 3, "gib": 1024 ** 3}


def parse_size(value):
    """Bytes from 1048576, "1 MiB", "512KiB", "2 MB"; ValueError when it is none of these."""
    if type(value) in (int, float) and value >= 0:
        return int(value)
    if not isinstance(value, str):
        raise ValueError("not a size: %r" % (value,))
    text = str.strip(value).lower().replace(" ", "")
    i = 0
    while i < len(text) and (text[i].isdigit() or text[i] == "."):
        i += 1
    number, unit = text[:i], text[i:]
    if not number or unit not in _UNITS:
        raise ValueError("not a size: %r (write it like 1048576, \"512 KiB\" or \"1 MiB\")" % (value,))
    return int(float(number) * _UNITS[unit])
