/* Folds a constant per-channel affine (a row with `affine`:
 * BatchNormalization at inference) into the node before it when that
 * node's row has OPF_FOLDS_AFFINE (Conv): with the affine's channel c as
 * y = (x - sub) * mul + add,
 *     W'[c] = W[c] * mul,   B'[c] = (B[c] - sub) * mul + add,
 * the weights W being input 1 (output channels along dim 0) and the bias
 * B input bias_in. Computed in double, stored as float. */
#include "passes.h"
#include "../ops/ops.h"

static bool is_const_float(const Value *v)
{
    return v && v->data && v->dtype == DT_FLOAT;
}

/* The affine's channel count when it folds into p; else -1. */
static int64_t foldable(const Node *p, const Node *aff)
{
    const OpDesc *po = p->op;
    if (!po || !(po->flags & OPF_FOLDS_AFFINE))
        return -1;
    const Value *y = p->out[0];
    if (aff->nout != 1 || aff->in[0] != y || !match_single_use(y))
        return -1;
    const Value *b = p->nin > po->bias_in ? p->in[po->bias_in] : NULL;
    if (!is_const_float(p->in[1]) || (b && !is_const_float(b)))
        return -1;
    int64_t channels = aff->op->affine(aff, 0, NULL);
    return channels >= 0 && p->in[1]->shape.dim[0] == channels ? channels : -1;
}

static void fold(Graph *g, Node *p, Node *aff)
{
    int bi = p->op->bias_in;
    const Value *w = p->in[1];
    const Value *b = p->nin > bi ? p->in[bi] : NULL;
    int64_t m_count = w->shape.dim[0], per = ir_value_numel(w) / (m_count ? m_count : 1);
    Value *nw = ir_value_new(g, ir_sprintf(g->arena, "%s_bnfolded", w->name));
    nw->dtype = DT_FLOAT;
    nw->shape = w->shape;
    nw->has_type = true;
    nw->data = ir_alloc(g->arena, ir_value_bytes(w));
    Value *nb = ir_value_new(g, ir_sprintf(g->arena, "%s_bnfolded_bias", p->name));
    nb->dtype = DT_FLOAT;
    nb->shape.rank = 1;
    nb->shape.dim[0] = m_count;
    nb->has_type = true;
    nb->data = ir_alloc(g->arena, (size_t)m_count * sizeof(float));
    float *wd = nw->data, *bd = nb->data;
    for (int64_t m = 0; m < m_count; m++) {
        ChannelAffine t;
        aff->op->affine(aff, m, &t);
        for (int64_t i = 0; i < per; i++)
            wd[m * per + i] = (float)(ir_const_f(w, m * per + i) * t.mul);
        double bias = b ? ir_const_f(b, m) : 0.0;
        bd[m] = (float)((bias - t.sub) * t.mul + t.add);
    }
    int nin = p->nin > bi + 1 ? p->nin : bi + 1;
    Value **in = ir_alloc_array(g->arena, (size_t)nin, sizeof(Value *));
    for (int i = 0; i < p->nin; i++)
        in[i] = p->in[i];
    in[1] = nw;
    in[bi] = nb;
    p->in = in;
    p->nin = nin;
    p->out[0] = aff->out[0];
    p->out[0]->producer = p;
    p->fused_names = ir_sprintf(g->arena, "%s+%s", p->name, aff->name);
    p->fused_ops = ir_sprintf(g->arena, "%s+%s", p->op_type, aff->op_type);
    aff->dead = true;
}

bool pass_fold_batchnorm(Graph *g, Diag *d)
{
    (void)d;
    ir_recount_uses(g);
    for (int i = 0; i < g->nnodes; i++) {
        Node *aff = g->nodes[i];
        if (aff->dead || !aff->op || !aff->op->affine || aff->nin < 1 || !aff->in[0] ||
            !aff->in[0]->producer)
            continue;
        Node *p = aff->in[0]->producer;
        if (!p->dead && foldable(p, aff) >= 0)
            fold(g, p, aff);
    }
    ir_compact(g);
    ir_recount_uses(g);
    return true;
}
