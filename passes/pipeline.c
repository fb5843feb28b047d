/* The pass pipeline, in order. Each pass is one file. */
#include "passes.h"
#include "../ops/ops.h"

#include <time.h>

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static bool run(const char *name, bool ok_before, bool (*fn)(Graph *, Diag *), Graph *g,
                const PassOptions *o, Diag *d)
{
    if (!ok_before)
        return false;
    double t0 = now_ms();
    bool ok = fn(g, d);
    if (o->verbose)
        fprintf(stderr, "dlc: pass %-16s %8.2f ms  %5d nodes\n", name, now_ms() - t0,
                ir_live_nodes(g));
    return ok;
}

static const PassOptions *bind_opts;
static PlanStats *plan_stats;

static bool bind(Graph *g, Diag *d)
{
    return pass_bind_inputs(g, bind_opts, d);
}

static bool plan(Graph *g, Diag *d)
{
    return pass_plan_memory(g, plan_stats, d);
}

static bool no_fuse(Graph *g, Diag *d)
{
    (void)g, (void)d;
    return true;
}

bool pass_pipeline(Graph *g, const PassOptions *o, PlanStats *stats, Diag *d)
{
    bind_opts = o;
    plan_stats = stats;
    g->blas = o->blas;      /* read by the GEMM lowering (ops/matmul.c) */
    bool ok = true;
    ok = run("resolve", ok, pass_resolve, g, o, d);
    ok = run("verify", ok, ir_verify, g, o, d);
    ok = run("bind-inputs", ok, bind, g, o, d);
    ok = run("infer+fold", ok, pass_infer_fold, g, o, d);
    ok = run("simplify", ok, pass_simplify, g, o, d);
    ok = run("fold-batchnorm", ok, pass_fold_batchnorm, g, o, d);
    ok = run("dce", ok, pass_dce, g, o, d);
    ok = run("fuse-attention", ok, o->no_fuse ? no_fuse : pass_fuse_attention, g, o, d);
    ok = run("fuse-epilogue", ok, o->no_fuse ? no_fuse : pass_fuse_epilogue, g, o, d);
    op_conv_winograd = !o->no_winograd;
    ok = run("lower", ok, pass_lower, g, o, d);
    ok = run("fuse", ok, o->no_fuse ? no_fuse : pass_fuse, g, o, d);
    ok = run("plan-memory", ok, plan, g, o, d);
    if (ok && o->verbose)
        fprintf(stderr, "dlc: arena %lld bytes (naive sum %lld bytes)\n",
                (long long)stats->arena_bytes, (long long)stats->naive_bytes);
    return ok && d->nerrors == 0;
}
