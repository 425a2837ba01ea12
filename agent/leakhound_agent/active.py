"""Which Python stacks are running: cheap periodic looks at every thread's frame."""

import sys

_NAME_ATTR = "co_qualname" if sys.version_info >= (3, 11) else "co_name"
# Distinct stacks kept between two samples; beyond it new stacks are not counted.
MAX_DISTINCT = 10000


class ActiveSampler(object):
    def __init__(self, nframes, own_thread_id, own_prefixes):
        self._nframes = nframes
        self._own = own_thread_id
        # Files under these directories are the agent's: a thread running them
        # (e.g. the main thread in our atexit handler) is not the program at work.
        self._own_prefixes = own_prefixes
        self._counts = {}

    def sample(self):
        counts = self._counts
        nframes = self._nframes
        name_attr = _NAME_ATTR
        own = self._own_prefixes
        current = sys._current_frames()
        try:
            for thread_id, frame in current.items():
                if thread_id == self._own:
                    continue
                stack = []
                while frame is not None and len(stack) < nframes:
                    code = frame.f_code
                    if code.co_filename.startswith(own):
                        break
                    stack.append((code.co_filename, frame.f_lineno, getattr(code, name_attr)))
                    frame = frame.f_back
                else:
                    stack = tuple(stack)
                    hits = counts.get(stack)
                    if hits is not None:
                        counts[stack] = hits + 1
                    elif len(counts) < MAX_DISTINCT:
                        counts[stack] = 1
        finally:
            # Never keep a thread's frames (and their locals) alive between looks.
            current = frame = None

    def take(self):
        """{stack: hits} since the last call."""
        counts, self._counts = self._counts, {}
        return counts
