/* The C harness that `dlc check` and `dlc bench` build around a model.c
 * compiled with --name model. Inputs and outputs are raw bytes; the first
 * argument picks what it does:
 *
 *   harness check IN0 IN1 ... OUT0 OUT1 ...
 *       one model_run (its static workspace); writes each output to OUTi.
 *   harness time RUNS WARMUP RESULTS IN0 IN1 ...
 *       WARMUP untimed runs, then RUNS timed ones, each a clock_gettime
 *       pair around one model_run_with_workspace (a 64-byte aligned
 *       workspace); writes one "run NS" line per timed run to RESULTS,
 *       then, in a profile build, one "kernel NS FLOPS BYTES NAMES<tab>OPS"
 *       line per kernel (NS summed over the timed runs).
 *
 * A model with run-time dims (MODEL_NUM_DIMS) runs at the dims listed in
 * the environment variable DLC_HARNESS_DIMS ("300,12"); its inputs and
 * outputs have the sizes of those dims.
 *
 * Exit status: 10 bad arguments, 11 an input unreadable, 12 out of memory,
 * 13 the model failed, 14 an output or RESULTS unwritable. */
#include "cli.h"

#include <string.h>

static const char harness_head[] =
    "#if !defined(_POSIX_C_SOURCE) && !defined(_XOPEN_SOURCE) && !defined(_GNU_SOURCE)\n"
    "#define _POSIX_C_SOURCE 199309L\n"
    "#endif\n"
    "#include \"model.h\"\n"
    "#include <stdint.h>\n"
    "#include <stdio.h>\n"
    "#include <stdlib.h>\n"
    "#include <string.h>\n"
    "#include <time.h>\n"
    "static const void *in[MODEL_NUM_INPUTS > 0 ? MODEL_NUM_INPUTS : 1];\n"
    "static void *out[MODEL_NUM_OUTPUTS];\n"
    "#ifdef MODEL_NUM_DIMS\n"
    "static long long dims[MODEL_NUM_DIMS];\n"
    "#define RUN(i, o) model_run(dims, i, o)\n"
    "#define RUN_WS(i, o, w) model_run_with_workspace(dims, i, o, w)\n"
    "static size_t in_bytes(int i)\n"
    "{\n"
    "    long long s[8];\n"
    "    return model_input_shape(dims, i, s);\n"
    "}\n"
    "static size_t out_bytes(int i)\n"
    "{\n"
    "    long long s[8];\n"
    "    return model_output_shape(dims, i, s);\n"
    "}\n"
    "/* DLC_HARNESS_DIMS=\"D0,D1,...\" */\n"
    "static int read_dims(void)\n"
    "{\n"
    "    const char *s = getenv(\"DLC_HARNESS_DIMS\");\n"
    "    int i;\n"
    "    for (i = 0; i < MODEL_NUM_DIMS; i++) {\n"
    "        char *end;\n"
    "        if (!s)\n"
    "            return 10;\n"
    "        dims[i] = strtoll(s, &end, 10);\n"
    "        if (end == s)\n"
    "            return 10;\n"
    "        s = *end == ',' ? end + 1 : NULL;\n"
    "    }\n"
    "    return 0;\n"
    "}\n"
    "#else\n"
    "#define RUN(i, o) model_run(i, o)\n"
    "#define RUN_WS(i, o, w) model_run_with_workspace(i, o, w)\n"
    "#define in_bytes(i) model_inputs[i].bytes\n"
    "#define out_bytes(i) model_outputs[i].bytes\n"
    "#define read_dims() 0\n"
    "#endif\n"
    ;

/* The rest (one literal each stays within C99's 4095 characters). */
static const char harness_main[] =
    "static long long now_ns(void)\n"
    "{\n"
    "    struct timespec ts;\n"
    "    clock_gettime(CLOCK_MONOTONIC, &ts);\n"
    "    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;\n"
    "}\n"
    "/* Reads the inputs from paths[], allocates the outputs. */\n"
    "static int load(char **paths)\n"
    "{\n"
    "    int i;\n"
    "    for (i = 0; i < MODEL_NUM_INPUTS; i++) {\n"
    "        size_t n = in_bytes(i);\n"
    "        void *p = malloc(n ? n : 1);\n"
    "        FILE *f = fopen(paths[i], \"rb\");\n"
    "        if (!p || !f || fread(p, 1, n, f) != n)\n"
    "            return 11;\n"
    "        fclose(f);\n"
    "        in[i] = p;\n"
    "    }\n"
    "    for (i = 0; i < MODEL_NUM_OUTPUTS; i++)\n"
    "        if (!(out[i] = malloc(out_bytes(i) ? out_bytes(i) : 1)))\n"
    "            return 12;\n"
    "    return 0;\n"
    "}\n"
    "static int check(char **paths)\n"
    "{\n"
    "    int i;\n"
    "    if (RUN(in, out) != MODEL_OK)\n"
    "        return 13;\n"
    "    for (i = 0; i < MODEL_NUM_OUTPUTS; i++) {\n"
    "        FILE *f = fopen(paths[i], \"wb\");\n"
    "        size_t n = out_bytes(i);\n"
    "        if (!f || fwrite(out[i], 1, n, f) != n || fclose(f) != 0)\n"
    "            return 14;\n"
    "    }\n"
    "    return 0;\n"
    "}\n"
    "static int time_runs(long runs, long warmup, const char *results)\n"
    "{\n"
    "    unsigned char *block = malloc(MODEL_WORKSPACE_SIZE + 64);\n"
    "    long long *t = malloc((size_t)(runs > 0 ? runs : 1) * sizeof *t);\n"
    "    void *ws;\n"
    "    long i;\n"
    "    FILE *f;\n"
    "    if (!block || !t)\n"
    "        return 12;\n"
    "    ws = block + (64 - (uintptr_t)block % 64) % 64;\n"
    "    for (i = 0; i < warmup; i++)\n"
    "        if (RUN_WS(in, out, ws) != MODEL_OK)\n"
    "            return 13;\n"
    "#ifdef MODEL_PROFILE_COUNT\n"
    "    model_profile_reset();\n"
    "#endif\n"
    "    for (i = 0; i < runs; i++) {\n"
    "        long long t0 = now_ns();\n"
    "        int rc = RUN_WS(in, out, ws);\n"
    "        t[i] = now_ns() - t0;\n"
    "        if (rc != MODEL_OK)\n"
    "            return 13;\n"
    "    }\n"
    "    if (!(f = fopen(results, \"w\")))\n"
    "        return 14;\n"
    "    for (i = 0; i < runs; i++)\n"
    "        fprintf(f, \"run %lld\\n\", t[i]);\n"
    "#ifdef MODEL_PROFILE_COUNT\n"
    "    for (i = 0; i < MODEL_PROFILE_COUNT; i++)\n"
    "        fprintf(f, \"kernel %llu %.1f %.1f %s\\t%s\\n\", model_profile_ns[i],\n"
    "                model_profile_flops[i], model_profile_bytes[i], model_profile_names[i],\n"
    "                model_profile_ops[i]);\n"
    "#endif\n"
    "    if (fclose(f) != 0)\n"
    "        return 14;\n"
    "    free(block);\n"
    "    free(t);\n"
    "    return 0;\n"
    "}\n"
    "int main(int argc, char **argv)\n"
    "{\n"
    "    int i, rc = read_dims();\n"
    "    if (rc != 0)\n"
    "        return rc;\n"
    "    if (argc == 2 + MODEL_NUM_INPUTS + MODEL_NUM_OUTPUTS &&\n"
    "        strcmp(argv[1], \"check\") == 0) {\n"
    "        rc = load(argv + 2);\n"
    "        if (rc == 0)\n"
    "            rc = check(argv + 2 + MODEL_NUM_INPUTS);\n"
    "    } else if (argc == 5 + MODEL_NUM_INPUTS && strcmp(argv[1], \"time\") == 0) {\n"
    "        rc = load(argv + 5);\n"
    "        if (rc == 0)\n"
    "            rc = time_runs(strtol(argv[2], NULL, 10), strtol(argv[3], NULL, 10), argv[4]);\n"
    "    } else {\n"
    "        return 10;\n"
    "    }\n"
    "    for (i = 0; i < MODEL_NUM_INPUTS; i++)\n"
    "        free((void *)in[i]);\n"
    "    for (i = 0; i < MODEL_NUM_OUTPUTS; i++)\n"
    "        free(out[i]);\n"
    "    return rc;\n"
    "}\n";

const char *cli_harness_source(void)
{
    static char text[sizeof harness_head + sizeof harness_main];
    if (!text[0]) {
        memcpy(text, harness_head, sizeof harness_head - 1);
        memcpy(text + sizeof harness_head - 1, harness_main, sizeof harness_main);
    }
    return text;
}
