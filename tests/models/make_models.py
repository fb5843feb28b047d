"""Build the project's own test models with onnx.helper.

usage: python make_models.py OUTDIR

Writes four float32, opset-13 models with seeded random weights, shaped like
the networks users ship but small enough to run in a blink:

    resnet.onnx     ResNet-18 topology, widths 16-32-64-128, input 1x3x64x64
    mobilenet.onnx  MobileNetV2-style inverted residuals, input 1x3x64x64
    mlp.onnx        MatMul+Add+Relu layers, input [batch, 64] ("batch" symbolic)
    attention.onnx  one transformer encoder layer, input [1, 8, 32]

Weights are He-style (std sqrt(gain / fan_in)) and batch-norm statistics
are mild, so activations stay O(1) through every layer and a comparison
with ONNX Runtime tests real numbers, not zeros or overflow. Each model is
checked with onnx.checker (with shape inference) before it is written.
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 13
IR_VERSION = 7  # the IR version that goes with opset 13


class Builder:
    """Collects nodes and initializers; every value gets a fresh name."""

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.nodes = []
        self.inits = []
        self.count = 0

    def fresh(self, prefix):
        self.count += 1
        return f"{prefix}_{self.count}"

    def const(self, prefix, array):
        name = self.fresh(prefix)
        self.inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def weight(self, prefix, shape, fan_in, gain=2.0):
        std = np.sqrt(gain / fan_in)
        return self.const(prefix, (self.rng.standard_normal(shape) * std).astype(np.float32))

    def small(self, prefix, shape, scale=0.1):
        return self.const(prefix, (self.rng.standard_normal(shape) * scale).astype(np.float32))

    def op(self, op_type, inputs, **attrs):
        out = self.fresh(op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=out, **attrs))
        return out

    def model(self, name, inputs, outputs):
        graph = helper.make_graph(self.nodes, name, inputs, outputs, self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                                  ir_version=IR_VERSION, producer_name="dlc tests/models")
        onnx.checker.check_model(model, full_check=True)
        return model


# --- convolutional pieces -------------------------------------------------

def conv(b, x, cin, cout, k, stride=1, group=1, bias=False):
    fan_in = cin // group * k * k
    inputs = [x, b.weight("w", (cout, cin // group, k, k), fan_in)]
    if bias:
        inputs.append(b.small("bias", (cout,)))
    return b.op("Conv", inputs, kernel_shape=[k, k], strides=[stride, stride],
                pads=[k // 2] * 4, group=group)


def batchnorm(b, x, c, gamma=(0.5, 1.0)):
    """Inference-mode BN; `gamma` is the range its scale is drawn from (a
    smaller one on a residual branch keeps the sum from growing)."""
    scale = b.const("bn_scale", b.rng.uniform(*gamma, c).astype(np.float32))
    shift = b.small("bn_bias", (c,))
    mean = b.small("bn_mean", (c,))
    var = b.const("bn_var", b.rng.uniform(0.5, 1.5, c).astype(np.float32))
    return b.op("BatchNormalization", [x, scale, shift, mean, var], epsilon=1e-5)


def classifier(b, x, c, classes=10):
    pooled = b.op("GlobalAveragePool", [x])
    flat = b.op("Flatten", [pooled], axis=1)
    w = b.weight("fc_w", (classes, c), c, gain=1.0)
    return b.op("Gemm", [flat, w, b.small("fc_b", (classes,))], transB=1)


def image_input():
    return helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 64, 64])


def rename_output(b, value, name):
    """Make the last node write `value` under the graph output's name."""
    node = b.nodes[-1]
    assert node.output[0] == value
    node.output[0] = name


# --- (a) ResNet-18 topology -------------------------------------------------

def basic_block(b, x, cin, cout, stride):
    y = b.op("Relu", [batchnorm(b, conv(b, x, cin, cout, 3, stride), cout)])
    y = batchnorm(b, conv(b, y, cout, cout, 3), cout, gamma=(0.2, 0.5))
    shortcut = x
    if stride != 1 or cin != cout:
        shortcut = batchnorm(b, conv(b, x, cin, cout, 1, stride), cout)
    return b.op("Relu", [b.op("Add", [y, shortcut])])


def resnet():
    b = Builder(seed=18)
    x = b.op("Relu", [batchnorm(b, conv(b, "input", 3, 16, 7, stride=2), 16)])
    x = b.op("MaxPool", [x], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    cin = 16
    for stage, cout in enumerate([16, 32, 64, 128]):
        for i in range(2):
            stride = 2 if stage > 0 and i == 0 else 1
            x = basic_block(b, x, cin, cout, stride)
            cin = cout
    rename_output(b, classifier(b, x, cin), "logits")
    out = helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 10])
    return b.model("resnet", [image_input()], [out])


# --- (b) MobileNetV2-style --------------------------------------------------

def relu6(b, x):
    return b.op("Clip", [x, "relu6_min", "relu6_max"])


def inverted_residual(b, x, cin, cout, expand, stride):
    hidden = cin * expand
    y = x
    if expand != 1:
        y = relu6(b, batchnorm(b, conv(b, y, cin, hidden, 1), hidden))
    y = relu6(b, batchnorm(b, conv(b, y, hidden, hidden, 3, stride, group=hidden), hidden))
    y = batchnorm(b, conv(b, y, hidden, cout, 1), cout, gamma=(0.3, 0.6))
    if stride == 1 and cin == cout:
        y = b.op("Add", [x, y])
    return y


def mobilenet():
    b = Builder(seed=2)
    b.inits.append(numpy_helper.from_array(np.array(0, np.float32), "relu6_min"))
    b.inits.append(numpy_helper.from_array(np.array(6, np.float32), "relu6_max"))
    x = relu6(b, batchnorm(b, conv(b, "input", 3, 16, 3, stride=2), 16))
    cin = 16
    # (expansion, output channels, stride), as in the paper's table, shrunk
    for expand, cout, stride in [(1, 16, 1), (4, 24, 2), (4, 24, 1),
                                 (4, 32, 2), (4, 32, 1), (4, 64, 2)]:
        x = inverted_residual(b, x, cin, cout, expand, stride)
        cin = cout
    x = relu6(b, batchnorm(b, conv(b, x, cin, 128, 1), 128))
    rename_output(b, classifier(b, x, 128), "logits")
    out = helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 10])
    return b.model("mobilenet", [image_input()], [out])


# --- (c) MLP with a symbolic batch ------------------------------------------

def mlp():
    b = Builder(seed=64)
    sizes = [64, 128, 128, 10]
    x = "x"
    for i, (n_in, n_out) in enumerate(zip(sizes, sizes[1:])):
        last = i == len(sizes) - 2
        w = b.weight("w", (n_in, n_out), n_in, gain=1.0 if last else 2.0)
        x = b.op("Add", [b.op("MatMul", [x, w]), b.small("b", (n_out,))])
        if not last:
            x = b.op("Relu", [x])
    rename_output(b, x, "y")
    inp = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 64])
    out = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 10])
    return b.model("mlp", [inp], [out])


# --- (d) transformer encoder layer ------------------------------------------

def linear(b, x, n_in, n_out, gain=1.0):
    w = b.weight("w", (n_in, n_out), n_in, gain)
    return b.op("Add", [b.op("MatMul", [x, w]), b.small("b", (n_out,))])


def layer_norm(b, x, d):
    """LayerNormalization over the last axis, spelled out as exporters do
    for opsets before 17."""
    mean = b.op("ReduceMean", [x], axes=[-1], keepdims=1)
    centred = b.op("Sub", [x, mean])
    var = b.op("ReduceMean", [b.op("Pow", [centred, b.const("two", np.float32(2))])],
               axes=[-1], keepdims=1)
    std = b.op("Sqrt", [b.op("Add", [var, b.const("eps", np.float32(1e-5))])])
    normed = b.op("Div", [centred, std])
    gamma = b.const("ln_scale", b.rng.uniform(0.8, 1.2, d).astype(np.float32))
    return b.op("Add", [b.op("Mul", [normed, gamma]), b.small("ln_bias", (d,))])


def gelu(b, x):
    """0.5 * x * (1 + erf(x / sqrt(2)))"""
    e = b.op("Erf", [b.op("Div", [x, b.const("sqrt2", np.float32(np.sqrt(2)))])])
    y = b.op("Mul", [x, b.op("Add", [e, b.const("one", np.float32(1))])])
    return b.op("Mul", [y, b.const("half", np.float32(0.5))])


def attention():
    b = Builder(seed=32)
    seq, d, heads, ffn = 8, 32, 4, 64
    dh = d // heads
    # Shapes computed from the input at run time, as exporters write them:
    # batch and sequence length come from Shape -> Gather.
    shape = b.op("Shape", ["x"])
    batch = b.op("Gather", [shape, b.const("idx", np.array([0], np.int64))], axis=0)
    length = b.op("Gather", [shape, b.const("idx", np.array([1], np.int64))], axis=0)
    split_shape = b.op("Concat", [batch, length, b.const("heads", np.array([heads, dh], np.int64))],
                       axis=0)
    merge_shape = b.op("Concat", [batch, length, b.const("width", np.array([d], np.int64))],
                       axis=0)

    def split_heads(t, perm):
        return b.op("Transpose", [b.op("Reshape", [t, split_shape])], perm=perm)

    q = split_heads(linear(b, "x", d, d), [0, 2, 1, 3])  # [B, H, S, Dh]
    k = split_heads(linear(b, "x", d, d), [0, 2, 3, 1])  # [B, H, Dh, S]
    v = split_heads(linear(b, "x", d, d), [0, 2, 1, 3])  # [B, H, S, Dh]
    scores = b.op("Div", [b.op("MatMul", [q, k]), b.const("scale", np.float32(np.sqrt(dh)))])
    probs = b.op("Softmax", [scores], axis=-1)
    ctx = b.op("Transpose", [b.op("MatMul", [probs, v])], perm=[0, 2, 1, 3])  # [B, S, H, Dh]
    ctx = b.op("Reshape", [ctx, merge_shape])
    h = layer_norm(b, b.op("Add", ["x", linear(b, ctx, d, d)]), d)
    f = linear(b, gelu(b, linear(b, h, d, ffn, gain=2.0)), ffn, d)
    y = layer_norm(b, b.op("Add", [h, f]), d)
    rename_output(b, y, "y")
    inp = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, seq, d])
    out = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, seq, d])
    return b.model("attention", [inp], [out])


MODELS = {"resnet": resnet, "mobilenet": mobilenet, "mlp": mlp, "attention": attention}


def make_models(outdir):
    """Writes every model under outdir; returns {name: path}."""
    os.makedirs(outdir, exist_ok=True)
    paths = {}
    for name, build in MODELS.items():
        paths[name] = os.path.join(outdir, f"{name}.onnx")
        onnx.save(build(), paths[name])
    return paths


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_models.py OUTDIR")
    for path in make_models(sys.argv[1]).values():
        print(f"make_models: wrote {path}")


if __name__ == "__main__":
    main()
