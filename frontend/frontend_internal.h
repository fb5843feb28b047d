/* Shared by the frontend's files only. */
#ifndef DLC_FRONTEND_INTERNAL_H
#define DLC_FRONTEND_INTERNAL_H

#include "frontend.h"
#include "onnx.pb-c.h"

#include <limits.h>

/* One tensor may not exceed this (the protobuf format itself stops at 2 GB;
 * external data could claim more). */
#define FE_MAX_TENSOR_BYTES ((int64_t)1 << 34)

typedef struct {
    Graph *g;
    Diag *d;
    const Node *node;       /* node being read, for messages */
    char dir[PATH_MAX];     /* the model's folder as given */
    char realdir[PATH_MAX]; /* and resolved */
    /* name -> value, open addressing */
    Value **slots;
    size_t nslots;
} FeCtx;

void fe_error(FeCtx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool fe_tensor(FeCtx *c, const Onnx__TensorProto *t, Value *v, const char *what);

#endif
