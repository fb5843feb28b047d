/* dlc bench MODEL: compile the model, build it with the host's best flags
 * into a timing harness, run it on seeded random (or given) inputs and
 * report latency; with --profile, where the time goes, kernel by kernel,
 * against the machine's measured floating-point peak. */
#include "cli.h"
#include "../ir/dims.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    CompileRequest r;
    int threads, runs, warmup, top;
    bool json;
    double peak;                /* GFLOP/s per core; 0: measure it */
    const char *inputs, *keep;
    const char *dims[PASS_MAX_BINDINGS];   /* --dim NAME=VALUE, as given */
    int ndims;
} BenchOptions;

typedef struct {
    char *names, *ops;
    double ns;                  /* summed over the timed runs */
    double flops;               /* per run */
    double bytes;               /* tensor bytes read and written per run */
} KernelTime;

typedef struct {
    double *ms;                 /* per timed run */
    int nruns;
    KernelTime *k;
    int nk;
} Results;

/* The FMA throughput of one core: twelve independent chains of fused
 * multiply-adds on the widest vectors the flags allow, enough in flight to
 * cover the FMA latency of current cores. Prints GFLOP/s, the best of
 * seven trials. */
static const char peak_src[] =
    "#if !defined(_POSIX_C_SOURCE) && !defined(_XOPEN_SOURCE) && !defined(_GNU_SOURCE)\n"
    "#define _POSIX_C_SOURCE 199309L\n"
    "#endif\n"
    "#include <stdio.h>\n"
    "#include <time.h>\n"
    "#if defined(__AVX512F__) || (defined(__AVX2__) && defined(__FMA__))\n"
    "#include <immintrin.h>\n"
    "#endif\n"
    "static double now_s(void)\n"
    "{\n"
    "    struct timespec ts;\n"
    "    clock_gettime(CLOCK_MONOTONIC, &ts);\n"
    "    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;\n"
    "}\n"
    "#if defined(__AVX512F__)\n"
    "#define LANES 16\n"
    "typedef __m512 vec;\n"
    "#define SET1(x) _mm512_set1_ps(x)\n"
    "#define FMA(a, b, c) _mm512_fmadd_ps(a, b, c)\n"
    "#define ADD(a, b) _mm512_add_ps(a, b)\n"
    "#define FIRST(v) _mm512_cvtss_f32(v)\n"
    "#elif defined(__AVX2__) && defined(__FMA__)\n"
    "#define LANES 8\n"
    "typedef __m256 vec;\n"
    "#define SET1(x) _mm256_set1_ps(x)\n"
    "#define FMA(a, b, c) _mm256_fmadd_ps(a, b, c)\n"
    "#define ADD(a, b) _mm256_add_ps(a, b)\n"
    "#define FIRST(v) _mm256_cvtss_f32(v)\n"
    "#else\n"
    "#define LANES 1\n"
    "typedef float vec;\n"
    "#define SET1(x) (x)\n"
    "#define FMA(a, b, c) ((a) * (b) + (c))\n"
    "#define ADD(a, b) ((a) + (b))\n"
    "#define FIRST(v) (v)\n"
    "#endif\n"
    "#define CHAINS 12\n"
    "static float chains(long iters, float mul, float add)\n"
    "{\n"
    "    vec m = SET1(mul), a = SET1(add);\n"
    "    vec x0 = SET1(0.0f), x1 = SET1(0.1f), x2 = SET1(0.2f), x3 = SET1(0.3f);\n"
    "    vec x4 = SET1(0.4f), x5 = SET1(0.5f), x6 = SET1(0.6f), x7 = SET1(0.7f);\n"
    "    vec x8 = SET1(0.8f), x9 = SET1(0.9f), x10 = SET1(1.0f), x11 = SET1(1.1f);\n"
    "    long i;\n"
    "    for (i = 0; i < iters; i++) {\n"
    "        x0 = FMA(x0, m, a);\n"
    "        x1 = FMA(x1, m, a);\n"
    "        x2 = FMA(x2, m, a);\n"
    "        x3 = FMA(x3, m, a);\n"
    "        x4 = FMA(x4, m, a);\n"
    "        x5 = FMA(x5, m, a);\n"
    "        x6 = FMA(x6, m, a);\n"
    "        x7 = FMA(x7, m, a);\n"
    "        x8 = FMA(x8, m, a);\n"
    "        x9 = FMA(x9, m, a);\n"
    "        x10 = FMA(x10, m, a);\n"
    "        x11 = FMA(x11, m, a);\n"
    "    }\n"
    "    x0 = ADD(ADD(ADD(x0, x1), ADD(x2, x3)), ADD(ADD(x4, x5), ADD(x6, x7)));\n"
    "    return FIRST(ADD(x0, ADD(ADD(x8, x9), ADD(x10, x11))));\n"
    "}\n"
    "int main(void)\n"
    "{\n"
    "    volatile float mul = 0.9999f, add = 1e-6f;   /* opaque to the optimiser */\n"
    "    long iters = LANES > 1 ? 1000000L : 125000L;\n"
    "    double best = 0, sink = 0;\n"
    "    int trial;\n"
    "    for (trial = 0; trial < 8; trial++) {\n"
    "        double t0 = now_s(), dt, g;\n"
    "        sink += chains(iters, mul, add);\n"
    "        dt = now_s() - t0;\n"
    "        g = 2.0 * CHAINS * LANES * (double)iters / dt * 1e-9;\n"
    "        if (trial > 0 && g > best)   /* trial 0 warms the core up */\n"
    "            best = g;\n"
    "    }\n"
    "    printf(\"%.3f %d %g\\n\", best, LANES, sink);\n"
    "    return 0;\n"
    "}\n";

/* ---- options ---- */

static void bench_usage(FILE *f)
{
    fprintf(f,
            "usage: dlc bench MODEL.onnx [options]\n"
            "\n"
            "Compiles MODEL with the host's best flags (cc -O3 -march=native, -fopenmp for\n"
            "--threads > 1), runs it on seeded random inputs and prints min, median and p90\n"
            "latency and throughput.\n"
            "\n"
            "options:\n"
            "  --runs N               timed runs (default 50)\n"
            "  --warmup N             untimed runs first (default 5)\n"
            "  --threads N            OMP_NUM_THREADS for the run (default 1)\n"
            "  --inputs DIR           read DIR/input_N.pb instead of random inputs\n"
            "  --dim NAME=N           a run-time dim's value for the run (repeatable; a\n"
            "                         dim bound with --shape LO..HI; default HI)\n"
            "  --profile              time each kernel; print the slowest with GFLOP/s\n"
            "  --top N                kernels to print with --profile (default 15, 0: all)\n"
            "  --peak-gflops X        the per-core peak to compare with (default: measured)\n"
            "  --json                 one JSON object on stdout\n"
            "  --shape NAME=DxDxD     bind an input's symbolic dims (repeatable)\n"
            "  --freeze NAME=FILE.pb  bind an input's value at compile time (repeatable)\n"
            "  --no-fuse              keep every elementwise op in its own loop\n"
            "  --no-winograd          direct 3x3 convolutions (no Winograd F(4x4,3x3))\n"
            "  --blas builtin|openblas  float MatMul/Gemm on the built-in GEMM (default) or\n"
            "                         OpenBLAS (linked through pkg-config openblas;\n"
            "                         OPENBLAS_NUM_THREADS = --threads unless set)\n"
            "  --keep DIR             keep the generated files and the harness in DIR\n"
            "\n"
            "CC picks the C compiler; DLC_BENCH_CFLAGS adds flags.\n"
            "exit status: 0 ok, 1 bad or unsupported model, 2 bad usage, 3 the harness\n"
            "failed to build or run\n");
}

/* A whole number in [lo, hi]; false after a message. */
static bool parse_int(const char *opt, const char *val, long lo, long hi, int *out)
{
    char *end;
    long v = strtol(val, &end, 10);
    if (!*val || *end || v < lo || v > hi) {
        fprintf(stderr, "dlc: error: bad %s '%s' (expected a whole number from %ld to %ld)\n",
                opt, val, lo, hi);
        return false;
    }
    *out = (int)v;
    return true;
}

/* EXIT_OK, or EXIT_USAGE after a message; -1 for --help. */
static int parse_options(int argc, char **argv, BenchOptions *o)
{
    memset(o, 0, sizeof *o);
    o->threads = 1;
    o->runs = 50;
    o->warmup = 5;
    o->top = 15;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
            return -1;
        int k = cli_compile_option(&o->r, argc, argv, &i);
        if (k == 0)
            return EXIT_USAGE;
        if (k == 1)
            continue;
        if (strcmp(a, "--json") == 0) {
            o->json = true;
            continue;
        }
        static const char *const valued[] = {"--runs", "--warmup", "--threads", "--top",
                                             "--inputs", "--keep", "--peak-gflops", "--dim"};
        bool known = false;
        for (size_t j = 0; j < sizeof valued / sizeof valued[0]; j++)
            known |= strcmp(a, valued[j]) == 0;
        if (known) {
            if (i + 1 >= argc) {
                fprintf(stderr, "dlc: error: %s needs a value\n", a);
                return EXIT_USAGE;
            }
            const char *val = argv[++i];
            bool ok = true;
            if (strcmp(a, "--runs") == 0)
                ok = parse_int(a, val, 1, 100000000, &o->runs);
            else if (strcmp(a, "--warmup") == 0)
                ok = parse_int(a, val, 0, 100000000, &o->warmup);
            else if (strcmp(a, "--threads") == 0)
                ok = parse_int(a, val, 1, 4096, &o->threads);
            else if (strcmp(a, "--top") == 0)
                ok = parse_int(a, val, 0, 1000000, &o->top);
            else if (strcmp(a, "--inputs") == 0)
                o->inputs = val;
            else if (strcmp(a, "--keep") == 0)
                o->keep = val;
            else if (strcmp(a, "--dim") == 0 && o->ndims < PASS_MAX_BINDINGS)
                o->dims[o->ndims++] = val;
            else {
                char *end;
                o->peak = strtod(val, &end);
                if (!*val || *end || !(o->peak > 0) || isinf(o->peak)) {
                    fprintf(stderr, "dlc: error: bad --peak-gflops '%s' (expected a positive "
                                    "number)\n", val);
                    ok = false;
                }
            }
            if (!ok)
                return EXIT_USAGE;
            continue;
        }
        if (!cli_model_argument(&o->r, a, "bench "))
            return EXIT_USAGE;
    }
    if (!o->r.model) {
        bench_usage(stderr);
        return EXIT_USAGE;
    }
    if (o->r.out_c || o->r.name || o->r.weights_file) {
        fprintf(stderr, "dlc: error: bench writes its own files: -o, --name and --weights do "
                        "not apply (--keep DIR keeps them)\n");
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

/* ---- inputs ---- */

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* Seeded values for input `index`: floats uniform in [-1, 1), integers 0
 * or 1 (valid as indices, masks and token types), bools 0 or 1. */
static void *random_input(const Value *v, int index)
{
    size_t bytes = ir_value_bytes(v), esize = ir_dtype_size(v->dtype);
    unsigned char *p = calloc(bytes ? bytes : 1, 1);
    if (!p || esize == 0)
        return p;
    uint64_t s = 0x5eed0000u + (uint64_t)index;
    for (size_t i = 0; i < bytes / esize; i++) {
        uint64_t r = splitmix64(&s);
        float x = (float)((double)(r >> 40) / (double)(1u << 24) * 2.0 - 1.0);
        unsigned char *at = p + i * esize;
        switch (v->dtype) {
        case DT_FLOAT: memcpy(at, &x, 4); break;
        case DT_DOUBLE: {
            double d = x;
            memcpy(at, &d, 8);
            break;
        }
        case DT_FLOAT16: {
            uint16_t h = ir_f2h(x);
            memcpy(at, &h, 2);
            break;
        }
        case DT_BFLOAT16: {
            uint16_t h = ir_f2bf(x);
            memcpy(at, &h, 2);
            break;
        }
        default:
            at[0] = (unsigned char)(r & 1);     /* little-endian: the low byte */
            break;
        }
    }
    return p;
}

/* The run-time dims' values (ir/dims.h): --dim NAME=N, else the maximum;
 * EXIT_OK or EXIT_USAGE after a message. */
static int pick_dims(const BenchOptions *o, const Graph *g, long long *dims)
{
    for (int s = 0; s < g->nrtdims; s++)
        dims[s] = g->rtdims[s].hi;
    for (int i = 0; i < o->ndims; i++) {
        const char *eq = strrchr(o->dims[i], '=');
        int s = 0;
        while (eq && s < g->nrtdims && (strlen(g->rtdims[s].name) != (size_t)(eq - o->dims[i]) ||
                                        strncmp(g->rtdims[s].name, o->dims[i], (size_t)(eq - o->dims[i]))))
            s++;
        char *end = NULL;
        long long v = eq ? strtoll(eq + 1, &end, 10) : 0;
        if (!eq || s == g->nrtdims || !*(eq + 1) || *end || v < g->rtdims[s].lo ||
            v > g->rtdims[s].hi || (v - g->rtdims[s].lo) % g->rtdims[s].step) {
            fprintf(stderr, "dlc: error: bad --dim '%s' (the model's run-time dims:", o->dims[i]);
            for (int k = 0; k < g->nrtdims; k++)
                fprintf(stderr, " %s in %lld..%lld", g->rtdims[k].name, (long long)g->rtdims[k].lo,
                        (long long)g->rtdims[k].hi);
            fprintf(stderr, "%s)\n", g->nrtdims ? "" : " none");
            return EXIT_USAGE;
        }
        dims[s] = v;
    }
    return EXIT_OK;
}

/* Writes DIR/inN.bin for every input; EXIT_OK, EXIT_MODEL (bad --inputs)
 * or EXIT_INTERNAL. */
static int write_inputs(const BenchOptions *o, Graph *g, const char *dir)
{
    Diag d;
    diag_init(&d, o->inputs ? o->inputs : o->r.model);
    long long dims[PASS_MAX_BINDINGS * IR_MAX_RANK];
    int st = pick_dims(o, g, dims);
    if (st != EXIT_OK)
        return st;
    if (o->inputs) {
        int n = cli_count_files(o->inputs, "input");
        if (n != g->ninputs + g->nfrozen) {
            diag_error(&d, NULL, "has %d inputs; the model has %d", n, g->ninputs + g->nfrozen);
            return EXIT_MODEL;
        }
        if (!cli_frozen_matches(g, o->inputs, &d))
            return EXIT_MODEL;
    }
    char path[CLI_DIR_MAX + 64];
    for (int i = 0; i < g->ninputs; i++) {
        snprintf(path, sizeof path, "%s/in%d.bin", dir, i);
        bool ok;
        if (o->inputs) {
            if (i == 0)
                for (int s = 0; s < g->nrtdims; s++)
                    dims[s] = -1;   /* the data set's shapes decide */
            Value *v = cli_load_input(g, o->inputs, i, dims, &d);
            if (!v)
                return EXIT_MODEL;
            ok = cli_write_bytes(path, v->data, ir_value_bytes(v));
        } else {
            Value at = cli_at_dims(g, g->inputs[i], dims);
            void *p = random_input(&at, i);
            ok = p && cli_write_bytes(path, p, ir_value_bytes(&at));
            free(p);
        }
        if (!ok) {
            fprintf(stderr, "dlc: error: cannot write %s\n", path);
            return EXIT_INTERNAL;
        }
    }
    if (g->nrtdims && !cli_set_harness_dims(g, dims)) {
        diag_error(&d, NULL, "the inputs do not give every run-time dim");
        return EXIT_MODEL;
    }
    return EXIT_OK;
}

/* ---- building and running ---- */

typedef struct {
    const char *cc;
    const char *flags[24];
    int nflags;
    char *extra;                /* DLC_BENCH_CFLAGS, split in place */
    bool openmp;
    bool openblas;              /* model.c calls OpenBLAS: its flags after the sources */
} Toolchain;

static bool cc_accepts(const Toolchain *t, const char *flag, const char *dir)
{
    char src[CLI_DIR_MAX + 32], bin[CLI_DIR_MAX + 32];
    snprintf(src, sizeof src, "%s/probe.c", dir);
    snprintf(bin, sizeof bin, "%s/probe", dir);
    static const char text[] = "int main(void)\n{\n    return 0;\n}\n";
    if (!cli_write_bytes(src, text, sizeof text - 1))
        return false;
    char *argv[] = {(char *)t->cc, (char *)flag, "-o", bin, src, NULL};
    bool ok = cli_run_argv(argv, "/dev/null", true) == 0;
    remove(src);
    remove(bin);
    return ok;
}

/* cc -O3 [-march=native] [-fopenmp] [DLC_BENCH_CFLAGS]: each probed. */
static void pick_toolchain(Toolchain *t, int threads, const char *dir)
{
    memset(t, 0, sizeof *t);
    t->cc = getenv("CC") && *getenv("CC") ? getenv("CC") : "cc";
    t->flags[t->nflags++] = "-O3";
    if (cc_accepts(t, "-march=native", dir))
        t->flags[t->nflags++] = "-march=native";
    if (threads > 1) {
        t->openmp = cc_accepts(t, "-fopenmp", dir);
        if (t->openmp)
            t->flags[t->nflags++] = "-fopenmp";
        else
            fprintf(stderr, "dlc: warning: %s does not take -fopenmp: the model runs on one "
                            "thread\n", t->cc);
    }
    const char *extra = getenv("DLC_BENCH_CFLAGS");
    t->extra = extra ? strdup(extra) : NULL;
    for (char *tok = t->extra ? strtok(t->extra, " ") : NULL; tok && t->nflags < 24;
         tok = strtok(NULL, " "))
        t->flags[t->nflags++] = tok;
}

/* Builds DIR/NAME from DIR/NAME.c (and DIR/model.c); false when cc fails. */
static bool build(const Toolchain *t, const char *dir, const char *name, const char *src,
                  size_t len, bool with_model)
{
    char spath[CLI_DIR_MAX + 64], bpath[CLI_DIR_MAX + 64], mpath[CLI_DIR_MAX + 64];
    snprintf(spath, sizeof spath, "%s/%s.c", dir, name);
    snprintf(bpath, sizeof bpath, "%s/%s", dir, name);
    snprintf(mpath, sizeof mpath, "%s/model.c", dir);
    if (!cli_write_bytes(spath, src, len))
        return false;
    char *argv[40];
    int n = 0;
    argv[n++] = (char *)t->cc;
    for (int i = 0; i < t->nflags; i++)
        argv[n++] = (char *)t->flags[i];
    argv[n++] = "-o";
    argv[n++] = bpath;
    argv[n++] = spath;
    if (with_model)
        argv[n++] = mpath;
    char *blas = with_model && t->openblas ? cli_openblas_flags(dir, argv, &n, 38) : NULL;
    argv[n++] = "-lm";
    argv[n] = NULL;
    bool ok = cli_run_argv(argv, NULL, false) == 0;
    free(blas);
    return ok;
}

static void results_free(Results *res)
{
    for (int i = 0; i < res->nk; i++) {
        free(res->k[i].names);
        free(res->k[i].ops);
    }
    free(res->k);
    free(res->ms);
}

/* Reads the harness's "run" and "kernel" lines; false when malformed. */
static bool read_results(const char *path, int runs, Results *res)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    memset(res, 0, sizeof *res);
    res->ms = calloc((size_t)runs, sizeof *res->ms);
    int capk = 0;
    char *line = NULL;          /* fused names can make long lines */
    size_t cap = 0;
    bool ok = res->ms != NULL;
    while (ok && getline(&line, &cap, f) > 0) {
        line[strcspn(line, "\n")] = 0;
        long long ns;
        unsigned long long kns;
        double flops, bytes;
        int used = 0;
        if (sscanf(line, "run %lld", &ns) == 1 && res->nruns < runs) {
            res->ms[res->nruns++] = (double)ns * 1e-6;
        } else if (sscanf(line, "kernel %llu %lf %lf %n", &kns, &flops, &bytes, &used) == 3 &&
                   used > 0) {
            if (res->nk == capk) {
                capk = capk ? 2 * capk : 64;
                KernelTime *nk = realloc(res->k, (size_t)capk * sizeof *nk);
                if (!nk) {
                    ok = false;
                    break;
                }
                res->k = nk;
            }
            char *names = line + used, *tab = strchr(names, '\t');
            KernelTime *k = &res->k[res->nk++];
            if (tab)
                *tab = 0;
            k->names = strdup(names);
            k->ops = strdup(tab ? tab + 1 : "");
            k->ns = (double)kns;
            k->flops = flops;
            k->bytes = bytes;
            ok = k->names && k->ops;
        } else {
            ok = false;
        }
    }
    free(line);
    fclose(f);
    return ok && res->nruns == runs;
}

/* Runs the peak micro-benchmark; GFLOP/s of one core, 0 on failure. */
static double measure_peak(const Toolchain *t, const char *dir)
{
    char bin[CLI_DIR_MAX + 32], out[CLI_DIR_MAX + 32];
    snprintf(bin, sizeof bin, "%s/peak", dir);
    snprintf(out, sizeof out, "%s/peak.txt", dir);
    if (!build(t, dir, "peak", peak_src, sizeof peak_src - 1, false))
        return 0;
    char *argv[] = {bin, NULL};
    if (cli_run_argv(argv, out, false) != 0)
        return 0;
    FILE *f = fopen(out, "r");
    double g = 0;
    if (!f || fscanf(f, "%lf", &g) != 1)
        g = 0;
    if (f)
        fclose(f);
    return g > 0 && isfinite(g) ? g : 0;
}

/* ---- statistics and reports ---- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct {
    double min, median, p90, mean, throughput;
} Summary;

static Summary summarise(const double *ms, int n)
{
    double *s = malloc((size_t)n * sizeof *s);
    Summary r = {0, 0, 0, 0, 0};
    if (!s)
        return r;
    memcpy(s, ms, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, cmp_double);
    double sum = 0;
    for (int i = 0; i < n; i++)
        sum += s[i];
    r.min = s[0];
    r.median = n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
    int rank = (int)ceil(0.9 * n);      /* nearest rank */
    r.p90 = s[rank > 0 ? rank - 1 : 0];
    r.mean = sum / n;
    r.throughput = r.mean > 0 ? 1e3 / r.mean : 0;
    free(s);
    return r;
}

/* Per-kernel figures derived from the harness's sums. */
typedef struct {
    const KernelTime *k;
    int index;                  /* execution order */
    double ms;                  /* per run */
    double share;               /* of the summed kernel time, 0..1 */
    double gflops;              /* -1: no FLOP count or no time */
    double gbps;                /* GB/s of k->bytes; -1: no bytes or no time */
    double peak_pct;            /* -1: unknown */
} KernelRow;

static int cmp_row(const void *a, const void *b)
{
    const KernelRow *x = a, *y = b;
    if (x->ms != y->ms)
        return x->ms > y->ms ? -1 : 1;
    return x->index - y->index;
}

/* Rows sorted by time, slowest first; *total_ms: all kernels, per run. */
static KernelRow *kernel_rows(const Results *res, int runs, int threads, double peak,
                              double *total_ms)
{
    KernelRow *rows = calloc((size_t)res->nk + 1, sizeof *rows);
    double total_ns = 0;
    for (int i = 0; i < res->nk; i++)
        total_ns += res->k[i].ns;
    *total_ms = total_ns / runs * 1e-6;
    if (!rows)
        return NULL;
    for (int i = 0; i < res->nk; i++) {
        KernelRow *r = &rows[i];
        r->k = &res->k[i];
        r->index = i;
        r->ms = r->k->ns / runs * 1e-6;
        r->share = total_ns > 0 ? r->k->ns / total_ns : 0;
        r->gflops = r->k->flops > 0 && r->k->ns > 0 ? r->k->flops * runs / r->k->ns : -1;
        r->gbps = r->k->bytes > 0 && r->k->ns > 0 ? r->k->bytes * runs / r->k->ns : -1;
        r->peak_pct = r->gflops >= 0 && peak > 0 ? 100 * r->gflops / (peak * threads) : -1;
    }
    qsort(rows, (size_t)res->nk, sizeof *rows, cmp_row);
    return rows;
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* Milliseconds with about four significant digits (0.001234, 12.35). */
static const char *fmt_ms(char buf[32], double ms)
{
    int decimals = 3;
    for (double x = ms; x > 0 && x < 1 && decimals < 6; x *= 10)
        decimals++;
    snprintf(buf, 32, "%.*f", decimals, ms);
    return buf;
}

static void print_text(const BenchOptions *o, const Toolchain *t, const Results *res,
                       const Summary *s, double peak, bool peak_measured)
{
    printf("bench: %s: %s", base_name(o->r.model), t->cc);
    for (int i = 0; i < t->nflags; i++)
        printf(" %s", t->flags[i]);
    if (t->openblas)
        printf(" -lopenblas");
    printf(", %d thread%s, %d runs after %d warm-up\n", o->threads, o->threads > 1 ? "s" : "",
           o->runs, o->warmup);
    char b[4][32];
    printf("latency: min %s ms  median %s ms  p90 %s ms  (mean %s ms)\n", fmt_ms(b[0], s->min),
           fmt_ms(b[1], s->median), fmt_ms(b[2], s->p90), fmt_ms(b[3], s->mean));
    printf("throughput: %.2f inferences/s\n", s->throughput);
    if (!o->r.profile)
        return;
    if (peak > 0)
        printf("peak: %.1f GFLOP/s per core (%s)\n", peak, peak_measured ? "measured" : "given");
    else
        printf("peak: unknown (the micro-benchmark failed; --peak-gflops X sets it)\n");
    double total_ms;
    KernelRow *rows = kernel_rows(res, o->runs, o->threads, peak, &total_ms);
    if (!rows)
        return;
    int top = o->top == 0 || o->top > res->nk ? res->nk : o->top;
    printf("profile: %d kernels, %s ms per run (%.1f%% of the mean latency); %s %d:\n", res->nk,
           fmt_ms(b[0], total_ms), s->mean > 0 ? 100 * total_ms / s->mean : 0,
           top == res->nk ? "all" : "top", top);
    printf("%10s %7s %9s %7s %8s  %s\n", "ms/run", "share", "GFLOP/s", "%peak", "GB/s",
           "node(s) (op)");
    for (int i = 0; i < top; i++) {
        const KernelRow *r = &rows[i];
        char g[32] = "-", pk[32] = "-", bw[32] = "-";
        if (r->gflops >= 0)
            snprintf(g, sizeof g, "%.2f", r->gflops);
        if (r->peak_pct >= 0)
            snprintf(pk, sizeof pk, "%.1f", r->peak_pct);
        if (r->gbps >= 0)
            snprintf(bw, sizeof bw, "%.2f", r->gbps);
        printf("%10s %6.1f%% %9s %7s %8s  %s (%s)\n", fmt_ms(b[0], r->ms), 100 * r->share, g,
               pk, bw, r->k->names, r->k->ops);
    }
    free(rows);
}

static void print_json(const BenchOptions *o, const Toolchain *t, const Results *res,
                       const Summary *s, double peak, bool peak_measured)
{
    printf("{\"model\": ");
    cli_json_string(stdout, o->r.model);
    printf(", \"compiler\": ");
    cli_json_string(stdout, t->cc);
    printf(", \"cflags\": [");
    for (int i = 0; i < t->nflags; i++) {
        printf("%s", i ? ", " : "");
        cli_json_string(stdout, t->flags[i]);
    }
    printf("], \"blas\": \"%s\"", t->openblas ? "openblas" : "builtin");
    printf(", \"threads\": %d, \"openmp\": %s, \"runs\": %d, \"warmup\": %d", o->threads,
           t->openmp ? "true" : "false", o->runs, o->warmup);
    printf(", \"times_ms\": [");
    for (int i = 0; i < res->nruns; i++)
        printf("%s%.6f", i ? ", " : "", res->ms[i]);
    printf("], \"min_ms\": %.6f, \"median_ms\": %.6f, \"p90_ms\": %.6f, \"mean_ms\": %.6f, "
           "\"throughput_per_s\": %.4f", s->min, s->median, s->p90, s->mean, s->throughput);
    if (o->r.profile) {
        double total_ms;
        KernelRow *rows = kernel_rows(res, o->runs, o->threads, peak, &total_ms);
        printf(", \"profile\": {\"peak_gflops_per_core\": ");
        if (peak > 0)
            printf("%.3f", peak);
        else
            printf("null");
        printf(", \"peak_source\": \"%s\", \"total_ms\": %.6f, \"kernels\": [",
               peak <= 0 ? "unknown" : peak_measured ? "measured" : "given", total_ms);
        for (int i = 0; rows && i < res->nk; i++) {
            const KernelRow *r = &rows[i];
            printf("%s{\"index\": %d, \"names\": ", i ? ", " : "", r->index);
            cli_json_string(stdout, r->k->names);
            printf(", \"ops\": ");
            cli_json_string(stdout, r->k->ops);
            printf(", \"ms\": %.6f, \"share\": %.6f, \"flops\": %.1f, \"gflops\": ", r->ms,
                   r->share, r->k->flops);
            if (r->gflops >= 0)
                printf("%.4f", r->gflops);
            else
                printf("null");
            printf(", \"peak_pct\": ");
            if (r->peak_pct >= 0)
                printf("%.3f", r->peak_pct);
            else
                printf("null");
            printf(", \"bytes\": %.1f, \"gbps\": ", r->k->bytes);
            if (r->gbps >= 0)
                printf("%.4f", r->gbps);
            else
                printf("null");
            printf("}");
        }
        printf("]}");
        free(rows);
    }
    printf("}\n");
}

/* ---- the command ---- */

/* Does the generated source use OpenMP at all? */
static bool source_uses_openmp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    char buf[65536 + 16];
    bool found = false;
    size_t n, keep = 0;
    while (!found && (n = fread(buf + keep, 1, sizeof buf - 1 - keep, f)) > 0) {
        n += keep;
        buf[n] = 0;
        found = strstr(buf, "_OPENMP") != NULL;
        keep = n < 8 ? n : 8;   /* a word split across reads */
        memmove(buf, buf + n - keep, keep);
    }
    fclose(f);
    return found;
}

static int bench_run(BenchOptions *o, const char *dir)
{
    char out_c[CLI_DIR_MAX + 32];
    snprintf(out_c, sizeof out_c, "%s/model.c", dir);
    Graph *g = NULL;
    o->r.out_c = out_c;
    o->r.name = "model";
    o->r.command_line = o->r.profile ? "bench --profile" : "bench";
    o->r.graph_out = &g;
    int status = cli_compile(&o->r);
    if (status != EXIT_OK)
        return status;
    status = write_inputs(o, g, dir);
    int ninputs = g->ninputs;
    ir_graph_free(g);
    if (status != EXIT_OK)
        return status;

    Toolchain t;
    pick_toolchain(&t, o->threads, dir);
    t.openblas = o->r.passes.target.blas == TARGET_BLAS_OPENBLAS;
    if (o->threads > 1 && t.openmp && !source_uses_openmp(out_c))
        fprintf(stderr, "dlc: warning: the generated code has no OpenMP kernels yet: "
                        "--threads %d changes nothing\n", o->threads);
    if (!build(&t, dir, "bench", cli_harness_source(), strlen(cli_harness_source()), true)) {
        fprintf(stderr, "dlc: error: %s: internal error: the generated code did not compile\n",
                o->r.model);
        free(t.extra);
        return EXIT_INTERNAL;
    }

    char path[CLI_DIR_MAX + 64];
    snprintf(path, sizeof path, "%d", o->threads);
    setenv("OMP_NUM_THREADS", path, 1);
    if (t.openblas)
        setenv("OPENBLAS_NUM_THREADS", path, 0);   /* unless the caller chose */
    /* bench time RUNS WARMUP RESULTS IN... (cli/harness_src.c) */
    int nargs = ninputs + 5;
    char **argv = calloc((size_t)nargs + 1, sizeof *argv);
    for (int i = 0; i < nargs; i++) {
        if (i == 0)
            snprintf(path, sizeof path, "%s/bench", dir);
        else if (i == 1)
            snprintf(path, sizeof path, "time");
        else if (i == 2)
            snprintf(path, sizeof path, "%d", o->runs);
        else if (i == 3)
            snprintf(path, sizeof path, "%d", o->warmup);
        else if (i == 4)
            snprintf(path, sizeof path, "%s/results.txt", dir);
        else
            snprintf(path, sizeof path, "%s/in%d.bin", dir, i - 5);
        argv[i] = strdup(path);
    }
    int rc = cli_run_argv(argv, NULL, false);
    Results res;
    memset(&res, 0, sizeof res);
    if (rc != 0) {
        fprintf(stderr, "dlc: error: %s: the compiled model failed (%s %d)\n", o->r.model,
                rc > 128 ? "signal" : "exit status", rc > 128 ? rc - 128 : rc);
        status = EXIT_INTERNAL;
    } else if (!read_results(argv[4], o->runs, &res)) {
        fprintf(stderr, "dlc: error: %s: internal error: unreadable harness results\n",
                o->r.model);
        status = EXIT_INTERNAL;
    }
    if (status == EXIT_OK) {
        double peak = o->peak;
        bool measured = false;
        if (o->r.profile && peak <= 0) {
            peak = measure_peak(&t, dir);
            measured = peak > 0;
        }
        Summary s = summarise(res.ms, res.nruns);
        if (o->json)
            print_json(o, &t, &res, &s, peak, measured);
        else
            print_text(o, &t, &res, &s, peak, measured);
    }
    results_free(&res);
    for (int i = 0; i < nargs; i++)
        free(argv[i]);
    free(argv);
    free(t.extra);
    return status;
}

int cli_bench(int argc, char **argv)
{
    BenchOptions o;
    int status = parse_options(argc, argv, &o);
    if (status < 0) {
        bench_usage(stdout);
        return EXIT_OK;
    }
    if (status != EXIT_OK)
        return status;
    char dir[CLI_DIR_MAX];
    if (!cli_work_dir(o.keep, "bench", dir))
        return o.keep ? EXIT_USAGE : EXIT_INTERNAL;
    status = bench_run(&o, dir);
    if (!o.keep)
        cli_remove_tree(dir);
    return status;
}
