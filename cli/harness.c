/* What `dlc check` and `dlc bench` share: a scratch folder, files of raw
 * bytes, running the C compiler and the programs it builds, dataset
 * inputs. */
#include "cli.h"
#include "../frontend/frontend.h"
#include "../ir/dims.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int cli_run_argv(char *const argv[], const char *stdout_path, bool quiet)
{
    fflush(NULL);   /* the child must not repeat what we have buffered */
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        if (stdout_path && !freopen(stdout_path, "w", stdout))
            _exit(127);
        if (quiet && !freopen("/dev/null", "w", stderr))
            _exit(127);
        execvp(argv[0], argv);
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    if (WIFSIGNALED(st))
        return 128 + WTERMSIG(st);
    return WEXITSTATUS(st);
}

bool cli_write_bytes(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    bool ok = f && fwrite(p, 1, n, f) == n;
    if (f)
        ok = fclose(f) == 0 && ok;
    return ok;
}

void *cli_read_bytes(const char *path, size_t n)
{
    FILE *f = fopen(path, "rb");
    void *p = malloc(n ? n : 1);
    if (!f || !p || fread(p, 1, n, f) != n) {
        free(p);
        p = NULL;
    }
    if (f)
        fclose(f);
    return p;
}

bool cli_work_dir(const char *keep, const char *tag, char dir[CLI_DIR_MAX])
{
    if (keep) {
        if (strlen(keep) >= CLI_DIR_MAX - 32) {
            fprintf(stderr, "dlc: error: --keep path too long\n");
            return false;
        }
        mkdir(keep, 0777);
        snprintf(dir, CLI_DIR_MAX, "%s", keep);
        return true;
    }
    char tmpl[64];
    snprintf(tmpl, sizeof tmpl, "/tmp/dlc-%.16s-XXXXXX", tag);
    if (!mkdtemp(tmpl)) {
        fprintf(stderr, "dlc: error: cannot create a temporary folder\n");
        return false;
    }
    snprintf(dir, CLI_DIR_MAX, "%s", tmpl);
    return true;
}

void cli_remove_tree(const char *dir)
{
    DIR *dp = opendir(dir);
    if (!dp)
        return;
    struct dirent *de;
    char path[CLI_DIR_MAX + 512];
    while ((de = readdir(dp))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        unlink(path);
    }
    closedir(dp);
    rmdir(dir);
}

int cli_count_files(const char *dir, const char *prefix)
{
    int n = 0;
    char path[8192];
    for (;;) {
        snprintf(path, sizeof path, "%s/%s_%d.pb", dir, prefix, n);
        if (access(path, R_OK) != 0)
            return n;
        n++;
    }
}

/* Does got fit input `want`, binding its run-time dims into dims[]? */
static bool fits_input(const Graph *model, const Value *want, const Value *got, long long *dims)
{
    if (got->dtype != want->dtype || got->shape.rank != want->shape.rank)
        return false;
    for (int k = 0; k < want->shape.rank; k++) {
        const DimExpr *e = ir_dyn(want, k);
        int64_t n = got->shape.dim[k];
        if (!e || e->kind != DX_SYM || !dims) {
            if (n != want->shape.dim[k])
                return false;
            continue;
        }
        const RtDim *r = &model->rtdims[e->sym];
        if (n < r->lo || n > r->hi || (n - r->lo) % r->step != 0 ||
            (dims[e->sym] >= 0 && dims[e->sym] != n))
            return false;
        dims[e->sym] = n;
    }
    return true;
}

Value cli_at_dims(const Graph *model, const Value *v, const long long *dims)
{
    Value c = *v;
    for (int k = 0; k < v->shape.rank && dims; k++) {
        const DimExpr *e = ir_dyn(v, k);
        bool ok = true;
        if (e && e->sym >= 0 && e->sym < model->nrtdims)
            c.shape.dim[k] = dx_eval(e, dims[e->sym], &ok);
    }
    return c;
}

bool cli_set_harness_dims(const Graph *model, const long long *dims)
{
    char buf[IR_MAX_RANK * PASS_MAX_BINDINGS * 24] = "";
    size_t len = 0;
    for (int s = 0; s < model->nrtdims; s++) {
        if (dims[s] < 0)
            return false;
        len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%lld", s ? "," : "", dims[s]);
    }
    setenv("DLC_HARNESS_DIMS", buf, 1);
    return true;
}

Value *cli_load_input(Graph *model, const char *set, int i, long long *dims, Diag *d)
{
    const Value *want = model->inputs[i];
    int pos = want->input_index;    /* differs from i once --freeze removed inputs */
    char path[8192];
    snprintf(path, sizeof path, "%s/input_%d.pb", set, pos);
    Value *v = fe_load_tensor_file(model, path, d);
    if (v && !fits_input(model, want, v, dims)) {
        diag_error(d, NULL, "input_%d.pb is %s %s but input '%s' is %s %s", pos,
                   ir_dtype_name(v->dtype), ir_shape_str(model->arena, &v->shape), want->name,
                   ir_dtype_name(want->dtype), ir_shape_str(model->arena, &want->shape));
        return NULL;
    }
    return v;
}

char *cli_openblas_flags(const char *dir, char **argv, int *n, int max)
{
    char out[CLI_DIR_MAX + 32];
    snprintf(out, sizeof out, "%s/openblas-flags.txt", dir);
    char *pc[] = {"pkg-config", "--cflags", "--libs", "openblas", NULL};
    char *text = NULL;
    if (cli_run_argv(pc, out, true) == 0) {
        FILE *f = fopen(out, "r");
        if (f) {
            text = calloc(4096, 1);
            if (text && fread(text, 1, 4095, f) == 0) {
                free(text);
                text = NULL;
            }
            fclose(f);
        }
    }
    remove(out);
    if (!text || !strstr(text, "-l")) {
        free(text);
        text = strdup("-lopenblas");
    }
    for (char *tok = strtok(text, " \t\n"); tok && *n < max; tok = strtok(NULL, " \t\n"))
        argv[(*n)++] = tok;
    return text;
}

bool cli_frozen_matches(Graph *model, const char *set, Diag *d)
{
    bool ok = true;
    char path[8192];
    for (int j = 0; j < model->nfrozen; j++) {
        const Value *f = model->frozen[j];
        snprintf(path, sizeof path, "%s/input_%d.pb", set, f->input_index);
        Value *v = fe_load_tensor_file(model, path, d);
        if (!v) {
            ok = false;
        } else if (v->dtype != f->dtype || !ir_shape_equal(&v->shape, &f->shape) ||
                   memcmp(v->data, f->data, ir_value_bytes(f)) != 0) {
            diag_error(d, NULL, "input_%d.pb differs from the value --freeze gave input '%s' "
                                "(compile for it separately)", f->input_index, f->name);
            ok = false;
        }
    }
    return ok;
}
