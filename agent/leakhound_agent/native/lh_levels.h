/* _lhsampler, levels: finer sampling where memory stays alive.
 * Included by lhsampler.c in order (one compilation unit); not a header to include elsewhere. */

/* ------------------------------------------------------------------ watched instructions
 *
 * One interval for every allocation forces a choice between cost and
 * accuracy: at the default 32 KiB a 1 MB site is known to about +-18%. So the
 * sample points fall finer (every `tmin` bytes on average, 64 times finer)
 * and each point is thinned to the level of the instruction that allocated:
 * an instruction (code object, offset) whose sampled blocks stay alive gets
 * the fine interval, one whose blocks are soon freed (churn: the program's
 * working memory, the bulk of all allocation) or that holds much memory gets
 * a coarser one, up to `mean`. A block of size s allocated at level k
 * (interval tmin * 2^k) is kept with probability p(s, tmin * 2^k) exactly, the
 * level being fixed before the draw, so every estimate stays unbiased; the
 * level is stored with the block to weigh it when it is freed.
 *
 * An instruction is watched from the first sample point that falls in one of
 * its blocks and sampled finely from its WATCH_HITS-th (a few KB in: code
 * that runs once, such as module bodies at import, stays coarse, and little
 * of a growing site's memory is ever sampled coarsely). Its
 * level rises with its live memory (about WATCH_K live samples per
 * instruction: a growing site keeps a relative error near 1/sqrt(2 WATCH_K),
 * about 2%) and by one each time WATCH_CHURN of its samples are freed; it
 * falls by one at a rebalance (each snapshot) when none was. All samples
 * below the coarsest level together are held to WATCH_FINE_BURST between
 * rebalances and WATCH_FINE_RATE per second by a floor under every level;
 * the sample points themselves fall at the floor's interval, and a program
 * that allocates so fast that they would pass WATCH_POINT_RATE per second
 * raises the floor too (its sites are then sampled coarser, never biased).
 * The table holds no references: a code object that dies and whose address is
 * reused only makes another instruction watched, never a wrong weight.
 * The first WATCH_WARMUP seconds (start-up, imports: memory that stays but
 * does not grow, in thousands of short-lived stacks) are sampled at `mean`;
 * fine sampling starts at the first snapshot after them. */
#define WATCH_POOL 512u          /* instructions watched at once */
#define WATCH_SLOTS 1024u        /* index slots (power of two, >= 2 * WATCH_POOL) */
#define WATCH_K 1024.0           /* live samples per instruction before its interval doubles */
#define WATCH_WARMUP 0.5         /* seconds from start at the coarsest level (start-up: imports) */
#define WATCH_HITS 8u            /* sample points an instruction takes at the coarsest level first */
#define WATCH_CHURN 8u           /* freed samples of an instruction that double its interval */
#define WATCH_FINE_BURST 8192u   /* fine samples between rebalances that raise the floor */
#define WATCH_FINE_RATE 10000.0  /* fine samples per second kept at a rebalance */
#define WATCH_POINT_RATE 50000.0  /* sample points per second before the floor rises */
#define WATCH_PACE_POINTS 8192u  /* sample points between checks of their rate */
#define WATCH_LEVELS 7           /* levels 0..6: tmin .. mean = 64 tmin */

typedef struct {
    PyCodeObject *code; /* NULL: free */
    int lasti;
    uint32_t gen;
    uint8_t live_level, churn_level, touched, _pad;
    uint32_t hits; /* sample points that fell in its blocks, up to WATCH_HITS */
    uint32_t churn, churn_period, idle;
    double live_w; /* estimated live bytes of the blocks sampled here */
    int64_t live_n;
} wentry;

static struct {
    wentry pool[WATCH_POOL];
    uint16_t slots[WATCH_SLOTS]; /* pool index + 1, 0: empty */
    uint32_t used;      /* pool entries ever handed out (pages past them stay untouched) */
    int32_t free_head;  /* evicted entries, linked through `lasti`; -1: none */
    uint32_t count, next_gen;
    int lmax;   /* the level whose interval is `mean` */
    int floor;  /* the lowest level any instruction gets */
    double tmin; /* the interval at level 0 */
    uint64_t fine_period, evictions;
    uint64_t points;                      /* sample points since start */
    uint64_t points_at_rebalance, points_at_pace;
    double last_rebalance, last_pace, started;
    int warm; /* in the start-up period: the floor stays at the coarsest level */
} W;

static inline size_t w_home(const PyCodeObject *code, int lasti) {
    return (size_t)mix64((uint64_t)(uintptr_t)code ^ ((uint64_t)(uint32_t)lasti << 48)) & (WATCH_SLOTS - 1);
}

static int watch_levels = WATCH_LEVELS; /* start(levels=...): 1 samples every block at `mean` */

/* The level whose interval is `mean`: 64 times finer at level 0, but not below 256 bytes (or the mean). */
static int top_level_for(double mean, int levels) {
    int lmax = levels - 1;
    while (lmax > 0 && mean / (double)(1 << lmax) < 256.0) lmax--;
    return lmax;
}

static void watch_reset(double mean) {
    /* Only what was used is cleared: untouched pages of the table cost no memory. */
    if (W.used) memset(W.pool, 0, W.used * sizeof(wentry));
    memset(W.slots, 0, sizeof(W.slots));
    W.used = 0;
    W.free_head = -1;
    W.count = 0;
    int lmax = top_level_for(mean, watch_levels);
    W.lmax = lmax;
    W.tmin = mean / (double)(1 << lmax);
    W.floor = lmax;
    W.warm = 1;
    W.fine_period = W.evictions = W.points = W.points_at_rebalance = W.points_at_pace = 0;
    W.last_rebalance = W.last_pace = W.started = now_mono();
}

static inline double level_mean(int level) { return W.tmin * (double)(1 << level); }

/* Sample points fall at the floor's interval; a new rate takes effect at
 * once (the process is memoryless, so the countdown is simply drawn again). */
static void watch_set_floor(int floor) {
    if (floor < 0) floor = 0;
    if (floor > W.lmax) floor = W.lmax;
    if (floor == W.floor) return;
    W.floor = floor;
    if (G.active) G.countdown = draw_interval(&G.rng, level_mean(floor));
}

/* Every WATCH_PACE_POINTS sample points: too many per second raise the floor. */
static void __attribute__((noinline)) watch_pace(void) {
    double t = now_mono(), dt = t - W.last_pace;
    W.last_pace = t;
    W.points_at_pace = W.points;
    if (dt > 0 && WATCH_PACE_POINTS / dt > WATCH_POINT_RATE && !W.warm) watch_set_floor(W.floor + 1);
}

/* The pool index of the instruction's entry, added when missing; -1 when the table is full. */
static inline int watch_slot(PyCodeObject *code, int lasti) {
    size_t i = w_home(code, lasti);
    for (;;) {
        uint16_t s = W.slots[i];
        if (!s) break;
        wentry *e = &W.pool[s - 1];
        if (e->code == code && e->lasti == lasti) return s - 1;
        i = (i + 1) & (WATCH_SLOTS - 1);
    }
    uint32_t k;
    if (W.free_head >= 0) {
        k = (uint32_t)W.free_head;
        W.free_head = W.pool[k].lasti;
    } else if (W.used < WATCH_POOL) {
        k = W.used++;
    } else {
        return -1;
    }
    wentry *e = &W.pool[k];
    memset(e, 0, sizeof(*e));
    e->code = code;
    e->lasti = lasti;
    e->gen = ++W.next_gen & 0x3FFFFu;
    W.slots[i] = (uint16_t)(k + 1);
    W.count++;
    return k;
}

/* Lowest level at which the instruction's live memory is held in about WATCH_K samples. */
static inline void watch_relevel(wentry *e) {
    int l = 0;
    double cap = WATCH_K * W.tmin;
    while (l < W.lmax && e->live_w > cap) {
        cap *= 2.0;
        l++;
    }
    e->live_level = (uint8_t)l;
}

/* Block metadata: level (4 bits), pool index + 1 (10 bits), generation (18 bits). */
static inline uint32_t meta_pack(int level, int slot, uint32_t gen) {
    if (slot < 0) return (uint32_t)level;
    return (uint32_t)level | ((uint32_t)(slot + 1) << 4) | (gen << 14);
}
static inline int meta_level(uint32_t m) { return (int)(m & 15u); }
static inline wentry *meta_entry(uint32_t m) {
    uint32_t k = (m >> 4) & 0x3FFu;
    if (!k) return NULL;
    wentry *e = &W.pool[k - 1];
    return (e->code && e->gen == (m >> 14)) ? e : NULL;
}

/* Called on each snapshot (GIL held): levels fall back, room for new instructions. */
static void watch_rebalance(void) {
    double t = now_mono(), dt = t - W.last_rebalance;
    if (dt < 0.05) return;
    W.last_rebalance = t;
    int crowded = W.count > WATCH_POOL * 3 / 4;
    int evicted = 0;
    for (uint32_t k = 0; k < W.used; k++) {
        wentry *e = &W.pool[k];
        if (!e->code) continue;
        if (e->churn_period == 0 && e->churn_level > 0) e->churn_level--;
        e->churn_period = 0;
        e->idle = e->touched ? 0 : e->idle + 1;
        e->touched = 0;
        /* An instruction that stopped allocating makes room; its blocks keep their weights. */
        if (crowded && e->idle >= 2) {
            e->code = NULL;
            e->lasti = W.free_head;
            W.free_head = (int32_t)k;
            W.count--;
            W.evictions++;
            evicted = 1;
        }
    }
    if (evicted) {
        memset(W.slots, 0, sizeof(W.slots));
        for (uint32_t k = 0; k < W.used; k++) {
            wentry *e = &W.pool[k];
            if (!e->code) continue;
            size_t i = w_home(e->code, e->lasti);
            while (W.slots[i]) i = (i + 1) & (WATCH_SLOTS - 1);
            W.slots[i] = (uint16_t)(k + 1);
        }
    }
    double fine = W.fine_period / dt, points = (W.points - W.points_at_rebalance) / dt;
    if (W.warm) {
        /* The end of start-up: from here the rates decide. */
        if (t - W.started >= WATCH_WARMUP) {
            W.warm = 0;
            watch_set_floor(0);
        }
    } else if (fine > WATCH_FINE_RATE) watch_set_floor(W.floor + 1);
    else if (fine < WATCH_FINE_RATE / 4 && points < WATCH_POINT_RATE / 4) watch_set_floor(W.floor - 1);
    W.fine_period = 0;
    W.points_at_rebalance = W.points;
}
