"""Shapes that say a function runs per call: per request, message, client connection, queued task or
page rendered (its parameters, its name, its decorators, its class). runs.py weighs them against the
evidence that code runs once."""
import ast
import re

from .loops import opened_files, reads_file
from .syntax import class_methods, dotted, last_name


# Toolkits whose programs make one window and grow it per user action (an undo stack, the items of a
# list view, a port typed into a dialog): bounded by what one person does in a session, as a rule, not
# by traffic. The game libraries among them draw a frame many times a second.
GUI_MODULES = frozenset(("tkinter", "Tkinter", "PyQt4", "PyQt5", "PyQt6", "PySide", "PySide2", "PySide6", "qtpy", "wx",
                         "gi", "kivy", "pygame", "pyglet", "arcade", "curses", "urwid", "textual", "toga", "dearpygui", "flet"))
GAME_MODULES = frozenset(("pygame", "pyglet", "arcade"))
# The parameter a desktop toolkit hands its callbacks: wx's and Tk's `event`, `evt`.
GUI_EVENT_PARAMS = frozenset(("event", "evt"))
# Callbacks a toolkit runs per input or drawing event, many a second (wx's `OnPaint`, `OnMotion`,
# `OnTimer`, `OnIdle`; Tk's `on_mouse_move`; Qt's `keyPressEvent`), not per click or menu pick.
INPUT_CALLBACK = re.compile(r"(?i)paint|draw|render|motion|mouse|move|wheel|scroll|key|timer|idle|tick|size|"
                            r"frame|hover|drag|enter|leave|update|refresh|poll|step|animat")


# Parameters that say a function handles one request, event or message: it runs per call by its shape.
PER_CALL_PARAMS = re.compile(r"^(req|request|environ|event|evt|message|msg|packet|frame|conn|connection|websocket)$")
# A function named for writing out the text it is handed (`report_error(msg)`, `log_warning(message)`,
# `showMessage(msg)`): its `msg` is what it reports, not a message received.
OUTPUT_NAME = re.compile(r"^_?(report|log|warn|warning|error|fatal|critical|info|debug|print|show|display|notify|alert|"
                         r"echo|say|status|write)(_|[A-Z]|$)")
# Of those, a connection is a client's (one per call) unless the function runs queries on it: then it is
# a database's, which a program opens once as often as per call (sample AR: a schema wipe's `conn`).
CONNECTION_PARAMS = {"conn", "connection"}
# A callback named for the message or request it is handed (see message_callback).
MESSAGE_CALLBACK = re.compile(r"^_?(on|handle)_(\w+_)?(message|msg|request|packet|datagram)$")
DATABASE_CALLS = re.compile(r"^(execute\w*|cursor|commit|rollback|fetch\w*|begin|transaction|run_sync|scalars?|"
                            r"copy_\w+|_in_transaction|atomic)$")


def handles_request(fn):
    """The function's parameters say it handles one request, event or message (`handle(self, request)`),
    unless its class hands it only records read from a file (fed_from_file) or it is a desktop program's
    callback of a click, whose `event` comes at a person's pace (gui_callback); a web framework routes
    requests to it (`@app.route("/login")`, `@router.post("/items")`), or a task queue runs it per
    message (`queued`)."""
    return (any(per_call_param(fn, p) for p in fn.params if not (p in GUI_EVENT_PARAMS and gui_callback(fn)))
            or message_callback(fn)) and not fed_from_file(fn) or routed(fn) or queued(fn)


def message_callback(fn):
    """A callback named for the message or request it is handed (`on_message(self, payload)`,
    `on_ws_message`, `handle_request(data)`): it runs per message, whatever its parameter is called.
    Or one handed a connection's two streams (`async def handle(reader, writer)`, what
    `asyncio.start_server` and telnetlib3's servers call): it runs per client connection."""
    params = fn.params[1:] if fn.params[:1] in (["self"], ["cls"]) else fn.params
    return bool(MESSAGE_CALLBACK.match(fn.name)) and bool(params) or \
        len(params) >= 2 and bool(STREAM_READER.match(params[0])) and bool(STREAM_WRITER.match(params[1]))


# The parameters of a callback handed a client connection's streams: `(reader, writer)`.
STREAM_READER = re.compile(r"^(\w+_)?reader$")
STREAM_WRITER = re.compile(r"^(\w+_)?writer$")


def _file_loop_nodes(m):
    """{id of each node inside a loop of method `m` that reads a file `m` opens}: `with open(path, "rb")
    as f:` (or `f = open(...)`), then `while True: data = f.read(256)` or `for line in f:`."""
    known = getattr(m, "_file_loop_nodes", None)
    if known is not None:
        return known
    files = opened_files(m.body)
    inside = set()
    for n in ast.walk(m):
        if isinstance(n, ast.For) and (isinstance(n.iter, ast.Name) and n.iter.id in files or
                                       isinstance(n.iter, ast.Call) and last_name(n.iter.func) == "open") or \
                isinstance(n, ast.While) and reads_file(n, files):
            inside.update(id(c) for c in ast.walk(n))
    m._file_loop_nodes = inside
    return inside


def fed_from_file(fn):
    """Every call of the method in its class comes, through the class's own methods (`self.parse(data)`,
    then `self.trace(record)`), from a loop that reads a file the calling method opens, and none comes
    from elsewhere: its `msg` or `packet` is a record parsed from a file, a bounded input (a command-line
    tool's log parser), not a message received. A method nothing in the class calls may be called from
    outside."""
    cls = fn.cls
    if cls is None or fn.parent is not None:
        return False
    known = cls.__dict__.setdefault("_fed_from_file", {})  # method name -> the answer, once per class
    if fn.name in known:
        return known[fn.name]
    sites = getattr(cls, "_self_call_sites", None)
    if sites is None:  # method name -> [(the method calling it, the call)], once per class
        methods = class_methods(cls)
        sites = cls._self_call_sites = {}
        for m in methods.values():
            for c in ast.walk(m):
                if isinstance(c, ast.Call) and isinstance(c.func, ast.Attribute) and isinstance(c.func.value, ast.Name) \
                        and c.func.value.id == "self" and c.func.attr in methods:
                    sites.setdefault(c.func.attr, []).append((m, c))
    known[fn.name] = _fed(sites, fn.name)
    return known[fn.name]


def _fed(sites, name):
    seen, todo, fed = set(), [name], False
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        if name not in sites:
            return False
        for m, c in sites[name]:
            if id(c) in _file_loop_nodes(m):
                fed = True
            else:
                todo.append(m.name)
    return fed


# Decorators that make the function a task a worker runs once per message it takes from a queue, for as
# long as the worker lives: Celery's `@shared_task` and `@app.task`, Huey's `@huey.task()` and
# `@huey.periodic_task(...)`, Dramatiq's `@dramatiq.actor`, RQ's `@job(...)`, APScheduler's
# `@scheduler.scheduled_job(...)`; and Django's signal receivers (`@receiver(post_save, sender=Order)`),
# run on every save or request the signal is sent for. Not a bare `@task`: invoke's and Fabric's run once
# per command.
QUEUED_DECORATOR = re.compile(r"^(shared_task|celery\.shared_task|dramatiq\.actor|rq\.job|rq\.decorators\.job|"
                              r"receiver|dispatch\.receiver)$|"
                              r"\.(task|periodic_task|db_task|db_periodic_task|scheduled_job)$")


def decorated_by(fn, pattern):
    """A decorator of the function, called or not (`@receiver(...)`, `@shared_task`), matches `pattern`
    by its dotted name."""
    return any(pattern.search(dotted(d.func if isinstance(d, ast.Call) else d) or "") for d in fn.node.decorator_list)


def queued(fn):
    """A task queue, a scheduler or a signal runs the function per message, tick or event (QUEUED_DECORATOR)."""
    return decorated_by(fn, QUEUED_DECORATOR)


# Decorators that hand the function to a web framework that runs it on every request or every page it
# renders: Django's template tags and filters (`@register.simple_tag`, on a `template.Library()`
# named `register` by convention; not `@register.tag`, whose function compiles a template, once with the
# cached loader), Flask's and Quart's template helpers and request hooks, and the decorators of views:
# Django REST framework's `@api_view(["POST"])`, Django's `@require_POST` and `@require_http_methods`.
PER_RENDER_DECORATOR = re.compile(r"^register\.(filter|simple_tag|inclusion_tag|assignment_tag)$|"
                                  r"\.(app_)?(template_filter|template_global|template_test|context_processor|"
                                  r"before_request|after_request|teardown_request)$|"
                                  r"(^|\.)(api_view|require_http_methods|require_GET|require_POST|require_safe)$")


def rendered(fn):
    """A web framework runs the function per request or per page rendered (PER_RENDER_DECORATOR)."""
    return decorated_by(fn, PER_RENDER_DECORATOR)


def routed(fn):
    """A decorator routes a URL path to the function: a call whose first argument (or `rule=`/`path=`)
    is a string that starts with "/" (Flask's, FastAPI's, Sanic's, aiohttp's route tables), or hands it
    to a template engine or a request hook (`rendered`); or the function is a request handler's method
    that a server calls per request (`handler_method`)."""
    return rendered(fn) or any(True for _ in _route_paths(fn)) or handler_method(fn)


# Request handlers whose methods a server calls once per request or connection: `http.server`'s
# `do_GET(self)` (any base named like a handler), tornado's (and Jupyter server's) `get(self)`, a
# websocket's `on_message(self, message)`, `socketserver`'s `handle(self)`.
HTTP_VERB_METHOD = re.compile(r"^do_[A-Z]+$")
HANDLER_BASES = frozenset(("RequestHandler", "WebSocketHandler", "APIHandler", "JupyterHandler", "IPythonHandler",
                           "BaseHandler", "BaseRequestHandler", "StreamRequestHandler", "DatagramRequestHandler",
                           "BaseHTTPRequestHandler", "SimpleHTTPRequestHandler"))
HANDLER_METHODS = frozenset(("get", "post", "put", "patch", "delete", "head", "options", "open", "on_message", "handle"))


def handler_method(fn):
    if fn.cls is None or fn.parent is not None:
        return False
    bases = [last_name(b) or "" for b in fn.cls.bases]
    if HTTP_VERB_METHOD.match(fn.name):
        return any(b.endswith("Handler") for b in bases)
    return fn.name in HANDLER_METHODS and any(b in HANDLER_BASES for b in bases)


def route_takes_values(fn):
    """A decorator routes a URL path with a variable part to the function (`"/objects/<uuid>"`,
    `"/items/{item_id}"`): its request's path carries a value, one per object asked for."""
    return any("<" in path or "{" in path for path in _route_paths(fn))


def _route_paths(fn):
    """The URL paths the function's decorators route to it: a method call's first argument (or
    `rule=`/`path=`) that is a string starting with "/"."""
    for d in fn.node.decorator_list:
        if isinstance(d, ast.Call) and isinstance(d.func, ast.Attribute):
            for a in list(d.args[:1]) + [k.value for k in d.keywords if k.arg in ("rule", "path")]:
                if isinstance(a, ast.Constant) and isinstance(a.value, str) and a.value.startswith("/"):
                    yield a.value


def per_call_param(fn, param):
    """The parameter is named as one request, event, message or client connection of its own (a
    connection that the function runs queries on is a database's)."""
    if not PER_CALL_PARAMS.match(param) or param in fn.defaulted:
        return False  # `render(self, frame=None)`: an option (a frame number), not the event handed in
    if param in ("msg", "message") and (OUTPUT_NAME.match(fn.name) or _translates(fn, param)):
        return False  # `report_error(msg)`, `log(message)`: the text it writes out, not a message received
    if param in CONNECTION_PARAMS:
        prefix = param + "."
        return not any(callee.startswith(prefix) and DATABASE_CALLS.match(callee[len(prefix):])
                       for callee, _ in fn.calls)
    return True


# Calls that look a program's string up in its translation catalog.
TRANSLATE_CALLS = frozenset(("gettext", "dgettext", "ngettext", "dngettext", "pgettext", "dpgettext", "ugettext",
                             "gettext_lazy", "ugettext_lazy", "gettext_noop"))


def _translates(fn, param):
    """The function hands the parameter to gettext (`gettext(message)`, `dgettext("gtk30", message)`): it
    is one of the program's own strings, a catalog's message id."""
    return any(isinstance(n, ast.Call) and last_name(n.func) in TRANSLATE_CALLS
               and any(isinstance(a, ast.Name) and a.id == param for a in n.args)
               for n in ast.walk(fn.node))


def clicked(fn):
    """A desktop program's callback handed the event of a click or a menu pick (gui_callback): it runs
    once per click, at a person's pace."""
    return gui_callback(fn) and any(per_call_param(fn, p) for p in fn.params if p in GUI_EVENT_PARAMS)


def gui_callback(fn):
    """In a desktop program's module (it imports a GUI toolkit), a callback a person sets off
    (`OnCalcShiftmap(self, event)` on a button, `on_open(self, evt)` on a menu item): its `event` is a
    click, which comes at a person's pace, not a request. Not one a toolkit calls per input or drawing
    event (INPUT_CALLBACK)."""
    return fn.desktop and not INPUT_CALLBACK.search(fn.name)
