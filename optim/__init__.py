"""optim: optimizers and learning-rate schedulers, mirroring ``torch.optim``.

The update rules are PyTorch's documented algorithms, so equal settings give equal
trajectories. Updates run in place on the parameters' NumPy arrays, in their dtype,
without recording a graph. ``optimizer.state[p]`` holds NumPy arrays (and ``step`` as
an int); ``state_dict()`` holds only arrays, numbers, strings, tuples and lists.

>>> from autograd_core import Tensor
>>> import optim
>>> w = Tensor([1.0, -2.0], requires_grad=True)
>>> opt = optim.Adam([w], lr=0.1)
>>> (w * w).sum().backward(); opt.step()
>>> [round(x, 4) for x in w.data.tolist()]   # Adam's first step moves each by lr
[0.9, -1.9]
"""

from optim import lr_scheduler
from optim.adadelta import Adadelta
from optim.adagrad import Adagrad
from optim.adam import Adam, AdamW
from optim.adamax import Adamax
from optim.lbfgs import LBFGS
from optim.nadam import NAdam
from optim.optimizer import Optimizer
from optim.radam import RAdam
from optim.rmsprop import RMSprop
from optim.sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax",
           "NAdam", "RAdam", "LBFGS", "lr_scheduler"]
