/*
 * libleakhound_malloc.so: an LD_PRELOAD shim that samples malloc-level
 * allocations the way _lhsampler samples Python's allocators, so memory that a
 * C library allocates (through ctypes or an extension module) and never frees
 * is charged to the Python stack that called it.
 *
 * The shim is inert until the _lhsampler extension in the same process finds
 * it (dlsym "leakhound_shim_api") and attaches its callbacks: until then every
 * call is one load and a branch on top of glibc's own allocator. Processes
 * that never load the extension (children started by the target, the shell)
 * just pay that.
 *
 * Sampling is per thread (a thread-local byte countdown, exponentially
 * distributed with the mean the extension gives). A sampled block is handed to
 * the extension (on_alloc), which records its stack and size; the shim keeps
 * a small counting filter of kept addresses so that free() only calls back
 * for blocks that may have been kept.
 *
 * mmap()s made through the dynamic symbol (the mmap module, an allocator of a
 * library's own) are sampled like malloc blocks, munmap() and
 * mremap() like free and realloc: see "mmap" below. glibc's malloc, the
 * dynamic loader and thread stacks map memory through libc's internal calls,
 * which never reach this shim (large malloc() blocks are sampled as malloc
 * blocks); Python's own arenas do, inside a Python allocator, and the
 * extension ignores them there.
 *
 * dlsym is interposed too: a program that looks malloc up in a handle of its
 * own (ctypes.CDLL("libc.so.6").malloc, a library that dlopens libc and
 * resolves its allocator with dlsym) gets glibc's function directly, past
 * this shim, and its blocks would never be sampled. See "dlsym" below.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdarg.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "lhshim.h"

#define EXPORT __attribute__((visibility("default")))
#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)
#define TLS __thread __attribute__((tls_model("initial-exec")))

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
extern void *__libc_memalign(size_t, size_t);

static const lh_sampler_callbacks *volatile attached;
static double mean = 512.0 * 1024;
static unsigned long long n_samples, n_kept, n_free_checks;

#define FILTER_BITS 18
static uint8_t filter[1u << FILTER_BITS];
static volatile long filter_live; /* kept blocks not yet freed */
/* Set once a slot is written: until then the filter is the untouched, zero .bss
 * (256 KiB kept out of the resident set; clearing it would touch every page). */
static volatile int filter_dirty;

static void filter_clear(void) {
    if (filter_dirty) memset(filter, 0, sizeof(filter));
    filter_dirty = 0;
}

static TLS int64_t countdown;
static TLS uint64_t rng;
static TLS int guard;
static TLS unsigned my_epoch;
static volatile unsigned epoch;

static inline size_t filter_slot(void *p) {
    return (size_t)((((uint64_t)(uintptr_t)p >> 4) * 0x9E3779B97F4A7C15ULL) >> (64 - FILTER_BITS));
}

static uint64_t rng_next(void) {
    if (UNLIKELY(rng == 0)) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        rng = ((uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^ (uint64_t)(uintptr_t)&ts ^ ((uint64_t)getpid() << 40)) | 1;
    }
    uint64_t x = rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static int64_t draw(void) {
    double u = ((double)(rng_next() >> 11) + 1.0) * (1.0 / 9007199254740992.0);
    double v = -log(u) * mean;
    if (v < 1.0) return 1;
    if (v > 9.0e18) return INT64_MAX;
    return (int64_t)v;
}

static void __attribute__((noinline)) sample(void *p, size_t n) {
    const lh_sampler_callbacks *cb = attached;
    if (my_epoch != epoch) {
        /* This thread's first sample point since attach: start its Poisson process here. */
        my_epoch = epoch;
        countdown = draw();
        if ((countdown -= (int64_t)n) > 0) return;
    }
    countdown = draw();
    if (!cb || guard) return;
    guard = 1;
    __atomic_add_fetch(&n_samples, 1, __ATOMIC_RELAXED);
    if (cb->on_alloc(p, n, mean)) {
        size_t s = filter_slot(p);
        if (!filter_dirty) filter_dirty = 1;
        if (__atomic_load_n(&filter[s], __ATOMIC_RELAXED) != 255) __atomic_add_fetch(&filter[s], 1, __ATOMIC_RELAXED);
        __atomic_add_fetch(&filter_live, 1, __ATOMIC_RELAXED);
        __atomic_add_fetch(&n_kept, 1, __ATOMIC_RELAXED);
    }
    guard = 0;
}

static inline void count(void *p, size_t n) {
    if (UNLIKELY(attached != NULL) && LIKELY(p != NULL)) {
        if (UNLIKELY((countdown -= (int64_t)n) <= 0)) sample(p, n);
    }
}

static void __attribute__((noinline)) check_free_slow(void *p, size_t s) {
    const lh_sampler_callbacks *cb = attached;
    if (!cb || guard) return;
    guard = 1;
    __atomic_add_fetch(&n_free_checks, 1, __ATOMIC_RELAXED);
    if (cb->on_free(p, mean)) {
        uint8_t v = __atomic_load_n(&filter[s], __ATOMIC_RELAXED);
        if (v != 255 && v != 0) __atomic_sub_fetch(&filter[s], 1, __ATOMIC_RELAXED);
        __atomic_sub_fetch(&filter_live, 1, __ATOMIC_RELAXED);
    }
    guard = 0;
}

static inline void check_free(void *p) {
    if (UNLIKELY(filter_live > 0) && p) {
        size_t s = filter_slot(p);
        if (UNLIKELY(__atomic_load_n(&filter[s], __ATOMIC_RELAXED) != 0)) check_free_slow(p, s);
    }
}

EXPORT void *malloc(size_t n) {
    void *p = __libc_malloc(n);
    count(p, n);
    return p;
}

EXPORT void *calloc(size_t a, size_t b) {
    void *p = __libc_calloc(a, b);
    count(p, a * b);
    return p;
}

EXPORT void *realloc(void *old, size_t n) {
    if (old) check_free(old);
    void *p = __libc_realloc(old, n);
    count(p, n);
    return p;
}

EXPORT void *reallocarray(void *old, size_t a, size_t b) {
    size_t n;
    if (__builtin_mul_overflow(a, b, &n)) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc(old, n);
}

EXPORT void free(void *p) {
    check_free(p);
    __libc_free(p);
}

EXPORT void cfree(void *p) { free(p); }

EXPORT void *memalign(size_t align, size_t n) {
    void *p = __libc_memalign(align, n);
    count(p, n);
    return p;
}

EXPORT void *aligned_alloc(size_t align, size_t n) { return memalign(align, n); }

EXPORT int posix_memalign(void **out, size_t align, size_t n) {
    if (align < sizeof(void *) || (align & (align - 1)) != 0) return EINVAL;
    void *p = __libc_memalign(align, n);
    if (!p) return ENOMEM;
    count(p, n);
    *out = p;
    return 0;
}

EXPORT void *valloc(size_t n) { return memalign((size_t)sysconf(_SC_PAGESIZE), n); }

EXPORT void *pvalloc(size_t n) {
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    return memalign(page, (n + page - 1) & ~(page - 1));
}

/* ------------------------------------------------------------------ mmap
 *
 * A mapping is sampled by its length, in the same byte countdown as malloc:
 * anonymous ones and files' alike (a file's pages that are read count in the
 * resident set, and a program that keeps mapping files keeps them there).
 * Left alone: PROT_NONE (address space reserved, not memory) and MAP_FIXED
 * (pages laid over a range already mapped: an allocator committing what it
 * reserved, the loader). munmap and mremap of a sampled mapping's start forget
 * it (a partial unmap forgets it whole); mremap's result is a new mapping,
 * sampled by its new length. The calls go straight to the kernel: glibc's
 * wrappers are only the system call on these machines, and looking them up
 * with dlsym could itself map memory. */
#if defined(__linux__) && (defined(__x86_64__) || defined(__aarch64__)) && defined(SYS_mmap) && defined(SYS_mremap)
static inline int sampled_mapping(int prot, int flags) { return !(flags & MAP_FIXED) && prot != PROT_NONE; }

EXPORT void *mmap(void *addr, size_t n, int prot, int flags, int fd, off_t off) {
    void *p = (void *)syscall(SYS_mmap, addr, n, prot, flags, fd, off);
    if (p != MAP_FAILED && sampled_mapping(prot, flags)) count(p, n);
    return p;
}

EXPORT void *mmap64(void *addr, size_t n, int prot, int flags, int fd, off_t off) {
    return mmap(addr, n, prot, flags, fd, off);
}

EXPORT int munmap(void *addr, size_t n) {
    check_free(addr);
    return (int)syscall(SYS_munmap, addr, n);
}

EXPORT void *mremap(void *old, size_t old_n, size_t n, int flags, ...) {
    void *want = NULL;
    if (flags & MREMAP_FIXED) {
        va_list ap;
        va_start(ap, flags);
        want = va_arg(ap, void *);
        va_end(ap);
    }
    check_free(old);
    void *p = (void *)syscall(SYS_mremap, old, old_n, n, flags, want);
    if (p != MAP_FAILED) count(p, n);
    return p;
}
#endif

/* ------------------------------------------------------------------ dlsym
 *
 * dlsym(handle, "malloc") with a handle of libc (or of any object whose scope
 * holds libc) answers libc's own malloc, not this shim's: the caller then
 * allocates past the sampler. So for the allocator's names, when the answer
 * is exactly the function this shim forwards to (the next definition after
 * the shim, i.e. the same libc in the same link-map namespace), the shim's
 * own function is answered instead. Anything else is passed through as is:
 * another allocator (jemalloc dlopened by a library), a copy of libc in a
 * dlmopen namespace (a different heap: its blocks must never reach this
 * shim's free), and every other name.
 *
 * RTLD_NEXT and RTLD_DEFAULT lookups are forwarded untouched, and as a tail
 * call: glibc resolves them relative to the object that called dlsym (its
 * return address), so the shim must not stand in between as the caller. A
 * wrapper that asks for RTLD_NEXT "malloc" keeps getting the next one, and
 * RTLD_DEFAULT finds this shim first anyway (it is preloaded).
 *
 * The real dlsym is found with dlvsym(RTLD_NEXT, "dlsym", version): dlvsym is
 * not interposed, so that lookup cannot come back here. glibc 2.34+ defines
 * dlsym in libc (GLIBC_2.34); before, in libdl, at the architecture's base
 * version. Nothing here calls malloc, and malloc never calls dlsym. */

typedef void *(*dlsym_fn)(void *, const char *);
static dlsym_fn real_dlsym_ptr;

static dlsym_fn real_dlsym(void) {
    dlsym_fn f = __atomic_load_n(&real_dlsym_ptr, __ATOMIC_ACQUIRE);
    if (LIKELY(f != NULL)) return f;
    static const char *const versions[] = {"GLIBC_2.34", "GLIBC_2.2.5", "GLIBC_2.17", "GLIBC_2.4",
                                           "GLIBC_2.27", "GLIBC_2.0",  "GLIBC_2.1",  "GLIBC_2.3"};
    for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]) && !f; i++)
        f = (dlsym_fn)dlvsym(RTLD_NEXT, "dlsym", versions[i]);
    if (!f) {
        static const char msg[] = "libleakhound_malloc: cannot find the real dlsym\n";
        ssize_t ignored = write(2, msg, sizeof(msg) - 1);
        (void)ignored;
        abort();
    }
    __atomic_store_n(&real_dlsym_ptr, f, __ATOMIC_RELEASE);
    return f;
}

/* The allocator's names, this shim's function for each, and (found on first
 * use) the definition the shim itself stands in front of. */
static struct {
    const char *name;
    void *ours;
    void *volatile next; /* (void *)-1: not looked up yet */
} swaps[] = {
    {"malloc", (void *)malloc, (void *)-1},
    {"calloc", (void *)calloc, (void *)-1},
    {"realloc", (void *)realloc, (void *)-1},
    {"reallocarray", (void *)reallocarray, (void *)-1},
    {"free", (void *)free, (void *)-1},
    {"cfree", (void *)cfree, (void *)-1},
    {"memalign", (void *)memalign, (void *)-1},
    {"aligned_alloc", (void *)aligned_alloc, (void *)-1},
    {"posix_memalign", (void *)posix_memalign, (void *)-1},
    {"valloc", (void *)valloc, (void *)-1},
    {"pvalloc", (void *)pvalloc, (void *)-1},
};

static int swap_index(const char *name) {
    if (!name) return -1;
    /* Cheap first test: every name above has one of these first letters. */
    char c = name[0];
    if (c != 'm' && c != 'c' && c != 'r' && c != 'f' && c != 'a' && c != 'p' && c != 'v') return -1;
    for (int i = 0; i < (int)(sizeof(swaps) / sizeof(swaps[0])); i++)
        if (strcmp(name, swaps[i].name) == 0) return i;
    return -1;
}

static void *__attribute__((noinline)) swapped(void *handle, const char *name, int i) {
    dlsym_fn real = real_dlsym();
    void *found = real(handle, name);
    if (!found || found == swaps[i].ours) return found;
    void *next = swaps[i].next;
    if (next == (void *)-1) {
        /* Called from here, RTLD_NEXT means "after this shim": what the shim forwards to. */
        next = real(RTLD_NEXT, name);
        swaps[i].next = next;
    }
    return found == next ? swaps[i].ours : found;
}

EXPORT void *dlsym(void *handle, const char *name) {
    int i;
    if (handle != RTLD_NEXT && handle != RTLD_DEFAULT && UNLIKELY((i = swap_index(name)) >= 0))
        return swapped(handle, name, i);
    /* A sibling call (a jump): glibc sees the caller's return address, not the shim's. */
#if defined(__clang__)
    __attribute__((musttail)) return real_dlsym()(handle, name);
#else
    return real_dlsym()(handle, name);
#endif
}

/* ------------------------------------------------------------------ API for _lhsampler */

static void api_attach(const lh_sampler_callbacks *cb, double m) {
    if (!cb || cb->abi != LH_SHIM_ABI) return;
    mean = m >= 1.0 ? m : 1.0;
    filter_clear();
    filter_live = 0;
    __atomic_add_fetch(&epoch, 1, __ATOMIC_RELAXED);
    __atomic_store_n(&attached, cb, __ATOMIC_RELEASE);
}

static void api_detach(void) {
    __atomic_store_n(&attached, NULL, __ATOMIC_RELEASE);
    filter_live = 0;
}

static void api_reset(void) {
    filter_clear();
    filter_live = 0;
    rng = 0;
}

static void api_stats(unsigned long long out[4]) {
    out[0] = n_samples;
    out[1] = (unsigned long long)filter_live;
    out[2] = n_free_checks;
    out[3] = n_kept;
}

static const lh_shim_api api = {LH_SHIM_ABI, __libc_malloc, __libc_calloc, __libc_free,
                                api_attach,   api_detach,    api_reset,     api_stats};

EXPORT const lh_shim_api *leakhound_shim_api(void) { return &api; }
