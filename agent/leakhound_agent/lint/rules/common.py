"""Small helpers the rules share."""
import ast
import copy
import re

from ..percall import handles_request, route_takes_values, routed
from ..runs import PER_INSTANCE
from ..syntax import class_like, dotted, ever_new, last_name, subscript_key
from .guards import parents, stored_value


# Why a finding is of low confidence by its nature (see rules/__init__.py): the code shows something
# that may leak, but as often it is bounded by what the code cannot say.
WEAK_IDENTITY = ("it is keyed by the identity (`id()`) of objects, which are often a few long-lived ones "
                 "(a client, an engine, the program's code)")
WEAK_LAST_ONE = "it keeps one exception at a time, replaced by the next: memory held, but not growing"
WEAK_LIST_DEFAULT = ("a list default grows only in the calls that leave the argument out, and callers often pass "
                     "their own (a shared-default bug more than a leak)")
WEAK_BASE_CASE = ("the function adds to it only in its recursion's base case, and hands each recursive call a "
                  "new value of its own: the shared default grows only when a call from outside ends at once")
WEAK_PER_ENDPOINT = ("it keeps an object made for each URL or pattern (a client, a store, a compiled pattern), and "
                     "those usually come from the program's configuration: as many as its endpoints")
WEAK_CLIENT = ("it keeps a client of a service made for each key (an account's login, a server's address), and a "
               "program makes those for the accounts and endpoints it is configured with: as many as those")
WEAK_THREAD_KEY = ("it is keyed by a thread's ident or name: the interpreter reuses idents once a thread ends, "
                   "and a pool's threads keep their names, so it is bounded by the threads that run at once, as a rule")
WEAK_ENTITY_KEY = ("it is keyed by the id or name of a party the data is for or comes from (a chat, a user, an "
                   "account, a node or device of the system): one entry per such party, as many as the program "
                   "talks to, which is often a few")
WEAK_STATE_PER_KEY = ("it keeps a time or a small state per key (a lock's expiry, a rate limit's recent attempts, a "
                      "last-seen time), not a result: one entry per peer or resource it tracks, which is often a few")
WEAK_ENTITY_ID = ("it is keyed by the id (`.guid`, `.uuid`, or one it looks stored rows up by) of an object the program "
                  "tracks or stores (a creature, a port, a device, an event it sells tickets for), not of a request: one "
                  "entry per such object, which is often a bounded set")
WEAK_REGISTRY = ("it registers each instance under the id of the thing it stands for (a port, a device, a peer), "
                 "replacing the one made before for it: one entry per such thing, which is often a bounded set")
WEAK_LOGGED_ONCE = ("it records what was already logged or warned, so that each message is written once: one entry "
                    "per distinct message, and a program's messages are as many as its code writes, as a rule")


def logged_once_text(c, fn):
    """why and fix for a table of what was already logged (see guards.logged_once)."""
    why = "%s keeps every message %s has already logged, so that each is written once, and nothing removes them: one entry per distinct message." % (
        where(c), fn_label(fn))
    fix = ("Key it by the kind of message (a fixed id per call site), not by values it carries, or bound it "
           "(`functools.lru_cache(maxsize=N)` on a function that logs).")
    return why, fix


WEAK_RECEIVER_ONLY = ("its `connect()` is handed only the receiver, as a Django, blinker, psygnal or PyDispatcher "
                      "signal's is, and those hold a bound method weakly unless told otherwise (`weak=False`)")
WEAK_SAME_CALLBACK = ("it registers the same module-level function with no arguments each time: each call adds only a "
                      "small entry (and one more run at exit), and keeps nothing of its own")
WEAK_THREAD_TABLE = ("a per-thread table keyed by values is bounded by the threads and by its keys, which "
                     "often come from a small set (database URLs, configured codes)")


WEAK_GUI = ("the module belongs to a desktop program (it imports a GUI toolkit): what its functions add grows with "
            "what one person does in a window (a port typed in, a file picked), as a rule, not with traffic")


WEAK_ADDED_KIND = ("it grows only on events of one kind, ones that say something was added or connected (a device "
                   "plugged in, a member joined): as many as those, which come now and then")
# An event's kind that says something came: "joy-device-added", "member_joined", "client.connected".
ADDED_KIND = re.compile(r"(?i)(added|connected|joined|attached|plugged|registered)$|[-_.]add$")


def on_added_kind(fn, node):
    """The growth sits in the body of an `if` that tests that the event's kind is one that says
    something was added (`if event["type"] == "joy-device-added":`, `elif msg.kind == "member_joined":`)."""
    up = parents(fn.node)
    child, cur = node, up.get(id(node))
    while cur is not None and cur is not fn.node:
        if isinstance(cur, ast.If) and any(child is b for b in cur.body) and isinstance(cur.test, ast.Compare) \
                and len(cur.test.ops) == 1 and isinstance(cur.test.ops[0], ast.Eq) and any(
                    isinstance(x, ast.Constant) and isinstance(x.value, str) and ADDED_KIND.search(x.value)
                    for x in [cur.test.left] + cur.test.comparators):
            return True
        child, cur = cur, up.get(id(cur))
    return False


def gui_module(facts, games=True):
    """The module imports a GUI toolkit, at its top or in a function (with games False, not only a game
    library: a desktop program's, see percall.GUI_MODULES and facts._toolkits)."""
    return facts.desktop if not games else bool(facts.toolkits)


# Qt's handlers of input and drawing events, which the toolkit calls per key, per mouse move, per frame:
# what they add grows with every event, not with what one person asks for now and then.
QT_INPUT_EVENT = re.compile(r"^(key(Press|Release)|mouse(Press|Release|Move|DoubleClick)|wheel|paint|timer|"
                            r"hover(Enter|Leave|Move)|drag(Enter|Move)|tablet|touch)Event$")


def input_event_handler(fn):
    """A method that a GUI toolkit calls per input or drawing event (`keyPressEvent(self, event)`)."""
    return fn.cls is not None and bool(QT_INPUT_EVENT.match(fn.name))


def keyed_by_identity(fn, key):
    """The key is made with `id(...)`, also through a local (`tplid = (id(lookup), name)`)."""
    return key is not None and any(
        isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "id" for n in ast.walk(made_of(fn, key)))


WEAK_ADDRESS = ("it is keyed by the address (`id()`) of objects it does not keep: once one is freed, the next object "
                "may get the same address, so the table stops growing at the addresses those objects take (stale "
                "entries, not every object)")


def keyed_by_address_only(fn, key, value):
    """The key is `id(x)` of a name x (also through a local) that the stored value does not hold: the
    table does not keep x alive, so its address is free for the next object once x is gone."""
    if key is None:
        return False
    ids = [n.args[0] for n in ast.walk(made_of(fn, key)) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
           and n.func.id == "id" and len(n.args) == 1]
    if not ids or not all(isinstance(a, ast.Name) and a.id != "self" for a in ids):
        return False
    held = made_of(fn, value) if value is not None else None
    return held is not None and not mentions(held, names={a.id for a in ids})


def address_keyed(fn, c, node, key, value):
    """A growth of a table (or set) under `id(x)` that does not keep x (see keyed_by_address_only)."""
    if c.kind == "list":
        return False
    if c.kind == "set":
        return keyed_by_address_only(fn, value, ast.Constant(value=None))
    return keyed_by_address_only(fn, key, stored_value(node, fn, value))


# Calls that look stored rows up by keyword (`Product.objects.filter(event_id=event_id)`, `Session.get(pk=key)`).
QUERY_CALLS = frozenset(("filter", "filter_by", "get", "get_or_none", "exclude", "where", "select", "find", "find_one",
                         "get_object_or_404", "get_list_or_404"))


def looks_up_rows_by(fn, key):
    """The function hands the key (a name) to a query as a keyword argument (`filter(event_id=event_id)`):
    it is the id of a stored row, one of as many as the table has, not one made per call."""
    return isinstance(key, ast.Name) and any(
        isinstance(n, ast.Call) and last_name(n.func) in QUERY_CALLS
        and any(isinstance(k.value, ast.Name) and k.value.id == key.id for k in n.keywords)
        for n in ast.walk(fn.node))


def keyed_by_thread(fn, key):
    """The key is made with `threading.get_ident()`, `get_native_id()`, a thread's `.ident` /
    `.native_id`, or the running thread's name (`current_thread().name`, `.getName()`), also through a
    local."""
    return key is not None and any(
        isinstance(n, ast.Call) and last_name(n.func) in ("get_ident", "get_native_id")
        or isinstance(n, ast.Attribute) and n.attr in ("ident", "native_id")
        or isinstance(n, ast.Attribute) and n.attr in ("name", "getName") and isinstance(n.value, ast.Call)
        and last_name(n.value.func) in ("current_thread", "currentThread")
        for n in ast.walk(made_of(fn, key)))


def where(container):
    """'the module-level list `_seen`' / 'the class attribute `Pool.items`' / '`self.items` (a dict) of
    `Pool`, an object the program makes once,'."""
    kind = {"dict": "dict", "defaultdict": "defaultdict", "list": "list", "set": "set"}.get(container.kind, "container")
    if container.key.startswith("i:"):
        cls, attr = container.name.split(".", 1)
        return "`self.%s` (a %s) of `%s`, an object the program makes once, so it lives as long as the process," % (attr, kind, cls)
    scope = "class attribute" if container.key.startswith("c:") else "module-level %s" % kind
    if container.key.startswith("c:"):
        return "the class attribute `%s` (a %s)" % (container.name, kind)
    return "the %s `%s`" % (scope, container.name)


def written(container):
    """How the code names the container: `_seen`, `Pool.items`, `self.items` (an instance's)."""
    if container.key.startswith("i:"):
        return "self." + container.name.split(".", 1)[1]
    return container.name


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


# Not file names or paths: they name files on disk (configuration, word lists, dictionaries, static
# files, the project's sources), a bounded set as a rule.
DATA_PARAMS = re.compile(r"^(text|data|content|body|payload|url|uri|query|sql|"
                         r"pattern|line|source|request|message|msg|string|s|html|xml|json|doc|document)$")


def made_of(fn, key):
    """The key and, for a local name, what the function assigns to it (`key = (text, n)`)."""
    if not isinstance(key, ast.Name) or key.id in fn.params:
        return key
    values = [n.value for n in ast.walk(fn.node) if isinstance(n, ast.Assign)
              and any(isinstance(t, ast.Name) and t.id == key.id for t in n.targets)]
    return ast.Tuple(elts=[key] + values, ctx=ast.Load())


def entry_made_of(fn, key):
    """For a key read from a dict the function builds (`job = {"job_id": f"sync-{uuid4().hex}", ...}`,
    then `JOBS[job["job_id"]] = job`): what the function stores under that key of that local, or None."""
    if not (isinstance(key, ast.Subscript) and isinstance(key.value, ast.Name) and key.value.id not in fn.params):
        return None
    k = subscript_key(key)
    if not (isinstance(k, ast.Constant) and isinstance(k.value, str)):
        return None
    name, values = key.value.id, []

    def same_entry(t):  # `name["k"] = ...`
        tk = subscript_key(t) if isinstance(t, ast.Subscript) and isinstance(t.value, ast.Name) and t.value.id == name else None
        return isinstance(tk, ast.Constant) and tk.value == k.value

    for n in ast.walk(fn.node):
        if not isinstance(n, ast.Assign):
            continue
        if isinstance(n.value, ast.Dict) and any(isinstance(t, ast.Name) and t.id == name for t in n.targets):
            values += [v for kk, v in zip(n.value.keys, n.value.values) if isinstance(kk, ast.Constant) and kk.value == k.value]
        elif any(same_entry(t) for t in n.targets):
            values.append(n.value)
    return ast.Tuple(elts=values, ctx=ast.Load()) if values else None


# Text that is the program's own code, as a rule: the SQL of its queries, the source of its
# expressions (an ORM's string queries, a template's code). A memo keyed by it holds one entry per
# query the code has, bounded by the code. So is text the function parses or compiles as Python.
CODE_TEXT_PARAMS = frozenset(("sql", "source"))
PARSERS = frozenset(("ast.parse", "compile", "eval", "exec"))  # not `re.compile`: a pattern may be data


# A function or a call named for file paths (`normcase(s)`, `os.path.realpath(s)`, `to_filename(s)`):
# its text is a file's path, whatever the parameter is called, and files are a bounded set as a rule.
PATH_WORDS = re.compile(r"(?i)(path|normcase|filename|file_name)")


def _path_text(fn, p):
    if PATH_WORDS.search(fn.name):
        return True
    paths = getattr(fn, "_path_args", None)
    if paths is None:  # the names handed first to a path function, found once per function
        paths = fn._path_args = {n.args[0].id for n in ast.walk(fn.node) if isinstance(n, ast.Call) and n.args
                                 and isinstance(n.args[0], ast.Name) and PATH_WORDS.search(dotted(n.func) or "")}
    return p in paths


def _code_text(fn, p):
    if p in CODE_TEXT_PARAMS:
        return True
    return any(isinstance(n, ast.Call) and dotted(n.func) in PARSERS and any(mentions(a, names=(p,)) for a in n.args[:1])
               for n in ast.walk(fn.node))


# Attributes of data that come from a small set, not from the data itself: the file it came from
# (`document.path`), its kind (`msg.command`, `request.method`, `event.type`), where it was sent
# (`url.hostname`). A key made only of those is bounded by the files, the kinds, the hosts.
PATH_ATTRS = frozenset(("path", "filename", "file_name", "filepath", "file_path", "fspath"))
KIND_ATTRS = frozenset(("command", "method", "kind", "type", "level", "levelname", "status", "status_code",
                        "action", "op", "opcode", "event_type", "category", "msg_type", "message_type"))
HOST_ATTRS = frozenset(("hostname", "host", "netloc", "scheme", "port"))
URL_SPLITTERS = frozenset(("urlparse", "urlsplit", "URL"))


def _bounded_use(node, p):
    """`p.path`, `p.command`, `p.hostname`, `urlparse(p).hostname`: a part of `p` from a small set."""
    if not isinstance(node, ast.Attribute) or node.attr not in PATH_ATTRS | KIND_ATTRS | HOST_ATTRS:
        return False
    v = node.value
    if isinstance(v, ast.Name) and v.id == p:
        return True
    return node.attr in HOST_ATTRS and isinstance(v, ast.Call) and last_name(v.func) in URL_SPLITTERS \
        and v.args[:1] and isinstance(v.args[0], ast.Name) and v.args[0].id == p


def _every_use(key, p, use):
    """`p` is used in the key, and every use of it is one `use(node, p)` accepts (the outermost node of
    a use counts once: `query.peer.chat_id` is one use)."""
    uses = sum(1 for n in ast.walk(key) if isinstance(n, ast.Name) and n.id == p)
    accepted, todo = 0, [key]
    while todo:
        n = todo.pop()
        if use(n, p):
            accepted += 1
        else:
            todo.extend(ast.iter_child_nodes(n))
    return uses > 0 and uses == accepted


def _only_kind_parts(key, p):
    """Every use of `p` in the key is its kind or host (`request.method`, `request.host`), not its path."""
    return _every_use(key, p, lambda node, p: _bounded_use(node, p) and node.attr not in PATH_ATTRS)


def _only_bounded_parts(key, p):
    """Every use of `p` in the key is a part of it from a small set (see _bounded_use)."""
    return _every_use(key, p, _bounded_use)


# An attribute that names whom the data is for, not what it says: `msg.chat.id`, `query.user_id`.
ENTITY_ATTR = re.compile(r"^(id|.+_id|.+Id)$")
# An attribute of a message that names a party of the system it comes from or goes to: a ROS node
# (`msg.node_sub`, `msg.node_pub`), a topic, a sender, a device, a host, a peer.
PARTY_ATTR = re.compile(r"^(node|node_\w+|\w+_node|topic|sender|publisher|subscriber|device|device_name|host|hostname|peer)$")


def _entity_use(node, p):
    """`p.chat_id`, `p.message.chat.id`, `msg.node_sub`: an id attribute, or one naming a party, on `p`
    or on a part of it."""
    if not isinstance(node, ast.Attribute) or not (ENTITY_ATTR.match(node.attr) or PARTY_ATTR.match(node.attr)):
        return False
    v = node.value
    while isinstance(v, ast.Attribute):
        v = v.value
    return isinstance(v, ast.Name) and v.id == p


def keyed_by_entity(fn, key):
    """Every free-form-data parameter the key is made of is used there only through an id attribute
    (`int(query.peer.chat_id)`, `chat_id = query.message.chat.id`), or the key is named for the party
    (a parameter `username`, or a local one made of no parameter) or for the channel or room the
    message came in (PLACE_NAME): a table per chat, user or channel."""
    if key is None:
        return False
    made = made_of(fn, key)
    if ever_new(made):
        return False
    if isinstance(key, ast.Name) and PLACE_NAME.match(key.id):
        return True  # `currentChannel = msg.args[0]`: an IRC bot's table per channel it sits in
    made = _without_tests(made)
    data = [p for p in fn.params if DATA_PARAMS.match(p) and mentions(made, names=(p,))]
    if data:
        return all(_every_use(made, p, _entity_use) for p in data)
    # `/todos/<username>`: a parameter named for the party itself, and nothing else of the call's.
    used = [p for p in fn.params if mentions(made, names=(p,))]
    if used:
        return all(ENTITY_PARAM.match(p) for p in used)
    # `username = request.form.get("username")` in a route: a local named for the party, made of no
    # parameter of the function's.
    return isinstance(key, ast.Name) and bool(ENTITY_PARAM.match(key.id))


# A parameter that names whom the data is for: a user, an account, a chat.
ENTITY_PARAM = re.compile(r"(?i)^_?(user|username|user_name|user_id|userid|uid|account|account_id|login|email|"
                          r"chat|chat_id|peer_id|guild_id|channel_id|member_id|customer_id|tenant|tenant_id)$")


# A local that names the channel, room or guild a message came in (whatever it is read from): the
# places a bot sits in, as many as it has joined.
PLACE_NAME = re.compile(r"(?i)^_?(current_?|this_?)?(channel|chan|room|guild)(_?(id|name))?$")


class _BranchValues(ast.NodeTransformer):
    def visit_IfExp(self, node):
        return ast.Tuple(elts=[self.visit(node.body), self.visit(node.orelse)], ctx=ast.Load())


def _without_tests(expr):
    """The expression with each `a if test else b` replaced by its two values: the test only picks one
    (`message.guild.id if message.guild else message.author.id` is keyed by an id either way)."""
    if not any(isinstance(n, ast.IfExp) for n in ast.walk(expr)):
        return expr
    return _BranchValues().visit(copy.deepcopy(expr))


def _data_keyed(fn, key):
    """The key is a parameter (or made of one) whose name says it carries free-form data (not code,
    nor only its file, kind or host); or, in a function a web framework runs per request (a route, a
    template tag), any parameter but the framework's own (the route's `<uuid>`, what a page renders)
    or what the request carries (Flask's and Quart's `request.path`)."""
    served = routed(fn)
    # The request's path is one of the routes' few, unless the route takes values in it.
    if served and "request" not in fn.params and "request" not in fn.locals and mentions(key, names=("request",)) \
            and (not _only_bounded_parts(key, "request") or route_takes_values(fn) and not _only_kind_parts(key, "request")):
        return True
    return any((DATA_PARAMS.match(p) or served and p not in TEMPLATE_CONTEXT and not OWN_RESOURCE.search(p))
               and mentions(key, names=(p,)) and not _code_text(fn, p) and not _path_text(fn, p) and not _only_bounded_parts(key, p)
               for p in fn.params)


# What a template tag is handed besides the values a page renders with it.
TEMPLATE_CONTEXT = frozenset(("self", "cls", "context", "ctx", "request", "environment", "env", "eval_ctx"))
# A parameter that names one of the program's own files, templates, settings or fields, or a place, a
# number or a mode from a small set: templates and links pass the few the program has
# (`{{ static_cachebuster('css/main.css') }}`), a cluster's members the few ports and ranks it has.
OWN_RESOURCE = re.compile(r"(?i)(^|_)(file|filename|path|name|template|static|asset|resource|view|setting|"
                          r"key|field|attr|format|fmt|lang|language|locale|size|kind|type|"
                          r"port|host|hostname|address|addr|rank|index|idx|num|count|level|mode|version|page)s?$")


def open_key(fn, key, entity_ids=True):
    """The key keeps changing: ever-new (id(), time(), uuid4(), self), or made from a parameter that
    names free-form data (`hash(text)` included). Keys made of names, numbers or classes are not:
    most have as many values as the code has call sites. With entity_ids False, the `.uuid` of an
    object is not enough (see syntax.ever_new)."""
    made = made_of(fn, key)
    return ever_new(made, entity_ids) or _data_keyed(fn, made)


# Parameters that say where something is, not what it holds: a program asks for one client or store
# per endpoint, one compiled matcher per pattern, and takes both from its configuration.
LOCATOR_PARAMS = frozenset(("url", "uri", "pattern"))
# What makes an object for a locator, besides calling a class (`FileStore(url)`, `cls(base_url=...)`,
# `super().__new__(cls)` in a class that hands back one instance per URL).
MAKERS = frozenset(("compile", "connect", "create_engine", "create_client", "client", "session", "__new__"))
# ... and a constructor named for what it makes, or for the locator it makes it from: `open_connection`,
# `connectionFromURI`, `Redis.from_url`.
MAKER_NAME = re.compile(r"(?i)^(connect|\w*_connection|\w*connection_?from_?\w*|\w*from_?ur[il])$")


# Classes whose objects are what a locator holds (a page, a response), not what serves it.
CONTENT_CLASS = re.compile(r"(Response|Result|Page|Document|Message|Record|Data|Content|Item|Entry|Text)$")


def _makes_object(expr):
    """A call that makes an object that serves a locator: a class (CamelCase, `cls`; not one named for
    content, like `Response`) or a maker (`re.compile`, `connect`)."""
    if not isinstance(expr, ast.Call):
        return False
    name = last_name(expr.func)
    if not name:
        return False
    return name in ("cls", "klass") or name.endswith(("_cls", "_class", "_klass")) or name in MAKERS \
        or MAKER_NAME.match(name) is not None or (class_like(name) and not CONTENT_CLASS.search(name))


def per_endpoint(fn, node, key, value):
    """A memo whose key is made only of locator parameters (`url`, `uri`, `pattern`) and whose value
    is an object made for it (also through a local): a client or a store per endpoint, a compiled
    pattern per pattern. Bounded by the endpoints the program is configured with, as a rule."""
    made = made_of(fn, key)
    data = [p for p in fn.params if DATA_PARAMS.match(p) and mentions(made, names=(p,))]
    if not data or any(p not in LOCATOR_PARAMS for p in data) or ever_new(made):
        return False
    value = stored_value(node, fn, value)  # `C[k] = value`: the assignment holds it
    if value is None:
        return False
    # The value, or any part of a tuple of them (`(compiled, text, decoders)`), also through a local.
    parts = list(value.elts) if isinstance(value, ast.Tuple) else [value]
    for part in parts:
        made = made_of(fn, part)
        if any(_makes_object(v) for v in [made] + list(getattr(made, "elts", []))):
            return True
    return False


# A class that makes a client of a service: `TuyaOpenAPI`, `HTTPClient`, `requests.Session`, `RedisConnection`.
CLIENT_CLASS = re.compile(r"(Client|API|Api|Session|Connection|Connector)$")


def keeps_client(fn, node, key, value):
    """The entry holds a client of a service that the function makes (`api = TuyaOpenAPI(endpoint=...,
    access_id=...)`, then `_cache[key] = CacheItem(api, data)`), under a key that does repeat: a program
    opens a client per account or endpoint it is configured with, so the table holds as many."""
    if ever_new(made_of(fn, key)):
        return False
    value = stored_value(node, fn, value)
    if value is None:
        return False
    parts = [value] + (list(value.args) + [k.value for k in value.keywords] if isinstance(value, ast.Call) else
                       list(getattr(value, "elts", [])))
    for part in parts:
        made = made_of(fn, part)
        for m in [made] + list(getattr(made, "elts", [])):
            name = last_name(m.func) if isinstance(m, ast.Call) else None
            if name and CLIENT_CLASS.search(name) and class_like(name):
                return True
    return False


def made_many(facts, fn):
    """The extra field of a finding that needs evidence that `fn` runs many times: a list of
    alternatives, each a list of names that must all be called from functions that run per call
    somewhere (the host decides: see main.py). None needed for a function whose parameters say it
    handles a request, an event or a message (`handle(self, request)`): it runs per request."""
    if fn.name not in PER_INSTANCE and handles_request(fn):
        return ()
    if fn.cls is None:
        outer = caller_of_nested(fn)
        return made_many(facts, outer) if outer is not None else ([[fn.name]],)
    family = facts.class_family(fn.cls)
    if fn.name in PER_INSTANCE:
        return ([[c] for c in family],)
    return (method_needs(family, fn.name),)


def runs_per_call(facts, fn):
    """made_many, but a class's or a static method runs without an instance (`Helper.plot(...)`,
    `StorageHelper.get(url)`): its name called per call is enough."""
    if fn.cls is not None and {"classmethod", "staticmethod"} & set(fn.decorators):
        return ([[fn.name]],)
    return made_many(facts, fn)


# Calls that digest content: a key made with one names what it was made from, and the program expects
# any content there (a cache of analyses by text hash, of files by SHA-256).
HASH_CALLS = ("hash", "md5", "sha1", "sha224", "sha256", "sha384", "sha512", "blake2b", "blake2s", "hexdigest", "digest")


def data_key_needs(facts, fn, key):
    """The evidence a memo of fn keyed by data needs (see main.py's "needs"): that fn runs per call (see
    runs_per_call), since a memo of names grows only with the program's own vocabulary otherwise; None
    when it needs none: a key that never repeats, a digest of content, or fn handles a request."""
    if ever_new(key) or mentions(made_of(fn, key), calls=HASH_CALLS):
        return None
    return next(iter(runs_per_call(facts, fn)), None)


def caller_of_nested(fn):
    """The function a nested function is defined in, when that function calls it by name (`def
    _add(x): ...` then `_add(item)`): it runs when that one runs; else None (returned, passed on)."""
    outer = fn.parent
    if outer is None or not any(name == fn.name for name, _ in outer.calls):
        return None
    return outer


def method_needs(family, name):
    """A method runs per call when its class (or a subclass) is made per call and the method is called
    per call: through an instance (`.name`, see ModuleFacts.evidence_name) or through its class."""
    return [[c, m] for c in family for m in ("." + name, name)]


def unbounded_cache_decorator(dec, facts):
    """True for @cache, @functools.cache, @lru_cache(maxsize=None), @lru_cache(None). A bare `cache`
    that the module defines or imports from elsewhere than functools is not functools' (pytube's
    `helpers.cache` is `lru_cache()`, bounded)."""
    name = last_name(dec)
    if name == "cache":
        if dotted(dec) == "cache" and (facts.imported_from.get("cache", "functools") != "functools" or "cache" in facts.defined):
            return False
        return not isinstance(dec, ast.Call) and dotted(dec) in ("cache", "functools.cache")
    if name == "lru_cache" and isinstance(dec, ast.Call):
        args = list(dec.args[:1]) + [k.value for k in dec.keywords if k.arg == "maxsize"]
        return any(isinstance(a, ast.Constant) and a.value is None for a in args)
    return False


# A name that says it holds the identifier of one job, request, session, connection, message, ...
PER_CALL_ID = re.compile(
    r"(?i)^_?(job|task|request|req|session|sess|conn|connection|client|order|message|msg|trace|span|call|"
    r"transaction|txn|user|upload|download|stream|chat|conversation|ticket)_?(id|uuid|key)$|^_?(uuid|guid)$")


def _read_names(expr):
    """The plain names and attribute names an expression reads."""
    for node in ast.walk(expr):
        if isinstance(node, ast.Name):
            yield node.id
        elif isinstance(node, ast.Attribute):
            yield node.attr


# Calls that make a new thing of the world (a thread, a channel, a session) rather than look one up.
CREATES = re.compile(r"^_?(create|new|open|start|spawn)(_|$)")
# The id an object gets as it is made (a widget's `model_id`, a record's `uuid`).
OWN_ID_ATTRS = frozenset(("id", "uuid", "guid", "uid", "model_id"))


def made_here_id(fn, key):
    """The key is the id of what the function itself just made from no value its id could come from:
    `thread = await msg.create_thread(name=...)` or `iw = Image()`, then `sessions[thread.id]`,
    `tracked[iw.model_id]`: a new one each call. Not `schema = create_schema(row)` nor
    `Record(id=row.id)`: those carry the id of what they were made from."""
    if not (isinstance(key, ast.Attribute) and key.attr in OWN_ID_ATTRS and isinstance(key.value, ast.Name)):
        return False
    name = key.value.id
    for n in ast.walk(fn.node):
        if isinstance(n, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in n.targets):
            v = n.value.value if isinstance(n.value, ast.Await) else n.value
            if isinstance(v, ast.Call) and (CREATES.match(last_name(v) or "") or class_like(last_name(v) or "")) \
                    and not v.args and not any(k.arg is None or k.arg in OWN_ID_ATTRS or k.arg == key.attr for k in v.keywords):
                return True  # made from no value its id could be taken from (`create_schema(row)` is the row's)
    return False


def counted_key(fn, key):
    """The key is a counter the function steps and that outlives the call (`global N; N += 1`, then
    `JOBS[N] = job`; `self.seq += 1`, then `self.pending[self.seq] = fut`): new on every call. Not a
    local counter, which starts again with each call."""
    if isinstance(key, ast.Name):
        if not any(isinstance(n, ast.Global) and key.id in n.names for n in ast.walk(fn.node)):
            return False
        same = lambda t: isinstance(t, ast.Name) and t.id == key.id
    elif isinstance(key, ast.Attribute) and isinstance(key.value, ast.Name) and key.value.id in ("self", "cls"):
        same = lambda t: isinstance(t, ast.Attribute) and t.attr == key.attr and isinstance(t.value, ast.Name) \
            and t.value.id == key.value.id
    else:
        return False
    return any(isinstance(n, ast.AugAssign) and isinstance(n.op, ast.Add) and same(n.target)
               and isinstance(n.value, ast.Constant) and isinstance(n.value.value, int) and n.value.value > 0
               for n in ast.walk(fn.node))


def made_anew(fn, key, container=None):
    """The function itself makes the key new on each call: the id of what it just made (made_here_id),
    an ever-new value it stores in a dict it builds (entry_made_of), a counter it steps
    (counted_key), or a name it steps until the container lacks it (stepped_past). What global- and
    singleton-container-growth both read besides the key itself."""
    return made_here_id(fn, key) or ever_new(entry_made_of(fn, key)) or counted_key(fn, key) or \
        container is not None and stepped_past(fn, key, container)


def stepped_past(fn, key, container):
    """`while name in C: name = next_name(name)` before the key is stored: the function makes the name
    unique against the container itself (`id += "-1"`), so each call adds one the container lacks."""
    if not isinstance(key, ast.Name):
        return False
    short = container.name.split(".")[-1]
    for n in ast.walk(fn.node):
        if isinstance(n, ast.While) and isinstance(n.test, ast.Compare) and len(n.test.ops) == 1 \
                and isinstance(n.test.ops[0], ast.In) and isinstance(n.test.left, ast.Name) and n.test.left.id == key.id \
                and last_name(n.test.comparators[0]) == short \
                and any(isinstance(t, ast.Name) and t.id == key.id for s in ast.walk(n)
                        if isinstance(s, (ast.Assign, ast.AugAssign)) for t in (s.targets if isinstance(s, ast.Assign) else [s.target])):
            return True
    return False


def per_call_value(fn, expr):
    """The expression (or, for a local, what the function assigns to it) carries an identifier of a
    per-call object: an ever-new value (`id()`, `uuid4()`, `time()`, `request.request_id`) or a name
    that says it is one (`job_id`, `session_id`)."""
    made = made_of(fn, expr)
    return ever_new(made) or any(PER_CALL_ID.match(n) for n in _read_names(made))


TIME_CALLS = frozenset(("time", "monotonic", "perf_counter", "time_ns", "monotonic_ns", "now", "utcnow", "today"))


def _time_names(fn):
    """Locals of fn bound to the time (`now = time.time()`, `time_now = datetime.now()`)."""
    names = set()
    for n in ast.walk(fn.node):
        if isinstance(n, ast.Assign) and _is_time(n.value, ()):
            names.update(t.id for t in n.targets if isinstance(t, ast.Name))
    return names


def _is_time(expr, names):
    if isinstance(expr, ast.Call):
        if last_name(expr.func) in ("int", "float", "round") and expr.args:  # `int(time.time())`
            return _is_time(expr.args[0], names)
        return last_name(expr.func) in TIME_CALLS and not expr.args
    if isinstance(expr, ast.Name):
        return expr.id in names
    if isinstance(expr, ast.BinOp):  # `now + 60`, `now + timedelta(...)`
        return _is_time(expr.left, names) or _is_time(expr.right, names)
    return False


def state_per_key(fn, value, own):
    """The value a table stores per key is a time or a small record of times and constants
    (`locks[k] = {"expires": now + 60}`, `last_seen[ip] = time.time()`), or the key's previous entry
    filtered (`hits[ip] = [t for t in hits[ip] if t > cutoff]`: a rate limiter's window): the state of
    a peer or resource, not a result computed from the key."""
    names = _time_names(fn)

    def state(e):
        if isinstance(e, ast.Constant) or _is_time(e, names):
            return True
        if isinstance(e, ast.Dict):
            return all(k is None or isinstance(k, ast.Constant) for k in e.keys) and all(map(state, e.values))
        if isinstance(e, (ast.Tuple, ast.List)):
            return all(map(state, e.elts))
        return False
    if value is None:
        return False
    if isinstance(value, (ast.ListComp, ast.SetComp, ast.GeneratorExp)):
        return any(g.ifs and mentions(g.iter, names=(own,), attrs=(own,)) for g in value.generators)
    if isinstance(value, ast.Name) and value.id not in fn.params:
        # The same through a local: `ts = hits.get(ip, [])`, `ts = [t for t in ts if t > cutoff]`, `hits[ip] = ts`.
        values = [n.value for n in ast.walk(fn.node) if isinstance(n, ast.Assign)
                  and any(isinstance(t, ast.Name) and t.id == value.id for t in n.targets)]
        if any(mentions(v, names=(own,), attrs=(own,)) for v in values) and any(
                isinstance(v, (ast.ListComp, ast.SetComp, ast.GeneratorExp))
                and any(g.ifs and mentions(g.iter, names=(own, value.id), attrs=(own,)) for g in v.generators) for v in values):
            return True
    return (isinstance(value, (ast.Dict, ast.Tuple, ast.List)) or _is_time(value, names)) and state(value)


def stamped(fn, value):
    """The value a memo stores is a result stamped with the time it was made (`{"data": data, "ts":
    time()}`, `(now, result)`): an expiring cache's entry, checked for age when it is read."""
    names = _time_names(fn)
    if isinstance(value, ast.Dict):
        parts = [v for v in value.values if v is not None]
    elif isinstance(value, (ast.Tuple, ast.List)):
        parts = value.elts
    else:
        return False
    timed = [_is_time(v, names) for v in parts]
    return any(timed) and any(not t and not isinstance(v, ast.Constant) for t, v in zip(timed, parts))


TASK_MAKERS = {"create_task", "ensure_future", "run_coroutine_threadsafe"}


def made_task(fn, value):
    """The value is an asyncio task or future made right there (`asyncio.create_task(...)`,
    `loop.create_task(...)`, `asyncio.ensure_future(...)`), or a local bound to one in the function."""
    def maker(expr):
        return isinstance(expr, ast.Call) and last_name(expr.func) in TASK_MAKERS
    if maker(value):
        return True
    if not isinstance(value, ast.Name):
        return False
    return any(isinstance(n, ast.Assign) and maker(n.value)
               and any(isinstance(t, ast.Name) and t.id == value.id for t in n.targets)
               for n in ast.walk(fn.node))


def task_kept(c, written, fn):
    """(why, fix) for a list or set that keeps every asyncio task fn adds to it."""
    why = ("%s keeps every asyncio task %s adds to it, and nothing takes one out: finished tasks stay, "
           "with their results or exceptions." % (where(c), fn_label(fn)))
    fix = ("Take each task out when it is done: `task.add_done_callback(%s.%s)` where it is added "
           "(asyncio's pattern for keeping background tasks), or run them in an `asyncio.TaskGroup`." % (
               written, "discard" if c.kind == "set" else "remove"))
    return why, fix
