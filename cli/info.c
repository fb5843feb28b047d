/* dlc info MODEL: what the model takes, gives and uses. */
#include "cli.h"
#include "../frontend/frontend.h"

#include <string.h>

int cli_info(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: dlc info MODEL.onnx\n");
        return EXIT_USAGE;
    }
    Diag d;
    diag_init(&d, argv[1]);
    Graph *g = fe_load_model(argv[1], &d);
    if (!g)
        return EXIT_MODEL;
    printf("%s: opset %lld, %d nodes, producer '%s'\n", argv[1], (long long)g->opset, g->nnodes,
           g->producer_name ? g->producer_name : "");
    for (int i = 0; i < g->ninputs; i++)
        printf("input  %d '%s': %s %s\n", i, g->inputs[i]->name,
               ir_dtype_name(g->inputs[i]->dtype), ir_shape_str(g->arena, &g->inputs[i]->shape));
    for (int i = 0; i < g->noutputs; i++)
        printf("output %d '%s'\n", i, g->outputs[i]->name);
    /* Operator histogram, in first-seen order. */
    const char *ops[256];
    int counts[256], nops = 0;
    for (int i = 0; i < g->nnodes; i++) {
        int k = 0;
        while (k < nops && strcmp(ops[k], g->nodes[i]->op_type) != 0)
            k++;
        if (k == nops && nops < 256) {
            ops[nops] = g->nodes[i]->op_type;
            counts[nops++] = 0;
        }
        if (k < nops)
            counts[k]++;
    }
    for (int k = 0; k < nops; k++)
        printf("op %-24s %d\n", ops[k], counts[k]);
    ir_graph_free(g);
    return EXIT_OK;
}
