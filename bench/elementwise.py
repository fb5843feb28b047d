"""Transcendental elementwise math: dlc against ONNX Runtime, one thread.

usage: python bench/elementwise.py DLC [--rounds N] [--filter REGEX]

Builds one small ONNX model per case (the GELU forms as exporters write
them, and single Exp / Tanh / Sigmoid / Erf / Log nodes) on 2048x128 and
8192x512 float32 tensors; compiles each with DLC (cc -O3 -march=native) into
a shared library; checks its output against ONNX Runtime (max abs and max
relative error printed); then times both, alternating which runs first in
each round: ONNX Runtime on one thread with all graph optimisations, fed
and read through an IOBinding on preallocated numpy buffers (the least
Python overhead it offers), dlc through ctypes. Prints median ms of each
and the ratio dlc / ONNX Runtime (below 1: dlc faster), and names the CPU.
"""
import argparse
import ctypes
import os
import re
import subprocess
import tempfile
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper

SQRT_2_PI = 0.7978845608028654


def const(name, v):
    return helper.make_tensor(name, TensorProto.FLOAT, [], [v])


def model(nodes, consts, shape, opset=17):
    g = helper.make_graph(
        nodes, "bench",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, shape)],
        [const(k, v) for k, v in consts.items()])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], ir_version=10)
    onnx.checker.check_model(m)
    return m


def gelu_tanh_pow(shape):
    """x*0.5*(1+tanh(0.79788*(x+0.044715*Pow(x,3)))), nine nodes as torch writes it."""
    n = helper.make_node
    return model([
        n("Mul", ["x", "half"], ["h"]),
        n("Pow", ["x", "three"], ["x3"]),
        n("Mul", ["x3", "c"], ["cx3"]),
        n("Add", ["x", "cx3"], ["s"]),
        n("Mul", ["s", "k"], ["u"]),
        n("Tanh", ["u"], ["t"]),
        n("Add", ["t", "one"], ["t1"]),
        n("Mul", ["h", "t1"], ["y"]),
    ], {"half": 0.5, "three": 3.0, "c": 0.044715, "k": SQRT_2_PI, "one": 1.0}, shape)


def gelu_tanh_mul(shape):
    """The x*x*x spelling, constants first, Div by 2 at the end."""
    n = helper.make_node
    return model([
        n("Mul", ["x", "x"], ["x2"]),
        n("Mul", ["x2", "x"], ["x3"]),
        n("Mul", ["c", "x3"], ["cx3"]),
        n("Add", ["cx3", "x"], ["s"]),
        n("Mul", ["k", "s"], ["u"]),
        n("Tanh", ["u"], ["t"]),
        n("Add", ["one", "t"], ["t1"]),
        n("Mul", ["x", "t1"], ["xt"]),
        n("Div", ["xt", "two"], ["y"]),
    ], {"c": 0.044715, "k": SQRT_2_PI, "one": 1.0, "two": 2.0}, shape)


def gelu_erf(shape):
    """x*0.5*(1+erf(x/sqrt 2)), as torch writes nn.GELU()."""
    n = helper.make_node
    return model([
        n("Div", ["x", "sqrt2"], ["d"]),
        n("Erf", ["d"], ["e"]),
        n("Add", ["e", "one"], ["e1"]),
        n("Mul", ["x", "e1"], ["xe"]),
        n("Mul", ["xe", "half"], ["y"]),
    ], {"sqrt2": 1.4142135381698608, "one": 1.0, "half": 0.5}, shape)


def gelu_op(approximate):
    def build(shape):
        return model([helper.make_node("Gelu", ["x"], ["y"], approximate=approximate)],
                     {}, shape, opset=20)
    return build


def unary(op):
    def build(shape):
        return model([helper.make_node(op, ["x"], ["y"])], {}, shape)
    return build


CASES = [
    ("gelu_tanh_pow", gelu_tanh_pow, "normal"),
    ("gelu_tanh_mul", gelu_tanh_mul, "normal"),
    ("gelu_erf", gelu_erf, "normal"),
    ("Gelu(tanh)", gelu_op("tanh"), "normal"),
    ("Gelu", gelu_op("none"), "normal"),
    ("Exp", unary("Exp"), "normal"),
    ("Tanh", unary("Tanh"), "normal"),
    ("Sigmoid", unary("Sigmoid"), "normal"),
    ("Erf", unary("Erf"), "normal"),
    ("Log", unary("Log"), "positive"),
]
SHAPES = [[2048, 128], [8192, 512]]


def cpu_name():
    with open("/proc/cpuinfo") as f:
        text = f.read()
    name = re.search(r"model name\s*:\s*(.*)", text)
    flags = re.search(r"flags\s*:\s*(.*)", text)
    have = [x for x in ("avx2", "fma", "avx512f") if flags and x in flags.group(1).split()]
    return f"{name.group(1) if name else 'unknown CPU'} ({', '.join(have) or 'no avx2'})"


def dlc_build(dlc, path, work, tag):
    c = os.path.join(work, f"m{tag}.c")
    subprocess.run([dlc, path, "-o", c, "--name", "m"], check=True)
    so = os.path.join(work, f"m{tag}.so")    # a new path: dlopen caches by path
    subprocess.run(["cc", "-O3", "-march=native", "-fPIC", "-shared", "-o", so, c, "-lm"],
                   check=True)
    return ctypes.CDLL(so)


def median_ms(ts):
    return float(np.median(ts)) * 1e3


def run_case(dlc, name, build, kind, shape, rounds, work, tag):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(np.float32) * 2
    if kind == "positive":
        x = np.exp(x).astype(np.float32)
    path = os.path.join(work, "m.onnx")
    onnx.save(build(shape), path)

    so = ort.SessionOptions()
    so.intra_op_num_threads = so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    y_ort = np.empty_like(x)
    bind = sess.io_binding()
    bind.bind_cpu_input("x", x)
    bind.bind_output("y", "cpu", 0, np.float32, list(shape), y_ort.ctypes.data)
    sess.run_with_iobinding(bind)

    lib = dlc_build(dlc, path, work, tag)
    y = np.empty_like(x)
    ip = (ctypes.c_void_p * 1)(x.ctypes.data)
    op = (ctypes.c_void_p * 1)(y.ctypes.data)
    lib.m_run(ip, op)
    abs_err = float(np.max(np.abs(y - y_ort)))
    rel_err = float(np.max(np.abs(y - y_ort) / np.maximum(np.abs(y_ort), 1e-6)))

    engines = [("ort", lambda: sess.run_with_iobinding(bind)), ("dlc", lambda: lib.m_run(ip, op))]
    times = {"ort": [], "dlc": []}
    for _ in range(5):
        for _, f in engines:
            f()
    for r in range(rounds):
        order = engines if r % 2 == 0 else engines[::-1]
        for key, f in order:
            t0 = time.perf_counter()
            f()
            times[key].append(time.perf_counter() - t0)
    d, o = median_ms(times["dlc"]), median_ms(times["ort"])
    dims = "x".join(map(str, shape))
    print(f"{name:14s} {dims:9s} dlc {d:8.3f} ms  ORT {o:8.3f} ms  dlc/ORT {d / o:5.2f}"
          f"  max abs err {abs_err:.2g}, rel {rel_err:.2g}", flush=True)
    return d / o


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dlc")
    ap.add_argument("--rounds", type=int, default=101)
    ap.add_argument("--filter", default="")
    a = ap.parse_args()
    os.environ["OMP_NUM_THREADS"] = "1"
    print(f"CPU: {cpu_name()}; onnxruntime {ort.__version__}; 1 thread; "
          f"median of {a.rounds} alternating rounds")
    work = tempfile.mkdtemp(prefix="dlc-elementwise-")
    tag = 0
    for shape in SHAPES:
        for name, build, kind in CASES:
            if a.filter and not re.search(a.filter, name):
                continue
            tag += 1
            run_case(a.dlc, name, build, kind, shape, a.rounds, work, tag)


if __name__ == "__main__":
    main()
