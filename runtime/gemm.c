/* rt-deps: */
/* gemm.c - single-precision GEMM, row-major.
 *
 *   C[M x N] = alpha * op(A) * op(B) + beta * C
 *
 * Structure (Goto / BLIS): the N dimension is cut into RT_GEMM_NC-wide
 * column blocks, K into RT_GEMM_KC-deep slices, M into RT_GEMM_MC-tall row
 * blocks.  For each (column block, K slice) the slice of op(B) is packed
 * into RT_GEMM_NR-wide micro-panels (k-major, so the kernel reads it
 * linearly); for each row block the slice of op(A) is packed into
 * RT_GEMM_MR-tall micro-panels; a register-blocked micro-kernel then
 * computes each MR x NR tile of the product over the K slice.  Partial
 * panels at the edges are zero-padded, so the micro-kernel has only one
 * shape; the epilogue writes only the valid part of a tile.
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
 * are not read and C = beta * C.
 */
#ifndef RT_EMBED
#include "rt.h"
#endif

/* Register blocking, by target: the micro-kernel keeps an MR x NR tile of C
 * in vector registers (NR is a multiple of the vector width).  The x86 and
 * AArch64 kernels use intrinsics, because the auto-vectorised portable loop
 * is fast with some compiler/flag pairs and ten times slower with others
 * (gcc 12 -mavx2, clang 14 with some loop shapes); the portable kernel is
 * the fallback everywhere else. */
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

/* Cache blocking; identical on every target (scratch size depends on it). */
#define RT_GEMM_MC 144  /* rows of packed A: MC x KC floats stay in L2 */
#define RT_GEMM_KC 256  /* depth of a K slice */
#define RT_GEMM_NC 2048 /* columns of packed B: KC x NC floats stay in L3 */
#define RT_GEMM_MR_MAX 16 /* bounds on MR / NR over all targets */
#define RT_GEMM_NR_MAX 64
#define RT_GEMM_ALIGN 16  /* floats: packed buffers start on 64 bytes */

/* Below this many rows C is computed without packing (packing B would cost
 * as much as the product itself): as sums of scaled rows of B, or as dot
 * products with the rows of B when B is transposed. */
#define RT_GEMM_SMALL_M 4

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

/* Rounds p up to a multiple of RT_GEMM_ALIGN floats. */
RT_INTERNAL float *rt_gemm_align(float *p)
{
    uintptr_t u = (uintptr_t)p;
    uintptr_t a = (uintptr_t)(RT_GEMM_ALIGN * sizeof(float));
    return (float *)(void *)((u + a - 1) / a * a);
}

/* Packs op(A)[i0 .. i0+mc) x [p0 .. p0+kc) into MR-row micro-panels:
 * panel q holds rows i0 + q*MR + r at ap[q*MR*kc + k*MR + r]. */
RT_INTERNAL void rt_gemm_pack_a(int transA, const float *A, ptrdiff_t lda,
                                ptrdiff_t i0, ptrdiff_t p0, ptrdiff_t mc,
                                ptrdiff_t kc, float *ap)
{
    ptrdiff_t q, k, r;
    for (q = 0; q < mc; q += RT_GEMM_MR) {
        ptrdiff_t mr = RT_MIN(RT_GEMM_MR, mc - q);
        float *dst = ap + q * kc;
        if (!transA) {
            /* row by row: reads stay sequential (the rows are lda apart,
             * and lda a multiple of 4 KiB would put them in one cache set) */
            const float *src = A + (i0 + q) * lda + p0;
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

/* Packs op(B)[p0 .. p0+kc) x [j0 .. j0+nc) into NR-column micro-panels:
 * panel q holds columns j0 + q*NR + c at bp[q*NR*kc + k*NR + c]. */
RT_INTERNAL void rt_gemm_pack_b(int transB, const float *B, ptrdiff_t ldb,
                                ptrdiff_t p0, ptrdiff_t j0, ptrdiff_t kc,
                                ptrdiff_t nc, float *bp)
{
    ptrdiff_t q, k, c;
    for (q = 0; q < nc; q += RT_GEMM_NR) {
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

/* acc[MR][NR] = (packed A panel) x (packed B panel) over kc:
 * acc[i][j] = sum_k a[k*MR + i] * b[k*NR + j]. */
#if defined(RT_GEMM_AVX512)
RT_INTERNAL RT_NOINLINE void rt_gemm_kernel(ptrdiff_t kc,
                                            const float *restrict a,
                                            const float *restrict b,
                                            float *restrict acc)
{
    __m512 c00 = _mm512_setzero_ps(), c01 = _mm512_setzero_ps();
    __m512 c10 = _mm512_setzero_ps(), c11 = _mm512_setzero_ps();
    __m512 c20 = _mm512_setzero_ps(), c21 = _mm512_setzero_ps();
    __m512 c30 = _mm512_setzero_ps(), c31 = _mm512_setzero_ps();
    __m512 c40 = _mm512_setzero_ps(), c41 = _mm512_setzero_ps();
    __m512 c50 = _mm512_setzero_ps(), c51 = _mm512_setzero_ps();
    __m512 c60 = _mm512_setzero_ps(), c61 = _mm512_setzero_ps();
    __m512 c70 = _mm512_setzero_ps(), c71 = _mm512_setzero_ps();
    ptrdiff_t k;
    for (k = 0; k < kc; k++) {
        __m512 b0 = _mm512_loadu_ps(b);
        __m512 b1 = _mm512_loadu_ps(b + 16);
        __m512 ai;
        ai = _mm512_set1_ps(a[0]);
        c00 = _mm512_fmadd_ps(ai, b0, c00);
        c01 = _mm512_fmadd_ps(ai, b1, c01);
        ai = _mm512_set1_ps(a[1]);
        c10 = _mm512_fmadd_ps(ai, b0, c10);
        c11 = _mm512_fmadd_ps(ai, b1, c11);
        ai = _mm512_set1_ps(a[2]);
        c20 = _mm512_fmadd_ps(ai, b0, c20);
        c21 = _mm512_fmadd_ps(ai, b1, c21);
        ai = _mm512_set1_ps(a[3]);
        c30 = _mm512_fmadd_ps(ai, b0, c30);
        c31 = _mm512_fmadd_ps(ai, b1, c31);
        ai = _mm512_set1_ps(a[4]);
        c40 = _mm512_fmadd_ps(ai, b0, c40);
        c41 = _mm512_fmadd_ps(ai, b1, c41);
        ai = _mm512_set1_ps(a[5]);
        c50 = _mm512_fmadd_ps(ai, b0, c50);
        c51 = _mm512_fmadd_ps(ai, b1, c51);
        ai = _mm512_set1_ps(a[6]);
        c60 = _mm512_fmadd_ps(ai, b0, c60);
        c61 = _mm512_fmadd_ps(ai, b1, c61);
        ai = _mm512_set1_ps(a[7]);
        c70 = _mm512_fmadd_ps(ai, b0, c70);
        c71 = _mm512_fmadd_ps(ai, b1, c71);
        a += RT_GEMM_MR;
        b += RT_GEMM_NR;
    }
    _mm512_storeu_ps(acc + 0 * 32, c00);
    _mm512_storeu_ps(acc + 0 * 32 + 16, c01);
    _mm512_storeu_ps(acc + 1 * 32, c10);
    _mm512_storeu_ps(acc + 1 * 32 + 16, c11);
    _mm512_storeu_ps(acc + 2 * 32, c20);
    _mm512_storeu_ps(acc + 2 * 32 + 16, c21);
    _mm512_storeu_ps(acc + 3 * 32, c30);
    _mm512_storeu_ps(acc + 3 * 32 + 16, c31);
    _mm512_storeu_ps(acc + 4 * 32, c40);
    _mm512_storeu_ps(acc + 4 * 32 + 16, c41);
    _mm512_storeu_ps(acc + 5 * 32, c50);
    _mm512_storeu_ps(acc + 5 * 32 + 16, c51);
    _mm512_storeu_ps(acc + 6 * 32, c60);
    _mm512_storeu_ps(acc + 6 * 32 + 16, c61);
    _mm512_storeu_ps(acc + 7 * 32, c70);
    _mm512_storeu_ps(acc + 7 * 32 + 16, c71);
}
#elif defined(RT_GEMM_AVX2)
RT_INTERNAL RT_NOINLINE void rt_gemm_kernel(ptrdiff_t kc,
                                            const float *restrict a,
                                            const float *restrict b,
                                            float *restrict acc)
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
        a += RT_GEMM_MR;
        b += RT_GEMM_NR;
    }
    _mm256_storeu_ps(acc + 0 * 16, c00);
    _mm256_storeu_ps(acc + 0 * 16 + 8, c01);
    _mm256_storeu_ps(acc + 1 * 16, c10);
    _mm256_storeu_ps(acc + 1 * 16 + 8, c11);
    _mm256_storeu_ps(acc + 2 * 16, c20);
    _mm256_storeu_ps(acc + 2 * 16 + 8, c21);
    _mm256_storeu_ps(acc + 3 * 16, c30);
    _mm256_storeu_ps(acc + 3 * 16 + 8, c31);
    _mm256_storeu_ps(acc + 4 * 16, c40);
    _mm256_storeu_ps(acc + 4 * 16 + 8, c41);
    _mm256_storeu_ps(acc + 5 * 16, c50);
    _mm256_storeu_ps(acc + 5 * 16 + 8, c51);
}
#elif defined(RT_GEMM_NEON)
RT_INTERNAL RT_NOINLINE void rt_gemm_kernel(ptrdiff_t kc,
                                            const float *restrict a,
                                            const float *restrict b,
                                            float *restrict acc)
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
        a += RT_GEMM_MR;
        b += RT_GEMM_NR;
    }
    vst1q_f32(acc + 0 * 8, c00);
    vst1q_f32(acc + 0 * 8 + 4, c01);
    vst1q_f32(acc + 1 * 8, c10);
    vst1q_f32(acc + 1 * 8 + 4, c11);
    vst1q_f32(acc + 2 * 8, c20);
    vst1q_f32(acc + 2 * 8 + 4, c21);
    vst1q_f32(acc + 3 * 8, c30);
    vst1q_f32(acc + 3 * 8 + 4, c31);
    vst1q_f32(acc + 4 * 8, c40);
    vst1q_f32(acc + 4 * 8 + 4, c41);
    vst1q_f32(acc + 5 * 8, c50);
    vst1q_f32(acc + 5 * 8 + 4, c51);
    vst1q_f32(acc + 6 * 8, c60);
    vst1q_f32(acc + 6 * 8 + 4, c61);
    vst1q_f32(acc + 7 * 8, c70);
    vst1q_f32(acc + 7 * 8 + 4, c71);
}
#elif defined(RT_GEMM_SSE2)
/* No fused multiply-add in SSE: a multiply and an add, like the portable
 * kernel on such a target. */
RT_INTERNAL RT_NOINLINE void rt_gemm_kernel(ptrdiff_t kc,
                                            const float *restrict a,
                                            const float *restrict b,
                                            float *restrict acc)
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
        a += RT_GEMM_MR;
        b += RT_GEMM_NR;
    }
    _mm_storeu_ps(acc + 0 * 8, c00);
    _mm_storeu_ps(acc + 0 * 8 + 4, c01);
    _mm_storeu_ps(acc + 1 * 8, c10);
    _mm_storeu_ps(acc + 1 * 8 + 4, c11);
    _mm_storeu_ps(acc + 2 * 8, c20);
    _mm_storeu_ps(acc + 2 * 8 + 4, c21);
    _mm_storeu_ps(acc + 3 * 8, c30);
    _mm_storeu_ps(acc + 3 * 8 + 4, c31);
    _mm_storeu_ps(acc + 4 * 8, c40);
    _mm_storeu_ps(acc + 4 * 8 + 4, c41);
    _mm_storeu_ps(acc + 5 * 8, c50);
    _mm_storeu_ps(acc + 5 * 8 + 4, c51);
}
#else /* RT_GEMM_PORTABLE */
RT_INTERNAL RT_NOINLINE void rt_gemm_kernel(ptrdiff_t kc,
                                            const float *restrict a,
                                            const float *restrict b,
                                            float *restrict acc)
{
    float c[RT_GEMM_MR][RT_GEMM_NR];
    ptrdiff_t k;
    int i, j;
    for (i = 0; i < RT_GEMM_MR; i++)
        for (j = 0; j < RT_GEMM_NR; j++)
            c[i][j] = 0.0f;
    for (k = 0; k < kc; k++) {
        for (i = 0; i < RT_GEMM_MR; i++) {
            const float ai = a[i];
            for (j = 0; j < RT_GEMM_NR; j++)
                c[i][j] = RT_FMA(ai, b[j], c[i][j]);
        }
        a += RT_GEMM_MR;
        b += RT_GEMM_NR;
    }
    for (i = 0; i < RT_GEMM_MR; i++)
        for (j = 0; j < RT_GEMM_NR; j++)
            acc[i * RT_GEMM_NR + j] = c[i][j];
}
#endif

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

/* C[mr x nr] = alpha * acc + beta * C; beta == 0 does not read C. */
RT_INTERNAL void rt_gemm_store(ptrdiff_t mr, ptrdiff_t nr, float alpha,
                               const float *acc, float beta, float *C,
                               ptrdiff_t ldc)
{
    ptrdiff_t i, j;
    if (mr == RT_GEMM_MR && nr == RT_GEMM_NR) {
        /* full tile: constant trip counts, which gcc -O2 also vectorises */
        for (i = 0; i < RT_GEMM_MR; i++) {
            const float *s = acc + i * RT_GEMM_NR;
            float *d = C + i * ldc;
            if (beta == 0.0f) {
                for (j = 0; j < RT_GEMM_NR; j++)
                    d[j] = alpha * s[j];
            } else if (beta == 1.0f) {
                for (j = 0; j < RT_GEMM_NR; j++)
                    d[j] += alpha * s[j];
            } else {
                for (j = 0; j < RT_GEMM_NR; j++)
                    d[j] = alpha * s[j] + beta * d[j];
            }
        }
        return;
    }
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

/* y[0..n) += a * x[0..n).  Intrinsics: gcc 12 -O2 leaves the plain loop
 * scalar. */
RT_INTERNAL void rt_gemm_axpy(ptrdiff_t n, float a, const float *restrict x,
                              float *restrict y)
{
    ptrdiff_t j = 0;
#if defined(RT_GEMM_AVX512)
    __m512 va = _mm512_set1_ps(a);
    for (; j + 16 <= n; j += 16)
        _mm512_storeu_ps(y + j, _mm512_fmadd_ps(va, _mm512_loadu_ps(x + j),
                                                _mm512_loadu_ps(y + j)));
#elif defined(RT_GEMM_AVX2)
    __m256 va = _mm256_set1_ps(a);
    for (; j + 8 <= n; j += 8)
        _mm256_storeu_ps(y + j, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + j),
                                                _mm256_loadu_ps(y + j)));
#elif defined(RT_GEMM_NEON)
    float32x4_t va = vdupq_n_f32(a);
    for (; j + 4 <= n; j += 4)
        vst1q_f32(y + j, vfmaq_f32(vld1q_f32(y + j), va, vld1q_f32(x + j)));
#elif defined(RT_GEMM_SSE2)
    __m128 va = _mm_set1_ps(a);
    for (; j + 4 <= n; j += 4)
        _mm_storeu_ps(y + j, _mm_add_ps(_mm_loadu_ps(y + j),
                                        _mm_mul_ps(va, _mm_loadu_ps(x + j))));
#endif
    for (; j < n; j++)
        y[j] = RT_FMA(a, x[j], y[j]);
}

/* Few rows, B not transposed: C[i,:] = beta*C[i,:] + sum_k (alpha*A[i,k]) B[k,:]. */
RT_INTERNAL void rt_gemm_small_m(int transA, ptrdiff_t M, ptrdiff_t N,
                                 ptrdiff_t K, float alpha, const float *A,
                                 ptrdiff_t lda, const float *B, ptrdiff_t ldb,
                                 float beta, float *C, ptrdiff_t ldc)
{
    ptrdiff_t i, k;
    rt_gemm_scale(M, N, beta, C, ldc);
    for (i = 0; i < M; i++)
        for (k = 0; k < K; k++)
            rt_gemm_axpy(N, alpha * (transA ? A[k * lda + i] : A[i * lda + k]),
                         B + k * ldb, C + i * ldc);
}

/* sum_k a[k] * b[k], in vector-wide partial sums (two vectors, so two
 * FMA chains are in flight), then a scalar tail. */
RT_INTERNAL float rt_gemm_dot(ptrdiff_t K, const float *restrict a,
                              const float *restrict b)
{
    float sum = 0.0f;
    ptrdiff_t k = 0;
#if defined(RT_GEMM_AVX512)
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    for (; k + 32 <= K; k += 32) {
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + k), _mm512_loadu_ps(b + k), s0);
        s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + k + 16),
                             _mm512_loadu_ps(b + k + 16), s1);
    }
    sum = _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
#elif defined(RT_GEMM_AVX2)
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    __m128 h;
    for (; k + 16 <= K; k += 16) {
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
    for (; k + 8 <= K; k += 8) {
        s0 = vfmaq_f32(s0, vld1q_f32(a + k), vld1q_f32(b + k));
        s1 = vfmaq_f32(s1, vld1q_f32(a + k + 4), vld1q_f32(b + k + 4));
    }
    sum = vaddvq_f32(vaddq_f32(s0, s1));
#elif defined(RT_GEMM_SSE2)
    __m128 s0 = _mm_setzero_ps(), s1 = _mm_setzero_ps();
    for (; k + 8 <= K; k += 8) {
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
    for (; k + 4 <= K; k += 4) {
        s0 = RT_FMA(a[k], b[k], s0);
        s1 = RT_FMA(a[k + 1], b[k + 1], s1);
        s2 = RT_FMA(a[k + 2], b[k + 2], s2);
        s3 = RT_FMA(a[k + 3], b[k + 3], s3);
    }
    sum = (s0 + s1) + (s2 + s3);
#endif
    for (; k < K; k++)
        sum = RT_FMA(a[k], b[k], sum);
    return sum;
}

/* Few rows, B transposed, rows of op(A) contiguous (lda apart):
 * C[i,j] = alpha * dot(op(A)[i,:], B[j,:]) + beta * C[i,j], j outer so that
 * each row of B is read from memory once. */
RT_INTERNAL void rt_gemm_small_m_bt(ptrdiff_t M, ptrdiff_t N, ptrdiff_t K,
                                    float alpha, const float *A,
                                    ptrdiff_t lda, const float *B,
                                    ptrdiff_t ldb, float beta, float *C,
                                    ptrdiff_t ldc)
{
    ptrdiff_t i, j;
    for (j = 0; j < N; j++) {
        const float *bj = B + j * ldb;
        for (i = 0; i < M; i++) {
            float v = alpha * rt_gemm_dot(K, A + i * lda, bj);
            float *d = C + i * ldc + j;
            *d = beta == 0.0f ? v : v + beta * *d;
        }
    }
}

RT_API void rt_sgemm(int transA, int transB, ptrdiff_t M, ptrdiff_t N,
                     ptrdiff_t K, float alpha, const float *A, ptrdiff_t lda,
                     const float *B, ptrdiff_t ldb, float beta, float *C,
                     ptrdiff_t ldc, float *scratch)
{
    float acc[RT_GEMM_MR * RT_GEMM_NR];
    float *ap, *bp;
    ptrdiff_t jc, pc, ic, jr, ir;

    if (M <= 0 || N <= 0)
        return;
    if (K <= 0 || alpha == 0.0f) {
        rt_gemm_scale(M, N, beta, C, ldc);
        return;
    }
    if (M < RT_GEMM_SMALL_M && !transB) {
        rt_gemm_small_m(transA, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    /* transposed op(A) with one row and lda 1 is a contiguous row too */
    if (M < RT_GEMM_SMALL_M && transB && (!transA || lda == 1)) {
        rt_gemm_small_m_bt(M, N, K, alpha, A, transA ? 1 : lda, B, ldb, beta,
                           C, ldc);
        return;
    }

    ap = rt_gemm_align(scratch);
    {
        size_t mc = (size_t)RT_MIN(M, RT_GEMM_MC);
        size_t kc = (size_t)RT_MIN(K, RT_GEMM_KC);
        bp = rt_gemm_align(ap + (mc + RT_GEMM_MR_MAX) * kc);
    }

    for (jc = 0; jc < N; jc += RT_GEMM_NC) {
        ptrdiff_t nc = RT_MIN(RT_GEMM_NC, N - jc);
        for (pc = 0; pc < K; pc += RT_GEMM_KC) {
            ptrdiff_t kc = RT_MIN(RT_GEMM_KC, K - pc);
            float b = pc == 0 ? beta : 1.0f;
            rt_gemm_pack_b(transB, B, ldb, pc, jc, kc, nc, bp);
            for (ic = 0; ic < M; ic += RT_GEMM_MC) {
                ptrdiff_t mc = RT_MIN(RT_GEMM_MC, M - ic);
                rt_gemm_pack_a(transA, A, lda, ic, pc, mc, kc, ap);
                for (jr = 0; jr < nc; jr += RT_GEMM_NR) {
                    ptrdiff_t nr = RT_MIN(RT_GEMM_NR, nc - jr);
                    for (ir = 0; ir < mc; ir += RT_GEMM_MR) {
                        ptrdiff_t mr = RT_MIN(RT_GEMM_MR, mc - ir);
                        float *ct = C + (ic + ir) * ldc + jc + jr;
                        rt_gemm_prefetch_tile(mr, nr, ct, ldc);
                        rt_gemm_kernel(kc, ap + ir * kc, bp + jr * kc, acc);
                        rt_gemm_store(mr, nr, alpha, acc, b, ct, ldc);
                    }
                }
            }
        }
    }
}
