"""The names a file trims, read from its text alone: for test code, which is not linted (it runs once
per test run) but may empty a container of the code under test (`mod._cache.clear()`,
`del registry.HANDLERS[k]`, `obj.items = []`). No tree is built, so the result is a superset of what
the facts pass notes (it also sees strings and comments): more names only silence more findings."""
import re

from .facts import SHRINK

_WORD = rb"[A-Za-z_][A-Za-z0-9_]*"
_NAME_CHARS = frozenset(bytes([c]) for c in b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.")
# `NAME.clear(`, `x.NAME.pop(`: the name before a shrinking method (found from the method: fast).
_CALL = re.compile(rb"\.\s*(?:" + b"|".join(sorted(m.encode() for m in SHRINK)) + rb")\s*\(")
_BEFORE = re.compile(rb"(" + _WORD + rb")\s*$")
# `del NAME[k]`, `del x.NAME[k], y[j]`: each subscripted name of a del statement.
_DEL = re.compile(rb"del\b([^\n#]*)")  # the keyword, not the end of a longer name (checked below)
_SUBSCRIPTED = re.compile(rb"(" + _WORD + rb")\s*\[")
# `obj.NAME = ...` (also `a = obj.NAME = ...`) on an indented line (in a function): a re-binding, not
# `==`, `+=` or an annotation.
_REBIND = re.compile(rb"\.[ \t]*(" + _WORD + rb")[ \t]*=(?!=)")


def trimmed_names(src):
    """Names `src` (bytes) may trim, as the facts pass would note them: a set of str."""
    names = set()
    for m in _CALL.finditer(src):
        word = _BEFORE.search(src, max(0, m.start() - 100), m.start())
        if word:
            names.add(word.group(1))
    for stmt in _DEL.finditer(src):
        if stmt.start() and src[stmt.start() - 1:stmt.start()] in _NAME_CHARS:
            continue
        names.update(m.group(1) for m in _SUBSCRIPTED.finditer(stmt.group(1)))
    for m in _REBIND.finditer(src):
        start = src.rfind(b"\n", 0, m.start()) + 1
        if src[start:start + 1] in (b" ", b"\t"):
            names.add(m.group(1))
    return {n.decode("ascii") for n in names}
