/* Loop IR construction, walking and substitution. */
#include "loop.h"

#include <string.h>

LKernel *lk_new(Graph *g)
{
    LKernel *k = ir_alloc(g->arena, sizeof *k);
    k->g = g;
    k->root = ir_alloc(g->arena, sizeof *k->root);
    k->root->kind = LS_BLOCK;
    k->ivar = -1;
    return k;
}

int lk_var(LKernel *k, DType dt)
{
    if (k->nvars == k->capvars) {
        int cap = k->capvars ? k->capvars * 2 : 8;
        DType *p = ir_alloc_array(k->g->arena, (size_t)cap, sizeof *p);
        if (k->nvars)
            memcpy(p, k->var_dt, (size_t)k->nvars * sizeof *p);
        k->var_dt = p;
        k->capvars = cap;
    }
    k->var_dt[k->nvars] = dt;
    return k->nvars++;
}

static LExpr *expr(LKernel *k, LExprKind kind, DType dt)
{
    LExpr *e = ir_alloc(k->g->arena, sizeof *e);
    e->kind = kind;
    e->dt = dt;
    return e;
}

LExpr *lx_f(LKernel *k, DType dt, double f)
{
    LExpr *e = expr(k, LE_CONST, dt);
    e->f = f;
    return e;
}

LExpr *lx_i(LKernel *k, DType dt, int64_t i)
{
    LExpr *e = expr(k, LE_CONST, dt);
    e->i = i;
    e->f = (double)i;
    return e;
}

LExpr *lx_idx(LKernel *k, int64_t i)
{
    return lx_i(k, DT_INT64, i);
}

LExpr *lx_var(LKernel *k, int var)
{
    LExpr *e = expr(k, LE_VAR, k->var_dt[var]);
    e->var = var;
    return e;
}

LExpr *lx_dim(LKernel *k, int sym)
{
    LExpr *e = expr(k, LE_DIM, DT_INT64);
    e->var = sym;
    return e;
}

LExpr *lx_load(LKernel *k, Value *buf, LExpr *idx)
{
    LExpr *e = expr(k, LE_LOAD, buf->dtype);
    e->buf = buf;
    e->a = idx;
    return e;
}

LExpr *lx_un(LKernel *k, LUnaryOp op, LExpr *a)
{
    DType dt = (op == LU_ISNAN || op == LU_ISINF) ? DT_BOOL : a->dt;
    LExpr *e = expr(k, LE_UNARY, dt);
    e->op = op;
    e->a = a;
    return e;
}

LExpr *lx_bin(LKernel *k, LBinaryOp op, LExpr *a, LExpr *b)
{
    if (a->dt != b->dt)
        DLC_BUG("binary op %d on %s and %s", op, ir_dtype_name(a->dt), ir_dtype_name(b->dt));
    DType dt = (op >= LB_EQ && op <= LB_GE) ? DT_BOOL : a->dt;
    LExpr *e = expr(k, LE_BINARY, dt);
    e->op = op;
    e->a = a;
    e->b = b;
    return e;
}

LExpr *lx_sel(LKernel *k, LExpr *cond, LExpr *a, LExpr *b)
{
    if (a->dt != b->dt)
        DLC_BUG("select on %s and %s", ir_dtype_name(a->dt), ir_dtype_name(b->dt));
    LExpr *e = expr(k, LE_SELECT, a->dt);
    e->a = cond;
    e->b = a;
    e->c = b;
    return e;
}

LExpr *lx_cast(LKernel *k, DType dt, LExpr *a)
{
    if (a->dt == dt)
        return a;
    LExpr *e = expr(k, LE_CAST, dt);
    e->a = a;
    return e;
}

static bool is_const(const LExpr *e, int64_t v)
{
    return e->kind == LE_CONST && e->i == v;
}

LExpr *lx_add(LKernel *k, LExpr *a, LExpr *b)
{
    if (is_const(a, 0))
        return b;
    if (is_const(b, 0))
        return a;
    if (a->kind == LE_CONST && b->kind == LE_CONST)
        return lx_idx(k, a->i + b->i);
    return lx_bin(k, LB_ADD, a, b);
}

LExpr *lx_mul(LKernel *k, LExpr *a, LExpr *b)
{
    if (is_const(a, 0) || is_const(b, 0))
        return lx_idx(k, 0);
    if (is_const(a, 1))
        return b;
    if (is_const(b, 1))
        return a;
    if (a->kind == LE_CONST && b->kind == LE_CONST)
        return lx_idx(k, a->i * b->i);
    return lx_bin(k, LB_MUL, a, b);
}

LExpr *lx_div(LKernel *k, LExpr *a, LExpr *b)
{
    if (is_const(b, 1))
        return a;
    if (a->kind == LE_CONST && b->kind == LE_CONST && b->i)
        return lx_idx(k, a->i / b->i);
    return lx_bin(k, LB_DIV, a, b);
}

LExpr *lx_mod(LKernel *k, LExpr *a, LExpr *b)
{
    if (is_const(b, 1))
        return lx_idx(k, 0);
    return lx_bin(k, LB_FMOD, a, b);   /* index math: operands are >= 0 */
}

LExpr *lx_muli(LKernel *k, LExpr *a, int64_t c)
{
    return lx_mul(k, a, lx_idx(k, c));
}

LExpr *lx_addi(LKernel *k, LExpr *a, int64_t c)
{
    return lx_add(k, a, lx_idx(k, c));
}

static LStmt *stmt(LKernel *k, LStmtKind kind)
{
    LStmt *s = ir_alloc(k->g->arena, sizeof *s);
    s->kind = kind;
    return s;
}

LStmt *ls_block(LKernel *k)
{
    return stmt(k, LS_BLOCK);
}

LStmt *ls_for(LKernel *k, int var, int64_t extent)
{
    LStmt *s = stmt(k, LS_FOR);
    s->var = var;
    s->extent = extent;
    return s;
}

LStmt *ls_store(LKernel *k, Value *buf, LExpr *idx, LExpr *e)
{
    LStmt *s = stmt(k, LS_STORE);
    s->buf = buf;
    s->idx = idx;
    s->e = e;
    return s;
}

LStmt *ls_assign(LKernel *k, int var, LExpr *e)
{
    LStmt *s = stmt(k, LS_ASSIGN);
    s->var = var;
    s->e = e;
    return s;
}

LStmt *ls_if(LKernel *k, LExpr *cond)
{
    LStmt *s = stmt(k, LS_IF);
    s->e = cond;
    return s;
}

LStmt *ls_call(LKernel *k, const char *fn)
{
    LStmt *s = stmt(k, LS_CALL);
    s->fn = fn;
    return s;
}

LStmt *ls_kernel(LKernel *k, KCallKind kind)
{
    LStmt *s = stmt(k, LS_KERNEL);
    s->kc = ir_alloc(k->g->arena, sizeof *s->kc);
    s->kc->kind = kind;
    return s;
}

static void push(Arena *a, LStmt ***items, int *n, int *cap, LStmt *child)
{
    if (*n == *cap) {
        int ncap = *cap ? *cap * 2 : 4;
        LStmt **p = ir_alloc_array(a, (size_t)ncap, sizeof *p);
        if (*n)
            memcpy(p, *items, (size_t)*n * sizeof *p);
        *items = p;
        *cap = ncap;
    }
    (*items)[(*n)++] = child;
}

void ls_push(LKernel *k, LStmt *parent, LStmt *child)
{
    push(k->g->arena, &parent->body, &parent->n, &parent->cap, child);
}

void ls_push_else(LKernel *k, LStmt *iff, LStmt *child)
{
    push(k->g->arena, &iff->els, &iff->nels, &iff->capels, child);
}

static LArg *new_arg(LKernel *k, LStmt *call, LArgKind kind)
{
    LArg *p = ir_alloc_array(k->g->arena, (size_t)call->nargs + 1, sizeof *p);
    if (call->nargs)
        memcpy(p, call->args, (size_t)call->nargs * sizeof *p);
    call->args = p;
    LArg *a = &p[call->nargs++];
    a->kind = kind;
    return a;
}

void ls_arg_buf(LKernel *k, LStmt *call, Value *buf, int64_t elem_offset)
{
    LArg *a = new_arg(k, call, LA_BUF);
    a->buf = buf;
    a->i = elem_offset;
}

void ls_arg_int(LKernel *k, LStmt *call, int64_t i)
{
    new_arg(k, call, LA_INT)->i = i;
}

void ls_arg_expr(LKernel *k, LStmt *call, LExpr *e)
{
    new_arg(k, call, LA_EXPR)->e = e;
}

void ls_arg_float(LKernel *k, LStmt *call, double f)
{
    new_arg(k, call, LA_FLOAT)->f = f;
}

void ls_arg_null(LKernel *k, LStmt *call)
{
    new_arg(k, call, LA_NULL);
}

void ls_arg_buf_or_null(LKernel *k, LStmt *call, Value *buf, int64_t elem_offset)
{
    if (buf)
        ls_arg_buf(k, call, buf, elem_offset);
    else
        ls_arg_null(k, call);
}

void ls_arg_scratch(LKernel *k, LStmt *call)
{
    new_arg(k, call, k->scratch_bytes > 0 ? LA_SCRATCH : LA_NULL);
}

void ls_params(LKernel *k, LStmt *call, const char *ctype, const int64_t *ints, int n)
{
    call->params = ctype;
    call->ints = ir_alloc_array(k->g->arena, (size_t)n, sizeof(int64_t));
    memcpy(call->ints, ints, (size_t)n * sizeof(int64_t));
    call->nints = n;
}

LStmt *lk_nest(LKernel *k, LStmt *parent, const int64_t *dims, int rank, int *vars)
{
    LStmt *cur = parent;
    for (int i = 0; i < rank; i++) {
        vars[i] = lk_var(k, DT_INT64);
        LStmt *f = ls_for(k, vars[i], dims[i]);
        ls_push(k, cur, f);
        cur = f;
    }
    return cur;
}

LExpr *lx_flat(LKernel *k, const Shape *s, const int *vars)
{
    LExpr *idx = lx_idx(k, 0);
    for (int i = 0; i < s->rank; i++)
        idx = lx_add(k, lx_muli(k, idx, s->dim[i]), lx_var(k, vars[i]));
    return idx;
}

static void walk_expr(LExpr *e, void (*fn)(LExpr *, void *), void *ctx)
{
    if (!e)
        return;
    fn(e, ctx);
    walk_expr(e->a, fn, ctx);
    walk_expr(e->b, fn, ctx);
    walk_expr(e->c, fn, ctx);
}

static void walk_stmt(LStmt *s, void (*fn)(LExpr *, void *), void *ctx)
{
    walk_expr(s->idx, fn, ctx);
    walk_expr(s->e, fn, ctx);
    for (int i = 0; i < s->n; i++)
        walk_stmt(s->body[i], fn, ctx);
    for (int i = 0; i < s->nels; i++)
        walk_stmt(s->els[i], fn, ctx);
}

void lk_walk_exprs(LKernel *k, void (*fn)(LExpr *, void *), void *ctx)
{
    walk_stmt(k->root, fn, ctx);
}

typedef struct {
    const Value *v;
    bool found;
} ReadsCtx;

static void reads_fn(LExpr *e, void *ctx)
{
    ReadsCtx *c = ctx;
    if (e->kind == LE_LOAD && e->buf == c->v)
        c->found = true;
}

/* Any operand, the output included, as for a call's buffer arguments. */
static bool kernel_reads(const KCall *c, const Value *v)
{
    for (int i = 0; i < KC_MAX_IN; i++)
        if (c->in[i].buf == v)
            return true;
    return c->bias.buf == v || c->residual.buf == v || c->out.buf == v ||
           c->more_out[0].buf == v || c->more_out[1].buf == v;
}

static bool stmt_args_read(const LStmt *s, const Value *v)
{
    if (s->kind == LS_KERNEL && kernel_reads(s->kc, v))
        return true;
    if (s->kind == LS_CALL)
        for (int i = 0; i < s->nargs; i++)
            if (s->args[i].kind == LA_BUF && s->args[i].buf == v)
                return true;
    for (int i = 0; i < s->n; i++)
        if (stmt_args_read(s->body[i], v))
            return true;
    for (int i = 0; i < s->nels; i++)
        if (stmt_args_read(s->els[i], v))
            return true;
    return false;
}

bool lk_reads(const LKernel *k, const Value *v)
{
    ReadsCtx c = {v, false};
    lk_walk_exprs((LKernel *)k, reads_fn, &c);
    return c.found || stmt_args_read(k->root, v);
}

LExpr *lx_subst(LKernel *dst, const LExpr *e, int from, LExpr *to)
{
    if (!e)
        return NULL;
    if (e->kind == LE_VAR && e->var == from)
        return to;
    LExpr *c = ir_alloc(dst->g->arena, sizeof *c);
    *c = *e;
    c->a = lx_subst(dst, e->a, from, to);
    c->b = lx_subst(dst, e->b, from, to);
    c->c = lx_subst(dst, e->c, from, to);
    return c;
}

bool lk_loads_only_at(const LExpr *e, const Value *v, int ivar)
{
    if (!e)
        return true;
    if (e->kind == LE_LOAD && e->buf == v && !(e->a->kind == LE_VAR && e->a->var == ivar))
        return false;
    return lk_loads_only_at(e->a, v, ivar) && lk_loads_only_at(e->b, v, ivar) &&
           lk_loads_only_at(e->c, v, ivar);
}

bool lx_const_float(const LExpr *e, double *v)
{
    if (e->kind == LE_CONST && ir_dtype_is_float(e->dt)) {
        *v = e->f;
        return true;
    }
    if (e->kind != LE_LOAD || !e->buf->data || e->buf->is_input || e->a->kind != LE_CONST)
        return false;
    int64_t i = e->a->i, n = ir_value_numel(e->buf);
    if (i < 0 || i >= n)
        return false;
    if (e->buf->dtype == DT_FLOAT)
        *v = ((const float *)e->buf->data)[i];
    else if (e->buf->dtype == DT_DOUBLE)
        *v = ((const double *)e->buf->data)[i];
    else if (e->buf->dtype == DT_FLOAT16)
        *v = ir_h2f(((const uint16_t *)e->buf->data)[i]);
    else
        return false;
    return true;
}

bool lx_equal(const LExpr *a, const LExpr *b)
{
    if (a == b)
        return true;
    if (!a || !b || a->kind != b->kind || a->dt != b->dt)
        return false;
    switch (a->kind) {
    case LE_CONST:
        if (ir_dtype_is_float(a->dt) ? a->f != b->f : a->i != b->i)
            return false;
        return true;
    case LE_VAR:
    case LE_DIM: return a->var == b->var;
    case LE_LOAD: return a->buf == b->buf && lx_equal(a->a, b->a);
    default:
        return a->op == b->op && lx_equal(a->a, b->a) && lx_equal(a->b, b->b) &&
               lx_equal(a->c, b->c);
    }
}
