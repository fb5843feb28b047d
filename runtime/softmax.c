/* rt-deps: epilogue */
/* softmax.c - Softmax and LogSoftmax along one axis, float32.
 *
 *   softmax:     y = exp(x - max) / sum(exp(x - max))
 *   log-softmax: y = (x - max) - log(sum(exp(x - max)))
 *
 * per row of `len` floats, or (rt_softmax_strided) along an axis with
 * `inner` floats between its elements, where every pass runs over
 * RT_SOFTMAX_CHUNK neighbouring columns at once: each of them a
 * contiguous run, so the strided axis costs no scalar loop (YOLOv8's DFL
 * softmax over 16 bins, 33,600 floats apart, took 1.2 ms of 57 one
 * column at a time).  The exponentials come from rt_exp_sum / rt_exp_n
 * (epilogue.c: vectorised on x86, libm elsewhere); max, sums and scaling
 * run in vector-wide partial results.  A NaN anywhere in a row makes the
 * whole row NaN, as the formula does (it reaches the sum).  Compiled with
 * OpenMP, rows are shared among threads when there are at least
 * RT_SOFTMAX_PAR elements (not inside a parallel region).
 */
#ifndef RT_EMBED
#include "rt.h"
#endif

#ifdef _OPENMP
#  include <omp.h>
#endif

#if !defined(RT_NO_SIMD) && defined(__AVX512F__)
#  include <immintrin.h>
#  define RT_SOFTMAX_AVX512 1
#elif !defined(RT_NO_SIMD) && defined(__AVX2__)
#  include <immintrin.h>
#  define RT_SOFTMAX_AVX2 1
#endif

#define RT_SOFTMAX_PAR 32768   /* elements worth a second thread */
#define RT_SOFTMAX_CHUNK 256   /* columns per pass of the strided form */

/* max of x[0..n), n >= 1 (also attention.c's) */
RT_API float rt_row_max(const float *x, ptrdiff_t n)
{
    ptrdiff_t j = 0;
    float m = x[0];
#if defined(RT_SOFTMAX_AVX512)
    if (n >= 16) {
        __m512 v = _mm512_loadu_ps(x);
        for (j = 16; j < n / 16 * 16; j += 16)
            v = _mm512_max_ps(v, _mm512_loadu_ps(x + j));
        m = _mm512_reduce_max_ps(v);
    }
#elif defined(RT_SOFTMAX_AVX2)
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
RT_API float rt_row_sum(const float *x, ptrdiff_t n)
{
    ptrdiff_t j = 0;
    float s = 0.0f;
#if defined(RT_SOFTMAX_AVX512)
    __m512 v = _mm512_setzero_ps();
    for (; j < n / 16 * 16; j += 16)
        v = _mm512_add_ps(v, _mm512_loadu_ps(x + j));
    s = _mm512_reduce_add_ps(v);
#elif defined(RT_SOFTMAX_AVX2)
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

/* y[0..n) = a * x[0..n) + b */
RT_INTERNAL void rt_softmax_affine(const float *x, float *y, ptrdiff_t n, float a, float b)
{
    ptrdiff_t j;
    for (j = 0; j < n; j++)
        y[j] = a * x[j] + b;
}

RT_INTERNAL void rt_softmax_rows(const float *x, float *y, ptrdiff_t r0, ptrdiff_t r1,
                                 ptrdiff_t len, int log_softmax)
{
    ptrdiff_t r, j;
    for (r = r0; r < r1; r++) {
        const float *xr = x + r * len;
        float *yr = y + r * len;
        /* exp(x - max) and its sum in one pass (an affine pass, the
         * exponentials and the sum each over the row made a 6,625-wide
         * softmax 1.2x ONNX Runtime's time); LogSoftmax stores none */
        float m = rt_row_max(xr, len), s = rt_exp_sum(xr, log_softmax ? NULL : yr, len, m);
        if (log_softmax) {   /* (x - max) - log(sum) in two roundings, as defined */
            float ls = logf(s);
            for (j = 0; j < len; j++)
                yr[j] = (xr[j] - m) - ls;
        } else
            rt_softmax_affine(yr, yr, len, 1.0f / s, 0.0f);
    }
}

RT_API void rt_softmax(const float *x, float *y, ptrdiff_t rows, ptrdiff_t len, int log_softmax)
{
    if (rows <= 0 || len <= 0)
        return;
#ifdef _OPENMP
    if ((double)rows * (double)len >= RT_SOFTMAX_PAR && rows > 1 && !omp_in_parallel() &&
        omp_get_max_threads() > 1) {
        int nth = omp_get_max_threads();
        if ((ptrdiff_t)nth > rows)
            nth = (int)rows;
        _Pragma("omp parallel num_threads(nth)")
        {
            ptrdiff_t t = omp_get_thread_num(), T = omp_get_num_threads();
            rt_softmax_rows(x, y, rows * t / T, rows * (t + 1) / T, len, log_softmax);
        }
        return;
    }
#endif
    rt_softmax_rows(x, y, 0, rows, len, log_softmax);
}

/* Columns [i0, i1) (i1 - i0 <= RT_SOFTMAX_CHUNK) of block o: element j of
 * column i at (o*len + j)*inner + i. */
RT_INTERNAL void rt_softmax_columns(const float *x, float *y, ptrdiff_t o, ptrdiff_t len,
                                    ptrdiff_t inner, ptrdiff_t i0, ptrdiff_t i1,
                                    int log_softmax)
{
    float m[RT_SOFTMAX_CHUNK], s[RT_SOFTMAX_CHUNK], e[RT_SOFTMAX_CHUNK];
    ptrdiff_t n = i1 - i0, j, i;
    const float *xb = x + o * len * inner + i0;
    float *yb = y + o * len * inner + i0;
    for (i = 0; i < n; i++) {
        m[i] = xb[i];
        s[i] = 0.0f;
    }
    for (j = 1; j < len; j++) /* a NaN reaches the sum below either way */
        for (i = 0; i < n; i++)
            m[i] = xb[j * inner + i] > m[i] ? xb[j * inner + i] : m[i];
    for (j = 0; j < len; j++) {   /* x is not read again past row j */
        const float *xr = xb + j * inner;
        float *yr = yb + j * inner;
        for (i = 0; i < n; i++)
            yr[i] = xr[i] - m[i];
        if (log_softmax) {
            rt_exp_n(yr, e, n);
            for (i = 0; i < n; i++)
                s[i] += e[i];
        } else {
            rt_exp_n(yr, yr, n);
            for (i = 0; i < n; i++)
                s[i] += yr[i];
        }
    }
    for (i = 0; i < n; i++)
        s[i] = log_softmax ? -logf(s[i]) : 1.0f / s[i];
    for (j = 0; j < len; j++) {
        float *yr = yb + j * inner;
        if (log_softmax)
            for (i = 0; i < n; i++)
                yr[i] += s[i];
        else
            for (i = 0; i < n; i++)
                yr[i] *= s[i];
    }
}

RT_API void rt_softmax_strided(const float *x, float *y, ptrdiff_t outer, ptrdiff_t len,
                               ptrdiff_t inner, int log_softmax)
{
    ptrdiff_t nchunk = (inner + RT_SOFTMAX_CHUNK - 1) / RT_SOFTMAX_CHUNK, units, u0 = 0, u1, u;
    int par = 0;
    if (outer <= 0 || len <= 0 || inner <= 0)
        return;
    units = outer * nchunk;
    u1 = units;
#ifdef _OPENMP
    par = (double)outer * (double)len * (double)inner >= RT_SOFTMAX_PAR && units > 1 &&
          !omp_in_parallel() && omp_get_max_threads() > 1;
#endif
    (void)par;
#ifdef _OPENMP
    _Pragma("omp parallel if(par) private(u0, u1, u)")
#endif
    {
#ifdef _OPENMP
        ptrdiff_t t = omp_get_thread_num(), T = omp_get_num_threads();
        u0 = units * t / T;
        u1 = units * (t + 1) / T;
#endif
        for (u = u0; u < u1; u++) {
            ptrdiff_t o = u / nchunk, i0 = u % nchunk * RT_SOFTMAX_CHUNK;
            rt_softmax_columns(x, y, o, len, inner, i0, RT_MIN(i0 + RT_SOFTMAX_CHUNK, inner),
                               log_softmax);
        }
    }
}
