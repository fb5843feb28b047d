/* rt_pool.h - the pooling kernels' API (pool.c), for the compiler and the
 * unit tests; like rt.h, never pasted into model.c. */
#ifndef RT_POOL_H
#define RT_POOL_H

#include "rt.h"

/* ---- pool.c (rt-deps: none) -------------------------------------------- */

#define RT_POOL_MAX 0   /* kind: maximum; any NaN in a window gives NaN */
#define RT_POOL_AVG 1   /* kind: average */

/* 2-D max or average pooling over planes NCHW planes x: [planes, H, W] ->
 * y: [planes, OH, OW].  Output (oh, ow) reads input rows oh*SH - PT + kh*DH
 * (0 <= kh < KH) and columns ow*SW - PL + kw*DW (0 <= kw < KW); taps outside
 * [0,H) x [0,W) are padding and never read.  A window with no tap inside the
 * input gives -inf (max) or 0 / count (average).  Average divides the sum by
 * the number of taps inside the input, or with include_pad by the number
 * inside [-PT, H + PB) x [-PL, W + PR) (ONNX count_include_pad; taps past
 * PB / PR, which ceil_mode can add, are not counted).  All sizes >= 1 except
 * pads >= 0; y must not overlap x.  Compiled with OpenMP, large layers split
 * their planes over omp_get_max_threads() threads. */
RT_API void rt_pool2d(int kind, ptrdiff_t planes, int H, int W, int OH, int OW, int KH, int KW,
                      int SH, int SW, int DH, int DW, int PT, int PL, int PB, int PR,
                      int include_pad, const float *x, float *y);

/* Global pooling: y[p] = max or mean of the size >= 1 contiguous floats
 * x[p * size ...]. */
RT_API void rt_global_pool(int kind, ptrdiff_t planes, ptrdiff_t size, const float *x, float *y);

#endif /* RT_POOL_H */
