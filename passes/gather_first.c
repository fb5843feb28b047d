/* Gather before elementwise: Gather(f(T, c), idx) = f(Gather(T, idx), c)
 * for an elementwise f, so only the gathered rows are computed. Exporters
 * write a quantised embedding table as Gather(Mul(Cast(T_int8), scale)):
 * folding the dequantised table at compile time would store it four times
 * larger, and computing it each run cost 14.8 ms of a 77 ms MiniLM; after
 * this pass the run dequantises the 128 rows it reads.
 *
 * The rewrite applies when f's output is read by the Gather only and is
 * larger than the Gather's output; each operand of f either has f's shape
 * (it is gathered too) or covers only dims after the gather axis (it
 * broadcasts to the gathered rows as it did to the table: a scalar, a
 * per-column scale). Repeated until nothing changes, so a chain of
 * elementwise nodes (Mul of a Cast) moves whole. */
#include "passes.h"
#include "../ops/ops.h"

#include <string.h>

static Value *fresh(Graph *g, const char *base, const char *what)
{
    return ir_value_new(g, ir_sprintf(g->arena, "%s/%s", base ? base : "", what));
}

/* Gather node gt reads the output of elementwise node e: rewrite. */
static bool move(Graph *g, Node *gt, Node *e, int pos, Diag *d)
{
    Value *table = gt->in[0];
    int64_t axis = ir_attr_int(gt, "axis", 0);
    int r = table->shape.rank;
    if (axis < 0)
        axis += r;
    if (axis < 0 || axis >= r)
        return false;
    /* the operands: gathered (same shape as the table) or broadcast */
    bool gather_it[8];
    if (e->nin > 8)
        return false;
    for (int i = 0; i < e->nin; i++) {
        Value *u = e->in[i];
        gather_it[i] = u && ir_shape_equal(&u->shape, &table->shape);
        if (u && !gather_it[i] && u->shape.rank > r - 1 - axis)
            return false;
    }
    Node *added[9];
    int nadded = 0;
    Node *f = ir_node_alloc(g, e->op_type, e->nin, 1);
    f->name = e->name;
    f->domain = e->domain;
    f->op = e->op;
    f->nattr = e->nattr;
    f->attrs = e->attrs;
    f->index = e->index;
    for (int i = 0; i < e->nin; i++) {
        Value *u = e->in[i];
        f->in[i] = u;
        if (!gather_it[i])
            continue;
        Node *gi = ir_node_alloc(g, gt->op_type, 2, 1);
        gi->name = ir_sprintf(g->arena, "%s/%d", gt->name, i);
        gi->domain = gt->domain;
        gi->op = gt->op;
        gi->nattr = gt->nattr;
        gi->attrs = gt->attrs;
        gi->index = gt->index;
        gi->in[0] = u;
        gi->in[1] = gt->in[1];
        gi->out[0] = fresh(g, u->name, "gathered");
        gi->out[0]->producer = gi;
        if (!gi->op->infer(gi, d))
            return false;
        f->in[i] = gi->out[0];
        added[nadded++] = gi;
    }
    f->out[0] = gt->out[0];
    f->out[0]->producer = f;
    added[nadded++] = f;
    gt->dead = true;
    e->dead = true;
    ir_insert_nodes(g, pos, added, nadded);
    return true;
}

bool pass_gather_first(Graph *g, Diag *d)
{
    bool changed = true;
    while (changed) {
        changed = false;
        ir_recount_uses(g);
        for (int i = 0; i < g->nnodes && !changed; i++) {
            Node *gt = g->nodes[i];
            if (!match_role(gt, OP_ROLE_GATHER) || gt->nin != 2 || !gt->in[0] || !gt->in[1])
                continue;
            Value *table = gt->in[0];
            Node *e = table->producer;
            if (!e || e->dead || !e->op || !(e->op->flags & OPF_ELEMENTWISE) || e->nout != 1 ||
                e->guard != gt->guard || gt->guard || !match_single_use(table) ||
                !ir_shape_known(&table->shape) ||
                ir_value_numel(gt->out[0]) >= ir_value_numel(table))
                continue;
            changed = move(g, gt, e, i, d);
        }
        ir_compact(g);
    }
    ir_recount_uses(g);
    return d->nerrors == 0;
}
