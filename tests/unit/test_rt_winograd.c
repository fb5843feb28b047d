/* test_rt_winograd.c - Winograd F(4x4, 3x3) (rt_winograd through
 * rt_conv2d_fused, weights packed by rt_conv2d_pack) against a
 * double-precision direct convolution.
 *
 * Tolerance.  The transforms scale inputs by up to ~10 before the channel
 * sum and cancel afterwards, so Winograd's rounding error is not bounded by
 * eps * |result| but by eps times the size of the terms: an output passes
 * when
 *     |got - exp| <= WG_TOL * (|bias| + |residual| + sum |x * w|)
 * with WG_TOL = 3e-5, the sum over the taps the output reads (at most
 * 9*C terms).  Measured worst on these cases: about 1e-5 (so the bound has
 * ~3x margin); a direct float sum stays below ~1e-7 of that scale.  The
 * activation is applied to both sides (none is steeper than 1.5, and the
 * vectorised exp-based ones add < 1e-6 relative).
 * The test also prints the worst ratio |got - exp| / scale seen.
 * Inputs uniform in [-1, 1]; y starts as NaN (unwritten elements fail);
 * scratch exactly rt_conv2d_fused_scratch() floats at an odd offset, NaN.
 * Covered: the ResNet-50 / SqueezeNet shapes scaled down, sizes not
 * multiples of 4 (partial tiles), 1x1 and 2x2 outputs, padding 0/1/2 and
 * asymmetric, wide images (blocks of one tile row), batches, bias,
 * residual (also in place), Relu/Clip/LeakyRelu/SiLU/none; then random
 * shapes with any activation.
 * Exit status 0 when every case passes.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/rt_conv.h"

#define WG_TOL 3e-5

#define RNG_SEED 0x1234567887654321u
#include "test_act_ref.h"
#include "test_rand.h"
#include "test_conv_shape.h"

static int n_cases, n_failed;
static double worst;

/* res: 0 none, 1 separate, 2 in place. */
static int check(int N, int C, int H, int W, int M, int pt, int pl, int pb, int pr,
                 int with_bias, int res, int act, int soff)
{
    rt_conv2d_shape s;
    size_t nx, nw, ny, np, ns, i;
    float *x, *w, *wp, *b, *r, *y, *sbuf, *scratch;
    float alpha = act == RT_ACT_CLIP ? -0.5f : 0.1f, beta = 0.75f;
    int n, m, oh, ow, c, kh, kw, bad = 0, algo;
    double case_worst = 0;
    s = make_shape(N, C, H, W, M, 3, 3, 1, 1, 1, 1, pt, pl, pb, pr, 1);
    if (s.OH <= 0 || s.OW <= 0)
        return 1;
    /* the kernel itself, also on shapes rt_conv2d_algo gives to the GEMM */
    algo = RT_CONV_ALGO_WINOGRAD;
    if (!rt_winograd_fits(&s) ||
        rt_conv2d_algo(&s, RT_CONV_NO_WINOGRAD) == RT_CONV_ALGO_WINOGRAD) {
        fprintf(stderr, "FAIL: Winograd does not fit, or is chosen despite the flag\n");
        n_failed++;
        return 0;
    }
    nx = (size_t)N * C * H * W;
    nw = (size_t)M * C * 9;
    ny = (size_t)N * M * s.OH * s.OW;
    np = rt_conv2d_packed_size(&s, algo);
    ns = rt_conv2d_fused_scratch(&s, algo);
    x = xmalloc(nx * sizeof *x);
    w = xmalloc(nw * sizeof *w);
    wp = xmalloc(np * sizeof *wp);
    b = with_bias ? xmalloc((size_t)M * sizeof *b) : NULL;
    r = res ? xmalloc(ny * sizeof *r) : NULL;
    y = xmalloc(ny * sizeof *y);
    sbuf = xmalloc((ns + (size_t)soff) * sizeof *sbuf);
    scratch = sbuf + soff;
    for (i = 0; i < nx; i++)
        x[i] = rng_uniform();
    for (i = 0; i < nw; i++)
        w[i] = rng_uniform();
    for (i = 0; b && i < (size_t)M; i++)
        b[i] = rng_uniform();
    for (i = 0; r && i < ny; i++)
        r[i] = rng_uniform();
    for (i = 0; i < ny; i++)
        y[i] = res == 2 ? r[i] : NAN;
    for (i = 0; i < ns; i++)
        scratch[i] = NAN;
    rt_conv2d_pack(&s, algo, w, wp);
    rt_conv2d_fused(&s, algo, x, wp, b, res == 1 ? r : res == 2 ? y : NULL, act, alpha,
                    beta, y, scratch);
    for (n = 0; n < N && bad < 5; n++)
    for (m = 0; m < M && bad < 5; m++)
    for (oh = 0; oh < s.OH && bad < 5; oh++)
    for (ow = 0; ow < s.OW && bad < 5; ow++) {
        size_t yi = (((size_t)n * M + m) * s.OH + oh) * s.OW + ow;
        double exp = b ? b[m] : 0.0, scale = b ? fabs(b[m]) : 0.0, got, ratio;
        for (c = 0; c < C; c++)
            for (kh = 0; kh < 3; kh++) {
                int ih = oh - pt + kh;
                if (ih < 0 || ih >= H)
                    continue;
                for (kw = 0; kw < 3; kw++) {
                    int iw = ow - pl + kw;
                    double t;
                    if (iw < 0 || iw >= W)
                        continue;
                    t = (double)x[(((size_t)n * C + c) * H + ih) * W + iw] *
                        w[(((size_t)m * C + c) * 3 + kh) * 3 + kw];
                    exp += t;
                    scale += fabs(t);
                }
            }
        if (r) {
            exp += r[yi];
            scale += fabs(r[yi]);
        }
        exp = act_ref(act, alpha, beta, exp);
        got = y[yi];
        ratio = fabs(got - exp) / (scale > 0 ? scale : 1e-30);
        if (!(fabs(got - exp) <= WG_TOL * scale + 1e-30)) {
            fprintf(stderr, "  y[%d,%d,%d,%d] = %.9g, expected %.9g (scale %.3g)\n", n, m,
                    oh, ow, got, exp, scale);
            bad++;
        } else if (ratio > case_worst) {
            case_worst = ratio;
        }
    }
    n_cases++;
    if (case_worst > worst)
        worst = case_worst;
    if (bad) {
        n_failed++;
        fprintf(stderr, "FAIL winograd N=%d C=%d H=%d W=%d M=%d pads %d,%d,%d,%d bias=%d res=%d act=%d\n",
                N, C, H, W, M, pt, pl, pb, pr, with_bias, res, act);
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
    int N, C, H, W, M, pt, pl, pb, pr;
};

static const struct named_case named[] = {
    {"resnet 56x56 (fewer channels)", 1, 16, 56, 56, 32, 1, 1, 1, 1},
    {"resnet 28x28", 1, 32, 28, 28, 32, 1, 1, 1, 1},
    {"resnet 14x14, 256 channels", 1, 256, 14, 14, 64, 1, 1, 1, 1},
    {"resnet 7x7, 512 channels", 1, 512, 7, 7, 32, 1, 1, 1, 1},
    {"squeezenet 55x55", 1, 16, 55, 55, 64, 1, 1, 1, 1},
    {"squeezenet 13x13", 1, 48, 13, 13, 48, 1, 1, 1, 1},
    {"no padding", 2, 8, 10, 11, 16, 0, 0, 0, 0},
    {"padding 2 and asymmetric", 1, 8, 9, 13, 16, 2, 0, 1, 2},
    {"1x1 output", 1, 8, 3, 3, 16, 0, 0, 0, 0},
    {"2x5 output", 1, 4, 4, 7, 16, 0, 0, 0, 0},
    {"wide row (block = one tile row)", 1, 4, 6, 300, 16, 1, 1, 1, 1},
    {"M not a multiple of 32", 2, 12, 17, 19, 48, 1, 1, 1, 1},
    {"one channel", 1, 1, 12, 12, 16, 1, 1, 1, 1},
};

/* rt_conv2d_algo's choice on the benchmark networks' 3x3 shapes. */
static void selection(void)
{
    /* C H M: Winograd expected from 13x13 up, not at 7x7 (small-plane
     * GEMM there: conv_small.c) */
    static const int shp[][4] = {{64, 56, 64, 1}, {128, 28, 128, 1}, {256, 14, 256, 1},
                                 {512, 7, 512, 0}, {16, 55, 64, 1}, {48, 13, 192, 1}};
    int i;
    for (i = 0; i < (int)(sizeof shp / sizeof shp[0]); i++) {
        rt_conv2d_shape s = {1, 0, 0, 0, 0, 0, 0, 3, 3, 1, 1, 1, 1, 1, 1, 1};
        int want;
        s.C = shp[i][0];
        s.H = s.W = s.OH = s.OW = shp[i][1];
        s.M = shp[i][2];
        want = shp[i][3] ? RT_CONV_ALGO_WINOGRAD : RT_CONV_ALGO_SMALL;
        n_cases++;
        if (rt_conv2d_algo(&s, 0) != want) {
            n_failed++;
            fprintf(stderr, "FAIL: %dx%d C=%d M=%d: algorithm %d, expected %d\n", s.H, s.W,
                    s.C, s.M, rt_conv2d_algo(&s, 0), want);
        }
    }
    printf("winograd: selection on the ResNet-50/SqueezeNet 3x3 shapes checked\n");
}

int main(void)
{
    int i, nn = (int)(sizeof named / sizeof named[0]), done = 0, before;
    for (i = 0; i < nn; i++) {
        const struct named_case *c = &named[i];
        int ok = 1;
        ok &= check(c->N, c->C, c->H, c->W, c->M, c->pt, c->pl, c->pb, c->pr, 1, 0,
                    RT_ACT_NONE, i & 3);
        ok &= check(c->N, c->C, c->H, c->W, c->M, c->pt, c->pl, c->pb, c->pr, 1, 1,
                    RT_ACT_RELU, (i + 1) & 3);
        ok &= check(c->N, c->C, c->H, c->W, c->M, c->pt, c->pl, c->pb, c->pr, 0, 2,
                    RT_ACT_CLIP, (i + 2) & 3);
        ok &= check(c->N, c->C, c->H, c->W, c->M, c->pt, c->pl, c->pb, c->pr, 1, 0,
                    RT_ACT_LEAKY_RELU, (i + 3) & 3);
        ok &= check(c->N, c->C, c->H, c->W, c->M, c->pt, c->pl, c->pb, c->pr, 1, i & 1,
                    RT_ACT_SILU, i & 3);
        printf("winograd: %-34s N=%d C=%d %dx%d M=%d pads %d,%d,%d,%d: %s\n", c->what, c->N,
               c->C, c->H, c->W, c->M, c->pt, c->pl, c->pb, c->pr, ok ? "ok" : "FAIL");
    }
    selection();
    before = n_failed;
    while (done < 300) {
        int H = rng_int(1, 30), W = rng_int(1, 30);
        int pt = rng_int(0, 2), pl = rng_int(0, 2), pb = rng_int(0, 2), pr = rng_int(0, 2);
        if (H + pt + pb < 3 || W + pl + pr < 3)
            continue;
        check(rng_int(1, 2), rng_int(1, 40), H, W, 16 * rng_int(1, 5), pt, pl, pb, pr,
              rng_int(0, 1), rng_int(0, 2), rng_int(0, RT_ACT_LAST), rng_int(0, 3));
        done++;
    }
    printf("winograd: %d random shapes (1-30 pixels, 1-40 channels, M 16-80, pads 0-2): "
           "%d failed\n", done, n_failed - before);
    printf("winograd: worst |got - exp| / scale = %.3g (tolerance %.3g)\n", worst, WG_TOL);
    printf("winograd: %s (%d cases)\n", n_failed ? "FAIL" : "PASS", n_cases);
    return n_failed != 0;
}
