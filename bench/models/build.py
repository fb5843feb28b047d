"""A small graph builder shared by the benchmark model modules.

It names things the way torch.onnx.export does (node "/scope/Op", output
"/scope/Op_output_0", a "_1", "_2" suffix when a scope repeats an op), so
the models read like real exports, and it keeps every initializer in
raw_data so a 400 MB model loads fast.

BatchNormalization needs running statistics that match its input, as after
training; guessed ones drift by a factor per block and a 50-layer net ends
at overflow or zero. So the CNN helpers also compute each tensor's value
for one random calibration image (numpy, batch 1) while the graph is built,
and every BN takes the mean and variance its input really has.
"""
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from onnx import TensorProto, helper, numpy_helper

IR_VERSION = 8  # ONNX Runtime 1.31 reads IR <= 13; onnx 1.23 would write 14
FLOAT = TensorProto.FLOAT
INT64 = TensorProto.INT64


class Graph:
    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.nodes = []
        self.inits = []
        self.inputs = []
        self.outputs = []
        self.params = 0  # trainable elements, counted as torch counts them
        self.val = {}  # tensor name -> calibration value (CNN helpers only)
        self._used = {}  # node name -> times used, for unique names
        self._consts = {}  # (dtype, shape, bytes) -> name, to share constants

    # ---- graph inputs and outputs -------------------------------------
    def input(self, name, elem_type, shape, calibrate=None):
        """calibrate: the value to push through the CNN helpers, if any."""
        self.inputs.append(helper.make_tensor_value_info(name, elem_type, shape))
        if calibrate is not None:
            self.val[name] = calibrate
        return name

    def output(self, name, elem_type, shape):
        self.outputs.append(helper.make_tensor_value_info(name, elem_type, shape))

    # ---- initializers ---------------------------------------------------
    def init(self, name, array, param=False):
        """Adds an initializer; param=True counts it as a trained weight."""
        array = np.asarray(array, order="C")  # (ascontiguousarray makes 0-d 1-d)
        self.inits.append(numpy_helper.from_array(array, name))  # raw_data
        if param:
            self.params += array.size
        return name

    def const(self, value, dtype=np.float32):
        """A shared constant (scalar or shape vector), like an exporter's
        deduplicated onnx::Div_123 initializers."""
        array = np.asarray(value, dtype=dtype)
        key = (array.dtype.str, array.shape, array.tobytes())
        if key not in self._consts:
            self._consts[key] = self.init(f"const_{len(self._consts)}", array)
        return self._consts[key]

    def normal(self, name, shape, std, mean=0.0):
        """A seeded N(mean, std^2) float32 weight, counted as a parameter."""
        w = self.rng.standard_normal(shape, dtype=np.float32) * np.float32(std)
        return self.init(name, w + np.float32(mean), param=True)

    # ---- nodes --------------------------------------------------------
    def node(self, op, inputs, scope, outputs=1, out=None, **attrs):
        """Appends one node; returns its output name (or list if outputs>1).
        out names the (single) output, for graph outputs."""
        base = f"{scope}/{op}"
        n = self._used.get(base, 0)
        self._used[base] = n + 1
        name = base if n == 0 else f"{base}_{n}"
        outs = [out] if out else [f"{name}_output_{i}" for i in range(outputs)]
        self.nodes.append(helper.make_node(op, inputs, outs, name=name, **attrs))
        return outs[0] if outputs == 1 else outs

    def _value(self, y, x, fn):
        """Records y = fn(x's value) when x has a calibration value."""
        if x in self.val:
            self.val[y] = fn(self.val[x]).astype(np.float32)
        return y

    # ---- CNN helpers (they also compute calibration values) -------------
    def conv(self, x, scope, prefix, cin, cout, k, stride=1, pad=0, group=1,
             bias=False, gain=2.0):
        """Conv with He-normal weights, std sqrt(gain / fan_in): after a
        ReLU (which halves E[x^2]) gain 2 keeps the scale."""
        fan_in = cin // group * k * k
        w = self.rng.standard_normal([cout, cin // group, k, k], dtype=np.float32)
        w *= np.float32(np.sqrt(gain / fan_in))
        ins = [x, self.init(f"{prefix}.weight", w, param=True)]
        b = np.zeros(cout, np.float32)
        if bias:
            b = self.rng.standard_normal(cout, dtype=np.float32) * np.float32(0.01)
            ins.append(self.init(f"{prefix}.bias", b, param=True))
        y = self.node("Conv", ins, scope, kernel_shape=[k, k],
                      strides=[stride, stride], pads=[pad] * 4, group=group,
                      dilations=[1, 1])
        return self._value(y, x, lambda v: conv_ref(v, w, b, stride, pad, group))

    def batchnorm(self, x, scope, prefix, c, gamma=1.0):
        """BatchNormalization, left unfolded as exporters leave it, whose
        running mean and variance are its input's on the calibration image;
        gamma sets the output scale (smaller at the end of a residual branch,
        as trained networks have it)."""
        v = self.val[x].astype(np.float64)
        # 4 significant digits: the same file on any machine's BLAS
        mean = round4(v.mean(axis=(0, 2, 3)))
        var = round4(v.var(axis=(0, 2, 3)) + 1e-6)
        g = self.rng.normal(gamma, 0.1 * gamma, c).astype(np.float32)
        b = self.rng.normal(0.0, 0.1, c).astype(np.float32)
        ins = [x, self.init(f"{prefix}.weight", g, param=True),
               self.init(f"{prefix}.bias", b, param=True),
               self.init(f"{prefix}.running_mean", mean),
               self.init(f"{prefix}.running_var", var)]
        y = self.node("BatchNormalization", ins, scope, epsilon=1e-5,
                      momentum=0.9)
        scale, shift = g / np.sqrt(var + 1e-5), b - mean * g / np.sqrt(var + 1e-5)
        return self._value(y, x, lambda t: t * scale[:, None, None] + shift[:, None, None])

    def relu(self, x, scope):
        return self._value(self.node("Relu", [x], scope), x, lambda v: np.maximum(v, 0))

    def relu6(self, x, scope):
        """ReLU6 as opset 11+ Clip, min and max as (shared) inputs."""
        y = self.node("Clip", [x, self.const(0.0), self.const(6.0)], scope)
        return self._value(y, x, lambda v: np.clip(v, 0, 6))

    def add(self, a, b, scope):
        y = self.node("Add", [a, b], scope)
        return self._value(y, a, lambda v: v + self.val[b])

    def concat(self, xs, scope):
        y = self.node("Concat", xs, scope, axis=1)
        return self._value(y, xs[0], lambda v: np.concatenate([self.val[x] for x in xs], 1))

    def maxpool(self, x, scope, pad=0, ceil=0):
        """3x3 stride-2 MaxPool, the only one these networks use."""
        y = self.node("MaxPool", [x], scope, kernel_shape=[3, 3], strides=[2, 2],
                      pads=[pad] * 4, ceil_mode=ceil)
        return self._value(y, x, lambda v: maxpool_ref(v, 3, 2, pad, ceil))

    def gemm(self, x, scope, prefix, cin, cout, out=None):
        """Linear layer as torch exports it: Gemm with transB=1."""
        w = self.normal(f"{prefix}.weight", [cout, cin], 1.0 / np.sqrt(cin))
        b = self.normal(f"{prefix}.bias", [cout], 0.01)
        return self.node("Gemm", [x, w, b], scope, out=out, alpha=1.0, beta=1.0,
                         transB=1)

    # ---- the model ----------------------------------------------------
    def model(self, name, opset):
        self.val.clear()  # the calibration values are no longer needed
        graph = helper.make_graph(self.nodes, name, self.inputs, self.outputs,
                                  self.inits)
        m = helper.make_model(graph, producer_name="dlc bench/models",
                              opset_imports=[helper.make_opsetid("", opset)])
        m.ir_version = IR_VERSION
        return m


def image(rng):
    """A random 1x3x224x224 "image", the CNNs' calibration and test input."""
    return rng.standard_normal([1, 3, 224, 224], dtype=np.float32)


def round4(a):
    """float32 of a rounded to 4 significant digits."""
    return np.array([float(f"{t:.4g}") for t in a], np.float32)


def conv_ref(x, w, b, stride, pad, group):
    """NCHW convolution by im2col, for calibration only: group 1 or
    depthwise (group = channels), square kernels."""
    k = w.shape[-1]
    x = np.pad(x, [(0, 0), (0, 0), (pad, pad), (pad, pad)])
    win = sliding_window_view(x, (k, k), axis=(2, 3))[:, :, ::stride, ::stride]
    if group == 1:
        y = np.tensordot(win, w, axes=([1, 4, 5], [1, 2, 3])).transpose(0, 3, 1, 2)
    else:
        assert group == x.shape[1] == w.shape[0], "only depthwise groups"
        y = np.einsum("nchwij,cij->nchw", win, w[:, 0])
    return y + b[None, :, None, None]


def maxpool_ref(x, k, s, pad, ceil):
    """NCHW max pool with ONNX's output size rule (square input)."""
    h = x.shape[2] + 2 * pad
    out = (-(-(h - k) // s) if ceil else (h - k) // s) + 1
    if ceil and (out - 1) * s >= x.shape[2] + pad:
        out -= 1  # the last window must start inside the input
    extra = max((out - 1) * s + k - h, 0)
    x = np.pad(x, [(0, 0), (0, 0), (pad, pad + extra), (pad, pad + extra)],
               constant_values=-np.inf)
    win = sliding_window_view(x, (k, k), axis=(2, 3))[:, :, ::s, ::s]
    return win.max(axis=(4, 5))[:, :, :out, :out]
