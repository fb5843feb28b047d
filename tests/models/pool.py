"""Windowed pools against a naive double-precision NumPy reference.

usage: python pool.py --dlc build/dlc --work DIR [--cflags "-O3 -march=native"]

ops/pool.c unrolls the taps of small windows into straight-line code
(the loop over output width then vectorises) and spells float max as
`v != v ? v : (v >= acc ? v : acc)`. These models cover that path and the
ones around it (borders, ceil_mode, dilation, padding, 1-D, a 7x7 window
that keeps the tap loops, integer max), with inputs that hold NaN, +-inf
and +-0 as well as random values. Each model's reference output comes from
a plain Python loop over windows in float64 (NaN anywhere in a max window
gives NaN), written as output_0.pb, and

    dlc check MODEL DATASET --atol 0 --rtol 0       (max: exact)
    dlc check MODEL DATASET --atol 1e-6 --rtol 1e-5 (average, Lp)

compares the generated code with it (NaN matches NaN, infinities exactly).
DLC_CHECK_CFLAGS, when set, is passed through to `dlc check`.
"""
import argparse
import itertools
import math
import os
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def out_dim(n, k, s, d, pb, pe, ceil):
    span = (k - 1) * d + 1
    room = n + pb + pe - span
    o = (-(-room // s) if ceil else room // s) + 1
    if ceil and (o - 1) * s >= n + pb:
        o -= 1
    return o


def reference(x, kind, k, s, d, pb, pe, ceil, include_pad=0, p=2):
    """Naive pool over the spatial dims of x (N, C, spatial...)."""
    r = x.ndim - 2
    outs = [out_dim(x.shape[2 + i], k[i], s[i], d[i], pb[i], pe[i], ceil) for i in range(r)]
    y = np.zeros(x.shape[:2] + tuple(outs), dtype=np.float64)
    for n, c in itertools.product(range(x.shape[0]), range(x.shape[1])):
        for o in itertools.product(*[range(v) for v in outs]):
            vals, padded = [], 0
            for t in itertools.product(*[range(v) for v in k]):
                pos = [o[i] * s[i] - pb[i] + t[i] * d[i] for i in range(r)]
                inside = all(0 <= pos[i] < x.shape[2 + i] for i in range(r))
                in_pad = all(-pb[i] <= pos[i] < x.shape[2 + i] + pe[i] for i in range(r))
                if inside:
                    vals.append(float(x[(n, c) + tuple(pos)]))
                if in_pad:
                    padded += 1
            if kind == "max":
                v = math.nan if any(math.isnan(a) for a in vals) else max(vals)
            elif kind == "avg":
                v = sum(vals) / (padded if include_pad else len(vals))
            else:
                v = sum(abs(a) ** p for a in vals) ** (1.0 / p)
            y[(n, c) + o] = v
    return y


CASES = [
    # name, kind, shape, kernel, strides, dilations, pads, ceil, extra attrs, dtype
    ("max3s2_ceil", "max", [1, 3, 23, 23], [3, 3], [2, 2], [1, 1], [0, 0, 0, 0], 1, {}, np.float32),
    ("max3s2_pad1", "max", [1, 2, 16, 17], [3, 3], [2, 2], [1, 1], [1, 1, 1, 1], 0, {}, np.float32),
    ("max2s2", "max", [2, 2, 8, 9], [2, 2], [2, 2], [1, 1], [0, 0, 0, 0], 0, {}, np.float32),
    ("max3s1_dil2", "max", [1, 2, 13, 14], [3, 3], [1, 1], [2, 2], [2, 1, 2, 1], 0, {}, np.float32),
    ("max1d_k5", "max", [1, 3, 40], [5], [1], [1], [2, 2], 0, {}, np.float32),
    ("max7x7", "max", [1, 2, 12, 12], [7, 7], [1, 1], [1, 1], [3, 3, 3, 3], 0, {}, np.float32),
    ("max3s2_f64", "max", [1, 2, 15, 15], [3, 3], [2, 2], [1, 1], [1, 1, 1, 1], 0, {}, np.float64),
    ("max3s2_i32", "max", [1, 2, 15, 15], [3, 3], [2, 2], [1, 1], [0, 0, 0, 0], 1, {}, np.int32),
    ("avg3s2_pad1", "avg", [1, 2, 16, 17], [3, 3], [2, 2], [1, 1], [1, 1, 1, 1], 0, {}, np.float32),
    ("avg3s2_pad1_incl", "avg", [1, 2, 16, 17], [3, 3], [2, 2], [1, 1], [1, 1, 1, 1], 0,
     {"count_include_pad": 1}, np.float32),
    ("lp2_3x3", "lp", [1, 2, 11, 12], [3, 3], [1, 1], [1, 1], [1, 1, 1, 1], 0, {"p": 2}, np.float32),
]

ONNX_TYPE = {np.float32: TensorProto.FLOAT, np.float64: TensorProto.DOUBLE,
             np.int32: TensorProto.INT32}


def make_input(shape, dtype, rng, special):
    if dtype == np.int32:
        return rng.integers(-1000, 1000, size=shape).astype(np.int32)
    x = rng.uniform(-1, 1, size=shape).astype(dtype)
    if special:
        flat = x.reshape(-1)
        picks = rng.choice(flat.size, size=max(8, flat.size // 40), replace=False)
        specials = [np.nan, np.inf, -np.inf, 0.0, -0.0]
        for i, idx in enumerate(picks):
            flat[idx] = specials[i % len(specials)]
        flat[0] = np.nan   # the first tap of the first window
    return x


def build(case, work, rng):
    name, kind, shape, k, s, d, pads, ceil, extra, dtype = case
    r = len(k)
    op = {"max": "MaxPool", "avg": "AveragePool", "lp": "LpPool"}[kind]
    attrs = dict(kernel_shape=k, strides=s, pads=pads)
    if kind != "lp":
        attrs["ceil_mode"] = ceil
    if kind == "max" or d != [1] * r:
        attrs["dilations"] = d
    attrs.update(extra)
    x = make_input(shape, dtype, rng, kind == "max" and dtype != np.int32)
    y = reference(x.astype(np.float64), kind, k, s, d, pads[:r], pads[r:], ceil,
                  extra.get("count_include_pad", 0), extra.get("p", 2)).astype(dtype)
    t = ONNX_TYPE[dtype]
    node = helper.make_node(op, ["x"], ["y"], **attrs)
    graph = helper.make_graph([node], name, [helper.make_tensor_value_info("x", t, shape)],
                              [helper.make_tensor_value_info("y", t, list(y.shape))])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)])
    mdir = os.path.join(work, name)
    ddir = os.path.join(mdir, "test_data_set_0")
    os.makedirs(ddir, exist_ok=True)
    path = os.path.join(mdir, "model.onnx")
    onnx.save(model, path)
    with open(os.path.join(ddir, "input_0.pb"), "wb") as f:
        f.write(numpy_helper.from_array(x, "x").SerializeToString())
    with open(os.path.join(ddir, "output_0.pb"), "wb") as f:
        f.write(numpy_helper.from_array(y, "y").SerializeToString())
    return path, ddir, kind


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dlc", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    rng = np.random.default_rng(7)
    failed = 0
    for case in CASES:
        path, ddir, kind = build(case, args.work, rng)
        tol = ["--atol", "0", "--rtol", "0"] if kind == "max" else ["--atol", "1e-6", "--rtol", "1e-5"]
        p = subprocess.run([args.dlc, "check", path, ddir] + tol, capture_output=True, text=True)
        ok = p.returncode == 0 and "check: PASS" in p.stdout
        print(("PASS " if ok else "FAIL ") + case[0])
        if not ok:
            failed += 1
            print(p.stdout[-2000:] + p.stderr[-2000:])
    print(f"{len(CASES) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
