/* Data-movement operators whose every source position is known at compile
 * time: Concat, Transpose, Slice, Split, Pad, DepthToSpace, SpaceToDepth,
 * Compress (with its constant condition).
 *
 * Each lowers to loops over its output (or over the part of the output one
 * input covers) that compute a source index. Most are strided copies and
 * share lw_copy_strided (ops/copy.c), which merges dimensions that stay
 * contiguous on both sides so the innermost loop is as long and as
 * contiguous as it can be. The operators indexed at run time are in
 * ops/gather.c. */
#include "ops.h"
#include "../ir/dims.h"

#include <string.h>

/* ---- shared checks ---- */

/* Ints from attribute `attr` or constant input `in`; *count is -1 when
 * neither is given. A run-time input would make shapes dynamic. */
static bool read_ints(Node *n, Diag *d, const char *attr, int in, const char *what,
                      int64_t *out, int max, int *count)
{
    int c = op_ints(n, attr, in, out, max);
    if (c == -2)
        return op_dynamic_input(d, n, in, what);
    if (c > max) {
        diag_error(d, n, "%s has %d entries, at most %d are possible", what, c, max);
        return false;
    }
    *count = c;
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
    if (!op_inputs_known(n, d) || !op_dtype_ok(n, d, n->in[0]))
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
        if (!op_same_dtype(n, d, i, 0))
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
    int64_t outer = op_dims_prod(out->shape.dim, 0, ax);
    int64_t inner = op_dims_prod(out->shape.dim, ax + 1, rank);
    int64_t ochunk = out->shape.dim[ax] * inner, off = 0;
    for (int i = 0; i < n->nin; i++) {
        Value *v = n->in[i];
        int64_t chunk = v->shape.dim[ax] * inner;
        int64_t dims[2] = {outer, chunk}, dstr[2] = {ochunk, 1}, sstr[2] = {chunk, 1};
        lw_copy_strided(k, k->root, out, off, v, 0, 2, dims, dstr, sstr);
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
    if (!op_inputs_known(n, d) || !op_dtype_ok(n, d, n->in[0]))
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

/* Below this many elements a transpose stays a loop (nothing to gain). */
#define TRANSPOSE_CALL_MIN 1024

/* A KC_TRANSPOSE call when the output's innermost axis is not the input's
 * (a loop in output order would read one float per cache line), for a
 * float32 input computed at run time with static dims; the output's dims,
 * merged where they stay adjacent in the input, leave at most two axes
 * besides the transposed pair. */
static bool transpose_kernel_call(Node *n, const int64_t *ostr, const int64_t *sstr)
{
    Value *in = n->in[0], *out = n->out[0];
    if (in->dtype != DT_FLOAT || in->data || ir_has_dyn(in) || ir_has_dyn(out) ||
        ir_value_numel(out) < TRANSPOSE_CALL_MIN)
        return false;
    int64_t dm[IR_MAX_RANK], ds[IR_MAX_RANK], ss[IR_MAX_RANK];
    int r = lw_merge_dims(out->shape.rank, out->shape.dim, ostr, sstr, dm, ds, ss);
    if (r < 2 || r > 4 || ss[r - 1] == 1)
        return false;
    int a = -1;
    for (int i = 0; i < r - 1; i++)
        if (ss[i] == 1)
            a = i;
    if (a < 0)
        return false;
    int64_t outer[2][3] = {{1, 0, 0}, {1, 0, 0}};
    for (int i = 0, o = 0; i < r - 1; i++)
        if (i != a) {
            outer[o][0] = dm[i], outer[o][1] = ss[i], outer[o][2] = ds[i];
            o++;
        }
    LKernel *k = lw_kernel(n);
    LStmt *c = ls_kernel(k, KC_TRANSPOSE);
    c->kc->u.transpose = (KTranspose){.A = dm[a], .B = dm[r - 1], .sb = ss[r - 1], .da = ds[a],
                                      .n1 = outer[0][0], .s1 = outer[0][1], .d1 = outer[0][2],
                                      .n2 = outer[1][0], .s2 = outer[1][1], .d2 = outer[1][2]};
    c->kc->in[0].buf = in;
    c->kc->out.buf = out;
    ls_push(k, k->root, c);
    return true;
}

/* A kernel call (above), or loops over the output in order (innermost over
 * its last dim) reading the input at the permuted strides. */
static bool lower_transpose(Node *n, Diag *d)
{
    int perm[IR_MAX_RANK];
    if (!transpose_perm(n, d, perm))
        return false;
    Value *in = n->in[0], *out = n->out[0];
    int64_t istr[IR_MAX_RANK], ostr[IR_MAX_RANK], sstr[IR_MAX_RANK];
    ir_strides(&in->shape, istr);
    ir_strides(&out->shape, ostr);
    for (int i = 0; i < out->shape.rank; i++)
        sstr[i] = istr[perm[i]];
    if (transpose_kernel_call(n, ostr, sstr))
        return true;
    LKernel *k = lw_kernel(n);
    if (out->shape.rank == 0)
        lw_copy_all(k, k->root, out, in);
    else
        lw_copy_strided(k, k->root, out, 0, in, 0, out->shape.rank, out->shape.dim, ostr, sstr);
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
            cnt = e > b ? (e - b - 1) / st + 1 : 0;   /* no overflow for a huge step */
        } else if (dim == 0) {
            cnt = 0;
        } else {
            b = b < 0 ? 0 : b > dim - 1 ? dim - 1 : b;
            e = e < -1 ? -1 : e > dim - 1 ? dim - 1 : e;
            uint64_t m = 0 - (uint64_t)st;          /* |step|, INT64_MIN's too */
            cnt = b > e ? (int64_t)((uint64_t)(b - e - 1) / m) + 1 : 0;
        }
        p->start[ax] = cnt ? b : 0;
        p->step[ax] = cnt > 1 ? st : 1;    /* unused then; a huge one overflows strides */
        p->count[ax] = cnt;
    }
    return true;
}

static bool infer_slice(Node *n, Diag *d)
{
    if (!op_inputs_known(n, d) || !op_dtype_ok(n, d, n->in[0]))
        return false;
    for (int i = 1; i < n->nin; i++)
        if (n->in[i] && !op_index_dtype_ok(n, d, n->in[i], i))
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
        lw_copy_all(k, k->root, out, in);
    else
        lw_copy_strided(k, k->root, out, 0, in, base, r, out->shape.dim, ostr, sstr);
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
    if (!op_inputs_known(n, d) || !op_dtype_ok(n, d, n->in[0]))
        return false;
    if (n->nin > 1 && n->in[1] && !op_index_dtype_ok(n, d, n->in[1], 1))
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
    int64_t outer = op_dims_prod(s->dim, 0, ax), inner = op_dims_prod(s->dim, ax + 1, s->rank);
    int64_t ichunk = s->dim[ax] * inner, off = 0;
    for (int i = 0; i < n->nout; i++) {
        int64_t chunk = sizes[i] * inner;
        if (n->out[i]) {
            int64_t dims[2] = {outer, chunk}, dstr[2] = {chunk, 1}, sstr[2] = {ichunk, 1};
            lw_copy_strided(k, k->root, n->out[i], 0, in, off, 2, dims, dstr, sstr);
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
    if (!op_inputs_known(n, d) || !op_dtype_ok(n, d, n->in[0]))
        return false;
    if (n->nin > 1 && n->in[1] && !op_index_dtype_ok(n, d, n->in[1], 1))
        return false;
    if (n->nin > 2 && n->in[2]) {
        if (!op_same_dtype(n, d, 2, 0))
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
        LStmt *fill = lw_loop(k, k->root, total, &i);
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
            lw_copy_all(k, k->root, out, in);
        else
            lw_copy_strided(k, k->root, out, dbase, in, sbase, r, dims, ostr, istr);
        return true;
    }
    if (r == 0) {
        lw_copy_all(k, k->root, out, in);
        return true;
    }
    /* Outer dims: the source coordinate is computed once per iteration. */
    LStmt *cur = k->root;
    LExpr *src = lx_idx(k, 0), *dst = lx_idx(k, 0);
    for (int a = 0; a < r - 1; a++) {
        LExpr *ix;
        cur = lw_loop(k, cur, out->shape.dim[a], &ix);
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
        LStmt *l = lw_loop(k, cur, extent[part], &ix);
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
    if (!op_inputs_known(n, d) || !op_dtype_ok(n, d, n->in[0]) || !block_params(n, d, &bs, &crd))
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
    lw_copy_strided(k, k->root, out, 0, in, 0, 6, dims, ostr, crd ? crd_s : dcr);
    return true;
}

static bool infer_space_to_depth(Node *n, Diag *d)
{
    int64_t bs;
    bool crd;
    if (!op_inputs_known(n, d) || !op_dtype_ok(n, d, n->in[0]) || !block_params(n, d, &bs, &crd))
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
        lw_copy_strided(k, k->root, out, 0, in, 0, 6, dims, ostr, sstr);
    } else {
        int64_t dims[6] = {in->shape.dim[0], bs, bs, C, h, w};
        int64_t sstr[6] = {chw, W, 1, H * W, bs * W, bs};
        ostr[1] = bs * C * h * w, ostr[2] = C * h * w, ostr[3] = h * w;
        lw_copy_strided(k, k->root, out, 0, in, 0, 6, dims, ostr, sstr);
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
        return op_data_dependent(d, n, 1, "Compress with a run-time condition (its output "
                                          "shape depends on the condition's values)");
    const Attr *a = ir_attr(n, "axis");
    *axis = -1;
    if (a) {
        if (s->rank == 0) {
            diag_error(d, n, "axis given for a scalar input");
            return false;
        }
        if (!op_axis(d, n, a->i, s->rank, axis))
            return false;
        *outer = op_dims_prod(s->dim, 0, *axis);
        *dim = s->dim[*axis];
        *inner = op_dims_prod(s->dim, *axis + 1, s->rank);
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
    if (!op_inputs_known(n, d) || !op_dtype_ok(n, d, n->in[0]))
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
        lw_copy_strided(k, k->root, out, pos * inner, in, i * inner, 2, dims, dstr, sstr);
        pos += j - i;
        i = j;
    }
    return true;
}

/* ---- rows ---- */

static const AttrSpec no_attrs[] = {{NULL, 0}};
static const AttrSpec a_axis[] = {{"axis", ATTR_INT}, {NULL, 0}};
static const AttrSpec a_perm[] = {{"perm", ATTR_INTS}, {NULL, 0}};
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
    {.dyn = DYN_CONCAT, .name = "Concat", .since = 1, .min_in = 1, .max_in = MANY, .min_out = 1, .max_out = 1,
     .flags = OPF_INPUT_SLICES, .attrs = a_axis, .infer = infer_concat, .lower = lower_concat},
    {.dyn = DYN_TRANSPOSE, .name = "Transpose", .since = 1, .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,
     .attrs = a_perm, .infer = infer_transpose, .lower = lower_transpose,
     .role = OP_ROLE_TRANSPOSE},
    {.dyn = DYN_SLICE, .name = "Slice", .since = 1, .until = 9, .min_in = 1, .max_in = 1, .min_out = 1,
     .max_out = 1, .attrs = a_slice1, .infer = infer_slice, .lower = lower_slice,
     .flags = OPF_READS_PART},
    {.dyn = DYN_SLICE, .name = "Slice", .since = 10, .min_in = 3, .max_in = 5, .min_out = 1, .max_out = 1,
     .attrs = no_attrs, .infer = infer_slice, .lower = lower_slice,
     .flags = OPF_READS_PART},
    {.dyn = DYN_SPLIT, .name = "Split", .since = 1, .min_in = 1, .max_in = 2, .min_out = 1, .max_out = MANY,
     .attrs = a_split, .infer = infer_split, .lower = lower_split, .flags = OPF_OUTPUT_SLICES},
    {.dyn = DYN_PAD, .name = "Pad", .since = 1, .min_in = 1, .max_in = 4, .min_out = 1, .max_out = 1,
     .attrs = a_pad, .infer = infer_pad, .lower = lower_pad},
    {.name = "DepthToSpace", .since = 1, .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,
     .attrs = a_block, .infer = infer_depth_to_space, .lower = lower_depth_to_space},
    {.name = "SpaceToDepth", .since = 1, .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,
     .attrs = a_block, .infer = infer_space_to_depth, .lower = lower_space_to_depth},
    {.name = "Compress", .since = 9, .min_in = 2, .max_in = 2, .min_out = 1, .max_out = 1,
     .attrs = a_axis, .infer = infer_compress, .lower = lower_compress},
    {.name = NULL},
};
