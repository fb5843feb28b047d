/* Data-movement operators: Concat, Transpose, Gather*, Scatter*, Slice,
 * Split, Pad, DepthToSpace, SpaceToDepth, Compress.
 *
 * Each lowers to loops over its output (or over the part of the output one
 * input covers) that compute a source index. Most are strided copies and
 * share copy_strided, which merges dimensions that stay contiguous on both
 * sides so the innermost loop is as long and as contiguous as it can be.
 *
 * Index inputs read at run time (Gather, GatherElements, GatherND, Scatter*)
 * are untrusted: a negative index counts from the end, and an index still out
 * of range after that is clamped into the axis for reads and skipped for
 * writes, so generated code never touches memory outside a tensor. ONNX
 * leaves such indices undefined; constant ones are reported as errors. */
#include "ops.h"

#include <string.h>

#define MAX_COPY_RANK (2 * IR_MAX_RANK)

/* ---- shared checks ---- */

static bool dtype_ok(Node *n, Diag *d, const Value *v)
{
    if (!ir_dtype_supported(v->dtype))
        return op_unsupported(d, n, "%s tensor '%s'", ir_dtype_name(v->dtype), v->name);
    return true;
}

static bool index_dtype_ok(Node *n, Diag *d, const Value *v, int i)
{
    if (v->dtype != DT_INT32 && v->dtype != DT_INT64) {
        diag_error(d, n, "input %d '%s' must be int32 or int64, got %s", i, v->name,
                   ir_dtype_name(v->dtype));
        return false;
    }
    return true;
}

/* Ints from attribute `attr` or constant input `in`; *count is -1 when
 * neither is given. A run-time input would make shapes dynamic. */
static bool read_ints(Node *n, Diag *d, const char *attr, int in, const char *what,
                      int64_t *out, int max, int *count)
{
    int c = op_ints(n, attr, in, out, max);
    if (c == -2)
        return op_unsupported(d, n, "dynamic %s: input %d '%s' is not a constant", what, in,
                              n->in[in]->name);
    if (c > max) {
        diag_error(d, n, "%s has %d entries, at most %d are possible", what, c, max);
        return false;
    }
    *count = c;
    return true;
}

static int64_t prod(const int64_t *dim, int from, int to)
{
    int64_t p = 1;
    for (int i = from; i < to; i++)
        p *= dim[i];    /* sub-products of a checked numel cannot overflow */
    return p;
}

static bool same_dtype(Node *n, Diag *d, int i, int j)
{
    if (n->in[i]->dtype != n->in[j]->dtype) {
        diag_error(d, n, "input %d '%s' is %s but input %d is %s", i, n->in[i]->name,
                   ir_dtype_name(n->in[i]->dtype), j, ir_dtype_name(n->in[j]->dtype));
        return false;
    }
    return true;
}

/* ---- shared lowering pieces ---- */

/* A loop of `extent` under parent, or parent itself when extent is 1;
 * *ix gets the loop index (constant 0 without a loop). */
static LStmt *loop(LKernel *k, LStmt *parent, int64_t extent, LExpr **ix)
{
    if (extent == 1) {
        *ix = lx_idx(k, 0);
        return parent;
    }
    int v = lk_var(k, DT_INT64);
    LStmt *f = ls_for(k, v, extent);
    ls_push(k, parent, f);
    *ix = lx_var(k, v);
    return f;
}

/* dst[dbase + sum i_d*dstr[d]] = src[sbase + sum i_d*sstr[d]] for every
 * i in dims. Size-1 dims are dropped and neighbours that are contiguous in
 * both buffers merge, so the innermost loop runs as long as possible. */
static void copy_strided(LKernel *k, LStmt *parent, Value *dst, int64_t dbase, Value *src,
                         int64_t sbase, int rank, const int64_t *dims, const int64_t *dstr,
                         const int64_t *sstr)
{
    int64_t dm[MAX_COPY_RANK], ds[MAX_COPY_RANK], ss[MAX_COPY_RANK];
    int r = 0;
    for (int i = 0; i < rank; i++) {
        if (dims[i] == 0)
            return;
        if (dims[i] == 1)
            continue;
        if (r > 0 && ds[r - 1] == dstr[i] * dims[i] && ss[r - 1] == sstr[i] * dims[i]) {
            dm[r - 1] *= dims[i];
            ds[r - 1] = dstr[i];
            ss[r - 1] = sstr[i];
            continue;
        }
        dm[r] = dims[i];
        ds[r] = dstr[i];
        ss[r] = sstr[i];
        r++;
    }
    LExpr *di = lx_idx(k, dbase), *si = lx_idx(k, sbase);
    LStmt *cur = parent;
    for (int i = 0; i < r; i++) {
        LExpr *ix;
        cur = loop(k, cur, dm[i], &ix);
        di = lx_add(k, di, lx_muli(k, ix, ds[i]));
        si = lx_add(k, si, lx_muli(k, ix, ss[i]));
    }
    ls_push(k, cur, ls_store(k, dst, di, lx_load(k, src, si)));
}

/* Copies all of src into dst (same element count). */
static void copy_all(LKernel *k, LStmt *parent, Value *dst, Value *src)
{
    int64_t n = ir_value_numel(src), one = 1;
    copy_strided(k, parent, dst, 0, src, 0, 1, &n, &one, &one);
}

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

/* ---- Concat ---- */

static bool concat_axis(Node *n, Diag *d, int *axis)
{
    const Attr *a = ir_attr(n, "axis");
    if (!a && n->graph->opset >= 4) {
        diag_error(d, n, "attribute 'axis' is required");
        return false;
    }
    int rank = n->in[0]->shape.rank;
    if (rank == 0) {
        diag_error(d, n, "cannot concatenate scalars");
        return false;
    }
    return op_axis(d, n, a ? a->i : 1, rank, axis);
}

static bool infer_concat(Node *n, Diag *d)
{
    if (!op_inputs_known(n, d) || !dtype_ok(n, d, n->in[0]))
        return false;
    int ax;
    if (!concat_axis(n, d, &ax))
        return false;
    Shape s = n->in[0]->shape;
    s.dim[ax] = 0;
    for (int i = 0; i < n->nin; i++) {
        const Value *v = n->in[i];
        if (!v) {
            diag_error(d, n, "input %d is missing", i);
            return false;
        }
        if (!same_dtype(n, d, i, 0))
            return false;
        bool fits = v->shape.rank == s.rank;
        for (int j = 0; fits && j < s.rank; j++)
            fits = j == ax || v->shape.dim[j] == s.dim[j];
        if (!fits) {
            Arena *a = n->graph->arena;
            diag_error(d, n, "input %d '%s' %s does not fit input 0 %s along axis %d", i,
                       v->name, ir_shape_str(a, &v->shape), ir_shape_str(a, &n->in[0]->shape),
                       ax);
            return false;
        }
        if (!ir_add_ok(s.dim[ax], v->shape.dim[ax], &s.dim[ax])) {
            diag_error(d, n, "concatenated dimension overflows");
            return false;
        }
    }
    op_set_out(n, 0, n->in[0]->dtype, &s);
    return true;
}

/* Per input: out[o][off + c] = in[o][c], o over the dims before the axis,
 * c over the input's contiguous chunk from the axis on. */
static bool lower_concat(Node *n, Diag *d)
{
    int ax;
    if (!concat_axis(n, d, &ax))
        return false;
    LKernel *k = lw_kernel(n);
    Value *out = n->out[0];
    int rank = out->shape.rank;
    int64_t outer = prod(out->shape.dim, 0, ax), inner = prod(out->shape.dim, ax + 1, rank);
    int64_t ochunk = out->shape.dim[ax] * inner, off = 0;
    for (int i = 0; i < n->nin; i++) {
        Value *v = n->in[i];
        int64_t chunk = v->shape.dim[ax] * inner;
        int64_t dims[2] = {outer, chunk}, dstr[2] = {ochunk, 1}, sstr[2] = {chunk, 1};
        copy_strided(k, k->root, out, off, v, 0, 2, dims, dstr, sstr);
        off += chunk;
    }
    return true;
}

/* ---- Transpose ---- */

static bool transpose_perm(Node *n, Diag *d, int *perm)
{
    int rank = n->in[0]->shape.rank;
    const Attr *a = ir_attr(n, "perm");
    if (!a) {
        for (int i = 0; i < rank; i++)
            perm[i] = rank - 1 - i;
        return true;
    }
    if (a->n != rank) {
        diag_error(d, n, "perm has %d entries for an input of rank %d", a->n, rank);
        return false;
    }
    bool seen[IR_MAX_RANK] = {false};
    for (int i = 0; i < rank; i++) {
        int64_t p = a->ints[i];
        if (p < 0 || p >= rank || seen[p]) {
            diag_error(d, n, "perm is not a permutation of 0..%d (entry %d is %lld)", rank - 1,
                       i, (long long)p);
            return false;
        }
        seen[p] = true;
        perm[i] = (int)p;
    }
    return true;
}

static bool infer_transpose(Node *n, Diag *d)
{
    if (!op_inputs_known(n, d) || !dtype_ok(n, d, n->in[0]))
        return false;
    int perm[IR_MAX_RANK];
    if (!transpose_perm(n, d, perm))
        return false;
    const Shape *in = &n->in[0]->shape;
    Shape s = *in;
    for (int i = 0; i < in->rank; i++) {
        s.dim[i] = in->dim[perm[i]];
        s.sym[i] = in->sym[perm[i]];
    }
    op_set_out(n, 0, n->in[0]->dtype, &s);
    return true;
}

/* Loops over the output in order (innermost over its last dim), reading the
 * input at the permuted strides. */
static bool lower_transpose(Node *n, Diag *d)
{
    int perm[IR_MAX_RANK];
    if (!transpose_perm(n, d, perm))
        return false;
    LKernel *k = lw_kernel(n);
    Value *in = n->in[0], *out = n->out[0];
    int64_t istr[IR_MAX_RANK], ostr[IR_MAX_RANK], sstr[IR_MAX_RANK];
    ir_strides(&in->shape, istr);
    ir_strides(&out->shape, ostr);
    for (int i = 0; i < out->shape.rank; i++)
        sstr[i] = istr[perm[i]];
    if (out->shape.rank == 0)
        copy_all(k, k->root, out, in);
    else
        copy_strided(k, k->root, out, 0, in, 0, out->shape.rank, out->shape.dim, ostr, sstr);
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
    if (!op_inputs_known(n, d) || !dtype_ok(n, d, n->in[0]) || !index_dtype_ok(n, d, n->in[1], 1))
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
    int64_t outer = prod(ds->dim, 0, ax), dim = ds->dim[ax];
    int64_t inner = prod(ds->dim, ax + 1, ds->rank), nidx = ir_value_numel(ind);
    if (ir_value_numel(out) == 0)
        return true;
    if (ind->data && nidx <= GATHER_UNROLL) {
        for (int64_t j = 0; j < nidx; j++) {
            int64_t x = ir_const_i(ind, j);
            x = x < 0 ? x + dim : x;
            int64_t dims[2] = {outer, inner}, dstr[2] = {nidx * inner, 1};
            int64_t sstr[2] = {dim * inner, 1};
            copy_strided(k, k->root, out, j * inner, data, x * inner, 2, dims, dstr, sstr);
        }
        return true;
    }
    LExpr *o, *j, *i;
    LStmt *lo = loop(k, k->root, outer, &o);
    LStmt *lj = loop(k, lo, nidx, &j);
    LExpr *idx = safe_index(k, lj, lx_load(k, ind, j), dim, NULL);
    LStmt *li = loop(k, lj, inner, &i);
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
    if (!op_inputs_known(n, d) || !dtype_ok(n, d, n->in[0]) ||
        !index_dtype_ok(n, d, n->in[1], 1) || !elements_shapes(n, d, &ax))
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
    if (!op_inputs_known(n, d) || !dtype_ok(n, d, n->in[0]) ||
        !index_dtype_ok(n, d, n->in[1], 1) || !same_dtype(n, d, 2, 0) ||
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
    copy_all(k, k->root, out, data);
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
    if (!op_inputs_known(n, d) || !dtype_ok(n, d, n->in[0]) || !index_dtype_ok(n, d, n->in[1], 1))
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
    int64_t nb = prod(is->dim, 0, b), nt = prod(is->dim, b, is->rank - 1);
    int64_t slice = prod(ds->dim, b + m, ds->rank), batch = prod(ds->dim, b, ds->rank);
    LExpr *bb, *j, *s;
    LStmt *lb = loop(k, k->root, nb, &bb);
    LStmt *lj = loop(k, lb, nt, &j);
    LExpr *t = lx_add(k, lx_muli(k, bb, nt), j);
    LExpr *off = nd_offset(k, lj, data, ind, b, m, lx_muli(k, t, m), NULL);
    LStmt *ls = loop(k, lj, slice, &s);
    LExpr *src = lx_add(k, lx_add(k, lx_muli(k, bb, batch), off), s);
    ls_push(k, ls, ls_store(k, out, lx_add(k, lx_muli(k, t, slice), s), lx_load(k, data, src)));
    return true;
}

static bool infer_scatter_nd(Node *n, Diag *d)
{
    Reduction r;
    int m;
    if (!op_inputs_known(n, d) || !dtype_ok(n, d, n->in[0]) ||
        !index_dtype_ok(n, d, n->in[1], 1) || !same_dtype(n, d, 2, 0) ||
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
    copy_all(k, k->root, out, data);
    const Shape *ds = &data->shape, *is = &ind->shape;
    int64_t nt = prod(is->dim, 0, is->rank - 1), slice = prod(ds->dim, m, ds->rank);
    if (nt == 0 || slice == 0)
        return true;
    LExpr *j, *s, *ok;
    LStmt *lj = loop(k, k->root, nt, &j);
    LExpr *off = nd_offset(k, lj, data, ind, 0, m, lx_muli(k, j, m), &ok);
    LStmt *iff = ls_if(k, ok);
    ls_push(k, lj, iff);
    LStmt *ls = loop(k, iff, slice, &s);
    LExpr *dst = lx_add(k, off, s);
    LExpr *u = lx_load(k, upd, lx_add(k, lx_muli(k, j, slice), s));
    ls_push(k, ls, ls_store(k, out, dst, reduce_into(k, r, lx_load(k, out, dst), u)));
    return true;
}

/* ---- Slice ---- */

typedef struct {
    int64_t start[IR_MAX_RANK], step[IR_MAX_RANK], count[IR_MAX_RANK];
} SliceParams;

/* Per input dim: the first element, the step and the element count. */
static bool slice_params(Node *n, Diag *d, SliceParams *p)
{
    const Shape *s = &n->in[0]->shape;
    int r = s->rank;
    int64_t starts[IR_MAX_RANK], ends[IR_MAX_RANK], axes[IR_MAX_RANK], steps[IR_MAX_RANK];
    int ns = 0, ne = 0, na = -1, nst = -1;
    bool old = n->graph->opset < 10;
    if (!read_ints(n, d, old ? "starts" : NULL, old ? -1 : 1, "starts", starts, r, &ns) ||
        !read_ints(n, d, old ? "ends" : NULL, old ? -1 : 2, "ends", ends, r, &ne) ||
        !read_ints(n, d, old ? "axes" : NULL, old ? -1 : 3, "axes", axes, r, &na) ||
        !read_ints(n, d, NULL, old ? -1 : 4, "steps", steps, r, &nst))
        return false;
    if (ns < 0 || ne < 0 || ns != ne) {
        diag_error(d, n, "starts (%d) and ends (%d) must be given with equal lengths", ns, ne);
        return false;
    }
    if ((na >= 0 && na != ns) || (nst >= 0 && nst != ns)) {
        diag_error(d, n, "axes (%d) and steps (%d) must have as many entries as starts (%d)",
                   na, nst, ns);
        return false;
    }
    bool seen[IR_MAX_RANK] = {false};
    for (int i = 0; i < r; i++) {
        p->start[i] = 0;
        p->step[i] = 1;
        p->count[i] = s->dim[i];
    }
    for (int i = 0; i < ns; i++) {
        int ax = i;
        if (na >= 0 && !op_axis(d, n, axes[i], r, &ax))
            return false;
        if (ax >= r) {
            diag_error(d, n, "more starts (%d) than input dimensions (%d)", ns, r);
            return false;
        }
        if (seen[ax]) {
            diag_error(d, n, "axis %d is sliced twice", ax);
            return false;
        }
        seen[ax] = true;
        int64_t dim = s->dim[ax], st = nst >= 0 ? steps[i] : 1;
        int64_t b = starts[i], e = ends[i];
        if (st == 0) {
            diag_error(d, n, "step for axis %d is 0", ax);
            return false;
        }
        if (b < 0)
            b += dim;
        if (e < 0)
            e += dim;
        int64_t cnt;
        if (st > 0) {
            b = b < 0 ? 0 : b > dim ? dim : b;
            e = e < 0 ? 0 : e > dim ? dim : e;
            cnt = e > b ? (e - b + st - 1) / st : 0;
        } else if (dim == 0) {
            cnt = 0;
        } else {
            b = b < 0 ? 0 : b > dim - 1 ? dim - 1 : b;
            e = e < -1 ? -1 : e > dim - 1 ? dim - 1 : e;
            cnt = b > e ? (b - e + (-st) - 1) / (-st) : 0;
        }
        p->start[ax] = cnt ? b : 0;
        p->step[ax] = st;
        p->count[ax] = cnt;
    }
    return true;
}

static bool infer_slice(Node *n, Diag *d)
{
    if (!op_inputs_known(n, d) || !dtype_ok(n, d, n->in[0]))
        return false;
    for (int i = 1; i < n->nin; i++)
        if (n->in[i] && !index_dtype_ok(n, d, n->in[i], i))
            return false;
    SliceParams p;
    if (!slice_params(n, d, &p))
        return false;
    Shape s = n->in[0]->shape;
    for (int i = 0; i < s.rank; i++)
        s.dim[i] = p.count[i];
    op_set_out(n, 0, n->in[0]->dtype, &s);
    return true;
}

static bool lower_slice(Node *n, Diag *d)
{
    SliceParams p;
    if (!slice_params(n, d, &p))
        return false;
    LKernel *k = lw_kernel(n);
    Value *in = n->in[0], *out = n->out[0];
    int r = in->shape.rank;
    int64_t istr[IR_MAX_RANK], ostr[IR_MAX_RANK], sstr[IR_MAX_RANK], base = 0;
    ir_strides(&in->shape, istr);
    ir_strides(&out->shape, ostr);
    for (int i = 0; i < r; i++) {
        base += p.start[i] * istr[i];
        sstr[i] = p.step[i] * istr[i];
    }
    if (r == 0)
        copy_all(k, k->root, out, in);
    else
        copy_strided(k, k->root, out, 0, in, base, r, out->shape.dim, ostr, sstr);
    return true;
}

/* ---- Split ---- */

/* The axis and each output's extent along it. */
static bool split_sizes(Node *n, Diag *d, int *axis, int64_t *sizes)
{
    const Shape *s = &n->in[0]->shape;
    if (s->rank == 0) {
        diag_error(d, n, "cannot split a scalar");
        return false;
    }
    if (!op_axis(d, n, ir_attr_int(n, "axis", 0), s->rank, axis))
        return false;
    int64_t dim = s->dim[*axis];
    int cnt = 0;
    if (!read_ints(n, d, "split", 1, "split", sizes, n->nout, &cnt))
        return false;
    const Attr *no = ir_attr(n, "num_outputs");
    if (no && no->i != n->nout) {
        diag_error(d, n, "num_outputs is %lld but the node has %d outputs", (long long)no->i,
                   n->nout);
        return false;
    }
    if (cnt >= 0) {
        if (no) {
            diag_error(d, n, "split and num_outputs are both given");
            return false;
        }
        int64_t sum = 0;
        if (cnt != n->nout) {
            diag_error(d, n, "split has %d entries for %d outputs", cnt, n->nout);
            return false;
        }
        for (int i = 0; i < cnt; i++) {
            if (sizes[i] < 0 || !ir_add_ok(sum, sizes[i], &sum)) {
                diag_error(d, n, "split entry %d (%lld) is negative", i, (long long)sizes[i]);
                return false;
            }
        }
        if (sum != dim) {
            diag_error(d, n, "split sums to %lld but dimension %d is %lld", (long long)sum,
                       *axis, (long long)dim);
            return false;
        }
        return true;
    }
    /* Equal parts; an uneven split makes the last part smaller. */
    int64_t parts = n->nout, chunk = dim / parts + (dim % parts != 0);
    for (int i = 0; i < n->nout; i++)
        sizes[i] = chunk;
    sizes[n->nout - 1] = dim - chunk * (parts - 1);
    if (sizes[n->nout - 1] < 0) {
        diag_error(d, n, "dimension %d (%lld) cannot be split into %d parts", *axis,
                   (long long)dim, n->nout);
        return false;
    }
    return true;
}

static bool infer_split(Node *n, Diag *d)
{
    if (!op_inputs_known(n, d) || !dtype_ok(n, d, n->in[0]))
        return false;
    if (n->nin > 1 && n->in[1] && !index_dtype_ok(n, d, n->in[1], 1))
        return false;
    int ax;
    int64_t *sizes = ir_alloc_array(n->graph->arena, (size_t)n->nout, sizeof *sizes);
    if (!split_sizes(n, d, &ax, sizes))
        return false;
    for (int i = 0; i < n->nout; i++) {
        Shape s = n->in[0]->shape;
        s.dim[ax] = sizes[i];
        s.sym[ax] = NULL;
        op_set_out(n, i, n->in[0]->dtype, &s);
    }
    return true;
}

static bool lower_split(Node *n, Diag *d)
{
    int ax;
    int64_t *sizes = ir_alloc_array(n->graph->arena, (size_t)n->nout, sizeof *sizes);
    if (!split_sizes(n, d, &ax, sizes))
        return false;
    LKernel *k = lw_kernel(n);
    Value *in = n->in[0];
    const Shape *s = &in->shape;
    int64_t outer = prod(s->dim, 0, ax), inner = prod(s->dim, ax + 1, s->rank);
    int64_t ichunk = s->dim[ax] * inner, off = 0;
    for (int i = 0; i < n->nout; i++) {
        int64_t chunk = sizes[i] * inner;
        if (n->out[i]) {
            int64_t dims[2] = {outer, chunk}, dstr[2] = {chunk, 1}, sstr[2] = {ichunk, 1};
            copy_strided(k, k->root, n->out[i], 0, in, off, 2, dims, dstr, sstr);
        }
        off += chunk;
    }
    return true;
}

/* ---- Pad ---- */

typedef enum { PAD_CONSTANT, PAD_REFLECT, PAD_EDGE, PAD_WRAP } PadMode;

typedef struct {
    PadMode mode;
    int64_t begin[IR_MAX_RANK], end[IR_MAX_RANK];
} PadParams;

static bool pad_params(Node *n, Diag *d, PadParams *p)
{
    const Shape *s = &n->in[0]->shape;
    int r = s->rank;
    const char *mode = ir_attr_string(n, "mode", "constant");
    static const char *const modes[] = {"constant", "reflect", "edge", "wrap"};
    int mi = 0;
    while (mi < 4 && strcmp(mode, modes[mi]) != 0)
        mi++;
    if (mi == 4 || (mi == PAD_WRAP && n->graph->opset < 19)) {
        diag_error(d, n, "mode '%s' is not one of constant, reflect, edge%s", mode,
                   n->graph->opset < 19 ? "" : ", wrap");
        return false;
    }
    p->mode = (PadMode)mi;
    int64_t pads[2 * IR_MAX_RANK], axes[IR_MAX_RANK];
    int np = 0, na = -1;
    const char *attr = n->graph->opset < 2 ? "paddings" : n->graph->opset < 11 ? "pads" : NULL;
    if (!read_ints(n, d, attr, attr ? -1 : 1, "pads", pads, 2 * r, &np))
        return false;
    if (n->nin > 3 && !read_ints(n, d, NULL, 3, "axes", axes, r, &na))
        return false;
    if (na < 0) {
        na = r;
        for (int i = 0; i < r; i++)
            axes[i] = i;
    }
    if (np < 0) {
        diag_error(d, n, "pads are missing");
        return false;
    }
    if (np != 2 * na) {
        diag_error(d, n, "pads has %d entries, expected %d", np, 2 * na);
        return false;
    }
    bool seen[IR_MAX_RANK] = {false};
    for (int i = 0; i < r; i++)
        p->begin[i] = p->end[i] = 0;
    for (int i = 0; i < na; i++) {
        int ax;
        if (!op_axis(d, n, axes[i], r, &ax))
            return false;
        if (seen[ax]) {
            diag_error(d, n, "axis %d is padded twice", ax);
            return false;
        }
        seen[ax] = true;
        p->begin[ax] = pads[i];
        p->end[ax] = pads[na + i];
    }
    for (int i = 0; i < r; i++) {
        int64_t od;
        if (!ir_add_ok(s->dim[i], p->begin[i], &od) || !ir_add_ok(od, p->end[i], &od) ||
            od < 0) {
            diag_error(d, n, "pads %lld, %lld make dimension %d (%lld) negative or too large",
                       (long long)p->begin[i], (long long)p->end[i], i, (long long)s->dim[i]);
            return false;
        }
        int64_t kept = s->dim[i] + (p->begin[i] < 0 ? p->begin[i] : 0) +
                       (p->end[i] < 0 ? p->end[i] : 0);
        if (kept < 0) {
            diag_error(d, n, "pads %lld, %lld crop more than dimension %d (%lld)",
                       (long long)p->begin[i], (long long)p->end[i], i, (long long)s->dim[i]);
            return false;
        }
        if (p->mode != PAD_CONSTANT && kept == 0 && od > 0) {
            diag_error(d, n, "%s padding of the empty dimension %d", modes[mi], i);
            return false;
        }
    }
    return true;
}

static bool infer_pad(Node *n, Diag *d)
{
    if (!op_inputs_known(n, d) || !dtype_ok(n, d, n->in[0]))
        return false;
    if (n->nin > 1 && n->in[1] && !index_dtype_ok(n, d, n->in[1], 1))
        return false;
    if (n->nin > 2 && n->in[2]) {
        if (!same_dtype(n, d, 2, 0))
            return false;
        if (ir_value_numel(n->in[2]) > 1) {
            diag_error(d, n, "constant_value must be a scalar");
            return false;
        }
    }
    PadParams p;
    if (!pad_params(n, d, &p))
        return false;
    Shape s = n->in[0]->shape;
    for (int i = 0; i < s.rank; i++) {
        s.dim[i] += p.begin[i] + p.end[i];
        if (p.begin[i] || p.end[i])
            s.sym[i] = NULL;
    }
    op_set_out(n, 0, n->in[0]->dtype, &s);
    return true;
}

/* The padding value: attribute (opset < 11), constant input 2 (inlined),
 * a run-time input 2 (loaded), or 0. */
static LExpr *pad_value(LKernel *k, Node *n, DType dt)
{
    Value *cv = n->nin > 2 ? n->in[2] : NULL;
    if (cv && ir_value_numel(cv) == 1) {
        if (!cv->data)
            return lx_load(k, cv, lx_idx(k, 0));
        if (ir_dtype_is_float(dt))
            return lx_f(k, dt, ir_const_f(cv, 0));
        return lx_i(k, dt, ir_const_i(cv, 0));
    }
    return lx_num(k, dt, ir_attr_float(n, "value", 0.0f));
}

/* Source coordinate along one dim for output coordinate c. Negative pads
 * crop first; the remaining [lo, lo + len) is then padded by the positive
 * parts, as np.pad would pad the cropped tensor. */
static LExpr *pad_coord(LKernel *k, PadMode mode, LExpr *c, int64_t begin, int64_t end,
                        int64_t dim)
{
    int64_t lo = begin < 0 ? -begin : 0, len = dim - lo - (end < 0 ? -end : 0);
    int64_t pb = begin > 0 ? begin : 0, pe = end > 0 ? end : 0;
    LExpr *s = lx_addi(k, c, -pb);     /* coordinate within the cropped range */
    LExpr *t = s;
    if (!pb && !pe)
        return lx_addi(k, s, lo);
    switch (mode) {
    case PAD_EDGE:
        t = lx_bin(k, LB_MIN, lx_bin(k, LB_MAX, s, lx_idx(k, 0)), lx_idx(k, len - 1));
        break;
    case PAD_WRAP:
        /* lift keeps the dividend non-negative so % is a true modulo */
        t = lx_mod(k, lx_addi(k, s, (pb / len + 1) * len), lx_idx(k, len));
        break;
    case PAD_REFLECT: {
        if (len == 1) {
            t = lx_idx(k, 0);
            break;
        }
        int64_t period = 2 * (len - 1);
        LExpr *m = lx_mod(k, lx_addi(k, s, (pb / period + 1) * period), lx_idx(k, period));
        t = lx_sel(k, lx_bin(k, LB_LT, m, lx_idx(k, len)), m,
                   lx_bin(k, LB_SUB, lx_idx(k, period), m));
        break;
    }
    case PAD_CONSTANT: break;
    }
    return lx_addi(k, t, lo);
}

/* Constant mode: fill the output, then copy the input's surviving part
 * into place. Other modes: every output element reads its mirrored,
 * clamped or wrapped source. */
static bool lower_pad(Node *n, Diag *d)
{
    PadParams p;
    if (!pad_params(n, d, &p))
        return false;
    LKernel *k = lw_kernel(n);
    Value *in = n->in[0], *out = n->out[0];
    int r = in->shape.rank;
    int64_t istr[IR_MAX_RANK], ostr[IR_MAX_RANK];
    ir_strides(&in->shape, istr);
    ir_strides(&out->shape, ostr);
    int64_t total = ir_value_numel(out);
    if (total == 0)
        return true;
    if (p.mode == PAD_CONSTANT) {
        LExpr *i;
        LStmt *fill = loop(k, k->root, total, &i);
        ls_push(k, fill, ls_store(k, out, i, pad_value(k, n, out->dtype)));
        /* Input range [lo, hi) lands at output lo + begin. */
        int64_t dims[IR_MAX_RANK], sbase = 0, dbase = 0;
        for (int a = 0; a < r; a++) {
            int64_t dim = in->shape.dim[a];
            int64_t lo = p.begin[a] < 0 ? -p.begin[a] : 0;
            int64_t hi = dim + (p.end[a] < 0 ? p.end[a] : 0);
            dims[a] = hi > lo ? hi - lo : 0;
            sbase += lo * istr[a];
            dbase += (lo + p.begin[a]) * ostr[a];
        }
        if (r == 0)
            copy_all(k, k->root, out, in);
        else
            copy_strided(k, k->root, out, dbase, in, sbase, r, dims, ostr, istr);
        return true;
    }
    if (r == 0) {
        copy_all(k, k->root, out, in);
        return true;
    }
    /* Outer dims: the source coordinate is computed once per iteration. */
    LStmt *cur = k->root;
    LExpr *src = lx_idx(k, 0), *dst = lx_idx(k, 0);
    for (int a = 0; a < r - 1; a++) {
        LExpr *ix;
        cur = loop(k, cur, out->shape.dim[a], &ix);
        LExpr *c = pad_coord(k, p.mode, ix, p.begin[a], p.end[a], in->shape.dim[a]);
        if (c->kind != LE_VAR && c->kind != LE_CONST) {
            int v = lk_var(k, DT_INT64);
            ls_push(k, cur, ls_assign(k, v, c));
            c = lx_var(k, v);
        }
        src = lx_add(k, src, lx_muli(k, c, istr[a]));
        dst = lx_add(k, dst, lx_muli(k, ix, ostr[a]));
    }
    /* Innermost dim: left border, a contiguous interior, right border. */
    int a = r - 1;
    int64_t b = p.begin[a], e = p.end[a], dim = in->shape.dim[a];
    int64_t lo = b < 0 ? -b : 0, len = dim - lo - (e < 0 ? -e : 0);
    int64_t pb = b > 0 ? b : 0, pe = e > 0 ? e : 0;
    int64_t first[3] = {0, pb, pb + len}, extent[3] = {pb, len, pe};
    for (int part = 0; part < 3; part++) {
        if (extent[part] <= 0)
            continue;
        LExpr *ix;
        LStmt *l = loop(k, cur, extent[part], &ix);
        LExpr *c = lx_addi(k, ix, first[part]);
        LExpr *sc = part == 1 ? lx_addi(k, ix, lo) : pad_coord(k, p.mode, c, b, e, dim);
        ls_push(k, l, ls_store(k, out, lx_add(k, dst, c), lx_load(k, in, lx_add(k, src, sc))));
    }
    return true;
}

/* ---- DepthToSpace, SpaceToDepth ---- */

static bool block_params(Node *n, Diag *d, int64_t *bs, bool *crd)
{
    const Shape *s = &n->in[0]->shape;
    *bs = ir_attr_int(n, "blocksize", 0);
    const char *mode = ir_attr_string(n, "mode", "DCR");
    *crd = strcmp(mode, "CRD") == 0;
    if (!*crd && strcmp(mode, "DCR") != 0) {
        diag_error(d, n, "mode '%s' is not DCR or CRD", mode);
        return false;
    }
    if (s->rank != 4) {
        diag_error(d, n, "input must have rank 4, got %d", s->rank);
        return false;
    }
    if (*bs < 1 || *bs > (1 << 20)) {
        diag_error(d, n, "blocksize %lld must be a positive integer", (long long)*bs);
        return false;
    }
    return true;
}

static bool infer_depth_to_space(Node *n, Diag *d)
{
    int64_t bs;
    bool crd;
    if (!op_inputs_known(n, d) || !dtype_ok(n, d, n->in[0]) || !block_params(n, d, &bs, &crd))
        return false;
    const Shape *s = &n->in[0]->shape;
    if (s->dim[1] % (bs * bs) != 0) {
        diag_error(d, n, "channels (%lld) are not a multiple of blocksize^2 (%lld)",
                   (long long)s->dim[1], (long long)(bs * bs));
        return false;
    }
    Shape o = {4, {s->dim[0], s->dim[1] / (bs * bs), 0, 0}, {s->sym[0], NULL, NULL, NULL}};
    if (!ir_mul_ok(s->dim[2], bs, &o.dim[2]) || !ir_mul_ok(s->dim[3], bs, &o.dim[3])) {
        diag_error(d, n, "output shape overflows");
        return false;
    }
    op_set_out(n, 0, n->in[0]->dtype, &o);
    return true;
}

/* Output viewed as [N, C', H, b1, W, b2]; the input element each reads. */
static bool lower_depth_to_space(Node *n, Diag *d)
{
    int64_t bs;
    bool crd;
    if (!block_params(n, d, &bs, &crd))
        return false;
    LKernel *k = lw_kernel(n);
    Value *in = n->in[0], *out = n->out[0];
    int64_t C = in->shape.dim[1], H = in->shape.dim[2], W = in->shape.dim[3], c = C / (bs * bs);
    int64_t hw = H * W;
    int64_t dims[6] = {in->shape.dim[0], c, H, bs, W, bs};
    int64_t ostr[6] = {C * hw, hw * bs * bs, W * bs * bs, W * bs, bs, 1};
    /* DCR: input [N, b1, b2, C', H, W]; CRD: input [N, C', b1, b2, H, W]. */
    int64_t dcr[6] = {C * hw, hw, W, bs * c * hw, 1, c * hw};
    int64_t crd_s[6] = {C * hw, bs * bs * hw, W, bs * hw, 1, hw};
    copy_strided(k, k->root, out, 0, in, 0, 6, dims, ostr, crd ? crd_s : dcr);
    return true;
}

static bool infer_space_to_depth(Node *n, Diag *d)
{
    int64_t bs;
    bool crd;
    if (!op_inputs_known(n, d) || !dtype_ok(n, d, n->in[0]) || !block_params(n, d, &bs, &crd))
        return false;
    const Shape *s = &n->in[0]->shape;
    if (s->dim[2] % bs != 0 || s->dim[3] % bs != 0) {
        diag_error(d, n, "spatial size %lldx%lld is not a multiple of blocksize %lld",
                   (long long)s->dim[2], (long long)s->dim[3], (long long)bs);
        return false;
    }
    Shape o = {4, {s->dim[0], 0, s->dim[2] / bs, s->dim[3] / bs}, {s->sym[0], NULL, NULL, NULL}};
    if (!ir_mul_ok(s->dim[1], bs * bs, &o.dim[1])) {
        diag_error(d, n, "output shape overflows");
        return false;
    }
    op_set_out(n, 0, n->in[0]->dtype, &o);
    return true;
}

/* Output viewed as [N, b1, b2, C, H', W'] (DCR) or [N, C, b1, b2, H', W']
 * (CRD); input [N, C, H', b1, W', b2]. */
static bool lower_space_to_depth(Node *n, Diag *d)
{
    int64_t bs;
    bool crd;
    if (!block_params(n, d, &bs, &crd))
        return false;
    LKernel *k = lw_kernel(n);
    Value *in = n->in[0], *out = n->out[0];
    int64_t C = in->shape.dim[1], H = in->shape.dim[2], W = in->shape.dim[3];
    int64_t h = H / bs, w = W / bs, chw = C * H * W;
    int64_t ostr[6] = {chw, 0, 0, 0, w, 1};
    if (crd) {
        int64_t dims[6] = {in->shape.dim[0], C, bs, bs, h, w};
        int64_t sstr[6] = {chw, H * W, W, 1, bs * W, bs};
        ostr[1] = bs * bs * h * w, ostr[2] = bs * h * w, ostr[3] = h * w;
        copy_strided(k, k->root, out, 0, in, 0, 6, dims, ostr, sstr);
    } else {
        int64_t dims[6] = {in->shape.dim[0], bs, bs, C, h, w};
        int64_t sstr[6] = {chw, W, 1, H * W, bs * W, bs};
        ostr[1] = bs * C * h * w, ostr[2] = C * h * w, ostr[3] = h * w;
        copy_strided(k, k->root, out, 0, in, 0, 6, dims, ostr, sstr);
    }
    return true;
}

/* ---- Compress ---- */

/* The output shape depends on the condition's values, so only a constant
 * condition has a static shape. Without an axis the input is flattened. */
static bool compress_geometry(Node *n, Diag *d, int *axis, int64_t *outer, int64_t *dim,
                              int64_t *inner)
{
    const Shape *s = &n->in[0]->shape;
    Value *cond = n->in[1];
    if (cond->shape.rank != 1) {
        diag_error(d, n, "condition must have rank 1, got %d", cond->shape.rank);
        return false;
    }
    if (!cond->data)
        return op_unsupported(d, n, "Compress with a run-time condition (its output shape "
                                    "depends on the condition's values)");
    const Attr *a = ir_attr(n, "axis");
    *axis = -1;
    if (a) {
        if (s->rank == 0) {
            diag_error(d, n, "axis given for a scalar input");
            return false;
        }
        if (!op_axis(d, n, a->i, s->rank, axis))
            return false;
        *outer = prod(s->dim, 0, *axis);
        *dim = s->dim[*axis];
        *inner = prod(s->dim, *axis + 1, s->rank);
    } else {
        *outer = *inner = 1;
        *dim = ir_value_numel(n->in[0]);
    }
    int64_t len = ir_value_numel(cond);
    for (int64_t i = *dim; i < len; i++)
        if (ir_const_i(cond, i)) {
            diag_error(d, n, "condition selects element %lld beyond the dimension (%lld)",
                       (long long)i, (long long)*dim);
            return false;
        }
    return true;
}

static bool infer_compress(Node *n, Diag *d)
{
    if (!op_inputs_known(n, d) || !dtype_ok(n, d, n->in[0]))
        return false;
    int ax;
    int64_t outer, dim, inner, kept = 0;
    if (!compress_geometry(n, d, &ax, &outer, &dim, &inner))
        return false;
    int64_t len = ir_value_numel(n->in[1]);
    for (int64_t i = 0; i < len && i < dim; i++)
        kept += ir_const_i(n->in[1], i) != 0;
    Shape s = {0};
    if (ax < 0) {
        s.rank = 1;
        s.dim[0] = kept;
    } else {
        s = n->in[0]->shape;
        s.dim[ax] = kept;
        s.sym[ax] = NULL;
    }
    op_set_out(n, 0, n->in[0]->dtype, &s);
    return true;
}

/* One strided copy per run of consecutive selected positions. */
static bool lower_compress(Node *n, Diag *d)
{
    int ax;
    int64_t outer, dim, inner;
    if (!compress_geometry(n, d, &ax, &outer, &dim, &inner))
        return false;
    LKernel *k = lw_kernel(n);
    Value *in = n->in[0], *cond = n->in[1], *out = n->out[0];
    int64_t len = ir_value_numel(cond), kept = ax >= 0 ? out->shape.dim[ax] : out->shape.dim[0];
    if (len > dim)
        len = dim;
    int64_t pos = 0;
    for (int64_t i = 0; i < len;) {
        if (!ir_const_i(cond, i)) {
            i++;
            continue;
        }
        int64_t j = i;
        while (j < len && ir_const_i(cond, j))
            j++;
        int64_t dims[2] = {outer, (j - i) * inner};
        int64_t dstr[2] = {kept * inner, 1}, sstr[2] = {dim * inner, 1};
        copy_strided(k, k->root, out, pos * inner, in, i * inner, 2, dims, dstr, sstr);
        pos += j - i;
        i = j;
    }
    return true;
}

/* ---- rows ---- */

static const AttrSpec no_attrs[] = {{NULL, 0}};
static const AttrSpec a_axis[] = {{"axis", ATTR_INT}, {NULL, 0}};
static const AttrSpec a_perm[] = {{"perm", ATTR_INTS}, {NULL, 0}};
static const AttrSpec a_scatter[] = {{"axis", ATTR_INT}, {"reduction", ATTR_STRING}, {NULL, 0}};
static const AttrSpec a_reduction[] = {{"reduction", ATTR_STRING}, {NULL, 0}};
static const AttrSpec a_batch_dims[] = {{"batch_dims", ATTR_INT}, {NULL, 0}};
static const AttrSpec a_slice1[] = {
    {"starts", ATTR_INTS}, {"ends", ATTR_INTS}, {"axes", ATTR_INTS}, {NULL, 0}};
static const AttrSpec a_split[] = {
    {"axis", ATTR_INT}, {"split", ATTR_INTS}, {"num_outputs", ATTR_INT}, {NULL, 0}};
static const AttrSpec a_pad[] = {{"mode", ATTR_STRING},   {"pads", ATTR_INTS},
                                 {"paddings", ATTR_INTS}, {"value", ATTR_FLOAT},
                                 {NULL, 0}};
static const AttrSpec a_block[] = {{"blocksize", ATTR_INT}, {"mode", ATTR_STRING}, {NULL, 0}};

#define MANY (1 << 16)

const OpDesc op_rows_data[] = {
    {"Concat", 1, 0, 1, MANY, 1, 1, 0, a_axis, infer_concat, lower_concat, NULL},
    {"Transpose", 1, 0, 1, 1, 1, 1, 0, a_perm, infer_transpose, lower_transpose, NULL},
    {"Gather", 1, 0, 2, 2, 1, 1, 0, a_axis, infer_gather, lower_gather, NULL},
    {"GatherElements", 11, 0, 2, 2, 1, 1, 0, a_axis, infer_gather_elements,
     lower_gather_elements, NULL},
    {"GatherND", 11, 0, 2, 2, 1, 1, 0, a_batch_dims, infer_gather_nd, lower_gather_nd, NULL},
    {"Scatter", 9, 10, 3, 3, 1, 1, 0, a_axis, infer_scatter_elements, lower_scatter_elements,
     NULL},
    {"ScatterElements", 11, 0, 3, 3, 1, 1, 0, a_scatter, infer_scatter_elements,
     lower_scatter_elements, NULL},
    {"ScatterND", 11, 0, 3, 3, 1, 1, 0, a_reduction, infer_scatter_nd, lower_scatter_nd, NULL},
    {"Slice", 1, 9, 1, 1, 1, 1, 0, a_slice1, infer_slice, lower_slice, NULL},
    {"Slice", 10, 0, 3, 5, 1, 1, 0, no_attrs, infer_slice, lower_slice, NULL},
    {"Split", 1, 0, 1, 2, 1, MANY, 0, a_split, infer_split, lower_split, NULL},
    {"Pad", 1, 0, 1, 4, 1, 1, 0, a_pad, infer_pad, lower_pad, NULL},
    {"DepthToSpace", 1, 0, 1, 1, 1, 1, 0, a_block, infer_depth_to_space, lower_depth_to_space,
     NULL},
    {"SpaceToDepth", 1, 0, 1, 1, 1, 1, 0, a_block, infer_space_to_depth, lower_space_to_depth,
     NULL},
    {"Compress", 9, 0, 2, 2, 1, 1, 0, a_axis, infer_compress, lower_compress, NULL},
    {NULL, 0, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL},
};
