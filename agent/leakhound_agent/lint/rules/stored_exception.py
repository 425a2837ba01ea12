"""A caught exception, `sys.exc_info()` or a traceback stored in a module-level or
class-level container, or in a module global: its traceback holds every frame of
the stack it was raised through, with all their local variables."""
import ast

from .common import WEAK_LAST_ONE, fn_label, is_exception_value, where
from .global_container_growth import evidence

ID = "stored-exception"
TITLE = "Stored exception keeps frames alive"
HELP = ("An exception's traceback references every frame it passed through and each frame's "
        "locals; storing exceptions (or `sys.exc_info()`) in a long-lived container keeps all of "
        "that memory alive.")


def _global_assignments(facts):
    """(fn, Assign) for `global X; X = <exception>` in an except block, and the globals ever reset."""
    stored, reset = [], set()
    for fn in facts.functions:
        if not fn.declares_global:
            continue
        for node in ast.walk(fn.node):
            if isinstance(node, ast.Assign):
                for t in node.targets:
                    if isinstance(t, ast.Name) and t.id in fn.globals:
                        if is_exception_value(node.value, fn):
                            stored.append((fn, node, t.id))
                        else:
                            reset.add(t.id)
            elif isinstance(node, ast.Delete):
                reset.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return [(fn, node, name) for fn, node, name in stored if name not in reset]


def _raised_from(facts):
    """The names of the containers the module raises an exception of (`raise _THREAD_EXCEPTIONS[0]`):
    threads collect them for the main thread, which stops at the first it finds."""
    out = set()
    for n in ast.walk(facts.tree):
        if isinstance(n, ast.Raise) and isinstance(n.exc, ast.Subscript):
            v = n.exc.value
            out.add(v.id if isinstance(v, ast.Name) else v.attr if isinstance(v, ast.Attribute) else None)
    return out


def check(facts):
    raised = None
    for c in facts.containers.values():
        if c.key[0] not in "gc" or c.shrinks or c.escapes:
            continue
        for fn, node, key, value in c.grows:
            if fn is None or not is_exception_value(value, fn):
                continue
            raised = _raised_from(facts) if raised is None else raised
            if c.name.split(".")[-1] in raised:
                break
            why = "%s stores exceptions (with their tracebacks) in %s and never removes them, which keeps every frame they were raised through, and its locals, alive." % (
                fn_label(fn), where(c))
            fix = "Store what you need instead (`repr(e)`, `traceback.format_exception(e)`), or `e.with_traceback(None)`, and bound the container."
            # As for any container: only with evidence that the code runs many times (a spider's callback
            # in a class that one command makes for its one URL keeps one exception).
            needs = evidence(facts, fn)
            yield node, why, fix, c.name, needs[0] if needs else None
            break
    for fn, node, name in _global_assignments(facts):
        why = "%s keeps the last exception in the global `%s`, which holds its traceback, every frame of that stack and their locals until the next one replaces it." % (
            fn_label(fn), name)
        fix = "Keep `repr(e)` or `traceback.format_exception(...)` instead, or reset `%s = None` once it has been handled." % name
        yield node, why, fix, None, None, WEAK_LAST_ONE
