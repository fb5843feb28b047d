"""Pretrained ONNX files that Python packages ship, against ONNX Runtime.

usage: python pretrained.py --dlc build/dlc --work DIR [--only NAME ...]

The models are the ones inside the PyPI packages of requirements-pretrained.txt
(scripts/setup.sh installs them without their dependencies): Silero VAD's six
exports (If on the sample rate, LSTM state in and out, float16, a sequence
variant; the one whose 8 kHz branch is invalid at 16 kHz sizes also with
its rate frozen by --freeze), RapidOCR's PP-OCRv4 text detector and recogniser and its PP-OCR
mobile v2 direction classifier (Paddle2ONNX exports with -1 and symbolic
dims), and Magika's file-type classifier (a byte CNN with a tanh-form
GELU). dlc never saw them while it was written: they are what a user
brings. Each case binds the free dims with --shape, feeds seeded random
inputs of the kind the model reads (audio, an image, bytes 0..256, a
sample rate of 16000 or 8000), takes ONNX Runtime's outputs as the
reference and runs

    dlc check MODEL DATASET --rtol 1e-3 --atol 1e-4 --shape ...

(float32 sums in another order over tens of layers; the float16 model
gets --atol 2e-3). The recogniser runs at three line widths. Prints
PASS/FAIL per case and exits 1 if any failed.
"""
import argparse
import importlib.util
import os
import sys

import numpy as np
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tools"))
from make_dataset import ort_set  # noqa: E402
from run import run_case, tally  # noqa: E402

TOL = ["--rtol", "1e-3", "--atol", "1e-4"]
SILERO = "silero_vad/data"
OCR = "rapidocr_onnxruntime/models"


def package_file(path):
    """The file at `path` (package/relative) inside an installed package,
    found without importing the package."""
    package, _, rest = path.partition("/")
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        sys.exit(f"pretrained: package '{package}' is not installed "
                 f"(scripts/setup.sh installs requirements-pretrained.txt)")
    return os.path.join(spec.submodule_search_locations[0], rest)


def audio(rng, n):
    return {"input": (0.1 * rng.standard_normal([1, n])).astype(np.float32),
            "state": (0.5 * rng.standard_normal([2, 1, 128])).astype(np.float32)}


def cases():
    """(name, model path, {input: shape} bindings, feeds(rng), extra args)."""
    for f in ("silero_vad", "silero_vad_16k_op15", "silero_vad_op18_ifless"):
        for sr, n in ((16000, 576), (8000, 288)):
            if f == "silero_vad" and sr == 16000:
                continue    # below, with the rate frozen
            yield (f"{f}_{sr}", f"{SILERO}/{f}.onnx", {"input": (1, n), "state": (2, 1, 128)},
                   lambda rng, n=n, sr=sr: {**audio(rng, n), "sr": np.array(sr, np.int64)}, [])
    # Its 8 kHz branch is invalid at 576 samples (an LSTM input of rank 5),
    # and dlc compiles both branches of a run-time If: with the rate frozen
    # the If folds to the 16 kHz branch, as a 16 kHz product builds it.
    yield ("silero_vad_16000_frozen_sr", f"{SILERO}/silero_vad.onnx",
           {"input": (1, 576), "state": (2, 1, 128)},
           lambda rng: {**audio(rng, 576), "sr": np.array(16000, np.int64)}, ["--freeze", "sr"])
    yield ("silero_vad_half", f"{SILERO}/silero_vad_half.onnx",
           {"input": (1, 576), "state": (2, 1, 128)}, lambda rng: audio(rng, 576),
           ["--atol", "2e-3"])
    yield ("silero_vad_openvino_16k", f"{SILERO}/silero_vad_openvino_16k.onnx", {},
           lambda rng: audio(rng, 576), [])
    yield ("silero_vad_16k_sequence", f"{SILERO}/silero_vad_16k_sequence.onnx",
           {"input": (4, 576)},
           lambda rng: {"input": (0.1 * rng.standard_normal([4, 576])).astype(np.float32),
                        "h": (0.5 * rng.standard_normal([1, 1, 128])).astype(np.float32),
                        "c": (0.5 * rng.standard_normal([1, 1, 128])).astype(np.float32)}, [])
    for h, w in ((640, 640), (320, 480)):
        yield (f"ppocr_det_{h}x{w}", f"{OCR}/ch_PP-OCRv4_det_infer.onnx", {"x": (1, 3, h, w)},
               lambda rng, h=h, w=w: {"x": rng.uniform(-1, 1, [1, 3, h, w]).astype(np.float32)},
               [])
    for w in (160, 320, 640):
        yield (f"ppocr_rec_w{w}", f"{OCR}/ch_PP-OCRv4_rec_infer.onnx", {"x": (1, 3, 48, w)},
               lambda rng, w=w: {"x": rng.uniform(-1, 1, [1, 3, 48, w]).astype(np.float32)}, [])
    yield ("ppocr_cls", f"{OCR}/ch_ppocr_mobile_v2.0_cls_infer.onnx", {"x": (1, 3, 48, 192)},
           lambda rng: {"x": rng.uniform(-1, 1, [1, 3, 48, 192]).astype(np.float32)}, [])
    yield ("magika", "magika/models/standard_v3_3/model.onnx", {"bytes": (1, 2048)},
           lambda rng: {"bytes": rng.integers(0, 257, [1, 2048]).astype(np.int32)}, [])


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dlc", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--only", nargs="*", help="case names to run (default: all)")
    p.add_argument("--timeout", type=float, default=900)
    args = p.parse_args()
    oks = []
    for seed, (name, path, shapes, make_feeds, extra) in enumerate(cases()):
        if args.only and name not in args.only:
            continue
        model = package_file(path)
        folder = os.path.join(args.work, name, "test_data_set_0")
        feeds = make_feeds(np.random.default_rng(seed))
        ort_set(model, folder, feeds)
        if extra[:1] == ["--freeze"]:   # the input's value, as a tensor file
            path = os.path.join(args.work, name, f"{extra[1]}.pb")
            with open(path, "wb") as f:
                f.write(numpy_helper.from_array(feeds[extra[1]], extra[1]).SerializeToString())
            extra = ["--freeze", f"{extra[1]}={path}"]
        flags = TOL + extra + [a for n, s in shapes.items()
                               for a in ("--shape", f"{n}={'x'.join(map(str, s))}")]
        oks.append(run_case(args.dlc, name, model, folder, flags, args.timeout))
    return tally(oks)


if __name__ == "__main__":
    sys.exit(main())
