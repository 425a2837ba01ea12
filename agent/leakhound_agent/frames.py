"""Function names for (file, line) pairs, and absolute file names.

Collectors such as tracemalloc only record file and line. To name the function
we compile the file once, walk its code objects and pick the innermost one
whose line range covers the line. Qualified names are rebuilt from the code
object tree, so they match ``co_qualname`` (3.11+) on every version.
"""

import marshal
import os
import sys

# Not from types (nor importlib.util below): modules the target may not have loaded cost it memory.
CodeType = type((lambda: None).__code__)

UNKNOWN = "?"
MODULE = "<module>"

# Code flag set on function bodies (not on module or class bodies).
_CO_OPTIMIZED = 0x0001
# Names of code objects that are compiled separately but read as part of
# their parent's line (comprehensions before 3.12, lambdas, generator expressions).
_INLINE_NAMES = ("<listcomp>", "<dictcomp>", "<setcomp>", "<genexpr>", "<lambda>")

_MAX_FILES = 256  # per-file function indexes are the biggest entries
_MAX_LOOKUPS = 65536

# Code objects know their qualified name from 3.11; before, the host qualifies the bare
# names of running and sampled frames from the source (src/host/qualnames.ts).
_HAS_QUALNAME = sys.version_info >= (3, 11)

_STDLIB = os.path.dirname(os.path.abspath(os.__file__))

_start_cwd = None
_files = {}  # filename -> [(first, last, header_end, depth, qualname, parent_qualname)] or None
_lookups = {}  # (filename, lineno) -> (qualname, parent_qualname)
_absolute = {}  # filename as recorded -> absolute filename


def remember_cwd(cwd):
    """The working directory at interpreter start, which relative code file names are relative to."""
    global _start_cwd
    _start_cwd = cwd


def absolute(filename):
    """An absolute file name where we can tell; pseudo names like "<string>" stay as they are."""
    result = _absolute.get(filename)
    if result is not None:
        return result
    result = filename
    if filename and not filename.startswith("<") and not os.path.isabs(filename):
        base = _start_cwd
        if not base:
            try:
                base = os.getcwd()
            except OSError:
                base = ""
        if base:
            result = os.path.normpath(os.path.join(base, filename))
    if len(_absolute) >= _MAX_LOOKUPS:
        _absolute.clear()
    _absolute[filename] = result
    return result


if hasattr(CodeType, "co_lines"):  # 3.10+: line ranges straight from C

    def _lines_of(code):
        return {line for _, _, line in code.co_lines() if line is not None and line > 0}

else:

    def _lines_of(code):
        # co_lnotab: (bytecode increment, signed line increment) byte pairs.
        table = code.co_lnotab
        line = code.co_firstlineno
        lines = {line}
        for i in range(1, len(table), 2):
            delta = table[i]
            line += delta - 256 if delta >= 128 else delta
            lines.add(line)
        return {n for n in lines if n > 0}


def _line_range(code):
    """(first, last, header_end): the lines of ``code``; lines up to header_end are its
    decorators and def/class line, which run in the enclosing code, not in ``code``."""
    first = code.co_firstlineno
    lines = _lines_of(code)
    if not lines:
        return first, first, first - 1
    body = [line for line in lines if line > first]
    header_end = min(body) - 1 if body and not code.co_name.startswith("<") else first - 1
    return min(first, min(lines)), max(lines), header_end


def _index(code, depth, qualprefix, parent_qualname, out):
    for const in code.co_consts:
        if type(const) is not type(code):
            continue
        qualname = getattr(const, "co_qualname", None)
        if qualname is None:
            qualname = qualprefix + const.co_name
        first, last, header_end = _line_range(const)
        out.append((first, last, header_end, depth, qualname, parent_qualname))
        if const.co_flags & _CO_OPTIMIZED:
            child_prefix = qualname + ".<locals>."
        else:
            child_prefix = qualname + "."
        _index(const, depth + 1, child_prefix, qualname, out)


def _frozen_source(filename):
    """Source file of a frozen stdlib module ("<frozen importlib._bootstrap>"), for its line numbers."""
    name = filename[len("<frozen "):-1]
    path = os.path.join(_STDLIB, *name.split(".")) + ".py"
    return path if os.path.isfile(path) else None


def _cached_code(path):
    """The module code from its up-to-date .pyc: some 20x cheaper than compiling the source."""
    try:
        from _frozen_importlib_external import MAGIC_NUMBER, cache_from_source

        cached = cache_from_source(path)
        with open(cached, "rb") as f:
            data = f.read()
        if data[:4] != MAGIC_NUMBER or data[4:8] != b"\0\0\0\0":
            return None  # other interpreter, or hash-based pyc: compile instead
        st = os.stat(path)
        mtime = int(st.st_mtime) & 0xFFFFFFFF
        size = st.st_size & 0xFFFFFFFF
        if data[8:12] != mtime.to_bytes(4, "little") or data[12:16] != size.to_bytes(4, "little"):
            return None
        code = marshal.loads(data[16:])
        return code if type(code) is CodeType else None
    except Exception:
        return None


def _load(filename):
    if filename.startswith("<frozen ") and filename.endswith(">"):
        path = _frozen_source(filename)
        if path is None:
            return None
    else:
        path = absolute(filename)
    module = _cached_code(path)
    if module is None:
        try:
            with open(path, "rb") as f:
                source = f.read()
            module = compile(source, path, "exec", dont_inherit=True)
        except Exception:
            # Not a readable source file (a deleted file, a syntax error, no source at all).
            return None
    entries = []
    _index(module, 1, "", MODULE, entries)
    return entries


def _lookup(filename, lineno):
    key = (filename, lineno)
    found = _lookups.get(key)
    if found is not None:
        return found
    if filename in _files:
        entries = _files[filename]
    else:
        if len(_files) >= _MAX_FILES:
            _files.clear()
        entries = _files[filename] = _load(filename)
    if entries is None:
        found = (UNKNOWN, UNKNOWN)
    else:
        found = (MODULE, UNKNOWN)
        best_depth = 0
        for first, last, header_end, depth, qualname, parent in entries:
            if header_end < lineno <= last and first <= lineno and depth > best_depth:
                best_depth = depth
                found = (qualname, parent)
    if len(_lookups) >= _MAX_LOOKUPS:
        _lookups.clear()
    _lookups[key] = found
    return found


def name_stack(file_lines):
    """Frames for [(filename, lineno), ...] innermost first: [(absfile, lineno, function), ...].

    Consecutive frames on the same line that resolve to the same comprehension,
    lambda or generator expression are the code object and its caller, so the
    caller gets the enclosing function's name.
    """
    out = []
    previous = None
    for filename, lineno in file_lines:
        try:
            qualname, parent = _lookup(filename, lineno)
        except Exception:
            qualname, parent = UNKNOWN, UNKNOWN
        here = (filename, lineno, qualname)
        if previous == here and qualname.rsplit(".", 1)[-1] in _INLINE_NAMES:
            out.append((absolute(filename), lineno, parent))
        else:
            out.append((absolute(filename), lineno, qualname))
        previous = here
    return out


def reset():
    _files.clear()
    _lookups.clear()
    _absolute.clear()
