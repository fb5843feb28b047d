/* The C dialect of the loop IR. */
#ifndef DLC_C_DIALECT_H
#define DLC_C_DIALECT_H

#include "../../ir/loop.h"
#include "../printer.h"

enum { CH_MAX_HELPERS = 64 };

typedef struct {
    Printer *out;
    Graph *g;
    bool *value_used;           /* by value id: a pointer must be declared */
    /* helper functions the rendered code needs, emitted before it */
    const char *helpers[CH_MAX_HELPERS];
    int nhelpers;
    bool need_half;             /* runtime unit "half" */
    bool need_vmath;            /* runtime unit "vmath" */
    bool need_parallel;         /* some loop is marked DLC_PARALLEL (OpenMP) */
    const LKernel *kernel;      /* the kernel being rendered */
    int in_index;               /* > 0 while rendering an element index */
} CRender;

/* Renders k; its parallel loops (LStmt.parallel, passes/mark_parallel.c)
 * under DLC_PARALLEL with their private variables declared inside. */
void cr_kernel(CRender *r, const LKernel *k);
/* C type a variable or expression of dtype dt computes in. */
const char *cr_compute_type(DType dt);
/* Writes the bodies of the helpers r->helpers into p. */
void cr_helpers(const CRender *r, Printer *p);

#endif
