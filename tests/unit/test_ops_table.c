/* Walks the operator table: every row has every piece, and rows sharing a
 * name cover disjoint opset ranges. */
#include "check.h"
#include "ops/ops.h"

#include <string.h>

int main(void)
{
    int n = op_count();
    CHECK(n > 50);
    for (int i = 0; i < n; i++) {
        const OpDesc *r = op_at(i);
        if (!r->name || !r->infer || !r->attrs || (!r->lower && !r->value) ||
            r->since < 1 || (r->until && r->until < r->since) || r->min_in > r->max_in ||
            r->min_out > r->max_out || r->max_out < 1) {
            fprintf(stderr, "row %d '%s' is missing a piece or has a bad range\n", i,
                    r->name ? r->name : "?");
            check_failures++;
        }
        if ((r->flags & OPF_ELEMENTWISE) && !r->value) {
            fprintf(stderr, "row '%s' is elementwise without a value\n", r->name);
            check_failures++;
        }
        for (int j = i + 1; j < n; j++) {
            const OpDesc *q = op_at(j);
            if (strcmp(r->name, q->name) != 0)
                continue;
            int r_end = r->until ? r->until : OP_MAX_OPSET;
            int q_end = q->until ? q->until : OP_MAX_OPSET;
            if (r->since <= q_end && q->since <= r_end) {
                fprintf(stderr, "rows for '%s' overlap: [%d,%d] and [%d,%d]\n", r->name,
                        r->since, r_end, q->since, q_end);
                check_failures++;
            }
        }
    }
    /* Lookup honours the ranges. */
    bool known;
    CHECK(op_find("Clip", 6, &known) != op_find("Clip", 13, &known));
    CHECK(op_find("Clip", 13, &known) && known);
    CHECK(!op_find("NoSuchOp", 13, &known) && !known);
    return check_report("test_ops_table");
}
