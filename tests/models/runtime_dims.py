"""Run-time dims: one compile per model, checked against ONNX Runtime at
several sizes, and the generated code's refusals.

usage: python runtime_dims.py --dlc build/dlc --work DIR

Each case compiles one of the torch.onnx exports in shipped/ once with a
range for its symbolic dims (--shape x=1x3x32x32..512) and runs

    dlc check MODEL SET0 SET1 SET2 --shape ... --rtol 1e-3 --atol 1e-4

where each data set holds seeded random inputs of another size and ONNX
Runtime's outputs for them (every graph optimisation on). The tolerance is
the shipped models' (float32 sums in another order, tens of layers deep);
a wrong extent or an unmasked padding misses it by orders of magnitude.

The last two cases are the pretrained PP-OCRv4 recogniser and detector
that RapidOCR ships (tests/models/pretrained.py installs them): a line width
of 32..960 and a page of 32..960 square in steps of 32.

Then, on the recogniser compiled with a range, a small C program calls the
run function with dims below the range, above it, off its step and NULL,
and requires the documented status codes; and a model whose reshape merges
two run-time dims must be refused with a message naming the node.
Prints PASS/FAIL per case and exits 1 if any failed.
"""
import argparse
import os
import subprocess
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tools"))
from make_dataset import ort_set  # noqa: E402
from pretrained import package_file  # noqa: E402
from run import run_case, tally  # noqa: E402

TOL = ["--rtol", "1e-3", "--atol", "1e-4"]

# (case, model, --shape bindings, data sets: {input: shape} per set)
CASES = [
    ("crnn_width", "crnn.onnx", ["x=1x3x32x32..512"],
     [{"x": (1, 3, 32, w)} for w in (32, 100, 333)]),
    ("dbnet_hw_step32", "dbnet.onnx", ["x=1x3x32..320/32x32..320/32"],
     [{"x": (1, 3, h, w)} for h, w in ((64, 96), (160, 320), (320, 32))]),
    ("yolo_batch", "yolo.onnx", ["images=1..4x3x160x160"],
     [{"images": (b, 3, 160, 160)} for b in (1, 3, 4)]),
    ("encoder_tokens", "encoder.onnx", ["ids=1x1..128", "mask=1x1..128"],
     [{"ids": (1, t), "mask": (1, t)} for t in (1, 9, 128)]),
    ("classifier_hw", "classifier.onnx", ["image=1x3x8..256x8..256"],
     [{"image": (1, 3, h, w)} for h, w in ((8, 8), (57, 130), (256, 200))]),
    ("speech_samples", "speech.onnx", ["audio=1x400..8000"],
     [{"audio": (1, n)} for n in (400, 3333, 8000)]),
    ("decoder_tokens", "decoder.onnx", ["ids=1x1..128"],
     [{"ids": (1, t)} for t in (1, 13, 100)]),
    # pretrained Paddle2ONNX exports that RapidOCR ships (pretrained.py)
    ("ppocr_rec_width", "pkg:rapidocr_onnxruntime/models/ch_PP-OCRv4_rec_infer.onnx",
     ["x=1x3x48x32..960"], [{"x": (1, 3, 48, w)} for w in (64, 320, 640)]),
    ("ops_along_t", "built:ops", ["x=1x4x2..50"], [{"x": (1, 4, t)} for t in (2, 17, 50)]),
    ("ppocr_det_hw_step32", "pkg:rapidocr_onnxruntime/models/ch_PP-OCRv4_det_infer.onnx",
     ["x=1x3x32..960/32x32..960/32"], [{"x": (1, 3, h, w)} for h, w in ((96, 160), (320, 480),
                                                                       (640, 640))]),
]


def feeds(shapes, seed):
    """Seeded inputs: token ids in [0, 200) (both vocabularies are larger),
    an attention mask whose last quarter is padding, floats standard
    normal."""
    rng = np.random.default_rng(seed)
    out = {}
    for name, shape in shapes.items():
        if name == "ids":
            out[name] = rng.integers(0, 200, size=shape).astype(np.int64)
        elif name == "mask":
            m = np.ones(shape, np.int64)
            m[..., shape[-1] - shape[-1] // 4:] = 0
            out[name] = m
        else:
            out[name] = rng.standard_normal(shape).astype(np.float32)
    return out


def ops_model(path):
    """The rules the exports above do not reach, over x [1, 4, T]: Pad
    (begin, end, a value), ReduceMean, ArgMax, ReduceMax, Softmax and
    CumSum along T, Concat whose last piece is run-time, Slice ending one
    before the run-time end, linear and cubic 2x Resize (their reads past
    the end clamp to the run-time edge), Instance-, Group- and Layer-
    Normalization whose statistics run over T."""
    nodes = [
        helper.make_node("Pad", ["x", "pads", "pv"], ["p"]),
        helper.make_node("ReduceMean", ["p", "ax"], ["mean"], keepdims=1),
        helper.make_node("ArgMax", ["p"], ["arg"], axis=2, keepdims=1),
        helper.make_node("Softmax", ["x"], ["soft"], axis=2),
        helper.make_node("CumSum", ["x", "ax0"], ["cum"]),
        helper.make_node("Concat", ["cls", "x"], ["cat"], axis=2),
        helper.make_node("Slice", ["cat", "one", "minus1", "ax"], ["sl"]),
        helper.make_node("ReduceMax", ["sl", "ax"], ["max"], keepdims=0),
        helper.make_node("Resize", ["x", "", "up2"], ["lin"], mode="linear"),
        helper.make_node("InstanceNormalization", ["x", "s4", "b4"], ["inorm"]),
        helper.make_node("GroupNormalization", ["x", "s2", "b2"], ["gnorm"], num_groups=2),
        helper.make_node("LayerNormalization", ["x", "s4t", "b4t"], ["lnorm"], axis=1),
        helper.make_node("Unsqueeze", ["x", "ax"], ["x4"]),
        helper.make_node("Resize", ["x4", "", "up2_4d"], ["cub"], mode="cubic"),
    ]
    inits = [numpy_helper.from_array(np.array([0, 0, 2, 0, 0, 3], np.int64), "pads"),
             numpy_helper.from_array(np.array(1.5, np.float32), "pv"),
             numpy_helper.from_array(np.array([2], np.int64), "ax"),
             numpy_helper.from_array(np.array(2, np.int64), "ax0"),
             numpy_helper.from_array(np.array([1], np.int64), "one"),
             numpy_helper.from_array(np.array([-1], np.int64), "minus1"),
             numpy_helper.from_array(np.array([1, 1, 2], np.float32), "up2"),
             numpy_helper.from_array(np.array([1, 1, 1, 2], np.float32), "up2_4d"),
             numpy_helper.from_array(np.array([0.5, 1, 1.5, 2], np.float32), "s4"),
             numpy_helper.from_array(np.array([0.1, -0.2, 0.3, 0], np.float32), "b4"),
             numpy_helper.from_array(np.array([0.7, 1.3], np.float32), "s2"),
             numpy_helper.from_array(np.array([0.2, -0.1], np.float32), "b2"),
             numpy_helper.from_array(np.array([[0.5], [1], [1.5], [2]], np.float32), "s4t"),
             numpy_helper.from_array(np.array([[0.1], [-0.2], [0.3], [0]], np.float32), "b4t"),
             numpy_helper.from_array(np.linspace(-1, 1, 4, dtype=np.float32).reshape(1, 4, 1),
                                     "cls")]
    f = TensorProto.FLOAT
    outs = [helper.make_tensor_value_info("mean", f, [1, 4, 1]),
            helper.make_tensor_value_info("arg", TensorProto.INT64, [1, 4, 1]),
            helper.make_tensor_value_info("soft", f, [1, 4, "T"]),
            helper.make_tensor_value_info("cum", f, [1, 4, "T"]),
            helper.make_tensor_value_info("cat", f, [1, 4, "T1"]),
            helper.make_tensor_value_info("max", f, [1, 4]),
            helper.make_tensor_value_info("lin", f, [1, 4, "T2"]),
            helper.make_tensor_value_info("cub", f, [1, 4, 1, "T2"]),
            helper.make_tensor_value_info("inorm", f, [1, 4, "T"]),
            helper.make_tensor_value_info("gnorm", f, [1, 4, "T"]),
            helper.make_tensor_value_info("lnorm", f, [1, 4, "T"])]
    g = helper.make_graph(nodes, "runtime_dim_ops", [helper.make_tensor_value_info("x", f, [1, 4, "T"])],
                          outs, inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 18)])
    m.ir_version = 8
    with open(path, "wb") as fh:
        fh.write(m.SerializeToString())


# Calls model_run with dims outside the range the recogniser was compiled
# for (32..512 in steps of 1) and expects MODEL_ERR_DIM / MODEL_ERR_NULL.
STATUS_PROGRAM = r"""
#include "model.h"
#include <stdio.h>
#include <stdlib.h>
int main(void)
{
    long long shape[8];
    long long below[1] = {31}, above[1] = {513}, ok[1] = {64};
    size_t in = model_input_shape(above, 0, shape) + model_input_shape(ok, 0, shape);
    void *x = calloc(1, in), *y = calloc(1, model_outputs[0].bytes);
    const void *ins[1] = {x};
    void *outs[1] = {y};
    int fails = 0;
    fails += model_run(below, ins, outs) != MODEL_ERR_DIM;
    fails += model_run(above, ins, outs) != MODEL_ERR_DIM;
    fails += model_run(NULL, ins, outs) != MODEL_ERR_NULL;
    fails += model_input_shape(above, 0, shape) != 0;
    fails += model_run(ok, ins, outs) != MODEL_OK;
    fails += model_output_shape(ok, 0, shape) != (size_t)shape[0] * 37 * 4 || shape[0] != 16;
    printf("%d wrong status codes\n", fails);
    free(x);
    free(y);
    return fails != 0;
}
"""


def status_case(dlc, work):
    """The run function's codes for dims outside the range."""
    folder = os.path.join(work, "status")
    os.makedirs(folder, exist_ok=True)
    model = os.path.join(HERE, "shipped", "crnn.onnx")
    out_c = os.path.join(folder, "model.c")
    r = subprocess.run([dlc, model, "-o", out_c, "--shape", "x=1x3x32x32..512"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        print(f"FAIL status_codes: dlc: {r.stderr.strip()}")
        return False
    main_c = os.path.join(folder, "main.c")
    with open(main_c, "w") as f:
        f.write(STATUS_PROGRAM)
    exe = os.path.join(folder, "status")
    cc = os.environ.get("CC") or "cc"
    extra = os.environ.get("DLC_CHECK_CFLAGS", "").split()   # the sanitizer build's flags
    r = subprocess.run([cc, "-std=c99", "-O1", "-Wall", "-Wextra", "-Werror", *extra, "-o", exe,
                        main_c, out_c, "-lm"], capture_output=True, text=True)
    if r.returncode != 0:
        print(f"FAIL status_codes: cc: {r.stderr.strip()[:400]}")
        return False
    r = subprocess.run([exe], capture_output=True, text=True)
    ok = r.returncode == 0
    print(f"{'PASS' if ok else 'FAIL'} status_codes {r.stdout.strip()}")
    return ok


def refusal_case(dlc, work):
    """A reshape that merges the detector's run-time height and width is
    refused: exit 1, the node named, nothing written."""
    out_c = os.path.join(work, "refused", "model.c")
    os.makedirs(os.path.dirname(out_c), exist_ok=True)
    model = os.path.join(HERE, "shipped", "yolo.onnx")
    r = subprocess.run([dlc, model, "-o", out_c, "--shape", "images=1x3x64..640x64..640"],
                       capture_output=True, text=True)
    ok = (r.returncode == 1 and "Reshape" in r.stderr and "merges two run-time dims" in r.stderr
          and not os.path.exists(out_c))
    print(f"{'PASS' if ok else 'FAIL'} refused_merge exit {r.returncode}: "
          f"{(r.stderr.splitlines() or [''])[0][:160]}")
    return ok


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dlc", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--timeout", type=float, default=900)
    args = p.parse_args()
    dlc = os.path.abspath(args.dlc)
    oks = []
    for seed, (name, file, bindings, sets) in enumerate(CASES):
        if file.startswith("built:"):
            model = os.path.join(args.work, "ops.onnx")
            os.makedirs(args.work, exist_ok=True)
            ops_model(model)
        elif file.startswith("pkg:"):
            model = package_file(file[4:])
        else:
            model = os.path.join(HERE, "shipped", file)
        folders = []
        for i, shapes in enumerate(sets):
            folder = os.path.join(args.work, name, f"test_data_set_{i}")
            ort_set(model, folder, feeds(shapes, 100 * seed + i))
            folders.append(folder)
        extra = folders[1:] + TOL + [a for b in bindings for a in ("--shape", b)]
        oks.append(run_case(dlc, name, model, folders[0], extra, args.timeout))
    oks.append(status_case(dlc, args.work))
    oks.append(refusal_case(dlc, args.work))
    return tally(oks)


if __name__ == "__main__":
    sys.exit(main())
