/* The C target's selection pass: every target-neutral kernel call
 * (LS_KERNEL, ir/kernel_call.h) becomes a call of a runtime function
 * (LS_CALL). It picks the convolution algorithm and the GEMM (built-in or
 * OpenBLAS, from the Target), packs constant weights into the layout the
 * chosen kernel reads (a new constant value replaces them), sizes the
 * kernel's scratch and names the runtime unit model.c must carry. This is
 * the one pass that knows the C runtime; another target brings its own. */
#include "passes.h"
#include "../ir/loop.h"
#include "../runtime/rt_conv.h"
#include "../runtime/rt_pool.h"
#include "../runtime/rt_resize.h"

#include <float.h>
#include <math.h>
#include <string.h>

/* Epilogue codes pass through unchanged. */
_Static_assert((int)RT_ACT_NONE == (int)IR_ACT_NONE && (int)RT_ACT_RELU == (int)IR_ACT_RELU &&
                   (int)RT_ACT_CLIP == (int)IR_ACT_CLIP &&
                   (int)RT_ACT_LEAKY_RELU == (int)IR_ACT_LEAKY_RELU &&
                   (int)RT_ACT_HARD_SWISH == (int)IR_ACT_HARD_SWISH &&
                   (int)RT_ACT_SIGMOID == (int)IR_ACT_SIGMOID &&
                   (int)RT_ACT_GELU_ERF == (int)IR_ACT_GELU_ERF &&
                   (int)RT_ACT_GELU_TANH == (int)IR_ACT_GELU_TANH &&
                   (int)RT_ACT_SILU == (int)IR_ACT_SILU,
               "IrAct and rt_act codes differ");

/* Below this many rows of op(A) the built-in GEMM reads B unpacked (a
 * GEMV-like path, runtime/gemm.c RT_GEMM_SMALL_M): a prepacked B would be
 * slower there. */
#define GEMM_SMALL_M 4

static void arg_operand(LKernel *k, LStmt *s, KOperand o)
{
    ls_arg_buf_or_null(k, s, o.buf, o.off);
}

/* A new float32 constant of np elements (zeroed) for packed weights. */
static Value *packed_value(Graph *g, const char *name, size_t np)
{
    Value *v = ir_value_new(g, name);
    v->dtype = DT_FLOAT;
    v->has_type = true;
    v->shape.rank = 1;
    v->shape.dim[0] = (int64_t)np;
    v->data = ir_alloc_array(g->arena, np ? np : 1, sizeof(float));
    return v;
}

/* ---- convolution ---- */

/* The runtime's shape of a convolution call, also as the 16 ints of the
 * call's static parameters. */
static rt_conv2d_shape conv_shape(const KConv2d *g, int64_t ints[16])
{
    rt_conv2d_shape sh = {
        .N = (int)g->N, .C = (int)g->C, .H = (int)g->H, .W = (int)g->W,
        .M = (int)g->M, .OH = (int)g->OH, .OW = (int)g->OW, .KH = (int)g->KH, .KW = (int)g->KW,
        .SH = (int)g->SH, .SW = (int)g->SW, .DH = (int)g->DH, .DW = (int)g->DW,
        .PT = (int)g->PT, .PL = (int)g->PL, .group = (int)g->group,
    };
    const int64_t v[16] = {sh.N,  sh.C,  sh.H,  sh.W,  sh.M,  sh.OH, sh.OW, sh.KH,
                           sh.KW, sh.SH, sh.SW, sh.DH, sh.DW, sh.PT, sh.PL, sh.group};
    memcpy(ints, v, sizeof v);
    return sh;
}

/* s becomes the call every convolution entry point takes,
 * fn(&shape, how, x, w, bias, residual, act, alpha, beta, y, scratch), of
 * runtime unit `unit`; how: the algorithm or the packing. */
static void conv_call(LKernel *k, LStmt *s, const char *unit, const char *fn,
                      const int64_t ints[16], int how, Value *w, size_t scratch_floats)
{
    const KCall *c = s->kc;
    k->runtime = unit;
    k->scratch_bytes = (int64_t)scratch_floats * (int64_t)sizeof(float);
    s->kind = LS_CALL;
    s->fn = fn;
    ls_params(k, s, "rt_conv2d_shape", ints, 16);
    ls_arg_int(k, s, how);
    arg_operand(k, s, c->in[0]);
    ls_arg_buf(k, s, w, 0);
    arg_operand(k, s, c->bias);
    arg_operand(k, s, c->residual);
    ls_arg_int(k, s, c->act);
    ls_arg_float(k, s, c->act_alpha);
    ls_arg_float(k, s, c->act_beta);
    arg_operand(k, s, c->out);
    ls_arg_scratch(k, s);
}

static void select_conv(LKernel *k, LStmt *s, const Target *t)
{
    KCall *c = s->kc;
    int64_t ints[16];
    rt_conv2d_shape sh = conv_shape(&c->u.conv, ints);
    int algo = rt_conv2d_algo(&sh, t->no_winograd ? RT_CONV_NO_WINOGRAD : 0);
    Value *w = c->in[1].buf;
    if (w->data && algo != RT_CONV_ALGO_DW) {
        /* packed now, the same packing the kernel would do at run time */
        Value *pw = packed_value(k->g, ir_sprintf(k->g->arena, "%s_packed", w->name),
                                 rt_conv2d_packed_size(&sh, algo));
        rt_conv2d_pack(&sh, algo, w->data, pw->data);
        w = pw;
    } else if (!w->data) {
        algo |= RT_CONV_RAW_WEIGHTS;
    }
    conv_call(k, s, "conv", "rt_conv2d_fused", ints, algo, w,
              rt_conv2d_fused_scratch(&sh, algo));
}

/* GEMM + col2im (runtime/conv_transpose.c); constant weights prepacked as
 * the GEMM's A operand, one panel set per group. */
static void select_conv_transpose(LKernel *k, LStmt *s)
{
    KCall *c = s->kc;
    int64_t ints[16];
    rt_conv2d_shape sh = conv_shape(&c->u.conv, ints);
    Value *w = c->in[1].buf;
    bool packed = w->data != NULL;
    if (packed) {
        Value *pw = packed_value(k->g, ir_sprintf(k->g->arena, "%s_packed", w->name),
                                 rt_conv_transpose2d_packed_size(&sh));
        rt_conv_transpose2d_pack(&sh, w->data, pw->data);
        w = pw;
    }
    conv_call(k, s, "conv_transpose", "rt_conv_transpose2d", ints, packed, w,
              rt_conv_transpose2d_scratch(&sh));
}

/* ---- matrix products ---- */

/* A float32 constant: v's matrix packed for the built-in GEMM (rows x K of
 * op(A), or K x cols of op(B)); one per (value, operand, transpose),
 * shared by every product that reads it so. */
static Value *packed_operand(Graph *g, Value *v, bool is_a, bool trans, int64_t mn, int64_t K)
{
    const char *name = ir_sprintf(g->arena, "%s.packed_%c%d", v->name, is_a ? 'a' : 'b',
                                  trans ? 1 : 0);
    for (int i = 0; i < g->nvalues; i++) {
        Value *w = g->values[i];
        if (w->data && w->dtype == DT_FLOAT && strcmp(w->name, name) == 0 && !w->producer)
            return w;
    }
    Value *w = packed_value(g, name, is_a ? rt_sgemm_pack_a_size((ptrdiff_t)mn, (ptrdiff_t)K)
                                          : rt_sgemm_pack_b_size((ptrdiff_t)mn, (ptrdiff_t)K));
    /* stored [mn, K] when (A not transposed) or (B transposed), else [K, mn] */
    ptrdiff_t ld = (ptrdiff_t)((is_a != trans) ? K : mn);
    if (is_a)
        rt_sgemm_pack_a(trans, (ptrdiff_t)mn, (ptrdiff_t)K, v->data, ld, w->data);
    else
        rt_sgemm_pack_b(trans, (ptrdiff_t)mn, (ptrdiff_t)K, v->data, ld, w->data);
    return w;
}

/* Does every product of k read operand i as one whole matrix (no batch,
 * offset 0)? Then a constant there is packed once for all of them. */
static bool whole_operand(const LKernel *k, int i)
{
    for (int j = 0; j < k->root->n; j++) {
        const LStmt *s = k->root->body[j];
        if (s->kc && s->kc->kind == KC_GEMM &&  /* selected or not yet */
            (s->kc->u.gemm.batch != 1 || s->kc->in[i].off != 0))
            return false;
    }
    return true;
}

/* The call fn(...) of the GEMM's argument list: the flat form
 *   ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, Y, ldy [, epilogue]
 * or, batched, (batch, the same with each operand's batch stride after
 * its row stride); operands a, b read with transpose codes ta, tb
 * (RT_GEMM_PACKED for a packed constant). */
static void gemm_call(LKernel *k, LStmt *s, const char *fn, KOperand a, int ta, KOperand b,
                      int tb, bool ep, bool scratch)
{
    const KCall *c = s->kc;
    const KGemm *m = &c->u.gemm;
    bool batched = m->batch > 1;
    s->kind = LS_CALL;
    s->fn = fn;
    if (batched)
        ls_arg_int(k, s, m->batch);
    const int64_t head[5] = {ta, tb, m->M, m->N, m->K};
    for (int i = 0; i < 5; i++)
        if (i == 2 && m->m_run && !batched)
            ls_arg_expr(k, s, m->m_run);    /* the rows inside the run-time extent */
        else
            ls_arg_int(k, s, head[i]);
    ls_arg_float(k, s, m->alpha);
    const KOperand ops[3] = {a, b, c->out};
    const int64_t ld[3] = {m->lda, m->ldb, m->ldy}, stride[3] = {m->sa, m->sb, m->sy};
    for (int i = 0; i < 3; i++) {
        if (i == 2)
            ls_arg_float(k, s, m->beta);
        arg_operand(k, s, ops[i]);
        ls_arg_int(k, s, ld[i]);
        if (batched)
            ls_arg_int(k, s, stride[i]);
    }
    if (ep) {
        arg_operand(k, s, c->bias);
        ls_arg_int(k, s, m->bias_rows);
        arg_operand(k, s, c->residual);
        ls_arg_int(k, s, m->ldr);
        ls_arg_int(k, s, c->act);
        ls_arg_float(k, s, c->act_alpha);
        ls_arg_float(k, s, c->act_beta);
    }
    if (scratch)
        ls_arg_scratch(k, s);
}

static void select_gemm(LKernel *k, LStmt *s, const Target *t)
{
    const KCall *c = s->kc;
    const KGemm *m = &c->u.gemm;
    KOperand a = c->in[0], b = c->in[1];
    int ta = m->ta, tb = m->tb;
    bool batched = m->batch > 1;
    /* a batched call has no epilogue (the rows keep it to one product) */
    bool ep = !batched && (c->bias.buf || c->residual.buf || c->act);
    if (t->blas == TARGET_BLAS_OPENBLAS) {
        /* plain row-major operands, OpenBLAS's own buffers, the epilogue
         * a pass over each result */
        k->runtime = "blas_openblas";
        k->scratch_bytes = 0;
        gemm_call(k, s, batched ? "rt_blas_sgemm_batch" : "rt_blas_sgemm_ep", a, ta, b, tb,
                  !batched, false);
        return;
    }
    k->runtime = "gemm";
    if (batched) {
        k->scratch_bytes = (int64_t)rt_sgemm_batch_scratch((ptrdiff_t)m->batch, (ptrdiff_t)m->M,
                                                           (ptrdiff_t)m->N, (ptrdiff_t)m->K) *
                           (int64_t)sizeof(float);
        gemm_call(k, s, "rt_sgemm_batch", a, ta, b, tb, false, true);
        return;
    }
    if (b.buf->data && m->M >= GEMM_SMALL_M && whole_operand(k, 1)) {
        b.buf = packed_operand(k->g, b.buf, false, m->tb, m->N, m->K);
        tb = RT_GEMM_PACKED;
    }
    if (a.buf->data && m->M >= GEMM_SMALL_M && whole_operand(k, 0)) {
        a.buf = packed_operand(k->g, a.buf, true, m->ta, m->M, m->K);
        ta = RT_GEMM_PACKED;
    }
    k->scratch_bytes = (int64_t)rt_sgemm_scratch((ptrdiff_t)m->M, (ptrdiff_t)m->N,
                                                 (ptrdiff_t)m->K) * (int64_t)sizeof(float);
    gemm_call(k, s, ep ? "rt_sgemm_ep_flat" : "rt_sgemm", a, ta, b, tb, ep, true);
}

/* ---- pooling, attention, softmax ---- */

static void select_pool(LKernel *k, LStmt *s)
{
    const KCall *c = s->kc;
    const KPool2d *p = &c->u.pool;
    k->runtime = "pool";
    s->kind = LS_CALL;
    s->fn = "rt_pool2d";
    ls_arg_int(k, s, p->max ? RT_POOL_MAX : RT_POOL_AVG);
    ls_arg_int(k, s, p->planes);
    const int64_t v[15] = {p->H,  p->W,  p->OH, p->OW, p->KH, p->KW, p->SH,       p->SW,
                           p->DH, p->DW, p->PT, p->PL, p->PB, p->PR, p->include_pad};
    for (int i = 0; i < 15; i++)
        ls_arg_int(k, s, v[i]);
    arg_operand(k, s, c->in[0]);
    arg_operand(k, s, c->out);
}

static void select_global_pool(LKernel *k, LStmt *s)
{
    const KCall *c = s->kc;
    k->runtime = "pool";
    s->kind = LS_CALL;
    s->fn = "rt_global_pool";
    ls_arg_int(k, s, c->u.gpool.max ? RT_POOL_MAX : RT_POOL_AVG);
    ls_arg_int(k, s, c->u.gpool.planes);
    ls_arg_int(k, s, c->u.gpool.size);
    arg_operand(k, s, c->in[0]);
    arg_operand(k, s, c->out);
}

static void select_attention(LKernel *k, LStmt *s)
{
    const KCall *c = s->kc;
    const KAttention *a = &c->u.attn;
    int64_t ints[23] = {a->B,  a->H,  a->Sq, a->Sk, a->D,  a->Dv, a->qb, a->qh,
                        a->qi, a->kb, a->kh, a->kj, a->vb, a->vh, a->vj, a->ob,
                        a->oh, a->oi, a->mb, a->mh, a->mi, a->mj, a->nan_zero};
    rt_attention_shape sh;
    ptrdiff_t *f[23] = {&sh.B,  &sh.H,  &sh.Sq, &sh.Sk, &sh.D,  &sh.Dv, &sh.qb, &sh.qh,
                        &sh.qi, &sh.kb, &sh.kh, &sh.kj, &sh.vb, &sh.vh, &sh.vj, &sh.ob,
                        &sh.oh, &sh.oi, &sh.mb, &sh.mh, &sh.mi, &sh.mj, &sh.nan_zero};
    for (int i = 0; i < 23; i++)
        *f[i] = (ptrdiff_t)ints[i];
    k->runtime = "attention";
    k->scratch_bytes = (int64_t)rt_attention_scratch(&sh) * (int64_t)sizeof(float);
    s->kind = LS_CALL;
    s->fn = "rt_attention";
    ls_params(k, s, "rt_attention_shape", ints, 23);
    if (a->sq_run || a->sk_run) {   /* rows and keys at their run-time extents */
        s->run_ints = ir_alloc_array(k->g->arena, 23, sizeof *s->run_ints);
        s->run_ints[2] = a->sq_run;
        s->run_ints[3] = a->sk_run;
    }
    ls_arg_float(k, s, a->scale);
    for (int i = 0; i < 4; i++)
        arg_operand(k, s, c->in[i]);
    arg_operand(k, s, c->out);
    ls_arg_scratch(k, s);
}

static void select_softmax(LKernel *k, LStmt *s)
{
    const KCall *c = s->kc;
    k->runtime = "softmax";
    s->kind = LS_CALL;
    s->fn = c->u.softmax.inner > 1 ? "rt_softmax_strided" : "rt_softmax";
    arg_operand(k, s, c->in[0]);
    arg_operand(k, s, c->out);
    ls_arg_int(k, s, c->u.softmax.rows);
    ls_arg_int(k, s, c->u.softmax.len);
    if (c->u.softmax.inner > 1)
        ls_arg_int(k, s, c->u.softmax.inner);
    ls_arg_int(k, s, c->u.softmax.log);
}

static void select_transpose(LKernel *k, LStmt *s)
{
    const KTranspose *t = &s->kc->u.transpose;
    k->runtime = "transpose";
    s->kind = LS_CALL;
    s->fn = "rt_transpose";
    const int64_t v[10] = {t->A, t->B, t->sb, t->da, t->n1, t->s1, t->d1, t->n2, t->s2, t->d2};
    ls_params(k, s, "rt_transpose_shape", v, 10);
    arg_operand(k, s, s->kc->in[0]);
    arg_operand(k, s, s->kc->out);
}

_Static_assert(KC_RESIZE_MAX_TH == RT_RESIZE_MAX_TH, "resize tap limits differ");

static void select_resize(LKernel *k, LStmt *s)
{
    const KCall *c = s->kc;
    const KResize2d *r = &c->u.resize;
    k->runtime = "resize";
    s->kind = LS_CALL;
    s->fn = "rt_resize2d";
    const int64_t v[7] = {r->planes, r->H, r->W, r->OH, r->OW, r->TH, r->TW};
    for (int i = 0; i < 7; i++)
        ls_arg_int(k, s, v[i]);
    const int64_t cols = r->OH * r->TH;
    ls_arg_buf(k, s, c->in[1].buf, c->in[1].off);
    ls_arg_buf_or_null(k, s, c->in[2].buf, c->in[2].off);
    ls_arg_buf(k, s, c->in[1].buf, c->in[1].off + cols);
    ls_arg_buf_or_null(k, s, c->in[2].buf, c->in[2].off + cols);
    arg_operand(k, s, c->in[0]);
    arg_operand(k, s, c->out);
}

/* ---- recurrent layers ---- */

_Static_assert((int)RT_RNN_CELL_RNN == (int)KRNN_CELL_RNN &&
                   (int)RT_RNN_CELL_GRU == (int)KRNN_CELL_GRU &&
                   (int)RT_RNN_CELL_LSTM == (int)KRNN_CELL_LSTM &&
                   (int)RT_RNN_ACT_RELU == (int)KRNN_ACT_RELU &&
                   (int)RT_RNN_ACT_SOFTPLUS == (int)KRNN_ACT_SOFTPLUS &&
                   (int)RT_RNN_ACT_SOFTPLUS + 1 == (int)KRNN_ACT_COUNT,
               "KRnn and rt_rnn codes differ");

/* rt_rnn (runtime/rnn.c): constant W and R packed now for its products;
 * clip and the activations' alpha, beta become a small constant. */
static void select_rnn(LKernel *k, LStmt *s)
{
    const KCall *c = s->kc;
    const KRnn *r = &c->u.rnn;
    int per_dir = r->nacts / (int)r->dirs;
    int act[6] = {0};
    Value *prm = packed_value(k->g, ir_sprintf(k->g->arena, "%s.rnn_params", c->in[0].buf->name),
                              13);
    float *pf = prm->data;
    pf[0] = r->clip;
    for (int d = 0; d < r->dirs; d++)
        for (int j = 0; j < per_dir; j++) {
            act[3 * d + j] = r->act[d * per_dir + j];
            pf[1 + 3 * d + j] = r->act_alpha[d * per_dir + j];
            pf[7 + 3 * d + j] = r->act_beta[d * per_dir + j];
        }
    int flags = (r->linear_before_reset ? RT_RNN_LINEAR_BEFORE_RESET : 0) |
                (r->input_forget ? RT_RNN_INPUT_FORGET : 0);
    rt_rnn_shape sh = {
        .cell = (int)r->cell, .dirs = (int)r->dirs, .reverse = r->reverse, .seq = (int)r->seq,
        .batch = (int)r->batch, .input = (int)r->input, .hidden = (int)r->hidden,
        .layout = r->layout, .flags = flags,
        .act0 = act[0], .act1 = act[1], .act2 = act[2], .act3 = act[3], .act4 = act[4], .act5 = act[5],
    };
    Value *w = c->in[1].buf, *rw = c->in[2].buf;
    if (w->data) {
        Value *pw = packed_value(k->g, ir_sprintf(k->g->arena, "%s.rnn_packed", w->name),
                                 rt_rnn_packed_w_size(&sh));
        rt_rnn_pack_w(&sh, w->data, pw->data);
        w = pw;
        sh.flags |= RT_RNN_PACKED_W;
    }
    if (rw->data) {
        Value *pr = packed_value(k->g, ir_sprintf(k->g->arena, "%s.rnn_packed", rw->name),
                                 rt_rnn_packed_r_size(&sh));
        rt_rnn_pack_r(&sh, rw->data, pr->data);
        rw = pr;
        sh.flags |= RT_RNN_PACKED_R;
    }
    const int64_t ints[16] = {sh.cell,  sh.dirs,  sh.reverse, sh.seq,   sh.batch, sh.input,
                              sh.hidden, sh.layout, sh.flags, sh.act0,  sh.act1,  sh.act2,
                              sh.act3,  sh.act4,  sh.act5,    0};
    k->runtime = "rnn";
    k->scratch_bytes = (int64_t)rt_rnn_scratch(&sh) * (int64_t)sizeof(float);
    s->kind = LS_CALL;
    s->fn = "rt_rnn";
    ls_params(k, s, "rt_rnn_shape", ints, 15);
    ls_arg_buf(k, s, prm, 0);
    arg_operand(k, s, c->in[0]);
    ls_arg_buf(k, s, w, 0);
    ls_arg_buf(k, s, rw, 0);
    for (int i = 3; i < 8; i++)
        arg_operand(k, s, c->in[i]);
    arg_operand(k, s, c->out);
    arg_operand(k, s, c->more_out[0]);
    arg_operand(k, s, c->more_out[1]);
    ls_arg_scratch(k, s);
}

/* The constant float operands of a heavy kernel (its weights) are
 * multiplied in every run: their subnormals become signed zeros. On x86
 * each multiply with a subnormal operand takes a microcode assist of 100+
 * cycles; the digits example's 228 subnormal weights (an MLP trained with
 * weight decay) made its first Gemm 45x slower than with them zeroed. A
 * subnormal weight times any input below 2^24 is under 2^-102: below the
 * rounding of any sum that has a normal term. */
static void flush_subnormal_weights(Graph *g, const KCall *c)
{
    for (int i = 0; i < KC_MAX_IN; i++) {
        Value *v = c->in[i].buf;
        if (!v || !v->data || v->dtype != DT_FLOAT || v->output_index >= 0)
            continue;
        int64_t n = ir_value_numel(v);
        const float *p = v->data;
        float *copy = NULL;
        for (int64_t j = 0; j < n; j++) {
            if (p[j] == 0.0f || !(fabsf(p[j]) < FLT_MIN))
                continue;
            if (!copy) {    /* the data may be the model file's bytes: copy once */
                copy = ir_alloc_array(g->arena, (size_t)n, sizeof(float));
                memcpy(copy, p, (size_t)n * sizeof(float));
            }
            copy[j] = copysignf(0.0f, p[j]);
        }
        if (copy)
            v->data = copy;
    }
}

bool pass_select_c(Graph *g, const Target *t, Diag *d)
{
    (void)d;
    for (int i = 0; i < g->nnodes; i++) {
        Node *n = g->nodes[i];
        LKernel *k = n->kernel;
        if (n->dead || !k)
            continue;
        /* kernel calls sit at the top of a kernel, in run order */
        for (int j = 0; j < k->root->n; j++) {
            LStmt *s = k->root->body[j];
            if (s->kind != LS_KERNEL)
                continue;
            flush_subnormal_weights(g, s->kc);
            switch (s->kc->kind) {
            case KC_CONV2D: select_conv(k, s, t); break;
            case KC_GEMM: select_gemm(k, s, t); break;
            case KC_POOL2D: select_pool(k, s); break;
            case KC_GLOBAL_POOL: select_global_pool(k, s); break;
            case KC_ATTENTION: select_attention(k, s); break;
            case KC_SOFTMAX: select_softmax(k, s); break;
            case KC_CONV_TRANSPOSE2D: select_conv_transpose(k, s); break;
            case KC_RESIZE2D: select_resize(k, s); break;
            case KC_RNN: select_rnn(k, s); break;
            case KC_TRANSPOSE: select_transpose(k, s); break;
            case KC_COUNT: DLC_BUG("kernel call of no kind");
            }
        }
    }
    return true;
}
