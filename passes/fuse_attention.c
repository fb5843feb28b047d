/* Attention fusion: scaled dot-product attention as exporters write it,
 *
 *   Q' = [scale·] [Transpose] Q        K' = [scale·] [Transpose] K (= K^T)
 *   S  = MatMul(Q', K') [· or / scalar]... [+ mask]
 *   P  = Softmax(S, last axis) [-> Where(IsNaN(P), 0, P)]
 *   C  = MatMul(P, [Transpose] V) [-> Transpose]
 *
 * becomes one node (ops/attention.c) that calls runtime/attention.c: per
 * (batch, head), scores in scratch, softmax, product with V, the result
 * written straight into the layout the final Transpose gives. The Q, K
 * and V Transposes are not materialised: the kernel reads their inputs
 * through strides (the Reshape before them is a view). Scalar Mul/Div
 * constants on Q, on K or on the scores fold into one scale. The NaN
 * guard torch's exporter writes after the Softmax (fully masked rows give
 * zeros, not NaN) becomes the kernel's nan_zero flag.
 *
 * Conditions (anything else stays as it is): float32 throughout; scores of
 * rank 2..4 (batch dims become (batch, head)); Q, K, V and the scores with
 * the same batch dims (no broadcasting); the innermost axis of Q, K, V and
 * the output contiguous in the buffer read or written; the mask an Add
 * operand that broadcasts to the scores without changing their shape, read
 * with stride 0 or 1 along the keys; Softmax over the last axis; every
 * absorbed intermediate read once and not a graph output. Runs before
 * epilogue fusion, which would otherwise take the mask Add as a bias. */
#include "passes.h"
#include "../ir/dims.h"
#include "../ops/ops.h"

#include <math.h>
#include <string.h>

#define MAX_ABSORB 16

typedef struct {
    Node *nodes[MAX_ABSORB];
    int n;
    double scale;
} Match;

static bool take(Match *m, Node *n)
{
    for (int i = 0; i < m->n; i++)
        if (m->nodes[i] == n)
            return false;
    if (m->n == MAX_ABSORB)
        return false;
    m->nodes[m->n++] = n;
    return true;
}

/* Mul(x, c), Mul(c, x) or Div(x, c) with a finite non-zero scalar constant
 * c, output shaped like x: x and the factor. */
static Value *scale_node(const Node *p, double *f)
{
    double c;
    if (!p || p->nin != 2 || p->nout != 1 || !p->in[0] || !p->in[1])
        return NULL;
    Value *x = NULL;
    if (match_role(p, OP_ROLE_DIV) && match_scalar(p->in[1], &c) && c != 0.0) {
        x = p->in[0];
        c = 1.0 / c;
    } else if (match_role(p, OP_ROLE_MUL) && match_scalar(p->in[1], &c)) {
        x = p->in[0];
    } else if (match_role(p, OP_ROLE_MUL) && match_scalar(p->in[0], &c)) {
        x = p->in[1];
    }
    if (!x || !isfinite(c) || !match_f32(x) || !match_f32(p->out[0]) ||
        !ir_shape_equal(&x->shape, &p->out[0]->shape))
        return NULL;
    *f = c;
    return x;
}

/* A strided view of an operand: logical dim i of `v` (rank r) is element
 * stride str[i] in `base`. */
typedef struct {
    Value *base;
    int r;
    int64_t str[IR_MAX_RANK];
} View;

/* Walks back from v (an operand of rank r) through single-use Transposes
 * and scalar scales, absorbing them into m; the base is what is left. */
static bool operand(Value *v, Match *m, View *out)
{
    int r = v->shape.rank, idx[IR_MAX_RANK];
    for (int i = 0; i < r; i++)
        idx[i] = i;
    Value *cur = v;
    for (;;) {
        Node *p = cur->producer;
        double f;
        if (!match_single_use(cur) || !p || p->dead)
            break;
        if (match_role(p, OP_ROLE_TRANSPOSE) && p->nin == 1 && p->nout == 1 &&
            match_f32(p->in[0]) && p->in[0]->shape.rank == r) {
            const Attr *a = ir_attr(p, "perm");
            int64_t perm[IR_MAX_RANK];
            if (a) {
                if (a->type != ATTR_INTS || a->n != r)
                    break;
                for (int i = 0; i < r; i++)
                    perm[i] = a->ints[i];
            } else {
                for (int i = 0; i < r; i++)
                    perm[i] = r - 1 - i;
            }
            bool ok = true;
            for (int i = 0; i < r; i++)
                ok = ok && perm[i] >= 0 && perm[i] < r;
            if (!ok || !take(m, p))
                break;
            for (int i = 0; i < r; i++)
                idx[i] = (int)perm[idx[i]];
            cur = p->in[0];
            continue;
        }
        Value *x = scale_node(p, &f);
        if (x && take(m, p)) {
            m->scale *= f;
            cur = x;
            continue;
        }
        break;
    }
    if (!match_f32(cur) || !ir_shape_known(&cur->shape))
        return false;
    int64_t cs[IR_MAX_RANK];
    ir_strides(&cur->shape, cs);
    out->base = cur;
    out->r = r;
    for (int i = 0; i < r; i++)
        out->str[i] = cs[idx[i]];
    return true;
}

/* Batch strides of a view over logical dims [0, r-2): (b, h). */
static void batch_strides(const View *v, int64_t *sb, int64_t *sh)
{
    int nb = v->r - 2;
    *sb = nb >= 2 ? v->str[nb - 2] : 0;
    *sh = nb >= 1 ? v->str[nb - 1] : 0;
}

static bool same_batch(const Value *a, const Value *b, int nb)
{
    for (int i = 0; i < nb; i++)
        if (a->shape.dim[i] != b->shape.dim[i])
            return false;
    return true;
}

/* The mask's strides (b, h, row, col) for scores of shape `s`, when it
 * broadcasts to them: a dim of 1 reads stride 0. */
static bool mask_strides(const Value *mk, const Shape *s, int64_t *st)
{
    int r = s->rank, mr = mk->shape.rank;
    int64_t ms[IR_MAX_RANK], full[4] = {0, 0, 0, 0};
    if (!match_f32(mk) || mr > r || !ir_shape_known(&mk->shape))
        return false;
    ir_strides(&mk->shape, ms);
    for (int d = 0; d < mr; d++) {
        int sd = d + r - mr;
        int64_t e = mk->shape.dim[d];
        if (e != 1 && e != s->dim[sd])
            return false;
        /* scores dim sd is (b, h, row, col) slot 4 - r + sd */
        full[4 - r + sd] = e == 1 ? 0 : ms[d];
    }
    memcpy(st, full, sizeof full);
    return st[3] == 0 || st[3] == 1;
}

/* "a+b+c" of the absorbed nodes' names (or op types), in graph order. */
static const char *joined(Graph *g, const Match *m, bool ops)
{
    const char *s = NULL;
    for (int i = 0; i < g->nnodes; i++)
        for (int j = 0; j < m->n; j++)
            if (g->nodes[i] == m->nodes[j]) {
                const Node *n = m->nodes[j];
                const char *x = ops ? n->op_type : n->name;
                s = s ? ir_sprintf(g->arena, "%s+%s", s, x) : x;
            }
    return s;
}

static int position(const Graph *g, const Node *n)
{
    for (int i = 0; i < g->nnodes; i++)
        if (g->nodes[i] == n)
            return i;
    return -1;
}

/* Where(IsNaN(p), 0, p), p read by those two nodes only: the Where's
 * output, both nodes taken into m; else p itself. */
static Value *nan_guard(Graph *g, Value *p, Match *m, bool *guarded)
{
    Node *isn = NULL, *wh = NULL;
    double z;
    *guarded = false;
    if (p->nuses != 2 || p->output_index >= 0)
        return p;
    for (int i = 0; i < g->nnodes; i++) {
        Node *n = g->nodes[i];
        if (match_role(n, OP_ROLE_ISNAN) && n->in[0] == p)
            isn = n;
        else if (match_role(n, OP_ROLE_WHERE) && n->in[2] == p)
            wh = n;
    }
    if (!isn || !wh || match_sole_reader(g, isn->out[0]) != wh || wh->in[0] != isn->out[0] ||
        wh->in[1] == p || !match_scalar(wh->in[1], &z) || z != 0.0 || !match_f32(wh->out[0]) ||
        !ir_shape_equal(&wh->out[0]->shape, &p->shape) || wh->guard != isn->guard ||
        !take(m, isn) || !take(m, wh))
        return p;
    *guarded = true;
    return wh->out[0];
}

/* A DimMask (passes/runtime_dims.c) filling the scores' run-time keys with
 * -inf before the softmax: the fused kernel reads only the extent. */
static bool keys_mask(const Node *c, const Value *cur, int r)
{
    return c->op == &op_dim_mask && c->in[0] == cur && !ir_attr_int(c, "edge", 0) &&
           ir_attr_int(c, "axes", 0) == 1 << (r - 1) && isinf(ir_attr_float(c, "fill", 0)) &&
           ir_attr_float(c, "fill", 0) < 0;
}

/* Tries the pattern rooted at the first MatMul mm. */
static bool try_fuse(Graph *g, Node *mm)
{
    if (mm->nin != 2 || mm->nout != 1 || !match_f32(mm->in[0]) || !match_f32(mm->in[1]) ||
        !match_f32(mm->out[0]) || mm->epi.act || mm->epi.bias || mm->epi.residual)
        return false;
    Value *sc = mm->out[0];
    int r = sc->shape.rank;
    if (r < 2 || r > 4 || mm->in[0]->shape.rank != r || mm->in[1]->shape.rank != r ||
        !ir_shape_known(&sc->shape))
        return false;

    Match m = {.n = 0, .scale = 1.0};
    take(&m, mm);
    /* scores: scales, then at most one mask Add, then Softmax */
    Value *cur = sc, *mask = NULL;
    Node *sm = NULL;
    for (;;) {
        Node *c = match_sole_reader(g, cur);
        double f;
        if (!c)
            return false;
        if (match_role(c, OP_ROLE_SOFTMAX)) {
            sm = c;
            break;
        }
        if (keys_mask(c, cur, r)) {    /* run-time keys: the kernel stops at their extent */
            if (!take(&m, c))
                return false;
            cur = c->out[0];
            continue;
        }
        Value *x = scale_node(c, &f);
        if (x == cur && !mask) {
            if (!take(&m, c))
                return false;
            m.scale *= f;
            cur = c->out[0];
            continue;
        }
        if (match_role(c, OP_ROLE_ADD) && !mask && c->nin == 2 && c->nout == 1 && c->in[0] &&
            c->in[1] && (c->in[0] == cur) != (c->in[1] == cur) && match_f32(c->out[0]) &&
            ir_shape_equal(&c->out[0]->shape, &sc->shape)) {
            mask = c->in[0] == cur ? c->in[1] : c->in[0];
            if (!take(&m, c))
                return false;
            cur = c->out[0];
            continue;
        }
        return false;
    }
    int64_t axis = ir_attr_int(sm, "axis", g->opset >= 13 ? -1 : 1);
    if (axis < 0)
        axis += r;
    if (axis != r - 1 || sm->nout != 1 || sm->in[0] != cur || !match_f32(sm->out[0]))
        return false;
    if (!take(&m, sm))
        return false;
    bool nan_zero;
    Value *probs = nan_guard(g, sm->out[0], &m, &nan_zero);
    Node *mm2 = match_sole_reader(g, probs);
    if (mm2 && mm2->op == &op_dim_mask && ir_attr_float(mm2, "fill", 1) == 0 &&
        ir_attr_int(mm2, "axes", 0) == 1 << (r - 1) && take(&m, mm2)) {
        probs = mm2->out[0];    /* the product's run-time K: the kernel stops there too */
        mm2 = match_sole_reader(g, probs);
    }
    if (!match_role(mm2, OP_ROLE_MATMUL) || mm2->nin != 2 || mm2->in[0] != probs ||
        mm2->in[1] == probs || !match_f32(mm2->in[1]) || mm2->in[1]->shape.rank != r ||
        !match_f32(mm2->out[0]) || mm2->epi.act || mm2->epi.bias || mm2->epi.residual)
        return false;
    if (!take(&m, mm2))
        return false;
    Value *ctx = mm2->out[0];
    int nb = r - 2;
    if (!same_batch(mm->in[0], sc, nb) || !same_batch(mm->in[1], sc, nb) ||
        !same_batch(mm2->in[1], sc, nb) || !same_batch(ctx, sc, nb))
        return false;

    /* the operands, through their Transposes and scales */
    View q, kt, v;
    if (!operand(mm->in[0], &m, &q) || !operand(mm->in[1], &m, &kt) ||
        !operand(mm2->in[1], &m, &v))
        return false;
    /* the output, through one Transpose when it is the sole reader */
    Node *last = mm2, *tr = match_sole_reader(g, ctx);
    Value *out = ctx;
    int64_t ostr[IR_MAX_RANK];
    ir_strides(&ctx->shape, ostr);
    if (match_role(tr, OP_ROLE_TRANSPOSE) && tr->nin == 1 && tr->nout == 1 &&
        match_f32(tr->out[0])) {
        const Attr *a = ir_attr(tr, "perm");
        if (a && a->type == ATTR_INTS && a->n == r) {
            int64_t ts[IR_MAX_RANK], st[IR_MAX_RANK];
            bool ok = ir_shape_known(&tr->out[0]->shape);
            ir_strides(&tr->out[0]->shape, ts);
            for (int i = 0; i < r; i++)
                st[i] = -1;
            for (int i = 0; ok && i < r; i++) {
                ok = a->ints[i] >= 0 && a->ints[i] < r && st[a->ints[i]] < 0;
                if (ok)
                    st[a->ints[i]] = ts[i];
            }
            if (ok && st[r - 1] == 1 && take(&m, tr)) {
                memcpy(ostr, st, sizeof st);
                out = tr->out[0];
                last = tr;
            }
        }
    }

    int64_t Sq = sc->shape.dim[r - 2], Sk = sc->shape.dim[r - 1];
    int64_t D = mm->in[0]->shape.dim[r - 1], Dv = ctx->shape.dim[r - 1];
    int64_t B = nb >= 2 ? sc->shape.dim[0] : 1, H = nb >= 1 ? sc->shape.dim[nb - 1] : 1;
    if (Sq < 1 || Sk < 1 || D < 1 || Dv < 1 || B < 1 || H < 1 ||
        mm2->in[1]->shape.dim[r - 2] != Sk || ctx->shape.dim[r - 2] != Sq)
        return false;
    /* innermost axes contiguous: Q's D, K^T's D (its row axis), V's Dv */
    if (q.str[r - 1] != 1 || kt.str[r - 2] != 1 || v.str[r - 1] != 1 || ostr[r - 1] != 1)
        return false;
    int64_t mst[4] = {0, 0, 0, 0};
    if (mask && !mask_strides(mask, &sc->shape, mst))
        return false;
    /* every base is computed before the last absorbed node */
    int pl = position(g, last);
    Value *bases[4] = {q.base, kt.base, v.base, mask};
    for (int i = 0; i < 4; i++)
        if (bases[i] && bases[i]->producer && position(g, bases[i]->producer) > pl)
            return false;
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < m.n; j++)
            if (bases[i] && bases[i]->producer == m.nodes[j])
                return false;

    int64_t ints[23];
    int64_t qb, qh, kb, kh, vb, vh, ob, oh;
    View o = {out, r, {0}};
    memcpy(o.str, ostr, sizeof ostr);
    batch_strides(&q, &qb, &qh);
    batch_strides(&kt, &kb, &kh);
    batch_strides(&v, &vb, &vh);
    batch_strides(&o, &ob, &oh);
    int64_t vals[23] = {B,  H,  Sq, Sk, D,  Dv, qb, qh, q.str[r - 2], kb, kh, kt.str[r - 1],
                        vb, vh, v.str[r - 2], ob, oh, o.str[r - 2], mst[0], mst[1], mst[2],
                        mst[3], nan_zero};
    memcpy(ints, vals, sizeof ints);

    /* rewrite `last` in place into the fused node */
    Node *n = last;
    const char *names = joined(g, &m, false), *ops = joined(g, &m, true);
    n->fused_names = names;
    n->fused_ops = ops;
    n->name = mm->name;
    n->op_type = "Attention";
    n->domain = "dlc";
    n->op = &op_fused_attention;
    n->nin = 4;
    n->in = ir_alloc_array(g->arena, 4, sizeof(Value *));
    n->in[0] = q.base;
    n->in[1] = kt.base;
    n->in[2] = v.base;
    n->in[3] = mask;
    n->nout = 1;
    n->out = ir_alloc_array(g->arena, 1, sizeof(Value *));
    n->out[0] = out;
    out->producer = n;
    n->nattr = ir_has_dyn(sc) ? 3 : 2;
    n->attrs = ir_alloc_array(g->arena, 3, sizeof(Attr));
    n->attrs[2] = (Attr){.name = "extents", .type = ATTR_TENSOR, .t = sc};
    n->attrs[0].name = "shape";
    n->attrs[0].type = ATTR_INTS;
    n->attrs[0].n = 23;
    n->attrs[0].ints = ir_alloc_array(g->arena, 23, sizeof(int64_t));
    memcpy(n->attrs[0].ints, ints, sizeof ints);
    n->attrs[1].name = "scale";
    n->attrs[1].type = ATTR_FLOAT;
    n->attrs[1].f = (float)m.scale;
    for (int i = 0; i < m.n; i++)
        if (m.nodes[i] != n)
            m.nodes[i]->dead = true;
    ir_recount_uses(g);
    return true;
}

bool pass_fuse_attention(Graph *g, Diag *d)
{
    (void)d;
    ir_recount_uses(g);
    match_index_begin(g);
    for (int i = 0; i < g->nnodes; i++) {
        Node *n = g->nodes[i];
        if (match_role(n, OP_ROLE_MATMUL))
            try_fuse(g, n);
    }
    match_index_end();
    ir_compact(g);
    ir_recount_uses(g);
    return true;
}
