"""A `weakref.WeakKeyDictionary` whose value refers to its own key (`meta[obj] = (obj.name, obj)`,
`cache[req] = Entry(req)`, `hooks[w] = lambda: w.close()`): the dictionary holds the value strongly, the value
holds the key, so the key never dies and its entry never goes. The weak keys hold nothing weakly,
and every object ever stored stays with its value.

Only values that certainly refer to the key are reported: the key itself, a tuple, list, set or dict
literal that holds it, a lambda that uses it, or a class called
with it (`Entry(obj)`: a constructor keeps what it is given, as a rule), directly or through a local
the function bound to one of those. Not reported: the key passed to a weak reference
(`weakref.ref(obj)`, `WeakMethod`, `proxy`). Like the other rules, a finding needs evidence that the
function runs many times (new keys keep coming)."""
import ast

from .common import fn_label, made_many

ID = "weak-key-kept"
TITLE = "Weak-keyed value refers to its key"
HELP = ("A `WeakKeyDictionary` drops an entry when its key dies, but a value that refers to its own key "
        "keeps the key alive: the entry never goes, and the dictionary keeps every object ever stored.")

WEAK_KEY = "WeakKeyDictionary"


def _is_weak_key_dict(expr):
    if not isinstance(expr, ast.Call):
        return False
    f = expr.func
    return (isinstance(f, ast.Name) and f.id == WEAK_KEY) or (isinstance(f, ast.Attribute) and f.attr == WEAK_KEY)


def _weak_dicts(tree):
    """(module names, {class name: attribute names}) bound to a WeakKeyDictionary: at module level,
    in a class body, or through `self.NAME = ...` in a method."""
    module, by_class = set(), {}
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and _is_weak_key_dict(stmt.value):
            module.update(t.id for t in stmt.targets if isinstance(t, ast.Name))
        elif isinstance(stmt, ast.AnnAssign) and _is_weak_key_dict(stmt.value) and isinstance(stmt.target, ast.Name):
            module.add(stmt.target.id)
    for cls in ast.walk(tree):
        if not isinstance(cls, ast.ClassDef):
            continue
        attrs = set()
        for node in ast.walk(cls):
            if isinstance(node, ast.Assign) and _is_weak_key_dict(node.value):
                for t in node.targets:
                    if isinstance(t, ast.Name) and node in cls.body:
                        attrs.add(t.id)
                    elif isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id == "self":
                        attrs.add(t.attr)
        if attrs:
            by_class[cls.name] = attrs
    return module, by_class


def _target_dict(fn, expr, module, by_class):
    """The weak dictionary's name when expr is one (`META`, `self._meta`, `Cls._meta`), else None."""
    if isinstance(expr, ast.Name) and expr.id in module and expr.id not in fn.locals:
        return expr.id
    if isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name) and fn.cls is not None:
        owner, cls = expr.value.id, fn.cls.name
        if (owner in ("self", "cls") or owner == cls) and expr.attr in by_class.get(cls, ()):
            return "%s.%s" % (cls, expr.attr) if owner != "self" else "self." + expr.attr
    return None


def _weak_call(call):
    name = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
    return name in ("ref", "proxy", "finalize") or name.startswith("Weak")


def _refers(expr, key, bound):
    """Whether the value certainly refers to the object named `key` (see the module's doc); `bound`:
    locals of the function already known to refer to it."""
    if isinstance(expr, ast.Name):
        return expr.id == key or expr.id in bound
    if isinstance(expr, (ast.Tuple, ast.List, ast.Set)):
        return any(_refers(e, key, bound) for e in expr.elts)
    if isinstance(expr, ast.Dict):
        return any(v is not None and _refers(v, key, bound) for v in expr.values)
    if isinstance(expr, ast.Lambda):
        return any(isinstance(n, ast.Name) and n.id == key for n in ast.walk(expr.body))
    if isinstance(expr, ast.Call) and not _weak_call(expr):
        name = expr.func.attr if isinstance(expr.func, ast.Attribute) else getattr(expr.func, "id", "")
        if name[:1].isupper() or name == "partial":
            args = list(expr.args) + [k.value for k in expr.keywords]
            return any(isinstance(a, ast.Name) and (a.id == key or a.id in bound) for a in args)
    return False


def _stores(fn, module, by_class):
    """(node, dictionary name, key name, value) for each `D[k] = v` / `D.setdefault(k, v)` into a weak dict."""
    for node in ast.walk(fn.node):
        if isinstance(node, ast.Assign):
            for t in node.targets:
                if isinstance(t, ast.Subscript) and isinstance(t.ctx, ast.Store):
                    name = _target_dict(fn, t.value, module, by_class)
                    key = t.slice.value if isinstance(t.slice, ast.Index) else t.slice  # ast.Index up to 3.8
                    if name and isinstance(key, ast.Name):
                        yield t, name, key.id, node.value
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "setdefault" \
                and len(node.args) == 2 and isinstance(node.args[0], ast.Name):
            name = _target_dict(fn, node.func.value, module, by_class)
            if name:
                yield node, name, node.args[0].id, node.args[1]


def _bound_to_key(fn, key, before):
    """Locals assigned, before line `before`, a value that refers to `key` (`entry = Entry(obj)`)."""
    bound = set()
    assigns = sorted((n for n in ast.walk(fn.node) if isinstance(n, ast.Assign) and n.lineno < before), key=lambda n: n.lineno)
    for n in assigns:
        if _refers(n.value, key, bound):
            bound.update(t.id for t in n.targets if isinstance(t, ast.Name))
    return bound


def check(facts):
    module, by_class = _weak_dicts(facts.tree)
    if not module and not by_class:
        return
    for fn in facts.functions:
        if facts.runs_once(fn):
            continue
        for node, name, key, value in _stores(fn, module, by_class):
            if key == "self" or not _refers(value, key, _bound_to_key(fn, key, node.lineno)):
                continue
            why = ("%s stores in the WeakKeyDictionary `%s` a value that refers to its own key `%s`: the value keeps "
                   "the key alive, so the entry never goes and the dictionary keeps every object stored in it." % (
                       fn_label(fn), name, key))
            fix = ("Keep only what `%s` does not own in the value, or refer to it weakly there (`weakref.ref(%s)`); "
                   "data that belongs to the object can live on the object itself." % (key, key))
            needs = made_many(facts, fn)
            yield node, why, fix, name.split(".")[-1], (needs[0] if needs else None), None
            break
