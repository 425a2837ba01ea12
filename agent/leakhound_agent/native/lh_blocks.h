/* _lhsampler, the table of sampled blocks and its counting filter.
 * Included by lhsampler.c in order (one compilation unit); not a header to include elsewhere. */

/* ------------------------------------------------------------------ sampled blocks */

typedef struct {
    uint64_t size;
    uint32_t stack;
    uint32_t meta; /* Python domain: the sampling level and watch entry (meta_pack) */
} bval;

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
}
