"""Why does it stay alive: reference paths from roots to objects allocated at leaking stacks.

One breadth-first walk of the heap (walk.py) from, in this order:
  1. modules (``__main__`` first), so a leak held by a global is named by it;
  2. the locals of every thread's frames (the agent's own excluded);
  3. what the garbage collector tracks that neither reached: objects held by
     native code, then unreachable reference cycles (kept alive only while
     gc is disabled, or until the next collection).
The first time the walk reaches an object is a shortest path from the
earliest root group. The visited objects are then matched to the requested
allocation stacks (match.py), a sample of each stack's objects gets its path
rebuilt and named in Python words (names.py) without ever running the
program's code, and the paths are clustered (cluster.py). Each path's live
objects and bytes are estimated from every object of the stack the walk
reached, each weighted by the probability the collector sampled it with, or
counted in the containers the walk reached (estimate.py).

The walk costs time and memory in proportion to the heap: one list slot per
visited object (8 bytes), a bit map of the addresses of the visited objects
gc tracks (visited.py; 0.5% of the heap at most; a set of ids under
tracemalloc, where it is faster) and scratch space bounded per step
(walk.py): 12-14% more resident memory for a heap of two million objects
(bench/retainers_2m.py). It stops at its time budget (``truncated``), and
allocates mostly on a frameless helper thread so that tracemalloc's
per-allocation cost stays low (frameless.py).
"""

import _thread
import gc
import os
import sys
import time
from functools import partial

from ..protocol import retainer_estimate
from . import estimate, interpreter, owners, storage
from .cluster import Sample, cluster
from .frameless import Runner, prepare, shared_runners
from .matching import match
from .names import Namer
from .roots import Ours, class_home, module_roots, thread_roots
from .walk import Walk

# Shares of the time budget: the walk may use up to WALK_SHARE of it, matching
# runs until MATCH_SHARE; paths and names use the rest.
WALK_SHARE = 0.55
MATCH_SHARE = 0.85
TOP_PATHS = 5
# The walk's inner loop in C when the sampler extension is built (False: the Python walk, for tests and benchmarks).
NATIVE_WALK = True
# Paths rebuilt per stack even when the budget is spent.
MIN_PATHS = 20
# Storage found at a stack is its answer unless this share of its containers were made there too.
STORAGE_MADE_HERE = 0.03
# ... and when it is this many times the objects found there.
STORAGE_OVER_OBJECTS = 4

_search_lock = _thread.allocate_lock()


def _new_lock_in_child():
    # A fork while another thread searched would leave the child's lock held forever.
    global _search_lock
    _search_lock = _thread.allocate_lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_new_lock_in_child)

NOTE_GC_DISABLED = "unreachable reference cycle kept only because gc is disabled"
NOTE_AWAITING = "unreachable cycle awaiting collection"
NOTE_NO_REFERRER = "nothing refers to it: no Python object holds a reference (a reference leaked in C?)"
NOTE_NATIVE = ("held only from outside the Python heap: no module, thread or Python object "
               "on a path from them refers to it (native code holds a reference)")
NOTE_NOT_FOUND = ("nothing refers to it: no Python object holds a reference (a reference leaked in C?), "
                  "or the memory is a buffer inside an object allocated elsewhere")
NOTE_STORAGE = ("no object was allocated at this stack: its memory is storage (an item array, a key table, "
                "a buffer) owned by the objects below")
NOTE_STORAGE_SAMPLED = ("the sampled blocks at this stack are storage (an item array, a key table, a buffer) "
                        "owned by the objects below")
NOTE_TRUNCATED = "the walk stopped at its time budget before reaching an object from this stack"
# Objects that hold no references (an orphan of these types holds none of the others).
ATOMIC = (int, float, complex, str, bytes, bool, type(None))


# The live search under way (its Walk), so that exit or fork can cut it short.
_live = {"walk": None, "cancelled": False}


def arm_live_search():
    """Called before a live search is even decided on; a cancel after this call is seen by it."""
    _live["cancelled"] = False


def cancel_live_search():
    """Stop the live search under way at its next budget check (exit, fork); it still answers."""
    _live["cancelled"] = True
    walk = _live["walk"]
    if walk is not None:
        walk.deadline = 0.0


def find_retainers(collector, stack_keys, max_objects=200, timeout_sec=5.0, match_key=None, live=False):
    """Why the objects allocated at ``stack_keys`` stay alive.

    ``collector.stack_key_of(obj)`` maps a live object to its allocation stack
    key. ``match_key(key)``, when given, maps such a key to one of
    ``stack_keys`` (or None), e.g. to match by innermost frame.

    ``live``: the program runs on meanwhile (the search runs on the agent's
    sampling thread). Then no helper threads are started (they would outlive
    the search), and ``cancel_live_search()`` cuts it short.

    Returns {"results": [{"stackKey", "found", "sampled", "unreachable",
    "note", "paths": [RetainerPath]}], "visited", "elapsedSec", "truncated"}.
    """
    started = time.monotonic()
    budget = max(0.05, float(timeout_sec))
    requested = list(stack_keys)
    keys = _unique(requested)  # native stacks' keys are owners.NativeKey
    max_objects = max(0, int(max_objects))
    with _search_lock:
        if live:
            return _search(collector, requested, keys, max_objects, started, budget, match_key, Runner(False), live)
        runners = shared_runners() if _tracing() else None
        if runners is None:
            return _search(collector, requested, keys, max_objects, started, budget, match_key, Runner(False))
        c_runner, py_runner = runners
        return py_runner.call(_search, collector, requested, keys, max_objects, started, budget, match_key, c_runner)


def _search(collector, requested, keys, max_objects, started, budget, match_key, runner, live=False):
    gc_was_enabled = gc.isenabled()
    namer = Namer(runner)
    # Under tracemalloc every allocation is recorded, and the bit map's short-lived
    # ints per reference cost more than a set's one kept int (visited.py).
    walk = Walk(runner, started + budget * WALK_SHARE, compact=not _tracing(), live=live, native=_native(),
                sampled_leaves_only=_sampler_keys(collector))
    # Seconds since the start at the end of each stage (diagnostics; not part of the protocol).
    timings = {}
    results = []
    plan = owners.Plan(keys, collector)
    keys = plan.keys  # the Python keys first, then those searched for native stacks' owners
    try:
        if gc_was_enabled:
            gc.disable()  # no collection mid-walk: it would free objects and reuse their ids
        walk.own(namer, keys, *runner.owned())
        if live:
            walk.remember_young()
            _live["walk"] = walk
            if _live["cancelled"]:
                walk.deadline = 0.0
        _walk_heap(walk, namer, Ours(), timings, started)
        if not live:
            # (While the program runs on, an object made after the walk passed its container
            # would read as one nothing refers to.)
            _sampled_orphans(walk, collector, keys)
        timings["walk"] = time.monotonic() - started
        if live and _live["cancelled"]:
            # Exit or fork is waiting: answer now, with nothing (the exit search follows).
            keys, requested = [], []
            plan = owners.Plan(keys, collector)

        found = match(walk, runner, _key_function(collector), plan.python_keys(),
                      plan.python_deadline(started + budget * MATCH_SHARE), match_key)
        if plan.native:
            plan.begin()
            found = plan.match(walk, runner, found, started + budget * MATCH_SHARE, _key_function(collector))
            timings["owners"] = time.monotonic() - started
        timings["match"] = time.monotonic() - started
        storage_hits = _storage(walk, collector, plan.python_keys(), found, started + budget * MATCH_SHARE)
        timings["storage"] = time.monotonic() - started

        search = _Search(walk, namer, found, storage_hits, max_objects, gc_was_enabled, started + budget,
                         collector, plan.weights(_Weights(collector, namer, runner, found, keys, match_key), namer,
                                                 runner, found))
        by_key = plan.results([_result(search, key, k) for k, key in enumerate(keys)])
        timings["paths"] = time.monotonic() - started
        for key in requested:
            # Equal keys asked twice get the same answer.
            k = next(k for k, unique in enumerate(keys) if unique is key or unique == key)
            result = dict(by_key[k])
            result["stackKey"] = key
            results.append(result)
    finally:
        plan.end()
        if live:
            _live["walk"] = None
        visited, truncated = walk.visited, walk.truncated
        walk.close()
        namer.close()
        if gc_was_enabled:
            gc.enable()
    return {
        "results": results,
        "visited": visited,
        "elapsedSec": round(time.monotonic() - started, 6),
        "truncated": truncated,
        "timings": dict((k, round(v, 3)) for k, v in timings.items()),
    }


def _walk_heap(walk, namer, ours, timings, started):
    """The walk's root groups, in order of how well they explain a leak."""
    walk.mark(_own_frames(ours))
    roots, skipped = module_roots(ours)
    walk.mark(skipped)
    walk.run_phase("module", roots)
    del roots, skipped
    timings["modules"] = time.monotonic() - started
    if walk.truncated:
        return
    roots, frames = thread_roots(ours, namer, _thread.get_ident())
    walk.mark(frames)
    walk.run_phase("thread", roots)
    del roots, frames
    timings["threads"] = time.monotonic() - started
    if walk.truncated:
        return
    held, refcounts, rest = walk.unreached()
    timings["unreached"] = time.monotonic() - started
    if type(refcounts) is bytes:
        refcounts = memoryview(refcounts).cast("i")  # the C split's: -1 for None
    # A root's detail: (reference count, immortal, interned) when nothing refers to it, else None.
    walk.run_phase("native", held, lambda i: ("native", _orphan(refcounts[i])))
    del held
    # Cycles: start from instances of classes (so a node's __dict__ reads as its
    # attributes), then whatever is left.
    for heap_types_first in (True, False):
        if walk.truncated:
            return
        roots = [(obj, ("garbage", None)) for obj in walk.unvisited(rest)
                 if not heap_types_first or namer.type_info(type(obj)).heap]
        walk.run_phase("garbage", roots)
        del roots


def _orphan(refcount, immortal=False, interned=False):
    return None if refcount is None or refcount < 0 else (int(refcount), bool(immortal), bool(interned))


def _sampled_orphans(walk, collector, keys):
    """The sampled objects of the stacks asked about that the whole walk never reached.

    After a complete walk, every object that an object gc tracks refers to was visited; a live
    object the walk never reached (strings, numbers, untracked tuples and dicts: gc does not
    list them) has a reference count that no Python object explains. The collector's sampled
    blocks tell where such objects are (native/lh_walk.h reads and checks each one); they
    become roots of their own, "nothing refers to it", with their reference counts.
    """
    blocks_of = collector.sampled_blocks
    if walk.native is None or blocks_of is None or walk.truncated:
        return
    stack_ids = [key for key in keys if type(key) is int]
    if not stack_ids:
        return
    blocks = blocks_of(stack_ids)
    found = walk.native.orphans_at(walk.seen.capsule, blocks) if blocks else []
    del blocks
    if found:
        # One referred to by another (a leaked tuple's items) is reached from it, not a root.
        inner = set(map(id, walk.referents(*[entry[0] for entry in found])))
        walk.run_phase("native", [(obj, ("native", _orphan(refs, immortal, interned)))
                                  for obj, refs, immortal, interned in found if id(obj) not in inner])
        del inner


class _Search(object):
    """What every stack's answer in one search shares: the walk, the names, the matches, the budget."""

    __slots__ = ("walk", "namer", "found", "storage_hits", "max_objects", "gc_was_enabled", "deadline",
                 "sampled", "size_of", "weights", "memo", "collector")

    def __init__(self, walk, namer, found, storage_hits, max_objects, gc_was_enabled, deadline, collector, weights):
        self.walk = walk
        self.namer = namer
        self.found = found
        self.storage_hits = storage_hits
        self.max_objects = max_objects
        self.gc_was_enabled = gc_was_enabled
        self.deadline = deadline
        # A sampling collector knows only the sampled blocks: "nothing allocated here" means "nothing sampled".
        self.sampled = collector.sampled
        self.size_of = collector.size_of or namer.shallow_size
        self.weights = weights
        self.memo = {}  # shared path prefixes across stacks
        self.collector = collector


def _result(search, key, k):
    walk, namer, found, deadline = search.walk, search.namer, search.found, search.deadline
    weights = search.weights.at(k)
    max_objects, size_of, memo = search.max_objects, search.size_of, search.memo
    storage_hits = search.storage_hits.get(k)
    note = None
    from_storage = False
    hits = found.hits(k)
    totals = None
    # Storage is looked for only where most sampled blocks are no objects (or none is): a stack
    # that grew containers allocated elsewhere. Its containers explain it when they are most of
    # what was found there (a few objects are free-list leftovers of other lines); a stack that
    # makes objects and grows storage too (an instance and its attribute values) keeps its objects.
    if hits and not (storage_hits and len(storage_hits) >= STORAGE_OVER_OBJECTS * hits):
        count = int(round(hits / found.coverage)) if found.coverage > 0 else hits
        sample = found.sample(k, max_objects, walk.runner)
        totals = weights.totals(k, deadline)
    elif storage_hits:
        count, from_storage = len(storage_hits), True
        sample = _evenly(storage_hits, max_objects)
    else:
        count, sample = 0, []
    paths = []
    distinct = set()
    traced = 0
    for n, (p, d, i) in enumerate(sample):
        if n >= MIN_PATHS and time.monotonic() > deadline:
            break  # keep to the budget: fewer paths, same shapes
        traced = n + 1
        path, root = walk.path(p, d, i, memo)
        # An untracked object shared by several containers can be listed twice.
        if path is not None and id(path[-1]) not in distinct:
            distinct.add(id(path[-1]))
            namer.want(path)
            paths.append((walk.phases[p].kind, path, root))
    samples = []
    kinds = {}
    callbacks = interpreter.atexit_callbacks()
    orphans = [path[0] for phase_kind, path, root in paths if phase_kind == "native" and root[1]]
    atexit = callbacks if interpreter.atexit_holds(orphans, callbacks) else None
    for phase_kind, path, root in paths:
        home = class_home(namer, path) if phase_kind == "module" and type(path[0]) is not dict else None
        if home is not None:
            path, root = home[0], ("module", home[1])
            namer.want(path)
        kind, text, why = _root_words(namer, phase_kind, path, root, atexit)
        steps = namer.steps(path, thread_root=(phase_kind == "thread"),
                            namespace_root=(phase_kind == "module" and type(path[0]) is dict))
        kind = _refine_kind(kind, steps)
        try:
            size = int(size_of(path[-1]))
        except Exception:
            size = 0
        weight = weights.weigh(path[-1]) if totals is not None else None
        samples.append(Sample(kind, text, steps, size, weight, path[-1], path[-2] if len(path) > 1 else None))
        kinds[why] = kinds.get(why, 0) + 1
    reachable = kinds.get(None, 0)
    unreachable = sum(kinds.values()) - reachable > reachable
    if unreachable:
        why = max((n, why) for why, n in kinds.items() if why is not None)[1]
        note = {
            "garbage": NOTE_GC_DISABLED if not search.gc_was_enabled else NOTE_AWAITING,
            "orphan": NOTE_NO_REFERRER,
            "native": NOTE_NATIVE,
        }[why]
        if why == "orphan":
            note = _orphan_note([root[1] for kind, _, root in paths if kind == "native"], walk.visited,
                                _where(search.collector, key), _orphan_holders(paths)) or note
    elif not count:
        if walk.truncated or found.coverage < 1.0:
            note = NOTE_TRUNCATED
        else:
            unreachable = True
            note = NOTE_NOT_FOUND
    elif from_storage:
        note = NOTE_STORAGE_SAMPLED if search.sampled else NOTE_STORAGE
    elif atexit is not None and kinds.get(None, 0):
        note = interpreter.atexit_note(atexit)
    estimator = None
    if totals is not None and totals.strata:
        estimator = partial(weights.paths, k, totals, deadline)
    paths = cluster(samples, TOP_PATHS, estimator)
    del samples
    return {
        "stackKey": key,
        "found": count,
        # The objects whose paths were traced (the budget may stop before the whole sample): each
        # path's share of the stack is its objects over these.
        "sampled": traced,
        "unreachable": bool(unreachable),
        "note": note,
        "paths": paths,
    }


class _Weights(object):
    """The estimates of each path's objects and bytes (estimate.py), for one search."""

    def __init__(self, collector, namer, runner, found, keys, match_key):
        self.namer = namer
        self.runner = runner
        self.found = found
        # A sampling collector tells each sampled block's probability; without one, every object is known (p = 1).
        self.sample_of = collector.sample_of if collector.sampled else None
        self.usable = self.sample_of is not None or not collector.sampled
        self.stack_key_of = _key_function(collector)
        self.match_key = match_key
        self.index_of = {}
        for k, key in enumerate(keys):
            self.index_of.setdefault(key, k + 1)

    def totals(self, k, deadline):
        if not self.usable:
            return None
        try:
            result = estimate.totals(self.found.objects(k, self.runner), self.sample_of, self.namer, self.runner,
                                     deadline, self.found.hits(k))
        except Exception:
            return None
        if self.found.coverage < 1.0:
            result.scale /= max(self.found.coverage, 1e-9)
        return result

    def weigh(self, obj):
        try:
            w = estimate.weigh(obj, self.sample_of, self.namer)
        except Exception:
            return None
        return None if w is None else (id(type(obj)),) + w

    def own(self, k, key):
        if self.match_key is not None:
            key = self.match_key(key)
        return self.index_of.get(key) == k + 1

    def paths(self, k, totals, deadline, groups):
        """Fields per path: estObjects, estBytes, errObjects, errBytes, exact."""
        rows = estimate.figures([[m.weight for m in g if m.weight is not None] for g in groups], totals)
        out = []
        own = partial(self.own, k)
        for group, (objects, nbytes, err_objects, err_bytes) in zip(groups, rows):
            figures = (_round(objects), _round(nbytes), _round(err_objects), _round(err_bytes), False)
            if time.monotonic() <= deadline and all(m.weight is not None for m in group):
                try:
                    counted = estimate.exact([m.leaf for m in group], [m.parent for m in group], self.namer,
                                             self.runner, self.stack_key_of, own, objects, err_objects)
                except Exception:
                    counted = None
                if counted is not None:
                    figures = (int(counted[0]), int(counted[1]), 0, 0, True)
            out.append(retainer_estimate(*figures))
        return out


def _round(x):
    return int(round(x))


def _root_words(namer, phase_kind, path, root, atexit=None):
    """(rootKind, root text, why unreachable or None) for a path's root. atexit: the callbacks atexit
    holds when the callable roots nothing refers to are most likely its own (interpreter.py)."""
    kind, detail = root
    if phase_kind == "module":
        return "module global", detail, None
    if phase_kind == "thread":
        return "thread stack", detail, None
    desc = namer.describe(path[0])[0]
    if phase_kind == "native":
        if interpreter.is_context(path[0], namer.context_type):
            return "thread context", "a thread's contextvars context (the interpreter holds it)", None
        entry = interpreter.subclass_entry(path[0])
        if entry is not None:
            return "subclass table", entry, None
        if detail and atexit is not None and interpreter.is_callback(path[0]):
            return "atexit", "%s registered with atexit (most likely)" % desc, None
        if detail:
            return "no referrer", "%s that no Python object refers to" % desc, "orphan"
        return "gc-tracked", "%s held outside the Python heap (by native code)" % desc, "native"
    return "unreachable cycle", "%s in an unreachable reference cycle" % desc, "garbage"


def _orphan_holders(paths):
    """The types of the objects nothing refers to through which some of a stack's own orphans were
    reached (a leaked dict's values), when its other orphans hold no references themselves (numbers,
    strings): most of those are then likely held by such objects that were not sampled. Else None."""
    holders = sorted({type(path[0]).__name__ for kind, path, _ in paths if kind == "native" and len(path) > 1})
    direct = [path[0] for kind, path, _ in paths if kind == "native" and len(path) == 1]
    if holders and direct and all(type(o) in ATOMIC for o in direct):
        return holders
    return None


def _orphan_note(details, visited, where, held_by=None):
    """The evidence that nothing refers to the sampled objects: their reference counts against the
    objects the walk read; immortal objects (3.12+) and interned strings named as such."""
    details = [d for d in details if type(d) is tuple]
    if not details:
        return None
    them = "them" if len(details) > 1 else "it"
    among = "none of the %s objects the walk read refers to %s" % (format(visited, ","), them)
    immortal = [d for d in details if d[1]]
    if len(immortal) == len(details):
        if all(d[2] for d in details):
            return ("interned strings, immortal (CPython 3.12 makes every interned string immortal): the "
                    "interpreter keeps them for its whole life, and %s" % among)
        return "immortal objects (Python 3.12+): the interpreter keeps them for its whole life, and %s" % among
    counts = sorted(d[0] for d in details if not d[1])
    low, high = counts[0], counts[-1]
    refcounts = (low if len(counts) == 1 else "%d each" % low) if low == high else "%d to %d" % (low, high)
    if held_by:
        text = ("nothing the walk reached refers to %s (refcount %s; %s), but some are held by %s objects that "
                "nothing refers to either: the rest most likely by such objects that were not sampled; else a "
                "reference leaked in C" % (them, refcounts, among, "/".join(held_by)))
    else:
        text = "nothing refers to %s: refcount %s, and %s: a reference leaked in C" % (them, refcounts, among)
        if where:
            text += ", most likely by the C code called from %s" % where
    interned = sum(1 for d in details if d[2])
    if interned:
        text += "; %d of the %d sampled are interned strings (the interpreter's table of interned strings keeps them too)" % (
            interned, len(details))
    if immortal:
        text += "; %d of the %d sampled are immortal" % (len(immortal), len(details))
    return text


def _where(collector, key):
    """'function (file:line)' of a stack key's innermost frame, or None."""
    try:
        frames = collector.frames_of(key)
        filename, lineno, function = frames[0]
    except Exception:
        return None
    if type(filename) is not str or not filename or filename.startswith("<"):
        return None
    return "%s (%s:%s)" % (function, os.path.basename(filename), lineno)


def _refine_kind(kind, steps):
    # "Session.registry" is a class attribute; "normalise(_memo={...})" is not, "Parser.parse(_cache={...})" is.
    first = steps[0].label.split("(", 1)[0] if steps else ""
    if kind == "module global" and "." in first and not first.startswith("."):
        kind = "class attribute"
    for step in steps:
        if step.desc.startswith("lru_cache ") or step.label.startswith("thread-local"):
            return "lru_cache" if step.desc.startswith("lru_cache ") else "thread-local"
    return kind


def _unique(keys):
    out = []
    index = {}
    for key in keys:
        if key not in index:
            index[key] = len(out)
            out.append(key)
    return out


def _evenly(items, n):
    if len(items) <= n:
        return list(items)
    if n <= 0:
        return []
    step = len(items) / float(n)
    return [items[int(j * step)] for j in range(n)]


def _storage(walk, collector, keys, found, deadline):
    """{key index: [(phase, depth, index)]} of containers whose storage grew at keys where most of the
    sampled blocks are no objects (or, without the sampled blocks, where no object was found)."""
    if found.coverage < 1.0 or time.monotonic() > deadline:
        return {}
    index_of = {}
    for k, key in enumerate(keys):
        index_of.setdefault(key, k + 1)
    expired = lambda: time.monotonic() > deadline  # noqa: E731
    result = {}
    missing = set(k for k in range(len(keys)) if not found.hits(k))
    blocks = _storage_blocks(collector, keys, found, index_of)
    # Keys whose sampled blocks every container was compared with: the big containers' pass below
    # would only repeat that for them.
    compared = set()
    if blocks:
        try:
            sampled = storage.find_sampled(walk, walk.runner, blocks, expired)
        except Exception:
            sampled = []
        # Containers made at the same stack as their storage (a dict literal and its key table) are
        # that stack's objects, not storage grown there: then a share of them was sampled at it too,
        # where containers made elsewhere have none there (but free-list leftovers).
        key_of = _key_function(collector)
        made_here = {}
        for k, position, container in sampled:
            result.setdefault(k, []).append(position)
            if index_of.get(key_of(container)) == k + 1:
                made_here[k] = made_here.get(k, 0) + 1
        dropped = [k for k, n in made_here.items() if n >= STORAGE_MADE_HERE * len(result[k])]
        for k in dropped:
            del result[k]
        missing.difference_update(result)
        if not expired():
            compared.update(blocks.values())
            compared.difference_update(dropped)
        del blocks, sampled
    if not missing:
        return result
    lookup = storage.address_lookup(collector)
    if lookup is None:
        return result
    try:
        big = missing - compared
        hits = storage.find(walk, index_of.get, lookup, big, expired) if big else []
        missing.difference_update(k for k, _ in hits)
        if missing:
            hits += storage.find_owners(walk, walk.runner, index_of.get, lookup, missing, expired)
    except Exception:
        return result
    for k, position in hits:
        result.setdefault(k, []).append(position)
    return result


def _storage_blocks(collector, keys, found, index_of):
    """{address: key index} of the sampled blocks of the stacks whose sampled blocks are mostly no
    objects (at most half matched one): the blocks a container's storage may be. {} without them."""
    blocks_of = collector.sampled_blocks
    stack_ids = [key for key in keys if type(key) is int]
    if blocks_of is None or not stack_ids:
        return {}
    try:
        listed = blocks_of(stack_ids)
    except Exception:
        return {}
    by_key = {}
    for address, _, key in listed:
        k = index_of.get(key)
        if k is not None:
            by_key.setdefault(k - 1, []).append(address)
    del listed
    blocks = {}
    for k, addresses in by_key.items():
        if found.hits(k) * 2 <= len(addresses):
            for address in addresses:
                blocks[address] = k
    return blocks


def _key_function(collector):
    """collector.stack_key_of, wrapped to answer None instead of raising if a first try raises.

    Read again after the first calls: a collector may replace it on first use with the
    fastest lookup for this interpreter (the tracemalloc collector does), and the
    search calls it once per visited object.
    """
    stack_key_of = collector.stack_key_of
    try:
        for probe in (collector, 0, "", [], {}):
            stack_key_of(probe)
        return collector.stack_key_of
    except Exception:
        pass

    def guarded(obj):
        try:
            return stack_key_of(obj)
        except Exception:
            return None

    return guarded


def _native():
    """The sampler extension when it is built and has the C walk (else the walk runs from Python)."""
    if not NATIVE_WALK:
        return None
    try:
        from ..native import load_if_built

        ext = load_if_built()
    except Exception:
        return None
    return ext if ext is not None and hasattr(ext, "walk_expand") else None


def _sampler_keys(collector):
    """True when the collector tells an object's stack only from the sampler's sampled blocks."""
    key_of = getattr(collector, "stack_key_of", None)
    return getattr(key_of, "__name__", None) == "stack_of_object" and bool(getattr(collector, "sampled", False))


def _tracing():
    tracemalloc = sys.modules.get("tracemalloc")
    try:
        # Only a plain module that has run: a lazy one would run its import on this thread.
        return bool(type(tracemalloc) is type(sys) and vars(tracemalloc)["is_tracing"]())
    except Exception:
        return False


def _own_frames(ours):
    frames = []
    frame = sys._getframe(1)  # not this function's own frame, freed on return (a new object may take its address)
    while frame is not None:
        if ours.file(frame.f_code.co_filename):
            frames.append(frame)
        frame = frame.f_back
    return frames
