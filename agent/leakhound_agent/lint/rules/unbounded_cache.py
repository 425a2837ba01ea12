"""A module-level or class-level dict used as a memo table (looked up by a key,
then filled under the same key) with no size bound and no eviction."""
import ast

from ..facts import ever_new
from .common import fn_label, how, managed, mentions, where

ID = "unbounded-cache"
TITLE = "Unbounded cache"
HELP = ("A dict that memoises results by argument and is never evicted keeps one entry per "
        "distinct key for the life of the process; with ever-new keys it grows without bound.")


def _same(a, b):
    return a is not None and b is not None and ast.dump(a) == ast.dump(b)


def _class_keyed(key):
    """Keys made of classes only (type(x), cls, x.__class__) are bounded by the program's classes."""
    return isinstance(key, ast.Name) and key.id in ("cls", "klass", "tp", "typ") or mentions(key, calls=("type",), attrs=("__class__",))


def check(facts):
    for c in facts.containers.values():
        if c.key[0] not in "gc" or c.kind not in ("dict", "defaultdict") or managed(c):
            continue
        for fn, node, key, value in c.grows:
            if fn is None or facts.runs_once(fn) or key is None or isinstance(key, ast.Constant):
                continue
            if how(node) not in ("setitem", "setdefault"):
                continue
            if how(node) == "setitem" and not any(rfn is fn and _same(rkey, key) for rfn, rkey in c.reads):
                continue
            if _class_keyed(key) or not mentions(key, names=set(fn.params) | fn.locals):
                continue
            if ever_new(key):
                why = "%s caches results in %s keyed by a value that never repeats, with no bound or eviction, so every call adds an entry that stays." % (where(c), fn_label(fn))
                fix = "Key it by the object with `weakref.WeakKeyDictionary`, or bound it (`functools.lru_cache(maxsize=N)` on a module-level function)."
            else:
                why = "%s memoises %s by argument with no bound or eviction, so it keeps one entry per distinct key forever." % (where(c), fn_label(fn))
                fix = "Use `functools.lru_cache(maxsize=N)` on a module-level function of the key, or evict (`if len(%s) >= N: %s.pop(next(iter(%s)))`)." % (c.name, c.name, c.name)
            yield node, why, fix, c.name
            break
