/* The nodes passes/runtime_dims.c adds around run-time dims (domain "dlc",
 * no table row, so no model can name them). Each value is laid out at its
 * maximum shape; along a run-time dim only the first `extent` elements
 * mean anything (ir/dims.h).
 *
 *   DimIn   (x) -> x'   the caller's tensor, packed at its run-time shape,
 *                       spread into the padded layout, padding zeroed
 *   DimOut  (y') -> y   the padded layout packed into the caller's tensor
 *   DimMask (x) -> x'   x with the padding along attribute "axes" (a bit
 *                       mask of dims) set to attribute "fill", or with
 *                       attribute "edge" to the last element inside the
 *                       extent (what clamped reads see: Resize); with
 *                       "in_place" x' is x's storage (OPF_IN_PLACE) and only
 *                       the padding is written (other readers of x ignore
 *                       padding, and each mask runs right before its reader)
 *   DimScale (y, x) -> y'  y * (product of x's maximum dims along attribute
 *                       "axes") / (product of their extents): a mean over
 *                       the padded dims made a mean over the extents
 *   DimFill (x) -> n    int32 [attribute "count"], every element the
 *                       extent of x's dim attribute "axis" (an RNN's
 *                       sequence_lens)
 *
 * The extents are run-time dims' expressions (LE_DIM in the loop IR). */
#include "ops.h"
#include "../ir/dims.h"

LExpr *lw_dim_expr(LKernel *k, const DimExpr *x)
{
    switch (x->kind) {
    case DX_CONST: return lx_idx(k, x->c);
    case DX_SYM: return lx_dim(k, x->sym);
    case DX_AFFINE: return lx_addi(k, lx_muli(k, lw_dim_expr(k, x->x), x->a), x->b);
    case DX_FLOORDIV:   /* its numerator is >= 0 over the range (dx_valid) */
        return lx_div(k, lw_dim_expr(k, x->x), lx_idx(k, x->c));
    case DX_MIN: return lx_bin(k, LB_MIN, lw_dim_expr(k, x->x), lx_idx(k, x->c));
    }
    DLC_BUG("dim expression kind %d", x->kind);
}

LExpr *lw_dyn_rows(LKernel *k, const Value *y, int64_t rows)
{
    int r = y->shape.rank, first = 0;
    if (r < 2 || !ir_has_dyn(y) || op_dims_prod(y->shape.dim, 0, r - 1) != rows)
        return NULL;
    while (first < r - 1 && y->shape.dim[first] == 1)
        first++;
    if (first == r - 1 || !ir_dyn(y, first))
        return NULL;
    for (int d = first + 1; d < r - 1; d++)
        if (ir_dyn(y, d))
            return NULL;
    return lx_muli(k, lw_dim_expr(k, ir_dyn(y, first)), op_dims_prod(y->shape.dim, first + 1, r - 1));
}

static bool infer_same(Node *n, Diag *d)
{
    if (!op_inputs_known(n, d))
        return false;
    op_set_out(n, 0, n->in[0]->dtype, &n->in[0]->shape);
    return true;
}

/* Loops over v's (maximum) dims, variables to vars[]; *inside: whether
 * every dim in `axes` is within its run-time extent; *packed: the
 * element's index in the packed run-time layout. Returns the innermost
 * loop. */
static LStmt *padded_nest(LKernel *k, const Value *v, unsigned axes, int *vars, LExpr **inside,
                          LExpr **packed)
{
    int r = v->shape.rank;
    LStmt *inner = lk_nest(k, k->root, v->shape.dim, r, vars);
    LExpr *in = NULL, *idx = lx_idx(k, 0), *stride = lx_idx(k, 1);
    for (int d = r - 1; d >= 0; d--) {
        const DimExpr *e = ir_dyn(v, d);
        LExpr *var = lx_var(k, vars[d]);
        idx = lx_add(k, idx, lx_mul(k, var, stride));
        LExpr *ext = e ? lw_dim_expr(k, e) : lx_idx(k, v->shape.dim[d]);
        stride = lx_mul(k, stride, ext);
        if (e && (axes & (1u << d))) {
            LExpr *c = lx_bin(k, LB_LT, var, ext);
            in = in ? lx_bin(k, LB_AND, in, c) : c;
        }
    }
    *inside = in ? in : lx_i(k, DT_BOOL, 1);
    *packed = idx;
    return inner;
}


static bool lower_dim_in(Node *n, Diag *d)
{
    (void)d;
    Value *x = n->in[0], *y = n->out[0];
    LKernel *k = lw_kernel(n);
    int vars[IR_MAX_RANK];
    LExpr *inside, *packed;
    LStmt *inner = padded_nest(k, y, ir_dyn_axes(y), vars, &inside, &packed);
    LExpr *v = lx_sel(k, inside, lx_load(k, x, packed), lx_num(k, y->dtype, 0.0));
    ls_push(k, inner, ls_store(k, y, lx_flat(k, &y->shape, vars), v));
    return true;
}

static bool lower_dim_out(Node *n, Diag *d)
{
    (void)d;
    Value *x = n->in[0], *y = n->out[0];
    LKernel *k = lw_kernel(n);
    int vars[IR_MAX_RANK];
    LExpr *inside, *packed;
    LStmt *inner = padded_nest(k, x, ir_dyn_axes(x), vars, &inside, &packed);
    LStmt *iff = ls_if(k, inside);
    ls_push(k, inner, iff);
    ls_push(k, iff, ls_store(k, y, packed, lx_load(k, x, lx_flat(k, &x->shape, vars))));
    return true;
}

static bool masked_after(const Value *x, unsigned axes, int d)
{
    for (; d < x->shape.rank; d++)
        if ((axes & (1u << d)) && ir_dyn(x, d))
            return true;
    return false;
}

/* A loop of at most `max` iterations that stops at run-time `n`. */
static LStmt *run_loop(LKernel *k, LStmt *parent, int64_t max, LExpr *n, LExpr **i)
{
    int v = lk_var(k, DT_INT64);
    LStmt *f = ls_for(k, v, max);
    f->run_extent = n;
    ls_push(k, parent, f);
    *i = lx_var(k, v);
    return f;
}

/* In place, below `parent`: y's padding from dim d on (base: the flat index
 * where dim d's block starts). Along a masked dim the indices past its
 * extent are one contiguous run, filled by one loop of run-time length; the
 * rows inside it go on to the next masked dim. No test per element: the
 * work is the padding. */
static void fill_padding(LKernel *k, LStmt *parent, Value *y, unsigned axes, int d, LExpr *base,
                         LExpr *fill)
{
    if (!masked_after(y, axes, d))
        return;
    int64_t inner = op_dims_prod(y->shape.dim, d + 1, y->shape.rank), max = y->shape.dim[d];
    LExpr *i;
    if (!((axes & (1u << d)) && ir_dyn(y, d))) {
        LStmt *loop = lw_loop(k, parent, max, &i);
        fill_padding(k, loop, y, axes, d + 1, lx_add(k, base, lx_muli(k, i, inner)), fill);
        return;
    }
    LExpr *ext = lw_dim_expr(k, ir_dyn(y, d));
    LExpr *past = lx_muli(k, lx_bin(k, LB_SUB, lx_idx(k, max), ext), inner);
    LExpr *j;
    LStmt *run = run_loop(k, parent, max * inner, past, &j);
    ls_push(k, run, ls_store(k, y, lx_add(k, lx_add(k, base, lx_muli(k, ext, inner)), j), fill));
    if (masked_after(y, axes, d + 1)) {
        LStmt *rows = run_loop(k, parent, max, lw_dim_expr(k, ir_dyn(y, d)), &i);
        fill_padding(k, rows, y, axes, d + 1, lx_add(k, base, lx_muli(k, i, inner)), fill);
    }
}

/* Element `coord` of y, each masked coordinate from dim `from` on clamped
 * into its extent: what a read clamped at the run-time edge sees. */
static LExpr *edge_source(LKernel *k, const Value *y, unsigned axes, int from, LExpr *const *coord)
{
    LExpr *src = lx_idx(k, 0);
    for (int e = 0; e < y->shape.rank; e++) {
        LExpr *c = coord[e];
        if (e >= from && (axes & (1u << e)) && ir_dyn(y, e))
            c = lx_bin(k, LB_MIN, c, lx_addi(k, lw_dim_expr(k, ir_dyn(y, e)), -1));
        src = lx_add(k, lx_muli(k, src, y->shape.dim[e]), c);
    }
    return src;
}

/* The edge form of fill_padding: the rows of dim d past its extent copy
 * the elements at the clamped coordinates (inside the extents, so never
 * themselves written here). coord[0..d) are the enclosing loops'. */
static void edge_padding(LKernel *k, LStmt *parent, Value *y, unsigned axes, int d, LExpr **coord)
{
    int r = y->shape.rank;
    if (!masked_after(y, axes, d))
        return;
    if (!((axes & (1u << d)) && ir_dyn(y, d))) {
        LStmt *loop = lw_loop(k, parent, y->shape.dim[d], &coord[d]);
        edge_padding(k, loop, y, axes, d + 1, coord);
        return;
    }
    LExpr *ext = lw_dim_expr(k, ir_dyn(y, d)), *i;
    LStmt *cur = run_loop(k, parent, y->shape.dim[d],
                          lx_bin(k, LB_SUB, lx_idx(k, y->shape.dim[d]), ext), &i);
    LExpr *c[IR_MAX_RANK];
    for (int e = 0; e < r; e++)
        c[e] = coord[e];
    c[d] = lx_add(k, ext, i);     /* rows ext .. max - 1 */
    for (int e = d + 1; e < r; e++)
        cur = lw_loop(k, cur, y->shape.dim[e], &c[e]);
    LExpr *dst = lx_idx(k, 0);
    for (int e = 0; e < r; e++)
        dst = lx_add(k, lx_muli(k, dst, y->shape.dim[e]), c[e]);
    ls_push(k, cur, ls_store(k, y, dst, lx_load(k, y, edge_source(k, y, axes, d, c))));
    if (masked_after(y, axes, d + 1)) {
        LStmt *rows = run_loop(k, parent, y->shape.dim[d], lw_dim_expr(k, ir_dyn(y, d)), &coord[d]);
        edge_padding(k, rows, y, axes, d + 1, coord);
    }
}

static bool lower_dim_mask(Node *n, Diag *d)
{
    (void)d;
    Value *x = n->in[0], *y = n->out[0];
    LKernel *k = lw_kernel(n);
    unsigned axes = (unsigned)ir_attr_int(n, "axes", 0);
    bool edge = ir_attr_int(n, "edge", 0) != 0;
    if (ir_attr_int(n, "in_place", 0)) {
        LExpr *coord[IR_MAX_RANK];
        if (edge)
            edge_padding(k, k->root, y, axes, 0, coord);
        else
            fill_padding(k, k->root, y, axes, 0, lx_idx(k, 0),
                         lx_num(k, y->dtype, ir_attr_float(n, "fill", 0)));
        return true;
    }
    /* a copy (x is a constant): the whole tensor */
    int vars[IR_MAX_RANK];
    LExpr *inside, *packed, *coord[IR_MAX_RANK];
    LStmt *inner = padded_nest(k, x, axes, vars, &inside, &packed);
    for (int e = 0; e < x->shape.rank; e++)
        coord[e] = lx_var(k, vars[e]);
    LExpr *flat = lx_flat(k, &x->shape, vars);
    LExpr *v = edge ? lx_load(k, x, edge_source(k, x, axes, 0, coord))
                    : lx_sel(k, inside, lx_load(k, x, flat),
                             lx_num(k, y->dtype, ir_attr_float(n, "fill", 0)));
    ls_push(k, inner, ls_store(k, y, flat, v));
    return true;
}

static bool lower_dim_scale(Node *n, Diag *d)
{
    (void)d;
    Value *y = n->in[0], *x = n->in[1], *out = n->out[0];
    unsigned axes = (unsigned)ir_attr_int(n, "axes", 0);
    LKernel *k = lw_kernel(n);
    DType ct = lw_compute_type(out->dtype);
    int64_t pmax = 1;
    LExpr *prun = lx_idx(k, 1);
    for (int a = 0; a < x->shape.rank; a++)
        if ((axes & (1u << a)) && ir_dyn(x, a)) {
            pmax *= x->shape.dim[a];
            prun = lx_mul(k, prun, lw_dim_expr(k, ir_dyn(x, a)));
        }
    int f = lk_var(k, ct);
    ls_push(k, k->root, ls_assign(k, f, lx_bin(k, LB_DIV, lx_f(k, ct, (double)pmax), lx_cast(k, ct, prun))));
    LExpr *i;
    LStmt *loop = lw_loop(k, k->root, ir_value_numel(out), &i);
    LExpr *v = lx_bin(k, LB_MUL, lx_cast(k, ct, lx_load(k, y, i)), lx_var(k, f));
    ls_push(k, loop, ls_store(k, out, i, lx_cast(k, out->dtype, v)));
    return true;
}

static bool infer_dim_fill(Node *n, Diag *d)
{
    if (!op_inputs_known(n, d))
        return false;
    Shape s = {.rank = 1, .dim = {ir_attr_int(n, "count", 1)}};
    op_set_out(n, 0, DT_INT32, &s);
    return true;
}

static bool lower_dim_fill(Node *n, Diag *d)
{
    const DimExpr *e = ir_dyn(n->in[0], (int)ir_attr_int(n, "axis", 0));
    if (!e) {
        diag_error(d, n, "internal error: DimFill of a static dim");
        return false;
    }
    LKernel *k = lw_kernel(n);
    LExpr *i;
    LStmt *loop = lw_loop(k, k->root, ir_value_numel(n->out[0]), &i);
    ls_push(k, loop, ls_store(k, n->out[0], i, lx_cast(k, DT_INT32, lw_dim_expr(k, e))));
    return true;
}

static const AttrSpec a_none[] = {{NULL, 0}};
static const AttrSpec a_mask[] = {{"axes", ATTR_INT}, {"fill", ATTR_FLOAT}, {"edge", ATTR_INT},
                                  {"in_place", ATTR_INT}, {NULL, 0}};
static const AttrSpec a_fill[] = {{"axis", ATTR_INT}, {"count", ATTR_INT}, {NULL, 0}};

const OpDesc op_dim_in = {
    .name = "DimIn", .since = 1, .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,
    .flags = OPF_NO_FOLD, .attrs = a_none, .infer = infer_same, .lower = lower_dim_in,
};
const OpDesc op_dim_out = {
    .name = "DimOut", .since = 1, .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,
    .flags = OPF_NO_FOLD, .attrs = a_none, .infer = infer_same, .lower = lower_dim_out,
};
const OpDesc op_dim_mask = {
    .name = "DimMask", .since = 1, .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,
    .flags = OPF_NO_FOLD | OPF_IN_PLACE, .attrs = a_mask, .infer = infer_same, .lower = lower_dim_mask,
};
const OpDesc op_dim_scale = {
    .name = "DimScale", .since = 1, .min_in = 2, .max_in = 2, .min_out = 1, .max_out = 1,
    .flags = OPF_NO_FOLD, .attrs = a_mask, .infer = infer_same, .lower = lower_dim_scale,
};
const OpDesc op_dim_fill = {
    .name = "DimFill", .since = 1, .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,
    .flags = OPF_NO_FOLD, .attrs = a_fill, .infer = infer_dim_fill, .lower = lower_dim_fill,
};
