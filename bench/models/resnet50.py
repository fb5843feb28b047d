"""ResNet-50 as torchvision defines it (resnet50, the "v1.5" variant that
puts the stride-2 in the bottleneck's 3x3 conv), exported unfolded:
Conv (no bias) -> BatchNormalization -> Relu, with torchvision's parameter
names. 25,557,032 parameters, as torchvision reports.
"""
from build import FLOAT, Graph, image

NAME = "resnet50"
OPSET = 13
STAGES = [(64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)]  # width, blocks, stride
EXPANSION = 4


def bottleneck(g, x, name, cin, width, stride):
    """1x1 reduce, 3x3 (strided, v1.5), 1x1 expand, plus the shortcut."""
    s = "/" + name.split(".")[0] + "/" + name  # "/layer1/layer1.0"
    cout = width * EXPANSION
    y = g.conv(x, f"{s}/conv1", f"{name}.conv1", cin, width, 1)
    y = g.relu(g.batchnorm(y, f"{s}/bn1", f"{name}.bn1", width), f"{s}/relu")
    y = g.conv(y, f"{s}/conv2", f"{name}.conv2", width, width, 3, stride, 1)
    y = g.relu(g.batchnorm(y, f"{s}/bn2", f"{name}.bn2", width), f"{s}/relu")
    y = g.conv(y, f"{s}/conv3", f"{name}.conv3", width, cout, 1)
    # trained ResNets end each branch with a small BN scale, so the
    # identity path dominates
    y = g.batchnorm(y, f"{s}/bn3", f"{name}.bn3", cout, gamma=0.3)
    if stride != 1 or cin != cout:
        d = f"{s}/downsample"
        x = g.conv(x, f"{d}/downsample.0", f"{name}.downsample.0", cin, cout, 1, stride)
        x = g.batchnorm(x, f"{d}/downsample.1", f"{name}.downsample.1", cout)
    return g.relu(g.add(y, x, s), f"{s}/relu")


def build(seed, dynamic=False):
    g = Graph(seed)
    batch = "N" if dynamic else 1
    x = g.input("input", FLOAT, [batch, 3, 224, 224], calibrate=image(g.rng))
    y = g.conv(x, "/conv1", "conv1", 3, 64, 7, 2, 3)
    y = g.relu(g.batchnorm(y, "/bn1", "bn1", 64), "/relu")
    y = g.maxpool(y, "/maxpool", pad=1)
    cin = 64
    for i, (width, blocks, stride) in enumerate(STAGES):
        for j in range(blocks):
            y = bottleneck(g, y, f"layer{i + 1}.{j}", cin, width,
                           stride if j == 0 else 1)
            cin = width * EXPANSION
    y = g.node("GlobalAveragePool", [y], "/avgpool")
    y = g.node("Flatten", [y], "", axis=1)
    g.gemm(y, "/fc", "fc", cin, 1000, out="output")
    g.output("output", FLOAT, [batch, 1000])
    return g.model(NAME, OPSET), g.params


def example(rng):
    return {"input": image(rng)}
