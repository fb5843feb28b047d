/* Minimal test helpers: each CHECK prints what failed and counts it. */
#ifndef DLC_TEST_CHECK_H
#define DLC_TEST_CHECK_H

#include <stdio.h>

static int check_failures;

#define CHECK(cond)                                                              \
    do {                                                                         \
        if (!(cond)) {                                                           \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            check_failures++;                                                    \
        }                                                                        \
    } while (0)

#define CHECK_EQ(want, got)                                                      \
    do {                                                                         \
        long long w_ = (long long)(want), g_ = (long long)(got);                 \
        if (w_ != g_) {                                                          \
            fprintf(stderr, "%s:%d: %s: want %lld, got %lld\n", __FILE__, __LINE__, \
                    #got, w_, g_);                                               \
            check_failures++;                                                    \
        }                                                                        \
    } while (0)

static int check_report(const char *name)
{
    if (check_failures)
        fprintf(stderr, "%s: %d check(s) failed\n", name, check_failures);
    else
        printf("%s: all checks passed\n", name);
    return check_failures != 0;
}

#endif
