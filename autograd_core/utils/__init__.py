"""``torch.utils``: ``autograd_core.utils.data`` is ``nn.data`` (Dataset, DataLoader, ...).

>>> import autograd_core as torch
>>> torch.utils.data.DataLoader.__name__
'DataLoader'
"""

import importlib


def __getattr__(name):
    if name == "data":
        return importlib.import_module("nn.data")
    raise AttributeError(f"module 'autograd_core.utils' has no attribute {name!r}")
