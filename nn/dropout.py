"""Dropout layers: Dropout, Dropout2d and DropConnect (active in training only).

>>> import nn
>>> from autograd_core import ones
>>> nn.Dropout(0.5).eval()(ones(3)).tolist()      # the identity in eval mode
[1.0, 1.0, 1.0]
"""

from nn import functional as F
from nn.linear import Linear, check_features
from nn.module import Module

__all__ = ["Dropout", "Dropout2d", "DropConnect"]


def _probability(p, layer: str) -> float:
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
        raise ValueError(
            f"{layer}: dropout probability has to be between 0 and 1, but got {p!r}"
        )
    return float(p)


class Dropout(Module):
    """Inverted dropout: in training, zero each element with probability ``p`` (PyTorch's
    meaning: the *drop* probability) and scale the rest by 1 / (1 - p); identity in eval.

    E[y] = x, so nothing changes between training and evaluation but the noise.
    """

    def __init__(self, p: float = 0.5, inplace: bool = False):
        super().__init__()
        self.p = _probability(p, type(self).__name__)
        self.inplace = inplace

    def forward(self, x):
        return F.dropout(x, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class Dropout2d(Dropout):
    """Drops whole channels of (N, C, H, W) feature maps (probability ``p`` each)."""

    def forward(self, x):
        return F.dropout2d(x, self.p, self.training)


class DropConnect(Linear):
    """A Linear layer whose *weights* are dropped in training (Wan et al., 2013).

    Training: y = x (W * M)^T + b with M_ij = 0 with probability ``p`` and 1 / (1 - p)
    otherwise, one mask per forward call shared by the batch; the bias is kept.
    Eval: every weight is used, y = x W^T + b (the inverted scaling makes that the
    expected training output). Parameters and init are Linear's.
    """

    def __init__(self, in_features: int, out_features: int, p: float = 0.5,
                 bias: bool = True, device=None, dtype=None):
        p = _probability(p, "DropConnect")
        super().__init__(in_features, out_features, bias=bias, device=device, dtype=dtype)
        self.p = p

    def forward(self, x):
        check_features(x, self.in_features, "DropConnect")
        return F.drop_connect(x, self.weight, self.bias, self.p, self.training)

    def extra_repr(self):
        return super().extra_repr() + f", p={self.p}"

