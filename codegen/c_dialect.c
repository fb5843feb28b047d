/* Renders loop IR as C99. Float16 lives as uint16_t in memory and
 * computes as float; bool lives as uint8_t and computes as int. */
#include "c_dialect.h"

#include <string.h>

const char *cr_compute_type(DType dt)
{
    switch (dt) {
    case DT_FLOAT16: return "float";
    case DT_BOOL: return "int";
    default: return ir_dtype_ctype(dt);
    }
}

/* Helper functions are keyed "kind:ctype" and emitted once each. */
static const char *helper(CRender *r, const char *kind, DType dt)
{
    const char *ct = cr_compute_type(dt);
    char key[64];
    snprintf(key, sizeof key, "%s:%s", kind, ct);
    for (int i = 0; i < r->nhelpers; i++)
        if (strcmp(r->helpers[i], key) == 0)
            goto named;
    if (r->nhelpers == CH_MAX_HELPERS)
        DLC_BUG("too many helpers");
    r->helpers[r->nhelpers++] = ir_strdup(r->g->arena, key);
named:;
    /* dlc_max_int32 for "max:int32_t" */
    size_t n = strlen(ct);
    if (n > 2 && strcmp(ct + n - 2, "_t") == 0)
        n -= 2;
    return ir_sprintf(r->g->arena, "dlc_%s_%.*s", kind, (int)n, ct);
}

static void expr(CRender *r, const LExpr *e);

static void call1(CRender *r, const char *fn, const LExpr *a)
{
    pr(r->out, "%s(", fn);
    expr(r, a);
    pr(r->out, ")");
}

static void call2(CRender *r, const char *fn, const LExpr *a, const LExpr *b)
{
    pr(r->out, "%s(", fn);
    expr(r, a);
    pr(r->out, ", ");
    expr(r, b);
    pr(r->out, ")");
}

static void infix(CRender *r, const char *op, const LExpr *a, const LExpr *b)
{
    pr(r->out, "(");
    expr(r, a);
    pr(r->out, " %s ", op);
    expr(r, b);
    pr(r->out, ")");
}

/* libm name: expf for float (and float16), exp for double. */
static const char *mathfn(DType dt, const char *base)
{
    static char buf[32];
    snprintf(buf, sizeof buf, "%s%s", base, dt == DT_DOUBLE ? "" : "f");
    return buf;
}

static void unary(CRender *r, const LExpr *e)
{
    static const char *const names[LU_COUNT] = {
        [LU_EXP] = "exp",   [LU_LOG] = "log",     [LU_SQRT] = "sqrt",   [LU_TANH] = "tanh",
        [LU_ERF] = "erf",   [LU_FLOOR] = "floor", [LU_CEIL] = "ceil",   [LU_ROUND] = "nearbyint",
        [LU_SIN] = "sin",   [LU_COS] = "cos",     [LU_TAN] = "tan",     [LU_ASIN] = "asin",
        [LU_ACOS] = "acos", [LU_ATAN] = "atan",   [LU_SINH] = "sinh",   [LU_COSH] = "cosh",
        [LU_ASINH] = "asinh", [LU_ACOSH] = "acosh", [LU_ATANH] = "atanh", [LU_ABS] = "fabs",
    };
    DType dt = e->a->dt;
    bool fl = ir_dtype_is_float(dt);
    switch ((LUnaryOp)e->op) {
    case LU_NEG:
        pr(r->out, "(-");
        expr(r, e->a);
        pr(r->out, ")");
        return;
    case LU_NOT:
        pr(r->out, "(!");
        expr(r, e->a);
        pr(r->out, ")");
        return;
    case LU_BITNOT:
        pr(r->out, "((%s)~", cr_compute_type(dt));
        expr(r, e->a);
        pr(r->out, ")");
        return;
    case LU_SIGN: call1(r, helper(r, "sign", dt), e->a); return;
    case LU_ISNAN:
        if (fl) {
            call1(r, "(0 != isnan", e->a);   /* C only promises nonzero */
            pr(r->out, ")");
        }
        else
            pr(r->out, "0");
        return;
    case LU_ISINF:
        if (fl) {
            call1(r, "(0 != isinf", e->a);   /* C only promises nonzero */
            pr(r->out, ")");
        }
        else
            pr(r->out, "0");
        return;
    case LU_ABS:
        if (!fl) {
            call1(r, helper(r, "abs", dt), e->a);
            return;
        }
        break;
    default:
        if (!fl)
            DLC_BUG("float unary op %d on %s", e->op, ir_dtype_name(dt));
        break;
    }
    if (!names[e->op])
        DLC_BUG("unary op %d has no C name", e->op);
    call1(r, mathfn(dt, names[e->op]), e->a);
}

static void binary(CRender *r, const LExpr *e)
{
    DType dt = e->a->dt;
    bool fl = ir_dtype_is_float(dt);
    static const char *const ops[LB_COUNT] = {
        [LB_ADD] = "+", [LB_SUB] = "-", [LB_MUL] = "*",  [LB_EQ] = "==", [LB_NE] = "!=",
        [LB_LT] = "<",  [LB_LE] = "<=", [LB_GT] = ">",   [LB_GE] = ">=", [LB_AND] = "&&",
        [LB_OR] = "||", [LB_BITAND] = "&", [LB_BITOR] = "|", [LB_BITXOR] = "^",
        [LB_SHL] = "<<", [LB_SHR] = ">>",
    };
    switch ((LBinaryOp)e->op) {
    case LB_DIV:
        if (fl || e->b->kind == LE_CONST)
            infix(r, "/", e->a, e->b);
        else
            call2(r, helper(r, "div", dt), e->a, e->b);
        return;
    case LB_FMOD:
        if (fl)
            call2(r, mathfn(dt, "fmod"), e->a, e->b);
        else if (e->b->kind == LE_CONST && e->b->i > 0)
            infix(r, "%", e->a, e->b);
        else
            call2(r, helper(r, "rem", dt), e->a, e->b);
        return;
    case LB_MOD: call2(r, helper(r, "mod", dt), e->a, e->b); return;
    case LB_POW:
        call2(r, fl ? mathfn(dt, "pow") : helper(r, "pow", dt), e->a, e->b);
        return;
    case LB_SHL: call2(r, helper(r, "shl", dt), e->a, e->b); return;
    case LB_SHR: call2(r, helper(r, "shr", dt), e->a, e->b); return;
    case LB_MIN: call2(r, helper(r, "min", dt), e->a, e->b); return;
    case LB_MAX: call2(r, helper(r, "max", dt), e->a, e->b); return;
    case LB_XOR:
        pr(r->out, "(!");
        expr(r, e->a);
        pr(r->out, " != !");
        expr(r, e->b);
        pr(r->out, ")");
        return;
    default: break;
    }
    if (!ops[e->op])
        DLC_BUG("binary op %d has no C operator", e->op);
    if (e->op == LB_ADD || e->op == LB_SUB || e->op == LB_MUL || e->op >= LB_BITAND) {
        /* Narrow ints promote to int in C: cast back so wrap-around matches. */
        if (!fl && ir_dtype_size(dt) < 4) {
            pr(r->out, "((%s)", cr_compute_type(dt));
            infix(r, ops[e->op], e->a, e->b);
            pr(r->out, ")");
            return;
        }
    }
    infix(r, ops[e->op], e->a, e->b);
}

static void constant(CRender *r, const LExpr *e)
{
    if (ir_dtype_is_float(e->dt)) {
        pr_float(r->out, e->f, e->dt != DT_DOUBLE);
        return;
    }
    switch (e->dt) {
    case DT_INT64:
        if (e->i == INT64_MIN)
            pr(r->out, "(-INT64_C(9223372036854775807) - 1)");
        else if (e->i < 0)
            pr(r->out, "(-INT64_C(%lld))", -(long long)e->i);
        else
            pr(r->out, "INT64_C(%lld)", (long long)e->i);
        return;
    case DT_UINT64: pr(r->out, "UINT64_C(%llu)", (unsigned long long)e->i); return;
    case DT_UINT32: pr(r->out, "%lluu", (unsigned long long)(uint32_t)e->i); return;
    case DT_INT32:
        if (e->i == INT32_MIN)
            pr(r->out, "(-2147483647 - 1)");
        else
            pr(r->out, "%s%lld%s", e->i < 0 ? "(" : "", (long long)e->i, e->i < 0 ? ")" : "");
        return;
    default:
        pr(r->out, "((%s)%lld)", cr_compute_type(e->dt), (long long)e->i);
        return;
    }
}

static void cast(CRender *r, const LExpr *e)
{
    DType to = e->dt, from = e->a->dt;
    if (to == DT_BOOL) {
        pr(r->out, "(");
        expr(r, e->a);
        pr(r->out, " != 0)");
        return;
    }
    if (to == DT_FLOAT16) {    /* round through half precision */
        r->need_half = true;
        pr(r->out, "rt_h2f(rt_f2h((float)");
        expr(r, e->a);
        pr(r->out, "))");
        return;
    }
    if (ir_dtype_is_float(from) && !ir_dtype_is_float(to)) {
        /* Out-of-range float -> int is undefined in C; ONNX leaves it
         * undefined too, so only NaN gets a defined answer (0). */
        call1(r, helper(r, "f2i", to), e->a);
        return;
    }
    pr(r->out, "((%s)", cr_compute_type(to));
    expr(r, e->a);
    pr(r->out, ")");
    (void)from;
}

static void expr(CRender *r, const LExpr *e)
{
    switch (e->kind) {
    case LE_CONST: constant(r, e); return;
    case LE_VAR: pr(r->out, "v%d", e->var); return;
    case LE_LOAD:
        r->value_used[e->buf->id] = true;
        if (e->buf->dtype == DT_FLOAT16) {
            r->need_half = true;
            pr(r->out, "rt_h2f(t%d[", e->buf->id);
            expr(r, e->a);
            pr(r->out, "])");
        } else {
            pr(r->out, "t%d[", e->buf->id);
            expr(r, e->a);
            pr(r->out, "]");
        }
        return;
    case LE_UNARY: unary(r, e); return;
    case LE_BINARY: binary(r, e); return;
    case LE_SELECT:
        pr(r->out, "(");
        expr(r, e->a);
        pr(r->out, " ? ");
        expr(r, e->b);
        pr(r->out, " : ");
        expr(r, e->c);
        pr(r->out, ")");
        return;
    case LE_CAST: cast(r, e); return;
    }
    DLC_BUG("expression kind %d", e->kind);
}

static void stmt(CRender *r, const LStmt *s);

static void body(CRender *r, LStmt *const *items, int n)
{
    r->out->indent++;
    for (int i = 0; i < n; i++)
        stmt(r, items[i]);
    r->out->indent--;
}

static void store(CRender *r, const LStmt *s)
{
    Printer *p = r->out;
    r->value_used[s->buf->id] = true;
    for (int i = 0; i < p->indent; i++)
        pr(p, "    ");
    pr(p, "t%d[", s->buf->id);
    expr(r, s->idx);
    if (s->buf->dtype == DT_FLOAT16) {
        r->need_half = true;
        pr(p, "] = rt_f2h((float)");
    } else {
        pr(p, "] = (%s)(", ir_dtype_ctype(s->buf->dtype));
    }
    expr(r, s->e);
    pr(p, ");\n");
}

static void call(CRender *r, const LStmt *s)
{
    Printer *p = r->out;
    pr_line(p, "{");
    p->indent++;
    if (s->params) {
        for (int i = 0; i < p->indent; i++)
            pr(p, "    ");
        pr(p, "static const %s params = {", s->params);
        for (int i = 0; i < s->nints; i++)
            pr(p, "%s%lld", i ? ", " : "", (long long)s->ints[i]);
        pr(p, "};\n");
    }
    for (int i = 0; i < p->indent; i++)
        pr(p, "    ");
    pr(p, "%s(%s", s->fn, s->params ? "&params" : "");
    for (int i = 0; i < s->nargs; i++) {
        const LArg *a = &s->args[i];
        pr(p, "%s", i || s->params ? ", " : "");
        switch (a->kind) {
        case LA_BUF:
            r->value_used[a->buf->id] = true;
            if (a->i)
                pr(p, "t%d + %lld", a->buf->id, (long long)a->i);
            else
                pr(p, "t%d", a->buf->id);
            break;
        case LA_INT: pr(p, "%lld", (long long)a->i); break;
        case LA_FLOAT: pr_float(p, a->f, true); break;
        case LA_NULL: pr(p, "NULL"); break;
        case LA_SCRATCH: pr(p, "scratch"); break;
        }
    }
    pr(p, ");\n");
    p->indent--;
    pr_line(p, "}");
}

static void stmt(CRender *r, const LStmt *s)
{
    Printer *p = r->out;
    switch (s->kind) {
    case LS_BLOCK:
        pr_line(p, "{");
        body(r, s->body, s->n);
        pr_line(p, "}");
        return;
    case LS_FOR: {
        int par = -1;
        for (int i = 0; i < r->npar; i++)
            if (r->par_loops[i] == s)
                par = i;
        if (par >= 0)
            pr_line(p, "DLC_PARALLEL");
        pr_line(p, "for (int64_t v%d = 0; v%d < %lld; v%d++) {", s->var, s->var,
                (long long)s->extent, s->var);
        if (par >= 0) {     /* the iteration's own variables */
            p->indent++;
            for (int v = 0; r->var_home && v < r->nvars_home; v++)
                if (r->var_home[v] == par)
                    pr_line(p, "%s v%d = 0;", cr_compute_type(r->var_dt[v]), v);
            p->indent--;
        }
        body(r, s->body, s->n);
        pr_line(p, "}");
        return;
    }
    case LS_STORE: store(r, s); return;
    case LS_ASSIGN:
        for (int i = 0; i < p->indent; i++)
            pr(p, "    ");
        pr(p, "v%d = ", s->var);
        expr(r, s->e);
        pr(p, ";\n");
        return;
    case LS_IF:
        for (int i = 0; i < p->indent; i++)
            pr(p, "    ");
        pr(p, "if (");
        expr(r, s->e);
        pr(p, ") {\n");
        body(r, s->body, s->n);
        if (s->nels) {
            pr_line(p, "} else {");
            body(r, s->els, s->nels);
        }
        pr_line(p, "}");
        return;
    case LS_CALL: call(r, s); return;
    }
    DLC_BUG("statement kind %d", s->kind);
}

static void mark_loop_vars(const LStmt *s, bool *is_loop)
{
    if (s->kind == LS_FOR)
        is_loop[s->var] = true;
    for (int i = 0; i < s->n; i++)
        mark_loop_vars(s->body[i], is_loop);
    for (int i = 0; i < s->nels; i++)
        mark_loop_vars(s->els[i], is_loop);
}

/* ---- loop-level threads ----
 *
 * The outermost loop of a statement at a kernel's top level (or the first
 * suitable one down a perfect nest) runs its iterations on OpenMP threads,
 * through the DLC_PARALLEL macro, when
 *   - it calls nothing (runtime kernels manage their own work);
 *   - each iteration touches its own elements of every buffer it writes:
 *     every access to such a buffer (and to any buffer sharing its bytes)
 *     is  C + a·p + f  with p the loop variable, the same a > 0 and the same
 *     part C in enclosing loop variables for all accesses, and f (in loop
 *     variables inside, ranging over their extents) within a window
 *     narrower than a;
 *   - every other variable it uses is used nowhere else in the kernel and
 *     is assigned before it is read in each iteration: it is declared
 *     inside the loop, private to a thread;
 *   - one entry does enough work (PAR_MIN_WORK innermost statements) to
 *     pay for waking the threads. */

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
    case LS_CALL:
        P->ok = false;
        return;
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
 * safe and worth running in parallel? Marks its private variables. */
static bool try_parallel(CRender *r, const LKernel *k, const LStmt *loop, int top,
                         const int *owner, const bool *outer_vars)
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
    /* ... and is declared inside it. */
    for (int v = 0; v < nv; v++)
        if (P.priv[v])
            r->var_home[v] = r->npar;
    r->par_loops[r->npar++] = loop;
    r->need_parallel = true;
    return true;
}

/* Picks the parallel loops of k (at most one per top-level statement). */
static void plan_parallel(CRender *r, const LKernel *k)
{
    Arena *A = k->g->arena;
    int nv = k->nvars;
    r->npar = 0;
    r->nvars_home = nv;
    r->var_dt = k->var_dt;
    r->var_home = ir_alloc_array(A, (size_t)nv + 1, sizeof(int));
    r->par_loops = ir_alloc_array(A, (size_t)k->root->n + 1, sizeof(LStmt *));
    for (int v = 0; v < nv; v++)
        r->var_home[v] = -1;
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
            for (const LStmt *s = k->root->body[i]; s && s->kind == LS_FOR;) {
                if ((pass == 0 ? s->extent >= 8 : s->extent < 8) &&
                    try_parallel(r, k, s, i, owner, outer)) {
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

void cr_kernel(CRender *r, const LKernel *k)
{
    Printer *p = r->out;
    pr_line(p, "{");
    p->indent++;
    bool *is_loop = ir_alloc_array(r->g->arena, (size_t)k->nvars + 1, sizeof(bool));
    mark_loop_vars(k->root, is_loop);
    plan_parallel(r, k);
    for (int v = 0; v < k->nvars; v++)
        if (!is_loop[v] && r->var_home[v] < 0)
            pr_line(p, "%s v%d = 0;", cr_compute_type(k->var_dt[v]), v);
    if (k->scratch_bytes > 0)
        pr_line(p, "float *scratch = (float *)(ws + %lld);", (long long)k->scratch_offset);
    for (int i = 0; i < k->root->n; i++)
        stmt(r, k->root->body[i]);
    p->indent--;
    pr_line(p, "}");
    r->npar = 0;
    r->var_home = NULL;
}

/* ---- helper bodies ---- */

void cr_helpers(const CRender *r, Printer *p)
{
    for (int i = 0; i < r->nhelpers; i++) {
        char kind[32], ct[32];
        const char *colon = strchr(r->helpers[i], ':');
        snprintf(kind, sizeof kind, "%.*s", (int)(colon - r->helpers[i]), r->helpers[i]);
        snprintf(ct, sizeof ct, "%s", colon + 1);
        size_t n = strlen(ct);
        int short_len = (int)(n > 2 && strcmp(ct + n - 2, "_t") == 0 ? n - 2 : n);
        bool fl = strcmp(ct, "float") == 0 || strcmp(ct, "double") == 0;
        bool uns = ct[0] == 'u';
        pr(p, "static %s dlc_%s_%.*s(", strcmp(kind, "f2i") == 0 ? ct : ct, kind, short_len, ct);
        if (strcmp(kind, "f2i") == 0) {
            pr(p, "double x)\n{\n    return x != x ? 0 : (%s)x;\n}\n", ct);
            continue;
        }
        if (strcmp(kind, "abs") == 0 || strcmp(kind, "sign") == 0) {
            pr(p, "%s x)\n{\n", ct);
            if (strcmp(kind, "abs") == 0)
                pr(p, "    return x < 0 ? (%s)-x : x;\n}\n", ct);
            else
                pr(p, "    return x > 0 ? (%s)1 : x < 0 ? (%s)-1 : x;\n}\n", ct, ct);
            continue;
        }
        pr(p, "%s a, %s b)\n{\n", ct, ct);
        if (strcmp(kind, "max") == 0)
            pr(p, fl ? "    return a > b || a != a ? a : b;\n}\n" : "    return a > b ? a : b;\n}\n");
        else if (strcmp(kind, "min") == 0)
            pr(p, fl ? "    return a < b || a != a ? a : b;\n}\n" : "    return a < b ? a : b;\n}\n");
        else if (strcmp(kind, "div") == 0)
            pr(p, "    return b == 0 ? 0 : (%s)(a / b);\n}\n", ct);
        else if (strcmp(kind, "rem") == 0)
            pr(p, "    return b == 0 ? 0 : (%s)(a %% b);\n}\n", ct);
        /* Shifts as numpy does them: a count outside [0, width) shifts
         * everything out (sign fill on the right); no C undefined behaviour. */
        else if (strcmp(kind, "shl") == 0)
            pr(p, "    return %sb >= (%s)(8 * sizeof a) ? 0 : (%s)((uint64_t)a << b);\n}\n",
               uns ? "" : "b < 0 || ", ct, ct);
        else if (strcmp(kind, "shr") == 0 && uns)
            pr(p, "    return b >= (%s)(8 * sizeof a) ? 0 : (%s)(a >> b);\n}\n", ct, ct);
        else if (strcmp(kind, "shr") == 0)
            pr(p, "    if (b < 0 || b >= (%s)(8 * sizeof a))\n        return a < 0 ? -1 : 0;\n"
                  "    return a < 0 ? (%s)~(~a >> b) : (%s)(a >> b);\n}\n", ct, ct, ct);
        else if (strcmp(kind, "pow") == 0)
            pr(p, "    return (%s)pow((double)a, (double)b);\n}\n", ct);
        else if (strcmp(kind, "mod") == 0 && fl)
            pr(p, "    %s m = fmod(a, b);\n    return m != 0 && ((m < 0) != (b < 0)) ? m + b : m;\n}\n", ct);
        else if (strcmp(kind, "mod") == 0 && uns)
            pr(p, "    return b == 0 ? 0 : (%s)(a %% b);\n}\n", ct);
        else if (strcmp(kind, "mod") == 0)
            pr(p, "    %s m;\n    if (b == 0)\n        return 0;\n    m = (%s)(a %% b);\n"
                  "    return m != 0 && ((m < 0) != (b < 0)) ? (%s)(m + b) : m;\n}\n", ct, ct, ct);
        else
            DLC_BUG("unknown helper %s", r->helpers[i]);
    }
}
