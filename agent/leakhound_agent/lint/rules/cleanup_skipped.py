"""An entry added for one piece of work (`pending[req_id] = fut`, `active.add(ws)`) and removed by the
same function when that work is done, but not in a `finally`: a `return`, a `raise` or a `yield` in
between that does not remove it first, or, in a coroutine, an `await` (a timeout or a cancellation ends
the coroutine there), leaves the entry for good. Nothing else removes it: no other function of the
module, no other file, no `clear()`.

Of low confidence by its nature: the entry stays only on the paths that end the work early, and the
code cannot say how often they are taken (a permission not given, a client gone, a timeout)."""
import ast

from ..syntax import subscript_key
from .common import fn_label, mentions, where, written
from ..runs import looked_up_first
from .guards import parents
from .singleton_container_growth import long_lived

ID = "cleanup-skipped"
TITLE = "Entry removed only when the work ends normally"
HELP = ("A container that gets an entry at the start of some work and loses it at the end keeps it for "
        "good when the work ends early (a return, an exception, a cancelled await) before the removal; "
        "removing it in a `finally` covers every path.")
WEAK = ("the entry stays only when the work ends early (a return, an exception, a cancellation) before "
        "the removal, and the code cannot say how often that happens")

EXITS = (ast.Return, ast.Raise, ast.Yield, ast.YieldFrom)
NESTED = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)


def _grow_key(c, node, key, value):
    """What identifies the entry: a dict's key, a set's or list's value."""
    return key if c.kind in ("dict", "defaultdict", "OrderedDict", "Counter") or key is not None else value


def _shrink_key(node):
    if isinstance(node, ast.Call):
        return node.args[0] if node.args else None
    if isinstance(node, ast.Subscript):
        return subscript_key(node)
    return None


def _own_nodes(fn):
    """The function's nodes, less those of functions, classes and lambdas defined inside it."""
    out, todo = [], list(ast.iter_child_nodes(fn.node))
    while todo:
        n = todo.pop()
        if isinstance(n, NESTED):
            continue
        out.append(n)
        todo.extend(ast.iter_child_nodes(n))
    return out


def _protected(up, node):
    """The node sits in a `finally` or an `except` clause."""
    child = node
    parent = up.get(id(child))
    while parent is not None:
        if isinstance(parent, ast.Try) or type(parent).__name__ == "TryStar":
            if any(child is s for s in parent.finalbody):
                return True
        if isinstance(parent, ast.ExceptHandler):
            return True
        child, parent = parent, up.get(id(parent))
    return False


def _statement(up, node):
    while not isinstance(node, ast.stmt):
        node = up[id(node)]
    return node


def _body_holding(up, stmt):
    """The statement list of its parent that holds stmt, or None (an expression holds it)."""
    parent = up.get(id(stmt))
    for field in ("body", "orelse", "finalbody", "handlers"):
        block = getattr(parent, field, None)
        if isinstance(block, list) and any(s is stmt for s in block):
            return block
    return None


def _blocks_around(up, node):
    """For each block of statements that holds the node, innermost first: the statements before the
    one that holds the node, and those after it."""
    stmt = _statement(up, node)
    while isinstance(stmt, ast.stmt):
        block = _body_holding(up, stmt)
        if block is not None:
            at = next(i for i, s in enumerate(block) if s is stmt)
            yield block[:at], block[at + 1:]
        stmt = up.get(id(stmt))


def _holds(stmt, nodes):
    return any(n is r for n in ast.walk(stmt) for r in nodes)


def _removed_before(up, exit_node, removals, after):
    """A removal runs before the exit on its way out: it is a statement earlier in a block that holds
    the exit (`C.pop(k); return`), after the entry was added."""
    return any(s.lineno > after and _holds(s, removals) for before, _ in _blocks_around(up, exit_node) for s in before)


def _follows(up, grow, removal):
    """The removal comes after the growth on the same path: in a later statement of a block that holds
    the growth (not in another branch of the `if` that adds the entry)."""
    return any(_holds(s, (removal,)) for _, later in _blocks_around(up, grow) for s in later)


def check(facts):
    for c in facts.containers.values():
        if c.key[0] not in "gci" or c.escapes or not c.shrinks:
            continue
        # An object's own container outlives the work only when the object is made once and kept (the
        # evidence singleton-container-growth asks for); one made per connection takes it along.
        lifetime = long_lived(facts, c) if c.key[0] == "i" else None
        if c.key[0] == "i" and lifetime is None:
            continue
        for fn, node, key, value in c.grows:
            if fn is None or facts.runs_once(fn):
                continue
            k = _grow_key(c, node, key, value)
            if k is None or isinstance(k, ast.Constant) or not mentions(k, names=set(fn.params) | fn.locals):
                continue
            up = parents(fn.node)
            if isinstance(_statement(up, node), ast.AugAssign) or c.kind not in ("set", "list") and looked_up_first(c, fn, node, k):
                continue  # a count or a buffer kept across calls (`hits[ip] += 1`, `if k not in C: C[k] = []`)
            dump = ast.dump(k)
            removals = [n for f, n in c.shrinks if f is fn and _shrink_key(n) is not None and ast.dump(_shrink_key(n)) == dump
                        and getattr(n, "lineno", 0) > node.lineno]
            if not removals or len(removals) != len(c.shrinks):
                continue  # not removed here, or removed elsewhere too (a sweeper, a done-callback, a clear)
            removals = [r for r in removals if _follows(up, node, r)]
            if not removals:
                continue
            if _protected(up, node) or any(_protected(up, r) for r in removals):
                continue  # added in a clean-up, or removed on the error path too
            last = max(r.lineno for r in removals)
            early = None
            for n in _own_nodes(fn):
                line = getattr(n, "lineno", 0)
                if not node.lineno < line < last:
                    continue
                if isinstance(n, EXITS) or isinstance(n, ast.Await) and isinstance(fn.node, ast.AsyncFunctionDef):
                    if isinstance(n, ast.Await) or not _removed_before(up, n, removals, node.lineno):
                        early = n if early is None or line < early.lineno else early
            if early is None:
                continue
            what = {ast.Return: "a `return`", ast.Raise: "a `raise`", ast.Yield: "a `yield`",
                    ast.YieldFrom: "a `yield from`", ast.Await: "an `await`"}[type(early)]
            why = ("%s gets an entry in %s that the function removes at line %d, but not in a `finally`: %s at line %d "
                   "can end the work first (%s), and the entry then stays for good." % (
                       where(c), fn_label(fn), removals[0].lineno, what, early.lineno,
                       "a timeout or a cancellation" if isinstance(early, ast.Await) else
                       "the generator not resumed" if isinstance(early, (ast.Yield, ast.YieldFrom)) else "an early exit"))
            fix = "Remove it in a `finally` (`try: ... finally: %s.%s`), so that every way out of the work removes it." % (
                written(c), "pop(key, None)" if c.kind not in ("set", "list") else "discard(x)" if c.kind == "set" else "remove(x)")
            yield node, why, fix, c.name, lifetime, WEAK
            break
