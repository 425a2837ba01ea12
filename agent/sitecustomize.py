"""leakhound bootstrap: loaded by every Python that has leakhound's agent dir on PYTHONPATH.

1. Chain-load the sitecustomize the program would have had without us.
2. When LEAKHOUND_SOCKET is set, start the agent (CPython 3.8+), or tell the
   host this interpreter is unsupported. On 3.8+ the agent's modules load with
   their bytecode cached even where Python writes no .pyc (see
   _leakhound_import_agent), so the target never pays for compiling them.

The environment is left as it is, so child Python processes report too.
Nothing here may disturb the target: our own failures are swallowed. A user
sitecustomize that fails is re-raised at the end, so site.py reports it exactly
as it would have without us.

Must stay syntax-compatible with Python 2.7 and 3.6.
"""

import os
import sys


def _leakhound_user_sitecustomize(here):
    """Find and run the next sitecustomize on sys.path (not ours). Returns the error it raised, if any."""
    own = os.path.realpath(here)
    path = []
    for entry in sys.path:
        try:
            if os.path.realpath(entry or os.curdir) != own:
                path.append(entry)
        except Exception:
            path.append(entry)

    if sys.version_info[0] >= 3:
        # importlib.machinery.PathFinder and importlib.util.module_from_spec, from the
        # modules the interpreter has already loaded (importlib.util would import more).
        from _frozen_importlib import module_from_spec
        from _frozen_importlib_external import PathFinder

        spec = PathFinder.find_spec("sitecustomize", path)
        if spec is None or spec.loader is None:
            return None
        module = module_from_spec(spec)
        ours = sys.modules.get("sitecustomize")
        # The user's module becomes "the" sitecustomize, as it would have been.
        sys.modules["sitecustomize"] = module
        try:
            spec.loader.exec_module(module)
        except Exception as error:
            if ours is not None:
                sys.modules["sitecustomize"] = ours
            return error
        return None

    import imp

    try:
        found = imp.find_module("sitecustomize", path)
    except ImportError:
        return None
    handle = found[0]
    ours = sys.modules.get("sitecustomize")
    try:
        imp.load_module("sitecustomize", *found)
    except Exception as error:
        # A failed load drops "sitecustomize" from sys.modules, and that entry is us.
        if ours is not None:
            sys.modules["sitecustomize"] = ours
        return error
    finally:
        if handle is not None:
            handle.close()
    return None


def _leakhound_cache_root():
    # The cache the native sampler is built into (native/build.py cache_root).
    root = os.environ.get("LEAKHOUND_CACHE_DIR")
    if not root:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        root = os.path.join(base, "leakhound")
    return os.path.abspath(root)


def _leakhound_import_agent(here):
    """Import leakhound_agent (CPython 3.8+) with its bytecode always cached.

    Compiling the agent's sources costs the target about 1 MB of peak memory,
    so where Python writes no .pyc (PYTHONDONTWRITEBYTECODE, -B, a read-only
    install) the agent's own modules keep theirs under leakhound's cache
    directory instead. Only leakhound_agent's directories get this loader (as
    their sys.path_importer_cache finders); the program's imports are untouched.
    """
    import marshal
    from _frozen_importlib import module_from_spec
    from _frozen_importlib_external import (BYTECODE_SUFFIXES, EXTENSION_SUFFIXES, MAGIC_NUMBER, SOURCE_SUFFIXES,
                                            ExtensionFileLoader, FileFinder, SourceFileLoader,
                                            SourcelessFileLoader, cache_from_source, spec_from_file_location)

    cache_root = _leakhound_cache_root()
    code_type = type(_leakhound_cache_root.__code__)

    def write(path, data):
        directory = os.path.dirname(path)
        if not os.path.isdir(directory):
            os.makedirs(directory)
        temp = "%s.%d.tmp" % (path, os.getpid())
        try:
            with open(temp, "wb") as f:
                f.write(data)
            os.replace(temp, path)
        except BaseException:
            try:
                os.unlink(temp)
            except OSError:
                pass
            raise

    class Loader(SourceFileLoader):
        def get_code(self, fullname):
            source_path = self.get_filename(fullname)
            standard = cache_from_source(source_path)
            own = os.path.join(cache_root, "pyc", os.path.dirname(source_path).lstrip(os.sep),
                               os.path.basename(standard))
            try:
                st = os.stat(source_path)
                # The header of a timestamp .pyc (PEP 552), as the import system checks it.
                header = (MAGIC_NUMBER + b"\0\0\0\0" + (int(st.st_mtime) & 0xFFFFFFFF).to_bytes(4, "little")
                          + (st.st_size & 0xFFFFFFFF).to_bytes(4, "little"))
            except (OSError, OverflowError):
                return SourceFileLoader.get_code(self, fullname)
            for pyc in (standard, own):
                try:
                    with open(pyc, "rb") as f:
                        data = f.read()
                    if data[:16] == header:
                        code = marshal.loads(memoryview(data)[16:])
                        if type(code) is code_type:
                            return code
                except Exception:
                    pass
            code = compile(self.get_data(source_path), source_path, "exec", dont_inherit=True)
            data = header + marshal.dumps(code)
            for pyc in ((own,) if sys.dont_write_bytecode else (standard, own)):
                try:
                    write(pyc, data)
                    break
                except Exception:
                    pass
            return code

    package_dir = os.path.join(here, "leakhound_agent")
    loaders = ((ExtensionFileLoader, EXTENSION_SUFFIXES), (Loader, SOURCE_SUFFIXES),
               (SourcelessFileLoader, BYTECODE_SUFFIXES))
    directories = [package_dir]
    for name in sorted(os.listdir(package_dir)):
        path = os.path.join(package_dir, name)
        if os.path.isfile(os.path.join(path, "__init__.py")):
            directories.append(path)
    for path in directories:
        sys.path_importer_cache[path] = FileFinder(path, *loaders)

    init = os.path.join(package_dir, "__init__.py")
    spec = spec_from_file_location("leakhound_agent", init, loader=Loader("leakhound_agent", init),
                                   submodule_search_locations=[package_dir])
    module = module_from_spec(spec)
    sys.modules["leakhound_agent"] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules["leakhound_agent"]
        raise
    return module


def _leakhound_unsupported(socket_path, reason):
    import socket

    from leakhound_agent import protocol

    python = "%d.%d.%d" % tuple(sys.version_info[:3])
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(2.0)
        sock.connect(socket_path)
        sock.sendall(protocol.encode(protocol.unsupported(os.getpid(), python, reason)))
    finally:
        sock.close()


def _leakhound_bootstrap():
    here = os.path.dirname(os.path.abspath(__file__))
    user_error = None
    try:
        user_error = _leakhound_user_sitecustomize(here)
    except Exception:
        pass

    socket_path = os.environ.get("LEAKHOUND_SOCKET")
    if socket_path:
        try:
            leakhound_agent = None
            if sys.version_info >= (3, 8) and sys.implementation.name == "cpython":
                try:
                    leakhound_agent = _leakhound_import_agent(here)
                except Exception:
                    pass
            if leakhound_agent is None:
                import leakhound_agent

            reason = leakhound_agent.supported()
            if reason is not None:
                _leakhound_unsupported(socket_path, reason)
            else:
                leakhound_agent.start()
        except Exception:
            pass
    return user_error


try:
    _leakhound_error = _leakhound_bootstrap()
except Exception:
    _leakhound_error = None

if _leakhound_error is not None:
    raise _leakhound_error
