/* Resize (opsets 10-19) and Upsample (7-10): every output element is a
 * weighted sum of input elements, separable per axis. At lower time each
 * resized axis gets constant tables, for every output coordinate its taps:
 * the input index (times the axis stride, clamped to the edge) and, unless
 * the mode is nearest, the tap weights. The kernel then only sums
 * products; the coordinate mapping, rounding modes, cubic coefficients and
 * antialias filters all live here, in the compiler.
 *
 * Where the ONNX reference and ONNX Runtime differ dlc follows ONNX
 * Runtime (the mapping is computed in float as it does): align_corners
 * divides by the integer output length, pytorch_half_pixel maps a length-1
 * output to 0, and the antialias filters are Pillow's (ORT's
 * upsample_antialias). Integer inputs are interpolated in float and
 * truncated, as ORT's static_cast does; cubic and antialias on integers,
 * which ORT does not run, are refused. */
#include "ops.h"

#include <limits.h>
#include <math.h>
#include <string.h>

typedef enum { RM_NEAREST, RM_LINEAR, RM_CUBIC } ResizeMode;

typedef enum {
    CT_HALF_PIXEL,
    CT_HALF_PIXEL_SYMMETRIC,
    CT_PYTORCH_HALF_PIXEL,
    CT_ALIGN_CORNERS,
    CT_ASYMMETRIC,
    CT_TF_HALF_PIXEL_FOR_NN,
    CT_TF_CROP_AND_RESIZE,
} CoordMode;

typedef enum {
    NM_ROUND_PREFER_FLOOR,
    NM_ROUND_PREFER_CEIL,
    NM_FLOOR,
    NM_CEIL,
    NM_SIMPLE,      /* Resize-10 and Upsample: truncate, or ceil when downsampling */
} NearestMode;

/* Where a row finds its scales. */
typedef enum {
    RF_UPSAMPLE7,   /* attribute `scales`, each >= 1 */
    RF_UPSAMPLE9,   /* Upsample-9/10: input 1, each >= 1 */
    RF_RESIZE10,    /* input 1 */
    RF_RESIZE11,    /* Resize-11+: roi, scales, sizes in inputs 1-3 */
} ResizeForm;

/* Tap tables are built for at most this many taps per output coordinate
 * (antialiased downsampling by a large factor needs many). */
#define RESIZE_MAX_TAPS 4096
/* ... and at most this many entries per axis (output extent times taps):
 * the tables are built at compile time and written into the generated
 * code, so an axis scaled to 2^31 elements (a tensor under the 64 GiB
 * cap) would take 32 GiB of compile-time memory. */
#define RESIZE_MAX_TABLE (1 << 22)

typedef struct {
    int rank;
    int64_t in[IR_MAX_RANK], out[IR_MAX_RANK];
    float scale[IR_MAX_RANK];               /* output / input, as ORT uses it */
    float roi_lo[IR_MAX_RANK], roi_hi[IR_MAX_RANK];
    ResizeMode mode;
    CoordMode coord;
    NearestMode nearest;
    float cubic_a;
    bool exclude_outside, antialias;
    float extrapolation;
} Resize;

/* ---- attributes ---- */

/* Attribute `name` (default dflt) as the index of one of names[0..n). */
static bool pick(const Node *n, Diag *d, const char *name, const char *dflt,
                 const char *const *names, int count, int *out)
{
    const char *s = ir_attr_string(n, name, dflt);
    for (int i = 0; i < count; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = i;
            return true;
        }
    char list[256] = "";
    for (int i = 0; i < count; i++) {
        strncat(list, names[i], sizeof list - strlen(list) - 1);
        if (i + 1 < count)
            strncat(list, ", ", sizeof list - strlen(list) - 1);
    }
    diag_error(d, n, "attribute '%s' is '%s'; expected one of %s", name, s, list);
    return false;
}

/* Constant input i as a 1-D list of at most IR_MAX_RANK * 2 numbers, or
 * count 0 when absent or empty. */
static bool const_list(const Node *n, Diag *d, int i, const char *what, bool want_float,
                       double *out, int *count)
{
    *count = 0;
    const Value *v = i < n->nin ? n->in[i] : NULL;
    if (!v)
        return true;
    int64_t numel = ir_value_numel(v);
    if (numel == 0)
        return true;
    if (!v->data)
        return op_dynamic_input(d, n, i, what);
    if (want_float != ir_dtype_is_float(v->dtype) || v->dtype == DT_BOOL) {
        diag_error(d, n, "%s input '%s' must be a %s tensor, got %s", what, v->name,
                   want_float ? "float" : "int64", ir_dtype_name(v->dtype));
        return false;
    }
    if (v->shape.rank != 1 || numel > 2 * IR_MAX_RANK) {
        diag_error(d, n, "%s input '%s' must be 1-D with at most %d elements, got shape %s",
                   what, v->name, 2 * IR_MAX_RANK, ir_shape_str(n->graph->arena, &v->shape));
        return false;
    }
    for (int64_t k = 0; k < numel; k++)
        out[k] = want_float ? ir_const_f(v, k) : (double)ir_const_i(v, k);
    *count = (int)numel;
    return true;
}

static const char *const mode_names[] = {"nearest", "linear", "cubic"};
static const char *const coord_names[] = {"half_pixel", "half_pixel_symmetric",
                                          "pytorch_half_pixel", "align_corners", "asymmetric",
                                          "tf_half_pixel_for_nn", "tf_crop_and_resize"};
static const char *const nearest_names[] = {"round_prefer_floor", "round_prefer_ceil", "floor",
                                            "ceil"};
static const char *const policy_names[] = {"stretch", "not_larger", "not_smaller"};

/* Reads the attributes that the form has (older forms fix the rest). */
static bool resize_attrs(const Node *n, Diag *d, ResizeForm form, Resize *g)
{
    int m = 0;
    if (!pick(n, d, "mode", "nearest", mode_names, form == RF_RESIZE11 ? 3 : 2, &m))
        return false;
    g->mode = (ResizeMode)m;
    g->coord = CT_ASYMMETRIC;
    g->nearest = NM_SIMPLE;
    g->cubic_a = -0.75f;
    if (form != RF_RESIZE11)
        return true;
    int c = 0, nm = 0;
    if (!pick(n, d, "coordinate_transformation_mode", "half_pixel", coord_names, 7, &c) ||
        !pick(n, d, "nearest_mode", "round_prefer_floor", nearest_names, 4, &nm))
        return false;
    g->coord = (CoordMode)c;
    g->nearest = (NearestMode)nm;
    g->cubic_a = ir_attr_float(n, "cubic_coeff_a", -0.75f);
    g->exclude_outside = ir_attr_int(n, "exclude_outside", 0) != 0;
    g->extrapolation = ir_attr_float(n, "extrapolation_value", 0.0f);
    g->antialias = ir_attr_int(n, "antialias", 0) != 0 && g->mode != RM_NEAREST;
    if (!isfinite(g->cubic_a)) {
        diag_error(d, n, "attribute 'cubic_coeff_a' must be finite, got %g", g->cubic_a);
        return false;
    }
    return true;
}

/* ---- geometry: output shape and per-axis scales ---- */

static bool resize_geom(Node *n, Diag *d, ResizeForm form, Resize *g)
{
    memset(g, 0, sizeof *g);
    const Value *x = n->in[0];
    if (!x->has_type || !ir_shape_known(&x->shape))
        return op_inputs_known(n, d);
    if (!op_dtype_ok(n, d, x) || !resize_attrs(n, d, form, g))
        return false;
    int r = g->rank = x->shape.rank;
    if (r == 0) {
        diag_error(d, n, "input 0 '%s' must have rank >= 1", x->name);
        return false;
    }
    bool is_float = ir_dtype_is_float(x->dtype);
    if (!is_float && (g->mode == RM_CUBIC || g->antialias))
        return op_unsupported(d, n, "%s%s resize of %s input '%s' (ONNX Runtime runs neither)",
                              g->antialias ? "antialiased " : "", mode_names[g->mode],
                              ir_dtype_name(x->dtype), x->name);
    if (x->dtype == DT_BOOL && g->mode != RM_NEAREST)
        return op_unsupported(d, n, "%s resize of a bool tensor", mode_names[g->mode]);

    /* axes (opset 18): which axes scales / sizes / roi name */
    int axes[IR_MAX_RANK], naxes = r;
    for (int a = 0; a < r; a++)
        axes[a] = a;
    const Attr *aa = ir_attr(n, "axes");
    if (aa && aa->type == ATTR_INTS) {
        if (aa->n < 1 || aa->n > r) {
            diag_error(d, n, "attribute 'axes' has %d entries for rank %d", aa->n, r);
            return false;
        }
        naxes = aa->n;
        bool seen[IR_MAX_RANK] = {false};
        for (int i = 0; i < naxes; i++) {
            if (!op_axis(d, n, aa->ints[i], r, &axes[i]))
                return false;
            if (seen[axes[i]]) {
                diag_error(d, n, "attribute 'axes' names axis %d twice", axes[i]);
                return false;
            }
            seen[axes[i]] = true;
        }
    }

    double sc[2 * IR_MAX_RANK], sz[2 * IR_MAX_RANK], roi[2 * IR_MAX_RANK];
    int nsc = 0, nsz = 0, nroi = 0;
    if (form == RF_UPSAMPLE7) {
        const Attr *s = ir_attr(n, "scales");
        if (!s || s->type != ATTR_FLOATS) {
            diag_error(d, n, "attribute 'scales' is required");
            return false;
        }
        if (s->n > IR_MAX_RANK) {
            diag_error(d, n, "attribute 'scales' has %d entries for rank %d", s->n, r);
            return false;
        }
        nsc = s->n;
        for (int i = 0; i < nsc; i++)
            sc[i] = s->floats[i];
    } else if (form != RF_RESIZE11) {
        if (!const_list(n, d, 1, "scales", true, sc, &nsc))
            return false;
    } else {
        if (!const_list(n, d, 2, "scales", true, sc, &nsc) ||
            !const_list(n, d, 3, "sizes", false, sz, &nsz))
            return false;
        if (g->coord == CT_TF_CROP_AND_RESIZE && !const_list(n, d, 1, "roi", true, roi, &nroi))
            return false;
    }
    if (nsc > 0 && nsz > 0) {
        diag_error(d, n, "both scales and sizes are given; exactly one may be");
        return false;
    }
    if (nsc == 0 && nsz == 0) {
        diag_error(d, n, "neither scales nor sizes is given (or both are empty)");
        return false;
    }
    int given = nsc ? nsc : nsz;
    if (given != naxes) {
        diag_error(d, n, "%s has %d entries but the input has rank %d%s",
                   nsc ? "scales" : "sizes", given, r, naxes != r ? " (axes names fewer)" : "");
        return false;
    }
    if (nroi && nroi != 2 * naxes) {
        diag_error(d, n, "roi has %d entries; expected %d (start and end per axis)", nroi,
                   2 * naxes);
        return false;
    }

    for (int a = 0; a < r; a++) {
        g->in[a] = g->out[a] = x->shape.dim[a];
        g->scale[a] = 1.0f;
        g->roi_lo[a] = 0.0f;
        g->roi_hi[a] = 1.0f;
    }
    for (int i = 0; i < naxes; i++) {
        int a = axes[i];
        if (nroi) {
            g->roi_lo[a] = (float)roi[i];
            g->roi_hi[a] = (float)roi[naxes + i];
            if (!isfinite(g->roi_lo[a]) || !isfinite(g->roi_hi[a])) {
                diag_error(d, n, "roi of axis %d is not finite", a);
                return false;
            }
        }
        if (g->in[a] == 0)
            return op_unsupported(d, n, "resizing axis %d of length 0", a);
        if (nsc) {
            float s = (float)sc[i];
            if (!(s > 0.0f) || !isfinite(s)) {
                diag_error(d, n, "scales[%d] is %g; scales must be positive and finite", i,
                           sc[i]);
                return false;
            }
            if (form <= RF_UPSAMPLE9 && s < 1.0f) {
                diag_error(d, n, "scales[%d] is %g; Upsample scales must be >= 1", i, sc[i]);
                return false;
            }
            float o = s * (float)g->in[a];      /* float, as ORT computes it */
            if (!(o < 9.0e18f)) {
                diag_error(d, n, "scales[%d] = %g makes axis %d too long", i, sc[i], a);
                return false;
            }
            g->out[a] = (int64_t)o;
            g->scale[a] = s;
        } else {
            if (!(sz[i] >= 1)) {
                diag_error(d, n, "sizes[%d] is %lld; sizes must be positive", i,
                           (long long)sz[i]);
                return false;
            }
            g->out[a] = (int64_t)sz[i];
            g->scale[a] = (float)g->out[a] / (float)g->in[a];
        }
    }
    /* keep_aspect_ratio_policy (sizes only): one scale for every named axis */
    int policy = 0;
    if (form == RF_RESIZE11 && !pick(n, d, "keep_aspect_ratio_policy", "stretch", policy_names,
                                     3, &policy))
        return false;
    if (nsz && policy != 0) {
        float s = g->scale[axes[0]];
        for (int i = 1; i < naxes; i++)
            s = policy == 1 ? fminf(s, g->scale[axes[i]]) : fmaxf(s, g->scale[axes[i]]);
        for (int i = 0; i < naxes; i++) {
            int a = axes[i];
            g->scale[a] = s;
            g->out[a] = (int64_t)roundf(s * (float)g->in[a]);
        }
    }
    for (int a = 0; a < r; a++)
        if (g->out[a] < 1)
            return op_unsupported(d, n, "an empty output (axis %d of length %lld resizes to 0)",
                                  a, (long long)g->in[a]);
    Shape s = {.rank = r};
    memcpy(s.dim, g->out, sizeof g->out[0] * (size_t)r);
    int64_t numel;
    if (!ir_shape_numel(&s, &numel)) {
        diag_error(d, n, "output shape %s overflows", ir_shape_str(n->graph->arena, &s));
        return false;
    }
    return true;
}

static bool resize_infer(Node *n, Diag *d, ResizeForm form)
{
    Resize g;
    if (!resize_geom(n, d, form, &g))
        return false;
    Shape s = {.rank = g.rank};
    memcpy(s.dim, g.out, sizeof g.out[0] * (size_t)g.rank);
    op_set_out(n, 0, n->in[0]->dtype, &s);
    return true;
}

/* ---- per-axis taps ---- */

/* The input coordinate of output coordinate x along axis a (ORT's float
 * formulas, get_original_coordinate). */
static float original_coord(const Resize *g, int a, float x)
{
    float s = g->scale[a], lr = (float)g->out[a], lo = (float)g->in[a];
    switch (g->coord) {
    case CT_ASYMMETRIC:
        return x / s;
    case CT_PYTORCH_HALF_PIXEL:
        return lr > 1 ? (x + 0.5f) / s - 0.5f : 0.0f;
    case CT_TF_HALF_PIXEL_FOR_NN:
        return (x + 0.5f) / s;
    case CT_ALIGN_CORNERS:
        return lr == 1 ? 0.0f : x * (lo - 1) / (lr - 1);
    case CT_TF_CROP_AND_RESIZE: {
        float b = g->roi_lo[a], e = g->roi_hi[a];
        return lr > 1 ? b * (lo - 1) + (x * (e - b) * (lo - 1)) / (lr - 1)
                      : (float)(0.5 * (double)(b + e) * (double)(lo - 1));
    }
    case CT_HALF_PIXEL_SYMMETRIC: {
        float width = s * lo, adjustment = lr / width, center = lo / 2;
        float offset = center * (1 - adjustment);
        return (float)((double)offset + ((double)x + 0.5) / (double)s - 0.5);
    }
    case CT_HALF_PIXEL:
    default:
        return (x + 0.5f) / s - 0.5f;
    }
}

/* Keeps float -> int64 conversions defined for absurd coordinates. */
static float tame(float x)
{
    return x != x ? 0.0f : x < -1e15f ? -1e15f : x > 1e15f ? 1e15f : x;
}

static int64_t nearest_index(NearestMode m, float x, bool down)
{
    x = tame(x);
    switch (m) {
    case NM_SIMPLE:
        return down ? (int64_t)ceilf(x) : (int64_t)x;
    case NM_ROUND_PREFER_CEIL:
        return (int64_t)roundf(x);
    case NM_FLOOR:
        return (int64_t)floorf(x);
    case NM_CEIL:
        return (int64_t)ceilf(x);
    case NM_ROUND_PREFER_FLOOR:
    default:
        if (x == (float)(int64_t)x + 0.5f)
            return (int64_t)floorf(x);
        return (int64_t)roundf(x);
    }
}

static int64_t clamp_i(int64_t v, int64_t lo, int64_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* Pillow's filters, as ORT's antialias path uses them. */
static float aa_filter(const Resize *g, float x)
{
    x = fabsf(x);
    if (g->mode == RM_LINEAR)
        return x < 1.0f ? 1.0f - x : 0.0f;
    float a = g->cubic_a;
    if (x < 1.0f)
        return ((a + 2.0f) * x - (a + 3.0f)) * x * x + 1;
    if (x < 2.0f)
        return (((x - 5.0f) * x + 8.f) * x - 4.f) * a;
    return 0.0f;
}

/* One axis's taps: for output coordinate o, taps t < ntaps read input index
 * idx[o * ntaps + t] (clamped to the axis) with weight w[o * ntaps + t]
 * (w is NULL for nearest); ext[o] marks outputs that tf_crop_and_resize
 * sets to extrapolation_value (NULL when none is). */
typedef struct {
    int64_t ntaps;
    int64_t *idx;
    float *w;
    uint8_t *ext;
} AxisTaps;

static int64_t aa_window(const Resize *g, int a, float *support)
{
    float sc = 1.0f / g->scale[a];          /* > 1 when downsampling */
    float half = g->mode == RM_LINEAR ? 1.0f : 2.0f;
    *support = sc >= 1.0f ? half * sc : half;
    return (int64_t)ceilf(*support) * 2 + 1;
}

/* The taps of axis a; false when they would be too many. */
static bool axis_taps(Arena *ar, const Resize *g, int a, AxisTaps *t)
{
    int64_t in = g->in[a], out = g->out[a];
    float support = 0;
    t->ntaps = g->antialias ? aa_window(g, a, &support)
               : g->mode == RM_NEAREST ? 1 : g->mode == RM_LINEAR ? 2 : 4;
    if (t->ntaps > RESIZE_MAX_TAPS || out > RESIZE_MAX_TABLE / t->ntaps)
        return false;
    t->idx = ir_alloc_array(ar, (size_t)(out * t->ntaps), sizeof *t->idx);
    t->w = g->mode == RM_NEAREST ? NULL
                                 : ir_alloc_array(ar, (size_t)(out * t->ntaps), sizeof *t->w);
    t->ext = NULL;
    bool crop = g->coord == CT_TF_CROP_AND_RESIZE;
    for (int64_t o = 0; o < out; o++) {
        int64_t *idx = t->idx + o * t->ntaps;
        float *w = t->w ? t->w + o * t->ntaps : NULL;
        float x;
        if (g->antialias) {
            float center = 0.5f + (g->scale[a] == 1.0f ? (float)o : original_coord(g, a, (float)o));
            x = center - 0.5f;
            float sc = 1.0f / g->scale[a], inv = sc >= 1.0f ? 1.0f / sc : 1.0f;
            int64_t lo = (int64_t)floorf(tame(center - support + 0.5f));
            int64_t hi = (int64_t)floorf(tame(center + support + 0.5f));
            hi = lo + clamp_i(hi - lo, 0, t->ntaps);
            if (g->exclude_outside) {
                lo = clamp_i(lo, 0, in);
                hi = clamp_i(hi, 0, in);
            }
            float total = 0;
            for (int64_t k = 0; k < t->ntaps; k++) {
                int64_t p = lo + k;
                float wk = p < hi ? aa_filter(g, ((float)p - center + 0.5f) * inv) : 0.0f;
                idx[k] = clamp_i(p, 0, in - 1);
                w[k] = wk;
                total += wk;
            }
            float scale_w = total == 0.0f ? 1.0f : 1.0f / total;
            for (int64_t k = 0; k < t->ntaps; k++)
                w[k] *= scale_w;
        } else {
            x = original_coord(g, a, (float)o);
            if (g->mode == RM_NEAREST) {
                int64_t i = nearest_index(g->nearest, x, g->scale[a] < 1.0f);
                idx[0] = clamp_i(i, 0, in - 1);
            } else if (g->mode == RM_LINEAR) {
                float xc = fmaxf(0.0f, fminf(x, (float)(in - 1)));
                int64_t i1 = clamp_i((int64_t)xc, 0, in - 1), i2 = clamp_i(i1 + 1, 0, in - 1);
                idx[0] = i1;
                idx[1] = i2;
                if (i1 == i2) {
                    w[0] = w[1] = 0.5f;
                } else {
                    w[0] = fabsf(xc - (float)i2);
                    w[1] = fabsf(xc - (float)i1);
                }
            } else {
                float xf = floorf(tame(x)), r = x - xf, A = g->cubic_a;
                int64_t base = (int64_t)xf - 1;
                float c[4] = {
                    ((A * (r + 1) - 5 * A) * (r + 1) + 8 * A) * (r + 1) - 4 * A,
                    ((A + 2) * r - (A + 3)) * r * r + 1,
                    ((A + 2) * (1 - r) - (A + 3)) * (1 - r) * (1 - r) + 1,
                    ((A * (2 - r) - 5 * A) * (2 - r) + 8 * A) * (2 - r) - 4 * A,
                };
                float total = 0;
                for (int k = 0; k < 4; k++) {
                    int64_t p = base + k;
                    if (g->exclude_outside && (p < 0 || p >= in))
                        c[k] = 0;
                    total += c[k];
                    idx[k] = clamp_i(p, 0, in - 1);
                }
                float scale_w = g->exclude_outside && total != 0.0f ? 1.0f / total : 1.0f;
                for (int k = 0; k < 4; k++)
                    w[k] = c[k] * scale_w;
            }
        }
        if (crop && (x < 0 || x > (float)(in - 1))) {
            if (!t->ext)
                t->ext = ir_alloc_array(ar, (size_t)out, 1);
            t->ext[o] = 1;
        }
    }
    return true;
}

/* Do the taps leave axis a as it is (output o reads input o, weight 1)? */
static bool taps_identity(const Resize *g, int a, const AxisTaps *t)
{
    if (g->in[a] != g->out[a] || t->ext)
        return false;
    for (int64_t o = 0; o < g->out[a]; o++)
        for (int64_t k = 0; k < t->ntaps; k++) {
            int64_t i = t->idx[o * t->ntaps + k];
            float w = t->w ? t->w[o * t->ntaps + k] : 1.0f;
            /* a tap on o carries all the weight, or several taps all read o */
            if (w != 0.0f && i != o)
                return false;
        }
    if (t->w)
        for (int64_t o = 0; o < g->out[a]; o++) {
            float sum = 0;
            for (int64_t k = 0; k < t->ntaps; k++)
                sum += t->w[o * t->ntaps + k];
            if (sum != 1.0f)
                return false;
        }
    return true;
}

/* ---- lowering ---- */

/* A rank-1 constant table of n elements of dtype dt holding data. */
static Value *table(Graph *g, const Node *n, const char *what, int a, DType dt, int64_t count,
                    void *data)
{
    Value *v = ir_value_new(g, ir_sprintf(g->arena, "%s_resize_%s%d", n->out[0]->name, what, a));
    v->dtype = dt;
    v->has_type = true;
    v->shape.rank = 1;
    v->shape.dim[0] = count;
    v->data = data;
    return v;
}

/* The input offsets of axis a's taps (index times stride) as a table. */
static Value *offset_table(Graph *gr, const Node *n, int a, const AxisTaps *t, int64_t stride,
                           int64_t out)
{
    int64_t cnt = out * t->ntaps, maxoff = 0;
    for (int64_t i = 0; i < cnt; i++)
        if (t->idx[i] * stride > maxoff)
            maxoff = t->idx[i] * stride;
    if (maxoff <= INT32_MAX) {
        int32_t *p = ir_alloc_array(gr->arena, (size_t)cnt, sizeof *p);
        for (int64_t i = 0; i < cnt; i++)
            p[i] = (int32_t)(t->idx[i] * stride);
        return table(gr, n, "off", a, DT_INT32, cnt, p);
    }
    int64_t *p = ir_alloc_array(gr->arena, (size_t)cnt, sizeof *p);
    for (int64_t i = 0; i < cnt; i++)
        p[i] = t->idx[i] * stride;
    return table(gr, n, "off", a, DT_INT64, cnt, p);
}

static LExpr *load_i64(LKernel *k, Value *tab, LExpr *at)
{
    LExpr *e = lx_load(k, tab, at);
    return tab->dtype == DT_INT64 ? e : lx_cast(k, DT_INT64, e);
}

/* A KC_RESIZE2D call when only the last two axes change, the input is
 * float32 and computed at run time (a constant folds through the loops). */
static bool resize_kernel_call(Node *n, const Resize *g, const AxisTaps *taps, const bool *plain)
{
    Value *x = n->in[0], *y = n->out[0];
    int r = g->rank, ha = r - 2, wa = r - 1;
    if (r < 2 || x->dtype != DT_FLOAT || x->data || (plain[ha] && plain[wa]))
        return false;
    for (int a = 0; a < ha; a++)
        if (!plain[a])
            return false;
    int64_t th = plain[ha] ? 1 : taps[ha].ntaps, tw = plain[wa] ? 1 : taps[wa].ntaps;
    if ((!plain[ha] && taps[ha].ext) || (!plain[wa] && taps[wa].ext) || th > KC_RESIZE_MAX_TH)
        return false;
    KResize2d k2 = {.planes = op_dims_prod(g->out, 0, ha), .H = g->in[ha], .W = g->in[wa],
                    .OH = g->out[ha], .OW = g->out[wa], .TH = th, .TW = tw};
    int64_t rows = k2.OH * th, cnt = rows + tw * k2.OW;
    const int64_t v[7] = {k2.planes, k2.H, k2.W, k2.OH, k2.OW, cnt, k2.planes * k2.OH * k2.OW};
    if (!op_fits_int32(v, 7))
        return false;
    Graph *gr = n->graph;
    bool weighted = g->mode != RM_NEAREST;
    int32_t *idx = ir_alloc_array(gr->arena, (size_t)cnt, sizeof *idx);
    float *w = weighted ? ir_alloc_array(gr->arena, (size_t)cnt, sizeof *w) : NULL;
    for (int64_t o = 0; o < k2.OH; o++)         /* rows: per output row, its taps */
        for (int64_t t = 0; t < th; t++) {
            idx[o * th + t] = (int32_t)(plain[ha] ? o : taps[ha].idx[o * th + t]);
            if (w)
                w[o * th + t] = plain[ha] ? 1.0f : taps[ha].w[o * th + t];
        }
    for (int64_t t = 0; t < tw; t++)            /* columns: tap-major */
        for (int64_t o = 0; o < k2.OW; o++) {
            idx[rows + t * k2.OW + o] = (int32_t)(plain[wa] ? o : taps[wa].idx[o * tw + t]);
            if (w)
                w[rows + t * k2.OW + o] = plain[wa] ? 1.0f : taps[wa].w[o * tw + t];
        }
    LKernel *k = lw_kernel(n);
    LStmt *c = ls_kernel(k, KC_RESIZE2D);
    c->flops = weighted ? 2.0 * (double)ir_value_numel(y) * (double)(th + tw) : 0.0;
    c->kc->u.resize = k2;
    c->kc->in[0].buf = x;
    c->kc->in[1].buf = table(gr, n, "taps", 0, DT_INT32, cnt, idx);
    c->kc->in[2].buf = w ? table(gr, n, "weights", 0, DT_FLOAT, cnt, w) : NULL;
    c->kc->out.buf = y;
    ls_push(k, k->root, c);
    return true;
}

static bool resize_lower(Node *n, Diag *d, ResizeForm form)
{
    Resize g;
    if (!resize_geom(n, d, form, &g))
        return false;
    Graph *gr = n->graph;
    Value *x = n->in[0], *y = n->out[0];
    int r = g.rank;
    AxisTaps taps[IR_MAX_RANK];
    bool plain[IR_MAX_RANK];
    int64_t stride[IR_MAX_RANK];
    ir_strides(&x->shape, stride);
    for (int a = 0; a < r; a++) {
        if (!axis_taps(gr->arena, &g, a, &taps[a]))
            return taps[a].ntaps > RESIZE_MAX_TAPS
                ? op_unsupported(d, n, "antialiased resize of axis %d needs more than %d taps",
                                 a, RESIZE_MAX_TAPS)
                : op_unsupported(d, n, "axis %d resizes to %lld elements, %lld taps each: "
                                 "its tap tables would exceed %d entries",
                                 a, (long long)g.out[a], (long long)taps[a].ntaps,
                                 RESIZE_MAX_TABLE);
        plain[a] = taps_identity(&g, a, &taps[a]);
    }
    if (resize_kernel_call(n, &g, taps, plain))
        return true;

    LKernel *k = lw_kernel(n);
    int ov[IR_MAX_RANK];
    LStmt *inner = lk_nest(k, k->root, y->shape.dim, r, ov);
    DType ct = ir_dtype_is_float(x->dtype) ? lw_compute_type(x->dtype) : DT_FLOAT;

    /* tf_crop_and_resize: outside the crop the output is extrapolation_value */
    LExpr *outside = NULL;
    for (int a = 0; a < r; a++) {
        if (plain[a] || !taps[a].ext)
            continue;
        Value *e = table(gr, n, "ext", a, DT_UINT8, g.out[a], taps[a].ext);
        LExpr *c = lx_bin(k, LB_NE, lx_load(k, e, lx_var(k, ov[a])), lx_i(k, DT_UINT8, 0));
        outside = outside ? lx_bin(k, LB_OR, outside, c) : c;
    }

    /* offset of each axis: a plain axis or a one-tap axis is known per
     * output coordinate; a many-tap axis gets a loop over its taps */
    LExpr *base = lx_idx(k, 0);
    Value *offs[IR_MAX_RANK], *wts[IR_MAX_RANK];
    bool sum = false;
    for (int a = 0; a < r; a++) {
        offs[a] = wts[a] = NULL;
        if (plain[a]) {
            base = lx_add(k, base, lx_muli(k, lx_var(k, ov[a]), stride[a]));
            continue;
        }
        offs[a] = offset_table(gr, n, a, &taps[a], stride[a], g.out[a]);
        if (!taps[a].w) {   /* nearest: one tap, no weight */
            base = lx_add(k, base, load_i64(k, offs[a], lx_var(k, ov[a])));
        } else {
            wts[a] = table(gr, n, "w", a, DT_FLOAT, g.out[a] * taps[a].ntaps, taps[a].w);
            sum = true;
        }
    }

    LExpr *value;
    if (!sum) {
        value = lx_load(k, x, base);
    } else {
        int acc = lk_var(k, ct);
        ls_push(k, inner, ls_assign(k, acc, lx_num(k, ct, 0.0)));
        LStmt *body = inner;
        LExpr *w = NULL, *off = base;
        for (int a = 0; a < r; a++) {
            if (!wts[a])
                continue;   /* plain, or one tap already in base */
            int64_t nt = taps[a].ntaps;
            LExpr *pos;
            if (nt == 1) {
                pos = lx_var(k, ov[a]);
            } else {
                int tv = lk_var(k, DT_INT64);
                LStmt *loop = ls_for(k, tv, nt);
                ls_push(k, body, loop);
                body = loop;
                pos = lx_add(k, lx_muli(k, lx_var(k, ov[a]), nt), lx_var(k, tv));
            }
            off = lx_add(k, off, load_i64(k, offs[a], pos));
            LExpr *wa = lx_load(k, wts[a], pos);
            if (ct != DT_FLOAT)
                wa = lx_cast(k, ct, wa);
            w = w ? lx_bin(k, LB_MUL, w, wa) : wa;
        }
        LExpr *xv = lx_load(k, x, off);
        if (xv->dt != ct)
            xv = lx_cast(k, ct, xv);
        LExpr *term = w ? lx_bin(k, LB_MUL, w, xv) : xv;
        ls_push(k, body, ls_assign(k, acc, lx_bin(k, LB_ADD, lx_var(k, acc), term)));
        value = lx_var(k, acc);
    }
    if (outside)
        value = lx_sel(k, outside, lx_num(k, value->dt, g.extrapolation), value);
    if (value->dt != y->dtype && !(y->dtype == DT_FLOAT16 && value->dt == DT_FLOAT))
        value = lx_cast(k, y->dtype, value);
    ls_push(k, inner, ls_store(k, y, lx_flat(k, &y->shape, ov), value));
    return true;
}

/* ---- rows ---- */

static bool infer_upsample7(Node *n, Diag *d) { return resize_infer(n, d, RF_UPSAMPLE7); }
static bool lower_upsample7(Node *n, Diag *d) { return resize_lower(n, d, RF_UPSAMPLE7); }
static bool infer_upsample9(Node *n, Diag *d) { return resize_infer(n, d, RF_UPSAMPLE9); }
static bool lower_upsample9(Node *n, Diag *d) { return resize_lower(n, d, RF_UPSAMPLE9); }
static bool infer_resize10(Node *n, Diag *d) { return resize_infer(n, d, RF_RESIZE10); }
static bool lower_resize10(Node *n, Diag *d) { return resize_lower(n, d, RF_RESIZE10); }
static bool infer_resize11(Node *n, Diag *d) { return resize_infer(n, d, RF_RESIZE11); }
static bool lower_resize11(Node *n, Diag *d) { return resize_lower(n, d, RF_RESIZE11); }

static const AttrSpec a_upsample7[] = {{"mode", ATTR_STRING}, {"scales", ATTR_FLOATS}, {NULL, 0}};
static const AttrSpec a_mode[] = {{"mode", ATTR_STRING}, {NULL, 0}};
static const AttrSpec a_resize11[] = {
    {"coordinate_transformation_mode", ATTR_STRING}, {"cubic_coeff_a", ATTR_FLOAT},
    {"exclude_outside", ATTR_INT}, {"extrapolation_value", ATTR_FLOAT},
    {"mode", ATTR_STRING}, {"nearest_mode", ATTR_STRING}, {NULL, 0}};
static const AttrSpec a_resize18[] = {
    {"antialias", ATTR_INT}, {"axes", ATTR_INTS},
    {"coordinate_transformation_mode", ATTR_STRING}, {"cubic_coeff_a", ATTR_FLOAT},
    {"exclude_outside", ATTR_INT}, {"extrapolation_value", ATTR_FLOAT},
    {"keep_aspect_ratio_policy", ATTR_STRING}, {"mode", ATTR_STRING},
    {"nearest_mode", ATTR_STRING}, {NULL, 0}};

const OpDesc op_rows_resize[] = {
    {.dyn = DYN_RESIZE, .name = "Upsample", .since = 7, .until = 8, .min_in = 1, .max_in = 1, .min_out = 1,
     .max_out = 1, .attrs = a_upsample7, .infer = infer_upsample7, .lower = lower_upsample7},
    /* Upsample-10 is deprecated: the same operator as Upsample-9 */
    {.dyn = DYN_RESIZE, .name = "Upsample", .since = 9, .until = 10, .min_in = 2, .max_in = 2, .min_out = 1,
     .max_out = 1, .attrs = a_mode, .infer = infer_upsample9, .lower = lower_upsample9},
    {.dyn = DYN_RESIZE, .name = "Resize", .since = 10, .until = 10, .min_in = 2, .max_in = 2, .min_out = 1,
     .max_out = 1, .attrs = a_mode, .infer = infer_resize10, .lower = lower_resize10},
    {.dyn = DYN_RESIZE, .name = "Resize", .since = 11, .until = 12, .min_in = 3, .max_in = 4, .min_out = 1,
     .max_out = 1, .attrs = a_resize11, .infer = infer_resize11, .lower = lower_resize11},
    {.dyn = DYN_RESIZE, .name = "Resize", .since = 13, .until = 17, .min_in = 1, .max_in = 4, .min_out = 1,
     .max_out = 1, .attrs = a_resize11, .infer = infer_resize11, .lower = lower_resize11},
    {.dyn = DYN_RESIZE, .name = "Resize", .since = 18, .min_in = 1, .max_in = 4, .min_out = 1, .max_out = 1,
     .attrs = a_resize18, .infer = infer_resize11, .lower = lower_resize11},
    {.name = NULL},
};
