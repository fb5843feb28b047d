/* Control flow (If, Loop, Scan) becomes plain nodes, during inference:
 * passes/infer_fold.c calls cf_expand when its walk reaches such a node,
 * so everything before it is typed and folded, and the nodes spliced in
 * are inferred next by the same walk.
 *
 * - If with a constant condition: a copy of the taken branch.
 * - If with a run-time condition: copies of both branches, each node
 *   guarded (Node.guard: it runs only when that bool is true), and each
 *   output a Where over the condition (Node.merge: both candidates must
 *   have one shape).
 * - Loop and Scan: unrolled, one iteration per visit of the node, which
 *   stays in the walk just after the iteration spliced before it; so when
 *   the next iteration is decided, the previous one's condition is folded
 *   if it can be. An iteration that may or may not run (run-time trip
 *   count or condition) is guarded by `active` (and the node's own guard),
 *   and the loop-carried values pass through a Where on it. Such a Loop
 *   needs a bound: a
 *   constant M, or --loop-max. Scan outputs are stacked with Concat; their
 *   length must be known at compile time.
 *
 * Every copy is made by splice() and clone_node(): the body's own values
 * get fresh values, its formal inputs map to the actual ones, outer-scope
 * values stay; nested bodies are copied along (clone_sub). */
#include "passes.h"
#include "../ops/ops.h"

#include <stdlib.h>
#include <string.h>

/* Unrolling stops with an error past these. */
#define CF_MAX_ITERATIONS 65536
#define CF_MAX_SPLICED_NODES (1 << 16)  /* later passes are not linear in the node count */
/* Nodes copied in all, nested bodies' included: a splice copies the bodies
 * nested in what it splices, so nested Ifs of a small file would otherwise
 * copy (depth x size) nodes before the spliced count stops them. */
#define CF_MAX_COPIED_NODES (1 << 20)

struct CfCtx {
    Graph *g;
    int64_t loop_max;       /* --loop-max, 0: none */
    Value **map;            /* value id -> its copy, valid where stamp == gen */
    unsigned *stamp;
    unsigned gen;
    int cap;
    Node **pending;         /* nodes to insert before the control node */
    int npending, cappending;
    Node *at;               /* the control node being expanded */
    int64_t spliced;        /* body nodes copied in so far */
    int64_t copied;         /* and with the nodes of bodies nested in them */
    Diag *d;
};

/* Per Loop/Scan node being unrolled. */
typedef struct CfState {
    int64_t iter;           /* iterations spliced so far */
    int64_t bound;          /* Loop: at most this many (-1: no bound); Scan: exactly */
    Value **carried;        /* current loop-carried values */
    int ncarried;
    Value *active;          /* Loop: does iteration `iter` run (bool, 1 element) */
    Value ***scan;          /* per scan output, per iteration */
    int nscan;
    int64_t capscan;
    bool guarded;           /* some iteration runs at run time's discretion */
} CfState;

CfCtx *cf_begin(Graph *g, int64_t loop_max)
{
    CfCtx *c = calloc(1, sizeof *c);
    if (!c) {
        fprintf(stderr, "dlc: out of memory\n");
        exit(1);
    }
    c->g = g;
    c->loop_max = loop_max;
    return c;
}

void cf_end(CfCtx *c)
{
    if (!c)
        return;
    free(c->map);
    free(c->stamp);
    free(c->pending);
    free(c);
}

bool cf_is_control(const Node *n)
{
    return match_role(n, OP_ROLE_IF) || match_role(n, OP_ROLE_LOOP) ||
           match_role(n, OP_ROLE_SCAN);
}

/* ---- the value map ---- */

static void map_reset(CfCtx *c)
{
    c->gen++;
}

static Value *mapped(CfCtx *c, Value *v)
{
    return v && v->id < c->cap && c->stamp[v->id] == c->gen ? c->map[v->id] : v;
}

static void map_set(CfCtx *c, Value *from, Value *to)
{
    if (from->id >= c->cap) {
        int cap = c->cap ? c->cap : 256;
        while (cap <= from->id)
            cap *= 2;
        c->map = realloc(c->map, (size_t)cap * sizeof *c->map);
        c->stamp = realloc(c->stamp, (size_t)cap * sizeof *c->stamp);
        if (!c->map || !c->stamp) {
            fprintf(stderr, "dlc: out of memory\n");
            exit(1);
        }
        memset(c->stamp + c->cap, 0, (size_t)(cap - c->cap) * sizeof *c->stamp);
        c->cap = cap;
    }
    c->map[from->id] = to;
    c->stamp[from->id] = c->gen;
}

/* ---- building nodes ---- */

static void pend(CfCtx *c, Node *n)
{
    if (c->npending == c->cappending) {
        c->cappending = c->cappending ? c->cappending * 2 : 64;
        c->pending = realloc(c->pending, (size_t)c->cappending * sizeof *c->pending);
        if (!c->pending) {
            fprintf(stderr, "dlc: out of memory\n");
            exit(1);
        }
    }
    c->pending[c->npending++] = n;
}

/* The row of a node dlc adds itself: at the model's opset, or at 13 for
 * rows the model's opset predates (Where). */
static const OpDesc *row(const Graph *g, const char *op)
{
    bool known;
    int64_t opset = g->opset < 13 ? 13 : g->opset;
    const OpDesc *r = op_find(op, opset, &known);
    if (!r)
        DLC_BUG("no row for %s at opset %lld", op, (long long)opset);
    return r;
}

/* A node's name for the nodes made from it: its ONNX name, else its op. */
static const char *label(const Node *n)
{
    return n->name && *n->name ? n->name : n->op_type;
}

static Node *mk(CfCtx *c, const char *op, int nin, Value *out, Value *guard)
{
    Graph *g = c->g;
    Node *n = ir_node_alloc(g, op, nin, 1);
    n->op = row(g, op);
    n->index = c->at->index;
    n->name = ir_sprintf(g->arena, "%s/%s", label(c->at), op);
    n->out[0] = out ? out : ir_value_new(g, n->name);
    n->out[0]->producer = n;
    n->guard = guard;
    pend(c, n);
    return n;
}

static Node *mk2(CfCtx *c, const char *op, Value *a, Value *b, Value *out, Value *guard)
{
    Node *n = mk(c, op, b ? 2 : 1, out, guard);
    n->in[0] = a;
    if (b)
        n->in[1] = b;
    return n;
}

static Value *const_i64(CfCtx *c, const int64_t *x, int n, int rank)
{
    Value *v = ir_value_new(c->g, "cf_const");
    v->dtype = DT_INT64;
    v->has_type = true;
    v->shape.rank = rank;
    if (rank)
        v->shape.dim[0] = n;
    int64_t *p = ir_alloc_array(c->g->arena, (size_t)n + 1, sizeof *p);
    memcpy(p, x, (size_t)n * sizeof *p);
    v->data = p;
    return v;
}

static Value *scalar_i64(CfCtx *c, int64_t x)
{
    return const_i64(c, &x, 1, 0);
}

static bool const_true(const Value *v)
{
    return v && v->data && ir_const_i(v, 0) != 0;
}

static bool const_false(const Value *v)
{
    return v && v->data && ir_const_i(v, 0) == 0;
}

static Value *const_true_value(CfCtx *c)
{
    Value *v = ir_value_new(c->g, "cf_true");
    v->dtype = DT_BOOL;
    v->has_type = true;
    uint8_t *p = ir_alloc(c->g->arena, 1);
    p[0] = 1;
    v->data = p;
    return v;
}

/* a && b, either NULL meaning "true". */
static Value *both(CfCtx *c, Value *a, Value *b)
{
    if (a == b)
        return a;
    if (!a || const_true(a))
        return b;
    if (!b || const_true(b))
        return a;
    return mk2(c, "And", a, b, NULL, NULL)->out[0];
}

/* ---- copies of subgraphs ---- */

static Subgraph *clone_sub(CfCtx *c, const Subgraph *s, const char *suffix);

/* A copy of src, reading the copies map_set() recorded. A spliced node is
 * named after the control node too; a node of a nested body keeps its
 * name until its own splice prefixes it (prefixing it at each level too
 * doubled the names' length per nesting level). */
static Node *clone_node(CfCtx *c, const Node *src, const char *suffix, bool nested)
{
    Graph *g = c->g;
    Node *n = ir_node_alloc(g, src->op_type, src->nin, src->nout);
    n->op = src->op;
    n->domain = src->domain;
    n->index = c->at->index;
    n->name = nested ? src->name
                     : ir_sprintf(g->arena, "%s/%s%s", label(c->at), label(src), suffix);
    n->ncapture = src->ncapture;
    n->nattr = src->nattr;
    n->attrs = ir_alloc_array(g->arena, (size_t)src->nattr, sizeof(Attr));
    for (int i = 0; i < src->nattr; i++) {
        n->attrs[i] = src->attrs[i];
        if (src->attrs[i].sub)
            n->attrs[i].sub = clone_sub(c, src->attrs[i].sub, suffix);
    }
    for (int i = 0; i < src->nin; i++)
        n->in[i] = mapped(c, src->in[i]);
    for (int i = 0; i < src->nout; i++) {
        if (!src->out[i])
            continue;
        Value *v = ir_value_new(g, ir_sprintf(g->arena, "%s%s", src->out[i]->name, suffix));
        v->producer = n;
        n->out[i] = v;
        map_set(c, src->out[i], v);
    }
    return n;
}

/* A nested body: its nodes are copied (they read values this copy
 * renames); its formal inputs stay, to be bound when it is expanded. */
static Subgraph *clone_sub(CfCtx *c, const Subgraph *s, const char *suffix)
{
    Graph *g = c->g;
    Subgraph *t = ir_alloc(g->arena, sizeof *t);
    *t = *s;
    t->nodes = ir_alloc_array(g->arena, (size_t)s->nnodes, sizeof(Node *));
    for (int i = 0; i < s->nnodes; i++)
        t->nodes[i] = clone_node(c, s->nodes[i], suffix, true);
    t->out = ir_alloc_array(g->arena, (size_t)s->nout, sizeof(Value *));
    for (int i = 0; i < s->nout; i++)
        t->out[i] = mapped(c, s->out[i]);
    return t;
}

/* Splices a copy of s's nodes, guarded by `guard`, with its formal inputs
 * bound to actual[]; outs[] gets what the copy returns. */
/* s's nodes and those of every body nested in them (the frontend caps
 * the nesting depth). */
static int64_t sub_size(const Subgraph *s)
{
    int64_t n = s->nnodes;
    for (int i = 0; i < s->nnodes; i++)
        for (int a = 0; a < s->nodes[i]->nattr; a++)
            if (s->nodes[i]->attrs[a].sub)
                n += sub_size(s->nodes[i]->attrs[a].sub);
    return n;
}

static bool splice(CfCtx *c, const Subgraph *s, Value *const *actual, Value *guard,
                   const char *suffix, Value **outs)
{
    int64_t size = sub_size(s);
    if (c->spliced + s->nnodes > CF_MAX_SPLICED_NODES || c->copied + size > CF_MAX_COPIED_NODES) {
        diag_error(c->d, c->at, "expanding control flow makes more than %d nodes (the limit)",
                   c->spliced + s->nnodes > CF_MAX_SPLICED_NODES ? CF_MAX_SPLICED_NODES
                                                                 : CF_MAX_COPIED_NODES);
        return false;
    }
    c->spliced += s->nnodes;
    c->copied += size;
    map_reset(c);
    for (int i = 0; i < s->nin; i++)
        map_set(c, s->in[i], actual[i]);
    for (int i = 0; i < s->nnodes; i++) {
        Node *n = clone_node(c, s->nodes[i], suffix, false);
        n->guard = guard;
        pend(c, n);
    }
    for (int i = 0; i < s->nout; i++)
        outs[i] = mapped(c, s->out[i]);
    return true;
}

static const Subgraph *body(CfCtx *c, const Node *n, const char *attr)
{
    const Attr *a = ir_attr(n, attr);
    if (!a || !a->sub)
        diag_error(c->d, n, "attribute '%s' (a graph) is missing", attr);
    return a ? a->sub : NULL;
}

static bool one_bool(CfCtx *c, const Node *n, const Value *v, const char *what)
{
    if (v->dtype != DT_BOOL || ir_value_numel(v) != 1) {
        diag_error(c->d, n, "%s must be a bool of one element, not %s %s", what,
                   ir_dtype_name(v->dtype), ir_shape_str(c->g->arena, &v->shape));
        return false;
    }
    return true;
}

/* out = v, for a control node's output. */
static void forward(CfCtx *c, Value *v, Value *out)
{
    if (out)
        mk2(c, "Identity", v, NULL, out, NULL);
}

/* ---- If ---- */

static bool expand_if(CfCtx *c, Node *n)
{
    const Subgraph *t = body(c, n, "then_branch"), *e = body(c, n, "else_branch");
    if (!t || !e)
        return false;
    for (int b = 0; b < 2; b++) {
        const Subgraph *s = b ? e : t;
        if (s->nout != n->nout || s->nin != 0) {
            diag_error(c->d, n, "%s takes %d inputs and returns %d values; an If branch takes "
                       "none and returns one per output (%d)", b ? "else_branch" : "then_branch",
                       s->nin, s->nout, n->nout);
            return false;
        }
    }
    Value *cond = n->in[0];
    if (!one_bool(c, n, cond, "the condition"))
        return false;
    Value **to = ir_alloc_array(c->g->arena, (size_t)n->nout + 1, sizeof(Value *));
    Value **eo = ir_alloc_array(c->g->arena, (size_t)n->nout + 1, sizeof(Value *));
    if (cond->data) {   /* decided at compile time */
        const Subgraph *s = ir_const_i(cond, 0) ? t : e;
        if (!splice(c, s, NULL, n->guard, "", to))
            return false;
        for (int i = 0; i < n->nout; i++)
            forward(c, to[i], n->out[i]);
        return true;
    }
    Value *not_cond = mk2(c, "Not", cond, NULL, NULL, n->guard)->out[0];
    if (!splice(c, t, NULL, both(c, n->guard, cond), "", to) ||
        !splice(c, e, NULL, both(c, n->guard, not_cond), "", eo))
        return false;
    for (int i = 0; i < n->nout; i++) {
        if (!n->out[i])
            continue;
        Node *w = mk(c, "Where", 3, n->out[i], n->guard);
        w->in[0] = cond;
        w->in[1] = to[i];
        w->in[2] = eo[i];
        w->merge = true;
    }
    return true;
}

/* ---- Loop and Scan ---- */

static void add_piece(CfCtx *c, CfState *st, int k, Value *v)
{
    if (st->iter >= st->capscan) {
        int64_t cap = st->capscan ? st->capscan * 2 : 16;
        for (int j = 0; j < st->nscan; j++) {
            Value **p = ir_alloc_array(c->g->arena, (size_t)cap, sizeof(Value *));
            if (st->iter)
                memcpy(p, st->scan[j], (size_t)st->iter * sizeof(Value *));
            st->scan[j] = p;
        }
        st->capscan = cap;
    }
    st->scan[k][st->iter] = v;
}

/* Scan output k: the pieces stacked along `axis` (of the result), in
 * reverse order when `reverse`. */
static bool stack(CfCtx *c, Node *n, CfState *st, int k, int64_t axis, bool reverse, Value *out)
{
    if (!out)
        return true;
    if (st->iter == 0) {
        diag_error(c->d, n, "unsupported: scan output %d of a loop that runs no iteration "
                   "(its shape is unknown)", k);
        return false;
    }
    const Value *p0 = st->scan[k][0];
    int rank = p0->shape.rank + 1;
    if (axis < 0)
        axis += rank;
    if (axis < 0 || axis >= rank || rank > IR_MAX_RANK) {
        diag_error(c->d, n, "scan output %d: axis out of range for rank %d", k, rank);
        return false;
    }
    Value **parts = ir_alloc_array(c->g->arena, (size_t)st->iter, sizeof(Value *));
    for (int64_t i = 0; i < st->iter; i++) {
        Value *v = st->scan[k][reverse ? st->iter - 1 - i : i];
        if (v->shape.rank != p0->shape.rank) {
            diag_error(c->d, n, "scan output %d changes rank between iterations", k);
            return false;
        }
        int64_t dims[IR_MAX_RANK];
        for (int d = 0, s = 0; d < rank; d++)
            dims[d] = d == axis ? 1 : v->shape.dim[s++];
        parts[i] = mk2(c, "Reshape", v, const_i64(c, dims, rank, 1), NULL, n->guard)->out[0];
    }
    Node *cat = mk(c, "Concat", (int)st->iter, out, n->guard);
    cat->nattr = 1;
    cat->attrs = ir_alloc(c->g->arena, sizeof(Attr));
    cat->attrs[0].name = "axis";
    cat->attrs[0].type = ATTR_INT;
    cat->attrs[0].i = axis;
    memcpy(cat->in, parts, (size_t)st->iter * sizeof(Value *));
    return true;
}

static bool check_iteration_cap(CfCtx *c, Node *n, const CfState *st)
{
    if (st->iter >= CF_MAX_ITERATIONS) {
        diag_error(c->d, n, "unrolling stops at %d iterations (the limit)", CF_MAX_ITERATIONS);
        return false;
    }
    return true;
}

static CfState *new_state(CfCtx *c, int ncarried, Value *const *init, int nscan)
{
    CfState *st = ir_alloc(c->g->arena, sizeof *st);
    st->ncarried = ncarried;
    st->carried = ir_alloc_array(c->g->arena, (size_t)ncarried + 1, sizeof(Value *));
    for (int i = 0; i < ncarried; i++)
        st->carried[i] = init[i];
    st->nscan = nscan;
    st->scan = ir_alloc_array(c->g->arena, (size_t)nscan + 1, sizeof(Value **));
    return st;
}

/* Loop(M, cond, v...) with body(i, cond_in, v_in...) -> (cond_out, v_out..., scan...). */
static bool loop_start(CfCtx *c, Node *n)
{
    const Subgraph *b = body(c, n, "body");
    int nin = n->nin - n->ncapture;
    if (!b)
        return false;
    if (nin < 2) {
        diag_error(c->d, n, "Loop has %d inputs; it needs M and cond (either may be empty)", nin);
        return false;
    }
    int ncar = nin - 2, nscan = n->nout - ncar;
    if (nscan < 0 || b->nin != 2 + ncar || b->nout != 1 + ncar + nscan) {
        diag_error(c->d, n, "the body takes %d inputs and returns %d values; with %d loop-carried "
                   "values it must take %d and return %d", b->nin, b->nout, ncar, 2 + ncar,
                   1 + ncar + (nscan < 0 ? 0 : nscan));
        return false;
    }
    Value *m = n->in[0], *cond = n->in[1];
    if (m && (!(m->dtype == DT_INT64 || m->dtype == DT_INT32) || ir_value_numel(m) != 1)) {
        diag_error(c->d, n, "M must be an integer of one element");
        return false;
    }
    if (cond && !one_bool(c, n, cond, "cond"))
        return false;
    CfState *st = new_state(c, ncar, n->in + 2, nscan);
    st->bound = m && m->data ? (ir_const_i(m, 0) < 0 ? 0 : ir_const_i(m, 0)) : -1;
    Value *first = m && !m->data ? mk2(c, "Less", scalar_i64(c, 0), m, NULL, NULL)->out[0] : NULL;
    st->active = both(c, cond, first);  /* the loop's own state; n->guard applies on top */
    n->cf = st;
    return true;
}

/* Why a Loop's trip count is a run-time value: "input K 'NAME' is computed
 * at run time by ..." for M or cond, whichever is not constant; a graph
 * input gets the --freeze that binds it (tests/conformance/run.py reruns
 * such cases with it). */
static const char *runtime_because(CfCtx *c, const Node *n)
{
    for (int i = 0; i < 2; i++) {
        const Value *v = n->in[i];
        if (!v || v->data)
            continue;
        const Node *p = v->producer;
        if (!p && v->is_input)
            return ir_sprintf(c->g->arena, "input %d '%s' is a graph input fed at run time "
                                           "(bind its value with --freeze %s=FILE.pb)",
                              i, v->name, v->name);
        return ir_sprintf(c->g->arena, "input %d '%s' is computed at run time by %s", i, v->name,
                          p ? ir_sprintf(c->g->arena, "node %d '%s' (%s)", p->index, p->name,
                                         p->op_type)
                            : "no node");
    }
    return "the body's condition output is computed at run time";
}

static bool loop_finish(CfCtx *c, Node *n, CfState *st)
{
    if (st->guarded && st->nscan > 0) {
        diag_error(c->d, n, "unsupported: dynamic scan output length: %s (dlc's outputs have "
                   "static shapes)", runtime_because(c, n));
        return false;
    }
    for (int i = 0; i < st->ncarried; i++)
        forward(c, st->carried[i], n->out[i]);
    for (int k = 0; k < st->nscan; k++)
        if (!stack(c, n, st, k, 0, false, n->out[st->ncarried + k]))
            return false;
    /* Stopped by --loop-max while the loop may still want to run: the run
     * reports it rather than return what a shorter loop computed. */
    if (st->active && !st->active->data && c->loop_max > 0 && st->iter >= c->loop_max) {
        Graph *g = c->g;
        Value **p = ir_alloc_array(g->arena, (size_t)g->nchecks + 1, sizeof(Value *));
        if (g->nchecks)
            memcpy(p, g->checks, (size_t)g->nchecks * sizeof(Value *));
        p[g->nchecks++] = both(c, n->guard, st->active);  /* only if the loop ran at all */
        g->checks = p;
    }
    n->dead = true;
    return true;
}

static bool loop_step(CfCtx *c, Node *n, CfState *st)
{
    Value *active = st->active;
    if (const_false(active) || (st->bound >= 0 && st->iter >= st->bound))
        return loop_finish(c, n, st);
    Value *own = active && !active->data ? active : NULL;
    /* An iteration that runs at run time's discretion: --loop-max bounds
     * them; without it only a constant M small enough to unroll does (an
     * exporter's "while" is a Loop with M = INT64_MAX). */
    if (own && c->loop_max > 0 && st->iter >= c->loop_max)
        return loop_finish(c, n, st);
    if (own && c->loop_max <= 0 && (st->bound < 0 || st->bound > CF_MAX_ITERATIONS)) {
        diag_error(c->d, n, "unsupported: dynamic trip count: %s; a Loop needs a constant M or "
                   "a bound from --loop-max N", runtime_because(c, n));
        return false;
    }
    if (!check_iteration_cap(c, n, st))
        return false;
    const Subgraph *b = body(c, n, "body");
    st->guarded |= own != NULL;
    Value *guard = both(c, n->guard, own);
    Value **actual = ir_alloc_array(c->g->arena, (size_t)b->nin, sizeof(Value *));
    Value **outs = ir_alloc_array(c->g->arena, (size_t)b->nout, sizeof(Value *));
    actual[0] = scalar_i64(c, st->iter);
    actual[1] = active ? active : const_true_value(c);
    for (int i = 0; i < st->ncarried; i++)
        actual[2 + i] = st->carried[i];
    if (!splice(c, b, actual, guard, ir_sprintf(c->g->arena, "@%lld", (long long)st->iter), outs))
        return false;
    for (int i = 0; i < st->ncarried; i++) {
        if (!own) {     /* under n->guard alone: only read when it holds */
            st->carried[i] = outs[1 + i];
            continue;
        }
        Node *w = mk(c, "Where", 3, NULL, n->guard);
        w->in[0] = own;
        w->in[1] = outs[1 + i];
        w->in[2] = st->carried[i];
        w->merge = true;
        st->carried[i] = w->out[0];
    }
    for (int k = 0; k < st->nscan; k++)
        add_piece(c, st, k, outs[1 + st->ncarried + k]);
    st->iter++;
    Value *next = NULL;
    if (n->in[0] && !n->in[0]->data)
        next = mk2(c, "Less", scalar_i64(c, st->iter), n->in[0], NULL, NULL)->out[0];
    st->active = both(c, active, both(c, outs[0], next));   /* NULL: always true */
    return true;
}

/* Scan(state..., scan_in...) with body(state_in..., slice...) -> (state_out..., piece...). */
static int64_t attr_at(const Node *n, const char *name, int i, int64_t dflt)
{
    const Attr *a = ir_attr(n, name);
    return a && a->type == ATTR_INTS && i < a->n ? a->ints[i] : dflt;
}

static bool scan_start(CfCtx *c, Node *n)
{
    const Subgraph *b = body(c, n, "body");
    if (!b)
        return false;
    int nin = n->nin - n->ncapture;
    int64_t k = ir_attr_int(n, "num_scan_inputs", -1);
    if (k < 1 || k > nin) {
        diag_error(c->d, n, "num_scan_inputs is %lld; it must be 1 to %d", (long long)k, nin);
        return false;
    }
    int nstate = nin - (int)k, nscan = n->nout - nstate;
    if (nscan < 0 || b->nin != nin || b->nout != n->nout) {
        diag_error(c->d, n, "the body takes %d inputs and returns %d values; it must take %d "
                   "(states and slices) and return %d (states and scan outputs)", b->nin,
                   b->nout, nin, n->nout);
        return false;
    }
    CfState *st = new_state(c, nstate, n->in, nscan);
    st->bound = -1;
    for (int i = 0; i < k; i++) {
        const Value *v = n->in[nstate + i];
        int64_t axis = attr_at(n, "scan_input_axes", i, 0);
        if (axis < 0)
            axis += v->shape.rank;
        if (axis < 0 || axis >= v->shape.rank) {
            diag_error(c->d, n, "scan input %d: axis out of range for shape %s", i,
                       ir_shape_str(c->g->arena, &v->shape));
            return false;
        }
        if (st->bound >= 0 && v->shape.dim[axis] != st->bound) {
            diag_error(c->d, n, "scan inputs have different lengths (%lld, %lld)",
                       (long long)st->bound, (long long)v->shape.dim[axis]);
            return false;
        }
        st->bound = v->shape.dim[axis];
    }
    n->cf = st;
    return true;
}

static bool scan_step(CfCtx *c, Node *n, CfState *st)
{
    const Subgraph *b = body(c, n, "body");
    int nstate = st->ncarried, k = b->nin - nstate;
    if (st->iter >= st->bound) {
        for (int i = 0; i < nstate; i++)
            forward(c, st->carried[i], n->out[i]);
        for (int j = 0; j < st->nscan; j++)
            if (!stack(c, n, st, j, attr_at(n, "scan_output_axes", j, 0),
                       attr_at(n, "scan_output_directions", j, 0) != 0, n->out[nstate + j]))
                return false;
        n->dead = true;
        return true;
    }
    if (!check_iteration_cap(c, n, st))
        return false;
    Value **actual = ir_alloc_array(c->g->arena, (size_t)b->nin, sizeof(Value *));
    Value **outs = ir_alloc_array(c->g->arena, (size_t)b->nout, sizeof(Value *));
    for (int i = 0; i < nstate; i++)
        actual[i] = st->carried[i];
    for (int i = 0; i < k; i++) {
        Value *v = n->in[nstate + i];
        int64_t axis = attr_at(n, "scan_input_axes", i, 0);
        if (axis < 0)
            axis += v->shape.rank;
        bool reverse = attr_at(n, "scan_input_directions", i, 0) != 0;
        Node *gat = mk2(c, "Gather", v, scalar_i64(c, reverse ? st->bound - 1 - st->iter : st->iter),
                        NULL, n->guard);
        gat->nattr = 1;
        gat->attrs = ir_alloc(c->g->arena, sizeof(Attr));
        gat->attrs[0].name = "axis";
        gat->attrs[0].type = ATTR_INT;
        gat->attrs[0].i = axis;
        actual[nstate + i] = gat->out[0];
    }
    if (!splice(c, b, actual, n->guard, ir_sprintf(c->g->arena, "@%lld", (long long)st->iter),
                outs))
        return false;
    for (int i = 0; i < nstate; i++)
        st->carried[i] = outs[i];
    for (int j = 0; j < st->nscan; j++)
        add_piece(c, st, j, outs[nstate + j]);
    st->iter++;
    return true;
}

static Node *with_attr(CfCtx *c, Node *n, const char *name, AttrType t)
{
    Attr *a = ir_alloc_array(c->g->arena, (size_t)n->nattr + 1, sizeof(Attr));
    if (n->nattr)
        memcpy(a, n->attrs, (size_t)n->nattr * sizeof(Attr));
    a[n->nattr].name = name;
    a[n->nattr].type = t;
    n->attrs = a;
    n->nattr++;
    return n;
}

/* Scan-8 (opset 8): every input and output has a leading batch axis; each
 * batch element is a Scan-9 over that element's slices, and the results
 * are stacked again. */
static bool expand_scan8(CfCtx *c, Node *n)
{
    Graph *g = c->g;
    int nin = n->nin - n->ncapture;
    if (n->in[0]) {
        diag_error(c->d, n, "unsupported: Scan-8 with sequence_lens");
        return false;
    }
    if (nin < 2) {
        diag_error(c->d, n, "Scan has no state or scan inputs");
        return false;
    }
    int64_t batch = -1;
    for (int i = 1; i < nin; i++) {
        const Value *v = n->in[i];
        if (v->shape.rank < 1 || (batch >= 0 && v->shape.dim[0] != batch)) {
            diag_error(c->d, n, "input %d '%s' %s: Scan-8 inputs share a leading batch axis", i,
                       v->name, ir_shape_str(g->arena, &v->shape));
            return false;
        }
        batch = v->shape.dim[0];
    }
    if (batch == 0) {
        diag_error(c->d, n, "unsupported: Scan-8 over an empty batch");
        return false;
    }
    if (batch > CF_MAX_ITERATIONS) {    /* one Scan per batch element */
        diag_error(c->d, n, "Scan-8 over a batch of %lld: unrolling stops at %d (the limit)",
                   (long long)batch, CF_MAX_ITERATIONS);
        return false;
    }
    Value ***per = ir_alloc_array(g->arena, (size_t)n->nout + 1, sizeof(Value **));
    for (int j = 0; j < n->nout; j++)
        per[j] = ir_alloc_array(g->arena, (size_t)batch, sizeof(Value *));
    const Attr *dirs = ir_attr(n, "directions");
    for (int64_t b = 0; b < batch; b++) {
        Node *s = ir_node_alloc(g, "Scan", nin - 1 + n->ncapture, n->nout);
        s->op = row(g, "Scan");
        s->index = n->index;
        s->name = ir_sprintf(g->arena, "%s@batch%lld", label(n), (long long)b);
        s->guard = n->guard;
        s->ncapture = n->ncapture;
        for (int i = 1; i < nin; i++) {
            Node *gat = mk2(c, "Gather", n->in[i], scalar_i64(c, b), NULL, n->guard);
            with_attr(c, gat, "axis", ATTR_INT)->attrs[0].i = 0;
            s->in[i - 1] = gat->out[0];
        }
        for (int i = 0; i < n->ncapture; i++)
            s->in[nin - 1 + i] = n->in[nin + i];
        s->attrs = ir_alloc_array(g->arena, 3, sizeof(Attr));
        s->attrs[0] = *ir_attr(n, "body");
        s->attrs[1].name = "num_scan_inputs";
        s->attrs[1].type = ATTR_INT;
        s->attrs[1].i = ir_attr_int(n, "num_scan_inputs", -1);
        s->nattr = 2;
        if (dirs) {
            s->attrs[2] = *dirs;
            s->attrs[2].name = "scan_input_directions";
            s->nattr = 3;
        }
        for (int j = 0; j < n->nout; j++) {
            s->out[j] = ir_value_new(g, ir_sprintf(g->arena, "%s@batch%lld", s->name, (long long)j));
            s->out[j]->producer = s;
            per[j][b] = s->out[j];
        }
        pend(c, s);
    }
    static const int64_t zero = 0;
    for (int j = 0; j < n->nout; j++) {
        if (!n->out[j])
            continue;
        Value **parts = ir_alloc_array(g->arena, (size_t)batch, sizeof(Value *));
        for (int64_t b = 0; b < batch; b++)
            parts[b] = mk2(c, "Unsqueeze", per[j][b], const_i64(c, &zero, 1, 1), NULL,
                           n->guard)->out[0];
        Node *cat = mk(c, "Concat", (int)batch, n->out[j], n->guard);
        with_attr(c, cat, "axis", ATTR_INT)->attrs[0].i = 0;
        memcpy(cat->in, parts, (size_t)batch * sizeof(Value *));
    }
    return true;
}

bool cf_expand(CfCtx *c, int pos, Diag *d)
{
    Graph *g = c->g;
    Node *n = g->nodes[pos];
    c->at = n;
    c->d = d;
    c->npending = 0;
    /* Only Loop's M and cond and Scan-8's sequence_lens may be omitted. */
    int first = match_role(n, OP_ROLE_LOOP) ? 2
              : match_role(n, OP_ROLE_SCAN) && n->op->until && n->op->until < 9 ? 1 : 0;
    for (int i = first; i < n->nin; i++)
        if (!n->in[i]) {
            diag_error(d, n, "input %d is missing (only optional inputs may be empty)", i);
            n->dead = true;
            return false;
        }
    bool ok;
    if (match_role(n, OP_ROLE_IF)) {
        ok = expand_if(c, n);
        n->dead = ok;
    } else if (match_role(n, OP_ROLE_SCAN) && n->op->until && n->op->until < 9) {  /* Scan-8 */
        ok = expand_scan8(c, n);
        n->dead = ok;
    } else if (match_role(n, OP_ROLE_LOOP)) {
        ok = n->cf ? loop_step(c, n, n->cf) : loop_start(c, n);
    } else {
        ok = n->cf ? scan_step(c, n, n->cf) : scan_start(c, n);
    }
    if (!ok) {
        n->dead = true;     /* its outputs stay untyped: nothing after it cascades */
        c->npending = 0;
        return false;
    }
    ir_insert_nodes(g, pos, c->pending, c->npending);
    c->npending = 0;
    return true;
}

bool cf_check_merge(const Node *n, Diag *d)
{
    const Value *cond = n->in[0], *a = n->in[1], *b = n->in[2];
    if (a->dtype != b->dtype || !ir_shape_equal(&a->shape, &b->shape) ||
        cond->shape.rank > a->shape.rank) {
        Arena *ar = n->graph->arena;
        diag_error(d, n, "unsupported: the two ways through this control flow give %s %s and "
                   "%s %s; dlc needs one static shape (a branch's result, or a loop-carried "
                   "value that changes shape in an iteration that runs at run time's discretion)",
                   ir_dtype_name(a->dtype), ir_shape_str(ar, &a->shape), ir_dtype_name(b->dtype),
                   ir_shape_str(ar, &b->shape));
        return false;
    }
    return true;
}
