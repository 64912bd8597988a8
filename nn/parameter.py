"""Parameter: a Tensor that a Module registers as a learnable weight.

Assigning a ``Parameter`` to a Module attribute registers it, so it shows up in
``parameters()``, ``named_parameters()`` and ``state_dict()``. It is an ordinary
:class:`autograd_core.Tensor` otherwise (ops on it return plain Tensors), with
``requires_grad=True`` by default.

>>> from nn import Parameter
>>> w = Parameter([1.0, 2.0])
>>> w.requires_grad, w.dtype
(True, dtype('float32'))
"""

import numpy as np

from autograd_core.tensor import Tensor, init_fields

__all__ = ["Parameter"]


class Parameter(Tensor):
    """A learnable tensor: ``Parameter(data=None, requires_grad=True)``.

    ``data`` follows the Tensor construction rules (Python floats and lists become
    float32, a float NumPy array keeps its dtype and is copied) except that a Tensor is
    shared, not copied, as ``torch.nn.Parameter(t)`` shares ``t``'s storage. Without
    ``data`` the parameter is an empty float32 tensor.

    ``name`` starts as None; a Module that registers the parameter names it after its
    attribute path (``"0.weight"``, ``"features.conv1.bias"``: see
    ``Module.__setattr__``), which is what graph drawings show.
    """

    __slots__ = ()

    def __init__(self, data=None, requires_grad=True, name=None):
        if data is None:
            data = np.empty((0,), dtype=np.float32)
        if isinstance(data, Tensor):
            init_fields(self, data._data)  # shares the array, as torch.nn.Parameter(t)
            self.name = name
            if requires_grad:
                self.requires_grad_(True)
        else:
            super().__init__(data, requires_grad=requires_grad, name=name)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    def __reduce_ex__(self, protocol):
        # copy.deepcopy(model) must give Parameters (not Tensors) with their own arrays.
        return (
            _rebuild_parameter,
            (self._data, self._requires_grad, self.name, self._grad),
        )


def _rebuild_parameter(data, requires_grad, name, grad):
    param = Parameter(Tensor._make(data), requires_grad=requires_grad, name=name)
    param._grad = grad
    return param
