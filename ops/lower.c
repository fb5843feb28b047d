/* Lowering helpers: the elementwise pattern most operators share. */
#include "ops.h"

DType lw_compute_type(DType t)
{
    return t == DT_FLOAT16 ? DT_FLOAT : t;
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
    LExpr *in[16];
    for (int j = 0; j < n->nin && j < 16; j++)
        in[j] = n->in[j] ? lw_load_bcast(k, n->in[j], &out->shape, i) : NULL;
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

bool op_lower(Node *n, Diag *d)
{
    const OpDesc *r = n->op;
    if (r->lower)
        return r->lower(n, d);
    if (r->value)
        return lw_elementwise(n, r->value);
    return op_unsupported(d, n, "operator %s has no lowering", n->op_type);
}

LExpr *lx_num(LKernel *k, DType dt, double x)
{
    if (ir_dtype_is_float(dt))
        return lx_f(k, dt, x);
    return lx_i(k, dt, (int64_t)x);
}
