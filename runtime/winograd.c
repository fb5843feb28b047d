/* rt-deps: epilogue */
/* winograd.c - 3x3 stride-1 convolution by Winograd F(4x4, 3x3), NCHW,
 * float32, group 1, with the epilogue (bias, residual, activation).
 *
 * Each 4x4 output tile comes from a 6x6 input tile d (padding reads 0):
 *     Y = A^T [ sum_c (G g_{m,c} G^T) .* (B^T d_c B) ] A
 * with the interpolation points 0, +-1, +-2, infinity:
 *     B^T = [4  0 -5  0 1 0;  0 -4 -4  1 1 0;  0  4 -4 -1 1 0;
 *            0 -2 -1  2 1 0;  0  2 -1 -2 1 0;  0  4  0 -5 0 1]
 *     G   = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6; 1/24 1/12 1/6;
 *            1/24 -1/12 1/6; 0 0 1]
 *     A^T = [1 1 1 1 1 0;  0 1 -1 2 -2 0;  0 1 1 4 4 0;  0 1 -1 8 -8 1]
 * so the sum over channels becomes 36 independent GEMMs (one per position
 * xi of the 6x6 transformed tile): M_xi[t][m] = sum_c V_xi[c][t] U_xi[c][m].
 * 144 multiplies per 4x4 tile and channel pair become 36; the price is
 * rounding: the transforms scale values by up to ~10 and cancel, so the
 * result carries roughly 10-100x the error of a direct sum (see
 * tests/unit/test_rt_winograd.c for the bound checked).
 *
 * U = G g G^T is computed at compile time (rt_winograd_pack, in double) and
 * stored [xi][m / 32][c][32] (zero past M).  At run time, per image:
 *   1. the padded input is split into 16 "phase planes" per channel,
 *      P[ra][rb][i][q] = input(4i + ra - PT, 4q + rb - PL), rows of TW + 1
 *      floats, so that element (a, b) of tile (ti, tj) is plane
 *      (a % 4, b % 4) at (ti + a/4)(TW + 1) + tj + b/4: for consecutive
 *      tiles of a tile row, consecutive floats;
 *   2. tiles are taken in blocks of whole tile rows (up to RT_WG_TB1
 *      tiles on one thread, RT_WG_TB in a team);
 *      for each block: the input transform (16 tiles per vector, the one
 *      junk tile per tile row compressed out) writes V[xi][c][t]; the GEMMs
 *      (8 tiles x 32 output channels register tiles, channels in vector
 *      lanes) write M[t][xi][m]; the output transform (16 channels per
 *      vector) adds the bias, transposes to 16 pixels per channel, adds the
 *      residual, applies the activation and stores the 4x4 tile of each
 *      channel, clipped at the bottom/right edges.
 * AVX-512 has vector code for all three steps, AVX2 too (8 tiles or 8
 * channels per vector, the GEMM block in three register passes); other
 * targets run the same steps in plain C.  With OpenMP, threads share the planes by channels,
 * then either take whole blocks, each with its own V and M buffers (up to
 * RT_WG_MAXT threads; more threads idle here), or, where U is large
 * against V and M (rt_wg_team_shares), work on one block at a time:
 * input transform by channels, GEMMs by xi, output transform by output
 * channels.  Either way each output is summed in the same order as on
 * one thread, so the bits do not depend on the thread count.
 */
#ifndef RT_EMBED
#include "rt_conv.h"
#endif

#if !defined(RT_NO_SIMD) && defined(__AVX512F__)
#  include <immintrin.h>
#  define RT_WG_AVX512 1
#elif !defined(RT_NO_SIMD) && defined(__AVX2__) && defined(__FMA__)
#  include <immintrin.h>
#  define RT_WG_AVX2 1
#endif
#ifdef _OPENMP
#  include <omp.h>
#endif

#define RT_WG_NB 32      /* output channels per GEMM column block */
#define RT_WG_TR 8       /* tiles per GEMM row block */
#define RT_WG_TB 32      /* tiles per block, about (threads) */
#define RT_WG_TB1 64     /* tiles per block, about (one thread) */
#define RT_WG_SLACK 32   /* floats past the planes a masked-off lane may address */
#define RT_WG_MAXT 4     /* threads with a V/M block buffer of their own */
/* U prefetched this many channel steps ahead, both lines of each step
 * (16 KB ahead; past a panel's end, the next panel's head).  In a network
 * U comes from memory: at 16 steps, one line of two, ResNet-50's layer3
 * 3x3 took 0.71 ms in the network; 0.57 at 32, 0.54 at 64, 0.52 at 128,
 * 0.54 at 256. */
#define RT_WG_UPF 128
#define RT_WG_PAR_MIN 4000000.0 /* flops (as a direct convolution) for threads */

#if defined(RT_WG_AVX512)
RT_INTERNAL __mmask16 rt_wg_mask(ptrdiff_t n)
{
    if (n <= 0)
        return 0;
    return n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1u);
}
#endif

/* ---- geometry ---------------------------------------------------------- */

typedef struct {
    ptrdiff_t th, tw;   /* tile rows / columns */
    ptrdiff_t wp;       /* plane row: tw + 1 */
    ptrdiff_t plane;    /* floats per phase plane: (th + 1) * wp */
    ptrdiff_t rb;       /* tile rows per block */
    ptrdiff_t tbp;      /* V / M rows per block (rb * tw rounded up to TR) */
    ptrdiff_t mp;       /* M rounded up to NB */
} rt_wg_geom;

/* Blocks of rb tile rows. */
RT_INTERNAL void rt_wg_set_rows(rt_wg_geom *g, ptrdiff_t rb)
{
    g->rb = RT_MAX(1, rb);
    g->tbp = (g->rb * g->tw + RT_WG_TR - 1) / RT_WG_TR * RT_WG_TR;
}

/* The most tile rows a team's block may have: about RT_WG_TB tiles, and
 * at least two blocks to share. */
RT_INTERNAL ptrdiff_t rt_wg_team_cap(const rt_wg_geom *g)
{
    return RT_MAX(1, RT_MIN((g->th + 1) / 2, RT_WG_TB / g->tw));
}

/* Rows per block, up to the cap, that give the busiest worker the fewest
 * rows (worker 0, which takes blocks 0, nw, 2 nw, ...).  ResNet-50's
 * 56x56 layers: 7 blocks of 2 rows went 4 : 3, 14 blocks of 1 go 7 : 7. */
RT_INTERNAL ptrdiff_t rt_wg_team_rows(const rt_wg_geom *g, int team)
{
    ptrdiff_t cap = rt_wg_team_cap(g), r, best = cap, load = -1;
    int nw = RT_MIN(team, RT_WG_MAXT);
    for (r = cap; r >= 1; r--) {
        ptrdiff_t l = ((g->th + r - 1) / r + nw - 1) / nw * r;
        if (load < 0 || l < load) {
            load = l;
            best = r;
        }
    }
    return best;
}

/* Blocks for `team` threads (1 or more).  Every block reads all of U,
 * which for a 14x14 plane with 256 channels is 9.4 MB: one thread takes
 * the largest block that fits (up to RT_WG_TB1 tiles) so that U streams
 * from memory once; a team needs at least two blocks to share. */
RT_INTERNAL void rt_wg_geometry(const rt_conv2d_shape *s, int team, rt_wg_geom *g)
{
    g->th = (s->OH + 3) / 4;
    g->tw = (s->OW + 3) / 4;
    g->wp = g->tw + 1;
    g->plane = (g->th + 1) * g->wp;
    g->mp = ((ptrdiff_t)s->M + RT_WG_NB - 1) / RT_WG_NB * RT_WG_NB;
    rt_wg_set_rows(g, team > 1 ? rt_wg_team_rows(g, team)
                               : RT_MIN(g->th, RT_WG_TB1 / g->tw));
}

RT_API int rt_winograd_fits(const rt_conv2d_shape *s)
{
    return s->KH == 3 && s->KW == 3 && s->SH == 1 && s->SW == 1 && s->DH == 1 &&
           s->DW == 1 && s->group == 1 && s->M % 16 == 0 && s->OW <= 960;
}

/* ---- weights (compile time) ---------------------------------------------- */

RT_API size_t rt_winograd_packed_size(const rt_conv2d_shape *s)
{
    rt_wg_geom g;
    rt_wg_geometry(s, 1, &g);
    return (size_t)36 * (size_t)s->C * (size_t)g.mp;
}

RT_API void rt_winograd_pack(const rt_conv2d_shape *s, const float *w, float *u)
{
    static const double G[6][3] = {
        {1.0 / 4, 0, 0},
        {-1.0 / 6, -1.0 / 6, -1.0 / 6},
        {-1.0 / 6, 1.0 / 6, -1.0 / 6},
        {1.0 / 24, 1.0 / 12, 1.0 / 6},
        {1.0 / 24, -1.0 / 12, 1.0 / 6},
        {0, 0, 1},
    };
    rt_wg_geom g;
    ptrdiff_t m, c, nb, i, j, k, l;
    rt_wg_geometry(s, 1, &g);
    nb = g.mp / RT_WG_NB;
    memset(u, 0, rt_winograd_packed_size(s) * sizeof(float));
    for (m = 0; m < s->M; m++)
        for (c = 0; c < s->C; c++) {
            const float *gw = w + (m * s->C + c) * 9;
            double t[6][3];
            for (i = 0; i < 6; i++) /* G g */
                for (j = 0; j < 3; j++) {
                    double acc = 0;
                    for (k = 0; k < 3; k++)
                        acc += G[i][k] * gw[k * 3 + j];
                    t[i][j] = acc;
                }
            for (i = 0; i < 6; i++) /* (G g) G^T */
                for (j = 0; j < 6; j++) {
                    double acc = 0;
                    for (l = 0; l < 3; l++)
                        acc += t[i][l] * G[j][l];
                    u[(((i * 6 + j) * nb + m / RT_WG_NB) * s->C + c) * RT_WG_NB +
                      m % RT_WG_NB] = (float)acc;
                }
        }
}

/* Per thread (up to RT_WG_MAXT): V [36][C][tbp] and M [tbp][36][mp]. */
RT_INTERNAL size_t rt_wg_block_floats(const rt_conv2d_shape *s, const rt_wg_geom *g)
{
    return (size_t)36 * (size_t)s->C * g->tbp + 16 + (size_t)36 * g->tbp * g->mp + 16;
}

RT_API size_t rt_winograd_scratch(const rt_conv2d_shape *s)
{
    rt_wg_geom g1, g;
    rt_wg_geometry(s, 1, &g1);
    rt_wg_geometry(s, 2, &g);
    rt_wg_set_rows(&g, rt_wg_team_cap(&g)); /* any team's blocks */
    return (size_t)(16 * (size_t)s->C * g.plane) + RT_WG_SLACK + 16 +
           RT_MAX(rt_wg_block_floats(s, &g1), RT_WG_MAXT * rt_wg_block_floats(s, &g));
}

/* ---- step 1: phase planes ----------------------------------------------- */

#define RT_WG_ROW 1024 /* floats of one padded input row: 4 * (960/4 + 1) <= 964 */

RT_INTERNAL void rt_wg_planes(const rt_conv2d_shape *s, const rt_wg_geom *g,
                              const float *xc, float *p)
{
    ptrdiff_t ra, i, rb, q, n4 = 4 * g->wp;
    /* columns [0, n4) of a padded row: column k is input column k - PL */
    ptrdiff_t ka = RT_MIN((ptrdiff_t)s->PL, n4);
    ptrdiff_t kb = RT_MAX(ka, RT_MIN((ptrdiff_t)s->PL + s->W, n4));
    float buf[RT_WG_ROW];
    for (q = 0; q < RT_WG_ROW; q++)
        buf[q] = 0.0f;
    for (ra = 0; ra < 4; ra++)
        for (i = 0; i < g->th + 1; i++) {
            ptrdiff_t ih = 4 * i + ra - s->PT;
            float *d = p + ra * 4 * g->plane + i * g->wp; /* plane (ra, 0), row i */
            if (ih < 0 || ih >= s->H) {
                for (rb = 0; rb < 4; rb++)
                    memset(d + rb * g->plane, 0, (size_t)g->wp * sizeof(float));
                continue;
            }
            if (kb > ka)
                memcpy(buf + ka, xc + ih * s->W, (size_t)(kb - ka) * sizeof(float));
#if defined(RT_WG_AVX512)
            {
                const __m512i ev = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14,
                                                    12, 10, 8, 6, 4, 2, 0);
                const __m512i od = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15,
                                                    13, 11, 9, 7, 5, 3, 1);
                for (q = 0; q < g->wp; q += 16) {
                    const float *b = buf + 4 * q;
                    __m512 v0 = _mm512_loadu_ps(b), v1 = _mm512_loadu_ps(b + 16);
                    __m512 v2 = _mm512_loadu_ps(b + 32), v3 = _mm512_loadu_ps(b + 48);
                    __m512 e0 = _mm512_permutex2var_ps(v0, ev, v1);
                    __m512 o0 = _mm512_permutex2var_ps(v0, od, v1);
                    __m512 e1 = _mm512_permutex2var_ps(v2, ev, v3);
                    __m512 o1 = _mm512_permutex2var_ps(v2, od, v3);
                    __mmask16 m = rt_wg_mask(g->wp - q);
                    _mm512_mask_storeu_ps(d + q, m, _mm512_permutex2var_ps(e0, ev, e1));
                    _mm512_mask_storeu_ps(d + g->plane + q, m,
                                          _mm512_permutex2var_ps(o0, ev, o1));
                    _mm512_mask_storeu_ps(d + 2 * g->plane + q, m,
                                          _mm512_permutex2var_ps(e0, od, e1));
                    _mm512_mask_storeu_ps(d + 3 * g->plane + q, m,
                                          _mm512_permutex2var_ps(o0, od, o1));
                }
            }
#else
            for (rb = 0; rb < 4; rb++)
                for (q = 0; q < g->wp; q++)
                    d[rb * g->plane + q] = buf[4 * q + rb];
#endif
        }
}

/* ---- the 6-point transforms (in place on six values) -------------------- */

#define RT_WG_BT(d0, d1, d2, d3, d4, d5, r0, r1, r2, r3, r4, r5) \
    do { \
        r0 = 4 * d0 - 5 * d2 + d4; \
        r1 = -4 * (d1 + d2) + d3 + d4; \
        r2 = 4 * (d1 - d2) + d4 - d3; \
        r3 = 2 * (d3 - d1) + d4 - d2; \
        r4 = 2 * (d1 - d3) + d4 - d2; \
        r5 = 4 * d1 - 5 * d3 + d5; \
    } while (0)

/* B^T d B of one 6x6 tile (row-major d, v), plain C. */
RT_INTERNAL void rt_wg_in_tile(const float *d, float *v)
{
    float t[36];
    int i;
    for (i = 0; i < 6; i++) /* columns: t = B^T d */
        RT_WG_BT(d[0 * 6 + i], d[1 * 6 + i], d[2 * 6 + i], d[3 * 6 + i], d[4 * 6 + i],
                 d[5 * 6 + i], t[0 * 6 + i], t[1 * 6 + i], t[2 * 6 + i], t[3 * 6 + i],
                 t[4 * 6 + i], t[5 * 6 + i]);
    for (i = 0; i < 6; i++) /* rows: v = t B */
        RT_WG_BT(t[i * 6 + 0], t[i * 6 + 1], t[i * 6 + 2], t[i * 6 + 3], t[i * 6 + 4],
                 t[i * 6 + 5], v[i * 6 + 0], v[i * 6 + 1], v[i * 6 + 2], v[i * 6 + 3],
                 v[i * 6 + 4], v[i * 6 + 5]);
}

/* A^T m A of one tile (m 6x6, y 4x4, row-major), plain C. */
RT_INTERNAL void rt_wg_out_tile(const float *m, float *y)
{
    float t[24];
    int i;
    for (i = 0; i < 6; i++) { /* columns: t = A^T m, 4 x 6 */
        float s12 = m[1 * 6 + i] + m[2 * 6 + i], d12 = m[1 * 6 + i] - m[2 * 6 + i];
        float s34 = m[3 * 6 + i] + m[4 * 6 + i], d34 = m[3 * 6 + i] - m[4 * 6 + i];
        t[0 * 6 + i] = m[0 * 6 + i] + s12 + s34;
        t[1 * 6 + i] = d12 + 2 * d34;
        t[2 * 6 + i] = s12 + 4 * s34;
        t[3 * 6 + i] = d12 + 8 * d34 + m[5 * 6 + i];
    }
    for (i = 0; i < 4; i++) { /* rows: y = t A */
        const float *r = t + i * 6;
        float s12 = r[1] + r[2], d12 = r[1] - r[2], s34 = r[3] + r[4], d34 = r[3] - r[4];
        y[i * 4 + 0] = r[0] + s12 + s34;
        y[i * 4 + 1] = d12 + 2 * d34;
        y[i * 4 + 2] = s12 + 4 * s34;
        y[i * 4 + 3] = d12 + 8 * d34 + r[5];
    }
}

#if defined(RT_WG_AVX512)

/* The same six-point transforms on vectors. */
#define RT_WG_BT512(d0, d1, d2, d3, d4, d5, r0, r1, r2, r3, r4, r5) \
    do { \
        const __m512 c4 = _mm512_set1_ps(4.0f), c5 = _mm512_set1_ps(5.0f); \
        const __m512 c2 = _mm512_set1_ps(2.0f); \
        __m512 d42 = _mm512_sub_ps(d4, d2); \
        r0 = _mm512_fmadd_ps(c4, d0, _mm512_fnmadd_ps(c5, d2, d4)); \
        r1 = _mm512_fnmadd_ps(c4, _mm512_add_ps(d1, d2), _mm512_add_ps(d3, d4)); \
        r2 = _mm512_fmadd_ps(c4, _mm512_sub_ps(d1, d2), _mm512_sub_ps(d4, d3)); \
        r3 = _mm512_fmadd_ps(c2, _mm512_sub_ps(d3, d1), d42); \
        r4 = _mm512_fmadd_ps(c2, _mm512_sub_ps(d1, d3), d42); \
        r5 = _mm512_fmadd_ps(c4, d1, _mm512_fnmadd_ps(c5, d3, d5)); \
    } while (0)

#define RT_WG_AT512(m0, m1, m2, m3, m4, m5, o0, o1, o2, o3) \
    do { \
        __m512 s12 = _mm512_add_ps(m1, m2), d12 = _mm512_sub_ps(m1, m2); \
        __m512 s34 = _mm512_add_ps(m3, m4), d34 = _mm512_sub_ps(m3, m4); \
        o0 = _mm512_add_ps(_mm512_add_ps(m0, s12), s34); \
        o1 = _mm512_fmadd_ps(_mm512_set1_ps(2.0f), d34, d12); \
        o2 = _mm512_fmadd_ps(_mm512_set1_ps(4.0f), s34, s12); \
        o3 = _mm512_add_ps(_mm512_fmadd_ps(_mm512_set1_ps(8.0f), d34, d12), m5); \
    } while (0)

RT_INTERNAL __m512 rt_wg_act512(__m512 v, int act, float alpha, float beta)
{
    switch (act) {
    case RT_ACT_RELU:
        return _mm512_max_ps(v, _mm512_setzero_ps());
    case RT_ACT_CLIP:
        return _mm512_min_ps(_mm512_max_ps(v, _mm512_set1_ps(alpha)), _mm512_set1_ps(beta));
    case RT_ACT_LEAKY_RELU: {
        __mmask16 neg = _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_LT_OQ);
        return _mm512_mask_mul_ps(v, neg, v, _mm512_set1_ps(alpha));
    }
    case RT_ACT_NONE:
        return v;
    default: {   /* exp-based: the epilogue's vector forms */
        float f[16];
        _mm512_storeu_ps(f, v);
        rt_activate_n(act, alpha, beta, f, 16);
        return _mm512_loadu_ps(f);
    }
    }
}
#endif

#if defined(RT_WG_AVX2)
/* The six-point transforms on 8-lane vectors, as RT_WG_BT512 / RT_WG_AT512. */
#define RT_WG_BT256(d0, d1, d2, d3, d4, d5, r0, r1, r2, r3, r4, r5) \
    do { \
        const __m256 c4 = _mm256_set1_ps(4.0f), c5 = _mm256_set1_ps(5.0f); \
        const __m256 c2 = _mm256_set1_ps(2.0f); \
        __m256 d42 = _mm256_sub_ps(d4, d2); \
        r0 = _mm256_fmadd_ps(c4, d0, _mm256_fnmadd_ps(c5, d2, d4)); \
        r1 = _mm256_fnmadd_ps(c4, _mm256_add_ps(d1, d2), _mm256_add_ps(d3, d4)); \
        r2 = _mm256_fmadd_ps(c4, _mm256_sub_ps(d1, d2), _mm256_sub_ps(d4, d3)); \
        r3 = _mm256_fmadd_ps(c2, _mm256_sub_ps(d3, d1), d42); \
        r4 = _mm256_fmadd_ps(c2, _mm256_sub_ps(d1, d3), d42); \
        r5 = _mm256_fmadd_ps(c4, d1, _mm256_fnmadd_ps(c5, d3, d5)); \
    } while (0)

#define RT_WG_AT256(m0, m1, m2, m3, m4, m5, o0, o1, o2, o3) \
    do { \
        __m256 s12 = _mm256_add_ps(m1, m2), d12 = _mm256_sub_ps(m1, m2); \
        __m256 s34 = _mm256_add_ps(m3, m4), d34 = _mm256_sub_ps(m3, m4); \
        o0 = _mm256_add_ps(_mm256_add_ps(m0, s12), s34); \
        o1 = _mm256_fmadd_ps(_mm256_set1_ps(2.0f), d34, d12); \
        o2 = _mm256_fmadd_ps(_mm256_set1_ps(4.0f), s34, s12); \
        o3 = _mm256_add_ps(_mm256_fmadd_ps(_mm256_set1_ps(8.0f), d34, d12), m5); \
    } while (0)
#endif

/* ---- step 2a: input transform of a block ---------------------------------- */

/* V column `out` of channel plane set pc: tile (ti, tj), plain C. */
RT_INTERNAL void rt_wg_in_one(const rt_wg_geom *g, const float *pc, ptrdiff_t ti,
                              ptrdiff_t tj, float *vc, ptrdiff_t vs, ptrdiff_t out)
{
    float d[36], vv[36];
    int a, b;
    for (a = 0; a < 6; a++)
        for (b = 0; b < 6; b++)
            d[a * 6 + b] = pc[((a & 3) * 4 + (b & 3)) * g->plane + (ti + (a >> 2)) * g->wp +
                              tj + (b >> 2)];
    rt_wg_in_tile(d, vv);
    for (a = 0; a < 36; a++)
        vc[a * vs + out] = vv[a];
}

/* V[xi][c][t - t0] (C channels) for channels [c0, c1) and the tiles of
 * tile rows [ti0, ti1), t = ti*TW + tj. */
RT_INTERNAL void rt_wg_input(const rt_wg_geom *g, ptrdiff_t C, const float *planes,
                             ptrdiff_t ti0, ptrdiff_t ti1, ptrdiff_t c0,
                             ptrdiff_t c1, float *v)
{
    ptrdiff_t c, vs = C * g->tbp; /* floats per xi (V is [xi][C][tbp]) */
#if defined(RT_WG_AVX512)
    ptrdiff_t p0 = ti0 * g->wp, p1 = (ti1 - 1) * g->wp + g->tw; /* t' range */
    ptrdiff_t nv = (p1 - p0 + 15) / 16, k, col = 0;
    __mmask16 lm[16], vm[16]; /* nv <= 16: a block spans <= 256 positions */
    ptrdiff_t at[17];         /* V column of each vector's first kept lane */
    /* the masks are the same for every channel: lanes inside [p0, p1),
     * and of those the ones that are not the junk column tw */
    for (k = 0, at[0] = 0; k < nv; k++) {
        ptrdiff_t j;
        unsigned m = rt_wg_mask(p1 - p0 - 16 * k), keep = m;
        for (j = g->tw - col; j < 16; j += g->wp)
            keep &= ~(1u << j);
        lm[k] = (__mmask16)m;
        vm[k] = (__mmask16)keep;
        at[k + 1] = at[k];
        for (j = 0; j < 16; j++)
            at[k + 1] += keep >> j & 1u;
        col = (col + 16) % g->wp;
    }
    for (c = c0; c < c1; c++) {
        const float *pc = planes + c * 16 * g->plane + p0;
        float *vc = v + c * g->tbp;
        for (k = 0; k < nv; k++) {
            const float *pk = pc + 16 * k;
            __m512 d[36], tt[36];
            __mmask16 sm = rt_wg_mask(at[k + 1] - at[k]);
            int a, b;
            for (a = 0; a < 6; a++)
                for (b = 0; b < 6; b++)
                    d[a * 6 + b] = _mm512_maskz_loadu_ps(
                        lm[k], pk + ((a & 3) * 4 + (b & 3)) * g->plane + (a >> 2) * g->wp +
                                   (b >> 2));
            for (b = 0; b < 6; b++)
                RT_WG_BT512(d[0 * 6 + b], d[1 * 6 + b], d[2 * 6 + b], d[3 * 6 + b],
                            d[4 * 6 + b], d[5 * 6 + b], tt[0 * 6 + b], tt[1 * 6 + b],
                            tt[2 * 6 + b], tt[3 * 6 + b], tt[4 * 6 + b], tt[5 * 6 + b]);
            for (a = 0; a < 6; a++)
                RT_WG_BT512(tt[a * 6 + 0], tt[a * 6 + 1], tt[a * 6 + 2], tt[a * 6 + 3],
                            tt[a * 6 + 4], tt[a * 6 + 5], d[a * 6 + 0], d[a * 6 + 1],
                            d[a * 6 + 2], d[a * 6 + 3], d[a * 6 + 4], d[a * 6 + 5]);
            for (a = 0; a < 36; a++)
                _mm512_mask_storeu_ps(vc + a * vs + at[k], sm,
                                      _mm512_maskz_compress_ps(vm[k], d[a]));
        }
    }
#elif defined(RT_WG_AVX2)
    /* 8 tiles of a tile row per vector: consecutive tj are consecutive
     * plane positions and V columns (reads end at column tw < wp); the
     * row's last tw % 8 tiles one by one */
    ptrdiff_t ti, tj;
    for (c = c0; c < c1; c++) {
        const float *pc = planes + c * 16 * g->plane;
        float *vc = v + c * g->tbp;
        ptrdiff_t out = 0;
        for (ti = ti0; ti < ti1; ti++) {
            for (tj = 0; tj + 8 <= g->tw; tj += 8, out += 8) {
                __m256 d[36], tt[36];
                int a, b;
                for (a = 0; a < 6; a++)
                    for (b = 0; b < 6; b++)
                        d[a * 6 + b] = _mm256_loadu_ps(
                            pc + ((a & 3) * 4 + (b & 3)) * g->plane +
                            (ti + (a >> 2)) * g->wp + tj + (b >> 2));
                for (b = 0; b < 6; b++)
                    RT_WG_BT256(d[0 * 6 + b], d[1 * 6 + b], d[2 * 6 + b], d[3 * 6 + b],
                                d[4 * 6 + b], d[5 * 6 + b], tt[0 * 6 + b], tt[1 * 6 + b],
                                tt[2 * 6 + b], tt[3 * 6 + b], tt[4 * 6 + b], tt[5 * 6 + b]);
                for (a = 0; a < 6; a++)
                    RT_WG_BT256(tt[a * 6 + 0], tt[a * 6 + 1], tt[a * 6 + 2], tt[a * 6 + 3],
                                tt[a * 6 + 4], tt[a * 6 + 5], d[a * 6 + 0], d[a * 6 + 1],
                                d[a * 6 + 2], d[a * 6 + 3], d[a * 6 + 4], d[a * 6 + 5]);
                for (a = 0; a < 36; a++)
                    _mm256_storeu_ps(vc + a * vs + out, d[a]);
            }
            for (; tj < g->tw; tj++, out++)
                rt_wg_in_one(g, pc, ti, tj, vc, vs, out);
        }
    }
#else
    ptrdiff_t ti, tj;
    for (c = c0; c < c1; c++) {
        const float *pc = planes + c * 16 * g->plane;
        float *vc = v + c * g->tbp;
        ptrdiff_t out = 0;
        for (ti = ti0; ti < ti1; ti++)
            for (tj = 0; tj < g->tw; tj++, out++)
                rt_wg_in_one(g, pc, ti, tj, vc, vs, out);
    }
#endif
}

/* ---- step 2b: the 36 GEMMs --------------------------------------------- */

/* out[r][0..32) = sum_c v[c*ldv + r] * u[c*32 + 0..32), r < RT_WG_TR. */
#if defined(RT_WG_AVX512)
RT_INTERNAL RT_NOINLINE void rt_wg_kernel(ptrdiff_t C, const float *restrict v,
                                          ptrdiff_t ldv, const float *restrict u,
                                          float *restrict out, ptrdiff_t ldo)
{
    __m512 c00 = _mm512_setzero_ps(), c01 = _mm512_setzero_ps();
    __m512 c10 = _mm512_setzero_ps(), c11 = _mm512_setzero_ps();
    __m512 c20 = _mm512_setzero_ps(), c21 = _mm512_setzero_ps();
    __m512 c30 = _mm512_setzero_ps(), c31 = _mm512_setzero_ps();
    __m512 c40 = _mm512_setzero_ps(), c41 = _mm512_setzero_ps();
    __m512 c50 = _mm512_setzero_ps(), c51 = _mm512_setzero_ps();
    __m512 c60 = _mm512_setzero_ps(), c61 = _mm512_setzero_ps();
    __m512 c70 = _mm512_setzero_ps(), c71 = _mm512_setzero_ps();
    ptrdiff_t c;
    for (c = 0; c < C; c++) {
        __m512 u0 = _mm512_loadu_ps(u), u1 = _mm512_loadu_ps(u + 16), a;
        _mm_prefetch((const char *)(u + RT_WG_UPF * RT_WG_NB), _MM_HINT_T0);
        _mm_prefetch((const char *)(u + RT_WG_UPF * RT_WG_NB + 16), _MM_HINT_T0);
        a = _mm512_set1_ps(v[0]);
        c00 = _mm512_fmadd_ps(a, u0, c00);
        c01 = _mm512_fmadd_ps(a, u1, c01);
        a = _mm512_set1_ps(v[1]);
        c10 = _mm512_fmadd_ps(a, u0, c10);
        c11 = _mm512_fmadd_ps(a, u1, c11);
        a = _mm512_set1_ps(v[2]);
        c20 = _mm512_fmadd_ps(a, u0, c20);
        c21 = _mm512_fmadd_ps(a, u1, c21);
        a = _mm512_set1_ps(v[3]);
        c30 = _mm512_fmadd_ps(a, u0, c30);
        c31 = _mm512_fmadd_ps(a, u1, c31);
        a = _mm512_set1_ps(v[4]);
        c40 = _mm512_fmadd_ps(a, u0, c40);
        c41 = _mm512_fmadd_ps(a, u1, c41);
        a = _mm512_set1_ps(v[5]);
        c50 = _mm512_fmadd_ps(a, u0, c50);
        c51 = _mm512_fmadd_ps(a, u1, c51);
        a = _mm512_set1_ps(v[6]);
        c60 = _mm512_fmadd_ps(a, u0, c60);
        c61 = _mm512_fmadd_ps(a, u1, c61);
        a = _mm512_set1_ps(v[7]);
        c70 = _mm512_fmadd_ps(a, u0, c70);
        c71 = _mm512_fmadd_ps(a, u1, c71);
        u += RT_WG_NB;
        v += ldv;
    }
    _mm512_storeu_ps(out + 0 * ldo, c00);
    _mm512_storeu_ps(out + 0 * ldo + 16, c01);
    _mm512_storeu_ps(out + 1 * ldo, c10);
    _mm512_storeu_ps(out + 1 * ldo + 16, c11);
    _mm512_storeu_ps(out + 2 * ldo, c20);
    _mm512_storeu_ps(out + 2 * ldo + 16, c21);
    _mm512_storeu_ps(out + 3 * ldo, c30);
    _mm512_storeu_ps(out + 3 * ldo + 16, c31);
    _mm512_storeu_ps(out + 4 * ldo, c40);
    _mm512_storeu_ps(out + 4 * ldo + 16, c41);
    _mm512_storeu_ps(out + 5 * ldo, c50);
    _mm512_storeu_ps(out + 5 * ldo + 16, c51);
    _mm512_storeu_ps(out + 6 * ldo, c60);
    _mm512_storeu_ps(out + 6 * ldo + 16, c61);
    _mm512_storeu_ps(out + 7 * ldo, c70);
    _mm512_storeu_ps(out + 7 * ldo + 16, c71);
}
#elif defined(RT_WG_AVX2)
/* AVX2 + FMA: the 8 x 32 tile in three passes with the accumulators in
 * registers (rows 0-5 x channels 0-15 and 16-31: 12 ymm; rows 6-7 x 0-31:
 * 8), over slices of RT_WG_AVX2_KC input channels so that the slice's U
 * and V stay in L1 across the passes; out holds the partial sums between
 * slices (same order of the sums per output: c ascending, FMA). */
#define RT_WG_AVX2_KC 64
/* Keeps v in a register: gcc 12 otherwise folds the U loads into every
 * FMA (a 256-bit load per FMA, load-bound). */
#if defined(__GNUC__)
#  define RT_WG_KEEP(v) __asm__("" : "+x"(v))
#else
#  define RT_WG_KEEP(v) ((void)0)
#endif
#define RT_WG_ROW6(r)                                                          \
    a = _mm256_broadcast_ss(v + (r));                                          \
    c##r##0 = _mm256_fmadd_ps(a, u0, c##r##0);                                 \
    c##r##1 = _mm256_fmadd_ps(a, u1, c##r##1);
RT_INTERNAL RT_NOINLINE void rt_wg_rows6(ptrdiff_t C, const float *restrict v,
                                         ptrdiff_t ldv, const float *restrict u,
                                         float *restrict out, ptrdiff_t ldo,
                                         int acc, int pfu)
{
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
    __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
    __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
    __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
    __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
    __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
    ptrdiff_t c;
    if (acc) {
        c00 = _mm256_loadu_ps(out + 0 * ldo), c01 = _mm256_loadu_ps(out + 0 * ldo + 8);
        c10 = _mm256_loadu_ps(out + 1 * ldo), c11 = _mm256_loadu_ps(out + 1 * ldo + 8);
        c20 = _mm256_loadu_ps(out + 2 * ldo), c21 = _mm256_loadu_ps(out + 2 * ldo + 8);
        c30 = _mm256_loadu_ps(out + 3 * ldo), c31 = _mm256_loadu_ps(out + 3 * ldo + 8);
        c40 = _mm256_loadu_ps(out + 4 * ldo), c41 = _mm256_loadu_ps(out + 4 * ldo + 8);
        c50 = _mm256_loadu_ps(out + 5 * ldo), c51 = _mm256_loadu_ps(out + 5 * ldo + 8);
    }
    for (c = 0; c < C; c++) {
        __m256 u0 = _mm256_loadu_ps(u), u1 = _mm256_loadu_ps(u + 8);
        __m256 a;
        RT_WG_KEEP(u0);
        RT_WG_KEEP(u1);
        if (pfu) {
            _mm_prefetch((const char *)(u + RT_WG_UPF * RT_WG_NB), _MM_HINT_T0);
            _mm_prefetch((const char *)(u + RT_WG_UPF * RT_WG_NB + 16), _MM_HINT_T0);
        }
        RT_WG_ROW6(0)
        RT_WG_ROW6(1)
        RT_WG_ROW6(2)
        RT_WG_ROW6(3)
        RT_WG_ROW6(4)
        RT_WG_ROW6(5)
        u += RT_WG_NB;
        v += ldv;
    }
    _mm256_storeu_ps(out + 0 * ldo, c00);
    _mm256_storeu_ps(out + 0 * ldo + 8, c01);
    _mm256_storeu_ps(out + 1 * ldo, c10);
    _mm256_storeu_ps(out + 1 * ldo + 8, c11);
    _mm256_storeu_ps(out + 2 * ldo, c20);
    _mm256_storeu_ps(out + 2 * ldo + 8, c21);
    _mm256_storeu_ps(out + 3 * ldo, c30);
    _mm256_storeu_ps(out + 3 * ldo + 8, c31);
    _mm256_storeu_ps(out + 4 * ldo, c40);
    _mm256_storeu_ps(out + 4 * ldo + 8, c41);
    _mm256_storeu_ps(out + 5 * ldo, c50);
    _mm256_storeu_ps(out + 5 * ldo + 8, c51);
}
#undef RT_WG_ROW6

#define RT_WG_ROW2(r, k)                                                       \
    a = _mm256_broadcast_ss(v + (r));                                          \
    c##k##0 = _mm256_fmadd_ps(a, u0, c##k##0);                                 \
    c##k##1 = _mm256_fmadd_ps(a, u1, c##k##1);                                 \
    c##k##2 = _mm256_fmadd_ps(a, u2, c##k##2);                                 \
    c##k##3 = _mm256_fmadd_ps(a, u3, c##k##3);
/* Rows 6-7 x channels 0-31. */
RT_INTERNAL RT_NOINLINE void rt_wg_rows2(ptrdiff_t C, const float *restrict v,
                                         ptrdiff_t ldv, const float *restrict u,
                                         float *restrict out, ptrdiff_t ldo,
                                         int acc)
{
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
    __m256 c02 = _mm256_setzero_ps(), c03 = _mm256_setzero_ps();
    __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
    __m256 c12 = _mm256_setzero_ps(), c13 = _mm256_setzero_ps();
    float *o6 = out + 6 * ldo, *o7 = out + 7 * ldo;
    ptrdiff_t c;
    if (acc) {
        c00 = _mm256_loadu_ps(o6), c01 = _mm256_loadu_ps(o6 + 8);
        c02 = _mm256_loadu_ps(o6 + 16), c03 = _mm256_loadu_ps(o6 + 24);
        c10 = _mm256_loadu_ps(o7), c11 = _mm256_loadu_ps(o7 + 8);
        c12 = _mm256_loadu_ps(o7 + 16), c13 = _mm256_loadu_ps(o7 + 24);
    }
    for (c = 0; c < C; c++) {
        __m256 u0 = _mm256_loadu_ps(u), u1 = _mm256_loadu_ps(u + 8);
        __m256 u2 = _mm256_loadu_ps(u + 16), u3 = _mm256_loadu_ps(u + 24);
        __m256 a;
        RT_WG_KEEP(u0);
        RT_WG_KEEP(u1);
        RT_WG_KEEP(u2);
        RT_WG_KEEP(u3);
        RT_WG_ROW2(6, 0)
        RT_WG_ROW2(7, 1)
        u += RT_WG_NB;
        v += ldv;
    }
    _mm256_storeu_ps(o6, c00);
    _mm256_storeu_ps(o6 + 8, c01);
    _mm256_storeu_ps(o6 + 16, c02);
    _mm256_storeu_ps(o6 + 24, c03);
    _mm256_storeu_ps(o7, c10);
    _mm256_storeu_ps(o7 + 8, c11);
    _mm256_storeu_ps(o7 + 16, c12);
    _mm256_storeu_ps(o7 + 24, c13);
}
#undef RT_WG_ROW2

RT_INTERNAL void rt_wg_kernel(ptrdiff_t C, const float *v, ptrdiff_t ldv,
                              const float *u, float *out, ptrdiff_t ldo)
{
    ptrdiff_t c0;
    for (c0 = 0; c0 < C; c0 += RT_WG_AVX2_KC) {
        const ptrdiff_t kc = RT_MIN(RT_WG_AVX2_KC, C - c0);
        const float *vc = v + c0 * ldv, *uc = u + c0 * RT_WG_NB;
        rt_wg_rows6(kc, vc, ldv, uc, out, ldo, c0 > 0, 1);
        rt_wg_rows6(kc, vc, ldv, uc + 16, out + 16, ldo, c0 > 0, 0);
        rt_wg_rows2(kc, vc, ldv, uc, out, ldo, c0 > 0);
    }
    if (C <= 0) { /* no sums: zeros, as the other targets */
        int r, j;
        for (r = 0; r < RT_WG_TR; r++)
            for (j = 0; j < RT_WG_NB; j++)
                out[r * ldo + j] = 0.0f;
    }
}
#else
RT_INTERNAL RT_NOINLINE void rt_wg_kernel(ptrdiff_t C, const float *restrict v,
                                          ptrdiff_t ldv, const float *restrict u,
                                          float *restrict out, ptrdiff_t ldo)
{
    float acc[RT_WG_TR][RT_WG_NB];
    ptrdiff_t c;
    int r, j;
    for (r = 0; r < RT_WG_TR; r++)
        for (j = 0; j < RT_WG_NB; j++)
            acc[r][j] = 0.0f;
    for (c = 0; c < C; c++) {
        for (r = 0; r < RT_WG_TR; r++) {
            const float a = v[r];
            for (j = 0; j < RT_WG_NB; j++)
                acc[r][j] = RT_FMA(a, u[j], acc[r][j]);
        }
        u += RT_WG_NB;
        v += ldv;
    }
    for (r = 0; r < RT_WG_TR; r++)
        for (j = 0; j < RT_WG_NB; j++)
            out[r * ldo + j] = acc[r][j];
}
#endif

/* ---- step 2c: output transform and epilogue --------------------------- */

/* Output channels [m1, m2) (multiples of 16, or m2 = M) of tiles [0, nt)
 * of the block (first tile row ti0) from M[t][xi][m]. */
RT_INTERNAL void rt_wg_output(const rt_conv2d_shape *s, const rt_wg_geom *g,
                              const float *mb, ptrdiff_t ti0, ptrdiff_t nt,
                              ptrdiff_t m1, ptrdiff_t m2, const float *bias,
                              const float *res, int act, float alpha, float beta,
                              float *y)
{
    ptrdiff_t ms = g->mp; /* floats per xi (M is [t][xi][mp]) */
    ptrdiff_t ohw = (ptrdiff_t)s->OH * s->OW, t, m0;
    for (t = 0; t < nt; t++) {
        ptrdiff_t ti = ti0 + t / g->tw, tj = t % g->tw;
        ptrdiff_t oh0 = 4 * ti, ow0 = 4 * tj;
        ptrdiff_t nr = RT_MIN(4, s->OH - oh0), nc = RT_MIN(4, s->OW - ow0);
        const float *mt = mb + t * 36 * g->mp;
#if defined(RT_WG_AVX512)
        for (m0 = m1; m0 < m2; m0 += 16) {
            __m512 r[16], tt[24];
            int i, k;
            for (i = 0; i < 6; i++) { /* columns: A^T m */
                __m512 v0 = _mm512_loadu_ps(mt + (0 * 6 + i) * ms + m0);
                __m512 v1 = _mm512_loadu_ps(mt + (1 * 6 + i) * ms + m0);
                __m512 v2 = _mm512_loadu_ps(mt + (2 * 6 + i) * ms + m0);
                __m512 v3 = _mm512_loadu_ps(mt + (3 * 6 + i) * ms + m0);
                __m512 v4 = _mm512_loadu_ps(mt + (4 * 6 + i) * ms + m0);
                __m512 v5 = _mm512_loadu_ps(mt + (5 * 6 + i) * ms + m0);
                RT_WG_AT512(v0, v1, v2, v3, v4, v5, tt[0 * 6 + i], tt[1 * 6 + i],
                            tt[2 * 6 + i], tt[3 * 6 + i]);
            }
            for (i = 0; i < 4; i++) /* rows: (A^T m) A, pixel (i, j) -> r[i*4 + j] */
                RT_WG_AT512(tt[i * 6 + 0], tt[i * 6 + 1], tt[i * 6 + 2], tt[i * 6 + 3],
                            tt[i * 6 + 4], tt[i * 6 + 5], r[i * 4 + 0], r[i * 4 + 1],
                            r[i * 4 + 2], r[i * 4 + 3]);
            if (bias) {
                __m512 b = _mm512_loadu_ps(bias + m0);
                for (i = 0; i < 16; i++)
                    r[i] = _mm512_add_ps(r[i], b);
            }
            if (!res && act != RT_ACT_NONE)
                for (i = 0; i < 16; i++)
                    r[i] = rt_wg_act512(r[i], act, alpha, beta);
            /* r[i*4 + j] holds pixel (i, j) of 16 channels (lane = channel);
             * two rounds of a 16x16 transpose leave r[4i + k], 128-bit block
             * L = pixel row i (4 floats) of channel 4L + k: row stores */
            rt_tr16x16_blocks(r);
            if (nr == 4 && nc == 4) {
                /* r[4i + k] block L: row i of channel m0 + 4L + k; a
                 * residual is read in the same layout, four row loads per
                 * vector (through memory, a ResNet block's 3x3 ran at half
                 * the speed of the one without) */
                float *y0 = y + m0 * ohw + oh0 * s->OW + ow0;
                const float *r0 = res ? res + m0 * ohw + oh0 * s->OW + ow0 : NULL;
                for (i = 0; r0 && i < 4; i++)
                    for (k = 0; k < 4; k++) {
                        const float *rr = r0 + k * ohw + i * s->OW;
                        __m512 v = _mm512_castps128_ps512(_mm_loadu_ps(rr));
                        v = _mm512_insertf32x4(v, _mm_loadu_ps(rr + 4 * ohw), 1);
                        v = _mm512_insertf32x4(v, _mm_loadu_ps(rr + 8 * ohw), 2);
                        v = _mm512_insertf32x4(v, _mm_loadu_ps(rr + 12 * ohw), 3);
                        r[4 * i + k] = rt_wg_act512(_mm512_add_ps(r[4 * i + k], v), act,
                                                    alpha, beta);
                    }
                for (i = 0; i < 4; i++)
                    for (k = 0; k < 4; k++) {
                        float *yr = y0 + k * ohw + i * s->OW;
                        _mm_storeu_ps(yr, _mm512_castps512_ps128(r[4 * i + k]));
                        _mm_storeu_ps(yr + 4 * ohw, _mm512_extractf32x4_ps(r[4 * i + k], 1));
                        _mm_storeu_ps(yr + 8 * ohw, _mm512_extractf32x4_ps(r[4 * i + k], 2));
                        _mm_storeu_ps(yr + 12 * ohw, _mm512_extractf32x4_ps(r[4 * i + k], 3));
                    }
            } else {
                /* edges: through memory */
                float f[256];
                int c, j;
                for (i = 0; i < 16; i++)
                    _mm512_storeu_ps(f + 16 * i, r[i]);
                for (c = 0; c < 16; c++) {
                    const float *src = f + 16 * (c & 3) + 4 * (c >> 2); /* + 64 i */
                    float *yc = y + (m0 + c) * ohw + oh0 * s->OW + ow0;
                    const float *rc = res ? res + (m0 + c) * ohw + oh0 * s->OW + ow0 : NULL;
                    for (i = 0; i < nr; i++) {
                        float row[4];
                        for (j = 0; j < nc; j++)
                            row[j] = src[64 * i + j] + (rc ? rc[i * s->OW + j] : 0.0f);
                        if (rc)   /* without one, r[] has its activation already */
                            rt_activate_n(act, alpha, beta, row, nc);
                        for (j = 0; j < nc; j++)
                            yc[i * s->OW + j] = row[j];
                    }
                }
            }
        }
#elif defined(RT_WG_AVX2)
        for (m0 = m1; m0 < m2; m0 += 8) { /* M % 16 == 0: whole vectors */
            __m256 r[16], tt[24];
            int i, k;
            for (i = 0; i < 6; i++) { /* columns: A^T m */
                __m256 v0 = _mm256_loadu_ps(mt + (0 * 6 + i) * ms + m0);
                __m256 v1 = _mm256_loadu_ps(mt + (1 * 6 + i) * ms + m0);
                __m256 v2 = _mm256_loadu_ps(mt + (2 * 6 + i) * ms + m0);
                __m256 v3 = _mm256_loadu_ps(mt + (3 * 6 + i) * ms + m0);
                __m256 v4 = _mm256_loadu_ps(mt + (4 * 6 + i) * ms + m0);
                __m256 v5 = _mm256_loadu_ps(mt + (5 * 6 + i) * ms + m0);
                RT_WG_AT256(v0, v1, v2, v3, v4, v5, tt[0 * 6 + i], tt[1 * 6 + i],
                            tt[2 * 6 + i], tt[3 * 6 + i]);
            }
            for (i = 0; i < 4; i++) /* rows: pixel (i, j) -> r[i*4 + j], lane = channel */
                RT_WG_AT256(tt[i * 6 + 0], tt[i * 6 + 1], tt[i * 6 + 2], tt[i * 6 + 3],
                            tt[i * 6 + 4], tt[i * 6 + 5], r[i * 4 + 0], r[i * 4 + 1],
                            r[i * 4 + 2], r[i * 4 + 3]);
            if (bias) {
                __m256 b = _mm256_loadu_ps(bias + m0);
                for (i = 0; i < 16; i++)
                    r[i] = _mm256_add_ps(r[i], b);
            }
            if (nr == 4 && nc == 4 &&
                (act == RT_ACT_NONE || act == RT_ACT_RELU || act == RT_ACT_CLIP)) {
                /* per pixel row i a 4 x 8 transpose: u[k] = row i of
                 * channels k (low half) and k + 4 (high half); then the
                 * residual in the same layout and the activation as
                 * rt_wg_act512 does it */
                const __m256 lo = _mm256_set1_ps(act == RT_ACT_CLIP ? alpha : 0.0f);
                const __m256 hi = _mm256_set1_ps(act == RT_ACT_CLIP ? beta : INFINITY);
                float *y0 = y + m0 * ohw + oh0 * s->OW + ow0;
                const float *r0 = res ? res + m0 * ohw + oh0 * s->OW + ow0 : NULL;
                for (i = 0; i < 4; i++) {
                    __m256 t0 = _mm256_unpacklo_ps(r[4 * i], r[4 * i + 1]);
                    __m256 t1 = _mm256_unpackhi_ps(r[4 * i], r[4 * i + 1]);
                    __m256 t2 = _mm256_unpacklo_ps(r[4 * i + 2], r[4 * i + 3]);
                    __m256 t3 = _mm256_unpackhi_ps(r[4 * i + 2], r[4 * i + 3]);
                    __m256 u[4];
                    u[0] = _mm256_shuffle_ps(t0, t2, 0x44);
                    u[1] = _mm256_shuffle_ps(t0, t2, 0xEE);
                    u[2] = _mm256_shuffle_ps(t1, t3, 0x44);
                    u[3] = _mm256_shuffle_ps(t1, t3, 0xEE);
                    for (k = 0; k < 4; k++) {
                        float *yr = y0 + k * ohw + i * s->OW;
                        if (r0) {
                            const float *rr = r0 + k * ohw + i * s->OW;
                            __m256 v = _mm256_castps128_ps256(_mm_loadu_ps(rr));
                            v = _mm256_insertf128_ps(v, _mm_loadu_ps(rr + 4 * ohw), 1);
                            u[k] = _mm256_add_ps(u[k], v);
                        }
                        if (act != RT_ACT_NONE)
                            u[k] = _mm256_min_ps(_mm256_max_ps(u[k], lo), hi);
                        _mm_storeu_ps(yr, _mm256_castps256_ps128(u[k]));
                        _mm_storeu_ps(yr + 4 * ohw, _mm256_extractf128_ps(u[k], 1));
                    }
                }
            } else {
                /* edges, residual, other activations: through memory, the
                 * activation on the whole tile at once (vectorised) */
                float f[128];
                int c, j;
                for (i = 0; i < 16; i++)
                    _mm256_storeu_ps(f + 8 * i, r[i]);
                for (c = 0; res && c < 8; c++) {
                    const float *rc = res + (m0 + c) * ohw + oh0 * s->OW + ow0;
                    for (i = 0; i < nr; i++)
                        for (j = 0; j < nc; j++)
                            f[8 * (4 * i + j) + c] += rc[i * s->OW + j];
                }
                if (act != RT_ACT_NONE)
                    rt_activate_n(act, alpha, beta, f, 128);
                for (c = 0; c < 8; c++) {
                    float *yc = y + (m0 + c) * ohw + oh0 * s->OW + ow0;
                    for (i = 0; i < nr; i++)
                        for (j = 0; j < nc; j++)
                            yc[i * s->OW + j] = f[8 * (4 * i + j) + c];
                }
            }
        }
#else
        for (m0 = m1; m0 < m2; m0++) {
            float mm[36], yy[16];
            int a, i, j;
            for (a = 0; a < 36; a++)
                mm[a] = mt[a * ms + m0];
            rt_wg_out_tile(mm, yy);
            for (i = 0; i < nr; i++)
                for (j = 0; j < nc; j++) {
                    ptrdiff_t at = m0 * ohw + (oh0 + i) * s->OW + ow0 + j;
                    float v = yy[i * 4 + j] + (bias ? bias[m0] : 0.0f);
                    if (res)
                        v += res[at];
                    y[at] = rt_activate(act, alpha, beta, v);
                }
        }
#endif
    }
}

/* ---- the entry point ---------------------------------------------------- */

RT_INTERNAL float *rt_wg_align(float *p)
{
    uintptr_t u = (uintptr_t)p;
    return (float *)(void *)((u + 63) / 64 * 64);
}

/* Tile rows [*ti0, *ti1) of block blk; returns its tile count. */
RT_INTERNAL ptrdiff_t rt_wg_block_rows(const rt_wg_geom *g, ptrdiff_t blk, ptrdiff_t *ti0,
                                       ptrdiff_t *ti1)
{
    *ti0 = blk * g->rb;
    *ti1 = RT_MIN(*ti0 + g->rb, g->th);
    return (*ti1 - *ti0) * g->tw;
}

/* V [36][C][tbp] and M [tbp][36][mp] in a block buffer of
 * rt_wg_block_floats; returns V. */
RT_INTERNAL float *rt_wg_block_vm(const rt_conv2d_shape *s, const rt_wg_geom *g, float *buf,
                                  float **mb)
{
    float *v = rt_wg_align(buf);
    *mb = rt_wg_align(v + 36 * (ptrdiff_t)s->C * g->tbp);
    return v;
}

/* The GEMMs of positions [xi0, xi1) for the nt tiles of a block. */
RT_INTERNAL void rt_wg_gemms(const rt_conv2d_shape *s, const rt_wg_geom *g,
                             const float *u, const float *v, float *mb,
                             ptrdiff_t nt, ptrdiff_t xi0, ptrdiff_t xi1)
{
    ptrdiff_t nb = g->mp / RT_WG_NB, xi, q, r;
    for (xi = xi0; xi < xi1; xi++)
        for (q = 0; q < nb; q++)
            for (r = 0; r < nt; r += RT_WG_TR)
                rt_wg_kernel(s->C, v + xi * s->C * g->tbp + r, g->tbp,
                             u + (xi * nb + q) * s->C * RT_WG_NB,
                             mb + (r * 36 + xi) * g->mp + q * RT_WG_NB, 36 * g->mp);
}

/* Whether a team should share each block (input transform split by
 * channels, GEMMs by xi, output transform by output channels, a barrier
 * between steps) rather than take blocks of its own: when U, which every
 * block streams whole, outweighs twice what the team passes between cores
 * (V and M).  ResNet-50's 14x14 layers: 9.4 MB of U against 1.2 MB. */
RT_INTERNAL int rt_wg_team_shares(const rt_conv2d_shape *s, const rt_wg_geom *g1)
{
    return (double)s->C * g1->mp > 2.0 * (double)g1->tbp * ((double)s->C + g1->mp);
}

RT_API void rt_winograd(const rt_conv2d_shape *s, const float *x, const float *u,
                        const float *bias, const float *residual, int act,
                        float alpha, float beta, float *y, float *scratch)
{
    rt_wg_geom g1;
    float *planes, *blocks;
    ptrdiff_t hw = (ptrdiff_t)s->H * s->W, ohw = (ptrdiff_t)s->OH * s->OW;
    int par;
    if (s->N <= 0 || s->M <= 0 || s->OH <= 0 || s->OW <= 0)
        return;
    rt_wg_geometry(s, 1, &g1); /* the planes do not depend on the team */
    planes = rt_wg_align(scratch);
    blocks = planes + 16 * (ptrdiff_t)s->C * g1.plane + RT_WG_SLACK;
    par = 18.0 * (double)s->N * s->M * (double)ohw * s->C >= RT_WG_PAR_MIN;
    (void)par;
#ifdef _OPENMP
    _Pragma("omp parallel if(par)")
#endif
    {
        rt_wg_geom g = g1;
        ptrdiff_t nblk, n, c, blk, bf, m16 = s->M / 16;
        int tid = 0, nt = 1, nw, shared;
#ifdef _OPENMP
        tid = omp_get_thread_num();
        nt = omp_get_num_threads();
#endif
        shared = nt > 1 && rt_wg_team_shares(s, &g1);
        if (nt > 1 && !shared)
            rt_wg_geometry(s, nt, &g);
        nw = RT_MIN(nt, RT_WG_MAXT);
        nblk = (g.th + g.rb - 1) / g.rb;
        bf = (ptrdiff_t)rt_wg_block_floats(s, &g);
        for (n = 0; n < s->N; n++) {
            const float *xn = x + n * s->C * hw;
            const float *rn = residual ? residual + n * s->M * ohw : NULL;
            float *yn = y + n * s->M * ohw;
            /* the planes, a share of the channels per thread */
            for (c = s->C * tid / nt; c < s->C * (tid + 1) / nt; c++)
                rt_wg_planes(s, &g, xn + c * hw, planes + c * 16 * g.plane);
#ifdef _OPENMP
            _Pragma("omp barrier")
#endif
            if (shared) {
                /* every block by the whole team, one V and M */
                float *mb, *v = rt_wg_block_vm(s, &g, blocks, &mb);
                for (blk = 0; blk < nblk; blk++) {
                    ptrdiff_t ti0, ti1, nt_ = rt_wg_block_rows(&g, blk, &ti0, &ti1);
                    rt_wg_input(&g, s->C, planes, ti0, ti1, s->C * tid / nt,
                                s->C * (tid + 1) / nt, v);
#ifdef _OPENMP
                    _Pragma("omp barrier")
#endif
                    rt_wg_gemms(s, &g, u, v, mb, nt_, 36 * tid / nt, 36 * (tid + 1) / nt);
#ifdef _OPENMP
                    _Pragma("omp barrier")
#endif
                    rt_wg_output(s, &g, mb, ti0, nt_, 16 * (m16 * tid / nt),
                                 16 * (m16 * (tid + 1) / nt), bias, rn, act, alpha,
                                 beta, yn);
#ifdef _OPENMP
                    /* V and M are refilled next (after the last block, the
                     * next image's planes barrier or the region's end
                     * does this) */
                    if (blk + 1 < nblk) {
                        _Pragma("omp barrier")
                    }
#endif
                }
            } else {
                /* blocks of tile rows, each worker with its own V and M */
                for (blk = tid; tid < nw && blk < nblk; blk += nw) {
                    ptrdiff_t ti0, ti1, nt_ = rt_wg_block_rows(&g, blk, &ti0, &ti1);
                    float *mb, *v = rt_wg_block_vm(s, &g, blocks + tid * bf, &mb);
                    rt_wg_input(&g, s->C, planes, ti0, ti1, 0, s->C, v);
                    rt_wg_gemms(s, &g, u, v, mb, nt_, 0, 36);
                    rt_wg_output(s, &g, mb, ti0, nt_, 0, s->M, bias, rn, act, alpha,
                                 beta, yn);
                }
            }
            if (n + 1 < s->N) {
                /* the planes are rebuilt for the next image */
#ifdef _OPENMP
                _Pragma("omp barrier")
#endif
            }
        }
    }
}
