/* Small predicates the pattern-matching passes share (fuse_epilogue.c,
 * fuse_attention.c, fold_batchnorm.c, fuse.c). They know operators only
 * through their rows (ops/ops.h): roles and flags, never names. */
#include "passes.h"
#include "../ops/ops.h"

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

Node *match_sole_reader(Graph *g, const Value *v)
{
    if (!match_single_use(v))
        return NULL;
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
