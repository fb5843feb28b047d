/* An rt_conv2d_shape from its sizes, the output size derived from the
 * padding (top/left PT, PL kept; bottom/right pb, pr only set OH, OW),
 * for the convolution kernel tests. */
#ifndef DLC_TEST_CONV_SHAPE_H
#define DLC_TEST_CONV_SHAPE_H

#include "../../runtime/rt_conv.h"

static inline rt_conv2d_shape make_shape(int N, int C, int H, int W, int M, int KH,
                                         int KW, int SH, int SW, int DH, int DW,
                                         int PT, int PL, int pb, int pr, int group)
{
    rt_conv2d_shape s;
    s.N = N;
    s.C = C;
    s.H = H;
    s.W = W;
    s.M = M;
    s.KH = KH;
    s.KW = KW;
    s.SH = SH;
    s.SW = SW;
    s.DH = DH;
    s.DW = DW;
    s.PT = PT;
    s.PL = PL;
    s.group = group;
    s.OH = (H + PT + pb - ((KH - 1) * DH + 1)) / SH + 1;
    s.OW = (W + PL + pr - ((KW - 1) * DW + 1)) / SW + 1;
    return s;
}

#endif
