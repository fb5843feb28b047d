/* The C target: the C dialect renders each kernel; model.c gets the
 * runtime kernels the model calls, the OpenMP macro, the scalar helpers
 * and the run functions. */
#include "../emit.h"
#include "../../ir/dims.h"
#include "c_dialect.h"
#include "runtime.h"
#include "runtime_units.h"

#include <string.h>

typedef struct {
    CRender r;
    CgUnits units;
} CState;

static void begin(CgEmit *e)
{
    CState *t = ir_alloc(e->g->arena, sizeof *t);
    t->r.g = e->g;
    t->r.value_used = e->used;
    e->target = t;
}

static void kernel(CgEmit *e, const Node *n, Printer *body)
{
    CState *t = e->target;
    t->r.out = body;
    t->r.g = e->g;              /* the size bucket being written */
    t->r.value_used = e->used;
    if (n->guard) {     /* an If branch or a Loop iteration: runs when the bool is true */
        e->used[n->guard->id] = true;
        pr_line(body, "if (t%d[0]) {", n->guard->id);
        body->indent++;
    }
    cr_kernel(&t->r, n->kernel);
    if (n->kernel->runtime)
        cg_units_use(&t->units, n->kernel->runtime);
    if (e->o->profile)
        pr_line(body, "prof = %s_profile_lap(prof, %d);", e->P, e->nprof);
    if (n->guard) {
        body->indent--;
        pr_line(body, "}");
    }
}

static void notes(CgEmit *e, Printer *p)
{
    CState *t = e->target;
    for (int i = 0; i < cg_runtime_unit_count; i++)
        if (t->units.used[i] && strcmp(cg_runtime_units[i].name, "blas_openblas") == 0)
            pr(p, "/* Needs OpenBLAS (dlc --blas openblas): model.c includes <cblas.h>;\n"
                  " * link with -lopenblas (pkg-config --cflags --libs openblas). */\n");
}

static void prelude(CgEmit *e, Printer *p)
{
    CState *t = e->target;
    if (t->r.need_half)
        cg_units_use(&t->units, "half");
    if (t->r.need_vmath)
        cg_units_use(&t->units, "vmath");
    pr(p, "#include <math.h>\n#include <stddef.h>\n#include <stdint.h>\n#include <string.h>\n");
    if (e->o->profile)
        pr(p, "#include <time.h>\n");
    pr(p, "\n");
    pr(p, "#if defined(__GNUC__)\n#define DLC_ALIGN64 __attribute__((aligned(64)))\n#else\n"
          "#define DLC_ALIGN64\n#endif\n");
    if (t->r.need_parallel)
        pr(p, "\n/* Loops marked DLC_PARALLEL share their iterations among OpenMP threads\n"
              " * when built with -fopenmp (OMP_NUM_THREADS); without it they run serially. */\n"
              "#if defined(_OPENMP)\n#define DLC_PARALLEL _Pragma(\"omp parallel for schedule(static)\")\n"
              "#else\n#define DLC_PARALLEL\n#endif\n");
    cg_units_paste(&t->units, p);
    if (t->r.nhelpers) {
        pr(p, "\n/* ---- scalar helpers ---- */\n");
        cr_helpers(&t->r, p);
    }
}

/* ---- the run functions ---- */

static const char *storage_type(const Value *v)
{
    return ir_dtype_ctype(v->dtype);
}

static void declare(CgEmit *e, Printer *p, const Value *v)
{
    const char *ct = storage_type(v);
    if (v->is_input) {
        for (int i = 0; i < e->g->ninputs; i++)
            if (e->g->inputs[i] == v)
                pr(p, "    const %s *t%d = (const %s *)inputs[%d];\n", ct, v->id, ct, i);
    } else if (v->output_index >= 0) {
        pr(p, "    %s *t%d = (%s *)outputs[%d];\n", ct, v->id, ct, v->output_index);
    } else if (v->weight_offset >= 0 && ir_value_bytes(v) == 0) {
        pr(p, "    const %s *t%d = NULL;    /* empty */\n", ct, v->id);  /* W may not exist */
    } else if (v->weight_offset >= 0) {
        pr(p, "    const %s *t%d = (const %s *)(W + %lld);\n", ct, v->id, ct,
           (long long)v->weight_offset);
    } else if (v->offset >= 0) {
        pr(p, "    %s *t%d = (%s *)(ws + %lld);\n", ct, v->id, ct, (long long)v->offset);
    } else {
        DLC_BUG("value '%s' has no storage", v->name);
    }
}

/* Graph outputs that no kernel writes (constants, inputs) are copied in
 * first, so kernels that also read them see the same bytes. */
static void copy_passthrough_outputs(Printer *p, CgEmit *e)
{
    Graph *g = e->g;
    for (int i = 0; i < g->noutputs; i++) {
        Value *v = g->outputs[i];
        if (v->data) {
            pr(p, "    (void)t%d;\n", v->id);    /* declared for kernels that read it */
            if (ir_value_bytes(v))  /* an empty constant has no bytes in W */
                pr(p, "    memcpy(outputs[%d], W + %lld, %zu);\n", i,
                   (long long)v->weight_offset, ir_value_bytes(v));
            continue;
        }
        for (int k = 0; k < g->ninputs && v->is_input; k++)
            if (g->inputs[k] == v)
                pr(p, "    memcpy(outputs[%d], inputs[%d], %zu);\n", i, k, ir_value_bytes(v));
    }
}

static void run(CgEmit *e, Printer *p, const Printer *body)
{
    Graph *g = e->g;
    bool weights_file = cg_weights_param(e->o);
    bool dims = g->nrtdims > 0;
    const char *wparam = weights_file ? (dims ? "const void *weights, const long long dims[], "
                                              : "const void *weights, ")
                                      : dims ? "const long long dims[], " : "";
    const char *warg = weights_file ? (dims ? "weights, dims, " : "weights, ") : dims ? "dims, " : "";
    if (e->bucket > 0)   /* its caller checked the arguments */
        pr(p, "static %s_status %s_run_bucket%d(%sconst void *const inputs[], void *const outputs[],\n"
              "    void *workspace)\n{\n", e->P, e->P, e->bucket, wparam);
    else
        pr(p, "%s_status %s_run_with_workspace(%sconst void *const inputs[], void *const outputs[],\n"
              "    void *workspace)\n{\n", e->P, e->P, wparam);
    pr(p, "    unsigned char *ws = (unsigned char *)workspace;\n");
    if (weights_file)
        pr(p, "    const unsigned char *W = (const unsigned char *)weights;\n");
    else if (e->weights_size && e->o->incbin_weights)
        pr(p, "    const unsigned char *W = %s_weights_incbin;\n", e->P);
    else if (e->weights_size)
        pr(p, "    const unsigned char *W = %s_weights.bytes;\n", e->P);
    if (e->bucket == 0) {
        pr(p, "    if (!inputs || !outputs || (!workspace && %s_WORKSPACE_SIZE > 0)%s)\n"
              "        return %s_ERR_NULL;\n", e->UP, weights_file ? " || !weights" : "", e->UP);
        pr(p, "    if ((uintptr_t)workspace %% 64 != 0)\n        return %s_ERR_ALIGN;\n", e->UP);
    }
    if (dims && e->bucket == 0) {
        pr(p, "    if (!dims)\n        return %s_ERR_NULL;\n    if (%s_dims_invalid(dims))\n"
              "        return %s_ERR_DIM;\n", e->UP, e->P, e->UP);
        /* the smallest size bucket the dims fit runs the call */
        for (int k = e->ngraphs - 1; k > 0; k--) {
            const Graph *b = e->graphs[k];
            pr(p, "    if (");
            for (int s = 0; s < b->nrtdims; s++)
                pr(p, "%sdims[%d] <= %lldLL", s ? " && " : "", s, (long long)b->rtdims[s].hi);
            pr(p, ")\n        return %s_run_bucket%d(%sinputs, outputs, workspace);\n", e->P, k, warg);
        }
    }
    if (dims) {
        for (int s = 0; s < g->nrtdims; s++)
            pr(p, "    const int64_t dim%d = dims[%d];\n    (void)dim%d;\n", s, s, s);
    }
    for (int i = 0; i < g->nvalues; i++)
        if (e->used[i])
            declare(e, p, g->values[i]);
    pr(p, "    (void)ws;\n");
    if (weights_file || e->weights_size)
        pr(p, "    (void)W;\n");
    copy_passthrough_outputs(p, e);
    if (e->nprof)
        pr(p, "    unsigned long long prof = %s_profile_now();\n", e->P);
    pr_append(p, body);
    for (int i = 0; i < g->nchecks; i++)
        pr(p, "    if (t%d[0])\n        return %s_ERR_LOOP_BOUND;\n", g->checks[i]->id, e->UP);
    pr(p, "    return %s_OK;\n}\n\n", e->UP);
    if (e->bucket > 0)
        return;
    pr(p, "static DLC_ALIGN64 unsigned char %s_static_workspace[%s_WORKSPACE_SIZE > 0 ? "
          "%s_WORKSPACE_SIZE : 1];\n\n", e->P, e->UP, e->UP);
    pr(p, "%s_status %s_run(%sconst void *const inputs[], void *const outputs[])\n{\n"
          "    return %s_run_with_workspace(%sinputs, outputs, %s_static_workspace);\n}\n",
       e->P, e->P, wparam, e->P, warg, e->P);
}

const CgTarget cg_target_c = {
    .name = "c",
    .ext = ".c",
    .begin = begin,
    .kernel = kernel,
    .notes = notes,
    .prelude = prelude,
    .run = run,
};
