/* The weights blob: every constant a kernel reads, each 64-byte aligned,
 * embedded in the source as a string literal or written to its own file
 * (dlc --weights file). */
#include "emit.h"

#define WEIGHT_ALIGN 64

static bool is_weight(const Value *v)
{
    return v->data && !v->is_input;
}

void cg_layout_weights(CgEmit *e)
{
    int64_t off = 0;
    for (int i = 0; i < e->g->nvalues; i++) {
        Value *v = e->g->values[i];
        v->weight_offset = -1;
        if (!e->used[i] || !is_weight(v))
            continue;
        v->weight_offset = off;
        off += ((int64_t)ir_value_bytes(v) + WEIGHT_ALIGN - 1) / WEIGHT_ALIGN * WEIGHT_ALIGN;
    }
    e->weights_size = off;
}

static void for_each_weight_byte(CgEmit *e, void (*fn)(void *, const unsigned char *, size_t),
                                 void *ctx)
{
    static const unsigned char zeros[WEIGHT_ALIGN];
    int64_t at = 0;
    for (int i = 0; i < e->g->nvalues; i++) {
        Value *v = e->g->values[i];
        if (v->weight_offset < 0)
            continue;
        if (v->weight_offset > at)
            fn(ctx, zeros, (size_t)(v->weight_offset - at));
        size_t n = ir_value_bytes(v);
        fn(ctx, v->data, n);
        at = v->weight_offset + (int64_t)n;
    }
    if (e->weights_size > at)
        fn(ctx, zeros, (size_t)(e->weights_size - at));
}

typedef struct {
    Printer *p;
    size_t col;
} StrCtx;

/* Bytes as a string literal: compilers read these far faster than a list
 * of numbers. Octal escapes are always three digits, so a following digit
 * is never swallowed; '?' is escaped against trigraphs. */
static void string_bytes(void *ctx, const unsigned char *b, size_t n)
{
    StrCtx *s = ctx;
    char buf[4096 + 8];
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned c = b[i];
        if (s->col == 0)
            buf[len++] = '"';
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\' && c != '?') {
            buf[len++] = (char)c;
            s->col += 1;
        } else {
            buf[len++] = '\\';
            buf[len++] = (char)('0' + (c >> 6));
            buf[len++] = (char)('0' + ((c >> 3) & 7));
            buf[len++] = (char)('0' + (c & 7));
            s->col += 4;
        }
        if (s->col >= 76) {
            buf[len++] = '"';
            buf[len++] = '\n';
            s->col = 0;
        }
        if (len >= 4096) {
            pr_raw(s->p, buf, len);
            len = 0;
        }
    }
    pr_raw(s->p, buf, len);
}

void cg_embed_weights(CgEmit *e, Printer *p)
{
    if (e->weights_size == 0)
        return;
    pr(p, "\n/* Weights: %lld bytes, little-endian, each tensor %d-byte aligned. */\n",
       (long long)e->weights_size, WEIGHT_ALIGN);
    pr(p, "static const union {\n    unsigned char bytes[%lld];\n    double align;\n} "
          "DLC_ALIGN64 %s_weights = {\n", (long long)e->weights_size + 1, e->P);
    StrCtx s = {p, 0};
    for_each_weight_byte(e, string_bytes, &s);
    if (s.col)
        pr(p, "\"\n");
    pr(p, "};\n");
}

static void file_bytes(void *ctx, const unsigned char *b, size_t n)
{
    FILE *f = ctx;
    fwrite(b, 1, n, f);
}

void cg_write_weights(CgEmit *e, FILE *f)
{
    for_each_weight_byte(e, file_bytes, f);
}
