"""Softplus, Mish and Swish at extreme inputs against ONNX Runtime.

usage: python activations.py --dlc build/dlc --work DIR

Softplus (and Mish, which applies it) is max(x, 0) + log1p(exp(-|x|)) in
ops/elementwise.c: log(exp(x) + 1) gives inf once exp(x) overflows
(x > 88.7 in float) and 0 once exp(x) is below float epsilon (x < -16.6)
where the answer is exp(x). Each model is one node on a vector of
extreme values (-1000 ... 1000, +-0, +-inf, NaN) and random ones; its
reference output is written as output_0.pb and

    dlc check MODEL DATASET --atol ATOL --rtol RTOL

compares the generated code with it, element by element:
|got - want| <= atol + rtol * |want| (NaN matches NaN, infinities exactly).

    case              reference                                    atol    rtol
    softplus_f32      ONNX Runtime, float                          1e-40   1e-6
    mish_f32          ONNX Runtime, float                          1e-40   1e-6
    swish_f32         NumPy x / (1 + exp(-alpha x)) in double,     1e-36   1e-6
                      rounded to float
    swish_alpha_f32   the same, alpha = 0.5                        1e-36   1e-6
    swish_ort_f32     ONNX Runtime, float                          5e-6    1e-5
    swish_ort_alpha   the same, alpha = 0.5                        5e-6    1e-5
    softplus_f16      ONNX Runtime, float16                        6e-8    1e-3
    softplus_f64      NumPy logaddexp(0, x) (ORT has no double     1e-300  1e-14
                      Softplus)
    folded_f32        ONNX Runtime, float: Softplus and Mish of a  1e-40   1e-6
                      constant, folded at compile time by
                      ir/interp.c, beside Softplus of the input

atol 1e-40 is below the smallest normal float (1.2e-38): results that
are normal floats are held to rtol, subnormal ones (Softplus below -87)
may differ in their last bits. ONNX Runtime's Swish is not exact: in
float its Sigmoid is off by up to about 1e-7 absolute, so x * sigmoid(x)
is off by up to about 1e-7 * |x| (3.3e-6 here, at x = 36 with alpha 0.5)
and is -0 below x = -18; in double it loses relative accuracy below
about -28 (3% at -34) and is -0 below about -40. The swish_ort cases hold
dlc to ONNX Runtime's float output within that error; swish_f32 and
swish_alpha_f32 hold it to the exact value.
dlc's Swish is x / (1 + exp(-alpha x)), which is -0 once exp overflows
(alpha x < -88.7) while x * sigmoid(x) is still a normal float down to
about -92: atol 1e-36 accepts that tail. folded_f32 also fails unless
model.c calls log1p (rt_vmath_log1pf, runtime/vmath.c) exactly once (only
the non-constant Softplus is left to run).
"""
import argparse
import os
import re
import sys

import numpy as np
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "tools"))
from make_dataset import write_case  # noqa: E402
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import check, tally  # noqa: E402

EXTREMES = [-1000, -200, -104, -100, -89, -88, -87, -20, -17, -1, -1e-8, -0.0, 0.0, 1e-8, 1,
            17, 20, 88, 89, 100, 1000, np.inf, -np.inf, np.nan]

ONNX_TYPE = {np.float16: TensorProto.FLOAT16, np.float32: TensorProto.FLOAT,
             np.float64: TensorProto.DOUBLE}


def inputs(dtype, rng):
    x = np.concatenate([np.array(EXTREMES, np.float64), rng.uniform(-110, 110, 500),
                        rng.standard_normal(500) * 4])
    return x.astype(dtype)


def model(nodes, ins, outs, opset, inits=()):
    graph = helper.make_graph(nodes, "g", ins, outs, initializer=list(inits))
    # IR version 10: what the installed ONNX Runtime reads.
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=10)


def one_node(op, opset, dtype, n, **attrs):
    t = ONNX_TYPE[dtype]
    return model([helper.make_node(op, ["x"], ["y"], **attrs)],
                 [helper.make_tensor_value_info("x", t, [n])],
                 [helper.make_tensor_value_info("y", t, [n])], opset)


def ort_run(m, feeds):
    s = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    return s.run(None, feeds)


def single(op, opset, dtype, ref, **attrs):
    """A case of one node; ref: 'ort' or 'numpy' (float64, rounded to dtype)."""
    def build(rng):
        x = inputs(dtype, rng)
        m = one_node(op, opset, dtype, x.size, **attrs)
        if ref == "ort":
            return m, [x], ort_run(m, {"x": x})
        x64 = x.astype(np.float64)
        with np.errstate(over="ignore", invalid="ignore"):
            if op == "Softplus":
                y = np.logaddexp(0, x64)
            else:   # Swish
                y = x64 / (1 + np.exp(-attrs.get("alpha", 1.0) * x64))
        return m, [x], [y.astype(dtype)]
    return build


def folded(rng):
    """y = Softplus(x); c1 = Softplus(c), c2 = Mish(c) with c a constant."""
    x = inputs(np.float32, rng)
    c = numpy_helper.from_array(x.copy(), "c")
    t = TensorProto.FLOAT
    nodes = [helper.make_node("Softplus", ["x"], ["y"]),
             helper.make_node("Softplus", ["c"], ["c1"]),
             helper.make_node("Mish", ["c"], ["c2"])]
    outs = [helper.make_tensor_value_info(v, t, [x.size]) for v in ("y", "c1", "c2")]
    m = model(nodes, [helper.make_tensor_value_info("x", t, [x.size])], outs, 22, [c])
    return m, [x], ort_run(m, {"x": x})


CASES = [
    # name, build, atol, rtol
    ("softplus_f32", single("Softplus", 22, np.float32, "ort"), 1e-40, 1e-6),
    ("mish_f32", single("Mish", 22, np.float32, "ort"), 1e-40, 1e-6),
    ("swish_f32", single("Swish", 24, np.float32, "numpy"), 1e-36, 1e-6),
    ("swish_alpha_f32", single("Swish", 24, np.float32, "numpy", alpha=0.5), 1e-36, 1e-6),
    ("swish_ort_f32", single("Swish", 24, np.float32, "ort"), 5e-6, 1e-5),
    ("swish_ort_alpha", single("Swish", 24, np.float32, "ort", alpha=0.5), 5e-6, 1e-5),
    ("softplus_f16", single("Softplus", 22, np.float16, "ort"), 6e-8, 1e-3),
    ("softplus_f64", single("Softplus", 22, np.float64, "numpy"), 1e-300, 1e-14),
    ("folded_f32", folded, 1e-40, 1e-6),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dlc", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    oks = []
    for name, build, atol, rtol in CASES:
        m, xs, ys = build(np.random.default_rng(11))
        path, ddir = write_case(args.work, name, m, xs, ys)
        keep = os.path.join(args.work, name, "keep")
        ok, why = check(args.dlc, path, ddir,
                        ["--atol", str(atol), "--rtol", str(rtol), "--keep", keep], 600)
        note = f" {why}" if why else ""
        if ok and name == "folded_f32":
            with open(os.path.join(keep, "model.c")) as f:
                # calls, not the definition rt_vmath_log1pf(float x)
                calls = len(re.findall(r"log1pf\((?!float )", f.read()))
            ok = calls == 1
            note += f" (model.c calls log1p {calls} times, want 1)"
        print(("PASS " if ok else "FAIL ") + name + note, flush=True)
        oks.append(ok)
    return tally(oks)


if __name__ == "__main__":
    sys.exit(main())
