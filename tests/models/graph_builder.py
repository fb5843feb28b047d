"""A small ONNX graph builder with seeded weights, shared by the model
tests that construct their cases in code (epilogue.py, attention.py)."""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

F = TensorProto.FLOAT


class G:
    """A graph under construction with seeded weights."""

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.nodes, self.inits, self.inputs, self.n = [], [], [], 0

    def name(self, p):
        self.n += 1
        return f"{p}{self.n}"

    def const(self, array, dtype=np.float32):
        n = self.name("c")
        self.inits.append(numpy_helper.from_array(np.asarray(array, dtype), n))
        return n

    def weight(self, shape, fan_in):
        return self.const(self.rng.standard_normal(shape) * np.sqrt(2.0 / fan_in))

    def input(self, shape):
        n = self.name("in")
        self.inputs.append(helper.make_tensor_value_info(n, F, shape))
        return n

    def op(self, t, ins, **attrs):
        out = self.name(t.lower())
        self.nodes.append(helper.make_node(t, ins, [out], name=out, **attrs))
        return out

    def save(self, path, outputs, opset=13):
        """Shape-inferred, checked, at the IR version ONNX Runtime reads."""
        outs = [helper.make_tensor_value_info(o, F, None) for o in outputs]
        g = helper.make_graph(self.nodes, os.path.basename(path), self.inputs, outs, self.inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
        m.ir_version = 9 if opset >= 20 else 8 if opset >= 17 else 7
        m = onnx.shape_inference.infer_shapes(m, strict_mode=True)
        onnx.checker.check_model(m)
        onnx.save(m, path)
