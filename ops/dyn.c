/* Run-time dims through operators. Every tensor is laid out at its
 * maximum shape; along a run-time dim only the first `extent` elements
 * mean anything and the rest is padding. Most operators compute the right
 * elements inside the extent from the padded layout as it is (elementwise
 * ops, products whose M or N is run-time, transposes, reshapes that keep
 * the dim outermost in its group); those that mix elements along a
 * run-time dim need its padding filled first (0 for sums and convolution
 * windows, -inf for maxima and softmax); the rest are refused, naming the
 * node and the dim. docs/run-time-dims.md states the contract. */
#include "dyn.h"
#include "ops.h"

#include <math.h>
#include <string.h>

static Graph *G(const Node *n)
{
    return n->graph;
}

static const char *dim_name(const Node *n, const DimExpr *x)
{
    return dx_str(G(n), x);
}

static bool refuse(Diag *d, const Node *n, const Value *v, int k, const char *why)
{
    return op_unsupported(d, n, "run-time dim '%s' (dim %d of '%s'): %s",
                          dim_name(n, ir_dyn(v, k)), k, v->name, why);
}

static void copy_dyn(Node *n, Value *to, const Value *from)
{
    to->dyn = NULL;
    for (int k = 0; k < from->shape.rank && k < to->shape.rank; k++)
        ir_set_dyn(G(n), to, k, ir_dyn(from, k));
}

static void clear_outputs(Node *n)
{
    for (int i = 0; i < n->nout; i++)
        if (n->out[i])
            n->out[i]->dyn = NULL;
}

static bool add_mask(DynNeeds *nd, int in, unsigned axes, double fill)
{
    if (!axes)
        return true;
    if (nd->nmask == DYN_MAX_MASKS)
        return false;
    nd->mask[nd->nmask].in = in;
    nd->mask[nd->nmask].axes = axes;
    nd->mask[nd->nmask].fill = fill;
    nd->nmask++;
    return true;
}


bool dyn_tainted(const Value *v)
{
    if (!v)
        return false;
    if (v->sym_unknown)
        return true;
    int64_t numel = ir_value_numel(v);
    for (int64_t i = 0; v->symval && i < numel; i++)
        if (v->symval[i])
            return true;
    return false;
}

/* Element i of constant v as an expression (its symval or its value). */
static const DimExpr *elem(Node *n, const Value *v, int64_t i)
{
    if (v->symval && v->symval[i])
        return v->symval[i];
    return dx_const(G(n), ir_const_i(v, i));
}

/* ---- broadcasting: elementwise rows, the batch dims of MatMul ---- */

/* Output dim k (of rank r) from inputs aligned at the right. */
static bool bcast_dim(Node *n, Diag *d, Value *const *in, int nin, int r, int k, const DimExpr **out)
{
    const DimExpr *x = NULL;
    const Value *src = NULL;
    int srck = 0;
    for (int i = 0; i < nin; i++) {
        const Value *v = in[i];
        int vk = k - (r - v->shape.rank);
        if (vk < 0)
            continue;
        const DimExpr *e = ir_dyn(v, vk);
        if (!e)
            continue;
        if (x && !dx_equal(G(n), x, e))
            return op_unsupported(d, n, "run-time dims '%s' ('%s' dim %d) and '%s' ('%s' dim %d) "
                                  "may differ", dim_name(n, x), src->name, srck, dim_name(n, e),
                                  v->name, vk);
        x = e;
        src = v;
        srck = vk;
    }
    *out = x;
    return true;
}

static bool rule_bcast(Node *n, Diag *d)
{
    Value *in[16];
    int nin = 0;
    for (int i = 0; i < n->nin && nin < 16; i++)
        if (n->in[i] && n->in[i]->has_type)
            in[nin++] = n->in[i];
    for (int o = 0; o < n->nout; o++) {
        Value *y = n->out[o];
        if (!y)
            continue;
        for (int k = 0; k < y->shape.rank; k++) {
            const DimExpr *x;
            if (!bcast_dim(n, d, in, nin, y->shape.rank, k, &x))
                return false;
            ir_set_dyn(G(n), y, k, x);
        }
    }
    return true;
}

/* ---- reshapes: Reshape, Flatten, Squeeze, Unsqueeze ---- */

/* The padded layout survives a reshape when each run-time dim is the
 * outermost non-1 dim of its group (input and output dims with equal
 * products) and lands as the outermost non-1 dim of the output side: that
 * output dim then runs over `extent * (product of the input dims after it
 * in the group)` meaningful elements. */
static bool rule_reshape(Node *n, Diag *d)
{
    const Value *x = n->in[0];
    Value *y = n->out[0];
    const Shape *xs = &x->shape, *ys = &y->shape;
    int i = 0, o = 0;
    while (i < xs->rank || o < ys->rank) {
        int i0 = i, o0 = o;
        int64_t pi = 1, po = 1;
        /* grow the group until the products match (at least one dim each
         * side unless one side is spent) */
        if (i < xs->rank)
            pi = xs->dim[i++];
        if (o < ys->rank)
            po = ys->dim[o++];
        while (pi != po) {
            if (pi < po && i < xs->rank)
                pi *= xs->dim[i++];
            else if (po < pi && o < ys->rank)
                po *= ys->dim[o++];
            else
                break;
        }
        /* trailing 1s join the group */
        while (i < xs->rank && xs->dim[i] == 1 && !ir_dyn(x, i) && (o >= ys->rank || ys->dim[o] != 1))
            i++;
        int dk = -1;
        for (int k = i0; k < i; k++)
            if (ir_dyn(x, k)) {
                if (dk >= 0)
                    return refuse(d, n, x, k, "a reshape merges two run-time dims");
                dk = k;
            }
        if (dk < 0)
            continue;
        for (int k = i0; k < dk; k++)
            if (xs->dim[k] != 1)
                return refuse(d, n, x, dk, "a reshape merges it with an outer dim");
        int q = o0;
        while (q < o && ys->dim[q] == 1)
            q++;
        int64_t inner = op_dims_prod(xs->dim, dk + 1, i);
        if (q == o || xs->dim[dk] == 0 || ys->dim[q] % xs->dim[dk] != 0 ||
            op_dims_prod(ys->dim, q + 1, o) * (ys->dim[q] / xs->dim[dk]) != inner)
            return refuse(d, n, x, dk, "a reshape splits it");
        ir_set_dyn(G(n), y, q, dx_affine(G(n), ir_dyn(x, dk), ys->dim[q] / xs->dim[dk], 0));
    }
    return true;
}

/* ---- Transpose ---- */

static bool rule_transpose(Node *n, Diag *d)
{
    (void)d;
    const Value *x = n->in[0];
    Value *y = n->out[0];
    int r = x->shape.rank;
    const Attr *p = ir_attr(n, "perm");
    for (int k = 0; k < r; k++) {
        int from = p && p->n == r ? (int)p->ints[k] : r - 1 - k;
        ir_set_dyn(G(n), y, k, ir_dyn(x, from));
    }
    return true;
}

/* ---- convolution and pooling windows ---- */

static int64_t attr_at(const Node *n, const char *name, int k, int64_t dflt)
{
    const Attr *a = ir_attr(n, name);
    return a && a->type == ATTR_INTS && k < a->n ? a->ints[k] : dflt;
}

/* Spatial dims of a window op; kernel size from kernel_shape or the
 * weights (Conv, ConvTranspose). */
static bool rule_window(Node *n, Diag *d, DynNeeds *nd)
{
    const Value *x = n->in[0];
    Value *y = n->out[0];
    int r = x->shape.rank, ns = r - 2;
    bool conv = strcmp(n->op_type, "Conv") == 0, convt = strcmp(n->op_type, "ConvTranspose") == 0;
    const char *ap = ir_attr_string(n, "auto_pad", "NOTSET");
    bool same = strncmp(ap, "SAME", 4) == 0;
    unsigned axes = 0;
    ir_set_dyn(G(n), y, 0, ir_dyn(x, 0));    /* batch */
    if (ir_dyn(x, 1))
        return refuse(d, n, x, 1, "channels cannot be a run-time dim");
    for (int s = 0; s < ns; s++) {
        int k = s + 2;
        const DimExpr *e = ir_dyn(x, k);
        if (!e)
            continue;
        int64_t ks = attr_at(n, "kernel_shape", s, (conv || convt) && n->in[1] ? n->in[1]->shape.dim[k] : 1);
        int64_t st = attr_at(n, "strides", s, 1), dl = attr_at(n, "dilations", s, 1);
        int64_t pb = attr_at(n, "pads", s, 0), pe = attr_at(n, "pads", s + ns, 0);
        int64_t span = dl * (ks - 1) + 1;
        /* windows of outputs inside the extent end inside the input's,
         * unless padding at the end reaches past it */
        if (convt || same || pe > 0)
            axes |= 1u << k;
        if (ir_attr_int(n, "ceil_mode", 0))
            return refuse(d, n, x, k, "ceil_mode windows");
        if (convt) {
            if (ir_attr(n, "output_shape") || same)
                return refuse(d, n, x, k, "ConvTranspose with output_shape or auto_pad");
            int64_t op = attr_at(n, "output_padding", s, 0);
            ir_set_dyn(G(n), y, k, dx_affine(G(n), e, st, -st + op + span - pb - pe));
            continue;
        }
        if (same) {
            if (st != 1)
                return refuse(d, n, x, k, "auto_pad SAME with a stride places its windows by the extent");
            ir_set_dyn(G(n), y, k, e);
            continue;
        }
        if (strcmp(n->op_type, "AveragePool") == 0 && !ir_attr_int(n, "count_include_pad", 0) && pe > 0)
            return refuse(d, n, x, k, "AveragePool without count_include_pad pads past the extent");
        ir_set_dyn(G(n), y, k,
                   dx_affine(G(n), dx_floordiv(G(n), dx_affine(G(n), e, 1, pb + pe - span), st), 1, 1));
    }
    double fill = strcmp(n->op_type, "MaxPool") == 0 ? -INFINITY : 0.0;
    if (strcmp(n->op_type, "MaxPool") == 0 && n->nout > 1 && n->out[1])
        return refuse(d, n, x, __builtin_ctz(ir_dyn_axes(x)), "MaxPool's indices output");
    return add_mask(nd, 0, axes, fill);
}

static bool rule_global_pool(Node *n, Diag *d, DynNeeds *nd)
{
    const Value *x = n->in[0];
    ir_set_dyn(G(n), n->out[0], 0, ir_dyn(x, 0));
    if (ir_dyn(x, 1))
        return refuse(d, n, x, 1, "channels cannot be a run-time dim");
    unsigned axes = ir_dyn_axes(x) & ~3u;
    if (strcmp(n->op_type, "GlobalMaxPool") == 0)
        return add_mask(nd, 0, axes, -INFINITY);
    if (strcmp(n->op_type, "GlobalAveragePool") != 0 && axes)
        return refuse(d, n, x, __builtin_ctz(axes), "an Lp norm over it");
    nd->mean_axes = axes;
    return add_mask(nd, 0, axes, 0.0);
}

/* ---- products ---- */

static bool rule_matmul(Node *n, Diag *d, DynNeeds *nd)
{
    Value *a = n->in[0], *b = n->in[1];
    Value *y = n->out[0];
    int ra = a->shape.rank, rb = b->shape.rank, ry = y->shape.rank;
    bool gemm = strcmp(n->op_type, "Gemm") == 0;
    int ta = gemm && ir_attr_int(n, "transA", 0), tb = gemm && ir_attr_int(n, "transB", 0);
    if (ra < 1 || rb < 1)
        return true;
    /* K: A's last dim (first when transposed), B's second last (last) */
    int ka = ta ? ra - 2 : ra - 1, kb = rb == 1 ? 0 : tb ? rb - 1 : rb - 2;
    int ma = ta ? ra - 1 : ra - 2, nb = tb ? rb - 2 : rb - 1;
    if (ir_dyn(a, ka) || ir_dyn(b, kb)) {
        if (!add_mask(nd, 0, ir_dyn(a, ka) ? 1u << ka : 0, 0.0) ||
            !add_mask(nd, 1, ir_dyn(b, kb) ? 1u << kb : 0, 0.0))
            return refuse(d, n, a, ka, "too many masks");
    }
    /* batch dims broadcast (aligned at the right); M and N carry over */
    int nbat = ry - (ra >= 2) - (rb >= 2);
    for (int k = 0; k < ry; k++) {
        const DimExpr *x = NULL;
        if (k < nbat) {
            int ia = k - (nbat - (ra - 2)), ib = k - (nbat - (rb - 2));
            const DimExpr *ea = ra > 2 && ia >= 0 ? ir_dyn(a, ia) : NULL;
            const DimExpr *eb = rb > 2 && ib >= 0 ? ir_dyn(b, ib) : NULL;
            if (ea && eb && !dx_equal(G(n), ea, eb))
                return refuse(d, n, a, ia, "batch dims may differ");
            x = ea ? ea : eb;
        } else if (ra >= 2 && k == nbat) {
            x = ir_dyn(a, ma);
        } else {
            x = ir_dyn(b, nb);
        }
        ir_set_dyn(G(n), y, k, x);
    }
    if (gemm && n->nin > 2 && n->in[2] && ir_has_dyn(n->in[2]))
        return refuse(d, n, n->in[2], __builtin_ctz(ir_dyn_axes(n->in[2])), "Gemm's C");
    return true;
}

/* ---- reductions and normalisations along an axis ---- */

/* The reduced axes: attribute or constant input 1, empty means all. */
static unsigned reduced_axes(const Node *n, bool *noop)
{
    int r = n->in[0]->shape.rank;
    int64_t axes[IR_MAX_RANK];
    int cnt = op_ints(n, "axes", n->nin > 1 && n->in[1] ? 1 : -1, axes, IR_MAX_RANK);
    unsigned m = 0;
    *noop = false;
    if (cnt <= 0) {
        if (ir_attr_int(n, "noop_with_empty_axes", 0) && cnt == 0) {
            *noop = true;
            return 0;
        }
        return r >= 32 ? ~0u : (1u << r) - 1;
    }
    for (int i = 0; i < cnt; i++)
        m |= 1u << (axes[i] < 0 ? axes[i] + r : axes[i]);
    return m;
}

static bool rule_reduce(Node *n, Diag *d, DynNeeds *nd)
{
    const Value *x = n->in[0];
    Value *y = n->out[0];
    bool noop;
    unsigned red = strncmp(n->op_type, "Arg", 3) == 0
                       ? 1u << (ir_attr_int(n, "axis", 0) < 0 ? ir_attr_int(n, "axis", 0) + x->shape.rank
                                                              : ir_attr_int(n, "axis", 0))
                       : reduced_axes(n, &noop);
    bool keep = ir_attr_int(n, "keepdims", 1) != 0;
    int o = 0;
    for (int k = 0; k < x->shape.rank; k++) {
        if (red & (1u << k)) {
            if (keep)
                ir_set_dyn(G(n), y, o++, NULL);
            continue;
        }
        ir_set_dyn(G(n), y, o++, ir_dyn(x, k));
    }
    unsigned axes = red & ir_dyn_axes(x);
    if (!axes)
        return true;
    const char *op = n->op_type;
    double fill;
    if (!strcmp(op, "ReduceSum") || !strcmp(op, "ReduceSumSquare") || !strcmp(op, "ReduceL1") ||
        !strcmp(op, "ReduceL2") || !strcmp(op, "ReduceLogSum"))
        fill = 0.0;
    else if (!strcmp(op, "ReduceMax") || !strcmp(op, "ReduceLogSumExp") || !strcmp(op, "ArgMax"))
        fill = -INFINITY;
    else if (!strcmp(op, "ReduceMin") || !strcmp(op, "ArgMin"))
        fill = INFINITY;
    else if (!strcmp(op, "ReduceProd"))
        fill = 1.0;
    else if (!strcmp(op, "ReduceMean") && ir_dtype_is_float(x->dtype))
        fill = 0.0, nd->mean_axes = axes;
    else
        return refuse(d, n, x, __builtin_ctz(axes), "this reduction over it depends on its extent");
    if (!ir_dtype_is_float(x->dtype) && isinf(fill))
        return refuse(d, n, x, __builtin_ctz(axes), "an integer maximum or minimum over it");
    return add_mask(nd, 0, axes, fill);
}

static bool rule_softmax(Node *n, Diag *d, DynNeeds *nd)
{
    const Value *x = n->in[0];
    int r = x->shape.rank;
    copy_dyn(n, n->out[0], x);
    bool coerce = n->op->until != 0 && n->op->until < 13;
    int64_t a = ir_attr_int(n, "axis", coerce ? 1 : -1);
    if (a < 0)
        a += r;
    unsigned axes = coerce ? ir_dyn_axes(x) & ~((1u << a) - 1) : ir_dyn_axes(x) & (1u << a);
    if (axes && strcmp(n->op_type, "Hardmax") == 0)
        return refuse(d, n, x, __builtin_ctz(axes), "Hardmax over it");
    return add_mask(nd, 0, axes, -INFINITY);
}

/* Normalisations: statistics over trailing axes (LayerNormalization) or
 * over each instance's or group's spatial dims (Instance-, Group-
 * Normalization) count only the elements inside the extents (ops/norm.c),
 * the padding masked to zeros; per channel (BatchNormalization) and across
 * channels (LRN) nothing mixes along a spatial dim. Channels stay static. */
static bool rule_norm(Node *n, Diag *d, DynNeeds *nd)
{
    const Value *x = n->in[0];
    int r = x->shape.rank;
    bool layer = strcmp(n->op_type, "LayerNormalization") == 0;
    unsigned dyn = ir_dyn_axes(x), over = 0;
    if (!layer && (dyn & 2u))
        return refuse(d, n, x, 1, "channels cannot be a run-time dim");
    if (layer) {
        int64_t a = ir_attr_int(n, "axis", -1);
        over = dyn & ~((1u << (a < 0 ? a + r : a)) - 1);
    } else if (!strcmp(n->op_type, "InstanceNormalization") || !strcmp(n->op_type, "GroupNormalization")) {
        over = dyn & ~3u;
    } else if (!strcmp(n->op_type, "MeanVarianceNormalization") && (dyn & ~1u)) {
        return refuse(d, n, x, __builtin_ctz(dyn & ~1u), "a normalisation over it depends on its extent");
    }
    copy_dyn(n, n->out[0], x);
    for (int o = 1; layer && o < n->nout; o++)   /* mean, inv_std: 1 along the normalised axes */
        if (n->out[o])
            for (int k = 0; k < r && k < n->out[o]->shape.rank; k++)
                ir_set_dyn(G(n), n->out[o], k, (over >> k) & 1u ? NULL : ir_dyn(x, k));
    return add_mask(nd, 0, over, 0.0);
}

/* ---- data movement ---- */

static bool rule_concat(Node *n, Diag *d)
{
    Value *y = n->out[0];
    int r = y->shape.rank;
    int64_t axis = ir_attr_int(n, "axis", 0);
    if (axis < 0)
        axis += r;
    Value *in[64];
    int nin = 0;
    for (int i = 0; i < n->nin && nin < 64; i++)
        if (n->in[i])
            in[nin++] = n->in[i];
    for (int k = 0; k < r; k++) {
        if (k != axis) {
            const DimExpr *x;
            if (!bcast_dim(n, d, in, nin, r, k, &x))
                return false;
            ir_set_dyn(G(n), y, k, x);
            continue;
        }
        /* along the axis: only the last piece may be run-time, so the
         * meaningful elements stay a prefix */
        int64_t before = 0;
        for (int i = 0; i + 1 < nin; i++) {
            if (ir_dyn(in[i], k))
                return refuse(d, n, in[i], k, "Concat along it puts padding before later pieces");
            before += in[i]->shape.dim[k];
        }
        const DimExpr *last = nin ? ir_dyn(in[nin - 1], k) : NULL;
        ir_set_dyn(G(n), y, k, last ? dx_affine(G(n), last, 1, before) : NULL);
    }
    return true;
}

/* The run-time extent after slicing a dim of extent e (NULL: static, max
 * `dim`) by start/end/step given as expressions. */
static bool rule_slice(Node *n, Diag *d)
{
    Value *x = n->in[0], *y = n->out[0];
    int r = x->shape.rank;
    copy_dyn(n, y, x);
    bool attr = n->nin < 2 || !n->in[1];
    const Value *sv = attr ? NULL : n->in[1], *ev = attr ? NULL : n->in[2];
    const Value *av = !attr && n->nin > 3 ? n->in[3] : NULL, *pv = !attr && n->nin > 4 ? n->in[4] : NULL;
    int cnt = attr ? (ir_attr(n, "starts") ? ir_attr(n, "starts")->n : 0) : (int)ir_value_numel(sv);
    if ((av && dyn_tainted(av)) || (pv && dyn_tainted(pv)))
        return op_unsupported(d, n, "Slice's axes or steps computed from a run-time dim");
    for (int i = 0; i < cnt; i++) {
        int64_t axis = av ? ir_const_i(av, i) : attr ? attr_at(n, "axes", i, i) : i;
        if (axis < 0)
            axis += r;
        if (axis < 0 || axis >= r)
            continue;   /* the row has reported it */
        int64_t step = pv ? ir_const_i(pv, i) : 1;
        const DimExpr *e = ir_dyn(x, (int)axis);
        const DimExpr *st = attr ? dx_const(G(n), attr_at(n, "starts", i, 0)) : elem(n, sv, i);
        const DimExpr *en = attr ? dx_const(G(n), attr_at(n, "ends", i, 0)) : elem(n, ev, i);
        bool tainted_s = !attr && (sv->sym_unknown || (sv->symval && sv->symval[i]));
        bool tainted_e = !attr && (ev->sym_unknown || (ev->symval && ev->symval[i]));
        if ((!attr && sv->sym_unknown) || (!attr && ev->sym_unknown))
            return op_unsupported(d, n, "Slice bounds computed from a run-time dim in a way dlc does not follow");
        if (!e && !tainted_s && !tainted_e)
            continue;
        int64_t s0, e0, dim = x->shape.dim[axis];
        if (step != 1)
            return refuse(d, n, x, (int)axis, "a Slice with a step along it");
        if (!dx_is_const(st, &s0) || s0 < 0)
            return op_unsupported(d, n, "Slice starting at a position counted from a run-time end");
        if (!e)
            e = dx_const(G(n), dim);
        /* end: a constant (negative counts from the run-time end, past the
         * end means all) or an expression of a run-time dim */
        const DimExpr *end;
        if (dx_is_const(en, &e0))
            end = e0 < 0 ? dx_affine(G(n), e, 1, e0) : e0 >= dim ? e : dx_min(G(n), e, e0);
        else if (en->sym == e->sym || dx_is_const(e, NULL))
            end = en;
        else
            return refuse(d, n, x, (int)axis, "a Slice ending at another run-time dim");
        if (dx_is_const(e, NULL) && !dx_is_const(end, NULL)) {
            /* a static dim cut at a run-time end: min(end, dim) */
            end = dx_min(G(n), end, dim);
        }
        ir_set_dyn(G(n), y, (int)axis, dx_affine(G(n), end, 1, -s0));
    }
    return true;
}

/* Indices along a run-time dim must be constants >= 0: a negative one
 * counts from the run-time end, which the padded layout does not know. */
static bool indices_along(Node *n, Diag *d, const Value *x, int axis, const Value *idx)
{
    if (!ir_dyn(x, axis))
        return true;
    if (!idx->data || dyn_tainted(idx))
        return refuse(d, n, x, axis, "run-time indices along it");
    for (int64_t i = 0; i < ir_value_numel(idx); i++)
        if (ir_const_i(idx, i) < 0)
            return refuse(d, n, x, axis, "a negative index along it counts from its run-time end");
    return true;
}

static bool rule_gather_elements(Node *n, Diag *d)
{
    const Value *x = n->in[0], *idx = n->in[1];
    int64_t axis = ir_attr_int(n, "axis", 0);
    if (axis < 0)
        axis += x->shape.rank;
    if (!indices_along(n, d, x, (int)axis, idx))
        return false;
    copy_dyn(n, n->out[0], idx);
    return true;
}

static bool rule_gather(Node *n, Diag *d)
{
    const Value *x = n->in[0], *idx = n->in[1];
    Value *y = n->out[0];
    int r = x->shape.rank, ri = idx->shape.rank;
    int64_t axis = ir_attr_int(n, "axis", 0);
    if (axis < 0)
        axis += r;
    if (!indices_along(n, d, x, (int)axis, idx))
        return false;
    int o = 0;
    for (int k = 0; k < axis; k++)
        ir_set_dyn(G(n), y, o++, ir_dyn(x, k));
    for (int k = 0; k < ri; k++)
        ir_set_dyn(G(n), y, o++, ir_dyn(idx, k));
    for (int k = (int)axis + 1; k < r; k++)
        ir_set_dyn(G(n), y, o++, ir_dyn(x, k));
    return true;
}

static bool rule_split(Node *n, Diag *d)
{
    const Value *x = n->in[0];
    int64_t axis = ir_attr_int(n, "axis", 0);
    if (axis < 0)
        axis += x->shape.rank;
    if (ir_dyn(x, (int)axis))
        return refuse(d, n, x, (int)axis, "Split along it");
    for (int o = 0; o < n->nout; o++)
        if (n->out[o])
            copy_dyn(n, n->out[o], x);
    return true;
}

/* Shapes given as run-time-dim expressions: ConstantOfShape, Expand. */
static bool shape_from(Node *n, Diag *d, const Value *shape, Value *y, int off)
{
    if (shape->sym_unknown)
        return op_unsupported(d, n, "a shape computed from a run-time dim in a way dlc does not follow");
    for (int64_t i = 0; shape->symval && i < ir_value_numel(shape); i++)
        if (shape->symval[i] && (int)i + off >= 0 && !ir_dyn(y, (int)i + off))
            ir_set_dyn(G(n), y, (int)i + off, shape->symval[i]);
    return true;
}

static bool rule_expand(Node *n, Diag *d)
{
    Value *y = n->out[0];
    if (!rule_bcast(n, d))
        return false;
    int64_t len = ir_value_numel(n->in[1]);
    return shape_from(n, d, n->in[1], y, y->shape.rank - (int)len);
}

static bool rule_range(Node *n, Diag *d)
{
    const Value *s = n->in[0], *l = n->in[1], *dl = n->in[2];
    if (!dyn_tainted(l))
        return true;
    if (dyn_tainted(s) || dyn_tainted(dl) || l->sym_unknown || !l->symval)
        return op_unsupported(d, n, "Range's start or delta computed from a run-time dim");
    int64_t st = ir_const_i(s, 0), de = ir_const_i(dl, 0);
    if (de <= 0)
        return op_unsupported(d, n, "a Range counting down to a run-time dim");
    ir_set_dyn(G(n), n->out[0], 0,
               dx_floordiv(G(n), dx_affine(G(n), l->symval[0], 1, -st + de - 1), de));
    return true;
}

static bool rule_rnn(Node *n, Diag *d, DynNeeds *nd)
{
    const Value *x = n->in[0];
    bool batch_first = ir_attr_int(n, "layout", 0) != 0;
    int sk = batch_first ? 1 : 0, bk = batch_first ? 0 : 1;
    const DimExpr *seq = ir_dyn(x, sk), *batch = ir_dyn(x, bk);
    if (ir_dyn(x, 2))
        return refuse(d, n, x, 2, "the input size cannot be a run-time dim");
    if (batch)
        return refuse(d, n, x, bk, "a run-time batch of a recurrent net");
    for (int i = 5; i < n->nin; i++)
        if (n->in[i] && ir_has_dyn(n->in[i]))
            return refuse(d, n, n->in[i], __builtin_ctz(ir_dyn_axes(n->in[i])), "initial states");
    if (seq) {
        if (n->nin > 4 && n->in[4])
            return refuse(d, n, x, sk, "sequence_lens given as well");
        nd->seq_len = seq;
        /* Y: [seq, dirs, batch, hidden] or [batch, seq, dirs, hidden] */
        if (n->nout > 0 && n->out[0])
            ir_set_dyn(G(n), n->out[0], batch_first ? 1 : 0, seq);
    }
    return true;
}

/* ---- Pad ---- */

/* Constant padding along a run-time dim: its end padding lands right past
 * the extent, where the input's padding is, so that is filled with the pad
 * value first; the other modes read the run-time end. */
static bool rule_pad(Node *n, Diag *d, DynNeeds *nd)
{
    const Value *x = n->in[0];
    int r = x->shape.rank;
    int64_t pads[2 * IR_MAX_RANK], axes[IR_MAX_RANK];
    const char *attr = n->graph->opset < 2 ? "paddings" : n->graph->opset < 11 ? "pads" : NULL;
    int np = op_ints(n, attr, attr ? -1 : 1, pads, 2 * IR_MAX_RANK);
    int na = n->nin > 3 && n->in[3] ? op_ints(n, NULL, 3, axes, IR_MAX_RANK) : -1;
    if (na < 0)
        for (int i = 0; i < r; i++)
            axes[i] = i;
    na = na < 0 ? r : na;
    if (np != 2 * na)
        return op_unsupported(d, n, "Pad with run-time pads and a run-time dim");
    double fill = n->graph->opset < 11 ? ir_attr_float(n, "value", 0) : 0;
    if (n->graph->opset >= 11 && n->nin > 2 && n->in[2]) {
        if (!n->in[2]->data || dyn_tainted(n->in[2]))
            return op_unsupported(d, n, "Pad with a run-time value and a run-time dim");
        fill = ir_const_f(n->in[2], 0);
    }
    copy_dyn(n, n->out[0], x);
    unsigned masked = 0;
    for (int i = 0; i < na; i++) {
        int k = (int)(axes[i] < 0 ? axes[i] + r : axes[i]);
        const DimExpr *e = ir_dyn(x, k);
        if (k < 0 || k >= r || !e)
            continue;
        int64_t b = pads[i], en = pads[na + i];
        if (strcmp(ir_attr_string(n, "mode", "constant"), "constant"))
            return refuse(d, n, x, k, "this padding mode reads its run-time end");
        if (en < 0)
            return refuse(d, n, x, k, "Pad cropping its run-time end");
        ir_set_dyn(G(n), n->out[0], k, dx_affine(G(n), e, 1, b + en));
        if (en > 0)
            masked |= 1u << k;
    }
    return add_mask(nd, 0, masked, fill);
}

/* ---- Resize, Upsample ---- */

/* The padded layout holds when the scale along a run-time dim is the same
 * integer (or its reciprocal) at every size and the coordinate mapping
 * does not read the extent (not align_corners); reads past the extent
 * then see the edge, as clamped reads do at the run-time size. */
static bool rule_resize(Node *n, Diag *d, DynNeeds *nd)
{
    const Value *x = n->in[0];
    Value *y = n->out[0];
    int r = x->shape.rank;
    bool r11 = strcmp(n->op_type, "Resize") == 0 && n->op->since >= 11;
    const Value *scales = r11 ? (n->nin > 2 ? n->in[2] : NULL) : (n->nin > 1 ? n->in[1] : NULL);
    const Value *sizes = r11 && n->nin > 3 ? n->in[3] : NULL;
    if (sizes && ir_value_numel(sizes) == 0)
        sizes = NULL;
    if (sizes && sizes->sym_unknown)
        return op_unsupported(d, n, "Resize sizes computed from a run-time dim in a way dlc does not follow");
    const char *coord = r11 ? ir_attr_string(n, "coordinate_transformation_mode", "half_pixel") : "asymmetric";
    const char *mode = ir_attr_string(n, "mode", "nearest");
    const char *nearest = r11 ? ir_attr_string(n, "nearest_mode", "round_prefer_floor") : "floor";
    unsigned axes = 0;
    for (int k = 0; k < r; k++) {
        const DimExpr *e = ir_dyn(x, k);
        const DimExpr *want = sizes && sizes->symval ? sizes->symval[k] : NULL;
        if (!e && !want)
            continue;
        if (!e)
            return op_unsupported(d, n, "Resize of a static dim to a run-time size");
        if (ir_attr(n, "axes") || strcmp(ir_attr_string(n, "keep_aspect_ratio_policy", "stretch"), "stretch") ||
            !strcmp(coord, "align_corners") || !strcmp(coord, "tf_crop_and_resize") ||
            (ir_attr_int(n, "exclude_outside", 0) && !strcmp(mode, "cubic")))
            return refuse(d, n, x, k, "this Resize's coordinates depend on the extent");
        int64_t in = x->shape.dim[k], out = y->shape.dim[k];
        const DimExpr *o = NULL;
        if (out % in == 0)
            o = dx_affine(G(n), e, out / in, 0);
        else if (in % out == 0)
            o = dx_floordiv(G(n), e, in / out);
        if (o && want && !dx_equal(G(n), o, want))
            o = NULL;
        if (o && !want && scales && ir_value_numel(scales) == r) {
            double s = ir_const_f(scales, k);
            if (s != (double)out / (double)in && s * (double)(in / out) != 1.0)
                o = NULL;
        }
        if (!o)
            return refuse(d, n, x, k, "the scale would change with the run-time size "
                                      "(a range in steps, LO..HI/STEP, may keep it fixed)");
        if (in > out && ir_attr_int(n, "antialias", 0))
            return refuse(d, n, x, k, "an antialiased downscale");
        ir_set_dyn(G(n), y, k, o);
        if (strcmp(mode, "nearest") || strcmp(nearest, "floor") || strcmp(coord, "asymmetric") || in > out)
            axes |= 1u << k;
    }
    if (axes) {
        if (!add_mask(nd, 0, axes, 0.0))
            return false;
        nd->mask[nd->nmask - 1].edge = true;
    }
    return true;
}

/* ---- the table ---- */

/* The row's rule; elementwise rows broadcast. */
static OpDyn rule_of(const Node *n)
{
    if (!n->op)
        return DYN_NONE;
    if (n->op->dyn)
        return n->op->dyn;
    return n->op->flags & OPF_ELEMENTWISE ? DYN_BCAST : DYN_NONE;
}

bool dyn_shape_slot(const Node *n, int i)
{
    switch (rule_of(n)) {
    case DYN_RESHAPE: return i == 1;
    case DYN_SLICE: return i >= 1;
    case DYN_EXPAND: return i == 1;
    case DYN_CONST_OF_SHAPE: return i == 0;
    case DYN_RANGE: return i == 1;     /* the limit; start and delta set values */
    case DYN_RESIZE: return i == 3;    /* sizes, checked against the input's extent */
    case DYN_STATIC: return true;     /* Shape and Size read only the shape */
    default: return false;
    }
}

bool dyn_infer_node(Node *n, DynNeeds *nd, Diag *d)
{
    memset(nd, 0, sizeof *nd);
    clear_outputs(n);
    bool any = false;
    for (int i = 0; i < n->nin; i++)
        if (n->in[i] && (ir_has_dyn(n->in[i]) || dyn_tainted(n->in[i])))
            any = true;
    if (!any)
        return true;
    switch (rule_of(n)) {
    case DYN_BCAST: return rule_bcast(n, d);
    case DYN_SAME:
        for (int o = 0; o < n->nout; o++)
            if (n->out[o] && n->out[o]->shape.rank == n->in[0]->shape.rank)
                copy_dyn(n, n->out[o], n->in[0]);
        if (strcmp(n->op_type, "CumSum") == 0 && ir_attr_int(n, "reverse", 0) && ir_has_dyn(n->in[0]))
            return refuse(d, n, n->in[0], __builtin_ctz(ir_dyn_axes(n->in[0])), "a reverse CumSum");
        return true;
    case DYN_RESHAPE: return rule_reshape(n, d);
    case DYN_TRANSPOSE: return rule_transpose(n, d);
    case DYN_WINDOW: return rule_window(n, d, nd);
    case DYN_GLOBAL_POOL: return rule_global_pool(n, d, nd);
    case DYN_MATMUL: return rule_matmul(n, d, nd);
    case DYN_REDUCE: return rule_reduce(n, d, nd);
    case DYN_SOFTMAX: return rule_softmax(n, d, nd);
    case DYN_NORM: return rule_norm(n, d, nd);
    case DYN_CONCAT: return rule_concat(n, d);
    case DYN_SLICE: return rule_slice(n, d);
    case DYN_GATHER: return rule_gather(n, d);
    case DYN_GATHER_ELEMENTS: return rule_gather_elements(n, d);
    case DYN_RESIZE: return rule_resize(n, d, nd);
    case DYN_PAD: return rule_pad(n, d, nd);
    case DYN_SPLIT: return rule_split(n, d);
    case DYN_EXPAND: return rule_expand(n, d);
    case DYN_CONST_OF_SHAPE: return shape_from(n, d, n->in[0], n->out[0], 0);
    case DYN_RANGE: return rule_range(n, d);
    case DYN_RNN: return rule_rnn(n, d, nd);
    case DYN_STATIC: return true;
    case DYN_NONE: break;
    }
    for (int i = 0; i < n->nin; i++)
        if (n->in[i] && ir_has_dyn(n->in[i]))
            return refuse(d, n, n->in[i], __builtin_ctz(ir_dyn_axes(n->in[i])),
                          "this operator does not follow run-time dims yet");
    return true;    /* tainted inputs only: the caller decides */
}

/* ---- symbolic values of folded shape arithmetic ---- */

static const DimExpr **new_symval(Node *n, Value *v)
{
    int64_t numel = ir_value_numel(v);
    if (numel <= 0 || numel > 64 || (v->dtype != DT_INT64 && v->dtype != DT_INT32 && v->dtype != DT_BOOL)) {
        v->sym_unknown = true;
        return NULL;
    }
    v->symval = ir_alloc_array(G(n)->arena, (size_t)numel, sizeof *v->symval);
    return v->symval;
}

/* Element i of a binary op's input broadcast to an output of `numel`. */
static const DimExpr *bin_elem(Node *n, const Value *v, int64_t i, int64_t numel)
{
    int64_t vn = ir_value_numel(v);
    return elem(n, v, vn == numel ? i : 0);
}

void dyn_fold_symvals(Node *n)
{
    Graph *g = G(n);
    /* inputs that set only the output's shape leave its values alone
     * (Range's limit, Expand's shape, Reshape's shape ...) */
    bool tainted = false;
    for (int i = 0; i < n->nin; i++)
        tainted |= dyn_tainted(n->in[i]) && !dyn_shape_slot(n, i);
    if (strcmp(n->op_type, "Shape") == 0) {
        const Value *x = n->in[0];
        if (!ir_has_dyn(x))
            return;
        int64_t r = x->shape.rank, start = ir_attr_int(n, "start", 0);
        start = start < 0 ? start + r : start;
        start = start < 0 ? 0 : start > r ? r : start;
        const DimExpr **sv = new_symval(n, n->out[0]);
        for (int64_t k = start; sv && k < r && k - start < ir_value_numel(n->out[0]); k++)
            sv[k - start] = ir_dyn(x, (int)k);
        return;
    }
    if (strcmp(n->op_type, "Size") == 0) {
        const Value *x = n->in[0];
        unsigned axes = ir_dyn_axes(x);
        if (!axes)
            return;
        if (axes & (axes - 1)) {
            n->out[0]->sym_unknown = true;
            return;
        }
        int k = __builtin_ctz(axes);
        const DimExpr **sv = new_symval(n, n->out[0]);
        if (sv)
            sv[0] = dx_affine(g, ir_dyn(x, k), op_dims_prod(x->shape.dim, 0, x->shape.rank) / x->shape.dim[k], 0);
        return;
    }
    /* (a node that mixes along a run-time dim is never folded: infer+fold) */
    if (!tainted)
        return;
    Value *y = n->out[0];
    const char *op = n->op_type;
    int64_t numel = ir_value_numel(y);
    if (n->nout != 1 || !y) {
        for (int o = 0; o < n->nout; o++)
            if (n->out[o])
                n->out[o]->sym_unknown = true;
        return;
    }
    for (int i = 0; i < n->nin; i++)
        if (n->in[i] && n->in[i]->sym_unknown) {
            y->sym_unknown = true;
            return;
        }
    bool same_order = !strcmp(op, "Identity") || !strcmp(op, "Reshape") || !strcmp(op, "Squeeze") ||
                      !strcmp(op, "Unsqueeze") || !strcmp(op, "Flatten") ||
                      (!strcmp(op, "Cast") && !ir_dtype_is_float(y->dtype) && !ir_dtype_is_float(n->in[0]->dtype));
    const DimExpr **sv = new_symval(n, y);
    if (!sv)
        return;
    if (same_order) {
        for (int64_t i = 0; i < numel; i++)
            sv[i] = n->in[0]->symval ? n->in[0]->symval[i] : NULL;
    } else if (!strcmp(op, "Concat") && y->shape.rank == 1) {
        int64_t o = 0;
        for (int i = 0; i < n->nin; i++)
            for (int64_t j = 0; n->in[i] && j < ir_value_numel(n->in[i]) && o < numel; j++)
                sv[o++] = n->in[i]->symval ? n->in[i]->symval[j] : NULL;
    } else if (!strcmp(op, "Gather") && n->in[0]->shape.rank == 1 && !dyn_tainted(n->in[1])) {
        int64_t len = ir_value_numel(n->in[0]);
        for (int64_t i = 0; i < numel; i++) {
            int64_t j = ir_const_i(n->in[1], i);
            j = j < 0 ? j + len : j;
            sv[i] = n->in[0]->symval && j >= 0 && j < len ? n->in[0]->symval[j] : NULL;
        }
    } else if (!strcmp(op, "Slice") && n->in[0]->shape.rank == 1 && n->nin >= 3 &&
               !dyn_tainted(n->in[1]) && !dyn_tainted(n->in[2])) {
        int64_t len = ir_value_numel(n->in[0]), s = ir_const_i(n->in[1], 0);
        int64_t step = n->nin > 4 && n->in[4] ? ir_const_i(n->in[4], 0) : 1;
        s = s < 0 ? s + len : s;
        s = s < 0 ? 0 : s > len - 1 ? len - 1 : s;
        for (int64_t i = 0; i < numel; i++)
            sv[i] = n->in[0]->symval ? n->in[0]->symval[s + i * step] : NULL;
    } else if ((!strcmp(op, "Add") || !strcmp(op, "Sub") || !strcmp(op, "Mul") || !strcmp(op, "Div") ||
                !strcmp(op, "Min")) && n->nin == 2 && !ir_dtype_is_float(y->dtype)) {
        for (int64_t i = 0; i < numel; i++) {
            const DimExpr *a = bin_elem(n, n->in[0], i, numel), *b = bin_elem(n, n->in[1], i, numel);
            int64_t c;
            const DimExpr *r = NULL;
            if (!strcmp(op, "Add"))
                r = dx_add(g, a, b);
            else if (!strcmp(op, "Sub"))
                r = dx_is_const(b, &c) && c != INT64_MIN ? dx_affine(g, a, 1, -c) : NULL;
            else if (!strcmp(op, "Mul"))
                r = dx_mul(g, a, b);
            else if (!strcmp(op, "Div"))
                r = dx_is_const(b, &c) ? dx_floordiv(g, a, c) : NULL;
            else if (dx_is_const(b, &c))
                r = dx_min(g, a, c);
            else if (dx_is_const(a, &c))
                r = dx_min(g, b, c);
            if (!r) {
                y->sym_unknown = true;
                y->symval = NULL;
                return;
            }
            sv[i] = dx_is_const(r, NULL) ? NULL : r;
        }
    } else if (!strcmp(op, "Equal") && n->nin == 2) {
        /* decided when the expression's range excludes the constant */
        for (int64_t i = 0; i < numel; i++) {
            const DimExpr *a = bin_elem(n, n->in[0], i, numel), *b = bin_elem(n, n->in[1], i, numel);
            int64_t c;
            if (dx_is_const(a, &c))
                a = b;
            else if (!dx_is_const(b, &c))
                goto unknown;
            if (!dx_is_const(a, NULL)) {
                bool ok = true;
                const RtDim *rd = &g->rtdims[a->sym];
                if (c >= dx_eval(a, rd->lo, &ok) && c <= dx_eval(a, rd->hi, &ok))
                    goto unknown;
            }
        }
        y->symval = NULL;   /* the folded value holds */
    } else if (!strcmp(op, "Where") && n->nin == 3 && !dyn_tainted(n->in[0])) {
        for (int64_t i = 0; i < numel; i++) {
            int64_t cn = ir_value_numel(n->in[0]);
            bool pick = ir_const_i(n->in[0], cn == numel ? i : 0) != 0;
            const DimExpr *r = bin_elem(n, n->in[pick ? 1 : 2], i, numel);
            sv[i] = dx_is_const(r, NULL) ? NULL : r;
        }
    } else {
        goto unknown;
    }
    return;
unknown:
    y->symval = NULL;
    y->sym_unknown = true;
}
