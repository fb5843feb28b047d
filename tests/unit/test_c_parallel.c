/* Loop-level threads in the C dialect (codegen/c_dialect.c): which loops
 * get DLC_PARALLEL, and that their variables move inside them. Kernels are
 * built by hand; whole models run threaded in tests/models/threads.py. */
#include "check.h"
#include "codegen/c_dialect.h"

#include <string.h>

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

/* The C text of k, and whether the renderer asked for the macro. */
static char *render(Graph *g, LKernel *k, bool *need)
{
    Printer p;
    pr_init(&p);
    CRender r;
    memset(&r, 0, sizeof r);
    r.out = &p;
    r.g = g;
    r.value_used = ir_alloc_array(g->arena, (size_t)g->nvalues + 1, sizeof(bool));
    cr_kernel(&r, k);
    *need = r.need_parallel;
    char *s = ir_strndup(g->arena, p.buf ? p.buf : "", p.len);
    pr_free(&p);
    return s;
}

static int count(const char *s, const char *what)
{
    int n = 0;
    for (const char *q = strstr(s, what); q; q = strstr(q + 1, what))
        n++;
    return n;
}

/* y[i] = f(x[i]) over n elements, with a temporary. */
static LKernel *map(Graph *g, Value *x, Value *y, int64_t n, int64_t xoff)
{
    LKernel *k = lk_new(g);
    int i = lk_var(k, DT_INT64), t = lk_var(k, DT_FLOAT);
    LStmt *loop = ls_for(k, i, n);
    ls_push(k, loop, ls_assign(k, t, lx_load(k, x, lx_addi(k, lx_var(k, i), xoff))));
    ls_push(k, loop, ls_store(k, y, lx_var(k, i),
                              lx_bin(k, LB_MUL, lx_var(k, t), lx_var(k, t))));
    ls_push(k, k->root, loop);
    return k;
}

static void expect(const char *what, Graph *g, LKernel *k, int want)
{
    bool need;
    char *s = render(g, k, &need);
    int got = count(s, "DLC_PARALLEL");
    if (got != want)
        fprintf(stderr, "%s: want %d parallel loops, got %d:\n%s", what, want, got, s);
    CHECK_EQ(want, got);
    CHECK(need == (want > 0));
}

static void test_elementwise(void)
{
    Graph *g = ir_graph_new("t.onnx");
    Value *x = buf(g, "x", 1 << 17, 0), *y = buf(g, "y", 1 << 17, 1 << 19);
    LKernel *k = map(g, x, y, 1 << 16, 0);
    expect("big map", g, k, 1);
    bool need;
    char *s = render(g, k, &need);
    /* the temporary is declared inside the loop, after the marker */
    const char *loop = strstr(s, "DLC_PARALLEL"), *decl = strstr(s, "float v1 = 0;");
    CHECK(loop && decl && decl > loop);
    expect("small map", g, map(g, x, y, 1000, 0), 0);
    /* in place, reading one element ahead: a dependence between iterations */
    Value *alias = buf(g, "alias", 1 << 17, 1 << 19);
    expect("in place, shifted", g, map(g, alias, y, 1 << 16, 1), 0);
    expect("in place, same index", g, map(g, alias, y, 1 << 16, 0), 1);
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
    expect("y[i/2]", g, k, 0);
    ir_graph_free(g);
}

/* Rows of 256: acc = 0; for j: acc += x[i, j]; y[i] = acc -- parallel over
 * i. A window too narrow (y[i*128 + j] for j < 256) is not. */
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
        expect(variant == 0 ? "row sums" : variant == 1 ? "overlapping rows" : "carried", g, k,
               variant == 0 ? 1 : 0);
    }
    ir_graph_free(g);
}

/* for i < 256: for j < 256: y[j] += x[i, j]: the outer loop carries y, the
 * inner one is parallel (256 x 256 work, but one entry is 256: too little);
 * with 4096 columns the inner loop is worth it. */
static void test_inner_loop(void)
{
    Graph *g = ir_graph_new("t.onnx");
    Value *x = buf(g, "x", 1 << 20, 0), *y = buf(g, "y", 1 << 12, 1 << 22);
    for (int cols = 256; cols <= 65536; cols *= 256) {
        LKernel *k = lk_new(g);
        int i = lk_var(k, DT_INT64), j = lk_var(k, DT_INT64);
        LStmt *li = ls_for(k, i, 16), *lj = ls_for(k, j, cols);
        LExpr *yj = lx_load(k, y, lx_var(k, j));
        LExpr *xij = lx_load(k, x, lx_add(k, lx_muli(k, lx_var(k, i), cols), lx_var(k, j)));
        ls_push(k, lj, ls_store(k, y, lx_var(k, j), lx_bin(k, LB_ADD, yj, xij)));
        ls_push(k, li, lj);
        ls_push(k, k->root, li);
        bool need;
        char *s = render(g, k, &need);
        CHECK_EQ(cols == 256 ? 0 : 1, count(s, "DLC_PARALLEL"));
        /* the marker sits on the inner loop */
        if (cols != 256) {
            const char *m = strstr(s, "DLC_PARALLEL");
            CHECK(m && strstr(s, "for (int64_t v0") < m && strstr(m, "for (int64_t v1") != NULL);
        }
    }
    ir_graph_free(g);
}

/* A variable shared by two top-level statements stays at the kernel's top:
 * a loop may read it, not assign it. A loop that calls the runtime is never
 * marked. */
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
    expect("shared scalar, read only", g, k, 1);
    bool need;
    char *txt = render(g, k, &need);
    CHECK(strstr(txt, "float v0 = 0;") < strstr(txt, "DLC_PARALLEL"));
    /* ... and also assigned in the loop: not private, so serial */
    ls_push(k, loop, ls_assign(k, s, lx_load(k, x, lx_var(k, i))));
    expect("shared scalar, assigned", g, k, 0);

    LKernel *c = lk_new(g);
    int j = lk_var(c, DT_INT64);
    LStmt *cl = ls_for(c, j, 1 << 16);
    LStmt *call = ls_call(c, "rt_something");
    ls_arg_buf(c, call, y, 0);
    ls_push(c, cl, call);
    ls_push(c, c->root, cl);
    expect("call", g, c, 0);
    ir_graph_free(g);
}

int main(void)
{
    test_elementwise();
    test_overlapping_stores();
    test_rows();
    test_inner_loop();
    test_shared_var_and_calls();
    return check_report("test_c_parallel");
}
