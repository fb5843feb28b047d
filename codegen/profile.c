/* FLOP counts for profile builds, by walking the loop IR.
 *
 * One floating-point operation each: + - * / and remainders, pow, min,
 * max, and every unary math function (exp, tanh, sqrt ...) on a float
 * operand. Comparisons, selects, casts, loads and index arithmetic count
 * nothing. A count is an estimate of the work, not of the instructions
 * the C compiler emits. */
#include "profile.h"

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
    case LS_CALL:
        return s->flops;
    }
    return 0;
}

double cg_kernel_flops(const LKernel *k)
{
    return k && k->root ? stmt_flops(k->root) : 0;
}
