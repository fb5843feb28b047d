"""CRNN text-line recogniser in the form PaddleOCR's and EasyOCR's exports
take: a VGG-style conv stack (batch-norm folded, ReLU) that pools a
1x3x48x320 line to height 1 and 80 time steps, Squeeze + Transpose to
[T, N, C], two bidirectional LSTM layers of 128 units (ONNX LSTM, the
outputs' directions merged by Transpose + Reshape), a MatMul + Add to 6,625
classes (PaddleOCR's Chinese dictionary) and a LogSoftmax per time step,
the CTC log-probabilities [1, 80, 6625] that CTC decoders read.
"""
import numpy as np

from build import FLOAT, Graph

NAME = "crnn"
OPSET = 14
HID, CLASSES = 128, 6625


def conv(g, x, scope, cin, cout):
    y = g.conv(x, f"{scope}/Conv", scope[1:].replace("/", "."), cin, cout, 3, 1, 1, bias=True)
    return g.node("Relu", [y], scope)


def pool(g, x, scope, kh, kw):
    return g.node("MaxPool", [x], scope, kernel_shape=[kh, kw], strides=[kh, kw])


def bilstm(g, x, scope, prefix, cin, steps):
    s = 1.0 / np.sqrt(HID)
    w = g.normal(f"{prefix}.weight_ih", [2, 4 * HID, cin], s)
    r = g.normal(f"{prefix}.weight_hh", [2, 4 * HID, HID], s)
    b = g.normal(f"{prefix}.bias", [2, 8 * HID], s)
    y = g.node("LSTM", [x, w, r, b], scope, outputs=3, hidden_size=HID,
               direction="bidirectional")[0]
    y = g.node("Transpose", [y], scope, perm=[0, 2, 1, 3])  # [T, N, 2, H]
    return g.node("Reshape", [y, g.const([steps, 1, 2 * HID], np.int64)], scope)


def build(seed, dynamic=False):
    g = Graph(seed)
    x = g.input("x", FLOAT, [1, 3, 48, 320])
    y = conv(g, x, "/backbone/conv0", 3, 32)
    y = pool(g, y, "/backbone/pool0", 2, 2)          # 24 x 160
    y = conv(g, y, "/backbone/conv1", 32, 64)
    y = pool(g, y, "/backbone/pool1", 2, 2)          # 12 x 80
    y = conv(g, y, "/backbone/conv2", 64, 128)
    y = conv(g, y, "/backbone/conv3", 128, 128)
    y = pool(g, y, "/backbone/pool2", 2, 1)          # 6 x 80
    y = conv(g, y, "/backbone/conv4", 128, 256)
    y = conv(g, y, "/backbone/conv5", 256, 256)
    y = pool(g, y, "/backbone/pool3", 2, 1)          # 3 x 80
    y = conv(g, y, "/backbone/conv6", 256, 256)
    y = pool(g, y, "/backbone/pool4", 3, 1)          # 1 x 80
    steps = 80
    y = g.node("Squeeze", [y, g.const([2], np.int64)], "/neck")
    y = g.node("Transpose", [y], "/neck", perm=[2, 0, 1])   # [T, N, C]
    y = bilstm(g, y, "/neck/lstm0", "neck.lstm.0", 256, steps)
    y = bilstm(g, y, "/neck/lstm1", "neck.lstm.1", 2 * HID, steps)
    y = g.node("Transpose", [y], "/head", perm=[1, 0, 2])   # [N, T, 2H]
    w = g.normal("head.fc.weight", [2 * HID, CLASSES], 4.0 / np.sqrt(2 * HID))
    b = g.normal("head.fc.bias", [CLASSES], 0.01)
    y = g.node("Add", [g.node("MatMul", [y, w], "/head/fc"), b], "/head/fc")
    g.node("LogSoftmax", [y], "/head", out="logp", axis=2)
    g.output("logp", FLOAT, [1, steps, CLASSES])
    return g.model(NAME, OPSET), g.params


def example(rng):
    return {"x": rng.standard_normal([1, 3, 48, 320], dtype=np.float32)}
