"""Name each reference on a retainer path in Python words, without running user code.

Never used on the program's objects: repr, str, ==, hash, len, getattr,
isinstance, properties or anything a class or metaclass can override. What
is used instead: ``type(x)``, ``is``, ``gc.get_referents``, the unbound C
methods of builtin containers (``dict.items(d)`` is the C method even for a
dict subclass that overrides ``items``), and descriptors read from the
builtin type that defines them (``type.__dict__['__qualname__'].__get__``,
an instance's ``__dict__`` getset, slot member descriptors). Attribute access
is used only on instances of final builtin types (functions, frames, code,
tracebacks, cells, generators), which user code cannot subclass.

A path is a list of objects from a root to a leaked object; ``steps`` turns
it into Step records ("HISTORY", "[12]", ".handlers", "closure var x", ...).
Some objects are transparent and fold into their neighbour: a module's or
class's namespace dict, an instance ``__dict__``, a function's closure tuple
and cell, a thread-local's per-thread dicts.
"""

import _thread
import collections
import functools
import gc
import os
import re
import sys
import types
import weakref
from functools import partial
from itertools import compress, repeat
from operator import is_

from . import interpreter

_TYPE = type.__dict__
_qualname_of_type = _TYPE["__qualname__"].__get__
_name_of_type = _TYPE["__name__"].__get__
_mro_of_type = _TYPE["__mro__"].__get__
_flags_of_type = _TYPE["__flags__"].__get__
_basicsize_of_type = _TYPE["__basicsize__"].__get__
_namespace_proxy = _TYPE["__dict__"].__get__
_bases_of_type = _TYPE["__bases__"].__get__
_module_of_type = _TYPE["__module__"].__get__
_base_of_type = _TYPE["__base__"].__get__
_HEAPTYPE = 1 << 9

_module_dict = types.ModuleType.__dict__["__dict__"].__get__
_EXC = BaseException.__dict__
_EXC_FIELDS = [(name, _EXC[name].__get__) for name in ("__traceback__", "__context__", "__cause__", "args")]

_GetSet = types.GetSetDescriptorType
_Member = types.MemberDescriptorType
_MethodDescriptor = type(str.join)
_WrapperDescriptor = type(object.__sizeof__)
_Function = types.FunctionType
_Method = types.MethodType
_Frame = types.FrameType
_Traceback = types.TracebackType
_Code = types.CodeType
_Module = types.ModuleType
_Cell = type((lambda x: lambda: x)(0).__closure__[0])
_Generator = types.GeneratorType
_Coroutine = types.CoroutineType
_AsyncGenerator = types.AsyncGeneratorType
_Deque = collections.deque
_LruWrapper = getattr(functools, "_lru_cache_wrapper", None)
_lru_cache_info = getattr(_LruWrapper, "cache_info", None)
_deque_maxlen = collections.deque.__dict__["maxlen"].__get__
_ThreadLocal = _thread._local
_NoneType = type(None)
_BuiltinMethod = types.BuiltinMethodType  # also a builtin function (its __self__ is its module)
_Partial = functools.partial
_PARTIAL = _Partial.__dict__
_partial_fields = [(name, _PARTIAL[name].__get__) for name in ("func", "args", "keywords")]
_WeakRef = weakref.ReferenceType
_weakref_call = _WeakRef.__dict__["__call__"]  # the C slot: returns the referent, runs no Python code
_weakref_callback = _WeakRef.__dict__["__callback__"].__get__
_View = memoryview
_view_obj = memoryview.__dict__["obj"].__get__  # the exporting object (C getter); ValueError once released
_view_nbytes = memoryview.__dict__["nbytes"].__get__

# ids of the builtin bases we test for: `id(base) in info.bases` allocates nothing,
# which matters while tracemalloc traces every allocation of this thread.
_ID_TYPE, _ID_MODULE, _ID_LRU, _ID_LOCAL = id(type), id(_Module), id(_LruWrapper), id(_ThreadLocal)
_ID_DICT, _ID_LIST, _ID_TUPLE, _ID_DEQUE = id(dict), id(list), id(tuple), id(_Deque)
_ID_SET, _ID_FROZENSET, _ID_EXC = id(set), id(frozenset), id(BaseException)
_ID_PARTIAL, _ID_WEAKREF = id(_Partial), id(_WeakRef)

_MAX_KEY = 40
# Containers searched by building an id map once rather than scanning per child.
_BIG = 256

# Sized builtin containers: (id of base type, unbound len, unit).
_SIZED = [
    (id(list), list.__len__, "items"),
    (id(tuple), tuple.__len__, "items"),
    (id(dict), dict.__len__, "items"),
    (id(set), set.__len__, "items"),
    (id(frozenset), frozenset.__len__, "items"),
    (id(_Deque), _Deque.__len__, "items"),
    (id(bytearray), bytearray.__len__, "bytes"),
]



class Step(object):
    """One reference on a path: how it is named and what it leads to."""

    __slots__ = ("label", "norm", "desc", "count", "unit", "bound")

    def __init__(self, label, norm, desc, count=None, unit="items", bound=None):
        self.label = label  # "[12]", ".handlers", "HISTORY"
        self.norm = norm  # the label with indices and non-string keys as [*]
        self.desc = desc  # "list", "class Order", "function f"
        self.count = count  # items of a builtin container, or None
        self.unit = unit
        self.bound = bound  # (limit, size) of a container that holds at most limit items, or None


def _has_base(tp, base):
    return any(map(is_, _mro_of_type(tp), repeat(base)))


def _module_name(tp):
    """The module a type says it is from (its tp_name, or the str in a class's namespace), or ''."""
    try:
        return _str_or(_module_of_type(tp), "")
    except Exception:
        return ""


def _str_or(value, default):
    return value if type(value) is str else default


def format_key(key):
    """repr of a dict key when its type is a plain builtin (or a tuple of them), else None."""
    tp = type(key)
    if tp is tuple:
        if tuple.__len__(key) > 6:
            return None
        parts = []
        for item in tuple.__iter__(key):
            text = format_key(item)
            if text is None:
                return None
            parts.append(text)
        text = "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"
    elif tp is str or tp is int or tp is float or tp is bool or tp is bytes or tp is _NoneType:
        text = repr(key)  # exact builtin type: its own C repr
    else:
        return None
    if len(text) > _MAX_KEY:
        text = text[: _MAX_KEY - 1] + "\u2026"
    return text


# Modules whose C types' __sizeof__ counts only memory from Python's allocators (object, PyMem).
PYTHON_ALLOCATED = frozenset((
    "builtins", "collections", "_collections", "array", "io", "_io", "re", "_sre", "decimal", "_decimal",
    "datetime", "_datetime", "functools", "_functools", "itertools", "operator", "types", "weakref", "_weakref",
))


def _cell_name(names, child):
    """The local a frame keeps in a cell (a variable an inner function or comprehension uses), by
    the cell's contents: f_locals gives the contents, the frame refers to the cell."""
    if type(child) is not _Cell:
        return None
    try:
        contents = child.cell_contents
    except ValueError:
        return None  # empty
    return names.get(id(contents))


class _TypeInfo(object):
    __slots__ = ("name", "mro", "bases", "heap", "dict_getter", "members", "sizeof_ok", "sizeof_python", "named")


class Namer(object):
    def __init__(self, runner, agent_dir=None):
        self._run = runner.run
        self._types = {}  # id(type) -> _TypeInfo (types on paths stay alive: objects on paths hold them)
        self._wanted = {}  # id(container) -> (container, set of child ids)
        self._resolved = {}  # id(container) -> ({child id: index or key}, set of key ids)
        self._locals = {}  # id(frame) -> {id(value): name}
        self._steps = {}  # (root flags, ids of path[i:i+4]) -> ((Step, used), those objects)
        self._agent_dir = agent_dir
        self._asyncio = _AsyncioTypes()
        self._ctx_type = interpreter.context_type()
        threading = sys.modules.get("threading")
        thread_type = _lookup(_module_dict(threading), "Thread") if type(threading) is _Module else None
        self._thread_type = thread_type if type(thread_type) is type else None

    @property
    def context_type(self):
        """contextvars.Context, or None when the program never imported contextvars."""
        return self._ctx_type

    def close(self):
        self._steps.clear()
        self._types.clear()
        self._wanted.clear()
        self._resolved.clear()
        self._locals.clear()

    # ------------------------------------------------------------ types

    def type_info(self, tp):
        info = self._types.get(id(tp))
        if info is not None:
            return info
        info = _TypeInfo()
        info.name = _str_or(_qualname_of_type(tp), None) or _str_or(_name_of_type(tp), "?")
        info.mro = _mro_of_type(tp) or (tp,)
        info.bases = frozenset(map(id, info.mro))
        info.heap = bool(_flags_of_type(tp) & _HEAPTYPE)
        info.dict_getter = None
        info.members = []
        sizeof = sizeof_owner = None
        names_seen = set()
        for cls in info.mro:
            ns = namespace(cls)
            if ns is None:
                continue
            for key, value in dict.items(ns):
                if type(key) is not str:
                    continue
                kind = type(value)
                if key == "__dict__" and info.dict_getter is None and "__dict__" not in names_seen:
                    if kind is _GetSet:
                        info.dict_getter = value.__get__
                elif kind is _Member and key not in names_seen:
                    info.members.append((key, value.__get__))
                elif key == "__sizeof__" and sizeof is None:
                    sizeof, sizeof_owner = value, cls
                names_seen.add(key)
        # sys.getsizeof calls __sizeof__: only a C implementation is safe to call.
        info.sizeof_ok = type(sizeof) in (_MethodDescriptor, _WrapperDescriptor)
        # ... and what it counts is memory from Python's allocators only when the type defining it is
        # the interpreter's own (a list's items, a str's text); an extension type's __sizeof__ may
        # add memory of its own allocator (numpy's data, a library's buffers), which is native.
        info.sizeof_python = info.sizeof_ok and _module_name(sizeof_owner) in PYTHON_ALLOCATED
        # A well-known owner whose words name the one object (owners.py: a sqlite3 connection's database).
        from .owners import NAMED

        info.named = any(type_qualname(cls) in NAMED for cls in info.mro)
        self._types[id(tp)] = info
        return info

    def type_name(self, tp):
        return self.type_info(tp).name

    def instance_dict(self, obj):
        getter = self.type_info(type(obj)).dict_getter
        if getter is None:
            return None
        try:
            d = getter(obj)
        except Exception:
            return None
        return d if d is not None and _has_base(type(d), dict) else None

    # ------------------------------------------------------------ sizes

    def shallow_size(self, obj):
        tp = type(obj)
        info = self.type_info(tp)
        if info.sizeof_ok:
            try:
                return int(sys.getsizeof(obj))
            except Exception:
                pass
        try:
            return int(_basicsize_of_type(tp))
        except Exception:
            return 0

    # ------------------------------------------------------------ describing objects

    def describe(self, obj):
        """(desc, count, unit) for the object a step leads to."""
        tp = type(obj)
        if tp is _Function:
            return "function " + _str_or(obj.__qualname__, "?"), None, ""
        if tp is _Method:
            func = obj.__func__
            name = _str_or(func.__qualname__, "?") if type(func) is _Function else self.type_name(type(func))
            return "method " + name, None, ""
        if tp is _Frame:
            code = obj.f_code
            return "frame %s at %s:%s" % (code.co_name, os.path.basename(code.co_filename), obj.f_lineno), None, ""
        if tp is _Code:
            return "code " + _str_or(obj.co_name, "?"), None, ""
        if tp is _BuiltinMethod:
            owner = obj.__self__
            if owner is None or type(owner) is _Module:
                return "builtin function " + _str_or(obj.__qualname__, "?"), None, ""
            return "method " + _str_or(obj.__qualname__, "?"), None, ""
        if tp is _Cell:
            return "cell", None, ""
        if tp is _View:
            try:
                return "memoryview", int(_view_nbytes(obj)), "bytes"
            except Exception:
                return "memoryview", None, ""
        if tp is _Generator or tp is _Coroutine or tp is _AsyncGenerator:
            return "%s %s" % (self.type_name(tp), _str_or(obj.__qualname__, "?")), None, ""
        info = self.type_info(tp)
        bases = info.bases
        if tp is str or tp is int or tp is float or tp is bytes or tp is bool or tp is _NoneType or tp is complex:
            return info.name, None, ""
        if _ID_TYPE in bases:
            return "class " + self.type_name(obj), None, ""
        if _ID_MODULE in bases:
            return "module " + module_name(obj), None, ""
        if _LruWrapper is not None and _ID_LRU in bases:
            return "lru_cache " + self.lru_name(obj), None, ""
        if _ID_PARTIAL in bases:
            return "partial " + self.callable_name(_partial_fields[0][1](obj)), None, ""
        if self._asyncio.is_task(bases):
            # A finished task kept by a collection keeps its result or exception: say it is done.
            done = self._asyncio.state(self, obj, bases)
            coro = self._asyncio.coro(self, obj)
            if type(coro) is _Coroutine or type(coro) is _Generator:
                return "task " + _str_or(coro.__qualname__, "?") + done, None, ""
            return "task" + done, None, ""
        done = self._asyncio.state(self, obj, bases)
        if done:  # a finished future kept by a collection keeps its result or exception
            return info.name + done, None, ""
        if self._thread_type is not None and id(self._thread_type) in bases and self._finished_thread(obj):
            return info.name + ", finished", None, ""
        if _ID_WEAKREF in bases:
            try:
                referent = _weakref_call(obj)
            except Exception:
                return "weakref", None, ""
            return ("weakref to " + self.type_name(type(referent))) if referent is not None else "dead weakref", None, ""
        for base, length, unit in _SIZED:
            if base in bases:
                try:
                    return info.name, length(obj), unit
                except Exception:
                    break
        if info.named:
            from .owners import step_detail

            detail = step_detail(obj, self)
            if detail:
                return "%s %s" % (info.name, detail), None, ""
        return info.name, None, ""

    def _finished_thread(self, thread):
        """Whether a threading.Thread has run and ended, from its instance dict (`_is_stopped` up to
        3.12; 3.13+: its `_handle`'s C method `is_done`), after its `_started` event was set."""
        d = self.instance_dict(thread)
        if d is None:
            return False
        started = _lookup(d, "_started")
        flags = self.instance_dict(started) if started is not None else None
        if flags is None or _lookup(flags, "_flag") is not True:
            return False
        stopped = _lookup(d, "_is_stopped")
        if stopped is None:
            handle = _lookup(d, "_handle")
            is_done = _lookup(namespace(type(handle)) or {}, "is_done") if handle is not None else None
            if type(is_done) is _MethodDescriptor:
                try:
                    stopped = is_done(handle)
                except Exception:
                    return False
        return stopped is True

    def bound(self, obj):
        """(limit, size) of a container that holds at most limit items (a deque's maxlen, a bounded
        lru_cache's maxsize): read with the types' own C getters, or None."""
        tp = type(obj)
        bases = self.type_info(tp).bases
        try:
            if _ID_DEQUE in bases:
                limit, size = _deque_maxlen(obj), _Deque.__len__(obj)
            elif _LruWrapper is not None and _ID_LRU in bases:
                info = _lru_cache_info(obj)  # C: (hits, misses, maxsize, currsize)
                limit, size = tuple.__getitem__(info, 2), tuple.__getitem__(info, 3)
            else:
                return None
        except Exception:
            return None
        if type(limit) is not int or type(size) is not int or limit <= 0:
            return None
        return limit, size

    def callable_name(self, func):
        """A function's or method's qualified name, else its type's name (a partial's func)."""
        tp = type(func)
        if tp is _Method:
            func = func.__func__
            tp = type(func)
        if tp is _Function:
            return _str_or(func.__qualname__, "?")
        if _LruWrapper is not None and _ID_LRU in self.type_info(tp).bases:
            return self.lru_name(func)
        return self.type_name(tp)

    def lru_name(self, wrapper):
        d = self.instance_dict(wrapper)
        if d is not None:
            for key, value in dict.items(d):
                if type(key) is str and key == "__qualname__" and type(value) is str:
                    return value
            for key, value in dict.items(d):
                if type(key) is str and key == "__wrapped__" and type(value) is _Function:
                    return _str_or(value.__qualname__, "?")
        return "?"

    # ------------------------------------------------------------ paths

    def want(self, path):
        """Register the references of a path, so big containers are searched once for all paths."""
        wanted = self._wanted
        resolved = self._resolved
        for parent, child in zip(path, path[1:]):
            entry = wanted.get(id(parent))
            if entry is None:
                entry = wanted[id(parent)] = (parent, set())
            if id(child) not in entry[1]:
                entry[1].add(id(child))
                resolved.pop(id(parent), None)

    def steps(self, path, thread_root=False, namespace_root=False):
        """Steps for a path [root, ..., object]; thread_root: path[0] is a frame's locals dict;
        namespace_root: path[0] is a module's dict (a module walked through its dict only)."""
        steps = []
        i = 0
        last = len(path) - 1
        memo = self._steps
        while i < last:
            # An edge is named from the objects at i..i+3 alone: paths that share them (the nodes of
            # a chain, which every deeper path goes through) name them once.
            near = path[i:i + 4]
            key = (i == 0 and thread_root, i == 0 and namespace_root) + tuple(map(id, near))
            found = memo.get(key)
            if found is None:
                found = self._step(path, i, thread_root and i == 0, namespace_root and i == 0)
                memo[key] = (found, near)  # (the objects held, so no other object takes their ids)
            else:
                found = found[0]
            steps.append(found[0])
            i += found[1]
        return _fold_chains(_fold_classes(steps))

    def _step(self, path, i, thread_root, namespace_root):
        """(Step, references it uses) for the edge from path[i]."""
        if namespace_root:
            key = self._key_of_value(path[0], path[1])
            name = key if type(key) is str else "?"
            label, norm, used = name, name, 1
        else:
            label, norm, used = self._edge(path, i, thread_root)
        target = path[i + used]
        desc, count, unit = self.describe(target)
        bound = self.bound(target)
        if bound is not None:
            desc = "%s, at most %s" % (desc, format(bound[0], ","))
            if count is None:
                count, unit = bound[1], "entries"
        return Step(label, norm, desc, count, unit, bound), used

    def _edge(self, path, i, thread_root):
        parent = path[i]
        child = path[i + 1]
        after = path[i + 2] if i + 2 < len(path) else None
        tp = type(parent)
        if thread_root:
            key = self._key_of_value(parent, child)
            name = key if type(key) is str else "?"
            return "local variable " + name, "local variable " + name, 1
        if tp is _Function:
            return self._function_edge(parent, child, path, i)
        if self._ctx_type is not None and tp is self._ctx_type:
            label = interpreter.context_edge(parent, path, i)
            if label is not None:
                return label
        if tp is _Method:
            if child is parent.__self__:
                return "__self__", "__self__", 1
            if child is parent.__func__:
                return "__func__", "__func__", 1
            return self._generic_edge(parent, child, path, i)
        if tp is _BuiltinMethod:
            if child is parent.__self__:
                return "__self__", "__self__", 1
            return self._fallback(parent)
        if tp is _Frame:
            return self._frame_edge(parent, child, after)
        if tp is _Traceback:
            for name in ("tb_frame", "tb_next"):
                if child is getattr(parent, name):
                    return name, name, 1
            return self._fallback(parent)
        if tp is _Cell:
            return "cell contents", "cell contents", 1
        if tp is _View:
            # memoryview -> its managed buffer (C) -> the exporter reads as the view's own `.obj`.
            try:
                obj = _view_obj(parent)
            except Exception:
                obj = None
            if obj is not None and (child is obj or after is obj):
                return ".obj", ".obj", 1 if child is obj else 2
            if self.type_name(type(child)) == "managedbuffer":
                return "its buffer", "its buffer", 1
            return self._fallback(parent)
        if tp is _Generator or tp is _Coroutine or tp is _AsyncGenerator:
            return self._generator_edge(parent, child, after, path[i + 3] if i + 3 < len(path) else None)
        bases = self.type_info(tp).bases
        if _ID_MODULE in bases:
            edge = self._namespace_edge(_module_dict(parent), "" if i == 0 else ".", child, after)
            # Up to 3.9 atexit's callbacks are its module's referents (its C state).
            if edge[0] == "referent" and parent is sys.modules.get("atexit"):
                return "registered callback", "registered callback", 1
            return edge
        if _ID_TYPE in bases:
            label = self._class_edge(parent, child, after)
            if label is not None:
                return label
        elif _LruWrapper is not None and _ID_LRU in bases:
            return self._lru_edge(parent, child, after)
        elif _ID_LOCAL in bases:
            return self._thread_local_edge(parent, child, path, i)
        elif _ID_DICT in bases:
            return self._dict_edge(parent, child)
        elif _ID_LIST in bases or _ID_TUPLE in bases or _ID_DEQUE in bases:
            index = self._index_in(parent, child)
            if index is not None:
                return "[%d]" % index, "[*]", 1
        elif _ID_SET in bases or _ID_FROZENSET in bases:
            return "member", "member", 1
        elif _ID_PARTIAL in bases:
            label = self._partial_edge(parent, child, after)
            if label is not None:
                return label
        elif _ID_WEAKREF in bases:
            try:
                if child is _weakref_callback(parent):
                    return "callback", "callback", 1
            except Exception:
                pass
        elif _ID_EXC in bases:
            for name, get in _EXC_FIELDS:
                try:
                    if child is get(parent):
                        return name, name, 1
                except Exception:
                    pass
        elif self._asyncio.is_future(bases):
            label = self._future_edge(parent, child, path, i, bases)
            if label is not None:
                return label
        return self._generic_edge(parent, child, path, i)

    # ------------------------------------------------------------ edges by kind

    def _namespace_edge(self, ns, prefix, child, after):
        """A module: module -> its dict -> value reads as one step, NAME."""
        if child is ns:
            if after is None:
                return prefix + "__dict__", prefix + "__dict__", 1
            key = self._key_of_value(ns, after)
            name = key if type(key) is str else "?"
            return prefix + name, prefix + name, 2
        # A module's C state can refer to an object its namespace also holds (3.13's _asyncio._current_tasks).
        key = self._key_of_value(ns, child)
        if type(key) is str:
            return prefix + key, prefix + key, 1
        return "referent", "referent", 1

    def _class_edge(self, cls, child, after):
        qual = self.type_name(cls)
        ns = namespace(cls)
        if ns is not None and child is ns:
            if after is None:
                return qual + ".__dict__", qual + ".__dict__", 1
            key = self._key_of_value(ns, after)
            name = key if type(key) is str else "?"
            return qual + "." + name, qual + "." + name, 2
        for name, get in (("__mro__", _mro_of_type), ("__bases__", _bases_of_type), ("__base__", _base_of_type)):
            if child is get(cls):
                return qual + "." + name, qual + "." + name, 1
        return None

    def _instance_edge(self, obj, child, after):
        d = self.instance_dict(obj)
        if d is None:
            return None
        if child is d:
            if after is None:
                return ".__dict__", ".__dict__", 1
            key = self._key_of_value(d, after)
            if type(key) is str:
                return "." + key, "." + key, 2
            return "attribute", "attribute", 2
        key = self._key_of_value(d, child)  # 3.11+: instance values are referents directly
        if type(key) is str:
            return "." + key, "." + key, 1
        return None

    def _generic_edge(self, obj, child, path, i):
        after = path[i + 2] if i + 2 < len(path) else None
        label = self._instance_edge(obj, child, after)
        if label is not None:
            return label
        tp = type(obj)
        for name, get in self.type_info(tp).members:
            try:
                if get(obj, tp) is child:
                    return "." + name, "." + name, 1
            except Exception:
                pass
        if child is tp:
            return "__class__", "__class__", 1
        return self._fallback(obj)

    def _fallback(self, obj):
        label = "referent of " + self.type_name(type(obj))
        return label, label, 1

    def _function_edge(self, func, child, path, i):
        closure = func.__closure__
        if closure is not None and child is closure:
            if i + 2 >= len(path):
                return "__closure__", "__closure__", 1
            cell = path[i + 2]
            index = _identity_index(closure, cell)
            freevars = func.__code__.co_freevars
            name = freevars[index] if index is not None and index < len(freevars) else "?"
            if i + 3 < len(path) and type(cell) is _Cell:
                try:
                    contents = cell.cell_contents
                except ValueError:
                    contents = None
                if path[i + 3] is contents:
                    return "closure var " + name, "closure var " + name, 3
            return "closure cell " + name, "closure cell " + name, 2
        defaults = func.__defaults__
        if defaults is not None and child is defaults:
            label = self._default_edge(func, defaults, path[i + 2] if i + 2 < len(path) else None)
            return label if label is not None else ("__defaults__", "__defaults__", 1)
        kwdefaults = func.__kwdefaults__
        if kwdefaults is not None and child is kwdefaults:
            after = path[i + 2] if i + 2 < len(path) else None
            key = self._key_of_value(kwdefaults, after) if after is not None else None
            if type(key) is str:
                label = "%s(*, %s=%s)" % (_str_or(func.__name__, "?"), key, self._literal(after))
                return label, label, 2
            return "__kwdefaults__", "__kwdefaults__", 1
        if child is func.__globals__:
            return "__globals__", "__globals__", 1
        if child is func.__code__:
            return "__code__", "__code__", 1
        return self._generic_edge(func, child, path, i)

    def _default_edge(self, func, defaults, value):
        """f -> __defaults__ -> value reads as f(name=...), by the parameter the default belongs to."""
        if value is None:
            return None
        index = _identity_index(defaults, value)
        code = func.__code__
        names = code.co_varnames[: code.co_argcount]  # positional-only and positional parameters, in order
        count = tuple.__len__(defaults)
        if index is None or count > len(names):
            return None
        name = names[len(names) - count + index]
        if type(name) is not str:
            return None
        label = "%s(%s=%s)" % (_str_or(func.__name__, "?"), name, self._literal(value))
        return label, label, 2

    def _literal(self, value):
        """How a default value is written: {...}, [...], (...), else ..."""
        tp = type(value)
        if tp is dict or tp is set:
            return "{...}"
        if tp is list:
            return "[...]"
        if tp is tuple:
            return "(...)"
        return "..."

    def _partial_edge(self, p, child, after):
        """partial -> args -> item reads as .args[0]; partial -> keywords -> value as .keywords['size']."""
        for name, get in _partial_fields:
            try:
                field = get(p)
            except Exception:
                continue
            if child is not field:
                continue
            if name == "args" and after is not None:
                index = _identity_index(field, after)
                if index is not None:
                    return ".args[%d]" % index, ".args[%d]" % index, 2
            if name == "keywords" and after is not None and type(field) is dict:
                key = self._key_of_value(field, after)
                if type(key) is str:
                    text = ".keywords[%s]" % format_key(key)
                    return text, text, 2
            return "." + name, "." + name, 1
        return None

    def _future_edge(self, fut, child, path, i, bases):
        """asyncio: a task's coroutine locals, what it awaits, and the tasks a future wakes."""
        aio = self._asyncio
        after = path[i + 2] if i + 2 < len(path) else None
        if aio.is_task(bases):
            coro = aio.coro(self, fut)
            if coro is not None and child is coro:
                if after is not None and (type(coro) is _Coroutine or type(coro) is _Generator):
                    label, norm, used = self._generator_edge(coro, after, path[i + 3] if i + 3 < len(path) else None)
                    if label.startswith("local variable "):
                        return label, norm, used + 1  # the task's description names the coroutine
                return "coroutine", "coroutine", 1
            waiter = aio.field(self, fut, "_fut_waiter")
            if waiter is not None and child is waiter:
                return "awaiting", "awaiting", 1
            if self._ctx_type is not None and type(child) is self._ctx_type:
                # The C Task's context has no attribute; the Python Task's is `_context`.
                return "._context", "._context", 1
        for entry in aio.callbacks(self, fut):
            callback = tuple.__getitem__(entry, 0) if type(entry) is tuple and tuple.__len__(entry) else entry
            if child is callback:
                # The callback of a task awaiting this future (its wakeup): name the task, not the plumbing.
                if after is not None and aio.is_task(self.type_info(type(after)).bases):
                    return "awaited by", "awaited by", 2
                return "callback", "callback", 1
        for name in ("_result", "_exception", "_loop"):
            value = aio.field(self, fut, name)
            if value is not None and child is value:
                return "." + name, "." + name, 1
        return None

    def _frame_locals(self, frame):
        """{id(value): name} of a frame's locals (cells and free variables by their contents).

        Read through f_locals, C code on every version, no program code: on 3.8-3.12 it copies
        the fast locals into the frame's own locals dict (PyFrame_FastToLocals) and returns it;
        on 3.13 it is a FrameLocalsProxy (PEP 667) that dict() copies. Positions cannot serve
        instead: a frame's traverse skips unbound locals, so gc.get_referents(frame) does not
        line up with co_varnames.
        """
        names = self._locals.get(id(frame))
        if names is None:
            names = {}
            try:
                local_vars = frame.f_locals
                if type(local_vars) is not dict:
                    local_vars = dict(local_vars)  # 3.13: a FrameLocalsProxy
                for key, value in dict.items(local_vars):
                    if type(key) is str:
                        names.setdefault(id(value), key)
            except Exception:
                pass
            self._locals[id(frame)] = names
        return names

    def _frame_edge(self, frame, child, after):
        names = self._frame_locals(frame)
        name = names.get(id(child)) or _cell_name(names, child)
        if name is not None:
            return "local variable " + name, "local variable " + name, 1
        if after is not None:
            if type(child) is _Cell:
                name = names.get(id(after))
                if name is not None:
                    return "local variable " + name, "local variable " + name, 2
            if type(child) is dict and names.get(id(after)) is not None:
                # Before 3.11 a frame refers to its f_locals dict.
                name = names.get(id(after))
                return "local variable " + name, "local variable " + name, 2
        for name in ("f_back", "f_code", "f_globals", "f_builtins", "f_trace"):
            if child is getattr(frame, name):
                return name, name, 1
        return self._fallback(frame)

    def _generator_edge(self, gen, child, after=None, after2=None):
        tp = type(gen)
        prefix = "gi" if tp is _Generator else ("cr" if tp is _Coroutine else "ag")
        frame = getattr(gen, prefix + "_frame", None)
        if child is frame:
            # Before 3.11 a suspended generator refers to its frame, which refers to the locals:
            # generator -> frame -> value reads as the local, as it does since.
            if after is not None and type(frame) is _Frame:
                label, norm, used = self._frame_edge(frame, after, after2)
                if label.startswith("local variable "):
                    return label, norm, used + 1
            return prefix + "_frame", prefix + "_frame", 1
        if type(frame) is _Frame:
            names = self._frame_locals(frame)
            name = names.get(id(child)) or _cell_name(names, child)
            if name is not None:
                return "local variable " + name, "local variable " + name, 1
        for name in (prefix + "_code", "gi_yieldfrom", "cr_await", "ag_await"):
            if child is getattr(gen, name, None):
                return name, name, 1
        return self._fallback(gen)

    def _lru_edge(self, wrapper, child, after):
        d = self.instance_dict(wrapper)
        if d is not None:
            if child is d:
                if after is not None:
                    key = self._key_of_value(d, after)
                    if type(key) is str:
                        return "." + key, "." + key, 2
                return ".__dict__", ".__dict__", 1
            key = self._key_of_value(d, child)
            if type(key) is str:
                return "." + key if key != "__wrapped__" else "__wrapped__", "." + key, 1
        if type(child) is dict:
            return "cache", "cache", 1
        if type(child) is _Function:
            return "__wrapped__", "__wrapped__", 1
        # Bounded caches: the wrapper refers to each entry's key and result directly.
        return "cache entry", "cache entry", 1

    def _thread_local_edge(self, local, child, path, i):
        if type(child) is dict:
            # local -> {thread key: that thread's attribute dict} -> dict -> value
            if i + 2 < len(path) and type(path[i + 2]) is dict:
                attrs = path[i + 2]
                if i + 3 < len(path):
                    key = self._key_of_value(attrs, path[i + 3])
                    name = key if type(key) is str else "?"
                    return "thread-local ." + name, "thread-local ." + name, 3
                return "thread-local attributes", "thread-local attributes", 2
            return "thread-local storage", "thread-local storage", 1
        return self._generic_edge(local, child, path, i)

    def _refers_to(self, value, target):
        """Whether value refers to target directly, or through its instance dict (C traversal only)."""
        try:
            near = gc.get_referents(value)
        except Exception:
            return False
        d = self.instance_dict(value)
        if d is not None:
            near = near + list(dict.values(d))
        return any(o is target for o in near)

    def _dict_edge(self, d, child):
        found, key_ids = self._resolve(d, child)
        if id(child) in found:
            key = found[id(child)]
            text = format_key(key)
            if text is None and type(key) is _WeakRef:
                # A WeakKeyDictionary's entry: name the key's referent, and say when the value keeps
                # it (then the weak key never dies, and neither does the entry).
                try:
                    target = _weakref_call(key)
                except Exception:
                    target = None
                if target is not None:
                    name = self.type_name(type(target))
                    if self._refers_to(child, target):
                        label = "value that keeps its own weak key, a " + name
                    else:
                        label = "value of a weak key to a " + name
                    return label, label, 1
            if text is None:
                label = "value of a %s key" % self.type_name(type(key))
                return label, label, 1
            return "[%s]" % text, ("[%s]" % text) if type(key) is str else "[*]", 1
        if id(child) in key_ids:
            return "key", "key", 1
        return self._generic_edge(d, child, [d, child], 0)

    # ------------------------------------------------------------ finding a child in a container

    def _key_of_value(self, d, value):
        found, _ = self._resolve(d, value)
        return found.get(id(value), None)

    def _index_in(self, seq, child):
        found, _ = self._resolve(seq, child)
        return found.get(id(child))

    def _resolve(self, container, extra=None):
        """({child id: key or index}, {ids of dict keys}) for the registered children of a container."""
        cached = self._resolved.get(id(container))
        if cached is not None and (extra is None or id(extra) in cached[0] or id(extra) in cached[1]):
            return cached
        entry = self._wanted.get(id(container))
        wanted = set(entry[1]) if entry is not None and entry[0] is container else set()
        if extra is not None:
            wanted.add(id(extra))
        found, key_ids = {}, set()
        bases = self.type_info(type(container)).bases
        run = self._run if _length(container, bases) > _BIG else _run_inline
        try:
            if _ID_DICT in bases:
                values_hit = []
                keys_hit = []
                run([
                    partial(values_hit.extend, compress(dict.items(container),
                                                        map(wanted.__contains__, map(id, dict.values(container))))),
                    partial(keys_hit.extend, compress(dict.keys(container),
                                                      map(wanted.__contains__, map(id, dict.keys(container))))),
                ])
                for key, value in values_hit:
                    found.setdefault(id(value), key)
                key_ids.update(map(id, keys_hit))
            else:
                if _ID_LIST in bases:
                    items = list.__iter__(container)
                elif _ID_TUPLE in bases:
                    items = tuple.__iter__(container)
                elif _ID_DEQUE in bases:
                    items = _Deque.__iter__(container)
                else:
                    items = iter(())
                hits = []
                run([partial(hits.extend, map(wanted.__contains__, map(id, items)))])
                index = -1
                while True:
                    try:
                        index = hits.index(True, index + 1)  # bools only: no user __eq__
                    except ValueError:
                        break
                    item = container[index] if type(container) is list or type(container) is tuple else None
                    if item is None:
                        item = _nth(container, bases, index)
                    if item is not None:
                        found.setdefault(id(item), index)
        except Exception:
            pass
        result = (found, key_ids)
        self._resolved[id(container)] = result
        return result


def _run_inline(tasks):
    for task in tasks:
        task()


def _length(container, bases):
    for base, length, _ in _SIZED:
        if base in bases:
            try:
                return length(container)
            except Exception:
                return 0
    return 0


def _nth(container, bases, index):
    try:
        if _ID_LIST in bases:
            return list.__getitem__(container, index)
        if _ID_TUPLE in bases:
            return tuple.__getitem__(container, index)
        if _ID_DEQUE in bases:
            return _Deque.__getitem__(container, index)
    except Exception:
        return None
    return None


def _identity_index(seq, item):
    for index, value in enumerate(tuple.__iter__(seq)):
        if value is item:
            return index
    return None


class _AsyncioTypes(object):
    """asyncio's Task and Future types (C and pure Python) among the modules already imported.

    Nothing is imported. The C types' fields are read with their own getset descriptors
    (C code); the pure-Python types keep theirs in the instance dict.
    """

    def __init__(self):
        self.tasks, self.futures, self.getters = set(), set(), {}
        c_module = sys.modules.get("_asyncio")
        if type(c_module) is _Module:
            ns = _module_dict(c_module)
            # Future's first: its getsets apply to tasks too, not the other way round.
            for name, kind in (("Future", self.futures), ("Task", self.tasks)):
                tp = _lookup(ns, name)
                if type(tp) is type:
                    kind.add(id(tp))
                    for key, value in dict.items(namespace(tp) or {}):
                        if type(key) is str and type(value) is _GetSet and key not in self.getters:
                            self.getters[key] = value.__get__
        for module_name, name, kind in (("asyncio.tasks", "_PyTask", self.tasks),
                                        ("asyncio.futures", "_PyFuture", self.futures)):
            module = sys.modules.get(module_name)
            if type(module) is _Module:
                tp = _lookup(_module_dict(module), name)
                if type(tp) is type:
                    kind.add(id(tp))
        self.futures.update(self.tasks)
        # concurrent.futures' Future (pure Python, its state in the instance dict), when imported.
        self.pool_futures = set()
        module = sys.modules.get("concurrent.futures._base")
        if type(module) is _Module:
            tp = _lookup(_module_dict(module), "Future")
            if type(tp) is type:
                self.pool_futures.add(id(tp))

    def state(self, namer, obj, bases):
        """', done' or ', cancelled' for a finished task or future (asyncio's or concurrent.futures'),
        else ''. Read from the C getset or the instance dict: no code of the program runs."""
        if self.is_future(bases):
            state = self.field(namer, obj, "_state")
        elif self.pool_futures and not self.pool_futures.isdisjoint(bases):
            d = namer.instance_dict(obj)
            state = _lookup(d, "_state") if d is not None else None
        else:
            return ""
        if type(state) is not str:
            return ""
        return ", done" if state == "FINISHED" else ", cancelled" if state in ("CANCELLED", "CANCELLED_AND_NOTIFIED") else ""

    def is_task(self, bases):
        return bool(self.tasks) and not self.tasks.isdisjoint(bases)

    def is_future(self, bases):
        return bool(self.futures) and not self.futures.isdisjoint(bases)

    def field(self, namer, obj, name):
        """A field of a Task or Future: the C getset when it has one, else the instance dict's."""
        d = namer.instance_dict(obj)
        if d is not None:
            value = _lookup(d, name)
            if value is not None:
                return value
        get = self.getters.get(name)
        if get is not None:
            try:
                return get(obj)
            except Exception:
                return None
        return None

    def coro(self, namer, task):
        return self.field(namer, task, "_coro")

    def callbacks(self, namer, fut):
        found = self.field(namer, fut, "_callbacks")
        if type(found) is list:
            return list.__iter__(found)
        return iter(())


def _lookup(d, name):
    """d[name] for a str name, comparing only str keys (no user __eq__); None when absent."""
    for key, value in dict.items(d):
        if type(key) is str and key == name:
            return value
    return None


def type_qualname(tp):
    """A type's qualified name, read without its metaclass."""
    try:
        return _str_or(_qualname_of_type(tp), None) or _str_or(_name_of_type(tp), "?")
    except Exception:
        return "?"


def namespace(cls):
    """The dict behind a class's mappingproxy, read without the metaclass."""
    try:
        proxy = _namespace_proxy(cls)
    except Exception:
        return None
    for ns in gc.get_referents(proxy):
        if type(ns) is dict:
            return ns
    return None


def module_name(module):
    try:
        d = _module_dict(module)
    except Exception:
        return "?"
    for key, value in dict.items(d):
        if type(key) is str and key == "__name__":
            return _str_or(value, "?")
    return "?"


# A name a lambda is bound to (a global, a class or instance attribute), not a word of the walk's own.
# A step to an item of a container: `[3]`, `['Row1']`, `member`, `key`, `value of a ... key`.
_ITEM = re.compile(r"^(\[.*\]|member|key|value .*)$")
_NAME = re.compile(r"^\.?[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")
_WORDS = frozenset(("member", "key", "callback", "coroutine", "awaiting", "cache", "referent", "attribute",
                    "__self__", "__func__", "__wrapped__", "__closure__", "__defaults__", "__kwdefaults__"))


# Links of one kind in a row, from this many on, read as one step: a chain.
CHAIN = 3


def _fold_chains(steps):
    """A linked chain (`.next (Node)` again and again, itertools.tee's buffer blocks, an exception's
    `__context__` chain) reads as one step with its length: `.next (Node, 1,204 in a chain)`. Paths
    into the same chain at different depths then have one shape."""
    out = []
    i = 0
    while i < len(steps):
        step = steps[i]
        j = i + 1
        while j < len(steps) and steps[j].norm == step.norm and steps[j].desc == step.desc and steps[j].bound is None:
            j += 1
        if j - i >= CHAIN and step.bound is None:
            out.append(Step(step.label if all(s.label == step.label for s in steps[i:j]) else step.norm,
                            step.norm, step.desc, j - i, "in a chain"))
        else:
            out.extend(steps[i:j])
        i = j
    return out


def _fold_classes(steps):
    """'Order (class Order)' followed by 'Order._instances (...)' reads as one step, and so does
    'normalise (function normalise)' followed by 'normalise(_memo={...}) (...)'."""
    out = []
    for step in steps:
        if out:
            prev = out[-1]
            if prev.desc.startswith("class ") and (step.label.startswith(prev.desc[6:] + ".")):
                if not _ITEM.match(prev.label):  # reached by a name (`Order`, `__self__`, `.cls`)
                    out[-1] = step
                    continue
                # A class reached as an item (classes made per call, kept in a table): its attribute
                # reads `.fields`, so the paths through its many classes have one shape.
                rest = step.label[len(prev.desc) - 6:]
                step = Step(rest, rest, step.desc, step.count, step.unit, step.bound)
            if prev.desc.startswith("function ") and "(" in step.label:
                name = step.label[: step.label.index("(")]
                if name and (prev.label == name or prev.label.endswith("." + name)
                             or (name == "<lambda>" and _NAME.match(prev.label) and prev.label not in _WORDS)):
                    rest = step.label[len(name):]
                    out[-1] = Step(prev.label + rest, prev.norm + rest, step.desc, step.count, step.unit)
                    continue
        out.append(step)
    return out
