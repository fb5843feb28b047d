/* rt-deps: */
/* epilogue.c - bias, residual add and activation applied to a block of an
 * output while it is still in cache (see rt_epilogue in rt_common.h), and
 * the vectorised exp / activations they need.
 *
 * x86 targets (AVX-512, AVX2 + FMA) evaluate exp, erf, tanh and sigmoid
 * with polynomials fitted for this file (below); every other target, and
 * -DRT_NO_SIMD, calls libm one element at a time.  Accuracy of the
 * vector forms, measured against double precision over the float range:
 *   exp      relative error < 3e-7 for x in [-87, 88]; below -87 the
 *            result is 0 on AVX2 (subnormal results flushed), the exact
 *            tiny value on AVX-512;
 *   erf      absolute error < 5e-7, so GELU (erf) has an absolute error
 *            < 2e-7 max(1, |x|) (with the rounding of the result);
 *   tanh     absolute error < 3e-7 (1 - 2 / (e^2x + 1));
 *   sigmoid  relative error < 5e-7.
 * tests/unit/test_rt_epilogue.c checks these bounds.
 */
#ifndef RT_EMBED
#include "rt.h"
#endif

#if !defined(RT_NO_SIMD) && defined(__AVX512F__)
#  include <immintrin.h>
#  define RT_EPILOGUE_AVX512 1
#elif !defined(RT_NO_SIMD) && defined(__AVX2__) && defined(__FMA__)
#  include <immintrin.h>
#  define RT_EPILOGUE_AVX2 1
#endif

RT_API float rt_activate(int act, float alpha, float beta, float x)
{
    switch (act) {
    case RT_ACT_RELU: return x > 0.0f ? x : 0.0f;
    case RT_ACT_CLIP: return x < alpha ? alpha : (x > beta ? beta : x);
    case RT_ACT_LEAKY_RELU: return x < 0.0f ? alpha * x : x;
    case RT_ACT_HARD_SWISH: {
        float h = x * (1.0f / 6.0f) + 0.5f;
        h = h < 0.0f ? 0.0f : (h > 1.0f ? 1.0f : h);
        return x * h;
    }
    case RT_ACT_SIGMOID: return 1.0f / (1.0f + expf(-x));
    case RT_ACT_GELU_ERF: return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
    case RT_ACT_GELU_TANH: {
        float u = 0.7978845608028654f * (x + 0.044715f * x * x * x);
        return 0.5f * x * (1.0f + tanhf(u));
    }
    case RT_ACT_SILU: return x / (1.0f + expf(-x));
    default: return x;
    }
}

/* The vector helpers are inlined into the row loops, so that with the
 * activation a constant there (rt_epilogue_row dispatches on it once) the
 * loop body has no call and no switch, and consecutive vectors' exp
 * polynomials (a chain of dependent FMAs) overlap: called per vector,
 * SiLU cost ~100 cycles per 16 values on a Xeon, 3x the 1x1 conv it ends. */
#ifdef __GNUC__
#  define RT_EPI_INLINE static inline __attribute__((always_inline, unused))
#else
#  define RT_EPI_INLINE static inline
#endif

/* Coefficients fitted for this file (weighted least squares iterated
 * toward minimax, on Chebyshev nodes):
 *   EXP: e^r for |r| <= ln2/2, a polynomial of degree 6;
 *   ERF: in rt_common.h. */
#define RT_EPI_EXP6 1.3836828293278813e-3f
#define RT_EPI_EXP5 8.374815806746483e-3f
#define RT_EPI_EXP4 4.166822507977486e-2f
#define RT_EPI_EXP3 1.6666419804096222e-1f
#define RT_EPI_EXP2 4.9999991059303284e-1f
#define RT_EPI_EXP1 1.0f
#define RT_EPI_EXP0 1.0f
#define RT_EPI_LN2_HI 0.693359375f        /* ln 2 = HI + LO, HI exact in 10 bits */
#define RT_EPI_LN2_LO (-2.12194440e-4f)
#define RT_EPI_LOG2E 1.44269504088896341f

#if defined(RT_EPILOGUE_AVX512)
#define RT_EPI_V __m512
#define RT_EPI_W 16
#define RT_EPI_SET1 _mm512_set1_ps
#define RT_EPI_FMA _mm512_fmadd_ps
#define RT_EPI_MUL _mm512_mul_ps
#define RT_EPI_ADD _mm512_add_ps
#define RT_EPI_MIN _mm512_min_ps
#define RT_EPI_MAX _mm512_max_ps

/* e^x; 0 below -87 (where e^x is at most a subnormal: producing one costs
 * a microcode assist of ~100 cycles on Intel cores, which masked softmax
 * rows hit for every masked key); NaN stays NaN (max/min return their
 * second operand on NaN). */
RT_EPI_INLINE __m512 rt_epilogue_exp_v(__m512 x)
{
    __m512 n, r, p;
    __mmask16 keep = _mm512_cmp_ps_mask(x, _mm512_set1_ps(-87.0f), _CMP_NLT_UQ);
    x = _mm512_max_ps(_mm512_set1_ps(-87.0f), x);
    x = _mm512_min_ps(_mm512_set1_ps(89.0f), x);
    n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(RT_EPI_LOG2E)),
                             _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(RT_EPI_LN2_HI), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(RT_EPI_LN2_LO), r);
    p = _mm512_set1_ps(RT_EPI_EXP6);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(RT_EPI_EXP5));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(RT_EPI_EXP4));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(RT_EPI_EXP3));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(RT_EPI_EXP2));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(RT_EPI_EXP1));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(RT_EPI_EXP0));
    return _mm512_maskz_mov_ps(keep, _mm512_scalef_ps(p, n)); /* p * 2^n, inf as needed */
}

RT_EPI_INLINE __m512 rt_epilogue_abs_v(__m512 x)
{
    return _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(x),
                                                _mm512_set1_epi32(0x7fffffff)));
}

/* sign of s on |m| */
RT_EPI_INLINE __m512 rt_epilogue_copysign_v(__m512 m, __m512 s)
{
    __m512i sign = _mm512_and_si512(_mm512_castps_si512(s),
                                    _mm512_set1_epi32((int)0x80000000u));
    return _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(m), sign));
}

#elif defined(RT_EPILOGUE_AVX2)
#define RT_EPI_V __m256
#define RT_EPI_W 8
#define RT_EPI_SET1 _mm256_set1_ps
#define RT_EPI_FMA _mm256_fmadd_ps
#define RT_EPI_MUL _mm256_mul_ps
#define RT_EPI_ADD _mm256_add_ps
#define RT_EPI_MIN _mm256_min_ps
#define RT_EPI_MAX _mm256_max_ps

/* e^x; 0 below -87 (where e^x is at most a subnormal); NaN stays NaN. */
RT_EPI_INLINE __m256 rt_epilogue_exp_v(__m256 x)
{
    __m256 n, r, p;
    __m256i e;
    __m256 tiny = _mm256_cmp_ps(x, _mm256_set1_ps(-87.0f), _CMP_LT_OQ);
    x = _mm256_max_ps(_mm256_set1_ps(-87.0f), x);
    x = _mm256_min_ps(_mm256_set1_ps(88.0f), x);
    n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(RT_EPI_LOG2E)),
                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(RT_EPI_LN2_HI), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(RT_EPI_LN2_LO), r);
    p = _mm256_set1_ps(RT_EPI_EXP6);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(RT_EPI_EXP5));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(RT_EPI_EXP4));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(RT_EPI_EXP3));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(RT_EPI_EXP2));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(RT_EPI_EXP1));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(RT_EPI_EXP0));
    /* n in [-126, 127]: 2^n built in the exponent field */
    e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_andnot_ps(tiny, _mm256_mul_ps(p, _mm256_castsi256_ps(e)));
}

RT_EPI_INLINE __m256 rt_epilogue_abs_v(__m256 x)
{
    return _mm256_and_ps(x, _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff)));
}

RT_EPI_INLINE __m256 rt_epilogue_copysign_v(__m256 m, __m256 s)
{
    __m256 sign = _mm256_and_ps(s, _mm256_castsi256_ps(_mm256_set1_epi32((int)0x80000000u)));
    return _mm256_or_ps(m, sign);
}

#endif

#ifdef RT_EPI_V
/* erf(z) = z P(z^2) / Q(z^2) with z clamped to [-4, 4] (erf rounds to
 * +-1 beyond); NaN stays NaN. */
RT_EPI_INLINE RT_EPI_V rt_epilogue_erf_v(RT_EPI_V z)
{
    RT_EPI_V t, p, q;
    z = RT_EPI_MAX(RT_EPI_SET1(-4.0f), RT_EPI_MIN(RT_EPI_SET1(4.0f), z));
    t = RT_EPI_MUL(z, z);
    p = RT_EPI_SET1(RT_EPI_ERFP5);
    p = RT_EPI_FMA(p, t, RT_EPI_SET1(RT_EPI_ERFP4));
    p = RT_EPI_FMA(p, t, RT_EPI_SET1(RT_EPI_ERFP3));
    p = RT_EPI_FMA(p, t, RT_EPI_SET1(RT_EPI_ERFP2));
    p = RT_EPI_FMA(p, t, RT_EPI_SET1(RT_EPI_ERFP1));
    p = RT_EPI_FMA(p, t, RT_EPI_SET1(RT_EPI_ERFP0));
    q = RT_EPI_SET1(RT_EPI_ERFQ5);
    q = RT_EPI_FMA(q, t, RT_EPI_SET1(RT_EPI_ERFQ4));
    q = RT_EPI_FMA(q, t, RT_EPI_SET1(RT_EPI_ERFQ3));
    q = RT_EPI_FMA(q, t, RT_EPI_SET1(RT_EPI_ERFQ2));
    q = RT_EPI_FMA(q, t, RT_EPI_SET1(RT_EPI_ERFQ1));
    q = RT_EPI_FMA(q, t, RT_EPI_SET1(1.0f));
#if defined(RT_EPILOGUE_AVX512)
    return _mm512_div_ps(_mm512_mul_ps(z, p), q);
#else
    return _mm256_div_ps(_mm256_mul_ps(z, p), q);
#endif
}

/* tanh(x) = sign(x) (1 - 2 / (e^(2|x|) + 1)) */
RT_EPI_INLINE RT_EPI_V rt_epilogue_tanh_v(RT_EPI_V x)
{
    RT_EPI_V a = RT_EPI_MIN(rt_epilogue_abs_v(x), RT_EPI_SET1(20.0f));
    RT_EPI_V e = rt_epilogue_exp_v(RT_EPI_ADD(a, a));
    RT_EPI_V one = RT_EPI_SET1(1.0f);
#if defined(RT_EPILOGUE_AVX512)
    RT_EPI_V t = _mm512_sub_ps(one, _mm512_div_ps(RT_EPI_SET1(2.0f), _mm512_add_ps(e, one)));
#else
    RT_EPI_V t = _mm256_sub_ps(one, _mm256_div_ps(RT_EPI_SET1(2.0f), _mm256_add_ps(e, one)));
#endif
    return rt_epilogue_copysign_v(t, x);
}

RT_EPI_INLINE RT_EPI_V rt_epilogue_act_v(int act, float alpha, float beta, RT_EPI_V v)
{
    RT_EPI_V half = RT_EPI_SET1(0.5f);
    switch (act) {
    case RT_ACT_RELU: return RT_EPI_MAX(v, RT_EPI_SET1(0.0f));
    case RT_ACT_CLIP:
        return RT_EPI_MIN(RT_EPI_MAX(v, RT_EPI_SET1(alpha)), RT_EPI_SET1(beta));
    case RT_ACT_LEAKY_RELU: {
        RT_EPI_V zero = RT_EPI_SET1(0.0f);
        return RT_EPI_ADD(RT_EPI_MAX(v, zero),
                          RT_EPI_MUL(RT_EPI_MIN(v, zero), RT_EPI_SET1(alpha)));
    }
    case RT_ACT_HARD_SWISH: {
        RT_EPI_V h = RT_EPI_FMA(v, RT_EPI_SET1(1.0f / 6.0f), half);
        h = RT_EPI_MIN(RT_EPI_MAX(h, RT_EPI_SET1(0.0f)), RT_EPI_SET1(1.0f));
        return RT_EPI_MUL(v, h);
    }
    case RT_ACT_SIGMOID: {
        RT_EPI_V e = rt_epilogue_exp_v(RT_EPI_MUL(v, RT_EPI_SET1(-1.0f)));
#if defined(RT_EPILOGUE_AVX512)
        return _mm512_div_ps(RT_EPI_SET1(1.0f), _mm512_add_ps(e, RT_EPI_SET1(1.0f)));
#else
        return _mm256_div_ps(RT_EPI_SET1(1.0f), _mm256_add_ps(e, RT_EPI_SET1(1.0f)));
#endif
    }
    case RT_ACT_GELU_ERF: {
        RT_EPI_V hv = RT_EPI_MUL(v, half);
        RT_EPI_V e = rt_epilogue_erf_v(RT_EPI_MUL(v, RT_EPI_SET1(0.70710678118654752f)));
        return RT_EPI_FMA(hv, e, hv);
    }
    case RT_ACT_GELU_TANH: {
        RT_EPI_V v3 = RT_EPI_MUL(RT_EPI_MUL(v, v), v);
        RT_EPI_V u = RT_EPI_MUL(RT_EPI_FMA(v3, RT_EPI_SET1(0.044715f), v),
                                RT_EPI_SET1(0.7978845608028654f));
        RT_EPI_V hv = RT_EPI_MUL(v, half);
        return RT_EPI_FMA(hv, rt_epilogue_tanh_v(u), hv);
    }
    case RT_ACT_SILU: {
        /* far below 0, exp(-x) is huge or inf and x / (e + 1) goes to -0 */
        RT_EPI_V e = rt_epilogue_exp_v(RT_EPI_MUL(v, RT_EPI_SET1(-1.0f)));
#if defined(RT_EPILOGUE_AVX512)
        return _mm512_div_ps(v, _mm512_add_ps(e, RT_EPI_SET1(1.0f)));
#else
        return _mm256_div_ps(v, _mm256_add_ps(e, RT_EPI_SET1(1.0f)));
#endif
    }
    default: return v;
    }
}

#if defined(RT_EPILOGUE_AVX512)
#define RT_EPI_LOADU _mm512_loadu_ps
#define RT_EPI_STOREU _mm512_storeu_ps
#else
#define RT_EPI_LOADU _mm256_loadu_ps
#define RT_EPI_STOREU _mm256_storeu_ps
#endif
#endif /* RT_EPI_V */

/* rt_epilogue_row's body, inlined where act is a constant. */
RT_EPI_INLINE void rt_epilogue_row_k(int act, float alpha, float beta, float *x, ptrdiff_t n,
                                     float rowbias, const float *colbias, const float *res)
{
    ptrdiff_t j = 0;
#ifdef RT_EPI_V
    RT_EPI_V rb = RT_EPI_SET1(rowbias);
    for (; j < n / RT_EPI_W * RT_EPI_W; j += RT_EPI_W) {
        RT_EPI_V v = RT_EPI_ADD(RT_EPI_LOADU(x + j), rb);
        if (colbias)
            v = RT_EPI_ADD(v, RT_EPI_LOADU(colbias + j));
        if (res)
            v = RT_EPI_ADD(v, RT_EPI_LOADU(res + j));
        RT_EPI_STOREU(x + j, rt_epilogue_act_v(act, alpha, beta, v));
    }
#if defined(RT_EPILOGUE_AVX512)
    if (j < n) {
        __mmask16 m = (__mmask16)((1u << (n - j)) - 1u);
        __m512 v = _mm512_add_ps(_mm512_maskz_loadu_ps(m, x + j), rb);
        if (colbias)
            v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, colbias + j));
        if (res)
            v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, res + j));
        _mm512_mask_storeu_ps(x + j, m, rt_epilogue_act_v(act, alpha, beta, v));
        return;
    }
#else
    if (j < n) {   /* through a small buffer, so the tail is vectorised too */
        float buf[RT_EPI_W];
        ptrdiff_t t, m = n - j;
        RT_EPI_V v;
        for (t = 0; t < RT_EPI_W; t++)
            buf[t] = t < m ? x[j + t] + rowbias + (colbias ? colbias[j + t] : 0.0f)
                                                 + (res ? res[j + t] : 0.0f)
                           : 0.0f;
        v = rt_epilogue_act_v(act, alpha, beta, RT_EPI_LOADU(buf));
        RT_EPI_STOREU(buf, v);
        for (t = 0; t < m; t++)
            x[j + t] = buf[t];
        return;
    }
#endif
#else
    for (; j < n; j++) {
        float v = x[j] + rowbias;
        if (colbias)
            v += colbias[j];
        if (res)
            v += res[j];
        x[j] = v;
    }
    switch (act) {
    case RT_ACT_NONE: break;
    case RT_ACT_RELU:   /* the common case, kept vectorisable */
        for (j = 0; j < n; j++)
            x[j] = x[j] > 0.0f ? x[j] : 0.0f;
        break;
    default:
        for (j = 0; j < n; j++)
            x[j] = rt_activate(act, alpha, beta, x[j]);
        break;
    }
#endif
}

/* x[0..n) = act(x[0..n) + rowbias + colbias[0..n) + res[0..n)) in place:
 * colbias and res may be NULL. */
RT_INTERNAL void rt_epilogue_row(int act, float alpha, float beta, float *x, ptrdiff_t n,
                                 float rowbias, const float *colbias, const float *res)
{
#define RT_EPI_CASE(a)                                                        \
    case a: rt_epilogue_row_k(a, alpha, beta, x, n, rowbias, colbias, res); return
    switch (act) {
    RT_EPI_CASE(RT_ACT_RELU);
    RT_EPI_CASE(RT_ACT_CLIP);
    RT_EPI_CASE(RT_ACT_LEAKY_RELU);
    RT_EPI_CASE(RT_ACT_HARD_SWISH);
    RT_EPI_CASE(RT_ACT_SIGMOID);
    RT_EPI_CASE(RT_ACT_GELU_ERF);
    RT_EPI_CASE(RT_ACT_GELU_TANH);
    RT_EPI_CASE(RT_ACT_SILU);
    default: rt_epilogue_row_k(RT_ACT_NONE, alpha, beta, x, n, rowbias, colbias, res); return;
    }
#undef RT_EPI_CASE
}

RT_API void rt_activate_n(int act, float alpha, float beta, float *x, ptrdiff_t n)
{
    rt_epilogue_row(act, alpha, beta, x, n, 0.0f, NULL, NULL);
}

RT_API void rt_exp_n(const float *x, float *y, ptrdiff_t n)
{
    ptrdiff_t j = 0;
#ifdef RT_EPI_V
    for (; j < n / RT_EPI_W * RT_EPI_W; j += RT_EPI_W)
        RT_EPI_STOREU(y + j, rt_epilogue_exp_v(RT_EPI_LOADU(x + j)));
#if defined(RT_EPILOGUE_AVX512)
    if (j < n) {
        __mmask16 m = (__mmask16)((1u << (n - j)) - 1u);
        _mm512_mask_storeu_ps(y + j, m, rt_epilogue_exp_v(_mm512_maskz_loadu_ps(m, x + j)));
    }
    return;
#endif
#endif
    for (; j < n; j++)
        y[j] = expf(x[j]);
}

/* y[j] = exp(x[j] - shift) (y may be x, or NULL: not stored); returns the
 * sum of them, in one pass (softmax rows: an affine pass, the exponentials
 * and a sum, each over the row, cost a third more). */
RT_API float rt_exp_sum(const float *x, float *y, ptrdiff_t n, float shift)
{
    ptrdiff_t j = 0;
    float s = 0.0f;
#if defined(RT_EPILOGUE_AVX512)
    __m512 acc = _mm512_setzero_ps(), sh = _mm512_set1_ps(shift);
    for (; j < n / 16 * 16; j += 16) {
        __m512 e = rt_epilogue_exp_v(_mm512_sub_ps(_mm512_loadu_ps(x + j), sh));
        if (y)
            _mm512_storeu_ps(y + j, e);
        acc = _mm512_add_ps(acc, e);
    }
    if (j < n) {
        __mmask16 m = (__mmask16)((1u << (n - j)) - 1u);
        __m512 e = rt_epilogue_exp_v(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + j), sh));
        if (y)
            _mm512_mask_storeu_ps(y + j, m, e);
        acc = _mm512_mask_add_ps(acc, m, acc, e);
    }
    return _mm512_reduce_add_ps(acc);
#elif defined(RT_EPILOGUE_AVX2)
    __m256 acc = _mm256_setzero_ps(), sh = _mm256_set1_ps(shift);
    __m128 h;
    for (; j < n / 8 * 8; j += 8) {
        __m256 e = rt_epilogue_exp_v(_mm256_sub_ps(_mm256_loadu_ps(x + j), sh));
        if (y)
            _mm256_storeu_ps(y + j, e);
        acc = _mm256_add_ps(acc, e);
    }
    h = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    h = _mm_add_ss(h, _mm_shuffle_ps(h, h, 1));
    s = _mm_cvtss_f32(h);
#endif
    for (; j < n; j++) {
        float e = expf(x[j] - shift);
        if (y)
            y[j] = e;
        s += e;
    }
    return s;
}

/* c[r][col0 .. col0+ncols) for r in [row0, row0+nrows), row stride ldc. */
RT_API void rt_epilogue_block(const rt_epilogue *ep, float *c, ptrdiff_t ldc, ptrdiff_t row0,
                              ptrdiff_t nrows, ptrdiff_t col0, ptrdiff_t ncols)
{
    ptrdiff_t r;
    if (!ep || ncols <= 0)
        return;
    if (!ep->bias && !ep->residual && ep->act == RT_ACT_NONE)
        return;
    for (r = row0; r < row0 + nrows; r++) {
        float rb = ep->bias && ep->bias_rows ? ep->bias[r] : 0.0f;
        const float *cb = ep->bias && !ep->bias_rows ? ep->bias + col0 : NULL;
        const float *res = ep->residual ? ep->residual + r * ep->ldr + col0 : NULL;
        rt_epilogue_row(ep->act, ep->alpha, ep->beta, c + r * ldc + col0, ncols, rb, cb, res);
    }
}
