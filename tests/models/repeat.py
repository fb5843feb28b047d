"""Run to run: the same build gives the same bits at a fixed thread count.

usage: python repeat.py --dlc build/dlc --work DIR [--processes P] [--runs R]
                        [--threads 1 2] [--only NAME ...]

For a conv net (make_models.py's resnet, a 3x3 convolution on the
Winograd kernel whose threads share each block), a transformer encoder
(shipped/encoder.onnx, a torch export), a conv + BiLSTM recogniser
(shipped/crnn.onnx) and a voice-activity model with an If and LSTM state
(shipped/vad.onnx), this compiles the model once, builds it once with
OpenMP and the flags `dlc bench` uses (cc -O3 -march=native -fopenmp), then
at each thread count (OMP_NUM_THREADS, dynamic teams off) starts P
processes that each call the run function R times on the same seeded
inputs. Before every call the driver fills the workspace and the output
buffers with a byte that changes from call to call, so a kernel that reads
scratch it did not write, or leaves an output element unwritten, changes
the bits too. Every call's outputs must equal the first call's, byte for
byte.

The comparison checks itself: one more process flips one bit of its last
call's output (DLC_REPEAT_FLIP=1), and the test fails unless that run is
reported as different. Exits 1 on any failure.
"""
import argparse
import os
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_models  # noqa: E402
import threads  # noqa: E402  (its Winograd kernel model)

SHIPPED = os.path.join(HERE, "shipped")
CFLAGS = ["-std=c99", "-O3", "-march=native", "-fopenmp", "-Wall", "-Wextra", "-Werror"]

# argv: OUT RUNS IN_0 ... IN_{n-1}. Each call's outputs are appended to OUT.
DRIVER = r"""
#include "model.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    const void *in[MODEL_NUM_INPUTS > 0 ? MODEL_NUM_INPUTS : 1];
    void *out[MODEL_NUM_OUTPUTS];
    int i, r, runs, flip = getenv("DLC_REPEAT_FLIP") != NULL;
    FILE *f;
    if (argc != 3 + MODEL_NUM_INPUTS)
        return 10;
    runs = atoi(argv[2]);
    for (i = 0; i < MODEL_NUM_INPUTS; i++) {
        size_t n = model_inputs[i].bytes;
        void *p = malloc(n + 1);
        FILE *g = fopen(argv[3 + i], "rb");
        if (!p || !g || fread(p, 1, n, g) != n)
            return 11;
        fclose(g);
        in[i] = p;
    }
    if (!(f = fopen(argv[1], "wb")))
        return 12;
    for (r = 0; r < runs; r++) {
        unsigned char *block = malloc(MODEL_WORKSPACE_SIZE + 64);
        unsigned char *ws;
        if (!block)
            return 12;
        ws = block + (64 - (uintptr_t)block % 64) % 64;
        /* scratch and outputs hold a different byte at every call */
        memset(ws, 0x5a ^ (r * 37), MODEL_WORKSPACE_SIZE);
        for (i = 0; i < MODEL_NUM_OUTPUTS; i++) {
            if (!(out[i] = malloc(model_outputs[i].bytes + 1)))
                return 12;
            memset(out[i], 0xa5 ^ (r * 91), model_outputs[i].bytes);
        }
        if (model_run_with_workspace(in, out, ws) != MODEL_OK)
            return 13;
        if (flip && r == runs - 1 && model_outputs[0].bytes)
            ((unsigned char *)out[0])[0] ^= 1;
        for (i = 0; i < MODEL_NUM_OUTPUTS; i++) {
            if (fwrite(out[i], 1, model_outputs[i].bytes, f) != model_outputs[i].bytes)
                return 14;
            free(out[i]);
        }
        free(block);
    }
    return fclose(f) != 0 ? 14 : 0;
}
"""


def models(work):
    """{name: (model path, dlc flags)}."""
    made = make_models.make_models(os.path.join(work, "models"))
    winograd = threads.kernel_models(os.path.join(work, "models"))["k_winograd"]
    return {
        "resnet": (made["resnet"], []),
        "k_winograd": (winograd, []),
        "encoder": (os.path.join(SHIPPED, "encoder.onnx"), ["--shape", "ids=1x64",
                                                            "--shape", "mask=1x64"]),
        "crnn": (os.path.join(SHIPPED, "crnn.onnx"), ["--shape", "x=1x3x32x160"]),
        "vad": (os.path.join(SHIPPED, "vad.onnx"), []),
    }


def write_inputs(folder, header, seed):
    """Seeded raw inputs in the order of model.h's inputs: floats standard
    normal, int64 in [0, 500) (token ids; vad's sample rate: 16000).
    Returns the file paths."""
    rng = np.random.default_rng(seed)
    paths = []
    for line in header.splitlines():
        # /* input 0 'x': float32 [1,3,32,160] */
        if not line.startswith("/* input "):
            continue
        name = line.split("'")[1]
        dtype, dims = line.split("': ")[1].rstrip(" */").split(" ")
        shape = [int(d) for d in dims.strip("[]").split(",") if d]
        if dtype == "float32":
            a = rng.standard_normal(shape).astype(np.float32)
        elif dtype == "int64":
            a = np.full(shape, 16000, np.int64) if name == "sr" else \
                rng.integers(0, 500, shape).astype(np.int64)
        else:
            raise SystemExit(f"repeat.py: no inputs of type {dtype} ({name})")
        paths.append(os.path.join(folder, f"in{len(paths)}.bin"))
        a.tofile(paths[-1])
    return paths


def first_difference(a, b, sizes):
    """'output K byte B' of the first byte where a and b (equal lengths) differ."""
    at = next(i for i, (x, y) in enumerate(zip(a, b)) if x != y)
    for k, n in enumerate(sizes):
        if at < n:
            return f"output {k} byte {at}"
        at -= n
    return "?"


def differences(exe, inputs, folder, threads_n, processes, runs, sizes, flip=False):
    """The calls whose outputs differ from the first call's: a list of
    (process, call, where)."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads_n), OMP_DYNAMIC="false")
    env.pop("DLC_REPEAT_FLIP", None)
    total = sum(sizes)
    reference, found = None, []
    for p in range(processes + flip):
        if flip and p == processes:
            env["DLC_REPEAT_FLIP"] = "1"
        dump = os.path.join(folder, f"t{threads_n}-p{p}.out")
        r = subprocess.run([exe, dump, str(runs), *inputs], env=env, capture_output=True,
                           text=True, timeout=600)
        if r.returncode != 0:
            raise RuntimeError(f"{threads_n} threads: the driver exited {r.returncode} "
                               f"{r.stderr.strip()[:200]}")
        data = open(dump, "rb").read()
        os.remove(dump)
        if len(data) != total * runs:
            raise RuntimeError(f"the driver wrote {len(data)} bytes, not {total * runs}")
        for c in range(runs):
            chunk = data[c * total:(c + 1) * total]
            if reference is None:
                reference = chunk
            elif chunk != reference:
                found.append((p, c, first_difference(reference, chunk, sizes)))
    return found


def check(dlc, name, path, flags, work, thread_counts, processes, runs):
    folder = os.path.join(work, name)
    os.makedirs(folder, exist_ok=True)
    r = subprocess.run([dlc, path, "-o", os.path.join(folder, "model.c"), "--name", "model",
                        *flags], capture_output=True, text=True)
    if r.returncode != 0:
        print(f"FAIL {name}: dlc: {r.stderr.strip()[:400]}")
        return False
    with open(os.path.join(folder, "driver.c"), "w") as f:
        f.write(DRIVER)
    exe = os.path.join(folder, "driver")
    cc = os.environ.get("CC", "cc")
    r = subprocess.run([cc, *CFLAGS, "-o", exe, "driver.c", "model.c", "-lm"], cwd=folder,
                       capture_output=True, text=True)
    if r.returncode != 0:
        print(f"FAIL {name}: {cc}: {r.stderr.strip()[:400]}")
        return False
    header = open(os.path.join(folder, "model.h")).read()
    inputs = write_inputs(folder, header, seed=len(name))
    sizes = []
    for line in header.splitlines():
        if line.startswith("/* output "):
            dtype, dims = line.split("': ")[1].rstrip(" */").split(" ")
            count = int(np.prod([int(d) for d in dims.strip("[]").split(",") if d]))
            sizes.append(count * np.dtype({"float32": np.float32, "int64": np.int64,
                                           "bool": np.bool_}[dtype]).itemsize)
    notes = []
    try:
        for n in thread_counts:
            diff = differences(exe, inputs, folder, n, processes, runs, sizes)
            if diff:
                p, c, where = diff[0]
                print(f"FAIL {name}: {n} threads: {len(diff)} of {processes * runs - 1} calls "
                      f"differ from the first (process {p} call {c}: {where})")
                return False
            notes.append(f"{n} threads: {processes}x{runs} calls identical")
        # the self-check: a flipped bit must be seen
        diff = differences(exe, inputs, folder, thread_counts[-1], 1, runs, sizes, flip=True)
        if [(p, c) for p, c, _ in diff] != [(1, runs - 1)]:
            print(f"FAIL {name}: the comparison missed a flipped output bit ({diff})")
            return False
    except RuntimeError as e:
        print(f"FAIL {name}: {e}")
        return False
    print(f"PASS {name}: {'; '.join(notes)}; a flipped bit is caught", flush=True)
    return True


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dlc", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--processes", type=int, default=3)
    p.add_argument("--runs", type=int, default=3, help="calls of the run function per process")
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--only", nargs="+", metavar="NAME")
    args = p.parse_args()
    dlc = os.path.abspath(args.dlc)
    os.makedirs(args.work, exist_ok=True)
    todo = models(args.work)
    if args.only:
        todo = {n: v for n, v in todo.items() if n in args.only}
    oks = [check(dlc, n, path, flags, args.work, args.threads, args.processes, args.runs)
           for n, (path, flags) in todo.items()]
    print(f"{sum(oks)} passed, {len(oks) - sum(oks)} failed")
    return 0 if all(oks) else 1


if __name__ == "__main__":
    sys.exit(main())
