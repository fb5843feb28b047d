/* Removes nodes that only forward a value: rows with OPF_IDENTITY
 * (Identity; Dropout at inference) when nobody reads their other outputs
 * (Dropout's mask). */
#include "passes.h"
#include "../ops/ops.h"

static bool forwards(const Node *n)
{
    if (!n->op || !(n->op->flags & OPF_IDENTITY))
        return false;
    for (int i = 1; i < n->nout; i++)
        if (n->out[i] && (n->out[i]->nuses != 0 || n->out[i]->output_index >= 0))
            return false;
    return true;
}

bool pass_simplify(Graph *g, Diag *d)
{
    (void)d;
    ir_recount_uses(g);
    for (int i = 0; i < g->nnodes; i++) {
        Node *n = g->nodes[i];
        if (n->dead || !forwards(n) || !n->in[0] || !n->out[0])
            continue;
        Value *in = n->in[0], *out = n->out[0];
        /* A graph output keeps its own buffer: the node stays as a copy. */
        if (out->output_index >= 0)
            continue;
        ir_replace_uses(g, out, in);
        n->dead = true;
    }
    ir_compact(g);
    ir_recount_uses(g);
    return true;
}
