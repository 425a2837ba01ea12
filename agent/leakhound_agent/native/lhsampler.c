/*
 * _lhsampler: allocation sampling for leakhound's default collector.
 *
 * Hooks CPython's PYMEM_DOMAIN_MEM and PYMEM_DOMAIN_OBJ allocators (chaining
 * to whatever was installed before) and samples allocations as a Poisson
 * process over allocated bytes: a sample point falls, on average, every
 * `sample_bytes` bytes, so a block of size s is sampled with probability
 * p(s) = 1 - exp(-s/m) and, when sampled, stands for s/p(s) bytes and 1/p(s)
 * blocks (unbiased, like tcmalloc's heap profiler). Each sampled block stays in
 * a hash table until it is freed or reallocated, so per-stack live bytes are
 * estimates of what is live now, not of what was allocated.
 *
 * Both hooked domains are only ever called with the GIL held, so the hook
 * state needs no locks. Stacks are read straight from the thread state
 * (PyFrameObject chain before 3.11, _PyInterpreterFrame chain from 3.11 on,
 * via the interpreter's own internal headers): the walk never allocates, never
 * materialises frame objects and never runs Python code, so it is safe inside
 * an allocator. Each raw frame (code object, instruction offset) is mapped to
 * an interned (file, line, function) frame through a cache; only a miss
 * computes a line number and interns strings. The cache holds no references (it must not
 * keep dynamically created code alive: that would look like a leak); a code
 * object's first line and name pointers tell it from a later one that reuses
 * its address.
 *
 * The optional LD_PRELOAD shim (lhmalloc.c) samples malloc-level allocations;
 * when both are loaded this module registers a stack-capture callback with the
 * shim, which may run without the GIL: that path walks the calling thread's
 * own frames (which cannot change while it is inside malloc), copies strings
 * instead of taking references and interns under `stack_lock`.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#ifdef Py_GIL_DISABLED
#error "leakhound's sampler needs a GIL build of CPython"
#endif

/* The internal layouts read here (frames, object headers, free lists) are known up to 3.13;
 * on a newer CPython the build fails and the agent falls back to tracemalloc, saying why. */
#if PY_VERSION_HEX >= 0x030E0000
#error "leakhound's sampler knows CPython's internal layouts up to 3.13 only"
#endif

#if PY_VERSION_HEX < 0x030B0000
#include <frameobject.h>
#else
#define Py_BUILD_CORE 1
#include "internal/pycore_frame.h"
#undef Py_BUILD_CORE
#endif

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "lhshim.h"

#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)

#define MAX_NFRAMES 128
#define MAX_STACKS (1u << 18)
#define STACK_CHUNK 256u /* entries per chunk (72 bytes each), allocated as stacks appear */
#define RAW_CACHE_MAX 16384u
#define DEFAULT_MAX_SAMPLES (1u << 20)

/* Stack ids with a fixed meaning. */
#define STACK_UNKNOWN 0  /* no Python frame (no thread state, interpreter start-up) */
#define STACK_OVERFLOW 1 /* the stack table is full */

/* The sampler by concern, in order (one compilation unit, so everything stays static):
 *   lh_state.h        the sampler's global state, its random numbers, locks and own memory
 *   lh_strings.h      interned file and function names
 *   lh_stack_walk.h   frames, stack ids and walking the Python stack (the per-version frame layouts, 3.8-3.13)
 *   lh_frame_cache.h  the (code, offset) -> frame cache
 *   lh_blocks.h       the table of sampled blocks and its counting filter
 *   lh_levels.h       levels: finer sampling where memory stays alive
 *   lh_hooks.h        the allocator hooks and what they sample
 *   lh_free_lists.h   objects that die onto CPython's free lists (tp_dealloc wrappers)
 *   lh_native.h       malloc-level samples from the LD_PRELOAD shim, and fork
 *   lh_owners.h       owners of sampled native blocks: Python objects pointing to them
 *   lh_api.h          the module's functions (start, stop, snapshot, lookups)
 *   lh_socket.h       the transport: the agent's socket to the host, without _socket
 */
#include "lh_state.h"
#include "lh_strings.h"
#include "lh_stack_walk.h"
#include "lh_frame_cache.h"
#include "lh_blocks.h"
#include "lh_levels.h"
#include "lh_hooks.h"
#include "lh_free_lists.h"
#include "lh_native.h"
#include "lh_owners.h"
#include "lh_api.h"
#include "lh_socket.h"
#include "lh_walk.h"

/* ------------------------------------------------------------------ the module */

static PyMethodDef methods[] = {
    {"start", (PyCFunction)(void (*)(void))lh_start, METH_VARARGS | METH_KEYWORDS,
     "start(sample_bytes=524288, nframes=16, max_samples=1048576, native=True)"},
    {"stop", lh_stop, METH_NOARGS, "Stop sampling; unhook when our hooks are on top."},
    {"snapshot", (PyCFunction)(void (*)(void))lh_snapshot, METH_VARARGS | METH_KEYWORDS,
     "snapshot(free_lists=False, adjust=True) -> (rows, live_bytes, live_count, native_rows|None); rows: [(stack_id, est_bytes, "
     "est_count)], with free_lists: [(stack_id, est_bytes, est_count, free_list_bytes, free_list_kinds)] (the "
     "free-list bytes are part of est_bytes)"},
    {"stack_frames", lh_stack_frames, METH_O, "[(filename, lineno, function)] innermost first"},
    {"count_free_listed", lh_count_free_listed, METH_O,
     "count_free_listed(stack_ids): the lookups count these stacks' blocks whose object went onto a free list"},
    {"stack_of_address", lh_stack_of_address, METH_O, "stack id of the sampled block at an address, or None"},
    {"stack_of_object", lh_stack_of_object, METH_O, "stack id of the sampled block holding an object, or None"},
    {"sample_of_object", lh_sample_of_object, METH_O,
     "(stack id, block size, sampling probability) of the sampled block holding an object, or None"},
    {"preheader_size", lh_preheader_size, METH_O, "bytes between an object's block start and the object"},
    {"tracemalloc_traceback_of", lh_tracemalloc_traceback_of, METH_O,
     "tracemalloc's raw traceback of the block holding an object (pre-header included), or None"},
    {"owners_begin", lh_owners_begin, METH_O, "owners_begin(stack_ids) -> sampled native blocks of those stacks (copied)"},
    {"owner_of", lh_owner_of, METH_O, "stack id of a sampled native block an object points to, or None"},
    {"owned", lh_owned, METH_O, "[(stack id, block size, probability, address, depth)] of the sampled native blocks an object points to"},
    {"owners_total", lh_owners_total, METH_O, "sum of size/p over the sampled native blocks of a stack (owners_begin's copy)"},
    {"owners_end", lh_owners_end, METH_NOARGS, NULL},
    {"owners_stats", lh_owners_stats, METH_NOARGS, NULL},
    {"sqlite_filename", lh_sqlite_filename, METH_O, NULL},
    {"reset_after_fork", lh_reset_after_fork, METH_NOARGS, "forget the parent's samples (in a forked child)"},
    {"stats", lh_stats, METH_NOARGS, "counters and table sizes"},
    {"is_active", lh_is_active, METH_NOARGS, NULL},
    {"fine_bytes", lh_fine_bytes, METH_O, NULL},
    {"unix_connect", lh_unix_connect, METH_VARARGS, "unix_connect(path, timeout) -> fd (non-blocking, close-on-exec)"},
    {"send_all", lh_send_all, METH_VARARGS, "send_all(fd, data, timeout): all of data, MSG_NOSIGNAL"},
    {"recv", lh_recv, METH_VARARGS, "recv(fd, n, timeout) -> bytes (b'' at end of stream)"},
    LH_WALK_METHODS
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef moduledef = {PyModuleDef_HEAD_INIT, "_lhsampler", "leakhound allocation sampler", -1,
                                       methods};

__attribute__((visibility("default"))) PyMODINIT_FUNC PyInit__lhsampler(void) {
    static int atfork_done;
    if (!atfork_done) {
        pthread_atfork(NULL, NULL, atfork_child);
        atfork_done = 1;
    }
    PyObject *m = PyModule_Create(&moduledef);
    if (!m) return NULL;
    PyModule_AddIntConstant(m, "STACK_UNKNOWN", STACK_UNKNOWN);
    PyModule_AddIntConstant(m, "STACK_OVERFLOW", STACK_OVERFLOW);
    PyModule_AddIntConstant(m, "MAX_NFRAMES", MAX_NFRAMES);
    PyModule_AddIntConstant(m, "POINT_RATE", (long)WATCH_POINT_RATE);
    return m;
}
