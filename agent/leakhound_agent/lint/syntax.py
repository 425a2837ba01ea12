"""Reading Python expressions as the rules need them: a callee's dotted name, what kind of container
an expression makes, whether a key is new on every call, and a fast walk over a node's children."""
import ast
import re

DICT_TYPES = {"dict", "defaultdict", "OrderedDict", "Counter"}
LIST_TYPES = {"list", "deque"}
SET_TYPES = {"set"}
WEAK_TYPES = {"WeakKeyDictionary", "WeakValueDictionary", "WeakSet"}


# Calls whose value is new on every call: a key made of one never repeats.
EVER_NEW = {"id", "object", "time", "monotonic", "perf_counter", "time_ns", "monotonic_ns",
            "uuid1", "uuid4", "random", "getrandbits", "urandom", "count", "current_thread",
            "get_ident"}
# Of those, the builtins and `itertools.count` are what they say only when called by that name, not as
# a method of something else (`test.id()`, `text.count("a")`).
EVER_NEW_BARE = {"id": ("id",), "object": ("object",), "count": ("count", "itertools.count")}


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
CHILD_FUNCTIONS = {}


def children_of(cls):
    """A function (node, out) appending the node's children, made once per node class: the fields
    in order, a list field's items (less None and strings where those can occur), a single field's
    node unless it is a Constant."""
    f = CHILD_FUNCTIONS.get(cls)
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
    f = CHILD_FUNCTIONS[cls] = scope["children"]
    return f


def children(node, out=None):
    """The direct child nodes worth visiting (ast.iter_child_nodes less contexts and operators), appended to out."""
    if out is None:
        out = []
    (CHILD_FUNCTIONS.get(node.__class__) or children_of(node.__class__))(node, out)
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


def class_like(name):
    """A name written as a class's (`Store`, `HTTPClient`, a private `_LockedProxy`), not a constant's
    (`STORE`) nor a module's."""
    name = name.lstrip("_")
    return name[:1].isupper() and not name.isupper()


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
EVER_NEW_KEY = re.compile(r"(?i)^(x-)?((message|msg|request|req|correlation|trace)[-_]?id|idempotency[-_]key)$")
ENTITY_ID_ATTR = re.compile(r"^_?(uuid|guid|ident)$")
# A local or parameter that holds the id of one request, message, event, run or transaction
# (`request_id`, `run_id`, a bridge's `command_event_id`, `txid`, an `idempotency_key`, which a client
# makes anew for each operation): new for each. Not a job's, a task's or a session's: those may be
# configured ones.
EVER_NEW_NAME = re.compile(r"(?i)^_?(\w+_)?(request|req|run|message|msg|correlation|trace|span|transaction|txn|tx|upload|download|"
                           r"ticket|call|invocation|execution|event)_?(id|uuid)$|^_?(txid|msgid|reqid|idempotency_key)$")
# Objects made per call, whose `.uuid` is new each time (a request's, a job's), unlike a device's.
PER_CALL_OWNER = re.compile(r"(?i)^_?(request|req|job|task|msg|message|event|session|call|upload|transfer|txn|transaction|conversation|conv)$")
LONG_LIVED = re.compile(r"(?i)^_?(mod|module|cls|klass|kls|type|typ|tp)$")


def _long_lived_id(call):
    """id(module), id(cls): ids of objects that live as long as the program."""
    if last_name(call.func) != "id" or not call.args:
        return False
    arg = call.args[0]
    return isinstance(arg, ast.Name) and bool(LONG_LIVED.match(arg.id))


# A random token or id, from the standard library (`secrets.token_hex(16)`) or from a helper of the
# project's named for one and handed at most sizes (`random_string(32)`, `generate_token()`).
RANDOM_TOKEN = frozenset(("token_hex", "token_urlsafe", "token_bytes"))
RANDOM_MAKER = re.compile(r"(?i)^_?(random_?(string|str|id|token|hex|chars)|(generate|gen|make|new|create)_?(token|uuid|guid|nonce|random_?(string|id)))$")


def ever_new_call(call):
    """A call whose value never repeats (`uuid4()`, `time()`, `id(x)` of a short-lived x, a random
    token)."""
    name = last_name(call.func)
    if name in RANDOM_TOKEN or RANDOM_MAKER.match(name or "") and all(isinstance(a, ast.Constant) for a in call.args) \
            and all(isinstance(k.value, ast.Constant) for k in call.keywords):
        return True
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
        if isinstance(node, ast.Call) and ever_new_call(node):
            return True
    for node in ast.walk(expr):
        if isinstance(node, ast.Subscript):
            k = subscript_key(node)
            if isinstance(k, ast.Constant) and isinstance(k.value, str) and EVER_NEW_KEY.match(k.value):
                return True
        if isinstance(node, ast.Attribute) and EVER_NEW_ATTR.match(node.attr) and (
                entity_ids or not ENTITY_ID_ATTR.match(node.attr) or PER_CALL_OWNER.match(last_name(node.value) or "")):
            return True  # `session.token`, `request.request_id`: an identifier of a per-call object
        if isinstance(node, ast.Attribute) and PER_CALL_OWNER.match(last_name(node.value) or "") and (
                node.attr == "id" or node.attr.lower() in (last_name(node.value).lower().lstrip("_") + "_id",
                                                           last_name(node.value).lower().lstrip("_") + "_uuid")):
            return True  # `ctx.session.id`, `message.id`, `job.job_id`: the id of a per-call object
        if isinstance(node, ast.Name) and EVER_NEW_NAME.match(node.id):
            return True
    return holds_self(expr)


def holds_self(expr):
    """`self`, or a tuple with `self` in it (`T[self, name]`): a key that holds the instance itself."""
    return isinstance(expr, ast.Name) and expr.id == "self" or (
        isinstance(expr, ast.Tuple) and any(isinstance(e, ast.Name) and e.id == "self" for e in expr.elts))


def assign_parts(stmt):
    if isinstance(stmt, ast.Assign):
        return stmt.targets, stmt.value
    if isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
        return [stmt.target], stmt.value
    return [], None


def as_load(target):
    if isinstance(target, ast.Name):
        return ast.Name(id=target.id, ctx=ast.Load())
    return ast.Attribute(value=target.value, attr=target.attr, ctx=ast.Load())


def class_methods(cls):
    """{name: def} of the functions a class body defines (the last of a name wins, as in Python)."""
    return {n.name: n for n in cls.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}


# A flag that says the code runs under a test suite: `TESTING`, `app.testing`, `is_testing()`,
# `settings.UNIT_TEST`, `config["TESTING"]`, `os.environ.get("TESTING")`. Not a bare `test` or `tests`:
# in a test runner's own code that is its data (`if tests: results.append(...)`).
TESTING_FLAG = re.compile(r"(?i)^_*(is_|in_|running_|under_)?(unit_?)?(test|tests|testing|pytest)(_mode|_env|_environment|_run|_running)?_*$")
DATA_NAMES = frozenset(("test", "tests", "pytest"))


def _flag_name(name):
    return bool(name) and bool(TESTING_FLAG.match(name)) and name.strip("_").lower() not in DATA_NAMES


def _testing_flag(expr):
    if isinstance(expr, ast.Call):
        if any(isinstance(a, ast.Constant) and isinstance(a.value, str) and TESTING_FLAG.match(a.value) for a in expr.args[:1]):
            return last_name(expr.func) in ("get", "getenv", "getboolean", "getbool", "bool")
        return not expr.args and not expr.keywords and _flag_name(last_name(expr.func))
    if isinstance(expr, ast.Subscript):
        key = subscript_key(expr)
        return isinstance(key, ast.Constant) and isinstance(key.value, str) and bool(TESTING_FLAG.match(key.value))
    if isinstance(expr, ast.Compare) and len(expr.ops) == 1 and isinstance(expr.ops[0], ast.In):
        # `"pytest" in sys.modules`
        return isinstance(expr.left, ast.Constant) and expr.left.value in ("pytest", "unittest")
    if isinstance(expr, (ast.Name, ast.Attribute)):
        return _flag_name(last_name(expr))
    return False


def testing_branch(test):
    """Which branch of an `if` runs only under a test suite: "body" for `if TESTING:` (or
    `if app.testing and x:`, `if TESTING or "pytest" in sys.modules:`), "orelse" for `if not TESTING:`;
    None when neither."""
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return "orelse" if _testing_flag(test.operand) else None
    if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.Or):  # `if TESTING or "pytest" in sys.modules:`
        return "body" if all(_testing_flag(p) for p in test.values) else None
    parts = test.values if isinstance(test, ast.BoolOp) else [test]
    return "body" if any(_testing_flag(p) for p in parts) else None
