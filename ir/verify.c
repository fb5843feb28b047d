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

/* A min-heap of node indices: the ready node taken next is the lowest. */
static void heap_push(int *h, int *len, int x)
{
    int i = (*len)++;
    while (i > 0 && h[(i - 1) / 2] > x) {
        h[i] = h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h[i] = x;
}

static int heap_pop(int *h, int *len)
{
    int top = h[0], x = h[--*len], i = 0;
    for (;;) {
        int c = 2 * i + 1;
        if (c >= *len)
            break;
        if (c + 1 < *len && h[c + 1] < h[c])
            c++;
        if (h[c] >= x)
            break;
        h[i] = h[c];
        i = c;
    }
    h[i] = x;
    return top;
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p) {
        fprintf(stderr, "dlc: out of memory\n");
        exit(1);
    }
    return p;
}

/* Kahn's algorithm over node indices, with each node's consumers listed
 * once (O((nodes + edges) log nodes)); nodes left over sit on a cycle.
 * Keeps source order among ready nodes by always taking the lowest index. */
static bool toposort(Graph *g, Diag *d)
{
    int n = g->nnodes;
    if (n == 0)
        return true;
    int *indeg = xcalloc((size_t)n, sizeof *indeg);
    int *order = xcalloc((size_t)n, sizeof *order);
    int *pos = xcalloc((size_t)g->nvalues, sizeof *pos);   /* producer index + 1 */
    int *first = xcalloc((size_t)n + 1, sizeof *first);   /* consumers of node p: */
    for (int i = 0; i < n; i++)                           /* cons[first[p]..first[p+1]) */
        for (int j = 0; j < g->nodes[i]->nout; j++)
            if (g->nodes[i]->out[j])
                pos[g->nodes[i]->out[j]->id] = i + 1;
    size_t nedges = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < g->nodes[i]->nin; j++) {
            Value *v = g->nodes[i]->in[j];
            if (v && pos[v->id]) {
                indeg[i]++;
                first[pos[v->id]]++;    /* counted at p + 1, summed below */
                nedges++;
            }
        }
    for (int p = 0; p < n; p++)
        first[p + 1] += first[p];
    int *cons = xcalloc(nedges, sizeof *cons), *fill = xcalloc((size_t)n, sizeof *fill);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < g->nodes[i]->nin; j++) {
            Value *v = g->nodes[i]->in[j];
            if (v && pos[v->id]) {
                int p = pos[v->id] - 1;
                cons[first[p] + fill[p]++] = i;
            }
        }
    int *heap = xcalloc((size_t)n, sizeof *heap), len = 0, done = 0;
    for (int i = 0; i < n; i++)
        if (!indeg[i])
            heap_push(heap, &len, i);
    while (len) {
        int t = heap_pop(heap, &len);
        order[done++] = t;
        for (int e = first[t]; e < first[t + 1]; e++)
            if (--indeg[cons[e]] == 0)
                heap_push(heap, &len, cons[e]);
    }
    bool ok = done == n;
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
    free(first);
    free(cons);
    free(fill);
    free(heap);
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
