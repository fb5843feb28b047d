/* dlc info's report: text for people, JSON for programs (its keys are
 * documented in docs/cli.md). */
#include "info.h"
#include "../ir/dims.h"

#include <string.h>

/* ---- shapes ---- */

/* Dim k of v as text: a run-time dim's expression, the number, the
 * model's symbolic name, or "?"; NULL for a number when `number` is set. */
static const char *dim_text(Graph *g, const Value *v, int k, char buf[24], bool number)
{
    if (ir_dyn(v, k))
        return dx_str(g, ir_dyn(v, k));
    if (v->shape.dim[k] >= 0) {
        snprintf(buf, 24, "%lld", (long long)v->shape.dim[k]);
        return number ? NULL : buf;
    }
    return v->shape.sym[k] ? v->shape.sym[k] : "?";
}

static const char *shape_text(Graph *g, const Value *v)
{
    if (!v->has_type)
        return "?";
    char nums[IR_MAX_RANK][24];
    const char *parts[IR_MAX_RANK];
    for (int k = 0; k < v->shape.rank; k++)
        parts[k] = dim_text(g, v, k, nums[k], false);
    return ir_join_dims(g->arena, v->shape.rank, parts);
}

static void json_shape(FILE *f, Graph *g, const Value *v, bool max)
{
    if (!v->has_type) {
        fputs("null", f);
        return;
    }
    fputc('[', f);
    for (int k = 0; k < v->shape.rank; k++) {
        char buf[24];
        const char *s = max ? NULL : dim_text(g, v, k, buf, true);
        fputs(k ? ", " : "", f);
        if (s && strcmp(s, "?") != 0)
            cli_json_string(f, s);
        else if (v->shape.dim[k] >= 0)
            fprintf(f, "%lld", (long long)v->shape.dim[k]);
        else
            fputs("null", f);
    }
    fputc(']', f);
}

/* ---- text ---- */

static const char *human(double x, const char *const units[5], double step, char buf[32])
{
    int u = 0;
    while (u < 4 && x >= step) {
        x /= step;
        u++;
    }
    snprintf(buf, 32, u ? "%.1f %s" : "%.0f %s", x, units[u]);
    return buf;
}

static const char *human_bytes(double x, char buf[32])
{
    static const char *const units[5] = {"B", "KiB", "MiB", "GiB", "TiB"};
    return human(x, units, 1024, buf);
}

static const char *human_flops(double x, char buf[32])
{
    static const char *const units[5] = {"FLOP", "kFLOP", "MFLOP", "GFLOP", "TFLOP"};
    return human(x, units, 1000, buf);
}

static void text_values(FILE *f, Graph *g, const char *title, Value *const *vs, int n)
{
    fprintf(f, "%s:\n", title);
    for (int i = 0; i < n; i++) {
        const Value *v = vs[i];
        if (v->has_type)
            fprintf(f, "  %d '%s': %s %s", i, v->name, ir_dtype_name(v->dtype), shape_text(g, v));
        else
            fprintf(f, "  %d '%s': ?", i, v->name);
        if (ir_has_dyn(v))
            fprintf(f, ", at most %s", ir_shape_str(g->arena, &v->shape));
        fputc('\n', f);
    }
}

static void text_tensors(const Info *in, FILE *f)
{
    Graph *g = in->g;
    text_values(f, g, "inputs", g->inputs, g->ninputs);
    for (int i = 0; i < g->nfrozen; i++)
        fprintf(f, "  '%s': %s %s, frozen (--freeze)\n", g->frozen[i]->name,
                ir_dtype_name(g->frozen[i]->dtype), shape_text(g, g->frozen[i]));
    text_values(f, g, "outputs", g->outputs, g->noutputs);
    if (g->nrtdims)
        fprintf(f, "run-time dims:\n");
    for (int i = 0; i < g->nrtdims; i++) {
        const RtDim *r = &g->rtdims[i];
        fprintf(f, "  %d '%s': %lld..%lld", i, r->name, (long long)r->lo, (long long)r->hi);
        if (r->step > 1)
            fprintf(f, " step %lld", (long long)r->step);
        fputc('\n', f);
    }
}

static void text_params(const Info *in, FILE *f)
{
    char b[32];
    fprintf(f, "parameters: %lld (%s)\n", (long long)in->param_count,
            human_bytes((double)in->param_bytes, b));
    for (int i = 0; i < in->nparams; i++)
        fprintf(f, "  %-9s %12lld  %12lld bytes\n", ir_dtype_name(in->params[i].dtype),
                (long long)in->params[i].count, (long long)in->params[i].bytes);
}

static void text_ops(const Info *in, FILE *f)
{
    char b[32], c[32];
    if (in->have_flops)
        fprintf(f, "FLOPs per run: %.0f (%s; as fused and compiled: %s)\n", in->flops,
                human_flops(in->flops, b), human_flops(in->flops_compiled, c));
    fprintf(f, "  %-24s %6s", "op", "nodes");
    if (in->have_flops)
        fprintf(f, " %16s %6s", "FLOPs", "share");
    fputc('\n', f);
    for (int i = 0; i < in->nops; i++) {
        const InfoOp *r = &in->ops[i];
        if (!r->nodes && (!in->have_flops || r->flops == 0))
            continue;   /* a kernel-only op type that computes nothing */
        fprintf(f, "  %-24s %6d", r->op, r->nodes);
        if (in->have_flops)
            fprintf(f, " %16.0f %5.1f%%", r->flops, in->flops > 0 ? 100 * r->flops / in->flops : 0);
        fputc('\n', f);
    }
}

static void text_diags(const Info *in, FILE *f, bool errors)
{
    int n = 0;
    for (int i = 0; i < in->ndiags; i++)
        n += in->diags[i].error == errors;
    if (n)
        fprintf(f, "%s:\n", errors ? "errors" : "warnings");
    for (int i = 0; i < in->ndiags; i++) {
        const InfoDiag *e = &in->diags[i];
        if (e->error != errors)
            continue;
        if (e->node_index >= 0)
            fprintf(f, "  node %d '%s' (%s): %s\n", e->node_index, e->node, e->op, e->message);
        else if (e->file && strcmp(e->file, in->model) != 0)
            fprintf(f, "  %s: %s\n", e->file, e->message);     /* a --freeze file */
        else
            fprintf(f, "  %s\n", e->message);
    }
}

void cli_info_print_text(const Info *in, FILE *f)
{
    char b[32], c[32];
    if (!in->g) {
        fprintf(f, "%s: does not load\n", in->model);
        text_diags(in, f, true);
        return;
    }
    fprintf(f, "%s: opset %lld, %d nodes, producer '%s'\n", in->model, (long long)in->opset,
            in->nnodes, in->producer);
    text_tensors(in, f);
    text_params(in, f);
    if (in->compiled)
        fprintf(f, "arena (workspace): %lld bytes (%s); weights: %lld bytes (%s)\n",
                (long long)in->plan.arena_bytes, human_bytes((double)in->plan.arena_bytes, b),
                (long long)in->weights_bytes, human_bytes((double)in->weights_bytes, c));
    text_ops(in, f);
    text_diags(in, f, false);
    text_diags(in, f, true);
    if (!in->compiled)
        fprintf(f, "does not compile: shapes are as far as the compiler got\n");
}

/* ---- JSON ---- */

static void json_values(FILE *f, Graph *g, const char *key, Value *const *vs, int n)
{
    fprintf(f, ",\n  \"%s\": [", key);
    for (int i = 0; i < n; i++) {
        const Value *v = vs[i];
        fprintf(f, "%s\n    {\"name\": ", i ? "," : "");
        cli_json_string(f, v->name);
        fputs(", \"dtype\": ", f);
        if (v->has_type)
            cli_json_string(f, ir_dtype_name(v->dtype));
        else
            fputs("null", f);
        fputs(", \"shape\": ", f);
        json_shape(f, g, v, false);
        fputs(", \"max_shape\": ", f);
        json_shape(f, g, v, true);
        fputc('}', f);
    }
    fputs(n ? "\n  ]" : "]", f);
}

static void json_dims(FILE *f, const Graph *g)
{
    fputs(",\n  \"dims\": [", f);
    for (int i = 0; i < g->nrtdims; i++) {
        const RtDim *r = &g->rtdims[i];
        fprintf(f, "%s{\"name\": ", i ? ", " : "");
        cli_json_string(f, r->name);
        fprintf(f, ", \"min\": %lld, \"max\": %lld, \"step\": %lld}", (long long)r->lo,
                (long long)r->hi, (long long)(r->step > 0 ? r->step : 1));
    }
    fputc(']', f);
}

static void json_ops(const Info *in, FILE *f)
{
    fputs(",\n  \"ops\": [", f);
    for (int i = 0; i < in->nops; i++) {
        const InfoOp *r = &in->ops[i];
        fprintf(f, "%s\n    {\"op\": ", i ? "," : "");
        cli_json_string(f, r->op);
        fprintf(f, ", \"nodes\": %d, \"flops\": ", r->nodes);
        if (in->have_flops)
            cli_json_number(f, r->flops);
        else
            fputs("null", f);
        fputc('}', f);
    }
    fputs(in->nops ? "\n  ]" : "]", f);
}

static void json_params(const Info *in, FILE *f)
{
    fprintf(f, ",\n  \"parameters\": {\"count\": %lld, \"bytes\": %lld, \"by_dtype\": [",
            (long long)in->param_count, (long long)in->param_bytes);
    for (int i = 0; i < in->nparams; i++)
        fprintf(f, "%s{\"dtype\": \"%s\", \"count\": %lld, \"bytes\": %lld}", i ? ", " : "",
                ir_dtype_name(in->params[i].dtype), (long long)in->params[i].count,
                (long long)in->params[i].bytes);
    fputs("]}", f);
}

static void json_costs(const Info *in, FILE *f)
{
    fputs(",\n  \"flops\": ", f);
    if (in->have_flops) {
        fputs("{\"total\": ", f);
        cli_json_number(f, in->flops);
        fputs(", \"compiled\": ", f);
        cli_json_number(f, in->flops_compiled);
        fputc('}', f);
    } else {
        fputs("null", f);
    }
    if (in->compiled)
        fprintf(f, ",\n  \"arena_bytes\": %lld, \"weights_bytes\": %lld",
                (long long)in->plan.arena_bytes, (long long)in->weights_bytes);
    else
        fputs(",\n  \"arena_bytes\": null, \"weights_bytes\": null", f);
}

static void json_opt_string(FILE *f, const char *key, const char *s)
{
    fprintf(f, ", \"%s\": ", key);
    if (s)
        cli_json_string(f, s);
    else
        fputs("null", f);
}

static void json_diags(const Info *in, FILE *f, bool errors)
{
    fprintf(f, ",\n  \"%s\": [", errors ? "errors" : "warnings");
    int k = 0;
    for (int i = 0; i < in->ndiags; i++) {
        const InfoDiag *e = &in->diags[i];
        if (e->error != errors)
            continue;
        fprintf(f, "%s\n    {\"node_index\": ", k++ ? "," : "");
        if (e->node_index >= 0)
            fprintf(f, "%d", e->node_index);
        else
            fputs("null", f);
        json_opt_string(f, "node", e->node);
        json_opt_string(f, "op", e->op);
        json_opt_string(f, "file", e->file);
        json_opt_string(f, "message", e->message);
        json_opt_string(f, "text", e->text);
        fputc('}', f);
    }
    fputs(k ? "\n  ]" : "]", f);
}

void cli_info_print_json(const Info *in, FILE *f)
{
    fputs("{\"model\": ", f);
    cli_json_string(f, in->model);
    fprintf(f, ", \"loaded\": %s, \"compiled\": %s", in->g ? "true" : "false",
            in->compiled ? "true" : "false");
    if (in->g) {
        fprintf(f, ",\n  \"opset\": %lld, \"producer\": ", (long long)in->opset);
        cli_json_string(f, in->producer);
        fprintf(f, ", \"nodes\": %d", in->nnodes);
        json_values(f, in->g, "inputs", in->g->inputs, in->g->ninputs);
        json_values(f, in->g, "frozen", in->g->frozen, in->g->nfrozen);
        json_values(f, in->g, "outputs", in->g->outputs, in->g->noutputs);
        json_dims(f, in->g);
        json_ops(in, f);
        json_params(in, f);
        json_costs(in, f);
    }
    json_diags(in, f, true);
    json_diags(in, f, false);
    fputs("\n}\n", f);
}
