/* Code generation over the planned graph: what every target writes
 * (codegen/emit.c: the header, tensor tables, weights, status codes,
 * profile tables, the files) around what one target writes (codegen/c/:
 * runtime code, the run function). */
#ifndef DLC_CODEGEN_H
#define DLC_CODEGEN_H

#include "../passes/passes.h"
#include "printer.h"

typedef struct {
    const char *prefix;         /* C identifier prefix */
    const char *model_path;     /* for the provenance comment */
    const char *out_c;          /* paths to write: the source, the header */
    const char *out_h;
    const char *out_weights;    /* NULL: embed weights in out_c */
    bool incbin_weights;        /* with out_weights: out_c assembles that file in
                                 * (.incbin) and the API is embed's */
    const char *command_line;   /* options, for the provenance comment */
    bool profile;               /* time each kernel (dlc --profile): not reentrant */
    const char *target;         /* CgTarget.name; NULL: "c" */
    Printer *in_memory;         /* non-NULL: no files; [0] gets the source, [1] the
                                 * header (the caller pr_free()s them). The fuzz
                                 * targets compile this way. */
    int64_t *weights_size;      /* non-NULL: set to the weights blob's bytes
                                 * (dlc info) */
} CgOptions;

typedef struct CgEmit CgEmit;   /* one emission in progress: codegen/emit.h */

/* One target: the parts of the source file only it knows how to write.
 * codegen/emit.c calls them in this order. */
typedef struct {
    const char *name;           /* "c" */
    const char *ext;            /* its source file's extension: ".c" */
    /* Sets up e->target, the target's own state. */
    void (*begin)(CgEmit *e);
    /* Node n's kernel into body (the run function's statements, after the
     * comment naming the node); marks the values it touches in e->used.
     * A profile build times it as entry e->nprof. */
    void (*kernel)(CgEmit *e, const Node *n, Printer *body);
    /* Lines for the provenance comment of both files (what to link with). */
    void (*notes)(CgEmit *e, Printer *p);
    /* What follows `#include "model.h"`: includes (<stddef.h>, <stdint.h>,
     * <string.h>, and <time.h> in a profile build), DLC_ALIGN64, the code
     * the kernels call. The weights and tensor tables come next. */
    void (*prelude)(CgEmit *e, Printer *p);
    /* The run functions the header declares, around the kernels' body. */
    void (*run)(CgEmit *e, Printer *p, const Printer *body);
} CgTarget;

extern const CgTarget cg_target_c;     /* codegen/c/emit_c.c */

/* Writes out_c, out_h (and out_weights) for o->target, atomically: all or
 * nothing. graphs[0] is the model; graphs[1..] (with stats[1..]) the same
 * model planned for smaller maxima of its run-time dims (size buckets;
 * ignored in a profile build). */
bool cg_emit(Graph *const *graphs, int ngraphs, const PlanStats *stats, const CgOptions *o, Diag *d);

#endif
