/* Small predicates the pattern-matching passes share (fuse_epilogue.c,
 * fuse_attention.c, fold_batchnorm.c, fuse.c). They know operators only
 * through their rows (ops/ops.h): roles and flags, never names. */
#include "passes.h"
#include "../ops/ops.h"

#include <stdlib.h>
#include <string.h>

bool match_role(const Node *n, int role)
{
    return n && !n->dead && n->op && n->op->role == (OpRole)role;
}

bool match_f32(const Value *v)
{
    return v && v->has_type && v->dtype == DT_FLOAT;
}

bool match_scalar(const Value *v, double *x)
{
    if (!v || !v->data || !ir_dtype_is_float(v->dtype) || ir_value_numel(v) != 1)
        return false;
    *x = ir_const_f(v, 0);
    return true;
}

bool match_single_use(const Value *v)
{
    return v && v->nuses == 1 && v->output_index < 0;
}

/* value id -> the first live node reading it, for the pass between
 * match_index_begin() and match_index_end(): a scan per question made the
 * pattern passes quadratic in the node count. An answer from it is checked
 * (the pass rewrites the graph as it goes); a stale one means a scan. */
static struct {
    const Graph *g;
    Node **reader;
    int n;
} idx;

void match_index_begin(Graph *g)
{
    match_index_end();
    idx.reader = calloc((size_t)g->nvalues + 1, sizeof *idx.reader);
    if (!idx.reader)
        return;     /* questions are answered by scans */
    idx.g = g;
    idx.n = g->nvalues;
    for (int i = g->nnodes - 1; i >= 0; i--) {
        Node *n = g->nodes[i];
        for (int j = 0; !n->dead && j < n->nin; j++)
            if (n->in[j] && n->in[j]->id < idx.n && g->values[n->in[j]->id] == n->in[j])
                idx.reader[n->in[j]->id] = n;
    }
}

void match_index_end(void)
{
    free(idx.reader);
    memset(&idx, 0, sizeof idx);
}

static bool reads(const Node *n, const Value *v)
{
    for (int j = 0; j < n->nin; j++)
        if (n->in[j] == v)
            return true;
    return false;
}

Node *match_sole_reader(Graph *g, const Value *v)
{
    if (!match_single_use(v))
        return NULL;
    if (idx.g == g && v->id < idx.n && g->values[v->id] == v) {
        Node *n = idx.reader[v->id];
        if (n && !n->dead && reads(n, v))   /* the one reader: v has one use */
            return v->producer && v->producer->guard != n->guard ? NULL : n;
    }
    for (int i = 0; i < g->nnodes; i++) {
        Node *n = g->nodes[i];
        if (n->dead)
            continue;
        for (int j = 0; j < n->nin; j++)
            if (n->in[j] == v)  /* patterns do not reach across a control-flow guard */
                return v->producer && v->producer->guard != n->guard ? NULL : n;
    }
    return NULL;
}
