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
     * epilogue's values follow the node's own inputs (n->in[max_in ..]). */
    OPF_EPILOGUE = 1 << 3,
};

typedef struct {
    const char *name;
    AttrType type;
} AttrSpec;

typedef struct OpDesc {
    const char *name;       /* ONNX op_type, default domain */
    int since, until;       /* opset versions handled, inclusive; until 0 = latest */
    int min_in, max_in;
    int min_out, max_out;
    unsigned flags;
    const AttrSpec *attrs;  /* attributes understood, {NULL} terminated */
    /* Set every output's dtype and shape; report problems through d.
     * May read constant inputs (Value.data), e.g. Reshape's shape. */
    bool (*infer)(Node *n, Diag *d);
    /* Build n->kernel; false (after a diagnostic) when unsupported.
     * Elementwise rows may leave it NULL and give `value` instead. */
    bool (*lower)(Node *n, Diag *d);
    /* Elementwise rows: the scalar expression, see lw_elementwise. */
    LExpr *(*value)(LKernel *k, Node *n, LExpr *const *in, int ivar);
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

/* The fused attention node (ops/attention.c), built by
 * passes/fuse_attention.c only: no table row, so no model can name it. */
extern const OpDesc op_fused_attention;

/* ---- helpers shared by rows (ops/helpers.c) ---- */

/* Output 0 gets dtype `dt` and shape `s`. */
void op_set_out(Node *n, int i, DType dt, const Shape *s);
/* A diagnostic that the node needs something dlc does not do; returns false. */
bool op_unsupported(Diag *d, const Node *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Ints of attribute `name`, or of constant input `in` when the attribute
 * is absent (opsets moved several attributes to inputs). Returns count,
 * -1 when neither is present, -2 when the input is not constant. */
int op_ints(const Node *n, const char *name, int in, int64_t *out, int max);
/* Normalise a possibly negative axis against rank; false if out of range. */
bool op_axis(Diag *d, const Node *n, int64_t axis, int rank, int *out);
/* Inputs 0.. have known types and shapes. */
bool op_inputs_known(const Node *n, Diag *d);

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
 * runtime/epilogue.c's formulas. Nothing when n->epi is empty. */
bool lw_apply_epilogue(Node *n, LKernel *k, Value *out);

#endif
