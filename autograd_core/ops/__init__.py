"""The ops: forward/backward pairs (``Function`` subclasses) and their functional forms.

One module per family: ``elementwise``, ``reduce``, ``movement``, ``linalg``,
``activation``, ``normalization``, ``loss``, ``dropout``, ``conv``, ``pool``. Each op
is one class carrying its forward, backward, teaching formula and dtype rules; its
functional form, written once beside it, is registered (``_registry.public``) as
``autograd_core.<name>``, as the Tensor method and as NumPy's protocol target.

>>> from autograd_core import Tensor, cat
>>> cat([Tensor([1.0]), Tensor([2.0, 3.0])]).tolist()
[1.0, 2.0, 3.0]
"""

from autograd_core.ops import elementwise, linalg, movement, reduce  # isort: skip
from autograd_core.ops import activation, conv, dropout, loss, normalization, pool  # isort: skip
from autograd_core.ops import composite, conv_transpose, fold, indexing, sorting  # isort: skip
from autograd_core.ops._registry import FUNCTIONS, METHODS, NUMPY, OPS
from autograd_core.ops._shapes import unbroadcast

__all__ = ["FUNCTIONS", "METHODS", "NUMPY", "OPS", "unbroadcast", "elementwise", "linalg",
           "movement", "reduce"]


def __getattr__(name):
    # ``autograd_core.ops.relu`` and friends: the registered functional forms.
    if name in FUNCTIONS:
        return FUNCTIONS[name]
    raise AttributeError(f"module 'autograd_core.ops' has no attribute {name!r}")
