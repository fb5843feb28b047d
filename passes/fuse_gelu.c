/* GELU recognition in the loop IR: after fusion, an exporter's GELU chain
 * (five to nine elementwise nodes) is one expression in one loop, however
 * it was spelled: Pow(x, 3) or x*x*x, Mul orders, Div by 2 or by sqrt 2,
 * 0.5 applied first or last, sqrt(2/pi) multiplied in or distributed. So
 * this pass reads each float expression as a polynomial in x and in the
 * one tanh or erf it contains, a(x) = 0.5 x + 0.5 x A, and rewrites
 *
 *   tanh form  A = tanh(k1 x + k3 x^3), k1 = sqrt(2/pi), k3 = 0.044715 k1:
 *              x / (1 + exp(-2 (k1 x + k3 x^3)))   one exp and a division
 *              (tanh costs an exp, a division and a polynomial), and no
 *              cancellation in 1 + A for x < 0;
 *   erf form   A = erf(x / sqrt 2):  h + h erf(x sqrt(1/2)), h = x / 2.
 *
 * x may be any expression (a load, a fused bias add). Constants match
 * within their type's rounding (rtol 1e-5, float16 1e-3); the model's own
 * k1 and k3 are kept.
 * Float32 and float16 only: double keeps the formula as written. */
#include "passes.h"
#include "../ir/loop.h"

#include <math.h>
#include <string.h>

enum { DEG_X = 3, DEG_A = 1, MAX_CANDIDATES = 64 };

/* c[i][j]: the coefficient of x^i A^j */
typedef struct {
    double c[DEG_X + 1][DEG_A + 1];
} Poly;

static bool poly_mul(Poly *r, const Poly *p, const Poly *q)
{
    Poly t;
    memset(&t, 0, sizeof t);
    for (int i = 0; i <= DEG_X; i++)
        for (int j = 0; j <= DEG_A; j++)
            for (int k = 0; k <= DEG_X; k++)
                for (int l = 0; l <= DEG_A; l++) {
                    double v = p->c[i][j] * q->c[k][l];
                    if (v == 0)
                        continue;
                    if (i + k > DEG_X || j + l > DEG_A)
                        return false;
                    t.c[i + k][j + l] += v;
                }
    *r = t;
    return true;
}

/* e as a polynomial in x and atom (atom may be NULL: in x alone). */
static bool poly_of(const LExpr *e, const LExpr *x, const LExpr *atom, Poly *p)
{
    double v;
    memset(p, 0, sizeof *p);
    if (lx_equal(e, x)) {
        p->c[1][0] = 1;
        return true;
    }
    if (atom && lx_equal(e, atom)) {
        p->c[0][1] = 1;
        return true;
    }
    if (lx_const_float(e, &v)) {
        p->c[0][0] = v;
        return true;
    }
    Poly a, b;
    if (e->kind == LE_UNARY && e->op == LU_NEG) {
        if (!poly_of(e->a, x, atom, &a))
            return false;
        for (int i = 0; i <= DEG_X; i++)
            for (int j = 0; j <= DEG_A; j++)
                p->c[i][j] = -a.c[i][j];
        return true;
    }
    if (e->kind != LE_BINARY || !poly_of(e->a, x, atom, &a))
        return false;
    switch (e->op) {
    case LB_ADD:
    case LB_SUB:
        if (!poly_of(e->b, x, atom, &b))
            return false;
        for (int i = 0; i <= DEG_X; i++)
            for (int j = 0; j <= DEG_A; j++)
                p->c[i][j] = a.c[i][j] + (e->op == LB_ADD ? 1 : -1) * b.c[i][j];
        return true;
    case LB_MUL:
        return poly_of(e->b, x, atom, &b) && poly_mul(p, &a, &b);
    case LB_DIV:
        if (!lx_const_float(e->b, &v) || v == 0)
            return false;
        for (int i = 0; i <= DEG_X; i++)
            for (int j = 0; j <= DEG_A; j++)
                p->c[i][j] = a.c[i][j] / v;
        return true;
    case LB_POW:
        if (!lx_const_float(e->b, &v) || (v != 1 && v != 2 && v != 3))
            return false;
        *p = a;
        for (int k = 1; k < (int)v; k++)
            if (!poly_mul(p, p, &a))
                return false;
        return true;
    default:
        return false;
    }
}

static bool is_arith(const LExpr *e)
{
    double v;
    return lx_const_float(e, &v) || (e->kind == LE_UNARY && e->op == LU_NEG) ||
           (e->kind == LE_BINARY && (e->op == LB_ADD || e->op == LB_SUB || e->op == LB_MUL ||
                                     e->op == LB_DIV || e->op == LB_POW));
}

/* The first operand of the arithmetic in e that is not itself arithmetic:
 * the x of a polynomial in x. */
static const LExpr *first_leaf(const LExpr *e)
{
    if (!is_arith(e))
        return e;
    double v;
    if (lx_const_float(e, &v))
        return NULL;
    const LExpr *l = first_leaf(e->a);
    return l ? l : (e->kind == LE_BINARY ? first_leaf(e->b) : NULL);
}

/* The tanh or erf under e's arithmetic, when there is exactly one. */
static const LExpr *find_atom(const LExpr *e, const LExpr *found, int *n)
{
    if (e->kind == LE_UNARY && (e->op == LU_TANH || e->op == LU_ERF)) {
        if (!found || !lx_equal(found, e))
            (*n)++;
        return e;
    }
    if (!is_arith(e))
        return found;
    double v;
    if (lx_const_float(e, &v))
        return found;
    const LExpr *a = find_atom(e->a, found, n);
    if (e->kind == LE_BINARY)
        a = find_atom(e->b, a, n);
    return a;
}

static bool near(double got, double want, double rtol)
{
    return fabs(got - want) <= rtol * fabs(want);
}

static bool only(const Poly *p, int i0, int j0, int i1, int j1)
{
    for (int i = 0; i <= DEG_X; i++)
        for (int j = 0; j <= DEG_A; j++)
            if (p->c[i][j] != 0 && !(i == i0 && j == j0) && !(i == i1 && j == j1))
                return false;
    return true;
}

/* The GELU of x at e (atom its tanh or erf) rewritten, or NULL. */
static LExpr *gelu_of(LKernel *k, const LExpr *e, const LExpr *atom, const LExpr *x)
{
    Poly u, g;
    if (!poly_of(atom->a, x, NULL, &u) || !poly_of(e, x, atom, &g))
        return NULL;
    /* a(x) = 0.5 x + 0.5 x A */
    if (!only(&g, 1, 0, 1, 1) || !near(g.c[1][0], 0.5, 1e-6) || !near(g.c[1][1], 0.5, 1e-6))
        return NULL;
    LExpr *xe = (LExpr *)x;     /* shared, never modified */
    DType dt = e->dt;
    double tol = dt == DT_FLOAT16 ? 1e-3 : 1e-5;   /* the constants' own rounding */
    if (atom->op == LU_TANH) {
        double k1 = u.c[1][0], k3 = u.c[3][0];
        if (!only(&u, 1, 0, 3, 0) || !near(k1, 0.7978845608028654, tol) ||
            !near(k3 / k1, 0.044715, tol))
            return NULL;
        /* x / (1 + exp(x (-2 k1 - 2 k3 x^2))) */
        LExpr *x2 = lx_bin(k, LB_MUL, xe, xe);
        LExpr *m2u = lx_bin(k, LB_MUL, xe,
                            lx_bin(k, LB_ADD, lx_f(k, dt, -2 * k1),
                                   lx_bin(k, LB_MUL, lx_f(k, dt, -2 * k3), x2)));
        return lx_bin(k, LB_DIV, xe,
                      lx_bin(k, LB_ADD, lx_f(k, dt, 1), lx_un(k, LU_EXP, m2u)));
    }
    if (!only(&u, 1, 0, 1, 0) || !near(u.c[1][0], sqrt(0.5), tol))
        return NULL;
    LExpr *h = lx_bin(k, LB_MUL, xe, lx_f(k, dt, 0.5));
    LExpr *er = lx_un(k, LU_ERF, lx_bin(k, LB_MUL, xe, lx_f(k, dt, sqrt(0.5))));
    return lx_bin(k, LB_ADD, h, lx_bin(k, LB_MUL, h, er));
}

/* The GELU at e rewritten, or NULL. x is the first leaf of the tanh's or
 * erf's argument, or failing that a larger operand of that argument's
 * arithmetic: fusion may have inlined x's own expression (a bias add read
 * three times), whose leaf is then not x. */
static LExpr *gelu(LKernel *k, const LExpr *e)
{
    int n = 0;
    const LExpr *atom = find_atom(e, NULL, &n);
    if (n != 1 || e->dt == DT_DOUBLE || !ir_dtype_is_float(e->dt))
        return NULL;
    const LExpr *x = first_leaf(atom->a);
    LExpr *r = x ? gelu_of(k, e, atom, x) : NULL;
    /* the candidates: operands along the argument's arithmetic, outermost first */
    const LExpr *stack[MAX_CANDIDATES];
    int top = 0;
    if (!r && is_arith(atom->a)) {
        stack[top++] = atom->a->a;
        if (atom->a->kind == LE_BINARY)
            stack[top++] = atom->a->b;
    }
    while (!r && top > 0) {
        const LExpr *c = stack[--top];
        double v;
        if (lx_const_float(c, &v))
            continue;
        r = gelu_of(k, e, atom, c);
        if (!r && is_arith(c) && top + 2 <= MAX_CANDIDATES) {
            stack[top++] = c->a;
            if (c->kind == LE_BINARY)
                stack[top++] = c->b;
        }
    }
    return r;
}

typedef struct {
    LKernel *k;
    int rewrites;
} Ctx;

/* Pre-order: the outermost match wins; its new children hold no GELU. */
static void visit(LExpr *e, void *ctx)
{
    Ctx *c = ctx;
    if (e->kind != LE_BINARY || (e->op != LB_MUL && e->op != LB_DIV && e->op != LB_ADD))
        return;
    LExpr *r = gelu(c->k, e);
    if (r) {
        *e = *r;
        c->rewrites++;
    }
}

bool pass_fuse_gelu(Graph *g, Diag *d)
{
    (void)d;
    for (int i = 0; i < g->nnodes; i++) {
        Node *n = g->nodes[i];
        if (n->dead || !n->kernel)
            continue;
        Ctx c = {n->kernel, 0};
        lk_walk_exprs(n->kernel, visit, &c);
    }
    return true;
}
