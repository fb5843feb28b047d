"""YOLOv8n as Ultralytics defines it (width 0.25, depth 0.33) and exports
it: batch-norm folded into each conv's bias, SiLU as Sigmoid * Mul, C2f
blocks (Split into two halves, bottlenecks, Concat), SPPF (three chained
5x5 max pools), a PAN neck with nearest 2x Resize (constant scales) and
Concat, and the decoupled head: per level a box branch whose 64 channels
are four 16-bin distributions (Reshape, Softmax, a 1x1 conv with weights
0..15: the DFL) and a class branch with Sigmoid, concatenated over the
three levels to [1, 84, anchors]. 80 classes. Two sizes: 640 (yolov8n) and 320
(yolov8n_320), the input sizes detectors run at on servers and devices.
"""
import numpy as np

from build import FLOAT, Graph

OPSET = 17
WIDTHS = (16, 32, 64, 128, 256)
NC, REG = 80, 16


def conv(g, x, scope, cin, cout, k=3, s=1):
    """Conv (BN folded: a bias) + SiLU. Gain 2.8: SiLU keeps about 0.36 of
    E[x^2] of a standard normal input, so 1 / 0.36 keeps the scale."""
    y = g.conv(x, f"{scope}/conv", scope[1:].replace("/", "."), cin, cout, k, s, k // 2,
               bias=True, gain=2.8)
    sig = g.node("Sigmoid", [y], f"{scope}/act")
    return g.node("Mul", [y, sig], f"{scope}/act")


def c2f(g, x, scope, cin, cout, n, shortcut=True):
    c = cout // 2
    y = conv(g, x, f"{scope}/cv1", cin, 2 * c, 1)
    parts = g.node("Split", [y, g.const([c, c], np.int64)], scope, outputs=2, axis=1)
    ys = list(parts)
    for i in range(n):
        b = conv(g, ys[-1], f"{scope}/m.{i}/cv1", c, c, 3)
        b = conv(g, b, f"{scope}/m.{i}/cv2", c, c, 3)
        ys.append(g.node("Add", [ys[-1], b], f"{scope}/m.{i}") if shortcut else b)
    cat = g.node("Concat", ys, scope, axis=1)
    return conv(g, cat, f"{scope}/cv2", (2 + n) * c, cout, 1)


def sppf(g, x, scope, c):
    y = conv(g, x, f"{scope}/cv1", c, c // 2, 1)
    pools = [y]
    for _ in range(3):
        pools.append(g.node("MaxPool", [pools[-1]], f"{scope}/m", kernel_shape=[5, 5],
                            strides=[1, 1], pads=[2, 2, 2, 2]))
    return conv(g, g.node("Concat", pools, scope, axis=1), f"{scope}/cv2", 2 * c, c, 1)


def upsample(g, x, scope):
    scales = g.const([1.0, 1.0, 2.0, 2.0])
    return g.node("Resize", [x, "", scales], scope, mode="nearest",
                  coordinate_transformation_mode="asymmetric", nearest_mode="floor")


def head(g, feats, chans, size):
    outs = []
    dfl = g.init("model.22.dfl.conv.weight",
                 np.arange(REG, dtype=np.float32).reshape(1, REG, 1, 1))
    for i, (f, c) in enumerate(zip(feats, chans)):
        s = "/model.22"
        c2, c3 = max(16, chans[0] // 4, 4 * REG), max(chans[0], min(NC, 100))
        b = conv(g, f, f"{s}/cv2.{i}/cv2.{i}.0", c, c2)
        b = conv(g, b, f"{s}/cv2.{i}/cv2.{i}.1", c2, c2)
        b = g.conv(b, f"{s}/cv2.{i}/cv2.{i}.2", f"model.22.cv2.{i}.2", c2, 4 * REG, 1,
                   bias=True, gain=1.0)
        k = conv(g, f, f"{s}/cv3.{i}/cv3.{i}.0", c, c3)
        k = conv(g, k, f"{s}/cv3.{i}/cv3.{i}.1", c3, c3)
        k = g.conv(k, f"{s}/cv3.{i}/cv3.{i}.2", f"model.22.cv3.{i}.2", c3, NC, 1, bias=True,
                   gain=1.0)
        cells = (size // (8 << i)) ** 2
        b = g.node("Reshape", [b, g.const([1, 4, REG, cells], np.int64)], f"{s}/dfl")
        b = g.node("Transpose", [b], f"{s}/dfl", perm=[0, 2, 1, 3])
        b = g.node("Softmax", [b], f"{s}/dfl", axis=1)
        b = g.node("Conv", [b, dfl], f"{s}/dfl/conv", kernel_shape=[1, 1])
        b = g.node("Reshape", [b, g.const([1, 4, cells], np.int64)], f"{s}/dfl")
        k = g.node("Sigmoid", [g.node("Reshape", [k, g.const([1, NC, cells], np.int64)], s)], s)
        outs.append(g.node("Concat", [b, k], s, axis=1))
    return outs


def build_size(seed, size):
    g = Graph(seed)
    w = WIDTHS
    x = g.input("images", FLOAT, [1, 3, size, size])
    y = conv(g, x, "/model.0", 3, w[0], 3, 2)
    y = conv(g, y, "/model.1", w[0], w[1], 3, 2)
    y = c2f(g, y, "/model.2", w[1], w[1], 1)
    y = conv(g, y, "/model.3", w[1], w[2], 3, 2)
    p3 = c2f(g, y, "/model.4", w[2], w[2], 2)
    y = conv(g, p3, "/model.5", w[2], w[3], 3, 2)
    p4 = c2f(g, y, "/model.6", w[3], w[3], 2)
    y = conv(g, p4, "/model.7", w[3], w[4], 3, 2)
    y = c2f(g, y, "/model.8", w[4], w[4], 1)
    p5 = sppf(g, y, "/model.9", w[4])
    y = g.node("Concat", [upsample(g, p5, "/model.10"), p4], "/model.11", axis=1)
    n4 = c2f(g, y, "/model.12", w[4] + w[3], w[3], 1, shortcut=False)
    y = g.node("Concat", [upsample(g, n4, "/model.13"), p3], "/model.14", axis=1)
    n3 = c2f(g, y, "/model.15", w[3] + w[2], w[2], 1, shortcut=False)
    y = g.node("Concat", [conv(g, n3, "/model.16", w[2], w[2], 3, 2), n4], "/model.17", axis=1)
    m4 = c2f(g, y, "/model.18", w[2] + w[3], w[3], 1, shortcut=False)
    y = g.node("Concat", [conv(g, m4, "/model.19", w[3], w[3], 3, 2), p5], "/model.20", axis=1)
    m5 = c2f(g, y, "/model.21", w[3] + w[4], w[4], 1, shortcut=False)
    outs = head(g, [n3, m4, m5], [w[2], w[3], w[4]], size)
    anchors = sum((size // s) ** 2 for s in (8, 16, 32))
    g.node("Concat", outs, "/model.22", out="output0", axis=2)
    g.output("output0", FLOAT, [1, 4 + NC, anchors])
    return g


class Size:
    """The module interface make.py and run.py expect, for one input size."""

    def __init__(self, name, size):
        self.NAME, self.size = name, size

    def build(self, seed, dynamic=False):
        g = build_size(seed, self.size)
        return g.model(self.NAME, OPSET), g.params

    def example(self, rng):
        return {"images": rng.uniform(0, 1, [1, 3, self.size, self.size]).astype(np.float32)}


YOLOV8N = Size("yolov8n", 640)
YOLOV8N_320 = Size("yolov8n_320", 320)
