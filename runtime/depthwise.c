/* rt-deps: epilogue */
/* depthwise.c - depthwise 2-D convolution (group == C == M: one input and
 * one output channel per group), NCHW, float32, with the epilogue fused:
 *
 *   y[n,c] = act(bias[c] + sum_{kh,kw} w[c,kh,kw] * x[n,c,shifted] + residual[n,c])
 *
 * Any kernel size, stride, dilation and padding (padding reads zeros; the
 * bottom/right padding follows from OH/OW).  Paths, first that applies:
 *   AVX-512, 3x3:
 *     - stride 1, same width (left padding 1), rows >= 12 wide: row by row
 *       straight from x, one masked load per input row and 16 columns, the
 *       column taps by valignd, two output rows per pass inside the
 *       plane (rt_dw_plane_rows);
 *     - stride 2, left padding 1: row by row, vshufps/valignd give the
 *       three column taps in one lane order (rt_dw_plane_s2rows);
 *     - stride 1 as above, rows <= 8 wide: two output rows per vector
 *       (rt_dw_plane_s1pair; 7x7); stride 2 into rows <= 8 wide likewise
 *       (rt_dw_plane_s2pair; 14x14 -> 7x7);
 *     - planes rows <= 16 wide, >= 16 channels: 16 channels per vector
 *       through a transposed buffer (rt_dw_blocked_run);
 *     - otherwise flat over the output plane with masked loads (stride 2
 *       through phase planes; rt_dw_plane_flat);
 *   3x3 stride 1 or 2 elsewhere: zero-padded strip buffers, a flat vector
 *   loop over them (rt_dw_plane3); anything else: each output row as a sum
 *   of shifted scaled input rows (rt_dw_row_generic), then the residual and
 *   activation while the row is in L1.
 * The epilogue is applied in registers before the one store where it can
 * be (none, Relu, Clip, LeakyRelu), else right after, while in L1.
 * Line-crossing vector loads cost about twice an aligned one on the
 * machine these were tuned on (Zen 5), hence one load per input vector and
 * in-register shifts rather than a load per tap.
 *
 * Every output is bias + the taps in (kh, kw) order, fused multiply-add
 * where the target has one (RT_FMA), so all paths round alike.
 * With OpenMP, channels are split statically across threads when the layer
 * is large enough to pay for it.
 */
#ifndef RT_EMBED
#include "rt_conv.h"
#endif

#if !defined(RT_NO_SIMD) && defined(__AVX512F__)
#  include <immintrin.h>
#  define RT_DW_AVX512 1
#elif !defined(RT_NO_SIMD) && defined(__AVX2__) && defined(__FMA__)
#  include <immintrin.h>
#  define RT_DW_AVX2 1
#endif
#ifdef _OPENMP
#  include <omp.h>
#endif

/* Outputs (times taps) below which a layer runs on one thread. */
#define RT_DW_PAR_MIN 32768

#ifdef __GNUC__
#  define RT_DW_PREFETCH(p) __builtin_prefetch((p), 0, 3)
#else
#  define RT_DW_PREFETCH(p) ((void)(p))
#endif

/* Asks for input rows [ih, ih + n) of plane xc (those inside it): short
 * row streams (a few cache lines each) do not train the hardware
 * prefetchers, and a plane just written by the previous layer is in L3 at
 * best (MobileNetV2's 112x112 stride-2 layer ran 6x slower cold). */
RT_INTERNAL void rt_dw_prefetch_rows(const float *xc, const rt_conv2d_shape *s,
                                     ptrdiff_t ih, ptrdiff_t n)
{
    ptrdiff_t i, q;
    for (i = RT_MAX(ih, 0); i < RT_MIN(ih + n, (ptrdiff_t)s->H); i++)
        for (q = 0; q < s->W; q += 16)
            RT_DW_PREFETCH(xc + i * s->W + q);
}

/* Prefetches the input lines RT_DW_PF_AHEAD floats past [p, p + n): the
 * row loops read a plane's rows in order and the planes one after the
 * other, so this runs ahead across a plane's end into the next channel's;
 * short row streams do not train the hardware prefetchers, and an input
 * just written by the previous layer is in L3 at best (MobileNetV2's
 * 112x112 stride-2 layer).  Addresses past the tensor are harmless for a
 * prefetch (integer arithmetic: no pointer leaves its array). */
#ifndef RT_DW_PF_AHEAD
#  define RT_DW_PF_AHEAD 2048
#endif

RT_INTERNAL void rt_dw_prefetch_ahead(const float *p, ptrdiff_t n)
{
    uintptr_t a = (uintptr_t)(p + 0) + RT_DW_PF_AHEAD * sizeof(float);
    ptrdiff_t q;
    for (q = 0; q < n; q += 16)
        RT_DW_PREFETCH((const void *)(a + (uintptr_t)q * sizeof(float)));
}

/* Output columns [*lo, *hi) whose input column o*S + off lies in [0, W). */
RT_INTERNAL void rt_dw_range(ptrdiff_t off, ptrdiff_t S, ptrdiff_t W,
                             ptrdiff_t O, ptrdiff_t *lo, ptrdiff_t *hi)
{
    ptrdiff_t l, h;
    l = off >= 0 ? 0 : (-off + S - 1) / S;
    h = W - 1 - off < 0 ? 0 : (W - 1 - off) / S + 1;
    l = RT_MIN(l, O);
    h = RT_MIN(h, O);
    *lo = l;
    *hi = RT_MAX(h, l);
}

/* Outputs [c0, c1) of row oh as a sum of shifted scaled input rows (any
 * shape), into out[0 .. c1 - c0): b, then for each tap in (kh, kw) order
 * + w * x over the columns where that tap is inside the image. */
RT_INTERNAL void rt_dw_row_generic(const rt_conv2d_shape *s,
                                   const float *restrict xc,
                                   const float *restrict wk, float b,
                                   ptrdiff_t oh, ptrdiff_t c0, ptrdiff_t c1,
                                   float *restrict out)
{
    ptrdiff_t kh, kw, ow;
    float *yrow = out - c0; /* yrow[ow] for ow in [c0, c1) */
    for (ow = c0; ow < c1; ow++)
        yrow[ow] = b;
    for (kh = 0; kh < s->KH; kh++) {
        ptrdiff_t ih = oh * s->SH - s->PT + kh * s->DH;
        const float *xrow;
        if (ih < 0 || ih >= s->H)
            continue;
        xrow = xc + ih * s->W;
        for (kw = 0; kw < s->KW; kw++) {
            const float wv = wk[kh * s->KW + kw];
            ptrdiff_t off = kw * s->DW - s->PL, lo, hi;
            rt_dw_range(off, s->SW, s->W, s->OW, &lo, &hi);
            lo = RT_MAX(lo, c0);
            hi = RT_MIN(hi, c1);
            if (s->SW == 1) {
                for (ow = lo; ow < hi; ow++)
                    yrow[ow] = RT_FMA(wv, xrow[ow + off], yrow[ow]);
            } else {
                for (ow = lo; ow < hi; ow++)
                    yrow[ow] = RT_FMA(wv, xrow[ow * s->SW + off], yrow[ow]);
            }
        }
    }
}

/* ---- 3x3, stride 1 or 2: through zero-padded strip buffers -----------
 *
 * A strip of R output rows reads R + 2 (stride 1) or 2R + 1 (stride 2)
 * input rows.  They are copied into a small buffer with the padding
 * written as zeros, as planes of Wq-float rows:
 *   stride 1: one plane, Wq = OW + 2; row i, column q = input row
 *             o0 - PT + i, column q - PL;
 *   stride 2: four phase planes (py, px), Wq = OW + 1, R + 1 rows each;
 *             row i, column q = input row 2(o0 + i) + py - PT, column
 *             2q + px - PL.
 * Output (r, ow) of the strip is then buffer position r*Wq + ow plus a
 * constant offset per tap (stride 1: kh*Wq + kw; stride 2: plane
 * (kh%2, kw%2), kh/2*Wq + kw/2), so the strip is one flat vector loop over
 * positions with no border cases; positions with ow >= OW are computed and
 * dropped.  The results go to a second buffer; copying each row out to y
 * applies the residual and activation.  Both buffers are on the stack
 * (< 4 KiB each); rows too wide for them take the generic path. */
#define RT_DW_IN 1008
#define RT_DW_OUT 1008
#define RT_DW_SLACK 16 /* floats a full vector reads/writes past the end */

typedef struct {
    ptrdiff_t wq;     /* buffer row width */
    ptrdiff_t planes; /* 1 (stride 1) or 4 (stride 2) */
    ptrdiff_t strip;  /* output rows per strip, 0: does not fit */
} rt_dw_geom;

RT_INTERNAL void rt_dw_geometry(const rt_conv2d_shape *s, rt_dw_geom *g)
{
    ptrdiff_t r;
    g->wq = s->SW == 1 ? (ptrdiff_t)s->OW + 2 : (ptrdiff_t)s->OW + 1;
    g->planes = s->SW == 1 ? 1 : 4;
    /* input rows: stride 1 R + 2, stride 2 R + 1 per plane */
    r = (RT_DW_IN - RT_DW_SLACK) / (g->planes * g->wq) - (s->SW == 1 ? 2 : 1);
    r = RT_MIN(r, (RT_DW_OUT - RT_DW_SLACK) / g->wq);
    g->strip = r < 1 ? 0 : RT_MIN(r, (ptrdiff_t)s->OH);
}

RT_INTERNAL int rt_dw_fast(const rt_conv2d_shape *s)
{
    rt_dw_geom g;
    if (!(s->KH == 3 && s->KW == 3 && s->DH == 1 && s->DW == 1 &&
          s->SH == s->SW && (s->SW == 1 || s->SW == 2)))
        return 0;
    rt_dw_geometry(s, &g);
    return g.strip > 0;
}

/* d[q] = row[q*step + first] for q in [0, n), zero where that column is
 * outside [0, w). */
RT_INTERNAL void rt_dw_take(const float *row, ptrdiff_t w, ptrdiff_t first,
                            ptrdiff_t step, ptrdiff_t n, float *restrict d)
{
    /* q in [qa, qb): column inside */
    ptrdiff_t qa = first >= 0 ? 0 : (-first + step - 1) / step;
    ptrdiff_t qb = w - 1 - first < 0 ? 0 : (w - 1 - first) / step + 1;
    ptrdiff_t q;
    qa = RT_MIN(qa, n);
    qb = RT_MAX(qa, RT_MIN(qb, n));
    for (q = 0; q < qa; q++)
        d[q] = 0.0f;
    if (step == 1) {
        if (qb > qa)
            memcpy(d + qa, row + (qa + first), (size_t)(qb - qa) * sizeof(float));
    } else {
        const float *src = row + (qa * step + first);
        q = qa;
#if defined(RT_DW_AVX2)
        /* step 2, 8 columns from 16 floats; q + 8 < qb keeps the reads
         * inside the row */
        for (; step == 2 && q + 8 < qb; q += 8) {
            const __m256 v0 = _mm256_loadu_ps(src + 2 * (q - qa));
            const __m256 v1 = _mm256_loadu_ps(src + 2 * (q - qa) + 8);
            const __m256 ev = _mm256_shuffle_ps(v0, v1, 0x88); /* 0 2 8 10 | 4 6 12 14 */
            _mm256_storeu_ps(d + q, _mm256_castpd_ps(_mm256_permute4x64_pd(
                                        _mm256_castps_pd(ev), 0xD8)));
        }
#endif
        for (; q < qb; q++)
            d[q] = src[(q - qa) * step];
    }
    for (q = qb; q < n; q++)
        d[q] = 0.0f;
}

#if defined(RT_DW_AVX512)
/* Lanes [0, n) of a 16-lane mask, n clamped to [0, 16]. */
RT_INTERNAL __mmask16 rt_dw_mask(ptrdiff_t n)
{
    if (n <= 0)
        return 0;
    if (n >= 16)
        return (__mmask16)0xFFFF;
    return (__mmask16)((1u << n) - 1u);
}

RT_INTERNAL void rt_dw_zero(float *d, ptrdiff_t n)
{
    ptrdiff_t q;
    for (q = 0; q < n; q += 16)
        _mm512_mask_storeu_ps(d + q, rt_dw_mask(n - q), _mm512_setzero_ps());
}

/* d[at + k] = src[k] for k in [0, n) */
RT_INTERNAL void rt_dw_copy(const float *src, ptrdiff_t n, float *d)
{
    ptrdiff_t k;
    for (k = 0; k < n; k += 16) {
        __mmask16 m = rt_dw_mask(n - k);
        _mm512_mask_storeu_ps(d + k, m, _mm512_maskz_loadu_ps(m, src + k));
    }
}

/* ev[k] = src[2k] for k < ne, od[k] = src[2k + 1] for k < no (src holds
 * at least 2*max(ne, no) - 1 floats, exactly what is read). */
RT_INTERNAL void rt_dw_deint(const float *src, ptrdiff_t ne, ptrdiff_t no,
                             float *ev, float *od)
{
    const __m512i ie = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14,
                                        12, 10, 8, 6, 4, 2, 0);
    const __m512i io = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15,
                                        13, 11, 9, 7, 5, 3, 1);
    ptrdiff_t n = RT_MAX(ne, no), k;
    ptrdiff_t w = ne + no; /* source floats */
    for (k = 0; k < n; k += 16) {
        __m512 v0 = _mm512_maskz_loadu_ps(rt_dw_mask(w - 2 * k), src + 2 * k);
        __m512 v1 = _mm512_maskz_loadu_ps(rt_dw_mask(w - 2 * k - 16),
                                          src + 2 * k + 16);
        _mm512_mask_storeu_ps(ev + k, rt_dw_mask(ne - k),
                              _mm512_permutex2var_ps(v0, ie, v1));
        _mm512_mask_storeu_ps(od + k, rt_dw_mask(no - k),
                              _mm512_permutex2var_ps(v0, io, v1));
    }
}
#endif

/* Buffer row(s) from input row `row` (NULL: outside the image, zeros).
 * Stride 1: d[q] = row[q - PL].  Stride 2: e[q] = row[2q - PL],
 * o[q] = row[2q + 1 - PL].  q in [0, wq), zero outside the row. */
RT_INTERNAL void rt_dw_fill_row(const rt_conv2d_shape *s, ptrdiff_t wq,
                                const float *row, float *e, float *o)
{
#if defined(RT_DW_AVX512)
    ptrdiff_t pl = s->PL, w = s->W;
    rt_dw_zero(e, wq);
    if (o)
        rt_dw_zero(o, wq);
    if (!row || pl >= (o ? 2 * wq : wq))
        return;
    if (!o) {
        rt_dw_copy(row, RT_MIN(w, wq - pl), e + pl);
    } else {
        /* even source columns land in the plane with (c + PL) even */
        ptrdiff_t ne = (w + 1) / 2, no = w / 2;
        float *pe = pl & 1 ? o : e, *po = pl & 1 ? e : o;
        ptrdiff_t qe = pl / 2, qo = (pl + 1) / 2; /* q of columns 0 and 1 */
        ne = RT_MAX(0, RT_MIN(ne, wq - qe));
        no = RT_MAX(0, RT_MIN(no, wq - qo));
        /* keep the reads inside the row: at most 2*max - 1 floats */
        if (no >= ne)
            no = RT_MIN(no, ne);
        else
            ne = RT_MIN(ne, no + 1);
        rt_dw_deint(row, ne, no, pe + qe, po + qo);
    }
#else
    if (!row) {
        memset(e, 0, (size_t)wq * sizeof(float));
        if (o)
            memset(o, 0, (size_t)wq * sizeof(float));
        return;
    }
    if (!o) {
#if defined(RT_DW_AVX2)
        if (s->PL < 8 && s->W < ((ptrdiff_t)1 << 30)) {
            /* e[q] = row[q - PL] inside the row, else 0, 8 lanes at a time
             * by masked loads (no lane outside the row is read); the
             * stores end < 8 floats past wq, in the next buffer row (filled
             * after this one) or the slack after the last.  The first
             * vector loads from row itself and shifts its lanes by PL. */
            const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
            const __m256i lim = _mm256_set1_epi32((int)s->W);
            ptrdiff_t q;
            for (q = 0; q < wq; q += 8) {
                const ptrdiff_t c0 = q - (ptrdiff_t)s->PL; /* column of lane 0 */
                __m256 v;
                if (c0 >= (ptrdiff_t)s->W) {
                    v = _mm256_setzero_ps();
                } else if (c0 >= 0) {
                    const __m256i c = _mm256_add_epi32(_mm256_set1_epi32((int)c0), lane);
                    v = _mm256_maskload_ps(row + c0, _mm256_cmpgt_epi32(lim, c));
                } else {
                    const __m256i c = _mm256_add_epi32(_mm256_set1_epi32((int)c0), lane);
                    const __m256i in = _mm256_andnot_si256(
                        _mm256_cmpgt_epi32(_mm256_setzero_si256(), c), _mm256_cmpgt_epi32(lim, c));
                    v = _mm256_maskload_ps(row, _mm256_cmpgt_epi32(lim, lane));
                    v = _mm256_and_ps(_mm256_permutevar8x32_ps(v, c), _mm256_castsi256_ps(in));
                }
                _mm256_storeu_ps(e + q, v);
            }
            return;
        }
#endif
        rt_dw_take(row, s->W, -(ptrdiff_t)s->PL, 1, wq, e);
    } else {
        rt_dw_take(row, s->W, -(ptrdiff_t)s->PL, 2, wq, e);
        rt_dw_take(row, s->W, 1 - (ptrdiff_t)s->PL, 2, wq, o);
    }
#endif
}

/* Fills the buffer for output rows [o0, o0 + r) of channel plane xc and
 * zeroes RT_DW_SLACK floats after it. */
RT_INTERNAL void rt_dw_fill(const rt_conv2d_shape *s, const rt_dw_geom *g,
                            const float *xc, ptrdiff_t o0, ptrdiff_t r,
                            float *buf)
{
    ptrdiff_t wq = g->wq, i, used;
    if (s->SW == 1) {
        for (i = 0; i < r + 2; i++) {
            ptrdiff_t ih = o0 - s->PT + i;
            rt_dw_fill_row(s, wq, ih < 0 || ih >= s->H ? NULL : xc + ih * s->W,
                           buf + i * wq, NULL);
        }
        used = (r + 2) * wq;
    } else {
        ptrdiff_t ps = (r + 1) * wq, py;
        for (py = 0; py < 2; py++) {
            for (i = 0; i < r + 1; i++) {
                ptrdiff_t ih = 2 * (o0 + i) + py - s->PT;
                float *d = buf + py * 2 * ps + i * wq;
                rt_dw_fill_row(s, wq, ih < 0 || ih >= s->H ? NULL : xc + ih * s->W,
                               d, d + ps);
            }
        }
        used = 4 * ps;
    }
    for (i = used; i < used + RT_DW_SLACK; i++)
        buf[i] = 0.0f;
}

/* out[p] = b + sum_t w[t] * in[off[t] + p] for p in [0, n) rounded up to
 * whole vectors (out and in have RT_DW_SLACK floats of room). */
RT_INTERNAL void rt_dw_strip9(const float *in, const ptrdiff_t *off,
                              const float *w, float b, ptrdiff_t n,
                              float *restrict out)
{
    const float *i0 = in + off[0], *i1 = in + off[1], *i2 = in + off[2];
    const float *i3 = in + off[3], *i4 = in + off[4], *i5 = in + off[5];
    const float *i6 = in + off[6], *i7 = in + off[7], *i8 = in + off[8];
    ptrdiff_t p;
#if defined(RT_DW_AVX512)
    const __m512 w0 = _mm512_set1_ps(w[0]), w1 = _mm512_set1_ps(w[1]);
    const __m512 w2 = _mm512_set1_ps(w[2]), w3 = _mm512_set1_ps(w[3]);
    const __m512 w4 = _mm512_set1_ps(w[4]), w5 = _mm512_set1_ps(w[5]);
    const __m512 w6 = _mm512_set1_ps(w[6]), w7 = _mm512_set1_ps(w[7]);
    const __m512 w8 = _mm512_set1_ps(w[8]), vb = _mm512_set1_ps(b);
    for (p = 0; p + 16 < n; p += 32) {
        /* two independent vectors per step: the 9-FMA chains overlap */
        __m512 a = vb, c = vb;
        a = _mm512_fmadd_ps(w0, _mm512_loadu_ps(i0 + p), a);
        c = _mm512_fmadd_ps(w0, _mm512_loadu_ps(i0 + p + 16), c);
        a = _mm512_fmadd_ps(w1, _mm512_loadu_ps(i1 + p), a);
        c = _mm512_fmadd_ps(w1, _mm512_loadu_ps(i1 + p + 16), c);
        a = _mm512_fmadd_ps(w2, _mm512_loadu_ps(i2 + p), a);
        c = _mm512_fmadd_ps(w2, _mm512_loadu_ps(i2 + p + 16), c);
        a = _mm512_fmadd_ps(w3, _mm512_loadu_ps(i3 + p), a);
        c = _mm512_fmadd_ps(w3, _mm512_loadu_ps(i3 + p + 16), c);
        a = _mm512_fmadd_ps(w4, _mm512_loadu_ps(i4 + p), a);
        c = _mm512_fmadd_ps(w4, _mm512_loadu_ps(i4 + p + 16), c);
        a = _mm512_fmadd_ps(w5, _mm512_loadu_ps(i5 + p), a);
        c = _mm512_fmadd_ps(w5, _mm512_loadu_ps(i5 + p + 16), c);
        a = _mm512_fmadd_ps(w6, _mm512_loadu_ps(i6 + p), a);
        c = _mm512_fmadd_ps(w6, _mm512_loadu_ps(i6 + p + 16), c);
        a = _mm512_fmadd_ps(w7, _mm512_loadu_ps(i7 + p), a);
        c = _mm512_fmadd_ps(w7, _mm512_loadu_ps(i7 + p + 16), c);
        a = _mm512_fmadd_ps(w8, _mm512_loadu_ps(i8 + p), a);
        c = _mm512_fmadd_ps(w8, _mm512_loadu_ps(i8 + p + 16), c);
        _mm512_storeu_ps(out + p, a);
        _mm512_storeu_ps(out + p + 16, c);
    }
    if (p < n) { /* one more vector: reads and writes end < 16 past n */
        __m512 a = vb;
        a = _mm512_fmadd_ps(w0, _mm512_loadu_ps(i0 + p), a);
        a = _mm512_fmadd_ps(w1, _mm512_loadu_ps(i1 + p), a);
        a = _mm512_fmadd_ps(w2, _mm512_loadu_ps(i2 + p), a);
        a = _mm512_fmadd_ps(w3, _mm512_loadu_ps(i3 + p), a);
        a = _mm512_fmadd_ps(w4, _mm512_loadu_ps(i4 + p), a);
        a = _mm512_fmadd_ps(w5, _mm512_loadu_ps(i5 + p), a);
        a = _mm512_fmadd_ps(w6, _mm512_loadu_ps(i6 + p), a);
        a = _mm512_fmadd_ps(w7, _mm512_loadu_ps(i7 + p), a);
        a = _mm512_fmadd_ps(w8, _mm512_loadu_ps(i8 + p), a);
        _mm512_storeu_ps(out + p, a);
    }
#elif defined(RT_DW_AVX2)
    const __m256 w0 = _mm256_set1_ps(w[0]), w1 = _mm256_set1_ps(w[1]);
    const __m256 w2 = _mm256_set1_ps(w[2]), w3 = _mm256_set1_ps(w[3]);
    const __m256 w4 = _mm256_set1_ps(w[4]), w5 = _mm256_set1_ps(w[5]);
    const __m256 w6 = _mm256_set1_ps(w[6]), w7 = _mm256_set1_ps(w[7]);
    const __m256 w8 = _mm256_set1_ps(w[8]), vb = _mm256_set1_ps(b);
    for (p = 0; p + 8 < n; p += 16) {
        /* two independent vectors per step: the 9-FMA chains overlap */
        __m256 a = vb, c = vb;
        a = _mm256_fmadd_ps(w0, _mm256_loadu_ps(i0 + p), a);
        c = _mm256_fmadd_ps(w0, _mm256_loadu_ps(i0 + p + 8), c);
        a = _mm256_fmadd_ps(w1, _mm256_loadu_ps(i1 + p), a);
        c = _mm256_fmadd_ps(w1, _mm256_loadu_ps(i1 + p + 8), c);
        a = _mm256_fmadd_ps(w2, _mm256_loadu_ps(i2 + p), a);
        c = _mm256_fmadd_ps(w2, _mm256_loadu_ps(i2 + p + 8), c);
        a = _mm256_fmadd_ps(w3, _mm256_loadu_ps(i3 + p), a);
        c = _mm256_fmadd_ps(w3, _mm256_loadu_ps(i3 + p + 8), c);
        a = _mm256_fmadd_ps(w4, _mm256_loadu_ps(i4 + p), a);
        c = _mm256_fmadd_ps(w4, _mm256_loadu_ps(i4 + p + 8), c);
        a = _mm256_fmadd_ps(w5, _mm256_loadu_ps(i5 + p), a);
        c = _mm256_fmadd_ps(w5, _mm256_loadu_ps(i5 + p + 8), c);
        a = _mm256_fmadd_ps(w6, _mm256_loadu_ps(i6 + p), a);
        c = _mm256_fmadd_ps(w6, _mm256_loadu_ps(i6 + p + 8), c);
        a = _mm256_fmadd_ps(w7, _mm256_loadu_ps(i7 + p), a);
        c = _mm256_fmadd_ps(w7, _mm256_loadu_ps(i7 + p + 8), c);
        a = _mm256_fmadd_ps(w8, _mm256_loadu_ps(i8 + p), a);
        c = _mm256_fmadd_ps(w8, _mm256_loadu_ps(i8 + p + 8), c);
        _mm256_storeu_ps(out + p, a);
        _mm256_storeu_ps(out + p + 8, c);
    }
    if (p < n) { /* one more vector: reads and writes end < 8 past n */
        __m256 a = vb;
        a = _mm256_fmadd_ps(w0, _mm256_loadu_ps(i0 + p), a);
        a = _mm256_fmadd_ps(w1, _mm256_loadu_ps(i1 + p), a);
        a = _mm256_fmadd_ps(w2, _mm256_loadu_ps(i2 + p), a);
        a = _mm256_fmadd_ps(w3, _mm256_loadu_ps(i3 + p), a);
        a = _mm256_fmadd_ps(w4, _mm256_loadu_ps(i4 + p), a);
        a = _mm256_fmadd_ps(w5, _mm256_loadu_ps(i5 + p), a);
        a = _mm256_fmadd_ps(w6, _mm256_loadu_ps(i6 + p), a);
        a = _mm256_fmadd_ps(w7, _mm256_loadu_ps(i7 + p), a);
        a = _mm256_fmadd_ps(w8, _mm256_loadu_ps(i8 + p), a);
        _mm256_storeu_ps(out + p, a);
    }
#else
    for (p = 0; p < n; p++) {
        float a = b;
        a = RT_FMA(w[0], i0[p], a);
        a = RT_FMA(w[1], i1[p], a);
        a = RT_FMA(w[2], i2[p], a);
        a = RT_FMA(w[3], i3[p], a);
        a = RT_FMA(w[4], i4[p], a);
        a = RT_FMA(w[5], i5[p], a);
        a = RT_FMA(w[6], i6[p], a);
        a = RT_FMA(w[7], i7[p], a);
        a = RT_FMA(w[8], i8[p], a);
        out[p] = a;
    }
#endif
}

/* y[0 .. n) = act(src + res) (res may be NULL). */
RT_INTERNAL void rt_dw_store(const float *src, const float *res, ptrdiff_t n,
                             int act, float alpha, float beta, float *y)
{
    ptrdiff_t j;
#if defined(RT_DW_AVX512)
    if (act == RT_ACT_NONE || act == RT_ACT_RELU || act == RT_ACT_CLIP) {
        const __m512 lo = act == RT_ACT_RELU ? _mm512_setzero_ps()
                                             : _mm512_set1_ps(alpha);
        const __m512 hi = _mm512_set1_ps(beta);
        for (j = 0; j < n; j += 16) {
            __mmask16 m = n - j >= 16 ? (__mmask16)0xFFFF
                                      : (__mmask16)((1u << (n - j)) - 1u);
            __m512 v = _mm512_maskz_loadu_ps(m, src + j);
            if (res)
                v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, res + j));
            if (act != RT_ACT_NONE)
                v = _mm512_max_ps(v, lo);
            if (act == RT_ACT_CLIP)
                v = _mm512_min_ps(v, hi);
            _mm512_mask_storeu_ps(y + j, m, v);
        }
        return;
    }
#elif defined(RT_DW_AVX2)
    if (act == RT_ACT_NONE || act == RT_ACT_RELU || act == RT_ACT_CLIP) {
        const __m256 lo = act == RT_ACT_RELU ? _mm256_setzero_ps()
                                             : _mm256_set1_ps(alpha);
        const __m256 hi = _mm256_set1_ps(beta);
        for (j = 0; j + 8 <= n; j += 8) {
            __m256 v = _mm256_loadu_ps(src + j);
            if (res)
                v = _mm256_add_ps(v, _mm256_loadu_ps(res + j));
            if (act != RT_ACT_NONE)
                v = _mm256_max_ps(v, lo);
            if (act == RT_ACT_CLIP)
                v = _mm256_min_ps(v, hi);
            _mm256_storeu_ps(y + j, v);
        }
        for (; j < n; j++) { /* the same operations, one lane */
            __m128 v = _mm_set_ss(src[j]);
            if (res)
                v = _mm_add_ss(v, _mm_set_ss(res[j]));
            if (act != RT_ACT_NONE)
                v = _mm_max_ss(v, _mm256_castps256_ps128(lo));
            if (act == RT_ACT_CLIP)
                v = _mm_min_ss(v, _mm256_castps256_ps128(hi));
            y[j] = _mm_cvtss_f32(v);
        }
        return;
    }
#endif
    if (res) {
        for (j = 0; j < n; j++)
            y[j] = src[j] + res[j];
    } else {
        memcpy(y, src, (size_t)n * sizeof(float));
    }
    if (act != RT_ACT_NONE)
        rt_activate_n(act, alpha, beta, y, n);
}

/* ---- any kernel, column stride 1: a zero-padded window of rows --------
 *
 * Each output row's KH input rows are copied into a window (KH rows of wp
 * floats, the padding and the rows outside the image as zeros), then each
 * tap adds w times a shifted window row to the output row over whole
 * vectors: no bounds per tap and no scalar remainder loops, which made the
 * generic path (and PP-OCR's 5x5 layers) 2x slower than ONNX Runtime.
 * Out-of-image taps add w * 0, so values match the generic path's. */
#define RT_DW_VB 16
#define RT_DW_WIN 8192  /* floats of the window, on the stack */

RT_INTERNAL ptrdiff_t rt_dw_win_width(const rt_conv2d_shape *s)
{
    ptrdiff_t ow = ((ptrdiff_t)s->OW + RT_DW_VB - 1) / RT_DW_VB * RT_DW_VB;
    return ow + (ptrdiff_t)(s->KW - 1) * s->DW;
}

RT_INTERNAL int rt_dw_win_ok(const rt_conv2d_shape *s)
{
    return s->SW == 1 && s->KH * s->KW > 1 && s->KH * rt_dw_win_width(s) <= RT_DW_WIN;
}

/* acc[0..n) += w * x[0..n) */
RT_INTERNAL void rt_dw_axpy(ptrdiff_t n, float w, const float *restrict x, float *restrict acc)
{
    ptrdiff_t j;
    for (j = 0; j < n; j++)
        acc[j] = RT_FMA(w, x[j], acc[j]);
}

RT_INTERNAL void rt_dw_plane_win(const rt_conv2d_shape *s, const float *restrict xc,
                                 const float *restrict wk, float b, const float *res,
                                 int act, float alpha, float beta, float *yc)
{
    float win[RT_DW_WIN], acc[RT_DW_OUT + RT_DW_VB];
    ptrdiff_t wp = rt_dw_win_width(s), ow = wp - (ptrdiff_t)(s->KW - 1) * s->DW;
    ptrdiff_t oh, kh, kw, j, c0;
    for (oh = 0; oh < s->OH; oh++) {
        for (kh = 0; kh < s->KH; kh++) {
            ptrdiff_t ih = oh * s->SH - s->PT + kh * s->DH;
            ptrdiff_t lo = RT_MIN((ptrdiff_t)s->PL, wp), hi = RT_MIN(lo + s->W, wp);
            float *d = win + kh * wp;
            if (ih < 0 || ih >= s->H) {
                for (j = 0; j < wp; j++)
                    d[j] = 0.0f;
                continue;
            }
            for (j = 0; j < lo; j++)
                d[j] = 0.0f;
            for (j = lo; j < hi; j++)
                d[j] = xc[ih * s->W + j - s->PL];
            for (j = hi; j < wp; j++)
                d[j] = 0.0f;
        }
        /* the row in pieces of at most RT_DW_OUT outputs, rounded up to
         * whole vectors (the window holds the extra columns) */
        for (c0 = 0; c0 < s->OW; c0 += RT_DW_OUT) {
            ptrdiff_t n = RT_MIN((ptrdiff_t)RT_DW_OUT, (ptrdiff_t)s->OW - c0);
            ptrdiff_t nv = RT_MIN((n + RT_DW_VB - 1) / RT_DW_VB * RT_DW_VB, ow - c0);
            ptrdiff_t at = oh * s->OW + c0;
            for (j = 0; j < nv; j++)
                acc[j] = b;
            for (kh = 0; kh < s->KH; kh++)
                for (kw = 0; kw < s->KW; kw++)
                    rt_dw_axpy(nv, wk[kh * s->KW + kw], win + kh * wp + kw * s->DW + c0, acc);
            rt_dw_store(acc, res ? res + at : NULL, n, act, alpha, beta, yc + at);
        }
    }
}


/* One channel plane through the strip buffers. */
RT_INTERNAL void rt_dw_plane3(const rt_conv2d_shape *s, const rt_dw_geom *g,
                              const float *xc, const float *wk, float b,
                              const float *res, int act, float alpha,
                              float beta, float *yc)
{
    float in[RT_DW_IN], out[RT_DW_OUT];
    ptrdiff_t off[9], wq = g->wq, o0, r, kh, kw;
    for (o0 = 0; o0 < s->OH; o0 += g->strip) {
        ptrdiff_t rows = RT_MIN(g->strip, s->OH - o0);
        /* the next strip's new input rows */
        rt_dw_prefetch_rows(xc, s, (o0 + g->strip) * s->SH - s->PT + 3 - s->SH,
                            g->strip * s->SH);
        rt_dw_fill(s, g, xc, o0, rows, in);
        for (kh = 0; kh < 3; kh++)
            for (kw = 0; kw < 3; kw++)
                off[kh * 3 + kw] =
                    s->SW == 1 ? kh * wq + kw
                               : ((kh & 1) * 2 + (kw & 1)) * (rows + 1) * wq +
                                     (kh >> 1) * wq + (kw >> 1);
        rt_dw_strip9(in, off, wk, b, (rows - 1) * wq + s->OW, out);
        for (r = 0; r < rows; r++) {
            ptrdiff_t oh = o0 + r;
            rt_dw_store(out + r * wq, res ? res + oh * s->OW : NULL, s->OW,
                        act, alpha, beta, yc + oh * s->OW);
        }
    }
}

#if defined(RT_DW_AVX512)
/* act(v) for the activations done in vector registers; the others are
 * applied after the row by rt_epilogue_block (rt_dw_act_late). */
RT_INTERNAL __m512 rt_dw_act(__m512 v, int act, float alpha, float beta)
{
    switch (act) {
    case RT_ACT_RELU:
        return _mm512_max_ps(v, _mm512_setzero_ps());
    case RT_ACT_CLIP:
        return _mm512_min_ps(_mm512_max_ps(v, _mm512_set1_ps(alpha)), _mm512_set1_ps(beta));
    case RT_ACT_LEAKY_RELU: {
        __mmask16 neg = _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_LT_OQ);
        return _mm512_mask_mul_ps(v, neg, v, _mm512_set1_ps(alpha));
    }
    default:
        return v;
    }
}

RT_INTERNAL int rt_dw_act_late(int act)
{
    return act != RT_ACT_NONE && act != RT_ACT_RELU && act != RT_ACT_CLIP &&
           act != RT_ACT_LEAKY_RELU;
}

/* The activations the vector stores leave for later, over the n floats
 * just stored at y, while they are in cache. */
RT_INTERNAL void rt_dw_late_act(int act, float alpha, float beta, float *y, ptrdiff_t n)
{
    if (rt_dw_act_late(act))
        rt_activate_n(act, alpha, beta, y, n);
}
#endif


#if defined(RT_DW_AVX512)
/* ---- AVX-512: 3x3, stride 1 or 2, flat over the output plane ----------
 * Output rows are contiguous in y, so a run of 16 outputs is one vector
 * even when rows are shorter than 16 (7x7, 14x14 planes) or not a
 * multiple of it.  Each of the 9 taps is a masked load at a fixed offset
 * from the output position p in a "tap plane" of row pitch OW:
 *   stride 1 (OW == W, PL == 1): x itself, offset (kh - PT)*W + kw - 1;
 *   stride 2: four phase planes (py, px) holding input rows 2i + py and
 *             columns 2j + px at pitch OW, built per strip of output rows
 *             with permutes (rt_dw_phase_fill); tap (kh, kw) reads plane
 *             ((kh - PT) & 1, (kw - PL) & 1) at row offset
 *             floor((kh - PT)/2), column offset floor((kw - PL)/2).
 * Column offsets are -1, 0 or +1: output column 0 (-1) and OW - 1 (+1) are
 * masked off, the masks coming from a table indexed by p's column.  Row
 * offsets leave the plane only in the first and last few vectors (stride 1;
 * the phase planes carry zero rows), which take a slower path with the
 * row ranges in the masks too.  The epilogue (residual, activation) is
 * applied in registers and the 16 outputs stored once. */
#define RT_DW_FLAT_MAXOW 256  /* column mask tables */
/* Stride 2 flat (left padding 0; padding 1 goes row by row) up to this
 * output width: on MobileNetV2's shapes it beat the strip buffers up to
 * 28->14 and lost at 112->56. */
#define RT_DW_FLAT_S2_MAXOW 32

typedef struct {
    const float *row[3];    /* row kh's input for output position 0 */
    ptrdiff_t lo[3], hi[3]; /* row kh inside for p + lane in [lo, hi) */
    ptrdiff_t n;            /* outputs */
    ptrdiff_t ow;           /* output row width */
} rt_dw_flat_t;

#ifdef __GNUC__
#  define RT_DW_INLINE static inline __attribute__((always_inline))
#else
#  define RT_DW_INLINE static
#endif

/* Lanes [a, b) of 16 (clamped). */
RT_INTERNAL __mmask16 rt_dw_span(ptrdiff_t a, ptrdiff_t b)
{
    unsigned lo, hi;
    a = RT_MAX(a, 0);
    b = RT_MIN(b, 16);
    if (b <= a)
        return 0;
    lo = (1u << a) - 1u;
    hi = (1u << b) - 1u;
    return (__mmask16)(hi & ~lo);
}

/* Stride 2: the phase planes (py, px) sit RT_DW_PS floats apart. */
#define RT_DW_PS 1024

RT_INTERNAL int rt_dw_flat_ok(const rt_conv2d_shape *s)
{
    if (!(s->KH == 3 && s->KW == 3 && s->DH == 1 && s->DW == 1 && s->SH == s->SW &&
          s->OW <= RT_DW_FLAT_MAXOW && s->PT <= 2 && s->PL <= 2))
        return 0;
    if (s->SW == 1)
        return s->PL == 1 && s->OW == s->W;
    /* stride 2: planes of 3 rows at least; the column offsets
     * floor((kw - PL)/2) in [-1, 1]; with PL == 0 the column past the
     * planes' last (tap kw = 2 of ow = OW - 1) must be padding */
    return s->SW == 2 && s->PL <= 1 && (s->PL == 1 || 2 * (ptrdiff_t)s->OW >= s->W) &&
           3 * (ptrdiff_t)s->OW + 32 <= RT_DW_PS;
}

/* Column masks: ml[c] (ow - 1 inside) and mr[c] (ow + 1 inside) of the 16
 * outputs from column c on. */
RT_INTERNAL void rt_dw_col_masks(ptrdiff_t ow, int needl, int needr, __mmask16 *ml,
                                 __mmask16 *mr)
{
    ptrdiff_t c, j;
    for (c = 0; c < ow; c++) {
        unsigned l = 0xFFFFu, r = 0xFFFFu;
        for (j = 0; j < 16; j++) {
            ptrdiff_t col = (c + j) % ow;
            if (needl && col == 0)
                l &= ~(1u << j);
            if (needr && col == ow - 1)
                r &= ~(1u << j);
        }
        ml[c] = (__mmask16)l;
        mr[c] = (__mmask16)r;
    }
}

/* One vector of outputs at p: taps kw of row kh at row[kh] + p + d_kw,
 * masks ml (kw = 0), mr (kw = 2), row masks r0..r2 and store mask m. */
RT_DW_INLINE __m512 rt_dw_flat_sum(const float *q0, const float *q1, const float *q2,
                                   ptrdiff_t d0, ptrdiff_t d1, ptrdiff_t d2,
                                   const __m512 *w, __m512 acc, __mmask16 a, __mmask16 z,
                                   __mmask16 r0, __mmask16 r1, __mmask16 r2)
{
    acc = _mm512_fmadd_ps(w[0], _mm512_maskz_loadu_ps(r0 & a, q0 + d0), acc);
    acc = _mm512_fmadd_ps(w[1], _mm512_maskz_loadu_ps(r0, q0 + d1), acc);
    acc = _mm512_fmadd_ps(w[2], _mm512_maskz_loadu_ps(r0 & z, q0 + d2), acc);
    acc = _mm512_fmadd_ps(w[3], _mm512_maskz_loadu_ps(r1 & a, q1 + d0), acc);
    acc = _mm512_fmadd_ps(w[4], _mm512_maskz_loadu_ps(r1, q1 + d1), acc);
    acc = _mm512_fmadd_ps(w[5], _mm512_maskz_loadu_ps(r1 & z, q1 + d2), acc);
    acc = _mm512_fmadd_ps(w[6], _mm512_maskz_loadu_ps(r2 & a, q2 + d0), acc);
    acc = _mm512_fmadd_ps(w[7], _mm512_maskz_loadu_ps(r2, q2 + d1), acc);
    acc = _mm512_fmadd_ps(w[8], _mm512_maskz_loadu_ps(r2 & z, q2 + d2), acc);
    return acc;
}

/* y[p] = act(b + sum_t w[t] * tap_t(p) + res[p]) for p in [0, f->n); the
 * column offsets d0..d2 and act, hasres are constants where inlined. */
RT_DW_INLINE void rt_dw_flat_run(const rt_dw_flat_t *f, const __mmask16 *ml,
                                 const __mmask16 *mr, ptrdiff_t d0, ptrdiff_t d1,
                                 ptrdiff_t d2, const float *wk, float b, const float *res,
                                 int hasres, int act, float alpha, float beta, float *y)
{
    const float *q0 = f->row[0], *q1 = f->row[1], *q2 = f->row[2];
    const __m512 vb = _mm512_set1_ps(b);
    const __m512 lo = _mm512_set1_ps(act == RT_ACT_RELU ? 0.0f : alpha);
    const __m512 hi = _mm512_set1_ps(beta);
    const ptrdiff_t n = f->n, ow = f->ow, r16 = 16 % ow;
    /* vectors p in [plo, phi) have every tap inside */
    ptrdiff_t plo = RT_MAX(RT_MAX(f->lo[0], f->lo[1]), RT_MAX(f->lo[2], 0));
    ptrdiff_t phi = RT_MIN(RT_MIN(f->hi[0], f->hi[1]), RT_MIN(f->hi[2], n)) - 15;
    ptrdiff_t p, c = 0;
    __m512 w[9];
    int k;
    for (k = 0; k < 9; k++)
        w[k] = _mm512_set1_ps(wk[k]);
    for (p = 0; p < n; p += 16) {
        __mmask16 a = ml[c], z = mr[c];
        __m512 acc;
        if (p >= plo && p < phi) {
            acc = rt_dw_flat_sum(q0 + p, q1 + p, q2 + p, d0, d1, d2, w, vb, a, z, 0xFFFF,
                                 0xFFFF, 0xFFFF);
            if (hasres)
                acc = _mm512_add_ps(acc, _mm512_loadu_ps(res + p));
            if (act == RT_ACT_RELU || act == RT_ACT_CLIP)
                acc = _mm512_max_ps(acc, lo);
            if (act == RT_ACT_CLIP)
                acc = _mm512_min_ps(acc, hi);
            else if (act == RT_ACT_LEAKY_RELU)
                acc = rt_dw_act(acc, act, alpha, beta);
            _mm512_storeu_ps(y + p, acc);
        } else {
            __mmask16 m = rt_dw_span(0, n - p);
            acc = rt_dw_flat_sum(q0 + p, q1 + p, q2 + p, d0, d1, d2, w, vb, a, z,
                                 rt_dw_span(f->lo[0] - p, f->hi[0] - p),
                                 rt_dw_span(f->lo[1] - p, f->hi[1] - p),
                                 rt_dw_span(f->lo[2] - p, f->hi[2] - p));
            if (hasres)
                acc = _mm512_add_ps(acc, _mm512_maskz_loadu_ps(m, res + p));
            _mm512_mask_storeu_ps(y + p, m, rt_dw_act(acc, act, alpha, beta));
        }
        c += r16;
        if (c >= ow)
            c -= ow;
    }
    rt_dw_late_act(act, alpha, beta, y, n);
}

/* rt_dw_flat_run with constant column offsets, activation and residual. */
#define RT_DW_FLAT_ACTS(D0, D1, D2)                                                     \
    do {                                                                                 \
        if (res) {                                                                       \
            if (act == RT_ACT_NONE)                                                      \
                rt_dw_flat_run(f, ml, mr, D0, D1, D2, wk, b, res, 1, RT_ACT_NONE, alpha, \
                               beta, y);                                                 \
            else if (act == RT_ACT_RELU)                                                 \
                rt_dw_flat_run(f, ml, mr, D0, D1, D2, wk, b, res, 1, RT_ACT_RELU, alpha, \
                               beta, y);                                                 \
            else                                                                         \
                rt_dw_flat_run(f, ml, mr, D0, D1, D2, wk, b, res, 1, act, alpha, beta,   \
                               y);                                                       \
        } else {                                                                         \
            if (act == RT_ACT_CLIP)                                                      \
                rt_dw_flat_run(f, ml, mr, D0, D1, D2, wk, b, NULL, 0, RT_ACT_CLIP,       \
                               alpha, beta, y);                                          \
            else if (act == RT_ACT_RELU)                                                 \
                rt_dw_flat_run(f, ml, mr, D0, D1, D2, wk, b, NULL, 0, RT_ACT_RELU,       \
                               alpha, beta, y);                                          \
            else                                                                         \
                rt_dw_flat_run(f, ml, mr, D0, D1, D2, wk, b, NULL, 0, act, alpha, beta,  \
                               y);                                                       \
        }                                                                                \
    } while (0)

/* kind 0: stride 1 (offsets -1, 0, 1); 1: stride 2, PL 1; 2: stride 2, PL 0 */
RT_INTERNAL void rt_dw_flat(int kind, const rt_dw_flat_t *f, const __mmask16 *ml,
                            const __mmask16 *mr, const float *wk, float b, const float *res,
                            int act, float alpha, float beta, float *y)
{
    if (kind == 0)
        RT_DW_FLAT_ACTS(-1, 0, 1);
    else if (kind == 1)
        RT_DW_FLAT_ACTS(RT_DW_PS - 1, 0, RT_DW_PS);
    else
        RT_DW_FLAT_ACTS(0, RT_DW_PS, 1);
}

/* Phase planes for output rows [o0, o0 + r): plane (py, px) (at buf +
 * (2*py + px) * RT_DW_PS) row i - o0 + 1 holds input row 2i + py, columns
 * 2j + px (j < OW; zeros outside the input), for i in [o0 - 1, o0 + r]. */
RT_INTERNAL void rt_dw_phase_fill(const rt_conv2d_shape *s, const float *xc, ptrdiff_t o0,
                                  ptrdiff_t r, float *buf)
{
    const __m512i ie = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6,
                                        4, 2, 0);
    const __m512i io = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7,
                                        5, 3, 1);
    const ptrdiff_t W = s->W, OW = s->OW;
    ptrdiff_t i, py, k;
    for (py = 0; py < 2; py++) {
        float *pe = buf + 2 * py * RT_DW_PS, *po = pe + RT_DW_PS;
        for (i = o0 - 1; i <= o0 + r; i++) {
            ptrdiff_t ih = 2 * i + py, at = (i - o0 + 1) * OW;
            if (ih < 0 || ih >= s->H) {
                for (k = 0; k < OW; k += 16) {
                    __mmask16 m = rt_dw_span(0, OW - k);
                    _mm512_mask_storeu_ps(pe + at + k, m, _mm512_setzero_ps());
                    _mm512_mask_storeu_ps(po + at + k, m, _mm512_setzero_ps());
                }
                continue;
            }
            for (k = 0; k < OW; k += 16) {
                const float *row = xc + ih * W + 2 * k;
                __m512 v0 = _mm512_maskz_loadu_ps(rt_dw_span(0, W - 2 * k), row);
                __m512 v1 = _mm512_maskz_loadu_ps(rt_dw_span(0, W - 2 * k - 16), row + 16);
                __mmask16 m = rt_dw_span(0, OW - k);
                _mm512_mask_storeu_ps(pe + at + k, m, _mm512_permutex2var_ps(v0, ie, v1));
                _mm512_mask_storeu_ps(po + at + k, m, _mm512_permutex2var_ps(v0, io, v1));
            }
        }
    }
}

/* One channel plane, flat. */
RT_INTERNAL void rt_dw_plane_flat(const rt_conv2d_shape *s, const __mmask16 *ml,
                                  const __mmask16 *mr, const float *xc, const float *wk,
                                  float b, const float *res, int act, float alpha,
                                  float beta, float *yc)
{
    rt_dw_flat_t f;
    ptrdiff_t kh, OW = s->OW;
    f.ow = OW;
    if (s->SW == 1) {
        ptrdiff_t W = s->W, hw = (ptrdiff_t)s->H * W;
        for (kh = 0; kh < 3; kh++) {
            ptrdiff_t d = (kh - s->PT) * W;
            f.lo[kh] = -d;
            f.hi[kh] = hw - d;
            f.row[kh] = xc + d;
        }
        f.n = (ptrdiff_t)s->OH * OW;
        rt_dw_flat(0, &f, ml, mr, wk, b, res, act, alpha, beta, yc);
    } else {
        float buf[4 * RT_DW_PS];
        ptrdiff_t rows = (RT_DW_PS - 32) / OW - 2, o0;
        rows = RT_MIN(rows, (ptrdiff_t)s->OH);
        for (o0 = 0; o0 < s->OH; o0 += rows) {
            ptrdiff_t r = RT_MIN(rows, s->OH - o0);
            rt_dw_phase_fill(s, xc, o0, r, buf);
            for (kh = 0; kh < 3; kh++) {
                ptrdiff_t a = kh - s->PT, py = a & 1, dr = (a - py) / 2;
                f.lo[kh] = -1000000;
                f.hi[kh] = 1000000;
                f.row[kh] = buf + 2 * py * RT_DW_PS + (1 + dr) * OW;
            }
            f.n = r * OW;
            rt_dw_flat(s->PL == 1 ? 1 : 2, &f, ml, mr, wk, b, res ? res + o0 * OW : NULL,
                       act, alpha, beta, yc + o0 * OW);
        }
    }
}
#endif

#if defined(RT_DW_AVX512)
/* ---- AVX-512: 3x3 stride 1 (OW == W, PL == 1), row by row from x ------
 * Loads that cross a cache line cost about twice an aligned one here, so
 * each input row is read once per 16 columns (masked past W) and the
 * column taps kw = 0, 2 are that vector shifted by one lane with valignd,
 * the neighbour vectors carried along the row (zero before column 0). */
/* The three column taps (l, *cur, r) of one input row at columns j ..
 * j + 15; loads the next vector and moves the carried pair along. */
RT_DW_INLINE void rt_dw_taps3(const float *row, ptrdiff_t j, __mmask16 mn, __m512 *prv,
                              __m512 *cur, __m512 *l, __m512 *r)
{
    __m512 nxt = _mm512_maskz_loadu_ps(mn, row + j + 16);
    *l = _mm512_castsi512_ps(
        _mm512_alignr_epi32(_mm512_castps_si512(*cur), _mm512_castps_si512(*prv), 15));
    *r = _mm512_castsi512_ps(
        _mm512_alignr_epi32(_mm512_castps_si512(nxt), _mm512_castps_si512(*cur), 1));
    *prv = *cur;
    *cur = nxt;
}

RT_DW_INLINE __m512 rt_dw_row3(const float *row, ptrdiff_t j, __mmask16 mn, __m512 *prv,
                               __m512 *cur, __m512 w0, __m512 w1, __m512 w2, __m512 acc)
{
    __m512 m = *cur, l, r;
    rt_dw_taps3(row, j, mn, prv, cur, &l, &r);
    acc = _mm512_fmadd_ps(w0, l, acc);
    acc = _mm512_fmadd_ps(w1, m, acc);
    return _mm512_fmadd_ps(w2, r, acc);
}

/* rt_dw_row3 for an input row that two output rows read: kernel row k of
 * the upper one (weights wa: its taps k*3 ..), k - 1 of the lower one
 * (wb); one load and two shifts serve both sums. */
RT_DW_INLINE void rt_dw_row3x2(const float *row, ptrdiff_t j, __mmask16 mn, __m512 *prv,
                               __m512 *cur, const __m512 *wa, const __m512 *wb, __m512 *acca,
                               __m512 *accb)
{
    __m512 m = *cur, l, r;
    rt_dw_taps3(row, j, mn, prv, cur, &l, &r);
    *acca = _mm512_fmadd_ps(wa[2], r, _mm512_fmadd_ps(wa[1], m, _mm512_fmadd_ps(wa[0], l, *acca)));
    *accb = _mm512_fmadd_ps(wb[2], r, _mm512_fmadd_ps(wb[1], m, _mm512_fmadd_ps(wb[0], l, *accb)));
}

/* Row by row where a row fills most of a vector: measured on MobileNetV2
 * (1 thread) against the flat and 16-channel blocked paths: 112x112
 * 110 -> 53 us, 56x56 150 -> 80, 28x28 57 -> 36, 14x14 30 -> 21; 7x7 is
 * faster two rows per vector (rt_dw_plane_s1pair: 18 us vs 26 blocked).
 * Inside the plane two output rows are made per pass (4 input rows loaded
 * and shifted, not 6): in the whole network 56x56 84 -> 69 us, 28x28 35
 * -> 28, 14x14 22 -> 18.5. */
#define RT_DW_ROWS_MINW 12
#define RT_DW_ROWS_MAXJ 64 /* vectors per output row (mask tables) */

RT_INTERNAL int rt_dw_rows_ok(const rt_conv2d_shape *s)
{
    return s->KH == 3 && s->KW == 3 && s->DH == 1 && s->DW == 1 && s->SH == 1 &&
           s->SW == 1 && s->PL == 1 && s->OW == s->W && s->W >= RT_DW_ROWS_MINW &&
           s->OW <= 16 * RT_DW_ROWS_MAXJ;
}

/* act(acc + res) stored under mask m (the activations rt_dw_act does; the
 * others follow in rt_epilogue_block). */
RT_DW_INLINE void rt_dw_put(__m512 acc, const float *rr, int hasres, int act, __m512 lo,
                            __m512 hi, float alpha, float beta, __mmask16 m, float *yr)
{
    if (hasres)
        acc = _mm512_add_ps(acc, _mm512_maskz_loadu_ps(m, rr));
    if (act == RT_ACT_RELU || act == RT_ACT_CLIP)
        acc = _mm512_max_ps(acc, lo);
    if (act == RT_ACT_CLIP)
        acc = _mm512_min_ps(acc, hi);
    else if (act == RT_ACT_LEAKY_RELU)
        acc = rt_dw_act(acc, act, alpha, beta);
    _mm512_mask_storeu_ps(yr, m, acc);
}

RT_DW_INLINE void rt_dw_plane_rows_run(const rt_conv2d_shape *s, const float *xc,
                                       const float *wk, float b, const float *res,
                                       int hasres, int act, float alpha, float beta,
                                       float *yc)
{
    const ptrdiff_t W = s->W, OW = s->OW;
    const __m512 vb = _mm512_set1_ps(b), zero = _mm512_setzero_ps();
    const __m512 lo = _mm512_set1_ps(act == RT_ACT_RELU ? 0.0f : alpha);
    const __m512 hi = _mm512_set1_ps(beta);
    const __mmask16 m0 = rt_dw_span(0, W);
    __mmask16 mn[RT_DW_ROWS_MAXJ], ms[RT_DW_ROWS_MAXJ];
    __m512 w[9];
    ptrdiff_t oh, j;
    int k;
    for (k = 0; k < 9; k++)
        w[k] = _mm512_set1_ps(wk[k]);
    for (j = 0; j < OW; j += 16) {
        mn[j / 16] = rt_dw_span(0, W - j - 16);
        ms[j / 16] = rt_dw_span(0, OW - j);
    }
    for (oh = 0; oh < s->OH; oh++) {
        const float *r0, *r1, *r2;
        __m512 p0 = zero, p1 = zero, p2 = zero, c0 = zero, c1 = zero, c2 = zero;
        ptrdiff_t ih = oh - s->PT;
        float *yr = yc + oh * OW;
        const float *rr = hasres ? res + oh * OW : NULL;
        if (oh + 1 < s->OH && ih >= 0 && ih + 3 < s->H) {
            /* output rows oh and oh + 1 together: their middle input rows
             * are loaded and shifted once for both */
            const float *r3 = xc + (ih + 3) * W;
            __m512 p3 = zero, c3;
            r0 = xc + ih * W;
            r1 = r0 + W;
            r2 = r1 + W;
            rt_dw_prefetch_ahead(r2, 2 * W);
            c0 = _mm512_maskz_loadu_ps(m0, r0);
            c1 = _mm512_maskz_loadu_ps(m0, r1);
            c2 = _mm512_maskz_loadu_ps(m0, r2);
            c3 = _mm512_maskz_loadu_ps(m0, r3);
            for (j = 0; j < OW; j += 16) {
                __mmask16 n = mn[j / 16];
                __m512 a0 = rt_dw_row3(r0, j, n, &p0, &c0, w[0], w[1], w[2], vb), a1 = vb;
                rt_dw_row3x2(r1, j, n, &p1, &c1, w + 3, w, &a0, &a1);
                rt_dw_row3x2(r2, j, n, &p2, &c2, w + 6, w + 3, &a0, &a1);
                a1 = rt_dw_row3(r3, j, n, &p3, &c3, w[6], w[7], w[8], a1);
                rt_dw_put(a0, rr + j, hasres, act, lo, hi, alpha, beta, ms[j / 16], yr + j);
                rt_dw_put(a1, rr + OW + j, hasres, act, lo, hi, alpha, beta, ms[j / 16],
                          yr + OW + j);
            }
            oh++;
            continue;
        }
        r0 = ih >= 0 && ih < s->H ? xc + ih * W : NULL;
        r1 = ih + 1 >= 0 && ih + 1 < s->H ? xc + (ih + 1) * W : NULL;
        r2 = ih + 2 >= 0 && ih + 2 < s->H ? xc + (ih + 2) * W : NULL;
        rt_dw_prefetch_ahead(xc + RT_MAX(ih + 2, 0) * W, W);
        if (r0)
            c0 = _mm512_maskz_loadu_ps(m0, r0);
        if (r1)
            c1 = _mm512_maskz_loadu_ps(m0, r1);
        if (r2)
            c2 = _mm512_maskz_loadu_ps(m0, r2);
        if (r0 && r1 && r2) {
            for (j = 0; j < OW; j += 16) {
                __mmask16 n = mn[j / 16];
                __m512 acc = rt_dw_row3(r0, j, n, &p0, &c0, w[0], w[1], w[2], vb);
                acc = rt_dw_row3(r1, j, n, &p1, &c1, w[3], w[4], w[5], acc);
                acc = rt_dw_row3(r2, j, n, &p2, &c2, w[6], w[7], w[8], acc);
                rt_dw_put(acc, rr + j, hasres, act, lo, hi, alpha, beta, ms[j / 16], yr + j);
            }
            continue;
        }
        for (j = 0; j < OW; j += 16) {
            __mmask16 n = mn[j / 16];
            __m512 acc = vb;
            if (r0)
                acc = rt_dw_row3(r0, j, n, &p0, &c0, w[0], w[1], w[2], acc);
            if (r1)
                acc = rt_dw_row3(r1, j, n, &p1, &c1, w[3], w[4], w[5], acc);
            if (r2)
                acc = rt_dw_row3(r2, j, n, &p2, &c2, w[6], w[7], w[8], acc);
            rt_dw_put(acc, rr + j, hasres, act, lo, hi, alpha, beta, ms[j / 16], yr + j);
        }
    }
    rt_dw_late_act(act, alpha, beta, yc, (ptrdiff_t)s->OH * OW);
}

RT_INTERNAL void rt_dw_plane_rows(const rt_conv2d_shape *s, const float *xc,
                                  const float *wk, float b, const float *res, int act,
                                  float alpha, float beta, float *yc)
{
    if (res)
        rt_dw_plane_rows_run(s, xc, wk, b, res, 1, act, alpha, beta, yc);
    else if (act == RT_ACT_CLIP)
        rt_dw_plane_rows_run(s, xc, wk, b, NULL, 0, RT_ACT_CLIP, alpha, beta, yc);
    else if (act == RT_ACT_RELU)
        rt_dw_plane_rows_run(s, xc, wk, b, NULL, 0, RT_ACT_RELU, alpha, beta, yc);
    else
        rt_dw_plane_rows_run(s, xc, wk, b, NULL, 0, act, alpha, beta, yc);
}
#endif

#if defined(RT_DW_AVX512)
/* ---- AVX-512: 3x3 stride 2 (PL == 1), row by row from x ---------------
 * For 16 outputs ow = j .. j + 15 an input row gives columns 2ow (E),
 * 2ow + 1 (O) and 2ow - 1 (L).  From the vectors a, b at columns 2j and
 * 2j + 16 (masked loads, zero past W) and c, d at 2j - 2 and 2j + 14
 * (valignd of a, b and the previous b: no more loads), in-lane shuffles
 * (vshufps, cheap) give E, O (of a, b) and L (of c, d) all in the same lane
 * order: lane 4q + r holds output j + 2q + (r & 1) + 8 (r >> 1); the sum is
 * formed in that order and put right with one permute before the
 * epilogue.  Two output rows per pass where both have all their input
 * rows: input row 2oh + 1 is the last tap row of oh and the first of
 * oh + 1, its taps formed once.  Measured on MobileNetV2 (1 thread):
 * 112->56 188 -> 78 us, 56->28 83 -> 33, 28->14 35 -> 13 (vs the direct,
 * phase-plane and blocked paths). */
RT_DW_INLINE __m512 rt_dw_s2row(const float *row, ptrdiff_t j2, const __mmask16 *m,
                                __m512 *prv, __m512 w0, __m512 w1, __m512 w2, __m512 acc)
{
    __m512 a = _mm512_maskz_loadu_ps(m[0], row + j2);
    __m512 b = _mm512_maskz_loadu_ps(m[1], row + j2 + 16);
    /* columns 2j - 2 .. 2j + 13 and 2j + 14 .. 2j + 29 */
    __m512 c = _mm512_castsi512_ps(
        _mm512_alignr_epi32(_mm512_castps_si512(a), _mm512_castps_si512(*prv), 14));
    __m512 d = _mm512_castsi512_ps(
        _mm512_alignr_epi32(_mm512_castps_si512(b), _mm512_castps_si512(a), 14));
    *prv = b;
    acc = _mm512_fmadd_ps(w0, _mm512_shuffle_ps(c, d, 0xDD), acc);
    acc = _mm512_fmadd_ps(w1, _mm512_shuffle_ps(a, b, 0x88), acc);
    acc = _mm512_fmadd_ps(w2, _mm512_shuffle_ps(a, b, 0xDD), acc);
    return acc;
}

/* rt_dw_s2row's three column taps of a row (lane order as there). */
RT_DW_INLINE void rt_dw_s2taps(const float *row, ptrdiff_t j2, const __mmask16 *m,
                               __m512 *prv, __m512 *l, __m512 *e, __m512 *o)
{
    __m512 a = _mm512_maskz_loadu_ps(m[0], row + j2);
    __m512 b = _mm512_maskz_loadu_ps(m[1], row + j2 + 16);
    __m512 c = _mm512_castsi512_ps(
        _mm512_alignr_epi32(_mm512_castps_si512(a), _mm512_castps_si512(*prv), 14));
    __m512 d = _mm512_castsi512_ps(
        _mm512_alignr_epi32(_mm512_castps_si512(b), _mm512_castps_si512(a), 14));
    *prv = b;
    *l = _mm512_shuffle_ps(c, d, 0xDD);
    *e = _mm512_shuffle_ps(a, b, 0x88);
    *o = _mm512_shuffle_ps(a, b, 0xDD);
}

RT_INTERNAL int rt_dw_s2rows_ok(const rt_conv2d_shape *s)
{
    return s->KH == 3 && s->KW == 3 && s->DH == 1 && s->DW == 1 && s->SH == 2 &&
           s->SW == 2 && s->PL == 1 && s->OW <= 16 * RT_DW_ROWS_MAXJ;
}

RT_DW_INLINE void rt_dw_plane_s2rows_run(const rt_conv2d_shape *s, const float *xc,
                                         const float *wk, float b, const float *res,
                                         int hasres, int act, float alpha, float beta,
                                         float *yc)
{
    const ptrdiff_t W = s->W, OW = s->OW;
    const __m512i order = _mm512_set_epi32(15, 14, 11, 10, 7, 6, 3, 2, 13, 12, 9, 8, 5, 4,
                                           1, 0);
    const __m512 vb = _mm512_set1_ps(b);
    const __m512 lo = _mm512_set1_ps(act == RT_ACT_RELU ? 0.0f : alpha);
    const __m512 hi = _mm512_set1_ps(beta);
    __mmask16 m[RT_DW_ROWS_MAXJ][3]; /* loads at 2j, 2j + 16; store */
    __m512 w[9];
    ptrdiff_t oh, j;
    int k;
    for (k = 0; k < 9; k++)
        w[k] = _mm512_set1_ps(wk[k]);
    for (j = 0; j < OW; j += 16) {
        __mmask16 *q = m[j / 16];
        q[0] = rt_dw_span(0, W - 2 * j);
        q[1] = rt_dw_span(0, W - 2 * j - 16);
        q[2] = rt_dw_span(0, OW - j);
    }
    for (oh = 0; oh < s->OH; oh++) {
        ptrdiff_t ih = 2 * oh - s->PT;
        const float *r0 = ih >= 0 && ih < s->H ? xc + ih * W : NULL;
        const float *r1 = ih + 1 >= 0 && ih + 1 < s->H ? xc + (ih + 1) * W : NULL;
        const float *r2 = ih + 2 >= 0 && ih + 2 < s->H ? xc + (ih + 2) * W : NULL;
        float *yr = yc + oh * OW;
        const float *rr = hasres ? res + oh * OW : NULL;
        if (oh + 1 < s->OH && ih >= 0 && ih + 4 < s->H) {
            /* output rows oh and oh + 1 together: input row ih + 2 is
             * tap row 2 of the one and tap row 0 of the other */
            const float *r3 = r2 + W, *r4 = r3 + W;
            __m512 q0 = _mm512_setzero_ps(), q1 = q0, q2 = q0, q3 = q0, q4 = q0;
            rt_dw_prefetch_ahead(xc + (ih + 1) * W, 4 * W);
            for (j = 0; j < OW; j += 16) {
                const __mmask16 *q = m[j / 16];
                __m512 l, e, o, a0 = vb, a1 = vb;
                rt_dw_s2taps(r0, 2 * j, q, &q0, &l, &e, &o);
                a0 = _mm512_fmadd_ps(w[0], l, a0);
                a0 = _mm512_fmadd_ps(w[1], e, a0);
                a0 = _mm512_fmadd_ps(w[2], o, a0);
                rt_dw_s2taps(r1, 2 * j, q, &q1, &l, &e, &o);
                a0 = _mm512_fmadd_ps(w[3], l, a0);
                a0 = _mm512_fmadd_ps(w[4], e, a0);
                a0 = _mm512_fmadd_ps(w[5], o, a0);
                rt_dw_s2taps(r2, 2 * j, q, &q2, &l, &e, &o);
                a0 = _mm512_fmadd_ps(w[6], l, a0);
                a0 = _mm512_fmadd_ps(w[7], e, a0);
                a0 = _mm512_fmadd_ps(w[8], o, a0);
                a1 = _mm512_fmadd_ps(w[0], l, a1);
                a1 = _mm512_fmadd_ps(w[1], e, a1);
                a1 = _mm512_fmadd_ps(w[2], o, a1);
                rt_dw_s2taps(r3, 2 * j, q, &q3, &l, &e, &o);
                a1 = _mm512_fmadd_ps(w[3], l, a1);
                a1 = _mm512_fmadd_ps(w[4], e, a1);
                a1 = _mm512_fmadd_ps(w[5], o, a1);
                rt_dw_s2taps(r4, 2 * j, q, &q4, &l, &e, &o);
                a1 = _mm512_fmadd_ps(w[6], l, a1);
                a1 = _mm512_fmadd_ps(w[7], e, a1);
                a1 = _mm512_fmadd_ps(w[8], o, a1);
                rt_dw_put(_mm512_permutexvar_ps(order, a0), rr + j, hasres, act, lo, hi,
                          alpha, beta, q[2], yr + j);
                rt_dw_put(_mm512_permutexvar_ps(order, a1), hasres ? rr + OW + j : NULL,
                          hasres, act, lo, hi, alpha, beta, q[2], yr + OW + j);
            }
            oh++;
            continue;
        }
        __m512 p0 = _mm512_setzero_ps(), p1 = p0, p2 = p0;
        rt_dw_prefetch_ahead(xc + RT_MAX(ih + 1, 0) * W, 2 * W);
        if (r0 && r1 && r2) {
            for (j = 0; j < OW; j += 16) {
                const __mmask16 *q = m[j / 16];
                __m512 acc = rt_dw_s2row(r0, 2 * j, q, &p0, w[0], w[1], w[2], vb);
                acc = rt_dw_s2row(r1, 2 * j, q, &p1, w[3], w[4], w[5], acc);
                acc = rt_dw_s2row(r2, 2 * j, q, &p2, w[6], w[7], w[8], acc);
                rt_dw_put(_mm512_permutexvar_ps(order, acc), rr + j, hasres, act, lo, hi,
                          alpha, beta, q[2], yr + j);
            }
            continue;
        }
        for (j = 0; j < OW; j += 16) {
            const __mmask16 *q = m[j / 16];
            __m512 acc = vb;
            if (r0)
                acc = rt_dw_s2row(r0, 2 * j, q, &p0, w[0], w[1], w[2], acc);
            if (r1)
                acc = rt_dw_s2row(r1, 2 * j, q, &p1, w[3], w[4], w[5], acc);
            if (r2)
                acc = rt_dw_s2row(r2, 2 * j, q, &p2, w[6], w[7], w[8], acc);
            rt_dw_put(_mm512_permutexvar_ps(order, acc), rr + j, hasres, act, lo, hi, alpha,
                      beta, q[2], yr + j);
        }
    }
    rt_dw_late_act(act, alpha, beta, yc, (ptrdiff_t)s->OH * OW);
}

#endif

#if defined(RT_DW_AVX512)
/* ---- AVX-512: 3x3 stride 2, left padding 1, rows <= 16 wide, OW <= 8 ---
 * Two output rows per vector (14x14 -> 7x7): the input row of output row
 * oh goes where rt_dw_s2row puts columns 2j .. 2j + 15 and that of oh + 1
 * where it puts the next 16 columns, so the same shuffles give row oh's
 * outputs in the lanes that held ow < 8 and row oh + 1's in the others;
 * one permute (built for OW) packs both rows next to each other as they
 * lie in y. */
RT_INTERNAL int rt_dw_s2pair_ok(const rt_conv2d_shape *s)
{
    return rt_dw_s2rows_ok(s) && s->W <= 16 && s->OW <= 8;
}

RT_DW_INLINE __m512 rt_dw_s2pair_row(const float *ra, const float *rb, __mmask16 m,
                                     __m512 w0, __m512 w1, __m512 w2, __m512 acc)
{
    const __m512i zero = _mm512_setzero_si512();
    __m512 a = ra ? _mm512_maskz_loadu_ps(m, ra) : _mm512_setzero_ps();
    __m512 b = rb ? _mm512_maskz_loadu_ps(m, rb) : _mm512_setzero_ps();
    __m512 c = _mm512_castsi512_ps(_mm512_alignr_epi32(_mm512_castps_si512(a), zero, 14));
    __m512 d = _mm512_castsi512_ps(_mm512_alignr_epi32(_mm512_castps_si512(b), zero, 14));
    acc = _mm512_fmadd_ps(w0, _mm512_shuffle_ps(c, d, 0xDD), acc);
    acc = _mm512_fmadd_ps(w1, _mm512_shuffle_ps(a, b, 0x88), acc);
    acc = _mm512_fmadd_ps(w2, _mm512_shuffle_ps(a, b, 0xDD), acc);
    return acc;
}

RT_DW_INLINE void rt_dw_plane_s2pair_run(const rt_conv2d_shape *s, const float *xc,
                                         const float *wk, float b, const float *res,
                                         int hasres, int act, float alpha, float beta,
                                         float *yc)
{
    const ptrdiff_t W = s->W, OW = s->OW, H = s->H;
    const __m512 vb = _mm512_set1_ps(b);
    const __m512 lo = _mm512_set1_ps(act == RT_ACT_RELU ? 0.0f : alpha);
    const __m512 hi = _mm512_set1_ps(beta);
    const __mmask16 m = rt_dw_span(0, W);
    /* output lane k: row oh column k (k < OW), row oh + 1 column k - OW;
     * column ow of row r came out in lane 4*(ow >> 1) + 2r + (ow & 1) */
    const __m512i lane = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
    const __m512i vow = _mm512_set1_epi32((int)OW), one = _mm512_set1_epi32(1);
    const __mmask16 second = _mm512_cmpge_epi32_mask(lane, vow);
    const __m512i col = _mm512_min_epi32(_mm512_mask_sub_epi32(lane, second, lane, vow),
                                         _mm512_set1_epi32(7));
    const __m512i order = _mm512_add_epi32(
        _mm512_add_epi32(_mm512_slli_epi32(_mm512_srli_epi32(col, 1), 2),
                         _mm512_and_si512(col, one)),
        _mm512_maskz_mov_epi32(second, _mm512_set1_epi32(2)));
    __m512 w[9];
    ptrdiff_t oh, k;
    for (k = 0; k < 9; k++)
        w[k] = _mm512_set1_ps(wk[k]);
    for (oh = 0; oh < s->OH; oh += 2) {
        const float *ra[3], *rb[3];
        ptrdiff_t at = oh * OW;
        __mmask16 ms = rt_dw_span(0, RT_MIN(2, s->OH - oh) * OW);
        __m512 acc;
        rt_dw_prefetch_ahead(xc + RT_MAX(2 * oh - s->PT, 0) * W, 4 * W);
        for (k = 0; k < 3; k++) {
            ptrdiff_t ia = 2 * oh - s->PT + k, ib = ia + 2;
            ra[k] = ia >= 0 && ia < H ? xc + ia * W : NULL;
            rb[k] = ib >= 0 && ib < H && oh + 1 < s->OH ? xc + ib * W : NULL;
        }
        acc = rt_dw_s2pair_row(ra[0], rb[0], m, w[0], w[1], w[2], vb);
        acc = rt_dw_s2pair_row(ra[1], rb[1], m, w[3], w[4], w[5], acc);
        acc = rt_dw_s2pair_row(ra[2], rb[2], m, w[6], w[7], w[8], acc);
        rt_dw_put(_mm512_permutexvar_ps(order, acc), hasres ? res + at : NULL, hasres, act,
                  lo, hi, alpha, beta, ms, yc + at);
    }
    rt_dw_late_act(act, alpha, beta, yc, (ptrdiff_t)s->OH * OW);
}

RT_INTERNAL void rt_dw_plane_s2rows(const rt_conv2d_shape *s, const float *xc,
                                    const float *wk, float b, const float *res, int act,
                                    float alpha, float beta, float *yc)
{
    if (rt_dw_s2pair_ok(s)) {
        if (res)
            rt_dw_plane_s2pair_run(s, xc, wk, b, res, 1, act, alpha, beta, yc);
        else if (act == RT_ACT_CLIP)
            rt_dw_plane_s2pair_run(s, xc, wk, b, NULL, 0, RT_ACT_CLIP, alpha, beta, yc);
        else
            rt_dw_plane_s2pair_run(s, xc, wk, b, NULL, 0, act, alpha, beta, yc);
        return;
    }
    if (res)
        rt_dw_plane_s2rows_run(s, xc, wk, b, res, 1, act, alpha, beta, yc);
    else if (act == RT_ACT_CLIP)
        rt_dw_plane_s2rows_run(s, xc, wk, b, NULL, 0, RT_ACT_CLIP, alpha, beta, yc);
    else if (act == RT_ACT_RELU)
        rt_dw_plane_s2rows_run(s, xc, wk, b, NULL, 0, RT_ACT_RELU, alpha, beta, yc);
    else
        rt_dw_plane_s2rows_run(s, xc, wk, b, NULL, 0, act, alpha, beta, yc);
}
#endif

#if defined(RT_DW_AVX512)
/* ---- AVX-512: 3x3 stride 1 (OW == W, PL == 1), rows <= 8 wide ---------
 * Two output rows per vector (7x7): input rows r and r + 1 lie next to
 * each other in x, so one masked load of 2W floats (zeros for rows outside
 * the plane) serves both output rows of a row offset kh; the column taps
 * are that vector shifted by one lane either way (valignd), lane W masked
 * off where it would carry row r's last column into row r + 1's first (and
 * lane W - 1 the other way).  The sum is already laid out as y. */
RT_INTERNAL int rt_dw_s1pair_ok(const rt_conv2d_shape *s)
{
    return s->KH == 3 && s->KW == 3 && s->DH == 1 && s->DW == 1 && s->SH == 1 &&
           s->SW == 1 && s->PL == 1 && s->OW == s->W && s->W <= 8;
}

RT_DW_INLINE void rt_dw_plane_s1pair_run(const rt_conv2d_shape *s, const float *xc,
                                         const float *wk, float b, const float *res,
                                         int hasres, int act, float alpha, float beta,
                                         float *yc)
{
    const ptrdiff_t W = s->W, hw = (ptrdiff_t)s->H * W, n = (ptrdiff_t)s->OH * W;
    const __m512i zero = _mm512_setzero_si512();
    const __m512 vb = _mm512_set1_ps(b);
    const __m512 lo = _mm512_set1_ps(act == RT_ACT_RELU ? 0.0f : alpha);
    const __m512 hi = _mm512_set1_ps(beta);
    /* lanes of the left / right taps that stay in their row */
    const __mmask16 ml = (__mmask16)~(1u << W), mr = (__mmask16)~(1u << (W - 1));
    __m512 w[9];
    ptrdiff_t p;
    int k;
    for (k = 0; k < 9; k++)
        w[k] = _mm512_set1_ps(wk[k]);
    const __mmask16 m2 = rt_dw_span(0, 2 * W);
    for (p = 0; p < n; p += 2 * W) {
        __mmask16 ms = p + 2 * W <= n ? m2 : rt_dw_span(0, n - p);
        __m512 acc = vb;
        for (k = 0; k < 3; k++) {
            ptrdiff_t off = p + (k - s->PT) * W;
            __mmask16 lm = off >= 0 && off + 2 * W <= hw
                               ? m2
                               : rt_dw_span(-off, RT_MIN(hw - off, 2 * W));
            __m512i v = _mm512_castps_si512(_mm512_maskz_loadu_ps(lm, xc + off));
            acc = _mm512_mask3_fmadd_ps(w[3 * k],
                                        _mm512_castsi512_ps(_mm512_alignr_epi32(v, zero, 15)),
                                        acc, ml);
            acc = _mm512_fmadd_ps(w[3 * k + 1], _mm512_castsi512_ps(v), acc);
            acc = _mm512_mask3_fmadd_ps(w[3 * k + 2],
                                        _mm512_castsi512_ps(_mm512_alignr_epi32(zero, v, 1)),
                                        acc, mr);
        }
        rt_dw_put(acc, hasres ? res + p : NULL, hasres, act, lo, hi, alpha, beta, ms, yc + p);
    }
    rt_dw_late_act(act, alpha, beta, yc, n);
}

RT_INTERNAL void rt_dw_plane_s1pair(const rt_conv2d_shape *s, const float *xc,
                                    const float *wk, float b, const float *res, int act,
                                    float alpha, float beta, float *yc)
{
    if (res)
        rt_dw_plane_s1pair_run(s, xc, wk, b, res, 1, act, alpha, beta, yc);
    else if (act == RT_ACT_CLIP)
        rt_dw_plane_s1pair_run(s, xc, wk, b, NULL, 0, RT_ACT_CLIP, alpha, beta, yc);
    else
        rt_dw_plane_s1pair_run(s, xc, wk, b, NULL, 0, act, alpha, beta, yc);
}
#endif

/* ---- channel-blocked path: 16 channels per vector ---------------------- *
 * For small planes (the per-channel paths pay a fixed cost per channel and
 * waste lanes on rows of 7 or 14), 16 channels at a time: their planes are
 * transposed into a zero-padded buffer B[row][col][16] (16x16 in-register
 * transposes over runs of 16 input pixels), each output pixel is 9 vector
 * multiply-adds with the taps' weight vectors, and runs of 16 output pixels
 * are transposed back, so that each channel's 16 pixels are stored (with
 * the residual and activation) as one vector.  B lives in scratch, one per
 * thread (up to RT_DW_MAXT).  The layout of scratch does not depend on the
 * target; only AVX-512 builds use it. */
#define RT_DW_MAXT 4
/* Buffer rows (O - 1)*S + 3 floats wide, up to this: measured on
 * MobileNetV2, 7x7 2x and 14x14 1.1-1.2x faster blocked, 28x28 and the
 * stride-2 layers reading 28 or 56 columns slower. */
#define RT_DW_CB_MAXW 16
/* Other kernels (5x5, 7x7, dilated, any stride), which the per-channel
 * paths serve less well: rows up to this wide (EfficientNet-B0's 5x5
 * layers from 56x56 stride 2 down to 7x7) and up to RT_DW_CB_TAPS taps. */
#define RT_DW_CB_MAXW_K 64
#define RT_DW_CB_TAPS 49

/* Buffer rows and columns: (O - 1) * S + (K - 1) * D + 1. */
RT_INTERNAL ptrdiff_t rt_dw_blocked_hp(const rt_conv2d_shape *s)
{
    return (ptrdiff_t)(s->OH - 1) * s->SH + (ptrdiff_t)(s->KH - 1) * s->DH + 1;
}

RT_INTERNAL ptrdiff_t rt_dw_blocked_wp(const rt_conv2d_shape *s)
{
    return (ptrdiff_t)(s->OW - 1) * s->SW + (ptrdiff_t)(s->KW - 1) * s->DW + 1;
}

RT_INTERNAL int rt_dw_blocked(const rt_conv2d_shape *s)
{
    if (s->C < 16)
        return 0;
    if (s->KH == 3 && s->KW == 3 && s->DH == 1 && s->DW == 1)
        return s->SH == s->SW && (s->SW == 1 || s->SW == 2) &&
               rt_dw_blocked_wp(s) <= RT_DW_CB_MAXW;
    return s->KH * s->KW <= RT_DW_CB_TAPS && rt_dw_blocked_wp(s) <= RT_DW_CB_MAXW_K;
}

RT_INTERNAL size_t rt_dw_blocked_floats(const rt_conv2d_shape *s)
{
    return (size_t)rt_dw_blocked_hp(s) * (size_t)rt_dw_blocked_wp(s) * 16 + 16;
}

RT_API size_t rt_conv2d_dw_scratch(const rt_conv2d_shape *s)
{
    if (s->N <= 0 || s->C <= 0 || s->OH <= 0 || s->OW <= 0 || !rt_dw_blocked(s))
        return 0;
    return RT_DW_MAXT * rt_dw_blocked_floats(s);
}

#if defined(RT_DW_AVX512)
/* Channels [c0, c0 + nc) (nc <= 16) of image plane block x (channel
 * stride hw), through buffer b. */
RT_INTERNAL void rt_dw_blocked_run(const rt_conv2d_shape *s, const float *x,
                                   const float *w, const float *bias,
                                   const float *res, int act, float alpha,
                                   float beta, float *y, ptrdiff_t nc, float *b)
{
    const ptrdiff_t hw = (ptrdiff_t)s->H * s->W, ohw = (ptrdiff_t)s->OH * s->OW;
    const ptrdiff_t hp = rt_dw_blocked_hp(s), wp = rt_dw_blocked_wp(s);
    const int kk = s->KH * s->KW, k3 = kk == 9 && s->DW == 1 && s->DH == 1;
    const __mmask16 cm = rt_dw_mask(nc);
    __m512 wv[9], vb, r[16];
    float wt[RT_DW_CB_TAPS * 16];   /* other kernels: tap t's weights at wt[16 t] */
    ptrdiff_t toff[RT_DW_CB_TAPS];  /* and its offset in the buffer */
    ptrdiff_t i, k, p, q, row;
    int t;
    /* weights and bias, lane = channel */
    for (t = 0; t < kk; t++) {
        for (k = 0; k < 16; k++)
            wt[t * 16 + k] = k < nc ? w[k * kk + t] : 0.0f;
        toff[t] = ((t / s->KW) * s->DH * wp + (t % s->KW) * s->DW) * 16;
        if (k3)
            wv[t] = _mm512_loadu_ps(wt + t * 16);
    }
    vb = bias ? _mm512_maskz_loadu_ps(cm, bias) : _mm512_setzero_ps();
    /* zero padding: rows outside the input, and the columns left/right */
    for (row = 0; row < hp; row++) {
        ptrdiff_t ih = row - s->PT;
        float *br = b + row * wp * 16;
        if (ih < 0 || ih >= s->H) {
            for (q = 0; q < wp; q++)
                _mm512_storeu_ps(br + q * 16, _mm512_setzero_ps());
            continue;
        }
        for (q = 0; q < RT_MIN((ptrdiff_t)s->PL, wp); q++)
            _mm512_storeu_ps(br + q * 16, _mm512_setzero_ps());
        for (q = RT_MAX((ptrdiff_t)s->PL + s->W, 0); q < wp; q++)
            _mm512_storeu_ps(br + q * 16, _mm512_setzero_ps());
    }
    /* the input, 16 pixels (flattened) at a time */
    for (p = 0; p < hw; p += 16) {
        __mmask16 pm = rt_dw_mask(hw - p);
        ptrdiff_t ih = p / s->W, iw = p % s->W;
        for (k = 0; k < 16; k++)
            r[k] = k < nc ? _mm512_maskz_loadu_ps(pm, x + k * hw + p) : _mm512_setzero_ps();
        rt_tr16x16(r); /* r[j]: pixel p + j, lane = channel */
        for (i = 0; i < 16 && p + i < hw; i++) {
            ptrdiff_t br = ih + s->PT, bq = iw + s->PL;
            if (br < hp && bq < wp)
                _mm512_storeu_ps(b + (br * wp + bq) * 16, r[i]);
            if (++iw == s->W) {
                iw = 0;
                ih++;
            }
        }
    }
    /* the output, 16 pixels (flattened) at a time */
    for (p = 0; p < ohw; p += 16) {
        __mmask16 pm = rt_dw_mask(ohw - p);
        ptrdiff_t oh = p / s->OW, ow = p % s->OW;
        if (!k3) {
            /* four pixels at a time: each weight vector loaded once for
             * four independent sums (one sum's chain of dependent FMAs
             * left a 7x7 layer latency-bound) */
            for (i = 0; i < 16; i += 4) {
                const float *bp[4];
                __m512 a0 = vb, a1 = vb, a2 = vb, a3 = vb;
                int j;
                for (j = 0; j < 4; j++) {
                    /* pixels past the plane read pixel p's window: in the buffer */
                    bp[j] = b + (oh * s->SH * wp + ow * s->SW) * 16;
                    if (p + i + j < ohw && ++ow == s->OW) {
                        ow = 0;
                        oh = RT_MIN(oh + 1, (ptrdiff_t)s->OH - 1);
                    }
                }
                for (t = 0; t < kk; t++) {
                    __m512 wt_ = _mm512_loadu_ps(wt + t * 16);
                    a0 = _mm512_fmadd_ps(wt_, _mm512_loadu_ps(bp[0] + toff[t]), a0);
                    a1 = _mm512_fmadd_ps(wt_, _mm512_loadu_ps(bp[1] + toff[t]), a1);
                    a2 = _mm512_fmadd_ps(wt_, _mm512_loadu_ps(bp[2] + toff[t]), a2);
                    a3 = _mm512_fmadd_ps(wt_, _mm512_loadu_ps(bp[3] + toff[t]), a3);
                }
                r[i] = a0;
                r[i + 1] = a1;
                r[i + 2] = a2;
                r[i + 3] = a3;
            }
        }
        for (i = 0; i < 16 && k3; i++) {
            __m512 acc = vb;
            if (p + i < ohw) {
                const float *bp = b + (oh * s->SH * wp + ow * s->SW) * 16;
                acc = _mm512_fmadd_ps(wv[0], _mm512_loadu_ps(bp), acc);
                acc = _mm512_fmadd_ps(wv[1], _mm512_loadu_ps(bp + 16), acc);
                acc = _mm512_fmadd_ps(wv[2], _mm512_loadu_ps(bp + 32), acc);
                bp += wp * 16;
                acc = _mm512_fmadd_ps(wv[3], _mm512_loadu_ps(bp), acc);
                acc = _mm512_fmadd_ps(wv[4], _mm512_loadu_ps(bp + 16), acc);
                acc = _mm512_fmadd_ps(wv[5], _mm512_loadu_ps(bp + 32), acc);
                bp += wp * 16;
                acc = _mm512_fmadd_ps(wv[6], _mm512_loadu_ps(bp), acc);
                acc = _mm512_fmadd_ps(wv[7], _mm512_loadu_ps(bp + 16), acc);
                acc = _mm512_fmadd_ps(wv[8], _mm512_loadu_ps(bp + 32), acc);
                if (++ow == s->OW) {
                    ow = 0;
                    oh++;
                }
            }
            r[i] = acc;
        }
        rt_tr16x16(r); /* r[k]: channel k, lanes = pixels p .. p+15 */
        for (k = 0; k < nc; k++) {
            __m512 v = r[k];
            if (res)
                v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(pm, res + k * ohw + p));
            _mm512_mask_storeu_ps(y + k * ohw + p, pm, rt_dw_act(v, act, alpha, beta));
        }
    }
    rt_dw_late_act(act, alpha, beta, y, nc * ohw);
}
#endif

#if defined(RT_DW_AVX512)
/* A 3x3 plane kernel of the AVX-512 row paths. */
typedef void (*rt_dw_plane_fn)(const rt_conv2d_shape *s, const float *xc, const float *wk,
                               float b, const float *res, int act, float alpha, float beta,
                               float *yc);

/* fn on every (image, channel) plane, planes split across threads. */
RT_INTERNAL void rt_dw_each_plane(rt_dw_plane_fn fn, const rt_conv2d_shape *s,
                                  const float *x, const float *w, const float *bias,
                                  const float *residual, int act, float alpha, float beta,
                                  float *y, int par)
{
    ptrdiff_t hw = (ptrdiff_t)s->H * s->W, ohw = (ptrdiff_t)s->OH * s->OW;
    ptrdiff_t planes = (ptrdiff_t)s->N * s->C, pc;
    (void)par;
#ifdef _OPENMP
    _Pragma("omp parallel for schedule(static) if(par)")
#endif
    for (pc = 0; pc < planes; pc++) {
        ptrdiff_t c = pc % s->C;
        fn(s, x + pc * hw, w + c * 9, bias ? bias[c] : 0.0f,
           residual ? residual + pc * ohw : NULL, act, alpha, beta, y + pc * ohw);
    }
}

#endif

RT_API void rt_conv2d_dw(const rt_conv2d_shape *s, const float *x,
                         const float *w, const float *bias,
                         const float *residual, int act, float alpha,
                         float beta, float *y, float *scratch)
{
    ptrdiff_t hw = (ptrdiff_t)s->H * s->W;
    ptrdiff_t ohw = (ptrdiff_t)s->OH * s->OW;
    ptrdiff_t planes = (ptrdiff_t)s->N * s->C;
    ptrdiff_t kk = (ptrdiff_t)s->KH * s->KW;
    ptrdiff_t pc;
    int par = planes * ohw * kk >= RT_DW_PAR_MIN;
    int fast = rt_dw_fast(s), win = !fast && rt_dw_win_ok(s);
    rt_dw_geom geom;
    if (s->N <= 0 || s->C <= 0 || s->OH <= 0 || s->OW <= 0)
        return;
    (void)par;
    (void)scratch;
#if defined(RT_DW_AVX512)
    if (rt_dw_rows_ok(s)) {
        rt_dw_each_plane(rt_dw_plane_rows, s, x, w, bias, residual, act, alpha, beta, y, par);
        return;
    }
    if (rt_dw_s1pair_ok(s)) {
        rt_dw_each_plane(rt_dw_plane_s1pair, s, x, w, bias, residual, act, alpha, beta, y, par);
        return;
    }
    if (rt_dw_s2rows_ok(s)) {
        rt_dw_each_plane(rt_dw_plane_s2rows, s, x, w, bias, residual, act, alpha, beta, y, par);
        return;
    }
    if (!rt_dw_blocked(s) && rt_dw_flat_ok(s) && (s->SW == 1 || s->OW <= RT_DW_FLAT_S2_MAXOW)) {
        __mmask16 ml[RT_DW_FLAT_MAXOW], mr[RT_DW_FLAT_MAXOW];
        rt_dw_col_masks(s->OW, s->PL == 1, s->SW == 1 || s->PL == 0, ml, mr);
#  ifdef _OPENMP
        _Pragma("omp parallel for schedule(static) if(par)")
#  endif
        for (pc = 0; pc < planes; pc++) {
            ptrdiff_t c = pc % s->C;
            rt_dw_plane_flat(s, ml, mr, x + pc * hw, w + c * 9, bias ? bias[c] : 0.0f,
                             residual ? residual + pc * ohw : NULL, act, alpha, beta,
                             y + pc * ohw);
        }
        return;
    }
    if (rt_dw_blocked(s)) {
        ptrdiff_t ngrp = (s->C + 15) / 16, total = s->N * ngrp, gi;
        size_t bf = rt_dw_blocked_floats(s);
        int nth = 1;
        par = par && total > 1;
#  ifdef _OPENMP
        nth = RT_MIN(omp_get_max_threads(), RT_DW_MAXT); /* one buffer each */
        _Pragma("omp parallel for schedule(static) num_threads(nth) if(par)")
#  endif
        for (gi = 0; gi < total; gi++) {
            ptrdiff_t n = gi / ngrp, c0 = gi % ngrp * 16, tid = 0;
            float *b;
            (void)nth;
#  ifdef _OPENMP
            tid = omp_get_thread_num();
#  endif
            b = (float *)(void *)(((uintptr_t)(scratch + (size_t)tid * bf) + 63) / 64 * 64);
            rt_dw_blocked_run(s, x + (n * s->C + c0) * hw, w + c0 * s->KH * s->KW, bias ? bias + c0 : NULL,
                              residual ? residual + (n * s->C + c0) * ohw : NULL, act,
                              alpha, beta, y + (n * s->C + c0) * ohw,
                              RT_MIN(16, s->C - c0), b);
        }
        return;
    }
#endif
    rt_dw_geometry(s, &geom);
#ifdef _OPENMP
    _Pragma("omp parallel for schedule(static) if(par)")
#endif
    for (pc = 0; pc < planes; pc++) {
        ptrdiff_t c = pc % s->C, oh;
        const float *xc = x + pc * hw;
        const float *wk = w + c * s->KH * s->KW;
        float *yc = y + pc * ohw;
        const float b = bias ? bias[c] : 0.0f;
        const float *res = residual ? residual + pc * ohw : NULL;
        if (fast) {
            rt_dw_plane3(s, &geom, xc, wk, b, res, act, alpha, beta, yc);
            continue;
        }
        if (win) {
            rt_dw_plane_win(s, xc, wk, b, res, act, alpha, beta, yc);
            continue;
        }
        for (oh = 0; oh < s->OH; oh++) {
            /* through a row buffer: y may be the residual */
            float row[RT_DW_OUT];
            ptrdiff_t c0;
            for (c0 = 0; c0 < s->OW; c0 += RT_DW_OUT) {
                ptrdiff_t c1 = RT_MIN(c0 + RT_DW_OUT, (ptrdiff_t)s->OW);
                ptrdiff_t at = oh * s->OW + c0;
                rt_dw_row_generic(s, xc, wk, b, oh, c0, c1, row);
                rt_dw_store(row, res ? res + at : NULL, c1 - c0, act, alpha, beta,
                            yc + at);
            }
        }
    }
}
