/* Small pieces shared by operator rows. */
#include "ops.h"

#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void op_set_out(Node *n, int i, DType dt, const Shape *s)
{
    Value *v = n->out[i];
    if (!v)
        return;
    v->dtype = dt;
    v->shape = *s;
    v->has_type = true;
}

bool op_unsupported(Diag *d, const Node *n, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    diag_error(d, n, "unsupported: %s", msg);
    return false;
}

/* Walks back from v through its producers to what makes it a run-time
 * value: the graph inputs it is computed from (names into inputs[], at most
 * max; the count is returned, and may exceed max), or, when it derives from
 * constants only, the first node dlc left unevaluated (*stuck). */
static int runtime_sources(const Graph *g, const Value *v, const char **inputs, int max,
                           const Node **stuck)
{
    int nfound = 0, top = 0;
    bool *seen = calloc((size_t)g->nvalues + 1, 1);
    const Value **stack = malloc(((size_t)g->nvalues + 1) * sizeof *stack);
    if (!seen || !stack) {
        free(seen);
        free(stack);
        return 0;
    }
    stack[top++] = v;
    while (top > 0) {
        const Value *u = stack[--top];
        if (u->data || u->id < 0 || u->id >= g->nvalues || seen[u->id])
            continue;
        seen[u->id] = true;
        if (u->is_input) {
            if (nfound < max)
                inputs[nfound] = u->name;
            nfound++;
            continue;
        }
        const Node *p = u->producer;
        if (!p)
            continue;
        bool all_const = true;
        for (int i = 0; i < p->nin; i++) {
            if (!p->in[i] || p->in[i]->data)
                continue;
            all_const = false;
            if (top < g->nvalues)
                stack[top++] = p->in[i];
        }
        if (all_const && !*stuck)
            *stuck = p;
    }
    free(seen);
    free(stack);
    return nfound;
}

bool op_dynamic_input(Diag *d, const Node *n, int in, const char *what)
{
    const Value *v = n->in[in];
    const char *names[4];
    const Node *stuck = NULL;
    int cnt = runtime_sources(n->graph, v, names, 4, &stuck);
    if (cnt == 0 && stuck)
        return op_unsupported(d, n, "dynamic %s: input %d '%s' is computed at run time by "
                                    "node %d '%s' (%s), which dlc does not evaluate at compile "
                                    "time", what, in, v->name, stuck->index, stuck->name,
                              stuck->op_type);
    if (cnt == 0)
        return op_unsupported(d, n, "dynamic %s: input %d '%s' is computed at run time", what,
                              in, v->name);
    char bind[384] = "";
    size_t len = 0;
    for (int i = 0; i < cnt && i < 4 && len < sizeof bind; i++)
        len += (size_t)snprintf(bind + len, sizeof bind - len, "%s--freeze %s=FILE.pb",
                                i ? " " : "", names[i]);
    const char *more = cnt > 4 ? " ..." : "";
    if (cnt == 1)
        return op_unsupported(d, n, "dynamic %s: input %d '%s' depends on graph input '%s' "
                                    "at run time (bind its value with %s)", what, in, v->name,
                              names[0], bind);
    return op_unsupported(d, n, "dynamic %s: input %d '%s' depends on %d graph inputs at "
                                "run time (bind their values with %s%s)", what, in, v->name,
                          cnt, bind, more);
}

bool op_data_dependent(Diag *d, const Node *n, int in, const char *why)
{
    const Value *v = n->in[in];
    const char *names[2];
    const Node *stuck = NULL;
    int cnt = runtime_sources(n->graph, v, names, 2, &stuck);
    if (cnt == 0)
        return op_unsupported(d, n, "%s: input %d '%s' is computed at run time", why, in,
                              v->name);
    return op_unsupported(d, n, "%s: input %d '%s' depends on the data of graph input '%s'%s",
                          why, in, v->name, names[0], cnt > 1 ? " and others" : "");
}

int op_ints(const Node *n, const char *name, int in, int64_t *out, int max)
{
    const Attr *a = name ? ir_attr(n, name) : NULL;
    if (a && a->type == ATTR_INTS) {
        int k = a->n < max ? a->n : max;
        memcpy(out, a->ints, (size_t)k * sizeof *out);
        return a->n;
    }
    if (a && a->type == ATTR_INT) {
        out[0] = a->i;
        return 1;
    }
    if (in < 0 || in >= n->nin || !n->in[in])
        return -1;
    const Value *v = n->in[in];
    if (!v->data)
        return -2;
    int64_t cnt = ir_value_numel(v);
    if (cnt < 0 || cnt > 1 << 20)
        return -2;
    for (int64_t i = 0; i < cnt && i < max; i++)
        out[i] = ir_const_i(v, i);
    return (int)cnt;
}

bool op_axis(Diag *d, const Node *n, int64_t axis, int rank, int *out)
{
    int64_t a = axis < 0 ? axis + rank : axis;
    if (a < 0 || a >= (rank ? rank : 1)) {
        diag_error(d, n, "axis %lld is out of range for rank %d", (long long)axis, rank);
        return false;
    }
    *out = (int)a;
    return true;
}

int op_epi_axis(const Node *n, int rank)
{
    int a = n->op->epi_axis;
    return a == OP_AXIS_LAST ? rank - 1 : a;
}

bool op_dtype_ok(const Node *n, Diag *d, const Value *v)
{
    if (!ir_dtype_supported(v->dtype))
        return op_unsupported(d, n, "%s tensor '%s'", ir_dtype_name(v->dtype), v->name);
    return true;
}

bool op_index_dtype_ok(const Node *n, Diag *d, const Value *v, int i)
{
    if (v->dtype != DT_INT32 && v->dtype != DT_INT64) {
        diag_error(d, n, "input %d '%s' must be int32 or int64, got %s", i, v->name,
                   ir_dtype_name(v->dtype));
        return false;
    }
    return true;
}

bool op_same_dtype(const Node *n, Diag *d, int i, int j)
{
    if (n->in[i]->dtype != n->in[j]->dtype) {
        diag_error(d, n, "input %d '%s' is %s but input %d is %s", i, n->in[i]->name,
                   ir_dtype_name(n->in[i]->dtype), j, ir_dtype_name(n->in[j]->dtype));
        return false;
    }
    return true;
}

int64_t op_dims_prod(const int64_t *dim, int from, int to)
{
    int64_t p = 1;
    for (int i = from; i < to; i++)
        p *= dim[i];    /* sub-products of a checked numel cannot overflow */
    return p;
}

bool op_inputs_known(const Node *n, Diag *d)
{
    for (int i = 0; i < n->nin; i++) {
        const Value *v = n->in[i];
        if (v && (!v->has_type || !ir_shape_known(&v->shape))) {
            diag_error(d, n, "input %d '%s' has an unknown %s", i, v->name,
                       v->has_type ? "shape" : "type");
            return false;
        }
    }
    return true;
}

bool op_inputs_constant(const Node *n)
{
    for (int i = 0; i < n->nin; i++)
        if (n->in[i] && !n->in[i]->data)
            return false;
    return true;
}

bool op_fits_int32(const int64_t *v, int n)
{
    for (int i = 0; i < n; i++)
        if (v[i] < 0 || v[i] > INT_MAX)
            return false;
    return true;
}
