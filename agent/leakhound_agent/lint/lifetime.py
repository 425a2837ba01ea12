"""Code that, by the convention of the framework that runs it, runs in a process of its own that
ends with its task: what it keeps is bounded by one task, and nothing it grows outlives it.

- Ansible modules and the module_utils they import: every task runs the module in a fresh Python
  process on the managed host (AnsiballZ), which exits when the task is done. Recognised by the
  folders Ansible loads them from: `plugins/modules/` and `plugins/module_utils/` of a collection,
  `ansible/modules/`, and any `module_utils/`. (A collection's other plugins, lookups, filters,
  inventory and callbacks, run inside the long-lived controller and are linted as usual.)
"""
import os


def task_process(filename):
    """True for a file whose code runs in a short-lived process of its own, as above."""
    parts = os.path.normpath(os.path.abspath(filename)).split(os.sep)[:-1]
    if "module_utils" in parts:
        return True
    return any(parts[i] in ("plugins", "ansible") and parts[i + 1] == "modules" for i in range(len(parts) - 1))
