"""Writes the recurrent models that bench/compare.py times against ONNX
Runtime (and OpenVINO): seeded constant weights, batch 1.

usage: python bench/rnn_models.py OUTDIR
       python bench/compare.py OUTDIR/bilstm_h256.onnx build/dlc   (etc.)

    bilstm_h256   bidirectional LSTM, input 256, hidden 256, 100 steps
    lstm_h512     LSTM, input 128, hidden 512, 100 steps
    gru_h256      GRU (linear_before_reset 1, as PyTorch exports), input
                  256, hidden 256, 100 steps
    bilstm_b8     bidirectional LSTM, input 128, hidden 128, 50 steps,
                  batch 8 (the recurrent product on rt_sgemm)
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def model(path, op, gates, dirs, inp, hidden, seq, batch=1, **attrs):
    rng = np.random.default_rng(7)
    s = 1.0 / np.sqrt(hidden)

    def w(name, shape):
        return numpy_helper.from_array(rng.uniform(-s, s, shape).astype(np.float32), name)

    inits = [w("W", [dirs, gates * hidden, inp]), w("R", [dirs, gates * hidden, hidden]),
             w("B", [dirs, 2 * gates * hidden])]
    outs = ["Y", "Y_h"] + (["Y_c"] if op == "LSTM" else [])
    if dirs == 2:
        attrs["direction"] = "bidirectional"
    node = helper.make_node(op, ["X", "W", "R", "B"], outs, hidden_size=hidden, **attrs)
    g = helper.make_graph([node], os.path.basename(path),
                          [helper.make_tensor_value_info("X", TensorProto.FLOAT,
                                                         [seq, batch, inp])],
                          [helper.make_tensor_value_info(o, TensorProto.FLOAT, None)
                           for o in outs], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 14)], ir_version=10)
    m = onnx.shape_inference.infer_shapes(m, strict_mode=True)
    onnx.checker.check_model(m)
    onnx.save(m, path)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    model(os.path.join(out, "bilstm_h256.onnx"), "LSTM", 4, 2, 256, 256, 100)
    model(os.path.join(out, "lstm_h512.onnx"), "LSTM", 4, 1, 128, 512, 100)
    model(os.path.join(out, "gru_h256.onnx"), "GRU", 3, 1, 256, 256, 100, linear_before_reset=1)
    model(os.path.join(out, "bilstm_b8.onnx"), "LSTM", 4, 2, 128, 128, 50, batch=8)


if __name__ == "__main__":
    main()
