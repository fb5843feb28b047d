"""Concat inputs placed in their slices of the output and Split outputs as
views of the input (passes/plan_memory.c), against ONNX Runtime.

usage: python slices.py --dlc build/dlc --work DIR

The planner lets producers write straight into a Concat's output, and a
Split's pieces be its input at offsets, so that neither copies. Each graph
here gives it a way to get that wrong, and `dlc check` compares every
output with ONNX Runtime's (rtol 1e-5, atol 1e-5: only the kernels'
own rounding differs):
  - c2f: YOLOv8's block. A 1x1 conv, Split in two, a chain of bottlenecks
    on the second half, Concat of both halves and every bottleneck output
    (each also read by the next bottleneck, and one read again after the
    Concat), a 1x1 conv;
  - two_concats: values in two and three Concats (only one may own
    them), a value twice in one Concat, a Split's pieces joined in another
    order and in part;
  - after: elementwise ops after the Concat on its inputs (an in-place
    write over a slice would corrupt the Concat's output read later);
  - outer_axis: a Split and a Concat along axis 2 of [2, 3, 8] (the pieces
    are not contiguous: copied), and along axis 0 of [6, 5];
  - graph_io: a Split of a graph input and a Concat whose input is also a
    graph output (neither in the arena).
In the sanitizer build dlc and the generated code run under ASan/UBSan.
"""
import os
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from run import dlc_work_args, run_built, tally  # noqa: E402

F = TensorProto.FLOAT


class Graph:
    """Nodes and seeded constants, built in order."""

    def __init__(self, rng):
        self.rng, self.nodes, self.inits, self.n = rng, [], [], 0

    def name(self, stem):
        self.n += 1
        return f"{stem}{self.n}"

    def node(self, op, ins, nout=1, **attrs):
        outs = [self.name(op.lower()) for _ in range(nout)]
        self.nodes.append(helper.make_node(op, ins, outs, **attrs))
        return outs if nout > 1 else outs[0]

    def const(self, shape, scale=0.3):
        nm = self.name("w")
        a = (self.rng.standard_normal(shape) * scale).astype(np.float32)
        self.inits.append(numpy_helper.from_array(a, nm))
        return nm

    def ints(self, values):
        nm = self.name("i")
        self.inits.append(numpy_helper.from_array(np.array(values, np.int64), nm))
        return nm

    def conv(self, x, cin, cout, k):
        return self.node("Conv", [x, self.const([cout, cin, k, k]), self.const([cout])],
                         pads=[k // 2] * 4)

    def silu(self, x):
        return self.node("Mul", [x, self.node("Sigmoid", [x])])

    def model(self, ins, outs):
        g = helper.make_graph(self.nodes, "slices",
                              [helper.make_tensor_value_info(n, F, s) for n, s in ins],
                              [helper.make_tensor_value_info(n, F, None) for n in outs],
                              self.inits)
        return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)


def c2f(rng):
    g = Graph(rng)
    y = g.silu(g.conv("x", 8, 16, 1))
    a, b = g.node("Split", [y], 2, axis=1)
    pieces, h = [a, b], b
    for _ in range(3):
        h = g.node("Add", [h, g.silu(g.conv(g.silu(g.conv(h, 8, 8, 3)), 8, 8, 3))])
        pieces.append(h)
    cat = g.node("Concat", pieces, axis=1)
    out = g.silu(g.conv(cat, 40, 16, 1))
    late = g.node("Mul", [pieces[2], pieces[1]])        # read after the Concat
    return g.model([("x", [1, 8, 12, 10])], [out, late])


def two_concats(rng):
    g = Graph(rng)
    u = g.node("Relu", ["x"])
    v = g.node("Sigmoid", ["x"])
    c1 = g.node("Concat", [u, v], axis=1)
    c2 = g.node("Concat", [v, u], axis=1)
    c5 = g.node("Concat", [g.node("Neg", [v]), u, v], axis=1)
    w = g.node("Abs", ["x"])
    c6 = g.node("Concat", [w, w], axis=1)
    p = g.node("Split", [g.node("Tanh", ["x"])], 3, axis=1)
    c3 = g.node("Concat", [p[2], p[0], p[1]], axis=1)
    c4 = g.node("Concat", [p[1], p[2]], axis=1)
    return g.model([("x", [1, 6, 4, 4])],
                   [g.node("Relu", [c]) for c in (c1, c2, c3, c4, c5, c6)])


def after(rng):
    g = Graph(rng)
    a = g.node("Exp", ["x"])
    b = g.node("Tanh", ["x"])
    cat = g.node("Concat", [a, b], axis=1)
    a2 = g.node("Neg", [a])       # a dies here: an in-place write would hit cat
    b2 = g.node("Sqrt", [g.node("Abs", [b])])
    return g.model([("x", [1, 3, 5, 5])], [g.node("Sigmoid", [cat]), a2, b2])


def outer_axis(rng):
    g = Graph(rng)
    s = g.node("Split", [g.node("Relu", ["x"]), g.ints([3, 5])], 2, axis=2)
    cat = g.node("Concat", [g.node("Neg", [s[1]]), s[0]], axis=2)
    t = g.node("Split", [g.node("Exp", ["y"]), g.ints([1, 3, 2])], 3, axis=0)
    cat2 = g.node("Concat", [t[1], g.node("Neg", [t[0]]), t[2]], axis=0)
    return g.model([("x", [2, 3, 8]), ("y", [6, 5])], [g.node("Abs", [cat]), cat2])


def graph_io(rng):
    g = Graph(rng)
    p = g.node("Split", ["x"], 2, axis=1)
    shown = g.node("Relu", [p[0]])
    cat = g.node("Concat", [shown, p[1]], axis=1)
    return g.model([("x", [1, 4, 3])], [shown, g.node("Neg", [cat])])


def main():
    args = dlc_work_args(__doc__)
    rng = np.random.default_rng(0)
    cases = []
    for build in (c2f, two_concats, after, outer_axis, graph_io):
        m = build(rng)
        feeds = {i.name: rng.uniform(-1, 1, [d.dim_value for d in i.type.tensor_type.shape.dim])
                 .astype(np.float32) for i in m.graph.input}
        cases.append((build.__name__, m, feeds))
    oks = run_built(args.dlc, args.work, cases, ["--rtol", "1e-5", "--atol", "1e-5"])
    return tally(oks)


if __name__ == "__main__":
    sys.exit(main())
