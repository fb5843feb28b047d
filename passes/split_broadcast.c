/* Broadcast loops split in two: an elementwise kernel is one flat loop
 * out[v] = f(v), v < n, whose operands of other shapes are read at
 * indices made of v with / and % by their dims' strides,
 *
 *   bias [C,1,1] over [1,C,H,W]:   b[(v % (C*H*W)) / (H*W)]
 *   one-hot  x [1,S,1] == r [1,1,K]:   x[(v % (S*K)) / K] == r[v % K]
 *
 * A division per element keeps the C compiler from vectorising the loop.
 * With v = o*L + i (0 <= i < L), L the greatest common divisor of those
 * divisors (and of n), each index becomes a function of o plus one of i:
 *
 *   (o*L + i) % D  =  (o % (D/L))*L + i     when L divides D
 *                  =  i % D                 when D divides L (i when D == L)
 *   (o*L + i) / D  =  o / (D/L)             when L divides D
 *                  =  o*(L/D) + i / D       when D divides L
 *
 * so the kernel becomes  for o < n/L: for i < L: out[o*L + i] = f(o*L + i)
 * whose inner loop reads each operand contiguously or as one value: it
 * vectorises. Runs after fusion (which needs the flat form) and GELU
 * recognition. A kernel with an index this cannot rewrite stays flat.
 *
 * Loads the innermost loop repeats at one index (a per-channel bias, a
 * scalar) are read once before it into a variable: gcc's partial
 * redundancy elimination otherwise reloads them in the loop's latch (the
 * store might change them), and a loop whose latch is not empty is not
 * vectorised (a softmax's exp over x - max ran scalar that way). */
#include "passes.h"
#include "../ir/loop.h"

/* The inner loop must be long enough to pay for the outer one. */
#define MIN_INNER 8

static int64_t gcd(int64_t a, int64_t b)
{
    while (b) {
        int64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

static bool uses_var(const LExpr *e, int var)
{
    return e && ((e->kind == LE_VAR && e->var == var) || uses_var(e->a, var) ||
                 uses_var(e->b, var) || uses_var(e->c, var));
}

static bool is_div(const LExpr *e)
{
    return e->kind == LE_BINARY && (e->op == LB_DIV || e->op == LB_FMOD) &&
           e->dt == DT_INT64 && e->b->kind == LE_CONST && e->b->i > 0;
}

typedef struct {
    LKernel *k;
    int v, o, i;            /* the flat variable, the outer and inner ones */
    int64_t L;
    bool ok;
} Split;

/* The gcd of the divisors applied to expressions of v. */
static void divisors(const LExpr *e, int v, int64_t *g)
{
    if (!e)
        return;
    if (is_div(e) && uses_var(e->a, v))
        *g = gcd(*g, e->b->i);
    divisors(e->a, v, g);
    divisors(e->b, v, g);
    divisors(e->c, v, g);
}

/* What an expression of v became: A*L + B with 0 <= B < L (CANON), an
 * expression of o alone (OUTER: any further / or % is fine), or anything
 * else (MIXED: no further / or %). `full` is the expression itself. */
typedef enum { CANON, OUTER, MIXED } PartKind;

typedef struct {
    PartKind kind;
    LExpr *A, *B;
    LExpr *full;
} Part;

static Part rewrite(Split *s, const LExpr *e);

static Part make(PartKind kind, LExpr *full)
{
    Part p = {kind, NULL, NULL, full};
    return p;
}

static Part canon(Split *s, LExpr *A, LExpr *B)
{
    Part p = {CANON, A, B, lx_add(s->k, lx_muli(s->k, A, s->L), B)};
    return p;
}

static Part divide(Split *s, const LExpr *e)
{
    LKernel *k = s->k;
    int64_t D = e->b->i, L = s->L;
    Part x = rewrite(s, e->a);
    if (!s->ok)
        return x;
    if (x.kind == OUTER)
        return make(OUTER, e->op == LB_FMOD ? lx_mod(k, x.full, lx_idx(k, D))
                                            : lx_div(k, x.full, lx_idx(k, D)));
    if (x.kind == CANON && e->op == LB_FMOD) {
        if (D % L == 0)
            return canon(s, lx_mod(k, x.A, lx_idx(k, D / L)), x.B);
        if (L % D == 0)
            return canon(s, lx_idx(k, 0), D == L ? x.B : lx_mod(k, x.B, lx_idx(k, D)));
    } else if (x.kind == CANON) {
        if (D % L == 0)
            return make(OUTER, lx_div(k, x.A, lx_idx(k, D / L)));
        if (L % D == 0)
            return make(MIXED, lx_add(k, lx_muli(k, x.A, L / D), lx_div(k, x.B, lx_idx(k, D))));
    }
    s->ok = false;
    return x;
}

static Part rewrite(Split *s, const LExpr *e)
{
    LKernel *k = s->k;
    if (!s->ok || !e)
        return make(OUTER, NULL);
    if (e->kind == LE_VAR && e->var == s->v)
        return canon(s, lx_var(k, s->o), lx_var(k, s->i));
    if (!uses_var(e, s->v))
        return make(OUTER, (LExpr *)e);  /* shared, never modified */
    if (is_div(e))
        return divide(s, e);
    LExpr *c = ir_alloc(k->g->arena, sizeof *c);
    *c = *e;
    Part a = rewrite(s, e->a), b = rewrite(s, e->b), cc = rewrite(s, e->c);
    c->a = a.full;
    c->b = b.full;
    c->c = cc.full;
    bool outer = a.kind == OUTER && b.kind == OUTER && cc.kind == OUTER;
    return make(outer ? OUTER : MIXED, c);
}

typedef struct {
    LKernel *k;
    int inner;              /* the loop variable loads may not use */
    LStmt *at;              /* where the reads go */
    const LExpr *loads[16];
    int vars[16], n;
} Hoist;

/* Copy of e with each load at an index free of h->inner read once into a
 * variable assigned in h->at. */
static LExpr *hoist(Hoist *h, const LExpr *e)
{
    if (!e)
        return NULL;
    if (e->kind == LE_LOAD && !uses_var(e->a, h->inner)) {
        for (int j = 0; j < h->n; j++)
            if (lx_equal(h->loads[j], e))
                return lx_var(h->k, h->vars[j]);
        if (h->n < (int)(sizeof h->loads / sizeof h->loads[0])) {
            int v = lk_var(h->k, e->dt);
            ls_push(h->k, h->at, ls_assign(h->k, v, (LExpr *)e));
            h->loads[h->n] = e;
            h->vars[h->n++] = v;
            return lx_var(h->k, v);
        }
        return (LExpr *)e;
    }
    if (e->kind == LE_LOAD)
        return (LExpr *)e;
    LExpr *c = ir_alloc(h->k->g->arena, sizeof *c);
    *c = *e;
    c->a = hoist(h, e->a);
    c->b = hoist(h, e->b);
    c->c = hoist(h, e->c);
    return c;
}

static bool has_invariant_load(const LExpr *e, int inner)
{
    return e && ((e->kind == LE_LOAD && !uses_var(e->a, inner)) ||
                 has_invariant_load(e->a, inner) || has_invariant_load(e->b, inner) ||
                 has_invariant_load(e->c, inner));
}

/* A flat loop whose value reads some element at a fixed index: those
 * reads before it. */
static void hoist_flat(LKernel *k)
{
    if (!has_invariant_load(k->value, k->ivar))
        return;
    LStmt *root = ls_block(k);
    Hoist h = {k, k->ivar, root, {0}, {0}, 0};
    LExpr *value = hoist(&h, k->value);
    LStmt *loop = ls_for(k, k->ivar, ir_value_numel(k->out));
    ls_push(k, loop, ls_store(k, k->out, lx_var(k, k->ivar), value));
    ls_push(k, root, loop);
    k->root = root;
    k->value = value;
    k->elementwise = false;
}

static void split_kernel(LKernel *k)
{
    if (!k->elementwise || !k->out)
        return;
    int64_t n = ir_value_numel(k->out), L = 0;
    if (n <= 0)
        return;
    divisors(k->value, k->ivar, &L);
    L = gcd(L, n);
    if (L < MIN_INNER || L == n) {
        hoist_flat(k);
        return;
    }
    /* the flat variable becomes the outer one: no variable is left unused */
    Split s = {k, k->ivar, k->ivar, lk_var(k, DT_INT64), L, true};
    LExpr *value = rewrite(&s, k->value).full;
    if (!s.ok) {
        hoist_flat(k);
        return;
    }
    LStmt *outer = ls_for(k, s.o, n / L), *inner = ls_for(k, s.i, L);
    Hoist h = {k, s.i, outer, {0}, {0}, 0};
    value = hoist(&h, value);
    ls_push(k, outer, inner);
    ls_push(k, inner, ls_store(k, k->out, canon(&s, lx_var(k, s.o), lx_var(k, s.i)).full, value));
    k->root = ls_block(k);
    ls_push(k, k->root, outer);
    k->value = value;
    k->elementwise = false;     /* no longer out[ivar] = value */
}

bool pass_split_broadcast(Graph *g, Diag *d)
{
    (void)d;
    for (int i = 0; i < g->nnodes; i++) {
        Node *n = g->nodes[i];
        if (!n->dead && n->kernel)
            split_kernel(n->kernel);
    }
    return true;
}
