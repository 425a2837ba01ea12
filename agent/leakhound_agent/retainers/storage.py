"""Memory that is no object of its own: the storage of a container that grew there.

``HISTORY.append(x)`` and ``CACHE[key] = value`` allocate no object; they
grow the list's item array or the dict's key table, and the collector charges
those bytes to the line that grew them. When no object was allocated at a
stack, the walk asks which big list, dict, set or bytearray has its storage
block allocated there, and explains that container instead.

That needs the address of the storage block (read from the object's C
struct, stable on 64-bit CPython 3.8-3.13) and a collector that can name the
stack of an address: ``collector.stack_key_of_address(ptr)`` when it has one,
or tracemalloc's own C lookup when the collector's keys are tracemalloc's raw
tracebacks.
"""

import ctypes
import sys
from itertools import compress, repeat
from operator import is_, le

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
    lookup = getattr(collector, "stack_key_of_address", None)
    if lookup is not None:
        return lookup
    if getattr(collector, "name", None) != "tracemalloc":
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
                    index = list(map(is_, level, repeat(obj))).index(True)
                    hits.append((k - 1, (p, d, index)))
    return hits
