/* rt-deps: epilogue depthwise winograd conv_small */
/* conv.c - 2-D convolution, NCHW, float32 (1-D as H = 1), with the
 * epilogue (bias, residual add, activation) applied as each output is
 * stored.
 *
 * Algorithms (rt_conv2d_algo picks one from the shape alone, so that the
 * compiler and model.c agree on weight layout and scratch size):
 *   - RT_CONV_ALGO_DW: depthwise (group == C == M), depthwise.c; weights
 *     as they are;
 *   - RT_CONV_ALGO_SMALL: output planes of at most 256 positions with 32
 *     or more output channels per group, conv_small.c (vectors along the
 *     output channels);
 *   - RT_CONV_ALGO_GEMM: everything else, an implicit GEMM
 *         y[m, p] = sum_k w[m, k] * B[k, p],  k = (c, kh, kw)
 *     per group, over the output positions p, with B never materialised
 *     (no im2col):
 *       * the input is copied once into zero-padded "phase planes": for
 *         stride (SH, SW), plane (py, px) of channel c holds padded input
 *         pixel (i*SH + py, q*SW + px) at row i, column q, in rows of Wq
 *         floats.  Tap (kh, kw) of output (oh, ow) is then plane
 *         ((kh*DH) % SH, (kw*DW) % SW) at position (oh + kh*DH / SH)*Wq +
 *         ow + kw*DW / SW, i.e. output position p = oh*Wq + ow plus a
 *         constant offset per tap, so a run of consecutive positions reads
 *         a run of consecutive floats for every tap (a vector load).
 *         Positions with ow >= OW (Wq - OW per row) are computed and
 *         dropped when stored.  Only the phases some tap reads are built;
 *         1x1 stride-1 unpadded convolutions read x itself (Wq = W);
 *       * weights are packed (rt_conv2d_pack, at compile time) into panels
 *         of RT_CONV_MR output channels: panel[k][r], zero rows past M/group;
 *       * a register-blocked micro-kernel computes RT_CONV_MR channels x
 *         RT_CONV_NR positions over the whole K, and stores them with the
 *         epilogue: + bias, + residual, activation, dropping the junk
 *         positions (AVX-512: in-register compress; AVX2: a vector copy
 *         per run of kept lanes; elsewhere a scalar copy);
 *       * blocking: panels are taken in blocks whose weights fit L2
 *         (RT_CONV_WBLOCK bytes), every position tile runs against a
 *         block before the next block starts.
 *
 * Sums run over k in (c, kh, kw) order from the bias (or 0), fused
 * multiply-add where the target has one.  With OpenMP, the position tiles
 * (or, for few tiles, the panels) are split statically across threads in
 * one parallel region per call; small layers stay on one thread.
 *
 * The older entry point rt_conv2d (weights as ONNX stores them, no
 * epilogue besides bias) packs the weights into its scratch and runs the
 * same code.
 */
#ifndef RT_EMBED
#include "rt_conv.h"
#endif

#if !defined(RT_NO_SIMD) && defined(__AVX512F__)
#  include <immintrin.h>
#  define RT_CONV_AVX512 1
#elif !defined(RT_NO_SIMD) && defined(__AVX2__) && defined(__FMA__)
#  include <immintrin.h>
#  define RT_CONV_AVX2 1
#endif
#ifdef _OPENMP
#  include <omp.h>
#endif

/* Helpers the micro-kernel must inline (gcc 12 left the epilogue store a
 * call per row and half: 8 % of a SqueezeNet run). */
#ifdef __GNUC__
#  define RT_CONV_INLINE static inline __attribute__((always_inline, unused))
#else
#  define RT_CONV_INLINE static
#endif

#define RT_CONV_MR 8              /* output channels per panel (any target) */
#define RT_CONV_NR 32             /* output positions per tile */
#define RT_CONV_WBLOCK (384 * 1024) /* bytes of packed weights per block */
#define RT_CONV_WG_MIN_TILES 12    /* Winograd only with this many tiles */
#define RT_CONV_WG_MIN_C 16        /* and this many input channels */
#define RT_CONV_WPF 512            /* floats of weights prefetched ahead */
#define RT_CONV_PAR_MIN 4000000.0 /* flops below which one thread runs */
#define RT_CONV_PFO_THIS_K 64      /* K from which a tile prefetches its own output */
#if defined(RT_CONV_AVX2)
/* AVX2 sums a tile in about twice the time: the next tile's lines pay up
 * to K = 63 (MobileNetV2's 32 -> 16 1x1 at 112x112 0.39-0.52 -> 0.32-0.33
 * ms, its 24 -> 144 0.42-0.57 -> 0.37-0.41, stem 0.65-1.04 -> 0.59-0.65) */
#  define RT_CONV_PFO_NEXT_K 63
#else
#  define RT_CONV_PFO_NEXT_K 16      /* K up to which it prefetches the next tile's */
#endif

/* ---- geometry ---------------------------------------------------------- */

typedef struct {
    ptrdiff_t cg, mg;       /* channels per group in / out */
    ptrdiff_t kk;           /* taps KH*KW */
    ptrdiff_t K;            /* cg * kk */
    ptrdiff_t npanel;       /* panels per group: ceil(mg / MR) */
    int direct;             /* B is x itself (1x1, stride 1, unpadded) */
    ptrdiff_t nyph, nxph;   /* row / column phases built */
    ptrdiff_t hq, wq;       /* plane rows, row width */
    ptrdiff_t cs;           /* floats per input channel in the source */
    ptrdiff_t P;            /* positions: (OH - 1)*wq + OW */
} rt_conv_geom;

/* Phase of tap index t along one axis: (t*D) % S, and its rank among the
 * distinct phases of t = 0 .. n-1 (in order of first appearance). */
RT_INTERNAL ptrdiff_t rt_conv_phase_rank(ptrdiff_t t, ptrdiff_t D, ptrdiff_t S)
{
    ptrdiff_t ph = (t * D) % S, r = 0, u, v;
    for (u = 0; u < t; u++) {
        ptrdiff_t pu = (u * D) % S;
        int seen = 0;
        for (v = 0; v < u; v++)
            seen |= (v * D) % S == pu;
        if (pu == ph)
            return r;
        r += !seen;
    }
    return r;
}

RT_INTERNAL ptrdiff_t rt_conv_nphase(ptrdiff_t n, ptrdiff_t D, ptrdiff_t S)
{
    ptrdiff_t t, k = 0;
    for (t = 0; t < n; t++)
        k = RT_MAX(k, rt_conv_phase_rank(t, D, S) + 1);
    return k;
}

RT_INTERNAL void rt_conv_geometry(const rt_conv2d_shape *s, rt_conv_geom *g)
{
    g->cg = s->C / s->group;
    g->mg = s->M / s->group;
    g->kk = (ptrdiff_t)s->KH * s->KW;
    g->K = g->cg * g->kk;
    g->npanel = (g->mg + RT_CONV_MR - 1) / RT_CONV_MR;
    g->direct = s->KH == 1 && s->KW == 1 && s->SH == 1 && s->SW == 1 &&
                s->PT == 0 && s->PL == 0 && s->OH == s->H && s->OW == s->W;
    if (g->direct) {
        g->nyph = g->nxph = 1;
        g->hq = s->H;
        g->wq = s->W;
        g->cs = (ptrdiff_t)s->H * s->W;
    } else {
        g->nyph = rt_conv_nphase(s->KH, s->DH, s->SH);
        g->nxph = rt_conv_nphase(s->KW, s->DW, s->SW);
        g->hq = s->OH + ((ptrdiff_t)(s->KH - 1) * s->DH) / s->SH;
        g->wq = s->OW + ((ptrdiff_t)(s->KW - 1) * s->DW) / s->SW;
        g->cs = g->nyph * g->nxph * g->hq * g->wq;
    }
    g->P = (ptrdiff_t)(s->OH - 1) * g->wq + s->OW;
}

/* Tap offsets into one input channel of the source, k order (kh, kw). */
RT_INTERNAL void rt_conv_taps(const rt_conv2d_shape *s, const rt_conv_geom *g,
                              ptrdiff_t *toff)
{
    ptrdiff_t kh, kw, plane = g->hq * g->wq;
    for (kh = 0; kh < s->KH; kh++)
        for (kw = 0; kw < s->KW; kw++) {
            ptrdiff_t ry = rt_conv_phase_rank(kh, s->DH, s->SH);
            ptrdiff_t rx = rt_conv_phase_rank(kw, s->DW, s->SW);
            toff[kh * s->KW + kw] =
                g->direct ? 0
                          : (ry * g->nxph + rx) * plane +
                                (kh * s->DH / s->SH) * g->wq + kw * s->DW / s->SW;
        }
}

/* Scratch layout (floats): tap table (kk ptrdiff_t, 8-byte aligned), then
 * the phase planes of one group, 64-byte aligned. */
RT_INTERNAL size_t rt_conv_gemm_scratch(const rt_conv2d_shape *s)
{
    rt_conv_geom g;
    size_t n;
    rt_conv_geometry(s, &g);
    n = (size_t)g.kk * (sizeof(ptrdiff_t) / sizeof(float)) + 2 + 16;
    if (!g.direct)
        n += (size_t)(g.cg * g.cs);
    return n;
}

RT_INTERNAL void *rt_conv_align(void *p, size_t a)
{
    uintptr_t u = (uintptr_t)p;
    return (void *)(((u + a - 1) / a) * a);
}

/* ---- weights ------------------------------------------------------------ */

RT_INTERNAL size_t rt_conv_gemm_packed(const rt_conv2d_shape *s)
{
    rt_conv_geom g;
    rt_conv_geometry(s, &g);
    return (size_t)s->group * (size_t)(g.npanel * RT_CONV_MR * g.K);
}

/* wp[((grp*npanel + q)*K + k)*MR + r] = w[grp*mg + q*MR + r][k], 0 past mg. */
RT_INTERNAL void rt_conv_gemm_pack(const rt_conv2d_shape *s, const float *w,
                                   float *wp)
{
    rt_conv_geom g;
    ptrdiff_t grp, q, k, r;
    rt_conv_geometry(s, &g);
    for (grp = 0; grp < s->group; grp++)
        for (q = 0; q < g.npanel; q++) {
            float *d = wp + (grp * g.npanel + q) * g.K * RT_CONV_MR;
            for (r = 0; r < RT_CONV_MR; r++) {
                ptrdiff_t m = q * RT_CONV_MR + r;
                const float *src = w + (grp * g.mg + m) * g.K;
                for (k = 0; k < g.K; k++)
                    d[k * RT_CONV_MR + r] = m < g.mg ? src[k] : 0.0f;
            }
        }
}

/* ---- phase planes ------------------------------------------------------- */

/* d[q] = src[2q] for q in [0, n); reads src[0 .. 2n - 1) only. */
RT_INTERNAL void rt_conv_take2(const float *src, ptrdiff_t n, float *d)
{
    ptrdiff_t q = 0;
#if defined(RT_CONV_AVX512)
    const __m512i ev = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10,
                                        8, 6, 4, 2, 0);
    for (; q + 16 <= n; q += 16) { /* reads src[2q .. 2q + 31) */
        __m512 v0 = _mm512_loadu_ps(src + 2 * q);
        __m512 v1 = _mm512_maskz_loadu_ps((__mmask16)0x7FFF, src + 2 * q + 16);
        _mm512_storeu_ps(d + q, _mm512_permutex2var_ps(v0, ev, v1));
    }
#elif defined(RT_CONV_AVX2)
    for (; q + 8 < n; q += 8) { /* reads src[2q .. 2q + 16) <= 2n - 2 */
        const __m256 v0 = _mm256_loadu_ps(src + 2 * q), v1 = _mm256_loadu_ps(src + 2 * q + 8);
        const __m256 ev = _mm256_shuffle_ps(v0, v1, 0x88); /* 0 2 8 10 | 4 6 12 14 */
        _mm256_storeu_ps(d + q, _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(ev),
                                                                     0xD8)));
    }
#endif
    for (; q < n; q++)
        d[q] = src[2 * q];
}

/* Planes of input channel xc (H x W) into d (g->cs floats). */
RT_INTERNAL void rt_conv_fill(const rt_conv2d_shape *s, const rt_conv_geom *g,
                              const float *xc, float *d)
{
    ptrdiff_t ry, rx, i, q, kh, kw;
    for (ry = 0; ry < g->nyph; ry++) {
        ptrdiff_t py = 0;
        for (kh = 0; kh < s->KH; kh++) /* the phase with this rank */
            if (rt_conv_phase_rank(kh, s->DH, s->SH) == ry) {
                py = (kh * s->DH) % s->SH;
                break;
            }
        for (rx = 0; rx < g->nxph; rx++) {
            ptrdiff_t px = 0, qa, qb;
            float *pl = d + (ry * g->nxph + rx) * g->hq * g->wq;
            for (kw = 0; kw < s->KW; kw++)
                if (rt_conv_phase_rank(kw, s->DW, s->SW) == rx) {
                    px = (kw * s->DW) % s->SW;
                    break;
                }
            /* columns q with input column q*SW + px - PL in [0, W) */
            {
                ptrdiff_t first = px - s->PL;
                qa = first >= 0 ? 0 : (-first + s->SW - 1) / s->SW;
                qb = s->W - 1 - first < 0 ? 0 : (s->W - 1 - first) / s->SW + 1;
                qa = RT_MIN(qa, g->wq);
                qb = RT_MAX(qa, RT_MIN(qb, g->wq));
            }
            for (i = 0; i < g->hq; i++) {
                ptrdiff_t ih = i * s->SH + py - s->PT;
                float *dr = pl + i * g->wq;
                if (ih < 0 || ih >= s->H) {
                    memset(dr, 0, (size_t)g->wq * sizeof(float));
                    continue;
                }
                for (q = 0; q < qa; q++)
                    dr[q] = 0.0f;
                if (s->SW == 1) {
                    if (qb > qa)
                        memcpy(dr + qa, xc + ih * s->W + (qa + px - s->PL),
                               (size_t)(qb - qa) * sizeof(float));
                } else if (s->SW == 2) {
                    rt_conv_take2(xc + ih * s->W + (qa * 2 + px - s->PL), qb - qa,
                                  dr + qa);
                } else {
                    const float *src = xc + ih * s->W + (qa * s->SW + px - s->PL);
                    for (q = qa; q < qb; q++)
                        dr[q] = src[(q - qa) * s->SW];
                }
                for (q = qb; q < g->wq; q++)
                    dr[q] = 0.0f;
            }
        }
    }
}

/* ---- tiles and the epilogue store --------------------------------------- */

/* Output positions [p0, p0 + n) (n <= NR) as two 16-lane halves: lanes
 * whose column is < OW are stored, in order, at y index yo[h] onward. */
typedef struct {
    ptrdiff_t p0, n;
    unsigned lm[2];     /* lanes inside [p0, p0 + n) (loads) */
    unsigned vm[2];     /* lanes stored */
    ptrdiff_t yo[2];    /* y index of the first stored lane */
    int cnt[2];         /* lanes stored */
} rt_conv_tile;

RT_INTERNAL void rt_conv_tile_info(const rt_conv2d_shape *s, ptrdiff_t wq,
                                   ptrdiff_t p0, ptrdiff_t n, rt_conv_tile *t)
{
    int h, j;
    t->p0 = p0;
    t->n = n;
    for (h = 0; h < 2; h++) {
        ptrdiff_t ph = p0 + 16 * h, oh = ph / wq, ow = ph % wq;
        unsigned lm = 0, vm = 0;
        int cnt = 0;
        t->yo[h] = oh * s->OW + RT_MIN(ow, (ptrdiff_t)s->OW);
        for (j = 0; j < 16 && 16 * h + j < n; j++) {
            lm |= 1u << j;
            if (ow < s->OW) {
                vm |= 1u << j;
                cnt++;
            }
            if (++ow == wq)
                ow = 0;
        }
        t->lm[h] = lm;
        t->vm[h] = vm;
        t->cnt[h] = cnt;
    }
}

/* Where a panel's outputs go and what the epilogue adds. */
typedef struct {
    float *y;               /* output channel of panel row 0 (its plane) */
    ptrdiff_t ldy;          /* floats between output channels: OH*OW */
    const float *bias;      /* bias of row 0, or NULL */
    const float *res;       /* residual plane of row 0 (like y), or NULL */
    int mr;                 /* rows stored (<= MR) */
    int act;
    float alpha, beta;
    int accum;              /* start from the sums already in y (a later
                             * slice of the channels; AVX-512 only) */
} rt_conv_out;

/* Generic store of acc[MR][NR] (portable targets, and AVX-512 for the
 * activations it does not do in registers). */
RT_INTERNAL void rt_conv_store(const rt_conv_tile *t, const rt_conv_out *o,
                               const float *acc)
{
    int r, h, j;
    for (r = 0; r < o->mr; r++) {
        const float b = o->bias ? o->bias[r] : 0.0f;
        float *yr = o->y + r * o->ldy;
        const float *rr = o->res ? o->res + r * o->ldy : NULL;
        for (h = 0; h < 2; h++) {
            ptrdiff_t at = t->yo[h], at0 = at;
            for (j = 0; j < 16; j++) {
                float v;
                if (!(t->vm[h] >> j & 1u))
                    continue;
                v = acc[r * RT_CONV_NR + 16 * h + j] + b;
                if (rr)
                    v += rr[at];
                yr[at++] = v;
            }
            /* the run just stored is contiguous: the vectorised activation
             * (exp-based ones cost a scalar libm call per element here) */
            if (o->act != RT_ACT_NONE)
                rt_activate_n(o->act, o->alpha, o->beta, yr + at0, at - at0);
        }
    }
}

/* Starts fetching the lines a store will touch (the residual to read, the
 * output to own) while the sums run: the rows of a panel lie a plane
 * apart, a stride no hardware prefetcher follows, and without this the
 * store waited on them (ResNet-50's 56x56 1x1 convolutions with a
 * residual ran at half the speed of those without).  RT_CONV_PFO_THIS:
 * this tile's lines, from K = 64; RT_CONV_PFO_NEXT: the next tile's, up to
 * K = 16, whose sums end before a miss is served; neither in between, where
 * both cost more than they saved.  Measured in MobileNetV2 (min of 5 runs):
 * 16 -> 96 1x1 on 112x112 0.268 ms with this tile's lines, 0.242 with none,
 * 0.209 with the next tile's; the stem (K = 27) 0.177 / 0.162 / 0.164, the
 * 24 -> 144 1x1s 0.111 / 0.096 / 0.102. */
#define RT_CONV_PFO_THIS 1
#define RT_CONV_PFO_NEXT 2
RT_CONV_INLINE void rt_conv_prefetch_out(const rt_conv_tile *t,
                                         const rt_conv_out *o, int mode)
{
#if defined(__GNUC__)
    ptrdiff_t a, b;
    int r;
    if (!t->cnt[0] && !t->cnt[1])
        return;
    if (mode == RT_CONV_PFO_NEXT) {
        /* from the position after this tile's to the plane's end at most
         * (none after the plane's last tile) */
        a = t->cnt[1] ? t->yo[1] + t->cnt[1] : t->yo[0] + t->cnt[0];
        b = RT_MIN(a + RT_CONV_NR - 1, o->ldy - 1);
        if (a > b)
            return;
    } else {
        a = t->cnt[0] ? t->yo[0] : t->yo[1];
        b = t->yo[1] + (t->cnt[1] > 0 ? t->cnt[1] - 1 : 0);
    }
    for (r = 0; r < o->mr; r++) {
        const float *yr = o->y + r * o->ldy;
        __builtin_prefetch(yr + a, 1, 3);
        __builtin_prefetch(yr + b, 1, 3);
        if (o->res) {
            __builtin_prefetch(o->res + r * o->ldy + a, 0, 3);
            __builtin_prefetch(o->res + r * o->ldy + b, 0, 3);
        }
    }
#else
    (void)t;
    (void)o;
    (void)mode;
#endif
}

/* ---- micro-kernels ------------------------------------------------------- */
/* acc[r][j] = sum_{c < nc, t < kk} wp[(c*kk + t)*MR + r] *
 *             src[c*cs + toff[t] + p0 + j], lanes j of t->lm only. */

#if defined(RT_CONV_AVX512)
/* act(v) in registers; RT_ACT_NONE, RELU, CLIP, LEAKY_RELU, HARD_SWISH. */
RT_INTERNAL int rt_conv_act_inreg(int act)
{
    return act == RT_ACT_NONE || act == RT_ACT_RELU || act == RT_ACT_CLIP ||
           act == RT_ACT_LEAKY_RELU || act == RT_ACT_HARD_SWISH;
}

RT_CONV_INLINE __m512 rt_conv_act512(__m512 v, int act, float alpha, float beta)
{
    switch (act) {
    case RT_ACT_RELU:
        return _mm512_max_ps(v, _mm512_setzero_ps());
    case RT_ACT_CLIP:
        return _mm512_min_ps(_mm512_max_ps(v, _mm512_set1_ps(alpha)),
                             _mm512_set1_ps(beta));
    case RT_ACT_LEAKY_RELU: {
        __mmask16 neg = _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_LT_OQ);
        return _mm512_mask_mul_ps(v, neg, v, _mm512_set1_ps(alpha));
    }
    case RT_ACT_HARD_SWISH: {
        __m512 h = _mm512_fmadd_ps(v, _mm512_set1_ps(1.0f / 6.0f),
                                   _mm512_set1_ps(0.5f));
        h = _mm512_min_ps(_mm512_max_ps(h, _mm512_setzero_ps()),
                          _mm512_set1_ps(1.0f));
        return _mm512_mul_ps(v, h);
    }
    default:
        return v;
    }
}

/* One half (16 lanes) of one row as stored in y (junk lanes 0): the sums
 * of the channels before this slice. */
RT_CONV_INLINE __m512 rt_conv_get512(const rt_conv_tile *t, int h, const rt_conv_out *o, int r)
{
    __mmask16 vm = (__mmask16)t->vm[h];
    __mmask16 cm = (__mmask16)((1u << t->cnt[h]) - 1u);
    __m512 v = _mm512_maskz_loadu_ps(cm, o->y + t->yo[h] + r * o->ldy);
    return t->vm[h] != (1u << t->cnt[h]) - 1u ? _mm512_maskz_expand_ps(vm, v) : v;
}

/* One half (16 lanes) of one row: + bias + residual, act, store. */
RT_CONV_INLINE void rt_conv_put512(__m512 v, const rt_conv_tile *t, int h,
                                const rt_conv_out *o, int r)
{
    __mmask16 vm = (__mmask16)t->vm[h];
    __mmask16 cm = (__mmask16)((1u << t->cnt[h]) - 1u);
    int compact = t->vm[h] != (1u << t->cnt[h]) - 1u;
    ptrdiff_t at = t->yo[h] + r * o->ldy;
    if (!vm)
        return;
    if (o->bias)
        v = _mm512_add_ps(v, _mm512_set1_ps(o->bias[r]));
    if (o->res) {
        __m512 rv = _mm512_maskz_loadu_ps(cm, o->res + at);
        if (compact)
            rv = _mm512_maskz_expand_ps(vm, rv);
        v = _mm512_add_ps(v, rv);
    }
    v = rt_conv_act512(v, o->act, o->alpha, o->beta);
    if (compact)
        v = _mm512_maskz_compress_ps(vm, v);
    _mm512_mask_storeu_ps(o->y + at, cm, v);
}

/* Where a tile's two halves go, for rt_conv_put_fast. */
typedef struct {
    __m512 lo, hi;          /* act = min(max(v, lo), hi): none, relu, clip */
    __mmask16 vm0, vm1;     /* lanes kept */
    __mmask16 cm0, cm1;     /* the first popcount lanes */
    int compact;            /* some kept lanes are not a prefix */
    ptrdiff_t off1;         /* y offset of half 1 from half 0 */
} rt_conv_fast;

/* One row of a panel, both halves: min(max(v + b (+ r), lo), hi), junk
 * lanes dropped (compress) when the tile has any; r: the residual row at
 * y's offset, or NULL. */
RT_CONV_INLINE void rt_conv_put_fast(__m512 v0, __m512 v1, float b,
                                     const rt_conv_fast *f, float *y,
                                     const float *r)
{
    const __m512 vb = _mm512_set1_ps(b);
    v0 = _mm512_add_ps(v0, vb);
    v1 = _mm512_add_ps(v1, vb);
    if (r) {
        __m512 r0 = _mm512_maskz_loadu_ps(f->cm0, r);
        __m512 r1 = _mm512_maskz_loadu_ps(f->cm1, r + f->off1);
        if (f->compact) {
            r0 = _mm512_maskz_expand_ps(f->vm0, r0);
            r1 = _mm512_maskz_expand_ps(f->vm1, r1);
        }
        v0 = _mm512_add_ps(v0, r0);
        v1 = _mm512_add_ps(v1, r1);
    }
    /* operands in this order keep a NaN (vmaxps/vminps return the second) */
    v0 = _mm512_min_ps(f->hi, _mm512_max_ps(f->lo, v0));
    v1 = _mm512_min_ps(f->hi, _mm512_max_ps(f->lo, v1));
    if (f->compact) {
        v0 = _mm512_maskz_compress_ps(f->vm0, v0);
        v1 = _mm512_maskz_compress_ps(f->vm1, v1);
    }
    _mm512_mask_storeu_ps(y, f->cm0, v0);
    _mm512_mask_storeu_ps(y + f->off1, f->cm1, v1);
}

/* Row r of the tile: weight r of this step times both input vectors. */
#define RT_CONV_FMA2(r, u, v)                                                  \
    do {                                                                       \
        a = _mm512_set1_ps(wp[r]);                                             \
        u = _mm512_fmadd_ps(a, b0, u);                                         \
        v = _mm512_fmadd_ps(a, b1, v);                                         \
    } while (0)

/* One k step of the 8 x 32 tile: b0/b1 from b (lanes of m0/m1 only
 * unless the tile is full), the weights of step wp. */
#define RT_CONV_STEP(b, full)                                                  \
    do {                                                                       \
        __m512 b0 = (full) ? _mm512_loadu_ps(b)                                \
                           : _mm512_maskz_loadu_ps(m0, b);                   \
        __m512 b1, a;                                                          \
        if ((full) != 2) { /* 2: a packed slice, in L1 already */              \
            _mm_prefetch((const char *)((b) + pf), _MM_HINT_T0);               \
            _mm_prefetch((const char *)((b) + pf + 16), _MM_HINT_T0);          \
        }                                                                      \
        _mm_prefetch((const char *)(wp + RT_CONV_WPF), _MM_HINT_T0);           \
        b1 = (full) ? _mm512_loadu_ps((b) + 16)                                \
                    : _mm512_maskz_loadu_ps(m1, (b) + 16);                     \
        RT_CONV_FMA2(0, c00, c01);                                             \
        RT_CONV_FMA2(1, c10, c11);                                             \
        RT_CONV_FMA2(2, c20, c21);                                             \
        RT_CONV_FMA2(3, c30, c31);                                             \
        RT_CONV_FMA2(4, c40, c41);                                             \
        RT_CONV_FMA2(5, c50, c51);                                             \
        RT_CONV_FMA2(6, c60, c61);                                             \
        RT_CONV_FMA2(7, c70, c71);                                             \
        wp += RT_CONV_MR;                                                      \
    } while (0)

RT_INTERNAL RT_NOINLINE void rt_conv_kernel(const float *restrict wp,
                                            const float *restrict src,
                                            ptrdiff_t cs, ptrdiff_t nc,
                                            const ptrdiff_t *toff, ptrdiff_t kk,
                                            const rt_conv_tile *t,
                                            const rt_conv_out *o, ptrdiff_t pf,
                                            int pfo)
{
    __m512 c00 = _mm512_setzero_ps(), c01 = _mm512_setzero_ps();
    __m512 c10 = _mm512_setzero_ps(), c11 = _mm512_setzero_ps();
    __m512 c20 = _mm512_setzero_ps(), c21 = _mm512_setzero_ps();
    __m512 c30 = _mm512_setzero_ps(), c31 = _mm512_setzero_ps();
    __m512 c40 = _mm512_setzero_ps(), c41 = _mm512_setzero_ps();
    __m512 c50 = _mm512_setzero_ps(), c51 = _mm512_setzero_ps();
    __m512 c60 = _mm512_setzero_ps(), c61 = _mm512_setzero_ps();
    __m512 c70 = _mm512_setzero_ps(), c71 = _mm512_setzero_ps();
    const __mmask16 m0 = (__mmask16)t->lm[0], m1 = (__mmask16)t->lm[1];
    const float *bc = src + t->p0;
    ptrdiff_t c, i;
    if (pfo)
        rt_conv_prefetch_out(t, o, pfo);
    if (o->accum) {
        switch (o->mr) {
        default:
        case 8: c70 = rt_conv_get512(t, 0, o, 7); c71 = rt_conv_get512(t, 1, o, 7); /* fall through */
        case 7: c60 = rt_conv_get512(t, 0, o, 6); c61 = rt_conv_get512(t, 1, o, 6); /* fall through */
        case 6: c50 = rt_conv_get512(t, 0, o, 5); c51 = rt_conv_get512(t, 1, o, 5); /* fall through */
        case 5: c40 = rt_conv_get512(t, 0, o, 4); c41 = rt_conv_get512(t, 1, o, 4); /* fall through */
        case 4: c30 = rt_conv_get512(t, 0, o, 3); c31 = rt_conv_get512(t, 1, o, 3); /* fall through */
        case 3: c20 = rt_conv_get512(t, 0, o, 2); c21 = rt_conv_get512(t, 1, o, 2); /* fall through */
        case 2: c10 = rt_conv_get512(t, 0, o, 1); c11 = rt_conv_get512(t, 1, o, 1); /* fall through */
        case 1: c00 = rt_conv_get512(t, 0, o, 0); c01 = rt_conv_get512(t, 1, o, 0);
        }
    }
    if (kk == 1 && m0 == 0xFFFF && m1 == 0xFFFF) {
        /* 1x1 (and 1-tap) convolutions, whole tiles: unmasked loads, one
         * pointer stepping through the channels (MobileNetV2's 16 -> 96
         * 1x1: 0.215 -> 0.197 ms alone) */
        if (pf)
            for (c = 0, bc += toff[0]; c < nc; c++, bc += cs)
                RT_CONV_STEP(bc, 1);
        else
            for (c = 0, bc += toff[0]; c < nc; c++, bc += cs)
                RT_CONV_STEP(bc, 2);
    } else {
        for (c = 0; c < nc; c++, bc += cs)
            for (i = 0; i < kk; i++)
                RT_CONV_STEP(bc + toff[i], 0);
    }
    if (!rt_conv_act_inreg(o->act)) {
        float acc[RT_CONV_MR * RT_CONV_NR];
        _mm512_storeu_ps(acc + 0 * 32, c00);
        _mm512_storeu_ps(acc + 0 * 32 + 16, c01);
        _mm512_storeu_ps(acc + 1 * 32, c10);
        _mm512_storeu_ps(acc + 1 * 32 + 16, c11);
        _mm512_storeu_ps(acc + 2 * 32, c20);
        _mm512_storeu_ps(acc + 2 * 32 + 16, c21);
        _mm512_storeu_ps(acc + 3 * 32, c30);
        _mm512_storeu_ps(acc + 3 * 32 + 16, c31);
        _mm512_storeu_ps(acc + 4 * 32, c40);
        _mm512_storeu_ps(acc + 4 * 32 + 16, c41);
        _mm512_storeu_ps(acc + 5 * 32, c50);
        _mm512_storeu_ps(acc + 5 * 32 + 16, c51);
        _mm512_storeu_ps(acc + 6 * 32, c60);
        _mm512_storeu_ps(acc + 6 * 32 + 16, c61);
        _mm512_storeu_ps(acc + 7 * 32, c70);
        _mm512_storeu_ps(acc + 7 * 32 + 16, c71);
        rt_conv_store(t, o, acc);
        return;
    }
    if (o->mr == RT_CONV_MR &&
        (o->act == RT_ACT_NONE || o->act == RT_ACT_RELU || o->act == RT_ACT_CLIP)) {
        /* the common case: a whole panel, min/max activations */
        rt_conv_fast f;
        float *y = o->y + t->yo[0];
        const float *r = o->res ? o->res + t->yo[0] : NULL;
        const ptrdiff_t ld = o->ldy;
        const float zb[RT_CONV_MR] = {0};
        const float *b = o->bias ? o->bias : zb;
        f.lo = _mm512_set1_ps(o->act == RT_ACT_NONE ? -INFINITY
                              : o->act == RT_ACT_RELU ? 0.0f : o->alpha);
        f.hi = _mm512_set1_ps(o->act == RT_ACT_CLIP ? o->beta : INFINITY);
        f.vm0 = (__mmask16)t->vm[0];
        f.vm1 = (__mmask16)t->vm[1];
        f.cm0 = (__mmask16)((1u << t->cnt[0]) - 1u);
        f.cm1 = (__mmask16)((1u << t->cnt[1]) - 1u);
        f.compact = t->vm[0] != (1u << t->cnt[0]) - 1u || t->vm[1] != (1u << t->cnt[1]) - 1u;
        f.off1 = t->yo[1] - t->yo[0];
        rt_conv_put_fast(c00, c01, b[0], &f, y + 0 * ld, r ? r + 0 * ld : NULL);
        rt_conv_put_fast(c10, c11, b[1], &f, y + 1 * ld, r ? r + 1 * ld : NULL);
        rt_conv_put_fast(c20, c21, b[2], &f, y + 2 * ld, r ? r + 2 * ld : NULL);
        rt_conv_put_fast(c30, c31, b[3], &f, y + 3 * ld, r ? r + 3 * ld : NULL);
        rt_conv_put_fast(c40, c41, b[4], &f, y + 4 * ld, r ? r + 4 * ld : NULL);
        rt_conv_put_fast(c50, c51, b[5], &f, y + 5 * ld, r ? r + 5 * ld : NULL);
        rt_conv_put_fast(c60, c61, b[6], &f, y + 6 * ld, r ? r + 6 * ld : NULL);
        rt_conv_put_fast(c70, c71, b[7], &f, y + 7 * ld, r ? r + 7 * ld : NULL);
        return;
    }
    switch (o->mr) { /* rows past mr are padding: not stored */
    default:
    case 8: rt_conv_put512(c70, t, 0, o, 7); rt_conv_put512(c71, t, 1, o, 7); /* fall through */
    case 7: rt_conv_put512(c60, t, 0, o, 6); rt_conv_put512(c61, t, 1, o, 6); /* fall through */
    case 6: rt_conv_put512(c50, t, 0, o, 5); rt_conv_put512(c51, t, 1, o, 5); /* fall through */
    case 5: rt_conv_put512(c40, t, 0, o, 4); rt_conv_put512(c41, t, 1, o, 4); /* fall through */
    case 4: rt_conv_put512(c30, t, 0, o, 3); rt_conv_put512(c31, t, 1, o, 3); /* fall through */
    case 3: rt_conv_put512(c20, t, 0, o, 2); rt_conv_put512(c21, t, 1, o, 2); /* fall through */
    case 2: rt_conv_put512(c10, t, 0, o, 1); rt_conv_put512(c11, t, 1, o, 1); /* fall through */
    case 1: rt_conv_put512(c00, t, 0, o, 0); rt_conv_put512(c01, t, 1, o, 0);
    }
}
#undef RT_CONV_STEP
#undef RT_CONV_FMA2
#elif defined(RT_CONV_AVX2)
/* AVX2 + FMA: 16 ymm registers hold half the 8 x 32 tile at most, so the
 * tile runs in three passes over K, each with its accumulators in
 * registers: rows 0-5 x positions 0-15, rows 0-5 x 16-31 (12 each, the
 * shape of gemm.c's 6 x 16), rows 6-7 x 0-31 (8); the weights are re-read
 * from L1/L2 by the later passes.  The sums go to a stack tile, then to y
 * with the epilogue (rt_conv_store8). */

/* Lanes [0, n) of 8 as a maskload mask (n may be out of [0, 8]). */
RT_CONV_INLINE __m256i rt_conv_mask8(ptrdiff_t n)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)RT_MAX(0, RT_MIN(n, 8))),
                              _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* k steps per slice of K: a slice's weights (4 KB) and input rows (16 KB)
 * stay in L1 across the three passes */
#ifndef RT_CONV_AVX2_KS
#  define RT_CONV_AVX2_KS 128
#endif

#define RT_CONV_LD8(p, m) ((full) ? _mm256_loadu_ps(p) : _mm256_maskload_ps((p), (m)))
/* Keeps v in a register: gcc 12 otherwise folds the input loads into
 * every FMA (a 256-bit load per FMA, load-bound). */
#if defined(__GNUC__)
#  define RT_CONV_KEEP(v) __asm__("" : "+x"(v))
#else
#  define RT_CONV_KEEP(v) ((void)0)
#endif

/* One k step of rows 0-5 x 16 positions at b. */
#define RT_CONV_STEP6(b)                                                       \
    do {                                                                       \
        __m256 b0 = RT_CONV_LD8((b), m0), b1 = RT_CONV_LD8((b) + 8, m1), a;    \
        RT_CONV_KEEP(b0);                                                      \
        RT_CONV_KEEP(b1);                                                      \
        if (pfw) {                                                             \
            _mm_prefetch((const char *)((b) + pf), _MM_HINT_T0);               \
            _mm_prefetch((const char *)((b) + pf + 16), _MM_HINT_T0);          \
            _mm_prefetch((const char *)(wp + RT_CONV_WPF), _MM_HINT_T0);       \
        }                                                                      \
        a = _mm256_broadcast_ss(wp + 0);                                       \
        c00 = _mm256_fmadd_ps(a, b0, c00);                                     \
        c01 = _mm256_fmadd_ps(a, b1, c01);                                     \
        a = _mm256_broadcast_ss(wp + 1);                                       \
        c10 = _mm256_fmadd_ps(a, b0, c10);                                     \
        c11 = _mm256_fmadd_ps(a, b1, c11);                                     \
        a = _mm256_broadcast_ss(wp + 2);                                       \
        c20 = _mm256_fmadd_ps(a, b0, c20);                                     \
        c21 = _mm256_fmadd_ps(a, b1, c21);                                     \
        a = _mm256_broadcast_ss(wp + 3);                                       \
        c30 = _mm256_fmadd_ps(a, b0, c30);                                     \
        c31 = _mm256_fmadd_ps(a, b1, c31);                                     \
        a = _mm256_broadcast_ss(wp + 4);                                       \
        c40 = _mm256_fmadd_ps(a, b0, c40);                                     \
        c41 = _mm256_fmadd_ps(a, b1, c41);                                     \
        a = _mm256_broadcast_ss(wp + 5);                                       \
        c50 = _mm256_fmadd_ps(a, b0, c50);                                     \
        c51 = _mm256_fmadd_ps(a, b1, c51);                                     \
        wp += RT_CONV_MR;                                                      \
    } while (0)

/* Rows 0-5 x positions [j, j + 16) of the tile into acc (stride NR);
 * m0/m1 the lanes loaded unless full; pfw: prefetch the next tile's input
 * (pf floats ahead) and the weights ahead. */
RT_CONV_INLINE void rt_conv_rows6(const float *restrict wp, const float *bc,
                                  ptrdiff_t cs, ptrdiff_t nc,
                                  const ptrdiff_t *toff, ptrdiff_t kk, int full,
                                  __m256i m0, __m256i m1, int pfw, ptrdiff_t pf,
                                  int more, float *acc)
{
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
    __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
    __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
    __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
    __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
    __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
    ptrdiff_t c, i;
    if (more) { /* go on from the partial sums in acc */
        c00 = _mm256_loadu_ps(acc + 0 * RT_CONV_NR);
        c01 = _mm256_loadu_ps(acc + 0 * RT_CONV_NR + 8);
        c10 = _mm256_loadu_ps(acc + 1 * RT_CONV_NR);
        c11 = _mm256_loadu_ps(acc + 1 * RT_CONV_NR + 8);
        c20 = _mm256_loadu_ps(acc + 2 * RT_CONV_NR);
        c21 = _mm256_loadu_ps(acc + 2 * RT_CONV_NR + 8);
        c30 = _mm256_loadu_ps(acc + 3 * RT_CONV_NR);
        c31 = _mm256_loadu_ps(acc + 3 * RT_CONV_NR + 8);
        c40 = _mm256_loadu_ps(acc + 4 * RT_CONV_NR);
        c41 = _mm256_loadu_ps(acc + 4 * RT_CONV_NR + 8);
        c50 = _mm256_loadu_ps(acc + 5 * RT_CONV_NR);
        c51 = _mm256_loadu_ps(acc + 5 * RT_CONV_NR + 8);
    }
    if (kk == 1) {
        for (c = 0, bc += toff[0]; c < nc; c++, bc += cs)
            RT_CONV_STEP6(bc);
    } else {
        for (c = 0; c < nc; c++, bc += cs)
            for (i = 0; i < kk; i++)
                RT_CONV_STEP6(bc + toff[i]);
    }
    _mm256_storeu_ps(acc + 0 * RT_CONV_NR, c00);
    _mm256_storeu_ps(acc + 0 * RT_CONV_NR + 8, c01);
    _mm256_storeu_ps(acc + 1 * RT_CONV_NR, c10);
    _mm256_storeu_ps(acc + 1 * RT_CONV_NR + 8, c11);
    _mm256_storeu_ps(acc + 2 * RT_CONV_NR, c20);
    _mm256_storeu_ps(acc + 2 * RT_CONV_NR + 8, c21);
    _mm256_storeu_ps(acc + 3 * RT_CONV_NR, c30);
    _mm256_storeu_ps(acc + 3 * RT_CONV_NR + 8, c31);
    _mm256_storeu_ps(acc + 4 * RT_CONV_NR, c40);
    _mm256_storeu_ps(acc + 4 * RT_CONV_NR + 8, c41);
    _mm256_storeu_ps(acc + 5 * RT_CONV_NR, c50);
    _mm256_storeu_ps(acc + 5 * RT_CONV_NR + 8, c51);
}

/* One k step of rows 6-7 x 32 positions at b. */
#define RT_CONV_STEP2(b)                                                       \
    do {                                                                       \
        __m256 b0 = RT_CONV_LD8((b), m0), b1 = RT_CONV_LD8((b) + 8, m1);       \
        __m256 b2 = RT_CONV_LD8((b) + 16, m2), b3 = RT_CONV_LD8((b) + 24, m3); \
        __m256 a;                                                              \
        RT_CONV_KEEP(b0);                                                      \
        RT_CONV_KEEP(b1);                                                      \
        RT_CONV_KEEP(b2);                                                      \
        RT_CONV_KEEP(b3);                                                      \
        a = _mm256_broadcast_ss(wp + 6);                                       \
        c00 = _mm256_fmadd_ps(a, b0, c00);                                     \
        c01 = _mm256_fmadd_ps(a, b1, c01);                                     \
        c02 = _mm256_fmadd_ps(a, b2, c02);                                     \
        c03 = _mm256_fmadd_ps(a, b3, c03);                                     \
        a = _mm256_broadcast_ss(wp + 7);                                       \
        c10 = _mm256_fmadd_ps(a, b0, c10);                                     \
        c11 = _mm256_fmadd_ps(a, b1, c11);                                     \
        c12 = _mm256_fmadd_ps(a, b2, c12);                                     \
        c13 = _mm256_fmadd_ps(a, b3, c13);                                     \
        wp += RT_CONV_MR;                                                      \
    } while (0)

/* Rows 6-7 x positions [0, 32) of the tile into acc. */
RT_CONV_INLINE void rt_conv_rows2(const float *restrict wp, const float *bc,
                                  ptrdiff_t cs, ptrdiff_t nc,
                                  const ptrdiff_t *toff, ptrdiff_t kk, int full,
                                  __m256i m0, __m256i m1, __m256i m2, __m256i m3,
                                  int more, float *acc)
{
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
    __m256 c02 = _mm256_setzero_ps(), c03 = _mm256_setzero_ps();
    __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
    __m256 c12 = _mm256_setzero_ps(), c13 = _mm256_setzero_ps();
    ptrdiff_t c, i;
    if (more) {
        c00 = _mm256_loadu_ps(acc + 6 * RT_CONV_NR);
        c01 = _mm256_loadu_ps(acc + 6 * RT_CONV_NR + 8);
        c02 = _mm256_loadu_ps(acc + 6 * RT_CONV_NR + 16);
        c03 = _mm256_loadu_ps(acc + 6 * RT_CONV_NR + 24);
        c10 = _mm256_loadu_ps(acc + 7 * RT_CONV_NR);
        c11 = _mm256_loadu_ps(acc + 7 * RT_CONV_NR + 8);
        c12 = _mm256_loadu_ps(acc + 7 * RT_CONV_NR + 16);
        c13 = _mm256_loadu_ps(acc + 7 * RT_CONV_NR + 24);
    }
    if (kk == 1) {
        for (c = 0, bc += toff[0]; c < nc; c++, bc += cs)
            RT_CONV_STEP2(bc);
    } else {
        for (c = 0; c < nc; c++, bc += cs)
            for (i = 0; i < kk; i++)
                RT_CONV_STEP2(bc + toff[i]);
    }
    _mm256_storeu_ps(acc + 6 * RT_CONV_NR, c00);
    _mm256_storeu_ps(acc + 6 * RT_CONV_NR + 8, c01);
    _mm256_storeu_ps(acc + 6 * RT_CONV_NR + 16, c02);
    _mm256_storeu_ps(acc + 6 * RT_CONV_NR + 24, c03);
    _mm256_storeu_ps(acc + 7 * RT_CONV_NR, c10);
    _mm256_storeu_ps(acc + 7 * RT_CONV_NR + 8, c11);
    _mm256_storeu_ps(acc + 7 * RT_CONV_NR + 16, c12);
    _mm256_storeu_ps(acc + 7 * RT_CONV_NR + 24, c13);
}
#undef RT_CONV_STEP6
#undef RT_CONV_STEP2
#undef RT_CONV_LD8
#undef RT_CONV_KEEP

/* The store for AVX2: the tile's stored lanes go, in order, to consecutive
 * y (junk lanes dropped), so each run of stored lanes is a vector copy with
 * bias and residual; the activations min(max(v, lo), hi) (none, relu, clip)
 * are applied in that copy (run tails element by element with the same
 * min/max), the others (SiLU, ...) by one rt_activate_n over the row's
 * stored lanes (the generic rt_conv_store took a scalar loop and two calls
 * per row: YOLOv8n's SiLU convolutions). */
RT_INTERNAL void rt_conv_store8(const rt_conv_tile *t, const rt_conv_out *o,
                                const float *acc)
{
    int j0[RT_CONV_NR], len[RT_CONV_NR];
    int nrun = 0, j = 0, r, k, i;
    const unsigned vm = t->vm[0] | t->vm[1] << 16;
    const ptrdiff_t at = t->cnt[0] ? t->yo[0] : t->yo[1];
    const int clamp = o->act == RT_ACT_NONE || o->act == RT_ACT_RELU ||
                      o->act == RT_ACT_CLIP;
    const float lo = !clamp || o->act == RT_ACT_NONE ? -INFINITY
                     : o->act == RT_ACT_RELU ? 0.0f : o->alpha;
    const float hi = clamp && o->act == RT_ACT_CLIP ? o->beta : INFINITY;
    const __m256 vlo = _mm256_set1_ps(lo), vhi = _mm256_set1_ps(hi);
    const __m128 slo = _mm_set_ss(lo), shi = _mm_set_ss(hi);
    if (vm == 0xFFFFFFFFu) { /* the common case: every lane stored */
        j0[0] = 0;
        len[0] = RT_CONV_NR;
        nrun = 1;
        j = RT_CONV_NR;
    }
    while (j < RT_CONV_NR) {
        if (!(vm >> j & 1u)) {
            j++;
            continue;
        }
        j0[nrun] = j;
        while (j < RT_CONV_NR && vm >> j & 1u)
            j++;
        len[nrun] = j - j0[nrun];
        nrun++;
    }
    for (r = 0; r < o->mr; r++) {
        const float b = o->bias ? o->bias[r] : 0.0f;
        const __m256 vb = _mm256_set1_ps(b);
        const float *ar = acc + r * RT_CONV_NR;
        float *y = o->y + r * o->ldy + at;
        const float *res = o->res ? o->res + r * o->ldy + at : NULL;
        for (k = 0; k < nrun; k++) {
            const float *a = ar + j0[k];
            for (i = 0; i + 8 <= len[k]; i += 8) {
                __m256 v = _mm256_add_ps(_mm256_loadu_ps(a + i), vb);
                if (res)
                    v = _mm256_add_ps(v, _mm256_loadu_ps(res + i));
                /* this operand order keeps a NaN */
                v = _mm256_min_ps(vhi, _mm256_max_ps(vlo, v));
                _mm256_storeu_ps(y + i, v);
            }
            for (; i < len[k]; i++) {
                float v = a[i] + b;
                if (res)
                    v += res[i];
                y[i] = _mm_cvtss_f32(_mm_min_ss(shi, _mm_max_ss(slo, _mm_set_ss(v))));
            }
            y += len[k];
            if (res)
                res += len[k];
        }
        if (!clamp)
            rt_activate_n(o->act, o->alpha, o->beta, o->y + r * o->ldy + at,
                          t->cnt[0] + t->cnt[1]);
    }
}

RT_INTERNAL RT_NOINLINE void rt_conv_kernel(const float *restrict wp,
                                            const float *restrict src,
                                            ptrdiff_t cs, ptrdiff_t nc,
                                            const ptrdiff_t *toff, ptrdiff_t kk,
                                            const rt_conv_tile *t,
                                            const rt_conv_out *o, ptrdiff_t pf,
                                            int pfo)
{
    float acc[RT_CONV_MR * RT_CONV_NR];
    const ptrdiff_t n = t->n;
    /* channels per slice: about RT_CONV_AVX2_KS k steps */
    const ptrdiff_t step = RT_MAX(1, RT_CONV_AVX2_KS / RT_MAX(kk, 1));
    ptrdiff_t c0;
    if (pfo)
        rt_conv_prefetch_out(t, o, pfo);
    for (c0 = 0; c0 < nc || c0 == 0; c0 += step) {
        const ptrdiff_t cn = RT_MIN(step, nc - c0);
        const float *w = wp + c0 * kk * RT_CONV_MR, *bc = src + t->p0 + c0 * cs;
        const int more = c0 > 0;
        if (n == RT_CONV_NR) {
            const __m256i z = _mm256_setzero_si256();
            rt_conv_rows6(w, bc, cs, cn, toff, kk, 1, z, z, 1, pf, more, acc);
            rt_conv_rows6(w, bc + 16, cs, cn, toff, kk, 1, z, z, 0, 0, more, acc + 16);
            if (o->mr > 6)
                rt_conv_rows2(w, bc, cs, cn, toff, kk, 1, z, z, z, z, more, acc);
        } else {
            const __m256i m0 = rt_conv_mask8(n), m1 = rt_conv_mask8(n - 8);
            const __m256i m2 = rt_conv_mask8(n - 16), m3 = rt_conv_mask8(n - 24);
            rt_conv_rows6(w, bc, cs, cn, toff, kk, 0, m0, m1, 1, pf, more, acc);
            if (n > 16)
                rt_conv_rows6(w, bc + 16, cs, cn, toff, kk, 0, m2, m3, 0, 0, more,
                              acc + 16);
            if (o->mr > 6)
                rt_conv_rows2(w, bc, cs, cn, toff, kk, 0, m0, m1, m2, m3, more, acc);
        }
    }
    rt_conv_store8(t, o, acc);
}
#else
RT_INTERNAL RT_NOINLINE void rt_conv_kernel(const float *restrict wp,
                                            const float *restrict src,
                                            ptrdiff_t cs, ptrdiff_t nc,
                                            const ptrdiff_t *toff, ptrdiff_t kk,
                                            const rt_conv_tile *t,
                                            const rt_conv_out *o, ptrdiff_t pf,
                                            int pfo)
{
    float acc[RT_CONV_MR * RT_CONV_NR];
    const float *bc = src + t->p0;
    ptrdiff_t c, i, n = t->n;
    int r, j;
    (void)pf;
    (void)pfo;
    for (j = 0; j < RT_CONV_MR * RT_CONV_NR; j++)
        acc[j] = 0.0f;
    for (c = 0; c < nc; c++, bc += cs) {
        for (i = 0; i < kk; i++) {
            const float *b = bc + toff[i];
            if (n == RT_CONV_NR) {
                for (r = 0; r < RT_CONV_MR; r++) {
                    const float a = wp[r];
                    float *ar = acc + r * RT_CONV_NR;
                    for (j = 0; j < RT_CONV_NR; j++)
                        ar[j] = RT_FMA(a, b[j], ar[j]);
                }
            } else {
                for (r = 0; r < RT_CONV_MR; r++) {
                    const float a = wp[r];
                    float *ar = acc + r * RT_CONV_NR;
                    for (j = 0; j < n; j++)
                        ar[j] = RT_FMA(a, b[j], ar[j]);
                }
            }
            wp += RT_CONV_MR;
        }
    }
    rt_conv_store(t, o, acc);
}
#endif

/* ---- the implicit GEMM -------------------------------------------------- */

/* Panels of one group per weight block: their weights for k steps (a
 * slice of K, or all of it) fit RT_CONV_WBLOCK. */
RT_INTERNAL ptrdiff_t rt_conv_block(const rt_conv_geom *g, ptrdiff_t k)
{
    ptrdiff_t per = k * RT_CONV_MR * (ptrdiff_t)sizeof(float);
    ptrdiff_t b = RT_CONV_WBLOCK / (per > 0 ? per : 1);
    return RT_MAX(1, RT_MIN(b, g->npanel));
}

/* Tiles [*t0, *t1) x panels [*q0, *q1) of a block of nq panels for thread
 * tid of nt: tiles when there are enough of them, else panels. */
RT_INTERNAL void rt_conv_split(ptrdiff_t ntiles, ptrdiff_t nq, int tid, int nt,
                               ptrdiff_t *t0, ptrdiff_t *t1, ptrdiff_t *q0,
                               ptrdiff_t *q1)
{
    *t0 = 0;
    *t1 = ntiles;
    *q0 = 0;
    *q1 = nq;
    if (nt <= 1)
        return;
    if (ntiles >= 2 * nt || ntiles >= nq) {
        *t0 = ntiles * tid / nt;
        *t1 = ntiles * (tid + 1) / nt;
    } else {
        *q0 = nq * tid / nt;
        *q1 = nq * (tid + 1) / nt;
    }
}

#if defined(RT_CONV_AVX512)
/* d[(c*kk + i)*NR + j] = tile t's input lane j of channel c, tap i (0
 * outside t->lm): the layout of a 1x1 convolution over aligned, whole
 * tiles, which the kernel runs without masks or line-crossing loads. */
RT_INTERNAL void rt_conv_pack_slice(const rt_conv_tile *t, const float *src, ptrdiff_t cs,
                                    ptrdiff_t nc, const ptrdiff_t *toff, ptrdiff_t kk, float *d)
{
    const __mmask16 l0 = (__mmask16)t->lm[0], l1 = (__mmask16)t->lm[1];
    ptrdiff_t c, i;
    for (c = 0; c < nc; c++)
        for (i = 0; i < kk; i++, d += RT_CONV_NR) {
            const float *b = src + c * cs + toff[i] + t->p0;
            _mm512_store_ps(d, _mm512_maskz_loadu_ps(l0, b));
            _mm512_store_ps(d + 16, _mm512_maskz_loadu_ps(l1, b + 16));
        }
}
#endif

/* Input channels per slice of K. On AVX-512 a tile's input is packed
 * (rt_conv_pack_slice) when it has taps (kk > 1: the loads of shifted
 * positions cross cache lines) and at least 4 panels share the packing;
 * when K is deep, in slices of about RT_CONV_KC steps (the packed slice
 * stays in L1), the kernel starting each later slice from the partial sums
 * in y. A 1-D conv of 256 channels x 5 taps (Magika's) went from 60 % to
 * 70 % of peak, 512 x 8 from 57 % to 61 % on a Xeon with AMX. */
#define RT_CONV_KC 256
#define RT_CONV_KC_MIN 1024    /* K from which it slices */

RT_INTERNAL ptrdiff_t rt_conv_slice(const rt_conv_geom *g)
{
#if defined(RT_CONV_AVX512)
    if (g->K >= RT_CONV_KC_MIN && g->kk <= RT_CONV_KC)
        return RT_MAX((ptrdiff_t)1, RT_CONV_KC / g->kk);
#endif
    return g->cg;
}

#ifdef __GNUC__
#  define RT_CONV_ALIGN64 __attribute__((aligned(64)))
#else
#  define RT_CONV_ALIGN64
#endif

/* Activations the tile stores apply in registers themselves (clamps and
 * the piecewise-linear ones); the others (sigmoid, SiLU, GELU) are applied
 * after each chunk of RT_CONV_ACT_TILES tiles, over each output channel's
 * stored run, while it is in L1: run per tile row, their exp polynomials
 * (chains of dependent FMAs) did not overlap, and SiLU cost 3x the 1x1
 * convolution it ends (YOLOv8n's 32 -> 32 at 80x80 on a Xeon). */
#define RT_CONV_ACT_TILES 8

RT_INTERNAL int rt_conv_act_late(int act)
{
    return !(act == RT_ACT_NONE || act == RT_ACT_RELU || act == RT_ACT_CLIP ||
             act == RT_ACT_LEAKY_RELU || act == RT_ACT_HARD_SWISH);
}

/* act over y[lo, hi) of each output channel of panels [q0, q1): the run
 * the last chunk of tiles stored. */
RT_INTERNAL void rt_conv_late_act(const rt_conv_geom *g, ptrdiff_t ohw, ptrdiff_t lo,
                                  ptrdiff_t hi, ptrdiff_t q0, ptrdiff_t q1, int act,
                                  float alpha, float beta, float *yg)
{
    ptrdiff_t m;
    if (hi <= lo)
        return;
    for (m = q0 * RT_CONV_MR; m < RT_MIN(q1 * RT_CONV_MR, g->mg); m++)
        rt_activate_n(act, alpha, beta, yg + m * ohw + lo, hi - lo);
}

/* One (image, group): planes already built (or src = x). */
RT_INTERNAL void rt_conv_gemm_group(const rt_conv2d_shape *s,
                                    const rt_conv_geom *g, const float *src,
                                    const ptrdiff_t *toff, const float *wg,
                                    const float *bg, const float *rg, int act,
                                    float alpha, float beta, float *yg,
                                    int tid, int nt)
{
    ptrdiff_t ntiles = (g->P + RT_CONV_NR - 1) / RT_CONV_NR, ohw = (ptrdiff_t)s->OH * s->OW;
    ptrdiff_t qb, jt, q, c0;
    const int pfo = g->K >= RT_CONV_PFO_THIS_K   ? RT_CONV_PFO_THIS
                    : g->K <= RT_CONV_PFO_NEXT_K ? RT_CONV_PFO_NEXT
                                                 : 0;
    const int late = rt_conv_act_late(act);
    /* not when y is the residual: the partial sums would overwrite it */
    const ptrdiff_t cb = rg && rg == yg ? g->cg : rt_conv_slice(g);
    /* panels per block: their weights for one slice fit L2 */
    const ptrdiff_t blk = rt_conv_block(g, RT_MIN(cb, g->cg) * g->kk);
#if defined(RT_CONV_AVX512)
    /* a tile's input slice packed once for all the panels that read it;
     * up to RT_CONV_KC_MIN steps whole (128 KB of stack, in L2): a stride-2
     * 3x3 with 64 channels (K = 576) read from the planes ran 25 % slower */
    const int pack = cb < g->cg || (g->kk > 1 && g->npanel >= 4 && g->K < RT_CONV_KC_MIN);
    RT_CONV_ALIGN64 float pk[RT_CONV_KC_MIN * RT_CONV_NR];
    static const ptrdiff_t tap0[1] = {0};
#endif
    for (qb = 0; qb < g->npanel; qb += blk) {
        ptrdiff_t nq = RT_MIN(blk, g->npanel - qb), t0, t1, q0, q1;
        rt_conv_split(ntiles, nq, tid, nt, &t0, &t1, &q0, &q1);
        /* slices outside the tiles: a slice's weights stay in L2 while
         * every tile adds its share (y holds the partial sums) */
        c0 = 0;
        do {    /* once at least: no input channels still store the bias */
            const int last = c0 + cb >= g->cg;
            ptrdiff_t lo = ohw, hi = 0;  /* y run of the chunk so far */
            for (jt = t0; jt < t1; jt++) {
                rt_conv_tile t, tp;
                ptrdiff_t p0 = jt * RT_CONV_NR;
                /* the kernel's operands: the slice as it is, or packed */
                const float *sp = src + c0 * g->cs;
                const ptrdiff_t *st = toff;
                ptrdiff_t scs = g->cs, snc = RT_MIN(cb, g->cg - c0), skk = g->kk;
                ptrdiff_t pf = RT_CONV_NR;
                rt_conv_tile_info(s, g->wq, p0, RT_MIN(RT_CONV_NR, g->P - p0), &t);
                tp = t;
#if defined(RT_CONV_AVX512)
                if (pack) {
                    rt_conv_pack_slice(&t, sp, g->cs, snc, toff, g->kk, pk);
                    sp = pk;
                    scs = RT_CONV_NR;
                    snc *= g->kk;
                    skk = 1;
                    st = tap0;
                    pf = 0;
                    tp.p0 = 0;
                    tp.lm[0] = tp.lm[1] = 0xFFFFu;
                }
#endif
                for (q = qb + q0; q < qb + q1; q++) {
                    ptrdiff_t m0 = q * RT_CONV_MR;
                    rt_conv_out o;
                    o.y = yg + m0 * ohw;
                    o.ldy = ohw;
                    o.bias = bg && last ? bg + m0 : NULL;
                    o.res = rg && last ? rg + m0 * ohw : NULL;
                    o.mr = (int)RT_MIN(RT_CONV_MR, g->mg - m0);
                    o.act = late || !last ? RT_ACT_NONE : act;
                    o.alpha = alpha;
                    o.beta = beta;
                    o.accum = c0 > 0;
                    rt_conv_kernel(wg + q * g->K * RT_CONV_MR + c0 * g->kk * RT_CONV_MR,
                                   sp, scs, snc, st, skk, &tp, &o,
                                   q == qb + q0 && jt + 1 < t1 ? pf : 0, pfo);
                }
                if (late && last) {
                    int h;
                    for (h = 0; h < 2; h++)
                        if (t.cnt[h]) {
                            lo = RT_MIN(lo, t.yo[h]);
                            hi = RT_MAX(hi, t.yo[h] + t.cnt[h]);
                        }
                    if ((jt + 1 - t0) % RT_CONV_ACT_TILES == 0 || jt + 1 == t1) {
                        rt_conv_late_act(g, ohw, lo, hi, qb + q0, qb + q1, act, alpha, beta, yg);
                        lo = ohw;
                        hi = 0;
                    }
                }
            }
            c0 += cb;
        } while (c0 < g->cg);
    }
}

RT_INTERNAL void rt_conv_gemm_run(const rt_conv2d_shape *s, const float *x,
                                  const float *wp, const float *bias,
                                  const float *res, int act, float alpha,
                                  float beta, float *y, float *scratch)
{
    rt_conv_geom g;
    ptrdiff_t *toff;
    float *planes;
    ptrdiff_t hw = (ptrdiff_t)s->H * s->W, ohw = (ptrdiff_t)s->OH * s->OW;
    double flops;
    int par;
    rt_conv_geometry(s, &g);
    toff = (ptrdiff_t *)rt_conv_align(scratch, sizeof(ptrdiff_t));
    planes = (float *)rt_conv_align(toff + g.kk, 64);
    rt_conv_taps(s, &g, toff);
    flops = 2.0 * (double)s->N * s->M * (double)ohw * (double)g.K;
    par = flops >= RT_CONV_PAR_MIN;
    (void)par;
#ifdef _OPENMP
    _Pragma("omp parallel if(par)")
#endif
    {
        int tid = 0, nt = 1;
        ptrdiff_t n, grp, c;
#ifdef _OPENMP
        tid = omp_get_thread_num();
        nt = omp_get_num_threads();
#endif
        for (n = 0; n < s->N; n++)
            for (grp = 0; grp < s->group; grp++) {
                const float *xg = x + (n * s->C + grp * g.cg) * hw;
                const float *src = xg;
                if (!g.direct) {
                    /* each thread builds a share of the channels */
                    for (c = g.cg * tid / nt; c < g.cg * (tid + 1) / nt; c++)
                        rt_conv_fill(s, &g, xg + c * hw, planes + c * g.cs);
                    src = planes;
#ifdef _OPENMP
                    _Pragma("omp barrier")
#endif
                }
                rt_conv_gemm_group(s, &g, src, toff,
                                   wp + grp * g.npanel * RT_CONV_MR * g.K,
                                   bias ? bias + grp * g.mg : NULL,
                                   res ? res + (n * s->M + grp * g.mg) * ohw : NULL,
                                   act, alpha, beta,
                                   y + (n * s->M + grp * g.mg) * ohw, tid, nt);
                if (!g.direct) {
                    /* the planes are rebuilt for the next group/image */
#ifdef _OPENMP
                    _Pragma("omp barrier")
#endif
                }
            }
    }
}

/* ---- the API ------------------------------------------------------------ */

RT_API int rt_conv2d_algo(const rt_conv2d_shape *s, int flags)
{
    if (s->group == s->C && s->M == s->C)
        return RT_CONV_ALGO_DW;
    /* Winograd where it won (ResNet-50, SqueezeNet shapes: 1.5-2x faster
     * from 13x13 up); with fewer than RT_CONV_WG_MIN_TILES 4x4 tiles its
     * GEMMs have too few rows (tiles are rows, RT_WG_TR to a block): 7x7
     * outputs (4 tiles) lost 25 %, 10x10 (9 tiles, 2 blocks of 8) lost
     * 20-35 % to conv_small.c in YOLOv8n at 320 on a Xeon (128 channels:
     * 0.27 against 0.21-0.22 ms). Its GEMMs sum over the input channels:
     * under RT_CONV_WG_MIN_C the transforms dominate (a CRNN's 3 -> 32
     * first layer at 48x320: 0.62 ms, 0.27 as an implicit GEMM). */
    if (!(flags & RT_CONV_NO_WINOGRAD) && rt_winograd_fits(s) && s->C / s->group >= RT_CONV_WG_MIN_C &&
        (ptrdiff_t)((s->OH + 3) / 4) * ((s->OW + 3) / 4) >= RT_CONV_WG_MIN_TILES)
        return RT_CONV_ALGO_WINOGRAD;
    if (!(flags & RT_CONV_NO_SMALL) && rt_conv_small_fits(s))
        return RT_CONV_ALGO_SMALL;
    return RT_CONV_ALGO_GEMM;
}

RT_API size_t rt_conv2d_packed_size(const rt_conv2d_shape *s, int algo)
{
    if (s->M <= 0 || s->C <= 0)
        return 0;
    if (algo == RT_CONV_ALGO_DW)
        return (size_t)s->M * (size_t)s->KH * (size_t)s->KW;
    if (algo == RT_CONV_ALGO_WINOGRAD)
        return rt_winograd_packed_size(s);
    if (algo == RT_CONV_ALGO_SMALL)
        return rt_conv_small_packed_size(s);
    return rt_conv_gemm_packed(s);
}

RT_API void rt_conv2d_pack(const rt_conv2d_shape *s, int algo, const float *w,
                           float *wp)
{
    if (s->M <= 0 || s->C <= 0)
        return;
    if (algo == RT_CONV_ALGO_DW)
        memcpy(wp, w, rt_conv2d_packed_size(s, algo) * sizeof(float));
    else if (algo == RT_CONV_ALGO_WINOGRAD)
        rt_winograd_pack(s, w, wp);
    else if (algo == RT_CONV_ALGO_SMALL)
        rt_conv_small_pack(s, w, wp);
    else
        rt_conv_gemm_pack(s, w, wp);
}

RT_API size_t rt_conv2d_fused_scratch(const rt_conv2d_shape *s, int algo)
{
    int raw = algo & RT_CONV_RAW_WEIGHTS;
    size_t n;
    algo &= ~RT_CONV_RAW_WEIGHTS;
    if (s->N <= 0 || s->M <= 0 || s->OH <= 0 || s->OW <= 0)
        return 0;
    if (algo == RT_CONV_ALGO_DW)
        return rt_conv2d_dw_scratch(s);
    n = algo == RT_CONV_ALGO_WINOGRAD ? rt_winograd_scratch(s)
        : algo == RT_CONV_ALGO_SMALL  ? rt_conv_small_scratch(s)
                                      : rt_conv_gemm_scratch(s);
    if (raw)
        n += rt_conv2d_packed_size(s, algo) + 16;
    return n;
}

RT_API void rt_conv2d_fused(const rt_conv2d_shape *s, int algo, const float *x,
                            const float *wp, const float *bias,
                            const float *residual, int act, float alpha,
                            float beta, float *y, float *scratch)
{
    int raw = algo & RT_CONV_RAW_WEIGHTS;
    algo &= ~RT_CONV_RAW_WEIGHTS;
    if (s->N <= 0 || s->M <= 0 || s->OH <= 0 || s->OW <= 0)
        return;
    if (algo == RT_CONV_ALGO_DW) {
        rt_conv2d_dw(s, x, wp, bias, residual, act, alpha, beta, y, scratch);
        return;
    }
    if (raw) {
        float *p = (float *)rt_conv_align(scratch, 64);
        rt_conv2d_pack(s, algo, wp, p);
        wp = p;
        scratch = p + rt_conv2d_packed_size(s, algo);
    }
    if (algo == RT_CONV_ALGO_WINOGRAD) {
        rt_winograd(s, x, wp, bias, residual, act, alpha, beta, y, scratch);
        return;
    }
    if (algo == RT_CONV_ALGO_SMALL) {
        rt_conv_small(s, x, wp, bias, residual, act, alpha, beta, y, scratch);
        return;
    }
    rt_conv_gemm_run(s, x, wp, bias, residual, act, alpha, beta, y, scratch);
}

/* The unpacked entry point: the weights as they are, no epilogue but bias,
 * no Winograd (its weight transform would run at every call, and its
 * rounding differs). */
RT_API size_t rt_conv2d_scratch(const rt_conv2d_shape *s)
{
    return rt_conv2d_fused_scratch(s, rt_conv2d_algo(s, RT_CONV_NO_WINOGRAD) |
                                          RT_CONV_RAW_WEIGHTS);
}

RT_API void rt_conv2d(const rt_conv2d_shape *s, const float *x,
                      const float *w, const float *bias, float *y,
                      float *scratch)
{
    rt_conv2d_fused(s, rt_conv2d_algo(s, RT_CONV_NO_WINOGRAD) | RT_CONV_RAW_WEIGHTS, x, w, bias,
                    NULL, RT_ACT_NONE, 0.0f, 0.0f, y, scratch);
}
