/* Facts about element types, in one table. */
#include "ir.h"

typedef struct {
    const char *name;
    const char *ctype;
    size_t size;
} DTypeInfo;

static const DTypeInfo dtype_info[] = {
    [DT_FLOAT] = {"float32", "float", 4},
    [DT_UINT8] = {"uint8", "uint8_t", 1},
    [DT_INT8] = {"int8", "int8_t", 1},
    [DT_UINT16] = {"uint16", "uint16_t", 2},
    [DT_INT16] = {"int16", "int16_t", 2},
    [DT_INT32] = {"int32", "int32_t", 4},
    [DT_INT64] = {"int64", "int64_t", 8},
    [DT_STRING] = {"string", NULL, 0},
    [DT_BOOL] = {"bool", "uint8_t", 1},
    [DT_FLOAT16] = {"float16", "uint16_t", 2},
    [DT_DOUBLE] = {"float64", "double", 8},
    [DT_UINT32] = {"uint32", "uint32_t", 4},
    [DT_UINT64] = {"uint64", "uint64_t", 8},
    [DT_BFLOAT16] = {"bfloat16", "uint16_t", 2},
    /* Known to ONNX, not handled by dlc: named in diagnostics only. */
    [DT_STRING + 9] = {"float8e4m3fn", NULL, 0},
    [DT_STRING + 10] = {"float8e4m3fnuz", NULL, 0},
    [DT_STRING + 11] = {"float8e5m2", NULL, 0},
    [DT_STRING + 12] = {"float8e5m2fnuz", NULL, 0},
    [DT_STRING + 13] = {"uint4", NULL, 0},
    [DT_STRING + 14] = {"int4", NULL, 0},
    [DT_STRING + 15] = {"float4e2m1", NULL, 0},
    [DT_STRING + 16] = {"float8e8m0", NULL, 0},
    [DT_STRING + 17] = {"uint2", NULL, 0},
    [DT_STRING + 18] = {"int2", NULL, 0},
    [14] = {"complex64", NULL, 0},
    [15] = {"complex128", NULL, 0},
};

static const DTypeInfo *info(DType t)
{
    if ((unsigned)t >= sizeof dtype_info / sizeof dtype_info[0])
        return NULL;
    return dtype_info[t].name ? &dtype_info[t] : NULL;
}

static const DTypeInfo *info_sized(DType t)
{
    const DTypeInfo *i = info(t);
    return i && i->size ? i : NULL;
}

size_t ir_dtype_size(DType t)
{
    const DTypeInfo *i = info_sized(t);
    return i ? i->size : 0;
}

const char *ir_dtype_name(DType t)
{
    const DTypeInfo *i = info(t);
    return i ? i->name : "unknown-dtype";
}

const char *ir_dtype_ctype(DType t)
{
    const DTypeInfo *i = info(t);
    return i && i->ctype ? i->ctype : "void";
}

bool ir_dtype_supported(DType t)
{
    return ir_dtype_size(t) != 0;
}

bool ir_dtype_is_float(DType t)
{
    return t == DT_FLOAT || t == DT_DOUBLE || t == DT_FLOAT16 || t == DT_BFLOAT16;
}

bool ir_dtype_is_signed_int(DType t)
{
    return t == DT_INT8 || t == DT_INT16 || t == DT_INT32 || t == DT_INT64;
}

bool ir_dtype_is_unsigned(DType t)
{
    return t == DT_UINT8 || t == DT_UINT16 || t == DT_UINT32 || t == DT_UINT64 ||
           t == DT_BOOL;
}
