/* rt-deps: epilogue */
/* gemm.c - single-precision GEMM, row-major.
 *
 *   C[M x N] = ep(alpha * op(A) * op(B) + beta * C)
 *
 * where ep is an optional epilogue (bias per row or column, residual add,
 * activation: rt_epilogue in rt_common.h) applied to each tile of C right
 * after its last K slice, while the tile is still in cache.
 *
 * Structure (Goto / BLIS): the N dimension is cut into RT_GEMM_NC-wide
 * column blocks, K into RT_GEMM_KC-deep slices, M into RT_GEMM_MC-tall row
 * blocks.  For each (column block, K slice) the slice of op(B) is packed
 * into RT_GEMM_NR-wide micro-panels (k-major, so the kernel reads it
 * linearly); for each row block the slice of op(A) is packed into
 * RT_GEMM_MR-tall micro-panels; a register-blocked micro-kernel then
 * computes each MR x NR tile of the product over the K slice and adds it
 * to (or stores it in) C.  Partial panels at the edges are zero-padded, so
 * the micro-kernel has only one shape; edge tiles go through a small
 * buffer so that only their valid part is written.
 *
 * Prepacked operands: a constant operand (weights) can be packed once, at
 * compile time, by rt_sgemm_pack_a / rt_sgemm_pack_b, and passed with
 * transA / transB = RT_GEMM_PACKED; the packing at run time is then
 * skipped.  The packed layout does not depend on the target: B is cut into
 * panels of RT_GEMM_PW = 32 columns, A into panels of RT_GEMM_PH = 24 rows,
 * each panel k-major over the whole K and zero-padded; every target's NR
 * divides 32 and every MR divides 24, so a micro-kernel reads its MR x NR
 * sub-panels in place with a k stride of 24 (A) or 32 (B) floats.
 *
 * Threads: compiled with OpenMP, a product of at least RT_GEMM_PAR_FLOPS
 * per thread runs on up to omp_get_max_threads() threads (none when called
 * from inside a parallel region).  With B prepacked, each thread packs A
 * itself and takes a range of column panels (or of row panels), and never
 * waits for the others (see rt_gemm_run); otherwise they share the packed
 * blocks (each thread packs a share, then a barrier) and split the tiles
 * of each block by column panels (or by row panels when there are fewer
 * column panels than threads).  Every tile is computed by one thread with
 * the same operations as single-threaded, so results do not depend on the
 * thread count.  rt_sgemm_batch runs small products of a batch
 * concurrently.
 *
 * MR, NR and the micro-kernel depend on the target's feature macros; the
 * scratch size does not (it is computed from the largest MR and NR any
 * target uses), so the compiler and model.c agree on it whatever flags each
 * was built with.  Targets differ only by rounding: fused multiply-add
 * where the target has one, and the order of the sum over k in the
 * few-row dot-product path (vector-wide partial sums).
 *
 * Semantics follow BLAS: beta == 0 means C is write-only (its old contents,
 * NaN included, are never read); alpha == 0 or K == 0 means op(A) and op(B)
 * are not read and C = beta * C (then the epilogue).
 */
#ifndef RT_EMBED
#include "rt.h"
#endif

/* transA / transB value of a prepacked operand (also in rt.h) */
#ifndef RT_GEMM_PACKED
#  define RT_GEMM_PACKED 2
#endif

#ifdef _OPENMP
#  include <omp.h>
#  define RT_GEMM_BARRIER() _Pragma("omp barrier")
#else
#  define RT_GEMM_BARRIER() ((void)0)
#endif

/* Register blocking, by target: the micro-kernel keeps an MR x NR tile of C
 * in vector registers (NR is a multiple of the vector width).  The x86 and
 * AArch64 kernels use intrinsics, because the auto-vectorised portable loop
 * is fast with some compiler/flag pairs and ten times slower with others
 * (gcc 12 -mavx2, clang 14 with some loop shapes); the portable kernel is
 * the fallback everywhere else.  Every MR divides RT_GEMM_PH and every NR
 * divides RT_GEMM_PW (prepacked operands). */
#if defined(RT_NO_SIMD)
#  define RT_GEMM_PORTABLE 1
#  define RT_GEMM_MR 4
#  define RT_GEMM_NR 8
#elif defined(__AVX512F__)
#  include <immintrin.h>
#  define RT_GEMM_AVX512 1
#  define RT_GEMM_MR 8
#  define RT_GEMM_NR 32
#elif defined(__AVX2__) && defined(__FMA__)
#  include <immintrin.h>
#  define RT_GEMM_AVX2 1
#  define RT_GEMM_MR 6
#  define RT_GEMM_NR 16
#elif defined(__ARM_NEON) && defined(__aarch64__)
#  include <arm_neon.h>
#  define RT_GEMM_NEON 1
#  define RT_GEMM_MR 8
#  define RT_GEMM_NR 8
#elif defined(__SSE2__)
#  include <emmintrin.h>
#  define RT_GEMM_SSE2 1
#  define RT_GEMM_MR 6
#  define RT_GEMM_NR 8
#else
#  define RT_GEMM_PORTABLE 1
#  define RT_GEMM_MR 4
#  define RT_GEMM_NR 8
#endif

/* Cache blocking; identical on every target (scratch size depends on it).
 * MC and NC are multiples of every MR / NR, so tiles never straddle a
 * prepacked panel. */
#define RT_GEMM_MC 144  /* rows of packed A: MC x KC floats stay in L2 */
#define RT_GEMM_KC 256  /* depth of a K slice */
/* depth of a K slice when B is prepacked: its panels stream from memory,
 * and the next one is prefetched into L1 while the current one (KC x NR)
 * is in use, so both must fit there (measured on Zen 5, BERT's
 * 128 x 768 x 768 .. 3072 products: 3-4 % faster than 256) */
#define RT_GEMM_KC_PACKED 128
#define RT_GEMM_NC 2048 /* columns of packed B: KC x NC floats stay in L3 */
#define RT_GEMM_MR_MAX 16 /* bounds on MR / NR over all targets */
#define RT_GEMM_NR_MAX 64
#define RT_GEMM_ALIGN 16  /* floats: packed buffers start on 64 bytes */

/* Prepacked layouts (see rt.h): panel height of A, panel width of B. */
#define RT_GEMM_PH 24
#define RT_GEMM_PW 32

/* Below this many rows C is computed without packing (packing B would cost
 * as much as the product itself): as sums of scaled rows of B, or as dot
 * products with the rows of B when B is transposed. */
#define RT_GEMM_SMALL_M 4

/* Floating-point operations per thread below which another thread does not
 * pay for waking it (about 10 us of one core's work). */
#define RT_GEMM_PAR_FLOPS 2.0e6
/* Bytes of B over which a product too short to pack (few rows of A)
 * still runs on threads: it is bound by memory, not by FLOPs. */
#define RT_GEMM_PAR_BYTES 1.0e6
/* Scratch slots of rt_sgemm_batch: at most this many products of a batch
 * run concurrently. */
#define RT_GEMM_BATCH_SLOTS 16

RT_API size_t rt_sgemm_scratch(ptrdiff_t M, ptrdiff_t N, ptrdiff_t K)
{
    size_t mc, nc, kc;
    if (M <= 0 || N <= 0 || K <= 0)
        return 0;
    mc = (size_t)RT_MIN(M, RT_GEMM_MC);
    nc = (size_t)RT_MIN(N, RT_GEMM_NC);
    kc = (size_t)RT_MIN(K, RT_GEMM_KC);
    /* a packed panel of op(A) is ceil(mc/MR)*MR <= mc + MR_MAX rows */
    return RT_GEMM_ALIGN + (mc + RT_GEMM_MR_MAX) * kc
         + RT_GEMM_ALIGN + kc * (nc + RT_GEMM_NR_MAX);
}

/* ---- prepacking (target-independent layout) ---------------------------- */

RT_API size_t rt_sgemm_pack_a_size(ptrdiff_t M, ptrdiff_t K)
{
    if (M <= 0 || K <= 0)
        return 0;
    return (size_t)((M + RT_GEMM_PH - 1) / RT_GEMM_PH) * RT_GEMM_PH * (size_t)K;
}

RT_API size_t rt_sgemm_pack_b_size(ptrdiff_t N, ptrdiff_t K)
{
    if (N <= 0 || K <= 0)
        return 0;
    return (size_t)((N + RT_GEMM_PW - 1) / RT_GEMM_PW) * RT_GEMM_PW * (size_t)K;
}

/* Panel q holds rows q*PH + r of op(A) at ap[q*PH*K + k*PH + r]. */
RT_API void rt_sgemm_pack_a(int transA, ptrdiff_t M, ptrdiff_t K, const float *A,
                            ptrdiff_t lda, float *ap)
{
    ptrdiff_t q, k, r;
    for (q = 0; q < M; q += RT_GEMM_PH) {
        float *dst = ap + q * K;
        for (k = 0; k < K; k++)
            for (r = 0; r < RT_GEMM_PH; r++)
                dst[k * RT_GEMM_PH + r] =
                    q + r >= M ? 0.0f : transA ? A[k * lda + q + r] : A[(q + r) * lda + k];
    }
}

/* Panel q holds columns q*PW + c of op(B) at bp[q*PW*K + k*PW + c]. */
RT_API void rt_sgemm_pack_b(int transB, ptrdiff_t N, ptrdiff_t K, const float *B,
                            ptrdiff_t ldb, float *bp)
{
    ptrdiff_t q, k, c;
    for (q = 0; q < N; q += RT_GEMM_PW) {
        float *dst = bp + q * K;
        for (k = 0; k < K; k++)
            for (c = 0; c < RT_GEMM_PW; c++)
                dst[k * RT_GEMM_PW + c] =
                    q + c >= N ? 0.0f : transB ? B[(q + c) * ldb + k] : B[k * ldb + q + c];
    }
}

/* ---- run-time packing -------------------------------------------------- */

/* Rounds p up to a multiple of RT_GEMM_ALIGN floats. */
RT_INTERNAL float *rt_gemm_align(float *p)
{
    uintptr_t u = (uintptr_t)p;
    uintptr_t a = (uintptr_t)(RT_GEMM_ALIGN * sizeof(float));
    return (float *)(void *)((u + a - 1) / a * a);
}

/* Packs MR-row micro-panels q0, q0+MR, ... < q1 of op(A)[i0 .., p0 .. p0+kc)
 * (mc valid rows in all): panel q holds rows i0 + q + r at
 * ap[q*ks + k*MR + r] (ks >= kc: the same place whatever the slice). */
RT_INTERNAL void rt_gemm_pack_a(int transA, const float *A, ptrdiff_t lda,
                                ptrdiff_t i0, ptrdiff_t p0, ptrdiff_t mc,
                                ptrdiff_t kc, ptrdiff_t ks, ptrdiff_t q0, ptrdiff_t q1,
                                float *ap)
{
    ptrdiff_t q, k, r;
    for (q = q0; q < q1; q += RT_GEMM_MR) {
        ptrdiff_t mr = RT_MIN(RT_GEMM_MR, mc - q);
        float *dst = ap + q * ks;
        if (!transA) {
            /* row by row: reads stay sequential (the rows are lda apart,
             * and lda a multiple of 4 KiB would put them in one cache set) */
            const float *src = A + (i0 + q) * lda + p0;
#if defined(RT_GEMM_AVX512)
            if (mr == 8) {   /* 8 x 8 blocks transposed in registers: 4x faster */
                ptrdiff_t kv = kc / 8 * 8;
                for (k = 0; k < kv; k += 8)
                    rt_tr8x8(src + k, lda, dst + k * 8, 8);
                for (; k < kc; k++)
                    for (r = 0; r < 8; r++)
                        dst[k * 8 + r] = src[r * lda + k];
                continue;
            }
#endif
            for (r = 0; r < mr; r++)
                for (k = 0; k < kc; k++)
                    dst[k * RT_GEMM_MR + r] = src[r * lda + k];
            for (; r < RT_GEMM_MR; r++)
                for (k = 0; k < kc; k++)
                    dst[k * RT_GEMM_MR + r] = 0.0f;
        } else {
            const float *src = A + p0 * lda + i0 + q;
            for (k = 0; k < kc; k++) {
                for (r = 0; r < mr; r++)
                    dst[k * RT_GEMM_MR + r] = src[k * lda + r];
                for (; r < RT_GEMM_MR; r++)
                    dst[k * RT_GEMM_MR + r] = 0.0f;
            }
        }
    }
}

/* Packs NR-column micro-panels q0, q0+NR, ... < q1 of
 * op(B)[p0 .. p0+kc) x [j0 ..) (nc valid columns): panel q holds columns
 * j0 + q + c at bp[q*kc + k*NR + c]. */
RT_INTERNAL void rt_gemm_pack_b(int transB, const float *B, ptrdiff_t ldb,
                                ptrdiff_t p0, ptrdiff_t j0, ptrdiff_t kc,
                                ptrdiff_t nc, ptrdiff_t q0, ptrdiff_t q1, float *bp)
{
    ptrdiff_t q, k, c;
    for (q = q0; q < q1; q += RT_GEMM_NR) {
        ptrdiff_t nr = RT_MIN(RT_GEMM_NR, nc - q);
        float *dst = bp + q * kc;
        if (!transB) {
            const float *src = B + p0 * ldb + j0 + q;
            if (nr == RT_GEMM_NR) {
                for (k = 0; k < kc; k++)
                    memcpy(dst + k * RT_GEMM_NR, src + k * ldb,
                           RT_GEMM_NR * sizeof(float));
            } else {
                for (k = 0; k < kc; k++) {
                    for (c = 0; c < nr; c++)
                        dst[k * RT_GEMM_NR + c] = src[k * ldb + c];
                    for (; c < RT_GEMM_NR; c++)
                        dst[k * RT_GEMM_NR + c] = 0.0f;
                }
            }
        } else {
            /* column by column, reading each row of B sequentially (as in
             * rt_gemm_pack_a); the panel being written fits in L1 */
            const float *src = B + (j0 + q) * ldb + p0;
            for (c = 0; c < nr; c++)
                for (k = 0; k < kc; k++)
                    dst[k * RT_GEMM_NR + c] = src[c * ldb + k];
            for (; c < RT_GEMM_NR; c++)
                for (k = 0; k < kc; k++)
                    dst[k * RT_GEMM_NR + c] = 0.0f;
        }
    }
}

/* ---- micro-kernels ----------------------------------------------------- */

/* c[i*ldc + j] (+)= sum_k a[k*sa + i] * b[k*sb + j] for the MR x NR tile;
 * accum: add to c, else overwrite c (never read). */
#if defined(RT_GEMM_AVX512)
#define RT_GEMM_ST16(p, v)                                                   \
    _mm512_storeu_ps((p), accum ? _mm512_add_ps((v), _mm512_loadu_ps(p)) : (v))
/* Row i of the tile: its two accumulators, their update from a[i] and the
 * k step's b0, b1, and their store. */
#define RT_GEMM_ACC(i) __m512 c##i##0 = _mm512_setzero_ps(), c##i##1 = _mm512_setzero_ps()
#define RT_GEMM_FMA(i)                                                       \
    ai = _mm512_set1_ps(a[i]);                                               \
    c##i##0 = _mm512_fmadd_ps(ai, b0, c##i##0);                              \
    c##i##1 = _mm512_fmadd_ps(ai, b1, c##i##1)
#define RT_GEMM_STROW(i)                                                     \
    RT_GEMM_ST16(c + i * ldc, c##i##0);                                      \
    RT_GEMM_ST16(c + i * ldc + 16, c##i##1)
RT_INTERNAL RT_NOINLINE void rt_gemm_kernel(ptrdiff_t kc, const float *restrict a,
                                            ptrdiff_t sa, const float *restrict b,
                                            ptrdiff_t sb, float *restrict c,
                                            ptrdiff_t ldc, int accum)
{
    RT_GEMM_ACC(0); RT_GEMM_ACC(1); RT_GEMM_ACC(2); RT_GEMM_ACC(3);
    RT_GEMM_ACC(4); RT_GEMM_ACC(5); RT_GEMM_ACC(6); RT_GEMM_ACC(7);
    ptrdiff_t k;
    for (k = 0; k < kc; k++) {
        __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16), ai;
        RT_GEMM_FMA(0); RT_GEMM_FMA(1); RT_GEMM_FMA(2); RT_GEMM_FMA(3);
        RT_GEMM_FMA(4); RT_GEMM_FMA(5); RT_GEMM_FMA(6); RT_GEMM_FMA(7);
        a += sa;
        b += sb;
    }
    RT_GEMM_STROW(0); RT_GEMM_STROW(1); RT_GEMM_STROW(2); RT_GEMM_STROW(3);
    RT_GEMM_STROW(4); RT_GEMM_STROW(5); RT_GEMM_STROW(6); RT_GEMM_STROW(7);
}
/* The first 4 rows of the tile (an edge tile of at most 4 rows: M = 49,
 * a sequence of 49 tokens, spends 1/8 of its time on one row; this
 * computes half the tile, and its 8 accumulators still hide the FMA
 * latency). */
RT_INTERNAL RT_NOINLINE void rt_gemm_kernel4(ptrdiff_t kc, const float *restrict a,
                                             ptrdiff_t sa, const float *restrict b,
                                             ptrdiff_t sb, float *restrict c,
                                             ptrdiff_t ldc, int accum)
{
    RT_GEMM_ACC(0); RT_GEMM_ACC(1); RT_GEMM_ACC(2); RT_GEMM_ACC(3);
    ptrdiff_t k;
    for (k = 0; k < kc; k++) {
        __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16), ai;
        RT_GEMM_FMA(0); RT_GEMM_FMA(1); RT_GEMM_FMA(2); RT_GEMM_FMA(3);
        a += sa;
        b += sb;
    }
    RT_GEMM_STROW(0); RT_GEMM_STROW(1); RT_GEMM_STROW(2); RT_GEMM_STROW(3);
}
#elif defined(RT_GEMM_AVX2)
#define RT_GEMM_ST8(p, v)                                                    \
    _mm256_storeu_ps((p), accum ? _mm256_add_ps((v), _mm256_loadu_ps(p)) : (v))
RT_INTERNAL RT_NOINLINE void rt_gemm_kernel(ptrdiff_t kc, const float *restrict a,
                                            ptrdiff_t sa, const float *restrict b,
                                            ptrdiff_t sb, float *restrict c,
                                            ptrdiff_t ldc, int accum)
{
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
    __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
    __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
    __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
    __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
    __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
    ptrdiff_t k;
    for (k = 0; k < kc; k++) {
        __m256 b0 = _mm256_loadu_ps(b);
        __m256 b1 = _mm256_loadu_ps(b + 8);
        __m256 ai;
        ai = _mm256_broadcast_ss(a + 0);
        c00 = _mm256_fmadd_ps(ai, b0, c00);
        c01 = _mm256_fmadd_ps(ai, b1, c01);
        ai = _mm256_broadcast_ss(a + 1);
        c10 = _mm256_fmadd_ps(ai, b0, c10);
        c11 = _mm256_fmadd_ps(ai, b1, c11);
        ai = _mm256_broadcast_ss(a + 2);
        c20 = _mm256_fmadd_ps(ai, b0, c20);
        c21 = _mm256_fmadd_ps(ai, b1, c21);
        ai = _mm256_broadcast_ss(a + 3);
        c30 = _mm256_fmadd_ps(ai, b0, c30);
        c31 = _mm256_fmadd_ps(ai, b1, c31);
        ai = _mm256_broadcast_ss(a + 4);
        c40 = _mm256_fmadd_ps(ai, b0, c40);
        c41 = _mm256_fmadd_ps(ai, b1, c41);
        ai = _mm256_broadcast_ss(a + 5);
        c50 = _mm256_fmadd_ps(ai, b0, c50);
        c51 = _mm256_fmadd_ps(ai, b1, c51);
        a += sa;
        b += sb;
    }
    RT_GEMM_ST8(c + 0 * ldc, c00);
    RT_GEMM_ST8(c + 0 * ldc + 8, c01);
    RT_GEMM_ST8(c + 1 * ldc, c10);
    RT_GEMM_ST8(c + 1 * ldc + 8, c11);
    RT_GEMM_ST8(c + 2 * ldc, c20);
    RT_GEMM_ST8(c + 2 * ldc + 8, c21);
    RT_GEMM_ST8(c + 3 * ldc, c30);
    RT_GEMM_ST8(c + 3 * ldc + 8, c31);
    RT_GEMM_ST8(c + 4 * ldc, c40);
    RT_GEMM_ST8(c + 4 * ldc + 8, c41);
    RT_GEMM_ST8(c + 5 * ldc, c50);
    RT_GEMM_ST8(c + 5 * ldc + 8, c51);
}
#elif defined(RT_GEMM_NEON)
#define RT_GEMM_ST4(p, v) vst1q_f32((p), accum ? vaddq_f32((v), vld1q_f32(p)) : (v))
RT_INTERNAL RT_NOINLINE void rt_gemm_kernel(ptrdiff_t kc, const float *restrict a,
                                            ptrdiff_t sa, const float *restrict b,
                                            ptrdiff_t sb, float *restrict c,
                                            ptrdiff_t ldc, int accum)
{
    float32x4_t c00 = vdupq_n_f32(0.0f), c01 = vdupq_n_f32(0.0f);
    float32x4_t c10 = vdupq_n_f32(0.0f), c11 = vdupq_n_f32(0.0f);
    float32x4_t c20 = vdupq_n_f32(0.0f), c21 = vdupq_n_f32(0.0f);
    float32x4_t c30 = vdupq_n_f32(0.0f), c31 = vdupq_n_f32(0.0f);
    float32x4_t c40 = vdupq_n_f32(0.0f), c41 = vdupq_n_f32(0.0f);
    float32x4_t c50 = vdupq_n_f32(0.0f), c51 = vdupq_n_f32(0.0f);
    float32x4_t c60 = vdupq_n_f32(0.0f), c61 = vdupq_n_f32(0.0f);
    float32x4_t c70 = vdupq_n_f32(0.0f), c71 = vdupq_n_f32(0.0f);
    ptrdiff_t k;
    for (k = 0; k < kc; k++) {
        float32x4_t b0 = vld1q_f32(b);
        float32x4_t b1 = vld1q_f32(b + 4);
        float32x4_t a0 = vld1q_f32(a);
        float32x4_t a1 = vld1q_f32(a + 4);
        c00 = vfmaq_laneq_f32(c00, b0, a0, 0);
        c01 = vfmaq_laneq_f32(c01, b1, a0, 0);
        c10 = vfmaq_laneq_f32(c10, b0, a0, 1);
        c11 = vfmaq_laneq_f32(c11, b1, a0, 1);
        c20 = vfmaq_laneq_f32(c20, b0, a0, 2);
        c21 = vfmaq_laneq_f32(c21, b1, a0, 2);
        c30 = vfmaq_laneq_f32(c30, b0, a0, 3);
        c31 = vfmaq_laneq_f32(c31, b1, a0, 3);
        c40 = vfmaq_laneq_f32(c40, b0, a1, 0);
        c41 = vfmaq_laneq_f32(c41, b1, a1, 0);
        c50 = vfmaq_laneq_f32(c50, b0, a1, 1);
        c51 = vfmaq_laneq_f32(c51, b1, a1, 1);
        c60 = vfmaq_laneq_f32(c60, b0, a1, 2);
        c61 = vfmaq_laneq_f32(c61, b1, a1, 2);
        c70 = vfmaq_laneq_f32(c70, b0, a1, 3);
        c71 = vfmaq_laneq_f32(c71, b1, a1, 3);
        a += sa;
        b += sb;
    }
    RT_GEMM_ST4(c + 0 * ldc, c00);
    RT_GEMM_ST4(c + 0 * ldc + 4, c01);
    RT_GEMM_ST4(c + 1 * ldc, c10);
    RT_GEMM_ST4(c + 1 * ldc + 4, c11);
    RT_GEMM_ST4(c + 2 * ldc, c20);
    RT_GEMM_ST4(c + 2 * ldc + 4, c21);
    RT_GEMM_ST4(c + 3 * ldc, c30);
    RT_GEMM_ST4(c + 3 * ldc + 4, c31);
    RT_GEMM_ST4(c + 4 * ldc, c40);
    RT_GEMM_ST4(c + 4 * ldc + 4, c41);
    RT_GEMM_ST4(c + 5 * ldc, c50);
    RT_GEMM_ST4(c + 5 * ldc + 4, c51);
    RT_GEMM_ST4(c + 6 * ldc, c60);
    RT_GEMM_ST4(c + 6 * ldc + 4, c61);
    RT_GEMM_ST4(c + 7 * ldc, c70);
    RT_GEMM_ST4(c + 7 * ldc + 4, c71);
}
#elif defined(RT_GEMM_SSE2)
/* No fused multiply-add in SSE: a multiply and an add, like the portable
 * kernel on such a target. */
#define RT_GEMM_ST4(p, v) _mm_storeu_ps((p), accum ? _mm_add_ps((v), _mm_loadu_ps(p)) : (v))
RT_INTERNAL RT_NOINLINE void rt_gemm_kernel(ptrdiff_t kc, const float *restrict a,
                                            ptrdiff_t sa, const float *restrict b,
                                            ptrdiff_t sb, float *restrict c,
                                            ptrdiff_t ldc, int accum)
{
    __m128 c00 = _mm_setzero_ps(), c01 = _mm_setzero_ps();
    __m128 c10 = _mm_setzero_ps(), c11 = _mm_setzero_ps();
    __m128 c20 = _mm_setzero_ps(), c21 = _mm_setzero_ps();
    __m128 c30 = _mm_setzero_ps(), c31 = _mm_setzero_ps();
    __m128 c40 = _mm_setzero_ps(), c41 = _mm_setzero_ps();
    __m128 c50 = _mm_setzero_ps(), c51 = _mm_setzero_ps();
    ptrdiff_t k;
    for (k = 0; k < kc; k++) {
        __m128 b0 = _mm_loadu_ps(b);
        __m128 b1 = _mm_loadu_ps(b + 4);
        __m128 ai;
        ai = _mm_set1_ps(a[0]);
        c00 = _mm_add_ps(c00, _mm_mul_ps(ai, b0));
        c01 = _mm_add_ps(c01, _mm_mul_ps(ai, b1));
        ai = _mm_set1_ps(a[1]);
        c10 = _mm_add_ps(c10, _mm_mul_ps(ai, b0));
        c11 = _mm_add_ps(c11, _mm_mul_ps(ai, b1));
        ai = _mm_set1_ps(a[2]);
        c20 = _mm_add_ps(c20, _mm_mul_ps(ai, b0));
        c21 = _mm_add_ps(c21, _mm_mul_ps(ai, b1));
        ai = _mm_set1_ps(a[3]);
        c30 = _mm_add_ps(c30, _mm_mul_ps(ai, b0));
        c31 = _mm_add_ps(c31, _mm_mul_ps(ai, b1));
        ai = _mm_set1_ps(a[4]);
        c40 = _mm_add_ps(c40, _mm_mul_ps(ai, b0));
        c41 = _mm_add_ps(c41, _mm_mul_ps(ai, b1));
        ai = _mm_set1_ps(a[5]);
        c50 = _mm_add_ps(c50, _mm_mul_ps(ai, b0));
        c51 = _mm_add_ps(c51, _mm_mul_ps(ai, b1));
        a += sa;
        b += sb;
    }
    RT_GEMM_ST4(c + 0 * ldc, c00);
    RT_GEMM_ST4(c + 0 * ldc + 4, c01);
    RT_GEMM_ST4(c + 1 * ldc, c10);
    RT_GEMM_ST4(c + 1 * ldc + 4, c11);
    RT_GEMM_ST4(c + 2 * ldc, c20);
    RT_GEMM_ST4(c + 2 * ldc + 4, c21);
    RT_GEMM_ST4(c + 3 * ldc, c30);
    RT_GEMM_ST4(c + 3 * ldc + 4, c31);
    RT_GEMM_ST4(c + 4 * ldc, c40);
    RT_GEMM_ST4(c + 4 * ldc + 4, c41);
    RT_GEMM_ST4(c + 5 * ldc, c50);
    RT_GEMM_ST4(c + 5 * ldc + 4, c51);
}
#else /* RT_GEMM_PORTABLE */
RT_INTERNAL RT_NOINLINE void rt_gemm_kernel(ptrdiff_t kc, const float *restrict a,
                                            ptrdiff_t sa, const float *restrict b,
                                            ptrdiff_t sb, float *restrict c,
                                            ptrdiff_t ldc, int accum)
{
    float t[RT_GEMM_MR][RT_GEMM_NR];
    ptrdiff_t k;
    int i, j;
    for (i = 0; i < RT_GEMM_MR; i++)
        for (j = 0; j < RT_GEMM_NR; j++)
            t[i][j] = 0.0f;
    for (k = 0; k < kc; k++) {
        for (i = 0; i < RT_GEMM_MR; i++) {
            const float ai = a[i];
            for (j = 0; j < RT_GEMM_NR; j++)
                t[i][j] = RT_FMA(ai, b[j], t[i][j]);
        }
        a += sa;
        b += sb;
    }
    for (i = 0; i < RT_GEMM_MR; i++)
        for (j = 0; j < RT_GEMM_NR; j++)
            c[i * ldc + j] = accum ? c[i * ldc + j] + t[i][j] : t[i][j];
}
#endif

/* ---- tiles ------------------------------------------------------------- */

/* Asks for the C tile the next micro-kernel call will update, so that its
 * cache misses overlap the kernel's arithmetic instead of stalling the
 * store (with ldc a multiple of 4 KiB, clang 14 lost 15 % at 1024^3). */
RT_INTERNAL void rt_gemm_prefetch_tile(ptrdiff_t mr, ptrdiff_t nr,
                                       const float *C, ptrdiff_t ldc)
{
#ifdef __GNUC__
    ptrdiff_t i, j;
    for (i = 0; i < mr; i++)
        for (j = 0; j < nr; j += 16) /* 64-byte lines */
            __builtin_prefetch(C + i * ldc + j, 1);
#else
    (void)mr;
    (void)nr;
    (void)C;
    (void)ldc;
#endif
}

/* Asks for floats [0, n) of p into L1: the next prepacked panel, fetched
 * while the current one is being computed on (into L2 only, or no
 * prefetch, was 3-7 % slower with B streaming from memory). */
RT_INTERNAL void rt_gemm_prefetch_range(const float *p, ptrdiff_t n)
{
#ifdef __GNUC__
    ptrdiff_t i;
    for (i = 0; i < n; i += 16)
        __builtin_prefetch(p + i, 0, 3);
#else
    (void)p;
    (void)n;
#endif
}

/* C[mr x nr] = alpha * acc + beta * C; beta == 0 does not read C. */
RT_INTERNAL void rt_gemm_store(ptrdiff_t mr, ptrdiff_t nr, float alpha,
                               const float *acc, float beta, float *C,
                               ptrdiff_t ldc)
{
    ptrdiff_t i, j;
    for (i = 0; i < mr; i++) {
        const float *s = acc + i * RT_GEMM_NR;
        float *d = C + i * ldc;
        if (beta == 0.0f) {
            for (j = 0; j < nr; j++)
                d[j] = alpha * s[j];
        } else if (beta == 1.0f) {
            for (j = 0; j < nr; j++)
                d[j] += alpha * s[j];
        } else {
            for (j = 0; j < nr; j++)
                d[j] = alpha * s[j] + beta * d[j];
        }
    }
}

/* C[M x N] *= beta, or = 0 when beta == 0 (old contents not read). */
RT_INTERNAL void rt_gemm_scale(ptrdiff_t M, ptrdiff_t N, float beta, float *C,
                               ptrdiff_t ldc)
{
    ptrdiff_t i, j;
    if (beta == 1.0f)
        return;
    for (i = 0; i < M; i++) {
        float *d = C + i * ldc;
        if (beta == 0.0f)
            for (j = 0; j < N; j++)
                d[j] = 0.0f;
        else
            for (j = 0; j < N; j++)
                d[j] *= beta;
    }
}

/* One product, as the threads of a team see it. */
typedef struct {
    int ta, tb;             /* 0, 1, or RT_GEMM_PACKED */
    ptrdiff_t M, N, K;
    float alpha, beta;      /* beta is 0 or 1 here (other values pre-scaled) */
    const float *A, *B;
    ptrdiff_t lda, ldb;
    float *C;
    ptrdiff_t ldc;
    const rt_epilogue *ep;  /* NULL or something to apply */
    ptrdiff_t apstride;     /* > 0: each thread packs all of A into its own
                               copy at ap + tid * apstride (B prepacked) */
    ptrdiff_t kcb;          /* K slice depth: RT_GEMM_KC or RT_GEMM_KC_PACKED */
    float *ap, *bp;         /* packing buffers (aligned) */
} rt_gemm_job;

/* Thread tid of nth: its share [*lo, *hi) of n items. */
RT_INTERNAL void rt_gemm_share(ptrdiff_t n, int tid, int nth, ptrdiff_t *lo, ptrdiff_t *hi)
{
    *lo = n * tid / nth;
    *hi = n * (tid + 1) / nth;
}

/* Tiles [jr0, jr1) x [ir0, ir1) (micro-panel indices) of the block at
 * columns jc.., rows ic.., over the K slice [pc, pc + kc); the block's
 * packed A panels at ap (unless A is prepacked), its packed B panels at
 * g->bp (unless B is prepacked). */
RT_INTERNAL void rt_gemm_tiles(const rt_gemm_job *g, const float *ap, ptrdiff_t jc,
                               ptrdiff_t ic, ptrdiff_t pc, ptrdiff_t kc, ptrdiff_t jr0,
                               ptrdiff_t jr1, ptrdiff_t ir0, ptrdiff_t ir1)
{
    float acc[RT_GEMM_MR * RT_GEMM_NR];
    int pa = g->ta == RT_GEMM_PACKED, pb = g->tb == RT_GEMM_PACKED;
    int accum = pc > 0 || g->beta != 0.0f;
    int last = pc + kc == g->K;
    ptrdiff_t jr, ir;
    for (jr = jr0; jr < jr1; jr++) {
        ptrdiff_t col = jc + jr * RT_GEMM_NR;
        ptrdiff_t nr = RT_MIN(RT_GEMM_NR, g->N - col);
        const float *b, *pf = NULL;
        ptrdiff_t sb, pfn = 0;
        if (pb) {
            b = g->B + (col / RT_GEMM_PW) * RT_GEMM_PW * g->K + pc * RT_GEMM_PW + col % RT_GEMM_PW;
            sb = RT_GEMM_PW;
            /* the next prepacked column panel's slice, a share per row
             * panel, asked for while this one computes */
            if (jr + 1 < jr1 && (col + RT_GEMM_NR) % RT_GEMM_PW == 0 && ir1 > ir0) {
                pf = g->B + (col + RT_GEMM_NR) * g->K + pc * RT_GEMM_PW;
                pfn = (kc * RT_GEMM_PW + (ir1 - ir0) - 1) / (ir1 - ir0);
            }
        } else {
            b = g->bp + jr * RT_GEMM_NR * kc;
            sb = RT_GEMM_NR;
        }
        for (ir = ir0; ir < ir1; ir++) {
            ptrdiff_t row = ic + ir * RT_GEMM_MR;
            ptrdiff_t mr = RT_MIN(RT_GEMM_MR, g->M - row);
            float *ct = g->C + row * g->ldc + col;
            const float *a;
            ptrdiff_t sa;
            if (pa) {
                a = g->A + (row / RT_GEMM_PH) * RT_GEMM_PH * g->K + pc * RT_GEMM_PH
                  + row % RT_GEMM_PH;
                sa = RT_GEMM_PH;
            } else {
                a = ap + ir * RT_GEMM_MR * RT_MIN(g->K, g->kcb);
                sa = RT_GEMM_MR;
            }
            if (pf) {
                ptrdiff_t s0 = pfn * (ir - ir0);
                rt_gemm_prefetch_range(pf + s0, RT_MIN(pfn, kc * RT_GEMM_PW - s0));
            }
            if (mr == RT_GEMM_MR && nr == RT_GEMM_NR && g->alpha == 1.0f) {
                /* (not with B prepacked: there the prefetches above matter
                 * more, and these cost 7 % at 128 x 3072 x 768) */
                if (!pb)
                    rt_gemm_prefetch_tile(mr, nr, ct, g->ldc);
                rt_gemm_kernel(kc, a, sa, b, sb, ct, g->ldc, accum);
            } else {
#if defined(RT_GEMM_AVX512)
                if (mr <= 4)
                    rt_gemm_kernel4(kc, a, sa, b, sb, acc, RT_GEMM_NR, 0);
                else
#endif
                    rt_gemm_kernel(kc, a, sa, b, sb, acc, RT_GEMM_NR, 0);
                rt_gemm_store(mr, nr, g->alpha, acc, accum ? 1.0f : 0.0f, ct, g->ldc);
            }
            if (last && g->ep)
                rt_epilogue_block(g->ep, g->C, g->ldc, row, mr, col, nr);
        }
    }
}

/* The whole product, or thread tid's part of it when nth > 1 (then every
 * thread of the team calls this, for the barriers).
 *
 * With B prepacked nothing written is shared, so there is no barrier (a
 * barrier costs a scheduler time slice whenever a thread of the team is
 * preempted, as on a loaded machine): each thread packs the whole A block
 * into a copy of its own (in the space B's packing would use) and takes a
 * share of the column panels, each B panel then serving all rows (2 %
 * faster on BERT's products than splitting rows); without room for the
 * copies, it takes a share of the row panels and packs just those rows.
 * Otherwise the threads share the packed A and B blocks, meet at barriers
 * around each packing and split by column panels (or rows when there are
 * too few columns). */
RT_INTERNAL void rt_gemm_run(const rt_gemm_job *g, int tid, int nth)
{
    ptrdiff_t jc, pc, ic;
    int pa = g->ta == RT_GEMM_PACKED, pb = g->tb == RT_GEMM_PACKED;
    ptrdiff_t nir_min = (RT_MIN(g->M, RT_GEMM_MC) + RT_GEMM_MR - 1) / RT_GEMM_MR;
    int by_rows_private = pb && nir_min >= nth && !g->apstride;
    float *apt = g->ap + tid * g->apstride;

    for (jc = 0; jc < g->N; jc += RT_GEMM_NC) {
        ptrdiff_t nc = RT_MIN(RT_GEMM_NC, g->N - jc);
        ptrdiff_t njr = (nc + RT_GEMM_NR - 1) / RT_GEMM_NR;
        for (pc = 0; pc < g->K; pc += g->kcb) {
            ptrdiff_t kc = RT_MIN(g->kcb, g->K - pc);
            if (!pb) {
                ptrdiff_t lo, hi;
                rt_gemm_share(njr, tid, nth, &lo, &hi);
                rt_gemm_pack_b(g->tb, g->B, g->ldb, pc, jc, kc, nc, lo * RT_GEMM_NR,
                               hi * RT_GEMM_NR, g->bp);
                if (nth > 1) {
                    RT_GEMM_BARRIER();
                }
            }
            for (ic = 0; ic < g->M; ic += RT_GEMM_MC) {
                ptrdiff_t mc = RT_MIN(RT_GEMM_MC, g->M - ic);
                ptrdiff_t nir = (mc + RT_GEMM_MR - 1) / RT_GEMM_MR;
                ptrdiff_t lo, hi;
                if (g->apstride) {
                    /* its own copy of the A block, its own column panels */
                    rt_gemm_pack_a(g->ta, g->A, g->lda, ic, pc, mc, kc, RT_MIN(g->K, g->kcb),
                                   0, nir * RT_GEMM_MR, apt);
                    rt_gemm_share(njr, tid, nth, &lo, &hi);
                    rt_gemm_tiles(g, apt, jc, ic, pc, kc, lo, hi, 0, nir);
                    continue;
                }
                if (by_rows_private) {
                    /* the same panels on every block, so that a thread
                     * never repacks panels another one still reads */
                    rt_gemm_share(nir_min, tid, nth, &lo, &hi);
                    hi = RT_MIN(hi, nir);
                    lo = RT_MIN(lo, hi);
                } else {
                    rt_gemm_share(nir, tid, nth, &lo, &hi);
                }
                if (!pa)
                    rt_gemm_pack_a(g->ta, g->A, g->lda, ic, pc, mc, kc,
                                   RT_MIN(g->K, g->kcb), lo * RT_GEMM_MR,
                                   hi * RT_GEMM_MR, g->ap);
                if (by_rows_private) {
                    rt_gemm_tiles(g, g->ap, jc, ic, pc, kc, 0, njr, lo, hi);
                    continue;
                }
                if (nth > 1 && !pa) {
                    RT_GEMM_BARRIER();
                }
                /* this thread's tiles: a range of column panels, or of row
                 * panels when there are fewer column panels than threads */
                if (njr >= nth) {
                    rt_gemm_share(njr, tid, nth, &lo, &hi);
                    rt_gemm_tiles(g, g->ap, jc, ic, pc, kc, lo, hi, 0, nir);
                } else {
                    rt_gemm_tiles(g, g->ap, jc, ic, pc, kc, 0, njr, lo, hi);
                }
                /* the packed A (or, below, B) block is overwritten next */
                if (nth > 1 && (!pa || (!pb && ic + RT_GEMM_MC >= g->M))) {
                    RT_GEMM_BARRIER();
                }
            }
        }
    }
}

/* ---- few rows ---------------------------------------------------------- */

/* y[0..n) += a * x[0..n).  Intrinsics: gcc 12 -O2 leaves the plain loop
 * scalar. */
RT_INTERNAL void rt_gemm_axpy(ptrdiff_t n, float a, const float *restrict x,
                              float *restrict y)
{
    ptrdiff_t j = 0;
#if defined(RT_GEMM_AVX512)
    __m512 va = _mm512_set1_ps(a);
    for (; j < n / 16 * 16; j += 16)
        _mm512_storeu_ps(y + j, _mm512_fmadd_ps(va, _mm512_loadu_ps(x + j),
                                                _mm512_loadu_ps(y + j)));
#elif defined(RT_GEMM_AVX2)
    __m256 va = _mm256_set1_ps(a);
    for (; j < n / 8 * 8; j += 8)
        _mm256_storeu_ps(y + j, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + j),
                                                _mm256_loadu_ps(y + j)));
#elif defined(RT_GEMM_NEON)
    float32x4_t va = vdupq_n_f32(a);
    for (; j < n / 4 * 4; j += 4)
        vst1q_f32(y + j, vfmaq_f32(vld1q_f32(y + j), va, vld1q_f32(x + j)));
#elif defined(RT_GEMM_SSE2)
    __m128 va = _mm_set1_ps(a);
    for (; j < n / 4 * 4; j += 4)
        _mm_storeu_ps(y + j, _mm_add_ps(_mm_loadu_ps(y + j),
                                        _mm_mul_ps(va, _mm_loadu_ps(x + j))));
#endif
    for (; j < n; j++)
        y[j] = RT_FMA(a, x[j], y[j]);
}

/* Does a product too short to pack (few rows of A) run on threads: asked
 * to, and with B over RT_GEMM_PAR_BYTES (it is bound by memory). */
RT_INTERNAL int rt_gemm_streams(int threaded, ptrdiff_t N, ptrdiff_t K)
{
    return threaded && (double)N * (double)K * sizeof(float) >= RT_GEMM_PAR_BYTES;
}

/* Few rows, B not transposed: C[i,:] = beta*C[i,:] + sum_k (alpha*A[i,k]) B[k,:]. */
RT_INTERNAL void rt_gemm_small_m(int transA, ptrdiff_t M, ptrdiff_t N,
                                 ptrdiff_t K, float alpha, const float *A,
                                 ptrdiff_t lda, const float *B, ptrdiff_t ldb,
                                 float beta, float *C, ptrdiff_t ldc, int threaded)
{
    /* threaded, B over RT_GEMM_PAR_BYTES: each thread takes a range of
     * columns (whole cache lines), every C[i,j] summed as on one thread.
     * A decoder step's 1 x 576 x 1536 products (3.5 MB of B each) ran on
     * one thread of two, and the step was slower on two than on one. */
    int par = rt_gemm_streams(threaded, N, K);
    (void)par;
#ifdef _OPENMP
    _Pragma("omp parallel if(par && !omp_in_parallel())")
#endif
    {
        int tid = 0, nt = 1;
        ptrdiff_t i, k, share, n0, n1;
#ifdef _OPENMP
        tid = omp_get_thread_num();
        nt = omp_get_num_threads();
#endif
        share = ((N + nt - 1) / nt + 15) / 16 * 16;
        n0 = RT_MIN(N, share * tid);
        n1 = RT_MIN(N, n0 + share);
        if (n1 > n0) {
            rt_gemm_scale(M, n1 - n0, beta, C + n0, ldc);
            for (i = 0; i < M; i++)
                for (k = 0; k < K; k++)
                    rt_gemm_axpy(n1 - n0, alpha * (transA ? A[k * lda + i] : A[i * lda + k]),
                                 B + k * ldb + n0, C + i * ldc + n0);
        }
    }
}

/* sum_k a[k] * b[k], in vector-wide partial sums (two vectors, so two
 * FMA chains are in flight), then a scalar tail. */
RT_INTERNAL float rt_gemm_dot(ptrdiff_t K, const float *restrict a,
                              const float *restrict b)
{
    float sum = 0.0f;
    ptrdiff_t k = 0, kv;
#if defined(RT_GEMM_AVX512)
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    kv = K / 32 * 32;
    for (; k < kv; k += 32) {
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + k), _mm512_loadu_ps(b + k), s0);
        s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + k + 16),
                             _mm512_loadu_ps(b + k + 16), s1);
    }
    sum = _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
#elif defined(RT_GEMM_AVX2)
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    __m128 h;
    kv = K / 16 * 16;
    for (; k < kv; k += 16) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + k), _mm256_loadu_ps(b + k), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + k + 8),
                             _mm256_loadu_ps(b + k + 8), s1);
    }
    s0 = _mm256_add_ps(s0, s1);
    h = _mm_add_ps(_mm256_castps256_ps128(s0), _mm256_extractf128_ps(s0, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    h = _mm_add_ss(h, _mm_shuffle_ps(h, h, 1));
    sum = _mm_cvtss_f32(h);
#elif defined(RT_GEMM_NEON)
    float32x4_t s0 = vdupq_n_f32(0.0f), s1 = vdupq_n_f32(0.0f);
    kv = K / 8 * 8;
    for (; k < kv; k += 8) {
        s0 = vfmaq_f32(s0, vld1q_f32(a + k), vld1q_f32(b + k));
        s1 = vfmaq_f32(s1, vld1q_f32(a + k + 4), vld1q_f32(b + k + 4));
    }
    sum = vaddvq_f32(vaddq_f32(s0, s1));
#elif defined(RT_GEMM_SSE2)
    __m128 s0 = _mm_setzero_ps(), s1 = _mm_setzero_ps();
    kv = K / 8 * 8;
    for (; k < kv; k += 8) {
        s0 = _mm_add_ps(s0, _mm_mul_ps(_mm_loadu_ps(a + k), _mm_loadu_ps(b + k)));
        s1 = _mm_add_ps(s1, _mm_mul_ps(_mm_loadu_ps(a + k + 4),
                                       _mm_loadu_ps(b + k + 4)));
    }
    s0 = _mm_add_ps(s0, s1);
    s0 = _mm_add_ps(s0, _mm_movehl_ps(s0, s0));
    s0 = _mm_add_ss(s0, _mm_shuffle_ps(s0, s0, 1));
    sum = _mm_cvtss_f32(s0);
#else
    float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;
    kv = K / 4 * 4;
    for (; k < kv; k += 4) {
        s0 = RT_FMA(a[k], b[k], s0);
        s1 = RT_FMA(a[k + 1], b[k + 1], s1);
        s2 = RT_FMA(a[k + 2], b[k + 2], s2);
        s3 = RT_FMA(a[k + 3], b[k + 3], s3);
    }
    sum = (s0 + s1) + (s2 + s3);
#endif
    {
        /* The tail, counted down from its length: gcc's loop analysis
         * otherwise warns (-Waggressive-loop-optimizations) about an
         * impossible 2^62-iteration overflow once K is a known constant. */
        ptrdiff_t rem = K - k;
        const float *at = a + k, *bt = b + k;
        for (; rem > 0; rem--)
            sum = RT_FMA(*at++, *bt++, sum);
    }
    return sum;
}

/* Few rows, B transposed, rows of op(A) contiguous (lda apart):
 * C[i,j] = alpha * dot(op(A)[i,:], B[j,:]) + beta * C[i,j], j outer so that
 * each row of B is read from memory once.  Memory-bound: with threads
 * (threaded, B over RT_GEMM_PAR_BYTES) each takes a share of B's rows,
 * every C[i,j] summed as on one thread.  On 2 threads MobileNetV2's
 * classifier (5 MB of B) took 0.054-0.061 ms on one of them, 0.030-0.036
 * on both; ResNet-50's (8 MB) 0.199 -> 0.167-0.175. */
RT_INTERNAL void rt_gemm_small_m_bt(ptrdiff_t M, ptrdiff_t N, ptrdiff_t K,
                                    float alpha, const float *A,
                                    ptrdiff_t lda, const float *B,
                                    ptrdiff_t ldb, float beta, float *C,
                                    ptrdiff_t ldc, int threaded)
{
    int par = rt_gemm_streams(threaded, N, K);
    (void)par;
#ifdef _OPENMP
    _Pragma("omp parallel if(par && !omp_in_parallel())")
#endif
    {
        int tid = 0, nt = 1;
        ptrdiff_t i, j;
#ifdef _OPENMP
        tid = omp_get_thread_num();
        nt = omp_get_num_threads();
#endif
        for (j = N * tid / nt; j < N * (tid + 1) / nt; j++) {
            const float *bj = B + j * ldb;
            for (i = 0; i < M; i++) {
                float v = alpha * rt_gemm_dot(K, A + i * lda, bj);
                float *d = C + i * ldc + j;
                *d = beta == 0.0f ? v : v + beta * *d;
            }
        }
    }
}

/* ---- entry points ------------------------------------------------------ */

/* Threads worth using for `flops` of work (1 without OpenMP, or inside a
 * parallel region). */
RT_INTERNAL int rt_gemm_threads(double flops, ptrdiff_t tiles)
{
#ifdef _OPENMP
    int t;
    if (omp_in_parallel())
        return 1;
    t = omp_get_max_threads();
    if ((double)t * RT_GEMM_PAR_FLOPS > flops)
        t = (int)(flops / RT_GEMM_PAR_FLOPS);
    if ((ptrdiff_t)t > tiles)
        t = (int)tiles;
    return t < 1 ? 1 : t;
#else
    (void)flops;
    (void)tiles;
    return 1;
#endif
}

/* rt_sgemm_ep on one team (nth_max 1: this thread only). */
RT_INTERNAL void rt_gemm_ep(int transA, int transB, ptrdiff_t M, ptrdiff_t N, ptrdiff_t K,
                            float alpha, const float *A, ptrdiff_t lda, const float *B,
                            ptrdiff_t ldb, float beta, float *C, ptrdiff_t ldc,
                            const rt_epilogue *ep, float *scratch, int threaded)
{
    rt_gemm_job g;
    rt_epilogue e;
    int nth;

    if (M <= 0 || N <= 0)
        return;
    if (ep && !ep->bias && !ep->residual && ep->act == RT_ACT_NONE)
        ep = NULL;
    /* a residual that is C itself: accumulate onto it instead */
    if (ep && ep->residual == C && ep->ldr == ldc && beta == 0.0f) {
        e = *ep;
        e.residual = NULL;
        ep = &e;
        beta = 1.0f;
    }
    if (K <= 0 || alpha == 0.0f) {
        rt_gemm_scale(M, N, beta, C, ldc);
        rt_epilogue_block(ep, C, ldc, 0, M, 0, N);
        return;
    }
    if (M < RT_GEMM_SMALL_M && transA != RT_GEMM_PACKED && transB == 0) {
        rt_gemm_small_m(transA, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, threaded);
        rt_epilogue_block(ep, C, ldc, 0, M, 0, N);
        return;
    }
    /* transposed op(A) with one row and lda 1 is a contiguous row too */
    if (M < RT_GEMM_SMALL_M && transB == 1 && (transA == 0 || (transA == 1 && lda == 1))) {
        rt_gemm_small_m_bt(M, N, K, alpha, A, transA ? 1 : lda, B, ldb, beta, C, ldc,
                           threaded);
        rt_epilogue_block(ep, C, ldc, 0, M, 0, N);
        return;
    }
    if (beta != 0.0f && beta != 1.0f) {
        rt_gemm_scale(M, N, beta, C, ldc);
        beta = 1.0f;
    }

    g.ta = transA;
    g.tb = transB;
    g.M = M;
    g.N = N;
    g.K = K;
    g.alpha = alpha;
    g.beta = beta;
    g.A = A;
    g.lda = lda;
    g.B = B;
    g.ldb = ldb;
    g.C = C;
    g.ldc = ldc;
    g.ep = ep;
    g.kcb = transB == RT_GEMM_PACKED ? RT_GEMM_KC_PACKED : RT_GEMM_KC;
    g.ap = rt_gemm_align(scratch);
    {
        size_t mc = (size_t)RT_MIN(M, RT_GEMM_MC);
        size_t kc = (size_t)RT_MIN(K, RT_GEMM_KC);
        g.bp = rt_gemm_align(g.ap + (mc + RT_GEMM_MR_MAX) * kc);
    }
    nth = threaded ? rt_gemm_threads(2.0 * (double)M * (double)N * (double)K,
                                     ((M + RT_GEMM_MR - 1) / RT_GEMM_MR)
                                         * ((N + RT_GEMM_NR - 1) / RT_GEMM_NR))
                   : 1;
    g.apstride = 0;
#ifdef _OPENMP
    if (nth > 1 && transB == RT_GEMM_PACKED && transA != RT_GEMM_PACKED &&
        (N + RT_GEMM_NR - 1) / RT_GEMM_NR >= nth) {
        /* room for one A block per thread (B's packing space is free)? */
        size_t mc = (size_t)RT_MIN(M, RT_GEMM_MC);
        size_t one = (mc + RT_GEMM_MR_MAX) * (size_t)RT_MIN(K, g.kcb) + RT_GEMM_ALIGN;
        size_t have = rt_sgemm_scratch(M, N, K) - (size_t)(g.ap - scratch);
        if ((size_t)nth * one <= have)
            g.apstride = (ptrdiff_t)one / RT_GEMM_ALIGN * RT_GEMM_ALIGN;
    }
    if (nth > 1) {
        _Pragma("omp parallel num_threads(nth)")
        rt_gemm_run(&g, omp_get_thread_num(), omp_get_num_threads());
        return;
    }
#else
    (void)nth;
#endif
    rt_gemm_run(&g, 0, 1);
}

RT_API void rt_sgemm_ep(int transA, int transB, ptrdiff_t M, ptrdiff_t N, ptrdiff_t K,
                        float alpha, const float *A, ptrdiff_t lda, const float *B,
                        ptrdiff_t ldb, float beta, float *C, ptrdiff_t ldc,
                        const rt_epilogue *ep, float *scratch)
{
    rt_gemm_ep(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, ep, scratch, 1);
}

RT_API void rt_sgemm(int transA, int transB, ptrdiff_t M, ptrdiff_t N,
                     ptrdiff_t K, float alpha, const float *A, ptrdiff_t lda,
                     const float *B, ptrdiff_t ldb, float beta, float *C,
                     ptrdiff_t ldc, float *scratch)
{
    rt_gemm_ep(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, NULL, scratch, 1);
}

RT_API void rt_sgemm_ep_flat(int transA, int transB, ptrdiff_t M, ptrdiff_t N, ptrdiff_t K,
                             float alpha, const float *A, ptrdiff_t lda, const float *B,
                             ptrdiff_t ldb, float beta, float *C, ptrdiff_t ldc,
                             const float *bias, int bias_rows, const float *residual,
                             ptrdiff_t ldr, int act, float act_alpha, float act_beta,
                             float *scratch)
{
    rt_epilogue e = rt_epilogue_of(bias, bias_rows, residual, ldr, act, act_alpha, act_beta);
    rt_gemm_ep(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, &e, scratch, 1);
}

/* Concurrent products of a batch when each is below this many flops (and
 * the batch has more than one); above, one product at a time, each on all
 * threads. */
#define RT_GEMM_BATCH_SMALL 3.0e7

RT_INTERNAL ptrdiff_t rt_gemm_batch_slots(ptrdiff_t nbatch, ptrdiff_t M, ptrdiff_t N,
                                          ptrdiff_t K)
{
    if (nbatch <= 1 || 2.0 * (double)M * (double)N * (double)K >= RT_GEMM_BATCH_SMALL)
        return 1;
    return RT_MIN(nbatch, RT_GEMM_BATCH_SLOTS);
}

RT_API size_t rt_sgemm_batch_scratch(ptrdiff_t nbatch, ptrdiff_t M, ptrdiff_t N, ptrdiff_t K)
{
    size_t one = rt_sgemm_scratch(M, N, K);
    if (nbatch <= 0 || one == 0)
        return 0;
    return one * (size_t)rt_gemm_batch_slots(nbatch, M, N, K);
}

RT_API void rt_sgemm_batch(ptrdiff_t nbatch, int transA, int transB, ptrdiff_t M,
                           ptrdiff_t N, ptrdiff_t K, float alpha, const float *A,
                           ptrdiff_t lda, ptrdiff_t strideA, const float *B, ptrdiff_t ldb,
                           ptrdiff_t strideB, float beta, float *C, ptrdiff_t ldc,
                           ptrdiff_t strideC, float *scratch)
{
    ptrdiff_t slots = rt_gemm_batch_slots(nbatch, M, N, K), s;
    size_t one = rt_sgemm_scratch(M, N, K);
    if (nbatch <= 0 || M <= 0 || N <= 0)
        return;
    if (slots == 1) {
        for (s = 0; s < nbatch; s++)
            rt_gemm_ep(transA, transB, M, N, K, alpha, A + s * strideA, lda, B + s * strideB,
                       ldb, beta, C + s * strideC, ldc, NULL, scratch, 1);
        return;
    }
    /* slot s runs products s, s + slots, ...; the slots are shared out */
    {
#ifdef _OPENMP
        int nth = rt_gemm_threads(2.0 * (double)M * (double)N * (double)K * (double)nbatch,
                                  slots);
        _Pragma("omp parallel for schedule(static) num_threads(nth) if(nth > 1)")
#endif
        for (s = 0; s < slots; s++) {
            ptrdiff_t b;
            for (b = s; b < nbatch; b += slots)
                rt_gemm_ep(transA, transB, M, N, K, alpha, A + b * strideA, lda,
                           B + b * strideB, ldb, beta, C + b * strideC, ldc, NULL,
                           scratch ? scratch + (size_t)s * one : NULL, 0);
        }
    }
}
