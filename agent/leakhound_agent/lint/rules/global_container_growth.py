"""A module-level or class-level list (or deque without maxlen) that a function
appends to on every call (or a module-level event loop on each turn) and nothing
ever trims; a dict or set that an event loop of a function's own (`while True:`) fills under a key
that never repeats (a message's id) and nothing empties; a list or set that keeps every asyncio task a function adds (none taken out
when done); or a dict/set keyed by ever-new values (id(), time(), uuid4(), self)."""
import ast

from ..loops import function_loop
from ..percall import message_callback, per_call_param, queued, routed
from ..runs import PER_INSTANCE, looked_up_first
from ..syntax import ever_new
from .common import WEAK_ADDED_KIND, on_added_kind, input_event_handler, WEAK_ADDRESS, WEAK_ENTITY_KEY, WEAK_GUI, gui_module, address_keyed, WEAK_LOGGED_ONCE, keyed_by_entity, logged_once_text, WEAK_THREAD_KEY, made_of, made_anew, caller_of_nested, made_task, task_kept, keyed_by_identity, mentions, stored_value, method_needs, keyed_by_thread, fn_label, how, is_exception_value, last_name, managed, open_key, where
from .guards import deduplicated, filled_once, filled_to_index, filled_when_empty, logged_once

ID = "global-container-growth"
TITLE = "Global container grows on every call"
HELP = ("A container held by a module or a class lives as long as the process; when a function "
        "adds to it on every call and nothing removes, clears or re-binds it, it keeps everything "
        "ever added.")

LIST_GROW = {"append", "extend", "insert", "appendleft", "extendleft", "+="}


# Classes whose methods the standard library calls once per piece of one document or tree being
# walked (`handle_data(self, data)` per chunk of the HTML fed, `visit_Name(self, node)` per node): their
# parameters say nothing of requests, only the parser or walker made per call does.
WALKER_BASES = {"HTMLParser", "ContentHandler", "DefaultHandler", "XMLFilterBase", "NodeVisitor", "NodeTransformer"}


def _walks_one_input(fn):
    return fn.cls is not None and any(last_name(b) in WALKER_BASES for b in fn.cls.bases)


def evidence(facts, fn):
    """What a finding needs (see handler-per-call): for a constructor, its class made per call; for a
    function whose parameters say it handles a request, event or message, nothing; else, the function
    called from a function that runs per call (and, for an instance method, its class made in one).
    A parameter named like data (`text`, `s`, `payload`) is no such sign: a command's one input file
    gives a function as much data as a server's traffic (singleton-container-growth's rule too); a
    callback named for the message it is handed (`on_ws_message(self, payload)`) is.
    Precision first: a container grown by code nothing calls per call (a plugin's delayed set-up, an
    import-time registration, a lazy initialisation, a migration) is not reported."""
    if fn.cls is not None and fn.name in PER_INSTANCE:
        return ([[c] for c in facts.class_family(fn.cls)],)
    if routed(fn) or queued(fn) or (any(per_call_param(fn, p) for p in fn.params) or message_callback(fn)) and not _walks_one_input(fn):
        return ()
    if _walks_one_input(fn):
        return ([[c] for c in facts.class_family(fn.cls)],)  # `feed()`/`visit()` calls it: the walker made per call
    if fn.cls is not None and fn.params[:1] == ["self"] and not {"staticmethod", "classmethod"} & set(fn.decorators):
        return (method_needs(facts.class_family(fn.cls), fn.name),)
    outer = caller_of_nested(fn)
    return evidence(facts, outer) if outer is not None else ([[fn.name]],)


def _through_self(node, c):
    """The growth reaches the class's container through an instance (`self.NAME.append(x)`)."""
    attr = c.name.rsplit(".", 1)[-1]
    return any(isinstance(n, ast.Attribute) and n.attr == attr and isinstance(n.value, ast.Name) and n.value.id == "self"
               for n in ast.walk(node))


def _loop_growth(facts, c, node, value, key=None):
    """A list (or a dict or set under keys that never repeat) grown with each turn of a module-level
    event loop (`while True:` at module level or in a `__main__` block), unless the loop tests whether the value is in it already or stores a caught
    exception (stored-exception's). Evidence enough: the loop turns once per event."""
    loop = facts.loop_nodes.get(id(node))
    if loop is None:
        return None
    if c.kind in ("dict", "defaultdict", "set") and how(node) in ("setitem", "setdefault", "add"):
        # A table that gets an entry per turn under a key that never repeats (`seen[time.time()] = x`,
        # `pending[msg.request_id] = msg`); one that anything takes entries out of is managed() (check).
        if not ever_new(key if c.kind != "set" else value) or _collects_for_later(facts, loop, c.name.split(".")[-1]):
            return None
        why = "%s gets a new entry on every turn of the module-level `while` loop (line %d), keyed by a value that never repeats, and nothing removes them." % (
            where(c), loop.lineno)
        fix = "Delete each entry when its work is done (`%s.pop(key, None)`), or bound the table." % c.name
        return node, why, fix, c.name, None, None
    if c.kind != "list" or how(node) not in LIST_GROW:
        return None
    name = c.name.split(".")[-1]
    if _collects_for_later(facts, loop, name):
        return None
    for n in ast.walk(loop):
        if isinstance(n, ast.Compare) and any(isinstance(o, (ast.In, ast.NotIn)) for o in n.ops) \
                and any(isinstance(x, ast.Name) and x.id == name for x in n.comparators):
            return None  # `if x not in C:`: grown only by new values
        if isinstance(n, ast.ExceptHandler) and n.name and isinstance(value, ast.Name) and value.id == n.name:
            return None
    why = "%s is grown with `%s` on every turn of the module-level `while` loop (line %d) and never trimmed, so it keeps everything ever added." % (
        where(c), how(node), loop.lineno)
    fix = "Bound it (`collections.deque(maxlen=N)`) or remove each entry when its work is done (`%s.clear()` once it is handled)." % c.name
    return node, why, fix, c.name, None, None


def _breaks(loop):
    """A `break` of the loop itself (not of a loop inside it, nor in a function defined there)."""
    todo = list(loop.body)
    while todo:
        n = todo.pop()
        if isinstance(n, ast.Break):
            return True
        if not isinstance(n, (ast.For, ast.AsyncFor, ast.While, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            todo.extend(ast.iter_child_nodes(n))
    return False


def _ends(loop):
    """The loop can end once its work is done: a `break` of its own, or a `return` in it (not in a function
    defined there), or a `yield` (a generator's loop turns as often as its consumer asks, and most take a
    few); an error raised out of it is no end of its work."""
    if _breaks(loop):
        return True
    todo = list(loop.body)
    while todo:
        n = todo.pop()
        if isinstance(n, (ast.Return, ast.Yield, ast.YieldFrom)):
            return True
        if not isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            todo.extend(ast.iter_child_nodes(n))
    return False


def _collects_for_later(facts, loop, name):
    """A module-level loop that ends once its work is done (`if finished: break`) and whose list the
    module reads after it (`for task, result in result_data:`): a script gathering one job's
    results, not an event loop keeping everything."""
    if not _breaks(loop):
        return False
    end = getattr(loop, "end_lineno", None) or loop.lineno
    read = facts.__dict__.setdefault("_read_after", {})  # (loop, name) -> bool, found once
    if (id(loop), name) not in read:
        read[id(loop), name] = any(isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Load)
                                   and n.lineno > end for n in ast.walk(facts.tree))
    return read[id(loop), name]


# What ends a subscription, a connection of a callback or a listener.
UNSUBSCRIBE = frozenset(("unregister", "unsubscribe", "disconnect", "remove_listener", "remove_handler", "cancel", "close", "stop"))


def _listens_for_a_while(facts, fn):
    """A callback the module subscribes for a while and then unsubscribes, in the same function
    (`sub = rospy.Subscriber("/tf", Msg, _handle); time.sleep(1.0); sub.unregister()`): what it
    gathers is one window's messages, read once it ends, not a server's traffic. Only when every
    place that hands the callback on does so."""
    if fn.cls is not None or fn.parent is not None:
        return False
    if any(isinstance(a, ast.Name) and a.id == fn.name for _, call in facts.toplevel_calls
           for a in list(call.args) + [k.value for k in call.keywords]):
        return False  # subscribed at import, for good
    uses = 0
    for g in facts.functions:
        subscriptions = {}
        for n in ast.walk(g.node):
            if isinstance(n, ast.Assign) and len(n.targets) == 1 and isinstance(n.targets[0], ast.Name) and isinstance(n.value, ast.Call) \
                    and any(isinstance(a, ast.Name) and a.id == fn.name for a in list(n.value.args) + [k.value for k in n.value.keywords]):
                subscriptions[n.targets[0].id] = n
        for name, call in g.calls:
            if any(isinstance(a, ast.Name) and a.id == fn.name for a in list(call.args) + [k.value for k in call.keywords]):
                uses += 1
                if not any(other.rsplit(".", 1)[-1] in UNSUBSCRIBE and other.split(".", 1)[0] in subscriptions for other, _ in g.calls):
                    return False
    return uses > 0


def _new_each_time(fn, c, key, value):
    """The entry's key (a set's value) never repeats: an ever-new value, also through a local the
    function binds to one (`job_id = f"job-{time.time()}"`) or stores in a dict it builds (`job = {"id":
    str(uuid4())}`, then `JOBS[job["id"]] = job`), or the id of what the function just made (`iw =
    Image(...)`, then `TRACKED[iw.model_id] = iw`), or a counter it steps (`global N; N += 1`)."""
    k = key if c.kind != "set" else value
    return ever_new(k) or (isinstance(k, ast.Name) and k.id != "self" and ever_new(made_of(fn, k))) or made_anew(fn, k, c)


def check(facts):
    for c in facts.containers.values():
        if c.key[0] not in "gc" or managed(c):
            continue
        for fn, node, key, value in c.grows:
            if fn is None:
                found = _loop_growth(facts, c, node, value, key)
                if found:
                    yield found
                    break
                continue
            loop = function_loop(fn, node)
            if loop is not None and c.kind in ("dict", "defaultdict", "set") and how(node) in ("setitem", "setdefault", "add") \
                    and _new_each_time(fn, c, key, value) and not looked_up_first(c, fn, node, key):  # a memo: unbounded-cache's
                # A table an event loop of the function's own fills per event under a key that never
                # repeats (a message's id), maybe read later (an answer matched to it), never emptied:
                # the loop is the evidence, even in a function that runs once.
                why = "%s gets a new entry on every turn of the `while` loop in %s (line %d), keyed by a value that never repeats, and nothing removes them." % (
                    where(c), fn_label(fn), loop.lineno)
                fix = "Delete each entry when its work is done (`%s.pop(key, None)` once its answer or last use has come), or bound the table." % c.name
                yield node, why, fix, c.name, None, None
                break
            if loop is not None and c.kind == "list" and how(node) in LIST_GROW and not _ends(loop) \
                    and not is_exception_value(value, fn) and not deduplicated(fn, node, c) and not filled_once(fn, node, c):
                # A list an event loop of the function's own grows on every turn (`while self.running:`),
                # with no way out of the loop: it runs as long as the program, and so does the list.
                why = "%s is grown with `%s` on every turn of the `while` loop in %s (line %d), which nothing ends, and never trimmed, so it keeps everything ever added." % (
                    where(c), how(node), fn_label(fn), loop.lineno)
                fix = "Bound it (`collections.deque(maxlen=N)`) or drop each entry when its work is done (`%s.remove(x)`, or keep it a local of one turn)." % c.name
                yield node, why, fix, c.name, None, WEAK_GUI if gui_module(facts, games=False) else None
                break
            if facts.runs_once(fn) or is_exception_value(value, fn) or filled_once(fn, node, c) or filled_to_index(fn, node, c) \
                    or filled_when_empty(facts, fn, c) or _listens_for_a_while(facts, fn):
                continue
            h = how(node)
            distinct = c.kind == "list" and h in LIST_GROW and deduplicated(fn, node, c)
            if distinct and not open_key(fn, value):
                continue  # `if x not in C: C.append(x)` with values from a fixed set
            per_entity = distinct and keyed_by_entity(fn, value)  # one id per chat or user it has seen
            if c.kind in ("list", "set") and (h in LIST_GROW or h == "add") and made_task(fn, value):
                why, fix = task_kept(c, c.name, fn)
            elif per_entity:
                why = "%s gets the id of each new chat or user in %s (it skips the ids it holds) and never drops one." % (
                    where(c), fn_label(fn))
                fix = "Keep the setting where the chat's or user's other data is kept (a database), or remove the id when it is switched off."
            elif c.kind == "list" and h in LIST_GROW:
                why = "%s is grown with `%s` in %s on every call and never trimmed, so it keeps everything ever added." % (
                    where(c), h, fn_label(fn))
                fix = "Bound it (`collections.deque(maxlen=N)`) or remove each entry when its work is done (`%s.remove(x)` in a `finally`)." % c.name
            elif c.kind in ("dict", "defaultdict", "set") and _new_each_time(fn, c, key, value) \
                    and (c.kind == "set" or not looked_up_first(c, fn, node, key)):  # a memo: unbounded-cache's (a set tested first still keeps every new value)
                why = "%s gets a new entry in %s on every call, keyed by a value that never repeats, and nothing removes them." % (
                    where(c), fn_label(fn))
                k = key if c.kind != "set" else value
                stored = stored_value(node, fn, value)
                if keyed_by_identity(fn, k) or isinstance(k, ast.Name) and k.id == "self" or \
                        isinstance(k, ast.Call) and last_name(k.func) in ("current_thread", "object"):  # an object, not an id
                    fix = "Key it weakly (`weakref.WeakKeyDictionary` / `WeakSet` keyed by the object itself) or delete the entry when the object is done."
                elif isinstance(stored, ast.Name) and isinstance(k, ast.Attribute) and mentions(k, names=(stored.id,)):
                    # `SESSIONS[session.token] = session`: the object under its own id
                    fix = "Hold the objects weakly (`weakref.WeakValueDictionary`), or delete each entry when its object is done (`%s.pop(key, None)`)." % c.name
                else:  # an id of a request, a message, a run: the entry's work ends
                    fix = "Delete each entry when its work is done (`%s.%s` in a `finally`, or once its answer has come), or bound it." % (
                        c.name, "discard(x)" if c.kind == "set" else "pop(key, None)")
            else:
                continue
            if c.key[0] == "c" and _through_self(node, c):
                # `authors = []` in the class body, `self.authors.append(x)` in a method: meant per object?
                empty = {"list": "[]", "dict": "{}", "set": "set()"}.get(c.kind, "%s()" % c.kind)
                fix = ("`%s` is one %s shared by every instance for the life of the process: make it each object's own "
                       "(`self.%s = %s` in `__init__`) or a local of the call, or bound it." % (
                           c.name, c.kind, c.name.rsplit(".", 1)[-1], empty))
            # Only with evidence that the code runs many times (see evidence).
            needs = evidence(facts, fn)
            weak = WEAK_THREAD_KEY if c.kind != "list" and keyed_by_thread(fn, key) else \
                WEAK_ENTITY_KEY if per_entity else WEAK_LOGGED_ONCE if logged_once(fn, node, c) else \
                WEAK_GUI if gui_module(facts, games=False) and not input_event_handler(fn) else \
                WEAK_ADDED_KIND if on_added_kind(fn, node) else \
                WEAK_ADDRESS if address_keyed(fn, c, node, key, value) else None
            if weak is WEAK_LOGGED_ONCE:
                why, fix = logged_once_text(c, fn)
            yield node, why, fix, c.name, needs[0] if needs else None, weak
            break
