/* Strided copies in loop IR, shared by the data-movement rows (ops/data.c,
 * ops/gather.c). */
#include "ops.h"

#define MAX_COPY_RANK (2 * IR_MAX_RANK)

LStmt *lw_loop(LKernel *k, LStmt *parent, int64_t extent, LExpr **ix)
{
    if (extent == 1) {
        *ix = lx_idx(k, 0);
        return parent;
    }
    int v = lk_var(k, DT_INT64);
    LStmt *f = ls_for(k, v, extent);
    ls_push(k, parent, f);
    *ix = lx_var(k, v);
    return f;
}

int lw_merge_dims(int rank, const int64_t *dims, const int64_t *dstr, const int64_t *sstr,
                  int64_t *dm, int64_t *ds, int64_t *ss)
{
    int r = 0;
    for (int i = 0; i < rank; i++) {
        if (dims[i] == 0)
            return -1;
        if (dims[i] == 1)
            continue;
        if (r > 0 && ds[r - 1] == dstr[i] * dims[i] && ss[r - 1] == sstr[i] * dims[i]) {
            dm[r - 1] *= dims[i];
            ds[r - 1] = dstr[i];
            ss[r - 1] = sstr[i];
            continue;
        }
        dm[r] = dims[i];
        ds[r] = dstr[i];
        ss[r] = sstr[i];
        r++;
    }
    return r;
}

void lw_copy_strided(LKernel *k, LStmt *parent, Value *dst, int64_t dbase, Value *src,
                     int64_t sbase, int rank, const int64_t *dims, const int64_t *dstr,
                     const int64_t *sstr)
{
    int64_t dm[MAX_COPY_RANK], ds[MAX_COPY_RANK], ss[MAX_COPY_RANK];
    int r = lw_merge_dims(rank, dims, dstr, sstr, dm, ds, ss);
    if (r < 0)
        return;
    LExpr *di = lx_idx(k, dbase), *si = lx_idx(k, sbase);
    LStmt *cur = parent;
    for (int i = 0; i < r; i++) {
        LExpr *ix;
        cur = lw_loop(k, cur, dm[i], &ix);
        di = lx_add(k, di, lx_muli(k, ix, ds[i]));
        si = lx_add(k, si, lx_muli(k, ix, ss[i]));
    }
    ls_push(k, cur, ls_store(k, dst, di, lx_load(k, src, si)));
}

void lw_copy_all(LKernel *k, LStmt *parent, Value *dst, Value *src)
{
    int64_t n = ir_value_numel(src), one = 1;
    lw_copy_strided(k, parent, dst, 0, src, 0, 1, &n, &one, &one);
}
