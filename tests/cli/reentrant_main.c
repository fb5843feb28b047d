/* Runs one generated model from several threads at once, each with its own
 * workspace, and checks every run's outputs are bit-identical to a first
 * single-threaded run (tests/cli/run.py builds it with ThreadSanitizer).
 *
 * Build: cc -DMODEL_H='"net.h"' -DPREFIX=net -DUPREFIX=NET reentrant_main.c net.c
 * Usage: a.out THREADS RUNS OUT.bin    (OUT.bin: the reference outputs, for
 * the caller to compare with ONNX Runtime). Exit 0 when all runs agree. */
#include MODEL_H

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define P(x) CAT(PREFIX, x)
#define UP(x) CAT(UPREFIX, x)

enum { MAX_THREADS = 16 };

static void *inputs[UP(_NUM_INPUTS) > 0 ? UP(_NUM_INPUTS) : 1];
static void *reference[UP(_NUM_OUTPUTS)];
static int runs;

typedef struct {
    void *out[UP(_NUM_OUTPUTS)];
    void *workspace;
    int mismatches;
} Worker;

static void *aligned(size_t bytes)
{
    void *p = NULL;
    if (posix_memalign(&p, 64, bytes ? bytes : 64) != 0) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    memset(p, 0, bytes ? bytes : 64);
    return p;
}

static int run_once(void *const out[], void *workspace)
{
    return P(_run_with_workspace)((const void *const *)inputs, out, workspace);
}

static void *work(void *arg)
{
    Worker *w = arg;
    for (int r = 0; r < runs; r++) {
        if (run_once(w->out, w->workspace) != 0)
            w->mismatches++;
        for (int i = 0; i < UP(_NUM_OUTPUTS); i++)
            w->mismatches += memcmp(w->out[i], reference[i], P(_outputs)[i].bytes) != 0;
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s THREADS RUNS OUT.bin\n", argv[0]);
        return 2;
    }
    int nthreads = atoi(argv[1]);
    runs = atoi(argv[2]);
    if (nthreads < 1 || nthreads > MAX_THREADS || runs < 1)
        return 2;
    /* float inputs in [-1, 1) from a fixed generator; other dtypes zero */
    uint32_t s = 12345;
    for (int i = 0; i < UP(_NUM_INPUTS); i++) {
        inputs[i] = aligned(P(_inputs)[i].bytes);
        if (P(_inputs)[i].dtype == 1)
            for (size_t k = 0; k < P(_inputs)[i].bytes / 4; k++) {
                s = s * 1664525u + 1013904223u;
                ((float *)inputs[i])[k] = (float)(s >> 8) / (float)(1 << 23) - 1.0f;
            }
    }
    for (int i = 0; i < UP(_NUM_OUTPUTS); i++)
        reference[i] = aligned(P(_outputs)[i].bytes);
    void *ws = aligned(UP(_WORKSPACE_SIZE));
    if (run_once(reference, ws) != 0) {
        fprintf(stderr, "the reference run failed\n");
        return 1;
    }
    Worker w[MAX_THREADS];
    pthread_t t[MAX_THREADS];
    for (int k = 0; k < nthreads; k++) {
        for (int i = 0; i < UP(_NUM_OUTPUTS); i++)
            w[k].out[i] = aligned(P(_outputs)[i].bytes);
        w[k].workspace = aligned(UP(_WORKSPACE_SIZE));
        w[k].mismatches = 0;
        if (pthread_create(&t[k], NULL, work, &w[k]) != 0)
            return 2;
    }
    int bad = 0;
    for (int k = 0; k < nthreads; k++) {
        pthread_join(t[k], NULL);
        bad += w[k].mismatches;
    }
    FILE *f = fopen(argv[3], "wb");
    for (int i = 0; f && i < UP(_NUM_OUTPUTS); i++)
        fwrite(reference[i], 1, P(_outputs)[i].bytes, f);
    if (!f || fclose(f) != 0)
        return 2;
    for (int i = 0; i < UP(_NUM_INPUTS); i++) {    /* the inputs, for the caller */
        char name[4096];
        snprintf(name, sizeof name, "%s.in%d", argv[3], i);
        FILE *g = fopen(name, "wb");
        if (!g || fwrite(inputs[i], 1, P(_inputs)[i].bytes, g) != P(_inputs)[i].bytes)
            return 2;
        fclose(g);
    }
    printf("%d threads x %d runs: %d mismatching\n", nthreads, runs, bad);
    return bad != 0;
}
