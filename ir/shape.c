/* Shape arithmetic; every product is overflow-checked. */
#include "ir.h"

#include <string.h>

bool ir_mul_ok(int64_t a, int64_t b, int64_t *out)
{
    return !__builtin_mul_overflow(a, b, out);
}

bool ir_add_ok(int64_t a, int64_t b, int64_t *out)
{
    return !__builtin_add_overflow(a, b, out);
}

bool ir_shape_known(const Shape *s)
{
    for (int i = 0; i < s->rank; i++)
        if (s->dim[i] < 0)
            return false;
    return true;
}

bool ir_shape_numel(const Shape *s, int64_t *numel)
{
    /* The product of the non-zero dims must fit too: strides and partial
     * products of an empty [0, 4, 2^63-1] still overflow. */
    int64_t n = 1, nz = 1;
    for (int i = 0; i < s->rank; i++)
        if (s->dim[i] < 0 || !ir_mul_ok(n, s->dim[i], &n) ||
            !ir_mul_ok(nz, s->dim[i] ? s->dim[i] : 1, &nz))
            return false;
    *numel = n;
    return true;
}

bool ir_shape_equal(const Shape *a, const Shape *b)
{
    if (a->rank != b->rank)
        return false;
    for (int i = 0; i < a->rank; i++)
        if (a->dim[i] != b->dim[i])
            return false;
    return true;
}

char *ir_join_dims(Arena *a, int rank, const char *const *parts)
{
    char buf[1024];
    size_t len = 0;
    buf[len++] = '[';
    for (int i = 0; i < rank; i++) {
        int n = snprintf(buf + len, sizeof buf - len, "%s%s", i ? "," : "", parts[i]);
        if (n < 0 || (size_t)n >= sizeof buf - len)
            break;
        len += (size_t)n;
    }
    if (len < sizeof buf - 1)
        buf[len++] = ']';
    buf[len] = 0;
    return ir_strdup(a, buf);
}

char *ir_shape_str(Arena *a, const Shape *s)
{
    char nums[IR_MAX_RANK][24];
    const char *parts[IR_MAX_RANK];
    for (int i = 0; i < s->rank; i++) {
        snprintf(nums[i], sizeof nums[i], "%lld", (long long)s->dim[i]);
        parts[i] = s->dim[i] >= 0 ? nums[i] : s->sym[i] ? s->sym[i] : "?";
    }
    return ir_join_dims(a, s->rank, parts);
}

bool ir_broadcast(const Shape *a, const Shape *b, Shape *out)
{
    int r = a->rank > b->rank ? a->rank : b->rank;
    Shape s;
    memset(&s, 0, sizeof s);
    s.rank = r;
    for (int i = 0; i < r; i++) {
        int ia = i - (r - a->rank), ib = i - (r - b->rank);
        int64_t da = ia >= 0 ? a->dim[ia] : 1;
        int64_t db = ib >= 0 ? b->dim[ib] : 1;
        if (da == db || db == 1)
            s.dim[i] = da;
        else if (da == 1)
            s.dim[i] = db;
        else
            return false;
    }
    *out = s;
    return true;
}

void ir_strides(const Shape *s, int64_t *strides)
{
    int64_t st = 1;
    for (int i = s->rank - 1; i >= 0; i--) {
        strides[i] = st;
        st *= s->dim[i] > 0 ? s->dim[i] : 1;
    }
}
