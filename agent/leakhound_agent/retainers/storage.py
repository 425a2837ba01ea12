"""Memory that is no object of its own: the storage of a container that grew there.

``HISTORY.append(x)`` and ``CACHE[key] = value`` allocate no object; they
grow the list's item array or the dict's key table, and the collector charges
those bytes to the line that grew them. When no object was allocated at a
stack, the walk asks which big list, dict, set or bytearray has its storage
block allocated there, and explains that container instead. Failing that,
any other object whose C struct points at a block allocated there (an
``io.StringIO`` and its character buffer, an ``array.array``, ...) is its
owner: the structs are read word by word and every word is asked about as
an address.

That needs the address of the storage block (read from the object's C
struct, stable on 64-bit CPython 3.8-3.13) and a collector that can name the
stack of an address: ``collector.stack_key_of_address(ptr)`` when it has one,
or tracemalloc's own C lookup when the collector's keys are tracemalloc's raw
tracebacks.
"""

import array
import ctypes
import sys
import types
from functools import partial
from itertools import compress, count, repeat
from operator import add, attrgetter, is_, le

# Containers smaller than this rarely matter and are too many to ask about.
MIN_ITEMS = 16

_PTR = ctypes.sizeof(ctypes.c_void_p)
# Byte offsets of the storage pointer in the object's C struct (64-bit, release builds).
_OFFSETS = [
    (list, list.__len__, 3 * _PTR),  # PyListObject.ob_item
    (dict, dict.__len__, 4 * _PTR),  # PyDictObject.ma_keys (after ma_used, ma_version_tag)
    (set, set.__len__, 5 * _PTR),  # PySetObject.table
    (bytearray, bytearray.__len__, 4 * _PTR),  # PyByteArrayObject.ob_bytes
]


def address_lookup(collector):
    """A function ptr -> stack key, or None when this collector cannot tell."""
    if collector.stack_key_of_address is not None:
        return collector.stack_key_of_address
    if not collector.traces_every_block:
        return None
    if _PTR != 8 or hasattr(sys, "gettotalrefcount") or not hasattr(sys, "getrefcount"):
        return None  # 32-bit or debug build: other struct layouts
    try:
        import tracemalloc

        get = ctypes.pythonapi._PyTraceMalloc_GetTraceback
        get.restype = ctypes.py_object
        get.argtypes = [ctypes.c_uint, ctypes.c_size_t]
    except Exception:
        return None

    def stack_key_of_address(ptr):
        if not tracemalloc.is_tracing():
            return None
        try:
            return get(0, ptr)
        except Exception:
            return None

    return stack_key_of_address


def find(walk, lookup_key, stack_key_of_address, wanted, deadline_check):
    """[(key index, (phase, depth, index))] for big containers whose storage was allocated at a wanted key."""
    read = ctypes.c_void_p.from_address
    hits = []
    for p, phase in enumerate(walk.phases):
        for d, level in enumerate(phase.levels):
            if deadline_check():
                return hits
            for tp, length, offset in _OFFSETS:
                same = list(compress(level, map(is_, map(type, level), repeat(tp))))
                if not same:
                    continue
                big = list(compress(same, map(le, repeat(MIN_ITEMS), map(length, same))))
                del same
                for obj in big:
                    try:
                        ptr = read(id(obj) + offset).value
                    except Exception:
                        continue
                    if not ptr:
                        continue
                    k = lookup_key(stack_key_of_address(ptr))
                    if k is None or k - 1 not in wanted:
                        continue
                    index = level.index(obj)
                    if index is not None:
                        hits.append((k - 1, (p, d, index)))
    return hits


# Every storage pointer of a container, for find_sampled (ma_values too: an instance dict's values).
_STORAGE_POINTERS = [
    (list, (3 * _PTR,)),
    (dict, (4 * _PTR, 5 * _PTR)),
    (set, (5 * _PTR,)),
    (bytearray, (4 * _PTR,)),
]
_value = attrgetter("value")
_from_address = ctypes.c_void_p.from_address


def find_sampled(walk, runner, blocks, deadline_check):
    """[(key index, (phase, depth, index), container)] for lists, dicts, sets and bytearrays of any length whose
    storage is one of the sampled ``blocks`` ({address: key index}).

    Every container's storage pointers are read in C-level iteration (no Python code per object),
    so the many small containers of a leak are found as fast as a few big ones: a list per session
    that another line appends to, a dict per logger that another line fills. Each container once.
    """
    hits = []
    contains = blocks.__contains__
    for p, phase in enumerate(walk.phases):
        for d, level in enumerate(phase.levels):
            if deadline_check():
                return hits
            for tp, offsets in _STORAGE_POINTERS:
                mask, same, positions = [], [], []
                runner.run([partial(mask.extend, map(is_, map(type, level), repeat(tp)))])
                runner.run([partial(same.extend, compress(level, mask)), partial(positions.extend, compress(count(), mask))])
                del mask
                if not same:
                    continue
                seen = set()
                for offset in offsets:
                    ptrs = []
                    runner.run([partial(ptrs.extend, map(_value, map(_from_address, map(add, map(id, same), repeat(offset)))))])
                    for index, obj, ptr in compress(zip(positions, same, ptrs), map(contains, ptrs)):
                        if index not in seen:
                            seen.add(index)
                            hits.append((blocks[ptr], (p, d, index), obj))
                    del ptrs
                del same, positions
    return hits


# Types whose structs hold only object pointers, inline data or storage handled above.
_PLAIN = frozenset(map(id, [
    object, type, str, bytes, int, float, complex, bool, type(None), tuple, list, dict, set, frozenset,
    bytearray, range, slice, property, staticmethod, classmethod, memoryview, types.FunctionType,
    types.MethodType, types.BuiltinFunctionType, types.CodeType, types.FrameType, types.TracebackType,
    types.ModuleType, types.GeneratorType, types.CoroutineType, types.AsyncGeneratorType, types.MappingProxyType,
    types.MemberDescriptorType, types.GetSetDescriptorType, types.WrapperDescriptorType,
    types.MethodDescriptorType, types.MethodWrapperType, types.ClassMethodDescriptorType,
    type((lambda x: lambda: x)(0).__closure__[0]), type(iter([])), type(iter({})), type({}.keys()),
]))
_basicsize = type.__dict__["__basicsize__"].__get__
_itemsize = type.__dict__["__itemsize__"].__get__
_HEAD = 2 * _PTR  # ob_refcnt, ob_type


def find_owners(walk, runner, lookup_key, stack_key_of_address, wanted, deadline_check):
    """[(key index, (phase, depth, index))] for objects whose struct points at a block allocated at a wanted key."""
    if _PTR != 8:
        return []
    kinds = {}
    for phase in walk.phases:
        for level in phase.levels:
            runner.run([partial(kinds.update, zip(map(id, map(type, level)), map(type, level)))])
    sizes = {}
    for ident, tp in kinds.items():
        if ident in _PLAIN:
            continue
        try:
            size, itemsize = _basicsize(tp), _itemsize(tp)
        except Exception:
            continue
        if itemsize == 0 and size > _HEAD:
            sizes[ident] = size
    del kinds
    if not sizes:
        return []
    hits = []
    string_at = ctypes.string_at
    for p, phase in enumerate(walk.phases):
        for d, level in enumerate(phase.levels):
            if deadline_check():
                return hits
            chosen = []
            runner.run([partial(chosen.extend, compress(level, map(sizes.__contains__, map(id, map(type, level)))))])
            for obj in chosen:
                words = array.array("Q", string_at(id(obj) + _HEAD, sizes[id(type(obj))] - _HEAD))
                for k in map(lookup_key, map(stack_key_of_address, filter(None, words))):
                    if k is not None and k - 1 in wanted:
                        index = level.index(obj)
                        if index is not None:
                            hits.append((k - 1, (p, d, index)))
                        break
    return hits
