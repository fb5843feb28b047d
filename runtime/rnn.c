/* rt-deps: gemm epilogue */
/* rnn.c - ONNX RNN, GRU and LSTM over a whole sequence (rt_rnn, see rt.h).
 *
 * Per direction: one product for the inputs of every time step at once,
 * proj = X W^T + (Wb + Rb) (rt_sgemm_ep, W packed as its B operand, the
 * biases as its column bias; GRU with linear_before_reset keeps Rbh
 * apart), then the recurrence, one step at a time: rec = h R^T and the
 * gate math.  R is packed in the GEMM's prepacked-B layout (panels of 32
 * columns, k-major): with fewer than 4 batch rows the product is a
 * matrix-vector one, done here over the packed panels (8 vector
 * accumulators, every loaded weight used once per row); otherwise
 * rt_sgemm with the packed operand.  GRU packs R in two parts, z and r
 * gates then h, because without linear_before_reset the h part multiplies
 * r * h, known only after the first part's gates.
 *
 * Gate functions work on whole gate rows: sigmoid through rt_activate_n
 * (vectorised on x86, relative error < 5e-7), tanh as 2 sigmoid(2x) - 1
 * (absolute error < 1.5e-6) except below |x| < 0.3, where its Taylor
 * series to x^11 keeps the relative error under 1e-6 (the cancellation in
 * 2 sigmoid - 1 would not); the rarer functions element by element.
 *
 * sequence_lens: entry b runs steps [0, len_b) (the reverse direction
 * from len_b - 1 down to 0, as ONNX Runtime does); its rows of Y past
 * len_b are zero, Y_h / Y_c hold its state after its last valid step.
 */
#ifndef RT_EMBED
#include "rt.h"
#endif

#if !defined(RT_NO_SIMD) && defined(__AVX512F__)
#  include <immintrin.h>
#  define RT_RNN_AVX512 1
#elif !defined(RT_NO_SIMD) && defined(__AVX2__) && defined(__FMA__)
#  include <immintrin.h>
#  define RT_RNN_AVX2 1
#endif

#define RT_RNN_PW 32        /* columns of a packed panel (gemm.c's RT_GEMM_PW) */
#define RT_RNN_ALIGN 16     /* floats: scratch buffers start on 64 bytes */
#define RT_RNN_TAYLOR 0.3f  /* |x| below which tanh is its Taylor series */

RT_INTERNAL int rt_rnn_gates(const rt_rnn_shape *s)
{
    return s->cell == RT_RNN_CELL_LSTM ? 4 : s->cell == RT_RNN_CELL_GRU ? 3 : 1;
}

/* ---- weights ------------------------------------------------------------ */

/* One direction's packed sizes. */
RT_INTERNAL size_t rt_rnn_w_dir(const rt_rnn_shape *s)
{
    return rt_sgemm_pack_b_size((ptrdiff_t)rt_rnn_gates(s) * s->hidden, s->input);
}

RT_INTERNAL size_t rt_rnn_r_dir(const rt_rnn_shape *s)
{
    ptrdiff_t H = s->hidden;
    if (s->cell == RT_RNN_CELL_GRU)
        return rt_sgemm_pack_b_size(2 * H, H) + rt_sgemm_pack_b_size(H, H);
    return rt_sgemm_pack_b_size((ptrdiff_t)rt_rnn_gates(s) * H, H);
}

RT_API size_t rt_rnn_packed_w_size(const rt_rnn_shape *s)
{
    return (size_t)s->dirs * rt_rnn_w_dir(s);
}

RT_API size_t rt_rnn_packed_r_size(const rt_rnn_shape *s)
{
    return (size_t)s->dirs * rt_rnn_r_dir(s);
}

/* W_d^T as the B operand of proj = X W_d^T. */
RT_INTERNAL void rt_rnn_pack_w_dir(const rt_rnn_shape *s, int d, const float *w, float *wp)
{
    ptrdiff_t GH = (ptrdiff_t)rt_rnn_gates(s) * s->hidden, I = s->input;
    rt_sgemm_pack_b(1, GH, I, w + d * GH * I, I, wp);
}

/* R_d^T likewise; GRU as [z r] then [h]. */
RT_INTERNAL void rt_rnn_pack_r_dir(const rt_rnn_shape *s, int d, const float *r, float *rp)
{
    ptrdiff_t H = s->hidden, GH = (ptrdiff_t)rt_rnn_gates(s) * H;
    const float *rd = r + d * GH * H;
    if (s->cell == RT_RNN_CELL_GRU) {
        rt_sgemm_pack_b(1, 2 * H, H, rd, H, rp);
        rt_sgemm_pack_b(1, H, H, rd + 2 * H * H, H, rp + rt_sgemm_pack_b_size(2 * H, H));
    } else {
        rt_sgemm_pack_b(1, GH, H, rd, H, rp);
    }
}

RT_API void rt_rnn_pack_w(const rt_rnn_shape *s, const float *w, float *packed)
{
    int d;
    for (d = 0; d < s->dirs; d++)
        rt_rnn_pack_w_dir(s, d, w, packed + (size_t)d * rt_rnn_w_dir(s));
}

RT_API void rt_rnn_pack_r(const rt_rnn_shape *s, const float *r, float *packed)
{
    int d;
    for (d = 0; d < s->dirs; d++)
        rt_rnn_pack_r_dir(s, d, r, packed + (size_t)d * rt_rnn_r_dir(s));
}

/* ---- h R^T -------------------------------------------------------------- */

/* out[0 .. np*32) = x[0..K) times panels q0 .. q0+np-1 of a packed B
 * (np <= 4; a missing panel repeats panel q0, its columns unused). */
RT_INTERNAL void rt_rnn_panels(ptrdiff_t K, const float *x, const float *bp, ptrdiff_t q0,
                               int np, float *out)
{
    const float *p[4];
    ptrdiff_t k;
    int i;
    for (i = 0; i < 4; i++)
        p[i] = bp + (q0 + (i < np ? i : 0)) * RT_RNN_PW * K;
#if defined(RT_RNN_AVX512)
    {
        __m512 a[8];
        for (i = 0; i < 8; i++)
            a[i] = _mm512_setzero_ps();
        for (k = 0; k < K; k++) {
            __m512 xb = _mm512_set1_ps(x[k]);
            ptrdiff_t o = k * RT_RNN_PW;
            a[0] = _mm512_fmadd_ps(xb, _mm512_loadu_ps(p[0] + o), a[0]);
            a[1] = _mm512_fmadd_ps(xb, _mm512_loadu_ps(p[0] + o + 16), a[1]);
            a[2] = _mm512_fmadd_ps(xb, _mm512_loadu_ps(p[1] + o), a[2]);
            a[3] = _mm512_fmadd_ps(xb, _mm512_loadu_ps(p[1] + o + 16), a[3]);
            a[4] = _mm512_fmadd_ps(xb, _mm512_loadu_ps(p[2] + o), a[4]);
            a[5] = _mm512_fmadd_ps(xb, _mm512_loadu_ps(p[2] + o + 16), a[5]);
            a[6] = _mm512_fmadd_ps(xb, _mm512_loadu_ps(p[3] + o), a[6]);
            a[7] = _mm512_fmadd_ps(xb, _mm512_loadu_ps(p[3] + o + 16), a[7]);
        }
        for (i = 0; i < 8; i++)
            _mm512_storeu_ps(out + 16 * i, a[i]);
    }
#elif defined(RT_RNN_AVX2)
    /* two panels at a time: 8 accumulators, the rest of the 16 registers
     * for the broadcast and the loads */
    for (i = 0; i < 4; i += 2) {
        __m256 a[8];
        int j;
        if (i >= np)
            break;
        for (j = 0; j < 8; j++)
            a[j] = _mm256_setzero_ps();
        for (k = 0; k < K; k++) {
            __m256 xb = _mm256_set1_ps(x[k]);
            ptrdiff_t o = k * RT_RNN_PW;
            for (j = 0; j < 4; j++) {
                a[j] = _mm256_fmadd_ps(xb, _mm256_loadu_ps(p[i] + o + 8 * j), a[j]);
                a[4 + j] = _mm256_fmadd_ps(xb, _mm256_loadu_ps(p[i + 1] + o + 8 * j), a[4 + j]);
            }
        }
        for (j = 0; j < 8; j++)
            _mm256_storeu_ps(out + 32 * i + 8 * j, a[j]);
    }
#else
    for (i = 0; i < np; i++) {
        float acc[RT_RNN_PW];
        int j;
        for (j = 0; j < RT_RNN_PW; j++)
            acc[j] = 0.0f;
        for (k = 0; k < K; k++) {
            const float *row = p[i] + k * RT_RNN_PW;
            float xk = x[k];
            for (j = 0; j < RT_RNN_PW; j++)
                acc[j] = RT_FMA(xk, row[j], acc[j]);
        }
        for (j = 0; j < RT_RNN_PW; j++)
            out[RT_RNN_PW * i + j] = acc[j];
    }
#endif
}

/* y[i, 0..N) = x[i, 0..K) op(B), i < M, op(B) [K x N] packed by
 * rt_sgemm_pack_b; x rows ldx apart, y rows ldy apart. */
RT_INTERNAL void rt_rnn_matmul(ptrdiff_t M, ptrdiff_t N, ptrdiff_t K, const float *x,
                               ptrdiff_t ldx, const float *bp, float *y, ptrdiff_t ldy,
                               float *gemm_scratch)
{
    ptrdiff_t i, q, npanels = (N + RT_RNN_PW - 1) / RT_RNN_PW;
    if (M <= 0 || N <= 0)
        return;
    if (M >= 4) {
        rt_sgemm(0, RT_GEMM_PACKED, M, N, K, 1.0f, x, ldx, bp, 0, 0.0f, y, ldy, gemm_scratch);
        return;
    }
    for (i = 0; i < M; i++)
        for (q = 0; q < npanels; q += 4) {
            float out[4 * RT_RNN_PW];
            int np = (int)RT_MIN(4, npanels - q);
            ptrdiff_t c0 = q * RT_RNN_PW, nc = RT_MIN(N - c0, (ptrdiff_t)np * RT_RNN_PW);
            rt_rnn_panels(K, x + i * ldx, bp, q, np, out);
            memcpy(y + i * ldy + c0, out, (size_t)nc * sizeof(float));
        }
}

/* ---- gate functions ----------------------------------------------------- */

RT_INTERNAL float rt_rnn_tanh_taylor(float x)
{
    float t = x * x;
    float p = -1382.0f / 155925.0f;
    p = p * t + 62.0f / 2835.0f;
    p = p * t - 17.0f / 315.0f;
    p = p * t + 2.0f / 15.0f;
    p = p * t - 1.0f / 3.0f;
    return x + x * t * p;
}

/* x[0..n) = tanh(x), tmp: n floats. */
RT_INTERNAL void rt_rnn_tanh_n(float *x, float *tmp, ptrdiff_t n)
{
    ptrdiff_t j = 0;
    for (j = 0; j < n; j++)
        tmp[j] = x[j] + x[j];
    rt_activate_n(RT_ACT_SIGMOID, 0.0f, 0.0f, tmp, n);
    j = 0;
#if defined(RT_RNN_AVX512)
    for (; j + 16 <= n; j += 16) {
        __m512 v = _mm512_loadu_ps(x + j), t = _mm512_mul_ps(v, v);
        __m512 p = _mm512_set1_ps(-1382.0f / 155925.0f);
        __m512 s = _mm512_fmsub_ps(_mm512_set1_ps(2.0f), _mm512_loadu_ps(tmp + j),
                                   _mm512_set1_ps(1.0f));
        __mmask16 small = _mm512_cmp_ps_mask(_mm512_abs_ps(v), _mm512_set1_ps(RT_RNN_TAYLOR),
                                             _CMP_LT_OQ);
        p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(62.0f / 2835.0f));
        p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-17.0f / 315.0f));
        p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(2.0f / 15.0f));
        p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-1.0f / 3.0f));
        p = _mm512_fmadd_ps(_mm512_mul_ps(v, t), p, v);
        _mm512_storeu_ps(x + j, _mm512_mask_blend_ps(small, s, p));
    }
#elif defined(RT_RNN_AVX2)
    for (; j + 8 <= n; j += 8) {
        __m256 v = _mm256_loadu_ps(x + j), t = _mm256_mul_ps(v, v);
        __m256 p = _mm256_set1_ps(-1382.0f / 155925.0f);
        __m256 s = _mm256_fmsub_ps(_mm256_set1_ps(2.0f), _mm256_loadu_ps(tmp + j),
                                   _mm256_set1_ps(1.0f));
        __m256 a = _mm256_and_ps(v, _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff)));
        __m256 small = _mm256_cmp_ps(a, _mm256_set1_ps(RT_RNN_TAYLOR), _CMP_LT_OQ);
        p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(62.0f / 2835.0f));
        p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-17.0f / 315.0f));
        p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(2.0f / 15.0f));
        p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-1.0f / 3.0f));
        p = _mm256_fmadd_ps(_mm256_mul_ps(v, t), p, v);
        _mm256_storeu_ps(x + j, _mm256_blendv_ps(s, p, small));
    }
#endif
    for (; j < n; j++)
        x[j] = fabsf(x[j]) < RT_RNN_TAYLOR ? rt_rnn_tanh_taylor(x[j]) : 2.0f * tmp[j] - 1.0f;
}

RT_INTERNAL float rt_rnn_act1(int act, float alpha, float beta, float x)
{
    switch (act) {
    case RT_RNN_ACT_RELU: return x > 0.0f ? x : 0.0f;
    case RT_RNN_ACT_TANH: return tanhf(x);
    case RT_RNN_ACT_SIGMOID: return 1.0f / (1.0f + expf(-x));
    case RT_RNN_ACT_AFFINE: return alpha * x + beta;
    case RT_RNN_ACT_LEAKY_RELU: return x >= 0.0f ? x : alpha * x;
    case RT_RNN_ACT_THRESHOLDED_RELU: return x > alpha ? x : 0.0f;
    case RT_RNN_ACT_SCALED_TANH: return alpha * tanhf(beta * x);
    case RT_RNN_ACT_HARD_SIGMOID: {
        float v = alpha * x + beta;
        return v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v;
    }
    case RT_RNN_ACT_ELU: return x >= 0.0f ? x : alpha * (expf(x) - 1.0f);
    case RT_RNN_ACT_SOFTSIGN: return x / (1.0f + fabsf(x));
    case RT_RNN_ACT_SOFTPLUS: return x > 0.0f ? x + log1pf(expf(-x)) : log1pf(expf(x));
    default: return x;
    }
}

/* x[0..n) = act(clip(x)) (clip <= 0: none); tmp: n floats. */
RT_INTERNAL void rt_rnn_act_n(int act, float alpha, float beta, float clip, float *x,
                              float *tmp, ptrdiff_t n)
{
    ptrdiff_t j;
    if (clip > 0.0f)
        for (j = 0; j < n; j++)
            x[j] = x[j] < -clip ? -clip : x[j] > clip ? clip : x[j];
    switch (act) {
    case RT_RNN_ACT_SIGMOID: rt_activate_n(RT_ACT_SIGMOID, 0.0f, 0.0f, x, n); return;
    case RT_RNN_ACT_TANH: rt_rnn_tanh_n(x, tmp, n); return;
    case RT_RNN_ACT_RELU: rt_activate_n(RT_ACT_RELU, 0.0f, 0.0f, x, n); return;
    default:
        for (j = 0; j < n; j++)
            x[j] = rt_rnn_act1(act, alpha, beta, x[j]);
    }
}

/* ---- the sequence --------------------------------------------------------- */

RT_INTERNAL float *rt_rnn_take(float **p, size_t n)
{
    float *r = *p;
    *p += (n + RT_RNN_ALIGN - 1) / RT_RNN_ALIGN * RT_RNN_ALIGN;
    return r;
}

/* Largest scratch of the two products (projection, recurrence). */
RT_INTERNAL size_t rt_rnn_gemm_scratch(const rt_rnn_shape *s)
{
    ptrdiff_t GH = (ptrdiff_t)rt_rnn_gates(s) * s->hidden;
    size_t a = rt_sgemm_scratch((ptrdiff_t)s->seq * s->batch, GH, s->input);
    size_t b = rt_sgemm_scratch(s->batch, GH, s->hidden);
    return a > b ? a : b;
}

RT_API size_t rt_rnn_scratch(const rt_rnn_shape *s)
{
    size_t B = (size_t)s->batch, H = (size_t)s->hidden;
    size_t GH = (size_t)rt_rnn_gates(s) * H, n = 0;
    if (s->seq <= 0 || s->batch <= 0 || s->hidden <= 0)
        return 0;
    if (!(s->flags & RT_RNN_PACKED_W))
        n += rt_rnn_w_dir(s) + RT_RNN_ALIGN;
    if (!(s->flags & RT_RNN_PACKED_R))
        n += rt_rnn_r_dir(s) + RT_RNN_ALIGN;
    n += GH + H + RT_RNN_ALIGN;                        /* bias, GRU's Rbh */
    n += (size_t)s->seq * B * GH + RT_RNN_ALIGN;       /* proj */
    n += B * GH + RT_RNN_ALIGN;                        /* rec */
    n += 3 * (B * H + RT_RNN_ALIGN);                   /* h, c, r * h */
    n += GH + RT_RNN_ALIGN;                            /* activation temporary */
    n += B + RT_RNN_ALIGN;                             /* lengths */
    return n + rt_rnn_gemm_scratch(s) + RT_RNN_ALIGN;
}

typedef struct {
    const rt_rnn_shape *s;
    int d, act[3];
    float clip, alpha[3], beta[3];
    ptrdiff_t H, GH;
    const float *rp, *rbh, *peep;
    float *proj, *rec, *h, *c, *rh, *tmp, *gemm_scratch;
} rt_rnn_dir;

/* Row of proj (and of x) that holds time t of batch entry b. */
RT_INTERNAL ptrdiff_t rt_rnn_row(const rt_rnn_shape *s, ptrdiff_t t, ptrdiff_t b)
{
    return s->layout ? b * s->seq + t : t * s->batch + b;
}

/* Y's offset of (t, direction d, batch b). */
RT_INTERNAL ptrdiff_t rt_rnn_yoff(const rt_rnn_shape *s, ptrdiff_t t, int d, ptrdiff_t b)
{
    ptrdiff_t r = s->layout ? (b * s->seq + t) * s->dirs + d : (t * s->dirs + d) * s->batch + b;
    return r * s->hidden;
}

/* Y_h's / Y_c's offset of (direction d, batch b). */
RT_INTERNAL ptrdiff_t rt_rnn_soff(const rt_rnn_shape *s, int d, ptrdiff_t b)
{
    return (s->layout ? b * s->dirs + d : (ptrdiff_t)d * s->batch + b) * s->hidden;
}

/* One LSTM step of entry b: g holds the gate sums (i, o, f, c) minus the
 * peepholes; h, c updated in place. */
RT_INTERNAL void rt_rnn_lstm_cell(const rt_rnn_dir *q, float *g, float *h, float *c)
{
    ptrdiff_t H = q->H, j;
    float *gi = g, *go = g + H, *gf = g + 2 * H, *gc = g + 3 * H;
    if (q->peep) {
        for (j = 0; j < H; j++) {
            gi[j] += q->peep[j] * c[j];
            gf[j] += q->peep[2 * H + j] * c[j];
        }
        rt_rnn_act_n(q->act[0], q->alpha[0], q->beta[0], q->clip, gi, q->tmp, H);
        rt_rnn_act_n(q->act[0], q->alpha[0], q->beta[0], q->clip, gf, q->tmp, H);
    } else {
        /* i, o, f side by side: one pass (o needs no new cell state) */
        rt_rnn_act_n(q->act[0], q->alpha[0], q->beta[0], q->clip, gi, q->tmp, 3 * H);
    }
    if (q->s->flags & RT_RNN_INPUT_FORGET)
        for (j = 0; j < H; j++)
            gf[j] = 1.0f - gi[j];
    rt_rnn_act_n(q->act[1], q->alpha[1], q->beta[1], q->clip, gc, q->tmp, H);
    for (j = 0; j < H; j++)
        c[j] = RT_FMA(gf[j], c[j], gi[j] * gc[j]);
    if (q->peep) {
        for (j = 0; j < H; j++)
            go[j] += q->peep[H + j] * c[j];
        rt_rnn_act_n(q->act[0], q->alpha[0], q->beta[0], q->clip, go, q->tmp, H);
    }
    /* h(C) is not clipped: clip bounds the gates' inputs */
    memcpy(h, c, (size_t)H * sizeof(float));
    rt_rnn_act_n(q->act[2], q->alpha[2], q->beta[2], 0.0f, h, q->tmp, H);
    for (j = 0; j < H; j++)
        h[j] *= go[j];
}

RT_INTERNAL void rt_rnn_direction(const rt_rnn_dir *q, const int32_t *len, float *y,
                                  float *yh, float *yc)
{
    const rt_rnn_shape *s = q->s;
    ptrdiff_t H = q->H, GH = q->GH, B = s->batch, T = s->seq, i, b, j;
    int backward = q->d == 1 || s->reverse;
    int gru = s->cell == RT_RNN_CELL_GRU, lbr = (s->flags & RT_RNN_LINEAR_BEFORE_RESET) != 0;
    size_t part = rt_sgemm_pack_b_size(2 * H, H);
    for (i = 0; i < T; i++) {
        /* rec = h R^T (GRU: the z, r part, and with linear_before_reset the
         * h part too, both from h) */
        if (gru) {
            rt_rnn_matmul(B, 2 * H, H, q->h, H, q->rp, q->rec, GH, q->gemm_scratch);
            if (lbr)
                rt_rnn_matmul(B, H, H, q->h, H, q->rp + part, q->rec + 2 * H, GH,
                              q->gemm_scratch);
        } else {
            rt_rnn_matmul(B, GH, H, q->h, H, q->rp, q->rec, GH, q->gemm_scratch);
        }
        for (b = 0; b < B; b++) {
            float *g = q->rec + b * GH, *h = q->h + b * H;
            const float *xp;
            ptrdiff_t t;
            if (i >= len[b])
                continue;
            t = backward ? len[b] - 1 - i : i;
            xp = q->proj + rt_rnn_row(s, t, b) * GH;
            if (s->cell == RT_RNN_CELL_LSTM) {
                for (j = 0; j < GH; j++)
                    g[j] += xp[j];
                rt_rnn_lstm_cell(q, g, h, q->c + b * H);
            } else if (gru) {
                for (j = 0; j < 2 * H; j++)
                    g[j] += xp[j];
                rt_rnn_act_n(q->act[0], q->alpha[0], q->beta[0], q->clip, g, q->tmp, 2 * H);
                /* z in g[0, H), r in g[H, 2H) */
                if (lbr)
                    for (j = 0; j < H; j++)
                        g[2 * H + j] = xp[2 * H + j] + g[H + j] * (g[2 * H + j] + q->rbh[j]);
                else
                    for (j = 0; j < H; j++)
                        q->rh[b * H + j] = g[H + j] * h[j];
            } else {
                for (j = 0; j < H; j++)
                    g[j] += xp[j];
                rt_rnn_act_n(q->act[0], q->alpha[0], q->beta[0], q->clip, g, q->tmp, H);
                memcpy(h, g, (size_t)H * sizeof(float));
            }
        }
        if (gru) {
            if (!lbr) {
                /* (r * h) Rh^T into the h part of rec; inactive rows'
                 * products are unused */
                rt_rnn_matmul(B, H, H, q->rh, H, q->rp + part, q->rec + 2 * H, GH,
                              q->gemm_scratch);
            }
            for (b = 0; b < B; b++) {
                float *g = q->rec + b * GH, *h = q->h + b * H, *n = g + 2 * H;
                ptrdiff_t t;
                if (i >= len[b])
                    continue;
                t = backward ? len[b] - 1 - i : i;
                if (!lbr) {
                    const float *xp = q->proj + rt_rnn_row(s, t, b) * GH + 2 * H;
                    for (j = 0; j < H; j++)
                        n[j] += xp[j];
                }
                rt_rnn_act_n(q->act[1], q->alpha[1], q->beta[1], q->clip, n, q->tmp, H);
                for (j = 0; j < H; j++)
                    h[j] = RT_FMA(g[j], h[j] - n[j], n[j]);   /* (1 - z) n + z h */
            }
        }
        if (y)
            for (b = 0; b < B; b++) {
                ptrdiff_t t;
                if (i >= len[b])
                    continue;
                t = backward ? len[b] - 1 - i : i;
                memcpy(y + rt_rnn_yoff(s, t, q->d, b), q->h + b * H, (size_t)H * sizeof(float));
            }
    }
    for (b = 0; b < B; b++) {
        if (y)
            for (i = len[b]; i < T; i++)
                memset(y + rt_rnn_yoff(s, i, q->d, b), 0, (size_t)H * sizeof(float));
        if (yh)
            memcpy(yh + rt_rnn_soff(s, q->d, b), q->h + b * H, (size_t)H * sizeof(float));
        if (yc)
            memcpy(yc + rt_rnn_soff(s, q->d, b), q->c + b * H, (size_t)H * sizeof(float));
    }
}

RT_API void rt_rnn(const rt_rnn_shape *s, const float *params, const float *x,
                   const float *w, const float *r, const float *b, const int32_t *seq_lens,
                   const float *h0, const float *c0, const float *p, float *y, float *yh,
                   float *yc, float *scratch)
{
    rt_rnn_dir q;
    ptrdiff_t H = s->hidden, B = s->batch, T = s->seq, I = s->input, GH, j, bi;
    const int acts[6] = {s->act0, s->act1, s->act2, s->act3, s->act4, s->act5};
    float *wp = NULL, *rp = NULL, *bias, *rbh;
    int32_t *len;
    int d, G = rt_rnn_gates(s);
    float *sp = scratch;
    if (T <= 0 || B <= 0 || H <= 0)
        return;
    /* buffers on 64 bytes: scratch is float-aligned, the size has the slack */
    sp += ((uintptr_t)0 - (uintptr_t)sp) % (RT_RNN_ALIGN * sizeof(float)) / sizeof(float);
    GH = (ptrdiff_t)G * H;
    if (!(s->flags & RT_RNN_PACKED_W))
        wp = rt_rnn_take(&sp, rt_rnn_w_dir(s));
    if (!(s->flags & RT_RNN_PACKED_R))
        rp = rt_rnn_take(&sp, rt_rnn_r_dir(s));
    bias = rt_rnn_take(&sp, (size_t)(GH + H));
    rbh = bias + GH;
    q.proj = rt_rnn_take(&sp, (size_t)(T * B * GH));
    q.rec = rt_rnn_take(&sp, (size_t)(B * GH));
    q.h = rt_rnn_take(&sp, (size_t)(B * H));
    q.c = rt_rnn_take(&sp, (size_t)(B * H));
    q.rh = rt_rnn_take(&sp, (size_t)(B * H));
    q.tmp = rt_rnn_take(&sp, (size_t)GH);
    len = (int32_t *)rt_rnn_take(&sp, (size_t)B);
    q.gemm_scratch = sp;
    for (bi = 0; bi < B; bi++) {
        int32_t l = seq_lens ? seq_lens[bi] : (int32_t)T;
        len[bi] = l < 0 ? 0 : l > T ? (int32_t)T : l;
    }
    q.s = s;
    q.H = H;
    q.GH = GH;
    q.clip = params[0];
    for (d = 0; d < s->dirs; d++) {
        rt_epilogue ep;
        q.d = d;
        for (j = 0; j < 3; j++) {
            q.act[j] = acts[3 * d + j];
            q.alpha[j] = params[1 + 3 * d + j];
            q.beta[j] = params[7 + 3 * d + j];
        }
        /* weights */
        if (wp) {
            rt_rnn_pack_w_dir(s, d, w, wp);
        }
        if (rp) {
            rt_rnn_pack_r_dir(s, d, r, rp);
            q.rp = rp;
        } else {
            q.rp = r + (size_t)d * rt_rnn_r_dir(s);
        }
        /* bias = Wb + Rb, but GRU's Rbh with linear_before_reset */
        for (j = 0; j < GH + H; j++)
            bias[j] = 0.0f;
        if (b) {
            const float *wb = b + (ptrdiff_t)d * 2 * GH, *rb = wb + GH;
            int keep = s->cell == RT_RNN_CELL_GRU && (s->flags & RT_RNN_LINEAR_BEFORE_RESET);
            for (j = 0; j < GH; j++)
                bias[j] = wb[j] + (keep && j >= 2 * H ? 0.0f : rb[j]);
            if (keep)
                for (j = 0; j < H; j++)
                    rbh[j] = rb[2 * H + j];
        }
        q.rbh = rbh;
        q.peep = p ? p + (ptrdiff_t)d * 3 * H : NULL;
        /* proj = X W^T + bias, every step at once */
        ep = rt_epilogue_of(bias, 0, NULL, 0, RT_ACT_NONE, 0.0f, 0.0f);
        rt_sgemm_ep(0, RT_GEMM_PACKED, T * B, GH, I, 1.0f, x, I,
                    wp ? wp : w + (size_t)d * rt_rnn_w_dir(s), 0, 0.0f, q.proj, GH, &ep,
                    q.gemm_scratch);
        /* initial state */
        for (bi = 0; bi < B; bi++) {
            float *h = q.h + bi * H, *c = q.c + bi * H;
            if (h0)
                memcpy(h, h0 + rt_rnn_soff(s, d, bi), (size_t)H * sizeof(float));
            else
                memset(h, 0, (size_t)H * sizeof(float));
            if (c0)
                memcpy(c, c0 + rt_rnn_soff(s, d, bi), (size_t)H * sizeof(float));
            else
                memset(c, 0, (size_t)H * sizeof(float));
        }
        rt_rnn_direction(&q, len, y, yh, s->cell == RT_RNN_CELL_LSTM ? yc : NULL);
    }
}
