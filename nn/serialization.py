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

Saving is atomic and durable: the archive is written to a temporary file next to the
target (``.tmp-<name>.<pid>.<random>.npz``), flushed to disk with ``fsync``, given the
target's permission bits (or, for a new file, what ``open`` would give under the
current umask), renamed over the target, and the directory is fsynced so the rename
survives a crash. Temporaries of the same target left by a killed save (whose process
no longer runs) are removed by the next save. Loading refuses anything but a regular
file, and reads no member beyond the size its header and the zip directory declare.
"""

import errno
import json
import math
import os
import re
import stat
import tempfile
import zipfile
from collections import OrderedDict

import numpy as np

from autograd_core.tensor import Tensor

__all__ = ["save", "load", "SerializationError"]

_SUFFIX = ".npy"
_STRUCTURE = "__structure__"
_LEAF_TYPES = (Tensor, np.ndarray, np.generic, bool, int, float)
# Array dtypes a state dict holds: bool, integers, floats, complex. Strings, bytes,
# datetimes, structured/void and object arrays are not tensors.
_ARRAY_KINDS = "biufc"
# The zip format stores a member's name length in 16 bits.
_MAX_NAME_BYTES = 0xFFFF
# Far deeper than any optimizer state dict (about 4 levels), far below Python's
# recursion limit: a crafted structure cannot exhaust the stack.
_MAX_DEPTH = 64
# npy headers written by NumPy are < 1 KiB; NumPy's own reader refuses > 10,000 bytes.
_MAX_HEADER_BYTES = 10_000
_READ_CHUNK = 1 << 20


class SerializationError(ValueError):
    """A file that is not a state dict written by ``nn.save`` (or by ``np.savez``), or a
    state dict that the file format cannot hold (an unsavable key)."""


# --------------------------------------------------------------------------- saving
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
    if array.dtype.kind not in _ARRAY_KINDS:
        raise TypeError(
            f"save: the value for {key!r} has dtype {array.dtype}, which cannot be saved "
            "without pickle"
        )
    return array


def _check_member_name(key: str):
    """Refuse a key that would not come back from the zip archive unchanged."""
    if "\x00" in key:
        raise SerializationError(
            f"save: the key {key!r} contains a NUL character, which a zip member name "
            "cannot hold (the key would be cut short at it); rename the key"
        )
    try:
        encoded = (key + _SUFFIX).encode("utf-8")
    except UnicodeEncodeError as error:
        raise SerializationError(
            f"save: the key {key!r} cannot be encoded as UTF-8 ({error.reason}); rename it"
        ) from None
    if len(encoded) > _MAX_NAME_BYTES:
        raise SerializationError(
            f"save: the key {key[:40]!r}... is {len(key):,} characters long; a zip member "
            f"name holds at most {_MAX_NAME_BYTES:,} bytes (UTF-8, with the '.npy' suffix)"
        )
    if zipfile.ZipInfo(key + _SUFFIX).filename != key + _SUFFIX:
        raise SerializationError(
            f"save: the key {key!r} would not be read back unchanged from a zip archive "
            "on this system; rename it"
        )


def _is_flat(state_dict) -> bool:
    """A mapping of non-empty string keys to arrays/Tensors/numbers: saved as np.savez."""
    return all(isinstance(k, str) and k and k != _STRUCTURE and
               (isinstance(v, _LEAF_TYPES) or (hasattr(v, "detach") and hasattr(v, "numpy")))
               for k, v in state_dict.items())


def _encode(value, path, arrays, used, depth=0):
    """The JSON description of ``value``; its arrays are appended to ``arrays``."""
    if depth > _MAX_DEPTH:
        raise SerializationError(
            f"save: the state dict is nested more than {_MAX_DEPTH} levels deep at "
            f"{path.strip('.')[:80]!r} (or refers to itself); it cannot be loaded back"
        )
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
            [_encode(k, path, arrays, used, depth + 1),
             _encode(v, f"{path}.{k}", arrays, used, depth + 1)]
            for k, v in value.items()]}
    if isinstance(value, (list, tuple)):
        return {"t": type(value).__name__, "items": [
            _encode(v, f"{path}.{i}", arrays, used, depth + 1) for i, v in enumerate(value)]}
    array = _to_array(path, value)
    # Member names are derived from the path; keep them short and zip-safe.
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", path.strip("."))[:200] or "value"
    base, n = name, 1
    while name in used or name == _STRUCTURE:
        n += 1
        name = f"{base}~{n}"
    used.add(name)
    arrays.append((name, array))
    return {"t": "tensor" if isinstance(value, Tensor) else "array", "key": name}


def _temporary_prefix(path: str) -> str:
    # Truncated so the temporary's name stays within NAME_MAX (255 bytes).
    return f".tmp-{os.path.basename(path)[:100]}."


def _process_alive(pid: int) -> bool:
    if pid == os.getpid() or os.name == "nt":
        # On Windows os.kill(pid, 0) would terminate the process, not probe it: never
        # treat a temporary there as stale.
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # it exists (another user's) or we cannot tell: keep its file
    return True


def _remove_stale_temporaries(path: str):
    """Delete temporaries of ``path`` left by saves whose process has died (SIGKILL,
    power loss); a temporary of a save still running in another process is kept."""
    directory = os.path.dirname(os.path.abspath(path))
    prefix = _temporary_prefix(path)
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        if not (name.startswith(prefix) and name.endswith(".npz")):
            continue
        pid_text = name[len(prefix):].split(".", 1)[0]
        if not pid_text.isdigit() or _process_alive(int(pid_text)):
            continue
        try:
            os.remove(os.path.join(directory, name))
        except OSError:
            pass  # removed by someone else meanwhile, or not ours to remove


def _umask() -> int:
    """The process's umask, read without changing it where the system allows."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # no other portable way to read it: set and restore
    os.umask(mask)
    return mask


def _target_mode(path: str) -> int:
    """The permission bits the saved file gets: the existing target's, else the
    default for a new file (0666 minus the umask), as ``open(path, "w")`` would give."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return 0o666 & ~_umask()


def _fsync_directory(directory: str):
    """Make a rename in ``directory`` durable (POSIX; a no-op where unsupported)."""
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return  # e.g. Windows, where directories cannot be opened
    try:
        os.fsync(fd)
    except OSError as error:
        if error.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF):
            raise
    finally:
        os.close(fd)


def save(state_dict, path) -> None:
    """Write a state dict to ``path`` (.npz): a mapping of string keys to Tensors, arrays
    or numbers, or a nested dict/list such as ``optimizer.state_dict()``.

    Everything is checked before the file is touched (a key the format cannot hold
    back, such as one with a NUL character or longer than 65,535 bytes, raises a
    :class:`SerializationError`; a value that is not an array or number a TypeError).
    The file is written next to ``path``, fsynced and renamed into place, so an
    interrupted save never leaves a truncated checkpoint behind and never replaces a
    good one with an unloadable one. An existing file's permission bits are kept.
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
    for key, _ in arrays:
        _check_member_name(key)
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    _remove_stale_temporaries(path)
    mode = _target_mode(path)
    fd, tmp = tempfile.mkstemp(prefix=f"{_temporary_prefix(path)}{os.getpid()}.",
                               suffix=".npz", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_STORED,
                                 allowZip64=True) as archive:
                for key, array in arrays:
                    with archive.open(key + _SUFFIX, "w", force_zip64=True) as member:
                        np.lib.format.write_array(member, np.asanyarray(array),
                                                  allow_pickle=False)
            handle.flush()
            if hasattr(os, "fchmod"):
                os.fchmod(handle.fileno(), mode)
            # Data on disk before the rename: else a crash can leave the new name
            # pointing at an empty file and the old checkpoint gone.
            os.fsync(handle.fileno())
        if not hasattr(os, "fchmod"):
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    _fsync_directory(directory)


# --------------------------------------------------------------------------- loading
def _describe(node) -> str:
    text = repr(node)
    return text if len(text) <= 80 else text[:77] + "..."


def _decode(node, members, where, source, depth=0):
    """Rebuild the object that ``node`` (the JSON of ``_encode``) describes.

    Every malformed node raises a SerializationError naming the structure member and
    the position in it (``where``), never a TypeError, KeyError or RecursionError.
    """
    def bad(reason):
        return SerializationError(
            f"load: the entry {_STRUCTURE!r} in {source!r} is damaged at "
            f"{where or 'its root'}: {reason} ({_describe(node)})"
        )

    if depth > _MAX_DEPTH:
        raise bad(f"nested more than {_MAX_DEPTH} levels deep")
    if not isinstance(node, dict) or not isinstance(node.get("t"), str):
        raise bad("expected an object with a type field 't'")
    kind, value = node["t"], node.get("v")
    if kind == "none":
        return None
    if kind == "bool" and isinstance(value, bool):
        return value
    if kind == "int" and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind == "str" and isinstance(value, str):
        return value
    if kind == "float":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if value in ("nan", "inf", "-inf"):
            return float(value)
        raise bad("a float must be a number, 'nan', 'inf' or '-inf'")
    if kind in ("bool", "int", "str"):
        raise bad(f"the value 'v' of a {kind} is missing or of the wrong type")
    items = node.get("items")
    if kind in ("dict", "list", "tuple") and not isinstance(items, list):
        raise bad(f"a {kind} needs a list 'items'")
    if kind == "dict":
        result = {}
        for i, pair in enumerate(items):
            if not isinstance(pair, list) or len(pair) != 2:
                raise bad(f"item {i} of a dict must be a [key, value] pair")
            key = _decode(pair[0], members, f"{where}.items[{i}][0]", source, depth + 1)
            try:
                hash(key)
            except TypeError:
                raise bad(f"the key of item {i} is a {type(key).__name__}, which cannot be "
                          "a dict key") from None
            result[key] = _decode(pair[1], members, f"{where}.items[{i}][1]", source,
                                  depth + 1)
        return result
    if kind in ("list", "tuple"):
        decoded = [_decode(v, members, f"{where}.items[{i}]", source, depth + 1)
                   for i, v in enumerate(items)]
        return decoded if kind == "list" else tuple(decoded)
    if kind in ("array", "tensor"):
        key = node.get("key")
        if not isinstance(key, str) or key not in members or key == _STRUCTURE:
            raise bad("it names an array member that the file does not hold")
        array = members[key]
        return Tensor._make(array) if kind == "tensor" else array
    raise bad(f"unknown entry type {kind!r}")


def _open_regular_file(path: str):
    """Open ``path`` for reading, refusing devices, FIFOs, sockets and directories
    (``/dev/zero`` would be read for ever, a FIFO would block)."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise FileNotFoundError(f"load: no such file: {path!r}") from None
    if not stat.S_ISREG(info.st_mode):
        raise SerializationError(f"load: {path!r} is not a regular file; refusing to read it")
    # O_NONBLOCK: should the path become a FIFO after the check, opening it does not hang.
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise SerializationError(f"load: {path!r} is not a regular file; refusing to read it")
    if hasattr(os, "set_blocking"):
        os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def _read_member(archive, info, key: str, path: str) -> np.ndarray:
    """One ``.npy`` member as an array, reading no more than its header declares.

    The npy header is read first; the size it declares (shape times itemsize) plus the
    header must equal the size the zip directory declares for the member, and then
    exactly that many bytes are read into the array. A small file that inflates to
    gigabytes (a zip bomb) is refused before anything large is allocated or inflated.
    """
    def damaged(reason):
        return SerializationError(f"load: the entry {key!r} in {path!r} {reason}")

    with archive.open(info) as member:
        try:
            major, _ = np.lib.format.read_magic(member)
            if major == 1:
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(
                    member, max_header_size=_MAX_HEADER_BYTES)
            elif major in (2, 3):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(
                    member, max_header_size=_MAX_HEADER_BYTES)
            else:
                raise ValueError(f"unsupported .npy format version {major}")
        except (ValueError, SyntaxError, TypeError) as error:
            raise damaged(f"is not a valid .npy array ({error})") from None
        if dtype.hasobject:
            raise damaged("holds pickled Python objects; refusing to load it (files are "
                          "read with allow_pickle=False)")
        if dtype.kind not in _ARRAY_KINDS or dtype.fields is not None:
            raise damaged(f"has dtype {dtype}, which is not a tensor's (bool, integer, "
                          "float or complex)")
        header = member.tell()
        promised = math.prod(shape) * dtype.itemsize
        if header + promised != info.file_size:
            raise damaged(
                f"promises shape {shape} of {dtype} ({promised:,} bytes) but the archive "
                f"declares {info.file_size - header:,} bytes of data: damaged or truncated"
            )
        array = np.empty(shape[::-1] if fortran else shape, dtype=dtype)
        view = memoryview(array.reshape(-1).view(np.uint8)) if promised else None
        done = 0
        while done < promised:
            chunk = member.read(min(_READ_CHUNK, promised - done))
            if not chunk:
                raise damaged(f"is truncated: {done:,} of {promised:,} bytes of data")
            view[done:done + len(chunk)] = chunk
            done += len(chunk)
        if member.read(1):
            raise damaged("holds more data than its header declares")
    return array.T if fortran else array


def load(path) -> "OrderedDict[str, Tensor]":
    """Read a state dict written by :func:`save`: an OrderedDict of Tensors, in order.

    Raises FileNotFoundError for a missing file and :class:`SerializationError` for
    anything that is not a regular file holding a zip of plain ``.npy`` arrays of
    numbers (pickled objects, strings and datetimes included), naming the member.
    """
    path = os.fspath(path)
    handle = _open_regular_file(path)
    with handle:
        try:
            archive = zipfile.ZipFile(handle, "r")
        except (zipfile.BadZipFile, EOFError, OSError, ValueError):
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
                if key in result:
                    raise SerializationError(
                        f"load: the entry {key!r} appears twice in {path!r}: damaged file")
                try:
                    result[key] = _read_member(archive, info, key, path)
                except SerializationError:
                    raise
                except (zipfile.BadZipFile, EOFError, OSError, ValueError,
                        NotImplementedError) as error:
                    raise SerializationError(
                        f"load: the entry {key!r} in {path!r} is damaged or truncated ({error})"
                    ) from None
    if _STRUCTURE in result:
        encoded = result.pop(_STRUCTURE)
        try:
            if encoded.dtype != np.uint8 or encoded.ndim != 1:
                raise ValueError(f"expected 1-D uint8 bytes, got {encoded.dtype} "
                                 f"{encoded.shape}")
            structure = json.loads(encoded.tobytes().decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as error:
            raise SerializationError(
                f"load: the entry {_STRUCTURE!r} in {path!r} is damaged "
                f"({type(error).__name__}: {str(error)[:200]})") from None
        state = _decode(structure, result, "", path)
        if not isinstance(state, dict):
            raise SerializationError(
                f"load: the entry {_STRUCTURE!r} in {path!r} describes a "
                f"{type(state).__name__}, not a state dict")
        return state
    return OrderedDict((key, Tensor._make(array)) for key, array in result.items())
