/* rt-deps: conv */
/* expand_dw.c - a 1x1 convolution that widens C channels to E ("expand",
 * with its epilogue) feeding a depthwise convolution over those E channels
 * (any kernel, stride, dilation, padding, with its own epilogue), as in the
 * inverted residual blocks of MobileNetV2 and its kind, in one pass:
 *
 *   t = act_e(conv1x1(x, we) + be)          [N, E, H, W], never in memory
 *   y = act_d(depthwise(t, wd) + bd + residual)
 *
 * Run separately, the first layer writes all of t (MobileNetV2's 16 -> 96
 * at 112x112: 4.8 MB) and the second reads it back from L3.  Since the
 * depthwise layer reads each channel of t alone, t is made and consumed in
 * items of RT_EDW_EB channels x a band of output rows: the 1x1 computes
 * the band's input rows of those channels into a per-thread buffer sized
 * for L2 (rows shared by neighbouring bands are computed for each), then
 * the depthwise kernel reads them from there.  A whole plane is one band
 * when its buffer fits (every MobileNetV2 layer from 56x56 down).
 *
 * Both halves are the layers' own kernels (rt_conv2d_1x1_part: conv.c's
 * micro-kernel on x itself; rt_conv2d_dw_serial: depthwise.c's paths on
 * the buffer), summing in the same order, so y is bit-identical to the two
 * layers run one after the other.
 * With OpenMP the items of a layer are split statically across up to
 * RT_EDW_MAXT threads (one buffer each), band by band, so that a thread's
 * items share their input rows; there is no barrier between the halves.
 */
#ifndef RT_EMBED
#include "rt_conv.h"
#endif

#ifdef _OPENMP
#  include <omp.h>
#endif

#define RT_EDW_EB 16                  /* channels of t per item (of RT_CONV_MR) */
#define RT_EDW_BUF (64 * 1024)        /* floats of t per item at most (256 KB) */
#define RT_EDW_MAXT 8                 /* threads with a buffer */
#define RT_EDW_PAR_MIN 4000000.0      /* flops below which one thread runs */

/* The two layers as rt_conv2d_shape. */
RT_INTERNAL void rt_edw_shapes(const rt_expand_dw_shape *s, rt_conv2d_shape *e,
                               rt_conv2d_shape *d)
{
    rt_conv2d_shape one = {0}, dw = {0};
    one.N = dw.N = s->N;
    one.C = s->C;
    one.H = one.OH = dw.H = s->H;
    one.W = one.OW = dw.W = s->W;
    one.M = dw.C = dw.M = dw.group = s->E;
    one.KH = one.KW = one.SH = one.SW = one.DH = one.DW = one.group = 1;
    dw.OH = s->OH;
    dw.OW = s->OW;
    dw.KH = s->KH;
    dw.KW = s->KW;
    dw.SH = s->SH;
    dw.SW = s->SW;
    dw.DH = s->DH;
    dw.DW = s->DW;
    dw.PT = s->PT;
    dw.PL = s->PL;
    *e = one;
    *d = dw;
}

/* Input rows [*i0, *i1) that output rows [o0, o1) read (inside [0, H)). */
RT_INTERNAL void rt_edw_rows(const rt_expand_dw_shape *s, ptrdiff_t o0, ptrdiff_t o1,
                             ptrdiff_t *i0, ptrdiff_t *i1)
{
    ptrdiff_t top = o0 * s->SH - s->PT;
    ptrdiff_t end = (o1 - 1) * s->SH - s->PT + (ptrdiff_t)(s->KH - 1) * s->DH + 1;
    *i0 = RT_MAX(top, 0);
    *i1 = RT_MIN(end, (ptrdiff_t)s->H);
}

/* Output rows per band: all of them when a whole plane's buffer fits. */
RT_INTERNAL ptrdiff_t rt_edw_band(const rt_expand_dw_shape *s)
{
    ptrdiff_t rows = RT_EDW_BUF / ((ptrdiff_t)RT_EDW_EB * s->W);
    ptrdiff_t span = (ptrdiff_t)(s->KH - 1) * s->DH + 1;
    ptrdiff_t bh = rows >= span ? (rows - span) / s->SH + 1 : 1;
    return RT_MIN(bh, (ptrdiff_t)s->OH);
}

/* Floats of t one item holds: a middle band reads the most rows. */
RT_INTERNAL ptrdiff_t rt_edw_buf_floats(const rt_expand_dw_shape *s)
{
    ptrdiff_t rows = (rt_edw_band(s) - 1) * s->SH + (ptrdiff_t)(s->KH - 1) * s->DH + 1;
    return (ptrdiff_t)RT_EDW_EB * RT_MIN(rows, (ptrdiff_t)s->H) * s->W;
}

RT_INTERNAL float *rt_edw_align(float *p)
{
    return (float *)(void *)(((uintptr_t)p + 63) / 64 * 64);
}

RT_API int rt_expand_dw_fits(const rt_expand_dw_shape *s)
{
    rt_conv2d_shape e, d;
    if (s->N <= 0 || s->C <= 0 || s->E <= 0 || s->H <= 0 || s->W <= 0 || s->OH <= 0 ||
        s->OW <= 0 || s->KH <= 0 || s->KW <= 0 || s->SH <= 0 || s->SW <= 0 || s->DH <= 0 ||
        s->DW <= 0 || s->PT < 0 || s->PL < 0)
        return 0;
    /* every output row and column reads some input (no band of padding
     * alone), and no padding wider than the kernel */
    if (s->PT > (ptrdiff_t)(s->KH - 1) * s->DH || s->PL > (ptrdiff_t)(s->KW - 1) * s->DW ||
        (ptrdiff_t)(s->OH - 1) * s->SH - s->PT > s->H - 1 ||
        (ptrdiff_t)(s->OW - 1) * s->SW - s->PL > s->W - 1)
        return 0;
    rt_edw_shapes(s, &e, &d);
    /* the planes conv.c's implicit GEMM takes (conv_small's are small
     * enough that t stays in L2 anyway) */
    return rt_conv2d_algo(&e, 0) == RT_CONV_ALGO_GEMM;
}

RT_API size_t rt_expand_dw_packed_size(const rt_expand_dw_shape *s)
{
    rt_conv2d_shape e, d;
    rt_edw_shapes(s, &e, &d);
    return rt_conv2d_packed_size(&e, RT_CONV_ALGO_GEMM);
}

RT_API void rt_expand_dw_pack(const rt_expand_dw_shape *s, const float *we, float *wp)
{
    rt_conv2d_shape e, d;
    rt_edw_shapes(s, &e, &d);
    rt_conv2d_pack(&e, RT_CONV_ALGO_GEMM, we, wp);
}

/* Per thread: the t buffer, then the depthwise kernel's own buffer. */
RT_INTERNAL size_t rt_edw_thread_floats(const rt_expand_dw_shape *s)
{
    rt_conv2d_shape e, d;
    rt_edw_shapes(s, &e, &d);
    d.N = 1;
    d.C = d.M = d.group = RT_EDW_EB;
    return (size_t)rt_edw_buf_floats(s) + rt_conv2d_dw_scratch(&d) + 32;
}

RT_API size_t rt_expand_dw_scratch(const rt_expand_dw_shape *s)
{
    if (!rt_expand_dw_fits(s))
        return 0;
    return RT_EDW_MAXT * rt_edw_thread_floats(s);
}

/* Arguments of one call, for the items. */
typedef struct {
    const rt_expand_dw_shape *s;
    const float *x, *we, *be, *wd, *bd, *res;
    int act_e, act_d;
    float alpha_e, beta_e, alpha_d, beta_d;
    float *y;
} rt_edw_args;

/* t rows [i0, i1) of channels [e0, e0 + ne) of image n into buf. */
RT_INTERNAL void rt_edw_expand(const rt_edw_args *a, ptrdiff_t n, ptrdiff_t i0, ptrdiff_t i1,
                               ptrdiff_t e0, ptrdiff_t ne, float *buf)
{
    const rt_expand_dw_shape *s = a->s;
    ptrdiff_t hw = (ptrdiff_t)s->H * s->W;
    rt_conv2d_shape e, d;
    rt_edw_shapes(s, &e, &d);
    rt_conv2d_1x1_part(&e, a->x + n * s->C * hw, a->we, a->be, a->act_e, a->alpha_e,
                       a->beta_e, i0 * s->W, i1 * s->W, e0, e0 + ne, buf, (i1 - i0) * s->W);
}

/* Output rows [o0, o1) of channels [e0, e0 + ne) of image n from the t rows
 * [i0, i1) in buf; db: the depthwise kernel's buffer. */
RT_INTERNAL void rt_edw_depthwise(const rt_edw_args *a, ptrdiff_t n, ptrdiff_t o0,
                                  ptrdiff_t o1, ptrdiff_t i0, ptrdiff_t i1, ptrdiff_t e0,
                                  ptrdiff_t ne, const float *buf, float *db)
{
    const rt_expand_dw_shape *s = a->s;
    ptrdiff_t ohw = (ptrdiff_t)s->OH * s->OW, kk = (ptrdiff_t)s->KH * s->KW;
    ptrdiff_t at = (n * s->E + e0) * ohw, e;
    rt_conv2d_shape e1, d;
    rt_edw_shapes(s, &e1, &d);
    d.N = 1;
    d.H = (int)(i1 - i0);
    d.OH = (int)(o1 - o0);
    d.PT = (int)(i0 - (o0 * s->SH - s->PT)); /* rows above the buffer's first */
    if (d.OH == s->OH) {
        /* whole planes: the channels' outputs lie one plane apart */
        d.C = d.M = d.group = (int)ne;
        rt_conv2d_dw_serial(&d, buf, a->wd + e0 * kk, a->bd ? a->bd + e0 : NULL,
                            a->res ? a->res + at : NULL, a->act_d, a->alpha_d, a->beta_d,
                            a->y + at, db);
        return;
    }
    /* a band: one plane at a time, each at its own place in y */
    d.C = d.M = d.group = 1;
    at += o0 * s->OW;
    for (e = 0; e < ne; e++, at += ohw)
        rt_conv2d_dw_serial(&d, buf + e * (i1 - i0) * s->W, a->wd + (e0 + e) * kk,
                            a->bd ? a->bd + e0 + e : NULL, a->res ? a->res + at : NULL,
                            a->act_d, a->alpha_d, a->beta_d, a->y + at, db);
}

RT_API void rt_expand_dw(const rt_expand_dw_shape *s, const float *x, const float *we,
                         const float *be, int act_e, float alpha_e, float beta_e,
                         const float *wd, const float *bd, const float *residual,
                         int act_d, float alpha_d, float beta_d, float *y, float *scratch)
{
    rt_edw_args a;
    ptrdiff_t bh = rt_edw_band(s), nb = (s->OH + bh - 1) / bh;
    ptrdiff_t np = (s->E + RT_EDW_EB - 1) / RT_EDW_EB, items = s->N * nb * np;
    size_t per = rt_edw_thread_floats(s);
    double flops = 2.0 * s->N * s->E * (double)s->H * s->W * s->C;
    int par = flops >= RT_EDW_PAR_MIN && items > 1, nth = 1;
    a.s = s;
    a.x = x;
    a.we = we;
    a.be = be;
    a.wd = wd;
    a.bd = bd;
    a.res = residual;
    a.act_e = act_e;
    a.alpha_e = alpha_e;
    a.beta_e = beta_e;
    a.act_d = act_d;
    a.alpha_d = alpha_d;
    a.beta_d = beta_d;
    a.y = y;
    (void)par;
    (void)nth;
#ifdef _OPENMP
    nth = RT_MIN(omp_get_max_threads(), RT_EDW_MAXT);
    _Pragma("omp parallel num_threads(nth) if(par)")
#endif
    {
        int tid = 0, nt = 1;
        ptrdiff_t it, it1;
        float *buf, *db;
#ifdef _OPENMP
        tid = omp_get_thread_num();
        nt = omp_get_num_threads();
#endif
        buf = rt_edw_align(scratch + (size_t)tid * per);
        db = rt_edw_align(buf + rt_edw_buf_floats(s));
        it1 = items * (tid + 1) / nt;
        for (it = items * tid / nt; it < it1; it++) {
            /* item order: image, band, channel block */
            ptrdiff_t n = it / (nb * np), b = it / np % nb, e0 = it % np * RT_EDW_EB;
            ptrdiff_t ne = RT_MIN((ptrdiff_t)RT_EDW_EB, s->E - e0);
            ptrdiff_t o0 = b * bh, o1 = RT_MIN(o0 + bh, (ptrdiff_t)s->OH), i0, i1;
            rt_edw_rows(s, o0, o1, &i0, &i1);
            rt_edw_expand(&a, n, i0, i1, e0, ne, buf);
            rt_edw_depthwise(&a, n, o0, o1, i0, i1, e0, ne, buf, db);
        }
    }
}
