"""dlc (one or more builds) against ONNX Runtime and OpenVINO on any model.

usage: python bench/compare.py MODEL.onnx DLC [DLC ...]

Needs onnxruntime and openvino (pip install openvino; the test tools in
requirements.txt do not include it). Every input dim must be static.
Inputs are seeded: floats standard normal, int64 in [1000, 20000) (token
ids), an input named attention_mask all ones. Each dlc compiles the model
(cc -O3 -march=native) into its own shared library; all engines run on one
thread (OMP_NUM_THREADS=1 for dlc), their outputs are checked against ONNX
Runtime (max abs error printed), then timed alternately: 5 warm-up and 30
timed rounds, each round rotating the order. Prints median (min / p90) ms
and the ratio to ONNX Runtime's median.
"""
import ctypes
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnxruntime as ort


def inputs(sess, rng):
    feeds = {}
    for i in sess.get_inputs():
        shape = [d if isinstance(d, int) else 1 for d in i.shape]
        if "int64" in i.type:
            feeds[i.name] = rng.integers(1000, 20000, shape).astype(np.int64)
        else:
            feeds[i.name] = rng.standard_normal(shape).astype(np.float32)
        if i.name == "attention_mask":
            feeds[i.name][:] = 1
    return feeds


def dlc_engine(dlc, model, work, feeds, names, ref):
    """A callable running dlc's build of model, after checking its outputs."""
    c = os.path.join(work, "m.c")
    subprocess.run([dlc, model, "-o", c, "--name", "m"], check=True)
    so = os.path.join(work, "m.so")
    subprocess.run(["cc", "-O3", "-march=native", "-fPIC", "-shared", "-o", so, c, "-lm"],
                   check=True)
    lib = ctypes.CDLL(so)
    ins = [np.ascontiguousarray(feeds[n]) for n in names]
    outs = [np.empty_like(r) for r in ref]
    ip = (ctypes.c_void_p * len(ins))(*[a.ctypes.data for a in ins])
    op = (ctypes.c_void_p * len(outs))(*[a.ctypes.data for a in outs])
    lib.m_run(ip, op)
    err = max(float(np.max(np.abs(o - r))) for o, r in zip(outs, ref))
    print(f"{dlc}: max abs error vs ONNX Runtime {err:.3g}")
    return lambda: lib.m_run(ip, op) and (ins, outs)  # keeps the arrays alive


def openvino_config(threads):
    """OpenVINO's CPU plugin settings for a latency comparison: float32
    arithmetic (it would pick bf16 on CPUs that have it), the latency hint,
    one stream of `threads` threads."""
    return {"INFERENCE_NUM_THREADS": threads, "NUM_STREAMS": 1,
            "INFERENCE_PRECISION_HINT": "f32", "PERFORMANCE_HINT": "LATENCY"}


def openvino_model(model, threads):
    """model (a path) compiled by OpenVINO's CPU plugin with openvino_config."""
    import openvino as ov
    return ov.Core().compile_model(model, "CPU", openvino_config(threads))


def alternate(engines, rounds, warmup=5):
    """{name: [ms, ...]}: warmup + rounds rounds, each calling every engine
    once, the order rotating so that each comes first equally often."""
    order = list(engines)
    times = {k: [] for k in order}
    for r in range(warmup + rounds):
        for k in order[r % len(order):] + order[:r % len(order)]:
            t = time.perf_counter_ns()
            engines[k]()
            if r >= warmup:
                times[k].append((time.perf_counter_ns() - t) / 1e6)
    return times


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    model, dlcs = sys.argv[1], sys.argv[2:]
    os.environ["OMP_NUM_THREADS"] = "1"
    so = ort.SessionOptions()
    so.intra_op_num_threads = so.inter_op_num_threads = 1
    sess = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
    feeds = inputs(sess, np.random.default_rng(0))
    ref = sess.run(None, feeds)
    # openvino is imported in openvino_model, so that scripts without it can import this one
    compiled = openvino_model(model, 1)
    req = compiled.create_infer_request()
    ov_in = [feeds[i.get_any_name()] for i in compiled.inputs]
    ov_out = list(req.infer(ov_in).values())
    print(f"OpenVINO: max abs error vs ONNX Runtime "
          f"{max(float(np.max(np.abs(o - r))) for o, r in zip(ov_out, ref)):.3g}")
    engines = {"ONNX Runtime": lambda: sess.run(None, feeds), "OpenVINO": lambda: req.infer(ov_in)}
    work = tempfile.mkdtemp(prefix="dlc-compare-")
    names = [i.name for i in sess.get_inputs()]
    for n, dlc in enumerate(dlcs):
        os.makedirs(os.path.join(work, str(n)))
        engines[f"dlc[{n}]"] = dlc_engine(dlc, model, os.path.join(work, str(n)), feeds, names, ref)
    times = alternate(engines, 30)
    cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
               if line.startswith("model name"))
    print(f"{cpu}, 1 thread, 30 alternating rounds after 5 warm-up; median (min / p90) ms")
    base = float(np.median(times["ONNX Runtime"]))
    for k in times:
        t = np.array(times[k])
        print(f"{k:13s} {np.median(t):9.2f} ({t.min():8.2f} / {np.percentile(t, 90):8.2f})  "
              f"x ORT {np.median(t) / base:5.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
