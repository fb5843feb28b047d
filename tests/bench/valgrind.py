"""valgrind memcheck on the benchmark models' generated code.

usage: python valgrind.py --dlc build/dlc --work DIR [--models NAME ...]
                          [--jobs N] [--valgrind valgrind]

For each benchmark network bench/models/make.py writes without torch
(ResNet-50, MobileNetV2, SqueezeNet 1.1, BERT-base, YOLOv8n at 640 and 320,
DB-ResNet18, CRNN), at its full size:

  1. dlc compiles it (weights embedded, as `dlc bench` does);
  2. cc -std=c99 -O1 -g builds it with a driver that reads the inputs its
     example() draws, calls the run function once, single-threaded, on a
     workspace fresh from malloc (so valgrind knows it is undefined), and
     writes the outputs (so a byte the model never wrote is reported);
  3. the driver runs under
        valgrind --error-exitcode=1 --leak-check=full
     which must report nothing: no invalid read or write, no jump on an
     undefined value, no undefined byte written out, no leak;
  4. the outputs must match ONNX Runtime's (|got - want| <= 1e-4 + 1e-3
     |want|), so the run checked is a correct one.

Prints PASS/FAIL, the compile and valgrind times per model, and exits 1 if
any failed; 77 (skipped) when valgrind is not installed.
"""
import argparse
import concurrent.futures
import os
import shutil
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "bench", "models"))
sys.path.insert(0, os.path.join(ROOT, "tests", "tools"))
import make  # noqa: E402  (bench/models/make.py)
from make_dataset import ort_set  # noqa: E402

# the slowest first, so that two jobs finish close together
MODELS = ["dbnet", "bert_base", "resnet50", "yolov8n", "yolov8n_320", "crnn", "mobilenetv2",
          "squeezenet1_1"]
CFLAGS = ["-std=c99", "-O1", "-g", "-Wall", "-Wextra", "-Werror"]
ATOL, RTOL = 1e-4, 1e-3
SKIP = 77

# argv: IN_0 ... IN_{n-1} OUT_0 ... OUT_{m-1}
DRIVER = r"""
#include "model.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    const void *in[MODEL_NUM_INPUTS > 0 ? MODEL_NUM_INPUTS : 1];
    void *out[MODEL_NUM_OUTPUTS];
    unsigned char *block = malloc(MODEL_WORKSPACE_SIZE + 64);
    int i, rc = 0;
    if (argc != 1 + MODEL_NUM_INPUTS + MODEL_NUM_OUTPUTS || !block)
        return 10;
    for (i = 0; i < MODEL_NUM_INPUTS; i++) {
        size_t n = model_inputs[i].bytes;
        void *p = malloc(n + 1);
        FILE *f = fopen(argv[1 + i], "rb");
        if (!p || !f || fread(p, 1, n, f) != n)
            return 11;
        fclose(f);
        in[i] = p;
    }
    for (i = 0; i < MODEL_NUM_OUTPUTS; i++)
        if (!(out[i] = malloc(model_outputs[i].bytes + 1)))
            return 12;
    if (model_run_with_workspace(in, out, block + (64 - (uintptr_t)block % 64) % 64) != MODEL_OK)
        rc = 13;
    for (i = 0; i < MODEL_NUM_OUTPUTS && rc == 0; i++) {
        FILE *f = fopen(argv[1 + MODEL_NUM_INPUTS + i], "wb");
        if (!f || fwrite(out[i], 1, model_outputs[i].bytes, f) != model_outputs[i].bytes ||
            fclose(f) != 0)
            rc = 14;
    }
    for (i = 0; i < MODEL_NUM_INPUTS; i++)
        free((void *)in[i]);
    for (i = 0; i < MODEL_NUM_OUTPUTS; i++)
        free(out[i]);
    free(block);
    return rc;
}
"""


def run(argv, cwd=None, timeout=3600):
    """(exit status, stdout + stderr)."""
    p = subprocess.run(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=timeout)
    return p.returncode, p.stdout


def check(dlc, valgrind, name, work):
    """(ok, one line)."""
    folder = os.path.join(work, name)
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    model = os.path.join(work, "models", f"{name}.onnx")
    feeds = make.MODELS[name].example(np.random.default_rng(0))
    want = ort_set(model, os.path.join(folder, "data"), feeds)
    t0 = time.monotonic()
    rc, out = run([dlc, model, "-o", os.path.join(folder, "model.c"), "--name", "model"])
    if rc:
        return False, f"dlc: {out.strip()[-300:]}"
    with open(os.path.join(folder, "driver.c"), "w") as f:
        f.write(DRIVER)
    rc, out = run([os.environ.get("CC", "cc"), *CFLAGS, "-o", "driver", "driver.c", "model.c",
                   "-lm"], cwd=folder)
    if rc:
        return False, f"cc: {out.strip()[-300:]}"
    built = time.monotonic() - t0
    # the inputs in model.h's order: /* input K 'NAME': ... */
    ins = []
    for line in open(os.path.join(folder, "model.h")):
        if line.startswith("/* input "):
            ins.append(os.path.join(folder, f"in{len(ins)}.bin"))
            np.ascontiguousarray(feeds[line.split("'")[1]]).tofile(ins[-1])
    outs = [os.path.join(folder, f"out{k}.bin") for k in range(len(want))]
    t0 = time.monotonic()
    rc, out = run([valgrind, "--error-exitcode=1", "--leak-check=full", "-q",
                   "./driver", *ins, *outs], cwd=folder)
    ran = time.monotonic() - t0
    times = f"build {built:.0f} s, valgrind {ran:.0f} s"
    with open(os.path.join(folder, "valgrind.log"), "w") as f:
        f.write(out)
    if rc:
        lines = [ln for ln in out.splitlines() if ln.startswith("==")][:12]
        return False, f"valgrind exit {rc} ({times}):\n    " + "\n    ".join(lines)
    for k, (oname, w) in enumerate(want.items()):
        got = np.fromfile(outs[k], dtype=w.dtype).reshape(w.shape)
        bad = ~np.isclose(got, w, rtol=RTOL, atol=ATOL)
        if bad.any():
            return False, (f"output '{oname}': {int(bad.sum())} of {w.size} elements differ "
                           f"from ONNX Runtime's ({times})")
    return True, times


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dlc", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--models", nargs="+", default=MODELS, choices=MODELS, metavar="NAME")
    p.add_argument("--jobs", type=int, default=1, help="models checked at once")
    p.add_argument("--valgrind", default="valgrind")
    args = p.parse_args()
    if not shutil.which(args.valgrind):
        print(f"SKIP: no {args.valgrind} (scripts/setup.sh installs valgrind)")
        return SKIP
    dlc = os.path.abspath(args.dlc)
    work = os.path.abspath(args.work)
    os.makedirs(os.path.join(work, "models"), exist_ok=True)
    missing = [n for n in args.models if not os.path.exists(os.path.join(work, "models",
                                                                          f"{n}.onnx"))]
    if missing:
        rc, out = run([sys.executable, os.path.join(ROOT, "bench", "models", "make.py"),
                       os.path.join(work, "models"), "--only", *missing])
        if rc:
            print(f"FAIL: bench/models/make.py: {out.strip()[-500:]}")
            return 1
    failed = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        jobs = {pool.submit(check, dlc, args.valgrind, n, work): n for n in args.models}
        for job in concurrent.futures.as_completed(jobs):
            ok, line = job.result()
            print(f"{'PASS' if ok else 'FAIL'} {jobs[job]}: {line}", flush=True)
            failed += not ok
    print(f"{len(args.models) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
