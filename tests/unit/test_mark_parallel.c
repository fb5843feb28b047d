/* Parallel-loop marking (passes/mark_parallel.c): which loops get
 * LStmt.parallel, and which variables become private to them
 * (LKernel.var_private). Kernels are built by hand; whole models run
 * threaded in tests/models/threads.py. */
#include "check.h"
#include "ir/loop.h"
#include "passes/passes.h"

static Value *buf(Graph *g, const char *name, int64_t n, int64_t offset)
{
    Value *v = ir_value_new(g, name);
    v->dtype = DT_FLOAT;
    v->has_type = true;
    v->shape.rank = 1;
    v->shape.dim[0] = n;
    v->offset = offset;
    v->output_index = -1;
    v->weight_offset = -1;
    v->producer = (Node *)v;    /* anything non-NULL: an intermediate */
    return v;
}

/* Loops marked in s and below. */
static int marked(const LStmt *s)
{
    int n = s->kind == LS_FOR && s->parallel;
    for (int i = 0; i < s->n; i++)
        n += marked(s->body[i]);
    for (int i = 0; i < s->nels; i++)
        n += marked(s->els[i]);
    return n;
}

/* Runs the marking on k; false (with a message) when the number of marked
 * loops is not `want`. */
static bool expect(const char *what, LKernel *k, int want)
{
    pass_mark_parallel_kernel(k);
    int got = marked(k->root);
    if (got != want)
        fprintf(stderr, "%s: want %d parallel loops, got %d\n", what, want, got);
    CHECK_EQ(want, got);
    return got == want;
}

static const LStmt *private_to(const LKernel *k, int var)
{
    return k->var_private ? k->var_private[var] : NULL;
}

/* y[i] = t * t with t = x[i + xoff], over n elements; v0 is i, v1 is t. */
static LKernel *map(Graph *g, Value *x, Value *y, int64_t n, int64_t xoff, LStmt **loop_out)
{
    LKernel *k = lk_new(g);
    int i = lk_var(k, DT_INT64), t = lk_var(k, DT_FLOAT);
    LStmt *loop = ls_for(k, i, n);
    ls_push(k, loop, ls_assign(k, t, lx_load(k, x, lx_addi(k, lx_var(k, i), xoff))));
    ls_push(k, loop, ls_store(k, y, lx_var(k, i),
                              lx_bin(k, LB_MUL, lx_var(k, t), lx_var(k, t))));
    ls_push(k, k->root, loop);
    if (loop_out)
        *loop_out = loop;
    return k;
}

static void test_elementwise(void)
{
    Graph *g = ir_graph_new("t.onnx");
    Value *x = buf(g, "x", 1 << 17, 0), *y = buf(g, "y", 1 << 17, 1 << 19);
    LStmt *loop;
    LKernel *k = map(g, x, y, 1 << 16, 0, &loop);
    expect("big map", k, 1);
    CHECK(loop->parallel);
    CHECK(private_to(k, 1) == loop);    /* the temporary */
    CHECK(private_to(k, 0) == NULL);    /* the loop's own variable */
    expect("small map", map(g, x, y, 1000, 0, NULL), 0);
    /* in place, reading one element ahead: a dependence between iterations */
    Value *alias = buf(g, "alias", 1 << 17, 1 << 19);
    LKernel *shifted = map(g, alias, y, 1 << 16, 1, NULL);
    expect("in place, shifted", shifted, 0);
    CHECK(private_to(shifted, 1) == NULL);
    expect("in place, same index", map(g, alias, y, 1 << 16, 0, NULL), 1);
    ir_graph_free(g);
}

/* y[i / 2] = x[i]: two iterations write one element. */
static void test_overlapping_stores(void)
{
    Graph *g = ir_graph_new("t.onnx");
    Value *x = buf(g, "x", 1 << 16, 0), *y = buf(g, "y", 1 << 15, 1 << 18);
    LKernel *k = lk_new(g);
    int i = lk_var(k, DT_INT64);
    LStmt *loop = ls_for(k, i, 1 << 16);
    ls_push(k, loop, ls_store(k, y, lx_div(k, lx_var(k, i), lx_idx(k, 2)),
                              lx_load(k, x, lx_var(k, i))));
    ls_push(k, k->root, loop);
    expect("y[i/2]", k, 0);
    ir_graph_free(g);
}

/* Rows of 256: acc = 0; for j: acc += x[i, j]; y[i] = acc -- parallel over
 * i, acc private to it. A window too narrow (y[i*128 + j] for j < 256) is
 * not, nor an accumulator carried from one row to the next. */
static void test_rows(void)
{
    Graph *g = ir_graph_new("t.onnx");
    Value *x = buf(g, "x", 1 << 16, 0), *y = buf(g, "y", 1 << 16, 1 << 18);
    for (int variant = 0; variant < 3; variant++) {
        LKernel *k = lk_new(g);
        int i = lk_var(k, DT_INT64), j = lk_var(k, DT_INT64), acc = lk_var(k, DT_FLOAT);
        LStmt *li = ls_for(k, i, 256), *lj = ls_for(k, j, 256);
        LExpr *xij = lx_load(k, x, lx_add(k, lx_muli(k, lx_var(k, i), 256), lx_var(k, j)));
        if (variant == 2) {
            /* the accumulator carries from one row to the next */
            ls_push(k, lj, ls_assign(k, acc, lx_bin(k, LB_ADD, lx_var(k, acc), xij)));
            ls_push(k, li, lj);
            ls_push(k, li, ls_store(k, y, lx_var(k, i), lx_var(k, acc)));
        } else {
            ls_push(k, li, ls_assign(k, acc, lx_f(k, DT_FLOAT, 0)));
            ls_push(k, lj, ls_assign(k, acc, lx_bin(k, LB_ADD, lx_var(k, acc), xij)));
            ls_push(k, li, lj);
            LExpr *at = variant == 0 ? lx_var(k, i)
                                     : lx_add(k, lx_muli(k, lx_var(k, i), 128), lx_var(k, j));
            if (variant == 0)
                ls_push(k, li, ls_store(k, y, at, lx_var(k, acc)));
            else
                ls_push(k, lj, ls_store(k, y, at, lx_var(k, acc)));
        }
        ls_push(k, k->root, li);
        expect(variant == 0 ? "row sums" : variant == 1 ? "overlapping rows" : "carried", k,
               variant == 0 ? 1 : 0);
        CHECK(li->parallel == (variant == 0));
        CHECK(private_to(k, acc) == (variant == 0 ? li : NULL));
    }
    ir_graph_free(g);
}

/* for i < 16: for j < cols: y[j] += x[i, j]: the outer loop carries y, the
 * inner one is parallel (with 256 columns one entry is too little work;
 * with 65536 the inner loop is worth it). */
static void test_inner_loop(void)
{
    Graph *g = ir_graph_new("t.onnx");
    Value *x = buf(g, "x", 1 << 20, 0), *y = buf(g, "y", 1 << 16, 1 << 22);
    for (int cols = 256; cols <= 65536; cols *= 256) {
        LKernel *k = lk_new(g);
        int i = lk_var(k, DT_INT64), j = lk_var(k, DT_INT64);
        LStmt *li = ls_for(k, i, 16), *lj = ls_for(k, j, cols);
        LExpr *yj = lx_load(k, y, lx_var(k, j));
        LExpr *xij = lx_load(k, x, lx_add(k, lx_muli(k, lx_var(k, i), cols), lx_var(k, j)));
        ls_push(k, lj, ls_store(k, y, lx_var(k, j), lx_bin(k, LB_ADD, yj, xij)));
        ls_push(k, li, lj);
        ls_push(k, k->root, li);
        expect(cols == 256 ? "256 columns" : "65536 columns", k, cols == 256 ? 0 : 1);
        CHECK(!li->parallel);
        CHECK(lj->parallel == (cols != 256));
    }
    ir_graph_free(g);
}

/* A variable shared by two top-level statements stays at the kernel's top:
 * a loop may read it, not assign it. A loop that calls the runtime is never
 * marked. Marking again replaces the old marks. */
static void test_shared_var_and_calls(void)
{
    Graph *g = ir_graph_new("t.onnx");
    Value *x = buf(g, "x", 1 << 16, 0), *y = buf(g, "y", 1 << 16, 1 << 18);
    LKernel *k = lk_new(g);
    int s = lk_var(k, DT_FLOAT), i = lk_var(k, DT_INT64);
    ls_push(k, k->root, ls_assign(k, s, lx_load(k, x, lx_idx(k, 0))));
    LStmt *loop = ls_for(k, i, 1 << 16);
    ls_push(k, loop, ls_store(k, y, lx_var(k, i),
                              lx_bin(k, LB_ADD, lx_var(k, s), lx_load(k, x, lx_var(k, i)))));
    ls_push(k, k->root, loop);
    expect("shared scalar, read only", k, 1);
    CHECK(loop->parallel);
    CHECK(private_to(k, s) == NULL);
    /* ... and also assigned in the loop: not private, so serial */
    ls_push(k, loop, ls_assign(k, s, lx_load(k, x, lx_var(k, i))));
    expect("shared scalar, assigned", k, 0);

    LKernel *c = lk_new(g);
    int j = lk_var(c, DT_INT64);
    LStmt *cl = ls_for(c, j, 1 << 16);
    LStmt *call = ls_call(c, "rt_something");
    ls_arg_buf(c, call, y, 0);
    ls_push(c, cl, call);
    ls_push(c, c->root, cl);
    expect("call", c, 0);
    ir_graph_free(g);
}

/* The pass marks every live node's kernel and leaves dead nodes alone. */
static void test_graph(void)
{
    Graph *g = ir_graph_new("t.onnx");
    Value *x = buf(g, "x", 1 << 17, 0), *y = buf(g, "y", 1 << 17, 1 << 19);
    Node *live = ir_node_new(g, "Relu", 1, 1), *dead = ir_node_new(g, "Relu", 1, 1);
    LStmt *live_loop, *dead_loop;
    live->kernel = map(g, x, y, 1 << 16, 0, &live_loop);
    dead->kernel = map(g, x, y, 1 << 16, 0, &dead_loop);
    dead->dead = true;
    Diag d;
    diag_init(&d, "t.onnx");
    CHECK(pass_mark_parallel(g, &d));
    CHECK(live_loop->parallel);
    CHECK(!dead_loop->parallel);
    ir_graph_free(g);
}

int main(void)
{
    test_elementwise();
    test_overlapping_stores();
    test_rows();
    test_inner_loop();
    test_shared_var_and_calls();
    test_graph();
    return check_report("test_mark_parallel");
}
