/* The runtime units a C model needs (the runtime/ sources, embedded in
 * dlc), pasted into model.c each after the units it calls. */
#ifndef DLC_C_RUNTIME_H
#define DLC_C_RUNTIME_H

#include "../printer.h"

enum { CG_MAX_UNITS = 32 };

typedef struct {
    bool used[CG_MAX_UNITS];    /* by index in cg_runtime_units */
    int order[CG_MAX_UNITS];    /* used units, each after the units it calls */
    int n;
} CgUnits;

/* Marks a unit and the ones its first line names ("rt-deps: a b"). */
void cg_units_use(CgUnits *u, const char *name);
/* The used units' text, rt_common first, without their local #includes. */
void cg_units_paste(const CgUnits *u, Printer *p);

#endif
