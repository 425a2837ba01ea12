"""A mutable default argument (`def f(x, _memo={})`) used as a memo table or an
accumulator: the default is created once and shared by every call."""
import ast

from .common import WEAK_BASE_CASE, WEAK_LIST_DEFAULT, fn_label, how, open_key
from .guards import deduplicated, filled_once, filled_to_index

ID = "mutable-default-memo"
TITLE = "Mutable default argument used as a memo"
HELP = ("A default argument is evaluated once, when the function is defined; a dict or list "
        "default that the function adds to is a global in disguise and keeps every entry forever.")


def _always_passed(facts, fn, param):
    """Every call of fn in the module passes `param` (by keyword or position), and there is one."""
    index = fn.params.index(param)
    offset = 1 if fn.cls is not None and fn.params[:1] in (["self"], ["cls"]) else 0
    calls = [call for g in facts.functions for name, call in g.calls if name.rsplit(".", 1)[-1] == fn.name]
    calls += [call for name, call in facts.toplevel_calls if name.rsplit(".", 1)[-1] == fn.name]
    return bool(calls) and all(
        any(k.arg == param for k in call.keywords) or len(call.args) > index - offset
        or any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords)
        for call in calls)


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
    """Another function of the module, one that runs per call, calls fn without `param`: the shared
    default is the one that grows (a recursive helper's outside callers start it without)."""
    index = fn.params.index(param)
    offset = 1 if fn.cls is not None and fn.params[:1] in (["self"], ["cls"]) else 0
    for g in facts.functions:
        if g is fn or facts.runs_once(g) or _once_per_instance(g):
            continue
        for name, call in g.calls:
            # A module function by its bare name (`mod.f()` may be another module's f); a method through self or cls.
            if (fn.cls is None and name != fn.name) or (fn.cls is not None and name not in ("self." + fn.name, "cls." + fn.name)):
                continue
            if any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords):
                continue
            if not any(k.arg == param for k in call.keywords) and len(call.args) <= index - offset:
                return True
    return False


def _recursive_calls(fn, node):
    """The calls in `node` of fn itself (`walk(...)`, or `self.walk(...)` in a method)."""
    names = {fn.name} if fn.cls is None else {fn.name, "self." + fn.name, "cls." + fn.name}
    def name_of(f):
        if isinstance(f, ast.Name):
            return f.id
        if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name):
            return f.value.id + "." + f.attr
        return None
    return [n for n in ast.walk(node) if isinstance(n, ast.Call) and name_of(n.func) in names]


def _base_case_only(fn, grow, param):
    """fn recurses, hands every recursive call a value of its own for `param` (a copy, a new list),
    and adds to `param` only in the branch of an `if` whose other branch recurses (the base case):
    the shared default grows only when a call from outside ends at once (a tree whose root is a leaf)."""
    index = fn.params.index(param)
    offset = 1 if fn.cls is not None and fn.params[:1] in (["self"], ["cls"]) else 0
    recursive = _recursive_calls(fn, fn.node)
    if not recursive:
        return False
    for call in recursive:
        given = [k.value for k in call.keywords if k.arg == param]
        if not given and len(call.args) > index - offset:
            given = [call.args[index - offset]]
        if (not given or any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords)
                or (isinstance(given[0], ast.Name) and given[0].id == param)):
            return False
    for stmt in ast.walk(fn.node):
        if not isinstance(stmt, ast.If):
            continue
        for mine, other in ((stmt.body, stmt.orelse), (stmt.orelse, stmt.body)):
            if (any(n is grow for s in mine for n in ast.walk(s)) and not any(_recursive_calls(fn, s) for s in mine)
                    and any(_recursive_calls(fn, s) for s in other)):
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
        weak = WEAK_LIST_DEFAULT if c.kind == "list" and not _left_out(facts, fn, c.name) else None
        if weak is None and all(_base_case_only(g[0], g[1], c.name) for g in grows):
            weak = WEAK_BASE_CASE
        yield node, why, fix, None, None, weak
