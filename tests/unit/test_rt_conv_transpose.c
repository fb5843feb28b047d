/* test_rt_conv_transpose.c - rt_conv_transpose2d (GEMM + col2im, packed
 * and raw weights, epilogue) against a double-precision reference.
 *
 * Reference: in double from the same float inputs, every input pixel and
 * tap scattered onto its output pixel (ih*SH - PT + kh*DH,
 * iw*SW - PL + kw*DW) when that is inside the output, from the bias; then
 * + residual and the activation (test_act_ref.h).  An element passes when
 * |got - exp| <= 1e-4 + 1e-4 |exp| + 4 sqrt(k) u sqrt(sum (x w)^2), k the
 * number of products in its sum (u = 2^-24: float rounding of a k-term sum
 * as a random walk, as test_rt_conv_fused.c).  Inputs are uniform in
 * [-1, 1].  y starts as NaN (an element left unwritten fails); scratch is
 * malloc'ed to exactly rt_conv_transpose2d_scratch() floats at an odd
 * float offset and starts as NaN; packed weights get one NaN float past
 * rt_conv_transpose2d_packed_size() that must stay unread.
 * Covered: 1-D (H = 1) and 2-D, strides 1-4, dilations 1-3, pads cropping
 * the output (also more than a kernel span), output_padding and outputs
 * extended past the last input (rows and columns only the bias reaches),
 * groups, batches, every activation, residual, no bias; input-row blocks
 * (cols over RT_CONV_TRANSPOSE_COLS), among them blocks that reach no
 * output row; then random shapes.  Exit status 0 when every case passes.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/rt_conv.h"

#define ATOL 1e-4
#define RTOL 1e-4

#define RNG_SEED 0xD1B54A32D192ED03u
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

/* The transposed shape: output (ONNX) = S*(in-1) + D*(K-1) + 1 -
 * pad_begin - pad_end, plus `extra` rows and columns past that (output
 * padding, or an ONNX output_shape that extends it). */
static rt_conv2d_shape make_tshape(int N, int C, int H, int W, int M, int KH, int KW, int SH,
                                   int SW, int DH, int DW, int PT, int PL, int pb, int pr,
                                   int extra_h, int extra_w, int group)
{
    rt_conv2d_shape s = make_shape(N, C, H, W, M, KH, KW, SH, SW, DH, DW, PT, PL, 0, 0, group);
    s.OH = SH * (H - 1) + DH * (KH - 1) + 1 - PT - pb + extra_h;
    s.OW = SW * (W - 1) + DW * (KW - 1) + 1 - PL - pr + extra_w;
    return s;
}

/* One case.  packed: weights through rt_conv_transpose2d_pack. */
static int check(const rt_conv2d_shape *s, int packed, int with_bias, int res, int act,
                 int soff)
{
    size_t nx = (size_t)s->N * s->C * s->H * s->W;
    size_t nw = (size_t)s->C * (s->M / s->group) * s->KH * s->KW;
    size_t ny = (size_t)s->N * s->M * s->OH * s->OW;
    size_t np = rt_conv_transpose2d_packed_size(s);
    size_t ns = rt_conv_transpose2d_scratch(s), i;
    float *x = xmalloc(sizeof(float) * nx);
    float *w = xmalloc(sizeof(float) * nw);
    float *wp = packed ? xmalloc(sizeof(float) * (np + 1)) : NULL;
    float *b = with_bias ? xmalloc(sizeof(float) * (size_t)s->M) : NULL;
    float *r = res ? xmalloc(sizeof(float) * ny) : NULL;
    float *y = xmalloc(sizeof(float) * ny);
    float *sbuf = ns ? xmalloc(sizeof(float) * (ns + (size_t)soff)) : NULL;
    float *scratch = ns ? sbuf + soff : NULL;
    double *ref = xmalloc(sizeof(double) * ny), *sq = xmalloc(sizeof(double) * ny);
    long *k = xmalloc(sizeof(long) * ny);
    float alpha = act == RT_ACT_CLIP ? -0.5f : 0.1f, beta = 0.75f;
    int cg = s->C / s->group, mg = s->M / s->group;
    int n, m, c, ih, iw, kh, kw, bad = 0;
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
        y[i] = NAN;
    for (i = 0; i < ns; i++)
        scratch[i] = NAN;
    if (wp) {
        wp[np] = NAN;
        rt_conv_transpose2d_pack(s, w, wp);
    }

    rt_conv_transpose2d(s, packed, x, packed ? wp : w, b, r, act, alpha, beta, y, scratch);

    for (i = 0; i < ny; i++) {
        ref[i] = sq[i] = 0;
        k[i] = 0;
    }
    for (n = 0; n < s->N; n++)
    for (c = 0; c < s->C; c++)
    for (ih = 0; ih < s->H; ih++)
    for (iw = 0; iw < s->W; iw++)
    for (m = 0; m < mg; m++)
    for (kh = 0; kh < s->KH; kh++)
    for (kw = 0; kw < s->KW; kw++) {
        int oh = ih * s->SH - s->PT + kh * s->DH, ow = iw * s->SW - s->PL + kw * s->DW;
        size_t yi;
        double p;
        if (oh < 0 || oh >= s->OH || ow < 0 || ow >= s->OW)
            continue;
        yi = (((size_t)n * s->M + (size_t)(c / cg) * mg + m) * s->OH + oh) * s->OW + ow;
        p = (double)x[(((size_t)n * s->C + c) * s->H + ih) * s->W + iw] *
            w[(((size_t)c * mg + m) * s->KH + kh) * s->KW + kw];
        ref[yi] += p;
        sq[yi] += p * p;
        k[yi]++;
    }
    for (i = 0; i < ny && bad < 5; i++) {
        int ch = (int)(i / ((size_t)s->OH * s->OW) % (size_t)s->M);
        double exp = ref[i] + (b ? b[ch] : 0.0) + (r ? r[i] : 0.0), got = y[i], ratio;
        exp = act_ref(act, alpha, beta, exp);
        ratio = sum_error_ratio(got, exp, (double)k[i], sq[i], ATOL, RTOL);
        if (!(ratio <= 1.0)) { /* also catches NaN: an unwritten y */
            fprintf(stderr, "  y[%zu] (channel %d) = %.9g, expected %.9g\n", i, ch, got, exp);
            bad++;
        } else if (ratio > case_worst) {
            case_worst = ratio;
        }
    }
    if (tally_case(case_worst, bad)) {
        fprintf(stderr, "FAIL ");
        print_shape(stderr, s);
        fprintf(stderr, " packed=%d bias=%d res=%d act=%d scratch=%zu+%d\n", packed, with_bias,
                res, act, ns, soff);
    }
    free(x);
    free(w);
    free(wp);
    free(b);
    free(r);
    free(y);
    free(sbuf);
    free(ref);
    free(sq);
    free(k);
    return bad == 0;
}

struct named_case {
    const char *what;
    int N, C, H, W, M, KH, KW, SH, SW, DH, DW, PT, PL, PB, PR, EH, EW, group;
};

/* N C H W M KH KW SH SW DH DW PT PL PB PR EH EW group */
static const struct named_case named[] = {
    {"3x3 s1 (ONNX test_convtranspose)", 1, 1, 3, 3, 2, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 1},
    {"decoder 3x3 s2 p1 op1 64->32", 1, 64, 28, 28, 32, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1},
    {"4x4 s2 p1 (DCGAN)", 2, 16, 8, 8, 8, 4, 4, 2, 2, 1, 1, 1, 1, 1, 1, 0, 0, 1},
    {"2x2 s2 (U-Net up)", 1, 24, 9, 11, 12, 2, 2, 2, 2, 1, 1, 0, 0, 0, 0, 0, 0, 1},
    {"1-D k3 s2 op1", 2, 6, 1, 17, 5, 1, 3, 1, 2, 1, 1, 0, 1, 0, 1, 0, 1, 1},
    {"1-D k5 d2 s3", 1, 4, 1, 9, 7, 1, 5, 1, 3, 1, 2, 0, 0, 0, 0, 0, 2, 1},
    {"stride > kernel: gaps", 1, 3, 4, 5, 2, 2, 1, 4, 3, 1, 1, 0, 0, 0, 0, 3, 2, 1},
    {"dilations 2x3, asym pads", 1, 5, 6, 7, 4, 3, 2, 2, 1, 2, 3, 1, 2, 3, 0, 1, 0, 1},
    {"pads beyond the kernel span", 1, 2, 5, 5, 3, 2, 2, 3, 3, 1, 1, 4, 5, 3, 4, 0, 0, 1},
    {"groups 2, batch 3", 3, 4, 3, 3, 2, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 2},
    {"groups 4, s2 d2", 2, 8, 5, 6, 12, 3, 2, 2, 2, 2, 1, 1, 0, 2, 1, 1, 0, 4},
    {"depthwise-like (C = M = group)", 1, 6, 7, 7, 6, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 6},
    {"1x1 s1 (a plain product)", 2, 7, 5, 4, 9, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 1},
    {"row blocks: 3 blocks", 1, 8, 40, 64, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1},
    {"row blocks, s2, big PT", 1, 4, 50, 40, 40, 4, 4, 2, 2, 1, 1, 30, 1, 2, 1, 0, 0, 1},
    {"row blocks, one row each", 1, 3, 6, 300, 120, 3, 3, 3, 1, 1, 1, 0, 0, 0, 0, 2, 0, 1},
};

static void named_cases(void)
{
    int i, act, nn = (int)(sizeof named / sizeof named[0]), before = n_failed;
    for (i = 0; i < nn; i++) {
        const struct named_case *c = &named[i];
        rt_conv2d_shape s = make_tshape(c->N, c->C, c->H, c->W, c->M, c->KH, c->KW, c->SH,
                                        c->SW, c->DH, c->DW, c->PT, c->PL, c->PB, c->PR,
                                        c->EH, c->EW, c->group);
        int ok = 1;
        ok &= check(&s, 1, 1, 0, RT_ACT_NONE, i & 3);
        ok &= check(&s, 0, 0, 0, RT_ACT_RELU, (i + 1) & 3);
        ok &= check(&s, 1, 1, 1, RT_ACT_CLIP, (i + 2) & 3);
        ok &= check(&s, 0, 1, 1, RT_ACT_NONE, (i + 3) & 3);
        for (act = RT_ACT_LEAKY_RELU; act <= RT_ACT_LAST; act++)
            ok &= check(&s, act & 1, 1, act & 2, act, act & 3);
        printf("conv_transpose: %-34s ", c->what);
        print_shape(stdout, &s);
        printf(": %s\n", ok ? "ok" : "FAIL");
    }
    printf("conv_transpose: %d named shapes x weights/bias/residual/activations: %d failed\n",
           nn, n_failed - before);
}

static void random_cases(int count)
{
    int i, done = 0, before = n_failed;
    for (i = 0; done < count; i++) {
        int group = rng_int(1, 3), cg = rng_int(1, 12), mg = rng_int(1, 12);
        int one_d = rng_below(4) == 0, KW = rng_int(1, 4), SW = rng_int(1, 4), DW = rng_int(1, 3);
        int KH = one_d ? 1 : rng_int(1, 4), SH = one_d ? 1 : rng_int(1, 4);
        int DH = one_d ? 1 : rng_int(1, 3);
        rt_conv2d_shape s = make_tshape(
            rng_int(1, 2), group * cg, one_d ? 1 : rng_int(1, 12), rng_int(1, 12), group * mg,
            KH, KW, SH, SW, DH, DW, one_d ? 0 : rng_int(0, 4), rng_int(0, 4),
            one_d ? 0 : rng_int(0, 4), rng_int(0, 4), one_d ? 0 : rng_int(0, SH - 1),
            rng_int(0, SW - 1), group);
        if (s.OH <= 0 || s.OW <= 0)
            continue;
        check(&s, rng_int(0, 1), rng_int(0, 1), rng_int(0, 1), rng_int(0, RT_ACT_LAST),
              rng_int(0, 3));
        done++;
    }
    printf("conv_transpose: %d random shapes (1-D and 2-D, groups 1-3, strides 1-4, "
           "dilations 1-3, pads 0-4, output padding, every epilogue): %d failed\n",
           count, n_failed - before);
}

int main(void)
{
    named_cases();
    random_cases(1500);
    printf("conv_transpose: worst |got-exp| / tolerance = %.3f\n", worst_ratio);
    printf("conv_transpose: %s (%d cases)\n", n_failed ? "FAIL" : "PASS", n_cases);
    return n_failed != 0;
}
