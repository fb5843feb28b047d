/* Lowering helpers: the elementwise pattern most operators share. */
#include "ops.h"

#include <string.h>

DType lw_compute_type(DType t)
{
    return t == DT_FLOAT16 || t == DT_BFLOAT16 ? DT_FLOAT : t;
}

LKernel *lw_kernel(Node *n)
{
    LKernel *k = lk_new(n->graph);
    n->kernel = k;
    return k;
}

LExpr *lw_load_bcast(LKernel *k, Value *v, const Shape *out, int ivar)
{
    int64_t vn = ir_value_numel(v), on;
    ir_shape_numel(out, &on);
    if (vn == 1)
        return lx_load(k, v, lx_idx(k, 0));
    if (v->shape.rank == out->rank && ir_shape_equal(&v->shape, out))
        return lx_load(k, v, lx_var(k, ivar));
    /* Decompose the flat output index into coordinates, keep those where v
     * has a real (non-1) extent. */
    int64_t ostr[IR_MAX_RANK], vstr[IR_MAX_RANK];
    ir_strides(out, ostr);
    ir_strides(&v->shape, vstr);
    int off = out->rank - v->shape.rank;
    LExpr *idx = lx_idx(k, 0);
    for (int d = 0; d < v->shape.rank; d++) {
        if (v->shape.dim[d] == 1)
            continue;
        int od = d + off;
        LExpr *c = lx_var(k, ivar);
        if (od > 0)
            c = lx_mod(k, c, lx_idx(k, ostr[od - 1]));
        c = lx_div(k, c, lx_idx(k, ostr[od]));
        idx = lx_add(k, idx, lx_muli(k, c, vstr[d]));
    }
    return lx_load(k, v, idx);
}

bool lw_elementwise(Node *n, lw_value_fn fn)
{
    LKernel *k = lw_kernel(n);
    Value *out = n->out[0];
    int64_t numel = ir_value_numel(out);
    int i = lk_var(k, DT_INT64);
    /* sized from the node: variadic rows (Sum, Max, Mean) take many inputs */
    LExpr **in = ir_alloc_array(n->graph->arena, (size_t)(n->nin > 0 ? n->nin : 1), sizeof *in);
    /* An input of higher rank than the output cannot broadcast to it; only
     * rows that never read it have one (CastLike's dtype donor). */
    for (int j = 0; j < n->nin; j++)
        in[j] = n->in[j] && n->in[j]->shape.rank <= out->shape.rank
                    ? lw_load_bcast(k, n->in[j], &out->shape, i)
                    : NULL;
    LExpr *val = fn(k, n, in, i);
    if (!val)
        return false;
    if (val->dt != out->dtype)
        val = lx_cast(k, out->dtype, val);
    LStmt *loop = ls_for(k, i, numel);
    ls_push(k, loop, ls_store(k, out, lx_var(k, i), val));
    ls_push(k, k->root, loop);
    k->elementwise = true;
    k->ivar = i;
    k->out = out;
    k->value = val;
    return true;
}

/* A unary op of e that has only a floating-point meaning (exp, floor,
 * sin ...: every one but negation, abs, sign and the logical and bitwise
 * ones) applied to an integer or bool operand, or NULL. */
static const LExpr *float_op_on_int(const LExpr *e, int depth)
{
    if (!e || depth > 64)
        return NULL;
    if (e->kind == LE_UNARY && !ir_dtype_is_float(e->a->dt)) {
        switch ((LUnaryOp)e->op) {
        case LU_NEG: case LU_ABS: case LU_NOT: case LU_BITNOT: case LU_SIGN:
        case LU_ISNAN: case LU_ISINF:
            break;
        default:
            return e;
        }
    }
    const LExpr *f = float_op_on_int(e->a, depth + 1);
    if (!f)
        f = float_op_on_int(e->b, depth + 1);
    return f ? f : float_op_on_int(e->c, depth + 1);
}

bool op_lower(Node *n, Diag *d)
{
    const OpDesc *r = n->op;
    if (r->lower)
        return r->lower(n, d);
    if (!r->value)
        return op_unsupported(d, n, "operator %s has no lowering", n->op_type);
    if (!lw_elementwise(n, r->value))
        return false;
    /* ONNX types these operators float only; an integer input would reach
     * the targets as a float function of an integer. */
    const LExpr *bad = float_op_on_int(n->kernel->value, 0);
    if (bad) {
        n->kernel = NULL;
        return op_unsupported(d, n, "%s of %s input 0 '%s' (it computes in float16, bfloat16, "
                              "float or double)", n->op_type, ir_dtype_name(bad->a->dt),
                              n->in[0] ? n->in[0]->name : "");
    }
    return true;
}

LExpr *lx_num(LKernel *k, DType dt, double x)
{
    if (ir_dtype_is_float(dt))
        return lx_f(k, dt, x);
    /* a float attribute (HardSigmoid's alpha 1e30) for an integer type:
     * saturated, as converting an out-of-range double is undefined in C */
    if (x != x)
        return lx_i(k, dt, 0);
    if (x >= 9223372036854775807.0 || x <= -9223372036854775808.0)
        return lx_i(k, dt, x > 0 ? INT64_MAX : INT64_MIN);
    return lx_i(k, dt, (int64_t)x);
}

/* act(x) with the formulas of IrAct (ir/ir.h), in compute type ct. x is a variable, read as often as the formula needs. */
static LExpr *epi_act(LKernel *k, const Epilogue *e, DType ct, int x)
{
    LExpr *v = lx_var(k, x);
    LExpr *zero = lx_num(k, ct, 0), *one = lx_num(k, ct, 1);
    switch (e->act) {
    case IR_ACT_RELU:       /* x > 0 ? x : 0 */
        return lx_sel(k, lx_bin(k, LB_GT, v, zero), v, zero);
    case IR_ACT_CLIP: {     /* x < lo ? lo : (x > hi ? hi : x) */
        LExpr *lo = lx_num(k, ct, e->alpha), *hi = lx_num(k, ct, e->beta);
        return lx_sel(k, lx_bin(k, LB_LT, v, lo), lo, lx_sel(k, lx_bin(k, LB_GT, v, hi), hi, v));
    }
    case IR_ACT_LEAKY_RELU: /* x < 0 ? alpha x : x */
        return lx_sel(k, lx_bin(k, LB_LT, v, zero),
                      lx_bin(k, LB_MUL, lx_num(k, ct, e->alpha), v), v);
    case IR_ACT_HARD_SWISH: {   /* x * clamp(x/6 + 1/2, 0, 1) */
        LExpr *h = lx_bin(k, LB_ADD, lx_bin(k, LB_MUL, v, lx_num(k, ct, 1.0f / 6.0f)),
                          lx_num(k, ct, 0.5));
        h = lx_sel(k, lx_bin(k, LB_LT, h, zero), zero, lx_sel(k, lx_bin(k, LB_GT, h, one), one, h));
        return lx_bin(k, LB_MUL, v, h);
    }
    case IR_ACT_SIGMOID:    /* 1 / (1 + exp(-x)) */
        return lx_bin(k, LB_DIV, one,
                      lx_bin(k, LB_ADD, one, lx_un(k, LU_EXP, lx_un(k, LU_NEG, v))));
    case IR_ACT_GELU_ERF: { /* 0.5 x (1 + erf(x / sqrt 2)) */
        LExpr *t = lx_un(k, LU_ERF, lx_bin(k, LB_MUL, v, lx_num(k, ct, 0.70710678118654752)));
        return lx_bin(k, LB_MUL, lx_bin(k, LB_MUL, lx_num(k, ct, 0.5), v),
                      lx_bin(k, LB_ADD, one, t));
    }
    case IR_ACT_GELU_TANH: {    /* 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) */
        LExpr *x3 = lx_bin(k, LB_MUL, lx_bin(k, LB_MUL, lx_bin(k, LB_MUL,
                                                               lx_num(k, ct, 0.044715), v), v), v);
        LExpr *u = lx_bin(k, LB_MUL, lx_num(k, ct, 0.7978845608028654), lx_bin(k, LB_ADD, v, x3));
        return lx_bin(k, LB_MUL, lx_bin(k, LB_MUL, lx_num(k, ct, 0.5), v),
                      lx_bin(k, LB_ADD, one, lx_un(k, LU_TANH, u)));
    }
    case IR_ACT_SILU:       /* x / (1 + exp(-x)) */
        return lx_bin(k, LB_DIV, v, lx_bin(k, LB_ADD, one, lx_un(k, LU_EXP, lx_un(k, LU_NEG, v))));
    default:
        return v;
    }
}

bool lw_apply_epilogue(Node *n, LKernel *k, Value *out)
{
    const Epilogue *e = &n->epi;
    if (!e->act && !e->bias && !e->residual)
        return true;
    int64_t numel = ir_value_numel(out);
    int rank = out->shape.rank;
    if (numel < 0 || rank < 1 || !ir_dtype_is_float(out->dtype))
        return false;
    if (numel == 0)
        return true;
    DType ct = lw_compute_type(out->dtype);
    int i = lk_var(k, DT_INT64), x = lk_var(k, ct);
    LStmt *loop = ls_for(k, i, numel);
    LExpr *val = lx_cast(k, ct, lx_load(k, out, lx_var(k, i)));
    if (e->bias) {
        /* The row's channel axis: 1 for Conv's [N, M, spatial...], else the last. */
        int axis = op_epi_axis(n, rank);
        if (axis >= rank)
            return false;
        int64_t inner = 1;
        for (int d = axis + 1; d < rank; d++)
            inner *= out->shape.dim[d];
        LExpr *c = lx_var(k, i);
        if (inner != 1)
            c = lx_div(k, c, lx_idx(k, inner));
        if (axis > 0)
            c = lx_mod(k, c, lx_idx(k, out->shape.dim[axis]));
        val = lx_bin(k, LB_ADD, val, lx_cast(k, ct, lx_load(k, e->bias, c)));
    }
    if (e->residual)
        val = lx_bin(k, LB_ADD, val, lx_cast(k, ct, lx_load(k, e->residual, lx_var(k, i))));
    ls_push(k, loop, ls_assign(k, x, val));
    ls_push(k, loop, ls_store(k, out, lx_var(k, i), lx_cast(k, out->dtype, epi_act(k, e, ct, x))));
    ls_push(k, k->root, loop);
    return true;
}

void lw_kernel_epilogue(const Node *n, KCall *c)
{
    c->residual.buf = n->epi.residual;
    c->act = n->epi.act;
    c->act_alpha = n->epi.alpha;
    c->act_beta = n->epi.beta;
}
