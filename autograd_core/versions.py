"""Version counters: how backward notices arrays that changed in place.

Every in-place change of a Tensor (``+=``, ``t[i] = v``, ``zero_()``, an optimizer step)
calls :func:`mark_modified`, which gives the tensor a new version: the next value of
one process-wide epoch counter. A graph node remembers the epoch at which it was
recorded; backward compares the two and refuses to use an array that was saved for it
and changed since. While nothing changes in place (the usual case between a forward and
its backward) that check costs one integer comparison per node.

>>> from autograd_core import Tensor
>>> t = Tensor([1.0, 2.0])
>>> before = t._version
>>> t.zero_()._version > before
True
"""

__all__ = ["mark_modified", "epoch"]

_epoch = 0  # how many in-place changes the process has made so far


def mark_modified(tensor) -> None:
    """Record that ``tensor``'s array was changed in place (call after the change)."""
    global _epoch
    if tensor._value is not None:  # a lean scalar (scalar_graph): an ordinary tensor now
        from autograd_core.scalar_graph import ordinary  # (scalar_graph imports this module)

        ordinary(tensor)
    _epoch += 1
    tensor._version = _epoch


def epoch() -> int:
    """The number of in-place changes so far."""
    return _epoch
