"""Smoke test of bench/nodes.py, dlc's per-node comparison with ONNX
Runtime's profiler.

usage: python tests/bench/nodes.py --dlc build/dlc --work DIR

Writes a small network with the fusions both engines make (Conv +
BatchNormalization + Relu, an unnamed Conv, MatMul + Add, a LayerNorm
spelled as ReduceMean/Sub/Pow/Sqrt/Div), runs nodes.py on it for a few
runs, and fails unless: it exits 0 and prints the table and the totals;
dlc's and ORT's totals are positive; the groups' dlc times add up to the
kernels' total of dlc's own profile, and every dlc kernel and every ORT
node landed in a group of original nodes; the unnamed Conv appears as
"node N"; both engines have time in the groups of the two convolutions
and of the MatMul. A bad --shape must exit 2.
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NODES = os.path.join(ROOT, "bench", "nodes.py")


def model(path):
    rng = np.random.default_rng(3)

    def const(name, shape, scale=0.2):
        a = (rng.standard_normal(shape) * scale).astype(np.float32)
        return numpy_helper.from_array(a, name)

    inits = [const("w1", [16, 8, 3, 3]), const("b1", [16]),
             numpy_helper.from_array((np.abs(rng.standard_normal(16)) + 0.5).astype(np.float32),
                                     "bn_scale"),
             const("bn_b", [16]), const("bn_m", [16]),
             numpy_helper.from_array(rng.uniform(0.5, 1.5, 16).astype(np.float32), "bn_v"),
             const("w2", [16, 16, 3, 3], 0.1), const("fc_w", [16, 32]), const("fc_b", [32]),
             numpy_helper.from_array(np.array([2.0], np.float32), "two"),
             numpy_helper.from_array(np.array([1e-5], np.float32), "eps"),
             const("ln_g", [32], 1.0), const("ln_b", [32])]
    n = helper.make_node
    nodes = [
        n("Conv", ["x", "w1", "b1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
        n("BatchNormalization", ["c1", "bn_scale", "bn_b", "bn_m", "bn_v"], ["bn1"], name="bn1"),
        n("Relu", ["bn1"], ["r1"], name="relu1"),
        n("Conv", ["r1", "w2"], ["c2"], pads=[1, 1, 1, 1]),       # unnamed: "node 3"
        n("GlobalAveragePool", ["c2"], ["p"], name="gap"),
        n("Flatten", ["p"], ["f"], name="flatten"),
        n("MatMul", ["f", "fc_w"], ["m"], name="fc"),
        n("Add", ["m", "fc_b"], ["h"], name="fc_bias"),
        n("ReduceMean", ["h"], ["mu"], name="ln_mean", axes=[-1]),
        n("Sub", ["h", "mu"], ["d"], name="ln_sub"),
        n("Pow", ["d", "two"], ["d2"], name="ln_pow"),
        n("ReduceMean", ["d2"], ["var"], name="ln_var", axes=[-1]),
        n("Add", ["var", "eps"], ["ve"], name="ln_eps"),
        n("Sqrt", ["ve"], ["sd"], name="ln_sqrt"),
        n("Div", ["d", "sd"], ["nrm"], name="ln_div"),
        n("Mul", ["nrm", "ln_g"], ["sc"], name="ln_scale"),
        n("Add", ["sc", "ln_b"], ["y"], name="ln_shift"),
    ]
    g = helper.make_graph(nodes, "smoke",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 8, 32, 32])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 32])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)
    onnx.checker.check_model(m)
    onnx.save(m, path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dlc", default=os.path.join(ROOT, "build", "dlc"))
    ap.add_argument("--work", default="/tmp/dlc-test-nodes")
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    path = os.path.join(args.work, "smoke.onnx")
    model(path)
    out = os.path.join(args.work, "nodes.json")
    cmd = [sys.executable, NODES, path, "--dlc", args.dlc, "--shape", "x=1x8x32x32",
           "--runs", "5", "--warmup", "2", "--top", "0", "--json", out,
           "--work", os.path.join(args.work, "run")]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    print(p.stdout, end="")
    failures = []

    def check(ok, what):
        if not ok:
            failures.append(what)
            print(f"FAIL: {what}")

    check(p.returncode == 0, f"exit {p.returncode}: {p.stderr[-2000:]}")
    if p.returncode == 0:
        check("dlc ms" in p.stdout and "ORT ms" in p.stdout and "loss ms" in p.stdout,
              "no table header")
        check("total: dlc" in p.stdout, "no totals line")
        with open(out) as f:
            d = json.load(f)
        t = d["totals"]
        check(t["dlc_kernel_ms"] > 0 and t["ort_node_ms"] > 0 and t["ort_run_ms"] > 0,
              f"totals not positive: {t}")
        kernels = d["dlc_profile"]["profile"]["kernels"]
        check(abs(sum(g["dlc_ms"] for g in d["groups"]) - sum(k["ms"] for k in kernels)) < 1e-6,
              "the groups' dlc time is not the kernels' total")
        for g in d["groups"]:
            check(g["nodes"], f"time outside the original nodes: {g}")
            for k in g["dlc_kernels"]:
                check(not k["unmatched"], f"dlc kernel names not in the model: {k}")

        def group_of(node):
            return next((g for g in d["groups"] if node in g["nodes"]), None)

        for node in ("conv1", "node 3", "fc"):
            g = group_of(node)
            check(g is not None and g["dlc_ms"] > 0 and g["ort_ms"] > 0,
                  f"{node}: no time on both sides: {g and (g['dlc_ms'], g['ort_ms'])}")
        g = group_of("conv1")
        check(g is not None and {"bn1", "relu1"} <= set(g["nodes"]),
              f"conv1's group lacks the BatchNormalization and Relu fused into it: "
              f"{g and g['nodes']}")
    bad = subprocess.run([sys.executable, NODES, path, "--dlc", args.dlc, "--shape", "x=1xq"],
                         capture_output=True, text=True, timeout=120)
    check(bad.returncode == 2 and "--shape" in bad.stderr,
          f"bad --shape: exit {bad.returncode} {bad.stderr[-300:]}")
    print("PASS" if not failures else f"{len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
