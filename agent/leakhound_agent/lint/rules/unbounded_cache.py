"""A module-level or class-level dict used as a memo table (looked up by a key,
then filled under the same key) with no size bound and no eviction, keyed by
values that keep changing: ever-new values (id(), time(), uuid4(), self), a
hash of content, or a parameter that carries free-form data (text, url, path,
query, ...). Memo tables keyed by names, numbers or classes are not reported:
most have as many keys as the code has call sites, and that cannot be told
apart from growth by reading the code. Not reported: a flag per key (a constant
stored). Of low confidence: a time or small state per key (a lock's expiry, a rate limiter's
window: the state of the peers it tracks), an expiring cache keyed by names or ids (each result stored
with the time it was made, none deleted), a registry of instances keyed by the id of the thing
each stands for (`DEVICES[port.uuid] = self`), a memo keyed by the `.guid` or `.uuid` of an object
that is not a request's, keyed by id() of objects, by the id of the chat or
user a message is for, or an object made per URL or pattern (a client or a
store per endpoint). A memo keyed by data, not by a value that never repeats nor a digest of content, needs the evidence
that its function runs per call (see common.made_many): of high confidence when a request's
handler runs it."""
import ast

from ..runs import PER_INSTANCE, looked_up_first
from ..syntax import ever_new, holds_self, last_name
from .method_cache import WEAK_VALUE_EQUAL, equal_by_value, instances_made_many
from .singleton_container_growth import long_lived
from .common import data_key_needs, looks_up_rows_by, written, stamped, WEAK_CLIENT, keeps_client, WEAK_ENTITY_ID, WEAK_LOGGED_ONCE, logged_once_text, WEAK_ENTITY_KEY, WEAK_IDENTITY, WEAK_PER_ENDPOINT, WEAK_REGISTRY, WEAK_STATE_PER_KEY, WEAK_THREAD_KEY, keyed_by_entity, state_per_key, keyed_by_thread, stored_value, made_of, keyed_by_identity, fn_label, how, managed, mentions, open_key, per_endpoint, where
from .guards import filled_once, key_present, logged_once

ID = "unbounded-cache"
TITLE = "Unbounded cache"
HELP = ("A dict that memoises results by argument and is never evicted keeps one entry per "
        "distinct key for the life of the process; with ever-new keys it grows without bound.")

WEAK_EXPIRING = ("it is an expiring cache keyed by names or ids (each entry stamped with its time, none deleted): "
                 "it grows with the keys it sees, which may be few (the hosts, the symbols) or keep coming (aircraft, "
                 "tokens)")


ENUM_BASES = frozenset(("Enum", "IntEnum", "StrEnum", "Flag", "IntFlag", "ReprEnum"))


def _class_keyed(fn, key):
    """Keys made of classes (type(x), cls, x.__class__) or of array element types (`data.dtype.name`),
    also through a local, are bounded by the program's classes and types; so are an enum's members
    (`self` in a method of an `Enum`)."""
    if isinstance(key, ast.Name) and key.id in ("cls", "klass", "tp", "typ"):
        return True
    if isinstance(key, ast.Name) and key.id == "self" and fn.cls is not None and \
            any(last_name(b) in ENUM_BASES for b in fn.cls.bases):
        return True
    return mentions(made_of(fn, key), calls=("type",), attrs=("__class__", "dtype"))


def _updated_in_place(fn, stored, own):
    """The value stored is a local the function read from the same table (`info = T.get(k, {...})`),
    and only that: a local also bound to a new object (`dcs = T.get(url)`, then `dcs = Client(url)`
    when there is none) is a memo's get-or-make."""
    if not isinstance(stored, ast.Name):
        return False
    values = getattr(made_of(fn, stored), "elts", [])[1:]  # what fn assigns to the local
    def read(v):
        t = v.func.value if isinstance(v, ast.Call) and isinstance(v.func, ast.Attribute) and v.func.attr in ("get", "setdefault") \
            else v.value if isinstance(v, ast.Subscript) else None
        return t is not None and mentions(t, names=(own,), attrs=(own,))
    return bool(values) and all(read(v) for v in values)


def _fixed_keys(facts, fn, key):
    """True for a private function whose every call in the module passes constants or module-level
    names for the parameters the key is made of (base64's `_b32encode(_b32alphabet, s)`): the keys
    are as many as the call sites. Also True when the module never calls it (nothing to go on)."""
    used = [i for i, p in enumerate(fn.params) if mentions(key, names=(p,))]
    if not used:
        return False  # the key is computed inside: nothing to go on
    calls = [(caller, call) for caller in facts.functions for name, call in caller.calls if name.rsplit(".", 1)[-1] == fn.name]
    calls += [(None, call) for name, call in facts.toplevel_calls if name.rsplit(".", 1)[-1] == fn.name]
    offset = 1 if fn.cls is not None and fn.params[:1] in (["self"], ["cls"]) else 0
    for caller, call in calls:
        for i in used:
            name = fn.params[i]
            arg = call.args[i - offset] if 0 <= i - offset < len(call.args) else next((k.value for k in call.keywords if k.arg == name), None)
            if arg is None or isinstance(arg, ast.Constant):
                continue  # the default, or a constant
            if isinstance(arg, ast.Name) and arg.id in facts.module_names and (caller is None or arg.id not in caller.locals):
                continue  # a module-level name
            if isinstance(arg, ast.Starred) or any(isinstance(a, ast.Starred) for a in call.args):
                return False
            return False
    return True


def check(facts):
    for c in facts.containers.values():
        if c.key[0] not in "gci" or c.kind not in ("dict", "defaultdict") or managed(c):
            continue
        # An object's own memo (`self._cache = {}`) outlives its calls only when the program makes the
        # object once and keeps it: the evidence singleton-container-growth asks for.
        lifetime = long_lived(facts, c) if c.key[0] == "i" else None
        if c.key[0] == "i" and lifetime is None:
            continue
        for fn, node, key, value in c.grows:
            if fn is None or facts.runs_once(fn) or key is None or isinstance(key, ast.Constant):
                continue
            if lifetime is not None and (fn.name in PER_INSTANCE or isinstance(key, ast.Name) and key.id == "self"):
                continue  # filled as it is made; or one entry for the object itself
            if how(node) not in ("setitem", "setdefault"):
                continue
            # A memo looks the key up before it stores it (`set then get` is a registry, not a cache).
            if how(node) == "setitem" and not looked_up_first(c, fn, node, key):
                continue
            if filled_once(fn, node, c) or key_present(fn, node, c, key):
                continue
            stored = stored_value(node, fn, value)
            if isinstance(stored, ast.Constant):
                continue  # a flag per key (`busy[chat] = True`), not a memo of a result
            if _class_keyed(fn, key) or not mentions(key, names=set(fn.params) | fn.locals):
                continue
            # Precision first: the key must be ever-new (id(), time(), uuid4()), a hash of content, or
            # made from a parameter that names free-form data. A memo keyed by names, numbers or
            # flags usually has as many keys as the code has call sites: not reported.
            own = c.name.split(".")[-1]
            # ... or the memo stamps each result with the time it was made (to tell a stale one) but never
            # deletes one: an expiring cache, whatever its key (of low confidence: keys by name or id).
            changing = open_key(fn, key)
            expiring = not changing and stamped(fn, stored)
            if not changing and not expiring:
                continue
            if fn.name.startswith("_") and not fn.name.startswith("__") and _fixed_keys(facts, fn, key):
                continue
            state = not ever_new(key) and state_per_key(fn, stored, own)
            registry = isinstance(stored, ast.Name) and stored.id == "self" and fn.cls is not None
            # Open only through an object's `.guid`/`.uuid` (not a request's), or a name the function looks
            # stored rows up by (`filter(event_id=event_id)`): the id of a thing tracked or stored.
            entity_id = not open_key(fn, key, entity_ids=False) or looks_up_rows_by(fn, key)
            if state:
                why = "%s keeps in %s a time or state per key (%s) and never deletes a key, so it keeps one entry per key it has seen." % (
                    where(c), fn_label(fn), "the key's entry filtered" if isinstance(stored, (ast.ListComp, ast.SetComp, ast.GeneratorExp)) else "a lock, a deadline, a last-seen time")
                fix = "Delete a key when its state is spent (`%s.pop(key, None)` once it expires or its list is empty), or bound the table." % written(c)
            elif registry:
                # `REGISTRY[key] = self`: a registry of instances, not a memo.
                why = "%s registers each instance in %s under a key and never removes one, so it keeps every instance made (and all it refers to)." % (
                    fn_label(fn), where(c))
                fix = "Remove the entry when the instance is done (`%s.pop(key, None)` in its `close()`), or make it a `weakref.WeakValueDictionary`." % written(c)
            elif mentions(stored, names=(own,), attrs=(own,)):
                # `inbox[to] = inbox.get(to, []) + [message]`: each entry is the last one and more.
                why = "%s collects in %s a list per key that only grows (each entry made from the one before), with no bound or eviction, so it keeps everything ever added." % (
                    where(c), fn_label(fn))
                fix = "Bound what a key keeps (`collections.deque(maxlen=N)`) and drop the keys no longer needed, or write the records out instead of keeping them."
            elif _updated_in_place(fn, stored, own):
                # `info = STATS.get(url, {...}); info["count"] += 1; STATS[url] = info`: a record per key.
                why = "%s keeps a record per key that %s reads, updates and stores back, and never deletes a key, so it keeps one entry per distinct key forever." % (
                    where(c), fn_label(fn))
                fix = "Key it by something bounded (the route, not the full path with its ids and query), or evict the keys not updated for a while."
            elif ever_new(key) and not entity_id:
                why = "%s caches results in %s keyed by a value that never repeats, with no bound or eviction, so every call adds an entry that stays." % (where(c), fn_label(fn))
                fix = "Key it by the object with `weakref.WeakKeyDictionary`, or bound it (`functools.lru_cache(maxsize=N)` on a module-level function)."
            else:
                why = "%s memoises %s by argument with no bound or eviction, so it keeps one entry per distinct key forever." % (where(c), fn_label(fn))
                fix = "Use `functools.lru_cache(maxsize=N)` on a module-level function of the key, or evict (`if len(%s) >= N: %s.pop(next(iter(%s)))`)." % (written(c), written(c), written(c))
            # `CACHE[self]` in a class whose instances hash by value (`__hash__`, a frozen dataclass): one entry
            # per distinct value, as many as the values the program makes (a unit system's few units).
            by_value = fn.cls is not None and mentions(key, names=("self",)) and equal_by_value(fn.cls)
            if by_value:
                why = "%s caches results in %s keyed by the instance, whose class hashes by value, with no bound or eviction, so it keeps one entry per distinct value forever." % (
                    where(c), fn_label(fn))
            if expiring:
                why = ("%s caches results in %s with the time each was made (to tell when one is stale), and never deletes "
                       "one, so it keeps one entry per distinct key forever." % (where(c), fn_label(fn)))
                fix = ("Delete the expired entries (`%s.pop(key, None)` when one is found stale, or sweep them now and then), "
                       "or use a bounded TTL cache (`cachetools.TTLCache(maxsize=N, ttl=T)`)." % written(c))
            weak = WEAK_VALUE_EQUAL if by_value else WEAK_EXPIRING if expiring else WEAK_STATE_PER_KEY if state else WEAK_REGISTRY if registry and entity_id else WEAK_ENTITY_ID if entity_id \
                else WEAK_IDENTITY if keyed_by_identity(fn, key) else WEAK_THREAD_KEY if keyed_by_thread(fn, key) \
                else WEAK_PER_ENDPOINT if per_endpoint(fn, node, key, value) else WEAK_CLIENT if keeps_client(fn, node, key, value) \
                else WEAK_ENTITY_KEY if keyed_by_entity(fn, key) else WEAK_LOGGED_ONCE if logged_once(fn, node, c) else None
            if weak is WEAK_LOGGED_ONCE:
                why, fix = logged_once_text(c, fn)
            # A memo of a module or a class keyed by data (text, a URL, a pattern) grows with what its
            # callers pass: with every request's data, or with one batch's or one program's own
            # vocabulary (an importer's street names, an app's few script URLs). It needs the evidence
            # that its code runs per call, as a container appended to does (a request's handler, a
            # function a handler calls); a key that never repeats, or a digest of content, needs none.
            needs = lifetime
            if needs is None and fn.cls is not None and holds_self(key):
                # `CACHE[self] = ...`: it keeps every instance, as `@cache` on a method does, when the
                # program makes many (a module's few signals, made at import, are as many as its names).
                needs = instances_made_many(facts, fn.cls)
            elif needs is None:
                needs = data_key_needs(facts, fn, key)
            yield node, why, fix, c.name, needs, weak
            break
