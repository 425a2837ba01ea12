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
- of low confidence: a class whose instances compare and hash by value (a frozen dataclass or attrs
  class, a named tuple, a subclass of `tuple`, `str` or another immutable builtin, a frozen pydantic
  model, a class with a `__hash__` of its own, unless that hashes what is new in each instance, as a
  `uuid4()` it sets in its constructor): equal
  instances share one entry, so the cache keeps one per distinct value, not every instance;
- a class handed to a framework's entry point at module level (`ops.main(Charm)`): one per process;
- a class nothing shows to be made an open-ended number of times: neither offered to the code's
  users (exported by its top-level package's `__init__.py`, or defined in a module outside any
  package) nor made by a function that handles a request, an event or a message. Inside an
  application, "made per call" says little: a build tool makes its targets per call, bounded by
  one run of a process of its own.
"""
import ast

from ..runs import KEPT
from ..syntax import assign_parts, class_methods, dotted, ever_new_call, last_name
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
    if _handed_to_main(facts, cls.name):
        return True
    made = facts.instances.get(cls.name, 0)
    return made == 1 and facts.module_instances.get(cls.name, 0) == 1


def _handed_to_main(facts, name):
    """`ops.main(KubernetesRouterCharm)` at module level: the class handed to a framework's entry point,
    which makes the one instance the process runs (a Juju charm, once per hook's process)."""
    return any(callee.rsplit(".", 1)[-1] == "main" and any(isinstance(a, ast.Name) and a.id == name for a in call.args)
               for callee, call in facts.toplevel_calls)


# Class decorators that make instances hash by their fields when given `frozen=True` (or `unsafe_hash`,
# attrs' `hash=True`); `attrs.frozen`/`attr.frozen` do so bare.
DATACLASS_MAKERS = {"dataclass", "s", "attrs", "define", "mutable", "frozen"}
VALUE_HASH_FLAGS = {"frozen", "unsafe_hash", "hash"}
# Bases whose instances hash by value: named tuples and subclasses of the immutable builtins.
VALUE_BASES = {"NamedTuple", "namedtuple", "tuple", "str", "bytes", "int", "float", "complex", "frozenset"}
WEAK_VALUE_EQUAL = ("its instances compare and hash by value (a frozen dataclass or attrs class, a named tuple, a "
                    "subclass of `tuple` or `str`, a `__hash__` of its own): equal instances share one cache entry, so it keeps one per distinct "
                    "value, as many as the values the program makes them with, often a few")


def equal_by_value(cls):
    """Instances of the class hash by value, so a cache keyed by `self` holds one per distinct value."""
    for d in cls.decorator_list:
        name = last_name(d)
        if name == "frozen" and not isinstance(d, ast.Call):
            return True
        if isinstance(d, ast.Call) and name in DATACLASS_MAKERS and (name == "frozen" or any(
                k.arg in VALUE_HASH_FLAGS and isinstance(k.value, ast.Constant) and k.value.value is True for k in d.keywords)):
            return True
    if any(last_name(b) in VALUE_BASES for b in cls.bases):
        return True
    for node in cls.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == "__hash__":
            return not _hash_per_instance(cls)
        targets, value = assign_parts(node)
        if any(isinstance(t, ast.Name) and t.id == "model_config" for t in targets) and isinstance(value, ast.Call) and any(
                k.arg == "frozen" and isinstance(k.value, ast.Constant) and k.value.value is True for k in value.keywords):
            return True  # pydantic: `model_config = ConfigDict(frozen=True)`
    return False


def _hash_per_instance(cls):
    """The class's own `__hash__` hashes what is new in each instance: `id(self)`, `object.__hash__`, or
    an attribute its methods set to a value that never repeats (`self.uuid = str(uuid.uuid4())`), read
    there or in a method of the class it calls (`hash(self.__key())`): one cache entry per instance."""
    methods = class_methods(cls)
    fresh = set()
    for m in methods.values():
        for n in ast.walk(m):
            targets, value = assign_parts(n) if isinstance(n, (ast.Assign, ast.AnnAssign)) else ((), None)
            if value is not None and any(isinstance(c, ast.Call) and ever_new_call(c) for c in ast.walk(value)):
                fresh.update(t.attr for t in targets if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id == "self")
    seen, todo = set(), [methods["__hash__"]]
    while todo:
        m = todo.pop()
        if m.name in seen:
            continue
        seen.add(m.name)
        for n in ast.walk(m):
            if isinstance(n, ast.Call) and dotted(n.func) in ("id", "object.__hash__") and any(
                    isinstance(a, ast.Name) and a.id == "self" for a in n.args):
                return True
            if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == "self":
                if n.attr in methods:
                    todo.append(methods[n.attr])
                elif n.attr in fresh:
                    return True
    return False


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
        dec = next((d for d in fn.node.decorator_list if unbounded_cache_decorator(d, facts)), None)
        if dec is None or _singleton(facts, fn.cls) or _cleared(facts, fn):
            continue
        dec.def_line = fn.node.lineno  # `# leakhound: ignore` may also sit on the def line
        why = "`@%s` on the method `%s.%s()` keeps every `self` it was called with in a class-wide cache, so those instances are never freed." % (
            dotted(dec.func if isinstance(dec, ast.Call) else dec) or "cache", fn.cls.name, fn.name)
        fix = "Cache per instance instead (`functools.cached_property`, or a dict in `self.__dict__`), or move it to a module-level function of the arguments that matter."
        yield dec, why, fix, None, instances_made_many(facts, fn.cls), WEAK_VALUE_EQUAL if equal_by_value(fn.cls) else None


def instances_made_many(facts, cls):
    """The evidence (main.py's "needs") that the program makes many instances of the class, so a cache
    keyed by `self` keeps many: the class (or a subclass) is offered to the package's users, or a
    request's handler makes one and uses it (not one it drops at once, as a health check does)."""
    family = facts.class_family(cls)
    return [[public_key(facts.filename, c)] for c in family] + [[KEPT + c] for c in family]
