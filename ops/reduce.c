/* Reduction operators: Reduce*, ArgMax/ArgMin, TopK, Softmax/LogSoftmax/
 * Hardmax, CumSum and CumProd. Each lowers to loops over the kept elements with the
 * reduction accumulated in kernel variables; float16 accumulates in float.
 *
 * Index spaces are described by "groups": runs of adjacent input dims that
 * are all reduced or all kept, merged into one extent (dims of extent 1 are
 * dropped, they add nothing to an index). A reduction over the innermost
 * dims therefore becomes one contiguous inner loop.
 *
 * Softmax and LogSoftmax of float32 (along any axis) lower to a
 * KC_SOFTMAX kernel call instead. */
#include "ops.h"

#include <math.h>
#include <string.h>

/* ---- small helpers ---- */

/* A loop over [0, extent) pushed into parent, or no loop when extent is 1;
 * *var is the loop variable, or -1 when there is none (index 0). */
static LStmt *loop(LKernel *k, LStmt *parent, int64_t extent, int *var)
{
    if (extent == 1) {
        *var = -1;
        return parent;
    }
    *var = lk_var(k, DT_INT64);
    LStmt *f = ls_for(k, *var, extent);
    ls_push(k, parent, f);
    return f;
}

/* The index expression of a loop variable from loop(). */
static LExpr *iv(LKernel *k, int var)
{
    return var < 0 ? lx_idx(k, 0) : lx_var(k, var);
}

/* (o * n + j) * inner + i: element j along the axis of row (o, i). */
static LExpr *row_index(LKernel *k, int o, int64_t n, int j, int64_t inner, int i)
{
    LExpr *e = lx_add(k, lx_muli(k, iv(k, o), n), iv(k, j));
    return lx_add(k, lx_muli(k, e, inner), iv(k, i));
}

/* Product of dims [from, to) of s; false on overflow. */
static bool dims_product(const Shape *s, int from, int to, int64_t *out)
{
    int64_t p = 1;
    for (int d = from; d < to; d++)
        if (!ir_mul_ok(p, s->dim[d], &p))
            return false;
    *out = p;
    return true;
}

/* The [outer, n, inner] view of input 0 around `axis`. */
static bool axis_view(Node *n, Diag *d, int axis, int64_t *outer, int64_t *inner)
{
    const Shape *s = &n->in[0]->shape;
    if (dims_product(s, 0, axis, outer) && dims_product(s, axis + 1, s->rank, inner))
        return true;
    diag_error(d, n, "input 0 '%s' %s is too large", n->in[0]->name,
               ir_shape_str(n->graph->arena, s));
    return false;
}

/* The most negative / most positive value of dt (infinities for floats). */
static LExpr *lowest(LKernel *k, DType dt)
{
    switch (dt) {
    case DT_FLOAT: case DT_DOUBLE: case DT_FLOAT16: case DT_BFLOAT16: return lx_f(k, dt, -HUGE_VAL);
    case DT_INT8: return lx_i(k, dt, INT8_MIN);
    case DT_INT16: return lx_i(k, dt, INT16_MIN);
    case DT_INT32: return lx_i(k, dt, INT32_MIN);
    case DT_INT64: return lx_i(k, dt, INT64_MIN);
    default: return lx_i(k, dt, 0);    /* unsigned and bool */
    }
}

static LExpr *highest(LKernel *k, DType dt)
{
    switch (dt) {
    case DT_FLOAT: case DT_DOUBLE: case DT_FLOAT16: case DT_BFLOAT16: return lx_f(k, dt, HUGE_VAL);
    case DT_INT8: return lx_i(k, dt, INT8_MAX);
    case DT_INT16: return lx_i(k, dt, INT16_MAX);
    case DT_INT32: return lx_i(k, dt, INT32_MAX);
    case DT_INT64: return lx_i(k, dt, INT64_MAX);
    case DT_UINT8: return lx_i(k, dt, UINT8_MAX);
    case DT_UINT16: return lx_i(k, dt, UINT16_MAX);
    case DT_UINT32: return lx_i(k, dt, UINT32_MAX);
    case DT_UINT64: return lx_i(k, dt, -1);   /* all ones */
    case DT_BOOL: return lx_i(k, dt, 1);
    default: return lx_i(k, dt, 0);
    }
}

/* A store that converts the computed value to the buffer's dtype (float16
 * stores round by themselves). */
static LStmt *store(LKernel *k, Value *buf, LExpr *idx, LExpr *val)
{
    if (val->dt != buf->dtype && !(lw_compute_type(buf->dtype) == val->dt && val->dt == DT_FLOAT))
        val = lx_cast(k, buf->dtype, val);
    return ls_store(k, buf, idx, val);
}

static bool is_float_dtype(DType t)
{
    return ir_dtype_is_float(t);
}

/* ---- Reduce* ---- */

typedef enum {
    RK_SUM, RK_MEAN, RK_MAX, RK_MIN, RK_PROD,
    RK_L1, RK_L2, RK_LOGSUM, RK_LOGSUMEXP, RK_SUMSQUARE,
} ReduceKind;

static ReduceKind reduce_kind(const char *op)
{
    static const struct { const char *name; ReduceKind kind; } names[] = {
        {"ReduceSum", RK_SUM},       {"ReduceMean", RK_MEAN},
        {"ReduceMax", RK_MAX},       {"ReduceMin", RK_MIN},
        {"ReduceProd", RK_PROD},     {"ReduceL1", RK_L1},
        {"ReduceL2", RK_L2},         {"ReduceLogSum", RK_LOGSUM},
        {"ReduceLogSumExp", RK_LOGSUMEXP}, {"ReduceSumSquare", RK_SUMSQUARE},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(names[i].name, op) == 0)
            return names[i].kind;
    DLC_BUG("no reduction kind for %s", op);
}

/* The reduced axes of input 0 (red[d]). Empty axes with noop_with_empty_axes
 * reduce nothing: the composite reductions still apply their elementwise
 * steps (ReduceL1 gives |x|, ReduceLogSum log x), as the spec says.
 * False after a diagnostic. */
static bool reduce_axes(Node *n, Diag *d, bool *red)
{
    int rank = n->in[0]->shape.rank;
    int64_t axes[IR_MAX_RANK];
    int cnt = 0;
    bool all = false;
    for (int i = 0; i < rank; i++)
        red[i] = false;
    if (ir_attr(n, "axes")) {
        cnt = op_ints(n, "axes", -1, axes, IR_MAX_RANK);
    } else if (n->nin > 1 && n->in[1]) {
        Value *v = n->in[1];
        if (v->dtype != DT_INT64 && v->dtype != DT_INT32) {
            diag_error(d, n, "axes input '%s' must be int64, got %s", v->name,
                       ir_dtype_name(v->dtype));
            return false;
        }
        int64_t len = ir_value_numel(v);
        if (v->shape.rank > 1) {
            diag_error(d, n, "axes input '%s' must be 1-D, got rank %d", v->name, v->shape.rank);
            return false;
        }
        if (v->data) {
            cnt = op_ints(n, NULL, 1, axes, IR_MAX_RANK);
        } else if (len == 0) {
            cnt = 0;
        } else if (len == rank) {
            /* Run-time axes naming every dim: valid axes are distinct, so
             * the shape is known whatever their order. */
            all = true;
        } else {
            return op_dynamic_input(d, n, 1, "axes");   /* the output shape depends on it */
        }
    }
    if (cnt < 0 || cnt > rank) {
        diag_error(d, n, "%d axes for an input of rank %d", cnt, rank);
        return false;
    }
    for (int i = 0; i < cnt; i++) {
        int a;
        if (!op_axis(d, n, axes[i], rank, &a))
            return false;
        if (red[a]) {
            diag_error(d, n, "axis %lld is repeated in axes", (long long)axes[i]);
            return false;
        }
        red[a] = true;
    }
    if (cnt == 0 && !all) {
        if (ir_attr_int(n, "noop_with_empty_axes", 0))
            return true;    /* red[] stays all false */
        all = true;
    }
    if (all)
        for (int i = 0; i < rank; i++)
            red[i] = true;
    return true;
}

static bool infer_reduce(Node *n, Diag *d)
{
    if (!op_inputs_known(n, d))
        return false;
    const Value *x = n->in[0];
    ReduceKind kind = reduce_kind(n->op_type);
    DType dt = x->dtype;
    bool ok_dt = ir_dtype_size(dt) > 0 && dt != DT_STRING && dt != DT_BFLOAT16 &&
                 (dt != DT_BOOL || kind == RK_MAX || kind == RK_MIN);
    if (!ok_dt)
        return op_unsupported(d, n, "%s on %s", n->op_type, ir_dtype_name(dt));
    bool red[IR_MAX_RANK];
    if (!reduce_axes(n, d, red))
        return false;
    bool keep = ir_attr_int(n, "keepdims", 1) != 0;
    Shape s = {0};
    for (int i = 0; i < x->shape.rank; i++) {
        if (!red[i])
            s.dim[s.rank++] = x->shape.dim[i];
        else if (keep)
            s.dim[s.rank++] = 1;
    }
    op_set_out(n, 0, dt, &s);
    return true;
}

/* Input dims merged into alternating kept/reduced groups. */
typedef struct {
    int n;
    int64_t ext[IR_MAX_RANK];
    bool red[IR_MAX_RANK];
    int64_t istride[IR_MAX_RANK];   /* stride in the input, in elements */
    int64_t ostride[IR_MAX_RANK];   /* stride in the output (kept groups) */
    int var[IR_MAX_RANK];           /* loop variable, -1 when none */
} Groups;

static void make_groups(const Shape *s, const bool *red, Groups *g)
{
    g->n = 0;
    for (int d = 0; d < s->rank; d++) {
        if (s->dim[d] == 1)
            continue;
        if (g->n > 0 && g->red[g->n - 1] == red[d]) {
            g->ext[g->n - 1] *= s->dim[d];   /* <= numel, which is checked */
        } else {
            g->ext[g->n] = s->dim[d];
            g->red[g->n] = red[d];
            g->n++;
        }
    }
    int64_t is = 1, os = 1;
    for (int i = g->n - 1; i >= 0; i--) {
        g->istride[i] = is;
        is *= g->ext[i];
        g->ostride[i] = g->red[i] ? 0 : os;
        if (!g->red[i])
            os *= g->ext[i];
        g->var[i] = -1;
    }
}

/* Nested loops over the groups with red[] == reduced, in order. */
static LStmt *group_loops(LKernel *k, LStmt *parent, Groups *g, bool reduced)
{
    for (int i = 0; i < g->n; i++)
        if (g->red[i] == reduced)
            parent = loop(k, parent, g->ext[i], &g->var[i]);
    return parent;
}

static LExpr *group_index(LKernel *k, const Groups *g, bool output)
{
    LExpr *e = lx_idx(k, 0);
    for (int i = 0; i < g->n; i++) {
        int64_t st = output ? g->ostride[i] : g->istride[i];
        if (st && g->var[i] >= 0)
            e = lx_add(k, e, lx_muli(k, lx_var(k, g->var[i]), st));
    }
    return e;
}

/* The value the accumulator starts from (the reduction of no elements). */
static LExpr *reduce_init(LKernel *k, ReduceKind kind, DType ct)
{
    switch (kind) {
    case RK_MAX: return lowest(k, ct);
    case RK_MIN: return highest(k, ct);
    case RK_PROD: return lx_num(k, ct, 1);
    default: return lx_num(k, ct, 0);
    }
}

/* The accumulator after one more element xv. */
static LExpr *reduce_step(LKernel *k, ReduceKind kind, LExpr *a, LExpr *xv, LExpr *shift)
{
    DType ct = a->dt;
    switch (kind) {
    case RK_MAX: return ct == DT_BOOL ? lx_bin(k, LB_OR, a, xv) : lx_bin(k, LB_MAX, a, xv);
    case RK_MIN: return ct == DT_BOOL ? lx_bin(k, LB_AND, a, xv) : lx_bin(k, LB_MIN, a, xv);
    case RK_PROD: return lx_bin(k, LB_MUL, a, xv);
    case RK_L1: return lx_bin(k, LB_ADD, a, ir_dtype_is_unsigned(ct) ? xv : lx_un(k, LU_ABS, xv));
    case RK_L2:
    case RK_SUMSQUARE: return lx_bin(k, LB_ADD, a, lx_bin(k, LB_MUL, xv, xv));
    case RK_LOGSUMEXP: return lx_bin(k, LB_ADD, a, lx_un(k, LU_EXP, lx_bin(k, LB_SUB, xv, shift)));
    default: return lx_bin(k, LB_ADD, a, xv);
    }
}

/* The result from the final accumulator r; NULL when it is r itself. */
static LExpr *reduce_finish(LKernel *k, ReduceKind kind, LExpr *r, int64_t count, LExpr *shift)
{
    DType ct = r->dt;
    switch (kind) {
    case RK_MEAN:
        if (ir_dtype_is_float(ct))
            return lx_bin(k, LB_DIV, r, lx_f(k, ct, (double)count));
        return count > 0 ? lx_bin(k, LB_DIV, r, lx_i(k, ct, count)) : NULL;
    case RK_L2: return lx_un(k, LU_SQRT, r);
    case RK_LOGSUM: return lx_un(k, LU_LOG, r);
    case RK_LOGSUMEXP: return lx_bin(k, LB_ADD, shift, lx_un(k, LU_LOG, r));
    default: return NULL;
    }
}

/* Reductions whose innermost input dims are kept (a column sum, a mean over
 * channels): walk the input in memory order and accumulate in y itself, so
 * the inner loop is contiguous in both. Needs y to hold the accumulator's
 * type exactly, and one pass (not LogSumExp). */
static void reduce_columns(LKernel *k, ReduceKind kind, Value *x, Value *y, Groups *g,
                           int64_t count)
{
    DType ct = y->dtype;
    int i;
    LStmt *f = loop(k, k->root, ir_value_numel(y), &i);
    ls_push(k, f, ls_store(k, y, iv(k, i), reduce_init(k, kind, ct)));
    LStmt *body = k->root;
    for (int j = 0; j < g->n; j++)
        body = loop(k, body, g->ext[j], &g->var[j]);
    LExpr *xv = lx_cast(k, ct, lx_load(k, x, group_index(k, g, false)));
    LExpr *a = lx_load(k, y, group_index(k, g, true));
    ls_push(k, body, ls_store(k, y, group_index(k, g, true), reduce_step(k, kind, a, xv, NULL)));
    /* Mean, L2, LogSum: a last pass over y. */
    if (!reduce_finish(k, kind, lx_num(k, ct, 0), count, NULL))
        return;
    f = loop(k, k->root, ir_value_numel(y), &i);
    LExpr *r = reduce_finish(k, kind, lx_load(k, y, iv(k, i)), count, NULL);
    ls_push(k, f, ls_store(k, y, iv(k, i), r));
}

static bool lower_reduce(Node *n, Diag *d)
{
    Value *x = n->in[0], *y = n->out[0];
    ReduceKind kind = reduce_kind(n->op_type);
    bool red[IR_MAX_RANK];
    if (!reduce_axes(n, d, red))
        return false;
    LKernel *k = lw_kernel(n);
    /* Compute type: float16 accumulates in float; integer inputs of the
     * reductions that need sqrt/log/exp compute in double. */
    DType ct = lw_compute_type(x->dtype);
    if (!ir_dtype_is_float(ct) && (kind == RK_L2 || kind == RK_LOGSUM || kind == RK_LOGSUMEXP))
        ct = DT_DOUBLE;
    Groups g;
    make_groups(&x->shape, red, &g);
    int64_t count = 1;
    bool any_red = false;
    for (int i = 0; i < g.n; i++)
        if (g.red[i]) {
            count *= g.ext[i];
            any_red = true;
        }
    if (ir_value_numel(x) == 0)
        count = 0;
    if (any_red && !g.red[g.n - 1] && ct == y->dtype && kind != RK_LOGSUMEXP) {
        reduce_columns(k, kind, x, y, &g, count);
        return true;
    }

    /* Rows: loops over the kept groups, the reduction in a variable. */
    LStmt *outer = group_loops(k, k->root, &g, false);
    int acc = lk_var(k, ct);
    LExpr *shift = NULL;    /* LogSumExp: the row's max, made finite */
    if (kind == RK_LOGSUMEXP) {
        int m = lk_var(k, ct);
        ls_push(k, outer, ls_assign(k, m, lowest(k, ct)));
        LStmt *in = group_loops(k, outer, &g, true);
        LExpr *xv = lx_cast(k, ct, lx_load(k, x, group_index(k, &g, false)));
        ls_push(k, in, ls_assign(k, m, lx_bin(k, LB_MAX, lx_var(k, m), xv)));
        /* An infinite (or empty) row keeps its plain sum: exp(x - inf) is NaN. */
        int ms = lk_var(k, ct);
        LExpr *finite = lx_bin(k, LB_LT, lx_un(k, LU_ABS, lx_var(k, m)), lx_f(k, ct, HUGE_VAL));
        ls_push(k, outer, ls_assign(k, ms, lx_sel(k, finite, lx_var(k, m), lx_f(k, ct, 0))));
        shift = lx_var(k, ms);
    }
    ls_push(k, outer, ls_assign(k, acc, reduce_init(k, kind, ct)));
    LStmt *inner = group_loops(k, outer, &g, true);
    LExpr *xv = lx_cast(k, ct, lx_load(k, x, group_index(k, &g, false)));
    ls_push(k, inner, ls_assign(k, acc, reduce_step(k, kind, lx_var(k, acc), xv, shift)));
    LExpr *r = reduce_finish(k, kind, lx_var(k, acc), count, shift);
    ls_push(k, outer, store(k, y, group_index(k, &g, true), r ? r : lx_var(k, acc)));
    return true;
}

/* ---- ArgMax / ArgMin ---- */

static bool arg_axis(Node *n, Diag *d, int *axis)
{
    const Value *x = n->in[0];
    if (!op_axis(d, n, ir_attr_int(n, "axis", 0), x->shape.rank, axis))
        return false;
    if (x->shape.rank == 0) {
        diag_error(d, n, "input 0 '%s' is a scalar; %s needs rank >= 1", x->name, n->op_type);
        return false;
    }
    if (x->shape.dim[*axis] == 0) {
        diag_error(d, n, "%s over axis %d of extent 0 has no answer", n->op_type, *axis);
        return false;
    }
    int64_t outer, inner;
    return axis_view(n, d, *axis, &outer, &inner);
}

static bool infer_arg(Node *n, Diag *d)
{
    if (!op_inputs_known(n, d))
        return false;
    const Value *x = n->in[0];
    if (ir_dtype_size(x->dtype) == 0 || x->dtype == DT_STRING || x->dtype == DT_BOOL)
        return op_unsupported(d, n, "%s on %s", n->op_type, ir_dtype_name(x->dtype));
    int axis;
    if (!arg_axis(n, d, &axis))
        return false;
    bool keep = ir_attr_int(n, "keepdims", 1) != 0;
    Shape s = {0};
    for (int i = 0; i < x->shape.rank; i++) {
        if (i != axis)
            s.dim[s.rank++] = x->shape.dim[i];
        else if (keep)
            s.dim[s.rank++] = 1;
    }
    op_set_out(n, 0, DT_INT64, &s);
    return true;
}

/* Rows (o, i) of an [outer, n, inner] view; o and i are loop variables. */
typedef struct {
    int o, i;
    int64_t n, inner;
} RowCtx;

/* Element j (a loop variable, -1 for 0) of row r. */
static LExpr *row_at(LKernel *k, const RowCtx *r, int j)
{
    return row_index(k, r->o, r->n, j, r->inner, r->i);
}

/* Pushes into parent a walk along row r leaving in the returned int64
 * variable the first (or, with `last`, the last) index of its max (or min). */
static int argext_row(LKernel *k, LStmt *parent, Value *x, const RowCtx *r, bool is_max,
                      bool last)
{
    DType ct = lw_compute_type(x->dtype);
    int best = lk_var(k, ct), idx = lk_var(k, DT_INT64), j;
    ls_push(k, parent, ls_assign(k, best, lx_cast(k, ct, lx_load(k, x, row_at(k, r, -1)))));
    ls_push(k, parent, ls_assign(k, idx, lx_idx(k, 0)));
    LStmt *body = loop(k, parent, r->n, &j);
    LExpr *xv = lx_cast(k, ct, lx_load(k, x, row_at(k, r, j)));
    LBinaryOp op = is_max ? (last ? LB_GE : LB_GT) : (last ? LB_LE : LB_LT);
    LExpr *better = lx_bin(k, op, xv, lx_var(k, best));
    ls_push(k, body, ls_assign(k, idx, lx_sel(k, better, iv(k, j), lx_var(k, idx))));
    ls_push(k, body, ls_assign(k, best, lx_sel(k, better, xv, lx_var(k, best))));
    return idx;
}

static bool lower_arg(Node *n, Diag *d)
{
    Value *x = n->in[0], *y = n->out[0];
    int axis;
    if (!arg_axis(n, d, &axis))
        return false;
    RowCtx r;
    int64_t outer;
    r.n = x->shape.dim[axis];
    if (!axis_view(n, d, axis, &outer, &r.inner))
        return false;
    LKernel *k = lw_kernel(n);
    LStmt *body = loop(k, k->root, outer, &r.o);
    body = loop(k, body, r.inner, &r.i);
    int idx = argext_row(k, body, x, &r, strcmp(n->op_type, "ArgMax") == 0,
                         ir_attr_int(n, "select_last_index", 0) != 0);
    LExpr *oi = lx_add(k, lx_muli(k, iv(k, r.o), r.inner), iv(k, r.i));
    ls_push(k, body, ls_store(k, y, oi, lx_var(k, idx)));
    return true;
}

/* ---- TopK ---- */

/* The axis and k (attribute before opset 10, then a constant input). */
static bool topk_args(Node *n, Diag *d, int *axis, int64_t *kk)
{
    const Value *x = n->in[0];
    if (x->shape.rank == 0) {
        diag_error(d, n, "input 0 '%s' is a scalar; TopK needs rank >= 1", x->name);
        return false;
    }
    if (!op_axis(d, n, ir_attr_int(n, "axis", -1), x->shape.rank, axis))
        return false;
    if (n->nin < 2) {
        const Attr *a = ir_attr(n, "k");
        if (!a) {
            diag_error(d, n, "attribute 'k' is required");
            return false;
        }
        *kk = a->i;
    } else {
        const Value *kv = n->in[1];
        if (kv->dtype != DT_INT64 || ir_value_numel(kv) != 1 || kv->shape.rank > 1) {
            diag_error(d, n, "input 1 '%s' must be a 1-element int64 tensor, got %s %s",
                       kv->name, ir_dtype_name(kv->dtype), ir_shape_str(n->graph->arena, &kv->shape));
            return false;
        }
        if (!kv->data)
            return op_dynamic_input(d, n, 1, "k");
        *kk = ir_const_i(kv, 0);
    }
    if (*kk < 0 || *kk > x->shape.dim[*axis]) {
        diag_error(d, n, "k = %lld is out of range for axis %d of extent %lld", (long long)*kk,
                   *axis, (long long)x->shape.dim[*axis]);
        return false;
    }
    int64_t outer, inner;
    return axis_view(n, d, *axis, &outer, &inner);
}

static bool infer_topk(Node *n, Diag *d)
{
    if (!op_inputs_known(n, d))
        return false;
    const Value *x = n->in[0];
    if (ir_dtype_size(x->dtype) == 0 || x->dtype == DT_STRING || x->dtype == DT_BOOL)
        return op_unsupported(d, n, "TopK on %s", ir_dtype_name(x->dtype));
    int axis;
    int64_t kk;
    if (!topk_args(n, d, &axis, &kk))
        return false;
    Shape s = x->shape;
    s.dim[axis] = kk;
    s.sym[axis] = NULL;
    op_set_out(n, 0, x->dtype, &s);
    op_set_out(n, 1, DT_INT64, &s);
    return true;
}

/* Each element's place in the answer is the number of elements of its row
 * that come before it: greater (smaller with largest=0), or equal at a
 * lower index, the ONNX tie rule. Places below k are stored, so the output
 * is sorted, which also serves sorted=0 (any order is allowed there).
 * O(n^2) per row and no scratch: meant for the short rows TopK sees in
 * detection heads and samplers. */
static bool lower_topk(Node *n, Diag *d)
{
    Value *x = n->in[0], *vals = n->out[0], *idxs = n->out[1];
    int axis;
    int64_t kk, outer;
    if (!topk_args(n, d, &axis, &kk))
        return false;
    RowCtx r;
    r.n = x->shape.dim[axis];
    if (!axis_view(n, d, axis, &outer, &r.inner))
        return false;
    LKernel *k = lw_kernel(n);
    if (kk == 0)
        return true;    /* empty outputs */
    bool largest = ir_attr_int(n, "largest", 1) != 0;
    DType ct = lw_compute_type(x->dtype);
    LStmt *row = loop(k, k->root, outer, &r.o);
    row = loop(k, row, r.inner, &r.i);
    int a, b;
    LStmt *each = loop(k, row, r.n, &a);
    int xa = lk_var(k, ct), place = lk_var(k, DT_INT64);
    ls_push(k, each, ls_assign(k, xa, lx_cast(k, ct, lx_load(k, x, row_at(k, &r, a)))));
    ls_push(k, each, ls_assign(k, place, lx_idx(k, 0)));
    LStmt *other = loop(k, each, r.n, &b);
    LExpr *xb = lx_cast(k, ct, lx_load(k, x, row_at(k, &r, b)));
    LExpr *ahead = lx_bin(k, largest ? LB_GT : LB_LT, xb, lx_var(k, xa));
    LExpr *tie = lx_bin(k, LB_AND, lx_bin(k, LB_EQ, xb, lx_var(k, xa)),
                        lx_bin(k, LB_LT, iv(k, b), iv(k, a)));
    LExpr *before = lx_bin(k, LB_OR, ahead, tie);
    ls_push(k, other, ls_assign(k, place, lx_add(k, lx_var(k, place),
                                                 lx_sel(k, before, lx_idx(k, 1), lx_idx(k, 0)))));
    LStmt *kept = ls_if(k, lx_bin(k, LB_LT, lx_var(k, place), lx_idx(k, kk)));
    ls_push(k, each, kept);
    LExpr *at = lx_add(k, lx_muli(k, lx_add(k, lx_muli(k, iv(k, r.o), kk), lx_var(k, place)),
                                  r.inner),
                       iv(k, r.i));
    ls_push(k, kept, store(k, vals, at, lx_var(k, xa)));
    ls_push(k, kept, ls_store(k, idxs, at, iv(k, a)));
    return true;
}

/* ---- Softmax, LogSoftmax, Hardmax ---- */

/* The [outer, n, inner] view: opset >= 13 normalises along one axis
 * (default -1); earlier opsets flatten to 2-D at `axis` (default 1) and
 * normalise over the whole tail. */
static bool softmax_view(Node *n, Diag *d, int64_t *outer, int64_t *len, int64_t *inner)
{
    const Value *x = n->in[0];
    int rank = x->shape.rank;
    bool coerce = n->op->until != 0 && n->op->until < 13;
    int axis;
    if (coerce) {
        int64_t a = ir_attr_int(n, "axis", 1);
        if (a < 0)
            a += rank;
        if (a < 0 || a > rank) {
            diag_error(d, n, "axis %lld is out of range for rank %d",
                       (long long)ir_attr_int(n, "axis", 1), rank);
            return false;
        }
        axis = (int)a;
        *inner = 1;
        if (dims_product(&x->shape, 0, axis, outer) && dims_product(&x->shape, axis, rank, len))
            return true;
        diag_error(d, n, "input 0 '%s' is too large", x->name);
        return false;
    }
    if (rank == 0) {
        diag_error(d, n, "input 0 '%s' is a scalar; %s needs rank >= 1", x->name, n->op_type);
        return false;
    }
    if (!op_axis(d, n, ir_attr_int(n, "axis", -1), rank, &axis))
        return false;
    *len = x->shape.dim[axis];
    if (dims_product(&x->shape, 0, axis, outer) && dims_product(&x->shape, axis + 1, rank, inner))
        return true;
    diag_error(d, n, "input 0 '%s' is too large", x->name);
    return false;
}

static bool infer_softmax(Node *n, Diag *d)
{
    if (!op_inputs_known(n, d))
        return false;
    const Value *x = n->in[0];
    if (!is_float_dtype(x->dtype))
        return op_unsupported(d, n, "%s on %s", n->op_type, ir_dtype_name(x->dtype));
    int64_t outer, len, inner;
    if (!softmax_view(n, d, &outer, &len, &inner))
        return false;
    op_set_out(n, 0, x->dtype, &x->shape);
    return true;
}

static bool lower_softmax(Node *n, Diag *d)
{
    Value *x = n->in[0], *y = n->out[0];
    RowCtx r;
    int64_t outer;
    if (!softmax_view(n, d, &outer, &r.n, &r.inner))
        return false;
    DType ct = lw_compute_type(x->dtype);
    LKernel *k = lw_kernel(n);

    /* float32: a softmax kernel call, along contiguous rows or a strided
     * axis (constant inputs stay in loops, which folding interprets). */
    if (strcmp(n->op_type, "Hardmax") != 0 && x->dtype == DT_FLOAT && !x->data) {
        if (outer == 0 || r.n == 0 || r.inner == 0)
            return true;
        LStmt *c = ls_kernel(k, KC_SOFTMAX);
        c->kc->u.softmax = (KSoftmax){.rows = outer, .len = r.n, .inner = r.inner,
                                      .log = strcmp(n->op_type, "LogSoftmax") == 0};
        c->kc->in[0].buf = x;
        c->kc->out.buf = y;
        ls_push(k, k->root, c);
        return true;
    }

    LStmt *row = loop(k, k->root, outer, &r.o);
    row = loop(k, row, r.inner, &r.i);
    int j;

    if (strcmp(n->op_type, "Hardmax") == 0) {
        if (r.n == 0)
            return true;
        int idx = argext_row(k, row, x, &r, true, false);
        LStmt *body = loop(k, row, r.n, &j);
        LExpr *hit = lx_bin(k, LB_EQ, iv(k, j), lx_var(k, idx));
        ls_push(k, body, store(k, y, row_at(k, &r, j),
                               lx_sel(k, hit, lx_f(k, ct, 1), lx_f(k, ct, 0))));
        return true;
    }

    /* Pass 1: the row's max, subtracted for stability. */
    int m = lk_var(k, ct);
    ls_push(k, row, ls_assign(k, m, lowest(k, ct)));
    LStmt *body = loop(k, row, r.n, &j);
    LExpr *xv = lx_cast(k, ct, lx_load(k, x, row_at(k, &r, j)));
    ls_push(k, body, ls_assign(k, m, lx_bin(k, LB_MAX, lx_var(k, m), xv)));

    /* Pass 2: the sum of exp(x - max). Softmax keeps each exp in y, except
     * for float16 and bfloat16, where it recomputes rather than round twice. */
    bool soft = strcmp(n->op_type, "Softmax") == 0;
    bool keep_exp = soft && lw_compute_type(x->dtype) == x->dtype;
    int s = lk_var(k, ct);
    ls_push(k, row, ls_assign(k, s, lx_f(k, ct, 0)));
    body = loop(k, row, r.n, &j);
    xv = lx_cast(k, ct, lx_load(k, x, row_at(k, &r, j)));
    LExpr *e = lx_un(k, LU_EXP, lx_bin(k, LB_SUB, xv, lx_var(k, m)));
    if (keep_exp) {
        int t = lk_var(k, ct);
        ls_push(k, body, ls_assign(k, t, e));
        ls_push(k, body, store(k, y, row_at(k, &r, j), lx_var(k, t)));
        e = lx_var(k, t);
    }
    ls_push(k, body, ls_assign(k, s, lx_bin(k, LB_ADD, lx_var(k, s), e)));

    /* Pass 3: normalise. */
    int ls = -1;
    if (!soft) {
        ls = lk_var(k, ct);
        ls_push(k, row, ls_assign(k, ls, lx_un(k, LU_LOG, lx_var(k, s))));
    }
    body = loop(k, row, r.n, &j);
    LExpr *out;
    if (keep_exp) {
        out = lx_bin(k, LB_DIV, lx_load(k, y, row_at(k, &r, j)), lx_var(k, s));
    } else {
        xv = lx_cast(k, ct, lx_load(k, x, row_at(k, &r, j)));
        if (soft)
            out = lx_bin(k, LB_DIV, lx_un(k, LU_EXP, lx_bin(k, LB_SUB, xv, lx_var(k, m))),
                         lx_var(k, s));
        else
            out = lx_bin(k, LB_SUB, lx_bin(k, LB_SUB, xv, lx_var(k, m)), lx_var(k, ls));
    }
    ls_push(k, body, store(k, y, row_at(k, &r, j), out));
    return true;
}

/* ---- CumSum ---- */

static bool infer_cumsum(Node *n, Diag *d)
{
    if (!op_inputs_known(n, d))
        return false;
    const Value *x = n->in[0], *ax = n->in[1];
    DType dt = x->dtype;
    if (ir_dtype_size(dt) == 0 || dt == DT_STRING || dt == DT_BOOL)
        return op_unsupported(d, n, "%s on %s", n->op_type, ir_dtype_name(dt));
    if (x->shape.rank == 0) {
        diag_error(d, n, "input 0 '%s' is a scalar; %s needs rank >= 1", x->name, n->op_type);
        return false;
    }
    if ((ax->dtype != DT_INT32 && ax->dtype != DT_INT64) || ir_value_numel(ax) != 1 ||
        ax->shape.rank > 1) {
        diag_error(d, n, "axis input '%s' must be an int32 or int64 scalar, got %s %s", ax->name,
                   ir_dtype_name(ax->dtype), ir_shape_str(n->graph->arena, &ax->shape));
        return false;
    }
    int64_t outer, inner;
    if (ax->data) {
        int a;
        if (!op_axis(d, n, ir_const_i(ax, 0), x->shape.rank, &a) ||
            !axis_view(n, d, a, &outer, &inner))
            return false;
    } else {
        for (int a = 0; a < x->shape.rank; a++)
            if (!axis_view(n, d, a, &outer, &inner))
                return false;
    }
    op_set_out(n, 0, dt, &x->shape);
    return true;
}

/* The running sum (or product) along `axis`, pushed into parent. */
static void cumsum_axis(LKernel *k, LStmt *parent, Value *x, Value *y, int axis, bool exclusive,
                        bool reverse, bool prod)
{
    RowCtx r;
    int64_t outer = 0;
    r.n = x->shape.dim[axis];
    r.inner = 0;
    if (!dims_product(&x->shape, 0, axis, &outer) ||
        !dims_product(&x->shape, axis + 1, x->shape.rank, &r.inner))
        DLC_BUG("shape product overflow after inference");   /* infer_cumsum checked */
    DType ct = lw_compute_type(x->dtype);
    LStmt *row = loop(k, parent, outer, &r.o);
    row = loop(k, row, r.inner, &r.i);
    int acc = lk_var(k, ct), j;
    ls_push(k, row, ls_assign(k, acc, lx_num(k, ct, prod ? 1 : 0)));
    LStmt *body = loop(k, row, r.n, &j);
    int jj = j;
    if (reverse && j >= 0) {    /* walk n-1 .. 0 */
        jj = lk_var(k, DT_INT64);
        ls_push(k, body, ls_assign(k, jj, lx_bin(k, LB_SUB, lx_idx(k, r.n - 1), lx_var(k, j))));
    }
    LExpr *at = row_at(k, &r, jj);
    LExpr *sum = lx_bin(k, prod ? LB_MUL : LB_ADD, lx_var(k, acc),
                        lx_cast(k, ct, lx_load(k, x, at)));
    if (exclusive) {
        ls_push(k, body, store(k, y, at, lx_var(k, acc)));
        ls_push(k, body, ls_assign(k, acc, sum));
    } else {
        ls_push(k, body, ls_assign(k, acc, sum));
        ls_push(k, body, store(k, y, at, lx_var(k, acc)));
    }
}

static bool lower_cumsum(Node *n, Diag *d)
{
    Value *x = n->in[0], *y = n->out[0], *ax = n->in[1];
    bool exclusive = ir_attr_int(n, "exclusive", 0) != 0;
    bool reverse = ir_attr_int(n, "reverse", 0) != 0;
    bool prod = strcmp(n->op_type, "CumProd") == 0;
    int rank = x->shape.rank;
    LKernel *k = lw_kernel(n);
    if (ax->data) {
        int a;
        if (!op_axis(d, n, ir_const_i(ax, 0), rank, &a))
            return false;
        cumsum_axis(k, k->root, x, y, a, exclusive, reverse, prod);
        return true;
    }
    /* A run-time axis: one branch per axis; an out-of-range axis gives zeros. */
    LExpr *axv = lx_cast(k, DT_INT64, lx_load(k, ax, lx_idx(k, 0)));
    LStmt *parent = k->root;
    bool first = true;
    for (int a = 0; a < rank; a++) {
        LExpr *hit = lx_bin(k, LB_OR, lx_bin(k, LB_EQ, axv, lx_idx(k, a)),
                            lx_bin(k, LB_EQ, axv, lx_idx(k, a - rank)));
        LStmt *iff = ls_if(k, hit);
        if (first)
            ls_push(k, parent, iff);
        else
            ls_push_else(k, parent, iff);
        first = false;
        LStmt *then = ls_block(k);
        ls_push(k, iff, then);
        cumsum_axis(k, then, x, y, a, exclusive, reverse, prod);
        parent = iff;
    }
    int i = lk_var(k, DT_INT64);
    LStmt *f = ls_for(k, i, ir_value_numel(y));
    ls_push(k, f, store(k, y, lx_var(k, i), lx_num(k, lw_compute_type(y->dtype), 0)));
    ls_push_else(k, parent, f);
    return true;
}

/* ---- rows ---- */

static const AttrSpec a_reduce_attr[] = {{"axes", ATTR_INTS}, {"keepdims", ATTR_INT}, {NULL, 0}};
static const AttrSpec a_reduce_input[] = {
    {"keepdims", ATTR_INT}, {"noop_with_empty_axes", ATTR_INT}, {NULL, 0}};
static const AttrSpec a_arg[] = {
    {"axis", ATTR_INT}, {"keepdims", ATTR_INT}, {"select_last_index", ATTR_INT}, {NULL, 0}};
static const AttrSpec a_axis[] = {{"axis", ATTR_INT}, {NULL, 0}};
static const AttrSpec a_cumsum[] = {{"exclusive", ATTR_INT}, {"reverse", ATTR_INT}, {NULL, 0}};
static const AttrSpec a_topk1[] = {{"axis", ATTR_INT}, {"k", ATTR_INT}, {NULL, 0}};
static const AttrSpec a_topk[] = {
    {"axis", ATTR_INT}, {"largest", ATTR_INT}, {"sorted", ATTR_INT}, {NULL, 0}};

/* Axes moved from an attribute to input 1 at opset 13 (ReduceSum) or 18. */
#define REDUCE(nm, moved)                                                                         \
    {.name = nm, .since = 1, .until = (moved) - 1, .min_in = 1, .max_in = 1, .min_out = 1,        \
     .max_out = 1, .attrs = a_reduce_attr, .infer = infer_reduce, .lower = lower_reduce,          \
     .dyn = DYN_REDUCE},                                                                          \
    {.name = nm, .since = moved, .min_in = 1, .max_in = 2, .min_out = 1, .max_out = 1,            \
     .attrs = a_reduce_input, .infer = infer_reduce, .lower = lower_reduce, .dyn = DYN_REDUCE}

/* Two rows: opset 13 changed what `axis` means (see the [outer, n, inner] view). */
#define SOFTMAX(nm, role_)                                                                        \
    {.name = nm, .since = 1, .until = 12, .min_in = 1, .max_in = 1, .min_out = 1,                 \
     .max_out = 1, .attrs = a_axis, .infer = infer_softmax, .lower = lower_softmax,               \
     .role = role_, .dyn = DYN_SOFTMAX},                                                          \
    {.name = nm, .since = 13, .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,               \
     .attrs = a_axis, .infer = infer_softmax, .lower = lower_softmax, .role = role_,              \
     .dyn = DYN_SOFTMAX}

const OpDesc op_rows_reduce[] = {
    REDUCE("ReduceSum", 13),
    REDUCE("ReduceMean", 18),
    REDUCE("ReduceMax", 18),
    REDUCE("ReduceMin", 18),
    REDUCE("ReduceProd", 18),
    REDUCE("ReduceL1", 18),
    REDUCE("ReduceL2", 18),
    REDUCE("ReduceLogSum", 18),
    REDUCE("ReduceLogSumExp", 18),
    REDUCE("ReduceSumSquare", 18),
    {.dyn = DYN_REDUCE, .name = "ArgMax", .since = 1, .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,
     .attrs = a_arg, .infer = infer_arg, .lower = lower_arg},
    {.dyn = DYN_REDUCE, .name = "ArgMin", .since = 1, .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,
     .attrs = a_arg, .infer = infer_arg, .lower = lower_arg},
    SOFTMAX("Softmax", OP_ROLE_SOFTMAX),
    SOFTMAX("LogSoftmax", OP_ROLE_NONE),
    SOFTMAX("Hardmax", OP_ROLE_NONE),
    {.dyn = DYN_SAME, .name = "CumSum", .since = 11, .min_in = 2, .max_in = 2, .min_out = 1, .max_out = 1,
     .attrs = a_cumsum, .infer = infer_cumsum, .lower = lower_cumsum},
    {.name = "CumProd", .since = 26, .min_in = 2, .max_in = 2, .min_out = 1, .max_out = 1,
     .attrs = a_cumsum, .infer = infer_cumsum, .lower = lower_cumsum},
    /* k: an attribute until opset 10 made it input 1; largest/sorted from 11 */
    {.name = "TopK", .since = 1, .until = 9, .min_in = 1, .max_in = 1, .min_out = 2,
     .max_out = 2, .attrs = a_topk1, .infer = infer_topk, .lower = lower_topk},
    {.name = "TopK", .since = 10, .min_in = 2, .max_in = 2, .min_out = 2, .max_out = 2,
     .attrs = a_topk, .infer = infer_topk, .lower = lower_topk},
    {.name = NULL},
};
