/* test_rt_softmax.c - rt_softmax (Softmax, LogSoftmax over contiguous
 * rows) against double precision.
 *
 * Softmax passes when |got - exp| <= 1e-6 + 2e-6 * |exp|, LogSoftmax when
 * |got - exp| <= 2e-6 * (1 + |exp|) (exp computed in double from the same
 * float inputs).  Rows of 1..300 floats, values uniform in [-s, s] for
 * scales s from 0.1 to 100 (large s: most exponentials underflow), the
 * output in a separate buffer and in place, many rows (the threaded path
 * when built with OpenMP).  A NaN in a row makes that row NaN and no
 * other; rows with -inf entries give exactly 0 (or -inf) there.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/rt.h"

#define RNG_SEED 0x0DDB1A5E5BAD5EEDu
#include "test_rand.h"

static int n_failed, n_cases;
static double worst;

static int check_rows(const float *x, const float *y, ptrdiff_t rows, ptrdiff_t len, int lg)
{
    ptrdiff_t r, j;
    int bad = 0;
    for (r = 0; r < rows; r++) {
        const float *xr = x + r * len;
        double m = -INFINITY, s = 0;
        for (j = 0; j < len; j++)
            m = xr[j] > m ? xr[j] : m;
        for (j = 0; j < len; j++)
            s += exp((double)xr[j] - m);
        for (j = 0; j < len; j++) {
            double want = lg ? (double)xr[j] - m - log(s) : exp((double)xr[j] - m) / s;
            double tol = lg ? 2e-6 * (1 + fabs(want)) : 1e-6 + 2e-6 * fabs(want);
            double err = isinf(want) ? (y[r * len + j] == want ? 0 : INFINITY)
                                     : fabs(y[r * len + j] - want);
            if (!(err <= tol)) {
                if (bad++ < 3)
                    fprintf(stderr, "  row %td [%td]: %.9g, expected %.9g\n", r, j,
                            y[r * len + j], want);
            } else if (err / tol > worst) {
                worst = err / tol;
            }
        }
    }
    return bad;
}

static void random_rows(void)
{
    static const int lens[] = {1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 33, 64, 128, 255, 300};
    static const double scales[] = {0.1, 1, 10, 100};
    int li, si, lg, inplace;
    for (li = 0; li < (int)(sizeof lens / sizeof lens[0]); li++)
        for (si = 0; si < 4; si++)
            for (lg = 0; lg < 2; lg++)
                for (inplace = 0; inplace < 2; inplace++) {
                    ptrdiff_t len = lens[li], rows = 5 + li, i;
                    float *x = xmalloc(sizeof(float) * (size_t)(rows * len));
                    float *y = xmalloc(sizeof(float) * (size_t)(rows * len));
                    float *x0 = xmalloc(sizeof(float) * (size_t)(rows * len));
                    for (i = 0; i < rows * len; i++)
                        x0[i] = x[i] = (float)(scales[si] * rng_uniform_d());
                    if (inplace) {
                        rt_softmax(x, x, rows, len, lg);
                        memcpy(y, x, sizeof(float) * (size_t)(rows * len));
                    } else {
                        rt_softmax(x, y, rows, len, lg);
                    }
                    n_cases++;
                    if (check_rows(x0, y, rows, len, lg)) {
                        n_failed++;
                        fprintf(stderr, "FAIL %s len=%td scale=%g %s\n",
                                lg ? "logsoftmax" : "softmax", len, scales[si],
                                inplace ? "in place" : "");
                    }
                    free(x);
                    free(y);
                    free(x0);
                }
    printf("softmax: random rows, 15 lengths x 4 scales x soft/log x in place: %d cases, "
           "%d failed\n", n_cases, n_failed);
}

/* the threaded path: 12 x 128 rows of 128 (an attention block) */
static void big(void)
{
    ptrdiff_t rows = 12 * 128, len = 128, i;
    float *x = xmalloc(sizeof(float) * (size_t)(rows * len));
    float *y = xmalloc(sizeof(float) * (size_t)(rows * len));
    int lg, before = n_failed;
    for (lg = 0; lg < 2; lg++) {
        for (i = 0; i < rows * len; i++)
            x[i] = (float)(3 * rng_uniform_d());
        rt_softmax(x, y, rows, len, lg);
        n_cases++;
        if (check_rows(x, y, rows, len, lg))
            n_failed++;
    }
    printf("softmax: 1536 rows of 128: %s\n", n_failed == before ? "ok" : "FAILED");
    free(x);
    free(y);
}

/* rt_softmax_strided: x viewed as [outer, len, inner]; checked on the
 * contiguous rows gathered from it (inner 1, 5, 16, 300, 600: within one
 * chunk of columns, several, and a partial last one), out of place and in
 * place, with a -inf in one column and a NaN in another. */
static void strided(void)
{
    static const ptrdiff_t inners[] = {1, 5, 16, 300, 600};
    static const ptrdiff_t lens[] = {1, 3, 16, 33};
    int ii, li, lg, inplace, before = n_failed, cases = 0;
    for (ii = 0; ii < 5; ii++)
        for (li = 0; li < 4; li++)
            for (lg = 0; lg < 2; lg++)
                for (inplace = 0; inplace < 2; inplace++) {
                    ptrdiff_t outer = 3, len = lens[li], inner = inners[ii];
                    ptrdiff_t n = outer * len * inner, o, j, i;
                    float *x = xmalloc(sizeof(float) * (size_t)n);
                    float *y = xmalloc(sizeof(float) * (size_t)n);
                    float *xr = xmalloc(sizeof(float) * (size_t)n);
                    float *yr = xmalloc(sizeof(float) * (size_t)n);
                    int bad = 0;
                    for (i = 0; i < n; i++)
                        x[i] = (float)(5 * rng_uniform_d());
                    if (len > 1) {
                        x[(1 * len + 0) * inner + inner - 1] = -INFINITY;
                        x[(2 * len + len - 1) * inner + 0] = NAN;
                    }
                    /* row (o, i) of xr: column i of block o */
                    for (o = 0; o < outer; o++)
                        for (i = 0; i < inner; i++)
                            for (j = 0; j < len; j++)
                                xr[(o * inner + i) * len + j] = x[(o * len + j) * inner + i];
                    rt_softmax_strided(x, inplace ? x : y, outer, len, inner, lg);
                    for (o = 0; o < outer; o++)
                        for (i = 0; i < inner; i++)
                            for (j = 0; j < len; j++)
                                yr[(o * inner + i) * len + j] =
                                    (inplace ? x : y)[(o * len + j) * inner + i];
                    /* the NaN column is NaN throughout, the rest as rows */
                    if (len > 1) {
                        for (j = 0; j < len; j++) {
                            bad |= !isnan(yr[(2 * inner + 0) * len + j]);
                            xr[(2 * inner + 0) * len + j] = 0.0f;
                            yr[(2 * inner + 0) * len + j] = lg ? -logf((float)len)
                                                               : 1.0f / (float)len;
                        }
                    }
                    bad |= check_rows(xr, yr, outer * inner, len, lg) != 0;
                    cases++;
                    n_cases++;
                    if (bad) {
                        n_failed++;
                        fprintf(stderr, "FAIL strided %s len=%td inner=%td %s\n",
                                lg ? "logsoftmax" : "softmax", len, inner,
                                inplace ? "in place" : "");
                    }
                    free(x);
                    free(y);
                    free(xr);
                    free(yr);
                }
    printf("softmax: strided axis, %d cases: %s\n", cases, n_failed == before ? "ok" : "FAILED");
}

static void specials(void)
{
    float x[3 * 20], y[3 * 20];
    int j, bad = 0, lg;
    for (lg = 0; lg < 2; lg++) {
        for (j = 0; j < 60; j++)
            x[j] = (float)(j % 7) * 0.5f;
        x[25] = NAN;            /* row 1 */
        x[41] = -INFINITY;      /* row 2 */
        rt_softmax(x, y, 3, 20, lg);
        for (j = 0; j < 20; j++)
            bad |= isnan(y[j]) || isnan(y[40 + j]);
        for (j = 20; j < 40; j++)
            bad |= !isnan(y[j]);
        bad |= lg ? !(isinf(y[41]) && y[41] < 0) : y[41] != 0.0f;
    }
    n_cases++;
    n_failed += bad;
    printf("softmax: NaN row stays NaN alone, -inf gives 0 / -inf: %s\n", bad ? "FAILED" : "ok");
}

int main(void)
{
    random_rows();
    big();
    strided();
    specials();
    printf("softmax: worst error / tolerance %.3f\n", worst);
    if (n_failed) {
        printf("softmax: FAIL (%d of %d)\n", n_failed, n_cases);
        return 1;
    }
    printf("softmax: PASS (%d cases)\n", n_cases);
    return 0;
}
