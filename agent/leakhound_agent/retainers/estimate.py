"""How many objects, and bytes, each retainer path keeps: estimates with their error, or exact counts.

A sampling collector knows only the sampled blocks, and a block of size s is
sampled with probability p(s) (at the level the sampler drew it: the sampler
keeps that probability with the block). The objects of a stack that the walk
reached are the sampled ones among them; each stands for 1/p objects and
y/p bytes (y: its shallow size, ``sys.getsizeof`` where the type's
``__sizeof__`` is the interpreter's own C code, else the sampled block's size:
an extension type's ``__sizeof__`` may count memory of its own allocator, such
as numpy's data, which is native and not this Python leak's). Over a set of
sampled objects, the Horvitz-Thompson sums

    objects ~ sum 1/p,  bytes ~ sum y/p,
    variance ~ sum (1-p)/p^2  and  sum y^2 (1-p)/p^2

are unbiased, with the standard error the square root of the variance. An
exact collector (tracemalloc) has p = 1: the sums are counts and the error 0.

Paths are rebuilt for a sample of the stack's objects only (``max_objects``).
So the sums are taken over every object of the stack the walk reached,
grouped by exact type (``totals``), and each path gets the share of its
type's sums that the explained objects of that type on that path carry (a
ratio estimate; the error adds the variance of that share). A type all of
whose explained objects share one path gets its whole sum, with no
sub-sampling error: a list of tuples and the floats inside them are two paths
of two types.

Where the walk reached the containers holding a path's objects (the path's
last container is an exact builtin list, tuple, dict, set, frozenset or
deque, few enough of them that the sample saw them all, and the estimate is
precise enough to tell), the objects of that type in those containers are
counted, and their ``sys.getsizeof`` summed, instead (``exact``): that count
replaces the estimate when it agrees with it and the containers' sampled
objects of that type were allocated at this stack. Nothing here calls the
program's code: containers are read with their exact builtin type's C
methods, and sizes only where ``__sizeof__`` is C code.
"""

import collections
import sys
import time
from collections import _count_elements
from functools import partial
from itertools import compress, repeat
from operator import is_

# More distinct last containers than this on one path: not all of them were seen.
MAX_CONTAINERS = 64
# An exact count (less the share of its sampled objects charged to other stacks) must agree
# with the estimate within this many standard errors...
Z = 4.0
# ... plus this share of the count.
SLACK = 0.01
# And the estimate must be this precise for the agreement to mean anything.
MAX_RELATIVE_ERROR = 0.1
# The share of a container's sampled objects of the type that may come from other stacks
# (CPython reuses tuples, floats and dicts from free lists: those the sampler did not see die there keep the
# stack that first allocated them).
FOREIGN = 0.05

_getsizeof = sys.getsizeof
_Deque = collections.deque
# By id: a dict keyed by the types themselves would hash the program's types (a metaclass may define __hash__).
_ITEMS = {
    id(list): list.__iter__,
    id(tuple): tuple.__iter__,
    id(set): set.__iter__,
    id(frozenset): frozenset.__iter__,
    id(_Deque): _Deque.__iter__,
}


class Stratum(object):
    """Sums over the sampled objects of one exact type at one stack."""

    __slots__ = ("hits", "w", "q", "wy", "qy")

    def __init__(self):
        self.hits = 0
        self.w = self.q = self.wy = self.qy = 0.0


class Totals(object):
    """Per exact type (by id): the Horvitz-Thompson sums over a stack's objects the walk reached."""

    def __init__(self):
        self.strata = {}
        self.types = {}  # id(type) -> type (kept alive while we look)
        # Multiply by this: the share of the hits the sums cover (time budget, matching coverage).
        self.scale = 1.0
        self.hits = 0

    def stratum(self, tp):
        st = self.strata.get(id(tp))
        if st is None:
            st = self.strata[id(tp)] = Stratum()
            self.types[id(tp)] = tp
        return st


def size_rule(namer, tp):
    """True when sys.getsizeof is safe for instances of tp (its __sizeof__ is C code) and counts only
    memory from Python's allocators, as a Python leak's own figures do; else the sampled block's size."""
    return namer.type_info(tp).sizeof_python


def weigh(obj, sample_of, namer):
    """(w, q, y) of one object: 1/p, (1-p)/p^2 and its size; None when the sampler no longer has its block."""
    tp = type(obj)
    if sample_of is None:
        p, block = 1.0, None
    else:
        info = sample_of(obj)
        if info is None:
            return None
        block, p = info[1], info[2]
    if size_rule(namer, tp):
        try:
            y = float(_getsizeof(obj))
        except Exception:
            y = float(block or 0)
    else:
        y = float(block) if block is not None else float(namer.shallow_size(obj))
    w = 1.0 / p
    return w, (1.0 - p) * w * w, y


def totals(batches, sample_of, namer, runner, deadline, expected):
    """Totals over the lists of objects ``batches`` yields (``expected`` of them in all)."""
    result = Totals()
    seen = 0
    for objs in batches:
        if time.monotonic() > deadline:
            break
        seen += len(objs)
        if sample_of is None:
            _exact_batch(result, objs, namer, runner)
        else:
            _sampled_batch(result, objs, sample_of, namer, runner)
    result.hits = seen
    if 0 < seen < expected:
        result.scale = expected / float(seen)
    return result


def _sampled_batch(result, objs, sample_of, namer, runner):
    infos, types = [], []
    runner.run([partial(infos.extend, map(sample_of, objs)), partial(types.extend, map(type, objs))])
    rules = {}
    for obj, tp, info in zip(objs, types, infos):
        if info is None:
            continue
        st = result.stratum(tp)
        safe = rules.get(id(tp))
        if safe is None:
            safe = rules[id(tp)] = size_rule(namer, tp)
        y = float(info[1])
        if safe:
            try:
                y = float(_getsizeof(obj))
            except Exception:
                pass
        p = info[2]
        w = 1.0 / p
        q = (1.0 - p) * w * w
        st.hits += 1
        st.w += w
        st.q += q
        st.wy += w * y
        st.qy += q * y * y


def _exact_batch(result, objs, namer, runner):
    """p = 1 for every object: counts and sizes per type, all in C."""
    counts, types = {}, []
    # Counted by id: counting by type would hash the program's types (a metaclass may define __hash__).
    runner.run([partial(types.extend, map(type, objs)), lambda: _count_elements(counts, map(id, types))])
    by_id = dict(zip(map(id, types), types))
    del types
    for tid, n in counts.items():
        tp = by_id[tid]
        st = result.stratum(tp)
        st.hits += n
        st.w += n
        if size_rule(namer, tp):
            out = []
            runner.run([lambda: out.append(sum(map(_getsizeof, compress(objs, map(is_, map(type, objs), repeat(tp))))))])
            st.wy += out[0]
        else:
            st.wy += n * float(namer.shallow_size(_first_of(objs, tp)))


def _first_of(objs, tp):
    return next(compress(objs, map(is_, map(type, objs), repeat(tp))))


def figures(groups, result):
    """For groups [[(tid, w, q, y)] per path], [(objects, bytes, err objects, err bytes)] per path."""
    by_type = {}
    for g, members in enumerate(groups):
        for tid, w, q, y in members:
            by_type.setdefault(tid, []).append((w, q, y, g))
    out = [[0.0, 0.0, 0.0, 0.0] for _ in groups]
    for tid, members in by_type.items():
        st = result.strata.get(tid)
        if st is None or st.w <= 0:
            continue
        n = len(members)
        f = min(1.0, n / float(st.hits)) if st.hits else 1.0
        sw = sum(m[0] for m in members)
        swy = sum(m[0] * m[2] for m in members)
        sq = sum(m[1] for m in members)
        sqy = sum(m[1] * m[2] * m[2] for m in members)
        for g in set(m[3] for m in members):
            a = sum(m[0] for m in members if m[3] == g) / sw if sw else 0.0
            b = sum(m[0] * m[2] for m in members if m[3] == g) / swy if swy else a
            qa = sum(m[1] for m in members if m[3] == g) / sq if sq else a
            qb = sum(m[1] * m[2] * m[2] for m in members if m[3] == g) / sqy if sqy else b
            row = out[g]
            row[0] += st.w * a
            row[1] += st.wy * b
            # The sampler's variance of this path's part of the stratum...
            row[2] += st.q * qa
            row[3] += st.qy * qb
            # ... plus the variance of the share, estimated from the explained objects.
            if n > 1 and f < 1.0:
                mean_w, mean_wy = sw / n, swy / n
                da = sum((m[0] * ((m[3] == g) - a)) ** 2 for m in members) / (n - 1)
                row[2] += st.w ** 2 * (1.0 - f) * da / (n * mean_w * mean_w)
                if mean_wy > 0:
                    db = sum((m[0] * m[2] * ((m[3] == g) - b)) ** 2 for m in members) / (n - 1)
                    row[3] += st.wy ** 2 * (1.0 - f) * db / (n * mean_wy * mean_wy)
    s = result.scale
    return [(row[0] * s, row[1] * s, (row[2] ** 0.5) * s, (row[3] ** 0.5) * s) for row in out]


def exact(leaves, parents, namer, runner, stack_key_of, own, estimate, error):
    """(count, bytes) of the objects of the leaves' type in their containers ``parents``, or None.

    ``own(key)``: whether a stack key is this stack's. ``estimate``/``error``: the path's
    estimated objects and their standard error, which the count must agree with.
    """
    if not leaves or len(parents) != len(leaves):
        return None
    tp = type(leaves[0])
    if any(type(leaf) is not tp for leaf in leaves) or not size_rule(namer, tp):
        return None
    containers = {}
    for leaf, parent in zip(leaves, parents):
        ptype = type(parent)
        if ptype is not dict and id(ptype) not in _ITEMS:
            return None
        if id(parent) not in containers:
            containers[id(parent)] = (parent, leaf)
            if len(containers) > MAX_CONTAINERS:
                return None
    count = 0
    nbytes = 0
    keys = {}
    for parent, leaf in containers.values():
        items = _items(parent, leaf, runner)
        if items is None:
            return None
        out = []
        runner.run([
            lambda: out.append(sum(map(is_, map(type, items()), repeat(tp)))),
            lambda: out.append(sum(map(_getsizeof, compress(items(), map(is_, map(type, items()), repeat(tp)))))),
            lambda: _count_elements(keys, map(stack_key_of, compress(items(), map(is_, map(type, items()), repeat(tp))))),
        ])
        count += out[0]
        nbytes += out[1]
    keys.pop(None, None)
    mine = sum(n for key, n in keys.items() if own(key))
    others = sum(keys.values()) - mine
    if mine == 0 or others > FOREIGN * (mine + others):
        return None
    if error > MAX_RELATIVE_ERROR * max(count, estimate):
        return None
    # The estimate leaves out the objects charged to other stacks (reused from a free list).
    if abs(count * mine / float(mine + others) - estimate) > Z * error + SLACK * count + 2:
        return None
    return count, nbytes


def _items(parent, leaf, runner):
    """A function giving a fresh C iterator over the container's items (for a dict: its values, or
    its keys when the leaf is a key), or None."""
    ptype = type(parent)
    if ptype is dict:
        found = []
        runner.run([lambda: found.append(any(map(is_, dict.values(parent), repeat(leaf))))])
        view = dict.values if found[0] else dict.keys
        return lambda: iter(view(parent))
    it = _ITEMS[id(ptype)]
    return lambda: it(parent)
