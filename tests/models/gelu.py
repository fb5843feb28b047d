"""GELU chains as exporters spell them, against the exact GELU.

usage: python gelu.py --dlc build/dlc --work DIR

passes/fuse_gelu.c rewrites a fused GELU chain (tanh form: to
x / (1 + exp(-2u)); erf form: to h + h erf(x / sqrt 2)). Each case is one
spelling on a vector of extreme values (+-20, +-1e-30, +-0, +-inf) and
random ones; its reference is the formula the chain spells, in double
precision (NumPy, math.erf), rounded to the model's type, written as
output_0.pb, and

    dlc check MODEL DATASET --atol ATOL --rtol RTOL

compares the generated code with it element by element (|got - want| <=
atol + rtol |want|, NaN matches NaN, infinities exactly). Tolerances:
tanh form in float32 atol 1e-7, rtol 1e-5 (exp within 2 ulp, u's own
rounding times 2u); erf form atol 1e-6 (erf's 4e-7 absolute error, times
|x / 2| <= 2 where the rational runs), rtol 1e-5; float16 atol 1e-4, rtol
2e-3. The tanh-form cases also fail unless model.c calls no tanh (the
chain was rewritten); tanh_near_miss (0.04 instead of 0.044715) fails
unless it still calls tanh (it must not be rewritten).
"""
import argparse
import math
import os
import re
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "tools"))
from make_dataset import write_case  # noqa: E402
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import check, tally  # noqa: E402

K = math.sqrt(2 / math.pi)
EXTREMES = [-20, -8, -4, -1e-30, -0.0, 0.0, 1e-30, 4, 8, 20, np.inf, -np.inf]
TYPES = {np.float32: TensorProto.FLOAT, np.float16: TensorProto.FLOAT16}


def model(nodes, consts, dtype, n, extra_inputs=()):
    t = TYPES[dtype]
    inits = [numpy_helper.from_array(np.array(v, dtype=dtype), k) for k, v in consts.items()]
    ins = [helper.make_tensor_value_info("x", t, [n])] + list(extra_inputs)
    g = helper.make_graph(nodes, "g", ins, [helper.make_tensor_value_info("y", t, [n])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], ir_version=10)
    onnx.checker.check_model(m)
    return m


def tanh_ref(x, c=0.044715):
    with np.errstate(invalid="ignore", over="ignore"):
        return 0.5 * x * (1 + np.tanh(K * (x + c * x ** 3)))


def erf_ref(x):
    with np.errstate(invalid="ignore"):
        return 0.5 * x * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))


N = helper.make_node
SPELLINGS = {
    # torch's tanh GELU: h = x/2, Pow(x, 3)
    "tanh_pow": ([N("Mul", ["x", "half"], ["h"]), N("Pow", ["x", "three"], ["x3"]),
                  N("Mul", ["x3", "c"], ["cx3"]), N("Add", ["x", "cx3"], ["s"]),
                  N("Mul", ["s", "k"], ["u"]), N("Tanh", ["u"], ["t"]),
                  N("Add", ["t", "one"], ["t1"]), N("Mul", ["h", "t1"], ["y"])],
                 {"half": 0.5, "three": 3.0, "c": 0.044715, "k": K, "one": 1.0}, tanh_ref),
    # x*x*x, constants first, Div by 2 last
    "tanh_mul_div": ([N("Mul", ["x", "x"], ["x2"]), N("Mul", ["x2", "x"], ["x3"]),
                      N("Mul", ["c", "x3"], ["cx3"]), N("Add", ["cx3", "x"], ["s"]),
                      N("Mul", ["k", "s"], ["u"]), N("Tanh", ["u"], ["t"]),
                      N("Add", ["one", "t"], ["t1"]), N("Mul", ["x", "t1"], ["xt"]),
                      N("Div", ["xt", "two"], ["y"])],
                     {"c": 0.044715, "k": K, "one": 1.0, "two": 2.0}, tanh_ref),
    # sqrt(2/pi) distributed: k x + (k 0.044715) x^3; 0.5 applied to the sum
    "tanh_distributed": ([N("Mul", ["x", "x"], ["x2"]), N("Mul", ["x", "x2"], ["x3"]),
                          N("Mul", ["x", "k"], ["a"]), N("Mul", ["x3", "kc"], ["b"]),
                          N("Add", ["a", "b"], ["u"]), N("Tanh", ["u"], ["t"]),
                          N("Add", ["t", "one"], ["t1"]), N("Mul", ["t1", "half"], ["t2"]),
                          N("Mul", ["t2", "x"], ["y"])],
                         {"k": K, "kc": K * 0.044715, "one": 1.0, "half": 0.5}, tanh_ref),
    # x itself computed: the chain reads z + b (a bias add fused into the loop)
    "tanh_of_sum": ([N("Add", ["x", "b"], ["z"]), N("Pow", ["z", "three"], ["x3"]),
                     N("Mul", ["x3", "c"], ["cx3"]), N("Add", ["z", "cx3"], ["s"]),
                     N("Mul", ["s", "k"], ["u"]), N("Tanh", ["u"], ["t"]),
                     N("Add", ["t", "one"], ["t1"]), N("Mul", ["z", "t1"], ["zt"]),
                     N("Mul", ["zt", "half"], ["y"])],
                    {"three": 3.0, "c": 0.044715, "k": K, "one": 1.0, "half": 0.5, "b": 0.25},
                    lambda x: tanh_ref(x + 0.25)),
    # not GELU: a different cubic coefficient
    "tanh_near_miss": ([N("Mul", ["x", "half"], ["h"]), N("Pow", ["x", "three"], ["x3"]),
                        N("Mul", ["x3", "c"], ["cx3"]), N("Add", ["x", "cx3"], ["s"]),
                        N("Mul", ["s", "k"], ["u"]), N("Tanh", ["u"], ["t"]),
                        N("Add", ["t", "one"], ["t1"]), N("Mul", ["h", "t1"], ["y"])],
                       {"half": 0.5, "three": 3.0, "c": 0.04, "k": K, "one": 1.0},
                       lambda x: tanh_ref(x, 0.04)),
    # torch's nn.GELU(): Div by sqrt 2
    "erf_div": ([N("Div", ["x", "sqrt2"], ["d"]), N("Erf", ["d"], ["e"]),
                 N("Add", ["e", "one"], ["e1"]), N("Mul", ["x", "e1"], ["xe"]),
                 N("Mul", ["xe", "half"], ["y"])],
                {"sqrt2": math.sqrt(2), "one": 1.0, "half": 0.5}, erf_ref),
    # Mul by 1/sqrt 2, constants first, 0.5 applied to x first
    "erf_mul": ([N("Mul", ["r", "x"], ["d"]), N("Erf", ["d"], ["e"]),
                 N("Add", ["one", "e"], ["e1"]), N("Mul", ["half", "x"], ["h"]),
                 N("Mul", ["h", "e1"], ["y"])],
                {"r": math.sqrt(0.5), "one": 1.0, "half": 0.5}, erf_ref),
}
CASES = [
    # name, spelling, dtype, atol, rtol
    ("tanh_pow", "tanh_pow", np.float32, 1e-7, 1e-5),
    ("tanh_mul_div", "tanh_mul_div", np.float32, 1e-7, 1e-5),
    ("tanh_distributed", "tanh_distributed", np.float32, 1e-7, 1e-5),
    ("tanh_of_sum", "tanh_of_sum", np.float32, 1e-7, 1e-5),
    ("tanh_near_miss", "tanh_near_miss", np.float32, 1e-7, 1e-5),
    ("erf_div", "erf_div", np.float32, 1e-6, 1e-5),
    ("erf_mul", "erf_mul", np.float32, 1e-6, 1e-5),
    ("tanh_pow_f16", "tanh_pow", np.float16, 1e-4, 2e-3),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dlc", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    oks = []
    for name, spelling, dtype, atol, rtol in CASES:
        nodes, consts, ref = SPELLINGS[spelling]
        rng = np.random.default_rng(5)
        x = np.concatenate([np.array(EXTREMES), rng.standard_normal(1000) * 3]).astype(dtype)
        y = ref(x.astype(np.float64)).astype(dtype)
        path, ddir = write_case(args.work, name, model(nodes, consts, dtype, x.size), [x], [y])
        keep = os.path.join(args.work, name, "keep")
        ok, why = check(args.dlc, path, ddir,
                        ["--atol", str(atol), "--rtol", str(rtol), "--keep", keep], 600)
        note = f" {why}" if why else ""
        if ok and spelling.startswith("tanh"):
            with open(os.path.join(keep, "model.c")) as f:
                calls = len(re.findall(r"tanhf?\((?!float )", f.read()))
            want_calls = spelling == "tanh_near_miss"
            ok = (calls > 0) == want_calls
            note += f" (model.c calls tanh {calls} times, want {'some' if want_calls else 'none'})"
        print(("PASS " if ok else "FAIL ") + name + note, flush=True)
        oks.append(ok)
    return tally(oks)


if __name__ == "__main__":
    sys.exit(main())
