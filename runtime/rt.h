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

/* ---- gemm.c (rt-deps: epilogue) ------------------------------------ */

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

/* transA / transB value: the operand was packed by rt_sgemm_pack_a /
 * rt_sgemm_pack_b (lda / ldb are then ignored). */
#define RT_GEMM_PACKED 2

/* C = ep(alpha * op(A) * op(B) + beta * C): rt_sgemm, then the epilogue *ep
 * (bias, residual, activation, see rt_epilogue; NULL for none) applied to
 * each tile of C as it is finished.  The residual must not overlap C, or be
 * exactly C (same pointer and row stride).  Compiled with OpenMP, large
 * products run on omp_get_max_threads() threads (not when called inside a
 * parallel region); the result does not depend on the thread count. */
RT_API void rt_sgemm_ep(int transA, int transB, ptrdiff_t M, ptrdiff_t N, ptrdiff_t K,
                        float alpha, const float *A, ptrdiff_t lda, const float *B,
                        ptrdiff_t ldb, float beta, float *C, ptrdiff_t ldc,
                        const rt_epilogue *ep, float *scratch);
/* rt_sgemm_ep with the epilogue's fields as arguments (for generated code). */
RT_API void rt_sgemm_ep_flat(int transA, int transB, ptrdiff_t M, ptrdiff_t N, ptrdiff_t K,
                             float alpha, const float *A, ptrdiff_t lda, const float *B,
                             ptrdiff_t ldb, float beta, float *C, ptrdiff_t ldc,
                             const float *bias, int bias_rows, const float *residual,
                             ptrdiff_t ldr, int act, float act_alpha, float act_beta,
                             float *scratch);

/* Prepacking a constant operand once (e.g. by the compiler), in a layout
 * that does not depend on the target: op(A) [M x K] in panels of 24 rows,
 * op(B) [K x N] in panels of 32 columns, each panel k-major over all of K,
 * zero-padded.  Sizes in floats (0 when empty). */
RT_API size_t rt_sgemm_pack_a_size(ptrdiff_t M, ptrdiff_t K);
RT_API size_t rt_sgemm_pack_b_size(ptrdiff_t N, ptrdiff_t K);
RT_API void rt_sgemm_pack_a(int transA, ptrdiff_t M, ptrdiff_t K, const float *A,
                            ptrdiff_t lda, float *packed);
RT_API void rt_sgemm_pack_b(int transB, ptrdiff_t N, ptrdiff_t K, const float *B,
                            ptrdiff_t ldb, float *packed);

/* nbatch independent products (rt_sgemm each), operand b at A + b*strideA,
 * B + b*strideB, C + b*strideC; small ones run concurrently under OpenMP.
 * scratch: rt_sgemm_batch_scratch(nbatch, M, N, K) floats. */
RT_API size_t rt_sgemm_batch_scratch(ptrdiff_t nbatch, ptrdiff_t M, ptrdiff_t N, ptrdiff_t K);
RT_API void rt_sgemm_batch(ptrdiff_t nbatch, int transA, int transB, ptrdiff_t M,
                           ptrdiff_t N, ptrdiff_t K, float alpha, const float *A,
                           ptrdiff_t lda, ptrdiff_t strideA, const float *B, ptrdiff_t ldb,
                           ptrdiff_t strideB, float beta, float *C, ptrdiff_t ldc,
                           ptrdiff_t strideC, float *scratch);

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
/* bfloat16 (float32's top 16 bits) <-> float, round to nearest even. */
RT_API float rt_bf2f(uint16_t b);
RT_API uint16_t rt_f2bf(float f);

/* ---- epilogue.c ------------------------------------------------------ */

/* One activation (rt_act) of x. */
RT_API float rt_activate(int act, float alpha, float beta, float x);
/* x[0..n) = act(x[0..n)) in place, vectorised (see epilogue.c for the
 * accuracy of the x86 forms). */
RT_API void rt_activate_n(int act, float alpha, float beta, float *x, ptrdiff_t n);
/* y[0..n) = exp(x[0..n)), vectorised; y may be x. */
RT_API void rt_exp_n(const float *x, float *y, ptrdiff_t n);
/* y[0..n) = exp(x[0..n) - shift) (y may be x, or NULL) and their sum. */
RT_API float rt_exp_sum(const float *x, float *y, ptrdiff_t n, float shift);
/* Applies *ep (bias, residual, activation; may be NULL) in place to rows
 * [row0, row0+nrows) and columns [col0, col0+ncols) of c (row stride ldc). */
RT_API void rt_epilogue_block(const rt_epilogue *ep, float *c, ptrdiff_t ldc, ptrdiff_t row0,
                              ptrdiff_t nrows, ptrdiff_t col0, ptrdiff_t ncols);

/* ---- softmax.c (rt-deps: epilogue) --------------------------------- */

/* Softmax (log_softmax 0) or LogSoftmax (1) of each of `rows` contiguous
 * rows of `len` floats: y[r] from x[r], max subtracted first.  y must not
 * overlap x unless it is x.  Compiled with OpenMP, large inputs share rows
 * among threads. */
RT_API void rt_softmax(const float *x, float *y, ptrdiff_t rows, ptrdiff_t len, int log_softmax);
/* The same along the middle axis of x viewed as [outer, len, inner]. */
RT_API void rt_softmax_strided(const float *x, float *y, ptrdiff_t outer, ptrdiff_t len,
                               ptrdiff_t inner, int log_softmax);
/* max (n >= 1) and sum of x[0..n), vectorised */
RT_API float rt_row_max(const float *x, ptrdiff_t n);
RT_API float rt_row_sum(const float *x, ptrdiff_t n);

/* ---- transpose.c (rt-deps: none) ----------------------------------- */

/* The transpose *s describes (rt_common.h), blocked so that reads and
 * writes both move whole cache lines; y must not overlap x. */
RT_API void rt_transpose(const rt_transpose_shape *s, const float *x, float *y);

/* ---- attention.c (rt-deps: gemm epilogue) ---------------------------- */

/* Fused attention per (batch, head), see rt_attention_shape (rt_common.h):
 * O = softmax(scale * Q K^T + mask) V, the softmax over each row of Sk
 * scores (max subtracted first), mask NULL for none.  No transposed copy of
 * Q, K, V or O is made; the scores stay in scratch, a block of query rows
 * at a time.  O must not overlap Q, K, V or the mask.  Compiled with
 * OpenMP, (batch, head, row block) items are shared among threads (not
 * inside a parallel region); results do not depend on the thread count.
 * scratch: rt_attention_scratch(s) floats (0 for an empty problem). */
RT_API size_t rt_attention_scratch(const rt_attention_shape *s);
RT_API void rt_attention(const rt_attention_shape *s, float scale, const float *q,
                         const float *k, const float *v, const float *mask, float *o,
                         float *scratch);

/* ---- rnn.c (rt-deps: gemm epilogue) --------------------------------- */

/* One ONNX RNN, GRU or LSTM node over the whole sequence, shapes in *s
 * (rt_rnn_shape, rt_common.h); G gates per cell (1, 3, 4), H = hidden.
 * x: [seq, batch, input] (layout 0) or [batch, seq, input] (layout 1);
 * w: [dirs, G*H, input] and r: [dirs, G*H, H] as ONNX stores them, or
 * packed by rt_rnn_pack_w / rt_rnn_pack_r (flags RT_RNN_PACKED_W / _R);
 * b: [dirs, 2*G*H] (Wb then Rb) or NULL; seq_lens: [batch] or NULL (all
 * seq; values are clamped to [0, seq]); h0, c0: initial states or NULL
 * (zeros); p: LSTM peepholes [dirs, 3*H] (i, o, f) or NULL.
 * params: clip (<= 0: none), then activation_alpha[6], activation_beta[6]
 * (one per activation code of *s).
 * Outputs, each NULL when not wanted: y [seq, dirs, batch, H] (layout 0)
 * or [batch, seq, dirs, H] (layout 1), zero past a batch entry's length;
 * yh, yc: [dirs, batch, H] (layout 0) or [batch, dirs, H] (layout 1), the
 * state after each entry's last valid step.  The reverse direction runs
 * each entry from its own last valid step back to step 0.
 * scratch: rt_rnn_scratch(s) floats. */
RT_API size_t rt_rnn_scratch(const rt_rnn_shape *s);
RT_API void rt_rnn(const rt_rnn_shape *s, const float *params, const float *x,
                   const float *w, const float *r, const float *b, const int32_t *seq_lens,
                   const float *h0, const float *c0, const float *p, float *y, float *yh,
                   float *yc, float *scratch);
/* Weights packed once (by the compiler) for the products rt_rnn makes:
 * sizes in floats; w, r as ONNX stores them. */
RT_API size_t rt_rnn_packed_w_size(const rt_rnn_shape *s);
RT_API size_t rt_rnn_packed_r_size(const rt_rnn_shape *s);
RT_API void rt_rnn_pack_w(const rt_rnn_shape *s, const float *w, float *packed);
RT_API void rt_rnn_pack_r(const rt_rnn_shape *s, const float *r, float *packed);

#endif /* RT_H */
