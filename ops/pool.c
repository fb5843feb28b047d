/* Pooling operators: MaxPool (with optional Indices), AveragePool, LpPool
 * and their Global forms. All lower to loop IR.
 *
 * A windowed pool walks, per plane (n, c) and output position, the kernel
 * taps of every spatial dim. Shapes are static, so the lowering splits each
 * spatial dim's outputs at compile time into an interior range (every tap
 * inside the input: no bounds tests) and the few border outputs on either
 * side, each of which gets its own loop over exactly its valid taps with a
 * compile-time tap count. When borders are wide (many border outputs) or
 * the split would multiply into too many loop bodies, the whole node falls
 * back to one nest that tests bounds per tap.
 *
 * Float32 1-D and 2-D MaxPool (without Indices) and AveragePool, and float32
 * GlobalMaxPool / GlobalAveragePool, lower to KC_POOL2D / KC_GLOBAL_POOL
 * kernel calls instead (1-D as H = 1), unless the input is a constant (the
 * loop IR folds). */
#include "ops.h"

#include <math.h>
#include <string.h>

#define MAX_SPATIAL (IR_MAX_RANK - 2)
#define MAX_ATTR_VALUE ((int64_t)1 << 31)  /* kernel, stride, dilation, pad */
#define MAX_BORDER 8                       /* border outputs per side, per dim */
#define MAX_BODIES 64                      /* product of segments over dims */

typedef enum { PK_MAX, PK_AVG, PK_LP } PoolKind;

typedef struct {
    PoolKind kind;
    int r;                       /* spatial rank */
    int64_t planes;              /* N * C */
    int64_t in[MAX_SPATIAL];     /* input spatial extents */
    int64_t out[MAX_SPATIAL];    /* output spatial extents */
    int64_t k[MAX_SPATIAL];      /* kernel taps */
    int64_t s[MAX_SPATIAL];      /* stride */
    int64_t d[MAX_SPATIAL];      /* dilation */
    int64_t pb[MAX_SPATIAL];     /* padding before (begin) */
    int64_t pe[MAX_SPATIAL];     /* padding after (end) */
    bool include_pad;            /* AveragePool count_include_pad */
    double p;                    /* LpPool exponent */
    bool col_major;              /* MaxPool storage_order = 1 (Indices) */
} Pool;

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

/* Reads a per-spatial-dim ints attribute (count r, or 2r for pads);
 * absent gives dflt everywhere. */
static bool spatial_ints(Node *n, Diag *d, const char *name, int want, int64_t dflt,
                         int64_t lo, int64_t *out)
{
    int64_t v[2 * MAX_SPATIAL];
    int cnt = op_ints(n, name, -1, v, 2 * MAX_SPATIAL);
    if (cnt < 0) {
        for (int i = 0; i < want; i++)
            out[i] = dflt;
        return true;
    }
    if (cnt != want) {
        diag_error(d, n, "attribute '%s' has %d values, expected %d", name, cnt, want);
        return false;
    }
    for (int i = 0; i < want; i++) {
        if (v[i] < lo || v[i] > MAX_ATTR_VALUE) {
            diag_error(d, n, "attribute '%s' value %lld is out of range", name, (long long)v[i]);
            return false;
        }
        out[i] = v[i];
    }
    return true;
}

static bool pool_dtype_ok(Node *n, Diag *d, PoolKind kind)
{
    DType t = n->in[0]->dtype;
    if (ir_dtype_is_float(t))
        return true;
    if (kind == PK_MAX && t != DT_BOOL && t != DT_STRING && ir_dtype_supported(t))
        return true;
    return op_unsupported(d, n, "%s on %s input", n->op_type, ir_dtype_name(t));
}

/* Checks the input and computes the geometry of a windowed pool. */
static bool pool_geom(Node *n, Diag *d, PoolKind kind, Pool *g)
{
    memset(g, 0, sizeof *g);
    g->kind = kind;
    if (!op_inputs_known(n, d))
        return false;
    const Value *x = n->in[0];
    if (x->shape.rank < 3) {
        diag_error(d, n, "input 0 '%s' must have rank >= 3 (N, C, spatial...), got %d",
                   x->name, x->shape.rank);
        return false;
    }
    if (!pool_dtype_ok(n, d, kind))
        return false;
    int r = g->r = x->shape.rank - 2;
    g->planes = x->shape.dim[0] * x->shape.dim[1];   /* bounded by the tensor size */
    for (int i = 0; i < r; i++)
        g->in[i] = x->shape.dim[2 + i];
    if (!ir_attr(n, "kernel_shape")) {
        diag_error(d, n, "attribute 'kernel_shape' is required");
        return false;
    }
    int64_t pads[2 * MAX_SPATIAL];
    if (!spatial_ints(n, d, "kernel_shape", r, 1, 1, g->k) ||
        !spatial_ints(n, d, "strides", r, 1, 1, g->s) ||
        !spatial_ints(n, d, "dilations", r, 1, 1, g->d) ||
        !spatial_ints(n, d, "pads", 2 * r, 0, 0, pads))
        return false;
    int64_t ceil_mode = ir_attr_int(n, "ceil_mode", 0);
    if (ceil_mode != 0 && ceil_mode != 1) {
        diag_error(d, n, "attribute 'ceil_mode' must be 0 or 1, got %lld", (long long)ceil_mode);
        return false;
    }
    const char *ap = ir_attr_string(n, "auto_pad", "NOTSET");
    bool same_upper = strcmp(ap, "SAME_UPPER") == 0, same_lower = strcmp(ap, "SAME_LOWER") == 0;
    bool valid = strcmp(ap, "VALID") == 0;
    if (!same_upper && !same_lower && !valid && strcmp(ap, "NOTSET") != 0 && *ap) {
        diag_error(d, n, "attribute 'auto_pad' has unknown value '%s'", ap);
        return false;
    }
    for (int i = 0; i < r; i++) {
        int64_t span = (g->k[i] - 1) * g->d[i] + 1;    /* < 2^62: attrs are < 2^31 */
        if (same_upper || same_lower) {
            g->out[i] = (g->in[i] + g->s[i] - 1) / g->s[i];
            int64_t total = (g->out[i] - 1) * g->s[i] + span - g->in[i];
            if (total < 0)
                total = 0;
            g->pb[i] = same_upper ? total / 2 : total - total / 2;
            g->pe[i] = total - g->pb[i];
        } else {
            g->pb[i] = valid ? 0 : pads[i];
            g->pe[i] = valid ? 0 : pads[r + i];
            int64_t room = g->in[i] + g->pb[i] + g->pe[i] - span;
            if (room < 0) {
                diag_error(d, n, "spatial dim %d: kernel window %lld is larger than the "
                           "padded input %lld", i, (long long)span,
                           (long long)(g->in[i] + g->pb[i] + g->pe[i]));
                return false;
            }
            g->out[i] = (ceil_mode ? (room + g->s[i] - 1) / g->s[i] : room / g->s[i]) + 1;
            /* The last window must start inside the input or its left padding. */
            if (ceil_mode && (g->out[i] - 1) * g->s[i] >= g->in[i] + g->pb[i])
                g->out[i]--;
        }
    }
    g->include_pad = ir_attr_int(n, "count_include_pad", 0) != 0;
    g->col_major = ir_attr_int(n, "storage_order", 0) != 0;
    if (kind == PK_LP) {
        g->p = attr_num(n, "p", 2.0);
        if (!(g->p > 0) || g->p > 1e6) {
            diag_error(d, n, "attribute 'p' must be positive, got %g", g->p);
            return false;
        }
    }
    return true;
}

static bool set_pool_outputs(Node *n, const Pool *g)
{
    Shape s = n->in[0]->shape;
    for (int i = 0; i < g->r; i++)
        s.dim[2 + i] = g->out[i];
    for (int i = 0; i < g->r; i++)
        s.sym[2 + i] = NULL;
    op_set_out(n, 0, n->in[0]->dtype, &s);
    if (n->nout > 1)
        op_set_out(n, 1, DT_INT64, &s);
    return true;
}

static bool infer_maxpool(Node *n, Diag *d)
{
    Pool g;
    return pool_geom(n, d, PK_MAX, &g) && set_pool_outputs(n, &g);
}

static bool infer_avgpool(Node *n, Diag *d)
{
    Pool g;
    return pool_geom(n, d, PK_AVG, &g) && set_pool_outputs(n, &g);
}

static bool infer_lppool(Node *n, Diag *d)
{
    Pool g;
    return pool_geom(n, d, PK_LP, &g) && set_pool_outputs(n, &g);
}

/* ---- lowering windowed pools ---- */

typedef enum { SEG_INTERIOR, SEG_CONST, SEG_CHECKED } SegKind;

typedef struct {
    const Pool *g;
    LKernel *k;
    Value *x, *y, *ix;          /* input, output, Indices (or NULL) */
    DType ct;                   /* accumulator type */
    bool checked;               /* bounds tested per tap everywhere */
    int pvar;                   /* plane loop variable */
    int acc, cnt, arg;          /* accumulator, runtime tap count, argmax */
    LExpr *o[MAX_SPATIAL];      /* output coordinate of each dim: ov + ooff */
    LExpr *ov[MAX_SPATIAL];     /* its loop variable part, or NULL */
    int64_t ooff[MAX_SPATIAL];  /* its constant part */
    SegKind seg[MAX_SPATIAL];
    int64_t base[MAX_SPATIAL];  /* SEG_CONST: first tap's input coordinate */
    int64_t jlo[MAX_SPATIAL], jhi[MAX_SPATIAL];    /* SEG_CONST: valid taps */
    int64_t npad[MAX_SPATIAL];  /* SEG_CONST: taps inside the padded input */
    LExpr *xc[MAX_SPATIAL];     /* input coordinate of each dim at a tap */
} PoolEmit;

/* First output whose window lies entirely inside the input, and one past
 * the last; lo <= hi <= out. */
static void interior(const Pool *g, int i, int64_t *lo, int64_t *hi)
{
    int64_t span = (g->k[i] - 1) * g->d[i] + 1;
    int64_t l = (g->pb[i] + g->s[i] - 1) / g->s[i];
    int64_t num = g->in[i] + g->pb[i] - span + 1;   /* o*s >= num: window ends past the input */
    int64_t h = num <= 0 ? 0 : (num + g->s[i] - 1) / g->s[i];
    if (l > g->out[i])
        l = g->out[i];
    if (h > g->out[i])
        h = g->out[i];
    if (h < l)
        h = l;
    *lo = l;
    *hi = h;
}

static LExpr *lt(LKernel *k, LExpr *a, LExpr *b)
{
    return lx_bin(k, LB_LT, a, b);
}

/* Flat element index of the current taps, row-major or column-major
 * (first spatial dim fastest) over the spatial dims, plus the plane. */
static LExpr *tap_index(PoolEmit *e, bool col_major)
{
    LKernel *k = e->k;
    const Pool *g = e->g;
    int64_t plane = 1;
    for (int i = 0; i < g->r; i++)
        plane *= g->in[i];
    LExpr *idx = lx_idx(k, 0);
    if (!col_major)
        for (int i = 0; i < g->r; i++)
            idx = lx_add(k, lx_muli(k, idx, g->in[i]), e->xc[i]);
    else
        for (int i = g->r - 1; i >= 0; i--)
            idx = lx_add(k, lx_muli(k, idx, g->in[i]), e->xc[i]);
    return lx_add(k, lx_muli(k, lx_var(k, e->pvar), plane), idx);
}

static LExpr *out_index(PoolEmit *e)
{
    LKernel *k = e->k;
    const Pool *g = e->g;
    int64_t plane = 1;
    LExpr *idx = lx_idx(k, 0);
    for (int i = 0; i < g->r; i++) {
        plane *= g->out[i];
        idx = lx_add(k, lx_muli(k, idx, g->out[i]), e->o[i]);
    }
    return lx_add(k, lx_muli(k, lx_var(k, e->pvar), plane), idx);
}

/* Input coordinate of tap 0 of dim i's window: o*s - pb, constants folded. */
static LExpr *window_start(PoolEmit *e, int i)
{
    LKernel *k = e->k;
    const Pool *g = e->g;
    LExpr *c = lx_idx(k, e->ooff[i] * g->s[i] - g->pb[i]);
    return e->ov[i] ? lx_add(k, lx_muli(k, e->ov[i], g->s[i]), c) : c;
}

/* The innermost statement: fold the tap into the accumulator. */
static void emit_tap(PoolEmit *e, LStmt *parent)
{
    LKernel *k = e->k;
    LExpr *v = lx_cast(k, e->ct, lx_load(k, e->x, tap_index(e, false)));
    LExpr *acc = lx_var(k, e->acc);
    switch (e->g->kind) {
    case PK_MAX:
        if (e->ix) {
            LExpr *better = lx_bin(k, LB_OR, lx_bin(k, LB_GT, v, acc),
                                   lt(k, lx_var(k, e->arg), lx_idx(k, 0)));
            LStmt *iff = ls_if(k, better);
            ls_push(k, iff, ls_assign(k, e->acc, v));
            ls_push(k, iff, ls_assign(k, e->arg, tap_index(e, e->g->col_major)));
            ls_push(k, parent, iff);
        } else {
            ls_push(k, parent, ls_assign(k, e->acc, lx_bin(k, LB_MAX, acc, v)));
        }
        break;
    case PK_AVG:
        ls_push(k, parent, ls_assign(k, e->acc, lx_bin(k, LB_ADD, acc, v)));
        break;
    case PK_LP: {
        double p = e->g->p;
        LExpr *t;
        if (p == 1)
            t = lx_un(k, LU_ABS, v);
        else if (p == 2)
            t = lx_bin(k, LB_MUL, v, v);
        else
            t = lx_bin(k, LB_POW, lx_un(k, LU_ABS, v), lx_f(k, e->ct, p));
        ls_push(k, parent, ls_assign(k, e->acc, lx_bin(k, LB_ADD, acc, t)));
        break;
    }
    }
    if (e->cnt >= 0)
        ls_push(k, parent, ls_assign(k, e->cnt, lx_bin(k, LB_ADD, lx_var(k, e->cnt),
                                                       lx_f(k, e->ct, 1))));
}

/* Kernel taps of spatial dim i and inward. */
static void emit_taps(PoolEmit *e, int i, LStmt *parent)
{
    LKernel *k = e->k;
    const Pool *g = e->g;
    if (i == g->r) {
        emit_tap(e, parent);
        return;
    }
    LExpr *first;     /* input coordinate of tap 0 of this loop */
    int64_t extent;
    if (e->seg[i] == SEG_CONST) {
        extent = e->jhi[i] - e->jlo[i];
        if (extent == 0)
            return;   /* no tap of this window lies in the input */
        first = lx_idx(k, e->base[i] + e->jlo[i] * g->d[i]);
    } else {
        extent = g->k[i];
        first = window_start(e, i);
    }
    LStmt *body = parent;
    if (extent == 1) {
        e->xc[i] = first;
    } else {
        int j = lk_var(k, DT_INT64);
        LStmt *loop = ls_for(k, j, extent);
        ls_push(k, parent, loop);
        body = loop;
        e->xc[i] = lx_add(k, first, lx_muli(k, lx_var(k, j), g->d[i]));
    }
    if (e->seg[i] == SEG_CHECKED) {
        LExpr *inside = lx_bin(k, LB_AND, lx_bin(k, LB_GE, e->xc[i], lx_idx(k, 0)),
                               lt(k, e->xc[i], lx_idx(k, g->in[i])));
        LStmt *iff = ls_if(k, inside);
        ls_push(k, body, iff);
        body = iff;
    }
    emit_taps(e, i + 1, body);
}

/* Taps of a bounds-tested dim that lie inside the padded input:
 * min(k, ceil((in + pe - base) / d)), base = o*s - pb > -in - pe. */
static LExpr *checked_pad_count(PoolEmit *e, int i)
{
    LKernel *k = e->k;
    const Pool *g = e->g;
    LExpr *base = window_start(e, i);
    LExpr *room = lx_bin(k, LB_SUB, lx_idx(k, g->in[i] + g->pe[i] + g->d[i] - 1), base);
    return lx_bin(k, LB_MIN, lx_div(k, room, lx_idx(k, g->d[i])), lx_idx(k, g->k[i]));
}

static void finish_window(PoolEmit *e, LStmt *parent, LExpr *res);

#define MAX_UNROLLED_TAPS 32   /* windows up to this size fold into one expression */

/* The taps of one window unrolled into straight-line updates of the
 * accumulator, in the same order as emit_taps. With no tap loops, the loop
 * over the innermost output dim has a straight-line body, which compilers
 * vectorise; a tap loop nested inside it is not. Float max is spelled
 * acc = v != v ? v : (v >= acc ? v : acc): the same value as the
 * NaN-propagating LB_MAX (ties keep the later tap, any NaN tap gives NaN;
 * of several NaNs the last is kept rather than the first), but the
 * non-NaN part is one max instruction with no branch, and the NaN test
 * does not depend on the accumulator. */
static void unrolled_taps(PoolEmit *e, int i, bool *first, LStmt *parent)
{
    LKernel *k = e->k;
    const Pool *g = e->g;
    if (i == g->r) {
        LExpr *v = lx_cast(k, e->ct, lx_load(k, e->x, tap_index(e, false)));
        LExpr *acc = lx_var(k, e->acc), *r;
        if (g->kind == PK_MAX) {   /* max(init, v) == v for the first tap, NaN included */
            if (*first)
                r = v;
            else if (ir_dtype_is_float(e->ct))
                r = lx_sel(k, lx_bin(k, LB_NE, v, v), v,
                           lx_sel(k, lx_bin(k, LB_GE, v, acc), v, acc));
            else
                r = lx_bin(k, LB_MAX, acc, v);
        } else {
            if (g->kind == PK_LP) {
                if (g->p == 1)
                    v = lx_un(k, LU_ABS, v);
                else if (g->p == 2)
                    v = lx_bin(k, LB_MUL, v, v);
                else
                    v = lx_bin(k, LB_POW, lx_un(k, LU_ABS, v), lx_f(k, e->ct, g->p));
            }
            r = lx_bin(k, LB_ADD, *first ? lx_f(k, e->ct, 0) : acc, v);
        }
        ls_push(k, parent, ls_assign(k, e->acc, r));
        *first = false;
        return;
    }
    int64_t lo = 0, hi = g->k[i];
    LExpr *start;
    if (e->seg[i] == SEG_CONST) {
        lo = e->jlo[i];
        hi = e->jhi[i];
        start = lx_idx(k, e->base[i]);
    } else {
        start = window_start(e, i);
    }
    for (int64_t j = lo; j < hi; j++) {
        e->xc[i] = lx_addi(k, start, j * g->d[i]);
        unrolled_taps(e, i + 1, first, parent);
    }
}

/* One output position: initialise, walk the taps, store. */
static void emit_window(PoolEmit *e, LStmt *parent)
{
    LKernel *k = e->k;
    const Pool *g = e->g;
    if (!e->checked && !e->ix) {
        int64_t taps = 1;
        for (int i = 0; i < g->r; i++)
            taps *= e->seg[i] == SEG_CONST ? e->jhi[i] - e->jlo[i] : g->k[i];
        if (taps >= 1 && taps <= MAX_UNROLLED_TAPS) {
            if (e->acc < 0)
                e->acc = lk_var(k, e->ct);
            bool first = true;
            unrolled_taps(e, 0, &first, parent);
            finish_window(e, parent, lx_var(k, e->acc));
            return;
        }
    }
    if (e->acc < 0)
        e->acc = lk_var(k, e->ct);
    LExpr *init;
    if (g->kind != PK_MAX)
        init = lx_f(k, e->ct, 0);
    else if (ir_dtype_is_float(e->ct))
        init = lx_f(k, e->ct, -HUGE_VAL);
    else if (ir_dtype_is_unsigned(e->ct))
        init = lx_i(k, e->ct, 0);
    else
        init = lx_i(k, e->ct, e->ct == DT_INT64 ? INT64_MIN
                                 : -((int64_t)1 << (8 * ir_dtype_size(e->ct) - 1)));
    ls_push(k, parent, ls_assign(k, e->acc, init));
    if (e->cnt >= 0)
        ls_push(k, parent, ls_assign(k, e->cnt, lx_f(k, e->ct, 0)));
    if (e->ix)
        ls_push(k, parent, ls_assign(k, e->arg, lx_idx(k, -1)));
    emit_taps(e, 0, parent);
    finish_window(e, parent, lx_var(k, e->acc));
}

/* Scale or root the folded taps res and store the output position. */
static void finish_window(PoolEmit *e, LStmt *parent, LExpr *res)
{
    LKernel *k = e->k;
    const Pool *g = e->g;
    if (g->kind == PK_AVG) {
        LExpr *div;
        if (!e->checked) {
            double cnt = 1;
            for (int i = 0; i < g->r; i++)
                cnt *= e->seg[i] == SEG_INTERIOR ? (double)g->k[i]
                       : g->include_pad       ? (double)e->npad[i]
                                              : (double)(e->jhi[i] - e->jlo[i]);
            div = lx_f(k, e->ct, cnt);
        } else if (e->cnt >= 0) {
            div = lx_var(k, e->cnt);
        } else {
            LExpr *c = lx_idx(k, 1);
            for (int i = 0; i < g->r; i++)
                c = lx_mul(k, c, checked_pad_count(e, i));
            div = lx_cast(k, e->ct, c);
        }
        res = lx_bin(k, LB_DIV, res, div);
    } else if (g->kind == PK_LP) {
        if (g->p == 2)
            res = lx_un(k, LU_SQRT, res);
        else if (g->p != 1)
            res = lx_bin(k, LB_POW, res, lx_f(k, e->ct, 1.0 / g->p));
    }
    LExpr *oi = out_index(e);
    ls_push(k, parent, ls_store(k, e->y, oi, lx_cast(k, e->y->dtype, res)));
    if (e->ix)
        ls_push(k, parent, ls_store(k, e->ix, oi, lx_var(k, e->arg)));
}

static void const_segment(PoolEmit *e, int i, int64_t o)
{
    const Pool *g = e->g;
    int64_t base = o * g->s[i] - g->pb[i], d = g->d[i], kk = g->k[i];
    int64_t lo = base >= 0 ? 0 : (-base + d - 1) / d;
    if (lo > kk)
        lo = kk;
    int64_t room = g->in[i] - base;
    int64_t hi = room <= 0 ? 0 : (room + d - 1) / d;
    if (hi > kk)
        hi = kk;
    if (hi < lo)
        hi = lo;
    int64_t proom = g->in[i] + g->pe[i] - base;
    int64_t np = proom <= 0 ? 0 : (proom + d - 1) / d;
    e->seg[i] = SEG_CONST;
    e->o[i] = lx_idx(e->k, o);
    e->ov[i] = NULL;
    e->ooff[i] = o;
    e->base[i] = base;
    e->jlo[i] = lo;
    e->jhi[i] = hi;
    e->npad[i] = np > kk ? kk : np;
}

/* Output positions of spatial dim i and inward. */
static void emit_outputs(PoolEmit *e, int i, LStmt *parent)
{
    LKernel *k = e->k;
    const Pool *g = e->g;
    if (i == g->r) {
        emit_window(e, parent);
        return;
    }
    if (e->checked) {
        int v = lk_var(k, DT_INT64);
        LStmt *loop = ls_for(k, v, g->out[i]);
        ls_push(k, parent, loop);
        e->seg[i] = SEG_CHECKED;
        e->o[i] = e->ov[i] = lx_var(k, v);
        e->ooff[i] = 0;
        emit_outputs(e, i + 1, loop);
        return;
    }
    int64_t lo, hi;
    interior(g, i, &lo, &hi);
    for (int64_t o = 0; o < lo; o++) {
        const_segment(e, i, o);
        emit_outputs(e, i + 1, parent);
    }
    if (hi > lo) {
        e->seg[i] = SEG_INTERIOR;
        e->ooff[i] = lo;
        if (hi - lo == 1) {
            e->o[i] = lx_idx(k, lo);
            e->ov[i] = NULL;
            emit_outputs(e, i + 1, parent);
        } else {
            int v = lk_var(k, DT_INT64);
            LStmt *loop = ls_for(k, v, hi - lo);
            ls_push(k, parent, loop);
            e->ov[i] = lx_var(k, v);
            e->o[i] = lx_addi(k, e->ov[i], lo);
            emit_outputs(e, i + 1, loop);
        }
    }
    for (int64_t o = hi; o < g->out[i]; o++) {
        const_segment(e, i, o);
        emit_outputs(e, i + 1, parent);
    }
}

/* Float32 values that kernel calls take (not a constant: those fold). */
static bool kernel_float(const Node *n)
{
    const Value *x = n->in[0], *y = n->out[0];
    return x->dtype == DT_FLOAT && y->dtype == DT_FLOAT && !x->data &&
           ir_value_numel(x) > 0 && ir_value_numel(y) > 0;
}

/* A KC_POOL2D call for g, when its sizes fit one. */
static bool pool_kernel_call(Node *n, const Pool *g)
{
    if (g->kind == PK_LP || n->nout > 1 || g->r > 2 || !kernel_float(n))
        return false;
    bool two = g->r == 2;
    int last = g->r - 1;
    KPool2d s = {
        .max = g->kind == PK_MAX, .planes = g->planes,
        .H = two ? g->in[0] : 1, .W = g->in[last], .OH = two ? g->out[0] : 1, .OW = g->out[last],
        .KH = two ? g->k[0] : 1, .KW = g->k[last], .SH = two ? g->s[0] : 1, .SW = g->s[last],
        .DH = two ? g->d[0] : 1, .DW = g->d[last], .PT = two ? g->pb[0] : 0, .PL = g->pb[last],
        .PB = two ? g->pe[0] : 0, .PR = g->pe[last], .include_pad = g->include_pad,
    };
    /* 32-bit sizes, the window's at least 1, pads at least 0 */
    const int64_t v[14] = {s.H, s.W, s.OH, s.OW, s.KH, s.KW, s.SH, s.SW, s.DH, s.DW,
                           s.PT, s.PL, s.PB, s.PR};
    for (int i = 0; i < 10; i++)
        if (v[i] < 1)
            return false;
    if (!op_fits_int32(v, 14))
        return false;
    LKernel *k = lw_kernel(n);
    LStmt *c = ls_kernel(k, KC_POOL2D);
    c->flops = (double)ir_value_numel(n->out[0]) * (double)s.KH * (double)s.KW;
    c->kc->u.pool = s;
    c->kc->in[0].buf = n->in[0];
    c->kc->out.buf = n->out[0];
    ls_push(k, k->root, c);
    return true;
}

static bool lower_pool(Node *n, Diag *d, PoolKind kind)
{
    Pool g;
    if (!pool_geom(n, d, kind, &g))
        return false;
    if (pool_kernel_call(n, &g))
        return true;
    LKernel *k = lw_kernel(n);
    PoolEmit e;
    memset(&e, 0, sizeof e);
    e.g = &g;
    e.k = k;
    e.x = n->in[0];
    e.y = n->out[0];
    e.ix = n->nout > 1 ? n->out[1] : NULL;
    e.ct = lw_compute_type(e.x->dtype);
    /* Split into border and interior segments unless that gets too big. */
    int64_t bodies = 1;
    for (int i = 0; i < g.r; i++) {
        int64_t lo, hi;
        interior(&g, i, &lo, &hi);
        int64_t border = lo + g.out[i] - hi;
        if (lo > MAX_BORDER || g.out[i] - hi > MAX_BORDER)
            e.checked = true;
        bodies *= border + (hi > lo);
        if (bodies > MAX_BODIES)
            e.checked = true;
    }
    e.acc = -1;   /* allocated by the first window that needs it */
    e.cnt = kind == PK_AVG && e.checked && !g.include_pad ? lk_var(k, e.ct) : -1;
    e.arg = e.ix ? lk_var(k, DT_INT64) : -1;
    e.pvar = lk_var(k, DT_INT64);
    LStmt *planes = ls_for(k, e.pvar, g.planes);
    ls_push(k, k->root, planes);
    emit_outputs(&e, 0, planes);
    return true;
}

static bool lower_maxpool(Node *n, Diag *d)
{
    return lower_pool(n, d, PK_MAX);
}

static bool lower_avgpool(Node *n, Diag *d)
{
    return lower_pool(n, d, PK_AVG);
}

static bool lower_lppool(Node *n, Diag *d)
{
    return lower_pool(n, d, PK_LP);
}

/* ---- global pools: one reduction per plane over the contiguous spatial block ---- */

static bool global_check(Node *n, Diag *d, PoolKind kind)
{
    if (!op_inputs_known(n, d))
        return false;
    const Value *x = n->in[0];
    if (x->shape.rank < 3) {
        diag_error(d, n, "input 0 '%s' must have rank >= 3 (N, C, spatial...), got %d",
                   x->name, x->shape.rank);
        return false;
    }
    if (!pool_dtype_ok(n, d, kind))
        return false;
    if (kind == PK_LP) {
        double p = attr_num(n, "p", 2.0);
        if (!(p > 0) || p > 1e6) {
            diag_error(d, n, "attribute 'p' must be positive, got %g", p);
            return false;
        }
    }
    return true;
}

static bool infer_global(Node *n, Diag *d, PoolKind kind)
{
    if (!global_check(n, d, kind))
        return false;
    Shape s = n->in[0]->shape;
    for (int i = 2; i < s.rank; i++) {
        s.dim[i] = 1;
        s.sym[i] = NULL;
    }
    op_set_out(n, 0, n->in[0]->dtype, &s);
    return true;
}

static bool infer_gmax(Node *n, Diag *d)
{
    return infer_global(n, d, PK_MAX);
}

static bool infer_gavg(Node *n, Diag *d)
{
    return infer_global(n, d, PK_AVG);
}

static bool infer_glp(Node *n, Diag *d)
{
    return infer_global(n, d, PK_LP);
}

static bool lower_global(Node *n, Diag *d, PoolKind kind)
{
    if (!global_check(n, d, kind))
        return false;
    Value *x = n->in[0], *y = n->out[0];
    int64_t planes = x->shape.dim[0] * x->shape.dim[1];
    int64_t size = 1;
    for (int i = 2; i < x->shape.rank; i++)
        size *= x->shape.dim[i];
    double p = attr_num(n, "p", 2.0);
    if (kind != PK_LP && kernel_float(n)) {
        LKernel *k = lw_kernel(n);
        LStmt *c = ls_kernel(k, KC_GLOBAL_POOL);
        c->flops = (double)ir_value_numel(x);
        c->kc->u.gpool = (KGlobalPool){.max = kind == PK_MAX, .planes = planes, .size = size};
        c->kc->in[0].buf = x;
        c->kc->out.buf = y;
        ls_push(k, k->root, c);
        return true;
    }
    Pool g;
    memset(&g, 0, sizeof g);
    g.kind = kind;
    g.p = p;
    /* A global pool is a windowed pool over one flattened spatial dim
     * whose single window covers it exactly: every tap is interior. */
    g.r = 1;
    g.planes = planes;
    g.in[0] = size;
    g.out[0] = 1;
    g.k[0] = size;
    g.s[0] = g.d[0] = 1;
    LKernel *k = lw_kernel(n);
    PoolEmit e;
    memset(&e, 0, sizeof e);
    e.g = &g;
    e.k = k;
    e.x = x;
    e.y = y;
    e.ct = lw_compute_type(x->dtype);
    e.acc = -1;   /* allocated by the first window that needs it */
    e.cnt = e.arg = -1;
    e.pvar = lk_var(k, DT_INT64);
    LStmt *loop = ls_for(k, e.pvar, planes);
    ls_push(k, k->root, loop);
    if (size == 0) {   /* an empty window: the constant-count path handles it */
        const_segment(&e, 0, 0);
    } else {
        e.seg[0] = SEG_INTERIOR;
        e.o[0] = lx_idx(k, 0);
        e.ooff[0] = 0;
    }
    emit_window(&e, loop);
    return true;
}

static bool lower_gmax(Node *n, Diag *d)
{
    return lower_global(n, d, PK_MAX);
}

static bool lower_gavg(Node *n, Diag *d)
{
    return lower_global(n, d, PK_AVG);
}

static bool lower_glp(Node *n, Diag *d)
{
    return lower_global(n, d, PK_LP);
}

/* ---- MaxUnpool: scatter X into zeros at the flat positions in I ---- */

/* *out: Y's shape; *inferred: the shape the indices count in (from the
 * attributes), which output_shape may only enlarge. */
static bool unpool_shape(Node *n, Diag *d, Shape *out, Shape *inferred)
{
    if (!op_inputs_known(n, d))
        return false;
    const Value *x = n->in[0], *ix = n->in[1];
    if (x->shape.rank < 3) {
        diag_error(d, n, "input 0 '%s' must have rank >= 3 (N, C, spatial...), got %d",
                   x->name, x->shape.rank);
        return false;
    }
    if (ix->dtype != DT_INT64 || !ir_shape_equal(&ix->shape, &x->shape)) {
        diag_error(d, n, "input 1 '%s' must be int64 indices of X's shape %s", ix->name,
                   ir_shape_str(n->graph->arena, &x->shape));
        return false;
    }
    if (x->dtype == DT_STRING || !ir_dtype_supported(x->dtype))
        return op_unsupported(d, n, "MaxUnpool on %s input", ir_dtype_name(x->dtype));
    int r = x->shape.rank - 2;
    int64_t ks[MAX_SPATIAL], st[MAX_SPATIAL], pads[2 * MAX_SPATIAL];
    if (!ir_attr(n, "kernel_shape")) {
        diag_error(d, n, "attribute 'kernel_shape' is required");
        return false;
    }
    if (!spatial_ints(n, d, "kernel_shape", r, 1, 1, ks) ||
        !spatial_ints(n, d, "strides", r, 1, 1, st) ||
        !spatial_ints(n, d, "pads", 2 * r, 0, 0, pads))
        return false;
    *out = x->shape;
    for (int i = 0; i < r; i++) {
        /* (in - 1) * stride + kernel - pads: attrs < 2^31, in < 2^36 */
        int64_t o = (x->shape.dim[2 + i] - 1) * st[i] + ks[i] - pads[i] - pads[r + i];
        if (o < 0 || (x->shape.dim[2 + i] == 0)) {
            diag_error(d, n, "spatial dim %d: pads leave no output", i);
            return false;
        }
        out->dim[2 + i] = o;
        out->sym[2 + i] = NULL;
    }
    *inferred = *out;
    if (n->nin > 2 && n->in[2]) {
        int64_t os[IR_MAX_RANK + 1];
        int cnt = op_ints(n, NULL, 2, os, IR_MAX_RANK + 1);
        if (cnt == -2)
            return op_dynamic_input(d, n, 2, "output_shape");
        if (cnt != x->shape.rank) {
            diag_error(d, n, "output_shape has %d values, input has rank %d", cnt, x->shape.rank);
            return false;
        }
        for (int i = 0; i < cnt; i++) {
            /* the reference scatters into the inferred shape and pads it at
             * the end to output_shape */
            bool bad = i < 2 ? os[i] != x->shape.dim[i]
                             : os[i] < inferred->dim[i] || os[i] > ((int64_t)1 << 36);
            if (bad) {
                diag_error(d, n, "output_shape[%d] = %lld does not fit the input %s", i,
                           (long long)os[i], ir_shape_str(n->graph->arena, &x->shape));
                return false;
            }
            out->dim[i] = os[i];
        }
    }
    return true;
}

static bool infer_unpool(Node *n, Diag *d)
{
    Shape s, inferred;
    if (!unpool_shape(n, d, &s, &inferred))
        return false;
    op_set_out(n, 0, n->in[0]->dtype, &s);
    return true;
}

static bool lower_unpool(Node *n, Diag *d)
{
    Shape s, inferred;
    if (!unpool_shape(n, d, &s, &inferred))
        return false;
    Value *x = n->in[0], *ix = n->in[1], *y = n->out[0];
    int64_t ny = ir_value_numel(y), nx = ir_value_numel(x), ni;
    if (!ir_shape_numel(&inferred, &ni))
        return false;
    LKernel *k = lw_kernel(n);
    int vz = lk_var(k, DT_INT64), vi = lk_var(k, DT_INT64);
    LStmt *zero = ls_for(k, vz, ny);
    ls_push(k, k->root, zero);
    ls_push(k, zero, ls_store(k, y, lx_var(k, vz), lx_num(k, lw_compute_type(y->dtype), 0)));
    LStmt *scatter = ls_for(k, vi, nx);
    ls_push(k, k->root, scatter);
    int va = lk_var(k, DT_INT64);
    ls_push(k, scatter, ls_assign(k, va, lx_load(k, ix, lx_var(k, vi))));
    LExpr *at = lx_var(k, va);
    /* Indices outside the inferred shape are skipped, never written. */
    LStmt *iff = ls_if(k, lx_bin(k, LB_AND, lx_bin(k, LB_GE, at, lx_idx(k, 0)),
                                 lt(k, at, lx_idx(k, ni))));
    ls_push(k, scatter, iff);
    /* A larger output_shape: the same coordinates in Y's bigger grid. */
    LExpr *dst = NULL;
    if (ir_shape_equal(&inferred, &s)) {
        dst = at;
    } else {
        int64_t in_stride = 1, out_stride = 1;
        for (int i = s.rank - 1; i >= 0; i--) {
            LExpr *c = lx_mod(k, lx_div(k, at, lx_idx(k, in_stride)), lx_idx(k, inferred.dim[i]));
            LExpr *term = lx_muli(k, c, out_stride);
            dst = dst ? lx_add(k, dst, term) : term;
            in_stride *= inferred.dim[i];
            out_stride *= s.dim[i];
        }
    }
    ls_push(k, iff, ls_store(k, y, dst, lx_load(k, x, lx_var(k, vi))));
    return true;
}

/* ---- rows ---- */

static const AttrSpec a_maxpool[] = {
    {"auto_pad", ATTR_STRING}, {"kernel_shape", ATTR_INTS}, {"pads", ATTR_INTS},
    {"strides", ATTR_INTS},    {"storage_order", ATTR_INT}, {"ceil_mode", ATTR_INT},
    {"dilations", ATTR_INTS},  {NULL, 0}};
static const AttrSpec a_avgpool[] = {
    {"auto_pad", ATTR_STRING},      {"kernel_shape", ATTR_INTS}, {"pads", ATTR_INTS},
    {"strides", ATTR_INTS},         {"count_include_pad", ATTR_INT},
    {"ceil_mode", ATTR_INT},        {"dilations", ATTR_INTS},    {NULL, 0}};
static const AttrSpec a_lppool_1[] = {
    {"auto_pad", ATTR_STRING}, {"kernel_shape", ATTR_INTS}, {"pads", ATTR_INTS},
    {"strides", ATTR_INTS},    {"p", ATTR_FLOAT},           {NULL, 0}};
static const AttrSpec a_lppool[] = {
    {"auto_pad", ATTR_STRING}, {"kernel_shape", ATTR_INTS}, {"pads", ATTR_INTS},
    {"strides", ATTR_INTS},    {"p", ATTR_INT},             {"ceil_mode", ATTR_INT},
    {"dilations", ATTR_INTS},  {NULL, 0}};
static const AttrSpec a_unpool[] = {
    {"kernel_shape", ATTR_INTS}, {"pads", ATTR_INTS}, {"strides", ATTR_INTS}, {NULL, 0}};
static const AttrSpec a_none[] = {{NULL, 0}};
static const AttrSpec a_p_float[] = {{"p", ATTR_FLOAT}, {NULL, 0}};
static const AttrSpec a_p_int[] = {{"p", ATTR_INT}, {NULL, 0}};

const OpDesc op_rows_pool[] = {
    {.dyn = DYN_WINDOW, .name = "MaxPool", .since = 1, .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 2,
     .attrs = a_maxpool, .infer = infer_maxpool, .lower = lower_maxpool},
    {.dyn = DYN_WINDOW, .name = "AveragePool", .since = 1, .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,
     .attrs = a_avgpool, .infer = infer_avgpool, .lower = lower_avgpool},
    {.dyn = DYN_WINDOW, .name = "LpPool", .since = 1, .until = 1, .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,
     .attrs = a_lppool_1, .infer = infer_lppool, .lower = lower_lppool},
    {.dyn = DYN_WINDOW, .name = "LpPool", .since = 2, .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,
     .attrs = a_lppool, .infer = infer_lppool, .lower = lower_lppool},
    {.name = "MaxUnpool", .since = 9, .min_in = 2, .max_in = 3, .min_out = 1, .max_out = 1,
     .attrs = a_unpool, .infer = infer_unpool, .lower = lower_unpool},
    {.dyn = DYN_GLOBAL_POOL, .name = "GlobalMaxPool", .since = 1, .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,
     .attrs = a_none, .infer = infer_gmax, .lower = lower_gmax},
    {.dyn = DYN_GLOBAL_POOL, .name = "GlobalAveragePool", .since = 1, .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,
     .attrs = a_none, .infer = infer_gavg, .lower = lower_gavg},
    {.dyn = DYN_GLOBAL_POOL, .name = "GlobalLpPool", .since = 1, .until = 1, .min_in = 1, .max_in = 1, .min_out = 1,
     .max_out = 1, .attrs = a_p_float, .infer = infer_glp, .lower = lower_glp},
    {.dyn = DYN_GLOBAL_POOL, .name = "GlobalLpPool", .since = 2, .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,
     .attrs = a_p_int, .infer = infer_glp, .lower = lower_glp},
    {.name = NULL},
};
