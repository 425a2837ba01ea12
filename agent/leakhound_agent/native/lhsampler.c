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

/* ------------------------------------------------------------------ state */

typedef struct {
    PyMemAllocatorEx prev;
    PyMemAllocatorDomain domain;
    int installed;
} hook_t;

static hook_t hooks[2] = {{.domain = PYMEM_DOMAIN_MEM}, {.domain = PYMEM_DOMAIN_OBJ}};

static struct {
    int active;            /* sampling */
    int in_capture;        /* re-entrancy guard (GIL-protected) */
    int64_t countdown;     /* bytes until the next sample point */
    double mean;           /* mean bytes between sample points */
    int nframes;
    uint64_t rng;
    int probing, probe_hit; /* check_hooks() */
    int64_t probe_saved;
    uint64_t samples;      /* samples taken */
    uint64_t hooks_lost;   /* times our hooks were found removed */
    int native_attached;   /* the shim reports to us: mark Python-allocator calls */
    int py_alloc_depth;
    double live_bytes, live_count; /* sum of the weights of live sampled blocks */
} G = {.countdown = INT64_MAX, .mean = 512.0 * 1024, .nframes = 16};

static size_t own_bytes; /* memory held by our tables (approximate) */

static double now_mono(void);

/* ------------------------------------------------------------------ random */

static uint64_t rng_next(uint64_t *s) {
    /* xorshift64* */
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static uint64_t seed_value(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t s = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^ ((uint64_t)getpid() << 16) ^ (uint64_t)(uintptr_t)&ts;
    s ^= 0x9E3779B97F4A7C15ULL;
    return s ? s : 1;
}

/* An exponentially distributed draw with mean m, as a byte count >= 1. */
static int64_t draw_interval(uint64_t *state, double m) {
    double u = ((double)(rng_next(state) >> 11) + 1.0) * (1.0 / 9007199254740992.0); /* (0, 1] */
    double v = -log(u) * m;
    if (v < 1.0) return 1;
    if (v > 9.0e18) return INT64_MAX;
    return (int64_t)v;
}

/* Probability that a block of size s contains a sample point. */
static inline double sample_probability(double s, double m) {
    double p = -expm1(-s / m);
    return p > 0 ? p : 1e-300;
}

/* ------------------------------------------------------------------ locks */

static pthread_mutex_t stack_lock = PTHREAD_MUTEX_INITIALIZER;  /* interning */
static pthread_mutex_t native_lock = PTHREAD_MUTEX_INITIALIZER; /* native block table */

/* ------------------------------------------------------------------ our own memory */

/* Our tables never use the Python allocators (we are inside them). When the
 * shim is loaded, `malloc` is the shim's: use its unsampled entry points. */
static const lh_shim_api *shim;

static void *sys_malloc(size_t n) { return shim ? shim->raw_malloc(n) : malloc(n); }
static void *sys_calloc(size_t a, size_t b) { return shim ? shim->raw_calloc(a, b) : calloc(a, b); }
static void sys_free(void *p) {
    if (shim) shim->raw_free(p);
    else free(p);
}

/* ------------------------------------------------------------------ strings */

typedef struct lhstr {
    uint64_t hash;
    uint32_t len;
    char s[];
} lhstr;

static struct {
    lhstr **slots;
    size_t cap, count, bytes;
} strings;

static uint64_t hash_bytes(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h ? h : 1;
}

static int strings_grow(void) {
    size_t ncap = strings.cap ? strings.cap * 2 : 128;
    lhstr **ns = sys_calloc(ncap, sizeof(lhstr *));
    if (!ns) return -1;
    for (size_t i = 0; i < strings.cap; i++) {
        lhstr *e = strings.slots[i];
        if (!e) continue;
        size_t j = e->hash & (ncap - 1);
        while (ns[j]) j = (j + 1) & (ncap - 1);
        ns[j] = e;
    }
    sys_free(strings.slots);
    __atomic_add_fetch(&own_bytes, (size_t)((ncap - strings.cap) * sizeof(lhstr *)), __ATOMIC_RELAXED);
    strings.slots = ns;
    strings.cap = ncap;
    return 0;
}

/* Caller holds stack_lock. */
static lhstr *str_intern(const char *s, size_t n) {
    if ((strings.count + 1) * 2 > strings.cap && strings_grow() < 0) return NULL;
    uint64_t h = hash_bytes(s, n);
    size_t i = h & (strings.cap - 1);
    for (;;) {
        lhstr *e = strings.slots[i];
        if (!e) break;
        if (e->hash == h && e->len == n && memcmp(e->s, s, n) == 0) return e;
        i = (i + 1) & (strings.cap - 1);
    }
    lhstr *e = sys_malloc(sizeof(lhstr) + n + 1);
    if (!e) return NULL;
    e->hash = h;
    e->len = (uint32_t)n;
    memcpy(e->s, s, n);
    e->s[n] = 0;
    strings.slots[i] = e;
    strings.count++;
    strings.bytes += sizeof(lhstr) + n + 1;
    __atomic_add_fetch(&own_bytes, (size_t)(sizeof(lhstr) + n + 1), __ATOMIC_RELAXED);
    return e;
}

/* UTF-8 of a str object without calling into Python (no allocation, no GIL
 * needed: str objects are immutable). Truncates very long names. */
static size_t utf8_of(PyObject *u, char *buf, size_t cap) {
    if (u == NULL || !PyUnicode_Check(u)) goto unknown;
#if PY_VERSION_HEX < 0x030C0000
    if (!PyUnicode_IS_READY(u)) goto unknown;
#endif
    {
        int kind = PyUnicode_KIND(u);
        const void *data = PyUnicode_DATA(u);
        Py_ssize_t n = PyUnicode_GET_LENGTH(u);
        size_t len = 0;
        for (Py_ssize_t i = 0; i < n; i++) {
            Py_UCS4 c = PyUnicode_READ(kind, data, i);
            if (len + 4 >= cap) break;
            if (c < 0x80) {
                buf[len++] = (char)c;
            } else if (c < 0x800) {
                buf[len++] = (char)(0xC0 | (c >> 6));
                buf[len++] = (char)(0x80 | (c & 0x3F));
            } else if (c < 0x10000) {
                if (c >= 0xD800 && c <= 0xDFFF) c = 0xFFFD; /* lone surrogate */
                buf[len++] = (char)(0xE0 | (c >> 12));
                buf[len++] = (char)(0x80 | ((c >> 6) & 0x3F));
                buf[len++] = (char)(0x80 | (c & 0x3F));
            } else {
                buf[len++] = (char)(0xF0 | (c >> 18));
                buf[len++] = (char)(0x80 | ((c >> 12) & 0x3F));
                buf[len++] = (char)(0x80 | ((c >> 6) & 0x3F));
                buf[len++] = (char)(0x80 | (c & 0x3F));
            }
        }
        return len;
    }
unknown:
    buf[0] = '?';
    return 1;
}

/* ------------------------------------------------------------------ frames */

typedef struct {
    lhstr *file, *func;
    int line;
    uint64_t hash;
} lhframe;

static struct {
    lhframe *items;
    uint32_t *slots; /* index + 1 */
    size_t count, cap, scap;
} frames;

static uint64_t mix64(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb93fe53ec2a7ULL;
    x ^= x >> 33;
    return x;
}

/* Caller holds stack_lock. Returns frame index or -1. */
static long frame_intern(lhstr *file, lhstr *func, int line) {
    uint64_t h = mix64((uint64_t)(uintptr_t)file * 31 + (uint64_t)(uintptr_t)func * 17 + (uint64_t)(int64_t)line);
    if ((frames.count + 1) * 2 > frames.scap) {
        size_t ncap = frames.scap ? frames.scap * 2 : 128;
        uint32_t *ns = sys_calloc(ncap, sizeof(uint32_t));
        if (!ns) return -1;
        for (size_t k = 0; k < frames.count; k++) {
            size_t j = frames.items[k].hash & (ncap - 1);
            while (ns[j]) j = (j + 1) & (ncap - 1);
            ns[j] = (uint32_t)k + 1;
        }
        sys_free(frames.slots);
        __atomic_add_fetch(&own_bytes, (size_t)((ncap - frames.scap) * sizeof(uint32_t)), __ATOMIC_RELAXED);
        frames.slots = ns;
        frames.scap = ncap;
    }
    size_t i = h & (frames.scap - 1);
    for (;;) {
        uint32_t s = frames.slots[i];
        if (!s) break;
        lhframe *f = &frames.items[s - 1];
        if (f->hash == h && f->file == file && f->func == func && f->line == line) return (long)(s - 1);
        i = (i + 1) & (frames.scap - 1);
    }
    if (frames.count == frames.cap) {
        size_t ncap = frames.cap ? frames.cap * 2 : 128;
        lhframe *ni = sys_malloc(ncap * sizeof(lhframe));
        if (!ni) return -1;
        if (frames.count) memcpy(ni, frames.items, frames.count * sizeof(lhframe));
        sys_free(frames.items);
        __atomic_add_fetch(&own_bytes, (size_t)((ncap - frames.cap) * sizeof(lhframe)), __ATOMIC_RELAXED);
        frames.items = ni;
        frames.cap = ncap;
    }
    lhframe *f = &frames.items[frames.count];
    f->file = file;
    f->func = func;
    f->line = line;
    f->hash = h;
    frames.slots[i] = (uint32_t)frames.count + 1;
    return (long)frames.count++;
}

/* ------------------------------------------------------------------ stacks */

typedef struct {
    uint32_t *frames; /* innermost first */
    uint32_t depth;
    uint64_t hash;
    /* Python-domain live samples (GIL-protected). */
    double py_bytes, py_count;
    int64_t py_samples;
    /* Of those, blocks whose object died onto a CPython free list (see "free lists"):
     * their memory is still allocated, and may hold an object made by another line. */
    double fl_bytes, fl_count;
    int64_t fl_samples;
    uint32_t fl_kinds; /* FL_* bits: which free lists */
    /* malloc-level live samples from the shim (native_lock). */
    double nat_bytes, nat_count;
    int64_t nat_samples;
} lhstack;

static lhstack *stack_chunks[MAX_STACKS / STACK_CHUNK];
static volatile uint32_t stack_count; /* published after the entry is complete */
static struct {
    uint32_t *slots;
    size_t cap;
} stack_index;

static inline lhstack *stack_at(uint32_t id) { return &stack_chunks[id / STACK_CHUNK][id % STACK_CHUNK]; }

static int stacks_init(void) {
    if (stack_chunks[0]) return 0;
    stack_chunks[0] = sys_calloc(STACK_CHUNK, sizeof(lhstack));
    if (!stack_chunks[0]) return -1;
    __atomic_add_fetch(&own_bytes, (size_t)(STACK_CHUNK * sizeof(lhstack)), __ATOMIC_RELAXED);
    stack_count = 2; /* STACK_UNKNOWN, STACK_OVERFLOW: no frames */
    return 0;
}

/* Caller holds stack_lock. */
static uint32_t stack_intern(const uint32_t *fids, uint32_t depth) {
    if (depth == 0) return STACK_UNKNOWN;
    uint64_t h = 0x84222325cbf29ce4ULL;
    for (uint32_t k = 0; k < depth; k++) h = mix64(h ^ fids[k]) + k;
    h = h ? h : 1;
    uint32_t n = stack_count;
    if ((size_t)(n + 1) * 2 > stack_index.cap) {
        size_t ncap = stack_index.cap ? stack_index.cap * 2 : 256;
        uint32_t *ns = sys_calloc(ncap, sizeof(uint32_t));
        if (!ns) return STACK_OVERFLOW;
        for (uint32_t id = 2; id < n; id++) {
            size_t j = stack_at(id)->hash & (ncap - 1);
            while (ns[j]) j = (j + 1) & (ncap - 1);
            ns[j] = id;
        }
        sys_free(stack_index.slots);
        __atomic_add_fetch(&own_bytes, (size_t)((ncap - stack_index.cap) * sizeof(uint32_t)), __ATOMIC_RELAXED);
        stack_index.slots = ns;
        stack_index.cap = ncap;
    }
    size_t i = h & (stack_index.cap - 1);
    for (;;) {
        uint32_t id = stack_index.slots[i];
        if (!id) break;
        lhstack *s = stack_at(id);
        if (s->hash == h && s->depth == depth && memcmp(s->frames, fids, depth * sizeof(uint32_t)) == 0) return id;
        i = (i + 1) & (stack_index.cap - 1);
    }
    if (n >= MAX_STACKS) return STACK_OVERFLOW;
    if (!stack_chunks[n / STACK_CHUNK]) {
        stack_chunks[n / STACK_CHUNK] = sys_calloc(STACK_CHUNK, sizeof(lhstack));
        if (!stack_chunks[n / STACK_CHUNK]) return STACK_OVERFLOW;
        __atomic_add_fetch(&own_bytes, (size_t)(STACK_CHUNK * sizeof(lhstack)), __ATOMIC_RELAXED);
    }
    uint32_t *copy = sys_malloc(depth * sizeof(uint32_t));
    if (!copy) return STACK_OVERFLOW;
    memcpy(copy, fids, depth * sizeof(uint32_t));
    __atomic_add_fetch(&own_bytes, (size_t)(depth * sizeof(uint32_t)), __ATOMIC_RELAXED);
    lhstack *s = stack_at(n);
    s->frames = copy;
    s->depth = depth;
    s->hash = h;
    stack_index.slots[i] = n;
    __atomic_store_n(&stack_count, n + 1, __ATOMIC_RELEASE);
    return n;
}

/* ------------------------------------------------------------------ walking the Python stack */

typedef struct {
    PyCodeObject *code;
    int lasti;          /* byte offset of the current instruction */
    int firstlineno;    /* with `names`: tells a code object from a later one at the same address */
    uintptr_t names;
} rawframe;

static inline void raw_set(rawframe *r, PyCodeObject *co, int lasti) {
    r->code = co;
    r->lasti = lasti;
    r->firstlineno = co->co_firstlineno;
    r->names = (uintptr_t)co->co_filename * 31 + (uintptr_t)co->co_name;
}

#if PY_VERSION_HEX >= 0x030B0000
static inline _PyInterpreterFrame *current_iframe(PyThreadState *ts) {
#if PY_VERSION_HEX >= 0x030D0000
    return ts->current_frame;
#else
    return ts->cframe ? ts->cframe->current_frame : NULL;
#endif
}

static inline int iframe_skip(_PyInterpreterFrame *f) {
#if PY_VERSION_HEX >= 0x030C0000
    if (f->owner == FRAME_OWNED_BY_CSTACK) return 1;
#endif
#if PY_VERSION_HEX >= 0x030D0000
    if (!PyCode_Check(f->f_executable)) return 1;
#endif
    return _PyFrame_IsIncomplete(f);
}

static inline PyCodeObject *iframe_code(_PyInterpreterFrame *f) {
#if PY_VERSION_HEX >= 0x030D0000
    return (PyCodeObject *)f->f_executable;
#else
    return f->f_code;
#endif
}
#endif

/* A frame's current instruction as a byte offset. */
#if PY_VERSION_HEX >= 0x030B0000
static inline int frame_lasti(_PyInterpreterFrame *f) { return _PyInterpreterFrame_LASTI(f) * (int)sizeof(_Py_CODEUNIT); }
#elif PY_VERSION_HEX >= 0x030A0000
static inline int frame_lasti(PyFrameObject *f) { return f->f_lasti < 0 ? -1 : f->f_lasti * 2; }
#else
static inline int frame_lasti(PyFrameObject *f) { return f->f_lasti; }
#endif

/* The innermost frame's code object and instruction offset, as walk_stack's first frame. */
static inline PyCodeObject *innermost(PyThreadState *ts, int *lasti) {
#if PY_VERSION_HEX >= 0x030B0000
    for (_PyInterpreterFrame *f = current_iframe(ts); f; f = f->previous) {
        if (iframe_skip(f)) continue;
        *lasti = frame_lasti(f);
        return iframe_code(f);
    }
    return NULL;
#else
    PyFrameObject *f = ts->frame;
    if (!f) return NULL;
    *lasti = frame_lasti(f);
    return f->f_code;
#endif
}

/* Walks the calling thread's own frames, innermost first. Reads only; safe
 * with or without the GIL as long as the frames are the caller's own. */
static int walk_stack(PyThreadState *ts, rawframe *out, int max) {
    int n = 0;
#if PY_VERSION_HEX >= 0x030B0000
    _PyInterpreterFrame *f = current_iframe(ts);
    while (f && n < max) {
        if (!iframe_skip(f)) {
            raw_set(&out[n], iframe_code(f), frame_lasti(f));
            n++;
        }
        f = f->previous;
    }
#else
    PyFrameObject *f = ts->frame;
    while (f && n < max) {
        raw_set(&out[n], f->f_code, frame_lasti(f));
        n++;
        f = f->f_back;
    }
#endif
    return n;
}

/* ------------------------------------------------------------------ frame cache (stack_lock) */

/* (code object, instruction offset) -> interned frame id, so a sample whose
 * frames were all seen before computes no line numbers and interns no strings.
 * Keyed per frame, not per whole raw stack: recursion multiplies distinct raw
 * stacks (every mix of call sites along the 16 frames kept), while the frames
 * in them are few, so this stays as small as the program's hot code. No
 * references are held: firstlineno and the name pointers tell a code object
 * from a later one that reuses its address. */
#define FCACHE_MAX 16384u /* entries; the table is flushed when full (ids stay valid) */

typedef struct {
    PyCodeObject *code; /* NULL: empty slot */
    int lasti;
    int firstlineno;
    uintptr_t names;
    uint32_t fid;
} fcent;

static struct {
    fcent *slots;
    size_t cap, count;
    uint64_t flushes;
} fcache;

static inline size_t fc_home(const PyCodeObject *code, int lasti, size_t cap) {
    return (size_t)mix64((uint64_t)(uintptr_t)code ^ ((uint64_t)(uint32_t)lasti << 48)) & (cap - 1);
}

/* Caller holds stack_lock. Returns the frame id or -1. */
static long frame_id_of(const rawframe *r) {
    size_t i = 0;
    if (fcache.cap) {
        i = fc_home(r->code, r->lasti, fcache.cap);
        for (;;) {
            fcent *e = &fcache.slots[i];
            if (!e->code) break;
            if (e->code == r->code && e->lasti == r->lasti && e->firstlineno == r->firstlineno && e->names == r->names)
                return (long)e->fid;
            i = (i + 1) & (fcache.cap - 1);
        }
    }
    char buf[4096];
    PyCodeObject *co = r->code;
    int line = PyCode_Addr2Line(co, r->lasti);
    lhstr *file = str_intern(buf, utf8_of(co->co_filename, buf, sizeof(buf)));
#if PY_VERSION_HEX >= 0x030B0000
    lhstr *func = str_intern(buf, utf8_of(co->co_qualname, buf, sizeof(buf)));
#else
    lhstr *func = str_intern(buf, utf8_of(co->co_name, buf, sizeof(buf)));
#endif
    if (!file || !func) return -1;
    long fid = frame_intern(file, func, line);
    if (fid < 0) return -1;
    if (fcache.count >= FCACHE_MAX) {
        memset(fcache.slots, 0, fcache.cap * sizeof(fcent));
        fcache.count = 0;
        fcache.flushes++;
    } else if ((fcache.count + 1) * 2 > fcache.cap) {
        size_t ncap = fcache.cap ? fcache.cap * 2 : 128;
        fcent *ns = sys_calloc(ncap, sizeof(fcent));
        if (!ns) return fid; /* uncached */
        for (size_t k = 0; k < fcache.cap; k++) {
            fcent *e = &fcache.slots[k];
            if (!e->code) continue;
            size_t j = fc_home(e->code, e->lasti, ncap);
            while (ns[j].code) j = (j + 1) & (ncap - 1);
            ns[j] = *e;
        }
        sys_free(fcache.slots);
        __atomic_add_fetch(&own_bytes, (size_t)((ncap - fcache.cap) * sizeof(fcent)), __ATOMIC_RELAXED);
        fcache.slots = ns;
        fcache.cap = ncap;
    }
    i = fc_home(r->code, r->lasti, fcache.cap);
    while (fcache.slots[i].code) i = (i + 1) & (fcache.cap - 1);
    fcent *e = &fcache.slots[i];
    e->code = r->code;
    e->lasti = r->lasti;
    e->firstlineno = r->firstlineno;
    e->names = r->names;
    e->fid = (uint32_t)fid;
    fcache.count++;
    return fid;
}

/* Canonical stack id for raw frames. Takes stack_lock. Only reads the code
 * objects (no references taken): valid while the frames are live. */
static uint32_t canonical_stack(const rawframe *raw, int n) {
    uint32_t fids[MAX_NFRAMES];
    uint32_t depth = 0;
    uint32_t id = STACK_OVERFLOW;
    pthread_mutex_lock(&stack_lock);
    for (int k = 0; k < n; k++) {
        long fid = frame_id_of(&raw[k]);
        if (fid < 0) goto done;
        fids[depth++] = (uint32_t)fid;
    }
    id = stack_intern(fids, depth);
done:
    pthread_mutex_unlock(&stack_lock);
    return id;
}

static inline PyThreadState *current_tstate(void) { return _PyThreadState_UncheckedGet(); }

/* ------------------------------------------------------------------ sampled blocks */

typedef struct {
    uint64_t size; /* Python domain: with BV_FREELIST when the block's object went onto a free list */
    uint32_t stack;
    uint32_t meta; /* Python domain: the sampling level and watch entry (meta_pack) */
} bval;

#define BV_FREELIST (1ULL << 63)
static inline uint64_t bv_size(const bval *v) { return v->size & ~BV_FREELIST; }

typedef struct {
    uintptr_t *keys;
    bval *vals;
    size_t cap, count, limit;
    int shift;
    uint64_t drops;
} btable;

static btable bt; /* Python-domain samples (GIL) */

/* A counting filter in front of `bt` for the free hook, which runs on every
 * free: 4 KiB (it stays in L1) instead of a probe into a table that grows
 * with the live samples. A zero counter means "not sampled"; a counter that
 * reached 255 stays there (it only means "look in the table"). */
#define BF_BITS 12
static uint8_t bfilter[1u << BF_BITS];

static inline size_t bf_idx(const void *p) {
    return (size_t)((((uint64_t)(uintptr_t)p >> 4) * 0x9E3779B97F4A7C15ULL) >> (64 - BF_BITS));
}
static inline void bf_add(const void *p) {
    uint8_t *c = &bfilter[bf_idx(p)];
    if (*c != 255) (*c)++;
}
static inline void bf_remove(const void *p) {
    uint8_t *c = &bfilter[bf_idx(p)];
    if (*c != 255 && *c != 0) (*c)--;
}

/* A second, sparser filter for the free-list check after every dict, list,
 * tuple and float dealloc (see "free lists"), where the 4 KiB one, full once a
 * few thousand blocks are live, would send nearly every object to a probe of
 * the table: one bit per 2^19 buckets (64 KiB), set when a block is sampled,
 * never cleared on a free (a stale bit only costs a probe), rebuilt from the
 * table at a snapshot once as many blocks were freed as are live. */
#define FLF_BITS 19
static uint64_t flfilter[(1u << FLF_BITS) / 64];
static size_t flf_stale;

static inline size_t flf_idx(uintptr_t p) { return (size_t)(((uint64_t)(p >> 4) * 0xD6E8FEB86659FD93ULL) >> (64 - FLF_BITS)); }
static inline void flf_add(uintptr_t p) {
    size_t i = flf_idx(p);
    flfilter[i >> 6] |= 1ULL << (i & 63);
}
static inline int flf_maybe(uintptr_t p) {
    size_t i = flf_idx(p);
    return (int)((flfilter[i >> 6] >> (i & 63)) & 1);
}

static inline size_t bt_home(const btable *t, uintptr_t k) {
    return (size_t)((((uint64_t)k >> 3) * 0x9E3779B97F4A7C15ULL) >> t->shift);
}

static int bt_resize(btable *t, size_t ncap) {
    uintptr_t *nk = sys_calloc(ncap, sizeof(uintptr_t));
    bval *nv = sys_malloc(ncap * sizeof(bval));
    if (!nk || !nv) {
        sys_free(nk);
        sys_free(nv);
        return -1;
    }
    int nshift = 64;
    for (size_t c = ncap; c > 1; c >>= 1) nshift--;
    btable old = *t;
    t->keys = nk;
    t->vals = nv;
    t->cap = ncap;
    t->shift = nshift;
    for (size_t i = 0; i < old.cap; i++) {
        if (!old.keys[i]) continue;
        size_t j = bt_home(t, old.keys[i]);
        while (nk[j]) j = (j + 1) & (ncap - 1);
        nk[j] = old.keys[i];
        nv[j] = old.vals[i];
    }
    __atomic_add_fetch(&own_bytes, (size_t)((ncap - old.cap) * (sizeof(uintptr_t) + sizeof(bval))), __ATOMIC_RELAXED);
    sys_free(old.keys);
    sys_free(old.vals);
    return 0;
}

static inline int bt_find(const btable *t, uintptr_t k, size_t *slot) {
    size_t mask = t->cap - 1, i = bt_home(t, k);
    for (;;) {
        uintptr_t x = t->keys[i];
        if (x == k) {
            *slot = i;
            return 1;
        }
        if (!x) return 0;
        i = (i + 1) & mask;
    }
}

static void bt_delete_slot(btable *t, size_t i) {
    size_t mask = t->cap - 1, j = i;
    for (;;) {
        j = (j + 1) & mask;
        uintptr_t k = t->keys[j];
        if (!k) break;
        size_t h = bt_home(t, k);
        /* Move k back to the hole at i unless its home lies cyclically in (i, j]. */
        int stays = (i <= j) ? (i < h && h <= j) : (i < h || h <= j);
        if (!stays) {
            t->keys[i] = k;
            t->vals[i] = t->vals[j];
            i = j;
        }
    }
    t->keys[i] = 0;
    t->count--;
}

/* Returns 1 and the old value when k was present (and removes it). */
static inline int bt_take(btable *t, uintptr_t k, bval *out) {
    size_t slot;
    if (!bt_find(t, k, &slot)) return 0;
    *out = t->vals[slot];
    bt_delete_slot(t, slot);
    return 1;
}

/* Inserts (or replaces); returns -1 when full, 1 when it replaced `old`. */
static int bt_put(btable *t, uintptr_t k, bval v, bval *old) {
    if (t->cap == 0 || (t->count + 1) * 2 > t->cap) {
        if (t->count >= t->limit) return -1;
        if (bt_resize(t, t->cap ? t->cap * 2 : 256) < 0) return -1;
    }
    size_t i = bt_home(t, k), mask = t->cap - 1;
    for (;;) {
        uintptr_t x = t->keys[i];
        if (x == k) {
            *old = t->vals[i];
            t->vals[i] = v;
            return 1;
        }
        if (!x) break;
        i = (i + 1) & mask;
    }
    t->keys[i] = k;
    t->vals[i] = v;
    t->count++;
    return 0;
}

static void bt_clear(btable *t) {
    if (t->keys) memset(t->keys, 0, t->cap * sizeof(uintptr_t));
    t->count = 0;
}

static void py_table_clear(void) {
    bt_clear(&bt);
    memset(bfilter, 0, sizeof bfilter);
    memset(flfilter, 0, sizeof flfilter);
    flf_stale = 0;
}

/* At a snapshot: drop the free-list filter's stale bits once they may be as many as the live
 * ones, at most every 2 s (a pass over the table: ~2 ms at a million live samples). */
static void flf_rebuild(void) {
    static double last;
    if (flf_stale < 4096 || flf_stale < bt.count) return;
    double t = now_mono();
    if (t - last < 2.0) return;
    last = t;
    memset(flfilter, 0, sizeof flfilter);
    for (size_t i = 0; i < bt.cap; i++)
        if (bt.keys[i]) flf_add(bt.keys[i]);
    flf_stale = 0;
}

/* ------------------------------------------------------------------ watched instructions
 *
 * One interval for every allocation forces a choice between cost and
 * accuracy: at the default 32 KiB a 1 MB site is known to about +-18%. So the
 * sample points fall finer (every `tmin` bytes on average, 64 times finer)
 * and each point is thinned to the level of the instruction that allocated:
 * an instruction (code object, offset) whose sampled blocks stay alive gets
 * the fine interval, one whose blocks are soon freed (churn: the program's
 * working memory, the bulk of all allocation) or that holds much memory gets
 * a coarser one, up to `mean`. A block of size s allocated at level k
 * (interval tmin * 2^k) is kept with probability p(s, tmin * 2^k) exactly, the
 * level being fixed before the draw, so every estimate stays unbiased; the
 * level is stored with the block to weigh it when it is freed.
 *
 * An instruction is watched from the first sample point that falls in one of
 * its blocks and sampled finely from its WATCH_HITS-th (a few KB in: code
 * that runs once, such as module bodies at import, stays coarse, and little
 * of a growing site's memory is ever sampled coarsely). Its
 * level rises with its live memory (about WATCH_K live samples per
 * instruction: a growing site keeps a relative error near 1/sqrt(2 WATCH_K),
 * about 2%) and by one each time WATCH_CHURN of its samples are freed; it
 * falls by one at a rebalance (each snapshot) when none was. All samples
 * below the coarsest level together are held to WATCH_FINE_BURST between
 * rebalances and WATCH_FINE_RATE per second by a floor under every level;
 * the sample points themselves fall at the floor's interval, and a program
 * that allocates so fast that they would pass WATCH_POINT_RATE per second
 * raises the floor too (its sites are then sampled coarser, never biased).
 * The table holds no references: a code object that dies and whose address is
 * reused only makes another instruction watched, never a wrong weight.
 * The first WATCH_WARMUP seconds (start-up, imports: memory that stays but
 * does not grow, in thousands of short-lived stacks) are sampled at `mean`;
 * fine sampling starts at the first snapshot after them. */
#define WATCH_POOL 512u          /* instructions watched at once */
#define WATCH_SLOTS 1024u        /* index slots (power of two, >= 2 * WATCH_POOL) */
#define WATCH_K 1024.0           /* live samples per instruction before its interval doubles */
#define WATCH_WARMUP 0.5         /* seconds from start at the coarsest level (start-up: imports) */
#define WATCH_HITS 8u            /* sample points an instruction takes at the coarsest level first */
#define WATCH_CHURN 8u           /* freed samples of an instruction that double its interval */
#define WATCH_FINE_BURST 8192u   /* fine samples between rebalances that raise the floor */
#define WATCH_FINE_RATE 10000.0  /* fine samples per second kept at a rebalance */
#define WATCH_POINT_RATE 50000.0  /* sample points per second before the floor rises */
#define WATCH_PACE_POINTS 8192u  /* sample points between checks of their rate */
#define WATCH_LEVELS 7           /* levels 0..6: tmin .. mean = 64 tmin */

typedef struct {
    PyCodeObject *code; /* NULL: free */
    int lasti;
    uint32_t gen;
    uint8_t live_level, churn_level, touched, _pad;
    uint32_t hits; /* sample points that fell in its blocks, up to WATCH_HITS */
    uint32_t churn, churn_period, idle;
    double live_w; /* estimated live bytes of the blocks sampled here */
    int64_t live_n;
} wentry;

static struct {
    wentry pool[WATCH_POOL];
    uint16_t slots[WATCH_SLOTS]; /* pool index + 1, 0: empty */
    uint32_t used;      /* pool entries ever handed out (pages past them stay untouched) */
    int32_t free_head;  /* evicted entries, linked through `lasti`; -1: none */
    uint32_t count, next_gen;
    int lmax;   /* the level whose interval is `mean` */
    int floor;  /* the lowest level any instruction gets */
    double tmin; /* the interval at level 0 */
    uint64_t fine_period, evictions;
    uint64_t points;                      /* sample points since start */
    uint64_t points_at_rebalance, points_at_pace;
    double last_rebalance, last_pace, started;
    int warm; /* in the start-up period: the floor stays at the coarsest level */
} W;

static inline size_t w_home(const PyCodeObject *code, int lasti) {
    return (size_t)mix64((uint64_t)(uintptr_t)code ^ ((uint64_t)(uint32_t)lasti << 48)) & (WATCH_SLOTS - 1);
}

static int watch_levels = WATCH_LEVELS; /* start(levels=...): 1 samples every block at `mean` */

/* The level whose interval is `mean`: 64 times finer at level 0, but not below 256 bytes (or the mean). */
static int top_level_for(double mean, int levels) {
    int lmax = levels - 1;
    while (lmax > 0 && mean / (double)(1 << lmax) < 256.0) lmax--;
    return lmax;
}

static void watch_reset(double mean) {
    /* Only what was used is cleared: untouched pages of the table cost no memory. */
    if (W.used) memset(W.pool, 0, W.used * sizeof(wentry));
    memset(W.slots, 0, sizeof(W.slots));
    W.used = 0;
    W.free_head = -1;
    W.count = 0;
    int lmax = top_level_for(mean, watch_levels);
    W.lmax = lmax;
    W.tmin = mean / (double)(1 << lmax);
    W.floor = lmax;
    W.warm = 1;
    W.fine_period = W.evictions = W.points = W.points_at_rebalance = W.points_at_pace = 0;
    W.last_rebalance = W.last_pace = W.started = now_mono();
}

static inline double level_mean(int level) { return W.tmin * (double)(1 << level); }

/* Sample points fall at the floor's interval; a new rate takes effect at
 * once (the process is memoryless, so the countdown is simply drawn again). */
static void watch_set_floor(int floor) {
    if (floor < 0) floor = 0;
    if (floor > W.lmax) floor = W.lmax;
    if (floor == W.floor) return;
    W.floor = floor;
    if (G.active) G.countdown = draw_interval(&G.rng, level_mean(floor));
}

/* Every WATCH_PACE_POINTS sample points: too many per second raise the floor. */
static void __attribute__((noinline)) watch_pace(void) {
    double t = now_mono(), dt = t - W.last_pace;
    W.last_pace = t;
    W.points_at_pace = W.points;
    if (dt > 0 && WATCH_PACE_POINTS / dt > WATCH_POINT_RATE && !W.warm) watch_set_floor(W.floor + 1);
}

/* The pool index of the instruction's entry, added when missing; -1 when the table is full. */
static inline int watch_slot(PyCodeObject *code, int lasti) {
    size_t i = w_home(code, lasti);
    for (;;) {
        uint16_t s = W.slots[i];
        if (!s) break;
        wentry *e = &W.pool[s - 1];
        if (e->code == code && e->lasti == lasti) return s - 1;
        i = (i + 1) & (WATCH_SLOTS - 1);
    }
    uint32_t k;
    if (W.free_head >= 0) {
        k = (uint32_t)W.free_head;
        W.free_head = W.pool[k].lasti;
    } else if (W.used < WATCH_POOL) {
        k = W.used++;
    } else {
        return -1;
    }
    wentry *e = &W.pool[k];
    memset(e, 0, sizeof(*e));
    e->code = code;
    e->lasti = lasti;
    e->gen = ++W.next_gen & 0x3FFFFu;
    W.slots[i] = (uint16_t)(k + 1);
    W.count++;
    return k;
}

/* Lowest level at which the instruction's live memory is held in about WATCH_K samples. */
static inline void watch_relevel(wentry *e) {
    int l = 0;
    double cap = WATCH_K * W.tmin;
    while (l < W.lmax && e->live_w > cap) {
        cap *= 2.0;
        l++;
    }
    e->live_level = (uint8_t)l;
}

/* Block metadata: level (4 bits), pool index + 1 (10 bits), generation (18 bits). */
static inline uint32_t meta_pack(int level, int slot, uint32_t gen) {
    if (slot < 0) return (uint32_t)level;
    return (uint32_t)level | ((uint32_t)(slot + 1) << 4) | (gen << 14);
}
static inline int meta_level(uint32_t m) { return (int)(m & 15u); }
static inline wentry *meta_entry(uint32_t m) {
    uint32_t k = (m >> 4) & 0x3FFu;
    if (!k) return NULL;
    wentry *e = &W.pool[k - 1];
    return (e->code && e->gen == (m >> 14)) ? e : NULL;
}

/* Called on each snapshot (GIL held): levels fall back, room for new instructions. */
static void watch_rebalance(void) {
    double t = now_mono(), dt = t - W.last_rebalance;
    if (dt < 0.05) return;
    W.last_rebalance = t;
    int crowded = W.count > WATCH_POOL * 3 / 4;
    int evicted = 0;
    for (uint32_t k = 0; k < W.used; k++) {
        wentry *e = &W.pool[k];
        if (!e->code) continue;
        if (e->churn_period == 0 && e->churn_level > 0) e->churn_level--;
        e->churn_period = 0;
        e->idle = e->touched ? 0 : e->idle + 1;
        e->touched = 0;
        /* An instruction that stopped allocating makes room; its blocks keep their weights. */
        if (crowded && e->idle >= 2) {
            e->code = NULL;
            e->lasti = W.free_head;
            W.free_head = (int32_t)k;
            W.count--;
            W.evictions++;
            evicted = 1;
        }
    }
    if (evicted) {
        memset(W.slots, 0, sizeof(W.slots));
        for (uint32_t k = 0; k < W.used; k++) {
            wentry *e = &W.pool[k];
            if (!e->code) continue;
            size_t i = w_home(e->code, e->lasti);
            while (W.slots[i]) i = (i + 1) & (WATCH_SLOTS - 1);
            W.slots[i] = (uint16_t)(k + 1);
        }
    }
    double fine = W.fine_period / dt, points = (W.points - W.points_at_rebalance) / dt;
    if (W.warm) {
        /* The end of start-up: from here the rates decide. */
        if (t - W.started >= WATCH_WARMUP) {
            W.warm = 0;
            watch_set_floor(0);
        }
    } else if (fine > WATCH_FINE_RATE) watch_set_floor(W.floor + 1);
    else if (fine < WATCH_FINE_RATE / 4 && points < WATCH_POINT_RATE / 4) watch_set_floor(W.floor - 1);
    W.fine_period = 0;
    W.points_at_rebalance = W.points;
}

/* ------------------------------------------------------------------ Python-domain sampling */

/* A sampled block of the instruction's was freed (or its object died onto a free list). */
static inline void watch_on_free(uint32_t meta, double w) {
    wentry *e = meta_entry(meta);
    if (e) {
        e->live_w -= w;
        if (--e->live_n <= 0) e->live_n = 0, e->live_w = 0.0;
        watch_relevel(e);
        e->churn_period++;
        if (++e->churn >= WATCH_CHURN) {
            e->churn = 0;
            if (e->churn_level < W.lmax) e->churn_level++;
        }
    }
}

static inline void py_unweigh(const bval *v) {
    flf_stale++;
    double p = sample_probability((double)bv_size(v), level_mean(meta_level(v->meta)));
    double w = (double)bv_size(v) / p;
    lhstack *s = stack_at(v->stack);
    G.live_bytes -= w;
    G.live_count -= 1.0 / p;
    if (bt.count == 0) G.live_bytes = G.live_count = 0.0;
    if (v->size & BV_FREELIST) {
        /* Its object died before (onto a free list): the instruction knows already. */
        s->fl_bytes -= w;
        s->fl_count -= 1.0 / p;
        if (--s->fl_samples == 0) s->fl_bytes = s->fl_count = 0.0;
        return;
    }
    s->py_bytes -= w;
    s->py_count -= 1.0 / p;
    s->py_samples--;
    if (s->py_samples == 0) s->py_bytes = s->py_count = 0.0; /* no drift */
    watch_on_free(v->meta, w);
}

static void py_record(void *ptr, size_t size, uint32_t sid, int level, int slot) {
    bval v = {.size = size, .stack = sid, .meta = meta_pack(level, slot, slot >= 0 ? W.pool[slot].gen : 0)}, old;
    int r = bt_put(&bt, (uintptr_t)ptr, v, &old);
    if (r < 0) {
        bt.drops++;
        return;
    }
    if (r == 1) py_unweigh(&old); /* a stale entry: the block was freed behind our back */
    else bf_add(ptr);
    flf_add((uintptr_t)ptr);
    double p = sample_probability((double)size, level_mean(level));
    double w = (double)size / p;
    lhstack *s = stack_at(sid);
    s->py_bytes += w;
    s->py_count += 1.0 / p;
    s->py_samples++;
    G.live_bytes += w;
    G.live_count += 1.0 / p;
    G.samples++;
    if (slot >= 0) {
        wentry *e = &W.pool[slot];
        e->live_w += w;
        e->live_n++;
        watch_relevel(e);
    }
}

/* Whether a block that a sample point fell in is kept at `level` (above the
 * floor, at whose interval the points fall). Each point is kept with
 * probability 2^-(level - floor), so the kept points are a Poisson process with
 * mean interval tmin * 2^level and the block is kept with probability
 * p(s, level) exactly. The first point is the one that crossed zero; the
 * others in the block fall in the `over` bytes after it (the countdown's
 * overshoot), and none of them is kept with probability
 * exp(-over / (tmin * 2^level)). Usually one random draw. */
static inline int thin_keep(double over, int level, int drawn_at) {
    if ((rng_next(&G.rng) >> (64 - (level - drawn_at))) == 0) return 1;
    double x = over / level_mean(level);
    if (!(x > 0)) return 0;
    double u = (double)(rng_next(&G.rng) >> 11) * (1.0 / 9007199254740992.0); /* [0, 1) */
    if (u >= x) return 0; /* 1 - e^-x <= x */
    return u < -expm1(-x);
}

/* The countdown crossed zero: a sample point falls inside this block. */
static void __attribute__((noinline)) on_sample_point(void *ptr, size_t size) {
    if (UNLIKELY(G.probing)) {
        /* check_hooks()'s probe allocation reached us: put the countdown back. */
        G.probe_hit = 1;
        G.countdown = G.probe_saved;
        return;
    }
    if (!G.active) {
        G.countdown = INT64_MAX;
        return;
    }
    double over = -(double)G.countdown;
    int drawn_at = W.floor; /* the level this point was drawn at (pacing below may change W.floor) */
    G.countdown = draw_interval(&G.rng, level_mean(W.floor));
    if (UNLIKELY(++W.points - W.points_at_pace >= WATCH_PACE_POINTS)) watch_pace();
    if (G.in_capture || ptr == NULL) return;
    PyThreadState *ts = current_tstate();
    int lasti = 0;
    PyCodeObject *code = ts ? innermost(ts, &lasti) : NULL;
    int slot = code ? watch_slot(code, lasti) : -1;
    int level = W.lmax;
    wentry *e = NULL;
    if (slot >= 0) {
        e = &W.pool[slot];
        e->touched = 1;
        if (e->hits < WATCH_HITS) {
            e->hits++;
        } else {
            level = e->live_level;
            if (e->churn_level > level) level = e->churn_level;
            if (drawn_at > level) level = drawn_at;
        }
    }
    if (level > drawn_at && !thin_keep(over, level, drawn_at)) return;
    G.in_capture = 1;
    rawframe r[MAX_NFRAMES];
    int n = code ? walk_stack(ts, r, G.nframes) : 0;
    uint32_t sid = n ? canonical_stack(r, n) : STACK_UNKNOWN;
    py_record(ptr, size, sid, level, slot);
    G.in_capture = 0;
    if (level < W.lmax && ++W.fine_period > WATCH_FINE_BURST) {
        watch_set_floor(W.floor + 1);
        W.fine_period = 0;
    }
}

static inline void forget(void *ptr) {
    bval v;
    if (bt_take(&bt, (uintptr_t)ptr, &v)) {
        bf_remove(ptr);
        py_unweigh(&v);
    }
}

/* The hooks' fast paths are a decrement, two tests and a tail call into the
 * previous allocator; everything else is out of line. The countdown is taken
 * before the call, so a sample point is known before the block exists. */

static void *__attribute__((noinline)) malloc_slow(hook_t *h, size_t n) {
    void *p;
    if (G.native_attached) {
        G.py_alloc_depth++;
        p = h->prev.malloc(h->prev.ctx, n);
        G.py_alloc_depth--;
    } else {
        p = h->prev.malloc(h->prev.ctx, n);
    }
    if (G.countdown <= 0) on_sample_point(p, n);
    return p;
}

static void *h_malloc(void *ctx, size_t n) {
    hook_t *h = ctx;
    if (LIKELY((G.countdown -= (int64_t)n) > 0) && LIKELY(!G.native_attached)) return h->prev.malloc(h->prev.ctx, n);
    return malloc_slow(h, n);
}

static void *__attribute__((noinline)) calloc_slow(hook_t *h, size_t nelem, size_t elsize) {
    void *p;
    if (G.native_attached) {
        G.py_alloc_depth++;
        p = h->prev.calloc(h->prev.ctx, nelem, elsize);
        G.py_alloc_depth--;
    } else {
        p = h->prev.calloc(h->prev.ctx, nelem, elsize);
    }
    if (G.countdown <= 0) on_sample_point(p, nelem * elsize);
    return p;
}

static void *h_calloc(void *ctx, size_t nelem, size_t elsize) {
    hook_t *h = ctx;
    if (LIKELY((G.countdown -= (int64_t)(nelem * elsize)) > 0) && LIKELY(!G.native_attached))
        return h->prev.calloc(h->prev.ctx, nelem, elsize);
    return calloc_slow(h, nelem, elsize);
}

static void *__attribute__((noinline)) realloc_slow(hook_t *h, void *ptr, size_t n) {
    /* A realloc is a free of the old block and an allocation of the new one. */
    if (ptr && bt.count) forget(ptr);
    void *p;
    if (G.native_attached) {
        G.py_alloc_depth++;
        p = h->prev.realloc(h->prev.ctx, ptr, n);
        G.py_alloc_depth--;
    } else {
        p = h->prev.realloc(h->prev.ctx, ptr, n);
    }
    if (G.countdown <= 0) on_sample_point(p, n);
    return p;
}

static void *h_realloc(void *ctx, void *ptr, size_t n) {
    hook_t *h = ctx;
    if (LIKELY((G.countdown -= (int64_t)n) > 0) && LIKELY(!G.native_attached) &&
        LIKELY(bt.count == 0 || !bfilter[bf_idx(ptr)]))
        return h->prev.realloc(h->prev.ctx, ptr, n);
    return realloc_slow(h, ptr, n);
}

static void __attribute__((noinline)) free_sampled(hook_t *h, void *ptr, size_t slot) {
    bval v = bt.vals[slot];
    bt_delete_slot(&bt, slot);
    bf_remove(ptr);
    py_unweigh(&v);
    h->prev.free(h->prev.ctx, ptr);
}

static void h_free(void *ctx, void *ptr) {
    hook_t *h = ctx;
    if (UNLIKELY(bt.count != 0) && bfilter[bf_idx(ptr)]) {
        /* Inline probe (no key is 0, so NULL simply misses). */
        const uintptr_t *keys = bt.keys;
        size_t mask = bt.cap - 1, i = bt_home(&bt, (uintptr_t)ptr);
        uintptr_t x;
        while ((x = keys[i]) != 0) {
            if (x == (uintptr_t)ptr) {
                free_sampled(h, ptr, i);
                return;
            }
            i = (i + 1) & mask;
        }
    }
    h->prev.free(h->prev.ctx, ptr);
}

static int hook_is_current(hook_t *h) {
    PyMemAllocatorEx cur;
    PyMem_GetAllocator(h->domain, &cur);
    return cur.malloc == h_malloc && cur.ctx == h;
}

static void hook_install(hook_t *h) {
    PyMemAllocatorEx mine = {h, h_malloc, h_calloc, h_realloc, h_free};
    PyMem_GetAllocator(h->domain, &h->prev);
    PyMem_SetAllocator(h->domain, &mine);
    h->installed = 1;
}

/* ------------------------------------------------------------------ free lists
 *
 * CPython keeps the memory of some dead objects on free lists (dicts and their
 * small key tables, lists, tuples, floats) and makes new objects of the same
 * type from it without calling the allocator. A sampled block whose object
 * died onto a free list would stay charged to the line that first allocated
 * it, and grow there like a leak when another line's objects reuse it and are
 * kept. So while sampling, the four types' tp_dealloc is wrapped: when the
 * dying object's block (or a dict's key table) is a sampled block and is still
 * allocated after the type's own dealloc, the object went onto a free list.
 * The block then leaves its site's live figure for the site's free-list figure
 * (still live memory, counted in the heap, found by stack_of_object: the
 * retainer search still finds the objects that reuse it) and counts as freed
 * for the instruction's level. It leaves that figure when the allocator
 * finally frees it. Not seen: objects the interpreter destroys without
 * tp_dealloc (3.11+ specialised float arithmetic frees its float operands with
 * _PyFloat_ExactDealloc), and key tables a dict drops when it grows.
 *
 * Our wrapper is the type's tp_dealloc, so the type's own trashcan (which
 * checks that tp_dealloc is itself) no longer bounds the recursion through
 * deeply nested containers: the wrapper counts its own depth and, past
 * FL_SHALLOW, goes through the trashcan as its own tp_dealloc. */
#define FL_DICT 1u
#define FL_LIST 2u
#define FL_TUPLE 4u
#define FL_FLOAT 8u
#define FL_SHALLOW 32

enum { FLK_DICT, FLK_LIST, FLK_TUPLE, FLK_FLOAT, FLK_N };

typedef struct {
    PyTypeObject *type;
    destructor orig;  /* the type's own tp_dealloc */
    destructor mine;
    uint32_t kind;    /* FL_* */
    int installed;
} fltype;

static fltype flt[FLK_N];
static long fl_depth; /* our wrappers on the C stack (all threads: only ever too high) */
static uint64_t fl_marked;

/* A sampled block's object went onto a free list: move its weight to the site's free-list figure. */
static void fl_mark(size_t slot, uint32_t kind) {
    bval *v = &bt.vals[slot];
    double p = sample_probability((double)bv_size(v), level_mean(meta_level(v->meta)));
    double w = (double)bv_size(v) / p;
    lhstack *s = stack_at(v->stack);
    s->py_bytes -= w;
    s->py_count -= 1.0 / p;
    if (--s->py_samples == 0) s->py_bytes = s->py_count = 0.0;
    s->fl_bytes += w;
    s->fl_count += 1.0 / p;
    s->fl_samples++;
    s->fl_kinds |= kind;
    watch_on_free(v->meta, w);
    v->size |= BV_FREELIST;
    fl_marked++;
}

/* After the type's dealloc: the sampled block at addr, not on a free list yet, is still
 * allocated: the object went onto a free list, not back to the allocator (a block freed
 * and sampled again within the same dealloc is taken for one that stayed, a rare
 * misplacement of one sample between a site's two figures). */
static void __attribute__((noinline)) fl_check(uintptr_t addr, uint32_t kind) {
    size_t slot;
    if (!bt.count || !bt_find(&bt, addr, &slot)) return;
    if (!(bt.vals[slot].size & BV_FREELIST)) fl_mark(slot, kind);
}

/* kind and gc are constants in each wrapper below, so its fast path is the
 * type's dealloc, a depth count and one filter bit. */
#define FL_GC_PRE (2 * sizeof(void *)) /* PyGC_Head before the exact builtin types' objects */

static inline void fl_body(PyObject *op, destructor orig, uint32_t kind, int gc) {
    uintptr_t blk = (uintptr_t)op - (gc ? FL_GC_PRE : 0), keys = 0;
    if (kind == FL_DICT) {
        /* A key table that dies with this dict (it holds the last reference; dk_refcnt comes
         * first) may go onto the key-table free list. Read before the dict is gone. */
        keys = (uintptr_t)((PyDictObject *)op)->ma_keys;
        if (!(keys && flf_maybe(keys) && *(const Py_ssize_t *)keys == 1)) keys = 0;
    }
    orig(op);
    if (UNLIKELY(flf_maybe(blk))) fl_check(blk, kind);
    if (UNLIKELY(keys != 0)) fl_check(keys, FL_DICT);
}

static void __attribute__((noinline)) fl_dealloc_deep(PyObject *op, int k) {
    fltype *t = &flt[k];
    PyObject_GC_UnTrack(op); /* the trashcan may keep it for later (the type's dealloc does this first too) */
    Py_TRASHCAN_BEGIN(op, t->mine)
    fl_depth++;
    fl_body(op, t->orig, t->kind, 1);
    fl_depth--;
    Py_TRASHCAN_END
}

static inline void fl_dealloc_gc(PyObject *op, int k, uint32_t kind) {
    if (UNLIKELY(fl_depth >= FL_SHALLOW)) {
        fl_dealloc_deep(op, k);
        return;
    }
    fl_depth++;
    fl_body(op, flt[k].orig, kind, 1);
    fl_depth--;
}

static void fl_dealloc_dict(PyObject *op) { fl_dealloc_gc(op, FLK_DICT, FL_DICT); }
static void fl_dealloc_list(PyObject *op) { fl_dealloc_gc(op, FLK_LIST, FL_LIST); }
static void fl_dealloc_tuple(PyObject *op) { fl_dealloc_gc(op, FLK_TUPLE, FL_TUPLE); }
static void fl_dealloc_float(PyObject *op) { fl_body(op, flt[FLK_FLOAT].orig, FL_FLOAT, 0); }

static void fl_install(void) {
    if (!flt[0].type) {
        flt[FLK_DICT] = (fltype){&PyDict_Type, NULL, fl_dealloc_dict, FL_DICT, 0};
        flt[FLK_LIST] = (fltype){&PyList_Type, NULL, fl_dealloc_list, FL_LIST, 0};
        flt[FLK_TUPLE] = (fltype){&PyTuple_Type, NULL, fl_dealloc_tuple, FL_TUPLE, 0};
        flt[FLK_FLOAT] = (fltype){&PyFloat_Type, NULL, fl_dealloc_float, FL_FLOAT, 0};
    }
    for (int k = 0; k < FLK_N; k++) {
        fltype *t = &flt[k];
        /* Still in the chain (someone wrapped us after a stop): keep that chain. */
        if (t->installed || t->type->tp_dealloc == t->mine) continue;
        t->orig = t->type->tp_dealloc;
        t->type->tp_dealloc = t->mine;
        t->installed = 1;
    }
}

static void fl_uninstall(void) {
    for (int k = 0; k < FLK_N; k++) {
        fltype *t = &flt[k];
        /* Only when we are on top; otherwise whoever wrapped us still calls ours, which passes through. */
        if (t->installed && t->type->tp_dealloc == t->mine) {
            t->type->tp_dealloc = t->orig;
            t->installed = 0;
        }
    }
}

/* ------------------------------------------------------------------ native (shim) samples */

static btable nbt; /* malloc-level samples (native_lock) */
static double nat_live_bytes, nat_live_count;
static uint64_t nat_samples_total;

static void nat_unweigh_locked(const bval *v, double m) {
    double p = sample_probability((double)v->size, m);
    lhstack *s = stack_at(v->stack);
    s->nat_bytes -= (double)v->size / p;
    s->nat_count -= 1.0 / p;
    s->nat_samples--;
    nat_live_bytes -= (double)v->size / p;
    nat_live_count -= 1.0 / p;
    if (s->nat_samples == 0) s->nat_bytes = s->nat_count = 0.0;
    if (nbt.count == 0) nat_live_bytes = nat_live_count = 0.0;
}

/* Called by the shim (any thread, GIL or not) for a sampled block. */
static int shim_on_alloc(void *ptr, size_t size, double mean) {
    uint32_t sid = STACK_UNKNOWN;
    /* Memory that a Python allocator asked malloc for is counted by the
     * Python hooks already (py_alloc_depth is only meaningful for the thread
     * holding the GIL). */
    if (G.py_alloc_depth > 0 && PyGILState_Check()) return 0;
    PyThreadState *ts = PyGILState_GetThisThreadState();
    if (ts) {
        rawframe r[MAX_NFRAMES];
        int n = walk_stack(ts, r, G.nframes);
        if (n) sid = canonical_stack(r, n);
    }
    pthread_mutex_lock(&native_lock);
    bval v = {.size = size, .stack = sid}, old;
    int res = bt_put(&nbt, (uintptr_t)ptr, v, &old);
    if (res < 0) {
        nbt.drops++;
    } else {
        if (res == 1) nat_unweigh_locked(&old, mean);
        double p = sample_probability((double)size, mean);
        lhstack *s = stack_at(sid);
        s->nat_bytes += (double)size / p;
        s->nat_count += 1.0 / p;
        s->nat_samples++;
        nat_live_bytes += (double)size / p;
        nat_live_count += 1.0 / p;
        nat_samples_total++;
    }
    pthread_mutex_unlock(&native_lock);
    return res >= 0;
}

/* Called by the shim when a block that it sampled is freed. */
static int shim_on_free(void *ptr, double mean) {
    int found = 0;
    pthread_mutex_lock(&native_lock);
    bval v;
    if (nbt.count && bt_take(&nbt, (uintptr_t)ptr, &v)) {
        nat_unweigh_locked(&v, mean);
        found = 1;
    }
    pthread_mutex_unlock(&native_lock);
    return found;
}

static const lh_sampler_callbacks shim_callbacks = {LH_SHIM_ABI, shim_on_alloc, shim_on_free};

static void shim_connect(void) {
    if (shim) return;
    lh_shim_get_api_fn get = (lh_shim_get_api_fn)dlsym(RTLD_DEFAULT, "leakhound_shim_api");
    if (!get) return;
    const lh_shim_api *api = get();
    if (!api || api->abi != LH_SHIM_ABI) return;
    shim = api;
}

/* ------------------------------------------------------------------ fork */

static void atfork_child(void) {
    pthread_mutex_init(&stack_lock, NULL);
    pthread_mutex_init(&native_lock, NULL);
    G.rng = seed_value();
    if (G.active) G.countdown = draw_interval(&G.rng, level_mean(W.floor));
}

/* ------------------------------------------------------------------ Python API */

static PyObject *lh_start(PyObject *self, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"sample_bytes", "nframes", "max_samples", "native", "levels", NULL};
    double mean = 512.0 * 1024;
    int nframes = 16;
    Py_ssize_t max_samples = DEFAULT_MAX_SAMPLES;
    int native = 1;
    int levels = WATCH_LEVELS;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|dinpi", kwlist, &mean, &nframes, &max_samples, &native, &levels))
        return NULL;
    if (levels < 1 || levels > WATCH_LEVELS) {
        PyErr_Format(PyExc_ValueError, "levels must be 1 to %d", WATCH_LEVELS);
        return NULL;
    }
    if (!(mean >= 1.0)) {
        PyErr_SetString(PyExc_ValueError, "sample_bytes must be >= 1");
        return NULL;
    }
    if (nframes < 1) nframes = 1;
    if (nframes > MAX_NFRAMES) nframes = MAX_NFRAMES;
    if (max_samples < 16) max_samples = 16;
    if (stacks_init() < 0) return PyErr_NoMemory();
    if (G.active) Py_RETURN_NONE;
    if (bt.count) {
        /* A restart: weights used the previous mean, start clean. */
        py_table_clear();
        uint32_t n = stack_count;
        for (uint32_t id = 0; id < n; id++) {
            lhstack *s = stack_at(id);
            s->py_bytes = s->py_count = s->fl_bytes = s->fl_count = 0.0;
            s->py_samples = s->fl_samples = 0;
            s->fl_kinds = 0;
        }
        G.live_bytes = G.live_count = 0.0;
    }
    G.mean = mean;
    G.nframes = nframes;
    watch_levels = levels;
    bt.limit = (size_t)max_samples;
    nbt.limit = (size_t)max_samples;
    watch_reset(G.mean);
    if (!G.rng) G.rng = seed_value();
    G.countdown = draw_interval(&G.rng, level_mean(W.floor));
    for (int i = 0; i < 2; i++) {
        /* Still in the chain (someone wrapped us after a stop): keep that chain. */
        if (!hooks[i].installed) hook_install(&hooks[i]);
    }
    fl_install();
    G.active = 1;
    if (native) {
        shim_connect();
        if (shim) {
            shim->attach(&shim_callbacks, G.mean);
            G.native_attached = 1;
        }
    }
    Py_RETURN_NONE;
}

static PyObject *lh_stop(PyObject *self, PyObject *unused) {
    if (shim && G.native_attached) {
        shim->detach();
        G.native_attached = 0;
        pthread_mutex_lock(&native_lock);
        bt_clear(&nbt);
        uint32_t n = stack_count;
        for (uint32_t id = 0; id < n; id++) {
            lhstack *s = stack_at(id);
            s->nat_bytes = s->nat_count = 0.0;
            s->nat_samples = 0;
        }
        nat_live_bytes = nat_live_count = 0.0;
        pthread_mutex_unlock(&native_lock);
    }
    G.active = 0;
    G.countdown = INT64_MAX;
    fl_uninstall();
    for (int i = 0; i < 2; i++) {
        hook_t *h = &hooks[i];
        /* Only unhook when we are on top; otherwise whoever wrapped us still
         * calls our hooks, which now just pass through. */
        if (h->installed && hook_is_current(h)) {
            PyMem_SetAllocator(h->domain, &h->prev);
            h->installed = 0;
        }
    }
    py_table_clear();
    uint32_t n = stack_count;
    for (uint32_t id = 0; id < n; id++) {
        lhstack *s = stack_at(id);
        s->py_bytes = s->py_count = s->fl_bytes = s->fl_count = 0.0;
        s->py_samples = s->fl_samples = 0;
        s->fl_kinds = 0;
    }
    G.live_bytes = G.live_count = 0.0;
    Py_RETURN_NONE;
}

/* Whether our hook for a domain is still in its allocator chain (on top or
 * wrapped by someone, e.g. a tracemalloc started after us): a probe
 * allocation must reach it. When it does not (a tracemalloc that was tracing
 * before we started has stopped and put back the allocators it had saved),
 * install ourselves again on top of whatever is there now. */
static int check_hooks(void) {
    int lost = 0;
    if (!G.active) return 0;
    int was = G.in_capture;
    G.in_capture = 1;
    for (int i = 0; i < 2; i++) {
        hook_t *h = &hooks[i];
        if (!h->installed || hook_is_current(h)) continue;
        G.probe_saved = G.countdown;
        G.countdown = 0;
        G.probe_hit = 0;
        G.probing = 1;
        void *p = h->domain == PYMEM_DOMAIN_OBJ ? PyObject_Malloc(1) : PyMem_Malloc(1);
        G.probing = 0;
        int reached = G.probe_hit;
        if (!reached) G.countdown = G.probe_saved;
        if (h->domain == PYMEM_DOMAIN_OBJ) PyObject_Free(p);
        else PyMem_Free(p);
        if (!reached) {
            hook_install(h);
            lost = 1;
        }
    }
    G.in_capture = was;
    if (lost) G.hooks_lost++;
    return lost;
}

typedef struct {
    uint32_t id, fl_kinds;
    double bytes, count, fl_bytes;
} siterow;

/* Copies the live aggregates (native ones under native_lock): no Python
 * call may run while one of our locks is held, since it can allocate. */
static siterow *collect_rows(int native, size_t *nrows, double *total_bytes, double *total_count) {
    uint32_t n = __atomic_load_n(&stack_count, __ATOMIC_ACQUIRE);
    siterow *out = sys_malloc((n ? n : 1) * sizeof(siterow));
    *nrows = 0;
    *total_bytes = *total_count = 0.0;
    if (!out) return NULL;
    if (native) pthread_mutex_lock(&native_lock);
    for (uint32_t id = 0; id < n; id++) {
        lhstack *s = stack_at(id);
        int64_t k = native ? s->nat_samples : s->py_samples + s->fl_samples;
        if (k <= 0) continue;
        siterow *r = &out[(*nrows)++];
        r->id = id;
        /* Python sites: the free-list figure is part of the live one (memory still allocated). */
        r->bytes = native ? s->nat_bytes : s->py_bytes + s->fl_bytes;
        r->count = native ? s->nat_count : s->py_count + s->fl_count;
        r->fl_bytes = native ? 0.0 : s->fl_bytes;
        r->fl_kinds = native ? 0u : s->fl_kinds;
        *total_bytes += r->bytes;
        *total_count += r->count;
    }
    if (native) pthread_mutex_unlock(&native_lock);
    return out;
}

static PyObject *rows_of(int native, int free_lists, double *total_bytes, double *total_count) {
    size_t n;
    siterow *rs = collect_rows(native, &n, total_bytes, total_count);
    if (!rs) return PyErr_NoMemory();
    PyObject *rows = PyList_New((Py_ssize_t)n);
    for (size_t i = 0; rows && i < n; i++) {
        PyObject *t = !free_lists ? Py_BuildValue("(ILL)", rs[i].id, (long long)(rs[i].bytes + 0.5), (long long)(rs[i].count + 0.5))
                             : Py_BuildValue("(ILLLI)", rs[i].id, (long long)(rs[i].bytes + 0.5),
                                             (long long)(rs[i].count + 0.5), (long long)(rs[i].fl_bytes + 0.5), rs[i].fl_kinds);
        if (!t) {
            Py_CLEAR(rows);
            break;
        }
        PyList_SET_ITEM(rows, (Py_ssize_t)i, t);
    }
    sys_free(rs);
    return rows;
}

static PyObject *lh_snapshot(PyObject *self, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"free_lists", NULL};
    int free_lists = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|p", kwlist, &free_lists)) return NULL;
    check_hooks();
    if (G.active) watch_rebalance();
    flf_rebuild();
    double pyb, pyc, nb = 0, nc = 0;
    int was = G.in_capture;
    G.in_capture = 1; /* our own result lists are not the program's allocations */
    PyObject *rows = rows_of(0, free_lists, &pyb, &pyc);
    PyObject *nrows = NULL;
    if (rows && G.native_attached) {
        nrows = rows_of(1, 0, &nb, &nc);
        if (!nrows) Py_CLEAR(rows);
    }
    G.in_capture = was;
    if (!rows) return NULL;
    if (!nrows) {
        nrows = Py_None;
        Py_INCREF(nrows);
    }
    return Py_BuildValue("(NLLN)", rows, (long long)(pyb + 0.5), (long long)(pyc + 0.5), nrows);
}

static PyObject *lh_stack_frames(PyObject *self, PyObject *arg) {
    unsigned long id = PyLong_AsUnsignedLong(arg);
    if (id == (unsigned long)-1 && PyErr_Occurred()) return NULL;
    uint32_t n = __atomic_load_n(&stack_count, __ATOMIC_ACQUIRE);
    if (id >= n || !stack_chunks[0]) {
        PyErr_SetString(PyExc_KeyError, "unknown stack id");
        return NULL;
    }
    if (id == STACK_OVERFLOW) return Py_BuildValue("[(sis)]", "<leakhound>", 0, "<stack table full>");
    lhstack *s = stack_at((uint32_t)id);
    lhframe copy[MAX_NFRAMES];
    uint32_t depth = s->depth;
    pthread_mutex_lock(&stack_lock); /* frames.items may move while another thread interns */
    for (uint32_t k = 0; k < depth; k++) copy[k] = frames.items[s->frames[k]];
    pthread_mutex_unlock(&stack_lock);
    /* Strings are never freed or moved: safe to read without the lock. */
    PyObject *out = PyList_New(depth);
    if (!out) return NULL;
    for (uint32_t k = 0; k < depth; k++) {
        lhframe *f = &copy[k];
        PyObject *fn = PyUnicode_DecodeUTF8(f->file->s, f->file->len, "replace");
        PyObject *fu = fn ? PyUnicode_DecodeUTF8(f->func->s, f->func->len, "replace") : NULL;
        PyObject *t = (fn && fu) ? Py_BuildValue("(OiO)", fn, f->line, fu) : NULL;
        Py_XDECREF(fn);
        Py_XDECREF(fu);
        if (!t) {
            Py_DECREF(out);
            return NULL;
        }
        PyList_SET_ITEM(out, k, t);
    }
    return out;
}

static PyObject *stack_of(uintptr_t addr) {
    size_t slot;
    if (bt.count && bt_find(&bt, addr, &slot)) return PyLong_FromUnsignedLong(bt.vals[slot].stack);
    Py_RETURN_NONE;
}

static PyObject *lh_stack_of_address(PyObject *self, PyObject *arg) {
    uintptr_t addr = (uintptr_t)PyLong_AsVoidPtr(arg);
    if (PyErr_Occurred()) return NULL;
    return stack_of(addr);
}

/* Bytes between the start of an object's memory block and the object. */
static inline size_t preheader_size(PyTypeObject *tp) {
    size_t n = PyType_IS_GC(tp) ? 2 * sizeof(void *) /* PyGC_Head */ : 0;
#if PY_VERSION_HEX >= 0x030C0000
    if (PyType_HasFeature(tp, Py_TPFLAGS_PREHEADER)) n += 2 * sizeof(PyObject *);
#elif PY_VERSION_HEX >= 0x030B0000
    if (PyType_HasFeature(tp, Py_TPFLAGS_MANAGED_DICT)) n += 2 * sizeof(PyObject *);
#endif
    return n;
}

static PyObject *lh_stack_of_object(PyObject *self, PyObject *obj) {
    if (!bt.count) Py_RETURN_NONE;
    uintptr_t addr = (uintptr_t)obj - preheader_size(Py_TYPE(obj));
    size_t slot;
    if (bt_find(&bt, addr, &slot)) return PyLong_FromUnsignedLong(bt.vals[slot].stack);
    Py_RETURN_NONE;
}

/* tracemalloc's traceback of the block holding an object, the block found as the
 * sampler finds it (tracemalloc._get_object_traceback misses the pre-header of
 * managed-dict instances on 3.11). A raw tuple like tracemalloc's, or None. */
static PyObject *lh_tracemalloc_traceback_of(PyObject *self, PyObject *obj) {
#if PY_VERSION_HEX < 0x030D0000
    uintptr_t addr = (uintptr_t)obj - preheader_size(Py_TYPE(obj));
    return _PyTraceMalloc_GetTraceback(0, addr);
#else
    PyErr_SetString(PyExc_NotImplementedError, "use tracemalloc._get_object_traceback");
    return NULL;
#endif
}

static PyObject *lh_preheader_size(PyObject *self, PyObject *obj) {
    return PyLong_FromSize_t(preheader_size(Py_TYPE(obj)));
}

static PyObject *lh_reset_after_fork(PyObject *self, PyObject *unused) {
    py_table_clear();
    uint32_t n = stack_count;
    for (uint32_t id = 0; id < n; id++) {
        lhstack *s = stack_at(id);
        s->py_bytes = s->py_count = s->nat_bytes = s->nat_count = s->fl_bytes = s->fl_count = 0.0;
        s->py_samples = s->nat_samples = s->fl_samples = 0;
        s->fl_kinds = 0;
    }
    G.live_bytes = G.live_count = 0.0;
    pthread_mutex_lock(&native_lock);
    bt_clear(&nbt);
    nat_live_bytes = nat_live_count = 0.0;
    pthread_mutex_unlock(&native_lock);
    if (shim) shim->reset();
    watch_reset(G.mean);
    G.rng = seed_value();
    if (G.active) G.countdown = draw_interval(&G.rng, level_mean(W.floor));
    Py_RETURN_NONE;
}

static PyObject *lh_stats(PyObject *self, PyObject *unused) {
    int on_top = hooks[0].installed && hook_is_current(&hooks[0]) && hooks[1].installed && hook_is_current(&hooks[1]);
    pthread_mutex_lock(&native_lock);
    size_t nat_live = nbt.count;
    uint64_t nat_drops = nbt.drops, nat_total = nat_samples_total;
    double nlb = nat_live_bytes;
    pthread_mutex_unlock(&native_lock);
    size_t own = __atomic_load_n(&own_bytes, __ATOMIC_RELAXED);
    return Py_BuildValue(
        "{s:i,s:i,s:i,s:d,s:i,s:K,s:n,s:n,s:K,s:I,s:n,s:n,s:n,s:K,s:K,s:n,s:L,s:L,s:i,s:n,s:K,s:K,s:L,s:d,s:I,s:i,s:K,s:K,s:K,s:i}",
        "active", G.active, "installed", hooks[0].installed && hooks[1].installed, "on_top", on_top,
        "sample_bytes", G.mean, "nframes", G.nframes,
        "samples", (unsigned long long)G.samples, "live_samples", (Py_ssize_t)bt.count, "table_capacity",
        (Py_ssize_t)bt.cap, "drops", (unsigned long long)bt.drops, "stacks", (unsigned int)stack_count, "frames",
        (Py_ssize_t)frames.count, "strings", (Py_ssize_t)strings.count, "frame_cache", (Py_ssize_t)fcache.count,
        "frame_cache_flushes", (unsigned long long)fcache.flushes, "hooks_lost", (unsigned long long)G.hooks_lost,
        "own_bytes", (Py_ssize_t)own, "live_bytes", (long long)(G.live_bytes + 0.5), "live_count",
        (long long)(G.live_count + 0.5), "native", shim != NULL, "native_live_samples", (Py_ssize_t)nat_live,
        "native_samples", (unsigned long long)nat_total, "native_drops", (unsigned long long)nat_drops,
        "native_live_bytes", (long long)(nlb + 0.5), "fine_bytes", W.tmin, "watched", (unsigned int)W.count,
        "watch_floor", W.floor, "watch_evictions", (unsigned long long)W.evictions, "sample_points",
        (unsigned long long)W.points, "free_list_marked", (unsigned long long)fl_marked, "free_list_hooks",
        flt[FLK_DICT].installed + flt[FLK_LIST].installed + flt[FLK_TUPLE].installed + flt[FLK_FLOAT].installed);
}

static PyObject *lh_is_active(PyObject *self, PyObject *unused) { return PyBool_FromLong(G.active); }

/* The finest sampling interval that start(sample_bytes=mean) uses. */
static PyObject *lh_fine_bytes(PyObject *self, PyObject *arg) {
    double mean = PyFloat_AsDouble(arg);
    if (mean == -1.0 && PyErr_Occurred()) return NULL;
    return PyFloat_FromDouble(mean / (double)(1 << top_level_for(mean, WATCH_LEVELS)));
}

/* ------------------------------------------------------------------ the host socket
 *
 * The agent's connection to the host without importing socket/_socket (their
 * module and shared object cost the target ~180 KB of resident memory). The fd
 * is non-blocking and close-on-exec; every wait is a poll() with the GIL
 * released; send uses MSG_NOSIGNAL, so a host that went away never raises
 * SIGPIPE in a target that restored its default action. Errors are OSError
 * (TimeoutError on a timeout); the caller closes the fd with os.close. */

static double now_mono(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Waits for `events` until the deadline; 1 ready, 0 timed out, -1 error (errno). GIL released. */
static int wait_fd(int fd, short events, double deadline) {
    for (;;) {
        double left = deadline - now_mono();
        if (left <= 0) return 0;
        struct pollfd pfd = {fd, events, 0};
        int r;
        Py_BEGIN_ALLOW_THREADS
        r = poll(&pfd, 1, (int)(left * 1000.0) + 1);
        Py_END_ALLOW_THREADS
        if (r > 0) return 1;
        if (r < 0 && errno != EINTR) return -1;
    }
}

static PyObject *timeout_error(void) {
    PyErr_SetString(PyExc_TimeoutError, "timed out");
    return NULL;
}

static PyObject *lh_unix_connect(PyObject *self, PyObject *args) {
    PyObject *path_obj;
    double timeout;
    if (!PyArg_ParseTuple(args, "O&d", PyUnicode_FSConverter, &path_obj, &timeout)) return NULL;
    struct sockaddr_un addr;
    memset(&addr, 0, sizeof(addr));
    addr.sun_family = AF_UNIX;
    Py_ssize_t n = PyBytes_GET_SIZE(path_obj);
    if (n <= 0 || (size_t)n >= sizeof(addr.sun_path)) {
        Py_DECREF(path_obj);
        PyErr_SetString(PyExc_OSError, "socket path too long");
        return NULL;
    }
    memcpy(addr.sun_path, PyBytes_AS_STRING(path_obj), (size_t)n);
    Py_DECREF(path_obj);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return PyErr_SetFromErrno(PyExc_OSError);
    int r;
    Py_BEGIN_ALLOW_THREADS
    r = connect(fd, (struct sockaddr *)&addr, sizeof(addr));
    Py_END_ALLOW_THREADS
    if (r < 0 && (errno == EINPROGRESS || errno == EAGAIN)) {
        int ready = wait_fd(fd, POLLOUT, now_mono() + timeout);
        int err = 0;
        socklen_t len = sizeof(err);
        if (ready == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0) {
            r = err ? -1 : 0;
            if (err) errno = err;
        } else {
            r = -1;
            if (ready == 0) {
                close(fd);
                return timeout_error();
            }
        }
    }
    if (r < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    return PyLong_FromLong(fd);
}

static PyObject *lh_send_all(PyObject *self, PyObject *args) {
    int fd;
    Py_buffer buf;
    double timeout;
    if (!PyArg_ParseTuple(args, "iy*d", &fd, &buf, &timeout)) return NULL;
    const char *p = buf.buf;
    size_t left = (size_t)buf.len;
    double deadline = now_mono() + timeout;
    while (left > 0) {
        ssize_t w;
        Py_BEGIN_ALLOW_THREADS
        w = send(fd, p, left, MSG_NOSIGNAL | MSG_DONTWAIT);
        Py_END_ALLOW_THREADS
        if (w > 0) {
            p += w;
            left -= (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int ready = wait_fd(fd, POLLOUT, deadline);
            if (ready == 1) continue;
            PyBuffer_Release(&buf);
            return ready == 0 ? timeout_error() : PyErr_SetFromErrno(PyExc_OSError);
        }
        PyBuffer_Release(&buf);
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    PyBuffer_Release(&buf);
    Py_RETURN_NONE;
}

static PyObject *lh_recv(PyObject *self, PyObject *args) {
    int fd;
    Py_ssize_t n;
    double timeout;
    if (!PyArg_ParseTuple(args, "ind", &fd, &n, &timeout)) return NULL;
    if (n <= 0) return PyBytes_FromStringAndSize(NULL, 0);
    int ready = wait_fd(fd, POLLIN, now_mono() + timeout);
    if (ready == 0) return timeout_error();
    if (ready < 0) return PyErr_SetFromErrno(PyExc_OSError);
    PyObject *out = PyBytes_FromStringAndSize(NULL, n);
    if (!out) return NULL;
    ssize_t r;
    for (;;) {
        Py_BEGIN_ALLOW_THREADS
        r = recv(fd, PyBytes_AS_STRING(out), (size_t)n, MSG_DONTWAIT);
        Py_END_ALLOW_THREADS
        if (r >= 0 || errno != EINTR) break;
    }
    if (r < 0) {
        Py_DECREF(out);
        if (errno == EAGAIN || errno == EWOULDBLOCK) return timeout_error();
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    if (_PyBytes_Resize(&out, r) < 0) return NULL;
    return out;
}

static PyMethodDef methods[] = {
    {"start", (PyCFunction)(void (*)(void))lh_start, METH_VARARGS | METH_KEYWORDS,
     "start(sample_bytes=524288, nframes=16, max_samples=1048576, native=True)"},
    {"stop", lh_stop, METH_NOARGS, "Stop sampling; unhook when our hooks are on top."},
    {"snapshot", (PyCFunction)(void (*)(void))lh_snapshot, METH_VARARGS | METH_KEYWORDS,
     "snapshot(free_lists=False) -> (rows, live_bytes, live_count, native_rows|None); rows: [(stack_id, est_bytes, "
     "est_count)], with free_lists: [(stack_id, est_bytes, est_count, free_list_bytes, free_list_kinds)] (the "
     "free-list bytes are part of est_bytes)"},
    {"stack_frames", lh_stack_frames, METH_O, "[(filename, lineno, function)] innermost first"},
    {"stack_of_address", lh_stack_of_address, METH_O, "stack id of the sampled block at an address, or None"},
    {"stack_of_object", lh_stack_of_object, METH_O, "stack id of the sampled block holding an object, or None"},
    {"preheader_size", lh_preheader_size, METH_O, "bytes between an object's block start and the object"},
    {"tracemalloc_traceback_of", lh_tracemalloc_traceback_of, METH_O,
     "tracemalloc's raw traceback of the block holding an object (pre-header included), or None"},
    {"reset_after_fork", lh_reset_after_fork, METH_NOARGS, "forget the parent's samples (in a forked child)"},
    {"stats", lh_stats, METH_NOARGS, "counters and table sizes"},
    {"is_active", lh_is_active, METH_NOARGS, NULL},
    {"fine_bytes", lh_fine_bytes, METH_O, NULL},
    {"unix_connect", lh_unix_connect, METH_VARARGS, "unix_connect(path, timeout) -> fd (non-blocking, close-on-exec)"},
    {"send_all", lh_send_all, METH_VARARGS, "send_all(fd, data, timeout): all of data, MSG_NOSIGNAL"},
    {"recv", lh_recv, METH_VARARGS, "recv(fd, n, timeout) -> bytes (b'' at end of stream)"},
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
