"""nn: layers, losses and models on autograd_core, shaped like ``torch.nn``.

A PyTorch user's model code runs after changing the imports, and a PyTorch state
dict (converted to NumPy arrays, or as it is) loads with ``load_state_dict``.

>>> import nn
>>> import nn.functional as F
>>> from autograd_core import randn, manual_seed
>>> _ = manual_seed(0)
>>> model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
>>> loss = F.cross_entropy(model(randn(5, 4)), [0, 1, 2, 0, 1])
>>> loss.backward()
>>> model[0].weight.grad.shape
torch.Size([8, 4])

Contents: ``Module``, ``Parameter`` and the containers; layers (``Linear``, ``Conv2d``,
pooling, activations, ``Dropout``, normalisation, ``Maxout``, ``DropConnect``); losses;
``nn.functional``; ``nn.init``; ``nn.utils``; ``nn.save`` / ``nn.load``. The data,
model-zoo and training modules (``nn.data``, ``nn.datasets``, ``nn.transforms``,
``nn.models``, ``nn.training`` and its ``nn.fit``) are imported on first use.
"""

import importlib

from nn import functional, init, utils
from nn.activation import (
    CELU,
    ELU,
    GELU,
    GLU,
    SELU,
    Hardsigmoid,
    Hardswish,
    Hardtanh,
    LeakyReLU,
    LogSigmoid,
    LogSoftmax,
    Mish,
    PReLU,
    ReLU,
    ReLU6,
    Sigmoid,
    SiLU,
    Softmax,
    Softmin,
    Softplus,
    Softsign,
    Tanh,
)
from nn.attention import MultiheadAttention
from nn.containers import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential
from nn.conv import Conv1d, Conv2d, ConvTranspose2d
from nn.dropout import DropConnect, Dropout, Dropout2d
from nn.embedding import Embedding, EmbeddingBag
from nn.fold import Fold, Unfold
from nn.linear import Bilinear, Flatten, Identity, Linear, Maxout, Unflatten
from nn.loss import (
    BCELoss,
    BCEWithLogitsLoss,
    CosineEmbeddingLoss,
    CrossEntropyLoss,
    CTCLoss,
    FocalLoss,
    HuberLoss,
    KLDivLoss,
    L1Loss,
    MarginRankingLoss,
    MSELoss,
    NLLLoss,
    SmoothL1Loss,
    TripletMarginLoss,
)
from nn.module import IncompatibleKeys, Module, StateDictError
from nn.normalization import BatchNorm1d, BatchNorm2d, GroupNorm, InstanceNorm2d, LayerNorm
from nn.parameter import Parameter
from nn.pooling import (
    AdaptiveAvgPool1d,
    AdaptiveAvgPool2d,
    AdaptiveMaxPool1d,
    AdaptiveMaxPool2d,
    AvgPool1d,
    AvgPool2d,
    MaxPool1d,
    MaxPool2d,
    MaxUnpool2d,
)
from nn.rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNBase, RNNCell, RNNCellBase
from nn.serialization import SerializationError, load, save
from nn.stochastic import FractionalMaxPool2d, StochasticDepth
from nn.transformer import (
    TransformerDecoder,
    TransformerDecoderLayer,
    TransformerEncoder,
    TransformerEncoderLayer,
)
from nn.upsampling import PixelShuffle, PixelUnshuffle, Upsample

__all__ = [
    "Module", "Parameter", "Sequential", "ModuleList", "ModuleDict", "ParameterList",
    "ParameterDict", "Identity", "Flatten", "Unflatten", "Linear", "Conv1d", "Conv2d",
    "ConvTranspose2d", "MaxPool2d", "Upsample", "PixelShuffle", "PixelUnshuffle",
    "AvgPool2d", "AdaptiveAvgPool2d", "ReLU", "ReLU6", "LeakyReLU", "PReLU", "ELU", "SELU",
    "Sigmoid", "Tanh", "Softplus", "SiLU", "Hardtanh", "LogSigmoid", "Softmax", "LogSoftmax",
    "Maxout", "Dropout", "Dropout2d", "DropConnect", "BatchNorm1d", "BatchNorm2d",
    "LayerNorm", "InstanceNorm2d", "MSELoss", "L1Loss", "HuberLoss", "SmoothL1Loss",
    "CrossEntropyLoss", "NLLLoss", "BCELoss", "BCEWithLogitsLoss", "FocalLoss", "functional",
    "init", "utils", "save", "load", "SerializationError", "StateDictError",
    "IncompatibleKeys", "RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell",
    "GRUCell", "Embedding", "EmbeddingBag", "MultiheadAttention", "TransformerEncoderLayer",
    "TransformerEncoder", "TransformerDecoderLayer", "TransformerDecoder", "GroupNorm",
    "Bilinear", "GELU", "Mish", "Hardswish", "Hardsigmoid", "Softsign", "CELU", "GLU",
    "Softmin", "KLDivLoss", "CosineEmbeddingLoss", "MarginRankingLoss", "TripletMarginLoss",
    "StochasticDepth", "FractionalMaxPool2d", "CTCLoss", "MaxUnpool2d", "Fold", "Unfold",
    "MaxPool1d", "AvgPool1d", "AdaptiveAvgPool1d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d",
]

_LAZY_MODULES = ("data", "datasets", "transforms", "models", "training", "parallel")


def __getattr__(name):
    # Imported on first access: `import nn` stays light, and these modules may import nn.
    if name in _LAZY_MODULES:
        return importlib.import_module(f"nn.{name}")
    if name == "fit":
        return importlib.import_module("nn.training").fit
    raise AttributeError(f"module 'nn' has no attribute {name!r}")
