/* Control flow: If, Loop, Scan. Their bodies are subgraphs (Attr.sub);
 * passes/control_flow.c splices copies of them into the graph during
 * inference, so these rows are never inferred or lowered themselves. Their
 * nodes carry the outer-scope values their bodies read as trailing inputs
 * (Node.ncapture), hence the open input counts. */
#include "ops.h"

#include <limits.h>

static bool not_expanded(Node *n, Diag *d)
{
    (void)d;
    DLC_BUG("%s node '%s' reached inference or lowering unexpanded", n->op_type, n->name);
}

static const AttrSpec a_if[] = {
    {"then_branch", ATTR_GRAPH}, {"else_branch", ATTR_GRAPH}, {NULL, ATTR_UNDEF}};
static const AttrSpec a_loop[] = {{"body", ATTR_GRAPH}, {NULL, ATTR_UNDEF}};
static const AttrSpec a_scan[] = {
    {"body", ATTR_GRAPH},
    {"num_scan_inputs", ATTR_INT},
    {"scan_input_axes", ATTR_INTS},
    {"scan_input_directions", ATTR_INTS},
    {"scan_output_axes", ATTR_INTS},
    {"scan_output_directions", ATTR_INTS},
    {NULL, ATTR_UNDEF},
};

/* Scan-8: a leading batch axis on every input and output, and an optional
 * sequence_lens first input (so no input is required by position). */
static const AttrSpec a_scan8[] = {
    {"body", ATTR_GRAPH}, {"num_scan_inputs", ATTR_INT}, {"directions", ATTR_INTS},
    {NULL, ATTR_UNDEF}};

/* Loop's M and cond may both be omitted (""), so no input is required by
 * position; passes/control_flow.c checks the counts against the body. */
const OpDesc op_rows_control[] = {
    {.name = "If", .since = 1, .min_in = 1, .max_in = INT_MAX, .min_out = 1, .max_out = INT_MAX,
     .flags = OPF_NO_FOLD, .attrs = a_if, .infer = not_expanded, .lower = not_expanded,
     .role = OP_ROLE_IF},
    {.name = "Loop", .since = 1, .min_in = 0, .max_in = INT_MAX, .min_out = 1, .max_out = INT_MAX,
     .flags = OPF_NO_FOLD, .attrs = a_loop, .infer = not_expanded, .lower = not_expanded,
     .role = OP_ROLE_LOOP},
    {.name = "Scan", .since = 8, .until = 8, .min_in = 0, .max_in = INT_MAX, .min_out = 1,
     .max_out = INT_MAX, .flags = OPF_NO_FOLD, .attrs = a_scan8, .infer = not_expanded,
     .lower = not_expanded, .role = OP_ROLE_SCAN},
    {.name = "Scan", .since = 9, .min_in = 1, .max_in = INT_MAX, .min_out = 1, .max_out = INT_MAX,
     .flags = OPF_NO_FOLD, .attrs = a_scan, .infer = not_expanded, .lower = not_expanded,
     .role = OP_ROLE_SCAN},
    {.name = NULL},
};
