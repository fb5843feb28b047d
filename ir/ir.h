/* The IR: a graph of nodes over values, all owned by one arena.
 * The frontend builds it, passes rewrite it, codegen reads it. */
#ifndef DLC_IR_H
#define DLC_IR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define IR_MAX_RANK 8

/* ONNX TensorProto.DataType codes, so values cross the frontend unchanged. */
typedef enum {
    DT_UNDEF = 0,
    DT_FLOAT = 1,
    DT_UINT8 = 2,
    DT_INT8 = 3,
    DT_UINT16 = 4,
    DT_INT16 = 5,
    DT_INT32 = 6,
    DT_INT64 = 7,
    DT_STRING = 8,
    DT_BOOL = 9,
    DT_FLOAT16 = 10,
    DT_DOUBLE = 11,
    DT_UINT32 = 12,
    DT_UINT64 = 13,
    DT_BFLOAT16 = 16,
} DType;

size_t ir_dtype_size(DType t);          /* 0 for unsupported dtypes */
const char *ir_dtype_name(DType t);     /* "float32", "int64", ... */
const char *ir_dtype_ctype(DType t);    /* storage type in generated C */
bool ir_dtype_supported(DType t);
bool ir_dtype_is_float(DType t);        /* float16/32/64 */
bool ir_dtype_is_signed_int(DType t);
bool ir_dtype_is_unsigned(DType t);     /* unsigned ints and bool */
/* IEEE binary16 <-> float, round to nearest even, NaN kept quiet with its
 * top payload bits (what generated code computes, so folding agrees). */
float ir_h2f(uint16_t h);
uint16_t ir_f2h(float f);
/* bfloat16 (float32's top half) <-> float, round to nearest even. */
float ir_bf2f(uint16_t b);
uint16_t ir_f2bf(float f);

/* ---- arena: owns every IR object; freed once ---- */
typedef struct Arena Arena;
Arena *ir_arena_new(void);
void ir_arena_free(Arena *a);
void *ir_alloc(Arena *a, size_t size);          /* zeroed, 16-aligned; aborts on OOM */
void *ir_alloc_array(Arena *a, size_t n, size_t elem); /* overflow-checked */
char *ir_strdup(Arena *a, const char *s);
char *ir_strndup(Arena *a, const char *s, size_t n);
char *ir_sprintf(Arena *a, const char *fmt, ...);
size_t ir_arena_bytes(const Arena *a);

/* ---- shapes ---- */
typedef struct {
    int rank;
    int64_t dim[IR_MAX_RANK];       /* -1: not known yet */
    const char *sym[IR_MAX_RANK];   /* symbolic name of an unknown dim, or NULL */
} Shape;

bool ir_shape_known(const Shape *s);                 /* every dim >= 0 */
bool ir_shape_numel(const Shape *s, int64_t *numel); /* false on unknown dim or overflow */
bool ir_shape_equal(const Shape *a, const Shape *b);
char *ir_shape_str(Arena *a, const Shape *s);        /* "[1,3,224,224]" */
char *ir_join_dims(Arena *a, int rank, const char *const *parts); /* "[a,b,c]" */
bool ir_mul_ok(int64_t a, int64_t b, int64_t *out);  /* overflow-checked */
bool ir_add_ok(int64_t a, int64_t b, int64_t *out);
/* Multidirectional (numpy) broadcast; false when incompatible. */
bool ir_broadcast(const Shape *a, const Shape *b, Shape *out);
void ir_strides(const Shape *s, int64_t *strides);   /* row-major, in elements */

/* ---- values and nodes ---- */
typedef struct Node Node;
typedef struct LKernel LKernel;

typedef struct Value {
    int id;
    const char *name;
    DType dtype;
    Shape shape;
    bool has_type;          /* dtype and rank are known */
    void *data;             /* constant contents (initializer or folded), else NULL */
    bool is_input;          /* a graph input fed at run time */
    int input_index;        /* graph inputs (frozen ones too): position among the
                             * model's inputs, the N of a data set's input_N.pb */
    int output_index;       /* index among graph outputs, or -1 */
    Node *producer;         /* NULL for inputs and constants */
    int nuses;              /* count of live node inputs reading it */
    /* memory plan */
    int64_t offset;         /* byte offset in the arena, -1 when not in the arena */
    struct Value *alias;    /* shares the storage of this value (views) */
    int64_t weight_offset;  /* byte offset in the weights blob, -1 when not a weight */
    /* Run-time dims (ir/dims.h): per dim, how it follows the run function's
     * dims (NULL: static); NULL when every dim is static. */
    const struct DimExpr **dyn;
    /* A constant computed from a run-time dim (Shape -> Gather -> ...), as
     * folded at the maximum: per element, the expression it stands for
     * (NULL: the same at every size), or sym_unknown when it depends on a
     * run-time dim in a way not tracked. */
    const struct DimExpr **symval;
    bool sym_unknown;
} Value;

typedef enum {
    ATTR_UNDEF = 0,
    ATTR_FLOAT = 1,
    ATTR_INT = 2,
    ATTR_STRING = 3,
    ATTR_TENSOR = 4,
    ATTR_GRAPH = 5,
    ATTR_FLOATS = 6,
    ATTR_INTS = 7,
    ATTR_STRINGS = 8,
    ATTR_TENSORS = 9,
    ATTR_GRAPHS = 10,
    ATTR_SPARSE_TENSOR = 11,
    ATTR_SPARSE_TENSORS = 12,
    ATTR_TYPE_PROTO = 13,
    ATTR_TYPE_PROTOS = 14,
} AttrType;

typedef struct {
    const char *name;
    AttrType type;
    float f;
    int64_t i;
    const char *s;          /* ATTR_STRING, NUL-terminated copy */
    size_t slen;
    int n;                  /* element count of list attributes */
    float *floats;
    int64_t *ints;
    const char **strings;
    Value *t;               /* ATTR_TENSOR: a constant value (not in the graph's list) */
    struct Subgraph *sub;   /* ATTR_GRAPH: the body (If's branches, Loop's and Scan's body) */
} Attr;

/* A graph attribute's body. Its nodes are kept out of Graph.nodes until
 * passes/control_flow.c splices copies of them in. Names resolve
 * lexically: a node input that the subgraph does not define is the value
 * of that name in an enclosing scope (the same Value). Values the body
 * defines are its own, fresh in every copy. */
typedef struct Subgraph {
    const char *name;
    int nin, nout, nnodes;
    struct Value **in;      /* formal inputs, bound when a copy is spliced */
    struct Value **out;     /* what it returns: its own values, inputs, outer values, constants */
    struct Node **nodes;    /* in ONNX order (topological) */
} Subgraph;

struct OpDesc;

/* The activations a heavy kernel can apply as it stores its output; every
 * target implements these formulas (the C runtime's activation codes are the
 * same numbers, checked where passes/select_c.c hands them over). */
typedef enum {
    IR_ACT_NONE = 0,
    IR_ACT_RELU = 1,
    IR_ACT_CLIP = 2,        /* min(max(x, alpha), beta) */
    IR_ACT_LEAKY_RELU = 3,  /* x < 0 ? alpha * x : x */
    IR_ACT_HARD_SWISH = 4,  /* x * min(max(x / 6 + 1/2, 0), 1) */
    IR_ACT_SIGMOID = 5,     /* 1 / (1 + exp(-x)) */
    IR_ACT_GELU_ERF = 6,    /* x / 2 * (1 + erf(x / sqrt 2)) */
    IR_ACT_GELU_TANH = 7,   /* x / 2 * (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) */
    IR_ACT_SILU = 8,        /* x / (1 + exp(-x)): x * sigmoid(x), Swish */
} IrAct;

/* What a Conv/Gemm/MatMul kernel applies to each output as it stores it,
 * set by passes/fuse_epilogue.c:  out = act(out + bias + residual). */
typedef struct {
    int act;                /* IrAct */
    float alpha, beta;      /* clip bounds; leaky relu slope */
    Value *bias;            /* per output channel (Conv) or column (MatMul), or NULL */
    Value *residual;        /* same shape as the output, or NULL */
} Epilogue;

struct Node {
    struct Graph *graph;    /* owner, for arena allocations */
    int index;              /* position in the ONNX graph, for diagnostics */
    const char *name;       /* ONNX node name, may be "" */
    const char *op_type;
    const char *domain;     /* "" for the default domain */
    const struct OpDesc *op;
    int nin, nout;
    Value **in;             /* NULL entries are omitted optional inputs */
    Value **out;
    int nattr;
    Attr *attrs;
    bool dead;
    LKernel *kernel;        /* loop IR once lowered */
    Epilogue epi;           /* fused bias/residual/activation, see above */
    const char *fused_names;/* "a+b+c" when fusion merged nodes, else NULL */
    const char *fused_ops;
    /* Control flow (passes/control_flow.c). The node runs only when this
     * bool value's element 0 is true (an If branch, a Loop iteration that
     * runs at run time's discretion); NULL: always. */
    struct Value *guard;
    bool merge;             /* a Where that picks a branch's result: its two
                             * candidates must have one shape */
    int ncapture;           /* trailing inputs that are outer-scope values its
                             * subgraphs read (If, Loop, Scan): so liveness
                             * and ordering see them */
    struct CfState *cf;     /* a Loop or Scan being unrolled, one iteration per visit */
};

typedef struct Graph {
    Arena *arena;
    const char *file;       /* model path, for diagnostics */
    int64_t opset;          /* default-domain opset */
    Value **values;
    int nvalues, capvalues;
    Node **nodes;           /* topological order once verified */
    int nnodes, capnodes;
    Value **inputs;
    int ninputs;
    Value **frozen;         /* inputs --freeze made constants (input_index kept) */
    int nfrozen;
    Value **outputs;
    int noutputs;
    const char *producer_name;
    /* Bool values that must be false when a run ends, else the run returns
     * an error: a Loop that would run past the iterations --loop-max
     * unrolled (passes/control_flow.c). Each counts as a use, live to the end. */
    Value **checks;
    int nchecks;
    /* Run-time dims (ir/dims.h), the run function's dims[0..nrtdims). */
    struct RtDim *rtdims;
    int nrtdims;
} Graph;

Graph *ir_graph_new(const char *file);
void ir_graph_free(Graph *g);
Value *ir_value_new(Graph *g, const char *name);
Node *ir_node_new(Graph *g, const char *op_type, int nin, int nout);
/* A node not (yet) in g->nodes: a subgraph's, or one to insert. */
Node *ir_node_alloc(Graph *g, const char *op_type, int nin, int nout);
/* Inserts nodes[0..n) into g->nodes before position pos. */
void ir_insert_nodes(Graph *g, int pos, Node *const *nodes, int n);
const Attr *ir_attr(const Node *n, const char *name);
int64_t ir_attr_int(const Node *n, const char *name, int64_t dflt);
float ir_attr_float(const Node *n, const char *name, float dflt);
const char *ir_attr_string(const Node *n, const char *name, const char *dflt);
int ir_live_nodes(const Graph *g);
void ir_recount_uses(Graph *g);        /* recompute Value.nuses from live nodes */
/* Replace every use of `from` (node inputs, graph outputs) by `to`. */
void ir_replace_uses(Graph *g, Value *from, Value *to);
/* Drop dead nodes from g->nodes, keeping order. */
void ir_compact(Graph *g);

/* Element i of a constant value, as double / int64 (converting dtype). */
double ir_const_f(const Value *v, int64_t i);
int64_t ir_const_i(const Value *v, int64_t i);
int64_t ir_value_numel(const Value *v);    /* -1 when shape unknown */
size_t ir_value_bytes(const Value *v);     /* 0 when unknown */

/* ---- diagnostics ---- */
typedef struct Diag {
    const char *file;
    int nerrors;
    int nwarnings;
    FILE *out;
} Diag;

void diag_init(Diag *d, const char *file);
/* "dlc: error: FILE: node 17 'conv1' (Conv): MSG" (node may be NULL) */
void diag_error(Diag *d, const Node *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void diag_warn(Diag *d, const Node *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A compiler bug, not a model problem. */
_Noreturn void dlc_bug(const char *file, int line, const char *fmt, ...);
#define DLC_BUG(...) dlc_bug(__FILE__, __LINE__, __VA_ARGS__)

/* Verify structure: unique producers, every input defined, acyclic; sorts
 * g->nodes topologically. */
bool ir_verify(Graph *g, Diag *d);

#endif
