/* _lhsampler, objects that die onto CPython's free lists (tp_dealloc wrappers).
 * Included by lhsampler.c in order (one compilation unit); not a header to include elsewhere. */

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
 * (still live memory, counted in the heap) and counts as freed for the
 * instruction's level. The retainer search does not match it (bt_find_own):
 * an object that reuses it was made by another line (a module's list made
 * from a query's dead one read as that query's leak), except for the stacks
 * the host names (count_free_listed): leaks that are such memory, whose
 * story is where it went. It leaves that figure when the allocator
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
