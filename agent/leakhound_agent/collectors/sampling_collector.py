"""The default collector: allocation sampling at the allocator, in C (native/_lhsampler).

An allocation is sampled on average once every ``sample_bytes`` allocated bytes
(a Poisson process over bytes), so the cost does not depend on how many objects
the program makes, and each sampled block stands for ``s / (1 - exp(-s/m))``
bytes until it is freed. A site's live-bytes figure is therefore an unbiased
estimate whose standard error is at most ``sqrt(B * m)`` for B live bytes of
blocks much smaller than m. Instructions whose sampled blocks stay alive (where
leaks are) are sampled up to 64 times finer, about ``sqrt(B * m/64)``, while the
program allocates slowly enough (see lhsampler.c, "watched instructions").

Stack keys are the extension's stack ids (ints, stable for the life of the
process); ``stack_key_of`` is the extension's O(1) lookup of an object's memory
block in the table of sampled blocks.
"""

from .. import frames
from ..sizes import format_bytes
from .base import Collector, Snapshot

_UNKNOWN_FRAME = ("<unknown>", 0, frames.UNKNOWN)


class SamplingSnapshot(Snapshot):
    """A Snapshot with malloc-level sites from the LD_PRELOAD shim (None when it is not loaded),
    and ``free_list``: {stack id: (bytes, kinds)} for the sites some of whose memory went onto
    CPython's free lists (its objects died there; objects made elsewhere may reuse it). Those
    bytes are part of the site's figure in ``sites``; kinds is a mask of FREE_LIST_* bits."""

    __slots__ = ("native", "free_list")

    def __init__(self, sites, heap, overhead, native=None, free_list=None):
        Snapshot.__init__(self, sites, heap, overhead)
        self.native = native
        self.free_list = free_list


def error_note(sample_bytes, fine_bytes, point_rate):
    """The error bound the sampling intervals imply, in words (fine_bytes: the finest interval,
    kept while the program makes fewer than point_rate sample points a second)."""
    m = float(sample_bytes)
    fine = float(fine_bytes)
    at_1mib = (1048576.0 * m) ** 0.5
    if fine >= m:
        # Live bytes at which one standard error is 10% of the estimate: sqrt(B*m) = B/10.
        return ("sampling an allocation every ~%s on average: a site's live-bytes estimate has a standard "
                "error of about sqrt(B x %s) (±%s at 1 MiB; within 10%% from about %s)"
                % (format_bytes(m), format_bytes(m), format_bytes(at_1mib), format_bytes(100.0 * m)))
    return ("sampling an allocation every ~%s on average, and every ~%s at sites whose memory stays alive "
            "while the program allocates under ~%s/s: a site's live-bytes estimate has a standard error of "
            "at most sqrt(B x %s) (±%s at 1 MiB), and about sqrt(B x %s) (±%s at 1 MiB) for memory that "
            "stays alive"
            % (format_bytes(m), format_bytes(fine), format_bytes(point_rate * fine), format_bytes(m),
               format_bytes(at_1mib), format_bytes(fine), format_bytes((1048576.0 * fine) ** 0.5)))


class SamplingCollector(Collector):
    name = "sampling"
    sampled = True
    # Code objects know their qualified name from 3.11; before, frames_of gives bare names
    # and the host qualifies them from the source files (the target loads no code objects).
    names_qualified = frames._HAS_QUALNAME

    def __init__(self, config, note=None):
        from ..native import load

        self._ext = load()  # raises build.SamplerUnavailable with the reason
        self._interval = config.interval
        self._nframes = max(1, min(int(config.nframes), self._ext.MAX_NFRAMES))
        self._sample_bytes = max(1, int(config.sample_bytes))
        self._note = note
        self._prefixes = _dir_prefixes(config.agent_dir)
        self._ours = {}  # stack id -> True when the stack passes through the agent
        self._notes = []
        self._reported = {"hooks_lost": 0, "drops": 0, "native_drops": 0, "overflow": False}
        # The retainer search calls this for every object it visits: bind the C function directly.
        self.stack_key_of = self._ext.stack_of_object
        self.stack_key_of_address = self._ext.stack_of_address
        # (stack id, block size, sampling probability) of an object's sampled block: the retainer estimates' weights.
        self.sample_of = self._ext.sample_of_object
        # [(address, size, stack id)] of the live sampled blocks at some stacks ("nothing refers to it").
        self.sampled_blocks = getattr(self._ext, "sampled_blocks", None)

    def count_free_listed(self, keys):
        counted = getattr(self._ext, "count_free_listed", None)
        if counted is not None:
            counted([k for k in keys if type(k) is int])

    # ------------------------------------------------------------ lifecycle

    def info(self):
        ext = self._ext
        fine = ext.fine_bytes(self._sample_bytes)
        note = error_note(self._sample_bytes, fine, ext.POINT_RATE)
        stats = ext.stats() if ext.is_active() else {}
        native = bool(stats.get("native"))
        if native:
            note += "; malloc-level sampling (LD_PRELOAD shim) on"
        if self._note:
            note = self._note + "; " + note
        return {
            "name": self.name,
            "intervalSec": float(self._interval),
            "nframes": int(self._nframes),
            "sampleBytes": int(self._sample_bytes),
            "note": note,
            "fineBytes": int(fine),
            "nativeSampling": native,
        }

    def start(self):
        import os

        # With the LD_PRELOAD shim loaded, malloc-level samples are reported too (LEAKHOUND_NATIVE=0: not).
        native = os.environ.get("LEAKHOUND_NATIVE", "1") != "0"
        self._ext.start(sample_bytes=float(self._sample_bytes), nframes=self._nframes, native=native)

    def stop(self):
        self._ext.stop()

    def after_fork_in_child(self):
        self._ext.reset_after_fork()
        self._notes = []
        self._reported = {"hooks_lost": 0, "drops": 0, "native_drops": 0, "overflow": False}

    def take_notes(self):
        """Messages for the host log, as (level, text); each is returned once."""
        notes, self._notes = self._notes, []
        return notes

    # ------------------------------------------------------------ sampling

    def snapshot(self):
        rows, heap, _count, native_rows = self._ext.snapshot(free_lists=True)
        stats = self._ext.stats()
        self._check(stats)
        sites = {}
        free_list = {}
        ours = 0
        is_ours = self._is_ours
        for stack_id, size, count, fl_bytes, fl_kinds in rows:
            if is_ours(stack_id):
                ours += size
            else:
                sites[stack_id] = (size, count)
                if fl_kinds:
                    free_list[stack_id] = (fl_bytes, fl_kinds)
        native = None
        if native_rows is not None:
            native = {}
            for stack_id, size, count in native_rows:
                if not is_ours(stack_id):
                    native[stack_id] = (size, count)
        return SamplingSnapshot(sites, heap, stats["own_bytes"] + ours, native, free_list)

    def live_sites(self):
        rows = self._ext.snapshot(adjust=False)[0]
        is_ours = self._is_ours
        return dict((stack_id, (size, count)) for stack_id, size, count in rows if not is_ours(stack_id))

    def frames_of(self, key):
        raw = self._ext.stack_frames(key)
        if not raw:
            return [_UNKNOWN_FRAME]
        # Before 3.11 the names are bare; the host qualifies them (names_qualified).
        return [(frames.absolute(filename), lineno, function) for filename, lineno, function in raw]

    def stats(self):
        return self._ext.stats()

    # ------------------------------------------------------------ internals

    def _check(self, stats):
        seen = self._reported
        if stats["hooks_lost"] > seen["hooks_lost"]:
            seen["hooks_lost"] = stats["hooks_lost"]
            self._notes.append(("warning", "the program replaced the Python allocators without keeping leakhound's "
                                           "hooks (e.g. tracemalloc started before leakhound and then stopped); "
                                           "hooks re-installed, blocks freed meanwhile may still be counted"))
        if stats["drops"] > seen["drops"] and seen["drops"] == 0:
            seen["drops"] = stats["drops"]
            self._notes.append(("warning", "the sampled-block table is full (%d blocks); further samples are dropped "
                                           "and estimates will be low" % stats["live_samples"]))
        if stats.get("native_drops", 0) > seen["native_drops"] and seen["native_drops"] == 0:
            seen["native_drops"] = stats["native_drops"]
            self._notes.append(("warning", "the native sampled-block table is full; native samples are dropped"))
        if not seen["overflow"] and stats["stacks"] >= (1 << 18):
            seen["overflow"] = True
            self._notes.append(("warning", "the stack table is full; new stacks are counted as <stack table full>"))

    def _is_ours(self, stack_id):
        verdict = self._ours.get(stack_id)
        if verdict is None:
            verdict = False
            try:
                for filename, _, _ in self._ext.stack_frames(stack_id):
                    if frames.absolute(filename).startswith(self._prefixes):
                        verdict = True
                        break
            except Exception:
                pass
            self._ours[stack_id] = verdict
        return verdict


def _dir_prefixes(directory):
    import os

    prefixes = set()
    for d in (os.path.abspath(directory), os.path.realpath(directory)):
        prefixes.add(d.rstrip(os.sep) + os.sep)
    return tuple(prefixes)
