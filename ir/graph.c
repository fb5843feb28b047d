/* Graph construction and small queries. */
#include "ir.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

Graph *ir_graph_new(const char *file)
{
    Arena *a = ir_arena_new();
    Graph *g = ir_alloc(a, sizeof *g);
    g->arena = a;
    g->file = ir_strdup(a, file);
    return g;
}

void ir_graph_free(Graph *g)
{
    if (g)
        ir_arena_free(g->arena);
}

/* Grow an arena-owned pointer array; the old copy stays in the arena. */
static void *grow(Arena *a, void *items, int n, int *cap)
{
    if (n < *cap)
        return items;
    int ncap = *cap ? *cap * 2 : 16;
    void **p = ir_alloc_array(a, (size_t)ncap, sizeof(void *));
    if (n)
        memcpy(p, items, (size_t)n * sizeof(void *));
    *cap = ncap;
    return p;
}

Value *ir_value_new(Graph *g, const char *name)
{
    Value *v = ir_alloc(g->arena, sizeof *v);
    v->id = g->nvalues;
    v->name = ir_strdup(g->arena, name);
    v->output_index = -1;
    v->offset = -1;
    v->weight_offset = -1;
    g->values = grow(g->arena, g->values, g->nvalues, &g->capvalues);
    g->values[g->nvalues++] = v;
    return v;
}

Node *ir_node_new(Graph *g, const char *op_type, int nin, int nout)
{
    Node *n = ir_node_alloc(g, op_type, nin, nout);
    g->nodes = grow(g->arena, g->nodes, g->nnodes, &g->capnodes);
    g->nodes[g->nnodes++] = n;
    return n;
}

Node *ir_node_alloc(Graph *g, const char *op_type, int nin, int nout)
{
    Node *n = ir_alloc(g->arena, sizeof *n);
    n->graph = g;
    n->index = g->nnodes;
    n->name = "";
    n->op_type = ir_strdup(g->arena, op_type);
    n->domain = "";
    n->nin = nin;
    n->nout = nout;
    n->in = ir_alloc_array(g->arena, (size_t)nin, sizeof(Value *));
    n->out = ir_alloc_array(g->arena, (size_t)nout, sizeof(Value *));
    return n;
}

void ir_insert_nodes(Graph *g, int pos, Node *const *nodes, int n)
{
    if (n <= 0)
        return;
    if (g->nnodes + n > g->capnodes) {
        int cap = g->capnodes ? g->capnodes : 16;
        while (cap < g->nnodes + n)
            cap *= 2;
        Node **p = ir_alloc_array(g->arena, (size_t)cap, sizeof(Node *));
        if (g->nnodes)
            memcpy(p, g->nodes, (size_t)g->nnodes * sizeof(Node *));
        g->nodes = p;
        g->capnodes = cap;
    }
    memmove(g->nodes + pos + n, g->nodes + pos, (size_t)(g->nnodes - pos) * sizeof(Node *));
    memcpy(g->nodes + pos, nodes, (size_t)n * sizeof(Node *));
    g->nnodes += n;
}

const Attr *ir_attr(const Node *n, const char *name)
{
    for (int i = 0; i < n->nattr; i++)
        if (strcmp(n->attrs[i].name, name) == 0)
            return &n->attrs[i];
    return NULL;
}

int64_t ir_attr_int(const Node *n, const char *name, int64_t dflt)
{
    const Attr *a = ir_attr(n, name);
    return a && a->type == ATTR_INT ? a->i : dflt;
}

float ir_attr_float(const Node *n, const char *name, float dflt)
{
    const Attr *a = ir_attr(n, name);
    return a && a->type == ATTR_FLOAT ? a->f : dflt;
}

const char *ir_attr_string(const Node *n, const char *name, const char *dflt)
{
    const Attr *a = ir_attr(n, name);
    return a && a->type == ATTR_STRING ? a->s : dflt;
}

int ir_live_nodes(const Graph *g)
{
    int k = 0;
    for (int i = 0; i < g->nnodes; i++)
        k += !g->nodes[i]->dead;
    return k;
}

void ir_recount_uses(Graph *g)
{
    for (int i = 0; i < g->nvalues; i++)
        g->values[i]->nuses = 0;
    for (int i = 0; i < g->nnodes; i++) {
        Node *n = g->nodes[i];
        if (n->dead)
            continue;
        for (int j = 0; j < n->nin; j++)
            if (n->in[j])
                n->in[j]->nuses++;
        if (n->guard)
            n->guard->nuses++;
    }
    for (int i = 0; i < g->nchecks; i++)
        g->checks[i]->nuses++;
}

void ir_replace_uses(Graph *g, Value *from, Value *to)
{
    for (int i = 0; i < g->nnodes; i++) {
        Node *n = g->nodes[i];
        for (int j = 0; j < n->nin; j++)
            if (n->in[j] == from)
                n->in[j] = to;
        if (n->guard == from)
            n->guard = to;
    }
    for (int i = 0; i < g->noutputs; i++)
        if (g->outputs[i] == from)
            g->outputs[i] = to;
    for (int i = 0; i < g->nchecks; i++)
        if (g->checks[i] == from)
            g->checks[i] = to;
}

void ir_compact(Graph *g)
{
    int k = 0;
    for (int i = 0; i < g->nnodes; i++)
        if (!g->nodes[i]->dead)
            g->nodes[k++] = g->nodes[i];
    g->nnodes = k;
}

int64_t ir_value_numel(const Value *v)
{
    int64_t n;
    return ir_shape_numel(&v->shape, &n) ? n : -1;
}

size_t ir_value_bytes(const Value *v)
{
    int64_t n = ir_value_numel(v);
    int64_t b;
    if (n < 0 || !ir_mul_ok(n, (int64_t)ir_dtype_size(v->dtype), &b))
        return 0;
    return (size_t)b;
}

static uint16_t load_u16(const void *p, int64_t i)
{
    uint16_t h;
    memcpy(&h, (const char *)p + i * 2, 2);
    return h;
}

static double half_to_double(uint16_t h)
{
    int e = (h >> 10) & 31, m = h & 1023;
    double v;
    if (e == 0)
        v = ldexp(m, -24);
    else if (e == 31)
        v = m ? NAN : INFINITY;
    else
        v = ldexp(m + 1024, e - 25);
    return h & 0x8000 ? -v : v;
}

double ir_const_f(const Value *v, int64_t i)
{
    const void *p = v->data;
    switch (v->dtype) {
    case DT_FLOAT: return ((const float *)p)[i];
    case DT_DOUBLE: return ((const double *)p)[i];
    case DT_FLOAT16: return half_to_double(load_u16(p, i));
    case DT_BFLOAT16: return ir_bf2f(load_u16(p, i));
    default: return (double)ir_const_i(v, i);
    }
}

int64_t ir_const_i(const Value *v, int64_t i)
{
    const void *p = v->data;
    switch (v->dtype) {
    case DT_BOOL:
    case DT_UINT8: return ((const uint8_t *)p)[i];
    case DT_INT8: return ((const int8_t *)p)[i];
    case DT_UINT16: return ((const uint16_t *)p)[i];
    case DT_INT16: return ((const int16_t *)p)[i];
    case DT_INT32: return ((const int32_t *)p)[i];
    case DT_INT64: return ((const int64_t *)p)[i];
    case DT_UINT32: return ((const uint32_t *)p)[i];
    case DT_UINT64: return (int64_t)((const uint64_t *)p)[i];
    case DT_FLOAT:
    case DT_DOUBLE:
    case DT_FLOAT16:
    case DT_BFLOAT16: {
        double d = ir_const_f(v, i);
        if (!(d > -9.2e18 && d < 9.2e18))
            return 0;
        return (int64_t)d;
    }
    default: return 0;
    }
}
