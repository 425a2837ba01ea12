/* _lhsampler, the retainer search's heap walk in C (retainers/walk.py drives it).
 * Included by lhsampler.c in order (one compilation unit); not a header to include elsewhere.
 *
 * The Python walk keeps its shape (levels of objects per depth, the units that
 * discovered them, parents found again by re-reading one unit); what runs here
 * is the inner loop, which in Python cost a dozen C calls and three short-lived
 * ints per reference:
 *   - the visited set: one bit per 16 bytes of address space (two objects are
 *     at least sizeof(PyObject) = 16 bytes apart, so no two share a bit), in
 *     64 KiB regions found through a small open-addressing table; every object
 *     the walk reaches is a member, tracked by gc or not, so each is reached once;
 *   - expanding the objects of a level: each object's references as gc sees them
 *     (tp_traverse), plus a dict's keys, which CPython's dict traverse skips when
 *     they are all strings (they cannot make a cycle) but which a path may need;
 *     the new ones are appended, in order of discovery, to a list the caller owns.
 * Nothing here calls the program's code: tp_traverse is the interpreter's own
 * (as gc.get_referents uses it), dict entries are read with PyDict_Next, and list
 * and tuple items are read by index. No Python code runs during a call, so no
 * other thread can change a container while it is read; between calls one may
 * (a live search), and a big list, tuple or dict read in slices is read again
 * by position, bounds checked.
 * Memory: the bit map (512 bytes per 64 KiB region of heap that holds a visited
 * object: under 0.8% of the heap) and the caller's list. */

#define VW_SHIFT 4
#define VW_REGION_SHIFT 16
#define VW_REGION_BYTES ((size_t)1 << (VW_REGION_SHIFT - VW_SHIFT - 3))
#define VW_BIT_MASK (((uintptr_t)1 << (VW_REGION_SHIFT - VW_SHIFT)) - 1)
/* Objects per unit at most, and references after which a unit ends (walk.py's CHUNK and PIECE). */
#define VW_CHUNK 512
#define VW_PIECE (1 << 14)

typedef struct {
    uintptr_t *keys; /* region number + 1; 0 is an empty slot */
    uint8_t **bits;
    size_t cap, count;
    int shift;
    uintptr_t last_key;
    uint8_t *last_bits;
    size_t members;
    size_t region_bytes; /* each region's block: 0 for a bit map (VW_REGION_BYTES) */
} vwset;

static inline size_t vw_home(const vwset *s, uintptr_t key) {
    return (size_t)(((uint64_t)key * 0x9E3779B97F4A7C15ULL) >> (64 - s->shift));
}

static int vw_grow(vwset *s) {
    size_t ncap = s->cap ? s->cap * 2 : 1024;
    int nshift = 0;
    while (((size_t)1 << nshift) < ncap) nshift++;
    uintptr_t *nk = sys_calloc(ncap, sizeof(uintptr_t));
    uint8_t **nb = sys_calloc(ncap, sizeof(uint8_t *));
    if (!nk || !nb) {
        sys_free(nk);
        sys_free(nb);
        return -1;
    }
    vwset n = *s;
    n.keys = nk, n.bits = nb, n.cap = ncap, n.shift = nshift;
    for (size_t i = 0; i < s->cap; i++) {
        if (!s->keys[i]) continue;
        size_t j = vw_home(&n, s->keys[i]);
        while (nk[j]) j = (j + 1) & (ncap - 1);
        nk[j] = s->keys[i];
        nb[j] = s->bits[i];
    }
    sys_free(s->keys);
    sys_free(s->bits);
    *s = n;
    return 0;
}

/* The bit map of an address's region; NULL when it has none (create: made, NULL only when out of memory). */
static uint8_t *vw_region(vwset *s, uintptr_t addr, int create) {
    uintptr_t key = (addr >> VW_REGION_SHIFT) + 1;
    if (key == s->last_key) return s->last_bits;
    if (s->cap) {
        size_t i = vw_home(s, key);
        while (s->keys[i]) {
            if (s->keys[i] == key) {
                s->last_key = key;
                s->last_bits = s->bits[i];
                return s->bits[i];
            }
            i = (i + 1) & (s->cap - 1);
        }
    }
    if (!create) return NULL;
    if ((s->count + 1) * 2 > s->cap && vw_grow(s) < 0) return NULL;
    uint8_t *b = sys_calloc(1, s->region_bytes ? s->region_bytes : VW_REGION_BYTES);
    if (!b) return NULL;
    size_t i = vw_home(s, key);
    while (s->keys[i]) i = (i + 1) & (s->cap - 1);
    s->keys[i] = key;
    s->bits[i] = b;
    s->count++;
    s->last_key = key;
    s->last_bits = b;
    return b;
}

/* 1 if the address was a member already, 0 if it is now, -1 when out of memory. */
static inline int vw_test_and_set(vwset *s, const void *p) {
    uintptr_t a = (uintptr_t)p;
    uint8_t *b = vw_region(s, a, 1);
    if (!b) return -1;
    uintptr_t bit = (a >> VW_SHIFT) & VW_BIT_MASK;
    uint8_t m = (uint8_t)(1u << (bit & 7));
    if (b[bit >> 3] & m) return 1;
    b[bit >> 3] |= m;
    s->members++;
    return 0;
}

static inline int vw_test(vwset *s, const void *p) {
    uintptr_t a = (uintptr_t)p;
    uint8_t *b = vw_region(s, a, 0);
    if (!b) return 0;
    uintptr_t bit = (a >> VW_SHIFT) & VW_BIT_MASK;
    return (b[bit >> 3] >> (bit & 7)) & 1;
}

static inline void vw_unset(vwset *s, const void *p) {
    uintptr_t a = (uintptr_t)p;
    uint8_t *b = vw_region(s, a, 0);
    if (!b) return;
    uintptr_t bit = (a >> VW_SHIFT) & VW_BIT_MASK;
    uint8_t m = (uint8_t)(1u << (bit & 7));
    if (b[bit >> 3] & m) {
        b[bit >> 3] &= (uint8_t)~m;
        s->members--;
    }
}

static void vw_clear(vwset *s) {
    for (size_t i = 0; i < s->cap; i++)
        if (s->keys[i]) sys_free(s->bits[i]);
    sys_free(s->keys);
    sys_free(s->bits);
    size_t region_bytes = s->region_bytes;
    memset(s, 0, sizeof(*s));
    s->region_bytes = region_bytes;
}

#define VW_CAPSULE "leakhound.visited"

static void vw_capsule_free(PyObject *cap) {
    vwset *s = PyCapsule_GetPointer(cap, VW_CAPSULE);
    if (!s) return;
    vw_clear(s);
    sys_free(s);
}

static vwset *vw_of(PyObject *cap) { return PyCapsule_GetPointer(cap, VW_CAPSULE); }

static PyObject *lh_visited_new(PyObject *self, PyObject *unused) {
    vwset *s = sys_calloc(1, sizeof(vwset));
    if (!s) return PyErr_NoMemory();
    PyObject *cap = PyCapsule_New(s, VW_CAPSULE, vw_capsule_free);
    if (!cap) sys_free(s);
    return cap;
}

/* visited_update(set, objects, add): add (1) or remove (0) every object of a sequence. */
static PyObject *lh_visited_update(PyObject *self, PyObject *args) {
    PyObject *cap, *seq;
    int add;
    if (!PyArg_ParseTuple(args, "OOp", &cap, &seq, &add)) return NULL;
    vwset *s = vw_of(cap);
    if (!s) return NULL;
    PyObject *fast = PySequence_Fast(seq, "a sequence");
    if (!fast) return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
    PyObject **items = PySequence_Fast_ITEMS(fast);
    for (Py_ssize_t i = 0; i < n; i++) {
        if (add) {
            if (vw_test_and_set(s, items[i]) < 0) {
                Py_DECREF(fast);
                return PyErr_NoMemory();
            }
        } else {
            vw_unset(s, items[i]);
        }
    }
    Py_DECREF(fast);
    Py_RETURN_NONE;
}

/* visited_flags(set, objects) -> [bool]: which objects of a sequence are members. */
static PyObject *lh_visited_flags(PyObject *self, PyObject *args) {
    PyObject *cap, *seq;
    if (!PyArg_ParseTuple(args, "OO", &cap, &seq)) return NULL;
    vwset *s = vw_of(cap);
    if (!s) return NULL;
    PyObject *fast = PySequence_Fast(seq, "a sequence");
    if (!fast) return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
    PyObject **items = PySequence_Fast_ITEMS(fast);
    PyObject *out = PyList_New(n);
    if (out) {
        for (Py_ssize_t i = 0; i < n; i++) {
            PyObject *b = vw_test(s, items[i]) ? Py_True : Py_False;
            Py_INCREF(b);
            PyList_SET_ITEM(out, i, b);
        }
    }
    Py_DECREF(fast);
    return out;
}

static PyObject *lh_visited_clear(PyObject *self, PyObject *cap) {
    vwset *s = vw_of(cap);
    if (!s) return NULL;
    vw_clear(s);
    Py_RETURN_NONE;
}

/* ------------------------------------------------------------------ references */

static inline int vw_is_gc(PyObject *o) {
    PyTypeObject *tp = Py_TYPE(o);
    return PyType_IS_GC(tp) && (tp->tp_is_gc == NULL || tp->tp_is_gc(o));
}

/* A container read in slices (its own units) rather than traversed at once. */
static inline Py_ssize_t vw_sliced_size(PyObject *o) {
    if (PyList_CheckExact(o)) return PyList_GET_SIZE(o) > VW_PIECE ? PyList_GET_SIZE(o) : 0;
    if (PyTuple_CheckExact(o)) return PyTuple_GET_SIZE(o) > VW_PIECE ? PyTuple_GET_SIZE(o) : 0;
    if (PyDict_CheckExact(o)) return PyDict_GET_SIZE(o) > VW_PIECE / 2 ? PyDict_GET_SIZE(o) : 0;
    return 0;
}

typedef int (*vw_sink)(PyObject *o, void *arg);

/* Every reference of one object, as gc.get_referents sees it, plus a dict's string keys. */
static int vw_references(PyObject *o, vw_sink sink, void *arg) {
    if (!vw_is_gc(o)) return 0;
    traverseproc t = Py_TYPE(o)->tp_traverse;
    if (t && t(o, (visitproc)sink, arg) < 0) return -1;
    if (PyDict_Check(o)) {
        /* A dict's traverse skips its keys when they are all strings (and, 3.13, the values an
         * object keeps inline). The string keys are added; one the traverse did visit (a dict of
         * mixed keys) is seen twice, which the visited set absorbs. */
        Py_ssize_t pos = 0;
        PyObject *k, *v;
        while (PyDict_Next(o, &pos, &k, &v))
            if (PyUnicode_CheckExact(k) && sink(k, arg) < 0) return -1;
    }
    return 0;
}

typedef struct {
    vwset *seen;
    PyObject *out;
    Py_ssize_t refs;
    int nomem;
    /* Leave out str, int, float, bytes and complex objects whose memory block the sampler did
     * not sample: they lead nowhere and no stack can be matched to them. */
    int sampled_leaves_only;
    Py_ssize_t left_out;
} vwctx;

static inline int vw_unsampled_leaf(PyObject *o) {
    PyTypeObject *tp = Py_TYPE(o);
    /* Only the builtin values whose memory is the object's own block: other objects without
     * references (bytearray, array, ndarray...) may own storage that the sampler sampled. */
    if (tp != &PyUnicode_Type && tp != &PyLong_Type && tp != &PyFloat_Type && tp != &PyBytes_Type &&
        tp != &PyComplex_Type)
        return 0;
    if (!bfilter[bf_idx((void *)((uintptr_t)o - preheader_size(tp)))]) return 1;
    size_t slot;
    return !bt_find_own(&bt, (uintptr_t)o - preheader_size(tp), &slot);
}

static int vw_discover(PyObject *o, void *arg) {
    vwctx *c = arg;
    if (!o) return 0;
    c->refs++;
    int r = vw_test_and_set(c->seen, o);
    if (r > 0) return 0;
    if (r < 0) {
        c->nomem = 1;
        return -1;
    }
    if (c->sampled_leaves_only && vw_unsampled_leaf(o)) {
        c->left_out++;
        return 0;
    }
    return PyList_Append(c->out, o);
}

/* Items [lo, hi) of a big container read in slices; returns where the next slice starts, or -1 when done. */
static Py_ssize_t vw_slice(PyObject *o, Py_ssize_t lo, Py_ssize_t count, vwctx *c) {
    if (PyList_CheckExact(o) || PyTuple_CheckExact(o)) {
        int list = PyList_CheckExact(o);
        Py_ssize_t n = list ? PyList_GET_SIZE(o) : PyTuple_GET_SIZE(o);
        Py_ssize_t hi = lo + count < n ? lo + count : n;
        for (Py_ssize_t i = lo; i < hi; i++) {
            PyObject *item = list ? PyList_GET_ITEM(o, i) : PyTuple_GET_ITEM(o, i);
            if (vw_discover(item, c) < 0) return -2;
        }
        return hi < n ? hi : -1;
    }
    /* an exact dict: lo is PyDict_Next's position */
    Py_ssize_t pos = lo;
    PyObject *k, *v;
    for (Py_ssize_t taken = 0; taken < count; taken++) {
        if (!PyDict_Next(o, &pos, &k, &v)) return -1;
        if (vw_discover(k, c) < 0 || vw_discover(v, c) < 0) return -2;
    }
    return pos;
}

static inline PyObject *vw_item(PyObject *segments, Py_ssize_t i) {
    PyObject *seg = PyList_GET_ITEM(segments, i >> 15);
    if (!PyList_CheckExact(seg) || (i & 0x7FFF) >= PyList_GET_SIZE(seg)) return NULL;
    return PyList_GET_ITEM(seg, i & 0x7FFF);
}

/* walk_expand(set, segments, size, pos, sub, out, max_refs, sampled_leaves_only)
 *   -> (pos, sub, [start, stop, end, ...], objects left out)
 *
 * Appends to `out` what the objects of a level (its `segments`, lists of 32,768 slots, `size`
 * objects in all) refer to that the set does not hold yet, adding them to it, from object `pos`
 * (and, inside a big container read in slices, from its position `sub`) until the level ends or
 * `max_refs` references were read. Units are (first object, one past the last, len(out) after
 * its discoveries): up to VW_CHUNK objects, ended early after VW_PIECE references, and one unit
 * per slice of a big container. pos == size when the level is done. With sampled_leaves_only
 * (the sampling collector's search), str, int, float, bytes and complex objects are appended only
 * when the sampler sampled their block; the others are only counted (the last value). */
static PyObject *lh_walk_expand(PyObject *self, PyObject *args) {
    PyObject *cap, *segments, *out;
    Py_ssize_t size, pos, sub, max_refs;
    int leaves = 0;
    if (!PyArg_ParseTuple(args, "OO!nnnO!n|p", &cap, &PyList_Type, &segments, &size, &pos, &sub, &PyList_Type, &out,
                          &max_refs, &leaves))
        return NULL;
    vwset *s = vw_of(cap);
    if (!s) return NULL;
    if (size > (Py_ssize_t)PyList_GET_SIZE(segments) << 15) {
        PyErr_SetString(PyExc_ValueError, "size beyond the segments");
        return NULL;
    }
    PyObject *units = PyList_New(0);
    if (!units) return NULL;
    vwctx c = {s, out, 0, 0, leaves, 0};
    Py_ssize_t total = 0;
    int failed = 0;
    while (pos < size && total < max_refs && !failed) {
        Py_ssize_t start = pos, stop;
        PyObject *o = vw_item(segments, pos);
        if (!o) {
            PyErr_SetString(PyExc_ValueError, "a level's segment is shorter than its size");
            failed = 1;
            break;
        }
        if (sub > 0 || vw_sliced_size(o)) {
            c.refs = 0;
            Py_ssize_t next = vw_slice(o, sub, VW_PIECE / (PyDict_CheckExact(o) ? 2 : 1), &c);
            if (next == -2) failed = 1;
            total += c.refs;
            if (next >= 0) {
                sub = next;
            } else {
                sub = 0;
                pos++;
            }
            stop = start + 1;
        } else {
            c.refs = 0;
            while (pos < size && pos - start < VW_CHUNK && c.refs < VW_PIECE) {
                o = vw_item(segments, pos);
                if (!o) {
                    PyErr_SetString(PyExc_ValueError, "a level's segment is shorter than its size");
                    failed = 1;
                    break;
                }
                if (pos > start && vw_sliced_size(o)) break;
                if (vw_references(o, vw_discover, &c) < 0) {
                    failed = 1;
                    break;
                }
                pos++;
            }
            total += c.refs;
            stop = pos;
        }
        PyObject *a = PyLong_FromSsize_t(start), *b = PyLong_FromSsize_t(stop),
                 *e = PyLong_FromSsize_t(PyList_GET_SIZE(out));
        if (!a || !b || !e || PyList_Append(units, a) < 0 || PyList_Append(units, b) < 0 ||
            PyList_Append(units, e) < 0)
            failed = 1;
        Py_XDECREF(a);
        Py_XDECREF(b);
        Py_XDECREF(e);
    }
    if (failed) {
        Py_DECREF(units);
        if (c.nomem && !PyErr_Occurred()) PyErr_NoMemory();
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_RuntimeError, "walk_expand failed");
        return NULL;
    }
    PyObject *r = Py_BuildValue("(nnNn)", pos, sub, units, c.left_out);
    return r;
}

static int vw_collect(PyObject *o, void *arg) { return o ? PyList_Append((PyObject *)arg, o) : 0; }

/* referents(*objects) -> [object]: gc.get_referents plus a dict's keys, as the walk reads them. */
static PyObject *lh_referents(PyObject *self, PyObject *args) {
    PyObject *out = PyList_New(0);
    if (!out) return NULL;
    Py_ssize_t n = PyTuple_GET_SIZE(args);
    for (Py_ssize_t i = 0; i < n; i++) {
        if (vw_references(PyTuple_GET_ITEM(args, i), vw_collect, out) < 0) {
            Py_DECREF(out);
            return NULL;
        }
    }
    return out;
}

/* stack_indexes(objects, index_of) -> [int or None]: per object, index_of[its sampled block's stack id]
 * (None when its block was not sampled or its stack is not a key): the retainer search's matching
 * (matching.py) of `index_of.get(stack_of_object(obj))` in one call. index_of maps ints to ints. */
static PyObject *lh_stack_indexes(PyObject *self, PyObject *args) {
    PyObject *seq, *index_of;
    if (!PyArg_ParseTuple(args, "OO!", &seq, &PyDict_Type, &index_of)) return NULL;
    PyObject *fast = PySequence_Fast(seq, "a sequence");
    if (!fast) return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
    PyObject **items = PySequence_Fast_ITEMS(fast);
    PyObject *out = PyList_New(n);
    if (!out) {
        Py_DECREF(fast);
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *found = Py_None;
        size_t slot;
        if (bt.count) {
            uintptr_t addr = (uintptr_t)items[i] - preheader_size(Py_TYPE(items[i]));
            if (bt_find_own(&bt, addr, &slot)) {
                PyObject *key = PyLong_FromUnsignedLong(bt.vals[slot].stack);
                if (!key) goto fail;
                found = PyDict_GetItemWithError(index_of, key);
                Py_DECREF(key);
                if (!found) {
                    if (PyErr_Occurred()) goto fail;
                    found = Py_None;
                }
            }
        }
        Py_INCREF(found);
        PyList_SET_ITEM(out, i, found);
    }
    Py_DECREF(fast);
    return out;
fail:
    Py_DECREF(fast);
    Py_DECREF(out);
    return NULL;
}

/* visited_take(set, objects) -> (first, index): the objects not visited yet, each once, now
 * marked: (None, None) when that is every object of the list `objects` in its order (nothing to
 * copy), else (a new list of them, bytes of their int64 positions in `objects`). */
static PyObject *lh_visited_take(PyObject *self, PyObject *args) {
    PyObject *cap, *objs;
    if (!PyArg_ParseTuple(args, "OO!", &cap, &PyList_Type, &objs)) return NULL;
    vwset *s = vw_of(cap);
    if (!s) return NULL;
    Py_ssize_t n = PyList_GET_SIZE(objs), i = 0;
    for (; i < n; i++) {
        int r = vw_test_and_set(s, PyList_GET_ITEM(objs, i));
        if (r < 0) return PyErr_NoMemory();
        if (r) break;
    }
    if (i == n) return Py_BuildValue("(OO)", Py_None, Py_None);
    PyObject *first = PyList_GetSlice(objs, 0, i);
    int64_t *index = sys_malloc((size_t)(n > 0 ? n : 1) * sizeof(int64_t));
    if (!first || !index) {
        Py_XDECREF(first);
        sys_free(index);
        return PyErr_NoMemory();
    }
    Py_ssize_t k = 0;
    for (; k < i; k++) index[k] = k;
    for (i++; i < n; i++) {
        int r = vw_test_and_set(s, PyList_GET_ITEM(objs, i));
        if (r < 0 || (!r && PyList_Append(first, PyList_GET_ITEM(objs, i)) < 0)) {
            Py_DECREF(first);
            sys_free(index);
            return r < 0 ? PyErr_NoMemory() : NULL;
        }
        if (!r) index[k++] = i;
    }
    PyObject *out = Py_BuildValue("(Ny#)", first, (const char *)index, (Py_ssize_t)(k * sizeof(int64_t)));
    sys_free(index);
    return out;
}

/* ------------------------------------------------------------------ what the roots missed */

/* Counters of references, one 16-bit counter per 16 bytes of address space, in 64 KiB regions
 * made only for the regions of the objects counted (a vwset whose regions' blocks are 8 KiB). */
#define VC_REGION_BYTES ((size_t)2 << (VW_REGION_SHIFT - VW_SHIFT))

static inline uint16_t *vc_counter(vwset *c, const void *p, int create) {
    uint16_t *r = (uint16_t *)vw_region(c, (uintptr_t)p, create);
    return r ? &r[((uintptr_t)p >> VW_SHIFT) & VW_BIT_MASK] : NULL;
}

static int vc_count_visit(PyObject *o, void *arg) {
    uint16_t *k = o ? vc_counter((vwset *)arg, o, 0) : NULL;
    if (k && *k) {
        /* counters start at 1 (a member); saturate rather than wrap */
        if (*k != UINT16_MAX) (*k)++;
    }
    return 0;
}

/* unreached_split(set, everything, held_by) -> (held, refcounts (bytes: int32 each, -1 for None), rest)
 *
 * The objects of `everything` (gc.get_objects(), each held once by that list) that the walk did
 * not visit, split by what holds them, in C and in memory bounded by their regions (16 bits per
 * 16 bytes of the address space they occupy): `held`, whose reference count exceeds the references
 * the other unvisited objects hold, so something outside the Python heap holds them, with
 * `refcounts` (their reference count when no unvisited object refers to them either, else None);
 * `rest`, held only by unvisited objects: unreachable cycles. Objects of the sequence `held_by`
 * hold one more reference each (a list of the caller's). A count that saturates (65,535 referrers)
 * is taken to explain the object. */
static PyObject *lh_unreached_split(PyObject *self, PyObject *args) {
    PyObject *cap, *everything, *held_by;
    if (!PyArg_ParseTuple(args, "OO!O", &cap, &PyList_Type, &everything, &held_by)) return NULL;
    vwset *s = vw_of(cap);
    if (!s) return NULL;
    PyObject *extra = PySequence_Fast(held_by, "a sequence");
    if (!extra) return NULL;
    vwset counts = {.region_bytes = VC_REGION_BYTES}, ours = {0};
    PyObject *held = PyList_New(0), *rest = PyList_New(0), *result = NULL;
    int32_t *refs = NULL;
    size_t nrefs = 0, caprefs = 0;
    if (!held || !rest) goto done;
    Py_ssize_t n = PyList_GET_SIZE(everything);
    /* 1 for every unvisited object, then the references the others hold */
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *o = PyList_GET_ITEM(everything, i);
        if (vw_test(s, o)) continue;
        uint16_t *k = vc_counter(&counts, o, 1);
        if (!k) {
            PyErr_NoMemory();
            goto done;
        }
        *k = 1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *o = PyList_GET_ITEM(everything, i);
        if (vw_test(s, o)) continue;
        if (vw_references(o, vc_count_visit, &counts) < 0) goto done;
    }
    /* the caller's own list: one more reference each, not a referrer */
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(extra); i++)
        if (vw_test_and_set(&ours, PySequence_Fast_ITEMS(extra)[i]) < 0) {
            PyErr_NoMemory();
            goto done;
        }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *o = PyList_GET_ITEM(everything, i);
        if (vw_test(s, o)) continue;
        uint16_t *k = vc_counter(&counts, o, 0);
        Py_ssize_t referrers = k ? (Py_ssize_t)*k - 1 : 0;
        /* one reference is `everything`'s */
        Py_ssize_t own = 1 + vw_test(&ours, o);
        Py_ssize_t count = Py_REFCNT(o) - own; /* read before `held` holds it too */
        Py_ssize_t outside = count - referrers;
        int saturated = k && *k == UINT16_MAX;
        if (outside > 0 && !saturated) {
            if (nrefs == caprefs) {
                size_t ncap = caprefs ? caprefs * 2 : 1024;
                int32_t *nr = sys_malloc(ncap * sizeof(int32_t));
                if (!nr) {
                    PyErr_NoMemory();
                    goto done;
                }
                if (refs) memcpy(nr, refs, nrefs * sizeof(int32_t));
                sys_free(refs);
                refs = nr;
                caprefs = ncap;
            }
            refs[nrefs++] = referrers == 0 ? (int32_t)(count < INT32_MAX ? count : INT32_MAX) : -1;
            if (PyList_Append(held, o) < 0) goto done;
        } else if (PyList_Append(rest, o) < 0) {
            goto done;
        }
    }
    result = Py_BuildValue("(Oy#O)", held, (const char *)refs, (Py_ssize_t)(nrefs * sizeof(int32_t)), rest);
done:
    /* vw_clear frees each region's block whatever its size */
    vw_clear(&counts);
    vw_clear(&ours);
    Py_DECREF(extra);
    sys_free(refs);
    Py_XDECREF(held);
    Py_XDECREF(rest);
    return result;
}

/* ------------------------------------------------------------------ "nothing refers to it" */

/* sampled_blocks(stack_ids) -> [(address, size, stack id)]: the live sampled Python-domain blocks
 * allocated at those stacks (not those whose object went onto a free list, but for the stacks
 * count_free_listed names: the containers whose storage such a block now is show where it went). */
static PyObject *lh_sampled_blocks(PyObject *self, PyObject *arg) {
    PyObject *wanted = PyFrozenSet_New(arg);
    if (!wanted) return NULL;
    PyObject *out = PyList_New(0);
    if (!out) goto fail;
    for (size_t i = 0; i < bt.cap && bt.count; i++) {
        if (!bt.keys[i] || !bv_own(&bt.vals[i])) continue;
        PyObject *sid = PyLong_FromUnsignedLong(bt.vals[i].stack);
        if (!sid) goto fail;
        int in = PySet_Contains(wanted, sid);
        Py_DECREF(sid);
        if (in < 0) goto fail;
        if (!in) continue;
        PyObject *t = Py_BuildValue("(KKk)", (unsigned long long)bt.keys[i], (unsigned long long)bv_size(&bt.vals[i]),
                                    (unsigned long)bt.vals[i].stack);
        if (!t || PyList_Append(out, t) < 0) {
            Py_XDECREF(t);
            goto fail;
        }
        Py_DECREF(t);
    }
    Py_DECREF(wanted);
    return out;
fail:
    Py_DECREF(wanted);
    Py_XDECREF(out);
    return NULL;
}

/* The object that starts in a sampled block, or NULL when none can be shown to: its type must be
 * an object the walk visited (so a real type, read without risk), the object must fit in the block
 * at the offset its type's pre-header puts it, and be alive (an object on a free list has a zero
 * reference count). Reads only the block's own memory. */
/* The bytes an object of its type and its own size fields takes, past its pre-header: what a block
 * that was allocated for it holds (give or take alignment). 0 when it cannot be told. */
static size_t vw_object_size(PyObject *o, PyTypeObject *tp) {
    if (tp == &PyUnicode_Type) {
        PyASCIIObject *a = (PyASCIIObject *)o;
        if (!a->state.compact) return (size_t)tp->tp_basicsize; /* the characters are a block of their own */
        size_t chars = ((size_t)a->length + 1) * (size_t)a->state.kind;
        if (chars / (size_t)a->state.kind != (size_t)a->length + 1) return 0;
        return (a->state.ascii ? sizeof(PyASCIIObject) : sizeof(PyCompactUnicodeObject)) + chars;
    }
    if (!tp->tp_itemsize) return (size_t)tp->tp_basicsize;
    size_t n;
#if PY_VERSION_HEX >= 0x030C0000
    if (PyType_FastSubclass(tp, Py_TPFLAGS_LONG_SUBCLASS))
        n = (size_t)(((PyLongObject *)o)->long_value.lv_tag >> 3); /* its digits (_PyLong_NON_SIZE_BITS) */
    else
#endif
    {
        Py_ssize_t z = Py_SIZE(o);
        n = (size_t)(z < 0 ? -z : z);
    }
    if (n > ((size_t)1 << 40) / (size_t)tp->tp_itemsize) return 0;
    return (size_t)tp->tp_basicsize + n * (size_t)tp->tp_itemsize;
}

/* The object a sampled block holds, or NULL. The block may be any memory of a Python allocator (a list's
 * item array, a bytearray's buffer, a dict's keys): an object is only taken when its type is a type the
 * walk visited, its type's type one too, the pre-header its type implies is where the block starts, its
 * reference count is positive, and the block is exactly as big as the object says it is (to alignment).
 * A reference is taken to what is returned: memory that only looked like an object would be written. */
static PyObject *vw_object_in_block(vwset *seen, uintptr_t block, size_t size) {
    for (size_t pre = 0; pre <= 6 * sizeof(void *); pre += 2 * sizeof(void *)) {
        if (pre + sizeof(PyObject) > size) break;
        PyObject *o = (PyObject *)(block + pre);
        PyTypeObject *tp = Py_TYPE(o);
        if (!tp || ((uintptr_t)tp & (sizeof(void *) - 1)) || !vw_test(seen, tp)) continue;
        /* its own type a type too (read only once that is known), before reading it as one */
        PyTypeObject *meta = Py_TYPE((PyObject *)tp);
        if (!meta || ((uintptr_t)meta & (sizeof(void *) - 1)) || (meta != &PyType_Type && !vw_test(seen, meta))) continue;
        if (!PyType_Check((PyObject *)tp) || preheader_size(tp) != pre) continue;
        /* (a compact str is smaller than str's tp_basicsize, the size of a non-compact one) */
        size_t least = tp == &PyUnicode_Type ? sizeof(PyASCIIObject) : (size_t)tp->tp_basicsize;
        if (pre + least > size || Py_REFCNT(o) <= 0) continue;
        size_t want = vw_object_size(o, tp);
        if (!want || size < pre + want || size > pre + want + 2 * sizeof(void *)) continue;
        return o;
    }
    return NULL;
}

/* orphans_at(set, blocks) -> [(object, reference count, immortal, interned)]: per block
 * (address, size) of `sampled_blocks`, the object in it when the walk did not visit it. Run right
 * after a complete walk: such an object has no referrer that gc can see (every object a tracked
 * one refers to was visited), yet a positive reference count. The count is read before the new
 * reference this list holds. */
static PyObject *lh_orphans_at(PyObject *self, PyObject *args) {
    PyObject *cap, *blocks;
    if (!PyArg_ParseTuple(args, "OO!", &cap, &PyList_Type, &blocks)) return NULL;
    vwset *s = vw_of(cap);
    if (!s) return NULL;
    PyObject *out = PyList_New(0);
    if (!out) return NULL;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(blocks); i++) {
        unsigned long long addr, size;
        unsigned long sid;
        if (!PyArg_ParseTuple(PyList_GET_ITEM(blocks, i), "KK|k", &addr, &size, &sid)) goto fail;
        size_t slot;
        /* still sampled (nothing ran since sampled_blocks but be sure), not free-listed (bt_find_own) */
        if (!bt_find_own(&bt, (uintptr_t)addr, &slot)) continue;
        PyObject *o = vw_object_in_block(s, (uintptr_t)addr, (size_t)size);
        if (!o || vw_test(s, o)) continue;
        Py_ssize_t refs = Py_REFCNT(o);
        int immortal = 0, interned = 0;
#if PY_VERSION_HEX >= 0x030C0000
        immortal = _Py_IsImmortal(o);
#endif
        if (PyUnicode_CheckExact(o)) interned = PyUnicode_CHECK_INTERNED(o) != 0;
        PyObject *t = Py_BuildValue("(Onii)", o, refs, immortal, interned);
        if (!t || PyList_Append(out, t) < 0) {
            Py_XDECREF(t);
            goto fail;
        }
        Py_DECREF(t);
    }
    return out;
fail:
    Py_DECREF(out);
    return NULL;
}

#define LH_WALK_METHODS                                                                                         \
    {"visited_new", lh_visited_new, METH_NOARGS, "a new visited set (a capsule)"},                               \
        {"visited_update", lh_visited_update, METH_VARARGS, "visited_update(set, objects, add)"},                 \
        {"visited_flags", lh_visited_flags, METH_VARARGS, "visited_flags(set, objects) -> [bool]"},              \
        {"visited_clear", lh_visited_clear, METH_O, "forget every member"},                                      \
        {"walk_expand", lh_walk_expand, METH_VARARGS,                                                            \
         "walk_expand(set, segments, size, pos, sub, out, max_refs) -> (pos, sub, [start, stop, end, ...])"},   \
        {"referents", lh_referents, METH_VARARGS, "gc.get_referents plus a dict's keys"},                      \
        {"visited_take", lh_visited_take, METH_VARARGS, "visited_take(set, objects) -> (first, index)"},       \
        {"unreached_split", lh_unreached_split, METH_VARARGS,                                                 \
         "unreached_split(set, everything, held_by) -> (held, refcounts, rest)"},                            \
        {"stack_indexes", lh_stack_indexes, METH_VARARGS, "stack_indexes(objects, index_of) -> [int or None]"},  \
        {"sampled_blocks", lh_sampled_blocks, METH_O, "sampled_blocks(stack_ids) -> [(address, size, stack id)]"}, \
        {"orphans_at", lh_orphans_at, METH_VARARGS,                                                           \
         "orphans_at(set, blocks) -> [(object, refcount, immortal, interned)] not visited by the walk"},
