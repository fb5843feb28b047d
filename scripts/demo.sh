#!/usr/bin/env bash
# The main job on the bundled example: set up, build dlc, train and export
# the digits classifier, compile it with dlc, build and run the generated C,
# and compare its accuracy and latency with ONNX Runtime. Safe to rerun.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc 2>/dev/null || echo 2)" --target dlc
bash examples/digits/run.sh .venv/bin/python build/dlc
