/* Dead-code elimination: drops nodes none of whose outputs is read. */
#include "passes.h"

static bool live(const Value *v)
{
    return v && (v->nuses > 0 || v->output_index >= 0);
}

bool pass_dce(Graph *g, Diag *d)
{
    (void)d;
    ir_recount_uses(g);
    /* Reverse order: removing a consumer may free its producers. */
    for (int i = g->nnodes - 1; i >= 0; i--) {
        Node *n = g->nodes[i];
        if (n->dead)
            continue;
        bool any = false;
        for (int j = 0; j < n->nout; j++)
            any |= live(n->out[j]);
        if (any)
            continue;
        n->dead = true;
        for (int j = 0; j < n->nin; j++)
            if (n->in[j])
                n->in[j]->nuses--;
        if (n->guard)
            n->guard->nuses--;
    }
    ir_compact(g);
    return true;
}
