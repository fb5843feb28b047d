"""Control flow (If, Loop, Scan) that dlc must refuse with a clear message.
As in cases_graph.py, the faulty node is node 1, after a harmless 'pre'."""
import numpy as np
from onnx import TensorProto, helper

from bad_lib import case, const, make, pre, save, vi

B, I64 = TensorProto.BOOL, TensorProto.INT64


def branch(nodes, outs, name="branch"):
    return helper.make_graph(nodes, name, [], [vi(o, None) for o in outs])


@case("subgraph_missing_value", "an If branch reads a value defined nowhere, "
      "in it or in an enclosing scope", ["node 1", "If", "ghost", "not defined"])
def _missing_value(path, bad):
    then_g = branch([helper.make_node("Neg", ["ghost" if bad else "h"], ["t"])], ["t"])
    else_g = branch([helper.make_node("Abs", ["h"], ["e"])], ["e"])
    nodes = [pre(), helper.make_node("If", ["c"], ["y"], name="if_ghost",
                                     then_branch=then_g, else_branch=else_g)]
    save(make(nodes, [vi("x", [2, 3]), vi("c", [], B)], [vi("y", [2, 3])]), path)


@case("if_branch_output_count", "then_branch returns two values for an If with "
      "one output", ["node 1", "If", "then_branch", "returns 2"])
def _branch_count(path, bad):
    outs = ["t", "h"] if bad else ["t"]
    then_g = branch([helper.make_node("Neg", ["h"], ["t"])], outs)
    else_g = branch([helper.make_node("Abs", ["h"], ["e"])], ["e"])
    nodes = [pre(), helper.make_node("If", ["c"], ["y"], name="if_count",
                                     then_branch=then_g, else_branch=else_g)]
    save(make(nodes, [vi("x", [2, 3]), vi("c", [], B)], [vi("y", [2, 3])]), path)


@case("if_branch_shapes_differ", "a run-time If whose branches give [2,3] and "
      "[3,2]: no one static output shape", ["node 1", "if_shape", "static shape"])
def _branch_shapes(path, bad):
    then_g = branch([helper.make_node("Neg", ["h"], ["t"])], ["t"])
    perm = [1, 0] if bad else [0, 1]
    else_g = branch([helper.make_node("Transpose", ["h"], ["e"], perm=perm)], ["e"])
    nodes = [pre(), helper.make_node("If", ["c"], ["y"], name="if_shape",
                                     then_branch=then_g, else_branch=else_g)]
    save(make(nodes, [vi("x", [2, 3]), vi("c", [], B)], [vi("y", ["r", "c"])]), path)


@case("subgraph_too_deep", "If nested 20 deep (dlc reads at most 16 levels)",
      ["nested", "16"])
def _too_deep(path, bad):
    depth = 20 if bad else 2
    inner = branch([helper.make_node("Neg", ["x"], ["t0"])], ["t0"], "b0")
    for k in range(1, depth + 1):
        node = helper.make_node("If", ["c"], [f"t{k}"], name=f"if{k}",
                                then_branch=inner,
                                else_branch=branch([helper.make_node("Abs", ["x"], [f"e{k}"])],
                                                   [f"e{k}"], f"e{k}"))
        if k == depth:
            nodes = [pre(), node]
        inner = branch([node], [f"t{k}"], f"b{k}")
    nodes[1].output[0] = "y"
    save(make(nodes, [vi("x", [2, 3]), vi("c", [], B)], [vi("y", [2, 3])]), path)


@case("if_nested_copies", "a run-time If nested 16 deep with both branches alike: "
      "expanded, its 8 MB would become 2^17 nodes (and each level's copy doubled "
      "the nodes' names once); refused at the node limit", ["node 1", "limit", "65536"])
def _nested_copies(path, bad):
    depth = 16 if bad else 2
    inner = branch([helper.make_node("Neg", ["h"], ["t0"])], ["t0"], "b0")
    for k in range(1, depth + 1):
        # the same body on both sides: protobuf stores it twice per level
        node = helper.make_node("If", ["c"], [f"t{k}"], name=f"if{k}",
                                then_branch=inner, else_branch=inner)
        inner = branch([node], [f"t{k}"], f"b{k}")
    node.output[0] = "y"
    save(make([pre(), node], [vi("x", [2, 3]), vi("c", [], B)], [vi("y", [2, 3])]), path)


@case("loop_without_bound", "a Loop with M omitted and a run-time cond: no "
      "trip count or maximum known at compile time", ["node 1", "Loop", "--loop-max"])
def _loop_unbounded(path, bad):
    body = helper.make_graph(
        [helper.make_node("Identity", ["cond_in"], ["cond_out"]),
         helper.make_node("Add", ["s", "h"], ["s_out"])],
        "body", [vi("i", [], I64), vi("cond_in", [], B), vi("s", [2, 3])],
        [vi("cond_out", [], B), vi("s_out", [2, 3])])
    loop = helper.make_node("Loop", ["" if bad else "M", "c", "x"], ["y"], name="loop_nobound",
                            body=body)
    save(make([pre(), loop], [vi("x", [2, 3]), vi("c", [], B)], [vi("y", [2, 3])],
              [const("M", np.array(3, np.int64))]), path)


@case("loop_state_grows", "a Loop whose carried value grows each iteration "
      "while a run-time cond decides which iterations run",
      ["node 1", "loop_grow", "static shape"])
def _loop_grows(path, bad):
    body = helper.make_graph(
        [helper.make_node("Identity", ["cond_in"], ["cond_out"]),
         helper.make_node("Concat", ["s", "h"], ["s_out"], axis=0) if bad else
         helper.make_node("Add", ["s", "h"], ["s_out"])],
        "body", [vi("i", [], I64), vi("cond_in", [], B), vi("s", ["n", 3])],
        [vi("cond_out", [], B), vi("s_out", ["n", 3])])
    loop = helper.make_node("Loop", ["M", "c", "x"], ["y"], name="loop_grow", body=body)
    save(make([pre(), loop], [vi("x", [2, 3]), vi("c", [], B)], [vi("y", ["n", 3])],
              [const("M", np.array(3, np.int64))]), path)


@case("loop_unroll_limit", "a Loop of 100000 iterations: unrolled, it would "
      "exceed the 65536 copied nodes dlc allows", ["node 1", "loop_long", "65536"])
def _loop_long(path, bad):
    body = helper.make_graph(
        [helper.make_node("Identity", ["cond_in"], ["cond_out"]),
         helper.make_node("Add", ["s", "h"], ["s_out"])],
        "body", [vi("i", [], I64), vi("cond_in", [], B), vi("s", [2, 3])],
        [vi("cond_out", [], B), vi("s_out", [2, 3])])
    loop = helper.make_node("Loop", ["M", "", "x"], ["y"], name="loop_long", body=body)
    save(make([pre(), loop], [vi("x", [2, 3])], [vi("y", [2, 3])],
              [const("M", np.array(100000 if bad else 3, np.int64))]), path)


@case("scan8_sequence_lens", "a Scan-8 given sequence_lens (per-batch lengths, "
      "which dlc does not take)", ["node 1", "scan8", "sequence_lens"])
def _scan8_lens(path, bad):
    body = helper.make_graph(
        [helper.make_node("Add", ["s", "xt"], ["s_out"])],
        "body", [vi("s", [3]), vi("xt", [3])], [vi("s_out", [3])])
    scan = helper.make_node("Scan", ["lens" if bad else "", "h", "xs"], ["y"], name="scan8",
                            body=body, num_scan_inputs=1)
    save(make([pre("s0"), scan], [vi("s0", [1, 3]), vi("xs", [1, 4, 3])], [vi("y", [1, 3])],
              [const("lens", np.array([4], np.int64))], opsets=(("", 8),)), path)


@case("scan8_input_omitted", "a Scan-8 whose scan input is '' (only sequence_lens "
      "may be omitted; a null dereference once, found by fuzzing)",
      ["node 1", "scan8_gap", "input 2 is missing"])
def _scan8_gap(path, bad):
    body = helper.make_graph(
        [helper.make_node("Add", ["s", "xt"], ["s_out"])],
        "body", [vi("s", [3]), vi("xt", [3])], [vi("s_out", [3])])
    scan = helper.make_node("Scan", ["", "h", "" if bad else "xs"], ["y"], name="scan8_gap",
                            body=body, num_scan_inputs=1)
    save(make([pre("s0"), scan], [vi("s0", [1, 3]), vi("xs", [1, 4, 3])], [vi("y", [1, 3])],
              opsets=(("", 8),)), path)


@case("scan8_huge_batch", "a Scan-8 over a batch of 2^31 (one Scan per batch element: "
      "dlc once allocated 16 GiB for their outputs; found by fuzzing)",
      ["node 1", "scan8_big", "65536"])
def _scan8_big(path, bad):
    body = helper.make_graph(
        [helper.make_node("Add", ["s", "xt"], ["s_out"])],
        "body", [vi("s", [1]), vi("xt", [1])], [vi("s_out", [1])])
    scan = helper.make_node("Scan", ["", "h", "xs"], ["y"], name="scan8_big",
                            body=body, num_scan_inputs=1)
    batch = 1 << 31 if bad else 2
    save(make([pre("s0"), scan], [vi("s0", [batch, 1]), vi("xs", [batch, 3, 1])],
              [vi("y", [batch, 1])], opsets=(("", 8),)), path)


@case("errors_capped", "a Scan of 20000 steps whose body has a NonZero of run-time data: "
      "one error per unrolled step, each walking the graph, was 20000 messages; "
      "inference stops after 64 (found by fuzzing)", ["stopping after 64 errors"])
def _errors_capped(path, bad):
    body = helper.make_graph(
        [helper.make_node("Add", ["s", "xt"], ["s_out"]),
         helper.make_node("NonZero" if bad else "Shape", ["xt"], ["nz"])],
        "body", [vi("s", [2]), vi("xt", [2])],
        [vi("s_out", [2]), vi("nz", [1, "k"] if bad else [1], I64)])
    scan = helper.make_node("Scan", ["h", "xs"], ["y", "nzs"], name="scan_nz", body=body,
                            num_scan_inputs=1)
    save(make([pre("s0"), scan], [vi("s0", [2]), vi("xs", [20000, 2])],
              [vi("y", [2]), vi("nzs", [20000, 1, "k"] if bad else [20000, 1], I64)]), path)
