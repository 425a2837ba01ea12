"""Native memory with a Python owner: which visited objects own the sampled malloc blocks of a stack.

The host asks about a native leak (malloc blocks the LD_PRELOAD shim sampled at one
Python stack) with a ``NativeKey``. Its owners are found two ways, in this order:

1. By pointer. An object owns a sampled block when its own memory holds the block's
   address (an ndarray's data pointer), or a malloc block it points to does, a few
   blocks deep for objects of extension types (a PIL image core -> its Imaging struct ->
   its line table -> the pixels; a zlib stream -> its state -> its window). The sampler
   does the reading in C (native/lh_owners.h: ``owners_begin``, ``owner_of``,
   ``owned``) on a private copy of the requested stacks' sampled blocks; the visited
   objects are checked against it like Python keys are (matching.py), with
   ``owner_of`` as the key function.
2. By stack, when no visited object points to any of them (or their pointers reach under
   MIN_REACHED of the blocks' bytes): the Python objects allocated at the same stack, whose
   construction was under way when the blocks were allocated (an lxml document's root
   element). That is the search for the Python key of the same stack id, asked along with
   the native one. When none of those is held by a module or a thread, the objects made
   by the same call of the innermost function, on another line (a sqlite3 connection made
   on the line before the query that filled its page cache, many structs deep): a
   ``CallKey``, matched through the live Python sites with the same callers.

Weights: an owner found through sampled blocks of sizes s_i drawn with probabilities
p_i holds sum s_i/p_i bytes (Horvitz-Thompson, like estimate.py): every block is sampled
on its own, so the byte sum is unbiased however the blocks are spread over owners, as
long as each block is counted once: for the object whose own memory points to it, else
for the first owner in walk order that reaches it through chained blocks. An owner
stands for 1/P owners, P the chance one of its blocks is sampled, 1 - prod(1 - p_i), taken
from the owner of its type that showed the most (owners of one type hold alike blocks).

Owners are named in their own words from C getters taken from their C base type
(never the instance's attributes, which a subclass may override in Python): an
ndarray's shape and dtype, a PIL image core's mode and size, an lxml element's tag, an mmap's
length, a sqlite3 connection's database file (also on the paths' steps: it names the one object).
"""

import time
import types

from ..protocol import retainer_estimate
from ..sizes import format_bytes
from . import estimate
from .matching import match
from .names import namespace, type_qualname

NOTE_BY_STACK = ("no visited object points to these blocks: the objects below were made at the same line, "
                 "and their construction allocated them")
NOTE_BY_STACK_FEW = ("the pointers of the visited objects reach under %d%% of these blocks (the rest lies deeper "
                     "than leakhound follows pointers): the objects below were made at the same line, and their "
                     "construction allocated them")
NOTE_BY_CALL = ("no visited object points to these blocks, and none made at their line is held by a module or "
                "thread: the objects below were made by the same call of the function, on another line (one of "
                "them owns the blocks)")
NOTE_NO_OWNER = "native, no Python object owns it"
# Below this share of a stack's native bytes reached by pointers, the objects made at the stack stand for its owners.
MIN_REACHED = 0.1
# Owners weighed per native stack (in walk order, the matching's scrambled slices: an even sample); the
# sums are scaled up to all of them.
MAX_WEIGHED = 10000
MIN_WEIGHED = 500
# With native keys, the share of the matching's time the Python keys may take (the owners' matching
# follows, with the rest and whatever the Python keys left).
PYTHON_SHARE = 0.6
# Owners of a type described in their own words: one description when they all read the same.
DESCRIBED = 16

_GetSet = types.GetSetDescriptorType
_Member = types.MemberDescriptorType
_SlotWrapper = types.WrapperDescriptorType


class NativeKey(object):
    """A native stack's key in a retainer search (the same stack id as a Python key, another question)."""

    __slots__ = ("key",)

    def __init__(self, key):
        self.key = key

    def __eq__(self, other):
        return type(other) is NativeKey and other.key == self.key

    def __ne__(self, other):
        return not self.__eq__(other)

    def __hash__(self):
        return hash(("native", self.key))

    def __repr__(self):
        return "NativeKey(%r)" % (self.key,)


class CallKey(NativeKey):
    """A native stack's objects made by the same call (another line of its innermost function)."""

    __slots__ = ()

    def __eq__(self, other):
        return type(other) is CallKey and other.key == self.key

    def __hash__(self):
        return hash(("call", self.key))

    def __repr__(self):
        return "CallKey(%r)" % (self.key,)


def _same_call_sites(collector, stacks):
    """({Python site key: call group}, {native stack: call group}): the live Python sites made by the same
    function call as native stacks (the same callers, file, line and function, and the same innermost
    file and function); a group is a small int."""
    try:
        sites = list(collector.live_sites())
        want = {}
        group_of = {}
        for stack in stacks:
            frames = [tuple(f) for f in collector.frames_of(stack)]
            if frames:
                group_of[stack] = want.setdefault((frames[0][0], frames[0][2], tuple(frames[1:])), len(want))
        out = {}
        for site in sites:
            frames = [tuple(f) for f in collector.frames_of(site)]
            if frames:
                group = want.get((frames[0][0], frames[0][2], tuple(frames[1:])))
                if group is not None:
                    out[site] = group
        return out, group_of
    except Exception:
        return {}, {}


class _Remapped(object):
    """Matches whose key j answers for index_map[j] of the underlying keys (None: nothing)."""

    def __init__(self, matches, index_map):
        self.matches = matches
        self.index_map = index_map
        self.coverage = matches.coverage

    def hits(self, j):
        g = self.index_map[j]
        return 0 if g is None else self.matches.hits(g)

    def objects(self, j, runner):
        g = self.index_map[j]
        return iter(()) if g is None else self.matches.objects(g, runner)

    def sample(self, j, n, runner):
        g = self.index_map[j]
        return [] if g is None else self.matches.sample(g, n, runner)


def is_native(key):
    return type(key) is NativeKey


class Plan(object):
    """The keys of one search: the Python ones asked, the Python ones searched for the native ones'
    fallback, then the native ones. ``keys`` is that order; indexes into it are the search's k."""

    def __init__(self, keys, collector):
        self.python = [k for k in keys if not is_native(k)]
        native = [k for k in keys if is_native(k)]
        have = set(self.python)
        self.extra = []
        for k in native:
            if k.key not in have:
                have.add(k.key)
                self.extra.append(k.key)
        self.ext = _extension(collector) if native else None
        self.native = native
        # Per native stack, its "call" key: the Python objects made by the same function call (the
        # same callers, another line of the innermost function), searched when nothing else owns it.
        self.calls = [CallKey(k.key) for k in native]
        self.keys = self.python + self.extra + self.native + self.calls
        self.first_native = len(self.python) + len(self.extra)
        self.first_call = self.first_native + len(self.native)
        self.collector = collector
        self.blocks = 0
        self.stats = None
        self.owner_weights = None

    def python_keys(self):
        return self.keys[:self.first_native]

    def python_deadline(self, deadline):
        """When the Python keys' matching must stop: with native keys, after PYTHON_SHARE of the time left
        for matching, so that the owners' matching (which follows it) is never starved."""
        if not self.native:
            return deadline
        now = time.monotonic()
        return now + max(0.0, deadline - now) * PYTHON_SHARE

    def begin(self):
        if self.ext is not None and self.native:
            try:
                self.blocks = self.ext.owners_begin([k.key for k in self.native])
            except Exception:
                self.ext = None

    def end(self):
        if self.ext is not None:
            try:
                self.stats = self.ext.owners_stats()
                self.ext.owners_end()
            except Exception:
                pass

    def match(self, walk, runner, found, deadline, stack_key_of):
        """``found`` (the Python keys' Matches) merged with the native keys' owners, and for the native
        stacks nothing points to nor was made at, the objects made by the same call."""
        if not self.native:
            return found
        owners = None
        if self.ext is not None and self.blocks:
            owners = match(walk, runner, self.ext.owner_of, [k.key for k in self.native], deadline)
        calls = None
        # (Objects made at the same stack may be unreachable ones, or storage: the call's are searched too.)
        lacking = [k.key for n, k in enumerate(self.native) if not (owners is not None and owners.hits(n))]
        if lacking and time.monotonic() < deadline:
            by_site, group_of = _same_call_sites(self.collector, lacking)
            if by_site:
                groups = sorted(set(group_of.values()))
                found_calls = match(walk, runner, stack_key_of, groups, deadline, by_site.get)
                calls = _Remapped(found_calls, [groups.index(group_of[c.key]) if c.key in group_of else None
                                                for c in self.calls])
        return Merged([(found, 0), (owners, self.first_native), (calls, self.first_call)], len(self.keys))

    def weights(self, python_weights, namer, runner, found):
        if not self.native:
            return Weights(python_weights, None, len(self.keys), len(self.keys))
        self.owner_weights = OwnerWeights(self, namer, runner, found)
        return Weights(python_weights, self.owner_weights, self.first_native, self.first_call)

    def results(self, by_key):
        """The answers per key of ``keys``, a native one falling back on its stack's Python owners when
        no visited object points to its blocks, or their pointers reach under MIN_REACHED of them."""
        out = list(by_key)
        for n, key in enumerate(self.native):
            k = self.first_native + n
            result = dict(out[k])
            result["native"] = True
            reached = None
            if result["found"]:
                result["ownedBy"] = "pointer"
                owners = self.owner_weights.owners.get(k) if self.owner_weights is not None else None
                if owners:
                    result["owners"] = owners
                    # The share of the stack's sampled native bytes the owners' pointers reach (the rest
                    # lies deeper than the chains go, or belongs to no visited object).
                    try:
                        total = float(self.ext.owners_total(key.key))
                    except Exception:
                        total = 0.0
                    if total > 0:
                        reached = result["reached"] = round(min(1.0, sum(o["bytes"] for o in owners) / total), 4)
                # A path whose owners' blocks were all claimed on another path holds nothing of its own.
                kept = [p for p in result["paths"] if p.get("estObjects", 1) > 0]
                result["paths"] = kept or result["paths"]
            python = out[self.keys.index(key.key)]
            usable = _rooted(python)
            call = out[self.first_call + n]
            by_call = False
            if not usable and not result["found"] and _rooted(call):
                python, usable, by_call = call, True, True
            if usable and (not result["found"] or (reached is not None and reached < MIN_REACHED)):
                result = dict(python)
                result["native"] = True
                result["ownedBy"] = "stack"
                result["note"] = (NOTE_BY_CALL if by_call else NOTE_BY_STACK if reached is None
                                  else NOTE_BY_STACK_FEW % max(1, round(reached * 100)))
                result["paths"] = _to_owners([p for p in python["paths"] if p["rootKind"] not in _UNROOTED])
                result["unreachable"] = False
            elif not result["found"] and (not result.get("note") or result["note"] == _not_found_note()):
                result["note"] = NOTE_NO_OWNER
                result["unreachable"] = False
            out[k] = result
        return out


# Root kinds of objects no module, thread or Python object on a path from them holds (retainers/__init__.py).
_UNROOTED = frozenset(("no referrer", "gc-tracked", "unreachable cycle"))


def _rooted(result):
    """Whether an answer has a path from a module or a thread (made-at-the-line objects include some that
    only C code holds: sqlite's own weakref lists)."""
    return bool(result["found"]) and any(p["rootKind"] not in _UNROOTED for p in result["paths"])


def _not_found_note():
    from . import NOTE_NOT_FOUND

    return NOTE_NOT_FOUND


def _extension(collector):
    ext = getattr(collector, "_ext", None)
    if ext is None or not hasattr(ext, "owners_begin"):
        return None
    return ext


class Merged(object):
    """Matches of consecutive key ranges: [(Matches or None, first key index)]."""

    def __init__(self, parts, nkeys):
        self.parts = parts
        self.nkeys = nkeys
        self.coverage = min([m.coverage for m, _ in parts if m is not None] or [1.0])

    def _of(self, k):
        for m, first in reversed(self.parts):
            if k >= first:
                return m, k - first
        return None, k

    def hits(self, k):
        m, j = self._of(k)
        return m.hits(j) if m is not None else 0

    def objects(self, k, runner):
        m, j = self._of(k)
        return m.objects(j, runner) if m is not None else iter(())

    def sample(self, k, n, runner):
        m, j = self._of(k)
        return m.sample(j, n, runner) if m is not None else []


class Weights(object):
    """The search's weights: estimate.py's for Python keys (and call keys), the owners' for native ones."""

    def __init__(self, python, owners, first, end):
        self.python = python
        self.owners = owners
        self.first = first
        self.end = end

    def at(self, k):
        return self.owners if self.first <= k < self.end else self.python


class OwnerWeights(object):
    """Per owner: 1/P owners (P: the chance one of its blocks is sampled) and sum s/p native bytes held,
    over the blocks it claimed; the module docstring says why."""

    def __init__(self, plan, namer, runner, found):
        self.plan = plan
        self.namer = namer
        self.runner = runner
        self.found = found
        self.blocks_of = {}  # id(owner) -> [(size, p)] of the blocks it claimed (last totals)
        self.found_p = {}  # id(type) -> the chance an owner of that type is found
        self.owners = {}  # k -> [owner summaries] of the last totals

    def _blocks(self, obj, stack):
        try:
            return [(size, p, key, depth) for s, size, p, key, depth in self.plan.ext.owned(obj) if s == stack]
        except Exception:
            return []

    def _stack(self, k):
        return self.plan.keys[k].key

    def totals(self, k, deadline):
        if self.plan.ext is None:
            return None
        stack = self._stack(k)
        result = estimate.Totals()
        seen = 0
        details = {}
        batches = []
        for objs in self.found.objects(k, self.runner):
            if seen >= MAX_WEIGHED:
                break
            if time.monotonic() > deadline:
                # Past the budget, still MIN_WEIGHED owners (as retainers/__init__ keeps MIN_PATHS paths).
                if seen >= MIN_WEIGHED:
                    break
                objs = objs[:MIN_WEIGHED - seen]
            seen += len(objs)
            batches.append(objs)
        # Each block is counted once: claimed by the object whose own memory points to it, else by the
        # first owner in walk order (the closest to a root) that reaches it through chained blocks (a
        # stale pointer in a chained block's slack must not take it from its owner).
        hits = [(obj, self._blocks(obj, stack)) for objs in batches for obj in objs]
        claim = {}  # block address -> index in hits of the owner it is counted for
        for direct in (True, False):
            for i, (_, blocks) in enumerate(hits):
                for _, _, key, depth in blocks:
                    if (depth == 0) == direct and key not in claim:
                        claim[key] = i
        blocks_of = self.blocks_of = {}
        found_p = {}
        for i, (obj, blocks) in enumerate(hits):
            mine = [(size, p) for size, p, key, _ in blocks if claim[key] == i]
            if not mine or id(obj) in blocks_of:
                continue
            blocks_of[id(obj)] = mine
            # Owners of one type hold alike blocks: each is found with the chance that one of
            # its blocks is sampled, taken from the owner of its type that showed the most of them.
            missed = 1.0
            for _, p in mine:
                missed *= 1.0 - p
            tid = id(type(obj))
            found_p[tid] = max(found_p.get(tid, 0.0), 1.0 - missed)
        del hits, claim
        self.found_p = found_p
        for objs in batches:
            for obj in objs:
                w = self._weigh(obj)
                if w is None:
                    continue
                st = result.stratum(type(obj))
                st.hits += 1
                st.w += w[0]
                st.q += w[1]
                st.wy += w[0] * w[2]
                st.qy += w[3]
                words = details.setdefault(id(type(obj)), {})
                if st.hits <= DESCRIBED:
                    d = describe_owner(obj, self.namer)
                    words[d] = words.get(d, 0) + 1
        result.hits = seen
        expected = self.found.hits(k)
        if 0 < seen < expected:
            result.scale = expected / float(seen)
        if self.found.coverage < 1.0:
            result.scale /= max(self.found.coverage, 1e-9)
        owners = []
        for tid, st in result.strata.items():
            tp = result.types[tid]
            words = details.get(tid, {})
            desc = max(words.items(), key=lambda kv: kv[1])[0] if len(words) == 1 else type_qualname(tp)
            owners.append({"type": type_qualname(tp), "desc": desc, "objects": int(round(st.w * result.scale)),
                           "bytes": int(round(st.wy * result.scale))})
        owners.sort(key=lambda o: -o["bytes"])
        self.owners[k] = owners
        return result

    def _weigh(self, obj):
        blocks = self.blocks_of.get(id(obj))
        if not blocks:
            return None
        p = self.found_p.get(id(type(obj))) or max(p for _, p in blocks)
        w = 1.0 / p
        held = sum(size / p for size, p in blocks)  # sum s/p
        var = sum(size * size * (1.0 - p) / (p * p) for size, p in blocks)
        # estimate.figures reads a member as (w, q, y) with w*y the bytes: y = held / w.
        return w, (1.0 - p) * w * w, held / w, var

    def weigh(self, obj):
        w = self._weigh(obj)
        return None if w is None else (id(type(obj)), w[0], w[1], w[2])

    def paths(self, k, totals, deadline, groups):
        rows = estimate.figures([[m.weight for m in g if m.weight is not None] for g in groups], totals)
        return [retainer_estimate(int(round(o)), int(round(b)), int(round(eo)), int(round(eb)), False)
                for o, b, eo, eb in rows]


def describe_owner(obj, namer):
    """An owner in its own words, from C getters of its C base type: "ndarray 64×256 float64"."""
    name = namer.type_info(type(obj)).name
    detail = _words(obj, namer)
    return "%s %s" % (name, detail) if detail else name


def step_detail(obj, namer):
    """The words of a well-known owner that names its object ("app.db"), for a path's step."""
    return _words(obj, namer, NAMED)


def _words(obj, namer, only=None):
    """The description its first well-known C base type gives (of those in ``only``), or None."""
    try:
        for base in namer.type_info(type(obj)).mro:
            qualname = type_qualname(base)
            words = _DESCRIBERS.get(qualname)
            if words is not None and _module_of(base) in _MODULES[qualname]:
                return words(base, obj) or None if only is None or qualname in only else None
    except Exception:
        pass
    return None


def _module_of(tp):
    try:
        mod = _type_module(tp)  # type's own getter: from tp_name for a C type, the class dict's entry for a class
    except Exception:
        return ""
    return mod if type(mod) is str else ""


_type_module = type.__dict__["__module__"].__get__


def _getter(base, attr):
    """The C getter of ``attr`` defined by ``base`` itself (a getset or member descriptor), or None."""
    ns = namespace(base)
    if ns is None:
        return None
    d = ns.get(attr)
    if type(d) is _GetSet or type(d) is _Member:
        return d.__get__
    return None


_KINDS = {"f": "float", "i": "int", "u": "uint", "c": "complex", "b": "bool"}


def _ndarray(base, obj):
    text = _ndarray_shape(base, obj)
    if text is None:
        return None
    # A view's memory is its base's: say whose, so a small view that keeps a big array reads as such.
    viewed = _call(_getter(base, "base"), obj)
    if viewed is not None and any(b is base for b in namespace_mro(type(viewed))):
        inner = _ndarray_shape(base, viewed)
        if inner is not None:
            text += ", a view of a %s array" % inner
    return text


def _ndarray_shape(base, obj):
    shape = _getter(base, "shape")
    dtype = _getter(base, "dtype")
    if shape is None or dtype is None:
        return None
    dims = shape(obj)
    if type(dims) is not tuple or not all(type(d) is int for d in dims):
        return None
    dt = dtype(obj)
    dtype_type = type(dt)
    kind = itemsize = None
    for cls in namespace_mro(dtype_type):
        kind = kind if kind is not None else _call(_getter(cls, "kind"), dt)
        itemsize = itemsize if itemsize is not None else _call(_getter(cls, "itemsize"), dt)
    text = "\u00d7".join(str(d) for d in dims) if dims else "scalar"
    if type(kind) is str and type(itemsize) is int:
        text += " " + (_KINDS[kind] + str(itemsize * 8) if kind in _KINDS else "%s%d" % (kind, itemsize))
    return text


def namespace_mro(tp):
    try:
        return type.__dict__["__mro__"].__get__(tp)
    except Exception:
        return (tp,)


def _call(getter, obj):
    if getter is None:
        return None
    try:
        return getter(obj)
    except Exception:
        return None


def _imaging(base, obj):
    mode, size = _call(_getter(base, "mode"), obj), _call(_getter(base, "size"), obj)
    if type(mode) is str and type(size) is tuple and len(size) == 2 and all(type(v) is int for v in size):
        return "%s %d\u00d7%d" % (mode, size[0], size[1])
    return None


def _element(base, obj):
    tag = _call(_getter(base, "tag"), obj)
    return "<%s>" % tag if type(tag) is str and len(tag) <= 60 else None


def _mmap(base, obj):
    """Its length, from the C slot of the base type (mmap's own __len__, whatever a subclass defines)."""
    ns = namespace(base)
    length = ns.get("__len__") if ns is not None else None
    if type(length) is not _SlotWrapper:
        return None
    n = _call(length, obj)
    return format_bytes(n) if type(n) is int else None


def _connection(base, obj):
    """Its main database's file, read from its sqlite3 handle in C (the sampler's sqlite_filename)."""
    from .. import native

    ext = native.load_if_built()
    name = _call(getattr(ext, "sqlite_filename", None), obj)
    if name is False:
        return "closed"
    if type(name) is not str:
        return None
    if not name:
        return ":memory:"
    return name if len(name) <= 60 else "\u2026" + name[-59:]


# Well-known owners, by their C base type's qualified name and the modules defining it.
_DESCRIBERS = {"ndarray": _ndarray, "ImagingCore": _imaging, "_Element": _element, "mmap": _mmap,
               "Connection": _connection}
_MODULES = {"ndarray": ("numpy",), "ImagingCore": ("PIL._imaging", "", "builtins"), "_Element": ("lxml.etree",),
            "mmap": ("mmap",), "Connection": ("sqlite3",)}
# Those whose words name the one object (a connection's database), shown on the retainer path's step too.
NAMED = frozenset(("Connection",))


# Steps through these are on the way to an owner, not owners themselves.
_CONTAINERS = frozenset(("list", "dict", "tuple", "set", "frozenset", "deque", "OrderedDict", "defaultdict", "cell",
                         "class", "module", "function", "method", "frame", "lru_cache", "partial", "thread-local"))


def _to_owners(paths):
    """By-stack paths end at their first object that is not a builtin container (the owner made at that
    line: a sqlite3 Connection, not the weakref list inside it); paths that then read the same merge."""
    merged = {}
    for path in paths:
        steps = []
        for step in path["steps"]:
            steps.append(step)
            desc = step[step.rfind("(") + 1:].rstrip(")").split(",")[0].strip() if step.endswith(")") else ""
            if desc and desc.split(" ")[0] not in _CONTAINERS:
                break
        kind = path["rootKind"]
        if kind in ("lru_cache", "thread-local") and not any(kind in step for step in steps):
            kind = "module global" if path["root"].startswith("module ") else "gc-tracked"
        key = (kind, path["root"], tuple(steps))
        seen = merged.get(key)
        if seen is None:
            merged[key] = {"rootKind": kind, "root": path["root"], "steps": steps,
                           "objects": path["objects"], "bytes": path["bytes"]}
        else:
            seen["objects"] += path["objects"]
            seen["bytes"] += path["bytes"]
    return sorted(merged.values(), key=lambda p: -p["objects"])
