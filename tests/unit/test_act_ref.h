/* What the convolution kernel tests share: the rt_act activations
 * (runtime/rt_common.h) in double precision, the reference their epilogues
 * are compared with; the tolerance of a float sum; the tally of cases. */
#ifndef DLC_TEST_ACT_REF_H
#define DLC_TEST_ACT_REF_H

#include <math.h>

#include "../../runtime/rt_common.h"

static double act_ref(int act, double a, double b, double x)
{
    switch (act) {
    case RT_ACT_RELU: return x > 0 ? x : 0;
    case RT_ACT_CLIP: return x < a ? a : (x > b ? b : x);
    case RT_ACT_LEAKY_RELU: return x < 0 ? a * x : x;
    case RT_ACT_HARD_SWISH: {
        double h = x / 6 + 0.5;
        return x * (h < 0 ? 0 : (h > 1 ? 1 : h));
    }
    case RT_ACT_SIGMOID: return 1 / (1 + exp(-x));
    case RT_ACT_GELU_ERF: return 0.5 * x * (1 + erf(x / sqrt(2.0)));
    case RT_ACT_GELU_TANH:
        return 0.5 * x * (1 + tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)));
    default: return x;
    }
}

/* |got - exp| over the tolerance of a k-term float sum whose terms'
 * squares add to sq: atol + rtol |exp| plus a random-walk bound on the
 * float rounding of the sum, 4 sqrt(k sq) 2^-24. NaN when got is NaN. */
static double sum_error_ratio(double got, double exp, double k, double sq, double atol,
                              double rtol)
{
    return fabs(got - exp) / (atol + rtol * fabs(exp) + 4.0 * sqrt(k * sq) * 0x1p-24);
}

static int n_cases, n_failed;
static double worst_ratio;

/* Counts one case with its worst ratio; true when it failed. */
static int tally_case(double case_worst, int bad)
{
    n_cases++;
    if (case_worst > worst_ratio)
        worst_ratio = case_worst;
    n_failed += bad != 0;
    return bad != 0;
}

#endif
