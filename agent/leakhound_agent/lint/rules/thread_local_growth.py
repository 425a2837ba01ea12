"""A container inside a module-level `threading.local()` that every task grows:
pool threads live as long as the pool, so their thread-local containers do too."""
import ast

from .common import WEAK_THREAD_TABLE, fn_label, how, mentions
from .guards import parents

ID = "thread-local-growth"
TITLE = "Thread-local container grows per task"
HELP = ("Worker threads of a pool or a server live as long as the process; a list or dict in a "
        "`threading.local()` that each task appends to and nothing resets keeps every task's data.")

GROW = {"append", "extend", "insert", "add", "update", "setdefault", "appendleft", "setitem", "+="}


def _absent(test):
    """The test asks whether the attribute is missing: `not hasattr(...)`, `not getattr(...)`,
    `getattr(..., None) is None` (or `== None`). Not `getattr(_local, "bucket", None) != current`:
    that re-sets the container whenever a value changes, a rotation, not an initialisation."""
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return mentions(test.operand, calls=("hasattr", "getattr"))
    if isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], (ast.Is, ast.Eq)):
        sides = [test.left] + test.comparators
        return any(isinstance(s, ast.Constant) and s.value is None for s in sides) and mentions(test, calls=("getattr",))
    if isinstance(test, ast.BoolOp):
        return any(_absent(v) for v in test.values)
    return False


def _initialisation(fn, node):
    """`if not hasattr(_local, "x"): _local.x = []`, `getattr(_local, "x", None) is None`, or in `except AttributeError`."""
    up = parents(fn.node)
    cur = up.get(id(node))
    while cur is not None and cur is not fn.node:
        if isinstance(cur, ast.If) and _absent(cur.test):
            return True
        if isinstance(cur, ast.ExceptHandler) and mentions(cur.type, names=("AttributeError",)):
            return True
        cur = up.get(id(cur))
    return False


def check(facts):
    for c in facts.containers.values():
        if not c.key.startswith("t:") or c.escapes:
            continue
        if any(fn is None or not isinstance(node, ast.Assign) or not (facts.runs_once(fn) or _initialisation(fn, node))
               for fn, node in c.shrinks):
            continue  # cleared, popped, deleted, or re-set per task: managed
        for fn, node, key, value in c.grows:
            if fn is None or facts.runs_once(fn) or how(node) not in GROW:
                continue
            if how(node) in ("setitem", "setdefault") and isinstance(key, ast.Constant):
                continue  # `_local.__dict__["busy"] = True`: one slot, set again and again
            why = "`%s` lives in a thread-local of each long-lived thread and %s grows it (`%s`) per task without ever resetting it, so each thread keeps every task's entries." % (
                c.name, fn_label(fn), how(node))
            fix = "Reset it at the start or end of each task (`%s = []` or `.clear()` in a `finally`), or keep the data in a local variable of the task." % c.name
            keyed = how(node) in ("setitem", "setdefault", "update", "add")
            yield node, why, fix, c.name.split(".")[1], None, WEAK_THREAD_TABLE if keyed and key is not None else None
            break
