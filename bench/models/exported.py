"""The benchmark models that torch writes: for each, which torch_*.py
script exports it and the inputs it takes. numpy only, so that make.py and
bench/run.py's worker (which calls example()) run in the test venv; the
scripts themselves run under the export Python (DLC_EXPORT_PYTHON or
make.py --export-python; requirements-bench.txt lists what it needs).
"""
import os
import re
import subprocess

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


class Exported:
    """The module interface make.py and run.py expect (NAME, example), plus
    export(), which runs the script instead of building with onnx.helper.

    inputs: (name, shape, fill) in graph order, fill one of "normal" (f32
    standard normal), "ones" or "zeros" (i64), ("ints", n) (i64 uniform in
    0..n-1), ("value", v) (i64, every element v)."""

    def __init__(self, name, script, args, inputs, needs=("torch",)):
        self.NAME, self.script, self.args, self.inputs = name, script, args, inputs
        self.needs = needs  # modules the export Python must have

    def example(self, rng):
        feeds = {}
        for name, shape, fill in self.inputs:
            if fill == "normal":
                feeds[name] = rng.standard_normal(shape, dtype=np.float32)
            elif fill in ("ones", "zeros"):
                feeds[name] = (np.ones if fill == "ones" else np.zeros)(shape, np.int64)
            elif fill[0] == "ints":
                feeds[name] = rng.integers(0, fill[1], shape, dtype=np.int64)
            else:
                feeds[name] = np.full(shape, fill[1], np.int64)
        return feeds

    def export(self, python, path, seed):
        """Runs the script; returns the parameter count it prints."""
        cmd = [python, os.path.join(HERE, self.script), *self.args, path, "--seed", str(seed)]
        p = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
        if p.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed with status {p.returncode}")
        m = re.search(r"([\d,]+) params", p.stdout)
        return int(m.group(1).replace(",", "")) if m else 0


def tokens(seq, vocab, mask=True, types=False):
    """A text encoder's [1, seq] inputs, as tokenizers give them unpadded."""
    inputs = [("input_ids", [1, seq], ("ints", vocab))]
    if mask:
        inputs.append(("attention_mask", [1, seq], "ones"))
    if types:
        inputs.append(("token_type_ids", [1, seq], "zeros"))
    return inputs


def kv_inputs(layers=6, kv_heads=3, head_dim=64, past=127):
    """torch_hf.py llama_kv's one-token step after `past` cached tokens."""
    inputs = [("input_ids", [1, 1], ("ints", 49152)), ("attention_mask", [1, past + 1], "ones"),
              ("position_ids", [1, 1], ("value", past))]
    for i in range(layers):
        for k in ("key", "value"):
            inputs.append((f"past_key_values.{i}.{k}", [1, kv_heads, past, head_dim], "normal"))
    return inputs


HF = ("torch", "transformers")
IMAGE = [("input", [1, 3, 224, 224], "normal")]
MODELS = [
    Exported("minilm_l6", "torch_hf.py", ["minilm", "--seq", "128"],
             tokens(128, 30522, types=True), HF),
    Exported("minilm_l6_384", "torch_hf.py", ["minilm", "--seq", "384"],
             tokens(384, 30522, types=True), HF),
    Exported("distilbert", "torch_hf.py", ["distilbert", "--seq", "128"], tokens(128, 30522), HF),
    Exported("vit_s16", "torch_hf.py", ["vit_s16"], [("pixel_values", [1, 3, 224, 224], "normal")],
             HF),
    Exported("decoder_kv", "torch_hf.py", ["llama_kv", "--seq", "128"], kv_inputs(), HF),
    Exported("byte_cnn", "torch_cnn.py", ["byte_cnn"], [("bytes", [1, 2048], ("ints", 257))]),
    Exported("unet", "torch_cnn.py", ["unet"], [("input", [1, 3, 256, 256], "normal")]),
    Exported("efficientnet_b0", "torch_cnn.py", ["efficientnet_b0"], IMAGE),
    Exported("convnext_blocks", "torch_cnn.py", ["convnext_blocks"], IMAGE),
    Exported("mlp_b1", "torch_mlp.py", ["--batch", "1"], [("input", [1, 1024], "normal")]),
    Exported("mlp_b64", "torch_mlp.py", ["--batch", "64"], [("input", [64, 1024], "normal")]),
]
