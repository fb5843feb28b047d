/* Expressions of one run-time dim, kept in a normal form: constants fold,
 * affine maps compose, exact divisions of affine maps fold. */
#include "dims.h"

#include <string.h>

static DimExpr *node(Graph *g, DimExprKind kind, const DimExpr *x)
{
    DimExpr *e = ir_alloc(g->arena, sizeof *e);
    e->kind = kind;
    e->x = x;
    e->sym = x ? x->sym : -1;
    return e;
}

const DimExpr *dx_const(Graph *g, int64_t c)
{
    DimExpr *e = node(g, DX_CONST, NULL);
    e->c = c;
    return e;
}

const DimExpr *dx_sym(Graph *g, int sym)
{
    DimExpr *e = node(g, DX_SYM, NULL);
    e->sym = sym;
    return e;
}

bool dx_is_const(const DimExpr *x, int64_t *c)
{
    if (!x || x->kind != DX_CONST)
        return false;
    if (c)
        *c = x->c;
    return true;
}

static int64_t floordiv(int64_t a, int64_t c)
{
    int64_t q = a / c;
    return (a % c != 0 && (a < 0) != (c < 0)) ? q - 1 : q;
}

const DimExpr *dx_affine(Graph *g, const DimExpr *x, int64_t a, int64_t b)
{
    int64_t c, ab, t;
    if (!x)
        return NULL;
    if (dx_is_const(x, &c))
        return ir_mul_ok(a, c, &t) && ir_add_ok(t, b, &t) ? dx_const(g, t) : NULL;
    if (a == 0)
        return dx_const(g, b);
    if (a < 0)
        return NULL;
    if (a == 1 && b == 0)
        return x;
    if (x->kind == DX_AFFINE) {     /* a (a' y + b') + b */
        if (!ir_mul_ok(a, x->a, &t) || !ir_mul_ok(a, x->b, &ab) || !ir_add_ok(ab, b, &ab))
            return NULL;
        return dx_affine(g, x->x, t, ab);
    }
    DimExpr *e = node(g, DX_AFFINE, x);
    e->a = a;
    e->b = b;
    return e;
}

const DimExpr *dx_floordiv(Graph *g, const DimExpr *x, int64_t c)
{
    int64_t k;
    if (!x || c <= 0)
        return NULL;
    if (c == 1)
        return x;
    if (dx_is_const(x, &k))
        return dx_const(g, floordiv(k, c));
    if (x->kind == DX_AFFINE && x->a % c == 0 && x->b % c == 0)
        return dx_affine(g, x->x, x->a / c, x->b / c);
    if (x->kind == DX_FLOORDIV && x->c <= INT64_MAX / c)   /* floor(floor(y/a)/b) = floor(y/ab) */
        return dx_floordiv(g, x->x, x->c * c);
    DimExpr *e = node(g, DX_FLOORDIV, x);
    e->c = c;
    return e;
}

const DimExpr *dx_min(Graph *g, const DimExpr *x, int64_t c)
{
    int64_t k;
    if (!x)
        return NULL;
    if (dx_is_const(x, &k))
        return dx_const(g, k < c ? k : c);
    bool ok = true;
    if (x->sym < g->nrtdims && dx_eval(x, g->rtdims[x->sym].hi, &ok) <= c && ok)
        return x;   /* non-decreasing: never above c */
    DimExpr *e = node(g, DX_MIN, x);
    e->c = c;
    return e;
}

const DimExpr *dx_add(Graph *g, const DimExpr *x, const DimExpr *y)
{
    int64_t c;
    if (!x || !y)
        return NULL;
    if (dx_is_const(y, &c))
        return dx_affine(g, x, 1, c);
    if (dx_is_const(x, &c))
        return dx_affine(g, y, 1, c);
    return NULL;
}

const DimExpr *dx_mul(Graph *g, const DimExpr *x, const DimExpr *y)
{
    int64_t c;
    if (!x || !y)
        return NULL;
    if (dx_is_const(y, &c))
        return dx_affine(g, x, c, 0);
    if (dx_is_const(x, &c))
        return dx_affine(g, y, c, 0);
    return NULL;
}

int64_t dx_eval(const DimExpr *x, int64_t n, bool *ok)
{
    int64_t v, t;
    switch (x->kind) {
    case DX_CONST: return x->c;
    case DX_SYM: return n;
    case DX_AFFINE:
        v = dx_eval(x->x, n, ok);
        if (!ir_mul_ok(x->a, v, &t) || !ir_add_ok(t, x->b, &t)) {
            *ok = false;
            return 0;
        }
        return t;
    case DX_FLOORDIV: return floordiv(dx_eval(x->x, n, ok), x->c);
    case DX_MIN:
        v = dx_eval(x->x, n, ok);
        return v < x->c ? v : x->c;
    }
    *ok = false;
    return 0;
}

/* Points of the symbol's range to compare at: all of it when short, else
 * an even spread with both ends. */
#define DX_SAMPLES 65536

static int64_t sample(const RtDim *r, int64_t i, int64_t count)
{
    int64_t span = (r->hi - r->lo) / r->step;
    if (span < count)
        return r->lo + i * r->step;
    return r->lo + r->step * (int64_t)((double)span * (double)i / (double)(count - 1));
}

static int64_t samples(const RtDim *r)
{
    int64_t span = (r->hi - r->lo) / r->step;
    return span < DX_SAMPLES ? span + 1 : DX_SAMPLES;
}

bool dx_equal(const Graph *g, const DimExpr *x, const DimExpr *y)
{
    if (x == y)
        return true;
    if (!x || !y)
        return false;
    int64_t cx, cy;
    if (dx_is_const(x, &cx) && dx_is_const(y, &cy))
        return cx == cy;
    int s = x->sym >= 0 ? x->sym : y->sym;
    if ((x->sym >= 0 && y->sym >= 0 && x->sym != y->sym) || s >= g->nrtdims)
        return false;
    const RtDim *r = &g->rtdims[s];
    bool ok = true;
    for (int64_t i = 0, count = samples(r); i < count && ok; i++) {
        int64_t n = sample(r, i, count);
        if (dx_eval(x, n, &ok) != dx_eval(y, n, &ok))
            return false;
    }
    return ok;
}

/* Every floor division's numerator >= 0 at n (the C rendering truncates). */
static bool numerators_ok(const DimExpr *x, int64_t n)
{
    bool ok = true;
    for (; x && ok; x = x->x)
        if (x->kind == DX_FLOORDIV && dx_eval(x->x, n, &ok) < 0)
            return false;
    return ok;
}

bool dx_valid(const Graph *g, const DimExpr *x, int64_t max)
{
    if (!x || x->sym < 0 || x->sym >= g->nrtdims)
        return false;
    const RtDim *r = &g->rtdims[x->sym];
    bool ok = true;
    /* every kind is non-decreasing in n, so the low end bounds them all */
    return numerators_ok(x, r->lo) && dx_eval(x, r->lo, &ok) >= 1 &&
           dx_eval(x, r->hi, &ok) == max && ok;
}

static void print(const Graph *g, const DimExpr *x, char *buf, size_t cap)
{
    char in[256] = "";
    if (x->x)
        print(g, x->x, in, sizeof in);
    switch (x->kind) {
    case DX_CONST: snprintf(buf, cap, "%lld", (long long)x->c); return;
    case DX_SYM:
        snprintf(buf, cap, "%s", x->sym < g->nrtdims ? g->rtdims[x->sym].name : "?");
        return;
    case DX_AFFINE:
        if (x->a == 1)
            snprintf(buf, cap, "%s%+lld", in, (long long)x->b);
        else if (x->b == 0)
            snprintf(buf, cap, "%lld*%s", (long long)x->a, in);
        else
            snprintf(buf, cap, "%lld*%s%+lld", (long long)x->a, in, (long long)x->b);
        return;
    case DX_FLOORDIV: snprintf(buf, cap, "((%s)/%lld)", in, (long long)x->c); return;
    case DX_MIN: snprintf(buf, cap, "min(%s,%lld)", in, (long long)x->c); return;
    }
}

char *dx_str(Graph *g, const DimExpr *x)
{
    char buf[512] = "?";    /* no expression: a message about a dim that is not run-time */
    if (x)
        print(g, x, buf, sizeof buf);
    return ir_strdup(g->arena, buf);
}

const DimExpr *ir_dyn(const Value *v, int k)
{
    return v->dyn && k >= 0 && k < v->shape.rank ? v->dyn[k] : NULL;
}

unsigned ir_dyn_axes(const Value *v)
{
    unsigned m = 0;
    for (int k = 0; v->dyn && k < v->shape.rank; k++)
        if (v->dyn[k])
            m |= 1u << k;
    return m;
}

char *ir_dyn_shape_str(Graph *g, const Value *v)
{
    const char *parts[IR_MAX_RANK];
    for (int k = 0; k < v->shape.rank; k++)
        parts[k] = ir_dyn(v, k) ? dx_str(g, ir_dyn(v, k))
                                : ir_sprintf(g->arena, "%lld", (long long)v->shape.dim[k]);
    return ir_join_dims(g->arena, v->shape.rank, parts);
}

bool ir_has_dyn(const Value *v)
{
    for (int k = 0; v->dyn && k < v->shape.rank; k++)
        if (v->dyn[k])
            return true;
    return false;
}

void ir_set_dyn(Graph *g, Value *v, int k, const DimExpr *x)
{
    if (!v->dyn) {
        if (!x)
            return;
        v->dyn = ir_alloc_array(g->arena, IR_MAX_RANK, sizeof *v->dyn);
    }
    v->dyn[k] = x;
}
