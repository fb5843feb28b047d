/* A structure-aware mutator for the fuzz targets: decodes the input as a
 * ModelProto, changes what a hostile model would (dims, attributes, input
 * and output counts, dtypes, opset numbers, operator names, subgraphs),
 * and encodes it again. One call in four, and whenever the bytes do not
 * decode, it leaves the work to libFuzzer's own byte mutations instead.
 *
 * The decoded message lives in one bump arena (a protobuf-c allocator
 * whose free does nothing), so a mutation may share, drop or add pointers
 * freely; the arena goes at the end of the call. A node that holds a graph
 * is never copied into a graph, so the message stays a tree. */
#include "onnx.pb-c.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);

/* ---- the arena ---- */

typedef struct Chunk {
    struct Chunk *next;
    size_t used, cap;
    _Alignas(16) unsigned char mem[];
} Chunk;

static Chunk *chunks;

static void *arena_alloc(void *unused, size_t n)
{
    (void)unused;
    n = (n + 15) & ~(size_t)15;
    if (!chunks || chunks->used + n > chunks->cap) {
        size_t cap = n > (1 << 16) ? n : (1 << 16);
        Chunk *c = malloc(sizeof *c + cap);
        if (!c)
            abort();
        c->next = chunks;
        c->used = 0;
        c->cap = cap;
        chunks = c;
    }
    void *p = chunks->mem + chunks->used;
    chunks->used += n;
    return p;
}

static void arena_free(void *unused, void *p)
{
    (void)unused;
    (void)p;
}

static void arena_release(void)
{
    while (chunks) {
        Chunk *next = chunks->next;
        free(chunks);
        chunks = next;
    }
}

static ProtobufCAllocator arena = {arena_alloc, arena_free, NULL};

/* ---- randomness: the seed libFuzzer passes, so a run replays ---- */

static uint64_t rng;

static uint32_t rnd(uint32_t n)
{
    rng = rng * 6364136223846793005u + 1442695040888963407u;
    return n ? (uint32_t)(rng >> 33) % n : 0;
}

static int64_t interesting_int(void)
{
    static const int64_t v[] = {0, 1, 2, 3, 4, 7, 8, 16, 17, 64, 65, 255, 256, 4096, 65536,
                                -1, -2, -3, -8, INT32_MAX, (int64_t)INT32_MAX + 1, INT32_MIN,
                                (int64_t)1 << 32, (int64_t)1 << 40, (int64_t)1 << 62,
                                INT64_MAX, INT64_MIN, INT64_MAX - 1};
    return v[rnd(sizeof v / sizeof v[0])];
}

static float interesting_float(void)
{
    static const float v[] = {0.0f, -0.0f, 1.0f, -1.0f, 0.5f, 2.0f, 1e-45f, 1e30f, -1e30f,
                              3.4e38f, 1.0f / 0.0f, -1.0f / 0.0f, 0.0f / 0.0f, 1e-7f};
    return v[rnd(sizeof v / sizeof v[0])];
}

static void *grow(void *old, size_t n, size_t elem)
{
    void *p = arena_alloc(NULL, (n + 1) * elem);
    if (n)
        memcpy(p, old, n * elem);
    return p;
}

static char *str(const char *s)
{
    size_t n = strlen(s);
    char *p = arena_alloc(NULL, n + 1);
    memcpy(p, s, n + 1);
    return p;
}

/* ---- what to mutate: every graph, node and value info of the model ---- */

#define MAX_ITEMS 4096

typedef struct {
    Onnx__ModelProto *m;
    Onnx__GraphProto *graphs[MAX_ITEMS];
    int ngraphs;
    Onnx__NodeProto *nodes[MAX_ITEMS];
    Onnx__GraphProto *node_graph[MAX_ITEMS];   /* the graph each node is in */
    int nnodes;
    Onnx__ValueInfoProto *infos[MAX_ITEMS];
    int ninfos;
    Onnx__TensorProto *tensors[MAX_ITEMS];
    int ntensors;
} Items;

static void collect(Items *it, Onnx__GraphProto *g, int depth)
{
    if (!g || it->ngraphs == MAX_ITEMS || depth > 32)
        return;
    it->graphs[it->ngraphs++] = g;
    for (size_t i = 0; i < g->n_input + g->n_output + g->n_value_info; i++) {
        Onnx__ValueInfoProto *v = i < g->n_input ? g->input[i]
                                  : i < g->n_input + g->n_output ? g->output[i - g->n_input]
                                  : g->value_info[i - g->n_input - g->n_output];
        if (v && it->ninfos < MAX_ITEMS)
            it->infos[it->ninfos++] = v;
    }
    for (size_t i = 0; i < g->n_initializer; i++)
        if (g->initializer[i] && it->ntensors < MAX_ITEMS)
            it->tensors[it->ntensors++] = g->initializer[i];
    for (size_t i = 0; i < g->n_node; i++) {
        Onnx__NodeProto *n = g->node[i];
        if (!n)
            continue;
        if (it->nnodes < MAX_ITEMS) {
            it->node_graph[it->nnodes] = g;
            it->nodes[it->nnodes++] = n;
        }
        for (size_t a = 0; a < n->n_attribute; a++) {
            Onnx__AttributeProto *ap = n->attribute[a];
            if (!ap)
                continue;
            if (ap->t && it->ntensors < MAX_ITEMS)
                it->tensors[it->ntensors++] = ap->t;
            collect(it, ap->g, depth + 1);
            for (size_t k = 0; k < ap->n_graphs; k++)
                collect(it, ap->graphs[k], depth + 1);
        }
    }
}

static bool holds_graph(const Onnx__NodeProto *n)
{
    for (size_t a = 0; a < n->n_attribute; a++)
        if (n->attribute[a] && (n->attribute[a]->g || n->attribute[a]->n_graphs))
            return true;
    return false;
}

/* A name some node or graph of the model uses, or "" (an omitted input). */
static char *some_name(Items *it)
{
    if (!it->nnodes || rnd(8) == 0)
        return str(rnd(2) ? "" : "fuzz_undefined");
    Onnx__NodeProto *n = it->nodes[rnd((uint32_t)it->nnodes)];
    if (n->n_output && rnd(2))
        return n->output[rnd((uint32_t)n->n_output)];
    if (n->n_input)
        return n->input[rnd((uint32_t)n->n_input)];
    return str("");
}

static const char *const op_names[] = {
    "Add", "Sub", "Mul", "Div", "Pow", "Relu", "Sigmoid", "Tanh", "Exp", "Log", "Sqrt", "Neg",
    "Abs", "Clip", "Cast", "CastLike", "Where", "Equal", "Less", "Greater", "Not", "And",
    "Sum", "Max", "Min", "Mean", "Conv", "ConvTranspose", "Gemm", "MatMul", "Einsum",
    "MaxPool", "AveragePool", "GlobalAveragePool", "BatchNormalization",
    "InstanceNormalization", "LayerNormalization", "LRN", "Softmax", "LogSoftmax",
    "ReduceMean", "ReduceSum", "ReduceMax", "ArgMax", "TopK", "CumSum", "Concat", "Split",
    "Slice", "Gather", "GatherElements", "ScatterND", "Transpose", "Reshape", "Flatten",
    "Squeeze", "Unsqueeze", "Expand", "Tile", "Pad", "Shape", "Size", "ConstantOfShape",
    "Constant", "Range", "OneHot", "Resize", "DepthToSpace", "SpaceToDepth", "Identity",
    "Dropout", "If", "Loop", "Scan", "LSTM", "GRU", "RNN", "Attention", "NonZero",
    "Compress", "Trilu", "Mod", "BitShift", "Erf", "Gelu", "HardSwish", "LeakyRelu",
};

static const char *const attr_names[] = {
    "axis", "axes", "perm", "kernel_shape", "pads", "strides", "dilations", "group", "to",
    "keepdims", "alpha", "beta", "transA", "transB", "epsilon", "k", "largest", "sorted",
    "split", "starts", "ends", "value", "mode", "auto_pad", "ceil_mode", "count_include_pad",
    "hidden_size", "direction", "num_scan_inputs", "blocksize", "exclusive", "reverse",
    "output_padding", "output_shape", "equation", "batch_dims", "allowzero", "upper",
};

static const int dtypes[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 16, 17, 99};

/* ---- the mutations; each returns false when it found nothing to do ---- */

/* v's type is a tensor's (TypeProto.value is a oneof: its other members
 * share the pointer). */
static bool tensor_type(const Onnx__ValueInfoProto *v)
{
    return v->type && v->type->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE &&
           v->type->tensor_type;
}

static bool mutate_dim(Items *it)
{
    if (it->ninfos && rnd(2)) {
        Onnx__ValueInfoProto *v = it->infos[rnd((uint32_t)it->ninfos)];
        if (!tensor_type(v) || !v->type->tensor_type->shape)
            return false;
        Onnx__TensorShapeProto *s = v->type->tensor_type->shape;
        if (s->n_dim && rnd(4)) {
            Onnx__TensorShapeProto__Dimension *d = s->dim[rnd((uint32_t)s->n_dim)];
            if (!d)
                return false;
            if (rnd(6) == 0) {
                d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
                d->dim_param = str("N");
            } else {
                d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
                d->dim_value = interesting_int();
            }
        } else if (s->n_dim && rnd(2)) {
            s->n_dim--;                         /* drop the last dim */
        } else {                                /* add a dim */
            s->dim = grow(s->dim, s->n_dim, sizeof *s->dim);
            Onnx__TensorShapeProto__Dimension *d = arena_alloc(NULL, sizeof *d);
            onnx__tensor_shape_proto__dimension__init(d);
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            d->dim_value = rnd(2) ? 1 : interesting_int();
            s->dim[s->n_dim++] = d;
        }
        return true;
    }
    if (!it->ntensors)
        return false;
    Onnx__TensorProto *t = it->tensors[rnd((uint32_t)it->ntensors)];
    if (t->n_dims && rnd(3)) {
        t->dims[rnd((uint32_t)t->n_dims)] = interesting_int();
    } else if (t->n_dims && rnd(2)) {
        t->n_dims--;
    } else {
        t->dims = grow(t->dims, t->n_dims, sizeof *t->dims);
        t->dims[t->n_dims++] = rnd(2) ? 1 : interesting_int();
    }
    return true;
}

static bool mutate_attr(Items *it)
{
    if (!it->nnodes)
        return false;
    Onnx__NodeProto *n = it->nodes[rnd((uint32_t)it->nnodes)];
    if (!n->n_attribute || rnd(5) == 0) {     /* add one */
        Onnx__AttributeProto *a = arena_alloc(NULL, sizeof *a);
        onnx__attribute_proto__init(a);
        a->name = str(attr_names[rnd(sizeof attr_names / sizeof attr_names[0])]);
        a->has_type = 1;
        switch (rnd(3)) {
        case 0:
            a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
            a->has_i = 1;
            a->i = interesting_int();
            break;
        case 1:
            a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
            a->has_f = 1;
            a->f = interesting_float();
            break;
        default: {
            a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
            a->n_ints = rnd(10);
            a->ints = arena_alloc(NULL, (a->n_ints + 1) * sizeof *a->ints);
            for (size_t k = 0; k < a->n_ints; k++)
                a->ints[k] = rnd(2) ? (int64_t)rnd(4) : interesting_int();
        }
        }
        n->attribute = grow(n->attribute, n->n_attribute, sizeof *n->attribute);
        n->attribute[n->n_attribute++] = a;
        return true;
    }
    Onnx__AttributeProto *a = n->attribute[rnd((uint32_t)n->n_attribute)];
    if (!a)
        return false;
    switch (rnd(8)) {
    case 0:     /* a type that may not match the value */
        a->has_type = 1;
        a->type = (Onnx__AttributeProto__AttributeType)rnd(16);
        return true;
    case 1:
        a->has_f = 1;
        a->f = interesting_float();
        return true;
    case 2:
        if (a->n_floats) {
            a->floats[rnd((uint32_t)a->n_floats)] = interesting_float();
            return true;
        }
        /* fall through */
    case 3:
        if (a->n_ints && rnd(2)) {
            a->n_ints -= 1 + rnd((uint32_t)a->n_ints);
            return true;
        }
        a->ints = grow(a->ints, a->n_ints, sizeof *a->ints);
        a->ints[a->n_ints++] = rnd(2) ? (int64_t)rnd(4) : interesting_int();
        return true;
    case 4:
        if (a->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING || a->has_s) {
            static const char *const s[] = {"", "NOTSET", "SAME_UPPER", "VALID", "nearest",
                                            "linear", "cubic", "ij,jk->ik", "...i->i",
                                            "bidirectional", "reverse", "DCR", "CRD"};
            const char *v = s[rnd(sizeof s / sizeof s[0])];
            a->has_s = 1;
            a->s.data = (uint8_t *)str(v);
            a->s.len = strlen(v);
            return true;
        }
        /* fall through */
    default:
        if (a->n_ints) {
            a->ints[rnd((uint32_t)a->n_ints)] = interesting_int();
        } else {
            a->has_i = 1;
            a->i = rnd(2) ? (int64_t)rnd(5) - 2 : interesting_int();
        }
        return true;
    }
}

static bool mutate_arity(Items *it)
{
    if (!it->nnodes)
        return false;
    Onnx__NodeProto *n = it->nodes[rnd((uint32_t)it->nnodes)];
    switch (rnd(6)) {
    case 0: {   /* one more input (named first: some_name may read n's inputs) */
        char *name = some_name(it);
        n->input = grow(n->input, n->n_input, sizeof *n->input);
        n->input[n->n_input++] = name;
        return true;
    }
    case 1:     /* many more: the variadic rows' limits */
    {
        size_t more = 1 + rnd(80);
        char *name = n->n_input ? n->input[0] : some_name(it);
        char **p = arena_alloc(NULL, (n->n_input + more) * sizeof *p);
        for (size_t k = 0; k < n->n_input; k++)
            p[k] = n->input[k];
        for (size_t k = 0; k < more; k++)
            p[n->n_input + k] = name;
        n->input = p;
        n->n_input += more;
        return true;
    }
    case 2:
        if (!n->n_input)
            return false;
        n->n_input--;
        return true;
    case 3:
        if (!n->n_input)
            return false;
        n->input[rnd((uint32_t)n->n_input)] = some_name(it);
        return true;
    case 4: {   /* one more output, new or someone else's */
        char buf[32];
        snprintf(buf, sizeof buf, "fuzz_out%u", rnd(1000));
        char *name = rnd(3) ? str(buf) : some_name(it);
        n->output = grow(n->output, n->n_output, sizeof *n->output);
        n->output[n->n_output++] = name;
        return true;
    }
    default:
        if (!n->n_output)
            return false;
        n->n_output--;
        return true;
    }
}

static bool mutate_dtype(Items *it)
{
    int dt = dtypes[rnd(sizeof dtypes / sizeof dtypes[0])];
    if (it->ninfos && rnd(2)) {
        Onnx__ValueInfoProto *v = it->infos[rnd((uint32_t)it->ninfos)];
        if (!tensor_type(v))
            return false;
        v->type->tensor_type->has_elem_type = 1;
        v->type->tensor_type->elem_type = dt;
        return true;
    }
    if (!it->ntensors)
        return false;
    Onnx__TensorProto *t = it->tensors[rnd((uint32_t)it->ntensors)];
    t->has_data_type = 1;
    t->data_type = dt;
    return true;
}

static bool mutate_opset(Items *it)
{
    static const int64_t v[] = {0, 1, 6, 7, 8, 9, 10, 11, 12, 13, 14, 17, 18, 19, 21, 22, 23,
                                999, -1, INT64_MAX};
    Onnx__ModelProto *m = it->m;
    if (!m->n_opset_import)
        return false;
    Onnx__OperatorSetIdProto *o = m->opset_import[rnd((uint32_t)m->n_opset_import)];
    if (!o)
        return false;
    o->has_version = 1;
    o->version = v[rnd(sizeof v / sizeof v[0])];
    return true;
}

static bool mutate_op(Items *it)
{
    if (!it->nnodes)
        return false;
    Onnx__NodeProto *n = it->nodes[rnd((uint32_t)it->nnodes)];
    if (rnd(10) == 0)
        n->domain = str(rnd(2) ? "" : "com.example");
    else
        n->op_type = str(op_names[rnd(sizeof op_names / sizeof op_names[0])]);
    return true;
}

/* Node order and membership: copy a node (one holding no graph) into a
 * graph, delete or swap nodes, or wrap a node into a new If. */
static bool mutate_nodes(Items *it)
{
    if (!it->nnodes)
        return false;
    int k = (int)rnd((uint32_t)it->nnodes);
    Onnx__NodeProto *n = it->nodes[k];
    Onnx__GraphProto *home = it->node_graph[k];
    Onnx__GraphProto *g = it->graphs[rnd((uint32_t)it->ngraphs)];
    switch (rnd(4)) {
    case 0: {   /* a copy of n at a random place in a random graph */
        if (holds_graph(n))
            return false;
        size_t at = rnd((uint32_t)g->n_node + 1);
        Onnx__NodeProto **p = arena_alloc(NULL, (g->n_node + 1) * sizeof *p);
        for (size_t i = 0; i < g->n_node; i++)
            p[i + (i >= at)] = g->node[i];
        p[at] = n;
        g->node = p;
        g->n_node++;
        return true;
    }
    case 1: {   /* delete n */
        size_t j = 0;
        for (size_t i = 0; i < home->n_node; i++)
            if (home->node[i] != n)
                home->node[j++] = home->node[i];
        home->n_node = j;
        return true;
    }
    case 2: {   /* swap two nodes of one graph */
        if (home->n_node < 2)
            return false;
        size_t a = rnd((uint32_t)home->n_node), b = rnd((uint32_t)home->n_node);
        Onnx__NodeProto *t = home->node[a];
        home->node[a] = home->node[b];
        home->node[b] = t;
        return true;
    }
    default: {  /* n's place taken by If(cond) { n } else { n }: one level deeper */
        if (holds_graph(n) || !n->n_output)
            return false;
        Onnx__GraphProto *branch = arena_alloc(NULL, sizeof *branch);
        onnx__graph_proto__init(branch);
        branch->name = str("fuzz_branch");
        branch->n_node = 1;
        branch->node = arena_alloc(NULL, sizeof *branch->node);
        branch->node[0] = n;
        branch->n_output = 1;
        branch->output = arena_alloc(NULL, sizeof *branch->output);
        Onnx__ValueInfoProto *vo = arena_alloc(NULL, sizeof *vo);
        onnx__value_info_proto__init(vo);
        vo->name = n->output[0];
        branch->output[0] = vo;
        Onnx__NodeProto *w = arena_alloc(NULL, sizeof *w);
        onnx__node_proto__init(w);
        w->op_type = str("If");
        w->name = str("fuzz_if");
        w->n_input = 1;
        w->input = arena_alloc(NULL, sizeof *w->input);
        w->input[0] = some_name(it);
        w->n_output = 1;
        w->output = arena_alloc(NULL, sizeof *w->output);
        w->output[0] = n->output[0];
        w->n_attribute = 2;
        w->attribute = arena_alloc(NULL, 2 * sizeof *w->attribute);
        for (int b = 0; b < 2; b++) {
            Onnx__AttributeProto *a = arena_alloc(NULL, sizeof *a);
            onnx__attribute_proto__init(a);
            a->name = str(b ? "else_branch" : "then_branch");
            a->has_type = 1;
            a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH;
            a->g = branch;
            w->attribute[b] = a;
        }
        for (size_t i = 0; i < home->n_node; i++)
            if (home->node[i] == n)
                home->node[i] = w;
        return true;
    }
    }
}

static bool mutate_tensor(Items *it)
{
    if (!it->ntensors)
        return false;
    Onnx__TensorProto *t = it->tensors[rnd((uint32_t)it->ntensors)];
    if (t->has_raw_data && t->raw_data.len) {
        if (rnd(2)) {
            t->raw_data.len = rnd((uint32_t)t->raw_data.len);
        } else {    /* an element's bytes: a big or negative integer, a NaN */
            uint8_t *p = arena_alloc(NULL, t->raw_data.len);
            memcpy(p, t->raw_data.data, t->raw_data.len);
            size_t at = rnd((uint32_t)t->raw_data.len);
            int64_t v = interesting_int();
            size_t n = t->raw_data.len - at < 8 ? t->raw_data.len - at : 8;
            memcpy(p + at, &v, n);
            t->raw_data.data = p;
        }
        return true;
    }
    if (t->n_int64_data) {
        t->int64_data[rnd((uint32_t)t->n_int64_data)] = interesting_int();
        return true;
    }
    if (t->n_float_data) {
        t->float_data[rnd((uint32_t)t->n_float_data)] = interesting_float();
        return true;
    }
    if (t->n_int32_data) {
        t->int32_data[rnd((uint32_t)t->n_int32_data)] = (int32_t)interesting_int();
        return true;
    }
    return false;
}

static bool mutate_once(Items *it)
{
    switch (rnd(10)) {
    case 0:
    case 1: return mutate_dim(it);
    case 2:
    case 3: return mutate_attr(it);
    case 4: return mutate_arity(it);
    case 5: return mutate_dtype(it);
    case 6: return mutate_opset(it);
    case 7: return mutate_op(it);
    case 8: return mutate_nodes(it);
    default: return mutate_tensor(it);
    }
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
    rng = seed * 0x9E3779B97F4A7C15u + 1;
    if (rnd(4) == 0)
        return LLVMFuzzerMutate(data, size, max_size);
    Onnx__ModelProto *m = onnx__model_proto__unpack(&arena, size, data);
    if (!m || !m->graph) {
        arena_release();
        return LLVMFuzzerMutate(data, size, max_size);
    }
    static Items it;
    memset(&it, 0, sizeof it);
    it.m = m;
    collect(&it, m->graph, 0);
    int done = 0;
    for (int tries = 0, want = 1 + (int)rnd(3); tries < 16 && done < want; tries++)
        done += mutate_once(&it);
    size_t n = onnx__model_proto__get_packed_size(m);
    if (!done || n > max_size) {
        arena_release();
        return LLVMFuzzerMutate(data, size, max_size);
    }
    onnx__model_proto__pack(m, data);
    arena_release();
    return n;
}
