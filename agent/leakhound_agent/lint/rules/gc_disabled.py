"""`gc.disable()` with no `gc.enable()` to match: from then on, reference cycles
(objects that refer to each other: parent/child links, bound methods stored on
self, caught exceptions and their frames) are never freed."""
import ast
import re

from ..syntax import dotted, last_name
from .common import fn_label

ID = "gc-disabled"
TITLE = "Garbage collector disabled"
HELP = ("With `gc.disable()` and no matching `gc.enable()` (or `gc.collect()` by hand), memory "
        "held by reference cycles is never reclaimed, and most programs make cycles (exceptions and "
        "frames, closures, parent links).")

# Calls that pair a `gc.disable()`: switching it back on, or collecting by hand (cycles are freed then).
ENABLE = ("gc.enable", "gc.isenabled", "gc.collect")
# A context manager that may restore the collector's state: `with restore_gc_state():`, `with gc_paused():`.
RESTORES = re.compile(r"(?i)(^|_)gc(_|$)|collect|restore")


def _in_restoring_with(fn, call):
    """The `gc.disable()` sits in a `with` block whose context manager says it restores the collector."""
    for node in ast.walk(fn.node):
        if isinstance(node, (ast.With, ast.AsyncWith)) and any(
                RESTORES.search(last_name(i.context_expr.func if isinstance(i.context_expr, ast.Call) else i.context_expr) or "")
                for i in node.items) and any(n is call for s in node.body for n in ast.walk(s)):
            return True
    return False


def _enables(fn):
    """`gc.enable` (or `gc.collect`) passed on rather than called: `self.addCleanup(gc.enable)`,
    `atexit.register(gc.enable)`, `timer.timeout.connect(gc.collect)`."""
    return any(dotted(a) in ("gc.enable", "gc.collect") for _, call in fn.calls for a in call.args)


def check(facts):
    top = [name for name, _ in facts.toplevel_calls]
    everywhere = top + [name for fn in facts.functions for name, _ in fn.calls]
    for name, call in facts.toplevel_calls:
        if name == "gc.disable" and not any(n in ENABLE for n in everywhere):
            why = "`gc.disable()` at import time, with no `gc.enable()` anywhere in the module: every reference cycle created afterwards is never freed."
            yield call, why, "Re-enable it (`gc.enable()` in a `finally`), or keep it on and tune `gc.set_threshold()`; call `gc.collect()` at safe points if you must pause it.", None
    # Another function of the module re-enables the collector (or collects by hand): the program
    # pairs them, in a `finally` of its runner (`if opts.disable_gc: gc.enable()`), in a helper the
    # disabler calls or hands on (`finally: _finalize()`, `LoopingCall(run_gc)`), in a sibling method
    # (setUp/tearDown, __enter__/__exit__), in a function nested in it (a collector task it starts).
    if any(n in ENABLE for g in facts.functions for n, _ in g.calls):
        return
    for fn in facts.functions:
        if not any(name == "gc.disable" for name, _ in fn.calls) or _enables(fn):
            continue
        call = next(c for n, c in fn.calls if n == "gc.disable")
        if _in_restoring_with(fn, call):
            continue
        why = "%s calls `gc.disable()` and never `gc.enable()`: from then on, reference cycles are never freed." % fn_label(fn)
        fix = "Pair it: `gc.disable()` then `try: ... finally: gc.enable()` (only if it was enabled: `gc.isenabled()`)."
        yield call, why, fix, None
