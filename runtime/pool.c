/* rt-deps: */
/* pool.c - 2-D max / average pooling and global pooling over NCHW float32
 * planes (API and semantics: rt_pool.h).
 *
 * rt_pool2d works plane by plane, one output row at a time:
 *   1. vertical: the KH (valid) input rows of the window are reduced column
 *      by column (contiguous loads); columns outside the input hold the
 *      identity (-inf for max, 0 for average), so the next step needs no
 *      bounds tests;
 *   2. horizontal: each output reduces KW of those columns at stride SW,
 *      dilation DW;
 *   3. average: the sum is divided by the window's tap count (rows times
 *      columns, both separable), a constant over the interior.
 * AVX-512, SW <= 2 and (KW - 1) * DW <= 16 (rt_pool_plane512): the vertical
 * result of each 16-column block stays in a register and feeds the
 * horizontal window directly: stride 2 splits a block pair into its even
 * and odd lanes with two-source permutes, later taps shift those streams
 * into the next block with one more permute each.  Otherwise
 * (rt_pool_plane): the vertical result goes to a row buffer on the stack
 * (chunks of output columns), read back with unaligned loads (stride 1),
 * an even-lane shuffle (stride 2, AVX2) or gathers / scalar code.
 * Max propagates NaN.  The vector max instruction does not (it returns its
 * second operand when either is NaN), so the NaN-propagating form ORs an
 * unordered compare of the operands at each step and sets NaN where it is
 * set.  On the AVX-512 path a plane first runs with plain max while it sums
 * every float it reads; only when that sum is NaN (a NaN read, or +inf and
 * -inf) does it run again with the NaN-propagating form.  The 3x3 and 2x2
 * stride-2 max windows are specialised with constant sizes.  Windows too
 * wide for the row buffer take a direct scalar path. */
#ifndef RT_EMBED
#  include "rt_pool.h"
#endif
#ifndef RT_POOL_MAX   /* embedded: rt_pool.h is not there */
#  define RT_POOL_MAX 0
#  define RT_POOL_AVG 1
#endif

#if !defined(RT_NO_SIMD) && defined(__AVX512F__)
#  include <immintrin.h>
#  define RT_POOL_AVX512 1
#elif !defined(RT_NO_SIMD) && defined(__AVX2__) && defined(__FMA__)
#  include <immintrin.h>
#  define RT_POOL_AVX2 1
#endif
#ifdef _OPENMP
#  include <omp.h>
#endif

#define RT_POOL_BUF 1008     /* row buffer, floats (under 4 KiB) */
#define RT_POOL_PF_MIN 4096   /* plane floats from which input rows are prefetched */
#define RT_POOL_PF(H, W) ((ptrdiff_t)(H) * (W) >= RT_POOL_PF_MIN)
#define RT_POOL_PAR_MIN 65536 /* window taps below which a layer runs on one thread */

/* Row helpers are specialised by constant arguments (kernel size, stride,
 * whether NaN can occur) at their call sites. */
#ifdef __GNUC__
#  define RT_POOL_INLINE static inline __attribute__((always_inline))
#else
#  define RT_POOL_INLINE static inline
#endif

/* The NaN-propagating scalar max: a NaN accumulator stays, a NaN v wins. */
#define RT_POOL_SMAX(acc, v) ((v) != (v) ? (v) : ((v) > (acc) ? (v) : (acc)))

/* ---- vertical: n columns from nr rows (row stride rs) into b ---- */

/* careful: NaN may occur (else the plain max instructions are exact). */
RT_POOL_INLINE void rt_pool_vmax(const float *p, ptrdiff_t rs, int nr, ptrdiff_t n, float *b,
                                 int careful)
{
    ptrdiff_t i = 0;
    int r;
    (void)careful;
#if defined(RT_POOL_AVX512)
    const __m512 nan = _mm512_set1_ps(NAN);
    for (; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1);
        __m512 acc = _mm512_maskz_loadu_ps(m, p + i);
        __mmask16 u = 0;
        for (r = 1; r < nr; r++) {
            __m512 v = _mm512_maskz_loadu_ps(m, p + r * rs + i);
            if (careful)
                u |= _mm512_cmp_ps_mask(acc, v, _CMP_UNORD_Q);
            acc = _mm512_max_ps(acc, v);
        }
        if (careful)
            acc = _mm512_mask_mov_ps(acc, u, nan);
        _mm512_mask_storeu_ps(b + i, m, acc);
    }
#elif defined(RT_POOL_AVX2)
    const __m256 nan = _mm256_set1_ps(NAN);
    for (; i + 8 <= n; i += 8) {
        __m256 acc = _mm256_loadu_ps(p + i), u = _mm256_setzero_ps();
        for (r = 1; r < nr; r++) {
            __m256 v = _mm256_loadu_ps(p + r * rs + i);
            if (careful)
                u = _mm256_or_ps(u, _mm256_cmp_ps(acc, v, _CMP_UNORD_Q));
            acc = _mm256_max_ps(acc, v);
        }
        if (careful)
            acc = _mm256_blendv_ps(acc, nan, u);
        _mm256_storeu_ps(b + i, acc);
    }
#endif
    for (; i < n; i++) {
        float acc = p[i];
        for (r = 1; r < nr; r++)
            acc = RT_POOL_SMAX(acc, p[r * rs + i]);
        b[i] = acc;
    }
}

RT_POOL_INLINE void rt_pool_vsum(const float *p, ptrdiff_t rs, int nr, ptrdiff_t n, float *b)
{
    ptrdiff_t i = 0;
    int r;
#if defined(RT_POOL_AVX512)
    for (; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1);
        __m512 acc = _mm512_maskz_loadu_ps(m, p + i);
        for (r = 1; r < nr; r++)
            acc = _mm512_add_ps(acc, _mm512_maskz_loadu_ps(m, p + r * rs + i));
        _mm512_mask_storeu_ps(b + i, m, acc);
    }
#elif defined(RT_POOL_AVX2)
    for (; i + 8 <= n; i += 8) {
        __m256 acc = _mm256_loadu_ps(p + i);
        for (r = 1; r < nr; r++)
            acc = _mm256_add_ps(acc, _mm256_loadu_ps(p + r * rs + i));
        _mm256_storeu_ps(b + i, acc);
    }
#endif
    for (; i < n; i++) {
        float acc = p[i];
        for (r = 1; r < nr; r++)
            acc += p[r * rs + i];
        b[i] = acc;
    }
}

/* ---- horizontal: n outputs y[j] = reduce_kw b[j*SW + kw*DW] ---- */

/* Taps [*lo, *hi) of the window at row (or column) r0 = o*S - P that lie
 * inside [0, n); returns their count. */
RT_INTERNAL int rt_pool_rows(ptrdiff_t r0, int K, int D, ptrdiff_t n, ptrdiff_t *lo,
                             ptrdiff_t *hi)
{
    if (D == 1) { /* no divisions on the common path */
        *lo = r0 < 0 ? -r0 : 0;
        *hi = RT_MIN(n - r0, K);
    } else {
        *lo = r0 < 0 ? (-r0 + D - 1) / D : 0;
        *hi = n - r0 <= 0 ? 0 : RT_MIN((n - r0 + D - 1) / D, K);
    }
    return *hi > *lo ? (int)(*hi - *lo) : 0;
}

/* Tap counts of the window at column (or row) c = o*S - P: inside [0, n),
 * and inside [-P, n + PE) (c >= -P always: no tap before c is cut). */
RT_INTERNAL int rt_pool_taps(ptrdiff_t c, int K, int D, ptrdiff_t n, ptrdiff_t pe, int pad)
{
    ptrdiff_t lo, hi;
    return pad ? rt_pool_rows(0, K, D, n + pe - c, &lo, &hi) : rt_pool_rows(c, K, D, n, &lo, &hi);
}

/* Divisor of output column ow0 + j's window times the row count rc, for
 * the average: fills d[0..n). */
RT_INTERNAL void rt_pool_divs(ptrdiff_t ow0, ptrdiff_t n, int W, int KW, int SW, int DW, int PL,
                              int PR, int include_pad, float rc, float *d)
{
    ptrdiff_t j;
    for (j = 0; j < n; j++)
        d[j] = rc * (float)rt_pool_taps((ow0 + j) * SW - PL, KW, DW, W, PR, include_pad);
}

#if defined(RT_POOL_AVX512)
/* The buffer entries of 16 outputs starting at b for one tap (stride SW). */
RT_POOL_INLINE __m512 rt_pool_taps16(const float *b, int SW, __m512i ieven, __m512i istride)
{
    if (SW == 1)
        return _mm512_loadu_ps(b);
    if (SW == 2)
        return _mm512_permutex2var_ps(_mm512_loadu_ps(b), ieven, _mm512_loadu_ps(b + 16));
    return _mm512_i32gather_ps(istride, b, 4);
}
#elif defined(RT_POOL_AVX2)
RT_POOL_INLINE __m256 rt_pool_taps8(const float *b, int SW, __m256i istride)
{
    if (SW == 1)
        return _mm256_loadu_ps(b);
    if (SW == 2) {
        __m256 e = _mm256_shuffle_ps(_mm256_loadu_ps(b), _mm256_loadu_ps(b + 8),
                                     _MM_SHUFFLE(2, 0, 2, 0));
        return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(e),
                                                      _MM_SHUFFLE(3, 1, 2, 0)));
    }
    return _mm256_i32gather_ps(b, istride, 4);
}
#endif

/* One chunk of an output row.  b: the vertical reduction, b[0] at the
 * input column of output 0's first tap, readable for
 * roundup(n, 16) * SW + (KW - 1) * DW floats.  avg: divide by the tap count
 * (rc rows times the columns of each window; ow0 = the chunk's first output
 * column, for that count); output columns [clo, chi) have every tap inside
 * the input columns. */
RT_POOL_INLINE void rt_pool_hrow(int is_max, int careful, const float *b, ptrdiff_t n, int KW,
                                 int SW, int DW, float *y, ptrdiff_t ow0, int W, int PL, int PR,
                                 int include_pad, float rc, ptrdiff_t clo, ptrdiff_t chi)
{
    ptrdiff_t j = 0;
    int kw;
    float dv[16];
    const float cdiv = rc * (float)KW;
#if defined(RT_POOL_AVX512)
    const __m512 nan = _mm512_set1_ps(NAN);
    const __m512i ieven = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    const __m512i istride = _mm512_mullo_epi32(
        _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0), _mm512_set1_epi32(SW));
    for (; j < n; j += 16) {
        const float *bj = b + j * SW;
        __mmask16 m = n - j >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - j)) - 1);
        __m512 acc = rt_pool_taps16(bj, SW, ieven, istride);
        if (is_max) {
            __mmask16 u = 0;
            for (kw = 1; kw < KW; kw++) {
                __m512 v = rt_pool_taps16(bj + kw * DW, SW, ieven, istride);
                if (careful)
                    u |= _mm512_cmp_ps_mask(acc, v, _CMP_UNORD_Q);
                acc = _mm512_max_ps(acc, v);
            }
            if (careful)
                acc = _mm512_mask_mov_ps(acc, u, nan);
        } else {
            __m512 d;
            for (kw = 1; kw < KW; kw++)
                acc = _mm512_add_ps(acc, rt_pool_taps16(bj + kw * DW, SW, ieven, istride));
            if (ow0 + j >= clo && ow0 + j + 16 <= chi) {
                d = _mm512_set1_ps(cdiv);
            } else {
                rt_pool_divs(ow0 + j, RT_MIN(16, n - j), W, KW, SW, DW, PL, PR, include_pad, rc, dv);
                d = _mm512_maskz_loadu_ps(m, dv);
            }
            acc = _mm512_div_ps(acc, d);
        }
        _mm512_mask_storeu_ps(y + j, m, acc);
    }
#elif defined(RT_POOL_AVX2)
    const __m256 nan = _mm256_set1_ps(NAN);
    const __m256i istride = _mm256_mullo_epi32(_mm256_set_epi32(7, 6, 5, 4, 3, 2, 1, 0),
                                               _mm256_set1_epi32(SW));
    for (; j + 8 <= n; j += 8) {
        const float *bj = b + j * SW;
        __m256 acc = rt_pool_taps8(bj, SW, istride);
        if (is_max) {
            __m256 u = _mm256_setzero_ps();
            for (kw = 1; kw < KW; kw++) {
                __m256 v = rt_pool_taps8(bj + kw * DW, SW, istride);
                if (careful)
                    u = _mm256_or_ps(u, _mm256_cmp_ps(acc, v, _CMP_UNORD_Q));
                acc = _mm256_max_ps(acc, v);
            }
            if (careful)
                acc = _mm256_blendv_ps(acc, nan, u);
        } else {
            __m256 d;
            for (kw = 1; kw < KW; kw++)
                acc = _mm256_add_ps(acc, rt_pool_taps8(bj + kw * DW, SW, istride));
            if (ow0 + j >= clo && ow0 + j + 8 <= chi) {
                d = _mm256_set1_ps(cdiv);
            } else {
                rt_pool_divs(ow0 + j, 8, W, KW, SW, DW, PL, PR, include_pad, rc, dv);
                d = _mm256_loadu_ps(dv);
            }
            acc = _mm256_div_ps(acc, d);
        }
        _mm256_storeu_ps(y + j, acc);
    }
#endif
    for (; j < n; j++) {
        const float *bj = b + j * SW;
        float acc = bj[0];
        if (is_max) {
            for (kw = 1; kw < KW; kw++)
                acc = RT_POOL_SMAX(acc, bj[kw * DW]);
        } else {
            for (kw = 1; kw < KW; kw++)
                acc += bj[kw * DW];
            if (ow0 + j >= clo && ow0 + j < chi)
                acc /= cdiv;
            else
                acc /= rc * (float)rt_pool_taps((ow0 + j) * SW - PL, KW, DW, W, PR, include_pad);
        }
        y[j] = acc;
    }
    (void)dv;
    (void)careful;
}

/* Windows too wide for the row buffer: tap by tap with bounds tests. */
RT_INTERNAL void rt_pool_plane_direct(int is_max, const float *x, int H, int W, int OH, int OW,
                                      int KH, int KW, int SH, int SW, int DH, int DW, int PT,
                                      int PL, int PB, int PR, int include_pad, float *y)
{
    ptrdiff_t oh, ow;
    int kh, kw;
    for (oh = 0; oh < OH; oh++) {
        ptrdiff_t ih0 = oh * SH - PT;
        for (ow = 0; ow < OW; ow++) {
            ptrdiff_t iw0 = ow * SW - PL;
            float acc = is_max ? -INFINITY : 0.0f;
            for (kh = 0; kh < KH; kh++) {
                ptrdiff_t ih = ih0 + (ptrdiff_t)kh * DH;
                if (ih < 0 || ih >= H)
                    continue;
                for (kw = 0; kw < KW; kw++) {
                    ptrdiff_t iw = iw0 + (ptrdiff_t)kw * DW;
                    float v;
                    if (iw < 0 || iw >= W)
                        continue;
                    v = x[ih * W + iw];
                    acc = is_max ? RT_POOL_SMAX(acc, v) : acc + v;
                }
            }
            if (!is_max)
                acc /= (float)rt_pool_taps(ih0, KH, DH, H, PB, include_pad) *
                       (float)rt_pool_taps(iw0, KW, DW, W, PR, include_pad);
            y[oh * OW + ow] = acc;
        }
    }
}

/* The sum of n floats is NaN when one of them is NaN (or +inf and -inf,
 * or overflow, meet: then the careful path runs where it need not). */
RT_INTERNAL int rt_pool_maybe_nan(const float *x, ptrdiff_t n)
{
    ptrdiff_t i = 0;
    float s = 0.0f;
#if defined(RT_POOL_AVX512)
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (; i + 64 <= n; i += 64) {
        a0 = _mm512_add_ps(a0, _mm512_loadu_ps(x + i));
        a1 = _mm512_add_ps(a1, _mm512_loadu_ps(x + i + 16));
        a2 = _mm512_add_ps(a2, _mm512_loadu_ps(x + i + 32));
        a3 = _mm512_add_ps(a3, _mm512_loadu_ps(x + i + 48));
    }
    for (; i + 16 <= n; i += 16)
        a0 = _mm512_add_ps(a0, _mm512_loadu_ps(x + i));
    a0 = _mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3));
    if (_mm512_cmp_ps_mask(a0, a0, _CMP_UNORD_Q))
        return 1;
#elif defined(RT_POOL_AVX2)
    __m256 a0 = _mm256_setzero_ps(), a1 = a0;
    for (; i + 16 <= n; i += 16) {
        a0 = _mm256_add_ps(a0, _mm256_loadu_ps(x + i));
        a1 = _mm256_add_ps(a1, _mm256_loadu_ps(x + i + 8));
    }
    a0 = _mm256_add_ps(a0, a1);
    if (_mm256_movemask_ps(_mm256_cmp_ps(a0, a0, _CMP_UNORD_Q)))
        return 1;
#endif
    /* A pointer walk: gcc 12 at -O3 -mavx2 takes an indexed tail after the
     * AVX2 loop for one that overflows (-Waggressive-loop-optimizations). */
    for (const float *p = x + i, *end = x + n; p < end; p++)
        s += *p;
    return s != s;
}

RT_POOL_INLINE void rt_pool_plane(int is_max, const float *x, int H, int W, int OH, int OW, int KH,
                                  int KW, int SH, int SW, int DH, int DW, int PT, int PL, int PB,
                                  int PR, int include_pad, float *y)
{
    float buf[RT_POOL_BUF];
    const float ident = is_max ? -INFINITY : 0.0f;
    const ptrdiff_t span = (ptrdiff_t)(KW - 1) * DW;
    ptrdiff_t chunk = (RT_POOL_BUF - 16 - span) / SW / 16 * 16;
    ptrdiff_t oh, ow0, i;
    /* Interior output columns: every tap inside [0, W). */
    ptrdiff_t clo = ((ptrdiff_t)PL + SW - 1) / SW;
    ptrdiff_t chi = W - span + PL <= 0 ? 0 : (W - span + PL + SW - 1) / SW;
    const int careful = is_max && rt_pool_maybe_nan(x, (ptrdiff_t)H * W);
    if (RT_POOL_BUF - 16 - span <= 0 || chunk < 16) {
        rt_pool_plane_direct(is_max, x, H, W, OH, OW, KH, KW, SH, SW, DH, DW, PT, PL, PB, PR,
                             include_pad, y);
        return;
    }
    for (ow0 = 0; ow0 < OW; ow0 += chunk) {
        ptrdiff_t n = RT_MIN(chunk, OW - ow0);
        ptrdiff_t c0 = ow0 * SW - PL;                 /* input column of buf[0] */
        ptrdiff_t len = (n + 15) / 16 * 16 * SW + span + 16;
        ptrdiff_t lo = RT_MIN(RT_MAX(-c0, 0), len), hi = RT_MIN(RT_MAX(W - c0, lo), len);
        /* Only [lo, hi) changes from row to row: the rest stays the identity. */
        for (i = 0; i < lo; i++)
            buf[i] = ident;
        for (i = hi; i < len; i++)
            buf[i] = ident;
        for (oh = 0; oh < OH; oh++) {
            ptrdiff_t ih0 = oh * SH - PT, khlo, khhi;
            int nr;
            float rc = 0.0f;
            nr = rt_pool_rows(ih0, KH, DH, H, &khlo, &khhi);
            if (!is_max)
                rc = (float)(include_pad ? rt_pool_taps(ih0, KH, DH, H, PB, 1) : nr);
            if (nr == 0) {
                for (i = lo; i < hi; i++)
                    buf[i] = ident;
            } else if (hi > lo) {
                const float *p = x + (ih0 + khlo * DH) * W + c0 + lo;
                const ptrdiff_t rs = (ptrdiff_t)DH * W, m = hi - lo;
                if (is_max && careful)
                    rt_pool_vmax(p, rs, nr, m, buf + lo, 1);
                else if (is_max && nr == KH)   /* the usual row count: a constant */
                    rt_pool_vmax(p, rs, KH, m, buf + lo, 0);
                else if (is_max)
                    rt_pool_vmax(p, rs, nr, m, buf + lo, 0);
                else if (nr == KH)
                    rt_pool_vsum(p, rs, KH, m, buf + lo);
                else
                    rt_pool_vsum(p, rs, nr, m, buf + lo);
            }
            if (careful)
                rt_pool_hrow(is_max, 1, buf, n, KW, SW, DW, y + oh * OW + ow0, ow0, W, PL, PR,
                             include_pad, rc, clo, chi);
            else
                rt_pool_hrow(is_max, 0, buf, n, KW, SW, DW, y + oh * OW + ow0, ow0, W, PL, PR,
                             include_pad, rc, clo, chi);
        }
    }
}

#if defined(RT_POOL_AVX512)
/* The vertical reduction of the nr rows from p (row stride rs) over input
 * columns cs ... cs + 15 (identity lanes outside [0, W); nr == 0: all).
 * Max, not careful: also the sum of what was read, NaN when a NaN was
 * (see rt_pool_maybe_nan). */
typedef struct {
    __m512 v, sum;   /* the block; the sum of the floats read (max, not careful) */
} rt_pool_blk;

RT_POOL_INLINE rt_pool_blk rt_pool_vblock(int is_max, int careful, const float *p, ptrdiff_t rs,
                                          int nr, int KH, ptrdiff_t cs, int W, __m512 ident,
                                          __m512i iota)
{
    rt_pool_blk res;
    const int track = is_max && !careful;
    __m512 acc, sum;
    __mmask16 u = 0;
    int r;
    if (nr == 0 || cs >= W || cs + 16 <= 0) {
        res.v = ident;
        res.sum = _mm512_setzero_ps();
        return res;
    } else if (cs >= 0 && cs + 16 <= W) {
        p += cs;
        acc = sum = _mm512_loadu_ps(p);
        if (nr == KH) {   /* the usual count: a constant, the loop unrolls */
            for (r = 1; r < KH; r++) {
                __m512 v = _mm512_loadu_ps(p + r * rs);
                if (track)
                    sum = _mm512_add_ps(sum, v);
                if (careful)
                    u |= _mm512_cmp_ps_mask(acc, v, _CMP_UNORD_Q);
                acc = is_max ? _mm512_max_ps(acc, v) : _mm512_add_ps(acc, v);
            }
        } else {
            for (r = 1; r < nr; r++) {
                __m512 v = _mm512_loadu_ps(p + r * rs);
                if (track)
                    sum = _mm512_add_ps(sum, v);
                if (careful)
                    u |= _mm512_cmp_ps_mask(acc, v, _CMP_UNORD_Q);
                acc = is_max ? _mm512_max_ps(acc, v) : _mm512_add_ps(acc, v);
            }
        }
    } else {   /* straddles an edge: load columns a .. e-1, move them to their lanes */
        const ptrdiff_t a = RT_MAX(cs, 0), e = RT_MIN(cs + 16, (ptrdiff_t)W);
        const __mmask16 ml = (__mmask16)((1u << (e - a)) - 1u);
        p += a;
        acc = _mm512_mask_loadu_ps(ident, ml, p);
        sum = _mm512_maskz_mov_ps(ml, acc);
        for (r = 1; r < nr; r++) {
            __m512 v = _mm512_mask_loadu_ps(ident, ml, p + r * rs);
            if (track)
                sum = _mm512_mask_add_ps(sum, ml, sum, v);
            if (careful)
                u |= _mm512_cmp_ps_mask(acc, v, _CMP_UNORD_Q);
            acc = is_max ? _mm512_max_ps(acc, v) : _mm512_add_ps(acc, v);
        }
        if (a > cs) {
            const __mmask16 ms = (__mmask16)((0xffffu << (a - cs)) & 0xffffu);
            acc = _mm512_mask_permutexvar_ps(
                ident, ms, _mm512_sub_epi32(iota, _mm512_set1_epi32((int)(a - cs))), acc);
            u = (__mmask16)(((unsigned)u << (a - cs)) & ms);
        }
    }
    if (careful)
        acc = _mm512_mask_mov_ps(acc, u, _mm512_set1_ps(NAN));
    (void)track;
    res.v = acc;
    res.sum = sum;
    return res;
}

/* One output row of rt_pool_plane512 (below) from its nr >= 1 input rows at
 * p; returns the NaN-check sum of what it read (max, not careful). */
RT_POOL_INLINE __m512 rt_pool_row512(int is_max, int careful, const float *p, ptrdiff_t rs,
                                     int nr, int KH, int W, int OW, int KW, int SW, int DW,
                                     int PL, int PR, int include_pad, float rc, ptrdiff_t clo,
                                     ptrdiff_t chi, float *yr)
{
    const int track = is_max && !careful;
    const __m512 ident = _mm512_set1_ps(is_max ? -INFINITY : 0.0f);
    const __m512i iota = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
    const __m512i ibase = _mm512_mullo_epi32(iota, _mm512_set1_epi32(SW));
    const __m512i i16 = _mm512_set1_epi32(16), one = _mm512_set1_epi32(1);
    __m512 chk, A, B, C = ident, E0, E1;
    rt_pool_blk blk;
    ptrdiff_t j;
    int kw;
    float dv[16];
    blk = rt_pool_vblock(is_max, careful, p, rs, nr, KH, -(ptrdiff_t)PL, W, ident, iota);
    A = blk.v;
    chk = blk.sum;
    for (j = 0; j < OW; j += 16) {
        const ptrdiff_t cs = j * SW - PL;   /* input column of A's lane 0 */
        const __mmask16 m = OW - j >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (OW - j)) - 1);
        __m512 acc;
        __mmask16 u = 0;
        blk = rt_pool_vblock(is_max, careful, p, rs, nr, KH, cs + 16, W, ident, iota);
        B = blk.v;
        if (track)
            chk = _mm512_add_ps(chk, blk.sum);
        if (SW == 2) {
            blk = rt_pool_vblock(is_max, careful, p, rs, nr, KH, cs + 32, W, ident, iota);
            C = blk.v;
            if (track)
                chk = _mm512_add_ps(chk, blk.sum);
        }
        E0 = SW == 1 ? A : _mm512_permutex2var_ps(A, ibase, B);
        E1 = SW == 1 ? A : _mm512_permutex2var_ps(A, _mm512_add_epi32(ibase, one), B);
        acc = E0;
        for (kw = 1; kw < KW; kw++) {
            const int t = kw * DW;
            __m512 v;
            if (SW == 1) {
                v = _mm512_permutex2var_ps(A, _mm512_add_epi32(iota, _mm512_set1_epi32(t)), B);
            } else if (t < 2) {
                v = E1;
            } else {
                /* lane i: element i + s of the even (r = 0) or odd (r = 1) stream
                 * E_r, continued into C (its elements 2m + r) past lane 15 */
                const int s2 = t >> 1, r2 = t & 1;
                const __m512i jj = _mm512_add_epi32(iota, _mm512_set1_epi32(s2));
                const __mmask16 hi = _mm512_cmpge_epi32_mask(jj, i16);
                const __m512i idx = _mm512_mask_sub_epi32(
                    jj, hi, _mm512_add_epi32(jj, jj), _mm512_set1_epi32(16 - r2));
                v = _mm512_permutex2var_ps(r2 ? E1 : E0, idx, C);
            }
            if (careful)
                u |= _mm512_cmp_ps_mask(acc, v, _CMP_UNORD_Q);
            acc = is_max ? _mm512_max_ps(acc, v) : _mm512_add_ps(acc, v);
        }
        if (careful)
            acc = _mm512_mask_mov_ps(acc, u, _mm512_set1_ps(NAN));
        if (!is_max) {
            __m512 d;
            if (j >= clo && j + 16 <= chi) {
                d = _mm512_set1_ps(rc * (float)KW);
            } else {
                rt_pool_divs(j, RT_MIN(16, OW - j), W, KW, SW, DW, PL, PR, include_pad, rc,
                             dv);
                d = _mm512_maskz_loadu_ps(m, dv);
            }
            acc = _mm512_div_ps(acc, d);
        }
        _mm512_mask_storeu_ps(yr + j, m, acc);
        A = SW == 2 ? C : B;
    }
    (void)track;
    return chk;
}

/* AVX-512 rows for SW <= 2 and taps (KW - 1) * DW <= 16, kept in
 * registers: the vertical reduction of each 16-column block of the input
 * feeds the horizontal window directly (output block j reads input blocks
 * j*SW ... j*SW + SW, the last one carried to the next output block), its
 * taps formed with two-source permutes.  No row buffer, so no store to
 * load round trip.  Max, not careful: returns nonzero when the input read
 * may hold NaN, which the plain max instructions can lose (then the caller
 * runs the plane again, careful); else 0.  prefetch: fetch the input rows
 * the next output row adds while this one runs (for large planes, which
 * come from L3 or memory; small ones are likely in L2, where the prefetches
 * only cost). */
RT_POOL_INLINE int rt_pool_plane512(int is_max, int careful, const float *x, int H, int W,
                                     int OH, int OW, int KH, int KW, int SH, int SW, int DH,
                                     int DW, int PT, int PL, int PB, int PR, int include_pad,
                                     float *y, int prefetch)
{
    const ptrdiff_t span = (ptrdiff_t)(KW - 1) * DW;
    const ptrdiff_t clo = ((ptrdiff_t)PL + SW - 1) / SW;
    const ptrdiff_t chi = W - span + PL <= 0 ? 0 : (W - span + PL + SW - 1) / SW;
    const ptrdiff_t rs = (ptrdiff_t)DH * W;
    ptrdiff_t oh, j;
    __m512 chk = _mm512_setzero_ps();
    for (oh = 0; oh < OH; oh++) {
        ptrdiff_t ih0 = oh * SH - PT, khlo, khhi;
        int nr;
        float rc = 0.0f;
        float *yr = y + oh * OW;
        nr = rt_pool_rows(ih0, KH, DH, H, &khlo, &khhi);
        if (!is_max)
            rc = (float)(include_pad ? rt_pool_taps(ih0, KH, DH, H, PB, 1) : nr);
#ifdef __GNUC__
        if (prefetch) {   /* the input rows the next output row adds to its window */
            ptrdiff_t r = RT_MAX(ih0 + (ptrdiff_t)(KH - 1) * DH + 1, 0), c;
            const ptrdiff_t r1 = RT_MIN(ih0 + SH + (ptrdiff_t)(KH - 1) * DH, (ptrdiff_t)H - 1);
            for (; r <= r1; r++)
                for (c = 0; c < W; c += 16)
                    __builtin_prefetch(x + r * W + c, 0, 3);
        }
#endif
        if (nr == KH)   /* the usual count: a constant, the row loops unroll */
            chk = _mm512_add_ps(chk, rt_pool_row512(is_max, careful, x + (ih0 + khlo * DH) * W,
                                                    rs, KH, KH, W, OW, KW, SW, DW, PL, PR,
                                                    include_pad, rc, clo, chi, yr));
        else if (nr > 0)
            chk = _mm512_add_ps(chk, rt_pool_row512(is_max, careful, x + (ih0 + khlo * DH) * W,
                                                    rs, nr, KH, W, OW, KW, SW, DW, PL, PR,
                                                    include_pad, rc, clo, chi, yr));
        else   /* no input row: the identity's result (max -inf, average 0 / count) */
            for (j = 0; j < OW; j++)
                yr[j] = is_max ? -INFINITY
                               : 0.0f / (rc * (float)rt_pool_taps(j * SW - PL, KW, DW, W, PR,
                                                                  include_pad));
    }
    return is_max && !careful && _mm512_cmp_ps_mask(chk, chk, _CMP_UNORD_Q) != 0;
}
#endif

#if defined(RT_POOL_AVX512)
/* The rare modes, not specialised by window: average and careful max. */
RT_NOINLINE RT_INTERNAL int rt_pool_plane512_any(int is_max, int careful, const float *x, int H,
                                                 int W, int OH, int OW, int KH, int KW, int SH,
                                                 int SW, int DH, int DW, int PT, int PL, int PB,
                                                 int PR, int include_pad, float *y)
{
    if (!is_max)
        return rt_pool_plane512(0, 0, x, H, W, OH, OW, KH, KW, SH, SW, DH, DW, PT, PL, PB, PR,
                                include_pad, y, RT_POOL_PF(H, W));
    if (careful)
        return rt_pool_plane512(1, 1, x, H, W, OH, OW, KH, KW, SH, SW, DH, DW, PT, PL, PB, PR,
                                include_pad, y, RT_POOL_PF(H, W));
    return rt_pool_plane512(1, 0, x, H, W, OH, OW, KH, KW, SH, SW, DH, DW, PT, PL, PB, PR,
                            include_pad, y, RT_POOL_PF(H, W));
}
#endif

/* One plane, on the best path for its window (max: the common windows
 * with constant sizes, so that the tap loops unroll). */
RT_POOL_INLINE void rt_pool_plane_sel(int is_max, const float *x, int H, int W, int OH, int OW,
                                      int KH, int KW, int SH, int SW, int DH, int DW, int PT,
                                      int PL, int PB, int PR, int include_pad, float *y)
{
#if defined(RT_POOL_AVX512)
    if (SW <= 2 && (ptrdiff_t)(KW - 1) * DW <= 16) {
        int lost;
        if (!is_max) {
            rt_pool_plane512_any(0, 0, x, H, W, OH, OW, KH, KW, SH, SW, DH, DW, PT, PL, PB, PR,
                                 include_pad, y);
            return;
        }
        if (KH == 3 && KW == 3 && SW == 2 && DH == 1 && DW == 1 && RT_POOL_PF(H, W))
            lost = rt_pool_plane512(1, 0, x, H, W, OH, OW, 3, 3, SH, 2, 1, 1, PT, PL, PB, PR,
                                    include_pad, y, 1);
        else if (KH == 3 && KW == 3 && SW == 2 && DH == 1 && DW == 1)
            lost = rt_pool_plane512(1, 0, x, H, W, OH, OW, 3, 3, SH, 2, 1, 1, PT, PL, PB, PR,
                                    include_pad, y, 0);
        else if (KH == 2 && KW == 2 && SW == 2 && DH == 1 && DW == 1)
            lost = rt_pool_plane512(1, 0, x, H, W, OH, OW, 2, 2, SH, 2, 1, 1, PT, PL, PB, PR,
                                    include_pad, y, RT_POOL_PF(H, W));
        else
            lost = rt_pool_plane512_any(1, 0, x, H, W, OH, OW, KH, KW, SH, SW, DH, DW, PT, PL,
                                        PB, PR, include_pad, y);
        if (lost)
            rt_pool_plane512_any(1, 1, x, H, W, OH, OW, KH, KW, SH, SW, DH, DW, PT, PL, PB, PR,
                                 include_pad, y);
        return;
    }
#else
    if (KH == 3 && KW == 3 && SW == 2 && DH == 1 && DW == 1) {
        rt_pool_plane(is_max, x, H, W, OH, OW, 3, 3, SH, 2, 1, 1, PT, PL, PB, PR, include_pad, y);
        return;
    }
#endif
    rt_pool_plane(is_max, x, H, W, OH, OW, KH, KW, SH, SW, DH, DW, PT, PL, PB, PR, include_pad, y);
}

RT_API void rt_pool2d(int kind, ptrdiff_t planes, int H, int W, int OH, int OW, int KH, int KW,
                      int SH, int SW, int DH, int DW, int PT, int PL, int PB, int PR,
                      int include_pad, const float *x, float *y)
{
    const int is_max = kind == RT_POOL_MAX;
    const ptrdiff_t hw = (ptrdiff_t)H * W, ohw = (ptrdiff_t)OH * OW;
    ptrdiff_t p;
    int par = planes > 1 && (double)planes * ohw * KH * KW >= RT_POOL_PAR_MIN;
    (void)par;
#ifdef _OPENMP
    _Pragma("omp parallel for schedule(static) if(par)")
#endif
    for (p = 0; p < planes; p++) {
        const float *xp = x + p * hw;
        float *yp = y + p * ohw;
        rt_pool_plane_sel(is_max, xp, H, W, OH, OW, KH, KW, SH, SW, DH, DW, PT, PL, PB, PR,
                          include_pad, yp);
    }
}

/* ---- global pooling ---- */

RT_INTERNAL float rt_pool_gmax1(const float *x, ptrdiff_t n)
{
    ptrdiff_t i = 0;
    float acc;
#if defined(RT_POOL_AVX512)
    if (n >= 16) {
        __m512 a0 = _mm512_loadu_ps(x), a1 = a0;
        __mmask16 u = 0;
        for (i = 16; i + 32 <= n; i += 32) {
            __m512 v0 = _mm512_loadu_ps(x + i), v1 = _mm512_loadu_ps(x + i + 16);
            u |= _mm512_cmp_ps_mask(a0, v0, _CMP_UNORD_Q) | _mm512_cmp_ps_mask(a1, v1, _CMP_UNORD_Q);
            a0 = _mm512_max_ps(a0, v0);
            a1 = _mm512_max_ps(a1, v1);
        }
        if (i < n) {   /* the last up to 31 floats as two (overlapping) full vectors */
            __m512 v1 = _mm512_loadu_ps(x + n - 16);
            __m512 v0 = n - i > 16 ? _mm512_loadu_ps(x + i) : v1;
            u |= _mm512_cmp_ps_mask(a0, v0, _CMP_UNORD_Q) | _mm512_cmp_ps_mask(a1, v1, _CMP_UNORD_Q);
            a0 = _mm512_max_ps(a0, v0);
            a1 = _mm512_max_ps(a1, v1);
        }
        u |= _mm512_cmp_ps_mask(a0, a1, _CMP_UNORD_Q);
        if (u)
            return NAN;
        return _mm512_reduce_max_ps(_mm512_max_ps(a0, a1));
    }
#elif defined(RT_POOL_AVX2)
    if (n >= 8) {
        __m256 a = _mm256_loadu_ps(x), u = _mm256_setzero_ps(), v;
        __m128 h;
        for (i = 8; i + 8 <= n; i += 8) {
            v = _mm256_loadu_ps(x + i);
            u = _mm256_or_ps(u, _mm256_cmp_ps(a, v, _CMP_UNORD_Q));
            a = _mm256_max_ps(a, v);
        }
        v = _mm256_loadu_ps(x + n - 8);   /* the tail, overlapping */
        u = _mm256_or_ps(u, _mm256_cmp_ps(a, v, _CMP_UNORD_Q));
        a = _mm256_max_ps(a, v);
        if (_mm256_movemask_ps(u))
            return NAN;
        h = _mm_max_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
        h = _mm_max_ps(h, _mm_movehl_ps(h, h));
        h = _mm_max_ss(h, _mm_shuffle_ps(h, h, 1));
        return _mm_cvtss_f32(h);
    }
#endif
    acc = x[0];
    for (i = 1; i < n; i++)
        acc = RT_POOL_SMAX(acc, x[i]);
    return acc;
}

RT_INTERNAL float rt_pool_gsum1(const float *x, ptrdiff_t n)
{
    ptrdiff_t i = 0;
    float acc = 0.0f;
#if defined(RT_POOL_AVX512)
    {
        __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
        for (; i + 32 <= n; i += 32) {
            a0 = _mm512_add_ps(a0, _mm512_loadu_ps(x + i));
            a1 = _mm512_add_ps(a1, _mm512_loadu_ps(x + i + 16));
        }
        if (i + 16 <= n) {
            a0 = _mm512_add_ps(a0, _mm512_loadu_ps(x + i));
            i += 16;
        }
        if (i < n)
            a1 = _mm512_add_ps(a1, _mm512_maskz_loadu_ps((__mmask16)((1u << (n - i)) - 1), x + i));
        return _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));
    }
#elif defined(RT_POOL_AVX2)
    {
        __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
        __m128 h;
        for (; i + 16 <= n; i += 16) {
            a0 = _mm256_add_ps(a0, _mm256_loadu_ps(x + i));
            a1 = _mm256_add_ps(a1, _mm256_loadu_ps(x + i + 8));
        }
        if (i + 8 <= n) {
            a0 = _mm256_add_ps(a0, _mm256_loadu_ps(x + i));
            i += 8;
        }
        a0 = _mm256_add_ps(a0, a1);
        h = _mm_add_ps(_mm256_castps256_ps128(a0), _mm256_extractf128_ps(a0, 1));
        h = _mm_add_ps(h, _mm_movehl_ps(h, h));
        h = _mm_add_ss(h, _mm_shuffle_ps(h, h, 1));
        acc = _mm_cvtss_f32(h);
    }
#endif
    for (; i < n; i++)
        acc += x[i];
    return acc;
}

RT_API void rt_global_pool(int kind, ptrdiff_t planes, ptrdiff_t size, const float *x, float *y)
{
    ptrdiff_t p;
    int par = planes > 1 && (double)planes * size >= RT_POOL_PAR_MIN;
    (void)par;
    if (kind == RT_POOL_MAX) {
#ifdef _OPENMP
        _Pragma("omp parallel for schedule(static) if(par)")
#endif
        for (p = 0; p < planes; p++)
            y[p] = rt_pool_gmax1(x + p * size, size);
    } else {
        const float cnt = (float)size;
#ifdef _OPENMP
        _Pragma("omp parallel for schedule(static) if(par)")
#endif
        for (p = 0; p < planes; p++)
            y[p] = rt_pool_gsum1(x + p * size, size) / cnt;
    }
}
