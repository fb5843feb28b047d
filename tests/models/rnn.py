"""Recurrent models (RNN, GRU, LSTM) against ONNX Runtime.

usage: python rnn.py --dlc build/dlc --work DIR

Each case is a graph with seeded weights (constants, so dlc packs them at
compile time) and seeded inputs; ONNX Runtime's outputs are written as the
dataset and

    dlc check MODEL DATASET --atol 2e-5 --rtol 1e-4

compares the generated code with them, element by element:
|got - want| <= atol + rtol * |want|. Both sides compute in float with
their own fast sigmoid / tanh (dlc's: errors below 1.5e-6, see
runtime/rnn.c), over at most 40 steps of contracting recurrences.

    case              graph
    bilstm_tagger     token ids -> embedding Gather -> Transpose -> BiLSTM
                      (B) -> Transpose -> Reshape -> Gemm: a sequence tagger
    gru_seq           GRU (linear_before_reset = 1, as PyTorch exports) then
                      a reverse GRU (linear_before_reset = 0) over its Y
    lstm_state        LSTM with initial_h / initial_c as graph inputs and
                      Y_h / Y_c as outputs, peepholes (a streaming step)
    lstm_layout1      bidirectional LSTM, layout = 1 (batch first), opset 22
    rnn_layout1       RNN, layout = 1, Relu, initial_h constant
                      (ONNX Runtime refuses layout = 1: the reference is its
                      output for the layout-0 twin, transposed)
    seq_lens_gru      bidirectional GRU with sequence_lens as an int32 input
    seq_lens_lstm     LSTM, reverse, sequence_lens, only Y_h / Y_c wanted
    lstm_acts         LSTM with HardSigmoid / Softsign / ScaledTanh, their
                      alpha / beta, clip and input_forget
    gru_acts          bidirectional GRU, LeakyRelu / Affine / Elu / Softplus
                      / ThresholdedRelu, clip
    lstm_batch6       batch 6 (the recurrent product on rt_sgemm)
    bilstm_h128       hidden 128, 40 steps, batch 1 (the matrix-vector path)
"""
import argparse
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "tools"))
from make_dataset import write_case  # noqa: E402
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import run_case, tally  # noqa: E402

ATOL, RTOL = 2e-5, 1e-4
F = TensorProto.FLOAT


class Builder:
    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.nodes, self.inits, self.inputs, self.feeds = [], [], [], {}

    def const(self, name, a):
        self.inits.append(numpy_helper.from_array(np.asarray(a), name))
        return name

    def weight(self, name, shape, scale):
        return self.const(name, (self.rng.uniform(-1, 1, shape) * scale).astype(np.float32))

    def input(self, name, a):
        t = TensorProto.INT64 if a.dtype == np.int64 else \
            TensorProto.INT32 if a.dtype == np.int32 else F
        self.inputs.append(helper.make_tensor_value_info(name, t, list(a.shape)))
        self.feeds[name] = a
        return name

    def node(self, op, ins, outs, **attrs):
        self.nodes.append(helper.make_node(op, ins, outs, name=f"n{len(self.nodes)}_{op}",
                                           **attrs))

    def rnn_weights(self, tag, gates, dirs, inp, hidden, bias=True, peep=False):
        s = 1.0 / np.sqrt(hidden)
        ins = [self.weight(f"{tag}_W", [dirs, gates * hidden, inp], s),
               self.weight(f"{tag}_R", [dirs, gates * hidden, hidden], s),
               self.weight(f"{tag}_B", [dirs, 2 * gates * hidden], s) if bias else ""]
        return ins, (self.weight(f"{tag}_P", [dirs, 3 * hidden], 0.5) if peep else "")

    def model(self, outputs, opset):
        outs = [helper.make_tensor_value_info(o, F, None) for o in outputs]
        g = helper.make_graph(self.nodes, "g", self.inputs, outs, self.inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], ir_version=10)
        m = onnx.shape_inference.infer_shapes(m, strict_mode=True)
        onnx.checker.check_model(m)
        return m


def rand(b, shape):
    return b.rng.uniform(-1, 1, shape).astype(np.float32)


def bilstm_tagger(b):
    vocab, emb, hidden, tags, batch, seq = 50, 16, 24, 9, 2, 12
    ids = b.input("ids", b.rng.integers(0, vocab, (batch, seq)).astype(np.int64))
    b.node("Gather", [b.weight("emb", [vocab, emb], 1.0), ids], ["e"])
    b.node("Transpose", ["e"], ["x"], perm=[1, 0, 2])
    w, _ = b.rnn_weights("l", 4, 2, emb, hidden)
    b.node("LSTM", ["x"] + w, ["y"], hidden_size=hidden, direction="bidirectional")
    b.node("Transpose", ["y"], ["yt"], perm=[2, 0, 1, 3])
    b.node("Reshape", ["yt", b.const("shape", np.array([batch * seq, 2 * hidden], np.int64))],
           ["flat"])
    b.node("Gemm", ["flat", b.weight("proj", [2 * hidden, tags], 0.3),
                    b.weight("projb", [tags], 0.1)], ["logits"])
    return ["logits"], 14


def gru_seq(b):
    inp, hidden, batch, seq = 20, 32, 3, 15
    x = b.input("x", rand(b, [seq, batch, inp]))
    w, _ = b.rnn_weights("g1", 3, 1, inp, hidden)
    b.node("GRU", [x] + w, ["y1", "h1"], hidden_size=hidden, linear_before_reset=1)
    b.node("Squeeze", ["y1", b.const("ax", np.array([1], np.int64))], ["y1s"])
    w2, _ = b.rnn_weights("g2", 3, 1, hidden, 16)
    init = b.weight("g2_h0", [1, batch, 16], 1.0)
    b.node("GRU", ["y1s"] + w2 + ["", init], ["y2", "h2"], hidden_size=16, direction="reverse")
    return ["y2", "h1", "h2"], 14


def lstm_state(b):
    inp, hidden, batch, seq = 10, 20, 2, 5
    x = b.input("x", rand(b, [seq, batch, inp]))
    h0 = b.input("h0", rand(b, [1, batch, hidden]))
    c0 = b.input("c0", rand(b, [1, batch, hidden]))
    w, p = b.rnn_weights("s", 4, 1, inp, hidden, peep=True)
    b.node("LSTM", [x] + w + ["", h0, c0, p], ["y", "yh", "yc"], hidden_size=hidden)
    return ["y", "yh", "yc"], 14


# ONNX Runtime does not run layout = 1 ("Batchwise recurrent operations
# are not supported"): these cases build a layout-0 twin from the same
# seed for it, and its inputs and outputs are transposed to batch first.
def lstm_layout1(b, layout=1):
    inp, hidden, batch, seq = 12, 17, 3, 9
    x = rand(b, [seq, batch, inp])
    h0 = rand(b, [2, batch, hidden])
    if layout:
        x, h0 = x.transpose(1, 0, 2).copy(), h0.transpose(1, 0, 2).copy()
    x, h0 = b.input("x", x), b.input("h0", h0)
    w, _ = b.rnn_weights("b", 4, 2, inp, hidden)
    b.node("LSTM", [x] + w + ["", h0], ["y", "yh", "yc"], hidden_size=hidden,
           direction="bidirectional", layout=layout)
    return ["y", "yh", "yc"], 22


def rnn_layout1(b, layout=1):
    inp, hidden, batch, seq = 7, 33, 2, 6
    x = rand(b, [seq, batch, inp])
    x = b.input("x", x.transpose(1, 0, 2).copy() if layout else x)
    w, _ = b.rnn_weights("r", 1, 1, inp, hidden)
    h0 = rand(b, [1, batch, hidden])
    init = b.const("r_h0", h0.transpose(1, 0, 2).copy() if layout else h0)
    b.node("RNN", [x] + w + ["", init], ["y", "yh"], hidden_size=hidden, layout=layout,
           activations=["Relu"])
    return ["y", "yh"], 14


def to_batch_first(ys):
    """Layout-0 outputs (Y first, then states) as layout 1 lays them out."""
    return [y.transpose(2, 0, 1, 3) if y.ndim == 4 else y.transpose(1, 0, 2) for y in ys]


def seq_lens_gru(b):
    inp, hidden, batch, seq = 6, 10, 4, 7
    x = b.input("x", rand(b, [seq, batch, inp]))
    lens = b.input("lens", np.array([7, 3, 1, 5], np.int32))
    w, _ = b.rnn_weights("q", 3, 2, inp, hidden)
    b.node("GRU", [x] + w + [lens], ["y", "yh"], hidden_size=hidden, direction="bidirectional")
    return ["y", "yh"], 14


def seq_lens_lstm(b):
    inp, hidden, batch, seq = 5, 8, 3, 6
    x = b.input("x", rand(b, [seq, batch, inp]))
    lens = b.input("lens", np.array([4, 6, 2], np.int32))
    w, _ = b.rnn_weights("m", 4, 1, inp, hidden)
    b.node("LSTM", [x] + w + [lens], ["", "yh", "yc"], hidden_size=hidden, direction="reverse")
    return ["yh", "yc"], 14


def lstm_acts(b):
    inp, hidden, batch, seq = 6, 12, 2, 8
    x = b.input("x", rand(b, [seq, batch, inp]))
    w, _ = b.rnn_weights("a", 4, 1, inp, hidden)
    b.node("LSTM", [x] + w, ["y", "yh", "yc"], hidden_size=hidden,
           activations=["HardSigmoid", "Softsign", "ScaledTanh"],
           activation_alpha=[0.3, 0.9], activation_beta=[0.45, 1.2], clip=1.5,
           input_forget=1)
    return ["y", "yh", "yc"], 14


def gru_acts(b):
    inp, hidden, batch, seq = 6, 9, 3, 5
    x = b.input("x", rand(b, [seq, batch, inp]))
    w, _ = b.rnn_weights("c", 3, 2, inp, hidden)
    b.node("GRU", [x] + w, ["y", "yh"], hidden_size=hidden, direction="bidirectional",
           activations=["LeakyRelu", "Affine", "Elu", "Softplus"],
           activation_alpha=[0.2, 0.7, 0.8], activation_beta=[0.1], clip=2.5)
    b.node("GRU", [x] + w, ["y2", "yh2"], hidden_size=hidden, direction="bidirectional",
           activations=["Sigmoid", "ThresholdedRelu", "HardSigmoid", "Tanh"],
           activation_alpha=[0.05, 0.25], activation_beta=[0.4])
    return ["y", "yh", "y2", "yh2"], 14


def lstm_batch6(b):
    inp, hidden, batch, seq = 9, 40, 6, 7
    x = b.input("x", rand(b, [seq, batch, inp]))
    w, p = b.rnn_weights("z", 4, 2, inp, hidden, peep=True)
    b.node("LSTM", [x] + w + ["", "", "", p], ["y", "yh", "yc"], hidden_size=hidden,
           direction="bidirectional")
    return ["y", "yh", "yc"], 14


def bilstm_h128(b):
    inp, hidden, batch, seq = 64, 128, 1, 40
    x = b.input("x", rand(b, [seq, batch, inp]))
    w, _ = b.rnn_weights("k", 4, 2, inp, hidden)
    b.node("LSTM", [x] + w, ["y", "yh", "yc"], hidden_size=hidden, direction="bidirectional")
    return ["y", "yh", "yc"], 14


CASES = [bilstm_tagger, gru_seq, lstm_state, lstm_layout1, rnn_layout1, seq_lens_gru,
         seq_lens_lstm, lstm_acts, gru_acts, lstm_batch6, bilstm_h128]


LAYOUT1 = (lstm_layout1, rnn_layout1)


def ort_run(m, feeds):
    s = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    return s.run(None, feeds)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dlc", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    oks = []
    for i, case in enumerate(CASES):
        b = Builder(100 + i)
        outs, opset = case(b)
        m = b.model(outs, opset)
        if case in LAYOUT1:
            t = Builder(100 + i)
            t_outs, t_opset = case(t, layout=0)
            ys = to_batch_first(ort_run(t.model(t_outs, t_opset), t.feeds))
        else:
            ys = ort_run(m, b.feeds)
        xs = [b.feeds[i.name] for i in m.graph.input]
        path, ddir = write_case(args.work, case.__name__, m, xs, ys)
        oks.append(run_case(args.dlc, case.__name__, path, ddir,
                            ["--atol", str(ATOL), "--rtol", str(RTOL)], 600))
    return tally(oks)


if __name__ == "__main__":
    sys.exit(main())
