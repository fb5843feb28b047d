"""Export the shape-chain model that tests/models/shape_ops.py checks.

usage: /work/ovenv/bin/python export.py OUTDIR   (needs torch; the test does
                                                   not: dynamic_reshape.onnx is
                                                   committed next to this script)

A small attention-like block written the way models compute shapes from
their input, exported by torch.onnx.export's TorchScript exporter with the
batch and time dims dynamic, which writes every size below as a
Shape -> Gather -> Unsqueeze -> Concat / Mul / Div chain: view() to heads
(Reshape), einsum (Einsum), topk with k = T // 2 (TopK), arange(T) expanded
to [B, T] (Range, Expand), ones(B, T) (ConstantOfShape), x[:, 1:T-1]
(Slice), repeat(1, 1, B) (Tile) and a reshape to [B, -1].
"""
import os
import sys

import torch
import torch.nn as nn


class ShapeChains(nn.Module):
    def __init__(self, c=8, heads=2):
        super().__init__()
        self.heads = heads
        self.proj = nn.Linear(c, c)

    def forward(self, x):
        b, t, c = x.shape
        h = self.proj(x).view(b, t, self.heads, c // self.heads).transpose(1, 2)
        att = torch.einsum("bhtc,bhsc->bhts", h, h)
        top = att.topk(k=t // 2, dim=-1)
        pos = torch.arange(t).unsqueeze(0).expand(b, t)
        ones = torch.ones(b, t, dtype=torch.long)
        sl = x[:, 1:t - 1]
        tiled = x.repeat(1, 1, b)
        return top.values, top.indices, pos * ones, sl, tiled, att.reshape(b, -1)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    torch.manual_seed(0)
    model = ShapeChains().eval()
    x = torch.randn(2, 6, 8)
    torch.onnx.export(model, (x,), os.path.join(out, "dynamic_reshape.onnx"), dynamo=False,
                      input_names=["x"], output_names=["values", "indices", "pos", "sl", "tiled", "att"],
                      dynamic_axes={"x": {0: "batch", 1: "time"}}, opset_version=17)


if __name__ == "__main__":
    main()
