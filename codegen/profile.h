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
/* Bytes one run of n's kernel must move at least: every distinct tensor
 * it reads or writes (inputs, outputs, fused bias and residual) once,
 * weights included, except that a Gather* reads no more of its data
 * input than it writes. Caches make the real traffic lower when a tensor
 * is still resident, and re-reads of tiles make it higher. */
double cg_kernel_bytes(Graph *g, const Node *n);
/* model.c: each kernel's names, ops, FLOPs and summed time, the reset
 * function, and the timer the run function calls after each kernel. */
void cg_profile_tables(CgEmit *e, Printer *p);
/* model.h: their declarations. */
void cg_profile_header(CgEmit *e, Printer *p);

#endif
