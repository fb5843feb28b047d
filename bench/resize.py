"""Resize 2x (nearest and bilinear) of detector-sized NCHW float32 maps:
dlc against ONNX Runtime, one thread, side by side.

usage: python bench/resize.py DLC [DLC ...] [--rounds N]

For each shape ([1,128,80,80], [1,64,160,160]) and mode (nearest with
asymmetric/floor as torch exports F.interpolate(scale_factor=2); linear
with half_pixel, align_corners=False) it writes a one-node Resize-13
model, compiles it with each dlc (cc -O3 -march=native, a shared library
called through ctypes, OMP_NUM_THREADS=1), checks the outputs against ONNX
Runtime, then times the engines alternately (5 warm-up rounds, then
--rounds, each round rotating the order) and prints median (min / p90)
ms and the ratio to ONNX Runtime's median, with the CPU's name.
"""
import argparse
import os
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import alternate, dlc_engine  # noqa: E402

SHAPES = [[1, 128, 80, 80], [1, 64, 160, 160]]
MODES = {
    "nearest": {"mode": "nearest", "coordinate_transformation_mode": "asymmetric",
                "nearest_mode": "floor"},
    "bilinear": {"mode": "linear", "coordinate_transformation_mode": "half_pixel"},
}


def model(path, shape, attrs):
    scales = numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "scales")
    node = helper.make_node("Resize", ["x", "", "scales"], ["y"], **attrs)
    out = shape[:2] + [shape[2] * 2, shape[3] * 2]
    g = helper.make_graph([node], "resize", [helper.make_tensor_value_info("x", 1, shape)],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, out)], [scales])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 7
    onnx.save(m, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dlc", nargs="+")
    ap.add_argument("--rounds", type=int, default=30)
    args = ap.parse_args()
    os.environ["OMP_NUM_THREADS"] = "1"
    cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
               if line.startswith("model name"))
    flags = open("/proc/cpuinfo").read()
    isa = "avx512f" if " avx512f" in flags else "avx2" if " avx2" in flags else "no avx2"
    print(f"{cpu} ({isa}), 1 thread, {args.rounds} alternating rounds after 5 warm-up; "
          f"median (min / p90) ms")
    work = tempfile.mkdtemp(prefix="dlc-bench-resize-")
    for shape in SHAPES:
        for mode, attrs in MODES.items():
            case = f"{mode} 2x {'x'.join(map(str, shape))}"
            path = os.path.join(work, f"{mode}_{shape[1]}.onnx")
            model(path, shape, attrs)
            so = ort.SessionOptions()
            so.intra_op_num_threads = so.inter_op_num_threads = 1
            sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
            x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
            ref = sess.run(None, {"x": x})[0]
            engines = {"ONNX Runtime": lambda: sess.run(None, {"x": x})}
            for n, dlc in enumerate(args.dlc):
                d = os.path.join(work, f"{mode}_{shape[1]}_{n}")
                os.makedirs(d)
                engines[f"dlc[{n}]"] = dlc_engine(os.path.abspath(dlc), path, d, {"x": x},
                                                  ["x"], [ref])
            times = alternate(engines, args.rounds)
            base = float(np.median(times["ONNX Runtime"]))
            for k in times:
                t = np.array(times[k])
                print(f"{case:26s} {k:13s} {np.median(t):8.3f} ({t.min():7.3f} / "
                      f"{np.percentile(t, 90):7.3f})  x ORT {np.median(t) / base:5.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
