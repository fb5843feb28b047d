/* dlc check MODEL DATASET...: compile, build a harness around the
 * generated code, feed input_N.pb, compare with output_N.pb. */
#include "cli.h"
#include "../frontend/frontend.h"
#include "../ir/dims.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    double atol, rtol;
    bool have_tol;
} Tolerance;

static void default_tolerance(DType dt, double *atol, double *rtol)
{
    switch (dt) {
    case DT_FLOAT: *atol = 1e-5, *rtol = 1e-4; break;
    case DT_FLOAT16: *atol = 1e-3, *rtol = 1e-3; break;
    case DT_BFLOAT16: *atol = 1e-2, *rtol = 1e-2; break;
    case DT_DOUBLE: *atol = 1e-9, *rtol = 1e-7; break;
    default: *atol = 0, *rtol = 0; break;
    }
}

/* Compares got (raw bytes of `exp`'s dtype) with exp; prints one line. */
static bool compare(const char *set, int k, const Value *exp, const Value *model_out,
                    const void *got_bytes, const Tolerance *t, Arena *a)
{
    double atol, rtol;
    default_tolerance(exp->dtype, &atol, &rtol);
    if (t->have_tol && ir_dtype_is_float(exp->dtype))
        atol = t->atol, rtol = t->rtol;
    const char *shape = ir_shape_str(a, &model_out->shape);
    printf("%s: output %d '%s' %s %s: ", set, k, model_out->name, ir_dtype_name(model_out->dtype),
           shape);
    if (exp->dtype != model_out->dtype || !ir_shape_equal(&exp->shape, &model_out->shape)) {
        printf("expected %s %s MISMATCH\n", ir_dtype_name(exp->dtype),
               ir_shape_str(a, &exp->shape));
        return false;
    }
    Value got = *model_out;
    got.data = (void *)got_bytes;
    int64_t n = ir_value_numel(exp), bad = 0;
    double max_abs = 0, max_rel = 0;
    for (int64_t i = 0; i < n; i++) {
        double e = ir_const_f(exp, i), g = ir_const_f(&got, i);
        if (!ir_dtype_is_float(exp->dtype)) {
            int64_t ei = ir_const_i(exp, i), gi = ir_const_i(&got, i);
            if (ei != gi) {
                bad++;
                double diff = fabs((double)ei - (double)gi);
                max_abs = fmax(max_abs, diff);
                max_rel = fmax(max_rel, diff / fmax(fabs((double)ei), 1e-300));
            }
            continue;
        }
        if (isnan(e) || isnan(g) || isinf(e) || isinf(g)) {
            bool same = (isnan(e) && isnan(g)) || e == g;
            bad += !same;
            continue;
        }
        double diff = fabs(g - e);
        max_abs = fmax(max_abs, diff);
        if (e != 0)
            max_rel = fmax(max_rel, diff / fabs(e));
        if (diff > atol + rtol * fabs(e))
            bad++;
    }
    printf("max_abs=%.3g max_rel=%.3g %s\n", max_abs, max_rel, bad ? "MISMATCH" : "ok");
    if (bad)
        printf("  %lld of %lld elements outside atol=%g rtol=%g\n", (long long)bad,
               (long long)n, atol, rtol);
    return bad == 0;
}

/* Runs harness argv (NULL-terminated) under DLC_CHECK_RUNNER when that is
 * set, a command prefix split at spaces (say "qemu-aarch64 -L
 * /usr/aarch64-linux-gnu" for a harness cross-compiled with CC). */
static int run_harness(char **argv)
{
    const char *runner = getenv("DLC_CHECK_RUNNER");
    if (!runner || !*runner)
        return cli_run_argv(argv, NULL, false);
    int n = 0, m = 0;
    while (argv[n])
        n++;
    char *copy = strdup(runner);
    char **full = calloc(strlen(runner) + (size_t)n + 1, sizeof *full);
    if (!copy || !full) {
        free(copy);
        free(full);
        return 1;
    }
    for (char *tok = strtok(copy, " "); tok; tok = strtok(NULL, " "))
        full[m++] = tok;
    for (int i = 0; i <= n; i++)
        full[m + i] = argv[i];
    int rc = cli_run_argv(full, NULL, false);
    free(full);
    free(copy);
    return rc;
}

/* One dataset; returns EXIT_OK, EXIT_MODEL (mismatch or bad data) or
 * EXIT_INTERNAL (harness failed). */
static int check_set(const char *set, const char tmp[CLI_DIR_MAX], Graph *model, const Tolerance *t)
{
    /* tmp is at most CLI_DIR_MAX long, so every path below fits. */
    Diag d;
    diag_init(&d, set);
    int nin = cli_count_files(set, "input"), nout = cli_count_files(set, "output");
    if (nin != model->ninputs + model->nfrozen || nout != model->noutputs) {
        diag_error(&d, NULL, "has %d inputs and %d outputs; the model has %d and %d", nin, nout,
                   model->ninputs + model->nfrozen, model->noutputs);
        return EXIT_MODEL;
    }
    if (!cli_frozen_matches(model, set, &d))
        return EXIT_MODEL;
    nin = model->ninputs;   /* the harness feeds the inputs left after --freeze */
    /* harness check IN... OUT... (cli/harness_src.c) */
    char **argv = calloc((size_t)(nin + nout + 3), sizeof *argv);
    char path[CLI_DIR_MAX + 4096];
    snprintf(path, sizeof path, "%s/harness", tmp);
    argv[0] = strdup(path);
    argv[1] = strdup("check");
    char **ins = argv + 2, **outs = argv + 2 + nin;
    int status = EXIT_OK;
    long long dims[PASS_MAX_BINDINGS * IR_MAX_RANK];
    for (int s = 0; s < model->nrtdims; s++)
        dims[s] = -1;
    for (int i = 0; i < nin && status == EXIT_OK; i++) {
        Value *v = cli_load_input(model, set, i, dims, &d);
        if (!v) {
            status = EXIT_MODEL;
        } else {
            snprintf(path, sizeof path, "%s/in%d.bin", tmp, i);
            if (!cli_write_bytes(path, v->data, ir_value_bytes(v)))
                status = EXIT_INTERNAL;
        }
        ins[i] = strdup(path);
    }
    for (int i = 0; i < nout; i++) {
        snprintf(path, sizeof path, "%s/out%d.bin", tmp, i);
        outs[i] = strdup(path);
    }
    if (status == EXIT_OK && model->nrtdims && !cli_set_harness_dims(model, dims)) {
        diag_error(&d, NULL, "the inputs do not give every run-time dim");
        status = EXIT_MODEL;
    }
    if (status == EXIT_OK) {
        int rc = run_harness(argv);
        if (rc != 0) {
            fprintf(stderr, "dlc: error: %s: the compiled model failed (%s %d)\n", set,
                    rc > 128 ? "signal" : "exit status", rc > 128 ? rc - 128 : rc);
            status = EXIT_INTERNAL;
        }
    }
    for (int i = 0; i < nout && status == EXIT_OK; i++) {
        snprintf(path, sizeof path, "%s/output_%d.pb", set, i);
        Value *exp = fe_load_tensor_file(model, path, &d);
        Value mo = cli_at_dims(model, model->outputs[i], dims);
        void *got = cli_read_bytes(outs[i], ir_value_bytes(&mo));
        if (!exp || !got) {
            status = EXIT_MODEL;
        } else if (!compare(set, i, exp, &mo, got, t, model->arena)) {
            status = EXIT_MODEL;
            for (int j = i + 1; j < nout; j++) {   /* still report the rest */
                snprintf(path, sizeof path, "%s/output_%d.pb", set, j);
                Value *e2 = fe_load_tensor_file(model, path, &d);
                Value m2 = cli_at_dims(model, model->outputs[j], dims);
                void *g2 = cli_read_bytes(outs[j], ir_value_bytes(&m2));
                if (e2 && g2)
                    compare(set, j, e2, &m2, g2, t, model->arena);
                free(g2);
            }
        }
        free(got);
    }
    for (int i = 0; i < nin + nout + 2; i++)
        free(argv[i]);
    free(argv);
    return status;
}

/* Builds harness from model.c in dir; false when the C compiler fails. */
static bool build_harness(const char dir[CLI_DIR_MAX], bool openblas)
{
    char hpath[CLI_DIR_MAX + 32], mpath[CLI_DIR_MAX + 32], opath[CLI_DIR_MAX + 32];
    snprintf(hpath, sizeof hpath, "%s/harness.c", dir);
    snprintf(mpath, sizeof mpath, "%s/model.c", dir);
    snprintf(opath, sizeof opath, "%s/harness", dir);
    if (!cli_write_bytes(hpath, cli_harness_source(), strlen(cli_harness_source())))
        return false;
    const char *cc = getenv("CC") && *getenv("CC") ? getenv("CC") : "cc";
    const char *extra = getenv("DLC_CHECK_CFLAGS");
    char *argv[64];
    int n = 0;
    argv[n++] = (char *)cc;
    argv[n++] = "-std=c99";
    argv[n++] = "-O2";
    argv[n++] = "-Wall";
    argv[n++] = "-Wextra";
    argv[n++] = "-Werror";
    char *extra_copy = extra ? strdup(extra) : NULL;
    for (char *tok = extra_copy ? strtok(extra_copy, " ") : NULL; tok && n < 50;
         tok = strtok(NULL, " "))
        argv[n++] = tok;
    argv[n++] = "-o";
    argv[n++] = opath;
    argv[n++] = hpath;
    argv[n++] = mpath;
    char *blas = openblas ? cli_openblas_flags(dir, argv, &n, 60) : NULL;
    argv[n++] = "-lm";
    argv[n] = NULL;
    int rc = cli_run_argv(argv, NULL, false);
    free(blas);
    free(extra_copy);
    return rc == 0;
}

int cli_check(int argc, char **argv)
{
    CompileRequest r;
    memset(&r, 0, sizeof r);
    Tolerance t = {0, 0, false};
    const char *keep = NULL;
    const char *sets[256];
    int nsets = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int k = cli_compile_option(&r, argc, argv, &i);
        if (k == 0)
            return EXIT_USAGE;
        if (k == 1)
            continue;
        if ((strcmp(a, "--atol") == 0 || strcmp(a, "--rtol") == 0 || strcmp(a, "--keep") == 0)) {
            if (i + 1 >= argc) {
                fprintf(stderr, "dlc: error: %s needs a value\n", a);
                return EXIT_USAGE;
            }
            const char *val = argv[++i];
            if (strcmp(a, "--keep") == 0) {
                keep = val;
                continue;
            }
            char *end;
            double x = strtod(val, &end);
            if (*end || x < 0) {
                fprintf(stderr, "dlc: error: bad %s '%s'\n", a, val);
                return EXIT_USAGE;
            }
            if (!t.have_tol)
                default_tolerance(DT_FLOAT, &t.atol, &t.rtol);
            t.have_tol = true;
            *(strcmp(a, "--atol") == 0 ? &t.atol : &t.rtol) = x;
            continue;
        }
        if (a[0] == '-') {
            fprintf(stderr, "dlc: error: unknown check option '%s'\n", a);
            return EXIT_USAGE;
        }
        if (!r.model)
            r.model = a;
        else if (nsets < 256)
            sets[nsets++] = a;
    }
    if (!r.model || nsets == 0) {
        fprintf(stderr, "usage: dlc check MODEL.onnx DATASET_DIR... [--atol X] [--rtol Y] "
                        "[--shape N=DxD] [--freeze N=FILE.pb] [--blas builtin|openblas] "
                        "[--keep DIR]\n");
        return EXIT_USAGE;
    }
    char dir[CLI_DIR_MAX];
    if (!cli_work_dir(keep, "check", dir))
        return keep ? EXIT_USAGE : EXIT_INTERNAL;
    char out_c[4200];
    snprintf(out_c, sizeof out_c, "%s/model.c", dir);
    r.out_c = out_c;
    r.name = "model";
    r.command_line = "check";
    Graph *g = NULL;    /* the compiled graph: input/output names and shapes */
    r.graph_out = &g;
    int status = cli_compile(&r);
    if (status == EXIT_OK && !build_harness(dir, r.passes.target.blas == TARGET_BLAS_OPENBLAS)) {
        fprintf(stderr, "dlc: error: %s: internal error: the generated code did not compile\n",
                r.model);
        status = EXIT_INTERNAL;
    }
    for (int s = 0; s < nsets && status != EXIT_INTERNAL && g; s++) {
        int st = check_set(sets[s], dir, g, &t);
        if (st > status)
            status = st;
    }
    ir_graph_free(g);
    if (!keep)
        cli_remove_tree(dir);
    if (status == EXIT_OK)
        printf("check: PASS\n");
    else if (status == EXIT_MODEL)
        printf("check: FAIL\n");
    return status;
}
