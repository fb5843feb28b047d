/* rt-deps: epilogue */
/* blas_openblas.c - float GEMM through OpenBLAS (cblas_sgemm), for models
 * compiled with `dlc --blas openblas`.
 *
 * The one kernel file that needs a library: it includes <cblas.h> and the
 * program must link -lopenblas (model.c and model.h say so at the top when
 * this file is pasted in; `dlc bench` and `dlc check` add the flags).
 * Codegen pastes it only into such models.  Built as an ordinary
 * translation unit (dlc itself, the unit tests) it is empty unless
 * RT_WITH_OPENBLAS is defined, so dlc builds without OpenBLAS.
 *
 *   rt_blas_sgemm_ep   C = ep(alpha op(A) op(B) + beta C), the arguments of
 *                      rt_sgemm_ep_flat (gemm.c) less the scratch: trans
 *                      flags 0 / 1 only (operands are never prepacked),
 *                      row strides lda, ldb, ldc, ldr;
 *                      One row or one column of C: cblas_sgemv (OpenBLAS's
 *                      sgemm is 4x slower than the built-in GEMM there);
 *   rt_blas_sgemm_batch nbatch such products without epilogue, operands a
 *                      constant stride apart (one cblas_sgemm each: 0.3.21
 *                      has no batched call).
 *
 * Unlike gemm.c the epilogue (bias, residual, activation; rt_epilogue_block)
 * is a second pass over C once OpenBLAS has written it, on the calling
 * thread (see rt_blas_openblas_epilogue).  A residual that is C
 * itself (same pointer and row stride) with beta 0 is folded into the
 * product as beta 1.  alpha == 0 or K == 0: A and B are not read.
 * Threads inside cblas_sgemm are OpenBLAS's own (OPENBLAS_NUM_THREADS, or
 * OMP_NUM_THREADS with the OpenMP build of the library).
 */
#if defined(RT_EMBED) || defined(RT_WITH_OPENBLAS)

#ifndef RT_EMBED
#include "rt.h"
#endif

#include <cblas.h>

/* C[0..M) x [0..N) = beta * C (beta 0: zeros, whatever C held). */
RT_INTERNAL void rt_blas_openblas_scale(ptrdiff_t M, ptrdiff_t N, float beta, float *C,
                                        ptrdiff_t ldc)
{
    ptrdiff_t i, j;
    for (i = 0; i < M; i++)
        for (j = 0; j < N; j++)
            C[i * ldc + j] = beta == 0.0f ? 0.0f : beta * C[i * ldc + j];
}

/* The epilogue runs on the calling thread: an OpenMP region right after a
 * threaded cblas_sgemm (Debian's pthread OpenBLAS) made a 512 x 64 x 128
 * MLP layer 100x slower on 2 threads (0.27 -> 20-60 ms; OpenBLAS's workers
 * still spin for the cores the OpenMP team wants). */
RT_INTERNAL void rt_blas_openblas_epilogue(const rt_epilogue *ep, float *C, ptrdiff_t ldc,
                                           ptrdiff_t M, ptrdiff_t N)
{
    rt_epilogue_block(ep, C, ldc, 0, M, 0, N);
}

RT_API void rt_blas_sgemm_ep(int transA, int transB, ptrdiff_t M, ptrdiff_t N, ptrdiff_t K,
                             float alpha, const float *A, ptrdiff_t lda, const float *B,
                             ptrdiff_t ldb, float beta, float *C, ptrdiff_t ldc,
                             const float *bias, int bias_rows, const float *residual,
                             ptrdiff_t ldr, int act, float act_alpha, float act_beta)
{
    rt_epilogue e = rt_epilogue_of(bias, bias_rows, residual, ldr, act, act_alpha, act_beta);
    if (M <= 0 || N <= 0)
        return;
    if (residual == C && ldr == ldc && beta == 0.0f) {
        e.residual = NULL;
        beta = 1.0f;
    }
    if (K <= 0 || alpha == 0.0f)
        rt_blas_openblas_scale(M, N, beta, C, ldc);
    else if (M == 1)    /* c = op(B)^T a: a matrix-vector product */
        cblas_sgemv(CblasRowMajor, transB ? CblasNoTrans : CblasTrans, (int)(transB ? N : K),
                    (int)(transB ? K : N), alpha, B, (int)ldb, A, (int)(transA ? lda : 1), beta,
                    C, 1);
    else if (N == 1)    /* c = op(A) b, c a column */
        cblas_sgemv(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, (int)(transA ? K : M),
                    (int)(transA ? M : K), alpha, A, (int)lda, B, (int)(transB ? 1 : ldb), beta,
                    C, (int)ldc);
    else
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans,
                    transB ? CblasTrans : CblasNoTrans, (int)M, (int)N, (int)K, alpha, A,
                    (int)lda, B, (int)ldb, beta, C, (int)ldc);
    if (e.bias || e.residual || e.act != RT_ACT_NONE)
        rt_blas_openblas_epilogue(&e, C, ldc, M, N);
}

RT_API void rt_blas_sgemm_batch(ptrdiff_t nbatch, int transA, int transB, ptrdiff_t M,
                                ptrdiff_t N, ptrdiff_t K, float alpha, const float *A,
                                ptrdiff_t lda, ptrdiff_t strideA, const float *B, ptrdiff_t ldb,
                                ptrdiff_t strideB, float beta, float *C, ptrdiff_t ldc,
                                ptrdiff_t strideC)
{
    ptrdiff_t b;
    for (b = 0; b < nbatch; b++)
        rt_blas_sgemm_ep(transA, transB, M, N, K, alpha, A + b * strideA, lda, B + b * strideB,
                         ldb, beta, C + b * strideC, ldc, NULL, 0, NULL, 0, RT_ACT_NONE, 0.0f,
                         0.0f);
}

#else
/* ISO C wants something in a translation unit. */
typedef int rt_blas_openblas_unused;
#endif
