"""A bound method, lambda or nested function subscribed to a module-level event
source (a signal, bus, emitter) from a function that runs per call or per
instance, with no matching unsubscribe anywhere in the module. Not a Qt signal
connected to a slot of a QObject (`sig.connect(self.slot)` in a QWidget): Qt drops
the connection when the object is destroyed."""
import ast
import re

from ..syntax import last_name
from .common import WEAK_RECEIVER_ONLY, fn_label, made_many
from .guards import guarded

ID = "listener-never-removed"
TITLE = "Listener subscribed per call, never removed"
HELP = ("An event source that lives at module level keeps a strong reference to every callback "
        "subscribed to it; a bound method keeps its whole instance alive, so subscribing per call "
        "or per instance without unsubscribing keeps them all.")

SUBSCRIBE = {"subscribe", "add_listener", "addListener", "add_observer", "register_callback",
             "add_callback", "connect", "on", "add_event_handler", "add_handler"}
SLOT_MODULES = {"sys", "signal", "threading", "faulthandler"}
REMOVERS = {"unsubscribe", "remove_listener", "removeListener", "remove_observer", "unregister_callback",
            "remove_callback", "disconnect", "off", "remove_event_handler", "remove_handler",
            "remove_all_listeners", "removeAllListeners", "clear"}


# Modules whose subscriptions belong to the page being built, not to the process: NiceGUI's `ui.on(...)`
# registers on the current client's page, and the handlers go with it when the client disconnects.
PAGE_SCOPED = {"nicegui.ui"}


# A Qt class (QObject, QWidget, QMainWindow, ...): Qt drops a signal's connection to a slot of a
# QObject when that object is destroyed, and PyQt/PySide do not keep the receiver alive through it.
QT_CLASS = re.compile(r"^Q[A-Z]\w*$")


def _qt_object(facts, cls, seen=()):
    """The class derives from a Qt class (directly or through classes of this module)."""
    for base in cls.bases:
        name = last_name(base)
        if name and QT_CLASS.match(name):
            return True
        parent = facts.classes.get(name)
        if parent is not None and parent is not cls and name not in seen and _qt_object(facts, parent, seen + (name,)):
            return True
    return False


CALLBACK_NAME = re.compile(r"^_*on_|^_*handle|_handler$|_callback$|_cb$|^_*notify|^_*receive")


def _callback(arg, fn, strict):
    """A lambda, a nested def, or a bound method of self (for `connect`/`on`: one named like a callback)."""
    if isinstance(arg, ast.Lambda):
        return True
    if isinstance(arg, ast.Attribute) and isinstance(arg.value, ast.Name) and arg.value.id == "self":
        return not strict or bool(CALLBACK_NAME.search(arg.attr))
    return isinstance(arg, ast.Name) and any(
        isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == arg.id for n in fn.node.body)


def _local(name, fn):
    """A local of fn or of a function enclosing it."""
    while fn is not None:
        if name in fn.locals:
            return True
        fn = fn.parent
    return False


def _owned(arg, fn):
    """`self`, `self.x`, `self.x.y` or a local: an object the instance or the call owns."""
    while isinstance(arg, ast.Attribute):
        arg = arg.value
    return isinstance(arg, ast.Name) and (arg.id in ("self", "cls") or _local(arg.id, fn))


def _made_here(name, fn, call):
    """The global `name` is bound to a new object earlier in the same function (`_popover =
    Gtk.Popover.new(w)` then `_popover.connect(...)`): the callback goes to that fresh object, which
    the next call replaces; nothing piles up on one source."""
    return any(isinstance(n, ast.Assign) and isinstance(n.value, ast.Call) and n.lineno < call.lineno
               and any(isinstance(t, ast.Name) and t.id == name for t in n.targets)
               for n in ast.walk(fn.node))


def check(facts):
    # A method subscribes per instance: only with evidence that the class is made per call (see handler-per-call).
    candidates = [fn for fn in facts.functions
                  if any(isinstance(call.func, ast.Attribute) and call.func.attr in SUBSCRIBE for _, call in fn.calls)]
    if not candidates:
        return
    removers = {name.rsplit(".", 1)[-1] for f in facts.functions for name, _ in f.calls} & REMOVERS
    if removers:
        return
    for fn in candidates:
        if facts.runs_once(fn):
            continue
        for name, call in fn.calls:
            if not isinstance(call.func, ast.Attribute) or call.func.attr not in SUBSCRIBE or not call.args:
                continue
            source = call.func.value
            if not isinstance(source, (ast.Name, ast.Attribute)):
                continue
            root = source
            while isinstance(root, ast.Attribute):
                root = root.value
            # A source owned by the instance or passed in (also to an enclosing function) lives and dies with it.
            if not isinstance(root, ast.Name) or _local(root.id, fn) or root.id in ("self", "cls"):
                continue
            # `GObject.Object.connect(self._client, "event", cb)`: the class's method called on an object
            # the instance owns, which is the real source.
            if _owned(call.args[0], fn) and len(call.args) > 1:
                continue
            # The interpreter's own hooks (sys.monitoring, signal) hold one callback per slot: a new one replaces the old.
            if root.id in SLOT_MODULES or _made_here(root.id, fn, call) or facts.imported_modules.get(root.id) in PAGE_SCOPED:
                continue
            if not any(_callback(a, fn, call.func.attr in ("connect", "on")) for a in call.args) or guarded(fn, call):
                continue
            # `signal.connect(self.slot)` in a QObject: the connection dies with the object.
            if call.func.attr == "connect" and fn.cls is not None and _qt_object(facts, fn.cls) and all(
                    isinstance(a, ast.Attribute) and isinstance(a.value, ast.Name) and a.value.id == "self" for a in call.args):
                continue
            why = "%s subscribes a callback to the module-level `%s` on every call and nothing unsubscribes it, so the source keeps each callback (and, for a bound method, its instance) alive." % (
                fn_label(fn), ast.unparse(source) if hasattr(ast, "unparse") else root.id)
            fix = "Unsubscribe when done (`%s.%s` in `close()`/`finally`), or subscribe a `weakref.WeakMethod` / use a weak-reference event source." % (
                root.id, "disconnect(...)" if call.func.attr == "connect" else "remove_listener(...)")
            # `sig.connect(self.on_change)` alone, no event's name: a dispatcher's signal, which most
            # libraries hold weakly (unless `weak=False`); `obj.connect("changed", cb)` is GObject's, strong.
            weak = WEAK_RECEIVER_ONLY if call.func.attr == "connect" and len(call.args) == 1 and not any(
                k.arg == "weak" and isinstance(k.value, ast.Constant) and k.value.value is False for k in call.keywords) else None
            needs = made_many(facts, fn)
            yield (call, why, fix, None, needs[0] if needs else None, weak)
