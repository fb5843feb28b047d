/* The verifier: one producer per value, every input defined, no cycles.
 * Leaves g->nodes in topological order (stable for already-sorted input). */
#include "ir.h"

#include <stdlib.h>

static bool check_producers(Graph *g, Diag *d)
{
    bool ok = true;
    for (int i = 0; i < g->nvalues; i++)
        g->values[i]->producer = NULL;
    for (int i = 0; i < g->nnodes; i++) {
        Node *n = g->nodes[i];
        for (int j = 0; j < n->nout; j++) {
            Value *v = n->out[j];
            if (!v)
                continue;
            if (v->producer || v->is_input || v->data) {
                diag_error(d, n, "output %d '%s' is already defined %s", j, v->name,
                           v->producer ? "by another node" : "as a graph input or initializer");
                ok = false;
            }
            v->producer = n;
        }
    }
    for (int i = 0; i < g->nnodes; i++) {
        Node *n = g->nodes[i];
        for (int j = 0; j < n->nin; j++) {
            Value *v = n->in[j];
            if (v && !v->producer && !v->is_input && !v->data) {
                diag_error(d, n, "input %d '%s' is not produced by any node, graph input or initializer",
                           j, v->name);
                ok = false;
            }
        }
    }
    for (int i = 0; i < g->noutputs; i++) {
        Value *v = g->outputs[i];
        if (!v->producer && !v->is_input && !v->data) {
            diag_error(d, NULL, "graph output '%s' is not produced by any node", v->name);
            ok = false;
        }
    }
    return ok;
}

/* Kahn's algorithm over node indices; nodes left over sit on a cycle. */
static bool toposort(Graph *g, Diag *d)
{
    int n = g->nnodes;
    if (n == 0)
        return true;
    int *indeg = calloc((size_t)n, sizeof *indeg);
    int *order = calloc((size_t)n, sizeof *order);
    int *pos = calloc((size_t)g->nvalues, sizeof *pos);   /* producer index + 1 */
    if (!indeg || !order || !pos) {
        fprintf(stderr, "dlc: out of memory\n");
        exit(1);
    }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < g->nodes[i]->nout; j++)
            if (g->nodes[i]->out[j])
                pos[g->nodes[i]->out[j]->id] = i + 1;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < g->nodes[i]->nin; j++) {
            Value *v = g->nodes[i]->in[j];
            if (v && pos[v->id])
                indeg[i]++;
        }
    int head = 0, tail = 0;
    for (int i = 0; i < n; i++)
        if (!indeg[i])
            order[tail++] = i;
    /* Consumers of a finished node: scan is O(n^2) in the worst case, which
     * is fine for graphs of a few thousand nodes. Keep source order among
     * ready nodes by always taking the lowest index. */
    while (head < tail) {
        int best = head;
        for (int k = head + 1; k < tail; k++)
            if (order[k] < order[best])
                best = k;
        int t = order[best];
        order[best] = order[head];
        order[head++] = t;
        Node *p = g->nodes[t];
        for (int i = 0; i < n; i++) {
            Node *c = g->nodes[i];
            for (int j = 0; j < c->nin; j++) {
                Value *v = c->in[j];
                if (v && pos[v->id] == t + 1 && --indeg[i] == 0)
                    order[tail++] = i;
            }
        }
        (void)p;
    }
    bool ok = tail == n;
    if (!ok) {
        for (int i = 0; i < n; i++)
            if (indeg[i]) {
                diag_error(d, g->nodes[i], "node is part of a cycle");
                break;
            }
    } else {
        Node **sorted = ir_alloc_array(g->arena, (size_t)n, sizeof(Node *));
        for (int i = 0; i < n; i++)
            sorted[i] = g->nodes[order[i]];
        g->nodes = sorted;
        g->capnodes = n;
    }
    free(indeg);
    free(order);
    free(pos);
    return ok;
}

bool ir_verify(Graph *g, Diag *d)
{
    if (!check_producers(g, d))
        return false;
    if (!toposort(g, d))
        return false;
    ir_recount_uses(g);
    return true;
}
