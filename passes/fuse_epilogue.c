/* Epilogue fusion: a node whose row has OPF_EPILOGUE (Conv, Gemm, MatMul)
 * with a float32 output absorbs the chain that follows it,
 *
 *     [Add bias] [Add residual] [activation]
 *
 * into Node.epi, so that its kernel applies  out = act(out + bias + residual)
 * as it stores each output, never in a second pass over memory. Each
 * absorbed intermediate must have exactly one reader and not be a graph
 * output (the erf-form GELU subgraph reads its input twice, both inside the
 * pattern). The residual and bias values are appended to the node's inputs,
 * after the operator's own (padded with NULLs to op->max_in), so that the
 * planner sees the reads; lowerings reach them through n->epi.
 *
 * On a row with a bias input (OpDesc.bias_in: Conv's B) a per-channel
 * constant Add is merged into that input, so epi.bias stays NULL there.
 *
 * Only rows whose lowering reads n->epi (flag OPF_EPILOGUE, see
 * op_honours_epilogue) take part; for the others this pass changes nothing.
 * The rows say the rest: the bias axis (epi_axis), which activations a
 * kernel applies (epi_act), and the roles of the Add, Mul, Div and Erf nodes
 * of the erf-form GELU and of the Sigmoid and Mul of SiLU. */
#include "passes.h"
#include "../ops/ops.h"

#include <math.h>
#include <string.h>

#define MAX_CHAIN 12    /* absorbed nodes per fused node */

bool op_honours_epilogue(const Node *n)
{
    return n->op && (n->op->flags & OPF_EPILOGUE);
}

static bool scalar_is(const Value *v, double want, double rtol)
{
    double x;
    return match_scalar(v, &x) && fabs(x - want) <= rtol * fabs(want);
}

/* The two distinct live nodes reading v (two reads, not a graph output). */
static bool two_readers(Graph *g, const Value *v, Node **r)
{
    if (!v || v->nuses != 2 || v->output_index >= 0)
        return false;
    int k = 0;
    for (int i = 0; i < g->nnodes && k < 2; i++) {
        Node *n = g->nodes[i];
        if (n->dead)
            continue;
        for (int j = 0; j < n->nin; j++)
            if (n->in[j] == v) {
                r[k++] = n;
                break;
            }
    }
    return k == 2 && r[0] != r[1];
}

/* Of a two-input node reading v once, the other input; else NULL. */
static Value *other_input(const Node *n, const Value *v)
{
    if (!n || n->nin != 2 || n->nout != 1 || !n->in[0] || !n->in[1])
        return NULL;
    if (n->in[0] == v && n->in[1] != v)
        return n->in[1];
    if (n->in[1] == v && n->in[0] != v)
        return n->in[0];
    return NULL;
}

/* n's single output has exactly the shape and type of `like`. */
static bool keeps_shape(const Node *n, const Value *like)
{
    const Value *o = n->nout == 1 ? n->out[0] : NULL;
    return o && match_f32(o) && o->shape.rank == like->shape.rank &&
           ir_shape_equal(&o->shape, &like->shape);
}

static int position(const Graph *g, const Node *n)
{
    for (int i = 0; i < g->nnodes; i++)
        if (g->nodes[i] == n)
            return i;
    DLC_BUG("node not in graph");
}

/* ---- the chain being absorbed ---- */

typedef struct {
    Node *nodes[MAX_CHAIN];
    int n;
    Epilogue epi;
    Value *own_bias;    /* the merged constant for input bias_in, or NULL */
    Value *cur;         /* output of the chain so far */
} Chain;

static bool take(Chain *c, Node *n)
{
    if (c->n == MAX_CHAIN)
        return false;
    c->nodes[c->n++] = n;
    return true;
}

/* A float constant that, broadcast to out's shape, varies only along
 * `axis` and leaves the shape alone: a bias. */
static bool bias_shaped(const Value *b, const Value *out, int axis)
{
    if (!b || !b->data || !ir_dtype_is_float(b->dtype) || b->shape.rank > out->shape.rank ||
        axis < 0)
        return false;
    int off = out->shape.rank - b->shape.rank;
    for (int d = 0; d < b->shape.rank; d++) {
        int64_t e = b->shape.dim[d];
        if (e != 1 && !(d + off == axis && e == out->shape.dim[axis]))
            return false;
    }
    return true;
}

/* A fresh float32 [len] constant: a[i] + b[i] (a may be NULL; either may
 * hold one element, broadcast). */
static Value *vector_sum(Graph *g, const char *name, const Value *a, const Value *b, int64_t len)
{
    Value *v = ir_value_new(g, name);
    v->dtype = DT_FLOAT;
    v->has_type = true;
    v->shape.rank = 1;
    v->shape.dim[0] = len;
    float *p = ir_alloc_array(g->arena, (size_t)(len ? len : 1), sizeof(float));
    int64_t na = a ? ir_value_numel(a) : 0, nb = ir_value_numel(b);
    for (int64_t i = 0; i < len; i++) {
        double x = a ? ir_const_f(a, na == 1 ? 0 : i) : 0.0;
        p[i] = (float)(x + ir_const_f(b, nb == 1 ? 0 : i));
    }
    v->data = p;
    return v;
}

/* Does a later candidate want this residual Add itself? The one computed
 * last takes it, so that nothing has to move. */
static bool later_candidate_takes(Graph *g, const Node *n, const Value *other);

/* An Add after the chain: bias or residual. */
static bool try_add(Graph *g, Node *n, Chain *c, Node *add)
{
    Value *other = other_input(add, c->cur);
    if (!other || !match_f32(other) || !keeps_shape(add, c->cur) || c->epi.act)
        return false;
    Value *out = c->cur;
    int axis = op_epi_axis(n, out->shape.rank);
    if (!bias_shaped(other, out, axis)) {
        if (c->epi.residual || other->shape.rank != out->shape.rank ||
            !ir_shape_equal(&other->shape, &out->shape) || later_candidate_takes(g, n, other))
            return false;
        c->epi.residual = other;
        return take(c, add);
    }
    int64_t len = out->shape.dim[axis];
    int bi = n->op->bias_in;
    if (bi) {
        if (c->own_bias)
            return false;
        Value *old = n->nin > bi ? n->in[bi] : NULL;
        if (old && (!old->data || ir_value_numel(old) != len))
            return false;
        c->own_bias = vector_sum(g, ir_sprintf(g->arena, "%s_epi_bias", n->name), old, other,
                                 len);
        return take(c, add);
    }
    if (c->epi.bias)
        return false;
    if (other->dtype == DT_FLOAT && other->shape.rank == 1 && other->shape.dim[0] == len)
        c->epi.bias = other;
    else
        c->epi.bias = vector_sum(g, ir_sprintf(g->arena, "%s_epi_bias", n->name), NULL, other,
                                 len);
    return take(c, add);
}

/* A one-node activation after the chain, as its row's epi_act gives it. */
static bool try_act(Chain *c, Node *a)
{
    if (c->epi.act || a->nin < 1 || a->in[0] != c->cur || !keeps_shape(a, c->cur) ||
        !a->op || !a->op->epi_act)
        return false;
    float alpha = 0.0f, beta = 0.0f;
    int act = a->op->epi_act(a, &alpha, &beta);
    if (act == IR_ACT_NONE || !take(c, a))
        return false;
    c->epi.act = act;
    c->epi.alpha = alpha;
    c->epi.beta = beta;
    return true;
}

/* x / sqrt 2 as Div(x, 1.414..) or Mul(x, 0.7071..). */
static bool is_scale(const Node *s, const Value *x)
{
    if (match_role(s, OP_ROLE_DIV))
        return s->nin == 2 && s->in[0] == x && s->in[1] != x &&
               scalar_is(s->in[1], sqrt(2.0), 1e-6);
    if (match_role(s, OP_ROLE_MUL))
        return scalar_is(other_input(s, x), sqrt(0.5), 1e-6);
    return false;
}

/* Mul(v, k) or Mul(k, v) with a scalar constant k == want. */
static bool is_mul_by(const Node *m, const Value *v, double want)
{
    return match_role(m, OP_ROLE_MUL) && scalar_is(other_input(m, v), want, 0.0);
}

/* Mul(u, v) in either order. */
static bool is_mul_of(const Node *m, const Value *u, const Value *v)
{
    return match_role(m, OP_ROLE_MUL) && other_input(m, u) == v;
}

/* GELU as exporters spell it, x · 0.5 · (1 + erf(x / sqrt 2)), rooted at x
 * (read twice, both times inside the pattern):
 *   s = x/sqrt2 (Div or Mul), e = Erf(s), a = e + 1, then one of
 *     A: Mul(Mul(x, a), 0.5)   B: Mul(x, Mul(a, 0.5))   C: Mul(Mul(x, 0.5), a)  */
static bool try_gelu_erf(Graph *g, Chain *c)
{
    Value *x = c->cur;
    Node *r[2];
    if (c->epi.act || !two_readers(g, x, r))
        return false;
    for (int i = 0; i < 2; i++) {
        Node *s = r[i], *m = r[1 - i];
        if (!is_scale(s, x) || !keeps_shape(s, x))
            continue;
        Node *e = match_sole_reader(g, s->out[0]);
        if (!match_role(e, OP_ROLE_ERF) || e->in[0] != s->out[0] || !keeps_shape(e, x))
            continue;
        Node *a = match_sole_reader(g, e->out[0]);
        if (!match_role(a, OP_ROLE_ADD) || !scalar_is(other_input(a, e->out[0]), 1.0, 0.0) ||
            !keeps_shape(a, x))
            continue;
        Node *t = match_sole_reader(g, a->out[0]);
        Node *pat[5] = {s, e, a, NULL, NULL};
        if (t == m && is_mul_of(m, x, a->out[0])) {                     /* A */
            Node *h = match_sole_reader(g, m->out[0]);
            if (!is_mul_by(h, m->out[0], 0.5))
                continue;
            pat[3] = m, pat[4] = h;
        } else if (t && is_mul_by(t, a->out[0], 0.5) && match_sole_reader(g, t->out[0]) == m &&
                   is_mul_of(m, x, t->out[0])) {                        /* B */
            pat[3] = t, pat[4] = m;
        } else if (is_mul_by(m, x, 0.5) && t && match_sole_reader(g, m->out[0]) == t &&
                   is_mul_of(t, m->out[0], a->out[0])) {                /* C */
            pat[3] = m, pat[4] = t;
        } else {
            continue;
        }
        if (!keeps_shape(pat[3], x) || !keeps_shape(pat[4], x) || c->n + 5 > MAX_CHAIN)
            continue;
        for (int k = 0; k < 5; k++)
            take(c, pat[k]);
        c->epi.act = IR_ACT_GELU_ERF;
        c->epi.alpha = c->epi.beta = 0.0f;
        c->cur = pat[4]->out[0];
        return true;
    }
    return false;
}

/* SiLU as exporters spell it, x * sigmoid(x): x read by a Sigmoid and by
 * the Mul of x and that sigmoid (either order), nothing else. */
static bool try_silu(Graph *g, Chain *c)
{
    Value *x = c->cur;
    Node *r[2];
    if (c->epi.act || !two_readers(g, x, r) || c->n + 2 > MAX_CHAIN)
        return false;
    for (int i = 0; i < 2; i++) {
        Node *s = r[i], *m = r[1 - i];
        if (!match_role(s, OP_ROLE_SIGMOID) || s->in[0] != x || !keeps_shape(s, x) ||
            match_sole_reader(g, s->out[0]) != m || !is_mul_of(m, x, s->out[0]) ||
            !keeps_shape(m, x))
            continue;
        take(c, s);
        take(c, m);
        c->epi.act = IR_ACT_SILU;
        c->epi.alpha = c->epi.beta = 0.0f;
        c->cur = m->out[0];
        return true;
    }
    return false;
}

/* Is n a node this pass fuses into, as it stands? */
static bool candidate(const Node *n)
{
    if (n->dead || !op_honours_epilogue(n) || n->nout != 1 || !match_f32(n->out[0]))
        return false;
    if (n->epi.act || n->epi.bias || n->epi.residual)
        return false;   /* already fused */
    int rank = n->out[0]->shape.rank, axis = op_epi_axis(n, rank);
    if (axis < 0 || axis >= rank)
        return false;
    return !n->op->epi_fits || n->op->epi_fits(n);
}

static bool later_candidate_takes(Graph *g, const Node *n, const Value *other)
{
    Node *p = other->producer;
    if (!p || p->dead || !candidate(p) || p->out[0] != other || other->nuses != 1 ||
        other->output_index >= 0)
        return false;
    return position(g, p) > position(g, n);
}

/* Absorbs n's chain; true when something fused. */
static bool absorb(Graph *g, Node *n)
{
    Chain c;
    memset(&c, 0, sizeof c);
    c.cur = n->out[0];
    for (;;) {
        if (!c.epi.act && (try_gelu_erf(g, &c) || try_silu(g, &c)))
            break;
        Node *r = match_sole_reader(g, c.cur);
        if (!r)
            break;
        if (match_role(r, OP_ROLE_ADD)) {
            if (!try_add(g, n, &c, r))
                break;
            c.cur = r->out[0];
            continue;
        }
        if (try_act(&c, r))
            c.cur = r->out[0];
        break;
    }
    if (c.n == 0)
        return false;

    /* Inputs: the operator's own (padded to its arity), then the epilogue's. */
    int own = n->nin > n->op->max_in ? n->nin : n->op->max_in;
    Value **in = ir_alloc_array(g->arena, (size_t)own + 2, sizeof(Value *));
    for (int i = 0; i < n->nin; i++)
        in[i] = n->in[i];
    int k = own;
    if (c.own_bias)
        in[n->op->bias_in] = c.own_bias;
    if (c.epi.residual)
        in[k++] = c.epi.residual;
    if (c.epi.bias)
        in[k++] = c.epi.bias;
    n->in = in;
    n->nin = k;
    n->epi = c.epi;

    const char *names = n->fused_names ? n->fused_names : n->name;
    const char *ops = n->fused_ops ? n->fused_ops : n->op_type;
    for (int i = 0; i < c.n; i++) {
        names = ir_sprintf(g->arena, "%s+%s", names, c.nodes[i]->name);
        ops = ir_sprintf(g->arena, "%s+%s", ops, c.nodes[i]->op_type);
        c.nodes[i]->dead = true;
    }
    n->fused_names = names;
    n->fused_ops = ops;
    Node *last = c.nodes[c.n - 1];
    n->out[0] = c.cur;
    c.cur->producer = n;

    /* A residual computed after n: n runs where the chain's last node ran
     * (every input is ready there, every reader of the result comes later). */
    int pn = position(g, n);
    const Node *rp = c.epi.residual ? c.epi.residual->producer : NULL;
    if (rp && !rp->dead && position(g, rp) > pn) {  /* a folded constant's producer is gone */
        int pl = position(g, last);
        g->nodes[pn] = last;    /* dead, dropped by ir_compact */
        g->nodes[pl] = n;
    }
    ir_recount_uses(g);
    return true;
}

bool pass_fuse_epilogue(Graph *g, Diag *d)
{
    (void)d;
    ir_recount_uses(g);
    match_index_begin(g);
    for (int i = 0; i < g->nnodes; i++) {
        Node *n = g->nodes[i];
        if (candidate(n))
            absorb(g, n);
    }
    match_index_end();
    ir_compact(g);
    ir_recount_uses(g);
    return true;
}
