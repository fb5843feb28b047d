/* dlc info MODEL: what the model takes, gives, holds and costs.
 *
 * The model goes through the frontend and the whole compile pipeline (the
 * compile command's options bind its inputs), and codegen runs in memory
 * for the weights blob's size; nothing is written. The op histogram and
 * the parameters are taken from the graph as loaded, before any pass.
 *
 * FLOPs are the profiler's count (codegen/profile.c, cg_kernel_flops) of
 * each kernel per run. Fusion merges nodes of different op types into one
 * kernel, so the count per op type comes from a second compile with fusion
 * off (--no-fuse), where every node is its own kernel: a node's FLOPs go
 * to its op type (a BatchNormalization folded into a Conv costs nothing; a
 * node folded at compile time costs nothing). The compiled total, fused,
 * is reported beside it: it is lower where fusion rewrote a formula. The
 * unfused compile runs first and is freed before the model is loaded
 * again, so memory peaks as the compile command's does (BERT-base: 1.3 GB,
 * twice that with both graphs held). */
#include "info.h"
#include "../codegen/codegen.h"
#include "../codegen/profile.h"
#include "../frontend/frontend.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    CompileRequest r;
    bool json;
} InfoOptions;

/* The model's nodes by index, as loaded: for reading node names back out
 * of the compiler's messages. */
typedef struct {
    const char **name, **op;
    int n;
} NodeTable;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: dlc info MODEL.onnx [--shape NAME=DxD ...] [--freeze NAME=FILE.pb ...] [--json]\n"
            "\n"
            "Inputs and outputs with their shapes after binding, the op histogram,\n"
            "parameters, FLOPs per op type, the arena (workspace) and weights sizes,\n"
            "and every error that keeps the model from compiling. Takes the compile\n"
            "command's options (dlc --help); it writes no files.\n"
            "  --json                 one JSON object on stdout (keys: docs/cli.md)\n"
            "\n"
            "exit status: 0 the model compiles, 1 it does not (what is known is\n"
            "still printed), 2 bad usage\n");
}

/* EXIT_OK, or EXIT_USAGE after a message; -1 for --help. */
static int parse_options(int argc, char **argv, InfoOptions *o)
{
    memset(o, 0, sizeof *o);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
            return -1;
        if (strcmp(a, "--json") == 0) {
            o->json = true;
            continue;
        }
        int k = cli_compile_option(&o->r, argc, argv, &i);
        if (k == 0)
            return EXIT_USAGE;
        if (k == 1)
            continue;
        if (!cli_model_argument(&o->r, a, ""))
            return EXIT_USAGE;
    }
    if (!o->r.model) {
        usage(stderr);
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

/* ---- the graph as loaded ---- */

/* The row of op type `op`, added with no nodes when missing. */
static InfoOp *op_row(Info *in, const char *op)
{
    for (int i = 0; i < in->nops; i++)
        if (strcmp(in->ops[i].op, op) == 0)
            return &in->ops[i];
    if (in->nops == in->capops) {
        int cap = in->capops ? 2 * in->capops : 32;
        InfoOp *a = ir_alloc_array(in->arena, (size_t)cap, sizeof *a);
        if (in->nops)
            memcpy(a, in->ops, (size_t)in->nops * sizeof *a);
        in->ops = a;
        in->capops = cap;
    }
    InfoOp *r = &in->ops[in->nops++];
    r->op = ir_strdup(in->arena, op);
    return r;
}

static void count_ops(Info *in, const Graph *g)
{
    for (int i = 0; i < g->nnodes; i++)
        op_row(in, g->nodes[i]->op_type)->nodes++;
}

/* Initializers: the constants the model holds before any pass runs (an
 * initializer listed as an input too is one of them). */
static void count_params(Info *in, const Graph *g)
{
    for (int i = 0; i < g->nvalues; i++) {
        const Value *v = g->values[i];
        if (!v->data || v->is_input || v->producer)
            continue;
        int64_t n = ir_value_numel(v);
        int64_t bytes = (int64_t)ir_value_bytes(v);
        int k = 0;
        while (k < in->nparams && in->params[k].dtype != v->dtype)
            k++;
        if (k == in->nparams && in->nparams < INFO_MAX_DTYPES)
            in->params[in->nparams++] = (InfoParams){v->dtype, 0, 0};
        if (k < in->nparams && n >= 0) {
            in->params[k].count += n;
            in->params[k].bytes += bytes;
            in->param_count += n;
            in->param_bytes += bytes;
        }
    }
}

static NodeTable node_table(Arena *a, const Graph *g)
{
    NodeTable t = {ir_alloc_array(a, (size_t)g->nnodes + 1, sizeof(char *)),
                   ir_alloc_array(a, (size_t)g->nnodes + 1, sizeof(char *)), g->nnodes};
    for (int i = 0; i < g->nnodes; i++) {
        const Node *n = g->nodes[i];
        if (n->index >= 0 && n->index < t.n) {
            t.name[n->index] = n->name ? n->name : "";
            t.op[n->index] = n->op_type ? n->op_type : "";
        }
    }
    return t;
}

/* ---- compiling ---- */

/* The FLOPs of every kernel of the compiled graph, per run. */
static double graph_flops(const Graph *g)
{
    double sum = 0;
    for (int i = 0; i < g->nnodes; i++)
        if (!g->nodes[i]->dead && g->nodes[i]->kernel)
            sum += cg_kernel_flops(g->nodes[i]->kernel);
    return sum;
}

/* The weights blob's bytes: codegen in memory, weights left out of the
 * source (as --weights file does), files never written. */
static bool weights_size(Graph *g, const PlanStats *plan, int64_t *bytes, Diag *d)
{
    Printer out[2];
    CgOptions o = {.prefix = "info", .model_path = "", .out_c = "info.c", .out_h = "info.h",
                   .out_weights = "info.weights", .command_line = "", .in_memory = out,
                   .weights_size = bytes};
    if (!cg_emit(&g, 1, plan, &o, d))
        return false;
    pr_free(&out[0]);
    pr_free(&out[1]);
    return true;
}

/* Each kernel's FLOPs to its node's op type ("Conv+BatchNormalization": a
 * folded node runs as the first). */
static void attribute_flops(Info *in, const Graph *g)
{
    for (int i = 0; i < g->nnodes; i++) {
        const Node *n = g->nodes[i];
        if (n->dead || !n->kernel)
            continue;
        const char *ops = n->fused_ops ? n->fused_ops : n->op_type;
        double f = cg_kernel_flops(n->kernel);
        op_row(in, ir_strndup(in->arena, ops, strcspn(ops, "+")))->flops += f;
        in->flops += f;
    }
}

/* The same from a compile with fusion off (see the top of the file);
 * false when that compile fails. */
static bool attribute_unfused_flops(Info *in, const InfoOptions *o)
{
    FILE *devnull = fopen("/dev/null", "w");
    if (!devnull)
        return false;
    Diag quiet;
    diag_init(&quiet, o->r.model);
    quiet.out = devnull;
    PassOptions po = o->r.passes;
    po.no_fuse = true;
    po.verbose = false;
    PlanStats plan = {0};
    Graph *g = fe_load_model(o->r.model, &quiet);
    bool ok = g && cli_load_freezes(g, &po, devnull) && pass_pipeline(g, &po, &plan, &quiet);
    if (ok)
        attribute_flops(in, g);
    ir_graph_free(g);
    fclose(devnull);
    return ok;
}

/* Binds, compiles and plans in->g; diagnostics to d. `unfused` holds the
 * FLOPs per op type of the compile with fusion off, or is NULL. */
static void compile(Info *in, const InfoOptions *o, const Info *unfused, Diag *d)
{
    PassOptions po = o->r.passes;
    if (!cli_load_freezes(in->g, &po, d->out) || !pass_pipeline(in->g, &po, &in->plan, d))
        return;
    if (!weights_size(in->g, &in->plan, &in->weights_bytes, d))
        return;
    in->compiled = true;
    in->flops_compiled = graph_flops(in->g);
    if (o->r.passes.no_fuse) {      /* this compile is the unfused one */
        attribute_flops(in, in->g);
        in->have_flops = true;
    } else if (unfused) {
        for (int i = 0; i < unfused->nops; i++)
            op_row(in, unfused->ops[i].op)->flops += unfused->ops[i].flops;
        in->flops = unfused->flops;
        in->have_flops = true;
    }
}

/* ---- the compiler's messages ---- */

static const char *after(const char *s, const char *prefix)
{
    size_t n = strlen(prefix);
    return strncmp(s, prefix, n) == 0 ? s + n : NULL;
}

/* "node 17 'conv1' (Conv): MSG" into e; false when s is not about a node. */
static bool parse_node(Info *in, const NodeTable *t, const char *s, InfoDiag *e)
{
    const char *p = after(s, "node ");
    if (!p || *p < '0' || *p > '9')
        return false;
    char *end;
    long idx = strtol(p, &end, 10);
    p = after(end, " '");
    if (!p)
        return false;
    /* The loaded graph's own node when its name and op follow; else (a
     * subgraph's node) the first "' (" and the "): " after it. */
    const char *name_end = NULL, *op = NULL, *op_end = NULL;
    if (idx >= 0 && idx < t->n && t->name[idx] && strncmp(p, t->name[idx], strlen(t->name[idx])) == 0) {
        const char *q = after(p + strlen(t->name[idx]), "' (");
        if (q && strncmp(q, t->op[idx], strlen(t->op[idx])) == 0 && after(q + strlen(t->op[idx]), "): ")) {
            name_end = p + strlen(t->name[idx]);
            op = q;
            op_end = q + strlen(t->op[idx]);
        }
    }
    if (!name_end) {
        name_end = strstr(p, "' (");
        op = name_end ? name_end + 3 : NULL;
        op_end = op ? strstr(op, "): ") : NULL;
        if (!op_end)
            return false;
    }
    e->node_index = (int)idx;
    e->node = ir_strndup(in->arena, p, (size_t)(name_end - p));
    e->op = ir_strndup(in->arena, op, (size_t)(op_end - op));
    e->message = ir_strdup(in->arena, op_end + 3);
    return true;
}

/* One message "dlc: KIND: FILE: [node ...: ]MSG" (lines after its first
 * included) into e. */
static void parse_diag(Info *in, const NodeTable *t, const char *const *files, int nfiles,
                       const char *text, InfoDiag *e)
{
    memset(e, 0, sizeof *e);
    e->node_index = -1;
    e->text = ir_strdup(in->arena, text);
    e->message = e->text;
    const char *p = after(text, "dlc: error: ");
    e->error = p != NULL;
    if (!p)
        p = after(text, "dlc: warning: ");
    if (!p) {
        e->error = true;
        return;
    }
    for (int i = 0; i < nfiles; i++) {
        const char *q = files[i] ? after(p, files[i]) : NULL;
        if (q && after(q, ": ")) {
            e->file = files[i];
            p = q + 2;
            break;
        }
    }
    if (!parse_node(in, t, p, e))
        e->message = ir_strdup(in->arena, p);
}

/* The messages in text (what the diagnostics printed), each starting a
 * line with "dlc: ", into in->diags. */
static void collect_diags(Info *in, const NodeTable *t, const InfoOptions *o, const char *text)
{
    const char *files[PASS_MAX_BINDINGS + 1] = {o->r.model};
    for (int i = 0; i < o->r.passes.nfreezes; i++)
        files[i + 1] = o->r.passes.freezes[i].file;
    int n = 0;
    for (const char *p = text; *p; p++)
        n += (p == text || p[-1] == '\n') && after(p, "dlc: ");
    in->diags = ir_alloc_array(in->arena, (size_t)n + 1, sizeof *in->diags);
    const char *s = text;
    while (*s) {
        const char *end = s;    /* through the lines up to the next message */
        do {
            end = strchr(end, '\n');
            end = end ? end + 1 : s + strlen(s);
        } while (*end && !after(end, "dlc: "));
        size_t len = (size_t)(end - s);
        while (len > 0 && s[len - 1] == '\n')
            len--;
        char *one = ir_strndup(in->arena, s, len);
        if (in->ndiags <= n)
            parse_diag(in, t, files, o->r.passes.nfreezes + 1, one, &in->diags[in->ndiags++]);
        s = end;
    }
}

/* ---- the command ---- */

/* Loads, counts and compiles what it can; the diagnostics' text into
 * *text (malloc'd). */
static void gather(Info *in, const InfoOptions *o, char **text)
{
    size_t len = 0;
    FILE *ms = open_memstream(text, &len);
    Diag d;
    diag_init(&d, o->r.model);
    if (ms)
        d.out = ms;
    /* The unfused compile first: the two graphs are never held at once. */
    Info unfused = {.arena = in->arena};
    bool have_unfused = !o->r.passes.no_fuse && attribute_unfused_flops(&unfused, o);
    in->g = fe_load_model(o->r.model, &d);
    NodeTable t = {0};
    if (in->g) {
        in->opset = in->g->opset;
        in->producer = ir_strdup(in->arena, in->g->producer_name ? in->g->producer_name : "");
        in->nnodes = in->g->nnodes;
        t = node_table(in->arena, in->g);
        count_ops(in, in->g);
        count_params(in, in->g);
        compile(in, o, have_unfused ? &unfused : NULL, &d);
    }
    if (ms) {
        fclose(ms);
        collect_diags(in, &t, o, *text ? *text : "");
    }
}

int cli_info(int argc, char **argv)
{
    InfoOptions o;
    int status = parse_options(argc, argv, &o);
    if (status < 0) {
        usage(stdout);
        return EXIT_OK;
    }
    if (status != EXIT_OK)
        return status;
    Info in = {.model = o.r.model, .arena = ir_arena_new(), .weights_bytes = -1};
    char *text = NULL;
    gather(&in, &o, &text);
    if (text)
        fputs(text, stderr);    /* the compiler's own messages */
    if (o.json)
        cli_info_print_json(&in, stdout);
    else
        cli_info_print_text(&in, stdout);
    free(text);
    ir_graph_free(in.g);
    ir_arena_free(in.arena);
    return in.compiled ? EXIT_OK : EXIT_MODEL;
}
