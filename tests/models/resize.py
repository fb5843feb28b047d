"""Resize and Upsample in small real graphs, against ONNX Runtime.

usage: python resize.py --dlc build/dlc --work DIR [--filter REGEX]

Each case builds a model, feeds it seeded random inputs, takes ONNX
Runtime's outputs (CPU, all graph optimisations) as the reference and runs

    dlc check MODEL DATASET --atol A --rtol R

with the case's tolerance: float32 atol 1e-5 rtol 1e-5 (dlc sums the same
float terms as ORT, in another order for antialias and cubic), float16
atol 2e-3 rtol 2e-3 (one half-precision rounding of the result), integers
exact. The cases cover what exported models hold: sizes and scales
computed by a Shape -> Gather -> Cast -> Mul -> Concat chain (folded to
constants by dlc), a detector neck (Conv -> Resize nearest 2x -> Concat ->
Conv), bilinear with align_corners false and true, cubic, antialias,
tf_crop_and_resize, axes with keep_aspect_ratio_policy, Upsample-7/9,
Resize-10/11/13/18/19, trilinear, float16 and 8-bit inputs, and a resized
constant that dlc folds at compile time.
"""
import argparse
import os
import re
import subprocess
import sys
import zlib

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

F = TensorProto.FLOAT
I64 = TensorProto.INT64
NP = {TensorProto.FLOAT: np.float32, TensorProto.FLOAT16: np.float16,
      TensorProto.UINT8: np.uint8, TensorProto.INT8: np.int8}
TOL = {TensorProto.FLOAT: (1e-5, 1e-5), TensorProto.FLOAT16: (2e-3, 2e-3),
       TensorProto.UINT8: (0, 0), TensorProto.INT8: (0, 0)}


class Model:
    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.nodes, self.inits, self.inputs, self.n = [], [], [], 0

    def const(self, array, dtype):
        self.n += 1
        name = f"c{self.n}"
        self.inits.append(numpy_helper.from_array(np.asarray(array, dtype), name))
        return name

    def input(self, shape, dt=F):
        name = f"in{len(self.inputs)}"
        self.inputs.append(helper.make_tensor_value_info(name, dt, shape))
        return name

    def op(self, t, ins, **attrs):
        self.n += 1
        out = f"{t.lower()}{self.n}"
        self.nodes.append(helper.make_node(t, ins, [out], name=out, **attrs))
        return out

    def conv(self, x, cin, cout, k):
        w = self.const(self.rng.standard_normal((cout, cin, k, k)) * np.sqrt(2.0 / (cin * k * k)),
                       np.float32)
        b = self.const(self.rng.standard_normal(cout) * 0.1, np.float32)
        return self.op("Conv", [x, w, b], pads=[k // 2] * 4)

    def save(self, path, out, dt, opset):
        outs = [helper.make_value_info(out, helper.make_tensor_type_proto(dt, shape=None))]
        g = helper.make_graph(self.nodes, os.path.basename(path), self.inputs, outs, self.inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
        m.ir_version = 9 if opset >= 19 else 8 if opset >= 17 else 7
        onnx.save(m, path)


def resize(m, x, opset, scales=None, sizes=None, roi=None, **attrs):
    """A Resize (or, for opset < 10 via up(), Upsample) node of x."""
    if opset == 10:
        return m.op("Resize", [x, m.const(scales, np.float32)], **attrs)
    ins = [x, roi if roi is not None else ("" if opset >= 13 else m.const([], np.float32))]
    if scales is not None:
        ins.append(scales if isinstance(scales, str) else m.const(scales, np.float32))
    else:
        ins.append("" if opset >= 13 else m.const([], np.float32))
        ins.append(sizes if isinstance(sizes, str) else m.const(sizes, np.int64))
    return m.op("Resize", ins, **attrs)


def simple(shape, opset, dt=F, **kw):
    """One Resize of one input."""
    def build(m):
        return resize(m, m.input(shape, dt), opset, **kw), dt
    return build


def shape_chain(opset, use_sizes):
    """sizes (or scales) from Shape -> Gather -> Cast -> Mul -> Concat, as
    torch.onnx exports F.interpolate(scale_factor=2)."""
    def build(m):
        x = m.input([1, 4, 9, 11])
        shp = m.op("Shape", [x])
        hw = m.op("Gather", [shp, m.const([2, 3], np.int64)], axis=0)
        hwf = m.op("Cast", [hw], to=F)
        big = m.op("Mul", [hwf, m.const([2.0, 1.5], np.float32)])
        if use_sizes:
            nc = m.op("Gather", [shp, m.const([0, 1], np.int64)], axis=0)
            hwi = m.op("Cast", [m.op("Floor", [big])], to=I64)
            target = m.op("Concat", [nc, hwi], axis=0)
            return resize(m, x, opset, sizes=target, mode="linear"), F
        ratio = m.op("Div", [big, hwf])
        target = m.op("Concat", [m.const([1.0, 1.0], np.float32), ratio], axis=0)
        return resize(m, x, opset, scales=target, mode="nearest",
                      coordinate_transformation_mode="asymmetric", nearest_mode="floor"), F
    return build


def neck(opset):
    """A detector's feature-pyramid step: Conv -> Resize 2x -> Concat -> Conv."""
    def build(m):
        deep = m.input([1, 8, 6, 7])
        lateral = m.input([1, 4, 12, 14])
        up = resize(m, m.conv(deep, 8, 4, 1), opset, scales=[1, 1, 2, 2], mode="nearest",
                    **({} if opset == 10 else {"coordinate_transformation_mode": "asymmetric",
                                                "nearest_mode": "floor"}))
        cat = m.op("Concat", [up, lateral], axis=1)
        return m.conv(m.op("Relu", [cat]), 8, 6, 3), F
    return build


def folded_constant(opset):
    """x + Resize(constant): dlc folds the Resize at compile time."""
    def build(m):
        x = m.input([1, 2, 8, 10])
        c = m.const(m.rng.standard_normal((1, 2, 4, 5)), np.float32)
        up = resize(m, c, opset, scales=[1, 1, 2, 2], mode="linear")
        return m.op("Add", [x, up]), F
    return build


def upsample(opset, mode, scales, shape):
    def build(m):
        x = m.input(shape)
        if opset < 9:
            return m.op("Upsample", [x], mode=mode, scales=scales), F
        return m.op("Upsample", [x, m.const(scales, np.float32)], mode=mode), F
    return build


def crop(opset, roi, sizes, **attrs):
    def build(m):
        x = m.input([1, 2, 7, 9])
        return resize(m, x, opset, sizes=sizes, roi=m.const(roi, np.float32),
                      coordinate_transformation_mode="tf_crop_and_resize", **attrs), F
    return build


S = [1, 3, 10, 12]
CASES = [
    ("chain_sizes_linear_13", 13, shape_chain(13, True)),
    ("chain_scales_nearest_11", 11, shape_chain(11, False)),
    ("neck_nearest2x_11", 11, neck(11)),
    ("neck_nearest2x_13", 13, neck(13)),
    ("neck_nearest2x_10", 10, neck(10)),
    ("bilinear2x_half_pixel_13", 13, simple(S, 13, scales=[1, 1, 2, 2], mode="linear")),
    ("bilinear2x_align_corners_13", 13, simple(S, 13, scales=[1, 1, 2, 2], mode="linear",
                                               coordinate_transformation_mode="align_corners")),
    ("bilinear_sizes_align_corners_11", 11, simple(S, 11, sizes=[1, 3, 17, 23], mode="linear",
                                                   coordinate_transformation_mode="align_corners")),
    ("bilinear_pytorch_half_pixel_18", 18, simple(S, 18, sizes=[1, 3, 1, 7], mode="linear",
                                                  coordinate_transformation_mode="pytorch_half_pixel")),
    ("bilinear_down_asymmetric_11", 11, simple(S, 11, scales=[1, 1, 0.6, 0.75], mode="linear",
                                               coordinate_transformation_mode="asymmetric")),
    ("bilinear_half_pixel_symmetric_19", 19, simple(S, 19, scales=[1, 1, 1.7, 0.8], mode="linear",
                                                    coordinate_transformation_mode="half_pixel_symmetric")),
    ("nearest_round_prefer_ceil_13", 13, simple(S, 13, scales=[1, 1, 1.5, 2.5],
                                                nearest_mode="round_prefer_ceil")),
    ("nearest_ceil_down_18", 18, simple(S, 18, scales=[1, 1, 0.7, 0.45], nearest_mode="ceil")),
    ("nearest_tf_half_pixel_for_nn_11", 11, simple(S, 11, scales=[1, 1, 2, 3],
                                                   coordinate_transformation_mode="tf_half_pixel_for_nn")),
    ("resize10_nearest_down", 10, simple(S, 10, scales=[1, 1, 0.5, 0.6], mode="nearest")),
    ("resize10_linear_up", 10, simple(S, 10, scales=[1, 1, 2, 1.5], mode="linear")),
    ("cubic_up_13", 13, simple(S, 13, scales=[1, 1, 2, 2], mode="cubic")),
    ("cubic_exclude_outside_11", 11, simple(S, 11, sizes=[1, 3, 13, 29], mode="cubic",
                                            cubic_coeff_a=-0.5, exclude_outside=1)),
    ("cubic_align_corners_18", 18, simple([10, 12], 18, scales=[2.5, 1.5], mode="cubic",
                                          coordinate_transformation_mode="align_corners")),
    ("antialias_linear_down_18", 18, simple([1, 3, 31, 27], 18, scales=[1, 1, 0.3, 0.5],
                                            mode="linear", antialias=1)),
    ("antialias_cubic_down_18", 18, simple([1, 3, 31, 27], 18, sizes=[1, 3, 9, 11],
                                           mode="cubic", antialias=1)),
    ("antialias_linear_exclude_18", 18, simple([1, 2, 20, 20], 18, scales=[1, 1, 0.45, 0.6],
                                               mode="linear", antialias=1, exclude_outside=1)),
    ("axes_not_larger_18", 18, simple(S, 18, sizes=[15, 30], axes=[2, 3], mode="linear",
                                      keep_aspect_ratio_policy="not_larger")),
    ("axes_not_smaller_19", 19, simple(S, 19, sizes=[15, 30], axes=[2, 3], mode="nearest",
                                       keep_aspect_ratio_policy="not_smaller")),
    ("axes_3_only_18", 18, simple(S, 18, scales=[1.5], axes=[3], mode="cubic")),
    ("crop_linear_13", 13, crop(13, [0, 0, 0.2, 0.1, 1, 1, 0.9, 1.2], [1, 2, 5, 11],
                                mode="linear", extrapolation_value=-3.5)),
    ("crop_nearest_11", 11, crop(11, [0, 0, -0.1, 0.3, 1, 1, 0.8, 0.9], [1, 2, 6, 4],
                                 mode="nearest")),
    ("trilinear_13", 13, simple([1, 2, 4, 5, 6], 13, scales=[1, 1, 2, 1.5, 2], mode="linear")),
    ("upsample7_nearest", 7, upsample(7, "nearest", [1.0, 1.0, 2.0, 3.0], [1, 2, 5, 4])),
    ("upsample9_linear", 9, upsample(9, "linear", [1, 1, 2, 2], [1, 2, 5, 4])),
    ("float16_linear_13", 13, simple(S, 13, dt=TensorProto.FLOAT16, scales=[1, 1, 2, 2],
                                     mode="linear")),
    ("float16_nearest_13", 13, simple(S, 13, dt=TensorProto.FLOAT16, scales=[1, 1, 2, 2])),
    ("uint8_nearest_13", 13, simple(S, 13, dt=TensorProto.UINT8, scales=[1, 1, 2, 2])),
    ("uint8_linear_13", 13, simple(S, 13, dt=TensorProto.UINT8, scales=[1, 1, 2, 1.5],
                                   mode="linear")),
    ("int8_linear_align_corners_13", 13, simple(S, 13, dt=TensorProto.INT8, sizes=[1, 3, 19, 5],
                                                mode="linear",
                                                coordinate_transformation_mode="align_corners")),
    ("folded_constant_13", 13, folded_constant(13)),
]


def random_input(rng, vi):
    dt = vi.type.tensor_type.elem_type
    shape = [d.dim_value for d in vi.type.tensor_type.shape.dim]
    if dt in (TensorProto.UINT8, TensorProto.INT8):
        info = np.iinfo(NP[dt])
        return rng.integers(info.min, info.max + 1, size=shape).astype(NP[dt])
    return rng.standard_normal(shape).astype(NP[dt])


def run_case(dlc, work, name, opset, build):
    m = Model(zlib.crc32(name.encode()))
    out, dt = build(m)
    folder = os.path.join(work, name)
    os.makedirs(os.path.join(folder, "test_data_set_0"), exist_ok=True)
    path = os.path.join(folder, "model.onnx")
    m.save(path, out, dt, opset)
    rng = np.random.default_rng(7)
    model = onnx.load(path)
    feeds = {vi.name: random_input(rng, vi) for vi in model.graph.input}
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
    expected = sess.run(None, feeds)
    data = os.path.join(folder, "test_data_set_0")
    for i, vi in enumerate(model.graph.input):
        onnx.save_tensor(numpy_helper.from_array(feeds[vi.name]), os.path.join(data, f"input_{i}.pb"))
    for i, y in enumerate(expected):
        onnx.save_tensor(numpy_helper.from_array(y), os.path.join(data, f"output_{i}.pb"))
    atol, rtol = TOL[dt]
    argv = [dlc, "check", path, data, "--atol", str(atol), "--rtol", str(rtol)]
    proc = subprocess.run(argv, capture_output=True, text=True)
    ok = proc.returncode == 0
    detail = (proc.stdout + proc.stderr).strip().splitlines()
    print(f"{'ok  ' if ok else 'FAIL'} {name} (opset {opset}, atol {atol} rtol {rtol})")
    if not ok:
        print("\n".join("    " + line for line in detail[-6:]))
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dlc", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--filter", default="")
    args = ap.parse_args()
    pattern = re.compile(args.filter)
    fails = 0
    for name, opset, build in CASES:
        if pattern.search(name):
            fails += not run_case(os.path.abspath(args.dlc), args.work, name, opset, build)
    print(f"resize models: {fails} failed")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
