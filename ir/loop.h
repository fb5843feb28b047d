/* The loop IR: what operators lower to, what the C (and later CUDA)
 * dialects render, and what constant folding interprets.
 *
 * A kernel is a tree of statements over buffers (IR values). Expressions
 * are typed scalars. Index arithmetic is int64. Variables are kernel-local
 * scalars: loop counters and accumulators. */
#ifndef DLC_LOOP_H
#define DLC_LOOP_H

#include "ir.h"
#include "kernel_call.h"

typedef enum {
    LE_CONST,   /* f (float types) or i (integer types, bool) */
    LE_VAR,     /* variable `var` */
    LE_LOAD,    /* buf[a]; a is an int64 element index */
    LE_UNARY,   /* op(a) */
    LE_BINARY,  /* a op b; a and b have the same dtype */
    LE_SELECT,  /* a ? b : c; a is bool */
    LE_CAST,    /* (dt) a, ONNX Cast semantics */
    LE_DIM,     /* int64 run-time dim `var` (ir/dims.h): the run function's dims[var] */
} LExprKind;

typedef enum {
    LU_NEG, LU_ABS, LU_EXP, LU_LOG, LU_SQRT, LU_TANH, LU_ERF, LU_FLOOR, LU_CEIL,
    LU_ROUND,   /* round half to even */
    LU_SIN, LU_COS, LU_TAN, LU_ASIN, LU_ACOS, LU_ATAN, LU_SINH, LU_COSH,
    LU_ASINH, LU_ACOSH, LU_ATANH,
    LU_LOG1P,   /* log(1 + x), exact for x near 0 */
    LU_NOT,     /* logical not: bool */
    LU_BITNOT,
    LU_SIGN,
    LU_ISNAN,   /* float -> bool */
    LU_ISINF,   /* float -> bool */
    LU_COUNT
} LUnaryOp;

typedef enum {
    LB_ADD, LB_SUB, LB_MUL, LB_DIV,  /* DIV on ints truncates toward zero */
    LB_MOD,     /* integer remainder with the sign of the divisor (Python) */
    LB_FMOD,    /* C fmod / truncated remainder */
    LB_POW, LB_MIN, LB_MAX,
    LB_EQ, LB_NE, LB_LT, LB_LE, LB_GT, LB_GE, /* -> bool */
    LB_AND, LB_OR, LB_XOR,           /* bool logic */
    LB_BITAND, LB_BITOR, LB_BITXOR, LB_SHL, LB_SHR,
    LB_COUNT
} LBinaryOp;

typedef struct LExpr {
    LExprKind kind;
    DType dt;               /* result dtype */
    int op;                 /* LUnaryOp / LBinaryOp */
    double f;
    int64_t i;
    int var;
    Value *buf;
    struct LExpr *a, *b, *c;
} LExpr;

typedef enum {
    LS_BLOCK,   /* body[0..n) */
    LS_FOR,     /* for (var = 0; var < extent; var++) body */
    LS_STORE,   /* buf[idx] = e */
    LS_ASSIGN,  /* var = e (declares var on first assignment) */
    LS_IF,      /* if (e) body else els */
    LS_KERNEL,  /* a heavy kernel, target-neutral: kc (ir/kernel_call.h) */
    LS_CALL,    /* a runtime function call: what a target's selection pass
                 * makes of an LS_KERNEL (fn, params, args) */
} LStmtKind;

/* LA_EXPR: an int64 expression of run-time dims (ir/dims.h) */
typedef enum { LA_BUF, LA_INT, LA_FLOAT, LA_NULL, LA_SCRATCH, LA_EXPR } LArgKind;

typedef struct {
    LArgKind kind;
    Value *buf;             /* LA_BUF; element offset `i` added to the pointer */
    int64_t i;
    double f;
    struct LExpr *e;        /* LA_EXPR */
} LArg;

typedef struct LStmt {
    LStmtKind kind;
    int var;
    int64_t extent;
    bool parallel;          /* LS_FOR: iterations may run at once (passes/mark_parallel.c) */
    struct LExpr *run_extent; /* LS_FOR: when set, the loop stops at this int64
                               * value instead (a run-time dim's, <= extent) */
    Value *buf;
    LExpr *idx, *e;
    struct LStmt **body;
    int n, cap;
    struct LStmt **els;
    int nels, capels;
    /* LS_CALL: fn(args...); when `params` is set the first argument is a
     * pointer to a static const struct of that C type holding `ints`. */
    const char *fn;
    const char *params;
    int64_t *ints;
    int nints;
    struct LExpr **run_ints;    /* NULL, or per int: a run-time value instead (LE_DIM
                                 * expressions; the struct is then built per call) */
    LArg *args;
    int nargs;
    double flops;           /* LS_KERNEL, LS_CALL: floating-point ops of one
                             * call, for profiles (0: unknown) */
    KCall *kc;              /* LS_KERNEL: what to compute; kept on the LS_CALL
                             * selected from it */
} LStmt;

struct LKernel {
    Graph *g;
    LStmt *root;            /* an LS_BLOCK */
    int nvars;
    DType *var_dt;          /* variable types */
    int capvars;
    /* Elementwise form, set by lw_elementwise: out[i] = value for i < n.
     * Fusion folds such a kernel into the one that reads `out`. */
    bool elementwise;
    int ivar;
    Value *out;
    LExpr *value;
    /* set by the target's selection pass */
    const char *runtime;    /* runtime unit the kernel calls ("gemm", "conv") or NULL */
    int64_t scratch_bytes;  /* arena scratch the kernel needs (LA_SCRATCH) */
    int64_t scratch_offset; /* where the planner put it */
    struct LStmt **var_private; /* by var: the parallel loop it is private to, NULL: kernel top */
};

/* ---- building ---- */
LKernel *lk_new(Graph *g);
int lk_var(LKernel *k, DType dt);                 /* a fresh variable */
LExpr *lx_f(LKernel *k, DType dt, double f);      /* float constant */
LExpr *lx_i(LKernel *k, DType dt, int64_t i);     /* integer/bool constant */
LExpr *lx_idx(LKernel *k, int64_t i);             /* int64 constant */
LExpr *lx_var(LKernel *k, int var);
LExpr *lx_dim(LKernel *k, int sym);              /* run-time dim `sym`, int64 */
LExpr *lx_load(LKernel *k, Value *buf, LExpr *idx);
LExpr *lx_un(LKernel *k, LUnaryOp op, LExpr *a);
LExpr *lx_bin(LKernel *k, LBinaryOp op, LExpr *a, LExpr *b);
LExpr *lx_sel(LKernel *k, LExpr *cond, LExpr *a, LExpr *b);
LExpr *lx_cast(LKernel *k, DType dt, LExpr *a);
/* Index helpers (int64, folding constants): a+b, a*b, a/b, a%b. */
LExpr *lx_add(LKernel *k, LExpr *a, LExpr *b);
LExpr *lx_mul(LKernel *k, LExpr *a, LExpr *b);
LExpr *lx_div(LKernel *k, LExpr *a, LExpr *b);
LExpr *lx_mod(LKernel *k, LExpr *a, LExpr *b);
LExpr *lx_muli(LKernel *k, LExpr *a, int64_t c);
LExpr *lx_addi(LKernel *k, LExpr *a, int64_t c);

LStmt *ls_block(LKernel *k);
LStmt *ls_for(LKernel *k, int var, int64_t extent);
LStmt *ls_store(LKernel *k, Value *buf, LExpr *idx, LExpr *e);
LStmt *ls_assign(LKernel *k, int var, LExpr *e);
LStmt *ls_if(LKernel *k, LExpr *cond);
LStmt *ls_call(LKernel *k, const char *fn);
LStmt *ls_kernel(LKernel *k, KCallKind kind);   /* kc zeroed but for kind */
void ls_push(LKernel *k, LStmt *parent, LStmt *child);     /* body of BLOCK/FOR/IF */
void ls_push_else(LKernel *k, LStmt *iff, LStmt *child);
void ls_arg_buf(LKernel *k, LStmt *call, Value *buf, int64_t elem_offset);
void ls_arg_int(LKernel *k, LStmt *call, int64_t i);
void ls_arg_expr(LKernel *k, LStmt *call, LExpr *e);    /* int64, evaluated per call */
void ls_arg_float(LKernel *k, LStmt *call, double f);
void ls_arg_null(LKernel *k, LStmt *call);
void ls_arg_buf_or_null(LKernel *k, LStmt *call, Value *buf, int64_t elem_offset); /* NULL buf: NULL */
void ls_arg_scratch(LKernel *k, LStmt *call); /* NULL when the kernel has no scratch */
void ls_params(LKernel *k, LStmt *call, const char *ctype, const int64_t *ints, int n);

/* Loops over `rank` dims nested in `parent`; returns the innermost loop
 * and writes the loop variables to vars[]. rank 0 returns parent. */
LStmt *lk_nest(LKernel *k, LStmt *parent, const int64_t *dims, int rank, int *vars);
/* Row-major flat index of vars[] in `s` (rank s->rank). */
LExpr *lx_flat(LKernel *k, const Shape *s, const int *vars);

/* ---- analysis and rewriting ---- */
/* Calls fn on every expression node (pre-order) in the kernel. */
void lk_walk_exprs(LKernel *k, void (*fn)(LExpr *, void *), void *ctx);
bool lk_reads(const LKernel *k, const Value *v);
/* Does `e` read v only at element index `var ivar`? */
bool lk_loads_only_at(const LExpr *e, const Value *v, int ivar);
/* Is `e` a float constant: a literal, or a constant buffer (not a graph
 * input) read at a constant index, as scalar initializers are? *v = it. */
bool lx_const_float(const LExpr *e, double *v);
/* Do a and b compute the same thing (the same tree)? */
bool lx_equal(const LExpr *a, const LExpr *b);
/* Copy `e`, replacing LE_VAR `from` by `to` (an expression). */
LExpr *lx_subst(LKernel *dst, const LExpr *e, int from, LExpr *to);

/* ---- interpreting (constant folding) ---- */
/* Runs the kernel on the values' `data` buffers (inputs must be constant,
 * outputs get fresh data). False when it calls something foldingcannot run. */
bool lk_interpret(LKernel *k);

#endif
