/* Recurrent layers: RNN, GRU and LSTM (opsets 7 .. 22; 14 added `layout`).
 *
 * Each node lowers to one KC_RNN kernel call over the whole sequence
 * (ir/kernel_call.h, KRnn): the target computes the input projection of
 * every step at once and then the recurrence. Float32 only. Where the
 * ONNX text is loose, dlc follows ONNX Runtime: activation names are
 * matched without case; activation_alpha / activation_beta are consumed in
 * the order of the activations, each by the functions that take one
 * (Affine, LeakyRelu, ThresholdedRelu, ScaledTanh, HardSigmoid, Elu take
 * alpha; Affine, ScaledTanh, HardSigmoid beta), the defaults of the ONNX
 * operators of the same name where the list runs out. */
#include "ops.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* Gates, gate functions per direction and the defaults, per cell. */
typedef struct {
    KRnnCell cell;
    int gates, nfuncs;
    KRnnAct dflt[3];
} CellInfo;

static const CellInfo cell_rnn = {KRNN_CELL_RNN, 1, 1, {KRNN_ACT_TANH}};
static const CellInfo cell_gru = {KRNN_CELL_GRU, 3, 2, {KRNN_ACT_SIGMOID, KRNN_ACT_TANH}};
static const CellInfo cell_lstm = {KRNN_CELL_LSTM, 4, 3,
                                   {KRNN_ACT_SIGMOID, KRNN_ACT_TANH, KRNN_ACT_TANH}};

static const CellInfo *cell_of(const Node *n)
{
    if (strcmp(n->op_type, "LSTM") == 0)
        return &cell_lstm;
    return strcmp(n->op_type, "GRU") == 0 ? &cell_gru : &cell_rnn;
}

/* ONNX's activation names, with how many of alpha / beta each takes and
 * their defaults. */
static const struct {
    const char *name;
    KRnnAct act;
    int nalpha, nbeta;
    float alpha, beta;
} act_names[] = {
    {"Relu", KRNN_ACT_RELU, 0, 0, 0, 0},
    {"Tanh", KRNN_ACT_TANH, 0, 0, 0, 0},
    {"Sigmoid", KRNN_ACT_SIGMOID, 0, 0, 0, 0},
    {"Affine", KRNN_ACT_AFFINE, 1, 1, 1.0f, 0.0f},
    {"LeakyRelu", KRNN_ACT_LEAKY_RELU, 1, 0, 0.01f, 0},
    {"ThresholdedRelu", KRNN_ACT_THRESHOLDED_RELU, 1, 0, 1.0f, 0},
    {"ScaledTanh", KRNN_ACT_SCALED_TANH, 1, 1, 1.0f, 1.0f},
    {"HardSigmoid", KRNN_ACT_HARD_SIGMOID, 1, 1, 0.2f, 0.5f},
    {"Elu", KRNN_ACT_ELU, 1, 0, 1.0f, 0},
    {"Softsign", KRNN_ACT_SOFTSIGN, 0, 0, 0, 0},
    {"Softplus", KRNN_ACT_SOFTPLUS, 0, 0, 0, 0},
};

#define NACT_NAMES (int)(sizeof act_names / sizeof act_names[0])

static bool same_name_nocase(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
            return false;
    return *a == *b;
}

/* The activations, attributes resolved (k->nacts = dirs * nfuncs). */
static bool read_acts(const Node *n, Diag *d, const CellInfo *ci, KRnn *k)
{
    const Attr *names = ir_attr(n, "activations");
    const Attr *alpha = ir_attr(n, "activation_alpha");
    const Attr *beta = ir_attr(n, "activation_beta");
    int want = ci->nfuncs * (int)k->dirs, ia = 0, ib = 0;
    if (names && names->n != want) {
        diag_error(d, n, "%d activations given, %s %s needs %d", names->n,
                   k->dirs == 2 ? "bidirectional" : "one-directional", n->op_type, want);
        return false;
    }
    k->nacts = want;
    for (int i = 0; i < want; i++) {
        int j = 0;
        if (!names) {
            k->act[i] = ci->dflt[i % ci->nfuncs];
            continue;
        }
        while (j < NACT_NAMES && !same_name_nocase(names->strings[i], act_names[j].name))
            j++;
        if (j == NACT_NAMES) {
            diag_error(d, n, "unknown activation '%s'", names->strings[i]);
            return false;
        }
        k->act[i] = act_names[j].act;
        k->act_alpha[i] = act_names[j].alpha;
        k->act_beta[i] = act_names[j].beta;
        if (act_names[j].nalpha && alpha && ia < alpha->n)
            k->act_alpha[i] = alpha->floats[ia++];
        if (act_names[j].nbeta && beta && ib < beta->n)
            k->act_beta[i] = beta->floats[ib++];
    }
    return true;
}

/* Input i, or NULL when absent. */
static const Value *in_at(const Node *n, int i)
{
    return i < n->nin ? n->in[i] : NULL;
}

/* Input i, when present, has exactly shape dims[0..rank). */
static bool check_shape(const Node *n, Diag *d, int i, const char *what, int rank,
                        const int64_t *dims)
{
    const Value *v = in_at(n, i);
    if (!v)
        return true;
    bool ok = v->shape.rank == rank;
    for (int j = 0; ok && j < rank; j++)
        ok = v->shape.dim[j] == dims[j];
    if (!ok) {
        char want[128] = "", *p = want;
        for (int j = 0; j < rank; j++)
            p += snprintf(p, (size_t)(want + sizeof want - p), "%s%lld", j ? ", " : "",
                          (long long)dims[j]);
        diag_error(d, n, "input %d '%s' (%s) must have shape [%s]", i, v->name, what, want);
        return false;
    }
    return true;
}

/* Everything the node says, checked; k gets the call's geometry. */
static bool read_node(Node *n, Diag *d, KRnn *k)
{
    const CellInfo *ci = cell_of(n);
    memset(k, 0, sizeof *k);
    k->cell = ci->cell;
    if (!op_inputs_known(n, d))
        return false;
    for (int i = 0; i < n->nin; i++) {
        const Value *v = n->in[i];
        if (!v || i == 4)
            continue;
        if (v->dtype != DT_FLOAT)
            return op_unsupported(d, n, "%s input %d '%s' is %s: float32 only", n->op_type, i,
                                  v->name, ir_dtype_name(v->dtype));
    }
    const Value *lens = in_at(n, 4);
    if (lens && lens->dtype != DT_INT32) {
        diag_error(d, n, "input 4 '%s' (sequence_lens) must be int32, got %s", lens->name,
                   ir_dtype_name(lens->dtype));
        return false;
    }
    const char *dir = ir_attr_string(n, "direction", "forward");
    if (strcmp(dir, "forward") == 0 || strcmp(dir, "reverse") == 0) {
        k->dirs = 1;
        k->reverse = dir[0] == 'r';
    } else if (strcmp(dir, "bidirectional") == 0) {
        k->dirs = 2;
    } else {
        diag_error(d, n, "direction '%s' is not forward, reverse or bidirectional", dir);
        return false;
    }
    int64_t layout = ir_attr_int(n, "layout", 0);
    if (layout != 0 && layout != 1) {
        diag_error(d, n, "layout %lld is not 0 or 1", (long long)layout);
        return false;
    }
    k->layout = layout == 1;
    const Value *x = n->in[0], *w = n->in[1], *r = n->in[2];
    if (x->shape.rank != 3 || w->shape.rank != 3 || r->shape.rank != 3) {
        diag_error(d, n, "X, W and R must have rank 3 (got %d, %d, %d)", x->shape.rank,
                   w->shape.rank, r->shape.rank);
        return false;
    }
    k->seq = x->shape.dim[k->layout ? 1 : 0];
    k->batch = x->shape.dim[k->layout ? 0 : 1];
    k->input = x->shape.dim[2];
    int64_t gh = w->shape.dim[1];
    if (gh % ci->gates != 0) {
        diag_error(d, n, "W's dim 1 (%lld) is not %d gates of the hidden size", (long long)gh,
                   ci->gates);
        return false;
    }
    k->hidden = gh / ci->gates;
    const Attr *hs = ir_attr(n, "hidden_size");
    if (hs && hs->i != k->hidden) {
        diag_error(d, n, "hidden_size %lld does not match W's shape (%lld = %d x %lld)",
                   (long long)hs->i, (long long)gh, ci->gates, (long long)k->hidden);
        return false;
    }
    int64_t H = k->hidden, dirs = k->dirs, B = k->batch;
    const int64_t wd[3] = {dirs, gh, k->input}, rd[3] = {dirs, gh, H}, bd[2] = {dirs, 2 * gh},
                  ld[1] = {B}, pd[2] = {dirs, 3 * H};
    const int64_t sd[3] = {k->layout ? B : dirs, k->layout ? dirs : B, H};
    if (!check_shape(n, d, 1, "W", 3, wd) || !check_shape(n, d, 2, "R", 3, rd) ||
        !check_shape(n, d, 3, "B", 2, bd) || !check_shape(n, d, 4, "sequence_lens", 1, ld) ||
        !check_shape(n, d, 5, "initial_h", 3, sd) || !check_shape(n, d, 6, "initial_c", 3, sd) ||
        !check_shape(n, d, 7, "P", 2, pd))
        return false;
    k->clip = 0.0f;
    const Attr *clip = ir_attr(n, "clip");
    if (clip) {
        if (!(clip->f > 0.0f)) {
            diag_error(d, n, "clip %g must be positive", (double)clip->f);
            return false;
        }
        k->clip = clip->f;
    }
    k->linear_before_reset = ir_attr_int(n, "linear_before_reset", 0) != 0;
    k->input_forget = ir_attr_int(n, "input_forget", 0) != 0;
    if (!read_acts(n, d, ci, k))
        return false;
    int64_t sizes[5] = {k->seq, k->batch, k->input, k->hidden, 0};
    int64_t rows, cols;
    if (!ir_mul_ok(k->seq, k->batch, &rows) || !ir_mul_ok(gh, H > k->input ? H : k->input, &cols) ||
        !ir_mul_ok(rows, gh, &sizes[4]) || !op_fits_int32(sizes, 5) || cols > INT32_MAX)
        return op_unsupported(d, n, "%s sizes beyond 32 bits", n->op_type);
    if (k->seq == 0 || k->batch == 0 || k->hidden == 0 || k->input == 0)
        return op_unsupported(d, n, "%s with an empty sequence, batch, input or hidden size",
                              n->op_type);
    return true;
}

static bool infer_rnn(Node *n, Diag *d)
{
    KRnn k;
    if (!read_node(n, d, &k))
        return false;
    Shape y = {.rank = 4}, s = {.rank = 3};
    const int64_t yl0[4] = {k.seq, k.dirs, k.batch, k.hidden};
    const int64_t yl1[4] = {k.batch, k.seq, k.dirs, k.hidden};
    memcpy(y.dim, k.layout ? yl1 : yl0, sizeof yl0);
    s.dim[0] = k.layout ? k.batch : k.dirs;
    s.dim[1] = k.layout ? k.dirs : k.batch;
    s.dim[2] = k.hidden;
    op_set_out(n, 0, DT_FLOAT, &y);
    for (int i = 1; i < n->nout; i++)
        op_set_out(n, i, DT_FLOAT, &s);
    return true;
}

static bool lower_rnn(Node *n, Diag *d)
{
    KRnn r;
    if (!read_node(n, d, &r))
        return false;
    LKernel *k = lw_kernel(n);
    LStmt *s = ls_kernel(k, KC_RNN);
    double gh = (double)cell_of(n)->gates * (double)r.hidden;
    s->flops = 2.0 * (double)r.dirs * (double)r.seq * (double)r.batch * gh *
               (double)(r.input + r.hidden);
    s->kc->u.rnn = r;
    for (int i = 0; i < n->nin && i < KC_MAX_IN; i++)
        s->kc->in[i].buf = n->in[i];
    s->kc->out.buf = n->out[0];
    for (int i = 1; i < n->nout && i < 3; i++)
        s->kc->more_out[i - 1].buf = n->out[i];
    ls_push(k, k->root, s);
    return true;
}

#define RNN_ATTRS                                                                        \
    {"activation_alpha", ATTR_FLOATS}, {"activation_beta", ATTR_FLOATS},                 \
        {"activations", ATTR_STRINGS}, {"clip", ATTR_FLOAT}, {"direction", ATTR_STRING}, \
        {"hidden_size", ATTR_INT}, {"layout", ATTR_INT}

static const AttrSpec a_rnn[] = {RNN_ATTRS, {NULL, 0}};
static const AttrSpec a_gru[] = {RNN_ATTRS, {"linear_before_reset", ATTR_INT}, {NULL, 0}};
static const AttrSpec a_lstm[] = {RNN_ATTRS, {"input_forget", ATTR_INT}, {NULL, 0}};

const OpDesc op_rows_rnn[] = {
    {.dyn = DYN_RNN, .name = "RNN", .since = 7, .min_in = 3, .max_in = 6, .min_out = 1, .max_out = 2,
     .flags = OPF_NO_FOLD, .attrs = a_rnn, .infer = infer_rnn, .lower = lower_rnn},
    {.dyn = DYN_RNN, .name = "GRU", .since = 7, .min_in = 3, .max_in = 6, .min_out = 1, .max_out = 2,
     .flags = OPF_NO_FOLD, .attrs = a_gru, .infer = infer_rnn, .lower = lower_rnn},
    {.dyn = DYN_RNN, .name = "LSTM", .since = 7, .min_in = 3, .max_in = 8, .min_out = 1, .max_out = 3,
     .flags = OPF_NO_FOLD, .attrs = a_lstm, .infer = infer_rnn, .lower = lower_rnn},
    {NULL},
};
