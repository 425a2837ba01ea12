"""functools.cache / lru_cache(maxsize=None) on an instance method: the cache is
global and its keys hold `self`, so no instance that ever called the method is
freed.

Where this rule is quieter than flake8-bugbear B019 / pylint W1518 on purpose:
- staticmethods and classmethods (no instance in the key; classes live anyway);
- a bounded `lru_cache` (bare, `()`, or `maxsize=N`): it holds at most N
  instances, a delay in freeing them, not growth;
- classes that are effectively singletons: Enum subclasses, metaclasses, a class
  with a `_instance` singleton guard, and a class instantiated exactly once in
  its module, at module level, and nowhere else in that module;
- methods whose first parameter is not `self`;
- a cache the module empties (`self.method.cache_clear()`);
- a class nothing shows to be made an open-ended number of times: neither offered to the code's
  users (exported by its top-level package's `__init__.py`, or defined in a module outside any
  package) nor made by a function that handles a request, an event or a message. Inside an
  application, "made per call" says little: a build tool makes its targets per call, bounded by
  one run of a process of its own.
"""
import ast

from ..runs import REQUEST
from ..syntax import dotted, last_name
from ..public import public_key
from .common import unbounded_cache_decorator

ID = "method-cache"
TITLE = "Unbounded cache on a method keeps instances alive"
HELP = ("`functools.cache` or `lru_cache(maxsize=None)` on a method stores `self` in a cache that "
        "lives as long as the class, so every instance that ever called it stays alive.")

ENUM_BASES = {"Enum", "IntEnum", "StrEnum", "Flag", "IntFlag", "type", "ABCMeta", "EnumMeta"}


def _singleton(facts, cls):
    if any(last_name(b) in ENUM_BASES for b in cls.bases):
        return True
    for node in cls.body:
        for target in getattr(node, "targets", [getattr(node, "target", None)]):
            if isinstance(target, ast.Name) and target.id in ("_instance", "__instance", "_singleton"):
                return True
    made = facts.instances.get(cls.name, 0)
    return made == 1 and facts.module_instances.get(cls.name, 0) == 1


def _cleared(facts, fn):
    """`self._get.cache_clear()` somewhere in the module: the cache is emptied (on every change, say)."""
    suffix = "%s.cache_clear" % fn.name
    return any(name == suffix or name.endswith("." + suffix) for g in facts.functions for name, _ in g.calls)


def check(facts):
    for fn in facts.functions:
        if fn.cls is None or not fn.params or fn.params[0] != "self":
            continue
        names = set(fn.decorators)
        if names & {"staticmethod", "classmethod"}:
            continue
        dec = next((d for d in fn.node.decorator_list if unbounded_cache_decorator(d)), None)
        if dec is None or _singleton(facts, fn.cls) or _cleared(facts, fn):
            continue
        dec.def_line = fn.node.lineno  # `# leakhound: ignore` may also sit on the def line
        why = "`@%s` on the method `%s.%s()` keeps every `self` it was called with in a class-wide cache, so those instances are never freed." % (
            dotted(dec.func if isinstance(dec, ast.Call) else dec) or "cache", fn.cls.name, fn.name)
        fix = "Cache per instance instead (`functools.cached_property`, or a dict in `self.__dict__`), or move it to a module-level function of the arguments that matter."
        family = facts.class_family(fn.cls)
        yield dec, why, fix, None, [[public_key(facts.filename, c)] for c in family] + [[REQUEST + c] for c in family]
