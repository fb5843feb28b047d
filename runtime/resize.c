/* rt-deps: */
/* resize.c - Resize of the last two axes of NCHW float32 planes from
 * per-axis tap tables (API and semantics: rt_resize.h).
 *
 * Separable, the way each output row needs it:
 *   nearest: an output row is input row iy[oy] gathered at columns ix[];
 *     a row equal to the previous one (upsampling) is copied; an integer
 *     column pattern (ix[ox] == ox / k) duplicates each value: k = 2 with
 *     unpacks (AVX2), larger k with broadcast stores, else a plain loop;
 *   weighted (linear, cubic, antialias): the input rows an output row
 *     reads are first resized horizontally into a small cache of TH rows
 *     (slot = row % TH: a row's taps are TH consecutive rows, clamped, so
 *     they never share a slot) and reused by the next output rows; the
 *     output row is then the TH-tap vertical blend of cached rows, a
 *     contiguous multiply-add the compiler vectorises.
 * Columns go in chunks so the cache (TH x chunk floats) fits a 4 KiB stack
 * array. Compiled with OpenMP, planes are shared among threads when there
 * is enough work (not inside a parallel region). */
#ifndef RT_EMBED
#include "rt_resize.h"
#endif

#ifdef _OPENMP
#  include <omp.h>
#endif

#if !defined(RT_NO_SIMD) && defined(__AVX2__)
#  include <immintrin.h>
#  define RT_RESIZE_AVX2 1
#endif

#ifndef RT_RESIZE_MAX_TH
#  define RT_RESIZE_MAX_TH 32       /* as rt_resize.h (not pasted into model.c) */
#endif
#define RT_RESIZE_CACHE 1024        /* floats of row cache on the stack */
#define RT_RESIZE_PAR_MIN 65536     /* output elements worth a second thread */

/* dst[j] = src[ix[j]] for j < n */
RT_INTERNAL void rt_resize_gather(float *dst, const float *src, const int32_t *ix, int n)
{
    int j = 0;
#if defined(RT_RESIZE_AVX2)
    for (; j + 8 <= n; j += 8) {
        __m256i i = _mm256_loadu_si256((const __m256i *)(ix + j));
        _mm256_storeu_ps(dst + j, _mm256_i32gather_ps(src, i, 4));
    }
#endif
    for (; j < n; j++)
        dst[j] = src[ix[j]];
}

/* dst[2j] = dst[2j + 1] = src[j] for j < n */
RT_INTERNAL void rt_resize_dup2(float *dst, const float *src, ptrdiff_t n)
{
    ptrdiff_t j = 0;
#if defined(RT_RESIZE_AVX2)
    for (; j + 8 <= n; j += 8) {
        __m256 v = _mm256_loadu_ps(src + j);
        __m256 lo = _mm256_unpacklo_ps(v, v), hi = _mm256_unpackhi_ps(v, v);
        _mm256_storeu_ps(dst + 2 * j, _mm256_permute2f128_ps(lo, hi, 0x20));
        _mm256_storeu_ps(dst + 2 * j + 8, _mm256_permute2f128_ps(lo, hi, 0x31));
    }
#endif
    /* pointers, not 2 * j: gcc -O3 warns of an overflow it cannot rule out */
    for (dst += 2 * j, src += j; j < n; j++, dst += 2)
        dst[0] = dst[1] = *src++;
}

/* dst[k*j + t] = src[j] for j < n, t < k (k >= 3: FPN-style 4x and 8x
 * upsampling, which the gather took at 1.4-1.6x ONNX Runtime's time) */
RT_INTERNAL void rt_resize_dupk(float *dst, const float *src, ptrdiff_t n, int k)
{
    ptrdiff_t j;
    for (j = 0; j < n; j++, dst += k) {
        int t = 0;
#if defined(RT_RESIZE_AVX2)
        __m256 v = _mm256_set1_ps(src[j]);
        for (; t + 8 <= k; t += 8)
            _mm256_storeu_ps(dst + t, v);
        if (t + 4 <= k) {
            _mm_storeu_ps(dst + t, _mm256_castps256_ps128(v));
            t += 4;
        }
#endif
        for (; t < k; t++)
            dst[t] = src[j];
    }
}

RT_INTERNAL void rt_resize_nearest_plane(int H, int W, int OH, int OW, const int32_t *iy,
                                         const int32_t *ix, int dup, const float *x, float *y)
{
    (void)H;
    for (int oy = 0; oy < OH; oy++) {
        float *row = y + (ptrdiff_t)oy * OW;
        if (oy > 0 && iy[oy] == iy[oy - 1]) {
            memcpy(row, row - OW, (size_t)OW * sizeof *row);
            continue;
        }
        const float *src = x + (ptrdiff_t)iy[oy] * W;
        if (dup == 2)
            rt_resize_dup2(row, src, OW / 2);
        else if (dup > 2)
            rt_resize_dupk(row, src, OW / dup, dup);
        else
            rt_resize_gather(row, src, ix, OW);
    }
}

/* dst[j] = sum_t wx[t*OW + j] * src[ix[t*OW + j]] for j < n (taps tap-major) */
RT_INTERNAL void rt_resize_horizontal(float *dst, const float *src, const int32_t *ix,
                                      const float *wx, int TW, int OW, int n)
{
    int j = 0;
    if (TW == 2) {
        const int32_t *i1 = ix + OW;
        const float *w1 = wx + OW;
#if defined(RT_RESIZE_AVX2)
        for (; j + 8 <= n; j += 8) {
            __m256i a = _mm256_loadu_si256((const __m256i *)(ix + j));
            __m256i b = _mm256_loadu_si256((const __m256i *)(i1 + j));
            __m256 va = _mm256_mul_ps(_mm256_loadu_ps(wx + j), _mm256_i32gather_ps(src, a, 4));
            __m256 vb = _mm256_mul_ps(_mm256_loadu_ps(w1 + j), _mm256_i32gather_ps(src, b, 4));
            _mm256_storeu_ps(dst + j, _mm256_add_ps(va, vb));
        }
#endif
        for (; j < n; j++)
            dst[j] = wx[j] * src[ix[j]] + w1[j] * src[i1[j]];
        return;
    }
    for (; j < n; j++)
        dst[j] = wx[j] * src[ix[j]];
    for (int t = 1; t < TW; t++) {
        const int32_t *it = ix + (ptrdiff_t)t * OW;
        const float *wt = wx + (ptrdiff_t)t * OW;
        for (j = 0; j < n; j++)
            dst[j] += wt[j] * src[it[j]];
    }
}

RT_INTERNAL void rt_resize_weighted_plane(int H, int W, int OH, int OW, int TH, int TW,
                                          const int32_t *iy, const float *wy, const int32_t *ix,
                                          const float *wx, const float *x, float *y)
{
    float cache[RT_RESIZE_CACHE];
    int tag[RT_RESIZE_MAX_TH];
    int chunk = RT_RESIZE_CACHE / TH;
    (void)H;
    if (chunk > 8)
        chunk -= chunk % 8;
    for (int c0 = 0; c0 < OW; c0 += chunk) {
        int n = OW - c0 < chunk ? OW - c0 : chunk;
        for (int t = 0; t < TH; t++)
            tag[t] = -1;
        for (int oy = 0; oy < OH; oy++) {
            const int32_t *ry = iy + (ptrdiff_t)oy * TH;
            const float *rw = wy + (ptrdiff_t)oy * TH;
            for (int t = 0; t < TH; t++) {
                int s = ry[t] % TH;
                if (tag[s] != ry[t]) {
                    rt_resize_horizontal(cache + s * chunk, x + (ptrdiff_t)ry[t] * W, ix + c0,
                                         wx + c0, TW, OW, n);
                    tag[s] = ry[t];
                }
            }
            float *out = y + (ptrdiff_t)oy * OW + c0;
            if (TH == 2) {
                const float *a = cache + (ry[0] % 2) * chunk, *b = cache + (ry[1] % 2) * chunk;
                const float w0 = rw[0], w1 = rw[1];
                for (int j = 0; j < n; j++)
                    out[j] = w0 * a[j] + w1 * b[j];
                continue;
            }
            const float *a = cache + (ry[0] % TH) * chunk;
            const float w0 = rw[0];
            for (int j = 0; j < n; j++)
                out[j] = w0 * a[j];
            for (int t = 1; t < TH; t++) {
                const float *b = cache + (ry[t] % TH) * chunk;
                const float wt = rw[t];
                for (int j = 0; j < n; j++)
                    out[j] += wt * b[j];
            }
        }
    }
}

RT_API void rt_resize2d(ptrdiff_t planes, int H, int W, int OH, int OW, int TH, int TW,
                        const int32_t *iy, const float *wy, const int32_t *ix, const float *wx,
                        const float *x, float *y)
{
    const ptrdiff_t hw = (ptrdiff_t)H * W, ohw = (ptrdiff_t)OH * OW;
    int dup = 0;    /* k > 1: columns follow ix[j] == j / k, OW == k * W */
    ptrdiff_t p;
    if (!wy && W > 0 && OW % W == 0 && OW / W > 1) {
        dup = OW / W;
        for (int j = 0; j < OW && dup; j++)
            dup = ix[j] == j / (OW / W) ? dup : 0;
    }
    int par = planes > 1 && (double)planes * (double)ohw >= RT_RESIZE_PAR_MIN;
    (void)par;
#ifdef _OPENMP
    _Pragma("omp parallel for schedule(static) if(par)")
#endif
    for (p = 0; p < planes; p++) {
        if (!wy)
            rt_resize_nearest_plane(H, W, OH, OW, iy, ix, dup, x + p * hw, y + p * ohw);
        else
            rt_resize_weighted_plane(H, W, OH, OW, TH, TW, iy, wy, ix, wx, x + p * hw,
                                     y + p * ohw);
    }
}
