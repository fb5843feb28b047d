"""Shape-computing graphs, TopK and Einsum against ONNX Runtime.

usage: python shape_ops.py --dlc build/dlc --work DIR [--only NAME...]

Each case is a small model built with onnx.helper; ONNX Runtime computes
the expected outputs for seeded random inputs and

    dlc check MODEL DATASET --atol 1e-5 --rtol 1e-4 [--shape/--freeze ...]

compares (integers exactly). The cases:
- torch_export_*: shape_ops/dynamic_reshape.onnx, written by
  torch.onnx.export from shape_ops/export.py with dynamic batch and time
  dims (Reshape, Einsum, TopK, Range, Expand, ConstantOfShape, Where,
  Equal, Slice, Tile on shape chains), at two sizes.
- exported_chain: what torch.onnx.export writes around a dynamic reshape:
  Reshape, Slice, Expand, Tile, ConstantOfShape, Range and TopK whose
  shape inputs come from Shape -> Gather -> Unsqueeze -> Concat / Mul / Div
  chains, plus an Einsum; every one must fold at compile time, with the
  batch dim symbolic and bound by --shape.
- freeze_*: a shape-setting graph input (a sequence length, a rate) bound
  by --freeze from the data set's own value.
- einsum_*: batched products in every transposed layout (the GEMM path),
  and transposes, sums, diagonals, ellipses, three operands (the loop path),
  in float32, float64 and int32.
- topk_*: opsets 1 (attribute k), 10 and 11 (largest/smallest, ties lower
  index first), float32 and int64, along inner and outer axes.
- nonzero_constant: NonZero of a constant mask, folded at compile time.
- bfloat16_cast: Cast to bfloat16 at rounding midpoints and back.
- slice_step_*: Slice steps near the int64 limits.
Prints `ok NAME` / `FAIL NAME: why` and `N passed, M failed`.
"""
import argparse
import os
import subprocess
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

TOL = ["--atol", "1e-5", "--rtol", "1e-4"]
I64 = TensorProto.INT64


def make(nodes, inputs, outputs, inits=(), opset=17):
    """inputs: [(name, elem_type, dims)]; outputs: names (types inferred)."""
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info(*i) for i in inputs],
                          [helper.make_empty_tensor_value_info(o) for o in outputs],
                          [numpy_helper.from_array(np.asarray(a), n) for n, a in inits])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    m = onnx.shape_inference.infer_shapes(m)   # the outputs' types (ONNX Runtime checks the rest)

    return m


def const(name, array):
    return helper.make_node("Constant", [], [name], value=numpy_helper.from_array(np.asarray(array), name))


def exported_chain(rng):
    """x: [batch, 6, 8] float; every shape below comes from Shape(x)."""
    n = helper.make_node
    nodes = [
        n("Shape", ["x"], ["shp"]),
        const("i0", np.array(0, np.int64)), const("i1", np.array(1, np.int64)),
        const("i2", np.array(2, np.int64)), const("two", np.array(2, np.int64)),
        const("ax0", np.array([0], np.int64)), const("minus1", np.array([-1], np.int64)),
        n("Gather", ["shp", "i0"], ["b"], axis=0),
        n("Gather", ["shp", "i1"], ["t"], axis=0),
        n("Gather", ["shp", "i2"], ["c"], axis=0),
        # Reshape(x, [b, t * 2, c / 2])
        n("Mul", ["t", "two"], ["t2"]), n("Div", ["c", "two"], ["c2"]),
        n("Unsqueeze", ["b", "ax0"], ["b_"]), n("Unsqueeze", ["t2", "ax0"], ["t2_"]),
        n("Unsqueeze", ["c2", "ax0"], ["c2_"]),
        n("Concat", ["b_", "t2_", "c2_"], ["rs_shape"], axis=0),
        n("Reshape", ["x", "rs_shape"], ["r"]),
        # Slice(r, starts=[t/2], ends=[t*2 - 1], axes=[1])
        n("Div", ["t", "two"], ["th"]), n("Unsqueeze", ["th", "ax0"], ["th_"]),
        n("Sub", ["t2", "i1"], ["tend"]), n("Unsqueeze", ["tend", "ax0"], ["tend_"]),
        const("ax1", np.array([1], np.int64)),
        n("Slice", ["r", "th_", "tend_", "ax1"], ["sl"]),
        # Expand a [1, 1, c/2] bias to Shape(sl)
        n("Shape", ["sl"], ["sl_shape"]),
        n("Expand", ["bias", "sl_shape"], ["bias_e"]), n("Add", ["sl", "bias_e"], ["y0"]),
        # Tile(x, [1, 1, b]) with the repeats from Concat
        const("one1", np.array([1], np.int64)),
        n("Concat", ["one1", "one1", "b_"], ["reps"], axis=0),
        n("Tile", ["x", "reps"], ["y1"]),
        # ConstantOfShape([b, t]) + Range(0, c, 1) as an int64 position grid
        n("Unsqueeze", ["t", "ax0"], ["t_"]), n("Concat", ["b_", "t_"], ["bt"], axis=0),
        n("ConstantOfShape", ["bt"], ["ones"], value=numpy_helper.from_array(np.array([1], np.int64))),
        n("Range", ["i0", "t", "i1"], ["pos"]),
        n("Mul", ["ones", "pos"], ["y2"]),
        # TopK with k = c / 2 along the last axis
        n("Unsqueeze", ["c2", "ax0"], ["k"]),
        n("TopK", ["x", "k"], ["y3", "y4"], axis=-1),
        # Einsum over the reshaped tensor: per-batch Gram matrix
        n("Einsum", ["r", "r"], ["y5"], equation="btc,bsc->bts"),
        n("Reshape", ["y5", "minus1"], ["y6"]),
    ]
    bias = rng.standard_normal((1, 1, 4)).astype(np.float32)
    m = make(nodes, [("x", TensorProto.FLOAT, ["batch", 6, 8])],
             ["y0", "y1", "y2", "y3", "y4", "y6"], [("bias", bias)], opset=17)
    x = rng.standard_normal((3, 6, 8)).astype(np.float32)
    return m, {"x": x}, ["--shape", "x=3x6x8"]


def freeze_cases(rng):
    n = helper.make_node
    # a sequence length fed as an input: Range + Slice + Reshape depend on it
    nodes = [const("z", np.array(0, np.int64)), const("o", np.array(1, np.int64)),
             const("ax0", np.array([0], np.int64)),
             n("Range", ["z", "len", "o"], ["pos"]),
             n("Unsqueeze", ["len", "ax0"], ["len_"]),
             n("Slice", ["x", "ax0", "len_", "ax0"], ["xs"]),
             n("Cast", ["pos"], ["posf"], to=TensorProto.FLOAT),
             n("Unsqueeze", ["posf", "o"], ["posc"]),
             n("Add", ["xs", "posc"], ["y"])]
    m = make(nodes, [("x", TensorProto.FLOAT, [10, 4]), ("len", I64, [])], ["y"])
    feeds = {"x": rng.standard_normal((10, 4)).astype(np.float32), "len": np.array(7, np.int64)}
    yield "freeze_seq_len", m, feeds, ["--freeze", "len=@len"]
    # two frozen inputs feeding one Reshape through Concat
    nodes = [const("ax0", np.array([0], np.int64)),
             n("Unsqueeze", ["h", "ax0"], ["h_"]), n("Unsqueeze", ["w", "ax0"], ["w_"]),
             n("Concat", ["h_", "w_"], ["hw"], axis=0), n("Reshape", ["x", "hw"], ["y"])]
    m = make(nodes, [("x", TensorProto.FLOAT, [24]), ("h", I64, []), ("w", I64, [])], ["y"])
    feeds = {"x": rng.standard_normal(24).astype(np.float32), "h": np.array(4, np.int64),
             "w": np.array(6, np.int64)}
    yield "freeze_two_inputs", m, feeds, ["--freeze", "h=@h", "--freeze", "w=@w"]


EQUATIONS = [  # (equation, input shapes): the GEMM path first, then loops
    ("bij,bjk->bik", [(3, 4, 5), (3, 5, 6)]),
    ("bji,bjk->bik", [(3, 5, 4), (3, 5, 6)]),
    ("bij,bkj->bik", [(3, 4, 5), (3, 6, 5)]),
    ("bji,bkj->bik", [(3, 5, 4), (3, 6, 5)]),
    ("bhqd,bhkd->bhqk", [(2, 3, 4, 8), (2, 3, 5, 8)]),
    ("hbqd,bhkd->bhqk", [(3, 2, 4, 8), (2, 3, 5, 8)]),
    ("ij,jk", [(4, 5), (5, 6)]),
    ("i,i", [(7,), (7,)]),
    ("i,j->ij", [(3,), (4,)]),
    ("ij->ji", [(3, 4)]),
    ("ij->i", [(3, 4)]),
    ("ij->", [(3, 4)]),
    ("ii->i", [(4, 4)]),
    ("...ii->...i", [(2, 3, 4, 4)]),
    ("...ij,...jk->...ik", [(2, 1, 3, 4), (1, 5, 4, 2)]),
    ("bij,bjk->bki", [(2, 3, 4), (2, 4, 5)]),
    ("ij,jk,kl->il", [(3, 4), (4, 5), (5, 2)]),
    ("abc,cd->abd", [(2, 3, 4), (4, 5)]),
    ("ij,ij->ij", [(3, 4), (3, 4)]),
]


def einsum_cases(rng):
    for i, (eq, shapes) in enumerate(EQUATIONS):
        for dt, et in ((np.float32, TensorProto.FLOAT), (np.float64, TensorProto.DOUBLE),
                       (np.int32, TensorProto.INT32)):
            if dt != np.float32 and i % 3:
                continue    # every dtype on a third of the equations
            names = [f"x{j}" for j in range(len(shapes))]
            node = helper.make_node("Einsum", names, ["y"], equation=eq)
            m = make([node], [(nm, et, list(s)) for nm, s in zip(names, shapes)], ["y"], opset=12)
            feeds = {nm: (rng.integers(-3, 4, s) if dt == np.int32 else rng.standard_normal(s)).astype(dt)
                     for nm, s in zip(names, shapes)}
            tag = eq.replace(",", "_").replace("->", "_to_").replace("...", "E")
            yield f"einsum_{tag or 'x'}_{np.dtype(dt).name}", m, feeds, []


def topk_cases(rng):
    n = helper.make_node
    x = rng.standard_normal((3, 5, 6)).astype(np.float32)
    ties = rng.integers(0, 3, (4, 9)).astype(np.int64)     # many equal values
    yield "topk_opset1", make([n("TopK", ["x"], ["v", "i"], k=3, axis=1)],
                              [("x", TensorProto.FLOAT, [3, 5, 6])], ["v", "i"], opset=1), {"x": x}, []
    kk = [("k", np.array([4], np.int64))]
    yield "topk_opset10", make([n("TopK", ["x", "k"], ["v", "i"])],
                               [("x", TensorProto.FLOAT, [3, 5, 6])], ["v", "i"], kk, opset=10), {"x": x}, []
    for largest in (1, 0):
        for axis in (0, -1):
            m = make([n("TopK", ["x", "k"], ["v", "i"], axis=axis, largest=largest)],
                     [("x", I64, [4, 9])], ["v", "i"], [("k", np.array([3], np.int64))], opset=11)
            yield f"topk_ties_l{largest}_a{axis % 2}", m, {"x": ties}, []
    m = make([n("TopK", ["x", "k"], ["v", "i"], axis=2, largest=0)],
             [("x", TensorProto.FLOAT, [3, 5, 6])], ["v", "i"], [("k", np.array([6], np.int64))], opset=11)
    yield "topk_smallest_all", m, {"x": x}, []


def nonzero_case(rng):
    """NonZero of a constant mask folds (its length is known); the
    coordinates then scale x."""
    mask = (rng.standard_normal((3, 4, 5)) > 0.3).astype(np.float32)
    n = helper.make_node
    nodes = [n("NonZero", ["mask"], ["nz"]), n("Cast", ["nz"], ["nzf"], to=TensorProto.FLOAT),
             n("MatMul", ["x", "nzf"], ["y"])]
    m = make(nodes, [("x", TensorProto.FLOAT, [2, 3])], ["y"], [("mask", mask)], opset=13)
    return "nonzero_constant", m, {"x": rng.standard_normal((2, 3)).astype(np.float32)}, []


def torch_export_cases(rng):
    """shape_ops/dynamic_reshape.onnx as torch.onnx.export wrote it
    (shape_ops/export.py), at two input sizes bound with --shape."""
    m = onnx.load(os.path.join(os.path.dirname(os.path.abspath(__file__)), "shape_ops",
                               "dynamic_reshape.onnx"))
    for b, t in ((3, 7), (1, 10)):
        x = rng.standard_normal((b, t, 8)).astype(np.float32)
        yield f"torch_export_b{b}_t{t}", m, {"x": x}, ["--shape", f"x={b}x{t}x8"]


def bfloat16_case(rng):
    """float -> bfloat16 -> float on values at and next to rounding
    midpoints (ONNX Runtime computes nothing else in bfloat16)."""
    x = rng.standard_normal(64).astype(np.float32)
    bits = x.view(np.uint32) & 0xffff0000
    mid = (bits | 0x8000).view(np.float32)                  # exactly halfway
    near = (bits | 0x8001).view(np.float32)                 # just above
    x = np.concatenate([x, mid, near, [3.4e38, -0.0, 1e-40]]).astype(np.float32)
    n = helper.make_node
    nodes = [n("Cast", ["x"], ["b"], to=TensorProto.BFLOAT16),
             n("Cast", ["b"], ["y"], to=TensorProto.FLOAT)]
    m = make(nodes, [("x", TensorProto.FLOAT, [x.size])], ["y"], opset=13)
    return "bfloat16_cast", m, {"x": x}, []


def slice_step_cases(rng):
    """Slice with steps near the int64 limits (one element each way): the
    element count once overflowed int64 (found by fuzzing)."""
    x = rng.standard_normal((10, 4)).astype(np.float32)
    big = np.iinfo(np.int64).max - 1
    for name, start, end, step in (("slice_step_max", 2, 10, big),
                                   ("slice_step_min", 8, -11, np.iinfo(np.int64).min)):
        inits = [("st", np.array([start], np.int64)), ("en", np.array([end], np.int64)),
                 ("ax", np.array([0], np.int64)), ("sp", np.array([step], np.int64))]
        m = make([helper.make_node("Slice", ["x", "st", "en", "ax", "sp"], ["y"])],
                 [("x", TensorProto.FLOAT, [10, 4])], ["y"], inits, opset=13)
        yield name, m, {"x": x}, []


def all_cases(rng):
    yield bfloat16_case(rng)
    yield from slice_step_cases(rng)
    yield from torch_export_cases(rng)
    yield nonzero_case(rng)
    yield ("exported_chain", *exported_chain(rng))
    yield from freeze_cases(rng)
    yield from einsum_cases(rng)
    yield from topk_cases(rng)


def write_pb(path, array, name):
    with open(path, "wb") as f:
        f.write(numpy_helper.from_array(np.asarray(array), name).SerializeToString())


def run_case(dlc, work, name, model, feeds, extra):
    folder = os.path.join(work, name)
    data = os.path.join(folder, "test_data_set_0")
    os.makedirs(data, exist_ok=True)
    path = os.path.join(folder, "model.onnx")
    onnx.save(model, path)
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    outs = sess.run(None, feeds)
    names = [i.name for i in model.graph.input]
    for j, nm in enumerate(names):
        write_pb(os.path.join(data, f"input_{j}.pb"), feeds[nm], nm)
    for j, o in enumerate(outs):
        write_pb(os.path.join(data, f"output_{j}.pb"), o, model.graph.output[j].name)
    # --freeze NAME=@NAME: the data set's own value of input NAME
    args = []
    for a in extra:
        if "=@" in a:
            freeze, inp = a.split("=@")
            a = f"{freeze}={os.path.join(data, f'input_{names.index(inp)}.pb')}"
        args.append(a)
    r = subprocess.run([dlc, "check", path, data, *TOL, *args], capture_output=True, text=True,
                       timeout=300)
    if r.returncode != 0:
        raise AssertionError((r.stdout + r.stderr).strip()[-800:])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dlc", default="build/dlc")
    ap.add_argument("--work", default="build/models-shape-ops")
    ap.add_argument("--only", nargs="*")
    a = ap.parse_args()
    rng = np.random.default_rng(0)
    passed = failed = 0
    for name, model, feeds, extra in all_cases(rng):
        if a.only and name not in a.only:
            continue
        try:
            run_case(os.path.abspath(a.dlc), a.work, name, model, feeds, extra)
            passed += 1
            print(f"ok {name}")
        except Exception as e:  # a failed case, whatever raised it
            failed += 1
            print(f"FAIL {name}: {type(e).__name__}: {e}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main())
