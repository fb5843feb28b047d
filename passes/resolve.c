/* Finds each node's operator row; checks domain, opset, arity and
 * attributes. Every unsupported operator is listed in one run. */
#include "passes.h"
#include "../ops/ops.h"

#include <string.h>

static const char *attr_type_name(AttrType t)
{
    static const char *const names[] = {
        "undefined", "float", "int", "string", "tensor", "graph", "floats", "ints",
        "strings", "tensors", "graphs", "sparse tensor", "sparse tensors", "type", "types",
    };
    return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "unknown";
}

static bool check_attrs(const Node *n, Diag *d)
{
    bool ok = true;
    for (int i = 0; i < n->nattr; i++) {
        const Attr *a = &n->attrs[i];
        const AttrSpec *s = n->op->attrs;
        while (s && s->name && strcmp(s->name, a->name) != 0)
            s++;
        if (!s || !s->name) {
            op_unsupported((Diag *)d, n, "attribute '%s'", a->name);
            ok = false;
        } else if (s->type != a->type &&
                   !(s->type == ATTR_INTS && a->type == ATTR_INT) &&
                   !(s->type == ATTR_FLOAT && a->type == ATTR_INT)) {
            diag_error(d, n, "attribute '%s' is %s, expected %s", a->name,
                       attr_type_name(a->type), attr_type_name(s->type));
            ok = false;
        }
    }
    return ok;
}

typedef struct {
    const char *names[64];  /* unknown operators, each once */
    int n;
} Missing;

/* Phase 1 on nodes[0..nn) and, recursively, their subgraphs' nodes: find
 * each row; false after reporting unknown operators. */
static bool find_rows(Graph *g, Node **nodes, int nn, Missing *m, Diag *d)
{
    bool ok = true;
    for (int i = 0; i < nn; i++) {
        Node *n = nodes[i];
        for (int a = 0; a < n->nattr; a++)
            if (n->attrs[a].sub)
                ok = find_rows(g, n->attrs[a].sub->nodes, n->attrs[a].sub->nnodes, m, d) && ok;
        if (*n->domain) {
            diag_error(d, n, "unsupported: operator domain '%s'", n->domain);
            ok = false;
            continue;
        }
        bool known;
        n->op = op_find(n->op_type, g->opset, &known);
        if (n->op)
            continue;
        ok = false;
        if (known) {
            diag_error(d, n, "unsupported: %s at opset %lld", n->op_type, (long long)g->opset);
            continue;
        }
        bool seen = false;
        for (int k = 0; k < m->n; k++)
            seen |= strcmp(m->names[k], n->op_type) == 0;
        if (!seen && m->n < 64)
            m->names[m->n++] = n->op_type;
        diag_error(d, n, "unsupported operator '%s'", n->op_type);
    }
    return ok;
}

/* Phase 2: arity and attributes, against the rows found. */
static bool check_nodes(Node **nodes, int nn, Diag *d)
{
    bool ok = true;
    for (int i = 0; i < nn; i++) {
        Node *n = nodes[i];
        const OpDesc *r = n->op;
        int nin = n->nin - n->ncapture;  /* captured values are not ONNX inputs */
        if (nin < r->min_in || nin > r->max_in) {
            diag_error(d, n, "has %d inputs, expected %d to %d", nin, r->min_in, r->max_in);
            ok = false;
        }
        if (n->nout < r->min_out || n->nout > r->max_out) {
            diag_error(d, n, "has %d outputs, expected %d to %d", n->nout, r->min_out, r->max_out);
            ok = false;
        }
        for (int j = 0; j < nin && j < r->min_in; j++)
            if (!n->in[j]) {
                diag_error(d, n, "required input %d is missing", j);
                ok = false;
            }
        ok = check_attrs(n, d) && ok;
        for (int a = 0; a < n->nattr; a++)
            if (n->attrs[a].sub)
                ok = check_nodes(n->attrs[a].sub->nodes, n->attrs[a].sub->nnodes, d) && ok;
    }
    return ok;
}

bool pass_resolve(Graph *g, Diag *d)
{
    if (g->opset > OP_MAX_OPSET) {
        diag_error(d, NULL, "unsupported: opset %lld is newer than the newest dlc knows (%d)",
                   (long long)g->opset, OP_MAX_OPSET);
        return false;
    }
    /* Unknown operators first, all of them, each name once. */
    Missing m = {.n = 0};
    bool ok = find_rows(g, g->nodes, g->nnodes, &m, d);
    if (m.n > 1) {
        char list[1024] = "";
        size_t len = 0;
        for (int k = 0; k < m.n && len < sizeof list - 64; k++)
            len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", k ? ", " : "",
                                    m.names[k]);
        diag_error(d, NULL, "unsupported operators (%d): %s", m.n, list);
    }
    if (!ok)
        return false;
    return check_nodes(g->nodes, g->nnodes, d);
}
