"""Where the walk starts: modules first, then the locals of every thread's frames.

Root descriptors are (kind, text) tuples: ("module", "module app.cache") or
("thread", "thread MainThread (main.py:12 main)"). The agent's own modules,
threads and frames are left out, and reported back so the walk can mark them
as visited without walking into them.
"""

import gc
import os
import sys

from .names import _has_base, _lookup, _Module, _module_dict, _mro_of_type, format_key, namespace, type_qualname

_this_package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The directory holding sitecustomize.py and leakhound_agent/: files in it are ours.
AGENT_DIR = os.path.dirname(_this_package)
_THREADING_FILE = "threading.py"


class Ours(object):
    """Tells the agent's files and modules from the program's."""

    def __init__(self, agent_dir=AGENT_DIR):
        prefixes = set()
        for d in (os.path.abspath(agent_dir), os.path.realpath(agent_dir)):
            prefixes.add(d.rstrip(os.sep) + os.sep)
        self._prefixes = tuple(prefixes)
        self._files = {}

    def file(self, filename):
        verdict = self._files.get(filename)
        if verdict is None:
            verdict = False
            if type(filename) is str and not filename.startswith("<"):
                path = filename if os.path.isabs(filename) else os.path.abspath(filename)
                verdict = path.startswith(self._prefixes)
            self._files[filename] = verdict
        return verdict

    def module(self, name, module):
        if name == "leakhound_agent" or name.startswith("leakhound_agent."):
            return True
        if type(module) is not _Module and not _has_base(type(module), _Module):
            return False
        for key, value in dict.items(_module_dict(module)):
            if type(key) is str and key == "__file__":
                return type(value) is str and self.file(value)
        return False


# Modules whose own traversal is unsafe, walked through their __dict__ only (and never passed
# to gc.get_referents). CPython 3.12: the _asyncio module's traverse visits its free list of
# future iterators, so gc.get_referents(_asyncio) hands out freed objects that are freed
# again when dropped; the free list becomes a cycle and the interpreter loops forever in its
# final collection (gh-122695, fixed in 3.13.0; the 3.12 releases here have it).
_DICT_ONLY = ("_asyncio",) if sys.version_info[:2] == (3, 12) else ()


def module_roots(ours):
    """([(module or its dict, descriptor)] with __main__ first, [the agent's modules and their dicts,
    and modules walked through their dict only]).

    After __main__, the modules go in their order in sys.modules: the order their imports finished
    (importlib moves a module to the end once its code has run), so a module comes before those that
    import from it, and an object two modules refer to at the same depth is reached from the one that
    defines it (`module app.cache → _CACHE`, not the module that did `from app.cache import _CACHE`)."""
    roots, skipped = [], []
    entries = list(dict.items(sys.modules))
    entries = [entry for entry in entries if type(entry[0]) is str and entry[1] is not None]
    main = [entry for entry in entries if entry[0] == "__main__"]
    for name, module in main + [entry for entry in entries if entry[0] != "__main__"]:
        if ours.module(name, module):
            skipped.append(module)
            try:
                skipped.append(_module_dict(module))
            except Exception:
                pass
            continue
        if name in _DICT_ONLY and type(module) is _Module:
            skipped.append(module)  # marked visited: never expanded
            try:
                roots.append((_module_dict(module), ("module", "module " + name)))
            except Exception:
                pass
            continue
        if type(module) is _Module or _has_base(type(module), _Module):
            roots.append((module, ("module", "module " + name)))
        else:
            # Not a module: an object a package put in its own place (sys.modules[__name__] = ...).
            roots.append((module, ("module", "sys.modules[%s] (%s)" % (format_key(name), type_qualname(type(module))))))
    return roots, skipped


def thread_roots(ours, namer, current_ident):
    """([(locals dict, descriptor)] for every frame of every thread, [the frames]).

    A running frame's locals are not referents of its frame object on 3.11+,
    so each frame's locals are copied into a dict that stands in as the root.
    Module-level frames are skipped: their locals are the module's globals.
    """
    roots, frames = [], []
    names = _thread_names(namer)
    for ident, top in list(dict.items(sys._current_frames())):
        if ident == current_ident and top is not None and top.f_code is thread_roots.__code__:
            top = top.f_back  # this function's own frame is freed on return (a new object may take its address)
        stack = []
        frame = top
        while frame is not None:
            stack.append(frame)
            frame = frame.f_back
        frames.extend(stack)
        if ident != current_ident and _is_agent_thread(stack, ours):
            continue
        thread = names.get(ident) or ("%d" % ident)
        for frame in stack:
            code = frame.f_code
            if ours.file(code.co_filename):
                continue
            try:
                local_vars = frame.f_locals
                if local_vars is frame.f_globals:
                    continue
                local_vars = dict(local_vars)
            except Exception:
                continue
            if not local_vars:
                continue
            text = "thread %s (%s:%s %s)" % (thread, os.path.basename(code.co_filename), frame.f_lineno, code.co_name)
            roots.append((local_vars, ("thread", text)))
    return roots, frames


def _is_agent_thread(stack, ours):
    """The thread's code (past threading's bootstrap frames) is the agent's."""
    for frame in reversed(stack):
        filename = frame.f_code.co_filename
        if type(filename) is str and os.path.basename(filename) == _THREADING_FILE:
            continue
        return ours.file(filename)
    return False


def _thread_names(namer):
    """{ident: name} from threading's registry, read without calling into Thread objects."""
    names = {}
    threading = sys.modules.get("threading")
    if threading is None or type(threading) is not _Module:
        return names
    try:
        namespace = _module_dict(threading)
        for key, registry in dict.items(namespace):
            if type(key) is not str or key not in ("_active", "_limbo"):
                continue
            if type(registry) is not dict:
                continue
            for ident, thread in dict.items(registry):
                attrs = namer.instance_dict(thread)
                if attrs is None:
                    continue
                for attr, value in dict.items(attrs):
                    if type(attr) is str and attr == "_name" and type(value) is str:
                        if type(ident) is int:
                            names[ident] = value
                        break
    except Exception:
        pass
    return names


# How many objects below a path's root class_home looks at.
HOME_STEPS = 3


def class_home(namer, path):
    """A module path through an instance attribute that is its class's own attribute, rooted at that
    class in the module that defines it: every logger `getLogger` made has `.manager`, the one
    `Logger.manager`, so a path from whichever module's logger the walk met first
    (`module asyncio.log → logger → .manager`) reads `module logging → Logger.manager`. The class
    must be its module's global of its name. Returns (path, root text), or None when there is no such
    step. Only the first steps below the root are tried (a module global's attribute): a long path
    (a linked chain) costs no more. Reads dicts and types only (no user code)."""
    for i in range(1, min(len(path) - 1, HOME_STEPS + 1)):
        obj = path[i]
        d = namer.instance_dict(obj)
        if d is None:
            continue
        at = i + 2 if path[i + 1] is d else i + 1
        if at >= len(path):
            continue
        child = path[at]
        if not gc.is_tracked(child):
            continue  # a shared number or string is no table
        name = namer._key_of_value(d, child)
        if type(name) is not str:
            continue
        for cls in _mro_of_type(type(obj)) or ():
            ns = namespace(cls)
            if ns is None or _lookup(ns, name) is not child:
                continue
            home = _home_module(cls, ns)
            if home is None:
                break
            module, module_name = home
            return [module, cls, ns] + list(path[at:]), "module " + module_name
    return None


def _home_module(cls, ns):
    """(module, name) of the module whose global of the class's name is the class, or None."""
    module_name = _lookup(ns, "__module__")
    if type(module_name) is not str or module_name in _DICT_ONLY:
        return None
    module = None
    for key, value in dict.items(sys.modules):
        if type(key) is str and key == module_name:
            module = value
            break
    if module is None or (type(module) is not _Module and not _has_base(type(module), _Module)):
        return None
    try:
        if _lookup(_module_dict(module), type_qualname(cls)) is not cls:
            return None
    except Exception:
        return None
    return module, module_name
