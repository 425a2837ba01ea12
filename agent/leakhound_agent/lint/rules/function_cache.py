"""`functools.cache` / `lru_cache(maxsize=None)` on a module-level function that a
per-call function calls with an identifier of a per-call object (a request's
`user_id`, a session, `uuid4()`, `id(obj)`): the cache keeps one entry per distinct
argument tuple for the life of the process, results included, so it grows with every
new identifier.

Precision first: most unbounded function caches are keyed by the program's own
values (names, classes, configuration, file paths) and stay small; only a call that
passes an identifier of a per-call object is evidence of growth. Not reported: a
cache the module empties (`f.cache_clear()`), calls from code that runs once, and,
like handler-per-call, calls from a function nothing shows to run many times."""
from .common import fn_label, made_many, per_call_value, unbounded_cache_decorator

ID = "function-cache"
TITLE = "Unbounded function cache keyed by per-call values"
HELP = ("`functools.cache` or `lru_cache(maxsize=None)` keeps one entry per distinct arguments for the life "
        "of the process; called with an identifier of a per-call object (a user or session id, a fresh "
        "uuid), it keeps a new entry, and its result, for every one.")


def check(facts):
    cached = {}
    for fn in facts.functions:
        if fn.cls is None and fn.parent is None:
            dec = next((d for d in fn.node.decorator_list if unbounded_cache_decorator(d, facts)), None)
            if dec is not None:
                cached[fn.name] = (fn, dec)
    if not cached:
        return
    callees = {name for g in facts.functions for name, _ in g.calls} | {n for n, _ in facts.toplevel_calls}
    for name, (fn, dec) in cached.items():
        if any(c == name + ".cache_clear" or c.endswith("." + name + ".cache_clear") for c in callees):
            continue
        for caller in facts.functions:
            if caller is fn or facts.runs_once(caller):
                continue
            call = next((c for n, c in caller.calls if n == name and any(
                per_call_value(caller, a) for a in list(c.args) + [k.value for k in c.keywords])), None)
            if call is None:
                continue
            dec.def_line = fn.node.lineno  # `# leakhound: ignore` may also sit on the def line
            why = ("`%s()` is cached without a bound, and %s calls it with an identifier of a per-call object "
                   "(line %d): the cache keeps an entry, and its result, for every new one." % (fn.name, fn_label(caller), call.lineno))
            fix = ("Bound it (`functools.lru_cache(maxsize=1024)`), or cache only on the arguments that repeat and "
                   "pass the per-call identifier outside the cached call.")
            needs = made_many(facts, caller)
            # The container is the function: a run's path `module app → render (lru_cache render) → cache` starts there.
            yield dec, why, fix, fn.name, (needs[0] if needs else None)
            break
