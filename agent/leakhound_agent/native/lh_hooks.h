/* _lhsampler, the allocator hooks and what they sample.
 * Included by lhsampler.c in order (one compilation unit); not a header to include elsewhere. */

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
