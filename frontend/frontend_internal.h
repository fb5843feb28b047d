/* Shared by the frontend's files only. */
#ifndef DLC_FRONTEND_INTERNAL_H
#define DLC_FRONTEND_INTERNAL_H

#include "frontend.h"
#include "onnx.pb-c.h"

#include <limits.h>

/* One tensor may not exceed this (the protobuf format itself stops at 2 GB;
 * external data could claim more). */
#define FE_MAX_TENSOR_BYTES ((int64_t)1 << 34)

/* Subgraphs (If's branches, Loop's and Scan's bodies) nest at most this
 * deep: a model cannot drive the reader into unbounded recursion. */
#define FE_MAX_SUBGRAPH_DEPTH 16

/* One lexical scope: the main graph or a subgraph being read. */
typedef struct FeScope {
    Value **slots;          /* name -> value, open addressing */
    size_t nslots;          /* a power of two */
    size_t nused;           /* names in it: at most half of nslots */
    struct FeScope *outer;  /* NULL for the main graph */
    Value **captures;       /* values of enclosing scopes read in this one */
    int ncaptures, capcaptures;
} FeScope;

typedef struct {
    Graph *g;
    Diag *d;
    const Node *node;       /* node being read, for messages */
    char dir[PATH_MAX];     /* the model's folder as given */
    char realdir[PATH_MAX]; /* and resolved */
    FeScope *scope;         /* innermost scope being read */
    int depth;              /* subgraph nesting, 0 for the main graph */
    const FeScope *last_sub;/* the scope of the subgraph read last, for its captures */
} FeCtx;

void fe_error(FeCtx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool fe_tensor(FeCtx *c, const Onnx__TensorProto *t, Value *v, const char *what);

#endif
