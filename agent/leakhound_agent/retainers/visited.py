"""The walk's visited set: one bit per 32 bytes of address space, in 64 KiB regions.

A set of ``id()`` ints costs about 60-80 bytes per member (a 32-byte int,
a 16-byte slot, the table kept under 60% full, and the old and new tables
side by side while it grows): 28 MB for the 350 k gc-tracked objects of a
two-million-object heap. Here an object's id selects a region (``id >> 16``,
a 256-byte bytearray created on first use), a byte in it and a bit in that
byte: about 350 bytes per 64 KiB of heap that holds gc objects, 0.5% of the
heap at most, however many objects it holds.

The bit is the object's own: every object that gc can track carries a gc
header, so two of them are at least 32 bytes apart (16 on 32-bit builds).
Objects of other types (no header) are never members: ``add`` leaves them
out, and the walk only asks about tracked objects.

Every operation is a fixed pipeline of C calls over iterators; the walk runs
them on its frameless helper thread. The numbers they make (region, byte,
bit) are three short-lived ints per id, all but the region number small
enough to be cached ones. Nothing here hashes, compares or calls into the
program's objects.

Under tracemalloc, which records every allocation, those short-lived ints
cost more than the set's one kept int per member (the walk of a
two-million-object heap took 0.8 s longer on 3.9), and tracemalloc's own
records dwarf the set anyway: the walk uses ``VisitedIds`` then.
"""

import collections
import struct
from functools import partial
from itertools import compress, repeat
from operator import and_, getitem, lshift, or_, rshift, setitem

from .steps import consume, nested, step

_SHIFT = 5 if struct.calcsize("P") == 8 else 4  # bits of an address below an object's slot
REGION_SHIFT = 16  # bits of an address below its region
_BYTE_SHIFT = _SHIFT + 3
_REGION_BYTES = 1 << (REGION_SHIFT - _BYTE_SHIFT)
_BYTE_MASK = _REGION_BYTES - 1
_HAVE_GC = 1 << 14
_flags = type.__dict__["__flags__"].__get__


class Visited(object):
    __slots__ = ("regions", "_zero", "_create")

    def __init__(self):
        # region number -> bytearray, created on first __getitem__.
        self.regions = collections.defaultdict(partial(bytearray, _REGION_BYTES))
        self._zero = bytes(_REGION_BYTES)  # stands in for a region not created yet
        self._create = self.regions.__getitem__

    def clear(self):
        self.regions.clear()

    def owned(self):
        return [self, self.regions, self.regions.default_factory, self._create]

    # ------------------------------------------------------------ pipelines (lazy: they read their input when consumed)

    def _regions(self, ids, create):
        return map(self._create if create else self.regions.get, map(rshift, ids, repeat(REGION_SHIFT)),
                   *(() if create else (repeat(self._zero),)))

    @staticmethod
    def _bytes(ids):
        return map(and_, map(rshift, ids, repeat(_BYTE_SHIFT)), repeat(_BYTE_MASK))

    @staticmethod
    def _bits(ids):
        return map(lshift, repeat(1), map(and_, map(rshift, ids, repeat(_SHIFT)), repeat(7)))

    def flags(self, objs):
        """Iterator of a true value (visited) or 0 per object of the sequence ``objs``. Creates no region."""
        return map(and_, map(getitem, self._regions(map(id, objs), False), self._bytes(map(id, objs))),
                   self._bits(map(id, objs)))

    def test_and_add(self, ids, flags):
        """Reusable steps (steps.py): ``flags`` (a list) gets a true value or 0 per id of ``ids``
        (a list) as it was before, then every id is added.

        Only for ids of objects gc tracks (or could track); the ids must differ.
        The caller clears ``flags``. Returns (steps, the scratch lists they use).
        """
        regions, offsets, bits = [], [], []
        by, one = repeat(REGION_SHIFT), repeat(1)
        to_byte, byte_mask, to_slot, seven = repeat(_BYTE_SHIFT), repeat(_BYTE_MASK), repeat(_SHIFT), repeat(7)
        return [
            step(regions.extend, map, self._create, nested(map, rshift, ids, by)),
            step(offsets.extend, map, and_, nested(map, rshift, ids, to_byte), byte_mask),
            step(bits.extend, map, lshift, one, nested(map, and_, nested(map, rshift, ids, to_slot), seven)),
            step(flags.extend, map, and_, nested(map, getitem, regions, offsets), bits),
            step(consume, map, setitem, regions, offsets, nested(map, or_, nested(map, getitem, regions, offsets), bits)),
            regions.clear,
            offsets.clear,
            bits.clear,
        ], [regions, offsets, bits]

    # ------------------------------------------------------------ direct calls

    def add(self, objs):
        """Add the objects of gc types among ``objs`` (a sequence)."""
        self._set(objs, or_)

    def discard(self, objs):
        """Remove objects added before (about to be freed: a new object may take their address)."""
        self._set(objs, _and_not)

    def _set(self, objs, op):
        gc_objs = list(compress(objs, map(and_, map(_flags, map(type, objs)), repeat(_HAVE_GC))))
        regions = list(self._regions(map(id, gc_objs), True))
        offsets = list(self._bytes(map(id, gc_objs)))
        consume(map(setitem, regions, offsets, map(op, map(getitem, regions, offsets), self._bits(map(id, gc_objs)))))


def _and_not(value, bit):
    return value & ~bit


class VisitedIds(object):
    """The same as Visited over a set of ids: faster under tracemalloc, bigger (60-80 bytes per member)."""

    __slots__ = ("ids",)

    def __init__(self):
        self.ids = set()

    def clear(self):
        self.ids.clear()

    def owned(self):
        return [self, self.ids]

    def flags(self, objs):
        return map(self.ids.__contains__, map(id, objs))

    def test_and_add(self, ids, flags):
        return [
            step(flags.extend, map, self.ids.__contains__, ids),
            partial(self.ids.update, ids),
        ], []

    def add(self, objs):
        self.ids.update(map(id, objs))

    def discard(self, objs):
        self.ids.difference_update(map(id, objs))


class NativeVisited(object):
    """The same set in the sampler extension (native/lh_walk.h): one bit per 16 bytes of address
    space, every object a member whether gc tracks it or not; the walk's inner loop reads it in C."""

    __slots__ = ("ext", "capsule")

    def __init__(self, ext):
        self.ext = ext
        self.capsule = ext.visited_new()

    def clear(self):
        self.ext.visited_clear(self.capsule)

    def owned(self):
        return [self, self.capsule]

    def flags(self, objs):
        return self.ext.visited_flags(self.capsule, objs)

    def add(self, objs):
        self.ext.visited_update(self.capsule, objs, True)

    def discard(self, objs):
        self.ext.visited_update(self.capsule, objs, False)
