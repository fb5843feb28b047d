/* What the convolution kernel tests share besides the activations: the
 * tolerance of a float sum and the tally of cases. */
#ifndef DLC_TEST_TALLY_H
#define DLC_TEST_TALLY_H

#include <math.h>

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
