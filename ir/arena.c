/* Bump allocator: every IR object lives here and is freed in one go. */
#include "ir.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK_BYTES (1u << 20)

typedef struct Block {
    struct Block *next;
    size_t used, cap;
    _Alignas(16) unsigned char mem[];
} Block;

struct Arena {
    Block *head;
    size_t total;
};

Arena *ir_arena_new(void)
{
    Arena *a = calloc(1, sizeof *a);
    if (!a) {
        fprintf(stderr, "dlc: out of memory\n");
        exit(1);
    }
    return a;
}

void ir_arena_free(Arena *a)
{
    if (!a)
        return;
    for (Block *b = a->head, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    free(a);
}

void *ir_alloc(Arena *a, size_t size)
{
    size = (size + 15) & ~(size_t)15;
    Block *b = a->head;
    if (!b || b->cap - b->used < size) {
        size_t cap = size > BLOCK_BYTES / 4 ? size : BLOCK_BYTES;
        Block *nb = malloc(sizeof *nb + cap);
        if (!nb) {
            fprintf(stderr, "dlc: out of memory (%zu bytes)\n", size);
            exit(1);
        }
        nb->used = 0;
        nb->cap = cap;
        /* A big single allocation gets its own block behind the head so
         * the head's free space is not wasted. */
        if (b && cap != BLOCK_BYTES) {
            nb->next = b->next;
            b->next = nb;
        } else {
            nb->next = b;
            a->head = nb;
        }
        a->total += cap;
        b = nb;
    }
    void *p = b->mem + b->used;
    b->used += size;
    memset(p, 0, size);
    return p;
}

void *ir_alloc_array(Arena *a, size_t n, size_t elem)
{
    if (elem && n > SIZE_MAX / elem) {
        fprintf(stderr, "dlc: allocation size overflow\n");
        exit(1);
    }
    return ir_alloc(a, n * elem != 0 ? n * elem : 1);
}

char *ir_strndup(Arena *a, const char *s, size_t n)
{
    char *p = ir_alloc(a, n + 1);
    if (n)  /* an empty protobuf string or bytes field may be a NULL pointer */
        memcpy(p, s, n);
    p[n] = 0;
    return p;
}

char *ir_strdup(Arena *a, const char *s)
{
    return ir_strndup(a, s ? s : "", s ? strlen(s) : 0);
}

char *ir_sprintf(Arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *p = ir_alloc(a, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

size_t ir_arena_bytes(const Arena *a)
{
    return a->total;
}
