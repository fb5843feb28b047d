/* test_rt_embed.c - the runtime as model.c carries it.
 *
 * The code generator writes `#define RT_EMBED`, rt_common.h, then each
 * kernel file a model needs, dependencies first, into one translation unit.
 * This test builds the same unit with #include (the preprocessor sees the
 * same text) and checks that:
 *   - it compiles warning-free (the build uses -Wall -Wextra; the runtime's
 *     own checks add -std=c99 -pedantic -Werror), with every kernel static
 *     and unused ones silent;
 *   - the kernels' own `#include "rt.h"` is skipped, so a model.c needs no
 *     runtime header;
 *   - the embedded kernels compute: a small GEMM and a small convolution
 *     whose results are exact in float.
 * Exit status 0 on success.
 */
#define RT_EMBED
#include "../../runtime/rt_common.h"
#include "../../runtime/epilogue.c"
#include "../../runtime/gemm.c"
#include "../../runtime/depthwise.c"
#include "../../runtime/winograd.c"
#include "../../runtime/conv_small.c"
#include "../../runtime/conv.c"
#include "../../runtime/conv_transpose.c"
#include "../../runtime/softmax.c"
#include "../../runtime/attention.c"
#include "../../runtime/pool.c"
#include "../../runtime/resize.c"
#include "../../runtime/rnn.c"

#include <stdio.h>

#ifdef RT_H
#error "an embedded kernel file included rt.h"
#endif

static int gemm_small(void)
{
    /* [1 2 3; 4 5 6] * [1 0; 0 1; 1 1] = [4 5; 10 11]; then 2*that + 1*C */
    const float A[6] = {1, 2, 3, 4, 5, 6};
    const float B[6] = {1, 0, 0, 1, 1, 1};
    float C[4] = {1, 1, 1, 1};
    const float want[4] = {9, 11, 21, 23};
    float scratch[2048];
    int i, ok = rt_sgemm_scratch(2, 2, 3) <= sizeof scratch / sizeof scratch[0];
    if (ok)
        rt_sgemm(0, 0, 2, 2, 3, 2.0f, A, 3, B, 2, 1.0f, C, 2, scratch);
    for (i = 0; i < 4; i++)
        ok &= C[i] == want[i];
    printf("embed: rt_sgemm 2x2x3, alpha 2, beta 1: %s\n", ok ? "ok" : "FAIL");
    return ok;
}

static int conv_small(void)
{
    /* x 1x2x3x3: channel 0 = 1..9, channel 1 = 0; w 1x2x2x2 all ones; pad
     * 1 on top/left only; bias 10: y[oh][ow] = 10 + sum of the 2x2 window
     * of channel 0 ending at (oh, ow).  Two channels: the im2col path. */
    rt_conv2d_shape s = {1, 2, 3, 3, 1, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1};
    const float x[18] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    const float w[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    const float bias[1] = {10};
    const float want[9] = {11, 13, 15, 15, 22, 26, 21, 34, 38};
    float y[9], scratch[4096];
    int i, ok = rt_conv2d_scratch(&s) <= sizeof scratch / sizeof scratch[0];
    if (ok)
        rt_conv2d(&s, x, w, bias, y, scratch);
    for (i = 0; i < 9; i++)
        ok &= y[i] == want[i];
    printf("embed: rt_conv2d 3x3 input, 2x2 kernel, top/left pad: %s\n",
           ok ? "ok" : "FAIL");
    return ok;
}

int main(void)
{
    int ok = gemm_small();
    ok &= conv_small();
    printf("embed: %s\n", ok ? "PASS" : "FAIL");
    return ok ? 0 : 1;
}
