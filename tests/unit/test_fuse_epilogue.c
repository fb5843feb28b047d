/* Epilogue fusion (passes/fuse_epilogue.c) on small graphs built in code:
 * what fuses into Conv/Gemm/MatMul and what must not, and the loop-IR
 * epilogue (lw_apply_epilogue) against the runtime's rt_epilogue_block.
 *
 * The fusion tests give the Conv/Gemm/MatMul rows OPF_EPILOGUE themselves
 * (copies of the rows), so they test the pattern matching whether or not
 * the real lowerings honour n->epi yet; numbers through whole models are
 * the model tests' job. */
#include "check.h"
#include "ir/loop.h"
#include "ops/ops.h"
#include "passes/passes.h"
#include "runtime/rt.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static FILE *devnull;

static Value *tensor(Graph *g, const char *name, const int64_t *dims, int rank)
{
    Value *v = ir_value_new(g, name);
    v->dtype = DT_FLOAT;
    v->has_type = true;
    v->shape.rank = rank;
    for (int i = 0; i < rank; i++)
        v->shape.dim[i] = dims[i];
    return v;
}

static Value *input(Graph *g, const char *name, const int64_t *dims, int rank)
{
    Value *v = tensor(g, name, dims, rank);
    v->is_input = true;
    Value **ins = ir_alloc_array(g->arena, (size_t)g->ninputs + 1, sizeof(Value *));
    for (int i = 0; i < g->ninputs; i++)
        ins[i] = g->inputs[i];
    ins[g->ninputs++] = v;
    g->inputs = ins;
    return v;
}

static unsigned rng_state = 7;

static float rnd(void)
{
    rng_state = rng_state * 1103515245u + 12345u;
    return (float)((rng_state >> 8) & 0xffff) / 32768.0f - 1.0f;   /* [-1, 1) */
}

static Value *constant(Graph *g, const char *name, const int64_t *dims, int rank)
{
    Value *v = tensor(g, name, dims, rank);
    int64_t n = ir_value_numel(v);
    float *p = ir_alloc(g->arena, (size_t)(n ? n : 1) * sizeof *p);
    for (int64_t i = 0; i < n; i++)
        p[i] = rnd();
    v->data = p;
    return v;
}

static Value *scalar(Graph *g, float x)
{
    Value *v = tensor(g, "k", NULL, 0);
    float *p = ir_alloc(g->arena, sizeof *p);
    *p = x;
    v->data = p;
    return v;
}

/* A node reading a (b, c when not NULL), with one fresh output. */
static Value *op(Graph *g, const char *type, Value *a, Value *b, Value *c)
{
    int nin = c ? 3 : b ? 2 : 1;
    Node *n = ir_node_new(g, type, nin, 1);
    n->name = ir_sprintf(g->arena, "%s_%d", type, g->nnodes);
    n->in[0] = a;
    if (b)
        n->in[1] = b;
    if (c)
        n->in[2] = c;
    n->out[0] = ir_value_new(g, ir_sprintf(g->arena, "%s_out", n->name));
    return n->out[0];
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

/* The passes before fuse-epilogue, then (with `flag`) the Conv/Gemm/MatMul
 * rows marked OPF_EPILOGUE, then the pass itself. */
static bool prepare_and_fuse(Graph *g, int64_t opset, bool flag)
{
    Diag d;
    diag_init(&d, g->file);
    d.out = devnull;
    PassOptions o;
    memset(&o, 0, sizeof o);
    g->opset = opset;
    bool ok = pass_resolve(g, &d) && ir_verify(g, &d) && pass_bind_inputs(g, &o, &d) &&
              pass_infer_fold(g, &d) && pass_simplify(g, &d) && pass_fold_batchnorm(g, &d) &&
              pass_dce(g, &d);
    if (!ok)
        return false;
    for (int i = 0; i < g->nnodes && flag; i++) {
        Node *n = g->nodes[i];
        if (strcmp(n->op_type, "Conv") && strcmp(n->op_type, "Gemm") && strcmp(n->op_type, "MatMul"))
            continue;
        OpDesc *row = ir_alloc(g->arena, sizeof *row);
        *row = *n->op;
        row->flags |= OPF_EPILOGUE;
        n->op = row;
    }
    return pass_fuse_epilogue(g, &d) && d.nerrors == 0;
}

static Node *only_node(Graph *g, const char *op_type)
{
    Node *found = NULL;
    for (int i = 0; i < g->nnodes; i++)
        if (!g->nodes[i]->dead && strcmp(g->nodes[i]->op_type, op_type) == 0)
            found = found ? NULL : g->nodes[i];
    return found;
}

static bool streq(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

static void free_graph(Graph *g)
{
    ir_graph_free(g);
}

/* Conv(x) + r -> Relu: one node, residual r after Conv's own three inputs. */
static void test_conv_add_relu(void)
{
    Graph *g = ir_graph_new("conv_add_relu.onnx");
    int64_t xs[] = {1, 2, 5, 5}, ws[] = {3, 2, 3, 3}, bs[] = {3}, ys[] = {1, 3, 5, 5};
    Value *x = input(g, "x", xs, 4), *r = input(g, "r", ys, 4);
    Value *y = op(g, "Conv", x, constant(g, "w", ws, 4), constant(g, "b", bs, 1));
    Node *conv = g->nodes[0];
    conv->attrs = ir_alloc(g->arena, sizeof(Attr));
    conv->nattr = 1;
    conv->attrs[0] = (Attr){.name = "pads", .type = ATTR_INTS, .n = 4,
                            .ints = ir_alloc_array(g->arena, 4, sizeof(int64_t))};
    for (int i = 0; i < 4; i++)
        conv->attrs[0].ints[i] = 1;
    Value *out = op(g, "Relu", op(g, "Add", y, r, NULL), NULL, NULL);
    set_outputs(g, &out, 1);
    CHECK(prepare_and_fuse(g, 13, true));
    CHECK_EQ(1, ir_live_nodes(g));
    Node *n = only_node(g, "Conv");
    CHECK(n != NULL);
    if (!n)
        goto done;
    CHECK_EQ(RT_ACT_RELU, n->epi.act);
    CHECK(n->epi.residual == r);
    CHECK(n->epi.bias == NULL);
    CHECK(n->out[0] == out && out->producer == n);
    CHECK_EQ(4, n->nin);
    CHECK(n->nin == 4 && n->in[3] == r);
    CHECK(streq(n->fused_ops, "Conv+Add+Relu"));
done:
    free_graph(g);
}

/* The same graph without OPF_EPILOGUE on the row: unchanged. Also with the
 * real rows when they do not (yet) honour n->epi. */
static void test_gate(void)
{
    for (int flag = 0; flag < 2; flag++) {
        Graph *g = ir_graph_new("gate.onnx");
        int64_t as[] = {4, 8}, bs[] = {8, 6}, cs[] = {6};
        Value *a = input(g, "a", as, 2);
        Value *y = op(g, "MatMul", a, constant(g, "w", bs, 2), NULL);
        Value *out = op(g, "Relu", op(g, "Add", y, constant(g, "c", cs, 1), NULL), NULL, NULL);
        set_outputs(g, &out, 1);
        bool real_rows_honour = false;
        const OpDesc *row = op_find("MatMul", 13, &real_rows_honour);
        real_rows_honour = row && (row->flags & OPF_EPILOGUE);
        CHECK(prepare_and_fuse(g, 13, flag == 1));
        CHECK_EQ(flag || real_rows_honour ? 1 : 3, ir_live_nodes(g));
        Node *n = only_node(g, "MatMul");
        CHECK(n && (flag || real_rows_honour || (n->epi.act == 0 && n->nin == 2)));
        free_graph(g);
    }
}

/* The residual's producer runs after the Conv: the fused node moves to
 * where the Relu was. Two candidates meeting in one Add: the later takes it. */
static void test_residual_order(void)
{
    Graph *g = ir_graph_new("order.onnx");
    int64_t xs[] = {1, 4, 3, 3}, ws[] = {4, 4, 1, 1}, bs[] = {4};
    Value *x = input(g, "x", xs, 4);
    Value *y = op(g, "Conv", x, constant(g, "w", ws, 4), constant(g, "b", bs, 1));
    Value *r = op(g, "Neg", x, NULL, NULL);
    Value *s = op(g, "Relu", op(g, "Add", y, r, NULL), NULL, NULL);
    /* A second block: Conv A and Conv B both feed an Add. */
    Value *a = op(g, "Conv", s, constant(g, "wa", ws, 4), constant(g, "ba", bs, 1));
    Value *b = op(g, "Conv", s, constant(g, "wb", ws, 4), NULL);
    Value *out = op(g, "Relu", op(g, "Add", a, b, NULL), NULL, NULL);
    set_outputs(g, &out, 1);
    CHECK(prepare_and_fuse(g, 13, true));
    CHECK_EQ(4, ir_live_nodes(g));     /* Neg, Conv+Add+Relu, Conv A, Conv B+Add+Relu */
    if (ir_live_nodes(g) == 4) {
        CHECK(streq(g->nodes[0]->op_type, "Neg"));
        CHECK(streq(g->nodes[1]->fused_ops, "Conv+Add+Relu") && g->nodes[1]->epi.residual == r);
        CHECK(g->nodes[2]->epi.act == 0 && g->nodes[2]->out[0] == a);
        CHECK(streq(g->nodes[3]->fused_ops, "Conv+Add+Relu") && g->nodes[3]->epi.residual == a);
        CHECK(g->nodes[3]->nin == 4 && g->nodes[3]->in[2] == NULL);   /* padded */
    }
    free_graph(g);
}

/* An intermediate with two readers, or one that is a graph output, stops
 * the chain. */
static void test_no_fuse_shared_or_output(void)
{
    int64_t as[] = {4, 8}, bs[] = {8, 6};
    {
        Graph *g = ir_graph_new("shared.onnx");
        Value *y = op(g, "MatMul", input(g, "a", as, 2), constant(g, "w", bs, 2), NULL);
        Value *outs[2] = {op(g, "Relu", y, NULL, NULL), op(g, "Neg", y, NULL, NULL)};
        set_outputs(g, outs, 2);
        CHECK(prepare_and_fuse(g, 13, true));
        CHECK_EQ(3, ir_live_nodes(g));
        Node *n = only_node(g, "MatMul");
        CHECK(n && n->epi.act == 0 && n->out[0] == y && !n->fused_ops);
        free_graph(g);
    }
    {
        Graph *g = ir_graph_new("output.onnx");
        Value *y = op(g, "MatMul", input(g, "a", as, 2), constant(g, "w", bs, 2), NULL);
        Value *outs[2] = {y, op(g, "Relu", y, NULL, NULL)};
        set_outputs(g, outs, 2);
        CHECK(prepare_and_fuse(g, 13, true));
        CHECK_EQ(2, ir_live_nodes(g));
        Node *n = only_node(g, "MatMul");
        CHECK(n && n->epi.act == 0 && n->out[0] == y);
        free_graph(g);
    }
    {   /* the bias Add's result is read twice: only the bias fuses */
        Graph *g = ir_graph_new("bias_shared.onnx");
        int64_t cs[] = {6};
        Value *y = op(g, "MatMul", input(g, "a", as, 2), constant(g, "w", bs, 2), NULL);
        Value *s = op(g, "Add", constant(g, "c", cs, 1), y, NULL);
        Value *outs[2] = {op(g, "Relu", s, NULL, NULL), op(g, "Neg", s, NULL, NULL)};
        set_outputs(g, outs, 2);
        CHECK(prepare_and_fuse(g, 13, true));
        CHECK_EQ(3, ir_live_nodes(g));
        Node *n = only_node(g, "MatMul");
        CHECK(n && n->epi.act == 0 && n->epi.bias && n->out[0] == s);
        CHECK(n && streq(n->fused_ops, "MatMul+Add"));
        free_graph(g);
    }
}

/* x·0.5·(1 + erf(x/√2)) in the node orders exporters emit, after
 * MatMul + bias; and the Gelu node (opset 20). */
static void test_matmul_bias_gelu(void)
{
    static const char *const want[] = {
        "MatMul+Add+Div+Erf+Add+Mul+Mul",   /* A: Mul(Mul(x, a), 0.5) */
        "MatMul+Add+Mul+Erf+Add+Mul+Mul",   /* A with Mul(x, 0.7071..) */
        "MatMul+Add+Div+Erf+Add+Mul+Mul",   /* B: Mul(x, Mul(a, 0.5)) */
        "MatMul+Add+Div+Erf+Add+Mul+Mul",   /* C: Mul(Mul(x, 0.5), a) */
        "MatMul+Add+Gelu",
    };
    for (int form = 0; form < 5; form++) {
        Graph *g = ir_graph_new("gelu.onnx");
        int64_t as[] = {1, 4, 8}, bs[] = {8, 6}, cs[] = {6};
        Value *bias = constant(g, "c", cs, 1);
        Value *y = op(g, "MatMul", input(g, "a", as, 3), constant(g, "w", bs, 2), NULL);
        Value *x = op(g, "Add", y, bias, NULL), *out;
        if (form == 4) {
            out = op(g, "Gelu", x, NULL, NULL);
        } else {
            Value *sc = form == 1 ? op(g, "Mul", scalar(g, 0.70710677f), x, NULL)
                                  : op(g, "Div", x, scalar(g, 1.4142135f), NULL);
            Value *a = op(g, "Add", op(g, "Erf", sc, NULL, NULL), scalar(g, 1.0f), NULL);
            if (form <= 1)
                out = op(g, "Mul", op(g, "Mul", x, a, NULL), scalar(g, 0.5f), NULL);
            else if (form == 2)
                out = op(g, "Mul", x, op(g, "Mul", scalar(g, 0.5f), a, NULL), NULL);
            else
                out = op(g, "Mul", op(g, "Mul", x, scalar(g, 0.5f), NULL), a, NULL);
        }
        set_outputs(g, &out, 1);
        CHECK(prepare_and_fuse(g, form == 4 ? 20 : 13, true));
        CHECK_EQ(1, ir_live_nodes(g));
        Node *n = only_node(g, "MatMul");
        CHECK(n != NULL);
        if (!n)
            continue;
        CHECK_EQ(RT_ACT_GELU_ERF, n->epi.act);
        CHECK(n->epi.bias == bias && n->epi.residual == NULL);
        CHECK(n->out[0] == out);
        CHECK(n->nin == 3 && n->in[2] == bias);
        if (!streq(n->fused_ops, want[form]))
            fprintf(stderr, "form %d: fused %s\n", form, n->fused_ops ? n->fused_ops : "-");
        CHECK(streq(n->fused_ops, want[form]));
        free_graph(g);
    }
    /* A wrong constant (x / 2) is not GELU: bias only. */
    Graph *g = ir_graph_new("not_gelu.onnx");
    int64_t as[] = {4, 8}, bs[] = {8, 6}, cs[] = {6};
    Value *y = op(g, "MatMul", input(g, "a", as, 2), constant(g, "w", bs, 2), NULL);
    Value *x = op(g, "Add", y, constant(g, "c", cs, 1), NULL);
    Value *a = op(g, "Add", op(g, "Erf", op(g, "Div", x, scalar(g, 2.0f), NULL), NULL, NULL),
                  scalar(g, 1.0f), NULL);
    Value *out = op(g, "Mul", op(g, "Mul", x, a, NULL), scalar(g, 0.5f), NULL);
    set_outputs(g, &out, 1);
    CHECK(prepare_and_fuse(g, 13, true));
    Node *n = only_node(g, "MatMul");
    CHECK(n && n->epi.act == 0 && n->epi.bias && streq(n->fused_ops, "MatMul+Add"));
    free_graph(g);
}

/* BERT's output projection: MatMul, Add(bias), Add(residual). Gemm with a
 * [1, N] bias constant and Clip bounds as constant inputs. */
static void test_bias_residual_clip(void)
{
    {
        Graph *g = ir_graph_new("bert_out.onnx");
        int64_t as[] = {1, 4, 8}, bs[] = {8, 6}, cs[] = {6}, hs[] = {1, 4, 6};
        Value *h = input(g, "h", hs, 3);
        Value *y = op(g, "MatMul", input(g, "a", as, 3), constant(g, "w", bs, 2), NULL);
        Value *s = op(g, "Add", op(g, "Add", constant(g, "c", cs, 1), y, NULL), h, NULL);
        Value *out = op(g, "Softmax", s, NULL, NULL);
        set_outputs(g, &out, 1);
        CHECK(prepare_and_fuse(g, 13, true));
        CHECK_EQ(2, ir_live_nodes(g));
        Node *n = only_node(g, "MatMul");
        CHECK(n && n->epi.residual == h && n->epi.bias && n->epi.act == 0 && n->out[0] == s);
        CHECK(n && n->nin == 4 && n->in[2] == h);
        free_graph(g);
    }
    {
        Graph *g = ir_graph_new("gemm_clip.onnx");
        int64_t as[] = {3, 8}, bs[] = {6, 8}, cs[] = {1, 6};
        Value *y = op(g, "Gemm", input(g, "a", as, 2), constant(g, "w", bs, 2), NULL);
        Node *gemm = g->nodes[0];
        gemm->attrs = ir_alloc(g->arena, sizeof(Attr));
        gemm->nattr = 1;
        gemm->attrs[0] = (Attr){.name = "transB", .type = ATTR_INT, .i = 1};
        Value *c = constant(g, "c", cs, 2);
        Value *out = op(g, "Clip", op(g, "Add", y, c, NULL), scalar(g, 0.0f), scalar(g, 6.0f));
        set_outputs(g, &out, 1);
        CHECK(prepare_and_fuse(g, 13, true));
        CHECK_EQ(1, ir_live_nodes(g));
        Node *n = only_node(g, "Gemm");
        CHECK(n && n->epi.act == RT_ACT_CLIP && n->epi.alpha == 0.0f && n->epi.beta == 6.0f);
        /* [1, 6] becomes a fresh [6] vector with the same numbers */
        CHECK(n && n->epi.bias && n->epi.bias->shape.rank == 1 && n->epi.bias->shape.dim[0] == 6);
        for (int i = 0; n && n->epi.bias && i < 6; i++)
            CHECK(((float *)n->epi.bias->data)[i] == ((float *)c->data)[i]);
        CHECK(n && n->nin == 4 && n->in[2] == NULL && n->in[3] == n->epi.bias);
        free_graph(g);
    }
    {   /* Clip with a run-time bound is not an epilogue */
        Graph *g = ir_graph_new("clip_dyn.onnx");
        int64_t as[] = {3, 8}, bs[] = {8, 6};
        Value *lo = input(g, "lo", NULL, 0);
        Value *y = op(g, "MatMul", input(g, "a", as, 2), constant(g, "w", bs, 2), NULL);
        Value *out = op(g, "Clip", y, lo, NULL);
        set_outputs(g, &out, 1);
        CHECK(prepare_and_fuse(g, 13, true));
        CHECK_EQ(2, ir_live_nodes(g));
        free_graph(g);
    }
}

/* A per-channel constant Add after a Conv folds into the Conv's bias. */
static void test_conv_channel_add(void)
{
    Graph *g = ir_graph_new("conv_bias.onnx");
    int64_t xs[] = {1, 2, 4, 4}, ws[] = {3, 2, 1, 1}, bs[] = {3}, cs[] = {1, 3, 1, 1};
    Value *b = constant(g, "b", bs, 1), *c = constant(g, "c", cs, 4);
    Value *y = op(g, "Conv", input(g, "x", xs, 4), constant(g, "w", ws, 4), b);
    Value *out = op(g, "LeakyRelu", op(g, "Add", c, y, NULL), NULL, NULL);
    set_outputs(g, &out, 1);
    CHECK(prepare_and_fuse(g, 13, true));
    CHECK_EQ(1, ir_live_nodes(g));
    Node *n = only_node(g, "Conv");
    CHECK(n && n->epi.act == RT_ACT_LEAKY_RELU && fabsf(n->epi.alpha - 0.01f) < 1e-9f);
    CHECK(n && n->epi.bias == NULL && n->nin == 3 && n->in[2] != b);
    for (int i = 0; n && n->nin == 3 && i < 3; i++)
        CHECK(((float *)n->in[2]->data)[i] == ((float *)b->data)[i] + ((float *)c->data)[i]);
    free_graph(g);
}

/* lw_apply_epilogue, interpreted, against rt_epilogue_block on the same
 * numbers: every activation, Conv (bias per axis 1) and MatMul (bias per
 * last axis) layouts, with bias and residual. */
static void test_loop_epilogue(void)
{
    for (int conv = 0; conv < 2; conv++)
        for (int act = 0; act <= RT_ACT_LAST; act++) {
            Graph *g = ir_graph_new("loop_epi.onnx");
            /* Conv: [2, 3, 2, 5]; MatMul: [2, 5, 6] */
            int64_t cs[] = {2, 3, 2, 5}, ms[] = {2, 5, 6};
            const int64_t *os = conv ? cs : ms;
            int rank = conv ? 4 : 3;
            Value *out = constant(g, "y", os, rank);
            Value *res = constant(g, "r", os, rank);
            int64_t nb = conv ? 3 : 6;
            Value *bias = constant(g, "b", &nb, 1);
            Node *n = ir_node_new(g, conv ? "Conv" : "MatMul", 0, 1);
            bool known;
            n->op = op_find(n->op_type, 13, &known);   /* its row names the bias axis */
            n->out[0] = out;
            n->epi = (Epilogue){act, -0.3f, 0.4f, bias, res};
            if (act == RT_ACT_LEAKY_RELU)
                n->epi.alpha = 0.1f;
            int64_t numel = ir_value_numel(out);
            float want[2 * 3 * 2 * 5 * 2];
            memcpy(want, out->data, (size_t)numel * sizeof(float));
            /* The runtime on the same data: rows of the output matrix are
             * channels (Conv, per batch image) or matrix rows (MatMul). */
            rt_epilogue ep = {bias->data, conv, NULL, 0, act, n->epi.alpha, n->epi.beta};
            for (int b = 0; b < 2; b++) {
                int64_t rows = conv ? 3 : 5, cols = conv ? 10 : 6;
                ep.residual = (const float *)res->data + b * rows * cols;
                ep.ldr = cols;
                rt_epilogue_block(&ep, want + b * rows * cols, cols, 0, rows, 0, cols);
            }
            LKernel *k = lw_kernel(n);
            CHECK(lw_apply_epilogue(n, k, out));
            CHECK(lk_interpret(k));
            const float *got = out->data;
            for (int64_t i = 0; i < numel; i++) {
                float tol = 1e-6f + 1e-6f * fabsf(want[i]);
                if (!(fabsf(got[i] - want[i]) <= tol)) {
                    fprintf(stderr, "conv %d act %d [%lld]: got %.9g want %.9g\n", conv, act,
                            (long long)i, got[i], want[i]);
                    CHECK(0);
                    break;
                }
            }
            free_graph(g);
        }
}

int main(void)
{
    devnull = fopen("/dev/null", "w");
    test_conv_add_relu();
    test_gate();
    test_residual_order();
    test_no_fuse_shared_or_output();
    test_matmul_bias_gelu();
    test_bias_residual_clip();
    test_conv_channel_add();
    test_loop_epilogue();
    fclose(devnull);
    return check_report("test_fuse_epilogue");
}
