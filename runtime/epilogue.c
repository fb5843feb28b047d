/* rt-deps: */
/* epilogue.c - bias, residual add and activation applied to a block of an
 * output while it is still in cache (see rt_epilogue in rt_common.h). */
#ifndef RT_EMBED
#include "rt.h"
#endif

RT_API float rt_activate(int act, float alpha, float beta, float x)
{
    switch (act) {
    case RT_ACT_RELU: return x > 0.0f ? x : 0.0f;
    case RT_ACT_CLIP: return x < alpha ? alpha : (x > beta ? beta : x);
    case RT_ACT_LEAKY_RELU: return x < 0.0f ? alpha * x : x;
    case RT_ACT_HARD_SWISH: {
        float h = x * (1.0f / 6.0f) + 0.5f;
        h = h < 0.0f ? 0.0f : (h > 1.0f ? 1.0f : h);
        return x * h;
    }
    case RT_ACT_SIGMOID: return 1.0f / (1.0f + expf(-x));
    case RT_ACT_GELU_ERF: return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
    case RT_ACT_GELU_TANH: {
        float u = 0.7978845608028654f * (x + 0.044715f * x * x * x);
        return 0.5f * x * (1.0f + tanhf(u));
    }
    default: return x;
    }
}

/* c[r][col0 .. col0+ncols) for r in [row0, row0+nrows), row stride ldc. */
RT_API void rt_epilogue_block(const rt_epilogue *ep, float *c, ptrdiff_t ldc, ptrdiff_t row0,
                              ptrdiff_t nrows, ptrdiff_t col0, ptrdiff_t ncols)
{
    ptrdiff_t r, j;
    if (!ep)
        return;
    for (r = row0; r < row0 + nrows; r++) {
        float *row = c + r * ldc + col0;
        if (ep->bias && ep->bias_rows) {
            float b = ep->bias[r];
            for (j = 0; j < ncols; j++)
                row[j] += b;
        } else if (ep->bias) {
            const float *b = ep->bias + col0;
            for (j = 0; j < ncols; j++)
                row[j] += b[j];
        }
        if (ep->residual) {
            const float *res = ep->residual + r * ep->ldr + col0;
            for (j = 0; j < ncols; j++)
                row[j] += res[j];
        }
        switch (ep->act) {
        case RT_ACT_NONE: break;
        case RT_ACT_RELU:   /* the common case, kept vectorisable */
            for (j = 0; j < ncols; j++)
                row[j] = row[j] > 0.0f ? row[j] : 0.0f;
            break;
        case RT_ACT_CLIP:
            for (j = 0; j < ncols; j++) {
                float x = row[j] < ep->alpha ? ep->alpha : row[j];
                row[j] = x > ep->beta ? ep->beta : x;
            }
            break;
        default:
            for (j = 0; j < ncols; j++)
                row[j] = rt_activate(ep->act, ep->alpha, ep->beta, row[j]);
            break;
        }
    }
}
