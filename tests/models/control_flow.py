"""If, Loop and Scan models against ONNX Runtime.

usage: python control_flow.py --dlc build/dlc --work DIR

Each model is built with onnx.helper, run by ONNX Runtime on seeded inputs
(several data sets where the path taken depends on an input: both outcomes
of a run-time If, trip counts that stop early), and the outputs are written
as the data sets' expected values; then

    dlc check MODEL DATASET... --atol 1e-5 --rtol 1e-4 [--loop-max N]

compiles the model and compares. The models cover: an If on a run-time bool
whose branches read outer-scope values, an If folded because its condition
is a constant shape comparison (its branches give different shapes, so only
folding compiles it), an If nested two deep, a Loop with a constant trip
count carrying state and stacking scan outputs, a Loop with a run-time trip
count and a cond output (early exit, bounded by --loop-max), Ifs inside a
Loop body (one folded per iteration, one guarded), and Scans (a
cumulative sum; an RNN-like recurrence with a reversed input and an output
stacked along axis 1; Scan-8's batched form), and a loop model exported
from torch.jit.script.
"""
import argparse
import os
import subprocess
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

F, I64, B = TensorProto.FLOAT, TensorProto.INT64, TensorProto.BOOL


def vi(name, t, shape):
    return helper.make_tensor_value_info(name, t, shape)


def init(name, array):
    return numpy_helper.from_array(np.asarray(array), name)


def graph(nodes, name, inputs, outputs, inits=()):
    return helper.make_graph(nodes, name, inputs, outputs, list(inits))


def model(g, opset=17, full_check=True):
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    onnx.checker.check_model(m, full_check=full_check)
    return m


def if_runtime(rng):
    """y = flag ? relu(x) + w : relu(x) * x - w, w an outer initializer."""
    then_g = graph([helper.make_node("Add", ["a", "w"], ["t"])], "then",
                   [], [vi("t", F, [3, 4])])
    else_g = graph([helper.make_node("Mul", ["a", "x"], ["m"]),
                    helper.make_node("Sub", ["m", "w"], ["e"])], "else", [], [vi("e", F, [3, 4])])
    g = graph([helper.make_node("Relu", ["x"], ["a"]),
               helper.make_node("If", ["flag"], ["y"], then_branch=then_g, else_branch=else_g)],
              "if_runtime", [vi("x", F, [3, 4]), vi("flag", B, [])], [vi("y", F, [3, 4])],
              [init("w", rng.standard_normal((3, 4)).astype(np.float32))])
    x = rng.standard_normal((3, 4)).astype(np.float32)
    feeds = [{"x": x, "flag": np.array(v)} for v in (True, False)]
    return model(g), feeds, []


def if_folded(rng):
    """An If on Shape(x)[1] == 4: then transposes, else flattens (another
    shape), so it compiles only when folded."""
    then_g = graph([helper.make_node("Transpose", ["x"], ["t"], perm=[1, 0])], "then", [],
                   [vi("t", F, [4, 3])])
    else_g = graph([helper.make_node("Flatten", ["x"], ["e"], axis=0)], "else", [],
                   [vi("e", F, [1, 12])])
    g = graph([helper.make_node("Shape", ["x"], ["s"]),
               helper.make_node("Gather", ["s", "one"], ["d1"], axis=0),
               helper.make_node("Equal", ["d1", "four"], ["c"]),
               helper.make_node("If", ["c"], ["y"], then_branch=then_g, else_branch=else_g)],
              "if_folded", [vi("x", F, [3, 4])], [vi("y", F, ["r", "c"])],
              [init("one", np.array(1, np.int64)), init("four", np.array(4, np.int64))])
    feeds = [{"x": rng.standard_normal((3, 4)).astype(np.float32)}]
    return model(g, full_check=False), feeds, []   # the branches' shapes differ


def if_nested(rng):
    """f1 ? (f2 ? x * 2 : x + k) : -x; the inner branches read x and k two scopes out."""
    in_then = graph([helper.make_node("Mul", ["x", "two"], ["p"])], "in_then", [],
                    [vi("p", F, [2, 5])])
    in_else = graph([helper.make_node("Add", ["x", "k"], ["q"])], "in_else", [],
                    [vi("q", F, [2, 5])])
    out_then = graph([helper.make_node("If", ["f2"], ["r"], then_branch=in_then,
                                       else_branch=in_else)], "out_then", [], [vi("r", F, [2, 5])])
    out_else = graph([helper.make_node("Neg", ["x"], ["n"])], "out_else", [], [vi("n", F, [2, 5])])
    g = graph([helper.make_node("If", ["f1"], ["y"], then_branch=out_then, else_branch=out_else)],
              "if_nested", [vi("x", F, [2, 5]), vi("f1", B, []), vi("f2", B, [])],
              [vi("y", F, [2, 5])],
              [init("two", np.array(2, np.float32)),
               init("k", rng.standard_normal((2, 5)).astype(np.float32))])
    x = rng.standard_normal((2, 5)).astype(np.float32)
    feeds = [{"x": x, "f1": np.array(a), "f2": np.array(b)}
             for a in (True, False) for b in (True, False)]
    return model(g), feeds, []


def loop_static(rng):
    """4 iterations of h = tanh(h @ W) + x * i; outputs h and every h stacked."""
    body = graph([helper.make_node("Identity", ["cond_in"], ["cond_out"]),
                  helper.make_node("Cast", ["i"], ["fi"], to=F),
                  helper.make_node("MatMul", ["h", "W"], ["hw"]),
                  helper.make_node("Tanh", ["hw"], ["th"]),
                  helper.make_node("Mul", ["x", "fi"], ["xi"]),
                  helper.make_node("Add", ["th", "xi"], ["h_out"]),
                  helper.make_node("Identity", ["h_out"], ["scan"])],
                 "body", [vi("i", I64, []), vi("cond_in", B, []), vi("h", F, [2, 3])],
                 [vi("cond_out", B, []), vi("h_out", F, [2, 3]), vi("scan", F, [2, 3])])
    g = graph([helper.make_node("Loop", ["M", "", "h0"], ["h_final", "hs"], body=body)],
              "loop_static", [vi("x", F, [2, 3]), vi("h0", F, [2, 3])],
              [vi("h_final", F, [2, 3]), vi("hs", F, [4, 2, 3])],
              [init("M", np.array(4, np.int64)),
               init("W", (rng.standard_normal((3, 3)) * 0.5).astype(np.float32))])
    feeds = [{"x": rng.standard_normal((2, 3)).astype(np.float32),
              "h0": rng.standard_normal((2, 3)).astype(np.float32)}]
    return model(g), feeds, []


def loop_runtime(rng):
    """Up to M iterations of s = s + x * (i + 1), stopping once sum(s) >= limit."""
    body = graph([helper.make_node("Add", ["i", "one"], ["i1"]),
                  helper.make_node("Cast", ["i1"], ["fi"], to=F),
                  helper.make_node("Mul", ["x", "fi"], ["step"]),
                  helper.make_node("Add", ["s", "step"], ["s_out"]),
                  helper.make_node("ReduceSum", ["s_out"], ["tot"], keepdims=0),
                  helper.make_node("Less", ["tot", "limit"], ["cond_out"])],
                 "body", [vi("i", I64, []), vi("cond_in", B, []), vi("s", F, [3])],
                 [vi("cond_out", B, []), vi("s_out", F, [3])])
    g = graph([helper.make_node("Loop", ["M", "go", "s0"], ["s_final"], body=body)],
              "loop_runtime", [vi("M", I64, []), vi("go", B, []), vi("limit", F, []),
                               vi("x", F, [3]), vi("s0", F, [3])],
              [vi("s_final", F, [3])], [init("one", np.array(1, np.int64))])
    x = np.abs(rng.standard_normal(3)).astype(np.float32) + 0.1
    s0 = rng.standard_normal(3).astype(np.float32)
    feeds = []
    for m, go, limit in ((0, True, 100.0), (3, True, 1e9), (8, True, 1e9), (8, True, 4.0),
                         (6, False, 1e9), (20, True, 1e9)):
        feeds.append({"M": np.array(m, np.int64), "go": np.array(go),
                      "limit": np.array(limit, np.float32), "x": x, "s0": s0})
    # M = 20 is above the bound: see loop_over_bound.
    return model(g), feeds[:-1], ["--loop-max", "8"]


def loop_over_bound(rng):
    """loop_runtime with M = 20 against --loop-max 8: the run must report
    MODEL_ERR_LOOP_BOUND (dlc check: "the compiled model failed"), not
    return what 8 iterations computed."""
    m, feeds, opts = loop_runtime(rng)
    feed = dict(feeds[1])
    feed["M"] = np.array(20, np.int64)
    return m, [feed], opts + ["--expect-run-error"]


def loop_in_if(rng):
    """flag ? (stack of 3 iterations of s = s * 0.5 + x) : k. The Loop runs
    under the branch's guard; its trip count is still constant, so its scan
    output has a static length; x, k are outer values two scopes out."""
    body = graph([helper.make_node("Identity", ["cond_in"], ["cond_out"]),
                  helper.make_node("Mul", ["s", "half"], ["sh"]),
                  helper.make_node("Add", ["sh", "x"], ["s_out"]),
                  helper.make_node("Identity", ["s_out"], ["piece"])],
                 "body", [vi("i", I64, []), vi("cond_in", B, []), vi("s", F, [2])],
                 [vi("cond_out", B, []), vi("s_out", F, [2]), vi("piece", F, [2])])
    then_g = graph([helper.make_node("Loop", ["M", "", "x"], ["s_end", "stack"], body=body)],
                   "then", [], [vi("stack", F, [3, 2])])
    else_g = graph([helper.make_node("Identity", ["k"], ["e"])], "else", [], [vi("e", F, [3, 2])])
    g = graph([helper.make_node("If", ["flag"], ["y"], then_branch=then_g, else_branch=else_g)],
              "loop_in_if", [vi("x", F, [2]), vi("flag", B, [])], [vi("y", F, [3, 2])],
              [init("M", np.array(3, np.int64)), init("half", np.array(0.5, np.float32)),
               init("k", rng.standard_normal((3, 2)).astype(np.float32))])
    x = rng.standard_normal(2).astype(np.float32)
    feeds = [{"x": x, "flag": np.array(v)} for v in (True, False)]
    return model(g), feeds, ["--loop-max", "2"]     # M is constant: the bound does not apply


def if_in_loop(rng):
    """5 iterations of s = (i < 2 ? s + x : s * 0.5) + (flag ? x : -x): an If
    on the iteration number (folded in each copy of the body) and one on a
    run-time input (guarded in each copy), both reading the body's s and the
    outer x."""
    t1 = graph([helper.make_node("Add", ["s", "x"], ["a"])], "t1", [], [vi("a", F, [3])])
    e1 = graph([helper.make_node("Mul", ["s", "half"], ["b"])], "e1", [], [vi("b", F, [3])])
    t2 = graph([helper.make_node("Identity", ["x"], ["c"])], "t2", [], [vi("c", F, [3])])
    e2 = graph([helper.make_node("Neg", ["x"], ["d"])], "e2", [], [vi("d", F, [3])])
    body = graph([helper.make_node("Identity", ["cond_in"], ["cond_out"]),
                  helper.make_node("Less", ["i", "two"], ["early"]),
                  helper.make_node("If", ["early"], ["u"], then_branch=t1, else_branch=e1),
                  helper.make_node("If", ["flag"], ["v"], then_branch=t2, else_branch=e2),
                  helper.make_node("Add", ["u", "v"], ["s_out"])],
                 "body", [vi("i", I64, []), vi("cond_in", B, []), vi("s", F, [3])],
                 [vi("cond_out", B, []), vi("s_out", F, [3])])
    g = graph([helper.make_node("Loop", ["M", "", "s0"], ["y"], body=body)],
              "if_in_loop", [vi("x", F, [3]), vi("s0", F, [3]), vi("flag", B, [])],
              [vi("y", F, [3])],
              [init("M", np.array(5, np.int64)), init("two", np.array(2, np.int64)),
               init("half", np.array(0.5, np.float32))])
    x = rng.standard_normal(3).astype(np.float32)
    s0 = rng.standard_normal(3).astype(np.float32)
    feeds = [{"x": x, "s0": s0, "flag": np.array(v)} for v in (True, False)]
    return model(g), feeds, []


def scan_cumsum(rng):
    body = graph([helper.make_node("Add", ["s", "xt"], ["s_out"]),
                  helper.make_node("Identity", ["s_out"], ["y"])],
                 "body", [vi("s", F, [3]), vi("xt", F, [3])], [vi("s_out", F, [3]), vi("y", F, [3])])
    g = graph([helper.make_node("Scan", ["s0", "x"], ["total", "cum"], body=body,
                                num_scan_inputs=1)],
              "scan_cumsum", [vi("s0", F, [3]), vi("x", F, [5, 3])],
              [vi("total", F, [3]), vi("cum", F, [5, 3])])
    feeds = [{"s0": np.zeros(3, np.float32), "x": rng.standard_normal((5, 3)).astype(np.float32)}]
    return model(g), feeds, []


def scan_rnn(rng):
    """h = tanh(x_t @ Wx + h @ Wh + b) over x read backwards along axis 1
    (x is [batch 2, time 6, 3]); the hs stacked along axis 1 (time)."""
    body = graph([helper.make_node("MatMul", ["xt", "Wx"], ["a"]),
                  helper.make_node("MatMul", ["h", "Wh"], ["bh"]),
                  helper.make_node("Add", ["a", "bh"], ["c"]),
                  helper.make_node("Add", ["c", "b"], ["d"]),
                  helper.make_node("Tanh", ["d"], ["h_out"]),
                  helper.make_node("Identity", ["h_out"], ["y"])],
                 "body", [vi("h", F, [2, 4]), vi("xt", F, [2, 3])],
                 [vi("h_out", F, [2, 4]), vi("y", F, [2, 4])])
    g = graph([helper.make_node("Scan", ["h0", "x"], ["h_last", "hs"], body=body,
                                num_scan_inputs=1, scan_input_axes=[1],
                                scan_input_directions=[1], scan_output_axes=[1])],
              "scan_rnn", [vi("h0", F, [2, 4]), vi("x", F, [2, 6, 3])],
              [vi("h_last", F, [2, 4]), vi("hs", F, [2, 6, 4])],
              [init("Wx", (rng.standard_normal((3, 4)) * 0.5).astype(np.float32)),
               init("Wh", (rng.standard_normal((4, 4)) * 0.5).astype(np.float32)),
               init("b", (rng.standard_normal(4) * 0.1).astype(np.float32))])
    feeds = [{"h0": rng.standard_normal((2, 4)).astype(np.float32),
              "x": rng.standard_normal((2, 6, 3)).astype(np.float32)}]
    return model(g), feeds, []


def torch_script_loop(rng):
    """shipped/loop.onnx, torch.jit.script's export (shipped/export.py): a for
    loop over x's first dim, then `while sum|h| > 1: h *= 0.5`, a Loop with
    M = INT64_MAX and a run-time cond, which needs --loop-max."""
    m = onnx.load(os.path.join(os.path.dirname(os.path.abspath(__file__)), "shipped", "loop.onnx"))
    feeds = [{"x": (rng.standard_normal((6, 2, 16)) * s).astype(np.float32)} for s in (0.1, 3.0)]
    return m, feeds, ["--loop-max", "64"]


def scan8_batch(rng):
    """Scan-8 (opset 8): a batch axis on every input and output; a running
    sum and product over x read backwards (directions [1]), batch 3."""
    body = graph([helper.make_node("Add", ["s", "xt"], ["s_out"]),
                  helper.make_node("Mul", ["p", "xt"], ["p_out"]),
                  helper.make_node("Identity", ["s_out"], ["y"])],
                 "body", [vi("s", F, [2]), vi("p", F, [2]), vi("xt", F, [2])],
                 [vi("s_out", F, [2]), vi("p_out", F, [2]), vi("y", F, [2])])
    g = graph([helper.make_node("Scan", ["", "s0", "p0", "x"], ["s_last", "p_last", "ys"],
                                body=body, num_scan_inputs=1, directions=[1])],
              "scan8_batch", [vi("s0", F, [3, 2]), vi("p0", F, [3, 2]), vi("x", F, [3, 4, 2])],
              [vi("s_last", F, [3, 2]), vi("p_last", F, [3, 2]), vi("ys", F, [3, 4, 2])])
    feeds = [{"s0": rng.standard_normal((3, 2)).astype(np.float32),
              "p0": np.ones((3, 2), np.float32),
              "x": rng.standard_normal((3, 4, 2)).astype(np.float32)}]
    return model(g, opset=8), feeds, []


CASES = [if_runtime, if_folded, if_nested, loop_static, loop_runtime, loop_over_bound,
         loop_in_if, if_in_loop, scan_cumsum, scan_rnn, scan8_batch, torch_script_loop]


def write_case(work, name, m, feeds):
    """Saves the model and one data set per feed, expected outputs from ORT."""
    mdir = os.path.join(work, name)
    os.makedirs(mdir, exist_ok=True)
    path = os.path.join(mdir, "model.onnx")
    onnx.save(m, path)
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    sets = []
    for k, feed in enumerate(feeds):
        outs = sess.run(None, feed)
        ddir = os.path.join(mdir, f"test_data_set_{k}")
        os.makedirs(ddir, exist_ok=True)
        for i, inp in enumerate(m.graph.input):
            with open(os.path.join(ddir, f"input_{i}.pb"), "wb") as f:
                f.write(numpy_helper.from_array(np.asarray(feed[inp.name]), inp.name)
                        .SerializeToString())
        for i, (n, v) in enumerate(zip(names, outs)):
            with open(os.path.join(ddir, f"output_{i}.pb"), "wb") as f:
                f.write(numpy_helper.from_array(np.asarray(v), n).SerializeToString())
        sets.append(ddir)
    return path, sets


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dlc", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    rng = np.random.default_rng(11)
    failed = 0
    for case in CASES:
        m, feeds, opts = case(rng)
        path, sets = write_case(args.work, case.__name__, m, feeds)
        expect_error = "--expect-run-error" in opts
        opts = [o for o in opts if o != "--expect-run-error"]
        p = subprocess.run([args.dlc, "check", path, *sets, "--atol", "1e-5", "--rtol", "1e-4",
                            *opts], capture_output=True, text=True)
        if expect_error:
            ok = p.returncode != 0 and "the compiled model failed" in p.stderr
        else:
            ok = p.returncode == 0 and "check: PASS" in p.stdout
        print(("PASS " if ok else "FAIL ") + case.__name__ + f" ({len(sets)} data sets)")
        if not ok:
            failed += 1
            print(p.stdout[-3000:] + p.stderr[-3000:])
    print(f"{len(CASES) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
