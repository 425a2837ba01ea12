"""Which visited objects were allocated at the stacks we are asked about.

Asking the collector for an object's stack is the expensive part of the
search (tracemalloc builds a fresh tuple of frames per call). The visited
objects are checked in slices, and the slices are visited in a scrambled but
fixed order, so when the time budget runs out the checked part is an even
sample of the whole heap: counts are scaled up by the share checked, and the
paths found stay representative.
"""

import time
from functools import partial

from .frameless import WorkerDied

SLICE = 2048
# Slices per round trip to the runner.
BATCH = 8


class Matches(object):
    def __init__(self, nkeys):
        # hits[k]: [(phase, depth, index)] of objects allocated at stack key k.
        self.hits = [[] for _ in range(nkeys)]
        # Share of the visited objects that was checked (1.0 when all were).
        self.coverage = 1.0


def match(walk, runner, stack_key_of, keys, deadline, match_key=None):
    """Check the walk's objects against ``keys``; ``match_key(key)`` may map a collector key to one of ``keys``."""
    index_of = {}
    for k, key in enumerate(keys):
        index_of.setdefault(key, k + 1)  # 0 is falsy; None means no match
    lookup = index_of.get
    result = Matches(len(keys))
    slices = []
    for p, phase in enumerate(walk.phases):
        for d, level in enumerate(phase.levels):
            for start in range(0, len(level), SLICE):
                slices.append((p, d, start, level))
    total = sum(min(SLICE, len(level) - start) for _, _, start, level in slices)
    if not slices or not keys:
        return result
    checked = 0
    order = iter(_scrambled(len(slices)))
    hits = result.hits
    exhausted = False
    while not exhausted and time.monotonic() <= deadline:
        batch = []
        for n in order:
            p, d, start, level = slices[n]
            batch.append((p, d, start, level[start:start + SLICE], []))
            if len(batch) >= BATCH:
                break
        else:
            exhausted = True
        if not batch:
            break
        try:
            runner.run(_tasks(batch, stack_key_of, match_key, lookup))
        except WorkerDied:
            # stack_key_of raised on the helper thread; the runner now runs inline, where it may raise.
            for entry in batch:
                del entry[4][:]
            runner.run(_tasks(batch, stack_key_of, match_key, lookup))
        for p, d, start, part, found in batch:
            checked += len(part)
            if any(found):
                for i, k in enumerate(found):
                    if k is not None:
                        hits[k - 1].append((p, d, start + i))
    result.coverage = checked / float(total) if total else 1.0
    for hits in result.hits:
        hits.sort()
    return result


def _tasks(batch, stack_key_of, match_key, lookup):
    tasks = []
    for _, _, _, part, found in batch:
        keys_of = map(stack_key_of, part)
        if match_key is not None:
            keys_of = map(match_key, keys_of)
        tasks.append(partial(found.extend, map(lookup, keys_of)))
    return tasks


def _scrambled(n):
    """0..n-1 in an order whose every prefix is spread evenly (a stride coprime to n)."""
    if n <= 2:
        return range(n)
    stride = int(n * 0.6180339887) or 1
    while _gcd(stride, n) != 1:
        stride += 1
    return ((i * stride) % n for i in range(n))


def _gcd(a, b):
    while b:
        a, b = b, a % b
    return a
