/* Profile builds (dlc --profile): what the per-kernel tables of model.c
 * say about each kernel besides its time. */
#ifndef DLC_PROFILE_H
#define DLC_PROFILE_H

#include "../ir/loop.h"

/* Floating-point operations one run of k performs: each runtime call's
 * own count (LStmt.flops, set by the lowering) plus, for loop code, the
 * float arithmetic in every statement times the trip counts around it.
 * Both branches of an `if` are counted as the larger one. */
double cg_kernel_flops(const LKernel *k);

#endif
