/* Runtime sources embedded in dlc at build time (see CMakeLists.txt). */
#ifndef DLC_RUNTIME_UNITS_H
#define DLC_RUNTIME_UNITS_H

typedef struct {
    const char *name;       /* file name without .c/.h: "gemm", "conv", "rt_common" */
    const char *text;
} RuntimeUnit;

extern const RuntimeUnit cg_runtime_units[];
extern const int cg_runtime_unit_count;

#endif
