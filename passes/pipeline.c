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

static void report(const char *name, double t0, Graph *g, const PassOptions *o)
{
    if (o->verbose)
        fprintf(stderr, "dlc: pass %-16s %8.2f ms  %5d nodes\n", name, now_ms() - t0,
                ir_live_nodes(g));
}

/* Runs one pass call, timed, unless an earlier one failed. */
#define RUN(name, call)                   \
    do {                                  \
        if (ok) {                         \
            double t0_ = now_ms();        \
            ok = (call);                  \
            report(name, t0_, g, o);      \
        }                                 \
    } while (0)

bool pass_pipeline(Graph *g, const PassOptions *o, PlanStats *stats, Diag *d)
{
    /* what the lowering reads: the GEMM backend (ops/matmul.c), Winograd
     * allowed or not (ops/conv.c) */
    g->blas = o->blas;
    g->no_winograd = o->no_winograd;
    bool fuse = !o->no_fuse;
    bool ok = true;
    RUN("resolve", pass_resolve(g, d));
    RUN("verify", ir_verify(g, d));
    RUN("bind-inputs", pass_bind_inputs(g, o, d));
    RUN("infer+fold", pass_infer_fold(g, d));
    RUN("simplify", pass_simplify(g, d));
    RUN("fold-batchnorm", pass_fold_batchnorm(g, d));
    RUN("dce", pass_dce(g, d));
    RUN("fuse-attention", !fuse || pass_fuse_attention(g, d));
    RUN("fuse-epilogue", !fuse || pass_fuse_epilogue(g, d));
    RUN("lower", pass_lower(g, d));
    RUN("fuse", !fuse || pass_fuse(g, d));
    RUN("plan-memory", pass_plan_memory(g, stats, d));
    RUN("mark-parallel", pass_mark_parallel(g, d));
    if (ok && o->verbose)
        fprintf(stderr, "dlc: arena %lld bytes (naive sum %lld bytes)\n",
                (long long)stats->arena_bytes, (long long)stats->naive_bytes);
    return ok && d->nerrors == 0;
}
