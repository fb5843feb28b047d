/* Removes nodes that only forward a value: rows with OPF_IDENTITY
 * (Identity; Dropout at inference) when nobody reads their other outputs
 * (Dropout's mask). */
#include "passes.h"
#include "../ops/ops.h"

#include <stdlib.h>

static bool forwards(const Node *n)
{
    if (!n->op || !(n->op->flags & OPF_IDENTITY))
        return false;
    for (int i = 1; i < n->nout; i++)
        if (n->out[i] && (n->out[i]->nuses != 0 || n->out[i]->output_index >= 0))
            return false;
    return true;
}

/* What to[] (value id -> replacement) maps v to, or NULL; only values of
 * the graph's list have ids of their own. */
static Value *next(const Graph *g, Value **to, const Value *v)
{
    return v && v->id < g->nvalues && g->values[v->id] == v ? to[v->id] : NULL;
}

/* The value v stands for once forwarding nodes are gone: follows the
 * chain in to[], shortening it on the way. */
static Value *resolve(const Graph *g, Value **to, Value *v)
{
    Value *r = v;
    for (Value *s; (s = next(g, to, r));)
        r = s;
    for (Value *s; (s = next(g, to, v)) && s != r; v = s)
        to[v->id] = r;
    return r;
}

bool pass_simplify(Graph *g, Diag *d)
{
    (void)d;
    ir_recount_uses(g);
    /* One walk to pick the forwarding nodes, one to rewrite every use:
     * linear, where replacing each node's output in turn was quadratic. */
    Value **to = calloc((size_t)g->nvalues + 1, sizeof *to);
    if (!to)
        DLC_BUG("out of memory");
    bool any = false;
    for (int i = 0; i < g->nnodes; i++) {
        Node *n = g->nodes[i];
        if (n->dead || !forwards(n) || !n->in[0] || !n->out[0])
            continue;
        Value *in = n->in[0], *out = n->out[0];
        /* A graph output keeps its own buffer: the node stays as a copy. */
        if (out->output_index >= 0 || resolve(g, to, in) == out)
            continue;
        to[out->id] = in;
        n->dead = true;
        any = true;
    }
    if (any) {
        for (int i = 0; i < g->nnodes; i++) {
            Node *n = g->nodes[i];
            for (int j = 0; j < n->nin; j++)
                n->in[j] = resolve(g, to, n->in[j]);
            n->guard = resolve(g, to, n->guard);
        }
        for (int i = 0; i < g->noutputs; i++)
            g->outputs[i] = resolve(g, to, g->outputs[i]);
        for (int i = 0; i < g->nchecks; i++)
            g->checks[i] = resolve(g, to, g->checks[i]);
    }
    free(to);
    ir_compact(g);
    ir_recount_uses(g);
    return true;
}
