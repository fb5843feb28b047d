/* Matrix products: Gemm, MatMul and Einsum.
 *
 * Float32 products lower to KC_GEMM kernel calls with constant sizes and
 * element offsets: a batched MatMul makes one call per batch matrix, one
 * strided-batch call when every batch matrix is the same distance from the
 * last, or a single call of stacked rows when only A is batched. Gemm's C
 * (beta 1) and the fused epilogue n->epi (bias, residual, activation, see
 * passes/fuse_epilogue.c) travel with the call, applied as the product is
 * stored. The target's selection pass picks the library or the built-in
 * GEMM and packs constant operands for it.
 * Other dtypes, products whose inputs are all constant (so that folding can
 * interpret them) and batches too many to unroll lower to a loop nest that
 * accumulates each output element over k, followed by the epilogue as a
 * loop (lw_apply_epilogue).
 * An Einsum whose equation is a (batched, possibly transposed) matrix
 * product becomes the same Prod; any other equation (transposes, sums,
 * diagonals, several operands) lowers to one loop nest over its labels. */
#include "ops.h"

#include <string.h>

/* Most kernel calls one batched MatMul unrolls into; beyond that it
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

/* Loop-IR lowering: for every output element, acc over k. */
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

/* What the product applies as it stores Y: bias (per column, or per row),
 * residual (laid out like Y), activation. */
typedef struct {
    Value *bias;
    bool bias_rows;
    Value *res;
    int64_t ldr;
    int act;
    float alpha, beta;
} Epi;

static bool epi_any(const Epi *e)
{
    return e->bias || e->res || e->act;
}

/* A KC_GEMM of `batch` products: A, B, Y from element offsets aoff, boff,
 * yoff, each next product sa, sb, M*N elements on; M may cover several
 * stacked matrices of A and Y. */
static void gemm_call(LKernel *k, const Prod *p, const Epi *e, int64_t batch, int64_t M,
                      int64_t aoff, int64_t boff, int64_t yoff, int64_t sa, int64_t sb, float beta)
{
    LStmt *s = ls_kernel(k, KC_GEMM);
    KCall *c = s->kc;
    s->flops = 2.0 * (double)batch * (double)M * (double)p->N * (double)p->K;
    c->u.gemm = (KGemm){
        .batch = batch, .M = M, .N = p->N, .K = p->K, .ta = p->ta, .tb = p->tb,
        .lda = p->ta ? p->M : p->K, .ldb = p->tb ? p->K : p->N, .ldy = p->N,
        .sa = sa, .sb = sb, .sy = p->M * p->N,
        .alpha = p->alpha, .beta = beta, .bias_rows = e->bias_rows, .ldr = e->ldr,
    };
    if (batch == 1 && aoff == 0 && yoff == 0 && !p->a->data)   /* (a constant A is packed whole) */
        c->u.gemm.m_run = lw_dyn_rows(k, p->y, M);
    c->in[0] = (KOperand){p->a, aoff};
    c->in[1] = (KOperand){p->b, boff};
    c->out = (KOperand){p->y, yoff};
    c->bias.buf = e->bias;
    c->residual = (KOperand){e->res, yoff};
    c->act = e->act;
    c->act_alpha = e->alpha;
    c->act_beta = e->beta;
    ls_push(k, k->root, s);
}

/* The epilogue n->epi, when the GEMM can apply it to these shapes: a bias
 * of N floats, a residual shaped like Y. */
static bool epi_from_node(const Node *n, const Prod *p, Epi *e)
{
    const Epilogue *x = &n->epi;
    memset(e, 0, sizeof *e);
    if (x->bias) {
        if (x->bias->dtype != DT_FLOAT || ir_value_numel(x->bias) != p->N)
            return false;
        e->bias = x->bias;
    }
    if (x->residual) {
        if (x->residual->dtype != DT_FLOAT || !ir_shape_equal(&x->residual->shape, &p->y->shape))
            return false;
        e->res = x->residual;
        e->ldr = p->N;
    }
    e->act = x->act;
    e->alpha = x->alpha;
    e->beta = x->beta;
    return true;
}

/* Gemm's C with beta 1 as an epilogue term: a row of N (bias per column),
 * a column of M (bias per row), or a full [M, N] matrix (residual). */
static bool c_as_epi(const Prod *p, Epi *e)
{
    const Shape *cs = &p->c->shape;
    if (p->beta != 1.0f || p->c->dtype != DT_FLOAT)
        return false;
    int64_t rows = cs->rank == 2 ? cs->dim[0] : 1, cols = cs->rank >= 1 ? cs->dim[cs->rank - 1] : 1;
    if (rows == 1 && cols == p->N && !e->bias) {
        e->bias = p->c;
        e->bias_rows = false;
        return true;
    }
    if (cs->rank == 2 && rows == p->M && cols == 1 && !e->bias && p->M > 1) {
        e->bias = p->c;
        e->bias_rows = true;
        return true;
    }
    if (cs->rank == 2 && rows == p->M && cols == p->N && !e->res) {
        e->res = p->c;
        e->ldr = p->N;
        return true;
    }
    return false;
}

/* Batch b's element offsets into A and B. */
static void batch_offsets(const Prod *p, int64_t b, int64_t *aoff, int64_t *boff)
{
    int64_t rest = b;
    *aoff = *boff = 0;
    for (int d = p->nb - 1; d >= 0; d--) {
        int64_t i = rest % p->bdim[d];
        rest /= p->bdim[d];
        *aoff += i * p->astr[d];
        *boff += i * p->bstr[d];
    }
}

/* Is the offset of batch matrix b (row-major over the batch dims) b * *step
 * for every b? Decided from the strides, not by visiting every batch: a
 * model may ask for 2^31 of them. */
static bool batch_uniform(const Prod *p, const int64_t *str, int64_t *step)
{
    int64_t inner = 1, s = 0;
    bool have = false;
    for (int d = p->nb - 1; d >= 0; d--) {
        if (p->bdim[d] > 1) {
            if (!have) {
                s = str[d];     /* the innermost dim with more than one matrix */
                have = true;
            } else {
                int64_t want;
                if (!ir_mul_ok(s, inner, &want) || str[d] != want)
                    return false;
            }
        }
        if (!ir_mul_ok(inner, p->bdim[d], &inner))
            return false;
    }
    *step = s;
    return true;
}

/* Lowers p into n's kernel: kernel calls for float32, loops otherwise;
 * then n->epi. */
static bool lower_prod(Node *n, const Prod *p)
{
    LKernel *k = lw_kernel(n);
    int64_t nbatch = 1;
    for (int d = 0; d < p->nb; d++)
        nbatch *= p->bdim[d];   /* bounded by numel(Y) or a zero extent */
    if (nbatch == 0 || p->M == 0 || p->N == 0)
        return true;            /* empty output: nothing to compute */
    bool fold = op_inputs_constant(n) && prod_macs(p) <= MM_MAX_FOLD_MACS;
    Epi e;
    bool epi_ok = epi_from_node(n, p, &e);
    if (p->y->dtype != DT_FLOAT || fold || !epi_ok) {
        lower_loops(k, p);
        return lw_apply_epilogue(n, k, p->y);
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
    /* Every batch matrix of A and of B the same distance from the last. */
    int64_t sa = 0, sb = 0;
    bool uniform = !stack && nbatch > 1 && batch_uniform(p, p->astr, &sa) &&
                   batch_uniform(p, p->bstr, &sb);
    if (!stack && !uniform && nbatch > MM_MAX_CALLS) {
        lower_loops(k, p);
        return lw_apply_epilogue(n, k, p->y);
    }

    /* Gemm's C: an epilogue term, or Y = broadcast C, then Y = alpha A B + beta Y. */
    float beta = 0.0f;
    if (p->c && p->beta != 0.0f && !c_as_epi(p, &e)) {
        int i = lk_var(k, DT_INT64);
        LStmt *loop = ls_for(k, i, p->M * p->N);
        ls_push(k, loop, ls_store(k, p->y, lx_var(k, i), lw_load_bcast(k, p->c, &p->y->shape, i)));
        ls_push(k, k->root, loop);
        beta = p->beta;
    }
    if (stack) {
        gemm_call(k, p, &e, 1, nbatch * p->M, 0, 0, 0, 0, 0, beta);
    } else if (uniform && !epi_any(&e) && beta == 0.0f) {
        gemm_call(k, p, &e, nbatch, p->M, 0, 0, 0, sa, sb, beta);
    } else {
        for (int64_t b = 0; b < nbatch; b++) {
            int64_t aoff, boff;
            batch_offsets(p, b, &aoff, &boff);
            gemm_call(k, p, &e, 1, p->M, aoff, boff, b * p->M * p->N, 0, 0, beta);
        }
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
    int64_t M = 0, N = 0, K = 0;
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

/* ---- Einsum ---- */

/* Labels: a-z are 0-25, A-Z 26-51, and the dims an ellipsis covers
 * EIN_ELL + i, i counted from the ellipsis' first (broadcast) dim. */
#define EIN_ELL 52
#define EIN_LABELS (EIN_ELL + IR_MAX_RANK)
#define EIN_MAX_IN 8

typedef struct {
    int nin;
    int rank[EIN_MAX_IN];
    int lab[EIN_MAX_IN][IR_MAX_RANK];   /* label of each input dim */
    int orank;
    int olab[IR_MAX_RANK];
    int64_t ext[EIN_LABELS];            /* extent of each label, -1 unused */
    int uses[EIN_LABELS];               /* dims of the inputs that carry it */
    bool out[EIN_LABELS];               /* a label of the output */
} Einsum;

static int ein_label(char c)
{
    if (c >= 'a' && c <= 'z')
        return c - 'a';
    if (c >= 'A' && c <= 'Z')
        return 26 + c - 'A';
    return -1;
}

/* One term ("b...ij") of input t (t < 0: the output, with ell_rank ellipsis
 * dims) into labels; false on a bad character or rank. */
static bool ein_term(Node *n, Diag *d, const char *s, size_t len, int t, int ell_rank,
                     int *labs, int *rank)
{
    int r = t >= 0 ? n->in[t]->shape.rank : -1, nl = 0;
    bool ell = false;
    for (size_t i = 0; i < len; i++)
        if (s[i] == '.') {
            if (ell || i + 2 >= len || s[i + 1] != '.' || s[i + 2] != '.') {
                diag_error(d, n, "equation: a malformed ellipsis");
                return false;
            }
            ell = true;
            i += 2;
        } else if (ein_label(s[i]) < 0) {
            diag_error(d, n, "equation: '%c' is not a label (a-z, A-Z)", s[i]);
            return false;
        } else {
            nl++;
        }
    int er = t >= 0 ? r - nl : ell_rank;
    if ((t >= 0 && (ell ? er < 0 : er != 0)) || nl + (ell ? er : 0) > IR_MAX_RANK) {
        diag_error(d, n, "equation: term '%.*s' does not fit %s", (int)len, s,
                   t >= 0 ? ir_sprintf(n->graph->arena, "input %d of rank %d", t, r)
                          : "the output rank dlc handles");
        return false;
    }
    *rank = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '.') {
            for (int e = 0; e < er; e++)     /* right-aligned, as broadcasting is */
                labs[(*rank)++] = EIN_ELL + ell_rank - er + e;
            i += 2;
        } else {
            labs[(*rank)++] = ein_label(s[i]);
        }
    }
    return true;
}

/* Parses the equation and checks every label's extent; an implicit output
 * is the ellipsis, then the labels used once, in alphabetical order. */
static bool ein_parse(Node *n, Diag *d, Einsum *e)
{
    const Attr *a = ir_attr(n, "equation");
    if (!a || a->type != ATTR_STRING) {
        diag_error(d, n, "attribute 'equation' is required");
        return false;
    }
    if (n->nin > EIN_MAX_IN)
        return op_unsupported(d, n, "Einsum of %d operands (at most %d)", n->nin, EIN_MAX_IN);
    char eq[512];
    size_t len = 0;
    for (const char *c = a->s; *c; c++)
        if (*c != ' ') {
            if (len + 1 >= sizeof eq) {
                diag_error(d, n, "equation is too long");
                return false;
            }
            eq[len++] = *c;
        }
    eq[len] = 0;
    memset(e, 0, sizeof *e);
    for (int l = 0; l < EIN_LABELS; l++)
        e->ext[l] = -1;
    e->nin = n->nin;
    const char *arrow = strstr(eq, "->");
    size_t lhs = arrow ? (size_t)(arrow - eq) : len;
    const char *t0 = eq;
    int ell_rank = 0;
    for (int t = 0; t < n->nin; t++) {
        const char *end = memchr(t0, ',', lhs - (size_t)(t0 - eq));
        if ((end == NULL) != (t == n->nin - 1)) {
            diag_error(d, n, "equation has %s terms than the %d inputs", end ? "more" : "fewer",
                       n->nin);
            return false;
        }
        size_t tl = end ? (size_t)(end - t0) : lhs - (size_t)(t0 - eq);
        int nl = 0;
        for (size_t i = 0; i < tl; i++)
            nl += ein_label(t0[i]) >= 0;
        if (memchr(t0, '.', tl) && n->in[t]->shape.rank - nl > ell_rank)
            ell_rank = n->in[t]->shape.rank - nl;
        t0 = end ? end + 1 : t0 + tl;
    }
    t0 = eq;
    for (int t = 0; t < n->nin; t++) {
        const char *end = memchr(t0, ',', lhs - (size_t)(t0 - eq));
        size_t tl = end ? (size_t)(end - t0) : lhs - (size_t)(t0 - eq);
        if (!ein_term(n, d, t0, tl, t, ell_rank, e->lab[t], &e->rank[t]))
            return false;
        const Shape *sh = &n->in[t]->shape;
        for (int i = 0; i < e->rank[t]; i++) {
            int l = e->lab[t][i];
            int64_t x = sh->dim[i];
            e->uses[l]++;
            if (e->ext[l] < 0 || (e->ext[l] == 1 && l >= EIN_ELL))
                e->ext[l] = x;
            else if (e->ext[l] != x && !(l >= EIN_ELL && x == 1)) {
                diag_error(d, n, "equation: a label has extent %lld in input %d but %lld before",
                           (long long)x, t, (long long)e->ext[l]);
                return false;
            }
        }
        t0 = end ? end + 1 : t0 + tl;
    }
    if (arrow) {
        if (!ein_term(n, d, arrow + 2, strlen(arrow + 2), -1, ell_rank, e->olab, &e->orank))
            return false;
    } else {
        e->orank = 0;
        for (int l = EIN_ELL; l < EIN_ELL + ell_rank; l++)
            e->olab[e->orank++] = l;
        for (int l = 0; l < EIN_ELL; l++)
            if (e->uses[l] == 1) {
                if (e->orank == IR_MAX_RANK)
                    return op_unsupported(d, n, "Einsum output of rank > %d", IR_MAX_RANK);
                e->olab[e->orank++] = l;
            }
    }
    for (int i = 0; i < e->orank; i++) {
        int l = e->olab[i];
        if (e->ext[l] < 0 || e->out[l]) {
            diag_error(d, n, "equation: output label %d is %s", i,
                       e->out[l] ? "repeated" : "in no input");
            return false;
        }
        e->out[l] = true;
    }
    return true;
}

static bool infer_einsum(Node *n, Diag *d)
{
    if (!op_inputs_known(n, d))
        return false;
    DType dt = n->in[0]->dtype;
    if (!numeric(dt))
        return op_unsupported(d, n, "Einsum on %s", ir_dtype_name(dt));
    for (int i = 1; i < n->nin; i++) {
        if (!n->in[i]) {
            diag_error(d, n, "input %d is missing (Einsum takes no optional inputs)", i);
            return false;
        }
        if (!op_same_dtype(n, d, 0, i))
            return false;
    }
    Einsum e;
    if (!ein_parse(n, d, &e))
        return false;
    Shape s = {0};
    s.rank = e.orank;
    for (int i = 0; i < e.orank; i++)
        s.dim[i] = e.ext[e.olab[i]];
    int64_t numel;
    if (!ir_shape_numel(&s, &numel)) {
        diag_error(d, n, "output %s is too large", ir_shape_str(n->graph->arena, &s));
        return false;
    }
    op_set_out(n, 0, dt, &s);
    return true;
}

/* Position of label l among input t's dims, -1 if absent. */
static int ein_pos(const Einsum *e, int t, int l)
{
    for (int i = 0; i < e->rank[t]; i++)
        if (e->lab[t][i] == l)
            return i;
    return -1;
}

/* The equation as a Prod: two inputs, every label in exactly one input dim
 * each, the output's batch labels (in both inputs) first, then at most one
 * row label (A only) and one column label (B only); at most one summed
 * label (A and B); each input's matrix labels its last dims. */
static bool ein_as_prod(Node *n, const Einsum *e, Prod *p)
{
    if (n->nin != 2)
        return false;
    int m = -1, nn = -1, kk = -1, nb = 0;
    for (int t = 0; t < 2; t++)
        for (int i = 0; i < e->rank[t]; i++) {
            int l = e->lab[t][i];
            if (ein_pos(e, t, l) != i || n->in[t]->shape.dim[i] != e->ext[l])
                return false;   /* a diagonal, or a broadcast ellipsis dim */
            bool other = ein_pos(e, 1 - t, l) >= 0;
            if (!e->out[l] && !other)
                return false;   /* summed within one input */
            if (!e->out[l] && (kk < 0 || kk == l))
                kk = l;
            else if (!e->out[l])
                return false;
            else if (!other && t == 0 && (m < 0 || m == l))
                m = l;
            else if (!other && t == 1 && (nn < 0 || nn == l))
                nn = l;
            else if (!other)
                return false;
        }
    /* output: batch labels, then m, then n */
    int tail = (m >= 0) + (nn >= 0);
    nb = e->orank - tail;
    if ((m >= 0 && e->olab[nb] != m) || (nn >= 0 && e->olab[e->orank - 1] != nn))
        return false;
    memset(p, 0, sizeof *p);
    p->nb = nb;
    for (int b = 0; b < nb; b++) {
        int l = e->olab[b], ia = ein_pos(e, 0, l), ib = ein_pos(e, 1, l);
        if (ia < 0 || ib < 0 || ia >= e->rank[0] - (m >= 0) - (kk >= 0) ||
            ib >= e->rank[1] - (nn >= 0) - (kk >= 0))
            return false;
        p->bdim[b] = e->ext[l];
        p->astr[b] = op_dims_prod(n->in[0]->shape.dim, ia + 1, e->rank[0]);
        p->bstr[b] = op_dims_prod(n->in[1]->shape.dim, ib + 1, e->rank[1]);
    }
    p->M = m >= 0 ? e->ext[m] : 1;
    p->N = nn >= 0 ? e->ext[nn] : 1;
    p->K = kk >= 0 ? e->ext[kk] : 1;
    /* A's matrix [M, K] or, transposed, [K, M]; B's [K, N] or [N, K] */
    p->ta = m >= 0 && kk >= 0 && ein_pos(e, 0, kk) < ein_pos(e, 0, m);
    p->tb = nn >= 0 && kk >= 0 && ein_pos(e, 1, nn) < ein_pos(e, 1, kk);
    p->alpha = 1.0f;
    p->a = n->in[0];
    p->b = n->in[1];
    p->y = n->out[0];
    return true;
}

/* y[out labels] = sum over the other labels of the product of the inputs. */
static void ein_loops(Node *n, const Einsum *e)
{
    LKernel *k = lw_kernel(n);
    Value *y = n->out[0];
    DType ct = lw_compute_type(y->dtype);
    int var[EIN_LABELS], ovars[IR_MAX_RANK];
    LStmt *body = k->root;
    for (int i = 0; i < e->orank; i++) {
        int l = e->olab[i];
        var[l] = ovars[i] = lk_var(k, DT_INT64);
        LStmt *f = ls_for(k, var[l], e->ext[l]);
        ls_push(k, body, f);
        body = f;
    }
    int acc = lk_var(k, ct);
    ls_push(k, body, ls_assign(k, acc, lx_num(k, ct, 0)));
    LStmt *inner = body;
    for (int l = 0; l < EIN_LABELS; l++) {
        if (e->ext[l] < 0 || e->out[l])
            continue;
        var[l] = lk_var(k, DT_INT64);
        LStmt *f = ls_for(k, var[l], e->ext[l]);
        ls_push(k, inner, f);
        inner = f;
    }
    LExpr *prod = NULL;
    for (int t = 0; t < e->nin; t++) {
        const Shape *sh = &n->in[t]->shape;
        LExpr *at = lx_idx(k, 0);
        for (int i = 0; i < e->rank[t]; i++)
            if (sh->dim[i] != 1)    /* an extent-1 ellipsis dim broadcasts */
                at = lx_add(k, at, lx_muli(k, lx_var(k, var[e->lab[t][i]]),
                                           op_dims_prod(sh->dim, i + 1, sh->rank)));
        LExpr *x = lx_cast(k, ct, lx_load(k, n->in[t], at));
        prod = prod ? lx_bin(k, LB_MUL, prod, x) : x;
    }
    ls_push(k, inner, ls_assign(k, acc, lx_bin(k, LB_ADD, lx_var(k, acc), prod)));
    LExpr *v = lx_var(k, acc);
    if (y->dtype != ct && y->dtype != DT_FLOAT16)
        v = lx_cast(k, y->dtype, v);
    ls_push(k, body, ls_store(k, y, lx_flat(k, &y->shape, ovars), v));
}

static bool lower_einsum(Node *n, Diag *d)
{
    Einsum e;
    if (!ein_parse(n, d, &e))
        return false;
    Prod p;
    if (ein_as_prod(n, &e, &p))
        return lower_prod(n, &p);
    ein_loops(n, &e);
    return true;
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
static const AttrSpec a_einsum[] = {{"equation", ATTR_STRING}, {NULL, 0}};

/* A MatMul with a 1-D B has no column axis in its output for an epilogue. */
static bool matmul_epi_fits(const Node *n)
{
    return n->in[1] && n->in[1]->shape.rank >= 2;
}

const OpDesc op_rows_matmul[] = {
    {.dyn = DYN_MATMUL, .name = "Gemm", .since = 1, .until = 6, .min_in = 3, .max_in = 3, .min_out = 1, .max_out = 1,
     .flags = OPF_EPILOGUE, .attrs = a_gemm_old, .infer = infer_gemm, .lower = lower_gemm,
     .epi_axis = OP_AXIS_LAST},
    {.dyn = DYN_MATMUL, .name = "Gemm", .since = 7, .until = 10, .min_in = 3, .max_in = 3, .min_out = 1,
     .max_out = 1, .flags = OPF_EPILOGUE, .attrs = a_gemm, .infer = infer_gemm,
     .lower = lower_gemm, .epi_axis = OP_AXIS_LAST},
    {.dyn = DYN_MATMUL, .name = "Gemm", .since = 11, .min_in = 2, .max_in = 3, .min_out = 1, .max_out = 1,
     .flags = OPF_EPILOGUE, .attrs = a_gemm, .infer = infer_gemm, .lower = lower_gemm,
     .epi_axis = OP_AXIS_LAST},
    {.dyn = DYN_MATMUL, .name = "MatMul", .since = 1, .min_in = 2, .max_in = 2, .min_out = 1, .max_out = 1,
     .flags = OPF_EPILOGUE, .attrs = no_attrs, .infer = infer_matmul, .lower = lower_matmul,
     .role = OP_ROLE_MATMUL, .epi_axis = OP_AXIS_LAST, .epi_fits = matmul_epi_fits},
    {.name = "Einsum", .since = 12, .min_in = 1, .max_in = EIN_MAX_IN, .min_out = 1,
     .max_out = 1, .attrs = a_einsum, .infer = infer_einsum, .lower = lower_einsum},
    {.name = NULL},
};
