"""The end-to-end section's models, each written once against an ``nn`` namespace.

``build(nn)`` returns the same architecture from ``nn`` (ours) or ``torch.nn``: the
submodule names and parameter layouts match, so PyTorch's initial ``state_dict`` loads
into ours and both libraries start a step from identical weights.  Nothing here calls a
library function outside ``nn`` (the Transformer's causal mask is made by the caller),
so one definition really is the whole model for both.

>>> import nn
>>> net = resnet18_cifar(nn, width=4)
>>> sum(p.numel() for p in net.parameters()) > 0
True
"""

from __future__ import annotations

import numpy as np

__all__ = ["resnet18_cifar", "vgg_bn", "lenet5", "mlp", "lstm_lm", "transformer_lm",
           "causal_mask", "VOCAB"]

#: Character vocabulary of the language models (tiny-Shakespeare sized).
VOCAB = 65


def resnet18_cifar(nn, width: int = 64, classes: int = 10):
    """ResNet-18 for 32x32 inputs: 3x3 stem, no max-pool, BasicBlocks [2, 2, 2, 2].

    Widths ``w, 2w, 4w, 8w``; the first block of stages 2-4 has stride 2 and a 1x1
    stride-2 conv + BatchNorm shortcut; every conv is bias-free (a BatchNorm follows).
    """

    class BasicBlock(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.relu = nn.ReLU()
            self.shortcut = (nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False),
                                           nn.BatchNorm2d(cout))
                             if stride != 1 or cin != cout else nn.Identity())

        def forward(self, x):
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return self.relu(out + self.shortcut(x))

    class ResNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(3, width, 3, padding=1, bias=False),
                                      nn.BatchNorm2d(width), nn.ReLU())
            blocks, cin = [], width
            for stage, cout in enumerate((width, 2 * width, 4 * width, 8 * width)):
                for k in range(2):
                    blocks.append(BasicBlock(cin, cout, 2 if stage and not k else 1))
                    cin = cout
            self.layers = nn.Sequential(*blocks)
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.flatten = nn.Flatten()
            self.fc = nn.Linear(cin, classes)

        def forward(self, x):
            return self.fc(self.flatten(self.pool(self.layers(self.stem(x)))))

    return ResNet()


def vgg_bn(nn, classes: int = 10, size: int = 32):
    """VGG-style with BatchNorm: 32-32-M-64-64-M-128-M (3x3 convs), then Linear.

    Each conv is bias-free and followed by BatchNorm2d and ReLU; ``size`` is the input's
    height and width (the head sees ``128 * (size // 8)**2`` features).
    """
    layers, cin = [], 3
    for spec in (32, 32, "M", 64, 64, "M", 128, "M"):
        if spec == "M":
            layers.append(nn.MaxPool2d(2))
        else:
            layers += [nn.Conv2d(cin, spec, 3, padding=1, bias=False), nn.BatchNorm2d(spec),
                       nn.ReLU()]
            cin = spec
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(128 * (size // 8) ** 2, classes))


def lenet5(nn, classes: int = 10):
    """LeNet-5 on 1x28x28: conv 6 5x5 (pad 2), pool, conv 16 5x5, pool, 400-120-84-10."""
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, classes),
    )


def mlp(nn, sizes=(3072, 1024, 1024, 10)):
    """Flatten, then Linear layers of ``sizes`` with ReLU between them."""
    layers = [nn.Flatten()]
    for k, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if k < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def lstm_lm(nn, hidden: int = 128, vocab: int = VOCAB):
    """Character LM: Embedding(vocab, hidden) -> 1-layer LSTM -> Linear to the vocabulary.

    Input (batch, seq) of indices; output (batch * seq, vocab) logits, so the loss is a
    plain ``CrossEntropyLoss`` against the flattened next-character targets.
    """

    class LSTMLM(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(vocab, hidden)
            self.lstm = nn.LSTM(hidden, hidden, num_layers=1, batch_first=True)
            self.head = nn.Linear(hidden, vocab)

        def forward(self, idx):
            out, _ = self.lstm(self.embed(idx))
            return self.head(out.reshape(-1, hidden))

    return LSTMLM()


def transformer_lm(nn, mask, *, d_model: int = 64, heads: int = 4, layers: int = 2,
                   ff: int = 128, seq: int = 64, vocab: int = VOCAB):
    """Character LM: token + learned position embeddings, a causal post-norm encoder
    (``d_model`` 64, 4 heads, 2 layers, feed-forward 128, ReLU, no dropout), Linear head.

    ``mask`` is the (seq, seq) float causal mask as a tensor of the same library
    (:func:`causal_mask` gives its values).  Positions are rows of ``pos.weight``
    sliced to the sequence length, so no library call beyond ``nn`` is needed.
    """

    class TransformerLM(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(vocab, d_model)
            self.pos = nn.Embedding(seq, d_model)
            layer = nn.TransformerEncoderLayer(d_model, heads, dim_feedforward=ff,
                                               dropout=0.0, batch_first=True)
            self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
            self.head = nn.Linear(d_model, vocab)
            self.mask = mask

        def forward(self, idx):
            t = idx.shape[1]
            h = self.embed(idx) + self.pos.weight[:t]
            h = self.encoder(h, mask=self.mask, is_causal=True)
            return self.head(h.reshape(-1, d_model))

    return TransformerLM()


def causal_mask(seq: int) -> np.ndarray:
    """The float32 (seq, seq) additive causal mask: 0 on and below the diagonal, -inf above."""
    return np.triu(np.full((seq, seq), -np.inf, dtype=np.float32), 1)
