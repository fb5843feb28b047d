/* test_rt_resize.c - rt_resize2d (separable resize of NCHW planes from
 * tap tables) against a plain double-precision sum of the same formula.
 *
 * Nearest (no weights) must match exactly: random row and column indices,
 * repeated rows (the row-copy path) and the integer column patterns
 * ix = ox / k, k = 2 .. 9 (the duplicate paths). Weighted tables pass when
 * |got - want| <= 4e-6 * sum |wy * wx * x| (float sums of at most TH * TW
 * terms, TH up to RT_RESIZE_MAX_TH): random weights, vertical taps TH
 * consecutive rows clamped to [0, H) as the API requires, random column
 * taps, widths past the row cache's chunk, many planes (the threaded path
 * when built with OpenMP).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/rt_resize.h"

#define RNG_SEED 0x5E5123D0C0FFEE11u
#include "test_rand.h"

static int n_failed, n_cases;
static int dup_k = 2;   /* kind 1's factor */

static int clampi(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* One case; kind 0: random nearest, 1: nearest dup_k x (rows repeated,
 * columns ix = ox / dup_k), 2: weighted. */
static void run(int kind, int planes, int H, int W, int OH, int OW, int TH, int TW)
{
    int weighted = kind == 2;
    if (!weighted)
        TH = TW = 1;
    if (kind == 1) {
        OH = dup_k * H;
        OW = dup_k * W;
    }
    int32_t *iy = xmalloc(sizeof *iy * (size_t)OH * TH), *ix = xmalloc(sizeof *ix * (size_t)OW * TW);
    float *wy = weighted ? xmalloc(sizeof *wy * (size_t)OH * TH) : NULL;
    float *wx = weighted ? xmalloc(sizeof *wx * (size_t)OW * TW) : NULL;
    for (int o = 0; o < OH; o++) {
        int base = kind == 1 ? o / dup_k : rng_int(-TH, H);
        for (int s = 0; s < TH; s++) {
            iy[o * TH + s] = kind == 2 ? clampi(base + s, 0, H - 1) : clampi(base, 0, H - 1);
            if (wy)
                wy[o * TH + s] = rng_uniform();
        }
    }
    for (int t = 0; t < TW; t++)
        for (int o = 0; o < OW; o++) {
            ix[t * OW + o] = kind == 1 ? o / dup_k : rng_below(W);
            if (wx)
                wx[t * OW + o] = rng_uniform();
        }
    size_t nx = (size_t)planes * H * W, ny = (size_t)planes * OH * OW;
    float *x = xmalloc(sizeof *x * nx), *y = xmalloc(sizeof *y * ny);
    for (size_t i = 0; i < nx; i++)
        x[i] = rng_uniform() * 10;
    rt_resize2d(planes, H, W, OH, OW, TH, TW, iy, wy, ix, wx, x, y);
    int bad = 0;
    double worst = 0;
    for (int p = 0; p < planes && !bad; p++)
        for (int oy = 0; oy < OH && !bad; oy++)
            for (int ox = 0; ox < OW && !bad; ox++) {
                double want = 0, mag = 0;
                for (int s = 0; s < TH; s++)
                    for (int t = 0; t < TW; t++) {
                        double w = weighted ? (double)wy[oy * TH + s] * wx[t * OW + ox] : 1.0;
                        double v = x[((size_t)p * H + iy[oy * TH + s]) * W + ix[t * OW + ox]];
                        want += w * v;
                        mag += fabs(w * v);
                    }
                double got = y[((size_t)p * OH + oy) * OW + ox];
                double err = fabs(got - want);
                if (err > worst)
                    worst = err;
                if (weighted ? err > 4e-6 * mag : got != want) {
                    printf("FAIL kind %d planes %d %dx%d -> %dx%d TH %d TW %d at (%d,%d,%d): "
                           "got %.9g want %.9g\n",
                           kind, planes, H, W, OH, OW, TH, TW, p, oy, ox, got, want);
                    bad = 1;
                }
            }
    n_cases++;
    n_failed += bad;
    free(iy);
    free(ix);
    free(wy);
    free(wx);
    free(x);
    free(y);
}

int main(void)
{
    for (int i = 0; i < 300; i++) {
        int kind = i % 3;
        dup_k = 2 + (i / 3) % 8;
        int H = rng_int(1, 40), W = rng_int(1, 40);
        run(kind, rng_int(1, 3), H, W, rng_int(1, 90), rng_int(1, 90),
            rng_int(1, i % 10 == 2 ? RT_RESIZE_MAX_TH : 5), rng_int(1, 6));
    }
    /* wider than the row cache's chunk, and many planes */
    run(2, 2, 7, 600, 13, 1500, 2, 2);
    run(2, 2, 40, 300, 17, 1100, RT_RESIZE_MAX_TH, 3);
    for (dup_k = 2; dup_k <= 16; dup_k *= 2)   /* a detector neck's 2x .. 16x */
        run(1, 64, 20, 33, 0, 0, 1, 1);
    dup_k = 3;
    run(1, 5, 7, 41, 0, 0, 1, 1);
    run(0, 64, 20, 33, 41, 67, 1, 1);
    run(2, 64, 20, 33, 40, 66, 2, 2);
    printf("rt_resize2d: %d cases, %d failed\n", n_cases, n_failed);
    return n_failed != 0;
}
