/* Renders loop IR as C99. Float16 lives as uint16_t in memory and
 * computes as float; bool lives as uint8_t and computes as int. */
#include "c_dialect.h"

#include <string.h>

const char *cr_compute_type(DType dt)
{
    switch (dt) {
    case DT_FLOAT16: return "float";
    case DT_BFLOAT16: return "float";
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

/* C leaves signed overflow undefined; ONNX integers wrap (two's
 * complement, as ONNX Runtime computes). int32 and int64 arithmetic on data
 * therefore runs in the unsigned type of the same width, converted back
 * (implementation-defined, modular in gcc and clang). Narrower types
 * promote to int, where nothing overflows. Element indices stay signed:
 * dlc's size limits keep them far from overflow, and the C compiler may
 * then assume it for its loop analysis. */
static const char *wrap_type(const CRender *r, DType dt)
{
    if (r->in_index)
        return NULL;
    return dt == DT_INT32 ? "uint32_t" : dt == DT_INT64 ? "uint64_t" : NULL;
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
        [LU_LOG1P] = "log1p",
    };
    DType dt = e->a->dt;
    bool fl = ir_dtype_is_float(dt);
    switch ((LUnaryOp)e->op) {
    case LU_NEG:
        if (wrap_type(r, dt)) {     /* -INT_MIN wraps to INT_MIN */
            pr(r->out, "((%s)(0u - (%s)", cr_compute_type(dt), wrap_type(r, dt));
            expr(r, e->a);
            pr(r->out, "))");
            return;
        }
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
    /* float32 exp/log/tanh/erf: runtime/vmath.c, which vectorises */
    bool vm = e->op == LU_EXP || e->op == LU_LOG || e->op == LU_TANH || e->op == LU_ERF ||
              e->op == LU_LOG1P;
    if (vm && dt != DT_DOUBLE) {
        r->need_vmath = true;
        pr(r->out, "rt_vmath_%sf(", names[e->op]);
        expr(r, e->a);
        pr(r->out, ")");
        return;
    }
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
        /* a literal divisor other than 0 and -1 (x / 0 and INT_MIN / -1
         * are the helper's cases) */
        if (fl || (e->b->kind == LE_CONST && e->b->i != 0 && e->b->i != -1))
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
    case LB_POW: {
        /* constant exponents that need no pow call */
        double c;
        const char *kind = NULL;
        if (fl && lx_const_float(e->b, &c))
            kind = c == 1 ? "pow1" : c == 2 ? "pow2" : c == 3 ? "pow3" : c == -1 ? "powm1"
                 : c == 0.5 ? "powhalf" : NULL;
        if (kind)
            call1(r, helper(r, kind, dt), e->a);
        else
            call2(r, fl ? mathfn(dt, "pow") : helper(r, "pow", dt), e->a, e->b);
        return;
    }
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
        const char *wt = e->op <= LB_MUL ? wrap_type(r, dt) : NULL;
        if (wt) {
            pr(r->out, "((%s)((%s)", cr_compute_type(dt), wt);
            expr(r, e->a);
            pr(r->out, " %s (%s)", ops[e->op], wt);
            expr(r, e->b);
            pr(r->out, "))");
            return;
        }
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
    if (to == DT_FLOAT16 || to == DT_BFLOAT16) {    /* round through the narrow type */
        r->need_half = true;
        pr(r->out, to == DT_FLOAT16 ? "rt_h2f(rt_f2h((float)" : "rt_bf2f(rt_f2bf((float)");
        expr(r, e->a);
        pr(r->out, "))");
        return;
    }
    if (ir_dtype_is_float(from) && !ir_dtype_is_float(to)) {
        /* Out-of-range float -> int is undefined in C (ONNX leaves the
         * value open): saturated to the type's range, NaN to 0 */
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
    case LE_DIM: pr(r->out, "dim%d", e->var); return;
    case LE_LOAD: {
        double c;
        if (ir_dtype_is_float(e->dt) && lx_const_float(e, &c)) {   /* a literal the compiler sees */
            pr_float(r->out, c, e->dt != DT_DOUBLE);
            return;
        }
        r->value_used[e->buf->id] = true;
        if (e->buf->dtype == DT_FLOAT16 || e->buf->dtype == DT_BFLOAT16) {
            r->need_half = true;
            pr(r->out, "%s(t%d[", e->buf->dtype == DT_FLOAT16 ? "rt_h2f" : "rt_bf2f", e->buf->id);
            r->in_index++;
            expr(r, e->a);
            r->in_index--;
            pr(r->out, "])");
        } else {
            pr(r->out, "t%d[", e->buf->id);
            r->in_index++;
            expr(r, e->a);
            r->in_index--;
            pr(r->out, "]");
        }
        return;
    }
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
    r->in_index++;
    expr(r, s->idx);
    r->in_index--;
    if (s->buf->dtype == DT_FLOAT16 || s->buf->dtype == DT_BFLOAT16) {
        r->need_half = true;
        pr(p, "] = %s((float)", s->buf->dtype == DT_FLOAT16 ? "rt_f2h" : "rt_f2bf");
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
        /* with run-time values, a struct of this call's own (C99 allows
         * run-time initialisers for automatic aggregates) */
        pr(p, "%s %s params = {", s->run_ints ? "const" : "static const", s->params);
        for (int i = 0; i < s->nints; i++) {
            pr(p, "%s", i ? ", " : "");
            if (s->run_ints && s->run_ints[i])
                expr(r, s->run_ints[i]);
            else
                pr(p, "%lld", (long long)s->ints[i]);
        }
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
        case LA_EXPR: expr(r, a->e); break;
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
        if (s->parallel) {
            pr_line(p, "DLC_PARALLEL");
            r->need_parallel = true;
        }
        if (s->run_extent) {    /* a run-time trip count (ir/dims.h) */
            for (int i = 0; i < p->indent; i++)
                pr(p, "    ");
            pr(p, "for (int64_t v%d = 0; v%d < ", s->var, s->var);
            expr(r, s->run_extent);
            pr(p, "; v%d++) {\n", s->var);
        } else {
            pr_line(p, "for (int64_t v%d = 0; v%d < %lld; v%d++) {", s->var, s->var,
                    (long long)s->extent, s->var);
        }
        if (s->parallel) {  /* the iteration's own variables */
            const LKernel *k = r->kernel;
            p->indent++;
            for (int v = 0; k->var_private && v < k->nvars; v++)
                if (k->var_private[v] == s)
                    pr_line(p, "%s v%d = 0;", cr_compute_type(k->var_dt[v]), v);
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
    case LS_KERNEL: break;  /* the selection pass makes it an LS_CALL */
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

void cr_kernel(CRender *r, const LKernel *k)
{
    Printer *p = r->out;
    pr_line(p, "{");
    p->indent++;
    bool *is_loop = ir_alloc_array(r->g->arena, (size_t)k->nvars + 1, sizeof(bool));
    mark_loop_vars(k->root, is_loop);
    r->kernel = k;
    for (int v = 0; v < k->nvars; v++)
        if (!is_loop[v] && !(k->var_private && k->var_private[v]))
            pr_line(p, "%s v%d = 0;", cr_compute_type(k->var_dt[v]), v);
    if (k->scratch_bytes > 0)
        pr_line(p, "float *scratch = (float *)(ws + %lld);", (long long)k->scratch_offset);
    for (int i = 0; i < k->root->n; i++)
        stmt(r, k->root->body[i]);
    p->indent--;
    pr_line(p, "}");
    r->kernel = NULL;
}

/* ---- helper bodies ---- */

/* The double x as integer type ct without undefined behaviour: NaN -> 0,
 * out of range -> the nearest bound (the limits are past-the-end values,
 * exact in double, or rounding to the bound itself for int64). */
static void saturated(Printer *p, const char *ct, const char *x)
{
    static const char *const lim[][5] = {
        {"int8_t", "-129.0", "128.0", "INT8_MIN", "INT8_MAX"},
        {"int16_t", "-32769.0", "32768.0", "INT16_MIN", "INT16_MAX"},
        {"int32_t", "-2147483649.0", "2147483648.0", "INT32_MIN", "INT32_MAX"},
        {"int64_t", "-9223372036854775808.0", "9223372036854775808.0", "INT64_MIN", "INT64_MAX"},
        {"uint8_t", "-1.0", "256.0", "0", "UINT8_MAX"},
        {"uint16_t", "-1.0", "65536.0", "0", "UINT16_MAX"},
        {"uint32_t", "-1.0", "4294967296.0", "0", "UINT32_MAX"},
        {"uint64_t", "-1.0", "18446744073709551616.0", "0", "UINT64_MAX"},
    };
    for (size_t i = 0; i < sizeof lim / sizeof lim[0]; i++)
        if (strcmp(ct, lim[i][0]) == 0) {
            pr(p, "%s != %s ? 0 : %s <= %s ? %s : %s >= %s ? %s : (%s)%s", x, x, x, lim[i][1],
               lim[i][3], x, lim[i][2], lim[i][4], ct, x);
            return;
        }
    pr(p, "%s != %s ? 0 : (%s)%s", x, x, ct, x);   /* bool, char: no narrower range */
}

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
        pr(p, "static %s dlc_%s_%.*s(", ct, kind, short_len, ct);
        if (strcmp(kind, "f2i") == 0) {
            pr(p, "double x)\n{\n    return ");
            saturated(p, ct, "x");
            pr(p, ";\n}\n");
            continue;
        }
        if (strncmp(kind, "pow", 3) == 0 && kind[3]) {  /* x^c, c constant (binary()) */
            static const char *const body[][2] = {
                {"pow1", "x"}, {"pow2", "x * x"}, {"pow3", "x * x * x"}, {"powm1", "1 / x"},
                /* pow(-0, 0.5) = +0 and pow(-inf, 0.5) = +inf, unlike sqrt */
                {"powhalf", "x == -HUGE_VAL ? HUGE_VAL : sqrt(x) + 0"},
            };
            pr(p, "%s x)\n{\n", ct);
            for (size_t j = 0; j < sizeof body / sizeof body[0]; j++)
                if (strcmp(kind, body[j][0]) == 0)
                    pr(p, "    return (%s)(%s);\n}\n", ct, body[j][1]);
            continue;
        }
        if (strcmp(kind, "abs") == 0 || strcmp(kind, "sign") == 0) {
            pr(p, "%s x)\n{\n", ct);
            if (strcmp(kind, "abs") == 0 && !fl && !uns)   /* |INT_MIN| wraps to INT_MIN */
                pr(p, "    return x < 0 ? (%s)(0u - (uint64_t)x) : x;\n}\n", ct);
            else if (strcmp(kind, "abs") == 0)
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
        /* x / 0 = 0 and x % 0 = 0 (ONNX Runtime refuses a zero integer
         * divisor); INT_MIN / -1 wraps to INT_MIN and INT_MIN % -1 = 0
         * (x86 traps on both) */
        else if (strcmp(kind, "div") == 0 && !fl && !uns)
            pr(p, "    return b == 0 ? 0 : b == -1 ? (%s)(0u - (uint64_t)a) : (%s)(a / b);\n}\n",
               ct, ct);
        else if (strcmp(kind, "div") == 0)
            pr(p, "    return b == 0 ? 0 : (%s)(a / b);\n}\n", ct);
        else if (strcmp(kind, "rem") == 0 && !fl && !uns)
            pr(p, "    return b == 0 || b == -1 ? 0 : (%s)(a %% b);\n}\n", ct);
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
        else if (strcmp(kind, "pow") == 0) {
            pr(p, "    double x = pow((double)a, (double)b);\n    return ");
            saturated(p, ct, "x");
            pr(p, ";\n}\n");
        }
        else if (strcmp(kind, "mod") == 0 && fl)
            pr(p, "    %s m = fmod(a, b);\n    return m != 0 && ((m < 0) != (b < 0)) ? m + b : m;\n}\n", ct);
        else if (strcmp(kind, "mod") == 0 && uns)
            pr(p, "    return b == 0 ? 0 : (%s)(a %% b);\n}\n", ct);
        else if (strcmp(kind, "mod") == 0)
            pr(p, "    %s m;\n    if (b == 0 || b == -1)\n        return 0;\n    m = (%s)(a %% b);\n"
                  "    return m != 0 && ((m < 0) != (b < 0)) ? (%s)(m + b) : m;\n}\n", ct, ct, ct);
        else
            DLC_BUG("unknown helper %s", r->helpers[i]);
    }
}
