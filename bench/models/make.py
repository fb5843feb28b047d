"""Write the benchmark models: full-size networks people deploy, with
seeded random weights (nothing is downloaded).

usage: python make.py OUTDIR [--only NAME ...] [--seed N]
                              [--dynamic-shapes] [--verify]
                              [--export-python PYTHON]

Written with onnx.helper (no torch needed):

    resnet50        torchvision ResNet-50 (v1.5), 1x3x224x224
    mobilenetv2     torchvision MobileNetV2 1.0, 1x3x224x224
    squeezenet1_1   torchvision SqueezeNet 1.1, 1x3x224x224
    bert_base       Hugging Face BertModel (bert-base-uncased), seq 128
    yolov8n         Ultralytics YOLOv8n detector, 1x3x640x640
    yolov8n_320     the same at 1x3x320x320
    dbnet           DB-ResNet18 text detector, 1x3x640x640
    crnn            CRNN text recogniser (conv + 2 BiLSTM), 1x3x48x320

Exported with torch.onnx.export by the torch_*.py scripts (exported.py),
run under --export-python (default: $DLC_EXPORT_PYTHON, else this Python),
which needs requirements-bench.txt (torch, transformers); static shapes:
    minilm_l6       BertModel, all-MiniLM-L6-v2 config, seq 128
    minilm_l6_384   the same at seq 384
    distilbert      DistilBertModel, distilbert-base-uncased config, seq 128
    vit_s16         ViTModel, ViT-S/16, 1x3x224x224
    decoder_kv      LlamaModel (SmolLM-135M widths, 6 layers), one token
                    with a 127-token KV cache as inputs
    byte_cnn        Magika-style byte classifier (Conv1d, tanh GELU), 2048 B
    unet            U-Net segmenter, 4 levels, 1x3x256x256
    efficientnet_b0 torchvision EfficientNet-B0 (SE, SiLU), 1x3x224x224
    convnext_blocks ConvNeXt-T stem + stages 1-2, 1x3x224x224
    mlp_b1          MLP 1024-4096-4096-1024 (GELU), batch 1
    mlp_b64         the same at batch 64

Writes OUTDIR/NAME.onnx (OUTDIR/NAME_dynamic.onnx with --dynamic-shapes:
a symbolic batch dim for the CNNs, symbolic batch and sequence for BERT,
whose Reshape shapes are then computed by Shape/Gather/Concat subgraphs;
the onnx.helper models only).
Each file is checked with onnx.checker (and an exported one's inputs
against those its example() feeds). --verify then runs each model in
ONNX Runtime on the CPU, single-threaded, on a seeded input and prints the
output's shape, mean and std and the median latency of 5 runs.
"""
import argparse
import os
import subprocess
import sys
import time

import numpy as np
import onnx

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bert  # noqa: E402
import crnn  # noqa: E402
import dbnet  # noqa: E402
import exported  # noqa: E402
import mobilenetv2  # noqa: E402
import resnet50  # noqa: E402
import squeezenet  # noqa: E402
import yolov8n  # noqa: E402

MODELS = {m.NAME: m for m in (resnet50, mobilenetv2, squeezenet, bert, yolov8n.YOLOV8N,
                              yolov8n.YOLOV8N_320, dbnet, crnn, *exported.MODELS)}
REQUIREMENTS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "requirements-bench.txt")


_missing = {}  # (python, needs) -> the modules it lacks


def missing_modules(python, needs):
    """The modules in needs that python cannot import (all of them when it
    does not run)."""
    key = (python, needs)
    if key not in _missing:
        code = "import importlib.util, sys; print(' '.join(m for m in sys.argv[1:] " \
               "if importlib.util.find_spec(m) is None))"
        try:
            p = subprocess.run([python, "-c", code, *needs], stdout=subprocess.PIPE, text=True)
            _missing[key] = p.stdout.split() if p.returncode == 0 else list(needs)
        except OSError:
            _missing[key] = list(needs)
    return _missing[key]


def check_inputs(model, module):
    """An exported graph must take what module.example() feeds, in order."""
    want = [(name, list(shape)) for name, shape, _ in module.inputs]
    got = [(i.name, [d.dim_value for d in i.type.tensor_type.shape.dim])
           for i in model.graph.input]
    if got != want:
        raise RuntimeError(f"{module.NAME}: the export takes {got}, exported.py says {want}")


def write(module, path, seed, dynamic, python):
    t = time.perf_counter()
    if isinstance(module, exported.Exported):
        params = module.export(python, path, seed)
        model = onnx.load(path, load_external_data=False)
        check_inputs(model, module)
    else:
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
    ap.add_argument("--export-python", default=os.environ.get("DLC_EXPORT_PYTHON", sys.executable),
                    help="the Python that runs the torch exporters (needs requirements-bench.txt;"
                         " default: $DLC_EXPORT_PYTHON, else this one)")
    args = ap.parse_args()

    names = args.only or list(MODELS)
    if args.dynamic_shapes:
        static = [n for n in names if isinstance(MODELS[n], exported.Exported)]
        if args.only and static:
            ap.error(f"--dynamic-shapes: exported with static shapes only: {', '.join(static)}")
        names = [n for n in names if n not in static]
    os.makedirs(args.outdir, exist_ok=True)
    ok = True
    for name in names:
        module = MODELS[name]
        if isinstance(module, exported.Exported):
            lack = missing_modules(args.export_python, module.needs)
            if lack:
                print(f"make.py: error: {name} is exported with torch, and {args.export_python} "
                      f"lacks {', '.join(lack)}: install {REQUIREMENTS} into a venv and pass its "
                      f"python as --export-python or DLC_EXPORT_PYTHON", file=sys.stderr)
                ok = False
                continue
        suffix = "_dynamic" if args.dynamic_shapes else ""
        path = os.path.join(args.outdir, f"{name}{suffix}.onnx")
        try:
            write(module, path, args.seed, args.dynamic_shapes, args.export_python)
        except RuntimeError as e:
            print(f"make.py: error: {e}", file=sys.stderr)
            ok = False
            continue
        if args.verify:
            ok &= verify(module, path, args.seed)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
