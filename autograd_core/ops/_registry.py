"""Where the public forms of the ops are collected: one registration, three names.

An op's functional form is written once, next to its Function class, and decorated
with :func:`public`. That one registration makes it

* ``autograd_core.<name>`` (``torch.<name>``), unless ``function=False``;
* the Tensor method ``t.<name>(...)`` (the function itself: ``input`` is ``self``),
  unless ``method=False``;
* the target of NumPy's protocols for the NumPy functions and ufuncs it lists
  (``numpy=(np.sum,)``), so ``np.sum(t)`` records the same node as ``t.sum()``.

``nn.functional`` re-exports the forms that PyTorch has there (``relu``, ``softmax``,
``linear``, ...). A test walks :data:`FUNCTIONS` and checks that every op has its
formula, its functional form and its entry in the gradient tests' op table.

>>> import numpy as np
>>> @public(numpy=(np.negative,))
... def negate_example(input):
...     return -input
>>> METHODS["negate_example"] is negate_example
True
>>> del FUNCTIONS["negate_example"], METHODS["negate_example"], NUMPY[np.negative]
"""

__all__ = ["public", "FUNCTIONS", "METHODS", "NUMPY", "OPS"]

FUNCTIONS = {}  # name -> function, the torch.* namespace
METHODS = {}  # name -> function, attached to Tensor
NUMPY = {}  # NumPy function or ufunc -> function taking NumPy's arguments
OPS = {}  # name -> the Function classes behind it (for the op-table test)
_listeners = []  # called with (name, fn) for every method, also those registered later


def on_method(listener):
    """Call ``listener(name, fn)`` for every Tensor method registered, now and later."""
    _listeners.append(listener)
    for name, fn in METHODS.items():
        listener(name, fn)


def public(*names, name=None, method=True, function=True, numpy=(), ops=()):
    """Register a functional form under its own name (and ``names``, aliases).

    ``name`` replaces the function's own name (for forms whose Python name would shadow
    a builtin inside their module: ``sum_`` registered as ``sum``). ``ops`` lists the
    Function classes the form applies (the op-table test checks each
    has a formula and a gradient test).
    """

    def register(fn):
        if name is not None:
            fn.__name__ = fn.__qualname__ = name
        all_names = (fn.__name__,) + names
        for each in all_names:
            if function:
                FUNCTIONS[each] = fn
            if method:
                METHODS[each] = fn
                for listener in _listeners:
                    listener(each, fn)
        for np_fn in numpy:
            NUMPY[np_fn] = fn
        OPS[fn.__name__] = tuple(ops)
        return fn

    return register


def method_only(*names, numpy=(), ops=()):
    """Register a Tensor method that has no ``torch.*`` function of the same name."""
    return public(*names, function=False, numpy=numpy, ops=ops)
