/* dlc info: what a model takes, gives, holds and costs. cli/info.c
 * gathers the facts (the frontend, then the compile pipeline up to the
 * memory plan, as `dlc MODEL -o OUT.c` runs it); cli/info_print.c prints
 * them as text or JSON. */
#ifndef DLC_INFO_H
#define DLC_INFO_H

#include "cli.h"

/* One operator type: its nodes in the model's graph and the FLOPs its
 * kernels do per run. */
typedef struct {
    const char *op;
    int nodes;          /* in the model's graph, not counting subgraphs' */
    double flops;       /* per run; 0 when not compiled */
} InfoOp;

/* The initializers of one dtype. */
typedef struct {
    DType dtype;
    int64_t count;      /* elements */
    int64_t bytes;
} InfoParams;

#define INFO_MAX_DTYPES 32

/* One diagnostic of loading or compiling, as the compiler printed it. */
typedef struct {
    bool error;             /* else a warning */
    const char *file;       /* the model, a --freeze file, or NULL */
    int node_index;         /* -1: not about one node */
    const char *node, *op;  /* NULL when node_index < 0 */
    const char *message;    /* the reason */
    const char *text;       /* the whole message, as on stderr */
} InfoDiag;

typedef struct {
    const char *model;
    Arena *arena;           /* owns what is below except g */
    Graph *g;               /* the graph as far as it compiled; NULL: did not load */
    int64_t opset;
    const char *producer;
    int nnodes;             /* in the model's graph */
    /* The graph's op types in first-seen order, then those only kernels
     * have (a Loop body's, the DimMask ... of run-time dims). */
    InfoOp *ops;
    int nops, capops;
    InfoParams params[INFO_MAX_DTYPES];
    int nparams;
    int64_t param_count, param_bytes;
    bool compiled;          /* the whole pipeline ran */
    PlanStats plan;         /* arena_bytes: NAME_WORKSPACE_SIZE */
    int64_t weights_bytes;  /* the weights blob (NAME_WEIGHTS_SIZE) */
    bool have_flops;
    double flops;           /* per run: the sum of ops[].flops */
    double flops_compiled;  /* per run, the fused kernels' (dlc bench --profile's sum) */
    InfoDiag *diags;
    int ndiags;
} Info;

void cli_info_print_text(const Info *in, FILE *f);
void cli_info_print_json(const Info *in, FILE *f);

#endif
