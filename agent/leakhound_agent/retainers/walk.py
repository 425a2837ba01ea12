"""One breadth-first walk of the live heap, level by level, in C-level pipelines.

The walk keeps, per phase (a group of roots), one list per depth holding the
objects first reached at that depth, in discovery order. That is 8 bytes per
object and all the walk needs to give every object a shortest path later: the
parent of object i at depth d is the first object of depth d-1 that refers to
it, and ``bounds`` says which chunk of depth d-1 discovered it, so finding the
parent re-reads one chunk, not the heap.

Visited objects are remembered by ``id()`` in one set; objects are never
hashed or compared (that would run user code). Expanding a chunk is a fixed
list of C calls (``gc.get_referents``, ``map(id, ...)``, set and dict
operations) that the runner executes on its frameless thread, so tracemalloc
stays cheap. The walk holds every visited object alive until it is dropped,
so ids cannot be reused meanwhile.
"""

import gc
import sys
import time
from bisect import bisect_right
from collections import _count_elements
from functools import partial
from itertools import compress, filterfalse, repeat
from operator import is_, not_

# Objects per chunk: the unit of parent search (a binary search over one chunk).
CHUNK = 512
# References handed to the runner per round trip (bounds time between deadline checks).
BATCH_REFS = 1 << 16

_get_referents = gc.get_referents


class Phase(object):
    """Objects reached from one group of roots, by depth."""

    __slots__ = ("kind", "levels", "bounds", "roots")

    def __init__(self, kind):
        self.kind = kind
        # levels[d]: objects first reached at depth d, in discovery order.
        self.levels = []
        # bounds[d][j]: len(levels[d]) once chunk j of levels[d-1] was expanded.
        self.bounds = []
        # roots[i]: what levels[0][i] is (the caller's root descriptor).
        self.roots = []


class Walk(object):
    def __init__(self, runner, deadline):
        self.runner = runner
        self.deadline = deadline
        self.seen = set()
        self.phases = []
        self.truncated = False
        self.visited = 0
        self._recent = {}  # (phase, depth, chunk) -> parents found there, most recent first
        self.own(self, self.seen, self.phases)

    def own(self, *objs):
        """Mark the walk's own objects as visited so it never walks them."""
        self.seen.update(map(id, objs))

    def mark(self, objs):
        """Mark objects as visited without walking into them."""
        self.seen.update(map(id, objs))

    def close(self):
        """Drop every reference the walk holds (it may sit in a cycle with the caller's frame)."""
        for phase in self.phases:
            for level in phase.levels:
                del level[:]
            del phase.levels[:], phase.bounds[:], phase.roots[:]
        del self.phases[:]
        self.seen.clear()
        self._recent.clear()

    def expired(self):
        if time.monotonic() > self.deadline:
            self.truncated = True
        return self.truncated

    # ------------------------------------------------------------ phases

    def run_phase(self, kind, roots):
        """Walk from ``roots`` [(obj, descriptor)], skipping what is already visited."""
        phase = Phase(kind)
        self.own(phase, phase.levels, phase.bounds, phase.roots)
        self.phases.append(phase)
        seen = self.seen
        first = []
        for obj, descriptor in roots:
            ident = id(obj)
            if ident in seen:
                continue
            seen.add(ident)
            first.append(obj)
            phase.roots.append(descriptor)
        self.own(first)
        phase.levels.append(first)
        phase.bounds.append([])
        self.visited += len(first)
        current = first
        while current and not self.expired():
            following, bounds = [], []
            self.own(following, bounds)
            phase.levels.append(following)
            phase.bounds.append(bounds)
            self._expand(current, following, bounds)
            self.visited += len(following)
            current = following
        while len(phase.levels) > 1 and not phase.levels[-1]:
            phase.levels.pop()
            phase.bounds.pop()
        return phase

    def _expand(self, current, following, bounds):
        seen = self.seen
        by_id, ids, fresh = {}, [], []
        self.own(by_id, ids, fresh)
        total = len(current)
        pos = 0
        while pos < total:
            if self.expired():
                return
            tasks = []
            refs_in_batch = 0
            while pos < total and refs_in_batch < BATCH_REFS:
                refs = _get_referents(*current[pos:pos + CHUNK])
                refs_in_batch += len(refs) + CHUNK
                pos += CHUNK
                # Iterators over the (still empty) scratch lists are created now and
                # read them later: list iterators see what was appended meanwhile.
                tasks += (
                    partial(by_id.update, zip(map(id, refs), refs)),  # first occurrence keeps its place
                    partial(ids.extend, by_id),
                    partial(fresh.extend, filterfalse(seen.__contains__, ids)),
                    partial(seen.update, fresh),
                    partial(following.extend, map(by_id.__getitem__, fresh)),
                    partial(bounds.extend, map(len, (following,))),
                    by_id.clear,
                    ids.clear,
                    fresh.clear,
                )
            self.runner.run(tasks)

    # ------------------------------------------------------------ paths

    def path(self, phase_index, depth, index, memo):
        """Objects from the root to levels[depth][index], or None when the heap changed under us."""
        phase = self.phases[phase_index]
        chain = [index]
        d, i = depth, index
        while d > 0:
            key = (phase_index, d, i)
            parent = memo.get(key, -1)
            if parent == -1:
                parent = memo[key] = self._parent(phase, d, i)
            if parent is None:
                return None, None
            d, i = d - 1, parent
            chain.append(i)
        chain.reverse()
        return [phase.levels[d][i] for d, i in enumerate(chain)], phase.roots[chain[0]]

    def _parent(self, phase, depth, index):
        target = phase.levels[depth][index]
        above = phase.levels[depth - 1]
        chunk = bisect_right(phase.bounds[depth], index)
        # Siblings usually share a parent: try the parents already found in this chunk first.
        recent = self._recent.get((id(phase), depth, chunk))
        if recent is not None:
            for candidate in recent:
                if candidate < len(above) and _refers((above[candidate],), target):
                    return candidate
        else:
            recent = self._recent[(id(phase), depth, chunk)] = []
        lo = chunk * CHUNK
        hi = min(lo + CHUNK, len(above))
        found = _first_referrer(above, lo, hi, target)
        if found is None:
            # The chunk changed since it was expanded; any referrer one level up will do.
            found = _first_referrer(above, 0, len(above), target)
        if found is not None:
            recent.insert(0, found)
            del recent[4:]
        return found

    # ------------------------------------------------------------ what the roots missed

    def unreached(self):
        """Tracked objects the walk has not visited, split by what holds them.

        Returns (held, orphan_ids, rest): objects referenced from outside the
        Python heap (their reference count exceeds the references the heap
        shows), the ids among those that no object at all refers to, and the
        others, which only unreachable objects refer to: cyclic garbage.
        """
        run = self.runner.run
        seen = self.seen
        everything = gc.get_objects()
        self.own(everything)
        left = []
        self.own(left)
        run([partial(left.extend, compress(everything, map(not_, map(seen.__contains__, map(id, everything)))))])
        del everything
        if not left:
            return [], set(), []
        # Reference counts first, while only `left` holds these objects. A fresh
        # probe held the same way gives the count our own holding adds.
        left.append([])
        counts = []
        run([partial(counts.extend, map(sys.getrefcount, left))])
        baseline = counts.pop()
        left.pop()
        left_ids = set()
        run([partial(left_ids.update, map(id, left))])
        inner = {}
        refs = _get_referents(*left)
        run([partial(_count_elements, inner, filter(left_ids.__contains__, map(id, refs)))])
        del refs
        held, orphans, rest = [], set(), []
        get_inner = inner.get
        for obj, count in zip(left, counts):
            ident = id(obj)
            referrers = get_inner(ident, 0)
            if count - baseline - referrers > 0:
                held.append(obj)
                if referrers == 0:
                    orphans.add(ident)
            else:
                rest.append(obj)
        return held, orphans, rest


def _refers(objs, target):
    return any(map(is_, _get_referents(*objs), repeat(target)))


def _first_referrer(seq, lo, hi, target):
    """Index of the first object in seq[lo:hi] that refers to target (binary search on chunks)."""
    if lo >= hi or not _refers(seq[lo:hi], target):
        return None
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _refers(seq[lo:mid], target):
            hi = mid
        else:
            lo = mid
    return lo
