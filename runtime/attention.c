/* rt-deps: gemm epilogue softmax */
/* attention.c - scaled dot-product attention fused per (batch, head):
 *
 *   O[b,h] = softmax(scale * Q[b,h] K[b,h]^T + mask[b,h]) V[b,h]
 *
 * Q, K, V and O are read and written in place through their strides
 * (rt_attention_shape, rt_common.h), so the head split and merge that
 * exporters spell as Reshape + Transpose never materialise.  For each block
 * of up to RT_ATTN_ROWS query rows the scores go to scratch (rows x Sk
 * floats, cache-resident), then, per row: mask added, max subtracted,
 * exponentials (rt_exp_n, epilogue.c), their sum; the product with V is
 * written straight into O, and each O row is divided by its sum last (Dv
 * multiplies instead of Sk).  Both products are rt_sgemm calls (gemm.c's
 * micro-kernels, K and V read with their row strides).
 *
 * Numerics: the softmax subtracts each row's max before exp, as rt_softmax
 * does; a row whose scores are all -inf, or that holds a NaN, comes out
 * NaN (as the formula gives), or zeros with nan_zero set (its weights are
 * then all NaN, so the guard zeroes them all).
 *
 * Threads (OpenMP, #ifdef _OPENMP): the (batch, head, row block) items are
 * split statically among up to RT_ATTN_SLOTS threads, each with its own
 * scratch slot, when there are RT_ATTN_PAR_FLOPS of work per thread; each
 * item is computed by one thread with the same operations whatever the
 * thread count, so results do not depend on it.
 */
#ifndef RT_EMBED
#include "rt.h"
#endif

#ifdef _OPENMP
#  include <omp.h>
#endif

#if !defined(RT_NO_SIMD) && defined(__AVX512F__)
#  include <immintrin.h>
#  define RT_ATTN_AVX512 1
#endif

#define RT_ATTN_ROWS 128            /* query rows per block, at most */
#define RT_ATTN_SCORES 32768        /* floats of scores per block, at most */
#define RT_ATTN_SLOTS 16            /* scratch slots: threads, at most */
#define RT_ATTN_ALIGN 16            /* floats: 64-byte alignment */
#define RT_ATTN_PAR_FLOPS 1.0e6     /* work worth one more thread */

/* Query rows per block for these sizes. */
RT_INTERNAL ptrdiff_t rt_attention_rows(const rt_attention_shape *s)
{
    ptrdiff_t rb = RT_ATTN_SCORES / (s->Sk > 0 ? s->Sk : 1);
    rb = RT_MIN(rb, RT_ATTN_ROWS);
    rb = RT_MAX(rb, 8);
    return RT_MIN(rb, s->Sq);
}

/* Floats of one slot: scores, row sums, the products' GEMM scratch. */
RT_INTERNAL size_t rt_attention_slot(const rt_attention_shape *s, ptrdiff_t rb)
{
    size_t g1 = rt_sgemm_scratch(rb, s->Sk, s->D), g2 = rt_sgemm_scratch(rb, s->Dv, s->Sk);
    size_t sc = (size_t)rb * (size_t)s->Sk, rows = (size_t)rb;
    size_t kt = (size_t)s->D * (size_t)((s->Sk + RT_ATTN_ALIGN - 1) / RT_ATTN_ALIGN * RT_ATTN_ALIGN);
    sc = (sc + RT_ATTN_ALIGN - 1) / RT_ATTN_ALIGN * RT_ATTN_ALIGN;
    rows = (rows + RT_ATTN_ALIGN - 1) / RT_ATTN_ALIGN * RT_ATTN_ALIGN;
    return RT_ATTN_ALIGN + sc + rows + RT_MAX(RT_MAX(g1, g2), kt);
}

RT_INTERNAL ptrdiff_t rt_attention_items(const rt_attention_shape *s, ptrdiff_t rb)
{
    return s->B * s->H * ((s->Sq + rb - 1) / rb);
}

RT_API size_t rt_attention_scratch(const rt_attention_shape *s)
{
    ptrdiff_t rb, items;
    if (s->B <= 0 || s->H <= 0 || s->Sq <= 0 || s->Sk <= 0 || s->D <= 0 || s->Dv <= 0)
        return 0;
    rb = rt_attention_rows(s);
    items = rt_attention_items(s, rb);
    return (size_t)RT_MIN(items, RT_ATTN_SLOTS) * rt_attention_slot(s, rb);
}

/* One row of scores x[0..n): x = exp(x + mask - max) in place; returns
 * 1 / sum.  mask NULL for none; mj its stride (0: one value for the row). */
RT_INTERNAL float rt_attention_row(float *x, const float *mask, ptrdiff_t mj, ptrdiff_t n)
{
    ptrdiff_t j;
    float m;
    if (mask && mj) {
        for (j = 0; j < n; j++)
            x[j] += mask[j];
    } else if (mask) {
        float c = mask[0];
        for (j = 0; j < n; j++)
            x[j] += c;
    }
    m = rt_row_max(x, n);
    return 1.0f / rt_exp_sum(x, x, n, m);
}

#if defined(RT_ATTN_AVX512)
/* c[r][0..n) = f_r * sum_k a[r*lda + k] * b[k*ldb + 0..n) + mask_r for
 * rows r < m (m <= 8) and n <= 32 columns, f_r = rs[r] (rs not NULL) or
 * alpha, mask_r = mk[r*mi + 0..n) (mj 1), mk[r*mi] (mj 0) or 0 (mk NULL).  A is
 * read by broadcasts in place (any row stride), B by rows (contiguous
 * columns), so neither operand is packed; edge columns are masked. */
#define RT_ATTN_MR 8
#define RT_ATTN_NR 32
#define RT_ATTN_FMA2(r)                                                      \
    do {                                                                     \
        __m512 x_ = _mm512_set1_ps(a##r[kk]);                                \
        c##r##0 = _mm512_fmadd_ps(x_, b0, c##r##0);                          \
        c##r##1 = _mm512_fmadd_ps(x_, b1, c##r##1);                          \
    } while (0)
#define RT_ATTN_STORE2(r)                                                    \
    do {                                                                     \
        if (r < m) {                                                         \
            __m512 f_ = _mm512_set1_ps(rs ? rs[r] : alpha);                  \
            __m512 y0_ = _mm512_mul_ps(c##r##0, f_), y1_ = _mm512_mul_ps(c##r##1, f_); \
            if (mk && mj) {                                                  \
                y0_ = _mm512_add_ps(y0_, _mm512_maskz_loadu_ps(m0, mk + r * mi)); \
                y1_ = _mm512_add_ps(y1_, _mm512_maskz_loadu_ps(m1, mk + r * mi + 16)); \
            } else if (mk) {                                                 \
                y0_ = _mm512_add_ps(y0_, _mm512_set1_ps(mk[r * mi]));        \
                y1_ = _mm512_add_ps(y1_, _mm512_set1_ps(mk[r * mi]));        \
            }                                                                \
            _mm512_mask_storeu_ps(c + r * ldc, m0, y0_);                     \
            _mm512_mask_storeu_ps(c + r * ldc + 16, m1, y1_);                \
        }                                                                    \
    } while (0)
RT_INTERNAL RT_NOINLINE void rt_attention_kernel(ptrdiff_t m, ptrdiff_t n, ptrdiff_t K,
                                                 float alpha, const float *rs, const float *mk,
                                                 ptrdiff_t mi, ptrdiff_t mj, const float *a,
                                                 ptrdiff_t lda, const float *b, ptrdiff_t ldb,
                                                 float *c, ptrdiff_t ldc)
{
    __mmask16 m0 = n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1u);
    __mmask16 m1 = n >= 32 ? (__mmask16)0xFFFF
                           : n > 16 ? (__mmask16)((1u << (n - 16)) - 1u) : (__mmask16)0;
    const float *a0 = a, *a1 = a + RT_MIN(1, m - 1) * lda, *a2 = a + RT_MIN(2, m - 1) * lda;
    const float *a3 = a + RT_MIN(3, m - 1) * lda, *a4 = a + RT_MIN(4, m - 1) * lda;
    const float *a5 = a + RT_MIN(5, m - 1) * lda, *a6 = a + RT_MIN(6, m - 1) * lda;
    const float *a7 = a + RT_MIN(7, m - 1) * lda;
    __m512 c00 = _mm512_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m512 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    __m512 c60 = c00, c61 = c00, c70 = c00, c71 = c00;
    ptrdiff_t kk;
    for (kk = 0; kk < K; kk++) {
        __m512 b0 = _mm512_maskz_loadu_ps(m0, b + kk * ldb);
        __m512 b1 = _mm512_maskz_loadu_ps(m1, b + kk * ldb + 16);
        RT_ATTN_FMA2(0);
        RT_ATTN_FMA2(1);
        RT_ATTN_FMA2(2);
        RT_ATTN_FMA2(3);
        RT_ATTN_FMA2(4);
        RT_ATTN_FMA2(5);
        RT_ATTN_FMA2(6);
        RT_ATTN_FMA2(7);
    }
    RT_ATTN_STORE2(0);
    RT_ATTN_STORE2(1);
    RT_ATTN_STORE2(2);
    RT_ATTN_STORE2(3);
    RT_ATTN_STORE2(4);
    RT_ATTN_STORE2(5);
    RT_ATTN_STORE2(6);
    RT_ATTN_STORE2(7);
}

/* c (rows x n, row stride ldc) = f * a (rows x K) b (K x n) + mask, blocked. */
RT_INTERNAL void rt_attention_product(ptrdiff_t rows, ptrdiff_t n, ptrdiff_t K, float alpha,
                                      const float *rs, const float *mk, ptrdiff_t mi,
                                      ptrdiff_t mj, const float *a, ptrdiff_t lda,
                                      const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc)
{
    ptrdiff_t i, j;
    for (j = 0; j < n; j += RT_ATTN_NR)
        for (i = 0; i < rows; i += RT_ATTN_MR)
            rt_attention_kernel(RT_MIN(RT_ATTN_MR, rows - i), RT_MIN(RT_ATTN_NR, n - j), K, alpha,
                                rs ? rs + i : NULL, mk ? mk + i * mi + j * mj : NULL, mi, mj,
                                a + i * lda, lda, b + j, ldb, c + i * ldc + j, ldc);
}

/* kt[d*ldt + j] = k[j*ldk + d] for j < Sk, d < D. */
RT_INTERNAL void rt_attention_pack_kt(const float *k, ptrdiff_t ldk, ptrdiff_t Sk, ptrdiff_t D,
                                      float *kt, ptrdiff_t ldt)
{
    ptrdiff_t j, d, j8 = Sk / 8 * 8, d8 = D / 8 * 8;
    for (j = 0; j < j8; j += 8) {
        for (d = 0; d < d8; d += 8)
            rt_tr8x8(k + j * ldk + d, ldk, kt + d * ldt + j, ldt);
        for (; d < D; d++) {
            ptrdiff_t r;
            for (r = 0; r < 8; r++)
                kt[d * ldt + j + r] = k[(j + r) * ldk + d];
        }
    }
    for (; j < Sk; j++)
        for (d = 0; d < D; d++)
            kt[d * ldt + j] = k[j * ldk + d];
}
#endif

/* nan_zero: rows whose 1 / sum is NaN get zero weights and factor. */
RT_INTERNAL void rt_attention_nan_rows(float *sp, float *inv, ptrdiff_t rows, ptrdiff_t Sk)
{
    ptrdiff_t i, j;
    for (i = 0; i < rows; i++)
        if (inv[i] != inv[i]) {
            for (j = 0; j < Sk; j++)
                sp[i * Sk + j] = 0.0f;
            inv[i] = 0.0f;
        }
}

/* Item `it` (batch, head, row block) with one scratch slot. */
RT_INTERNAL void rt_attention_item(const rt_attention_shape *s, ptrdiff_t rb, ptrdiff_t it,
                                   float scale, const float *q, const float *k,
                                   const float *v, const float *mask, float *o, float *slot)
{
    ptrdiff_t nblk = (s->Sq + rb - 1) / rb, blk = it % nblk, bh = it / nblk;
    ptrdiff_t b = bh / s->H, h = bh % s->H, r0 = blk * rb, rows = RT_MIN(rb, s->Sq - r0);
    ptrdiff_t i, e, Sk = s->Sk;
    size_t sc = ((size_t)rb * (size_t)Sk + RT_ATTN_ALIGN - 1) / RT_ATTN_ALIGN * RT_ATTN_ALIGN;
    size_t nr = ((size_t)rb + RT_ATTN_ALIGN - 1) / RT_ATTN_ALIGN * RT_ATTN_ALIGN;
    float *sp = slot + (RT_ATTN_ALIGN - ((uintptr_t)slot / sizeof(float)) % RT_ATTN_ALIGN);
    float *inv = sp + sc, *gs = inv + nr;
    const float *qp = q + b * s->qb + h * s->qh + r0 * s->qi;
    const float *kp = k + b * s->kb + h * s->kh;
    const float *vp = v + b * s->vb + h * s->vh;
    float *op = o + b * s->ob + h * s->oh + r0 * s->oi;

#if defined(RT_ATTN_AVX512)
    {
        /* K^T packed: row d holds K[0..Sk) [d], rows Skp apart */
        ptrdiff_t Skp = (Sk + RT_ATTN_ALIGN - 1) / RT_ATTN_ALIGN * RT_ATTN_ALIGN;
        float *kt = gs + (RT_ATTN_ALIGN - ((uintptr_t)gs / sizeof(float)) % RT_ATTN_ALIGN) %
                             RT_ATTN_ALIGN;
        const float *mp = mask ? mask + b * s->mb + h * s->mh + r0 * s->mi : NULL;
        (void)e;
        rt_attention_pack_kt(kp, s->kj, Sk, s->D, kt, Skp);
        /* scores = scale * Q K^T + mask */
        rt_attention_product(rows, Sk, s->D, scale, NULL, mp, s->mi, s->mj, qp, s->qi, kt, Skp,
                             sp, Sk);
        for (i = 0; i < rows; i++)
            inv[i] = rt_attention_row(sp + i * Sk, NULL, 0, Sk);
        if (s->nan_zero)
            rt_attention_nan_rows(sp, inv, rows, Sk);
        /* O = exp(scores) V / sums */
        rt_attention_product(rows, s->Dv, Sk, 1.0f, inv, NULL, 0, 0, sp, Sk, vp, s->vj, op,
                             s->oi);
    }
#else
    /* scores = scale * Q K^T */
    rt_sgemm(0, 1, rows, Sk, s->D, scale, qp, s->qi, kp, s->kj, 0.0f, sp, Sk, gs);
    for (i = 0; i < rows; i++) {
        const float *mp = mask ? mask + b * s->mb + h * s->mh + (r0 + i) * s->mi : NULL;
        inv[i] = rt_attention_row(sp + i * Sk, mp, s->mj, Sk);
    }
    if (s->nan_zero)
        rt_attention_nan_rows(sp, inv, rows, Sk);
    /* O = exp(scores) V, then each row / its sum */
    rt_sgemm(0, 0, rows, s->Dv, Sk, 1.0f, sp, Sk, vp, s->vj, 0.0f, op, s->oi, gs);
    for (i = 0; i < rows; i++) {
        float *orow = op + i * s->oi, c = inv[i];
        for (e = 0; e < s->Dv; e++)
            orow[e] *= c;
    }
#endif
}

RT_API void rt_attention(const rt_attention_shape *s, float scale, const float *q,
                         const float *k, const float *v, const float *mask, float *o,
                         float *scratch)
{
    ptrdiff_t rb, items, it;
    if (s->B <= 0 || s->H <= 0 || s->Sq <= 0 || s->Sk <= 0 || s->D <= 0 || s->Dv <= 0)
        return;
    rb = rt_attention_rows(s);
    items = rt_attention_items(s, rb);
#ifdef _OPENMP
    if (items > 1 && !omp_in_parallel() && omp_get_max_threads() > 1) {
        double flops = 2.0 * (double)(s->B * s->H) * (double)s->Sq * (double)s->Sk *
                       (double)(s->D + s->Dv);
        int nth = omp_get_max_threads();
        if ((double)nth * RT_ATTN_PAR_FLOPS > flops)
            nth = (int)(flops / RT_ATTN_PAR_FLOPS);
        nth = (int)RT_MIN((ptrdiff_t)nth, RT_MIN(items, (ptrdiff_t)RT_ATTN_SLOTS));
        if (nth > 1) {
            size_t slot = rt_attention_slot(s, rb);
            _Pragma("omp parallel num_threads(nth)")
            {
                ptrdiff_t t = omp_get_thread_num(), T = omp_get_num_threads(), j;
                for (j = items * t / T; j < items * (t + 1) / T; j++)
                    rt_attention_item(s, rb, j, scale, q, k, v, mask, o,
                                      scratch + (size_t)t * slot);
            }
            return;
        }
    }
#endif
    for (it = 0; it < items; it++)
        rt_attention_item(s, rb, it, scale, q, k, v, mask, o, scratch);
}
