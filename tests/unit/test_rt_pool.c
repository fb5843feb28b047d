/* test_rt_pool.c - rt_pool2d and rt_global_pool against a naive
 * double-precision reference.
 *
 * The reference walks every window tap by tap in double: max is exact (an
 * element passes only when equal to the reference; any NaN in the window
 * gives NaN, a window with no tap inside the input -inf); average passes
 * when |got - exp| <= 1e-5 + 1e-5 * |exp| (exp: the double sum divided by
 * the taps inside the input, or with count_include_pad inside the padded
 * input; NaN matches NaN).  Inputs are uniform in [-1, 1] from a seeded
 * PRNG; some cases sprinkle NaN, +-inf and +-0.  Output sizes follow ONNX
 * (floor or ceil_mode, the last window starting inside the input or its
 * left padding).  Each case starts y as a sentinel and checks a guard past
 * its end, so an element left unwritten or written out of bounds fails.
 * Covered: kernels 1-7, strides 1-4, dilations 1-3, asymmetric pads, ceil
 * mode, tiny planes, widths not a multiple of 16, rows wider than the
 * kernel's row buffer (chunked), windows too wide for it (direct path),
 * the ResNet / SqueezeNet shapes; global max / average over sizes 1-300.
 * Exit status 0 when every case passes. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/rt_pool.h"

#define ATOL 1e-5
#define RTOL 1e-5
#define GUARD 17

#define RNG_SEED 0x9E3779B97F4A7C15u
#include "test_rand.h"

static void fill(float *x, size_t n, int specials)
{
    for (size_t i = 0; i < n; i++) {
        x[i] = rng_uniform();
        if (specials && rng_int(0, 99) < 4) {
            static const float sp[] = {NAN, INFINITY, -INFINITY, 0.0f, -0.0f};
            x[i] = sp[rng_int(0, 4)];
        }
    }
}

static int out_dim(int n, int k, int s, int d, int pb, int pe, int ceil_mode)
{
    int span = (k - 1) * d + 1, room = n + pb + pe - span;
    int o = (ceil_mode ? (room + s - 1) / s : room / s) + 1;
    if (ceil_mode && (o - 1) * s >= n + pb)
        o--;
    return o;
}

static int failures, cases;

static int close_enough(int is_max, double want, float got)
{
    if (isnan(want))
        return isnan(got);
    if (is_max)
        return (double)got == want;
    if (isinf(want))
        return (double)got == want;
    return fabs((double)got - want) <= ATOL + RTOL * fabs(want);
}

static void pool_case(int is_max, int planes, int H, int W, int KH, int KW, int SH, int SW,
                      int DH, int DW, int PT, int PL, int PB, int PR, int ceil_mode,
                      int include_pad, int specials)
{
    int OH = out_dim(H, KH, SH, DH, PT, PB, ceil_mode);
    int OW = out_dim(W, KW, SW, DW, PL, PR, ceil_mode);
    if (H + PT + PB < (KH - 1) * DH + 1 || W + PL + PR < (KW - 1) * DW + 1 || OH < 1 || OW < 1)
        return;
    size_t nx = (size_t)planes * H * W, ny = (size_t)planes * OH * OW;
    float *x = malloc(nx * sizeof *x), *y = malloc((ny + GUARD) * sizeof *y);
    int bad = 0;
    fill(x, nx, specials);
    for (size_t i = 0; i < ny + GUARD; i++)
        y[i] = 12345.0f;
    rt_pool2d(is_max ? RT_POOL_MAX : RT_POOL_AVG, planes, H, W, OH, OW, KH, KW, SH, SW, DH, DW,
              PT, PL, PB, PR, include_pad, x, y);
    cases++;
    for (int p = 0; p < planes && bad < 3; p++)
        for (int oh = 0; oh < OH; oh++)
            for (int ow = 0; ow < OW; ow++) {
                double acc = is_max ? -INFINITY : 0.0;
                int nan = 0, cnt = 0, cntpad = 0;
                for (int kh = 0; kh < KH; kh++)
                    for (int kw = 0; kw < KW; kw++) {
                        int ih = oh * SH - PT + kh * DH, iw = ow * SW - PL + kw * DW;
                        if (ih < H + PB && iw < W + PR)
                            cntpad++;
                        if (ih < 0 || ih >= H || iw < 0 || iw >= W)
                            continue;
                        double v = x[((size_t)p * H + ih) * W + iw];
                        cnt++;
                        if (isnan(v))
                            nan = 1;
                        else if (is_max)
                            acc = v > acc ? v : acc;
                        else
                            acc += v;
                    }
                double want = nan ? NAN : is_max ? acc : acc / (include_pad ? cntpad : cnt);
                float got = y[((size_t)p * OH + oh) * OW + ow];
                if (!close_enough(is_max, want, got) && bad++ < 3)
                    fprintf(stderr,
                            "%s planes %d %dx%d k %dx%d s %dx%d d %dx%d pads %d,%d,%d,%d ceil %d "
                            "incl %d: y[%d,%d,%d] = %.9g, want %.9g\n",
                            is_max ? "max" : "avg", planes, H, W, KH, KW, SH, SW, DH, DW, PT, PL,
                            PB, PR, ceil_mode, include_pad, p, oh, ow, (double)got, want);
            }
    for (int i = 0; i < GUARD; i++)
        if (y[ny + i] != 12345.0f && bad++ < 3)
            fprintf(stderr, "write past the end of y (%dx%d -> %dx%d)\n", H, W, OH, OW);
    failures += bad != 0;
    free(x);
    free(y);
}

static void global_case(int is_max, int planes, int size, int specials)
{
    float *x = malloc((size_t)planes * size * sizeof *x), *y = malloc((planes + GUARD) * sizeof *y);
    int bad = 0;
    fill(x, (size_t)planes * size, specials);
    for (int i = 0; i < planes + GUARD; i++)
        y[i] = 12345.0f;
    rt_global_pool(is_max ? RT_POOL_MAX : RT_POOL_AVG, planes, size, x, y);
    cases++;
    for (int p = 0; p < planes; p++) {
        double acc = is_max ? -INFINITY : 0.0;
        int nan = 0;
        for (int i = 0; i < size; i++) {
            double v = x[(size_t)p * size + i];
            if (isnan(v))
                nan = 1;
            else if (is_max)
                acc = v > acc ? v : acc;
            else
                acc += v;
        }
        double want = nan ? NAN : is_max ? acc : acc / size;
        if (!close_enough(is_max, want, y[p]) && bad++ < 3)
            fprintf(stderr, "global %s planes %d size %d: y[%d] = %.9g, want %.9g\n",
                    is_max ? "max" : "avg", planes, size, p, (double)y[p], want);
    }
    for (int i = 0; i < GUARD; i++)
        if (y[planes + i] != 12345.0f && bad++ < 3)
            fprintf(stderr, "global: write past the end of y\n");
    failures += bad != 0;
    free(x);
    free(y);
}

int main(void)
{
    /* Benchmark shapes: SqueezeNet 3x3 s2 ceil, ResNet-50 3x3 s2 pad 1. */
    for (int m = 0; m < 2; m++) {
        pool_case(m, 4, 111, 111, 3, 3, 2, 2, 1, 1, 0, 0, 0, 0, 1, 0, 0);
        pool_case(m, 3, 55, 55, 3, 3, 2, 2, 1, 1, 0, 0, 0, 0, 1, 1, 1);
        pool_case(m, 3, 27, 27, 3, 3, 2, 2, 1, 1, 0, 0, 0, 0, 1, 0, 1);
        pool_case(m, 2, 112, 112, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 0, 0, 1);
        pool_case(m, 2, 112, 112, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 0, 1, 0);
        pool_case(m, 2, 32, 32, 2, 2, 2, 2, 1, 1, 0, 0, 0, 0, 0, 0, 1);
        pool_case(m, 2, 7, 7, 7, 7, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0);
        /* Rows wider than the row buffer (chunked), windows wider than it. */
        pool_case(m, 1, 3, 2500, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1);
        pool_case(m, 1, 3, 2500, 3, 5, 2, 2, 1, 2, 1, 2, 1, 2, 1, 0, 1);
        pool_case(m, 1, 3, 2600, 2, 3, 1, 3, 1, 1, 0, 1, 0, 1, 1, 1, 0);
        pool_case(m, 1, 2, 1200, 1, 2, 1, 1, 1, 1100, 0, 0, 0, 0, 0, 0, 1);
        pool_case(m, 1, 2, 1200, 1, 2, 1, 7, 1, 600, 0, 3, 0, 3, 1, 1, 0);
        /* Tiny planes, windows mostly padding. */
        pool_case(m, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0);
        pool_case(m, 3, 1, 1, 3, 3, 1, 1, 1, 1, 2, 2, 2, 2, 0, 0, 1);
        pool_case(m, 3, 1, 1, 3, 3, 1, 1, 1, 1, 2, 2, 2, 2, 0, 1, 1);
        pool_case(m, 2, 2, 3, 2, 2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0);
    }
    /* Random shapes. */
    for (int t = 0; t < 4000; t++) {
        int KH = rng_int(1, 5), KW = rng_int(1, 5), DH = rng_int(1, 3), DW = rng_int(1, 3);
        int SH = rng_int(1, 3), SW = rng_int(1, 4);
        if (rng_int(0, 3) == 0)
            DH = DW = 1;
        int PT = rng_int(0, KH), PL = rng_int(0, KW), PB = rng_int(0, KH), PR = rng_int(0, KW);
        int H = rng_int(1, 20), W = rng_int(1, rng_int(0, 4) == 0 ? 90 : 40);
        pool_case(rng_int(0, 1), rng_int(1, 3), H, W, KH, KW, SH, SW, DH, DW, PT, PL, PB, PR, rng_int(0, 1),
                  rng_int(0, 1), rng_int(0, 2) == 0);
    }
    /* Global pools. */
    for (int m = 0; m < 2; m++) {
        for (int size = 1; size <= 300; size += size < 70 ? 1 : 13)
            global_case(m, rng_int(1, 5), size, size % 3 == 0);
        global_case(m, 1000, 169, 0);
        global_case(m, 64, 49, 1);
    }
    if (failures) {
        fprintf(stderr, "test_rt_pool: %d of %d cases failed\n", failures, cases);
        return 1;
    }
    printf("test_rt_pool: %d cases passed\n", cases);
    return 0;
}
