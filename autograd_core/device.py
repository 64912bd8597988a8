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
