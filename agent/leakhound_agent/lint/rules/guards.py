"""What bounds a growth inside its own function: the guard it sits under (`if not C:`, `if x not in
C:`, `if k in C:`), the early return that makes it run once, the index it fills up to."""
import ast

from ..facts import GROW
from ..syntax import assign_parts, last_name, subscript_key


def parents(root):
    """child id -> parent node, for one function (only built when a rule needs it)."""
    out = {}
    for node in ast.walk(root):
        for child in ast.iter_child_nodes(node):
            out[id(child)] = node
    return out


def stored_value(node, fn, value):
    """What a growth stores: the given value, or for `C[k] = v` the assignment's value."""
    if value is None and isinstance(node, ast.Subscript):
        up = parents(fn.node).get(id(node))
        value = up.value if isinstance(up, ast.Assign) else None
    return value


def guarded(fn, node):
    """True when node sits under an `if`/`while`, or in an `except` clause (`try: return _models[key]
    except KeyError: ...`: fill on a miss), inside fn: probably done once, or conditionally."""
    up = parents(fn.node)
    cur = up.get(id(node))
    while cur is not None and cur is not fn.node:
        if isinstance(cur, (ast.If, ast.While, ast.IfExp, ast.ExceptHandler)):
            return True
        cur = up.get(id(cur))
    return False


def filled_once(fn, node, container):
    """True when the growth sits under `if not C:` (or `if len(C) == 0`, `if C == []`, or `if not GLOBAL:`), or the
    function returns early once C has something (`if C: return`, `try: return C[0]`): filled once."""
    name = container.name.split(".")[-1]
    filled = None
    for stmt in fn.node.body:
        if isinstance(stmt, ast.If) and _has_entries(stmt.test, name) and any(isinstance(b, ast.Return) for b in stmt.body):
            return True
        # `if self.function_names: return`, then a loop that fills it and C: one guard for both; or
        # `if pw.browser is not None: return pw`, then `pw.browser = launch()`: a lazy initialiser.
        if isinstance(stmt, ast.If) and any(isinstance(b, ast.Return) for b in stmt.body):
            filled = _filled_names(fn) | _set_state(fn) if filled is None else filled
            if _state_test(stmt.test, filled):
                return True
        if isinstance(stmt, ast.Try) and any(isinstance(b, ast.Return) and isinstance(b.value, ast.Subscript)
                                             and _names(b.value.value, name) and _constant_index(b.value) for b in stmt.body):
            return True
    up = parents(fn.node)
    cur = up.get(id(node))
    while cur is not None and cur is not fn.node:
        if isinstance(cur, ast.If):
            test = cur.test
            # `if x and not C:`, `if len(other) == 0 and len(C) == 0:`: C is empty whenever it grows
            tests = test.values if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And) else [test]
            if any(_empty_test(t, name, fn) for t in tests) or _flag_spent(cur, fn):
                return True
        cur = up.get(id(cur))
    return False


# Names a test of C's own may use beside C (`if data and isinstance(data, list): return data`).
_OWN_TESTS = frozenset(("isinstance", "len", "list", "dict", "tuple", "set", "bool"))


def _has_entries(test, name):
    """`C`, or `C and isinstance(C, list)`: a test that C has something, and of nothing but C."""
    if _names(test, name):
        return True
    return isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And) and any(_names(v, name) for v in test.values) \
        and all(n.id == name or n.id in _OWN_TESTS for v in test.values for n in ast.walk(v) if isinstance(n, ast.Name))


def filled_when_empty(facts, fn, container):
    """fn is private to its module (`_get_authors`), and every call of it there (`self._get_authors(msg)`
    in a method of its class, `_load()` in a module function; one at least) sits in the body of an
    `if not C:` (or `len(C) == 0`) of the container it grows: it fills C once, whatever it is handed."""
    if not fn.name.startswith("_") or fn.name.startswith("__") or fn.parent is not None:
        return False
    name = container.name.split(".")[-1]
    target = "self." + fn.name if fn.cls is not None else fn.name
    sites = 0
    for g in facts.functions:
        up = None  # g's parents, built once g calls fn
        for callee, call in g.calls:
            if callee != target:
                continue
            if fn.cls is not None and g.cls is not fn.cls:
                return False
            sites += 1
            up = up or parents(g.node)
            child, cur = call, up.get(id(call))
            while cur is not None and cur is not g.node:
                if isinstance(cur, ast.If) and child in cur.body:
                    tests = cur.test.values if isinstance(cur.test, ast.BoolOp) and isinstance(cur.test.op, ast.And) else [cur.test]
                    if any(_empty_test(t, name, g) and _mentions(t, name) for t in tests):
                        break
                child, cur = cur, up.get(id(cur))
            else:
                return False
    return sites > 0


def _mentions(test, name):
    return any(_names(n, name) for n in ast.walk(test))


def _flag_spent(guard, fn):
    """`if _populate: ...; _populate = False` (a global, or `self.pending`): the block runs while a flag
    is set and clears it, so once (once per setting of the flag)."""
    test = guard.test
    if isinstance(test, ast.Name):
        if test.id in fn.locals:
            return False
    elif not (isinstance(test, ast.Attribute) and isinstance(test.value, ast.Name) and test.value.id == "self"):
        return False
    dump = ast.dump(ast.Name(id=test.id, ctx=ast.Store()) if isinstance(test, ast.Name) else
                    ast.Attribute(value=test.value, attr=test.attr, ctx=ast.Store()))
    return any(isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Constant) and not stmt.value.value
               and any(ast.dump(t) == dump for t in stmt.targets) for stmt in guard.body)


def _slot(expr, name):
    """`C[0]`: a fixed slot of C (a memo's sentinel, `cache=[None]`)."""
    return isinstance(expr, ast.Subscript) and _names(expr.value, name) and _constant_index(expr)


def _empty_test(test, name, fn):
    """`not C`, `not _table` (a global: filled once, lazily), `len(C) == 0`, `C == []`; or C's fixed
    slot still unset (`if cache[0] is None:`, `if not cache[0]:`)."""
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return _names(test.operand, name) or _slot(test.operand, name) or \
            isinstance(test.operand, ast.Name) and test.operand.id not in fn.locals
    if isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], (ast.Is, ast.Eq)) and \
            _slot(test.left, name) and isinstance(test.comparators[0], ast.Constant) and test.comparators[0].value is None:
        return True
    if isinstance(test, ast.Compare) and _names(test.left, name, sized=True) and \
            isinstance(test.comparators[0], ast.Constant) and test.comparators[0].value == 0:
        return True
    return isinstance(test, ast.Compare) and isinstance(test.ops[0], ast.Eq) and _names(test.left, name) and \
        _empty_literal(test.comparators[0])


def _set_state(fn):
    """The attributes the function assigns (`pw.browser = ...`, `self._client = ...`) and the globals it
    declares and assigns: state that, once set, its guard reads."""
    declared = {name for n in ast.walk(fn.node) if isinstance(n, ast.Global) for name in n.names}
    out = set()
    for n in ast.walk(fn.node):
        for t in assign_parts(n)[0] if isinstance(n, (ast.Assign, ast.AnnAssign)) else ():
            if isinstance(t, ast.Attribute):
                out.add(t.attr)
            elif isinstance(t, ast.Name) and t.id in declared:
                out.add(t.id)
    return out


def _state_test(test, names):
    """The test holds once one of the names is set: `X`, `len(X)`, `X is not None`, or an `and` of
    such tests and `hasattr(obj, "X")` (never a comparison of values: a throttle's `now - last < 5`)."""
    if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And):
        return all(_state_test(v, names) or isinstance(v, ast.Call) and last_name(v.func) == "hasattr" and len(v.args) == 2
                   and isinstance(v.args[1], ast.Constant) and v.args[1].value in names for v in test.values)
    if isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.IsNot) and \
            isinstance(test.comparators[0], ast.Constant) and test.comparators[0].value is None:
        test = test.left
    return any(_names(test, name, sized=True) for name in names)


def _filled_names(fn):
    """The names (`x`, or the attribute of `self.x`) of the containers the function grows with a method
    call (`self.names.append(n)`, `seen.add(k)`) or a store under a key (`table[k] = v`)."""
    out = set()
    for n in ast.walk(fn.node):
        target = None
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr in GROW:
            target = n.func.value
        elif isinstance(n, ast.Subscript) and isinstance(n.ctx, ast.Store):
            target = n.value
        if isinstance(target, ast.Name):
            out.add(target.id)
        elif isinstance(target, ast.Attribute):
            out.add(target.attr)
    return out


def filled_to_index(fn, node, container):
    """The growth sits under a `while`/`if` that compares the container's length with an order test
    (`while n >= len(C): C.append(...)`): a sequence memo filled up to the largest index asked for,
    bounded by that number, not by the data."""
    name = container.name.split(".")[-1]
    up = parents(fn.node)
    cur = up.get(id(node))
    while cur is not None and cur is not fn.node:
        if isinstance(cur, (ast.While, ast.If)):
            for cmp in ast.walk(cur.test):
                if isinstance(cmp, ast.Compare) and any(isinstance(o, (ast.Lt, ast.LtE, ast.Gt, ast.GtE)) for o in cmp.ops) \
                        and any(_names(x, name, sized=True) and isinstance(x, ast.Call) for x in [cmp.left] + cmp.comparators):
                    return True
        cur = up.get(id(cur))
    return False


def _empty_literal(expr):
    return isinstance(expr, (ast.List, ast.Tuple, ast.Set)) and not expr.elts or isinstance(expr, ast.Dict) and not expr.keys


def _constant_index(sub):
    key = sub.slice.value if sub.slice.__class__.__name__ == "Index" else sub.slice
    return isinstance(key, ast.Constant)


def _names(expr, name, sized=False):
    if sized and isinstance(expr, ast.Call) and last_name(expr.func) == "len" and expr.args:
        expr = expr.args[0]
    return (isinstance(expr, ast.Name) and expr.id == name) or (isinstance(expr, ast.Attribute) and expr.attr == name)


def deduplicated(fn, node, container):
    """`if x not in C: C.append(x)`, `if x in C: continue` (or return, break, raise) before it, or
    `if x in C: ... else: C.append(x)`: C grows only by distinct values, as a set would."""
    name = container.name.split(".")[-1]
    up = parents(fn.node)
    cur, child = up.get(id(node)), node
    while cur is not None and cur is not fn.node:
        if isinstance(cur, ast.If) and _membership(cur.test, name, ast.NotIn) and child in cur.body:
            return True
        if isinstance(cur, ast.If) and _membership(cur.test, name, ast.In) and child in cur.orelse:
            return True
        cur, child = up.get(id(cur)), cur
    # An earlier `if x in C: continue` in a block that holds the growth.
    for n in ast.walk(fn.node):
        if isinstance(n, ast.If) and n.lineno < node.lineno and _membership(n.test, name, ast.In) and n.body \
                and isinstance(n.body[-1], (ast.Continue, ast.Return, ast.Break, ast.Raise)) and _same_block(up, n, node):
            return True
    return _picked_against(fn, node, name) or _searched_first(fn, up, node, name)


def _searched_first(fn, up, node, name):
    """`for r in C: if r.pin == pin: return r` before `C.append(Relay(pin))`: a get-or-create that
    walks C for an entry matching what it was asked for and hands that back, so C grows only by
    entries it did not have, one per distinct key."""
    for loop in ast.walk(fn.node):
        if not (isinstance(loop, ast.For) and loop.lineno < node.lineno and isinstance(loop.target, ast.Name)
                and _names(loop.iter, name) and _same_block(up, loop, node)):
            continue
        item = loop.target.id
        if any(isinstance(n, ast.If) and _mentions(n.test, item) and n.body and isinstance(n.body[-1], ast.Return)
               for b in loop.body for n in ast.walk(b)):
            return True
    return False


def _picked_against(fn, node, name):
    """`t = self.select_type(kinds, C)` then `C.append(t)`: the value added was picked by a call that
    was handed C itself (an exclusion list), so it is one C does not have yet."""
    if not (isinstance(node, ast.Call) and len(node.args) == 1 and isinstance(node.args[0], ast.Name)):
        return False
    added = node.args[0].id
    for n in ast.walk(fn.node):
        if isinstance(n, ast.Assign) and n.lineno < node.lineno and isinstance(n.value, ast.Call) \
                and any(isinstance(t, ast.Name) and t.id == added for t in n.targets):
            handed = list(n.value.args) + [k.value for k in n.value.keywords]
            if any(isinstance(a, ast.Name) and a.id == name for a in handed):
                return True
    return False


def _membership(test, name, op):
    """`x in C` / `x not in C` (op: ast.In or ast.NotIn), alone or as one side of an `and` (not in)
    or an `or` (in): either way the growth happens only for values C does not have yet."""
    joined = ast.And if op is ast.NotIn else ast.Or
    tests = test.values if isinstance(test, ast.BoolOp) and isinstance(test.op, joined) else [test]
    tests = [_negated(t) for t in tests]
    return any(isinstance(t, ast.Compare) and any(isinstance(o, op) for o in t.ops)
               and any(_names(c, name) or _keys_of(c, name) for c in t.comparators) or op is ast.NotIn and _counted_absent(t, name)
               for t in tests)


def _keys_of(expr, name):
    """`[o[0] for o in C]` (or a set or generator of them): what C's entries are keyed by, so
    `if k not in [o[0] for o in C]: C.append((k, v))` adds each key once."""
    return isinstance(expr, (ast.ListComp, ast.SetComp, ast.GeneratorExp)) and len(expr.generators) == 1 \
        and _names(expr.generators[0].iter, name)


def _negated(test):
    """`not x in C` as `x not in C`, `not x not in C` as `x in C`; any other test as it is."""
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not) and isinstance(test.operand, ast.Compare) \
            and len(test.operand.ops) == 1 and isinstance(test.operand.ops[0], (ast.In, ast.NotIn)):
        c = test.operand
        return ast.Compare(left=c.left, ops=[ast.NotIn() if isinstance(c.ops[0], ast.In) else ast.In()], comparators=c.comparators)
    return test


def _counted_absent(test, name):
    """`C.count(x) < 1`, `C.count(x) == 0`, `not C.count(x)`: x is not in C yet."""
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return _count_of(test.operand, name)
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and _count_of(test.left, name)):
        return False
    op, right = test.ops[0], test.comparators[0]
    if not (isinstance(right, ast.Constant) and type(right.value) is int):
        return False
    return isinstance(op, ast.Lt) and right.value == 1 or isinstance(op, (ast.Eq, ast.LtE)) and right.value == 0


def _count_of(expr, name):
    return isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and expr.func.attr == "count" \
        and _names(expr.func.value, name) and len(expr.args) == 1


def _same_block(up, guard, node):
    """The guard's parent encloses the growth: what the guard skips includes it."""
    parent = up.get(id(guard))
    cur = up.get(id(node))
    while cur is not None:
        if cur is parent:
            return True
        cur = up.get(id(cur))
    return False


def _absent_test(test, name, dump):
    """`K not in C`, `C.get(K) is None`, `C.get(K, None) is None`, `not C.get(K)`: C lacks the key K."""
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        test = ast.Compare(left=test.operand, ops=[ast.Is()], comparators=[ast.Constant(value=None)])
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1):
        return False
    left, op, right = test.left, test.ops[0], test.comparators[0]
    if isinstance(op, ast.NotIn):
        return _names(right, name) and ast.dump(left) == dump
    if isinstance(op, (ast.Is, ast.Eq)) and isinstance(right, ast.Constant) and right.value is None:
        return isinstance(left, ast.Call) and isinstance(left.func, ast.Attribute) and left.func.attr == "get" \
            and _names(left.func.value, name) and bool(left.args) and ast.dump(left.args[0]) == dump
    return False


def _exits_when_absent(fn, node, name, dump):
    """A statement of the function's body before the store leaves it when C lacks K
    (`if K not in C: raise KeyError(K)`, `if C.get(K) is None: return None`)."""
    for stmt in fn.node.body:
        if stmt.lineno >= node.lineno:
            return False
        if isinstance(stmt, ast.If) and not stmt.orelse and stmt.body and isinstance(stmt.body[-1], (ast.Raise, ast.Return)) \
                and _absent_test(stmt.test, name, dump):
            return True
    return False


def key_present(fn, node, c, key):
    """The store replaces an entry: it sits in the body of `if K in C:` or in the `else` of
    `if K not in C:` (an `elif` chain included), or comes after the function left when C lacked the
    key (`if C.get(K) is None: raise ...`), so C already holds the key."""
    if key is None:
        return False
    name, dump = c.name.split(".")[-1], ast.dump(key)
    if _exits_when_absent(fn, node, name, dump):
        return True
    up = parents(fn.node)
    child, cur = node, up.get(id(node))
    while cur is not None and cur is not fn.node:
        if isinstance(cur, ast.If) and isinstance(cur.test, ast.Compare) and len(cur.test.ops) == 1 and \
                _names(cur.test.comparators[0], name) and ast.dump(cur.test.left) == dump:
            inside = any(child is b for b in cur.body)
            if inside if isinstance(cur.test.ops[0], ast.In) else (isinstance(cur.test.ops[0], ast.NotIn) and any(child is b for b in cur.orelse)):
                return True
        child, cur = cur, up.get(id(cur))
    return False


# A call that writes a message to a log or a warning: `logger.warning(...)`, `log.info(...)`,
# `warnings.warn(...)`, a module's own `log(level, msg)`.
LOG_METHODS = frozenset(("debug", "info", "warning", "warn", "error", "critical", "exception", "fatal", "log"))


def _logs(name):
    parts = name.split(".")
    if parts[-1] not in LOG_METHODS:
        return False
    return len(parts) == 1 or parts[0] in ("warnings", "logging") or "log" in parts[-2].lower()


def logged_once(fn, node, container):
    """A table of what was already logged: the function skips what the table has (`if msg in SENT:
    return`, also through an entry taken from it, `sent = SENT.setdefault(msg, [])` then `if args in
    sent: return`), records it, and logs or warns. One entry per distinct message, and a program's
    messages are as many as its code writes, as a rule (a `log_once`, a deprecation warned once)."""
    if _keeps_records(fn, node):
        return False
    name = container.name.split(".")[-1]
    names = {name}
    for n in ast.walk(fn.node):  # locals taken from the table
        targets, value = assign_parts(n)
        if value is not None and any(isinstance(x, ast.Name) and x.id == name or isinstance(x, ast.Attribute) and x.attr == name
                                     for x in ast.walk(value)):
            names.update(t.id for t in targets if isinstance(t, ast.Name))
    tests = [n for n in ast.walk(fn.node) if isinstance(n, ast.If) and any(_membership(n.test, x, op) for x in names for op in (ast.In, ast.NotIn))]
    if not tests or not (deduplicated(fn, node, container) or any(
            n.body and isinstance(n.body[-1], (ast.Return, ast.Continue)) for n in tests)):
        return False
    first = min(n.lineno for n in tests)
    return any(_logs(called) and call.lineno > first for called, call in fn.calls)


def _keeps_records(fn, node):
    """The entry is a record of what the function was handed (`SEEN[task.id] = [message, task,
    artifacts]`), not a mark that something was logged (`WARNED[msg] = True`, `SENT.add(msg)`): a
    display of values, not all of them constants."""
    value = stored_value(node, fn, None)
    items = value.elts if isinstance(value, (ast.List, ast.Tuple, ast.Set)) else \
        value.values if isinstance(value, ast.Dict) else ()
    return any(not isinstance(x, ast.Constant) for x in items)


def once_per_key(fn):
    """The key of `if T.get(k): return` (or `if k in T: return`) at the top of the function, for a table
    T it then stores under k (`T[k] = True`): what follows runs once per distinct key. None if none."""
    for stmt in fn.node.body:
        if not (isinstance(stmt, ast.If) and stmt.body and isinstance(stmt.body[-1], ast.Return)):
            continue
        test, key, table = stmt.test, None, None
        if isinstance(test, ast.Call) and isinstance(test.func, ast.Attribute) and test.func.attr == "get" and test.args:
            key, table = test.args[0], test.func.value
        elif isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.In):
            key, table = test.left, test.comparators[0]
        if key is None or not isinstance(table, (ast.Name, ast.Attribute)):
            continue
        name = table.id if isinstance(table, ast.Name) else table.attr
        dump = ast.dump(key)
        for n in ast.walk(fn.node):
            if isinstance(n, ast.Subscript) and isinstance(n.ctx, ast.Store) and _names(n.value, name) and ast.dump(subscript_key(n)) == dump:
                return key
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "add" and _names(n.func.value, name) \
                    and n.args and ast.dump(n.args[0]) == dump:
                return key
    return None
