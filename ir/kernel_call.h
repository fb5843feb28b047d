/* Heavy kernels as data: what an operator row asks a target to compute
 * when a loop nest would be too slow (convolution, matrix products,
 * pooling, attention, softmax). A row states *what*: the kind, its
 * geometry, its operands and the fused epilogue. The target's selection
 * pass states *how*: passes/select_c.c picks the algorithm, packs constant
 * weights into the kernel's layout, sizes the scratch and names the C
 * runtime function, turning the statement into an LS_CALL. Nothing here
 * names a function, a layout or a runtime. All tensors are float32. */
#ifndef DLC_KERNEL_CALL_H
#define DLC_KERNEL_CALL_H

#include "ir.h"

typedef enum {
    KC_CONV2D,      /* y = act(conv2d(x, w) + bias + residual) */
    KC_GEMM,        /* y_b = act(alpha op(a_b) op(b_b) + beta y_b + bias + residual) */
    KC_POOL2D,      /* max or average over 2-D windows of each plane */
    KC_GLOBAL_POOL, /* max or average of each whole plane */
    KC_ATTENTION,   /* o = softmax(scale q k^T + mask) v per (batch, head) */
    KC_SOFTMAX,     /* softmax or log-softmax along one axis */
    KC_CONV_TRANSPOSE2D, /* y = act(conv_transpose2d(x, w) + bias + residual) */
    KC_RESIZE2D,    /* y = separable resize of each plane from tap tables */
    KC_RNN,         /* ONNX RNN / GRU / LSTM over a whole sequence (KRnn) */
    KC_TRANSPOSE,   /* a permutation of axes that moves the innermost one */
    KC_COUNT
} KCallKind;

/* A tensor operand: buf read or written from element `off` on; buf NULL
 * for an absent optional operand. */
typedef struct {
    Value *buf;
    int64_t off;
} KOperand;

#define KC_MAX_IN 8         /* operands read by one call (an LSTM reads 8) */

/* x [N, C, H, W], w [M, C/group, KH, KW] as ONNX stores it, y [N, M, OH, OW];
 * a 1-D convolution has H = KH = SH = DH = 1, PT = 0. PT, PL: leading
 * padding (the trailing padding follows from the sizes).
 * KC_CONV_TRANSPOSE2D has the same fields with w [C, M/group, KH, KW]:
 * input (ih, iw) and tap (kh, kw) add to output (ih*SH - PT + kh*DH,
 * iw*SW - PL + kw*DW) where that is inside [0, OH) x [0, OW) (so
 * output_padding and any output_shape are in OH, OW). */
typedef struct {
    int64_t N, C, H, W, M, OH, OW, KH, KW, SH, SW, DH, DW, PT, PL, group;
} KConv2d;

/* `batch` products, operand b of product i at element i * s{a,b,y}.
 * op(a) is M x K (a stored K x M when ta), op(b) is K x N (b stored N x K
 * when tb); ld*: row strides. beta != 0 reads y first. The epilogue's bias
 * has one value per column (per row with bias_rows); the residual is laid
 * out like y with row stride ldr. */
typedef struct {
    int64_t batch, M, N, K;
    bool ta, tb;
    int64_t lda, ldb, ldy;
    int64_t sa, sb, sy;
    float alpha, beta;
    bool bias_rows;
    int64_t ldr;
    /* Run-time dims (ir/dims.h): M at run time (int64 loop IR over the run
     * function's dims; rows past it are padding), or NULL. */
    struct LExpr *m_run;
} KGemm;

/* x [planes, H, W] -> y [planes, OH, OW]; output (oh, ow) reads rows
 * oh*SH - PT + kh*DH and columns ow*SW - PL + kw*DW; taps outside the
 * input are padding, never read. Average counts the taps inside the input,
 * or with include_pad those inside the padded extent [-PT, H + PB) x
 * [-PL, W + PR). */
typedef struct {
    bool max;
    int64_t planes, H, W, OH, OW, KH, KW, SH, SW, DH, DW, PT, PL, PB, PR;
    bool include_pad;
} KPool2d;

/* y[p] = max or mean of the `size` contiguous values of plane p. */
typedef struct {
    bool max;
    int64_t planes, size;
} KGlobalPool;

/* q [B, H, Sq, D], k [B, H, Sk, D], v [B, H, Sk, Dv], o [B, H, Sq, Dv]
 * and the optional additive mask [.., Sq, Sk], each addressed through
 * the element strides below (batch, head, row; the mask's also column);
 * a stride of 0 broadcasts. */
typedef struct {
    int64_t B, H, Sq, Sk, D, Dv;
    int64_t qb, qh, qi, kb, kh, kj, vb, vh, vj, ob, oh, oi;
    int64_t mb, mh, mi, mj;
    int64_t nan_zero;   /* 1: a row whose softmax is NaN (every score -inf,
                         * or a NaN or +inf among them) gives zeros */
    float scale;
    /* Run-time dims (ir/dims.h): Sq and Sk as int64 loop-IR expressions
     * of the run function's dims, when they are run-time (else NULL): the
     * kernel computes that many rows over that many keys. */
    struct LExpr *sq_run, *sk_run;
} KAttention;

/* `rows` blocks of `len` values each, `inner` apart (1: contiguous rows). */
typedef struct {
    int64_t rows, len, inner;
    bool log;       /* log-softmax */
} KSoftmax;

/* Resize of planes [planes, H, W] -> [planes, OH, OW]: output (oy, ox)
 * is the sum over taps s < TH, t < TW of wy * wx * x[iy, ix]. in[0] x;
 * in[1] the int32 tap indices, the rows' (OH x TH, row-major: an output
 * row's TH taps are consecutive rows clamped to [0, H)) then, at element
 * OH * TH, the columns' (TW x OW, tap-major); in[2] their float32 weights
 * in the same layout, or no buffer for nearest (TH = TW = 1, no
 * weights). TH is at most KC_RESIZE_MAX_TH. */
#define KC_RESIZE_MAX_TH 32
typedef struct {
    int64_t planes, H, W, OH, OW, TH, TW;
} KResize2d;

/* The recurrent cells, and the activations their gates may use
 * (ONNX's list; alpha, beta as the ONNX operators of the same name). */
typedef enum { KRNN_CELL_RNN, KRNN_CELL_GRU, KRNN_CELL_LSTM } KRnnCell;
typedef enum {
    KRNN_ACT_RELU, KRNN_ACT_TANH, KRNN_ACT_SIGMOID, KRNN_ACT_AFFINE,
    KRNN_ACT_LEAKY_RELU, KRNN_ACT_THRESHOLDED_RELU, KRNN_ACT_SCALED_TANH,
    KRNN_ACT_HARD_SIGMOID, KRNN_ACT_ELU, KRNN_ACT_SOFTSIGN, KRNN_ACT_SOFTPLUS,
    KRNN_ACT_COUNT
} KRnnAct;
#define KRNN_MAX_ACTS 6     /* 3 per direction (LSTM f, g, h) */

/* One ONNX RNN/GRU/LSTM node. Operands in[]: x, w, r, b, sequence_lens
 * (int32), initial_h, initial_c, p as ONNX lays them out (w [dirs, G*H,
 * I], r [dirs, G*H, H], G gates per cell: 1, 3, 4), NULL when absent;
 * out = Y, more_out[0] = Y_h, more_out[1] = Y_c (NULL when not wanted).
 * layout 0: x [seq, batch, I], Y [seq, dirs, batch, H], states [dirs,
 * batch, H]; layout 1: x [batch, seq, I], Y [batch, seq, dirs, H], states
 * [batch, dirs, H]. Activation d*per_dir + j is gate function j (f, g, h)
 * of direction d. clip <= 0: none. */
typedef struct {
    KRnnCell cell;
    int64_t dirs, seq, batch, input, hidden;
    bool reverse;               /* dirs == 1 only */
    bool layout;
    bool linear_before_reset;   /* GRU */
    bool input_forget;          /* LSTM */
    float clip;
    int nacts;
    KRnnAct act[KRNN_MAX_ACTS];
    float act_alpha[KRNN_MAX_ACTS], act_beta[KRNN_MAX_ACTS];
} KRnn;

/* y (contiguous) from x, 4-byte elements:
 *   y[i1*d1 + i2*d2 + a*da + b] = x[i1*s1 + i2*s2 + a + b*sb]
 * for a < A, b < B, i1 < n1, i2 < n2: a is the axis x stores
 * contiguously, b the output's innermost axis. */
typedef struct {
    int64_t A, B, sb, da, n1, s1, d1, n2, s2, d2;
} KTranspose;

typedef struct KCall {
    KCallKind kind;
    union {
        KConv2d conv;
        KGemm gemm;
        KPool2d pool;
        KGlobalPool gpool;
        KAttention attn;
        KSoftmax softmax;
        KResize2d resize;
        KRnn rnn;
        KTranspose transpose;
    } u;
    /* conv: x, w; gemm: a, b; pools, softmax and transpose: x; attention: q, k, v,
     * mask; rnn: see KRnn */
    KOperand in[KC_MAX_IN];
    KOperand out;
    KOperand more_out[2];   /* rnn: Y_h, Y_c */
    /* the fused epilogue (conv, gemm): per-channel bias, residual, IrAct */
    KOperand bias, residual;
    int act;
    float act_alpha, act_beta;
} KCall;

#endif
