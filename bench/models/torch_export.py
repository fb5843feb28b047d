"""Shared by the torch_*.py export scripts (run under the export Python,
which has torch: requirements-bench.txt). Each script builds its network
with weights drawn from torch's seeded generator and writes it with
torch.onnx.export as a user would: eval mode, static shapes, opset 17.

Not imported by make.py or run.py: those only run the scripts (see
exported.py), so the test venv needs no torch.
"""
import argparse
import os
import warnings

import torch

# the tracer warns wherever Python control flow reads a shape: with static
# shapes that is what is meant
warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)

OPSET = 17


def parse(doc, **extra):
    """OUT.onnx, --seed, --dynamo and any extra --options (name -> default)."""
    ap = argparse.ArgumentParser(description=doc.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dynamo", action="store_true",
                    help="the torch.export-based exporter (torch 2.15's default)")
    for name, default in extra.items():
        ap.add_argument(f"--{name.replace('_', '-')}", type=type(default), default=default)
    return ap.parse_args()


def export(opts, model, args, input_names, output_names):
    """torch.onnx.export to opts.out with static shapes. Without --dynamo it
    is the TorchScript exporter (dynamo=False), the one Hugging Face Optimum
    and most tutorials use; torch 2.15 defaults to dynamo=True. Both fold
    eval-mode BatchNorm into the convs."""
    path, dynamo = opts.out, opts.dynamo
    model.eval()
    with torch.no_grad():
        torch.onnx.export(model, args, path, input_names=input_names,
                          output_names=output_names, opset_version=OPSET, dynamo=dynamo,
                          **({"external_data": False} if dynamo else {}))
    params = sum(p.numel() for p in model.parameters())
    print(f"wrote {path}: {params:,d} params, {os.path.getsize(path) / 1e6:.1f} MB")


def calibrate(model, *args):
    """Sets every BatchNorm's running mean and variance to those of its
    input on args (as training would leave them): with the defaults (0, 1)
    activations drift by a factor per block and a deep net ends near zero
    or overflow, where any engine's output matches any other's."""
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.reset_running_stats()
            m.momentum = None  # a cumulative average: one batch sets them exactly
    model.train()
    with torch.no_grad():
        model(*args)
    model.eval()
