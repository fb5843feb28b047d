/* One growable text buffer that every emitter prints through. */
#ifndef DLC_PRINTER_H
#define DLC_PRINTER_H

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    char *buf;
    size_t len, cap;
    int indent;
} Printer;

void pr_init(Printer *p);
void pr_free(Printer *p);
void pr_raw(Printer *p, const char *s, size_t n);
void pr(Printer *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* An indented line (fmt without the newline). */
void pr_line(Printer *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void pr_append(Printer *p, const Printer *q);
/* Exact C literal for a float or double. */
void pr_float(Printer *p, double v, bool single);
/* A comment body with the comment terminator defused. */
void pr_comment_text(Printer *p, const char *s);
/* The body of a C string literal: '"', '\\' and '?' (trigraphs) escaped,
 * bytes outside ASCII as octal escapes, control characters as spaces. */
void pr_string_text(Printer *p, const char *s);

#endif
