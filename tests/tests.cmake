# Test registration; scripts/test.sh runs the suite through ctest.
# Labels: "unit", "asan" (also run in the sanitizer build), "slow".
set(PY ${CMAKE_SOURCE_DIR}/.venv/bin/python)
# Conformance cases the clang build runs: a few per family.
set(CONFORMANCE_CLANG_FILTER "^(node/test_(add|sub|mul|div|pow|relu|sigmoid|clip|cast|where|equal|conv|gemm|matmul|maxpool|averagepool|globalaveragepool|reduce_mean|reduce_sum|argmax|softmax|logsoftmax|concat|transpose|gather|slice|split|pad|reshape|flatten|squeeze|unsqueeze|expand|tile|shape|constantofshape|batchnorm|instancenorm|lrn|layer_normalization|resize|upsample|if|loop|scan9|lstm|gru|simple_rnn)|simple/|pytorch-operator/)")

file(GLOB UNIT_TESTS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/unit/test_*.c)
foreach(src IN LISTS UNIT_TESTS)
  get_filename_component(name ${src} NAME_WE)
  add_executable(${name} ${src})
  target_compile_options(${name} PRIVATE ${DLC_WARNINGS})
  target_link_libraries(${name} PRIVATE dlc_core)
  add_test(NAME unit/${name} COMMAND ${name})
  set_tests_properties(unit/${name} PROPERTIES LABELS "unit;asan")
endforeach()
# The scan for op names in passes/ and codegen/ reads the source tree.
target_compile_definitions(test_seams PRIVATE DLC_SOURCE_DIR="${CMAKE_SOURCE_DIR}")

# The runtime's SIMD and OpenMP paths: the default build compiles the
# kernels for the baseline target only, so the runtime unit tests run again
# with the kernels built for AVX2+FMA and AVX-512 (each with OpenMP when the
# compiler has it; only where the host CPU runs them) and for the portable
# fallback (-DRT_NO_SIMD).
include(CheckCSourceRuns)
find_package(OpenMP COMPONENTS C QUIET)
set(RT_VARIANT_TESTS test_rt_gemm test_rt_gemm_ep test_rt_epilogue test_rt_conv test_rt_conv_fused
    test_rt_winograd test_rt_attention test_rt_pool test_rt_depthwise test_rt_conv_transpose
    test_rt_resize test_rt_rnn)
set(RT_VARIANT_SOURCES ${CMAKE_SOURCE_DIR}/runtime/gemm.c ${CMAKE_SOURCE_DIR}/runtime/epilogue.c
    ${CMAKE_SOURCE_DIR}/runtime/conv.c ${CMAKE_SOURCE_DIR}/runtime/conv_small.c
    ${CMAKE_SOURCE_DIR}/runtime/depthwise.c
    ${CMAKE_SOURCE_DIR}/runtime/winograd.c ${CMAKE_SOURCE_DIR}/runtime/attention.c
    ${CMAKE_SOURCE_DIR}/runtime/softmax.c
    ${CMAKE_SOURCE_DIR}/runtime/pool.c ${CMAKE_SOURCE_DIR}/runtime/conv_transpose.c
    ${CMAKE_SOURCE_DIR}/runtime/resize.c ${CMAKE_SOURCE_DIR}/runtime/rnn.c)
set(CMAKE_REQUIRED_FLAGS "-mavx2 -mfma")
check_c_source_runs("int main(void){return !(__builtin_cpu_supports(\"avx2\") && __builtin_cpu_supports(\"fma\"));}" DLC_HOST_AVX2)
set(CMAKE_REQUIRED_FLAGS "-mavx512f")
check_c_source_runs("int main(void){return !__builtin_cpu_supports(\"avx512f\");}" DLC_HOST_AVX512)
unset(CMAKE_REQUIRED_FLAGS)
set(RT_VARIANTS nosimd)
set(RT_VARIANT_FLAGS_nosimd -DRT_NO_SIMD)
if(DLC_HOST_AVX2)
  list(APPEND RT_VARIANTS avx2)
  set(RT_VARIANT_FLAGS_avx2 -mavx2 -mfma)
endif()
if(DLC_HOST_AVX512)
  list(APPEND RT_VARIANTS avx512)
  set(RT_VARIANT_FLAGS_avx512 -mavx512f)
endif()
# runtime/vmath.c again as generated code is built (cc -O3 -march=native):
# vectorised loops, FMA contraction, AVX2 where the host has it.
set(VMATH_O3_FLAGS -O3 -ffp-contract=fast)
if(DLC_HOST_AVX2)
  list(APPEND VMATH_O3_FLAGS -mavx2 -mfma)
endif()
add_executable(test_vmath_o3 ${CMAKE_SOURCE_DIR}/tests/unit/test_vmath.c)
target_compile_options(test_vmath_o3 PRIVATE ${DLC_WARNINGS} ${VMATH_O3_FLAGS})
target_link_libraries(test_vmath_o3 PRIVATE m)
add_test(NAME unit/test_vmath_o3 COMMAND test_vmath_o3)
set_tests_properties(unit/test_vmath_o3 PROPERTIES LABELS "unit;asan")
foreach(variant IN LISTS RT_VARIANTS)
  foreach(name IN LISTS RT_VARIANT_TESTS)
    add_executable(${name}_${variant} ${CMAKE_SOURCE_DIR}/tests/unit/${name}.c ${RT_VARIANT_SOURCES})
    target_compile_options(${name}_${variant} PRIVATE ${DLC_WARNINGS} ${RT_VARIANT_FLAGS_${variant}})
    target_link_libraries(${name}_${variant} PRIVATE m)
    if(OpenMP_C_FOUND AND NOT variant STREQUAL "nosimd")
      target_link_libraries(${name}_${variant} PRIVATE OpenMP::OpenMP_C)
    endif()
    add_test(NAME unit/${name}_${variant} COMMAND ${name}_${variant})
    set_tests_properties(unit/${name}_${variant} PROPERTIES LABELS "unit;asan")
  endforeach()
endforeach()

# Generated code is built with sanitizers too in the sanitizer build.
# -O1 for the models, which do real arithmetic; -O0 for the conformance
# cases, tiny graphs where compiling is the cost (half that of -O1).
if(DLC_SANITIZE)
  set(SANITIZE_CFLAGS "-fsanitize=address,undefined -fno-sanitize-recover=all -g")
  set(CHECK_ENV "DLC_CHECK_CFLAGS=${SANITIZE_CFLAGS} -O1" "ASAN_OPTIONS=detect_leaks=1")
  set(CONFORMANCE_CHECK_ENV "DLC_CHECK_CFLAGS=${SANITIZE_CFLAGS} -O0" "ASAN_OPTIONS=detect_leaks=1")
else()
  set(CHECK_ENV "DLC_CHECK_CFLAGS=")
endif()

add_test(NAME cli
  COMMAND ${PY} ${CMAKE_SOURCE_DIR}/tests/cli/run.py --dlc $<TARGET_FILE:dlc>
          --work ${CMAKE_BINARY_DIR}/cli)
set_tests_properties(cli PROPERTIES LABELS "asan" ENVIRONMENT "${CHECK_ENV}")

add_test(NAME bad_inputs
  COMMAND ${PY} ${CMAKE_SOURCE_DIR}/tests/bad_inputs/run.py --dlc $<TARGET_FILE:dlc>
          --work ${CMAKE_BINARY_DIR}/bad_inputs)
set_tests_properties(bad_inputs PROPERTIES LABELS "asan" ENVIRONMENT "${CHECK_ENV}")

# Sum/Mean/Max/Min over 2, 17 and 64 inputs, run and folded, against ONNX
# Runtime (a lowering once kept 16 input slots and overran them).
add_test(NAME models/variadic
  COMMAND ${PY} ${CMAKE_SOURCE_DIR}/tests/models/variadic.py --dlc $<TARGET_FILE:dlc>
          --work ${CMAKE_BINARY_DIR}/models-variadic)
set_tests_properties(models/variadic PROPERTIES LABELS "asan" ENVIRONMENT "${CHECK_ENV}"
                     TIMEOUT 900)

# Concat inputs written into their slices, Split pieces as views of the
# input (passes/plan_memory.c), against ONNX Runtime.
add_test(NAME models/slices
  COMMAND ${PY} ${CMAKE_SOURCE_DIR}/tests/models/slices.py --dlc $<TARGET_FILE:dlc>
          --work ${CMAKE_BINARY_DIR}/models-slices)
set_tests_properties(models/slices PROPERTIES LABELS "asan" ENVIRONMENT "${CHECK_ENV}"
                     TIMEOUT 600)

# Transposes on the blocked kernel (runtime/transpose.c), portable, AVX2 and
# native builds of the generated code, exact against ONNX Runtime.
add_test(NAME models/transposes
  COMMAND ${PY} ${CMAKE_SOURCE_DIR}/tests/models/transposes.py --dlc $<TARGET_FILE:dlc>
          --work ${CMAKE_BINARY_DIR}/models-transposes)
set_tests_properties(models/transposes PROPERTIES LABELS "asan" ENVIRONMENT "${CHECK_ENV}"
                     TIMEOUT 600)

# A test script run on dlc: SCRIPT --dlc DLC --work BUILD/WORK [ARGS...],
# with a time limit.
function(dlc_script_test name script work timeout)
  add_test(NAME ${name}
    COMMAND ${PY} ${CMAKE_SOURCE_DIR}/${script} --dlc $<TARGET_FILE:dlc>
            --work ${CMAKE_BINARY_DIR}/${work} ${ARGN})
  set_tests_properties(${name} PROPERTIES TIMEOUT ${timeout})
endfunction()


# The model tests that go through `dlc check`: in the release build as
# they are; in the sanitizer build too, with the generated code built with
# ASan and UBSan (CHECK_ENV), so every model in tests/models runs sanitized.
function(dlc_model_test name script work timeout)
  dlc_script_test(${name} ${script} ${work} ${timeout} ${ARGN})
  if(DLC_SANITIZE)
    set_tests_properties(${name} PROPERTIES LABELS "asan" ENVIRONMENT "${CHECK_ENV}")
  endif()
endfunction()

dlc_model_test(models tests/models/run.py models 2400)

# dlc installed as a package: an out-of-tree project with find_package(dlc)
# and dlc_add_model, and the pkg-config file (tests/package/run.py).
dlc_script_test(package tests/package/run.py package 600 --build ${CMAKE_BINARY_DIR})

# The Python package: pip install ., dlc.compile, the ONNX backend
# (tests/python/package.py).
dlc_script_test(python/package tests/python/package.py python-package 1200)

# The generated code cross-compiled for AArch64 (Debian's gcc) and run
# under qemu-aarch64: the model scripts above with CC / DLC_CHECK_RUNNER.
dlc_script_test(cross/aarch64 tests/cross/aarch64.py cross-aarch64 1200)

# Each epilogue pattern fuses and matches ONNX Runtime.
dlc_model_test(models/epilogue tests/models/epilogue.py models-epilogue 1200 --require-fused)

# Attention fusion: each variant fuses (or must not) and matches ONNX Runtime.
dlc_model_test(models/attention tests/models/attention.py models-attention 1200)

# Pooling edge cases (NaN, infinities, signed zeros, borders) vs a float64 reference.
dlc_model_test(models/pool tests/models/pool.py models-pool 600)

# Resize / Upsample in small real graphs (shape chains, a detector neck,
# every mode) against ONNX Runtime.
dlc_model_test(models/resize tests/models/resize.py models-resize 900)

# Real exported networks: the torch.onnx exports in tests/models/shipped
# (detector, text detector, recogniser, VAD with If + LSTM state, GRU,
# Loop), several input sizes each, and the pretrained ONNX files that PyPI
# packages ship (Silero VAD, RapidOCR PP-OCRv4, Magika), against ONNX Runtime.
dlc_model_test(models/shipped tests/models/shipped.py models-shipped 1800)
dlc_model_test(models/pretrained tests/models/pretrained.py models-pretrained 1800)
# Run-time dims: the recogniser, the text detector, the detector's batch,
# the encoder's token count and the classifier's image size, each compiled
# once with a range and checked at three sizes; the run function's status
# codes past the range; a refused reshape.
dlc_model_test(models/runtime_dims tests/models/runtime_dims.py models-runtime-dims 1800)

# Softplus, Mish and Swish at extreme inputs (overflow, underflow, +-inf,
# NaN) and on constants folded by ir/interp.c, against ONNX Runtime.
dlc_model_test(models/activations tests/models/activations.py models-activations 600)

# RNN / GRU / LSTM graphs (a BiLSTM tagger, GRU stacks, state in/out,
# layout 1, sequence_lens, every activation) against ONNX Runtime.
dlc_model_test(models/rnn tests/models/rnn.py models-rnn 600)

# GELU chains in exporters' spellings, rewritten by passes/fuse_gelu.c,
# against the exact formula in double.
dlc_model_test(models/gelu tests/models/gelu.py models-gelu 600)
# Gathers from elementwise-computed tables, moved before them by
# passes/gather_first.c, against ONNX Runtime
dlc_model_test(models/gather_first tests/models/gather_first.py models-gather-first 600)
# Shape-computing chains as exporters write them, --freeze, TopK and
# Einsum (GEMM and loop paths) against ONNX Runtime.
dlc_model_test(models/shape_ops tests/models/shape_ops.py models-shape-ops 600)
# Gemm/MatMul shapes (transposes, M/N/K of 1, broadcast batches, bias forms,
# fused epilogues) against float64 NumPy, on each backend.
dlc_model_test(models/products tests/models/products.py models-products 600)

# Integer arithmetic at the edges (wrap-around, INT_MIN / -1, division by
# zero; run, folded and by a literal divisor) against exact integers that
# must equal ONNX Runtime wherever it computes exactly.
dlc_model_test(models/int_edges tests/models/int_edges.py models-int-edges 600)

# If, Loop and Scan (run-time and folded conditions, nested scopes, run-time
# trip counts with early exit and the loop-bound status) against ONNX Runtime.
add_test(NAME models/control_flow
  COMMAND ${PY} ${CMAKE_SOURCE_DIR}/tests/models/control_flow.py --dlc $<TARGET_FILE:dlc>
          --work ${CMAKE_BINARY_DIR}/models-control-flow)
set_tests_properties(models/control_flow PROPERTIES LABELS "asan" ENVIRONMENT "${CHECK_ENV}"
                     TIMEOUT 600)

# ONNX backend test data, materialised once from the pinned onnx wheel.
set(ONNX_DATA ${CMAKE_BINARY_DIR}/onnx-data)
add_test(NAME conformance/data COMMAND ${PY} ${CMAKE_SOURCE_DIR}/tests/conformance/gen_data.py ${ONNX_DATA})
set_tests_properties(conformance/data PROPERTIES FIXTURES_SETUP onnx_data LABELS "asan")

# libFuzzer smoke (tests/fuzz/run.py): builds the fuzz targets with clang
# (ASan + UBSan) in BUILD/fuzz/build and runs each for 45 s on a seed corpus
# (bad inputs, tests/models, past findings, conformance models); skipped,
# with the reason, where clang cannot link libFuzzer. Not in the sanitizer
# build: the targets carry their own sanitizers.
if(NOT DLC_SANITIZE AND NOT DLC_FUZZ)
  add_test(NAME fuzz/smoke
    COMMAND ${PY} ${CMAKE_SOURCE_DIR}/tests/fuzz/run.py --work ${CMAKE_BINARY_DIR}/fuzz
            --seconds 45 --seed 1 --onnx-data ${ONNX_DATA})
  set_tests_properties(fuzz/smoke PROPERTIES LABELS "fuzz" SKIP_RETURN_CODE 77 TIMEOUT 1800
                       FIXTURES_REQUIRED onnx_data)
endif()

if(DLC_SANITIZE)
  # Every case of the passing list, dlc and the generated code both under
  # ASan and UBSan (about 4 minutes on 2 cores).
  add_test(NAME conformance/asan
    COMMAND ${PY} ${CMAKE_SOURCE_DIR}/tests/conformance/run.py --dlc $<TARGET_FILE:dlc>
            --data ${ONNX_DATA} --report ${CMAKE_BINARY_DIR}/conformance-asan
            --passing ${CMAKE_SOURCE_DIR}/tests/conformance/passing.txt --check-regressions)
  set_tests_properties(conformance/asan PROPERTIES FIXTURES_REQUIRED onnx_data
                       LABELS "asan" ENVIRONMENT "${CONFORMANCE_CHECK_ENV}" TIMEOUT 2400)
else()
  add_test(NAME conformance/all
    COMMAND ${PY} ${CMAKE_SOURCE_DIR}/tests/conformance/run.py --dlc $<TARGET_FILE:dlc>
            --data ${ONNX_DATA} --report ${CMAKE_BINARY_DIR}/conformance
            --passing ${CMAKE_SOURCE_DIR}/tests/conformance/passing.txt --check-regressions)
  set_tests_properties(conformance/all PROPERTIES FIXTURES_REQUIRED onnx_data TIMEOUT 2400)

  # The same generated code must also build warning-free with clang.
  add_test(NAME conformance/clang
    COMMAND ${PY} ${CMAKE_SOURCE_DIR}/tests/conformance/run.py --dlc $<TARGET_FILE:dlc>
            --data ${ONNX_DATA} --report ${CMAKE_BINARY_DIR}/conformance-clang
            --passing ${CMAKE_SOURCE_DIR}/tests/conformance/passing.txt --check-regressions
            --filter "${CONFORMANCE_CLANG_FILTER}")
  set_tests_properties(conformance/clang PROPERTIES FIXTURES_REQUIRED onnx_data
                       ENVIRONMENT "CC=clang" TIMEOUT 1200)


  # bench/nodes.py (dlc's profile beside ONNX Runtime's, per original node)
  # on a small network: the table, positive times on both sides, every
  # kernel and ORT node mapped onto the model's nodes.
  dlc_script_test(bench/nodes tests/bench/nodes.py bench-nodes 600)

  # No kernel taking over 5 % of a model's time runs as a scalar loop (gcc's
  # vectoriser report on the profiled code): the benchmark networks that need
  # no torch, the exported ones in tests/models/shipped, the pretrained files.
  dlc_script_test(bench/scalar_fallback tests/bench/scalar_fallback.py bench-scalar 1800)

  # valgrind memcheck (leaks included) on the generated code of the eight
  # benchmark networks bench/models writes without torch, full size, built
  # -O1 -g, one inference each on one thread, outputs against ONNX Runtime;
  # two models at a time. About 7 minutes on 2 cores (DB-ResNet18 at 640x640
  # takes 4 of them); skipped where valgrind is missing.
  add_test(NAME bench/valgrind
    COMMAND ${PY} ${CMAKE_SOURCE_DIR}/tests/bench/valgrind.py --dlc $<TARGET_FILE:dlc>
            --work ${CMAKE_BINARY_DIR}/bench-valgrind --jobs 2)
  set_tests_properties(bench/valgrind PROPERTIES LABELS "valgrind" SKIP_RETURN_CODE 77
                       TIMEOUT 2400)

  # Loop-level OpenMP: the same source with and without -fopenmp, gcc and clang.
  dlc_script_test(models/threads tests/models/threads.py models-threads 1200 --cc gcc clang)

  # Run to run: a conv net, a transformer encoder, conv + BiLSTM and an
  # If + LSTM model, built once with OpenMP, called 3 times in each of 3
  # processes at 1 and at 2 threads with the workspace and outputs refilled
  # between calls: every call's output bytes must be the same.
  dlc_script_test(models/repeat tests/models/repeat.py models-repeat 600)

  # --blas openblas (float MatMul/Gemm on cblas_sgemm): the products, the MLP
  # and attention models against ONNX Runtime (run.py's tolerances; the
  # generated code must call OpenBLAS), and every Gemm/MatMul conformance case
  # through a dlc that adds --blas openblas. Only where OpenBLAS is installed
  # (scripts/setup.sh).
  find_library(DLC_OPENBLAS_LIB openblas)
  if(DLC_OPENBLAS_LIB)
    dlc_script_test(models/products-openblas tests/models/products.py models-products-openblas
                    600 --blas openblas)
    add_test(NAME models/openblas
      COMMAND ${PY} ${CMAKE_SOURCE_DIR}/tests/models/run.py --dlc $<TARGET_FILE:dlc>
              --work ${CMAKE_BINARY_DIR}/models-openblas --only mlp attention --blas openblas)
    set_tests_properties(models/openblas PROPERTIES TIMEOUT 600
                         ENVIRONMENT "DLC_CHECK_CFLAGS=-O3 -march=native")
    add_test(NAME conformance/openblas
      COMMAND ${PY} ${CMAKE_SOURCE_DIR}/tests/conformance/run.py
              --dlc ${CMAKE_SOURCE_DIR}/tests/models/dlc_blas.sh
              --data ${ONNX_DATA} --report ${CMAKE_BINARY_DIR}/conformance-openblas
              --passing ${CMAKE_SOURCE_DIR}/tests/conformance/passing.txt --check-regressions
              --filter "node/test_(gemm|matmul)|pytorch-converted/test_(Linear|Bilinear)|pytorch-operator/test_operator_(mm|addmm|matmul)")
    set_tests_properties(conformance/openblas PROPERTIES FIXTURES_REQUIRED onnx_data
                         TIMEOUT 600 ENVIRONMENT "DLC=$<TARGET_FILE:dlc>")
  endif()

  # The same models with the host's SIMD paths (dlc check builds with plain
  # -O2, i.e. the portable fallbacks, by default).
  add_test(NAME models/native
    COMMAND ${PY} ${CMAKE_SOURCE_DIR}/tests/models/run.py --dlc $<TARGET_FILE:dlc>
            --work ${CMAKE_BINARY_DIR}/models-native)
  set_tests_properties(models/native PROPERTIES TIMEOUT 2400
                       ENVIRONMENT "DLC_CHECK_CFLAGS=-O3 -march=native")

  add_test(NAME example/digits
    COMMAND bash ${CMAKE_SOURCE_DIR}/examples/digits/run.sh ${PY} $<TARGET_FILE:dlc>)
endif()

# A ResNet-50-sized model (~100 MB of weights) must go through dlc and
# cc -O2 -c well under a minute with bounded memory.
if(NOT DLC_SANITIZE)
  add_test(NAME models/compile-cost
    COMMAND sh -c "${PY} ${CMAKE_SOURCE_DIR}/bench/models/make.py ${CMAKE_BINARY_DIR}/bench-models --only resnet50 >/dev/null && ${PY} ${CMAKE_SOURCE_DIR}/tests/tools/compile_cost.py ${CMAKE_BINARY_DIR}/bench-models/resnet50.onnx --dlc $<TARGET_FILE:dlc> --work ${CMAKE_BINARY_DIR}/compile-cost --max-seconds 60 --max-mb 4096")
  set_tests_properties(models/compile-cost PROPERTIES TIMEOUT 600)
endif()
