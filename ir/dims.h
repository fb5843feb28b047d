/* Run-time dimensions: an input dim bound with a range (--shape
 * x=1x3x48x1..1024) stays a variable of the run function. The graph is
 * planned and its kernels are compiled at the range's maximum; a value's
 * dims that depend on the variable carry a DimExpr saying how, and the
 * elements past that extent are padding (docs/run-time-dims.md). */
#ifndef DLC_DIMS_H
#define DLC_DIMS_H

#include "ir.h"

/* One run-time dim of the model: the run function's dims[index]. */
typedef struct RtDim {
    const char *name;       /* the model's symbolic name, or "INPUT.K" */
    int64_t lo, hi;         /* inclusive bounds */
    int64_t step;           /* the dim is lo + k * step (1: any value) */
} RtDim;

typedef enum {
    DX_CONST,               /* c */
    DX_SYM,                 /* the value of run-time dim `sym` */
    DX_AFFINE,              /* a * x + b, a > 0 */
    DX_FLOORDIV,            /* floor(x / c), c > 0 */
    DX_MIN,                 /* min(x, c) */
} DimExprKind;

/* A function of one run-time dim, built by the dx_ constructors below
 * (which keep it in a normal form, so equal trees are equal functions). */
typedef struct DimExpr {
    DimExprKind kind;
    int sym;                /* the symbol anywhere in the tree (-1 for a constant) */
    int64_t a, b, c;
    const struct DimExpr *x;
} DimExpr;

const DimExpr *dx_const(Graph *g, int64_t c);
const DimExpr *dx_sym(Graph *g, int sym);
const DimExpr *dx_affine(Graph *g, const DimExpr *x, int64_t a, int64_t b);    /* NULL if a <= 0 or x NULL */
const DimExpr *dx_floordiv(Graph *g, const DimExpr *x, int64_t c);             /* NULL if c <= 0 */
const DimExpr *dx_min(Graph *g, const DimExpr *x, int64_t c);
/* x + y where at most one of them depends on a dim; NULL otherwise. */
const DimExpr *dx_add(Graph *g, const DimExpr *x, const DimExpr *y);
/* x * y where at most one of them depends on a dim; NULL otherwise. */
const DimExpr *dx_mul(Graph *g, const DimExpr *x, const DimExpr *y);
bool dx_is_const(const DimExpr *x, int64_t *c);

/* The value at run-time dim value n (*ok false on overflow). */
int64_t dx_eval(const DimExpr *x, int64_t n, bool *ok);
/* Equal over the symbol's whole range. */
bool dx_equal(const Graph *g, const DimExpr *x, const DimExpr *y);
/* Well-formed over the whole range: every division's numerator stays >= 0,
 * the value is >= 1 at the range's low end and `max` at its high end (what
 * the graph was planned with). */
bool dx_valid(const Graph *g, const DimExpr *x, int64_t max);
/* "2*W+1", "(W-3)/2", "min(W,64)": for comments, the header and messages. */
char *dx_str(Graph *g, const DimExpr *x);

/* A value's run-time dims: v->dyn[k] for dim k, NULL when static (or
 * when v->dyn itself is NULL). */
const DimExpr *ir_dyn(const Value *v, int k);
bool ir_has_dyn(const Value *v);
/* Bit k set for each run-time dim k of v. */
unsigned ir_dyn_axes(const Value *v);
/* "[1,3,48,W]": v's shape with its run-time dims' expressions. */
char *ir_dyn_shape_str(Graph *g, const Value *v);
/* Sets v's dim k (allocating v->dyn). */
void ir_set_dyn(Graph *g, Value *v, int k, const DimExpr *x);

#endif
