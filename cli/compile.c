/* dlc MODEL.onnx -o OUT.c: frontend -> passes -> codegen. */
#include "cli.h"
#include "../codegen/codegen.h"
#include "../frontend/frontend.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

bool cli_parse_shape(const char *arg, ShapeBinding *b)
{
    const char *eq = strrchr(arg, '=');
    if (!eq || eq == arg)
        return false;
    static char names[PASS_MAX_BINDINGS][256];
    static int used;
    size_t n = (size_t)(eq - arg);
    if (n >= sizeof names[0] || used >= PASS_MAX_BINDINGS)
        return false;
    memcpy(names[used], arg, n);
    names[used][n] = 0;
    b->name = names[used++];
    memset(&b->shape, 0, sizeof b->shape);
    memset(b->lo, 0, sizeof b->lo);
    memset(b->step, 0, sizeof b->step);
    const char *p = eq + 1;
    while (*p) {
        if (b->shape.rank == IR_MAX_RANK || !isdigit((unsigned char)*p))
            return false;
        char *end;
        long long v = strtoll(p, &end, 10), lo = 0;
        if (end[0] == '.' && end[1] == '.') {     /* LO..HI: a run-time dim */
            lo = v;
            p = end + 2;
            if (!isdigit((unsigned char)*p))
                return false;
            v = strtoll(p, &end, 10);
            if (lo < 1 || lo > v)
                return false;
            if (*end == '/') {      /* LO..HI/STEP */
                p = end + 1;
                if (!isdigit((unsigned char)*p))
                    return false;
                long long st = strtoll(p, &end, 10);
                if (st < 1 || (v - lo) % st != 0)
                    return false;
                b->step[b->shape.rank] = st;
            }
        }
        if (v < 0 || v > ((long long)1 << 40))
            return false;
        b->lo[b->shape.rank] = lo == v ? 0 : lo;
        b->shape.dim[b->shape.rank++] = v;
        p = end;
        if (*p == 'x' || *p == ',')
            p++;
        else if (*p)
            return false;
    }
    return true;
}

/* "build/My-Net.c" -> "my_net" */
static char *default_prefix(const char *out_c)
{
    const char *base = strrchr(out_c, '/');
    base = base ? base + 1 : out_c;
    size_t n = strcspn(base, ".");
    char *s = malloc(n + 3);
    size_t k = 0;
    if (n == 0 || isdigit((unsigned char)base[0]))
        s[k++] = 'm';
    for (size_t i = 0; i < n; i++)
        s[k++] = isalnum((unsigned char)base[i]) ? (char)tolower((unsigned char)base[i]) : '_';
    s[k] = 0;
    return s;
}

static char *replace_ext(const char *path, const char *ext)
{
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(path, '.');
    size_t n = dot && (!slash || dot > slash) ? (size_t)(dot - path) : strlen(path);
    char *s = malloc(n + strlen(ext) + 1);
    memcpy(s, path, n);
    strcpy(s + n, ext);
    return s;
}

static bool valid_identifier(const char *s)
{
    if (!*s || isdigit((unsigned char)*s))
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_')
            return false;
    return true;
}

bool cli_load_freezes(Graph *g, PassOptions *po, FILE *out)
{
    bool ok = true;
    for (int i = 0; i < po->nfreezes; i++) {
        InputFreeze *f = &po->freezes[i];
        Diag fd;
        diag_init(&fd, f->file);
        if (out)
            fd.out = out;
        f->value = fe_load_tensor_file(g, f->file, &fd);
        ok = f->value && ok;
    }
    return ok;
}

/* The maximum of run-time dim lo..hi/step in bucket k: about hi / 2^k,
 * on the range's grid, never below lo. */
static int64_t bucket_max(int64_t lo, int64_t hi, int64_t step, int k)
{
    int64_t m = hi >> k;
    return m <= lo ? lo : lo + (m - lo) / step * step;
}

/* The model again for smaller maxima of its run-time dims, into gs[1..]
 * and st[1..]; returns how many graphs gs holds. A bucket that does not
 * compile is left out (the whole range's graph serves its sizes). */
static int compile_buckets(const CompileRequest *r, Graph **gs, PlanStats *st)
{
    int want = r->buckets > 0 ? r->buckets : CLI_DEFAULT_BUCKETS, ng = 1;
    FILE *devnull = fopen("/dev/null", "w");
    for (int k = 1; k < want && devnull; k++) {
        PassOptions po = r->passes;
        bool smaller = false;
        for (int b = 0; b < po.nbindings; b++)
            for (int d = 0; d < po.bindings[b].shape.rank; d++) {
                ShapeBinding *sb = &po.bindings[b];
                if (sb->lo[d] <= 0)
                    continue;
                int64_t step = sb->step[d] > 0 ? sb->step[d] : 1;
                int64_t hi = bucket_max(sb->lo[d], sb->shape.dim[d], step, k);
                smaller |= hi < bucket_max(sb->lo[d], sb->shape.dim[d], step, k - 1);
                sb->shape.dim[d] = hi;     /* hi == lo: a range of one value, still run-time */
            }
        if (!smaller)
            break;
        Diag quiet;
        diag_init(&quiet, r->model);
        quiet.out = devnull;
        Graph *g = fe_load_model(r->model, &quiet);
        memset(&st[ng], 0, sizeof st[ng]);
        po.verbose = false;
        if (g && cli_load_freezes(g, &po, NULL) && pass_pipeline(g, &po, &st[ng], &quiet) && g->nrtdims == gs[0]->nrtdims)
            gs[ng++] = g;
        else
            ir_graph_free(g);
    }
    if (devnull)
        fclose(devnull);
    return ng;
}

int cli_compile(const CompileRequest *r)
{
    Diag d;
    diag_init(&d, r->model);
    char *prefix = r->name ? strdup(r->name) : default_prefix(r->out_c);
    if (!valid_identifier(prefix)) {
        fprintf(stderr, "dlc: error: --name '%s' is not a C identifier\n", prefix);
        free(prefix);
        return EXIT_USAGE;
    }
    Graph *g = fe_load_model(r->model, &d);
    PlanStats stats = {0};
    int status = EXIT_MODEL;
    PassOptions po = r->passes;
    if (g && !cli_load_freezes(g, &po, NULL)) {
        ir_graph_free(g);
        g = NULL;
    }
    if (g && pass_pipeline(g, &po, &stats, &d)) {
        char *out_h = replace_ext(r->out_c, ".h");
        char *out_w = r->weights_file ? replace_ext(r->out_c, ".weights") : NULL;
        CgOptions o = {.prefix = prefix, .model_path = r->model, .out_c = r->out_c,
                       .out_h = out_h, .out_weights = out_w, .incbin_weights = r->weights_incbin,
                       .command_line = r->command_line,
                       .profile = r->profile};
        Graph *gs[CLI_MAX_BUCKETS] = {g};
        PlanStats st[CLI_MAX_BUCKETS] = {stats};
        int ng = 1;
        if (g->nrtdims && !r->profile)
            ng = compile_buckets(r, gs, st);
        clock_t t0 = clock();
        if (cg_emit(gs, ng, st, &o, &d))
            status = EXIT_OK;
        for (int k = 1; k < ng; k++)
            ir_graph_free(gs[k]);
        if (r->passes.verbose)
            fprintf(stderr, "dlc: codegen %8.2f ms\n", (double)(clock() - t0) * 1e3 / CLOCKS_PER_SEC);
        free(out_h);
        free(out_w);
    }
    if (r->graph_out && status == EXIT_OK)
        *r->graph_out = g;
    else
        ir_graph_free(g);
    free(prefix);
    return status;
}
