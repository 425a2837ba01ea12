"""Stack ids: interning collector stack keys and running stacks into protocol ids.

Ids are per process, start at 1 and are never reused; a definition is queued
the first time an id is handed out, and the agent sends queued definitions
(a ``stacks`` message) before the sample that uses them. Both tables are
bounded: allocation stacks to what the trackers track (pruned past
MAX_SITES), running stacks by MAX_ACTIVE (when full it is cleared, and stacks
seen again get new ids).
"""

from . import frames

MAX_ACTIVE = 5000
# Two trackers (Python sites, native sites) of at most TRACKED_CAP stacks each, plus slack.
TRACKED_CAP = 2000
MAX_SITES = 5000

_UNKNOWN_FRAME = ("<unknown>", 0, frames.UNKNOWN)

# Allocations made while a module is imported (an importlib frame in the stack: the import system's
# own, and what the module's top-level code makes) that no tracker reports one by one are summed
# into one stack of this frame rather than into "other": the host tells code being loaded from a
# leak by it (src/analysis/frames.ts), which it cannot do for "other".
IMPORTS_FRAME = ("<frozen importlib._bootstrap>", 0, "(modules being imported)")
_IMPORT_FILES = frozenset(("<frozen importlib._bootstrap>", "<frozen importlib._bootstrap_external>"))
_IMPORT_SOURCES = ("/importlib/_bootstrap.py", "/importlib/_bootstrap_external.py")
# Collector keys whose import-time answer is remembered; past this the memory is cleared.
MAX_IMPORT_KEYS = 50000


def _import_time(frame_tuples):
    for frame in frame_tuples:
        filename = frame[0] if type(frame) is tuple and frame else None
        if type(filename) is str and (filename in _IMPORT_FILES or filename.endswith(_IMPORT_SOURCES)):
            return True
    return False


def _frame_tuple(frame):
    """frame as a valid (file, line, function) tuple: itself when it is one already."""
    try:
        filename, lineno, function = frame
    except Exception:
        return _UNKNOWN_FRAME
    if type(filename) is str and type(lineno) is int and type(function) is str and type(frame) is tuple:
        return frame
    if type(filename) is not str:
        filename = _UNKNOWN_FRAME[0]
    if type(lineno) is not int:
        lineno = 0
    if type(function) is not str:
        function = frames.UNKNOWN
    return (filename, lineno, function)


# Before 3.11 a running frame's code object knows only its bare name: the host qualifies it
# from the source (src/host/qualnames.ts) rather than the target loading code objects.
_HOST_QUALIFIES_RUNNING = not frames._HAS_QUALNAME


class StackTable(object):
    def __init__(self, frames_of, sites_qualified=True):
        self._frames_of = frames_of  # collector stack key -> [(file, line, function)], innermost first
        self._qualify_sites = not sites_qualified  # the host is to qualify the sites' function names
        self._next_id = 1
        self._site_ids = {}  # collector stack key -> id
        self._site_keys = {}  # id -> collector stack key
        self._active_ids = {}  # running stack -> id
        # [(id, ((file, line, function), ...))]: tuples of the names we hold anyway, not
        # protocol dicts (~230 bytes a frame: 200 new 16-frame stacks would take 740 KB).
        self._pending = []
        self._pending_frames = {}  # frame -> the same frame: pending stacks share their frames
        self._trackers = []
        self._import_keys = {}  # collector stack key -> allocated while a module was imported

    def _define(self, frame_tuples, qualify=False):
        stack_id = self._next_id
        self._next_id += 1
        shared = self._pending_frames.setdefault
        self._pending.append((stack_id, tuple([shared(t, t) for t in map(_frame_tuple, frame_tuples)]), qualify))
        return stack_id

    def site_id(self, key):
        """Id for an allocation stack (a collector stack key); the same key always gets the same id."""
        stack_id = self._site_ids.get(key)
        if stack_id is None:
            if len(self._site_ids) >= MAX_SITES:
                self._prune()
            try:
                frame_tuples = self._frames_of(key)
            except Exception:
                frame_tuples = [_UNKNOWN_FRAME]
            stack_id = self._site_ids[key] = self._define(frame_tuples, self._qualify_sites)
            self._site_keys[stack_id] = key
        return stack_id

    def _prune(self):
        """Forget stacks no tracker reports any more (they get a new id if they come back)."""
        keep = set()
        for tracker in self._trackers:
            keep.update(tracker.tracked)
        for key in [k for k in self._site_ids if k not in keep]:
            self._site_keys.pop(self._site_ids.pop(key), None)

    def import_time(self, key):
        """True when the collector stack key's frames include the import system's (see IMPORTS_FRAME)."""
        known = self._import_keys.get(key)
        if known is None:
            if len(self._import_keys) >= MAX_IMPORT_KEYS:
                self._import_keys.clear()
            try:
                known = _import_time(self._frames_of(key))
            except Exception:
                known = False
            self._import_keys[key] = known
        return known

    def imports_id(self):
        """A new id for the stack that sums import-time allocations (one per tracker)."""
        return self._define([IMPORTS_FRAME])

    def site_key(self, stack_id):
        return self._site_keys.get(stack_id)

    def active_id(self, stack):
        """Id for a running stack: ((filename, lineno, name), ...), innermost first."""
        stack_id = self._active_ids.get(stack)
        if stack_id is None:
            if len(self._active_ids) >= MAX_ACTIVE:
                self._active_ids.clear()
            named = [(frames.absolute(f), line, name) for f, line, name in stack]
            stack_id = self._active_ids[stack] = self._define(named, _HOST_QUALIFIES_RUNNING)
        return stack_id

    def take_pending(self):
        pending, self._pending = self._pending, []
        self._pending_frames = {}
        return pending


class SiteTracker(object):
    """Which allocation stacks each sample reports individually.

    A stack is picked up when it holds at least ``share`` of the total or is
    among the ``top`` largest; once reported it stays in every later sample,
    so the host sees its whole series. Past ``cap`` tracked stacks the
    smallest are dropped. The rest is summed into "other", except what was allocated
    while a module was imported: that is summed into one stack of IMPORTS_FRAME.
    """

    def __init__(self, table, top=200, share=0.01, cap=TRACKED_CAP):
        self._table = table
        self._top = top
        self._share = share
        self._cap = cap
        self.tracked = {}  # collector stack key -> id
        self._imports_id = None  # the import-time stack, once it had something
        table._trackers.append(self)

    def update(self, sites, total=0):
        """([[id, bytes, count]], other bytes, other count) for {key: (bytes, count)}.

        ``total`` is what the share is taken of (the heap); the sum of ``sites`` when 0.
        """
        tracked = self.tracked
        site_id = self._table.site_id

        total_bytes = 0
        total_count = 0
        for size, count in sites.values():
            total_bytes += size
            total_count += count
        threshold = self._share * (total if total > 0 else total_bytes)

        for key, (size, _) in _largest(self._top, sites):
            if size > 0 and key not in tracked:
                tracked[key] = site_id(key)
        if threshold > 0:
            for key, (size, _) in sites.items():
                if size >= threshold and key not in tracked:
                    tracked[key] = site_id(key)

        if len(tracked) > self._cap:
            empty = (0, 0)
            ranked = sorted(tracked, key=lambda k: sites.get(k, empty)[0], reverse=True)
            for key in ranked[self._cap:]:
                del tracked[key]

        out = []
        tracked_bytes = 0
        tracked_count = 0
        for key, stack_id in tracked.items():
            entry = sites.get(key)
            if entry is None:
                out.append([stack_id, 0, 0])
            else:
                size, count = entry
                tracked_bytes += size
                tracked_count += count
                out.append([stack_id, size, count])

        import_time = self._table.import_time
        imports_bytes = 0
        imports_count = 0
        for key, (size, count) in sites.items():
            if size > 0 and key not in tracked and import_time(key):
                imports_bytes += size
                imports_count += count
        if imports_bytes > 0 and self._imports_id is None:
            self._imports_id = self._table.imports_id()
        if self._imports_id is not None:
            # Once reported, in every later sample (0 when it is all freed), like a tracked stack.
            out.append([self._imports_id, imports_bytes, imports_count])
            tracked_bytes += imports_bytes
            tracked_count += imports_count
        return out, total_bytes - tracked_bytes, total_count - tracked_count


def _bytes_of(item):
    return item[1][0]


def _largest(n, sites):
    """heapq.nlargest(n, sites.items(), key=_bytes_of), importing heapq only for big inputs."""
    if len(sites) <= 4 * n:
        return sorted(sites.items(), key=_bytes_of, reverse=True)[:n]
    import heapq

    return heapq.nlargest(n, sites.items(), key=_bytes_of)
