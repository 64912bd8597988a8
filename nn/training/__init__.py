"""The top layer: the training loop, its callbacks and metrics, and the CLI.

It sits above ``nn``, ``optim`` and ``autograd_core.viz``; nothing below imports it.

* ``loop``: ``fit``, ``evaluate``, ``predict``, ``History``;
* ``callbacks``: ``Callback``, ``EarlyStopping``, ``ModelCheckpoint``;
* ``metrics``: ``accuracy``;
* ``cli``: the ``autograd-train`` command (``make demo``).
"""

from nn.training.callbacks import Callback, EarlyStopping, ModelCheckpoint
from nn.training.loop import History, evaluate, fit, predict
from nn.training.metrics import accuracy

__all__ = ["fit", "evaluate", "predict", "History", "Callback", "EarlyStopping",
           "ModelCheckpoint", "accuracy"]
