"""Materialise the ONNX backend test data of the installed onnx package.

usage: python gen_data.py OUTDIR

The onnx wheel ships simple/, pytorch-converted/ and pytorch-operator/ as
folders of model.onnx + test_data_set_N/, but not node/: the node cases
live as Python code (onnx.backend.test.case.node). This writes every kind
in the same layout:

    OUTDIR/KIND/CASE/model.onnx
    OUTDIR/KIND/CASE/test_data_set_N/input_J.pb, output_J.pb

Cases whose graph inputs or outputs are not all tensors (sequences, maps,
optionals) are listed in OUTDIR/skipped.txt as `KIND/CASE: reason`; dlc
computes tensors only. OUTDIR/.stamp records the onnx version, and a run
that finds a matching stamp does nothing.
"""
import os
import shutil
import sys
import warnings

import numpy as np
import onnx
from onnx import numpy_helper

# Bump when the layout written here changes, so old caches are rebuilt.
LAYOUT = 1
COPIED_KINDS = ["simple", "pytorch-converted", "pytorch-operator"]
NON_TENSOR = "non-tensor input/output"


def stamp_text():
    return f"onnx {onnx.__version__} layout {LAYOUT}\n"


def all_tensors(graph):
    values = list(graph.input) + list(graph.output)
    return all(v.type.WhichOneof("value") == "tensor_type" for v in values)


def to_proto(value, name):
    """A data-set item as a TensorProto; cases mix TensorProtos, arrays and
    numpy scalars."""
    if isinstance(value, onnx.TensorProto):
        return value
    return numpy_helper.from_array(np.asarray(value), name)


def write_case(case, folder):
    graph = case.model.graph
    os.makedirs(folder)
    onnx.save(case.model, os.path.join(folder, "model.onnx"))
    for i, (inputs, outputs) in enumerate(case.data_sets):
        set_dir = os.path.join(folder, f"test_data_set_{i}")
        os.makedirs(set_dir)
        for prefix, values, infos in (("input", inputs, graph.input),
                                      ("output", outputs, graph.output)):
            for j, value in enumerate(values):
                proto = to_proto(value, infos[j].name)
                path = os.path.join(set_dir, f"{prefix}_{j}.pb")
                with open(path, "wb") as f:
                    f.write(proto.SerializeToString())


def write_node_cases(outdir, skipped):
    from onnx.backend.test.case.node import collect_testcases
    # Building the cases runs numpy on deliberate overflows and infinities.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        cases = collect_testcases()
    for case in cases:
        if not all_tensors(case.model.graph):
            skipped.append(f"node/{case.name}: {NON_TENSOR}")
            continue
        write_case(case, os.path.join(outdir, "node", case.name))
    return len(cases)


def copy_kind(kind, outdir, skipped):
    src = os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data", kind)
    shutil.copytree(src, os.path.join(outdir, kind))
    names = sorted(os.listdir(src))
    for name in names:
        model = onnx.load(os.path.join(src, name, "model.onnx"))
        if not all_tensors(model.graph):
            skipped.append(f"{kind}/{name}: {NON_TENSOR}")
    return len(names)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: gen_data.py OUTDIR")
    outdir = sys.argv[1]
    stamp = os.path.join(outdir, ".stamp")
    if os.path.exists(stamp) and open(stamp).read() == stamp_text():
        return
    # Start clean: a half-written or older tree must not mix with this one.
    if os.path.exists(outdir):
        shutil.rmtree(outdir)
    os.makedirs(outdir)

    skipped = []
    counts = {"node": write_node_cases(outdir, skipped)}
    for kind in COPIED_KINDS:
        counts[kind] = copy_kind(kind, outdir, skipped)
    with open(os.path.join(outdir, "skipped.txt"), "w") as f:
        f.writelines(line + "\n" for line in sorted(skipped))
    with open(stamp, "w") as f:
        f.write(stamp_text())
    total = ", ".join(f"{k} {n}" for k, n in counts.items())
    print(f"gen_data: wrote {outdir} for onnx {onnx.__version__}: {total}; "
          f"{len(skipped)} skipped (non-tensor)")


if __name__ == "__main__":
    main()
