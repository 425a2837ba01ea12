"""`gc.disable()` with no `gc.enable()` to match: from then on, reference cycles
(objects that refer to each other: parent/child links, bound methods stored on
self, caught exceptions and their frames) are never freed."""
from ..facts import dotted
from .common import fn_label

ID = "gc-disabled"
TITLE = "Garbage collector disabled"
HELP = ("With `gc.disable()` and no matching `gc.enable()`, memory held by reference cycles "
        "is never reclaimed, and most programs make cycles (exceptions and frames, closures, "
        "parent links).")

ENABLE = ("gc.enable", "gc.isenabled")


def _enables(fn):
    """`gc.enable` passed on rather than called: `self.addCleanup(gc.enable)`, `atexit.register(gc.enable)`."""
    return any(dotted(a) == "gc.enable" for _, call in fn.calls for a in call.args)


def check(facts):
    top = [name for name, _ in facts.toplevel_calls]
    everywhere = top + [name for fn in facts.functions for name, _ in fn.calls]
    for name, call in facts.toplevel_calls:
        if name == "gc.disable" and not any(n in ENABLE for n in everywhere):
            why = "`gc.disable()` at import time, with no `gc.enable()` anywhere in the module: every reference cycle created afterwards is never freed."
            yield call, why, "Re-enable it (`gc.enable()` in a `finally`), or keep it on and tune `gc.set_threshold()`; call `gc.collect()` at safe points if you must pause it.", None
    for fn in facts.functions:
        names = [name for name, _ in fn.calls]
        if "gc.disable" not in names or any(n in ENABLE for n in names) or _enables(fn):
            continue
        # setUp/tearDown, __enter__/__exit__: a sibling method of the same class re-enables it.
        if fn.cls is not None and any(g.cls is fn.cls and "gc.enable" in (n for n, _ in g.calls) for g in facts.functions):
            continue
        call = next(c for n, c in fn.calls if n == "gc.disable")
        why = "%s calls `gc.disable()` and never `gc.enable()`: from then on, reference cycles are never freed." % fn_label(fn)
        fix = "Pair it: `gc.disable()` then `try: ... finally: gc.enable()` (only if it was enabled: `gc.isenabled()`)."
        yield call, why, fix, None
