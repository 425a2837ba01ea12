"""Objects the interpreter itself holds in C, which no Python object refers to, yet are no
reference leaked by C code: a thread's current contextvars context (values set with
``ContextVar.set``), callbacks registered with ``atexit``, and a class's entries in its bases'
tables of subclasses (``type.__subclasses__``: a dict of weak references per base, which a
builtin base such as ``object`` keeps in C; an entry goes when its class does). The walk finds them among the
objects nothing refers to; these words name them.

Nothing here runs the program's code: a context is read with its own C methods (a context's
keys are ContextVar objects, compared by identity), and atexit is asked only for its count of
callbacks (``atexit._ncallbacks()``): they cannot be listed without calling ``==`` on them.
Neither module is imported here: a program that never imported them has no such objects.
"""

import itertools
import sys
import types
import weakref
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


_WeakRef = weakref.ReferenceType
_weakref_call = _WeakRef.__dict__["__call__"]  # the C slot: returns the referent, runs no Python code
_name_of_type = type.__dict__["__qualname__"].__get__
_bases_of_type = type.__dict__["__bases__"].__get__
_mro_of_type = type.__dict__["__mro__"].__get__
# Values of a dict looked at to tell a table of subclasses (the first few are enough).
_TABLE_PEEK = 4


def _class_of(ref):
    """The class a weak reference refers to, or None."""
    if type(ref) is not _WeakRef:
        return None
    try:
        target = _weakref_call(ref)
    except Exception:
        return None
    # Not isinstance(): it may read a `__class__` the program defines.
    return target if target is not None and any(b is type for b in _mro_of_type(type(target))) else None


def _bases_named(classes):
    """'Base' (the one base the classes share), 'Base, Mixin', or '' when they share none."""
    shared = None
    for cls in classes:
        try:
            bases = _bases_of_type(cls)
        except Exception:
            return ""
        shared = list(bases) if shared is None else [b for b in shared if any(b is c for c in bases)]
    try:
        return ", ".join(_name_of_type(b) for b in shared or ())
    except Exception:
        return ""


def subclass_entry(obj):
    """Words for a root that is a base's table of subclasses, or an entry of one (a weak reference
    to a class), or None."""
    cls = _class_of(obj)
    if cls is not None:
        classes = [cls]
        what = "an entry in the table of subclasses of %s"
    elif type(obj) is dict and obj:
        try:
            items = list(itertools.islice(dict.items(obj), _TABLE_PEEK))
        except Exception:
            return None
        classes = [_class_of(v) for k, v in items if type(k) is int]
        if len(classes) < len(items) or any(c is None for c in classes):
            return None
        what = "the table of subclasses of %s"
    else:
        return None
    bases = _bases_named(classes)
    return (what % (bases or "a base class")) + (
        " (type.__subclasses__: the interpreter keeps an entry per subclass alive, and drops it when the subclass goes)")


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
