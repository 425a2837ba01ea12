"""The agent inside the target process: handshake, sampling thread, exit and fork.

One daemon thread (a bare ``_thread`` thread, so it never shows up in
``threading.enumerate()``) takes a collector snapshot every interval and looks
at the running stacks about ten times in between. Everything the agent does is
guarded: when the host goes away the agent turns itself off quietly and the
target runs on as if it had never been there.
"""

import _thread
import atexit
import gc
import os
import sys
import time

from . import frames, procinfo, protocol
from .active import ActiveSampler
from .config import Config
from .contract import DEFAULTS, LIMITS
from .connection import Connection, HostGone
from .stacks import SiteTracker, StackTable

# Looks at the running stacks per sample interval.
ACTIVE_LOOKS = 10
# A snapshot that took c seconds is followed by at least this many times c of rest.
COST_FACTOR = 4.0
EXIT_REPLY_WAIT = 2.0
# Threads that kept working this long after the main thread finished: the shutdown began when they ended.
THREADS_WORKED_SEC = 2.0
EXIT_SEND_TIMEOUT = 5.0
FORK_STOP_WAIT = 1.0
STACKS_PER_MESSAGE = 4  # ~6 KB a message: no big block in the agent thread's malloc arena
CHILD_HELLO_DELAY = 0.05
# Since 3.13 os.fork() checks for other threads after the after_in_parent hooks.
_WARNS_AFTER_PARENT_HOOKS = sys.version_info >= (3, 13)

_monotonic = time.monotonic
# CPU time of the sampling thread: its own cost, not time spent waiting for the GIL.
_cpu_time = time.thread_time
_get_ident = _thread.get_ident
_allocate_lock = _thread.allocate_lock

_agent = None
_Module = type(sys)


def _loaded_module(name):
    """sys.modules[name] when it is a plain module that has run, else None. A lazily imported module
    (importlib.util.LazyLoader, Mercurial's demandimport) runs its code on the first attribute read,
    on the thread that reads it: from the sampling thread that would run the program's import on our
    thread (threading imported there takes it for the main thread, and the exit then waits for it)."""
    module = sys.modules.get(name)
    return module if type(module) is _Module else None


def start_from_env():
    """Start the agent once per process when LEAKHOUND_SOCKET is set."""
    global _agent
    if _agent is not None:
        return _agent
    config = Config.from_env()
    if not config.socket_path:
        return None
    agent = Agent(config)
    _agent = agent
    agent.start()
    return agent


def _python_version():
    return "%d.%d.%d" % sys.version_info[:3]


class _Worker(object):
    """One run of the sampling thread: its stop request and its completion."""

    __slots__ = ("stop", "done", "native_id")

    def __init__(self):
        self.stop = _allocate_lock()
        self.stop.acquire()  # released to ask the thread to stop
        self.done = _allocate_lock()
        self.done.acquire()  # released by the thread when it ends
        self.native_id = None


class Agent(object):
    def __init__(self, config):
        self.config = config
        self._own_prefixes = config.own_prefixes()
        self.collector = None
        self._selection_note = None
        self.enabled = False
        self._conn = None
        self._native = None  # the native extension, when it provides the host socket
        self._worker = None
        self._paused_for_fork = False
        self._resume_pending = False
        # Where os.fork() was called from when the resume was put off: (id, code, f_lasti) of
        # that frame; while it is still there at that instruction, os.fork() has not returned.
        self._fork_call_site = None
        self._checking_site = False  # sys._getframe raises an audit event: our hook must not recurse
        self._forking = False
        self._exiting = False
        self._exited = False
        # Shutdown marks (see _mark_shutdown): the original threading._shutdown once wrapped,
        # the atexit callbacks counted when our atexit mark was last made the first to run.
        self._threading_shutdown = None
        self._atexit_count = None
        self._shutdown_waiter = None
        # The budget of the retainer search under way on the sampling thread (None: none).
        self._search_budget = None
        # Set by attach.start: the agent was attached to a running process (leakhound attach),
        # and how long that process had run then (None when unknown).
        self.attached = False
        self.attached_after_sec = None
        self._reset_process_state()

    # ------------------------------------------------------------ start

    def _reset_process_state(self):
        """Everything that belongs to one process (fresh after a fork)."""
        self.pid = os.getpid()
        self._started_mono = _monotonic()
        self._started_at = int(time.time() * 1000)
        self._seq = 0
        self._table = None
        self._tracker = None
        self._native_tracker = None
        self._active = None
        self._active_cost = 0.0
        self._last_snapshot_cost = 0.0
        self._shutdown_t = None
        # Serializes producing and sending samples (the thread and atexit).
        self._sample_lock = _allocate_lock()

    def start(self):
        frames.remember_cwd(procinfo.getcwd())
        # Connect before touching anything: without a host, the target stays untouched
        # (the extension, when already built, only provides the socket calls here).
        from .native import load_if_built

        self._native = load_if_built()
        self._conn = Connection(self.config.socket_path, self._native)
        try:
            from . import collectors

            self.collector, self._selection_note = collectors.create(self.config)
        except Exception as error:
            # Sent instead of hello, like an interpreter the agent cannot serve.
            reason = "no collector could start: %s: %s" % (type(error).__name__, error)
            self._send_quietly(protocol.unsupported(self.pid, _python_version(), reason))
            self._conn.close()
            return
        self._new_tables()
        self.enabled = True
        try:
            self._send_hello()
            atexit.register(self._at_exit)
            self._watch_shutdown()
            if hasattr(os, "register_at_fork"):
                os.register_at_fork(before=self._before_fork,
                                    after_in_parent=self._after_fork_in_parent,
                                    after_in_child=self._after_fork_in_child)
            self._start_worker()
        except BaseException:
            self._disable()
            raise

    def _new_tables(self):
        self._table = StackTable(self.collector.frames_of, self.collector.names_qualified)
        self._tracker = SiteTracker(self._table)
        self._native_tracker = SiteTracker(self._table)

    def _send_hello(self):
        info = self.collector.info()
        collector = protocol.collector_info(
            info.get("name", self.collector.name),
            info.get("intervalSec", self.config.interval),
            info.get("nframes", self.config.nframes),
            info.get("sampleBytes", 0),
            "; ".join(n for n in (self._selection_note, info.get("note")) if n) or None,
            info.get("fineBytes"),
            info.get("nativeSampling"),
        )
        hello = protocol.hello(
            pid=self.pid,
            ppid=os.getppid(),
            python=_python_version(),
            implementation=sys.implementation.name,
            executable=sys.executable or "",
            argv=procinfo.cmdline(),
            cwd=procinfo.getcwd(),
            started_at=self._started_at,
            collector=collector,
            attached=self.attached,
            attached_after_sec=self.attached_after_sec,
        )
        self._conn.send(hello, *self._notes())

    def _notes(self):
        return [protocol.log(level, text) for level, text in self.collector.take_notes()]

    # ------------------------------------------------------------ sampling thread

    def _start_worker(self):
        worker = _Worker()
        self._worker = worker
        _thread.start_new_thread(self._run, (worker,))

    def _stop_worker(self, timeout):
        """Ask the sampling thread to end and wait for it; True when it has ended."""
        worker, self._worker = self._worker, None
        if worker is None:
            return True
        try:
            worker.stop.release()
        except RuntimeError:
            pass  # already asked
        if worker.done.acquire(True, timeout):
            worker.done.release()
            return True
        return False

    def _run(self, worker):
        try:
            try:
                worker.native_id = _thread.get_native_id() if hasattr(_thread, "get_native_id") else None
                interval = self.config.interval
                step = interval / ACTIVE_LOOKS
                if self._conn is None:
                    # A forked child says hello only once it has lived a moment, so a
                    # fork that is about to exec (subprocess, daemons) stays silent.
                    if worker.stop.acquire(True, CHILD_HELLO_DELAY) or not self.enabled:
                        return
                    self._conn = Connection(self.config.socket_path, self._native)
                    self._send_hello()
                self._active = ActiveSampler(self.config.nframes, _get_ident(), self._own_prefixes)
                next_sample = _monotonic()
                while self.enabled:
                    if _monotonic() >= next_sample:
                        if not self._sample():
                            break
                        next_sample = _monotonic() + max(interval, COST_FACTOR * self._last_snapshot_cost)
                    wait = min(step, max(0.0, next_sample - _monotonic()))
                    if worker.stop.acquire(True, wait):
                        break
                    request = self._conn.poll_message()
                    if request is not None:
                        self._on_host_message(request)
                        if not self.enabled:
                            break
                    if self._threading_shutdown is None:
                        self._watch_shutdown()
                    started = _cpu_time()
                    self._active.sample()
                    self._active_cost += _cpu_time() - started
            except BaseException as error:
                # A bug of ours (or the interpreter shutting down): say so if we still can, then stop.
                if self.enabled and self._conn is not None and not isinstance(error, HostGone):
                    self._send_quietly(protocol.log("error", "leakhound agent stopped: %s: %s"
                                                    % (type(error).__name__, error)))
                self._disable()
        finally:
            worker.done.release()

    def _sample(self, timeout=-1):
        """Take, intern and send one sample; False when the agent is (now) off."""
        if not self._sample_lock.acquire(True, timeout):
            return False
        try:
            if not self.enabled or self._conn is None:
                return False
            started = _cpu_time()
            snapshot = self.collector.snapshot()
            self._last_snapshot_cost = _cpu_time() - started
            sites, other_bytes, other_count = self._tracker.update(snapshot.sites, snapshot.heap)
            # Sites whose memory went onto CPython's free lists: [.., free-list bytes, kinds].
            free_list = getattr(snapshot, "free_list", None)
            if free_list:
                site_key = self._table.site_key
                for row in sites:
                    extra = free_list.get(site_key(row[0]))
                    if extra is not None:
                        row.append(int(extra[0]))
                        row.append(int(extra[1]))
            other_bytes += snapshot.other_bytes
            other_count += snapshot.other_count
            # Malloc-level sites, from collectors that have them (a Snapshot attribute of theirs).
            native = getattr(snapshot, "native", None)
            if type(native) is dict:
                native = self._native_tracker.update(native)[0]
            else:
                native = None
            active = []
            if self._active is not None:
                active_id = self._table.active_id
                active = [[active_id(stack), hits] for stack, hits in self._active.take().items()]
            definitions = self._table.take_pending()
            self._seq += 1
            cost = _cpu_time() - started + self._active_cost
            self._active_cost = 0.0
            messages = self._notes()
            if messages:
                self._conn.send(*messages)
            self._send_stacks(definitions)
            del definitions
            self._conn.send(protocol.sample(
                seq=self._seq,
                t=round(_monotonic() - self._started_mono, 6),
                rss=procinfo.rss(),
                heap=int(snapshot.heap),
                overhead=int(snapshot.overhead),
                gc_enabled=gc.isenabled(),
                sites=sites,
                other_bytes=int(other_bytes),
                other_count=int(other_count),
                active=active,
                cost=round(cost, 6),
                native=native,
                threads=procinfo.threads(),
            ))
            return True
        except HostGone:
            self._disable()
            return False
        finally:
            self._sample_lock.release()

    def _send_stacks(self, definitions):
        """Stack definitions, a few per message, each built, encoded and sent on its own: the first
        sample of a program with hundreds of new stacks holds no big message."""
        for start in range(0, len(definitions), STACKS_PER_MESSAGE):
            self._conn.send(protocol.stacks(definitions[start:start + STACKS_PER_MESSAGE]))

    # ------------------------------------------------------------ per-test figures (pytest plugin)

    def send_test(self, test_id, run, outcome, retained, sites, runner, duration_sec, limit=None, total_only=False):
        """Send one test run's figures; ``sites`` is [(collector stack key, bytes, count)]. The stacks
        are defined first, under the sample lock (the sampling thread interns stacks too)."""
        if not self.enabled or self._conn is None:
            return False
        if not self._sample_lock.acquire(True, EXIT_SEND_TIMEOUT):
            return False
        try:
            site_id = self._table.site_id
            rows = [[site_id(key), int(size), int(count)] for key, size, count in sites]
            self._send_stacks(self._table.take_pending())
            self._conn.send(protocol.test(
                test_id, run, round(_monotonic() - self._started_mono, 6), outcome, int(retained), rows,
                [int(runner[0]), int(runner[1])], round(duration_sec, 6), limit, total_only))
            return True
        except HostGone:
            self._disable()
            return False
        finally:
            self._sample_lock.release()

    # ------------------------------------------------------------ turning off

    def _send_quietly(self, *messages):
        if self._conn is None:
            return False
        try:
            self._conn.send(*messages)
            return True
        except Exception:
            return False

    def _disable(self):
        """Turn the agent off for good in this process; never raises."""
        self.enabled = False
        worker = self._worker
        if worker is not None:
            try:
                worker.stop.release()
            except Exception:
                pass
        try:
            if self._conn is not None:
                self._conn.close()
        except Exception:
            pass
        try:
            if self.collector is not None:
                self.collector.stop()
        except Exception:
            pass
        if self.attached:
            self._forget_process_hooks()

    # ------------------------------------------------------------ exit handshake

    def _at_exit(self):
        self._exiting = True
        try:
            self._exit_handshake()
        except BaseException:
            # Including KeyboardInterrupt during the wait: give up and let the target exit.
            pass
        finally:
            self._exited = True
            self.enabled = False
            try:
                if self._conn is not None:
                    self._conn.close()
            except Exception:
                pass

    def _exit_handshake(self):
        if not self.enabled or self._exited:
            return
        if os.getpid() != self.pid:
            # Forked without the at-fork hooks (e.g. by a C extension): that socket is the parent's.
            self.enabled = False
            if self._conn is not None:
                self._conn.close()
            return
        if self._conn is not None:
            self._conn.send_timeout = EXIT_SEND_TIMEOUT
        _cancel_live_search()
        self._stop_worker(timeout=max(2.0, min(10.0, 2 * self._last_snapshot_cost)))
        if not self._sample(timeout=EXIT_SEND_TIMEOUT):
            return
        self._conn.send(protocol.exiting("atexit"))
        reply = self._conn.read_message(EXIT_REPLY_WAIT)
        if reply is not None and reply.get("type") == "find-retainers":
            self._answer_retainers(reply)

    def _on_host_message(self, message):
        """A host message that arrived while the program runs (on the sampling thread)."""
        if message.get("type") == "detach":
            self._detach()
            return
        if message.get("type") == "done":
            self._release_shutdown_waiter()
            return
        if message.get("type") != "find-retainers":
            return
        from . import retainers

        try:
            # Armed before the checks: an exit or fork that starts after them cancels the search.
            retainers.arm_live_search()
            if not self._exiting and not self._forking:
                self._answer_retainers(message, live=True)
        finally:
            # The shutdown's search (or a live one under way when the shutdown began) is done.
            self._release_shutdown_waiter()

    def _answer_retainers(self, request, live=False):
        stack_ids = request.get("stackIds")
        if type(stack_ids) is not list:
            stack_ids = []
        low, high = LIMITS["retainerObjects"]
        max_objects = request.get("maxObjects")
        if type(max_objects) is not int or not (low <= max_objects <= high):
            max_objects = DEFAULTS["retainerObjects"]
        low, high = LIMITS["retainerTimeoutSec"]
        timeout = request.get("timeoutSec")
        if type(timeout) not in (int, float) or not (timeout >= low):
            timeout = DEFAULTS["retainerTimeoutSec"]
        timeout = min(float(timeout), high)
        self._search_budget = timeout

        ids_by_key = {}
        unknown = []
        for stack_id in stack_ids:
            key = self._table.site_key(stack_id) if type(stack_id) is int else None
            if key is None:
                unknown.append(stack_id)
            else:
                ids_by_key[key] = stack_id
        # Native leaks' stacks: their owners are searched (retainers/owners.py), answered with "native": true.
        native_ids = request.get("nativeStackIds")
        if type(native_ids) is list and native_ids:
            from .retainers.owners import NativeKey

            for stack_id in native_ids:
                key = self._table.site_key(stack_id) if type(stack_id) is int else None
                if key is not None:
                    ids_by_key[NativeKey(key)] = stack_id

        # Of those, the leaks that are memory objects made elsewhere reuse from CPython's free lists.
        free_listed = request.get("freeListStackIds")
        free_listed_keys = []
        if type(free_listed) is list:
            free_listed_keys = [self._table.site_key(i) for i in free_listed if type(i) is int]
            free_listed_keys = [k for k in free_listed_keys if k is not None and k in ids_by_key]

        results, visited, elapsed, truncated = [], 0, 0.0, False
        logs = []
        # When the search started, on the clock of this process's samples.
        started_t = round(_monotonic() - self._started_mono, 6)
        if ids_by_key:
            try:
                from . import retainers

                # (The exit search keeps the plain call: live=True only when the program runs on.)
                extra = {"live": True} if live else {}
                self.collector.count_free_listed(free_listed_keys)
                try:
                    found = retainers.find_retainers(self.collector, list(ids_by_key), max_objects, timeout, **extra)
                finally:
                    self.collector.count_free_listed([])
                for result in found.get("results", ()):
                    result = dict(result)
                    stack_id = ids_by_key.get(result.pop("stackKey", None))
                    if stack_id is None:
                        continue
                    result["stackId"] = stack_id
                    results.append(result)
                visited = int(found.get("visited", 0))
                elapsed = float(found.get("elapsedSec", 0.0))
                truncated = bool(found.get("truncated", False))
            except Exception as error:
                results = []
                logs.append(protocol.log("error", "retainer search failed: %s: %s" % (type(error).__name__, error)))
        for stack_id in unknown:
            if type(stack_id) is int:
                results.append(protocol.retainer_result(stack_id, 0, 0, False, [],
                                                        note="this stack is not tracked by the agent"))
        request_id = request.get("requestId")
        if type(request_id) is not int:
            request_id = None

        def answer(results):
            return protocol.retainers(results, visited, round(elapsed, 6), truncated,
                                      request_id=request_id, t=started_t, live=live)

        try:
            self._conn.send(*(logs + [answer(results)]))
        except (TypeError, ValueError) as error:
            # Not JSON-encodable (encoding happens before anything is written): answer anyway.
            self._conn.send(protocol.log("error", "retainer results could not be encoded: %s" % (error,)), answer([]))
        finally:
            self._search_budget = None

    # ------------------------------------------------------------ detach (leakhound attach)

    def _detach(self):
        """The host is done with an attached process (on the sampling thread): a last sample and,
        like the exit handshake, the retainer search the host asks for in reply (a live one: the
        program runs on); then the agent turns itself off for good and undoes what it set up."""
        try:
            if self._sample() and not self._exiting and not self._forking:
                self._conn.send(protocol.exiting("detach"))
                reply = self._conn.read_message(EXIT_REPLY_WAIT)
                if reply is not None and reply.get("type") == "find-retainers":
                    self._on_host_message(reply)
        except HostGone:
            pass
        finally:
            self._disable()

    def _forget_process_hooks(self):
        """Undo the process-wide hooks of an attach: the atexit handshake is unregistered; the at-fork
        hooks (which cannot be unregistered) do nothing once the agent is disabled."""
        try:
            atexit.unregister(self._at_exit)
            atexit.unregister(self._at_exit_begins)
        except Exception:
            pass
        try:
            threading = _loaded_module("threading")
            original = self._threading_shutdown
            if threading is not None and original is not None and getattr(vars(threading).get("_shutdown"), "_leakhound", False):
                threading._shutdown = original
        except Exception:
            pass

    # ------------------------------------------------------------ shutdown marks

    def _watch_shutdown(self):
        """Be told when the program stops working, before its cleanup runs. With the threading
        module loaded: threading._shutdown, which the interpreter calls once the main thread has
        finished __main__ and before any atexit handler (a pool shut down at exit, threads ending);
        looked up by name at exit, so wrapping it works whenever it is done. Without it: an atexit
        handler kept the last registered, so it runs first (atexit runs last-in, first-out).
        Called at start and by the sampling thread until threading is wrapped."""
        try:
            self._watch_shutdown_now()
        except Exception:
            self._threading_shutdown = lambda: None  # give up watching; the exit handshake stays

    def _watch_shutdown_now(self):
        threading = _loaded_module("threading")  # lazy (not yet run): watched through atexit until it runs
        if threading is not None:
            original = vars(threading).get("_shutdown")
            if original is None:
                return  # threading is being imported (on the program's thread): look again later
            if getattr(original, "_leakhound", False):
                self._threading_shutdown = original
                return
            agent = self

            def _shutdown():
                agent._mark_shutdown("main-end", True)
                begun = _monotonic()  # (after the search at the mark)
                try:
                    return original()
                finally:
                    # Non-daemon threads that worked on after the main thread: they were the program.
                    if _monotonic() - begun >= max(THREADS_WORKED_SEC, 4 * agent.config.interval):
                        agent._mark_shutdown("threads-end", False)

            _shutdown._leakhound = True
            self._threading_shutdown = original
            threading._shutdown = _shutdown
            return
        count = getattr(atexit, "_ncallbacks", None)
        if count is None:
            return
        n = count()
        if n != self._atexit_count:
            # Registered again, so it is again the last one (never unregistered: that compares the
            # program's callbacks with ==, i.e. runs their code). The earlier copies do nothing.
            atexit.register(self._at_exit_begins)
            self._atexit_count = count()

    def _at_exit_begins(self):
        self._mark_shutdown("atexit", True)

    def _mark_shutdown(self, what, search):
        """Tell the host the program began to shut down (once; "threads-end" moves the mark later): a
        sample of the memory before the cleanup, then the mark; with `search`, wait (bounded) while
        the host has the sampling thread search for retainers, so the search sees what the cleanup
        frees. Never raises."""
        try:
            if not self.enabled or self._exited or self._exiting or os.getpid() != self.pid:
                return
            if self._shutdown_t is not None and what != "threads-end":
                return
            t = round(_monotonic() - self._started_mono, 6)
            self._shutdown_t = t
            if not self._sample(timeout=EXIT_SEND_TIMEOUT):
                return
            # Only the sampling thread reads the host's answer: without one, nobody waits for it.
            # Under tracemalloc a search on that thread traces its every allocation: far too slow
            # (the host makes no live search then either); the exit search answers instead.
            search = bool(search) and self._worker is not None and self.collector.name != "tracemalloc"
            waiter = None
            if search:
                waiter = _allocate_lock()
                waiter.acquire()
                self._shutdown_waiter = waiter
            self._conn.send(protocol.shutdown(t, what, search))
            if waiter is not None:
                # The answer comes within a poll of the sampling thread (after the snapshot it may be
                # taking); a search, once under way, ends within its budget.
                deadline = _monotonic() + EXIT_REPLY_WAIT + 2 * self._last_snapshot_cost
                while not waiter.acquire(True, 0.05):
                    if self._search_budget:
                        waiter.acquire(True, self._search_budget + EXIT_REPLY_WAIT)
                        break
                    if _monotonic() >= deadline:
                        break
        except BaseException:
            pass
        finally:
            self._shutdown_waiter = None

    def _release_shutdown_waiter(self):
        waiter = self._shutdown_waiter
        if waiter is not None:
            try:
                waiter.release()
            except Exception:
                pass

    # ------------------------------------------------------------ fork

    def _before_fork(self):
        # Stop the sampling thread so the child inherits no half-held lock and
        # the parent is single-threaded again (3.12+ warns when forking with threads).
        self._forking = True
        try:
            if self.enabled and os.getpid() == self.pid and self._worker is not None:
                worker = self._worker
                self._paused_for_fork = True
                _cancel_live_search()
                if self._stop_worker(FORK_STOP_WAIT):
                    _wait_thread_gone(worker.native_id)
        except BaseException:
            pass

    def _after_fork_in_parent(self):
        if not (self._paused_for_fork or self._resume_pending):
            self._forking = False
            return
        self._paused_for_fork = False
        if _WARNS_AFTER_PARENT_HOOKS:
            # 3.13+ counts threads only after the program's own after_in_parent hooks (which
            # run after ours), so resume later: at the next audit event or garbage collection
            # once os.fork() has returned. _forking stays set while we look up where it was
            # called from (sys._getframe raises an audit event, which must not resume).
            self._fork_call_site = _caller_site()
            self._resume_pending = True
            self._forking = False
            try:
                _install_resume_triggers(self)
            except BaseException:
                pass  # then the exit handshake still takes a last sample
        else:
            self._forking = False
            self._resume_after_fork()

    def maybe_resume(self):
        """Called by the resume triggers; cheap when there is nothing to do. Returns False when
        the resume must wait: os.fork() has not returned yet (a later at-fork hook of the
        program collected garbage or raised an audit event)."""
        if self._resume_pending and not self._forking and not self._exiting and os.getpid() == self.pid:
            self._checking_site = True
            try:
                inside_fork = _site_on_stack(self._fork_call_site)
            finally:
                self._checking_site = False
            if inside_fork:
                return False
            self._fork_call_site = None
            self._resume_after_fork()
        return True

    def _resume_after_fork(self):
        try:
            self._resume_pending = False
            if self.enabled and self._worker is None and not self._exiting and os.getpid() == self.pid:
                self._start_worker()
        except BaseException:
            self._disable()

    def _after_fork_in_child(self):
        self._forking = False
        self._paused_for_fork = False
        self._resume_pending = False
        if not self.enabled:
            return
        try:
            # The parent's socket: drop our copy of the fd without shutting the connection down.
            self._conn.close()
            self._conn = None
            self._worker = None
            self._reset_process_state()
            self.collector.after_fork_in_child()
            self._new_tables()
            self._start_worker()  # connects and says hello
        except BaseException:
            self._disable()


def _cancel_live_search():
    """Cut short a live retainer search on the sampling thread (exit, fork): it answers at once."""
    retainers = sys.modules.get(__package__ + ".retainers")
    if retainers is not None:
        try:
            retainers.cancel_live_search()
        except BaseException:
            pass


_audit_hook_installed = False


def _install_resume_triggers(agent):
    """Two ways back after a fork on 3.13+: a cyclic garbage object whose finalizer
    resumes, and (installed once, on the first fork) an audit hook that checks one flag."""
    global _audit_hook_installed
    _ResumeOnCollect(agent)
    if not _audit_hook_installed:
        _audit_hook_installed = True

        def _leakhound_resume_hook(event, args):
            # Never look at args (they are the program's objects).
            if agent._resume_pending and not agent._checking_site and event != "os.fork":
                try:
                    agent.maybe_resume()
                except BaseException:
                    pass

        sys.addaudithook(_leakhound_resume_hook)


class _ResumeOnCollect(object):
    """Garbage that restarts the sampling thread when the cyclic collector frees it."""

    __slots__ = ("agent", "cycle")

    def __init__(self, agent):
        self.agent = agent
        self.cycle = self  # only the cyclic collector frees us, i.e. not during os.fork()

    def __del__(self):
        try:
            if not self.agent.maybe_resume():
                _ResumeOnCollect(self.agent)  # still inside os.fork(): wait for a later collection
        except BaseException:
            pass


def _caller_site():
    """The frame that called os.fork(), seen from our after_in_parent hook (called from C), and
    the thread it runs on."""
    try:
        frame = sys._getframe(2)
        return (_get_ident(), id(frame), frame.f_code, frame.f_lasti)
    except Exception:
        return None


def _site_on_stack(site):
    """True while the frame recorded by _caller_site is on its thread's stack at that same
    instruction, i.e. the call to os.fork() has not returned. Holds no frame (only its id, its
    code and an offset), so no local of the program is kept alive."""
    if site is None:
        return False
    thread, frame_id, code, lasti = site
    try:
        if thread == _get_ident():
            frame = sys._getframe(1)
        else:
            # Another thread collected: look at the forking thread's stack (gone: it returned).
            frame = sys._current_frames().get(thread)
        while frame is not None:
            if id(frame) == frame_id and frame.f_code is code and frame.f_lasti == lasti:
                return True
            frame = frame.f_back
    except Exception:
        pass
    return False


def _wait_thread_gone(native_id, limit=1.0):
    """Wait until the OS thread has really exited, not just finished its Python part (3.12+
    counts the OS threads at fork, and warns on the program's stderr if ours is still there).
    Usually well under a millisecond; on a loaded machine its teardown can take longer."""
    if native_id is None:
        return
    path = "/proc/self/task/%d" % native_id
    deadline = _monotonic() + limit
    try:
        while os.path.exists(path) and _monotonic() < deadline:
            time.sleep(0.0005)
    except Exception:
        pass
