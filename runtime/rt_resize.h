/* rt_resize.h - the Resize kernel's API (resize.c), for the compiler and
 * the unit tests; like rt.h, never pasted into model.c. */
#ifndef RT_RESIZE_H
#define RT_RESIZE_H

#include "rt.h"

/* ---- resize.c (rt-deps: none) ------------------------------------------ */

/* Most vertical taps rt_resize2d takes (its row cache is on the stack). */
#define RT_RESIZE_MAX_TH 32

/* Resize of the last two axes of `planes` float32 planes x: [planes, H, W]
 * -> y: [planes, OH, OW], from per-axis tap tables:
 *   y[p, oy, ox] = sum_{s < TH, t < TW} wy[oy*TH + s] * wx[t*OW + ox]
 *                  * x[p, iy[oy*TH + s], ix[t*OW + ox]]
 * (vertical taps row-major per output row, horizontal taps tap-major).
 * Indices lie in [0, H) and [0, W); the vertical taps of one output row
 * are TH consecutive rows, clamped to [0, H). Nearest: wy and wx NULL,
 * TH = TW = 1, y[p, oy, ox] = x[p, iy[oy], ix[ox]]. 1 <= TH <=
 * RT_RESIZE_MAX_TH; all sizes >= 1; y must not overlap x. */
RT_API void rt_resize2d(ptrdiff_t planes, int H, int W, int OH, int OW, int TH, int TW,
                        const int32_t *iy, const float *wy, const int32_t *ix, const float *wx,
                        const float *x, float *y);

#endif /* RT_RESIZE_H */
