"""Export the shipped-architecture regression models with PyTorch.

usage: python export.py OUTDIR [NAME...]  (needs torch, onnxscript and
                                         transformers; the test suite does
                                         not: the .onnx files are committed
                                         next to this script)

Each model has the structure of a family that Python packages ship as
ONNX files, at a small width, with seeded random weights, written by the
exporter its users run (torch.onnx.export: the TorchScript exporter with
dynamic axes, which writes Shape -> Gather -> Concat chains, or the
torch.export-based one):

  yolo      YOLOv8-style detector: C2f blocks (Split/Concat), SPPF, nearest
            2x Resize + Concat neck, DFL box head (Softmax) + Sigmoid scores,
            reshapes computed from the input shape.
  dbnet     DB text detector: strided backbone, FPN with nearest Resize,
            ConvTranspose 2x2 head, Sigmoid probability map.
  crnn      CRNN text recogniser: conv stack, bidirectional LSTM x2,
            Linear, LogSoftmax per time step (CTC).
  vad       voice-activity model: If on the sample-rate input, conv front
            end, LSTM with state in and out, Sigmoid.
  gru       token classifier: Embedding, 2-layer GRU, Linear.
  loop      recurrence written as a Python loop in a scripted module
            (Loop with a trip count from the input shape, and a while loop
            with an early exit on the data).
  encoder   BERT-style sentence encoder from `transformers` (BertModel from
            a small config): token ids and attention mask with a symbolic
            sequence length, the exporter's mask-building index arithmetic.
  classifier  image classifier: strided convs, global average pool, Linear,
            with symbolic height and width.
  speech    wav2vec2-style speech encoder from `transformers` (Wav2Vec2Model,
            layer-norm feature extractor, grouped positional convolution
            whose last frame is sliced off) with a symbolic audio length.
  decoder   Llama-style decoder from `transformers` (RoPE, RMSNorm, causal
            attention built from the sequence length) with a symbolic
            token count.
"""
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F


def conv(cin, cout, k=3, s=1):
    return nn.Sequential(nn.Conv2d(cin, cout, k, s, k // 2, bias=False), nn.BatchNorm2d(cout),
                         nn.SiLU())


class Bottleneck(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.a, self.b = conv(c, c), conv(c, c)

    def forward(self, x):
        return x + self.b(self.a(x))


class C2f(nn.Module):
    def __init__(self, cin, cout, n=1):
        super().__init__()
        self.c = cout // 2
        self.cv1 = conv(cin, 2 * self.c, 1)
        self.cv2 = conv((2 + n) * self.c, cout, 1)
        self.m = nn.ModuleList(Bottleneck(self.c) for _ in range(n))

    def forward(self, x):
        y = list(self.cv1(x).split((self.c, self.c), 1))
        for m in self.m:
            y.append(m(y[-1]))
        return self.cv2(torch.cat(y, 1))


class SPPF(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.cv1, self.cv2 = conv(c, c // 2, 1), conv(2 * c, c, 1)
        self.pool = nn.MaxPool2d(5, 1, 2)

    def forward(self, x):
        x = self.cv1(x)
        y1 = self.pool(x)
        y2 = self.pool(y1)
        return self.cv2(torch.cat([x, y1, y2, self.pool(y2)], 1))


class Yolo(nn.Module):
    """Backbone to strides 8/16/32, PAN-lite neck, decoupled DFL head."""

    def __init__(self, nc=8, reg=16):
        super().__init__()
        self.nc, self.reg = nc, reg
        self.stem = nn.Sequential(conv(3, 8, 3, 2), conv(8, 16, 3, 2), C2f(16, 16))
        self.p3 = nn.Sequential(conv(16, 32, 3, 2), C2f(32, 32, 2))
        self.p4 = nn.Sequential(conv(32, 48, 3, 2), C2f(48, 48))
        self.p5 = nn.Sequential(conv(48, 64, 3, 2), C2f(64, 64), SPPF(64))
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.n4, self.n3 = C2f(64 + 48, 48), C2f(48 + 32, 32)
        self.box = nn.ModuleList(nn.Sequential(conv(c, 32), nn.Conv2d(32, 4 * reg, 1))
                                 for c in (32, 48, 64))
        self.cls = nn.ModuleList(nn.Sequential(conv(c, 32), nn.Conv2d(32, nc, 1))
                                 for c in (32, 48, 64))
        self.register_buffer("proj", torch.arange(reg, dtype=torch.float32))

    def forward(self, x):
        p3 = self.p3(self.stem(x))
        p4 = self.p4(p3)
        p5 = self.p5(p4)
        n4 = self.n4(torch.cat([self.up(p5), p4], 1))
        n3 = self.n3(torch.cat([self.up(n4), p3], 1))
        b = x.shape[0]
        outs = []
        for f, box, cls in zip((n3, n4, p5), self.box, self.cls):
            d = box(f).view(b, 4, self.reg, -1).softmax(2)
            d = (d * self.proj.view(1, 1, -1, 1)).sum(2)
            outs.append(torch.cat([d, cls(f).sigmoid().view(b, self.nc, -1)], 1))
        return torch.cat(outs, 2)


class DBNet(nn.Module):
    def __init__(self):
        super().__init__()
        chans = (16, 24, 32, 48)
        self.stem = nn.Sequential(conv(3, 16, 3, 2), conv(16, 16, 3, 2))
        self.stages = nn.ModuleList()
        cin = 16
        for i, c in enumerate(chans):
            self.stages.append(nn.Sequential(conv(cin, c, 3, 1 if i == 0 else 2), conv(c, c)))
            cin = c
        self.lat = nn.ModuleList(nn.Conv2d(c, 32, 1) for c in chans)
        self.smooth = nn.ModuleList(nn.Conv2d(32, 8, 3, padding=1) for _ in chans)
        self.head = nn.Sequential(
            nn.Conv2d(32, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
            nn.ConvTranspose2d(8, 8, 2, 2), nn.BatchNorm2d(8), nn.ReLU(),
            nn.ConvTranspose2d(8, 1, 2, 2), nn.Sigmoid())

    def forward(self, x):
        feats = []
        y = self.stem(x)
        for s in self.stages:
            y = s(y)
            feats.append(y)
        lat = [l(f) for l, f in zip(self.lat, feats)]
        for i in range(len(lat) - 1, 0, -1):
            lat[i - 1] = lat[i - 1] + F.interpolate(lat[i], size=lat[i - 1].shape[2:],
                                                    mode="nearest")
        size = lat[0].shape[2:]
        fused = torch.cat([F.interpolate(s(l), size=size, mode="nearest") if i else s(l)
                           for i, (s, l) in enumerate(zip(self.smooth, lat))], 1)
        return self.head(fused)


class CRNN(nn.Module):
    def __init__(self, classes=37):
        super().__init__()
        self.cnn = nn.Sequential(
            conv(3, 16), nn.MaxPool2d(2, 2), conv(16, 32), nn.MaxPool2d(2, 2),
            conv(32, 48), nn.MaxPool2d((2, 1), (2, 1)), conv(48, 64),
            nn.MaxPool2d((2, 1), (2, 1)), conv(64, 64), nn.MaxPool2d((2, 1), (2, 1)))
        self.rnn = nn.LSTM(64, 48, num_layers=2, bidirectional=True)
        self.fc = nn.Linear(96, classes)

    def forward(self, x):
        f = self.cnn(x).squeeze(2).permute(2, 0, 1)  # [T, N, C]
        y, _ = self.rnn(f)
        return self.fc(y).log_softmax(2)


class VADCore(nn.Module):
    def __init__(self):
        super().__init__()
        self.front16 = nn.Conv1d(1, 32, 8, 4, 2)
        self.front8 = nn.Conv1d(1, 32, 4, 4, 0)
        self.enc = nn.Sequential(nn.Conv1d(32, 32, 3, 2, 1), nn.ReLU(),
                                 nn.Conv1d(32, 48, 3, 2, 1), nn.ReLU())
        self.lstm = nn.LSTM(48, 48, batch_first=True)
        self.dec = nn.Conv1d(48, 1, 1)

    def forward(self, x, h, c, sr):
        a = x.unsqueeze(1)
        if bool(sr == 16000):
            f = self.front16(a)
        else:
            f = self.front8(a)
        f = self.enc(torch.relu(f)).transpose(1, 2)
        y, (h, c) = self.lstm(f, (h, c))
        p = torch.sigmoid(self.dec(y.transpose(1, 2))).mean(2)
        return p, h, c


class GRUTagger(nn.Module):
    def __init__(self, vocab=500, tags=9):
        super().__init__()
        self.emb = nn.Embedding(vocab, 32)
        self.gru = nn.GRU(32, 48, num_layers=2, batch_first=True)
        self.out = nn.Linear(48, tags)

    def forward(self, tokens):
        y, _ = self.gru(self.emb(tokens))
        return self.out(y)


class LoopModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(16, 16)

    def forward(self, x):
        h = torch.zeros(x.shape[1], 16)
        for i in range(x.shape[0]):
            h = torch.tanh(self.lin(h) + x[i])
        # a while loop that stops on the data: halve until small
        n = torch.zeros(1)
        while bool(h.abs().sum() > 1.0):
            h = h * 0.5
            n = n + 1
        return h, n


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        import transformers
        cfg = transformers.BertConfig(hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                                      intermediate_size=128, vocab_size=200,
                                      max_position_embeddings=128)
        self.bert = transformers.BertModel(cfg)

    def forward(self, ids, mask):
        return self.bert(input_ids=ids, attention_mask=mask).last_hidden_state


class LastHidden(nn.Module):
    """A `transformers` model's last_hidden_state for one input."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        return self.model(x).last_hidden_state


def speech():
    import transformers
    cfg = transformers.Wav2Vec2Config(
        hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128,
        conv_dim=(32, 32, 32), conv_stride=(5, 2, 2), conv_kernel=(10, 3, 3),
        num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=4, feat_extract_norm="layer",
        do_stable_layer_norm=True)
    return LastHidden(transformers.Wav2Vec2Model(cfg))


def decoder():
    import transformers
    cfg = transformers.LlamaConfig(hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                                   num_key_value_heads=4, intermediate_size=128, vocab_size=300,
                                   max_position_embeddings=128)
    return LastHidden(transformers.LlamaModel(cfg))


def classifier():
    return nn.Sequential(conv(3, 16, 3, 2), conv(16, 32, 3, 2), conv(32, 32, 3, 1),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 10))


def export(model, args, path, names, outs, opset, dynamic=None, dynamo=False, only=()):
    if only and os.path.basename(path)[:-5] not in only:
        return
    model.eval()
    kw = dict(input_names=names, output_names=outs, opset_version=opset)
    if dynamo:
        torch.onnx.export(model, args, path, dynamo=True, **kw)
    else:
        torch.onnx.export(model, args, path, dynamo=False, dynamic_axes=dynamic, **kw)
    print("wrote", path, os.path.getsize(path), "bytes")


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    only = set(sys.argv[2:])
    torch.manual_seed(0)
    for m in (Yolo(), DBNet(), CRNN()):  # non-trivial batch-norm statistics
        for mod in m.modules():
            if isinstance(mod, nn.BatchNorm2d):
                mod.running_mean.uniform_(-0.2, 0.2)
                mod.running_var.uniform_(0.5, 1.5)
        globals()[type(m).__name__ + "_inst"] = m
    with torch.no_grad():
        export(Yolo_inst, (torch.randn(1, 3, 320, 320),), f"{out}/yolo.onnx", ["images"],
               ["preds"], 17, {"images": {0: "batch", 2: "height", 3: "width"}}, only=only)
        export(DBNet_inst, (torch.randn(1, 3, 320, 320),), f"{out}/dbnet.onnx", ["x"],
               ["prob"], 13, {"x": {0: "n", 2: "h", 3: "w"}}, only=only)
        export(CRNN_inst, (torch.randn(1, 3, 32, 100),), f"{out}/crnn.onnx", ["x"],
               ["logp"], 11, {"x": {3: "width"}, "logp": {0: "steps"}}, only=only)
        vad = torch.jit.script(VADCore())
        export(vad, (torch.randn(1, 512), torch.zeros(1, 1, 48), torch.zeros(1, 1, 48),
                     torch.tensor(16000)), f"{out}/vad.onnx", ["audio", "h", "c", "sr"],
               ["prob", "hn", "cn"], 16, only=only)
        export(GRUTagger(), (torch.randint(0, 500, (1, 40)),), f"{out}/gru.onnx", ["tokens"],
               ["tags"], 18, dynamo=True, only=only)
        export(torch.jit.script(LoopModel()), (torch.randn(6, 2, 16),), f"{out}/loop.onnx",
               ["x"], ["h", "halvings"], 13, only=only)
        torch.manual_seed(1)
        export(Encoder(), (torch.randint(0, 200, (1, 16)), torch.ones(1, 16, dtype=torch.int64)),
               f"{out}/encoder.onnx", ["ids", "mask"], ["hidden"], 17,
               {"ids": {1: "tokens"}, "mask": {1: "tokens"}, "hidden": {1: "tokens"}}, only=only)
        export(classifier(), (torch.randn(1, 3, 64, 64),), f"{out}/classifier.onnx", ["image"],
               ["logits"], 17, {"image": {2: "height", 3: "width"}}, only=only)
        export(speech(), (torch.randn(1, 4000),), f"{out}/speech.onnx", ["audio"], ["hidden"], 17,
               {"audio": {1: "samples"}, "hidden": {1: "frames"}}, only=only)
        export(decoder(), (torch.randint(0, 300, (1, 16)),), f"{out}/decoder.onnx", ["ids"],
               ["hidden"], 17, {"ids": {1: "tokens"}, "hidden": {1: "tokens"}}, only=only)


if __name__ == "__main__":
    main()
