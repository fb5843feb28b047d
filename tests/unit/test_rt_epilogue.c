/* test_rt_epilogue.c - the vectorised exp and activations of epilogue.c,
 * and rt_epilogue_block, against double precision.
 *
 * Bounds (those epilogue.c states for its x86 forms; libm elsewhere is
 * tighter):
 *   rt_exp_n            relative error <= 3e-7 on [-87, 88], and
 *                       exp(-200) < 1e-37, exp(100) = inf, exp(NaN) NaN;
 *   GELU (erf)          |error| <= 2e-7 * max(1, |x|) on [-12, 12];
 *   GELU (tanh), tanh   |error| <= 4e-7 * max(1, |x|);
 *   sigmoid             relative error <= 5e-7 on [-80, 80];
 *   HardSwish           |error| <= 2e-7 * max(1, |x|) (x/6 + 1/2 cancels
 *                       near -3, in the scalar formula too);
 *   Relu, Clip, LeakyRelu: within one rounding of the formula.
 * Lengths 0..40 exercise the vector bodies and every tail length.
 * rt_epilogue_block: bias per row / column, residual, activation on a
 * sub-block of a padded matrix; elements outside the block untouched.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/rt.h"
#include "test_act_ref.h"

static int n_failed;

/* allowed |got - want| for activation act at x */
static double tol(int act, double x, double want)
{
    double ax = fabs(x) > 1 ? fabs(x) : 1;
    switch (act) {
    case RT_ACT_SIGMOID: return 5e-7 * fabs(want) + 1e-30;
    case RT_ACT_GELU_ERF: return 2e-7 * ax;
    case RT_ACT_HARD_SWISH: return 2e-7 * ax;   /* x/6 + 1/2 cancels near -3 */
    case RT_ACT_GELU_TANH: return 4e-7 * ax;
    case RT_ACT_SILU: return 5e-7 * fabs(want) + 1e-30;
    default: return 1.2e-7 * fabs(want) + 1e-30;
    }
}

static void activations(void)
{
    static const char *names[] = {"none", "relu", "clip", "leaky_relu", "hard_swish",
                                  "sigmoid", "gelu_erf", "gelu_tanh", "silu"};
    enum { N = 48001 };
    float *x = malloc(sizeof(float) * N), *y = malloc(sizeof(float) * N);
    int act, i;
    if (!x || !y)
        exit(2);
    for (act = 0; act <= RT_ACT_LAST; act++) {
        double lo = act == RT_ACT_SIGMOID ? -80 : -12, hi = -lo, worst = 0;
        int bad = 0;
        for (i = 0; i < N; i++)
            x[i] = (float)(lo + (hi - lo) * i / (N - 1));
        memcpy(y, x, sizeof(float) * N);
        rt_activate_n(act, -0.5f, 0.75f, y, N);
        for (i = 0; i < N; i++) {
            double want = act_ref(act, -0.5, 0.75, x[i]);
            double err = fabs(y[i] - want), t = tol(act, x[i], want);
            if (!(err <= t)) {
                if (bad++ < 3)
                    fprintf(stderr, "  %s(%.9g) = %.9g, expected %.9g\n", names[act], x[i], y[i],
                            want);
            } else if (err / t > worst) {
                worst = err / t;
            }
        }
        /* every tail length: in place on short arrays, nothing past n written */
        for (i = 0; i <= 40 && !bad; i++) {
            float buf[41];
            int j;
            for (j = 0; j < 41; j++)
                buf[j] = j < i ? (float)(j - 20) * 0.37f : 12345.0f;
            rt_activate_n(act, -0.5f, 0.75f, buf, i);
            for (j = 0; j < 41; j++) {
                double want = j < i ? act_ref(act, -0.5, 0.75, (float)(j - 20) * 0.37f) : 12345.0;
                if (!(fabs(buf[j] - want) <= tol(act, (j - 20) * 0.37, want)))
                    bad++;
            }
        }
        printf("epilogue: %-10s on [%g, %g]: worst error / bound %.3f: %s\n", names[act], lo, hi,
               worst, bad ? "FAILED" : "ok");
        n_failed += bad != 0;
    }
    free(x);
    free(y);
}

static void exps(void)
{
    enum { N = 70001 };
    float *x = malloc(sizeof(float) * N), *y = malloc(sizeof(float) * N);
    double worst = 0;
    float sp[4] = {-200.0f, 100.0f, NAN, 0.0f}, so[4];
    int i, bad = 0;
    if (!x || !y)
        exit(2);
    for (i = 0; i < N; i++)
        x[i] = (float)(-87.0 + 175.0 * i / (N - 1));
    rt_exp_n(x, y, N);
    for (i = 0; i < N; i++) {
        double want = exp((double)x[i]), rel = fabs(y[i] - want) / want;
        if (!(rel <= 3e-7)) {
            if (bad++ < 3)
                fprintf(stderr, "  exp(%.9g) = %.9g, expected %.9g\n", x[i], y[i], want);
        } else if (rel / 3e-7 > worst) {
            worst = rel / 3e-7;
        }
    }
    rt_exp_n(sp, so, 4);
    if (!(so[0] >= 0.0f && so[0] < 1e-37f) || !isinf(so[1]) || !isnan(so[2]) || so[3] != 1.0f) {
        fprintf(stderr, "  exp(-200, 100, NaN, 0) = %g %g %g %g\n", so[0], so[1], so[2], so[3]);
        bad++;
    }
    printf("epilogue: exp on [-87, 88], worst error / bound %.3f; -200, 100, NaN, 0: %s\n", worst,
           bad ? "FAILED" : "ok");
    n_failed += bad != 0;
    free(x);
    free(y);
}

static void blocks(void)
{
    enum { R = 9, LD = 45 };
    float c[R * LD], c0[R * LD], res[R * LD], bias[LD];
    int t, bad = 0;
    for (t = 0; t < 24; t++) {
        int row0 = t % 3, nrows = 1 + t % 5, col0 = t % 7, ncols = t * 37 % 38;
        int rows = t & 1, act = t % 8, i, j;
        rt_epilogue ep;
        for (i = 0; i < R * LD; i++) {
            c0[i] = c[i] = (float)((i * 7919) % 201 - 100) / 37.0f;
            res[i] = (float)((i * 104729) % 101 - 50) / 41.0f;
        }
        for (i = 0; i < LD; i++)
            bias[i] = (float)(i % 13 - 6) / 5.0f;
        ep.bias = t % 3 ? bias : NULL;
        ep.bias_rows = rows;
        ep.residual = t % 4 ? res : NULL;
        ep.ldr = LD;
        ep.act = act;
        ep.alpha = -0.5f;
        ep.beta = 0.75f;
        rt_epilogue_block(&ep, c, LD, row0, nrows, col0, ncols);
        for (i = 0; i < R; i++)
            for (j = 0; j < LD; j++) {
                double want = c0[i * LD + j];
                if (i >= row0 && i < row0 + nrows && j >= col0 && j < col0 + ncols) {
                    if (ep.bias)
                        want += rows ? bias[i] : bias[j];
                    if (ep.residual)
                        want += res[i * LD + j];
                    want = act_ref(act, -0.5, 0.75, want);
                }
                if (!(fabs(c[i * LD + j] - want) <= 1e-6 * (1 + fabs(want))))
                    bad++;
            }
    }
    printf("epilogue: rt_epilogue_block on sub-blocks: %s\n", bad ? "FAILED" : "ok");
    n_failed += bad != 0;
}

int main(void)
{
    exps();
    activations();
    blocks();
    if (n_failed) {
        printf("epilogue: FAIL (%d)\n", n_failed);
        return 1;
    }
    printf("epilogue: PASS\n");
    return 0;
}
