"""Convolutional networks written in torch from their published
definitions (random weights from torch's seeded generator), exported with
torch.onnx.export (TorchScript exporter, opset 17, BatchNorm folded).

usage: python torch_cnn.py ARCH OUT.onnx [--seed N] [--dynamo]

    byte_cnn         a byte-content classifier in the shape of Google's
                     Magika: 2,048 byte values (0-255, 256 = padding) ->
                     Embedding(257, 128), GELU (tanh form), groups of 4
                     bytes -> Conv1d(512, 256, 8), GELU, LayerNorm, global
                     max pool, Dense 256, GELU, LayerNorm, Dense 214, Softmax
    unet             U-Net segmenter, 1x3x256x256: 4 levels (32-256
                     channels) + a 512 bottleneck, double 3x3 conv + BN +
                     ReLU, 2x2 ConvTranspose up, skip Concat, 2 classes
    efficientnet_b0  torchvision efficientnet_b0: MBConv blocks with
                     squeeze-excitation, SiLU, 1x3x224x224 -> 1000 logits
    convnext_blocks  torchvision convnext_tiny's stem and first two stages
                     (3 + 3 blocks: 7x7 depthwise, LayerNorm, Linear 4x,
                     GELU, Linear, layer scale), 1x3x224x224 -> 1x192x28x28
"""
import math
import sys

import torch
from torch import nn
from torch.nn import functional as F

from torch_export import calibrate, export, parse


# ---- byte classifier ------------------------------------------------------
class ByteCNN(nn.Module):
    def __init__(self, nbytes=2048, emb=128, group=4, channels=256, kernel=8, classes=214):
        super().__init__()
        self.group = group
        self.embed = nn.Embedding(257, emb)
        self.conv = nn.Conv1d(emb * group, channels, kernel)
        self.norm1 = nn.LayerNorm(channels)
        self.dense = nn.Linear(channels, channels)
        self.norm2 = nn.LayerNorm(channels)
        self.head = nn.Linear(channels, classes)
        # a trained classifier is confident, its logits spread over units;
        # torch's default init gives near-uniform probabilities (~1/214)
        with torch.no_grad():
            self.head.weight.mul_(5.0)

    def forward(self, x):
        y = F.gelu(self.embed(x), approximate="tanh")            # [1, 2048, 128]
        y = y.reshape(y.shape[0], -1, y.shape[2] * self.group)   # [1, 512, 512]
        y = F.gelu(self.conv(y.transpose(1, 2)), approximate="tanh")
        y = self.norm1(y.transpose(1, 2)).amax(dim=1)            # [1, 256]
        y = self.norm2(F.gelu(self.dense(y), approximate="tanh"))
        return torch.softmax(self.head(y), dim=-1)


# ---- U-Net ----------------------------------------------------------------
def double_conv(cin, cout):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout),
                         nn.ReLU(inplace=True), nn.Conv2d(cout, cout, 3, padding=1, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class UNet(nn.Module):
    def __init__(self, widths=(32, 64, 128, 256, 512), classes=2):
        super().__init__()
        self.down = nn.ModuleList()
        cin = 3
        for w in widths:
            self.down.append(double_conv(cin, w))
            cin = w
        self.up = nn.ModuleList()
        self.fuse = nn.ModuleList()
        for w in reversed(widths[:-1]):
            self.up.append(nn.ConvTranspose2d(cin, w, 2, stride=2))
            self.fuse.append(double_conv(2 * w, w))
            cin = w
        self.head = nn.Conv2d(cin, classes, 1)

    def forward(self, x):
        skips = []
        for i, block in enumerate(self.down):
            x = block(x if i == 0 else F.max_pool2d(x, 2))
            skips.append(x)
        skips.pop()  # the bottleneck's own output
        for up, fuse in zip(self.up, self.fuse):
            x = fuse(torch.cat([skips.pop(), up(x)], dim=1))
        return self.head(x)


# ---- EfficientNet-B0 --------------------------------------------------------
def conv_bn(cin, cout, k, stride=1, groups=1, act=True):
    layers = [nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, groups=groups, bias=False),
              nn.BatchNorm2d(cout)]
    return nn.Sequential(*layers, nn.SiLU(inplace=True)) if act else nn.Sequential(*layers)


class SqueezeExcite(nn.Module):
    def __init__(self, channels, squeeze):
        super().__init__()
        self.fc1 = nn.Conv2d(channels, squeeze, 1)
        self.fc2 = nn.Conv2d(squeeze, channels, 1)

    def forward(self, x):
        s = F.adaptive_avg_pool2d(x, 1)
        return x * torch.sigmoid(self.fc2(F.silu(self.fc1(s))))


class MBConv(nn.Module):
    def __init__(self, expand, k, stride, cin, cout):
        super().__init__()
        mid = cin * expand
        layers = [conv_bn(cin, mid, 1)] if expand != 1 else []
        layers += [conv_bn(mid, mid, k, stride, groups=mid), SqueezeExcite(mid, max(1, cin // 4)),
                   conv_bn(mid, cout, 1, act=False)]
        self.block = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        y = self.block(x)
        return x + y if self.residual else y


class EfficientNetB0(nn.Module):
    # expand ratio, kernel, stride, in, out, repeats: torchvision's B0 table
    STAGES = [(1, 3, 1, 32, 16, 1), (6, 3, 2, 16, 24, 2), (6, 5, 2, 24, 40, 2),
              (6, 3, 2, 40, 80, 3), (6, 5, 1, 80, 112, 3), (6, 5, 2, 112, 192, 4),
              (6, 3, 1, 192, 320, 1)]

    def __init__(self, classes=1000):
        super().__init__()
        layers = [conv_bn(3, 32, 3, 2)]
        for e, k, s, cin, cout, n in self.STAGES:
            for i in range(n):
                layers.append(MBConv(e, k, s if i == 0 else 1, cin if i == 0 else cout, cout))
        layers.append(conv_bn(320, 1280, 1))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, classes))
        for m in self.modules():  # torchvision's initialisation
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                r = 1.0 / math.sqrt(m.out_features)
                nn.init.uniform_(m.weight, -r, r)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        x = F.adaptive_avg_pool2d(self.features(x), 1)
        return self.classifier(torch.flatten(x, 1))


# ---- ConvNeXt-T stem and stages 1-2 ----------------------------------------
class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of an NCHW map, as torchvision writes it."""

    def forward(self, x):
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class CNBlock(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, 7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.fc1 = nn.Linear(dim, 4 * dim)
        self.fc2 = nn.Linear(4 * dim, dim)
        # torchvision starts the layer scale at 1e-6, which would make each
        # untrained block an identity; trained ones are O(0.1-1)
        self.layer_scale = nn.Parameter(torch.empty(dim, 1, 1).uniform_(0.1, 1.0))

    def forward(self, x):
        y = self.norm(self.dwconv(x).permute(0, 2, 3, 1))
        y = self.fc2(F.gelu(self.fc1(y))).permute(0, 3, 1, 2)
        return x + self.layer_scale * y


class ConvNeXtBlocks(nn.Module):
    def __init__(self, dims=(96, 192), depths=(3, 3)):
        super().__init__()
        layers = [nn.Conv2d(3, dims[0], 4, stride=4), LayerNorm2d(dims[0], eps=1e-6)]
        for i, (dim, depth) in enumerate(zip(dims, depths)):
            if i > 0:
                layers += [LayerNorm2d(dims[i - 1], eps=1e-6),
                           nn.Conv2d(dims[i - 1], dim, 2, stride=2)]
            layers += [CNBlock(dim) for _ in range(depth)]
        self.features = nn.Sequential(*layers)

    def forward(self, x):
        return self.features(x)


def main():
    archs = ("byte_cnn", "unet", "efficientnet_b0", "convnext_blocks")
    if len(sys.argv) < 2 or sys.argv[1] not in archs:
        sys.exit(f"usage: {sys.argv[0]} {'|'.join(archs)} OUT.onnx [--seed N] [--dynamo]")
    arch = sys.argv.pop(1)
    a = parse(__doc__)
    torch.manual_seed(a.seed)
    if arch == "byte_cnn":
        export(a, ByteCNN(), (torch.randint(0, 257, (1, 2048)),), ["bytes"], ["probs"])
        return
    size = 256 if arch == "unet" else 224
    model = {"unet": UNet, "efficientnet_b0": EfficientNetB0,
             "convnext_blocks": ConvNeXtBlocks}[arch]()
    calibrate(model, torch.randn(4, 3, size, size))
    export(a, model, (torch.randn(1, 3, size, size),), ["input"], ["output"])


if __name__ == "__main__":
    main()
