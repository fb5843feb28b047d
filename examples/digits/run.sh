#!/usr/bin/env bash
# The digits demo: train a small classifier, compile it with dlc, build the
# generated C with main.c, and check that it classifies the test split
# exactly as ONNX Runtime does (same number of correct predictions).
#
#   usage: examples/digits/run.sh [PYTHON [DLC]]
#   defaults: .venv/bin/python and build/dlc, relative to the repo root;
#   paths given on the command line are relative to the current directory.
#   Environment: CC (default cc), OPT (default -O3 -march=native, the build
#   dlc's README gives products; OPT=-O2 builds the portable C fallback),
#   CFLAGS (added to the build).
# Everything is written under build/digits/. Exit 1 if the results differ.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
abs() { case $1 in /*) printf '%s\n' "$1" ;; *) printf '%s\n' "$PWD/$1" ;; esac; }
python=$(abs "${1:-$root/.venv/bin/python}")
dlc=$(abs "${2:-$root/build/dlc}")
out=$root/build/digits
cc=${CC:-cc}

for tool in "$python" "$dlc"; do
    if [ ! -x "$tool" ]; then
        echo "run.sh: $tool not found (build dlc / run scripts/setup.sh first)" >&2
        exit 2
    fi
done
mkdir -p "$out"

# Training takes seconds; redo it only when its outputs are missing or
# train.py changed since they were written.
stale=0
for f in digits.onnx test_x.bin test_y.bin ort.txt; do
    if [ ! -f "$out/$f" ] || [ "$here/train.py" -nt "$out/$f" ]; then stale=1; fi
done
if [ "$stale" = 1 ]; then
    echo "== training and exporting (train.py)"
    "$python" "$here/train.py" "$out"
else
    echo "== reusing $out (train.py unchanged)"
fi

echo "== compiling with dlc"
rm -f "$out/digits.c" "$out/digits.h" "$out/digits"
"$dlc" "$out/digits.onnx" -o "$out/digits.c" --name digits

echo "== building with $cc"
# shellcheck disable=SC2086  # OPT and CFLAGS are lists of flags
"$cc" ${OPT:--O3 -march=native} -std=c99 -Wall -Wextra -Werror -D_POSIX_C_SOURCE=199309L ${CFLAGS:-} \
    -I "$out" "$here/main.c" "$out/digits.c" -o "$out/digits" -lm

echo "== running"
dlc_line=$("$out/digits" "$out/test_x.bin" "$out/test_y.bin")
ort_line=$(head -n 1 "$out/ort.txt")

# field KEY LINE: the value of KEY=VALUE in a line of such pairs.
field() { printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p" | head -n 1; }
report() {
    printf '%-13s %s/%s correct (accuracy %s), median %s us per batch of %s\n' \
        "$1" "$(field correct "$2")" "$(field total "$2")" \
        "$(field accuracy "$2")" "$(field median_us "$2")" "$(field batch "$2")"
}
report "ONNX Runtime:" "$ort_line"
report "dlc:" "$dlc_line"

ort_us=$(field median_us "$ort_line")
dlc_us=$(field median_us "$dlc_line")
awk -v o="$ort_us" -v d="$dlc_us" 'BEGIN {
    if (d > 0) printf "speed: ONNX Runtime time / dlc time = %.2f (above 1: dlc is faster)\n", o / d }'

if [ "$(field correct "$dlc_line")" != "$(field correct "$ort_line")" ] ||
   [ "$(field total "$dlc_line")" != "$(field total "$ort_line")" ]; then
    echo "FAIL: dlc and ONNX Runtime disagree on the test split" >&2
    exit 1
fi
echo "ok: dlc matches ONNX Runtime"
