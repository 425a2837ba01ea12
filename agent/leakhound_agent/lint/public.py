"""The classes a file offers to the code that uses it: the evidence that a library's users make
instances as they please, which code inside the library may never show.

- A top-level package's `__init__.py`: what its `__all__` lists, when that spells out the API; else
  what it imports from its own modules (`from .client import JIRA`) and the public classes it defines. A subpackage's `__init__.py`
  mostly gathers names for the package's own modules (an application's `compilers/__init__.py`),
  so it offers nothing by itself.
- A module outside any package at its project's root (a single-file library beside its
  pyproject.toml or setup.py, or in `src/` there): its public classes, unless its folder holds a
  program's entry point (`main.py`, `__main__.py`) or a script beside it imports it (`rebalance.py`,
  guarded by `if __name__ == "__main__":` or starting with a python shebang): then it is one of that
  program's modules, and the program makes its objects (a configuration generator's `Configurator`). A module loose in any other
  folder is an application's (`plex/api.py`), and one below a package is the package's own (a
  namespace subpackage, PEP 420).
- Any other module of a package: nothing; its classes are offered only if the package exports them
  (an application's internal classes: a build tool's backends, a command's objects).

A folder without `__init__.py` anywhere below a package (up to the project's root: the folder with
pyproject.toml, setup.py, setup.cfg or .git) is a namespace subpackage of it, at any depth (a Django
app's `management/commands/`).

A package's `__init__.py` also defines functions its users call as they please (`why.log(df)`): a
class such a function makes, uses and drops on every call (`TransientLogger(schema).log(df)`) is made
once per call of the library, as if per request ("request:NAME", see `api_made`); one it hands back
(a factory's client) lives as long as the caller keeps it, often once per process.

Each name comes back as "public:NAME@WHERE", WHERE being the top-level package that offers it (its
folder), or the file itself for a module outside any package, beside the names made per call (see
main.py's "made"): a class of that name counts as offered only when it is defined in that package or
file (`public_key`), not wherever a class of the same name is (every Django command is a `Command`).
A name the package imports from one of its modules comes also as "public:NAME@WHERE~MODULE": where
several files of the package define a NAME, the host counts only the one in that module.
"""
import ast
import os
import re

from .runs import CLASS_NAME, REQUEST, _is_main_guard, _lazy


PREFIX = "public:"
# A folder holding one of these is a program's, not a set of single-file libraries.
ENTRY_POINTS = ("main.py", "__main__.py")
PROJECT_MARKERS = ("pyproject.toml", "setup.py", "setup.cfg", ".git")

_top_packages = {}


def _top_package(folder):
    """The highest folder at or above `folder` that holds an `__init__.py`, not above the project's
    root; None when there is none (a module outside any package)."""
    if folder in _top_packages:
        return _top_packages[folder]
    top = None
    current = folder
    while True:
        if os.path.exists(os.path.join(current, "__init__.py")):
            top = current
        parent = os.path.dirname(current)
        if parent == current or any(os.path.exists(os.path.join(current, m)) for m in PROJECT_MARKERS):
            break
        current = parent
    _top_packages[folder] = top
    return top


def public_key(filename, name):
    """The name a class `name` defined in `filename` is offered under, if it is."""
    path = os.path.abspath(filename)
    return "%s%s@%s" % (PREFIX, name, _top_package(os.path.dirname(path)) or path)


def _top_level(body):
    """Statements run at import, through `if` and `try` blocks (a guarded import is still an export)."""
    for node in body:
        yield node
        if isinstance(node, ast.If):
            yield from _top_level(node.body)
            yield from _top_level(node.orelse)
        elif isinstance(node, ast.Try) or type(node).__name__ == "TryStar":
            yield from _top_level(node.body)
            yield from _top_level(node.orelse)
            for handler in node.handlers:
                yield from _top_level(handler.body)


def _classes(tree):
    return {node.name for node in _top_level(tree.body) if isinstance(node, ast.ClassDef) and not node.name.startswith("_")}


def _exports(tree, package):
    """{name: module} for the names the package offers, module being the dotted module it imports the
    name from (None for its own classes): those its `__all__` lists when it spells them all out (the
    API it declares: `model = Model(path)` made once with `__all__ = ["model"]` offers the instance,
    not the class), else its own public classes and what it imports from its own modules."""
    names = _classes(tree)
    origin = {}
    listed, spelled = set(), True
    for node in _top_level(tree.body):
        if isinstance(node, ast.ImportFrom) and node.module != "__future__":
            own = node.level > 0 or (node.module or "").split(".")[0] == package
            if own:
                # `from .controller.config import Config` (in the top package: level 1) or
                # `from pkg.controller.config import Config`: that module's Config.
                module = None
                if node.module and node.level <= 1:
                    module = node.module if node.level == 0 else package + "." + node.module
                for a in node.names:
                    if a.name != "*":
                        names.add(a.asname or a.name)
                        origin[a.asname or a.name] = module if a.asname is None else None
        elif isinstance(node, (ast.Assign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
                values = node.value.elts if isinstance(node.value, (ast.List, ast.Tuple)) else None
                if values is None or not all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in values):
                    spelled = False  # `__all__ = client.__all__ + [...]`: not all spelled out here
                else:
                    listed.update(e.value for e in values)
    offered = listed if listed and spelled else names | listed
    return {n: origin.get(n) for n in offered}


_script_imports = {}
# Scripts beside a single-file library that only try it out: its tests, examples, demos, benchmarks.
_NOT_PROGRAM = re.compile(r"(?i)^(setup|conftest|tests?|test_\w*|\w*_tests?|examples?\w*|demo\w*|bench\w*|try_\w*)\.py$")


def _scripts_imports(folder):
    """The modules that the folder's scripts (a file with an `if __name__ == "__main__":` block, or
    one that starts `#!/usr/bin/env python3`) import by their plain names (`from lnd import Lnd` in a
    `rebalance.py` run as a command): modules of that program, laid out flat beside it, not
    single-file libraries. Read once per folder."""
    found = _script_imports.get(folder)
    if found is None:
        found = _script_imports[folder] = set()
        try:
            names = sorted(n for n in os.listdir(folder) if n.endswith(".py") and not _NOT_PROGRAM.match(n))
        except OSError:
            names = []
        for name in names:
            try:
                with open(os.path.join(folder, name), "rb") as f:
                    source = f.read()
                shebang = source.startswith(b"#!") and b"python" in source.split(b"\n", 1)[0]
                if not shebang and b"__main__" not in source:
                    continue
                tree = ast.parse(source)
            except (OSError, SyntaxError, ValueError):
                continue
            if not shebang and not any(_is_main_guard(stmt) for stmt in tree.body):
                continue
            for node in tree.body:
                if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    found.add(node.module.split(".")[0])
                elif isinstance(node, ast.Import):
                    found.update(a.name.split(".")[0] for a in node.names)
    return found


def public_names(tree, filename):
    """{"public:NAME@WHERE"} for the classes this file offers to its users."""
    path = os.path.abspath(filename)
    folder = os.path.dirname(path)
    top = _top_package(folder)
    if os.path.basename(filename) == "__init__.py":
        names = _exports(tree, os.path.basename(folder)) if top == folder else {}
    elif top is None:
        # A single-file library sits at its project's root (beside its pyproject.toml or setup.py, or
        # in a `src/` folder there); a module loose in some other folder is one of an application's
        # (`plex/api.py`, a platform plugin). A folder holding an entry point is a program's.
        program = any(os.path.exists(os.path.join(folder, entry)) for entry in ENTRY_POINTS) or \
            os.path.splitext(os.path.basename(path))[0] in _scripts_imports(folder)
        root = os.path.dirname(folder) if os.path.basename(folder) == "src" else folder
        at_root = any(os.path.exists(os.path.join(root, m)) for m in PROJECT_MARKERS)
        names = dict.fromkeys(_classes(tree)) if at_root and not program else {}
    else:
        # A module of a package, or of a namespace subpackage below one (PEP 420).
        names = {}
    # A name imported from a module of the package also comes as "public:NAME@WHERE~MODULE": where
    # several files of the project define a class of that name, only the one in that module is
    # offered (an application's `Config` command is not its `core.ConfigManager.Config`).
    out = set()
    for n, module in names.items():
        if not n.startswith("_"):
            out.add("%s%s@%s" % (PREFIX, n, top or path))
            if module:
                out.add("%s%s@%s~%s" % (PREFIX, n, top or path, module))
    return out


def _dropped(fn, call, up):
    """The object `call` makes is used and dropped inside fn: a method is called on it at once
    (`Logger(schema).log(df)`), or it is bound to a local that fn never returns nor stores elsewhere.
    `up`: child id -> parent node, for fn."""
    node = up.get(id(call))
    if node is not None:
        if isinstance(node, ast.Attribute) and node.value is call:
            return True
        if isinstance(node, ast.Assign) and node.value is call:
            names = [t.id for t in node.targets if isinstance(t, ast.Name)]
            if len(names) != len(node.targets):
                return False
            kept = any(isinstance(n, (ast.Return, ast.Yield)) and n.value is not None and any(
                isinstance(m, ast.Name) and m.id in names for m in ast.walk(n.value)) for n in ast.walk(fn.node))
            stored = any(isinstance(n, ast.Assign) and n is not node and isinstance(n.value, ast.Name) and n.value.id in names
                         for n in ast.walk(fn.node))
            return not kept and not stored
    return False


def api_made(facts, filename):
    """"request:NAME" for each class a public function of a package's `__init__.py` (its API: a top
    package's or a subpackage's, `whylogs/api/logger/__init__.py`) makes and drops on every call, when
    the function does not run once (set-up) and does not fill a lazy slot."""
    if os.path.basename(filename) != "__init__.py" or _top_package(os.path.dirname(os.path.abspath(filename))) is None:
        return set()
    out = set()
    for fn in facts.functions:
        if fn.parent is not None or fn.cls is not None or fn.name.startswith("_") or facts.runs_once(fn):
            continue
        up = None
        for name, call in fn.calls:
            if "." not in name and CLASS_NAME.match(name) and not _lazy(fn, call):
                if up is None:  # child id -> parent, for this function
                    up = {id(c): n for n in ast.walk(fn.node) for c in ast.iter_child_nodes(n)}
                if _dropped(fn, call, up):
                    out.add(REQUEST + name)
    return out
