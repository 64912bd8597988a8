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

Nested objects, such as an optimizer's ``state_dict()`` (dicts with int keys, lists,
tuples, numbers, strings), are saved too: their arrays become ``.npy`` members and
their structure a JSON text in one more member, ``__structure__.npy`` (bytes, never
pickle); ``load`` rebuilds the same object.
"""

import io
import json
import math
import os
import re
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


_STRUCTURE = "__structure__"
_LEAF_TYPES = (Tensor, np.ndarray, np.generic, bool, int, float)


def _is_flat(state_dict) -> bool:
    """A mapping of non-empty string keys to arrays/Tensors/numbers: saved as np.savez."""
    return all(isinstance(k, str) and k and k != _STRUCTURE and
               (isinstance(v, _LEAF_TYPES) or (hasattr(v, "detach") and hasattr(v, "numpy")))
               for k, v in state_dict.items())


def _encode(value, path, arrays, used):
    """The JSON description of ``value``; its arrays are appended to ``arrays``."""
    if value is None:
        return {"t": "none"}
    if isinstance(value, bool):
        return {"t": "bool", "v": value}
    if isinstance(value, int):
        return {"t": "int", "v": value}
    if isinstance(value, float):
        return {"t": "float", "v": value if math.isfinite(value) else repr(value)}
    if isinstance(value, str):
        return {"t": "str", "v": value}
    if isinstance(value, dict):
        return {"t": "dict", "items": [
            [_encode(k, path, arrays, used), _encode(v, f"{path}.{k}", arrays, used)]
            for k, v in value.items()]}
    if isinstance(value, (list, tuple)):
        return {"t": type(value).__name__, "items": [
            _encode(v, f"{path}.{i}", arrays, used) for i, v in enumerate(value)]}
    array = _to_array(path, value)
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", path.strip(".")) or "value"
    base, n = name, 1
    while name in used or name == _STRUCTURE:
        n += 1
        name = f"{base}~{n}"
    used.add(name)
    arrays.append((name, array))
    return {"t": "tensor" if isinstance(value, Tensor) else "array", "key": name}


def _decode(node, members):
    kind = node.get("t") if isinstance(node, dict) else None
    if kind == "none":
        return None
    if kind in ("bool", "int", "str"):
        return node["v"]
    if kind == "float":
        return float(node["v"])
    if kind == "dict":
        return {_decode(k, members): _decode(v, members) for k, v in node["items"]}
    if kind in ("list", "tuple"):
        items = [_decode(v, members) for v in node["items"]]
        return items if kind == "list" else tuple(items)
    if kind in ("array", "tensor"):
        if node.get("key") not in members:
            raise SerializationError(f"load: the structure names a missing entry {node!r}")
        array = members[node["key"]]
        return Tensor._make(array) if kind == "tensor" else array
    raise SerializationError(f"load: unknown entry in the saved structure: {node!r}")


def save(state_dict, path) -> None:
    """Write a state dict to ``path`` (.npz): a mapping of string keys to Tensors, arrays
    or numbers, or a nested dict/list such as ``optimizer.state_dict()``.

    The file is written next to ``path`` and renamed into place, so an interrupted
    save never leaves a truncated checkpoint behind.
    """
    if not hasattr(state_dict, "items"):
        raise TypeError(f"save expects a dict (a state_dict), got {type(state_dict).__name__}")
    arrays = []
    if _is_flat(state_dict):
        for key, value in state_dict.items():
            arrays.append((key, _to_array(key, value)))
    else:
        structure = _encode(dict(state_dict), "", arrays, set())
        text = json.dumps(structure).encode("utf-8")
        arrays.append((_STRUCTURE, np.frombuffer(text, dtype=np.uint8)))
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
                _check_header(data, key, path)
                array = np.lib.format.read_array(io.BytesIO(data), allow_pickle=False)
            except SerializationError:
                raise
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
            result[key] = array
    if _STRUCTURE in result:
        try:
            structure = json.loads(bytes(result.pop(_STRUCTURE)).decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise SerializationError(
                f"load: {path!r} has a damaged structure entry ({error})") from None
        return _decode(structure, result)
    return OrderedDict((key, Tensor._make(array)) for key, array in result.items())


def _check_header(data: bytes, key: str, path: str):
    """Refuse a member whose header promises more bytes than it holds (before NumPy
    allocates them: a tiny file must not ask for terabytes) or object arrays."""
    stream = io.BytesIO(data)
    try:
        major, _ = np.lib.format.read_magic(stream)
        read_header = (np.lib.format.read_array_header_1_0 if major == 1
                       else np.lib.format.read_array_header_2_0)
        shape, _, dtype = read_header(stream)
    except ValueError as error:
        raise SerializationError(
            f"load: the entry {key!r} in {path!r} is not a valid .npy array ({error})"
        ) from None
    if dtype.hasobject:
        raise SerializationError(
            f"load: the entry {key!r} in {path!r} holds pickled Python objects; refusing to "
            "load it (files are read with allow_pickle=False)"
        )
    promised = math.prod(shape) * dtype.itemsize
    held = len(data) - stream.tell()
    if promised != held:
        raise SerializationError(
            f"load: the entry {key!r} in {path!r} promises shape {shape} of {dtype} "
            f"({promised:,} bytes) but holds {held:,} bytes: damaged or truncated"
        )
