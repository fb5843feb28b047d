/* test_rt_rnn.c - rt_rnn (ONNX RNN, GRU, LSTM over a sequence) against a
 * plain double-precision reference written from the ONNX equations.
 *
 * The reference runs each cell on every batch entry and step in double,
 * from the same float inputs: gates as ONNX orders them (LSTM i o f c,
 * GRU z r h), Wb + Rb, peepholes, clip on the gates' inputs,
 * linear_before_reset, input_forget, every activation with its alpha and
 * beta; sequence_lens as ONNX Runtime reads them (the reverse direction
 * runs each entry from its own last step; Y is zero past an entry's
 * length, Y_h / Y_c its state after its last step).  An element passes
 * when |got - exp| <= 5e-5 + 1e-4 |exp| (float sums and the vectorised
 * gate functions, whose errors are below 1.5e-6 each, through at most 12
 * steps of contracting recurrences).  Outputs and scratch start as NaN
 * (an element left unwritten fails); scratch is exactly rt_rnn_scratch()
 * floats at an odd float offset.  Covered: the three cells, forward,
 * reverse and bidirectional, layouts 0 and 1, batches 1-6 (fewer than 4
 * rows take the matrix-vector path, more rt_sgemm), hidden sizes across
 * the 32-column panels, weights packed beforehand or at run time, with
 * and without B, initial states, peepholes, sequence_lens (0 .. seq),
 * random activations and clip.  Exit status 0 when every case passes. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/rt.h"

#define ATOL 5e-5
#define RTOL 1e-4

#define RNG_SEED 0x7A3C9E11D00DF00Du
#include "test_rand.h"

static double act_ref(int act, double a, double b, double x)
{
    switch (act) {
    case RT_RNN_ACT_RELU: return x > 0 ? x : 0;
    case RT_RNN_ACT_TANH: return tanh(x);
    case RT_RNN_ACT_SIGMOID: return 1 / (1 + exp(-x));
    case RT_RNN_ACT_AFFINE: return a * x + b;
    case RT_RNN_ACT_LEAKY_RELU: return x >= 0 ? x : a * x;
    case RT_RNN_ACT_THRESHOLDED_RELU: return x > a ? x : 0;
    case RT_RNN_ACT_SCALED_TANH: return a * tanh(b * x);
    case RT_RNN_ACT_HARD_SIGMOID: return fmin(fmax(a * x + b, 0), 1);
    case RT_RNN_ACT_ELU: return x >= 0 ? x : a * (exp(x) - 1);
    case RT_RNN_ACT_SOFTSIGN: return x / (1 + fabs(x));
    case RT_RNN_ACT_SOFTPLUS: return log1p(exp(x));
    }
    return NAN;
}

typedef struct {
    rt_rnn_shape s;
    float prm[13];
    const float *x, *w, *r, *b, *h0, *c0, *p;
    const int32_t *lens;
} Case;

static int gates_of(int cell)
{
    return cell == RT_RNN_CELL_LSTM ? 4 : cell == RT_RNN_CELL_GRU ? 3 : 1;
}

/* f_j of direction d applied to x, after clip */
static double fn(const Case *c, int d, int j, double x, int clip)
{
    const int acts[6] = {c->s.act0, c->s.act1, c->s.act2, c->s.act3, c->s.act4, c->s.act5};
    double cl = c->prm[0];
    if (clip && cl > 0)
        x = fmin(fmax(x, -cl), cl);
    return act_ref(acts[3 * d + j], c->prm[1 + 3 * d + j], c->prm[7 + 3 * d + j], x);
}

static size_t xoff(const rt_rnn_shape *s, int t, int b)
{
    return ((size_t)(s->layout ? b * s->seq + t : t * s->batch + b)) * (size_t)s->input;
}

static size_t yoff(const rt_rnn_shape *s, int t, int d, int b)
{
    return (size_t)(s->layout ? (b * s->seq + t) * s->dirs + d : (t * s->dirs + d) * s->batch + b) *
           (size_t)s->hidden;
}

static size_t soff(const rt_rnn_shape *s, int d, int b)
{
    return (size_t)(s->layout ? b * s->dirs + d : d * s->batch + b) * (size_t)s->hidden;
}

/* The whole node in double: y, yh, yc (sizes as rt_rnn's). */
static void reference(const Case *c, double *y, double *yh, double *yc)
{
    const rt_rnn_shape *s = &c->s;
    int H = s->hidden, I = s->input, G = gates_of(s->cell), GH = G * H;
    double *h = malloc(sizeof(double) * (size_t)H), *cs = malloc(sizeof(double) * (size_t)H);
    double *g = malloc(sizeof(double) * (size_t)GH), *hn = malloc(sizeof(double) * (size_t)H);
    size_t ny = (size_t)s->seq * (size_t)s->dirs * (size_t)s->batch * (size_t)H;
    for (size_t i = 0; i < ny; i++)
        y[i] = 0;
    for (int d = 0; d < s->dirs; d++) {
        const float *W = c->w + (size_t)d * GH * I, *R = c->r + (size_t)d * GH * H;
        const float *Wb = c->b ? c->b + (size_t)d * 2 * GH : NULL, *Rb = Wb ? Wb + GH : NULL;
        const float *P = c->p ? c->p + (size_t)d * 3 * H : NULL;
        int back = d == 1 || s->reverse;
        for (int b = 0; b < s->batch; b++) {
            int len = c->lens ? c->lens[b] : s->seq;
            for (int j = 0; j < H; j++) {
                h[j] = c->h0 ? c->h0[soff(s, d, b) + j] : 0;
                cs[j] = c->c0 ? c->c0[soff(s, d, b) + j] : 0;
            }
            for (int i = 0; i < len; i++) {
                int t = back ? len - 1 - i : i;
                const float *xt = c->x + xoff(s, t, b);
                /* g = x W^T + Wb (all gates); the R part per cell */
                for (int k = 0; k < GH; k++) {
                    double a = Wb ? Wb[k] : 0;
                    for (int m = 0; m < I; m++)
                        a += (double)xt[m] * W[(size_t)k * I + m];
                    g[k] = a;
                }
                if (s->cell == RT_RNN_CELL_GRU) {
                    double rh[4096];
                    int lbr = (s->flags & RT_RNN_LINEAR_BEFORE_RESET) != 0;
                    for (int k = 0; k < 2 * H; k++) {
                        double a = g[k] + (Rb ? Rb[k] : 0);
                        for (int m = 0; m < H; m++)
                            a += h[m] * R[(size_t)k * H + m];
                        g[k] = fn(c, d, 0, a, 1);
                    }
                    for (int m = 0; m < H; m++)
                        rh[m] = lbr ? h[m] : g[H + m] * h[m];
                    for (int k = 0; k < H; k++) {
                        double a = Rb ? Rb[2 * H + k] : 0;
                        for (int m = 0; m < H; m++)
                            a += rh[m] * R[(size_t)(2 * H + k) * H + m];
                        double n = lbr ? g[2 * H + k] + g[H + k] * a : g[2 * H + k] + a;
                        n = fn(c, d, 1, n, 1);
                        hn[k] = (1 - g[k]) * n + g[k] * h[k];
                    }
                } else {
                    for (int k = 0; k < GH; k++) {
                        double a = g[k] + (Rb ? Rb[k] : 0);
                        for (int m = 0; m < H; m++)
                            a += h[m] * R[(size_t)k * H + m];
                        g[k] = a;
                    }
                    if (s->cell == RT_RNN_CELL_RNN) {
                        for (int k = 0; k < H; k++)
                            hn[k] = fn(c, d, 0, g[k], 1);
                    } else {
                        for (int k = 0; k < H; k++) {
                            double gi = g[k] + (P ? P[k] * cs[k] : 0);
                            double gf = g[2 * H + k] + (P ? P[2 * H + k] * cs[k] : 0);
                            double it = fn(c, d, 0, gi, 1);
                            double ft = (s->flags & RT_RNN_INPUT_FORGET) ? 1 - it
                                                                         : fn(c, d, 0, gf, 1);
                            double ct = fn(c, d, 1, g[3 * H + k], 1);
                            cs[k] = ft * cs[k] + it * ct;
                            double ot = fn(c, d, 0, g[H + k] + (P ? P[H + k] * cs[k] : 0), 1);
                            hn[k] = ot * fn(c, d, 2, cs[k], 0);
                        }
                    }
                }
                for (int k = 0; k < H; k++) {
                    h[k] = hn[k];
                    y[yoff(s, t, d, b) + k] = h[k];
                }
            }
            for (int k = 0; k < H; k++) {
                yh[soff(s, d, b) + k] = h[k];
                yc[soff(s, d, b) + k] = cs[k];
            }
        }
    }
    free(h);
    free(cs);
    free(g);
    free(hn);
}

static float *rand_array(size_t n, float scale)
{
    float *a = malloc(sizeof(float) * (n ? n : 1));
    for (size_t i = 0; i < n; i++)
        a[i] = scale * rng_uniform();
    return a;
}

static float *nan_array(size_t n)
{
    float *a = malloc(sizeof(float) * (n ? n : 1));
    for (size_t i = 0; i < n; i++)
        a[i] = NAN;
    return a;
}

static int compare(const char *what, const float *got, const double *exp, size_t n,
                   const char *desc)
{
    for (size_t i = 0; i < n; i++) {
        double e = exp[i], gv = got[i];
        if (!(fabs(gv - e) <= ATOL + RTOL * fabs(e))) {
            fprintf(stderr, "FAIL %s: %s[%zu] = %.9g, expected %.9g\n", desc, what, i, gv, e);
            return 0;
        }
    }
    return 1;
}

static int run_case(int cell, int dirs, int reverse, int seq, int batch, int input, int hidden,
                    int layout, int flags, int with_b, int with_init, int with_p, int with_lens,
                    int odd_acts, float clip, int packed)
{
    Case c;
    char desc[256];
    int G = gates_of(cell), GH = G * hidden, nf = cell == RT_RNN_CELL_LSTM ? 3 : cell == RT_RNN_CELL_GRU ? 2 : 1;
    int acts[6] = {0};
    float scale = 1.0f / sqrtf((float)hidden);
    size_t nx = (size_t)seq * batch * input, ny = (size_t)seq * dirs * batch * hidden;
    size_t ns = (size_t)dirs * batch * hidden;
    int ok = 1;
    memset(&c, 0, sizeof c);
    for (int d = 0; d < dirs; d++)
        for (int j = 0; j < 3; j++) {
            static const int dflt[3][3] = {{RT_RNN_ACT_TANH, 0, 0},
                                           {RT_RNN_ACT_SIGMOID, RT_RNN_ACT_TANH, 0},
                                           {RT_RNN_ACT_SIGMOID, RT_RNN_ACT_TANH, RT_RNN_ACT_TANH}};
            int a = j < nf ? dflt[cell][j] : 0;
            if (odd_acts && j < nf)
                a = rng_below(RT_RNN_ACT_SOFTPLUS + 1);
            acts[3 * d + j] = a;
            c.prm[1 + 3 * d + j] = 0.5f + 0.5f * rng_uniform();
            c.prm[7 + 3 * d + j] = 0.5f * rng_uniform();
        }
    c.prm[0] = clip;
    c.s = (rt_rnn_shape){.cell = cell, .dirs = dirs, .reverse = reverse, .seq = seq,
                         .batch = batch, .input = input, .hidden = hidden, .layout = layout,
                         .flags = flags, .act0 = acts[0], .act1 = acts[1], .act2 = acts[2],
                         .act3 = acts[3], .act4 = acts[4], .act5 = acts[5]};
    float *x = rand_array(nx, 1.0f);
    float *w = rand_array((size_t)dirs * GH * input, scale);
    float *r = rand_array((size_t)dirs * GH * hidden, scale);
    float *b = with_b ? rand_array((size_t)dirs * 2 * GH, 0.5f) : NULL;
    float *h0 = with_init ? rand_array(ns, 1.0f) : NULL;
    float *c0 = with_init && cell == RT_RNN_CELL_LSTM ? rand_array(ns, 1.0f) : NULL;
    float *p = with_p ? rand_array((size_t)dirs * 3 * hidden, 0.5f) : NULL;
    int32_t *lens = NULL;
    if (with_lens) {
        lens = malloc(sizeof(int32_t) * (size_t)batch);
        for (int i = 0; i < batch; i++)
            lens[i] = i == 0 ? seq : rng_int(0, seq);
    }
    c.x = x, c.w = w, c.r = r, c.b = b, c.h0 = h0, c.c0 = c0, c.p = p, c.lens = lens;
    double *ey = malloc(sizeof(double) * ny), *eh = malloc(sizeof(double) * ns),
           *ec = malloc(sizeof(double) * ns);
    reference(&c, ey, eh, ec);

    rt_rnn_shape s = c.s;
    float *wp = w, *rp = r, *wbuf = NULL, *rbuf = NULL;
    if (packed) {
        wbuf = nan_array(rt_rnn_packed_w_size(&s));
        rbuf = nan_array(rt_rnn_packed_r_size(&s));
        rt_rnn_pack_w(&s, w, wbuf);
        rt_rnn_pack_r(&s, r, rbuf);
        s.flags |= RT_RNN_PACKED_W | RT_RNN_PACKED_R;
        wp = wbuf, rp = rbuf;
    }
    size_t nscr = rt_rnn_scratch(&s);
    float *scr_base = nan_array(nscr + 1), *scr = scr_base + 1;
    float *y = nan_array(ny), *yh = nan_array(ns), *yc = nan_array(ns);
    rt_rnn(&s, c.prm, x, wp, rp, b, lens, h0, c0, p, y, yh,
           cell == RT_RNN_CELL_LSTM ? yc : NULL, scr);
    snprintf(desc, sizeof desc,
             "cell %d dirs %d%s seq %d batch %d in %d hidden %d layout %d flags %d b %d init %d "
             "p %d lens %d acts %d%d%d/%d%d%d clip %g packed %d",
             cell, dirs, reverse ? " reverse" : "", seq, batch, input, hidden, layout, flags,
             with_b, with_init, with_p, with_lens, acts[0], acts[1], acts[2], acts[3], acts[4],
             acts[5], (double)clip, packed);
    ok &= compare("Y", y, ey, ny, desc);
    ok &= compare("Y_h", yh, eh, ns, desc);
    if (cell == RT_RNN_CELL_LSTM)
        ok &= compare("Y_c", yc, ec, ns, desc);
    /* the same call without Y (and Y_c): Y_h alone */
    if (ok) {
        float *yh2 = nan_array(ns);
        rt_rnn(&s, c.prm, x, wp, rp, b, lens, h0, c0, p, NULL, yh2, NULL, scr);
        ok &= compare("Y_h (alone)", yh2, eh, ns, desc);
        free(yh2);
    }
    free(x), free(w), free(r), free(b), free(h0), free(c0), free(p), free(lens);
    free(ey), free(eh), free(ec), free(wbuf), free(rbuf), free(scr_base);
    free(y), free(yh), free(yc);
    return ok;
}

int main(void)
{
    int pass = 0, total = 0;
    static const int hiddens[] = {1, 3, 16, 33, 64, 100};
    static const int batches[] = {1, 2, 3, 4, 6};
    for (int cell = 0; cell < 3; cell++)
        for (int dir = 0; dir < 3; dir++)
            for (int hi = 0; hi < 6; hi++)
                for (int bi = 0; bi < 5; bi++) {
                    int hidden = hiddens[hi], batch = batches[bi];
                    int flags = 0;
                    if (cell == RT_RNN_CELL_GRU && rng_below(2))
                        flags |= RT_RNN_LINEAR_BEFORE_RESET;
                    if (cell == RT_RNN_CELL_LSTM && rng_below(4) == 0)
                        flags |= RT_RNN_INPUT_FORGET;
                    int seq = rng_int(1, 12), input = rng_int(1, 40);
                    int odd = rng_below(4) == 0;
                    float clip = rng_below(4) == 0 ? 0.5f + rng_uniform() * 0.4f : 0.0f;
                    total++;
                    pass += run_case(cell, dir == 2 ? 2 : 1, dir == 1, seq, batch, input, hidden,
                                     rng_below(2), flags, rng_below(3) != 0, rng_below(2),
                                     cell == RT_RNN_CELL_LSTM && rng_below(2), rng_below(2), odd,
                                     clip, rng_below(2));
                }
    printf("test_rt_rnn: %d/%d cases pass\n", pass, total);
    return pass == total ? 0 : 1;
}
