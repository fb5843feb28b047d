/* IR: arena, shapes, broadcasting, overflow checks, verifier. */
#include "check.h"
#include "ir/ir.h"

#include <string.h>

static Shape shape(int rank, const int64_t *dims)
{
    Shape s;
    memset(&s, 0, sizeof s);
    s.rank = rank;
    for (int i = 0; i < rank; i++)
        s.dim[i] = dims[i];
    return s;
}

static void test_arena(void)
{
    Arena *a = ir_arena_new();
    char *p = ir_alloc(a, 10);
    CHECK(((uintptr_t)p & 15) == 0);
    CHECK(p[9] == 0);
    /* A large allocation gets its own block and is zeroed. */
    unsigned char *big = ir_alloc(a, 5u << 20);
    CHECK(big[(5u << 20) - 1] == 0);
    CHECK(strcmp(ir_sprintf(a, "%s-%d", "x", 7), "x-7") == 0);
    CHECK(ir_arena_bytes(a) >= (5u << 20));
    ir_arena_free(a);
}

static void test_shapes(void)
{
    int64_t out;
    CHECK(ir_mul_ok(1 << 20, 1 << 20, &out) && out == (int64_t)1 << 40);
    CHECK(!ir_mul_ok((int64_t)1 << 40, (int64_t)1 << 40, &out));
    CHECK(!ir_add_ok(INT64_MAX, 1, &out));

    int64_t d1[] = {(int64_t)1 << 40, (int64_t)1 << 40};
    Shape huge = shape(2, d1);
    CHECK(!ir_shape_numel(&huge, &out));

    int64_t a[] = {2, 1, 4}, b[] = {3, 1}, c[] = {5, 4};
    Shape sa = shape(3, a), sb = shape(2, b), sc = shape(2, c), r;
    CHECK(ir_broadcast(&sa, &sb, &r));
    CHECK_EQ(3, r.rank);
    CHECK_EQ(2, r.dim[0]);
    CHECK_EQ(3, r.dim[1]);
    CHECK_EQ(4, r.dim[2]);
    CHECK(!ir_broadcast(&sb, &sc, &r));   /* 3 vs 5 */

    int64_t st[IR_MAX_RANK];
    ir_strides(&sa, st);
    CHECK_EQ(4, st[0]);
    CHECK_EQ(4, st[1]);
    CHECK_EQ(1, st[2]);

    Arena *ar = ir_arena_new();
    CHECK(strcmp(ir_shape_str(ar, &sa), "[2,1,4]") == 0);
    ir_arena_free(ar);
}

static void test_dtypes(void)
{
    CHECK_EQ(4, ir_dtype_size(DT_FLOAT));
    CHECK_EQ(2, ir_dtype_size(DT_FLOAT16));
    CHECK_EQ(1, ir_dtype_size(DT_BOOL));
    CHECK_EQ(0, ir_dtype_size(DT_STRING));
    CHECK_EQ(2, ir_dtype_size(DT_BFLOAT16));
    CHECK_EQ(0, ir_dtype_size((DType)17));     /* float8e4m3fn: named, not stored */
    CHECK_EQ(0, ir_dtype_size((DType)1000));
    CHECK(strcmp(ir_dtype_name(DT_INT64), "int64") == 0);
}

/* a -> n0 -> b -> n1 -> c, with the nodes listed in reverse order. */
static void test_verify_sorts(void)
{
    Diag d;
    diag_init(&d, "test.onnx");
    d.out = fopen("/dev/null", "w");
    Graph *g = ir_graph_new("test.onnx");
    Value *a = ir_value_new(g, "a"), *b = ir_value_new(g, "b"), *c = ir_value_new(g, "c");
    a->is_input = true;
    Node *n1 = ir_node_new(g, "Relu", 1, 1);
    n1->in[0] = b;
    n1->out[0] = c;
    Node *n0 = ir_node_new(g, "Relu", 1, 1);
    n0->in[0] = a;
    n0->out[0] = b;
    g->outputs = ir_alloc(g->arena, sizeof(Value *));
    g->outputs[0] = c;
    g->noutputs = 1;
    CHECK(ir_verify(g, &d));
    CHECK(g->nodes[0] == n0 && g->nodes[1] == n1);
    CHECK_EQ(1, b->nuses);
    CHECK(c->producer == n1);
    ir_graph_free(g);
    fclose(d.out);
}

static void test_verify_rejects(void)
{
    Diag d;
    diag_init(&d, "test.onnx");
    d.out = fopen("/dev/null", "w");
    /* cycle: b = Relu(c), c = Relu(b) */
    Graph *g = ir_graph_new("cycle.onnx");
    Value *b = ir_value_new(g, "b"), *c = ir_value_new(g, "c");
    Node *x = ir_node_new(g, "Relu", 1, 1), *y = ir_node_new(g, "Relu", 1, 1);
    x->in[0] = c, x->out[0] = b;
    y->in[0] = b, y->out[0] = c;
    CHECK(!ir_verify(g, &d));
    ir_graph_free(g);

    /* dangling input and a value with two producers */
    g = ir_graph_new("bad.onnx");
    Value *u = ir_value_new(g, "undefined"), *v = ir_value_new(g, "v");
    Node *p = ir_node_new(g, "Relu", 1, 1), *q = ir_node_new(g, "Relu", 1, 1);
    p->in[0] = u, p->out[0] = v;
    q->in[0] = u, q->out[0] = v;
    int before = d.nerrors;
    CHECK(!ir_verify(g, &d));
    CHECK(d.nerrors - before >= 2);
    ir_graph_free(g);
    fclose(d.out);
}

int main(void)
{
    test_arena();
    test_shapes();
    test_dtypes();
    test_verify_sorts();
    test_verify_rejects();
    return check_report("test_ir");
}
