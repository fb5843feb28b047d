/* rt_conv.h - the convolution kernels' API (conv.c, depthwise.c), for the
 * compiler and the unit tests; like rt.h, never pasted into model.c.
 * Kernel files of the convolution family include this instead of rt.h.
 *
 * Epilogue arguments, shared by the entry points below: after the sum (and
 * bias), an output element gets  act(v + residual)  where residual (NULL:
 * none) is laid out like y, and act is an rt_act code with its parameters
 * alpha, beta (rt_common.h). */
#ifndef RT_CONV_H
#define RT_CONV_H

#include "rt.h"

/* ---- depthwise.c (rt-deps: epilogue) ----------------------------------- */

/* Depthwise convolution: s->group == s->C == s->M (one input and one
 * output channel per group), any kernel, stride, dilation, padding.
 * x: [N, C, H, W]; w: [C, 1, KH, KW]; bias: [C] or NULL; residual: like y
 * or NULL; y: [N, C, OH, OW], write-only, must not overlap x, w or bias
 * (it may be the residual itself).  scratch: rt_conv2d_dw_scratch(s)
 * floats (0 unless the 16-channel blocked path applies; then NULL is
 * fine). */
RT_API size_t rt_conv2d_dw_scratch(const rt_conv2d_shape *s);
RT_API void rt_conv2d_dw(const rt_conv2d_shape *s, const float *x,
                         const float *w, const float *bias,
                         const float *residual, int act, float alpha,
                         float beta, float *y, float *scratch);

/* ---- winograd.c (rt-deps: epilogue) ------------------------------------ */

/* Winograd F(4x4, 3x3): 3x3, stride 1, dilation 1, group 1, M % 16 == 0,
 * OW <= 1024 (any padding).  Weights u: rt_winograd_pack of w [M, C, 3, 3]
 * (rt_winograd_packed_size floats); y as rt_conv2d_fused (write-only, may
 * be the residual); scratch: rt_winograd_scratch floats. */
RT_API int rt_winograd_fits(const rt_conv2d_shape *s);
RT_API size_t rt_winograd_packed_size(const rt_conv2d_shape *s);
RT_API void rt_winograd_pack(const rt_conv2d_shape *s, const float *w, float *u);
RT_API size_t rt_winograd_scratch(const rt_conv2d_shape *s);
RT_API void rt_winograd(const rt_conv2d_shape *s, const float *x, const float *u,
                        const float *bias, const float *residual, int act,
                        float alpha, float beta, float *y, float *scratch);

/* ---- conv_small.c (rt-deps: epilogue) ------------------------------------ */

/* Any shape (stride, dilation, padding, group); rt_conv_small_fits says
 * where it is picked: planes of at most 256 outputs, at least 32 output
 * channels per group, K = C/group * KH * KW >= 64;
 * weights: rt_conv_small_pack of w [M, C/group, KH, KW]; y as
 * rt_conv2d_fused (write-only, may be the residual); scratch:
 * rt_conv_small_scratch floats. */
RT_API int rt_conv_small_fits(const rt_conv2d_shape *s);
RT_API size_t rt_conv_small_packed_size(const rt_conv2d_shape *s);
RT_API void rt_conv_small_pack(const rt_conv2d_shape *s, const float *w, float *wp);
RT_API size_t rt_conv_small_scratch(const rt_conv2d_shape *s);
RT_API void rt_conv_small(const rt_conv2d_shape *s, const float *x,
                          const float *wp, const float *bias,
                          const float *residual, int act, float alpha,
                          float beta, float *y, float *scratch);

/* ---- conv.c (rt-deps: epilogue depthwise winograd conv_small) ----------- */

/* The algorithm for shape s (RT_CONV_ALGO_*, rt_common.h); flags:
 * RT_CONV_NO_WINOGRAD. */
RT_API int rt_conv2d_algo(const rt_conv2d_shape *s, int flags);
/* Floats of packed weights, and the packing (done at compile time):
 * w: [M, C/group, KH, KW] as ONNX stores it.  An algorithm or'ed with
 * RT_CONV_RAW_WEIGHTS takes w as it is in rt_conv2d_fused (packed into
 * scratch at run time; rt_conv2d_fused_scratch counts that room). */
RT_API size_t rt_conv2d_packed_size(const rt_conv2d_shape *s, int algo);
RT_API void rt_conv2d_pack(const rt_conv2d_shape *s, int algo, const float *w,
                           float *wp);
/* y = act(conv2d(x, w) + bias + residual), wp packed by rt_conv2d_pack for
 * the same shape and algo.  bias: [M] or NULL; residual: like y or NULL;
 * y: [N, M, OH, OW], write-only, must not overlap x, wp, bias (it may be
 * residual itself).  scratch: rt_conv2d_fused_scratch(s, algo) floats (0:
 * may be NULL).  With OpenMP, large layers split across threads. */
RT_API size_t rt_conv2d_fused_scratch(const rt_conv2d_shape *s, int algo);
RT_API void rt_conv2d_fused(const rt_conv2d_shape *s, int algo, const float *x,
                            const float *wp, const float *bias,
                            const float *residual, int act, float alpha,
                            float beta, float *y, float *scratch);

/* ---- conv_transpose.c (rt-deps: gemm epilogue) -------------------------- */

/* Transposed convolution (ONNX ConvTranspose), shape s read for it: x
 * [N, C, H, W], w [C, M/group, KH, KW] as ONNX stores it, y [N, M, OH, OW];
 * input (ih, iw) with tap (kh, kw) adds to output (ih*SH - PT + kh*DH,
 * iw*SW - PL + kw*DW), dropped outside [0, OH) x [0, OW).  Weights: with
 * packed, wp from rt_conv_transpose2d_pack of w
 * (rt_conv_transpose2d_packed_size floats), else w itself.  bias: [M] or
 * NULL; residual: like y or NULL; y: write-only, must not overlap x, w,
 * bias or residual.  scratch: rt_conv_transpose2d_scratch(s) floats (0:
 * may be NULL). */
RT_API size_t rt_conv_transpose2d_packed_size(const rt_conv2d_shape *s);
RT_API void rt_conv_transpose2d_pack(const rt_conv2d_shape *s, const float *w, float *wp);
RT_API size_t rt_conv_transpose2d_scratch(const rt_conv2d_shape *s);
RT_API void rt_conv_transpose2d(const rt_conv2d_shape *s, int packed, const float *x,
                                const float *w, const float *bias, const float *residual,
                                int act, float alpha, float beta, float *y, float *scratch);

#endif /* RT_CONV_H */
