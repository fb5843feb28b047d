/* The operator table: every family's rows, looked up by name and opset. */
#include "ops.h"

#include <string.h>

static const OpDesc *const families[] = {
    op_rows_elementwise, op_rows_matmul, op_rows_conv,  op_rows_pool,   op_rows_reduce,
    op_rows_norm,        op_rows_shape,  op_rows_data,  op_rows_gather, op_rows_resize,
    op_rows_control,
    op_rows_rnn,
};

#define NFAMILIES (int)(sizeof families / sizeof families[0])

int op_count(void)
{
    int n = 0;
    for (int f = 0; f < NFAMILIES; f++)
        for (const OpDesc *r = families[f]; r->name; r++)
            n++;
    return n;
}

const OpDesc *op_at(int i)
{
    for (int f = 0; f < NFAMILIES; f++)
        for (const OpDesc *r = families[f]; r->name; r++)
            if (i-- == 0)
                return r;
    return NULL;
}

const OpDesc *op_find(const char *op_type, int64_t opset, bool *known)
{
    *known = false;
    for (int f = 0; f < NFAMILIES; f++)
        for (const OpDesc *r = families[f]; r->name; r++) {
            if (strcmp(r->name, op_type) != 0)
                continue;
            *known = true;
            if (opset >= r->since && (r->until == 0 || opset <= r->until))
                return r;
        }
    return NULL;
}
