"""``torch.save`` / ``torch.load``: tensors, state dicts, optimizer states and nested
dicts/lists of them, in ``nn.save``'s npz format (never pickle).

A dict is saved as ``nn.save`` saves it; any other object (a tensor, a list) is wrapped
as ``{"__object__": obj}`` and unwrapped again by :func:`load`.

>>> import os, tempfile, autograd_core as torch
>>> path = os.path.join(tempfile.mkdtemp(), "t.pt")
>>> torch.save(torch.tensor([1.0, 2.0]), path)
>>> torch.load(path).tolist()
[1.0, 2.0]
"""

import os

__all__ = ["save", "load"]

_WRAPPED = "__object__"


def _path(f, op):
    if not isinstance(f, (str, os.PathLike)):
        raise TypeError(f"{op}: give a file path (str or os.PathLike), got "
                        f"{type(f).__name__}; file objects are not supported")
    return os.fspath(f)


def save(obj, f, **unused) -> None:
    """Write ``obj`` to the path ``f`` (npz; ``pickle_protocol`` and friends are
    accepted and ignored: nothing is pickled)."""
    from nn.serialization import save as nn_save

    path = _path(f, "save")
    if isinstance(obj, dict) and _WRAPPED not in obj:
        nn_save(obj, path)
    else:
        nn_save({_WRAPPED: obj}, path)


def load(f, map_location=None, weights_only=True, **unused):
    """Read what :func:`save` wrote. ``map_location`` may only name the CPU;
    ``weights_only`` is always true here (npz holds no code)."""
    from autograd_core.device import check_device
    from nn.serialization import load as nn_load

    if map_location is not None and not callable(map_location) and not isinstance(
            map_location, dict):
        check_device(map_location)
    result = nn_load(_path(f, "load"))
    if list(result.keys()) == [_WRAPPED]:
        return result[_WRAPPED]
    return result
