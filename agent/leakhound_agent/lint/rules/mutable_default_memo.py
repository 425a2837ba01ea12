"""A mutable default argument (`def f(x, _memo={})`) used as a memo table or an
accumulator: the default is created once and shared by every call. A memo keyed by data needs, as a
module's memo does (unbounded-cache), the evidence that its function runs per call: a memo of names
(`mixedcase(model_name)`) holds only the program's own vocabulary otherwise."""
import ast

from .common import data_key_needs, WEAK_BASE_CASE, WEAK_LIST_DEFAULT, fn_label, how, made_many, open_key
from .guards import deduplicated, filled_once, filled_to_index

ID = "mutable-default-memo"
TITLE = "Mutable default argument used as a memo"
HELP = ("A default argument is evaluated once, when the function is defined; a dict or list "
        "default that the function adds to is a global in disguise and keeps every entry forever.")


def _argument(fn, call, param):
    """What `call` of fn passes for `param` (by keyword or position); None when it leaves it out.
    Call with `_unpacks(call)` false: `f(*args)` or `f(**kw)` may pass anything."""
    for k in call.keywords:
        if k.arg == param:
            return k.value
    index = fn.params.index(param) - (1 if fn.cls is not None and fn.params[:1] in (["self"], ["cls"]) else 0)
    return call.args[index] if len(call.args) > index else None


def _unpacks(call):
    return any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords)


def _calls_itself(fn, name):
    """A call named `name` (dotted) is of fn: a module function by its bare name (`mod.f()` may be
    another module's f), a method through self or cls."""
    return name == fn.name if fn.cls is None else name in ("self." + fn.name, "cls." + fn.name)


def _always_passed(facts, fn, param):
    """Every call of fn in the module passes `param` (by keyword or position), and there is one."""
    calls = [call for g in facts.functions for name, call in g.calls if name.rsplit(".", 1)[-1] == fn.name]
    calls += [call for name, call in facts.toplevel_calls if name.rsplit(".", 1)[-1] == fn.name]
    return bool(calls) and all(_unpacks(call) or _argument(fn, call, param) is not None for call in calls)


def _once_per_instance(g):
    """A method that returns early once an attribute of self is set, and sets it (`if self.ready is not
    None: return self.ready ... self.ready = True`): it runs once per instance."""
    if g.cls is None:
        return False
    for stmt in g.node.body[:3]:
        if not (isinstance(stmt, ast.If) and any(isinstance(b, ast.Return) for b in stmt.body)):
            continue
        test = stmt.test.left if isinstance(stmt.test, ast.Compare) else stmt.test
        if isinstance(test, ast.Attribute) and isinstance(test.value, ast.Name) and test.value.id == "self" and any(
                isinstance(t, ast.Attribute) and t.attr == test.attr and isinstance(t.value, ast.Name) and t.value.id == "self"
                for n in ast.walk(g.node) if isinstance(n, ast.Assign) for t in n.targets):
            return True
    return False


def _left_out(facts, fn, param):
    """The other functions of the module, ones that may run per call, that call fn without `param`:
    the shared default is the one that grows (a recursive helper's outside callers start it without)."""
    return [g for g in facts.functions if g is not fn and not facts.runs_once(g) and not _once_per_instance(g)
            and any(_calls_itself(fn, name) and not _unpacks(call) and _argument(fn, call, param) is None
                    for name, call in g.calls)]


def _needs(facts, fn, callers):
    """A default left out by the module's own callers grows as often as they run: evidence that one
    of them, or fn itself, runs per call (see common.made_many); None when one handles a request."""
    needs = []
    for g in callers + [fn]:
        alternatives = made_many(facts, g)
        if not alternatives:
            return None
        needs += alternatives[0]
    return needs


def _base_case_only(fn, grow, param):
    """fn recurses, hands every recursive call a value of its own for `param` (a copy, a new list),
    and adds to `param` only in the branch of an `if` whose other branch recurses (the base case):
    the shared default grows only when a call from outside ends at once (a tree whose root is a leaf)."""
    recursive = [call for name, call in fn.calls if _calls_itself(fn, name)]
    if not recursive:
        return False
    for call in recursive:
        given = None if _unpacks(call) else _argument(fn, call, param)
        if given is None or isinstance(given, ast.Name) and given.id == param:
            return False
    ids = {id(call) for call in recursive}
    def holds(block, node_ids):
        return any(id(n) in node_ids for s in block for n in ast.walk(s))
    for stmt in ast.walk(fn.node):
        if isinstance(stmt, ast.If):
            for mine, other in ((stmt.body, stmt.orelse), (stmt.orelse, stmt.body)):
                if holds(mine, {id(grow)}) and not holds(mine, ids) and holds(other, ids):
                    return True
    return False


def check(facts):
    for c in facts.containers.values():
        if not c.key.startswith("d:") or c.shrinks:
            continue
        # A nested function's defaults are made anew each time the outer function runs: not shared for long.
        # A protocol method (`__deepcopy__(self, memo={})`) is called by the interpreter or the standard
        # library, which passes every argument: its default is never the one that grows.
        grows = [g for g in c.grows if g[0] is not None and g[0].parent is None and g[0].name not in facts.module_calls
                 and not filled_once(g[0], g[1], c) and not filled_to_index(g[0], g[1], c)
                 and not (g[0].name.startswith("__") and g[0].name.endswith("__"))]
        if not grows:
            continue
        # A dict memo must be stored into under changing keys (see unbounded-cache); a list grows on every
        # append unless it only takes values it does not have yet from a fixed set.
        grows = [g for g in grows if (c.kind == "list" and not (deduplicated(g[0], g[1], c) and not open_key(g[0], g[3])))
                 or (c.kind != "list" and how(g[1]) in ("setitem", "setdefault", "add") and open_key(g[0], g[2] if g[2] is not None else g[3]))]
        # A parameter re-bound in the body (`attrs = attrs.copy()`) may be a copy by then; a default every
        # caller in the module overrides (a recursive helper's accumulator) is never the one that grows.
        grows = [g for g in grows if c.name not in g[0].stored and not _always_passed(facts, g[0], c.name)]
        if not grows:
            continue
        fn, node, key, value = grows[0]
        # A default passed on (a recursive helper's accumulator) is managed by the caller only if one passes it.
        why = "The default argument `%s` of %s is created once and shared by all calls, and the function adds to it, so it keeps every entry forever." % (
            c.name, fn_label(fn))
        fix = "Default to `None` and create it per call, or, for a memo, use `functools.lru_cache(maxsize=N)` on the function."
        # A dict filled under changing keys is a memo by design; a list appended to is the shared-default bug.
        # ... unless the module's own code leaves the argument out.
        callers = _left_out(facts, fn, c.name) if c.kind == "list" else []
        weak = WEAK_LIST_DEFAULT if c.kind == "list" and not callers else None
        if weak is None and all(_base_case_only(g[0], g[1], c.name) for g in grows):
            weak = WEAK_BASE_CASE
        # A dict memo grows with what its callers pass: with every request's data, or only with the
        # program's own names (`mixedcase(model_name)`): as a module's memo, it needs the evidence that
        # its function runs per call (see common.data_key_needs).
        if c.kind == "list":
            needs = _needs(facts, fn, callers) if callers else None
        else:
            needs = data_key_needs(facts, fn, key if key is not None else value)
        yield node, why, fix, None, needs, weak
