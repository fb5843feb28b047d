"""Attention fusion against ONNX Runtime: one small model per pattern.

usage: python attention.py --dlc build/dlc --work DIR [--bert MODEL.onnx]

Each model is a self-attention block as exporters write it (projections,
Reshape/Transpose into heads, Q K^T, a scale, an additive mask, Softmax, the
product with V, the merge back) in one of the variants
passes/fuse_attention.c fuses, or in one it must leave alone. For each,
make_dataset.py writes ONNX Runtime's outputs and

    dlc check MODEL DATASET --keep DIR

compares dlc's code with them (float32 defaults: atol 1e-5, rtol 1e-4, the
model tests' tolerances). The generated model.c must call rt_attention
exactly `want` times: 1 where the pattern fuses, 0 where it must not. The
project's attention model (make_models.py) must fuse once; with --bert,
BERT-base (bench/models/make.py; inputs from bert.example()) 12 times,
compared with ONNX Runtime at the same tolerances.
"""
import argparse
import os
import re
import subprocess
import sys

import numpy as np
import onnx
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tools"))
import make_dataset  # noqa: E402
import make_models  # noqa: E402
import graph_builder  # noqa: E402


class G(graph_builder.G):
    """The graph builder plus the pieces of an attention block."""

    def linear(self, x, cin, cout):
        w = self.const(self.rng.standard_normal([cin, cout]) / np.sqrt(cin))
        return self.op("Add", [self.op("MatMul", [x, w]),
                               self.const(self.rng.standard_normal(cout) * 0.1)])

    def heads(self, x, b, s, h, d, perm):
        y = self.op("Reshape", [x, self.const([b, s, h, d], np.int64)])
        return self.op("Transpose", [y], perm=perm)

    def merge(self, ctx, b, s, e):
        t = self.op("Transpose", [ctx], perm=[0, 2, 1, 3])
        return self.op("Reshape", [t, self.const([b, s, e], np.int64)])


def block(g, b=1, s=8, h=2, d=8, sk=None, mask=None, scale="div", scale_on="scores",
          k_form="perm0231", softmax_axis=-1, extra=None, v_form="normal", out_perm=(0, 2, 1, 3),
          nan_guard=None):
    """One attention block on input x [b, s, h*d] (keys and values from a
    second input of sk rows when sk is given); returns the output names."""
    e = h * d
    x = g.input([b, s, e])
    y = x if sk is None else g.input([b, sk, e])
    sk = s if sk is None else sk
    c = float(np.sqrt(d))
    q = g.heads(g.linear(x, e, e), b, s, h, d, [0, 2, 1, 3])
    if scale_on == "q":
        q = g.op("Mul", [q, g.const(1.0 / c)])
    elif scale_on == "qk":  # torch's SDPA export: sqrt(scale) on each side
        q = g.op("Mul", [q, g.const(1.0 / np.sqrt(c))])
    if k_form == "perm0231":
        kt = g.heads(g.linear(y, e, e), b, sk, h, d, [0, 2, 3, 1])
    else:  # [b, h, sk, d], then a transposed view of it
        k = g.heads(g.linear(y, e, e), b, sk, h, d, [0, 2, 1, 3])
        kt = g.op("Transpose", [k], perm=[0, 1, 3, 2])
    if scale_on == "qk":
        kt = g.op("Mul", [kt, g.const(1.0 / np.sqrt(c))])
    if v_form == "normal":
        v = g.heads(g.linear(y, e, e), b, sk, h, d, [0, 2, 1, 3])
    elif v_form == "two_transposes":  # [b, h, d, sk] transposed back: composes to normal
        vt = g.heads(g.linear(y, e, e), b, sk, h, d, [0, 2, 3, 1])
        v = g.op("Transpose", [vt], perm=[0, 1, 3, 2])
    else:  # [b, h, d, sk] used as V itself (sk == d): its rows are not contiguous
        v = g.heads(g.linear(y, e, e), b, sk, h, d, [0, 2, 3, 1])
    sc = g.op("MatMul", [q, kt])
    if scale_on == "scores":
        sc = g.op("Div", [sc, g.const(c)]) if scale == "div" else \
            g.op("Mul", [g.const(1.0 / c), sc])
    if mask is not None:
        sc = g.op("Add", [sc, mask]) if g.rng.random() < 0.5 else g.op("Add", [mask, sc])
    if scale_on == "after_mask":
        sc = g.op("Div", [sc, g.const(c)])
    p = g.op("Softmax", [sc], axis=softmax_axis) if softmax_axis is not None else \
        g.op("Softmax", [sc])
    if nan_guard is not None:  # Where(IsNaN(P), c, P): torch's guard for fully masked rows
        p = g.op("Where", [g.op("IsNaN", [p]), g.const(np.float32(nan_guard)), p])
    ctx = g.op("MatMul", [p, v])
    outs = []
    if extra == "scores_out":
        outs.append(sc)
    if out_perm == (0, 2, 1, 3):
        outs.insert(0, g.merge(ctx, b, s, e))
    else:
        outs.insert(0, g.op("Transpose", [ctx], perm=list(out_perm)))
    return outs


def models():
    """(name, builder, opset, want): builder(g) returns the output names;
    want is how many rt_attention calls the code must make."""
    def bert_mask(g):
        # (1 - m[:, None, None, :]) * -10000 as BERT builds it, from a float input
        b, s = 2, 13
        m = g.input([b, 1, 1, s])
        ext = g.op("Mul", [g.op("Sub", [g.const(1.0), m]), g.const(-10000.0)])
        return block(g, b=b, s=s, h=3, d=7, mask=ext)

    def mask_b1ss_mul(g):
        return block(g, b=2, s=9, h=2, d=16, mask=g.input([2, 1, 9, 9]), scale="mul")

    def causal_neg_inf(g):
        s = 11
        m = np.triu(np.full([s, s], -np.inf, np.float32), 1)
        return block(g, s=s, h=4, d=5, mask=g.const(m))

    def mask_per_row(g):
        return block(g, b=1, s=6, h=2, d=4, mask=g.input([1, 2, 6, 1]))

    def no_mask_scale_q(g):
        return block(g, s=17, h=2, d=20, scale_on="q")

    def k_transposed_view(g):
        return block(g, s=10, h=3, d=8, k_form="view", mask=g.input([1, 1, 1, 10]))

    def cross(g):
        return block(g, s=5, sk=19, h=2, d=12, mask=g.input([1, 1, 1, 19]))

    def ctx_not_merged(g):
        # output [b, h, d, s]: the last Transpose stays, the rest fuses
        return block(g, s=7, h=2, d=6, out_perm=(0, 1, 3, 2))

    def rank3(g):
        q, k, v = g.input([6, 10, 16]), g.input([6, 12, 16]), g.input([6, 12, 9])
        sc = g.op("Mul", [g.op("MatMul", [q, g.op("Transpose", [k], perm=[0, 2, 1])]),
                          g.const(0.25)])
        return [g.op("MatMul", [g.op("Softmax", [sc], axis=2), v])]

    def opset11_last_axis(g):
        return block(g, s=8, h=2, d=8, softmax_axis=3)

    # must not fuse
    def opset11_default_axis(g):
        return block(g, s=8, h=2, d=8, softmax_axis=None)

    def softmax_not_last(g):
        return block(g, s=8, h=2, d=8, softmax_axis=-2)

    def scores_also_output(g):
        return block(g, s=8, h=2, d=8, extra="scores_out")

    def scale_after_mask(g):
        return block(g, s=8, h=2, d=8, mask=g.input([1, 1, 1, 8]), scale_on="after_mask")

    def mask_widens(g):
        # the mask broadcasts the scores to a larger shape
        return block(g, s=8, h=2, d=8, mask=g.input([2, 1, 8, 8]), out_perm=(0, 1, 2, 3))

    def v_two_transposes(g):
        return block(g, s=8, h=2, d=8, v_form="two_transposes")

    def sdpa_bool_mask(g, guard=0.0):
        # torch.onnx's SDPA form: a bool mask made additive by Where(m, 0, -inf),
        # sqrt(scale) on Q and on K, the NaN guard after Softmax; query rows 2
        # and 5 see no key at all (their softmax is NaN, the guard zeroes it)
        s = 9
        keep = g.rng.random([1, 1, s, s]) < 0.7
        keep[..., [2, 5], :] = False
        neg = g.op("Where", [g.const(keep, np.bool_), g.const(np.float32(0)),
                             g.const(np.float32(-np.inf))])
        return block(g, s=s, h=3, d=8, mask=neg, scale_on="qk", nan_guard=guard)

    def sdpa_guard_not_zero(g):
        return sdpa_bool_mask(g, guard=0.5)

    def v_rows_strided(g):
        return block(g, s=8, h=2, d=8, v_form="strided")

    return [
        ("bert_mask", bert_mask, 13, 1),
        ("mask_b1ss_mul", mask_b1ss_mul, 13, 1),
        ("causal_neg_inf", causal_neg_inf, 13, 1),
        ("mask_per_row", mask_per_row, 13, 1),
        ("no_mask_scale_q", no_mask_scale_q, 13, 1),
        ("k_transposed_view", k_transposed_view, 13, 1),
        ("cross", cross, 13, 1),
        ("ctx_not_merged", ctx_not_merged, 13, 1),
        ("rank3", rank3, 13, 1),
        ("opset11_last_axis", opset11_last_axis, 11, 1),
        ("v_two_transposes", v_two_transposes, 13, 1),
        ("sdpa_bool_mask", sdpa_bool_mask, 17, 1),
        ("opset11_default_axis", opset11_default_axis, 11, 0),
        ("softmax_not_last", softmax_not_last, 13, 0),
        ("scores_also_output", scores_also_output, 13, 0),
        ("scale_after_mask", scale_after_mask, 13, 0),
        ("mask_widens", mask_widens, 13, 0),
        ("v_rows_strided", v_rows_strided, 13, 0),
        ("sdpa_guard_not_zero", sdpa_guard_not_zero, 17, 0),
    ]


def calls(model_c):
    with open(model_c) as f:
        return len(re.findall(r"^\s*rt_attention\(&params", f.read(), re.M))


def check(dlc, name, path, dataset, folder, want, timeout=300):
    keep = os.path.join(folder, "keep")
    os.makedirs(keep, exist_ok=True)
    proc = subprocess.run([dlc, "check", path, dataset, "--keep", keep], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=timeout)
    errs = re.findall(r"max_abs=\S+ max_rel=\S+", proc.stdout)
    model_c = os.path.join(keep, "model.c")
    n = calls(model_c) if os.path.exists(model_c) else -1
    ok = proc.returncode == 0
    why = "" if ok else (proc.stdout.strip().splitlines() or ["?"])[-1]
    if ok and n != want:
        ok, why = False, f"rt_attention called {n} times, want {want}"
    print(f"{'PASS' if ok else 'FAIL'} {name}: {' '.join(errs)} fused {n} (want {want})"
          f"{'  ' + why if why else ''}", flush=True)
    return ok


def bert_dataset(model, folder):
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "bench", "models"))
    import bert  # noqa: E402
    import onnxruntime as ort
    feeds = bert.example(np.random.default_rng(7))
    sess = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    names = [i.name for i in sess.get_inputs()]
    outs = sess.run(None, {k: feeds[k] for k in names})
    d = os.path.join(folder, "data", "test_data_set_0")
    os.makedirs(d, exist_ok=True)
    for j, n in enumerate(names):
        with open(os.path.join(d, f"input_{j}.pb"), "wb") as f:
            f.write(numpy_helper.from_array(feeds[n], n).SerializeToString())
    for j, (o, a) in enumerate(zip(sess.get_outputs(), outs)):
        with open(os.path.join(d, f"output_{j}.pb"), "wb") as f:
            f.write(numpy_helper.from_array(a, o.name).SerializeToString())
    return d


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dlc", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--bert", help="bert_base.onnx (bench/models/make.py) to check too")
    args = p.parse_args()
    dlc = os.path.abspath(args.dlc)
    passed = failed = 0
    for i, (name, build, opset, want) in enumerate(models()):
        folder = os.path.join(args.work, name)
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, name + ".onnx")
        g = G(300 + i)
        g.save(path, build(g), opset)
        dataset = make_dataset.make_dataset(path, os.path.join(folder, "data"), seed=i)[0]
        ok = check(dlc, name, path, dataset, folder, want)
        passed += ok
        failed += not ok
    # the project's attention model
    folder = os.path.join(args.work, "attention_model")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "attention.onnx")
    onnx.save(make_models.attention(), path)
    dataset = make_dataset.make_dataset(path, os.path.join(folder, "data"), seed=1)[0]
    ok = check(dlc, "attention_model", path, dataset, folder, 1)
    passed += ok
    failed += not ok
    if args.bert:
        folder = os.path.join(args.work, "bert_base")
        os.makedirs(folder, exist_ok=True)
        ok = check(dlc, "bert_base", args.bert, bert_dataset(args.bert, folder), folder, 12,
                   timeout=900)
        passed += ok
        failed += not ok
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
