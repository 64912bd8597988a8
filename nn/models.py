"""The model zoo: MLP, LeNet-5, a small VGG, an Inception block, ResNet blocks.

Every model is an ordinary ``nn.Module`` built from the layers of this package (so its
state dict has PyTorch's keys for the same architecture), and its docstring gives its
parameter count, which the tests check with :func:`count_parameters`.

>>> from nn.models import LeNet5, count_parameters
>>> count_parameters(LeNet5(input_size=32))     # the classic 61,706
61706
"""

from collections.abc import Sequence

import numpy as np

import nn
from autograd_core.ops.movement import cat
from autograd_core.tensor import Tensor

__all__ = ["MLP", "LeNet5", "SmallVGG", "InceptionBlock", "BasicBlock", "ResNet",
           "CharLSTM", "CharTransformer",
           "count_parameters", "conv_parameters"]

_ACTIVATIONS = {
    "relu": lambda: nn.ReLU(),
    "tanh": lambda: nn.Tanh(),
    "sigmoid": lambda: nn.Sigmoid(),
    "leaky_relu": lambda: nn.LeakyReLU(),
    "elu": lambda: nn.ELU(),
    "selu": lambda: nn.SELU(),
    "softplus": lambda: nn.Softplus(),
}


def _activation(spec):
    """A fresh activation module from a name, a module class or a factory."""
    if isinstance(spec, str):
        if spec not in _ACTIVATIONS:
            raise ValueError(f"unknown activation {spec!r}; choose one of {sorted(_ACTIVATIONS)}")
        return _ACTIVATIONS[spec]()
    if isinstance(spec, type) and issubclass(spec, nn.Module):
        return spec()
    if callable(spec):
        module = spec()
        if not isinstance(module, nn.Module):
            raise TypeError(f"the activation factory returned {type(module).__name__}, "
                            "not an nn.Module")
        return module
    raise TypeError(f"activation must be a name, a Module class or a factory, got {spec!r}")


def count_parameters(model, trainable_only=False) -> int:
    """The number of scalar parameters (only those requiring grad if asked)."""
    return sum(p.numel() for p in model.parameters()
               if p.requires_grad or not trainable_only)


def conv_parameters(in_channels, out_channels, kernel_size, bias=True) -> int:
    """Parameters of a conv layer: out * in * k * k weights (+ out biases).

    The slides' example: a 5x5 conv from 192 to 32 channels has 192*32*25 + 32 = 153,632;
    reducing to 32 channels with a 1x1 conv first costs 192*32 + 32 = 6,176 and then the
    5x5 conv 32*32*25 + 32 = 25,632, together 31,808.
    """
    return out_channels * in_channels * kernel_size * kernel_size + (out_channels if bias else 0)


class MLP(nn.Module):
    """A multi-layer perceptron: Linear layers of ``sizes`` with ``activation`` between.

    ``MLP([64, 128, 10])`` is Flatten -> Linear(64, 128) -> ReLU -> Linear(128, 10), with
    64*128 + 128 + 128*10 + 10 = 9,610 parameters. Inputs of any shape (N, ...) are
    flattened first. ``dropout`` > 0 adds Dropout after each hidden activation and
    ``batch_norm=True`` a BatchNorm1d before it.
    """

    def __init__(self, sizes: Sequence[int], activation="relu", dropout=0.0, batch_norm=False):
        super().__init__()
        sizes = list(sizes)
        if len(sizes) < 2 or any(int(s) < 1 for s in sizes):
            raise ValueError(f"MLP: sizes needs at least an input and an output size, all "
                             f"positive; got {sizes}")
        layers = [nn.Flatten()]
        for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(nn.Linear(fan_in, fan_out))
            if i < len(sizes) - 2:
                if batch_norm:
                    layers.append(nn.BatchNorm1d(fan_out))
                layers.append(_activation(activation))
                if dropout > 0:
                    layers.append(nn.Dropout(dropout))
        self.layers = nn.Sequential(*layers)

    def forward(self, x):
        return self.layers(x)


class LeNet5(nn.Module):
    """LeNet-5 (LeCun et al., 1998) with ReLU and max pooling, for any small input size.

    conv 5x5 (6) -> pool 2 -> conv 5x5 (16) -> pool 2 -> Linear 120 -> Linear 84 -> Linear.
    On 32x32 inputs the convs are unpadded: 61,706 parameters, the classic count. On
    28x28 (MNIST) the first conv pads by 2 so the feature maps are as on 32x32 (also
    61,706). On 8x8 digits both convs pad by 2: maps 8 -> 4 -> 4 -> 2, so the first
    Linear sees 16*2*2 = 64 features: 156 + 2,416 + 7,800 + 10,164 + 850 = 21,386.
    """

    def __init__(self, in_channels=1, num_classes=10, input_size=28, activation="relu"):
        super().__init__()
        if input_size >= 32:
            pads = (0, 0)
        elif input_size >= 20:
            pads = (2, 0)
        elif input_size >= 4:
            pads = (2, 2)
        else:
            raise ValueError(f"LeNet5: input_size must be at least 4, got {input_size}")
        size = input_size + 2 * pads[0] - 4  # conv 5x5
        size //= 2  # pool
        size = size + 2 * pads[1] - 4
        size //= 2
        if size < 1:
            raise ValueError(f"LeNet5: input_size {input_size} leaves no features to classify")
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 6, 5, padding=pads[0]), _activation(activation),
            nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5, padding=pads[1]), _activation(activation), nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(16 * size * size, 120), _activation(activation),
            nn.Linear(120, 84), _activation(activation),
            nn.Linear(84, num_classes),
        )

    def forward(self, x):
        return self.classifier(self.features(x))


class SmallVGG(nn.Module):
    """A VGG-style net: stages of stacked 3x3 convs, each stage closed by a 2x2 max pool.

    Two stacked 3x3 convs see a 5x5 window and three see 7x7, with fewer parameters
    than one big kernel (3 * 9 C^2 = 27 C^2 against 49 C^2). Defaults for 8x8 digits:
    ``SmallVGG()`` is [conv 1->32, conv 32->32, pool, conv 32->64, conv 64->64, pool],
    then Linear(64*2*2, 10): 320 + 9,248 + 18,496 + 36,928 + 2,570 = 67,562 parameters.
    """

    def __init__(self, in_channels=1, num_classes=10, widths=(32, 64), convs_per_stage=2,
                 input_size=8, batch_norm=False):
        super().__init__()
        layers = []
        channels = in_channels
        size = input_size
        for width in widths:
            for _ in range(convs_per_stage):
                layers.append(nn.Conv2d(channels, width, 3, padding=1, bias=not batch_norm))
                if batch_norm:
                    layers.append(nn.BatchNorm2d(width))
                layers.append(nn.ReLU())
                channels = width
            layers.append(nn.MaxPool2d(2))
            size //= 2
        if size < 1:
            raise ValueError(f"SmallVGG: {len(widths)} pooling stages need inputs of at least "
                             f"{2 ** len(widths)} pixels, got {input_size}")
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(channels * size * size,
                                                                num_classes))

    def forward(self, x):
        return self.classifier(self.features(x))


class InceptionBlock(nn.Module):
    """GoogLeNet's Inception module: four branches side by side, concatenated.

    1x1 conv | 1x1 reduce -> 3x3 conv | 1x1 reduce -> 5x5 conv | 3x3 max pool -> 1x1 conv.
    The 1x1 reductions make the big kernels cheap: a 5x5 conv from 192 to 32 channels
    has 153,632 parameters, but reducing to 32 channels first costs 31,808 in all (see
    :func:`conv_parameters`). The output has ch1x1 + ch3x3 + ch5x5 + pool_proj channels
    and the input's spatial size. GoogLeNet's block 3a is
    ``InceptionBlock(192, 64, 96, 128, 16, 32, 32)`` with 163,696 parameters.
    """

    def __init__(self, in_channels, ch1x1, ch3x3_reduce, ch3x3, ch5x5_reduce, ch5x5, pool_proj):
        super().__init__()
        self.branch1 = nn.Sequential(nn.Conv2d(in_channels, ch1x1, 1), nn.ReLU())
        self.branch2 = nn.Sequential(
            nn.Conv2d(in_channels, ch3x3_reduce, 1), nn.ReLU(),
            nn.Conv2d(ch3x3_reduce, ch3x3, 3, padding=1), nn.ReLU(),
        )
        self.branch3 = nn.Sequential(
            nn.Conv2d(in_channels, ch5x5_reduce, 1), nn.ReLU(),
            nn.Conv2d(ch5x5_reduce, ch5x5, 5, padding=2), nn.ReLU(),
        )
        self.branch4 = nn.Sequential(
            nn.MaxPool2d(3, stride=1, padding=1),
            nn.Conv2d(in_channels, pool_proj, 1), nn.ReLU(),
        )
        self.out_channels = ch1x1 + ch3x3 + ch5x5 + pool_proj

    def forward(self, x):
        return cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], dim=1)


class BasicBlock(nn.Module):
    """ResNet's basic block: y = relu(F(x) + shortcut(x)), F = conv-bn-relu-conv-bn.

    The identity shortcut lets the gradient reach early layers unchanged
    (dL/dx = dL/dy (dF/dx + 1)); when the stride or width changes, the shortcut is a
    1x1 conv + batch norm. ``residual=False`` drops the shortcut: the "plain" twin used
    to show why deep plain stacks train worse.
    """

    def __init__(self, in_channels, out_channels, stride=1, residual=True):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.residual = residual
        if residual and (stride != 1 or in_channels != out_channels):
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )
        else:
            self.shortcut = None

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.residual:
            out = out + (x if self.shortcut is None else self.shortcut(x))
        return self.relu(out)


class ResNet(nn.Module):
    """A small ResNet for 8x8, 28x28 or 32x32 inputs (global average pooling at the end).

    stem conv 3x3 (widths[0]) -> stages of ``blocks`` BasicBlocks (the first block of each
    later stage halves the size) -> global average pool -> Linear. ``ResNet()`` for
    digits is blocks (1, 1, 1), widths (16, 32, 64): 77,754 parameters (stem 176,
    blocks 4,672 + 14,528 + 57,728, head 650).
    ``residual=False`` builds the plain twin.
    """

    def __init__(self, in_channels=1, num_classes=10, blocks=(1, 1, 1), widths=(16, 32, 64),
                 residual=True):
        super().__init__()
        if len(blocks) != len(widths) or not blocks:
            raise ValueError(f"ResNet: blocks {blocks} and widths {widths} need the same, "
                             "non-zero length")
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, widths[0], 3, padding=1, bias=False),
            nn.BatchNorm2d(widths[0]), nn.ReLU(),
        )
        stages = []
        channels = widths[0]
        for i, (count, width) in enumerate(zip(blocks, widths)):
            for j in range(count):
                stride = 2 if i > 0 and j == 0 else 1
                stages.append(BasicBlock(channels, width, stride, residual=residual))
                channels = width
        self.stages = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(channels, num_classes)

    def forward(self, x):
        return self.fc(self.flatten(self.pool(self.stages(self.stem(x)))))


class CharLSTM(nn.Module):
    """A character-level language model: Embedding, LSTM, Linear to the vocabulary.

    Input (N, T) character ids; output (N, V, T) logits (classes on dim 1, as
    ``nn.CrossEntropyLoss`` takes them), one next-character distribution per position.

    >>> import autograd_core as ag
    >>> CharLSTM(10)(ag.tensor([[1, 2, 3]])).shape
    torch.Size([1, 10, 3])
    """

    def __init__(self, vocab, dim=32, hidden=128, num_layers=1):
        super().__init__()
        self.emb = nn.Embedding(vocab, dim)
        self.rnn = nn.LSTM(dim, hidden, num_layers=num_layers, batch_first=True)
        self.out = nn.Linear(hidden, vocab)

    def forward(self, x):
        y, _ = self.rnn(self.emb(x))
        return self.out(y).permute(0, 2, 1)


class CharTransformer(nn.Module):
    """A small causal Transformer language model (pre-norm encoder layers, learned
    positions). Input (N, T) ids with T <= ``context``; output (N, V, T) logits.

    >>> import autograd_core as ag
    >>> CharTransformer(10, context=8)(ag.tensor([[1, 2, 3]])).shape
    torch.Size([1, 10, 3])
    """

    def __init__(self, vocab, dim=64, heads=4, layers=2, context=64):
        super().__init__()
        self.context = context
        self.emb = nn.Embedding(vocab, dim)
        self.pos = nn.Embedding(context, dim)
        layer = nn.TransformerEncoderLayer(dim, heads, dim_feedforward=4 * dim, dropout=0.0,
                                           activation="gelu", batch_first=True,
                                           norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, norm=nn.LayerNorm(dim))
        self.out = nn.Linear(dim, vocab)

    def forward(self, x):
        t = x.shape[1]
        if t > self.context:
            raise ValueError(f"CharTransformer: sequence length {t} exceeds its context "
                             f"{self.context}")
        h = self.emb(x) + self.pos(Tensor(np.arange(t)))
        mask = nn.transformer.generate_square_subsequent_mask(t)
        h = self.encoder(h, mask=mask, is_causal=True)
        return self.out(h).permute(0, 2, 1)
