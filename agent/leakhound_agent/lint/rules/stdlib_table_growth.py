"""Tables of the standard library that keep what a function hands them on every call:

- `sys.path.append(d)` / `insert` / `extend` (each call adds the directory again, and every import then
  searches it), not under a condition (`if d not in sys.path:`) and with no `sys.path.remove` (nor the
  saved list put back, `sys.path = saved`) in the module;
- `warnings.filterwarnings(...)` / `simplefilter(...)` with a message or module made per call (the
  filter list drops an identical filter before it adds one, so only a changing argument grows it),
  outside `with warnings.catch_warnings():` (which restores the list);
- `sys.modules[name] = module` for a module the function made (`types.ModuleType`,
  `importlib.util.module_from_spec`) under a name that is no constant, not under a condition, and
  nothing in the module deletes one;
- a module-level `contextlib.ExitStack` that a function pushes a callback or context on
  (`callback`, `enter_context`, `push`) while nothing in the module closes it (`close`, `pop_all`).

These are the leaks the runtime names `sys-path`, `warnings-filters`, `sys-modules` and `exit-stack`.
As for handler-per-call, a finding needs evidence that the function runs many times."""
import ast

from ..syntax import dotted
from .common import WEAK_GUI, fn_label, gui_module, made_many
from .guards import guarded, parents

ID = "stdlib-table-growth"
TITLE = "Standard-library table grows on every call"
HELP = ("`sys.path`, `warnings.filters`, `sys.modules` and a long-lived `ExitStack` keep what they are "
        "given for the life of the process: a function that adds to them on every call (a directory, a "
        "filter with a changing message, a module under a new name, a cleanup) grows them without bound.")

PATH_GROW = ("sys.path.append", "sys.path.insert", "sys.path.extend")
FILTERS = ("warnings.filterwarnings", "warnings.simplefilter")
STACK_PUSH = ("callback", "enter_context", "push", "push_async_callback", "enter_async_context", "push_async_exit")
STACK_END = ("close", "pop_all", "aclose")


def _constant(expr):
    """A literal, or a name (a category class, a module-level constant): the same value on every call."""
    return expr is None or isinstance(expr, (ast.Constant, ast.Name, ast.Attribute))


def _changing_filter(call):
    """filterwarnings(action, message, category, module, lineno) with a message or module made per call
    (an f-string, `%`, `.format()`, `re.escape(...)`: text built from values)."""
    named = {k.arg: k.value for k in call.keywords}
    message = call.args[1] if len(call.args) > 1 else named.get("message")
    module = call.args[3] if len(call.args) > 3 else named.get("module")
    return not (_constant(message) and _constant(module))


def _in_catch_warnings(fn, node):
    up = parents(fn.node)
    cur = up.get(id(node))
    while cur is not None and cur is not fn.node:
        if isinstance(cur, (ast.With, ast.AsyncWith)) and any(
                isinstance(i.context_expr, ast.Call) and (dotted(i.context_expr.func) or "").endswith("catch_warnings")
                for i in cur.items):
            return True
        cur = up.get(id(cur))
    return False


def _exit_stacks(tree):
    """Module-level names bound to `ExitStack()` / `AsyncExitStack()`."""
    out = set()
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Call) and \
                (dotted(stmt.value.func) or "").rsplit(".", 1)[-1] in ("ExitStack", "AsyncExitStack"):
            out.update(t.id for t in stmt.targets if isinstance(t, ast.Name))
    return out


MODULE_MAKERS = ("ModuleType", "module_from_spec", "new_module")


def _bound_to(fn, name, test):
    """Whether every assignment to the local `name` in fn binds a value `test` accepts (and there is one)."""
    values = [n.value for n in ast.walk(fn.node) if isinstance(n, ast.Assign)
              and any(isinstance(t, ast.Name) and t.id == name for t in n.targets)]
    return bool(values) and all(map(test, values))


def _sys_modules_stores(fn):
    """`sys.modules[name] = module` not under a condition, with a module the function made
    (`types.ModuleType(...)`, `importlib.util.module_from_spec(...)`) under a name that is no constant
    (nor a local bound only to one)."""
    def made(expr):
        return isinstance(expr, ast.Call) and (dotted(expr.func) or "").rsplit(".", 1)[-1] in MODULE_MAKERS

    for node in ast.walk(fn.node):
        if not isinstance(node, ast.Assign):
            continue
        for t in node.targets:
            if not (isinstance(t, ast.Subscript) and dotted(t.value) == "sys.modules"):
                continue
            key = t.slice.value if t.slice.__class__.__name__ == "Index" else t.slice
            if isinstance(key, ast.Constant) or (isinstance(key, ast.Name) and _bound_to(fn, key.id, lambda v: isinstance(v, ast.Constant))):
                continue
            value = node.value
            if not (made(value) or isinstance(value, ast.Name) and _bound_to(fn, value.id, made)):
                continue
            if not guarded(fn, node):
                yield t


def check(facts):
    callees = {name for f in facts.functions for name, _ in f.calls} | {n for n, _ in facts.toplevel_calls}
    # Taken out, or the saved list put back (`sys.path = saved` or `sys.path[:] = saved` in a `finally`).
    removes_path = bool({"sys.path.remove", "sys.path.pop", "sys.path.clear"} & callees) or any(
        isinstance(n, (ast.Delete, ast.Assign)) and any(
            dotted(t) == "sys.path" or isinstance(t, ast.Subscript) and dotted(t.value) == "sys.path" for t in n.targets)
        for n in ast.walk(facts.tree))
    drops_modules = "sys.modules.pop" in callees or any(
        isinstance(n, ast.Delete) and any(isinstance(t, ast.Subscript) and dotted(t.value) == "sys.modules" for t in n.targets)
        for n in ast.walk(facts.tree))
    stacks = _exit_stacks(facts.tree)
    stacks -= {name.split(".")[0] for name in callees if name.count(".") == 1 and name.split(".")[1] in STACK_END}
    for fn in facts.functions:
        if facts.runs_once(fn):
            continue
        found = None
        for name, call in fn.calls:
            if name in PATH_GROW and not removes_path and not guarded(fn, call):
                found = (call, "%s adds to `sys.path` on every call and nothing takes the entry out: the list grows by one "
                         "directory per call, and every later import searches all of them." % fn_label(fn),
                         "Add the directory once (at import, or `if d not in sys.path:`), or `sys.path.remove(d)` in a "
                         "`finally`; `importlib.util.spec_from_file_location` loads one module without touching `sys.path`.")
            elif name in FILTERS and _changing_filter(call) and not _in_catch_warnings(fn, call):
                found = (call, "%s adds a warnings filter whose message or module changes with each call: `warnings.filters` "
                         "keeps every one, and each warning is matched against all of them." % fn_label(fn),
                         "Add the filter once at start-up with a pattern (`message=r\"request \\d+\"`), or wrap the call in "
                         "`with warnings.catch_warnings():`, which restores the filters.")
            elif name.count(".") == 1 and name.split(".")[0] in stacks and name.split(".")[1] in STACK_PUSH \
                    and name.split(".")[0] not in fn.locals:
                found = (call, "%s pushes onto the module-level ExitStack `%s` on every call, and nothing closes it: each "
                         "callback and what it refers to waits for the end of the program." % (fn_label(fn), name.split(".")[0]),
                         "Use a fresh `with ExitStack() as stack:` per call or unit of work, or close what a unit pushed "
                         "when it ends (`stack.pop_all().close()`).")
            if found:
                break
        if found is None and not drops_modules:
            store = next(_sys_modules_stores(fn), None)
            if store is not None:
                found = (store, "%s puts a module into `sys.modules` under a name made per call, and nothing deletes one: "
                         "the interpreter keeps every such module, with everything it holds." % fn_label(fn),
                         "Reuse one module per source (look it up first), or `del sys.modules[name]` when it is done.")
        if found:
            # A desktop program's module: its functions run when a person acts (loads a file, picks a plug-in).
            weak = WEAK_GUI if gui_module(facts, games=False) else None
            yield found + (None, next(iter(made_many(facts, fn)), None), weak)
