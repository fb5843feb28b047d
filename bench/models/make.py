"""Write the benchmark models: full-size networks people deploy, with
seeded random weights (nothing is downloaded).

usage: python make.py OUTDIR [--only NAME ...] [--seed N]
                              [--dynamic-shapes] [--verify]

    resnet50        torchvision ResNet-50 (v1.5), 1x3x224x224
    mobilenetv2     torchvision MobileNetV2 1.0, 1x3x224x224
    squeezenet1_1   torchvision SqueezeNet 1.1, 1x3x224x224
    bert_base       Hugging Face BertModel (bert-base-uncased), seq 128
    yolov8n         Ultralytics YOLOv8n detector, 1x3x640x640
    yolov8n_320     the same at 1x3x320x320
    dbnet           DB-ResNet18 text detector, 1x3x640x640
    crnn            CRNN text recogniser (conv + 2 BiLSTM), 1x3x48x320

Writes OUTDIR/NAME.onnx (OUTDIR/NAME_dynamic.onnx with --dynamic-shapes:
a symbolic batch dim for the CNNs, symbolic batch and sequence for BERT,
whose Reshape shapes are then computed by Shape/Gather/Concat subgraphs).
Each file is checked with onnx.checker. --verify then runs each model in
ONNX Runtime on the CPU, single-threaded, on a seeded input and prints the
output's shape, mean and std and the median latency of 5 runs.
"""
import argparse
import os
import sys
import time

import numpy as np
import onnx

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bert  # noqa: E402
import crnn  # noqa: E402
import dbnet  # noqa: E402
import mobilenetv2  # noqa: E402
import resnet50  # noqa: E402
import squeezenet  # noqa: E402
import yolov8n  # noqa: E402

MODELS = {m.NAME: m for m in (resnet50, mobilenetv2, squeezenet, bert, yolov8n.YOLOV8N,
                              yolov8n.YOLOV8N_320, dbnet, crnn)}


def write(module, path, seed, dynamic):
    t = time.perf_counter()
    model, params = module.build(seed, dynamic)
    onnx.save_model(model, path)
    onnx.checker.check_model(path)  # the path form works past 2 GB too
    mb = os.path.getsize(path) / 1e6
    print(f"{module.NAME:14s} {params:>11,d} params  {mb:7.1f} MB  "
          f"{len(model.graph.node):5d} nodes  {time.perf_counter() - t:5.1f} s  {path}")


def verify(module, path, seed):
    """Runs the model once per timing in ONNX Runtime, one thread, and
    fails if any output is not finite or is constant."""
    import onnxruntime as ort
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
    # a different stream from the one the builder drew its calibration image from
    feeds = module.example(np.random.default_rng([seed, 1]))
    outs = sess.run(None, feeds)  # warm-up
    times = []
    for _ in range(5):
        t = time.perf_counter()
        sess.run(None, feeds)
        times.append(time.perf_counter() - t)
    ok = True
    for meta, out in zip(sess.get_outputs(), outs):
        finite = bool(np.isfinite(out).all())
        ok &= finite and float(out.std()) > 1e-3
        print(f"  {meta.name:18s} {str(list(out.shape)):16s} mean {out.mean():+9.4f}  "
              f"std {out.std():8.4f}{'' if finite else '  NOT FINITE'}")
    print(f"  ORT 1 thread: median {np.median(times) * 1e3:8.2f} ms over 5 runs")
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("outdir")
    ap.add_argument("--only", nargs="+", choices=sorted(MODELS), metavar="NAME",
                    help="build only these (default: all)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dynamic-shapes", action="store_true",
                    help="symbolic batch (and sequence) dims, shapes computed at run time")
    ap.add_argument("--verify", action="store_true",
                    help="run each model in ONNX Runtime and print stats and latency")
    args = ap.parse_args()

    os.makedirs(args.outdir, exist_ok=True)
    ok = True
    for name in args.only or MODELS:
        module = MODELS[name]
        suffix = "_dynamic" if args.dynamic_shapes else ""
        path = os.path.join(args.outdir, f"{name}{suffix}.onnx")
        write(module, path, args.seed, args.dynamic_shapes)
        if args.verify:
            ok &= verify(module, path, args.seed)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
