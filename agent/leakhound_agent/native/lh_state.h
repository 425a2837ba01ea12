/* _lhsampler, the sampler's global state, its random numbers, locks and own memory.
 * Included by lhsampler.c in order (one compilation unit); not a header to include elsewhere. */

/* ------------------------------------------------------------------ state */

typedef struct {
    PyMemAllocatorEx prev;
    PyMemAllocatorDomain domain;
    int installed;
} hook_t;

static hook_t hooks[2] = {{.domain = PYMEM_DOMAIN_MEM}, {.domain = PYMEM_DOMAIN_OBJ}};

static struct {
    int active;            /* sampling */
    int in_capture;        /* re-entrancy guard (GIL-protected) */
    int64_t countdown;     /* bytes until the next sample point */
    double mean;           /* mean bytes between sample points */
    int nframes;
    uint64_t rng;
    int probing, probe_hit; /* check_hooks() */
    int64_t probe_saved;
    uint64_t samples;      /* samples taken */
    uint64_t hooks_lost;   /* times our hooks were found removed */
    int native_attached;   /* the shim reports to us: mark Python-allocator calls */
    int py_alloc_depth;
    double live_bytes, live_count; /* sum of the weights of live sampled blocks */
} G = {.countdown = INT64_MAX, .mean = 512.0 * 1024, .nframes = 16};

static size_t own_bytes; /* memory held by our tables (approximate) */

static double now_mono(void);

/* ------------------------------------------------------------------ random */

static uint64_t rng_next(uint64_t *s) {
    /* xorshift64* */
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static uint64_t seed_value(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t s = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^ ((uint64_t)getpid() << 16) ^ (uint64_t)(uintptr_t)&ts;
    s ^= 0x9E3779B97F4A7C15ULL;
    return s ? s : 1;
}

/* An exponentially distributed draw with mean m, as a byte count >= 1. */
static int64_t draw_interval(uint64_t *state, double m) {
    double u = ((double)(rng_next(state) >> 11) + 1.0) * (1.0 / 9007199254740992.0); /* (0, 1] */
    double v = -log(u) * m;
    if (v < 1.0) return 1;
    if (v > 9.0e18) return INT64_MAX;
    return (int64_t)v;
}

/* Probability that a block of size s contains a sample point. */
static inline double sample_probability(double s, double m) {
    double p = -expm1(-s / m);
    return p > 0 ? p : 1e-300;
}

/* ------------------------------------------------------------------ locks */

static pthread_mutex_t stack_lock = PTHREAD_MUTEX_INITIALIZER;  /* interning */
static pthread_mutex_t native_lock = PTHREAD_MUTEX_INITIALIZER; /* native block table */

/* ------------------------------------------------------------------ our own memory */

/* Our tables never use the Python allocators (we are inside them). When the
 * shim is loaded, `malloc` is the shim's: use its unsampled entry points. */
static const lh_shim_api *shim;

static void *sys_malloc(size_t n) { return shim ? shim->raw_malloc(n) : malloc(n); }
static void *sys_calloc(size_t a, size_t b) { return shim ? shim->raw_calloc(a, b) : calloc(a, b); }
static void sys_free(void *p) {
    if (shim) shim->raw_free(p);
    else free(p);
}
