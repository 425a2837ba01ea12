/* _lhsampler, malloc-level samples from the LD_PRELOAD shim, and fork.
 * Included by lhsampler.c in order (one compilation unit); not a header to include elsewhere. */

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
