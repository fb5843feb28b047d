"""SqueezeNet 1.1 as torchvision defines it (squeezenet1_1): convs with
biases and no BatchNormalization, Fire modules (squeeze 1x1, then 1x1 and
3x3 expands concatenated), ceil-mode max pools, and a 1x1-conv classifier.
The Dropout before the classifier is kept, as older exports (the ONNX
model zoo's) keep it. 1,235,496 parameters.
"""
from build import FLOAT, Graph, image

NAME = "squeezenet1_1"
OPSET = 13
# features index -> (squeeze, expand1x1, expand3x3); "pool" = MaxPool
FEATURES = [(3, (16, 64, 64)), (4, (16, 64, 64)), (5, "pool"),
            (6, (32, 128, 128)), (7, (32, 128, 128)), (8, "pool"),
            (9, (48, 192, 192)), (10, (48, 192, 192)),
            (11, (64, 256, 256)), (12, (64, 256, 256))]


def fire(g, x, idx, cin, squeeze, e1, e3):
    s, p = f"/features/features.{idx}", f"features.{idx}"
    y = g.conv(x, f"{s}/squeeze", f"{p}.squeeze", cin, squeeze, 1, bias=True)
    y = g.relu(y, f"{s}/squeeze_activation")
    a = g.conv(y, f"{s}/expand1x1", f"{p}.expand1x1", squeeze, e1, 1, bias=True)
    a = g.relu(a, f"{s}/expand1x1_activation")
    b = g.conv(y, f"{s}/expand3x3", f"{p}.expand3x3", squeeze, e3, 3, pad=1, bias=True)
    b = g.relu(b, f"{s}/expand3x3_activation")
    return g.concat([a, b], s)


def build(seed, dynamic=False):
    g = Graph(seed)
    batch = "N" if dynamic else 1
    x = g.input("input", FLOAT, [batch, 3, 224, 224])  # no BN to calibrate
    y = g.conv(x, "/features/features.0", "features.0", 3, 64, 3, 2, bias=True)
    y = g.relu(y, "/features/features.1")
    y, cin = g.maxpool(y, "/features/features.2", ceil=1), 64
    for idx, spec in FEATURES:
        if spec == "pool":
            y = g.maxpool(y, f"/features/features.{idx}", ceil=1)
        else:
            y, cin = fire(g, y, idx, cin, *spec), spec[1] + spec[2]
    y = g.node("Dropout", [y], "/classifier/classifier.0")
    # torchvision draws this conv from N(0, 0.01); a He scale keeps the
    # random-weight logits O(1) instead of near zero
    y = g.conv(y, "/classifier/classifier.1", "classifier.1", cin, 1000, 1, bias=True)
    y = g.relu(y, "/classifier/classifier.2")
    y = g.node("GlobalAveragePool", [y], "/classifier/classifier.3")
    g.node("Flatten", [y], "", out="output", axis=1)
    g.output("output", FLOAT, [batch, 1000])
    return g.model(NAME, OPSET), g.params


def example(rng):
    return {"input": image(rng)}
