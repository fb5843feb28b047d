/* dlc: command-line entry. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef DLC_VERSION
#define DLC_VERSION "0.1.0"
#endif

static void usage(FILE *f)
{
    fprintf(f,
            "usage: dlc MODEL.onnx -o OUT.c [options]     compile to OUT.c and OUT.h\n"
            "       dlc check MODEL.onnx DATASET_DIR...  compile, run, compare with expected outputs\n"
            "       dlc info MODEL.onnx [--json]         shapes, parameters, FLOPs, memory (--help there)\n"
            "       dlc bench MODEL.onnx [--profile]     latency of the compiled model (--help there)\n"
            "\n"
            "options:\n"
            "  -o OUT.c               output source (the header is OUT.h)\n"
            "  --name PREFIX          C identifier prefix (default: from OUT.c)\n"
            "  --shape NAME=DxDxD     bind an input's symbolic dims (repeatable); a dim\n"
            "                         LO..HI (or LO..HI/STEP: LO plus multiples of STEP) stays\n"
            "                         a run-time dim of the run function\n"
            "  --buckets N            compile a model with run-time dims for N maxima (the\n"
            "                         range's, half of it, a quarter ...); a call runs the\n"
            "                         smallest that fits (default 4; 1: the range only)\n"
            "  --freeze NAME=FILE.pb  bind an input's value (a TensorProto file): it becomes\n"
            "                         a constant and leaves the run function (repeatable)\n"
            "  --weights embed|file|incbin  weights inside OUT.c (default), in OUT.weights\n"
            "                         (passed to run), or in OUT.weights assembled into\n"
            "                         the object by .incbin (GNU toolchains, ELF)\n"
            "  --no-fuse              keep every elementwise op in its own loop\n"
            "  --loop-max N           a Loop whose trip count is a run-time value runs at most\n"
            "                         N iterations (it is unrolled N times, each guarded)\n"
            "  --no-winograd          direct 3x3 convolutions (no Winograd F(4x4,3x3))\n"
            "  --blas builtin|openblas  float MatMul/Gemm on the built-in GEMM (default) or\n"
            "                         OpenBLAS's cblas_sgemm (then link with -lopenblas)\n"
            "  --profile              time each kernel (tables in OUT.h; not reentrant)\n"
            "  -v                     report each pass, its time and the arena size\n"
            "  --help, --version\n"
            "\n"
            "exit status: 0 ok, 1 bad or unsupported model, 2 bad usage\n"
            "\npasses, in order (-v times each): ");
    pass_list(f);
    fprintf(f, "\n");
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* The options for the provenance comment: what changes the generated code,
 * without the model and output paths or -v, and a --freeze file by its
 * base name. Compiling the same model with the same options gives the same
 * bytes from any folder. Run after parsing succeeded. */
static char *options_text(int argc, char **argv)
{
    size_t n = 1;
    for (int i = 1; i < argc; i++)
        n += strlen(argv[i]) + 1;
    char *s = calloc(n, 1);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-o") == 0) {
            i++;
            continue;
        }
        if (a[0] != '-' || !a[1] || strcmp(a, "-v") == 0)
            continue;   /* the model (named in the comment already), -v */
        if (*s)
            strcat(s, " ");
        strcat(s, a);
        /* the options cli_compile_option() reads a value for */
        bool valued = strcmp(a, "--name") == 0 || strcmp(a, "--shape") == 0 ||
                      strcmp(a, "--weights") == 0 || strcmp(a, "--blas") == 0 ||
                      strcmp(a, "--loop-max") == 0 || strcmp(a, "--freeze") == 0 ||
                      strcmp(a, "--buckets") == 0;
        if (!valued || i + 1 >= argc)
            continue;
        const char *val = argv[++i];
        strcat(s, " ");
        if (strcmp(a, "--freeze") == 0) {
            const char *eq = strchr(val, '=');
            strncat(s, val, eq ? (size_t)(eq - val) + 1 : 0);
            strcat(s, base_name(eq ? eq + 1 : val));
        } else {
            strcat(s, val);
        }
    }
    return s;
}

int cli_compile_option(CompileRequest *r, int argc, char **argv, int *i)
{
    const char *a = argv[*i];
    const char *val = *i + 1 < argc ? argv[*i + 1] : NULL;
    if (strcmp(a, "-v") == 0) {
        r->passes.verbose = true;
        return 1;
    }
    if (strcmp(a, "--no-fuse") == 0) {
        r->passes.no_fuse = true;
        return 1;
    }
    if (strcmp(a, "--no-winograd") == 0) {
        r->passes.target.no_winograd = true;
        return 1;
    }
    if (strcmp(a, "--profile") == 0) {
        r->profile = true;
        return 1;
    }
    if (strcmp(a, "--name") == 0 || strcmp(a, "--shape") == 0 || strcmp(a, "--weights") == 0 ||
        strcmp(a, "--blas") == 0 || strcmp(a, "--loop-max") == 0 || strcmp(a, "--freeze") == 0 ||
        strcmp(a, "--buckets") == 0 || strcmp(a, "-o") == 0) {
        if (!val) {
            fprintf(stderr, "dlc: error: %s needs a value\n", a);
            return 0;
        }
        ++*i;
        if (strcmp(a, "-o") == 0) {
            r->out_c = val;
        } else if (strcmp(a, "--name") == 0) {
            r->name = val;
        } else if (strcmp(a, "--weights") == 0) {
            if (strcmp(val, "embed") && strcmp(val, "file") && strcmp(val, "incbin")) {
                fprintf(stderr, "dlc: error: --weights takes 'embed', 'file' or 'incbin'\n");
                return 0;
            }
            r->weights_incbin = strcmp(val, "incbin") == 0;
            r->weights_file = strcmp(val, "file") == 0 || r->weights_incbin;
        } else if (strcmp(a, "--buckets") == 0) {
            char *end;
            long n = strtol(val, &end, 10);
            if (*end || end == val || n < 1 || n > CLI_MAX_BUCKETS) {
                fprintf(stderr, "dlc: error: --buckets takes a count from 1 to %d, not '%s'\n",
                        CLI_MAX_BUCKETS, val);
                return 0;
            }
            r->buckets = (int)n;
        } else if (strcmp(a, "--loop-max") == 0) {
            char *end;
            long long n = strtoll(val, &end, 10);
            if (*end || end == val || n < 1 || n > 65536) {
                fprintf(stderr, "dlc: error: --loop-max takes a count from 1 to 65536, not '%s'\n",
                        val);
                return 0;
            }
            r->passes.loop_max = n;
        } else if (strcmp(a, "--blas") == 0) {
            if (strcmp(val, "builtin") && strcmp(val, "openblas")) {
                fprintf(stderr, "dlc: error: --blas takes 'builtin' or 'openblas', not '%s'\n",
                        val);
                return 0;
            }
            r->passes.target.blas = strcmp(val, "openblas") == 0 ? TARGET_BLAS_OPENBLAS : TARGET_BLAS_BUILTIN;
        } else if (strcmp(a, "--freeze") == 0) {
            static char names[PASS_MAX_BINDINGS][256];
            PassOptions *o = &r->passes;
            const char *eq = strchr(val, '=');     /* names rarely hold '=', paths may */
            size_t n = eq ? (size_t)(eq - val) : 0;
            if (o->nfreezes == PASS_MAX_BINDINGS || n == 0 || n >= sizeof names[0] || !eq[1]) {
                fprintf(stderr, "dlc: error: bad --freeze '%s' (expected NAME=FILE.pb)\n", val);
                return 0;
            }
            memcpy(names[o->nfreezes], val, n);
            names[o->nfreezes][n] = 0;
            InputFreeze *f = &o->freezes[o->nfreezes++];
            f->name = names[o->nfreezes - 1];
            f->file = eq + 1;   /* argv outlives the request */
        } else {
            PassOptions *o = &r->passes;
            if (o->nbindings == PASS_MAX_BINDINGS ||
                !cli_parse_shape(val, &o->bindings[o->nbindings])) {
                fprintf(stderr, "dlc: error: bad --shape '%s' (expected NAME=1x3x224x224)\n", val);
                return 0;
            }
            o->nbindings++;
        }
        return 1;
    }
    return -1;
}

bool cli_model_argument(CompileRequest *r, const char *a, const char *kind)
{
    if (a[0] == '-' && a[1]) {
        fprintf(stderr, "dlc: error: unknown %soption '%s'\n", kind, a);
        return false;
    }
    if (r->model) {
        fprintf(stderr, "dlc: error: more than one model given ('%s', '%s')\n", r->model, a);
        return false;
    }
    r->model = a;
    return true;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "check") == 0)
        return cli_check(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "info") == 0)
        return cli_info(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "bench") == 0)
        return cli_bench(argc - 1, argv + 1);
    CompileRequest r;
    memset(&r, 0, sizeof r);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return EXIT_OK;
        }
        if (strcmp(a, "--version") == 0) {
            printf("dlc %s\n", DLC_VERSION);
            return EXIT_OK;
        }
        int k = cli_compile_option(&r, argc, argv, &i);
        if (k == 0)
            return EXIT_USAGE;
        if (k == 1)
            continue;
        if (!cli_model_argument(&r, a, "")) {
            if (a[0] == '-')
                usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (!r.model || !r.out_c) {
        usage(stderr);
        return EXIT_USAGE;
    }
    char *cmd = options_text(argc, argv);
    r.command_line = cmd;
    int status = cli_compile(&r);
    free(cmd);
    return status;
}
