"""Stack ids: interning collector stack keys and running stacks into protocol ids.

Ids are per process, start at 1 and are never reused; a definition is queued
the first time an id is handed out, and the agent sends queued definitions
(a ``stacks`` message) before the sample that uses them. Both tables are
bounded: allocation stacks by the SiteTracker's cap, running stacks by
MAX_ACTIVE (when full it is cleared, and stacks seen again get new ids).
"""

import heapq

from . import frames, protocol

MAX_ACTIVE = 5000

_UNKNOWN_FRAME = ("<unknown>", 0, frames.UNKNOWN)


def _frame_dict(frame):
    try:
        filename, lineno, function = frame
    except Exception:
        filename, lineno, function = _UNKNOWN_FRAME
    if type(filename) is not str:
        filename = _UNKNOWN_FRAME[0]
    if type(lineno) is not int:
        lineno = 0
    if type(function) is not str:
        function = frames.UNKNOWN
    return protocol.frame(filename, lineno, function)


class StackTable(object):
    def __init__(self, frames_of):
        self._frames_of = frames_of  # collector stack key -> [(file, line, function)], innermost first
        self._next_id = 1
        self.site_ids = {}  # collector stack key -> id
        self._site_keys = {}  # id -> collector stack key
        self._active_ids = {}  # running stack -> id
        self._pending = []  # [(id, [frame dict])]

    def _define(self, frame_tuples):
        stack_id = self._next_id
        self._next_id += 1
        self._pending.append((stack_id, [_frame_dict(f) for f in frame_tuples]))
        return stack_id

    def site_id(self, key):
        stack_id = self.site_ids.get(key)
        if stack_id is None:
            try:
                frame_tuples = self._frames_of(key)
            except Exception:
                frame_tuples = [_UNKNOWN_FRAME]
            stack_id = self.site_ids[key] = self._define(frame_tuples)
            self._site_keys[stack_id] = key
        return stack_id

    def forget_site(self, key):
        stack_id = self.site_ids.pop(key, None)
        self._site_keys.pop(stack_id, None)

    def site_key(self, stack_id):
        return self._site_keys.get(stack_id)

    def active_id(self, stack):
        """Id for a running stack: ((filename, lineno, name), ...), innermost first."""
        stack_id = self._active_ids.get(stack)
        if stack_id is None:
            if len(self._active_ids) >= MAX_ACTIVE:
                self._active_ids.clear()
            named = [(frames.absolute(f), line, frames.qualname_for(f, line, name)) for f, line, name in stack]
            stack_id = self._active_ids[stack] = self._define(named)
        return stack_id

    def take_pending(self):
        pending, self._pending = self._pending, []
        return pending


class SiteTracker(object):
    """Which allocation stacks each sample reports individually.

    A stack is picked up when it holds at least ``share`` of the heap or is
    among the ``top`` largest; once reported it stays in every later sample,
    so the host sees its whole series. Past ``cap`` tracked stacks the
    smallest are dropped. Everything else is summed into otherBytes/otherCount.
    """

    def __init__(self, table, top=200, share=0.01, cap=2000):
        self._table = table
        self._top = top
        self._share = share
        self._cap = cap

    def update(self, snapshot):
        """(sites [[id, bytes, count]], otherBytes, otherCount) for one collector snapshot."""
        sites = snapshot.sites
        table = self._table
        tracked = table.site_ids

        total_bytes = 0
        total_count = 0
        threshold = self._share * snapshot.heap if snapshot.heap > 0 else None
        big = []
        for key, (size, count) in sites.items():
            total_bytes += size
            total_count += count
            if threshold is not None and size >= threshold and size > 0:
                big.append(key)
        if threshold is None and total_bytes > 0:
            threshold = self._share * total_bytes
            big = [key for key, (size, _) in sites.items() if size >= threshold and size > 0]

        for key, (size, _) in heapq.nlargest(self._top, sites.items(), key=_bytes_of):
            if size > 0 and key not in tracked:
                table.site_id(key)
        for key in big:
            if key not in tracked:
                table.site_id(key)

        if len(tracked) > self._cap:
            empty = (0, 0)
            ranked = sorted(tracked, key=lambda k: sites.get(k, empty)[0], reverse=True)
            for key in ranked[self._cap:]:
                table.forget_site(key)

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
        other_bytes = total_bytes - tracked_bytes + snapshot.other_bytes
        other_count = total_count - tracked_count + snapshot.other_count
        return out, other_bytes, other_count


def _bytes_of(item):
    return item[1][0]
