/* mutator.c's structure-aware mutations for AFL++ (a custom mutator
 * library, AFL_CUSTOM_MUTATOR_LIBRARY): afl-fuzz calls afl_custom_fuzz
 * beside its own byte-level stages. tests/fuzz/afl.py builds it as a
 * shared library, without instrumentation. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);

typedef struct {
    unsigned seed;
    uint8_t *buf;
    size_t cap;
} State;

/* mutator.c hands some inputs to libFuzzer's byte mutations; AFL++'s own
 * stages do those here, so this one flips one bit and stops. */
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size)
{
    static unsigned k;
    (void)max_size;
    k = k * 1103515245u + 12345u;
    if (size)
        data[(k >> 8) % size] ^= (uint8_t)(1u << (k >> 4) % 8);
    return size;
}

void *afl_custom_init(void *afl, unsigned int seed)
{
    State *s = calloc(1, sizeof *s);
    (void)afl;
    if (s)
        s->seed = seed;
    return s;
}

size_t afl_custom_fuzz(void *data, uint8_t *buf, size_t buf_size, uint8_t **out_buf,
                       uint8_t *add_buf, size_t add_buf_size, size_t max_size)
{
    State *s = data;
    (void)add_buf;
    (void)add_buf_size;
    if (buf_size > max_size)
        buf_size = max_size;
    if (s->cap < max_size) {
        uint8_t *p = realloc(s->buf, max_size);
        if (!p) {
            *out_buf = buf;
            return buf_size;
        }
        s->buf = p;
        s->cap = max_size;
    }
    memcpy(s->buf, buf, buf_size);
    *out_buf = s->buf;
    return LLVMFuzzerCustomMutator(s->buf, buf_size, max_size, s->seed++);
}

void afl_custom_deinit(void *data)
{
    State *s = data;
    free(s->buf);
    free(s);
}
