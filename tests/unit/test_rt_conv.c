/* test_rt_conv.c - rt_conv2d against a double-precision reference.
 *
 * An element passes when |got - exp| <= 1e-4 + 1e-4 * |exp| (exp computed
 * in double from the same float inputs: bias plus the sum over input
 * channels of the group and kernel taps whose input pixel lies inside the
 * image).  Inputs are uniform in [-1, 1] from a seeded PRNG.  Each case
 * also checks that y is write-only (it starts as NaN, so an element left
 * unwritten fails), and that scratch is used within rt_conv2d_scratch()
 * floats (malloc'ed to exactly that size at an odd float offset, starting
 * as NaN, so AddressSanitizer catches an overrun and nothing may assume it
 * is aligned or zeroed).
 * Covered: the depthwise direct path (also channel multipliers and C == 1),
 * the 1x1 GEMM path (also grouped), im2col over several pixel tiles
 * (tiles that split output rows, kernels larger than the column budget),
 * groups, strides, dilations, asymmetric padding, padding larger than the
 * kernel, 1-D convolutions (H = 1), batches, with and without bias; then
 * 3000 random shapes.  Exit status 0 when every case passes.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/rt.h"

#define ATOL 1e-4
#define RTOL 1e-4

#define RNG_SEED 0x2545F4914F6CDD1Du
#include "test_rand.h"
#include "test_conv_shape.h"

static int n_cases, n_failed;
static double worst_ratio; /* max |got - exp| / (ATOL + RTOL |exp|) */

static void print_shape(FILE *f, const rt_conv2d_shape *s)
{
    fprintf(f,
            "N=%d C=%d H=%d W=%d M=%d OH=%d OW=%d K=%dx%d S=%d,%d D=%d,%d "
            "P=%d,%d group=%d",
            s->N, s->C, s->H, s->W, s->M, s->OH, s->OW, s->KH, s->KW, s->SH,
            s->SW, s->DH, s->DW, s->PT, s->PL, s->group);
}

static int check(const rt_conv2d_shape *s, int with_bias, int soff)
{
    size_t nx = (size_t)s->N * s->C * s->H * s->W;
    size_t nw = (size_t)s->M * (s->C / s->group) * s->KH * s->KW;
    size_t ny = (size_t)s->N * s->M * s->OH * s->OW;
    size_t ns = rt_conv2d_scratch(s), i;
    float *x = xmalloc(sizeof(float) * nx);
    float *w = xmalloc(sizeof(float) * nw);
    float *b = with_bias ? xmalloc(sizeof(float) * (size_t)s->M) : NULL;
    float *y = xmalloc(sizeof(float) * ny);
    float *sbuf = ns ? xmalloc(sizeof(float) * (ns + (size_t)soff)) : NULL;
    float *scratch = ns ? sbuf + soff : NULL;
    int cg = s->C / s->group, mg = s->M / s->group;
    int n, m, oh, ow, c, kh, kw, bad = 0;
    double case_worst = 0;

    for (i = 0; i < nx; i++)
        x[i] = rng_uniform();
    for (i = 0; i < nw; i++)
        w[i] = rng_uniform();
    for (i = 0; b && i < (size_t)s->M; i++)
        b[i] = rng_uniform();
    for (i = 0; i < ny; i++)
        y[i] = NAN;
    for (i = 0; i < ns; i++)
        scratch[i] = NAN;

    rt_conv2d(s, x, w, b, y, scratch);

    for (n = 0; n < s->N && bad < 5; n++)
    for (m = 0; m < s->M && bad < 5; m++)
    for (oh = 0; oh < s->OH && bad < 5; oh++)
    for (ow = 0; ow < s->OW && bad < 5; ow++) {
        int g = m / mg;
        double exp = b ? b[m] : 0.0, got, ratio;
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
                    exp += (double)x[(((size_t)n * s->C + ci) * s->H + ih) * s->W + iw] *
                           w[(((size_t)m * cg + c) * s->KH + kh) * s->KW + kw];
                }
            }
        }
        got = y[(((size_t)n * s->M + m) * s->OH + oh) * s->OW + ow];
        ratio = fabs(got - exp) / (ATOL + RTOL * fabs(exp));
        if (!(ratio <= 1.0)) { /* also catches NaN: an unwritten y */
            fprintf(stderr, "  y[%d,%d,%d,%d] = %.9g, expected %.9g\n", n, m,
                    oh, ow, got, exp);
            bad++;
        } else if (ratio > case_worst) {
            case_worst = ratio;
        }
    }
    n_cases++;
    if (case_worst > worst_ratio)
        worst_ratio = case_worst;
    if (bad) {
        n_failed++;
        fprintf(stderr, "FAIL conv ");
        print_shape(stderr, s);
        fprintf(stderr, " bias=%d scratch=%zu+%d\n", with_bias, ns, soff);
    }
    free(x);
    free(w);
    free(b);
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
    {"depthwise 3x3 s1 p1", 1, 32, 14, 14, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 32},
    {"depthwise 3x3 s2 p1", 2, 16, 15, 16, 16, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 16},
    {"depthwise 5x5 s2 asym pad", 1, 8, 17, 12, 8, 5, 5, 2, 2, 1, 1, 2, 1, 1, 2, 8},
    {"depthwise dilated 3x3 d2", 1, 6, 11, 13, 6, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 6},
    {"depthwise multiplier 2", 1, 5, 9, 9, 10, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 5},
    {"depthwise multiplier 3, s3", 2, 4, 10, 11, 12, 3, 2, 3, 3, 1, 1, 0, 1, 2, 0, 4},
    {"single input channel (C=1)", 2, 1, 12, 12, 8, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0, 1},
    {"depthwise pad > kernel", 1, 3, 4, 5, 3, 2, 2, 1, 1, 1, 1, 5, 4, 6, 5, 3},
    {"1x1 GEMM path", 1, 64, 14, 14, 96, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1},
    {"1x1 GEMM path, batch 3, few M", 3, 20, 5, 7, 3, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1},
    {"1x1 grouped", 2, 32, 6, 6, 48, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 4},
    {"1x1 stride 2 (im2col)", 1, 24, 13, 13, 40, 1, 1, 2, 2, 1, 1, 0, 0, 0, 0, 1},
    {"1x1 padded (im2col)", 1, 8, 5, 6, 7, 1, 1, 1, 1, 1, 1, 1, 2, 1, 0, 1},
    {"3x3 s1 p1, tiles split rows", 1, 64, 28, 28, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
    {"3x3 kdim > column budget", 1, 256, 10, 10, 40, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
    {"7x7 s2 p3 stem", 1, 3, 56, 56, 16, 7, 7, 2, 2, 1, 1, 3, 3, 3, 3, 1},
    {"grouped 3x3 g=2", 2, 16, 9, 10, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2},
    {"grouped 3x3 g=4 s2", 1, 32, 12, 12, 32, 3, 3, 2, 2, 1, 1, 1, 1, 0, 0, 4},
    {"dilation 2x3, asym pads", 1, 5, 15, 17, 9, 3, 3, 1, 1, 2, 3, 2, 0, 1, 4, 1},
    {"stride 3x2 dilation 2", 2, 4, 20, 19, 6, 4, 3, 3, 2, 2, 2, 1, 3, 2, 0, 1},
    {"pad larger than kernel", 1, 3, 4, 4, 5, 2, 2, 1, 1, 1, 1, 5, 6, 5, 7, 1},
    {"kernel larger than input", 1, 2, 3, 3, 4, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2, 1},
    {"output smaller (floor)", 1, 3, 8, 9, 4, 3, 3, 2, 2, 1, 1, 0, 0, 0, 0, 1},
    {"1-D conv k5 d2 pads 3/4", 2, 6, 1, 50, 8, 1, 5, 1, 1, 1, 2, 0, 3, 0, 4, 1},
    {"1-D conv stride 2 grouped", 1, 8, 1, 33, 12, 1, 3, 1, 2, 1, 1, 0, 1, 0, 1, 2},
    {"1-D depthwise", 1, 7, 1, 40, 7, 1, 4, 1, 1, 1, 3, 0, 2, 0, 5, 7},
    {"1x1 output", 1, 10, 7, 7, 5, 7, 7, 1, 1, 1, 1, 0, 0, 0, 0, 1},
    {"many output pixels, small kdim", 1, 2, 140, 140, 4, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0, 1},
    {"tile boundary, kdim 27", 1, 3, 90, 91, 10, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
};

static void named_cases(void)
{
    int i, bias, before = n_failed, nn = (int)(sizeof named / sizeof named[0]);
    for (i = 0; i < nn; i++) {
        const struct named_case *c = &named[i];
        rt_conv2d_shape s = make_shape(c->N, c->C, c->H, c->W, c->M, c->KH,
                                       c->KW, c->SH, c->SW, c->DH, c->DW,
                                       c->PT, c->PL, c->PB, c->PR, c->group);
        int ok = 1;
        for (bias = 0; bias < 2; bias++)
            ok &= check(&s, bias, i & 3);
        printf("conv: %-32s ", c->what);
        print_shape(stdout, &s);
        printf(" scratch=%zu: %s\n", rt_conv2d_scratch(&s), ok ? "ok" : "FAIL");
    }
    printf("conv: %d named shapes x bias/no bias: %d failed\n", nn,
           n_failed - before);
}

static void random_cases(int count)
{
    int i, done = 0, before = n_failed;
    for (i = 0; done < count; i++) {
        int group = rng_int(1, 4);
        int cg = rng_int(1, 5), mg = rng_int(1, 6);
        int dw = rng_int(0, 3) == 0; /* one input channel per group */
        int KH = rng_int(1, 4), KW = rng_int(1, 4);
        int oned = rng_int(0, 5) == 0;
        rt_conv2d_shape s;
        if (dw) {
            cg = 1;
            group = rng_int(1, 8);
        }
        s = make_shape(rng_int(1, 2), group * cg, oned ? 1 : rng_int(1, 12),
                       rng_int(1, 12), group * mg, oned ? 1 : KH, KW,
                       oned ? 1 : rng_int(1, 3), rng_int(1, 3),
                       oned ? 1 : rng_int(1, 3), rng_int(1, 3),
                       oned ? 0 : rng_int(0, 4), rng_int(0, 4),
                       oned ? 0 : rng_int(0, 4), rng_int(0, 4), group);
        if (s.OH <= 0 || s.OW <= 0)
            continue;
        check(&s, rng_int(0, 1), rng_int(0, 3));
        done++;
    }
    printf("conv: %d random shapes (groups, depthwise, 1-D, strides 1-3, "
           "dilations 1-3, pads 0-4 each side): %d failed\n",
           count, n_failed - before);
}

/* No input channels (C == 0): the output is the bias (or 0). */
static void no_channels(void)
{
    rt_conv2d_shape s = make_shape(2, 0, 4, 5, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1,
                                   1, 1);
    int ok = check(&s, 1, 1);
    ok &= check(&s, 0, 0);
    printf("conv: no input channels (C == 0): %s\n", ok ? "ok" : "FAIL");
}

/* An empty output writes nothing and needs no scratch. */
static void empty_output(void)
{
    rt_conv2d_shape s = make_shape(1, 2, 3, 3, 2, 5, 5, 1, 1, 1, 1, 0, 0, 0,
                                   0, 1); /* OH = OW = -1 */
    float x[18], w[100], y[1] = {42.0f};
    int ok;
    memset(x, 0, sizeof x);
    memset(w, 0, sizeof w);
    s.OH = 0;
    rt_conv2d(&s, x, w, NULL, y, NULL);
    ok = rt_conv2d_scratch(&s) == 0 && y[0] == 42.0f;
    if (!ok)
        n_failed++;
    printf("conv: empty output (OH == 0): %s\n", ok ? "ok" : "FAIL");
}

int main(void)
{
    printf("conv: tolerance |got-exp| <= %g + %g*|exp|, exp in double\n", ATOL,
           RTOL);
    named_cases();
    random_cases(3000);
    no_channels();
    empty_output();
    printf("conv: worst |got-exp| / (atol + rtol*|exp|) = %.3f\n", worst_ratio);
    if (n_failed) {
        printf("conv: FAIL (%d of %d cases)\n", n_failed, n_cases);
        return 1;
    }
    printf("conv: PASS (%d cases)\n", n_cases);
    return 0;
}
