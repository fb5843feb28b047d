/* test_rt_expand_dw.c - rt_expand_dw (expand_dw.c), the 1x1 -> depthwise
 * pair in one pass, on MobileNetV2's shapes and on planes wide enough that
 * the work is cut into bands of rows (stride 1 and 2, the last band short),
 * channel counts that are not a multiple of the 16-channel items, other
 * kernels, dilation and padding, several images, a residual (separate and
 * in place).
 *
 * Two checks per case:
 *   - against a naive double-precision reference: t = act_e(be + sum w x)
 *     then y = act_d(bd + sum of the taps inside the plane + residual).
 *     An element passes when |got - exp| <= 1e-4 + 1e-4 * |exp|: t holds
 *     float sums of up to 32 terms of size <= 1 (a few ulps of 32), and
 *     nine such values, weighted by |w| <= 1, make each output;
 *   - bit-identical to the two layers run one after the other
 *     (rt_conv2d_fused with RT_CONV_ALGO_GEMM, then rt_conv2d_dw), which
 *     the kernel promises.
 * Also: rt_expand_dw_fits turns down shapes it must not take.
 * y starts as NaN so that an unwritten element fails.  Exit status 0 when
 * every case passes. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RNG_SEED 0x5EEDED01u
#include "../../runtime/rt_conv.h"
#include "test_conv_shape.h"
#include "test_rand.h"

static int n_cases, n_failed;

static double act_ref(double v, int act, double alpha, double beta)
{
    switch (act) {
    case RT_ACT_RELU:
        return v > 0.0 ? v : 0.0;
    case RT_ACT_CLIP:
        return v < alpha ? alpha : v > beta ? beta : v;
    case RT_ACT_HARD_SWISH: {
        double t = v / 6.0 + 0.5;
        return v * (t < 0.0 ? 0.0 : t > 1.0 ? 1.0 : t);
    }
    default:
        return v;
    }
}

static float *random_floats(size_t n)
{
    float *p = xmalloc(n * sizeof(float));
    size_t i;
    for (i = 0; i < n; i++)
        p[i] = rng_uniform();
    return p;
}

/* res: 0 none, 1 separate, 2 in place (y holds the residual). */
static void check(const rt_expand_dw_shape *s, const char *what, int act_e, int act_d, int res)
{
    rt_conv2d_shape se = make_shape(s->N, s->C, s->H, s->W, s->E, 1, 1, 1, 1, 1, 1, 0, 0, 0,
                                    0, 1);
    rt_conv2d_shape sd = make_shape(s->N, s->E, s->H, s->W, s->E, s->KH, s->KW, s->SH, s->SW,
                                    s->DH, s->DW, s->PT, s->PL, 0, 0, s->E);
    size_t nx = (size_t)s->N * s->C * s->H * s->W, nt = (size_t)s->N * s->E * s->H * s->W;
    size_t ny = (size_t)s->N * s->E * s->OH * s->OW, kk = (size_t)s->KH * s->KW, i;
    float *x = random_floats(nx), *we = random_floats((size_t)s->E * s->C);
    float *be = random_floats((size_t)s->E), *wd = random_floats((size_t)s->E * kk);
    float *bd = random_floats((size_t)s->E), *r = random_floats(ny);
    float *wp = xmalloc(rt_expand_dw_packed_size(s) * sizeof(float));
    float *sc = xmalloc(rt_expand_dw_scratch(s) * sizeof(float));
    float *y = xmalloc(ny * sizeof(float)), *y2 = xmalloc(ny * sizeof(float));
    float *t2 = xmalloc(nt * sizeof(float));
    float *sc2 = xmalloc((rt_conv2d_fused_scratch(&se, RT_CONV_ALGO_GEMM) +
                          rt_conv2d_dw_scratch(&sd) + 1) * sizeof(float));
    double *t = xmalloc(nt * sizeof(double));
    float ae = -0.5f, be_ = 0.75f, ad = -0.25f, bd_ = 0.5f; /* Clip bounds */
    int n, e, h, w, c, ok = 1, bad = 0;
    sd.OH = s->OH;
    sd.OW = s->OW;
    for (i = 0; i < ny; i++)
        y[i] = y2[i] = res == 2 ? r[i] : NAN;
    rt_expand_dw_pack(s, we, wp);
    rt_expand_dw(s, x, wp, be, act_e, ae, be_, wd, bd, res == 1 ? r : res == 2 ? y : NULL,
                 act_d, ad, bd_, y, sc);

    /* the two layers one after the other */
    rt_conv2d_pack(&se, RT_CONV_ALGO_GEMM, we, wp);
    rt_conv2d_fused(&se, RT_CONV_ALGO_GEMM, x, wp, be, NULL, act_e, ae, be_, t2, sc2);
    rt_conv2d_dw(&sd, t2, wd, bd, res == 1 ? r : res == 2 ? y2 : NULL, act_d, ad, bd_, y2, sc2);
    if (memcmp(y, y2, ny * sizeof(float)) != 0) {
        printf("expand_dw: %s: differs from the two layers run separately\n", what);
        ok = 0;
    }

    /* the reference */
    for (n = 0; n < s->N; n++)
        for (e = 0; e < s->E; e++)
            for (h = 0; h < s->H; h++)
                for (w = 0; w < s->W; w++) {
                    double v = be[e];
                    for (c = 0; c < s->C; c++)
                        v += (double)we[(size_t)e * s->C + c] *
                             x[(((size_t)n * s->C + c) * s->H + h) * s->W + w];
                    t[(((size_t)n * s->E + e) * s->H + h) * s->W + w] =
                        act_ref(v, act_e, ae, be_);
                }
    for (i = 0; i < ny; i++) {
        size_t ow = i % s->OW, oh = i / s->OW % s->OH, ne = i / ((size_t)s->OW * s->OH);
        size_t ch = ne % s->E;
        double v = bd[ch], exp_, got = y[i];
        size_t kh, kw;
        for (kh = 0; kh < (size_t)s->KH; kh++)
            for (kw = 0; kw < (size_t)s->KW; kw++) {
                long ih = (long)(oh * s->SH + kh * s->DH) - s->PT;
                long iw = (long)(ow * s->SW + kw * s->DW) - s->PL;
                if (ih < 0 || ih >= s->H || iw < 0 || iw >= s->W)
                    continue;
                v += (double)wd[ch * kk + kh * s->KW + kw] *
                     t[(ne * s->H + (size_t)ih) * s->W + (size_t)iw];
            }
        if (res)
            v += r[i];
        exp_ = act_ref(v, act_d, ad, bd_);
        if (!(fabs(got - exp_) <= 1e-4 + 1e-4 * fabs(exp_))) {
            if (!bad)
                printf("expand_dw: %s: element %zu: got %.9g, expected %.9g\n", what, i, got,
                       exp_);
            bad++;
        }
    }
    if (bad)
        ok = 0;
    n_cases++;
    n_failed += !ok;
    printf("expand_dw: %s act %d/%d res %d: %s\n", what, act_e, act_d, res,
           ok ? "ok" : "FAIL");
    free(x), free(we), free(be), free(wd), free(bd), free(r), free(wp), free(sc);
    free(y), free(y2), free(t2), free(sc2), free(t);
}

/* N C H W E KH KW S D PT PL pb pr */
static const int shapes[][13] = {
    {1, 16, 112, 112, 96, 3, 3, 2, 1, 1, 1, 1, 1}, /* MobileNetV2 features.2: bands */
    {1, 24, 56, 56, 144, 3, 3, 1, 1, 1, 1, 1, 1},  /* features.3: whole planes */
    {1, 24, 56, 56, 144, 3, 3, 2, 1, 1, 1, 1, 1},  /* features.4 */
    {2, 32, 28, 28, 40, 3, 3, 1, 1, 1, 1, 1, 1},   /* two images, E % 16 == 8 */
    {1, 8, 20, 300, 24, 3, 3, 1, 1, 1, 1, 1, 1},   /* bands, stride 1 */
    {1, 8, 41, 250, 20, 3, 3, 2, 1, 1, 1, 1, 1},   /* bands, stride 2, E % 16 == 4 */
    {1, 5, 30, 40, 13, 5, 5, 1, 1, 2, 2, 2, 2},    /* 5x5, E < 16 */
    {1, 3, 33, 35, 8, 3, 3, 1, 2, 2, 2, 2, 2},     /* dilation 2 */
    {1, 6, 30, 30, 16, 3, 3, 1, 1, 0, 0, 0, 0},    /* no padding */
    {1, 7, 25, 400, 17, 3, 3, 2, 1, 0, 1, 1, 0},   /* bands, PT 0, odd sizes */
    {1, 4, 24, 24, 24, 3, 1, 1, 1, 1, 0, 1, 0},    /* 3x1 */
};

int main(void)
{
    int i, ns = (int)(sizeof shapes / sizeof shapes[0]);
    rt_expand_dw_shape no;
    for (i = 0; i < ns; i++) {
        const int *d = shapes[i];
        rt_conv2d_shape sd = make_shape(d[0], d[4], d[2], d[3], d[4], d[5], d[6], d[7], d[7],
                                        d[8], d[8], d[9], d[10], d[11], d[12], d[4]);
        rt_expand_dw_shape s = {d[0], d[1], d[2], d[3], d[4], sd.OH, sd.OW, d[5], d[6],
                                d[7], d[7], d[8], d[8], d[9], d[10]};
        char what[96];
        snprintf(what, sizeof what, "N%d C%d %dx%d E%d k%dx%d s%d d%d p%d,%d -> %dx%d", s.N, s.C,
                 s.H, s.W, s.E, s.KH, s.KW, s.SH, s.DH, s.PT, s.PL, s.OH, s.OW);
        if (!rt_expand_dw_fits(&s)) {
            printf("expand_dw: %s: FAIL (not taken)\n", what);
            n_failed++;
            continue;
        }
        check(&s, what, RT_ACT_CLIP, RT_ACT_CLIP, 0);
        if (i % 3 == 0)
            check(&s, what, RT_ACT_RELU, RT_ACT_NONE, 1);
        if (i % 3 == 1)
            check(&s, what, RT_ACT_NONE, RT_ACT_HARD_SWISH, 2);
    }
    /* shapes it must turn down */
    {
        rt_expand_dw_shape small = {1, 96, 14, 14, 576, 14, 14, 3, 3, 1, 1, 1, 1, 1, 1};
        rt_expand_dw_shape pad = {1, 8, 20, 20, 16, 22, 20, 3, 3, 1, 1, 1, 1, 3, 1};
        rt_expand_dw_shape bottom = {1, 8, 20, 20, 16, 23, 20, 3, 3, 1, 1, 1, 1, 2, 1};
        no = small; /* conv_small's plane: not conv.c's GEMM */
        n_failed += rt_expand_dw_fits(&no) != 0;
        no = pad; /* padding wider than the kernel reaches */
        n_failed += rt_expand_dw_fits(&no) != 0;
        no = bottom; /* the last output row reads padding alone */
        n_failed += rt_expand_dw_fits(&no) != 0;
        n_cases += 3;
    }
    printf("expand_dw: %s (%d cases, %d failed)\n", n_failed ? "FAIL" : "PASS", n_cases,
           n_failed);
    return n_failed != 0;
}
