"""Facts about this process: resident memory, threads, parent, real command line."""

import os
import sys

try:
    _PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
except (AttributeError, ValueError, OSError):
    _PAGE_SIZE = 4096


def _read_proc(name):
    fd = os.open("/proc/self/" + name, os.O_RDONLY)
    try:
        chunks = []
        while True:
            chunk = os.read(fd, 4096)  # statm is ~30 bytes: no 64 KB buffer per sample
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
    finally:
        os.close(fd)


def threads():
    """The process's threads (the kernel's count: C libraries' threads too), or None without /proc."""
    try:
        stat = _read_proc("stat")
        # The name (field 2) may hold spaces and parentheses: the fields after its last ')' are
        # state, ppid, ... and num_threads is the 18th of them.
        return int(stat[stat.rindex(b")") + 2:].split()[17])
    except Exception:
        return None


def rss():
    """Resident set size in bytes (peak RSS where /proc is unavailable)."""
    try:
        return int(_read_proc("statm").split()[1]) * _PAGE_SIZE
    except Exception:
        pass
    try:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        # Linux reports KiB, macOS bytes.
        return peak if sys.platform == "darwin" else peak * 1024
    except Exception:
        return 0


def cmdline():
    """The process's full command line (interpreter first), as the kernel knows it."""
    try:
        raw = _read_proc("cmdline")
        if raw:
            return [os.fsdecode(arg) for arg in raw.rstrip(b"\0").split(b"\0")]
    except Exception:
        pass
    orig = getattr(sys, "orig_argv", None)
    if type(orig) is list and orig:
        return [a for a in orig if type(a) is str]
    argv = getattr(sys, "argv", None)
    tail = [a for a in argv if type(a) is str] if type(argv) is list else []
    return [sys.executable or "python"] + tail


def getcwd():
    try:
        return os.getcwd()
    except OSError:
        return ""
