"""Gemm and MatMul shapes against a float64 NumPy reference, for either GEMM
backend.

usage: python products.py --dlc build/dlc --work DIR [--blas builtin|openblas]

Each case is one small model: Gemm with every transA/transB pair, alpha,
beta and a bias broadcast from [N], [M, 1] or [M, N], with M, N or K equal
to 1 (the matrix-vector paths) or not; MatMul with batched and broadcast
operands; MatMul + Add (bias) + Relu and + Add (residual), which the
compiler fuses into the product's epilogue; a Gemm whose weights include
subnormals (stored as zeros by the C target). Inputs are random floats
(weights constant, so the built-in backend prepacks them), the reference
is computed in float64 and written as output_0.pb, and

    dlc check MODEL DATASET --atol 1e-5 --rtol 1e-4 [--blas B]

compares. With --blas openblas every case must also call OpenBLAS
(rt_blas_sgemm) in the generated code. DLC_CHECK_CFLAGS passes through.
"""
import argparse
import os
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

TOL = ["--atol", "1e-5", "--rtol", "1e-4"]


def save_set(folder, inputs, output):
    os.makedirs(folder, exist_ok=True)
    for i, a in enumerate(inputs):
        t = numpy_helper.from_array(a.astype(np.float32), f"in{i}")
        open(os.path.join(folder, f"input_{i}.pb"), "wb").write(t.SerializeToString())
    t = numpy_helper.from_array(output.astype(np.float32), "y")
    open(os.path.join(folder, "output_0.pb"), "wb").write(t.SerializeToString())


def model(nodes, inputs, inits, out_shape):
    vi = [helper.make_tensor_value_info(n, TensorProto.FLOAT, list(a.shape)) for n, a in inputs]
    init = [numpy_helper.from_array(a.astype(np.float32), n) for n, a in inits]
    g = helper.make_graph(nodes, "p", vi, [helper.make_tensor_value_info(
        "y", TensorProto.FLOAT, list(out_shape))], init)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])


def cases(rng):
    r = lambda *s: rng.uniform(-1, 1, s)  # noqa: E731
    for M, N, K in ((1, 7, 5), (6, 1, 5), (1, 1, 9), (5, 9, 1), (33, 40, 17)):
        for ta in (0, 1):
            for tb in (0, 1):
                for cshape, alpha, beta in (((N,), 1.0, 1.0), ((M, 1), 0.5, 1.0),
                                            ((M, N), 1.5, -0.5), (None, 1.0, 0.0)):
                    a = r(*((K, M) if ta else (M, K)))
                    b = r(*((N, K) if tb else (K, N)))
                    want = alpha * ((a.T if ta else a) @ (b.T if tb else b))
                    inits = [("b", b)]
                    ins = ["a", "b"]
                    if cshape:
                        c = r(*cshape)
                        want = want + beta * c
                        inits.append(("c", c))
                        ins.append("c")
                    node = helper.make_node("Gemm", ins, ["y"], alpha=alpha, beta=beta,
                                            transA=ta, transB=tb)
                    name = f"gemm_{M}x{N}x{K}_t{ta}{tb}_c{'x'.join(map(str, cshape or ()))}"
                    yield name, model([node], [("a", a)], inits, want.shape), [a], want
    # batched MatMul: both batched, B broadcast, A broadcast, 1-D operands
    for sa, sb in (((3, 4, 5), (3, 5, 6)), ((2, 3, 4, 5), (5, 6)), ((4, 5), (2, 5, 3)),
                   ((5,), (2, 5, 3)), ((2, 3, 5), (5,)), ((2, 1, 4, 5), (1, 3, 5, 2))):
        a, b = r(*sa), r(*sb)
        want = np.matmul(a, b)
        node = helper.make_node("MatMul", ["a", "b"], ["y"])
        name = f"matmul_{'x'.join(map(str, sa))}_{'x'.join(map(str, sb))}"
        vi = [("a", a), ("b", b)]
        yield name, model([node], vi, [], want.shape), [a, b], want
    # fused epilogues: bias + relu, residual
    a, w, bias, res = r(6, 16), r(16, 24), r(24), r(6, 24)
    nodes = [helper.make_node("MatMul", ["a", "w"], ["t"]),
             helper.make_node("Add", ["t", "bias"], ["u"]),
             helper.make_node("Relu", ["u"], ["y"])]
    yield ("matmul_bias_relu", model(nodes, [("a", a)], [("w", w), ("bias", bias)], (6, 24)),
           [a], np.maximum(a @ w + bias, 0))
    nodes = [helper.make_node("MatMul", ["a", "w"], ["t"]),
             helper.make_node("Add", ["t", "res"], ["y"])]
    yield ("matmul_residual", model(nodes, [("a", a), ("res", res)], [("w", w)], (6, 24)),
           [a, res], a @ w + res)
    # subnormal weights (as weight decay leaves them): the C target stores
    # them as zeros, which must stay within the tolerance
    ws = r(16, 24) * (rng.random((16, 24)) < 0.7)
    ws[rng.random((16, 24)) < 0.4] = 1e-40
    ws[0, :4] = [-1e-39, 1e-45, -1e-45, 5e-41]
    ws = ws.astype(np.float32)
    node = helper.make_node("Gemm", ["a", "w"], ["y"])
    yield ("gemm_subnormal_weights", model([node], [("a", a)], [("w", ws)], (6, 24)), [a],
           a @ ws.astype(np.float64))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dlc", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--blas", choices=["builtin", "openblas"])
    args = p.parse_args()
    dlc = os.path.abspath(args.dlc)
    rng = np.random.default_rng(7)
    failed = passed = 0
    for i, (name, m, inputs, want) in enumerate(cases(rng)):
        name = f"{i:02d}_{name}"
        folder = os.path.join(args.work, name)
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, "model.onnx")
        onnx.save(m, path)
        save_set(os.path.join(folder, "set"), inputs, want)
        keep = os.path.join(folder, "keep")
        argv = [dlc, "check", path, os.path.join(folder, "set"), *TOL, "--keep", keep]
        if args.blas:
            argv += ["--blas", args.blas]
        r = subprocess.run(argv, capture_output=True, text=True, timeout=300)
        ok, why = r.returncode == 0, (r.stdout + r.stderr).strip().splitlines()[-2:]
        if ok and args.blas == "openblas":
            with open(os.path.join(keep, "model.c")) as f:
                ok = "rt_blas_sgemm" in f.read()
            why = ["no OpenBLAS call in the generated code"]
        print(f"{'PASS' if ok else 'FAIL'} {name}" + ("" if ok else f": {' / '.join(why)}"),
              flush=True)
        passed += ok
        failed += not ok
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
