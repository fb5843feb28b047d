/* Normalisation operators: BatchNormalization (inference), InstanceNormalization,
 * LayerNormalization, GroupNormalization, MeanVarianceNormalization, LRN.
 *
 * All lower to loop IR. The statistics ones share one pattern: for each
 * block of elements (a contiguous run for Instance/Layer/GroupNorm, a
 * strided set for MVN) a first pass sums to the mean, a second sums squared
 * deviations to the variance (two passes: no cancellation), and a third
 * writes the output with per-block (and, where it can, per-channel)
 * factors hoisted out of the innermost loop. Accumulators are float for
 * float16/float inputs and double for double. */
#include "ops.h"
#include "../ir/dims.h"

#include <math.h>
#include <string.h>

/* A float attribute that a model may also have written as an int. */
static double attr_num(const Node *n, const char *name, double dflt)
{
    const Attr *a = ir_attr(n, name);
    if (!a)
        return dflt;
    if (a->type == ATTR_INT)
        return (double)a->i;
    return a->type == ATTR_FLOAT ? a->f : dflt;
}

static bool float_input(Node *n, Diag *d, int i)
{
    const Value *v = n->in[i];
    if (v && !ir_dtype_is_float(v->dtype))
        return op_unsupported(d, n, "%s with %s input %d '%s'", n->op_type,
                              ir_dtype_name(v->dtype), i, v->name);
    return true;
}

static bool float_inputs(Node *n, Diag *d)
{
    for (int i = 0; i < n->nin; i++)
        if (!float_input(n, d, i))
            return false;
    return true;
}

/* Input i must hold exactly `count` elements (a per-channel vector). */
static bool vec_input(Node *n, Diag *d, int i, int64_t count, const char *what)
{
    const Value *v = n->in[i];
    if (!v)
        return true;
    if (ir_value_numel(v) != count) {
        diag_error(d, n, "input %d '%s' (%s) has shape %s, expected [%lld]", i, v->name, what,
                   ir_shape_str(n->graph->arena, &v->shape), (long long)count);
        return false;
    }
    return true;
}

static int64_t numel_range(const Shape *s, int from, int to)
{
    int64_t p = 1;
    for (int i = from; i < to; i++)
        p *= s->dim[i];    /* a sub-product of a checked tensor size */
    return p;
}

static LExpr *ld(LKernel *k, DType ct, Value *v, LExpr *idx)
{
    return lx_cast(k, ct, lx_load(k, v, idx));
}

static LExpr *bin(LKernel *k, LBinaryOp op, LExpr *a, LExpr *b)
{
    return lx_bin(k, op, a, b);
}

/* ---- mean and variance over a set of elements ---- */

/* The elements: base + sum_i v_i * stride_i for v_i < extent_i. */
typedef struct {
    int nd;
    int64_t ext[IR_MAX_RANK];
    int64_t str[IR_MAX_RANK];
    int64_t count;
    /* Run-time dims (ir/dims.h): how many of the count are inside the
     * extents (int64), the rest being padding that a mask zeroed; NULL when
     * all are. */
    LExpr *run_count;
} Walk;

/* The elements of x's dims from..rank-1 inside their run-time extents,
 * times `mult`, or NULL when none of those dims is run-time. */
static LExpr *run_count(LKernel *k, const Value *x, int from, int64_t mult)
{
    LExpr *n = NULL;
    for (int d = from; d < x->shape.rank; d++)
        if (ir_dyn(x, d))
            n = lw_dim_expr(k, ir_dyn(x, d));
    if (!n)
        return NULL;
    n = lx_idx(k, mult);
    for (int d = from; d < x->shape.rank; d++)
        n = lx_mul(k, n, ir_dyn(x, d) ? lw_dim_expr(k, ir_dyn(x, d)) : lx_idx(k, x->shape.dim[d]));
    return n;
}

static Walk walk_contig(int64_t len)
{
    Walk w;
    memset(&w, 0, sizeof w);
    w.nd = 1;
    w.ext[0] = len;
    w.str[0] = 1;
    w.count = len;
    return w;
}

/* Loops over w inside parent; returns the innermost statement and the
 * element index through *idx. */
static LStmt *walk_nest(LKernel *k, LStmt *parent, const Walk *w, LExpr *base, LExpr **idx)
{
    LStmt *cur = parent;
    LExpr *e = base;
    for (int i = 0; i < w->nd; i++) {
        if (w->ext[i] == 1)
            continue;
        int v = lk_var(k, DT_INT64);
        LStmt *f = ls_for(k, v, w->ext[i]);
        ls_push(k, cur, f);
        cur = f;
        e = lx_add(k, e, lx_muli(k, lx_var(k, v), w->str[i]));
    }
    *idx = e;
    return cur;
}

typedef struct {
    int mean;   /* variable: the block's mean */
    int var;    /* variable: the block's (biased) variance */
} Stats;

/* The summed term at element index idx: x, or (x - mean)^2 when mean >= 0. */
static LExpr *stat_term(LKernel *k, Value *x, LExpr *idx, DType ct, int mean)
{
    LExpr *v = ld(k, ct, x, idx);
    if (mean < 0)
        return v;
    LExpr *dev = bin(k, LB_SUB, v, lx_var(k, mean));
    return bin(k, LB_MUL, dev, dev);
}

#define SUM_LANES 16   /* independent partial sums: breaks the add latency chain */

/* acc = sum of stat_term over the walk. A long contiguous run is summed in
 * SUM_LANES interleaved partial sums combined pairwise, which the C
 * compiler can keep in vector registers; otherwise one running sum. */
static void emit_sum(LKernel *k, LStmt *parent, Value *x, LExpr *base, const Walk *w, DType ct,
                     int mean, int acc)
{
    int64_t len = 0;
    int dims = 0;
    for (int i = 0; i < w->nd; i++)
        if (w->ext[i] != 1) {
            dims++;
            len = w->ext[i];
            if (w->str[i] != 1)
                dims = 99;
        }
    if (dims != 1 || len < 4 * SUM_LANES) {
        LExpr *idx;
        ls_push(k, parent, ls_assign(k, acc, lx_f(k, ct, 0)));
        LStmt *in = walk_nest(k, parent, w, base, &idx);
        ls_push(k, in, ls_assign(k, acc, bin(k, LB_ADD, lx_var(k, acc),
                                             stat_term(k, x, idx, ct, mean))));
        return;
    }
    int lane[SUM_LANES];
    for (int l = 0; l < SUM_LANES; l++) {
        lane[l] = lk_var(k, ct);
        ls_push(k, parent, ls_assign(k, lane[l], lx_f(k, ct, 0)));
    }
    int vb = lk_var(k, DT_INT64);
    int64_t nblk = len / SUM_LANES, tail = len % SUM_LANES;
    LStmt *blk = ls_for(k, vb, nblk);
    ls_push(k, parent, blk);
    LExpr *b0 = lx_add(k, base, lx_muli(k, lx_var(k, vb), SUM_LANES));
    for (int l = 0; l < SUM_LANES; l++)
        ls_push(k, blk, ls_assign(k, lane[l], bin(k, LB_ADD, lx_var(k, lane[l]),
                                                  stat_term(k, x, lx_addi(k, b0, l), ct, mean))));
    for (int64_t t = 0; t < tail; t++) {
        int l = (int)t;
        LExpr *idx = lx_addi(k, base, nblk * SUM_LANES + t);
        ls_push(k, parent, ls_assign(k, lane[l], bin(k, LB_ADD, lx_var(k, lane[l]),
                                                     stat_term(k, x, idx, ct, mean))));
    }
    LExpr *part[SUM_LANES];
    for (int l = 0; l < SUM_LANES; l++)
        part[l] = lx_var(k, lane[l]);
    for (int width = SUM_LANES; width > 1; width /= 2)
        for (int l = 0; l < width / 2; l++)
            part[l] = bin(k, LB_ADD, part[2 * l], part[2 * l + 1]);
    ls_push(k, parent, ls_assign(k, acc, part[0]));
}

/* mean = sum(x) / count; var = sum((x - mean)^2) / count. With run-time
 * dims the padding holds zeros: the sums run over all `count` elements, the
 * mean divides by w->run_count, and each of the `count - run_count` zeros
 * added mean^2 to the second sum, which is taken off again. */
static Stats emit_stats(LKernel *k, LStmt *parent, Value *x, LExpr *base, const Walk *w,
                        DType ct)
{
    Stats st;
    int acc = lk_var(k, ct);
    st.mean = lk_var(k, ct);
    st.var = lk_var(k, ct);
    LExpr *count = w->run_count ? lx_cast(k, ct, w->run_count) : lx_f(k, ct, (double)w->count);
    emit_sum(k, parent, x, base, w, ct, -1, acc);
    ls_push(k, parent, ls_assign(k, st.mean, bin(k, LB_DIV, lx_var(k, acc), count)));
    emit_sum(k, parent, x, base, w, ct, st.mean, acc);
    LExpr *s2 = lx_var(k, acc);
    if (w->run_count) {
        LExpr *pad = lx_cast(k, ct, lx_bin(k, LB_SUB, lx_idx(k, w->count), w->run_count));
        LExpr *m = lx_var(k, st.mean);
        s2 = bin(k, LB_SUB, s2, bin(k, LB_MUL, pad, bin(k, LB_MUL, m, m)));
    }
    ls_push(k, parent, ls_assign(k, st.var, bin(k, LB_DIV, s2, count)));
    return st;
}

/* 1 / sqrt(var + eps) */
static LExpr *inv_std(LKernel *k, DType ct, const Stats *st, double eps)
{
    LExpr *s = lx_un(k, LU_SQRT, bin(k, LB_ADD, lx_var(k, st->var), lx_f(k, ct, eps)));
    return bin(k, LB_DIV, lx_f(k, ct, 1), s);
}

/* ---- BatchNormalization (inference) ---- */

static bool bn_check(Node *n, Diag *d, bool *spatial)
{
    if (!op_inputs_known(n, d) || !float_inputs(n, d))
        return false;
    if (ir_attr_int(n, "training_mode", 0) != 0)
        return op_unsupported(d, n, "BatchNormalization training_mode=1 (batch statistics)");
    for (int i = 1; i < n->nout; i++)
        if (n->out[i])
            return op_unsupported(d, n, "BatchNormalization output %d (training statistics)", i);
    const Value *x = n->in[0];
    if (x->shape.rank < 2) {
        diag_error(d, n, "input 0 '%s' must have rank >= 2 (N, C, ...), got %d", x->name,
                   x->shape.rank);
        return false;
    }
    *spatial = ir_attr_int(n, "spatial", 1) != 0;
    int64_t c = x->shape.dim[1], per = *spatial ? c : numel_range(&x->shape, 1, x->shape.rank);
    static const char *const what[5] = {"", "scale", "B", "mean", "var"};
    for (int i = 1; i < 5; i++)
        if (!vec_input(n, d, i, per, what[i]))
            return false;
    return true;
}

static bool infer_bn(Node *n, Diag *d)
{
    bool spatial;
    if (!bn_check(n, d, &spatial))
        return false;
    op_set_out(n, 0, n->in[0]->dtype, &n->in[0]->shape);
    return true;
}

/* y = (x - mean[c]) * (scale[c] / sqrt(var[c] + eps)) + B[c], with the
 * per-channel factor computed once per (n, c). spatial=0 (opsets < 9)
 * gives every element of a sample its own parameters. */
static bool lower_bn(Node *n, Diag *d)
{
    bool spatial;
    if (!bn_check(n, d, &spatial))
        return false;
    Value *x = n->in[0], *y = n->out[0];
    Value *sc = n->in[1], *b = n->in[2], *mean = n->in[3], *var = n->in[4];
    DType ct = lw_compute_type(x->dtype);
    double eps = attr_num(n, "epsilon", 1e-5);
    int64_t nb = x->shape.dim[0], c = x->shape.dim[1];
    int64_t inner = numel_range(&x->shape, 2, x->shape.rank);
    LKernel *k = lw_kernel(n);
    int vn = lk_var(k, DT_INT64), vc = lk_var(k, DT_INT64), vi = lk_var(k, DT_INT64);
    LStmt *ln = ls_for(k, vn, nb), *lc = ls_for(k, vc, c), *li = ls_for(k, vi, inner);
    ls_push(k, k->root, ln);
    ls_push(k, ln, lc);
    LExpr *xi = lx_add(k, lx_muli(k, lx_add(k, lx_muli(k, lx_var(k, vn), c), lx_var(k, vc)),
                                  inner), lx_var(k, vi));
    LExpr *pi;   /* parameter index */
    if (spatial) {
        pi = lx_var(k, vc);
    } else {
        pi = lx_add(k, lx_muli(k, lx_var(k, vc), inner), lx_var(k, vi));
    }
    LExpr *factor = bin(k, LB_DIV, ld(k, ct, sc, pi),
                        lx_un(k, LU_SQRT, bin(k, LB_ADD, ld(k, ct, var, pi), lx_f(k, ct, eps))));
    LExpr *m = ld(k, ct, mean, pi), *bias = ld(k, ct, b, pi);
    if (spatial) {   /* hoist the per-channel values out of the inner loop */
        int fa = lk_var(k, ct), fm = lk_var(k, ct), fb = lk_var(k, ct);
        ls_push(k, lc, ls_assign(k, fa, factor));
        ls_push(k, lc, ls_assign(k, fm, m));
        ls_push(k, lc, ls_assign(k, fb, bias));
        factor = lx_var(k, fa);
        m = lx_var(k, fm);
        bias = lx_var(k, fb);
    }
    ls_push(k, lc, li);
    LExpr *val = bin(k, LB_ADD, bin(k, LB_MUL, bin(k, LB_SUB, ld(k, ct, x, xi), m), factor), bias);
    ls_push(k, li, ls_store(k, y, xi, lx_cast(k, y->dtype, val)));
    return true;
}

/* The same formula for passes/fold_batchnorm.c, from constant float
 * parameters at inference: channel c's (x - mean) * s + B, with
 * s = scale / sqrt(var + eps). The channel count is scale's size. */
static int64_t bn_affine(const Node *n, int64_t c, ChannelAffine *t)
{
    if (n->nin < 5 || ir_attr_int(n, "training_mode", 0) != 0)
        return -1;
    for (int i = 1; i < 5; i++)
        if (!n->in[i] || !n->in[i]->data || n->in[i]->dtype != DT_FLOAT)
            return -1;
    if (t) {
        double eps = ir_attr_float(n, "epsilon", 1e-5f);
        t->sub = ir_const_f(n->in[3], c);
        t->mul = ir_const_f(n->in[1], c) / sqrt(ir_const_f(n->in[4], c) + eps);
        t->add = ir_const_f(n->in[2], c);
    }
    return ir_value_numel(n->in[1]);
}

/* ---- InstanceNormalization ---- */

static bool in_check(Node *n, Diag *d)
{
    if (!op_inputs_known(n, d) || !float_inputs(n, d))
        return false;
    const Value *x = n->in[0];
    if (x->shape.rank < 3) {
        diag_error(d, n, "input 0 '%s' must have rank >= 3 (N, C, spatial...), got %d", x->name,
                   x->shape.rank);
        return false;
    }
    return vec_input(n, d, 1, x->shape.dim[1], "scale") && vec_input(n, d, 2, x->shape.dim[1], "B");
}

static bool infer_instnorm(Node *n, Diag *d)
{
    if (!in_check(n, d))
        return false;
    op_set_out(n, 0, n->in[0]->dtype, &n->in[0]->shape);
    return true;
}

static bool lower_instnorm(Node *n, Diag *d)
{
    if (!in_check(n, d))
        return false;
    Value *x = n->in[0], *y = n->out[0], *sc = n->in[1], *b = n->in[2];
    DType ct = lw_compute_type(x->dtype);
    double eps = attr_num(n, "epsilon", 1e-5);
    int64_t nb = x->shape.dim[0], c = x->shape.dim[1];
    int64_t inner = numel_range(&x->shape, 2, x->shape.rank);
    LKernel *k = lw_kernel(n);
    int vn = lk_var(k, DT_INT64), vc = lk_var(k, DT_INT64);
    LStmt *ln = ls_for(k, vn, nb), *lc = ls_for(k, vc, c);
    ls_push(k, k->root, ln);
    ls_push(k, ln, lc);
    LExpr *base = lx_muli(k, lx_add(k, lx_muli(k, lx_var(k, vn), c), lx_var(k, vc)), inner);
    Walk w = walk_contig(inner);
    w.run_count = run_count(k, x, 2, 1);
    Stats st = emit_stats(k, lc, x, base, &w, ct);
    int fa = lk_var(k, ct), fb = lk_var(k, ct);
    ls_push(k, lc, ls_assign(k, fa, bin(k, LB_MUL, ld(k, ct, sc, lx_var(k, vc)),
                                        inv_std(k, ct, &st, eps))));
    ls_push(k, lc, ls_assign(k, fb, ld(k, ct, b, lx_var(k, vc))));
    LExpr *idx;
    LStmt *in = walk_nest(k, lc, &w, base, &idx);
    LExpr *val = bin(k, LB_ADD, bin(k, LB_MUL, bin(k, LB_SUB, ld(k, ct, x, idx),
                                                   lx_var(k, st.mean)), lx_var(k, fa)),
                     lx_var(k, fb));
    ls_push(k, in, ls_store(k, y, idx, lx_cast(k, y->dtype, val)));
    return true;
}

/* ---- LayerNormalization ---- */

/* Statistics dtype from stash_type. */
static bool stash_dtype(Node *n, Diag *d, DType *out)
{
    int64_t st = ir_attr_int(n, "stash_type", 1);
    if (st == DT_FLOAT || st == DT_DOUBLE) {
        *out = (DType)st;
        return true;
    }
    return op_unsupported(d, n, "%s stash_type %lld (only float and double)", n->op_type,
                          (long long)st);
}

/* Can v be broadcast (numpy, unidirectionally) to shape s? */
static bool bcast_to(const Value *v, const Shape *s)
{
    if (v->shape.rank > s->rank)
        return false;
    int off = s->rank - v->shape.rank;
    for (int i = 0; i < v->shape.rank; i++)
        if (v->shape.dim[i] != 1 && v->shape.dim[i] != s->dim[off + i])
            return false;
    return true;
}

static bool ln_check(Node *n, Diag *d, int *axis, DType *stash)
{
    if (!op_inputs_known(n, d) || !float_inputs(n, d) || !stash_dtype(n, d, stash))
        return false;
    const Value *x = n->in[0];
    if (x->shape.rank < 1) {
        diag_error(d, n, "input 0 '%s' must have rank >= 1", x->name);
        return false;
    }
    if (!op_axis(d, n, ir_attr_int(n, "axis", -1), x->shape.rank, axis))
        return false;
    Shape norm;
    memset(&norm, 0, sizeof norm);
    norm.rank = x->shape.rank - *axis;
    for (int i = 0; i < norm.rank; i++)
        norm.dim[i] = x->shape.dim[*axis + i];
    for (int i = 1; i < n->nin; i++)
        if (n->in[i] && !bcast_to(n->in[i], &norm)) {
            diag_error(d, n, "input %d '%s' shape %s does not broadcast to the normalized "
                       "shape %s", i, n->in[i]->name,
                       ir_shape_str(n->graph->arena, &n->in[i]->shape),
                       ir_shape_str(n->graph->arena, &norm));
            return false;
        }
    return true;
}

static bool infer_layernorm(Node *n, Diag *d)
{
    int axis;
    DType stash;
    if (!ln_check(n, d, &axis, &stash))
        return false;
    const Value *x = n->in[0];
    op_set_out(n, 0, x->dtype, &x->shape);
    Shape s = x->shape;
    for (int i = axis; i < s.rank; i++) {
        s.dim[i] = 1;
        s.sym[i] = NULL;
    }
    for (int i = 1; i < n->nout; i++)
        op_set_out(n, i, stash, &s);
    return true;
}

/* Index into v (broadcast to the normalized shape `norm`) at flat index
 * `i` of the normalized block. */
static LExpr *bcast_index(LKernel *k, const Value *v, const Shape *norm, LExpr *i)
{
    int64_t vn = ir_value_numel(v), nn;
    ir_shape_numel(norm, &nn);
    if (vn == nn)
        return i;
    if (vn == 1)
        return lx_idx(k, 0);
    int64_t nstr[IR_MAX_RANK], vstr[IR_MAX_RANK];
    ir_strides(norm, nstr);
    ir_strides(&v->shape, vstr);
    int off = norm->rank - v->shape.rank;
    LExpr *idx = lx_idx(k, 0);
    for (int dd = 0; dd < v->shape.rank; dd++) {
        if (v->shape.dim[dd] == 1)
            continue;
        int od = dd + off;
        LExpr *c = i;
        if (od > 0)
            c = lx_mod(k, c, lx_idx(k, nstr[od - 1]));
        c = lx_div(k, c, lx_idx(k, nstr[od]));
        idx = lx_add(k, idx, lx_muli(k, c, vstr[dd]));
    }
    return idx;
}

static bool lower_layernorm(Node *n, Diag *d)
{
    int axis;
    DType stash;
    if (!ln_check(n, d, &axis, &stash))
        return false;
    Value *x = n->in[0], *y = n->out[0], *sc = n->in[1], *b = n->nin > 2 ? n->in[2] : NULL;
    DType ct = lw_compute_type(stash);
    if (x->dtype == DT_DOUBLE)
        ct = DT_DOUBLE;   /* never compute below the input's precision */
    double eps = attr_num(n, "epsilon", 1e-5);
    int64_t outer = numel_range(&x->shape, 0, axis);
    int64_t inner = numel_range(&x->shape, axis, x->shape.rank);
    Shape norm;
    memset(&norm, 0, sizeof norm);
    norm.rank = x->shape.rank - axis;
    for (int i = 0; i < norm.rank; i++)
        norm.dim[i] = x->shape.dim[axis + i];
    LKernel *k = lw_kernel(n);
    int vo = lk_var(k, DT_INT64);
    LStmt *lo = ls_for(k, vo, outer);
    ls_push(k, k->root, lo);
    LExpr *base = lx_muli(k, lx_var(k, vo), inner);
    Walk w = walk_contig(inner);
    w.run_count = run_count(k, x, axis, 1);
    Stats st = emit_stats(k, lo, x, base, &w, ct);
    int inv = lk_var(k, ct);
    ls_push(k, lo, ls_assign(k, inv, inv_std(k, ct, &st, eps)));
    int vi = lk_var(k, DT_INT64);
    LStmt *li = ls_for(k, vi, inner);
    ls_push(k, lo, li);
    LExpr *i = lx_var(k, vi), *idx = lx_add(k, base, i);
    LExpr *val = bin(k, LB_MUL, bin(k, LB_SUB, ld(k, ct, x, idx), lx_var(k, st.mean)),
                     lx_var(k, inv));
    val = bin(k, LB_MUL, val, ld(k, ct, sc, bcast_index(k, sc, &norm, i)));
    if (b)
        val = bin(k, LB_ADD, val, ld(k, ct, b, bcast_index(k, b, &norm, i)));
    ls_push(k, li, ls_store(k, y, idx, lx_cast(k, y->dtype, val)));
    if (n->nout > 1 && n->out[1])
        ls_push(k, lo, ls_store(k, n->out[1], lx_var(k, vo),
                                lx_cast(k, n->out[1]->dtype, lx_var(k, st.mean))));
    if (n->nout > 2 && n->out[2])
        ls_push(k, lo, ls_store(k, n->out[2], lx_var(k, vo),
                                lx_cast(k, n->out[2]->dtype, lx_var(k, inv))));
    return true;
}

/* ---- GroupNormalization ---- */

/* Opset 18: scale and bias per group; opset 21: per channel. */
static bool gn_check(Node *n, Diag *d, int64_t *groups, bool *per_channel)
{
    DType stash;
    if (!op_inputs_known(n, d) || !float_inputs(n, d) || !stash_dtype(n, d, &stash))
        return false;
    const Value *x = n->in[0];
    if (x->shape.rank < 3) {
        diag_error(d, n, "input 0 '%s' must have rank >= 3 (N, C, spatial...), got %d", x->name,
                   x->shape.rank);
        return false;
    }
    const Attr *ga = ir_attr(n, "num_groups");
    if (!ga) {
        diag_error(d, n, "attribute 'num_groups' is required");
        return false;
    }
    int64_t c = x->shape.dim[1];
    *groups = ga->i;
    if (*groups <= 0 || c % *groups != 0) {
        diag_error(d, n, "num_groups %lld does not divide the %lld channels", (long long)*groups,
                   (long long)c);
        return false;
    }
    *per_channel = n->graph->opset >= 21;
    int64_t want = *per_channel ? c : *groups;
    return vec_input(n, d, 1, want, "scale") && vec_input(n, d, 2, want, "bias");
}

static bool infer_groupnorm(Node *n, Diag *d)
{
    int64_t groups;
    bool per_channel;
    if (!gn_check(n, d, &groups, &per_channel))
        return false;
    op_set_out(n, 0, n->in[0]->dtype, &n->in[0]->shape);
    return true;
}

static bool lower_groupnorm(Node *n, Diag *d)
{
    int64_t groups;
    bool per_channel;
    if (!gn_check(n, d, &groups, &per_channel))
        return false;
    Value *x = n->in[0], *y = n->out[0], *sc = n->in[1], *b = n->in[2];
    DType ct = lw_compute_type(x->dtype);
    double eps = attr_num(n, "epsilon", 1e-5);
    int64_t nb = x->shape.dim[0], c = x->shape.dim[1], cg = c / groups;
    int64_t spatial = numel_range(&x->shape, 2, x->shape.rank);
    LKernel *k = lw_kernel(n);
    int vn = lk_var(k, DT_INT64), vg = lk_var(k, DT_INT64), vc = lk_var(k, DT_INT64);
    LStmt *ln = ls_for(k, vn, nb), *lg = ls_for(k, vg, groups);
    ls_push(k, k->root, ln);
    ls_push(k, ln, lg);
    LExpr *base = lx_muli(k, lx_add(k, lx_muli(k, lx_var(k, vn), groups), lx_var(k, vg)),
                          cg * spatial);
    Walk w = walk_contig(cg * spatial);
    w.run_count = run_count(k, x, 2, cg);
    Stats st = emit_stats(k, lg, x, base, &w, ct);
    int inv = lk_var(k, ct);
    ls_push(k, lg, ls_assign(k, inv, inv_std(k, ct, &st, eps)));
    /* Per channel of the group: y = (x - mean) * (inv * scale) + bias. */
    LStmt *lc = ls_for(k, vc, cg);
    ls_push(k, lg, lc);
    LExpr *pi = per_channel ? lx_add(k, lx_muli(k, lx_var(k, vg), cg), lx_var(k, vc))
                            : lx_var(k, vg);
    int fa = lk_var(k, ct), fb = lk_var(k, ct);
    ls_push(k, lc, ls_assign(k, fa, bin(k, LB_MUL, lx_var(k, inv), ld(k, ct, sc, pi))));
    ls_push(k, lc, ls_assign(k, fb, ld(k, ct, b, pi)));
    Walk ws = walk_contig(spatial);
    LExpr *idx;
    LStmt *in = walk_nest(k, lc, &ws, lx_add(k, base, lx_muli(k, lx_var(k, vc), spatial)), &idx);
    LExpr *val = bin(k, LB_ADD, bin(k, LB_MUL, bin(k, LB_SUB, ld(k, ct, x, idx),
                                                   lx_var(k, st.mean)), lx_var(k, fa)),
                     lx_var(k, fb));
    ls_push(k, in, ls_store(k, y, idx, lx_cast(k, y->dtype, val)));
    return true;
}

/* ---- MeanVarianceNormalization: y = (x - mean) / (sqrt(var) + 1e-9) ---- */

static bool mvn_axes(Node *n, Diag *d, bool *reduced)
{
    if (!op_inputs_known(n, d) || !float_inputs(n, d))
        return false;
    int rank = n->in[0]->shape.rank;
    int64_t axes[IR_MAX_RANK + 1];
    int cnt = op_ints(n, "axes", -1, axes, IR_MAX_RANK + 1);
    if (cnt < 0) {
        if (rank < 4) {
            diag_error(d, n, "default axes [0, 2, 3] need rank >= 4, input has rank %d", rank);
            return false;
        }
        axes[0] = 0, axes[1] = 2, axes[2] = 3;
        cnt = 3;
    }
    if (cnt > rank) {
        diag_error(d, n, "attribute 'axes' has %d values for rank %d", cnt, rank);
        return false;
    }
    for (int i = 0; i < IR_MAX_RANK; i++)
        reduced[i] = false;
    for (int i = 0; i < cnt; i++) {
        int a;
        if (!op_axis(d, n, axes[i], rank, &a))
            return false;
        if (reduced[a]) {
            diag_error(d, n, "attribute 'axes' repeats axis %d", a);
            return false;
        }
        reduced[a] = true;
    }
    return true;
}

static bool infer_mvn(Node *n, Diag *d)
{
    bool reduced[IR_MAX_RANK];
    if (!mvn_axes(n, d, reduced))
        return false;
    op_set_out(n, 0, n->in[0]->dtype, &n->in[0]->shape);
    return true;
}

static bool lower_mvn(Node *n, Diag *d)
{
    bool reduced[IR_MAX_RANK];
    if (!mvn_axes(n, d, reduced))
        return false;
    Value *x = n->in[0], *y = n->out[0];
    DType ct = lw_compute_type(x->dtype);
    const Shape *s = &x->shape;
    int64_t str[IR_MAX_RANK];
    ir_strides(s, str);
    LKernel *k = lw_kernel(n);
    /* Loops over the kept dims; the reduced ones form the walk, with
     * adjacent reduced dims merged into one run. */
    LStmt *cur = k->root;
    LExpr *base = lx_idx(k, 0);
    Walk w;
    memset(&w, 0, sizeof w);
    w.count = 1;
    for (int i = 0; i < s->rank; i++) {
        if (reduced[i]) {
            w.count *= s->dim[i];
            if (w.nd > 0 && i > 0 && reduced[i - 1]) {
                w.ext[w.nd - 1] *= s->dim[i];
                w.str[w.nd - 1] = str[i];
            } else {
                w.ext[w.nd] = s->dim[i];
                w.str[w.nd] = str[i];
                w.nd++;
            }
            continue;
        }
        if (s->dim[i] == 1)
            continue;
        int v = lk_var(k, DT_INT64);
        LStmt *f = ls_for(k, v, s->dim[i]);
        ls_push(k, cur, f);
        cur = f;
        base = lx_add(k, base, lx_muli(k, lx_var(k, v), str[i]));
    }
    if (w.count == 0)
        return true;   /* nothing to normalise */
    Stats st = emit_stats(k, cur, x, base, &w, ct);
    int den = lk_var(k, ct);
    ls_push(k, cur, ls_assign(k, den, bin(k, LB_ADD, lx_un(k, LU_SQRT, lx_var(k, st.var)),
                                          lx_f(k, ct, 1e-9))));
    LExpr *idx;
    LStmt *in = walk_nest(k, cur, &w, base, &idx);
    LExpr *val = bin(k, LB_DIV, bin(k, LB_SUB, ld(k, ct, x, idx), lx_var(k, st.mean)),
                     lx_var(k, den));
    ls_push(k, in, ls_store(k, y, idx, lx_cast(k, y->dtype, val)));
    return true;
}

/* ---- LRN: y = x / (bias + alpha / size * sum of x^2 over nearby channels)^beta ---- */

static bool lrn_check(Node *n, Diag *d)
{
    if (!op_inputs_known(n, d) || !float_inputs(n, d))
        return false;
    const Value *x = n->in[0];
    if (x->shape.rank < 3) {
        diag_error(d, n, "input 0 '%s' must have rank >= 3 (N, C, spatial...), got %d", x->name,
                   x->shape.rank);
        return false;
    }
    const Attr *a = ir_attr(n, "size");
    if (!a || a->i <= 0 || a->i > ((int64_t)1 << 31)) {
        diag_error(d, n, "attribute 'size' must be given and positive");
        return false;
    }
    return true;
}

static bool infer_lrn(Node *n, Diag *d)
{
    if (!lrn_check(n, d))
        return false;
    op_set_out(n, 0, n->in[0]->dtype, &n->in[0]->shape);
    return true;
}

static bool lower_lrn(Node *n, Diag *d)
{
    if (!lrn_check(n, d))
        return false;
    Value *x = n->in[0], *y = n->out[0];
    DType ct = lw_compute_type(x->dtype);
    int64_t size = ir_attr_int(n, "size", 1);
    double alpha = attr_num(n, "alpha", 1e-4), beta = attr_num(n, "beta", 0.75);
    double bias = attr_num(n, "bias", 1.0);
    int64_t nb = x->shape.dim[0], c = x->shape.dim[1];
    int64_t inner = numel_range(&x->shape, 2, x->shape.rank);
    int64_t before = (size - 1) / 2;   /* channels below c in the window */
    LKernel *k = lw_kernel(n);
    int vn = lk_var(k, DT_INT64), vc = lk_var(k, DT_INT64), vi = lk_var(k, DT_INT64);
    int acc = lk_var(k, ct);
    LStmt *ln = ls_for(k, vn, nb), *lc = ls_for(k, vc, c), *li = ls_for(k, vi, inner);
    ls_push(k, k->root, ln);
    ls_push(k, ln, lc);
    ls_push(k, lc, li);
    LExpr *plane0 = lx_muli(k, lx_var(k, vn), c * inner);
    ls_push(k, li, ls_assign(k, acc, lx_f(k, ct, 0)));
    int vj = lk_var(k, DT_INT64);
    LStmt *lj = ls_for(k, vj, size);
    ls_push(k, li, lj);
    LExpr *cc = lx_addi(k, lx_add(k, lx_var(k, vc), lx_var(k, vj)), -before);
    LStmt *iff = ls_if(k, bin(k, LB_AND, bin(k, LB_GE, cc, lx_idx(k, 0)),
                              bin(k, LB_LT, cc, lx_idx(k, c))));
    ls_push(k, lj, iff);
    LExpr *xv = ld(k, ct, x, lx_add(k, plane0, lx_add(k, lx_muli(k, cc, inner), lx_var(k, vi))));
    ls_push(k, iff, ls_assign(k, acc, bin(k, LB_ADD, lx_var(k, acc), bin(k, LB_MUL, xv, xv))));
    LExpr *idx = lx_add(k, plane0, lx_add(k, lx_muli(k, lx_var(k, vc), inner), lx_var(k, vi)));
    LExpr *den = bin(k, LB_ADD, lx_f(k, ct, bias),
                     bin(k, LB_MUL, lx_f(k, ct, alpha / (double)size), lx_var(k, acc)));
    den = bin(k, LB_POW, den, lx_f(k, ct, beta));
    LExpr *val = bin(k, LB_DIV, ld(k, ct, x, idx), den);
    ls_push(k, li, ls_store(k, y, idx, lx_cast(k, y->dtype, val)));
    return true;
}

/* ---- rows ---- */

static const AttrSpec a_bn[] = {
    {"epsilon", ATTR_FLOAT},   {"momentum", ATTR_FLOAT},     {"is_test", ATTR_INT},
    {"spatial", ATTR_INT},     {"consumed_inputs", ATTR_INTS}, {"training_mode", ATTR_INT},
    {NULL, 0}};
static const AttrSpec a_instnorm[] = {{"epsilon", ATTR_FLOAT}, {"consumed_inputs", ATTR_INTS},
                                      {NULL, 0}};
static const AttrSpec a_layernorm[] = {{"axis", ATTR_INT}, {"epsilon", ATTR_FLOAT},
                                       {"stash_type", ATTR_INT}, {NULL, 0}};
static const AttrSpec a_groupnorm[] = {{"epsilon", ATTR_FLOAT}, {"num_groups", ATTR_INT},
                                       {"stash_type", ATTR_INT}, {NULL, 0}};
static const AttrSpec a_mvn[] = {{"axes", ATTR_INTS}, {NULL, 0}};
static const AttrSpec a_lrn[] = {{"alpha", ATTR_FLOAT}, {"beta", ATTR_FLOAT},
                                 {"bias", ATTR_FLOAT}, {"size", ATTR_INT}, {NULL, 0}};

const OpDesc op_rows_norm[] = {
    {.dyn = DYN_NORM, .name = "BatchNormalization", .since = 1, .min_in = 5, .max_in = 5, .min_out = 1, .max_out = 5,
     .attrs = a_bn, .infer = infer_bn, .lower = lower_bn, .affine = bn_affine},
    {.dyn = DYN_NORM, .name = "InstanceNormalization", .since = 1, .min_in = 3, .max_in = 3, .min_out = 1,
     .max_out = 1, .attrs = a_instnorm, .infer = infer_instnorm, .lower = lower_instnorm},
    {.dyn = DYN_NORM, .name = "LayerNormalization", .since = 17, .min_in = 2, .max_in = 3, .min_out = 1,
     .max_out = 3, .attrs = a_layernorm, .infer = infer_layernorm, .lower = lower_layernorm},
    {.dyn = DYN_NORM, .name = "GroupNormalization", .since = 18, .min_in = 3, .max_in = 3, .min_out = 1,
     .max_out = 1, .attrs = a_groupnorm, .infer = infer_groupnorm, .lower = lower_groupnorm},
    {.dyn = DYN_NORM, .name = "MeanVarianceNormalization", .since = 9, .min_in = 1, .max_in = 1, .min_out = 1,
     .max_out = 1, .attrs = a_mvn, .infer = infer_mvn, .lower = lower_mvn},
    {.dyn = DYN_NORM, .name = "LRN", .since = 1, .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,
     .attrs = a_lrn, .infer = infer_lrn, .lower = lower_lrn},
    {.name = NULL},
};
