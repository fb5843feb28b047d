/* The rt_act activations (runtime/rt_common.h) in double precision: the
 * reference every kernel test compares its epilogues with. */
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
    case RT_ACT_SILU: return x / (1 + exp(-x));
    default: return x;
    }
}

#endif
