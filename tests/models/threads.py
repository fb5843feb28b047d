"""Loop-level threads: the generated C built with and without OpenMP.

usage: python threads.py --dlc build/dlc --work DIR [--cc gcc clang] [--time N]

For the project's models (make_models.py) and a few single-kernel models
big enough for dlc to mark their loops DLC_PARALLEL (elementwise, MaxPool,
Softmax, GlobalAveragePool, LayerNormalization) or for a runtime kernel's
threads to share its work (Winograd), this

  - compiles each twice and requires byte-identical model.c;
  - builds it with every C compiler given, `-std=c99 -O2 -Wall -Wextra
    -Werror`, once as is and once with -fopenmp (both must be clean);
  - runs both on the same seeded inputs, the OpenMP build with
    OMP_NUM_THREADS=2, and requires bit-identical outputs: every marked loop
    writes each element from exactly one iteration, so threads must not
    change a single bit.

With --time N it also prints the median of N runs of the serial build and
of the OpenMP build on 1 and 2 threads. Exits 1 on any failure.
"""
import argparse
import os
import shutil
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_models  # noqa: E402

SHAPES = {"mlp": ["--shape", "x=4x64"]}

# Deterministic inputs (floats in [-1, 1), integers 0/1), the outputs'
# bytes to argv[1], and with argv[2] = N the median time of N runs.
DRIVER = r"""
#define _POSIX_C_SOURCE 199309L
#include "model.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    void *in[MODEL_NUM_INPUTS > 0 ? MODEL_NUM_INPUTS : 1], *out[MODEL_NUM_OUTPUTS];
    unsigned s = 1;
    int i, r, reps = argc > 2 ? atoi(argv[2]) : 1;
    double *t;
    FILE *f;
    for (i = 0; i < MODEL_NUM_INPUTS; i++) {
        size_t j, n = model_inputs[i].bytes;
        in[i] = calloc(1, n + 1);
        for (j = 0; model_inputs[i].dtype == 1 && j < n / 4; j++) {
            s = s * 1103515245u + 12345u;
            ((float *)in[i])[j] = (float)((s >> 8) & 0xffff) / 32768.0f - 1.0f;
        }
        for (j = 0; model_inputs[i].dtype == 7 && j < n / 8; j++) {
            s = s * 1103515245u + 12345u;
            ((int64_t *)in[i])[j] = (s >> 16) & 1;
        }
    }
    for (i = 0; i < MODEL_NUM_OUTPUTS; i++)
        out[i] = calloc(1, model_outputs[i].bytes + 1);
    t = calloc((size_t)reps + 1, sizeof *t);
    for (r = 0; r < reps; r++) {
        double t0 = now();
        if (model_run((const void *const *)in, out) != MODEL_OK)
            return 2;
        t[r] = now() - t0;
    }
    qsort(t, (size_t)reps, sizeof *t, by_value);
    if (reps > 1)
        printf("%.4f\n", t[reps / 2] * 1e3);
    f = fopen(argv[1], "wb");
    if (!f)
        return 3;
    for (i = 0; i < MODEL_NUM_OUTPUTS; i++)
        fwrite(out[i], 1, model_outputs[i].bytes, f);
    return fclose(f) != 0;
}
"""


def kernel_models(folder):
    """Single-kernel models whose loops dlc runs on threads."""
    vi = helper.make_tensor_value_info
    F = TensorProto.FLOAT

    def save(name, nodes, ins, outs, opset=13, inits=()):
        g = helper.make_graph(nodes, name, ins, outs, list(inits))
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
        m.ir_version = 8 if opset >= 17 else 7
        onnx.checker.check_model(m, full_check=True)
        path = os.path.join(folder, name + ".onnx")
        onnx.save(m, path)
        return path

    s = [1, 64, 112, 112]
    # Winograd with a team sharing each block (U outweighs V and M): 36x36
    # is two blocks of tile rows, so the per-block barriers run twice
    wg = numpy_helper.from_array(
        np.random.default_rng(7).standard_normal((288, 288, 3, 3)).astype(np.float32) * 0.02,
        "w")
    return {
        "k_winograd": save("k_winograd", [helper.make_node("Conv", ["x", "w"], ["y"],
                                                           kernel_shape=[3, 3], pads=[1, 1, 1, 1])],
                           [vi("x", F, [1, 288, 36, 36])], [vi("y", F, [1, 288, 36, 36])],
                           inits=[wg]),
        "k_eltwise": save("k_eltwise", [helper.make_node("Add", ["a", "b"], ["s"]),
                                        helper.make_node("Sigmoid", ["s"], ["y"])],
                          [vi("a", F, s), vi("b", F, s)], [vi("y", F, s)]),
        "k_maxpool": save("k_maxpool", [helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[3, 3],
                                                         strides=[2, 2], pads=[1, 1, 1, 1])],
                          [vi("x", F, s)], [vi("y", F, [1, 64, 56, 56])]),
        "k_softmax": save("k_softmax", [helper.make_node("Softmax", ["x"], ["y"], axis=-1)],
                          [vi("x", F, [1, 12, 128, 128])], [vi("y", F, [1, 12, 128, 128])]),
        "k_gap": save("k_gap", [helper.make_node("GlobalAveragePool", ["x"], ["y"])],
                      [vi("x", F, [1, 2048, 14, 14])], [vi("y", F, [1, 2048, 1, 1])]),
        "k_layernorm": save("k_layernorm", [helper.make_node("LayerNormalization", ["x", "g", "b"], ["y"],
                                                             axis=-1)],
                            [vi("x", F, [1, 512, 768]), vi("g", F, [768]), vi("b", F, [768])],
                            [vi("y", F, [1, 512, 768])], opset=17),
    }


def run(argv, env=None, cwd=None):
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       env=env, cwd=cwd, timeout=900)
    return p.returncode, p.stdout


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dlc", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--cc", nargs="+", default=["cc"], help="C compilers to build with")
    p.add_argument("--time", type=int, default=0, metavar="N", help="also time N runs")
    args = p.parse_args()
    dlc = os.path.abspath(args.dlc)
    os.makedirs(args.work, exist_ok=True)
    models = make_models.make_models(os.path.join(args.work, "models"))
    models.update(kernel_models(os.path.join(args.work, "models")))
    failed = 0
    for name, path in models.items():
        d = os.path.join(args.work, name)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        with open(os.path.join(d, "driver.c"), "w") as f:
            f.write(DRIVER)
        src = []
        for k in range(2):
            rc, out = run([dlc, path, "-o", os.path.join(d, "model.c"), "--name", "model",
                           *SHAPES.get(name, [])])
            if rc:
                print(f"FAIL {name}: dlc: {out.strip()}")
                failed += 1
                break
            with open(os.path.join(d, "model.c"), "rb") as f:
                src.append(f.read())
        if len(src) < 2:
            continue
        if src[0] != src[1]:
            print(f"FAIL {name}: model.c differs between two runs")
            failed += 1
            continue
        marked = sum(1 for line in src[0].splitlines() if line.strip() == b"DLC_PARALLEL")
        ok, notes = True, []
        for cc in args.cc:
            builds = {}
            for omp in (False, True):
                exe = os.path.join(d, f"{os.path.basename(cc)}{'-omp' if omp else ''}")
                rc, out = run([cc, "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror",
                               *(["-fopenmp"] if omp else []), "-o", exe, "driver.c", "model.c",
                               "-lm"], cwd=d)
                if rc:
                    print(f"FAIL {name}: {cc}{' -fopenmp' if omp else ''}: {out.strip()[:400]}")
                    ok = False
                    break
                builds[omp] = exe
            if not ok:
                break
            outs = {}
            for label, exe, threads in (("serial", builds[False], None),
                                        ("omp2", builds[True], "2")):
                env = dict(os.environ)
                if threads:
                    env["OMP_NUM_THREADS"] = threads
                dump = os.path.join(d, f"{label}.out")
                rc, out = run([exe, dump], env=env)
                if rc:
                    print(f"FAIL {name}: {cc} {label} run exited {rc}: {out.strip()[:200]}")
                    ok = False
                    break
                with open(dump, "rb") as f:
                    outs[label] = f.read()
            if not ok:
                break
            if outs["serial"] != outs["omp2"]:
                print(f"FAIL {name}: {cc}: 2 threads give different bits than the serial build")
                ok = False
                break
            if args.time:
                times = []
                for exe, threads in ((builds[False], None), (builds[True], "1"),
                                     (builds[True], "2")):
                    env = dict(os.environ)
                    if threads:
                        env["OMP_NUM_THREADS"] = threads
                    rc, out = run([exe, os.devnull, str(args.time)], env=env)
                    times.append(out.strip() if rc == 0 else "?")
                notes.append(f"{os.path.basename(cc)}: serial {times[0]} ms, omp1 {times[1]} ms, "
                             f"omp2 {times[2]} ms")
        if ok:
            print(f"PASS {name}: {marked} parallel loops" + (f"; {'; '.join(notes)}" if notes else ""),
                  flush=True)
        failed += not ok
    print(f"{len(models) - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
