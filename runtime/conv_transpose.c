/* rt-deps: gemm epilogue */
/* conv_transpose.c - 2-D transposed convolution, NCHW, float32 (1-D as
 * H = 1), with the epilogue (bias, residual add, activation) applied to
 * output rows as they are finished.
 *
 * Shapes (rt_conv2d_shape, read for the transposed convolution): x
 * [N, C, H, W], w [C, M/group, KH, KW] as ONNX stores it, y [N, M, OH, OW].
 * Input pixel (ih, iw) of channel c with tap (kh, kw) adds
 * x[c, ih, iw] * w[c, m, kh, kw] to output pixel (ih*SH - PT + kh*DH,
 * iw*SW - PL + kw*DW) of channel m of c's group; pixels outside
 * [0, OH) x [0, OW) are dropped (ONNX's pads), and output rows or columns
 * no input reaches hold the bias alone (ONNX's output_padding).
 *
 * GEMM + col2im, per image and group, over blocks of input rows:
 *   - cols[(m, kh, kw), p] = sum_c w[c, m, kh, kw] * x[c, p] for the
 *     block's input pixels p: rt_sgemm with A = W_g^T (mg*KH*KW x cg),
 *     prepacked at compile time by rt_conv_transpose2d_pack, or read as
 *     it is (transA) when the weights are not constant;
 *   - col2im: each row (m, kh, kw) of cols is added into y[m] at its
 *     output pixels (a strided add along a row).
 * A block holds as many input rows as keep cols within RT_CONV_TRANSPOSE_COLS
 * floats (at least one).  Output rows are zeroed just before a block
 * first adds to them; once no later input row reaches a row (rows below
 * (next input row)*SH - PT), the epilogue (rt_epilogue_block) finishes it
 * while it is still in cache.  Each output is the sum over its taps in
 * (block, m-row, c) order: the same numbers whatever the target, but for
 * the GEMM's fused multiply-add and k order.  The GEMM runs on threads
 * under OpenMP (rt_sgemm); col2im runs on the calling thread.
 */
#ifndef RT_EMBED
#include "rt_conv.h"
#endif

#define RT_CONV_TRANSPOSE_COLS (256 * 1024) /* floats of cols per block of input rows */

/* Input rows per block. */
RT_INTERNAL ptrdiff_t rt_conv_transpose_block_rows(const rt_conv2d_shape *s)
{
    ptrdiff_t per_row = (ptrdiff_t)(s->M / s->group) * s->KH * s->KW * s->W;
    ptrdiff_t rb = per_row > 0 ? RT_CONV_TRANSPOSE_COLS / per_row : s->H;
    return RT_MAX(1, RT_MIN(rb, (ptrdiff_t)s->H));
}

RT_API size_t rt_conv_transpose2d_packed_size(const rt_conv2d_shape *s)
{
    ptrdiff_t rows = (ptrdiff_t)(s->M / s->group) * s->KH * s->KW;
    return (size_t)s->group * rt_sgemm_pack_a_size(rows, s->C / s->group);
}

RT_API void rt_conv_transpose2d_pack(const rt_conv2d_shape *s, const float *w, float *wp)
{
    ptrdiff_t cg = s->C / s->group, rows = (ptrdiff_t)(s->M / s->group) * s->KH * s->KW;
    size_t one = rt_sgemm_pack_a_size(rows, cg);
    int g;
    for (g = 0; g < s->group; g++)
        rt_sgemm_pack_a(1, rows, cg, w + g * cg * rows, rows, wp + g * one);
}

RT_API size_t rt_conv_transpose2d_scratch(const rt_conv2d_shape *s)
{
    ptrdiff_t rows = (ptrdiff_t)(s->M / s->group) * s->KH * s->KW;
    ptrdiff_t cols = rt_conv_transpose_block_rows(s) * s->W;
    if (s->N <= 0 || s->H <= 0 || s->W <= 0 || rows <= 0 || s->C <= 0)
        return 0;
    return (size_t)(rows * cols) + rt_sgemm_scratch(rows, cols, s->C / s->group);
}

/* Adds cols (the block's rows ih0 .. ih0+nr-1 for every (m, kh, kw)) into
 * the group's output planes yg. */
RT_INTERNAL void rt_conv_transpose_col2im(const rt_conv2d_shape *s, const float *cols, ptrdiff_t ih0,
                                 ptrdiff_t nr, float *yg)
{
    ptrdiff_t mg = s->M / s->group, ohw = (ptrdiff_t)s->OH * s->OW, ncol = nr * s->W;
    ptrdiff_t m, kh, kw, ih, iw;
    for (m = 0; m < mg; m++)
        for (kh = 0; kh < s->KH; kh++)
            for (kw = 0; kw < s->KW; kw++) {
                const float *crow = cols + ((m * s->KH + kh) * s->KW + kw) * ncol;
                /* iw in [lo, hi) lands on ow = iw*SW + off inside [0, OW) */
                ptrdiff_t off = kw * s->DW - s->PL;
                ptrdiff_t lo = off >= 0 ? 0 : (-off + s->SW - 1) / s->SW;
                ptrdiff_t hi = s->OW - 1 - off < 0 ? 0 : RT_MIN(s->W, (s->OW - 1 - off) / s->SW + 1);
                for (ih = ih0; ih < ih0 + nr; ih++) {
                    ptrdiff_t oh = ih * s->SH - s->PT + kh * s->DH;
                    const float *c = crow + (ih - ih0) * s->W;
                    float *yr;
                    if (oh < 0 || oh >= s->OH)
                        continue;
                    yr = yg + m * ohw + oh * s->OW;
                    if (s->SW == 1)
                        for (iw = lo; iw < hi; iw++)
                            yr[iw + off] += c[iw];
                    else
                        for (iw = lo; iw < hi; iw++)
                            yr[iw * s->SW + off] += c[iw];
                }
            }
}

/* Zeroes rows [r0, r1) of each of the group's mg output planes. */
RT_INTERNAL void rt_conv_transpose_zero_rows(const rt_conv2d_shape *s, float *yg, ptrdiff_t r0,
                                    ptrdiff_t r1)
{
    ptrdiff_t m, ohw = (ptrdiff_t)s->OH * s->OW;
    if (r1 <= r0)
        return;
    for (m = 0; m < s->M / s->group; m++)
        memset(yg + m * ohw + r0 * s->OW, 0, sizeof(float) * (size_t)((r1 - r0) * s->OW));
}

RT_API void rt_conv_transpose2d(const rt_conv2d_shape *s, int packed, const float *x,
                                const float *w, const float *bias, const float *residual,
                                int act, float alpha, float beta, float *y, float *scratch)
{
    ptrdiff_t cg = s->C / s->group, mg = s->M / s->group;
    ptrdiff_t rows = mg * s->KH * s->KW, hw = (ptrdiff_t)s->H * s->W;
    ptrdiff_t ohw = (ptrdiff_t)s->OH * s->OW, rb = rt_conv_transpose_block_rows(s);
    size_t wone = packed ? rt_sgemm_pack_a_size(rows, cg) : (size_t)(cg * rows);
    float *cols = scratch, *gs = scratch + rows * rb * s->W;
    ptrdiff_t n, g, ih0;
    if (s->N <= 0 || mg <= 0 || ohw <= 0)
        return;
    for (n = 0; n < s->N; n++)
        for (g = 0; g < s->group; g++) {
            const float *xg = x + (n * s->C + g * cg) * hw;
            float *yg = y + (n * s->M + g * mg) * ohw;
            rt_epilogue e = rt_epilogue_of(bias ? bias + g * mg : NULL, 1,
                                           residual ? residual + (n * s->M + g * mg) * ohw : NULL,
                                           ohw, act, alpha, beta);
            ptrdiff_t zeroed = 0, done = 0;
            for (ih0 = 0; ih0 < s->H && cg > 0 && rows > 0; ih0 += rb) {
                ptrdiff_t nr = RT_MIN(rb, s->H - ih0);
                /* rows this block reaches, and rows no later block reaches */
                ptrdiff_t reach = (ih0 + nr - 1) * s->SH - s->PT + (s->KH - 1) * s->DH + 1;
                ptrdiff_t fin = ih0 + nr == s->H ? s->OH : (ih0 + nr) * s->SH - s->PT;
                reach = RT_MIN(s->OH, reach);
                fin = RT_MAX(0, RT_MIN(s->OH, fin));
                rt_sgemm(packed ? RT_GEMM_PACKED : 1, 0, rows, nr * s->W, cg, 1.0f,
                         w + (size_t)g * wone, rows, xg + ih0 * s->W, hw, 0.0f, cols,
                         nr * s->W, gs);
                rt_conv_transpose_zero_rows(s, yg, zeroed, RT_MAX(reach, fin));
                zeroed = RT_MAX(zeroed, RT_MAX(reach, fin));
                rt_conv_transpose_col2im(s, cols, ih0, nr, yg);
                rt_epilogue_block(&e, yg, ohw, 0, mg, done * s->OW, (fin - done) * s->OW);
                done = RT_MAX(done, fin);
            }
            /* rows no input reaches (all of them without input) */
            rt_conv_transpose_zero_rows(s, yg, zeroed, s->OH);
            rt_epilogue_block(&e, yg, ohw, 0, mg, done * s->OW, (s->OH - done) * s->OW);
        }
}
