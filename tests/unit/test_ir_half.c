/* ir/half.c (what folding uses) against runtime/half.c (what generated
 * code uses): every half and bfloat16 to float, and floats across the
 * whole range to half and bfloat16, must give the same bits. */
#include "check.h"
#include "ir/ir.h"
#include "runtime/rt.h"

#include <string.h>

static int mismatches;

/* Counts a mismatch, printing the first few. */
static void expect_same(const char *what, uint32_t in, uint32_t ir, uint32_t rt)
{
    if (ir == rt)
        return;
    if (mismatches++ < 10)
        fprintf(stderr, "%s(0x%08x): ir 0x%08x, runtime 0x%08x\n", what, in, ir, rt);
    check_failures++;
}

static uint32_t bits_of(float f)
{
    uint32_t x;
    memcpy(&x, &f, sizeof x);
    return x;
}

int main(void)
{
    for (uint32_t h = 0; h < 0x10000u; h++) {
        expect_same("h2f", h, bits_of(ir_h2f((uint16_t)h)), bits_of(rt_h2f((uint16_t)h)));
    }
    /* every 97th float bit pattern, plus the neighbours of each half and
     * of each rounding midpoint between halves */
    for (uint64_t x = 0; x <= 0xffffffffu; x += 97) {
        float f;
        uint32_t u = (uint32_t)x;
        memcpy(&f, &u, sizeof f);
        expect_same("f2h", u, ir_f2h(f), rt_f2h(f));
    }
    for (uint32_t h = 0; h < 0x7c00u; h++) {
        uint32_t mid = bits_of(rt_h2f((uint16_t)h)) + 0x1000u;  /* halfway up, normals */
        for (int d = -1; d <= 1; d++) {
            uint32_t u = mid + (uint32_t)d;
            float f;
            memcpy(&f, &u, sizeof f);
            expect_same("f2h", u, ir_f2h(f), rt_f2h(f));
            expect_same("f2h", u ^ 0x80000000u, ir_f2h(-f), rt_f2h(-f));
        }
    }
    /* bfloat16 the same way: every value widened, floats across the range
     * and each rounding midpoint (and its neighbours) narrowed */
    for (uint32_t b = 0; b < 0x10000u; b++)
        expect_same("bf2f", b, bits_of(ir_bf2f((uint16_t)b)), bits_of(rt_bf2f((uint16_t)b)));
    for (uint64_t x = 0; x <= 0xffffffffu; x += 97) {
        float f;
        uint32_t u = (uint32_t)x;
        memcpy(&f, &u, sizeof f);
        expect_same("f2bf", u, ir_f2bf(f), rt_f2bf(f));
    }
    for (uint32_t b = 0; b < 0x10000u; b++) {
        uint32_t mid = (b << 16) + 0x8000u;
        for (int d = -1; d <= 1; d++) {
            uint32_t u = mid + (uint32_t)d;
            float f;
            memcpy(&f, &u, sizeof f);
            expect_same("f2bf", u, ir_f2bf(f), rt_f2bf(f));
        }
    }
    return check_report("test_ir_half");
}
