"""DB (Differentiable Binarization) text detector, DB-ResNet18 as PaddleOCR
and MMOCR configure it: a ResNet-18 backbone (batch-norm folded into conv
biases, as exports fold it), an FPN with 256 inner channels whose top-down
path upsamples by nearest 2x Resize, 3x3 output convs to 64 channels
upsampled to 1/4 scale (nearest Resize by 8, 4, 2) and concatenated, and
the probability head: 3x3 conv + ReLU, two 2x2 stride-2 ConvTranspose
layers back to full resolution, Sigmoid. Input 1x3x640x640, output the
1x1x640x640 text probability map.
"""
import numpy as np

from build import FLOAT, Graph

NAME = "dbnet"
OPSET = 13
SIZE = 640


def conv(g, x, scope, cin, cout, k, s=1, relu=True, gain=2.0):
    y = g.conv(x, f"{scope}/Conv", scope[1:].replace("/", "."), cin, cout, k, s, k // 2,
               bias=True, gain=gain)
    return g.node("Relu", [y], scope) if relu else y


def block(g, x, scope, cin, cout, s):
    y = conv(g, x, f"{scope}/conv1", cin, cout, 3, s)
    y = conv(g, y, f"{scope}/conv2", cout, cout, 3, relu=False, gain=0.5)
    short = conv(g, x, f"{scope}/downsample", cin, cout, 1, s, relu=False) \
        if s != 1 or cin != cout else x
    return g.node("Relu", [g.node("Add", [y, short], scope)], scope)


def resize(g, x, scope, factor):
    return g.node("Resize", [x, "", g.const([1.0, 1.0, float(factor), float(factor)])],
                  scope, mode="nearest", coordinate_transformation_mode="asymmetric",
                  nearest_mode="floor")


def build(seed, dynamic=False):
    g = Graph(seed)
    x = g.input("x", FLOAT, [1, 3, SIZE, SIZE])
    y = conv(g, x, "/backbone/conv1", 3, 64, 7, 2)
    y = g.node("MaxPool", [y], "/backbone/maxpool", kernel_shape=[3, 3], strides=[2, 2],
               pads=[1, 1, 1, 1])
    feats, cin = [], 64
    for i, (c, s) in enumerate(((64, 1), (128, 2), (256, 2), (512, 2))):
        y = block(g, y, f"/backbone/layer{i + 1}/0", cin, c, s)
        y = block(g, y, f"/backbone/layer{i + 1}/1", c, c, 1)
        feats.append(y)
        cin = c
    lat = [conv(g, f, f"/neck/in{i + 2}", c, 256, 1, relu=False, gain=1.0)
           for i, (f, c) in enumerate(zip(feats, (64, 128, 256, 512)))]
    for i in (2, 1, 0):
        lat[i] = g.node("Add", [lat[i], resize(g, lat[i + 1], f"/neck/up{i + 3}", 2)],
                        f"/neck/add{i + 2}")
    outs = []
    for i, f in enumerate(lat):
        p = conv(g, f, f"/neck/out{i + 2}", 256, 64, 3, relu=False, gain=1.0)
        outs.append(resize(g, p, f"/neck/out{i + 2}/up", 2 ** i) if i else p)
    y = g.node("Concat", outs, "/neck", axis=1)
    y = conv(g, y, "/head/binarize/conv", 256, 64, 3)
    w1 = g.normal("head.binarize.deconv1.weight", [64, 64, 2, 2], np.sqrt(2.0 / 64 / 4))
    b1 = g.normal("head.binarize.deconv1.bias", [64], 0.01)
    y = g.node("ConvTranspose", [y, w1, b1], "/head/binarize/deconv1", kernel_shape=[2, 2],
               strides=[2, 2])
    y = g.node("Relu", [y], "/head/binarize")
    w2 = g.normal("head.binarize.deconv2.weight", [64, 1, 2, 2], np.sqrt(1.0 / 64 / 4))
    b2 = g.normal("head.binarize.deconv2.bias", [1], 0.01)
    y = g.node("ConvTranspose", [y, w2, b2], "/head/binarize/deconv2", kernel_shape=[2, 2],
               strides=[2, 2])
    g.node("Sigmoid", [y], "/head", out="prob")
    g.output("prob", FLOAT, [1, 1, SIZE, SIZE])
    return g.model(NAME, OPSET), g.params


def example(rng):
    return {"x": rng.standard_normal([1, 3, SIZE, SIZE], dtype=np.float32)}
