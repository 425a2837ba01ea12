"""One breadth-first walk of the live heap, level by level, in C-level pipelines.

The walk keeps, per phase (a group of roots), one Level per depth holding the
objects first reached at that depth, in discovery order. That is 8 bytes per
object and all the walk needs to give every object a shortest path later: the
parent of object i at depth d is the first object of a unit of depth d-1 that
refers to it, and ``Links`` says which unit discovered it, so finding the
parent re-reads one unit, not the heap. A unit is a chunk of up to CHUNK
consecutive objects whose references number at most PIECE, or a single
object with more (one whose PIECE-sized slice of references gets a unit of
its own), so the scratch space of a step is bounded whatever the heap holds.

Visited objects are remembered by address in a bit map (visited.py, about
350 bytes per 64 KiB of heap); objects are never hashed or compared (that
would run user code). Expanding a unit is a fixed list of C calls
(``gc.get_referents``, ``map(id, ...)``, dict and bytearray operations) that
the runner executes on its frameless thread, so tracemalloc stays cheap; the
steps are built once per level (steps.py), so the calling thread, whose
allocations tracemalloc records with its stack, does almost nothing per unit.
The walk holds every visited object alive until it is dropped, so addresses
cannot be reused meanwhile; the walk's own objects are marked visited too,
and unmarked before they are freed.

Memory, beyond the 8 bytes per object (16 MB for a heap of two million):
no structure grows by reallocation to a big size. The blocks a growing list or dict leaves behind stay resident in
the C heap as holes that may never be reused (glibc serves big blocks from
the heap rather than mmap once the program has freed a big block), and one
dict deduplicating the 300 k references of one big list took 20 MB for an
instant. So levels are stored in segments allocated at full size, and a
unit's scratch space is bounded by PIECE references.
"""

import collections
import gc
import operator
import sys
import time
from array import array
from bisect import bisect_left, bisect_right
from collections import _count_elements
from functools import partial
from itertools import chain, compress, count, islice, repeat
from operator import is_, not_

from .steps import consume, nested, step
from .visited import NativeVisited, Visited, VisitedIds

# Objects per unit (the unit of parent search), and references per unit at most
# (except a unit for a single object).
CHUNK = 512
PIECE = 1 << 14
# Slots per segment of a Level (a multiple of CHUNK: no chunk spans two segments).
_SEGMENT_SHIFT = 15
SEGMENT = 1 << _SEGMENT_SHIFT
_SEGMENT_MASK = SEGMENT - 1
# Below these sizes a search runs here rather than on the helper thread: its few
# allocations cost less than the round trip.
INLINE = 64
# Repairs of paths whose links the program changed during a live search (Walk._repair): at most
# REPAIR_MAX per search, each following referrers back at most REPAIR_STEPS steps, REPAIR_FRONTIER
# objects wide.
REPAIR_MAX = 8
REPAIR_STEPS = 8
REPAIR_FRONTIER = 256
# Objects of a broken path, from its break down, tried for a repair.
REPAIR_DOWN = 4
# Seconds all repairs of one search may take, from the first; each holds the other threads off for
# at most REPAIR_HOLD; none on a heap where the walk visited more than REPAIR_MAX_VISITED objects
# (gc.get_referrers reads the whole heap at each step).
REPAIR_SECONDS = 0.5
REPAIR_HOLD = 0.03
REPAIR_MAX_VISITED = 1000000
INLINE_OBJECTS = 8
# References handed to the runner per round trip (bounds time between deadline checks,
# and the discoveries waiting to be copied into their level).
BATCH_REFS = 1 << 16
# A live search (the program's threads run on) holds the GIL for one C call at a
# time: smaller batches, and long sequences handled in slices, keep each call
# (so each pause of another thread) to a few milliseconds on a big heap.
LIVE_BATCH_REFS = 1 << 11
LIVE_SLICE = 1 << 13
# References per call of the native expansion at exit (a live search keeps LIVE_BATCH_REFS).
NATIVE_BATCH_REFS = 1 << 18

_get_referents = gc.get_referents


def _referents_and_keys(*objs):
    """gc.get_referents plus the string keys of the dicts among ``objs``, which CPython's dict
    traverse skips (as the C walk's ``referents`` does; C calls only, no code of the program)."""
    refs = _get_referents(*objs)
    # (issubclass of the type: isinstance would read a non-dict's __class__, which the program may define)
    for d in compress(objs, map(issubclass, map(type, objs), repeat(dict))):
        refs.extend(filter(_is_str, dict.keys(d)))
    return refs


def _is_str(obj):
    return type(obj) is str
_CALL = operator.methodcaller("__call__")
_is_tracked = gc.is_tracked
_FrameType = type(sys._getframe())


class Level(object):
    """The objects first reached at one depth, in discovery order: a read-only sequence.

    Stored in segments of SEGMENT slots, each allocated once at full size and
    filled by slice assignment; the last one is cut to size when the level is
    complete. So the level's memory is its size, and nothing it leaves behind
    while it grows (see "Memory" above). A level's first segment starts at the
    size of the first batch (most levels are one batch) and grows to full size
    only if more follow.
    """

    __slots__ = ("segments", "size")

    def __init__(self):
        self.segments = []
        self.size = 0

    def extend(self, items, own):
        """Append the objects of the list ``items``; ``own(list)`` is told of every new segment."""
        n = len(items)
        pos = 0
        while pos < n:
            k = self.size & _SEGMENT_MASK
            if k == 0:
                self.segments.append([None] * (SEGMENT if self.segments else min(SEGMENT, n - pos)))
                own(self.segments[-1])
            segment = self.segments[-1]
            take = min(SEGMENT - k, n - pos)
            if k + take > len(segment):
                segment.extend(repeat(None, SEGMENT - len(segment)))
            segment[k:k + take] = items if take == n else items[pos:pos + take]
            self.size += take
            pos += take

    def finish(self):
        """The level is complete: cut the last segment to size."""
        k = self.size & _SEGMENT_MASK
        if k and self.segments and len(self.segments[-1]) > k:
            del self.segments[-1][k:]

    def clear(self):
        del self.segments[:]
        self.size = 0

    def __len__(self):
        return self.size

    def __iter__(self):
        if self.size & _SEGMENT_MASK and self.segments and len(self.segments[-1]) > self.size & _SEGMENT_MASK:
            return islice(chain.from_iterable(self.segments), self.size)
        return chain.from_iterable(self.segments)

    def __getitem__(self, i):
        if type(i) is slice:
            lo, hi, _ = i.indices(self.size)
            return self.slice(lo, hi)
        if i < 0:
            i += self.size
        if not 0 <= i < self.size:
            raise IndexError(i)
        return self.segments[i >> _SEGMENT_SHIFT][i & _SEGMENT_MASK]

    def slice(self, lo, hi):
        """A new list of the objects at lo..hi-1."""
        hi = min(hi, self.size)
        if lo >= hi:
            return []
        k = lo & _SEGMENT_MASK
        if k + (hi - lo) <= SEGMENT:
            return self.segments[lo >> _SEGMENT_SHIFT][k:k + hi - lo]
        out = []
        while lo < hi:
            s, k = lo >> _SEGMENT_SHIFT, lo & _SEGMENT_MASK
            take = min(hi - lo, SEGMENT - k)
            out += self.segments[s][k:k + take]
            lo += take
        return out

    def index(self, obj):
        """Position of obj (by identity), or None."""
        return next(compress(count(), map(is_, self, repeat(obj))), None)


class Links(object):
    """Which unit of depth d-1 discovered which objects of depth d: per unit, in walk order,
    its objects at d-1 (starts..stops) and where its discoveries end at d, tracked ones
    first (splits), then untracked ones (bounds)."""

    __slots__ = ("starts", "stops", "splits", "bounds")

    def __init__(self):
        self.starts, self.stops, self.splits, self.bounds = array("q"), array("q"), array("q"), array("q")


class _Roots(object):
    """roots[i]: the descriptor of a phase's i-th root object (levels[0][i])."""

    __slots__ = ("describe", "index")

    def __init__(self, describe, index):
        self.describe = describe
        self.index = index  # position among the roots given, per root object kept (None: the same)

    def __getitem__(self, i):
        return self.describe(i if self.index is None else self.index[i])

    def clear(self):
        self.describe = self.index = None


class Phase(object):
    """Objects reached from one group of roots, by depth."""

    __slots__ = ("kind", "levels", "links", "roots")

    def __init__(self, kind):
        self.kind = kind
        # levels[d]: objects first reached at depth d, in discovery order.
        self.levels = []
        # links[d]: how levels[d] was discovered from levels[d-1] (links[0] is empty).
        self.links = []
        # roots[i]: what levels[0][i] is (the caller's root descriptor).
        self.roots = []


class Walk(object):
    def __init__(self, runner, deadline, compact=True, live=False, native=None, sampled_leaves_only=False):
        """``native``: the sampler extension, whose C loop (native/lh_walk.h) then expands the
        levels and keeps the visited set; without it the walk runs in C calls from Python.
        ``sampled_leaves_only`` (native only): str, int, float, bytes and complex objects are kept
        in the levels only when the sampler sampled their block (they lead nowhere, and the search
        matches objects to sampled blocks only); the others are counted in ``visited``."""
        self.runner = runner
        self.deadline = deadline
        self.native = native
        self.sampled_leaves_only = bool(native is not None and sampled_leaves_only)
        if native is not None:
            self.batch_refs = LIVE_BATCH_REFS if live else NATIVE_BATCH_REFS
            self.seen = NativeVisited(native)
            self.referents = native.referents
        else:
            self.batch_refs = LIVE_BATCH_REFS if live else BATCH_REFS
            self.seen = Visited() if compact else VisitedIds()
            self.referents = _referents_and_keys
        self.slice = LIVE_SLICE if live else None
        self.phases = []
        self.truncated = False
        self.visited = 0
        # (phase, depth, unit, first run) -> (sorted child indices, their parents' indices)
        self._anchors = {}
        self._repairs = 0
        self._repair_until = None
        # Live searches (the program runs on): the young objects when the walk began.
        # With gc disabled nothing leaves the young generation, so a young object not
        # among these was made during the walk; none of those is taken for one that
        # "nothing refers to" merely because its container was walked before it was added.
        self._young_at_start = None
        self.own(self, self.phases, *self.seen.owned())

    def remember_young(self):
        """Called right after gc is disabled, for a live search (see __init__)."""
        young = gc.get_objects(0)
        self.own(young)
        self._young_at_start = young

    def own(self, *objs):
        """Mark the walk's own objects as visited so it never walks them."""
        self.seen.add(objs)

    def disown(self, *objs):
        """The walk's own objects that are about to be freed: a new object may take their address."""
        self.seen.discard(objs)

    def mark(self, objs):
        """Mark objects as visited without walking into them."""
        self.seen.add(objs)

    def unvisited(self, objs):
        """The objects of ``objs`` (a sequence of tracked objects) not visited yet."""
        out = []
        self.runner.run([partial(out.extend, compress(objs, map(not_, self.seen.flags(objs))))])
        return out

    def close(self):
        """Drop every reference the walk holds (it may sit in a cycle with the caller's frame)."""
        for phase in self.phases:
            for level in phase.levels:
                level.clear()
            del phase.levels[:], phase.links[:]
            if isinstance(phase.roots, _Roots):
                phase.roots.clear()
        del self.phases[:]
        self.seen.clear()
        self._anchors.clear()
        self._young_at_start = None

    def expired(self):
        if time.monotonic() > self.deadline:
            self.truncated = True
        return self.truncated

    # ------------------------------------------------------------ phases

    def run_phase(self, kind, roots, describe=None):
        """Walk from ``roots`` [(obj, descriptor)], skipping what is already visited.

        With ``describe``, ``roots`` is a list of objects and ``describe(i)`` the descriptor of
        the i-th: no tuple per root (a phase may start from millions of objects)."""
        phase = Phase(kind)
        self.own(phase, phase.levels, phase.links, phase.roots)
        self.phases.append(phase)
        if describe is None:
            roots = list(roots)
            objs = [obj for obj, _ in roots]
            descriptors = [descriptor for _, descriptor in roots]
            describe = descriptors.__getitem__
            del roots
        else:
            objs = roots
        if self.native is not None:
            # One C call: the roots not visited yet, each once, now marked (no copy when that is all).
            first, index = self.native.visited_take(self.seen.capsule, objs if type(objs) is list else list(objs))
            if first is None:
                first, index = objs, None
            else:
                index = memoryview(index).cast("q")
            phase.roots = _Roots(describe, index)
            del objs, index
        else:
            visited = []
            self.runner.run([partial(visited.extend, self.seen.flags(objs))])
            new = []
            taken = set()  # the same object twice among the roots
            for obj, done in zip(objs, visited):
                fresh = not done and id(obj) not in taken
                if fresh:
                    taken.add(id(obj))
                new.append(fresh)
            del visited, taken
            first = list(compress(objs, new))
            phase.roots = _Roots(describe, array("q", compress(count(), new)))
            del objs, new
            self.seen.add(first)
        level, links = Level(), Links()
        self.own(level, level.segments, links, links.starts, links.stops, links.splits, links.bounds)
        level.extend(first, self.own)
        level.finish()
        del first
        phase.levels.append(level)
        phase.links.append(links)
        self.visited += len(level)
        current = level
        while current and not self.expired():
            following, links = Level(), Links()
            self.own(following, following.segments, links, links.starts, links.stops, links.splits, links.bounds)
            phase.levels.append(following)
            phase.links.append(links)
            self._expand(current, following, links)
            following.finish()
            self.visited += len(following)
            current = following
        while len(phase.levels) > 1 and not phase.levels[-1]:
            level, links = phase.levels.pop(), phase.links.pop()
            self.disown(level, level.segments, links, links.starts, links.stops, links.splits, links.bounds)
            del level, links
        return phase

    def _unit_steps(self):
        """The steps that expand one unit whose references the runner takes from ``queue``.

        Built once per level (steps.py): per unit, the calling thread only queues
        the references and the runner does the rest. (Not kept: objects only the
        walk refers to would read as held by native code in ``unreached``.)
        """
        queue = collections.deque()
        refs, by_id, ids, objs, tracked, tids, tobjs, flags, following, marks = [], {}, [], [], [], [], [], [], [], []
        visit, scratch = self.seen.test_and_add(tids, flags)
        self.own(queue, refs, by_id, ids, objs, tracked, tids, tobjs, flags, following, marks, *scratch)
        self._scratch = [queue, refs, by_id, ids, objs, tracked, tids, tobjs, flags, following, marks] + scratch
        # Objects gc does not track (strings, numbers, tuples and dicts of those)
        # cannot lead anywhere new: they are deduplicated within the unit only,
        # so they need no place in the visited map. One shared by many
        # containers may then be visited once per unit that refers to it.
        steps = [
            step(refs.extend, queue.popleft),
            step(by_id.update, zip, nested(map, id, refs), refs),  # first occurrence keeps its place
            partial(ids.extend, by_id),
            partial(objs.extend, by_id.values()),
            step(tracked.extend, map, _is_tracked, objs),
            step(tids.extend, compress, ids, tracked),
            step(tobjs.extend, compress, objs, tracked),
        ]
        steps += visit
        steps += [
            step(following.extend, compress, tobjs, nested(map, not_, flags)),
            step(marks.append, len, following),
            step(following.extend, compress, objs, nested(map, not_, tracked)),
            step(marks.append, len, following),
        ]
        steps += [x.clear for x in (refs, by_id, ids, objs, tracked, tids, tobjs, flags)]
        return tuple(steps), queue, following, marks

    def _expand(self, current, level, links):
        """Append to ``level`` what the objects of ``current`` refer to that was not visited."""
        if self.native is not None:
            return self._expand_native(current, level, links)
        steps, queue, following, marks = self._unit_steps()
        try:
            self._expand_units(current, level, links, steps, queue, following, marks)
        finally:
            self.disown(*self._scratch)
            del self._scratch

    def _expand_native(self, current, level, links):
        """The same in C, a batch of references per call (the GIL is free between calls).

        A unit's discoveries are one run in order of discovery (splits equal bounds)."""
        expand = self.native.walk_expand
        capsule = self.seen.capsule
        following = []
        self.own(following)
        try:
            pos = sub = 0
            size = len(current)
            while pos < size and not self.expired():
                pos, sub, units, left_out = expand(capsule, current.segments, size, pos, sub, following,
                                                   self.batch_refs, self.sampled_leaves_only)
                self.visited += left_out
                base = len(level)
                ends = [base + end for end in islice(units, 2, None, 3)]
                links.starts.extend(islice(units, 0, None, 3))
                links.stops.extend(islice(units, 1, None, 3))
                links.splits.extend(ends)
                links.bounds.extend(ends)
                level.extend(following, self.own)
                del following[:], units, ends
        finally:
            self.disown(following)

    def _expand_units(self, current, level, links, steps, queue, following, marks):
        spans = []
        refs_in_batch = 0
        for start, stop, refs in self._units(current):
            queue.append(refs)
            spans.append((start, stop))
            refs_in_batch += len(refs) + CHUNK
            del refs
            if refs_in_batch >= self.batch_refs:
                if not self._run_batch(steps, queue, spans, following, marks, level, links):
                    return
                refs_in_batch = 0
        self._run_batch(steps, queue, spans, following, marks, level, links)

    def _units(self, current):
        """(start, stop, references of current[start:stop]) per unit, in order."""
        total = len(current)
        pos = 0
        while pos < total:
            group = current.slice(pos, pos + CHUNK)
            refs = self.referents(*group)
            if len(refs) <= PIECE:
                yield pos, pos + len(group), refs
                pos += len(group)
                continue
            del refs
            sizes = list(map(len, map(self.referents, group)))
            k = 0
            while k < len(group):
                if sizes[k] > PIECE:
                    refs = self.referents(group[k])
                    for a in range(0, len(refs), PIECE):
                        yield pos + k, pos + k + 1, refs[a:a + PIECE]
                    del refs
                    k += 1
                    continue
                m, n = k, 0
                while m < len(group) and n + sizes[m] <= PIECE:
                    n += sizes[m]
                    m += 1
                yield pos + k, pos + m, self.referents(*group[k:m])
                k = m
            pos += len(group)

    def _run_batch(self, steps, queue, spans, following, marks, level, links):
        """Expand the queued units, append their discoveries to level and links; False when out of time."""
        if self.expired():
            queue.clear()
            return False
        if spans:
            self.runner.run([partial(consume, map(_CALL, chain.from_iterable(repeat(steps, len(spans)))))])
        base = len(level)
        for (start, stop), split, bound in zip(spans, islice(marks, 0, None, 2), islice(marks, 1, None, 2)):
            links.starts.append(start)
            links.stops.append(stop)
            links.splits.append(base + split)
            links.bounds.append(base + bound)
        level.extend(following, self.own)
        del spans[:], following[:], marks[:]
        return True

    # ------------------------------------------------------------ paths

    def path(self, phase_index, depth, index, memo):
        """Objects from the root to levels[depth][index], or None when the heap changed under us
        and no repair (see _repair) found what holds the object now."""
        phase = self.phases[phase_index]
        out = [phase.levels[depth][index]]  # from the object up to its root
        at = [(depth, index, 0)]  # (depth, index, len(out) up to it) of the level objects on it
        d, i = depth, index
        while d > 0:
            key = (phase_index, d, i)
            parent = memo.get(key, -1)
            if parent == -1:
                parent = self._parent(phase, d, i)
                if parent is None:
                    # The link is gone; the object that discovered this one may be garbage now that
                    # only the walk holds (a handle that has run): then what holds an object below
                    # it now is the way up.
                    for d2, i2, n in reversed(at[-REPAIR_DOWN:]):
                        parent = self._repair(phase, d2, i2)
                        if parent is not None:
                            memo[(phase_index, d2, i2)] = parent
                            del out[n + 1:], at[at.index((d2, i2, n)) + 1:]
                            d, i, key = d2, i2, (phase_index, d2, i2)
                            break
                memo[key] = parent
            if parent is None:
                return None, None
            if type(parent) is tuple:
                d, i, between = parent
                out.extend(reversed(between))
            else:
                d, i = d - 1, parent
            out.append(phase.levels[d][i])
            at.append((d, i, len(out) - 1))
        out.reverse()
        return out, phase.roots[i]

    def _repair(self, phase, depth, index):
        """What holds levels[depth][index] now, when the object that discovered it no longer refers to
        it: a live search's program ran on (an event loop's timer handle that held a task has run, a
        queue was drained and refilled). Referrers are followed back from the object (gc.get_referrers,
        C calls only, frames left out) until one the walk reached at a lower depth whose own link is
        intact: (its depth, its index, [the objects after it, down to the object's holder]). None when
        none is found within REPAIR_STEPS steps, REPAIR_MAX repairs or REPAIR_SECONDS."""
        now = time.monotonic()
        if self._repair_until is None:
            self._repair_until = now + REPAIR_SECONDS  # the walk's own deadline has passed by now
        if self._repairs >= REPAIR_MAX or now > self._repair_until or self.visited > REPAIR_MAX_VISITED:
            return None
        self._repairs += 1
        # One repair at a time without the program's threads: they change what is followed (a timer
        # handle runs every few milliseconds), so the interpreter switches threads only after
        # REPAIR_HOLD (every step is a C call of a few milliseconds on a heap this size).
        interval = sys.getswitchinterval()
        sys.setswitchinterval(REPAIR_HOLD)
        try:
            return self._repair_held(phase, depth, index)
        finally:
            sys.setswitchinterval(interval)

    def _repair_held(self, phase, depth, index):
        target = phase.levels[depth][index]
        child_of = {id(target): None}  # id(referrer) -> what it refers to, one step nearer the target
        held = [target]  # keeps the objects of the chain alive while it is looked for
        reached = {}  # id(referrer the walk visited) -> (referrer, its child)
        frontier = [target]
        # Back from the target through objects the walk has not seen (made since it ran), quickly:
        # the program goes on changing them. The visited referrers met are placed afterwards.
        for _ in range(REPAIR_STEPS):
            if time.monotonic() > self._repair_until:
                return None
            wanted = {}
            for o in frontier:
                wanted[id(o)] = o
            skip = (id(held), id(frontier), id(wanted), id(child_of), id(reached))
            following = []
            for r in gc.get_referrers(*frontier):
                rid = id(r)
                if rid in skip or rid in child_of or rid in reached or type(r) is _FrameType:
                    continue
                refs = self.referents(r)
                child = next(compress(refs, map(wanted.__contains__, map(id, refs))), None)
                del refs
                if child is None:
                    continue
                if any(self.seen.flags([r])):
                    reached[rid] = (r, child)  # the walk's own, or visited: placed below
                elif len(following) < REPAIR_FRONTIER:
                    child_of[rid] = child
                    held.append(r)
                    following.append(r)
            if not following:
                break
            frontier = following
        for d, i, r, child in sorted(self._positions(phase, depth, reached), key=lambda p: p[0]):
            if d > 0 and self._parent(phase, d, i) is None:
                continue  # stale too: garbage only the walk holds (a handle that has run)
            between = []
            o = child
            while o is not target:
                between.append(o)
                o = child_of[id(o)]
            return d, i, between
        return None

    def _positions(self, phase, depth, reached):
        """[(depth, index, object, child)] of the objects of ``reached`` ({id: (object, child)}) among the
        phase's levels above ``depth``, the shallowest first: one pass of C calls over those levels."""
        if not reached:
            return []
        # Run on the frameless helper (runner): map(id, ...) makes an int per object, which costs a
        # traceback each on a thread with frames under tracemalloc.
        found = []  # (depth, segment offset, [indices in the segment])
        tasks = []
        for d in range(depth):
            level = phase.levels[d]
            base = 0
            for segment in level.segments:
                hits = []
                found.append((d, base, segment, hits))
                tasks.append(partial(hits.extend, compress(count(), map(reached.__contains__, map(id, segment)))))
                base += len(segment)
        self.runner.run(tasks)
        out = []
        for d, base, segment, hits in found:
            for j in hits:
                if base + j < len(phase.levels[d]):
                    r, child = reached[id(segment[j])]
                    out.append((d, base + j, r, child))
        return out

    def _parent(self, phase, depth, index):
        """Index in levels[depth-1] of the object that discovered levels[depth][index].

        A unit's discoveries are appended in the order of their first reference,
        tracked objects first, then untracked ones; within each of those runs the
        discoverers never go backwards. So parents already found bracket the
        parent of any index between them, and a run with one discoverer (a big
        list's items) needs two searches in all.
        """
        links = phase.links[depth]
        bounds = links.bounds
        unit = bisect_right(bounds, index)
        if unit >= len(bounds):
            return None
        split = links.splits[unit]
        first_run = index < split
        run_hi = split if first_run else bounds[unit]
        above = phase.levels[depth - 1]
        lo = links.starts[unit]
        hi = min(links.stops[unit], len(above))
        if hi - lo == 1:
            return lo  # a unit of one object (or a slice of the references of a big one)
        level = phase.levels[depth]
        key = (id(phase), depth, unit, first_run)
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
            # (A dict of the run's next objects, at most PIECE, rather than a set of
            # the parent's references, which may be millions.)
            refs = self.referents(above[found])
            after = level.slice(index + 1, min(run_hi, index + 1 + len(refs)))
            where, last = {}, []
            tasks = [
                partial(where.update, zip(map(id, after), count(index + 1))),
                partial(last.extend, map(max, (chain((0,), filter(None, map(where.get, map(id, refs)))),))),
            ]
            if len(refs) > INLINE:
                self.runner.run(tasks)
            else:
                for task in tasks:
                    task()
            del refs, after, where, tasks
            if last and last[0]:
                end = last[0]
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
        refers = map(any, map(map, repeat(is_), map(self.referents, seq[lo:hi]), repeat(repeat(target))))
        task = partial(first.extend, islice(compress(count(lo), refers), 1))
        if hi - lo > INLINE_OBJECTS:
            self.runner.run([task])
        else:
            task()
        return first[0] if first else None

    # ------------------------------------------------------------ what the roots missed

    def unreached(self):
        """Tracked objects the walk has not visited, split by what holds them.

        Returns (held, refcounts, rest): objects referenced from outside the
        Python heap (their reference count exceeds the references the heap
        shows), per held object its reference count when no object at all
        refers to it (else None), and the others, which only unreachable
        objects refer to: cyclic garbage.
        """
        # This thread's frames (3.8-3.10 track frame objects) and the lists built
        # here refer to what the walk holds; none of that is the program's.
        frame = sys._getframe()
        frames = []
        while frame is not None:
            frames.append(frame)
            frame = frame.f_back
        del frame
        # ``frames`` holds this frame, whose locals hold ``frames``: a reference cycle, broken before
        # returning. Left to the collector, it would take the program's objects these lists hold into
        # cyclic garbage, whose clearing order some types do not survive (a BytesIO buffer's view on
        # CPython 3.12.0-3.12.1, gh-111211) and whose finalizers would run on this thread.
        if self.native is not None and self.slice is None:
            self.own(frames, *frames)
            try:
                return self._unreached_native()
            finally:
                self.disown(frames[0], frames)
                frames.clear()
        left, counts, held, rest = [], [], [], []
        left_ids, inner, orphans = set(), {}, []
        self.own(frames, left, counts, held, rest, left_ids, inner, orphans, *frames)
        try:
            return self._unreached(left, counts, held, rest, left_ids, inner, orphans)
        finally:
            # (Those returned are freed once their phases are done.)
            self.disown(frames[0], frames, left, counts, left_ids, inner)
            frames.clear()

    def _unreached_native(self):
        """The same in C (native/lh_walk.h), in memory bounded by the unvisited objects' regions
        rather than a set and a dict of their ids (an exit search; a live one keeps to slices)."""
        everything = gc.get_objects()
        self.own(everything)
        try:
            return self.native.unreached_split(self.seen.capsule, everything, self._young_at_start or ())
        finally:
            self.disown(everything)
            del everything

    def _slices(self, seq):
        """``seq`` whole, or (a live search) in slices of ``self.slice``: one C call each."""
        if self.slice is None or len(seq) <= self.slice:
            yield seq
            return
        for start in range(0, len(seq), self.slice):
            yield seq[start:start + self.slice]

    def _made_during_walk(self):
        """Ids of the young objects made since the walk began (a live search)."""
        before = set(map(id, self._young_at_start))
        now = gc.get_objects(0)
        made = set(map(id, now))
        del now
        made.difference_update(before)
        return made

    def _unreached(self, left, counts, held, rest, left_ids, inner, orphans):
        run = self.runner.run
        seen = self.seen
        everything = gc.get_objects()
        self.own(everything)
        for part in self._slices(everything):
            run([partial(left.extend, compress(part, map(not_, seen.flags(part))))])
            del part
        self.disown(everything)
        del everything
        if self._young_at_start is not None and left:
            made_during = self._made_during_walk()
            if made_during:
                kept = []
                self.own(kept)
                run([partial(kept.extend, compress(left, map(not_, map(made_during.__contains__, map(id, left)))))])
                left[:] = kept
                self.disown(kept)
                del kept
        if not left:
            return [], [], []
        # Reference counts first, while only `left` holds these objects. A fresh
        # probe held the same way gives the count our own holding adds.
        # (In slices, every object and the probe alike are held once more by their slice.)
        left.append([])
        for part in self._slices(left):
            run([partial(counts.extend, map(sys.getrefcount, part))])
            del part
        baseline = counts.pop()
        left.pop()
        for part in self._slices(left):
            run([partial(left_ids.update, map(id, part))])
            refs = self.referents(*part)
            del part
            run([partial(_count_elements, inner, filter(left_ids.__contains__, map(id, refs)))])
            del refs
        get_inner = inner.get
        for obj, count in zip(left, counts):
            referrers = get_inner(id(obj), 0)
            if count - baseline - referrers > 0:
                held.append(obj)
                orphans.append(count - baseline if referrers == 0 else None)
            else:
                rest.append(obj)
        return held, orphans, rest
