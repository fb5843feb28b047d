"""Gathers from elementwise-computed tables (a quantised embedding's
dequantisation), against ONNX Runtime.

usage: python gather_first.py --dlc build/dlc --work DIR

passes/gather_first.c rewrites Gather(f(T, c), idx) as f(Gather(T, idx), c)
when each operand of the elementwise f has the table's shape or covers
only the dims after the axis. Each case is a small model run by ONNX
Runtime on seeded ids (some negative: Gather counts them from the end);
`dlc check` compares dlc's code with its outputs (atol 1e-6, rtol 1e-5:
the same float operations on the same elements). A case that must move
fails unless no kernel of model.c but a Gather reads the whole table (its
shape in the kernel's comment); one that must stay fails unless one
still does.
"""
import argparse
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "tools"))
import make_dataset  # noqa: E402
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import check, tally  # noqa: E402

V, D = 1000, 64


def model(nodes, inits, ids_shape, out_shape):
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("ids", TensorProto.INT64,
                                                                     ids_shape)],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)],
                          [numpy_helper.from_array(a, n) for n, a in inits.items()])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    return m


def N(op, ins, outs, **kw):
    return helper.make_node(op, ins, outs, **kw)


def cases(rng):
    """(name, model, ids, moves)"""
    t8 = rng.integers(-128, 128, [V, D]).astype(np.int8)
    u8 = rng.integers(0, 256, [V, D]).astype(np.uint8)
    ids = rng.integers(-V, V, [2, 7]).astype(np.int64)
    pos = rng.standard_normal([7, D]).astype(np.float32)
    yield ("scalar_scale", model(
        [N("Cast", ["t"], ["tf"], to=1), N("Mul", ["tf", "s"], ["deq"]),
         N("Gather", ["deq", "ids"], ["e"], axis=0), N("Add", ["e", "pos"], ["y"])],
        {"t": t8, "s": np.array(0.02, np.float32), "pos": pos}, [2, 7], [2, 7, D]), ids, True)
    yield ("column_zero_point", model(
        [N("Cast", ["t"], ["tf"], to=1), N("Sub", ["tf", "zp"], ["c"]),
         N("Mul", ["c", "s"], ["deq"]), N("Gather", ["deq", "ids"], ["y"], axis=0)],
        {"t": u8, "zp": rng.integers(100, 150, [D]).astype(np.float32),
         "s": (rng.random([D]) * 0.01).astype(np.float32)}, [2, 7], [2, 7, D]), ids, True)
    # per-row scales cover the gathered axis: the table is computed whole
    yield ("row_scale_stays", model(
        [N("Cast", ["t"], ["tf"], to=1), N("Mul", ["tf", "s"], ["deq"]),
         N("Gather", ["deq", "ids"], ["y"], axis=0)],
        {"t": t8, "s": (rng.random([V, 1]) * 0.01).astype(np.float32)}, [2, 7], [2, 7, D]),
        ids, False)
    # axis 1 of a float table, through a unary op
    tf = rng.standard_normal([3, V]).astype(np.float32)
    ids1 = rng.integers(-V, V, [5]).astype(np.int64)
    yield ("axis1_unary", model(
        [N("Neg", ["t"], ["n"]), N("Gather", ["n", "ids"], ["y"], axis=1)],
        {"t": tf}, [5], [3, 5]), ids1, True)
    # the computed table is read twice: it stays
    yield ("table_read_twice_stays", model(
        [N("Cast", ["t"], ["tf"], to=1), N("Mul", ["tf", "s"], ["deq"]),
         N("Gather", ["deq", "ids"], ["e"], axis=0), N("ReduceSum", ["deq"], ["tot"], keepdims=0),
         N("Add", ["e", "tot"], ["y"])],
        {"t": t8, "s": np.array(0.02, np.float32)}, [2, 7], [2, 7, D]), ids, False)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dlc", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    oks = []
    for name, m, ids, moves in cases(np.random.default_rng(11)):
        folder = os.path.join(args.work, name)
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, "model.onnx")
        onnx.save(m, path)
        data = os.path.join(folder, "test_data_set_0")
        make_dataset.ort_set(path, data, {"ids": ids})
        keep = os.path.join(folder, "keep")
        ok, why = check(args.dlc, path, data, ["--atol", "1e-6", "--rtol", "1e-5", "--keep", keep],
                        600)
        note = f" {why}" if why else ""
        if ok:
            table = f"[3,{V}]" if name == "axis1_unary" else f"[{V},{D}]"
            with open(os.path.join(keep, "model.c")) as f:
                whole = any(table in line and "(Gather)" not in line
                            for line in f if line.lstrip().startswith("/* node "))
            ok = whole != moves
            note += f" (a kernel over the whole table: {'yes' if whole else 'no'}, want " \
                    f"{'no' if moves else 'yes'})"
        print(("PASS " if ok else "FAIL ") + name + note, flush=True)
        oks.append(ok)
    return tally(oks)


if __name__ == "__main__":
    sys.exit(main())
