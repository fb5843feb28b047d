/* Code generation over the planned graph. */
#ifndef DLC_CODEGEN_H
#define DLC_CODEGEN_H

#include "../passes/passes.h"

typedef struct {
    const char *prefix;         /* C identifier prefix */
    const char *model_path;     /* for the provenance comment */
    const char *out_c;          /* paths to write */
    const char *out_h;
    const char *out_weights;    /* NULL: embed weights in out_c */
    const char *command_line;   /* options, for the provenance comment */
    bool profile;               /* time each kernel (dlc --profile): not reentrant */
} CgOptions;

/* Writes out_c, out_h (and out_weights) atomically: all or nothing. */
bool cg_emit_c(Graph *g, const PlanStats *stats, const CgOptions *o, Diag *d);

#endif
