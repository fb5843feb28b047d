/* Elementwise fusion: a producer whose only reader is an elementwise
 * kernel over the same index space is folded into that reader's
 * expression, so a chain of elementwise ops becomes one loop. The reader
 * may read it more than once (HardSwish written out reads x twice): the
 * expression is then repeated in the tree, and the C compiler computes it
 * once. */
#include "passes.h"
#include "../ops/ops.h"

#include <string.h>

#define MAX_FUSED_EXPR 96

static int expr_size(const LExpr *e)
{
    return e ? 1 + expr_size(e->a) + expr_size(e->b) + expr_size(e->c) : 0;
}

/* Copy of e with every load of v replaced by `with`. */
static LExpr *replace_load(LKernel *k, const LExpr *e, const Value *v, LExpr *with)
{
    if (!e)
        return NULL;
    if (e->kind == LE_LOAD && e->buf == v)
        return with;
    LExpr *c = ir_alloc(k->g->arena, sizeof *c);
    *c = *e;
    c->a = replace_load(k, e->a, v, with);
    c->b = replace_load(k, e->b, v, with);
    c->c = replace_load(k, e->c, v, with);
    return c;
}

static const char *joined(Graph *g, const char *a, const char *b)
{
    return ir_sprintf(g->arena, "%s+%s", a, b);
}

static void rebuild(LKernel *k)
{
    LStmt *loop = ls_for(k, k->ivar, ir_value_numel(k->out));
    ls_push(k, loop, ls_store(k, k->out, lx_var(k, k->ivar), k->value));
    k->root = ls_block(k);
    ls_push(k, k->root, loop);
}

/* Is every use of v one of c's inputs? */
static bool only_read_by(const Value *v, const Node *c)
{
    int n = 0;
    for (int i = 0; i < c->nin; i++)
        n += c->in[i] == v;
    return n > 0 && v->nuses == n && v->output_index < 0;
}

static bool try_fuse(Graph *g, Node *p, Node *c)
{
    LKernel *pk = p->kernel, *ck = c->kernel;
    Value *v = pk->out;
    if (!only_read_by(v, c) || p->nout != 1 || p->guard != c->guard)
        return false;
    if (ir_value_numel(v) != ir_value_numel(ck->out) || !lk_loads_only_at(ck->value, v, ck->ivar))
        return false;
    if (expr_size(ck->value) + expr_size(pk->value) > MAX_FUSED_EXPR)
        return false;
    /* The producer's loop variable becomes the consumer's. */
    LExpr *pv = lx_subst(ck, pk->value, pk->ivar, lx_var(ck, ck->ivar));
    ck->value = replace_load(ck, ck->value, v, pv);
    rebuild(ck);
    c->fused_names = joined(g, p->fused_names ? p->fused_names : p->name,
                            c->fused_names ? c->fused_names : c->name);
    c->fused_ops = joined(g, p->fused_ops ? p->fused_ops : p->op_type,
                          c->fused_ops ? c->fused_ops : c->op_type);
    /* The consumer now reads the producer's inputs. */
    int nin = c->nin - 1 + p->nin;
    Value **in = ir_alloc_array(g->arena, (size_t)nin, sizeof(Value *));
    int k = 0;
    for (int i = 0; i < c->nin; i++)
        if (c->in[i] != v)
            in[k++] = c->in[i];
    for (int i = 0; i < p->nin; i++)
        in[k++] = p->in[i];
    c->in = in;
    c->nin = k;
    p->dead = true;
    /* The uses that changed, without a recount over the graph (quadratic
     * in a long chain): c read v only; p's inputs are c's now; p's guard,
     * the same as c's, loses p's use. */
    v->nuses = 0;
    if (p->guard)
        p->guard->nuses--;
    return true;
}

bool pass_fuse(Graph *g, Diag *d)
{
    (void)d;
    ir_recount_uses(g);
    for (int i = 0; i < g->nnodes; i++) {
        Node *c = g->nodes[i];
        /* A view (Reshape ...) stays a view: with a producer folded in it
         * would compute, and the planner would alias it to an input. */
        if (c->dead || !c->kernel || !c->kernel->elementwise || (c->op->flags & OPF_VIEW))
            continue;
        bool again = true;
        while (again) {
            again = false;
            for (int j = 0; j < c->nin; j++) {
                Value *v = c->in[j];
                Node *p = v ? v->producer : NULL;
                if (p && !p->dead && p->kernel && p->kernel->elementwise &&
                    p->kernel->out == v && try_fuse(g, p, c)) {
                    again = true;
                    break;
                }
            }
        }
    }
    ir_compact(g);
    return true;
}
