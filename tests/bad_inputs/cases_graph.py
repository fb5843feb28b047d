"""Cases that parse but describe a broken, hostile or unsupported graph.
Where a node is at fault it is node 1 (after a harmless 'pre'), so the
index in the message is checked too."""
import numpy as np
from onnx import TensorProto, helper

from bad_lib import OPSET, case, const, make, pre, raw_tensor, save, vi

# ---- hostile shapes and sizes ----------------------------------------------


@case("negative_dim", "input dimension -3: unknown, like a missing dim, and not the batch "
      "dim, so --shape must bind it", ["in_neg", "dim 1 is unknown", "--shape in_neg="])
def _negative_dim(path, bad):
    node = helper.make_node("Relu", ["in_neg"], ["y"], name="act")
    x = vi("in_neg", [1, -3 if bad else 3])
    save(make([node], [x], [vi("y", [1, 3])]), path)


@case("huge_dims", "input [2^40, 2^40]: the element count overflows int64",
      ["in_big", ["overflow", "too large"]])
def _huge_dims(path, bad):
    node = helper.make_node("Relu", ["in_big"], ["y"], name="act")
    shape = [1 << 40, 1 << 40] if bad else [2, 2]
    save(make([node], [vi("in_big", shape)], [vi("y", shape)]), path)


@case("empty_dims_overflow", "input [0, 4, 2^63-1]: no elements, but its strides "
      "overflow int64 (a Split along axis 1 did; found by fuzzing)",
      ["in_empty", "overflow"])
def _empty_dims(path, bad):
    node = helper.make_node("Split", ["in_empty"], ["y"], name="split_empty", axis=1)
    shape = [0, 4, (1 << 63) - 1] if bad else [0, 4, 3]
    save(make([node], [vi("in_empty", shape)], [vi("y", shape)]), path)


@case("dims_wrap_to_zero", "initializer [2^32, 2^32] with no data: its byte "
      "count wraps to exactly 0 in 64 bits, so an unchecked size 'matches'",
      ["W_wrap", ["overflow", "too large"]])
def _dims_wrap(path, bad):
    w = (raw_tensor("W_wrap", [1 << 32, 1 << 32], b"") if bad else
         const("W_wrap", np.zeros((1, 1), np.float32)))
    node = helper.make_node("Add", ["x", "W_wrap"], ["y"], name="add_wrap")
    save(make([node], [vi("x", [1, 1])], [vi("y", [1, 1])], [w]), path)


@case("raw_data_mismatch", "initializer [4,4] float with 10 bytes of raw_data",
      ["W_short", ["raw_data", "bytes", "size"]])
def _raw_mismatch(path, bad):
    raw = np.ones((4, 4), np.float32).tobytes()
    w = raw_tensor("W_short", [4, 4], raw[:10] if bad else raw)
    node = helper.make_node("Add", ["x", "W_short"], ["y"], name="add_short")
    save(make([node], [vi("x", [4, 4])], [vi("y", [4, 4])], [w]), path)


@case("raw_data_huge_claim", "initializer dims claim 8 GiB, raw_data has 8 "
      "bytes (must be rejected without allocating 8 GiB)",
      ["W_claim", ["raw_data", "bytes", "size"]])
def _raw_huge(path, bad):
    dims = [1 << 31] if bad else [2]
    w = raw_tensor("W_claim", dims, np.ones(2, np.float32).tobytes())
    node = helper.make_node("Relu", ["W_claim"], ["y"], name="act_claim")
    save(make([node], [], [vi("y", dims)], [w]), path)


@case("float_data_count_mismatch",
      "initializer [2,3] with 5 float_data values",
      ["W_few", ["float_data", "element", "size", "count"]])
def _float_count(path, bad):
    w = raw_tensor("W_few", [2, 3], b"")
    w.ClearField("raw_data")  # helper.make_tensor refuses a wrong count
    w.float_data.extend([1.0, 2.0, 3.0, 4.0, 5.0] + ([] if bad else [6.0]))
    node = helper.make_node("Add", ["x", "W_few"], ["y"], name="add_few")
    save(make([node], [vi("x", [2, 3])], [vi("y", [2, 3])], [w]), path)


@case("many_outputs", "a Relu naming 101 outputs: more names than the frontend's "
      "first guess at its name table (it once filled up and probed forever)",
      ["node 1", "relu_many", "Relu", "101 outputs"])
def _many_outputs(path, bad):
    outs = ["y"] + ([f"z{i}" for i in range(100)] if bad else [])
    nodes = [pre(), helper.make_node("Relu", ["h"], outs, name="relu_many")]
    save(make(nodes, [vi("x", [2, 3])], [vi("y", [2, 3])]), path)


@case("variadic_past_row", "a Sum of 65 inputs (ONNX allows it; dlc's row takes 64, "
      "and every buffer below it is sized from the node)",
      ["node 1", "sum_many", "Sum", "65 inputs", "64"])
def _sum_many(path, bad):
    nodes = [pre(), helper.make_node("Sum", ["h"] * (65 if bad else 64), ["y"],
                                     name="sum_many")]
    save(make(nodes, [vi("x", [2, 3])], [vi("y", [2, 3])]), path)


@case("float_op_on_int", "Exp of an int32 tensor (ONNX types Exp float only; "
      "an internal error once, found by fuzzing)", ["node 1", "exp_int", "Exp", "int32"])
def _exp_int(path, bad):
    dt = TensorProto.INT32 if bad else TensorProto.FLOAT
    nodes = [helper.make_node("Neg", ["x"], ["h"], name="pre"),
             helper.make_node("Exp", ["h"], ["y"], name="exp_int")]
    save(make(nodes, [vi("x", [2, 3], dt)], [vi("y", [2, 3], dt)]), path)


@case("float_op_on_int_const", "Sqrt of a constant int64: folding tried it, failed, and "
      "left its kernel for code generation (an internal error once, found by fuzzing)",
      ["node 1", "sqrt_int", "Sqrt", "int64"])
def _sqrt_int_const(path, bad):
    dt = TensorProto.INT64 if bad else TensorProto.FLOAT
    four = const("four", np.array([4], np.int64 if bad else np.float32))
    nodes = [helper.make_node("Neg", ["x"], ["h"], name="pre"),
             helper.make_node("Sqrt", ["four"], ["r"], name="sqrt_int"),
             helper.make_node("Add", ["h", "r"], ["y"], name="add")]
    save(make(nodes, [vi("x", [1], dt)], [vi("y", [1], dt)], [four]), path)


@case("empty_string_attr", "Resize with mode '' (an empty string attribute: "
      "protobuf gives no bytes at all; undefined behaviour once, found by fuzzing)",
      ["node 1", "resize_empty", "Resize", "mode"])
def _empty_string(path, bad):
    node = helper.make_node("Resize", ["h", "", "scales"], ["y"], name="resize_empty",
                            mode="" if bad else "nearest")
    save(make([pre(), node], [vi("x", [1, 1, 2, 2])], [vi("y", [1, 1, 4, 4])],
              [const("scales", np.array([1, 1, 2, 2], np.float32))]), path)


@case("variadic_input_omitted", "a Sum whose second input is '' (Sum has no optional "
      "inputs; a null dereference once, found by fuzzing)",
      ["node 1", "sum_gap", "Sum", "input 1 is missing"])
def _sum_gap(path, bad):
    nodes = [pre(), helper.make_node("Sum", ["h", "" if bad else "x", "x"], ["y"],
                                     name="sum_gap")]
    save(make(nodes, [vi("x", [2, 3])], [vi("y", [2, 3])]), path)


# ---- broken graphs ---------------------------------------------------------


@case("dangling_input", "node input names a value nothing defines "
      "(a missing initializer)", ["node 1", "fc1", "Gemm", "W_missing"])
def _dangling(path, bad):
    inits = [const("b", np.zeros(3, np.float32))]
    if not bad:
        inits.append(const("W_missing", np.ones((4, 3), np.float32)))
    nodes = [pre(), helper.make_node("Gemm", ["h", "W_missing", "b"], ["y"],
                                     name="fc1")]
    save(make(nodes, [vi("x", [2, 4])], [vi("y", [2, 3])], inits), path)


@case("cycle", "two nodes that feed each other",
      ["cycle", ["loop_a", "loop_b"]])
def _cycle(path, bad):
    nodes = [
        helper.make_node("Add", ["x", "y_b" if bad else "x"], ["y_a"],
                         name="loop_a"),
        helper.make_node("Relu", ["y_a"], ["y_b"], name="loop_b"),
    ]
    save(make(nodes, [vi("x", [2, 2])], [vi("y_b", [2, 2])]), path)


@case("duplicate_output", "two nodes produce the same value",
      ["dup_value", "second_producer",
       ["duplicate", "more than once", "already", "twice"]])
def _duplicate(path, bad):
    second = "dup_value" if bad else "other"
    nodes = [
        helper.make_node("Relu", ["x"], ["dup_value"], name="first_producer"),
        helper.make_node("Sigmoid", ["x"], [second], name="second_producer"),
    ]
    outputs = [vi("dup_value", [2, 2])]
    if not bad:
        outputs.append(vi("other", [2, 2]))
    save(make(nodes, [vi("x", [2, 2])], outputs), path)


@case("output_not_produced", "a graph output that no node produces",
      ["ghost", "output"])
def _ghost(path, bad):
    nodes = [helper.make_node("Relu", ["x"], ["y"], name="act")]
    if not bad:
        nodes.append(helper.make_node("Neg", ["x"], ["ghost"], name="neg"))
    outputs = [vi("y", [2, 2]), vi("ghost", [2, 2])]
    save(make(nodes, [vi("x", [2, 2])], outputs), path)


@case("gemm_missing_input", "Gemm with one input (it needs at least two)",
      ["node 1", "gemm_one", "Gemm", ["input", "arity"]])
def _gemm_arity(path, bad):
    inputs = ["h"] if bad else ["h", "B"]
    nodes = [pre(), helper.make_node("Gemm", inputs, ["y"], name="gemm_one")]
    save(make(nodes, [vi("x", [2, 2])], [vi("y", [2, 2])],
              [const("B", np.eye(2, dtype=np.float32))]), path)


# ---- unsupported -----------------------------------------------------------


@case("unsupported_ops", "three operators that do not exist, in one model: "
      "all three must be listed in one run",
      ["unsupported", "FooBarOp", "QuuxOp", "ZorbleOp"])
def _unsupported_ops(path, bad):
    ops = ["FooBarOp", "QuuxOp", "ZorbleOp"] if bad else ["Relu", "Neg", "Abs"]
    names = ["n_foo", "n_quux", "n_zorb"]
    values = ["x", "t1", "t2", "y"]
    nodes = [helper.make_node(op, [values[i]], [values[i + 1]], name=names[i])
             for i, op in enumerate(ops)]
    save(make(nodes, [vi("x", [2, 2])], [vi("y", [2, 2])]), path)


@case("unsupported_domain", "a Relu from the custom domain com.example",
      ["node 1", "custom_relu", "unsupported", "com.example"])
def _unsupported_domain(path, bad):
    nodes = [pre(), helper.make_node("Relu", ["h"], ["y"], name="custom_relu",
                                     domain="com.example" if bad else "")]
    opsets = (("", OPSET), ("com.example", 1))
    save(make(nodes, [vi("x", [2, 2])], [vi("y", [2, 2])], opsets=opsets),
         path)


@case("opset_999", "default-domain opset 999, newer than any that exists",
      ["unsupported", "opset", "999"])
def _opset(path, bad):
    nodes = [helper.make_node("Relu", ["x"], ["y"], name="act")]
    opsets = (("", 999 if bad else OPSET),)
    save(make(nodes, [vi("x", [2, 2])], [vi("y", [2, 2])], opsets=opsets),
         path)


# ---- operator-level errors -------------------------------------------------


@case("conv_weight_rank", "Conv weight of rank 2 (must be 4 for 2-D input)",
      ["node 1", "conv1", "Conv", "W_flat", "rank"])
def _conv_rank(path, bad):
    w = const("W_flat", np.ones((4, 27) if bad else (4, 3, 3, 3), np.float32))
    nodes = [pre(), helper.make_node("Conv", ["h", "W_flat"], ["y"],
                                     name="conv1")]
    save(make(nodes, [vi("x", [1, 3, 8, 8])], [vi("y", [1, 4, 6, 6])], [w]),
         path)


@case("reshape_count_mismatch", "Reshape of 24 elements to [5,5]",
      ["node 1", "reshape1", "Reshape",
       ["element", "count", "size", "mismatch", "24", "25"]])
def _reshape(path, bad):
    target = [5, 5] if bad else [6, 4]
    nodes = [pre(), helper.make_node("Reshape", ["h", "target"], ["y"],
                                     name="reshape1")]
    save(make(nodes, [vi("x", [2, 3, 4])], [vi("y", target)],
              [const("target", np.array(target, np.int64))]), path)


@case("gemm_inner_mismatch", "Gemm of [2,5] by [6,3]",
      ["node 1", "fc_bad", "Gemm",
       ["inner", "mismatch", "incompatible", "dim"]])
def _gemm_inner(path, bad):
    b = const("B", np.ones((6 if bad else 5, 3), np.float32))
    nodes = [pre(), helper.make_node("Gemm", ["h", "B"], ["y"], name="fc_bad")]
    save(make(nodes, [vi("x", [2, 5])], [vi("y", [2, 3])], [b]), path)


def transpose_case(name, why, node_name, perm_bad):
    """Transpose of a [2,3] tensor whose perm is broken when bad."""
    @case(name, why, ["node 1", node_name, "Transpose", "perm"])
    def build(path, bad):
        node = helper.make_node("Transpose", ["h"], ["y"], name=node_name,
                                perm=perm_bad if bad else [1, 0])
        save(make([pre(), node], [vi("x", [2, 3])], [vi("y", [3, 2])]), path)


transpose_case("attr_wrong_type", "Transpose perm given as floats",
               "transpose_f", [1.0, 0.0])
transpose_case("perm_out_of_range", "Transpose perm [0,5] on a rank-2 tensor",
               "transpose_oob", [0, 5])


def convt_case(name, why, node_name, want, **bad_attrs):
    """ConvTranspose of [1,4,5,5] by [4,2,3,3], stride 2 (output
    [1,2,11,11]), with bad_attrs when bad."""
    @case(name, why, ["node 1", node_name, "ConvTranspose", want])
    def build(path, bad):
        attrs = {"strides": [2, 2], **(bad_attrs if bad else {})}
        node = helper.make_node("ConvTranspose", ["h", "W_t"], ["y"], name=node_name,
                                **attrs)
        w = const("W_t", np.ones((4, 2, 3, 3), np.float32))
        save(make([pre(), node], [vi("x", [1, 4, 5, 5])], [vi("y", [1, 2, 11, 11])], [w]),
             path)


convt_case("convt_output_padding", "ConvTranspose output_padding 2 with stride 2",
           "convt_op", "output_padding", output_padding=[2, 0])
convt_case("convt_output_shape_far", "ConvTranspose output_shape [20, 11] where "
           "stride 2 allows 12 at most", "convt_os", "output_shape", output_shape=[20, 11])
convt_case("convt_group", "ConvTranspose group 3 over 4 input channels",
           "convt_g", ["group", "channels"], group=3)
convt_case("convt_stride_overflow", "ConvTranspose stride 2^62: the output "
           "extent overflows int64", "convt_big", "overflow", strides=[1 << 62, 2])
convt_case("convt_pads_eat_output", "ConvTranspose pads [6,0,6,0] on an "
           "output of 11", "convt_pads", ["pads", "no output"], pads=[6, 0, 6, 0])


@case("concat_axis_out_of_range", "Concat axis 7 on rank-2 tensors",
      ["node 1", "concat_oob", "Concat", "axis"])
def _concat_axis(path, bad):
    nodes = [pre(), helper.make_node("Concat", ["h", "x"], ["y"],
                                     name="concat_oob", axis=7 if bad else 1)]
    save(make(nodes, [vi("x", [2, 3])], [vi("y", [2, 6])]), path)


def resize_case(name, why, node_name, want, scales=None, sizes=None, dynamic=False,
                **bad_attrs):
    """Resize of [1,2,4,4] to [1,2,8,8] by scales [1,1,2,2]; when bad, with
    the given scales / sizes (both may be given), bad_attrs, or scales fed
    as a graph input."""
    @case(name, why, ["node 1", node_name, "Resize", want])
    def build(path, bad):
        sc = np.array(scales if bad and scales is not None else
                      ([] if bad and sizes is not None else [1, 1, 2, 2]), np.float32)
        inits = [const("roi", np.array([], np.float32))]
        inputs = [vi("x", [1, 2, 4, 4])]
        if bad and dynamic:
            inputs.append(vi("scales", [4]))
        else:
            inits.append(const("scales", sc))
        ins = ["h", "roi", "scales"]
        if bad and sizes is not None:
            inits.append(const("sizes", np.array(sizes, np.int64)))
            ins.append("sizes")
        node = helper.make_node("Resize", ins, ["y"], name=node_name,
                                **(bad_attrs if bad else {}))
        save(make([pre(), node], inputs, [vi("y", [1, 2, 8, 8])], inits), path)


resize_case("resize_scales_zero", "Resize scales [1,1,0,2]", "resize_zero", "scales",
            scales=[1, 1, 0, 2])
resize_case("resize_scales_negative", "Resize scales [1,1,2,-2]", "resize_neg", "scales",
            scales=[1, 1, 2, -2])
resize_case("resize_scales_nan", "Resize scales [1,1,NaN,2]", "resize_nan", "scales",
            scales=[1, 1, float("nan"), 2])
resize_case("resize_sizes_rank", "Resize sizes [8,8] for a rank-4 input (no axes)",
            "resize_rank", ["sizes", "rank"], sizes=[8, 8])
resize_case("resize_scales_and_sizes", "Resize with both scales and sizes",
            "resize_both", "both", scales=[1, 1, 2, 2], sizes=[1, 2, 8, 8])
resize_case("resize_bad_mode", "Resize mode 'bilinear' (not an ONNX mode)",
            "resize_mode", ["mode", "bilinear"], mode="bilinear")
resize_case("resize_bad_coordinate_mode", "Resize coordinate_transformation_mode 'corners'",
            "resize_coord", ["coordinate_transformation_mode", "corners"],
            coordinate_transformation_mode="corners")
resize_case("resize_axis_huge", "Resize scales [1,1,1,2^27]: a 16 GiB output (under the "
            "tensor cap) whose last axis, 2^29 long, needs 2^29 nearest taps in tables built "
            "at compile time (found by AFL++: 32 GiB allocated in lowering)",
            "resize_huge", ["axis 3", "tap tables"], scales=[1, 1, 1, 2.0 ** 27])
resize_case("resize_dynamic_scales", "Resize scales fed at run time",
            "resize_dyn", ["unsupported", "dynamic", "scales"], dynamic=True)


# ---- shape-setting inputs, TopK, Einsum -----------------------------------


@case("reshape_shape_from_input", "Reshape whose shape is computed (Mul) from "
      "graph input 'n': the message names that input and the --freeze that binds it",
      ["node 2", "reshape1", "Reshape", "graph input 'n'", "--freeze n=FILE.pb"])
def _reshape_from_input(path, bad):
    nodes = [pre(), helper.make_node("Mul", ["n" if bad else "n0", "two"], ["shape"], name="m"),
             helper.make_node("Reshape", ["h", "shape"], ["y"], name="reshape1")]
    inputs = [vi("x", [2, 3, 4])] + ([vi("n", [2], TensorProto.INT64)] if bad else [])
    inits = [const("two", np.array([1, 2], np.int64))] + \
        ([] if bad else [const("n0", np.array([2, 6], np.int64))])
    save(make(nodes, inputs, [vi("y", [2, 12])], inits), path)


@case("topk_k_too_large", "TopK with k = 7 on an axis of extent 6",
      ["node 1", "topk1", "TopK", "k = 7", "out of range"])
def _topk_k(path, bad):
    nodes = [pre(), helper.make_node("TopK", ["h", "k"], ["v", "i"], name="topk1")]
    save(make(nodes, [vi("x", [2, 6])], [vi("v", [2, 7 if bad else 3]),
                                          vi("i", [2, 7 if bad else 3], TensorProto.INT64)],
              [const("k", np.array([7 if bad else 3], np.int64))]), path)


@case("einsum_output_label", "Einsum 'ij,jk->iz': output label z is in no input",
      ["node 1", "ein1", "Einsum", "equation", "in no input"])
def _einsum_label(path, bad):
    nodes = [pre(), helper.make_node("Einsum", ["h", "w"], ["y"], name="ein1",
                                     equation="ij,jk->iz" if bad else "ij,jk->ik")]
    save(make(nodes, [vi("x", [2, 3])], [vi("y", [2, 4])],
              [const("w", np.ones((3, 4), np.float32))]), path)


@case("einsum_extent_mismatch", "Einsum 'ij,jk->ik' of [2,3] by [5,4]",
      ["node 1", "ein2", "Einsum", "extent 5", "3"])
def _einsum_extent(path, bad):
    nodes = [pre(), helper.make_node("Einsum", ["h", "w"], ["y"], name="ein2",
                                     equation="ij,jk->ik")]
    save(make(nodes, [vi("x", [2, 3])], [vi("y", [2, 4])],
              [const("w", np.ones((5 if bad else 3, 4), np.float32))]), path)


@case("einsum_input_omitted", "Einsum 'ij,jk->ik' whose second input is '' (a null "
      "dereference once, found by fuzzing)", ["node 1", "ein_gap", "Einsum", "input 1 is missing"])
def _einsum_gap(path, bad):
    nodes = [pre(), helper.make_node("Einsum", ["h", "" if bad else "w"], ["y"], name="ein_gap",
                                     equation="ij,jk->ik")]
    save(make(nodes, [vi("x", [2, 3])], [vi("y", [2, 4])],
              [const("w", np.ones((3, 4), np.float32))]), path)


# ---- recurrent layers -------------------------------------------------------


def lstm_case(name, why, node_name, want, bad_attrs=None, bad_w=None, op="LSTM", gates=4,
              opset=OPSET):
    """An LSTM (or GRU / RNN) with hidden size 2 over X [3, 1, 4]; when bad,
    bad_attrs replace attributes and bad_w gives W's shape."""
    @case(name, why, ["node 1", node_name, op, want])
    def build(path, bad):
        attrs = {"hidden_size": 2, **(bad_attrs if bad and bad_attrs else {})}
        node = helper.make_node(op, ["h", "W_r", "R_r"], ["y"], name=node_name, **attrs)
        w_shape = bad_w if bad and bad_w else (1, gates * 2, 4)
        w = const("W_r", np.full(w_shape, 0.1, np.float32))
        r = const("R_r", np.full((1, gates * 2, 2), 0.1, np.float32))
        save(make([pre(), node], [vi("x", [3, 1, 4])], [vi("y", [3, 1, 1, 2])], [w, r],
                  opsets=(("", opset),)), path)


lstm_case("lstm_hidden_size_mismatch", "LSTM hidden_size 3 with W [1, 8, 4] (hidden 2)",
          "lstm_hs", "hidden_size", bad_attrs={"hidden_size": 3})
lstm_case("lstm_w_rank", "LSTM W of rank 2", "lstm_wr", "rank", bad_w=(8, 4))
lstm_case("lstm_unknown_activation", "LSTM activation 'Gelu' (not an RNN activation)",
          "lstm_act", ["unknown activation", "Gelu"],
          bad_attrs={"activations": ["Sigmoid", "Tanh", "Gelu"]})
lstm_case("lstm_activation_count", "LSTM with 2 activations (needs 3 per direction)",
          "lstm_nact", "activations", bad_attrs={"activations": ["Sigmoid", "Tanh"]})
lstm_case("lstm_direction", "LSTM direction 'sideways'", "lstm_dir", "direction",
          bad_attrs={"direction": "sideways"})
lstm_case("lstm_clip_negative", "LSTM clip -1", "lstm_clip", "clip", bad_attrs={"clip": -1.0})
lstm_case("gru_w_gates", "GRU W [1, 7, 4]: 7 rows are not 3 gates", "gru_gates", "gates",
          bad_w=(1, 7, 4), op="GRU", gates=3)
lstm_case("rnn_layout", "RNN layout 2 (opset 14)", "rnn_layout", "layout",
          bad_attrs={"layout": 2}, op="RNN", gates=1, opset=14)
