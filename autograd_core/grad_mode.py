"""Grad mode: whether operations record a graph, per thread.

Under ``no_grad()`` no node is recorded at all, so nothing is kept alive for backward:
use it for evaluation and for in-place parameter updates.

>>> from autograd_core import Tensor, no_grad
>>> w = Tensor([1.0], requires_grad=True)
>>> with no_grad():
...     y = w * 2
>>> y.requires_grad
False
"""

import functools
import inspect
import threading

__all__ = ["no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled"]


class _GradState(threading.local):
    # threading.local runs __init__ once per thread, so every new thread starts enabled.
    def __init__(self):
        self.enabled = True


_state = _GradState()

#: True while grad mode is on in every thread (no thread inside ``no_grad``). The lean
#: scalar ops (scalar_graph) read this one module flag before the per-thread mode: a
#: ``threading.local`` read costs about 40 ns, a tenth of a whole lean op. Every switch
#: goes through :func:`_set_enabled`, which keeps the flag and ``_state`` in step.
on_everywhere = True
_threads_off: set = set()  # idents of the threads whose mode is off
# re-entrant: a finalizer that the collector runs inside the locked region may switch
# the mode itself (this thread's ``_state`` is already set, so the flag comes out right)
_switching = threading.RLock()


def _set_enabled(mode: bool) -> None:
    """Switch this thread's grad mode to ``mode`` (and ``on_everywhere`` with it).

    A thread that ends with its mode off leaves its ident behind: ``on_everywhere`` then
    stays False and readers fall back on the per-thread mode (slower, still right).
    """
    global on_everywhere
    _state.enabled = mode
    ident = threading.get_ident()
    with _switching:  # two threads switching at once must not race on the flag
        if mode:
            _threads_off.discard(ident)
        else:
            _threads_off.add(ident)
        on_everywhere = not _threads_off


def is_grad_enabled() -> bool:
    """True when operations in this thread record a graph for backward."""
    return _state.enabled


def _with_mode(fn, mode: bool):
    """``fn`` wrapped so that its body runs with grad mode ``mode``.

    A generator function gets the mode each time it resumes and the caller's mode back
    each time it yields, so code between ``next()`` calls is unaffected.
    """
    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def generator_wrapper(*args, **kwargs):
            previous = _state.enabled
            _set_enabled(mode)
            try:
                gen = fn(*args, **kwargs)
                value = next(gen)
            except StopIteration as stop:
                return stop.value
            finally:
                _set_enabled(previous)
            while True:
                try:
                    sent = yield value
                except GeneratorExit:
                    gen.close()
                    raise
                except BaseException as error:  # noqa: BLE001 - forwarded into the generator
                    previous = _state.enabled
                    _set_enabled(mode)
                    try:
                        value = gen.throw(error)
                    except StopIteration as stop:
                        return stop.value
                    finally:
                        _set_enabled(previous)
                    continue
                previous = _state.enabled
                _set_enabled(mode)
                try:
                    value = gen.send(sent)
                except StopIteration as stop:
                    return stop.value
                finally:
                    _set_enabled(previous)

        return generator_wrapper

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        previous = _state.enabled
        _set_enabled(mode)
        try:
            return fn(*args, **kwargs)
        finally:
            _set_enabled(previous)

    return wrapper


class _GradModeContext:
    """Base for context managers that also work as decorators (with or without ())."""

    _mode: bool

    def __new__(cls, *args):
        # `@no_grad` without parentheses: the class is called with the function itself
        if len(args) == 1 and callable(args[0]) and cls is not set_grad_enabled:
            return _with_mode(args[0], cls._mode)
        return super().__new__(cls)

    def __enter__(self):
        self._previous = _state.enabled
        _set_enabled(self._mode)
        return self

    def __exit__(self, *exc):
        _set_enabled(self._previous)
        return False

    def __call__(self, fn):
        return _with_mode(fn, self._mode)


class no_grad(_GradModeContext):
    """Context manager and decorator that turns graph recording off in this thread."""

    _mode = False


class enable_grad(_GradModeContext):
    """Context manager and decorator that turns graph recording on (inside ``no_grad``)."""

    _mode = True


class set_grad_enabled(_GradModeContext):
    """``set_grad_enabled(False)`` is ``no_grad()``; usable as a context manager or a call.

    Called without ``with``, it switches the mode immediately, as in PyTorch.
    """

    def __init__(self, mode: bool):
        self._mode = bool(mode)
        self._previous = _state.enabled
        _set_enabled(self._mode)

    def __enter__(self):
        return self

    def __call__(self, fn):
        # used as a decorator: undo the switch made by __init__, apply it per call
        _set_enabled(self._previous)
        return _with_mode(fn, self._mode)
