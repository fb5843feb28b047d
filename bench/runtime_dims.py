"""Run-time dims against fixed-size builds and ONNX Runtime, one thread.

usage: python bench/runtime_dims.py [--dlc build/dlc] [--runs 50] [--rounds 3]

For each model in tests/models/shipped and each size: ONNX Runtime on the
model as exported (symbolic dims), dlc compiled for exactly that size
(`--shape x=...`), and dlc compiled once for the whole range (`--shape
x=...LO..HI`, default size buckets) and run at that size (`dlc bench
--dim`). The three alternate for --rounds rounds of --runs timed runs each;
each figure is the median over all runs. Prints one row per size with the
CPU named; the run-time build's ratio to the fixed one is the price of
the padded layout and the buckets.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

import numpy as np
import onnxruntime as ort

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHIPPED = os.path.join(ROOT, "tests", "models", "shipped")

# (model, input, range binding, name of the run-time dim, sizes, shape at a size)
CASES = [
    ("crnn.onnx", "x", "1x3x32x32..512", "width", (32, 100, 320, 512),
     lambda w: (1, 3, 32, w)),
    ("encoder.onnx", None, "1x1..128", "tokens", (8, 32, 128), lambda t: (1, t)),
    ("decoder.onnx", "ids", "1x1..128", "tokens", (8, 32, 128), lambda t: (1, t)),
    ("speech.onnx", "audio", "1x400..16000", "samples", (1000, 4000, 16000), lambda n: (1, n)),
    ("dbnet.onnx", "x", "1x3x32..640/32x32..640/32", None, (160, 320, 640),
     lambda s: (1, 3, s, s)),
]


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def ort_times(model, feeds, runs):
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    s = ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
    for _ in range(3):
        s.run(None, feeds)
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        s.run(None, feeds)
        out.append((time.perf_counter() - t0) * 1e3)
    return out


def dlc_times(dlc, model, flags, runs):
    r = subprocess.run([dlc, "bench", model, "--runs", str(runs), "--json"] + flags,
                       capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"dlc bench failed: {r.stderr.strip()}")
    return json.loads(r.stdout)["times_ms"]


def feeds_for(model, shape):
    rng = np.random.default_rng(0)
    s = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    feeds = {}
    for i in s.get_inputs():
        if i.type == "tensor(int64)":
            feeds[i.name] = (rng.integers(0, 200, shape) if i.name != "mask"
                             else np.ones(shape, np.int64))
        else:
            feeds[i.name] = rng.standard_normal(shape).astype(np.float32)
    return feeds


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dlc", default=os.path.join(ROOT, "build", "dlc"))
    p.add_argument("--runs", type=int, default=50)
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    print(f"CPU: {cpu_name()}, 1 thread, medians of {args.rounds} x {args.runs} runs")
    print("| model | size | ONNX Runtime ms | dlc fixed-size ms | dlc run-time ms | "
          "run-time / ORT | run-time / fixed |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for file, inp, rng_spec, dim, sizes, shape_at in CASES:
        model = os.path.join(SHIPPED, file)
        names = [inp] if inp else ["ids", "mask"]   # the encoder's two inputs share the dim
        ranged = [a for n in names for a in ("--shape", f"{n}={rng_spec}")]
        for size in sizes:
            shape = shape_at(size)
            fixed = [a for n in names for a in ("--shape", f"{n}={'x'.join(map(str, shape))}")]
            at = []
            if dim:
                at = ["--dim", f"{dim}={size}"]
            else:   # the detector's height and width are two dims, named by the model
                at = ["--dim", f"h={size}", "--dim", f"w={size}"]
            feeds = feeds_for(model, shape)
            t = {"ort": [], "fixed": [], "dyn": []}
            for _ in range(args.rounds):
                t["ort"] += ort_times(model, feeds, args.runs)
                t["fixed"] += dlc_times(args.dlc, model, fixed, args.runs)
                t["dyn"] += dlc_times(args.dlc, model, ranged + at, args.runs)
            m = {k: statistics.median(v) for k, v in t.items()}
            print(f"| {file[:-5]} | {'x'.join(map(str, shape))} | {m['ort']:.3f} | "
                  f"{m['fixed']:.3f} | {m['dyn']:.3f} | {m['dyn'] / m['ort']:.2f} | "
                  f"{m['dyn'] / m['fixed']:.2f} |", flush=True)


if __name__ == "__main__":
    main()
