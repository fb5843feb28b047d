"""Real exported networks of the families users ship, against ONNX Runtime.

usage: python shipped.py --dlc build/dlc --work DIR [--only NAME ...]

The models in shipped/ were written by torch.onnx.export from
shipped/export.py (a YOLO-style detector, a DB text detector, a CRNN
recogniser, a voice-activity model with an If and LSTM state, a GRU
tagger, a model with Loops), with their symbolic dims, Shape -> Gather ->
Concat chains and external data as the exporter left them. Each case binds
the symbolic dims with --shape, writes seeded random inputs and ONNX
Runtime's outputs (every graph optimisation on), and runs

    dlc check MODEL DATASET --rtol 1e-3 --atol 1e-4 [--shape ...] [--loop-max N]

The tolerance allows float32 sums in another order over networks tens of
layers deep; a wrong kernel misses it by orders of magnitude. Variable
dims are checked at several sizes (the recogniser at three widths).
Prints PASS/FAIL per case and exits 1 if any failed.
"""
import argparse
import os
import sys

import numpy as np
import onnxruntime as ort

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tools"))
from make_dataset import ort_set  # noqa: E402
from run import run_case, tally  # noqa: E402

TOL = ["--rtol", "1e-3", "--atol", "1e-4"]


def cases():
    """(case name, model file, {input: shape}, {input: fixed array}, extra
    dlc flags)."""
    for h, w in ((320, 320), (256, 384)):
        yield f"yolo_{h}x{w}", "yolo.onnx", {"images": (1, 3, h, w)}, {}, []
    for h, w in ((320, 320), (160, 480)):
        yield f"dbnet_{h}x{w}", "dbnet.onnx", {"x": (1, 3, h, w)}, {}, []
    for w in (100, 160, 320):
        yield f"crnn_w{w}", "crnn.onnx", {"x": (1, 3, 32, w)}, {}, []
    for sr in (16000, 8000):
        yield f"vad_sr{sr}", "vad.onnx", {}, {"sr": np.array(sr, np.int64)}, []
    yield "gru", "gru.onnx", {}, {}, []
    # the while loop's trip count depends on the data: bounded at 64
    yield "loop", "loop.onnx", {}, {}, ["--loop-max", "64"]


def feeds_for(model, shapes, fixed, seed):
    """Seeded inputs: the fixed ones as given, int64 token ids in [0, 500),
    floats standard normal."""
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(seed)
    feeds = {}
    for v in session.get_inputs():
        shape = shapes.get(v.name, v.shape)
        if v.name in fixed:
            feeds[v.name] = fixed[v.name]
        elif v.type == "tensor(int64)":
            feeds[v.name] = rng.integers(0, 500, size=shape)
        else:
            feeds[v.name] = rng.standard_normal(shape).astype(np.float32)
    return feeds


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dlc", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--only", nargs="*", help="case names to run (default: all)")
    p.add_argument("--timeout", type=float, default=600)
    args = p.parse_args()
    oks = []
    for seed, (name, file, shapes, fixed, flags) in enumerate(cases()):
        if args.only and name not in args.only:
            continue
        model = os.path.join(HERE, "shipped", file)
        folder = os.path.join(args.work, name, "test_data_set_0")
        ort_set(model, folder, feeds_for(model, shapes, fixed, seed))
        extra = TOL + flags + [a for n, s in shapes.items()
                               for a in ("--shape", f"{n}={'x'.join(map(str, s))}")]
        oks.append(run_case(args.dlc, name, model, folder, extra, args.timeout))
    return tally(oks)


if __name__ == "__main__":
    sys.exit(main())
