/* Marks the loops whose iterations may run at the same time, in the loop IR
 * of every live node's kernel: LStmt.parallel on the loop, LKernel.var_private
 * for the variables each iteration owns. Target-neutral: the C dialect
 * prints a marked loop under DLC_PARALLEL (OpenMP), a GPU dialect may map it
 * to the grid. Runs after plan-memory: which buffers share bytes depends on
 * the arena offsets.
 *
 * The outermost loop of a statement at a kernel's top level (or the first
 * suitable one down a perfect nest) is marked when
 *   - it calls nothing (runtime kernels manage their own work);
 *   - each iteration touches its own elements of every buffer it writes:
 *     every access to such a buffer (and to any buffer sharing its bytes)
 *     is  C + a·p + f  with p the loop variable, the same a > 0 and the same
 *     part C in enclosing loop variables for all accesses, and f (in loop
 *     variables inside, ranging over their extents) within a window
 *     narrower than a;
 *   - every other variable it uses is used nowhere else in the kernel and
 *     is assigned before it is read in each iteration: it is private to the
 *     iteration (declared inside the loop);
 *   - one entry does enough work (PAR_MIN_WORK innermost statements) to
 *     pay for waking the threads. */
#include "passes.h"
#include "../ir/loop.h"

#include <string.h>

#define PAR_MIN_WORK 32768.0
#define AFF_MAX 12

typedef struct {
    int n;
    int var[AFF_MAX];
    int64_t c[AFF_MAX];
    int64_t k;
} Affine;

static bool aff_add_term(Affine *a, int var, int64_t c)
{
    for (int i = 0; i < a->n; i++)
        if (a->var[i] == var)
            return ir_add_ok(a->c[i], c, &a->c[i]);
    if (a->n == AFF_MAX)
        return false;
    a->var[a->n] = var;
    a->c[a->n++] = c;
    return true;
}

/* e as k + sum c_i·var_i over int64; false when it is not affine. */
static bool affine(const LExpr *e, Affine *out)
{
    memset(out, 0, sizeof *out);
    if (e->dt != DT_INT64)
        return false;
    switch (e->kind) {
    case LE_CONST: out->k = e->i; return true;
    case LE_VAR: return aff_add_term(out, e->var, 1);
    case LE_BINARY: break;
    default: return false;
    }
    Affine a, b;
    if (!affine(e->a, &a) || !affine(e->b, &b))
        return false;
    int64_t sign = 1;
    switch (e->op) {
    case LB_SUB:
        sign = -1;
        /* fall through */
    case LB_ADD:
        *out = a;
        for (int i = 0; i < b.n; i++)
            if (!aff_add_term(out, b.var[i], sign * b.c[i]))
                return false;
        return ir_add_ok(a.k, sign * b.k, &out->k);
    case LB_MUL: {
        if (a.n && b.n)
            return false;
        const Affine *x = a.n ? &a : &b;
        int64_t m = a.n ? b.k : a.k;
        *out = *x;
        for (int i = 0; i < out->n; i++)
            if (!ir_mul_ok(out->c[i], m, &out->c[i]))
                return false;
        return ir_mul_ok(x->k, m, &out->k);
    }
    default:
        return false;
    }
}

/* One candidate loop under analysis. */
typedef struct {
    const LKernel *k;
    const LStmt *loop;
    int64_t *ext;           /* by var: extent of a loop inside `loop`, else -1 */
    bool *outer;            /* by var: a loop enclosing `loop` */
    bool *priv;             /* by var: assigned inside `loop` (private to it) */
    bool ok;
    /* accesses of written buffers */
    struct Access {
        const Value *buf;
        int64_t a;          /* coefficient of the loop variable */
        int64_t lo, hi;     /* range of the inner part */
        bool unknown;       /* not affine in loop variables */
        Affine outer;       /* the enclosing loops' part */
    } *acc;
    int nacc, capacc;
    const Value **written;
    int nwritten, capwritten;
} Par;

/* Do u and v share bytes (same value, or the same arena bytes)? */
static bool same_bytes(const Value *u, const Value *v)
{
    if (u == v)
        return true;
    if (u->offset < 0 || v->offset < 0 || u->data || v->data || u->is_input || v->is_input ||
        u->output_index >= 0 || v->output_index >= 0)
        return false;
    int64_t ue = u->offset + (int64_t)ir_value_bytes(u), ve = v->offset + (int64_t)ir_value_bytes(v);
    return u->offset < ve && v->offset < ue;
}

static void par_push(Par *P, const struct Access *x)
{
    if (P->nacc == P->capacc) {
        P->capacc = P->capacc ? 2 * P->capacc : 16;
        struct Access *n = ir_alloc_array(P->k->g->arena, (size_t)P->capacc, sizeof *n);
        if (P->nacc)
            memcpy(n, P->acc, (size_t)P->nacc * sizeof *n);
        P->acc = n;
    }
    P->acc[P->nacc++] = *x;
}

static void par_note_access(Par *P, const Value *buf, const LExpr *idx)
{
    Affine f;
    struct Access x = {buf, 0, 0, 0, false, {0}};
    if (!affine(idx, &f)) {
        x.unknown = true;   /* fine for a buffer nobody writes here */
        par_push(P, &x);
        return;
    }
    x.lo = x.hi = f.k;
    for (int i = 0; i < f.n; i++) {
        int v = f.var[i];
        int64_t c = f.c[i], span;
        if (v == P->loop->var) {
            x.a = c;
        } else if (P->ext[v] >= 1) {
            if (!ir_mul_ok(c, P->ext[v] - 1, &span) ||
                !ir_add_ok(c > 0 ? x.hi : x.lo, span, c > 0 ? &x.hi : &x.lo)) {
                P->ok = false;
                return;
            }
        } else if (P->outer[v] && aff_add_term(&x.outer, v, c)) {
            continue;
        } else {
            x.unknown = true;   /* an index held in a variable */
            break;
        }
    }
    par_push(P, &x);
}

static bool aff_equal(const Affine *a, const Affine *b)
{
    if (a->n != b->n)
        return false;
    for (int i = 0; i < a->n; i++) {
        int j = 0;
        while (j < b->n && b->var[j] != a->var[i])
            j++;
        if (j == b->n || b->c[j] != a->c[i])
            return false;
    }
    return true;
}

static void par_loads(Par *P, const LExpr *e)
{
    if (!e || !P->ok)
        return;
    if (e->kind == LE_LOAD)
        par_note_access(P, e->buf, e->a);
    par_loads(P, e->a);
    par_loads(P, e->b);
    par_loads(P, e->c);
}

/* Reads of variables in e: each one the loop assigns must be assigned
 * already in this iteration (the others are shared and read-only here). */
static void par_reads(Par *P, const LExpr *e, const bool *assigned)
{
    if (!e || !P->ok)
        return;
    if (e->kind == LE_VAR && P->priv[e->var] && !assigned[e->var])
        P->ok = false;
    par_reads(P, e->a, assigned);
    par_reads(P, e->b, assigned);
    par_reads(P, e->c, assigned);
}

/* Walks s in execution order; `assigned` holds the private variables
 * certainly assigned so far in this iteration (updated). */
static void par_walk(Par *P, const LStmt *s, bool *assigned)
{
    if (!P->ok)
        return;
    int nv = P->k->nvars;
    switch (s->kind) {
    case LS_ASSIGN:
        par_reads(P, s->e, assigned);
        par_loads(P, s->e);
        assigned[s->var] = true;
        return;
    case LS_STORE:
        par_reads(P, s->idx, assigned);
        par_reads(P, s->e, assigned);
        par_loads(P, s->e);
        par_loads(P, s->idx);
        par_note_access(P, s->buf, s->idx);
        for (int i = 0; i < P->nwritten; i++)
            if (P->written[i] == s->buf)
                return;
        if (P->nwritten == P->capwritten) {
            P->capwritten = P->capwritten ? 2 * P->capwritten : 8;
            const Value **n = ir_alloc_array(P->k->g->arena, (size_t)P->capwritten, sizeof *n);
            if (P->nwritten)
                memcpy(n, P->written, (size_t)P->nwritten * sizeof *n);
            P->written = n;
        }
        P->written[P->nwritten++] = s->buf;
        return;
    case LS_BLOCK:
        for (int i = 0; i < s->n; i++)
            par_walk(P, s->body[i], assigned);
        return;
    case LS_FOR:
        /* A loop that runs at least once leaves its assignments behind. */
        if (s->extent >= 1) {
            for (int i = 0; i < s->n; i++)
                par_walk(P, s->body[i], assigned);
        } else {
            bool *tmp = ir_alloc_array(P->k->g->arena, (size_t)nv + 1, sizeof(bool));
            memcpy(tmp, assigned, (size_t)nv * sizeof(bool));
            for (int i = 0; i < s->n; i++)
                par_walk(P, s->body[i], tmp);
        }
        return;
    case LS_IF: {
        par_reads(P, s->e, assigned);
        par_loads(P, s->e);
        bool *a = ir_alloc_array(P->k->g->arena, (size_t)nv + 1, sizeof(bool));
        bool *b = ir_alloc_array(P->k->g->arena, (size_t)nv + 1, sizeof(bool));
        memcpy(a, assigned, (size_t)nv * sizeof(bool));
        memcpy(b, assigned, (size_t)nv * sizeof(bool));
        for (int i = 0; i < s->n; i++)
            par_walk(P, s->body[i], a);
        for (int i = 0; i < s->nels; i++)
            par_walk(P, s->els[i], b);
        for (int v = 0; v < nv; v++)
            assigned[v] = a[v] && b[v];
        return;
    }
    default:        /* a runtime call: it manages its own threads */
        P->ok = false;
        return;
    }
}

/* Every access to a written buffer stays in the iteration's own window. */
static bool par_disjoint(const Par *P)
{
    for (int w = 0; w < P->nwritten; w++) {
        const Value *buf = P->written[w];
        const struct Access *first = NULL;
        int64_t lo = INT64_MAX, hi = INT64_MIN;
        for (int i = 0; i < P->nacc; i++) {
            const struct Access *x = &P->acc[i];
            if (!same_bytes(x->buf, buf))
                continue;
            if (ir_dtype_size(x->buf->dtype) != ir_dtype_size(buf->dtype))
                return false;
            if (!first)
                first = x;
            if (x->unknown || first->unknown || x->a <= 0 || x->a != first->a || !aff_equal(&x->outer, &first->outer))
                return false;
            lo = x->lo < lo ? x->lo : lo;
            hi = x->hi > hi ? x->hi : hi;
        }
        if (first && hi - lo >= first->a)
            return false;
    }
    return true;
}

/* Innermost statements one execution of s runs. */
static double work(const LStmt *s)
{
    double w = 0;
    switch (s->kind) {
    case LS_FOR:
    case LS_BLOCK:
        for (int i = 0; i < s->n; i++)
            w += work(s->body[i]);
        return s->kind == LS_FOR ? (double)s->extent * (w > 1 ? w : 1) : w;
    case LS_IF: {
        double e = 0;
        for (int i = 0; i < s->n; i++)
            w += work(s->body[i]);
        for (int i = 0; i < s->nels; i++)
            e += work(s->els[i]);
        return 1 + (w > e ? w : e);
    }
    default:
        return 1;
    }
}

static void set_ext(const LStmt *s, int64_t *ext)
{
    if (s->kind == LS_FOR && s->extent > ext[s->var])
        ext[s->var] = s->extent;
    for (int i = 0; i < s->n; i++)
        set_ext(s->body[i], ext);
    for (int i = 0; i < s->nels; i++)
        set_ext(s->els[i], ext);
}

static void mark_owner(const LExpr *e, int top, int *owner)
{
    if (!e)
        return;
    if (e->kind == LE_VAR)
        owner[e->var] = owner[e->var] == -1 || owner[e->var] == top ? top : -2;
    mark_owner(e->a, top, owner);
    mark_owner(e->b, top, owner);
    mark_owner(e->c, top, owner);
}

static void mark_owners(const LStmt *s, int top, int *owner)
{
    if (s->kind == LS_ASSIGN || s->kind == LS_FOR)
        owner[s->var] = owner[s->var] == -1 || owner[s->var] == top ? top : -2;
    mark_owner(s->e, top, owner);
    mark_owner(s->idx, top, owner);
    for (int i = 0; i < s->n; i++)
        mark_owners(s->body[i], top, owner);
    for (int i = 0; i < s->nels; i++)
        mark_owners(s->els[i], top, owner);
}

static void mark_assigned(const LStmt *s, bool *out)
{
    if (s->kind == LS_ASSIGN)
        out[s->var] = true;
    for (int i = 0; i < s->n; i++)
        mark_assigned(s->body[i], out);
    for (int i = 0; i < s->nels; i++)
        mark_assigned(s->els[i], out);
}

/* Is `loop` (top-level statement `top`, enclosed by the loops outer[])
 * safe and worth running in parallel? Marks it and its private variables. */
static bool try_parallel(LKernel *k, LStmt *loop, int top, const int *owner,
                         const bool *outer_vars)
{
    if (loop->extent < 2 || work(loop) < PAR_MIN_WORK)
        return false;
    Arena *A = k->g->arena;
    int nv = k->nvars;
    Par P = {0};
    P.k = k;
    P.loop = loop;
    P.ok = true;
    P.outer = (bool *)outer_vars;
    P.ext = ir_alloc_array(A, (size_t)nv + 1, sizeof(int64_t));
    for (int v = 0; v < nv; v++)
        P.ext[v] = -1;
    for (int i = 0; i < loop->n; i++)
        set_ext(loop->body[i], P.ext);
    P.priv = ir_alloc_array(A, (size_t)nv + 1, sizeof(bool));
    for (int i = 0; i < loop->n; i++)
        mark_assigned(loop->body[i], P.priv);
    /* What it assigns must be its own: used nowhere else in the kernel. */
    for (int v = 0; v < nv; v++)
        if (P.priv[v] && owner[v] != top)
            return false;
    bool *assigned = ir_alloc_array(A, (size_t)nv + 1, sizeof(bool));
    for (int i = 0; i < loop->n && P.ok; i++)
        par_walk(&P, loop->body[i], assigned);
    if (!P.ok || !par_disjoint(&P))
        return false;
    /* ... and lives inside it. */
    for (int v = 0; v < nv; v++)
        if (P.priv[v])
            k->var_private[v] = loop;
    loop->parallel = true;
    return true;
}

static void clear_marks(LStmt *s)
{
    s->parallel = false;
    for (int i = 0; i < s->n; i++)
        clear_marks(s->body[i]);
    for (int i = 0; i < s->nels; i++)
        clear_marks(s->els[i]);
}

/* Marks the parallel loops of k (at most one per top-level statement),
 * replacing any marks it had. */
void pass_mark_parallel_kernel(LKernel *k)
{
    Arena *A = k->g->arena;
    int nv = k->nvars;
    clear_marks(k->root);
    k->var_private = ir_alloc_array(A, (size_t)nv + 1, sizeof(LStmt *));
    int *owner = ir_alloc_array(A, (size_t)nv + 1, sizeof(int));
    for (int v = 0; v < nv; v++)
        owner[v] = -1;
    for (int i = 0; i < k->root->n; i++)
        mark_owners(k->root->body[i], i, owner);
    bool *outer = ir_alloc_array(A, (size_t)nv + 1, sizeof(bool));
    for (int i = 0; i < k->root->n; i++) {
        /* Down the perfect nest: first a loop of 8 or more iterations,
         * else any of 2 or more. */
        for (int pass = 0; pass < 2; pass++) {
            bool done = false;
            memset(outer, 0, (size_t)nv * sizeof(bool));
            for (LStmt *s = k->root->body[i]; s && s->kind == LS_FOR;) {
                if ((pass == 0 ? s->extent >= 8 : s->extent < 8) &&
                    try_parallel(k, s, i, owner, outer)) {
                    done = true;
                    break;
                }
                outer[s->var] = true;
                s = s->n == 1 ? s->body[0] : NULL;
            }
            if (done)
                break;
        }
    }
}

bool pass_mark_parallel(Graph *g, Diag *d)
{
    (void)d;
    for (int i = 0; i < g->nnodes; i++) {
        Node *n = g->nodes[i];
        if (!n->dead && n->kernel)
            pass_mark_parallel_kernel(n->kernel);
    }
    return true;
}
