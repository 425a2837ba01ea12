"""Code that runs a bounded number of times by the convention of the framework that runs it, so what
it keeps, registers or grows does not grow with the program's work:

- Ansible modules and the module_utils they import: every task runs the module in a fresh Python
  process on the managed host (AnsiballZ), which exits when the task is done. Recognised by the
  folders Ansible loads them from: `plugins/modules/` and `plugins/module_utils/` of a collection,
  `ansible/modules/`, any `module_utils/`, and a role's own modules (`roles/NAME/library/`). (A collection's other plugins, lookups, filters,
  inventory and callbacks, run inside the long-lived controller and are linted as usual.)
- Database migrations: a Django migration (a module named `0001_...` in a `migrations/` folder) or an
  Alembic revision (a module in a `versions/` folder under `alembic/` or `migrations/`) runs once per
  database it is applied to. (Django's own `db/migrations/` package, the framework, is linted.)
- A build backend's hooks (PEP 517: a module that defines `build_wheel` and `build_sdist` at its top
  level, as meson-python's does): a front end (pip, build) runs each hook in a fresh Python process.
  Recognised by the module's own definitions (build_backend), not by its path.
"""
import ast
import os

PEP517_HOOKS = frozenset(("build_wheel", "build_sdist"))


def bounded_by_framework(filename):
    """True for a file whose code runs a bounded number of times, as above."""
    *parts, name = os.path.normpath(os.path.abspath(filename)).split(os.sep)
    if "module_utils" in parts or parts[-1:] == ["migrations"] and name[:1].isdigit():
        return True
    pairs = list(zip(parts, parts[1:]))
    if any(a in ("plugins", "ansible") and b == "modules" for a, b in pairs):
        return True
    if len(parts) >= 3 and parts[-1] == "library" and parts[-3] == "roles":
        return True
    return any(a in ("alembic", "migrations", "migration") and b == "versions" for a, b in pairs)


def build_backend(tree):
    """True for a module that defines a build backend's hooks at its top level (see above)."""
    defined = {stmt.name for stmt in tree.body if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef))}
    return PEP517_HOOKS <= defined
