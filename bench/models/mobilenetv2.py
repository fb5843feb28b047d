"""MobileNetV2 as torchvision defines it (mobilenet_v2, width 1.0):
Conv -> BatchNormalization -> Clip(0, 6) for every ReLU6, depthwise 3x3
convs with group = channels, linear bottlenecks, a residual Add where
stride is 1 and the width is unchanged. 3,504,872 parameters.
"""
from build import FLOAT, Graph, image

NAME = "mobilenetv2"
OPSET = 13
# expansion t, output channels c, repeats n, first stride s (torchvision)
SETTINGS = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
            (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]


def conv_bn_relu6(g, x, idx, cin, cout, k, stride=1, group=1):
    """torchvision's Conv2dNormActivation: conv (no bias), BN, ReLU6.
    idx is its module path, e.g. "features.2.conv.0"."""
    y = g.conv(x, f"/{idx}.0", f"{idx}.0", cin, cout, k, stride, k // 2, group)
    y = g.batchnorm(y, f"/{idx}.1", f"{idx}.1", cout)
    return g.relu6(y, f"/{idx}.2")


def inverted_residual(g, x, idx, cin, cout, stride, t):
    """Expand 1x1 (t times wider), depthwise 3x3, project 1x1."""
    hidden = cin * t
    y = x
    part = 0  # torchvision numbers the parts of block.conv 0, 1, 2, 3
    if t != 1:
        y = conv_bn_relu6(g, y, f"{idx}.conv.{part}", cin, hidden, 1)
        part += 1
    y = conv_bn_relu6(g, y, f"{idx}.conv.{part}", hidden, hidden, 3, stride,
                      group=hidden)  # depthwise
    # the projection is a bare conv + BN ("linear bottleneck")
    proj, bn = f"{idx}.conv.{part + 1}", f"{idx}.conv.{part + 2}"
    residual = stride == 1 and cin == cout
    y = g.conv(y, "/" + proj, proj, hidden, cout, 1)
    # a smaller BN scale on residual branches, as in trained networks
    y = g.batchnorm(y, "/" + bn, bn, cout, gamma=0.5 if residual else 1.0)
    if residual:
        y = g.add(x, y, "/" + idx)
    return y


def build(seed, dynamic=False):
    g = Graph(seed)
    batch = "N" if dynamic else 1
    x = g.input("input", FLOAT, [batch, 3, 224, 224], calibrate=image(g.rng))
    y = conv_bn_relu6(g, x, "features.0", 3, 32, 3, 2)
    cin, idx = 32, 1
    for t, c, n, s in SETTINGS:
        for i in range(n):
            y = inverted_residual(g, y, f"features.{idx}", cin, c,
                                  s if i == 0 else 1, t)
            cin, idx = c, idx + 1
    y = conv_bn_relu6(g, y, f"features.{idx}", cin, 1280, 1)
    y = g.node("GlobalAveragePool", [y], "")  # adaptive_avg_pool2d(x, 1)
    y = g.node("Flatten", [y], "", axis=1)
    # classifier.0 is Dropout, which an inference export drops
    g.gemm(y, "/classifier/classifier.1", "classifier.1", 1280, 1000, out="output")
    g.output("output", FLOAT, [batch, 1000])
    return g.model(NAME, OPSET), g.params


def example(rng):
    return {"input": image(rng)}
