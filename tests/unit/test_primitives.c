/* Every scalar primitive of the loop IR (LUnaryOp, LBinaryOp) has a
 * meaning in each place that gives it one: the interpreter that constant
 * folding runs (ir/interp.c) and the C dialect (codegen/c/c_dialect.c).
 * A primitive the interpreter lacks would fail silently (the node just
 * stays for run time), one the dialect lacks only when a model uses it;
 * here each must work for float32, int32 or bool operands. The dialect is
 * tried in a child process, since a missing spelling is a DLC_BUG exit. */
#define _POSIX_C_SOURCE 200809L
#include "check.h"
#include "codegen/c/c_dialect.h"

#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static Value *scalar(Graph *g, const char *name, DType dt)
{
    Value *v = ir_value_new(g, name);
    v->dtype = dt;
    v->has_type = true;
    v->shape.rank = 1;
    v->shape.dim[0] = 1;
    v->output_index = -1;
    v->weight_offset = -1;
    v->data = ir_alloc(g->arena, 8);
    return v;
}

/* out[0] = op(a[0]) or a[0] op b[0] for operands of dtype dt. */
static LKernel *kernel(Graph *g, bool binary, int op, DType dt)
{
    LKernel *k = lk_new(g);
    Value *a = scalar(g, "a", dt), *b = scalar(g, "b", dt);
    if (dt == DT_FLOAT) {
        ((float *)a->data)[0] = 0.5f;
        ((float *)b->data)[0] = 0.25f;
    } else if (dt == DT_INT32) {
        ((int32_t *)a->data)[0] = 6;
        ((int32_t *)b->data)[0] = 2;
    } else {
        ((uint8_t *)a->data)[0] = 1;
    }
    LExpr *x = lx_load(k, a, lx_idx(k, 0)), *y = lx_load(k, b, lx_idx(k, 0));
    LExpr *e = binary ? lx_bin(k, (LBinaryOp)op, x, y) : lx_un(k, (LUnaryOp)op, x);
    Value *out = scalar(g, "out", e->dt);
    ls_push(k, k->root, ls_store(k, out, lx_idx(k, 0), e));
    return k;
}

static bool renders(Graph *g, const LKernel *k)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        freopen("/dev/null", "w", stderr);
        Printer p;
        pr_init(&p);
        CRender r;
        memset(&r, 0, sizeof r);
        r.out = &p;
        r.g = g;
        r.value_used = ir_alloc_array(g->arena, (size_t)g->nvalues + 1, sizeof(bool));
        cr_kernel(&r, k);
        _exit(p.len > 0 ? 0 : 1);
    }
    int st;
    return pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* Some operand dtype for which op interprets and renders. */
static bool defined(bool binary, int op)
{
    static const DType dts[] = {DT_FLOAT, DT_INT32, DT_BOOL};
    for (size_t i = 0; i < sizeof dts / sizeof dts[0]; i++) {
        Graph *g = ir_graph_new("test.onnx");
        LKernel *k = kernel(g, binary, op, dts[i]);
        bool ok = lk_interpret(k) && renders(g, k);
        ir_graph_free(g);
        if (ok)
            return true;
    }
    return false;
}

int main(void)
{
    for (int op = 0; op < LU_COUNT; op++)
        if (!defined(false, op)) {
            fprintf(stderr, "unary primitive %d: no dtype it folds and renders for\n", op);
            check_failures++;
        }
    for (int op = 0; op < LB_COUNT; op++)
        if (!defined(true, op)) {
            fprintf(stderr, "binary primitive %d: no dtype it folds and renders for\n", op);
            check_failures++;
        }
    return check_report("test_primitives");
}
