/* Operator descriptors: one row per ONNX operator, grouped by family in
 * ops/<family>.c. A row says which opsets dlc handles, the arity, the
 * attributes it understands, how output types and shapes follow from the
 * inputs (infer) and how it lowers to loop IR (lower). */
#ifndef DLC_OPS_H
#define DLC_OPS_H

#include "../ir/loop.h"

enum {
    OPF_ELEMENTWISE = 1 << 0, /* lowers with lw_elementwise: fusable */
    OPF_VIEW = 1 << 1,        /* output is input 0's bytes reinterpreted */
    OPF_NO_FOLD = 1 << 2,     /* never evaluate at compile time */
    /* The lowering applies n->epi (Conv, Gemm, MatMul): passes/fuse_epilogue.c
     * fuses a bias/residual Add and an activation into such rows only. The
     * epilogue's values follow the node's own inputs (n->in[max_in ..]).
     * Such rows name the bias axis in epi_axis. */
    OPF_EPILOGUE = 1 << 3,
    /* Output 0 is input 0, and any other output is an extra nobody needs at
     * inference (Identity; Dropout's mask): passes/simplify.c removes the
     * node when those extras are unread. */
    OPF_IDENTITY = 1 << 4,
    /* Output 0 is the inputs laid end to end along attribute `axis`
     * (Concat): where every output dim before the axis is 1, each input is
     * one contiguous slice of the output, so passes/plan_memory.c may place
     * the inputs there and the emitter then skips the copy. */
    OPF_INPUT_SLICES = 1 << 5,
    /* A following per-output-channel affine (a row with `affine`, e.g.
     * BatchNormalization) folds into this node's constant weights, input 1
     * with the output channels along its dim 0, and its bias, input
     * bias_in (passes/fold_batchnorm.c): Conv. */
    OPF_FOLDS_AFFINE = 1 << 6,
    /* Reads only the elements of input 0 it writes out, at most (Gather,
     * GatherElements, GatherND, Slice): what a profile counts as moved. */
    OPF_READS_PART = 1 << 7,
    /* Output 0 takes input 0's storage when that is in the arena, and the
     * kernel updates it there (DimMask fills only the padding): the planner
     * shares the bytes as for a view, codegen still runs the kernel. */
    OPF_IN_PLACE = 1 << 8,
    /* The outputs are input 0 cut along attribute `axis` (Split): where
     * every input dim before the axis is 1, each output is one contiguous
     * slice of the input, so passes/plan_memory.c may make them views of
     * it at their offsets and the emitter then skips the copy. */
    OPF_OUTPUT_SLICES = 1 << 9,
};

/* What the pattern passes (passes/fuse_epilogue.c, fuse_attention.c) look
 * for: the operators their subgraphs are made of, each role on the rows of
 * one operator. Most rows have none. */
typedef enum {
    OP_ROLE_NONE = 0,
    OP_ROLE_ADD,        /* Add: bias, residual, mask, GELU's 1 + erf */
    OP_ROLE_MUL,        /* Mul: scales, GELU's products */
    OP_ROLE_DIV,        /* Div: scales */
    OP_ROLE_ERF,        /* Erf: GELU's erf */
    OP_ROLE_SIGMOID,    /* Sigmoid: SiLU's x * sigmoid(x) */
    OP_ROLE_SOFTMAX,    /* Softmax: attention's weights */
    OP_ROLE_TRANSPOSE,  /* Transpose (attribute perm): attention's operands */
    OP_ROLE_MATMUL,     /* MatMul: attention's two products */
    OP_ROLE_ISNAN,      /* IsNaN: the NaN guard after attention's Softmax */
    OP_ROLE_WHERE,      /* Where: that guard's select */
    OP_ROLE_GATHER,     /* Gather (attribute axis): moved before elementwise producers */
    /* Control flow, expanded into plain nodes by passes/control_flow.c. */
    OP_ROLE_IF,         /* If: then_branch / else_branch on a bool */
    OP_ROLE_LOOP,       /* Loop: body, trip count M, condition */
    OP_ROLE_SCAN,       /* Scan: body over slices of its scan inputs */
    OP_ROLE_COUNT
} OpRole;

/* How a row's outputs follow run-time dims of its inputs (ops/dyn.c,
 * docs/run-time-dims.md). DYN_NONE refuses them, naming the node;
 * elementwise rows (OPF_ELEMENTWISE) broadcast without saying so. */
typedef enum {
    DYN_NONE = 0,
    DYN_BCAST,          /* numpy broadcasting: Where, Clip, CastLike */
    DYN_SAME,           /* each output has input 0's dims: Identity, Cast, Trilu, CumSum */
    DYN_RESHAPE,        /* Reshape, Flatten, Squeeze, Unsqueeze */
    DYN_TRANSPOSE,
    DYN_WINDOW,         /* Conv, ConvTranspose, MaxPool, AveragePool, LpPool */
    DYN_GLOBAL_POOL,
    DYN_MATMUL,         /* MatMul, Gemm */
    DYN_REDUCE,         /* Reduce*, ArgMax, ArgMin */
    DYN_SOFTMAX,        /* Softmax, LogSoftmax, Hardmax */
    DYN_NORM,           /* normalisations: refused over a run-time dim */
    DYN_CONCAT,
    DYN_SLICE,
    DYN_GATHER,
    DYN_GATHER_ELEMENTS,
    DYN_SPLIT,
    DYN_EXPAND,
    DYN_CONST_OF_SHAPE,
    DYN_RANGE,
    DYN_RNN,            /* LSTM, GRU, RNN: a run-time sequence via sequence_lens */
    DYN_STATIC,         /* outputs static whatever the inputs: Shape, Size, Constant */
    DYN_RESIZE,         /* Resize, Upsample */
    DYN_PAD,
} OpDyn;

/* OpDesc.epi_axis for a bias along the output's last axis (its columns). */
#define OP_AXIS_LAST (-1)

/* One channel of a per-channel affine:  y = (x - sub) * mul + add. */
typedef struct {
    double sub, mul, add;
} ChannelAffine;

typedef struct {
    const char *name;
    AttrType type;
} AttrSpec;

/* A row, written with designated initializers; fields a row does not name
 * are 0 / NULL, which means "no" for every optional piece below. */
typedef struct OpDesc {
    const char *name;       /* ONNX op_type, default domain */
    int since, until;       /* opset versions handled, inclusive; until 0 = latest */
    int min_in, max_in;
    int min_out, max_out;
    unsigned flags;         /* OPF_* */
    const AttrSpec *attrs;  /* attributes understood, {NULL} terminated */
    /* Set every output's dtype and shape; report problems through d.
     * May read constant inputs (Value.data), e.g. Reshape's shape. */
    bool (*infer)(Node *n, Diag *d);
    /* Build n->kernel; false (after a diagnostic) when unsupported.
     * Elementwise rows may leave it NULL and give `value` instead. */
    bool (*lower)(Node *n, Diag *d);
    /* Elementwise rows: the scalar expression, see lw_elementwise. */
    LExpr *(*value)(LKernel *k, Node *n, LExpr *const *in, int ivar);

    /* ---- what passes read (tests/unit/test_ops_table.c checks them) ---- */
    OpRole role;
    /* OPF_EPILOGUE rows: the output axis a per-channel epilogue bias runs
     * along, 1 for [N, C, spatial...] (Conv) or OP_AXIS_LAST (Gemm,
     * MatMul); see op_epi_axis. 0 on every other row. */
    int epi_axis;
    /* OPF_EPILOGUE rows, optional: false when this node has no channel axis
     * for the epilogue (MatMul with a 1-D B). NULL: every node has one. */
    bool (*epi_fits)(const Node *n);
    /* The input holding a per-channel bias (Conv's B, 2), or 0: a per-channel
     * constant Add fuses into it rather than into n->epi.bias, and a folded
     * affine writes its bias there. */
    int bias_in;
    /* Activation rows a kernel epilogue can apply: this node's IrAct code
     * with *alpha, *beta (0 where the code has none), or IR_ACT_NONE when
     * its parameters do not fit one (Clip with run-time bounds). */
    int (*epi_act)(const Node *n, float *alpha, float *beta);
    /* Rows that may be a constant per-channel affine of input 0 along axis
     * 1 (BatchNormalization at inference): the channel count when n is one,
     * else -1; with t, channel c's terms. The formula lives here and
     * passes/fold_batchnorm.c folds it into an OPF_FOLDS_AFFINE producer. */
    int64_t (*affine)(const Node *n, int64_t c, ChannelAffine *t);
    /* How outputs follow run-time dims (OpDyn); 0: elementwise rows
     * broadcast, the others refuse. */
    OpDyn dyn;
} OpDesc;

/* The highest opset dlc knows of; models asking for more are rejected. */
#define OP_MAX_OPSET 28

/* The row for op_type at `opset`, or NULL. *known tells whether any row
 * exists for that name at another opset. */
const OpDesc *op_find(const char *op_type, int64_t opset, bool *known);
int op_count(void);
const OpDesc *op_at(int i);

/* Family tables, each terminated by a row with name == NULL. */
extern const OpDesc op_rows_elementwise[];
extern const OpDesc op_rows_matmul[];
extern const OpDesc op_rows_conv[];
extern const OpDesc op_rows_pool[];
extern const OpDesc op_rows_reduce[];
extern const OpDesc op_rows_norm[];
extern const OpDesc op_rows_shape[];
extern const OpDesc op_rows_data[];
extern const OpDesc op_rows_gather[];
extern const OpDesc op_rows_resize[];
extern const OpDesc op_rows_control[];
extern const OpDesc op_rows_rnn[];

/* The fused attention node (ops/attention.c), built by
 * passes/fuse_attention.c only: no table row, so no model can name it. */
extern const OpDesc op_fused_attention;
/* The run-time dim nodes (ops/dims.c), built by passes/runtime_dims.c only. */
extern const OpDesc op_dim_in, op_dim_out, op_dim_mask, op_dim_scale, op_dim_fill;
struct DimExpr;
/* A run-time dim's expression as int64 loop IR. */
LExpr *lw_dim_expr(LKernel *k, const struct DimExpr *x);
/* y's rows (every dim but the last) that lie inside its run-time extents,
 * as int64 loop IR, when they are a prefix of the `rows` rows (the first
 * non-1 dim run-time, no other run-time dim among them); else NULL. */
LExpr *lw_dyn_rows(LKernel *k, const Value *y, int64_t rows);

/* ---- strided copies, shared by the data-movement rows (ops/copy.c) ---- */

/* A loop of `extent` under parent, or parent itself when extent is 1;
 * *ix gets the loop index (constant 0 without a loop). */
LStmt *lw_loop(LKernel *k, LStmt *parent, int64_t extent, LExpr **ix);
/* dims with strides dstr (destination) and sstr (source), without the
 * dims of 1 and with neighbours merged where both strides allow: the
 * merged count (dm, ds, ss get that many entries), -1 if a dim is 0. */
int lw_merge_dims(int rank, const int64_t *dims, const int64_t *dstr, const int64_t *sstr,
                  int64_t *dm, int64_t *ds, int64_t *ss);
/* dst[dbase + sum i_d*dstr[d]] = src[sbase + sum i_d*sstr[d]] for every i in
 * dims (rank at most 2 * IR_MAX_RANK). Size-1 dims are dropped and
 * neighbours contiguous in both buffers merge, so the innermost loop runs as
 * long as possible. */
void lw_copy_strided(LKernel *k, LStmt *parent, Value *dst, int64_t dbase, Value *src,
                     int64_t sbase, int rank, const int64_t *dims, const int64_t *dstr,
                     const int64_t *sstr);
/* Copies all of src into dst (same element count). */
void lw_copy_all(LKernel *k, LStmt *parent, Value *dst, Value *src);

/* ---- helpers shared by rows (ops/helpers.c) ---- */

/* Output 0 gets dtype `dt` and shape `s`. */
void op_set_out(Node *n, int i, DType dt, const Shape *s);
/* A diagnostic that the node needs something dlc does not do; returns false. */
bool op_unsupported(Diag *d, const Node *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A diagnostic that input `in`, which sets an output's shape (`what`: "shape",
 * "axes" ...), is not constant: it names the graph inputs the value is
 * computed from and the --freeze that binds them; returns false. */
bool op_dynamic_input(Diag *d, const Node *n, int in, const char *what);
/* The same for an output whose size depends on input `in`'s values
 * (NonZero): names the graph input, offers no --freeze; returns false. */
bool op_data_dependent(Diag *d, const Node *n, int in, const char *why);
/* Ints of attribute `name`, or of constant input `in` when the attribute
 * is absent (opsets moved several attributes to inputs). Returns count,
 * -1 when neither is present, -2 when the input is not constant. */
int op_ints(const Node *n, const char *name, int in, int64_t *out, int max);
/* Normalise a possibly negative axis against rank; false if out of range. */
bool op_axis(Diag *d, const Node *n, int64_t axis, int rank, int *out);
/* The output axis n's epilogue bias runs along, for an output of `rank`
 * (its row's epi_axis, OP_AXIS_LAST resolved). */
int op_epi_axis(const Node *n, int rank);
/* v's dtype is one dlc computes with; else a diagnostic. */
bool op_dtype_ok(const Node *n, Diag *d, const Value *v);
/* v (input i) is int32 or int64, as index tensors must be; else a diagnostic. */
bool op_index_dtype_ok(const Node *n, Diag *d, const Value *v, int i);
/* Inputs i and j have one dtype; else a diagnostic. */
bool op_same_dtype(const Node *n, Diag *d, int i, int j);
/* dim[from] * ... * dim[to - 1] (1 when from >= to). */
int64_t op_dims_prod(const int64_t *dim, int from, int to);
/* Inputs 0.. have known types and shapes. */
bool op_inputs_known(const Node *n, Diag *d);
/* Every present input is a constant (folding can interpret the node). */
bool op_inputs_constant(const Node *n);
/* Each of v[0..n) is in [0, INT_MAX]: kernel-call sizes are 32-bit on
 * every target. */
bool op_fits_int32(const int64_t *v, int n);

/* ---- lowering helpers (ops/lower.c) ---- */

/* out[i] = value, for i in [0, numel(out)); `value` built with ivar. */
typedef LExpr *(*lw_value_fn)(LKernel *k, Node *n, LExpr *const *in, int ivar);
/* Lower n through its row: row->lower, or lw_elementwise(row->value). */
bool op_lower(Node *n, Diag *d);
/* A constant of dtype dt (float or integer as dt requires). */
LExpr *lx_num(LKernel *k, DType dt, double x);
/* Elementwise kernel with multidirectional broadcasting: loads every input
 * broadcast to output 0's shape, then asks fn for the value. */
bool lw_elementwise(Node *n, lw_value_fn fn);
/* Load of `v` broadcast to shape `out` at flat output index var `ivar`. */
LExpr *lw_load_bcast(LKernel *k, Value *v, const Shape *out, int ivar);
/* A kernel for n with an empty root block. */
LKernel *lw_kernel(Node *n);
/* Compute type for arithmetic: float16 math happens in float32. */
DType lw_compute_type(DType t);
/* Appends to k a loop applying n->epi to `out` in place, for lowerings
 * that do not call the runtime:  out = act(out + bias + residual), bias per
 * channel (axis 1) for Conv, per column (last axis) for Gemm/MatMul, with
 * the formulas of IrAct (ir/ir.h). Nothing when n->epi is empty. */
bool lw_apply_epilogue(Node *n, LKernel *k, Value *out);
/* A kernel call applies n->epi's residual and activation as it stores;
 * the bias, whose form differs per kind, is the row's to set. */
void lw_kernel_epilogue(const Node *n, KCall *c);


#endif
