/* The fused attention node passes/fuse_attention.c builds (op_type
 * "Attention", domain "dlc"; not reachable from a model: it has no row in
 * the operator table):
 *
 *   out = softmax(scale * Q K^T + mask) V       per (batch, head)
 *
 * Inputs: Q, K, V and the optional mask (NULL when absent), each the
 * buffer the kernel reads through strides; output 0 as the pass chose it.
 * Attribute "shape" (ints) holds KAttention's sizes and strides in order (B,
 * H, Sq, Sk, D, Dv, then the Q, K, V, O and mask strides, then nan_zero:
 * NaN rows of the softmax become zeros), "scale" the
 * float scale; "extents" (a tensor attribute, when set) the scores' value,
 * whose last two dims carry run-time extents of Sq and Sk (ir/dims.h). It
 * lowers to one KC_ATTENTION kernel call. */
#include "ops.h"
#include "../ir/dims.h"

#define ATTN_NINTS 23

static bool shape_of(const Node *n, KAttention *s)
{
    const Attr *a = ir_attr(n, "shape");
    if (!a || a->type != ATTR_INTS || a->n != ATTN_NINTS)
        return false;
    int64_t *f[ATTN_NINTS] = {&s->B,  &s->H,  &s->Sq, &s->Sk, &s->D,  &s->Dv,
                              &s->qb, &s->qh, &s->qi, &s->kb, &s->kh, &s->kj,
                              &s->vb, &s->vh, &s->vj, &s->ob, &s->oh, &s->oi,
                              &s->mb, &s->mh, &s->mi, &s->mj, &s->nan_zero};
    for (int i = 0; i < ATTN_NINTS; i++)
        *f[i] = a->ints[i];
    s->scale = ir_attr_float(n, "scale", 1.0f);
    return true;
}

/* The pass set the output's type and shape; check that it still holds. */
static bool infer_attention(Node *n, Diag *d)
{
    KAttention s;
    if (!shape_of(n, &s) || n->nout != 1 || !n->out[0] || !n->out[0]->has_type) {
        diag_error(d, n, "internal error: malformed fused attention node");
        return false;
    }
    return true;
}

static bool lower_attention(Node *n, Diag *d)
{
    KAttention s = {0};
    if (!infer_attention(n, d) || !shape_of(n, &s))
        return false;
    LKernel *k = lw_kernel(n);
    const Attr *ex = ir_attr(n, "extents");
    if (ex && ex->type == ATTR_TENSOR && ex->t && ex->t->shape.rank >= 2) {
        const Value *sc = ex->t;
        int r = sc->shape.rank;
        if (ir_dyn(sc, r - 2))
            s.sq_run = lw_dim_expr(k, ir_dyn(sc, r - 2));
        if (ir_dyn(sc, r - 1))
            s.sk_run = lw_dim_expr(k, ir_dyn(sc, r - 1));
    }
    LStmt *c = ls_kernel(k, KC_ATTENTION);
    c->flops = 2.0 * (double)s.B * (double)s.H * (double)s.Sq * (double)s.Sk *
               (double)(s.D + s.Dv);
    c->kc->u.attn = s;
    for (int i = 0; i < 4; i++)
        c->kc->in[i].buf = i < n->nin ? n->in[i] : NULL;
    c->kc->out.buf = n->out[0];
    ls_push(k, k->root, c);
    return true;
}

static const AttrSpec a_attention[] = {{"shape", ATTR_INTS}, {"scale", ATTR_FLOAT},
                                       {"extents", ATTR_TENSOR}, {NULL, 0}};

const OpDesc op_fused_attention = {
    .name = "Attention", .since = 1, .min_in = 3, .max_in = 4, .min_out = 1, .max_out = 1,
    .flags = OPF_NO_FOLD, .attrs = a_attention, .infer = infer_attention,
    .lower = lower_attention,
};
