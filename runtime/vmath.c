/* rt-deps: */
/* vmath.c - float32 exp, log, log1p, tanh, erf and the GELU forms written
 * so that a compiler vectorises the loops that call them: no branches
 * (both sides of a case are computed, then selected), no tables, no libm
 * calls, bits moved with memcpy.  Generated code calls them for float and
 * float16 elementwise math (codegen/c/c_dialect.c); double stays libm.
 *
 * Polynomials fitted by scripts/fit_vmath.py (erf beyond 0.75: the rational
 * of the GEMM epilogue, rt_common.h).  Error against double-precision libm,
 * measured over a strided sweep of every float and finer sweeps where the
 * formulas switch (-O2, and -O3 -march=native with FMA contraction), and
 * the bound tests/unit/test_vmath.c enforces:
 *   expf    0.95 ulp (bound 2); subnormal results round once
 *   logf    0.84 ulp (bound 1.5)
 *   log1pf  1.44 ulp (bound 2)
 *   tanhf   1.31 ulp (bound 2)
 *   erff    2.48 ulp for |x| < 0.75 (bound 3), 3.7e-7 absolute beyond
 *           (bound 4e-7)
 *   sigmoid as 1 / (1 + exp(-x)) in generated code: 2.03 ulp (bound 3)
 *           where the result is a normal float (x > -87.3), below that
 *           within 2^-126 (0 beyond -88.72, where e^-x overflows, as
 *           with libm's expf in the same formula)
 * Special values as libm: exp(-inf) = 0, exp(+inf) = inf, overflow to inf
 * above 88.72, log(0) = -inf, log(x < 0) = NaN, tanh/erf(+-inf) = +-1,
 * NaN in, NaN out. */
#ifndef RT_EMBED
#include "rt.h"
#endif

/* Inlined so that the caller's loop vectorises around the body. */
#ifdef __GNUC__
#  define RT_VMATH static inline __attribute__((always_inline, unused))
#else
#  define RT_VMATH static inline
#endif

RT_VMATH float rt_vmath_f(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

RT_VMATH uint32_t rt_vmath_u(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* c ? a : b without a branch: with -ftrapping-math (the default) gcc
 * will not if-convert a float ?: whose arms it has sunk computations into,
 * and then the loop does not vectorise. */
RT_VMATH float rt_vmath_sel(int c, float a, float b)
{
    uint32_t m = (uint32_t)0 - (uint32_t)(c != 0);
    return rt_vmath_f((rt_vmath_u(a) & m) | (rt_vmath_u(b) & ~m));
}

/* |m| with the sign of s */
RT_VMATH float rt_vmath_copysign(float m, float s)
{
    return rt_vmath_f((rt_vmath_u(m) & 0x7fffffffu) | (rt_vmath_u(s) & 0x80000000u));
}

/* e^x for x already in [-104, 89] (not NaN): x = n ln2 + r, |r| <= ln2/2,
 * e^r by a polynomial, 2^n applied as two factors so that results down to
 * the smallest subnormal round once and overflow gives inf. */
RT_VMATH float rt_vmath_exp_core(float x)
{
    /* round(x / ln2) by the 1.5 * 2^23 trick (no rint call to vectorise) */
    float n = x * 1.44269504f + 12582912.0f - 12582912.0f;
    float r = x - n * 0.693145752f;         /* ln2 high part: 16 bits, exact product */
    r = r - n * 1.42860677e-6f;             /* ln2 low part */
    float p = 0.00138146128f;
    p = p * r + 0.00836871006f;
    p = p * r + 0.041668389f;
    p = p * r + 0.166665211f;
    p = p * r + 0.49999994f;
    p = (p * r) * r + r + 1.0f;
    int32_t k = (int32_t)n, k1 = k / 2, k2 = k - k1;   /* each in [-75, 64] */
    float s1 = rt_vmath_f((uint32_t)(k1 + 127) << 23);
    float s2 = rt_vmath_f((uint32_t)(k2 + 127) << 23);
    return p * s1 * s2;
}

RT_VMATH float rt_vmath_expf(float x)
{
    float c = rt_vmath_sel(x > -104.0f, x, -104.0f);    /* also NaN -> -104 */
    c = rt_vmath_sel(c < 89.0f, c, 89.0f);
    float y = rt_vmath_exp_core(c);
    return rt_vmath_sel(x != x, x, y);
}

/* log x: x = 2^e m with m in [sqrt(1/2), sqrt 2), f = m - 1 (exact),
 * log(1 + f) = f - (f^2/2 - s (f^2/2 + R(s^2))), s = f / (2 + f). */
RT_VMATH float rt_vmath_logf(float x)
{
    int sub = x < 1.17549435e-38f;          /* subnormal: scale by 2^23 first */
    float xscaled = x * 8388608.0f;
    float xs = rt_vmath_sel(sub, xscaled, x);
    uint32_t u = rt_vmath_u(xs) + (0x3f800000u - 0x3f3504f3u);
    float e = (float)((int32_t)(u >> 23) - 127 - 23 * sub);
    float f = rt_vmath_f((u & 0x7fffffu) + 0x3f3504f3u) - 1.0f;
    float s = f / (2.0f + f);
    float z = s * s;
    float R = z * (0.666667759f + z * (0.399775743f + z * 0.298709363f));
    float hf = 0.5f * f * f;
    float l = f - (hf - s * (hf + R));
    float y = e * 0.693145752f + (l + e * 1.42860677e-6f);
    y = rt_vmath_sel(x < 0.0f, NAN, y);
    y = rt_vmath_sel(x == 0.0f, -HUGE_VALF, y);
    y = rt_vmath_sel(x == HUGE_VALF, x, y);
    return rt_vmath_sel(x != x, x, y);
}

/* log(1 + x): log(u) for u = 1 + x rounded, plus the rounding's share
 * (x - (u - 1)) / u; exact x when u rounds to 1. */
RT_VMATH float rt_vmath_log1pf(float x)
{
    float u = 1.0f + x;
    float lu = rt_vmath_logf(u);
    float y = lu + (x - (u - 1.0f)) / u;
    y = rt_vmath_sel(u == 1.0f, x, y);
    y = rt_vmath_sel((u == HUGE_VALF) | (u <= 0.0f), lu, y);   /* inf, -inf, NaN */
    return rt_vmath_sel(x != x, x, y);
}

/* tanh x: x + x^3 P(x^2) for |x| < 0.625, else sign(x) (1 - 2 / (e^2|x| + 1));
 * |x| >= 9.1 rounds to +-1. */
RT_VMATH float rt_vmath_tanhf(float x)
{
    float a = rt_vmath_copysign(x, 1.0f);
    float z = x * x;
    float p = -0.00570498733f;
    p = p * z + 0.020639088f;
    p = p * z - 0.0537397154f;
    p = p * z + 0.133314416f;
    p = p * z - 0.333332807f;
    float small = x + x * z * p;
    float c = rt_vmath_sel(a < 9.1f, a, 9.1f);          /* also NaN -> 9.1 */
    float big = 1.0f - 2.0f / (rt_vmath_exp_core(c + c) + 1.0f);
    big = rt_vmath_copysign(big, x);
    float y = rt_vmath_sel(a < 0.625f, small, big);
    return rt_vmath_sel(x != x, x, y);
}

/* erf x: x P(x^2) for |x| < 0.75 (relative accuracy near 0), else
 * x P(x^2) / Q(x^2) (rt_common.h) for |x| < 3.92, +-1 beyond (erf rounds
 * to +-1 there). */
RT_VMATH float rt_vmath_erff(float x)
{
    float a = rt_vmath_copysign(x, 1.0f);
    float z = x * x;
    float e = -0.000674954266f;
    e = e * z + 0.00511435f;
    e = e * z - 0.0268346276f;
    e = e * z + 0.112833768f;
    e = e * z - 0.3761262f;
    e = e * z + 1.12837911f;
    float c = rt_vmath_sel(a < 3.92f, x, 0.0f);         /* the rational only where it is used */
    float t = c * c;
    float p = RT_EPI_ERFP5, q = RT_EPI_ERFQ5;
    p = p * t + RT_EPI_ERFP4;
    p = p * t + RT_EPI_ERFP3;
    p = p * t + RT_EPI_ERFP2;
    p = p * t + RT_EPI_ERFP1;
    p = p * t + RT_EPI_ERFP0;
    q = q * t + RT_EPI_ERFQ4;
    q = q * t + RT_EPI_ERFQ3;
    q = q * t + RT_EPI_ERFQ2;
    q = q * t + RT_EPI_ERFQ1;
    q = q * t + 1.0f;
    float big = c * (p / q), one = rt_vmath_copysign(1.0f, x), small = x * e;
    float y = rt_vmath_sel(a < 3.92f, big, one);
    y = rt_vmath_sel(a < 0.75f, small, y);
    return rt_vmath_sel(x != x, x, y);
}
