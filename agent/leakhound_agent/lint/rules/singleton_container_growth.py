"""A container an object keeps (`self.pending = {}` in its constructor) when the program makes that
object once and keeps it for the whole run (a server, a service, a bot, a consumer made in `main()`
or at module level), and a method that handles each request, event or message adds to it: a dict or
set under a key that never repeats (a message's id, `uuid4()`, `id(obj)`), or a list appended to, with
nothing in the class ever removing, clearing or re-binding it. The object lives as long as the process,
so its container is a global in all but name.

Precision first, all of it evidence the files linted together must show (see main.py's "needs"):
the class is made once per process (at module level or in the program's main function, not in a loop,
lambda or comprehension) and nowhere else: not by code that runs per call, not by another class's
constructor, not handed on uncalled for a framework to make (`HTTPServer(addr, Handler)`, a router's
handler classes, a protocol factory). And the method runs per event: its parameters say it handles a
request or message, it grows the container inside its own event loop, or a function that handles a
request calls it (without that, the finding is of low confidence). A parameter named for a message
(`msg`) says nothing when the class hands the method only records it reads from a file it opens
(a log parser made once by a command: percall.fed_from_file)."""
import ast
import re

from ..loops import function_loop
from ..percall import handles_request
from ..runs import BUILTIN_METHODS, PER_INSTANCE, looked_up_first
from ..syntax import ever_new, last_name
from .global_container_growth import LIST_GROW
from .common import DATA_PARAMS, WEAK_ADDRESS, address_keyed, gui_module, made_task, task_kept, where, written, fn_label, how, is_exception_value, made_of, made_anew, managed
from .guards import deduplicated, filled_once, filled_when_empty

ID = "singleton-container-growth"
TITLE = "Container on a long-lived object grows per request"
HELP = ("An object the program makes once (a server, a service, a consumer) lives as long as the "
        "process; when a method that runs per request adds to one of its dicts, sets or lists under "
        "ever-new keys and nothing removes them, the object keeps everything ever added.")

# Besides the ids syntax.ever_new reads as new (a request's, a message's, a run's, a transaction's), ids
# of what a long-lived service takes in one by one: a job, a task, a session, an order, a stream.
PER_EVENT_NAME = re.compile(r"(?i)^_*(job|task|session|order|stream|query|packet)_?(id|uuid)_*$|^_*(uuid|guid)_*$")


def _per_event_key(fn, key, container=None):
    """The key never repeats: an ever-new value (see syntax.ever_new; not `self`, one key per object), a
    name that says it is the id of one job, session or order (`job_id`, `session_id`), or a key the
    function makes new itself (common.made_anew: the id of what it just created, a dict entry it
    builds, a counter it steps, a name it steps until the container lacks it)."""
    if key is None or isinstance(key, ast.Name) and key.id == "self":
        return False
    if isinstance(key, ast.Name) and PER_EVENT_NAME.match(key.id) or made_anew(fn, key, container):
        return True
    made = made_of(fn, key)
    return not (isinstance(made, ast.Name) and made.id == "self") and ever_new(made)


# Chat-bot frameworks that make one object of these classes and keep it for the whole run: the bot (a
# client subclass) and each extension's cog (`await bot.add_cog(Music(bot))` when the extension loads).
BOT_MODULES = {"discord", "nextcord", "disnake"}
BOT_BASES = {"Cog", "GroupCog", "Bot", "AutoShardedBot", "Client", "AutoShardedClient", "InteractionBot",
             "AutoShardedInteractionBot"}
# Their methods that the framework calls per event: listeners (`on_message`, `@Cog.listener()`), commands,
# and tasks run on a timer.
BOT_EVENT_DECORATORS = {"listener", "command", "hybrid_command", "slash_command", "user_command", "message_command",
                        "subcommand", "group", "hybrid_group", "event", "loop"}
BOT_LISTENER = re.compile(r"^on_[a-z_]+$")


def _bot_module(facts):
    """The module imports a chat-bot framework whose objects the framework keeps (see BOT_MODULES)."""
    bot = facts.__dict__.get("_bot")
    if bot is None:
        bot = facts._bot = any(
            n.split(".")[0] in BOT_MODULES
            for stmt in facts.tree.body
            for n in ([a.name for a in stmt.names] if isinstance(stmt, ast.Import) else
                      [stmt.module] if isinstance(stmt, ast.ImportFrom) and stmt.module and not stmt.level else []))
    return bot


def _bot_class(facts, cls):
    """A bot or a cog of a chat-bot framework: made once by the program or the framework, and kept."""
    return _bot_module(facts) and any(last_name(b) in BOT_BASES for b in cls.bases)


def _bot_event(method):
    """A method of a bot or cog that the framework calls per event (a listener, a command, a task)."""
    return bool(BOT_LISTENER.match(method.name) or BOT_EVENT_DECORATORS.intersection(method.decorators))


def _method_of(fn, cls):
    """The method of `cls` the function is (or is nested in), else None."""
    while fn is not None and fn.cls is None:
        fn = fn.parent
    return fn if fn is not None and fn.cls is cls else None


# What no file may do with the class for its object to be the one the program keeps: make it per call
# (bare, through an object, in a request handler), make it in a constructor, hand it on uncalled.
NEVER = ("", ".", "ctor:", "ref:", "request:", "request:.")


def long_lived(facts, c):
    """For a container of an instance (key "i:"): the evidence alternatives that its object is made once
    and kept (see _needs), or None when the module says otherwise (a GUI toolkit's) or it is not one."""
    if c.key[0] != "i" or gui_module(facts):
        return None
    cls = facts.classes.get(c.name.split(".", 1)[0])
    if cls is None:
        return None
    if _bot_class(facts, cls):
        return [[]]
    return _bases(facts.class_family(cls))


def _bases(family):
    return [["once:" + n] + ["!" + p + m for m in family for p in NEVER] for n in family]


def _needs(bases, method, loop, traffic, event=False):
    """The evidence alternatives (main.py): the object made once and kept (long_lived's `bases`); plus,
    unless the method shows by itself that it runs per event, a request handler's call (or, of low
    confidence, any call). With `traffic` (a list: it grows with any input, a command's one file as much
    as a server's requests), only a request, a message or an event loop will do."""
    if event:
        local = True
    elif traffic:
        local = loop is not None or handles_request(method)
    else:
        local = loop is not None or handles_request(method) or any(DATA_PARAMS.match(p) for p in method.params)
    if local:
        return bases
    # A method named like a container's (`add`, `append`): only a call through a module-level name
    # that is not a container (`REGISTRY.add(item)`, "request:add") tells it from a set's.
    kinds = ("request:",) if method.name in BUILTIN_METHODS else ("request:.", "request:") + (() if traffic else (".",))
    return [base + [ev + method.name] for base in bases for ev in kinds]


def check(facts):
    for c in facts.containers.values():
        if c.key[0] != "i" or managed(c):
            continue
        bases = long_lived(facts, c)
        if bases is None:
            continue
        cls = facts.classes[c.name.split(".", 1)[0]]
        for fn, node, key, value in c.grows:
            method = _method_of(fn, cls)
            if method is None or method.name in PER_INSTANCE or facts.runs_once(fn) or is_exception_value(value, fn):
                continue
            loop = function_loop(fn, node)
            h = how(node)
            if c.kind in ("list", "set") and (h in LIST_GROW or h == "add") and made_task(fn, value):
                why, fix = task_kept(c, written(c), method)
            elif c.kind == "list" and h in LIST_GROW:
                # A list grows with any input, a command's one file as much as a server's traffic: only
                # a method that handles a request or message, or its own event loop, says it is traffic.
                if filled_once(fn, node, c) or filled_when_empty(facts, fn, c) or deduplicated(fn, node, c):
                    continue
                why = ("%s is grown with `%s` in %s on every call and never trimmed, so it keeps everything ever added." % (
                    where(c), h, fn_label(method)))
                fix = ("Bound it (`collections.deque(maxlen=N)`) or remove each entry when its work is done "
                       "(`%s.remove(x)` in a `finally`)." % written(c))
            elif c.kind in ("dict", "defaultdict", "set") and h in ("setitem", "setdefault", "add") \
                    and _per_event_key(fn, key if c.kind != "set" else value, c) \
                    and not (c.kind != "set" and looked_up_first(c, fn, node, key)):  # a memo: unbounded-cache's
                why = ("%s gets a new entry in %s for each request or message, keyed by a value that never repeats, "
                       "and nothing removes them." % (where(c), fn_label(method)))
                fix = ("Delete each entry when its work is done (`%s.%s` once its answer or last use has come, "
                       "in a `finally`), or bound it." % (written(c), "discard(x)" if c.kind == "set" else "pop(key, None)"))
            else:
                continue
            event = _bot_class(facts, cls) and _bot_event(method)
            # `self.seen[id(event)] = ...` not holding the event: its address comes back for another.
            weak = WEAK_ADDRESS if address_keyed(fn, c, node, key, value) else None
            yield node, why, fix, c.name, _needs(bases, method, loop, c.kind == "list", event), weak
            break
