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

bool pass_resolve(Graph *g, Diag *d)
{
    bool ok = true;
    if (g->opset > OP_MAX_OPSET) {
        diag_error(d, NULL, "unsupported: opset %lld is newer than the newest dlc knows (%d)",
                   (long long)g->opset, OP_MAX_OPSET);
        return false;
    }
    /* Unknown operators first, all of them, each name once. */
    const char *missing[64];
    int nmissing = 0;
    for (int i = 0; i < g->nnodes; i++) {
        Node *n = g->nodes[i];
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
        for (int k = 0; k < nmissing; k++)
            seen |= strcmp(missing[k], n->op_type) == 0;
        if (!seen && nmissing < 64)
            missing[nmissing++] = n->op_type;
        diag_error(d, n, "unsupported operator '%s'", n->op_type);
    }
    if (nmissing > 1) {
        char list[1024] = "";
        size_t len = 0;
        for (int k = 0; k < nmissing && len < sizeof list - 64; k++)
            len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", k ? ", " : "",
                                    missing[k]);
        diag_error(d, NULL, "unsupported operators (%d): %s", nmissing, list);
    }
    if (!ok)
        return false;
    for (int i = 0; i < g->nnodes; i++) {
        Node *n = g->nodes[i];
        const OpDesc *r = n->op;
        if (n->nin < r->min_in || n->nin > r->max_in) {
            diag_error(d, n, "has %d inputs, expected %d to %d", n->nin, r->min_in, r->max_in);
            ok = false;
        }
        if (n->nout < r->min_out || n->nout > r->max_out) {
            diag_error(d, n, "has %d outputs, expected %d to %d", n->nout, r->min_out, r->max_out);
            ok = false;
        }
        for (int j = 0; j < n->nin && j < r->min_in; j++)
            if (!n->in[j]) {
                diag_error(d, n, "required input %d is missing", j);
                ok = false;
            }
        ok = check_attrs(n, d) && ok;
    }
    return ok;
}
