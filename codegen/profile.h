/* Profile builds (dlc --profile): the per-kernel tables of model.c and
 * model.h, and what they say about each kernel besides its time. */
#ifndef DLC_PROFILE_H
#define DLC_PROFILE_H

#include "../ir/loop.h"
#include "emit.h"

/* Floating-point operations one run of k performs: each runtime call's
 * own count (LStmt.flops, set by the lowering) plus, for loop code, the
 * float arithmetic in every statement times the trip counts around it.
 * Both branches of an `if` are counted as the larger one. */
double cg_kernel_flops(const LKernel *k);
/* model.c: each kernel's names, ops, FLOPs and summed time, the reset
 * function, and the timer the run function calls after each kernel. */
void cg_profile_tables(CgEmit *e, Printer *p);
/* model.h: their declarations. */
void cg_profile_header(CgEmit *e, Printer *p);

#endif
