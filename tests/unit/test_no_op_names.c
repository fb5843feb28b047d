/* Passes and emitters know operators only through their rows (ops/ops.h:
 * flags, roles, row callbacks), never by name: scans the .c files of
 * passes/ and of codegen/ (every folder below it) for an op_type or row
 * name compared with a string, or match_op(n, "X"), and fails naming each
 * file and line. DLC_SOURCE_DIR comes from tests/tests.cmake. */
#define _POSIX_C_SOURCE 200809L
#include "check.h"

#include <dirent.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifndef DLC_SOURCE_DIR
#error "DLC_SOURCE_DIR must name the source tree (tests/tests.cmake)"
#endif

/* Does this line compare an operator's name with a literal one? (Two
 * names compared with each other, as passes/resolve.c does to list each
 * unsupported operator once, name no operator.) */
static bool names_an_op(const char *line)
{
    bool names = strstr(line, "op_type") || strstr(line, "op->name");
    bool compares = strstr(line, "cmp(") || strstr(line, "== \"") || strstr(line, "!= \"");
    const char *m = strstr(line, "match_op(");
    return (names && compares && strchr(line, '"')) || (m && strchr(m, '"'));
}

static int files_scanned;

static void scan_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "%s: cannot read\n", path);
        check_failures++;
        return;
    }
    files_scanned++;
    char line[4096];
    for (int no = 1; fgets(line, sizeof line, f); no++)
        if (names_an_op(line)) {
            fprintf(stderr, "%s:%d: compares an op name; test a row field instead: %s", path, no,
                    line);
            check_failures++;
        }
    fclose(f);
}

static bool ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), t = strlen(tail);
    return n >= t && strcmp(s + n - t, tail) == 0;
}

/* Every .c file in dir, and in the folders below it when deep. */
static void scan_dir(const char *dir, bool deep)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "%s: cannot open\n", dir);
        check_failures++;
        return;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode) && deep)
            scan_dir(path, deep);
        else if (S_ISREG(st.st_mode) && ends_with(e->d_name, ".c"))
            scan_file(path);
    }
    closedir(d);
}

int main(void)
{
    /* the matcher itself */
    CHECK(names_an_op("    if (strcmp(n->op_type, \"Conv\") != 0)\n"));
    CHECK(names_an_op("    return match_op(n, \"Add\") && x;\n"));
    CHECK(names_an_op("        if (strcmp(r->op->name, \"Concat\") == 0)\n"));
    CHECK(!names_an_op("    n->op_type = \"Attention\";\n"));
    CHECK(!names_an_op("    const char *ops = n->fused_ops ? n->fused_ops : n->op_type;\n"));
    CHECK(!names_an_op("    if (match_role(n, OP_ROLE_ADD))\n"));
    CHECK(!names_an_op("        seen |= strcmp(missing[k], n->op_type) == 0;\n"));

    scan_dir(DLC_SOURCE_DIR "/passes", false);
    int passes = files_scanned;
    scan_dir(DLC_SOURCE_DIR "/codegen", true);
    CHECK(passes >= 10);                    /* the folders were found */
    CHECK(files_scanned - passes >= 2);
    return check_report("test_no_op_names");
}
