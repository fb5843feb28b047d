/* How run-time dims (ir/dims.h) flow through each operator, for
 * infer+fold and passes/runtime_dims.c. */
#ifndef DLC_DYN_RULES_H
#define DLC_DYN_RULES_H

#include "../ir/dims.h"

#define DYN_MAX_MASKS 4

/* What a node needs so that computing it over the padded (maximum) extent
 * gives the right elements inside the run-time extent. */
typedef struct {
    struct {
        int in;             /* input whose padding must hold `fill` first */
        unsigned axes;      /* bit k: dim k's elements past its extent */
        double fill;        /* 0, -inf, +inf, 1 */
        bool edge;          /* instead: the last element inside the extent */
    } mask[DYN_MAX_MASKS];
    int nmask;
    /* LSTM/GRU/RNN with a run-time sequence length: input 4 (sequence_lens)
     * must be this extent per batch entry. */
    const DimExpr *seq_len;
    /* A mean over run-time dims: output 0 times (product of input 0's
     * maximum dims) / (product of their extents), over these axes. */
    unsigned mean_axes;
} DynNeeds;

/* Sets n's outputs' run-time dims from its inputs' (once its row has
 * inferred the shapes at the maximum) and says what it needs; false after
 * a diagnostic when n cannot follow a run-time dim. */
bool dyn_infer_node(Node *n, DynNeeds *needs, Diag *d);
/* After n folded to constants: each output's symval, or sym_unknown when
 * it depends on a run-time dim in a way not tracked. */
void dyn_fold_symvals(Node *n);
/* Is input i a constant computed from a run-time dim? */
bool dyn_tainted(const Value *v);
/* Does n's rule read input i's symvals (a shape-setting input)? Other
 * tainted inputs are run-time data and refused. */
bool dyn_shape_slot(const Node *n, int i);

#endif
