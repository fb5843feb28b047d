/* The seams of docs/design-notes.md, checked in the source tree:
 * - passes and emitters know operators only through their rows (ops/ops.h:
 *   flags, roles, row callbacks), never by name: the .c files of passes/
 *   and of codegen/ (every folder below it) must not compare an op_type or
 *   row name with a string, or call match_op(n, "X");
 * - rows and the IR know no target: no file of ops/ or ir/ includes
 *   runtime/ or names the runtime (rt_..., RT_...); in passes/ only the C
 *   target's selection pass, select_c.c, does.
 * Each violation is reported with its file and line. DLC_SOURCE_DIR comes
 * from tests/tests.cmake. */
#define _POSIX_C_SOURCE 200809L
#include "check.h"

#include <ctype.h>
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

/* Does this line use the C runtime (an include of it, or an rt_ / RT_
 * name)? */
static bool uses_runtime(const char *line)
{
    if (strstr(line, "#include") && strstr(line, "runtime/"))
        return true;
    for (const char *p = line; (p = strpbrk(p, "rR")); p++) {
        bool word_start = p == line || !(isalnum((unsigned char)p[-1]) || p[-1] == '_');
        if (word_start && (strncmp(p, "rt_", 3) == 0 || strncmp(p, "RT_", 3) == 0))
            return true;
    }
    return false;
}

typedef struct {
    bool (*breaks)(const char *line);
    const char *what;       /* the message */
    const char *allowed;    /* a file name the rule exempts, or NULL */
} Rule;

static const Rule no_op_names = {names_an_op, "compares an op name; test a row field instead",
                                 NULL};
static const Rule no_runtime = {uses_runtime, "uses the C runtime; only a target's selection "
                                              "pass and codegen may", "select_c.c"};

static int files_scanned;

static void scan_file(const char *path, const Rule *rule)
{
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    if (rule->allowed && strcmp(base, rule->allowed) == 0)
        return;
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "%s: cannot read\n", path);
        check_failures++;
        return;
    }
    files_scanned++;
    char line[4096];
    for (int no = 1; fgets(line, sizeof line, f); no++)
        if (rule->breaks(line)) {
            fprintf(stderr, "%s:%d: %s: %s", path, no, rule->what, line);
            check_failures++;
        }
    fclose(f);
}

static bool ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), t = strlen(tail);
    return n >= t && strcmp(s + n - t, tail) == 0;
}

/* Every .c and .h file in dir, and in the folders below it when deep. */
static void scan_dir(const char *dir, bool deep, const Rule *rule)
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
            scan_dir(path, deep, rule);
        else if (S_ISREG(st.st_mode) && (ends_with(e->d_name, ".c") || ends_with(e->d_name, ".h")))
            scan_file(path, rule);
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

    CHECK(uses_runtime("#include \"../runtime/rt.h\"\n"));
    CHECK(uses_runtime("    int a = rt_conv2d_algo(&s, 0);\n"));
    CHECK(uses_runtime("    case RT_ACT_RELU:\n"));
    CHECK(!uses_runtime("    case IR_ACT_RELU: /* a start_rt_x */\n"));

    scan_dir(DLC_SOURCE_DIR "/passes", false, &no_op_names);
    int passes = files_scanned;
    scan_dir(DLC_SOURCE_DIR "/codegen", true, &no_op_names);
    CHECK(passes >= 10);                    /* the folders were found */
    CHECK(files_scanned - passes >= 2);
    int before = files_scanned;
    scan_dir(DLC_SOURCE_DIR "/ops", false, &no_runtime);
    scan_dir(DLC_SOURCE_DIR "/ir", false, &no_runtime);
    scan_dir(DLC_SOURCE_DIR "/passes", false, &no_runtime);
    CHECK(files_scanned - before >= 30);
    return check_report("test_seams");
}
