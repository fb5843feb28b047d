/* Loop IR interpreter: constant folding runs the same kernels that the
 * generated code runs, so compile-time and run-time values agree.
 * Float32 math rounds to float after every operation, as C does. */
#include "loop.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    double f;       /* float dtypes */
    int64_t i;      /* integer dtypes and bool; uint64 bit pattern */
} Scalar;

typedef struct {
    LKernel *k;
    Scalar *vars;
    bool failed;
} Interp;

static double round_to(DType dt, double x)
{
    if (dt == DT_FLOAT || dt == DT_FLOAT16 || dt == DT_BFLOAT16)
        return (float)x;
    return x;
}

/* x as integer type dt, as the generated code converts it (its f2i
 * helper): NaN 0, out of range the nearest bound; uint64 as its bits. */
static int64_t saturate(DType dt, double x)
{
    double lo = -9223372036854775808.0, hi = 9223372036854775808.0;
    int64_t min = INT64_MIN, max = INT64_MAX;
    switch (dt) {
    case DT_INT8: lo = -129.0, hi = 128.0, min = INT8_MIN, max = INT8_MAX; break;
    case DT_INT16: lo = -32769.0, hi = 32768.0, min = INT16_MIN, max = INT16_MAX; break;
    case DT_INT32: lo = -2147483649.0, hi = 2147483648.0, min = INT32_MIN, max = INT32_MAX; break;
    case DT_UINT8: lo = -1.0, hi = 256.0, min = 0, max = UINT8_MAX; break;
    case DT_UINT16: lo = -1.0, hi = 65536.0, min = 0, max = UINT16_MAX; break;
    case DT_UINT32: lo = -1.0, hi = 4294967296.0, min = 0, max = UINT32_MAX; break;
    case DT_UINT64:
        if (x != x || x <= -1.0)
            return 0;
        return x >= 18446744073709551616.0 ? -1 : (int64_t)(uint64_t)x;
    default: break;
    }
    return x != x ? 0 : x <= lo ? min : x >= hi ? max : (int64_t)x;
}

static int64_t wrap_int(DType dt, int64_t x)
{
    switch (dt) {
    case DT_BOOL: return x != 0;
    case DT_INT8: return (int8_t)x;
    case DT_UINT8: return (uint8_t)x;
    case DT_INT16: return (int16_t)x;
    case DT_UINT16: return (uint16_t)x;
    case DT_INT32: return (int32_t)x;
    case DT_UINT32: return (uint32_t)x;
    default: return x;
    }
}

static Scalar load(Interp *in, const Value *v, int64_t idx)
{
    Scalar s = {0, 0};
    int64_t n = ir_value_numel(v);
    if (!v->data || idx < 0 || idx >= n) {
        in->failed = true;
        return s;
    }
    const void *p = v->data;
    switch (v->dtype) {
    case DT_FLOAT: s.f = ((const float *)p)[idx]; break;
    case DT_DOUBLE: s.f = ((const double *)p)[idx]; break;
    case DT_FLOAT16: s.f = ir_h2f(((const uint16_t *)p)[idx]); break;
    case DT_BFLOAT16: s.f = ir_bf2f(((const uint16_t *)p)[idx]); break;
    case DT_UINT64: s.i = (int64_t)((const uint64_t *)p)[idx]; break;
    default: s.i = ir_const_i(v, idx); break;
    }
    return s;
}

static void store(Interp *in, Value *v, int64_t idx, Scalar s)
{
    int64_t n = ir_value_numel(v);
    if (!v->data || idx < 0 || idx >= n) {
        in->failed = true;
        return;
    }
    void *p = v->data;
    switch (v->dtype) {
    case DT_FLOAT: ((float *)p)[idx] = (float)s.f; break;
    case DT_DOUBLE: ((double *)p)[idx] = s.f; break;
    case DT_FLOAT16: ((uint16_t *)p)[idx] = ir_f2h((float)s.f); break;
    case DT_BFLOAT16: ((uint16_t *)p)[idx] = ir_f2bf((float)s.f); break;
    case DT_BOOL:
    case DT_UINT8: ((uint8_t *)p)[idx] = (uint8_t)s.i; break;
    case DT_INT8: ((int8_t *)p)[idx] = (int8_t)s.i; break;
    case DT_UINT16: ((uint16_t *)p)[idx] = (uint16_t)s.i; break;
    case DT_INT16: ((int16_t *)p)[idx] = (int16_t)s.i; break;
    case DT_INT32: ((int32_t *)p)[idx] = (int32_t)s.i; break;
    case DT_UINT32: ((uint32_t *)p)[idx] = (uint32_t)s.i; break;
    case DT_INT64: ((int64_t *)p)[idx] = s.i; break;
    case DT_UINT64: ((uint64_t *)p)[idx] = (uint64_t)s.i; break;
    default: in->failed = true; break;
    }
}

static Scalar eval(Interp *in, const LExpr *e);

static Scalar unary(Interp *in, const LExpr *e)
{
    Scalar a = eval(in, e->a), r = {0, 0};
    DType dt = e->a->dt;
    if (ir_dtype_is_float(dt)) {
        double x = a.f;
        switch ((LUnaryOp)e->op) {
        case LU_NEG: r.f = -x; break;
        case LU_ABS: r.f = fabs(x); break;
        case LU_EXP: r.f = exp(x); break;
        case LU_LOG: r.f = log(x); break;
        case LU_SQRT: r.f = sqrt(x); break;
        case LU_TANH: r.f = tanh(x); break;
        case LU_ERF: r.f = erf(x); break;
        case LU_FLOOR: r.f = floor(x); break;
        case LU_CEIL: r.f = ceil(x); break;
        case LU_ROUND: r.f = nearbyint(x); break;
        case LU_SIN: r.f = sin(x); break;
        case LU_COS: r.f = cos(x); break;
        case LU_TAN: r.f = tan(x); break;
        case LU_ASIN: r.f = asin(x); break;
        case LU_ACOS: r.f = acos(x); break;
        case LU_ATAN: r.f = atan(x); break;
        case LU_SINH: r.f = sinh(x); break;
        case LU_COSH: r.f = cosh(x); break;
        case LU_ASINH: r.f = asinh(x); break;
        case LU_ACOSH: r.f = acosh(x); break;
        case LU_ATANH: r.f = atanh(x); break;
        case LU_LOG1P: r.f = log1p(x); break;
        case LU_SIGN: r.f = x > 0 ? 1 : x < 0 ? -1 : x; break;
        case LU_ISNAN: r.i = isnan(x); return r;
        case LU_ISINF: r.i = isinf(x) != 0; return r;
        default: in->failed = true; break;
        }
        r.f = round_to(e->dt, r.f);
        return r;
    }
    int64_t x = a.i;
    switch ((LUnaryOp)e->op) {
    case LU_NEG: r.i = (int64_t)(0 - (uint64_t)x); break;
    case LU_ABS: r.i = x < 0 ? (int64_t)(0 - (uint64_t)x) : x; break;
    case LU_NOT: r.i = !x; break;
    case LU_BITNOT: r.i = ~x; break;
    case LU_SIGN: r.i = x > 0 ? 1 : x < 0 ? -1 : 0; break;
    case LU_ISNAN:
    case LU_ISINF: r.i = 0; return r;
    default: in->failed = true; break;
    }
    r.i = wrap_int(e->dt, r.i);
    return r;
}

static Scalar binary_float(Interp *in, const LExpr *e, double x, double y)
{
    Scalar r = {0, 0};
    switch ((LBinaryOp)e->op) {
    case LB_ADD: r.f = x + y; break;
    case LB_SUB: r.f = x - y; break;
    case LB_MUL: r.f = x * y; break;
    case LB_DIV: r.f = x / y; break;
    case LB_FMOD: r.f = fmod(x, y); break;
    case LB_MOD: {
        double m = fmod(x, y);
        r.f = (m != 0 && ((m < 0) != (y < 0))) ? m + y : m;
        break;
    }
    case LB_POW: r.f = pow(x, y); break;
    case LB_MIN: r.f = isnan(x) || isnan(y) ? NAN : fmin(x, y); break;
    case LB_MAX: r.f = isnan(x) || isnan(y) ? NAN : fmax(x, y); break;
    case LB_EQ: r.i = x == y; return r;
    case LB_NE: r.i = x != y; return r;
    case LB_LT: r.i = x < y; return r;
    case LB_LE: r.i = x <= y; return r;
    case LB_GT: r.i = x > y; return r;
    case LB_GE: r.i = x >= y; return r;
    default: in->failed = true; break;
    }
    r.f = round_to(e->dt, r.f);
    return r;
}

static Scalar binary_int(Interp *in, const LExpr *e, int64_t x, int64_t y)
{
    Scalar r = {0, 0};
    bool u = ir_dtype_is_unsigned(e->a->dt);
    uint64_t ux = (uint64_t)x, uy = (uint64_t)y;
    switch ((LBinaryOp)e->op) {
    case LB_ADD: r.i = (int64_t)(ux + uy); break;
    case LB_SUB: r.i = (int64_t)(ux - uy); break;
    case LB_MUL: r.i = (int64_t)(ux * uy); break;
    case LB_DIV:   /* x / 0 = 0; x / -1 wraps (INT64_MIN / -1 = INT64_MIN), as generated code */
        if (!y)
            r.i = 0;
        else if (!u && y == -1)
            r.i = (int64_t)(0 - ux);
        else
            r.i = u ? (int64_t)(ux / uy) : x / y;
        break;
    case LB_FMOD:
        if (!y || (!u && y == -1))
            r.i = 0;
        else
            r.i = u ? (int64_t)(ux % uy) : x % y;
        break;
    case LB_MOD:
        if (!y || (!u && y == -1)) {
            r.i = 0;
        } else if (u) {
            r.i = (int64_t)(ux % uy);
        } else {
            int64_t m = x % y;
            r.i = (m != 0 && ((m < 0) != (y < 0))) ? m + y : m;
        }
        break;
    case LB_POW: {
        r.i = saturate(e->dt, pow((double)x, (double)y));
        break;
    }
    case LB_MIN: r.i = u ? (int64_t)(ux < uy ? ux : uy) : (x < y ? x : y); break;
    case LB_MAX: r.i = u ? (int64_t)(ux > uy ? ux : uy) : (x > y ? x : y); break;
    case LB_EQ: r.i = x == y; return r;
    case LB_NE: r.i = x != y; return r;
    case LB_LT: r.i = u ? ux < uy : x < y; return r;
    case LB_LE: r.i = u ? ux <= uy : x <= y; return r;
    case LB_GT: r.i = u ? ux > uy : x > y; return r;
    case LB_GE: r.i = u ? ux >= uy : x >= y; return r;
    case LB_AND: r.i = x && y; return r;
    case LB_OR: r.i = x || y; return r;
    case LB_XOR: r.i = !x != !y; return r;
    case LB_BITAND: r.i = x & y; break;
    case LB_BITOR: r.i = x | y; break;
    case LB_BITXOR: r.i = x ^ y; break;
    case LB_SHL:
    case LB_SHR: {
        int64_t width = (int64_t)ir_dtype_size(e->a->dt) * 8;
        if (y < 0 || y >= width)
            r.i = e->op == LB_SHL || u || x >= 0 ? 0 : -1;
        else if (e->op == LB_SHL)
            r.i = (int64_t)(ux << y);
        else
            r.i = u ? (int64_t)(ux >> y) : (x < 0 ? ~(~x >> y) : x >> y);
        break;
    }
    default: in->failed = true; break;
    }
    r.i = wrap_int(e->dt, r.i);
    return r;
}

static Scalar cast(const LExpr *e, Scalar a)
{
    DType from = e->a->dt, to = e->dt;
    Scalar r = {0, 0};
    if (ir_dtype_is_float(to)) {
        if (ir_dtype_is_float(from))
            r.f = a.f;
        else if (from == DT_UINT64)
            r.f = (double)(uint64_t)a.i;
        else
            r.f = (double)a.i;
        r.f = to == DT_FLOAT16    ? ir_h2f(ir_f2h((float)r.f))
              : to == DT_BFLOAT16 ? ir_bf2f(ir_f2bf((float)r.f))
                                  : round_to(to, r.f);
        return r;
    }
    if (to == DT_BOOL) {
        r.i = ir_dtype_is_float(from) ? a.f != 0 : a.i != 0;
        return r;
    }
    if (ir_dtype_is_float(from)) {
        r.i = saturate(to, a.f);   /* out of range: undefined in ONNX */
    } else {
        r.i = a.i;
    }
    r.i = wrap_int(to, r.i);
    return r;
}

static Scalar eval(Interp *in, const LExpr *e)
{
    Scalar r = {0, 0};
    switch (e->kind) {
    case LE_CONST:
        if (ir_dtype_is_float(e->dt))
            r.f = round_to(e->dt, e->f);
        else
            r.i = e->i;
        return r;
    case LE_VAR: return in->vars[e->var];
    case LE_LOAD: return load(in, e->buf, eval(in, e->a).i);
    case LE_UNARY: return unary(in, e);
    case LE_BINARY: {
        Scalar a = eval(in, e->a), b = eval(in, e->b);
        if (ir_dtype_is_float(e->a->dt))
            return binary_float(in, e, a.f, b.f);
        return binary_int(in, e, a.i, b.i);
    }
    case LE_SELECT: return eval(in, e->a).i ? eval(in, e->b) : eval(in, e->c);
    case LE_CAST: return cast(e, eval(in, e->a));
    case LE_DIM: break;     /* known at run time only */
    }
    in->failed = true;
    return r;
}

static void exec(Interp *in, const LStmt *s)
{
    if (in->failed)
        return;
    switch (s->kind) {
    case LS_BLOCK:
        for (int i = 0; i < s->n && !in->failed; i++)
            exec(in, s->body[i]);
        break;
    case LS_FOR:
        if (s->run_extent) {    /* known at run time only */
            in->failed = true;
            break;
        }
        for (int64_t v = 0; v < s->extent && !in->failed; v++) {
            in->vars[s->var].i = v;
            for (int i = 0; i < s->n; i++)
                exec(in, s->body[i]);
        }
        break;
    case LS_STORE: store(in, s->buf, eval(in, s->idx).i, eval(in, s->e)); break;
    case LS_ASSIGN: in->vars[s->var] = eval(in, s->e); break;
    case LS_IF:
        if (eval(in, s->e).i)
            for (int i = 0; i < s->n; i++)
                exec(in, s->body[i]);
        else
            for (int i = 0; i < s->nels; i++)
                exec(in, s->els[i]);
        break;
    case LS_KERNEL:
    case LS_CALL:
        /* Heavy kernels are not folded: their nodes run at run time. */
        in->failed = true;
        break;
    }
}

static bool has_call(const LStmt *s)
{
    if (s->kind == LS_CALL || s->kind == LS_KERNEL)
        return true;
    for (int i = 0; i < s->n; i++)
        if (has_call(s->body[i]))
            return true;
    for (int i = 0; i < s->nels; i++)
        if (has_call(s->els[i]))
            return true;
    return false;
}

bool lk_interpret(LKernel *k)
{
    if (has_call(k->root))
        return false;
    Interp in = {k, calloc((size_t)k->nvars + 1, sizeof(Scalar)), false};
    if (!in.vars)
        return false;
    exec(&in, k->root);
    free(in.vars);
    return !in.failed;
}
