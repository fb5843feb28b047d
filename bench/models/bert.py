"""BERT-base (uncased) encoder as Hugging Face's BertModel defines it and
torch.onnx.export emits it: Gather embeddings, LayerNormalization (opset
17), 12 layers of MatMul+Add projections, Reshape/Transpose into 12 heads
of 64, MatMul / Div sqrt(64) + mask, Softmax, Gelu in its Erf form, and the
pooler (Gather of the first token, Gemm, Tanh). Inputs input_ids,
attention_mask and token_type_ids, int64 [1, 128]. 109,482,240 parameters.

Static (default): every Reshape takes a constant shape initializer, as a
fixed-shape export folds it. dynamic=True: batch and sequence are symbolic
and the shapes come from Shape -> Gather -> Unsqueeze -> Concat subgraphs,
as a dynamic-axes export writes them.
"""
import numpy as np

from build import FLOAT, INT64, Graph

NAME = "bert_base"
OPSET = 17  # LayerNormalization
VOCAB, MAX_POS, TYPES = 30522, 512, 2
HIDDEN, HEADS, LAYERS, FFN = 768, 12, 12, 3072
HEAD = HIDDEN // HEADS
SEQ = 128


class Bert:
    def __init__(self, seed, dynamic):
        self.g = Graph(seed)
        self.dynamic = dynamic

    def linear(self, x, scope, prefix, cin, cout):
        """nn.Linear on a 3-D tensor: MatMul by the transposed weight, then
        Add of the bias. Std 1/sqrt(fan_in) keeps outputs O(1)."""
        g = self.g
        w = g.normal(f"{prefix}.weight", [cin, cout], 1.0 / np.sqrt(cin))
        b = g.normal(f"{prefix}.bias", [cout], 0.02)
        return g.node("Add", [g.node("MatMul", [x, w], scope), b], scope)

    def layernorm(self, x, scope, prefix, out=None):
        g = self.g
        w = g.normal(f"{prefix}.weight", [HIDDEN], 0.05, mean=1.0)
        b = g.normal(f"{prefix}.bias", [HIDDEN], 0.02)
        return g.node("LayerNormalization", [x, w, b], scope, out=out,
                      axis=-1, epsilon=1e-12)

    def shape(self, x, scope, tail):
        """The shape [batch, seq, *tail] of a Reshape that keeps x's first
        two dims: a constant, or computed from x at run time."""
        g = self.g
        if not self.dynamic:
            return g.const([1, SEQ, *tail], np.int64)
        s = g.node("Shape", [x], scope)
        parts = []
        for axis in (0, 1):
            d = g.node("Gather", [s, g.const(axis, np.int64)], scope, axis=0)
            parts.append(g.node("Unsqueeze", [d, g.const([0], np.int64)], scope))
        parts += [g.const([t], np.int64) for t in tail]
        return g.node("Concat", parts, scope, axis=0)

    def heads(self, x, scope, perm):
        """transpose_for_scores: [B, S, 768] -> [B, 12, S, 64] (or, for the
        keys, straight to [B, 12, 64, S] as the exporter merges the two
        transposes)."""
        y = self.g.node("Reshape", [x, self.shape(x, scope, [HEADS, HEAD])], scope)
        return self.g.node("Transpose", [y], scope, perm=perm)

    def embeddings(self, ids, types):
        g, s, p = self.g, "/embeddings", "embeddings"
        word = g.normal(f"{p}.word_embeddings.weight", [VOCAB, HIDDEN], 0.05)
        pos = g.normal(f"{p}.position_embeddings.weight", [MAX_POS, HIDDEN], 0.05)
        typ = g.normal(f"{p}.token_type_embeddings.weight", [TYPES, HIDDEN], 0.05)
        if self.dynamic:
            # position_ids[:, :seq] sliced from the registered buffer
            buf = g.init(f"{p}.position_ids", np.arange(MAX_POS, dtype=np.int64)[None])
            n = g.node("Gather", [g.node("Shape", [ids], s), g.const(1, np.int64)],
                       s, axis=0)
            n = g.node("Unsqueeze", [n, g.const([0], np.int64)], s)
            pos_ids = g.node("Slice", [buf, g.const([0], np.int64), n,
                                       g.const([1], np.int64)], s)
        else:
            pos_ids = g.const(np.arange(SEQ)[None], np.int64)
        e = g.node("Add", [g.node("Gather", [word, ids], s),
                           g.node("Gather", [typ, types], s)], s)
        e = g.node("Add", [e, g.node("Gather", [pos, pos_ids], s)], s)
        return self.layernorm(e, f"{s}/LayerNorm", f"{p}.LayerNorm")

    def extended_mask(self, mask):
        """(1 - mask[:, None, None, :]) * -10000, added to every score."""
        g, s = self.g, ""
        m = g.node("Unsqueeze", [mask, g.const([1], np.int64)], s)
        m = g.node("Unsqueeze", [m, g.const([2], np.int64)], s)
        m = g.node("Cast", [m], s, to=FLOAT)
        m = g.node("Sub", [g.const(1.0), m], s)
        return g.node("Mul", [m, g.const(-10000.0)], s)

    def layer(self, h, i, mask, out=None):
        g = self.g
        s, p = f"/encoder/layer.{i}", f"encoder.layer.{i}"
        a, ap = f"{s}/attention/self", f"{p}.attention.self"
        q = self.heads(self.linear(h, f"{a}/query", f"{ap}.query", HIDDEN, HIDDEN),
                       a, [0, 2, 1, 3])
        k = self.heads(self.linear(h, f"{a}/key", f"{ap}.key", HIDDEN, HIDDEN),
                       a, [0, 2, 3, 1])
        v = self.heads(self.linear(h, f"{a}/value", f"{ap}.value", HIDDEN, HIDDEN),
                       a, [0, 2, 1, 3])
        scores = g.node("Div", [g.node("MatMul", [q, k], a),
                                g.const(np.sqrt(HEAD))], a)
        probs = g.node("Softmax", [g.node("Add", [scores, mask], a)], a, axis=-1)
        ctx = g.node("Transpose", [g.node("MatMul", [probs, v], a)], a,
                     perm=[0, 2, 1, 3])
        ctx = g.node("Reshape", [ctx, self.shape(ctx, a, [HIDDEN])], a)

        o, op = f"{s}/attention/output", f"{p}.attention.output"
        y = self.linear(ctx, f"{o}/dense", f"{op}.dense", HIDDEN, HIDDEN)
        h = self.layernorm(g.node("Add", [y, h], o), f"{o}/LayerNorm", f"{op}.LayerNorm")

        it = f"{s}/intermediate"
        y = self.linear(h, f"{it}/dense", f"{p}.intermediate.dense", HIDDEN, FFN)
        # exact GELU: x * 0.5 * (1 + erf(x / sqrt(2))), as exporters spell it
        e = g.node("Erf", [g.node("Div", [y, g.const(np.sqrt(2.0))], it)], it)
        y = g.node("Mul", [g.node("Mul", [y, g.node("Add", [e, g.const(1.0)], it)], it),
                           g.const(0.5)], it)

        o = f"{s}/output"
        y = self.linear(y, f"{o}/dense", f"{p}.output.dense", FFN, HIDDEN)
        return self.layernorm(g.node("Add", [y, h], o), f"{o}/LayerNorm",
                              f"{p}.output.LayerNorm", out=out)

    def build(self):
        g = self.g
        dims = ["batch_size", "sequence_length"] if self.dynamic else [1, SEQ]
        ids = g.input("input_ids", INT64, dims)
        mask = g.input("attention_mask", INT64, dims)
        types = g.input("token_type_ids", INT64, dims)
        h = self.embeddings(ids, types)
        ext = self.extended_mask(mask)
        for i in range(LAYERS):
            h = self.layer(h, i, ext, out="last_hidden_state" if i == LAYERS - 1 else None)
        # pooler: dense + tanh on the first token
        first = g.node("Gather", [h, g.const(0, np.int64)], "/pooler", axis=1)
        pooled = g.gemm(first, "/pooler/dense", "pooler.dense", HIDDEN, HIDDEN)
        g.node("Tanh", [pooled], "/pooler/activation", out="pooler_output")
        g.output("last_hidden_state", FLOAT, [*dims, HIDDEN])
        g.output("pooler_output", FLOAT, [dims[0], HIDDEN])
        return g.model(NAME, OPSET), g.params


def build(seed, dynamic=False):
    return Bert(seed, dynamic).build()


def example(rng):
    """Random token ids, the last quarter of the sequence padded (mask 0),
    a sentence pair (token types 0, then 1 up to the padding)."""
    ids = rng.integers(0, VOCAB, size=[1, SEQ], dtype=np.int64)
    mask = np.ones([1, SEQ], np.int64)
    mask[:, SEQ * 3 // 4:] = 0
    types = np.zeros([1, SEQ], np.int64)
    types[:, SEQ // 2:SEQ * 3 // 4] = 1
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
