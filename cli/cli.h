/* The dlc command: argument handling only; the compiler lives elsewhere. */
#ifndef DLC_CLI_H
#define DLC_CLI_H

#include "../passes/passes.h"

enum { EXIT_OK = 0, EXIT_MODEL = 1, EXIT_USAGE = 2, EXIT_INTERNAL = 3 };

typedef struct {
    const char *model;
    const char *out_c;
    const char *name;           /* prefix; NULL: from out_c */
    bool weights_file;
    PassOptions passes;
    const char *command_line;   /* for the provenance comment */
} CompileRequest;

/* Runs frontend, passes and codegen; returns an exit status. */
int cli_compile(const CompileRequest *r);
/* "NAME=1x3x224x224" -> binding; false on bad syntax. */
bool cli_parse_shape(const char *arg, ShapeBinding *b);
/* Parses a compile option at argv[*i]; -1 unknown, 0 bad value, 1 ok. */
int cli_compile_option(CompileRequest *r, int argc, char **argv, int *i);
int cli_check(int argc, char **argv);
int cli_info(int argc, char **argv);

#endif
