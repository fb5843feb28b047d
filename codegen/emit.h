/* What the shared emitter and a target share while writing one model. */
#ifndef DLC_EMIT_H
#define DLC_EMIT_H

#include "codegen.h"

#include <stdio.h>

struct CgEmit {
    Graph *g;
    const CgOptions *o;
    const char *P;              /* prefix, lower case */
    char UP[128];               /* PREFIX, upper case */
    bool *used;                 /* by value id: a kernel touches it (the run
                                 * function declares a pointer to it) */
    int64_t weights_size;       /* bytes of the weights blob */
    /* --profile: the timed kernels, in execution order */
    const Node **prof_nodes;
    double *prof_flops;         /* floating-point ops per run */
    double *prof_bytes;         /* tensor bytes read and written per run */
    int nprof;
    void *target;               /* the target's own state (CgTarget.begin) */
};

/* ---- codegen/weights.c: the weights blob ---- */
/* Gives every constant in e->used an offset in the blob (Value.weight_offset). */
void cg_layout_weights(CgEmit *e);
/* The blob as a static array `PREFIX_weights` (a string literal). */
void cg_embed_weights(CgEmit *e, Printer *p);
/* The blob's bytes into f. */
void cg_write_weights(CgEmit *e, FILE *f);

#endif
