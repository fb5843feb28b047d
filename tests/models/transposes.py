"""Transposes on the blocked kernel (runtime/transpose.c), against ONNX Runtime.

usage: python transposes.py --dlc build/dlc --work DIR

A Transpose whose innermost output axis is not the input's becomes a
KC_TRANSPOSE call (ops/data.c): the output's axes merged where they stay
adjacent in the input, then a tiled 2-D transpose of the input's
contiguous axis and the output's innermost one, over up to two outer
axes. Each case here is one float32 Transpose (between two Relu nodes,
so that the input is computed at run time and the output is no graph
input) with sizes that leave partial tiles and partial register blocks
on both axes; `dlc check` must match ONNX Runtime exactly (--atol 0
--rtol 0: a transpose moves values, it computes none). Each runs with
the generated code compiled three ways (DLC_CHECK_CFLAGS): portable
(-O2: the scalar tiles), -mavx2 -mfma (8 x 8 register blocks) and
-march=native (16 x 16 where the CPU has AVX-512); in the sanitizer
build those flags are appended to its own. The script also asserts that
the cases meant for the kernel call it (`rt_transpose(` in model.c) and
that the two meant for loops (a small one; one that merges to rank 5)
do not, so the test cannot pass on the loop path alone.
"""
import os
import subprocess
import sys

import numpy as np
from onnx import TensorProto, helper

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from run import dlc_work_args, run_built, tally  # noqa: E402

# (name, input shape, perm, on the kernel call?)
CASES = [
    ("t2d", [67, 45], [1, 0], True),
    ("tall", [4096, 19], [1, 0], True),
    ("batched", [3, 33, 70], [0, 2, 1], True),
    ("nchw_to_nhwc", [2, 24, 9, 11], [0, 2, 3, 1], True),
    ("nhwc_to_nchw", [1, 15, 17, 40], [0, 3, 1, 2], True),
    ("heads", [2, 50, 6, 20], [0, 2, 3, 1], True),
    ("two_outer", [5, 3, 18, 37], [1, 0, 3, 2], True),
    ("merged", [4, 6, 8, 10, 3], [2, 3, 4, 0, 1], True),
    ("row_copy", [4, 64, 40], [1, 0, 2], False),
    ("small", [7, 9], [1, 0], False),
    ("rank5", [3, 4, 5, 6, 7], [4, 2, 0, 3, 1], False),
]

FLAGS = [("portable", "-O2"), ("avx2", "-O2 -mavx2 -mfma"), ("native", "-O3 -march=native")]


def model(shape, perm):
    nodes = [helper.make_node("Relu", ["x"], ["r"]),
             helper.make_node("Transpose", ["r"], ["t"], perm=perm),
             helper.make_node("Relu", ["t"], ["y"])]
    g = helper.make_graph(nodes, "transpose",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)


def calls_kernel(dlc, path, work):
    out = os.path.join(work, "model.c")
    subprocess.run([dlc, path, "-o", out], check=True, capture_output=True)
    with open(out) as f:
        return "rt_transpose(" in f.read()


def main():
    args = dlc_work_args(__doc__)
    rng = np.random.default_rng(0)
    cases = []
    for name, shape, perm, _ in CASES:
        feeds = {"x": rng.uniform(-1, 1, shape).astype(np.float32)}
        cases.append((name, model(shape, perm), feeds))
    oks = []
    base = os.environ.get("DLC_CHECK_CFLAGS", "")
    for tag, flags in FLAGS:
        os.environ["DLC_CHECK_CFLAGS"] = (base + " " + flags).strip()
        print(f"-- {tag}: DLC_CHECK_CFLAGS={os.environ['DLC_CHECK_CFLAGS']}", flush=True)
        oks += run_built(args.dlc, os.path.join(args.work, tag), cases,
                         ["--rtol", "0", "--atol", "0"])
    for (name, _, _, want), (_, m, _) in zip(CASES, cases):
        path = os.path.join(args.work, "native", name, "model.onnx")
        got = calls_kernel(args.dlc, path, os.path.join(args.work, "native", name))
        ok = got == want
        print(f"{'PASS' if ok else 'FAIL'} {name}: rt_transpose {'called' if got else 'not called'}"
              f" (expected {'called' if want else 'loops'})")
        oks.append(ok)
    return tally(oks)


if __name__ == "__main__":
    sys.exit(main())
