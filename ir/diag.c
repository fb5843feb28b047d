/* Diagnostics: model problems are reported, compiler bugs abort. */
#include "ir.h"

#include <stdarg.h>
#include <stdlib.h>

void diag_init(Diag *d, const char *file)
{
    d->file = file;
    d->nerrors = 0;
    d->nwarnings = 0;
    d->out = stderr;
}

static void report(Diag *d, const char *kind, const Node *n, const char *fmt,
                   va_list ap)
{
    FILE *f = d->out ? d->out : stderr;
    fprintf(f, "dlc: %s: %s: ", kind, d->file ? d->file : "<input>");
    if (n)
        fprintf(f, "node %d '%s' (%s): ", n->index, n->name ? n->name : "",
                n->op_type ? n->op_type : "?");
    vfprintf(f, fmt, ap);
    fputc('\n', f);
}

void diag_error(Diag *d, const Node *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report(d, "error", n, fmt, ap);
    va_end(ap);
    d->nerrors++;
}

void diag_warn(Diag *d, const Node *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report(d, "warning", n, fmt, ap);
    va_end(ap);
    d->nwarnings++;
}

_Noreturn void dlc_bug(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s:%d: internal error: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(3);
}
