/* ModelProto -> Graph: opsets, initializers, inputs, nodes, attributes. */
#include "frontend_internal.h"

#include <libgen.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Serialized models above this are refused before reading (protobuf's own
 * limit is 2 GB; weights beyond that go to external data). */
#define FE_MAX_MODEL_BYTES ((long long)2 << 30)

void fe_error(FeCtx *c, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    diag_error(c->d, c->node, "%s", msg);
}

/* ---- name table ---- */

static size_t hash(const char *s)
{
    size_t h = 1469598103934665603u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return h;
}

static Value **slot(FeScope *sc, const char *name)
{
    size_t i = hash(name) & (sc->nslots - 1);
    while (sc->slots[i] && strcmp(sc->slots[i]->name, name) != 0)
        i = (i + 1) & (sc->nslots - 1);
    return &sc->slots[i];
}

static void table_init(FeCtx *c, FeScope *sc, size_t count)
{
    size_t n = 64;
    while (n < count * 2 + 16)
        n *= 2;
    sc->nslots = n;
    sc->nused = 0;
    sc->slots = ir_alloc_array(c->g->arena, n, sizeof(Value *));
}

/* Doubles sc's table. The first size is a guess from the graph's lists;
 * a node may name more values than that (a Split of 100 outputs), and a
 * full table would make slot() probe forever. */
static void table_grow(FeCtx *c, FeScope *sc)
{
    Value **old = sc->slots;
    size_t nold = sc->nslots;
    sc->nslots = nold * 2;
    sc->slots = ir_alloc_array(c->g->arena, sc->nslots, sizeof(Value *));
    for (size_t i = 0; i < nold; i++)
        if (old[i])
            *slot(sc, old[i]->name) = old[i];
}

/* The value called `name` in the innermost scope only. */
static Value *lookup(FeCtx *c, const char *name)
{
    return *slot(c->scope, name);
}

/* The value called `name` defined in the innermost scope, created on first
 * mention. */
static Value *intern(FeCtx *c, const char *name)
{
    FeScope *sc = c->scope;
    Value **s = slot(sc, name);
    if (*s)
        return *s;
    if ((sc->nused + 1) * 2 > sc->nslots) {    /* keep it at most half full */
        table_grow(c, sc);
        s = slot(sc, name);
    }
    sc->nused++;
    *s = ir_value_new(c->g, name);
    return *s;
}

static void add_capture(FeCtx *c, FeScope *sc, Value *v)
{
    for (int i = 0; i < sc->ncaptures; i++)
        if (sc->captures[i] == v)
            return;
    if (sc->ncaptures == sc->capcaptures) {
        int cap = sc->capcaptures ? sc->capcaptures * 2 : 8;
        Value **p = ir_alloc_array(c->g->arena, (size_t)cap, sizeof(Value *));
        if (sc->ncaptures)
            memcpy(p, sc->captures, (size_t)sc->ncaptures * sizeof(Value *));
        sc->captures = p;
        sc->capcaptures = cap;
    }
    sc->captures[sc->ncaptures++] = v;
}

/* The value a reference to `name` means: the innermost scope's, else the
 * nearest enclosing scope's (lexical scoping; every scope in between
 * captures it), else a new value of the innermost scope that something
 * must still define. */
static Value *use(FeCtx *c, const char *name)
{
    Value *v = lookup(c, name);
    if (v)
        return v;
    for (FeScope *sc = c->scope->outer; sc; sc = sc->outer) {
        v = *slot(sc, name);
        if (!v)
            continue;
        for (FeScope *in = c->scope; in != sc; in = in->outer)
            add_capture(c, in, v);
        return v;
    }
    return intern(c, name);
}

/* ---- types ---- */

static bool read_type(FeCtx *c, const Onnx__ValueInfoProto *vi, Value *v)
{
    const Onnx__TypeProto *tp = vi->type;
    if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type) {
        fe_error(c, "input '%s': unsupported non-tensor type", v->name);
        return false;
    }
    const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
    DType dt = tt->has_elem_type ? (DType)tt->elem_type : DT_UNDEF;
    if (!ir_dtype_supported(dt)) {
        fe_error(c, "input '%s': unsupported dtype %d (%s)", v->name, (int)dt, ir_dtype_name(dt));
        return false;
    }
    v->dtype = dt;
    if (!tt->shape) {
        fe_error(c, "input '%s': unsupported: no shape given (bind one with --shape)", v->name);
        return false;
    }
    if (tt->shape->n_dim > IR_MAX_RANK) {
        fe_error(c, "input '%s': unsupported rank %zu (at most %d)", v->name, tt->shape->n_dim,
                 IR_MAX_RANK);
        return false;
    }
    v->shape.rank = (int)tt->shape->n_dim;
    for (size_t i = 0; i < tt->shape->n_dim; i++) {
        const Onnx__TensorShapeProto__Dimension *d = tt->shape->dim[i];
        v->shape.dim[i] = -1;
        if (d && d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE) {
            /* exporters write -1 for "unknown": like a missing dim, --shape binds it */
            if (d->dim_value >= 0)
                v->shape.dim[i] = d->dim_value;
        } else if (d && d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM) {
            v->shape.sym[i] = ir_strdup(c->g->arena, d->dim_param);
        }
    }
    int64_t numel, bytes;
    if (ir_shape_known(&v->shape) &&
        (!ir_shape_numel(&v->shape, &numel) ||
         !ir_mul_ok(numel, (int64_t)ir_dtype_size(dt), &bytes))) {
        fe_error(c, "input '%s': dims %s overflow", v->name,
                 ir_shape_str(c->g->arena, &v->shape));
        return false;
    }
    v->has_type = true;
    return true;
}

/* ---- attributes ---- */

static Subgraph *read_subgraph(FeCtx *c, const Onnx__GraphProto *gp, const char *attr);

static bool read_attr(FeCtx *c, const Onnx__AttributeProto *ap, Attr *a)
{
    Arena *ar = c->g->arena;
    a->name = ir_strdup(ar, ap->name);
    AttrType t = ap->has_type ? (AttrType)ap->type : ATTR_UNDEF;
    if (ap->ref_attr_name && *ap->ref_attr_name) {
        fe_error(c, "attribute '%s': unsupported reference attribute", a->name);
        return false;
    }
    if (t == ATTR_UNDEF) {  /* IR version 1 models may omit the type */
        t = ap->has_f ? ATTR_FLOAT : ap->has_i ? ATTR_INT : ap->has_s ? ATTR_STRING
          : ap->t ? ATTR_TENSOR : ap->g ? ATTR_GRAPH : ap->n_floats ? ATTR_FLOATS
          : ap->n_ints ? ATTR_INTS : ap->n_strings ? ATTR_STRINGS : ATTR_UNDEF;
    }
    a->type = t;
    switch (t) {
    case ATTR_FLOAT: a->f = ap->f; break;
    case ATTR_INT: a->i = ap->i; break;
    case ATTR_STRING:
        a->s = ir_strndup(ar, (const char *)ap->s.data, ap->s.len);
        a->slen = ap->s.len;
        break;
    case ATTR_FLOATS:
        a->n = (int)ap->n_floats;
        a->floats = ir_alloc_array(ar, ap->n_floats, sizeof(float));
        if (ap->n_floats)  /* an empty list may be a NULL pointer */
            memcpy(a->floats, ap->floats, ap->n_floats * sizeof(float));
        break;
    case ATTR_INTS:
        a->n = (int)ap->n_ints;
        a->ints = ir_alloc_array(ar, ap->n_ints, sizeof(int64_t));
        if (ap->n_ints)  /* an empty list may be a NULL pointer */
            memcpy(a->ints, ap->ints, ap->n_ints * sizeof(int64_t));
        break;
    case ATTR_STRINGS:
        a->n = (int)ap->n_strings;
        a->strings = ir_alloc_array(ar, ap->n_strings, sizeof(char *));
        for (size_t i = 0; i < ap->n_strings; i++)
            a->strings[i] = ir_strndup(ar, (const char *)ap->strings[i].data, ap->strings[i].len);
        break;
    case ATTR_TENSOR:
        if (!ap->t) {
            fe_error(c, "attribute '%s': tensor attribute without a tensor", a->name);
            return false;
        }
        a->t = ir_alloc(ar, sizeof(Value));
        a->t->name = a->name;
        a->t->output_index = -1;
        a->t->offset = -1;
        a->t->weight_offset = -1;
        return fe_tensor(c, ap->t, a->t, ir_sprintf(ar, "attribute '%s'", a->name));
    case ATTR_GRAPH:
        if (!ap->g) {
            fe_error(c, "attribute '%s': graph attribute without a graph", a->name);
            return false;
        }
        a->sub = read_subgraph(c, ap->g, a->name);
        return a->sub != NULL;
    case ATTR_UNDEF:
        fe_error(c, "attribute '%s': no type and no value", a->name);
        return false;
    default:
        /* Graphs, sparse tensors, type protos: kept as a type only; the
         * operator's row rejects what it does not understand. */
        break;
    }
    if (ap->n_ints > (size_t)INT32_MAX || ap->n_floats > (size_t)INT32_MAX) {
        fe_error(c, "attribute '%s': too many elements", a->name);
        return false;
    }
    return true;
}

/* ---- nodes ---- */

static bool default_domain(const char *d)
{
    return !d || !*d || strcmp(d, "ai.onnx") == 0;
}

/* The outer-scope values n's subgraphs read become trailing inputs of n
 * (Node.ncapture), so ordering and liveness see them. */
static void append_captures(FeCtx *c, Node *n, const FeScope *const *subs, int nsubs)
{
    int extra = 0;
    for (int s = 0; s < nsubs; s++)
        extra += subs[s]->ncaptures;
    if (!extra)
        return;
    Value **in = ir_alloc_array(c->g->arena, (size_t)(n->nin + extra), sizeof(Value *));
    if (n->nin)
        memcpy(in, n->in, (size_t)n->nin * sizeof(Value *));
    int k = n->nin;
    for (int s = 0; s < nsubs; s++)
        for (int i = 0; i < subs[s]->ncaptures; i++) {
            bool seen = false;
            for (int j = n->nin; j < k; j++)
                seen |= in[j] == subs[s]->captures[i];
            if (!seen)
                in[k++] = subs[s]->captures[i];
        }
    n->ncapture = k - n->nin;
    n->in = in;
    n->nin = k;
}

/* A node of the innermost scope: appended to the main graph, or returned
 * for the subgraph being read. */
static Node *read_node(FeCtx *c, const Onnx__NodeProto *np, int index)
{
    Graph *g = c->g;
    const char *op = np->op_type ? np->op_type : "";
    Node *n = c->scope->outer ? ir_node_alloc(g, op, (int)np->n_input, (int)np->n_output)
                              : ir_node_new(g, op, (int)np->n_input, (int)np->n_output);
    n->index = index;
    n->name = ir_strdup(g->arena, np->name);
    n->domain = ir_strdup(g->arena, default_domain(np->domain) ? "" : np->domain);
    c->node = n;
    bool ok = true;
    for (size_t i = 0; i < np->n_input; i++)
        n->in[i] = np->input[i] && *np->input[i] ? use(c, np->input[i]) : NULL;
    n->nattr = (int)np->n_attribute;
    n->attrs = ir_alloc_array(g->arena, np->n_attribute, sizeof(Attr));
    const FeScope *subs[4];
    int nsubs = 0;
    for (size_t i = 0; i < np->n_attribute && ok; i++) {
        ok = read_attr(c, np->attribute[i], &n->attrs[i]);
        c->node = n;    /* a subgraph's nodes took its place */
        if (ok && n->attrs[i].sub) {
            if (nsubs == (int)(sizeof subs / sizeof subs[0])) {
                fe_error(c, "unsupported: more than %d graph attributes", nsubs);
                ok = false;
            } else {
                subs[nsubs++] = c->last_sub;
            }
        }
    }
    if (ok)
        append_captures(c, n, subs, nsubs);
    /* Outputs after the attributes: a subgraph may not read what its own
     * node defines. */
    for (size_t i = 0; i < np->n_output; i++)
        n->out[i] = np->output[i] && *np->output[i] ? intern(c, np->output[i]) : NULL;
    c->node = NULL;
    return ok ? n : NULL;
}


static int64_t default_opset(FeCtx *c, const Onnx__ModelProto *m)
{
    for (size_t i = 0; i < m->n_opset_import; i++) {
        const Onnx__OperatorSetIdProto *o = m->opset_import[i];
        if (o && default_domain(o->domain))
            return o->has_version ? o->version : 1;
    }
    (void)c;
    return m->n_opset_import ? 0 : 1;   /* very old models list no opsets */
}

/* A graph attribute's body, read in a scope of its own inside the current
 * one. Every value its nodes read must be defined: by one of its nodes, an
 * initializer, a formal input, or an enclosing scope. */
static Subgraph *read_subgraph(FeCtx *c, const Onnx__GraphProto *gp, const char *attr)
{
    Graph *g = c->g;
    if (c->depth >= FE_MAX_SUBGRAPH_DEPTH) {
        fe_error(c, "attribute '%s': unsupported: subgraphs nested more than %d deep", attr,
                 FE_MAX_SUBGRAPH_DEPTH);
        return NULL;
    }
    const Node *owner = c->node;
    const char *owner_name = owner && owner->name && *owner->name ? owner->name : "node";
    Subgraph *sg = ir_alloc(g->arena, sizeof *sg);
    sg->name = ir_sprintf(g->arena, "%s/%s", owner_name, attr);
    FeScope *sc = ir_alloc(g->arena, sizeof *sc);
    sc->outer = c->scope;
    c->scope = sc;
    c->depth++;
    table_init(c, sc, gp->n_node * 2 + gp->n_initializer + gp->n_input + gp->n_output);
    bool ok = true;
    for (size_t i = 0; i < gp->n_initializer && ok; i++) {
        const Onnx__TensorProto *t = gp->initializer[i];
        const char *name = t && t->name ? t->name : "";
        if (!*name || lookup(c, name)) {
            fe_error(c, "subgraph '%s': initializer %zu '%s': %s", sg->name, i, name,
                     *name ? "duplicate name" : "no name");
            ok = false;
            break;
        }
        ok = fe_tensor(c, t, intern(c, name), ir_sprintf(g->arena, "initializer '%s'", name));
    }
    if (ok && gp->n_sparse_initializer) {
        fe_error(c, "subgraph '%s': unsupported: sparse initializers", sg->name);
        ok = false;
    }
    sg->in = ir_alloc_array(g->arena, gp->n_input, sizeof(Value *));
    for (size_t i = 0; i < gp->n_input && ok; i++) {
        const char *name = gp->input[i] && gp->input[i]->name ? gp->input[i]->name : "";
        if (!*name || (lookup(c, name) && !lookup(c, name)->data)) {
            fe_error(c, "subgraph '%s': input %zu '%s': %s", sg->name, i, name,
                     *name ? "listed twice" : "no name");
            ok = false;
            break;
        }
        Value *v = intern(c, name);
        if (v->data) {  /* an initializer listed as input: a constant input is not bindable */
            fe_error(c, "subgraph '%s': input '%s' is also an initializer", sg->name, name);
            ok = false;
            break;
        }
        sg->in[sg->nin++] = v;
    }
    sg->nodes = ir_alloc_array(g->arena, gp->n_node, sizeof(Node *));
    for (size_t i = 0; i < gp->n_node && ok; i++) {
        Node *n = read_node(c, gp->node[i], (int)i);
        ok = n != NULL;
        if (ok)
            sg->nodes[sg->nnodes++] = n;
    }
    /* Each value of this scope is defined once; every one read is defined. */
    for (int i = 0; i < sg->nnodes && ok; i++) {
        Node *n = sg->nodes[i];
        for (int j = 0; j < n->nout && ok; j++) {
            Value *v = n->out[j];
            if (!v)
                continue;
            bool formal = false;
            for (int k = 0; k < sg->nin; k++)
                formal |= sg->in[k] == v;
            if (v->producer || v->data || formal) {
                c->node = n;
                fe_error(c, "subgraph '%s': output '%s' is already defined", sg->name, v->name);
                ok = false;
            }
            v->producer = n;
        }
    }
    for (size_t i = 0; i < gp->n_output && ok; i++) {
        const char *name = gp->output[i] && gp->output[i]->name ? gp->output[i]->name : "";
        if (!*name) {
            fe_error(c, "subgraph '%s': output %zu has no name", sg->name, i);
            ok = false;
        }
    }
    sg->out = ir_alloc_array(g->arena, gp->n_output, sizeof(Value *));
    for (size_t i = 0; i < gp->n_output && ok; i++)
        sg->out[sg->nout++] = use(c, gp->output[i]->name);
    for (size_t s = 0; s < sc->nslots && ok; s++) {
        Value *v = sc->slots[s];
        bool formal = false;
        for (int k = 0; v && k < sg->nin; k++)
            formal |= sg->in[k] == v;
        if (v && !v->producer && !v->data && !formal) {
            c->node = owner;
            fe_error(c, "subgraph '%s': value '%s' is not defined in it or in an enclosing scope",
                     sg->name, v->name);
            ok = false;
        }
    }
    c->node = owner;
    c->scope = sc->outer;
    c->depth--;
    c->last_sub = sc;
    return ok ? sg : NULL;
}

static bool read_graph(FeCtx *c, const Onnx__GraphProto *gp)
{
    Graph *g = c->g;
    bool ok = true;
    table_init(c, c->scope, gp->n_node * 2 + gp->n_initializer + gp->n_input + gp->n_output);

    for (size_t i = 0; i < gp->n_initializer; i++) {
        const Onnx__TensorProto *t = gp->initializer[i];
        const char *name = t && t->name ? t->name : "";
        if (!*name || lookup(c, name)) {
            fe_error(c, "initializer %zu '%s': %s", i, name, *name ? "duplicate name" : "no name");
            ok = false;
            continue;
        }
        Value *v = intern(c, name);
        ok = fe_tensor(c, t, v, ir_sprintf(g->arena, "initializer '%s'", name)) && ok;
    }
    if (gp->n_sparse_initializer) {
        fe_error(c, "unsupported: sparse initializers");
        ok = false;
    }
    g->inputs = ir_alloc_array(g->arena, gp->n_input, sizeof(Value *));
    for (size_t i = 0; i < gp->n_input; i++) {
        const Onnx__ValueInfoProto *vi = gp->input[i];
        const char *name = vi && vi->name ? vi->name : "";
        Value *v = lookup(c, name);
        if (v && v->data)
            continue;   /* an initializer listed as input is a constant */
        if (v) {
            fe_error(c, "graph input '%s' is listed twice", name);
            ok = false;
            continue;
        }
        v = intern(c, name);
        v->is_input = true;
        v->input_index = g->ninputs;
        g->inputs[g->ninputs++] = v;
        ok = read_type(c, vi, v) && ok;
    }
    for (size_t i = 0; i < gp->n_node; i++)
        ok = read_node(c, gp->node[i], (int)i) != NULL && ok;
    g->outputs = ir_alloc_array(g->arena, gp->n_output, sizeof(Value *));
    for (size_t i = 0; i < gp->n_output; i++) {
        const char *name = gp->output[i] && gp->output[i]->name ? gp->output[i]->name : "";
        Value *v = intern(c, name);
        if (v->output_index >= 0) {
            fe_error(c, "graph output '%s' is listed twice", name);
            ok = false;
        }
        v->output_index = (int)i;
        g->outputs[g->noutputs++] = v;
    }
    if (g->noutputs == 0) {
        fe_error(c, "the graph has no outputs");
        ok = false;
    }
    return ok;
}

static unsigned char *read_file(const char *path, size_t *len, Diag *d)
{
    FILE *f = fopen(path, "rb");
    struct stat st;
    if (!f || fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        if (f)
            fclose(f);
        diag_error(d, NULL, "cannot read the file");
        return NULL;
    }
    if (st.st_size > FE_MAX_MODEL_BYTES) {
        fclose(f);
        diag_error(d, NULL, "unsupported: file is larger than 2 GB");
        return NULL;
    }
    size_t n = (size_t)st.st_size;
    unsigned char *buf = malloc(n ? n : 1);
    if (!buf || fread(buf, 1, n, f) != n) {
        free(buf);
        fclose(f);
        diag_error(d, NULL, "cannot read the file");
        return NULL;
    }
    fclose(f);
    *len = n;
    return buf;
}

static void set_dirs(FeCtx *c, const char *path)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s", path);
    snprintf(c->dir, sizeof c->dir, "%s", dirname(tmp));
    if (!realpath(c->dir, c->realdir))
        snprintf(c->realdir, sizeof c->realdir, "%s", c->dir);
}

Graph *fe_load_model(const char *path, Diag *d)
{
    size_t len;
    unsigned char *bytes = read_file(path, &len, d);
    if (!bytes)
        return NULL;
    Graph *g = fe_load_model_bytes(bytes, len, path, d);
    free(bytes);
    return g;
}

Graph *fe_load_model_bytes(const void *bytes, size_t len, const char *path, Diag *d)
{
    if (len == 0) {
        diag_error(d, NULL, "the file is empty, not an ONNX model");
        return NULL;
    }
    Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, len, bytes);
    if (!m) {
        diag_error(d, NULL, "not a valid ONNX model: protobuf decoding failed "
                            "(truncated or not a ModelProto)");
        return NULL;
    }
    Graph *g = ir_graph_new(path);
    FeScope top = {0};
    FeCtx c = {.g = g, .d = d, .scope = &top};
    set_dirs(&c, path);
    bool ok = true;
    if (!m->graph) {
        diag_error(d, NULL, "the model has no graph");
        ok = false;
    } else {
        g->opset = default_opset(&c, m);
        g->producer_name = ir_strdup(g->arena, m->producer_name);
        ok = read_graph(&c, m->graph);
    }
    onnx__model_proto__free_unpacked(m, NULL);
    if (!ok) {
        ir_graph_free(g);
        return NULL;
    }
    return g;
}

Value *fe_load_tensor_file(Graph *g, const char *path, Diag *d)
{
    size_t len;
    unsigned char *bytes = read_file(path, &len, d);
    if (!bytes)
        return NULL;
    Onnx__TensorProto *t = onnx__tensor_proto__unpack(NULL, len, bytes);
    free(bytes);
    if (!t) {
        diag_error(d, NULL, "not a serialized TensorProto");
        return NULL;
    }
    FeCtx c = {.g = g, .d = d};
    set_dirs(&c, path);
    Value *v = ir_alloc(g->arena, sizeof *v);
    v->name = ir_strdup(g->arena, t->name);
    v->output_index = -1;
    v->offset = -1;
    v->weight_offset = -1;
    bool ok = fe_tensor(&c, t, v, "tensor");
    onnx__tensor_proto__free_unpacked(t, NULL);
    return ok ? v : NULL;
}
