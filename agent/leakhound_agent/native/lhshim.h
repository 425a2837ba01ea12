/*
 * The contract between the LD_PRELOAD shim (libleakhound_malloc.so, lhmalloc.c)
 * and the sampler extension (_lhsampler, lhsampler.c). The extension finds the
 * shim with dlsym(RTLD_DEFAULT, "leakhound_shim_api") and, when sampling
 * starts, attaches its callbacks. Until then the shim only forwards calls.
 */
#ifndef LEAKHOUND_SHIM_H
#define LEAKHOUND_SHIM_H

#include <stddef.h>

#define LH_SHIM_ABI 2

typedef struct {
    int abi;
    /* A sampled block (any thread, GIL or not). Returns 1 when the sampler
     * keeps it (the shim must then report its free), 0 when it ignores it
     * (e.g. a Python-allocator block, which the Python hooks count already). */
    int (*on_alloc)(void *ptr, size_t size, double mean);
    /* A block that may have been kept is being freed or reallocated;
     * returns 1 when it was kept (and is now forgotten). */
    int (*on_free)(void *ptr, double mean);
} lh_sampler_callbacks;

typedef struct {
    int abi;
    /* Unsampled allocation for the sampler's own tables. */
    void *(*raw_malloc)(size_t);
    void *(*raw_calloc)(size_t, size_t);
    void (*raw_free)(void *);
    void (*attach)(const lh_sampler_callbacks *callbacks, double mean);
    void (*detach)(void);
    /* Forget every kept block (forked child). */
    void (*reset)(void);
    /* Counters: samples seen, kept blocks live, blocks the filter passed to on_free. */
    void (*stats)(unsigned long long out[4]);
} lh_shim_api;

typedef const lh_shim_api *(*lh_shim_get_api_fn)(void);

#endif
