#include "printer.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pr_init(Printer *p)
{
    memset(p, 0, sizeof *p);
}

void pr_free(Printer *p)
{
    free(p->buf);
    memset(p, 0, sizeof *p);
}

static void reserve(Printer *p, size_t extra)
{
    if (p->len + extra + 1 <= p->cap)
        return;
    size_t cap = p->cap ? p->cap : 4096;
    while (cap < p->len + extra + 1)
        cap *= 2;
    char *nb = realloc(p->buf, cap);
    if (!nb) {
        fprintf(stderr, "dlc: out of memory\n");
        exit(1);
    }
    p->buf = nb;
    p->cap = cap;
}

void pr_raw(Printer *p, const char *s, size_t n)
{
    reserve(p, n);
    memcpy(p->buf + p->len, s, n);
    p->len += n;
    p->buf[p->len] = 0;
}

static void vpr(Printer *p, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    reserve(p, (size_t)n);
    vsnprintf(p->buf + p->len, (size_t)n + 1, fmt, ap);
    p->len += (size_t)n;
}

void pr(Printer *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vpr(p, fmt, ap);
    va_end(ap);
}

void pr_line(Printer *p, const char *fmt, ...)
{
    for (int i = 0; i < p->indent; i++)
        pr_raw(p, "    ", 4);
    va_list ap;
    va_start(ap, fmt);
    vpr(p, fmt, ap);
    va_end(ap);
    pr_raw(p, "\n", 1);
}

void pr_append(Printer *p, const Printer *q)
{
    if (q->len)
        pr_raw(p, q->buf, q->len);
}

void pr_float(Printer *p, double v, bool single)
{
    if (single)
        v = (float)v;   /* the value the program computes with */
    if (isnan(v)) {
        pr(p, "%sNAN", signbit(v) ? "-" : "");
        return;
    }
    if (isinf(v)) {
        pr(p, "%s%s", v < 0 ? "-" : "", single ? "HUGE_VALF" : "HUGE_VAL");
        return;
    }
    char buf[64];
    snprintf(buf, sizeof buf, single ? "%.9g" : "%.17g", v);
    /* Keep it a floating literal: 1 -> 1.0 */
    if (!strpbrk(buf, ".eE"))
        strcat(buf, ".0");
    pr(p, "%s%s", buf, single ? "f" : "");
}

void pr_comment_text(Printer *p, const char *s)
{
    for (; *s; s++) {
        if (s[0] == '*' && s[1] == '/')
            pr_raw(p, "* /", 3), s++;
        else if (s[0] == '/' && s[1] == '*')
            pr_raw(p, "/ *", 3), s++;
        else if ((unsigned char)*s < 0x20)
            pr_raw(p, " ", 1);
        else
            pr_raw(p, s, 1);
    }
}

void pr_string_text(Printer *p, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\' || c == '?')
            pr(p, "\\%c", c);
        else if (c >= 0x7f)
            pr(p, "\\%03o", c);   /* always three digits: never swallows the next */
        else if (c < 0x20)
            pr_raw(p, " ", 1);
        else
            pr_raw(p, s, 1);
    }
}
