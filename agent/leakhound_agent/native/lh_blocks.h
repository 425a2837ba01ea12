/* _lhsampler, the table of sampled blocks and its counting filter.
 * Included by lhsampler.c in order (one compilation unit); not a header to include elsewhere. */

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

/* The stacks whose free-listed blocks the retainer search still counts (count_free_listed): those
 * whose leak is memory that objects made elsewhere reuse from CPython's free lists; the objects there
 * now are its story (where that memory went). Set for one search, a handful at most. */
#define FL_COUNTED_MAX 64
static uint32_t fl_counted[FL_COUNTED_MAX];
static int fl_counted_n;

/* A sampled block whose memory still belongs to what its stack made: not one whose object went
 * onto a free list (the object there now, if any, was made by another line from the list), unless
 * the search counts that stack's free-listed blocks. */
static inline int bv_own(const bval *v) {
    if (!(v->size & BV_FREELIST)) return 1;
    for (int i = 0; i < fl_counted_n; i++)
        if (fl_counted[i] == v->stack) return 1;
    return 0;
}

static inline int bt_find_own(const btable *t, uintptr_t k, size_t *slot) {
    return t->count && bt_find(t, k, slot) && bv_own(&t->vals[*slot]);
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
