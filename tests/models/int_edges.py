"""Integer arithmetic at the edges: wrap-around, INT_MIN / -1, division by
zero, run and folded, int32 and int64.

usage: python int_edges.py --dlc build/dlc --work DIR

C leaves signed overflow, INT_MIN / -1, INT_MIN % -1 and division by zero
undefined (x86 traps on the division ones), so the generated code must not
write `a + b` or `a / b` on signed integers as they come. What dlc gives:

    Add, Sub, Mul, Neg, Abs, ReduceSum, ReduceProd, CumSum, MatMul
                    two's complement wrap-around (what ONNX Runtime gives)
    Div             truncates; x / 0 = 0; INT_MIN / -1 = INT_MIN (wraps)
    Mod             fmod = 0: the divisor's sign; fmod = 1: the dividend's;
                    x mod 0 = 0; INT_MIN mod -1 = 0

    Cast float -> int, Pow
                    NaN 0; out of the type's range: the nearest bound

ONNX Runtime refuses a zero integer divisor ("Integer division by zero")
and dies of SIGFPE on INT_MIN / -1, so the reference is Python's exact
integers, wrapped, computing the definitions above. The reference must
equal ONNX Runtime's output on every element ONNX Runtime computes exactly:
where the exact result fits the type (its ReduceSum and ReduceProd
saturate or round on overflow rather than wrap, and round int64 rows
past 2^53), the divisor is not 0,
not INT_MIN / -1, and for int64 Mod with fmod = 1 (which it computes in
double) the operands are within 2^53.

Each case is one node on [8]-element operands holding INT_MIN, INT_MAX,
-1, 0 and small values: once fed at run time, once with its inputs as
constants (folded by ir/interp.c inside dlc; the output is then added to
a zero input so the graph still has one), and Div/Mod once more with a
constant divisor (which the generated code divides by as a literal).
Exact comparison (integers). In the sanitizer build dlc and the generated
code run under ASan and UBSan with -fno-sanitize-recover, so any undefined
operation fails the case.
"""
import argparse
import os
import sys

import numpy as np
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tools"))
from make_dataset import write_case  # noqa: E402
from run import run_case, tally  # noqa: E402

DTYPES = {np.int32: TensorProto.INT32, np.int64: TensorProto.INT64}


def operands(dt):
    lo, hi = np.iinfo(dt).min, np.iinfo(dt).max
    a = np.array([lo, hi, lo, 7, -7, hi, lo + 1, -1], dt)
    b = np.array([-1, 1, 0, 2, -2, -1, 3, lo], dt)
    return a, b


def wrap(x, dt):
    """x (Python ints) reduced to dt's two's complement range."""
    bits = 8 * np.dtype(dt).itemsize
    x = np.asarray(x, dtype=object)
    return np.array([(int(v) + (1 << (bits - 1))) % (1 << bits) - (1 << (bits - 1))
                     for v in x.ravel()], dt).reshape(x.shape)


def trunc_div(a, b):
    return 0 if b == 0 else (abs(a) // abs(b)) * (1 if (a < 0) == (b < 0) else -1)


def exact(op, ins, attrs):
    """The result in Python integers (no overflow): the definitions in the
    docstring before wrapping."""
    x = [np.asarray(i, dtype=object) for i in ins]
    if op == "Add":
        return x[0] + x[1]
    if op == "Sub":
        return x[0] - x[1]
    if op == "Mul":
        return x[0] * x[1]
    if op == "Neg":
        return -x[0]
    if op == "Abs":
        return abs(x[0])
    if op == "ReduceSum":
        return x[0].sum(axis=1, keepdims=True)
    if op == "ReduceProd":
        return np.prod(x[0], axis=1, keepdims=True)
    if op == "CumSum":
        return np.cumsum(x[0])
    if op == "MatMul":
        return x[0].dot(x[1])
    if op == "Div":
        return np.array([trunc_div(int(p), int(q)) for p, q in zip(x[0], x[1])], dtype=object)
    if op == "Mod":
        out = []
        for p, q in zip(x[0], x[1]):
            p, q = int(p), int(q)
            r = 0 if q == 0 else p - trunc_div(p, q) * q   # the dividend's sign
            if not attrs.get("fmod") and r != 0 and (r < 0) != (q < 0):
                r += q                                      # the divisor's sign
            out.append(r)
        return np.array(out, dtype=object)
    raise ValueError(op)


def cases(dt):
    """(name, op, [input arrays], attrs)."""
    a, b = operands(dt)
    m = np.array([[np.iinfo(dt).max, 1, 1, 5], [np.iinfo(dt).min, -1, 3, 2],
                  [2, 2, 2, 2], [-3, 7, 0, 1]], dt)
    yield "add", "Add", [a, a], {}
    yield "sub", "Sub", [a, b], {}
    yield "mul", "Mul", [a, a], {}
    yield "neg", "Neg", [a], {}
    yield "abs", "Abs", [a], {}
    yield "reducesum", "ReduceSum", [m], {}
    yield "reduceprod", "ReduceProd", [m * 1000], {}
    yield "cumsum", "CumSum", [a], {}
    yield "matmul", "MatMul", [m, m], {}
    yield "div", "Div", [a, b], {}
    yield "mod", "Mod", [a, b], {}
    yield "fmod", "Mod", [a, b], {"fmod": 1}


def build(name, op, ins, attrs, dt, mode):
    """(model, inputs fed) in one of three modes: 'run' (every operand an
    input), 'folded' (every operand a constant) or 'const_divisor'."""
    t = DTYPES[dt]
    names = [f"x{i}" for i in range(len(ins))]
    nodes, inits, graph_in, feeds = [], [], [], []
    if op == "CumSum":
        inits.append(numpy_helper.from_array(np.array(0, np.int64), "axis"))
    if op in ("ReduceSum", "ReduceProd"):
        attrs = dict(attrs, axes=[1]) if op == "ReduceProd" else attrs
        if op == "ReduceSum":
            inits.append(numpy_helper.from_array(np.array([1], np.int64), "axes"))
    for i, (n, x) in enumerate(zip(names, ins)):
        constant = mode == "folded" or (mode == "const_divisor" and i == 1)
        if constant:
            inits.append(numpy_helper.from_array(x, n))
        else:
            graph_in.append(helper.make_tensor_value_info(n, t, list(x.shape)))
            feeds.append(x)
    extra = ["axis"] if op == "CumSum" else ["axes"] if op == "ReduceSum" else []
    out = "y"
    nodes.append(helper.make_node(op, names + extra, ["r" if mode == "folded" else out], **attrs))
    ref = wrap(exact(op, ins, attrs), dt)
    if mode == "folded":
        graph_in.append(helper.make_tensor_value_info("zero", t, list(ref.shape)))
        feeds.append(np.zeros(ref.shape, dt))
        nodes.append(helper.make_node("Add", ["r", "zero"], [out]))
    g = helper.make_graph(nodes, f"{name}_{mode}", graph_in,
                          [helper.make_tensor_value_info(out, t, list(ref.shape))], inits)
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)
    return model, feeds, ref


def ort_defined(op, ins, attrs):
    """Which elements of the operands ONNX Runtime computes (Div, Mod): it
    refuses a zero divisor, traps on INT_MIN / -1 and takes fmod = 1 on
    int64 through double, which rounds past 2^53."""
    lo = np.iinfo(ins[0].dtype).min
    keep = (ins[1] != 0) & ~((ins[0] == lo) & (ins[1] == -1))
    if attrs.get("fmod") and ins[0].dtype == np.int64:
        keep &= (np.abs(ins[0].astype(object)) <= 2**53) & (np.abs(ins[1].astype(object)) <= 2**53)
    return keep


def ort_disagrees(op, ins, attrs, dt):
    """ONNX Runtime on the case's operands (Div and Mod: the elements it
    defines): where the exact result fits in dt, the reference must equal
    ONNX Runtime's. Returns a complaint or None."""
    if op in ("Div", "Mod"):
        keep = ort_defined(op, ins, attrs)
        ins = [x[keep] for x in ins]
    model, feeds, ref = build("ort", op, ins, attrs, dt, "run")
    options = ort.SessionOptions()
    options.log_severity_level = 3
    s = ort.InferenceSession(model.SerializeToString(), options,
                             providers=["CPUExecutionProvider"])
    got = s.run(None, {i.name: f for i, f in zip(s.get_inputs(), feeds)})[0]
    # ONNX Runtime's ReduceSum and ReduceProd do not wrap on overflow, and
    # on int64 they round past 2^53 (rows holding INT64_MIN)
    e = exact(op, ins, attrs)
    fits = (e >= np.iinfo(dt).min) & (e <= np.iinfo(dt).max)
    if op.startswith("Reduce"):
        fits &= np.abs(ins[0].astype(object)).max(axis=1, keepdims=True) <= 2**53
    if np.array_equal(got[fits.astype(bool)], ref[fits.astype(bool)]):
        return None
    return f"ONNX Runtime gives {got.ravel()}, the reference {ref.ravel()}"


def saturate(v, dt):
    """A float (or Python int) as dt the way dlc converts it: NaN 0, out
    of range the nearest bound, else truncated toward zero."""
    info = np.iinfo(dt)
    if v != v:
        return 0
    if v <= info.min:
        return int(info.min)
    if v >= info.max:
        return int(info.max)
    return int(v)


def saturating(dt, mode):
    """Cast float32 -> dt and integer Pow, whose out-of-range results C
    leaves undefined (and ONNX open): (name, model, feeds, reference,
    mask of the elements ONNX Runtime must agree on)."""
    t = DTYPES[dt]
    x = np.array([3e9, -3e9, np.nan, np.inf, -np.inf, 1.9, -1.9, 2147483520.0, 1e19, -1e19],
                 np.float32)
    a = np.array([10, -10, 2, 3, 7, -2], dt)
    b = np.array([12, 13, 40, 2, 0, 63], dt)
    info = np.iinfo(dt)
    for name, op, ins, attrs in (("cast", "Cast", [x], {"to": t}), ("pow", "Pow", [a, b], {})):
        values = [float(v) for v in x] if op == "Cast" else \
            [int(p) ** int(q) for p, q in zip(a, b)]
        ref = np.array([saturate(v, dt) for v in values], dt)
        defined = np.array([v == v and info.min <= v <= info.max for v in values])
        names = [f"x{i}" for i in range(len(ins))]
        nodes = [helper.make_node(op, names, ["r" if mode == "folded" else "y"], **attrs)]
        graph_in, inits, feeds = [], [], []
        for n, arr in zip(names, ins):
            if mode == "folded":
                inits.append(numpy_helper.from_array(arr, n))
            else:
                graph_in.append(helper.make_tensor_value_info(
                    n, TensorProto.FLOAT if arr.dtype == np.float32 else t, list(arr.shape)))
                feeds.append(arr)
        if mode == "folded":
            graph_in.append(helper.make_tensor_value_info("zero", t, list(ref.shape)))
            feeds.append(np.zeros(ref.shape, dt))
            nodes.append(helper.make_node("Add", ["r", "zero"], ["y"]))
        g = helper.make_graph(nodes, f"{name}_{mode}", graph_in,
                              [helper.make_tensor_value_info("y", t, list(ref.shape))], inits)
        model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)
        yield name, model, feeds, ref, defined


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dlc", required=True)
    p.add_argument("--work", required=True)
    args = p.parse_args()
    oks = []
    for dt in DTYPES:
        for name, op, ins, attrs in cases(dt):
            modes = ["run", "folded"] + (["const_divisor"] if op in ("Div", "Mod") else [])
            for mode in modes:
                full = f"{name}_{np.dtype(dt).name}_{mode}"
                model, feeds, ref = build(name, op, ins, attrs, dt, mode)
                why = ort_disagrees(op, ins, attrs, dt) if mode == "run" else None
                if why:
                    print(f"FAIL {full}: the reference is wrong: {why}")
                    oks.append(False)
                    continue
                path, data = write_case(args.work, full, model, feeds, [ref])
                oks.append(run_case(args.dlc, full, path, data, [], 300))
        for mode in ("run", "folded"):
            for name, model, feeds, ref, defined in saturating(dt, mode):
                full = f"{name}_{np.dtype(dt).name}_{mode}"
                if mode == "run":   # in range, the reference is ONNX Runtime's
                    s = ort.InferenceSession(model.SerializeToString(),
                                             providers=["CPUExecutionProvider"])
                    got = s.run(None, {i.name: f for i, f in zip(s.get_inputs(), feeds)})[0]
                    if not np.array_equal(got[defined], ref[defined]):
                        print(f"FAIL {full}: the reference is wrong: ONNX Runtime gives {got}")
                        oks.append(False)
                        continue
                path, data = write_case(args.work, full, model, feeds, [ref])
                oks.append(run_case(args.dlc, full, path, data, [], 300))
    return tally(oks)


if __name__ == "__main__":
    sys.exit(main())
