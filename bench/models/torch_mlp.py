"""A plain MLP, the dense layers of recommenders and tabular models: three
Linear layers 1024 -> 4096 -> 4096 -> 1024 with GELU between, written in
torch (random weights from torch's seeded generator) and exported with
torch.onnx.export (TorchScript, opset 17), which writes each Linear on a
2-D input as one Gemm (transB=1).

usage: python torch_mlp.py OUT.onnx [--batch N] [--seed N] [--dynamo]
"""
import torch
from torch import nn

from torch_export import export, parse


def main():
    a = parse(__doc__, batch=1)
    torch.manual_seed(a.seed)
    model = nn.Sequential(nn.Linear(1024, 4096), nn.GELU(), nn.Linear(4096, 4096), nn.GELU(),
                          nn.Linear(4096, 1024))
    for m in model:  # He-normal: activations stay O(1) (torch's default shrinks them)
        if isinstance(m, nn.Linear):
            nn.init.kaiming_normal_(m.weight)
    export(a, model, (torch.randn(a.batch, 1024),), ["input"], ["output"])


if __name__ == "__main__":
    main()
