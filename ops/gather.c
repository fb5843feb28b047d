/* Operators that address data through an index tensor read at run time:
 * Gather, GatherElements, GatherND, Scatter, ScatterElements, ScatterND.
 *
 * Such indices are untrusted: a negative index counts from the end, and an
 * index still out of range after that is clamped into the axis for reads and
 * skipped for writes, so generated code never touches memory outside a
 * tensor. ONNX leaves such indices undefined; constant ones are reported as
 * errors. */
#include "ops.h"

#include <string.h>

/* ---- run-time indices ---- */

/* A run-time index `e` into an axis of `dim` elements, as an int64
 * variable assigned under parent. Negative indices count from the end.
 * Out-of-range indices are undefined in ONNX; here they are clamped into
 * [0, dim) so a load through the result never leaves the tensor. When `ok`
 * is given it receives a bool that tells whether the index was in range
 * (writers skip the element instead). */
static LExpr *safe_index(LKernel *k, LStmt *parent, LExpr *e, int64_t dim, LExpr **ok)
{
    int v = lk_var(k, DT_INT64);
    LExpr *zero = lx_idx(k, 0);
    ls_push(k, parent, ls_assign(k, v, lx_cast(k, DT_INT64, e)));
    LExpr *x = lx_var(k, v);
    LExpr *wrapped = lx_sel(k, lx_bin(k, LB_LT, x, zero), lx_bin(k, LB_ADD, x, lx_idx(k, dim)), x);
    ls_push(k, parent, ls_assign(k, v, wrapped));
    if (ok) {
        int b = lk_var(k, DT_BOOL);
        LExpr *in = lx_bin(k, LB_AND, lx_bin(k, LB_GE, x, zero),
                           lx_bin(k, LB_LT, x, lx_idx(k, dim)));
        ls_push(k, parent, ls_assign(k, b, in));
        *ok = lx_var(k, b);
    }
    LExpr *clamped = lx_bin(k, LB_MIN, lx_bin(k, LB_MAX, x, zero), lx_idx(k, dim > 0 ? dim - 1 : 0));
    ls_push(k, parent, ls_assign(k, v, clamped));
    return lx_var(k, v);
}

/* Every element of a constant index tensor is in [-dim, dim). */
static bool const_indices_ok(Node *n, Diag *d, const Value *ind, int64_t dim, const char *what)
{
    if (!ind->data)
        return true;
    int64_t cnt = ir_value_numel(ind);
    for (int64_t i = 0; i < cnt; i++) {
        int64_t x = ir_const_i(ind, i);
        if (x < -dim || x >= dim) {
            diag_error(d, n, "%s index %lld is out of range for a dimension of %lld", what,
                       (long long)x, (long long)dim);
            return false;
        }
    }
    return true;
}

/* ---- Gather ---- */

static bool gather_axis(Node *n, Diag *d, int *axis)
{
    int rank = n->in[0]->shape.rank;
    if (rank == 0) {
        diag_error(d, n, "data must have rank >= 1");
        return false;
    }
    return op_axis(d, n, ir_attr_int(n, "axis", 0), rank, axis);
}

static bool infer_gather(Node *n, Diag *d)
{
    if (!op_inputs_known(n, d) || !op_dtype_ok(n, d, n->in[0]) ||
        !op_index_dtype_ok(n, d, n->in[1], 1))
        return false;
    int ax;
    if (!gather_axis(n, d, &ax))
        return false;
    const Shape *ds = &n->in[0]->shape, *is = &n->in[1]->shape;
    int64_t dim = ds->dim[ax];
    if (!const_indices_ok(n, d, n->in[1], dim, "gather"))
        return false;
    if (dim == 0 && ir_value_numel(n->in[1]) > 0) {
        diag_error(d, n, "gathers from an empty axis %d", ax);
        return false;
    }
    if (ds->rank - 1 + is->rank > IR_MAX_RANK)
        return op_unsupported(d, n, "output rank %d (at most %d)", ds->rank - 1 + is->rank,
                              IR_MAX_RANK);
    Shape s = {0};
    for (int i = 0; i < ax; i++)
        s.dim[s.rank++] = ds->dim[i];
    for (int i = 0; i < is->rank; i++)
        s.dim[s.rank++] = is->dim[i];
    for (int i = ax + 1; i < ds->rank; i++)
        s.dim[s.rank++] = ds->dim[i];
    op_set_out(n, 0, n->in[0]->dtype, &s);
    return true;
}

/* Constant indices this many or fewer become one copy each. */
#define GATHER_UNROLL 16

/* out[o][j][i] = data[o][idx[j]][i]: o over the dims before the axis, j
 * over the indices, i over the contiguous dims after the axis. */
static bool lower_gather(Node *n, Diag *d)
{
    int ax;
    if (!gather_axis(n, d, &ax))
        return false;
    LKernel *k = lw_kernel(n);
    Value *data = n->in[0], *ind = n->in[1], *out = n->out[0];
    const Shape *ds = &data->shape;
    int64_t outer = op_dims_prod(ds->dim, 0, ax), dim = ds->dim[ax];
    int64_t inner = op_dims_prod(ds->dim, ax + 1, ds->rank), nidx = ir_value_numel(ind);
    if (ir_value_numel(out) == 0)
        return true;
    if (ind->data && nidx <= GATHER_UNROLL) {
        for (int64_t j = 0; j < nidx; j++) {
            int64_t x = ir_const_i(ind, j);
            x = x < 0 ? x + dim : x;
            int64_t dims[2] = {outer, inner}, dstr[2] = {nidx * inner, 1};
            int64_t sstr[2] = {dim * inner, 1};
            lw_copy_strided(k, k->root, out, j * inner, data, x * inner, 2, dims, dstr, sstr);
        }
        return true;
    }
    LExpr *o, *j, *i;
    LStmt *lo = lw_loop(k, k->root, outer, &o);
    LStmt *lj = lw_loop(k, lo, nidx, &j);
    LExpr *idx = safe_index(k, lj, lx_load(k, ind, j), dim, NULL);
    LStmt *li = lw_loop(k, lj, inner, &i);
    LExpr *dst = lx_add(k, lx_muli(k, lx_add(k, lx_muli(k, o, nidx), j), inner), i);
    LExpr *src = lx_add(k, lx_muli(k, lx_add(k, lx_muli(k, o, dim), idx), inner), i);
    ls_push(k, li, ls_store(k, out, dst, lx_load(k, data, src)));
    return true;
}

/* ---- GatherElements, Scatter, ScatterElements ---- */

/* Shared checks: data and indices of one rank, indices no larger than data
 * off the axis (they address data by their own coordinates there). */
static bool elements_shapes(Node *n, Diag *d, int *axis)
{
    const Shape *ds = &n->in[0]->shape, *is = &n->in[1]->shape;
    if (ds->rank == 0) {
        diag_error(d, n, "data must have rank >= 1");
        return false;
    }
    if (!op_axis(d, n, ir_attr_int(n, "axis", 0), ds->rank, axis))
        return false;
    if (is->rank != ds->rank) {
        diag_error(d, n, "indices have rank %d but data has rank %d", is->rank, ds->rank);
        return false;
    }
    for (int i = 0; i < ds->rank; i++)
        if (i != *axis && is->dim[i] > ds->dim[i]) {
            diag_error(d, n, "indices dimension %d (%lld) exceeds data's (%lld)", i,
                       (long long)is->dim[i], (long long)ds->dim[i]);
            return false;
        }
    if (ds->dim[*axis] == 0 && ir_value_numel(n->in[1]) > 0) {
        diag_error(d, n, "indexes an empty axis %d", *axis);
        return false;
    }
    return const_indices_ok(n, d, n->in[1], ds->dim[*axis], "element");
}

static bool infer_gather_elements(Node *n, Diag *d)
{
    int ax;
    if (!op_inputs_known(n, d) || !op_dtype_ok(n, d, n->in[0]) ||
        !op_index_dtype_ok(n, d, n->in[1], 1) || !elements_shapes(n, d, &ax))
        return false;
    op_set_out(n, 0, n->in[0]->dtype, &n->in[1]->shape);
    return true;
}

/* The data element that indices element `vars` addresses, with the index
 * read at the innermost level; *ok as in safe_index. */
static LExpr *elements_src(LKernel *k, LStmt *inner, Value *data, Value *ind, int ax,
                           const int *vars, LExpr **ok)
{
    const Shape *ds = &data->shape;
    int64_t dstr[IR_MAX_RANK];
    ir_strides(ds, dstr);
    LExpr *x = lx_load(k, ind, lx_flat(k, &ind->shape, vars));
    LExpr *idx = safe_index(k, inner, x, ds->dim[ax], ok);
    LExpr *src = lx_idx(k, 0);
    for (int i = 0; i < ds->rank; i++)
        src = lx_add(k, src, lx_muli(k, i == ax ? idx : lx_var(k, vars[i]), dstr[i]));
    return src;
}

static bool lower_gather_elements(Node *n, Diag *d)
{
    int ax;
    if (!elements_shapes(n, d, &ax))
        return false;
    LKernel *k = lw_kernel(n);
    Value *data = n->in[0], *ind = n->in[1], *out = n->out[0];
    if (ir_value_numel(out) == 0)
        return true;
    int vars[IR_MAX_RANK];
    LStmt *inner = lk_nest(k, k->root, ind->shape.dim, ind->shape.rank, vars);
    LExpr *src = elements_src(k, inner, data, ind, ax, vars, NULL);
    ls_push(k, inner, ls_store(k, out, lx_flat(k, &out->shape, vars), lx_load(k, data, src)));
    return true;
}

/* Scatter reductions: none / add / mul / max / min. */
typedef enum { RED_NONE, RED_ADD, RED_MUL, RED_MAX, RED_MIN } Reduction;

static bool scatter_reduction(Node *n, Diag *d, Reduction *r)
{
    const char *s = ir_attr_string(n, "reduction", "none");
    static const char *const names[] = {"none", "add", "mul", "max", "min"};
    for (int i = 0; i < 5; i++)
        if (strcmp(s, names[i]) == 0) {
            *r = (Reduction)i;
            return true;
        }
    diag_error(d, n, "reduction '%s' is not one of none, add, mul, max, min", s);
    return false;
}

/* The value stored when `upd` meets the current `cur` under reduction r. */
static LExpr *reduce_into(LKernel *k, Reduction r, LExpr *cur, LExpr *upd)
{
    bool b = upd->dt == DT_BOOL;
    switch (r) {
    case RED_NONE: return upd;
    case RED_ADD: return lx_bin(k, b ? LB_OR : LB_ADD, cur, upd);
    case RED_MUL: return lx_bin(k, b ? LB_AND : LB_MUL, cur, upd);
    case RED_MAX: return lx_bin(k, LB_MAX, cur, upd);
    case RED_MIN: return lx_bin(k, LB_MIN, cur, upd);
    }
    return upd;
}

static bool infer_scatter_elements(Node *n, Diag *d)
{
    int ax;
    Reduction r;
    if (!op_inputs_known(n, d) || !op_dtype_ok(n, d, n->in[0]) ||
        !op_index_dtype_ok(n, d, n->in[1], 1) || !op_same_dtype(n, d, 2, 0) ||
        !elements_shapes(n, d, &ax) || !scatter_reduction(n, d, &r))
        return false;
    if (!ir_shape_equal(&n->in[1]->shape, &n->in[2]->shape)) {
        Arena *a = n->graph->arena;
        diag_error(d, n, "updates %s and indices %s differ in shape",
                   ir_shape_str(a, &n->in[2]->shape), ir_shape_str(a, &n->in[1]->shape));
        return false;
    }
    op_set_out(n, 0, n->in[0]->dtype, &n->in[0]->shape);
    return true;
}

/* out = data; then for every update, in order: out[target] = reduce(...).
 * Updates whose index is out of range are skipped. */
static bool lower_scatter_elements(Node *n, Diag *d)
{
    int ax;
    Reduction r;
    if (!elements_shapes(n, d, &ax) || !scatter_reduction(n, d, &r))
        return false;
    LKernel *k = lw_kernel(n);
    Value *data = n->in[0], *ind = n->in[1], *upd = n->in[2], *out = n->out[0];
    lw_copy_all(k, k->root, out, data);
    if (ir_value_numel(ind) == 0)
        return true;
    int vars[IR_MAX_RANK];
    LStmt *inner = lk_nest(k, k->root, ind->shape.dim, ind->shape.rank, vars);
    LExpr *ok;
    LExpr *dst = elements_src(k, inner, data, ind, ax, vars, &ok);
    LExpr *u = lx_load(k, upd, lx_flat(k, &upd->shape, vars));
    LStmt *iff = ls_if(k, ok);
    ls_push(k, iff, ls_store(k, out, dst, reduce_into(k, r, lx_load(k, out, dst), u)));
    ls_push(k, inner, iff);
    return true;
}

/* ---- GatherND, ScatterND ---- */

/* For data rank r, indices rank q with last dim m and batch dims b:
 * checks 1 <= m <= r - b and the batch dims agreeing. */
static bool nd_shapes(Node *n, Diag *d, int b, int *m)
{
    const Shape *ds = &n->in[0]->shape, *is = &n->in[1]->shape;
    if (ds->rank < 1 || is->rank < 1) {
        diag_error(d, n, "data and indices must have rank >= 1");
        return false;
    }
    if (b < 0 || b >= is->rank || b >= ds->rank) {
        diag_error(d, n, "batch_dims %d must be below both ranks (%d, %d)", b, ds->rank,
                   is->rank);
        return false;
    }
    int64_t last = is->dim[is->rank - 1];
    if (last < 1 || last > ds->rank - b) {
        diag_error(d, n, "indices' last dimension %lld must be in [1, %d]", (long long)last,
                   ds->rank - b);
        return false;
    }
    *m = (int)last;
    for (int i = 0; i < b; i++)
        if (is->dim[i] != ds->dim[i]) {
            diag_error(d, n, "batch dimension %d differs: data %lld, indices %lld", i,
                       (long long)ds->dim[i], (long long)is->dim[i]);
            return false;
        }
    if (n->in[1]->data) {   /* constant indices: check every tuple */
        int64_t cnt = ir_value_numel(n->in[1]);
        for (int64_t i = 0; i < cnt; i++) {
            int64_t dim = ds->dim[b + i % *m], x = ir_const_i(n->in[1], i);
            if (x < -dim || x >= dim) {
                diag_error(d, n, "index %lld is out of range for a dimension of %lld",
                           (long long)x, (long long)dim);
                return false;
            }
        }
    }
    return true;
}

static bool infer_gather_nd(Node *n, Diag *d)
{
    if (!op_inputs_known(n, d) || !op_dtype_ok(n, d, n->in[0]) ||
        !op_index_dtype_ok(n, d, n->in[1], 1))
        return false;
    int b = (int)ir_attr_int(n, "batch_dims", 0), m;
    if (!nd_shapes(n, d, b, &m))
        return false;
    const Shape *ds = &n->in[0]->shape, *is = &n->in[1]->shape;
    Shape s = {0};
    if (is->rank - 1 + ds->rank - b - m > IR_MAX_RANK)
        return op_unsupported(d, n, "output rank above %d", IR_MAX_RANK);
    for (int i = 0; i < is->rank - 1; i++)
        s.dim[s.rank++] = is->dim[i];
    for (int i = b + m; i < ds->rank; i++)
        s.dim[s.rank++] = ds->dim[i];
    bool empty = ir_value_numel(n->in[1]) == 0;
    for (int i = b + m; i < ds->rank; i++)
        empty |= ds->dim[i] == 0;
    for (int i = b; i < b + m && !empty; i++)
        if (ds->dim[i] == 0) {
            diag_error(d, n, "indexes an empty dimension %d", i);
            return false;
        }
    op_set_out(n, 0, n->in[0]->dtype, &s);
    return true;
}

/* Offset, within one batch of data, of the slice the index tuple at
 * `tuple` (flat position of its first element in indices) addresses;
 * *ok as in safe_index. */
static LExpr *nd_offset(LKernel *k, LStmt *at, Value *data, Value *ind, int b, int m,
                        LExpr *tuple, LExpr **ok)
{
    int64_t dstr[IR_MAX_RANK];
    ir_strides(&data->shape, dstr);
    LExpr *off = lx_idx(k, 0);
    for (int i = 0; i < m; i++) {
        LExpr *x = lx_load(k, ind, lx_addi(k, tuple, i));
        LExpr *good;
        LExpr *idx = safe_index(k, at, x, data->shape.dim[b + i], ok ? &good : NULL);
        if (ok)
            *ok = i ? lx_bin(k, LB_AND, *ok, good) : good;
        off = lx_add(k, off, lx_muli(k, idx, dstr[b + i]));
    }
    return off;
}

/* out[bb][j][s] = data[bb][tuple(bb, j)][s]: bb over batches, j over index
 * tuples per batch, s over the contiguous slice each tuple selects. */
static bool lower_gather_nd(Node *n, Diag *d)
{
    int b = (int)ir_attr_int(n, "batch_dims", 0), m;
    if (!nd_shapes(n, d, b, &m))
        return false;
    LKernel *k = lw_kernel(n);
    Value *data = n->in[0], *ind = n->in[1], *out = n->out[0];
    const Shape *ds = &data->shape, *is = &ind->shape;
    if (ir_value_numel(out) == 0)
        return true;
    int64_t nb = op_dims_prod(is->dim, 0, b), nt = op_dims_prod(is->dim, b, is->rank - 1);
    int64_t slice = op_dims_prod(ds->dim, b + m, ds->rank);
    int64_t batch = op_dims_prod(ds->dim, b, ds->rank);
    LExpr *bb, *j, *s;
    LStmt *lb = lw_loop(k, k->root, nb, &bb);
    LStmt *lj = lw_loop(k, lb, nt, &j);
    LExpr *t = lx_add(k, lx_muli(k, bb, nt), j);
    LExpr *off = nd_offset(k, lj, data, ind, b, m, lx_muli(k, t, m), NULL);
    LStmt *ls = lw_loop(k, lj, slice, &s);
    LExpr *src = lx_add(k, lx_add(k, lx_muli(k, bb, batch), off), s);
    ls_push(k, ls, ls_store(k, out, lx_add(k, lx_muli(k, t, slice), s), lx_load(k, data, src)));
    return true;
}

static bool infer_scatter_nd(Node *n, Diag *d)
{
    Reduction r;
    int m;
    if (!op_inputs_known(n, d) || !op_dtype_ok(n, d, n->in[0]) ||
        !op_index_dtype_ok(n, d, n->in[1], 1) || !op_same_dtype(n, d, 2, 0) ||
        !scatter_reduction(n, d, &r) || !nd_shapes(n, d, 0, &m))
        return false;
    const Shape *ds = &n->in[0]->shape, *is = &n->in[1]->shape, *us = &n->in[2]->shape;
    /* updates: indices.shape[:-1] + data.shape[m:] */
    bool fits = us->rank == is->rank - 1 + ds->rank - m;
    for (int i = 0; fits && i < is->rank - 1; i++)
        fits = us->dim[i] == is->dim[i];
    for (int i = m; fits && i < ds->rank; i++)
        fits = us->dim[is->rank - 1 + i - m] == ds->dim[i];
    if (!fits) {
        Arena *a = n->graph->arena;
        diag_error(d, n, "updates %s do not match indices %s and data %s",
                   ir_shape_str(a, us), ir_shape_str(a, is), ir_shape_str(a, ds));
        return false;
    }
    for (int i = 0; i < m; i++)
        if (ds->dim[i] == 0 && ir_value_numel(n->in[1]) > 0) {
            diag_error(d, n, "indexes an empty dimension %d", i);
            return false;
        }
    op_set_out(n, 0, n->in[0]->dtype, ds);
    return true;
}

/* out = data; then per index tuple j, in order, the slice it addresses
 * takes updates[j] (reduced). Tuples with an out-of-range index are
 * skipped. */
static bool lower_scatter_nd(Node *n, Diag *d)
{
    Reduction r;
    int m;
    if (!scatter_reduction(n, d, &r) || !nd_shapes(n, d, 0, &m))
        return false;
    LKernel *k = lw_kernel(n);
    Value *data = n->in[0], *ind = n->in[1], *upd = n->in[2], *out = n->out[0];
    lw_copy_all(k, k->root, out, data);
    const Shape *ds = &data->shape, *is = &ind->shape;
    int64_t nt = op_dims_prod(is->dim, 0, is->rank - 1), slice = op_dims_prod(ds->dim, m, ds->rank);
    if (nt == 0 || slice == 0)
        return true;
    LExpr *j, *s, *ok;
    LStmt *lj = lw_loop(k, k->root, nt, &j);
    LExpr *off = nd_offset(k, lj, data, ind, 0, m, lx_muli(k, j, m), &ok);
    LStmt *iff = ls_if(k, ok);
    ls_push(k, lj, iff);
    LStmt *ls = lw_loop(k, iff, slice, &s);
    LExpr *dst = lx_add(k, off, s);
    LExpr *u = lx_load(k, upd, lx_add(k, lx_muli(k, j, slice), s));
    ls_push(k, ls, ls_store(k, out, dst, reduce_into(k, r, lx_load(k, out, dst), u)));
    return true;
}

/* ---- rows ---- */

static const AttrSpec a_axis[] = {{"axis", ATTR_INT}, {NULL, 0}};
static const AttrSpec a_scatter[] = {{"axis", ATTR_INT}, {"reduction", ATTR_STRING}, {NULL, 0}};
static const AttrSpec a_reduction[] = {{"reduction", ATTR_STRING}, {NULL, 0}};
static const AttrSpec a_batch_dims[] = {{"batch_dims", ATTR_INT}, {NULL, 0}};

const OpDesc op_rows_gather[] = {
    {.dyn = DYN_GATHER, .name = "Gather", .since = 1, .min_in = 2, .max_in = 2, .min_out = 1, .max_out = 1,
     .attrs = a_axis, .infer = infer_gather, .lower = lower_gather,
     .flags = OPF_READS_PART, .role = OP_ROLE_GATHER},
    {.dyn = DYN_GATHER_ELEMENTS, .name = "GatherElements", .since = 11, .min_in = 2, .max_in = 2, .min_out = 1, .max_out = 1,
     .attrs = a_axis, .infer = infer_gather_elements, .lower = lower_gather_elements,
     .flags = OPF_READS_PART},
    {.name = "GatherND", .since = 11, .min_in = 2, .max_in = 2, .min_out = 1, .max_out = 1,
     .attrs = a_batch_dims, .infer = infer_gather_nd, .lower = lower_gather_nd,
     .flags = OPF_READS_PART},
    {.name = "Scatter", .since = 9, .until = 10, .min_in = 3, .max_in = 3, .min_out = 1,
     .max_out = 1, .attrs = a_axis, .infer = infer_scatter_elements,
     .lower = lower_scatter_elements},
    {.name = "ScatterElements", .since = 11, .min_in = 3, .max_in = 3, .min_out = 1,
     .max_out = 1, .attrs = a_scatter, .infer = infer_scatter_elements,
     .lower = lower_scatter_elements},
    {.name = "ScatterND", .since = 11, .min_in = 3, .max_in = 3, .min_out = 1, .max_out = 1,
     .attrs = a_reduction, .infer = infer_scatter_nd, .lower = lower_scatter_nd},
    {.name = NULL},
};
