/* rt-deps: gemm */
/* conv.c - 2-D convolution, NCHW, float32 (1-D as H = 1).
 *
 * Three paths, chosen from the shape alone (rt_conv_path), so that the
 * scratch size and the run agree:
 *   - one input channel per group (depthwise, group == C, any multiple M of
 *     C; also C == 1): a direct loop, per output row a sum of shifted,
 *     scaled input rows; no scratch;
 *   - 1x1, stride 1, no padding: y[n, g] = w[g] * x[n, g], a GEMM straight
 *     on the input, no copy;
 *   - anything else: im2col + GEMM, over tiles of output pixels, so the
 *     column buffer stays within RT_CONV_COL_BUDGET floats (or one minimal
 *     tile of RT_CONV_TILE_MIN pixels when the kernel is huge).
 * Every output is bias (or 0) plus the sum over (c, kh, kw); the paths sum
 * in that order too, up to the GEMM's K blocking.
 */
#ifndef RT_EMBED
#include "rt.h"
#endif

#define RT_CONV_COL_BUDGET (128 * 1024) /* floats of im2col tile, ~512 KB */
#define RT_CONV_TILE_MIN 64             /* output pixels per tile, at least */

enum { RT_CONV_DIRECT, RT_CONV_1X1, RT_CONV_IM2COL };

RT_INTERNAL int rt_conv_path(const rt_conv2d_shape *s)
{
    if (s->C == s->group)
        return RT_CONV_DIRECT;
    if (s->KH == 1 && s->KW == 1 && s->SH == 1 && s->SW == 1 && s->PT == 0 &&
        s->PL == 0 && s->OH == s->H && s->OW == s->W)
        return RT_CONV_1X1;
    return RT_CONV_IM2COL;
}

/* Output pixels per im2col tile: as many as fit the budget, a multiple of
 * RT_CONV_TILE_MIN, at least RT_CONV_TILE_MIN, at most OH*OW. */
RT_INTERNAL ptrdiff_t rt_conv_tile(const rt_conv2d_shape *s)
{
    ptrdiff_t kdim = (ptrdiff_t)(s->C / s->group) * s->KH * s->KW;
    ptrdiff_t pix = (ptrdiff_t)s->OH * s->OW;
    ptrdiff_t t = RT_CONV_COL_BUDGET / (kdim > 0 ? kdim : 1);
    t = t / RT_CONV_TILE_MIN * RT_CONV_TILE_MIN;
    t = RT_MAX(t, RT_CONV_TILE_MIN);
    return RT_MIN(t, pix);
}

RT_API size_t rt_conv2d_scratch(const rt_conv2d_shape *s)
{
    ptrdiff_t mg, kdim, t;
    if (s->N <= 0 || s->M <= 0 || s->OH <= 0 || s->OW <= 0)
        return 0;
    mg = s->M / s->group;
    switch (rt_conv_path(s)) {
    case RT_CONV_DIRECT:
        return 0;
    case RT_CONV_1X1:
        return rt_sgemm_scratch(mg, (ptrdiff_t)s->H * s->W, s->C / s->group);
    default:
        kdim = (ptrdiff_t)(s->C / s->group) * s->KH * s->KW;
        t = rt_conv_tile(s);
        return (size_t)(kdim * t) + rt_sgemm_scratch(mg, t, kdim);
    }
}

/* Output columns [*lo, *hi) whose input column o*S + off lies in [0, W);
 * *lo == *hi when there is none.  Same for rows. */
RT_INTERNAL void rt_conv_range(ptrdiff_t off, ptrdiff_t S, ptrdiff_t W,
                               ptrdiff_t O, ptrdiff_t *lo, ptrdiff_t *hi)
{
    ptrdiff_t l, h;
    if (S == 1) { /* the common case, without the divisions */
        l = off >= 0 ? 0 : -off;
        h = W - off < 0 ? 0 : W - off;
    } else {
        l = off >= 0 ? 0 : (-off + S - 1) / S;
        h = W - 1 - off < 0 ? 0 : (W - 1 - off) / S + 1;
    }
    l = RT_MIN(l, O);
    h = RT_MIN(h, O);
    *lo = l;
    *hi = RT_MAX(h, l);
}

/* y[row] of one output channel; the caller has set it to the bias. */
RT_INTERNAL void rt_conv_direct_row(const rt_conv2d_shape *s,
                                    const float *restrict xc,
                                    const float *restrict wk, ptrdiff_t oh,
                                    float *restrict yrow)
{
    ptrdiff_t kh, kw, ow;
    for (kh = 0; kh < s->KH; kh++) {
        ptrdiff_t ih = oh * s->SH - s->PT + kh * s->DH;
        const float *xrow;
        if (ih < 0 || ih >= s->H)
            continue;
        xrow = xc + ih * s->W;
        for (kw = 0; kw < s->KW; kw++) {
            const float wv = wk[kh * s->KW + kw];
            ptrdiff_t off = kw * s->DW - s->PL, lo, hi;
            rt_conv_range(off, s->SW, s->W, s->OW, &lo, &hi);
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

/* One input channel per group: output channel m reads input channel
 * m / (M / C). */
RT_INTERNAL void rt_conv_direct(const rt_conv2d_shape *s, const float *x,
                                const float *w, const float *bias, float *y)
{
    ptrdiff_t mult = s->M / s->C;
    ptrdiff_t hw = (ptrdiff_t)s->H * s->W;
    ptrdiff_t ohw = (ptrdiff_t)s->OH * s->OW;
    ptrdiff_t n, m, oh, ow;
    for (n = 0; n < s->N; n++) {
        for (m = 0; m < s->M; m++) {
            const float *xc = x + (n * s->C + m / mult) * hw;
            const float *wk = w + m * s->KH * s->KW;
            float *yc = y + (n * s->M + m) * ohw;
            const float b = bias ? bias[m] : 0.0f;
            for (oh = 0; oh < s->OH; oh++) {
                float *yrow = yc + oh * s->OW;
                for (ow = 0; ow < s->OW; ow++)
                    yrow[ow] = b;
                rt_conv_direct_row(s, xc, wk, oh, yrow);
            }
        }
    }
}

/* rows x cols block with row stride ld, each row set to its bias (or 0). */
RT_INTERNAL void rt_conv_fill_bias(float *y, ptrdiff_t rows, ptrdiff_t cols,
                                   ptrdiff_t ld, const float *bias)
{
    ptrdiff_t r, c;
    for (r = 0; r < rows; r++) {
        const float b = bias[r];
        float *d = y + r * ld;
        for (c = 0; c < cols; c++)
            d[c] = b;
    }
}

/* col[kdim x t] (row stride t) for output pixels [p0, p0 + t) of the group
 * whose first input channel is xg: row (c*KH + kh)*KW + kw, column p - p0
 * holds x[c, oh*SH - PT + kh*DH, ow*SW - PL + kw*DW] (0 outside), with
 * p = oh*OW + ow.  The row order matches the weights' [C/g, KH, KW]. */
RT_INTERNAL void rt_conv_im2col(const rt_conv2d_shape *s, const float *xg,
                                ptrdiff_t p0, ptrdiff_t t, float *col)
{
    ptrdiff_t cg = s->C / s->group;
    ptrdiff_t hw = (ptrdiff_t)s->H * s->W;
    ptrdiff_t c, kh, kw, i;
    float *dst = col;
    for (c = 0; c < cg; c++) {
        const float *xc = xg + c * hw;
        for (kh = 0; kh < s->KH; kh++) {
            for (kw = 0; kw < s->KW; kw++) {
                ptrdiff_t off = kw * s->DW - s->PL, lo, hi;
                ptrdiff_t p = p0;
                rt_conv_range(off, s->SW, s->W, s->OW, &lo, &hi);
                while (p < p0 + t) {
                    /* the part of output row oh inside the tile */
                    ptrdiff_t oh = p / s->OW;
                    ptrdiff_t ow0 = p - oh * s->OW;
                    ptrdiff_t ow1 = RT_MIN(s->OW, ow0 + (p0 + t - p));
                    ptrdiff_t ih = oh * s->SH - s->PT + kh * s->DH;
                    float *d = dst + (p - p0); /* d[0] is column ow0 */
                    if (ih < 0 || ih >= s->H) {
                        for (i = ow0; i < ow1; i++)
                            d[i - ow0] = 0.0f;
                    } else {
                        const float *xrow = xc + ih * s->W;
                        /* [ow0, a) and [b, ow1) read padding */
                        ptrdiff_t a = RT_MAX(ow0, RT_MIN(lo, ow1));
                        ptrdiff_t b = RT_MAX(a, RT_MIN(hi, ow1));
                        for (i = ow0; i < a; i++)
                            d[i - ow0] = 0.0f;
                        if (s->SW == 1) {
                            if (b > a)
                                memcpy(d + (a - ow0), xrow + (a + off),
                                       (size_t)(b - a) * sizeof(float));
                        } else {
                            for (i = a; i < b; i++)
                                d[i - ow0] = xrow[i * s->SW + off];
                        }
                        for (i = b; i < ow1; i++)
                            d[i - ow0] = 0.0f;
                    }
                    p += ow1 - ow0;
                }
                dst += t;
            }
        }
    }
}

RT_API void rt_conv2d(const rt_conv2d_shape *s, const float *x,
                      const float *w, const float *bias, float *y,
                      float *scratch)
{
    ptrdiff_t cg, mg, hw, ohw, kdim, n, g;
    int path;
    if (s->N <= 0 || s->M <= 0 || s->OH <= 0 || s->OW <= 0)
        return;
    path = rt_conv_path(s);
    if (path == RT_CONV_DIRECT) {
        rt_conv_direct(s, x, w, bias, y);
        return;
    }
    cg = s->C / s->group;
    mg = s->M / s->group;
    hw = (ptrdiff_t)s->H * s->W;
    ohw = (ptrdiff_t)s->OH * s->OW;
    kdim = cg * s->KH * s->KW;
    for (n = 0; n < s->N; n++) {
        for (g = 0; g < s->group; g++) {
            const float *xg = x + (n * s->C + g * cg) * hw;
            const float *wg = w + g * mg * kdim;
            const float *bg = bias ? bias + g * mg : NULL;
            float *yg = y + (n * s->M + g * mg) * ohw;
            if (path == RT_CONV_1X1) {
                if (bg)
                    rt_conv_fill_bias(yg, mg, ohw, ohw, bg);
                rt_sgemm(0, 0, mg, ohw, cg, 1.0f, wg, cg, xg, hw,
                         bg ? 1.0f : 0.0f, yg, ohw, scratch);
            } else {
                ptrdiff_t tile = rt_conv_tile(s), p0;
                float *col = scratch;
                float *gemm_scratch = kdim ? scratch + kdim * tile : scratch;
                for (p0 = 0; p0 < ohw; p0 += tile) {
                    ptrdiff_t t = RT_MIN(tile, ohw - p0);
                    rt_conv_im2col(s, xg, p0, t, col);
                    if (bg)
                        rt_conv_fill_bias(yg + p0, mg, t, ohw, bg);
                    rt_sgemm(0, 0, mg, t, kdim, 1.0f, wg, kdim, col, t,
                             bg ? 1.0f : 0.0f, yg + p0, ohw, gemm_scratch);
                }
            }
        }
    }
}
