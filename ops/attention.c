/* The fused attention node passes/fuse_attention.c builds (op_type
 * "Attention", domain "dlc"; not reachable from a model: it has no row in
 * the operator table):
 *
 *   out = softmax(scale * Q K^T + mask) V       per (batch, head)
 *
 * Inputs: Q, K, V and the optional mask (NULL when absent), each the
 * buffer the runtime reads through strides; output 0 as the pass chose it.
 * Attribute "shape" (ints) holds rt_attention_shape's fields in order (B,
 * H, Sq, Sk, D, Dv, then the Q, K, V, O and mask strides), "scale" the
 * float scale. It lowers to one rt_attention call (runtime/attention.c). */
#include "ops.h"
#include "../runtime/rt.h"

#include <string.h>

#define ATTN_NINTS 22

static bool shape_of(const Node *n, rt_attention_shape *s, int64_t *ints)
{
    const Attr *a = ir_attr(n, "shape");
    if (!a || a->type != ATTR_INTS || a->n != ATTN_NINTS)
        return false;
    ptrdiff_t *f[ATTN_NINTS] = {&s->B,  &s->H,  &s->Sq, &s->Sk, &s->D,  &s->Dv,
                                &s->qb, &s->qh, &s->qi, &s->kb, &s->kh, &s->kj,
                                &s->vb, &s->vh, &s->vj, &s->ob, &s->oh, &s->oi,
                                &s->mb, &s->mh, &s->mi, &s->mj};
    for (int i = 0; i < ATTN_NINTS; i++) {
        *f[i] = (ptrdiff_t)a->ints[i];
        ints[i] = a->ints[i];
    }
    return true;
}

/* The pass set the output's type and shape; check that it still holds. */
static bool infer_attention(Node *n, Diag *d)
{
    rt_attention_shape s;
    int64_t ints[ATTN_NINTS];
    if (!shape_of(n, &s, ints) || n->nout != 1 || !n->out[0] || !n->out[0]->has_type) {
        diag_error(d, n, "internal error: malformed fused attention node");
        return false;
    }
    return true;
}

static bool lower_attention(Node *n, Diag *d)
{
    rt_attention_shape s;
    int64_t ints[ATTN_NINTS];
    if (!infer_attention(n, d) || !shape_of(n, &s, ints))
        return false;
    LKernel *k = lw_kernel(n);
    k->runtime = "attention";
    k->scratch_bytes = (int64_t)rt_attention_scratch(&s) * (int64_t)sizeof(float);
    LStmt *c = ls_call(k, "rt_attention");
    c->flops = 2.0 * (double)s.B * (double)s.H * (double)s.Sq * (double)s.Sk *
               (double)(s.D + s.Dv);
    ls_params(k, c, "rt_attention_shape", ints, ATTN_NINTS);
    ls_arg_float(k, c, ir_attr_float(n, "scale", 1.0f));
    ls_arg_buf(k, c, n->in[0], 0);
    ls_arg_buf(k, c, n->in[1], 0);
    ls_arg_buf(k, c, n->in[2], 0);
    ls_arg_buf_or_null(k, c, n->nin > 3 ? n->in[3] : NULL, 0);
    ls_arg_buf(k, c, n->out[0], 0);
    ls_arg_scratch(k, c);
    ls_push(k, k->root, c);
    return true;
}

static const AttrSpec a_attention[] = {{"shape", ATTR_INTS}, {"scale", ATTR_FLOAT}, {NULL, 0}};

const OpDesc op_fused_attention = {
    .name = "Attention", .since = 1, .min_in = 3, .max_in = 4, .min_out = 1, .max_out = 1,
    .flags = OPF_NO_FOLD, .attrs = a_attention, .infer = infer_attention,
    .lower = lower_attention,
};
