/* FLOP counts for profile builds, by walking the loop IR.
 *
 * One floating-point operation each: + - * / and remainders, pow, min,
 * max, and every unary math function (exp, tanh, sqrt ...) on a float
 * operand. Comparisons, selects, casts, loads and index arithmetic count
 * nothing. A count is an estimate of the work, not of the instructions
 * the C compiler emits. */
#include "profile.h"
#include "../ops/ops.h"

#include <string.h>

static bool counts_unary(LUnaryOp op)
{
    return op != LU_NOT && op != LU_BITNOT && op != LU_ISNAN && op != LU_ISINF;
}

static bool counts_binary(LBinaryOp op)
{
    switch (op) {
    case LB_ADD: case LB_SUB: case LB_MUL: case LB_DIV: case LB_MOD: case LB_FMOD:
    case LB_POW: case LB_MIN: case LB_MAX:
        return true;
    default:
        return false;
    }
}

static double expr_flops(const LExpr *e)
{
    if (!e)
        return 0;
    double own = 0;
    if (e->kind == LE_UNARY && ir_dtype_is_float(e->a->dt) && counts_unary((LUnaryOp)e->op))
        own = 1;
    if (e->kind == LE_BINARY && ir_dtype_is_float(e->a->dt) && counts_binary((LBinaryOp)e->op))
        own = 1;
    return own + expr_flops(e->a) + expr_flops(e->b) + expr_flops(e->c);
}

static double stmt_flops(const LStmt *s);

static double block_flops(LStmt *const *items, int n)
{
    double sum = 0;
    for (int i = 0; i < n; i++)
        sum += stmt_flops(items[i]);
    return sum;
}

static double stmt_flops(const LStmt *s)
{
    switch (s->kind) {
    case LS_BLOCK:
        return block_flops(s->body, s->n);
    case LS_FOR:
        return (double)s->extent * block_flops(s->body, s->n);
    case LS_STORE:
    case LS_ASSIGN:
        return expr_flops(s->e);
    case LS_IF: {
        double then = block_flops(s->body, s->n), els = block_flops(s->els, s->nels);
        return expr_flops(s->e) + (then > els ? then : els);
    }
    case LS_KERNEL:
    case LS_CALL:
        return s->flops;
    }
    return 0;
}

double cg_kernel_flops(const LKernel *k)
{
    return k && k->root ? stmt_flops(k->root) : 0;
}

/* Adds v's bytes unless v is NULL or already in seen[0..*n). */
static double add_once(const Value **seen, int *n, const Value *v, double bytes)
{
    if (!v)
        return 0;
    for (int i = 0; i < *n; i++)
        if (seen[i] == v)
            return 0;
    seen[(*n)++] = v;
    return bytes;
}

double cg_kernel_bytes(Graph *g, const Node *n)
{
    const Value **seen = ir_alloc_array(g->arena, (size_t)(n->nin + n->nout + 2), sizeof *seen);
    int nseen = 0;
    double sum = 0, out = 0;
    for (int i = 0; i < n->nout; i++)
        if (n->out[i])
            out += add_once(seen, &nseen, n->out[i], (double)ir_value_bytes(n->out[i]));
    /* A gather or slice reads only the elements it writes, not its table. */
    bool gather = n->op && (n->op->flags & OPF_READS_PART);
    for (int i = 0; i < n->nin; i++)
        if (n->in[i])
            sum += add_once(seen, &nseen, n->in[i],
                            gather && i == 0 && (double)ir_value_bytes(n->in[i]) > out
                                ? out : (double)ir_value_bytes(n->in[i]));
    sum += add_once(seen, &nseen, n->epi.bias, n->epi.bias ? (double)ir_value_bytes(n->epi.bias) : 0);
    sum += add_once(seen, &nseen, n->epi.residual,
                    n->epi.residual ? (double)ir_value_bytes(n->epi.residual) : 0);
    return sum + out;
}

/* ---- the tables of a profile build ---- */

static void profile_strings(CgEmit *e, Printer *p, const char *what, bool ops)
{
    pr(p, "const char *const %s_profile_%s[%s_PROFILE_COUNT > 0 ? %s_PROFILE_COUNT : 1] = {\n",
       e->P, what, e->UP, e->UP);
    for (int i = 0; i < e->nprof; i++) {
        const Node *n = e->prof_nodes[i];
        const char *s = ops ? (n->fused_ops ? n->fused_ops : n->op_type)
                            : (n->fused_names ? n->fused_names : n->name);
        pr(p, "    \"");
        if (s && *s)
            pr_string_text(p, s);
        else
            pr(p, "node %d", n->index);     /* an unnamed ONNX node */
        pr(p, "\",\n");
    }
    if (!e->nprof)
        pr(p, "    \"\",\n");
    pr(p, "};\n");
}

/* The tables the header declares, and the timer the run function calls
 * after each kernel. */
void cg_profile_tables(CgEmit *e, Printer *p)
{
    pr(p, "/* ---- profile (dlc --profile) ----\n"
          " * The run functions add each kernel's wall time to %s_profile_ns, a\n"
          " * static table: this build is not reentrant. */\n", e->P);
    profile_strings(e, p, "names", false);
    profile_strings(e, p, "ops", true);
    pr(p, "const double %s_profile_flops[%s_PROFILE_COUNT > 0 ? %s_PROFILE_COUNT : 1] = {\n",
       e->P, e->UP, e->UP);
    for (int i = 0; i < e->nprof; i++)
        pr(p, "    %.1f,\n", e->prof_flops[i]);
    if (!e->nprof)
        pr(p, "    0.0,\n");
    pr(p, "};\n");
    pr(p, "const double %s_profile_bytes[%s_PROFILE_COUNT > 0 ? %s_PROFILE_COUNT : 1] = {\n",
       e->P, e->UP, e->UP);
    for (int i = 0; i < e->nprof; i++)
        pr(p, "    %.1f,\n", e->prof_bytes[i]);
    if (!e->nprof)
        pr(p, "    0.0,\n");
    pr(p, "};\n");
    pr(p, "unsigned long long %s_profile_ns[%s_PROFILE_COUNT > 0 ? %s_PROFILE_COUNT : 1];\n\n",
       e->P, e->UP, e->UP);
    pr(p, "void %s_profile_reset(void)\n{\n"
          "    memset(%s_profile_ns, 0, sizeof %s_profile_ns);\n}\n\n", e->P, e->P, e->P);
    if (!e->nprof)
        return;
    pr(p, "static unsigned long long %s_profile_now(void)\n{\n"
          "#if defined(CLOCK_MONOTONIC)\n"
          "    struct timespec ts;\n"
          "    clock_gettime(CLOCK_MONOTONIC, &ts);\n"
          "    return (unsigned long long)ts.tv_sec * 1000000000ull + "
          "(unsigned long long)ts.tv_nsec;\n"
          "#else\n"
          "    return (unsigned long long)clock() * (1000000000ull / CLOCKS_PER_SEC);\n"
          "#endif\n}\n\n", e->P);
    pr(p, "/* Adds the time since t0 to kernel k; returns the time now. */\n"
          "static unsigned long long %s_profile_lap(unsigned long long t0, int k)\n{\n"
          "    unsigned long long t1 = %s_profile_now();\n"
          "    %s_profile_ns[k] += t1 - t0;\n"
          "    return t1;\n}\n\n", e->P, e->P, e->P);
}

void cg_profile_header(CgEmit *e, Printer *p)
{
    const char *n = ir_sprintf(e->g->arena, "%s_PROFILE_COUNT > 0 ? %s_PROFILE_COUNT : 1", e->UP,
                               e->UP);
    pr(p, "/* Profile build (dlc --profile): both run functions add each kernel's\n"
          " * wall time (clock_gettime, CLOCK_MONOTONIC) to %s_profile_ns, a static\n"
          " * table, so neither is reentrant or thread-safe in this build. One entry\n"
          " * per kernel, in the order they run. */\n", e->P);
    pr(p, "#define %s_PROFILE_COUNT %d\n", e->UP, e->nprof);
    pr(p, "/* Each kernel's ONNX node name(s), \"a+b\" when fused, and op(s), \"Conv+Relu\". */\n");
    pr(p, "extern const char *const %s_profile_names[%s];\n", e->P, n);
    pr(p, "extern const char *const %s_profile_ops[%s];\n", e->P, n);
    pr(p, "/* Floating-point operations in one run; nanoseconds summed over runs. */\n");
    pr(p, "extern const double %s_profile_flops[%s];\n", e->P, n);
    pr(p, "/* Bytes of the distinct tensors each kernel reads and writes (a gather's\n"
          " * table as much as it writes): the least memory traffic of one run. */\n");
    pr(p, "extern const double %s_profile_bytes[%s];\n", e->P, n);
    pr(p, "extern unsigned long long %s_profile_ns[%s];\n", e->P, n);
    pr(p, "/* Zeroes %s_profile_ns. */\nvoid %s_profile_reset(void);\n\n", e->P, e->P);
}
