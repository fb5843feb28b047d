/* test_rt_gemm_ep.c - the GEMM's fused epilogue, prepacked operands, the
 * batched entry point and threads, against a double-precision reference.
 *
 * An element passes when |got - exp| <= 1e-4 + 1e-4 * |exp|, exp computed
 * in double from the same float inputs: alpha * op(A) op(B) + beta * C,
 * plus bias (per row or per column) plus residual, then the activation
 * (libm double erf / tanh / exp for GELU, sigmoid).  Inputs are uniform in
 * [-1, 1] (the product is scaled so activations see both signs and their
 * curved parts) from a seeded PRNG.  Each case also checks that:
 *   - padding between rows of A, B, C and the residual is never read or
 *     written (NaN / sentinel filled);
 *   - beta == 0 never reads C (it starts as NaN);
 *   - prepacked buffers (rt_sgemm_pack_a / _b) and scratch are read within
 *     their documented sizes (malloc'ed to exactly that, scratch at an odd
 *     float offset and NaN-filled, so AddressSanitizer and NaN catch
 *     misuse);
 *   - a residual that is C itself (in-place residual add) works.
 * Batches: rt_sgemm_batch on strided operands with gaps between matrices,
 * in its concurrent (small products) and sequential regimes.
 * Threads (built with OpenMP): the same products on 1, 2 and 3 threads are
 * bit-identical.  Exit status 0 when every case passes.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "../../runtime/rt.h"

#define ATOL 1e-4
#define RTOL 1e-4
#define SENTINEL (-777.0f)

#define RNG_SEED 0x51ED27A3B01C9D45u
#include "test_act_ref.h"
#include "test_rand.h"

static int n_cases, n_failed;
static double worst_ratio;

typedef struct {
    int tA, tB;             /* 0, 1, RT_GEMM_PACKED (packed from a tA/tB = pa/pb layout) */
    int pa, pb;             /* layout the packed operand was packed from */
    ptrdiff_t M, N, K;
    float alpha, beta;
    int bias;               /* 0 none, 1 per row, 2 per column */
    int residual;           /* 0 none, 1 separate, 2 C itself (beta 0) */
    int act;
    float act_alpha, act_beta;
    int pad;                /* row padding of every operand */
    int soff;               /* scratch offset, floats */
    int threads;            /* OpenMP threads, 0: default */
} Case;

/* Runs one case; writes the result (M x N, packed rows) into out when not
 * NULL (for the thread comparison); checks it against double. */
static int run_case(const Case *c, float *out)
{
    ptrdiff_t M = c->M, N = c->N, K = c->K;
    int la = c->tA == RT_GEMM_PACKED ? c->pa : c->tA;
    int lb = c->tB == RT_GEMM_PACKED ? c->pb : c->tB;
    ptrdiff_t arows = la ? K : M, acols = la ? M : K;
    ptrdiff_t brows = lb ? N : K, bcols = lb ? K : N;
    ptrdiff_t lda = acols + c->pad, ldb = bcols + c->pad, ldc = N + c->pad;
    size_t ns = rt_sgemm_scratch(M, N, K);
    float *A = xmalloc(sizeof(float) * (size_t)(arows * lda));
    float *B = xmalloc(sizeof(float) * (size_t)(brows * ldb));
    float *C = xmalloc(sizeof(float) * (size_t)(M * ldc));
    float *C0 = xmalloc(sizeof(float) * (size_t)(M * ldc));
    float *R = xmalloc(sizeof(float) * (size_t)(M * ldc));
    float *bias = xmalloc(sizeof(float) * (size_t)(M > N ? M : N));
    float *sbuf = ns ? xmalloc(sizeof(float) * (ns + (size_t)c->soff)) : NULL;
    float *scratch = ns ? sbuf + c->soff : NULL;
    float *Ap = NULL, *Bp = NULL;
    const float *Ause = A, *Buse = B;
    rt_epilogue ep;
    ptrdiff_t i, j, k;
    int bad = 0;
    double case_worst = 0;
    float scale = 2.0f / (float)sqrt((double)K);  /* keep sums O(1), of both signs */

    for (i = 0; i < arows; i++)
        for (j = 0; j < lda; j++)
            A[i * lda + j] = j < acols ? rng_uniform() * scale : NAN;
    for (i = 0; i < brows; i++)
        for (j = 0; j < ldb; j++)
            B[i * ldb + j] = j < bcols ? rng_uniform() * 2.0f : NAN;
    for (i = 0; i < M; i++)
        for (j = 0; j < ldc; j++) {
            C0[i * ldc + j] = j >= N ? SENTINEL : c->beta == 0.0f && c->residual != 2
                                                      ? NAN : rng_uniform();
            R[i * ldc + j] = j >= N ? NAN : rng_uniform();
        }
    for (i = 0; i < (M > N ? M : N); i++)
        bias[i] = rng_uniform();
    memcpy(C, C0, sizeof(float) * (size_t)(M * ldc));
    for (i = 0; i < (ptrdiff_t)ns; i++)
        scratch[i] = NAN;
    if (c->tA == RT_GEMM_PACKED) {
        size_t n = rt_sgemm_pack_a_size(M, K);
        Ap = xmalloc(sizeof(float) * n);
        rt_sgemm_pack_a(c->pa, M, K, A, lda, Ap);
        Ause = Ap;
    }
    if (c->tB == RT_GEMM_PACKED) {
        size_t n = rt_sgemm_pack_b_size(N, K);
        Bp = xmalloc(sizeof(float) * n);
        rt_sgemm_pack_b(c->pb, N, K, B, ldb, Bp);
        Buse = Bp;
    }
    ep.bias = c->bias ? bias : NULL;
    ep.bias_rows = c->bias == 1;
    ep.residual = c->residual == 1 ? R : c->residual == 2 ? C : NULL;
    ep.ldr = ldc;
    ep.act = c->act;
    ep.alpha = c->act_alpha;
    ep.beta = c->act_beta;

#ifdef _OPENMP
    if (c->threads)
        omp_set_num_threads(c->threads);
#endif
    if (rng_below(2))
        rt_sgemm_ep(c->tA, c->tB, M, N, K, c->alpha, Ause, lda, Buse, ldb, c->beta, C, ldc, &ep,
                    scratch);
    else
        rt_sgemm_ep_flat(c->tA, c->tB, M, N, K, c->alpha, Ause, lda, Buse, ldb, c->beta, C, ldc,
                         ep.bias, ep.bias_rows, ep.residual, ep.ldr, ep.act, ep.alpha, ep.beta,
                         scratch);

    for (i = 0; i < M && bad < 5; i++) {
        for (j = 0; j < ldc && bad < 5; j++) {
            double got = C[i * ldc + j], exp, ratio;
            if (j >= N) {
                if (C[i * ldc + j] != SENTINEL) {
                    fprintf(stderr, "  C padding [%td,%td] written: %g\n", i, j, got);
                    bad++;
                }
                continue;
            }
            exp = 0.0;
            if (c->alpha != 0.0f) {
                for (k = 0; k < K; k++) {
                    double a = la ? A[k * lda + i] : A[i * lda + k];
                    double b = lb ? B[j * ldb + k] : B[k * ldb + j];
                    exp += a * b;
                }
                exp *= c->alpha;
            }
            if (c->beta != 0.0f)
                exp += (double)c->beta * C0[i * ldc + j];
            if (c->bias == 1)
                exp += bias[i];
            else if (c->bias == 2)
                exp += bias[j];
            if (c->residual == 1)
                exp += R[i * ldc + j];
            else if (c->residual == 2)
                exp += C0[i * ldc + j];
            exp = act_ref(c->act, c->act_alpha, c->act_beta, exp);
            ratio = fabs(got - exp) / (ATOL + RTOL * fabs(exp));
            if (!(ratio <= 1.0)) {
                fprintf(stderr, "  C[%td,%td] = %.9g, expected %.9g\n", i, j, got, exp);
                bad++;
            } else if (ratio > case_worst) {
                case_worst = ratio;
            }
            if (out)
                out[i * N + j] = C[i * ldc + j];
        }
    }
    n_cases++;
    if (case_worst > worst_ratio)
        worst_ratio = case_worst;
    if (bad) {
        n_failed++;
        fprintf(stderr,
                "FAIL gemm_ep tA=%d(%d) tB=%d(%d) M=%td N=%td K=%td alpha=%g beta=%g bias=%d "
                "residual=%d act=%d(%g,%g) pad=%d scratch+%d threads=%d\n",
                c->tA, c->pa, c->tB, c->pb, M, N, K, c->alpha, c->beta, c->bias, c->residual,
                c->act, c->act_alpha, c->act_beta, c->pad, c->soff, c->threads);
    }
    free(A);
    free(B);
    free(C);
    free(C0);
    free(R);
    free(bias);
    free(sbuf);
    free(Ap);
    free(Bp);
    return bad == 0;
}

static void random_case(Case *c, ptrdiff_t M, ptrdiff_t N, ptrdiff_t K)
{
    static const float alphas[] = {1.0f, 1.0f, 1.0f, -0.5f, 0.0f};
    static const float betas[] = {0.0f, 0.0f, 1.0f, 0.5f};
    memset(c, 0, sizeof *c);
    c->tA = rng_below(3);
    c->tB = rng_below(3);
    if (c->tA == 2)
        c->tA = RT_GEMM_PACKED;
    if (c->tB == 2)
        c->tB = RT_GEMM_PACKED;
    c->pa = rng_below(2);
    c->pb = rng_below(2);
    c->M = M;
    c->N = N;
    c->K = K;
    c->alpha = alphas[rng_below(5)];
    c->beta = betas[rng_below(4)];
    c->bias = rng_below(3);
    c->residual = rng_below(3);
    if (c->residual == 2)
        c->beta = 0.0f;     /* C holds the residual */
    c->act = rng_below(RT_ACT_LAST + 1);
    c->act_alpha = c->act == RT_ACT_CLIP ? -0.5f : 0.1f;
    c->act_beta = 0.75f;
    c->pad = rng_below(2) * 3;
    c->soff = rng_below(4);
}

/* Every transpose / packing / epilogue combination on shapes around the
 * micro-tiles of every target, the few-row path and the K slices. */
static void epilogue_cases(void)
{
    static const int sz[][3] = {
        {1, 1, 1},     {1, 40, 33},   {2, 7, 5},     {3, 64, 300},  {4, 33, 17},
        {5, 31, 9},    {7, 48, 24},   {8, 32, 256},  {9, 65, 257},  {13, 17, 100},
        {24, 96, 64},  {25, 97, 70},  {31, 129, 3},  {48, 100, 513}, {150, 70, 40},
        {130, 2100, 20}, {64, 64, 600},
    };
    const int ns = (int)(sizeof sz / sizeof sz[0]);
    int before = n_failed, cases = n_cases, s, r;
    for (s = 0; s < ns; s++)
        for (r = 0; r < 24; r++) {
            Case c;
            random_case(&c, sz[s][0], sz[s][1], sz[s][2]);
            run_case(&c, NULL);
        }
    /* every activation, both bias kinds, on a tile-aligned and a ragged shape */
    for (s = 0; s < 8; s++)
        for (r = 0; r < 6; r++) {
            Case c;
            random_case(&c, r & 1 ? 16 : 19, r & 1 ? 64 : 45, 70);
            c.act = s;
            c.bias = 1 + (r & 1);
            c.residual = r >> 1;
            if (c.residual == 2)
                c.beta = 0.0f;
            run_case(&c, NULL);
        }
    printf("gemm_ep: epilogues x transposes x prepacked A/B, %d cases, %d failed\n",
           n_cases - cases, n_failed - before);
}

/* Prepacked sizes: panels of 24 rows / 32 columns over all of K. */
static void pack_sizes(void)
{
    int ok = rt_sgemm_pack_a_size(1, 5) == 24 * 5 && rt_sgemm_pack_a_size(25, 2) == 48 * 2 &&
             rt_sgemm_pack_b_size(32, 3) == 32 * 3 && rt_sgemm_pack_b_size(33, 3) == 64 * 3 &&
             rt_sgemm_pack_a_size(0, 3) == 0 && rt_sgemm_pack_b_size(3, 0) == 0;
    if (!ok)
        n_failed++;
    printf("gemm_ep: prepacked sizes: %s\n", ok ? "ok" : "FAILED");
}

/* rt_sgemm_batch against rt_sgemm_ep-free double reference. */
static void batch_cases(void)
{
    static const int shp[][4] = {
        /* nbatch, M, N, K */
        {1, 20, 30, 40}, {3, 9, 33, 17}, {12, 128, 128, 64}, {20, 17, 40, 50},
        {2, 200, 300, 260}, {5, 2, 70, 33},
    };
    int before = n_failed, s, t;
    for (s = 0; s < (int)(sizeof shp / sizeof shp[0]); s++)
        for (t = 0; t < 4; t++) {
            ptrdiff_t nb = shp[s][0], M = shp[s][1], N = shp[s][2], K = shp[s][3];
            int tA = t & 1, tB = t >> 1;
            ptrdiff_t lda = (tA ? M : K) + 1, ldb = (tB ? K : N) + 2, ldc = N + 3;
            ptrdiff_t sA = (tA ? K : M) * lda + 5, sB = (tB ? N : K) * ldb + 7,
                      sC = M * ldc + 11;
            size_t ns = rt_sgemm_batch_scratch(nb, M, N, K);
            float *A = xmalloc(sizeof(float) * (size_t)(nb * sA));
            float *B = xmalloc(sizeof(float) * (size_t)(nb * sB));
            float *C = xmalloc(sizeof(float) * (size_t)(nb * sC));
            float *sc = xmalloc(sizeof(float) * (ns + 1));
            float alpha = t == 3 ? 0.5f : 1.0f;
            ptrdiff_t b, i, j, k, x;
            int bad = 0;
            for (x = 0; x < nb * sA; x++)
                A[x] = rng_uniform();
            for (x = 0; x < nb * sB; x++)
                B[x] = rng_uniform();
            for (x = 0; x < nb * sC; x++)
                C[x] = SENTINEL;
            for (x = 0; x < (ptrdiff_t)ns + 1; x++)
                sc[x] = NAN;
            rt_sgemm_batch(nb, tA, tB, M, N, K, alpha, A, lda, sA, B, ldb, sB, 0.0f, C, ldc,
                           sC, sc + 1);
            for (b = 0; b < nb && !bad; b++)
                for (i = 0; i < M && !bad; i++)
                    for (j = 0; j < ldc && !bad; j++) {
                        const float *a = A + b * sA, *bb = B + b * sB;
                        float got = C[b * sC + i * ldc + j];
                        double exp = 0;
                        if (j >= N) {
                            bad = got != SENTINEL;
                            continue;
                        }
                        for (k = 0; k < K; k++)
                            exp += (double)(tA ? a[k * lda + i] : a[i * lda + k]) *
                                   (tB ? bb[j * ldb + k] : bb[k * ldb + j]);
                        exp *= alpha;
                        bad = !(fabs(got - exp) <= ATOL + RTOL * fabs(exp));
                        if (bad)
                            fprintf(stderr, "  batch %td C[%td,%td] = %.9g, expected %.9g\n",
                                    b, i, j, got, exp);
                    }
            /* the gaps between C matrices stay untouched */
            for (b = 0; b < nb && !bad; b++)
                for (x = M * ldc; x < sC; x++)
                    bad |= C[b * sC + x] != SENTINEL;
            n_cases++;
            if (bad) {
                n_failed++;
                fprintf(stderr, "FAIL gemm batch nb=%td M=%td N=%td K=%td tA=%d tB=%d\n", nb, M,
                        N, K, tA, tB);
            }
            free(A);
            free(B);
            free(C);
            free(sc);
        }
    printf("gemm_ep: rt_sgemm_batch, strided with gaps: %s\n",
           n_failed == before ? "ok" : "FAILED");
}

/* The same product on 1, 2 and 3 threads gives the same bits. */
static void thread_cases(void)
{
#ifdef _OPENMP
    static const int sz[][3] = {{128, 768, 768}, {300, 70, 600}, {20, 2100, 300}, {7, 3000, 500},
                                {290, 200, 300}, {48, 100, 513}, {64, 64, 600}, {48, 100, 513},
                                {64, 64, 600},   {40, 96, 700},  {40, 96, 700}};
    /* few rows, B transposed and over 1 MB: dot products split by B's rows */
    static const int few[][3] = {{1, 1000, 300}, {3, 777, 401}};
    const int nsz = (int)(sizeof sz / sizeof sz[0]), nfew = (int)(sizeof few / sizeof few[0]);
    int before = n_failed, s, t;
    /* every shape with A and B each unpacked and prepacked (the row split
     * without barriers, over several row blocks for M > 144) */
    for (s = 0; s < 4 * nsz + nfew; s++) {
        Case c;
        const int few_rows = s >= 4 * nsz;
        const int *z = few_rows ? few[s - 4 * nsz] : sz[s / 4];
        int m = z[0], n = z[1];
        float *ref = xmalloc(sizeof(float) * (size_t)(m * n));
        float *got = xmalloc(sizeof(float) * (size_t)(m * n));
        uint64_t seed;
        random_case(&c, m, n, z[2]);
        c.tA = few_rows ? 0 : s & 1 ? RT_GEMM_PACKED : c.pa;
        c.tB = few_rows ? 1 : s & 2 ? RT_GEMM_PACKED : c.pb;
        seed = rng_state;
        c.threads = 1;
        run_case(&c, ref);
        for (t = 2; t <= 3; t++) {
            rng_state = seed;
            c.threads = t;
            run_case(&c, got);
            if (memcmp(ref, got, sizeof(float) * (size_t)(m * n)) != 0) {
                fprintf(stderr, "FAIL gemm_ep: %d threads differ from 1 (M=%d N=%d K=%d)\n", t,
                        m, n, z[2]);
                n_failed++;
            }
        }
        free(ref);
        free(got);
    }
    omp_set_num_threads(omp_get_num_procs());
    printf("gemm_ep: 1, 2, 3 threads bit-identical: %s\n", n_failed == before ? "ok" : "FAILED");
#else
    printf("gemm_ep: threads: not built with OpenMP, skipped\n");
#endif
}

int main(void)
{
    printf("gemm_ep: tolerance |got-exp| <= %g + %g*|exp|, exp in double\n", ATOL, RTOL);
    pack_sizes();
    epilogue_cases();
    batch_cases();
    thread_cases();
    printf("gemm_ep: worst |got-exp| / (atol + rtol*|exp|) = %.3f\n", worst_ratio);
    if (n_failed) {
        printf("gemm_ep: FAIL (%d of %d cases)\n", n_failed, n_cases);
        return 1;
    }
    printf("gemm_ep: PASS (%d cases)\n", n_cases);
    return 0;
}
