"""Objects the interpreter itself holds in C, which no Python object refers to, yet are no
reference leaked by C code: a thread's current contextvars context (values set with
``ContextVar.set``), and callbacks registered with ``atexit``. The walk finds them among the
objects nothing refers to; these words name them.

Nothing here runs the program's code: a context is read with its own C methods (a context's
keys are ContextVar objects, compared by identity), and atexit is asked only for its count of
callbacks (``atexit._ncallbacks()``): they cannot be listed without calling ``==`` on them.
Neither module is imported here: a program that never imported them has no such objects.
"""

import sys
import types
from functools import partial

_CALLABLE_TYPES = (types.MethodType, types.FunctionType, types.BuiltinMethodType, partial)
# Callbacks atexit must hold before callable roots nothing refers to are read as its own.
ATEXIT_MIN_CALLBACKS = 10


def context_type():
    """contextvars.Context, or None when the program never imported contextvars."""
    module = sys.modules.get("_contextvars")
    return getattr(module, "Context", None) if module is not None else None


def is_context(obj, ctx_type):
    return ctx_type is not None and type(obj) is ctx_type


def context_edge(ctx, path, i):
    """(label, norm, used) for ctx = path[i] -> ... -> value: the ContextVar whose value a later
    object of the path is (a context's mapping is a tree of C nodes: hamt, bitmap nodes), or None."""
    try:
        values = {}
        for var, value in ctx.items():
            values.setdefault(id(value), var)
    except Exception:
        return None
    for j in range(i + 1, len(path)):
        var = values.get(id(path[j]))
        if var is not None:
            try:
                name = var.name
            except Exception:
                name = "?"
            if type(name) is not str:
                name = "?"
            label = "[ContextVar %r]" % name
            return label, label, j - i
    return None


def atexit_callbacks():
    """How many callbacks atexit holds, or None (never imported, or not told)."""
    module = sys.modules.get("atexit")
    count = getattr(module, "_ncallbacks", None) if module is not None else None
    if count is None:
        return None
    try:
        n = count()
    except Exception:
        return None
    return n if type(n) is int else None


def is_callback(obj):
    # type(), not isinstance(): isinstance may read a __class__ the program defines.
    return type(obj) in _CALLABLE_TYPES


def atexit_holds(roots, callbacks):
    """Whether callable roots that nothing refers to are most likely atexit's: atexit holds at
    least ATEXIT_MIN_CALLBACKS callbacks and most of the roots are callables."""
    if callbacks is None or callbacks < ATEXIT_MIN_CALLBACKS or not roots:
        return False
    return sum(1 for o in roots if is_callback(o)) * 2 > len(roots)


def atexit_note(callbacks):
    return ("held by atexit, most likely: the interpreter holds %s callbacks registered with "
            "atexit.register, each with what it refers to, until the program exits (register once, or "
            "atexit.unregister when done; atexit cannot list them without running the program's code, "
            "so else a reference leaked in C)" % format(callbacks, ","))
