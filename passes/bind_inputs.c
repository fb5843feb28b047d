/* Binds graph inputs: --freeze values first (the input becomes a
 * constant and leaves the run function), then --shape dims, then a leading
 * batch dim defaults to 1 (with a warning); any other unknown dim is an
 * error. */
#include "passes.h"
#include "../ir/dims.h"

#include <string.h>

/* The frozen value must be what the model declares: same dtype, same rank,
 * every fixed dim equal (unknown dims take the file's). */
static bool freeze_input(Graph *g, const InputFreeze *f, Diag *d)
{
    for (int j = 0; j < g->nfrozen; j++)
        if (strcmp(g->frozen[j]->name, f->name) == 0) {
            diag_error(d, NULL, "--freeze names '%s' twice", f->name);
            return false;
        }
    int i = 0;
    while (i < g->ninputs && strcmp(g->inputs[i]->name, f->name) != 0)
        i++;
    if (i == g->ninputs) {
        diag_error(d, NULL, "--freeze names '%s', which is not a graph input", f->name);
        return false;
    }
    Value *v = g->inputs[i];
    const Value *c = f->value;
    bool fits = c->shape.rank == v->shape.rank;
    for (int k = 0; fits && k < v->shape.rank; k++)
        fits = v->shape.dim[k] < 0 || v->shape.dim[k] == c->shape.dim[k];
    if (c->dtype != v->dtype || !fits) {
        diag_error(d, NULL, "--freeze %s: %s holds %s %s but the input is declared %s %s",
                   f->name, f->file, ir_dtype_name(c->dtype), ir_shape_str(g->arena, &c->shape),
                   ir_dtype_name(v->dtype), ir_shape_str(g->arena, &v->shape));
        return false;
    }
    v->shape = c->shape;
    v->data = c->data;
    v->is_input = false;
    memmove(&g->inputs[i], &g->inputs[i + 1], (size_t)(g->ninputs - i - 1) * sizeof *g->inputs);
    g->ninputs--;
    g->frozen[g->nfrozen++] = v;
    return true;
}

/* Input v's dim k is a run-time dim in lo..hi: the model's symbolic name
 * for it joins every dim of that name (one run-time value), an unnamed
 * one gets "INPUT.K". */
static bool bind_runtime_dim(Graph *g, Value *v, int k, int64_t lo, int64_t hi, int64_t step, Diag *d)
{
    const char *name = v->shape.sym[k] ? v->shape.sym[k] : ir_sprintf(g->arena, "%s.%d", v->name, k);
    int s = 0;
    while (s < g->nrtdims && strcmp(g->rtdims[s].name, name) != 0)
        s++;
    if (s < g->nrtdims) {
        if (g->rtdims[s].lo != lo || g->rtdims[s].hi != hi || g->rtdims[s].step != step) {
            diag_error(d, NULL, "--shape %s: dim %d '%s' is bound %lld..%lld elsewhere", v->name, k,
                       name, (long long)g->rtdims[s].lo, (long long)g->rtdims[s].hi);
            return false;
        }
    } else {
        if (!g->rtdims)
            g->rtdims = ir_alloc_array(g->arena, PASS_MAX_BINDINGS * IR_MAX_RANK, sizeof *g->rtdims);
        g->rtdims[s] = (RtDim){name, lo, hi, step};
        g->nrtdims++;
    }
    ir_set_dyn(g, v, k, dx_sym(g, s));
    return true;
}

bool pass_bind_inputs(Graph *g, const PassOptions *o, Diag *d)
{
    bool ok = true;
    if (o->nfreezes > 0 && !g->frozen)
        g->frozen = ir_alloc_array(g->arena, (size_t)g->ninputs, sizeof *g->frozen);
    for (int f = 0; f < o->nfreezes; f++)
        ok = freeze_input(g, &o->freezes[f], d) && ok;
    for (int b = 0; b < o->nbindings; b++) {
        bool found = false;
        for (int i = 0; i < g->ninputs; i++)
            found |= strcmp(g->inputs[i]->name, o->bindings[b].name) == 0;
        for (int i = 0; i < g->nfrozen && !found; i++)
            if (strcmp(g->frozen[i]->name, o->bindings[b].name) == 0) {
                diag_error(d, NULL, "--shape names '%s', which --freeze binds already",
                           o->bindings[b].name);
                found = true;
                ok = false;
            }
        if (!found) {
            diag_error(d, NULL, "--shape names '%s', which is not a graph input",
                       o->bindings[b].name);
            ok = false;
        }
    }
    for (int i = 0; i < g->ninputs; i++) {
        Value *v = g->inputs[i];
        for (int b = 0; b < o->nbindings; b++) {
            const ShapeBinding *sb = &o->bindings[b];
            if (strcmp(sb->name, v->name) != 0)
                continue;
            if (sb->shape.rank != v->shape.rank) {
                diag_error(d, NULL, "--shape %s has rank %d but the input has rank %d",
                           v->name, sb->shape.rank, v->shape.rank);
                ok = false;
                continue;
            }
            for (int k = 0; k < v->shape.rank; k++) {
                if (v->shape.dim[k] >= 0 && v->shape.dim[k] != sb->shape.dim[k]) {
                    diag_error(d, NULL, "--shape %s: dim %d is fixed at %lld in the model",
                               v->name, k, (long long)v->shape.dim[k]);
                    ok = false;
                }
                v->shape.dim[k] = sb->shape.dim[k];
                if (sb->lo[k] > 0 && !bind_runtime_dim(g, v, k, sb->lo[k], sb->shape.dim[k],
                                                     sb->step[k] > 0 ? sb->step[k] : 1, d))
                    ok = false;
            }
        }
        for (int k = 0; k < v->shape.rank; k++) {
            if (v->shape.dim[k] >= 0)
                continue;
            const char *sym = v->shape.sym[k] ? v->shape.sym[k] : "?";
            if (k == 0 && v->shape.rank > 1) {
                diag_warn(d, NULL, "input '%s': batch dim '%s' defaults to 1 (bind it with --shape)",
                          v->name, sym);
                v->shape.dim[0] = 1;
            } else if (v->shape.sym[k]) {
                diag_error(d, NULL, "input '%s': dim %d '%s' is symbolic; bind it with --shape %s=...",
                           v->name, k, sym, v->name);
                ok = false;
            } else {
                diag_error(d, NULL, "input '%s': dim %d is unknown; bind it with --shape %s=...",
                           v->name, k, v->name);
                ok = false;
            }
        }
        int64_t numel, bytes;
        if (ok && (!ir_shape_numel(&v->shape, &numel) ||
                   !ir_mul_ok(numel, (int64_t)ir_dtype_size(v->dtype), &bytes) ||
                   bytes > ((int64_t)1 << 40))) {
            diag_error(d, NULL, "input '%s': shape %s is too large", v->name,
                       ir_shape_str(g->arena, &v->shape));
            ok = false;
        }
    }
    return ok;
}
