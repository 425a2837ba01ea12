/* _lhsampler, the (code, offset) -> frame cache.
 * Included by lhsampler.c in order (one compilation unit); not a header to include elsewhere. */

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
