/* Matrix products: Gemm and MatMul.
 *
 * Float32 products call the runtime GEMM (runtime/gemm.c) with constant
 * sizes and element offsets; a batched MatMul makes one call per batch
 * matrix, or a single call when only A is batched. Other dtypes, products
 * whose inputs are all constant (so that folding can interpret them) and
 * batches too many to unroll lower to a loop nest that accumulates each
 * output element over k. */
#include "ops.h"

#include "../runtime/rt.h"

/* Most runtime calls one batched MatMul unrolls into; beyond that it
 * lowers to loops. */
#define MM_MAX_CALLS 64
/* Products of all-constant inputs up to this many multiply-adds lower to
 * loops, which constant folding interprets; bigger ones run at run time
 * rather than make the compiler crawl. */
#define MM_MAX_FOLD_MACS ((int64_t)1 << 24)

/* One (possibly batched) product:
 *   Y[b, m, n] = alpha * sum_k A[b, m, k] * B[b, k, n] + beta * C[m, n]
 * with every operand addressed through element strides. */
typedef struct {
    int nb;                         /* batch dims of the output */
    int64_t bdim[IR_MAX_RANK];      /* their extents */
    int64_t astr[IR_MAX_RANK];      /* A's stride per batch dim, 0 = broadcast */
    int64_t bstr[IR_MAX_RANK];      /* B's stride per batch dim, 0 = broadcast */
    int64_t M, N, K;
    bool ta, tb;                    /* A stored [K, M]; B stored [N, K] */
    float alpha, beta;
    Value *a, *b, *c, *y;           /* c: Gemm's bias (broadcast to [M, N]) or NULL */
} Prod;

/* A float attribute that may have been written as an int. */
static float attr_f(const Node *n, const char *name, float dflt)
{
    const Attr *a = ir_attr(n, name);
    if (a && a->type == ATTR_INT)
        return (float)a->i;
    return ir_attr_float(n, name, dflt);
}

static bool numeric(DType t)
{
    return t != DT_BOOL && t != DT_STRING && ir_dtype_supported(t);
}

static bool all_inputs_constant(const Node *n)
{
    for (int i = 0; i < n->nin; i++)
        if (n->in[i] && !n->in[i]->data)
            return false;
    return true;
}

/* The product's multiply-adds, saturating at INT64_MAX. */
static int64_t prod_macs(const Prod *p)
{
    int64_t macs = 1;
    int64_t f[IR_MAX_RANK + 3];
    int nf = 0;
    for (int d = 0; d < p->nb; d++)
        f[nf++] = p->bdim[d];
    f[nf++] = p->M;
    f[nf++] = p->N;
    f[nf++] = p->K;
    for (int i = 0; i < nf; i++)
        if (!ir_mul_ok(macs, f[i], &macs))
            return INT64_MAX;
    return macs;
}

/* Loop-IR runtime-free lowering: for every output element, acc over k. */
static void lower_loops(LKernel *k, const Prod *p)
{
    int64_t dims[IR_MAX_RANK + 2];
    int vars[IR_MAX_RANK + 2];
    int nd = 0;
    for (int d = 0; d < p->nb; d++)
        dims[nd++] = p->bdim[d];
    dims[nd++] = p->M;
    dims[nd++] = p->N;
    LStmt *inner = lk_nest(k, k->root, dims, nd, vars);
    int vm = vars[p->nb], vn = vars[p->nb + 1];

    LExpr *aoff = lx_idx(k, 0), *boff = lx_idx(k, 0), *yoff = lx_idx(k, 0);
    for (int d = 0; d < p->nb; d++) {
        aoff = lx_add(k, aoff, lx_muli(k, lx_var(k, vars[d]), p->astr[d]));
        boff = lx_add(k, boff, lx_muli(k, lx_var(k, vars[d]), p->bstr[d]));
        yoff = lx_add(k, lx_muli(k, yoff, p->bdim[d]), lx_var(k, vars[d]));
    }
    yoff = lx_add(k, lx_muli(k, yoff, p->M * p->N),
                  lx_add(k, lx_muli(k, lx_var(k, vm), p->N), lx_var(k, vn)));
    int64_t a_m = p->ta ? 1 : p->K, a_k = p->ta ? p->M : 1;
    int64_t b_k = p->tb ? 1 : p->N, b_n = p->tb ? p->K : 1;
    aoff = lx_add(k, aoff, lx_muli(k, lx_var(k, vm), a_m));
    boff = lx_add(k, boff, lx_muli(k, lx_var(k, vn), b_n));

    DType ct = lw_compute_type(p->y->dtype);
    int acc = lk_var(k, ct);
    ls_push(k, inner, ls_assign(k, acc, lx_num(k, ct, 0)));
    int kv = lk_var(k, DT_INT64);
    LStmt *kl = ls_for(k, kv, p->K);
    LExpr *av = lx_cast(k, ct, lx_load(k, p->a, lx_add(k, aoff, lx_muli(k, lx_var(k, kv), a_k))));
    LExpr *bv = lx_cast(k, ct, lx_load(k, p->b, lx_add(k, boff, lx_muli(k, lx_var(k, kv), b_k))));
    ls_push(k, kl, ls_assign(k, acc, lx_bin(k, LB_ADD, lx_var(k, acc), lx_bin(k, LB_MUL, av, bv))));
    ls_push(k, inner, kl);

    LExpr *val = lx_var(k, acc);
    if (p->alpha != 1.0f)
        val = lx_bin(k, LB_MUL, val, lx_num(k, ct, p->alpha));
    if (p->c && p->beta != 0.0f) {
        const Shape *cs = &p->c->shape;   /* rank <= 2, broadcast to [M, N] */
        LExpr *cidx = lx_idx(k, 0);
        if (cs->rank == 2) {
            if (cs->dim[0] != 1)
                cidx = lx_muli(k, lx_var(k, vm), cs->dim[1]);
            if (cs->dim[1] != 1)
                cidx = lx_add(k, cidx, lx_var(k, vn));
        } else if (cs->rank == 1 && cs->dim[0] != 1) {
            cidx = lx_var(k, vn);
        }
        LExpr *cv = lx_cast(k, ct, lx_load(k, p->c, cidx));
        if (p->beta != 1.0f)
            cv = lx_bin(k, LB_MUL, cv, lx_num(k, ct, p->beta));
        val = lx_bin(k, LB_ADD, val, cv);
    }
    ls_push(k, inner, ls_store(k, p->y, yoff, lx_cast(k, p->y->dtype, val)));
}

/* rt_sgemm on one matrix of each operand; M may cover several stacked
 * matrices of A and Y. */
static void sgemm_call(LKernel *k, const Prod *p, int64_t M, int64_t aoff, int64_t boff,
                       int64_t yoff, float beta)
{
    LStmt *c = ls_call(k, "rt_sgemm");
    c->flops = 2.0 * (double)M * (double)p->N * (double)p->K;
    ls_arg_int(k, c, p->ta);
    ls_arg_int(k, c, p->tb);
    ls_arg_int(k, c, M);
    ls_arg_int(k, c, p->N);
    ls_arg_int(k, c, p->K);
    ls_arg_float(k, c, p->alpha);
    ls_arg_buf(k, c, p->a, aoff);
    ls_arg_int(k, c, p->ta ? p->M : p->K);
    ls_arg_buf(k, c, p->b, boff);
    ls_arg_int(k, c, p->tb ? p->K : p->N);
    ls_arg_float(k, c, beta);
    ls_arg_buf(k, c, p->y, yoff);
    ls_arg_int(k, c, p->N);
    if (k->scratch_bytes > 0)
        ls_arg_scratch(k, c);
    else
        ls_arg_null(k, c);
    ls_push(k, k->root, c);
}

static void set_scratch(LKernel *k, int64_t M, int64_t N, int64_t K)
{
    k->runtime = "gemm";
    k->scratch_bytes = (int64_t)rt_sgemm_scratch((ptrdiff_t)M, (ptrdiff_t)N, (ptrdiff_t)K) *
                       (int64_t)sizeof(float);
}

/* Lowers p into n's kernel: runtime calls for float32, loops otherwise. */
static bool lower_prod(Node *n, const Prod *p)
{
    LKernel *k = lw_kernel(n);
    int64_t nbatch = 1;
    for (int d = 0; d < p->nb; d++)
        nbatch *= p->bdim[d];   /* bounded by numel(Y) or a zero extent */
    if (nbatch == 0 || p->M == 0 || p->N == 0)
        return true;            /* empty output: nothing to compute */
    bool fold = all_inputs_constant(n) && prod_macs(p) <= MM_MAX_FOLD_MACS;
    if (p->y->dtype != DT_FLOAT || fold) {
        lower_loops(k, p);
        return true;
    }

    int64_t a_batch = 1, b_batch = 1;
    for (int d = 0; d < p->nb; d++) {
        if (p->astr[d])
            a_batch *= p->bdim[d];
        if (p->bstr[d])
            b_batch *= p->bdim[d];
    }
    /* Only A batched: its matrices stack into one [nbatch*M, K] product. */
    bool stack = nbatch == 1 || (b_batch == 1 && a_batch == nbatch && !p->ta);
    if (!stack && nbatch > MM_MAX_CALLS) {
        lower_loops(k, p);
        return true;
    }

    /* Gemm's bias: Y = broadcast C, then Y = alpha A B + beta Y. */
    float beta = 0.0f;
    if (p->c && p->beta != 0.0f) {
        int i = lk_var(k, DT_INT64);
        LStmt *loop = ls_for(k, i, p->M * p->N);
        ls_push(k, loop, ls_store(k, p->y, lx_var(k, i), lw_load_bcast(k, p->c, &p->y->shape, i)));
        ls_push(k, k->root, loop);
        beta = p->beta;
    }
    if (stack) {
        set_scratch(k, nbatch * p->M, p->N, p->K);
        sgemm_call(k, p, nbatch * p->M, 0, 0, 0, beta);
        return true;
    }
    set_scratch(k, p->M, p->N, p->K);
    for (int64_t b = 0; b < nbatch; b++) {
        int64_t rest = b, aoff = 0, boff = 0;
        for (int d = p->nb - 1; d >= 0; d--) {
            int64_t i = rest % p->bdim[d];
            rest /= p->bdim[d];
            aoff += i * p->astr[d];
            boff += i * p->bstr[d];
        }
        sgemm_call(k, p, p->M, aoff, boff, b * p->M * p->N, beta);
    }
    return true;
}

/* ---- Gemm ---- */

static bool gemm_check(const Node *n, Diag *d, int64_t *M, int64_t *N, int64_t *K)
{
    const Value *a = n->in[0], *b = n->in[1];
    const Value *c = n->nin > 2 ? n->in[2] : NULL;
    if (a->shape.rank != 2 || b->shape.rank != 2) {
        const Value *v = a->shape.rank != 2 ? a : b;
        diag_error(d, n, "input %d '%s': expected rank 2, got %d", v == a ? 0 : 1, v->name,
                   v->shape.rank);
        return false;
    }
    if (!numeric(a->dtype))
        return op_unsupported(d, n, "Gemm on %s", ir_dtype_name(a->dtype));
    if (b->dtype != a->dtype || (c && c->dtype != a->dtype)) {
        const Value *v = b->dtype != a->dtype ? b : c;
        diag_error(d, n, "input %d '%s' is %s but input 0 is %s", v == b ? 1 : 2, v->name,
                   ir_dtype_name(v->dtype), ir_dtype_name(a->dtype));
        return false;
    }
    bool ta = ir_attr_int(n, "transA", 0) != 0, tb = ir_attr_int(n, "transB", 0) != 0;
    *M = a->shape.dim[ta ? 1 : 0];
    *K = a->shape.dim[ta ? 0 : 1];
    int64_t kb = b->shape.dim[tb ? 1 : 0];
    *N = b->shape.dim[tb ? 0 : 1];
    if (kb != *K) {
        diag_error(d, n, "inner dimensions mismatch: op('%s') is [%lld,%lld], op('%s') is "
                   "[%lld,%lld]", a->name, (long long)*M, (long long)*K, b->name, (long long)kb,
                   (long long)*N);
        return false;
    }
    if (c) {
        /* unidirectional broadcast of C to [M, N] */
        const Shape *cs = &c->shape;
        bool ok = cs->rank <= 2;
        int64_t want[2] = {*M, *N};
        for (int i = 0; ok && i < cs->rank; i++) {
            int64_t w = want[2 - cs->rank + i];
            ok = cs->dim[i] == w || cs->dim[i] == 1;
        }
        if (ok && ir_attr(n, "broadcast") && ir_attr_int(n, "broadcast", 0) == 0)
            ok = cs->rank == 2 && cs->dim[0] == *M && cs->dim[1] == *N;
        if (!ok) {
            diag_error(d, n, "input 2 '%s' %s cannot be broadcast to [%lld,%lld]", c->name,
                       ir_shape_str(n->graph->arena, cs), (long long)*M, (long long)*N);
            return false;
        }
    }
    return true;
}

static bool infer_gemm(Node *n, Diag *d)
{
    int64_t M, N, K;
    if (!op_inputs_known(n, d) || !gemm_check(n, d, &M, &N, &K))
        return false;
    Shape s = {.rank = 2, .dim = {M, N}};
    op_set_out(n, 0, n->in[0]->dtype, &s);
    return true;
}

static bool lower_gemm(Node *n, Diag *d)
{
    Prod p = {0};
    if (!gemm_check(n, d, &p.M, &p.N, &p.K))
        return false;
    p.ta = ir_attr_int(n, "transA", 0) != 0;
    p.tb = ir_attr_int(n, "transB", 0) != 0;
    p.alpha = attr_f(n, "alpha", 1.0f);
    p.beta = attr_f(n, "beta", 1.0f);
    p.a = n->in[0];
    p.b = n->in[1];
    p.c = n->nin > 2 ? n->in[2] : NULL;
    p.y = n->out[0];
    return lower_prod(n, &p);
}

/* ---- MatMul ---- */

/* Fills p's shapes from A and B with numpy matmul semantics (1-D operands
 * promoted, batch dims broadcast); *out gets Y's shape. */
static bool matmul_shape(const Node *n, Diag *d, Prod *p, Shape *out)
{
    const Value *a = n->in[0], *b = n->in[1];
    int ra = a->shape.rank, rb = b->shape.rank;
    if (ra < 1 || rb < 1) {
        const Value *v = ra < 1 ? a : b;
        diag_error(d, n, "input %d '%s': expected rank >= 1, got 0", v == a ? 0 : 1, v->name);
        return false;
    }
    if (!numeric(a->dtype))
        return op_unsupported(d, n, "MatMul on %s", ir_dtype_name(a->dtype));
    if (b->dtype != a->dtype) {
        diag_error(d, n, "input 1 '%s' is %s but input 0 is %s", b->name,
                   ir_dtype_name(b->dtype), ir_dtype_name(a->dtype));
        return false;
    }
    p->M = ra >= 2 ? a->shape.dim[ra - 2] : 1;
    p->K = a->shape.dim[ra - 1];
    int64_t kb = rb >= 2 ? b->shape.dim[rb - 2] : b->shape.dim[0];
    p->N = rb >= 2 ? b->shape.dim[rb - 1] : 1;
    if (kb != p->K) {
        diag_error(d, n, "inner dimensions mismatch: input 0 '%s' %s, input 1 '%s' %s", a->name,
                   ir_shape_str(n->graph->arena, &a->shape), b->name,
                   ir_shape_str(n->graph->arena, &b->shape));
        return false;
    }
    Shape ab = {0}, bb = {0}, yb;
    ab.rank = ra > 2 ? ra - 2 : 0;
    bb.rank = rb > 2 ? rb - 2 : 0;
    for (int i = 0; i < ab.rank; i++)
        ab.dim[i] = a->shape.dim[i];
    for (int i = 0; i < bb.rank; i++)
        bb.dim[i] = b->shape.dim[i];
    if (!ir_broadcast(&ab, &bb, &yb)) {
        diag_error(d, n, "batch dimensions of input 0 '%s' %s and input 1 '%s' %s cannot be "
                   "broadcast together", a->name, ir_shape_str(n->graph->arena, &a->shape), b->name,
                   ir_shape_str(n->graph->arena, &b->shape));
        return false;
    }
    p->nb = yb.rank;
    int64_t as = p->M * p->K, bs = p->K * p->N;   /* bounded by the inputs' numel */
    for (int i = yb.rank - 1; i >= 0; i--) {
        int ia = i - (yb.rank - ab.rank), ib = i - (yb.rank - bb.rank);
        p->bdim[i] = yb.dim[i];
        p->astr[i] = ia >= 0 && ab.dim[ia] != 1 ? as : 0;
        p->bstr[i] = ib >= 0 && bb.dim[ib] != 1 ? bs : 0;
        if (ia >= 0)
            as *= ab.dim[ia];
        if (ib >= 0)
            bs *= bb.dim[ib];
    }
    *out = yb;
    if (ra >= 2)
        out->dim[out->rank++] = p->M;
    if (rb >= 2)
        out->dim[out->rank++] = p->N;
    return true;
}

static bool infer_matmul(Node *n, Diag *d)
{
    Prod p = {0};
    Shape s;
    if (!op_inputs_known(n, d) || !matmul_shape(n, d, &p, &s))
        return false;
    op_set_out(n, 0, n->in[0]->dtype, &s);
    return true;
}

static bool lower_matmul(Node *n, Diag *d)
{
    Prod p = {0};
    Shape s;
    if (!matmul_shape(n, d, &p, &s))
        return false;
    p.alpha = 1.0f;
    p.a = n->in[0];
    p.b = n->in[1];
    p.y = n->out[0];
    return lower_prod(n, &p);
}

/* ---- rows ---- */

static const AttrSpec a_gemm[] = {
    {"alpha", ATTR_FLOAT}, {"beta", ATTR_FLOAT}, {"transA", ATTR_INT}, {"transB", ATTR_INT},
    {NULL, 0},
};
static const AttrSpec a_gemm_old[] = {
    {"alpha", ATTR_FLOAT}, {"beta", ATTR_FLOAT}, {"transA", ATTR_INT}, {"transB", ATTR_INT},
    {"broadcast", ATTR_INT}, {NULL, 0},
};
static const AttrSpec no_attrs[] = {{NULL, 0}};

const OpDesc op_rows_matmul[] = {
    {"Gemm", 1, 6, 3, 3, 1, 1, 0, a_gemm_old, infer_gemm, lower_gemm, NULL},
    {"Gemm", 7, 10, 3, 3, 1, 1, 0, a_gemm, infer_gemm, lower_gemm, NULL},
    {"Gemm", 11, 0, 2, 3, 1, 1, 0, a_gemm, infer_gemm, lower_gemm, NULL},
    {"MatMul", 1, 0, 2, 2, 1, 1, 0, no_attrs, infer_matmul, lower_matmul, NULL},
    {NULL, 0, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL},
};
