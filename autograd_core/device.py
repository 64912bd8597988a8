"""Devices: this library runs on the CPU, and says so when asked for anything else.

``device("cpu")``, ``"cpu"`` strings and ``.to(device)`` work as in PyTorch; asking for
``"cuda"`` or ``"mps"`` raises a clear error instead of silently computing elsewhere.

>>> device("cpu"), device("cpu") == "cpu"
(device(type='cpu'), True)
"""

__all__ = ["device", "check_device"]


class device:  # noqa: N801 - torch.device
    """A device description; only ``"cpu"`` (optionally ``"cpu:0"``) exists here."""

    __slots__ = ("type", "index")

    def __init__(self, type="cpu", index=None):  # noqa: A002 - torch's names
        if isinstance(type, device):
            type, index = type.type, type.index
        text = str(type)
        if ":" in text:
            text, _, number = text.partition(":")
            index = int(number)
        check_device(text)
        self.type, self.index = text, index

    def __eq__(self, other):
        if isinstance(other, str):
            other = device(other)
        return isinstance(other, device) and other.type == self.type

    def __hash__(self):
        return hash(self.type)

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self):
        index = "" if self.index is None else f", index={self.index}"
        return f"device(type='{self.type}'{index})"


def check_device(value) -> None:
    """Raise unless ``value`` names the CPU."""
    kind = value.type if isinstance(value, device) else str(value).split(":")[0]
    if kind != "cpu":
        raise RuntimeError(
            f"device {str(value)!r} is not available: this library runs on the CPU only "
            "(NumPy and Numba); use 'cpu' (torch.cuda.is_available() is False here)"
        )


# ------------------------------------------------------------------ the accelerator API
class NoCuda(RuntimeError, AttributeError):
    """A CUDA function was asked for: a RuntimeError (as PyTorch's without a GPU) that is
    also an AttributeError, so ``hasattr(torch.cuda, name)`` answers False."""


# What PyTorch programs ask before choosing a device, answered honestly: no GPU here.
class _Cuda:
    """``torch.cuda``: no CUDA device. Seeding calls are accepted (they have nothing to
    seed, as in PyTorch without a GPU); anything that needs a GPU raises."""

    @staticmethod
    def is_available() -> bool:
        return False

    @staticmethod
    def device_count() -> int:
        return 0

    @staticmethod
    def manual_seed(seed) -> None:
        return None

    manual_seed_all = manual_seed

    @staticmethod
    def empty_cache() -> None:
        return None

    @staticmethod
    def is_bf16_supported() -> bool:
        return False

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)  # introspection (doctest, copy) asks for dunders
        raise NoCuda(f"torch.cuda.{name}: no CUDA here; this library runs on the CPU only "
                     "(torch.cuda.is_available() is False)")


class _Mps:
    @staticmethod
    def is_available() -> bool:
        return False

    @staticmethod
    def is_built() -> bool:
        return False


class _Cudnn:
    """``torch.backends.cudnn``: its flags may be set (seeding code does); they change
    nothing here."""

    enabled = False
    deterministic = True
    benchmark = False

    @staticmethod
    def is_available() -> bool:
        return False


class _Backends:
    mps = _Mps()
    cudnn = _Cudnn()


class _Accelerator:
    """``torch.accelerator``: there is none (the current one is None)."""

    @staticmethod
    def is_available() -> bool:
        return False

    @staticmethod
    def current_accelerator(check_available=False):
        return None

    @staticmethod
    def device_count() -> int:
        return 0


cuda, backends, accelerator = _Cuda(), _Backends(), _Accelerator()


def set_default_device(value) -> None:
    """Only the CPU can be the default device (anything else raises)."""
    if value is not None:
        check_device(value)


def get_default_device() -> device:
    return device("cpu")
