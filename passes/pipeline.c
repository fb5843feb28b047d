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

/* A pass that reads the options or writes the plan's figures. */
typedef bool (*PassWith)(Graph *g, const PassOptions *o, PlanStats *stats, Diag *d);

typedef struct {
    const char *name;       /* as -v reports it and --help lists it */
    bool (*run)(Graph *g, Diag *d);
    PassWith run_with;      /* instead of run */
    bool fusion;            /* skipped with --no-fuse */
} Step;

static bool bind_inputs(Graph *g, const PassOptions *o, PlanStats *stats, Diag *d)
{
    (void)stats;
    return pass_bind_inputs(g, o, d);
}

static bool infer_fold(Graph *g, const PassOptions *o, PlanStats *stats, Diag *d)
{
    (void)stats;
    return pass_infer_fold_with(g, o, d);
}

static bool select_c(Graph *g, const PassOptions *o, PlanStats *stats, Diag *d)
{
    (void)stats;
    return pass_select_c(g, &o->target, d);
}

static bool plan_memory(Graph *g, const PassOptions *o, PlanStats *stats, Diag *d)
{
    (void)o;
    return pass_plan_memory(g, stats, d);
}

static const Step steps[] = {
    {"resolve", pass_resolve, NULL, false},
    {"verify", ir_verify, NULL, false},
    {"bind-inputs", NULL, bind_inputs, false},
    {"infer+fold", NULL, infer_fold, false},
    {"simplify", pass_simplify, NULL, false},
    {"gather-first", pass_gather_first, NULL, false},
    {"fold-batchnorm", pass_fold_batchnorm, NULL, false},
    {"dce", pass_dce, NULL, false},
    {"runtime-dims", pass_runtime_dims, NULL, false},
    {"fuse-attention", pass_fuse_attention, NULL, true},
    {"fuse-epilogue", pass_fuse_epilogue, NULL, true},
    {"lower", pass_lower, NULL, false},
    {"select-c", NULL, select_c, false},
    {"fuse", pass_fuse, NULL, true},
    {"fuse-gelu", pass_fuse_gelu, NULL, true},
    {"split-broadcast", pass_split_broadcast, NULL, false},
    {"plan-memory", NULL, plan_memory, false},
    {"mark-parallel", pass_mark_parallel, NULL, false},
};

void pass_list(FILE *f)
{
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
        fprintf(f, "%s%s", i ? ", " : "", steps[i].name);
}

bool pass_pipeline(Graph *g, const PassOptions *o, PlanStats *stats, Diag *d)
{
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        const Step *s = &steps[i];
        if (s->fusion && o->no_fuse)
            continue;
        double t0 = now_ms();
        bool ok = s->run ? s->run(g, d) : s->run_with(g, o, stats, d);
        if (o->verbose)
            fprintf(stderr, "dlc: pass %-16s %8.2f ms  %5d nodes\n", s->name, now_ms() - t0,
                    ir_live_nodes(g));
        if (!ok)
            return false;
    }
    if (o->verbose)
        fprintf(stderr, "dlc: arena %lld bytes (naive sum %lld bytes)\n",
                (long long)stats->arena_bytes, (long long)stats->naive_bytes);
    return d->nerrors == 0;
}
