/* _lhsampler, owners of sampled native blocks: the Python objects whose memory points to them.
 * Included by lhsampler.c in order (one compilation unit); not a header to include elsewhere.
 *
 * A malloc block sampled by the shim (the `nbt` table) is owned by a Python object when the
 * object's own memory holds its address: an ndarray's data pointer, a compressor's stream
 * state. The retainer search asks, for each object it visited, which sampled block of the
 * stacks it explains the object points to (owner_of), and for the owners it found, which
 * blocks and how big (owned).
 *
 * What is read (nothing of objects laid out by a core type: builtins and the classes over them hold
 * Python objects and memory of Python's own allocators, never a C library's malloc blocks):
 *   - the object's body, [obj + header, obj + tp_basicsize + |ob_size| * tp_itemsize), the
 *     variable part capped at OW_VAR_CAP bytes and skipped for ints (whose ob_size is not a
 *     length from 3.12), a static type's only as long as a PyTypeObject (its type's basicsize is
 *     a heap type's): memory the object's allocation holds. Each aligned word is looked up
 *     in a private copy of the requested stacks' sampled blocks (owners_begin), no lock held.
 *   - chains, for objects of extension types only (not core types, whose pointers lead to
 *     Python objects or their storage): a word that looks like a glibc malloc chunk (its size
 *     header sane) is read, up to OW_CHUNK_WORDS words, and its words looked up in turn, up to
 *     OW_DEPTH blocks deep and OW_READS reads per object (a PIL image object -> its Imaging
 *     struct -> its line table -> the pixel block; a zlib stream -> its state -> its window).
 *     Those blocks are not known to be allocated, so they are never dereferenced: they are
 *     copied with process_vm_readv on this process, which fails (EFAULT) on unmapped memory
 *     instead of faulting, and what was read is only compared with block addresses. A type
 *     whose first OW_LEARN objects led nowhere through chains is not chained again in that
 *     pass, and a pass does at most OW_MAX_READS reads.
 * Nothing here calls Python code or takes a reference.
 */

#include <sys/uio.h>

#define OW_VAR_CAP 4096       /* bytes of an object's variable part scanned */
#define OW_CHUNK_WORDS 64     /* words read from a block on a chain */
#define OW_DEPTH 3            /* blocks on a chain */
#define OW_READS 24           /* chained blocks read per object */
#define OW_LEARN 64           /* objects of a type tried before chains are given up for it */
#define OW_MAX_READS (1u << 20)
#define OW_MAX_CHUNK ((uint64_t)1 << 30)

typedef struct {
    uintptr_t key;
    uint64_t size;
    uint32_t stack;
} oblock;

typedef struct {
    PyTypeObject *tp;
    uint32_t tried, hits;
    int scan; /* 1: its C layout is an extension type's; 0: a core type's (never read) */
} otype;

static struct {
    int active;
    oblock *slots; /* open addressing on key (0: empty) */
    size_t cap;
    int shift;
    size_t n;
    uintptr_t lo, hi;
    double mean;
    otype *types; /* chain learning per type */
    size_t tcap, tcount;
    uint64_t reads, read_failures, chain_hits, direct_hits;
    int can_read;
    pid_t pid;
    destructor subtype_dealloc;
} OW;

static inline size_t ow_home(uintptr_t k) { return (size_t)((((uint64_t)k >> 4) * 0x9E3779B97F4A7C15ULL) >> OW.shift); }

static const oblock *ow_find(uintptr_t k) {
    if (k < OW.lo || k > OW.hi) return NULL;
    size_t mask = OW.cap - 1, i = ow_home(k);
    for (;;) {
        const oblock *b = &OW.slots[i];
        if (b->key == k) return b;
        if (!b->key) return NULL;
        i = (i + 1) & mask;
    }
}

static void ow_free(void) {
    sys_free(OW.slots);
    sys_free(OW.types);
    OW.slots = NULL;
    OW.types = NULL;
    OW.cap = OW.n = OW.tcap = OW.tcount = 0;
    OW.active = 0;
}

/* Core types whose objects never own malloc blocks of a C library (chains are not followed from them). */
static int ow_core_type(PyTypeObject *tp) {
    static PyTypeObject *const core[] = {
        &PyBaseObject_Type, &PyList_Type,    &PyDict_Type,     &PyTuple_Type,        &PySet_Type,
        &PyFrozenSet_Type,  &PyUnicode_Type, &PyBytes_Type,    &PyByteArray_Type,    &PyLong_Type,
        &PyFloat_Type,      &PyComplex_Type, &PyFunction_Type, &PyCode_Type,         &PyFrame_Type,
        &PyCell_Type,       &PyModule_Type,  &PyType_Type,     &PyMethod_Type,       &PyCFunction_Type,
        &PyProperty_Type,   &PyBool_Type,    &PySlice_Type,    &PyRange_Type,        &PyMemoryView_Type,
        &PyGen_Type,        &PyCoro_Type,    &PyDictProxy_Type, &_PyWeakref_RefType, &PyWrapperDescr_Type,
        &PyMethodDescr_Type, &PyMemberDescr_Type, &PyGetSetDescr_Type, &PyClassMethodDescr_Type,
        &PyStaticMethod_Type, &PyClassMethod_Type, &PyTraceBack_Type, &PySeqIter_Type, &PyEnum_Type,
    };
    for (size_t i = 0; i < sizeof(core) / sizeof(core[0]); i++)
        if (tp == core[i]) return 1;
    return 0;
}

/* The type whose C code laid the object out: past the classes (subtype_dealloc) to the first C base. */
static PyTypeObject *ow_solid(PyTypeObject *tp) {
    while (tp && OW.subtype_dealloc && tp->tp_dealloc == OW.subtype_dealloc && tp->tp_base) tp = tp->tp_base;
    return tp;
}

static otype *ow_type(PyTypeObject *tp) {
    if (OW.tcount * 2 >= OW.tcap) {
        size_t ncap = OW.tcap ? OW.tcap * 2 : 256;
        otype *nt = sys_calloc(ncap, sizeof(otype));
        if (!nt) return NULL;
        for (size_t i = 0; i < OW.tcap; i++) {
            if (!OW.types[i].tp) continue;
            size_t j = (size_t)(((uintptr_t)OW.types[i].tp >> 4) * 0x9E3779B97F4A7C15ULL) & (ncap - 1);
            while (nt[j].tp) j = (j + 1) & (ncap - 1);
            nt[j] = OW.types[i];
        }
        sys_free(OW.types);
        OW.types = nt;
        OW.tcap = ncap;
    }
    size_t mask = OW.tcap - 1, i = (size_t)(((uintptr_t)tp >> 4) * 0x9E3779B97F4A7C15ULL) & mask;
    while (OW.types[i].tp && OW.types[i].tp != tp) i = (i + 1) & mask;
    if (!OW.types[i].tp) {
        PyTypeObject *solid = ow_solid(tp);
        OW.types[i].tp = tp;
        OW.types[i].scan = solid && !ow_core_type(solid);
        OW.tcount++;
    }
    return &OW.types[i];
}

/* Copies n bytes at addr, or fails: never faults on unmapped memory. */
static int ow_read(uintptr_t addr, void *out, size_t n) {
    if (!OW.can_read || OW.reads >= OW_MAX_READS) return 0;
    OW.reads++;
    struct iovec local = {out, n}, remote = {(void *)addr, n};
    ssize_t got = process_vm_readv(OW.pid, &local, 1, &remote, 1, 0);
    if (got == (ssize_t)n) return 1;
    if (got < 0 && (errno == ENOSYS || errno == EPERM)) OW.can_read = 0; /* not allowed here: no chains */
    OW.read_failures++;
    return 0;
}

/* A pointer worth following: aligned like malloc's blocks, in user space, not a known block. */
static inline int ow_candidate(uintptr_t w) { return w >= 65536 && (w & 15) == 0 && w < ((uintptr_t)1 << 47); }

typedef struct {
    uint32_t stack[OW_READS + 64];
    uintptr_t key[OW_READS + 64];
    uint64_t size[OW_READS + 64];
    uint8_t depth[OW_READS + 64]; /* 0: in the object's own memory; 1..OW_DEPTH: that many blocks away */
    int n;
} ohits;

static void ow_hit(ohits *h, const oblock *b, int depth) {
    for (int i = 0; i < h->n; i++)
        if (h->key[i] == b->key) return;
    if (h->n >= (int)(sizeof(h->key) / sizeof(h->key[0]))) return;
    h->key[h->n] = b->key;
    h->stack[h->n] = b->stack;
    h->size[h->n] = b->size;
    h->depth[h->n] = (uint8_t)depth;
    h->n++;
}

/* Looks the words up; with `next`, collects the ones worth following (the blocks found too: their
 * own pointers may lead to more). Returns hits found. */
static int ow_scan(const uintptr_t *w, size_t nw, int depth, ohits *h, int first_only, uintptr_t *next, int *nnext,
                   int maxnext) {
    int found = 0;
    for (size_t i = 0; i < nw; i++) {
        uintptr_t x = w[i];
        const oblock *b = ow_find(x);
        if (b) {
            ow_hit(h, b, depth);
            found++;
            if (first_only) return found;
        }
        if (next && *nnext < maxnext && ow_candidate(x)) {
            int dup = 0;
            for (int j = 0; j < *nnext && !dup; j++) dup = next[j] == x;
            if (!dup) next[(*nnext)++] = x;
        }
    }
    return found;
}

/* The sampled blocks an object points to (first_only: stop at the first). */
static void ow_object(PyObject *obj, ohits *h, int first_only) {
    h->n = 0;
    PyTypeObject *tp = Py_TYPE(obj);
    /* Objects laid out by a core type (builtins, and classes over them) hold Python objects and
     * memory of Python's own allocators, never a C library's malloc blocks: not read at all. */
    otype *kind = ow_type(tp);
    if (kind && !kind->scan) return;
    size_t start = sizeof(PyObject), end = (size_t)tp->tp_basicsize;
    if (tp->tp_itemsize) {
        start = sizeof(PyVarObject);
        if (!PyLong_Check(obj)) {
            Py_ssize_t n = Py_SIZE(obj);
            if (n < 0) n = -n;
            size_t extra = (size_t)n * (size_t)tp->tp_itemsize;
            if (n > 0 && extra / (size_t)n != (size_t)tp->tp_itemsize) extra = OW_VAR_CAP;
            end += extra < OW_VAR_CAP ? extra : OW_VAR_CAP;
        }
    }
    /* A static type is a PyTypeObject, not the PyHeapTypeObject type's basicsize describes. */
    if (PyType_Check(obj) && !(((PyTypeObject *)obj)->tp_flags & Py_TPFLAGS_HEAPTYPE)) end = sizeof(PyTypeObject);
    end &= ~(sizeof(uintptr_t) - 1);
    if (end <= start) return;
    const uintptr_t *w = (const uintptr_t *)((char *)obj + start);
    size_t nw = (end - start) / sizeof(uintptr_t);
    /* Chains only from objects of extension types, while their type still pays off. */
    otype *t = NULL;
    if (OW.can_read && OW.reads < OW_MAX_READS && kind && !(kind->tried >= OW_LEARN && kind->hits == 0)) t = kind;
    uintptr_t queue[OW_READS], next[OW_READS];
    int nq = 0, reads = 0;
    if (ow_scan(w, nw, 0, h, first_only, t ? queue : NULL, &nq, OW_READS)) {
        OW.direct_hits++;
        if (first_only) return;
    }
    if (!t) return;
    t->tried++;
    /* Breadth first over the chained blocks, OW_READS of them at most. */
    uintptr_t buf[OW_CHUNK_WORDS];
    int before = h->n;
    for (int depth = 1; depth <= OW_DEPTH && nq && reads < OW_READS; depth++) {
        int nn = 0;
        for (int i = 0; i < nq && reads < OW_READS; i++) {
            uint64_t header;
            reads++;
            if (!ow_read(queue[i] - sizeof(uint64_t), &header, sizeof header)) continue;
            uint64_t chunk = header & ~(uint64_t)7;
            if (chunk < 32 || (chunk & 15) || chunk > OW_MAX_CHUNK) continue;
            uint64_t usable = chunk - ((header & 2) ? 16 : 8); /* IS_MMAPPED chunks carry two words */
            size_t words = (size_t)(usable / sizeof(uintptr_t));
            if (words > OW_CHUNK_WORDS) words = OW_CHUNK_WORDS;
            if (!words || !ow_read(queue[i], buf, words * sizeof(uintptr_t))) continue;
            int found = ow_scan(buf, words, depth, h, first_only, depth < OW_DEPTH ? next : NULL, &nn, OW_READS);
            if (found && first_only) {
                t->hits++;
                OW.chain_hits++;
                return;
            }
        }
        memcpy(queue, next, (size_t)nn * sizeof(uintptr_t));
        nq = nn;
    }
    if (h->n > before) {
        t->hits++;
        OW.chain_hits++;
    }
}

/* owners_begin(stack_ids) -> number of sampled native blocks of those stacks. */
static PyObject *lh_owners_begin(PyObject *self, PyObject *arg) {
    PyObject *seq = PySequence_Fast(arg, "owners_begin needs a sequence of stack ids");
    if (!seq) return NULL;
    Py_ssize_t ns = PySequence_Fast_GET_SIZE(seq);
    uint32_t *want = sys_malloc((size_t)(ns ? ns : 1) * sizeof(uint32_t));
    if (!want) {
        Py_DECREF(seq);
        return PyErr_NoMemory();
    }
    for (Py_ssize_t i = 0; i < ns; i++) {
        unsigned long v = PyLong_AsUnsignedLong(PySequence_Fast_GET_ITEM(seq, i));
        if (v == (unsigned long)-1 && PyErr_Occurred()) {
            sys_free(want);
            Py_DECREF(seq);
            return NULL;
        }
        want[i] = (uint32_t)v;
    }
    Py_DECREF(seq);
    ow_free();
    if (!OW.subtype_dealloc) {
        /* A class made by type() deallocates with subtype_dealloc: the mark of Python-level classes. */
        PyObject *probe = PyObject_CallFunction((PyObject *)&PyType_Type, "s()N", "_lh_owner_probe", PyDict_New());
        if (probe) {
            OW.subtype_dealloc = ((PyTypeObject *)probe)->tp_dealloc;
            Py_DECREF(probe);
        } else {
            PyErr_Clear();
        }
    }
    pthread_mutex_lock(&native_lock);
    size_t total = 0;
    for (size_t i = 0; i < nbt.cap && nbt.count; i++) {
        if (!nbt.keys[i]) continue;
        for (Py_ssize_t j = 0; j < ns; j++)
            if (nbt.vals[i].stack == want[j]) {
                total++;
                break;
            }
    }
    size_t cap = 16;
    while (cap < total * 2) cap <<= 1;
    oblock *slots = sys_calloc(cap, sizeof(oblock));
    if (slots) {
        int shift = 64;
        for (size_t c = cap; c > 1; c >>= 1) shift--;
        OW.slots = slots;
        OW.cap = cap;
        OW.shift = shift;
        OW.lo = UINTPTR_MAX;
        OW.hi = 0;
        for (size_t i = 0; i < nbt.cap && nbt.count; i++) {
            uintptr_t k = nbt.keys[i];
            if (!k) continue;
            uint32_t s = nbt.vals[i].stack;
            int wanted = 0;
            for (Py_ssize_t j = 0; j < ns && !wanted; j++) wanted = s == want[j];
            if (!wanted) continue;
            size_t h = ow_home(k);
            while (slots[h].key) h = (h + 1) & (cap - 1);
            slots[h].key = k;
            slots[h].size = nbt.vals[i].size;
            slots[h].stack = s;
            OW.n++;
            if (k < OW.lo) OW.lo = k;
            if (k > OW.hi) OW.hi = k;
        }
    }
    pthread_mutex_unlock(&native_lock);
    sys_free(want);
    if (!slots) return PyErr_NoMemory();
    OW.mean = G.mean;
    OW.reads = OW.read_failures = OW.chain_hits = OW.direct_hits = 0;
    OW.can_read = 1;
    OW.pid = getpid();
    OW.active = 1;
    return PyLong_FromSize_t(OW.n);
}

static PyObject *lh_owners_end(PyObject *self, PyObject *unused) {
    ow_free();
    Py_RETURN_NONE;
}

/* owner_of(obj) -> the stack id of a sampled block (of the stacks given to owners_begin) it points to, or None. */
static PyObject *lh_owner_of(PyObject *self, PyObject *obj) {
    if (!OW.active || !OW.n) Py_RETURN_NONE;
    ohits h;
    ow_object(obj, &h, 1);
    if (!h.n) Py_RETURN_NONE;
    return PyLong_FromUnsignedLong(h.stack[0]);
}

/* owned(obj) -> [(stack id, block size, sampling probability, address, depth)] of the distinct sampled blocks it
 * points to (depth 0: from its own memory; n: through n chained blocks). */
static PyObject *lh_owned(PyObject *self, PyObject *obj) {
    if (!OW.active || !OW.n) return PyList_New(0);
    ohits h;
    ow_object(obj, &h, 0);
    PyObject *out = PyList_New(h.n);
    for (int i = 0; out && i < h.n; i++) {
        double p = sample_probability((double)h.size[i], OW.mean);
        PyObject *t = Py_BuildValue("(kKdKi)", (unsigned long)h.stack[i], (unsigned long long)h.size[i], p,
                                    (unsigned long long)h.key[i], (int)h.depth[i]);
        if (!t) {
            Py_CLEAR(out);
            break;
        }
        PyList_SET_ITEM(out, i, t);
    }
    return out;
}

/* owners_total(stack) -> sum size/p over the copied sampled blocks of a stack (its native bytes, estimated). */
static PyObject *lh_owners_total(PyObject *self, PyObject *arg) {
    unsigned long stack = PyLong_AsUnsignedLong(arg);
    if (stack == (unsigned long)-1 && PyErr_Occurred()) return NULL;
    double total = 0.0;
    for (size_t i = 0; OW.active && i < OW.cap; i++)
        if (OW.slots[i].key && OW.slots[i].stack == (uint32_t)stack)
            total += (double)OW.slots[i].size / sample_probability((double)OW.slots[i].size, OW.mean);
    return PyFloat_FromDouble(total);
}

static PyObject *lh_owners_stats(PyObject *self, PyObject *unused) {
    return Py_BuildValue("{s:n,s:K,s:K,s:K,s:K,s:i,s:n}", "blocks", (Py_ssize_t)OW.n, "reads",
                         (unsigned long long)OW.reads, "read_failures", (unsigned long long)OW.read_failures,
                         "direct_hits", (unsigned long long)OW.direct_hits, "chain_hits",
                         (unsigned long long)OW.chain_hits, "chains", OW.can_read, "types", (Py_ssize_t)OW.tcount);
}

/* sqlite_filename(conn) -> the file of a sqlite3.Connection's main database ("" when it is in memory),
 * False when the connection is closed, None when it cannot be told (not a Connection, no
 * sqlite3_db_filename). The connection's first field is its sqlite3 handle in every CPython 3.8-3.13
 * (Modules/_sqlite/connection.h), NULL once closed; sqlite3_db_filename is found through the
 * module that defines the type (its library's dependencies include libsqlite3). It reads the
 * handle's schema table and takes no lock: a connection that another thread closes at this very
 * moment (close() releases the GIL around sqlite3_close_v2) is the one case it does not guard. */
typedef const char *(*lh_db_filename_fn)(void *, const char *);

static PyObject *lh_sqlite_filename(PyObject *self, PyObject *obj) {
    static lh_db_filename_fn db_filename;
    static PyTypeObject *looked_up;
    PyTypeObject *tp = Py_TYPE(obj);
    while (tp && strcmp(tp->tp_name, "sqlite3.Connection") != 0) tp = tp->tp_base;
    if (!tp || (size_t)tp->tp_basicsize < sizeof(PyObject) + sizeof(void *) || !tp->tp_dealloc) Py_RETURN_NONE;
    if (looked_up != tp) {
        looked_up = tp;
        db_filename = NULL;
        Dl_info info;
        if (dladdr((void *)tp->tp_dealloc, &info) && info.dli_fname) {
            void *lib = dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD);
            if (lib) {
                db_filename = (lh_db_filename_fn)dlsym(lib, "sqlite3_db_filename");
                dlclose(lib); /* only the reference RTLD_NOLOAD took: Python keeps the module loaded */
            }
        }
    }
    if (!db_filename) Py_RETURN_NONE;
    void *db = *(void **)((char *)obj + sizeof(PyObject));
    if (!db) Py_RETURN_FALSE;
    const char *name = db_filename(db, "main");
    return PyUnicode_DecodeFSDefault(name ? name : "");
}
