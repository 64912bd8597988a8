"""save / load of state dicts as NumPy ``.npz`` files, never pickle.

The file is a zip archive with one ``<key>.npy`` member per entry, in the state dict's
order, exactly what ``np.savez`` writes (so ``np.load`` reads it, and files written by
``np.savez(path, **arrays)`` load here). Loading reads every member with
``allow_pickle=False``: a file holding pickled objects, a truncated or non-zip file
raises a :class:`SerializationError` naming the problem, and no code in the file is
ever executed. The round trip is exact: keys and their order, dtypes, shapes, and 0-d
values such as ``num_batches_tracked``.

>>> import os, tempfile, nn
>>> path = os.path.join(tempfile.mkdtemp(), "model.npz")
>>> model = nn.Linear(2, 1)
>>> nn.save(model.state_dict(), path)
>>> _ = model.load_state_dict(nn.load(path))
"""

import io
import os
import tempfile
import zipfile
from collections import OrderedDict

import numpy as np

from autograd_core.tensor import Tensor

__all__ = ["save", "load", "SerializationError"]

_SUFFIX = ".npy"


class SerializationError(ValueError):
    """A file that is not a state dict written by ``nn.save`` (or by ``np.savez``)."""


def _to_array(key, value) -> np.ndarray:
    if isinstance(value, Tensor):
        array = value._data
    elif isinstance(value, np.ndarray):
        array = value
    elif isinstance(value, (bool, int, float, np.generic)):
        array = np.asarray(value)
    elif hasattr(value, "detach") and hasattr(value, "numpy"):  # a torch.Tensor
        array = value.detach().cpu().numpy()
    else:
        raise TypeError(
            f"save: the value for {key!r} is a {type(value).__name__}; only Tensors, NumPy "
            "arrays and numbers can be saved (files never hold pickled objects)"
        )
    if array.dtype.kind not in "biufc":
        raise TypeError(
            f"save: the value for {key!r} has dtype {array.dtype}, which cannot be saved "
            "without pickle"
        )
    return array


def save(state_dict, path) -> None:
    """Write a mapping of string keys to Tensors/arrays/numbers to ``path`` (.npz).

    The file is written next to ``path`` and renamed into place, so an interrupted
    save never leaves a truncated checkpoint behind.
    """
    if not hasattr(state_dict, "items"):
        raise TypeError(f"save expects a dict (a state_dict), got {type(state_dict).__name__}")
    arrays = []
    for key, value in state_dict.items():
        if not isinstance(key, str) or not key:
            raise TypeError(f"save: keys must be non-empty strings, got {key!r}")
        arrays.append((key, _to_array(key, value)))
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".npz", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle, \
                zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_STORED,
                                allowZip64=True) as archive:
            for key, array in arrays:
                with archive.open(key + _SUFFIX, "w", force_zip64=True) as member:
                    np.lib.format.write_array(member, np.asanyarray(array),
                                              allow_pickle=False)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def load(path) -> "OrderedDict[str, Tensor]":
    """Read a state dict written by :func:`save`: an OrderedDict of Tensors, in order.

    Raises FileNotFoundError for a missing file and :class:`SerializationError` for
    anything that is not a zip of plain ``.npy`` arrays (pickled objects included).
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"load: no such file: {path!r}")
    try:
        archive = zipfile.ZipFile(path, "r")
    except zipfile.BadZipFile:
        raise SerializationError(
            f"load: {path!r} is not a .npz state dict (not a zip archive, or truncated)"
        ) from None
    result = OrderedDict()
    with archive:
        for info in archive.infolist():
            name = info.filename
            if not name.endswith(_SUFFIX):
                hint = " (it looks like a PyTorch .pt file: convert it with " \
                       "{k: v.numpy() for k, v in torch.load(...).items()} and nn.save)" \
                       if name.endswith(".pkl") else ""
                raise SerializationError(
                    f"load: {path!r} holds a member {name!r} that is not a .npy array; "
                    f"not a state dict written by nn.save{hint}"
                )
            key = name[: -len(_SUFFIX)]
            try:
                with archive.open(info) as member:
                    data = member.read()
                array = np.lib.format.read_array(io.BytesIO(data), allow_pickle=False)
            except ValueError as error:
                if "allow_pickle" in str(error) or "pickle" in str(error).lower():
                    raise SerializationError(
                        f"load: the entry {key!r} in {path!r} holds pickled Python objects; "
                        "refusing to load it (files are read with allow_pickle=False)"
                    ) from None
                raise SerializationError(
                    f"load: the entry {key!r} in {path!r} is not a valid .npy array ({error})"
                ) from None
            except (zipfile.BadZipFile, EOFError, OSError, zipfile.LargeZipFile) as error:
                raise SerializationError(
                    f"load: the entry {key!r} in {path!r} is damaged or truncated ({error})"
                ) from None
            result[key] = Tensor._make(array)
    return result
