/* Passes over the IR, run in the order passes/pipeline.c lists. */
#ifndef DLC_PASSES_H
#define DLC_PASSES_H

#include "../ir/ir.h"

#define PASS_MAX_BINDINGS 64

typedef struct {
    const char *name;       /* input name */
    Shape shape;            /* all dims known */
    /* > 0: dim k is a run-time dim in lo[k]..shape.dim[k] (--shape
     * x=1x3x48x1..1024); 0: fixed at shape.dim[k] */
    int64_t lo[IR_MAX_RANK];
    int64_t step[IR_MAX_RANK];  /* LO..HI/STEP: multiples of STEP past LO (default 1) */
} ShapeBinding;

/* --freeze NAME=FILE: the graph input's value, fixed at compile time. The
 * CLI reads the file (passes do no I/O) and sets `value` before the
 * pipeline runs; bind-inputs turns the input into that constant. */
typedef struct {
    const char *name;       /* input name */
    const char *file;       /* TensorProto file, for messages */
    struct Value *value;    /* its contents, in the graph's arena */
} InputFreeze;

/* Target.blas: float products on the built-in runtime GEMM
 * (runtime/gemm.c) or on OpenBLAS's cblas_sgemm (runtime/blas_openblas.c). */
enum { TARGET_BLAS_BUILTIN = 0, TARGET_BLAS_OPENBLAS = 1 };

/* The target's options: read by its selection pass only, never put on the
 * Graph, so rows and target-neutral passes cannot depend on them. */
typedef struct {
    int blas;               /* --blas: TARGET_BLAS_* */
    bool no_winograd;       /* --no-winograd: no Winograd convolutions */
} Target;

typedef struct {
    ShapeBinding bindings[PASS_MAX_BINDINGS];
    int nbindings;
    InputFreeze freezes[PASS_MAX_BINDINGS];
    int nfreezes;
    bool verbose;           /* -v: per-pass report on stderr */
    bool no_fuse;
    int64_t loop_max;       /* --loop-max: iterations a run-time-bounded Loop may run; 0 none */
    Target target;
} PassOptions;

typedef struct {
    int64_t arena_bytes;    /* planned arena */
    int64_t naive_bytes;    /* sum of every intermediate tensor */
    int64_t weight_bytes;
} PlanStats;

/* The whole pipeline; false after diagnostics. */
bool pass_pipeline(Graph *g, const PassOptions *o, PlanStats *stats, Diag *d);
/* The passes' names in order, comma-separated (for dlc --help). */
void pass_list(FILE *f);

bool pass_resolve(Graph *g, Diag *d);
bool pass_bind_inputs(Graph *g, const PassOptions *o, Diag *d);
bool pass_infer_fold(Graph *g, Diag *d);
/* The same, with control flow's options (PassOptions.loop_max). */
bool pass_infer_fold_with(Graph *g, const PassOptions *o, Diag *d);

/* Control flow (passes/control_flow.c), expanded by infer+fold's walk. */
typedef struct CfCtx CfCtx;
CfCtx *cf_begin(Graph *g, int64_t loop_max);
void cf_end(CfCtx *c);
bool cf_is_control(const Node *n);     /* If, Loop, Scan */
/* Expands g->nodes[pos] one step, inserting nodes before it; false after
 * a diagnostic. Either the node is dead afterwards or it is a Loop/Scan
 * that will be visited again after what was inserted. */
bool cf_expand(CfCtx *c, int pos, Diag *d);
/* A Node.merge Where, before its inference: its candidates have one dtype
 * and shape (and the condition does not broadcast them to another). */
bool cf_check_merge(const Node *n, Diag *d);
bool pass_simplify(Graph *g, Diag *d);
bool pass_fold_batchnorm(Graph *g, Diag *d);
bool pass_dce(Graph *g, Diag *d);
/* Run-time dims: DimIn/DimOut around the graph, DimMask before nodes that
 * mix along one, checks (passes/runtime_dims.c). */
bool pass_runtime_dims(Graph *g, Diag *d);
/* Conv/Gemm/MatMul absorb a following bias Add, residual Add and
 * activation into Node.epi (passes/fuse_epilogue.c). */
bool pass_fuse_epilogue(Graph *g, Diag *d);
/* Q K^T scale + mask -> Softmax -> V as one fused node (fuse_attention.c). */
bool pass_fuse_attention(Graph *g, Diag *d);
/* Does n's lowering apply n->epi? (its row has OPF_EPILOGUE) */
bool op_honours_epilogue(const Node *n);

/* passes/match.c: what the pattern passes test nodes and values with. */
bool match_role(const Node *n, int role);       /* live, its row has this OP_ROLE_* (ops/ops.h) */
bool match_f32(const Value *v);                 /* typed float32 */
bool match_scalar(const Value *v, double *x);   /* float constant of one element: *x */
bool match_single_use(const Value *v);          /* read by one node, not a graph output */
/* The one live node reading v, when v has exactly one read and is not a
 * graph output; else NULL. */
Node *match_sole_reader(Graph *g, const Value *v);
/* Around a pattern pass: an index that answers match_sole_reader without a
 * scan of the graph per question. */
void match_index_begin(Graph *g);
void match_index_end(void);
bool pass_lower(Graph *g, Diag *d);
/* The C target's choices for every kernel call (passes/select_c.c): the
 * algorithm, weights packed for it, scratch, the runtime function. */
bool pass_select_c(Graph *g, const Target *t, Diag *d);
bool pass_fuse(Graph *g, Diag *d);
/* GELU chains, once fused into one expression, rewritten to a cheaper
 * formula (passes/fuse_gelu.c). */
bool pass_fuse_gelu(Graph *g, Diag *d);
/* Gather(f(T), idx) -> f(Gather(T, idx)) for elementwise f
 * (passes/gather_first.c). */
bool pass_gather_first(Graph *g, Diag *d);
/* Splits broadcasting elementwise loops into an outer and a contiguous
 * inner loop (passes/split_broadcast.c). */
bool pass_split_broadcast(Graph *g, Diag *d);
bool pass_plan_memory(Graph *g, PlanStats *stats, Diag *d);
/* Loops whose iterations may run at once, marked in each kernel's loop IR
 * (passes/mark_parallel.c); the per-kernel step, for tests. */
bool pass_mark_parallel(Graph *g, Diag *d);
void pass_mark_parallel_kernel(LKernel *k);

#endif
