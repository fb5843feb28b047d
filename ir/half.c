/* Float16 for constant folding. Written with scaling and rint rather
 * than bit surgery: exact in double, and an independent check of the
 * runtime's conversions (tests/unit/test_ir_half.c compares the two). */
#include "ir.h"

#include <math.h>
#include <string.h>

float ir_h2f(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31;
    int exp = (h >> 10) & 0x1f;
    uint32_t man = h & 0x3ffu;
    if (exp == 0) {     /* zero or subnormal: man * 2^-24, exact */
        float f = ldexpf((float)man, -24);
        return sign ? -f : f;
    }
    /* normal (rebias 15 -> 127), or inf / NaN with the payload kept */
    uint32_t bits = sign | (exp == 0x1f ? 0x7f800000u : (uint32_t)(exp + 112) << 23) | man << 13;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

uint16_t ir_f2h(float f)
{
    uint32_t x;
    memcpy(&x, &f, sizeof x);
    uint16_t sign = (uint16_t)(x >> 16 & 0x8000u);
    double a = fabs((double)f);
    if (f != f)         /* quiet NaN, top payload bits kept */
        return (uint16_t)(sign | 0x7e00u | (x & 0x7fffffu) >> 13);
    if (a >= 65520.0)   /* rounds past the largest half, 65504 */
        return (uint16_t)(sign | 0x7c00u);
    if (a < 0x1p-14)    /* subnormal steps of 2^-24; 1024 is the least normal */
        return (uint16_t)(sign | (uint16_t)rint(a * 0x1p24));
    int e;
    frexp(a, &e);       /* a = m 2^e, m in [0.5, 1): the half exponent is e - 1 */
    /* steps = 1024 + mantissa, rounded to even; field (e - 1 + 15) << 10
     * plus steps - 1024, where a carry to 2048 moves into the exponent */
    uint32_t steps = (uint32_t)rint(ldexp(a, 11 - e));
    return (uint16_t)(sign | (((uint32_t)(e + 13) << 10) + steps));
}

/* bfloat16 keeps float32's exponent: widening is exact, narrowing rounds
 * the low 16 bits to nearest even in double arithmetic (no bit carries). */
float ir_bf2f(uint16_t b)
{
    uint32_t bits = (uint32_t)b << 16;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

uint16_t ir_f2bf(float f)
{
    uint32_t x;
    memcpy(&x, &f, sizeof x);
    if (f != f)         /* quiet NaN, top payload bits kept */
        return (uint16_t)(x >> 16 | 0x40u);
    if (fabsf(f) == INFINITY)
        return (uint16_t)(x >> 16);
    uint32_t hi = x & 0xffff0000u;
    float lo, up;
    memcpy(&lo, &hi, sizeof lo);
    /* the next bfloat16 away from zero (may overflow to inf, as it should) */
    uint32_t hi2 = hi + 0x10000u;
    memcpy(&up, &hi2, sizeof up);
    /* past the largest bfloat16 the step up is to 2^128, which is inf */
    double upv = (hi2 & 0x7f800000u) == 0x7f800000u ? copysign(0x1p128, (double)f) : (double)up;
    double dl = fabs((double)f - lo), du = fabs(upv - f);
    if (du < dl || (du == dl && (hi >> 16 & 1u)))
        return (uint16_t)(hi2 >> 16);
    return (uint16_t)(hi >> 16);
}
