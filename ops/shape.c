/* Shape operators: views (Reshape, Flatten, Squeeze, Unsqueeze), shape
 * queries that become constants during inference (Shape, Size, Constant),
 * generators (ConstantOfShape, Range, EyeLike, OneHot), copies with index
 * arithmetic (Expand, Tile, Trilu) and inference-mode Dropout.
 *
 * Shape-like inputs (Reshape's shape, Squeeze's axes, Expand's shape ...)
 * must be constant at compile time: dlc emits code for static shapes only,
 * so such an input computed at run time is reported as unsupported. */
#include "ops.h"

#include <math.h>
#include <string.h>

/* ---- small helpers ---- */

static const char *shape_str(const Node *n, const Shape *s)
{
    return ir_shape_str(n->graph->arena, s);
}

/* An elementwise kernel over output 0: out[i] = val(i). The caller builds
 * `val` in k with loop variable *ivar before calling ew_finish. */
static LKernel *ew_begin(Node *n, int *ivar)
{
    LKernel *k = lw_kernel(n);
    *ivar = lk_var(k, DT_INT64);
    return k;
}

static void ew_finish(LKernel *k, Node *n, int ivar, LExpr *val)
{
    Value *out = n->out[0];
    if (val->dt != out->dtype)
        val = lx_cast(k, out->dtype, val);
    LStmt *loop = ls_for(k, ivar, ir_value_numel(out));
    ls_push(k, loop, ls_store(k, out, lx_var(k, ivar), val));
    ls_push(k, k->root, loop);
    k->elementwise = true;
    k->ivar = ivar;
    k->out = out;
    k->value = val;
}

/* out[i] = in0[i]: the run-time form of a view (skipped when the memory
 * plan lets the output alias the input) and of Dropout's data output. */
static bool lower_copy(Node *n, Diag *d)
{
    (void)d;
    int i;
    LKernel *k = ew_begin(n, &i);
    ew_finish(k, n, i, lx_load(k, n->in[0], lx_var(k, i)));
    return true;
}

/* Reads the ints of attribute `name` (older opsets) or of input `in`
 * (newer ones) into out[0..max). Returns the count, -1 when neither is
 * given; reports and returns -2 when the input is computed at run time,
 * is not an integer vector, or has more than `max` elements. */
static int shape_ints(Node *n, Diag *d, const char *name, int in, const char *what,
                      int64_t *out, int max)
{
    if (in < n->nin && n->in[in] && !(name && ir_attr(n, name))) {
        const Value *v = n->in[in];
        if (!v->data) {
            op_dynamic_input(d, n, in, what);
            return -2;
        }
        if (ir_dtype_is_float(v->dtype) || v->dtype == DT_BOOL) {
            diag_error(d, n, "%s input '%s' must be an integer tensor, got %s", what, v->name,
                       ir_dtype_name(v->dtype));
            return -2;
        }
        if (v->shape.rank > 1) {
            diag_error(d, n, "%s input '%s' must be 1-D, got shape %s", what, v->name,
                       shape_str(n, &v->shape));
            return -2;
        }
    }
    int64_t tmp[IR_MAX_RANK + 1];
    int cnt = op_ints(n, name, in, tmp, IR_MAX_RANK + 1);
    if (cnt == -2) {    /* constant but absurdly long */
        op_unsupported(d, n, "%s with more than %d elements", what, IR_MAX_RANK);
        return -2;
    }
    if (cnt > max) {
        op_unsupported(d, n, "%s with %d elements (dlc handles rank up to %d)", what, cnt,
                       IR_MAX_RANK);
        return -2;
    }
    if (cnt > 0)
        memcpy(out, tmp, (size_t)cnt * sizeof *out);
    return cnt;
}

/* A scalar (or one-element) constant input, as int64. */
static bool scalar_input_i(Node *n, Diag *d, int in, const char *what, int64_t *out)
{
    const Value *v = n->in[in];
    if (!v->data)
        return op_dynamic_input(d, n, in, what);
    if (ir_value_numel(v) != 1) {
        diag_error(d, n, "%s input '%s' must have one element, got shape %s", what, v->name,
                   shape_str(n, &v->shape));
        return false;
    }
    if (ir_dtype_is_float(v->dtype)) {
        double x = ir_const_f(v, 0);
        if (!(x > -9.2e18 && x < 9.2e18)) {
            diag_error(d, n, "%s input '%s' is not a finite integer", what, v->name);
            return false;
        }
        *out = (int64_t)x;
    } else {
        *out = ir_const_i(v, 0);
    }
    return true;
}

/* Fills s from dims[0..rank), checking the element count. */
static bool make_shape(Node *n, Diag *d, const int64_t *dims, int rank, Shape *s)
{
    memset(s, 0, sizeof *s);
    s->rank = rank;
    int64_t numel = 1;
    for (int i = 0; i < rank; i++) {
        if (dims[i] < 0) {
            diag_error(d, n, "output dim %d is negative (%lld)", i, (long long)dims[i]);
            return false;
        }
        s->dim[i] = dims[i];
        if (!ir_mul_ok(numel, dims[i], &numel)) {
            diag_error(d, n, "output shape overflows");
            return false;
        }
    }
    return true;
}

/* A fresh constant int64 output of `count` elements from vals. */
static void set_const_i64(Node *n, int out, const int64_t *vals, int64_t count, int rank)
{
    Shape s;
    memset(&s, 0, sizeof s);
    s.rank = rank;
    if (rank == 1)
        s.dim[0] = count;
    op_set_out(n, out, DT_INT64, &s);
    int64_t *p = ir_alloc_array(n->graph->arena, (size_t)(count ? count : 1), sizeof *p);
    if (count)
        memcpy(p, vals, (size_t)count * sizeof *p);
    n->out[out]->data = p;
}

/* ---- Reshape ---- */

static bool infer_reshape(Node *n, Diag *d)
{
    if (!op_inputs_known(n, d))
        return false;
    const Value *x = n->in[0];
    int64_t want[IR_MAX_RANK];
    int cnt = shape_ints(n, d, "shape", 1, "shape", want, IR_MAX_RANK);
    if (cnt == -2)
        return false;
    if (cnt < 0) {
        diag_error(d, n, "no target shape (attribute 'shape' or input 1)");
        return false;
    }
    bool allowzero = ir_attr_int(n, "allowzero", 0) != 0;
    int64_t numel, known = 1;
    ir_shape_numel(&x->shape, &numel);
    int infer_at = -1;
    for (int i = 0; i < cnt; i++) {
        if (want[i] == -1) {
            if (infer_at >= 0) {
                diag_error(d, n, "shape has more than one -1");
                return false;
            }
            infer_at = i;
            continue;
        }
        if (want[i] < -1) {
            diag_error(d, n, "shape[%d] = %lld is invalid", i, (long long)want[i]);
            return false;
        }
        if (want[i] == 0 && !allowzero) {
            if (i >= x->shape.rank) {
                diag_error(d, n, "shape[%d] = 0 copies a dim the input (rank %d) lacks", i,
                           x->shape.rank);
                return false;
            }
            want[i] = x->shape.dim[i];
        }
        if (!ir_mul_ok(known, want[i], &known)) {
            diag_error(d, n, "target shape overflows");
            return false;
        }
    }
    if (infer_at >= 0) {
        if (known == 0 || numel % known != 0) {
            diag_error(d, n, "cannot reshape %s: -1 has no integer solution",
                       shape_str(n, &x->shape));
            return false;
        }
        want[infer_at] = numel / known;
    } else if (known != numel) {
        Shape t;
        memset(&t, 0, sizeof t);
        t.rank = cnt;
        memcpy(t.dim, want, (size_t)cnt * sizeof *want);
        diag_error(d, n, "cannot reshape %s (%lld elements) to %s", shape_str(n, &x->shape),
                   (long long)numel, shape_str(n, &t));
        return false;
    }
    Shape s;
    if (!make_shape(n, d, want, cnt, &s))
        return false;
    op_set_out(n, 0, x->dtype, &s);
    return true;
}

/* ---- Flatten ---- */

static bool infer_flatten(Node *n, Diag *d)
{
    if (!op_inputs_known(n, d))
        return false;
    const Value *x = n->in[0];
    int r = x->shape.rank;
    int64_t axis = ir_attr_int(n, "axis", 1);
    if (axis < -r || axis > r) {
        diag_error(d, n, "axis %lld is out of range for rank %d", (long long)axis, r);
        return false;
    }
    if (axis < 0)
        axis += r;
    int64_t dims[2] = {1, 1};
    for (int i = 0; i < r; i++)
        if (!ir_mul_ok(dims[i >= axis], x->shape.dim[i], &dims[i >= axis])) {
            diag_error(d, n, "output shape overflows");
            return false;
        }
    Shape s;
    if (!make_shape(n, d, dims, 2, &s))
        return false;
    op_set_out(n, 0, x->dtype, &s);
    return true;
}

/* ---- Squeeze / Unsqueeze ---- */

static bool infer_squeeze(Node *n, Diag *d)
{
    if (!op_inputs_known(n, d))
        return false;
    const Value *x = n->in[0];
    int r = x->shape.rank;
    int64_t axes[IR_MAX_RANK];
    int cnt = shape_ints(n, d, "axes", 1, "axes", axes, IR_MAX_RANK);
    if (cnt == -2)
        return false;
    bool drop[IR_MAX_RANK] = {false};
    if (cnt < 0) {  /* no axes: every dim of extent 1 */
        for (int i = 0; i < r; i++)
            drop[i] = x->shape.dim[i] == 1;
    }
    for (int i = 0; i < cnt; i++) {
        int a;
        if (!op_axis(d, n, axes[i], r, &a))
            return false;
        if (drop[a]) {
            diag_error(d, n, "axis %lld is listed twice", (long long)axes[i]);
            return false;
        }
        if (x->shape.dim[a] != 1) {
            diag_error(d, n, "cannot squeeze axis %d of %s: extent is not 1", a,
                       shape_str(n, &x->shape));
            return false;
        }
        drop[a] = true;
    }
    int64_t dims[IR_MAX_RANK];
    int k = 0;
    for (int i = 0; i < r; i++)
        if (!drop[i])
            dims[k++] = x->shape.dim[i];
    Shape s;
    if (!make_shape(n, d, dims, k, &s))
        return false;
    op_set_out(n, 0, x->dtype, &s);
    return true;
}

static bool infer_unsqueeze(Node *n, Diag *d)
{
    if (!op_inputs_known(n, d))
        return false;
    const Value *x = n->in[0];
    int r = x->shape.rank;
    int64_t axes[IR_MAX_RANK];
    int cnt = shape_ints(n, d, "axes", 1, "axes", axes, IR_MAX_RANK);
    if (cnt == -2)
        return false;
    if (cnt < 0) {
        diag_error(d, n, "no axes given");
        return false;
    }
    int orank = r + cnt;
    if (orank > IR_MAX_RANK)
        return op_unsupported(d, n, "output rank %d (dlc handles rank up to %d)", orank,
                              IR_MAX_RANK);
    bool added[IR_MAX_RANK] = {false};
    for (int i = 0; i < cnt; i++) {
        int a;
        if (!op_axis(d, n, axes[i], orank, &a))
            return false;
        if (added[a]) {
            diag_error(d, n, "axis %lld is listed twice", (long long)axes[i]);
            return false;
        }
        added[a] = true;
    }
    int64_t dims[IR_MAX_RANK];
    for (int i = 0, k = 0; i < orank; i++)
        dims[i] = added[i] ? 1 : x->shape.dim[k++];
    Shape s;
    if (!make_shape(n, d, dims, orank, &s))
        return false;
    op_set_out(n, 0, x->dtype, &s);
    return true;
}

/* ---- Shape, Size, Constant: constants at compile time ---- */

static bool infer_shape(Node *n, Diag *d)
{
    if (!op_inputs_known(n, d))
        return false;
    const Shape *xs = &n->in[0]->shape;
    int64_t r = xs->rank;
    int64_t start = ir_attr_int(n, "start", 0), end = ir_attr_int(n, "end", r);
    if (start < 0)
        start += r;
    if (end < 0)
        end += r;
    start = start < 0 ? 0 : start > r ? r : start;
    end = end < 0 ? 0 : end > r ? r : end;
    int64_t len = end > start ? end - start : 0;
    set_const_i64(n, 0, xs->dim + start, len, 1);
    return true;
}

static bool infer_size(Node *n, Diag *d)
{
    if (!op_inputs_known(n, d))
        return false;
    int64_t numel;
    if (!ir_shape_numel(&n->in[0]->shape, &numel)) {
        diag_error(d, n, "input size overflows");
        return false;
    }
    set_const_i64(n, 0, &numel, 1, 0);
    return true;
}

static bool infer_constant(Node *n, Diag *d)
{
    static const char *const forms[] = {"value", "value_float", "value_floats", "value_int",
                                        "value_ints", "value_string", "value_strings",
                                        "sparse_value"};
    const Attr *a = NULL;
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        const Attr *b = ir_attr(n, forms[i]);
        if (b && a) {
            diag_error(d, n, "has both '%s' and '%s'; exactly one value attribute is allowed",
                       a->name, b->name);
            return false;
        }
        if (b)
            a = b;
    }
    if (!a) {
        diag_error(d, n, "has no value attribute");
        return false;
    }
    Arena *ar = n->graph->arena;
    Shape s;
    memset(&s, 0, sizeof s);
    Value *out = n->out[0];
    if (strcmp(a->name, "value") == 0) {
        const Value *t = a->t;
        if (a->type != ATTR_TENSOR || !t) {
            diag_error(d, n, "attribute 'value' is not a tensor");
            return false;
        }
        if (!ir_dtype_supported(t->dtype))
            return op_unsupported(d, n, "Constant of dtype %s", ir_dtype_name(t->dtype));
        if (!t->data) {
            diag_error(d, n, "attribute 'value' has no data");
            return false;
        }
        op_set_out(n, 0, t->dtype, &t->shape);
        out->data = t->data;
        return true;
    }
    if (strcmp(a->name, "value_float") == 0 || strcmp(a->name, "value_floats") == 0) {
        bool one = a->type == ATTR_FLOAT;
        int64_t cnt = one ? 1 : a->n;
        s.rank = one ? 0 : 1;
        s.dim[0] = one ? 0 : cnt;
        op_set_out(n, 0, DT_FLOAT, &s);
        float *p = ir_alloc_array(ar, (size_t)(cnt ? cnt : 1), sizeof *p);
        if (one)
            p[0] = a->f;
        else if (cnt)
            memcpy(p, a->floats, (size_t)cnt * sizeof *p);
        out->data = p;
        return true;
    }
    if (strcmp(a->name, "value_int") == 0 || strcmp(a->name, "value_ints") == 0) {
        if (a->type == ATTR_INT)
            set_const_i64(n, 0, &a->i, 1, 0);
        else
            set_const_i64(n, 0, a->ints, a->n, 1);
        return true;
    }
    if (strcmp(a->name, "sparse_value") == 0)
        return op_unsupported(d, n, "Constant with a sparse_value");
    return op_unsupported(d, n, "Constant of strings ('%s')", a->name);
}

/* Shape, Size and Constant outputs are constants after inference, so the
 * node is folded away and never lowered. */
static bool lower_folded(Node *n, Diag *d)
{
    (void)d;
    DLC_BUG("%s node %d was not folded to a constant", n->op_type, n->index);
}

/* ---- ConstantOfShape ---- */

static bool infer_constant_of_shape(Node *n, Diag *d)
{
    if (!op_inputs_known(n, d))
        return false;
    int64_t dims[IR_MAX_RANK];
    int cnt = shape_ints(n, d, NULL, 0, "shape", dims, IR_MAX_RANK);
    if (cnt < 0)
        return false;
    DType dt = DT_FLOAT;
    const Attr *a = ir_attr(n, "value");
    if (a) {
        if (!a->t || ir_value_numel(a->t) != 1) {
            diag_error(d, n, "attribute 'value' must be a one-element tensor");
            return false;
        }
        dt = a->t->dtype;
        if (!ir_dtype_supported(dt))
            return op_unsupported(d, n, "ConstantOfShape of dtype %s", ir_dtype_name(dt));
    }
    Shape s;
    if (!make_shape(n, d, dims, cnt, &s))
        return false;
    op_set_out(n, 0, dt, &s);
    return true;
}

/* The fill value of ConstantOfShape (or any one-element constant) as an
 * expression of dtype dt. */
static LExpr *const_elem(LKernel *k, const Value *t, DType dt)
{
    if (!t)
        return lx_num(k, dt, 0);
    if (ir_dtype_is_float(dt))
        return lx_f(k, dt, ir_const_f(t, 0));
    return lx_i(k, dt, ir_const_i(t, 0));
}

static bool lower_constant_of_shape(Node *n, Diag *d)
{
    (void)d;
    const Attr *a = ir_attr(n, "value");
    int i;
    LKernel *k = ew_begin(n, &i);
    ew_finish(k, n, i, const_elem(k, a ? a->t : NULL, n->out[0]->dtype));
    return true;
}

/* ---- Dropout (inference) ---- */

static bool infer_dropout(Node *n, Diag *d)
{
    if (!op_inputs_known(n, d))
        return false;
    const Value *x = n->in[0];
    if (n->nin > 2 && n->in[2]) {
        const Value *tm = n->in[2];
        if (!tm->data)
            return op_dynamic_input(d, n, 2, "training_mode");
        if (ir_value_numel(tm) != 1) {
            diag_error(d, n, "training_mode must be a scalar");
            return false;
        }
        if (ir_const_i(tm, 0) != 0)
            return op_unsupported(d, n, "Dropout in training mode");
    }
    /* Opsets before 7 default is_test to 0 (training), but models exported
     * for inference routinely leave it unset: dlc always runs inference. */
    op_set_out(n, 0, x->dtype, &x->shape);
    if (n->nout > 1)
        op_set_out(n, 1, n->graph->opset >= 10 ? DT_BOOL : x->dtype, &x->shape);
    return true;
}

static bool lower_dropout(Node *n, Diag *d)
{
    if (n->nout < 2 || !n->out[1])
        return lower_copy(n, d);
    LKernel *k = lw_kernel(n);
    int i = lk_var(k, DT_INT64);
    Value *x = n->in[0], *y = n->out[0], *mask = n->out[1];
    LStmt *loop = ls_for(k, i, ir_value_numel(y));
    ls_push(k, loop, ls_store(k, y, lx_var(k, i), lx_load(k, x, lx_var(k, i))));
    ls_push(k, loop, ls_store(k, mask, lx_var(k, i), lx_num(k, mask->dtype, 1)));
    ls_push(k, k->root, loop);
    return true;
}

/* ---- Range ---- */

static bool infer_range(Node *n, Diag *d)
{
    if (!op_inputs_known(n, d))
        return false;
    DType dt = n->in[0]->dtype;
    for (int i = 0; i < 3; i++) {
        const Value *v = n->in[i];
        if (v->dtype != dt) {
            diag_error(d, n, "input %d '%s' is %s but input 0 is %s", i, v->name,
                       ir_dtype_name(v->dtype), ir_dtype_name(dt));
            return false;
        }
        if (ir_value_numel(v) != 1) {
            diag_error(d, n, "input %d '%s' must be a scalar, got shape %s", i, v->name,
                       shape_str(n, &v->shape));
            return false;
        }
        if (!v->data)
            return op_dynamic_input(d, n, i, "output length");
    }
    if (dt == DT_BOOL || ir_dtype_is_unsigned(dt) || dt == DT_UINT64)
        return op_unsupported(d, n, "Range of dtype %s", ir_dtype_name(dt));
    int64_t len;
    if (ir_dtype_is_float(dt)) {
        double start = ir_const_f(n->in[0], 0), limit = ir_const_f(n->in[1], 0);
        double delta = ir_const_f(n->in[2], 0);
        if (delta == 0 || isnan(delta) || isnan(start) || isnan(limit)) {
            diag_error(d, n, "delta is zero or an input is NaN");
            return false;
        }
        double c = ceil((limit - start) / delta);
        if (!(c < 9.0e18)) {
            diag_error(d, n, "output length is not finite");
            return false;
        }
        len = c > 0 ? (int64_t)c : 0;
    } else {
        int64_t start = ir_const_i(n->in[0], 0), limit = ir_const_i(n->in[1], 0);
        int64_t delta = ir_const_i(n->in[2], 0);
        if (delta == 0) {
            diag_error(d, n, "delta is zero");
            return false;
        }
        /* ceil((limit - start) / delta) without overflow: limit - start may
         * not fit in int64, its halves do. */
        if ((delta > 0 && limit <= start) || (delta < 0 && limit >= start)) {
            len = 0;
        } else {
            uint64_t span = delta > 0 ? (uint64_t)limit - (uint64_t)start
                                      : (uint64_t)start - (uint64_t)limit;
            uint64_t step = delta > 0 ? (uint64_t)delta : 0 - (uint64_t)delta;
            uint64_t q = span / step + (span % step != 0);
            if (q > (uint64_t)INT64_MAX) {
                diag_error(d, n, "output length overflows");
                return false;
            }
            len = (int64_t)q;
        }
    }
    Shape s;
    if (!make_shape(n, d, &len, 1, &s))
        return false;
    op_set_out(n, 0, dt, &s);
    return true;
}

static bool lower_range(Node *n, Diag *d)
{
    (void)d;
    int i;
    LKernel *k = ew_begin(n, &i);
    /* Integers in int64: i * delta stays within [start, limit) + delta. */
    DType dt = n->out[0]->dtype;
    DType ct = ir_dtype_is_float(dt) ? lw_compute_type(dt) : DT_INT64;
    LExpr *start = lx_cast(k, ct, lx_load(k, n->in[0], lx_idx(k, 0)));
    LExpr *delta = lx_cast(k, ct, lx_load(k, n->in[2], lx_idx(k, 0)));
    LExpr *step = lx_bin(k, LB_MUL, lx_cast(k, ct, lx_var(k, i)), delta);
    ew_finish(k, n, i, lx_bin(k, LB_ADD, start, step));
    return true;
}

/* ---- Expand ---- */

static bool infer_expand(Node *n, Diag *d)
{
    if (!op_inputs_known(n, d))
        return false;
    const Value *x = n->in[0];
    int64_t dims[IR_MAX_RANK];
    int cnt = shape_ints(n, d, NULL, 1, "shape", dims, IR_MAX_RANK);
    if (cnt < 0)
        return false;
    Shape want, s;
    if (!make_shape(n, d, dims, cnt, &want))
        return false;
    if (!ir_broadcast(&x->shape, &want, &s)) {
        diag_error(d, n, "cannot expand %s to %s", shape_str(n, &x->shape),
                   shape_str(n, &want));
        return false;
    }
    op_set_out(n, 0, x->dtype, &s);
    return true;
}

static bool lower_expand(Node *n, Diag *d)
{
    (void)d;
    int i;
    LKernel *k = ew_begin(n, &i);
    ew_finish(k, n, i, lw_load_bcast(k, n->in[0], &n->out[0]->shape, i));
    return true;
}

/* ---- Tile ---- */

static bool infer_tile(Node *n, Diag *d)
{
    if (!op_inputs_known(n, d))
        return false;
    const Value *x = n->in[0];
    int r = x->shape.rank;
    int64_t reps[IR_MAX_RANK];
    if (n->nin == 3) {  /* Tile-1: (input, tiles, axis) */
        int64_t tiles, axis;
        int a;
        if (!scalar_input_i(n, d, 1, "tiles", &tiles) ||
            !scalar_input_i(n, d, 2, "axis", &axis) || !op_axis(d, n, axis, r, &a))
            return false;
        for (int i = 0; i < r; i++)
            reps[i] = i == a ? tiles : 1;
    } else {
        int cnt = shape_ints(n, d, NULL, 1, "repeats", reps, IR_MAX_RANK);
        if (cnt < 0)
            return false;
        if (cnt != r) {
            diag_error(d, n, "repeats has %d elements but the input has rank %d", cnt, r);
            return false;
        }
    }
    int64_t dims[IR_MAX_RANK];
    for (int i = 0; i < r; i++) {
        if (reps[i] < 0) {
            diag_error(d, n, "repeats[%d] = %lld is negative", i, (long long)reps[i]);
            return false;
        }
        if (!ir_mul_ok(x->shape.dim[i], reps[i], &dims[i])) {
            diag_error(d, n, "output shape overflows");
            return false;
        }
    }
    Shape s;
    if (!make_shape(n, d, dims, r, &s))
        return false;
    op_set_out(n, 0, x->dtype, &s);
    return true;
}

static bool lower_tile(Node *n, Diag *d)
{
    (void)d;
    LKernel *k = lw_kernel(n);
    Value *x = n->in[0], *y = n->out[0];
    int vars[IR_MAX_RANK];
    LStmt *inner = lk_nest(k, k->root, y->shape.dim, y->shape.rank, vars);
    int64_t xstr[IR_MAX_RANK];
    ir_strides(&x->shape, xstr);
    LExpr *src = lx_idx(k, 0);
    for (int i = 0; i < x->shape.rank; i++) {
        LExpr *c = lx_var(k, vars[i]);
        if (y->shape.dim[i] != x->shape.dim[i])
            c = lx_mod(k, c, lx_idx(k, x->shape.dim[i]));
        src = lx_add(k, src, lx_muli(k, c, xstr[i]));
    }
    ls_push(k, inner, ls_store(k, y, lx_flat(k, &y->shape, vars), lx_load(k, x, src)));
    return true;
}

/* ---- EyeLike ---- */

static bool infer_eye_like(Node *n, Diag *d)
{
    if (!op_inputs_known(n, d))
        return false;
    const Value *x = n->in[0];
    if (x->shape.rank != 2) {
        diag_error(d, n, "input must be 2-D, got shape %s", shape_str(n, &x->shape));
        return false;
    }
    DType dt = (DType)ir_attr_int(n, "dtype", x->dtype);
    if (!ir_dtype_supported(dt))
        return op_unsupported(d, n, "EyeLike of dtype %s", ir_dtype_name(dt));
    op_set_out(n, 0, dt, &x->shape);
    return true;
}

static bool lower_eye_like(Node *n, Diag *d)
{
    (void)d;
    LKernel *k = lw_kernel(n);
    Value *y = n->out[0];
    int v[2];
    LStmt *inner = lk_nest(k, k->root, y->shape.dim, 2, v);
    /* Clamped: a diagonal outside the matrix gives all zeros either way. */
    int64_t lim = y->shape.dim[0] + y->shape.dim[1] + 1;
    int64_t kd = ir_attr_int(n, "k", 0);
    kd = kd > lim ? lim : kd < -lim ? -lim : kd;
    LExpr *diag = lx_bin(k, LB_EQ, lx_var(k, v[1]), lx_addi(k, lx_var(k, v[0]), kd));
    LExpr *val = lx_sel(k, diag, lx_num(k, y->dtype, 1), lx_num(k, y->dtype, 0));
    ls_push(k, inner, ls_store(k, y, lx_flat(k, &y->shape, v), val));
    return true;
}

/* ---- Trilu ---- */

static bool infer_trilu(Node *n, Diag *d)
{
    if (!op_inputs_known(n, d))
        return false;
    const Value *x = n->in[0];
    if (x->shape.rank < 2) {
        diag_error(d, n, "input must have rank >= 2, got shape %s", shape_str(n, &x->shape));
        return false;
    }
    if (n->nin > 1 && n->in[1]) {
        const Value *kv = n->in[1];
        if (ir_value_numel(kv) != 1 || kv->dtype != DT_INT64) {
            diag_error(d, n, "k must be an int64 scalar, got %s %s", ir_dtype_name(kv->dtype),
                       shape_str(n, &kv->shape));
            return false;
        }
    }
    op_set_out(n, 0, x->dtype, &x->shape);
    return true;
}

/* k may be a run-time value: it selects elements, not the shape. */
static bool lower_trilu(Node *n, Diag *d)
{
    (void)d;
    LKernel *k = lw_kernel(n);
    Value *x = n->in[0], *y = n->out[0];
    int r = y->shape.rank, vars[IR_MAX_RANK];
    LExpr *kk = lx_idx(k, 0);
    if (n->nin > 1 && n->in[1]) {
        /* Read once, before the loops, and clamped so that i + k cannot
         * overflow (|k| beyond the matrix keeps all or nothing anyway). */
        int kvar = lk_var(k, DT_INT64);
        int64_t lim = y->shape.dim[r - 1] + y->shape.dim[r - 2] + 1;
        LExpr *kv = lx_load(k, n->in[1], lx_idx(k, 0));
        kv = lx_bin(k, LB_MAX, lx_bin(k, LB_MIN, kv, lx_idx(k, lim)), lx_idx(k, -lim));
        ls_push(k, k->root, ls_assign(k, kvar, kv));
        kk = lx_var(k, kvar);
    }
    LStmt *inner = lk_nest(k, k->root, y->shape.dim, r, vars);
    bool upper = ir_attr_int(n, "upper", 1) != 0;
    LExpr *i = lx_var(k, vars[r - 2]), *j = lx_var(k, vars[r - 1]);
    LExpr *keep = lx_bin(k, upper ? LB_GE : LB_LE, j, lx_add(k, i, kk));
    LExpr *idx = lx_flat(k, &y->shape, vars);
    LExpr *val = lx_sel(k, keep, lx_load(k, x, idx), lx_num(k, x->dtype, 0));
    ls_push(k, inner, ls_store(k, y, idx, val));
    return true;
}

/* ---- NonZero ---- */

/* The output [rank, count] has one column per nonzero element, so its size
 * is static only for a constant input, which then folds. A run-time input
 * is data-dependent (README, out of scope): generated code has no
 * variable-length outputs. */
static bool infer_nonzero(Node *n, Diag *d)
{
    if (!op_inputs_known(n, d))
        return false;
    const Value *x = n->in[0];
    if (x->dtype == DT_STRING || !ir_dtype_supported(x->dtype))
        return op_unsupported(d, n, "NonZero on %s", ir_dtype_name(x->dtype));
    if (x->shape.rank == 0)
        return op_unsupported(d, n, "NonZero of a scalar");
    if (!x->data)
        return op_data_dependent(d, n, 0, "NonZero of a run-time tensor (its output length "
                                          "is the count of nonzero values)");
    int64_t numel = ir_value_numel(x), cnt = 0;
    for (int64_t i = 0; i < numel; i++)
        cnt += ir_const_f(x, i) != 0;    /* NaN counts, as in NumPy */
    Shape s = {0};
    s.rank = 2;
    s.dim[0] = x->shape.rank;
    s.dim[1] = cnt;
    op_set_out(n, 0, DT_INT64, &s);
    return true;
}

/* c = 0; for each element i: if x[i] != 0, column c gets i's coordinates. */
static bool lower_nonzero(Node *n, Diag *d)
{
    (void)d;
    Value *x = n->in[0], *y = n->out[0];
    int64_t cnt = y->shape.dim[1];
    LKernel *k = lw_kernel(n);
    int i = lk_var(k, DT_INT64), c = lk_var(k, DT_INT64);
    ls_push(k, k->root, ls_assign(k, c, lx_idx(k, 0)));
    LStmt *f = ls_for(k, i, ir_value_numel(x));
    ls_push(k, k->root, f);
    DType ct = lw_compute_type(x->dtype);
    LExpr *xv = lx_cast(k, ct, lx_load(k, x, lx_var(k, i)));
    LStmt *hit = ls_if(k, lx_bin(k, LB_NE, xv, lx_num(k, ct, 0)));
    ls_push(k, f, hit);
    int64_t stride = 1;
    for (int a = x->shape.rank - 1; a >= 0; a--) {
        LExpr *coord = lx_mod(k, lx_div(k, lx_var(k, i), lx_idx(k, stride)),
                              lx_idx(k, x->shape.dim[a]));
        ls_push(k, hit, ls_store(k, y, lx_add(k, lx_idx(k, a * cnt), lx_var(k, c)), coord));
        stride *= x->shape.dim[a];
    }
    ls_push(k, hit, ls_assign(k, c, lx_addi(k, lx_var(k, c), 1)));
    return true;
}

/* ---- OneHot ---- */

static bool infer_one_hot(Node *n, Diag *d)
{
    if (!op_inputs_known(n, d))
        return false;
    const Value *ind = n->in[0], *vals = n->in[2];
    int r = ind->shape.rank;
    if (ir_value_numel(vals) != 2) {
        diag_error(d, n, "values must have 2 elements (off, on), got shape %s",
                   shape_str(n, &vals->shape));
        return false;
    }
    if (r + 1 > IR_MAX_RANK)
        return op_unsupported(d, n, "output rank %d (dlc handles rank up to %d)", r + 1,
                              IR_MAX_RANK);
    int a;
    if (!op_axis(d, n, ir_attr_int(n, "axis", -1), r + 1, &a))
        return false;
    int64_t depth;
    if (!scalar_input_i(n, d, 1, "depth", &depth))
        return false;
    if (depth < 0) {
        diag_error(d, n, "depth %lld is negative", (long long)depth);
        return false;
    }
    int64_t dims[IR_MAX_RANK];
    for (int i = 0, k = 0; i <= r; i++)
        dims[i] = i == a ? depth : ind->shape.dim[k++];
    Shape s;
    if (!make_shape(n, d, dims, r + 1, &s))
        return false;
    op_set_out(n, 0, vals->dtype, &s);
    return true;
}

static bool lower_one_hot(Node *n, Diag *d)
{
    (void)d;
    LKernel *k = lw_kernel(n);
    Value *ind = n->in[0], *vals = n->in[2], *y = n->out[0];
    int r = y->shape.rank, vars[IR_MAX_RANK], ivars[IR_MAX_RANK];
    int a = (int)(ir_attr_int(n, "axis", -1) < 0 ? ir_attr_int(n, "axis", -1) + r
                                                  : ir_attr_int(n, "axis", -1));
    int64_t depth = y->shape.dim[a];
    LStmt *inner = lk_nest(k, k->root, y->shape.dim, r, vars);
    for (int i = 0, j = 0; i < r; i++)
        if (i != a)
            ivars[j++] = vars[i];
    LExpr *raw = lx_load(k, ind, lx_flat(k, &ind->shape, ivars));
    if (ir_dtype_is_float(raw->dt)) /* fractional indices truncate; clamp before the cast */
        raw = lx_bin(k, LB_MAX, lx_bin(k, LB_MIN, raw, lx_num(k, raw->dt, depth + 1.0)),
                     lx_num(k, raw->dt, -depth - 1.0));
    LExpr *idx = lx_cast(k, DT_INT64, raw);
    /* Negative indices count from the end: -1 is depth - 1. */
    LExpr *neg = lx_bin(k, LB_LT, idx, lx_idx(k, 0));
    idx = lx_sel(k, neg, lx_addi(k, idx, depth), idx);
    LExpr *hit = lx_bin(k, LB_EQ, idx, lx_var(k, vars[a]));
    LExpr *val = lx_sel(k, hit, lx_load(k, vals, lx_idx(k, 1)), lx_load(k, vals, lx_idx(k, 0)));
    ls_push(k, inner, ls_store(k, y, lx_flat(k, &y->shape, vars), val));
    return true;
}

/* ---- rows ---- */

static const AttrSpec no_attrs[] = {{NULL, 0}};
static const AttrSpec a_reshape1[] = {{"shape", ATTR_INTS}, {"consumed_inputs", ATTR_INTS},
                                      {NULL, 0}};
static const AttrSpec a_reshape14[] = {{"allowzero", ATTR_INT}, {NULL, 0}};
static const AttrSpec a_axis[] = {{"axis", ATTR_INT}, {NULL, 0}};
static const AttrSpec a_axes[] = {{"axes", ATTR_INTS}, {NULL, 0}};
static const AttrSpec a_shape15[] = {{"start", ATTR_INT}, {"end", ATTR_INT}, {NULL, 0}};
static const AttrSpec a_constant[] = {
    {"value", ATTR_TENSOR},         {"value_float", ATTR_FLOAT},
    {"value_floats", ATTR_FLOATS},  {"value_int", ATTR_INT},
    {"value_ints", ATTR_INTS},      {"value_string", ATTR_STRING},
    {"value_strings", ATTR_STRINGS}, {"sparse_value", ATTR_SPARSE_TENSOR},
    {NULL, 0}};
static const AttrSpec a_value[] = {{"value", ATTR_TENSOR}, {NULL, 0}};
static const AttrSpec a_dropout1[] = {{"is_test", ATTR_INT}, {"ratio", ATTR_FLOAT},
                                      {"consumed_inputs", ATTR_INTS}, {NULL, 0}};
static const AttrSpec a_dropout7[] = {{"ratio", ATTR_FLOAT}, {NULL, 0}};
static const AttrSpec a_dropout12[] = {{"seed", ATTR_INT}, {NULL, 0}};
static const AttrSpec a_eye_like[] = {{"dtype", ATTR_INT}, {"k", ATTR_INT}, {NULL, 0}};
static const AttrSpec a_trilu[] = {{"upper", ATTR_INT}, {NULL, 0}};

#define VIEW OPF_VIEW

const OpDesc op_rows_shape[] = {
    {.dyn = DYN_RESHAPE, .name = "Reshape", .since = 1, .until = 4, .min_in = 1, .max_in = 1, .min_out = 1,
     .max_out = 1, .flags = VIEW, .attrs = a_reshape1, .infer = infer_reshape, .lower = lower_copy},
    {.dyn = DYN_RESHAPE, .name = "Reshape", .since = 5, .until = 13, .min_in = 2, .max_in = 2, .min_out = 1,
     .max_out = 1, .flags = VIEW, .attrs = no_attrs, .infer = infer_reshape, .lower = lower_copy},
    {.dyn = DYN_RESHAPE, .name = "Reshape", .since = 14, .min_in = 2, .max_in = 2, .min_out = 1, .max_out = 1,
     .flags = VIEW, .attrs = a_reshape14, .infer = infer_reshape, .lower = lower_copy},
    {.dyn = DYN_RESHAPE, .name = "Flatten", .since = 1, .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,
     .flags = VIEW, .attrs = a_axis, .infer = infer_flatten, .lower = lower_copy},
    {.dyn = DYN_RESHAPE, .name = "Squeeze", .since = 1, .until = 12, .min_in = 1, .max_in = 1, .min_out = 1,
     .max_out = 1, .flags = VIEW, .attrs = a_axes, .infer = infer_squeeze, .lower = lower_copy},
    {.dyn = DYN_RESHAPE, .name = "Squeeze", .since = 13, .min_in = 1, .max_in = 2, .min_out = 1, .max_out = 1,
     .flags = VIEW, .attrs = no_attrs, .infer = infer_squeeze, .lower = lower_copy},
    {.dyn = DYN_RESHAPE, .name = "Unsqueeze", .since = 1, .until = 12, .min_in = 1, .max_in = 1, .min_out = 1,
     .max_out = 1, .flags = VIEW, .attrs = a_axes, .infer = infer_unsqueeze, .lower = lower_copy},
    {.dyn = DYN_RESHAPE, .name = "Unsqueeze", .since = 13, .min_in = 2, .max_in = 2, .min_out = 1, .max_out = 1,
     .flags = VIEW, .attrs = no_attrs, .infer = infer_unsqueeze, .lower = lower_copy},
    {.dyn = DYN_STATIC, .name = "Shape", .since = 1, .until = 14, .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,
     .attrs = no_attrs, .infer = infer_shape, .lower = lower_folded},
    {.dyn = DYN_STATIC, .name = "Shape", .since = 15, .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,
     .attrs = a_shape15, .infer = infer_shape, .lower = lower_folded},
    {.dyn = DYN_STATIC, .name = "Size", .since = 1, .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,
     .attrs = no_attrs, .infer = infer_size, .lower = lower_folded},
    {.dyn = DYN_STATIC, .name = "Constant", .since = 1, .min_in = 0, .max_in = 0, .min_out = 1, .max_out = 1,
     .attrs = a_constant, .infer = infer_constant, .lower = lower_folded},
    {.dyn = DYN_CONST_OF_SHAPE, .name = "ConstantOfShape", .since = 9, .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,
     .attrs = a_value, .infer = infer_constant_of_shape, .lower = lower_constant_of_shape},
    {.dyn = DYN_SAME, .name = "Dropout", .since = 1, .until = 6, .min_in = 1, .max_in = 1, .min_out = 1,
     .max_out = 2, .flags = OPF_IDENTITY, .attrs = a_dropout1, .infer = infer_dropout,
     .lower = lower_dropout},
    {.dyn = DYN_SAME, .name = "Dropout", .since = 7, .until = 11, .min_in = 1, .max_in = 1, .min_out = 1,
     .max_out = 2, .flags = OPF_IDENTITY, .attrs = a_dropout7, .infer = infer_dropout,
     .lower = lower_dropout},
    {.dyn = DYN_SAME, .name = "Dropout", .since = 12, .min_in = 1, .max_in = 3, .min_out = 1, .max_out = 2,
     .flags = OPF_IDENTITY, .attrs = a_dropout12, .infer = infer_dropout, .lower = lower_dropout},
    {.dyn = DYN_RANGE, .name = "Range", .since = 11, .min_in = 3, .max_in = 3, .min_out = 1, .max_out = 1,
     .attrs = no_attrs, .infer = infer_range, .lower = lower_range},
    {.dyn = DYN_EXPAND, .name = "Expand", .since = 8, .min_in = 2, .max_in = 2, .min_out = 1, .max_out = 1,
     .attrs = no_attrs, .infer = infer_expand, .lower = lower_expand},
    {.name = "Tile", .since = 1, .until = 5, .min_in = 3, .max_in = 3, .min_out = 1, .max_out = 1,
     .attrs = no_attrs, .infer = infer_tile, .lower = lower_tile},
    {.name = "Tile", .since = 6, .min_in = 2, .max_in = 2, .min_out = 1, .max_out = 1,
     .attrs = no_attrs, .infer = infer_tile, .lower = lower_tile},
    {.name = "EyeLike", .since = 9, .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,
     .attrs = a_eye_like, .infer = infer_eye_like, .lower = lower_eye_like},
    {.dyn = DYN_SAME, .name = "Trilu", .since = 14, .min_in = 1, .max_in = 2, .min_out = 1, .max_out = 1,
     .attrs = a_trilu, .infer = infer_trilu, .lower = lower_trilu},
    {.name = "OneHot", .since = 9, .min_in = 3, .max_in = 3, .min_out = 1, .max_out = 1,
     .attrs = a_axis, .infer = infer_one_hot, .lower = lower_one_hot},
    {.name = "NonZero", .since = 9, .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,
     .attrs = no_attrs, .infer = infer_nonzero, .lower = lower_nonzero},
    {.name = NULL},
};
