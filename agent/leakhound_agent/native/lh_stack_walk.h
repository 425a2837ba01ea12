/* _lhsampler, frames, stack ids and walking the Python stack (the per-version frame layouts, 3.8-3.13).
 * Included by lhsampler.c in order (one compilation unit); not a header to include elsewhere. */

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
