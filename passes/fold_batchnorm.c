/* Folds an inference-mode BatchNormalization into the Conv before it:
 * W'[m] = W[m]·s[m], B'[m] = (B[m] − mean[m])·s[m] + bias[m], with
 * s = scale / sqrt(var + eps). Computed in double, stored as float. */
#include "passes.h"

#include <math.h>
#include <string.h>

static bool is_const_float(const Value *v)
{
    return v && v->data && v->dtype == DT_FLOAT;
}

static bool foldable(const Node *conv, const Node *bn)
{
    if (strcmp(conv->op_type, "Conv") != 0 || strcmp(bn->op_type, "BatchNormalization") != 0)
        return false;
    const Value *y = conv->out[0];
    if (bn->nout != 1 || bn->in[0] != y || !match_single_use(y))
        return false;
    if (!is_const_float(conv->in[1]) || (conv->nin > 2 && conv->in[2] && !is_const_float(conv->in[2])))
        return false;
    for (int i = 1; i < 5; i++)
        if (!is_const_float(bn->in[i]))
            return false;
    return ir_attr_int(bn, "training_mode", 0) == 0;
}

static void fold(Graph *g, Node *conv, Node *bn)
{
    const Value *w = conv->in[1];
    const Value *b = conv->nin > 2 ? conv->in[2] : NULL;
    int64_t m_count = w->shape.dim[0], per = ir_value_numel(w) / (m_count ? m_count : 1);
    double eps = ir_attr_float(bn, "epsilon", 1e-5f);
    Value *nw = ir_value_new(g, ir_sprintf(g->arena, "%s_bnfolded", w->name));
    nw->dtype = DT_FLOAT;
    nw->shape = w->shape;
    nw->has_type = true;
    nw->data = ir_alloc(g->arena, ir_value_bytes(w));
    Value *nb = ir_value_new(g, ir_sprintf(g->arena, "%s_bnfolded_bias", conv->name));
    nb->dtype = DT_FLOAT;
    nb->shape.rank = 1;
    nb->shape.dim[0] = m_count;
    nb->has_type = true;
    nb->data = ir_alloc(g->arena, (size_t)m_count * sizeof(float));
    float *wd = nw->data, *bd = nb->data;
    for (int64_t m = 0; m < m_count; m++) {
        double s = ir_const_f(bn->in[1], m) / sqrt(ir_const_f(bn->in[4], m) + eps);
        for (int64_t i = 0; i < per; i++)
            wd[m * per + i] = (float)(ir_const_f(w, m * per + i) * s);
        double bias = b ? ir_const_f(b, m) : 0.0;
        bd[m] = (float)((bias - ir_const_f(bn->in[3], m)) * s + ir_const_f(bn->in[2], m));
    }
    Value **in = ir_alloc_array(g->arena, 3, sizeof(Value *));
    in[0] = conv->in[0];
    in[1] = nw;
    in[2] = nb;
    conv->in = in;
    conv->nin = 3;
    conv->out[0] = bn->out[0];
    conv->out[0]->producer = conv;
    conv->fused_names = ir_sprintf(g->arena, "%s+%s", conv->name, bn->name);
    conv->fused_ops = "Conv+BatchNormalization";
    bn->dead = true;
}

bool pass_fold_batchnorm(Graph *g, Diag *d)
{
    (void)d;
    ir_recount_uses(g);
    for (int i = 0; i < g->nnodes; i++) {
        Node *bn = g->nodes[i];
        if (bn->dead || bn->nin < 5 || !bn->in[0] || !bn->in[0]->producer)
            continue;
        Node *conv = bn->in[0]->producer;
        if (!conv->dead && foldable(conv, bn) && conv->in[1]->shape.dim[0] ==
                                                     ir_value_numel(bn->in[1]))
            fold(g, conv, bn);
    }
    ir_compact(g);
    ir_recount_uses(g);
    return true;
}
