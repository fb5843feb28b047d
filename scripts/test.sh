#!/usr/bin/env bash
# The whole test suite: set-up, release build with -Werror, every ctest
# test (unit, bad inputs, ONNX conformance guard, models, example, clang,
# libFuzzer smoke, valgrind on the benchmark models),
# then an AddressSanitizer + UndefinedBehaviorSanitizer build running the
# unit tests, the bad-input tests, every conformance case and the model
# tests, the generated code sanitized too. Safe to rerun.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
jobs=$(nproc 2>/dev/null || echo 2)

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDLC_WERROR=ON >/dev/null
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure

cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DDLC_SANITIZE=ON -DDLC_WERROR=ON >/dev/null
cmake --build build-asan -j"$jobs"
ctest --test-dir build-asan -L asan --output-on-failure
