/* Classifies the held-out digits with the dlc-compiled model and prints
 * accuracy plus the median latency of one model call.
 *
 *   usage: digits TEST_X.bin TEST_Y.bin
 *
 * digits.h comes from `dlc digits.onnx -o digits.c --name digits`. The batch
 * size is read from the header, so the same program works for a model
 * exported with input [N,64] (one call per N digits) or [1,64].
 * Output: one line of key=value pairs that run.sh reads. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 199309L /* clock_gettime */
#endif

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "digits.h"

#if DIGITS_NUM_INPUTS != 1
#error "the digits model should have exactly one input"
#endif

#define TIMED_RUNS 200
#define ONNX_FLOAT 1 /* TensorProto dtype code of float32 */

/* A buffer aligned to 64 bytes, so the generated code may use aligned SIMD
 * loads on it; `base` is what to free. */
typedef struct {
    void *base;
    void *data;
} buffer;

static int buffer_alloc(buffer *b, size_t bytes) {
    b->base = malloc(bytes + 63);
    if (!b->base) return 0;
    b->data = (void *)(((uintptr_t)b->base + 63) & ~(uintptr_t)63);
    memset(b->data, 0, bytes);
    return 1;
}

static void *read_file(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    void *data = NULL;
    long len;
    if (!f) return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 &&
        fseek(f, 0, SEEK_SET) == 0) {
        data = malloc(len > 0 ? (size_t)len : 1);
        if (data && fread(data, 1, (size_t)len, f) != (size_t)len) {
            free(data);
            data = NULL;
        }
        *size = (size_t)len;
    }
    fclose(f);
    return data;
}

static double now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Index of the output named "probs" (the model's only one, normally). */
static int probs_output(void) {
    int i;
    for (i = 0; i < DIGITS_NUM_OUTPUTS; i++)
        if (strcmp(digits_outputs[i].name, "probs") == 0) return i;
    return 0;
}

static int argmax(const float *v, long long n) {
    long long i, best = 0;
    for (i = 1; i < n; i++)
        if (v[i] > v[best]) best = i;
    return (int)best;
}

int main(int argc, char **argv) {
    const digits_tensor_info *in = &digits_inputs[0];
    const digits_tensor_info *out;
    buffer outs[DIGITS_NUM_OUTPUTS], inbuf = {NULL, NULL};
    void *out_ptrs[DIGITS_NUM_OUTPUTS];
    const void *in_ptrs[1];
    float *x = NULL;
    int32_t *y = NULL;
    size_t x_size = 0, y_size = 0, n, start, row_bytes;
    long long batch, features, classes, correct = 0;
    double times[TIMED_RUNS];
    int k, p, i, rc = 1;

    if (argc != 3) {
        fprintf(stderr, "usage: %s TEST_X.bin TEST_Y.bin\n", argv[0]);
        return 2;
    }
    p = probs_output();
    out = &digits_outputs[p];
    if (in->dtype != ONNX_FLOAT || in->rank != 2 || out->dtype != ONNX_FLOAT ||
        out->rank != 2 || out->shape[0] != in->shape[0]) {
        fprintf(stderr, "digits: expected float32 [B,F] in, [B,C] out\n");
        return 1;
    }
    batch = in->shape[0];
    features = in->shape[1];
    classes = out->shape[1];
    row_bytes = (size_t)features * sizeof(float);
    for (k = 0; k < DIGITS_NUM_OUTPUTS; k++) outs[k].base = NULL;

    x = read_file(argv[1], &x_size);
    y = read_file(argv[2], &y_size);
    if (!x || !y) {
        fprintf(stderr, "digits: cannot read %s\n", x ? argv[2] : argv[1]);
        goto done;
    }
    n = x_size / row_bytes;
    if (n == 0 || x_size % row_bytes != 0 || y_size != n * sizeof(int32_t)) {
        fprintf(stderr, "digits: %s and %s disagree with the model's %lld "
                "features\n", argv[1], argv[2], features);
        goto done;
    }

    if (!buffer_alloc(&inbuf, in->bytes)) goto done;
    for (k = 0; k < DIGITS_NUM_OUTPUTS; k++) {
        if (!buffer_alloc(&outs[k], digits_outputs[k].bytes)) goto done;
        out_ptrs[k] = outs[k].data;
    }
    in_ptrs[0] = inbuf.data;

    /* Classify everything, one batch per call; a short last batch is padded
     * with zeros and only its real rows are scored. */
    for (start = 0; start < n; start += (size_t)batch) {
        size_t rows = n - start < (size_t)batch ? n - start : (size_t)batch;
        const float *probs = outs[p].data;
        memset(inbuf.data, 0, in->bytes);
        memcpy(inbuf.data, x + start * (size_t)features, rows * row_bytes);
        if (digits_run(in_ptrs, out_ptrs) != DIGITS_OK) {
            fprintf(stderr, "digits: digits_run failed\n");
            goto done;
        }
        for (i = 0; i < (int)rows; i++)
            correct += argmax(probs + (size_t)i * (size_t)classes, classes) ==
                       y[start + (size_t)i];
    }

    /* Latency: the last batch over and over; the loop above warmed up. */
    for (k = 0; k < TIMED_RUNS; k++) {
        double t0 = now_us();
        digits_run(in_ptrs, out_ptrs);
        times[k] = now_us() - t0;
    }
    qsort(times, TIMED_RUNS, sizeof times[0], cmp_double);

    printf("correct=%lld total=%lu accuracy=%.6f batch=%lld median_us=%.2f\n",
           correct, (unsigned long)n, (double)correct / (double)n, batch,
           (times[TIMED_RUNS / 2 - 1] + times[TIMED_RUNS / 2]) / 2.0);
    rc = 0;
done:
    free(inbuf.base);
    for (k = 0; k < DIGITS_NUM_OUTPUTS; k++) free(outs[k].base);
    free(x);
    free(y);
    return rc;
}
