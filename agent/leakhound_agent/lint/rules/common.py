"""Small helpers the rules share."""
import ast

from ..facts import dotted, last_name


def where(container):
    """'the module-level list `_seen`' / 'the class attribute `Pool.items`'."""
    kind = {"dict": "dict", "defaultdict": "defaultdict", "list": "list", "set": "set"}.get(container.kind, "container")
    scope = "class attribute" if container.key.startswith("c:") else "module-level %s" % kind
    if container.key.startswith("c:"):
        return "the class attribute `%s` (a %s)" % (container.name, kind)
    return "the %s `%s`" % (scope, container.name)


def managed(container):
    """True when something may bound the container: it is shrunk, re-bound, sized, or escapes."""
    return bool(container.shrinks or container.escapes or container.sized)


def how(node):
    """How a growth node grows its container: 'append', 'setitem', '+='."""
    if isinstance(node, ast.Call):
        return last_name(node.func)
    if isinstance(node, ast.AugAssign):
        return "+="
    return "setitem"


def fn_label(fn):
    if fn.cls is not None:
        return "`%s.%s()`" % (fn.cls.name, fn.name)
    return "`%s()`" % fn.name


def mentions(expr, names=(), calls=(), attrs=()):
    """True when expr uses one of the names, calls one of the callees, or reads one of the attributes."""
    if expr is None:
        return False
    for node in ast.walk(expr):
        if names and isinstance(node, ast.Name) and node.id in names:
            return True
        if calls and isinstance(node, ast.Call) and (dotted(node.func) in calls or last_name(node.func) in calls):
            return True
        if attrs and isinstance(node, ast.Attribute) and node.attr in attrs:
            return True
    return False


def is_exception_value(expr, fn):
    """The value is a caught exception, sys.exc_info() or a traceback, as is or in a tuple/list/dict
    (`repr(e)` or `str(e)` is not: a string keeps no frames)."""
    if expr is None:
        return False
    t = type(expr)
    if t is ast.Name:
        return fn is not None and expr.id in fn.excepts
    if t in (ast.Tuple, ast.List, ast.Set):
        return any(is_exception_value(e, fn) for e in expr.elts)
    if t is ast.Dict:
        return any(is_exception_value(v, fn) for v in expr.values)
    if t is ast.Call:
        return dotted(expr.func) in ("sys.exc_info", "exc_info")
    if t is ast.Attribute:
        return expr.attr in ("__traceback__", "tb_frame")
    return False


def parents(root):
    """child id -> parent node, for one function (only built when a rule needs it)."""
    out = {}
    for node in ast.walk(root):
        for child in ast.iter_child_nodes(node):
            out[id(child)] = node
    return out


def guarded(fn, node):
    """True when node sits under an `if`/`while` (or `try`) inside fn: probably done once, or conditionally."""
    up = parents(fn.node)
    cur = up.get(id(node))
    while cur is not None and cur is not fn.node:
        if isinstance(cur, (ast.If, ast.While, ast.IfExp)):
            return True
        cur = up.get(id(cur))
    return False


def filled_once(fn, node, container):
    """True when the growth sits under `if not C:` (or `if len(C) == 0`): the container is filled once."""
    name = container.name.split(".")[-1]
    up = parents(fn.node)
    cur = up.get(id(node))
    while cur is not None and cur is not fn.node:
        if isinstance(cur, ast.If):
            test = cur.test
            if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not) and _names(test.operand, name):
                return True
            if isinstance(test, ast.Compare) and _names(test.left, name, sized=True) and \
                    isinstance(test.comparators[0], ast.Constant) and test.comparators[0].value == 0:
                return True
        cur = up.get(id(cur))
    return False


def _names(expr, name, sized=False):
    if sized and isinstance(expr, ast.Call) and last_name(expr.func) == "len" and expr.args:
        expr = expr.args[0]
    return (isinstance(expr, ast.Name) and expr.id == name) or (isinstance(expr, ast.Attribute) and expr.attr == name)
