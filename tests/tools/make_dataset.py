"""Write random inputs for a model and ONNX Runtime's outputs for them.

usage: python make_dataset.py MODEL.onnx OUTDIR [--seed N]
                              [--shape NAME=1x3x8x8 ...] [--sets K]

Writes OUTDIR/test_data_set_I/input_J.pb and output_J.pb (TensorProto) for
I < K, J counting the graph inputs that are not initializers, the layout
`dlc check` reads:

    python make_dataset.py m.onnx d && dlc check m.onnx d/test_data_set_0

Inputs are seeded random data (floats standard normal, integers 0..3 so
they are valid indices, bools fair coins). A dim that is symbolic or
unknown takes its value from --shape NAME=DxDx..., which gives the whole
shape of input NAME; without one, a leading dim becomes 1 and any other
is an error. Outputs come from ONNX Runtime on the CPU with every graph
optimisation on.
"""
import argparse
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper, numpy_helper


def parse_shape(text):
    name, eq, dims = text.rpartition("=")
    try:
        if not name or not eq:
            raise ValueError
        shape = [int(d) for d in dims.split("x")] if dims else []
        if any(d < 0 for d in shape):
            raise ValueError
    except ValueError:
        raise argparse.ArgumentTypeError(f"bad --shape '{text}', want NAME=1x3x8x8")
    return name, shape


def input_shape(value, bound, params):
    """The concrete shape of graph input `value` (a ValueInfoProto), from
    --shape bindings `bound` or the symbolic dim values `params` they give."""
    if value.name in bound:
        want = bound[value.name]
        if value.type.tensor_type.HasField("shape"):
            dims = value.type.tensor_type.shape.dim
            if len(dims) != len(want):
                sys.exit(f"make_dataset: --shape {value.name}: rank {len(want)}, "
                         f"but the model says rank {len(dims)}")
            for i, d in enumerate(dims):
                if d.HasField("dim_value") and d.dim_value != want[i]:
                    sys.exit(f"make_dataset: --shape {value.name}: dim {i} is "
                             f"{want[i]}, but the model fixes it at {d.dim_value}")
        return want
    if not value.type.tensor_type.HasField("shape"):
        sys.exit(f"make_dataset: input '{value.name}' has no shape; give --shape {value.name}=...")
    shape = []
    for i, d in enumerate(value.type.tensor_type.shape.dim):
        if d.HasField("dim_value"):
            shape.append(d.dim_value)
        elif d.dim_param in params:
            shape.append(params[d.dim_param])
        elif i == 0:
            shape.append(1)  # an unnamed batch: one sample
        else:
            what = f"'{d.dim_param}'" if d.dim_param else "unknown"
            sys.exit(f"make_dataset: input '{value.name}' dim {i} is {what}; "
                     f"give --shape {value.name}=...")
    return shape


def random_tensor(rng, elem_type, shape, name):
    if elem_type == onnx.TensorProto.BOOL:
        return rng.random(shape) < 0.5
    if elem_type == onnx.TensorProto.STRING:
        sys.exit(f"make_dataset: input '{name}' is a string tensor; not supported")
    dtype = np.dtype(helper.tensor_dtype_to_np_dtype(elem_type))
    if dtype.kind == "f":
        return rng.standard_normal(shape).astype(dtype)
    if dtype.kind in "iu":
        return rng.integers(0, 4, size=shape).astype(dtype)
    sys.exit(f"make_dataset: input '{name}' has dtype "
             f"{onnx.TensorProto.DataType.Name(elem_type)}; not supported")


def symbolic_values(inputs, bound):
    """{dim_param: value} from the --shape bindings, so inputs that share
    a symbolic dim ("batch") agree on it."""
    params = {}
    for v in inputs:
        if v.name in bound and v.type.tensor_type.HasField("shape"):
            for d, n in zip(v.type.tensor_type.shape.dim, bound[v.name]):
                if d.dim_param and params.setdefault(d.dim_param, n) != n:
                    sys.exit(f"make_dataset: --shape gives '{d.dim_param}' both "
                             f"{params[d.dim_param]} and {n}")
    return params


def model_inputs(graph):
    """Graph inputs that are not initializers: the ones a caller feeds."""
    constants = {t.name for t in graph.initializer}
    inputs = [v for v in graph.input if v.name not in constants]
    for v in inputs:
        if v.type.WhichOneof("value") != "tensor_type":
            sys.exit(f"make_dataset: input '{v.name}' is not a tensor; not supported")
    return inputs


def write_set(folder, inputs, outputs):
    """folder/input_J.pb and output_J.pb from {name: array} dicts, in order."""
    os.makedirs(folder, exist_ok=True)
    for prefix, arrays in (("input", inputs), ("output", outputs)):
        for j, (name, array) in enumerate(arrays.items()):
            proto = numpy_helper.from_array(np.asarray(array), name)
            with open(os.path.join(folder, f"{prefix}_{j}.pb"), "wb") as f:
                f.write(proto.SerializeToString())


def write_case(work, name, model, inputs, outputs):
    """work/name/model.onnx and its data set work/name/test_data_set_0 from
    lists of arrays in the graph's input and output order; returns (model
    path, data set folder)."""
    folder = os.path.join(work, name, "test_data_set_0")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(work, name, "model.onnx")
    onnx.save(model, path)
    write_set(folder, {f"input_{i}": a for i, a in enumerate(inputs)},
              {f"output_{i}": a for i, a in enumerate(outputs)})
    return path, folder


def ort_set(model_path, folder, feeds):
    """Runs model_path in ONNX Runtime (every graph optimisation on) on
    feeds, {name: array} for every input it reads, and writes the data set;
    returns the outputs as {name: array}."""
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # errors only: not its notes on unused initializers
    session = ort.InferenceSession(model_path, options, providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    results = session.run(None, {n: feeds[n] for n in names})
    outputs = dict(zip([o.name for o in session.get_outputs()], results))
    write_set(folder, {n: feeds[n] for n in names}, outputs)
    return outputs


def make_dataset(model_path, outdir, seed=0, shapes=None, sets=1):
    """Writes `sets` data sets for model_path under outdir; returns their folders."""
    # The graph's interface is all we read here; ORT loads the weights itself.
    graph = onnx.load(model_path, load_external_data=False).graph
    bound = dict(shapes or {})
    inputs = model_inputs(graph)
    unknown = set(bound) - {v.name for v in inputs}
    if unknown:
        sys.exit(f"make_dataset: --shape names no model input: {', '.join(sorted(unknown))}")
    params = symbolic_values(inputs, bound)
    output_names = [v.name for v in graph.output]
    del graph

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # errors only: not its notes on unused initializers
    session = ort.InferenceSession(model_path, options, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(seed)
    folders = []
    for i in range(sets):
        feeds = {v.name: random_tensor(rng, v.type.tensor_type.elem_type,
                                       input_shape(v, bound, params), v.name)
                 for v in inputs}
        results = session.run(output_names, feeds)
        folder = os.path.join(outdir, f"test_data_set_{i}")
        write_set(folder, feeds, dict(zip(output_names, results)))
        folders.append(folder)
    return folders


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("model")
    p.add_argument("outdir")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--shape", type=parse_shape, action="append", default=[],
                   metavar="NAME=DxD...", help="bind an input's shape (repeatable)")
    p.add_argument("--sets", type=int, default=1, help="number of data sets (default 1)")
    args = p.parse_args()
    if args.sets < 1:
        p.error("--sets must be at least 1")
    folders = make_dataset(args.model, args.outdir, args.seed, args.shape, args.sets)
    for folder in folders:
        print(f"make_dataset: wrote {folder}")


if __name__ == "__main__":
    main()
