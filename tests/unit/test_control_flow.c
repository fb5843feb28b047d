/* passes/control_flow.c on small graphs built in code: If folded on a
 * constant condition, If guarded on a run-time one (fusion stays inside a
 * guard), Loop unrolled with a constant trip count (values checked against
 * a C loop), a run-time trip count refused without a bound and guarded
 * with one, Scan stacking its outputs. */
#include "check.h"
#include "ir/loop.h"
#include "passes/passes.h"

#include <math.h>
#include <string.h>

#define N 6

static FILE *devnull;

static Value *tensor(Graph *g, const char *name, DType dt, int rank, int64_t n)
{
    Value *v = ir_value_new(g, name);
    v->dtype = dt;
    v->has_type = true;
    v->shape.rank = rank;
    v->shape.dim[0] = n;
    return v;
}

static Value *input(Graph *g, Value *v)
{
    v->is_input = true;
    Value **ins = ir_alloc_array(g->arena, (size_t)g->ninputs + 1, sizeof(Value *));
    if (g->ninputs)
        memcpy(ins, g->inputs, (size_t)g->ninputs * sizeof(Value *));
    ins[g->ninputs++] = v;
    g->inputs = ins;
    return v;
}

static Value *fconst(Graph *g, const char *name, const float *x)
{
    Value *v = tensor(g, name, DT_FLOAT, 1, N);
    float *p = ir_alloc(g->arena, N * sizeof *p);
    memcpy(p, x, N * sizeof *p);
    v->data = p;
    return v;
}

static Value *iconst(Graph *g, const char *name, int64_t x)
{
    Value *v = tensor(g, name, DT_INT64, 0, 0);
    int64_t *p = ir_alloc(g->arena, sizeof *p);
    *p = x;
    v->data = p;
    return v;
}

static void output(Graph *g, Value *y)
{
    g->outputs = ir_alloc_array(g->arena, 1, sizeof(Value *));
    g->outputs[0] = y;
    y->output_index = 0;
    g->noutputs = 1;
}

/* A subgraph node: not in g->nodes. */
static Node *snode(Graph *g, const char *op, Value *a, Value *b, Value *out)
{
    Node *n = ir_node_alloc(g, op, b ? 2 : 1, 1);
    n->name = op;
    n->in[0] = a;
    if (b)
        n->in[1] = b;
    n->out[0] = out;
    return n;
}

static Subgraph *sub(Graph *g, int nin, Value **in, int nnodes, Node **nodes, int nout,
                     Value **out)
{
    Subgraph *s = ir_alloc(g->arena, sizeof *s);
    s->name = "body";
    s->nin = nin;
    s->in = in;
    s->nnodes = nnodes;
    s->nodes = nodes;
    s->nout = nout;
    s->out = out;
    return s;
}

static void graph_attr(Graph *g, Node *n, int i, const char *name, Subgraph *s)
{
    n->attrs[i].name = name;
    n->attrs[i].type = ATTR_GRAPH;
    n->attrs[i].sub = s;
    (void)g;
}

static bool run(Graph *g, int64_t loop_max)
{
    Diag d;
    diag_init(&d, g->file);
    d.out = devnull;
    PassOptions o;
    memset(&o, 0, sizeof o);
    o.loop_max = loop_max;
    g->opset = 17;
    PlanStats st;
    return pass_pipeline(g, &o, &st, &d);
}

static const float X[N] = {-2.0f, -0.5f, 0.0f, 0.25f, 1.5f, 3.0f};

/* If(cond){ Neg(x) } else { Relu(x) }, x read from the outer scope. */
static Node *if_node(Graph *g, Value *cond, Value *x, Value *y)
{
    Value *t = ir_value_new(g, "t"), *t2 = ir_value_new(g, "t2"), *e = ir_value_new(g, "e");
    Node **tn = ir_alloc_array(g->arena, 2, sizeof(Node *));
    tn[0] = snode(g, "Neg", x, NULL, t);
    tn[1] = snode(g, "Sigmoid", t, NULL, t2);
    Node **en = ir_alloc_array(g->arena, 1, sizeof(Node *));
    en[0] = snode(g, "Relu", x, NULL, e);
    Value **to = ir_alloc_array(g->arena, 1, sizeof(Value *)),
          **eo = ir_alloc_array(g->arena, 1, sizeof(Value *));
    to[0] = t2;
    eo[0] = e;
    Node *n = ir_node_new(g, "If", 2, 1);
    n->name = "if";
    n->in[0] = cond;
    n->in[1] = x;       /* captured */
    n->ncapture = 1;
    n->out[0] = y;
    n->nattr = 2;
    n->attrs = ir_alloc_array(g->arena, 2, sizeof(Attr));
    graph_attr(g, n, 0, "then_branch", sub(g, 0, NULL, 2, tn, 1, to));
    graph_attr(g, n, 1, "else_branch", sub(g, 0, NULL, 1, en, 1, eo));
    return n;
}

static void test_if_constant(void)
{
    for (int c = 0; c < 2; c++) {
        Graph *g = ir_graph_new("if_const.onnx");
        Value *cond = tensor(g, "cond", DT_BOOL, 0, 0);
        cond->data = ir_alloc(g->arena, 1);
        ((uint8_t *)cond->data)[0] = (uint8_t)c;
        Value *x = fconst(g, "x", X), *y = ir_value_new(g, "y");
        if_node(g, cond, x, y);
        output(g, y);
        CHECK(run(g, 0));
        CHECK(y->data != NULL);     /* folded: the branch taken read constants */
        for (int i = 0; y->data && i < N; i++) {
            float want = c ? 1.0f / (1.0f + expf(X[i])) : (X[i] > 0 ? X[i] : 0.0f);
            CHECK(fabsf(((float *)y->data)[i] - want) < 1e-6f);
        }
        ir_graph_free(g);
    }
}

static void test_if_runtime(void)
{
    Graph *g = ir_graph_new("if_run.onnx");
    Value *cond = input(g, tensor(g, "cond", DT_BOOL, 0, 0));
    Value *x = input(g, tensor(g, "x", DT_FLOAT, 1, N)), *y = ir_value_new(g, "y");
    if_node(g, cond, x, y);
    output(g, y);
    CHECK(run(g, 0));
    int guarded = 0, merges = 0;
    for (int i = 0; i < g->nnodes; i++) {
        Node *n = g->nodes[i];
        guarded += n->guard != NULL;
        merges += n->merge;
        /* Neg and Sigmoid share a guard and fuse; nothing fuses across one. */
        if (n->guard == cond)
            CHECK(n->fused_ops && strcmp(n->fused_ops, "Neg+Sigmoid") == 0);
        if (n->merge)
            CHECK(!n->guard && !n->fused_ops);
    }
    CHECK_EQ(2, guarded);   /* then (on cond) and else (on Not(cond)) */
    CHECK_EQ(1, merges);
    ir_graph_free(g);
}

/* Loop(M, "", s0) with body(i, c, s) -> (c, s + x, s + x): y = s0 + M x,
 * scan output k = s0 + (k + 1) x. */
static Node *loop_node(Graph *g, Value *m, Value *s0, Value *x, Value *y, Value *scan)
{
    Value **bi = ir_alloc_array(g->arena, 3, sizeof(Value *));
    bi[0] = tensor(g, "i", DT_INT64, 0, 0);
    bi[1] = tensor(g, "c", DT_BOOL, 0, 0);
    bi[2] = tensor(g, "s", DT_FLOAT, 1, N);
    Value *so = ir_value_new(g, "s_out");
    Node **bn = ir_alloc_array(g->arena, 1, sizeof(Node *));
    bn[0] = snode(g, "Add", bi[2], x, so);
    Value **bo = ir_alloc_array(g->arena, 3, sizeof(Value *));
    bo[0] = bi[1];
    bo[1] = so;
    bo[2] = so;
    Node *n = ir_node_new(g, "Loop", 4, scan ? 2 : 1);
    n->name = "loop";
    n->in[0] = m;
    n->in[1] = NULL;
    n->in[2] = s0;
    n->in[3] = x;
    n->ncapture = 1;
    n->out[0] = y;
    if (scan)
        n->out[1] = scan;
    n->nattr = 1;
    n->attrs = ir_alloc_array(g->arena, 1, sizeof(Attr));
    graph_attr(g, n, 0, "body", sub(g, 3, bi, 1, bn, scan ? 3 : 2, bo));
    return n;
}

static void test_loop_constant(void)
{
    static const float S0[N] = {1, 2, 3, 4, 5, 6};
    Graph *g = ir_graph_new("loop_const.onnx");
    Value *y = ir_value_new(g, "y"), *scan = ir_value_new(g, "scan");
    loop_node(g, iconst(g, "M", 3), fconst(g, "s0", S0), fconst(g, "x", X), y, scan);
    Value **outs = ir_alloc_array(g->arena, 2, sizeof(Value *));
    outs[0] = y;
    outs[1] = scan;
    y->output_index = 0;
    scan->output_index = 1;
    g->outputs = outs;
    g->noutputs = 2;
    CHECK(run(g, 0));
    CHECK(y->data && scan->data);
    CHECK_EQ(2, scan->shape.rank);
    CHECK_EQ(3, scan->shape.dim[0]);
    float s[N];
    memcpy(s, S0, sizeof s);
    for (int k = 0; k < 3 && scan->data; k++)
        for (int i = 0; i < N; i++) {
            s[i] += X[i];
            CHECK(((float *)scan->data)[k * N + i] == s[i]);
        }
    for (int i = 0; y->data && i < N; i++)
        CHECK(((float *)y->data)[i] == s[i]);
    ir_graph_free(g);
}

static void test_loop_runtime(void)
{
    for (int bounded = 0; bounded < 2; bounded++) {
        Graph *g = ir_graph_new("loop_run.onnx");
        Value *m = input(g, tensor(g, "M", DT_INT64, 0, 0));
        Value *s0 = input(g, tensor(g, "s0", DT_FLOAT, 1, N));
        Value *x = input(g, tensor(g, "x", DT_FLOAT, 1, N)), *y = ir_value_new(g, "y");
        loop_node(g, m, s0, x, y, NULL);
        output(g, y);
        bool ok = run(g, bounded ? 4 : 0);
        CHECK(ok == (bounded != 0));    /* no bound: refused */
        if (!ok) {
            ir_graph_free(g);
            continue;
        }
        /* Four iterations, each guarded by its own condition; the Adds stay
         * apart from the merges that select the carried value. */
        int guards = 0, merges = 0;
        const Value *seen[8] = {NULL};
        for (int i = 0; i < g->nnodes; i++) {
            Node *n = g->nodes[i];
            /* the last merge may absorb the copy into the graph output */
            merges += n->merge || (n->fused_ops && strstr(n->fused_ops, "Where"));
            if (n->fused_ops)
                CHECK(!strstr(n->fused_ops, "Add+Where"));
            bool fresh = n->guard != NULL;
            for (int k = 0; k < guards; k++)
                fresh &= seen[k] != n->guard;
            if (fresh && guards < 8)
                seen[guards++] = n->guard;
        }
        CHECK_EQ(4, guards);
        CHECK_EQ(4, merges);
        ir_graph_free(g);
    }
}

/* Scan(s0, x[3, N]) with body(s, xt) -> (s + xt, s + xt): a cumulative sum. */
static void test_scan(void)
{
    static const float XS[3 * N] = {1, 2, 3, 4, 5, 6, -1, -2, -3, -4, -5, -6, 0.5f, 0.5f, 0.5f,
                                    0.5f, 0.5f, 0.5f};
    Graph *g = ir_graph_new("scan.onnx");
    Value *s0 = fconst(g, "s0", X);
    Value *xs = tensor(g, "xs", DT_FLOAT, 2, 3);
    xs->shape.dim[1] = N;
    xs->data = ir_alloc(g->arena, sizeof XS);
    memcpy(xs->data, XS, sizeof XS);
    Value **bi = ir_alloc_array(g->arena, 2, sizeof(Value *));
    bi[0] = tensor(g, "s", DT_FLOAT, 1, N);
    bi[1] = tensor(g, "xt", DT_FLOAT, 1, N);
    Value *so = ir_value_new(g, "s_out");
    Node **bn = ir_alloc_array(g->arena, 1, sizeof(Node *));
    bn[0] = snode(g, "Add", bi[0], bi[1], so);
    Value **bo = ir_alloc_array(g->arena, 2, sizeof(Value *));
    bo[0] = so;
    bo[1] = so;
    Value *last = ir_value_new(g, "last"), *cum = ir_value_new(g, "cum");
    Node *n = ir_node_new(g, "Scan", 2, 2);
    n->in[0] = s0;
    n->in[1] = xs;
    n->out[0] = last;
    n->out[1] = cum;
    n->nattr = 2;
    n->attrs = ir_alloc_array(g->arena, 2, sizeof(Attr));
    graph_attr(g, n, 0, "body", sub(g, 2, bi, 1, bn, 2, bo));
    n->attrs[1].name = "num_scan_inputs";
    n->attrs[1].type = ATTR_INT;
    n->attrs[1].i = 1;
    output(g, cum);
    CHECK(run(g, 0));
    CHECK(cum->data != NULL);
    float s[N];
    memcpy(s, X, sizeof s);
    for (int k = 0; k < 3 && cum->data; k++)
        for (int i = 0; i < N; i++) {
            s[i] += XS[k * N + i];
            CHECK(((float *)cum->data)[k * N + i] == s[i]);
        }
    ir_graph_free(g);
}

int main(void)
{
    devnull = fopen("/dev/null", "w");
    test_if_constant();
    test_if_runtime();
    test_loop_constant();
    test_loop_runtime();
    test_scan();
    fclose(devnull);
    return check_report("test_control_flow");
}
