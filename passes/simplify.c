/* Removes nodes that only forward a value: Identity, and Dropout in
 * inference mode when nobody reads its mask. */
#include "passes.h"

#include <string.h>

static bool forwards(const Node *n)
{
    if (strcmp(n->op_type, "Identity") == 0)
        return true;
    if (strcmp(n->op_type, "Dropout") == 0)
        return n->nout < 2 || !n->out[1] || (n->out[1]->nuses == 0 && n->out[1]->output_index < 0);
    return false;
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
