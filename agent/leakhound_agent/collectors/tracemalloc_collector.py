"""Exact live-memory collector on top of the standard tracemalloc module.

Raw tracebacks from ``tracemalloc._get_traces()`` and
``tracemalloc._get_object_traceback()`` are tuples of (filename, lineno)
pairs, most recent call first (the public ``Traceback`` class reverses them
since 3.7). Those raw tuples are our stack keys.
"""

# The C module: the same functions as tracemalloc.py, without the pickle,
# linecache and tokenize imports the Python layer pulls in.
import _tracemalloc as tracemalloc
from _operator import countOf, itemgetter  # operator.py without its Python layer

from .. import frames
from .base import Collector, Snapshot

# Verdict caches are bounded; clearing them only costs recomputation.
_MAX_CACHE = 65536

# Raw trace tuples: (domain, size, traceback[, total_nframe]).
_DOMAIN = itemgetter(0)
_SIZE = itemgetter(1)


class TracemallocCollector(Collector):
    name = "tracemalloc"
    traces_every_block = True

    # A snapshot walks every trace (seconds on a big heap): per test only the total is read.
    sites_per_test = False

    def live_total(self):
        return tracemalloc.get_traced_memory()[0] - tracemalloc.get_tracemalloc_memory() if tracemalloc.is_tracing() else 0

    def __init__(self, config):
        self._interval = config.interval
        self._nframes = config.nframes
        self._note = None
        self._prefixes = config.own_prefixes()
        self._started_by_us = False
        self._was_tracing = True
        self._notes = []
        self._file_is_ours = {}
        self._key_is_ours = {}

    # ------------------------------------------------------------ lifecycle

    def info(self):
        nframes = tracemalloc.get_traceback_limit() if tracemalloc.is_tracing() else self._nframes
        return {
            "name": self.name,
            "intervalSec": float(self._interval),
            "nframes": int(nframes),
            "sampleBytes": 0,
            "note": self._note,
        }

    def start(self):
        if tracemalloc.is_tracing():
            limit = tracemalloc.get_traceback_limit()
            self._add_note("tracemalloc was already tracing (started by the program, nframes=%d); using it" % limit)
        else:
            tracemalloc.start(self._nframes)
            self._started_by_us = True

    def stop(self):
        # Only undo what we did, and only while the program has not taken tracemalloc over.
        if self._started_by_us and self._was_tracing and tracemalloc.is_tracing():
            tracemalloc.stop()
        self._started_by_us = False

    def after_fork_in_child(self):
        self._notes = []
        self._was_tracing = tracemalloc.is_tracing()

    def take_notes(self):
        """Messages for the host log, as (level, text); each is returned once."""
        notes, self._notes = self._notes, []
        return notes

    def _add_note(self, text, level="info"):
        if self._note is None and level == "info":
            self._note = text
        self._notes.append((level, text))

    # ------------------------------------------------------------ sampling

    def snapshot(self):
        if not tracemalloc.is_tracing():
            if self._was_tracing:
                self._was_tracing = False
                # Once the program has stopped tracing, tracemalloc is the program's to manage.
                self._started_by_us = False
                self._add_note("the program stopped tracemalloc; allocation sites are unavailable "
                               "until tracing starts again", "warning")
            return Snapshot({}, 0, 0)
        if not self._was_tracing:
            self._was_tracing = True
            self._add_note("tracemalloc is tracing again; allocation sites resume", "info")

        # Before _get_traces(), so the trace list we are about to build is not counted.
        heap = tracemalloc.get_traced_memory()[0]
        overhead = tracemalloc.get_tracemalloc_memory()
        traces = tracemalloc._get_traces()

        # One pass that allocates nothing per trace (tracemalloc would trace, and
        # slow down, every int we created): group the traces by traceback, then
        # let C sum each group. Hashing the traceback tuple allocates nothing, and
        # equal tracebacks share one tuple object, so lookups end at the identity check.
        groups = {}
        get = groups.get
        for trace in traces:
            tb = trace[2]
            group = get(tb)
            if group is None:
                groups[tb] = [trace]
            else:
                group.append(trace)
        # Traces in other domains (e.g. numpy array buffers) add bytes to their
        # stack but not objects.
        other_domains = any(map(_DOMAIN, traces))
        del traces

        sites = {}
        ours = 0
        for tb, group in groups.items():
            size = sum(map(_SIZE, group))
            if self._is_ours(tb):
                ours += size
                continue
            count = countOf(map(_DOMAIN, group), 0) if other_domains else len(group)
            sites[tb] = (size, count)
        # Our own Python allocations are part of what the collector costs.
        return Snapshot(sites, heap, overhead + ours)

    def frames_of(self, key):
        return frames.name_stack(key)

    def stack_key_of(self, obj):
        # Replaced by the fastest lookup that is right for this interpreter on first use
        # (the retainer search calls it for every object it visits).
        self.stack_key_of = _object_lookup()
        return self.stack_key_of(obj)

    # ------------------------------------------------------------ own traces

    def _is_ours(self, tb):
        verdict = self._key_is_ours.get(tb)
        if verdict is not None:
            return verdict
        verdict = False
        files = self._file_is_ours
        for filename, _ in tb:
            mine = files.get(filename)
            if mine is None:
                if len(files) >= _MAX_CACHE:
                    files.clear()
                mine = files[filename] = _under(frames.absolute(filename), self._prefixes)
            if mine:
                verdict = True
                break
        if len(self._key_is_ours) >= _MAX_CACHE:
            self._key_is_ours.clear()
        self._key_is_ours[tb] = verdict
        return verdict


def _under(path, prefixes):
    return path.startswith(prefixes)


def _object_lookup():
    """tracemalloc's object-to-traceback lookup. On 3.11 it misses instances of types with
    a managed dict (plain class instances): their block starts two pointers before the GC
    header. There the native extension's lookup (one C call per object) is used when it is
    built, else those instances are looked up by address through ctypes (imported only
    then, at exit; a Python function per object, ~10x slower)."""
    import sys

    get = tracemalloc._get_object_traceback
    if sys.version_info[:2] != (3, 11):
        return get
    from ..native import load_if_built

    native = load_if_built()
    if native is not None and hasattr(native, "tracemalloc_traceback_of"):
        return native.tracemalloc_traceback_of
    try:
        import ctypes

        lookup = ctypes.pythonapi._PyTraceMalloc_GetTraceback
        lookup.restype = ctypes.py_object
        lookup.argtypes = [ctypes.c_uint, ctypes.c_size_t]
    except Exception:
        return get
    flags_of = type.__dict__["__flags__"].__get__  # not type(obj).__flags__: a metaclass can hook that
    managed_dict = 1 << 4

    def stack_key_of(obj):
        key = get(obj)
        if key is None and flags_of(type(obj)) & managed_dict:
            key = lookup(0, id(obj) - 32)
        return key

    return stack_key_of
