/* TensorProto -> constant data: typed fields, raw_data and external files.
 * Sizes are checked before anything is allocated. */
#include "frontend_internal.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Number of elements a typed repeated field must hold for `numel` values. */
static bool typed_source(const Onnx__TensorProto *t, DType dt, size_t *count)
{
    switch (dt) {
    case DT_FLOAT: *count = t->n_float_data; return t->n_float_data > 0;
    case DT_DOUBLE: *count = t->n_double_data; return t->n_double_data > 0;
    case DT_INT64: *count = t->n_int64_data; return t->n_int64_data > 0;
    case DT_UINT32:
    case DT_UINT64: *count = t->n_uint64_data; return t->n_uint64_data > 0;
    default: *count = t->n_int32_data; return t->n_int32_data > 0;
    }
}

static void copy_typed(const Onnx__TensorProto *t, DType dt, void *dst, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        switch (dt) {
        case DT_FLOAT: ((float *)dst)[i] = t->float_data[i]; break;
        case DT_DOUBLE: ((double *)dst)[i] = t->double_data[i]; break;
        case DT_INT64: ((int64_t *)dst)[i] = t->int64_data[i]; break;
        case DT_UINT32: ((uint32_t *)dst)[i] = (uint32_t)t->uint64_data[i]; break;
        case DT_UINT64: ((uint64_t *)dst)[i] = t->uint64_data[i]; break;
        case DT_INT32: ((int32_t *)dst)[i] = t->int32_data[i]; break;
        case DT_INT16: ((int16_t *)dst)[i] = (int16_t)t->int32_data[i]; break;
        case DT_UINT16:
        case DT_FLOAT16:
        case DT_BFLOAT16: ((uint16_t *)dst)[i] = (uint16_t)t->int32_data[i]; break;
        case DT_INT8: ((int8_t *)dst)[i] = (int8_t)t->int32_data[i]; break;
        case DT_UINT8: ((uint8_t *)dst)[i] = (uint8_t)t->int32_data[i]; break;
        case DT_BOOL: ((uint8_t *)dst)[i] = t->int32_data[i] != 0; break;
        default: break;
        }
    }
}

static const char *ext_key(const Onnx__TensorProto *t, const char *key)
{
    for (size_t i = 0; i < t->n_external_data; i++) {
        const Onnx__StringStringEntryProto *e = t->external_data[i];
        if (e && e->key && strcmp(e->key, key) == 0)
            return e->value ? e->value : "";
    }
    return NULL;
}

static bool parse_u64(const char *s, uint64_t *out)
{
    if (!s || !*s || *s == '-')
        return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end)
        return false;
    *out = v;
    return true;
}

/* Reads external data, confined to the model's folder, into v->data:
 * allocated only once the file is known to hold the bytes, so a small
 * model cannot make dlc allocate more than its external data files hold. */
static bool load_external(FeCtx *c, const Onnx__TensorProto *t, const char *what,
                          Value *v, size_t bytes)
{
    const char *loc = ext_key(t, "location");
    if (!loc || !*loc) {
        fe_error(c, "%s: external data without a location", what);
        return false;
    }
    if (loc[0] == '/' || strstr(loc, "..") || strchr(loc, '\\')) {
        fe_error(c, "%s: external data location '%s' escapes the model's folder", what, loc);
        return false;
    }
    uint64_t offset = 0, length = bytes;
    const char *s_off = ext_key(t, "offset"), *s_len = ext_key(t, "length");
    if ((s_off && !parse_u64(s_off, &offset)) || (s_len && !parse_u64(s_len, &length))) {
        fe_error(c, "%s: bad external data offset or length", what);
        return false;
    }
    if (length != bytes) {
        fe_error(c, "%s: external data length %llu does not match %zu bytes of dims",
                 what, (unsigned long long)length, bytes);
        return false;
    }
    char path[PATH_MAX], real[PATH_MAX];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", c->dir, loc) >= sizeof path) {
        fe_error(c, "%s: external data path too long", what);
        return false;
    }
    /* A symlink could still lead outside: compare resolved paths. */
    if (!realpath(path, real) || strncmp(real, c->realdir, strlen(c->realdir)) != 0 ||
        real[strlen(c->realdir)] != '/') {
        fe_error(c, "%s: external data file '%s' is missing or outside the model's folder",
                 what, loc);
        return false;
    }
    FILE *f = fopen(real, "rb");
    struct stat st;
    if (!f || fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        if (f)
            fclose(f);
        fe_error(c, "%s: cannot read external data file '%s'", what, loc);
        return false;
    }
    if (offset > (uint64_t)st.st_size || length > (uint64_t)st.st_size - offset) {
        fclose(f);
        fe_error(c, "%s: external data range [%llu, +%llu) is beyond the end of '%s' (%lld bytes)",
                 what, (unsigned long long)offset, (unsigned long long)length, loc,
                 (long long)st.st_size);
        return false;
    }
    v->data = ir_alloc(c->g->arena, bytes ? bytes : 1);
    bool ok = fseeko(f, (off_t)offset, SEEK_SET) == 0 && fread(v->data, 1, bytes, f) == bytes;
    fclose(f);
    if (!ok)
        fe_error(c, "%s: short read from external data file '%s'", what, loc);
    return ok;
}

bool fe_tensor(FeCtx *c, const Onnx__TensorProto *t, Value *v, const char *what)
{
    DType dt = t->has_data_type ? (DType)t->data_type : DT_UNDEF;
    if (!ir_dtype_supported(dt)) {
        fe_error(c, "%s: unsupported tensor dtype %d (%s)", what, (int)dt, ir_dtype_name(dt));
        return false;
    }
    if (t->n_dims > IR_MAX_RANK) {
        fe_error(c, "%s: unsupported rank %zu (at most %d)", what, t->n_dims, IR_MAX_RANK);
        return false;
    }
    if (t->segment) {
        fe_error(c, "%s: unsupported segmented tensor", what);
        return false;
    }
    v->dtype = dt;
    v->has_type = true;
    v->shape.rank = (int)t->n_dims;
    for (size_t i = 0; i < t->n_dims; i++) {
        if (t->dims[i] < 0) {
            fe_error(c, "%s: negative dim %lld", what, (long long)t->dims[i]);
            return false;
        }
        v->shape.dim[i] = t->dims[i];
    }
    int64_t numel, bytes;
    if (!ir_shape_numel(&v->shape, &numel) ||
        !ir_mul_ok(numel, (int64_t)ir_dtype_size(dt), &bytes) || bytes > FE_MAX_TENSOR_BYTES) {
        fe_error(c, "%s: dims %s are too large", what, ir_shape_str(c->g->arena, &v->shape));
        return false;
    }
    bool external = t->has_data_location &&
                    t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    size_t count = 0;
    bool typed = typed_source(t, dt, &count);
    /* Check the source size before allocating, so a lying header costs nothing. */
    if (!external) {
        if (t->has_raw_data && t->raw_data.len != (size_t)bytes) {
            fe_error(c, "%s: raw_data holds %zu bytes but dims %s of %s need %lld", what,
                     t->raw_data.len, ir_shape_str(c->g->arena, &v->shape), ir_dtype_name(dt),
                     (long long)bytes);
            return false;
        }
        if (!t->has_raw_data && count != (size_t)numel) {
            fe_error(c, "%s: holds %zu values but dims %s need %lld", what, count,
                     ir_shape_str(c->g->arena, &v->shape), (long long)numel);
            return false;
        }
    }
    if (external) {
        bool ok = load_external(c, t, what, v, (size_t)bytes);
        if (!v->data)   /* still a constant, for the reader's checks; the model is refused */
            v->data = ir_alloc(c->g->arena, 1);
        return ok;
    }
    v->data = ir_alloc(c->g->arena, (size_t)bytes ? (size_t)bytes : 1);
    if (t->has_raw_data && bytes)   /* empty raw_data may be a NULL pointer */
        memcpy(v->data, t->raw_data.data, (size_t)bytes);
    else if (typed)
        copy_typed(t, dt, v->data, numel);
    return true;
}
