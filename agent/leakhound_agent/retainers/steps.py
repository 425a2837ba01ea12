"""Reusable C-level steps: built once, run any number of times, no Python code at run time.

A pipeline like ``tids.extend(compress(ids, tracked))`` needs a fresh
``compress`` iterator each time it runs, and building one on the calling
thread costs a traced allocation (1-3 us each under tracemalloc, for every
unit of the walk). ``step(tids.extend, compress, ids, tracked)`` instead
returns a zero-argument callable that builds the iterator when called, on
whatever thread calls it (the frameless helper, where allocations are cheap):

    each(f, a, b)   an endless iterator whose every next() is f(a, b), anew
    nested(f, ...)  marks an argument of each() to be built anew the same way
    step(g, f, ...) partial(next, map(g, each(f, ...))): each call is g(f(...))

For example ``step(out.extend, compress, objs, nested(map, not_, flags))``
runs ``out.extend(compress(objs, map(not_, flags)))`` on every call.
"""

import collections
from functools import partial
from itertools import repeat, starmap

# deque(iterator, 0): run an iterator to its end, keeping nothing.
consume = partial(collections.deque, maxlen=0)


class _Nested(tuple):
    __slots__ = ()


def each(f, *args):
    if not args:
        return starmap(f, repeat(()))
    return map(f, *[arg[0] if type(arg) is _Nested else repeat(arg) for arg in args])


def nested(f, *args):
    return _Nested((each(f, *args),))


def step(g, f, *args):
    return partial(next, map(g, each(f, *args)))
