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
from bisect import bisect_left, bisect_right
from collections import _count_elements
from functools import partial
from itertools import compress, count, filterfalse, islice, repeat
from operator import is_, not_

# Objects per chunk: the unit of parent search (a binary search over one chunk).
CHUNK = 512
# Below these sizes a search runs here rather than on the helper thread: its few
# allocations cost less than the round trip.
INLINE = 64
INLINE_OBJECTS = 8
# References handed to the runner per round trip (bounds time between deadline checks).
BATCH_REFS = 1 << 16

_get_referents = gc.get_referents
_is_tracked = gc.is_tracked


class Phase(object):
    """Objects reached from one group of roots, by depth."""

    __slots__ = ("kind", "levels", "bounds", "splits", "roots")

    def __init__(self, kind):
        self.kind = kind
        # levels[d]: objects first reached at depth d, in discovery order.
        self.levels = []
        # bounds[d][j]: len(levels[d]) once chunk j of levels[d-1] was expanded;
        # splits[d][j]: the same after the tracked objects it discovered, before the untracked ones.
        self.bounds = []
        self.splits = []
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
        # (phase, depth, chunk, first run) -> (sorted child indices, their parents' indices)
        self._anchors = {}
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
            del phase.levels[:], phase.bounds[:], phase.splits[:], phase.roots[:]
        del self.phases[:]
        self.seen.clear()
        self._anchors.clear()

    def expired(self):
        if time.monotonic() > self.deadline:
            self.truncated = True
        return self.truncated

    # ------------------------------------------------------------ phases

    def run_phase(self, kind, roots):
        """Walk from ``roots`` [(obj, descriptor)], skipping what is already visited."""
        phase = Phase(kind)
        self.own(phase, phase.levels, phase.bounds, phase.splits, phase.roots)
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
        phase.splits.append([])
        self.visited += len(first)
        current = first
        while current and not self.expired():
            following, bounds, splits = [], [], []
            self.own(following, bounds, splits)
            phase.levels.append(following)
            phase.bounds.append(bounds)
            phase.splits.append(splits)
            self._expand(current, following, bounds, splits)
            self.visited += len(following)
            current = following
        while len(phase.levels) > 1 and not phase.levels[-1]:
            phase.levels.pop()
            phase.bounds.pop()
            phase.splits.pop()
        return phase

    def _expand(self, current, following, bounds, splits):
        seen = self.seen
        by_id, ids, objs, tracked, fresh = {}, [], [], [], []
        self.own(by_id, ids, objs, tracked, fresh)
        # Steps that take no per-chunk iterator are built once (each object built
        # here costs a traced allocation on this thread).
        list_ids = partial(ids.extend, by_id)
        list_objs = partial(objs.extend, by_id.values())
        mark_seen = partial(seen.update, fresh)
        clear = (by_id.clear, ids.clear, objs.clear, tracked.clear, fresh.clear)
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
                # Objects gc does not track (strings, numbers, tuples and dicts of
                # those) cannot lead anywhere new: they are deduplicated within the
                # chunk only, so their ids need not be kept (an int each, plus
                # tracemalloc's record of it). One shared by many containers may
                # then be visited once per chunk that refers to it.
                tasks += (
                    partial(by_id.update, zip(map(id, refs), refs)),  # first occurrence keeps its place
                    list_ids,
                    list_objs,
                    partial(tracked.extend, map(_is_tracked, objs)),
                    partial(fresh.extend, filterfalse(seen.__contains__, compress(ids, tracked))),
                    mark_seen,
                    partial(following.extend, map(by_id.__getitem__, fresh)),
                    partial(splits.extend, map(len, (following,))),
                    partial(following.extend, compress(objs, map(not_, tracked))),
                    partial(bounds.extend, map(len, (following,))),
                ) + clear
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
        """Index in levels[depth-1] of the object that discovered levels[depth][index].

        A chunk's discoveries are appended in the order of their first reference,
        tracked objects first, then untracked ones; within each of those runs the
        discoverers never go backwards. So parents already found bracket the
        parent of any index between them, and a run with one discoverer (a big
        list's items) needs two searches in all.
        """
        bounds = phase.bounds[depth]
        chunk = bisect_right(bounds, index)
        if chunk >= len(bounds):
            return None
        start = bounds[chunk - 1] if chunk else 0
        split = phase.splits[depth][chunk]
        first_run = index < split
        run_lo, run_hi = (start, split) if first_run else (split, bounds[chunk])
        above = phase.levels[depth - 1]
        lo = chunk * CHUNK
        hi = min(lo + CHUNK, len(above))
        level = phase.levels[depth]
        key = (id(phase), depth, chunk, first_run)
        anchors = self._anchors.get(key)
        if anchors is None:
            anchors = self._anchors[key] = ([], [])
        children, parents = anchors
        k = bisect_left(children, index)
        if k < len(children) and children[k] == index:
            return parents[k]
        left = parents[k - 1] if k > 0 else lo
        right = parents[k] if k < len(children) else hi - 1
        if 0 < k < len(children) and left == right:
            return left
        target = level[index]
        found = self._first_referrer(above, left, right + 1, target)
        if found is None:
            found = self._first_referrer(above, lo, hi, target)  # the heap changed under us
            if found is None:
                return None
        children.insert(k, index)
        parents.insert(k, found)
        if found not in parents[k + 1:]:
            # Where does this parent's run of discoveries end? Everything it discovered
            # after index is among the next len(referents) objects, and (discoverers
            # never going backwards) any object of the run it refers to is its own.
            refs = _get_referents(above[found])
            ids, flags = set(), []
            tasks = [
                partial(ids.update, map(id, refs)),
                partial(flags.extend, map(ids.__contains__, map(id, level[index + 1:min(run_hi, index + 1 + len(refs))]))),
            ]
            if len(refs) > INLINE:
                self.runner.run(tasks)
            else:
                for task in tasks:
                    task()
            del refs, ids, tasks
            if True in flags:
                flags.reverse()
                end = index + len(flags) - flags.index(True)
                k = bisect_left(children, end)
                if not (k < len(children) and children[k] == end):
                    children.insert(k, end)
                    parents.insert(k, found)
        return found

    def _first_referrer(self, seq, lo, hi, target):
        """Index of the first object in seq[lo:hi] that refers to target, or None.

        One lazy pass in C: each object's referents are listed only until the first hit.
        """
        if lo >= hi:
            return None
        first = []
        refers = map(any, map(map, repeat(is_), map(_get_referents, seq[lo:hi]), repeat(repeat(target))))
        task = partial(first.extend, islice(compress(count(lo), refers), 1))
        if hi - lo > INLINE_OBJECTS:
            self.runner.run([task])
        else:
            task()
        return first[0] if first else None

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
        # This thread's frames (3.8-3.10 track frame objects) and the lists built
        # here refer to what the walk holds; none of that is the program's.
        frame = sys._getframe()
        while frame is not None:
            self.own(frame)
            frame = frame.f_back
        del frame
        left, counts, held, rest = [], [], [], []
        left_ids, inner, orphans = set(), {}, set()
        self.own(left, counts, held, rest, left_ids, inner, orphans)
        everything = gc.get_objects()
        self.own(everything)
        run([partial(left.extend, compress(everything, map(not_, map(seen.__contains__, map(id, everything)))))])
        del everything
        if not left:
            return [], set(), []
        # Reference counts first, while only `left` holds these objects. A fresh
        # probe held the same way gives the count our own holding adds.
        left.append([])
        run([partial(counts.extend, map(sys.getrefcount, left))])
        baseline = counts.pop()
        left.pop()
        run([partial(left_ids.update, map(id, left))])
        refs = _get_referents(*left)
        run([partial(_count_elements, inner, filter(left_ids.__contains__, map(id, refs)))])
        del refs
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
