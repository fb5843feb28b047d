/* rt_common.h - macros, includes and shared types for every runtime kernel.
 *
 * The code generator pastes this file once at the top of model.c, after
 * `#define RT_EMBED`, and then pastes each kernel file a model needs
 * (dependencies first: a kernel's first line is a comment "rt-deps: a b"
 * naming, space-separated and by base name, the kernel files it calls; the
 * list is empty when there are none).  The compiler itself and the unit
 * tests build the same files as ordinary translation units, without
 * RT_EMBED; there each kernel file includes rt.h, which declares the API.
 *
 * Rules every kernel file follows (see also runtime/README.md):
 *   - C99; only <stddef.h> <stdint.h> <string.h> <math.h> and intrinsics
 *     headers guarded by the compiler's own feature macros;
 *   - no malloc, no VLAs, no global mutable state, no stack array > 4 KiB;
 *     scratch memory comes from the caller;
 *   - every exported function is RT_API and named rt_*; helpers are
 *     RT_INTERNAL and named rt_<file>_* so that files pasted into one
 *     translation unit never clash;
 *   - a kernel file never #includes another kernel file.
 */
#ifndef RT_COMMON_H
#define RT_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <math.h>

/* Exported kernels: external linkage in the compiler and the tests;
 * file-local in model.c, where an unused kernel must not warn. */
#ifdef RT_EMBED
#  ifdef __GNUC__
#    define RT_API static __attribute__((unused))
#  else
#    define RT_API static
#  endif
#else
#  define RT_API
#endif

/* Helpers private to one kernel file. */
#ifdef __GNUC__
#  define RT_INTERNAL static __attribute__((unused))
#else
#  define RT_INTERNAL static
#endif

/* d = a*b + c, fused where the target has a fast fused multiply-add (one
 * rounding; also what gcc -std=c99 would not contract by itself), else a
 * separate multiply and add: fmaf() would be a slow library call there. */
#if defined(FP_FAST_FMAF) || defined(__FMA__) || defined(__ARM_FEATURE_FMA)
#  define RT_FMA(a, b, c) fmaf((a), (b), (c))
#else
#  define RT_FMA(a, b, c) ((a) * (b) + (c))
#endif

/* For micro-kernels: inlined into a large caller, gcc 12 spills their
 * vector registers. */
#ifdef __GNUC__
#  define RT_NOINLINE __attribute__((noinline))
#else
#  define RT_NOINLINE
#endif

#if !defined(RT_NO_SIMD) && defined(__AVX__)
#include <immintrin.h>
/* dst[k*ldd + r] = src[r*ld + k] for r, k < 8: an 8 x 8 transpose in
 * registers (gemm.c packs A with it, transpose.c moves tiles). */
RT_INTERNAL void rt_tr8x8(const float *src, ptrdiff_t ld, float *dst, ptrdiff_t ldd)
{
    __m256 r0 = _mm256_loadu_ps(src), r1 = _mm256_loadu_ps(src + ld);
    __m256 r2 = _mm256_loadu_ps(src + 2 * ld), r3 = _mm256_loadu_ps(src + 3 * ld);
    __m256 r4 = _mm256_loadu_ps(src + 4 * ld), r5 = _mm256_loadu_ps(src + 5 * ld);
    __m256 r6 = _mm256_loadu_ps(src + 6 * ld), r7 = _mm256_loadu_ps(src + 7 * ld);
    /* pairs of rows interleaved: (k0 k1 | k4 k5), (k2 k3 | k6 k7) */
    __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
    __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
    __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
    __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
    /* four rows of one k per 128-bit lane: (k | k+4) */
    __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    _mm256_storeu_ps(dst, _mm256_permute2f128_ps(s0, s4, 0x20));
    _mm256_storeu_ps(dst + 1 * ldd, _mm256_permute2f128_ps(s1, s5, 0x20));
    _mm256_storeu_ps(dst + 2 * ldd, _mm256_permute2f128_ps(s2, s6, 0x20));
    _mm256_storeu_ps(dst + 3 * ldd, _mm256_permute2f128_ps(s3, s7, 0x20));
    _mm256_storeu_ps(dst + 4 * ldd, _mm256_permute2f128_ps(s0, s4, 0x31));
    _mm256_storeu_ps(dst + 5 * ldd, _mm256_permute2f128_ps(s1, s5, 0x31));
    _mm256_storeu_ps(dst + 6 * ldd, _mm256_permute2f128_ps(s2, s6, 0x31));
    _mm256_storeu_ps(dst + 7 * ldd, _mm256_permute2f128_ps(s3, s7, 0x31));
}
#endif

#if !defined(RT_NO_SIMD) && defined(__AVX512F__)
#include <immintrin.h>
/* Round 1-2 of a 16 x 16 transpose: in each group of four registers
 * r[4i .. 4i+3], every 128-bit block holds a 4 x 4 block transposed
 * (lane j of block L of r[4i + k] was lane k of block L of r[4i + j])
 * after the even/odd interleave of register pairs. */
RT_INTERNAL void rt_tr16x16_blocks(__m512 *r)
{
    __m512 t[16];
    int i;
    for (i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (i = 0; i < 4; i++) {
        __m512d a = _mm512_castps_pd(t[4 * i]), b = _mm512_castps_pd(t[4 * i + 1]);
        __m512d c = _mm512_castps_pd(t[4 * i + 2]), d = _mm512_castps_pd(t[4 * i + 3]);
        r[4 * i + 0] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
        r[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
        r[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
        r[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
    }
}

/* A 16 x 16 block transposed in registers: afterwards lane i of r[j] is
 * what lane j of r[i] was (depthwise.c and conv_small.c swap pixels and
 * channels between lanes and registers with it; winograd.c uses the
 * first rounds alone). */
RT_INTERNAL void rt_tr16x16(__m512 *r)
{
    __m512 t[16];
    int i, k;
    rt_tr16x16_blocks(r);
    for (k = 0; k < 4; k++) {
        __m512 p0 = _mm512_shuffle_f32x4(r[k], r[4 + k], 0x44);
        __m512 p1 = _mm512_shuffle_f32x4(r[k], r[4 + k], 0xEE);
        __m512 p2 = _mm512_shuffle_f32x4(r[8 + k], r[12 + k], 0x44);
        __m512 p3 = _mm512_shuffle_f32x4(r[8 + k], r[12 + k], 0xEE);
        t[0 + k] = _mm512_shuffle_f32x4(p0, p2, 0x88);
        t[4 + k] = _mm512_shuffle_f32x4(p0, p2, 0xDD);
        t[8 + k] = _mm512_shuffle_f32x4(p1, p3, 0x88);
        t[12 + k] = _mm512_shuffle_f32x4(p1, p3, 0xDD);
    }
    for (i = 0; i < 16; i++)
        r[i] = t[i];
}
#endif

/* erf(z) = z P(z^2) / Q(z^2) on [0, 4], P and Q of degree 5 (erf rounds
 * to 1 beyond 4), fitted for epilogue.c (weighted least squares iterated
 * toward minimax, on Chebyshev nodes); fit error 2e-8, float evaluation
 * 4e-7 (one rational instead of two polynomials and an exp: GELU epilogue
 * 2x faster).  vmath.c's erff uses it too. */
#define RT_EPI_ERFP5 1.974794031411875e-6f
#define RT_EPI_ERFP4 2.8804223984479904e-4f
#define RT_EPI_ERFP3 4.003740847110748e-3f
#define RT_EPI_ERFP2 5.346776545047760e-2f
#define RT_EPI_ERFP1 1.9625136256217957e-1f
#define RT_EPI_ERFP0 1.128378987312317f
#define RT_EPI_ERFQ5 3.7480534956557676e-5f
#define RT_EPI_ERFQ4 1.216380507685244e-3f
#define RT_EPI_ERFQ3 1.5444613061845303e-2f
#define RT_EPI_ERFQ2 1.1647739261388779e-1f
#define RT_EPI_ERFQ1 5.07254421710968e-1f

#define RT_MIN(a, b) ((a) < (b) ? (a) : (b))
#define RT_MAX(a, b) ((a) > (b) ? (a) : (b))

/* Shapes shared between a kernel and its callers live here, not in the
 * kernel file, so that rt.h (compiler side) and model.c (embedded side) see
 * one definition without a kernel file having to be included twice. */

/* 2-D convolution, NCHW.  A 1-D convolution is passed with H = KH = 1,
 * SH = DH = 1, PT = 0.  Output pixel (oh, ow) reads input rows
 * oh*SH - PT + kh*DH and columns ow*SW - PL + kw*DW; anything outside
 * [0,H) x [0,W) is zero padding, so the bottom/right padding follows from
 * OH/OW and may be anything (also larger than the kernel, or negative). */
typedef struct {
    int N, C, H, W;     /* input x: [N, C, H, W] */
    int M, OH, OW;      /* output y: [N, M, OH, OW] */
    int KH, KW;         /* kernel; weights w: [M, C/group, KH, KW] */
    int SH, SW, DH, DW; /* strides, dilations (>= 1) */
    int PT, PL;         /* top/left padding (>= 0) */
    int group;          /* C % group == 0 and M % group == 0 */
} rt_conv2d_shape;

/* A transpose (transpose.c) seen from its contiguous output:
 *   y[i1*d1 + i2*d2 + a*da + b] = x[i1*s1 + i2*s2 + a + b*sb]
 * for a < A, b < B, i1 < n1, i2 < n2. */
typedef struct {
    ptrdiff_t A, B, sb, da;
    ptrdiff_t n1, s1, d1, n2, s2, d2;
} rt_transpose_shape;

/* Fused self-attention (attention.c), per batch b and head h:
 *   O[b,h] = softmax(scale * Q[b,h] K[b,h]^T + mask[b,h]) V[b,h]
 * Q[b,h] is Sq x D, K[b,h] Sk x D, V[b,h] Sk x Dv, O[b,h] Sq x Dv; element
 * (b, h, row, col) of Q sits at q[b*qb + h*qh + row*qi + col] (the last
 * axis contiguous), likewise K (kb, kh, kj), V (vb, vh, vj), O (ob, oh, oi).
 * The mask (optional) is read at b*mb + h*mh + row*mi + col*mj; a stride 0
 * broadcasts (mj is 0 or 1). nan_zero 1: a row whose softmax is NaN (all
 * its scores -inf, or a NaN or +inf among them) is written as zeros, what
 * exporters' Where(IsNaN(P), 0, P) guard after the Softmax asks for. */
typedef struct {
    ptrdiff_t B, H, Sq, Sk, D, Dv;
    ptrdiff_t qb, qh, qi, kb, kh, kj, vb, vh, vj, ob, oh, oi;
    ptrdiff_t mb, mh, mi, mj;
    ptrdiff_t nan_zero;
} rt_attention_shape;

/* One ONNX RNN / GRU / LSTM node over a whole sequence (rnn.c); the
 * operands' layouts are described at rt_rnn in rt.h. */
typedef struct {
    int cell;           /* RT_RNN_CELL_* */
    int dirs, reverse;  /* 1 or 2 directions; reverse: the one direction runs backward */
    int seq, batch, input, hidden;
    int layout;         /* 0: x [seq, batch, input]; 1: x [batch, seq, input] */
    int flags;          /* RT_RNN_* */
    /* activation codes (RT_RNN_ACT_*), three per direction: f, g, h */
    int act0, act1, act2, act3, act4, act5;
} rt_rnn_shape;

enum { RT_RNN_CELL_RNN = 0, RT_RNN_CELL_GRU = 1, RT_RNN_CELL_LSTM = 2 };
enum {
    RT_RNN_PACKED_W = 1,            /* w was packed by rt_rnn_pack_w */
    RT_RNN_PACKED_R = 2,            /* r was packed by rt_rnn_pack_r */
    RT_RNN_LINEAR_BEFORE_RESET = 4, /* GRU */
    RT_RNN_INPUT_FORGET = 8         /* LSTM: f = 1 - i */
};
/* ONNX's activation functions; alpha, beta as its operators of that name */
enum {
    RT_RNN_ACT_RELU = 0, RT_RNN_ACT_TANH, RT_RNN_ACT_SIGMOID, RT_RNN_ACT_AFFINE,
    RT_RNN_ACT_LEAKY_RELU, RT_RNN_ACT_THRESHOLDED_RELU, RT_RNN_ACT_SCALED_TANH,
    RT_RNN_ACT_HARD_SIGMOID, RT_RNN_ACT_ELU, RT_RNN_ACT_SOFTSIGN, RT_RNN_ACT_SOFTPLUS
};

/* Convolution algorithms (conv.c: rt_conv2d_algo picks one from the shape;
 * the packed weight layout and the scratch size follow from both). */
enum {
    RT_CONV_ALGO_DW = 1,        /* depthwise, depthwise.c */
    RT_CONV_ALGO_GEMM = 2,      /* implicit GEMM over phase planes */
    RT_CONV_ALGO_WINOGRAD = 3,  /* Winograd F(4x4, 3x3), winograd.c */
    RT_CONV_ALGO_SMALL = 4      /* small planes, channels in vectors: conv_small.c */
};
#define RT_CONV_NO_WINOGRAD 1   /* rt_conv2d_algo flags */
#define RT_CONV_NO_SMALL 2
#define RT_CONV_RAW_WEIGHTS 256 /* or'ed into an algorithm: the weights are
                                   as ONNX stores them, packed into scratch */

/* What a GEMM or convolution applies to each output element as it stores
 * it, so that bias, residual add and activation never take a second pass
 * over memory:  c = act(c + bias + residual).  */
typedef enum {
    RT_ACT_NONE = 0,
    RT_ACT_RELU = 1,
    RT_ACT_CLIP = 2,        /* min(max(x, alpha), beta) */
    RT_ACT_LEAKY_RELU = 3,  /* x < 0 ? alpha * x : x */
    RT_ACT_HARD_SWISH = 4,  /* x * min(max(x / 6 + 1/2, 0), 1) */
    RT_ACT_SIGMOID = 5,
    RT_ACT_GELU_ERF = 6,    /* x / 2 * (1 + erf(x / sqrt 2)) */
    RT_ACT_GELU_TANH = 7,
    RT_ACT_SILU = 8,        /* x / (1 + exp(-x)), also called Swish */
    RT_ACT_LAST = RT_ACT_SILU
} rt_act;

typedef struct {
    const float *bias;      /* NULL, or one value per row (bias_rows) or per column */
    int bias_rows;
    const float *residual;  /* NULL, or a matrix laid out like the output, row stride ldr */
    ptrdiff_t ldr;
    int act;                /* rt_act */
    float alpha, beta;      /* activation parameters, see rt_act */
} rt_epilogue;

/* An rt_epilogue from the loose arguments of the flat entry points. */
RT_INTERNAL rt_epilogue rt_epilogue_of(const float *bias, int bias_rows,
                                       const float *residual, ptrdiff_t ldr, int act,
                                       float alpha, float beta)
{
    rt_epilogue e;
    e.bias = bias;
    e.bias_rows = bias_rows;
    e.residual = residual;
    e.ldr = ldr;
    e.act = act;
    e.alpha = alpha;
    e.beta = beta;
    return e;
}

#endif /* RT_COMMON_H */
