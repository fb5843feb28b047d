/* test_rt_gemm.c - rt_sgemm against a double-precision reference.
 *
 * An element passes when |got - exp| <= 1e-4 + 1e-4 * |exp| (exp computed
 * in double from the same float inputs).  Inputs are uniform in [-1, 1]
 * from a seeded PRNG, so every run checks the same numbers.  Besides the
 * values, each case checks that:
 *   - padding between rows of A and B (lda/ldb larger than needed, filled
 *     with NaN) is never read (a read would turn a result into NaN);
 *   - padding between rows of C (ldc > N) is never written;
 *   - beta == 0 never reads C (C starts as NaN);
 *   - scratch is used within rt_sgemm_scratch() floats (the buffer is
 *     malloc'ed to exactly that size, at an odd float offset, so that
 *     AddressSanitizer catches an overrun and alignment is not assumed),
 *     and is not assumed to be zeroed (it starts as NaN).
 * Exit status 0 when every case passes.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/rt.h"

#define ATOL 1e-4
#define RTOL 1e-4
#define C_PAD_SENTINEL (-777.0f)

#define RNG_SEED 0x9E3779B97F4A7C15u
#include "test_rand.h"

static int n_cases, n_failed;
static double worst_ratio; /* max |got - exp| / (ATOL + RTOL |exp|) */

/* One call of rt_sgemm on fresh random data, checked element by element.
 * pad_a/pad_b/pad_c: extra floats per row; soff: float offset of scratch. */
static int check(int tA, int tB, ptrdiff_t M, ptrdiff_t N, ptrdiff_t K,
                 float alpha, float beta, int pad_a, int pad_b, int pad_c,
                 int soff)
{
    ptrdiff_t arows = tA ? K : M, acols = tA ? M : K;
    ptrdiff_t brows = tB ? N : K, bcols = tB ? K : N;
    ptrdiff_t lda = acols + pad_a, ldb = bcols + pad_b, ldc = N + pad_c;
    size_t ns = rt_sgemm_scratch(M, N, K);
    float *A = xmalloc(sizeof(float) * (size_t)(arows * lda));
    float *B = xmalloc(sizeof(float) * (size_t)(brows * ldb));
    float *C = xmalloc(sizeof(float) * (size_t)(M * ldc));
    float *C0 = xmalloc(sizeof(float) * (size_t)(M * ldc));
    float *sbuf = ns ? xmalloc(sizeof(float) * (ns + (size_t)soff)) : NULL;
    float *scratch = ns ? sbuf + soff : NULL;
    ptrdiff_t i, j, k;
    int bad = 0;
    double case_worst = 0;

    for (i = 0; i < arows; i++)
        for (j = 0; j < lda; j++)
            A[i * lda + j] = j < acols ? rng_uniform() : NAN;
    for (i = 0; i < brows; i++)
        for (j = 0; j < ldb; j++)
            B[i * ldb + j] = j < bcols ? rng_uniform() : NAN;
    for (i = 0; i < M; i++)
        for (j = 0; j < ldc; j++)
            C0[i * ldc + j] = j >= N ? C_PAD_SENTINEL
                              : beta == 0.0f ? NAN : rng_uniform();
    memcpy(C, C0, sizeof(float) * (size_t)(M * ldc));
    for (i = 0; i < (ptrdiff_t)ns; i++)
        scratch[i] = NAN;

    rt_sgemm(tA, tB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, scratch);

    for (i = 0; i < M && bad < 5; i++) {
        for (j = 0; j < ldc && bad < 5; j++) {
            double got = C[i * ldc + j], exp, err, ratio;
            if (j >= N) {
                if (C[i * ldc + j] != C_PAD_SENTINEL) {
                    fprintf(stderr, "  C padding [%td,%td] written: %g\n", i,
                            j, got);
                    bad++;
                }
                continue;
            }
            exp = 0.0;
            if (alpha != 0.0f) {
                for (k = 0; k < K; k++) {
                    double a = tA ? A[k * lda + i] : A[i * lda + k];
                    double b = tB ? B[j * ldb + k] : B[k * ldb + j];
                    exp += a * b;
                }
                exp *= alpha;
            }
            if (beta != 0.0f)
                exp += (double)beta * C0[i * ldc + j];
            err = fabs(got - exp);
            ratio = err / (ATOL + RTOL * fabs(exp));
            if (!(ratio <= 1.0)) { /* also catches NaN */
                fprintf(stderr, "  C[%td,%td] = %.9g, expected %.9g\n", i, j,
                        got, exp);
                bad++;
            } else if (ratio > case_worst) {
                case_worst = ratio;
            }
        }
    }
    n_cases++;
    if (case_worst > worst_ratio)
        worst_ratio = case_worst;
    if (bad) {
        n_failed++;
        fprintf(stderr,
                "FAIL gemm tA=%d tB=%d M=%td N=%td K=%td alpha=%g beta=%g "
                "lda=%td ldb=%td ldc=%td scratch+%d\n",
                tA, tB, M, N, K, alpha, beta, lda, ldb, ldc, soff);
    }
    free(A);
    free(B);
    free(C);
    free(C0);
    free(sbuf);
    return bad == 0;
}

static const float alphas[] = {1.0f, -0.5f, 2.5f, 0.0f};
static const float betas[] = {0.0f, 1.0f, -1.5f, 0.25f};

/* Every combination of small sizes, transposes; alpha, beta, padding and
 * scratch offset drawn at random per case. */
static void small_exhaustive(void)
{
    static const int sz[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 13, 16, 17, 31, 33};
    const int nsz = (int)(sizeof sz / sizeof sz[0]);
    int m, n, k, t, before = n_failed, cases = n_cases;
    for (m = 0; m < nsz; m++)
        for (n = 0; n < nsz; n++)
            for (k = 0; k < nsz; k++)
                for (t = 0; t < 4; t++)
                    check(t & 1, t >> 1, sz[m], sz[n], sz[k],
                          alphas[rng_below(4)], betas[rng_below(4)],
                          rng_below(2) * 3, rng_below(2) * 5, rng_below(2) * 2,
                          rng_below(4));
    printf("gemm: all M,N,K in {1..9,13,16,17,31,33} x 4 transposes, random "
           "alpha/beta/ld/scratch offset: %d cases, %d failed\n",
           n_cases - cases, n_failed - before);
}

/* Sizes on and across the blocking boundaries (MC 144, KC 256, NC 2048,
 * the micro-tile sizes of every target, the small-M path below 4 rows). */
static void blocking_edges(void)
{
    static const int shapes[][3] = {
        {144, 64, 256},  {145, 65, 257},  {143, 2049, 255}, {288, 40, 512},
        {300, 70, 600},  {17, 2100, 33},  {500, 31, 520},   {129, 257, 513},
        {1, 3000, 700},  {2, 129, 1000},  {3, 5000, 20},    {4, 100, 300},
        {5, 33, 1},      {97, 1, 300},    {1, 1, 1000},     {64, 4096, 16},
        {200, 200, 200}, {7, 2048, 256},  {150, 96, 70},    {33, 7, 777},
    };
    const int ns = (int)(sizeof shapes / sizeof shapes[0]);
    int s, t, before = n_failed, cases = n_cases;
    for (s = 0; s < ns; s++)
        for (t = 0; t < 4; t++)
            check(t & 1, t >> 1, shapes[s][0], shapes[s][1], shapes[s][2],
                  alphas[(s + t) % 3], betas[(s + 2 * t) % 4], (s & 1) * 7,
                  (s & 2) * 3, (t & 1) * 5, s & 3);
    printf("gemm: %d shapes across MC/KC/NC and micro-tile edges x 4 "
           "transposes: %d cases, %d failed\n",
           ns, n_cases - cases, n_failed - before);
}

/* Degenerate calls: K == 0, alpha == 0 (A and B are not read: they hold
 * NaN here), M == 0, N == 0. */
static void degenerate(void)
{
    int before = n_failed, ok = 1, t;
    float A[6], B[6], C[6], C2[6];
    ptrdiff_t i;
    for (t = 0; t < 4; t++) {
        check(t & 1, t >> 1, 3, 5, 0, 1.0f, 0.0f, 0, 0, 0, 0);
        check(t & 1, t >> 1, 7, 9, 0, 1.0f, 2.0f, 1, 1, 1, 1);
        check(t & 1, t >> 1, 40, 50, 60, 0.0f, 0.0f, 0, 0, 0, 0);
        check(t & 1, t >> 1, 40, 50, 60, 0.0f, -3.0f, 0, 0, 2, 0);
    }
    /* alpha == 0 with NaN inputs: C = beta * C exactly */
    for (i = 0; i < 6; i++) {
        A[i] = NAN;
        B[i] = NAN;
        C[i] = (float)i;
    }
    rt_sgemm(0, 0, 2, 3, 2, 0.0f, A, 2, B, 3, 2.0f, C, 3, NULL);
    for (i = 0; i < 6; i++)
        ok &= C[i] == 2.0f * (float)i;
    /* M == 0, N == 0: nothing written */
    for (i = 0; i < 6; i++)
        C2[i] = C[i];
    rt_sgemm(0, 0, 0, 3, 2, 1.0f, A, 2, B, 3, 0.0f, C, 3, NULL);
    rt_sgemm(0, 0, 2, 0, 2, 1.0f, A, 2, B, 3, 0.0f, C, 3, NULL);
    for (i = 0; i < 6; i++)
        ok &= C[i] == C2[i];
    if (!ok) {
        fprintf(stderr, "FAIL gemm: alpha == 0 with NaN A/B, or M/N == 0\n");
        n_failed++;
    }
    printf("gemm: K == 0, alpha == 0 (A, B not read), M == 0, N == 0: %s\n",
           n_failed == before ? "ok" : "FAILED");
}

/* Scratch needs are bounded whatever the sizes, and 0 for empty calls. */
static void scratch_bounds(void)
{
    size_t big = rt_sgemm_scratch(100000, 100000, 100000);
    size_t small = rt_sgemm_scratch(1, 1, 1);
    int ok = big > 0 && big < (size_t)1 << 20 && small > 0 &&
             rt_sgemm_scratch(0, 5, 5) == 0 && rt_sgemm_scratch(5, 0, 5) == 0 &&
             rt_sgemm_scratch(5, 5, 0) == 0;
    if (!ok)
        n_failed++;
    printf("gemm: scratch bounded (%zu floats at 100000^3), 0 when empty: %s\n",
           big, ok ? "ok" : "FAILED");
}

int main(void)
{
    printf("gemm: tolerance |got-exp| <= %g + %g*|exp|, exp in double\n", ATOL,
           RTOL);
    small_exhaustive();
    blocking_edges();
    degenerate();
    scratch_bounds();
    printf("gemm: worst |got-exp| / (atol + rtol*|exp|) = %.3f\n", worst_ratio);
    if (n_failed) {
        printf("gemm: FAIL (%d of %d cases)\n", n_failed, n_cases);
        return 1;
    }
    printf("gemm: PASS (%d cases)\n", n_cases);
    return 0;
}
