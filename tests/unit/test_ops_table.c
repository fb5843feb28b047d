/* Walks the operator table: every row has every piece it needs, the fields
 * passes read are consistent with its flags, rows sharing a name cover
 * disjoint opset ranges and agree on what passes read, and each role names
 * one operator. The fused attention row (no table entry) is checked too. */
#include "check.h"
#include "ops/ops.h"

#include <string.h>

#define FAIL(r, ...)                                                             \
    do {                                                                         \
        fprintf(stderr, "row '%s' (opset %d): ", (r)->name ? (r)->name : "?", (r)->since); \
        fprintf(stderr, __VA_ARGS__);                                            \
        fputc('\n', stderr);                                                     \
        check_failures++;                                                        \
    } while (0)

static bool has_attr(const OpDesc *r, const char *name)
{
    for (const AttrSpec *a = r->attrs; a && a->name; a++)
        if (strcmp(a->name, name) == 0)
            return true;
    return false;
}

/* The pieces every row needs, and the fields passes read against its flags. */
static void check_row(const OpDesc *r)
{
    if (!r->name || !r->infer || !r->attrs || (!r->lower && !r->value))
        FAIL(r, "missing a piece (name, infer, attrs, lower or value)");
    if (r->since < 1 || (r->until && r->until < r->since) || r->until > OP_MAX_OPSET)
        FAIL(r, "bad opset range [%d, %d]", r->since, r->until);
    if (r->min_in < 0 || r->min_in > r->max_in || r->min_out < 1 || r->min_out > r->max_out)
        FAIL(r, "bad arity: inputs [%d, %d], outputs [%d, %d]", r->min_in, r->max_in,
             r->min_out, r->max_out);
    if ((r->flags & OPF_ELEMENTWISE) && !r->value)
        FAIL(r, "elementwise without a value");
    if ((r->flags & OPF_VIEW) && (r->min_in < 1 || r->flags & OPF_ELEMENTWISE))
        FAIL(r, "a view needs input 0 and is not elementwise");
    if (r->role < OP_ROLE_NONE || r->role >= OP_ROLE_COUNT)
        FAIL(r, "role %d out of range", (int)r->role);

    /* epilogue: the flag and its axis go together */
    bool epi = r->flags & OPF_EPILOGUE;
    if (epi != (r->epi_axis != 0))
        FAIL(r, "OPF_EPILOGUE %s but epi_axis is %d", epi ? "set" : "unset", r->epi_axis);
    if (r->epi_axis < OP_AXIS_LAST || r->epi_axis >= IR_MAX_RANK)
        FAIL(r, "epi_axis %d is neither an axis nor OP_AXIS_LAST", r->epi_axis);
    if (r->epi_fits && !epi)
        FAIL(r, "epi_fits without OPF_EPILOGUE");
    if (r->bias_in && (r->bias_in < 1 || r->bias_in >= r->max_in || r->bias_in < r->min_in - 1))
        FAIL(r, "bias_in %d is not an optional input of [%d, %d]", r->bias_in, r->min_in,
             r->max_in);
    if (r->epi_act && (!(r->flags & OPF_ELEMENTWISE) || r->min_in < 1 || r->max_out != 1))
        FAIL(r, "epi_act on a row that is not a one-output elementwise op of input 0");

    /* folding an affine: weights are input 1, the bias bias_in */
    if ((r->flags & OPF_FOLDS_AFFINE) && (r->min_in < 2 || !r->bias_in || !epi))
        FAIL(r, "OPF_FOLDS_AFFINE needs weights (input 1), bias_in and an epilogue axis");
    if (r->affine && (r->min_in < 1 || r->flags & OPF_ELEMENTWISE))
        FAIL(r, "affine on a row without input 0 or on an elementwise row");

    if ((r->flags & OPF_IDENTITY) && (r->min_in < 1 || r->min_out != 1))
        FAIL(r, "OPF_IDENTITY needs input 0 and output 0 alone required");
    if ((r->flags & OPF_INPUT_SLICES) && (r->max_out != 1 || !has_attr(r, "axis")))
        FAIL(r, "OPF_INPUT_SLICES needs one output and attribute axis");
}

/* What passes read through a node's row, whichever opset picked the row. */
static bool same_for_passes(const OpDesc *a, const OpDesc *b)
{
    unsigned pass_flags = OPF_EPILOGUE | OPF_IDENTITY | OPF_INPUT_SLICES | OPF_FOLDS_AFFINE;
    return (a->flags & pass_flags) == (b->flags & pass_flags) && a->role == b->role &&
           a->epi_axis == b->epi_axis && a->bias_in == b->bias_in &&
           a->epi_fits == b->epi_fits && a->epi_act == b->epi_act && a->affine == b->affine;
}

int main(void)
{
    int n = op_count();
    CHECK(n > 50);
    const char *role_name[OP_ROLE_COUNT] = {NULL};
    for (int i = 0; i < n; i++) {
        const OpDesc *r = op_at(i);
        check_row(r);
        if (!r->name)
            continue;
        if (r->role > OP_ROLE_NONE && r->role < OP_ROLE_COUNT) {
            const char **seen = &role_name[r->role];
            if (*seen && strcmp(*seen, r->name) != 0)
                FAIL(r, "role %d also on '%s'", (int)r->role, *seen);
            *seen = r->name;
        }
        for (int j = i + 1; j < n; j++) {
            const OpDesc *q = op_at(j);
            if (!q->name || strcmp(r->name, q->name) != 0)
                continue;
            int r_end = r->until ? r->until : OP_MAX_OPSET;
            int q_end = q->until ? q->until : OP_MAX_OPSET;
            if (r->since <= q_end && q->since <= r_end)
                FAIL(r, "overlaps the row for [%d,%d] (its range [%d,%d])", q->since, q_end,
                     r->since, r_end);
            if (!same_for_passes(r, q))
                FAIL(r, "differs from its opset-%d row in what passes read", q->since);
        }
    }
    /* Every role the pattern passes look for is on some row. */
    for (int role = OP_ROLE_NONE + 1; role < OP_ROLE_COUNT; role++)
        if (!role_name[role]) {
            fprintf(stderr, "role %d is on no row\n", role);
            check_failures++;
        }
    check_row(&op_fused_attention);
    CHECK(op_fused_attention.role == OP_ROLE_NONE && !(op_fused_attention.flags & OPF_EPILOGUE));

    /* Lookup honours the ranges. */
    bool known;
    CHECK(op_find("Clip", 6, &known) != op_find("Clip", 13, &known));
    CHECK(op_find("Clip", 13, &known) && known);
    CHECK(!op_find("NoSuchOp", 13, &known) && !known);

    /* The rows the passes rely on say so. */
    const OpDesc *conv = op_find("Conv", 13, &known), *bn = op_find("BatchNormalization", 15, &known);
    CHECK(conv && conv->epi_axis == 1 && conv->bias_in == 2 && (conv->flags & OPF_FOLDS_AFFINE));
    CHECK(bn && bn->affine);
    const OpDesc *mm = op_find("MatMul", 13, &known);
    CHECK(mm && mm->epi_axis == OP_AXIS_LAST && mm->epi_fits && mm->role == OP_ROLE_MATMUL);
    CHECK(op_find("Concat", 13, &known)->flags & OPF_INPUT_SLICES);
    CHECK(op_find("Identity", 13, &known)->flags & OPF_IDENTITY);
    CHECK(op_find("Dropout", 13, &known)->flags & OPF_IDENTITY);
    CHECK(op_find("Relu", 13, &known)->epi_act && op_find("Gelu", 20, &known)->epi_act);
    return check_report("test_ops_table");
}
