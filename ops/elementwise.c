/* Elementwise operators: each row gives a scalar expression; broadcasting,
 * loops and fusion come from lw_elementwise. */
#include "ops.h"

#include <math.h>
#include <string.h>

/* ---- inference ---- */

/* Output: input 0's dtype, all inputs broadcast together. */
static bool infer_bcast_as(Node *n, Diag *d, DType out_dt)
{
    if (!op_inputs_known(n, d))
        return false;
    Shape s = n->in[0]->shape;
    for (int i = 1; i < n->nin; i++) {
        if (!n->in[i])
            continue;
        if (!ir_broadcast(&s, &n->in[i]->shape, &s)) {
            diag_error(d, n, "inputs 0 %s and %d %s cannot be broadcast together",
                       ir_shape_str(n->graph->arena, &n->in[0]->shape), i,
                       ir_shape_str(n->graph->arena, &n->in[i]->shape));
            return false;
        }
    }
    op_set_out(n, 0, out_dt == DT_UNDEF ? n->in[0]->dtype : out_dt, &s);
    return true;
}

/* All inputs must share input 0's dtype. */
static bool same_dtypes(Node *n, Diag *d, int count)
{
    for (int i = 1; i < count && i < n->nin; i++)
        if (n->in[i] && n->in[i]->dtype != n->in[0]->dtype) {
            diag_error(d, n, "input %d '%s' is %s but input 0 is %s", i, n->in[i]->name,
                       ir_dtype_name(n->in[i]->dtype), ir_dtype_name(n->in[0]->dtype));
            return false;
        }
    return true;
}

static bool infer_bcast(Node *n, Diag *d)
{
    return infer_bcast_as(n, d, DT_UNDEF) && same_dtypes(n, d, n->nin);
}

/* Sum, Mean, Max, Min: no input may be omitted. */
static bool infer_variadic(Node *n, Diag *d)
{
    for (int i = 0; i < n->nin; i++)
        if (!n->in[i]) {
            diag_error(d, n, "input %d is missing (%s takes no optional inputs)", i, n->op_type);
            return false;
        }
    return infer_bcast(n, d);
}

static bool infer_compare(Node *n, Diag *d)
{
    return infer_bcast_as(n, d, DT_BOOL) && same_dtypes(n, d, n->nin);
}

/* Pow and PRelu-like ops: the second input may have another dtype. */
static bool infer_first(Node *n, Diag *d)
{
    return infer_bcast_as(n, d, DT_UNDEF);
}

static bool infer_where(Node *n, Diag *d)
{
    if (!infer_bcast_as(n, d, DT_UNDEF))
        return false;
    n->out[0]->dtype = n->in[1]->dtype;
    if (n->in[0]->dtype != DT_BOOL) {
        diag_error(d, n, "condition must be bool, got %s", ir_dtype_name(n->in[0]->dtype));
        return false;
    }
    if (n->in[2]->dtype != n->in[1]->dtype) {
        diag_error(d, n, "inputs 1 and 2 differ in dtype");
        return false;
    }
    return true;
}

static bool infer_cast(Node *n, Diag *d)
{
    int64_t to = ir_attr_int(n, "to", 0);
    if (!ir_dtype_supported((DType)to) || n->in[0]->dtype == DT_STRING)
        return op_unsupported(d, n, "cast from %s to %s",
                              ir_dtype_name(n->in[0]->dtype), ir_dtype_name((DType)to));
    return infer_bcast_as(n, d, (DType)to);
}

static bool infer_bool_out(Node *n, Diag *d)
{
    return infer_bcast_as(n, d, DT_BOOL);
}

static bool infer_cast_like(Node *n, Diag *d)
{
    if (!op_inputs_known(n, d))
        return false;
    op_set_out(n, 0, n->in[1]->dtype, &n->in[0]->shape);
    return true;
}

/* ---- scalar expressions ---- */

#define T(e) ((e)->dt)

static LExpr *num(LKernel *k, LExpr *like, double x)
{
    return lx_num(k, T(like), x);
}

static float fattr(Node *n, const char *name, float dflt)
{
    return ir_attr_float(n, name, dflt);
}

static LExpr *bin(LKernel *k, LBinaryOp op, LExpr *a, LExpr *b)
{
    return lx_bin(k, op, a, b);
}

static LExpr *un(LKernel *k, LUnaryOp op, LExpr *a)
{
    return lx_un(k, op, a);
}

/* Folds a binary op over every input (Sum, Max, Min). */
static LExpr *fold_all(LKernel *k, Node *n, LExpr *const *in, LBinaryOp op)
{
    LExpr *acc = in[0];
    for (int i = 1; i < n->nin; i++)
        acc = bin(k, op, acc, in[i]);
    return acc;
}

static LExpr *v_add(LKernel *k, Node *n, LExpr *const *in, int iv)
{
    (void)n, (void)iv;
    return bin(k, LB_ADD, in[0], in[1]);
}

static LExpr *v_sub(LKernel *k, Node *n, LExpr *const *in, int iv)
{
    (void)n, (void)iv;
    return bin(k, LB_SUB, in[0], in[1]);
}

static LExpr *v_mul(LKernel *k, Node *n, LExpr *const *in, int iv)
{
    (void)n, (void)iv;
    return bin(k, LB_MUL, in[0], in[1]);
}

static LExpr *v_div(LKernel *k, Node *n, LExpr *const *in, int iv)
{
    (void)n, (void)iv;
    return bin(k, LB_DIV, in[0], in[1]);
}

static LExpr *v_mod(LKernel *k, Node *n, LExpr *const *in, int iv)
{
    (void)iv;
    bool fmod = ir_attr_int(n, "fmod", 0) != 0;
    return bin(k, fmod ? LB_FMOD : LB_MOD, in[0], in[1]);
}

static LExpr *v_pow(LKernel *k, Node *n, LExpr *const *in, int iv)
{
    (void)n, (void)iv;
    /* ONNX Pow with an integer base and float exponent computes in the
     * exponent's type and casts back; a float base takes the exponent cast. */
    if (!ir_dtype_is_float(T(in[0])) && ir_dtype_is_float(T(in[1])))
        return lx_cast(k, T(in[0]), bin(k, LB_POW, lx_cast(k, T(in[1]), in[0]), in[1]));
    return bin(k, LB_POW, in[0], lx_cast(k, T(in[0]), in[1]));
}

static LExpr *v_sum(LKernel *k, Node *n, LExpr *const *in, int iv)
{
    (void)iv;
    return fold_all(k, n, in, LB_ADD);
}

static LExpr *v_mean(LKernel *k, Node *n, LExpr *const *in, int iv)
{
    (void)iv;
    return bin(k, LB_DIV, fold_all(k, n, in, LB_ADD), num(k, in[0], n->nin));
}

static LExpr *v_max(LKernel *k, Node *n, LExpr *const *in, int iv)
{
    (void)iv;
    return fold_all(k, n, in, LB_MAX);
}

static LExpr *v_min(LKernel *k, Node *n, LExpr *const *in, int iv)
{
    (void)iv;
    return fold_all(k, n, in, LB_MIN);
}

#define UNARY(fname, op)                                                     \
    static LExpr *fname(LKernel *k, Node *n, LExpr *const *in, int iv)      \
    {                                                                        \
        (void)n, (void)iv;                                                   \
        return un(k, op, in[0]);                                             \
    }

UNARY(v_neg, LU_NEG)
UNARY(v_abs, LU_ABS)
UNARY(v_exp, LU_EXP)
UNARY(v_log, LU_LOG)
UNARY(v_sqrt, LU_SQRT)
UNARY(v_tanh, LU_TANH)
UNARY(v_erf, LU_ERF)
UNARY(v_floor, LU_FLOOR)
UNARY(v_ceil, LU_CEIL)
UNARY(v_round, LU_ROUND)
UNARY(v_sin, LU_SIN)
UNARY(v_cos, LU_COS)
UNARY(v_tan, LU_TAN)
UNARY(v_asin, LU_ASIN)
UNARY(v_acos, LU_ACOS)
UNARY(v_atan, LU_ATAN)
UNARY(v_sinh, LU_SINH)
UNARY(v_cosh, LU_COSH)
UNARY(v_asinh, LU_ASINH)
UNARY(v_acosh, LU_ACOSH)
UNARY(v_atanh, LU_ATANH)
UNARY(v_not, LU_NOT)
UNARY(v_bitnot, LU_BITNOT)
UNARY(v_sign, LU_SIGN)
UNARY(v_isnan, LU_ISNAN)

static LExpr *v_isinf(LKernel *k, Node *n, LExpr *const *in, int iv)
{
    (void)iv;
    LExpr *x = in[0];
    bool neg = ir_attr_int(n, "detect_negative", 1), pos = ir_attr_int(n, "detect_positive", 1);
    LExpr *inf = un(k, LU_ISINF, x);
    if (neg && pos)
        return inf;
    if (!neg && !pos)
        return lx_i(k, DT_BOOL, 0);
    LExpr *side = bin(k, neg ? LB_LT : LB_GT, x, num(k, x, 0));
    return bin(k, LB_AND, inf, side);
}

static LExpr *v_reciprocal(LKernel *k, Node *n, LExpr *const *in, int iv)
{
    (void)n, (void)iv;
    return bin(k, LB_DIV, num(k, in[0], 1), in[0]);
}

static LExpr *v_relu(LKernel *k, Node *n, LExpr *const *in, int iv)
{
    (void)n, (void)iv;
    return bin(k, LB_MAX, in[0], num(k, in[0], 0));
}

/* x < 0 ? neg : x */
static LExpr *if_neg(LKernel *k, LExpr *x, LExpr *neg)
{
    return lx_sel(k, bin(k, LB_LT, x, num(k, x, 0)), neg, x);
}

static LExpr *v_leaky_relu(LKernel *k, Node *n, LExpr *const *in, int iv)
{
    (void)iv;
    return if_neg(k, in[0], bin(k, LB_MUL, in[0], num(k, in[0], fattr(n, "alpha", 0.01f))));
}

static LExpr *v_prelu(LKernel *k, Node *n, LExpr *const *in, int iv)
{
    (void)n, (void)iv;
    return if_neg(k, in[0], bin(k, LB_MUL, in[0], lx_cast(k, T(in[0]), in[1])));
}

static LExpr *v_elu(LKernel *k, Node *n, LExpr *const *in, int iv)
{
    (void)iv;
    LExpr *x = in[0];
    LExpr *e = bin(k, LB_SUB, un(k, LU_EXP, x), num(k, x, 1));
    return if_neg(k, x, bin(k, LB_MUL, num(k, x, fattr(n, "alpha", 1.0f)), e));
}

static LExpr *v_celu(LKernel *k, Node *n, LExpr *const *in, int iv)
{
    (void)iv;
    LExpr *x = in[0];
    LExpr *alpha = num(k, x, fattr(n, "alpha", 1.0f));
    LExpr *e = bin(k, LB_SUB, un(k, LU_EXP, bin(k, LB_DIV, x, alpha)), num(k, x, 1));
    return bin(k, LB_ADD, bin(k, LB_MAX, x, num(k, x, 0)),
               bin(k, LB_MIN, num(k, x, 0), bin(k, LB_MUL, alpha, e)));
}

static LExpr *v_selu(LKernel *k, Node *n, LExpr *const *in, int iv)
{
    (void)iv;
    LExpr *x = in[0];
    LExpr *alpha = num(k, x, fattr(n, "alpha", 1.67326319217681884765625f));
    LExpr *gamma = num(k, x, fattr(n, "gamma", 1.05070102214813232421875f));
    LExpr *neg = bin(k, LB_SUB, bin(k, LB_MUL, alpha, un(k, LU_EXP, x)), alpha);
    LExpr *v = lx_sel(k, bin(k, LB_LE, x, num(k, x, 0)), neg, x);
    return bin(k, LB_MUL, gamma, v);
}

static LExpr *v_thresholded_relu(LKernel *k, Node *n, LExpr *const *in, int iv)
{
    (void)iv;
    LExpr *x = in[0];
    return lx_sel(k, bin(k, LB_GT, x, num(k, x, fattr(n, "alpha", 1.0f))), x, num(k, x, 0));
}

static LExpr *clamp(LKernel *k, LExpr *x, LExpr *lo, LExpr *hi)
{
    if (lo)
        x = bin(k, LB_MAX, x, lo);
    if (hi)
        x = bin(k, LB_MIN, x, hi);
    return x;
}

static LExpr *v_clip(LKernel *k, Node *n, LExpr *const *in, int iv)
{
    (void)iv;
    LExpr *x = in[0];
    if (n->nin == 1 && (ir_attr(n, "min") || ir_attr(n, "max"))) {   /* opset < 11 */
        LExpr *lo = ir_attr(n, "min") ? num(k, x, fattr(n, "min", 0)) : NULL;
        LExpr *hi = ir_attr(n, "max") ? num(k, x, fattr(n, "max", 0)) : NULL;
        return clamp(k, x, lo, hi);
    }
    return clamp(k, x, n->nin > 1 ? in[1] : NULL, n->nin > 2 ? in[2] : NULL);
}

static LExpr *sigmoid(LKernel *k, LExpr *x)
{
    LExpr *one = num(k, x, 1);
    return bin(k, LB_DIV, one, bin(k, LB_ADD, one, un(k, LU_EXP, un(k, LU_NEG, x))));
}

static LExpr *v_sigmoid(LKernel *k, Node *n, LExpr *const *in, int iv)
{
    (void)n, (void)iv;
    return sigmoid(k, in[0]);
}

static LExpr *v_swish(LKernel *k, Node *n, LExpr *const *in, int iv)
{
    (void)iv;
    LExpr *x = in[0];
    return bin(k, LB_MUL, x, sigmoid(k, bin(k, LB_MUL, num(k, x, fattr(n, "alpha", 1.0f)), x)));
}

static LExpr *hard_sigmoid(LKernel *k, LExpr *x, float alpha, float beta)
{
    LExpr *y = bin(k, LB_ADD, bin(k, LB_MUL, num(k, x, alpha), x), num(k, x, beta));
    return clamp(k, y, num(k, x, 0), num(k, x, 1));
}

static LExpr *v_hard_sigmoid(LKernel *k, Node *n, LExpr *const *in, int iv)
{
    (void)iv;
    return hard_sigmoid(k, in[0], fattr(n, "alpha", 0.2f), fattr(n, "beta", 0.5f));
}

static LExpr *v_hard_swish(LKernel *k, Node *n, LExpr *const *in, int iv)
{
    (void)n, (void)iv;
    return bin(k, LB_MUL, in[0], hard_sigmoid(k, in[0], 1.0f / 6, 0.5f));
}

/* log(1 + exp(x)) as max(x, 0) + log1p(exp(-|x|)): exp never overflows,
 * and for very negative x the result is exp(x), not 0. */
static LExpr *softplus(LKernel *k, LExpr *x)
{
    LExpr *tail = un(k, LU_LOG1P, un(k, LU_EXP, un(k, LU_NEG, un(k, LU_ABS, x))));
    return bin(k, LB_ADD, bin(k, LB_MAX, x, num(k, x, 0)), tail);
}

static LExpr *v_softplus(LKernel *k, Node *n, LExpr *const *in, int iv)
{
    (void)n, (void)iv;
    return softplus(k, in[0]);
}

static LExpr *v_softsign(LKernel *k, Node *n, LExpr *const *in, int iv)
{
    (void)n, (void)iv;
    LExpr *x = in[0];
    return bin(k, LB_DIV, x, bin(k, LB_ADD, num(k, x, 1), un(k, LU_ABS, x)));
}

static LExpr *v_mish(LKernel *k, Node *n, LExpr *const *in, int iv)
{
    (void)n, (void)iv;
    return bin(k, LB_MUL, in[0], un(k, LU_TANH, softplus(k, in[0])));
}

static LExpr *v_gelu(LKernel *k, Node *n, LExpr *const *in, int iv)
{
    (void)iv;
    LExpr *x = in[0];
    LExpr *half_x = bin(k, LB_MUL, num(k, x, 0.5), x);
    if (strcmp(ir_attr_string(n, "approximate", "none"), "tanh") == 0) {
        /* x/2 (1 + tanh u) = x / (1 + e^(-2u)), u = sqrt(2/pi) (x + 0.044715 x^3):
         * one exp and a division instead of tanh's exp, division and
         * polynomial; no cancellation in 1 + tanh u for x < 0. */
        LExpr *x3 = bin(k, LB_MUL, bin(k, LB_MUL, x, x), x);
        LExpr *m2u = bin(k, LB_MUL, num(k, x, -2 * 0.7978845608028654),
                         bin(k, LB_ADD, x, bin(k, LB_MUL, num(k, x, 0.044715), x3)));
        return bin(k, LB_DIV, x, bin(k, LB_ADD, num(k, x, 1), un(k, LU_EXP, m2u)));
    }
    LExpr *e = un(k, LU_ERF, bin(k, LB_MUL, x, num(k, x, 0.7071067811865476)));
    return bin(k, LB_MUL, half_x, bin(k, LB_ADD, num(k, x, 1), e));
}

static LExpr *v_shrink(LKernel *k, Node *n, LExpr *const *in, int iv)
{
    (void)iv;
    LExpr *x = in[0];
    float lambd = fattr(n, "lambd", 0.5f), bias = fattr(n, "bias", 0.0f);
    LExpr *lo = bin(k, LB_ADD, x, num(k, x, bias));
    LExpr *hi = bin(k, LB_SUB, x, num(k, x, bias));
    LExpr *zero = num(k, x, 0);
    return lx_sel(k, bin(k, LB_LT, x, num(k, x, -lambd)), lo,
                  lx_sel(k, bin(k, LB_GT, x, num(k, x, lambd)), hi, zero));
}

#define BINARY(fname, op)                                                    \
    static LExpr *fname(LKernel *k, Node *n, LExpr *const *in, int iv)      \
    {                                                                        \
        (void)n, (void)iv;                                                   \
        return bin(k, op, in[0], in[1]);                                     \
    }

BINARY(v_equal, LB_EQ)
BINARY(v_less, LB_LT)
BINARY(v_less_equal, LB_LE)
BINARY(v_greater, LB_GT)
BINARY(v_greater_equal, LB_GE)
BINARY(v_and, LB_AND)
BINARY(v_or, LB_OR)
BINARY(v_xor, LB_XOR)
BINARY(v_bitand, LB_BITAND)
BINARY(v_bitor, LB_BITOR)
BINARY(v_bitxor, LB_BITXOR)

static LExpr *v_bitshift(LKernel *k, Node *n, LExpr *const *in, int iv)
{
    (void)iv;
    bool left = strcmp(ir_attr_string(n, "direction", ""), "LEFT") == 0;
    return bin(k, left ? LB_SHL : LB_SHR, in[0], in[1]);
}

static LExpr *v_where(LKernel *k, Node *n, LExpr *const *in, int iv)
{
    (void)n, (void)iv;
    return lx_sel(k, in[0], in[1], in[2]);
}

static LExpr *v_cast(LKernel *k, Node *n, LExpr *const *in, int iv)
{
    (void)iv;
    return lx_cast(k, (DType)ir_attr_int(n, "to", 0), in[0]);
}

static LExpr *v_cast_like(LKernel *k, Node *n, LExpr *const *in, int iv)
{
    (void)iv;
    return lx_cast(k, n->out[0]->dtype, in[0]);
}

static LExpr *v_identity(LKernel *k, Node *n, LExpr *const *in, int iv)
{
    (void)k, (void)n, (void)iv;
    return in[0];
}

/* ---- as a kernel's epilogue activation (OpDesc.epi_act) ---- */

static int act_plain(int act, float *alpha, float *beta)
{
    *alpha = *beta = 0.0f;
    return act;
}

static int act_relu(const Node *n, float *alpha, float *beta)
{
    (void)n;
    return act_plain(IR_ACT_RELU, alpha, beta);
}

static int act_sigmoid(const Node *n, float *alpha, float *beta)
{
    (void)n;
    return act_plain(IR_ACT_SIGMOID, alpha, beta);
}

/* Swish with alpha 1 is SiLU; another alpha has no kernel activation */
static int act_swish(const Node *n, float *alpha, float *beta)
{
    if (ir_attr_float(n, "alpha", 1.0f) != 1.0f)
        return IR_ACT_NONE;
    return act_plain(IR_ACT_SILU, alpha, beta);
}

static int act_hard_swish(const Node *n, float *alpha, float *beta)
{
    (void)n;
    return act_plain(IR_ACT_HARD_SWISH, alpha, beta);
}

static int act_leaky_relu(const Node *n, float *alpha, float *beta)
{
    *alpha = ir_attr_float(n, "alpha", 0.01f);
    *beta = 0.0f;
    return IR_ACT_LEAKY_RELU;
}

static int act_gelu(const Node *n, float *alpha, float *beta)
{
    const char *ap = ir_attr_string(n, "approximate", "none");
    if (strcmp(ap, "none") == 0)
        return act_plain(IR_ACT_GELU_ERF, alpha, beta);
    if (strcmp(ap, "tanh") == 0)
        return act_plain(IR_ACT_GELU_TANH, alpha, beta);
    return IR_ACT_NONE;
}

/* A Clip bound: absent (keeps *x), or a float constant of one element. */
static bool clip_bound(const Node *n, int i, float *x)
{
    const Value *v = n->nin > i ? n->in[i] : NULL;
    if (!v)
        return true;
    if (!v->data || !ir_dtype_is_float(v->dtype) || ir_value_numel(v) != 1)
        return false;
    *x = (float)ir_const_f(v, 0);
    return true;
}

/* Clip with bounds known at compile time (absent = unbounded). */
static int act_clip(const Node *n, float *alpha, float *beta)
{
    float lo = -HUGE_VALF, hi = HUGE_VALF;
    if (n->nin == 1) {      /* opset < 11: attributes */
        lo = ir_attr_float(n, "min", -HUGE_VALF);
        hi = ir_attr_float(n, "max", HUGE_VALF);
    } else if (!clip_bound(n, 1, &lo) || !clip_bound(n, 2, &hi)) {
        return IR_ACT_NONE;
    }
    if (lo > hi || lo != lo || hi != hi)
        return IR_ACT_NONE;
    *alpha = lo;
    *beta = hi;
    return IR_ACT_CLIP;
}

/* ---- rows ---- */

static const AttrSpec no_attrs[] = {{NULL, 0}};
static const AttrSpec a_alpha[] = {{"alpha", ATTR_FLOAT}, {NULL, 0}};
static const AttrSpec a_alpha_beta[] = {{"alpha", ATTR_FLOAT}, {"beta", ATTR_FLOAT}, {NULL, 0}};
static const AttrSpec a_selu[] = {{"alpha", ATTR_FLOAT}, {"gamma", ATTR_FLOAT}, {NULL, 0}};
static const AttrSpec a_clip[] = {{"min", ATTR_FLOAT}, {"max", ATTR_FLOAT}, {NULL, 0}};
static const AttrSpec a_mod[] = {{"fmod", ATTR_INT}, {NULL, 0}};
static const AttrSpec a_cast[] = {{"to", ATTR_INT}, {"saturate", ATTR_INT}, {NULL, 0}};
static const AttrSpec a_cast_like[] = {{"saturate", ATTR_INT}, {NULL, 0}};
static const AttrSpec a_isinf[] = {{"detect_negative", ATTR_INT}, {"detect_positive", ATTR_INT}, {NULL, 0}};
static const AttrSpec a_gelu[] = {{"approximate", ATTR_STRING}, {NULL, 0}};
static const AttrSpec a_shrink[] = {{"lambd", ATTR_FLOAT}, {"bias", ATTR_FLOAT}, {NULL, 0}};
static const AttrSpec a_shift[] = {{"direction", ATTR_STRING}, {NULL, 0}};

#define EW OPF_ELEMENTWISE
/* The designators most rows share: one or two inputs, one output. */
#define ROW1(nm, since_, attrs_, fn)                                                              \
    .name = nm, .since = since_, .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,            \
    .flags = EW, .attrs = attrs_, .infer = infer_bcast, .value = fn
#define ROW2(nm, since_, infer_, fn)                                                              \
    .name = nm, .since = since_, .min_in = 2, .max_in = 2, .min_out = 1, .max_out = 1,            \
    .flags = EW, .attrs = no_attrs, .infer = infer_, .value = fn
/* Variadic: any number of inputs from 1 to 64. */
#define ROWN(nm, since_, fn)                                                                      \
    .name = nm, .since = since_, .min_in = 1, .max_in = 64, .min_out = 1, .max_out = 1,           \
    .flags = EW, .attrs = no_attrs, .infer = infer_variadic, .value = fn

const OpDesc op_rows_elementwise[] = {
    {ROW2("Add", 7, infer_bcast, v_add), .role = OP_ROLE_ADD},
    {ROW2("Sub", 7, infer_bcast, v_sub)},
    {ROW2("Mul", 7, infer_bcast, v_mul), .role = OP_ROLE_MUL},
    {ROW2("Div", 7, infer_bcast, v_div), .role = OP_ROLE_DIV},
    {ROW2("Pow", 7, infer_first, v_pow)},
    {.name = "Mod", .since = 10, .min_in = 2, .max_in = 2, .min_out = 1, .max_out = 1, .flags = EW,
     .attrs = a_mod, .infer = infer_bcast, .value = v_mod},
    {ROWN("Sum", 6, v_sum)},
    {ROWN("Mean", 6, v_mean)},
    {ROWN("Max", 6, v_max)},
    {ROWN("Min", 6, v_min)},
    {ROW1("Neg", 6, no_attrs, v_neg)},
    {ROW1("Abs", 6, no_attrs, v_abs)},
    {ROW1("Exp", 6, no_attrs, v_exp)},
    {ROW1("Log", 6, no_attrs, v_log)},
    {ROW1("Sqrt", 6, no_attrs, v_sqrt)},
    {ROW1("Tanh", 6, no_attrs, v_tanh)},
    {ROW1("Erf", 9, no_attrs, v_erf), .role = OP_ROLE_ERF},
    {ROW1("Floor", 6, no_attrs, v_floor)},
    {ROW1("Ceil", 6, no_attrs, v_ceil)},
    {ROW1("Round", 11, no_attrs, v_round)},
    {ROW1("Sin", 7, no_attrs, v_sin)},
    {ROW1("Cos", 7, no_attrs, v_cos)},
    {ROW1("Tan", 7, no_attrs, v_tan)},
    {ROW1("Asin", 7, no_attrs, v_asin)},
    {ROW1("Acos", 7, no_attrs, v_acos)},
    {ROW1("Atan", 7, no_attrs, v_atan)},
    {ROW1("Sinh", 9, no_attrs, v_sinh)},
    {ROW1("Cosh", 9, no_attrs, v_cosh)},
    {ROW1("Asinh", 9, no_attrs, v_asinh)},
    {ROW1("Acosh", 9, no_attrs, v_acosh)},
    {ROW1("Atanh", 9, no_attrs, v_atanh)},
    {ROW1("Sign", 9, no_attrs, v_sign)},
    {ROW1("Reciprocal", 6, no_attrs, v_reciprocal)},
    {ROW1("Relu", 6, no_attrs, v_relu), .epi_act = act_relu},
    {ROW1("LeakyRelu", 6, a_alpha, v_leaky_relu), .epi_act = act_leaky_relu},
    {ROW2("PRelu", 7, infer_first, v_prelu)},
    {ROW1("Elu", 6, a_alpha, v_elu)},
    {ROW1("Celu", 12, a_alpha, v_celu)},
    {ROW1("Selu", 6, a_selu, v_selu)},
    {ROW1("ThresholdedRelu", 10, a_alpha, v_thresholded_relu)},
    {ROW1("Sigmoid", 6, no_attrs, v_sigmoid), .epi_act = act_sigmoid, .role = OP_ROLE_SIGMOID},
    {ROW1("HardSigmoid", 6, a_alpha_beta, v_hard_sigmoid)},
    {ROW1("HardSwish", 14, no_attrs, v_hard_swish), .epi_act = act_hard_swish},
    {ROW1("Swish", 24, a_alpha, v_swish), .epi_act = act_swish},
    {ROW1("Softplus", 1, no_attrs, v_softplus)},
    {ROW1("Softsign", 1, no_attrs, v_softsign)},
    {ROW1("Mish", 18, no_attrs, v_mish)},
    {ROW1("Gelu", 20, a_gelu, v_gelu), .epi_act = act_gelu},
    {ROW1("Shrink", 9, a_shrink, v_shrink)},
    {.dyn = DYN_BCAST, ROW1("Clip", 6, a_clip, v_clip), .until = 10, .epi_act = act_clip},
    {.dyn = DYN_BCAST, .name = "Clip", .since = 11, .min_in = 1, .max_in = 3, .min_out = 1, .max_out = 1, .flags = EW,
     .attrs = no_attrs, .infer = infer_bcast, .value = v_clip, .epi_act = act_clip},
    {ROW2("Equal", 7, infer_compare, v_equal)},
    {ROW2("Less", 7, infer_compare, v_less)},
    {ROW2("LessOrEqual", 12, infer_compare, v_less_equal)},
    {ROW2("Greater", 7, infer_compare, v_greater)},
    {ROW2("GreaterOrEqual", 12, infer_compare, v_greater_equal)},
    {ROW1("Not", 1, no_attrs, v_not)},
    {ROW2("And", 7, infer_compare, v_and)},
    {ROW2("Or", 7, infer_compare, v_or)},
    {ROW2("Xor", 7, infer_compare, v_xor)},
    {ROW2("BitwiseAnd", 18, infer_bcast, v_bitand)},
    {ROW2("BitwiseOr", 18, infer_bcast, v_bitor)},
    {ROW2("BitwiseXor", 18, infer_bcast, v_bitxor)},
    {ROW1("BitwiseNot", 18, no_attrs, v_bitnot)},
    {.name = "BitShift", .since = 11, .min_in = 2, .max_in = 2, .min_out = 1, .max_out = 1,
     .flags = EW, .attrs = a_shift, .infer = infer_bcast, .value = v_bitshift},
    {.name = "IsNaN", .since = 9, .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1, .flags = EW,
     .attrs = no_attrs, .infer = infer_bool_out, .value = v_isnan,
     .role = OP_ROLE_ISNAN},
    {.name = "IsInf", .since = 10, .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,
     .flags = EW, .attrs = a_isinf, .infer = infer_bool_out, .value = v_isinf},
    {.dyn = DYN_BCAST, .name = "Where", .since = 9, .min_in = 3, .max_in = 3, .min_out = 1, .max_out = 1, .flags = EW,
     .attrs = no_attrs, .infer = infer_where, .value = v_where,
     .role = OP_ROLE_WHERE},
    {.dyn = DYN_SAME, .name = "Cast", .since = 6, .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1, .flags = EW,
     .attrs = a_cast, .infer = infer_cast, .value = v_cast},
    {.dyn = DYN_BCAST, .name = "CastLike", .since = 15, .min_in = 2, .max_in = 2, .min_out = 1, .max_out = 1,
     .flags = EW, .attrs = a_cast_like, .infer = infer_cast_like, .value = v_cast_like},
    {.dyn = DYN_SAME, .name = "Identity", .since = 1, .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,
     .flags = EW | OPF_IDENTITY, .attrs = no_attrs, .infer = infer_bcast, .value = v_identity},
    {.name = NULL},
};
