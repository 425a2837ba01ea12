"""leakhound bootstrap: loaded by every Python that has leakhound's agent dir on PYTHONPATH.

1. Chain-load the sitecustomize the program would have had without us.
2. When LEAKHOUND_SOCKET is set, start the agent (CPython 3.8+), or tell the
   host this interpreter is unsupported.

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
        import importlib.machinery
        import importlib.util

        spec = importlib.machinery.PathFinder.find_spec("sitecustomize", path)
        if spec is None or spec.loader is None:
            return None
        module = importlib.util.module_from_spec(spec)
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
