"""Which visited objects were allocated at the stacks we are asked about.

Asking the collector for an object's stack is the expensive part of the
search (tracemalloc builds a fresh tuple of frames per call). The visited
objects are checked in slices, and the slices are visited in a scrambled but
fixed order, so when the time budget runs out the checked part is an even
sample of the whole heap: counts are scaled up by the share checked, and the
paths found stay representative.

Per object, only C code runs: ``map(lookup, map(stack_key_of, slice))``
gives each object's key number (or None), ``list.count`` counts them, and
``list.index`` finds the few positions the sample needs. A leak of millions
of objects costs no Python-level loop over its objects.
"""

import time
from functools import partial
from itertools import compress, count, repeat
from operator import eq

from .frameless import WorkerDied

SLICE = 2048
# Slices per round trip to the runner.
BATCH = 8


class Matches(object):
    def __init__(self, slices, nkeys):
        self._slices = slices  # [(phase, depth, start, level)] in walk (BFS) order
        self._found = {}  # slice number -> [key number + 1 or None] per object of the slice
        self._counts = [[] for _ in range(nkeys)]  # per key: [(slice number, hits)]
        # Share of the visited objects that was checked (1.0 when all were).
        self.coverage = 1.0

    def add(self, n, found, nkeys):
        kept = False
        for k in range(nkeys):
            hits = found.count(k + 1)
            if hits:
                self._counts[k].append((n, hits))
                kept = True
        if kept:
            self._found[n] = found

    def hits(self, k):
        return sum(hits for _, hits in self._counts[k])

    def objects(self, k, runner):
        """Key k's objects, a list per batch of slices (every one the matching checked)."""
        marker = k + 1
        slices = [s for s, _ in sorted(self._counts[k])]
        for a in range(0, len(slices), BATCH):
            objs = []
            tasks = []
            for s in slices[a:a + BATCH]:
                _, _, start, level = self._slices[s]
                tasks.append(partial(objs.extend, compress(level.slice(start, start + SLICE),
                                                           map(eq, self._found[s], repeat(marker)))))
            runner.run(tasks)
            yield objs
            del objs

    def sample(self, k, n, runner):
        """Up to n positions (phase, depth, index) of key k's objects, evenly spread in walk order."""
        counts = sorted(self._counts[k])
        total = sum(hits for _, hits in counts)
        if total == 0 or n <= 0:
            return []
        wanted = list(range(total)) if total <= n else [int(j * total / float(n)) for j in range(n)]
        picks = []  # (slice number, [ordinals within the slice], positions found there)
        w = 0
        before = 0
        for s, hits in counts:
            if w >= len(wanted):
                break
            ordinals = []
            while w < len(wanted) and wanted[w] < before + hits:
                ordinals.append(wanted[w] - before)
                w += 1
            if ordinals:
                picks.append((s, ordinals, []))
            before += hits
        # Where key k's objects sit in those slices: one trip to the runner, no int per object here.
        marker = k + 1
        runner.run([partial(where.extend, compress(count(self._slices[s][2]), map(eq, self._found[s], repeat(marker))))
                    for s, _, where in picks])
        positions = []
        for s, ordinals, where in picks:
            p, d, _, _ = self._slices[s]
            positions.extend((p, d, where[o]) for o in ordinals)
        return positions


def match(walk, runner, stack_key_of, keys, deadline, match_key=None):
    """Check the walk's objects against ``keys``; ``match_key(key)`` may map a collector key to one of ``keys``."""
    index_of = {}
    for k, key in enumerate(keys):
        index_of.setdefault(key, k + 1)  # 0 is falsy; None means no match
    lookup = index_of.get
    slices = []
    for p, phase in enumerate(walk.phases):
        for d, level in enumerate(phase.levels):
            for start in range(0, len(level), SLICE):
                slices.append((p, d, start, level))
    result = Matches(slices, len(keys))
    total = sum(min(SLICE, len(level) - start) for _, _, start, level in slices)
    if not slices or not keys:
        return result
    checked = 0
    nkeys = len(keys)
    order = iter(_scrambled(len(slices)))
    exhausted = False
    while not exhausted and time.monotonic() <= deadline:
        batch = []
        for n in order:
            p, d, start, level = slices[n]
            batch.append((n, level[start:start + SLICE], []))
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
                del entry[2][:]
            runner.run(_tasks(batch, stack_key_of, match_key, lookup))
        for n, part, found in batch:
            checked += len(part)
            if any(found):
                result.add(n, found, nkeys)
    result.coverage = checked / float(total) if total else 1.0
    return result


def _tasks(batch, stack_key_of, match_key, lookup):
    fused = _fused(stack_key_of, lookup) if match_key is None else None
    if fused is not None:
        return [partial(found.extend, fused(part)) for _, part, found in batch]
    tasks = []
    for _, part, found in batch:
        keys_of = map(stack_key_of, part)
        if match_key is not None:
            keys_of = map(match_key, keys_of)
        tasks.append(partial(found.extend, map(lookup, keys_of)))
    return tasks


def _fused(stack_key_of, lookup):
    """The sampler's ``index_of.get(stack_of_object(obj))`` per object as one C call, when it has it."""
    ext = getattr(stack_key_of, "__self__", None)
    index_of = getattr(lookup, "__self__", None)
    if getattr(stack_key_of, "__name__", None) != "stack_of_object" or type(index_of) is not dict:
        return None
    fused = getattr(ext, "stack_indexes", None)
    if fused is None or not all(type(k) is int for k in index_of):
        return None
    return lambda part: fused(part, index_of)


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
