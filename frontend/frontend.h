/* The ONNX frontend: protobuf bytes -> IR graph. */
#ifndef DLC_FRONTEND_H
#define DLC_FRONTEND_H

#include "../ir/ir.h"

/* Loads and lowers a model; NULL after diagnostics on failure. */
Graph *fe_load_model(const char *path, Diag *d);
/* The same from bytes in memory (the fuzz targets); external data is read
 * from path's folder, as if the bytes were the file at path. */
Graph *fe_load_model_bytes(const void *bytes, size_t len, const char *path, Diag *d);

/* Reads a serialized TensorProto (the ONNX test-data format) into a fresh
 * constant value allocated in g (not added to the graph's value list). */
Value *fe_load_tensor_file(Graph *g, const char *path, Diag *d);

#endif
