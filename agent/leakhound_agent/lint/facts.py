"""One pass over a module's AST that gathers what every rule needs.

The facts are about *containers* (module-level and class-level dicts, lists,
sets, deques; threading.local attributes; mutable default arguments) and how
each function uses them: grows them, shrinks them, reads them, or lets them
escape (passes them on, returns them, aliases them: then someone else may
manage them, and the rules stay silent). Plus the calls some rules look for
(addHandler, atexit.register, gc.disable, ...) and which functions run once
(at import, as decorators, registration helpers) rather than per call.
"""
import ast
import re

# Parameters that say a function handles one request, event or message: it runs per call by its shape.
PER_CALL_PARAMS = re.compile(r"^(req|request|environ|event|evt|message|msg|packet|frame|conn|connection)$")
# Of those, a connection is a client's (one per call) unless the function runs queries on it: then it is
# a database's, which a program opens once as often as per call (sample AR: a schema wipe's `conn`).
CONNECTION_PARAMS = {"conn", "connection"}
DATABASE_CALLS = re.compile(r"^(execute\w*|cursor|commit|rollback|fetch\w*|begin|transaction|run_sync|scalars?|"
                            r"copy_\w+|_in_transaction|atomic)$")

DICT_TYPES = {"dict", "defaultdict", "OrderedDict", "Counter"}
LIST_TYPES = {"list", "deque"}
SET_TYPES = {"set"}
WEAK_TYPES = {"WeakKeyDictionary", "WeakValueDictionary", "WeakSet"}

GROW = {"append", "extend", "insert", "add", "update", "setdefault", "appendleft", "extendleft"}
SHRINK = {"pop", "popitem", "remove", "discard", "clear", "popleft", "difference_update",
          "intersection_update", "symmetric_difference_update", "__delitem__"}
# Calls that only read their argument (or, for len, show that someone checks the size).
READERS = {"len", "sorted", "list", "tuple", "set", "frozenset", "iter", "any", "all", "bool",
           "repr", "str", "min", "max", "sum", "enumerate", "reversed", "isinstance", "print",
           "next", "zip", "map", "filter", "id", "hash", "type", "dict"}
# Calls whose value is new on every call: a key made of one never repeats.
EVER_NEW = {"id", "object", "time", "monotonic", "perf_counter", "time_ns", "monotonic_ns",
            "uuid1", "uuid4", "random", "getrandbits", "urandom", "count", "current_thread",
            "get_ident"}
# Of those, the builtins and `itertools.count` are what they say only when called by that name, not as
# a method of something else (`test.id()`, `text.count("a")`).
EVER_NEW_BARE = {"id": ("id",), "object": ("object",), "count": ("count", "itertools.count")}
# Functions that run a bounded number of times: registration and set-up helpers.
ONCE_NAME = re.compile(r"regist|Regist|^_?add_|^_?[aA]dd[A-Z]|install|^_?setup|^_?init|^_?load|populate|subscribe|"
                       r"^_?hook|bootstrap|configure|initiali[sz]e|(^|_)(pre|post|before|after)_?fork(_|$)|^_?prepare|^_?patch|^_?main$|^__init_subclass__$|"
                       r"^__set_name__$|^__class_getitem__$|^_?make_|^_?build_|^_?create_|^_?define|"
                       r"^setUpClass$|^setUpModule$|^tearDownClass$|^tearDownModule$|"
                       r"^_?watch_|^_?declare|"
                       # start-up and entry points: once per process (or per object started)
                       r"^_?(do_|on_)?start(up)?$|startup|^_?start_(?!element|tag)|(^|_)main(_|$)|"
                       r"command_?line|cmdline|(^|_)cli(_|$)|(^|_)run_server$|"
                       # switching a feature on, going into the background: set-up, once per process
                       r"^_?enable_|daemoni[sz]e")
# A test: `test_*()` at module level or `test*()` in a class named like a test case (runs once per test run).
TEST_NAME = re.compile(r"^test")
TEST_CLASS = re.compile(r"Test")
# Decorators that run the function once (per key): `@_logged_cached(...)`, `@memoize`, `@run_once`.
ONCE_DECORATOR_NAME = re.compile(r"(?i)cache|memo|once")
# Parameter names of decorators that register what they decorate.
CALLABLE_PARAMS = {"fn", "func", "f", "function", "cls", "klass", "kls", "callback", "cb", "handler", "method",
                   "meth", "wrapped", "decorated", "obj", "c", "target", "view", "hook", "plugin"}
# The constructor and what Python calls once per instance.
PER_INSTANCE = {"__init__", "__new__", "__post_init__"}
# "request:NAME": NAME is called or made by a function that handles a request, event or message.
REQUEST = "request:"
# Calls that run a program's main loop (return when the program ends) or end the process.
MAIN_LOOPS = {"cmdloop", "serve_forever", "run_forever", "mainloop", "loop_forever", "exec_"}
EXITS = {"sys.exit", "os._exit", "os.execv", "os.execve", "os.execvp", "os.execvpe", "os.execl", "os.execlp"}
ONCE_DECORATORS = {"lru_cache", "cache", "cached_property", "once", "run_once", "contextmanager",
                   "setup", "fixture", "pytest_fixture"}


_AST = ast.AST
# Fields that never hold a node worth visiting: contexts (Load/Store), operators, constants.
_SKIP_FIELDS = {"ctx", "op", "ops", "type_comment", "kind", "value_kind"}
# Fields that only ever hold strings, numbers or None (per class; the rest are checked as they come).
_PRIMITIVE = {"Name": {"id"}, "Attribute": {"attr"}, "FunctionDef": {"name"}, "AsyncFunctionDef": {"name"},
              "ClassDef": {"name"}, "alias": {"name", "asname"}, "arg": {"arg"}, "keyword": {"arg"},
              "ImportFrom": {"module", "level"}, "ExceptHandler": {"name"}, "FormattedValue": {"conversion"},
              "AnnAssign": {"simple"}, "comprehension": {"is_async"}, "Constant": {"value"}}
# List fields that may hold None or strings besides nodes.
_MIXED = {"keys", "kw_defaults", "kwd_attrs", "names"}
_CHILDREN = {}
# Node classes the walk handles itself; every other class only has its children visited. In a scope
# where nothing can name a container, reads, loops, tests and deletions need nothing either.
_HANDLED = {"Name", "Constant", "JoinedStr", "Attribute", "Call", "FunctionDef", "AsyncFunctionDef", "ClassDef",
            "Assign", "AnnAssign", "AugAssign", "Subscript", "Global", "Return", "Compare", "For", "AsyncFor",
            "comprehension", "Delete", "If", "While", "IfExp", "Assert", "UnaryOp", "BoolOp"}
_USES_ONLY = {"Compare", "For", "AsyncFor", "comprehension", "Delete", "If", "While", "IfExp", "Assert", "UnaryOp", "BoolOp"}
_ALL_NODES = [c for c in vars(ast).values() if isinstance(c, type) and issubclass(c, ast.AST)]
_PLAIN = frozenset(c for c in _ALL_NODES if c.__name__ not in _HANDLED)
_PLAIN_DEAD = frozenset(c for c in _ALL_NODES if c.__name__ not in _HANDLED or c.__name__ in _USES_ONLY)


def handles_request(fn):
    """The function's parameters say it handles one request, event or message (`handle(self, request)`),
    or a web framework routes requests to it (`@app.route("/login")`, `@router.post("/items")`)."""
    return any(per_call_param(fn, p) for p in fn.params) or routed(fn)


def routed(fn):
    """A decorator routes a URL path to the function: a call whose first argument (or `rule=`/`path=`)
    is a string that starts with "/" (Flask's, FastAPI's, Sanic's, aiohttp's route tables)."""
    for d in fn.node.decorator_list:
        if isinstance(d, ast.Call) and isinstance(d.func, ast.Attribute):
            args = list(d.args[:1]) + [k.value for k in d.keywords if k.arg in ("rule", "path")]
            if any(isinstance(a, ast.Constant) and isinstance(a.value, str) and a.value.startswith("/") for a in args):
                return True
    return False


def per_call_param(fn, param):
    """The parameter is named as one request, event, message or client connection of its own (a
    connection that the function runs queries on is a database's)."""
    if not PER_CALL_PARAMS.match(param):
        return False
    if param in CONNECTION_PARAMS:
        prefix = param + "."
        return not any(callee.startswith(prefix) and DATABASE_CALLS.match(callee[len(prefix):])
                       for callee, _ in fn.calls)
    return True


def _children_of(cls):
    """A function (node, out) appending the node's children, made once per node class: the fields
    in order, a list field's items (less None and strings where those can occur), a single field's
    node unless it is a Constant."""
    f = _CHILDREN.get(cls)
    if f is not None:
        return f
    names = [] if cls in (ast.Global, ast.Nonlocal) else [
        n for n in cls._fields if n not in _SKIP_FIELDS and n not in _PRIMITIVE.get(cls.__name__, ())]
    code = ["def children(node, out):"]
    for n in names:
        code.append("    v = node.%s" % n)
        code.append("    if v.__class__ is list:")
        code.append("        out.extend([x for x in v if isinstance(x, AST)])" if n in _MIXED else "        out.extend(v)")
        code.append("    elif v is not None and v.__class__ is not Constant and isinstance(v, AST):")
        code.append("        out.append(v)")
    if not names:
        code.append("    pass")
    scope = {"AST": _AST, "Constant": ast.Constant}
    exec("\n".join(code), scope)
    f = _CHILDREN[cls] = scope["children"]
    return f


def children(node, out=None):
    """The direct child nodes worth visiting (ast.iter_child_nodes less contexts and operators), appended to out."""
    if out is None:
        out = []
    (_CHILDREN.get(node.__class__) or _children_of(node.__class__))(node, out)
    return out


def subscript_key(node):
    """The key of a Subscript (Python 3.8 wraps it in ast.Index)."""
    sl = node.slice
    return sl.value if sl.__class__.__name__ == "Index" else sl


def dotted(node):
    """'functools.lru_cache' for an Attribute/Name chain, else None."""
    t = node.__class__
    if t is ast.Name:
        return node.id
    if t is ast.Attribute and node.value.__class__ is ast.Name:
        return node.value.id + "." + node.attr
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def last_name(node):
    """The last component of a call's callee: 'lru_cache' for functools.lru_cache(...)."""
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return None


def container_kind(expr):
    """'dict', 'list', 'set' for an expression that makes an unbounded container, else None."""
    if isinstance(expr, (ast.Dict, ast.DictComp)):
        return "dict"
    if isinstance(expr, (ast.List, ast.ListComp)):
        return "list"
    if isinstance(expr, (ast.Set, ast.SetComp)):
        return "set"
    if isinstance(expr, ast.Call):
        func = expr.func.value if isinstance(expr.func, ast.Subscript) else expr.func  # `set[int]()`, `dict[str, X]()`
        name = last_name(func)
        if name in DICT_TYPES:
            return "defaultdict" if name == "defaultdict" else "dict"
        if name == "deque":
            bounded = len(expr.args) >= 2 or any(k.arg == "maxlen" for k in expr.keywords)
            return None if bounded else "list"
        if name in LIST_TYPES:
            return "list"
        if name in SET_TYPES:
            return "set"
    return None


def is_thread_local(expr):
    return isinstance(expr, ast.Call) and dotted(expr.func) in ("threading.local", "local", "_threading_local.local")


EVER_NEW_ATTR = re.compile(r"^_?(token|uuid|guid|session_id|request_id|req_id|trace_id|nonce|ident|message_id|msg_id|correlation_id)$")
# A message's or request's id read by name (`props["message-id"]`, `headers["X-Request-ID"]`).
EVER_NEW_KEY = re.compile(r"(?i)^(x-)?(message|msg|request|req|correlation|trace)[-_]?id$")
ENTITY_ID_ATTR = re.compile(r"^_?(uuid|guid|ident)$")
# A local or parameter that holds the id of one request, message, run or transaction (`request_id`,
# `run_id`, `txid`): new for each. Not a job's, a task's or a session's: those may be configured ones.
EVER_NEW_NAME = re.compile(r"(?i)^_?(request|req|run|message|msg|correlation|trace|span|transaction|txn|tx|upload|download|"
                           r"ticket|call|invocation|execution)_?(id|uuid)$|^_?(txid|msgid|reqid)$")
# Objects made per call, whose `.uuid` is new each time (a request's, a job's), unlike a device's.
PER_CALL_OWNER = re.compile(r"(?i)^_?(request|req|job|task|msg|message|event|session|call|upload|transfer|txn|transaction|conversation|conv)$")
LONG_LIVED = re.compile(r"(?i)^_?(mod|module|cls|klass|kls|type|typ|tp)$")


def _long_lived_id(call):
    """id(module), id(cls): ids of objects that live as long as the program."""
    if last_name(call.func) != "id" or not call.args:
        return False
    arg = call.args[0]
    return isinstance(arg, ast.Name) and bool(LONG_LIVED.match(arg.id))


def _ever_new_call(call):
    name = last_name(call.func)
    if name not in EVER_NEW or _long_lived_id(call):
        return False
    return name not in EVER_NEW_BARE or dotted(call.func) in EVER_NEW_BARE[name]


def ever_new(expr, entity_ids=True):
    """True when the expression holds a value that never repeats (id(x), time(), uuid4(), self).
    With entity_ids False, an object's `.uuid` (`.guid`, `.ident`) is not enough: the id of a port or
    a device names a thing the system has a bounded set of; a token or a request id still is."""
    if expr is None:
        return False
    for node in ast.walk(expr):
        if isinstance(node, ast.Call) and _ever_new_call(node):
            return True
    for node in ast.walk(expr):
        if isinstance(node, ast.Subscript):
            k = subscript_key(node)
            if isinstance(k, ast.Constant) and isinstance(k.value, str) and EVER_NEW_KEY.match(k.value):
                return True
        if isinstance(node, ast.Attribute) and EVER_NEW_ATTR.match(node.attr) and (
                entity_ids or not ENTITY_ID_ATTR.match(node.attr) or PER_CALL_OWNER.match(last_name(node.value) or "")):
            return True  # `session.token`, `request.request_id`: an identifier of a per-call object
        if isinstance(node, ast.Attribute) and node.attr == "id" and PER_CALL_OWNER.match(last_name(node.value) or ""):
            return True  # `ctx.session.id`, `message.id`: the id of a per-call object
        if isinstance(node, ast.Name) and EVER_NEW_NAME.match(node.id):
            return True
    return isinstance(expr, ast.Name) and expr.id == "self" or (
        isinstance(expr, ast.Tuple) and any(isinstance(e, ast.Name) and e.id == "self" for e in expr.elts))


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
                 "returns_param", "returned", "calls", "nested", "_excepts", "declares_global", "mutable_defaults", "_stored", "_loops", "_streams",
                 "_imported")

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


class ModuleFacts:
    def __init__(self, tree):
        self.tree = tree
        self.containers = {}  # key -> Container
        self.globals = {}  # module name -> key
        self.class_attrs = {}  # class name -> {attr: key}
        self.instance_attrs = {}  # class name -> attrs assigned through self
        self.thread_locals = set()
        self.loggers = set()  # module names bound to logging.getLogger(...)
        self.classes = {}  # name -> ClassDef
        self.functions = []
        self.module_calls = set()  # function names called at import time or used as decorators
        self.shrunk_attrs = set()  # attribute names shrunk anywhere: obj.NAME.clear(), del obj.NAME[k]
        self.toplevel_calls = []  # (dotted callee, Call node) outside functions
        # The last names of what a module-level event loop (`while True:` at module level or under
        # `if __name__ == "__main__":`) calls: once per iteration, not once per process.
        self.loop_calls = set()  # as written (`cfg.read_file`)
        self.loop_nodes = _module_loop_nodes(tree)  # id of every node inside one -> its `while`
        self.instances = {}  # class name -> number of `Cls(...)` calls in the module
        self.module_instances = {}  # class name -> number of those at module level
        self.instance_sites = {}  # class name -> (function or None at import time, Call) for each `Cls(...)`
        self._collect_module()
        # Only thread-locals and class-level containers can be reached through an attribute.
        self._attr_containers = bool(self.thread_locals) or any(k[0] in "ci" for k in self.containers)
        self._walk(tree.body, None, None)

    # ---- module and class level -------------------------------------------------
    def _collect_module(self):
        names = self.module_names = set()  # every name bound at module level
        for stmt in self.tree.body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(stmt.name)
            elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
                names.update((a.asname or a.name).split(".")[0] for a in stmt.names)
            else:
                names.update(t.id for t in _assign_parts(stmt)[0] if isinstance(t, ast.Name))
            self._module_binding(stmt)
            if isinstance(stmt, ast.ClassDef):
                self._collect_class(stmt)

    def _module_binding(self, stmt):
        targets, value = _assign_parts(stmt)
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

    def _collect_class(self, cls):
        self.classes[cls.name] = cls
        attrs = self.class_attrs.setdefault(cls.name, {})
        for stmt in cls.body:
            targets, value = _assign_parts(stmt)
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
                    targets, value = _assign_parts(node)
                    kind = container_kind(value) if targets else None
                    for t in targets:
                        if kind and isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id == "self":
                            key = "i:%s.%s" % (cls.name, t.attr)
                            if key not in self.containers:
                                self.containers[key] = Container(key, "%s.%s" % (cls.name, t.attr), kind, node)
                    if not targets:
                        todo.extend(c for c in ast.iter_child_nodes(node) if isinstance(c, ast.stmt))

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
        kids = _CHILDREN
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
                (kids.get(t) or _children_of(t))(node, stack)
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
            elif t is ast.UnaryOp or t is ast.BoolOp:
                for v in ([node.operand] if t is ast.UnaryOp else node.values):
                    self._use(v, fn, consumed, "read", node)
            (kids.get(t) or _children_of(t))(node, stack)

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
                        c = self.containers.get("i:%s.%s" % (cls, node.attr))
                        if c is not None:
                            return c
            if cls is not None:
                key = self.class_attrs.get(cls, {}).get(node.attr)
                if key and owner == "self" and node.attr in self._instance_attrs(cls):
                    return None
                return self.containers.get(key) if key else None
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
                c = self.resolve(_as_load(target), fn)
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
                c = self.resolve(_as_load(target), fn)
                if c is not None and c.node is node and c.key[0] == "i":
                    consumed.add(id(target))  # the constructor's `self.NAME = {}` that makes it
                elif c is not None:
                    c.shrinks.append((fn, node))
                    consumed.add(id(target))

    def _shrunk_name(self, node):
        """Remembers NAME of `NAME.clear()` / `obj.NAME.pop()`: another file may define NAME."""
        if isinstance(node, ast.Attribute):
            self.shrunk_attrs.add(node.attr)
        elif isinstance(node, ast.Name):
            self.shrunk_attrs.add(node.id)

    # ---- which functions run per call ---------------------------------------------------
    def called_per_call(self):
        """The last names of what functions that run per call call (`Conn(...)`, `mod.setup_log(...)`,
        `x.start()`): evidence, for any file, that such a class is made, or such a function run, over
        and over rather than once per process. A constructor is no evidence: it runs once per instance
        of its own class, which may well be made once."""
        out = {self.evidence_name(None, name) for name in self.loop_calls}
        for fn in self.functions:
            # A bare call of a function defined inside the caller runs that local function: it is
            # evidence of nothing about another module's function of the same name.
            names = {self.evidence_name(fn, name) for name, _ in fn.calls if name not in fn.nested}
            names.difference_update(out)
            if names and not (fn.cls is not None and fn.name in PER_INSTANCE) and not self.runs_once(fn):
                out |= names
            else:  # what its own event loop calls runs once per event, even in a function that runs once
                out.update(e for e in (self.evidence_name(fn, name) for name, call in fn.calls
                                       if name not in fn.nested and event_loop_call(fn, call)) if e[0] != ".")
        return out

    def evidence_name(self, fn, name):
        """What a call is evidence of: 'f' for a bare call, or one through a module-level name of the
        caller's module (an import or a class: `cfg.read_file()`, `Conn.open()`); '.f' for a method of
        any other object (`parser.read_file()`, `self.items.add()`). A module function gets evidence
        only from the first kind; a method from either (see rules/common.py, made_many)."""
        if "." not in name:
            return name
        head, last = name.split(".", 1)[0], name.rsplit(".", 1)[-1]
        if head in self.module_names and (fn is None or head not in fn.locals):
            return last
        # A module imported in the function, or in the one it is defined in (`from . import jobs`
        # in a view, `jobs.run()` there or in its nested generator).
        while fn is not None:
            if head in fn.imported:
                return last
            if head in fn.locals:
                break
            fn = fn.parent
        return "." + last

    def called_per_request(self):
        """"request:NAME" for what functions whose parameters say they handle one request, event or
        message (`handle(self, request)`, `on_message(msg)`) call, and for what a module-level event
        loop calls: made or run once per request. Not
        methods of the function's own locals and parameters (`msg.attach(part)` runs no `attach()` of
        a module: it is evidence of nothing but the message's own class)."""
        out = {REQUEST + self.evidence_name(None, name) for name in self.loop_calls}  # one call per event
        for fn in self.functions:
            # What a function's own event loop calls, as for a module-level one; not methods of any
            # object by name (`manager.run()` in a supervisor's loop says nothing of every `run()`).
            out.update(REQUEST + e for e in (self.evidence_name(fn, name) for name, call in fn.calls
                                             if name not in fn.nested and event_loop_call(fn, call)) if e[0] != ".")
            # A function defined in a request handler (a generator it streams, a callback) runs per request too.
            handler = fn if handles_request(fn) else fn.parent if fn.parent is not None and handles_request(fn.parent) else None
            if handler is not None:
                own = (set(fn.params) | fn.locals | set(handler.params) | handler.locals) - {"self", "cls"} - fn.imported - handler.imported
                out.update(REQUEST + self.evidence_name(fn, name) for name, _ in fn.calls
                           if ("." not in name or name.split(".", 1)[0] not in own) and name not in fn.nested)
        return out

    def made_once(self):
        """Facts for any file about how many objects of a class (a CapWords name) the program makes:
        "once:NAME" where code runs once per process (at module level, `__main__` block included, in
        the program's main function: named `main` or running its main loop, or in a module function
        only the main calls, once), not in a loop, lambda or
        comprehension there (one object per turn or per call); "ctor:NAME" for what a constructor makes
        (one per instance of its class); "ref:NAME" for a class handed on uncalled (`HTTPServer(addr,
        Handler)`, `factory.protocol = Proto`, a router's `(r"/", Handler)`): whoever takes it makes as
        many as they like. See rules/singleton_container_growth.py."""
        out = set()
        top = [fn for fn in self.functions if fn.parent is None and fn.cls is None]
        mains = [fn for fn in top if MAIN_FUNCTION.search(fn.name) or _enters_main_loop(fn)]
        once_calls = [c for body in [self.tree.body] + [fn.node.body for fn in mains] for c in _calls_once(body)]
        # A module function the main (or the module's top level) calls once, and nothing else in the
        # module calls (`run_server(config)` from `main()`): once per process too.
        once_ids = {id(c) for c in once_calls}
        called_once = {last_name(c.func) for c in once_calls}
        for fn in top:
            if fn in mains or fn.name not in called_once:
                continue
            sites = [c for g in self.functions for n, c in g.calls if n.rsplit(".", 1)[-1] == fn.name]
            sites += [c for n, c in self.toplevel_calls if n.rsplit(".", 1)[-1] == fn.name]
            if sum(1 for c in sites if id(c) in once_ids) == 1 == len(sites):
                once_calls.extend(_calls_once(fn.node.body))
        out.update("once:" + n for n in map(last_name, (c.func for c in once_calls)) if n and CLASS_NAME.match(n))
        for fn in self.functions:
            if fn.cls is not None and fn.name in PER_INSTANCE:
                out.update("ctor:" + n for n in (last_name(c.func) for _, c in fn.calls) if n and CLASS_NAME.match(n))
        for node in ast.walk(self.tree):
            t = node.__class__
            if t is ast.Call:
                if last_name(node.func) in _TYPE_TESTS:
                    continue
                args = node.args + [k.value for k in node.keywords]
            elif t is ast.Assign or t is ast.AnnAssign:
                args = [node.value] if node.value is not None else []
            else:
                continue
            # A call inside an argument is a call, not a class handed on: the walk reaches its own
            # arguments when it comes to it (each argument is read once).
            todo = list(args)
            while todo:
                n = todo.pop()
                t = n.__class__
                if t is ast.Call:
                    continue
                if t is ast.Name or t is ast.Attribute:
                    name = n.id if t is ast.Name else n.attr
                    if CLASS_NAME.match(name):
                        out.add("ref:" + name)
                todo.extend(ast.iter_child_nodes(n))
        return out

    def class_family(self, cls):
        """A class's name and the names of its subclasses in the module (any of them made per call
        makes the class's methods run per instance)."""
        family, grew = [cls.name], True
        while grew:
            grew = False
            for sub in self.classes.values():
                if sub.name not in family and any(last_name(b) in family for b in sub.bases):
                    family.append(sub.name)
                    grew = True
        return family

    def runs_once(self, fn):
        """True for a function that runs a bounded number of times (import, set-up, registration),
        or that the module only calls from such functions."""
        memo = self.__dict__.setdefault("_once", {})
        if fn not in memo:
            memo[fn] = False  # while deciding (recursion): not once
            memo[fn] = self._runs_once(fn) or self._only_called_once(fn)
        return memo[fn]

    def singleton(self, name, _seen=()):
        """A class of this module that is instantiated at least once, and only at import time (module
        level or class bodies, not a `__main__` block: a script's demo says nothing of library use);
        its subclasses in the module likewise. Its constructor runs a fixed number of times."""
        sites = self.instance_sites.get(name)
        if not sites or name in _seen or any(f is not None and not _lazy(f, call) for f, call in sites):
            return False
        main = self.__dict__.get("_main_calls")
        if main is None:  # the calls under `if __name__ == "__main__":`, found once
            main = self._main_calls = {id(n) for stmt in self.tree.body if _is_main_guard(stmt)
                                       for n in ast.walk(stmt) if isinstance(n, ast.Call)}
        if any(id(call) in main for _, call in sites):
            return False
        for sub in self.classes.values():
            if sub.name != name and any(last_name(b) == name for b in sub.bases) and not self.singleton(sub.name, _seen + (name,)):
                return False
        return True

    def _only_called_once(self, fn):
        if fn.name.startswith("__") or fn.cls is not None:
            return False  # methods and dunders are called from anywhere
        if any(name.rsplit(".", 1)[-1] == fn.name for name in self.loop_calls):
            return False  # a module-level event loop calls it on every iteration
        index = self.__dict__.get("_callers")
        if index is None:  # callee name -> calling functions, built once
            index = self._callers = {}
            for g in self.functions:
                for name, _ in g.calls:
                    index.setdefault(name, []).append(g)
        callers = index.get(fn.name, ())
        if any(name == fn.name and event_loop_call(g, call) for g in callers for name, call in g.calls):
            return False  # called on each turn of a caller's event loop
        return bool(callers) and all(self.runs_once(g) for g in callers)

    def _runs_once(self, fn):
        if fn.node.decorator_list and routed(fn):
            return False  # a web route runs per request, whatever its name (`@app.route("/setup")`)
        while fn is not None:
            if fn.name in self.module_calls or ONCE_NAME.search(fn.name) or fn.returns_param:
                return True
            if fn.returned & fn.nested and CALLABLE_PARAMS.intersection(fn.params):
                return True  # `def deco(func): def wrapper(...): ...; return wrapper`: once per decorated function
            if TEST_NAME.match(fn.name) and (fn.cls is None or TEST_CLASS.search(fn.cls.name)):
                return True
            if fn.declares_global and _flag_guarded(fn):
                return True
            if any(d in ONCE_DECORATORS or (d and ONCE_DECORATOR_NAME.search(d)) for d in fn.decorators):
                return True
            if fn.cls is not None and any(dotted(b) in ("type", "ABCMeta", "EnumMeta") for b in fn.cls.bases):
                return True  # a metaclass method runs once per class
            if fn.cls is not None and fn.name in PER_INSTANCE and self.singleton(fn.cls.name):
                return True  # the constructor of a class made only at import (or in set-up code)
            if _enters_main_loop(fn):
                return True  # `...; self.cmdloop()`, `sys.exit(main())`: once per process
            fn = fn.parent if fn.parent is not None and fn.name in ("wrapper", "inner", "decorator") else None
        return False


def _lazy(fn, call):
    """`if cls.monitor is None: cls.monitor = Monitor()` (or `if not _POOL: _POOL = Pool()`): made when the
    class-wide or global slot it is stored in is empty, so once (again only after it was dropped)."""
    parent = {}
    for node in ast.walk(fn.node):
        for child in ast.iter_child_nodes(node):
            parent[child] = node
    assign = parent.get(call)
    if not isinstance(assign, ast.Assign) or len(assign.targets) != 1:
        return False
    target = assign.targets[0]
    if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id != "self" \
            and target.value.id not in fn.locals - set(fn.params[:1]):
        slot = target.attr  # `cls.monitor`, `Pool.default`, `module.X`: not `self.x`, one per instance
    elif isinstance(target, ast.Name) and target.id in fn.globals:
        slot = target.id
    else:
        return False
    cur = parent.get(assign)
    while cur is not None and cur is not fn.node:
        if isinstance(cur, ast.If) and any(isinstance(n, ast.Attribute) and n.attr == slot or isinstance(n, ast.Name) and n.id == slot
                                           for n in ast.walk(cur.test)):
            return True
        cur = parent.get(cur)
    return False


def _module_loop_nodes(tree):
    """{id of each node inside a module-level event loop: that loop}. An event loop is a `while`
    statement at module level (also in a `__main__` block, a `try` or a `with` there) whose test is no
    comparison (`while True:`, `while running:`, `while not stop.is_set():`; not `while i < 10:`, a
    bounded loop) and names nothing the loop drains (not `while items: items.pop()`). Function and
    class definitions inside it are left out (they run when called)."""
    out = {}
    todo = list(tree.body)
    while todo:
        stmt = todo.pop()
        if isinstance(stmt, ast.While) and _event_test(stmt):
            inner = [stmt]
            while inner:
                n = inner.pop()
                out[id(n)] = stmt
                inner.extend(c for c in ast.iter_child_nodes(n)
                             if not isinstance(c, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)))
        elif isinstance(stmt, (ast.If, ast.Try, ast.With)):
            for field in ("body", "orelse", "finalbody", "handlers"):
                for child in getattr(stmt, field, ()):
                    todo.extend(child.body if isinstance(child, ast.ExceptHandler) else [child])
    return out


def _event_test(loop):
    """The test of a loop that turns once per event: no comparison (`while i < 10:`), and no name the
    loop drains (`while pending: x = pending.pop(0)`, a fixed list consumed at import)."""
    if isinstance(loop.test, ast.Compare):
        return False
    tested = {n.id for n in ast.walk(loop.test) if isinstance(n, ast.Name)}
    tested |= {n.attr for n in ast.walk(loop.test) if isinstance(n, ast.Attribute)}
    for n in ast.walk(loop):
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr in DRAINS:
            holder = n.func.value
            if isinstance(holder, ast.Name) and holder.id in tested or isinstance(holder, ast.Attribute) and holder.attr in tested:
                return False
        if isinstance(n, ast.Delete) and any(isinstance(t, ast.Subscript) and isinstance(t.value, ast.Name) and t.value.id in tested
                                             for t in n.targets):
            return False
    return True


DRAINS = frozenset(("pop", "popleft", "popitem", "remove", "clear"))


def function_loop(fn, node):
    """The event loop of the function's own body (`while True:`, `while running:`; not one in a
    function defined inside it) that holds the node, or None: what it holds runs once per event.
    Not what leaves the loop once done (`return Daemon()`, `conn = connect(); break`: a retry loop)."""
    loops = getattr(fn, "_loops", None)
    if loops is None:
        loops = {}
        # (node, the event loop that holds it or None, whether a `break` there leaves that loop)
        todo = [(c, None, False) for c in ast.iter_child_nodes(fn.node)]
        while todo:
            n, loop, breaks = todo.pop()
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
                continue
            if loop is None and isinstance(n, ast.While) and _event_test(n):
                loop, breaks = n, True
            elif loop is not None and isinstance(n, ast.Return):
                continue
            if loop is None:
                todo.extend((c, None, False) for c in ast.iter_child_nodes(n))
                continue
            loops[id(n)] = loop
            inner = breaks and not (n is not loop and isinstance(n, (ast.For, ast.AsyncFor, ast.While)))
            in_blocks = set()
            for field in ("body", "orelse", "finalbody"):
                block = getattr(n, field, None)
                if not isinstance(block, list):
                    continue
                in_blocks.update(id(b) for b in block)
                if n is loop and field == "orelse":  # runs once, when the loop ends
                    todo.extend((b, None, False) for b in block)
                    continue
                # The statements before a `return` (or a `break` of this loop) of the same block run
                # once, then leave.
                last = next((i for i, b in enumerate(block) if isinstance(b, ast.Return) or inner and isinstance(b, ast.Break)), None)
                todo.extend((b, loop if last is None or i > last else None, inner) for i, b in enumerate(block))
            todo.extend((c, loop, inner) for c in ast.iter_child_nodes(n) if id(c) not in in_blocks)
        fn._loops = loops
    return loops.get(id(node))


def event_loop_call(fn, call):
    """The call is made on each turn of the function's own event loop: a `while True:` (see
    function_loop) or an `async for` over a stream (`async for event in listener:`)."""
    if function_loop(fn, call) is not None:
        return True
    streams = getattr(fn, "_streams", None)
    if streams is None:
        streams = set()
        todo = list(ast.iter_child_nodes(fn.node))
        while todo:
            n = todo.pop()
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
                continue
            if isinstance(n, ast.AsyncFor):
                streams.update(id(c) for b in n.body for c in ast.walk(b))
            todo.extend(ast.iter_child_nodes(n))
        fn._streams = streams
    return id(call) in streams


# A class's name as written (CapWords, with a lower-case letter: not a CONSTANT).
CLASS_NAME = re.compile(r"^_*[A-Z][A-Za-z0-9_]*[a-z][A-Za-z0-9_]*$")
# A module function that is the program's main: runs once per process.
MAIN_FUNCTION = re.compile(r"(^|_)main(_|$)")
# What runs its body any number of times: an object made there is one per turn, per call or per item.
_NOT_ONCE = (ast.For, ast.AsyncFor, ast.While, ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp,
             ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
# Calls that only look at a class: not handing it on to be made.
_TYPE_TESTS = {"isinstance", "issubclass", "super", "cast", "type", "hasattr", "getattr", "setattr", "id", "repr", "str"}


def _calls_once(body):
    """The calls among the statements that run once each time the statements do: not those in a loop,
    a lambda, a comprehension or a nested definition."""
    todo = list(body)
    while todo:
        node = todo.pop()
        if isinstance(node, _NOT_ONCE):
            continue
        if isinstance(node, ast.Call):
            yield node
        todo.extend(ast.iter_child_nodes(node))


def _is_main_guard(stmt):
    """`if __name__ == "__main__":`"""
    if not isinstance(stmt, ast.If) or not isinstance(stmt.test, ast.Compare):
        return False
    sides = [stmt.test.left] + stmt.test.comparators
    return any(isinstance(x, ast.Name) and x.id == "__name__" for x in sides) and \
        any(isinstance(x, ast.Constant) and x.value == "__main__" for x in sides)


def _enters_main_loop(fn):
    """A statement of the function's own body runs the program's main loop or ends the process."""
    for stmt in fn.node.body:
        if stmt.__class__ is ast.Expr and stmt.value.__class__ is ast.Call:
            name = dotted(stmt.value.func) or ""
            if name.rsplit(".", 1)[-1] in MAIN_LOOPS or name in EXITS:
                return True
    return False


def _flag_guarded(fn):
    """`if _started: return` (or `is not None`, or either `and` something else; the return may sit in a
    nested `if`) in the body of a function that sets the global `_started`: everything after it runs once
    (once per setting)."""
    body = list(fn.node.body)
    # `try: if _started: return  except NameError: pass` (a flag not bound until the first call).
    body += [s for t in fn.node.body if isinstance(t, ast.Try) for s in t.body]
    for stmt in body:
        if not (isinstance(stmt, ast.If) and _returns(stmt.body)):
            continue
        tests = stmt.test.values if isinstance(stmt.test, ast.BoolOp) and isinstance(stmt.test.op, ast.And) else [stmt.test]
        if any(_is_flag(test, fn) for test in tests):
            return True
    return False


def _returns(body):
    """A return among the statements, or in an `if` among them."""
    return any(isinstance(s, ast.Return) or isinstance(s, ast.If) and (_returns(s.body) or _returns(s.orelse)) for s in body)


def _is_flag(test, fn):
    """`FLAG`, `FLAG is not None` or `isinstance(FLAG, Kind)` for a global FLAG that the function sets."""
    if isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.IsNot) \
            and isinstance(test.comparators[0], ast.Constant) and test.comparators[0].value is None:
        test = test.left
    elif isinstance(test, ast.Call) and dotted(test.func) == "isinstance" and len(test.args) == 2:
        test = test.args[0]
    return isinstance(test, ast.Name) and test.id in fn.globals and test.id in fn.stored


def _assign_parts(stmt):
    if isinstance(stmt, ast.Assign):
        return stmt.targets, stmt.value
    if isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
        return [stmt.target], stmt.value
    return [], None


def _as_load(target):
    if isinstance(target, ast.Name):
        return ast.Name(id=target.id, ctx=ast.Load())
    return ast.Attribute(value=target.value, attr=target.attr, ctx=ast.Load())
