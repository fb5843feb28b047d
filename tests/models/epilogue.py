"""Epilogue fusion against ONNX Runtime: one small model per pattern.

usage: python epilogue.py --dlc build/dlc --work DIR [--require-fused]

Each model is a Conv, ConvTranspose, Gemm or MatMul followed by what
passes/fuse_epilogue.c absorbs (bias Add, residual Add, Relu / Clip /
LeakyRelu / HardSwish / Sigmoid / Gelu node / the erf GELU subgraph), or by
something it must not absorb. For each, make_dataset.py writes ONNX Runtime's outputs and

    dlc check MODEL DATASET --keep DIR

compares dlc's code with them (float32 defaults: atol 1e-5, rtol 1e-4).
The line also says what fused, read from the kernel comments in model.c
("Conv+Add+LeakyRelu"); `want` is what the pass fuses once the operator's
row has OPF_EPILOGUE. With --require-fused a model whose row has the flag
(dlc fused something there) but fused something other than `want` fails;
without it, fusion is reported only.
"""
import argparse
import os
import re
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tools"))
import make_dataset  # noqa: E402
from graph_builder import G  # noqa: E402



def conv(g, x, cin, cout, k=3, bias=True, **attrs):
    per = cin // attrs.get("group", 1)
    ins = [x, g.weight([cout, per, k, k], per * k * k)]
    if bias:
        ins.append(g.const(g.rng.standard_normal(cout) * 0.1))
    return g.op("Conv", ins, pads=[k // 2] * 4, **attrs)


def models():
    """(name, builder, opset, want): builder(g) returns the output names."""
    def conv_res_leaky(g):
        x, r = g.input([1, 8, 12, 12]), g.input([1, 16, 12, 12])
        return [g.op("LeakyRelu", [g.op("Add", [conv(g, x, 8, 16), r])], alpha=0.2)]

    def conv_chan_hswish(g):
        x = g.input([1, 8, 10, 10])
        c = conv(g, x, 8, 16, bias=False)
        return [g.op("HardSwish", [g.op("Add", [g.const(g.rng.standard_normal([1, 16, 1, 1])), c])])]

    def conv_sigmoid(g):
        return [g.op("Sigmoid", [conv(g, g.input([1, 4, 9, 9]), 4, 8, strides=[2, 2])])]

    def conv_clip(g):
        c = conv(g, g.input([1, 8, 8, 8]), 8, 8, group=2)
        return [g.op("Clip", [c, g.const(0.0), g.const(6.0)])]

    def conv1d_relu(g):
        x = g.input([1, 6, 20])
        w = g.weight([12, 6, 3], 18)
        return [g.op("Relu", [g.op("Conv", [x, w, g.const(np.zeros(12))], pads=[1, 1])])]

    def conv_res_later(g):
        # the residual (Neg) comes after the Conv in node order
        x = g.input([1, 8, 8, 8])
        c = conv(g, x, 8, 8)
        return [g.op("Relu", [g.op("Add", [c, g.op("Neg", [x])])])]

    def two_convs_one_add(g):
        x = g.input([1, 8, 8, 8])
        a, b = conv(g, x, 8, 8), conv(g, x, 8, 8, k=1)
        return [g.op("Relu", [g.op("Add", [a, b])])]

    def conv_shared(g):
        # the Conv's output is also a graph output: nothing fuses
        c = conv(g, g.input([1, 4, 6, 6]), 4, 4)
        return [c, g.op("Relu", [c])]

    def convt_bias_relu(g):
        # a decoder layer: 64 -> 32 channels, 28x28 -> 56x56
        x = g.input([1, 64, 28, 28])
        y = g.op("ConvTranspose", [x, g.weight([64, 32, 3, 3], 64 * 9)], strides=[2, 2],
                 pads=[1, 1, 1, 1], output_padding=[1, 1])
        b = g.const(g.rng.standard_normal([1, 32, 1, 1]) * 0.1)
        return [g.op("Relu", [g.op("Add", [y, b])])]

    def convt_res_sigmoid(g):
        # grouped, with its own bias, and a residual
        x, r = g.input([2, 8, 5, 6]), g.input([2, 12, 10, 12])
        y = g.op("ConvTranspose", [x, g.weight([8, 6, 4, 4], 96),
                                   g.const(g.rng.standard_normal(12) * 0.1)],
                 strides=[2, 2], pads=[1, 1, 1, 1], group=2)
        return [g.op("Sigmoid", [g.op("Add", [y, r])])]

    def convt1d_leaky(g):
        x = g.input([1, 6, 20])
        y = g.op("ConvTranspose", [x, g.weight([6, 10, 5], 30)], strides=[3],
                 dilations=[2], output_shape=[64])
        return [g.op("LeakyRelu", [y], alpha=0.1)]

    def gemm_bias_relu(g):
        a = g.input([5, 32])
        y = g.op("Gemm", [a, g.weight([24, 32], 32)], transB=1)
        return [g.op("Relu", [g.op("Add", [y, g.const(g.rng.standard_normal([1, 24]))])])]

    def gemm_c_residual(g):
        a, r = g.input([4, 16]), g.input([4, 12])
        y = g.op("Gemm", [a, g.weight([16, 12], 16), g.const(g.rng.standard_normal(12))],
                 alpha=0.5, beta=2.0)
        return [g.op("Add", [r, y])]

    def matmul_gelu_tanh(g):
        x = g.input([1, 8, 32])
        y = g.op("Add", [g.op("MatMul", [x, g.weight([32, 48], 32)]),
                         g.const(g.rng.standard_normal(48) * 0.1)])
        return [g.op("Gelu", [y], approximate="tanh")]

    def matmul_gelu_node(g):
        x = g.input([2, 6, 16])
        y = g.op("Add", [g.const(g.rng.standard_normal(24) * 0.1),
                         g.op("MatMul", [x, g.weight([16, 24], 16)])])
        return [g.op("Gelu", [y])]

    def matmul_gelu_erf_c(g):
        # (x * 0.5) * (1 + erf(x * 0.7071..))
        x = g.input([1, 8, 32])
        y = g.op("Add", [g.op("MatMul", [x, g.weight([32, 40], 32)]),
                         g.const(g.rng.standard_normal(40) * 0.1)])
        e = g.op("Erf", [g.op("Mul", [y, g.const(np.float32(1 / np.sqrt(2)))])])
        a = g.op("Add", [g.const(1.0), e])
        return [g.op("Mul", [g.op("Mul", [y, g.const(0.5)]), a])]

    def matmul_res_sigmoid(g):
        x, r = g.input([3, 7, 16]), g.input([3, 7, 20])
        return [g.op("Sigmoid", [g.op("Add", [g.op("MatMul", [x, g.weight([16, 20], 16)]), r])])]

    def conv_silu(g):
        # YOLO's Conv + SiLU as exporters write it: x * Sigmoid(x)
        c = conv(g, g.input([1, 8, 12, 12]), 8, 16)
        return [g.op("Mul", [c, g.op("Sigmoid", [c])])]

    def conv_add_silu_swapped(g):
        # a residual, then Sigmoid(x) * x
        x, r = g.input([1, 8, 10, 10]), g.input([1, 8, 10, 10])
        y = g.op("Add", [conv(g, x, 8, 8), r])
        return [g.op("Mul", [g.op("Sigmoid", [y]), y])]

    def matmul_swish(g):
        x = g.input([2, 5, 16])
        return [g.op("Swish", [g.op("MatMul", [x, g.weight([16, 12], 16)])])]

    def conv_silu_shared(g):
        # the sigmoid is also read elsewhere: no SiLU fusion, the Sigmoid fuses
        c = conv(g, g.input([1, 4, 6, 6]), 4, 4)
        s = g.op("Sigmoid", [c])
        return [g.op("Mul", [c, s]), g.op("Neg", [s])]

    def matmul_bias_twice_used(g):
        # the bias Add's result feeds two nodes: only the bias fuses
        x = g.input([4, 16])
        y = g.op("Add", [g.op("MatMul", [x, g.weight([16, 8], 16)]), g.const(np.ones(8))])
        return [g.op("Relu", [y]), g.op("Neg", [y])]

    return [
        ("conv_res_leaky", conv_res_leaky, 13, "Conv+Add+LeakyRelu"),
        ("conv_chan_hswish", conv_chan_hswish, 14, "Conv+Add+HardSwish"),
        ("conv_sigmoid", conv_sigmoid, 13, "Conv+Sigmoid"),
        ("conv_clip", conv_clip, 13, "Conv+Clip"),
        ("conv1d_relu", conv1d_relu, 13, "Conv+Relu"),
        ("conv_res_later", conv_res_later, 13, "Conv+Add+Relu"),
        ("two_convs_one_add", two_convs_one_add, 13, "Conv+Add+Relu"),
        ("conv_shared", conv_shared, 13, ""),
        ("convt_bias_relu", convt_bias_relu, 13, "ConvTranspose+Add+Relu"),
        ("convt_res_sigmoid", convt_res_sigmoid, 13, "ConvTranspose+Add+Sigmoid"),
        ("convt1d_leaky", convt1d_leaky, 13, "ConvTranspose+LeakyRelu"),
        ("gemm_bias_relu", gemm_bias_relu, 13, "Gemm+Add+Relu"),
        ("gemm_c_residual", gemm_c_residual, 13, "Gemm+Add"),
        ("matmul_gelu_tanh", matmul_gelu_tanh, 20, "MatMul+Add+Gelu"),
        ("matmul_gelu_node", matmul_gelu_node, 20, "MatMul+Add+Gelu"),
        ("matmul_gelu_erf_c", matmul_gelu_erf_c, 13, "MatMul+Add+Mul+Erf+Add+Mul+Mul"),
        ("matmul_res_sigmoid", matmul_res_sigmoid, 13, "MatMul+Add+Sigmoid"),
        ("matmul_bias_twice_used", matmul_bias_twice_used, 13, "MatMul+Add"),
        ("conv_silu", conv_silu, 13, "Conv+Sigmoid+Mul"),
        ("conv_add_silu_swapped", conv_add_silu_swapped, 13, "Conv+Add+Sigmoid+Mul"),
        ("matmul_swish", matmul_swish, 24, "MatMul+Swish"),
        ("conv_silu_shared", conv_silu_shared, 13, ""),
    ]


def fused_ops(model_c):
    """The fused operator chains named in kernel comments, in order."""
    with open(model_c) as f:
        return [m for m in re.findall(r"^    /\* node \d+ '.*?' \(([A-Za-z+]+)\)", f.read(), re.M)
                if "+" in m and m.split("+")[0] in ("Conv", "ConvTranspose", "Gemm", "MatMul")]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dlc", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--require-fused", action="store_true")
    args = p.parse_args()
    dlc = os.path.abspath(args.dlc)
    passed = failed = 0
    for i, (name, build, opset, want) in enumerate(models()):
        folder = os.path.join(args.work, name)
        os.makedirs(os.path.join(folder, "keep"), exist_ok=True)
        path = os.path.join(folder, name + ".onnx")
        g = G(100 + i)
        g.save(path, build(g), opset)
        dataset = make_dataset.make_dataset(path, os.path.join(folder, "data"), seed=i)[0]
        proc = subprocess.run([dlc, "check", path, dataset, "--keep", os.path.join(folder, "keep")],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=300)
        errs = re.findall(r"max_abs=\S+ max_rel=\S+", proc.stdout)
        model_c = os.path.join(folder, "keep", "model.c")
        fused = fused_ops(model_c) if os.path.exists(model_c) else []
        note = f"fused {', '.join(fused) or 'nothing'} (want {want or 'nothing'})"
        ok = proc.returncode == 0
        why = "" if ok else (proc.stdout.strip().splitlines() or ["?"])[-1]
        if ok and args.require_fused and fused and want not in fused:
            ok, why = False, "fused the wrong chain"
        if ok and want == "" and fused:
            ok, why = False, "fused what must not fuse"
        print(f"{'PASS' if ok else 'FAIL'} {name}: {' '.join(errs)} {note}{'  ' + why if why else ''}",
              flush=True)
        passed += ok
        failed += not ok
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
