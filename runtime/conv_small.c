/* rt-deps: epilogue */
/* conv_small.c - convolutions with small output planes (7x7, 13x13,
 * 14x14: ResNet-50's last stages, SqueezeNet's classifier, MobileNet's
 * tail) as a GEMM whose vectors run along the output channels.
 *
 * conv.c's implicit GEMM puts 32 output positions in its vectors: a 7x7
 * plane fills 49 of 64 lanes (fewer with the junk columns of padding) and
 * such layers ran at 60-65 % of peak.  Here a register tile is 14
 * positions (13 on a 13x13 plane) x 32 output channels, positions
 * broadcast, and a last tile of at most 7 positions runs a 7-row kernel
 * (7x7: 14 + 14 + 14 + 7), so little or nothing is computed and dropped:
 *     y[m, q] = sum_k w[m, k] * B[k, q],  k = (c, kh, kw), q = oh*OW + ow
 *   - B is packed per tile of consecutive positions (im2col with
 *     the padding resolved: one masked gather per channel and tap on
 *     AVX-512) into rows of RT_CSM_LD floats, all tiles of an image before
 *     any product; a 1x1 stride-1 unpadded convolution reads its full
 *     tiles from x itself (B's rows are x's planes);
 *   - weights (packed at compile time): panels of 32 output channels,
 *     [group][panel][k][32], zero past M/group;
 *   - the micro-kernel sums a tile over the whole K; its store goes
 *     through a 14 x 32 buffer, transposed in registers 16 x 16 so that
 *     every output channel's run of positions is one vector (16 gathers
 *     per channel ran 19 % of a 1x1 layer's time), then the epilogue
 *     (bias, residual, activation) runs on that run while it is in L1.
 * Loop order: panels outer, so a panel's weights are read from memory
 * once and stay in L2 across the tiles.  With OpenMP the threads pack a
 * share of the tiles, meet once, then take a share of the panels, so
 * that each streams only its share of the weights (splitting the tiles
 * had both threads read all 2.4 MB of ResNet-50's layer3.0 3x3: 0.78 ms
 * at 2 threads, 0.62 by panels); the tiles only when there are fewer
 * panels than threads.
 */
#ifndef RT_EMBED
#include "rt_conv.h"
#endif

#if !defined(RT_NO_SIMD) && defined(__AVX512F__)
#  include <immintrin.h>
#  define RT_CSM_AVX512 1
#elif !defined(RT_NO_SIMD) && defined(__AVX2__) && defined(__FMA__)
#  include <immintrin.h>
#  define RT_CSM_AVX2 1
#endif
#ifdef _OPENMP
#  include <omp.h>
#endif

#define RT_CSM_NT 14               /* positions per tile, at most */
#define RT_CSM_LD 16               /* floats per packed row of a tile */
#define RT_CSM_MC 32               /* output channels per panel */
#define RT_CSM_MAX_POS 256         /* planes up to this many outputs */
/* K per block when K is larger: a block's weights (32 x KC floats, 576 KB)
 * and a tile's B (288 KB) still fit in L2.  Against blocks of 512, on one
 * thread in ResNet-50: layer4's 3x3 (K 4608) 0.97 -> 0.92 ms, its 1x1
 * downsample (K 1024, 4 tiles) 0.88 -> 0.80, the sum of all kernels 27.87
 * -> 27.50 ms; on 2 threads the same sum (15.12 / 15.13: the 3x3s lost
 * 0.015 ms each there, the downsample gained 0.03); SqueezeNet and
 * MobileNetV2 (K <= 960) unchanged. */
#define RT_CSM_KC 4608
#define RT_CSM_MIN_K 64            /* shorter sums stay in conv.c */
#define RT_CSM_PAR_MIN 4000000.0   /* flops below which one thread runs */
/* Weights prefetched this many k steps ahead (8 KB, ~900 cycles).  In a
 * network they come from memory; 16 steps did not cover the latency:
 * ResNet-50's layer4 3x3 took 1.22 ms in the network at 16, 1.08 at 64
 * (1.09 at 128).  Past a panel's end it fetches the next panel's. */
#define RT_CSM_WPF 64

typedef struct {
    ptrdiff_t cg, mg;       /* channels per group in / out */
    ptrdiff_t kk, K;        /* taps, cg * kk */
    ptrdiff_t npanel;       /* ceil(mg / MC) */
    ptrdiff_t P, ntiles;    /* output positions, tiles */
    int nt;                 /* positions per tile: 14, 13 or 7 */
    int direct;             /* 1x1, stride 1, unpadded: B is x */
} rt_csm_geom;

RT_INTERNAL void rt_csm_geometry(const rt_conv2d_shape *s, rt_csm_geom *g)
{
    g->cg = s->C / s->group;
    g->mg = s->M / s->group;
    g->kk = (ptrdiff_t)s->KH * s->KW;
    g->K = g->cg * g->kk;
    g->npanel = (g->mg + RT_CSM_MC - 1) / RT_CSM_MC;
    g->P = (ptrdiff_t)s->OH * s->OW;
    g->nt = g->P % 13 == 0 && g->P % 14 != 0 ? 13 : 14;
    g->ntiles = (g->P + g->nt - 1) / g->nt;
    g->direct = s->KH == 1 && s->KW == 1 && s->SH == 1 && s->SW == 1 &&
                s->PT == 0 && s->PL == 0 && s->OH == s->H && s->OW == s->W;
}

/* Worth it: planes too small for conv.c's 32-position vectors, enough
 * output channels to fill 32-channel panels mostly, and K >= 64: in
 * MobileNetV2, its 1x1 160->960 at 7x7 took 0.087 ms in conv.c, 0.070
 * here.  Larger planes stay in conv.c: ResNet-50's 1x1s at 56x56 and
 * 28x28 ran 10 % faster here alone but 5-15 % slower in the network. */
RT_API int rt_conv_small_fits(const rt_conv2d_shape *s)
{
    ptrdiff_t mg = s->M / s->group, p = (ptrdiff_t)s->OH * s->OW;
    ptrdiff_t k = (ptrdiff_t)(s->C / s->group) * s->KH * s->KW;
    return p <= RT_CSM_MAX_POS && mg >= 32 && (mg % 32 == 0 || mg >= 96) &&
           k >= RT_CSM_MIN_K && (ptrdiff_t)s->H * s->W < ((ptrdiff_t)1 << 30);
}

RT_API size_t rt_conv_small_packed_size(const rt_conv2d_shape *s)
{
    rt_csm_geom g;
    rt_csm_geometry(s, &g);
    return (size_t)s->group * (size_t)(g.npanel * RT_CSM_MC * g.K);
}

/* wp[((grp*npanel + q)*K + k)*MC + j] = w[grp*mg + q*MC + j][k], 0 past mg. */
RT_API void rt_conv_small_pack(const rt_conv2d_shape *s, const float *w, float *wp)
{
    rt_csm_geom g;
    ptrdiff_t grp, q, k, j;
    rt_csm_geometry(s, &g);
    for (grp = 0; grp < s->group; grp++)
        for (q = 0; q < g.npanel; q++) {
            float *d = wp + (grp * g.npanel + q) * g.K * RT_CSM_MC;
            for (j = 0; j < RT_CSM_MC; j++) {
                ptrdiff_t m = q * RT_CSM_MC + j;
                const float *src = w + (grp * g.mg + m) * g.K;
                for (k = 0; k < g.K; k++)
                    d[k * RT_CSM_MC + j] = m < g.mg ? src[k] : 0.0f;
            }
        }
}

/* Scratch (floats): the packed tiles of one group (direct: only the
 * partial last one), 64-byte aligned, then when K is blocked the partial
 * sums of every (tile, panel). */
RT_INTERNAL ptrdiff_t rt_csm_bpk_floats(const rt_csm_geom *g)
{
    return (g->direct ? 1 : g->ntiles) * g->K * RT_CSM_LD;
}

RT_INTERNAL ptrdiff_t rt_csm_cbuf_floats(const rt_csm_geom *g)
{
    return g->K > RT_CSM_KC ? g->ntiles * g->npanel * RT_CSM_NT * RT_CSM_MC : 0;
}

RT_API size_t rt_conv_small_scratch(const rt_conv2d_shape *s)
{
    rt_csm_geom g;
    rt_csm_geometry(s, &g);
    return (size_t)(rt_csm_bpk_floats(&g) + rt_csm_cbuf_floats(&g)) + 16;
}

/* ---- packing B ------------------------------------------------------------ */

/* Tile of positions [q0, q0 + n) of one group's input xg into bt:
 * bt[(c*kk + t)*LD + i] = input of position q0 + i under tap t, 0 in the
 * padding and for i >= n. */
RT_INTERNAL void rt_csm_pack_tile(const rt_conv2d_shape *s, const rt_csm_geom *g,
                                  const float *xg, ptrdiff_t q0, ptrdiff_t n,
                                  float *bt)
{
    ptrdiff_t hw = (ptrdiff_t)s->H * s->W, kh, kw, c;
    int i;
    for (kh = 0; kh < s->KH; kh++)
        for (kw = 0; kw < s->KW; kw++) {
            int off[RT_CSM_LD];
            unsigned valid = 0;
            float *d = bt + (kh * s->KW + kw) * RT_CSM_LD;
            for (i = 0; i < RT_CSM_LD; i++) {
                ptrdiff_t q = q0 + i, ih, iw;
                off[i] = 0;
                if (i >= n)
                    continue;
                ih = q / s->OW * s->SH - s->PT + kh * s->DH;
                iw = q % s->OW * s->SW - s->PL + kw * s->DW;
                if (ih >= 0 && ih < s->H && iw >= 0 && iw < s->W) {
                    off[i] = (int)(ih * s->W + iw);
                    valid |= 1u << i;
                }
            }
#if defined(RT_CSM_AVX512)
            {
                const __m512i vi = _mm512_loadu_si512((const void *)off);
                const __mmask16 vm = (__mmask16)valid;
                for (c = 0; c < g->cg; c++, d += g->kk * RT_CSM_LD)
                    _mm512_storeu_ps(d, _mm512_mask_i32gather_ps(
                                            _mm512_setzero_ps(), vm, vi,
                                            xg + c * hw, 4));
            }
#else
            for (c = 0; c < g->cg; c++, d += g->kk * RT_CSM_LD) {
                const float *xc = xg + c * hw;
                for (i = 0; i < RT_CSM_LD; i++)
                    d[i] = valid >> i & 1u ? xc[off[i]] : 0.0f;
            }
#endif
        }
}

/* ---- the micro-kernels ----------------------------------------------------- */
/* out[i*MC + j] (+)= sum_{k < K} b[k*ldb + i] * w[k*MC + j], i < nt, j < MC:
 * accumulating onto out when acc, else overwriting it.  Tiles of 14 or
 * 13 rows, and 7 for a short last tile (the 7-row kernel reads 0.64
 * loads per FMA against 0.57 for 14 rows: 7x7 planes as 7 tiles of 7 ran
 * 20 % slower than 14 + 14 + 14 + 7). */

#if defined(RT_CSM_AVX512)
#define RT_CSM_ROWS7(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6)
#define RT_CSM_ROWS13(X) RT_CSM_ROWS7(X) X(7) X(8) X(9) X(10) X(11) X(12)
#define RT_CSM_ROWS14(X) RT_CSM_ROWS13(X) X(13)
#define RT_CSM_ZERO(i) __m512 c##i##a = _mm512_setzero_ps(), c##i##b = c##i##a;
#define RT_CSM_GET(i)                                                  \
    c##i##a = _mm512_loadu_ps(out + (i) * RT_CSM_MC);                  \
    c##i##b = _mm512_loadu_ps(out + (i) * RT_CSM_MC + 16);
#define RT_CSM_ROW(i)                                                  \
    {                                                                  \
        const __m512 a_ = _mm512_set1_ps(b[i]);                        \
        c##i##a = _mm512_fmadd_ps(a_, w0, c##i##a);                    \
        c##i##b = _mm512_fmadd_ps(a_, w1, c##i##b);                    \
    }
#define RT_CSM_PUT(i)                                                  \
    _mm512_storeu_ps(out + (i) * RT_CSM_MC, c##i##a);                  \
    _mm512_storeu_ps(out + (i) * RT_CSM_MC + 16, c##i##b);
#define RT_CSM_KERNEL(name, ROWS)                                           \
    RT_INTERNAL RT_NOINLINE void name(ptrdiff_t K, const float *restrict b, \
                                      ptrdiff_t ldb, const float *restrict w, \
                                      float *restrict out, int acc)         \
    {                                                                       \
        ptrdiff_t k;                                                        \
        ROWS(RT_CSM_ZERO)                                                   \
        if (acc) {                                                          \
            ROWS(RT_CSM_GET)                                                \
        }                                                                   \
        for (k = 0; k < K; k++, b += ldb, w += RT_CSM_MC) {                 \
            const __m512 w0 = _mm512_loadu_ps(w), w1 = _mm512_loadu_ps(w + 16); \
            _mm_prefetch((const char *)(w + RT_CSM_WPF * RT_CSM_MC), _MM_HINT_T0); \
            _mm_prefetch((const char *)(w + RT_CSM_WPF * RT_CSM_MC + 16),       \
                         _MM_HINT_T0);                                      \
            ROWS(RT_CSM_ROW)                                                \
        }                                                                   \
        ROWS(RT_CSM_PUT)                                                    \
    }

RT_CSM_KERNEL(rt_csm_kernel14, RT_CSM_ROWS14)
RT_CSM_KERNEL(rt_csm_kernel13, RT_CSM_ROWS13)
RT_CSM_KERNEL(rt_csm_kernel7, RT_CSM_ROWS7)

RT_INTERNAL void rt_csm_kernel(int nt, ptrdiff_t K, const float *b, ptrdiff_t ldb,
                               const float *w, float *out, int acc)
{
    if (nt == 14)
        rt_csm_kernel14(K, b, ldb, w, out, acc);
    else if (nt == 13)
        rt_csm_kernel13(K, b, ldb, w, out, acc);
    else
        rt_csm_kernel7(K, b, ldb, w, out, acc);
}
#undef RT_CSM_KERNEL
#undef RT_CSM_ZERO
#undef RT_CSM_GET
#undef RT_CSM_ROW
#undef RT_CSM_PUT
#elif defined(RT_CSM_AVX2)
/* AVX2 + FMA: the 14 x 32 tile would take 56 ymm accumulators, so it runs
 * as passes over the whole K of up to 6 positions x 16 channels (12
 * accumulators; gemm.c's 6 x 16 turned around): each 16-channel half of
 * the panel, positions in groups as even as they come (14 = 5 + 5 + 4,
 * 13 = 5 + 4 + 4, 7 = 4 + 3); later passes re-read the weights and B
 * from L1/L2, the first prefetches the weights ahead. */
#define RT_CSM_AVX2_KB 64          /* k steps per slice */
/* Keeps v in a register: gcc 12 otherwise folds the weight loads into
 * every FMA (a 256-bit load per FMA, load-bound: SqueezeNet's classifier
 * 2.92 ms, 2.31-2.36 with this). */
#if defined(__GNUC__)
#  define RT_CSM_KEEP(v) __asm__("" : "+x"(v))
#else
#  define RT_CSM_KEEP(v) ((void)0)
#endif
#define RT_CSM_ROWS1(X) X(0)
#define RT_CSM_ROWS2(X) RT_CSM_ROWS1(X) X(1)
#define RT_CSM_ROWS3(X) RT_CSM_ROWS2(X) X(2)
#define RT_CSM_ROWS4(X) RT_CSM_ROWS3(X) X(3)
#define RT_CSM_ROWS5(X) RT_CSM_ROWS4(X) X(4)
#define RT_CSM_ROWS6(X) RT_CSM_ROWS5(X) X(5)
#define RT_CSM_ZERO(i) __m256 c##i##a = _mm256_setzero_ps(), c##i##b = c##i##a;
#define RT_CSM_GET(i)                                                  \
    c##i##a = _mm256_loadu_ps(out + (i) * RT_CSM_MC);                  \
    c##i##b = _mm256_loadu_ps(out + (i) * RT_CSM_MC + 8);
#define RT_CSM_ROW(i)                                                  \
    {                                                                  \
        const __m256 a_ = _mm256_broadcast_ss(b + (i));                \
        c##i##a = _mm256_fmadd_ps(a_, w0, c##i##a);                    \
        c##i##b = _mm256_fmadd_ps(a_, w1, c##i##b);                    \
    }
#define RT_CSM_PUT(i)                                                  \
    _mm256_storeu_ps(out + (i) * RT_CSM_MC, c##i##a);                  \
    _mm256_storeu_ps(out + (i) * RT_CSM_MC + 8, c##i##b);
#define RT_CSM_KERNEL(name, ROWS)                                           \
    RT_INTERNAL RT_NOINLINE void name(ptrdiff_t K, const float *restrict b, \
                                      ptrdiff_t ldb, const float *restrict w, \
                                      float *restrict out, int acc, int pfw) \
    {                                                                       \
        ptrdiff_t k;                                                        \
        ROWS(RT_CSM_ZERO)                                                   \
        if (acc) {                                                          \
            ROWS(RT_CSM_GET)                                                \
        }                                                                   \
        for (k = 0; k < K; k++, b += ldb, w += RT_CSM_MC) {                 \
            __m256 w0 = _mm256_loadu_ps(w), w1 = _mm256_loadu_ps(w + 8);    \
            RT_CSM_KEEP(w0);                                                \
            RT_CSM_KEEP(w1);                                                \
            if (pfw) {                                                      \
                _mm_prefetch((const char *)(w + RT_CSM_WPF * RT_CSM_MC),    \
                             _MM_HINT_T0);                                  \
                _mm_prefetch((const char *)(w + RT_CSM_WPF * RT_CSM_MC + 16), \
                             _MM_HINT_T0);                                  \
            }                                                               \
            ROWS(RT_CSM_ROW)                                                \
        }                                                                   \
        ROWS(RT_CSM_PUT)                                                    \
    }

RT_CSM_KERNEL(rt_csm_kernel1, RT_CSM_ROWS1)
RT_CSM_KERNEL(rt_csm_kernel2, RT_CSM_ROWS2)
RT_CSM_KERNEL(rt_csm_kernel3, RT_CSM_ROWS3)
RT_CSM_KERNEL(rt_csm_kernel4, RT_CSM_ROWS4)
RT_CSM_KERNEL(rt_csm_kernel5, RT_CSM_ROWS5)
RT_CSM_KERNEL(rt_csm_kernel6, RT_CSM_ROWS6)

RT_INTERNAL void rt_csm_kernel(int nt, ptrdiff_t K, const float *b, ptrdiff_t ldb,
                               const float *w, float *out, int acc)
{
    const int ng = (nt + 5) / 6;
    ptrdiff_t kb;
    int h, gi, i0, r;
    /* K in slices whose weights and B stay in L1 across the passes */
    for (kb = 0; kb < K; kb += RT_CSM_AVX2_KB) {
        const ptrdiff_t kc = RT_MIN(RT_CSM_AVX2_KB, K - kb);
        const float *bk = b + kb * ldb, *wk = w + kb * RT_CSM_MC;
        const int ak = acc || kb > 0;
        for (h = 0; h < 2; h++)
            for (gi = 0, i0 = 0; gi < ng; gi++, i0 += r) {
                const float *bi = bk + i0, *wh = wk + 8 * 2 * h;
                float *oi = out + i0 * RT_CSM_MC + 8 * 2 * h;
                const int pfw = h == 0 && gi == 0;
                r = (nt - i0 + (ng - gi) - 1) / (ng - gi);
                switch (r) {
                case 1: rt_csm_kernel1(kc, bi, ldb, wh, oi, ak, pfw); break;
                case 2: rt_csm_kernel2(kc, bi, ldb, wh, oi, ak, pfw); break;
                case 3: rt_csm_kernel3(kc, bi, ldb, wh, oi, ak, pfw); break;
                case 4: rt_csm_kernel4(kc, bi, ldb, wh, oi, ak, pfw); break;
                case 5: rt_csm_kernel5(kc, bi, ldb, wh, oi, ak, pfw); break;
                default: rt_csm_kernel6(kc, bi, ldb, wh, oi, ak, pfw); break;
                }
            }
    }
}

/* 8 x 8 transpose: r[i] lane j <- r[j] lane i. */
RT_INTERNAL void rt_csm_tr8x8(__m256 *r)
{
    __m256 t[8], u[8];
    int i;
    for (i = 0; i < 4; i++) {
        t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (i = 0; i < 2; i++) {
        u[4 * i + 0] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
        u[4 * i + 1] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], 0xEE);
        u[4 * i + 2] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
        u[4 * i + 3] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
    }
    for (i = 0; i < 4; i++) {
        r[i] = _mm256_permute2f128_ps(u[i], u[4 + i], 0x20);
        r[4 + i] = _mm256_permute2f128_ps(u[i], u[4 + i], 0x31);
    }
}

/* Lanes [0, n) of 8 as a maskload/maskstore mask (n may be out of [0, 8]). */
RT_INTERNAL __m256i rt_csm_mask8(ptrdiff_t n)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)RT_MAX(0, RT_MIN(n, 8))),
                              _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
#undef RT_CSM_KERNEL
#undef RT_CSM_ZERO
#undef RT_CSM_GET
#undef RT_CSM_ROW
#undef RT_CSM_PUT
#else
RT_INTERNAL RT_NOINLINE void rt_csm_kernel(int nt, ptrdiff_t K, const float *restrict b,
                                           ptrdiff_t ldb, const float *restrict w,
                                           float *restrict out, int acc)
{
    ptrdiff_t k;
    int i, j;
    for (i = 0; !acc && i < nt * RT_CSM_MC; i++)
        out[i] = 0.0f;
    for (k = 0; k < K; k++, b += ldb, w += RT_CSM_MC)
        for (i = 0; i < nt; i++) {
            const float a = b[i];
            float *o = out + i * RT_CSM_MC;
            for (j = 0; j < RT_CSM_MC; j++)
                o[j] = RT_FMA(a, w[j], o[j]);
        }
}
#endif

/* out (NT x MC, position-major) into y[m0 + j][q0 + i] for j < mr, i < n,
 * with the epilogue applied to each channel's run on the way (the
 * residual may be y itself: it is read before y is written). */
RT_INTERNAL void rt_csm_store(const float *out, ptrdiff_t n, int mr, float *y,
                              ptrdiff_t ldy, const float *bias, const float *res,
                              int act, float alpha, float beta)
{
    int j;
#if defined(RT_CSM_AVX512)
    const __mmask16 nm = (__mmask16)((1u << n) - 1u);
    const int inreg = act == RT_ACT_NONE || act == RT_ACT_RELU || act == RT_ACT_CLIP;
    /* min(max(v, lo), hi), operands in the order that keeps a NaN */
    const __m512 lo = _mm512_set1_ps(act == RT_ACT_RELU ? 0.0f
                                     : act == RT_ACT_CLIP ? alpha : -INFINITY);
    const __m512 hi = _mm512_set1_ps(act == RT_ACT_CLIP ? beta : INFINITY);
    int h, i;
    /* 16 channels at a time: rows = positions in, rows = channels out */
    for (h = 0; h < mr; h += 16) {
        __m512 r[16];
        for (i = 0; i < 16; i++)
            r[i] = i < n ? _mm512_loadu_ps(out + i * RT_CSM_MC + h) : _mm512_setzero_ps();
        rt_tr16x16(r);
        for (j = h; j < RT_MIN(h + 16, mr); j++) {
            __m512 v = r[j - h];
            if (bias)
                v = _mm512_add_ps(v, _mm512_set1_ps(bias[j]));
            if (res)
                v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(nm, res + j * ldy));
            if (inreg) {
                v = _mm512_min_ps(hi, _mm512_max_ps(lo, v));
            } else {
                float row[RT_CSM_LD];
                _mm512_storeu_ps(row, v);
                rt_activate_n(act, alpha, beta, row, n);
                v = _mm512_loadu_ps(row);
            }
            _mm512_mask_storeu_ps(y + j * ldy, nm, v);
        }
    }
#elif defined(RT_CSM_AVX2)
    const int inreg = act == RT_ACT_NONE || act == RT_ACT_RELU || act == RT_ACT_CLIP;
    const __m256 lo = _mm256_set1_ps(act == RT_ACT_RELU ? 0.0f
                                     : act == RT_ACT_CLIP ? alpha : -INFINITY);
    const __m256 hi = _mm256_set1_ps(act == RT_ACT_CLIP ? beta : INFINITY);
    const __m256i m0 = rt_csm_mask8(n), m1 = rt_csm_mask8(n - 8);
    int h, i;
    /* 8 channels at a time, positions 0-7 and 8-15 transposed 8 x 8 */
    for (h = 0; h < mr; h += 8) {
        __m256 r0[8], r1[8];
        for (i = 0; i < 8; i++) {
            r0[i] = i < n ? _mm256_loadu_ps(out + i * RT_CSM_MC + h) : _mm256_setzero_ps();
            r1[i] = 8 + i < n ? _mm256_loadu_ps(out + (8 + i) * RT_CSM_MC + h)
                              : _mm256_setzero_ps();
        }
        rt_csm_tr8x8(r0);
        rt_csm_tr8x8(r1);
        for (j = h; j < RT_MIN(h + 8, mr); j++) {
            __m256 v0 = r0[j - h], v1 = r1[j - h];
            float *yj = y + j * ldy;
            if (bias) {
                v0 = _mm256_add_ps(v0, _mm256_set1_ps(bias[j]));
                v1 = _mm256_add_ps(v1, _mm256_set1_ps(bias[j]));
            }
            if (res) {
                v0 = _mm256_add_ps(v0, _mm256_maskload_ps(res + j * ldy, m0));
                v1 = _mm256_add_ps(v1, _mm256_maskload_ps(res + j * ldy + 8, m1));
            }
            if (inreg) { /* operands in the order that keeps a NaN */
                v0 = _mm256_min_ps(hi, _mm256_max_ps(lo, v0));
                v1 = _mm256_min_ps(hi, _mm256_max_ps(lo, v1));
            } else {
                float row[RT_CSM_LD];
                _mm256_storeu_ps(row, v0);
                _mm256_storeu_ps(row + 8, v1);
                rt_activate_n(act, alpha, beta, row, n);
                v0 = _mm256_loadu_ps(row);
                v1 = _mm256_loadu_ps(row + 8);
            }
            if (n >= 8)
                _mm256_storeu_ps(yj, v0);
            else
                _mm256_maskstore_ps(yj, m0, v0);
            if (n >= 16)
                _mm256_storeu_ps(yj + 8, v1);
            else if (n > 8)
                _mm256_maskstore_ps(yj + 8, m1, v1);
        }
    }
#else
    ptrdiff_t i;
    for (j = 0; j < mr; j++) {
        float row[RT_CSM_LD];
        for (i = 0; i < n; i++)
            row[i] = out[i * RT_CSM_MC + j] + (bias ? bias[j] : 0.0f) +
                     (res ? res[j * ldy + i] : 0.0f);
        rt_activate_n(act, alpha, beta, row, n);
        for (i = 0; i < n; i++)
            y[j * ldy + i] = row[i];
    }
#endif
}

/* Panels [q0, q1) x tiles [t0, t1) of one group, K in blocks of RT_CSM_KC
 * (a block's weights, 32 x KC floats, stay in L2 across the tiles; the
 * partial sums of a (tile, panel) wait in cbuf between blocks). */
RT_INTERNAL void rt_csm_run(const rt_csm_geom *g, const float *xg,
                            const float *bpk, float *cbuf, const float *wg,
                            const float *bg, const float *rg, int act,
                            float alpha, float beta, float *yg, ptrdiff_t q0,
                            ptrdiff_t q1, ptrdiff_t t0, ptrdiff_t t1)
{
    float local[RT_CSM_NT * RT_CSM_MC];
    ptrdiff_t q, t, kb;
    for (kb = 0; kb < g->K; kb += RT_CSM_KC) {
        ptrdiff_t kc = RT_MIN(RT_CSM_KC, g->K - kb);
        for (q = q0; q < q1; q++) {
            ptrdiff_t m0 = q * RT_CSM_MC;
            int mr = (int)RT_MIN(RT_CSM_MC, g->mg - m0);
            const float *w = wg + (q * g->K + kb) * RT_CSM_MC;
            for (t = t0; t < t1; t++) {
                ptrdiff_t p0 = t * g->nt, n = RT_MIN(g->nt, g->P - p0);
                float *out = g->K > RT_CSM_KC
                                 ? cbuf + (t * g->npanel + q) * RT_CSM_NT * RT_CSM_MC
                                 : local;
                if (g->direct && n == g->nt)
                    rt_csm_kernel(g->nt, kc, xg + kb * g->P + p0, g->P, w, out, kb > 0);
                else
                    rt_csm_kernel(n <= 7 ? 7 : g->nt, kc,
                                  bpk + ((g->direct ? 0 : t * g->K) + kb) * RT_CSM_LD,
                                  RT_CSM_LD, w, out, kb > 0);
                if (kb + kc == g->K)
                    rt_csm_store(out, n, mr, yg + m0 * g->P + p0, g->P,
                                 bg ? bg + m0 : NULL, rg ? rg + m0 * g->P + p0 : NULL,
                                 act, alpha, beta);
            }
        }
    }
}

RT_API void rt_conv_small(const rt_conv2d_shape *s, const float *x,
                          const float *wp, const float *bias,
                          const float *residual, int act, float alpha,
                          float beta, float *y, float *scratch)
{
    rt_csm_geom g;
    float *bpk = (float *)(((uintptr_t)scratch + 63) / 64 * 64);
    ptrdiff_t hw = (ptrdiff_t)s->H * s->W;
    double flops;
    int par;
    rt_csm_geometry(s, &g);
    flops = 2.0 * (double)s->N * s->M * (double)g.P * (double)g.K;
    par = flops >= RT_CSM_PAR_MIN;
    (void)par;
#ifdef _OPENMP
    _Pragma("omp parallel if(par)")
#endif
    {
        int tid = 0, nt = 1;
        ptrdiff_t n, grp, t;
#ifdef _OPENMP
        tid = omp_get_thread_num();
        nt = omp_get_num_threads();
#endif
        for (n = 0; n < s->N; n++)
            for (grp = 0; grp < s->group; grp++) {
                const float *xg = x + (n * s->C + grp * g.cg) * hw;
                ptrdiff_t ob = (n * s->M + grp * g.mg) * g.P;
                ptrdiff_t q0 = 0, q1 = g.npanel, t0 = 0, t1 = g.ntiles;
                if (g.direct) {
                    /* only a partial last tile needs packing */
                    if (tid == 0 && g.P % g.nt)
                        rt_csm_pack_tile(s, &g, xg, (g.ntiles - 1) * g.nt,
                                         g.P % g.nt, bpk);
                } else {
                    for (t = g.ntiles * tid / nt; t < g.ntiles * (tid + 1) / nt; t++)
                        rt_csm_pack_tile(s, &g, xg, t * g.nt,
                                         RT_MIN(g.nt, g.P - t * g.nt),
                                         bpk + t * g.K * RT_CSM_LD);
                }
#ifdef _OPENMP
                _Pragma("omp barrier")
#endif
                if (nt > 1) {
                    if (g.npanel < nt) {
                        t0 = g.ntiles * tid / nt;
                        t1 = g.ntiles * (tid + 1) / nt;
                    } else {
                        q0 = g.npanel * tid / nt;
                        q1 = g.npanel * (tid + 1) / nt;
                    }
                }
                rt_csm_run(&g, xg, bpk, bpk + rt_csm_bpk_floats(&g), wp + grp * g.npanel * RT_CSM_MC * g.K,
                           bias ? bias + grp * g.mg : NULL,
                           residual ? residual + ob : NULL, act, alpha, beta,
                           y + ob, q0, q1, t0, t1);
#ifdef _OPENMP
                _Pragma("omp barrier") /* the packed tiles are rebuilt next */
#endif
            }
    }
}
