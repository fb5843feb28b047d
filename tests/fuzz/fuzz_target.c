/* libFuzzer targets over the compiler, one source built at three depths:
 *   FUZZ_LEVEL 1  fuzz_frontend: protobuf decoding and the frontend
 *   FUZZ_LEVEL 2  fuzz_passes:   the same, then every pass
 *   FUZZ_LEVEL 3  fuzz_compile:  the same, then the C source, in memory
 * A rejected model is fine (diagnostics go to /dev/null); a crash, a
 * sanitizer report, a leak, an exit (DLC_BUG) or a hang is a finding.
 * tests/fuzz/run.py builds and runs them; tests/fuzz/README.md says how. */
#include "codegen/codegen.h"
#include "frontend/frontend.h"
#include "passes/passes.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef FUZZ_LEVEL
#define FUZZ_LEVEL 3
#endif

static FILE *devnull;
/* The bytes pose as this file, in an empty folder of their own: external
 * data then resolves (and is refused) there, never in the working folder. */
static char dir[] = "/tmp/dlc-fuzz-XXXXXX";
static char model_path[64];

static void remove_dir(void)
{
    rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    devnull = fopen("/dev/null", "w");
    if (!devnull || !mkdtemp(dir)) {
        fprintf(stderr, "fuzz: cannot set up /dev/null or a temporary folder\n");
        exit(1);
    }
    atexit(remove_dir);
    snprintf(model_path, sizeof model_path, "%s/model.onnx", dir);
    return 0;
}

#if FUZZ_LEVEL >= 2
/* Binds every input's unknown dims as --shape would: by the input's last
 * byte, to 3 (fixed) or as a run-time dim 1..8, so the run-time-dims paths
 * are fuzzed too. */
static void bind_unknown_dims(Graph *g, PassOptions *po, uint8_t pick)
{
    for (int i = 0; i < g->ninputs && po->nbindings < PASS_MAX_BINDINGS; i++) {
        const Value *v = g->inputs[i];
        if (!v->has_type || ir_shape_known(&v->shape))
            continue;
        ShapeBinding *b = &po->bindings[po->nbindings++];
        memset(b, 0, sizeof *b);
        b->name = v->name;
        b->shape = v->shape;
        for (int k = 0; k < v->shape.rank; k++) {
            b->shape.sym[k] = NULL;
            if (v->shape.dim[k] >= 0)
                continue;
            b->shape.dim[k] = pick & 1 ? 8 : 3;
            b->lo[k] = pick & 1 ? 1 : 0;
        }
    }
}
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Diag d;
    diag_init(&d, "model.onnx");
    d.out = devnull;
    Graph *g = fe_load_model_bytes(data, size, model_path, &d);
    if (!g)
        return 0;
#if FUZZ_LEVEL >= 2
    PassOptions po;
    memset(&po, 0, sizeof po);
    po.loop_max = 4;    /* run-time-bounded Loops unroll too */
    bind_unknown_dims(g, &po, data[size - 1]);
    PlanStats stats = {0};
    bool ok = pass_pipeline(g, &po, &stats, &d);
#if FUZZ_LEVEL >= 3
    if (ok) {
        Printer out[2];
        CgOptions o = {.prefix = "model", .model_path = "model.onnx", .out_c = "model.c",
                       .out_h = "model.h", .command_line = "fuzz", .in_memory = out};
        if (cg_emit(&g, 1, &stats, &o, &d)) {
            pr_free(&out[0]);
            pr_free(&out[1]);
        }
    }
#else
    (void)ok;
#endif
#endif
    ir_graph_free(g);
    return 0;
}
