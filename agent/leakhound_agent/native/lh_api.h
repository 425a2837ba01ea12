/* _lhsampler, the module's functions (start, stop, snapshot, lookups).
 * Included by lhsampler.c in order (one compilation unit); not a header to include elsewhere. */

/* ------------------------------------------------------------------ Python API */

/* Forgets every Python-domain sample and the figures made of them (free-list ones too). */
static void py_figures_clear(void) {
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
        py_figures_clear();
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
    py_figures_clear();
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
    static char *kwlist[] = {"free_lists", "adjust", NULL};
    int free_lists = 0, adjust = 1;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|pp", kwlist, &free_lists, &adjust)) return NULL;
    check_hooks();
    /* adjust=False: a reading only (the per-test figures of the pytest plugin), which leaves
     * the sampling levels and the free-list filter to the periodic snapshots. */
    if (adjust) {
        if (G.active) watch_rebalance();
        flf_rebuild();
    }
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
    if (bt_find_own(&bt, addr, &slot)) return PyLong_FromUnsignedLong(bt.vals[slot].stack);
    Py_RETURN_NONE;
}

/* count_free_listed(stack_ids): the stacks whose free-listed blocks the lookups below still count,
 * for one retainer search ([] after it); at most FL_COUNTED_MAX, the rest ignored. */
static PyObject *lh_count_free_listed(PyObject *self, PyObject *arg) {
    PyObject *fast = PySequence_Fast(arg, "a sequence of stack ids");
    if (!fast) return NULL;
    int n = 0;
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(fast) && n < FL_COUNTED_MAX; i++) {
        unsigned long id = PyLong_AsUnsignedLong(PySequence_Fast_GET_ITEM(fast, i));
        if (PyErr_Occurred()) {
            Py_DECREF(fast);
            return NULL;
        }
        fl_counted[n++] = (uint32_t)id;
    }
    fl_counted_n = n;
    Py_DECREF(fast);
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
    uintptr_t addr = (uintptr_t)obj - preheader_size(Py_TYPE(obj));
    size_t slot;
    if (bt_find_own(&bt, addr, &slot)) return PyLong_FromUnsignedLong(bt.vals[slot].stack);
    Py_RETURN_NONE;
}

/* The sampled block holding an object: (stack id, block size, the probability it was
 * sampled with, from its size and the level it was drawn at), or None. */
static PyObject *lh_sample_of_object(PyObject *self, PyObject *obj) {
    uintptr_t addr = (uintptr_t)obj - preheader_size(Py_TYPE(obj));
    size_t slot;
    if (!bt_find_own(&bt, addr, &slot)) Py_RETURN_NONE;
    const bval *v = &bt.vals[slot];
    double p = sample_probability((double)v->size, level_mean(meta_level(v->meta)));
    return Py_BuildValue("(kKd)", (unsigned long)v->stack, (unsigned long long)v->size, p);
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
    fl_counted_n = 0;
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
