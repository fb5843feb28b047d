/* rt-deps: */
/* transpose.c - a permutation of axes whose innermost output axis is not
 * the input's innermost one, float32 (any 4-byte element).
 *
 * Viewed from the output (contiguous), the permutation is a 2-D transpose
 *   y[a*da + b] = x[a + b*sb]      a < A, b < B
 * of the axis the input stores contiguously (a) and the output's
 * innermost axis (b), repeated over at most two outer axes (count, input
 * stride, output stride each).  An element-by-element loop in output order
 * reads x with stride sb: one cache line per float once sb * 4 bytes pass
 * a page, and 1-2 GB/s (SegFormer's [4096, 256] -> [256, 4096] took
 * 6.9 ms).  Here both sides move whole cache lines: the plane is cut into
 * RT_TRANSPOSE_TILE x RT_TRANSPOSE_TILE tiles (both a tile's reads and its
 * writes stay in L1), each done as 16 x 16 (AVX-512) or 8 x 8 (AVX)
 * register transposes, scalar on the edges and on other targets.
 * Compiled with OpenMP, large transposes share tile rows among threads
 * (not inside a parallel region).  y must not overlap x.
 */
#ifndef RT_EMBED
#include "rt.h"
#endif

#ifdef _OPENMP
#  include <omp.h>
#endif

#if !defined(RT_NO_SIMD) && defined(__AVX512F__)
#  include <immintrin.h>
#  define RT_TRANSPOSE_V 16
#elif !defined(RT_NO_SIMD) && defined(__AVX__)
#  include <immintrin.h>
#  define RT_TRANSPOSE_V 8
#else
#  define RT_TRANSPOSE_V 1
#endif

#define RT_TRANSPOSE_TILE 64     /* 64 x 64 floats: 16 KiB read + written */
#define RT_TRANSPOSE_PAR 65536   /* elements worth a second thread */

#if RT_TRANSPOSE_V == 16
/* y[a*da + b] = x[a + b*sb] for a, b < 16 */
RT_INTERNAL void rt_transpose_block(const float *x, ptrdiff_t sb, float *y, ptrdiff_t da)
{
    __m512 r[16];
    int i;
    for (i = 0; i < 16; i++)
        r[i] = _mm512_loadu_ps(x + i * sb);
    rt_tr16x16(r);
    for (i = 0; i < 16; i++)
        _mm512_storeu_ps(y + i * da, r[i]);
}
#elif RT_TRANSPOSE_V == 8
/* y[a*da + b] = x[a + b*sb] for a, b < 8 */
RT_INTERNAL void rt_transpose_block(const float *x, ptrdiff_t sb, float *y, ptrdiff_t da)
{
    rt_tr8x8(x, sb, y, da);
}
#endif

/* One tile: a in [a0, a1), b in [b0, b1). */
RT_INTERNAL void rt_transpose_tile(const float *x, float *y, ptrdiff_t sb, ptrdiff_t da,
                                   ptrdiff_t a0, ptrdiff_t a1, ptrdiff_t b0, ptrdiff_t b1)
{
    ptrdiff_t a = a0, b;
#if RT_TRANSPOSE_V > 1
    const ptrdiff_t V = RT_TRANSPOSE_V;
    ptrdiff_t bv = b0 + (b1 - b0) / V * V;
    for (; a + V <= a1; a += V) {
        for (b = b0; b < bv; b += V)
            rt_transpose_block(x + a + b * sb, sb, y + a * da + b, da);
        for (; b < b1; b++) {
            ptrdiff_t i;
            for (i = 0; i < V; i++)
                y[(a + i) * da + b] = x[a + i + b * sb];
        }
    }
#endif
    for (; a < a1; a++)
        for (b = b0; b < b1; b++)
            y[a * da + b] = x[a + b * sb];
}

RT_API void rt_transpose(const rt_transpose_shape *s, const float *x, float *y)
{
    const ptrdiff_t T = RT_TRANSPOSE_TILE;
    ptrdiff_t ta = (s->A + T - 1) / T, tb = (s->B + T - 1) / T;
    ptrdiff_t units = s->n1 * s->n2 * ta, u;
    int par = 0;
#ifdef _OPENMP
    par = (double)s->n1 * (double)s->n2 * (double)s->A * (double)s->B >= RT_TRANSPOSE_PAR &&
          units > 1 && !omp_in_parallel() && omp_get_max_threads() > 1;
#endif
    (void)par;
    /* a unit: one row of tiles (T values of a, every b) of one plane */
#ifdef _OPENMP
    _Pragma("omp parallel for if(par) schedule(static)")
#endif
    for (u = 0; u < units; u++) {
        ptrdiff_t q = u / ta, i2 = q % s->n2, i1 = q / s->n2;
        ptrdiff_t a0 = (u % ta) * T, a1 = RT_MIN(a0 + T, s->A), j;
        const float *xp = x + i1 * s->s1 + i2 * s->s2;
        float *yp = y + i1 * s->d1 + i2 * s->d2;
        for (j = 0; j < tb; j++)
            rt_transpose_tile(xp, yp, s->sb, s->da, a0, a1, j * T, RT_MIN(j * T + T, s->B));
    }
}
