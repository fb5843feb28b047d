/* app IN0.bin ... OUT0.bin ...: runs the model dlc_add_model compiled (net.h)
 * on raw input files and writes raw output files; with WEIGHTS file it
 * loads NET_WEIGHTS_PATH first. Exit status 1 on any failure. */
#include "net.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *load(const char *path, size_t bytes)
{
    FILE *f = fopen(path, "rb");
    void *p = aligned_alloc(64, (bytes + 63) / 64 * 64);
    if (!f || !p || fread(p, 1, bytes, f) != bytes) {
        fprintf(stderr, "app: cannot read %zu bytes from %s\n", bytes, path);
        exit(1);
    }
    fclose(f);
    return p;
}

int main(int argc, char **argv)
{
    const void *in[NET_NUM_INPUTS > 0 ? NET_NUM_INPUTS : 1];
    void *out[NET_NUM_OUTPUTS];
    if (argc != 1 + NET_NUM_INPUTS + NET_NUM_OUTPUTS) {
        fprintf(stderr, "usage: app IN0.bin ... OUT0.bin ...\n");
        return 1;
    }
    for (int i = 0; i < NET_NUM_INPUTS; i++)
        in[i] = load(argv[1 + i], net_inputs[i].bytes);
    for (int i = 0; i < NET_NUM_OUTPUTS; i++)
        out[i] = aligned_alloc(64, (net_outputs[i].bytes + 63) / 64 * 64);
#ifdef NET_WEIGHTS_SIZE
    const void *weights = load(NET_WEIGHTS_PATH, NET_WEIGHTS_SIZE);
    net_status st = net_run(weights, in, out);
#else
    net_status st = net_run(in, out);
#endif
    if (st != NET_OK) {
        fprintf(stderr, "app: net_run failed (%d)\n", (int)st);
        return 1;
    }
    for (int i = 0; i < NET_NUM_OUTPUTS; i++) {
        FILE *f = fopen(argv[1 + NET_NUM_INPUTS + i], "wb");
        if (!f || fwrite(out[i], 1, net_outputs[i].bytes, f) != net_outputs[i].bytes) {
            fprintf(stderr, "app: cannot write %s\n", argv[1 + NET_NUM_INPUTS + i]);
            return 1;
        }
        fclose(f);
    }
    return 0;
}
