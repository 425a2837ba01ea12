"""A mutable default argument (`def f(x, _memo={})`) used as a memo table or an
accumulator: the default is created once and shared by every call."""
from .common import filled_once, fn_label, how, open_key

ID = "mutable-default-memo"
TITLE = "Mutable default argument used as a memo"
HELP = ("A default argument is evaluated once, when the function is defined; a dict or list "
        "default that the function adds to is a global in disguise and keeps every entry forever.")


def check(facts):
    for c in facts.containers.values():
        if not c.key.startswith("d:") or c.shrinks:
            continue
        # A nested function's defaults are made anew each time the outer function runs: not shared for long.
        grows = [g for g in c.grows if g[0] is not None and g[0].parent is None and g[0].name not in facts.module_calls
                 and not filled_once(g[0], g[1], c)]
        if not grows:
            continue
        # A dict memo must be keyed by changing values (see unbounded-cache); a list grows on every append.
        grows = [g for g in grows if c.kind == "list" or how(g[1]) not in ("setitem", "setdefault") or open_key(g[0], g[2])]
        if not grows:
            continue
        fn, node, key, value = grows[0]
        # A default passed on (a recursive helper's accumulator) is managed by the caller only if one passes it.
        why = "The default argument `%s` of %s is created once and shared by all calls, and the function adds to it, so it keeps every entry forever." % (
            c.name, fn_label(fn))
        fix = "Default to `None` and create it per call, or, for a memo, use `functools.lru_cache(maxsize=N)` on the function."
        yield node, why, fix, None
