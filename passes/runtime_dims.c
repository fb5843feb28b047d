/* Run-time dims (--shape x=1x3x48x1..1024): the graph was inferred at the
 * maximum, with each run-time dim's expression carried along
 * (passes/dyn_rules.c). This pass makes the padded layout hold:
 *   - each input with run-time dims is spread from the caller's packed
 *     tensor into the padded layout (DimIn), each such output packed back
 *     (DimOut);
 *   - before a node that mixes elements along a run-time dim, the padding
 *     of that input is filled with what the operator ignores (DimMask);
 *   - a recurrent net over a run-time sequence gets its sequence_lens
 *     (DimFill);
 *   - constants computed from a run-time dim must only set shapes;
 *   - every expression agrees with the planned maximum and stays >= 1 down
 *     to the range's low end. */
#include "../ops/dyn.h"
#include "passes.h"
#include "../ops/ops.h"

#include <string.h>

static Value *clone_value(Graph *g, const Value *v, const char *suffix)
{
    Value *c = ir_value_new(g, ir_sprintf(g->arena, "%s%s", v->name, suffix));
    c->dtype = v->dtype;
    c->shape = v->shape;
    c->has_type = true;
    for (int k = 0; k < v->shape.rank; k++)
        ir_set_dyn(g, c, k, ir_dyn(v, k));
    return c;
}

static Node *new_node(Graph *g, const OpDesc *op, const Node *near, Value *in, Value *out)
{
    Node *n = ir_node_alloc(g, op->name, 1, 1);
    n->op = op;
    n->domain = "dlc";
    n->index = near ? near->index : 0;
    n->name = near && near->name[0] ? ir_sprintf(g->arena, "%s/%s", near->name, op->name) : op->name;
    n->in[0] = in;
    n->out[0] = out;
    out->producer = n;
    return n;
}

static void set_attrs(Graph *g, Node *n, int count)
{
    n->attrs = ir_alloc_array(g->arena, (size_t)count, sizeof *n->attrs);
    n->nattr = count;
}

typedef struct {
    Node **nodes;
    int n, cap;
} List;

static void push(Graph *g, List *l, Node *n)
{
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 64;
        Node **a = ir_alloc_array(g->arena, (size_t)cap, sizeof *a);
        if (l->n)
            memcpy(a, l->nodes, (size_t)l->n * sizeof *a);
        l->nodes = a;
        l->cap = cap;
    }
    l->nodes[l->n++] = n;
}

static void replace_reads(Graph *g, Value *from, Value *to, const Node *except)
{
    for (int i = 0; i < g->nnodes; i++) {
        Node *n = g->nodes[i];
        if (n->dead || n == except)
            continue;
        for (int j = 0; j < n->nin; j++)
            if (n->in[j] == from)
                n->in[j] = to;
        if (n->guard == from)
            n->guard = to;
    }
}

/* Constants computed from a run-time dim may set shapes only. */
static bool check_data_reads(const Node *n, Diag *d)
{
    for (int i = 0; i < n->nin; i++)
        if (n->in[i] && dyn_tainted(n->in[i]) && !dyn_shape_slot(n, i))
            return op_unsupported(d, n, "input %d '%s' is computed from a run-time dim and read as data",
                                  i, n->in[i]->name);
    return true;
}

/* After n: output 0 scaled from a mean over the maximum to one over the
 * extents (DimScale reads the extents from n's input 0). */
static void rescale_mean(Graph *g, List *l, Node *n, const DynNeeds *nd)
{
    Value *y = n->out[0];
    Value *raw = clone_value(g, y, ".over_max");
    n->out[0] = raw;
    raw->producer = n;
    Node *s = ir_node_alloc(g, op_dim_scale.name, 2, 1);
    s->op = &op_dim_scale;
    s->domain = "dlc";
    s->index = n->index;
    s->name = n->name[0] ? ir_sprintf(g->arena, "%s/DimScale", n->name) : "DimScale";
    s->in[0] = raw;
    s->in[1] = n->in[0];
    s->out[0] = y;
    y->producer = s;
    set_attrs(g, s, 1);
    s->attrs[0] = (Attr){.name = "axes", .type = ATTR_INT, .i = nd->mean_axes};
    push(g, l, s);
}

static bool apply_needs(Graph *g, List *l, Node *n, const DynNeeds *nd)
{
    for (int m = 0; m < nd->nmask; m++) {
        Value *x = n->in[nd->mask[m].in];
        Value *y = clone_value(g, x, ".masked");
        Node *mk = new_node(g, &op_dim_mask, n, x, y);
        set_attrs(g, mk, 4);
        mk->attrs[0] = (Attr){.name = "axes", .type = ATTR_INT, .i = nd->mask[m].axes};
        mk->attrs[1] = (Attr){.name = "fill", .type = ATTR_FLOAT, .f = (float)nd->mask[m].fill};
        mk->attrs[2] = (Attr){.name = "edge", .type = ATTR_INT, .i = nd->mask[m].edge};
        /* in the arena (the planner's test): fill x's own padding, no copy */
        bool arena = x->producer && !x->data && x->output_index < 0;
        mk->attrs[3] = (Attr){.name = "in_place", .type = ATTR_INT, .i = arena};
        n->in[nd->mask[m].in] = y;
        push(g, l, mk);
    }
    if (nd->seq_len) {
        Value *x = n->in[0];
        bool batch_first = ir_attr_int(n, "layout", 0) != 0;
        Value *lens = ir_value_new(g, ir_sprintf(g->arena, "%s.sequence_lens", x->name));
        lens->dtype = DT_INT32;
        lens->has_type = true;
        lens->shape.rank = 1;
        lens->shape.dim[0] = x->shape.dim[batch_first ? 0 : 1];
        Node *f = new_node(g, &op_dim_fill, n, x, lens);
        set_attrs(g, f, 2);
        f->attrs[0] = (Attr){.name = "axis", .type = ATTR_INT, .i = batch_first ? 1 : 0};
        f->attrs[1] = (Attr){.name = "count", .type = ATTR_INT, .i = lens->shape.dim[0]};
        if (n->nin < 5) {
            Value **in = ir_alloc_array(g->arena, 5, sizeof *in);
            memcpy(in, n->in, (size_t)n->nin * sizeof *in);
            /* captures trail the inputs; recurrent nodes have none */
            n->in = in;
            n->nin = 5;
        }
        n->in[4] = lens;
        push(g, l, f);
    }
    return true;
}

static bool check_exprs(Graph *g, const Value *v, Diag *d)
{
    for (int k = 0; k < v->shape.rank; k++) {
        const DimExpr *e = ir_dyn(v, k);
        if (!e)
            continue;
        const RtDim *r = &g->rtdims[e->sym];
        bool ok = true;
        if (dx_eval(e, r->hi, &ok) != v->shape.dim[k] || !ok) {
            diag_error(d, v->producer, "internal error: '%s' dim %d is %s, %lld at %s=%lld, "
                       "but was planned as %lld", v->name, k, dx_str(g, e),
                       (long long)dx_eval(e, r->hi, &ok), r->name, (long long)r->hi,
                       (long long)v->shape.dim[k]);
            return false;
        }
        if (!dx_valid(g, e, v->shape.dim[k])) {
            diag_error(d, v->producer, "'%s' dim %d is %s, empty when %s is %lld: raise the "
                       "range's low end", v->name, k, dx_str(g, e), r->name, (long long)r->lo);
            return false;
        }
    }
    return true;
}

bool pass_runtime_dims(Graph *g, Diag *d)
{
    if (g->nrtdims == 0)
        return true;
    List l = {0};
    for (int i = 0; i < g->ninputs; i++) {
        Value *x = g->inputs[i];
        if (!ir_has_dyn(x))
            continue;
        Value *p = clone_value(g, x, ".padded");
        Node *in = new_node(g, &op_dim_in, NULL, x, p);
        replace_reads(g, x, p, in);
        for (int o = 0; o < g->noutputs; o++)
            if (g->outputs[o] == x) {
                diag_error(d, NULL, "input '%s' with run-time dims is also an output", x->name);
                return false;
            }
        push(g, &l, in);
    }
    bool ok = true;
    for (int i = 0; i < g->nnodes; i++) {
        Node *n = g->nodes[i];
        if (n->dead)
            continue;
        DynNeeds nd;
        if (!check_data_reads(n, d) || !dyn_infer_node(n, &nd, d)) {
            ok = false;
            continue;
        }
        apply_needs(g, &l, n, &nd);
        push(g, &l, n);
        if (nd.mean_axes)
            rescale_mean(g, &l, n, &nd);
    }
    if (!ok)
        return false;
    for (int o = 0; o < g->noutputs; o++) {
        Value *y = g->outputs[o];
        if (!ir_has_dyn(y))
            continue;
        Node *p = y->producer;
        if (!p) {
            diag_error(d, NULL, "output '%s' has run-time dims but no node computes it", y->name);
            return false;
        }
        Value *yp = clone_value(g, y, ".padded");
        for (int k = 0; k < p->nout; k++)
            if (p->out[k] == y)
                p->out[k] = yp;
        yp->producer = p;
        g->nodes = l.nodes;     /* so replace_reads sees the new list */
        g->nnodes = l.n;
        replace_reads(g, y, yp, NULL);
        push(g, &l, new_node(g, &op_dim_out, p, yp, y));
    }
    g->nodes = l.nodes;
    g->nnodes = l.n;
    g->capnodes = l.cap;
    for (int i = 0; i < g->nnodes; i++)
        for (int j = 0; j < g->nodes[i]->nout; j++)
            if (g->nodes[i]->out[j] && !check_exprs(g, g->nodes[i]->out[j], d))
                return false;
    ir_recount_uses(g);
    return true;
}
