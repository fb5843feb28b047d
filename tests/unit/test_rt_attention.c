/* test_rt_attention.c - rt_attention (fused scaled dot-product attention)
 * against a double-precision naive reference.
 *
 * For every output element, with p the reference's softmax row and V the
 * value rows, the test passes when
 *     |got - want| <= 2e-7 * (1 + smax) * (1 + sum_j p_j |V_j|)
 * where smax is the row's largest sum of score term magnitudes,
 * max_j |scale| sum_t |Q_t K_jt| + |mask_j|: a float32 score is off by
 * about 6e-8 of that, and the softmax passes it on (the bound is ~5x the
 * worst error seen).  Shapes: B 1..2, H 1..12, Sq and Sk 1..300 (not multiples
 * of 16, and more rows than one block), D and Dv 1..80; layouts as
 * exporters leave them ([B, S, H, D] read through strides, the output
 * written as [B, S, H, Dv]) and contiguous [B, H, S, D]; masks none,
 * [B,1,1,Sk], [B,1,Sq,Sk], [Sq,Sk] and per-row scalars, with -inf entries
 * (exactly 0 weight there) and fully masked rows (NaN, as the formula
 * gives).  Built with OpenMP, 1, 2 and 3 threads give identical bits.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "../../runtime/rt.h"

#define RNG_SEED 0xA77E5710A77E5710u
#include "test_rand.h"

static int n_failed, n_cases;
static double worst;

enum { M_NONE, M_B11S, M_B1SS, M_SS, M_ROW };

typedef struct {
    int B, H, Sq, Sk, D, Dv;
    int heads_inner;    /* Q, K, V, O as [B, S, H, D] (exporters' layout) */
    int mask;           /* M_* */
    int neg_inf;        /* some mask entries -inf */
    int full_row;       /* one query row fully masked (-inf) */
    float scale;
} Case;

static void fill(float *x, size_t n, double amp)
{
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(amp * rng_uniform_d());
}

static void run_case(const Case *c)
{
    rt_attention_shape s;
    memset(&s, 0, sizeof s);
    s.B = c->B, s.H = c->H, s.Sq = c->Sq, s.Sk = c->Sk, s.D = c->D, s.Dv = c->Dv;
    size_t nq = (size_t)c->B * c->H * c->Sq * c->D, nk = (size_t)c->B * c->H * c->Sk * c->D;
    size_t nv = (size_t)c->B * c->H * c->Sk * c->Dv, no = (size_t)c->B * c->H * c->Sq * c->Dv;
    if (c->heads_inner) {
        s.qb = (ptrdiff_t)c->Sq * c->H * c->D, s.qi = (ptrdiff_t)c->H * c->D, s.qh = c->D;
        s.kb = (ptrdiff_t)c->Sk * c->H * c->D, s.kj = (ptrdiff_t)c->H * c->D, s.kh = c->D;
        s.vb = (ptrdiff_t)c->Sk * c->H * c->Dv, s.vj = (ptrdiff_t)c->H * c->Dv, s.vh = c->Dv;
        s.ob = (ptrdiff_t)c->Sq * c->H * c->Dv, s.oi = (ptrdiff_t)c->H * c->Dv, s.oh = c->Dv;
    } else {
        s.qh = (ptrdiff_t)c->Sq * c->D, s.qb = s.qh * c->H, s.qi = c->D;
        s.kh = (ptrdiff_t)c->Sk * c->D, s.kb = s.kh * c->H, s.kj = c->D;
        s.vh = (ptrdiff_t)c->Sk * c->Dv, s.vb = s.vh * c->H, s.vj = c->Dv;
        s.oh = (ptrdiff_t)c->Sq * c->Dv, s.ob = s.oh * c->H, s.oi = c->Dv;
    }
    size_t nm = 0;
    switch (c->mask) {
    case M_B11S: nm = (size_t)c->B * c->Sk, s.mb = c->Sk, s.mj = 1; break;
    case M_B1SS: nm = (size_t)c->B * c->Sq * c->Sk, s.mb = (ptrdiff_t)c->Sq * c->Sk,
                 s.mi = c->Sk, s.mj = 1; break;
    case M_SS: nm = (size_t)c->Sq * c->Sk, s.mi = c->Sk, s.mj = 1; break;
    case M_ROW: nm = (size_t)c->B * c->H * c->Sq, s.mb = (ptrdiff_t)c->H * c->Sq,
                s.mh = c->Sq, s.mi = 1, s.mj = 0; break;
    }
    float *q = xmalloc(nq * sizeof *q), *k = xmalloc(nk * sizeof *k), *v = xmalloc(nv * sizeof *v);
    float *o = xmalloc(no * sizeof *o), *m = nm ? xmalloc(nm * sizeof *m) : NULL;
    size_t ns = rt_attention_scratch(&s);
    float *scr = xmalloc((ns + 1) * sizeof *scr);
    double *row = xmalloc((size_t)c->Sk * sizeof *row);
    fill(q, nq, 2.0);
    fill(k, nk, 2.0);
    fill(v, nv, 1.0);
    if (m) {
        fill(m, nm, 3.0);
        if (c->neg_inf)
            for (size_t i = 0; i < nm; i++)
                if (rng_uniform_d() < -0.6)
                    m[i] = -INFINITY;
        if (c->full_row && c->mask == M_B1SS && c->Sq > 1)
            for (int j = 0; j < c->Sk; j++)
                m[(size_t)1 * c->Sk + j] = -INFINITY;   /* batch 0, row 1 */
        if (c->neg_inf && c->mask != M_ROW)
            for (size_t i = 0; i < nm; i += (size_t)c->Sk)
                if (m[i] == -INFINITY && !(c->full_row && i == (size_t)c->Sk))
                    m[i] = 0.5f;    /* each row keeps at least its first key */
        if (c->mask == M_ROW)
            for (size_t i = 0; i < nm; i++)
                if (!isfinite(m[i]))
                    m[i] = 0.25f;
    }
    for (size_t i = 0; i < no; i++)
        o[i] = NAN;
    rt_attention(&s, c->scale, q, k, v, m, o, scr);

    int bad = 0;
    double w = 0;
    for (int b = 0; b < c->B; b++)
        for (int h = 0; h < c->H; h++)
            for (int i = 0; i < c->Sq; i++) {
                const float *qr = q + b * s.qb + h * s.qh + i * s.qi;
                double mx = -INFINITY, sum = 0, smax = 0;
                for (int j = 0; j < c->Sk; j++) {
                    const float *kr = k + b * s.kb + h * s.kh + j * s.kj;
                    double d = 0, a = 0;
                    for (int t = 0; t < c->D; t++) {
                        d += (double)qr[t] * kr[t];
                        a += fabs((double)qr[t] * kr[t]);
                    }
                    d *= c->scale;
                    a *= fabs(c->scale);
                    if (m) {
                        double mk = m[b * s.mb + h * s.mh + i * s.mi + j * s.mj];
                        d += mk;
                        a += isfinite(mk) ? fabs(mk) : 0;
                    }
                    row[j] = d;
                    mx = d > mx ? d : mx;
                    smax = a > smax ? a : smax;
                }
                for (int j = 0; j < c->Sk; j++)
                    sum += row[j] = exp(row[j] - mx);
                for (int e = 0; e < c->Dv; e++) {
                    double want = 0, mag = 0;
                    for (int j = 0; j < c->Sk; j++) {
                        double vj = v[b * s.vb + h * s.vh + j * s.vj + e];
                        want += row[j] / sum * vj;
                        mag += row[j] / sum * fabs(vj);
                    }
                    double got = o[b * s.ob + h * s.oh + i * s.oi + e];
                    double err = fabs(got - want);
                    if (isnan(want) && isnan(got))
                        continue;
                    double scale = (1 + smax) * (1 + mag);
                    if (!(err <= 2e-7 * scale)) {
                        if (bad++ < 3)
                            fprintf(stderr, "  b %d h %d row %d col %d: got %.9g want %.9g\n",
                                    b, h, i, e, got, want);
                    } else if (err / scale > w) {
                        w = err / scale;
                    }
                }
            }
    if (w > worst)
        worst = w;
#ifdef _OPENMP
    /* Same bits on 1, 2 and 3 threads. */
    {
        float *o1 = xmalloc(no * sizeof *o1);
        int saved = omp_get_max_threads();
        for (int t = 1; t <= 3; t++) {
            omp_set_num_threads(t);
            rt_attention(&s, c->scale, q, k, v, m, o1, scr);
            if (memcmp(o1, o, no * sizeof *o) != 0) {
                if (bad++ < 3)
                    fprintf(stderr, "  %d threads: different result\n", t);
            }
        }
        omp_set_num_threads(saved);
        free(o1);
    }
#endif
    n_cases++;
    if (bad) {
        n_failed++;
        fprintf(stderr, "FAIL B %d H %d Sq %d Sk %d D %d Dv %d inner %d mask %d inf %d: %d bad\n",
                c->B, c->H, c->Sq, c->Sk, c->D, c->Dv, c->heads_inner, c->mask, c->neg_inf, bad);
    }
    free(q), free(k), free(v), free(o), free(m), free(scr), free(row);
}

int main(void)
{
    static const int dims[][6] = {
        /* B, H, Sq, Sk, D, Dv */
        {1, 12, 128, 128, 64, 64},   /* BERT-base */
        {1, 1, 1, 1, 1, 1},
        {2, 3, 7, 9, 13, 5},
        {1, 4, 8, 8, 8, 8},
        {2, 2, 17, 33, 31, 17},
        {1, 2, 130, 130, 80, 48},    /* two row blocks */
        {1, 1, 300, 300, 16, 16},    /* blocks limited by Sk */
        {1, 3, 5, 257, 24, 40},
        {2, 1, 129, 1, 3, 7},
    };
    int nd = (int)(sizeof dims / sizeof dims[0]);
    for (int i = 0; i < nd; i++)
        for (int inner = 0; inner < 2; inner++)
            for (int mask = M_NONE; mask <= M_ROW; mask++)
                for (int inf = 0; inf < (mask == M_NONE || mask == M_ROW ? 1 : 2); inf++) {
                    Case c = {dims[i][0], dims[i][1], dims[i][2], dims[i][3], dims[i][4],
                              dims[i][5], inner, mask, inf, 0, 0.0f};
                    c.scale = (float)(1.0 / sqrt((double)c.D));
                    c.full_row = inf && mask == M_B1SS;
                    run_case(&c);
                }
    /* Large scores: the max must be subtracted. */
    {
        Case c = {1, 2, 20, 40, 16, 8, 1, M_B11S, 1, 0, 30.0f};
        run_case(&c);
    }
    printf("test_rt_attention: %d cases, %d failed, worst error %.3g of the bound's scale\n",
           n_cases, n_failed, worst);
    return n_failed != 0;
}
