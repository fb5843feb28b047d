"""The case registry and model-building helpers shared by the cases_*.py
files. A case is a builder `build(path, bad)`: with bad=True it writes the
defective model to path, with bad=False the same model without the defect.
"""
import os
from dataclasses import dataclass
from typing import Callable, List, Union

import numpy as np
from onnx import TensorProto, helper, numpy_helper

F = TensorProto.FLOAT
OPSET = 13

# A message that says the bytes are not a readable model says one of these.
PARSE = ["parse", "protobuf", "malformed", "truncated", "corrupt", "invalid"]


@dataclass
class Case:
    name: str
    why: str
    # each entry: a substring the diagnostic must contain, or a list of
    # alternatives of which it must contain one (case-insensitive)
    expect: List[Union[str, List[str]]]
    build: Callable[[str, bool], None]
    own_dir: bool  # writes side files, so gets a folder of its own

    @property
    def file(self):
        if self.own_dir:
            return f"ext/{self.name}/{self.name}.onnx"
        return f"{self.name}.onnx"


CASES: List[Case] = []


def case(name, why, expect, own_dir=False):
    """Decorator: register `build` as a case."""
    def register(build):
        CASES.append(Case(name, why, expect, build, own_dir))
        return build
    return register


def vi(name, shape, dtype=F):
    return helper.make_tensor_value_info(name, dtype, shape)


def make(nodes, inputs, outputs, inits=(), opsets=(("", OPSET),)):
    graph = helper.make_graph(nodes, "bad_input", inputs, outputs,
                              initializer=list(inits))
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid(d, v) for d, v in opsets])
    model.ir_version = 8
    return model


def save(model, path):
    data = model if isinstance(model, bytes) else model.SerializeToString()
    with open(path, "wb") as f:
        f.write(data)


def const(name, array):
    return numpy_helper.from_array(np.asarray(array), name)


def raw_tensor(name, dims, raw, dtype=F):
    """A tensor with exactly these dims and raw bytes, checked by no one."""
    t = TensorProto()
    t.name = name
    t.data_type = dtype
    t.dims.extend(dims)
    t.raw_data = raw
    return t


def pre(x="x", out="h"):
    """A harmless first node, so the faulty one is node 1, not node 0."""
    return helper.make_node("Relu", [x], [out], name="pre")


def valid_model():
    """A small valid model whose bytes are mostly one 1 KiB initializer."""
    w = const("W", np.arange(256, dtype=np.float32).reshape(16, 16))
    node = helper.make_node("MatMul", ["x", "W"], ["y"], name="mm")
    return make([node], [vi("x", [1, 16])], [vi("y", [1, 16])], [w])


def remove(path):
    if os.path.lexists(path):
        os.remove(path)
