"""One pass over a module's AST that gathers what every rule needs.

The facts are about *containers* (module-level and class-level dicts, lists,
sets, deques; threading.local attributes; mutable default arguments) and how
each function uses them: grows them, shrinks them, reads them, or lets them
escape (passes them on, returns them, aliases them: then someone else may
manage them, and the rules stay silent). Plus the calls some rules look for
(addHandler, atexit.register, gc.disable, ...). Which functions run once (at
import, as decorators, registration helpers) rather than per call is runs.py's
part, event loops are loops.py's, and reading expressions is syntax.py's.
"""
import ast

from .loops import module_loop_nodes
from .percall import GAME_MODULES, GUI_MODULES
from .runs import CALLABLE_PARAMS, RunFacts
from .syntax import (CHILD_FUNCTIONS, as_load, assign_parts, children, children_of, container_kind, dotted,
                     is_thread_local, last_name, subscript_key, testing_branch)

GROW = {"append", "extend", "insert", "add", "update", "setdefault", "appendleft", "extendleft"}
SHRINK = {"pop", "popitem", "remove", "discard", "clear", "popleft", "difference_update",
          "intersection_update", "symmetric_difference_update", "__delitem__"}
# Calls that only read their argument (or, for len, show that someone checks the size).
READERS = {"len", "sorted", "list", "tuple", "set", "frozenset", "iter", "any", "all", "bool",
           "repr", "str", "min", "max", "sum", "enumerate", "reversed", "isinstance", "print",
           "next", "zip", "map", "filter", "id", "hash", "type", "dict"}


# Node classes the walk handles itself; every other class only has its children visited. In a scope
# where nothing can name a container, reads, loops, tests and deletions need nothing either.
_HANDLED = {"Name", "Constant", "JoinedStr", "Attribute", "Call", "FunctionDef", "AsyncFunctionDef", "ClassDef",
            "Assign", "AnnAssign", "AugAssign", "Subscript", "Global", "Return", "Compare", "For", "AsyncFor",
            "comprehension", "Delete", "If", "While", "IfExp", "Assert", "UnaryOp", "BoolOp", "Import", "ImportFrom"}
_USES_ONLY = {"Compare", "For", "AsyncFor", "comprehension", "Delete", "If", "While", "IfExp", "Assert", "UnaryOp", "BoolOp"}
_ALL_NODES = [c for c in vars(ast).values() if isinstance(c, type) and issubclass(c, ast.AST)]
_PLAIN = frozenset(c for c in _ALL_NODES if c.__name__ not in _HANDLED)
_PLAIN_DEAD = frozenset(c for c in _ALL_NODES if c.__name__ not in _HANDLED or c.__name__ in _USES_ONLY)


class Container:
    """A module-level or class-level container, or a mutable default argument."""

    __slots__ = ("key", "name", "kind", "node", "grows", "shrinks", "reads", "escapes", "sized")

    def __init__(self, key, name, kind, node):
        self.key = key
        self.name = name
        self.kind = kind
        self.node = node
        self.grows = []  # (Function, how, node, key_expr, value_expr)
        self.shrinks = []
        self.reads = []  # (Function, key_expr or None, line)
        self.escapes = []
        self.sized = False  # len() taken somewhere: someone checks its size


_NO_LOOPS = {}  # shared, never written: a function with no `while`
_NO_STREAMS = frozenset()  # a function with no `async for`


class Function:
    __slots__ = ("node", "name", "cls", "parent", "params", "_locals", "_globals", "decorators",
                 "returns_param", "returned", "calls", "nested", "_excepts", "declares_global", "mutable_defaults", "defaulted", "_stored", "_loops", "_streams", "_path_args",
                 "_imported", "_dropped", "_lazily", "desktop")

    def __init__(self, node, cls, parent):
        self.node = node
        self.name = node.name
        self.cls = cls
        self.parent = parent
        a = node.args
        params = list(getattr(a, "posonlyargs", [])) + list(a.args) + list(a.kwonlyargs)
        params += [p for p in (a.vararg, a.kwarg) if p is not None]
        self.params = [p.arg for p in params]
        self._locals = None  # computed on first use: most functions never need them
        self._globals = None
        self._excepts = None
        self._stored = None
        self._imported = None
        self._dropped = None  # see runs.py, _dropped
        self._lazily = None  # see runs.py, _lazily_made
        self._path_args = None  # see rules/common.py, _path_text
        self.desktop = False  # its module imports a desktop GUI toolkit (see percall.gui_callback)
        # function_loop's table and event_loop_call's set: none until the walk meets a `while` or an
        # `async for` in the function (then built on first use; most functions have neither)
        self._loops = _NO_LOOPS
        self._streams = _NO_STREAMS
        self.nested = set()  # names of functions and classes defined directly inside
        self.declares_global = False  # has a `global` statement
        positional = list(getattr(a, "posonlyargs", [])) + list(a.args)
        pairs = list(zip(positional[len(positional) - len(a.defaults):], a.defaults))
        pairs += [(p, d) for p, d in zip(a.kwonlyargs, a.kw_defaults) if d is not None]
        self.mutable_defaults = {p.arg: d for p, d in pairs if container_kind(d)}
        self.defaulted = frozenset(p.arg for p, _ in pairs)  # parameters with a default
        self.decorators = [last_name(d) for d in node.decorator_list]
        self.returns_param = False
        self.returned = set()  # names returned (`return wrapper`)
        self.calls = []  # (dotted callee, Call node)

    @property
    def locals(self):
        """Names the function binds (so a global of the same name is not the global there)."""
        if self._locals is None:
            self._scan()
        return self._locals

    @property
    def globals(self):
        if self._globals is None:
            self._scan()
        return self._globals

    @property
    def excepts(self):
        """Names bound by `except ... as NAME`."""
        if self._excepts is None:
            self._scan()
        return self._excepts

    @property
    def stored(self):
        """Names the function assigns to (parameters re-bound included)."""
        if self._stored is None:
            self._scan()
        return self._stored

    @property
    def imported(self):
        """Names the function binds by an import of its own (`from . import jobs`)."""
        if self._imported is None:
            self._scan()
        return self._imported

    def _scan(self):
        local, glob, excepts, stored, imported = set(self.params) | self.nested, set(), set(), set(), set()
        stack = list(self.node.body)
        while stack:
            node = stack.pop()
            t = type(node)
            if t is ast.Global or t is ast.Nonlocal:
                glob.update(node.names)
            elif t is ast.Name and not isinstance(node.ctx, ast.Load):
                local.add(node.id)
                stored.add(node.id)
            elif t is ast.alias:
                local.add((node.asname or node.name).split(".")[0])
                imported.add((node.asname or node.name).split(".")[0])
            elif t is ast.ExceptHandler and node.name:
                local.add(node.name)
                excepts.add(node.name)
            if t is ast.FunctionDef or t is ast.AsyncFunctionDef or t is ast.ClassDef or t is ast.Lambda:
                continue
            children(node, stack)
        self._locals = local - glob
        self._globals = glob
        self._excepts = excepts
        self._stored = stored
        self._imported = imported


# Bases whose subclasses copy an annotated attribute's default into each instance (pydantic's
# models and settings, SQLModel, msgspec's structs), and the modules they come from.
MODEL_BASES = frozenset(("BaseModel", "BaseSettings", "RootModel", "GenericModel", "SQLModel", "Struct"))
MODEL_MODULES = frozenset(("pydantic", "pydantic_settings", "sqlmodel", "msgspec", "beanie", "odmantic"))


def _unpacked(targets):
    """The targets of an assignment with each tuple or list of them (`a, (b, *c) = ...`) spread out."""
    out = []
    for t in targets:
        while isinstance(t, ast.Starred):
            t = t.value
        if isinstance(t, (ast.Tuple, ast.List)):
            out.extend(_unpacked(t.elts))
        else:
            out.append(t)
    return out


def _toolkits(node):
    """The GUI toolkits (and game libraries) an import names (see ModuleFacts.toolkits)."""
    names = [a.name for a in node.names] if node.__class__ is ast.Import else \
        [node.module] if node.module and not node.level else []
    return {n.split(".")[0] for n in names if n.split(".")[0] in GUI_MODULES}


class ModuleFacts(RunFacts):
    def __init__(self, tree, filename=None):
        self.filename = filename
        self.tree = tree
        self.containers = {}  # key -> Container
        self.globals = {}  # module name -> key
        self.class_attrs = {}  # class name -> {attr: key}
        self.instance_attrs = {}  # class name -> attrs assigned through self
        self.thread_locals = set()
        self.loggers = set()  # module names bound to logging.getLogger(...)
        self.classes = {}  # name -> ClassDef
        self.functions = []
        self.function_imports = set()  # names bound by an import inside a function (`from . import jobs`)
        # The GUI toolkits (and game libraries) the module imports anywhere: at its top, in a `try` there
        # (`try: from PyQt5 import QtCore` / `except ImportError: from PyQt4 import QtCore`), or in a
        # function (a wx plug-in's `def OnGenEvents(self, event): import wx`).
        self.toolkits = set()
        self.module_calls = set()  # function names called at import time or used as decorators
        self.shrunk_attrs = set()  # attribute names shrunk anywhere: obj.NAME.clear(), del obj.NAME[k]
        self._trimmed_elsewhere = {}  # NAME -> a trim through another object: `self.server.NAME.pop(k)`
        self.toplevel_calls = []  # (dotted callee, Call node) outside functions
        # The last names of what a module-level event loop (`while True:` at module level or under
        # `if __name__ == "__main__":`) calls: once per iteration, not once per process.
        self.loop_calls = set()  # as written (`cfg.read_file`)
        self.loop_nodes = module_loop_nodes(tree)  # id of every node inside one -> its `while`
        self.instances = {}  # class name -> number of `Cls(...)` calls in the module
        self.module_instances = {}  # class name -> number of those at module level
        self.instance_sites = {}  # class name -> (function or None at import time, Call) for each `Cls(...)`
        self._collect_module()
        # Only thread-locals and class-level containers can be reached through an attribute.
        self._attr_containers = bool(self.thread_locals) or any(k[0] in "ci" for k in self.containers)
        self._walk(tree.body, None, None)
        self.desktop = bool(self.toolkits - GAME_MODULES)  # a desktop program's module
        for fn in self.functions:
            fn.desktop = self.desktop
        # An object's container trimmed through another object of the module (a worker's
        # `self.server.workers.pop(uid)`): maybe this very container, so it may be emptied.
        for key, c in self.containers.items():
            if key[0] == "i" and c.name.rsplit(".", 1)[-1] in self._trimmed_elsewhere:
                c.shrinks.append((None, self._trimmed_elsewhere[c.name.rsplit(".", 1)[-1]]))

    # ---- module and class level -------------------------------------------------
    def _collect_module(self):
        names = self.module_names = set()  # every name bound at module level
        self.defined = set()  # functions and classes defined at module level
        self.imported_modules = {}  # a module-level import's name -> the module it stands for (`a.b`, `.models.x`)
        self.imported_from = {}  # a name imported with `from M import name` -> M
        for stmt in self.tree.body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(stmt.name)
                self.defined.add(stmt.name)
            elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
                names.update((a.asname or a.name).split(".")[0] for a in stmt.names)
                self._collect_import(stmt)
            else:
                names.update(t.id for t in assign_parts(stmt)[0] if isinstance(t, ast.Name))
            self._module_binding(stmt)
            if isinstance(stmt, ast.ClassDef):
                self._collect_class(stmt)

    def _collect_import(self, stmt):
        if isinstance(stmt, ast.Import):
            for a in stmt.names:
                self.imported_modules[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
            return
        base = "." * stmt.level + (stmt.module or "")
        for a in stmt.names:
            if a.name == "*":
                continue
            alias = a.asname or a.name
            self.imported_from[alias] = base
            self.imported_modules[alias] = base + a.name if base.endswith(".") else base + "." + a.name

    def _module_binding(self, stmt):
        targets, value = assign_parts(stmt)
        for t in targets:
            if not isinstance(t, ast.Name):
                continue
            kind = container_kind(value)
            if kind:
                key = "g:" + t.id
                self.containers[key] = Container(key, t.id, kind, stmt)
                self.globals[t.id] = key
            elif is_thread_local(value):
                self.thread_locals.add(t.id)
            elif isinstance(value, ast.Call) and dotted(value.func) in ("logging.getLogger", "getLogger"):
                self.loggers.add(t.id)
            elif t.id in self.globals:  # re-bound at module level to something else
                del self.containers[self.globals.pop(t.id)]

    def _copies_defaults(self, cls, seen=()):
        """A pydantic model (a `BaseModel`, `SQLModel`, msgspec `Struct`, through any chain of the
        module's own classes): an annotated class attribute declares a field, and each instance gets
        its own copy of the default (`messages: list[str] = []`). A base imported from the project
        into a module that imports pydantic is taken as such a model."""
        models = any(m.lstrip(".").split(".")[0] in MODEL_MODULES for m in self.imported_from.values())
        for b in cls.bases:
            name = last_name(b)
            head = (dotted(b) or "").split(".")[0]
            if name in MODEL_BASES or head in MODEL_MODULES or self.imported_from.get(name, "").split(".")[0] in MODEL_MODULES:
                return True
            base = self.classes.get(name)
            if base is not None and base is not cls and name not in seen and self._copies_defaults(base, seen + (name,)):
                return True
            if base is None and models and name in self.imported_from:
                return True
        return False

    def _collect_class(self, cls):
        self.classes[cls.name] = cls
        attrs = self.class_attrs.setdefault(cls.name, {})
        fields = self._copies_defaults(cls)
        for stmt in cls.body:
            if fields and isinstance(stmt, ast.AnnAssign) and "ClassVar" not in (dotted(stmt.annotation) or ast.dump(stmt.annotation)):
                continue  # a model's field: each instance's own copy
            targets, value = assign_parts(stmt)
            kind = container_kind(value)
            for t in targets:
                if isinstance(t, ast.Name) and kind:
                    key = "c:%s.%s" % (cls.name, t.id)
                    self.containers[key] = Container(key, "%s.%s" % (cls.name, t.id), kind, stmt)
                    attrs[t.id] = key
        # The instance's own containers: `self.NAME = {}` in the constructor (its first such statement;
        # any other assignment to self.NAME re-binds it). Rules that follow them (singleton-container-growth)
        # decide whether the instance lives long.
        for stmt in cls.body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) and stmt.name == "__init__":
                todo = list(stmt.body)
                while todo:
                    node = todo.pop(0)
                    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
                        continue
                    targets, value = assign_parts(node)
                    kind = container_kind(value) if targets else None
                    for t in targets:
                        if kind and isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id == "self":
                            key = "i:%s.%s" % (cls.name, t.attr)
                            if key not in self.containers:
                                self.containers[key] = Container(key, "%s.%s" % (cls.name, t.attr), kind, node)
                    if not targets:
                        todo.extend(c for c in ast.iter_child_nodes(node) if isinstance(c, ast.stmt))
        # A method that runs the constructor again (`def reset(self): Engine.__init__(self)`, or
        # `self.__init__()`) re-binds every container the constructor made: each may be emptied.
        for stmt in cls.body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) and stmt.name != "__init__":
                for n in ast.walk(stmt):
                    if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "__init__" and (
                            isinstance(n.func.value, ast.Name) and (n.func.value.id == "self" or n.func.value.id == cls.name
                                                                    and n.args and isinstance(n.args[0], ast.Name) and n.args[0].id == "self")):
                        prefix = "i:%s." % cls.name
                        for key, c in self.containers.items():
                            if key.startswith(prefix):
                                c.shrinks.append((None, n))
                        break

    def _instance_attrs(self, cls_name):
        """Attributes a class assigns through `self` (then `self.x` is the instance's, not the class's)."""
        inst = self.instance_attrs.get(cls_name)
        if inst is None:
            inst = self.instance_attrs[cls_name] = set()
            for node in ast.walk(self.classes[cls_name]):
                if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store) and \
                        isinstance(node.value, ast.Name) and node.value.id == "self":
                    inst.add(node.attr)
        return inst

    # ---- the walk -----------------------------------------------------------------
    def _walk(self, body, fn, cls):
        """Walks statements of one scope (module, class body or function) in order."""
        stack = list(body)  # visit order does not matter: a parent is always seen before its children
        consumed = set()
        names = self.globals
        kids = CHILD_FUNCTIONS
        # Nothing in this scope can name a container: no module-level or class-level ones, no mutable
        # default of this function. Then only calls, assignments, deletions and the scope's shape matter.
        live = bool(names or self._attr_containers or fn is not None and fn.mutable_defaults)
        attrs = self._attr_containers
        plain = _PLAIN if live else _PLAIN_DEAD
        Name, Constant, JoinedStr, Attribute, Call, Load = ast.Name, ast.Constant, ast.JoinedStr, ast.Attribute, ast.Call, ast.Load
        FunctionDef, AsyncFunctionDef, ClassDef, Subscript = ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Subscript
        Del, Global, Return = ast.Del, ast.Global, ast.Return
        While, AsyncFor = ast.While, ast.AsyncFor
        pop, push = stack.pop, stack.append
        while stack:
            node = pop()
            t = node.__class__
            if t is Name:  # the most common node: a leaf; only a container's name matters
                if live and (node.id in names or fn is not None and fn.mutable_defaults) and id(node) not in consumed \
                        and node.ctx.__class__ is Load:
                    c = self.resolve(node, fn)
                    if c is not None:
                        c.escapes.append((fn, node))
                continue
            if (t is While or t is AsyncFor) and fn is not None:  # see Function._loops
                if t is While:
                    fn._loops = None
                else:
                    fn._streams = None
            if t in plain:  # nothing to note here: on to the children
                (kids.get(t) or children_of(t))(node, stack)
                continue
            if t is Constant or t is JoinedStr:  # f-strings only read what they format
                continue
            if t is Attribute:
                if attrs and id(node) not in consumed:
                    c = self.resolve(node, fn)
                    if c is not None and node.ctx.__class__ is Load:
                        c.escapes.append((fn, node))
                        continue
                push(node.value)
                continue
            if t is Call:
                self._call(node, fn, cls, consumed)
            elif t is FunctionDef or t is AsyncFunctionDef:
                for d in node.decorator_list:
                    n = last_name(d)
                    if n:
                        self.module_calls.add(n)
                    push(d)
                stack.extend(node.args.defaults)
                stack.extend(d for d in node.args.kw_defaults if d is not None)
                if fn is not None:
                    fn.nested.add(node.name)
                child = Function(node, cls if fn is None else None, fn)
                self.functions.append(child)
                self._walk(node.body, child, None)
                continue
            elif t is ClassDef:
                if fn is not None:
                    fn.nested.add(node.name)
                stack.extend(node.bases)
                stack.extend(node.decorator_list)
                self._walk(node.body, fn, node)
                continue
            elif t is ast.Assign or t is ast.AnnAssign or t is ast.AugAssign:
                self._assign(node, fn, consumed)
            elif t is Subscript:
                if not live:
                    if node.ctx.__class__ is Del:
                        self._shrunk_name(node.value)
                elif id(node) not in consumed:
                    self._subscript(node, fn, consumed)
            elif t is ast.Import or t is ast.ImportFrom:
                self.toolkits |= _toolkits(node)
                if fn is not None:
                    self.function_imports.update((a.asname or a.name).split(".")[0] for a in node.names)
                    self._collect_import(node)
            elif t is Global:
                if fn is not None:
                    fn.declares_global = True
            elif t is Return:
                if fn is not None and node.value.__class__ is Name:
                    if node.value.id in CALLABLE_PARAMS and node.value.id in fn.params:
                        fn.returns_param = True  # `def register(func): REGISTRY.append(func); return func`: a decorator
                    else:
                        fn.returned.add(node.value.id)  # `return wrapper`: a decorator if it takes a function
            elif t is ast.Compare:
                for op, right in zip(node.ops, node.comparators):
                    if type(op) in (ast.In, ast.NotIn):
                        self._use(right, fn, consumed, "read", node, key=node.left)
            elif t is ast.For or t is ast.AsyncFor or t is ast.comprehension:
                self._use(node.iter, fn, consumed, "read", node)
            elif t is ast.Delete:
                for target in node.targets:
                    self._use(target, fn, consumed, "shrink", node)
            elif t is ast.If or t is ast.While or t is ast.IfExp or t is ast.Assert:
                self._use(node.test, fn, consumed, "read", node)
                # `if app.testing: SENT.append(mail)`: a hook for the tests, run only under a test suite.
                if t is ast.If:
                    branch = testing_branch(node.test)
                    if branch is not None:
                        push(node.test)
                        stack.extend(node.orelse if branch == "body" else node.body)
                        continue
            elif t is ast.UnaryOp or t is ast.BoolOp:
                for v in ([node.operand] if t is ast.UnaryOp else node.values):
                    self._use(v, fn, consumed, "read", node)
            (kids.get(t) or children_of(t))(node, stack)

    # ---- resolving an expression to a container ----------------------------------------
    def resolve(self, node, fn):
        t = type(node)
        if not self._attr_containers and not self.globals and (fn is None or not fn.mutable_defaults):
            return None  # nothing in this module (or function) can be a container
        if t is ast.Name:
            key = self.globals.get(node.id)
            if key is None:
                if fn is not None and fn.mutable_defaults:
                    key = self._default_key(fn, node.id)
                return self.containers.get(key) if key else None
            if fn is not None and node.id in fn.locals:
                return None
            return self.containers.get(key)
        if t is ast.Attribute and self._attr_containers and isinstance(node.value, ast.Name):
            owner = node.value.id
            if owner in self.thread_locals and (fn is None or owner not in fn.locals):
                key = "t:%s.%s" % (owner, node.attr)
                if key not in self.containers:
                    self.containers[key] = Container(key, key[2:], "threadlocal", node)
                return self.containers[key]
            cls = None
            if owner in self.class_attrs and (fn is None or owner not in fn.locals):
                cls = owner
            elif owner in ("self", "cls") and fn is not None:
                method = fn
                while method is not None and method.cls is None:
                    method = method.parent
                if method is not None:
                    cls = method.cls.name
                    if cls not in self.classes:
                        return None
                    if owner == "self":
                        c = self._instance_container(cls, node.attr)
                        if c is not None:
                            return c
            if cls is not None:
                key = self.class_attrs.get(cls, {}).get(node.attr)
                if key and owner == "self" and node.attr in self._instance_attrs(cls):
                    return None
                return self.containers.get(key) if key else None
        return None

    def _instance_container(self, cls, attr, seen=()):
        """The container `self.ATTR` is in a method of `cls`: the class's own, or else one that a base
        defined in the module makes (a subclass's method that drains its base's list trims it)."""
        c = self.containers.get("i:%s.%s" % (cls, attr))
        if c is not None or attr in self._instance_attrs(cls):
            return c
        for b in self.classes[cls].bases:
            base = last_name(b)
            if base in self.classes and base not in seen and base != cls:
                c = self._instance_container(base, attr, seen + (cls,))
                if c is not None:
                    return c
        return None

    def _thread_local_getattr(self, call, fn):
        """For `getattr(_local, "name", default)` on a module-level threading.local, the attribute it
        reads (`_local.name`), else None."""
        if not self.thread_locals or not (isinstance(call.func, ast.Name) and call.func.id == "getattr") or len(call.args) < 2:
            return None
        owner, name = call.args[0], call.args[1]
        if isinstance(owner, ast.Name) and owner.id in self.thread_locals and isinstance(name, ast.Constant) \
                and isinstance(name.value, str) and (fn is None or owner.id not in fn.locals):
            return ast.Attribute(value=owner, attr=name.value, ctx=ast.Load(), lineno=call.lineno, col_offset=call.col_offset)
        return None

    def _default_key(self, fn, name):
        """Key of a mutable default argument of fn named `name` (made on first use)."""
        default = fn.mutable_defaults.get(name)
        if default is None:
            return None
        key = "d:%d:%s" % (id(fn.node), name)
        if key not in self.containers:
            self.containers[key] = Container(key, name, container_kind(default), default)
        return key

    def _use(self, expr, fn, consumed, how, node, key=None, value=None):
        t = expr.__class__
        if t is ast.Call:
            expr = self._thread_local_getattr(expr, fn)  # `getattr(_local, "seen", set()).discard(k)`
            if expr is None:
                return None
        elif t is not ast.Name and t is not ast.Attribute:
            return None  # only a name or an attribute can be a container (see resolve)
        c = self.resolve(expr, fn)
        if c is None:
            return None
        consumed.add(id(expr))
        if how == "grow":
            c.grows.append((fn, node, key, value))
        elif how == "shrink":
            c.shrinks.append((fn, node))
        elif how == "read":
            c.reads.append((fn, key, getattr(node, "lineno", 0)))
        return c

    def _call(self, node, fn, cls, consumed):
        func = node.func
        name = dotted(func)
        if fn is None and id(node) in self.loop_nodes:
            if name:
                self.loop_calls.add(name)
        elif fn is None and isinstance(func, ast.Name):
            self.module_calls.add(func.id)
        if fn is None and name:
            self.toplevel_calls.append((name, node))
        if isinstance(func, ast.Name) and func.id in self.classes:
            self.instances[func.id] = self.instances.get(func.id, 0) + 1
            self.instance_sites.setdefault(func.id, []).append((fn, node))
            if fn is None and cls is None:
                self.module_instances[func.id] = self.module_instances.get(func.id, 0) + 1
        if name is None and isinstance(func, ast.Attribute):
            if isinstance(func.value, ast.Call) and isinstance(func.value.func, ast.Name) and func.value.func.id == "super":
                name = "super()." + func.attr  # a base class's method (runs.evidence_names)
            else:
                name = "?." + func.attr  # a method of a call's result: getLogger(x).addHandler
        if fn is not None and name:
            fn.calls.append((name, node))
        if isinstance(func, ast.Attribute):
            m = func.attr
            if m in SHRINK:
                self._shrunk_name(func.value)
            if m in GROW:
                key = node.args[0] if node.args and m in ("setdefault",) else None
                value = node.args[-1] if node.args else None
                c = self._use(func.value, fn, consumed, "grow", node, key=key, value=value)
                if c is not None and m == "setdefault":
                    c.reads.append((fn, key, node.lineno))
            elif m in SHRINK:
                self._use(func.value, fn, consumed, "shrink", node)
            elif m == "get":
                self._use(func.value, fn, consumed, "read", node, key=node.args[0] if node.args else None)
            else:
                self._use(func.value, fn, consumed, "read", node)
            if isinstance(func.value, ast.Subscript):  # D[k].append(x): D grows if it is a defaultdict
                c = self.resolve(func.value.value, fn)
                if c is not None and c.kind == "defaultdict" and m in GROW:
                    consumed.add(id(func.value.value))
                    consumed.add(id(func.value))
                    c.grows.append((fn, node, subscript_key(func.value), None))
        elif isinstance(func, ast.Name) and func.id in READERS:
            for arg in node.args:
                c = self._use(arg, fn, consumed, "read", node)
                if c is not None and func.id == "len":
                    c.sized = True

    def _subscript(self, node, fn, consumed):
        ctx = type(node.ctx)
        sl = subscript_key(node)
        if ctx is ast.Store:
            c = self.resolve(node.value, fn)
            if isinstance(sl, ast.Slice):
                self._use(node.value, fn, consumed, "shrink", node)
            elif c is not None and c.kind == "list":  # L[i] = x replaces, it does not grow
                self._use(node.value, fn, consumed, "read", node)
            else:
                self._use(node.value, fn, consumed, "grow", node, key=sl)
        elif ctx is ast.Del:
            self._use(node.value, fn, consumed, "shrink", node)
            self._shrunk_name(node.value)
        else:
            self._use(node.value, fn, consumed, "read", node, key=sl)

    def _assign(self, node, fn, consumed):
        t = type(node)
        targets = node.targets if t is ast.Assign else [node.target]
        if t is ast.Assign:  # `self.shown, self.hidden = [], []`: each name of an unpacking is re-bound too
            targets = _unpacked(targets)
        for target in targets:
            if isinstance(target, ast.Subscript) and t is ast.AugAssign:
                c = self.resolve(target.value, fn)
                if c is not None:
                    consumed.add(id(target.value))
                    if c.kind != "list":  # L[i] += 1 replaces an item
                        c.grows.append((fn, node, subscript_key(target), node.value))
                    consumed.add(id(target))
                continue
            if not isinstance(target, (ast.Name, ast.Attribute)):
                continue
            if isinstance(target, ast.Attribute) and fn is not None and t is ast.Assign:
                self.shrunk_attrs.add(target.attr)
            if isinstance(target, ast.Name) and fn is None and id(node) in self.loop_nodes and t is ast.Assign:
                c = self.resolve(as_load(target), fn)
                if c is not None:  # re-bound on a turn of a module-level event loop: a reset
                    c.shrinks.append((fn, node))
                    consumed.add(id(target))
                continue
            if isinstance(target, ast.Name) and (fn is None or target.id not in self.globals or target.id not in fn.globals):
                continue  # a local, or the module-level definition itself
            if t is ast.AugAssign:
                how = "grow" if type(node.op) in (ast.Add, ast.BitOr) else "shrink"
                self._use(target, fn, consumed, how, node, value=node.value)
            else:
                # Assigning a fresh value in a function re-binds (resets) the container.
                c = self.resolve(as_load(target), fn)
                if c is not None and c.node is node and c.key[0] == "i":
                    consumed.add(id(target))  # the constructor's `self.NAME = {}` that makes it
                elif c is not None:
                    c.shrinks.append((fn, node))
                    consumed.add(id(target))

    def _shrunk_name(self, node):
        """Remembers NAME of `NAME.clear()` / `obj.NAME.pop()`: another file may define NAME."""
        if isinstance(node, ast.Attribute):
            self.shrunk_attrs.add(node.attr)
            if not (isinstance(node.value, ast.Name) and node.value.id == "self"):
                self._trimmed_elsewhere.setdefault(node.attr, node)
        elif isinstance(node, ast.Name):
            self.shrunk_attrs.add(node.id)
