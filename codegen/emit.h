/* What the shared emitter and a target share while writing one model. */
#ifndef DLC_EMIT_H
#define DLC_EMIT_H

#include "codegen.h"

#include <stdio.h>

/* One constant's bytes in the weights blob. */
typedef struct {
    const void *data;
    size_t n;
    uint64_t hash;
    int64_t offset;
} WeightBlob;

struct CgEmit {
    Graph *g;                   /* the graph being written (graphs[bucket]) */
    /* Size buckets of a model with run-time dims: graphs[0] planned for the
     * whole range, graphs[k] for smaller maxima; the run function hands a
     * call to the smallest bucket its dims fit (the target's run writes
     * bucket k > 0 as a static function). One graph otherwise. */
    Graph **graphs;
    int ngraphs;
    int bucket;
    const CgOptions *o;
    const char *P;              /* prefix, lower case */
    char UP[128];               /* PREFIX, upper case */
    bool *used;                 /* by value id: a kernel touches it (the run
                                 * function declares a pointer to it) */
    int64_t weights_size;       /* bytes of the weights blob */
    WeightBlob *blobs;          /* its contents, in offset order */
    int nblobs, capblobs;
    /* --profile: the timed kernels, in execution order */
    const Node **prof_nodes;
    double *prof_flops;         /* floating-point ops per run */
    double *prof_bytes;         /* tensor bytes read and written per run */
    int nprof;
    void *target;               /* the target's own state (CgTarget.begin) */
};

/* The run functions take the weights as a parameter (--weights file). */
bool cg_weights_param(const CgOptions *o);
/* The file name part of path. */
const char *cg_base_name(const char *path);

/* ---- codegen/weights.c: the weights blob ---- */
/* Gives every constant of g that `used` marks an offset in the blob
 * (Value.weight_offset), sharing the bytes of equal constants. */
void cg_layout_weights(CgEmit *e, Graph *g, const bool *used);
/* The blob as a static array `PREFIX_weights` (a string literal). */
void cg_embed_weights(CgEmit *e, Printer *p);
/* The blob's bytes into f. */
void cg_write_weights(CgEmit *e, FILE *f);
/* The source's side of --weights incbin: an assembler block that includes
 * the weights file (by its absolute path, overridable by a macro) into
 * read-only data, and the symbol that names it. */
void cg_incbin_weights(CgEmit *e, Printer *p);

#endif
