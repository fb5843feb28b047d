/* test_rt_conv_fused.c - rt_conv2d_fused (packed weights, every algorithm,
 * epilogue) and rt_conv2d_dw against a double-precision reference.
 *
 * Reference: in double from the same float inputs, v = bias + sum over the
 * group's input channels and the taps inside the image, then + residual,
 * then the activation (rt_act formulas in double).  An element passes when
 * |got - exp| <= 1e-4 + 1e-4 * |exp| + 4 sqrt(k) u sqrt(sum (x w)^2): the
 * kernels sum k products in float with fused multiply-adds, and the last
 * term bounds that rounding as a random walk (u = 2^-24).  It is below
 * 2e-6 up to a few hundred terms; the K-blocked cases (about 5000 terms)
 * need it, their float error reaching 1e-4 where the sum nearly cancels.
 * The algorithm is rt_conv2d_algo's without Winograd, which
 * test_rt_winograd checks with its own tolerance.  Inputs are uniform in
 * [-1, 1].
 * y starts as NaN (an unwritten element fails); scratch is malloc'ed to
 * exactly rt_conv2d_fused_scratch() floats at an odd float offset and
 * starts as NaN.
 * Covered: each algorithm (depthwise, implicit GEMM; packed and raw
 * weights), every activation, residual (also in place: y == residual),
 * depthwise 3x3 stride 1/2 fast paths at many widths and paddings
 * (including rows too wide for the strip buffers, which take the generic
 * path, and the 16-channel blocked path for small planes, partial last
 * blocks), 1x1 straight from x, phase planes for strides 2-3 and dilations,
 * groups, tiles of every remainder, batches; then random shapes.
 * Exit status 0 when every case passes.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/rt_conv.h"

#define ATOL 1e-4
#define RTOL 1e-4

#define RNG_SEED 0x9E3779B97F4A7C15u
#include "test_rand.h"
#include "test_conv_shape.h"
#include "test_act_ref.h"
#include "test_tally.h"

static void print_shape(FILE *f, const rt_conv2d_shape *s)
{
    fprintf(f, "N=%d C=%d H=%d W=%d M=%d OH=%d OW=%d K=%dx%d S=%d,%d D=%d,%d P=%d,%d g=%d",
            s->N, s->C, s->H, s->W, s->M, s->OH, s->OW, s->KH, s->KW, s->SH, s->SW,
            s->DH, s->DW, s->PT, s->PL, s->group);
}

/* One case.  how: 0 packed weights, 1 raw weights (RT_CONV_RAW_WEIGHTS),
 * 2 rt_conv2d_dw directly (depthwise shapes only).  res: 0 none, 1 a
 * separate residual, 2 in place (y holds the residual on entry). */
static int check(const rt_conv2d_shape *s, int algo, int how, int with_bias,
                 int res, int act, int soff)
{
    size_t nx = (size_t)s->N * s->C * s->H * s->W;
    size_t nw = (size_t)s->M * (s->C / s->group) * s->KH * s->KW;
    size_t ny = (size_t)s->N * s->M * s->OH * s->OW;
    int a = how == 1 ? algo | RT_CONV_RAW_WEIGHTS : algo;
    size_t np = rt_conv2d_packed_size(s, algo);
    size_t ns = how == 2 ? rt_conv2d_dw_scratch(s) : rt_conv2d_fused_scratch(s, a), i;
    float *x = xmalloc(sizeof(float) * nx);
    float *w = xmalloc(sizeof(float) * nw);
    float *wp = how == 0 ? xmalloc(sizeof(float) * (np + 1)) : NULL;
    float *b = with_bias ? xmalloc(sizeof(float) * (size_t)s->M) : NULL;
    float *r = res ? xmalloc(sizeof(float) * ny) : NULL;
    float *y = xmalloc(sizeof(float) * ny);
    float *sbuf = ns ? xmalloc(sizeof(float) * (ns + (size_t)soff)) : NULL;
    float *scratch = ns ? sbuf + soff : NULL;
    float alpha = act == RT_ACT_CLIP ? -0.5f : 0.1f, beta = 0.75f;
    int cg = s->C / s->group, mg = s->M / s->group;
    int n, m, oh, ow, c, kh, kw, bad = 0;
    double case_worst = 0;

    for (i = 0; i < nx; i++)
        x[i] = rng_uniform();
    for (i = 0; i < nw; i++)
        w[i] = rng_uniform();
    for (i = 0; b && i < (size_t)s->M; i++)
        b[i] = rng_uniform();
    for (i = 0; r && i < ny; i++)
        r[i] = rng_uniform();
    for (i = 0; i < ny; i++)
        y[i] = res == 2 ? r[i] : NAN;
    for (i = 0; i < ns; i++)
        scratch[i] = NAN;
    if (wp)
        rt_conv2d_pack(s, algo, w, wp);

    if (how == 2)
        rt_conv2d_dw(s, x, w, b, res == 1 ? r : res == 2 ? y : NULL, act, alpha, beta, y,
                     scratch);
    else
        rt_conv2d_fused(s, a, x, how == 0 ? wp : w, b, res == 1 ? r : res == 2 ? y : NULL,
                        act, alpha, beta, y, scratch);

    for (n = 0; n < s->N && bad < 5; n++)
    for (m = 0; m < s->M && bad < 5; m++)
    for (oh = 0; oh < s->OH && bad < 5; oh++)
    for (ow = 0; ow < s->OW && bad < 5; ow++) {
        int g = m / mg;
        size_t yi = (((size_t)n * s->M + m) * s->OH + oh) * s->OW + ow;
        double exp = b ? b[m] : 0.0, sq = 0.0, got, ratio, p;
        long k = 0;
        for (c = 0; c < cg; c++) {
            int ci = g * cg + c;
            for (kh = 0; kh < s->KH; kh++) {
                int ih = oh * s->SH - s->PT + kh * s->DH;
                if (ih < 0 || ih >= s->H)
                    continue;
                for (kw = 0; kw < s->KW; kw++) {
                    int iw = ow * s->SW - s->PL + kw * s->DW;
                    if (iw < 0 || iw >= s->W)
                        continue;
                    p = (double)x[(((size_t)n * s->C + ci) * s->H + ih) * s->W + iw] *
                        w[(((size_t)m * cg + c) * s->KH + kh) * s->KW + kw];
                    exp += p;
                    sq += p * p;
                    k++;
                }
            }
        }
        if (r)
            exp += r[yi];
        exp = act_ref(act, alpha, beta, exp);
        got = y[yi];
        ratio = sum_error_ratio(got, exp, (double)k, sq, ATOL, RTOL);
        if (!(ratio <= 1.0)) {
            fprintf(stderr, "  y[%d,%d,%d,%d] = %.9g, expected %.9g\n", n, m, oh, ow, got, exp);
            bad++;
        } else if (ratio > case_worst) {
            case_worst = ratio;
        }
    }
    if (tally_case(case_worst, bad)) {
        fprintf(stderr, "FAIL ");
        print_shape(stderr, s);
        fprintf(stderr, " algo=%d how=%d bias=%d res=%d act=%d scratch=%zu+%d\n", algo, how,
                with_bias, res, act, ns, soff);
    }
    free(x);
    free(w);
    free(wp);
    free(b);
    free(r);
    free(y);
    free(sbuf);
    return bad == 0;
}

struct named_case {
    const char *what;
    int N, C, H, W, M, KH, KW, SH, SW, DH, DW, PT, PL, PB, PR, group;
};

/* N C H W M KH KW SH SW DH DW PT PL PB PR group */
static const struct named_case named[] = {
    {"dw 3x3 s1 p1 14x14", 1, 24, 14, 14, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 24},
    {"dw 3x3 s1 p1 7x7", 2, 5, 7, 7, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 5},
    {"dw 3x3 s1 p1 56x57 (strips)", 1, 3, 56, 57, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 3},
    {"dw 3x3 s1 p0", 1, 4, 9, 20, 4, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0, 4},
    {"dw 3x3 s1 asym pads", 1, 4, 11, 18, 4, 3, 3, 1, 1, 1, 1, 2, 0, 0, 3, 4},
    {"dw 3x3 s1 wide rows (generic)", 1, 2, 5, 700, 2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2},
    {"dw 3x3 s2 p1 even", 1, 6, 28, 28, 6, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 6},
    {"dw 3x3 s2 p1 odd", 1, 6, 15, 17, 6, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 6},
    {"dw 3x3 s2 p0", 2, 3, 13, 33, 3, 3, 3, 2, 2, 1, 1, 0, 0, 0, 0, 3},
    {"dw 3x3 s2 pad 2/3", 1, 3, 12, 40, 3, 3, 3, 2, 2, 1, 1, 2, 3, 1, 0, 3},
    {"dw 3x3 s2 112x112 (strips)", 1, 2, 112, 112, 2, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 2},
    {"dw 3x3 s2 wide rows (generic)", 1, 2, 7, 900, 2, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 2},
    {"dw 3x3 s1 tiny 1x1", 1, 3, 1, 1, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 3},
    {"dw blocked 7x7 s1, 40 channels", 2, 40, 7, 7, 40, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 40},
    {"dw blocked 14x14 s2, 16 channels", 1, 16, 14, 14, 16, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 16},
    {"dw blocked 13x11 s2 odd", 1, 33, 13, 11, 33, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 33},
    {"dw blocked 14x14 s1 (MobileNetV2)", 1, 48, 14, 14, 48, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 48},
    {"dw blocked 12x12 s1 pad 0/2", 1, 17, 12, 12, 17, 3, 3, 1, 1, 1, 1, 0, 2, 2, 0, 17},
    {"dw blocked 5x9 s1 asym", 1, 20, 5, 9, 20, 3, 3, 1, 1, 1, 1, 2, 0, 0, 1, 20},
    {"dw blocked 2x2 s2 pad 2", 1, 16, 2, 2, 16, 3, 3, 2, 2, 1, 1, 2, 2, 1, 1, 16},
    {"dw 5x5 s1 (generic)", 1, 4, 12, 12, 4, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2, 4},
    {"dw 3x3 s2x1 (generic)", 1, 4, 12, 12, 4, 3, 3, 2, 1, 1, 1, 1, 1, 1, 1, 4},
    {"dw 3x3 dilated (generic)", 1, 4, 12, 12, 4, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 4},
    {"1x1 from x", 1, 64, 20, 20, 96, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1},
    {"1x1 from x, M % 8 != 0", 2, 20, 5, 7, 13, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1},
    {"1x1 stride 2", 1, 24, 13, 13, 40, 1, 1, 2, 2, 1, 1, 0, 0, 0, 0, 1},
    {"1x1 padded", 1, 8, 5, 6, 7, 1, 1, 1, 1, 1, 1, 1, 2, 1, 0, 1},
    {"3x3 s1 p1 28x28", 1, 32, 28, 28, 40, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
    {"3x3 s1 p1 7x7", 1, 64, 7, 7, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
    {"3x3 s2 p1", 1, 16, 14, 15, 24, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1},
    {"3x3 s2 p0 (squeezenet stem)", 1, 3, 31, 31, 16, 3, 3, 2, 2, 1, 1, 0, 0, 0, 0, 1},
    {"7x7 s2 p3 stem", 1, 3, 40, 40, 16, 7, 7, 2, 2, 1, 1, 3, 3, 3, 3, 1},
    {"grouped 3x3 g=2", 2, 16, 9, 10, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2},
    {"grouped 3x3 g=4 s2", 1, 32, 12, 12, 32, 3, 3, 2, 2, 1, 1, 1, 1, 0, 0, 4},
    {"channel multiplier 2", 1, 5, 9, 9, 10, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 5},
    {"dilation 2x3 asym pads", 1, 5, 15, 17, 9, 3, 3, 1, 1, 2, 3, 2, 0, 1, 4, 1},
    {"stride 3x2 dilation 2", 2, 4, 20, 19, 6, 4, 3, 3, 2, 2, 2, 1, 3, 2, 0, 1},
    {"pad larger than kernel", 1, 3, 4, 4, 5, 2, 2, 1, 1, 1, 1, 5, 6, 5, 7, 1},
    {"1-D k5 d2", 2, 6, 1, 50, 8, 1, 5, 1, 1, 1, 2, 0, 3, 0, 4, 1},
    {"3x3 K 1152 in channel slices", 1, 128, 9, 11, 40, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
    {"1-D 200 ch x 8 taps, slices", 1, 200, 1, 50, 33, 1, 8, 1, 1, 1, 1, 0, 3, 0, 4, 1},
    {"3x3 K 144 packed, 5 panels", 1, 16, 12, 13, 40, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
    {"grouped 3x3 g=2, slices", 1, 256, 6, 7, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2},
    {"big K (3x3 x 300 ch)", 1, 300, 6, 6, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
    {"many taps (1x40)", 1, 2, 3, 60, 9, 1, 40, 1, 1, 1, 1, 0, 5, 0, 5, 1},
    {"small plane 1x1 7x7", 1, 40, 7, 7, 64, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1},
    {"small plane 3x3 p1 7x7", 2, 24, 7, 7, 96, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
    {"small plane 1x1 s2 14->7", 1, 48, 14, 14, 128, 1, 1, 2, 2, 1, 1, 0, 0, 0, 0, 1},
    {"small plane 3x3 s2 14->7", 1, 20, 14, 14, 32, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1},
    {"small plane 1x1 13x13 M 100", 1, 33, 13, 13, 100, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1},
    {"small plane grouped 3x3 g=2", 1, 16, 9, 9, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2},
    {"small plane K blocked (4680)", 2, 520, 7, 7, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
    {"small plane K blocked 1x1 (5000)", 1, 5000, 5, 6, 96, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1},
    {"small plane 1x1 K 64, 14x14", 1, 64, 14, 14, 96, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1},
};

static void named_cases(void)
{
    int i, act, nn = (int)(sizeof named / sizeof named[0]), before = n_failed;
    for (i = 0; i < nn; i++) {
        const struct named_case *c = &named[i];
        rt_conv2d_shape s = make_shape(c->N, c->C, c->H, c->W, c->M, c->KH, c->KW, c->SH,
                                       c->SW, c->DH, c->DW, c->PT, c->PL, c->PB, c->PR,
                                       c->group);
        int algo = rt_conv2d_algo(&s, RT_CONV_NO_WINOGRAD), dw = algo == RT_CONV_ALGO_DW, ok = 1;
        ok &= check(&s, algo, 0, 1, 0, RT_ACT_NONE, i & 3);
        ok &= check(&s, algo, 1, 0, 0, RT_ACT_RELU, (i + 1) & 3);
        ok &= check(&s, algo, 0, 1, 1, RT_ACT_CLIP, (i + 2) & 3);
        ok &= check(&s, algo, 0, 1, 2, RT_ACT_RELU, (i + 3) & 3);
        if (dw)
            ok &= check(&s, algo, 2, 1, 1, RT_ACT_LEAKY_RELU, 0);
        for (act = RT_ACT_LEAKY_RELU; act <= RT_ACT_LAST; act++)
            ok &= check(&s, algo, 0, 1, act & 1, act, act & 3);
        printf("conv_fused: %-30s algo=%d ", c->what, algo);
        print_shape(stdout, &s);
        printf(": %s\n", ok ? "ok" : "FAIL");
    }
    printf("conv_fused: %d named shapes x weights/bias/residual/activations: %d failed\n", nn,
           n_failed - before);
}

static void random_cases(int count)
{
    int i, done = 0, before = n_failed;
    for (i = 0; done < count; i++) {
        int group = rng_int(1, 4), cg = rng_int(1, 9), mg = rng_int(1, 20);
        int kind = rng_int(0, 3); /* 0: depthwise 3x3, 1: depthwise any, 2-3: any */
        int KH = rng_int(1, 4), KW = rng_int(1, 4), S = rng_int(1, 3);
        rt_conv2d_shape s;
        if (kind <= 1) {
            group = rng_int(1, 40);
            cg = mg = 1;
            if (kind == 0) {
                KH = KW = 3;
                S = rng_int(1, 2);
            }
        }
        s = make_shape(rng_int(1, 2), group * cg, rng_int(1, kind == 0 ? 60 : 40),
                       rng_int(1, kind == 0 ? 60 : 40), group * mg,
                       KH, KW, kind == 0 ? S : rng_int(1, 3), kind == 0 ? S : rng_int(1, 3),
                       kind == 0 ? 1 : rng_int(1, 2), kind == 0 ? 1 : rng_int(1, 2),
                       rng_int(0, 3), rng_int(0, 3), rng_int(0, 3), rng_int(0, 3), group);
        if (s.OH <= 0 || s.OW <= 0)
            continue;
        check(&s, rt_conv2d_algo(&s, RT_CONV_NO_WINOGRAD), rng_int(0, 1), rng_int(0, 1), rng_int(0, 2),
              rng_int(0, RT_ACT_HARD_SWISH), rng_int(0, 3));
        done++;
    }
    printf("conv_fused: %d random shapes (depthwise 3x3 s1/s2, depthwise any, grouped, "
           "strides 1-3, dilations 1-2, pads 0-3, every epilogue): %d failed\n",
           count, n_failed - before);
}

/* conv_small.c on shapes its picker may not choose (any channel count),
 * every tile remainder, strides, dilations, pads, groups, epilogues. */
static void small_plane_cases(int count)
{
    int i, done = 0, before = n_failed;
    for (i = 0; done < count; i++) {
        int group = rng_int(1, 2), cg = rng_int(1, 24), mg = rng_int(1, 70);
        rt_conv2d_shape s = make_shape(rng_int(1, 2), group * cg, rng_int(1, 18),
                                       rng_int(1, 18), group * mg, rng_int(1, 3),
                                       rng_int(1, 3), rng_int(1, 2), rng_int(1, 2),
                                       rng_int(1, 2), rng_int(1, 2), rng_int(0, 2),
                                       rng_int(0, 2), rng_int(0, 2), rng_int(0, 2), group);
        if (s.OH <= 0 || s.OW <= 0)
            continue;
        check(&s, RT_CONV_ALGO_SMALL, rng_int(0, 1), rng_int(0, 1), rng_int(0, 2),
              rng_int(0, RT_ACT_HARD_SWISH), rng_int(0, 3));
        done++;
    }
    printf("conv_fused: %d random shapes on the small-plane algorithm: %d failed\n", count,
           n_failed - before);
}

int main(void)
{
    named_cases();
    random_cases(1500);
    small_plane_cases(400);
    printf("conv_fused: worst |got-exp| / tolerance = %.3f\n", worst_ratio);
    printf("conv_fused: %s (%d cases)\n", n_failed ? "FAIL" : "PASS", n_cases);
    return n_failed != 0;
}
