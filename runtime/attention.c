/* rt-deps: gemm epilogue */
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
 * NaN (as the formula gives).
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
#elif !defined(RT_NO_SIMD) && defined(__AVX2__)
#  include <immintrin.h>
#  define RT_ATTN_AVX2 1
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
    sc = (sc + RT_ATTN_ALIGN - 1) / RT_ATTN_ALIGN * RT_ATTN_ALIGN;
    rows = (rows + RT_ATTN_ALIGN - 1) / RT_ATTN_ALIGN * RT_ATTN_ALIGN;
    return RT_ATTN_ALIGN + sc + rows + RT_MAX(g1, g2);
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

/* max of x[0..n), n >= 1 */
RT_INTERNAL float rt_attention_max(const float *x, ptrdiff_t n)
{
    ptrdiff_t j = 0;
    float m = x[0];
#if defined(RT_ATTN_AVX512)
    if (n >= 16) {
        __m512 v = _mm512_loadu_ps(x);
        for (j = 16; j < n / 16 * 16; j += 16)
            v = _mm512_max_ps(v, _mm512_loadu_ps(x + j));
        m = _mm512_reduce_max_ps(v);
    }
#elif defined(RT_ATTN_AVX2)
    if (n >= 8) {
        __m256 v = _mm256_loadu_ps(x);
        __m128 h;
        for (j = 8; j < n / 8 * 8; j += 8)
            v = _mm256_max_ps(v, _mm256_loadu_ps(x + j));
        h = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
        h = _mm_max_ps(h, _mm_movehl_ps(h, h));
        h = _mm_max_ss(h, _mm_shuffle_ps(h, h, 1));
        m = _mm_cvtss_f32(h);
    }
#endif
    for (; j < n; j++)
        m = x[j] > m ? x[j] : m;
    return m;
}

/* sum of x[0..n) */
RT_INTERNAL float rt_attention_sum(const float *x, ptrdiff_t n)
{
    ptrdiff_t j = 0;
    float s;
#if defined(RT_ATTN_AVX512)
    __m512 v = _mm512_setzero_ps();
    for (; j < n / 16 * 16; j += 16)
        v = _mm512_add_ps(v, _mm512_loadu_ps(x + j));
    s = _mm512_reduce_add_ps(v);
#elif defined(RT_ATTN_AVX2)
    __m256 v = _mm256_setzero_ps();
    __m128 h;
    for (; j < n / 8 * 8; j += 8)
        v = _mm256_add_ps(v, _mm256_loadu_ps(x + j));
    h = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    h = _mm_add_ss(h, _mm_shuffle_ps(h, h, 1));
    s = _mm_cvtss_f32(h);
#else
    float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;
    for (; j < n / 4 * 4; j += 4) {
        s0 += x[j];
        s1 += x[j + 1];
        s2 += x[j + 2];
        s3 += x[j + 3];
    }
    s = (s0 + s1) + (s2 + s3);
#endif
    for (; j < n; j++)
        s += x[j];
    return s;
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
    m = rt_attention_max(x, n);
    for (j = 0; j < n; j++)
        x[j] -= m;
    rt_exp_n(x, x, n);
    return 1.0f / rt_attention_sum(x, n);
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

    /* scores = scale * Q K^T */
    rt_sgemm(0, 1, rows, Sk, s->D, scale, qp, s->qi, kp, s->kj, 0.0f, sp, Sk, gs);
    for (i = 0; i < rows; i++) {
        const float *mp = mask ? mask + b * s->mb + h * s->mh + (r0 + i) * s->mi : NULL;
        inv[i] = rt_attention_row(sp + i * Sk, mp, s->mj, Sk);
    }
    /* O = exp(scores) V, then each row / its sum */
    rt_sgemm(0, 0, rows, s->Dv, Sk, 1.0f, sp, Sk, vp, s->vj, 0.0f, op, s->oi, gs);
    for (i = 0; i < rows; i++) {
        float *orow = op + i * s->oi, c = inv[i];
        for (e = 0; e < s->Dv; e++)
            orow[e] *= c;
    }
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
