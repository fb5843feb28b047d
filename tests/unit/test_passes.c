/* Passes on small graphs built in code: folding, DCE, fusion, and the
 * memory planner's invariants on random graphs. */
#include "check.h"
#include "ir/loop.h"
#include "passes/passes.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static FILE *devnull;

static Value *tensor(Graph *g, const char *name, int64_t n, bool input)
{
    Value *v = ir_value_new(g, name);
    v->dtype = DT_FLOAT;
    v->has_type = true;
    v->shape.rank = 1;
    v->shape.dim[0] = n;
    v->is_input = input;
    return v;
}

static Value *constant(Graph *g, const char *name, int64_t n, float start)
{
    Value *v = tensor(g, name, n, false);
    float *p = ir_alloc(g->arena, (size_t)n * sizeof *p);
    for (int64_t i = 0; i < n; i++)
        p[i] = start + (float)i * 0.5f;
    v->data = p;
    return v;
}

static Node *node(Graph *g, const char *op, Value *a, Value *b, Value *out)
{
    Node *n = ir_node_new(g, op, b ? 2 : 1, 1);
    n->name = ir_sprintf(g->arena, "%s%d", op, g->nnodes);
    n->in[0] = a;
    if (b)
        n->in[1] = b;
    n->out[0] = out;
    return n;
}

static void set_outputs(Graph *g, Value **outs, int n)
{
    g->outputs = ir_alloc_array(g->arena, (size_t)n, sizeof(Value *));
    for (int i = 0; i < n; i++) {
        g->outputs[i] = outs[i];
        outs[i]->output_index = i;
    }
    g->noutputs = n;
}

static void set_inputs(Graph *g, Value **ins, int n)
{
    g->inputs = ir_alloc_array(g->arena, (size_t)n, sizeof(Value *));
    for (int i = 0; i < n; i++)
        g->inputs[i] = ins[i];
    g->ninputs = n;
}

static bool run(Graph *g, bool fuse, PlanStats *st)
{
    Diag d;
    diag_init(&d, g->file);
    d.out = devnull;
    PassOptions o;
    memset(&o, 0, sizeof o);
    o.no_fuse = !fuse;
    g->opset = 13;
    return pass_pipeline(g, &o, st, &d);
}

/* Add(c1, c2) folds to a constant holding c1 + c2. */
static void test_constant_folding(void)
{
    Graph *g = ir_graph_new("fold.onnx");
    Value *c1 = constant(g, "c1", 5, 1.0f), *c2 = constant(g, "c2", 5, -3.0f);
    Value *y = ir_value_new(g, "y");
    node(g, "Add", c1, c2, y);
    set_outputs(g, &y, 1);
    PlanStats st;
    CHECK(run(g, true, &st));
    CHECK_EQ(0, ir_live_nodes(g));
    CHECK(y->data != NULL);
    for (int i = 0; y->data && i < 5; i++)
        CHECK(((float *)y->data)[i] == (1.0f + i * 0.5f) + (-3.0f + i * 0.5f));
    ir_graph_free(g);
}

/* x -> Add(b) -> Relu -> Sigmoid -> y fuses into one loop; an unused
 * branch disappears. */
static void test_fusion_and_dce(void)
{
    Graph *g = ir_graph_new("fuse.onnx");
    Value *x = tensor(g, "x", 8, true), *b = constant(g, "b", 8, 0.0f);
    Value *s = ir_value_new(g, "s"), *r = ir_value_new(g, "r"), *y = ir_value_new(g, "y");
    Value *unused = ir_value_new(g, "unused");
    node(g, "Add", x, b, s);
    node(g, "Relu", s, NULL, r);
    node(g, "Neg", x, NULL, unused);
    node(g, "Sigmoid", r, NULL, y);
    set_inputs(g, &x, 1);
    set_outputs(g, &y, 1);
    PlanStats st;
    CHECK(run(g, true, &st));
    CHECK_EQ(1, ir_live_nodes(g));
    Node *n = g->nodes[0];
    CHECK(n->kernel && n->kernel->elementwise);
    CHECK(n->fused_ops && strcmp(n->fused_ops, "Add+Relu+Sigmoid") == 0);
    CHECK_EQ(0, st.arena_bytes);
    ir_graph_free(g);
}

/* y[4,32] = x[4,32] + b[4,1]: a loop over rows around a contiguous loop
 * over columns, the row's b read once before it (split-broadcast). */
static void test_split_broadcast(void)
{
    Graph *g = ir_graph_new("split.onnx");
    Value *x = tensor(g, "x", 128, true), *b = tensor(g, "b", 4, true);
    Value *y = ir_value_new(g, "y");
    x->shape.rank = 2, x->shape.dim[0] = 4, x->shape.dim[1] = 32;
    b->shape.rank = 2, b->shape.dim[0] = 4, b->shape.dim[1] = 1;
    node(g, "Add", x, b, y);
    Value *ins[2] = {x, b};
    set_inputs(g, ins, 2);
    set_outputs(g, &y, 1);
    PlanStats st;
    CHECK(run(g, true, &st));
    CHECK_EQ(1, ir_live_nodes(g));
    LKernel *k = g->nodes[0]->kernel;
    CHECK(k && !k->elementwise && k->root->n == 1);
    LStmt *outer = k && k->root->n == 1 ? k->root->body[0] : NULL;
    CHECK(outer && outer->kind == LS_FOR && outer->extent == 4 && outer->n == 2);
    if (outer && outer->n == 2) {
        CHECK(outer->body[0]->kind == LS_ASSIGN);
        CHECK(outer->body[1]->kind == LS_FOR && outer->body[1]->extent == 32);
    }
    ir_graph_free(g);
}

/* A chain of unary ops runs in place: one buffer for every intermediate. */
static void test_inplace_chain(void)
{
    Graph *g = ir_graph_new("chain.onnx");
    Value *x = tensor(g, "x", 1000, true), *cur = x;
    for (int i = 0; i < 6; i++) {
        Value *nx = ir_value_new(g, ir_sprintf(g->arena, "v%d", i));
        node(g, i % 2 ? "Relu" : "Tanh", cur, NULL, nx);
        cur = nx;
    }
    set_inputs(g, &x, 1);
    set_outputs(g, &cur, 1);
    PlanStats st;
    CHECK(run(g, false, &st));
    CHECK_EQ(6, ir_live_nodes(g));
    CHECK_EQ(4032, st.arena_bytes);              /* one 4000-byte tensor, 64-aligned */
    CHECK_EQ(5 * 4032, st.naive_bytes);
    ir_graph_free(g);
}

/* v = Tanh(x); w = Neg(v); y = Add(v, w): Neg must not overwrite v, which
 * Add still reads. */
static void test_no_inplace_over_live_value(void)
{
    Graph *g = ir_graph_new("live.onnx");
    Value *x = tensor(g, "x", 100, true);
    Value *v = ir_value_new(g, "v"), *w = ir_value_new(g, "w"), *y = ir_value_new(g, "y");
    node(g, "Tanh", x, NULL, v);
    node(g, "Neg", v, NULL, w);
    node(g, "Add", v, w, y);
    set_inputs(g, &x, 1);
    set_outputs(g, &y, 1);
    PlanStats st;
    CHECK(run(g, false, &st));
    CHECK(v->offset >= 0 && w->offset >= 0);
    CHECK(v->offset != w->offset);
    ir_graph_free(g);
}

static unsigned rng_state = 12345;

static unsigned rnd(unsigned n)
{
    rng_state = rng_state * 1103515245u + 12345u;
    return (rng_state >> 16) % n;
}

static Value *root(Value *v)
{
    return v->alias ? v->alias : v;
}

/* Random DAGs: any two arena tensors alive at the same node occupy
 * disjoint bytes, unless one was written in place over the other. */
static void test_planner_random(int seed)
{
    rng_state = (unsigned)seed;
    Graph *g = ir_graph_new("random.onnx");
    enum { N = 60 };
    Value *vals[N + 2];
    int nv = 0;
    Value *ins[2] = {tensor(g, "x0", 256, true), tensor(g, "x1", 256, true)};
    vals[nv++] = ins[0];
    vals[nv++] = ins[1];
    static const char *unary[] = {"Relu", "Tanh", "Neg"};
    static const char *binary[] = {"Add", "Mul", "Sub"};
    for (int i = 0; i < N; i++) {
        Value *out = ir_value_new(g, ir_sprintf(g->arena, "t%d", i));
        /* Mostly recent values, sometimes old ones: long lifetimes. */
        Value *a = vals[nv - 1 - (int)rnd(nv < 4 ? (unsigned)nv : 4u)];
        if (rnd(3) == 0) {
            node(g, unary[rnd(3)], a, NULL, out);
        } else {
            Value *b = vals[rnd((unsigned)nv)];
            node(g, binary[rnd(3)], a, b, out);
        }
        vals[nv++] = out;
    }
    Value *outs[3] = {vals[nv - 1], vals[nv - 7], vals[nv / 2]};
    set_inputs(g, ins, 2);
    set_outputs(g, outs, 3);
    PlanStats st;
    CHECK(run(g, false, &st));
    CHECK(st.arena_bytes <= st.naive_bytes);
    /* Lifetimes measured here, independently of the planner. */
    int first[4 * N], last[4 * N];
    CHECK(g->nvalues <= 4 * N);
    for (int i = 0; i < g->nvalues; i++)
        first[i] = last[i] = -1;
    for (int p = 0; p < g->nnodes; p++) {
        Node *n = g->nodes[p];
        for (int j = 0; j < n->nin; j++)
            if (n->in[j])
                last[n->in[j]->id] = p;
        first[n->out[0]->id] = p;
        if (last[n->out[0]->id] < p)
            last[n->out[0]->id] = p;
    }
    int checked = 0;
    for (int i = 0; i < g->nvalues; i++) {
        Value *u = g->values[i];
        if (u->offset < 0)
            continue;
        CHECK(u->offset + (int64_t)ir_value_bytes(u) <= st.arena_bytes);
        CHECK(u->offset % 64 == 0);
        for (int j = i + 1; j < g->nvalues; j++) {
            Value *v = g->values[j];
            if (v->offset < 0)
                continue;
            int lo = first[i] > first[j] ? first[i] : first[j];
            int hi = last[i] < last[j] ? last[i] : last[j];
            bool alive_together = lo <= hi;
            bool bytes_overlap = u->offset < v->offset + (int64_t)ir_value_bytes(v) &&
                                 v->offset < u->offset + (int64_t)ir_value_bytes(u);
            /* Sharing bytes while alive is legal only for an in-place write:
             * one is born at the node where the other is read for the last time. */
            bool inplace = lo == hi && (first[i] == last[j] || first[j] == last[i]);
            if (alive_together && bytes_overlap && !inplace)
                fprintf(stderr, "seed %d: '%s' [%d,%d] and '%s' [%d,%d] share bytes\n", seed,
                        u->name, first[i], last[i], v->name, first[j], last[j]);
            CHECK(!(alive_together && bytes_overlap && !inplace));
            CHECK(root(u) == root(v) || !(alive_together && bytes_overlap));
            checked++;
        }
    }
    CHECK(checked > 20);
    ir_graph_free(g);
}

int main(void)
{
    devnull = fopen("/dev/null", "w");
    test_split_broadcast();
    test_constant_folding();
    test_fusion_and_dce();
    test_inplace_chain();
    test_no_inplace_over_live_value();
    for (int seed = 1; seed <= 20; seed++)
        test_planner_random(seed);
    fclose(devnull);
    return check_report("test_passes");
}
