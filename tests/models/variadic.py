"""Variadic elementwise rows (Sum, Mean, Max, Min) with many inputs, against
ONNX Runtime.

usage: python variadic.py --dlc build/dlc --work DIR

ONNX gives these operators any number of inputs; the rows accept up to 64.
Each case is one node over N broadcasting inputs (N = 2, 17, 64: past any
fixed-size buffer a lowering might keep), once with every input fed at run
time and once with every input a constant, so that constant folding
(ir/interp.c) evaluates the node inside dlc. Reference: ONNX Runtime's
outputs; compared with

    dlc check MODEL DATASET --rtol 1e-6 --atol 1e-6

(float32 sums of up to 64 terms in another order). Then a Split into N = 100
and 300 outputs whose pieces a Concat of N inputs joins in reverse order:
one node naming more values than the frontend's first guess at its name
table (which once filled up and made the reader probe forever), run and
folded. In the sanitizer build
dlc and the generated code run under ASan/UBSan.
"""
import os
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from run import dlc_work_args, run_built, tally  # noqa: E402


def case(op, n, constant, rng):
    """(model, feeds): op over n inputs of shapes [3, 4], [4], [1, 4] in turn."""
    shapes = [[3, 4], [4], [1, 4]]
    arrays = [rng.standard_normal(shapes[i % 3]).astype(np.float32) for i in range(n)]
    names = [f"x{i}" for i in range(n)]
    inits = [numpy_helper.from_array(a, nm) for a, nm in zip(arrays, names)] if constant else []
    # a constant-only graph still needs one run-time input: y2 = y + z
    z = helper.make_tensor_value_info("z", TensorProto.FLOAT, [3, 4])
    ins = [z] + ([] if constant else [helper.make_tensor_value_info(nm, TensorProto.FLOAT, a.shape)
                                      for nm, a in zip(names, arrays)])
    nodes = [helper.make_node(op, names, ["y"]), helper.make_node("Add", ["y", "z"], ["y2"])]
    g = helper.make_graph(nodes, "v", ins,
                          [helper.make_tensor_value_info("y2", TensorProto.FLOAT, [3, 4])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)
    feeds = {"z": rng.standard_normal([3, 4]).astype(np.float32)}
    if not constant:
        feeds.update(zip(names, arrays))
    return m, feeds


def split_concat(n, constant, rng):
    """(model, feeds): x [n, 4] split into n rows, joined back reversed, + z."""
    x = rng.standard_normal([n, 4]).astype(np.float32)
    parts = [f"p{i}" for i in range(n)]
    nodes = [helper.make_node("Split", ["x"], parts, axis=0),
             helper.make_node("Concat", parts[::-1], ["y"], axis=0),
             helper.make_node("Add", ["y", "z"], ["y2"])]
    z = helper.make_tensor_value_info("z", TensorProto.FLOAT, [n, 4])
    ins = [z] + ([] if constant else
                 [helper.make_tensor_value_info("x", TensorProto.FLOAT, [n, 4])])
    inits = [numpy_helper.from_array(x, "x")] if constant else []
    g = helper.make_graph(nodes, "s", ins,
                          [helper.make_tensor_value_info("y2", TensorProto.FLOAT, [n, 4])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)
    feeds = {"z": rng.standard_normal([n, 4]).astype(np.float32)}
    if not constant:
        feeds["x"] = x
    return m, feeds


def main():
    args = dlc_work_args(__doc__)
    rng = np.random.default_rng(0)
    cases = []
    for op in ("Sum", "Mean", "Max", "Min"):
        for n in (2, 17, 64):
            for constant in (False, True):
                cases.append((f"{op.lower()}_{n}{'_const' if constant else ''}",
                              case(op, n, constant, rng)))
    for n in (100, 300):
        for constant in (False, True):
            cases.append((f"split_concat_{n}{'_const' if constant else ''}",
                          split_concat(n, constant, rng)))
    oks = run_built(args.dlc, args.work, [(name, m, feeds) for name, (m, feeds) in cases],
                    ["--rtol", "1e-6", "--atol", "1e-6"])
    return tally(oks)


if __name__ == "__main__":
    sys.exit(main())
