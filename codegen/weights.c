/* The weights blob: every constant a kernel reads, each 64-byte aligned,
 * embedded in the source as a string literal or written to its own file
 * (dlc --weights file). Constants with the same bytes share one place:
 * within a graph, and across the size buckets' graphs, whose weights are
 * mostly the same. */
#include "emit.h"

#include <string.h>
#include <unistd.h>

#define WEIGHT_ALIGN 64

static bool is_weight(const Value *v)
{
    return v->data && !v->is_input;
}

static uint64_t fnv1a(const unsigned char *b, size_t n)
{
    uint64_t h = 1469598103934665603u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211u;
    return h;
}

/* The offset of a blob with v's bytes, adding one when there is none. */
static int64_t place(CgEmit *e, const Value *v, int64_t *end)
{
    size_t n = ir_value_bytes(v);
    uint64_t h = fnv1a(v->data, n);
    for (int b = 0; b < e->nblobs; b++)
        if (e->blobs[b].hash == h && e->blobs[b].n == n && memcmp(e->blobs[b].data, v->data, n) == 0)
            return e->blobs[b].offset;
    if (e->nblobs == e->capblobs) {
        int cap = e->capblobs ? 2 * e->capblobs : 256;
        WeightBlob *a = ir_alloc_array(e->g->arena, (size_t)cap, sizeof *a);
        if (e->nblobs)
            memcpy(a, e->blobs, (size_t)e->nblobs * sizeof *a);
        e->blobs = a;
        e->capblobs = cap;
    }
    e->blobs[e->nblobs++] = (WeightBlob){v->data, n, h, *end};
    int64_t at = *end;
    *end += ((int64_t)n + WEIGHT_ALIGN - 1) / WEIGHT_ALIGN * WEIGHT_ALIGN;
    return at;
}

void cg_layout_weights(CgEmit *e, Graph *g, const bool *used)
{
    int64_t end = e->weights_size;
    for (int i = 0; i < g->nvalues; i++) {
        Value *v = g->values[i];
        v->weight_offset = -1;
        if (used[i] && is_weight(v))
            v->weight_offset = place(e, v, &end);
    }
    e->weights_size = end;
}

static void for_each_weight_byte(CgEmit *e, void (*fn)(void *, const unsigned char *, size_t),
                                 void *ctx)
{
    static const unsigned char zeros[WEIGHT_ALIGN];
    int64_t at = 0;
    for (int b = 0; b < e->nblobs; b++) {   /* in offset order */
        const WeightBlob *w = &e->blobs[b];
        if (w->offset > at)
            fn(ctx, zeros, (size_t)(w->offset - at));
        fn(ctx, w->data, w->n);
        at = w->offset + (int64_t)w->n;
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

/* path, absolute (relative ones from the working directory), as the text of
 * a C string literal whose value is an assembler string: '"' and '\' are
 * escaped for both, a newline for the assembler. */
static void asm_path_literal(Printer *p, const char *path)
{
    char cwd[4096];
    if (path[0] != '/' && getcwd(cwd, sizeof cwd)) {
        asm_path_literal(p, cwd);
        pr(p, "/");
    }
    for (const char *c = path; *c; c++) {
        if (*c == '"')
            pr(p, "\\\\\\\"");
        else if (*c == '\\')
            pr(p, "\\\\\\\\");
        else if (*c == '\n')
            pr(p, "\\\\n");
        else
            pr(p, "%c", *c);
    }
}

void cg_incbin_weights(CgEmit *e, Printer *p)
{
    if (e->weights_size == 0)
        return;
    pr(p, "\n/* Weights: %lld bytes in %s, assembled into this object by .incbin\n"
          " * (GNU toolchains, ELF targets). Built elsewhere than it was generated,\n"
          " * define %s_WEIGHTS_PATH as the file's path (a string literal). */\n",
       (long long)e->weights_size, cg_base_name(e->o->out_weights), e->UP);
    pr(p, "#if !defined(__GNUC__) || !defined(__ELF__)\n"
          "#error \"--weights incbin needs a GNU-compatible C compiler for an ELF target: "
          "generate with --weights embed or --weights file\"\n#endif\n");
    pr(p, "#ifndef %s_WEIGHTS_PATH\n#define %s_WEIGHTS_PATH \"", e->UP, e->UP);
    asm_path_literal(p, e->o->out_weights);
    pr(p, "\"\n#endif\n");
    pr(p, "__asm__(\".pushsection .rodata\\n\"\n"
          "        \".balign %d\\n\"\n"
          "        \"%s_weights_incbin:\\n\"\n"
          "        \".incbin \\\"\" %s_WEIGHTS_PATH \"\\\"\\n\"\n"
          "        \".popsection\\n\");\n",
       WEIGHT_ALIGN, e->P, e->UP);
    pr(p, "extern const unsigned char %s_weights_incbin[] __attribute__((visibility(\"hidden\")));\n",
       e->P);
}
