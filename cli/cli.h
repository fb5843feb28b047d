/* The dlc command: argument handling only; the compiler lives elsewhere. */
#ifndef DLC_CLI_H
#define DLC_CLI_H

#include "../passes/passes.h"

enum { EXIT_OK = 0, EXIT_MODEL = 1, EXIT_USAGE = 2, EXIT_INTERNAL = 3 };

/* Size buckets for run-time dims (--buckets): the default and the most. */
#define CLI_DEFAULT_BUCKETS 4
#define CLI_MAX_BUCKETS 8

typedef struct {
    const char *model;
    const char *out_c;
    const char *name;           /* prefix; NULL: from out_c */
    bool weights_file;          /* --weights file or incbin: write OUT.weights */
    bool weights_incbin;        /* --weights incbin */
    bool profile;               /* --profile: time each kernel */
    int buckets;                /* --buckets: size buckets of run-time dims; 0: the default */
    PassOptions passes;
    const char *command_line;   /* for the provenance comment */
    Graph **graph_out;          /* when set and all went well: the compiled
                                 * graph, for the caller to free */
} CompileRequest;

/* Runs frontend, passes and codegen; returns an exit status. */
int cli_compile(const CompileRequest *r);
/* "NAME=1x3x224x224" -> binding; false on bad syntax. */
bool cli_parse_shape(const char *arg, ShapeBinding *b);
/* Parses a compile option at argv[*i]; -1 unknown, 0 bad value, 1 ok. */
int cli_compile_option(CompileRequest *r, int argc, char **argv, int *i);
/* a, an argument no option took: the model path, given once. Returns
 * false after the error ("unknown <kind>option", "more than one model"). */
bool cli_model_argument(CompileRequest *r, const char *a, const char *kind);
/* Reads each --freeze file of po into g's arena; false after messages
 * (to `out`, stderr when NULL) that name the file. */
bool cli_load_freezes(Graph *g, PassOptions *po, FILE *out);
/* ---- json.c: --json output ---- */
/* s as a JSON string: quotes, backslashes and control characters escaped,
 * bytes that are not UTF-8 as U+FFFD. */
void cli_json_string(FILE *f, const char *s);
void cli_json_number(FILE *f, double x);    /* null when not finite */
/* ---- harness.c: what check and bench share ---- */
#define CLI_DIR_MAX 1024    /* scratch folder paths; files in it fit in +4096 */
/* Runs argv[0] from PATH, stdout to stdout_path when set, stderr to
 * /dev/null when quiet; returns its exit status, 128 + the signal that
 * ended it, or -1. */
int cli_run_argv(char *const argv[], const char *stdout_path, bool quiet);
bool cli_write_bytes(const char *path, const void *p, size_t n);
void *cli_read_bytes(const char *path, size_t n);     /* malloc'd; NULL on failure */
/* `keep` (created if missing) or a fresh /tmp/dlc-TAG-XXXXXX; false after a message. */
bool cli_work_dir(const char *keep, const char *tag, char dir[CLI_DIR_MAX]);
void cli_remove_tree(const char *dir);                  /* a folder of plain files */
int cli_count_files(const char *dir, const char *prefix);   /* PREFIX_0.pb, PREFIX_1.pb ... */
/* OpenBLAS's compile and link flags (`pkg-config --cflags --libs openblas`,
 * else -lopenblas; the pkg-config output goes through a file in dir),
 * appended to argv[*n .. max); returns the malloc'd text they point into. */
char *cli_openblas_flags(const char *dir, char **argv, int *n, int max);
/* set/input_N.pb for the model's input i (N its position among the declared
 * inputs, frozen ones counted), checked against it; NULL after a diagnostic.
 * A model with run-time dims takes them from the tensors' shapes into
 * dims[] (model->nrtdims entries, -1 until seen; they must agree). */
Value *cli_load_input(Graph *model, const char *set, int i, long long *dims, Diag *d);
/* v with each run-time dim at dims[] (a copy; the shape only). */
Value cli_at_dims(const Graph *model, const Value *v, const long long *dims);
/* DLC_HARNESS_DIMS for the harness (cli/harness_src.c); false when a dim is unset. */
bool cli_set_harness_dims(const Graph *model, const long long *dims);
/* The data set's value of every --freeze input equals the frozen one: a
 * model compiled for one value says nothing about another. */
bool cli_frozen_matches(Graph *model, const char *set, Diag *d);
/* ---- harness_src.c: the C harness check and bench build around model.c ---- */
const char *cli_harness_source(void);

int cli_check(int argc, char **argv);
int cli_info(int argc, char **argv);
int cli_bench(int argc, char **argv);

#endif
