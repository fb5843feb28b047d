/* Lowers every node to loop IR through its operator row. */
#include "passes.h"
#include "../ops/ops.h"

bool pass_lower(Graph *g, Diag *d)
{
    bool ok = true;
    for (int i = 0; i < g->nnodes; i++) {
        Node *n = g->nodes[i];
        if (n->dead || n->kernel)
            continue;
        if (!op_lower(n, d))
            ok = false;
        else if (!n->kernel && !(n->op->flags & OPF_VIEW))
            DLC_BUG("%s lowered to nothing", n->op_type);
    }
    return ok;
}
