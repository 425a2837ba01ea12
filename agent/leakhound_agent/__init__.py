"""leakhound's agent: runs inside the target Python process and reports to the host.

This file and protocol.py must stay importable by Python 2.7 and 3.6: the
bootstrap imports them on every interpreter to say "unsupported" politely.
Everything else needs CPython 3.8+ and is imported lazily.
"""

MIN_PYTHON = (3, 8)


def supported():
    """None when this interpreter can run the agent, else the reason it cannot."""
    import sys

    implementation = getattr(sys, "implementation", None)
    name = getattr(implementation, "name", "cpython" if sys.version_info[0] < 3 else "unknown")
    if name != "cpython":
        return "leakhound supports CPython only (this is %s)" % name
    if tuple(sys.version_info[:2]) < MIN_PYTHON:
        return "leakhound needs Python %d.%d or newer (this is %d.%d.%d)" % (MIN_PYTHON + tuple(sys.version_info[:3]))
    return None


def start():
    """Start the agent if LEAKHOUND_SOCKET is set; returns the agent or None."""
    from .agent import start_from_env

    return start_from_env()
