/* runtime/vmath.c against double-precision libm: every float in a strided
 * sweep of all 2^32 bit patterns, and every float (strided finer) where the
 * formulas switch; fails when a function's error exceeds the bound its
 * header states.  Each batch is computed by a loop the compiler may
 * vectorise, as in generated code (tests.cmake also builds this file with
 * -O3, AVX2 and FMA contraction). */
#include "../../runtime/vmath.c"
#include "check.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

enum { BATCH = 4096 };

static float ref_sigmoid_f(float x) { return 1.0f / (1.0f + rt_vmath_expf(-x)); }
static double sigmoid_d(double x) { return 1.0 / (1.0 + exp(-x)); }

/* the loops under test, one per function, as generated code writes them */
#define BATCH_FN(name, call)                                             \
    static void name(const float *x, float *y, int n)                    \
    {                                                                    \
        for (int i = 0; i < n; i++)                                      \
            y[i] = call(x[i]);                                           \
    }
BATCH_FN(b_exp, rt_vmath_expf)
BATCH_FN(b_log, rt_vmath_logf)
BATCH_FN(b_log1p, rt_vmath_log1pf)
BATCH_FN(b_tanh, rt_vmath_tanhf)
BATCH_FN(b_erf, rt_vmath_erff)
BATCH_FN(b_sigmoid, ref_sigmoid_f)

typedef struct {
    const char *name;
    void (*fn)(const float *, float *, int);
    double (*ref)(double);
    double max_ulp;         /* bound in units in the last place of the result */
    double max_abs;         /* and/or an absolute bound (0: none) */
    double ulp_below;       /* where |x| < this, the ulp bound holds alone */
    bool flush;             /* results below 2^-126 only within 2^-126 */
    double worst_ulp, worst_abs;
    float worst_x;
    long long n;
} Case;

/* The spacing of floats at |v| (subnormal spacing below 2^-126). */
static double ulp_of(double v)
{
    int e;
    v = fabs(v);
    if (v < 0x1p-126)
        return 0x1p-149;
    frexp(v, &e);
    if (e > 128)
        e = 128;
    return ldexp(1.0, e - 24);
}

static void compare(Case *c, const float *x, const float *y, int n)
{
    for (int i = 0; i < n; i++) {
        double r = c->ref((double)x[i]);
        float rf = (float)r;
        c->n++;
        if (isnan(rf) || isinf(rf) || rf == 0.0f) {     /* special values exactly */
            bool same = isnan(rf) ? isnan(y[i]) : y[i] == rf;
            if (!same && !(rf == 0.0f && fabs((double)y[i]) <= 0x1p-149)) {
                fprintf(stderr, "%s(%a) = %a, libm %a\n", c->name, (double)x[i],
                        (double)y[i], (double)rf);
                check_failures++;
            }
            continue;
        }
        if (isinf(y[i]) || isnan(y[i])) {
            fprintf(stderr, "%s(%a) = %a, libm %a\n", c->name, (double)x[i], (double)y[i], r);
            check_failures++;
            continue;
        }
        double err = fabs((double)y[i] - r), u = err / ulp_of(r);
        if (c->flush && fabs(r) < 0x1p-126) {
            if (err > 0x1p-126) {
                fprintf(stderr, "%s(%a) = %a, libm %a\n", c->name, (double)x[i], (double)y[i], r);
                check_failures++;
            }
            continue;
        }
        bool ok = u <= c->max_ulp ||
                  (c->max_abs > 0 && fabs((double)x[i]) >= c->ulp_below && err <= c->max_abs);
        if (u > c->worst_ulp && (c->max_abs == 0 || fabs((double)x[i]) < c->ulp_below)) {
            c->worst_ulp = u;
            c->worst_x = x[i];
        }
        if (err > c->worst_abs && fabs((double)x[i]) >= c->ulp_below)
            c->worst_abs = err;
        if (!ok) {
            if (check_failures < 20)
                fprintf(stderr, "%s(%a): %.9g, libm %.9g: %.2f ulp, %.3g abs\n", c->name,
                        (double)x[i], (double)y[i], r, u, err);
            check_failures++;
        }
    }
}

/* Floats with bit patterns from..to (inclusive, in steps of stride). */
static void sweep(Case *c, uint32_t from, uint32_t to, uint32_t stride)
{
    static float x[BATCH], y[BATCH];
    uint64_t b = from;
    while (b <= to) {
        int n = 0;
        for (; n < BATCH && b <= to; n++, b += stride) {
            uint32_t u = (uint32_t)b;
            memcpy(&x[n], &u, sizeof u);
        }
        c->fn(x, y, n);
        compare(c, x, y, n);
    }
}

static uint32_t bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static void run(Case *c)
{
    sweep(c, 0, 0xffffffffu, 4093);                         /* everything, both signs */
    sweep(c, bits(0.25f), bits(4.0f), 31);                  /* where the formulas switch */
    sweep(c, bits(-0.25f), bits(-4.0f), 31);
    sweep(c, bits(88.0f), bits(89.0f), 7);                  /* exp overflow edge */
    sweep(c, bits(-104.0f), bits(-87.0f), 31);              /* exp subnormal results */
    static const float specials[] = {0.0f, -0.0f, 1.0f, -1.0f, HUGE_VALF, -HUGE_VALF, NAN,
                                     -NAN, 1e-45f, -1e-45f, 88.7228394f, 88.7228470f,
                                     -103.972076f, 3.4028235e38f, -3.4028235e38f};
    float y[sizeof specials / sizeof specials[0]];
    int n = (int)(sizeof specials / sizeof specials[0]);
    c->fn(specials, y, n);
    compare(c, specials, y, n);
    printf("%-8s %lld floats: max %.2f ulp (bound %.1f)", c->name, c->n, c->worst_ulp,
           c->max_ulp);
    if (c->max_abs > 0)
        printf(" where |x| < %g; max abs %.3g (bound %.3g) elsewhere", c->ulp_below,
               c->worst_abs, c->max_abs);
    printf(", worst at %a\n", (double)c->worst_x);
}

int main(void)
{
    Case cases[] = {
        {"exp", b_exp, exp, 2, 0, 0, false, 0, 0, 0, 0},
        {"log", b_log, log, 1.5, 0, 0, false, 0, 0, 0, 0},
        {"log1p", b_log1p, log1p, 2, 0, 0, false, 0, 0, 0, 0},
        {"tanh", b_tanh, tanh, 2, 0, 0, false, 0, 0, 0, 0},
        {"erf", b_erf, erf, 3, 4e-7, 0.75, false, 0, 0, 0, 0},
        {"sigmoid", b_sigmoid, sigmoid_d, 3, 0, 0, true, 0, 0, 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        run(&cases[i]);
    return check_report("test_vmath");
}
