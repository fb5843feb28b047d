/* rt.h - the runtime kernels' API, for the compiler (constant folding,
 * scratch sizing) and the unit tests.  model.c does not include this file:
 * it gets rt_common.h and the kernel files pasted in (see rt_common.h).
 *
 * Conventions: float32, row-major / NCHW, sizes and strides in elements
 * (ptrdiff_t), scratch sizes in floats.  Scratch buffers need only float
 * alignment (kernels align inside them; the sizes include the slack).
 * Scratch sizes do not depend on the target or on compile flags: the
 * compiler and model.c compute the same numbers.
 */
#ifndef RT_H
#define RT_H

#include "rt_common.h"

/* ---- gemm.c ---------------------------------------------------------- */

/* C[M x N] = alpha * op(A) * op(B) + beta * C.
 * op(A) is M x K (A is stored K x M when transA), op(B) is K x N (B is
 * stored N x K when transB); lda, ldb, ldc are row strides.
 * beta == 0: C is write-only (may hold NaN garbage).  alpha == 0 or K == 0:
 * A and B are not read, C = beta * C.  C must not overlap A or B.
 * scratch: rt_sgemm_scratch(M, N, K) floats (0 when M, N or K is 0; then
 * scratch may be NULL); at most 581664 floats (2.3 MB) whatever the sizes. */
RT_API size_t rt_sgemm_scratch(ptrdiff_t M, ptrdiff_t N, ptrdiff_t K);
RT_API void rt_sgemm(int transA, int transB, ptrdiff_t M, ptrdiff_t N,
                     ptrdiff_t K, float alpha, const float *A, ptrdiff_t lda,
                     const float *B, ptrdiff_t ldb, float beta, float *C,
                     ptrdiff_t ldc, float *scratch);

/* ---- conv.c (rt-deps: gemm) ------------------------------------------ */

/* y = conv2d(x, w) + bias, shapes in *s (rt_conv2d_shape, rt_common.h).
 * x: [N, C, H, W]; w: [M, C/group, KH, KW]; bias: [M] or NULL;
 * y: [N, M, OH, OW], write-only, must not overlap x or w.
 * Preconditions (not checked): group >= 1, C and M multiples of group,
 * KH, KW, SH, SW, DH, DW >= 1, PT, PL >= 0; OH or OW <= 0, N == 0 or M == 0
 * is an empty output (nothing written).
 * scratch: rt_conv2d_scratch(s) floats (0 for depthwise / one input channel
 * per group, and for empty outputs; then scratch may be NULL). */
RT_API size_t rt_conv2d_scratch(const rt_conv2d_shape *s);
RT_API void rt_conv2d(const rt_conv2d_shape *s, const float *x,
                      const float *w, const float *bias, float *y,
                      float *scratch);

/* ---- half.c ---------------------------------------------------------- */

/* IEEE binary16 <-> float, round to nearest even (NaN stays NaN). */
RT_API float rt_h2f(uint16_t h);
RT_API uint16_t rt_f2h(float f);

/* ---- epilogue.c ------------------------------------------------------ */

/* One activation (rt_act) of x. */
RT_API float rt_activate(int act, float alpha, float beta, float x);
/* Applies *ep (bias, residual, activation; may be NULL) in place to rows
 * [row0, row0+nrows) and columns [col0, col0+ncols) of c (row stride ldc). */
RT_API void rt_epilogue_block(const rt_epilogue *ep, float *c, ptrdiff_t ldc, ptrdiff_t row0,
                              ptrdiff_t nrows, ptrdiff_t col0, ptrdiff_t ncols);

#endif /* RT_H */
