/* test_rt_depthwise.c - rt_conv2d_dw (depthwise.c) against a naive
 * double-precision reference, on the shapes its fast paths pick: 3x3
 * stride 1 and stride 2 (left padding 1) row by row and two output rows per
 * vector (rows <= 8 wide), stride 2 flat through the phase planes (left
 * padding 0), the 16-channel blocked path (small planes, left padding 0)
 * and the strip/generic fallbacks.
 *
 * Reference: v = bias + sum over the taps inside the image of w * x, in
 * double, then + residual, then the activation (rt_act formulas in
 * double).  An element passes when |got - exp| <= 1e-5 + 1e-5 * |exp| (9
 * float terms of size <= 1 summed with fused multiply-adds: the float
 * error is a few ulps of the sum).  Inputs uniform in [-1, 1]; y starts as
 * NaN so an unwritten element fails; the residual is a separate tensor or
 * y itself (in place).  Every activation, with and without bias.
 * Exit status 0 when every case passes. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/rt_conv.h"
#include "test_act_ref.h"
#include "test_conv_shape.h"

static unsigned long long rng_state = 0x9E3779B97F4A7C15ull;

static float rng_unit(void)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((double)(rng_state >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

static int n_cases, n_failed;

/* res: 0 none, 1 separate, 2 in place (y holds the residual). */
static int check(const rt_conv2d_shape *s, int hasbias, int res, int act)
{
    size_t nx = (size_t)s->N * s->C * s->H * s->W, ny = (size_t)s->N * s->C * s->OH * s->OW;
    size_t nw = (size_t)s->C * s->KH * s->KW, ns = rt_conv2d_dw_scratch(s), i;
    float *x = malloc(nx * sizeof(float)), *w = malloc(nw * sizeof(float));
    float *b = malloc((size_t)s->C * sizeof(float)), *r = malloc(ny * sizeof(float));
    float *y = malloc(ny * sizeof(float)), *sc = ns ? malloc(ns * sizeof(float)) : NULL;
    float alpha = act == RT_ACT_LEAKY_RELU ? 0.1f : -0.25f, beta = 0.5f;
    int n, c, oh, ow, kh, kw, ok = 1;
    for (i = 0; i < nx; i++)
        x[i] = rng_unit();
    for (i = 0; i < nw; i++)
        w[i] = rng_unit();
    for (c = 0; c < s->C; c++)
        b[c] = rng_unit();
    for (i = 0; i < ny; i++) {
        r[i] = rng_unit();
        y[i] = res == 2 ? r[i] : NAN;
    }
    for (i = 0; i < ns; i++)
        sc[i] = NAN;
    rt_conv2d_dw(s, x, w, hasbias ? b : NULL, res == 1 ? r : res == 2 ? y : NULL, act, alpha,
                 beta, y, sc);
    for (n = 0; n < s->N; n++)
        for (c = 0; c < s->C; c++)
            for (oh = 0; oh < s->OH; oh++)
                for (ow = 0; ow < s->OW; ow++) {
                    size_t at = (((size_t)n * s->C + c) * s->OH + oh) * s->OW + ow;
                    double v = hasbias ? b[c] : 0.0, e, g = y[at];
                    for (kh = 0; kh < s->KH; kh++)
                        for (kw = 0; kw < s->KW; kw++) {
                            int ih = oh * s->SH - s->PT + kh * s->DH;
                            int iw = ow * s->SW - s->PL + kw * s->DW;
                            if (ih < 0 || ih >= s->H || iw < 0 || iw >= s->W)
                                continue;
                            v += (double)w[((size_t)c * s->KH + kh) * s->KW + kw] *
                                 x[(((size_t)n * s->C + c) * s->H + ih) * s->W + iw];
                        }
                    if (res)
                        v += r[at];
                    e = act_ref(act, alpha, beta, v);
                    if (!(fabs(g - e) <= 1e-5 + 1e-5 * fabs(e))) {
                        if (ok)
                            printf("depthwise: MISMATCH at n%d c%d (%d,%d): got %.9g exp %.9g\n",
                                   n, c, oh, ow, g, e);
                        ok = 0;
                    }
                }
    n_cases++;
    n_failed += !ok;
    free(x);
    free(w);
    free(b);
    free(r);
    free(y);
    free(sc);
    return ok;
}

/* N C H W KH KW S D PT PL PB PR */
static const int shapes[][12] = {
    {1, 3, 112, 112, 3, 3, 1, 1, 1, 1, 1, 1},  /* MobileNetV2 112x112 s1 (rows) */
    {1, 5, 56, 56, 3, 3, 1, 1, 1, 1, 1, 1},    /* 56: 3.5 vectors per row */
    {2, 4, 28, 28, 3, 3, 1, 1, 1, 1, 1, 1},
    {1, 6, 14, 14, 3, 3, 1, 1, 1, 1, 1, 1},    /* rows (C < 16: not blocked) */
    {1, 20, 14, 14, 3, 3, 1, 1, 1, 1, 1, 1},   /* rows */
    {1, 33, 7, 7, 3, 3, 1, 1, 1, 1, 1, 1},     /* two rows per vector */
    {2, 5, 7, 7, 3, 3, 1, 1, 1, 1, 1, 1},      /* two rows per vector */
    {1, 3, 9, 8, 3, 3, 1, 1, 1, 1, 1, 1},      /* pairs, W == 8, odd OH */
    {1, 3, 6, 5, 3, 3, 1, 1, 0, 1, 2, 1},      /* pairs, PT 0 */
    {1, 3, 5, 3, 3, 3, 1, 1, 2, 1, 0, 1},      /* pairs, PT 2 */
    {1, 2, 4, 1, 3, 3, 1, 1, 1, 1, 1, 1},      /* pairs, W == 1 */
    {1, 20, 7, 7, 3, 3, 1, 1, 1, 0, 1, 2},     /* blocked (PL 0) */
    {1, 3, 9, 11, 3, 3, 1, 1, 1, 1, 1, 1},     /* flat s1, W < 12 */
    {1, 3, 13, 12, 3, 3, 1, 1, 0, 1, 2, 1},    /* rows, PT 0 */
    {1, 3, 13, 17, 3, 3, 1, 1, 2, 1, 0, 1},    /* rows, PT 2 */
    {1, 2, 5, 33, 3, 3, 1, 1, 1, 1, 1, 1},     /* rows, W % 16 == 1 */
    {1, 2, 4, 16, 3, 3, 1, 1, 1, 1, 1, 1},     /* rows, W == 16 */
    {1, 2, 3, 300, 3, 3, 1, 1, 1, 1, 1, 1},    /* rows, wide */
    {1, 2, 1, 20, 3, 3, 1, 1, 1, 1, 1, 1},     /* one row */
    {1, 3, 112, 112, 3, 3, 2, 1, 1, 1, 1, 1},  /* s2 112 -> 56 (rows) */
    {1, 5, 56, 56, 3, 3, 2, 1, 1, 1, 1, 1},    /* s2 56 -> 28 (rows) */
    {2, 4, 28, 28, 3, 3, 2, 1, 1, 1, 1, 1},    /* s2 28 -> 14 (rows) */
    {1, 20, 14, 14, 3, 3, 2, 1, 1, 1, 1, 1},   /* s2 14 -> 7 (two rows per vector) */
    {1, 3, 13, 11, 3, 3, 2, 1, 2, 1, 0, 0},    /* s2 pairs, PT 2, odd OH */
    {1, 3, 9, 16, 3, 3, 2, 1, 0, 1, 1, 1},     /* s2 pairs, PT 0, W 16, OW 8 */
    {1, 3, 2, 1, 3, 3, 2, 1, 1, 1, 1, 1},      /* s2 pairs, W 1 */
    {1, 5, 14, 14, 3, 3, 2, 1, 1, 1, 1, 1},    /* s2 14 -> 7 (two rows per vector) */
    {1, 3, 29, 31, 3, 3, 2, 1, 1, 1, 1, 1},    /* s2 odd (rows) */
    {1, 3, 30, 40, 3, 3, 2, 1, 0, 0, 1, 1},    /* s2 PL 0 (flat) */
    {1, 3, 31, 41, 3, 3, 2, 1, 2, 0, 0, 0},    /* s2 PT 2, PL 0 */
    {1, 3, 40, 64, 3, 3, 2, 1, 1, 1, 1, 1},    /* s2 OW 32 (rows) */
    {1, 2, 90, 66, 3, 3, 2, 1, 1, 1, 1, 1},    /* s2 OW 33 (rows, partial vector) */
    {1, 2, 3, 3, 3, 3, 2, 1, 1, 1, 1, 1},      /* tiny */
    {1, 3, 61, 63, 3, 3, 2, 1, 2, 1, 0, 0},    /* s2 rows, PT 2 */
    {1, 3, 20, 36, 3, 3, 2, 1, 0, 1, 2, 3},    /* s2 rows, PT 0, right pad 3 */
    {1, 20, 60, 40, 3, 3, 2, 1, 1, 0, 1, 1},   /* s2 PL 0 (flat, strips) */
    {1, 3, 1, 1, 3, 3, 1, 1, 1, 1, 1, 1},      /* 1x1 plane */
    {1, 3, 12, 13, 3, 3, 1, 1, 0, 0, 0, 0},    /* valid padding (strips) */
    {1, 3, 12, 13, 5, 5, 1, 1, 2, 2, 2, 2},    /* 5x5 (window) */
    {1, 3, 12, 13, 3, 3, 1, 2, 2, 2, 2, 2},    /* dilation 2 (window) */
    {1, 4, 12, 80, 5, 5, 1, 1, 2, 2, 2, 2},    /* PP-OCR's 5x5 (window) */
    {1, 3, 14, 14, 7, 7, 1, 1, 3, 3, 3, 3},    /* ConvNeXt's 7x7 (window) */
    {1, 2, 3, 2100, 1, 5, 1, 1, 0, 2, 0, 2},   /* rows wider than one piece (window) */
    {1, 2, 9, 21, 5, 5, 1, 2, 4, 4, 4, 4},     /* dilation 2, 5x5 (window) */
    {1, 2, 9, 21, 5, 5, 1, 1, 4, 4, 0, 0},     /* padding only top/left, > half the kernel */
    {1, 2, 3, 4, 5, 5, 1, 1, 2, 2, 2, 2},      /* kernel larger than the plane */
    {1, 2, 4, 800, 11, 11, 1, 1, 5, 5, 5, 5},  /* window too large: generic */
    {1, 20, 13, 13, 5, 5, 2, 1, 2, 2, 2, 2},   /* 5x5 s2, C >= 16 (blocked) */
    {1, 17, 7, 7, 5, 5, 1, 1, 2, 2, 2, 2},     /* EfficientNet's 7x7 5x5 (blocked, 1 spare lane) */
    {2, 16, 9, 10, 7, 7, 1, 1, 3, 3, 3, 3},    /* 7x7 (blocked) */
    {1, 18, 12, 12, 3, 3, 1, 2, 2, 2, 2, 2},   /* 3x3 dilation 2 (blocked, general taps) */
    {1, 33, 11, 9, 5, 5, 3, 1, 1, 2, 0, 1},    /* stride 3, uneven padding (blocked) */
    {1, 16, 40, 70, 5, 5, 1, 1, 2, 2, 2, 2},   /* rows too wide to block: window */
    {1, 3, 15, 14, 3, 1, 1, 1, 1, 0, 1, 0},    /* 3x1 */
    {2, 3, 15, 14, 1, 3, 2, 1, 0, 1, 0, 1},    /* 1x3 s2 */
    {1, 3, 17, 19, 3, 3, 3, 1, 1, 1, 1, 1},    /* stride 3 */
};

int main(void)
{
    int i, act, ns = (int)(sizeof shapes / sizeof shapes[0]);
    for (i = 0; i < ns; i++) {
        const int *d = shapes[i];
        rt_conv2d_shape s = make_shape(d[0], d[1], d[2], d[3], d[1], d[4], d[5], d[6], d[6],
                                       d[7], d[7], d[8], d[9], d[10], d[11], d[1]);
        int ok = 1;
        for (act = RT_ACT_NONE; act <= RT_ACT_LAST; act++)
            ok &= check(&s, act != RT_ACT_SIGMOID, act % 3, act);
        ok &= check(&s, 1, 2, RT_ACT_CLIP);
        ok &= check(&s, 0, 1, RT_ACT_RELU);
        printf("depthwise: N%d C%d %dx%d k%dx%d s%d d%d pads %d,%d,%d,%d -> %dx%d: %s\n", s.N,
               s.C, s.H, s.W, s.KH, s.KW, s.SH, s.DH, s.PT, s.PL, d[10], d[11], s.OH, s.OW,
               ok ? "ok" : "FAIL");
    }
    printf("depthwise: %s (%d cases, %d failed)\n", n_failed ? "FAIL" : "PASS", n_cases,
           n_failed);
    return n_failed != 0;
}
