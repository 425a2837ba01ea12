"""How often code runs: once per process (import, set-up, registration, a program's main) or per
call, per request, per event. Evidence read from one module, matched by name across the files of a
project by the host (main.py's "made")."""
import ast
import collections
import io
import os
import re

from .loops import event_loop_call, function_loop, replays_input
from .percall import clicked, handles_request, routed
from .syntax import assign_parts, class_like, dotted, last_name

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
# A test double: `MockHandler`, `FakeRedis`, `StubClient`, `DummyBackend`, `RouterMock`: stands in for the
# real class under tests or a development mode, and keeps what it is handed for them to read back.
TEST_DOUBLE = re.compile(r"^_*(Mock|Fake|Stub|Dummy)(?=[A-Z_0-9]|$)|[a-z0-9_](Mock|Fake|Stub)$")
# Decorators that run the function once (per key): `@_logged_cached(...)`, `@memoize`, `@run_once`.
ONCE_DECORATOR_NAME = re.compile(r"(?i)cache|memo|once")
# Parameter names of decorators that register what they decorate.
CALLABLE_PARAMS = {"fn", "func", "f", "function", "cls", "klass", "kls", "callback", "cb", "handler", "method",
                   "meth", "wrapped", "decorated", "obj", "c", "target", "view", "hook", "plugin"}
# The constructor and what Python calls once per instance.
PER_INSTANCE = {"__init__", "__new__", "__post_init__"}
# "request:NAME": NAME is called or made by a function that handles a request, event or message.
REQUEST = "request:"
# An object a request's handler makes and keeps using (calls its methods, hands it on), not one it
# drops at once: "request:kept:NAME" (see _dropped).
KEPT = REQUEST + "kept:"
# Calls that run a program's main loop (return when the program ends) or end the process.
MAIN_LOOPS = {"cmdloop", "serve_forever", "run_forever", "mainloop", "loop_forever", "exec_"}
SERVE_LOOPS = MAIN_LOOPS | {"run_app"}
EXITS = {"sys.exit", "os._exit", "os.execv", "os.execve", "os.execvp", "os.execvpe", "os.execl", "os.execlp"}
ONCE_DECORATORS = {"lru_cache", "cache", "cached_property", "once", "run_once", "contextmanager",
                   "setup", "fixture", "pytest_fixture"}


# Methods of the built-in containers, strings and files, and of DB-API connections and cursors. A call
# by such a name is evidence of a class's own method only through a name that is not a container of
# the module: `x.add(...)` is as likely a set's, `cur.execute(...)` a database cursor's, `SEEN.add(...)`
# is one (see evidence_name and rules/singleton_container_growth.py).
BUILTIN_METHODS = frozenset(
    [n for t in (dict, list, set, str, bytes, collections.deque, io.IOBase) for n in dir(t) if not n.startswith("_")]
    + ["read", "write", "removeprefix", "removesuffix"]  # the same set on every Python 3.8+
    + ["execute", "executemany", "executescript", "fetchone", "fetchmany", "fetchall", "commit", "rollback", "cursor"])


# A call that switches its callee's cache off (`xmlrpcapi(node_uri, cache=False)`): no evidence that the
# memo it skips grows per call (nor, as the evidence is by name, anything else the callee does).
CACHE_FLAG = re.compile(r"^(use_|with_)?(cache|cached|memo|memoize|memoise)$")


def _opts_out_of_cache(call):
    return any(k.arg and CACHE_FLAG.match(k.arg) and isinstance(k.value, ast.Constant) and not k.value.value
               for k in call.keywords)


def _evidence_calls(fn):
    """(callee, Call) for the calls of fn that are evidence of what they call: not of a function defined
    inside fn, nor of a local variable or parameter (a bare call runs that local function, or what the
    variable holds: `for middleware in self.middlewares: handler = middleware(handler)` runs no
    `middleware()` of a module), nor one that switches its callee's cache off, nor fn's call of itself
    (`execute(component)` in `execute()`'s loop over its components, `self.walk(child)`): a recursion
    runs as often as its callers call it."""
    own = (fn.name, "self." + fn.name) if fn.cls is not None else (fn.name,)
    lazy = _lazily_made(fn)
    return [(name, call) for name, call in fn.calls if name not in own and not _opts_out_of_cache(call)
            and not (name in fn.locals and name not in fn.imported) and id(call) not in lazy]


def _lazily_made(fn):
    """{id of each call whose object fills a slot only while it is empty: "self" for the instance's slot,
    "shared" for a class's or a global one}. `if not self._window: self._window = Window(app)` makes one
    per instance (see made_once's "init:"); `if cls.monitor is None: cls.monitor = Monitor()` or
    `if not _POOL: _POOL = Pool()` one per process (again only after it was dropped): neither one per call
    of the method (a GUI application's `do_activate()`, a client's `connect()`). The test may be any `if`
    around the assignment; an attribute of a local object is no slot that outlives the call."""
    found = fn._lazily
    if found is not None:
        return found
    found = fn._lazily = {}
    local = fn.locals - set(fn.params[:1])
    todo = [(stmt, ()) for stmt in fn.node.body]  # statements only, not those of nested definitions
    while todo:
        node, tests = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.value, ast.Call) and tests:
            t = node.targets[0]
            if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and (t.value.id == "self" or t.value.id not in local):
                slot, owner = t.attr, "self" if t.value.id == "self" else "shared"
            elif isinstance(t, ast.Name) and t.id in fn.globals:
                slot, owner = t.id, "shared"
            else:
                slot = None
            if slot and any(isinstance(n, ast.Attribute) and n.attr == slot or isinstance(n, ast.Name) and n.id == slot
                            for test in tests for n in ast.walk(test)):
                found[id(node.value)] = owner
        inner = tests + (node.test,) if isinstance(node, ast.If) else tests
        for field in ("body", "orelse", "finalbody", "handlers", "cases"):
            todo.extend((stmt, inner) for stmt in getattr(node, field, ()))
    return found


# Calls that wait for a person to type (a shell's prompt): a loop of them runs at a person's pace.
HUMAN_INPUT = frozenset(("input", "raw_input", "prompt", "readline", "getpass"))


def _serves_until_stopped(loop):
    """An event loop that ends only when stopped (its flag, an exception: `except KeyboardInterrupt:
    break`), not one that leaves once its work is done (`else: break` at the end of a chain, `return`
    at a deadline), nor a shell's loop that waits for a person's next command."""
    if loop is None:
        return False
    known = getattr(loop, "_until_stopped", None)
    if known is None:
        known = loop._until_stopped = _ends_only_when_stopped(loop)
    return known


def _ends_only_when_stopped(loop):
    todo = [(c, False, False) for c in loop.body]  # (node, in an except handler, in a loop inside it)
    while todo:
        n, handled, inner = todo.pop()
        if not handled and (isinstance(n, ast.Return) or isinstance(n, ast.Break) and not inner):
            return False
        if isinstance(n, ast.Call) and last_name(n.func) in HUMAN_INPUT:
            return False
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        inner_here = inner or isinstance(n, (ast.For, ast.AsyncFor, ast.While))
        todo.extend((c, handled or isinstance(n, ast.ExceptHandler), inner_here) for c in ast.iter_child_nodes(n))
    return True


def _dropped(fn, call):
    """An object a handler makes and drops at once (`Client()` alone, or bound to a name it never
    reads: a health check that only tries to connect): its constructor runs per request, but none of
    its methods does, so a cache of a method keeps none of them."""
    dropped = fn._dropped
    if dropped is None:
        dropped = fn._dropped = set()
        loaded, bound = set(), {}
        for n in ast.walk(fn.node):
            if isinstance(n, ast.Expr) and isinstance(n.value, ast.Call):
                dropped.add(id(n.value))
            elif isinstance(n, ast.Assign) and isinstance(n.value, ast.Call) and len(n.targets) == 1 and isinstance(n.targets[0], ast.Name):
                bound[id(n.value)] = n.targets[0].id
            elif isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load):
                loaded.add(n.id)
        dropped.update(c for c, target in bound.items() if target not in loaded)
    return id(call) in dropped


def _qualifier(module):
    """A module as a call's evidence names it ("NAME~MODULE"): its dotted name without a relative
    import's dots (`..utils.logging` -> "utils.logging"), or None. The host counts the call for a NAME
    defined in a file whose folders and name hold those parts in a row (evidence.ts, moduleMatcher):
    `from opencompass.utils import get_logger` is not `opencompass/openicl/utils/logging.py`'s."""
    module = (module or "").lstrip(".")
    return module or None


def looked_up_first(c, fn, node, key):
    """The function reads the container under the same key before this store: a memo's pattern."""
    dump = ast.dump(key) if key is not None else None
    return dump is not None and any(rfn is fn and rkey is not None and ast.dump(rkey) == dump and line <= node.lineno
                                    for rfn, rkey, line in c.reads)


class RunFacts:
    """How often a module's code runs: the mixin of ModuleFacts that answers it."""

    # ---- which functions run per call ---------------------------------------------------
    @property
    def replays(self):
        """Names of the module's async generators that only replay what they are handed (see
        loops.replays_input): an `async for` over one is no stream of events."""
        found = self.__dict__.get("_replays")
        if found is None:
            found = self._replays = frozenset(fn.name for fn in self.functions if replays_input(fn))
        return found

    def called_per_call(self):
        """The last names of what functions that run per call call (`Conn(...)`, `mod.setup_log(...)`,
        `x.start()`): evidence, for any file, that such a class is made, or such a function run, over
        and over rather than once per process. A constructor is no evidence: it runs once per instance
        of its own class, which may well be made once."""
        out = {e for name in self.loop_calls for e in self.evidence_names(None, name)}
        for fn in self.functions:
            names = {e for name, _ in self._evidence_calls(fn) for e in self.evidence_names(fn, name)}
            names.difference_update(out)
            if names and not (fn.cls is not None and fn.name in PER_INSTANCE) and not self.runs_once(fn):
                out |= names
            else:  # what its own event loop calls runs once per event, even in a function that runs once
                out.update(e for name, call in self._evidence_calls(fn) if event_loop_call(fn, call, self.replays)
                           for e in self.evidence_names(fn, name) if e[0] != ".")
        return out

    def _evidence_calls(self, fn):
        """_evidence_calls, less the calls whose result the function memoises: `logger = T.get(name)`,
        `if not logger: logger = make_logger(name); T[name] = logger` (or `T[name] = (logger, lock)`)
        runs `make_logger` once per key, not per call (what the memo keeps is unbounded-cache's to tell)."""
        calls = _evidence_calls(fn)
        memo = self._memoised_calls(fn)
        return [(name, call) for name, call in calls if id(call) not in memo] if memo else calls

    def _memoised_calls(self, fn):
        table = self.__dict__.setdefault("_memoised", {})
        if fn in table:
            return table[fn]
        stored = {}  # local -> the stores of it in a table, each after a lookup of the table under its key
        values = None  # subscript store -> the value assigned (`T[k] = v`)
        for c in self.containers.values():
            for gfn, node, key, value in c.grows:
                if gfn is not fn or not looked_up_first(c, fn, node, key):
                    continue
                if value is None and isinstance(node, ast.Subscript):
                    if values is None:
                        values = {id(t): n.value for n in ast.walk(fn.node) if isinstance(n, ast.Assign) for t in n.targets}
                    value = values.get(id(node))
                # `T[k] = logger`, or `T[k] = (logger, lock)`: each local the entry holds
                for v in value.elts if isinstance(value, (ast.Tuple, ast.List)) else (value,):
                    if isinstance(v, ast.Name):
                        stored.setdefault(v.id, []).append(node)
        out = set()
        if stored:
            for n in ast.walk(fn.node):
                if isinstance(n, ast.Assign) and len(n.targets) == 1 and isinstance(n.targets[0], ast.Name) \
                        and n.targets[0].id in stored and isinstance(n.value, ast.Call) \
                        and any(n.lineno <= s.lineno for s in stored[n.targets[0].id]):
                    out.add(id(n.value))
        table[fn] = out
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
            # `SEEN.add(x)`, `LOG.append(x)` on a container of the module: the container's own method;
            # `g.db.execute(...)`: a method of something a module-level object holds, as any object's.
            if last in BUILTIN_METHODS and ("g:" + head in self.containers or name.count(".") > 1):
                return "." + last
            return last
        # A module imported in the function, or in the one it is defined in (`from . import jobs`
        # in a view, `jobs.run()` there or in its nested generator).
        while fn is not None and head in self.function_imports:
            if head in fn.imported:
                return last
            if head in fn.locals:
                break
            fn = fn.parent
        return "." + last

    def evidence_names(self, fn, name):
        """What a call is evidence of (evidence_name), as "NAME~MODULE" when the call says which
        module's NAME it runs (`import_bod_avl.Command()`, `structlog.get_logger()`, a `Command()`
        defined here or imported `from .jobs import Command`): the host counts it only for a NAME
        defined in a file of that name or below a folder of that name (see evidence.ts), not for
        every function or class of that name in the project."""
        if name.startswith("super()."):
            return self._base_methods(fn, name[8:])
        name = self._class_attribute_class(fn, name) or name
        bare = self.evidence_name(fn, name)
        if bare[0] == ".":
            # `cm = CloudManager(...)`, then `cm.reset()`: CloudManager's method, so evidence only for
            # a `reset` of the module CloudManager comes from, not for every class's `reset`.
            module = self._class_module(fn, name) if fn is not None and name.count(".") == 1 else None
            return (bare + "~" + module,) if module else (bare,)
        parts = name.split(".")
        module = None
        if fn is not None and parts[0] in fn.locals and parts[0] not in fn.imported:
            pass
        elif len(parts) == 1:
            if name in self.defined:
                module = self.stem
            elif name in self.imported_from:
                module = self.imported_from[name]
        elif parts[0] in self.imported_modules and parts[0] not in self.defined:
            if parts[0] in self.imported_from and class_like(parts[0]):
                module = self.imported_from[parts[0]]  # `from .service import Store`, `Store.put()`: service's
            else:
                module = ".".join([self.imported_modules[parts[0]]] + parts[1:-1])
        module = _qualifier(module)
        return (bare + "~" + module,) if module else (bare,)

    def _base_methods(self, fn, method):
        """`super().handle(request)`: the method of the class's bases, as ".handle~MODULE" for each base
        whose module this one names (defined here or imported); evidence of no other class's method of
        that name (`super().__call__(request)` in a view says nothing of every `__call__`)."""
        if fn is None or fn.cls is None:
            return ()
        out = []
        for base in fn.cls.bases:
            name = dotted(base)
            if not name:
                continue
            head = name.split(".")[0]
            if "." not in name and name in self.defined:
                module = self.stem
            elif "." not in name and name in self.imported_from:
                module = self.imported_from[name]
            elif "." in name and head in self.imported_modules:
                module = ".".join([self.imported_modules[head]] + name.split(".")[1:-1])
            else:
                continue
            module = _qualifier(module)
            if module:
                out.append("." + method + "~" + module)
        return tuple(out)

    def _class_attribute_class(self, fn, name):
        """`self.job_runner_class(...)` in a method of a class whose body binds `job_runner_class =
        JobRunner`: a call of that class (a hook that subclasses may rebind), as `JobRunner(...)`."""
        if fn is None or fn.cls is None or name.count(".") != 1:
            return None
        head, attr = name.split(".")
        if head not in ("self", "cls") or (fn.params[:1] != [head]):
            return None
        for node in fn.cls.body:
            targets, value = assign_parts(node)
            if isinstance(value, ast.Name) and class_like(value.id) and any(
                    isinstance(t, ast.Name) and t.id == attr for t in targets) and value.id in self.module_names:
                return value.id
        return None

    def _class_module(self, fn, name):
        """The module of the class the call's receiver, a local of fn, is made from in fn (`cm =
        CloudManager(data)`, every binding of it), when this module defines or imports that class."""
        cache = self.__dict__.setdefault("_local_classes", {})
        table = cache.get(fn)
        if table is None:  # local -> the class every assignment in fn binds it to (None: mixed or unknown)
            table = cache[fn] = {}
            for n in ast.walk(fn.node):
                if isinstance(n, ast.Assign) and len(n.targets) == 1 and isinstance(n.targets[0], ast.Name):
                    v = n.value
                    cls = dotted(v.func) if isinstance(v, ast.Call) else None
                    var = n.targets[0].id
                    table[var] = cls if cls and class_like(cls.rsplit(".", 1)[-1]) and table.get(var, cls) == cls else None
        cls = table.get(name.split(".", 1)[0])
        if not cls:
            return None
        if "." in cls:
            head = cls.split(".", 1)[0]
            return _qualifier(self.imported_modules[head]) if head in self.imported_modules else None
        if cls in self.defined:
            return self.stem
        if cls in self.imported_from:
            return _qualifier(self.imported_from[cls])
        return None

    @property
    def stem(self):
        """The module's own name as other modules import it (a package's `__init__.py`: the package)."""
        base = os.path.basename(self.filename or "")
        if base == "__init__.py":
            return os.path.basename(os.path.dirname(os.path.abspath(self.filename)))
        return base[:-3] if base.endswith(".py") else base

    def defined_names(self):
        """"def:NAME" for the functions and classes this module defines (the host counts in how many
        files of a project a name is defined)."""
        return {"def:" + n for n in self.defined}

    def called_per_request(self):
        """"request:NAME" for what functions whose parameters say they handle one request, event or
        message (`handle(self, request)`, `on_message(msg)`) call, and for what a module-level event
        loop calls: made or run once per request. Not
        methods of the function's own locals and parameters (`msg.attach(part)` runs no `attach()` of
        a module: it is evidence of nothing but the message's own class)."""
        out = {REQUEST + e for name in self.loop_calls for e in self.evidence_names(None, name)}  # one call per event
        for fn in self.functions:
            # What a function's own event loop calls, as for a module-level one; not methods of any
            # object by name (`manager.run()` in a supervisor's loop says nothing of every `run()`).
            out.update(REQUEST + e for name, call in self._evidence_calls(fn) if event_loop_call(fn, call, self.replays)
                       for e in self.evidence_names(fn, name) if e[0] != ".")
            # A function defined in a request handler (a generator it streams, a callback) runs per request too.
            handler = fn if handles_request(fn) else fn.parent if fn.parent is not None and handles_request(fn.parent) else None
            if handler is None and fn in self._reached_from_handlers():
                handler = fn
            if handler is not None:
                own = (set(fn.params) | fn.locals | set(handler.params) | handler.locals) - {"self", "cls"} - fn.imported - handler.imported
                calls = [(name, call) for name, call in self._evidence_calls(fn)
                         if "." not in name or name.split(".", 1)[0] not in own]
                out.update(REQUEST + e for name, _ in calls for e in self.evidence_names(fn, name))
                # The objects it makes and keeps using ("request:kept:"), not those it drops at once.
                out.update(KEPT + e for name, call in calls if class_like(name.rsplit(".", 1)[-1]) and not _dropped(fn, call)
                           for e in self.evidence_names(fn, name))
        return out

    def _reached_from_handlers(self):
        """The module's functions a request handler of the module calls, directly or through others
        (`handle(request)` calls `self.evaluate()`, which calls `self.sage()`), and those an event loop
        of the module calls on each turn (`while True: self.tick()`) with what they call in turn: a
        module function by its bare name, a method of the caller's class through `self.`. Not through
        one that runs once (a lazy initialiser, a set-up step): what it calls is made once, not per
        request."""
        reached = self.__dict__.get("_reached")
        if reached is None:
            by_name = {}
            for g in self.functions:
                if g.parent is None and not g.name.startswith("__"):
                    by_name.setdefault((g.cls, g.name), g)

            def callee_of(g, name):
                if name.startswith("self.") and name.count(".") == 1 and g is not None and g.cls is not None:
                    return by_name.get((g.cls, name[5:]))
                return by_name.get((None, name)) if "." not in name else None

            reached, todo = set(), [g for g in self.functions if handles_request(g)]
            seen = set(todo)
            turns = [callee_of(None, name) for name in self.loop_calls]
            turns += [callee_of(g, name) for g in self.functions for name, call in g.calls
                      if _serves_until_stopped(function_loop(g, call))]
            for callee in turns:
                if callee is not None and callee not in seen and not handles_request(callee) and not self.runs_once(callee):
                    seen.add(callee)
                    reached.add(callee)
                    todo.append(callee)
            while todo:
                g = todo.pop()
                for name, _ in g.calls:
                    callee = callee_of(g, name)
                    if callee is None or callee in seen or handles_request(callee) or self.runs_once(callee):
                        continue
                    seen.add(callee)
                    reached.add(callee)
                    todo.append(callee)
            self._reached = reached
        return reached

    def made_once(self):
        """Facts for any file about how many objects of a class (a CapWords name) the program makes:
        "once:NAME" where code runs once per process (at module level, `__main__` block included, in
        the program's main function: named `main` or running its main loop, or in a module function
        only the main calls, once, but not what that function returns), not in a loop, lambda or
        comprehension there (one object per turn or per call); "ctor:NAME" for what a constructor makes
        (one per instance of its class), with "init:CLASS:NAME" naming the class; "ref:NAME" for a class handed on uncalled (`HTTPServer(addr,
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
                # What it returns is handed to its caller: a factory (`def default(): return Counter()`)
                # makes one per call, and other modules may call it as often as they like.
                handed = _returned_calls(fn)
                once_calls.extend(c for c in _calls_once(fn.node.body) if id(c) not in handed)
        out.update("once:" + n for n in map(last_name, (c.func for c in once_calls)) if n and CLASS_NAME.match(n))
        # The module runs until it is stopped (a module-level event loop, `run_forever()`, a GUI's main
        # loop): what it makes once lives as long as a long-running process, even in an example.
        if self.loop_nodes or any((last_name(c.func) or "") in SERVE_LOOPS for g in self.functions for _, c in g.calls) \
                or any(n.rsplit(".", 1)[-1] in SERVE_LOOPS for n, _ in self.toplevel_calls):
            out.add("serves:")
        for fn in self.functions:
            if fn.cls is None:
                continue
            if fn.name in PER_INSTANCE:
                out.update("ctor:" + n for n in (last_name(c.func) for _, c in fn.calls) if n and CLASS_NAME.match(n))
                sites = fn.calls
            else:  # made lazily into the instance's slot: once per instance too
                lazy = _lazily_made(fn)
                sites = [(name, c) for name, c in fn.calls if lazy.get(id(c)) == "self"]
            # "init:CLASS:NAME" (NAME maybe "NAME~module"): the host counts NAME made per call (or per
            # request) wherever CLASS is.
            out.update("init:%s:%s" % (fn.cls.name, e) for name, _ in sites if CLASS_NAME.match(name.rsplit(".", 1)[-1])
                       for e in self.evidence_names(fn, name) if e[0] != "." and e.split("~")[0] != fn.cls.name)
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

    def class_bases(self):
        """"ext:CLASS:BASE" for each class of the module and each base it names: the host counts a
        class made per call, or per request, as its bases made so (their constructors and methods run
        for it), also when the base is defined in another file of the project."""
        return {"ext:%s:%s" % (name, base) for name, cls in self.classes.items()
                for base in (last_name(b) for b in cls.bases) if base and base != name and CLASS_NAME.match(base)}

    def runs_once(self, fn):
        """True for a function that runs a bounded number of times (import, set-up, registration),
        or that the module only calls from such functions."""
        memo = self.__dict__.setdefault("_once", {})
        if fn not in memo:
            memo[fn] = False  # while deciding (recursion): not once
            memo[fn] = self._runs_once(fn) or self._only_called_once(fn)
        return memo[fn]

    def _called_by_handler(self, fn):
        """A request handler (or a desktop program's callback of a click) of the module calls the function
        by name (`job = start_job(payload)` in `do_POST(self)`): it runs per request (per click), whatever
        its name says (`start_`, `setup_`, `load_`);
        what its body says (a guard that returns once a global is set) still holds."""
        if fn.parent is not None or fn.name.startswith("__"):
            return False
        calls = self.__dict__.get("_handler_calls")
        if calls is None:  # callees of the module's request handlers, bare and (class, `self.NAME`), found once
            calls = self._handler_calls = set()
            for g in self.functions:
                if handles_request(g) or clicked(g):
                    calls.update((g.cls, name) if name.startswith("self.") else name for name, _ in g.calls)
        return fn.name in calls if fn.cls is None else (fn.cls, "self." + fn.name) in calls

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
        if any(name == fn.name and event_loop_call(g, call, self.replays) for g in callers for name, call in g.calls):
            return False  # called on each turn of a caller's event loop
        return bool(callers) and all(self.runs_once(g) for g in callers)

    def _runs_once(self, fn):
        if fn.node.decorator_list and routed(fn):
            return False  # a web route runs per request, whatever its name (`@app.route("/setup")`)
        while fn is not None:
            if fn.name in self.module_calls or fn.returns_param:
                return True
            if ONCE_NAME.search(fn.name) and not self._called_by_handler(fn):
                return True
            if fn.returned & fn.nested and CALLABLE_PARAMS.intersection(fn.params):
                return True  # `def deco(func): def wrapper(...): ...; return wrapper`: once per decorated function
            if fn.parent is not None and fn.name in fn.parent.returned and CALLABLE_PARAMS.intersection(fn.params[:1]):
                return True  # `def section(name): def register(func): ...; return register`: once per decorated function
            if TEST_NAME.match(fn.name) and (fn.cls is None or TEST_CLASS.search(fn.cls.name)):
                return True
            if fn.cls is not None and TEST_DOUBLE.search(fn.cls.name):
                return True  # a test double's method runs for the tests (or a development mode), not in service
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
            if _parses_command_line(fn):
                return True  # `cli.parse_args(sys.argv[1:])`: the program's main, once per process
            fn = fn.parent if fn.parent is not None and fn.name in ("wrapper", "inner", "decorator") else None
        return False


def _lazy(fn, call):
    """The call's object fills a class-wide or global slot only while it is empty: once per process."""
    return _lazily_made(fn).get(id(call)) == "shared"


# A class's name as written (CapWords, with a lower-case letter: not a CONSTANT).
CLASS_NAME = re.compile(r"^_*[A-Z][A-Za-z0-9_]*[a-z][A-Za-z0-9_]*$")
# A module function that is the program's main: runs once per process.
MAIN_FUNCTION = re.compile(r"(^|_)main(_|$)")
# What runs its body any number of times: an object made there is one per turn, per call or per item.
_NOT_ONCE = (ast.For, ast.AsyncFor, ast.While, ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp,
             ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
# Calls that only look at a class: not handing it on to be made.
_TYPE_TESTS = {"isinstance", "issubclass", "super", "cast", "type", "hasattr", "getattr", "setattr", "id", "repr", "str"}


def _returned_calls(fn):
    """ids of the calls whose result the function returns: in a `return` (`return Pool([Worker()])`),
    or assigned to a name it returns (`pool = Pool(); ...; return pool`)."""
    out = set()
    for node in ast.walk(fn.node):
        if isinstance(node, ast.Return) and node.value is not None:
            out.update(id(n) for n in ast.walk(node.value) if isinstance(n, ast.Call))
        elif isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id in fn.returned for t in node.targets):
            out.update(id(n) for n in ast.walk(node.value) if isinstance(n, ast.Call))
    return out


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


# Command-line parsers, made to read the program's arguments.
ARG_PARSERS = {"ArgumentParser", "OptionParser"}


def _parses_command_line(fn):
    """The function hands the program's arguments to a parser: `sys.argv` (or a slice of it) as an
    argument of a call (`cli.parse_args(sys.argv[1:])`, `getopt.getopt(sys.argv[1:], "hv")`), or a parser
    it makes reads them itself (`parser = argparse.ArgumentParser(); args = parser.parse_args()`): it is
    a program's main, run once per process."""
    parsers, asked = set(), set()  # names bound to a parser made here; names whose parse_args() reads argv
    for node in ast.walk(fn.node):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) and last_name(node.value.func) in ARG_PARSERS:
            parsers.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.Call):
            if any(dotted(a.value if isinstance(a, ast.Subscript) else a) == "sys.argv" for a in node.args):
                return True
            f = node.func
            if isinstance(f, ast.Attribute) and f.attr in ("parse_args", "parse_known_args") and not node.args \
                    and isinstance(f.value, ast.Name):
                asked.add(f.value.id)
    return bool(parsers & asked)


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
