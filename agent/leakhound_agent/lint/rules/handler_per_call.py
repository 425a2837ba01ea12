"""A logging handler or an atexit callback registered inside a function that runs
per call: each call adds one more, and nothing removes them.

Precision first: most registrations run once per process (a command's main, an
application's start-up, a service object made once), and that cannot be told
from the function alone. So a finding stands only with evidence, from any
linted file, that the registering code runs many times: for a constructor, its
class (or a subclass in the same module) is made in a function that runs per
call; for any other function or method, it is called from one (and, for a
method, its class is made in one too). Constructors are no such evidence. And
`atexit.register` is the standard library's only in a file that imports `atexit`."""
import ast

from ..syntax import dotted
from .common import WEAK_SAME_CALLBACK, fn_label, made_many, mentions, open_key
from .guards import guarded, once_per_key

ID = "handler-per-call"
TITLE = "Handler registered on every call"
HELP = ("`logger.addHandler(SomeHandler(...))` or `atexit.register(...)` in a function that runs "
        "per call or per request adds one more handler (and everything it references) each time; "
        "loggers and atexit keep them for the life of the process.")

GET_LOGGER = ("logging.getLogger", "getLogger")
WEAK = ("weakref.ref", "weakref.proxy", "weakref.WeakMethod", "ref", "proxy", "WeakMethod")


def _weak_registration(fn, call, local_calls):
    """`atexit.register(cleanup, weakref.ref(self))`, or a lambda/nested function over a local bound to
    `weakref.ref(self)` that never names `self`: what is registered does not keep the instance."""
    weak = {n for n, callee in local_calls.items() if callee in WEAK}
    cb, rest = call.args[0], list(call.args[1:]) + [k.value for k in call.keywords]
    body = cb
    if isinstance(cb, ast.Name):
        body = next((n for n in fn.node.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == cb.id), None)
    elif not isinstance(cb, ast.Lambda):
        return False  # a bound method (`self.close`) keeps its instance
    if body is not None and mentions(body, names=("self",)):
        return False
    weak_args = any((isinstance(a, ast.Call) and dotted(a.func) in WEAK) or (isinstance(a, ast.Name) and a.id in weak) for a in rest)
    return weak_args or (body is not None and bool(weak) and mentions(body, names=weak))


def _local_calls(fn):
    """Local names of fn bound to a call: name -> callee."""
    out = {}
    for node in ast.walk(fn.node):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            for t in node.targets:
                if isinstance(t, ast.Name):
                    out[t.id] = dotted(node.value.func) or "?"
    return out


def _is_logger(expr, facts, fn, local_calls):
    if isinstance(expr, ast.Call) and dotted(expr.func) in GET_LOGGER:
        return True
    if dotted(expr) in ("logging.root",):
        return True
    if isinstance(expr, ast.Name):
        if expr.id in fn.locals:
            return local_calls.get(expr.id) in GET_LOGGER
        return expr.id in facts.loggers
    return False


CLEARS = ("remove", "clear", "reset", "drop")


def _cleared_before(fn, call):
    """The function hands the same logger to a helper that removes or resets its handlers before it
    adds one (`remove_all_log_handlers(root)`, `reset_logging(logger)`, `drop_handlers(log)`): one handler at a time."""
    logger = call.func.value
    if not isinstance(logger, ast.Name):
        return False
    for name, other in fn.calls:
        if other is call or other.lineno > call.lineno:
            continue
        last = name.rsplit(".", 1)[-1].lower()
        if any(word in last for word in CLEARS) and any(isinstance(a, ast.Name) and a.id == logger.id for a in other.args):
            return True
    return False


def check(facts):
    # Only functions that call one of the two are worth a look (most modules have none).
    candidates = [fn for fn in facts.functions
                  if any(name == "atexit.register" or name.endswith(".addHandler") for name, _ in fn.calls)]
    if not candidates:
        return
    callees = {name for f in facts.functions for name, _ in f.calls} | {n for n, _ in facts.toplevel_calls}
    # Called, or passed on: `self.addCleanup(logger.removeHandler, handler)`.
    removes_handlers = any(n.endswith(".removeHandler") for n in callees) or "handlers" in facts.shrunk_attrs or any(
        isinstance(a, ast.Attribute) and a.attr == "removeHandler" for f in facts.functions for _, call in f.calls for a in call.args)
    unregisters = "atexit.unregister" in callees
    # `atexit` is the standard library's only where the file imports it (a fragment that a build
    # stitches into a module, or a name of the program's own, may be anything).
    stdlib_atexit = any(isinstance(n, ast.Import) and any(a.name == "atexit" and a.asname is None for a in n.names)
                        for n in ast.walk(facts.tree))
    for fn in candidates:
        if facts.runs_once(fn):
            continue
        key = once_per_key(fn)
        if key is not None and not open_key(fn, key):
            continue  # `if _TRACKED.get(event): return` then `_TRACKED[event] = True`: once per kind of event
        local_calls = None
        for name, call in fn.calls:
            if name.endswith(".addHandler") and not removes_handlers and call.args:
                if local_calls is None:
                    local_calls = _local_calls(fn)
                handler = call.args[0]
                fresh = isinstance(handler, ast.Call) or (isinstance(handler, ast.Name) and handler.id in local_calls)
                if not fresh or not _is_logger(call.func.value, facts, fn, local_calls):
                    continue
                if guarded(fn, call) or _cleared_before(fn, call) or any(mentions(n.test, attrs=("handlers",), calls=("hasHandlers",))
                                            for n in ast.walk(fn.node) if isinstance(n, ast.If)):
                    continue
                why = "%s adds a new logging handler on every call and never removes it; the logger keeps all of them (and their streams) for the life of the process." % fn_label(fn)
                fix = "Add the handler once at set-up (module level or guarded by `if not logger.handlers`), or `logger.removeHandler(h)` in a `finally`."
                yield (call, why, fix, None) + made_many(facts, fn)
            elif name == "atexit.register" and stdlib_atexit and not unregisters and call.args:
                if local_calls is None:
                    local_calls = _local_calls(fn)
                if guarded(fn, call) or _weak_registration(fn, call, local_calls):
                    continue
                why = "%s registers an atexit callback on every call; atexit keeps each one, and everything it references, until the process exits." % fn_label(fn)
                fix = "Register once at module level (or behind a module-level flag), or `atexit.unregister(cb)` when the object is closed."
                cb = call.args[0]
                # `atexit.register(kill)`: a function of the module (it acts on the module's globals), no arguments.
                same = len(call.args) == 1 and not call.keywords and isinstance(cb, ast.Name) and cb.id not in fn.locals \
                    and any(g.name == cb.id and g.parent is None and g.cls is None for g in facts.functions)
                yield call, why, fix, None, next(iter(made_many(facts, fn)), None), WEAK_SAME_CALLBACK if same else None
