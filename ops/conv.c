/* Convolution: Conv and ConvTranspose over any number of spatial dims.
 *
 * Float32 1-D and 2-D convolutions lower to a KC_CONV2D kernel call (1-D
 * as H = 1), transposed ones to a KC_CONV_TRANSPOSE2D, carrying the
 * geometry, the operands and the node's epilogue (n->epi: bias, residual
 * add and activation, set by passes/fuse_epilogue.c); the target's
 * selection pass picks the algorithm and packs constant weights for it.
 *
 * Other dtypes, 3-D and higher, sizes beyond 32 bits and all-constant
 * inputs (so folding can interpret them) lower to a direct loop nest: per
 * output element, a sum over the group's input channels and the kernel
 * window, skipping taps that fall into the padding (transposed: taps that
 * no input element maps onto); then a loop applying n->epi. */
#include "ops.h"

#include <string.h>

#define CONV_MAX_SPATIAL (IR_MAX_RANK - 2)
/* All-constant convolutions up to this many multiply-adds lower to loops
 * that folding interprets; bigger ones stay for run time. */
#define CONV_MAX_FOLD_MACS ((int64_t)1 << 24)

/* Everything a Conv or ConvTranspose node's lowering needs, checked. */
typedef struct {
    int r;                                  /* spatial rank */
    int64_t N, C, M, group;
    int64_t in[CONV_MAX_SPATIAL];           /* input spatial extents */
    int64_t out[CONV_MAX_SPATIAL];          /* output spatial extents */
    int64_t kern[CONV_MAX_SPATIAL];
    int64_t stride[CONV_MAX_SPATIAL], dil[CONV_MAX_SPATIAL];
    int64_t pad[CONV_MAX_SPATIAL];          /* leading padding */
} ConvGeom;

typedef enum { AP_NOTSET, AP_SAME_UPPER, AP_SAME_LOWER, AP_VALID } AutoPad;

/* The attributes both rows read besides those in ConvGeom, checked. */
typedef struct {
    int64_t pads[2 * CONV_MAX_SPATIAL];     /* begins, then ends; >= 0 */
    int64_t span[CONV_MAX_SPATIAL];         /* dilated kernel: dil * (k - 1) + 1 */
    AutoPad auto_pad;
} ConvAttrs;

/* An INTS attribute of exactly `count` entries, or `dflt` for each. */
static bool ints_attr(const Node *n, Diag *d, const char *name, int count, int64_t dflt,
                      int64_t *out)
{
    const Attr *a = ir_attr(n, name);
    if (!a) {
        for (int i = 0; i < count; i++)
            out[i] = dflt;
        return true;
    }
    int64_t one = a->type == ATTR_INT ? a->i : 0;
    const int64_t *v = a->type == ATTR_INT ? &one : a->ints;
    int nv = a->type == ATTR_INT ? 1 : a->n;
    if (nv != count) {
        diag_error(d, n, "attribute '%s' has %d values, expected %d", name, nv, count);
        return false;
    }
    memcpy(out, v, (size_t)count * sizeof *out);
    return true;
}

/* (x + y) for shape arithmetic; false on overflow. */
static bool add3(int64_t a, int64_t b, int64_t c, int64_t *out)
{
    return ir_add_ok(a, b, out) && ir_add_ok(*out, c, out);
}

/* What Conv and ConvTranspose check alike: ranks, dtypes, groups, bias,
 * kernel, strides, dilations, pads and auto_pad. Sets g but for out and
 * pad. Conv's weights are [M, C/group, k...], transposed ones
 * [C, M/group, k...]. */
static bool conv_attrs(const Node *n, Diag *d, bool transpose, ConvGeom *g, ConvAttrs *a)
{
    const Value *x = n->in[0], *w = n->in[1];
    const Value *b = n->nin > 2 ? n->in[2] : NULL;
    memset(g, 0, sizeof *g);
    if (x->shape.rank < 3) {
        diag_error(d, n, "input 0 '%s': expected rank >= 3 ([N, C, spatial...]), got %d",
                   x->name, x->shape.rank);
        return false;
    }
    if (w->shape.rank != x->shape.rank) {
        diag_error(d, n, "input 1 '%s': expected rank %d like input 0, got %d", w->name,
                   x->shape.rank, w->shape.rank);
        return false;
    }
    if (!ir_dtype_is_float(x->dtype))
        return op_unsupported(d, n, "%s on %s", n->op_type, ir_dtype_name(x->dtype));
    if (w->dtype != x->dtype || (b && b->dtype != x->dtype)) {
        const Value *v = w->dtype != x->dtype ? w : b;
        diag_error(d, n, "input %d '%s' is %s but input 0 is %s", v == w ? 1 : 2, v->name,
                   ir_dtype_name(v->dtype), ir_dtype_name(x->dtype));
        return false;
    }
    g->r = x->shape.rank - 2;
    g->N = x->shape.dim[0];
    g->C = x->shape.dim[1];
    g->group = ir_attr_int(n, "group", 1);
    if (g->group < 1) {
        diag_error(d, n, "group must be >= 1, got %lld", (long long)g->group);
        return false;
    }
    bool fits;
    if (transpose) {
        fits = w->shape.dim[0] == g->C && g->C % g->group == 0 &&
               ir_mul_ok(w->shape.dim[1], g->group, &g->M);
    } else {
        g->M = w->shape.dim[0];
        fits = g->C % g->group == 0 && g->M % g->group == 0 &&
               w->shape.dim[1] * g->group == g->C;
    }
    if (!fits) {
        diag_error(d, n, "input 1 '%s' %s does not fit %lld input channels in %lld groups",
                   w->name, ir_shape_str(n->graph->arena, &w->shape), (long long)g->C,
                   (long long)g->group);
        return false;
    }
    if (b && (b->shape.rank != 1 || b->shape.dim[0] != g->M)) {
        diag_error(d, n, "input 2 '%s': expected shape [%lld], got %s", b->name,
                   (long long)g->M, ir_shape_str(n->graph->arena, &b->shape));
        return false;
    }
    int r = g->r;
    int64_t ks[CONV_MAX_SPATIAL];
    for (int i = 0; i < r; i++) {
        g->kern[i] = w->shape.dim[i + 2];
        if (g->kern[i] < 1) {
            diag_error(d, n, "input 1 '%s' %s has an empty kernel", w->name,
                       ir_shape_str(n->graph->arena, &w->shape));
            return false;
        }
    }
    if (ir_attr(n, "kernel_shape")) {
        if (!ints_attr(n, d, "kernel_shape", r, 0, ks))
            return false;
        for (int i = 0; i < r; i++)
            if (ks[i] != g->kern[i]) {
                diag_error(d, n, "kernel_shape does not match input 1 '%s' %s", w->name,
                           ir_shape_str(n->graph->arena, &w->shape));
                return false;
            }
    }
    if (!ints_attr(n, d, "strides", r, 1, g->stride) ||
        !ints_attr(n, d, "dilations", r, 1, g->dil) || !ints_attr(n, d, "pads", 2 * r, 0, a->pads))
        return false;
    const char *ap = ir_attr_string(n, "auto_pad", "NOTSET");
    static const char *const modes[] = {"NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"};
    int mode = 0;
    while (mode < 4 && strcmp(ap, modes[mode]) != 0)
        mode++;
    if (mode == 4) {
        diag_error(d, n, "auto_pad '%s' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID", ap);
        return false;
    }
    a->auto_pad = (AutoPad)mode;
    for (int i = 0; i < r; i++) {
        if (g->stride[i] < 1 || g->dil[i] < 1) {
            diag_error(d, n, "strides and dilations must be >= 1");
            return false;
        }
        if (a->pads[i] < 0 || a->pads[i + r] < 0) {
            diag_error(d, n, "pads must be >= 0, got %lld and %lld for spatial dim %d",
                       (long long)a->pads[i], (long long)a->pads[i + r], i);
            return false;
        }
        g->in[i] = x->shape.dim[i + 2];
        if (!ir_mul_ok(g->dil[i], g->kern[i] - 1, &a->span[i]) ||
            !ir_add_ok(a->span[i], 1, &a->span[i])) {
            diag_error(d, n, "kernel extent overflows");
            return false;
        }
    }
    return true;
}

static bool conv_geom(const Node *n, Diag *d, ConvGeom *g)
{
    ConvAttrs a;
    if (!conv_attrs(n, d, false, g, &a))
        return false;
    bool same = a.auto_pad == AP_SAME_UPPER || a.auto_pad == AP_SAME_LOWER;
    for (int i = 0; i < g->r; i++) {
        int64_t span = a.span[i];
        int64_t begin = a.pads[i], end = a.pads[i + g->r], total;
        if (same) {
            /* out = ceil(in / stride), padding split around the input */
            g->out[i] = g->in[i] / g->stride[i] + (g->in[i] % g->stride[i] != 0);
            int64_t need;
            if (!ir_mul_ok(g->out[i] > 0 ? g->out[i] - 1 : 0, g->stride[i], &need) ||
                !add3(need, span, -g->in[i], &need)) {
                diag_error(d, n, "padding overflows");
                return false;
            }
            need = need > 0 ? need : 0;
            begin = a.auto_pad == AP_SAME_UPPER ? need / 2 : need - need / 2;
            g->pad[i] = begin;
            continue;
        }
        if (a.auto_pad == AP_VALID)
            begin = end = 0;
        if (!add3(g->in[i], begin, end, &total)) {
            diag_error(d, n, "padding overflows");
            return false;
        }
        if (total < span) {
            diag_error(d, n, "kernel window %lld is larger than the padded input %lld in spatial dim %d",
                       (long long)span, (long long)total, i);
            return false;
        }
        g->pad[i] = begin;
        /* out = floor((in + pads - span) / stride) + 1 */
        g->out[i] = (total - span) / g->stride[i] + 1;
    }
    return true;
}

/* ConvTranspose's output extents and leading padding, as ONNX Runtime
 * computes them. Per spatial dim the full output is
 * stride * (in - 1) + output_padding + span; explicit pads crop it. An
 * output_shape, or with auto_pad SAME in * stride, sets the extent
 * instead, and the padding it takes is split with the odd element at the
 * end for SAME_UPPER, at the start otherwise (opset 1's text put it on
 * the other side; ONNX Runtime follows opset 11's at every opset). An
 * output_shape beyond the full output extends it at the end, by at most
 * stride - 1 past the output without output_padding (more is refused, as
 * ONNX Runtime refuses it); auto_pad SAME never extends it (ONNX's
 * reference implementation pads negatively there instead). */
static bool convt_geom(const Node *n, Diag *d, ConvGeom *g)
{
    ConvAttrs a;
    if (!conv_attrs(n, d, true, g, &a))
        return false;
    int r = g->r;
    int64_t opad[CONV_MAX_SPATIAL], oshape[CONV_MAX_SPATIAL];
    bool has_shape = ir_attr(n, "output_shape") != NULL;
    if (!ints_attr(n, d, "output_padding", r, 0, opad) ||
        (has_shape && !ints_attr(n, d, "output_shape", r, 0, oshape)))
        return false;
    for (int i = 0; i < r; i++) {
        int64_t lim = g->stride[i] > g->dil[i] ? g->stride[i] : g->dil[i];
        if (opad[i] < 0 || opad[i] >= lim) {
            diag_error(d, n, "output_padding %lld in spatial dim %d is not in [0, %lld) "
                       "(max of stride and dilation)", (long long)opad[i], i, (long long)lim);
            return false;
        }
        int64_t full;
        if (!ir_mul_ok(g->stride[i], g->in[i] - 1, &full) || !add3(full, opad[i], a.span[i], &full)) {
            diag_error(d, n, "output extent overflows");
            return false;
        }
        if (!has_shape && a.auto_pad != AP_SAME_UPPER && a.auto_pad != AP_SAME_LOWER) {
            /* explicit pads (none for VALID) crop the full output */
            int64_t begin = a.auto_pad == AP_VALID ? 0 : a.pads[i];
            int64_t end = a.auto_pad == AP_VALID ? 0 : a.pads[i + r];
            g->pad[i] = begin;
            if (!add3(full, -begin, -end, &g->out[i]) || g->out[i] < 1) {
                diag_error(d, n, "pads %lld and %lld leave no output of %lld in spatial dim %d",
                           (long long)begin, (long long)end, (long long)full, i);
                return false;
            }
            continue;
        }
        /* the extent output_shape or SAME asks for, and the padding it takes */
        int64_t want = has_shape ? oshape[i] : 0, total;
        if (want < 0) {
            diag_error(d, n, "output_shape %lld in spatial dim %d is negative", (long long)want, i);
            return false;
        }
        if ((!has_shape && !ir_mul_ok(g->in[i], g->stride[i], &want)) ||
            !ir_add_ok(full, -want, &total)) {
            diag_error(d, n, "output extent overflows");
            return false;
        }
        if (has_shape && total <= opad[i] - g->stride[i]) {
            diag_error(d, n, "output_shape %lld in spatial dim %d is more than stride - 1 "
                       "= %lld beyond the output without output_padding (%lld)",
                       (long long)want, i, (long long)(g->stride[i] - 1),
                       (long long)(full - opad[i]));
            return false;
        }
        if (total < 0 && !has_shape)
            want = full > 0 ? full : 0;
        total = total > 0 ? total : 0;
        g->pad[i] = a.auto_pad == AP_SAME_UPPER ? total / 2 : total - total / 2;
        g->out[i] = want;
    }
    return true;
}

/* Output 0 of a Conv or ConvTranspose: [N, M, out...]. */
static bool infer_with(Node *n, Diag *d, bool (*geom)(const Node *, Diag *, ConvGeom *))
{
    ConvGeom g;
    if (!op_inputs_known(n, d) || !geom(n, d, &g))
        return false;
    Shape s = {.rank = g.r + 2};
    s.dim[0] = g.N;
    s.dim[1] = g.M;
    for (int i = 0; i < g.r; i++)
        s.dim[i + 2] = g.out[i];
    op_set_out(n, 0, n->in[0]->dtype, &s);
    return true;
}

static bool infer_conv(Node *n, Diag *d)
{
    return infer_with(n, d, conv_geom);
}

static bool infer_convt(Node *n, Diag *d)
{
    return infer_with(n, d, convt_geom);
}

/* Direct convolution in loop IR, any spatial rank and float dtype. The
 * transposed one gathers too: output o takes tap t of input position
 * (o + pad - t * dil) / stride where that divides evenly and is inside. */
static void lower_loops(LKernel *k, Node *n, const ConvGeom *g, bool transpose)
{
    Value *x = n->in[0], *w = n->in[1], *b = n->nin > 2 ? n->in[2] : NULL, *y = n->out[0];
    int r = g->r;
    int yv[IR_MAX_RANK], tv[IR_MAX_RANK];
    LStmt *inner = lk_nest(k, k->root, y->shape.dim, y->shape.rank, yv);
    DType ct = lw_compute_type(y->dtype);
    int acc = lk_var(k, ct);
    LExpr *init = b ? lx_cast(k, ct, lx_load(k, b, lx_var(k, yv[1]))) : lx_num(k, ct, 0);
    ls_push(k, inner, ls_assign(k, acc, init));

    /* taps: input channel within the group, then the kernel window */
    int64_t cg = g->C / g->group, mg = g->M / g->group;
    int64_t tdims[IR_MAX_RANK];
    tdims[0] = cg;
    for (int i = 0; i < r; i++)
        tdims[i + 1] = g->kern[i];
    LStmt *tap = lk_nest(k, inner, tdims, r + 1, tv);

    LExpr *ch = lx_add(k, lx_muli(k, lx_div(k, lx_var(k, yv[1]), lx_idx(k, mg)), cg),
                       lx_var(k, tv[0]));
    LExpr *xidx = lx_add(k, lx_muli(k, lx_var(k, yv[0]), g->C), ch);
    /* w [M, C/group, k...], transposed [C, M/group, k...] */
    LExpr *widx = transpose ? lx_add(k, lx_muli(k, ch, mg), lx_mod(k, lx_var(k, yv[1]), lx_idx(k, mg)))
                            : lx_add(k, lx_muli(k, lx_var(k, yv[1]), cg), lx_var(k, tv[0]));
    LExpr *cond = NULL;
    for (int i = 0; i < r; i++) {
        /* input coordinate o * stride - pad + t * dil; transposed, the
         * coordinate times stride, o + pad - t * dil */
        LExpr *pos, *c = NULL;
        int64_t lo, hi, lim;
        if (transpose) {
            pos = lx_add(k, lx_addi(k, lx_var(k, yv[i + 2]), g->pad[i]),
                         lx_muli(k, lx_var(k, tv[i + 1]), -g->dil[i]));
            lo = g->pad[i] - (g->kern[i] - 1) * g->dil[i];
            hi = g->out[i] - 1 + g->pad[i];
            lim = (g->in[i] - 1) * g->stride[i] + 1;
        } else {
            pos = lx_add(k, lx_muli(k, lx_var(k, yv[i + 2]), g->stride[i]),
                         lx_addi(k, lx_muli(k, lx_var(k, tv[i + 1]), g->dil[i]), -g->pad[i]));
            lo = -g->pad[i];
            hi = (g->out[i] - 1) * g->stride[i] + (g->kern[i] - 1) * g->dil[i] - g->pad[i];
            lim = g->in[i];
        }
        /* the coordinate's range over the whole loop: check only what can fall out */
        if (lo < 0)
            c = lx_bin(k, LB_GE, pos, lx_idx(k, 0));
        if (hi >= lim) {
            LExpr *c2 = lx_bin(k, LB_LT, pos, lx_idx(k, lim));
            c = c ? lx_bin(k, LB_AND, c, c2) : c2;
        }
        if (transpose && g->stride[i] > 1) {
            LExpr *c2 = lx_bin(k, LB_EQ, lx_mod(k, pos, lx_idx(k, g->stride[i])), lx_idx(k, 0));
            c = c ? lx_bin(k, LB_AND, c, c2) : c2;
            pos = lx_div(k, pos, lx_idx(k, g->stride[i]));
        }
        xidx = lx_add(k, lx_muli(k, xidx, g->in[i]), pos);
        widx = lx_add(k, lx_muli(k, widx, g->kern[i]), lx_var(k, tv[i + 1]));
        if (c)
            cond = cond ? lx_bin(k, LB_AND, cond, c) : c;
    }
    LExpr *xv = lx_cast(k, ct, lx_load(k, x, xidx));
    LExpr *wv = lx_cast(k, ct, lx_load(k, w, widx));
    LStmt *upd = ls_assign(k, acc, lx_bin(k, LB_ADD, lx_var(k, acc), lx_bin(k, LB_MUL, xv, wv)));
    if (cond) {
        LStmt *iff = ls_if(k, cond);
        ls_push(k, iff, upd);
        ls_push(k, tap, iff);
    } else {
        ls_push(k, tap, upd);
    }
    ls_push(k, inner, ls_store(k, y, lx_flat(k, &y->shape, yv), lx_cast(k, y->dtype, lx_var(k, acc))));
}

/* The kernel call's geometry for g: 1-D and 2-D convolutions whose sizes
 * fit the 32 bits kernel calls take. */
static bool kernel_geom(const ConvGeom *g, KConv2d *s)
{
    if (g->r > 2)
        return false;
    bool two = g->r == 2;
    int last = g->r - 1;
    *s = (KConv2d){
        .N = g->N, .C = g->C, .H = two ? g->in[0] : 1, .W = g->in[last],
        .M = g->M, .OH = two ? g->out[0] : 1, .OW = g->out[last],
        .KH = two ? g->kern[0] : 1, .KW = g->kern[last],
        .SH = two ? g->stride[0] : 1, .SW = g->stride[last],
        .DH = two ? g->dil[0] : 1, .DW = g->dil[last],
        .PT = two ? g->pad[0] : 0, .PL = g->pad[last],
        .group = g->group,
    };
    const int64_t v[16] = {s->N,  s->C,  s->H,  s->W,  s->M,  s->OH, s->OW, s->KH,
                           s->KW, s->SH, s->SW, s->DH, s->DW, s->PT, s->PL, s->group};
    return op_fits_int32(v, 16);
}

/* Multiply-adds: per output element (per input element when
 * transposed), one per weight of a dim-0 slice of w. */
static int64_t conv_macs(const Node *n, bool transpose)
{
    int64_t macs = ir_value_numel(transpose ? n->in[0] : n->out[0]);
    int64_t per = ir_value_numel(n->in[1]) / (n->in[1]->shape.dim[0] ? n->in[1]->shape.dim[0] : 1);
    return ir_mul_ok(macs, per, &macs) ? macs : INT64_MAX;
}

static bool lower_with(Node *n, Diag *d, bool transpose)
{
    ConvGeom g;
    if (!(transpose ? convt_geom : conv_geom)(n, d, &g))
        return false;
    LKernel *k = lw_kernel(n);
    Value *y = n->out[0];
    if (ir_value_numel(y) == 0)
        return true;
    bool fold = op_inputs_constant(n) && conv_macs(n, transpose) <= CONV_MAX_FOLD_MACS;
    KConv2d s;
    bool empty = ir_value_numel(n->in[0]) == 0 || ir_value_numel(n->in[1]) == 0;
    Value *bias = n->nin > 2 ? n->in[2] : NULL;
    if (n->epi.bias) {  /* fuse_epilogue merges it into input 2; just in case */
        if (bias || ir_value_numel(n->epi.bias) != g.M)
            fold = true;
        bias = n->epi.bias;
    }
    if (y->dtype != DT_FLOAT || fold || empty || !kernel_geom(&g, &s)) {
        lower_loops(k, n, &g, transpose);
        return lw_apply_epilogue(n, k, y) ||
               op_unsupported(d, n, "this epilogue on a looped %s", n->op_type);
    }
    LStmt *c = ls_kernel(k, transpose ? KC_CONV_TRANSPOSE2D : KC_CONV2D);
    /* 2 * N * (C/group) * M * KH * KW per output (input, transposed) position */
    c->flops = 2.0 * s.N * s.M * (transpose ? s.H * s.W : s.OH * s.OW) *
               (double)(s.C / s.group) * s.KH * s.KW;
    c->kc->u.conv = s;
    c->kc->in[0].buf = n->in[0];
    c->kc->in[1].buf = n->in[1];
    c->kc->bias.buf = bias;
    lw_kernel_epilogue(n, c->kc);
    c->kc->out.buf = y;
    ls_push(k, k->root, c);
    return true;
}

static bool lower_conv(Node *n, Diag *d)
{
    return lower_with(n, d, false);
}

static bool lower_convt(Node *n, Diag *d)
{
    return lower_with(n, d, true);
}

static const AttrSpec a_conv[] = {
    {"auto_pad", ATTR_STRING}, {"dilations", ATTR_INTS}, {"group", ATTR_INT},
    {"kernel_shape", ATTR_INTS}, {"pads", ATTR_INTS}, {"strides", ATTR_INTS},
    {NULL, 0},
};

static const AttrSpec a_convt[] = {
    {"auto_pad", ATTR_STRING}, {"dilations", ATTR_INTS}, {"group", ATTR_INT},
    {"kernel_shape", ATTR_INTS}, {"output_padding", ATTR_INTS}, {"output_shape", ATTR_INTS},
    {"pads", ATTR_INTS}, {"strides", ATTR_INTS},
    {NULL, 0},
};

const OpDesc op_rows_conv[] = {
    {.dyn = DYN_WINDOW, .name = "Conv", .since = 1, .min_in = 2, .max_in = 3, .min_out = 1, .max_out = 1,
     .flags = OPF_EPILOGUE | OPF_FOLDS_AFFINE, .attrs = a_conv, .infer = infer_conv,
     .lower = lower_conv, .epi_axis = 1, .bias_in = 2},
    /* Opsets 1, 11 and 22 differ in wording and types (bfloat16 from 22,
     * which dlc does not compute), not in what dlc computes: see convt_geom.
     * No OPF_FOLDS_AFFINE: the output channels are w's dim 1, not dim 0. */
    {.dyn = DYN_WINDOW, .name = "ConvTranspose", .since = 1, .min_in = 2, .max_in = 3, .min_out = 1, .max_out = 1,
     .flags = OPF_EPILOGUE, .attrs = a_convt, .infer = infer_convt, .lower = lower_convt,
     .epi_axis = 1, .bias_in = 2},
    {.name = NULL},
};
