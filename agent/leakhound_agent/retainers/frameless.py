"""Run C-level pipelines on a helper thread that has no Python frames.

While tracemalloc traces, every allocation records the caller's traceback;
with the agent's frames on the stack that costs 0.7-2 us per allocation
(3.11 is the worst), and the heap walk allocates an int for every reference
it follows. A thread whose only code is C - ``collections.deque`` consuming
``map`` over a queue of ``functools.partial`` objects - has no frame at all,
so tracemalloc gives each of its allocations the shared empty traceback:
3-7x cheaper. Tasks are zero-argument callables built only from C functions
(partials of builtin methods, ``map``, ``zip``, ...); a task that calls a
Python function still works, it just gets that one frame.

Without tracemalloc there is nothing to save, and tasks run inline.

The helper thread is started once per process and then parks on its queue
(no CPU, no GIL). ``prepare()`` starts it early: Python 3.12 refuses to start
threads once the interpreter is exiting, which is when the agent usually
asks for retainers.
"""

import _thread
import collections
import functools
import itertools
import operator
import os

# The C queue: `queue` imports `threading`, and threading first imported on the agent's thread
# takes that thread for the main one (3.12+ then waits for it at exit: a hang).
import _queue as queue

_CALL = operator.methodcaller("__call__")
_POLL = 0.05

_shared = {"pid": None, "runners": None}
_shared_lock = _thread.allocate_lock()


def prepare():
    """Start the shared helper threads now, while the interpreter still allows new threads."""
    shared_runners()


def shared_runners():
    """The process's two parked helper threads, started on first use, or None when threads cannot start.

    (c, py): ``c`` runs the C pipelines; ``py`` runs the search's Python code,
    whose allocations tracemalloc then records with a stack a few frames deep
    instead of the caller's (its cost grows with the depth).
    """
    with _shared_lock:
        runners = _shared["runners"]
        if runners is not None and _shared["pid"] == os.getpid() and all(r.alive() for r in runners):
            return runners
        for runner in runners or ():
            runner.close()
        runners = (Runner(frameless=True), Runner(frameless=True))
        if not all(r.frameless for r in runners):
            for runner in runners:
                runner.close()
            _shared["runners"] = None
            return None
        _shared["pid"], _shared["runners"] = os.getpid(), runners
        return runners


class WorkerDied(RuntimeError):
    """A task raised on the helper thread; the runner now runs tasks inline."""


class Runner(object):
    def __init__(self, frameless):
        self._inq = None
        self._outq = None
        self._alive = None
        self._tokens = itertools.count()
        self._lock = _thread.allocate_lock()  # one caller at a time: tokens come back in order
        if frameless:
            try:
                self._start()
            except Exception:
                self._inq = None

    @property
    def frameless(self):
        return self._inq is not None

    def alive(self):
        return self._inq is not None and self._alive()

    def owned(self):
        """Objects the runner holds, for the walk to leave alone."""
        return [self, self._inq, self._outq]

    def _start(self):
        inq = queue.SimpleQueue()
        outq = queue.SimpleQueue()
        # The whole thread: deque(map(call, iter(inq.get, None)), maxlen=0), all C.
        consumer = functools.partial(collections.deque, map(_CALL, iter(inq.get, None)), 0)
        start_joinable = getattr(_thread, "start_joinable_thread", None)  # 3.13+
        if start_joinable is not None:
            handle = start_joinable(consumer)
            self._alive = lambda: not handle.is_done()
            self._inq, self._outq = inq, outq
            return
        set_sentinel = getattr(_thread, "_set_sentinel", None)
        _thread.start_new_thread(consumer, ())
        self._inq, self._outq = inq, outq
        self._alive = lambda: True
        if set_sentinel is None:
            return
        # A lock the interpreter releases when the helper thread's state is deleted.
        box = []
        self.run([functools.partial(box.extend, map(_CALL, (set_sentinel,)))])
        sentinel = box[0]
        sentinel.acquire()  # released by the interpreter when the helper thread ends
        self._alive = sentinel.locked

    def call(self, fn, *args):
        """fn(*args) on the helper thread; its result, or its exception raised here."""
        box = []
        self.run([functools.partial(_call_into, box, fn, args)])
        ok, value = box[0]
        if not ok:
            raise value
        return value

    def run(self, tasks):
        """Run the zero-argument callables in order and wait for them."""
        if self._inq is None:
            collections.deque(map(_CALL, tasks), 0)
            return
        with self._lock:
            self._run(tasks)

    def _run(self, tasks):
        inq = self._inq
        token = next(self._tokens)
        tasks = list(tasks)
        tasks.append(functools.partial(self._outq.put, token))
        inq.put(functools.partial(collections.deque, map(_CALL, tasks), 0))
        del tasks
        get = self._outq.get
        while True:
            try:
                if get(True, _POLL) == token:  # an earlier, abandoned run may still report
                    return
            except queue.Empty:
                if not self._alive():
                    self._inq = None
                    raise WorkerDied("a task raised on the frameless helper thread")

    def close(self):
        """Let the helper thread end (it is parked otherwise)."""
        inq, self._inq = self._inq, None
        if inq is not None:
            inq.put(None)


def _call_into(box, fn, args):
    try:
        box.append((True, fn(*args)))
    except BaseException as error:  # handed to the caller, never left to kill the thread
        box.append((False, error))
