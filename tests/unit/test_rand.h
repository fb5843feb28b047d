/* Seeded random numbers (splitmix64) and a checked malloc for the runtime
 * kernel tests.  Define RNG_SEED before including: each test keeps its own
 * sequence. */
#ifndef DLC_TEST_RAND_H
#define DLC_TEST_RAND_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static uint64_t rng_state = RNG_SEED;

static inline uint64_t rng_next(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

static inline double rng_uniform_d(void) /* [-1, 1), 53 bits */
{
    return (double)(rng_next() >> 11) * (2.0 / 9007199254740992.0) - 1.0;
}

static inline float rng_uniform(void) /* [-1, 1) */
{
    return (float)rng_uniform_d();
}

static inline int rng_int(int lo, int hi) /* [lo, hi] */
{
    return lo + (int)(rng_next() % (uint64_t)(hi - lo + 1));
}

static inline int rng_below(int n) /* [0, n) */
{
    return (int)(rng_next() % (uint64_t)n);
}

static inline void *xmalloc(size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return p;
}

#endif
