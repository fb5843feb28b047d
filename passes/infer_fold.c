/* Shape and dtype inference, with constant folding in the same walk: a
 * node whose inputs are all constant is lowered and interpreted at once,
 * so shape subgraphs (Shape -> Gather -> Concat -> Reshape) become
 * constants before the nodes that need them are inferred. */
#include "passes.h"
#include "../ops/dyn.h"
#include "../ops/ops.h"

/* Per tensor, the planner and codegen index with int64 and allocate
 * workspaces; refuse anything beyond this. */
#define MAX_TENSOR_BYTES ((int64_t)1 << 36)

static bool inputs_typed(const Node *n)
{
    for (int i = 0; i < n->nin; i++)
        if (n->in[i] && !n->in[i]->has_type)
            return false;
    return true;
}

static bool check_outputs(Node *n, Diag *d)
{
    for (int i = 0; i < n->nout; i++) {
        Value *v = n->out[i];
        if (!v)
            continue;
        int64_t numel, bytes;
        if (!v->has_type || !ir_shape_known(&v->shape))
            DLC_BUG("%s row left output %d without a shape", n->op_type, i);
        if (!ir_shape_numel(&v->shape, &numel) ||
            !ir_mul_ok(numel, (int64_t)ir_dtype_size(v->dtype), &bytes) ||
            bytes > MAX_TENSOR_BYTES) {
            diag_error(d, n, "output %d '%s': shape %s is too large", i, v->name,
                       ir_shape_str(n->graph->arena, &v->shape));
            return false;
        }
    }
    return true;
}

/* Inference stops after this many errors: an unrolled loop repeats one
 * error per iteration, each message costing a walk over the graph. */
#define INFER_MAX_ERRORS 64

/* All folded constants together stay within this plus FOLD_PER_CONST
 * times the model's own constants: a chain of nodes that each double
 * their input (Concat(x, x), Tile by 2), each within worth_folding()'s
 * bound, would otherwise grow a small model's constants exponentially.
 * Past it, nodes stay for run time. */
#define FOLD_BUDGET_BYTES ((int64_t)1 << 26)
#define FOLD_PER_CONST 8

/* Folding must not blow a small constant up into a big one (ConstantOfShape,
 * Expand, Tile): such nodes stay and fill memory at run time. */
static bool worth_folding(const Node *n, int64_t budget)
{
    int64_t in_bytes = 0, out_bytes = 0;
    for (int i = 0; i < n->nin; i++) {
        if (!n->in[i])
            continue;
        if (!n->in[i]->data)
            return false;
        in_bytes += (int64_t)ir_value_bytes(n->in[i]);
    }
    for (int i = 0; i < n->nout; i++)
        if (n->out[i])
            out_bytes += (int64_t)ir_value_bytes(n->out[i]);
    if (n->op->flags & OPF_NO_FOLD)
        return false;
    return out_bytes <= budget && (out_bytes <= (1 << 16) || out_bytes <= 2 * in_bytes);
}

static int64_t out_bytes(const Node *n)
{
    int64_t b = 0;
    for (int i = 0; i < n->nout; i++)
        if (n->out[i])
            b += (int64_t)ir_value_bytes(n->out[i]);
    return b;
}

static bool fold(Node *n, Diag *d)
{
    if (n->op->flags & OPF_VIEW) {   /* same bytes, new shape */
        n->out[0]->data = n->in[0]->data;
        return true;
    }
    Diag quiet = *d;
    FILE *devnull = fopen("/dev/null", "w");
    quiet.out = devnull;    /* an op that cannot lower just stays for run time */
    bool lowered = op_lower(n, &quiet);
    if (devnull)
        fclose(devnull);
    if (!lowered || !n->kernel) {
        n->kernel = NULL;   /* what a failed lowering left: pass_lower lowers it anew */
        return false;
    }
    for (int i = 0; i < n->nout; i++)
        if (n->out[i])
            n->out[i]->data = ir_alloc(n->graph->arena, ir_value_bytes(n->out[i]) + 1);
    bool ok = lk_interpret(n->kernel);
    if (!ok)
        for (int i = 0; i < n->nout; i++)
            if (n->out[i])
                n->out[i]->data = NULL;
    n->kernel = NULL;
    return ok;
}

static bool all_outputs_constant(const Node *n)
{
    for (int i = 0; i < n->nout; i++)
        if (n->out[i] && !n->out[i]->data)
            return false;
    return true;
}

bool pass_infer_fold(Graph *g, Diag *d)
{
    return pass_infer_fold_with(g, NULL, d);
}

bool pass_infer_fold_with(Graph *g, const PassOptions *o, Diag *d)
{
    bool ok = true;
    int64_t budget = FOLD_BUDGET_BYTES;
    for (int i = 0; i < g->nvalues; i++)
        if (g->values[i]->data)
            budget += FOLD_PER_CONST * (int64_t)ir_value_bytes(g->values[i]);
    CfCtx *cf = cf_begin(g, o ? o->loop_max : 0);
    for (int i = 0; i < g->nnodes; i++) {
        Node *n = g->nodes[i];
        if (n->dead)
            continue;
        if (d->nerrors >= INFER_MAX_ERRORS) {
            diag_error(d, NULL, "stopping after %d errors", d->nerrors);
            ok = false;
            break;
        }
        if (!inputs_typed(n)) {  /* an earlier node failed; don't cascade */
            ok = false;
            continue;
        }
        if (cf_is_control(n)) {  /* spliced in before it: infer those next */
            if (cf_expand(cf, i, d))
                i--;
            else
                ok = false;
            continue;
        }
        if ((n->merge && !cf_check_merge(n, d)) || !n->op->infer(n, d) || !check_outputs(n, d)) {
            ok = false;
            continue;
        }
        DynNeeds nd = {0};
        if (g->nrtdims && !dyn_infer_node(n, &nd, d)) {
            ok = false;
            continue;
        }
        /* a node that must mask a run-time dim's padding runs at run time */
        bool mixes = nd.nmask > 0 || nd.seq_len || nd.mean_axes;
        bool folded = all_outputs_constant(n);
        if (!folded && !mixes && worth_folding(n, budget) && fold(n, d)) {
            budget -= out_bytes(n);
            folded = true;
        }
        if (folded) {
            n->dead = true;
            if (g->nrtdims)
                dyn_fold_symvals(n);
        }
    }
    cf_end(cf);
    if (ok)
        ir_compact(g);
    return ok;
}
