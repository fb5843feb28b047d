"""Hugging Face transformers models built from a config (the published
architecture, random weights from torch's seeded generator; nothing is
downloaded), exported with torch.onnx.export (TorchScript, opset 17) the
way Optimum exports them: positional token inputs, static [1, seq].

usage: python torch_hf.py ARCH OUT.onnx [--seq N] [--seed N] [--dynamo]

    minilm      BertModel, all-MiniLM-L6-v2 config; input_ids,
                attention_mask, token_type_ids -> last_hidden_state
    distilbert  DistilBertModel, distilbert-base-uncased config;
                input_ids, attention_mask -> last_hidden_state
    vit_s16     ViTModel, ViT-S/16 at 224; pixel_values ->
                last_hidden_state, pooler_output
    llama_kv    LlamaModel, SmolLM-135M widths (GQA 9/3 heads, RoPE,
                RMSNorm, SwiGLU) with 6 of its 30 layers: one new token
                after --seq - 1 cached ones; input_ids, attention_mask,
                position_ids, past_key_values.L.key/value -> last_hidden_state,
                present.L.key/value
"""
import sys

import torch
import transformers as tf

from torch_export import export, parse

MINILM = dict(vocab_size=30522, hidden_size=384, num_hidden_layers=6, num_attention_heads=12,
              intermediate_size=1536, max_position_embeddings=512, hidden_act="gelu")
VIT_S16 = dict(hidden_size=384, num_hidden_layers=12, num_attention_heads=6,
               intermediate_size=1536, image_size=224, patch_size=16)
# SmolLM-135M's widths; its 30 layers cut to 6 to keep the file ~200 MB
LLAMA = dict(vocab_size=49152, hidden_size=576, num_hidden_layers=6, num_attention_heads=9,
             num_key_value_heads=3, intermediate_size=1536, max_position_embeddings=2048,
             rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=True)


class Hidden(torch.nn.Module):
    """Positional inputs in, the model's tensors out (not a ModelOutput)."""

    def __init__(self, model, keys, outs):
        super().__init__()
        self.model, self.keys, self.outs = model, keys, outs

    def forward(self, *args):
        out = self.model(**dict(zip(self.keys, args)))
        return tuple(getattr(out, k) for k in self.outs)


class Decoder(torch.nn.Module):
    """One decoding step with the KV cache as flat tensors: the layout of
    Optimum's decoder exports (past_key_values.L.key in, present.L.key out)."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, ids, mask, pos, *past):
        layers = self.model.config.num_hidden_layers
        cache = tf.DynamicCache(config=self.model.config)
        for i in range(layers):
            cache.update(past[2 * i], past[2 * i + 1], i)
        out = self.model(input_ids=ids, attention_mask=mask, position_ids=pos,
                         past_key_values=cache, use_cache=True)
        present = []
        for layer in out.past_key_values.layers:
            present += [layer.keys, layer.values]
        return (out.last_hidden_state, *present)


def ids(seq, vocab):
    return torch.randint(0, vocab, (1, seq), dtype=torch.int64)


def main():
    archs = ("minilm", "distilbert", "vit_s16", "llama_kv")
    if len(sys.argv) < 2 or sys.argv[1] not in archs:
        sys.exit(f"usage: {sys.argv[0]} {'|'.join(archs)} OUT.onnx [--seq N] [--seed N] "
                 "[--dynamo]")
    arch = sys.argv.pop(1)
    a = parse(__doc__, seq=128)
    torch.manual_seed(a.seed)
    ones = torch.ones(1, a.seq, dtype=torch.int64)
    if arch == "minilm":
        model = tf.BertModel(tf.BertConfig(**MINILM), add_pooling_layer=False).eval()
        names = ["input_ids", "attention_mask", "token_type_ids"]
        args = (ids(a.seq, MINILM["vocab_size"]), ones, torch.zeros_like(ones))
        export(a, Hidden(model, names, ["last_hidden_state"]), args, names,
               ["last_hidden_state"])
    elif arch == "distilbert":
        model = tf.DistilBertModel(tf.DistilBertConfig()).eval()
        names = ["input_ids", "attention_mask"]
        export(a, Hidden(model, names, ["last_hidden_state"]), (ids(a.seq, 30522), ones), names,
               ["last_hidden_state"])
    elif arch == "vit_s16":
        model = tf.ViTModel(tf.ViTConfig(**VIT_S16)).eval()
        outs = ["last_hidden_state", "pooler_output"]
        export(a, Hidden(model, ["pixel_values"], outs), (torch.randn(1, 3, 224, 224),),
               ["pixel_values"], outs)
    else:
        cfg = tf.LlamaConfig(**LLAMA)
        model = tf.LlamaModel(cfg).eval()
        past_len = a.seq - 1
        kv = [1, cfg.num_key_value_heads, past_len, cfg.hidden_size // cfg.num_attention_heads]
        past, past_names, present_names = [], [], []
        for i in range(cfg.num_hidden_layers):
            for k in ("key", "value"):
                past.append(torch.randn(kv))
                past_names.append(f"past_key_values.{i}.{k}")
                present_names.append(f"present.{i}.{k}")
        args = (ids(1, cfg.vocab_size), torch.ones(1, a.seq, dtype=torch.int64),
                torch.tensor([[past_len]]), *past)
        names = ["input_ids", "attention_mask", "position_ids", *past_names]
        export(a, Decoder(model), args, names, ["last_hidden_state", *present_names])


if __name__ == "__main__":
    main()
